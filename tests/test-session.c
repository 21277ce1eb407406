/* test-session.c
 *
 * The session: its list model, its queue and limits, and the list surviving a restart through
 * a real SQLite store, against the loopback test server.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <signal.h>
#include <string.h>

#include <glib/gstdio.h>

#include "sl-session.h"
#include "sl-store.h"
#include "sl-test-server.h"
#include "sl-test-utils.h"

#define WAIT_MS (60 * 1000)

typedef struct
{
  SlTestServer *server;
  GFile        *dir;
  char         *dir_path;
  char         *db_path;
} Fixture;

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr (GFile) db_dir = sl_test_make_temp_dir ();
  g_autofree char *db_dir_path = g_file_get_path (db_dir);

  fixture->server = sl_test_server_new ();
  fixture->dir = sl_test_make_temp_dir ();
  fixture->dir_path = g_file_get_path (fixture->dir);
  fixture->db_path = g_build_filename (db_dir_path, "downloads.db", NULL);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autofree char *db_dir = g_path_get_dirname (fixture->db_path);
  g_autoptr (GFile) db_dir_file = g_file_new_for_path (db_dir);

  sl_test_server_quit_unref (fixture->server);
  sl_test_rm_rf (fixture->dir);
  sl_test_rm_rf (db_dir_file);
  g_object_unref (fixture->dir);
  g_free (fixture->dir_path);
  g_free (fixture->db_path);
}

static GVariant *
options_for (Fixture    *fixture,
             const char *filename,
             gboolean    paused)
{
  g_auto (GVariantDict) dict = G_VARIANT_DICT_INIT (NULL);

  g_variant_dict_insert (&dict, "directory", "s", fixture->dir_path);
  if (filename != NULL)
    g_variant_dict_insert (&dict, "filename", "s", filename);
  if (paused)
    g_variant_dict_insert (&dict, "paused", "b", TRUE);
  return g_variant_ref_sink (g_variant_dict_end (&dict));
}

static SlDownload *
add (SlSession  *session,
     Fixture    *fixture,
     const char *path_and_query,
     const char *filename,
     gboolean    paused)
{
  g_autofree char *url = sl_test_server_url (fixture->server, path_and_query);
  g_autoptr (GVariant) options = options_for (fixture, filename, paused);
  g_autoptr (GError) error = NULL;
  SlDownload *download = sl_session_add (session, url, options, &error);

  g_assert_no_error (error);
  g_assert_nonnull (download);
  return download;
}

typedef struct
{
  SlSession *session;
  guint      max_seen_active;
  guint      max_seen_running;
} Observer;

static void
on_n_active (SlSession  *session,
             GParamSpec *pspec,
             Observer   *observer)
{
  guint running = 0;

  observer->max_seen_active = MAX (observer->max_seen_active, sl_session_get_n_active (session));
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (session)); i++)
    {
      g_autoptr (SlDownload) download = g_list_model_get_item (G_LIST_MODEL (session), i);

      if (sl_download_get_state (download) == SL_DOWNLOAD_STATE_RUNNING)
        running++;
    }
  observer->max_seen_running = MAX (observer->max_seen_running, running);
}

static gboolean
all_completed (gpointer data)
{
  GListModel *model = data;

  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr (SlDownload) download = g_list_model_get_item (model, i);

      if (sl_download_get_state (download) != SL_DOWNLOAD_STATE_COMPLETED)
        return FALSE;
    }
  return TRUE;
}

static gboolean
store_flushed (gpointer data)
{
  return *(gboolean *) data;
}

static void
on_flushed (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (sl_store_flush_finish (SL_STORE (object), result, &error));
  g_assert_no_error (error);
  *(gboolean *) user_data = TRUE;
}

static void
flush (SlStore *store)
{
  gboolean done = FALSE;

  sl_store_flush_async (store, NULL, on_flushed, &done);
  sl_test_wait_until (NULL, store_flushed, &done, WAIT_MS);
}

static SlStore *
open_store (Fixture *fixture)
{
  g_autofree char *recovery = NULL;
  g_autoptr (GError) error = NULL;
  SlStore *store = sl_store_open (fixture->db_path, &recovery, &error);

  g_assert_no_error (error);
  g_assert_null (recovery);
  return store;
}

typedef struct
{
  guint added;
  guint removed;
} Changes;

static void
on_items_changed (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  Changes    *changes)
{
  changes->added += added;
  changes->removed += removed;
}

static void
test_list_model (Fixture       *fixture,
                 gconstpointer  data)
{
  SlSession *session = sl_session_new (NULL);
  g_autofree char *path = g_build_filename (fixture->dir_path, "one.bin", NULL);
  SlDownload *download;
  Changes changes = { 0, 0 };
  gint64 id;

  g_signal_connect (session, "items-changed", G_CALLBACK (on_items_changed), &changes);
  g_assert_true (g_list_model_get_item_type (G_LIST_MODEL (session)) == SL_TYPE_DOWNLOAD);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (session)), ==, 0);

  download = add (session, fixture, "/file?size=30000", "one.bin", FALSE);
  g_assert_cmpuint (changes.added, ==, 1);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (session)), ==, 1);
  id = sl_session_get_id (session, download);
  g_assert_cmpint (id, >, 0);
  g_assert_true (sl_session_lookup (session, id) == download);
  g_assert_null (g_list_model_get_item (G_LIST_MODEL (session), 1));

  sl_test_wait_for_state (download, SL_DOWNLOAD_STATE_COMPLETED);
  sl_test_assert_file_is_entity (path, 1, 30000);

  sl_session_remove (session, download, TRUE);
  g_assert_cmpuint (changes.removed, ==, 1);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (session)), ==, 0);
  g_assert_null (sl_session_lookup (session, id));

  g_signal_handlers_disconnect_by_data (session, &changes);
  g_assert_finalize_object (session);
}

static void
test_limits (Fixture       *fixture,
             gconstpointer  data)
{
  SlSession *session = sl_session_new (NULL);
  Observer observer = { session, 0, 0 };

  sl_session_set_max_active (session, 2);
  sl_session_set_max_per_host (session, 8);
  g_signal_connect (session, "notify::n-active", G_CALLBACK (on_n_active), &observer);

  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *query = g_strdup_printf ("/file?size=400000&seed=%u&rate=2000000", i);
      g_autofree char *name = g_strdup_printf ("f%u", i);

      add (session, fixture, query, name, FALSE);
    }

  sl_test_wait_until (NULL, all_completed, session, WAIT_MS);
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *path = g_strdup_printf ("%s/f%u", fixture->dir_path, i);

      sl_test_assert_file_is_entity (path, i, 400000);
    }

  /* The queue ran, two at a time and never more. */
  g_assert_cmpuint (observer.max_seen_active, ==, 2);
  g_assert_cmpuint (observer.max_seen_running, <=, 2);
  g_assert_cmpuint (sl_session_get_n_active (session), ==, 0);

  g_signal_handlers_disconnect_by_data (session, &observer);
  g_assert_finalize_object (session);
}

static void
test_per_host (Fixture       *fixture,
               gconstpointer  data)
{
  SlSession *session = sl_session_new (NULL);
  Observer observer = { session, 0, 0 };

  sl_session_set_max_active (session, 5);
  sl_session_set_max_per_host (session, 1);
  g_signal_connect (session, "notify::n-active", G_CALLBACK (on_n_active), &observer);

  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *query = g_strdup_printf ("/file?size=200000&seed=%u&rate=2000000", i);
      g_autofree char *name = g_strdup_printf ("h%u", i);

      add (session, fixture, query, name, FALSE);
    }

  sl_test_wait_until (NULL, all_completed, session, WAIT_MS);
  g_assert_cmpuint (observer.max_seen_active, ==, 1);

  g_signal_handlers_disconnect_by_data (session, &observer);
  g_assert_finalize_object (session);
}

/* A refreshed link to another host counts against that host from then on: it starts while the
 * old host's slots are all taken. */
static void
test_refresh_other_host (Fixture       *fixture,
                         gconstpointer  data)
{
  SlSession *session = sl_session_new (NULL);
  g_autofree char *path = g_build_filename (fixture->dir_path, "moved.bin", NULL);
  g_autofree char *old_url = NULL;
  g_autofree char *new_url = NULL;
  g_autoptr (GError) error = NULL;
  SlDownload *slow[2];
  SlDownload *moved;

  sl_session_set_max_active (session, 5);
  sl_session_set_max_per_host (session, 2);
  moved = add (session, fixture, "/status?code=404", "moved.bin", FALSE);
  sl_test_wait_for_state (moved, SL_DOWNLOAD_STATE_FAILED);

  for (guint i = 0; i < G_N_ELEMENTS (slow); i++)
    {
      g_autofree char *query = g_strdup_printf ("/file?size=8000000&seed=%u&rate=400000", i);
      g_autofree char *name = g_strdup_printf ("slow%u", i);

      slow[i] = add (session, fixture, query, name, FALSE);
      sl_test_wait_for_state (slow[i], SL_DOWNLOAD_STATE_RUNNING);
    }

  /* The same server, by another host name. */
  old_url = sl_test_server_url (fixture->server, "/file?size=30000&seed=7");
  g_assert_true (g_str_has_prefix (old_url, "http://127.0.0.1:"));
  new_url = g_strconcat ("http://localhost", old_url + strlen ("http://127.0.0.1"), NULL);
  g_assert_true (sl_download_refresh_link (moved, new_url, &error));
  g_assert_no_error (error);
  sl_session_resume (session, moved);

  sl_test_wait_for_state (moved, SL_DOWNLOAD_STATE_COMPLETED);
  sl_test_assert_file_is_entity (path, 7, 30000);
  for (guint i = 0; i < G_N_ELEMENTS (slow); i++)
    {
      g_assert_cmpint (sl_download_get_state (slow[i]), ==, SL_DOWNLOAD_STATE_RUNNING);
      sl_session_pause (session, slow[i]);
      sl_test_wait_for_state (slow[i], SL_DOWNLOAD_STATE_PAUSED);
    }

  g_assert_finalize_object (session);
}

static void
test_pause_resume (Fixture       *fixture,
                   gconstpointer  data)
{
  SlSession *session = sl_session_new (NULL);
  g_autofree char *path = g_build_filename (fixture->dir_path, "p.bin", NULL);
  SlDownload *download;
  SlDownload *queued;

  sl_session_set_max_active (session, 1);
  download = add (session, fixture, "/file?size=2000000&rate=2000000&chunk=16384", "p.bin",
                  FALSE);
  queued = add (session, fixture, "/file?size=1000&seed=2", "q.bin", TRUE);
  sl_test_wait_for_state (download, SL_DOWNLOAD_STATE_RUNNING);
  g_assert_cmpint (sl_download_get_state (queued), ==, SL_DOWNLOAD_STATE_PAUSED);

  sl_session_pause (session, download);
  sl_test_wait_for_state (download, SL_DOWNLOAD_STATE_PAUSED);
  /* A paused download frees its slot, but the other one is paused too: nothing runs. */
  g_assert_cmpint (sl_download_get_state (queued), ==, SL_DOWNLOAD_STATE_PAUSED);

  sl_session_resume_all (session);
  sl_test_wait_until (NULL, all_completed, session, WAIT_MS);
  sl_test_assert_file_is_entity (path, 1, 2000000);

  g_assert_finalize_object (session);
}

/* The header options reach the server, with Sluice's own headers untouched. */
static void
test_request_headers (Fixture       *fixture,
                      gconstpointer  data)
{
  SlSession *session = sl_session_new (NULL);
  g_autofree char *url = sl_test_server_url (fixture->server, "/file?size=100&seed=4");
  g_autofree char *options_text =
    g_strdup_printf ("{'directory': <'%s'>, 'cookies': <'a=b; c=d'>, "
                     "'user-agent': <'Agent/2.0'>, 'referrer': <'https://example.org/page'>, "
                     "'headers': <{'X-Token': 'secret', 'Accept': 'application/octet-stream'}>}",
                     fixture->dir_path);
  g_autoptr (GVariant) options = g_variant_ref_sink (g_variant_new_parsed (options_text));
  g_autoptr (GPtrArray) requests = NULL;
  g_autoptr (GError) error = NULL;
  SlDownload *download;
  char **headers;

  download = sl_session_add (session, url, options, &error);
  g_assert_no_error (error);
  sl_test_wait_for_state (download, SL_DOWNLOAD_STATE_COMPLETED);

  requests = sl_test_server_requests (fixture->server, "/file");
  g_assert_cmpuint (requests->len, ==, 1);
  headers = ((SlTestRequest *) requests->pdata[0])->headers;
  g_assert_true (g_strv_contains ((const char * const *) headers, "Cookie: a=b; c=d"));
  g_assert_true (g_strv_contains ((const char * const *) headers, "User-Agent: Agent/2.0"));
  g_assert_true (g_strv_contains ((const char * const *) headers,
                                  "Referer: https://example.org/page"));
  g_assert_true (g_strv_contains ((const char * const *) headers, "X-Token: secret"));
  g_assert_true (g_strv_contains ((const char * const *) headers,
                                  "Accept: application/octet-stream"));
  g_assert_true (g_strv_contains ((const char * const *) headers, "Accept-Encoding: identity"));

  g_assert_finalize_object (session);
}

/* The `connections` option reaches the download: its first request asks for "bytes=0-" and
 * other connections fetch parts. */
static void
test_connections (Fixture       *fixture,
                  gconstpointer  data)
{
  SlSession *session = sl_session_new (NULL);
  g_autofree char *url = sl_test_server_url (fixture->server,
                                             "/file?size=4194304&seed=9&rate=2000000");
  g_autofree char *options_text =
    g_strdup_printf ("{'directory': <'%s'>, 'connections': <uint32 4>}", fixture->dir_path);
  g_autoptr (GVariant) options = g_variant_ref_sink (g_variant_new_parsed (options_text));
  g_autoptr (GPtrArray) requests = NULL;
  g_autofree char *path = g_build_filename (fixture->dir_path, "file", NULL);
  g_autoptr (GError) error = NULL;
  SlDownload *download;

  download = sl_session_add (session, url, options, &error);
  g_assert_no_error (error);
  sl_test_wait_for_state (download, SL_DOWNLOAD_STATE_COMPLETED);
  sl_test_assert_file_is_entity (path, 9, 4194304);

  requests = sl_test_server_requests (fixture->server, "/file");
  g_assert_cmpuint (requests->len, >=, 2);
  g_assert_cmpstr (((SlTestRequest *) requests->pdata[0])->range, ==, "bytes=0-");
  g_assert_nonnull (((SlTestRequest *) requests->pdata[1])->if_range);

  g_assert_finalize_object (session);
}

/* `connections` 0 adds connections while they pay, and `speed-limit` caps the download over
 * all of them: it takes at least as long as the limit allows (less the one 50 ms burst). */
static void
test_speed_limit (Fixture       *fixture,
                  gconstpointer  data)
{
  SlSession *session = sl_session_new (NULL);
  g_autofree char *url = sl_test_server_url (fixture->server, "/file?size=2000000&seed=10");
  g_autofree char *options_text =
    g_strdup_printf ("{'directory': <'%s'>, 'connections': <uint32 0>, "
                     "'speed-limit': <uint64 1000000>}", fixture->dir_path);
  g_autoptr (GVariant) options = g_variant_ref_sink (g_variant_new_parsed (options_text));
  g_autoptr (GPtrArray) requests = NULL;
  g_autofree char *path = g_build_filename (fixture->dir_path, "file", NULL);
  g_autoptr (GError) error = NULL;
  SlDownload *download;
  gint64 started = g_get_monotonic_time ();

  download = sl_session_add (session, url, options, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sl_download_get_speed_limit (download), ==, 1000000);
  sl_test_wait_for_state (download, SL_DOWNLOAD_STATE_COMPLETED);
  /* 2 MB at 1 MB/s, less 50 ms of it. */
  g_assert_cmpint (g_get_monotonic_time () - started, >=, 1950 * G_TIME_SPAN_MILLISECOND);
  sl_test_assert_file_is_entity (path, 10, 2000000);

  requests = sl_test_server_requests (fixture->server, "/file");
  g_assert_cmpstr (((SlTestRequest *) requests->pdata[0])->range, ==, "bytes=0-");

  g_assert_finalize_object (session);
}

/* Without the `connections` option, the session's default holds: automatic at first, one
 * plain request once it is 1. */
static void
test_default_connections (Fixture       *fixture,
                          gconstpointer  data)
{
  SlSession *session = sl_session_new (NULL);
  g_autoptr (GPtrArray) requests = NULL;
  SlDownload *download;

  g_assert_cmpuint (sl_session_get_connections (session), ==, 0);
  download = add (session, fixture, "/file?size=300000&seed=37", "automatic", FALSE);
  sl_test_wait_for_state (download, SL_DOWNLOAD_STATE_COMPLETED);
  requests = sl_test_server_requests (fixture->server, "/file");
  g_assert_cmpstr (((SlTestRequest *) requests->pdata[0])->range, ==, "bytes=0-");
  g_clear_pointer (&requests, g_ptr_array_unref);

  sl_session_set_connections (session, 1);
  download = add (session, fixture, "/file?size=300000&seed=38", "one", FALSE);
  sl_test_wait_for_state (download, SL_DOWNLOAD_STATE_COMPLETED);
  requests = sl_test_server_requests (fixture->server, "/file");
  g_assert_cmpuint (requests->len, ==, 2);
  g_assert_null (((SlTestRequest *) requests->pdata[1])->range);

  g_assert_finalize_object (session);
}

/* What the connections of a session's downloads did, as they went. */
typedef struct
{
  SlSession *session;
  guint      max_total;   /* connections open at once, all downloads together */
  guint      max_each[2]; /* connections each of the first two downloads had at once */
} ConnectionWatch;

static void
on_connections (SlDownload      *download,
                GParamSpec      *pspec,
                ConnectionWatch *watch)
{
  guint total = 0;

  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (watch->session)); i++)
    {
      g_autoptr (SlDownload) item = g_list_model_get_item (G_LIST_MODEL (watch->session), i);
      guint n = sl_download_get_connections (item);

      total += n;
      if (i < G_N_ELEMENTS (watch->max_each))
        watch->max_each[i] = MAX (watch->max_each[i], n);
    }
  watch->max_total = MAX (watch->max_total, total);
}

static SlDownload *
add_watched (SlSession       *session,
             Fixture         *fixture,
             const char      *path_and_query,
             const char      *filename,
             guint            connections,
             ConnectionWatch *watch)
{
  g_autofree char *url = sl_test_server_url (fixture->server, path_and_query);
  g_autofree char *options_text =
    g_strdup_printf ("{'directory': <'%s'>, 'filename': <'%s'>, 'connections': <uint32 %u>}",
                     fixture->dir_path, filename, connections);
  g_autoptr (GVariant) options = g_variant_ref_sink (g_variant_new_parsed (options_text));
  g_autoptr (GError) error = NULL;
  SlDownload *download = sl_session_add (session, url, options, &error);

  g_assert_no_error (error);
  g_signal_connect (download, "notify::connections", G_CALLBACK (on_connections), watch);
  return download;
}

static gboolean
has_connections (gpointer data)
{
  return sl_download_get_connections (data) >= 4;
}

/* A host's connections are the session's to share: a second download of the same host makes
 * the first give up half of its connections, and the two never have more open than the host's
 * limit. */
static void
test_host_shares (Fixture       *fixture,
                  gconstpointer  data)
{
  SlSession *session = sl_session_new (NULL);
  ConnectionWatch watch = { session, 0, { 0 } };
  g_autofree char *first_path = g_build_filename (fixture->dir_path, "first", NULL);
  g_autofree char *second_path = g_build_filename (fixture->dir_path, "second", NULL);
  SlDownload *first, *second;

  sl_session_set_max_per_host (session, 4);
  first = add_watched (session, fixture, "/file?size=8000000&seed=31&rate=1000000", "first",
                       4, &watch);
  sl_test_wait_until (NULL, has_connections, first, WAIT_MS);
  second = add_watched (session, fixture, "/file?size=6000000&seed=32&rate=1000000", "second",
                        4, &watch);
  sl_test_wait_for_state (second, SL_DOWNLOAD_STATE_COMPLETED);
  sl_test_wait_for_state (first, SL_DOWNLOAD_STATE_COMPLETED);

  sl_test_assert_file_is_entity (first_path, 31, 8000000);
  sl_test_assert_file_is_entity (second_path, 32, 6000000);
  g_test_message ("at most %u connections in all, %u and %u each", watch.max_total,
                  watch.max_each[0], watch.max_each[1]);
  g_assert_cmpuint (watch.max_total, <=, 4);
  g_assert_cmpuint (watch.max_each[0], ==, 4);
  /* The second got its half while the first still ran. */
  g_assert_cmpuint (watch.max_each[1], >=, 2);
  /* The server's count is not asserted: a throttled body it sends notices that its
   * connection closed only at its next write, while the second download's are open. */

  g_signal_handlers_disconnect_by_data (first, &watch);
  g_signal_handlers_disconnect_by_data (second, &watch);
  g_assert_finalize_object (session);
}

/* A host that refused a third connection gets two from then on: a later download of it
 * opens no more, and meets no refusal. */
static void
test_host_cap_remembered (Fixture       *fixture,
                          gconstpointer  data)
{
  SlSession *session = sl_session_new (NULL);
  ConnectionWatch watch = { session, 0, { 0 } };
  g_autofree char *second_path = g_build_filename (fixture->dir_path, "second", NULL);
  g_autoptr (GPtrArray) requests = NULL;
  SlDownload *first, *second;
  guint refused = 0, before;

  first = add_watched (session, fixture,
                       "/segments?size=8000000&seed=33&rate=2000000&fault=cap&conns=2&times=0",
                       "first", 4, &watch);
  sl_test_wait_for_state (first, SL_DOWNLOAD_STATE_COMPLETED);
  requests = sl_test_server_requests (fixture->server, "/segments");
  before = requests->len;
  for (guint i = 0; i < requests->len; i++)
    if (((SlTestRequest *) requests->pdata[i])->status == SOUP_STATUS_SERVICE_UNAVAILABLE)
      refused++;
  /* Else the test shows nothing. */
  g_assert_cmpuint (refused, >=, 1);
  g_clear_pointer (&requests, g_ptr_array_unref);

  second = add_watched (session, fixture,
                        "/segments?size=8000000&seed=34&rate=2000000&fault=cap&conns=2&times=0",
                        "second", 4, &watch);
  sl_test_wait_for_state (second, SL_DOWNLOAD_STATE_COMPLETED);
  sl_test_assert_file_is_entity (second_path, 34, 8000000);
  /* Not the four it asked for. */
  g_assert_cmpuint (watch.max_each[1], ==, 2);
  requests = sl_test_server_requests (fixture->server, "/segments");
  g_assert_cmpuint (requests->len, >, before + 1);
  refused = 0;
  for (guint i = before; i < requests->len; i++)
    if (((SlTestRequest *) requests->pdata[i])->status == SOUP_STATUS_SERVICE_UNAVAILABLE)
      refused++;
  /* A cut connection counts at the server until its next write, so a refusal may still
   * come now and then. */
  g_test_message ("%u of %u requests of the second refused", refused, requests->len - before);

  g_signal_handlers_disconnect_by_data (first, &watch);
  g_signal_handlers_disconnect_by_data (second, &watch);
  g_assert_finalize_object (session);
}

/* The settings a store keeps come back with a new session; one that is damaged (another
 * type, out of range) is left at its default, saying so, and a host's cap holds until it
 * expires. */
static void
test_settings_restored (Fixture       *fixture,
                        gconstpointer  data)
{
  SlStore *store = open_store (fixture);
  SlSession *session;
  ConnectionWatch watch = { NULL, 0, { 0 } };
  SlDownload *download;
  g_autoptr (GError) error = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  sl_store_set_setting (store, "max-active", g_variant_new_uint32 (7));
  sl_store_set_setting (store, "max-per-host", g_variant_new_uint32 (0));
  sl_store_set_setting (store, "max-speed", g_variant_new_string ("fast"));
  sl_store_set_setting (store, "connections", g_variant_new_uint32 (1));
  sl_store_set_setting (store, "host-caps",
                        g_variant_new_parsed ("{'127.0.0.1': (uint32 2, int64 %x), "
                                              "'gone.example': (uint32 1, int64 %x)}",
                                              now + 3600, now - 1));
  sl_store_flush_sync (store, &error);
  g_assert_no_error (error);

  g_test_expect_message ("Sluice", G_LOG_LEVEL_WARNING,
                         "Ignoring the setting “max-per-host”: 0 is not within 1–256");
  g_test_expect_message ("Sluice", G_LOG_LEVEL_WARNING,
                         "Ignoring the setting “max-speed”: it is of type s, not t");
  session = sl_session_new (store);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (sl_session_get_max_active (session), ==, 7);
  g_assert_cmpuint (sl_session_get_max_per_host (session), ==, 8);
  g_assert_cmpuint (sl_session_get_max_speed (session), ==, 0);
  g_assert_cmpuint (sl_session_get_connections (session), ==, 1);

  /* Four asked for, two the host took before. */
  watch.session = session;
  download = add_watched (session, fixture, "/file?size=8000000&seed=39&rate=2000000", "capped",
                          4, &watch);
  sl_test_wait_for_state (download, SL_DOWNLOAD_STATE_COMPLETED);
  g_assert_cmpuint (watch.max_each[0], ==, 2);

  g_signal_handlers_disconnect_by_data (download, &watch);
  g_assert_finalize_object (session);
  g_object_unref (store);
}

/* The session's speed limit holds over all downloads together, and lifting it lets them
 * run free at once. */
static void
test_max_speed (Fixture       *fixture,
                gconstpointer  data)
{
  SlSession *session = sl_session_new (NULL);
  ConnectionWatch watch = { session, 0, { 0 } };
  SlDownload *downloads[2];
  gint64 started = g_get_monotonic_time ();

  sl_session_set_max_speed (session, 1000000);
  g_assert_cmpuint (sl_session_get_max_speed (session), ==, 1000000);
  downloads[0] = add_watched (session, fixture, "/file?size=1000000&seed=35", "a", 1, &watch);
  downloads[1] = add_watched (session, fixture, "/file?size=1000000&seed=36", "b", 1, &watch);
  sl_test_wait_until (NULL, all_completed, session, WAIT_MS);
  /* 2 MB at 1 MB/s, less the two buckets' 50 ms bursts. */
  g_assert_cmpint (g_get_monotonic_time () - started, >=, 1900 * G_TIME_SPAN_MILLISECOND);
  /* Both ran at once, sharing it. */
  g_assert_cmpuint (watch.max_total, ==, 2);

  for (guint i = 0; i < G_N_ELEMENTS (downloads); i++)
    g_signal_handlers_disconnect_by_data (downloads[i], &watch);
  g_assert_finalize_object (session);
}

static gboolean
quarter_done (gpointer data)
{
  return sl_download_get_bytes_received (data) >= 2000000;
}

/* Under the session's limit a download given eight connections opens only those the limit
 * needs; lifted while it runs, the download opens the rest. */
static void
test_max_speed_lifted (Fixture       *fixture,
                       gconstpointer  data)
{
  SlSession *session = sl_session_new (NULL);
  ConnectionWatch watch = { session, 0, { 0 } };
  g_autofree char *path = g_build_filename (fixture->dir_path, "lifted", NULL);
  SlDownload *download;

  sl_session_set_max_speed (session, 4000000);
  download = add_watched (session, fixture, "/file?size=8000000&seed=40&rate=2000000", "lifted",
                          8, &watch);
  sl_test_wait_until (NULL, quarter_done, download, WAIT_MS);
  g_test_message ("%u connections under the limit", watch.max_each[0]);
  g_assert_cmpuint (watch.max_each[0], <=, 3);

  sl_session_set_max_speed (session, 0);
  sl_test_wait_for_state (download, SL_DOWNLOAD_STATE_COMPLETED);
  g_assert_cmpuint (watch.max_each[0], >=, 6);
  sl_test_assert_file_is_entity (path, 40, 8000000);

  g_signal_handlers_disconnect_by_data (download, &watch);
  g_assert_finalize_object (session);
}

static void
test_refused (Fixture       *fixture,
              gconstpointer  data)
{
  SlSession *session = sl_session_new (NULL);
  g_autofree char *url = sl_test_server_url (fixture->server, "/file?size=10");
  g_autofree char *not_a_dir = g_build_filename (fixture->dir_path, "file", NULL);
  struct {
    const char *uri;
    const char *options;
    const char *fragment;
  } cases[] = {
    { "ftp://example.org/x", NULL, "ftp" },
    { "not a url", NULL, NULL },
    { NULL, "{'directory': <uint32 5>}", "directory" },
    { NULL, "{'directory': <'relative/path'>}", "absolute" },
    { NULL, "{'directory': <'/nonexistent/folder'>}", "/nonexistent/folder" },
    { NULL, "{'paused': <'yes'>}", "paused" },
    { NULL, "{'headers': <{'X-A': <'b'>}>}", "headers" },
    { NULL, "{'headers': <{'Bad Name': 'v'}>}", "Bad Name" },
    { NULL, "{'headers': <{'Range': 'bytes=5-'}>}", "Range" },
    { NULL, "{'headers': <{'If-None-Match': '*'}>}", "If-None-Match" },
    { NULL, "{'cookies': <'a=b\\r\\nX-Injected: 1'>}", "Cookie" },
    { NULL, "{'user-agent': <'Agent\\n'>}", "User-Agent" },
    { NULL, "{'referrer': <'https://example.org/\\r'>}", "Referer" },
    { NULL, "{'filename': <'sub/x.bin'>}", "/" },
    { NULL, "{'checksum': <'md5=00'>}", "32 hexadecimal" },
    { NULL, "{'checksum': <'crc32=00'>}", "sha256" },
    { NULL, "{'connections': <uint32 17>}", "Connections" },
    { NULL, "{'speed-limit': <uint32 5>}", "speed-limit" },
    { NULL, "{'filename': <'..'>}", ".." },
    { NULL, "{'frobnicate': <true>}", "frobnicate" },
  };

  g_assert_true (g_file_set_contents (not_a_dir, "x", -1, NULL));

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GVariant) options = NULL;
      g_autoptr (GError) error = NULL;
      SlDownload *download;

      if (cases[i].options != NULL)
        options = g_variant_ref_sink (g_variant_new_parsed (cases[i].options));
      download = sl_session_add (session, cases[i].uri ? cases[i].uri : url, options, &error);
      g_test_message ("case %u: %s", i, error ? error->message : "accepted");
      g_assert_null (download);
      g_assert_nonnull (error);
      g_assert_null (strchr (error->message, '\n'));
      if (cases[i].fragment != NULL && strstr (error->message, cases[i].fragment) == NULL)
        g_error ("“%s” does not mention “%s”", error->message, cases[i].fragment);
    }

  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (session)), ==, 0);
  g_assert_finalize_object (session);
}

/* A name with a folder in it is refused, not stripped down to its last part. */
static void
test_hostile_filename (Fixture       *fixture,
                       gconstpointer  data)
{
  static const char * const names[] = { "../../escape.sh", "sub/x.bin", "a\\b", "", ".." };
  SlSession *session = sl_session_new (NULL);
  g_autofree char *url = sl_test_server_url (fixture->server, "/file?size=100");
  const char *listing[] = { NULL };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr (GVariant) options = options_for (fixture, names[i], FALSE);
      g_autoptr (GError) error = NULL;

      g_assert_null (sl_session_add (session, url, options, &error));
      g_assert_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_ARGUMENT);
    }

  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (session)), ==, 0);
  sl_test_assert_dir_is (fixture->dir, listing);
  g_assert_finalize_object (session);
}

static void
test_move (Fixture       *fixture,
           gconstpointer  data)
{
  SlSession *session = sl_session_new (NULL);
  SlDownload *a = add (session, fixture, "/file?size=10", "a", TRUE);
  SlDownload *b = add (session, fixture, "/file?size=10", "b", TRUE);
  SlDownload *c = add (session, fixture, "/file?size=10", "c", TRUE);
  g_autoptr (SlDownload) first = NULL;
  g_autoptr (SlDownload) last = NULL;

  g_assert_true (sl_session_move (session, c, 0));
  g_assert_false (sl_session_move (session, c, 0));
  first = g_list_model_get_item (G_LIST_MODEL (session), 0);
  last = g_list_model_get_item (G_LIST_MODEL (session), 2);
  g_assert_true (first == c);
  g_assert_true (last == b);
  (void) a;

  g_clear_object (&first);
  g_clear_object (&last);
  g_assert_finalize_object (session);
}

static gboolean
partial_grew (gpointer data)
{
  GStatBuf st;

  /* Past the first checkpoint (5 s in), so the store holds bytes to resume from. */
  return g_stat (data, &st) == 0 && st.st_size >= 5600000;
}

/* The first life of test_restart, in a child process that dies by SIGKILL mid-download. */
static void
restart_child (void)
{
  g_autofree char *recovery = NULL;
  g_autoptr (GError) error = NULL;
  const char *base = g_getenv ("SL_TEST_BASE");
  const char *dir = g_getenv ("SL_TEST_DIR");
  const char *db = g_getenv ("SL_TEST_DB");
  g_autofree char *slow_partial = g_build_filename (dir, "slow.bin.part", NULL);
  SlStore *store = sl_store_open (db, &recovery, &error);
  SlSession *session;
  struct {
    const char *query;
    const char *name;
    gboolean    paused;
  } adds[] = {
    { "/file?size=5000&seed=1", "done.bin", FALSE },
    { "/file?size=5000&seed=2", "paused.bin", TRUE },
    { "/file?size=8000000&seed=3&rate=1000000&chunk=16384", "slow.bin", FALSE },
  };
  SlDownload *downloads[3];

  g_assert_no_error (error);
  session = sl_session_new (store);
  for (guint i = 0; i < G_N_ELEMENTS (adds); i++)
    {
      g_autofree char *url = g_strconcat (base, adds[i].query, NULL);
      g_auto (GVariantDict) dict = G_VARIANT_DICT_INIT (NULL);

      g_variant_dict_insert (&dict, "directory", "s", dir);
      g_variant_dict_insert (&dict, "filename", "s", adds[i].name);
      g_variant_dict_insert (&dict, "paused", "b", adds[i].paused);
      downloads[i] = sl_session_add (session, url, g_variant_dict_end (&dict), &error);
      g_assert_no_error (error);
    }

  sl_test_wait_for_state (downloads[0], SL_DOWNLOAD_STATE_COMPLETED);
  sl_test_wait_until (NULL, partial_grew, slow_partial, WAIT_MS);
  flush (store);

  /* No pause, no goodbye: the list must survive as it was last recorded. */
  raise (SIGKILL);
}

static void
test_restart (Fixture       *fixture,
              gconstpointer  data)
{
  g_autofree char *base = g_strdup_printf ("http://127.0.0.1:%u",
                                           sl_test_server_port (fixture->server));
  g_autofree char *done_path = g_build_filename (fixture->dir_path, "done.bin", NULL);
  g_autofree char *slow_path = g_build_filename (fixture->dir_path, "slow.bin", NULL);
  const char *listing[] = { "done.bin", "slow.bin", NULL };
  SlStore *store;
  SlSession *session;
  SlDownload *done = NULL, *paused = NULL, *slow = NULL;
  g_autoptr (GPtrArray) requests = NULL;
  gint64 resumed_from = 0;

  if (g_test_subprocess ())
    {
      restart_child ();
      return;
    }

  g_setenv ("SL_TEST_BASE", base, TRUE);
  g_setenv ("SL_TEST_DIR", fixture->dir_path, TRUE);
  g_setenv ("SL_TEST_DB", fixture->db_path, TRUE);
  g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_failed ();

  store = open_store (fixture);
  session = sl_session_new (store);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (session)), ==, 3);

  for (guint i = 0; i < 3; i++)
    {
      g_autoptr (SlDownload) download = g_list_model_get_item (G_LIST_MODEL (session), i);
      const char *name = sl_download_get_filename (download);

      if (g_str_equal (name, "done.bin"))
        done = download;
      else if (g_str_equal (name, "paused.bin"))
        paused = download;
      else if (g_str_equal (name, "slow.bin"))
        slow = download;
    }
  g_assert_nonnull (done);
  g_assert_nonnull (paused);
  g_assert_nonnull (slow);

  /* History stays, paused stays paused, the running one resumes on its own and ends right. */
  g_assert_cmpint (sl_download_get_state (done), ==, SL_DOWNLOAD_STATE_COMPLETED);
  g_assert_cmpint (sl_download_get_bytes_received (done), ==, 5000);
  g_assert_cmpint (sl_download_get_state (paused), ==, SL_DOWNLOAD_STATE_PAUSED);
  sl_test_wait_for_state (slow, SL_DOWNLOAD_STATE_COMPLETED);
  sl_test_assert_file_is_entity (slow_path, 3, 8000000);
  sl_test_assert_file_is_entity (done_path, 1, 5000);
  g_assert_cmpint (sl_download_get_state (paused), ==, SL_DOWNLOAD_STATE_PAUSED);
  sl_test_assert_dir_is (fixture->dir, listing);

  /* It continued from its last checkpoint rather than from nothing. */
  requests = sl_test_server_requests (fixture->server, "/file");
  for (guint i = 0; i < requests->len; i++)
    {
      SlTestRequest *request = requests->pdata[i];

      if (request->range != NULL && g_str_has_prefix (request->range, "bytes="))
        resumed_from = MAX (resumed_from, g_ascii_strtoll (request->range + 6, NULL, 10));
    }
  g_test_message ("resumed from byte %" G_GINT64_FORMAT, resumed_from);
  g_assert_cmpint (resumed_from, >, 1000000);

  flush (store);
  g_assert_finalize_object (session);
  g_assert_finalize_object (store);
}

static gboolean
nothing_active (gpointer data)
{
  return sl_session_get_n_active (data) == 0;
}

static gboolean
has_bytes (gpointer data)
{
  return sl_download_get_bytes_received (data) >= 200000;
}

static void
test_shutdown (Fixture       *fixture,
               gconstpointer  data)
{
  SlStore *store = open_store (fixture);
  SlSession *session = sl_session_new (store);
  g_autofree char *slow_path = g_build_filename (fixture->dir_path, "slow.bin", NULL);
  g_autofree char *next_path = g_build_filename (fixture->dir_path, "next.bin", NULL);
  g_autoptr (GPtrArray) requests = NULL;
  SlDownload *slow, *next;
  gint64 slow_id, next_id, kept;

  sl_session_set_max_active (session, 1);
  slow = add (session, fixture, "/file?size=2000000&seed=7&rate=1000000&chunk=16384",
              "slow.bin", FALSE);
  next = add (session, fixture, "/file?size=3000&seed=8", "next.bin", FALSE);
  slow_id = sl_session_get_id (session, slow);
  next_id = sl_session_get_id (session, next);
  sl_test_wait_until (NULL, has_bytes, slow, WAIT_MS);
  g_assert_cmpint (sl_download_get_state (next), ==, SL_DOWNLOAD_STATE_QUEUED);

  /* The slot the running one leaves is not given to the queued one. */
  sl_session_shutdown (session);
  sl_test_wait_until (NULL, nothing_active, session, WAIT_MS);
  g_assert_cmpint (sl_download_get_state (slow), ==, SL_DOWNLOAD_STATE_PAUSED);
  for (guint i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpint (sl_download_get_state (next), ==, SL_DOWNLOAD_STATE_QUEUED);
  kept = sl_download_get_bytes_received (slow);
  flush (store);
  g_assert_finalize_object (session);
  g_assert_finalize_object (store);

  /* The next start picks up both: the interrupted one first, from its bytes. */
  store = open_store (fixture);
  session = sl_session_new (store);
  slow = sl_session_lookup (session, slow_id);
  next = sl_session_lookup (session, next_id);
  sl_test_wait_for_state (slow, SL_DOWNLOAD_STATE_COMPLETED);
  sl_test_wait_for_state (next, SL_DOWNLOAD_STATE_COMPLETED);
  sl_test_assert_file_is_entity (slow_path, 7, 2000000);
  sl_test_assert_file_is_entity (next_path, 8, 3000);

  requests = sl_test_server_requests (fixture->server, "/file");
  {
    g_autofree char *expected = g_strdup_printf ("bytes=%" G_GINT64_FORMAT "-", kept);
    gboolean found = FALSE;

    for (guint i = 0; i < requests->len; i++)
      found |= g_strcmp0 (((SlTestRequest *) requests->pdata[i])->range, expected) == 0;
    g_assert_true (found);
  }

  flush (store);
  g_assert_finalize_object (session);
  g_assert_finalize_object (store);
}

/* A crash right after a download created a numbered partial file, before anything recorded
 * it: the restart finds the download without resume data, and adopts that unclaimed file
 * rather than make another copy beside it. */
static void
test_restore_orphan (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autofree char *mine = g_build_filename (fixture->dir_path, "file", NULL);
  g_autofree char *partial = g_build_filename (fixture->dir_path, "file (1).part", NULL);
  g_autofree char *path = g_build_filename (fixture->dir_path, "file (1)", NULL);
  g_autoptr (GBytes) entity = sl_test_entity (9, 500000);
  g_autoptr (GPtrArray) requests = NULL;
  g_autofree char *contents = NULL;
  const char *listing[] = { "file", "file (1)", NULL };
  SlStoreRecord *record = sl_store_record_new ();
  g_autoptr (SlDownload) download = NULL;
  gboolean overlapped = FALSE;
  SlSession *session;
  SlStore *store;

  g_assert_true (g_file_set_contents (mine, "mine", -1, NULL));
  g_assert_true (g_file_set_contents (partial, g_bytes_get_data (entity, NULL), 200000, NULL));

  store = open_store (fixture);
  record->uri = sl_test_server_url (fixture->server, "/file?size=500000&seed=9");
  record->directory = g_strdup (fixture->dir_path);
  record->state = SL_DOWNLOAD_STATE_RUNNING;
  sl_store_insert (store, record);
  sl_store_record_free (record);
  flush (store);

  session = sl_session_new (store);
  download = g_list_model_get_item (G_LIST_MODEL (session), 0);
  sl_test_wait_for_state (download, SL_DOWNLOAD_STATE_COMPLETED);
  sl_test_assert_file_is_entity (path, 9, 500000);
  sl_test_assert_dir_is (fixture->dir, listing);
  g_assert_true (g_file_get_contents (mine, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "mine");

  requests = sl_test_server_requests (fixture->server, "/file");
  for (guint i = 0; i < requests->len; i++)
    overlapped |= g_strcmp0 (((SlTestRequest *) requests->pdata[i])->range,
                             "bytes=134464-") == 0;
  g_assert_true (overlapped);

  g_clear_object (&download);
  flush (store);
  g_assert_finalize_object (session);
  g_assert_finalize_object (store);
}

static gboolean
has_some_bytes (gpointer data)
{
  return sl_download_get_bytes_received (data) > 0;
}

/* A paused download's partial file is closed, and so not locked, but stays its own: a second
 * download of the same name takes another. */
static void
test_paused_keeps_partial (Fixture       *fixture,
                           gconstpointer  data)
{
  SlSession *session = sl_session_new (NULL);
  g_autofree char *first_path = g_build_filename (fixture->dir_path, "file", NULL);
  g_autofree char *second_path = g_build_filename (fixture->dir_path, "file (1)", NULL);
  const char *listing[] = { "file", "file (1)", NULL };
  SlDownload *first, *second;

  sl_session_set_max_active (session, 5);
  sl_session_set_max_per_host (session, 5);
  first = add (session, fixture, "/file?size=2000000&seed=11&rate=1000000", NULL, FALSE);
  sl_test_wait_for_state (first, SL_DOWNLOAD_STATE_RUNNING);
  sl_test_wait_until (NULL, has_some_bytes, first, WAIT_MS);
  sl_session_pause (session, first);
  sl_test_wait_for_state (first, SL_DOWNLOAD_STATE_PAUSED);

  second = add (session, fixture, "/file?size=2000000&seed=11", NULL, FALSE);
  sl_test_wait_for_state (second, SL_DOWNLOAD_STATE_COMPLETED);
  g_assert_cmpstr (sl_download_get_filename (second), ==, "file (1)");

  sl_session_resume (session, first);
  sl_test_wait_for_state (first, SL_DOWNLOAD_STATE_COMPLETED);
  g_assert_cmpstr (sl_download_get_filename (first), ==, "file");
  sl_test_assert_file_is_entity (first_path, 11, 2000000);
  sl_test_assert_file_is_entity (second_path, 11, 2000000);
  sl_test_assert_dir_is (fixture->dir, listing);

  g_assert_finalize_object (session);
}

#define ADD(path, func) \
  g_test_add ("/session/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  ADD ("list-model", test_list_model);
  ADD ("limits", test_limits);
  ADD ("per-host", test_per_host);
  ADD ("refresh-other-host", test_refresh_other_host);
  ADD ("pause-resume", test_pause_resume);
  ADD ("refused", test_refused);
  ADD ("hostile-filename", test_hostile_filename);
  ADD ("request-headers", test_request_headers);
  ADD ("connections", test_connections);
  ADD ("speed-limit", test_speed_limit);
  ADD ("default-connections", test_default_connections);
  ADD ("settings-restored", test_settings_restored);
  ADD ("host-shares", test_host_shares);
  ADD ("host-cap-remembered", test_host_cap_remembered);
  ADD ("max-speed", test_max_speed);
  ADD ("max-speed-lifted", test_max_speed_lifted);
  ADD ("move", test_move);
  ADD ("restart", test_restart);
  ADD ("restore-orphan", test_restore_orphan);
  ADD ("paused-keeps-partial", test_paused_keeps_partial);
  ADD ("shutdown", test_shutdown);

  return g_test_run ();
}
