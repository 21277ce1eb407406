/* test-segmented.c
 *
 * Segmented downloads against the real test server, whose /segments path misbehaves on the
 * requests of the extra connections only: drops, a 200 to a later range, an entity that
 * changes between segments, a shifted Content-Range, short 206s, a cap on connections and a
 * connection that crawls. In every case the file is the entity, byte for byte, or the download
 * fails cleanly; nothing unverified is spliced in.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "sl-download.h"
#include "sl-resume-data.h"
#include "sl-test-server.h"
#include "sl-test-utils.h"

#define WAIT_MS   (60 * 1000)
#define SIZE      (8 * 1024 * 1024)
/* Per connection: one alone would take 4 s, four about 1 s. */
#define RATE      "2000000"

typedef struct
{
  SlTestServer *server;
  SoupSession  *session;
  GFile        *dir;
  char         *dir_path;
} Fixture;

typedef struct
{
  SlDownload *download;
  gboolean    done;
  GError     *error;
  guint       restarts;
  gint64      last_bytes;
  gboolean    went_back;
} Watch;

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  fixture->server = sl_test_server_new ();
  /* libsoup 3.2 takes 2 connections to a host unless told otherwise. */
  fixture->session = soup_session_new_with_options ("max-conns", 64, "max-conns-per-host", 32,
                                                    NULL);
  fixture->dir = sl_test_make_temp_dir ();
  fixture->dir_path = g_file_get_path (fixture->dir);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  g_object_unref (fixture->session);
  sl_test_server_quit_unref (fixture->server);
  sl_test_rm_rf (fixture->dir);
  g_object_unref (fixture->dir);
  g_free (fixture->dir_path);
}

static void
on_completed (SlDownload   *download,
              const GError *error,
              Watch        *watch)
{
  g_assert_false (watch->done);
  watch->done = TRUE;
  if (error != NULL)
    {
      g_test_message ("completed with: %s", error->message);
      g_assert_null (strchr (error->message, '\n'));
      watch->error = g_error_copy (error);
    }
}

static void
on_restarted (SlDownload *download,
              const char *reason,
              Watch      *watch)
{
  g_test_message ("restarted: %s", reason);
  watch->restarts++;
  watch->last_bytes = 0;
}

static void
on_bytes (SlDownload *download,
          GParamSpec *pspec,
          Watch      *watch)
{
  gint64 bytes = sl_download_get_bytes_received (download);

  if (bytes < watch->last_bytes)
    watch->went_back = TRUE;
  watch->last_bytes = bytes;
}

static void
watch_init (Watch      *watch,
            SlDownload *download)
{
  memset (watch, 0, sizeof *watch);
  watch->download = download;
  watch->last_bytes = sl_download_get_bytes_received (download);
  g_signal_connect (download, "completed", G_CALLBACK (on_completed), watch);
  g_signal_connect (download, "restarted", G_CALLBACK (on_restarted), watch);
  g_signal_connect (download, "notify::bytes-received", G_CALLBACK (on_bytes), watch);
}

static void
watch_clear (Watch *watch)
{
  g_signal_handlers_disconnect_by_data (watch->download, watch);
  g_clear_error (&watch->error);
}

static gboolean
watch_done (gpointer data)
{
  return ((Watch *) data)->done;
}

static SlDownload *
new_download (Fixture    *fixture,
              const char *query,
              guint       connections)
{
  g_autofree char *path = g_strdup_printf ("/segments?size=%d&seed=5&rate=" RATE "%s", SIZE,
                                           query);
  g_autofree char *url = sl_test_server_url (fixture->server, path);
  g_autoptr (GError) error = NULL;
  SlDownload *download = sl_download_new (fixture->session, url, &error);

  g_assert_no_error (error);
  sl_download_set_directory (download, fixture->dir);
  sl_download_set_filename (download, "file");
  sl_download_set_retry_delay (download, 20);
  sl_download_set_stall_timeout (download, 2);
  sl_download_set_max_connections (download, connections);
  return download;
}

/* Runs @download to its end, and checks that the file is the entity of @seed. */
static void
run_to_entity (Fixture    *fixture,
               SlDownload *download,
               Watch      *watch,
               guint32     seed)
{
  g_autofree char *path = g_build_filename (fixture->dir_path, "file", NULL);
  const char *listing[] = { "file", NULL };

  sl_download_start (download);
  sl_test_wait_until (NULL, watch_done, watch, WAIT_MS);
  g_assert_no_error (watch->error);
  g_assert_cmpint (sl_download_get_state (download), ==, SL_DOWNLOAD_STATE_COMPLETED);
  g_assert_cmpint (sl_download_get_bytes_received (download), ==, SIZE);
  g_assert_false (watch->went_back);
  sl_test_assert_file_is_entity (path, seed, SIZE);
  sl_test_assert_dir_is (fixture->dir, listing);
}

/* The first request asks for "bytes=0-"; once its 206 proves the server splits, the other
 * connections ask for parts with If-Range, and there are as many at once as allowed. */
static void
test_basic (Fixture       *fixture,
            gconstpointer  data)
{
  SlDownload *download = new_download (fixture, "", 4);
  g_autoptr (GPtrArray) requests = NULL;
  SlTestRequest *first;
  Watch watch;

  watch_init (&watch, download);
  run_to_entity (fixture, download, &watch, 5);
  g_assert_cmpuint (watch.restarts, ==, 0);

  requests = sl_test_server_requests (fixture->server, "/segments");
  g_assert_cmpuint (requests->len, >=, 4);
  first = requests->pdata[0];
  g_assert_cmpstr (first->range, ==, "bytes=0-");
  g_assert_null (first->if_range);
  for (guint i = 1; i < requests->len; i++)
    {
      SlTestRequest *request = requests->pdata[i];

      g_assert_nonnull (request->range);
      g_assert_cmpstr (request->if_range, ==, "\"e5-8388608\"");
      sl_assert_status (request->status, 206);
    }
  /* Several at once. (The server counts a connection cut short until it notices, so it may
   * see more than four for a moment.) */
  g_assert_cmpuint (sl_test_server_max_concurrent (fixture->server), >=, 3);

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

/* With one connection allowed, nothing changes: one plain request. */
static void
test_one_connection (Fixture       *fixture,
                     gconstpointer  data)
{
  SlDownload *download = new_download (fixture, "&rate=0", 1);
  g_autoptr (GPtrArray) requests = NULL;
  Watch watch;

  watch_init (&watch, download);
  run_to_entity (fixture, download, &watch, 5);
  requests = sl_test_server_requests (fixture->server, "/segments");
  g_assert_cmpuint (requests->len, ==, 1);
  g_assert_null (((SlTestRequest *) requests->pdata[0])->range);

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

typedef struct
{
  const char *query;
  guint       restarts;
  guint32     seed;          /* of the entity the file must be */
  guint       max_streams;   /* the most at once the server may see, 0: any */
  guint       seen_status;   /* a status the server must have answered, 0: none */
} FaultCase;

/* A fault on the extra connections: the file is still the entity, byte for byte. */
static void
test_fault (Fixture       *fixture,
            gconstpointer  data)
{
  const FaultCase *fault = data;
  SlDownload *download = new_download (fixture, fault->query, 4);
  g_autoptr (GPtrArray) requests = NULL;
  Watch watch;

  watch_init (&watch, download);
  run_to_entity (fixture, download, &watch, fault->seed);
  g_assert_cmpuint (watch.restarts, ==, fault->restarts);
  if (fault->max_streams > 0)
    g_assert_cmpuint (sl_test_server_max_concurrent (fixture->server), <=, fault->max_streams);

  /* The fault did happen, and more than one connection was at work. */
  requests = sl_test_server_requests (fixture->server, "/segments");
  g_assert_cmpuint (requests->len, >=, 2);
  if (fault->seen_status != 0)
    {
      gboolean seen = FALSE;

      for (guint i = 0; i < requests->len; i++)
        seen |= ((SlTestRequest *) requests->pdata[i])->status == fault->seen_status;
      g_assert_true (seen);
    }

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

static const FaultCase drop = { "&fault=drop&times=3", 0, 5 };
static const FaultCase ignore = { "&fault=ignore", 0, 5, 0, 200 };
static const FaultCase shift = { "&fault=shift", 0, 5 };
static const FaultCase short_206 = { "&fault=short&times=0", 0, 5 };
static const FaultCase slow = { "&fault=slow&slow=50000", 0, 5 };
static const FaultCase cap = { "&fault=cap&conns=2", 0, 5, 2, 503 };
/* The entity changes after the first request: the download starts over once, and the file
 * is the new entity, not a splice of both. */
static const FaultCase etag = { "&fault=etag&requests=1", 1, 6 };

static gboolean
half_done (gpointer data)
{
  Watch *watch = data;

  return watch->done || sl_download_get_bytes_received (watch->download) >= SIZE / 2;
}

static void
on_paused (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  GBytes **resume_data = user_data;
  g_autoptr (GError) error = NULL;

  *resume_data = sl_download_pause_finish (SL_DOWNLOAD (object), result, &error);
  g_assert_no_error (error);
}

static gboolean
is_set (gpointer data)
{
  return *(GBytes **) data != NULL;
}

/* Paused with four connections at work, every byte they wrote is in the resume data, holes
 * and all; a new download from it fetches only what is missing. */
static void
test_pause_resume (Fixture       *fixture,
                   gconstpointer  data)
{
  SlDownload *download = new_download (fixture, "", 4);
  g_autoptr (GBytes) resume_data = NULL;
  g_autoptr (SlResumeData) parsed = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) requests = NULL;
  gint64 received;
  guint before;
  Watch watch;

  watch_init (&watch, download);
  sl_download_start (download);
  sl_test_wait_until (NULL, half_done, &watch, WAIT_MS);
  g_assert_false (watch.done);
  sl_download_pause_async (download, NULL, on_paused, &resume_data);
  sl_test_wait_until (NULL, is_set, &resume_data, WAIT_MS);

  received = sl_download_get_bytes_received (download);
  parsed = sl_resume_data_parse (resume_data, &error);
  g_assert_no_error (error);
  g_assert_cmpint (parsed->received, ==, received);
  g_assert_cmpint (parsed->received, <, SIZE);
  {
    g_autofree char *map = sl_segment_map_to_string (parsed->done);

    g_test_message ("paused with %s", map);
  }
  watch_clear (&watch);
  g_assert_finalize_object (download);

  before = sl_test_server_request_count (fixture->server, "/segments");
  sl_test_server_reset_counts (fixture->server);
  download = sl_download_new_from_resume_data (fixture->session, resume_data, &error);
  g_assert_no_error (error);
  sl_download_set_max_connections (download, 4);
  g_assert_cmpint (sl_download_get_bytes_received (download), ==, received);
  watch_init (&watch, download);
  run_to_entity (fixture, download, &watch, 5);
  g_assert_cmpuint (watch.restarts, ==, 0);

  /* Only the missing bytes came again, give or take what connections cut short had sent. */
  requests = sl_test_server_requests (fixture->server, "/segments");
  g_assert_cmpuint (requests->len, >=, 1);
  g_assert_cmpuint (before, >=, 2);
  for (guint i = 0; i < requests->len; i++)
    sl_assert_status (((SlTestRequest *) requests->pdata[i])->status, 206);

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

/* A paused download with holes given a new link to the same entity (another path of the
 * server) goes on there with its connections, and fetches only what it did not have. */
static void
test_refresh_keeps_parts (Fixture       *fixture,
                          gconstpointer  data)
{
  SlDownload *download = new_download (fixture, "", 4);
  g_autofree char *path = NULL;
  g_autofree char *other = NULL;
  g_autoptr (GBytes) resume_data = NULL;
  g_autoptr (GError) error = NULL;
  gint64 received;
  Watch watch;

  watch_init (&watch, download);
  sl_download_start (download);
  sl_test_wait_until (NULL, half_done, &watch, WAIT_MS);
  sl_download_pause_async (download, NULL, on_paused, &resume_data);
  sl_test_wait_until (NULL, is_set, &resume_data, WAIT_MS);
  received = sl_download_get_bytes_received (download);
  g_assert_cmpint (received, <, SIZE);
  {
    g_autoptr (SlResumeData) parsed = sl_resume_data_parse (resume_data, &error);
    g_autofree char *map = sl_segment_map_to_string (parsed->done);

    g_test_message ("paused with %s", map);
  }

  path = g_strdup_printf ("/file?size=%d&seed=5&rate=" RATE, SIZE);
  other = sl_test_server_url (fixture->server, path);
  sl_download_refresh_link (download, other, &error);
  g_assert_no_error (error);
  sl_test_server_reset_counts (fixture->server);
  run_to_entity (fixture, download, &watch, 5);
  g_assert_cmpuint (watch.restarts, ==, 0);
  g_assert_cmpuint (sl_test_server_request_count (fixture->server, "/segments"), ==, 0);
  g_assert_cmpuint (sl_test_server_request_count (fixture->server, "/file"), >=, 2);
  /* What it had was not fetched again: the rest, and what cut requests had sent. */
  g_test_message ("%" G_GINT64_FORMAT " kept, %" G_GUINT64_FORMAT " fetched after", received,
                  sl_test_server_bytes_sent (fixture->server));
  g_assert_cmpuint (sl_test_server_bytes_sent (fixture->server), <=, SIZE - received + SIZE / 4);

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

/* Segments land out of order, so the digest reads back what it did not see extend the first
 * bytes, before and after a pause with holes in the file; a wrong digest fails the download
 * and keeps its bytes. */
static void
test_checksum (Fixture       *fixture,
               gconstpointer  data)
{
  g_autofree char *good = sl_test_entity_sha256 (5, SIZE);
  g_autofree char *spec = g_strconcat ("sha256=", good, NULL);
  g_autofree char *bad = g_strdup (good);
  g_autofree char *bad_spec = NULL;
  g_autofree char *path = g_build_filename (fixture->dir_path, "file", NULL);
  g_autofree char *partial = g_build_filename (fixture->dir_path, "file.part", NULL);
  const char *kept[] = { "file.part", NULL };
  g_autoptr (GBytes) resume_data = NULL;
  g_autoptr (GError) error = NULL;
  SlDownload *download = new_download (fixture, "", 4);
  Watch watch;

  g_assert_true (sl_download_set_checksum (download, spec, &error));
  g_assert_no_error (error);
  watch_init (&watch, download);
  sl_download_start (download);
  sl_test_wait_until (NULL, half_done, &watch, WAIT_MS);
  sl_download_pause_async (download, NULL, on_paused, &resume_data);
  sl_test_wait_until (NULL, is_set, &resume_data, WAIT_MS);
  watch_clear (&watch);
  g_assert_finalize_object (download);

  download = sl_download_new_from_resume_data (fixture->session, resume_data, &error);
  g_assert_no_error (error);
  sl_download_set_max_connections (download, 4);
  g_assert_true (sl_download_set_checksum (download, spec, &error));
  watch_init (&watch, download);
  run_to_entity (fixture, download, &watch, 5);
  g_assert_cmpuint (watch.restarts, ==, 0);
  watch_clear (&watch);
  g_assert_finalize_object (download);
  g_assert_cmpint (g_unlink (path), ==, 0);

  bad[0] = bad[0] == '0' ? '1' : '0';
  bad_spec = g_strconcat ("sha256=", bad, NULL);
  download = new_download (fixture, "", 4);
  g_assert_true (sl_download_set_checksum (download, bad_spec, &error));
  watch_init (&watch, download);
  sl_download_start (download);
  sl_test_wait_until (NULL, watch_done, &watch, WAIT_MS);
  g_assert_error (watch.error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_CHECKSUM);
  g_assert_nonnull (strstr (watch.error->message, good));
  g_assert_nonnull (strstr (watch.error->message, bad));
  sl_test_assert_dir_is (fixture->dir, kept);
  sl_test_assert_file_is_entity (partial, 5, SIZE);
  watch_clear (&watch);
  g_assert_finalize_object (download);
}

/* A speed limit holds over all the connections together: the download takes at least as long
 * as the limit allows (less the one burst a bucket starts with); lifted while it runs, the
 * rest comes at full speed. */
static void
test_limited (Fixture       *fixture,
              gconstpointer  data)
{
  guint connections = GPOINTER_TO_UINT (data);
  SlDownload *download = new_download (fixture, "&rate=0", connections);
  double rate = 4 * 1000 * 1000;
  double least_s = (SIZE / 2 - rate / 20) / rate;
  gint64 started, took;
  Watch watch;

  sl_download_set_speed_limit (download, (guint64) rate);
  g_assert_cmpuint (sl_download_get_speed_limit (download), ==, (guint64) rate);
  watch_init (&watch, download);
  started = g_get_monotonic_time ();
  sl_download_start (download);
  sl_test_wait_until (NULL, half_done, &watch, WAIT_MS);
  took = g_get_monotonic_time () - started;
  g_test_message ("half of %d bytes in %.2f s", SIZE, took / 1e6);
  g_assert_cmpfloat (took / 1e6, >=, least_s);

  sl_download_set_speed_limit (download, 0);
  sl_test_wait_until (NULL, watch_done, &watch, WAIT_MS);
  g_assert_no_error (watch.error);
  {
    g_autofree char *path = g_build_filename (fixture->dir_path, "file", NULL);

    sl_test_assert_file_is_entity (path, 5, SIZE);
  }

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

/* Under a speed limit, even a download given eight connections opens only as many as the limit
 * needs: two of 2 MB/s for 4 MB/s. Lifted, it opens the rest. */
static void
test_limit_needs (Fixture       *fixture,
                  gconstpointer  data)
{
  SlDownload *download = new_download (fixture, "", 8);
  Watch watch;

  sl_download_set_speed_limit (download, 4 * 1000 * 1000);
  watch_init (&watch, download);
  sl_download_start (download);
  sl_test_wait_until (NULL, half_done, &watch, WAIT_MS);
  g_test_message ("at most %u at once under the limit",
                  sl_test_server_max_concurrent (fixture->server));
  g_assert_cmpuint (sl_test_server_max_concurrent (fixture->server), >=, 2);
  g_assert_cmpuint (sl_test_server_max_concurrent (fixture->server), <=, 3);

  sl_download_set_speed_limit (download, 0);
  sl_test_wait_until (NULL, watch_done, &watch, WAIT_MS);
  g_assert_no_error (watch.error);
  g_assert_cmpuint (sl_test_server_max_concurrent (fixture->server), >=, 6);
  {
    g_autofree char *path = g_build_filename (fixture->dir_path, "file", NULL);

    sl_test_assert_file_is_entity (path, 5, SIZE);
  }

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

/* Adaptive: against a server that caps each connection, the download adds connections while
 * they pay, beyond two; under a speed limit that one connection reaches, it keeps to one. */
static void
test_adaptive (Fixture       *fixture,
               gconstpointer  data)
{
  gboolean limited = GPOINTER_TO_INT (data);
  SlDownload *download = new_download (fixture, "", 1);
  g_autoptr (GPtrArray) requests = NULL;
  Watch watch;

  sl_download_set_adaptive_connections (download, 8);
  if (limited)
    sl_download_set_speed_limit (download, 1000 * 1000);
  watch_init (&watch, download);
  run_to_entity (fixture, download, &watch, 5);

  requests = sl_test_server_requests (fixture->server, "/segments");
  g_assert_cmpstr (((SlTestRequest *) requests->pdata[0])->range, ==, "bytes=0-");
  if (limited)
    g_assert_cmpuint (requests->len, ==, 1);
  else
    g_assert_cmpuint (sl_test_server_max_concurrent (fixture->server), >=, 4);

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

/* One connection that crawls hands its part on after five seconds far below the others,
 * rather than keep the download waiting for it: at 5 kB/s, its last 64 KiB alone would take
 * thirteen seconds. */
static void
test_slow_handed_on (Fixture       *fixture,
                     gconstpointer  data)
{
  SlDownload *download = new_download (fixture, "&fault=slow&slow=5000", 4);
  gint64 started = g_get_monotonic_time ();
  Watch watch;

  watch_init (&watch, download);
  run_to_entity (fixture, download, &watch, 5);
  g_test_message ("took %.1f s", (g_get_monotonic_time () - started) / 1e6);
  g_assert_cmpint (g_get_monotonic_time () - started, <, 12 * G_USEC_PER_SEC);

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func, data) \
  g_test_add ("/segmented/" name, Fixture, data, fixture_setup, func, fixture_teardown)

  ADD ("basic", test_basic, NULL);
  ADD ("one-connection", test_one_connection, NULL);
  ADD ("drop", test_fault, &drop);
  ADD ("ignore-range", test_fault, &ignore);
  ADD ("shifted-range", test_fault, &shift);
  ADD ("short-206", test_fault, &short_206);
  ADD ("slow-connection", test_fault, &slow);
  ADD ("slow-handed-on", test_slow_handed_on, NULL);
  ADD ("connection-cap", test_fault, &cap);
  ADD ("entity-changes", test_fault, &etag);
  ADD ("pause-resume", test_pause_resume, NULL);
  ADD ("refresh-keeps-parts", test_refresh_keeps_parts, NULL);
  ADD ("checksum", test_checksum, NULL);
  ADD ("adaptive", test_adaptive, GINT_TO_POINTER (FALSE));
  ADD ("adaptive-limited", test_adaptive, GINT_TO_POINTER (TRUE));
  ADD ("limited", test_limited, GUINT_TO_POINTER (1));
  ADD ("limited-segments", test_limited, GUINT_TO_POINTER (4));
  ADD ("limit-needs", test_limit_needs, NULL);

  return g_test_run ();
}
