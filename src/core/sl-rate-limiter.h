/* sl-rate-limiter.h
 *
 * A token bucket that bounds how fast the transfers sharing it read, under an optional parent
 * bucket (a download's limit under the global one).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define SL_TYPE_RATE_LIMITER (sl_rate_limiter_get_type ())

typedef struct _SlRateLimiter SlRateLimiter;

/* The most one read may ask for, whatever the limit. */
#define SL_RATE_LIMITER_MAX_READ (1024 * 1024)

GType          sl_rate_limiter_get_type   (void) G_GNUC_CONST;

SlRateLimiter *sl_rate_limiter_new        (SlRateLimiter *parent);
SlRateLimiter *sl_rate_limiter_ref        (SlRateLimiter *self);
void           sl_rate_limiter_unref      (SlRateLimiter *self);

void           sl_rate_limiter_set_rate   (SlRateLimiter *self,
                                           guint64        bytes_per_second);
guint64        sl_rate_limiter_get_rate   (SlRateLimiter *self);
gboolean       sl_rate_limiter_is_limited (SlRateLimiter *self);
guint64        sl_rate_limiter_get_limit  (SlRateLimiter *self);

gsize          sl_rate_limiter_allow      (SlRateLimiter *self,
                                           gint64         now_us,
                                           gint64        *wait_us);
void           sl_rate_limiter_refund     (SlRateLimiter *self,
                                           gsize          bytes);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SlRateLimiter, sl_rate_limiter_unref)

G_END_DECLS
