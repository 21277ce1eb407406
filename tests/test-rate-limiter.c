/* test-rate-limiter.c
 *
 * The token bucket on a clock of its own: readers are simulated step by step, so the rates
 * measured are exact figures, not timings.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "sl-rate-limiter.h"

#define MS G_TIME_SPAN_MILLISECOND

typedef struct
{
  SlRateLimiter *bucket;
  gint64         next_us;   /* when this reader asks next */
  gint64         got;
  gsize          largest;   /* the largest allowance it was given */
  guint          asked;     /* the step it last asked at */
} Reader;

/* Runs @n readers for @span_us from @start_us. Each asks, reads what it was allowed (or at
 * most @read_max, as a socket with less in it would), and asks again after @read_cost_us; a
 * reader told to wait asks again when told. Of readers due at once, the one that asked least
 * recently goes first, as timers due together do in no fixed order. */
static gint64
run_readers (Reader *readers,
             guint   n,
             gint64  start_us,
             gint64  span_us,
             gsize   read_max,
             gint64  read_cost_us)
{
  gint64 now = start_us;
  guint steps = 0;

  for (guint i = 0; i < n; i++)
    readers[i].next_us = start_us;

  while (now < start_us + span_us)
    {
      Reader *reader = &readers[0];
      gint64 wait = 0;
      gsize allowed;

      g_assert_cmpuint (++steps, <, 10 * 1000 * 1000);
      for (guint i = 1; i < n; i++)
        if (readers[i].next_us < reader->next_us ||
            (readers[i].next_us == reader->next_us && readers[i].asked < reader->asked))
          reader = &readers[i];
      now = reader->next_us;
      reader->asked = steps;
      if (now >= start_us + span_us)
        break;

      allowed = sl_rate_limiter_allow (reader->bucket, now, &wait);
      if (allowed == 0)
        {
          g_assert_cmpint (wait, >, 0);
          reader->next_us = now + wait;
          continue;
        }
      g_assert_cmpint (wait, ==, 0);
      reader->largest = MAX (reader->largest, allowed);
      if (allowed > read_max)
        sl_rate_limiter_refund (reader->bucket, allowed - read_max);
      allowed = MIN (allowed, read_max);
      reader->got += allowed;
      reader->next_us = now + read_cost_us;
    }

  return now;
}

static void
assert_within (gint64 got,
               double expected,
               double tolerance)
{
  g_assert_cmpfloat (got, >=, expected * (1 - tolerance));
  g_assert_cmpfloat (got, <=, expected * (1 + tolerance));
}

static void
test_unlimited (void)
{
  g_autoptr (SlRateLimiter) bucket = sl_rate_limiter_new (NULL);
  gint64 wait = -1;

  g_assert_false (sl_rate_limiter_is_limited (bucket));
  g_assert_cmpuint (sl_rate_limiter_allow (bucket, 1000, &wait), ==, SL_RATE_LIMITER_MAX_READ);
  g_assert_cmpint (wait, ==, 0);
  sl_rate_limiter_refund (bucket, 100 * 1024 * 1024);
  g_assert_cmpuint (sl_rate_limiter_allow (bucket, 1001, &wait), ==, SL_RATE_LIMITER_MAX_READ);
}

/* One reader against limits from 1 KB/s to 1 GB/s, with reads large and small: within 1%
 * over 10 s, and no read larger than 50 ms of the rate or 1 MiB. */
static void
test_single_reader (void)
{
  const guint64 rates[] = { 1000, 100 * 1000, 500 * 1024, 10 * 1000 * 1000, 1000000000 };
  const gsize read_maxes[] = { 1500, 64 * 1024, G_MAXSIZE };

  for (guint r = 0; r < G_N_ELEMENTS (rates); r++)
    for (guint m = 0; m < G_N_ELEMENTS (read_maxes); m++)
      {
        g_autoptr (SlRateLimiter) bucket = sl_rate_limiter_new (NULL);
        Reader reader = { .bucket = bucket };
        gsize cap = MIN ((gsize) (rates[r] / 20), SL_RATE_LIMITER_MAX_READ);
        double expected;

        sl_rate_limiter_set_rate (bucket, rates[r]);
        g_assert_true (sl_rate_limiter_is_limited (bucket));
        run_readers (&reader, 1, 5 * G_USEC_PER_SEC, 10 * G_USEC_PER_SEC, read_maxes[m], 10);

        /* What a socket that small can carry at one read per 10 µs bounds it too. */
        expected = MIN (rates[r] * 10.0, read_maxes[m] * 1e6);
        assert_within (reader.got, expected, 0.01);
        g_assert_cmpuint (reader.largest, <=, MAX (cap, 1));
      }
}

/* Readers that share one bucket share its rate, and a download's limit stays under the global
 * one whichever is lower. */
static void
test_shared_and_nested (void)
{
  g_autoptr (SlRateLimiter) global = sl_rate_limiter_new (NULL);
  g_autoptr (SlRateLimiter) a = sl_rate_limiter_new (global);
  g_autoptr (SlRateLimiter) b = sl_rate_limiter_new (global);
  Reader readers[4] = { { .bucket = a }, { .bucket = a }, { .bucket = b }, { .bucket = b } };
  gint64 now;

  sl_rate_limiter_set_rate (global, 4 * 1000 * 1000);
  g_assert_true (sl_rate_limiter_is_limited (a));
  now = run_readers (readers, 4, G_USEC_PER_SEC, 10 * G_USEC_PER_SEC, G_MAXSIZE, 5);
  assert_within (readers[0].got + readers[1].got + readers[2].got + readers[3].got,
                 40 * 1000 * 1000, 0.01);
  /* Nobody starves: each of the four has about a quarter. */
  for (guint i = 0; i < 4; i++)
    assert_within (readers[i].got, 10 * 1000 * 1000, 0.2);

  /* Download a at 1 MB/s under the global 4 MB/s: b takes the rest. */
  sl_rate_limiter_set_rate (a, 1000 * 1000);
  for (guint i = 0; i < 4; i++)
    readers[i].got = 0;
  run_readers (readers, 4, now, 10 * G_USEC_PER_SEC, G_MAXSIZE, 5);
  assert_within (readers[0].got + readers[1].got, 10 * 1000 * 1000, 0.02);
  assert_within (readers[2].got + readers[3].got, 30 * 1000 * 1000, 0.02);
}

/* A limit changed while reading holds from then on; removed, it holds no more. */
static void
test_change_rate (void)
{
  g_autoptr (SlRateLimiter) bucket = sl_rate_limiter_new (NULL);
  Reader reader = { .bucket = bucket };
  gint64 now, wait = -1;

  sl_rate_limiter_set_rate (bucket, 2 * 1000 * 1000);
  now = run_readers (&reader, 1, 0, 10 * G_USEC_PER_SEC, G_MAXSIZE, 10);
  assert_within (reader.got, 20 * 1000 * 1000, 0.01);

  sl_rate_limiter_set_rate (bucket, 200 * 1000);
  reader.got = 0;
  now = run_readers (&reader, 1, now, 10 * G_USEC_PER_SEC, G_MAXSIZE, 10);
  assert_within (reader.got, 2 * 1000 * 1000, 0.01);

  sl_rate_limiter_set_rate (bucket, 0);
  g_assert_false (sl_rate_limiter_is_limited (bucket));
  g_assert_cmpuint (sl_rate_limiter_allow (bucket, now, &wait), ==, SL_RATE_LIMITER_MAX_READ);
}

/* Idle time does not pile up: after a minute of nothing, one burst of 50 ms and then the rate
 * again. */
static void
test_idle_no_pile_up (void)
{
  g_autoptr (SlRateLimiter) bucket = sl_rate_limiter_new (NULL);
  gint64 wait = 0;
  gsize allowed;

  sl_rate_limiter_set_rate (bucket, 1000 * 1000);
  allowed = sl_rate_limiter_allow (bucket, G_USEC_PER_SEC, &wait);
  g_assert_cmpuint (allowed, ==, 50 * 1000);

  allowed = sl_rate_limiter_allow (bucket, 61 * G_USEC_PER_SEC, &wait);
  g_assert_cmpuint (allowed, ==, 50 * 1000);
  g_assert_cmpuint (sl_rate_limiter_allow (bucket, 61 * G_USEC_PER_SEC, &wait), ==, 0);
  /* 16 KiB at 1 MB/s. */
  g_assert_cmpint (wait, >=, 16384);
  g_assert_cmpint (wait, <=, 16384 + 2 * MS);
}

/* Readers that ask at the same moment share what the bucket holds: between them they get no
 * more than one burst, and what a read did not use goes back. */
static void
test_reservations (void)
{
  g_autoptr (SlRateLimiter) bucket = sl_rate_limiter_new (NULL);
  gsize total = 0, allowed;
  gint64 wait = 0;

  sl_rate_limiter_set_rate (bucket, 1000 * 1000);
  for (guint i = 0; i < 8; i++)
    total += sl_rate_limiter_allow (bucket, G_USEC_PER_SEC, &wait);
  g_assert_cmpuint (total, ==, 50 * 1000);
  g_assert_cmpint (wait, >, 0);

  sl_rate_limiter_refund (bucket, 20 * 1000);
  allowed = sl_rate_limiter_allow (bucket, G_USEC_PER_SEC, &wait);
  g_assert_cmpuint (allowed, ==, 20 * 1000);
}

/* The limit that holds is the lowest in the chain, whichever bucket has it. */
static void
test_limit (void)
{
  g_autoptr (SlRateLimiter) global = sl_rate_limiter_new (NULL);
  g_autoptr (SlRateLimiter) own = sl_rate_limiter_new (global);

  g_assert_cmpuint (sl_rate_limiter_get_limit (own), ==, 0);
  sl_rate_limiter_set_rate (global, 3000);
  g_assert_cmpuint (sl_rate_limiter_get_limit (own), ==, 3000);
  sl_rate_limiter_set_rate (own, 5000);
  g_assert_cmpuint (sl_rate_limiter_get_limit (own), ==, 3000);
  sl_rate_limiter_set_rate (own, 1000);
  g_assert_cmpuint (sl_rate_limiter_get_limit (own), ==, 1000);
  sl_rate_limiter_set_rate (global, 0);
  g_assert_cmpuint (sl_rate_limiter_get_limit (own), ==, 1000);
  g_assert_cmpuint (sl_rate_limiter_get_limit (global), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/rate-limiter/unlimited", test_unlimited);
  g_test_add_func ("/rate-limiter/limit", test_limit);
  g_test_add_func ("/rate-limiter/single-reader", test_single_reader);
  g_test_add_func ("/rate-limiter/shared-and-nested", test_shared_and_nested);
  g_test_add_func ("/rate-limiter/change-rate", test_change_rate);
  g_test_add_func ("/rate-limiter/idle-no-pile-up", test_idle_no_pile_up);
  g_test_add_func ("/rate-limiter/reservations", test_reservations);

  return g_test_run ();
}
