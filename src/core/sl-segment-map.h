/* sl-segment-map.h
 *
 * Which bytes of a download are done, and which are claimed by a transfer that fetches them.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define SL_TYPE_SEGMENT_MAP (sl_segment_map_get_type ())

typedef struct _SlSegmentMap SlSegmentMap;

GType         sl_segment_map_get_type          (void) G_GNUC_CONST;

SlSegmentMap *sl_segment_map_new               (gint64              total);
SlSegmentMap *sl_segment_map_new_from_variant  (GVariant           *ranges,
                                                gint64              total,
                                                GError            **error);
SlSegmentMap *sl_segment_map_copy              (const SlSegmentMap *self);
void          sl_segment_map_free              (SlSegmentMap       *self);

gint64        sl_segment_map_get_total         (const SlSegmentMap *self);
void          sl_segment_map_set_total         (SlSegmentMap       *self,
                                                gint64              total);
void          sl_segment_map_reset             (SlSegmentMap       *self);

void          sl_segment_map_mark_done         (SlSegmentMap       *self,
                                                gint64              start,
                                                gint64              end);
gint64        sl_segment_map_get_bytes_done    (const SlSegmentMap *self);
gint64        sl_segment_map_get_prefix        (const SlSegmentMap *self);
gint64        sl_segment_map_get_extent        (const SlSegmentMap *self);
void          sl_segment_map_merge             (SlSegmentMap       *self,
                                                const SlSegmentMap *other);
gboolean      sl_segment_map_is_complete       (const SlSegmentMap *self);

gboolean      sl_segment_map_claim             (SlSegmentMap       *self,
                                                gint64             *start,
                                                gint64             *end);
gboolean      sl_segment_map_steal             (SlSegmentMap       *self,
                                                gint64              min_size,
                                                gint64             *victim,
                                                gint64             *start,
                                                gint64             *end);
gboolean      sl_segment_map_split             (SlSegmentMap       *self,
                                                gint64              start,
                                                gint64              at);
void          sl_segment_map_release           (SlSegmentMap       *self,
                                                gint64              start);
gint64        sl_segment_map_get_claim_end     (const SlSegmentMap *self,
                                                gint64              start);
guint         sl_segment_map_get_n_claims      (const SlSegmentMap *self);

GVariant     *sl_segment_map_to_variant        (const SlSegmentMap *self);
char         *sl_segment_map_to_string         (const SlSegmentMap *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SlSegmentMap, sl_segment_map_free)

G_END_DECLS
