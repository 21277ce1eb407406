/* sl-segment-map.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A download's bytes as half-open ranges [start, end): those done (on disk), kept sorted and
 * merged, and those claimed by a transfer, kept sorted and never overlapping one another. A
 * claim starts at a byte that is not done and stops before the next done byte, so a transfer
 * that writes from its start onwards fills it front to back. An entity of unknown length
 * (total -1) has no end: its one claim runs to G_MAXINT64.
 */

#include "config.h"

#include <glib/gi18n.h>

#include "sl-segment-map.h"
#include "sl-types.h"

/* Bounds on what sane resume data can hold; anything beyond is corruption, not a download. */
#define MAX_BYTES (G_MAXINT64 / 2)

typedef struct
{
  gint64 start;
  gint64 end;
} Range;

struct _SlSegmentMap
{
  gint64  total;
  GArray *done;     /* of Range, sorted, neither overlapping nor touching */
  GArray *claims;   /* of Range, sorted, not overlapping */
};

G_DEFINE_BOXED_TYPE (SlSegmentMap, sl_segment_map, sl_segment_map_copy, sl_segment_map_free)

static inline Range *
range_at (GArray *ranges,
          guint   index)
{
  return &g_array_index (ranges, Range, index);
}

/* Where an entity of @self ends: its total, or nowhere. */
static gint64
limit_of (const SlSegmentMap *self)
{
  return self->total >= 0 ? self->total : G_MAXINT64;
}

/**
 * sl_segment_map_new:
 * @total: the entity's length, or -1 when unknown
 *
 * Returns: (transfer full): a map with nothing done and nothing claimed
 */
SlSegmentMap *
sl_segment_map_new (gint64 total)
{
  SlSegmentMap *self;

  g_return_val_if_fail (total >= -1, NULL);

  self = g_new0 (SlSegmentMap, 1);
  self->total = total;
  self->done = g_array_new (FALSE, FALSE, sizeof (Range));
  self->claims = g_array_new (FALSE, FALSE, sizeof (Range));
  return self;
}

/**
 * sl_segment_map_new_from_variant:
 * @ranges: the done ranges, as resume data keeps them
 * @total: the entity's length, or -1 when unknown
 * @error: return location for a %SL_DOWNLOAD_ERROR_RESUME_DATA error
 *
 * Reads the ranges sl_segment_map_to_variant() wrote: an `a(xx)` of [start, end) pairs,
 * ascending, each non-empty, none touching or overlapping the one before, none past @total.
 *
 * Returns: (transfer full) (nullable): the map, with nothing claimed, or %NULL if @ranges is
 *   not such a list
 */
SlSegmentMap *
sl_segment_map_new_from_variant (GVariant  *ranges,
                                 gint64     total,
                                 GError   **error)
{
  g_autoptr (SlSegmentMap) self = NULL;
  GVariantIter iter;
  gint64 start, end;
  gint64 previous_end = -1;

  g_return_val_if_fail (total >= -1, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (ranges == NULL || !g_variant_is_of_type (ranges, G_VARIANT_TYPE ("a(xx)")))
    {
      g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_RESUME_DATA,
                   _("Resume data has no valid byte ranges"));
      return NULL;
    }

  self = sl_segment_map_new (total);
  g_variant_iter_init (&iter, ranges);
  while (g_variant_iter_next (&iter, "(xx)", &start, &end))
    {
      Range range = { start, end };

      if (start < 0 || end <= start || end > MAX_BYTES || start <= previous_end ||
          (total >= 0 && end > total))
        {
          g_autofree char *first = g_strdup_printf ("%" G_GINT64_FORMAT, start);
          g_autofree char *last = g_strdup_printf ("%" G_GINT64_FORMAT, end);

          /* The numbers go in as text: a translatable string cannot hold a format macro. */
          g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_RESUME_DATA,
                       _("Resume data has an invalid byte range %s–%s"), first, last);
          return NULL;
        }
      g_array_append_val (self->done, range);
      previous_end = end;
    }

  return g_steal_pointer (&self);
}

/**
 * sl_segment_map_copy:
 * @self: a map
 *
 * Returns: (transfer full): a map with the same total, done ranges and claims
 */
SlSegmentMap *
sl_segment_map_copy (const SlSegmentMap *self)
{
  SlSegmentMap *copy;

  g_return_val_if_fail (self != NULL, NULL);

  copy = sl_segment_map_new (self->total);
  g_array_append_vals (copy->done, self->done->data, self->done->len);
  g_array_append_vals (copy->claims, self->claims->data, self->claims->len);
  return copy;
}

/**
 * sl_segment_map_free:
 * @self: (nullable): a map
 */
void
sl_segment_map_free (SlSegmentMap *self)
{
  if (self == NULL)
    return;

  g_array_unref (self->done);
  g_array_unref (self->claims);
  g_free (self);
}

/**
 * sl_segment_map_get_total:
 * @self: a map
 *
 * Returns: the entity's length, or -1 when unknown
 */
gint64
sl_segment_map_get_total (const SlSegmentMap *self)
{
  g_return_val_if_fail (self != NULL, -1);

  return self->total;
}

/* Drops the parts of @ranges at or past @total. */
static void
truncate_ranges (GArray *ranges,
                 gint64  total)
{
  for (guint i = ranges->len; i > 0; i--)
    {
      Range *range = range_at (ranges, i - 1);

      if (range->start >= total)
        g_array_remove_index (ranges, i - 1);
      else if (range->end > total)
        range->end = total;
    }
}

/**
 * sl_segment_map_set_total:
 * @self: a map
 * @total: the entity's length, or -1 when unknown
 *
 * Learns (or forgets) the length. Done bytes and claims past a new @total are dropped: they
 * belonged to an entity of another length.
 */
void
sl_segment_map_set_total (SlSegmentMap *self,
                          gint64        total)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (total >= -1);

  self->total = total;
  if (total >= 0)
    {
      truncate_ranges (self->done, total);
      truncate_ranges (self->claims, total);
    }
}

/**
 * sl_segment_map_reset:
 * @self: a map
 *
 * Forgets every done byte and every claim: the download starts over.
 */
void
sl_segment_map_reset (SlSegmentMap *self)
{
  g_return_if_fail (self != NULL);

  g_array_set_size (self->done, 0);
  g_array_set_size (self->claims, 0);
}

/**
 * sl_segment_map_mark_done:
 * @self: a map
 * @start: the first byte now on disk
 * @end: the byte after the last one
 *
 * Records [@start, @end) as done, merging it with the done ranges it touches.
 */
void
sl_segment_map_mark_done (SlSegmentMap *self,
                          gint64        start,
                          gint64        end)
{
  guint first;
  guint last;
  Range merged = { start, end };

  g_return_if_fail (self != NULL);
  g_return_if_fail (0 <= start && start <= end && end <= limit_of (self));

  if (start == end)
    return;

  /* The done ranges that end at or after @start and begin at or before @end touch it. */
  for (first = 0; first < self->done->len && range_at (self->done, first)->end < start; first++)
    ;
  for (last = first; last < self->done->len && range_at (self->done, last)->start <= end; last++)
    {
      merged.start = MIN (merged.start, range_at (self->done, last)->start);
      merged.end = MAX (merged.end, range_at (self->done, last)->end);
    }

  if (last > first)
    g_array_remove_range (self->done, first, last - first);
  g_array_insert_val (self->done, first, merged);
}

/**
 * sl_segment_map_get_bytes_done:
 * @self: a map
 *
 * Returns: how many bytes are done, wherever they are
 */
gint64
sl_segment_map_get_bytes_done (const SlSegmentMap *self)
{
  gint64 bytes = 0;

  g_return_val_if_fail (self != NULL, 0);

  for (guint i = 0; i < self->done->len; i++)
    bytes += range_at (self->done, i)->end - range_at (self->done, i)->start;
  return bytes;
}

/**
 * sl_segment_map_get_prefix:
 * @self: a map
 *
 * Returns: how many bytes from the first one on are done without a hole
 */
gint64
sl_segment_map_get_prefix (const SlSegmentMap *self)
{
  g_return_val_if_fail (self != NULL, 0);

  if (self->done->len == 0 || range_at (self->done, 0)->start != 0)
    return 0;
  return range_at (self->done, 0)->end;
}

/**
 * sl_segment_map_get_extent:
 * @self: a map
 *
 * Returns: where the last done range ends, 0 when nothing is done: a partial file must be at
 *   least this long
 */
gint64
sl_segment_map_get_extent (const SlSegmentMap *self)
{
  g_return_val_if_fail (self != NULL, 0);

  if (self->done->len == 0)
    return 0;
  return range_at (self->done, self->done->len - 1)->end;
}

/**
 * sl_segment_map_merge:
 * @self: a map
 * @other: another map
 *
 * Marks every byte done in @other done in @self too.
 */
void
sl_segment_map_merge (SlSegmentMap       *self,
                      const SlSegmentMap *other)
{
  g_return_if_fail (self != NULL && other != NULL);

  for (guint i = 0; i < other->done->len; i++)
    sl_segment_map_mark_done (self, range_at (other->done, i)->start,
                              range_at (other->done, i)->end);
}

/**
 * sl_segment_map_is_complete:
 * @self: a map
 *
 * Returns: whether the length is known and every byte is done
 */
gboolean
sl_segment_map_is_complete (const SlSegmentMap *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->total >= 0 && sl_segment_map_get_prefix (self) == self->total;
}

/* The index of the first range of @ranges that ends after @offset, or ranges->len. */
static guint
first_ending_after (GArray *ranges,
                    gint64  offset)
{
  guint i;

  for (i = 0; i < ranges->len && range_at (ranges, i)->end <= offset; i++)
    ;
  return i;
}

/* The first byte at or after @offset that is not done. */
static gint64
next_not_done (const SlSegmentMap *self,
               gint64              offset)
{
  guint i = first_ending_after (self->done, offset);

  if (i < self->done->len && range_at (self->done, i)->start <= offset)
    return range_at (self->done, i)->end;
  return offset;
}

/**
 * sl_segment_map_claim:
 * @self: a map
 * @start: (out): the first byte of the claim
 * @end: (out): the byte after its last one; G_MAXINT64 when the length is unknown
 *
 * Claims the first run of bytes that is neither done nor claimed, up to the next byte that is.
 *
 * Returns: %TRUE if there was such a run
 */
gboolean
sl_segment_map_claim (SlSegmentMap *self,
                      gint64       *start,
                      gint64       *end)
{
  gint64 offset = 0;
  gint64 stop = limit_of (self);
  guint at;
  Range claim;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (start != NULL && end != NULL, FALSE);

  /* Skip what is done and what is claimed until neither covers the offset. */
  for (;;)
    {
      gint64 next = next_not_done (self, offset);
      guint i = first_ending_after (self->claims, next);

      if (i < self->claims->len && range_at (self->claims, i)->start <= next)
        next = range_at (self->claims, i)->end;
      if (next == offset)
        break;
      offset = next;
    }
  if (offset >= stop)
    return FALSE;

  at = first_ending_after (self->done, offset);
  if (at < self->done->len)
    stop = MIN (stop, range_at (self->done, at)->start);
  at = first_ending_after (self->claims, offset);
  if (at < self->claims->len)
    stop = MIN (stop, range_at (self->claims, at)->start);

  claim.start = offset;
  claim.end = stop;
  g_array_insert_val (self->claims, at, claim);
  *start = claim.start;
  *end = claim.end;
  return TRUE;
}

/**
 * sl_segment_map_steal:
 * @self: a map
 * @min_size: the least each half may keep
 * @victim: (out): the start of the claim that gave up its upper half
 * @start: (out): the first byte of the new claim
 * @end: (out): the byte after its last one
 *
 * Splits the claim with the most bytes not done yet: it keeps the lower half of what it has
 * left, and the upper half becomes a new claim. A claim that runs to an unknown end is never
 * split.
 *
 * Returns: %TRUE if a claim had at least 2 × @min_size bytes left to split
 */
gboolean
sl_segment_map_steal (SlSegmentMap *self,
                      gint64        min_size,
                      gint64       *victim,
                      gint64       *start,
                      gint64       *end)
{
  guint best = G_MAXUINT;
  gint64 best_left = 0;
  gint64 best_from = 0;
  Range *claim;
  Range upper;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (min_size > 0, FALSE);
  g_return_val_if_fail (victim != NULL && start != NULL && end != NULL, FALSE);

  for (guint i = 0; i < self->claims->len; i++)
    {
      Range *range = range_at (self->claims, i);
      gint64 from = MIN (next_not_done (self, range->start), range->end);

      if (range->end != G_MAXINT64 && range->end - from > best_left)
        {
          best = i;
          best_left = range->end - from;
          best_from = from;
        }
    }
  if (best == G_MAXUINT || best_left / 2 < min_size)
    return FALSE;

  claim = range_at (self->claims, best);
  upper.start = best_from + best_left / 2;
  upper.end = claim->end;
  claim->end = upper.start;
  *victim = claim->start;
  g_array_insert_val (self->claims, best + 1, upper);
  *start = upper.start;
  *end = upper.end;
  return TRUE;
}

/**
 * sl_segment_map_split:
 * @self: a map
 * @start: where the claim to split starts
 * @at: where the new claim starts, inside the claim
 *
 * Splits a claim where its owner stops: it keeps [@start, @at), and [@at, its end) becomes a
 * new claim, for another transfer. The owner's transfer must stop at @at.
 *
 * Returns: %TRUE if there was such a claim with @at inside it
 */
gboolean
sl_segment_map_split (SlSegmentMap *self,
                      gint64        start,
                      gint64        at)
{
  g_return_val_if_fail (self != NULL, FALSE);

  for (guint i = 0; i < self->claims->len; i++)
    {
      Range *claim = range_at (self->claims, i);
      Range upper;

      if (claim->start != start)
        continue;
      if (at <= claim->start || at >= claim->end)
        return FALSE;

      upper.start = at;
      upper.end = claim->end;
      claim->end = at;
      g_array_insert_val (self->claims, i + 1, upper);
      return TRUE;
    }

  return FALSE;
}

/**
 * sl_segment_map_get_claim_end:
 * @self: a map
 * @start: where a claim starts
 *
 * Returns: where the claim that starts at @start ends, or -1 if there is none
 */
gint64
sl_segment_map_get_claim_end (const SlSegmentMap *self,
                              gint64              start)
{
  g_return_val_if_fail (self != NULL, -1);

  for (guint i = 0; i < self->claims->len; i++)
    if (range_at (self->claims, i)->start == start)
      return range_at (self->claims, i)->end;
  return -1;
}

/**
 * sl_segment_map_release:
 * @self: a map
 * @start: where the claim starts
 *
 * Ends the claim that starts at @start. Its bytes that are not done may be claimed again.
 */
void
sl_segment_map_release (SlSegmentMap *self,
                        gint64        start)
{
  g_return_if_fail (self != NULL);

  for (guint i = 0; i < self->claims->len; i++)
    {
      if (range_at (self->claims, i)->start == start)
        {
          g_array_remove_index (self->claims, i);
          return;
        }
    }
  g_return_if_reached ();
}

/**
 * sl_segment_map_get_n_claims:
 * @self: a map
 *
 * Returns: how many claims there are
 */
guint
sl_segment_map_get_n_claims (const SlSegmentMap *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->claims->len;
}

/**
 * sl_segment_map_to_variant:
 * @self: a map
 *
 * Returns: (transfer floating): the done ranges as an `a(xx)`, for resume data; claims are
 *   not kept, they end with their transfers
 */
GVariant *
sl_segment_map_to_variant (const SlSegmentMap *self)
{
  GVariantBuilder builder;

  g_return_val_if_fail (self != NULL, NULL);

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(xx)"));
  for (guint i = 0; i < self->done->len; i++)
    g_variant_builder_add (&builder, "(xx)", range_at (self->done, i)->start,
                           range_at (self->done, i)->end);
  return g_variant_builder_end (&builder);
}

static void
append_ranges (GString *text,
               GArray  *ranges)
{
  for (guint i = 0; i < ranges->len; i++)
    {
      Range *range = range_at (ranges, i);

      if (range->end == G_MAXINT64)
        g_string_append_printf (text, " [%" G_GINT64_FORMAT ", end)", range->start);
      else
        g_string_append_printf (text, " [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ")",
                                range->start, range->end);
    }
}

/**
 * sl_segment_map_to_string:
 * @self: a map
 *
 * Returns: (transfer full): the map for logs and test failures, as
 *   "done [0, 10) [20, 30); claimed [10, 15)"
 */
char *
sl_segment_map_to_string (const SlSegmentMap *self)
{
  GString *text;

  g_return_val_if_fail (self != NULL, NULL);

  text = g_string_new ("done");
  append_ranges (text, self->done);
  g_string_append (text, "; claimed");
  append_ranges (text, self->claims);
  return g_string_free (text, FALSE);
}
