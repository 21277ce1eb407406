/* test-checksum.c
 *
 * SlChecksum's digests against GLib's, and the digest of a whole file read on a thread: each
 * algorithm, an empty file, a missing one, a folder and a cancelled check.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "sl-checksum.h"
#include "sl-test-utils.h"

#define WAIT_MS (30 * 1000)

static const struct
{
  SlChecksumType type;
  GChecksumType  reference;
} algorithms[] = {
  { SL_CHECKSUM_MD5, G_CHECKSUM_MD5 },
  { SL_CHECKSUM_SHA1, G_CHECKSUM_SHA1 },
  { SL_CHECKSUM_SHA256, G_CHECKSUM_SHA256 },
  { SL_CHECKSUM_SHA512, G_CHECKSUM_SHA512 },
};

typedef struct
{
  GFile *dir;
} Fixture;

typedef struct
{
  gboolean  done;
  char     *digest;
  GError   *error;
} Result;

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  fixture->dir = sl_test_make_temp_dir ();
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  sl_test_rm_rf (fixture->dir);
  g_object_unref (fixture->dir);
}

static void
result_clear (Result *result)
{
  g_free (result->digest);
  g_clear_error (&result->error);
  memset (result, 0, sizeof *result);
}

static void
on_checked (GObject      *source,
            GAsyncResult *async_result,
            gpointer      user_data)
{
  Result *result = user_data;

  g_assert_null (source);
  g_assert_false (result->done);
  result->digest = sl_checksum_file_finish (async_result, &result->error);
  g_assert_true ((result->digest == NULL) != (result->error == NULL));
  result->done = TRUE;
}

static void
check_file (GFile          *file,
            SlChecksumType  type,
            GCancellable   *cancellable,
            Result         *result)
{
  sl_checksum_file_async (file, type, cancellable, on_checked, result);
  g_assert_false (result->done);
  sl_test_wait_until (NULL, sl_test_flag_is_set, &result->done, WAIT_MS);
}

/* Bytes that are not all the same, so that a chunk read twice or skipped changes the digest. */
static GBytes *
make_bytes (gsize size)
{
  guint8 *data = g_malloc (size);
  guint32 state = 2166136261u;

  for (gsize i = 0; i < size; i++)
    {
      state = (state ^ i) * 16777619u;
      data[i] = state >> 24;
    }
  return g_bytes_new_take (data, size);
}

/* A running digest given the bytes in pieces of every size is GLib's digest of them. */
static void
test_update (void)
{
  g_autoptr (GBytes) bytes = make_bytes (100000);
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);

  for (gsize a = 0; a < G_N_ELEMENTS (algorithms); a++)
    {
      g_autofree char *expected = g_compute_checksum_for_bytes (algorithms[a].reference, bytes);
      g_autofree char *empty = g_compute_checksum_for_data (algorithms[a].reference,
                                                            (const guint8 *) "", 0);
      g_autoptr (SlChecksum) checksum = sl_checksum_new (algorithms[a].type);
      g_autofree char *digest = NULL;
      g_autofree char *again = NULL;

      for (gsize at = 0, piece = 1; at < size; at += piece, piece = piece * 3 + 1)
        sl_checksum_update (checksum, data + at, MIN (piece, size - at));
      digest = sl_checksum_get_hex (checksum);
      g_assert_cmpstr (digest, ==, expected);
      g_assert_cmpint (sl_checksum_get_type (checksum), ==, algorithms[a].type);

      /* It starts again from nothing. */
      again = sl_checksum_get_hex (checksum);
      g_assert_cmpstr (again, ==, empty);
    }
}

/* Each algorithm gives the digest of files of a few chunks, of less than one, and empty. */
static void
test_file (Fixture       *fixture,
           gconstpointer  data)
{
  static const gsize sizes[] = { 5 * 1024 * 1024 + 17, 1000, 0 };

  for (gsize s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      g_autoptr (GBytes) bytes = make_bytes (sizes[s]);
      g_autoptr (GFile) file = g_file_get_child (fixture->dir, "file");
      g_autoptr (GError) error = NULL;
      /* GLib holds no data for an empty GBytes, and writes none from NULL. */
      const char *contents = sizes[s] > 0 ? g_bytes_get_data (bytes, NULL) : "";

      g_assert_true (g_file_replace_contents (file, contents, sizes[s], NULL, FALSE,
                                              G_FILE_CREATE_NONE, NULL, NULL, &error));
      g_assert_no_error (error);

      for (gsize a = 0; a < G_N_ELEMENTS (algorithms); a++)
        {
          g_autofree char *expected = g_compute_checksum_for_bytes (algorithms[a].reference,
                                                                    bytes);
          Result result = { 0 };

          g_test_message ("%s of %" G_GSIZE_FORMAT " bytes",
                          sl_checksum_type_name (algorithms[a].type), sizes[s]);
          check_file (file, algorithms[a].type, NULL, &result);
          g_assert_no_error (result.error);
          g_assert_cmpstr (result.digest, ==, expected);
          result_clear (&result);
        }
    }
}

/* A file that cannot be read fails with a GIO error that names it, in one line. */
static void
test_unreadable (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr (GFile) missing = g_file_get_child (fixture->dir, "missing.iso");
  Result result = { 0 };

  check_file (missing, SL_CHECKSUM_SHA256, NULL, &result);
  g_assert_error (result.error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_test_message ("%s", result.error->message);
  g_assert_true (g_str_has_prefix (result.error->message, "Cannot read “"));
  g_assert_nonnull (strstr (result.error->message, "missing.iso”: "));
  g_assert_null (strchr (result.error->message, '\n'));
  result_clear (&result);

  /* A folder opens, but cannot be read. */
  check_file (fixture->dir, SL_CHECKSUM_MD5, NULL, &result);
  g_assert_error (result.error, G_IO_ERROR, G_IO_ERROR_IS_DIRECTORY);
  g_assert_true (g_str_has_prefix (result.error->message, "Cannot read “"));
  result_clear (&result);
}

/* Cancelled before it starts, or while it reads, it says so rather than give a digest. */
static void
test_cancelled (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr (GFile) file = g_file_get_child (fixture->dir, "file");
  g_autoptr (GBytes) bytes = make_bytes (64 * 1024 * 1024);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  Result result = { 0 };

  g_assert_true (g_file_replace_contents (file, g_bytes_get_data (bytes, NULL),
                                          g_bytes_get_size (bytes), NULL, FALSE,
                                          G_FILE_CREATE_NONE, NULL, NULL, &error));
  g_assert_no_error (error);

  g_cancellable_cancel (cancellable);
  check_file (file, SL_CHECKSUM_SHA512, cancellable, &result);
  g_assert_error (result.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  result_clear (&result);

  /* Cancelled right after it was asked: the thread sees it at its next chunk at the latest. */
  g_cancellable_reset (cancellable);
  sl_checksum_file_async (file, SL_CHECKSUM_SHA512, cancellable, on_checked, &result);
  g_cancellable_cancel (cancellable);
  sl_test_wait_until (NULL, sl_test_flag_is_set, &result.done, WAIT_MS);
  g_assert_error (result.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  result_clear (&result);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/checksum/update", test_update);
#define ADD(name, func) \
  g_test_add ("/checksum/" name, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("file", test_file);
  ADD ("unreadable", test_unreadable);
  ADD ("cancelled", test_cancelled);
#undef ADD

  return g_test_run ();
}
