/* test-file-hasher.c
 *
 * SlFileHasher against a real file written in the orders segmented downloads write it: the
 * digest is the file's, every buffer comes back in the order it was lent and is never touched
 * after (each is freed when it comes back), and a cut file is hashed again past the cut.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "sl-file-hasher.h"
#include "sl-test-utils.h"

#define SIZE (24 * 1024 * 1024)

typedef struct
{
  GFile  *dir;
  char   *path;
  int     fd;
  guint8 *entity;
  gint    added;
  gint    released;     /* atomic: releases come on the hasher's thread too */
} Fixture;

typedef struct
{
  Fixture *fixture;
  gint     index;
  guint8  *buffer;
} Lent;

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

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  fixture->dir = sl_test_make_temp_dir ();
  fixture->path = g_build_filename (g_file_peek_path (fixture->dir), "file.part", NULL);
  fixture->fd = open (fixture->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  g_assert_cmpint (fixture->fd, >=, 0);
  fixture->entity = g_malloc (SIZE);
  for (gsize i = 0; i < SIZE; i += 4)
    {
      guint32 word = g_test_rand_int ();

      memcpy (fixture->entity + i, &word, 4);
    }
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  close (fixture->fd);
  g_free (fixture->entity);
  sl_test_rm_rf (fixture->dir);
  g_object_unref (fixture->dir);
  g_free (fixture->path);
}

static void
on_released (gpointer data)
{
  Lent *lent = data;

  g_assert_cmpint (g_atomic_int_get (&lent->fixture->released), ==, lent->index);
  /* Poisoned and freed: a digest that read it later would be wrong, or caught by ASan. */
  memset (lent->buffer, 0xa5, 1);
  g_free (lent->buffer);
  g_atomic_int_inc (&lent->fixture->released);
  g_free (lent);
}

/* Writes @length bytes of @bytes at @offset, as the writer does, and lends them. */
static void
write_and_add (Fixture      *fixture,
               SlFileHasher *hasher,
               const guint8 *bytes,
               gint64        offset,
               gsize         length)
{
  Lent *lent = g_new0 (Lent, 1);

  lent->fixture = fixture;
  lent->index = fixture->added++;
  lent->buffer = g_memdup2 (bytes, length);
  g_assert_cmpint (pwrite (fixture->fd, lent->buffer, length, offset), ==, length);
  sl_file_hasher_add (hasher, lent->buffer, offset, length, on_released, lent);
}

/* Pauses as every job but a write does: everything lent is back by then. */
static void
pause_resume (Fixture      *fixture,
              SlFileHasher *hasher)
{
  sl_file_hasher_pause (hasher);
  g_assert_cmpint (g_atomic_int_get (&fixture->released), ==, fixture->added);
  sl_file_hasher_resume (hasher);
}

static char *
finish (Fixture      *fixture,
        SlFileHasher *hasher,
        gint64        size)
{
  int saved_errno = 0;
  char *digest;

  sl_file_hasher_pause (hasher);
  g_assert_cmpint (g_atomic_int_get (&fixture->released), ==, fixture->added);
  digest = sl_file_hasher_finish (hasher, size, &saved_errno);
  g_assert_cmpint (saved_errno, ==, 0);
  g_assert_nonnull (digest);
  return digest;
}

/* Up to four segments write pieces of random sizes, taking turns at random, the first from the
 * start and the others from further on, as a segmented download does. */
static void
test_segments (Fixture       *fixture,
               gconstpointer  data)
{
  for (gsize a = 0; a < G_N_ELEMENTS (algorithms); a++)
    for (guint segments = 1; segments <= 4; segments++)
      {
        g_autofree char *expected = g_compute_checksum_for_data (algorithms[a].reference,
                                                                 fixture->entity, SIZE);
        g_autoptr (SlFileHasher) hasher = NULL;
        g_autofree char *digest = NULL;
        gint64 next[4], end[4];
        guint left = segments;

        g_assert_cmpint (ftruncate (fixture->fd, 0), ==, 0);
        fixture->added = fixture->released = 0;
        hasher = sl_file_hasher_new (algorithms[a].type, fixture->fd, NULL);
        for (guint s = 0; s < segments; s++)
          {
            next[s] = (gint64) SIZE / segments * s;
            end[s] = s + 1 < segments ? (gint64) SIZE / segments * (s + 1) : SIZE;
          }

        while (left > 0)
          {
            guint s = g_test_rand_int_range (0, segments);
            gint64 length = g_test_rand_int_range (1, 1024 * 1024 + 1);

            if (next[s] == end[s])
              continue;
            length = MIN (length, end[s] - next[s]);
            write_and_add (fixture, hasher, fixture->entity + next[s], next[s], length);
            next[s] += length;
            if (next[s] == end[s])
              left--;
            if (g_test_rand_int_range (0, 16) == 0)
              pause_resume (fixture, hasher);
          }

        digest = finish (fixture, hasher, SIZE);
        g_assert_cmpstr (digest, ==, expected);
      }
}

/* A file with bytes already, holes and all: the hasher reads back what it holds as it goes. */
static void
test_on_disk (Fixture       *fixture,
              gconstpointer  data)
{
  g_autofree char *expected = g_compute_checksum_for_data (G_CHECKSUM_SHA256, fixture->entity,
                                                           SIZE);
  g_autoptr (SlSegmentMap) on_disk = sl_segment_map_new (SIZE);
  g_autoptr (SlFileHasher) hasher = NULL;
  g_autofree char *digest = NULL;
  gint64 hole = SIZE / 2;

  g_assert_cmpint (pwrite (fixture->fd, fixture->entity, hole, 0), ==, hole);
  g_assert_cmpint (pwrite (fixture->fd, fixture->entity + hole + 4096, SIZE - hole - 4096,
                           hole + 4096), ==, SIZE - hole - 4096);
  sl_segment_map_mark_done (on_disk, 0, hole);
  sl_segment_map_mark_done (on_disk, hole + 4096, SIZE);

  hasher = sl_file_hasher_new (SL_CHECKSUM_SHA256, fixture->fd, on_disk);
  sl_file_hasher_resume (hasher);
  write_and_add (fixture, hasher, fixture->entity + hole, hole, 4096);
  digest = finish (fixture, hasher, SIZE);
  g_assert_cmpstr (digest, ==, expected);
}

/* Cut, the file is written again past the cut with other bytes: the digest is of the new
 * file, whether the cut fell before or after what the digest had taken. */
static void
test_cut (Fixture       *fixture,
          gconstpointer  data)
{
  static const gint64 cuts[] = { 0, 1, 3 * 1024 * 1024 + 5, SIZE / 2, SIZE - 1 };

  for (gsize i = 0; i < G_N_ELEMENTS (cuts); i++)
    {
      g_autofree guint8 *other = g_memdup2 (fixture->entity, SIZE);
      g_autofree char *expected = NULL;
      g_autofree char *digest = NULL;
      g_autoptr (SlFileHasher) hasher = NULL;

      for (gsize k = cuts[i]; k < SIZE; k++)
        other[k] ^= 0x5a;
      expected = g_compute_checksum_for_data (G_CHECKSUM_SHA1, other, SIZE);

      g_assert_cmpint (ftruncate (fixture->fd, 0), ==, 0);
      fixture->added = fixture->released = 0;
      hasher = sl_file_hasher_new (SL_CHECKSUM_SHA1, fixture->fd, NULL);
      for (gint64 at = 0; at < SIZE; at += 1024 * 1024)
        write_and_add (fixture, hasher, fixture->entity + at, at, 1024 * 1024);

      sl_file_hasher_pause (hasher);
      g_assert_cmpint (ftruncate (fixture->fd, cuts[i]), ==, 0);
      sl_file_hasher_forget_after (hasher, cuts[i]);
      sl_file_hasher_resume (hasher);

      for (gint64 at = cuts[i]; at < SIZE; at += 1024 * 1024)
        write_and_add (fixture, hasher, other + at, at, MIN (1024 * 1024, SIZE - at));
      digest = finish (fixture, hasher, SIZE);
      g_assert_cmpstr (digest, ==, expected);
    }
}

/* Freed with buffers lent, it gives them back, and never waits for itself when freed from a
 * release function on its own thread. */
static void
on_released_free (gpointer data)
{
  SlFileHasher **hasher = data;

  sl_file_hasher_free (*hasher);
  g_atomic_pointer_set (hasher, NULL);
}

static void
test_free (Fixture       *fixture,
           gconstpointer  data)
{
  SlFileHasher *hasher = sl_file_hasher_new (SL_CHECKSUM_SHA512, fixture->fd, NULL);

  for (gint64 at = 0; at < 8 * 1024 * 1024; at += 1024 * 1024)
    write_and_add (fixture, hasher, fixture->entity + at, at, 1024 * 1024);
  sl_file_hasher_free (hasher);
  g_assert_cmpint (g_atomic_int_get (&fixture->released), ==, fixture->added);

  hasher = sl_file_hasher_new (SL_CHECKSUM_SHA512, fixture->fd, NULL);
  g_assert_cmpint (pwrite (fixture->fd, fixture->entity, 4096, 0), ==, 4096);
  sl_file_hasher_add (hasher, fixture->entity, 0, 4096, on_released_free, &hasher);
  while (g_atomic_pointer_get (&hasher) != NULL)
    g_usleep (1000);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func) \
  g_test_add ("/file-hasher/" name, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("segments", test_segments);
  ADD ("on-disk", test_on_disk);
  ADD ("cut", test_cut);
  ADD ("free", test_free);

  return g_test_run ();
}
