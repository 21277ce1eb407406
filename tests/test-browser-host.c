/* test-browser-host.c
 *
 * The browser hand-off, its pure parts by tables: frames, requests, replies and host
 * manifests.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "sl-browser-manifest.h"
#include "sl-native-message.h"
#include "sl-test-utils.h"

/* The address the unit tables put where a test server's address goes. */
#define TABLE_URL      "http://127.0.0.1:9/file"

/* Helpers for frames and replies */

/* A frame with any length prefix and any bytes after it. */
static void
append_raw_frame (GByteArray   *stream,
                  guint32       length,
                  const guint8 *data,
                  gsize         size)
{
  g_byte_array_append (stream, (const guint8 *) &length, sizeof length);
  if (size > 0)
    g_byte_array_append (stream, data, size);
}

static void
append_frame (GByteArray *stream,
              const char *message)
{
  append_raw_frame (stream, strlen (message), (const guint8 *) message, strlen (message));
}

static JsonObject *
parse_reply_text (const char *text,
                  JsonNode  **root)
{
  g_autoptr (GError) error = NULL;

  *root = json_from_string (text, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (*root));
  return json_node_get_object (*root);
}

static gboolean
reply_ok (JsonObject *reply)
{
  g_assert_cmpint (json_object_get_int_member (reply, "v"), ==, 1);
  g_assert_true (json_object_has_member (reply, "ok"));
  return json_object_get_boolean_member (reply, "ok");
}

/* Asserts @reply refuses, with a one-line reason, and returns the reason. */
static const char *
reply_error (JsonObject *reply)
{
  const char *message;

  g_assert_false (reply_ok (reply));
  g_assert_true (json_object_has_member (reply, "error"));
  message = json_object_get_string_member (reply, "error");
  g_assert_nonnull (message);
  g_assert_cmpstr (message, !=, "");
  g_assert_null (strchr (message, '\n'));
  g_assert_null (strchr (message, '\r'));
  return message;
}

/* Frames */

typedef struct
{
  const char   *name;
  const guint8 *bytes;
  gsize         size;
  guint         frames;          /* how many whole frames come out */
  gboolean      broken;          /* the reader breaks (too long) */
  gboolean      clean_end;       /* the stream ends between frames */
} FrameCase;

static void
test_frame_table (void)
{
  /* Little-endian prefixes: the tests run where native order is that. */
  static const guint8 empty[] = { 0 };
  static const guint8 zero_frame[] = { 0, 0, 0, 0 };
  static const guint8 two_frames[] = { 2, 0, 0, 0, '{', '}', 1, 0, 0, 0, 'x' };
  static const guint8 short_prefix[] = { 2, 0 };
  static const guint8 short_body[] = { 10, 0, 0, 0, '{', '}' };
  static const guint8 too_long[] = { 1, 0, 16, 0, '{', '}' };
  static const guint8 huge[] = { 0xff, 0xff, 0xff, 0xff };
  static const guint8 frame_then_huge[] = { 2, 0, 0, 0, '{', '}', 0xff, 0xff, 0xff, 0x7f };
  static const FrameCase cases[] = {
    { "nothing", empty, 0, 0, FALSE, TRUE },
    { "zero length", zero_frame, sizeof zero_frame, 1, FALSE, TRUE },
    { "two frames", two_frames, sizeof two_frames, 2, FALSE, TRUE },
    { "short prefix", short_prefix, sizeof short_prefix, 0, FALSE, FALSE },
    { "short body", short_body, sizeof short_body, 0, FALSE, FALSE },
    { "1 MiB + 1", too_long, sizeof too_long, 0, TRUE, FALSE },
    { "4 GiB", huge, sizeof huge, 0, TRUE, FALSE },
    { "frame, then too long", frame_then_huge, sizeof frame_then_huge, 1, TRUE, FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const FrameCase *c = &cases[i];

      /* All at once, and byte by byte: the cut must not matter. */
      for (int split = 0; split < 2; split++)
        {
          g_autoptr (SlFrameReader) reader = sl_frame_reader_new ();
          g_autoptr (GError) error = NULL;
          g_autoptr (GError) end_error = NULL;
          gboolean broken = FALSE;
          guint frames = 0;
          gsize step = split ? 1 : MAX (c->size, 1);

          g_test_message ("frames: %s, %s", c->name, split ? "byte by byte" : "at once");
          for (gsize offset = 0; offset < c->size && !broken; offset += step)
            {
              SlFrameStatus status;

              sl_frame_reader_push (reader, c->bytes + offset, MIN (step, c->size - offset));
              for (;;)
                {
                  g_autoptr (GBytes) frame = NULL;

                  status = sl_frame_reader_next (reader, &frame, &error);
                  if (status != SL_FRAME_READY)
                    break;
                  frames++;
                }
              if (status == SL_FRAME_BROKEN)
                {
                  g_assert_error (error, SL_NATIVE_MESSAGE_ERROR,
                                  SL_NATIVE_MESSAGE_ERROR_TOO_LONG);
                  broken = TRUE;
                }
              else
                g_assert_no_error (error);
            }

          g_assert_cmpuint (frames, ==, c->frames);
          g_assert_cmpint (broken, ==, c->broken);
          g_assert_cmpint (sl_frame_reader_finish (reader, &end_error), ==, c->clean_end);
          if (c->clean_end)
            g_assert_no_error (end_error);
          else
            g_assert_nonnull (end_error);
        }
    }
}

static void
test_frame_content (void)
{
  g_autoptr (SlFrameReader) reader = sl_frame_reader_new ();
  g_autoptr (GByteArray) stream = g_byte_array_new ();
  g_autoptr (GBytes) encoded = sl_frame_encode ("{\"v\":1}");
  g_autofree char *max = g_malloc (SL_NATIVE_MESSAGE_MAX_BYTES);
  const char *messages[] = { "{\"v\":1}", "", "{\"a\":\"ü\"}" };
  gsize size;
  const guint8 *data = g_bytes_get_data (encoded, &size);
  guint32 prefix;

  /* Encoding: native-endian length, then the bytes. */
  g_assert_cmpuint (size, ==, 4 + 7);
  memcpy (&prefix, data, 4);
  g_assert_cmpuint (prefix, ==, 7);
  g_assert_cmpmem (data + 4, 7, "{\"v\":1}", 7);

  for (gsize i = 0; i < G_N_ELEMENTS (messages); i++)
    append_frame (stream, messages[i]);
  /* The largest frame that may come is taken whole. */
  memset (max, ' ', SL_NATIVE_MESSAGE_MAX_BYTES);
  append_raw_frame (stream, SL_NATIVE_MESSAGE_MAX_BYTES, (const guint8 *) max,
                    SL_NATIVE_MESSAGE_MAX_BYTES);

  sl_frame_reader_push (reader, stream->data, stream->len);
  for (gsize i = 0; i < G_N_ELEMENTS (messages); i++)
    {
      g_autoptr (GBytes) frame = NULL;

      g_assert_cmpint (sl_frame_reader_next (reader, &frame, NULL), ==, SL_FRAME_READY);
      g_assert_cmpmem (g_bytes_get_data (frame, NULL), g_bytes_get_size (frame),
                       messages[i], strlen (messages[i]));
    }
  {
    g_autoptr (GBytes) frame = NULL;

    g_assert_cmpint (sl_frame_reader_next (reader, &frame, NULL), ==, SL_FRAME_READY);
    g_assert_cmpuint (g_bytes_get_size (frame), ==, SL_NATIVE_MESSAGE_MAX_BYTES);
  }
  g_assert_cmpint (sl_frame_reader_next (reader, NULL, NULL), ==, SL_FRAME_NEED_MORE);
  g_assert_true (sl_frame_reader_finish (reader, NULL));
}

/* Requests */

typedef struct
{
  const char *json;      /* @URL@ stands for an address that would be downloaded */
  int         code;      /* the SlNativeMessageError */
  const char *reason;    /* part of the reason, or NULL */
  const char *id;        /* the id echoed, as JSON, or NULL */
} RefusedCase;

/* Every input the host must refuse without calling the daemon. Shared by the unit test of
 * the parser and by the test of the running host. */
static const RefusedCase refused_cases[] = {
  { "", SL_NATIVE_MESSAGE_ERROR_SYNTAX, "empty", NULL },
  { "{\"v\":1,\"type\":\"ping\"", SL_NATIVE_MESSAGE_ERROR_SYNTAX, "JSON", NULL },
  { "[1,2]", SL_NATIVE_MESSAGE_ERROR_SYNTAX, "object", NULL },
  { "42", SL_NATIVE_MESSAGE_ERROR_SYNTAX, "object", NULL },
  { "null", SL_NATIVE_MESSAGE_ERROR_SYNTAX, "object", NULL },
  { "\"ping\"", SL_NATIVE_MESSAGE_ERROR_SYNTAX, "object", NULL },
  { "{\"v\":1,\"type\":\"ping\",\"x\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}",
    SL_NATIVE_MESSAGE_ERROR_SYNTAX, "deeper", NULL },
  { "{\"type\":\"ping\",\"id\":\"a\"}", SL_NATIVE_MESSAGE_ERROR_INVALID, "version", "\"a\"" },
  { "{\"v\":2,\"type\":\"ping\",\"id\":1}", SL_NATIVE_MESSAGE_ERROR_INVALID, "version 1", "1" },
  { "{\"v\":\"1\",\"type\":\"ping\"}", SL_NATIVE_MESSAGE_ERROR_INVALID, "version 1", NULL },
  { "{\"v\":1.5,\"type\":\"ping\"}", SL_NATIVE_MESSAGE_ERROR_INVALID, "version 1", NULL },
  { "{\"v\":1,\"id\":3}", SL_NATIVE_MESSAGE_ERROR_INVALID, "“type”", "3" },
  { "{\"v\":1,\"type\":42}", SL_NATIVE_MESSAGE_ERROR_INVALID, "“type”", NULL },
  { "{\"v\":1,\"type\":\"explode\",\"id\":\"x\"}", SL_NATIVE_MESSAGE_ERROR_INVALID,
    "Unknown message type “explode”", "\"x\"" },
  { "{\"v\":1,\"type\":\"ping\",\"id\":{\"a\":1}}", SL_NATIVE_MESSAGE_ERROR_INVALID, "“id”",
    NULL },
  { "{\"v\":1,\"type\":\"ping\",\"id\":true}", SL_NATIVE_MESSAGE_ERROR_INVALID, "“id”", NULL },
  { "{\"v\":1,\"type\":\"download\",\"id\":7}", SL_NATIVE_MESSAGE_ERROR_INVALID, "no address",
    "7" },
  { "{\"v\":1,\"type\":\"download\",\"urls\":[]}", SL_NATIVE_MESSAGE_ERROR_INVALID,
    "no address", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":42}", SL_NATIVE_MESSAGE_ERROR_INVALID, "“url”",
    NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":[\"@URL@\"]}", SL_NATIVE_MESSAGE_ERROR_INVALID,
    "“url”", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"ftp://example.com/a\"}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "ftp", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"javascript:alert(1)\"}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "javascript", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"file:///etc/passwd\"}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "file", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"blob:https://example.com/0b1c\"}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "only in the browser", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"data:text/plain,hi\"}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "only in the browser", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"example.com/file\"}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "scheme", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"http://127.0.0.1/a b\"}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "spaces", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\\u0000.exe\"}",
    SL_NATIVE_MESSAGE_ERROR_SYNTAX, "NUL", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\\ud800\"}",
    SL_NATIVE_MESSAGE_ERROR_SYNTAX, "escape", NULL },
  { "{\"v\":1,\"type\":\"ping\",\"id\":\"\\udc00\\ud800\"}",
    SL_NATIVE_MESSAGE_ERROR_SYNTAX, "escape", NULL },
  { "{\"v\":1,\"type\":\"ping\",\"x\":\"\\u12\"}", SL_NATIVE_MESSAGE_ERROR_SYNTAX,
    "escape", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"directory\":\"/tmp\",\"id\":\"d\"}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "“directory”", "\"d\"" },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"directory\":null}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "“directory”", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"filename\":\"../evil.sh\"}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, NULL, NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"filename\":\"a/b\"}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, NULL, NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"filename\":\"..\"}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, NULL, NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"filename\":\"a\\nb\"}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, NULL, NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"filename\":7}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "“filename”", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@?a=1\",\"urls\":[\"@URL@?a=2\"],"
    "\"filename\":\"x.bin\"}", SL_NATIVE_MESSAGE_ERROR_INVALID, "exactly one", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"referrer\":\"javascript:x\"}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "referrer", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"referrer\":\"https://a.example/\\r\\n"
    "X-Evil: 1\"}", SL_NATIVE_MESSAGE_ERROR_INVALID, NULL, NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"cookies\":\"a=b\\r\\nX-Evil: 1\"}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "Cookie", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"userAgent\":\"Evil\\nHost: x\"}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "User-Agent", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"cookies\":{\"a\":\"b\"}}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "“cookies”", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"userAgent\":false}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "“userAgent”", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"mime\":5}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "“mime”", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"size\":\"big\"}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "“size”", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"size\":-5}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "“size”", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"size\":1.5}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "“size”", NULL },
  { "{\"v\":1,\"type\":\"download\",\"urls\":\"@URL@\"}", SL_NATIVE_MESSAGE_ERROR_INVALID,
    "“urls”", NULL },
  { "{\"v\":1,\"type\":\"download\",\"urls\":[\"@URL@\",1]}", SL_NATIVE_MESSAGE_ERROR_INVALID,
    "“urls”", NULL },
  /* One bad address among good ones: none is added. */
  { "{\"v\":1,\"type\":\"download\",\"urls\":[\"@URL@?n=1\",\"@URL@?n=2\",\"ftp://x/y\"]}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "ftp", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"ftp://x/y\",\"urls\":[\"@URL@\"]}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "ftp", NULL },
};

static char *
fill_url (const char *json,
          const char *url)
{
  g_auto (GStrv) parts = g_strsplit (json, "@URL@", -1);

  return g_strjoinv (url, parts);
}

static void
test_request_refused (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (refused_cases); i++)
    {
      const RefusedCase *c = &refused_cases[i];
      g_autofree char *json = fill_url (c->json, TABLE_URL);
      g_autoptr (JsonNode) id = NULL;
      g_autoptr (GError) error = NULL;
      g_autoptr (SlNativeRequest) request = NULL;

      g_test_message ("refused: %s", json);
      request = sl_native_request_parse (json, strlen (json), &id, &error);
      g_assert_null (request);
      g_assert_error (error, SL_NATIVE_MESSAGE_ERROR, c->code);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      g_assert_null (strchr (error->message, '\n'));
      if (c->reason != NULL && strstr (error->message, c->reason) == NULL)
        g_error ("“%s” does not say “%s”", error->message, c->reason);
      if (c->id != NULL)
        {
          g_autofree char *echoed = NULL;

          g_assert_nonnull (id);
          echoed = json_to_string (id, FALSE);
          g_assert_cmpstr (echoed, ==, c->id);
        }
      else
        g_assert_null (id);
    }
}

/* Input that is not text, or that would cut a string short or exhaust the parser. */
static void
test_request_bytes (void)
{
  static const char not_utf8[] = "{\"v\":1,\"type\":\"download\",\"url\":\"http://a/\xff\"}";
  static const char nul[] = "{\"v\":1,\"type\":\"ping\"}\0{}";
  gsize deep_size = 512 * 1024;
  g_autofree char *deep = g_malloc (deep_size);
  g_autoptr (GString) many = g_string_new ("{\"v\":1,\"type\":\"download\",\"urls\":[");
  g_autoptr (GError) error = NULL;
  g_autoptr (SlNativeRequest) request = NULL;

  request = sl_native_request_parse (not_utf8, strlen (not_utf8), NULL, &error);
  g_assert_null (request);
  g_assert_error (error, SL_NATIVE_MESSAGE_ERROR, SL_NATIVE_MESSAGE_ERROR_ENCODING);
  g_clear_error (&error);

  request = sl_native_request_parse (nul, sizeof nul - 1, NULL, &error);
  g_assert_null (request);
  g_assert_error (error, SL_NATIVE_MESSAGE_ERROR, SL_NATIVE_MESSAGE_ERROR_ENCODING);
  g_clear_error (&error);

  /* Half a megabyte of brackets would take the recursive parser deep into the stack. */
  memset (deep, '[', deep_size);
  request = sl_native_request_parse (deep, deep_size, NULL, &error);
  g_assert_null (request);
  g_assert_error (error, SL_NATIVE_MESSAGE_ERROR, SL_NATIVE_MESSAGE_ERROR_SYNTAX);
  g_clear_error (&error);

  /* Brackets inside strings are text, not nesting. */
  memset (deep, '[', 100);
  {
    g_autofree char *json = g_strdup_printf ("{\"v\":1,\"type\":\"ping\",\"x\":\"%.*s\"}", 100,
                                             deep);

    request = sl_native_request_parse (json, strlen (json), NULL, &error);
    g_assert_no_error (error);
    g_assert_nonnull (request);
    g_clear_pointer (&request, sl_native_request_free);
  }

  /* A lone surrogate in an escape is not text; a pair is. */
  {
    const char *json = "{\"v\":1,\"type\":\"download\",\"url\":\"http://a/\\ud800x\"}";
    const char *pair = "{\"v\":1,\"type\":\"download\",\"url\":\"http://a/\",\"userAgent\":"
                       "\"\\ud83d\\ude00 \\u00e9\\\"\"}";

    request = sl_native_request_parse (json, strlen (json), NULL, &error);
    g_assert_null (request);
    g_assert_error (error, SL_NATIVE_MESSAGE_ERROR, SL_NATIVE_MESSAGE_ERROR_SYNTAX);
    g_clear_error (&error);

    request = sl_native_request_parse (pair, strlen (pair), NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (request->user_agent, ==, "\xf0\x9f\x98\x80 \xc3\xa9\"");
    g_clear_pointer (&request, sl_native_request_free);
  }

  for (int i = 0; i <= SL_NATIVE_MESSAGE_MAX_URLS; i++)
    g_string_append_printf (many, "%s\"" TABLE_URL "?n=%d\"", i > 0 ? "," : "", i);
  g_string_append (many, "]}");
  request = sl_native_request_parse (many->str, many->len, NULL, &error);
  g_assert_null (request);
  g_assert_error (error, SL_NATIVE_MESSAGE_ERROR, SL_NATIVE_MESSAGE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "1000"));
}

static SlNativeRequest *
parse_ok (const char  *json,
          JsonNode   **id)
{
  g_autoptr (GError) error = NULL;
  SlNativeRequest *request;

  g_test_message ("accepted: %s", json);
  request = sl_native_request_parse (json, strlen (json), id, &error);
  g_assert_no_error (error);
  g_assert_nonnull (request);
  return request;
}

static void
assert_option (GVariant   *options,
               const char *key,
               const char *expected)
{
  const char *value = NULL;

  if (expected == NULL)
    g_assert_false (g_variant_lookup (options, key, "&s", &value));
  else
    {
      g_assert_true (g_variant_lookup (options, key, "&s", &value));
      g_assert_cmpstr (value, ==, expected);
    }
}

static void
test_request_accepted (void)
{
  g_autoptr (SlNativeRequest) request = NULL;
  g_autoptr (JsonNode) id = NULL;
  g_autoptr (GVariant) options = NULL;
  SlNativeItem *item;

  /* The smallest ping; unknown fields are for newer extensions. */
  request = parse_ok ("{\"v\":1,\"type\":\"ping\"}", &id);
  g_assert_cmpint (request->type, ==, SL_NATIVE_REQUEST_PING);
  g_assert_null (id);
  g_clear_pointer (&request, sl_native_request_free);
  request = parse_ok ("{\"type\":\"ping\",\"v\":1,\"id\":12.5,\"future\":{\"x\":[1]}}", &id);
  g_assert_cmpint (request->type, ==, SL_NATIVE_REQUEST_PING);
  g_assert_nonnull (id);
  g_assert_cmpfloat (json_node_get_double (id), ==, 12.5);
  g_clear_pointer (&id, json_node_unref);
  g_clear_pointer (&request, sl_native_request_free);

  /* Everything a browser sends for one download. */
  request = parse_ok ("{\"v\":1,\"type\":\"download\",\"id\":\"req-1\","
                      "\"url\":\"https://example.com/files/a.iso?token=x\","
                      "\"referrer\":\"https://example.com/page\",\"cookies\":\"sid=1; b=2\","
                      "\"userAgent\":\"Mozilla/5.0 (X11; Linux x86_64)\","
                      "\"filename\":\"a (1).iso\",\"mime\":\"application/x-iso9660-image\","
                      "\"size\":123456789}", &id);
  g_assert_cmpint (request->type, ==, SL_NATIVE_REQUEST_DOWNLOAD);
  g_assert_cmpstr (json_node_get_string (id), ==, "req-1");
  g_assert_cmpuint (request->items->len, ==, 1);
  item = g_ptr_array_index (request->items, 0);
  g_assert_cmpstr (item->url, ==, "https://example.com/files/a.iso?token=x");
  g_assert_cmpstr (item->cookies, ==, "sid=1; b=2");
  g_assert_cmpstr (request->referrer, ==, "https://example.com/page");
  g_assert_cmpstr (request->user_agent, ==, "Mozilla/5.0 (X11; Linux x86_64)");
  g_assert_cmpstr (request->filename, ==, "a (1).iso");
  g_assert_cmpstr (request->mime, ==, "application/x-iso9660-image");
  g_assert_cmpint (request->size, ==, 123456789);
  options = g_variant_ref_sink (sl_native_request_options (request, 0));
  assert_option (options, "referrer", "https://example.com/page");
  assert_option (options, "cookies", "sid=1; b=2");
  assert_option (options, "user-agent", "Mozilla/5.0 (X11; Linux x86_64)");
  assert_option (options, "filename", "a (1).iso");
  g_assert_cmpuint (g_variant_n_children (options), ==, 4);
  g_clear_pointer (&options, g_variant_unref);
  g_clear_pointer (&id, json_node_unref);
  g_clear_pointer (&request, sl_native_request_free);

  /* Null and empty are none; no option is sent for them. */
  request = parse_ok ("{\"v\":1,\"type\":\"download\",\"url\":\"http://example.com/a\","
                      "\"referrer\":null,\"cookies\":\"\",\"userAgent\":null,"
                      "\"filename\":\"\",\"mime\":null,\"size\":null,\"urls\":null}", NULL);
  g_assert_null (request->referrer);
  g_assert_null (request->filename);
  g_assert_cmpint (request->size, ==, -1);
  options = g_variant_ref_sink (sl_native_request_options (request, 0));
  g_assert_cmpuint (g_variant_n_children (options), ==, 0);
  g_clear_pointer (&options, g_variant_unref);
  g_clear_pointer (&request, sl_native_request_free);

  /* All links: the address first, each once (as written back), in order. */
  request = parse_ok ("{\"v\":1,\"type\":\"download\",\"url\":\"http://example.com/a\","
                      "\"urls\":[\"http://example.com/b\",\"HTTP://example.com/a\","
                      "\"http://example.com/b\",\"http://example.com/c\"]}", NULL);
  g_assert_cmpuint (request->items->len, ==, 3);
  g_assert_cmpstr (((SlNativeItem *) request->items->pdata[0])->url, ==, "http://example.com/a");
  g_assert_cmpstr (((SlNativeItem *) request->items->pdata[1])->url, ==, "http://example.com/b");
  g_assert_cmpstr (((SlNativeItem *) request->items->pdata[2])->url, ==, "http://example.com/c");
  g_clear_pointer (&request, sl_native_request_free);

  /* No url, only urls; the size may be unknown. */
  request = parse_ok ("{\"v\":1,\"type\":\"download\",\"urls\":[\"https://example.com/x\"],"
                      "\"size\":-1}", NULL);
  g_assert_cmpuint (request->items->len, ==, 1);
  g_assert_cmpint (request->size, ==, -1);
}

/* The browser gives the cookies of the page's origin: another server never gets them. */
static void
test_request_cookies (void)
{
  g_autoptr (SlNativeRequest) request = NULL;
  const char *expected[] = {
    "c=1",   /* http://example.com/a */
    "c=1",   /* same origin, default port spelled out */
    NULL,    /* https: another scheme */
    NULL,    /* another host */
    NULL,    /* another port */
    NULL,    /* a subdomain */
    "c=1",   /* the host in capitals */
  };

  request = parse_ok ("{\"v\":1,\"type\":\"download\",\"cookies\":\"c=1\","
                      "\"urls\":[\"http://example.com/a\",\"http://example.com:80/b\","
                      "\"https://example.com/c\",\"http://example.org/d\","
                      "\"http://example.com:8080/e\",\"http://cdn.example.com/f\","
                      "\"http://EXAMPLE.com/g\"]}", NULL);
  g_assert_cmpuint (request->items->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < request->items->len; i++)
    {
      SlNativeItem *item = g_ptr_array_index (request->items, i);
      g_autoptr (GVariant) options = g_variant_ref_sink (sl_native_request_options (request, i));

      g_test_message ("cookies for %s", item->url);
      g_assert_cmpstr (item->cookies, ==, expected[i]);
      assert_option (options, "cookies", expected[i]);
    }
}

static void
test_replies (void)
{
  g_autoptr (JsonNode) id = json_node_init_string (json_node_alloc (), "a\"b");
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *ping = sl_native_reply_ping (id, "1.2.3", TRUE);
  g_autofree char *no_daemon = sl_native_reply_ping (NULL, "1.2.3", FALSE);
  guint64 ids[] = { 4, 17 };
  g_autofree char *added = sl_native_reply_ids (id, ids, G_N_ELEMENTS (ids));
  g_autofree char *failed = sl_native_reply_error (NULL, "first\nsecond\r\tthird\xff", NULL, 0);
  g_autofree char *partly = sl_native_reply_error (id, "no room", ids, 1);
  g_autoptr (GString) long_message = g_string_new (NULL);
  g_autofree char *long_reply = NULL;
  JsonObject *object;
  JsonArray *array;

  object = parse_reply_text (ping, &root);
  g_assert_true (reply_ok (object));
  g_assert_cmpstr (json_object_get_string_member (object, "id"), ==, "a\"b");
  g_assert_cmpstr (json_object_get_string_member (object, "version"), ==, "1.2.3");
  g_assert_true (json_object_get_boolean_member (object, "daemon"));
  g_clear_pointer (&root, json_node_unref);

  object = parse_reply_text (no_daemon, &root);
  g_assert_true (reply_ok (object));
  g_assert_false (json_object_has_member (object, "id"));
  g_assert_false (json_object_get_boolean_member (object, "daemon"));
  g_clear_pointer (&root, json_node_unref);

  object = parse_reply_text (added, &root);
  g_assert_true (reply_ok (object));
  array = json_object_get_array_member (object, "ids");
  g_assert_cmpuint (json_array_get_length (array), ==, 2);
  g_assert_cmpint (json_array_get_int_element (array, 0), ==, 4);
  g_assert_cmpint (json_array_get_int_element (array, 1), ==, 17);
  g_clear_pointer (&root, json_node_unref);

  /* One line of valid UTF-8, whatever the reason was. */
  object = parse_reply_text (failed, &root);
  g_assert_cmpstr (reply_error (object), ==, "first second  third\xef\xbf\xbd");
  g_assert_false (json_object_has_member (object, "ids"));
  g_clear_pointer (&root, json_node_unref);

  /* What was added before a failure is said too. */
  object = parse_reply_text (partly, &root);
  g_assert_cmpstr (reply_error (object), ==, "no room");
  array = json_object_get_array_member (object, "ids");
  g_assert_cmpuint (json_array_get_length (array), ==, 1);
  g_clear_pointer (&root, json_node_unref);

  for (int i = 0; i < 5000; i++)
    g_string_append (long_message, "é");
  long_reply = sl_native_reply_error (NULL, long_message->str, NULL, 0);
  object = parse_reply_text (long_reply, &root);
  g_assert_cmpint (g_utf8_strlen (reply_error (object), -1), ==, 1000);
}

/* Manifests */

static void
test_manifest_build (void)
{
  for (int f = SL_BROWSER_FAMILY_MOZILLA; f <= SL_BROWSER_FAMILY_CHROMIUM; f++)
    {
      g_autofree char *text = sl_browser_manifest_build (f, "/opt/sluice/bin/sluice-browser-host");
      g_autoptr (SlBrowserManifest) manifest = NULL;
      g_autoptr (GError) error = NULL;

      manifest = sl_browser_manifest_parse (text, -1, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (manifest->name, ==, "org.sluice.browser_host");
      g_assert_cmpstr (manifest->path, ==, "/opt/sluice/bin/sluice-browser-host");
      g_assert_cmpstr (manifest->type, ==, "stdio");
      g_assert_cmpint (manifest->family, ==, f);
      g_assert_cmpuint (g_strv_length (manifest->allowed), ==, 1);
      if (f == SL_BROWSER_FAMILY_MOZILLA)
        {
          g_assert_nonnull (strstr (text, "\"allowed_extensions\""));
          g_assert_cmpstr (manifest->allowed[0], ==, "browser@sluice.org");
        }
      else
        {
          g_assert_nonnull (strstr (text, "\"allowed_origins\""));
          g_assert_cmpstr (manifest->allowed[0], ==,
                           "chrome-extension://cdhpdnmokchopihnkakdmfgkohdnogjp/");
        }
      g_assert_true (g_str_has_suffix (text, "}\n"));
    }
}

static void
test_manifest_locations (void)
{
  static const char * const user_ids[] = {
    "firefox", "librewolf", "chromium", "chrome", "edge", "brave", "vivaldi",
  };
  const SlManifestLocation *locations;
  gsize n;
  g_autofree char *firefox = NULL;
  g_autofree char *brave = NULL;
  g_autofree char *mozilla_file = NULL;

  locations = sl_manifest_locations (&n);
  g_assert_cmpuint (n, ==, 11);
  for (gsize i = 0; i < G_N_ELEMENTS (user_ids); i++)
    {
      const SlManifestLocation *location =
        sl_manifest_location_lookup (user_ids[i], SL_MANIFEST_SCOPE_USER);
      g_autofree char *dir = NULL;

      g_assert_nonnull (location);
      dir = sl_manifest_location_dir (location);
      g_assert_true (g_path_is_absolute (dir));
    }
  g_assert_null (sl_manifest_location_lookup ("brave", SL_MANIFEST_SCOPE_SYSTEM));
  g_assert_null (sl_manifest_location_lookup ("netscape", SL_MANIFEST_SCOPE_USER));

  /* Mozilla folders hang off the home folder, Chromium ones off the configuration folder. */
  firefox = sl_manifest_location_dir (sl_manifest_location_lookup ("firefox",
                                                                    SL_MANIFEST_SCOPE_USER));
  g_assert_true (g_str_has_prefix (firefox, g_get_home_dir ()));
  g_assert_true (g_str_has_suffix (firefox, "/.mozilla/native-messaging-hosts"));
  brave = sl_manifest_location_dir (sl_manifest_location_lookup ("brave",
                                                                  SL_MANIFEST_SCOPE_USER));
  g_assert_true (g_str_has_prefix (brave, g_get_user_config_dir ()));
  g_assert_true (g_str_has_suffix (brave, "/BraveSoftware/Brave-Browser/NativeMessagingHosts"));
  mozilla_file = sl_manifest_location_file (sl_manifest_location_lookup ("firefox",
                                                                          SL_MANIFEST_SCOPE_SYSTEM));
  g_assert_cmpstr (mozilla_file, ==,
                   "/usr/lib/mozilla/native-messaging-hosts/org.sluice.browser_host.json");
  for (gsize i = 0; i < n; i++)
    g_assert_cmpint (locations[i].family, ==,
                     g_str_has_prefix (locations[i].dir, "/etc") ||
                     strstr (locations[i].dir, ".config/") != NULL
                       ? SL_BROWSER_FAMILY_CHROMIUM : SL_BROWSER_FAMILY_MOZILLA);
}

typedef struct
{
  const char       *contents;   /* @HOST@ is the program, NULL for no file */
  SlManifestStatus  status;
} InspectCase;

static void
test_manifest_inspect (void)
{
  g_autoptr (GFile) tmp = sl_test_make_temp_dir ();
  g_autofree char *dir = g_build_filename (g_file_peek_path (tmp), "hosts", NULL);
  g_autofree char *program = g_build_filename (g_file_peek_path (tmp), "host", NULL);
  g_autofree char *other = g_build_filename (g_file_peek_path (tmp), "other", NULL);
  g_autofree char *link = g_build_filename (g_file_peek_path (tmp), "link", NULL);
  g_autofree char *file = NULL;
  SlManifestLocation location = { "test", "Chromium", SL_BROWSER_FAMILY_CHROMIUM,
                                  SL_MANIFEST_SCOPE_SYSTEM, dir };
  g_autoptr (GError) error = NULL;
  g_autoptr (SlBrowserManifest) manifest = NULL;
  const InspectCase cases[] = {
    { NULL, SL_MANIFEST_STATUS_MISSING },
    { "not json", SL_MANIFEST_STATUS_INVALID },
    { "[]", SL_MANIFEST_STATUS_INVALID },
    { "{\"name\":\"org.sluice.browser_host\",\"path\":\"@HOST@\",\"type\":\"stdio\"}",
      SL_MANIFEST_STATUS_INVALID },
    { "{\"name\":\"org.other\",\"path\":\"@HOST@\",\"type\":\"stdio\","
      "\"allowed_origins\":[\"chrome-extension://cdhpdnmokchopihnkakdmfgkohdnogjp/\"]}",
      SL_MANIFEST_STATUS_INVALID },
    { "{\"name\":\"org.sluice.browser_host\",\"path\":\"@HOST@\",\"type\":\"stdio\","
      "\"allowed_extensions\":[\"browser@sluice.org\"]}", SL_MANIFEST_STATUS_INVALID },
    { "{\"name\":\"org.sluice.browser_host\",\"path\":\"host\",\"type\":\"stdio\","
      "\"allowed_origins\":[\"chrome-extension://cdhpdnmokchopihnkakdmfgkohdnogjp/\"]}",
      SL_MANIFEST_STATUS_INVALID },
    { "{\"name\":\"org.sluice.browser_host\",\"path\":\"@HOST@.gone\",\"type\":\"stdio\","
      "\"allowed_origins\":[\"chrome-extension://cdhpdnmokchopihnkakdmfgkohdnogjp/\"]}",
      SL_MANIFEST_STATUS_PROGRAM_MISSING },
    { "{\"name\":\"org.sluice.browser_host\",\"path\":\"@HOST@\",\"type\":\"stdio\","
      "\"allowed_origins\":[\"chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/\"]}",
      SL_MANIFEST_STATUS_WRONG_EXTENSION },
    { "{\"name\":\"org.sluice.browser_host\",\"path\":\"@OTHER@\",\"type\":\"stdio\","
      "\"allowed_origins\":[\"chrome-extension://cdhpdnmokchopihnkakdmfgkohdnogjp/\"]}",
      SL_MANIFEST_STATUS_OTHER_PROGRAM },
    /* Through a symbolic link, it is the same program. */
    { "{\"name\":\"org.sluice.browser_host\",\"path\":\"@LINK@\",\"type\":\"stdio\","
      "\"allowed_origins\":[\"chrome-extension://cdhpdnmokchopihnkakdmfgkohdnogjp/\"]}",
      SL_MANIFEST_STATUS_OK },
  };

  g_assert_true (g_file_set_contents (program, "#!/bin/sh\n", -1, NULL));
  g_assert_cmpint (g_chmod (program, 0755), ==, 0);
  g_assert_true (g_file_set_contents (other, "#!/bin/sh\n", -1, NULL));
  g_assert_cmpint (g_chmod (other, 0755), ==, 0);
  g_assert_cmpint (symlink (program, link), ==, 0);
  file = sl_manifest_location_file (&location);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      SlManifestStatus status;

      g_unlink (file);
      if (cases[i].contents != NULL)
        {
          g_auto (GStrv) host_parts = g_strsplit (cases[i].contents, "@HOST@", -1);
          g_autofree char *with_host = g_strjoinv (program, host_parts);
          g_auto (GStrv) other_parts = g_strsplit (with_host, "@OTHER@", -1);
          g_autofree char *with_other = g_strjoinv (other, other_parts);
          g_auto (GStrv) link_parts = g_strsplit (with_other, "@LINK@", -1);
          g_autofree char *text = g_strjoinv (link, link_parts);

          g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
          g_assert_true (g_file_set_contents (file, text, -1, NULL));
        }

      g_test_message ("inspect: %s", cases[i].contents ? cases[i].contents : "(no file)");
      status = sl_browser_manifest_inspect (&location, program, NULL, &error);
      g_assert_cmpint (status, ==, cases[i].status);
      if (status == SL_MANIFEST_STATUS_INVALID)
        {
          g_assert_nonnull (error);
          g_assert_null (strchr (error->message, '\n'));
        }
      else
        g_assert_no_error (error);
      g_clear_error (&error);
      g_assert_nonnull (sl_manifest_status_describe (status));
    }

  /* What sluicectl browser install writes is what --diagnose finds good, in a folder that
   * does not exist yet. */
  g_unlink (file);
  g_rmdir (dir);
  g_assert_true (sl_browser_manifest_write (&location, program, &error));
  g_assert_no_error (error);
  g_assert_cmpint (sl_browser_manifest_inspect (&location, program, &manifest, &error), ==,
                   SL_MANIFEST_STATUS_OK);
  g_assert_cmpstr (manifest->path, ==, program);
  g_assert_cmpint (sl_browser_manifest_inspect (&location, NULL, NULL, &error), ==,
                   SL_MANIFEST_STATUS_OK);
  g_assert_cmpint (sl_browser_manifest_inspect (&location, other, NULL, &error), ==,
                   SL_MANIFEST_STATUS_OTHER_PROGRAM);

  sl_test_rm_rf (tmp);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/browser-host/frame/table", test_frame_table);
  g_test_add_func ("/browser-host/frame/content", test_frame_content);
  g_test_add_func ("/browser-host/request/refused", test_request_refused);
  g_test_add_func ("/browser-host/request/bytes", test_request_bytes);
  g_test_add_func ("/browser-host/request/accepted", test_request_accepted);
  g_test_add_func ("/browser-host/request/cookies", test_request_cookies);
  g_test_add_func ("/browser-host/reply", test_replies);
  g_test_add_func ("/browser-host/manifest/build", test_manifest_build);
  g_test_add_func ("/browser-host/manifest/locations", test_manifest_locations);
  g_test_add_func ("/browser-host/manifest/inspect", test_manifest_inspect);

  return g_test_run ();
}
