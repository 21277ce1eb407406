/* test-server.c
 *
 * Checks the test server itself with a plain SoupSession, so that the download tests can trust
 * its misbehaviours to be the documented ones.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include <string.h>
#include <unistd.h>

#include "sl-test-server.h"
#include "sl-test-utils.h"

typedef struct
{
  SlTestServer *server;
  SoupSession  *session;
} Fixture;

static SoupSession *
session_new (guint timeout_s)
{
  g_autoptr(GProxyResolver) direct = g_simple_proxy_resolver_new (NULL, NULL);

  return soup_session_new_with_options ("timeout", timeout_s,
                                        "proxy-resolver", direct,
                                        NULL);
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->server = sl_test_server_new ();
  f->session = session_new (10);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  soup_session_abort (f->session);
  g_assert_finalize_object (f->session);
  sl_test_server_quit_unref (f->server);
}

/* Sends one request synchronously and returns the body, or NULL with @error set. */
static GBytes *
fetch_full (Fixture      *f,
            const char   *method,
            const char   *path,
            const char   *range,
            const char   *if_range,
            SoupMessage **out_msg,
            GError      **error)
{
  g_autofree char *url = sl_test_server_url (f->server, path);
  g_autoptr(SoupMessage) msg = soup_message_new (method, url);
  SoupMessageHeaders *headers;
  GBytes *body;

  g_assert_nonnull (msg);
  headers = soup_message_get_request_headers (msg);
  if (range != NULL)
    soup_message_headers_replace (headers, "Range", range);
  if (if_range != NULL)
    soup_message_headers_replace (headers, "If-Range", if_range);

  body = soup_session_send_and_read (f->session, msg, NULL, error);
  if (out_msg != NULL)
    *out_msg = g_steal_pointer (&msg);

  return body;
}

static GBytes *
fetch (Fixture      *f,
       const char   *path,
       const char   *range,
       const char   *if_range,
       SoupMessage **out_msg)
{
  g_autoptr(GError) error = NULL;
  GBytes *body = fetch_full (f, "GET", path, range, if_range, out_msg, &error);

  g_assert_no_error (error);
  g_assert_nonnull (body);
  return body;
}

static const char *
response_header (SoupMessage *msg,
                 const char  *name)
{
  return soup_message_headers_get_one (soup_message_get_response_headers (msg), name);
}

static goffset
content_length (SoupMessage *msg)
{
  return soup_message_headers_get_content_length (soup_message_get_response_headers (msg));
}

/* A transfer cut short shows up either as an error or as a body shorter than announced. */
static void
assert_cut_short (GBytes       *body,
                  const GError *error,
                  gsize         full_length)
{
  if (error != NULL)
    {
      g_assert_null (body);
      g_test_message ("transfer ended with: %s", error->message);
      return;
    }

  g_assert_nonnull (body);
  g_assert_cmpuint (g_bytes_get_size (body), <, full_length);
}

static void
assert_logged (Fixture    *f,
               guint       index,
               const char *path,
               const char *range,
               const char *if_range,
               guint       status)
{
  g_autoptr(GPtrArray) requests = sl_test_server_requests (f->server, NULL);
  SlTestRequest *request;

  g_assert_cmpuint (index, <, requests->len);
  request = g_ptr_array_index (requests, index);
  g_assert_cmpstr (request->path, ==, path);
  g_assert_cmpstr (request->range, ==, range);
  g_assert_cmpstr (request->if_range, ==, if_range);
  sl_assert_status (request->status, status);
}

/* Sends a bare HTTP/1.1 GET and returns the connection, so tests can look at the wire bytes. */
static GSocketConnection *
raw_get (SlTestServer *server,
         const char   *path)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *request = NULL;

  connection = g_socket_client_connect_to_host (client, "127.0.0.1", sl_test_server_port (server),
                                                NULL, &error);
  g_assert_no_error (error);
  request = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n",
                             path, sl_test_server_port (server));
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                             request, strlen (request), NULL, NULL, &error);
  g_assert_no_error (error);

  return g_steal_pointer (&connection);
}

/* Reads the response head, up to and including the blank line. */
static char *
raw_read_head (GSocketConnection *connection)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  g_autoptr(GString) head = g_string_new (NULL);
  g_autoptr(GError) error = NULL;

  while (!g_str_has_suffix (head->str, "\r\n\r\n"))
    {
      char c;

      g_assert_cmpint (g_input_stream_read (in, &c, 1, NULL, &error), ==, 1);
      g_assert_no_error (error);
      g_string_append_c (head, c);
    }

  return g_string_free (g_steal_pointer (&head), FALSE);
}

static GBytes *
entity_part (guint32 seed,
             gsize   size,
             guint64 offset)
{
  return sl_test_entity_slice (seed, size, offset, size - offset);
}

/* Entity ------------------------------------------------------------------------------------ */

static void
test_entity_deterministic (void)
{
  g_autoptr(GBytes) a = sl_test_entity (7, 100003);
  g_autoptr(GBytes) b = sl_test_entity (7, 100003);
  g_autoptr(GBytes) other_seed = sl_test_entity (8, 100003);
  g_autoptr(GBytes) other_size = sl_test_entity (7, 100004);
  g_autoptr(GBytes) empty = sl_test_entity (7, 0);
  g_autoptr(GBytes) prefix = NULL;
  const guint8 *data;
  gsize size, zeros = 0;

  g_assert_cmpuint (g_bytes_get_size (a), ==, 100003);
  sl_assert_bytes_equal (a, b);
  g_assert_false (g_bytes_equal (a, other_seed));
  g_assert_cmpuint (g_bytes_get_size (empty), ==, 0);

  /* Different sizes share no prefix, so splicing two of them cannot go unnoticed. */
  prefix = g_bytes_new_from_bytes (other_size, 0, 100003);
  g_assert_false (g_bytes_equal (a, prefix));

  /* Pseudo-random: roughly one byte in 256 is zero, never long runs of them. */
  data = g_bytes_get_data (a, &size);
  for (gsize i = 0; i < size; i++)
    zeros += data[i] == 0;
  g_assert_cmpuint (zeros, >, 200);
  g_assert_cmpuint (zeros, <, 700);
}

static void
test_entity_seekable (void)
{
  const gsize size = 3 * 256 * 1024 + 5;
  g_autoptr(GBytes) whole = sl_test_entity (3, size);
  static const struct { guint64 offset; gsize length; } slices[] = {
    { 0, 1 }, { 1, 7 }, { 5, 16 }, { 8, 8 }, { 12345, 777 }, { 262143, 262146 }, { 786432, 5 },
    { 786436, 1 }, { 0, 3 * 256 * 1024 + 5 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (slices); i++)
    {
      g_autoptr(GBytes) slice = sl_test_entity_slice (3, size, slices[i].offset, slices[i].length);
      g_autoptr(GBytes) expected = g_bytes_new_from_bytes (whole, slices[i].offset,
                                                           slices[i].length);

      sl_assert_bytes_equal (slice, expected);
    }
}

static void
test_entity_sha256 (void)
{
  g_autoptr(GBytes) entity = sl_test_entity (11, 600000);
  g_autofree char *expected = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, entity);
  g_autofree char *actual = sl_test_entity_sha256 (11, 600000);
  g_autofree char *empty = sl_test_entity_sha256 (11, 0);

  g_assert_cmpstr (actual, ==, expected);
  g_assert_cmpstr (empty, ==, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/* /file ------------------------------------------------------------------------------------- */

static void
test_file_full (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = fetch (f, "/file?size=300001&seed=5", NULL, NULL, &msg);
  g_autoptr(GBytes) expected = sl_test_entity (5, 300001);
  g_autofree char *sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, body);
  g_autofree char *expected_sha = sl_test_entity_sha256 (5, 300001);
  SoupMessageHeaders *headers = soup_message_get_response_headers (msg);

  sl_assert_message_status (msg, SOUP_STATUS_OK);
  sl_assert_bytes_equal (body, expected);
  g_assert_cmpstr (sha, ==, expected_sha);
  g_assert_cmpint (soup_message_headers_get_encoding (headers), ==, SOUP_ENCODING_CONTENT_LENGTH);
  g_assert_cmpint (soup_message_headers_get_content_length (headers), ==, 300001);
  g_assert_cmpstr (response_header (msg, "ETag"), ==, "\"e5-300001\"");
  g_assert_nonnull (response_header (msg, "Last-Modified"));
  g_assert_cmpstr (response_header (msg, "Accept-Ranges"), ==, "bytes");
  g_assert_cmpstr (response_header (msg, "Content-Type"), ==, "application/octet-stream");
  g_assert_null (response_header (msg, "Content-Range"));

  g_assert_cmpuint (sl_test_server_request_count (f->server, "/file"), ==, 1);
  assert_logged (f, 0, "/file", NULL, NULL, SOUP_STATUS_OK);
}

static void
test_file_defaults (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GBytes) body = fetch (f, "/file", NULL, NULL, NULL);
  g_autoptr(GBytes) expected = sl_test_entity (1, 1048576);

  sl_assert_bytes_equal (body, expected);
}

static void
test_file_head (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = fetch_full (f, "HEAD", "/file?size=5000", NULL, NULL, &msg, &error);
  g_autoptr(SoupMessage) ranged = NULL;
  g_autoptr(GBytes) ranged_body = NULL;

  g_assert_no_error (error);
  sl_assert_message_status (msg, SOUP_STATUS_OK);
  g_assert_cmpuint (g_bytes_get_size (body), ==, 0);
  g_assert_cmpint (content_length (msg), ==, 5000);
  g_assert_cmpstr (response_header (msg, "ETag"), ==, "\"e1-5000\"");

  ranged_body = fetch_full (f, "HEAD", "/file?size=5000", "bytes=1000-", NULL, &ranged, &error);
  g_assert_no_error (error);
  sl_assert_message_status (ranged, SOUP_STATUS_PARTIAL_CONTENT);
  g_assert_cmpstr (response_header (ranged, "Content-Range"), ==, "bytes 1000-4999/5000");
}

static void
assert_range (Fixture    *f,
              const char *range,
              const char *if_range,
              goffset     first,
              goffset     last)
{
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = fetch (f, "/file?size=100000&seed=2", range, if_range, &msg);
  g_autoptr(GBytes) expected = sl_test_entity_slice (2, 100000, first, last - first + 1);
  goffset start = -1, end = -1, total = -1;

  sl_assert_message_status (msg, SOUP_STATUS_PARTIAL_CONTENT);
  g_assert_true (soup_message_headers_get_content_range (soup_message_get_response_headers (msg),
                                                         &start, &end, &total));
  g_assert_cmpint (start, ==, first);
  g_assert_cmpint (end, ==, last);
  g_assert_cmpint (total, ==, 100000);
  sl_assert_bytes_equal (body, expected);
}

static void
test_file_range (Fixture       *f,
                 gconstpointer  data)
{
  assert_range (f, "bytes=40000-", NULL, 40000, 99999);
  assert_range (f, "bytes=0-0", NULL, 0, 0);
  assert_range (f, "bytes=12345-23456", NULL, 12345, 23456);
  assert_range (f, "bytes=99999-", NULL, 99999, 99999);
  assert_range (f, "bytes=90000-200000", NULL, 90000, 99999);
  assert_range (f, "bytes=-100", NULL, 99900, 99999);
  assert_range (f, "bytes=-200000", NULL, 0, 99999);

  assert_logged (f, 0, "/file", "bytes=40000-", NULL, SOUP_STATUS_PARTIAL_CONTENT);
  g_assert_cmpuint (sl_test_server_request_count (f->server, "/file"), ==, 7);
}

static void
test_file_range_ignored (Fixture       *f,
                         gconstpointer  data)
{
  static const char * const ranges[] = { "bytes=10-5", "bytes=1-2,5-6", "lines=1-2", "bytes=x-" };
  g_autoptr(GBytes) expected = sl_test_entity (1, 1000);

  for (gsize i = 0; i < G_N_ELEMENTS (ranges); i++)
    {
      g_autoptr(SoupMessage) msg = NULL;
      g_autoptr(GBytes) body = fetch (f, "/file?size=1000", ranges[i], NULL, &msg);

      g_test_message ("Range: %s", ranges[i]);
      sl_assert_message_status (msg, SOUP_STATUS_OK);
      sl_assert_bytes_equal (body, expected);
    }
}

static void
test_file_if_range (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(SoupMessage) head = NULL;
  g_autoptr(GBytes) first = fetch (f, "/file?size=100000&seed=2", "bytes=0-9", NULL, &head);
  g_autofree char *etag = g_strdup (response_header (head, "ETag"));
  g_autofree char *last_modified = g_strdup (response_header (head, "Last-Modified"));
  static const char * const mismatches[] = { "\"e2-99999\"", "W/\"e2-100000\"",
                                             "Thu, 01 Jan 1970 00:00:00 GMT" };
  g_autoptr(GBytes) expected = sl_test_entity (2, 100000);

  g_assert_nonnull (etag);
  g_assert_nonnull (last_modified);
  assert_range (f, "bytes=50000-", etag, 50000, 99999);
  assert_range (f, "bytes=50000-", last_modified, 50000, 99999);

  for (gsize i = 0; i < G_N_ELEMENTS (mismatches); i++)
    {
      g_autoptr(SoupMessage) msg = NULL;
      g_autoptr(GBytes) body = fetch (f, "/file?size=100000&seed=2", "bytes=50000-",
                                      mismatches[i], &msg);

      g_test_message ("If-Range: %s", mismatches[i]);
      sl_assert_message_status (msg, SOUP_STATUS_OK);
      g_assert_null (response_header (msg, "Content-Range"));
      sl_assert_bytes_equal (body, expected);
    }

  assert_logged (f, 1, "/file", "bytes=50000-", etag, SOUP_STATUS_PARTIAL_CONTENT);
  assert_logged (f, 3, "/file", "bytes=50000-", "\"e2-99999\"", SOUP_STATUS_OK);
}

static void
test_file_unsatisfiable (Fixture       *f,
                         gconstpointer  data)
{
  static const char * const ranges[] = { "bytes=1000-", "bytes=5000-6000", "bytes=-0" };

  for (gsize i = 0; i < G_N_ELEMENTS (ranges); i++)
    {
      g_autoptr(SoupMessage) msg = NULL;
      g_autoptr(GBytes) body = fetch (f, "/file?size=1000", ranges[i], NULL, &msg);

      g_test_message ("Range: %s", ranges[i]);
      sl_assert_message_status (msg, SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE);
      g_assert_cmpstr (response_header (msg, "Content-Range"), ==, "bytes */1000");
      g_assert_cmpuint (g_bytes_get_size (body), ==, 0);
    }

  assert_logged (f, 0, "/file", "bytes=1000-", NULL, SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE);
}

static void
test_file_large (Fixture       *f,
                 gconstpointer  data)
{
  const gsize size = 32 * 1024 * 1024 + 3;
  g_autofree char *url = sl_test_server_url (f->server, "/file?size=33554435&seed=9");
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", url);
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree char *expected = sl_test_entity_sha256 (9, size);
  g_autofree guint8 *buffer = g_malloc (64 * 1024);
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  gsize total = 0;
  gssize n;

  /* Streamed on both sides: neither holds the whole entity. */
  stream = soup_session_send (f->session, msg, NULL, &error);
  g_assert_no_error (error);
  sl_assert_message_status (msg, SOUP_STATUS_OK);

  while ((n = g_input_stream_read (stream, buffer, 64 * 1024, NULL, &error)) > 0)
    {
      g_checksum_update (checksum, buffer, n);
      total += n;
    }
  g_assert_no_error (error);
  g_assert_cmpuint (total, ==, size);
  g_assert_cmpstr (g_checksum_get_string (checksum), ==, expected);
}

static void
test_file_rate (Fixture       *f,
                gconstpointer  data)
{
  gint64 start = g_get_monotonic_time ();
  g_autoptr(GBytes) body = fetch (f, "/file?size=100000&rate=400000", NULL, NULL, NULL);
  gint64 elapsed = g_get_monotonic_time () - start;
  g_autoptr(GBytes) expected = sl_test_entity (1, 100000);

  /* 40000-byte pieces at t = 0, 0.1 and 0.2 s. */
  sl_assert_bytes_equal (body, expected);
  g_assert_cmpint (elapsed, >=, 180 * 1000);
}

static void
test_file_chunk (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GBytes) body = fetch (f, "/file?size=10007&chunk=100", "bytes=3-", NULL, NULL);
  g_autoptr(GBytes) expected = entity_part (1, 10007, 3);

  sl_assert_bytes_equal (body, expected);
}

static void
test_bad_parameter (Fixture       *f,
                    gconstpointer  data)
{
  static const char * const paths[] = { "/file?size=12x", "/file?seed=-1", "/drop?after=",
                                        "/file?seed=4294967296" };

  for (gsize i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_autoptr(SoupMessage) msg = NULL;
      g_autoptr(GBytes) body = fetch (f, paths[i], NULL, NULL, &msg);

      g_test_message ("%s", paths[i]);
      sl_assert_message_status (msg, SOUP_STATUS_BAD_REQUEST);
    }
}

/* Misbehaving paths ------------------------------------------------------------------------- */

static void
test_drop (Fixture       *f,
           gconstpointer  data)
{
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(SoupMessage) msg = NULL;
      g_autoptr(GBytes) body = fetch_full (f, "GET", "/drop?size=200000&after=70000", NULL, NULL,
                                           &msg, &error);

      sl_assert_message_status (msg, SOUP_STATUS_OK);
      assert_cut_short (body, error, 200000);
    }

  g_assert_cmpuint (sl_test_server_request_count (f->server, "/drop"), ==, 2);
  assert_logged (f, 1, "/drop", NULL, NULL, SOUP_STATUS_OK);
}

static void
test_drop_then_resume (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupMessage) first = NULL;
  g_autoptr(SoupMessage) second = NULL;
  g_autoptr(GBytes) cut = fetch_full (f, "GET", "/drop?size=200000&after=0&times=1", NULL, NULL,
                                      &first, &error);
  g_autoptr(GBytes) rest = NULL;
  g_autoptr(GBytes) expected = entity_part (1, 200000, 120000);

  /* after=0: headers, then nothing. */
  sl_assert_message_status (first, SOUP_STATUS_OK);
  assert_cut_short (cut, error, 200000);

  rest = fetch (f, "/drop?size=200000&after=0&times=1", "bytes=120000-",
                response_header (first, "ETag"), &second);
  sl_assert_message_status (second, SOUP_STATUS_PARTIAL_CONTENT);
  sl_assert_bytes_equal (rest, expected);
}

static void
test_ignore_range (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupMessage) dropped = NULL;
  g_autoptr(GBytes) cut = fetch_full (f, "GET", "/ignore-range?size=100000&drop=30000",
                                      NULL, NULL, &dropped, &error);
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(SoupMessage) with_length = NULL;
  g_autoptr(GBytes) body_with_length = NULL;
  g_autoptr(GBytes) expected = sl_test_entity (1, 100000);

  sl_assert_message_status (dropped, SOUP_STATUS_OK);
  assert_cut_short (cut, error, 100000);

  body = fetch (f, "/ignore-range?size=100000&drop=30000", "bytes=30000-",
                response_header (dropped, "ETag"), &msg);
  sl_assert_message_status (msg, SOUP_STATUS_OK);
  g_assert_null (response_header (msg, "Content-Range"));
  g_assert_cmpint (soup_message_headers_get_encoding (soup_message_get_response_headers (msg)),
                   ==, SOUP_ENCODING_CHUNKED);
  g_assert_nonnull (response_header (msg, "ETag"));
  sl_assert_bytes_equal (body, expected);

  body_with_length = fetch (f, "/ignore-range?size=100000&cl=1", "bytes=30000-", NULL,
                            &with_length);
  sl_assert_message_status (with_length, SOUP_STATUS_OK);
  g_assert_cmpint (content_length (with_length), ==, 100000);
  sl_assert_bytes_equal (body_with_length, expected);

  assert_logged (f, 1, "/ignore-range", "bytes=30000-", response_header (dropped, "ETag"),
                 SOUP_STATUS_OK);
}

static void
test_etag_changes (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupMessage) first = NULL;
  g_autoptr(GBytes) cut = fetch_full (f, "GET", "/etag-changes?size=100000&seed=20", NULL, NULL,
                                      &first, &error);
  g_autoptr(SoupMessage) second = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(SoupMessage) third = NULL;
  g_autoptr(GBytes) third_body = NULL;
  g_autoptr(GBytes) expected = sl_test_entity (21, 100000);
  g_autoptr(GBytes) expected_third = sl_test_entity (22, 100000);

  sl_assert_message_status (first, SOUP_STATUS_OK);
  g_assert_cmpstr (response_header (first, "ETag"), ==, "\"v1\"");
  assert_cut_short (cut, error, 100000);
  g_assert_cmpuint (sl_test_server_request_count (f->server, "/etag-changes"), ==, 1);

  body = fetch (f, "/etag-changes?size=100000&seed=20", "bytes=50000-", "\"v1\"", &second);
  sl_assert_message_status (second, SOUP_STATUS_OK);
  g_assert_cmpstr (response_header (second, "ETag"), ==, "\"v2\"");
  g_assert_cmpstr (response_header (second, "Last-Modified"), !=,
                   response_header (first, "Last-Modified"));
  g_assert_null (response_header (second, "Content-Range"));
  sl_assert_bytes_equal (body, expected);

  /* Even a Range with no If-Range is not honoured. */
  third_body = fetch (f, "/etag-changes?size=100000&seed=20", "bytes=50000-", NULL, &third);
  sl_assert_message_status (third, SOUP_STATUS_OK);
  g_assert_cmpstr (response_header (third, "ETag"), ==, "\"v3\"");
  sl_assert_bytes_equal (third_body, expected_third);

  g_assert_cmpuint (sl_test_server_request_count (f->server, "/etag-changes"), ==, 3);

  /* Counting starts over after a reset. */
  sl_test_server_reset_counts (f->server);
  g_clear_pointer (&third_body, g_bytes_unref);
  g_clear_object (&third);
  g_clear_error (&error);
  third_body = fetch_full (f, "GET", "/etag-changes?size=100000&seed=20", NULL, NULL, &third,
                           &error);
  g_assert_cmpstr (response_header (third, "ETag"), ==, "\"v1\"");
  assert_cut_short (third_body, error, 100000);
}

static void
test_long_length (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = fetch_full (f, "GET", "/long-length?size=50000", NULL, NULL, &msg,
                                       &error);

  sl_assert_message_status (msg, SOUP_STATUS_OK);
  g_assert_cmpint (content_length (msg), ==, 51000);
  assert_cut_short (body, error, 51000);
}

static void
test_wrong_range (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupMessage) first = NULL;
  g_autoptr(GBytes) cut = fetch_full (f, "GET", "/wrong-range?size=100000&drop=40000", NULL,
                                      NULL, &first, &error);
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GBytes) expected = entity_part (1, 100000, 40100);
  g_autoptr(SoupMessage) full = NULL;
  g_autoptr(GBytes) full_body = NULL;
  g_autoptr(GBytes) expected_full = sl_test_entity (1, 100000);
  goffset start = -1, end = -1, total = -1;

  sl_assert_message_status (first, SOUP_STATUS_OK);
  assert_cut_short (cut, error, 100000);

  body = fetch (f, "/wrong-range?size=100000&drop=40000", "bytes=40000-",
                response_header (first, "ETag"), &msg);
  sl_assert_message_status (msg, SOUP_STATUS_PARTIAL_CONTENT);
  g_assert_true (soup_message_headers_get_content_range (soup_message_get_response_headers (msg),
                                                         &start, &end, &total));
  g_assert_cmpint (start, ==, 40100);
  g_assert_cmpint (end, ==, 99999);
  g_assert_cmpint (total, ==, 100000);
  sl_assert_bytes_equal (body, expected);

  full_body = fetch (f, "/wrong-range?size=100000&drop=40000", NULL, NULL, &full);
  sl_assert_message_status (full, SOUP_STATUS_OK);
  sl_assert_bytes_equal (full_body, expected_full);
}

static void
test_stall (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(SoupSession) impatient = session_new (1);
  g_autofree char *url = sl_test_server_url (f->server, "/stall?size=100000&after=20000");
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", url);
  g_autoptr(SoupMessage) again = soup_message_new ("GET", url);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GBytes) expected = sl_test_entity (1, 100000);
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();

  body = soup_session_send_and_read (impatient, msg, NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_null (body);
  sl_assert_message_status (msg, SOUP_STATUS_OK);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 900 * 1000);

  /* Only the first request stalls (times=1 by default). */
  g_clear_error (&error);
  body = soup_session_send_and_read (impatient, again, NULL, &error);
  g_assert_no_error (error);
  sl_assert_bytes_equal (body, expected);

  soup_session_abort (impatient);
  assert_logged (f, 0, "/stall", NULL, NULL, SOUP_STATUS_OK);
  g_assert_cmpuint (sl_test_server_request_count (f->server, "/stall"), ==, 2);
}

/* The server must shut down while a client still holds a stalled connection open. */
static void
test_stall_quit (void)
{
  SlTestServer *server = sl_test_server_new ();
  g_autoptr(GSocketConnection) connection = raw_get (server, "/stall?size=100000&after=1000");
  g_autofree char *head = raw_read_head (connection);
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  g_autoptr(GError) error = NULL;
  char buffer[4096];
  gsize total = 0;
  gssize n;

  g_assert_true (g_str_has_prefix (head, "HTTP/1.1 200 "));
  g_assert_nonnull (strstr (head, "\r\nContent-Length: 100000\r\n"));

  /* The first 1000 bytes arrive, then nothing. */
  while (total < 1000 && (n = g_input_stream_read (in, buffer, sizeof buffer, NULL, &error)) > 0)
    total += n;
  g_assert_no_error (error);
  g_assert_cmpuint (total, ==, 1000);

  sl_test_server_quit_unref (server);

  /* With the server gone, the connection ends without the rest of the body. */
  n = g_input_stream_read (in, buffer, sizeof buffer, NULL, &error);
  g_assert_cmpint (n, <=, 0);
}

/* Same with a throttled response waiting on its timer and a cut connection about to close. */
static void
test_quit_busy (void)
{
  SlTestServer *server = sl_test_server_new ();
  g_autoptr(GSocketConnection) slow = raw_get (server, "/file?size=1000000&rate=1000");
  g_autoptr(GSocketConnection) cut = raw_get (server, "/drop?size=1000000&after=0");
  g_autofree char *slow_head = raw_read_head (slow);
  g_autofree char *cut_head = raw_read_head (cut);

  g_assert_true (g_str_has_prefix (slow_head, "HTTP/1.1 200 "));
  g_assert_true (g_str_has_prefix (cut_head, "HTTP/1.1 200 "));
  sl_test_server_quit_unref (server);
}

static void
test_redirect (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = fetch (f, "/redirect?n=3&to=%2Ffile%3Fsize%3D1000%26seed%3D4", NULL,
                                  NULL, &msg);
  g_autoptr(GBytes) expected = sl_test_entity (4, 1000);
  g_autoptr(SoupMessage) plain = NULL;
  g_autoptr(GBytes) plain_body = NULL;
  g_autoptr(GBytes) plain_expected = sl_test_entity (1, 1048576);
  GUri *uri;

  sl_assert_message_status (msg, SOUP_STATUS_OK);
  uri = soup_message_get_uri (msg);
  g_assert_cmpstr (g_uri_get_path (uri), ==, "/file");
  g_assert_cmpstr (g_uri_get_query (uri), ==, "size=1000&seed=4");
  sl_assert_bytes_equal (body, expected);

  g_assert_cmpuint (sl_test_server_request_count (f->server, "/redirect"), ==, 4);
  g_assert_cmpuint (sl_test_server_request_count (f->server, "/file"), ==, 1);
  assert_logged (f, 0, "/redirect", NULL, NULL, SOUP_STATUS_FOUND);
  assert_logged (f, 3, "/redirect", NULL, NULL, SOUP_STATUS_FOUND);
  assert_logged (f, 4, "/file", NULL, NULL, SOUP_STATUS_OK);

  /* Without "to", the chain ends at /file. */
  plain_body = fetch (f, "/redirect?n=1", NULL, NULL, &plain);
  g_assert_cmpstr (g_uri_get_path (soup_message_get_uri (plain)), ==, "/file");
  sl_assert_bytes_equal (plain_body, plain_expected);
}

static void
test_loop (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = fetch_full (f, "GET", "/loop", NULL, NULL, NULL, &error);

  g_assert_error (error, SOUP_SESSION_ERROR, SOUP_SESSION_ERROR_TOO_MANY_REDIRECTS);
  g_assert_null (body);
  g_assert_cmpuint (sl_test_server_request_count (f->server, "/loop"), >, 10);
}

static void
test_status (Fixture       *f,
             gconstpointer  data)
{
  static const guint codes[] = { 404, 500, 403, 410, 416 };

  for (gsize i = 0; i < G_N_ELEMENTS (codes); i++)
    {
      g_autofree char *path = g_strdup_printf ("/status?code=%u&size=777", codes[i]);
      g_autoptr(SoupMessage) msg = NULL;
      g_autoptr(GBytes) body = fetch (f, path, NULL, NULL, &msg);

      sl_assert_message_status (msg, codes[i]);
      g_assert_true (g_str_has_prefix (response_header (msg, "Content-Type"), "text/html"));
      g_assert_nonnull (g_strstr_len (g_bytes_get_data (body, NULL), g_bytes_get_size (body),
                                      "<html>"));
      if (codes[i] == 416)
        g_assert_cmpstr (response_header (msg, "Content-Range"), ==, "bytes */777");
      else
        g_assert_null (response_header (msg, "Content-Range"));
      assert_logged (f, i, "/status", NULL, NULL, codes[i]);
    }
}

static void
test_not_found (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = fetch (f, "/nothing-here?size=10", NULL, NULL, &msg);

  sl_assert_message_status (msg, SOUP_STATUS_NOT_FOUND);
  g_assert_true (g_str_has_prefix (response_header (msg, "Content-Type"), "text/html"));
  assert_logged (f, 0, "/nothing-here", NULL, NULL, SOUP_STATUS_NOT_FOUND);
}

static void
test_retry_after (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GBytes) expected = sl_test_entity (1, 2000);

  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(SoupMessage) msg = NULL;
      g_autoptr(GBytes) body = fetch (f, "/retry-after?size=2000&seconds=7", NULL, NULL, &msg);

      sl_assert_message_status (msg, SOUP_STATUS_SERVICE_UNAVAILABLE);
      g_assert_cmpstr (response_header (msg, "Retry-After"), ==, "7");
      g_assert_true (g_str_has_prefix (response_header (msg, "Content-Type"), "text/html"));
    }

  {
    g_autoptr(SoupMessage) msg = NULL;
    g_autoptr(GBytes) body = fetch (f, "/retry-after?size=2000&seconds=7", NULL, NULL, &msg);

    sl_assert_message_status (msg, SOUP_STATUS_OK);
    g_assert_null (response_header (msg, "Retry-After"));
    sl_assert_bytes_equal (body, expected);
  }

  sl_test_server_reset_counts (f->server);
  {
    g_autoptr(SoupMessage) msg = NULL;
    g_autoptr(GBytes) body = fetch (f, "/retry-after?code=429&times=1", NULL, NULL, &msg);

    sl_assert_message_status (msg, 429);
    g_assert_cmpstr (response_header (msg, "Retry-After"), ==, "1");
  }
}

static void
test_disposition (Fixture       *f,
                  gconstpointer  data)
{
  const char *value = "attachment; filename=\"../../x\"";
  g_autofree char *escaped = g_uri_escape_string (value, NULL, FALSE);
  g_autofree char *path = g_strdup_printf ("/disposition?size=100&cd=%s", escaped);
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = fetch (f, path, NULL, NULL, &msg);
  g_autoptr(GBytes) expected = sl_test_entity (1, 100);

  sl_assert_message_status (msg, SOUP_STATUS_OK);
  g_assert_cmpstr (response_header (msg, "Content-Disposition"), ==, value);
  sl_assert_bytes_equal (body, expected);
}

static void
test_disposition_raw_bytes (Fixture       *f,
                            gconstpointer  data)
{
  const char *path = "/disposition?size=100&cd=attachment%3B+filename%3Dcaf%E9%0D%0A.bin";
  g_autoptr(GSocketConnection) connection = raw_get (f->server, path);
  g_autofree char *head = raw_read_head (connection);
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;

  /* The Latin-1 byte goes out as it is, the line break as two spaces. */
  g_assert_nonnull (strstr (head,
                           "\r\nContent-Disposition: attachment; filename=caf\xe9  .bin\r\n"));

  /* libsoup, for one, reads it with a replacement character. */
  body = fetch (f, path, NULL, NULL, &msg);
  sl_assert_message_status (msg, SOUP_STATUS_OK);
  g_test_message ("Content-Disposition as libsoup sees it: %s",
                  response_header (msg, "Content-Disposition"));
  g_assert_true (g_str_has_prefix (response_header (msg, "Content-Disposition"),
                                   "attachment; filename=caf"));
}

static void
test_chunked (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = fetch (f, "/chunked?size=150000&seed=3", "bytes=100-", NULL, &msg);
  g_autoptr(GBytes) expected = sl_test_entity (3, 150000);
  SoupMessageHeaders *headers = soup_message_get_response_headers (msg);

  sl_assert_message_status (msg, SOUP_STATUS_OK);
  g_assert_cmpint (soup_message_headers_get_encoding (headers), ==, SOUP_ENCODING_CHUNKED);
  g_assert_null (response_header (msg, "Content-Length"));
  g_assert_null (response_header (msg, "ETag"));
  g_assert_null (response_header (msg, "Last-Modified"));
  g_assert_null (response_header (msg, "Accept-Ranges"));
  g_assert_null (response_header (msg, "Content-Range"));
  sl_assert_bytes_equal (body, expected);
}

static void
test_html_on_resume (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupMessage) first = NULL;
  g_autoptr(GBytes) cut = fetch_full (f, "GET", "/html-on-resume?size=100000", NULL, NULL,
                                      &first, &error);
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(SoupMessage) plain = NULL;
  g_autoptr(GBytes) plain_body = NULL;
  g_autoptr(GBytes) expected = sl_test_entity (1, 100000);

  sl_assert_message_status (first, SOUP_STATUS_OK);
  g_assert_cmpstr (response_header (first, "ETag"), ==, "\"e1-100000\"");
  assert_cut_short (cut, error, 100000);

  body = fetch (f, "/html-on-resume?size=100000", "bytes=50000-", "\"e1-100000\"", &msg);
  sl_assert_message_status (msg, SOUP_STATUS_OK);
  g_assert_true (g_str_has_prefix (response_header (msg, "Content-Type"), "text/html"));
  g_assert_cmpstr (response_header (msg, "ETag"), ==, "\"e1-100000\"");
  g_assert_null (response_header (msg, "Content-Range"));
  g_assert_cmpuint (g_bytes_get_size (body), <, 1000);
  g_assert_nonnull (g_strstr_len (g_bytes_get_data (body, NULL), g_bytes_get_size (body),
                                  "<html>"));

  plain_body = fetch (f, "/html-on-resume?size=100000", NULL, NULL, &plain);
  sl_assert_message_status (plain, SOUP_STATUS_OK);
  sl_assert_bytes_equal (plain_body, expected);
}

static void
test_gzip (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = fetch (f, "/gzip?size=200000&seed=6", "bytes=100-", NULL, &msg);
  g_autoptr(GBytes) expected = sl_test_entity (6, 200000);

  g_assert_true (soup_session_has_feature (f->session, SOUP_TYPE_CONTENT_DECODER));
  sl_assert_message_status (msg, SOUP_STATUS_OK);
  g_assert_cmpstr (response_header (msg, "Content-Encoding"), ==, "gzip");
  g_assert_null (response_header (msg, "Content-Range"));
  sl_assert_bytes_equal (body, expected);
}

static void
test_gzip_raw (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;
  const guint8 *bytes;
  gsize size;

  soup_session_remove_feature_by_type (f->session, SOUP_TYPE_CONTENT_DECODER);
  body = fetch (f, "/gzip?size=200000&seed=6", "bytes=100-", NULL, &msg);

  sl_assert_message_status (msg, SOUP_STATUS_OK);
  g_assert_cmpstr (response_header (msg, "ETag"), ==, "\"gz6-200000\"");
  g_assert_cmpstr (response_header (msg, "Accept-Ranges"), ==, "bytes");
  bytes = g_bytes_get_data (body, &size);
  g_assert_cmpint (content_length (msg), ==, size);
  g_assert_cmpuint (size, >, 18);
  g_assert_cmphex (bytes[0], ==, 0x1f);
  g_assert_cmphex (bytes[1], ==, 0x8b);
}

static void
test_unused_port (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/file", sl_test_unused_port ());
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", url);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read (f->session, msg, NULL, &error);

  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
  g_assert_null (body);
}

static void
test_url_and_log (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *url = sl_test_server_url (f->server, "/file?size=10");
  g_autofree char *expected = g_strdup_printf ("http://127.0.0.1:%u/file?size=10",
                                               sl_test_server_port (f->server));
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GPtrArray) files = NULL;

  g_assert_cmpuint (sl_test_server_port (f->server), !=, 0);
  g_assert_cmpstr (url, ==, expected);

  g_bytes_unref (fetch (f, "/file?size=10", NULL, NULL, NULL));
  g_bytes_unref (fetch (f, "/chunked?size=10", "bytes=1-", NULL, NULL));
  g_bytes_unref (fetch (f, "/file?size=20", NULL, NULL, NULL));

  all = sl_test_server_requests (f->server, NULL);
  files = sl_test_server_requests (f->server, "/file");
  g_assert_cmpuint (all->len, ==, 3);
  g_assert_cmpuint (files->len, ==, 2);
  g_assert_cmpuint (sl_test_server_request_count (f->server, "/file"), ==, 2);
  g_assert_cmpuint (sl_test_server_request_count (f->server, "/chunked"), ==, 1);
  g_assert_cmpuint (sl_test_server_request_count (f->server, "/gzip"), ==, 0);
  assert_logged (f, 1, "/chunked", "bytes=1-", NULL, SOUP_STATUS_OK);

  sl_test_server_reset_counts (f->server);
  g_assert_cmpuint (sl_test_server_request_count (f->server, "/file"), ==, 0);
  g_clear_pointer (&all, g_ptr_array_unref);
  all = sl_test_server_requests (f->server, NULL);
  g_assert_cmpuint (all->len, ==, 0);
}

/* Utilities --------------------------------------------------------------------------------- */

static gboolean
count_reached (gpointer data)
{
  Fixture *f = data;

  return sl_test_server_request_count (f->server, "/file") >= 1;
}

static void
fetched_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, NULL);

  *(gboolean *) data = TRUE;
}

static gboolean
flag_set (gpointer data)
{
  return *(gboolean *) data;
}

static gboolean
never (gpointer data)
{
  return FALSE;
}

static void
test_wait_until (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *url = sl_test_server_url (f->server, "/file?size=1000");
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", url);
  gboolean done = FALSE;
  gint64 start;

  soup_session_send_and_read_async (f->session, msg, G_PRIORITY_DEFAULT, NULL, fetched_cb, &done);
  sl_test_wait_until (NULL, count_reached, f, 5000);
  sl_test_wait_until (NULL, flag_set, &done, 5000);

  start = g_get_monotonic_time ();
  g_assert_false (sl_test_iterate_until (NULL, never, NULL, 50));
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 45 * 1000);
}

static void
test_files (void)
{
  g_autoptr(GFile) dir = sl_test_make_temp_dir ();
  g_autoptr(GFile) sub = g_file_get_child (dir, "sub");
  g_autoptr(GFile) missing = g_file_get_child (dir, "missing");
  g_autoptr(GBytes) entity = sl_test_entity (1, 5000);
  g_autofree char *dir_path = g_file_get_path (dir);
  g_autofree char *file_path = g_build_filename (dir_path, "b.bin", NULL);
  g_autofree char *missing_path = g_file_get_path (missing);
  g_autofree char *sha = NULL;
  g_autofree char *expected_sha = sl_test_entity_sha256 (1, 5000);
  g_autofree char *inner = g_build_filename (dir_path, "sub", "inner.txt", NULL);
  g_autofree char *link = g_build_filename (dir_path, "sub", "link", NULL);
  g_autofree char *hidden = g_build_filename (dir_path, ".a", NULL);
  g_auto(GStrv) names = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_str_has_prefix (dir_path, g_get_tmp_dir ()));
  names = sl_test_list_dir (dir);
  g_assert_nonnull (names);
  g_assert_cmpuint (g_strv_length (names), ==, 0);
  g_clear_pointer (&names, g_strfreev);

  g_file_set_contents (file_path, g_bytes_get_data (entity, NULL), 5000, &error);
  g_assert_no_error (error);
  g_file_make_directory (sub, NULL, &error);
  g_assert_no_error (error);
  g_file_set_contents (inner, "x", 1, &error);
  g_assert_no_error (error);
  g_file_set_contents (hidden, "", 0, &error);
  g_assert_no_error (error);
  /* rm -rf must not follow links out of the tree. */
  g_assert_cmpint (symlink (g_get_tmp_dir (), link), ==, 0);

  sha = sl_test_file_sha256 (file_path);
  g_assert_cmpstr (sha, ==, expected_sha);
  g_assert_null (sl_test_file_sha256 (missing_path));

  names = sl_test_list_dir (dir);
  g_assert_cmpuint (g_strv_length (names), ==, 3);
  g_assert_cmpstr (names[0], ==, ".a");
  g_assert_cmpstr (names[1], ==, "b.bin");
  g_assert_cmpstr (names[2], ==, "sub");
  g_assert_null (sl_test_list_dir (missing));

  sl_test_rm_rf (dir);
  g_assert_false (g_file_query_exists (dir, NULL));
  g_assert_true (g_file_test (g_get_tmp_dir (), G_FILE_TEST_IS_DIR));
  sl_test_rm_rf (dir);
}

static void
test_assertions_fail (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(GBytes) a = g_bytes_new_static ("abcd", 4);
      g_autoptr(GBytes) b = g_bytes_new_static ("abXd", 4);

      g_test_set_nonfatal_assertions ();
      sl_assert_status (404, 200);
      sl_assert_bytes_equal (a, b);
      sl_test_wait_until (NULL, never, NULL, 10);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*unexpected status 404 Not Found (expected 200 OK)*");
  g_test_trap_assert_stderr ("*first difference at offset 2*");
  g_test_trap_assert_stderr ("*never did not hold within 10 ms*");
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) g_test_add ((path), Fixture, NULL, fixture_setup, (func), fixture_teardown)

  g_test_add_func ("/server/entity/deterministic", test_entity_deterministic);
  g_test_add_func ("/server/entity/seekable", test_entity_seekable);
  g_test_add_func ("/server/entity/sha256", test_entity_sha256);
  ADD ("/server/file/full", test_file_full);
  ADD ("/server/file/defaults", test_file_defaults);
  ADD ("/server/file/head", test_file_head);
  ADD ("/server/file/range", test_file_range);
  ADD ("/server/file/range-ignored", test_file_range_ignored);
  ADD ("/server/file/if-range", test_file_if_range);
  ADD ("/server/file/unsatisfiable", test_file_unsatisfiable);
  ADD ("/server/file/large", test_file_large);
  ADD ("/server/file/rate", test_file_rate);
  ADD ("/server/file/chunk", test_file_chunk);
  ADD ("/server/bad-parameter", test_bad_parameter);
  ADD ("/server/drop", test_drop);
  ADD ("/server/drop/resume", test_drop_then_resume);
  ADD ("/server/ignore-range", test_ignore_range);
  ADD ("/server/etag-changes", test_etag_changes);
  ADD ("/server/long-length", test_long_length);
  ADD ("/server/wrong-range", test_wrong_range);
  ADD ("/server/stall", test_stall);
  g_test_add_func ("/server/stall/quit", test_stall_quit);
  g_test_add_func ("/server/quit-busy", test_quit_busy);
  ADD ("/server/redirect", test_redirect);
  ADD ("/server/loop", test_loop);
  ADD ("/server/status", test_status);
  ADD ("/server/not-found", test_not_found);
  ADD ("/server/retry-after", test_retry_after);
  ADD ("/server/disposition", test_disposition);
  ADD ("/server/disposition/raw-bytes", test_disposition_raw_bytes);
  ADD ("/server/chunked", test_chunked);
  ADD ("/server/html-on-resume", test_html_on_resume);
  ADD ("/server/gzip", test_gzip);
  ADD ("/server/gzip/raw", test_gzip_raw);
  ADD ("/server/unused-port", test_unused_port);
  ADD ("/server/url-and-log", test_url_and_log);
  ADD ("/utils/wait-until", test_wait_until);
  g_test_add_func ("/utils/files", test_files);
  g_test_add_func ("/utils/assertions-fail", test_assertions_fail);

#undef ADD

  return g_test_run ();
}
