/* test-segment-map.c
 *
 * SlSegmentMap by tables: each case runs a few operations on a map and compares what each
 * claim and steal gave, and the map at the end, with what it should be. Then reading done
 * ranges from resume data, the valid and the broken ones.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "sl-segment-map.h"
#include "sl-types.h"

/* Operations, separated by spaces:
 *   dA-B   mark [A, B) done
 *   c      claim; gives "A-B", "A-end" or "none"
 *   sN     steal with a least size of N; gives "V:A-B" or "none"
 *   rA     release the claim that starts at A
 *   pS@A   split the claim that starts at S at A; gives "ok" or "no"
 *   eS     where the claim that starts at S ends; gives the number
 *   tN     set the total to N (t-1: unknown)
 *   x      reset */
typedef struct
{
  const char *name;
  gint64      total;
  const char *ops;
  const char *results;   /* what c and s gave, one after the other */
  const char *map;       /* sl_segment_map_to_string() at the end */
  gint64      done;
  gint64      prefix;
  gboolean    complete;
} MapCase;

static const MapCase map_cases[] = {
  { "empty", 100, "", "", "done; claimed", 0, 0, FALSE },
  { "empty entity", 0, "c", "none", "done; claimed", 0, 0, TRUE },
  { "merge touching", 100, "d0-10 d10-20 d30-40", "", "done [0, 20) [30, 40); claimed", 30, 20,
    FALSE },
  { "merge over a gap", 100, "d30-40 d0-10 d5-35", "", "done [0, 40); claimed", 40, 40, FALSE },
  { "merge inside", 100, "d0-50 d10-20", "", "done [0, 50); claimed", 50, 50, FALSE },
  { "merge several", 100, "d10-20 d30-40 d50-60 d15-55", "", "done [10, 60); claimed", 50, 0,
    FALSE },
  { "empty range", 100, "d5-5", "", "done; claimed", 0, 0, FALSE },
  { "complete", 100, "d50-100 d0-50", "", "done [0, 100); claimed", 100, 100, TRUE },
  { "claim all", 100, "c c", "0-100 none", "done; claimed [0, 100)", 0, 0, FALSE },
  { "claim around done", 30, "d10-20 c c c", "0-10 20-30 none",
    "done [10, 20); claimed [0, 10) [20, 30)", 10, 0, FALSE },
  { "claim after the prefix", 100, "d0-40 c", "40-100", "done [0, 40); claimed [40, 100)", 40,
    40, FALSE },
  { "claim of unknown length", -1, "d0-10 c c", "10-end none",
    "done [0, 10); claimed [10, end)", 10, 10, FALSE },
  { "release, claim again", 100, "c d0-30 r0 c", "0-100 30-100",
    "done [0, 30); claimed [30, 100)", 30, 30, FALSE },
  { "steal the upper half", 100, "c d0-20 s10 c", "0-100 0:60-100 none",
    "done [0, 20); claimed [0, 60) [60, 100)", 20, 20, FALSE },
  { "steal too small", 100, "c d0-20 s41", "0-100 none", "done [0, 20); claimed [0, 100)", 20,
    20, FALSE },
  { "steal the largest", 100, "d10-20 c c d0-5 d20-22 s5", "0-10 20-100 20:61-100",
    "done [0, 5) [10, 22); claimed [0, 10) [20, 61) [61, 100)", 17, 5, FALSE },
  { "steal twice", 100, "c s10 s10", "0-100 0:50-100 0:25-50",
    "done; claimed [0, 25) [25, 50) [50, 100)", 0, 0, FALSE },
  { "no steal of an unknown end", -1, "c s1", "0-end none", "done; claimed [0, end)", 0, 0,
    FALSE },
  { "no steal without claims", 100, "s1", "none", "done; claimed", 0, 0, FALSE },
  { "a finished claim is not split", 100, "c d0-100 s1", "0-100 none",
    "done [0, 100); claimed [0, 100)", 100, 100, TRUE },
  { "length learnt", -1, "c d0-10 t50", "0-end", "done [0, 10); claimed [0, 50)", 10, 10,
    FALSE },
  { "shorter length", 100, "d0-30 d60-80 c t50", "30-60", "done [0, 30); claimed [30, 50)", 30,
    30, FALSE },
  { "length forgotten", 100, "d0-30 t-1 c", "30-end", "done [0, 30); claimed [30, end)", 30,
    30, FALSE },
  { "reset", 100, "d0-30 c x c", "30-100 0-100", "done; claimed [0, 100)", 0, 0, FALSE },
  { "split where the owner stops", 100, "c d0-10 p0@40 e0 e40 c",
    "0-100 ok 40 100 none", "done [0, 10); claimed [0, 40) [40, 100)", 10, 10, FALSE },
  { "split outside the claim", 100, "c p0@0 p0@100 p5@50 e5", "0-100 no no no -1",
    "done; claimed [0, 100)", 0, 0, FALSE },
};

static gint64
number (const char *text)
{
  gint64 value = 0;

  g_assert_true (g_ascii_string_to_signed (text, 10, -1, G_MAXINT64, &value, NULL));
  return value;
}

static char *
claim_text (gboolean ok,
            gint64   start,
            gint64   end)
{
  if (!ok)
    return g_strdup ("none");
  if (end == G_MAXINT64)
    return g_strdup_printf ("%" G_GINT64_FORMAT "-end", start);
  return g_strdup_printf ("%" G_GINT64_FORMAT "-%" G_GINT64_FORMAT, start, end);
}

static char *
run_op (SlSegmentMap *map,
        const char   *op)
{
  gint64 start = 0, end = 0, victim = 0;

  switch (op[0])
    {
    case 'd':
      {
        g_auto (GStrv) bounds = g_strsplit (op + 1, "-", 2);

        sl_segment_map_mark_done (map, number (bounds[0]), number (bounds[1]));
        return NULL;
      }
    case 'c':
      {
        gboolean ok = sl_segment_map_claim (map, &start, &end);

        return claim_text (ok, start, end);
      }
    case 's':
      {
        g_autofree char *range = NULL;

        if (!sl_segment_map_steal (map, number (op + 1), &victim, &start, &end))
          return g_strdup ("none");
        range = claim_text (TRUE, start, end);
        return g_strdup_printf ("%" G_GINT64_FORMAT ":%s", victim, range);
      }
    case 'r':
      sl_segment_map_release (map, number (op + 1));
      return NULL;
    case 'p':
      {
        g_auto (GStrv) parts = g_strsplit (op + 1, "@", 2);

        return g_strdup (sl_segment_map_split (map, number (parts[0]), number (parts[1]))
                         ? "ok" : "no");
      }
    case 'e':
      return g_strdup_printf ("%" G_GINT64_FORMAT,
                              sl_segment_map_get_claim_end (map, number (op + 1)));
    case 't':
      sl_segment_map_set_total (map, number (op + 1));
      return NULL;
    case 'x':
      sl_segment_map_reset (map);
      return NULL;
    default:
      g_error ("unknown operation “%s”", op);
    }
}

static void
test_map_table (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (map_cases); i++)
    {
      const MapCase *c = &map_cases[i];
      g_autoptr (SlSegmentMap) map = sl_segment_map_new (c->total);
      g_autoptr (SlSegmentMap) copy = NULL;
      g_auto (GStrv) ops = g_strsplit (c->ops, " ", -1);
      g_autoptr (GPtrArray) results = g_ptr_array_new_with_free_func (g_free);
      g_autofree char *joined = NULL;
      g_autofree char *text = NULL;
      g_autofree char *copy_text = NULL;

      g_test_message ("map: %s", c->name);
      for (guint j = 0; ops[j] != NULL; j++)
        {
          char *result;

          if (ops[j][0] == '\0')
            continue;
          result = run_op (map, ops[j]);
          if (result != NULL)
            g_ptr_array_add (results, result);
        }
      g_ptr_array_add (results, NULL);
      joined = g_strjoinv (" ", (char **) results->pdata);
      g_assert_cmpstr (joined, ==, c->results);

      text = sl_segment_map_to_string (map);
      g_assert_cmpstr (text, ==, c->map);
      g_assert_cmpint (sl_segment_map_get_bytes_done (map), ==, c->done);
      g_assert_cmpint (sl_segment_map_get_prefix (map), ==, c->prefix);
      g_assert_cmpint (sl_segment_map_is_complete (map), ==, c->complete);

      copy = sl_segment_map_copy (map);
      copy_text = sl_segment_map_to_string (copy);
      g_assert_cmpstr (copy_text, ==, text);
    }
}

/* Done ranges in resume data */

typedef struct
{
  const char *name;
  const char *ranges;    /* GVariant text */
  gint64      total;
  gboolean    valid;
  const char *map;       /* when valid */
} VariantCase;

static const VariantCase variant_cases[] = {
  { "none", "@a(xx) []", 100, TRUE, "done; claimed" },
  { "prefix", "[(int64 0, int64 40)]", 100, TRUE, "done [0, 40); claimed" },
  { "with holes", "[(int64 0, int64 10), (20, 30), (40, 100)]", 100, TRUE,
    "done [0, 10) [20, 30) [40, 100); claimed" },
  { "unknown total", "[(int64 5, int64 7)]", -1, TRUE, "done [5, 7); claimed" },
  { "whole", "[(int64 0, int64 100)]", 100, TRUE, "done [0, 100); claimed" },
  { "wrong type", "@a(ii) [(0, 10)]", 100, FALSE, NULL },
  { "not an array", "int64 5", 100, FALSE, NULL },
  { "negative start", "[(int64 -1, int64 10)]", 100, FALSE, NULL },
  { "empty range", "[(int64 10, int64 10)]", 100, FALSE, NULL },
  { "backwards", "[(int64 10, int64 5)]", 100, FALSE, NULL },
  { "touching", "[(int64 0, int64 10), (10, 20)]", 100, FALSE, NULL },
  { "overlapping", "[(int64 0, int64 10), (5, 20)]", 100, FALSE, NULL },
  { "out of order", "[(int64 20, int64 30), (0, 10)]", 100, FALSE, NULL },
  { "past the total", "[(int64 0, int64 101)]", 100, FALSE, NULL },
  { "absurdly long", "[(int64 0, int64 9223372036854775807)]", -1, FALSE, NULL },
};

static void
test_variant_table (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (variant_cases); i++)
    {
      const VariantCase *c = &variant_cases[i];
      g_autoptr (GError) error = NULL;
      g_autoptr (GVariant) ranges = g_variant_parse (NULL, c->ranges, NULL, NULL, &error);
      g_autoptr (SlSegmentMap) map = NULL;

      g_test_message ("ranges: %s", c->name);
      g_assert_no_error (error);
      map = sl_segment_map_new_from_variant (ranges, c->total, &error);
      if (!c->valid)
        {
          g_assert_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_RESUME_DATA);
          g_assert_null (map);
          continue;
        }

      g_assert_no_error (error);
      g_assert_nonnull (map);
      {
        g_autofree char *text = sl_segment_map_to_string (map);
        g_autoptr (GVariant) back = g_variant_ref_sink (sl_segment_map_to_variant (map));
        g_autoptr (GVariant) expected = g_variant_new_parsed (c->ranges);

        g_assert_cmpstr (text, ==, c->map);
        /* What is read is written back as it was. */
        g_assert_true (g_variant_equal (back, expected));
      }
    }

  /* No ranges at all is broken resume data too. */
  {
    g_autoptr (GError) error = NULL;

    g_assert_null (sl_segment_map_new_from_variant (NULL, 100, &error));
    g_assert_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_RESUME_DATA);
  }
}

/* Random pieces of an entity marked done in random order end as one complete range, and
 * claims never cover a done byte or one another. */
static void
test_random_reassembly (void)
{
  for (guint round = 0; round < 200; round++)
    {
      gint64 total = g_test_rand_int_range (1, 5000);
      g_autoptr (SlSegmentMap) map = sl_segment_map_new (total);
      g_autofree guint8 *seen = g_malloc0 (total);
      gint64 covered = 0;

      for (guint step = 0; step < 10000 && !sl_segment_map_is_complete (map); step++)
        {
          /* Pieces may begin before the first byte, so that it is no rarer than the rest. */
          gint64 first = g_test_rand_int_range (-300, total);
          gint64 length = g_test_rand_int_range (1, 300);
          gint64 start = MAX (first, 0);
          gint64 end = MIN (total, MAX (first + length, 0));

          sl_segment_map_mark_done (map, start, end);
          for (gint64 b = start; b < end; b++)
            {
              covered += seen[b] == 0;
              seen[b] = 1;
            }
          g_assert_cmpint (sl_segment_map_get_bytes_done (map), ==, covered);
        }
      if (!sl_segment_map_is_complete (map))
        {
          g_autofree char *text = sl_segment_map_to_string (map);

          g_error ("%" G_GINT64_FORMAT " bytes, %" G_GINT64_FORMAT " covered: %s", total,
                   covered, text);
        }
      g_assert_cmpint (sl_segment_map_get_prefix (map), ==, total);
    }
}

static void
test_claims_cover_the_rest (void)
{
  for (guint round = 0; round < 200; round++)
    {
      gint64 total = g_test_rand_int_range (1, 3000);
      g_autoptr (SlSegmentMap) map = sl_segment_map_new (total);
      g_autofree guint8 *owner = g_malloc0 (total);
      gint64 start, end, victim;

      /* Done bytes are 1, claimed ones 2. */
      for (guint n = 0; n < 10; n++)
        {
          gint64 a = g_test_rand_int_range (0, total);
          gint64 length = g_test_rand_int_range (1, 100);
          gint64 b = MIN (total, a + length);

          sl_segment_map_mark_done (map, a, b);
          memset (owner + a, 1, b - a);
        }
      while (sl_segment_map_claim (map, &start, &end))
        {
          g_assert_cmpint (start, <, end);
          for (gint64 b = start; b < end; b++)
            {
              g_assert_cmpint (owner[b], ==, 0);
              owner[b] = 2;
            }
        }
      while (sl_segment_map_steal (map, 1, &victim, &start, &end))
        ;
      for (gint64 b = 0; b < total; b++)
        g_assert_cmpint (owner[b], !=, 0);
    }
}

/* The extent is where the last done range ends; a merge marks the other map's ranges. */
static void
test_extent_and_merge (void)
{
  g_autoptr (SlSegmentMap) a = sl_segment_map_new (100);
  g_autoptr (SlSegmentMap) b = sl_segment_map_new (100);
  g_autofree char *text = NULL;

  g_assert_cmpint (sl_segment_map_get_extent (a), ==, 0);
  sl_segment_map_mark_done (a, 10, 20);
  sl_segment_map_mark_done (a, 50, 60);
  g_assert_cmpint (sl_segment_map_get_extent (a), ==, 60);

  sl_segment_map_mark_done (b, 0, 10);
  sl_segment_map_mark_done (b, 55, 80);
  sl_segment_map_merge (a, b);
  text = sl_segment_map_to_string (a);
  g_assert_cmpstr (text, ==, "done [0, 20) [50, 80); claimed");
  g_assert_cmpint (sl_segment_map_get_extent (a), ==, 80);
  g_assert_cmpint (sl_segment_map_get_prefix (a), ==, 20);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/segment-map/table", test_map_table);
  g_test_add_func ("/segment-map/extent-and-merge", test_extent_and_merge);
  g_test_add_func ("/segment-map/variant", test_variant_table);
  g_test_add_func ("/segment-map/random-reassembly", test_random_reassembly);
  g_test_add_func ("/segment-map/claims-cover-the-rest", test_claims_cover_the_rest);

  return g_test_run ();
}
