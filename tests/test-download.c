/* test-download.c
 *
 * The download engine against a real HTTP server on 127.0.0.1 that drops connections, ignores
 * ranges, changes the entity, lies about lengths, stalls, redirects and fails. For each
 * behaviour: the final file is exactly the served entity, or the download fails with the right
 * error kind and nothing is left under the final name.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "sl-download.h"
#include "sl-resume-data.h"
#include "sl-test-server.h"
#include "sl-test-utils.h"

#define WAIT_MS (60 * 1000)

typedef struct
{
  SlTestServer *server;
  GFile        *dir;
  char         *dir_path;
} Fixture;

/* Everything a download said while it ran. */
typedef struct
{
  SlDownload *download;
  gboolean    done;
  GError     *error;
  gint64      last_total;
  gint64      step_sum;
  gboolean    progress_went_back;
  guint       data_events;
  guint       byte_notifies;
  guint       restarts;
  guint       checkpoints;
  guint       finished;
  guint       waiting;
  gint64      started_us;
} Watch;

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  fixture->server = sl_test_server_new ();
  fixture->dir = sl_test_make_temp_dir ();
  fixture->dir_path = g_file_get_path (fixture->dir);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  sl_test_server_quit_unref (fixture->server);
  sl_test_rm_rf (fixture->dir);
  g_object_unref (fixture->dir);
  g_free (fixture->dir_path);
}

static void
on_data_written (SlDownload *download,
                 gint64      step,
                 gint64      total_written,
                 gint64      total_expected,
                 Watch      *watch)
{
  if (total_written < watch->last_total || step <= 0)
    watch->progress_went_back = TRUE;
  watch->last_total = total_written;
  watch->step_sum += step;
  watch->data_events++;
}

static void
on_bytes_notify (SlDownload *download,
                 GParamSpec *pspec,
                 Watch      *watch)
{
  watch->byte_notifies++;
}

static void
on_state_notify (SlDownload *download,
                 GParamSpec *pspec,
                 Watch      *watch)
{
  if (sl_download_get_state (download) == SL_DOWNLOAD_STATE_WAITING)
    watch->waiting++;
}

static void
on_restarted (SlDownload *download,
              const char *reason,
              Watch      *watch)
{
  g_test_message ("restarted: %s", reason);
  g_assert_null (strchr (reason, '\n'));
  watch->restarts++;
  /* Starting over resets the running total. */
  watch->last_total = 0;
  watch->step_sum = 0;
}

static void
on_checkpoint (SlDownload *download,
               GBytes     *resume_data,
               Watch      *watch)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SlResumeData) data = sl_resume_data_parse (resume_data, &error);

  g_assert_no_error (error);
  g_assert_cmpint (data->received, <=, sl_download_get_bytes_received (download));
  watch->checkpoints++;
}

static void
on_finished (SlDownload *download,
             GFile      *file,
             Watch      *watch)
{
  g_assert_true (G_IS_FILE (file));
  watch->finished++;
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
watch_init (Watch      *watch,
            SlDownload *download)
{
  memset (watch, 0, sizeof *watch);
  watch->download = download;
  watch->started_us = g_get_monotonic_time ();
  g_signal_connect (download, "data-written", G_CALLBACK (on_data_written), watch);
  g_signal_connect (download, "notify::bytes-received", G_CALLBACK (on_bytes_notify), watch);
  g_signal_connect (download, "notify::state", G_CALLBACK (on_state_notify), watch);
  g_signal_connect (download, "restarted", G_CALLBACK (on_restarted), watch);
  g_signal_connect (download, "checkpoint", G_CALLBACK (on_checkpoint), watch);
  g_signal_connect (download, "finished", G_CALLBACK (on_finished), watch);
  g_signal_connect (download, "completed", G_CALLBACK (on_completed), watch);
}

static void
watch_clear (Watch *watch)
{
  if (watch->download != NULL)
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
              const char *path_and_query)
{
  g_autofree char *url = sl_test_server_url (fixture->server, path_and_query);
  g_autoptr (GError) error = NULL;
  SlDownload *download = sl_download_new (NULL, url, &error);

  g_assert_no_error (error);
  sl_download_set_directory (download, fixture->dir);
  /* Failures here are deliberate: retry them quickly. */
  sl_download_set_retry_delay (download, 20);
  sl_download_set_stall_timeout (download, 1);
  return download;
}

static void
run (Watch *watch)
{
  sl_download_start (watch->download);
  sl_test_wait_until (NULL, watch_done, watch, WAIT_MS);
}

static char *
dir_file (Fixture    *fixture,
          const char *name)
{
  return g_build_filename (fixture->dir_path, name, NULL);
}

static void
assert_completed (Watch *watch,
                  gsize  size)
{
  g_assert_no_error (watch->error);
  g_assert_cmpint (sl_download_get_state (watch->download), ==, SL_DOWNLOAD_STATE_COMPLETED);
  g_assert_cmpint (sl_download_get_error_kind (watch->download), ==, SL_ERROR_KIND_NONE);
  g_assert_cmpint (sl_download_get_bytes_received (watch->download), ==, size);
  g_assert_cmpint (sl_download_get_bytes_total (watch->download), ==, size);
  g_assert_false (watch->progress_went_back);
  g_assert_cmpint (watch->last_total, ==, size);
  g_assert_cmpuint (watch->finished, ==, 1);
  g_assert_nonnull (sl_download_get_destination (watch->download));
  g_assert_null (sl_download_get_partial_file (watch->download));
}

static void
assert_failed (Watch       *watch,
               SlErrorKind  kind,
               int          code)
{
  g_assert_nonnull (watch->error);
  g_assert_error (watch->error, SL_DOWNLOAD_ERROR, code);
  g_assert_cmpint (sl_download_get_state (watch->download), ==, SL_DOWNLOAD_STATE_FAILED);
  g_assert_cmpint (sl_download_get_error_kind (watch->download), ==, kind);
  g_assert_cmpuint (watch->finished, ==, 0);
  g_assert_null (sl_download_get_destination (watch->download));
}

/* Downloads @path_and_query and checks the result is entity (seed, size) under @name. */
static void
check_complete (Fixture    *fixture,
                const char *path_and_query,
                const char *name,
                guint32     seed,
                gsize       size,
                guint       restarts)
{
  SlDownload *download = new_download (fixture, path_and_query);
  g_autofree char *path = dir_file (fixture, name);
  const char *listing[] = { name, NULL };
  Watch watch;

  watch_init (&watch, download);
  run (&watch);
  assert_completed (&watch, size);
  g_assert_cmpuint (watch.restarts, ==, restarts);
  sl_test_assert_file_is_entity (path, seed, size);
  sl_test_assert_dir_is (fixture->dir, listing);

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

static void
test_basic (Fixture       *fixture,
            gconstpointer  data)
{
  gsize size = 3 * 1024 * 1024 + 17;
  g_autofree char *query = g_strdup_printf ("/file?size=%" G_GSIZE_FORMAT "&seed=7", size);
  SlDownload *download = new_download (fixture, query);
  g_autofree char *path = dir_file (fixture, "file");
  const char *listing[] = { "file", NULL };
  g_autoptr (GPtrArray) requests = NULL;
  Watch watch;

  watch_init (&watch, download);
  run (&watch);

  assert_completed (&watch, size);
  sl_test_assert_file_is_entity (path, 7, size);
  sl_test_assert_dir_is (fixture->dir, listing);
  g_assert_cmpint (watch.step_sum, ==, size);
  g_assert_cmpuint (sl_download_get_http_status (download), ==, 200);
  g_assert_cmpstr (sl_download_get_filename (download), ==, "file");
  g_assert_cmpint (sl_download_get_speed (download), ==, 0);

  requests = sl_test_server_requests (fixture->server, "/file");
  g_assert_cmpuint (requests->len, ==, 1);
  g_assert_null (((SlTestRequest *) requests->pdata[0])->range);

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

static void
test_empty (Fixture       *fixture,
            gconstpointer  data)
{
  check_complete (fixture, "/file?size=0", "file", 1, 0, 0);
}

static void
test_no_overwrite (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autofree char *existing = dir_file (fixture, "file");
  g_autofree char *existing_part = dir_file (fixture, "file (1).part");
  g_autofree char *second = dir_file (fixture, "file (2)");
  g_autofree char *contents = NULL;
  const char *listing[] = { "file", "file (1).part", "file (2)", NULL };
  SlDownload *download;
  Watch watch;

  /* A file and a stranger's partial file are both left alone. */
  g_assert_true (g_file_set_contents (existing, "mine", -1, NULL));
  g_assert_true (g_file_set_contents (existing_part, "theirs", -1, NULL));

  download = new_download (fixture, "/file?size=1000");
  watch_init (&watch, download);
  run (&watch);

  assert_completed (&watch, 1000);
  sl_test_assert_file_is_entity (second, 1, 1000);
  sl_test_assert_dir_is (fixture->dir, listing);
  g_assert_true (g_file_get_contents (existing, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "mine");
  g_assert_cmpstr (sl_download_get_filename (download), ==, "file (2)");

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

/* Puts the first @length bytes of entity (@seed, @size) in @name, as a crash would leave them. */
static void
write_prefix (Fixture    *fixture,
              const char *name,
              guint32     seed,
              gsize       size,
              gsize       length)
{
  g_autofree char *path = dir_file (fixture, name);
  g_autoptr (GBytes) entity = sl_test_entity (seed, size);
  g_autoptr (GError) error = NULL;

  g_file_set_contents (path, g_bytes_get_data (entity, NULL), length, &error);
  g_assert_no_error (error);
}

/* Downloads @query into "adopt.bin" over a partial file already there, and checks the ranges
 * the server was asked for after the first answer. */
static void
check_adoption (Fixture     *fixture,
                const char  *query,
                guint32      seed,
                gsize        size,
                guint        restarts,
                const char * const *ranges)
{
  SlDownload *download = new_download (fixture, query);
  g_autofree char *path = dir_file (fixture, "adopt.bin");
  const char *listing[] = { "adopt.bin", NULL };
  g_autoptr (GPtrArray) requests = NULL;
  g_autofree char *server_path = g_strndup (query, strcspn (query, "?"));
  guint n = g_strv_length ((char **) ranges);
  Watch watch;

  sl_download_set_filename (download, "adopt.bin");
  watch_init (&watch, download);
  run (&watch);

  assert_completed (&watch, size);
  sl_test_assert_file_is_entity (path, seed, size);
  sl_test_assert_dir_is (fixture->dir, listing);
  g_assert_cmpuint (watch.restarts, ==, restarts);

  requests = sl_test_server_requests (fixture->server, server_path);
  g_assert_cmpuint (requests->len, ==, n + 1);
  g_assert_null (((SlTestRequest *) requests->pdata[0])->range);
  for (guint i = 0; i < n; i++)
    g_assert_cmpstr (((SlTestRequest *) requests->pdata[i + 1])->range, ==,
                     *ranges[i] ? ranges[i] : NULL);

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

/* Partial files left without resume data, and what becomes of them. */
typedef struct
{
  const char *name;
  guint32     seed;         /* of the bytes already there */
  gsize       size;         /* of the entity they come from */
  gsize       length;       /* how many there are */
  const char *query;        /* what is downloaded: entity seed 5 */
  gsize       served_size;
  guint       restarts;
  const char *ranges[3];    /* asked for after the first answer; "" for none */
} Adoption;

static const Adoption adoptions[] = {
  /* 300000 bytes there: the rest is asked for with 64 KiB of overlap, which matches. */
  { "matching", 5, 1048576, 300000, "/file?size=1048576&seed=5", 1048576, 0,
    { "bytes=234464-", NULL } },
  /* Shorter than the overlap: all of it is compared. */
  { "small", 5, 100000, 1000, "/file?size=100000&seed=5", 100000, 0, { "bytes=0-", NULL } },
  /* The whole file is there: the overlap is all that comes, and it is complete. */
  { "complete", 5, 100000, 100000, "/file?size=100000&seed=5", 100000, 0,
    { "bytes=34464-", NULL } },
  /* Another file's bytes: they never become part of this one. */
  { "differs", 6, 1048576, 300000, "/file?size=1048576&seed=5", 1048576, 1,
    { "bytes=234464-", "", NULL } },
  /* Longer than the file on the server: the first answer replaces it. */
  { "longer", 5, 200000, 200000, "/file?size=100000&seed=5", 100000, 1, { NULL } },
  /* A server that answers the overlap with the whole file: start over. */
  { "no-ranges", 5, 1048576, 300000, "/ignore-range?size=1048576&seed=5&cl=1", 1048576, 1,
    { "bytes=234464-", "", NULL } },
};

static void
test_adoption (Fixture       *fixture,
               gconstpointer  data)
{
  const Adoption *adoption = data;

  write_prefix (fixture, "adopt.bin.part", adoption->seed, adoption->size, adoption->length);
  check_adoption (fixture, adoption->query, 5, adoption->served_size, adoption->restarts,
                  adoption->ranges);
}

static void
test_explicit_name (Fixture       *fixture,
                    gconstpointer  data)
{
  SlDownload *download = new_download (fixture,
                                       "/disposition?size=100&cd=attachment%3B%20filename%3Dcd.txt");
  g_autofree char *path = dir_file (fixture, "chosen.bin");
  const char *listing[] = { "chosen.bin", NULL };
  Watch watch;

  /* A name the user chose wins over the server's. */
  sl_download_set_filename (download, "chosen.bin");
  watch_init (&watch, download);
  run (&watch);

  assert_completed (&watch, 100);
  sl_test_assert_file_is_entity (path, 1, 100);
  sl_test_assert_dir_is (fixture->dir, listing);

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

typedef struct
{
  Watch  *watch;
  gint64  target;
} Progress;

static gboolean
reached (gpointer data)
{
  Progress *progress = data;

  return progress->watch->done ||
         sl_download_get_bytes_received (progress->watch->download) >= progress->target;
}

typedef struct
{
  GBytes   *resume_data;
  gboolean  returned;
} PauseResult;

static void
on_paused (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  PauseResult *out = user_data;
  g_autoptr (GError) error = NULL;

  out->resume_data = sl_download_pause_finish (SL_DOWNLOAD (object), result, &error);
  out->returned = TRUE;

  /* A pause asked for while the last bytes were being renamed into place comes too late. */
  if (out->resume_data == NULL)
    {
      g_assert_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_ARGUMENT);
      g_assert_cmpint (sl_download_get_state (SL_DOWNLOAD (object)), ==,
                       SL_DOWNLOAD_STATE_COMPLETED);
    }
}

static gboolean
pause_returned (gpointer data)
{
  return ((PauseResult *) data)->returned;
}

/* Returns the resume data, or %NULL if the download completed first. */
static GBytes *
pause_download (SlDownload *download)
{
  PauseResult result = { NULL, FALSE };

  sl_download_pause_async (download, NULL, on_paused, &result);
  sl_test_wait_until (NULL, pause_returned, &result, WAIT_MS);
  if (result.resume_data != NULL)
    g_assert_cmpint (sl_download_get_state (download), ==, SL_DOWNLOAD_STATE_PAUSED);
  return result.resume_data;
}

static void
test_pause_resume_random (Fixture       *fixture,
                          gconstpointer  data)
{
  gsize size = 4 * 1024 * 1024;
  g_autofree char *query =
    g_strdup_printf ("/file?size=%" G_GSIZE_FORMAT "&seed=3&rate=%d&chunk=16384", size,
                     8 * 1024 * 1024);
  g_autofree char *path = dir_file (fixture, "file");
  const char *listing[] = { "file", NULL };
  g_autoptr (GPtrArray) requests = NULL;
  SlDownload *download = new_download (fixture, query);
  guint pauses = 0;
  guint ranged = 0;
  Watch watch;

  watch_init (&watch, download);
  sl_download_start (download);

  /* Pause at random offsets, each time recreating the download from its resume data as
   * another process would, until it completes; bounded by the number of rounds. */
  for (guint round = 0; round < 40 && !watch.done; round++)
    {
      g_autoptr (GBytes) resume_data = NULL;
      g_autoptr (SlResumeData) parsed = NULL;
      g_autoptr (GError) error = NULL;
      Progress progress = { &watch, 0 };
      gint64 before = sl_download_get_bytes_received (download);

      progress.target = before + g_test_rand_int_range (1, 512 * 1024);
      sl_test_wait_until (NULL, reached, &progress, WAIT_MS);
      if (watch.done)
        break;

      resume_data = pause_download (download);
      if (resume_data == NULL)
        break;
      pauses++;
      parsed = sl_resume_data_parse (resume_data, &error);
      g_assert_no_error (error);
      /* Everything counted as received was flushed and recorded. */
      g_assert_cmpint (parsed->received, ==, sl_download_get_bytes_received (download));
      g_assert_cmpint (parsed->total, ==, size);

      watch_clear (&watch);
      g_assert_finalize_object (download);

      download = sl_download_new_from_resume_data (NULL, resume_data, &error);
      g_assert_no_error (error);
      sl_download_set_retry_delay (download, 20);
      g_assert_cmpint (sl_download_get_bytes_received (download), ==, parsed->received);
      watch_init (&watch, download);
      watch.last_total = parsed->received;
      sl_download_start (download);
    }

  sl_test_wait_until (NULL, watch_done, &watch, WAIT_MS);
  assert_completed (&watch, size);
  g_assert_cmpuint (watch.restarts, ==, 0);
  g_assert_cmpuint (pauses, >=, 2);
  sl_test_assert_file_is_entity (path, 3, size);
  sl_test_assert_dir_is (fixture->dir, listing);

  /* Every request after the first continued with a range validated by the ETag. */
  requests = sl_test_server_requests (fixture->server, "/file");
  for (guint i = 1; i < requests->len; i++)
    {
      SlTestRequest *request = requests->pdata[i];

      if (request->range == NULL)
        continue;
      ranged++;
      g_assert_cmpstr (request->if_range, ==, "\"e3-4194304\"");
      sl_assert_status (request->status, 206);
    }
  g_assert_cmpuint (ranged, >=, pauses - 1);

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

static void
test_drop (Fixture       *fixture,
           gconstpointer  data)
{
  gsize size = 2 * 1024 * 1024;
  g_autoptr (GPtrArray) requests = NULL;

  check_complete (fixture, "/drop?size=2097152&after=300000&times=3&seed=5", "drop", 5, size, 0);

  /* Each retry continued where the previous connection broke. */
  requests = sl_test_server_requests (fixture->server, "/drop");
  g_assert_cmpuint (requests->len, ==, 4);
  g_assert_null (((SlTestRequest *) requests->pdata[0])->range);
  for (guint i = 1; i < requests->len; i++)
    {
      SlTestRequest *request = requests->pdata[i];
      g_autofree char *expected = g_strdup_printf ("bytes=%u-", 300000 * i);

      g_assert_cmpstr (request->range, ==, expected);
      sl_assert_status (request->status, 206);
    }
}

static void
test_ignore_range (Fixture       *fixture,
                   gconstpointer  data)
{
  /* The retry's 200 is the whole file again: it must replace, not append. (With a length, so
   * the dropped connection is seen as one; see test_chunked for bodies without.) */
  check_complete (fixture, "/ignore-range?size=1048576&drop=400000&seed=9&cl=1", "ignore-range",
                  9, 1048576, 1);
}

static void
test_etag_changes (Fixture       *fixture,
                   gconstpointer  data)
{
  /* The second request serves another entity (seed + 1): only that one may end up on disk. */
  check_complete (fixture, "/etag-changes?size=1048576&seed=20&drop=500000", "etag-changes", 21,
                  1048576, 1);
}

static void
test_wrong_range (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr (GPtrArray) requests = NULL;

  check_complete (fixture, "/wrong-range?size=1048576&seed=4&drop=300000", "wrong-range", 4,
                  1048576, 1);

  /* The misplaced range was never spliced: the download started over without a range. */
  requests = sl_test_server_requests (fixture->server, "/wrong-range");
  g_assert_cmpuint (requests->len, ==, 3);
  g_assert_nonnull (((SlTestRequest *) requests->pdata[1])->range);
  g_assert_null (((SlTestRequest *) requests->pdata[2])->range);
}

static void
test_long_length (Fixture       *fixture,
                  gconstpointer  data)
{
  SlDownload *download = new_download (fixture, "/long-length?size=100000");
  g_autofree char *path = dir_file (fixture, "long-length");
  Watch watch;

  sl_download_set_max_retries (download, 2);
  watch_init (&watch, download);
  run (&watch);

  /* It never gets the bytes it was promised, and every answer stops at the same byte: the
   * server is at fault after two answers that bring nothing new, and nothing is under the
   * name. */
  assert_failed (&watch, SL_ERROR_KIND_SERVER, SL_DOWNLOAD_ERROR_BAD_RESPONSE);
  g_assert_nonnull (strstr (watch.error->message, "announced 101,000 bytes but stops at 100,000"));
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (watch.waiting, ==, 2);

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

/* Every answer stops short of the length it announced, at the same byte: after two answers
 * that bring nothing new, the server is at fault, with the numbers, and the bytes are kept. */
static void
test_stops_at (Fixture       *fixture,
               gconstpointer  data)
{
  SlDownload *download = new_download (fixture, "/stops-at?size=1048576&at=983040&seed=3");
  g_autofree char *path = dir_file (fixture, "stops-at");
  g_autofree char *partial = dir_file (fixture, "stops-at.part");
  g_autoptr (GPtrArray) requests = NULL;
  GStatBuf st;
  Watch watch;

  watch_init (&watch, download);
  run (&watch);

  assert_failed (&watch, SL_ERROR_KIND_SERVER, SL_DOWNLOAD_ERROR_BAD_RESPONSE);
  g_assert_cmpstr (watch.error->message, ==,
                   "The server announced 1,048,576 bytes but stops at 983,040");
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_cmpint (g_stat (partial, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, 983040);

  /* The first answer, then two that brought nothing, both from the same byte. */
  requests = sl_test_server_requests (fixture->server, "/stops-at");
  g_assert_cmpuint (requests->len, ==, 3);
  for (guint i = 1; i < requests->len; i++)
    g_assert_cmpstr (((SlTestRequest *) requests->pdata[i])->range, ==, "bytes=983040-");
  g_assert_cmpuint (watch.waiting, ==, 2);

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

/* Response headers over libsoup's limit are the same every time: no retry. */
static void
test_huge_header (Fixture       *fixture,
                  gconstpointer  data)
{
  SlDownload *download = new_download (fixture, "/huge-header?bytes=200000&size=1000");
  const char *listing[] = { NULL };
  Watch watch;

  watch_init (&watch, download);
  run (&watch);

  assert_failed (&watch, SL_ERROR_KIND_SERVER, SL_DOWNLOAD_ERROR_BAD_RESPONSE);
  g_assert_nonnull (strstr (watch.error->message, "headers too large"));
  g_assert_cmpuint (watch.waiting, ==, 0);
  g_assert_cmpuint (sl_test_server_request_count (fixture->server, "/huge-header"), ==, 1);
  sl_test_assert_dir_is (fixture->dir, listing);

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

/* A chunked body cut short, at a chunk boundary (which libsoup 3.2 reads as its end) or inside
 * a chunk: with ranges, the rest is asked for and appended; the file is whole and its length
 * confirmed. */
static void
check_chunk_cut (Fixture    *fixture,
                 const char *query,
                 guint       n_requests)
{
  SlDownload *download = new_download (fixture, query);
  g_autofree char *path = dir_file (fixture, "chunk-cut");
  g_autoptr (GPtrArray) requests = NULL;
  Watch watch;

  watch_init (&watch, download);
  run (&watch);

  assert_completed (&watch, 300000);
  sl_test_assert_file_is_entity (path, 3, 300000);
  g_assert_true (sl_download_get_length_checked (download));
  g_assert_cmpuint (watch.restarts, ==, 0);

  requests = sl_test_server_requests (fixture->server, "/chunk-cut");
  g_assert_cmpuint (requests->len, ==, n_requests);
  g_assert_null (((SlTestRequest *) requests->pdata[0])->range);
  g_assert_cmpstr (((SlTestRequest *) requests->pdata[1])->range, ==, "bytes=163840-");

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

static void
test_chunk_cut_boundary (Fixture       *fixture,
                         gconstpointer  data)
{
  check_chunk_cut (fixture, "/chunk-cut?size=300000&seed=3&at=163840", 2);
}

static void
test_chunk_cut_inside (Fixture       *fixture,
                       gconstpointer  data)
{
  check_chunk_cut (fixture, "/chunk-cut?size=300000&seed=3&at=163840&inside=1", 2);
}

/* A chunked body that ends and is complete costs one more request, which the 416 answers. */
static void
test_chunked_confirmed (Fixture       *fixture,
                        gconstpointer  data)
{
  SlDownload *download = new_download (fixture, "/chunk-cut?size=300000&seed=3&at=300000");
  g_autofree char *path = dir_file (fixture, "chunk-cut");
  g_autoptr (GPtrArray) requests = NULL;
  Watch watch;

  watch_init (&watch, download);
  run (&watch);

  assert_completed (&watch, 300000);
  sl_test_assert_file_is_entity (path, 3, 300000);
  g_assert_true (sl_download_get_length_checked (download));
  requests = sl_test_server_requests (fixture->server, "/chunk-cut");
  g_assert_cmpuint (requests->len, ==, 2);
  g_assert_cmpstr (((SlTestRequest *) requests->pdata[1])->range, ==, "bytes=300000-");
  sl_assert_status (((SlTestRequest *) requests->pdata[1])->status, 416);

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

/* Without ranges nothing can tell a cut at a chunk boundary from the end: the file is what
 * came, and it is not called checked. Cut inside a chunk, it starts over and gets it all. */
static void
test_chunk_cut_no_ranges (Fixture       *fixture,
                          gconstpointer  data)
{
  SlDownload *download = new_download (fixture, "/chunk-cut?size=300000&seed=3&at=163840&ranges=0");
  g_autofree char *path = dir_file (fixture, "chunk-cut");
  g_autoptr (GBytes) entity = sl_test_entity (3, 300000);
  g_autoptr (GBytes) head = g_bytes_new_from_bytes (entity, 0, 163840);
  g_autoptr (GBytes) contents = NULL;
  gchar *text = NULL;
  gsize length = 0;
  Watch watch;

  watch_init (&watch, download);
  run (&watch);

  g_assert_no_error (watch.error);
  g_assert_cmpint (sl_download_get_state (download), ==, SL_DOWNLOAD_STATE_COMPLETED);
  g_assert_false (sl_download_get_length_checked (download));
  g_assert_true (g_file_get_contents (path, &text, &length, NULL));
  contents = g_bytes_new_take (text, length);
  g_assert_true (g_bytes_equal (contents, head));
  g_assert_cmpuint (sl_test_server_request_count (fixture->server, "/chunk-cut"), ==, 1);
  watch_clear (&watch);
  g_assert_finalize_object (download);

  g_assert_cmpint (g_unlink (path), ==, 0);
  sl_test_server_reset_counts (fixture->server);
  download = new_download (fixture, "/chunk-cut?size=300000&seed=3&at=163840&ranges=0&inside=1");
  watch_init (&watch, download);
  run (&watch);
  assert_completed (&watch, 300000);
  sl_test_assert_file_is_entity (path, 3, 300000);
  g_assert_cmpuint (watch.restarts, ==, 0);
  g_assert_cmpuint (sl_test_server_request_count (fixture->server, "/chunk-cut"), ==, 2);
  watch_clear (&watch);
  g_assert_finalize_object (download);
}

static void
test_stall (Fixture       *fixture,
            gconstpointer  data)
{
  g_autoptr (GPtrArray) requests = NULL;

  check_complete (fixture, "/stall?size=1048576&after=200000&seed=8", "stall", 8, 1048576, 0);

  requests = sl_test_server_requests (fixture->server, "/stall");
  g_assert_cmpuint (requests->len, ==, 2);
  g_assert_nonnull (((SlTestRequest *) requests->pdata[1])->range);
}

static void
test_redirects (Fixture       *fixture,
                gconstpointer  data)
{
  SlDownload *download = new_download (fixture, "/redirect?n=3&to=%2Ffile%3Fsize%3D5000");
  g_autofree char *path = dir_file (fixture, "file");
  Watch watch;

  watch_init (&watch, download);
  run (&watch);

  assert_completed (&watch, 5000);
  sl_test_assert_file_is_entity (path, 1, 5000);
  g_assert_true (g_str_has_suffix (sl_download_get_final_uri (download), "/file?size=5000"));
  g_assert_cmpuint (sl_test_server_request_count (fixture->server, "/redirect"), ==, 4);

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

static void
test_redirect_loop (Fixture       *fixture,
                    gconstpointer  data)
{
  SlDownload *download = new_download (fixture, "/loop");
  const char *listing[] = { NULL };
  Watch watch;

  watch_init (&watch, download);
  run (&watch);

  assert_failed (&watch, SL_ERROR_KIND_SERVER, SL_DOWNLOAD_ERROR_TOO_MANY_REDIRECTS);
  sl_test_assert_dir_is (fixture->dir, listing);

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

static void
check_status_fails (Fixture *fixture,
                    guint    status)
{
  g_autofree char *query = g_strdup_printf ("/status?code=%u", status);
  g_autofree char *code = g_strdup_printf ("%u", status);
  SlDownload *download = new_download (fixture, query);
  const char *listing[] = { NULL };
  Watch watch;

  watch_init (&watch, download);
  run (&watch);

  /* At once, with the status, and the error page is nowhere on disk. */
  assert_failed (&watch, SL_ERROR_KIND_SERVER, SL_DOWNLOAD_ERROR_HTTP_STATUS);
  g_assert_cmpuint (sl_download_get_http_status (download), ==, status);
  g_assert_nonnull (strstr (watch.error->message, code));
  g_assert_cmpuint (watch.waiting, ==, 0);
  g_assert_cmpuint (sl_test_server_request_count (fixture->server, "/status"), ==, 1);
  sl_test_assert_dir_is (fixture->dir, listing);

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

static void
test_status_404 (Fixture       *fixture,
                 gconstpointer  data)
{
  check_status_fails (fixture, 404);
}

/* The statuses that fail at once, and those that pass and are retried (README.md has both
 * lists): a retried one is asked again until the retries run out. */
static void
test_status_classes (Fixture       *fixture,
                     gconstpointer  data)
{
  static const guint lasting[] = { 400, 401, 403, 405, 410, 451, 501, 505 };
  static const guint passing[] = { 408, 425, 429, 500, 502, 503, 504 };

  for (gsize i = 0; i < G_N_ELEMENTS (lasting); i++)
    {
      sl_test_server_reset_counts (fixture->server);
      check_status_fails (fixture, lasting[i]);
    }

  for (gsize i = 0; i < G_N_ELEMENTS (passing); i++)
    {
      g_autofree char *query = g_strdup_printf ("/status?code=%u", passing[i]);
      SlDownload *download = new_download (fixture, query);
      Watch watch;

      sl_test_server_reset_counts (fixture->server);
      sl_download_set_max_retries (download, 2);
      watch_init (&watch, download);
      run (&watch);

      assert_failed (&watch, SL_ERROR_KIND_SERVER, SL_DOWNLOAD_ERROR_HTTP_STATUS);
      g_assert_cmpuint (sl_download_get_http_status (download), ==, passing[i]);
      g_assert_cmpuint (watch.waiting, ==, 2);
      g_assert_cmpuint (sl_test_server_request_count (fixture->server, "/status"), ==, 3);

      watch_clear (&watch);
      g_assert_finalize_object (download);
    }
}

static void
test_status_416 (Fixture       *fixture,
                 gconstpointer  data)
{
  check_status_fails (fixture, 416);
}

static void
test_retry_after (Fixture       *fixture,
                  gconstpointer  data)
{
  SlDownload *download = new_download (fixture,
                                       "/retry-after?code=503&seconds=1&times=2&size=4000");
  g_autofree char *path = dir_file (fixture, "retry-after");
  gint64 elapsed;
  Watch watch;

  watch_init (&watch, download);
  run (&watch);
  elapsed = g_get_monotonic_time () - watch.started_us;

  assert_completed (&watch, 4000);
  sl_test_assert_file_is_entity (path, 1, 4000);
  g_assert_cmpuint (watch.waiting, ==, 2);
  /* The retry delay is 20 ms; only Retry-After explains two waits of a second. */
  g_assert_cmpint (elapsed, >=, 2 * G_TIME_SPAN_SECOND - 100 * G_TIME_SPAN_MILLISECOND);

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

static void
test_retry_after_gives_up (Fixture       *fixture,
                           gconstpointer  data)
{
  SlDownload *download = new_download (fixture,
                                       "/retry-after?code=503&seconds=0&times=100&size=4000");
  const char *listing[] = { NULL };
  Watch watch;

  sl_download_set_max_retries (download, 2);
  watch_init (&watch, download);
  run (&watch);

  assert_failed (&watch, SL_ERROR_KIND_SERVER, SL_DOWNLOAD_ERROR_HTTP_STATUS);
  g_assert_cmpuint (sl_download_get_http_status (download), ==, 503);
  g_assert_cmpuint (sl_test_server_request_count (fixture->server, "/retry-after"), ==, 3);
  sl_test_assert_dir_is (fixture->dir, listing);

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

static GBytes *
craft_resume_data (Fixture    *fixture,
                   const char *path_and_query,
                   const char *name,
                   const char *etag,
                   gint64      total,
                   gint64      received)
{
  g_autoptr (SlResumeData) data = sl_resume_data_new ();
  g_autofree char *partial_name = g_strconcat (name, ".part", NULL);

  data->uri = sl_test_server_url (fixture->server, path_and_query);
  data->directory = g_strdup (fixture->dir_path);
  data->filename = g_strdup (name);
  data->partial_path = dir_file (fixture, partial_name);
  data->etag = g_strdup (etag);
  data->total = total;
  data->received = received;
  return sl_resume_data_serialize (data);
}

static void
write_entity_prefix (const char *path,
                     guint32     seed,
                     gsize       size,
                     gsize       prefix)
{
  g_autoptr (GBytes) entity = sl_test_entity (seed, size);

  g_assert_true (g_file_set_contents (path, g_bytes_get_data (entity, NULL), prefix, NULL));
}

static void
test_all_there_416 (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr (GBytes) resume_data = craft_resume_data (fixture, "/file?size=5000", "done.bin",
                                                      "\"e1-5000\"", 5000, 5000);
  g_autofree char *partial = dir_file (fixture, "done.bin.part");
  g_autofree char *path = dir_file (fixture, "done.bin");
  const char *listing[] = { "done.bin", NULL };
  g_autoptr (GPtrArray) requests = NULL;
  g_autoptr (GError) error = NULL;
  SlDownload *download;
  Watch watch;

  write_entity_prefix (partial, 1, 5000, 5000);
  download = sl_download_new_from_resume_data (NULL, resume_data, &error);
  g_assert_no_error (error);
  watch_init (&watch, download);
  watch.last_total = 5000;
  run (&watch);

  /* The server says there is nothing after the last byte: the length checks out, done. */
  assert_completed (&watch, 5000);
  sl_test_assert_file_is_entity (path, 1, 5000);
  sl_test_assert_dir_is (fixture->dir, listing);
  requests = sl_test_server_requests (fixture->server, "/file");
  g_assert_cmpuint (requests->len, ==, 1);
  sl_assert_status (((SlTestRequest *) requests->pdata[0])->status, 416);

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

/* Resume data whose done bytes have a hole, as segments leave them: the bytes after the hole
 * count, the partial file must hold them all, and the download continues from the hole. A
 * partial file that ends before the last done byte lost some, and starts over. */
static void
test_partial_file_holes (Fixture       *fixture,
                         gconstpointer  data)
{
  gboolean cut = GPOINTER_TO_INT (data);
  g_autoptr (SlResumeData) resume = sl_resume_data_new ();
  g_autoptr (GBytes) resume_data = NULL;
  g_autoptr (GBytes) entity = sl_test_entity (1, 50000);
  g_autofree char *partial = dir_file (fixture, "holes.bin.part");
  g_autofree char *path = dir_file (fixture, "holes.bin");
  g_autofree guint8 *contents = g_memdup2 (g_bytes_get_data (entity, NULL), 45000);
  g_autoptr (GPtrArray) requests = NULL;
  g_autoptr (GError) error = NULL;
  SlDownload *download;
  Watch watch;

  resume->uri = sl_test_server_url (fixture->server, "/file?size=50000");
  resume->directory = g_strdup (fixture->dir_path);
  resume->filename = g_strdup ("holes.bin");
  resume->partial_path = g_strdup (partial);
  resume->etag = g_strdup ("\"e1-50000\"");
  resume->total = 50000;
  resume->done = sl_segment_map_new (50000);
  sl_segment_map_mark_done (resume->done, 0, 30000);
  sl_segment_map_mark_done (resume->done, 40000, 45000);
  resume->received = 35000;
  resume_data = sl_resume_data_serialize (resume);

  /* The hole holds nothing yet. */
  memset (contents + 30000, 0, 10000);
  g_assert_true (g_file_set_contents (partial, (const char *) contents, cut ? 42000 : 45000,
                                      NULL));
  download = sl_download_new_from_resume_data (NULL, resume_data, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sl_download_get_bytes_received (download), ==, 35000);
  watch_init (&watch, download);
  watch.last_total = cut ? 0 : 35000;
  run (&watch);

  assert_completed (&watch, 50000);
  sl_test_assert_file_is_entity (path, 1, 50000);
  requests = sl_test_server_requests (fixture->server, "/file");
  g_assert_cmpuint (requests->len, ==, 1);
  if (cut)
    {
      g_assert_cmpuint (watch.restarts, ==, 1);
      g_assert_null (((SlTestRequest *) requests->pdata[0])->range);
    }
  else
    {
      g_assert_cmpuint (watch.restarts, ==, 0);
      g_assert_cmpstr (((SlTestRequest *) requests->pdata[0])->range, ==, "bytes=30000-");
    }

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

static void
test_partial_file_shorter (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autoptr (GBytes) resume_data = craft_resume_data (fixture, "/file?size=50000", "short.bin",
                                                      "\"e1-50000\"", 50000, 30000);
  g_autofree char *partial = dir_file (fixture, "short.bin.part");
  g_autofree char *path = dir_file (fixture, "short.bin");
  g_autoptr (GPtrArray) requests = NULL;
  g_autoptr (GError) error = NULL;
  SlDownload *download;
  Watch watch;

  /* The record says 30000 bytes, the disk has 1000: nothing is spliced onto them. */
  write_entity_prefix (partial, 1, 50000, 1000);
  download = sl_download_new_from_resume_data (NULL, resume_data, &error);
  g_assert_no_error (error);
  watch_init (&watch, download);
  run (&watch);

  assert_completed (&watch, 50000);
  g_assert_cmpuint (watch.restarts, ==, 1);
  sl_test_assert_file_is_entity (path, 1, 50000);
  requests = sl_test_server_requests (fixture->server, "/file");
  g_assert_cmpuint (requests->len, ==, 1);
  g_assert_null (((SlTestRequest *) requests->pdata[0])->range);

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

static void
test_partial_file_longer (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr (GBytes) resume_data = craft_resume_data (fixture, "/file?size=50000", "long.bin",
                                                      "\"e1-50000\"", 50000, 20000);
  g_autofree char *partial = dir_file (fixture, "long.bin.part");
  g_autofree char *path = dir_file (fixture, "long.bin");
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) requests = NULL;
  SlDownload *download;
  Watch watch;

  /* Bytes past what was recorded are not trusted: 20000 are kept, the rest fetched again. */
  {
    g_autoptr (GBytes) entity = sl_test_entity (1, 50000);
    g_autofree guint8 *junk = g_memdup2 (g_bytes_get_data (entity, NULL), 40000);

    memset (junk + 20000, 'x', 20000);
    g_assert_true (g_file_set_contents (partial, (char *) junk, 40000, NULL));
  }
  download = sl_download_new_from_resume_data (NULL, resume_data, &error);
  g_assert_no_error (error);
  watch_init (&watch, download);
  run (&watch);

  assert_completed (&watch, 50000);
  g_assert_cmpuint (watch.restarts, ==, 0);
  sl_test_assert_file_is_entity (path, 1, 50000);
  requests = sl_test_server_requests (fixture->server, "/file");
  g_assert_cmpstr (((SlTestRequest *) requests->pdata[0])->range, ==, "bytes=20000-");

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

static void
test_length_changed (Fixture       *fixture,
                     gconstpointer  data)
{
  /* Recorded as 60000 bytes long; the server's answer to the range says 50000. */
  g_autoptr (GBytes) resume_data = craft_resume_data (fixture, "/file?size=50000", "len.bin",
                                                      "\"e1-50000\"", 60000, 20000);
  g_autofree char *partial = dir_file (fixture, "len.bin.part");
  g_autofree char *path = dir_file (fixture, "len.bin");
  g_autoptr (GPtrArray) requests = NULL;
  g_autoptr (GError) error = NULL;
  SlDownload *download;
  Watch watch;

  write_entity_prefix (partial, 1, 50000, 20000);
  download = sl_download_new_from_resume_data (NULL, resume_data, &error);
  g_assert_no_error (error);
  watch_init (&watch, download);
  run (&watch);

  /* Another length is another file: start over, never append. */
  assert_completed (&watch, 50000);
  g_assert_cmpuint (watch.restarts, ==, 1);
  sl_test_assert_file_is_entity (path, 1, 50000);
  requests = sl_test_server_requests (fixture->server, "/file");
  g_assert_cmpuint (requests->len, ==, 2);
  sl_assert_status (((SlTestRequest *) requests->pdata[0])->status, 206);
  g_assert_null (((SlTestRequest *) requests->pdata[1])->range);

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

static void
test_refresh_link (Fixture       *fixture,
                   gconstpointer  data)
{
  /* An expired link (410), with 20000 bytes of the file already on disk. */
  g_autoptr (GBytes) resume_data = craft_resume_data (fixture, "/status?code=410", "r.bin",
                                                      "\"e1-50000\"", 50000, 20000);
  g_autofree char *partial = dir_file (fixture, "r.bin.part");
  g_autofree char *path = dir_file (fixture, "r.bin");
  g_autofree char *other = sl_test_server_url (fixture->server, "/file?size=50000&seed=2");
  g_autofree char *same = sl_test_server_url (fixture->server, "/file?size=50000&seed=1");
  g_autoptr (GPtrArray) requests = NULL;
  g_autoptr (GError) error = NULL;
  SlDownload *download;
  GStatBuf st;
  Watch watch;

  write_entity_prefix (partial, 1, 50000, 20000);
  download = sl_download_new_from_resume_data (NULL, resume_data, &error);
  g_assert_no_error (error);
  watch_init (&watch, download);
  watch.last_total = 20000;
  run (&watch);
  assert_failed (&watch, SL_ERROR_KIND_SERVER, SL_DOWNLOAD_ERROR_HTTP_STATUS);
  g_assert_cmpuint (sl_download_get_http_status (download), ==, 410);

  /* A link to another file: refused, and the bytes stay. */
  g_assert_true (sl_download_refresh_link (download, other, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (sl_download_get_uri (download), ==, other);
  watch_clear (&watch);
  watch_init (&watch, download);
  watch.last_total = 20000;
  run (&watch);
  assert_failed (&watch, SL_ERROR_KIND_SERVER, SL_DOWNLOAD_ERROR_BAD_RESPONSE);
  g_assert_cmpuint (watch.restarts, ==, 0);
  g_assert_cmpint (g_stat (partial, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, 20000);
  g_assert_cmpint (sl_download_get_bytes_received (download), ==, 20000);

  /* The same file behind a new link: it continues where it stopped. */
  g_assert_true (sl_download_refresh_link (download, same, &error));
  watch_clear (&watch);
  watch_init (&watch, download);
  watch.last_total = 20000;
  run (&watch);
  assert_completed (&watch, 50000);
  sl_test_assert_file_is_entity (path, 1, 50000);
  requests = sl_test_server_requests (fixture->server, "/file");
  g_assert_cmpuint (requests->len, ==, 2);
  g_assert_cmpstr (((SlTestRequest *) requests->pdata[1])->range, ==, "bytes=20000-");
  sl_assert_status (((SlTestRequest *) requests->pdata[1])->status, 206);

  /* Not on a completed download, nor with a bad address. */
  g_assert_false (sl_download_refresh_link (download, same, &error));
  g_assert_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_ARGUMENT);

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

static void
test_refresh_link_refused (Fixture       *fixture,
                           gconstpointer  data)
{
  SlDownload *download = new_download (fixture, "/file?size=4000000&rate=2000000&chunk=8192");
  g_autoptr (GError) error = NULL;
  Progress progress;
  Watch watch;

  watch_init (&watch, download);
  progress.watch = &watch;
  progress.target = 50000;
  sl_download_start (download);
  sl_test_wait_until (NULL, reached, &progress, WAIT_MS);

  g_assert_false (sl_download_refresh_link (download, "http://127.0.0.1:1/x", &error));
  g_assert_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  {
    g_autoptr (GBytes) resume_data = pause_download (download);

    g_assert_nonnull (resume_data);
  }
  g_assert_false (sl_download_refresh_link (download, "gopher://x/", &error));
  g_assert_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_UNSUPPORTED_SCHEME);

  sl_download_cancel (download);
  sl_test_wait_until (NULL, watch_done, &watch, WAIT_MS);
  watch_clear (&watch);
  g_assert_finalize_object (download);
}

static void
test_wait_for_network (Fixture       *fixture,
                       gconstpointer  data)
{
  SlTestNetworkMonitor *monitor = sl_test_network_monitor_new (FALSE);
  guint16 port = sl_test_unused_port ();
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/file?size=30000&seed=4", port);
  g_autofree char *path = dir_file (fixture, "file");
  g_autoptr (GError) error = NULL;
  SlDownload *download = sl_download_new (NULL, url, &error);
  SlTestServer *late_server;
  Watch watch;

  /* No retries to spend: only waiting, not retrying, can get this one through. The first
   * attempt is made whatever the monitor says, and fails: nothing listens yet. */
  g_assert_no_error (error);
  sl_download_set_directory (download, fixture->dir);
  sl_download_set_max_retries (download, 0);
  sl_download_set_network_monitor (download, G_NETWORK_MONITOR (monitor));
  watch_init (&watch, download);
  sl_download_start (download);
  sl_test_wait_for_state (download, SL_DOWNLOAD_STATE_WAITING);
  g_assert_cmpint (sl_download_get_error_kind (download), ==, SL_ERROR_KIND_NETWORK);
  g_assert_nonnull (strstr (sl_download_get_error_message (download), "Waiting for the network"));
  for (guint i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_false (watch.done);

  /* The network and the server come back: it goes on by itself. */
  late_server = sl_test_server_new_on_port (port);
  sl_test_network_monitor_set_available (monitor, TRUE);
  sl_test_wait_until (NULL, watch_done, &watch, WAIT_MS);
  assert_completed (&watch, 30000);
  sl_test_assert_file_is_entity (path, 4, 30000);

  watch_clear (&watch);
  g_assert_finalize_object (download);
  g_assert_finalize_object (monitor);
  sl_test_server_quit_unref (late_server);
}

typedef struct
{
  SlDownload *download;
  guint16     port;
  SlTestServer *late_server;
} LateServer;

static gboolean
start_late_server (gpointer data)
{
  LateServer *late = data;

  late->late_server = sl_test_server_new_on_port (late->port);
  return G_SOURCE_REMOVE;
}

static void
test_server_comes_back (Fixture       *fixture,
                        gconstpointer  data)
{
  guint16 port = sl_test_unused_port ();
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/file?size=40000&seed=6", port);
  g_autofree char *path = dir_file (fixture, "file");
  g_autoptr (GError) error = NULL;
  SlDownload *download = sl_download_new (NULL, url, &error);
  LateServer late = { download, port, NULL };
  Watch watch;

  /* Refused for a while, then the server is back: the download gets there on its own. */
  g_assert_no_error (error);
  sl_download_set_directory (download, fixture->dir);
  sl_download_set_retry_delay (download, 100);
  sl_download_set_max_retries (download, 8);
  watch_init (&watch, download);
  g_timeout_add (700, start_late_server, &late);
  run (&watch);

  assert_completed (&watch, 40000);
  g_assert_cmpuint (watch.waiting, >=, 2);
  sl_test_assert_file_is_entity (path, 6, 40000);

  watch_clear (&watch);
  g_assert_finalize_object (download);
  g_assert_nonnull (late.late_server);
  sl_test_server_quit_unref (late.late_server);
}

static void
check_disposition (Fixture    *fixture,
                   const char *encoded_header,
                   const char *expected_name)
{
  g_autofree char *query = g_strdup_printf ("/disposition?size=300&cd=%s", encoded_header);
  SlDownload *download = new_download (fixture, query);
  g_autoptr (GFile) box = g_file_get_child (fixture->dir, "box");
  g_autofree char *box_path = g_file_get_path (box);
  g_autofree char *path = g_build_filename (box_path, expected_name, NULL);
  const char *inside[] = { expected_name, NULL };
  const char *outside[] = { "box", NULL };
  Watch watch;

  /* The download goes into a folder of its own, so that anything escaping it shows up in a
   * parent only this test writes to. */
  g_assert_cmpint (g_mkdir (box_path, 0700), ==, 0);
  sl_download_set_directory (download, box);
  watch_init (&watch, download);
  run (&watch);

  assert_completed (&watch, 300);
  sl_test_assert_file_is_entity (path, 1, 300);
  sl_test_assert_dir_is (box, inside);
  sl_test_assert_dir_is (fixture->dir, outside);

  watch_clear (&watch);
  g_assert_finalize_object (download);
  sl_test_rm_rf (box);
}

static void
test_disposition (Fixture       *fixture,
                  gconstpointer  data)
{
  check_disposition (fixture, "attachment%3B%20filename%3D%22report.pdf%22", "report.pdf");
  check_disposition (fixture, "attachment%3B%20filename%3D%22..%2F..%2Fx%22", "x");
  check_disposition (fixture, "attachment%3B%20filename%3D%22%2Fetc%2Fpasswd%22", "passwd");
  check_disposition (fixture, "attachment%3B%20filename%3D%22a%2Fb%22", "b");
  check_disposition (fixture, "attachment%3B%20filename%3D.bashrc", "bashrc");
  check_disposition (fixture, "attachment%3B%20filename%2A%3DUTF-8%27%27na%25C3%25AFve.txt",
                     "na\xc3\xafve.txt");
  check_disposition (fixture, "attachment%3B%20filename%3D%22a%01b%1Fc.txt%22", "abc.txt");
}

static void
test_disposition_long_and_invalid (Fixture       *fixture,
                                   gconstpointer  data)
{
  g_autoptr (GString) query = g_string_new ("/disposition?size=10&cd=attachment%3B%20filename%3D");
  g_auto (GStrv) names = NULL;
  SlDownload *download;
  Watch watch;

  for (guint i = 0; i < 300; i++)
    g_string_append_c (query, 'a');
  g_string_append (query, "%FF%FE.bin");

  download = new_download (fixture, query->str);
  watch_init (&watch, download);
  run (&watch);
  assert_completed (&watch, 10);

  /* One file, a valid UTF-8 name short enough to add " (1)" and ".part" to, extension kept. */
  names = sl_test_list_dir (fixture->dir);
  g_assert_cmpuint (g_strv_length (names), ==, 1);
  g_assert_true (g_utf8_validate (names[0], -1, NULL));
  g_assert_cmpuint (strlen (names[0]), <=, 200);
  g_assert_true (g_str_has_suffix (names[0], ".bin"));

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

static void
test_chunked (Fixture       *fixture,
              gconstpointer  data)
{
  SlDownload *download = new_download (fixture, "/chunked?size=1500000&seed=12");
  g_autofree char *path = dir_file (fixture, "chunked");
  gint64 total_seen = 0;
  Watch watch;

  watch_init (&watch, download);
  sl_download_start (download);
  sl_test_wait_until (NULL, watch_done, &watch, WAIT_MS);
  total_seen = sl_download_get_bytes_total (download);

  /* The length is only known at the end. */
  assert_completed (&watch, 1500000);
  g_assert_cmpint (total_seen, ==, 1500000);
  sl_test_assert_file_is_entity (path, 12, 1500000);

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

static void
test_html_on_resume (Fixture       *fixture,
                     gconstpointer  data)
{
  SlDownload *download = new_download (fixture, "/html-on-resume?size=1000000&drop=400000");
  g_autofree char *path = dir_file (fixture, "html-on-resume");
  g_autofree char *partial = dir_file (fixture, "html-on-resume.part");
  g_autoptr (GBytes) kept = NULL;
  g_autoptr (GBytes) expected = NULL;
  g_autoptr (GBytes) entity = sl_test_entity (1, 1000000);
  gchar *contents = NULL;
  gsize length = 0;
  Watch watch;

  watch_init (&watch, download);
  run (&watch);

  /* The web page never reaches the file; the bytes before it are kept for a retry. */
  assert_failed (&watch, SL_ERROR_KIND_SERVER, SL_DOWNLOAD_ERROR_BAD_RESPONSE);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_get_contents (partial, &contents, &length, NULL));
  kept = g_bytes_new_take (contents, length);
  g_assert_cmpuint (length, ==, 400000);
  expected = g_bytes_new_from_bytes (entity, 0, 400000);
  g_assert_true (g_bytes_equal (kept, expected));

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

static void
test_gzip (Fixture       *fixture,
           gconstpointer  data)
{
  /* A server that encodes anyway: the decoded entity lands on disk. */
  check_complete (fixture, "/gzip?size=700000&seed=6", "gzip", 6, 700000, 0);
}

static void
test_refused (Fixture       *fixture,
              gconstpointer  data)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/file", sl_test_unused_port ());
  g_autoptr (GError) error = NULL;
  SlDownload *download = sl_download_new (NULL, url, &error);
  const char *listing[] = { NULL };
  Watch watch;

  g_assert_no_error (error);
  sl_download_set_directory (download, fixture->dir);
  sl_download_set_retry_delay (download, 10);
  sl_download_set_max_retries (download, 3);
  watch_init (&watch, download);
  run (&watch);

  assert_failed (&watch, SL_ERROR_KIND_NETWORK, SL_DOWNLOAD_ERROR_NETWORK);
  g_assert_cmpuint (watch.waiting, ==, 3);
  sl_test_assert_dir_is (fixture->dir, listing);

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

static void
test_cancel (Fixture       *fixture,
             gconstpointer  data)
{
  SlDownload *download = new_download (fixture, "/file?size=4000000&rate=2000000&chunk=8192");
  const char *listing[] = { NULL };
  Progress progress;
  Watch watch;

  watch_init (&watch, download);
  progress.watch = &watch;
  progress.target = 100000;
  sl_download_start (download);
  sl_test_wait_until (NULL, reached, &progress, WAIT_MS);
  g_assert_false (watch.done);

  sl_download_cancel (download);
  sl_test_wait_until (NULL, watch_done, &watch, WAIT_MS);

  g_assert_error (watch.error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_CANCELLED);
  g_assert_cmpint (sl_download_get_state (download), ==, SL_DOWNLOAD_STATE_CANCELED);
  g_assert_cmpint (sl_download_get_error_kind (download), ==, SL_ERROR_KIND_USER);
  sl_test_assert_dir_is (fixture->dir, listing);

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

/* Room for the whole file is reserved before the first byte, and the size still tells only
 * what was written. */
static void
test_preallocated (Fixture       *fixture,
                   gconstpointer  data)
{
  SlDownload *download = new_download (fixture, "/file?size=4000000&rate=2000000&chunk=8192");
  g_autofree char *partial = dir_file (fixture, "file.part");
  g_autofree char *probe = dir_file (fixture, "probe");
  Progress progress;
  GStatBuf st;
  Watch watch;
  int fd;

  fd = open (probe, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  g_assert_cmpint (fd, >=, 0);
  if (fallocate (fd, FALLOC_FL_KEEP_SIZE, 0, 1024 * 1024) < 0)
    {
      close (fd);
      g_test_skip ("The file system of the test folder cannot preallocate");
      g_object_unref (download);
      return;
    }
  close (fd);
  g_assert_cmpint (g_unlink (probe), ==, 0);

  watch_init (&watch, download);
  progress.watch = &watch;
  progress.target = 100000;
  sl_download_start (download);
  sl_test_wait_until (NULL, reached, &progress, WAIT_MS);
  g_assert_false (watch.done);

  g_assert_cmpint (g_stat (partial, &st), ==, 0);
  g_assert_cmpint (st.st_size, <, 4000000);
  g_assert_cmpint ((gint64) st.st_blocks * 512, >=, 4000000);

  sl_download_cancel (download);
  sl_test_wait_until (NULL, watch_done, &watch, WAIT_MS);
  watch_clear (&watch);
  g_assert_finalize_object (download);
}

static void
test_disk_full (Fixture       *fixture,
                gconstpointer  data)
{
  gsize size = 3 * 1024 * 1024;
  SlDownload *download = new_download (fixture, "/file?size=3145728&seed=2");
  g_autofree char *path = dir_file (fixture, "file");
  g_autofree char *partial = dir_file (fixture, "file.part");
  g_autoptr (GPtrArray) requests = NULL;
  g_autofree char *expected_range = NULL;
  struct rlimit saved, limited;
  GStatBuf st;
  Watch watch;

  /* Past the file-size limit, writes fail with EFBIG as on a full disk. */
  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &saved), ==, 0);
  limited = saved;
  limited.rlim_cur = 1024 * 1024 + 5;
  signal (SIGXFSZ, SIG_IGN);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limited), ==, 0);

  watch_init (&watch, download);
  run (&watch);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &saved), ==, 0);

  assert_failed (&watch, SL_ERROR_KIND_FILE, SL_DOWNLOAD_ERROR_FILE);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_cmpint (g_stat (partial, &st), ==, 0);
  g_assert_cmpint (sl_download_get_bytes_received (download), <=, st.st_size);
  g_assert_cmpint (sl_download_get_bytes_received (download), <=, 1024 * 1024 + 5);

  /* With room again, Retry continues from the bytes kept, including those of the write that
   * hit the limit part way. */
  g_assert_cmpint (sl_download_get_bytes_received (download), ==, 1024 * 1024 + 5);
  expected_range = g_strdup_printf ("bytes=%d-", 1024 * 1024 + 5);
  watch_clear (&watch);
  watch_init (&watch, download);
  watch.last_total = sl_download_get_bytes_received (download);
  run (&watch);
  assert_completed (&watch, size);
  sl_test_assert_file_is_entity (path, 2, size);
  requests = sl_test_server_requests (fixture->server, "/file");
  for (guint i = 0; i < requests->len; i++)
    g_test_message ("request %u: Range %s, status %u", i,
                    ((SlTestRequest *) requests->pdata[i])->range,
                    ((SlTestRequest *) requests->pdata[i])->status);
  g_assert_cmpuint (requests->len, ==, 2);
  g_assert_cmpstr (((SlTestRequest *) requests->pdata[1])->range, ==, expected_range);

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

static void
test_missing_folder (Fixture       *fixture,
                     gconstpointer  data)
{
  SlDownload *download = new_download (fixture, "/file?size=100");
  g_autoptr (GFile) missing = g_file_get_child (fixture->dir, "gone");
  Watch watch;

  sl_download_set_directory (download, missing);
  watch_init (&watch, download);
  run (&watch);

  assert_failed (&watch, SL_ERROR_KIND_FILE, SL_DOWNLOAD_ERROR_FILE);
  g_assert_nonnull (strstr (watch.error->message, "gone"));

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

/* The digest of @seed's entity of @size in @type, computed here independently. */
static char *
entity_digest (GChecksumType type,
               guint32       seed,
               gsize         size)
{
  g_autoptr (GBytes) entity = sl_test_entity (seed, size);

  return g_compute_checksum_for_bytes (type, entity);
}

static void
test_checksum (Fixture       *fixture,
               gconstpointer  data)
{
  static const struct {
    const char    *name;
    GChecksumType  type;
  } algorithms[] = {
    { "sha256", G_CHECKSUM_SHA256 },
    { "sha512", G_CHECKSUM_SHA512 },
    { "sha1", G_CHECKSUM_SHA1 },
    { "md5", G_CHECKSUM_MD5 },
  };
  g_autofree char *path = dir_file (fixture, "file");
  g_autofree char *partial = dir_file (fixture, "file.part");
  g_autoptr (GError) error = NULL;
  const char *listing[] = { "file", NULL };
  const char *kept[] = { "file.part", NULL };
  SlDownload *download;
  Watch watch;

  /* Each algorithm, over a body of several writes, passes with the right digest in either
   * case, and fails with a wrong one, keeping the bytes and giving both digests. */
  for (gsize i = 0; i < G_N_ELEMENTS (algorithms); i++)
    {
      g_autofree char *good = entity_digest (algorithms[i].type, 1, 3000000);
      g_autofree char *upper = g_ascii_strup (good, -1);
      g_autofree char *spec = g_strdup_printf ("%s=%s", algorithms[i].name, upper);
      g_autofree char *bad = g_strdup (good);
      g_autofree char *bad_spec = NULL;

      g_test_message ("checksum: %s", algorithms[i].name);
      download = new_download (fixture, "/file?size=3000000&chunk=65536");
      g_assert_true (sl_download_set_checksum (download, spec, &error));
      g_assert_no_error (error);
      watch_init (&watch, download);
      run (&watch);
      assert_completed (&watch, 3000000);
      sl_test_assert_dir_is (fixture->dir, listing);
      watch_clear (&watch);
      g_assert_finalize_object (download);
      g_assert_cmpint (g_unlink (path), ==, 0);

      bad[0] = bad[0] == '0' ? '1' : '0';
      bad_spec = g_strdup_printf ("%s=%s", algorithms[i].name, bad);
      download = new_download (fixture, "/file?size=3000000&chunk=65536");
      g_assert_true (sl_download_set_checksum (download, bad_spec, &error));
      watch_init (&watch, download);
      run (&watch);
      assert_failed (&watch, SL_ERROR_KIND_FILE, SL_DOWNLOAD_ERROR_CHECKSUM);
      g_assert_nonnull (strstr (watch.error->message, good));
      g_assert_nonnull (strstr (watch.error->message, bad));
      g_assert_nonnull (strstr (watch.error->message, algorithms[i].name));
      sl_test_assert_dir_is (fixture->dir, kept);
      sl_test_assert_file_is_entity (partial, 1, 3000000);

      /* Retried, it does not resume into bytes that did not match: it starts over. */
      watch_clear (&watch);
      watch_init (&watch, download);
      sl_test_server_reset_counts (fixture->server);
      run (&watch);
      assert_failed (&watch, SL_ERROR_KIND_FILE, SL_DOWNLOAD_ERROR_CHECKSUM);
      g_assert_cmpuint (watch.restarts, ==, 1);
      {
        g_autoptr (GPtrArray) requests = sl_test_server_requests (fixture->server, "/file");

        g_assert_cmpuint (requests->len, ==, 1);
        g_assert_null (((SlTestRequest *) requests->pdata[0])->range);
      }
      watch_clear (&watch);
      g_assert_finalize_object (download);
      g_assert_cmpint (g_unlink (partial), ==, 0);
    }

  /* Malformed specs are refused up front, each with what is wrong. */
  download = new_download (fixture, "/file?size=1");
  g_assert_false (sl_download_set_checksum (download, "md5=abc", &error));
  g_assert_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "32"));
  g_clear_error (&error);
  g_assert_false (sl_download_set_checksum (download, "sha256=12", &error));
  g_assert_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "64"));
  g_clear_error (&error);
  g_assert_false (sl_download_set_checksum (download, "crc32=00000000", &error));
  g_assert_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "crc32"));
  g_clear_error (&error);
  g_assert_false (sl_download_set_checksum (download, "sha256", &error));
  g_assert_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_ARGUMENT);
  g_assert_finalize_object (download);
}

static void
test_notify_coalesced (Fixture       *fixture,
                       gconstpointer  data)
{
  SlDownload *download =
    new_download (fixture, "/file?size=6000000&rate=4000000&chunk=4096&seed=11");
  double seconds;
  Watch watch;

  watch_init (&watch, download);
  run (&watch);
  seconds = (g_get_monotonic_time () - watch.started_us) / (double) G_TIME_SPAN_SECOND;

  assert_completed (&watch, 6000000);
  g_test_message ("%u data events, %u notifies in %.2f s", watch.data_events,
                  watch.byte_notifies, seconds);
  /* About ten a second, plus the last one. */
  g_assert_cmpuint (watch.data_events, >=, 3);
  g_assert_cmpfloat (watch.data_events, <=, seconds * 10 + 2);
  g_assert_cmpfloat (watch.byte_notifies, <=, seconds * 10 + 2);

  watch_clear (&watch);
  g_assert_finalize_object (download);
}

static void
test_bad_uri (void)
{
  const char *bad[] = { "", "ftp://example.org/x", "file:///etc/passwd", "http://", "nonsense" };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      SlDownload *download = sl_download_new (NULL, bad[i], &error);

      g_assert_null (download);
      g_assert_nonnull (error);
      g_assert_cmpint (sl_download_error_kind (error), ==, SL_ERROR_KIND_USER);
    }
}

#define ADD_DATA(path, func, data) \
  g_test_add ("/download/" path, Fixture, data, fixture_setup, func, fixture_teardown)
#define ADD(path, func) \
  g_test_add ("/download/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  ADD ("basic", test_basic);
  ADD ("empty", test_empty);
  ADD ("no-overwrite", test_no_overwrite);
  ADD ("explicit-name", test_explicit_name);
  for (gsize i = 0; i < G_N_ELEMENTS (adoptions); i++)
    {
      g_autofree char *path = g_strconcat ("/download/adopt-", adoptions[i].name, NULL);

      g_test_add (path, Fixture, &adoptions[i], fixture_setup, test_adoption, fixture_teardown);
    }
  ADD ("pause-resume-random", test_pause_resume_random);
  ADD ("drop", test_drop);
  ADD ("ignore-range", test_ignore_range);
  ADD ("etag-changes", test_etag_changes);
  ADD ("wrong-range", test_wrong_range);
  ADD ("long-length", test_long_length);
  ADD ("stops-at", test_stops_at);
  ADD ("huge-header", test_huge_header);
  ADD ("chunk-cut-boundary", test_chunk_cut_boundary);
  ADD ("chunk-cut-inside", test_chunk_cut_inside);
  ADD ("chunked-confirmed", test_chunked_confirmed);
  ADD ("chunk-cut-no-ranges", test_chunk_cut_no_ranges);
  ADD ("stall", test_stall);
  ADD ("redirects", test_redirects);
  ADD ("redirect-loop", test_redirect_loop);
  ADD ("status-404", test_status_404);
  ADD ("status-classes", test_status_classes);
  ADD ("status-416", test_status_416);
  ADD ("retry-after", test_retry_after);
  ADD ("retry-after-gives-up", test_retry_after_gives_up);
  ADD ("all-there-416", test_all_there_416);
  ADD ("partial-file-shorter", test_partial_file_shorter);
  ADD_DATA ("partial-file-holes", test_partial_file_holes, GINT_TO_POINTER (FALSE));
  ADD_DATA ("partial-file-holes-cut", test_partial_file_holes, GINT_TO_POINTER (TRUE));
  ADD ("partial-file-longer", test_partial_file_longer);
  ADD ("length-changed", test_length_changed);
  ADD ("refresh-link", test_refresh_link);
  ADD ("refresh-link-refused", test_refresh_link_refused);
  ADD ("wait-for-network", test_wait_for_network);
  ADD ("server-comes-back", test_server_comes_back);
  ADD ("disposition", test_disposition);
  ADD ("disposition-long-invalid", test_disposition_long_and_invalid);
  ADD ("chunked", test_chunked);
  ADD ("html-on-resume", test_html_on_resume);
  ADD ("gzip", test_gzip);
  ADD ("refused", test_refused);
  ADD ("cancel", test_cancel);
  ADD ("disk-full", test_disk_full);
  ADD ("preallocated", test_preallocated);
  ADD ("missing-folder", test_missing_folder);
  ADD ("checksum", test_checksum);
  ADD ("notify-coalesced", test_notify_coalesced);
  g_test_add_func ("/download/bad-uri", test_bad_uri);

  return g_test_run ();
}
