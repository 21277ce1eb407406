/* sl-progress.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Speed is sampled every half second or so and smoothed (half the last sample, half the
 * running value), so that the time left does not jump with every buffer; the bytes are told
 * at most every SL_PROGRESS_INTERVAL_US unless an update is forced.
 */

#include "config.h"

#include "sl-progress.h"

#define SAMPLE_US (G_TIME_SPAN_SECOND / 2)

/**
 * sl_progress_init:
 * @self: progress
 *
 * Starts with nothing told, no speed and no time left.
 */
void
sl_progress_init (SlProgress *self)
{
  g_return_if_fail (self != NULL);

  *self = (SlProgress) { .eta = -1 };
}

/**
 * sl_progress_rebase:
 * @self: progress
 * @bytes: where the download stands now
 *
 * Takes @bytes as told and as the start of the next speed sample: bytes that arrived by other
 * means than a transfer (resume data, a restart from zero) are neither a step nor speed.
 */
void
sl_progress_rebase (SlProgress *self,
                    gint64      bytes)
{
  g_return_if_fail (self != NULL);

  self->told_bytes = bytes;
  self->sample_bytes = bytes;
}

/**
 * sl_progress_rebase_sample:
 * @self: progress
 * @bytes: where the download stands now
 *
 * Takes @bytes as the start of the next speed sample only: they are told as a step at the
 * next update, but do not count as speed (a partial file found on disk and checked).
 */
void
sl_progress_rebase_sample (SlProgress *self,
                           gint64      bytes)
{
  g_return_if_fail (self != NULL);

  self->sample_bytes = bytes;
}

/**
 * sl_progress_update:
 * @self: progress
 * @now_us: the monotonic time
 * @bytes: the bytes done, over all transfers
 * @total: the entity's length, or -1
 * @running: whether the download is running; a download that is not has no speed
 * @force: whether to tell now, however recently progress was told
 * @step: (out): the bytes since last told (negative after the bytes went back)
 *
 * Returns: what changed and should be told; nothing when progress was told less than
 *   SL_PROGRESS_INTERVAL_US ago and @force is not set
 */
SlProgressChange
sl_progress_update (SlProgress *self,
                    gint64      now_us,
                    gint64      bytes,
                    gint64      total,
                    gboolean    running,
                    gboolean    force,
                    gint64     *step)
{
  SlProgressChange changes = 0;
  gint64 eta;

  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (step != NULL, 0);

  *step = 0;
  if (!force && now_us - self->told_us < SL_PROGRESS_INTERVAL_US)
    return 0;
  self->told_us = now_us;

  if (now_us - self->sample_us >= SAMPLE_US || force)
    {
      gint64 elapsed = now_us - self->sample_us;
      guint64 speed = self->speed;

      if (self->sample_us > 0 && elapsed > 0 && bytes >= self->sample_bytes)
        {
          double instant = (double) (bytes - self->sample_bytes) * G_TIME_SPAN_SECOND / elapsed;

          speed = self->speed == 0 ? (guint64) instant
                                   : (guint64) (0.5 * self->speed + 0.5 * instant);
        }
      self->sample_us = now_us;
      self->sample_bytes = bytes;

      if (!running)
        speed = 0;
      if (speed != self->speed)
        {
          self->speed = speed;
          changes |= SL_PROGRESS_SPEED;
        }
    }

  if (self->speed > 0 && total >= 0 && total >= bytes)
    eta = (total - bytes + (gint64) self->speed - 1) / (gint64) self->speed;
  else
    eta = -1;
  if (eta != self->eta)
    {
      self->eta = eta;
      changes |= SL_PROGRESS_ETA;
    }

  *step = bytes - self->told_bytes;
  if (*step != 0)
    {
      self->told_bytes = bytes;
      changes |= SL_PROGRESS_BYTES;
    }
  return changes;
}

/**
 * sl_progress_settle:
 * @self: progress
 *
 * Bytes stopped flowing: no speed, no time left, and the next speed sample starts afresh.
 * Call it after a forced update, so that the last bytes are told.
 *
 * Returns: what changed
 */
SlProgressChange
sl_progress_settle (SlProgress *self)
{
  SlProgressChange changes = 0;

  g_return_val_if_fail (self != NULL, 0);

  if (self->speed != 0)
    {
      self->speed = 0;
      changes |= SL_PROGRESS_SPEED;
    }
  if (self->eta != -1)
    {
      self->eta = -1;
      changes |= SL_PROGRESS_ETA;
    }
  self->sample_us = 0;
  return changes;
}
