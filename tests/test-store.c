/* test-store.c
 *
 * The download list in a real SQLite file: round trips, coalesced progress, a process killed
 * after a flush, damaged and foreign files moved aside, bad rows skipped, failing writes
 * reported, a large list loaded quickly, and a file of an older schema upgraded with its
 * downloads. The settings beside it: round trips of several types, overwrites and deletions, a
 * kill after a flush, and damaged rows skipped.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "sl-store.h"
#include "sl-test-utils.h"

#define WAIT_MS (10 * 1000)

static char *
store_path (void)
{
  return g_build_filename (g_get_user_data_dir (), "sluice", "downloads.db", NULL);
}

static SlStore *
open_store (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *recovery = NULL;
  SlStore *store = sl_store_open (path, &recovery, &error);

  g_assert_no_error (error);
  g_assert_nonnull (store);
  g_assert_null (recovery);
  return store;
}

static GPtrArray *
load (SlStore *store)
{
  g_autoptr (GError) error = NULL;
  GPtrArray *records = sl_store_load (store, &error);

  g_assert_no_error (error);
  g_assert_nonnull (records);
  return records;
}

static void
flush (SlStore *store)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (sl_store_flush_sync (store, &error));
  g_assert_no_error (error);
}

static GVariant *
sample_options (guint n)
{
  GVariantBuilder headers;
  GVariantBuilder options;
  g_autofree char *referrer = g_strdup_printf ("https://example.org/page/%u", n);

  g_variant_builder_init (&headers, G_VARIANT_TYPE ("a{ss}"));
  g_variant_builder_add (&headers, "{ss}", "User-Agent", "Sluice-Test/1.0");
  g_variant_builder_add (&headers, "{ss}", "X-Token", "t0ken");

  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", "headers", g_variant_builder_end (&headers));
  g_variant_builder_add (&options, "{sv}", "referrer", g_variant_new_string (referrer));
  g_variant_builder_add (&options, "{sv}", "checksum", g_variant_new_string ("sha256=00ff"));
  g_variant_builder_add (&options, "{sv}", "connections", g_variant_new_uint32 (4));
  g_variant_builder_add (&options, "{sv}", "paused", g_variant_new_boolean (FALSE));

  return g_variant_ref_sink (g_variant_builder_end (&options));
}

static GBytes *
sample_resume_data (guint n,
                    gsize size)
{
  guint8 *data = g_malloc (size);

  for (gsize i = 0; i < size; i++)
    data[i] = (guint8) (i * 31 + n);
  return g_bytes_new_take (data, size);
}

/* A record with every field set. */
static SlStoreRecord *
full_record (guint n)
{
  SlStoreRecord *record = sl_store_record_new ();

  record->uri = g_strdup_printf ("https://example.com/files/%u.iso?a=1&b=ü", n);
  record->directory = g_strdup ("/home/user/Downloads");
  record->filename = g_strdup_printf ("file %u (1).iso", n);
  record->state = SL_DOWNLOAD_STATE_FAILED;
  record->error_kind = SL_ERROR_KIND_NETWORK;
  record->error_message = g_strdup ("Connection reset by peer — “quoted”");
  record->http_status = 503;
  record->bytes_received = G_GINT64_CONSTANT (5000000000) + n;
  record->bytes_total = G_GINT64_CONSTANT (9000000000);
  record->resume_data = sample_resume_data (n, 300);
  record->options = sample_options (n);
  record->position = n;
  record->created_at = 1700000000 + n;
  record->finished_at = 1700000100 + n;

  return record;
}

/* A record with every optional field empty. */
static SlStoreRecord *
bare_record (guint n)
{
  SlStoreRecord *record = sl_store_record_new ();

  record->uri = g_strdup_printf ("http://127.0.0.1/%u", n);
  record->directory = g_strdup ("/tmp");
  record->state = SL_DOWNLOAD_STATE_QUEUED;
  record->position = n;

  return record;
}

static void
assert_record_equal (const SlStoreRecord *actual,
                     const SlStoreRecord *expected)
{
  g_assert_cmpint (actual->id, ==, expected->id);
  g_assert_cmpstr (actual->uri, ==, expected->uri);
  g_assert_cmpstr (actual->directory, ==, expected->directory);
  g_assert_cmpstr (actual->filename, ==, expected->filename);
  g_assert_cmpint (actual->state, ==, expected->state);
  g_assert_cmpint (actual->error_kind, ==, expected->error_kind);
  g_assert_cmpstr (actual->error_message, ==, expected->error_message);
  g_assert_cmpuint (actual->http_status, ==, expected->http_status);
  g_assert_cmpint (actual->bytes_received, ==, expected->bytes_received);
  g_assert_cmpint (actual->bytes_total, ==, expected->bytes_total);
  sl_assert_bytes_equal (actual->resume_data, expected->resume_data);
  if (expected->options == NULL)
    {
      g_assert_null (actual->options);
    }
  else
    {
      g_autofree char *a = NULL;
      g_autofree char *e = g_variant_print (expected->options, TRUE);

      g_assert_nonnull (actual->options);
      a = g_variant_print (actual->options, TRUE);
      g_assert_cmpstr (a, ==, e);
      g_assert_true (g_variant_equal (actual->options, expected->options));
    }
  g_assert_cmpint (actual->position, ==, expected->position);
  g_assert_cmpint (actual->created_at, ==, expected->created_at);
  g_assert_cmpint (actual->finished_at, ==, expected->finished_at);
}

static void
exec_sql (const char *path,
          const char *sql)
{
  sqlite3 *db = NULL;
  char *message = NULL;
  int rc;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  rc = sqlite3_exec (db, sql, NULL, NULL, &message);
  if (rc != SQLITE_OK)
    g_error ("%s: %s", sql, message);
  g_assert_cmpint (sqlite3_close (db), ==, SQLITE_OK);
}

static gint64
query_sql (const char *path,
           const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 value;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  g_assert_cmpint (sqlite3_close (db), ==, SQLITE_OK);

  return value;
}

static GVariant *
load_settings (SlStore *store)
{
  g_autoptr (GError) error = NULL;
  GVariant *settings = sl_store_load_settings (store, &error);

  g_assert_no_error (error);
  g_assert_nonnull (settings);
  g_assert_false (g_variant_is_floating (settings));
  g_assert_true (g_variant_is_of_type (settings, G_VARIANT_TYPE_VARDICT));
  return settings;
}

/* Compares printed forms first, so that a failure shows both; then the values themselves. */
static void
assert_variant_equal (GVariant *actual,
                      GVariant *expected)
{
  g_autofree char *a = g_variant_print (actual, TRUE);
  g_autofree char *e = g_variant_print (expected, TRUE);

  g_assert_cmpstr (a, ==, e);
  g_assert_true (g_variant_equal (actual, expected));
}

/* The kinds of values the daemon keeps: a speed limit, counts, a folder, caps by host, and caps
 * with the time they expire. In the order of their keys, as they are loaded. */
static GVariant *
sample_settings (void)
{
  GVariantBuilder caps;
  GVariantBuilder until;
  GVariantBuilder settings;

  g_variant_builder_init (&caps, G_VARIANT_TYPE ("a{su}"));
  g_variant_builder_add (&caps, "{su}", "example.com", 2);
  g_variant_builder_add (&caps, "{su}", "mirror.example.org", 1);

  g_variant_builder_init (&until, G_VARIANT_TYPE ("a{s(ux)}"));
  g_variant_builder_add (&until, "{s(ux)}", "slow.example.net", 1,
                         G_GINT64_CONSTANT (1700003600));

  g_variant_builder_init (&settings, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&settings, "{sv}", "default-folder",
                         g_variant_new_string ("/home/user/Téléchargements"));
  g_variant_builder_add (&settings, "{sv}", "host-caps", g_variant_builder_end (&caps));
  g_variant_builder_add (&settings, "{sv}", "host-caps-until", g_variant_builder_end (&until));
  g_variant_builder_add (&settings, "{sv}", "last-cap",
                         g_variant_new ("(ux)", 3, G_GINT64_CONSTANT (-1)));
  g_variant_builder_add (&settings, "{sv}", "max-active", g_variant_new_uint32 (5));
  g_variant_builder_add (&settings, "{sv}", "max-per-host", g_variant_new_uint32 (2));
  /* Past 32 bits: the type travels with the value, nothing is narrowed. */
  g_variant_builder_add (&settings, "{sv}", "max-speed",
                         g_variant_new_uint64 (G_GUINT64_CONSTANT (0x100000001)));
  g_variant_builder_add (&settings, "{sv}", "paused-hosts", g_variant_new_strv (NULL, 0));

  return g_variant_ref_sink (g_variant_builder_end (&settings));
}

static void
set_all (SlStore  *store,
         GVariant *settings)
{
  GVariantIter iter;
  const char *key;
  GVariant *value;

  g_variant_iter_init (&iter, settings);
  while (g_variant_iter_loop (&iter, "{&sv}", &key, &value))
    sl_store_set_setting (store, key, value);
}

static char *
query_text (const char *path,
            const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  char *value;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  value = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  g_assert_cmpint (sqlite3_close (db), ==, SQLITE_OK);

  return value;
}

/* Every table and index with its SQL, as one text to compare. */
#define SCHEMA_SQL                                                                            \
  "SELECT group_concat(type || ' ' || name || ': ' || sql, char(10)) FROM "                   \
  "(SELECT * FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name)"

static void
test_round_trip (void)
{
  g_autofree char *path = store_path ();
  g_autoptr (SlStoreRecord) full = full_record (2);
  g_autoptr (SlStoreRecord) bare = bare_record (0);
  g_autoptr (SlStoreRecord) empty = bare_record (1);
  g_autoptr (SlStoreRecord) tie = full_record (1);
  g_autoptr (SlStoreRecord) later = bare_record (7);
  g_autoptr (GPtrArray) records = NULL;
  g_autofree char *folder = NULL;
  GStatBuf st;
  SlStore *store;

  /* Empty but present: an empty blob must not come back as NULL. */
  empty->resume_data = g_bytes_new (NULL, 0);
  empty->options = g_variant_ref_sink (g_variant_new ("a{sv}", NULL));
  empty->state = SL_DOWNLOAD_STATE_COMPLETED;

  store = open_store (path);
  folder = g_path_get_dirname (path);
  g_assert_cmpint (g_stat (folder, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);

  sl_store_insert (store, full);
  sl_store_insert (store, bare);
  sl_store_insert (store, empty);
  sl_store_insert (store, tie);
  g_assert_cmpint (full->id, >, 0);
  g_assert_cmpint (bare->id, >, full->id);
  g_assert_cmpint (empty->id, >, bare->id);
  g_assert_cmpint (tie->id, >, empty->id);
  flush (store);
  g_assert_finalize_object (store);

  store = open_store (path);
  records = load (store);
  g_assert_cmpuint (records->len, ==, 4);
  /* By position, then id: empty and tie share position 1. */
  assert_record_equal (records->pdata[0], bare);
  assert_record_equal (records->pdata[1], empty);
  assert_record_equal (records->pdata[2], tie);
  assert_record_equal (records->pdata[3], full);
  g_assert_nonnull (((SlStoreRecord *) records->pdata[1])->resume_data);

  /* Ids keep increasing across a restart, even after the newest one is removed. */
  sl_store_remove (store, tie->id);
  flush (store);
  g_assert_finalize_object (store);

  store = open_store (path);
  sl_store_insert (store, later);
  g_assert_cmpint (later->id, >, tie->id);
  g_assert_finalize_object (store);

  store = open_store (path);
  g_clear_pointer (&records, g_ptr_array_unref);
  records = load (store);
  g_assert_cmpuint (records->len, ==, 4);
  assert_record_equal (records->pdata[3], later);
  g_assert_finalize_object (store);
}

static void
test_update (void)
{
  g_autofree char *path = store_path ();
  g_autoptr (SlStoreRecord) a = bare_record (0);
  g_autoptr (SlStoreRecord) b = full_record (1);
  g_autoptr (SlStoreRecord) c = bare_record (2);
  g_autoptr (SlStoreRecord) d = bare_record (3);
  g_autoptr (GBytes) last_resume = NULL;
  g_autoptr (GPtrArray) records = NULL;
  SlStore *store = open_store (path);

  sl_store_insert (store, a);
  sl_store_insert (store, b);
  sl_store_insert (store, c);
  sl_store_insert (store, d);

  /* A full update. */
  a->state = SL_DOWNLOAD_STATE_RUNNING;
  a->filename = g_strdup ("named.bin");
  a->bytes_total = 123456;
  a->options = sample_options (9);
  a->http_status = 200;
  /* A message that is not UTF-8 is kept, made valid. */
  a->error_message = g_strdup ("reset \xff here");
  sl_store_update (store, a);
  g_free (a->error_message);
  a->error_message = g_strdup ("reset \xef\xbf\xbd here");

  /* 1000 checkpoints of one download: the last one wins. */
  for (guint i = 1; i <= 1000; i++)
    {
      g_autoptr (GBytes) resume = sample_resume_data (i, 64);

      sl_store_update_progress (store, b->id, i * 1000, 1000000, resume);
      if (i == 1000)
        last_resume = g_bytes_ref (resume);
    }
  b->bytes_received = 1000000;
  b->bytes_total = 1000000;
  g_clear_pointer (&b->resume_data, g_bytes_unref);
  b->resume_data = g_bytes_ref (last_resume);

  /* Progress, then a full update, then progress: they stay in that order. */
  sl_store_update_progress (store, c->id, 10, 100, NULL);
  c->bytes_received = 20;
  c->bytes_total = 100;
  c->state = SL_DOWNLOAD_STATE_PAUSED;
  sl_store_update (store, c);
  sl_store_update_progress (store, c->id, 30, 100, NULL);
  c->bytes_received = 30;

  sl_store_remove (store, d->id);
  /* Progress for a removed download changes nothing. */
  sl_store_update_progress (store, d->id, 99, 100, NULL);

  flush (store);
  g_assert_finalize_object (store);

  store = open_store (path);
  records = load (store);
  g_assert_cmpuint (records->len, ==, 3);
  assert_record_equal (records->pdata[0], a);
  assert_record_equal (records->pdata[1], b);
  assert_record_equal (records->pdata[2], c);
  g_assert_finalize_object (store);
}

static void
test_coalesce (void)
{
  g_autofree char *path = store_path ();
  g_autoptr (SlStoreRecord) record = bare_record (0);
  g_autoptr (GPtrArray) records = NULL;
  SlStore *store = open_store (path);
  sqlite3 *other = NULL;

  g_assert_cmpint (sqlite3_open (path, &other), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (other,
                                 "CREATE TABLE progress_writes (bytes INTEGER);"
                                 "CREATE TRIGGER count_progress AFTER UPDATE OF bytes_received "
                                 "ON downloads BEGIN "
                                 "  INSERT INTO progress_writes VALUES (NEW.bytes_received); "
                                 "END;"
                                 /* Holds the write lock, so the worker waits on its first
                                  * operation while the others pile up behind it. */
                                 "BEGIN IMMEDIATE;",
                                 NULL, NULL, NULL), ==, SQLITE_OK);

  sl_store_insert (store, record);
  for (guint i = 1; i <= 1000; i++)
    sl_store_update_progress (store, record->id, i, 1000, NULL);

  g_assert_cmpint (sqlite3_exec (other, "COMMIT", NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_close (other), ==, SQLITE_OK);
  flush (store);

  /* One write, or two if the worker took the first update along with the insert. */
  g_assert_cmpint (query_sql (path, "SELECT COUNT(*) FROM progress_writes"), >=, 1);
  g_assert_cmpint (query_sql (path, "SELECT COUNT(*) FROM progress_writes"), <=, 2);
  g_assert_cmpint (query_sql (path, "SELECT MAX(bytes) FROM progress_writes"), ==, 1000);

  records = load (store);
  g_assert_cmpuint (records->len, ==, 1);
  g_assert_cmpint (((SlStoreRecord *) records->pdata[0])->bytes_received, ==, 1000);
  g_assert_finalize_object (store);
}

static void
flushed_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  GError **error = user_data;
  gboolean ok = sl_store_flush_finish (SL_STORE (source), result, error);

  g_assert_true (ok == (*error == NULL));
  if (*error == NULL)
    *error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NONE, "done");
}

static gboolean
is_set (gpointer data)
{
  return *(GError **) data != NULL;
}

static void
test_flush_async (void)
{
  g_autofree char *path = store_path ();
  g_autoptr (SlStoreRecord) a = full_record (0);
  g_autoptr (SlStoreRecord) b = bare_record (1);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) result = NULL;
  g_autoptr (GPtrArray) records = NULL;
  SlStore *store = open_store (path);

  sl_store_insert (store, a);
  sl_store_flush_async (store, NULL, flushed_cb, &result);
  sl_test_wait_until (NULL, is_set, &result, WAIT_MS);
  g_assert_error (result, G_IO_ERROR, G_IO_ERROR_NONE);
  g_assert_cmpint (query_sql (path, "SELECT COUNT(*) FROM downloads"), ==, 1);
  g_clear_error (&result);

  /* Cancelling only changes what the flush says; the write still happens. */
  sl_store_insert (store, b);
  sl_store_flush_async (store, cancellable, flushed_cb, &result);
  g_cancellable_cancel (cancellable);
  sl_test_wait_until (NULL, is_set, &result, WAIT_MS);
  g_assert_error (result, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_finalize_object (store);

  store = open_store (path);
  records = load (store);
  g_assert_cmpuint (records->len, ==, 2);
  g_assert_finalize_object (store);
}

static void
test_dispose_flushes (void)
{
  g_autofree char *path = store_path ();
  g_autoptr (GPtrArray) records = NULL;
  SlStore *store = open_store (path);

  for (guint i = 0; i < 200; i++)
    {
      g_autoptr (SlStoreRecord) record = full_record (i);

      sl_store_insert (store, record);
      sl_store_update_progress (store, record->id, 42, 84, NULL);
    }
  /* No flush: dropping the store writes what is queued. */
  g_assert_finalize_object (store);

  /* Closed cleanly: the WAL was checkpointed and removed. */
  {
    g_autofree char *wal = g_strconcat (path, "-wal", NULL);

    g_assert_false (g_file_test (wal, G_FILE_TEST_EXISTS));
  }

  store = open_store (path);
  records = load (store);
  g_assert_cmpuint (records->len, ==, 200);
  for (guint i = 0; i < records->len; i++)
    g_assert_cmpint (((SlStoreRecord *) records->pdata[i])->bytes_received, ==, 42);
  g_assert_finalize_object (store);
}

static void
test_crash (void)
{
  g_autofree char *path = store_path ();
  g_autoptr (GPtrArray) records = NULL;
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  SlStore *store;

  if (g_test_subprocess ())
    {
      store = open_store (path);
      for (guint i = 0; i < 5; i++)
        {
          g_autoptr (SlStoreRecord) record = full_record (i);

          sl_store_insert (store, record);
        }
      sl_store_update_progress (store, 3, 77, 88, NULL);
      flush (store);
      /* Queued after the flush: may or may not make it, must not break anything. */
      for (guint i = 5; i < 50; i++)
        {
          g_autoptr (SlStoreRecord) record = full_record (i);

          sl_store_insert (store, record);
        }
      raise (SIGKILL);
      g_assert_not_reached ();
    }

  g_test_trap_subprocess (NULL, 0, 0);
  g_test_trap_assert_failed ();

  /* The child never closed the database: what it flushed is still in the WAL. */
  g_assert_true (g_file_test (wal, G_FILE_TEST_EXISTS));

  store = open_store (path);
  records = load (store);
  g_assert_cmpuint (records->len, >=, 5);
  for (guint i = 0; i < 5; i++)
    {
      g_autoptr (SlStoreRecord) expected = full_record (i);

      expected->id = i + 1;
      if (i == 2)
        {
          expected->bytes_received = 77;
          expected->bytes_total = 88;
          g_clear_pointer (&expected->resume_data, g_bytes_unref);
        }
      assert_record_equal (records->pdata[i], expected);
    }
  g_assert_finalize_object (store);
}

/* Returns the one file moved aside next to @path. */
static char *
find_aside (const char *path)
{
  g_autofree char *folder = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *prefix = g_strconcat (base, ".corrupt-", NULL);
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  g_autofree char *found = NULL;
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      if (!g_str_has_prefix (name, prefix) || g_str_has_suffix (name, "-wal") ||
          g_str_has_suffix (name, "-shm"))
        continue;
      g_assert_null (found);
      found = g_build_filename (folder, name, NULL);
    }

  g_assert_nonnull (found);
  /* PATH.corrupt-YYYYMMDD-HHMMSS */
  g_assert_cmpuint (strlen (found), ==, strlen (path) + strlen (".corrupt-") + 15);
  return g_steal_pointer (&found);
}

/* Opens a store over a file that must be moved aside, checks the message and that the new
 * store is empty and usable, and returns the path of the file moved aside. */
static char *
open_recovering (const char *path,
                 const char *fragment)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *recovery = NULL;
  g_autofree char *aside = NULL;
  g_autoptr (GPtrArray) records = NULL;
  g_autoptr (GPtrArray) again = NULL;
  g_autoptr (SlStoreRecord) record = full_record (0);
  SlStore *store;

  store = sl_store_open (path, &recovery, &error);
  g_assert_no_error (error);
  g_assert_nonnull (store);
  g_assert_nonnull (recovery);
  g_test_message ("recovery: %s", recovery);
  g_assert_null (strchr (recovery, '\n'));

  aside = find_aside (path);
  if (strstr (recovery, aside) == NULL)
    g_error ("“%s” does not mention “%s”", recovery, aside);
  if (strstr (recovery, fragment) == NULL)
    g_error ("“%s” does not mention “%s”", recovery, fragment);

  records = load (store);
  g_assert_cmpuint (records->len, ==, 0);
  sl_store_insert (store, record);
  g_assert_cmpint (record->id, ==, 1);
  flush (store);
  g_assert_finalize_object (store);

  store = open_store (path);
  again = load (store);
  g_assert_cmpuint (again->len, ==, 1);
  assert_record_equal (again->pdata[0], record);
  g_assert_finalize_object (store);

  return g_steal_pointer (&aside);
}

static void
test_corrupt_garbage (void)
{
  g_autofree char *path = store_path ();
  g_autofree char *folder = g_path_get_dirname (path);
  g_autofree char *aside = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;
  GString *garbage = g_string_new (NULL);
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < 8192; i++)
    g_string_append_c (garbage, (char) ((i * 7919) % 251));
  g_assert_cmpint (g_mkdir_with_parents (folder, 0700), ==, 0);
  g_file_set_contents (path, garbage->str, garbage->len, &error);
  g_assert_no_error (error);

  aside = open_recovering (path, "damaged");

  g_file_get_contents (aside, &contents, &length, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (contents, length, garbage->str, garbage->len);
  g_string_free (garbage, TRUE);
}

static void
test_corrupt_newer (void)
{
  g_autofree char *path = store_path ();
  g_autofree char *folder = g_path_get_dirname (path);
  g_autofree char *aside = NULL;

  g_assert_cmpint (g_mkdir_with_parents (folder, 0700), ==, 0);
  exec_sql (path,
            "PRAGMA journal_mode = WAL;"
            "CREATE TABLE downloads (id INTEGER PRIMARY KEY, future BLOB);"
            "INSERT INTO downloads (future) VALUES (x'00');"
            "PRAGMA user_version = 999;");

  aside = open_recovering (path, "newer");
  g_assert_cmpint (query_sql (aside, "PRAGMA user_version"), ==, 999);
  g_assert_cmpint (query_sql (aside, "SELECT COUNT(*) FROM downloads"), ==, 1);
}

static void
test_corrupt_truncated (void)
{
  g_autofree char *path = store_path ();
  g_autofree char *aside = NULL;
  SlStore *store = open_store (path);
  GStatBuf st;
  gint64 half;

  for (guint i = 0; i < 300; i++)
    {
      g_autoptr (SlStoreRecord) record = full_record (i);

      g_clear_pointer (&record->resume_data, g_bytes_unref);
      record->resume_data = sample_resume_data (i, 2000);
      sl_store_insert (store, record);
    }
  g_assert_finalize_object (store);

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  half = st.st_size / 2;
  g_assert_cmpint (half, >, 100000);
  g_assert_cmpint (truncate (path, half), ==, 0);

  aside = open_recovering (path, "damaged");
  g_assert_cmpint (g_stat (aside, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, half);
}

static void
test_bad_rows (void)
{
  g_autofree char *path = store_path ();
  g_autoptr (GPtrArray) records = NULL;
  g_autoptr (GVariant) check = NULL;
  g_autoptr (GBytes) bad_options = NULL;
  SlStore *store = open_store (path);
  static const guint8 not_normal[] = { 'a', 0, 0, 'b', 0, 0 };

  /* What the rows below hold really is not a normal a{sv}. */
  bad_options = g_bytes_new_static (not_normal, sizeof not_normal);
  check = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE_VARDICT, bad_options,
                                                        FALSE));
  g_assert_false (g_variant_is_normal_form (check));

  for (guint i = 0; i < 3; i++)
    {
      g_autoptr (SlStoreRecord) record = full_record (i);

      sl_store_insert (store, record);
    }
  flush (store);
  g_assert_finalize_object (store);

  exec_sql (path,
            "INSERT INTO downloads (id, uri, directory, state, position, created_at) VALUES "
            "  (100, 'http://a/', '/tmp', 'exploded', 10, 1),"
            "  (101, 'http://b/', '/tmp', 'running', 11, 1),"
            "  (102, 'http://c/', 'relative/dir', 'queued', 12, 1),"
            "  (103, 'http://d/', '/tmp', 'queued', 13, 1),"
            "  (104, 'http://e/', '/tmp', 'queued', 14, 1),"
            "  (105, 'http://f/', '/tmp', 'queued', 15, 1);"
            "UPDATE downloads SET bytes_received = -5 WHERE id = 101;"
            "UPDATE downloads SET options = x'610000620000' WHERE id = 103;"
            "UPDATE downloads SET filename = '../../etc/passwd' WHERE id = 104;"
            "UPDATE downloads SET uri = CAST(x'68747470ff' AS TEXT) WHERE id = 105;");

  store = open_store (path);
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
                         "Skipping download 100 *unknown state “exploded”*");
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
                         "Skipping download 101 *negative size*");
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
                         "Skipping download 102 *absolute path*");
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
                         "Ignoring the options of download 103 *");
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
                         "Skipping download 104 *plain name*");
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
                         "Skipping download 105 *UTF-8*");
  records = load (store);
  g_test_assert_expected_messages ();

  g_assert_cmpuint (records->len, ==, 4);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpint (((SlStoreRecord *) records->pdata[i])->id, ==, i + 1);
  g_assert_cmpint (((SlStoreRecord *) records->pdata[3])->id, ==, 103);
  g_assert_null (((SlStoreRecord *) records->pdata[3])->options);
  g_assert_cmpint (((SlStoreRecord *) records->pdata[3])->state, ==, SL_DOWNLOAD_STATE_QUEUED);
  g_assert_finalize_object (store);
}

static void
test_unwritable (void)
{
  g_autofree char *file = g_build_filename (g_get_user_data_dir (), "a-file", NULL);
  g_autofree char *path = g_build_filename (file, "sluice", "downloads.db", NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *recovery = NULL;
  SlStore *store;

  g_assert_cmpint (g_mkdir_with_parents (g_get_user_data_dir (), 0700), ==, 0);
  g_file_set_contents (file, "not a folder", -1, &error);
  g_assert_no_error (error);

  store = sl_store_open (path, &recovery, &error);
  g_assert_null (store);
  g_assert_null (recovery);
  g_assert_error (error, SL_STORE_ERROR, SL_STORE_ERROR_CANNOT_OPEN);
  g_test_message ("error: %s", error->message);
  g_assert_nonnull (strstr (error->message, "a-file"));
}

static void
test_not_a_file (void)
{
  g_autofree char *path = store_path ();
  g_autoptr (GError) error = NULL;
  g_autofree char *recovery = NULL;
  SlStore *store;

  /* A folder where the file should be is not damage to repair by moving things around. */
  g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
  store = sl_store_open (path, &recovery, &error);
  g_assert_null (store);
  g_assert_null (recovery);
  g_assert_error (error, SL_STORE_ERROR, SL_STORE_ERROR_CANNOT_OPEN);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_DIR));
}

static void
on_error (SlStore      *store,
          const GError *error,
          gpointer      user_data)
{
  GPtrArray *errors = user_data;

  g_assert_true (SL_IS_STORE (store));
  g_ptr_array_add (errors, g_error_copy (error));
}

static gboolean
has_error (gpointer data)
{
  return ((GPtrArray *) data)->len > 0;
}

static void
test_write_error (void)
{
  g_autofree char *path = store_path ();
  g_autoptr (GPtrArray) errors = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  g_autoptr (SlStoreRecord) a = bare_record (0);
  g_autoptr (SlStoreRecord) refused = bare_record (1);
  g_autoptr (SlStoreRecord) c = bare_record (2);
  g_autoptr (SlStoreRecord) d = bare_record (3);
  g_autoptr (GPtrArray) records = NULL;
  g_autoptr (GError) error = NULL;
  SlStore *store = open_store (path);

  g_signal_connect (store, "error", G_CALLBACK (on_error), errors);

  /* Another writer makes the database refuse one row, as a full disk would refuse all. */
  exec_sql (path,
            "CREATE TRIGGER refuse BEFORE INSERT ON downloads WHEN NEW.uri = 'http://127.0.0.1/1' "
            "BEGIN SELECT RAISE (ABORT, 'refused by the test'); END;");

  sl_store_insert (store, a);
  sl_store_insert (store, refused);
  sl_store_insert (store, c);
  g_assert_false (sl_store_flush_sync (store, &error));
  g_assert_error (error, SL_STORE_ERROR, SL_STORE_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "refused by the test"));
  g_clear_error (&error);

  sl_test_wait_until (NULL, has_error, errors, WAIT_MS);
  g_assert_cmpuint (errors->len, ==, 1);
  g_assert_error ((GError *) errors->pdata[0], SL_STORE_ERROR, SL_STORE_ERROR_FAILED);

  /* It goes on: the next flush has nothing to complain about. */
  sl_store_insert (store, d);
  flush (store);

  records = load (store);
  g_assert_cmpuint (records->len, ==, 3);
  assert_record_equal (records->pdata[0], a);
  assert_record_equal (records->pdata[1], c);
  assert_record_equal (records->pdata[2], d);

  g_assert_finalize_object (store);
  g_assert_cmpuint (errors->len, ==, 1);
}

static void
test_many (void)
{
  g_autofree char *path = store_path ();
  g_autoptr (GPtrArray) records = NULL;
  g_autoptr (GVariant) options = sample_options (0);
  SlStore *store = open_store (path);
  gint64 start;
  const guint n = 10000;

  start = g_get_monotonic_time ();
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (SlStoreRecord) record = sl_store_record_new ();

      record->uri = g_strdup_printf ("https://mirror.example.com/pub/file-%05u.tar.xz", i);
      record->directory = g_strdup ("/home/user/Downloads");
      record->filename = g_strdup_printf ("file-%05u.tar.xz", i);
      record->state = i % 7;
      record->bytes_received = i * 1000;
      record->bytes_total = 100000000;
      record->resume_data = sample_resume_data (i, 400);
      record->options = g_variant_ref (options);
      /* Reversed, so the order comes from the position and not from the ids. */
      record->position = n - i;
      record->created_at = 1700000000 + i;
      sl_store_insert (store, record);
    }
  flush (store);
  g_test_message ("inserted %u records in %.1f ms", n,
                  (g_get_monotonic_time () - start) / 1000.0);
  g_assert_finalize_object (store);

  start = g_get_monotonic_time ();
  store = open_store (path);
  records = load (store);
  g_test_message ("opened and loaded %u records in %.1f ms", n,
                  (g_get_monotonic_time () - start) / 1000.0);

  g_assert_cmpuint (records->len, ==, n);
  for (guint i = 0; i < n; i++)
    {
      SlStoreRecord *record = records->pdata[i];

      g_assert_cmpint (record->position, ==, i + 1);
      g_assert_cmpint (record->id, ==, n - i);
      g_assert_nonnull (record->options);
    }
  g_assert_finalize_object (store);
}

static void
test_settings_round_trip (void)
{
  g_autofree char *path = store_path ();
  g_autoptr (GVariant) expected = sample_settings ();
  g_autoptr (GVariant) settings = NULL;
  g_autoptr (GVariant) mine = g_variant_ref_sink (g_variant_new_uint32 (5));
  g_autoptr (GPtrArray) records = NULL;
  g_autoptr (SlStoreRecord) record = full_record (0);
  SlStore *store = open_store (path);

  /* A value that is not floating stays the caller's. */
  set_all (store, expected);
  sl_store_set_setting (store, "max-active", mine);
  g_assert_false (g_variant_is_floating (mine));
  sl_store_insert (store, record);
  flush (store);
  g_assert_finalize_object (store);

  store = open_store (path);
  settings = load_settings (store);
  assert_variant_equal (settings, expected);
  records = load (store);
  g_assert_cmpuint (records->len, ==, 1);
  assert_record_equal (records->pdata[0], record);
  g_assert_finalize_object (store);
}

static void
test_settings_empty (void)
{
  g_autofree char *path = store_path ();
  g_autoptr (GVariant) settings = NULL;
  g_autoptr (GVariant) again = NULL;
  SlStore *store = open_store (path);

  settings = load_settings (store);
  g_assert_cmpuint (g_variant_n_children (settings), ==, 0);

  /* Deleting the only setting leaves an empty table, not a missing one. */
  sl_store_set_setting (store, "max-speed", g_variant_new_uint64 (1));
  sl_store_set_setting (store, "max-speed", NULL);
  flush (store);
  g_assert_finalize_object (store);

  store = open_store (path);
  again = load_settings (store);
  g_assert_cmpuint (g_variant_n_children (again), ==, 0);
  g_assert_cmpint (query_sql (path, "SELECT COUNT(*) FROM settings"), ==, 0);
  g_assert_finalize_object (store);
}

static void
test_settings_overwrite (void)
{
  g_autofree char *path = store_path ();
  g_autoptr (GVariant) settings = NULL;
  g_autoptr (GVariant) expected = NULL;
  SlStore *store = open_store (path);

  sl_store_set_setting (store, "max-speed", g_variant_new_uint64 (1000));
  sl_store_set_setting (store, "max-active", g_variant_new_uint32 (3));
  sl_store_set_setting (store, "max-per-host", g_variant_new_uint32 (2));
  sl_store_set_setting (store, "default-folder", g_variant_new_string ("/tmp"));
  flush (store);
  g_assert_finalize_object (store);

  store = open_store (path);
  /* A new value, one of another type, deletions of a stored and of a missing key, and two
   * changes of one key in the same batch, the last of which wins. */
  sl_store_set_setting (store, "max-speed", g_variant_new_uint64 (0));
  sl_store_set_setting (store, "max-per-host",
                        g_variant_new ("(ux)", 1, G_GINT64_CONSTANT (1700003600)));
  sl_store_set_setting (store, "default-folder", NULL);
  sl_store_set_setting (store, "never-set", NULL);
  sl_store_set_setting (store, "max-active", NULL);
  sl_store_set_setting (store, "max-active", g_variant_new_uint32 (7));
  sl_store_set_setting (store, "short-lived", g_variant_new_boolean (TRUE));
  sl_store_set_setting (store, "short-lived", NULL);
  flush (store);
  g_assert_finalize_object (store);

  store = open_store (path);
  settings = load_settings (store);
  expected = g_variant_ref_sink (
    g_variant_new_parsed ("{'max-active': <uint32 7>, "
                          "'max-per-host': <(uint32 1, int64 1700003600)>, "
                          "'max-speed': <uint64 0>}"));
  assert_variant_equal (settings, expected);
  g_assert_cmpint (query_sql (path, "SELECT COUNT(*) FROM settings"), ==, 3);
  g_assert_finalize_object (store);
}

static void
test_settings_crash (void)
{
  g_autofree char *path = store_path ();
  g_autoptr (GVariant) expected = sample_settings ();
  g_autoptr (GVariant) settings = NULL;
  GVariantIter iter;
  const char *key;
  GVariant *want;
  SlStore *store;

  if (g_test_subprocess ())
    {
      store = open_store (path);
      set_all (store, expected);
      flush (store);
      /* Queued after the flush: may or may not make it, must not break anything. */
      sl_store_set_setting (store, "max-speed", g_variant_new_uint64 (42));
      sl_store_set_setting (store, "zz-late", g_variant_new_string ("late"));
      raise (SIGKILL);
      g_assert_not_reached ();
    }

  g_test_trap_subprocess (NULL, 0, 0);
  g_test_trap_assert_failed ();

  store = open_store (path);
  settings = load_settings (store);
  g_assert_cmpuint (g_variant_n_children (settings), >=, g_variant_n_children (expected));
  g_variant_iter_init (&iter, expected);
  while (g_variant_iter_loop (&iter, "{&sv}", &key, &want))
    {
      g_autoptr (GVariant) got = g_variant_lookup_value (settings, key, NULL);

      g_assert_nonnull (got);
      /* The change queued after the flush either landed or did not. */
      if (g_str_equal (key, "max-speed") && g_variant_get_uint64 (got) == 42)
        continue;
      assert_variant_equal (got, want);
    }
  g_assert_finalize_object (store);
}

static void
test_settings_bad_rows (void)
{
  g_autofree char *path = store_path ();
  g_autoptr (GVariant) settings = NULL;
  g_autoptr (GVariant) expected = NULL;
  g_autoptr (GVariant) repaired = NULL;
  SlStore *store = open_store (path);

  sl_store_set_setting (store, "max-active", g_variant_new_uint32 (4));
  sl_store_set_setting (store, "max-speed", g_variant_new_uint64 (100));
  sl_store_set_setting (store, "default-folder", g_variant_new_string ("/tmp"));

  /* The same rule for keys as when reading back: refused with a critical, nothing queued. */
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*invalid key: the key is empty");
  sl_store_set_setting (store, "", g_variant_new_boolean (TRUE));
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*invalid key: *control character");
  sl_store_set_setting (store, "two\nlines", g_variant_new_boolean (TRUE));
  g_test_assert_expected_messages ();

  flush (store);
  g_assert_finalize_object (store);
  g_assert_cmpint (query_sql (path, "SELECT COUNT(*) FROM settings"), ==, 3);

  /* x'0300000000 75' would be a "v" of a uint32, but with three bytes of data instead of four;
   * x'...7a' names the type "z", which does not exist. The bad keys get a valid value. */
  exec_sql (path,
            "INSERT INTO settings (key, value) VALUES"
            "  ('garbage', x'610000620000'),"
            "  ('empty', x''),"
            "  ('short', x'0300000075'),"
            "  ('bad-type', x'03000000007a');"
            "INSERT INTO settings (key, value)"
            "  SELECT '', value FROM settings WHERE key = 'max-active';"
            "INSERT INTO settings (key, value)"
            "  SELECT CAST(x'6d61782dff' AS TEXT), value FROM settings WHERE key = 'max-active';"
            "INSERT INTO settings (key, value)"
            "  SELECT 'line' || char(10) || 'break', value"
            "  FROM settings WHERE key = 'max-active';");

  /* In the order of the keys, bytewise; each on one line. */
  store = open_store (path);
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
                         "Skipping setting “” in the download list: the key is empty");
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
                         "Skipping setting “bad-type” *not a serialized GVariant of type v");
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
                         "Skipping setting “empty” *not a serialized GVariant of type v");
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
                         "Skipping setting “garbage” *not a serialized GVariant of type v");
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
                         "Skipping setting “line\\nbreak” *control character");
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
                         "Skipping setting “max-\xef\xbf\xbd” *not UTF-8");
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
                         "Skipping setting “short” *not a serialized GVariant of type v");
  settings = load_settings (store);
  g_test_assert_expected_messages ();

  expected = g_variant_ref_sink (
    g_variant_new_parsed ("{'default-folder': <'/tmp'>, 'max-active': <uint32 4>, "
                          "'max-speed': <uint64 100>}"));
  assert_variant_equal (settings, expected);

  /* A damaged row is repaired by writing its key, or deleting it. */
  sl_store_set_setting (store, "garbage", g_variant_new_boolean (TRUE));
  sl_store_set_setting (store, "empty", NULL);
  sl_store_set_setting (store, "short", NULL);
  sl_store_set_setting (store, "bad-type", NULL);
  flush (store);
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "Skipping setting “” *");
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "Skipping setting “line\\nbreak” *");
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
                         "Skipping setting “max-\xef\xbf\xbd” *");
  repaired = load_settings (store);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (g_variant_n_children (repaired), ==, 4);
  {
    g_autoptr (GVariant) garbage = g_variant_lookup_value (repaired, "garbage",
                                                           G_VARIANT_TYPE_BOOLEAN);

    g_assert_nonnull (garbage);
    g_assert_true (g_variant_get_boolean (garbage));
  }
  g_assert_finalize_object (store);
}

/* The schema of version 1 as it was released, kept here because a migration, once released,
 * never changes: a file written then has exactly these tables. */
static const char schema_v1[] =
  "CREATE TABLE downloads ("
  "  id             INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  uri            TEXT NOT NULL,"
  "  directory      TEXT NOT NULL,"
  "  filename       TEXT,"
  "  state          TEXT NOT NULL,"
  "  error_kind     TEXT NOT NULL DEFAULT 'none',"
  "  error_message  TEXT,"
  "  http_status    INTEGER NOT NULL DEFAULT 0,"
  "  bytes_received INTEGER NOT NULL DEFAULT 0,"
  "  bytes_total    INTEGER NOT NULL DEFAULT -1,"
  "  resume_data    BLOB,"
  "  options        BLOB,"
  "  position       INTEGER NOT NULL DEFAULT 0,"
  "  created_at     INTEGER NOT NULL DEFAULT 0,"
  "  finished_at    INTEGER NOT NULL DEFAULT 0"
  ") STRICT;"
  "CREATE INDEX downloads_by_position ON downloads (position, id);";

static void
test_migrate_v1 (void)
{
  g_autofree char *path = store_path ();
  g_autofree char *folder = g_path_get_dirname (path);
  g_autofree char *fresh_path = g_build_filename (folder, "fresh.db", NULL);
  g_autofree char *sql = NULL;
  g_autofree char *schema = NULL;
  g_autofree char *fresh_schema = NULL;
  g_autoptr (SlStoreRecord) running = bare_record (0);
  g_autoptr (SlStoreRecord) failed = bare_record (1);
  g_autoptr (SlStoreRecord) later = bare_record (2);
  g_autoptr (GPtrArray) records = NULL;
  g_autoptr (GVariant) settings = NULL;
  g_autoptr (GVariant) max_speed = NULL;
  SlStore *store;

  /* Three downloads of version 1, the newest one removed since: its id stays used. */
  g_assert_cmpint (g_mkdir_with_parents (folder, 0700), ==, 0);
  sql = g_strconcat ("PRAGMA journal_mode = WAL;", schema_v1,
                     "INSERT INTO downloads (uri, directory, filename, state, error_kind,"
                     "  error_message, http_status, bytes_received, bytes_total, resume_data,"
                     "  position, created_at, finished_at) VALUES"
                     "  ('http://127.0.0.1/0', '/tmp', 'zero.iso', 'running', 'none', NULL, 206,"
                     "   4096, 8192, x'0102', 0, 1700000000, 0),"
                     "  ('http://127.0.0.1/1', '/tmp', NULL, 'failed', 'server', 'Not Found', 404,"
                     "   0, -1, NULL, 1, 1700000001, 1700000002),"
                     "  ('http://127.0.0.1/2', '/tmp', NULL, 'queued', 'none', NULL, 0,"
                     "   0, -1, NULL, 2, 1700000003, 0);"
                     "DELETE FROM downloads WHERE id = 3;"
                     "PRAGMA user_version = 1;",
                     NULL);
  exec_sql (path, sql);

  running->id = 1;
  running->filename = g_strdup ("zero.iso");
  running->state = SL_DOWNLOAD_STATE_RUNNING;
  running->http_status = 206;
  running->bytes_received = 4096;
  running->bytes_total = 8192;
  running->resume_data = g_bytes_new ("\x01\x02", 2);
  running->created_at = 1700000000;
  failed->id = 2;
  failed->state = SL_DOWNLOAD_STATE_FAILED;
  failed->error_kind = SL_ERROR_KIND_SERVER;
  failed->error_message = g_strdup ("Not Found");
  failed->http_status = 404;
  failed->created_at = 1700000001;
  failed->finished_at = 1700000002;

  /* Opened without being moved aside, and nothing lost. */
  store = open_store (path);
  records = load (store);
  g_assert_cmpuint (records->len, ==, 2);
  assert_record_equal (records->pdata[0], running);
  assert_record_equal (records->pdata[1], failed);
  sl_store_insert (store, later);
  g_assert_cmpint (later->id, ==, 4);

  settings = load_settings (store);
  g_assert_cmpuint (g_variant_n_children (settings), ==, 0);
  sl_store_set_setting (store, "max-speed", g_variant_new_uint64 (1048576));
  flush (store);
  g_assert_finalize_object (store);

  /* The migrated file has the tables of a new one, at the same version. */
  store = open_store (fresh_path);
  g_assert_finalize_object (store);
  g_assert_cmpint (query_sql (path, "PRAGMA user_version"), ==,
                   query_sql (fresh_path, "PRAGMA user_version"));
  g_assert_cmpint (query_sql (path, "PRAGMA user_version"), >, 1);
  schema = query_text (path, SCHEMA_SQL);
  fresh_schema = query_text (fresh_path, SCHEMA_SQL);
  g_assert_cmpstr (schema, ==, fresh_schema);

  store = open_store (path);
  g_clear_pointer (&records, g_ptr_array_unref);
  g_clear_pointer (&settings, g_variant_unref);
  records = load (store);
  g_assert_cmpuint (records->len, ==, 3);
  assert_record_equal (records->pdata[2], later);
  settings = load_settings (store);
  max_speed = g_variant_lookup_value (settings, "max-speed", G_VARIANT_TYPE_UINT64);
  g_assert_nonnull (max_speed);
  g_assert_cmpuint (g_variant_get_uint64 (max_speed), ==, 1048576);
  g_assert_finalize_object (store);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/store/round-trip", test_round_trip);
  g_test_add_func ("/store/update", test_update);
  g_test_add_func ("/store/coalesce", test_coalesce);
  g_test_add_func ("/store/flush-async", test_flush_async);
  g_test_add_func ("/store/dispose-flushes", test_dispose_flushes);
  g_test_add_func ("/store/crash", test_crash);
  g_test_add_func ("/store/corrupt/garbage", test_corrupt_garbage);
  g_test_add_func ("/store/corrupt/newer", test_corrupt_newer);
  g_test_add_func ("/store/corrupt/truncated", test_corrupt_truncated);
  g_test_add_func ("/store/bad-rows", test_bad_rows);
  g_test_add_func ("/store/unwritable", test_unwritable);
  g_test_add_func ("/store/not-a-file", test_not_a_file);
  g_test_add_func ("/store/write-error", test_write_error);
  g_test_add_func ("/store/many", test_many);
  g_test_add_func ("/store/migrate/v1", test_migrate_v1);
  g_test_add_func ("/store/settings/round-trip", test_settings_round_trip);
  g_test_add_func ("/store/settings/empty", test_settings_empty);
  g_test_add_func ("/store/settings/overwrite", test_settings_overwrite);
  g_test_add_func ("/store/settings/crash", test_settings_crash);
  g_test_add_func ("/store/settings/bad-rows", test_settings_bad_rows);

  return g_test_run ();
}
