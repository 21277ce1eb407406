/* sl-rate-limiter.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Tokens are bytes. They accrue at the rate, up to BURST_US worth. A read reserves what it may
 * ask for before it starts and gives back what it did not get, so transfers that read at once
 * never take more between them than the bucket held: over any span, no more than one burst
 * and the rate times the span come through. Times are passed in, which keeps the bucket pure
 * and its tests free of clocks.
 */

#include "config.h"

#include "sl-rate-limiter.h"

/* How much may be read at once, and how much can pile up while nobody reads. */
#define BURST_US      (50 * G_TIME_SPAN_MILLISECOND)
/* Reads smaller than this cost more in wake-ups than they are worth. */
#define MIN_READ      (16 * 1024)

struct _SlRateLimiter
{
  gatomicrefcount  ref_count;
  SlRateLimiter   *parent;
  guint64          rate;       /* bytes per second, 0 for none */
  double           tokens;
  gint64           refilled_us;
};

G_DEFINE_BOXED_TYPE (SlRateLimiter, sl_rate_limiter, sl_rate_limiter_ref, sl_rate_limiter_unref)

/**
 * sl_rate_limiter_new:
 * @parent: (nullable): a bucket that also bounds every read of this one
 *
 * Returns: (transfer full): a bucket with no limit of its own
 */
SlRateLimiter *
sl_rate_limiter_new (SlRateLimiter *parent)
{
  SlRateLimiter *self = g_new0 (SlRateLimiter, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->parent = parent != NULL ? sl_rate_limiter_ref (parent) : NULL;
  return self;
}

SlRateLimiter *
sl_rate_limiter_ref (SlRateLimiter *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
sl_rate_limiter_unref (SlRateLimiter *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  g_clear_pointer (&self->parent, sl_rate_limiter_unref);
  g_free (self);
}

static double
burst (SlRateLimiter *self)
{
  return MAX ((double) self->rate * BURST_US / G_USEC_PER_SEC, 1.0);
}

/* The smallest allowance worth a read. */
static double
threshold (SlRateLimiter *self)
{
  return MIN ((double) MIN_READ, burst (self));
}

static void
refill (SlRateLimiter *self,
        gint64         now_us)
{
  if (self->rate == 0)
    return;

  if (self->refilled_us == 0 || now_us < self->refilled_us)
    self->refilled_us = now_us;
  self->tokens = MIN (self->tokens + (double) self->rate * (now_us - self->refilled_us) /
                                       G_USEC_PER_SEC,
                      burst (self));
  self->refilled_us = now_us;
}

/**
 * sl_rate_limiter_set_rate:
 * @self: a bucket
 * @bytes_per_second: the limit, or 0 for none
 *
 * Changes the limit at once; a bucket that gets a limit starts full.
 */
void
sl_rate_limiter_set_rate (SlRateLimiter *self,
                          guint64        bytes_per_second)
{
  g_return_if_fail (self != NULL);

  if (self->rate == bytes_per_second)
    return;

  self->rate = bytes_per_second;
  self->refilled_us = 0;
  self->tokens = bytes_per_second > 0 ? burst (self) : 0;
}

guint64
sl_rate_limiter_get_rate (SlRateLimiter *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->rate;
}

/**
 * sl_rate_limiter_is_limited:
 * @self: a bucket
 *
 * Returns: whether this bucket or one above it has a limit
 */
gboolean
sl_rate_limiter_is_limited (SlRateLimiter *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  for (; self != NULL; self = self->parent)
    if (self->rate > 0)
      return TRUE;
  return FALSE;
}

/**
 * sl_rate_limiter_get_limit:
 * @self: a bucket
 *
 * Returns: the lowest rate of this bucket and those above it, in bytes per second, or 0 when
 *   none has a limit
 */
guint64
sl_rate_limiter_get_limit (SlRateLimiter *self)
{
  guint64 limit = 0;

  g_return_val_if_fail (self != NULL, 0);

  for (; self != NULL; self = self->parent)
    if (self->rate > 0 && (limit == 0 || self->rate < limit))
      limit = self->rate;
  return limit;
}

/**
 * sl_rate_limiter_allow:
 * @self: a bucket
 * @now_us: the monotonic time
 * @wait_us: (out): with 0 returned, how long to wait before asking again
 *
 * Reserves what the next read may ask for: at most %SL_RATE_LIMITER_MAX_READ, the tokens
 * there are and 50 ms of the rate, in this bucket and every one above it. The read then gives
 * back what it did not get with sl_rate_limiter_refund().
 *
 * Returns: the bytes to read, or 0 to wait @wait_us first
 */
gsize
sl_rate_limiter_allow (SlRateLimiter *self,
                       gint64         now_us,
                       gint64        *wait_us)
{
  double allowed = SL_RATE_LIMITER_MAX_READ;
  double wait = 0;

  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (wait_us != NULL, 0);

  for (SlRateLimiter *bucket = self; bucket != NULL; bucket = bucket->parent)
    {
      if (bucket->rate == 0)
        continue;

      refill (bucket, now_us);
      if (bucket->tokens < threshold (bucket))
        wait = MAX (wait, (threshold (bucket) - bucket->tokens) * G_USEC_PER_SEC /
                          (double) bucket->rate);
      else
        allowed = MIN (allowed, bucket->tokens);
    }

  if (wait > 0)
    {
      /* Rounded up: a wake-up a little early would find too few tokens and sleep again. */
      *wait_us = MAX ((gint64) wait + 1, G_TIME_SPAN_MILLISECOND);
      return 0;
    }

  *wait_us = 0;
  for (SlRateLimiter *bucket = self; bucket != NULL; bucket = bucket->parent)
    if (bucket->rate > 0)
      bucket->tokens -= (double) (gsize) allowed;
  return (gsize) allowed;
}

/**
 * sl_rate_limiter_refund:
 * @self: a bucket
 * @bytes: what a read reserved and did not get
 *
 * Gives @bytes back to this bucket and every one above it.
 */
void
sl_rate_limiter_refund (SlRateLimiter *self,
                        gsize          bytes)
{
  g_return_if_fail (self != NULL);

  for (SlRateLimiter *bucket = self; bucket != NULL; bucket = bucket->parent)
    if (bucket->rate > 0)
      bucket->tokens = MIN (bucket->tokens + (double) bytes, burst (bucket));
}
