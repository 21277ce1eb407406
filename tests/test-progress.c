/* test-progress.c
 *
 * The progress maths by tables: each case is a sequence of updates (or a settle), and each
 * step says what should change and where speed, time left and the step stand after it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "sl-progress.h"

#define S SL_PROGRESS_SPEED
#define E SL_PROGRESS_ETA
#define B SL_PROGRESS_BYTES

typedef struct
{
  gint64   now_ms;       /* -1: settle instead of an update */
  gint64   bytes;
  gint64   total;
  gboolean running;
  gboolean force;
  guint    changes;
  guint64  speed;
  gint64   eta;
  gint64   step;
} Step;

typedef struct
{
  const char *name;
  gint64      rebase;    /* bytes to rebase on first, or -1 */
  Step        steps[8];
} ProgressCase;

static const ProgressCase cases[] = {
  { "first bytes", -1, {
      { 1000, 1000, 10000, TRUE, FALSE, B, 0, -1, 1000 },
      { 0 } } },
  { "at most every 100 ms", -1, {
      { 1000, 1000, -1, TRUE, FALSE, B, 0, -1, 1000 },
      { 1050, 2000, -1, TRUE, FALSE, 0, 0, -1, 0 },
      { 1100, 3000, -1, TRUE, FALSE, B, 0, -1, 2000 },
      { 0 } } },
  { "forced within 100 ms", -1, {
      { 1000, 1000, -1, TRUE, FALSE, B, 0, -1, 1000 },
      { 1010, 2000, -1, TRUE, TRUE, S | B, 100000, -1, 1000 },
      { 0 } } },
  { "speed and time left", -1, {
      { 1000, 0, 3000000, TRUE, FALSE, 0, 0, -1, 0 },
      { 1500, 500000, 3000000, TRUE, FALSE, S | E | B, 1000000, 3, 500000 },
      /* Half the old speed, half the new: 0.5 × 1 MB/s + 0.5 × 0.5 MB/s. */
      { 2000, 750000, 3000000, TRUE, FALSE, S | B, 750000, 3, 250000 },
      /* Sampled only every half second; the time left follows the bytes meanwhile. */
      { 2200, 1500000, 3000000, TRUE, FALSE, E | B, 750000, 2, 750000 },
      { 0 } } },
  { "time left rounds up", -1, {
      { 1000, 0, 1000001, TRUE, FALSE, 0, 0, -1, 0 },
      { 2000, 1000000, 1000001, TRUE, FALSE, S | E | B, 1000000, 1, 1000000 },
      { 0 } } },
  { "no time left without a total", -1, {
      { 1000, 0, -1, TRUE, FALSE, 0, 0, -1, 0 },
      { 2000, 1000000, -1, TRUE, FALSE, S | B, 1000000, -1, 1000000 },
      { 0 } } },
  { "not running", -1, {
      { 1000, 0, 3000000, TRUE, FALSE, 0, 0, -1, 0 },
      { 2000, 1000000, 3000000, TRUE, FALSE, S | E | B, 1000000, 2, 1000000 },
      { 3000, 1000000, 3000000, FALSE, FALSE, S | E, 0, -1, 0 },
      { 0 } } },
  { "settled", -1, {
      { 1000, 0, 3000000, TRUE, FALSE, 0, 0, -1, 0 },
      { 2000, 1000000, 3000000, TRUE, FALSE, S | E | B, 1000000, 2, 1000000 },
      { -1, 0, 0, FALSE, FALSE, S | E, 0, -1, 0 },
      /* A new sample starts from scratch: no speed from the time spent settled. */
      { 9000, 1100000, 3000000, TRUE, FALSE, B, 0, -1, 100000 },
      { 0 } } },
  { "bytes go back", -1, {
      { 1000, 5000, -1, TRUE, FALSE, B, 0, -1, 5000 },
      { 2000, 0, -1, TRUE, FALSE, B, 0, -1, -5000 },
      { 0 } } },
  { "rebased on resume data", 4000000, {
      { 1000, 4000000, 5000000, TRUE, FALSE, 0, 0, -1, 0 },
      { 2000, 4500000, 5000000, TRUE, FALSE, S | E | B, 500000, 1, 500000 },
      { 0 } } },
};

static void
test_progress_table (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const ProgressCase *c = &cases[i];
      SlProgress progress;

      g_test_message ("progress: %s", c->name);
      sl_progress_init (&progress);
      g_assert_cmpuint (progress.speed, ==, 0);
      g_assert_cmpint (progress.eta, ==, -1);
      if (c->rebase >= 0)
        sl_progress_rebase (&progress, c->rebase);

      for (guint j = 0; j < G_N_ELEMENTS (c->steps) && c->steps[j].now_ms != 0; j++)
        {
          const Step *step = &c->steps[j];
          gint64 told = 0;
          guint changes;

          g_test_message ("  step %u", j + 1);
          if (step->now_ms < 0)
            changes = sl_progress_settle (&progress);
          else
            changes = sl_progress_update (&progress, step->now_ms * 1000, step->bytes,
                                          step->total, step->running, step->force, &told);
          g_assert_cmpuint (changes, ==, step->changes);
          g_assert_cmpuint (progress.speed, ==, step->speed);
          g_assert_cmpint (progress.eta, ==, step->eta);
          g_assert_cmpint (told, ==, step->step);
        }
    }
}

/* Bytes found on disk and checked are told as a step, but are no speed. */
static void
test_rebase_sample (void)
{
  SlProgress progress;
  gint64 step = 0;

  sl_progress_init (&progress);
  g_assert_cmpuint (sl_progress_update (&progress, 1000000, 0, -1, TRUE, FALSE, &step), ==, 0);
  sl_progress_rebase_sample (&progress, 800000);
  g_assert_cmpuint (sl_progress_update (&progress, 2000000, 800000, -1, TRUE, TRUE, &step), ==,
                    B);
  g_assert_cmpint (step, ==, 800000);
  g_assert_cmpuint (progress.speed, ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/progress/table", test_progress_table);
  g_test_add_func ("/progress/rebase-sample", test_rebase_sample);

  return g_test_run ();
}
