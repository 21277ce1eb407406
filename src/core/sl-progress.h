/* sl-progress.h
 *
 * The progress maths of a download: its speed, the time left, and how often to tell.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* How often progress is told at most, unless forced. */
#define SL_PROGRESS_INTERVAL_US (100 * G_TIME_SPAN_MILLISECOND)

/**
 * SlProgressChange:
 * @SL_PROGRESS_SPEED: the speed changed
 * @SL_PROGRESS_ETA: the time left changed
 * @SL_PROGRESS_BYTES: the bytes changed since last told
 *
 * What an update found worth telling.
 */
typedef enum
{
  SL_PROGRESS_SPEED = 1 << 0,
  SL_PROGRESS_ETA   = 1 << 1,
  SL_PROGRESS_BYTES = 1 << 2,
} SlProgressChange;

/* Plain state, embedded in its owner; every field is read-only outside sl-progress.c. */
typedef struct
{
  gint64  told_us;       /* when progress was last told */
  gint64  told_bytes;    /* the bytes it told then */
  gint64  sample_us;     /* the start of the speed sample, 0 when none runs */
  gint64  sample_bytes;  /* the bytes at its start */
  guint64 speed;         /* bytes per second, smoothed */
  gint64  eta;           /* seconds left, -1 when unknown */
} SlProgress;

void             sl_progress_init          (SlProgress *self);
void             sl_progress_rebase        (SlProgress *self,
                                            gint64      bytes);
void             sl_progress_rebase_sample (SlProgress *self,
                                            gint64      bytes);
SlProgressChange sl_progress_update        (SlProgress *self,
                                            gint64      now_us,
                                            gint64      bytes,
                                            gint64      total,
                                            gboolean    running,
                                            gboolean    force,
                                            gint64     *step);
SlProgressChange sl_progress_settle        (SlProgress *self);

G_END_DECLS
