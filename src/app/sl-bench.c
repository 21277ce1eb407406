/* sl-bench.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "sl-bench.h"
#include "sl-window.h"

/* Measurements of the window for bench/window-startup.sh, bench/window-scroll.sh and
 * bench/idle-wakeups.sh, and the screenshot of build-aux/screenshot.sh, chosen by
 * $SLUICE_BENCH; without it nothing is attached. Results go to stdout as "name value" lines.
 *
 *   startup  prints when the first frame that shows rows of the list was drawn (the list is
 *            loaded, the window is on its "list" page, and the list view has rows), then quits.
 *   shown    prints the same, then lets the window be: nothing of this file stays attached.
 *   scroll   once the list shows, scrolls it from top to bottom, one step per frame (a page,
 *            or $SLUICE_BENCH_STEP pixels), and measures each frame's work (the frame clock's
 *            before-paint to its after-paint, split at the end of layout and of paint), the
 *            interval between frames, how late a 1 ms timer of the main loop fires, and the
 *            main thread's CPU time and context switches in each (its own work apart from
 *            waiting for the X server or for a CPU); gives up after $SLUICE_BENCH_TIMEOUT
 *            seconds (60); prints and quits.
 *   screenshot
 *            once the list shows, prints the same, lets the window settle for a second (icons,
 *            fonts, the first bindings of rows), renders it to a PNG at $SLUICE_BENCH_OUTPUT
 *            and quits; exits with status 1 and a line on stderr when $SLUICE_BENCH_OUTPUT is
 *            not set, when the window shows no list, or when the file cannot be written.
 *
 * Times count from the start of the process: $SLUICE_BENCH_START_US when set, the wall-clock
 * time in µs since the epoch at which the benchmark launched the process (so fork and exec
 * count too), otherwise the start time the kernel keeps in /proc/self/stat, which is only
 * good to a clock tick (10 ms). */

#define PROBE_INTERVAL_MS 1
#define FRAME_BUDGET_US   16000
#define DEFAULT_TIMEOUT_S 60
#define SETTLE_MS         1000

typedef enum
{
  SL_BENCH_STARTUP,
  SL_BENCH_SHOWN,
  SL_BENCH_SCROLL,
  SL_BENCH_SCREENSHOT,
} SlBenchMode;

typedef struct
{
  SlBenchMode     mode;
  SlWindow       *window;     /* not owned: this is its data */
  SlDownloadList *list;
  GdkFrameClock  *clock;
  gulong          realize_id;
  gulong          before_paint_id;
  gulong          layout_id;
  gulong          paint_id;
  gulong          after_paint_id;
  gulong          loaded_id;

  /* Monotonic µs. */
  gint64          start;
  gint64          attached;
  gint64          first_frame;
  gint64          loaded;
  gboolean        shown;

  /* Screenshot */
  char           *output;
  guint           settle_source;

  /* Scrolling */
  GtkWidget      *list_view;
  GtkAdjustment  *adjustment;
  double          step;
  guint           tick_id;
  guint           probe_source;
  gboolean        scrolling;
  gboolean        at_bottom;
  guint           steps;
  gint64          scroll_start;
  gint64          deadline;
  gint64          frame_begin;
  gint64          frame_cpu_begin;
  long            frame_switches_begin;
  long            frame_waits_begin;
  gint64          layout_end;
  gint64          paint_end;
  gint64          last_begin;
  gint64          max_interval;
  gint64          slowest_work;
  gint64          slowest_begin;
  /* One gint64 (µs) per frame in each: before-paint to after-paint; before-paint to the end
   * of layout (the update phase, where the scroll happens and rows are bound, and the layout);
   * the end of layout to the end of paint (snapshot and rendering). */
  GArray         *frame_work;
  GArray         *layout_work;
  GArray         *paint_work;
  /* The main thread's CPU time in each frame, in µs, and the frames in which it was made to
   * give up the CPU (another process ran): tells the window's own work from the scheduler's. */
  GArray         *frame_cpu;
  guint           preempted_frames;
  gint64          slowest_cpu;
  long            slowest_switches;
  long            slowest_waits;
  gint64          probe_last;
  gint64          probe_last_cpu;
  long            probe_last_switches;
  long            probe_last_waits;
  gint64          probe_max_late;
  gint64          probe_max_late_cpu;
  long            probe_max_late_switches;
  long            probe_max_late_waits;
  guint           probe_over;
} SlBench;

/* CPU time of the calling thread, in µs. */
static gint64
thread_cpu_us (void)
{
  struct timespec ts;

  if (clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
    return 0;
  return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

/* How many times the calling thread was made to give up the CPU so far (another process ran),
 * and, in @waits, how many times it gave it up itself (waiting for the X server or the disk). */
static long
thread_preemptions (long *waits)
{
  struct rusage usage;

  if (getrusage (RUSAGE_THREAD, &usage) != 0)
    {
      *waits = 0;
      return 0;
    }
  *waits = usage.ru_nvcsw;
  return usage.ru_nivcsw;
}

static double
ms (gint64 us)
{
  return us / 1000.0;
}

/* When the process started, in monotonic µs. */
static gint64
process_start (void)
{
  const char *env = g_getenv ("SLUICE_BENCH_START_US");
  gint64 now = g_get_monotonic_time ();
  g_autofree char *stat = NULL;
  const char *fields;
  guint64 launched;

  if (env != NULL && g_ascii_string_to_unsigned (env, 10, 1, G_MAXINT64, &launched, NULL))
    return now - (g_get_real_time () - (gint64) launched);

  /* Field 22, starttime, in clock ticks since boot; the command (field 2) may hold spaces. */
  if (g_file_get_contents ("/proc/self/stat", &stat, NULL, NULL) &&
      (fields = strrchr (stat, ')')) != NULL)
    {
      g_auto (GStrv) field = g_strsplit (fields + 2, " ", 0);
      struct timespec boot;

      if (g_strv_length (field) > 19 && clock_gettime (CLOCK_BOOTTIME, &boot) == 0)
        {
          guint64 ticks = g_ascii_strtoull (field[19], NULL, 10);
          gint64 started = (gint64) (ticks * G_USEC_PER_SEC / (guint64) sysconf (_SC_CLK_TCK));

          return now - ((gint64) boot.tv_sec * G_USEC_PER_SEC + boot.tv_nsec / 1000 - started);
        }
    }

  g_printerr ("SLUICE_BENCH: the start of the process is unknown; counting from now\n");
  return now;
}

/* The scrolled window of the download list, once it lists some: status pages and the
 * drop-down's popover have scrolled windows too, the latter with a list view of strings. */
static GtkWidget *
find_scroller (GtkWidget *widget)
{
  GtkWidget *view = GTK_IS_SCROLLED_WINDOW (widget) ?
    gtk_scrolled_window_get_child (GTK_SCROLLED_WINDOW (widget)) : NULL;

  if (GTK_IS_LIST_VIEW (view))
    {
      GtkSelectionModel *model = gtk_list_view_get_model (GTK_LIST_VIEW (view));
      g_autoptr (GObject) first = model ? g_list_model_get_item (G_LIST_MODEL (model), 0) : NULL;

      /* The wrapping models say G_TYPE_OBJECT for an item type: look at an item. */
      if (first != NULL && SL_DBUS_IS_DOWNLOAD1 (first))
        return widget;
    }

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_scroller (child);

      if (found != NULL)
        return found;
    }

  return NULL;
}

static guint
count_rows (GtkWidget *list_view)
{
  guint n = 0;

  for (GtkWidget *child = gtk_widget_get_first_child (list_view); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (gtk_widget_get_mapped (child) && gtk_widget_get_height (child) > 0)
        n++;
    }

  return n;
}

static void
quit (void)
{
  GApplication *application = g_application_get_default ();

  fflush (stdout);
  if (application != NULL)
    g_application_quit (application);
}

/* Leaves the window as it would be without the benchmark. */
static void
detach (SlBench *self)
{
  if (self->clock != NULL)
    {
      g_clear_signal_handler (&self->before_paint_id, self->clock);
      g_clear_signal_handler (&self->layout_id, self->clock);
      g_clear_signal_handler (&self->paint_id, self->clock);
      g_clear_signal_handler (&self->after_paint_id, self->clock);
    }
  if (self->list != NULL)
    g_clear_signal_handler (&self->loaded_id, self->list);
  if (self->tick_id != 0)
    {
      gtk_widget_remove_tick_callback (self->list_view, self->tick_id);
      self->tick_id = 0;
    }
  g_clear_handle_id (&self->probe_source, g_source_remove);
  self->scrolling = FALSE;
}

static void
sl_bench_free (gpointer data)
{
  SlBench *self = data;

  detach (self);
  g_clear_handle_id (&self->settle_source, g_source_remove);
  g_clear_pointer (&self->output, g_free);
  g_clear_object (&self->clock);
  g_clear_object (&self->list);
  g_clear_object (&self->list_view);
  g_clear_object (&self->adjustment);
  g_clear_pointer (&self->frame_work, g_array_unref);
  g_clear_pointer (&self->layout_work, g_array_unref);
  g_clear_pointer (&self->paint_work, g_array_unref);
  g_clear_pointer (&self->frame_cpu, g_array_unref);
  g_free (self);
}

/* Scrolling */

static int
compare_gint64 (gconstpointer a,
                gconstpointer b)
{
  gint64 x = *(const gint64 *) a;
  gint64 y = *(const gint64 *) b;

  return (x > y) - (x < y);
}

/* Sorts @values and prints their median, 99th percentile and maximum, in ms. */
static void
print_spread (const char *name,
              GArray     *values)
{
  guint n = values->len;

  g_array_sort (values, compare_gint64);
  printf ("median-%s-ms %.2f\n", name, n > 0 ? ms (g_array_index (values, gint64, n / 2)) : 0);
  printf ("p99-%s-ms %.2f\n", name,
          n > 0 ? ms (g_array_index (values, gint64, n * 99 / 100)) : 0);
  printf ("max-%s-ms %.2f\n", name, n > 0 ? ms (g_array_index (values, gint64, n - 1)) : 0);
}

static void
finish_scroll (SlBench  *self,
               gboolean  complete)
{
  gint64 elapsed = g_get_monotonic_time () - self->scroll_start;
  guint over = 0;
  guint slowest = 0;

  for (guint i = 0; i < self->frame_work->len; i++)
    {
      gint64 work = g_array_index (self->frame_work, gint64, i);

      if (work > FRAME_BUDGET_US)
        over++;
      if (work > g_array_index (self->frame_work, gint64, slowest))
        slowest = i;
    }

  printf ("scroll-complete %d\n", complete);
  printf ("steps %u\n", self->steps);
  printf ("scrolled-px %.0f\n", gtk_adjustment_get_value (self->adjustment));
  printf ("scroll-s %.2f\n", elapsed / (double) G_USEC_PER_SEC);
  printf ("frames %u\n", self->frame_work->len);
  printf ("slowest-frame %u\n", self->frame_work->len > 0 ? slowest + 1 : 0);
  /* CLOCK_MONOTONIC, to find the frame in a profile (perf record -k CLOCK_MONOTONIC). */
  printf ("slowest-frame-monotonic-us %" G_GINT64_FORMAT "\n", self->slowest_begin);
  print_spread ("frame", self->frame_work);
  print_spread ("layout", self->layout_work);
  print_spread ("paint", self->paint_work);
  print_spread ("cpu", self->frame_cpu);
  printf ("slowest-frame-cpu-ms %.2f\n", ms (self->slowest_cpu));
  printf ("slowest-frame-preemptions %ld\n", self->slowest_switches);
  printf ("slowest-frame-waits %ld\n", self->slowest_waits);
  printf ("preempted-frames %u\n", self->preempted_frames);
  printf ("frames-over-16ms %u\n", over);
  printf ("max-interval-ms %.2f\n", ms (self->max_interval));
  printf ("max-lateness-ms %.2f\n", ms (self->probe_max_late));
  printf ("max-lateness-cpu-ms %.2f\n", ms (self->probe_max_late_cpu));
  printf ("max-lateness-preemptions %ld\n", self->probe_max_late_switches);
  printf ("max-lateness-waits %ld\n", self->probe_max_late_waits);
  printf ("lateness-over-16ms %u\n", self->probe_over);

  detach (self);
  quit ();
}

static gboolean
probe_cb (gpointer user_data)
{
  SlBench *self = user_data;
  gint64 now = g_get_monotonic_time ();
  gint64 late = now - (self->probe_last + PROBE_INTERVAL_MS * 1000);
  gint64 cpu = thread_cpu_us ();
  long waits;
  long switches = thread_preemptions (&waits);

  if (late > self->probe_max_late)
    {
      self->probe_max_late = late;
      self->probe_max_late_cpu = cpu - self->probe_last_cpu;
      self->probe_max_late_switches = switches - self->probe_last_switches;
      self->probe_max_late_waits = waits - self->probe_last_waits;
    }
  if (late > FRAME_BUDGET_US)
    self->probe_over++;
  self->probe_last = now;
  self->probe_last_cpu = cpu;
  self->probe_last_switches = switches;
  self->probe_last_waits = waits;

  return G_SOURCE_CONTINUE;
}

/* In the frame clock's update phase: one step down, laid out and drawn in this frame. */
static gboolean
scroll_tick_cb (GtkWidget     *widget,
                GdkFrameClock *clock,
                gpointer       user_data)
{
  SlBench *self = user_data;
  double value = gtk_adjustment_get_value (self->adjustment);
  double page = gtk_adjustment_get_page_size (self->adjustment);
  double bottom = gtk_adjustment_get_upper (self->adjustment) - page;
  double step = self->step > 0 ? self->step : page;

  /* Done once a frame was drawn at the bottom (the estimated height can grow as rows show). */
  if (self->at_bottom && value >= bottom - 0.5)
    {
      self->tick_id = 0;
      finish_scroll (self, TRUE);
      return G_SOURCE_REMOVE;
    }
  if (g_get_monotonic_time () > self->deadline)
    {
      self->tick_id = 0;
      finish_scroll (self, FALSE);
      return G_SOURCE_REMOVE;
    }

  self->at_bottom = value + step >= bottom;
  gtk_adjustment_set_value (self->adjustment, MIN (value + step, bottom));
  self->steps++;

  return G_SOURCE_CONTINUE;
}

static void
start_scroll (SlBench   *self,
              GtkWidget *scroller)
{
  const char *step = g_getenv ("SLUICE_BENCH_STEP");
  const char *timeout = g_getenv ("SLUICE_BENCH_TIMEOUT");
  guint64 seconds = DEFAULT_TIMEOUT_S;

  if (timeout != NULL && !g_ascii_string_to_unsigned (timeout, 10, 1, 3600, &seconds, NULL))
    seconds = DEFAULT_TIMEOUT_S;

  self->list_view = g_object_ref (gtk_scrolled_window_get_child (GTK_SCROLLED_WINDOW (scroller)));
  self->adjustment = g_object_ref (gtk_scrolled_window_get_vadjustment (
    GTK_SCROLLED_WINDOW (scroller)));
  self->step = step != NULL ? g_ascii_strtod (step, NULL) : 0;
  self->frame_work = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->layout_work = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->paint_work = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->frame_cpu = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->scroll_start = self->probe_last = g_get_monotonic_time ();
  self->probe_last_cpu = thread_cpu_us ();
  self->probe_last_switches = thread_preemptions (&self->probe_last_waits);
  self->deadline = self->scroll_start + (gint64) seconds * G_USEC_PER_SEC;
  self->scrolling = TRUE;

  self->probe_source = g_timeout_add (PROBE_INTERVAL_MS, probe_cb, self);
  g_source_set_name_by_id (self->probe_source, "[sluice] bench probe");
  self->tick_id = gtk_widget_add_tick_callback (self->list_view, scroll_tick_cb, self, NULL);
}

/* Screenshot */

/* Ends the process at once with @message on stderr: a failed screenshot must not look like a
 * successful one to the script that waits for it. */
G_NORETURN static void
fail (const char *message)
{
  fflush (stdout);
  g_printerr ("SLUICE_BENCH: %s\n", message);
  exit (EXIT_FAILURE);
}

/* Renders the window as it is drawn on screen, without its shadow, into a PNG at @path. */
static gboolean
save_window (SlBench    *self,
             const char *path)
{
  GtkWidget *widget = GTK_WIDGET (self->window);
  GskRenderer *renderer = gtk_native_get_renderer (GTK_NATIVE (self->window));
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  g_autoptr (GdkPaintable) paintable = NULL;
  g_autoptr (GdkTexture) texture = NULL;
  GtkSnapshot *snapshot;
  GskRenderNode *node;

  if (renderer == NULL || width <= 0 || height <= 0)
    return FALSE;

  paintable = gtk_widget_paintable_new (widget);
  snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  if (node == NULL)
    return FALSE;

  texture = gsk_renderer_render_texture (renderer, node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));
  gsk_render_node_unref (node);

  return texture != NULL && gdk_texture_save_to_png (texture, path);
}

static void
settle_cb (gpointer user_data)
{
  SlBench *self = user_data;
  g_autofree char *message = NULL;

  self->settle_source = 0;
  if (!save_window (self, self->output))
    {
      message = g_strdup_printf ("cannot save the screenshot to %s", self->output);
      fail (message);
    }

  printf ("screenshot %s\n", self->output);
  printf ("size %dx%d\n", gtk_widget_get_width (GTK_WIDGET (self->window)),
          gtk_widget_get_height (GTK_WIDGET (self->window)));
  quit ();
}

/* Frames */

static void
on_before_paint (GdkFrameClock *clock,
                 SlBench       *self)
{
  gint64 now = g_get_monotonic_time ();

  if (!self->scrolling)
    return;

  if (self->last_begin != 0 && now - self->last_begin > self->max_interval)
    self->max_interval = now - self->last_begin;
  self->last_begin = self->frame_begin = now;
  self->frame_cpu_begin = thread_cpu_us ();
  self->frame_switches_begin = thread_preemptions (&self->frame_waits_begin);
  self->layout_end = self->paint_end = 0;
}

/* After GDK's own handlers, which lay out and paint the window. */
static void
on_layout (GdkFrameClock *clock,
           SlBench       *self)
{
  if (self->scrolling)
    self->layout_end = g_get_monotonic_time ();
}

static void
on_paint (GdkFrameClock *clock,
          SlBench       *self)
{
  if (self->scrolling)
    self->paint_end = g_get_monotonic_time ();
}

static void
on_after_paint (GdkFrameClock *clock,
                SlBench       *self)
{
  gint64 now = g_get_monotonic_time ();
  GtkWidget *scroller;
  const char *page;
  guint rows;

  if (self->first_frame == 0)
    self->first_frame = now;

  if (self->scrolling)
    {
      if (self->frame_begin != 0)
        {
          gint64 work = now - self->frame_begin;
          gint64 layout_end = self->layout_end ? self->layout_end : self->frame_begin;
          gint64 paint_end = self->paint_end ? self->paint_end : layout_end;
          gint64 layout = layout_end - self->frame_begin;
          gint64 paint = paint_end - layout_end;
          gint64 cpu = thread_cpu_us () - self->frame_cpu_begin;
          long waits;
          long switches = thread_preemptions (&waits) - self->frame_switches_begin;

          g_array_append_val (self->frame_work, work);
          g_array_append_val (self->layout_work, layout);
          g_array_append_val (self->paint_work, paint);
          g_array_append_val (self->frame_cpu, cpu);
          if (switches > 0)
            self->preempted_frames++;
          if (work > self->slowest_work)
            {
              self->slowest_work = work;
              self->slowest_begin = self->frame_begin;
              self->slowest_cpu = cpu;
              self->slowest_switches = switches;
              self->slowest_waits = waits - self->frame_waits_begin;
            }
          self->frame_begin = 0;
        }
      return;
    }
  if (self->shown)
    return;

  page = sl_window_get_page (self->window);
  if (g_strcmp0 (page, "error") == 0 || g_strcmp0 (page, "empty") == 0)
    {
      printf ("page %s\n", page);
      fflush (stdout);
      detach (self);
      if (self->mode == SL_BENCH_SCREENSHOT)
        fail ("the window shows no list, so there is no screenshot to take");
      if (self->mode != SL_BENCH_SHOWN)
        quit ();
      return;
    }
  if (self->list == NULL || !sl_download_list_get_loaded (self->list) ||
      g_strcmp0 (page, "list") != 0)
    return;
  scroller = find_scroller (GTK_WIDGET (self->window));
  if (scroller == NULL || !gtk_widget_get_mapped (scroller))
    return;
  rows = count_rows (gtk_scrolled_window_get_child (GTK_SCROLLED_WINDOW (scroller)));
  if (rows == 0)
    return;

  self->shown = TRUE;
  printf ("page %s\n", page);
  printf ("renderer %s\n",
          G_OBJECT_TYPE_NAME (gtk_native_get_renderer (GTK_NATIVE (self->window))));
  printf ("downloads %u\n", g_list_model_get_n_items (G_LIST_MODEL (self->list)));
  printf ("rows %u\n", rows);
  printf ("attach-ms %.1f\n", ms (self->attached - self->start));
  printf ("first-frame-ms %.1f\n", ms (self->first_frame - self->start));
  printf ("loaded-ms %.1f\n", ms (self->loaded - self->start));
  printf ("startup-ms %.1f\n", ms (now - self->start));
  fflush (stdout);

  switch (self->mode)
    {
    case SL_BENCH_STARTUP:
      detach (self);
      quit ();
      break;

    case SL_BENCH_SHOWN:
      detach (self);
      break;

    case SL_BENCH_SCROLL:
      start_scroll (self, scroller);
      break;

    case SL_BENCH_SCREENSHOT:
      detach (self);
      self->settle_source = g_timeout_add_once (SETTLE_MS, settle_cb, self);
      g_source_set_name_by_id (self->settle_source, "[sluice] bench screenshot");
      break;

    default:
      g_assert_not_reached ();
    }
}

static void
on_realize (GtkWidget *widget,
            SlBench   *self)
{
  g_clear_signal_handler (&self->realize_id, widget);
  if (self->clock != NULL)
    return;

  self->clock = g_object_ref (gtk_widget_get_frame_clock (widget));
  self->before_paint_id = g_signal_connect (self->clock, "before-paint",
                                            G_CALLBACK (on_before_paint), self);
  self->layout_id = g_signal_connect_after (self->clock, "layout", G_CALLBACK (on_layout), self);
  self->paint_id = g_signal_connect_after (self->clock, "paint", G_CALLBACK (on_paint), self);
  self->after_paint_id = g_signal_connect_after (self->clock, "after-paint",
                                                 G_CALLBACK (on_after_paint), self);
}

static void
on_loaded (SlDownloadList *list,
           GParamSpec     *pspec,
           SlBench        *self)
{
  if (self->loaded == 0 && sl_download_list_get_loaded (list))
    self->loaded = g_get_monotonic_time ();
}

/**
 * sl_bench_attach:
 * @window: the main window, just created
 *
 * Attaches the measurement that $SLUICE_BENCH names to @window; does nothing without it.
 */
void
sl_bench_attach (GtkWindow *window)
{
  const char *mode = g_getenv ("SLUICE_BENCH");
  SlBench *self;

  if (mode == NULL || *mode == '\0')
    return;

  g_return_if_fail (SL_IS_WINDOW (window));

  self = g_new0 (SlBench, 1);
  if (g_str_equal (mode, "startup"))
    self->mode = SL_BENCH_STARTUP;
  else if (g_str_equal (mode, "shown"))
    self->mode = SL_BENCH_SHOWN;
  else if (g_str_equal (mode, "scroll"))
    self->mode = SL_BENCH_SCROLL;
  else if (g_str_equal (mode, "screenshot"))
    self->mode = SL_BENCH_SCREENSHOT;
  else
    {
      g_printerr ("SLUICE_BENCH: unknown measurement “%s” (startup, shown, scroll, screenshot)\n",
                  mode);
      g_free (self);
      return;
    }

  if (self->mode == SL_BENCH_SCREENSHOT)
    {
      const char *output = g_getenv ("SLUICE_BENCH_OUTPUT");

      if (output == NULL || *output == '\0')
        fail ("a screenshot needs $SLUICE_BENCH_OUTPUT, the path of the PNG to write");
      self->output = g_strdup (output);
    }

  self->start = process_start ();
  self->attached = g_get_monotonic_time ();
  self->window = SL_WINDOW (window);
  g_object_set_data_full (G_OBJECT (window), "sl-bench", self, sl_bench_free);

  if (sl_window_get_list (self->window) != NULL)
    {
      self->list = g_object_ref (sl_window_get_list (self->window));
      self->loaded_id = g_signal_connect (self->list, "notify::loaded", G_CALLBACK (on_loaded),
                                          self);
      on_loaded (self->list, NULL, self);
    }

  if (gtk_widget_get_realized (GTK_WIDGET (window)))
    on_realize (GTK_WIDGET (window), self);
  else
    self->realize_id = g_signal_connect_after (window, "realize", G_CALLBACK (on_realize), self);
}
