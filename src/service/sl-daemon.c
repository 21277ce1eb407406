/* sl-daemon.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <signal.h>
#include <stdlib.h>

#include <glib/gi18n.h>
#include <glib-unix.h>

#include "sl-daemon.h"
#include "sl-dbus-export.h"
#include "sl-inhibitor.h"
#include "sl-session.h"
#include "sl-store.h"

/* sluiced as a GApplication service: it owns org.sluice.Downloads, exports the session with
 * SlDBusExport, and exits after a spell of inactivity, but never while a download is running
 * (it holds itself while the session has active downloads).
 *
 * The list is loaded and exported in dbus_register, which GApplication calls *before* it asks
 * for the bus name: by the time a client can reach the name, every object is on the bus, and
 * the object manager went on the bus with all of them at once rather than announcing each.
 * A second daemon started by a race (two clients spawning one each) loads the list too, but
 * starts nothing and writes nothing: downloads only start from the main loop, which it never
 * runs once the name is refused. */

#define DAEMON_ID              "org.sluice.Downloads"
#define DEFAULT_IDLE_TIMEOUT_S 30
#define MAX_IDLE_TIMEOUT_S     (24 * 60 * 60)
#define STOP_TIMEOUT_S         10

struct _SlDaemon
{
  GApplication  parent_instance;

  SlDBusExport *export;
  SlInhibitor  *inhibitor;
  SlStore      *store;
  SlSession    *session;

  gboolean      active_held;
  gboolean      stopping;
  gboolean      stopped;
  guint         sigterm_source;
  guint         sigint_source;
  guint         stop_timeout_source;
  int           exit_status;

  /* Main-loop lateness, measured only when SLUICE_MEASURE_LATENCY is set (benchmarks). */
  guint         latency_source;
  gint64        latency_expected;
  gint64        latency_max;
  guint64       latency_ticks;
  guint64       latency_late;   /* ticks later than one frame (16 ms) */
};

G_DEFINE_FINAL_TYPE (SlDaemon, sl_daemon, G_TYPE_APPLICATION)

static void
flush_store (SlDaemon *self)
{
  g_autoptr (GError) error = NULL;

  if (self->store != NULL && !sl_store_flush_sync (self->store, &error))
    g_warning ("Cannot save the download list: %s", error->message);
}

/* Stopping on a signal: pause what runs, wait (bounded) for the pauses to land, so that every
 * partial file is flushed and its resume data recorded, then save and quit. */
static void
finish_stop (SlDaemon *self)
{
  if (self->stopped)
    return;

  self->stopped = TRUE;
  g_clear_handle_id (&self->stop_timeout_source, g_source_remove);
  flush_store (self);
  g_application_quit (G_APPLICATION (self));
}

/* Holds the application while downloads are active, so that it never exits in the middle of
 * one; and ends a stop once nothing is active any more. */
static void
update_active_hold (SlDaemon *self)
{
  gboolean active = self->session != NULL && sl_session_get_n_active (self->session) > 0;

  if (self->inhibitor != NULL)
    sl_inhibitor_set_active (self->inhibitor, active);

  if (active && !self->active_held)
    {
      g_application_hold (G_APPLICATION (self));
      self->active_held = TRUE;
    }
  else if (!active && self->active_held)
    {
      self->active_held = FALSE;
      g_application_release (G_APPLICATION (self));
    }

  if (self->stopping && !active)
    finish_stop (self);
}

static gboolean
on_stop_timeout (gpointer user_data)
{
  SlDaemon *self = user_data;

  self->stop_timeout_source = 0;
  g_message ("Downloads did not pause within %d seconds; quitting anyway", STOP_TIMEOUT_S);
  finish_stop (self);

  return G_SOURCE_REMOVE;
}

static gboolean
on_stop_signal (gpointer user_data)
{
  SlDaemon *self = user_data;

  /* A second signal means the sender will not wait. */
  if (self->stopping)
    {
      finish_stop (self);
      return G_SOURCE_CONTINUE;
    }

  self->stopping = TRUE;
  self->stop_timeout_source = g_timeout_add_seconds (STOP_TIMEOUT_S, on_stop_timeout, self);

  /* Running downloads pause and are recorded as running, so the next start resumes them;
   * queued ones stay queued, and nothing new starts meanwhile. */
  if (self->session != NULL)
    sl_session_shutdown (self->session);

  update_active_hold (self);

  return G_SOURCE_CONTINUE;
}

/* Writes happen on the store's thread; one that fails is only heard of here. */
static void
on_store_error (SlStore      *store,
                const GError *error,
                SlDaemon     *self)
{
  g_warning ("%s", error->message);
}

static gboolean
open_session (SlDaemon  *self,
              GError   **error)
{
  g_autofree char *path = g_build_filename (g_get_user_data_dir (), "sluice", "downloads.db",
                                            NULL);
  g_autofree char *recovery_message = NULL;

  self->store = sl_store_open (path, &recovery_message, error);
  if (self->store == NULL)
    return FALSE;

  if (recovery_message != NULL)
    g_message ("%s", recovery_message);
  g_signal_connect_object (self->store, "error", G_CALLBACK (on_store_error), self, 0);

  self->session = sl_session_new (self->store);
  g_signal_connect_object (self->session, "notify::n-active",
                           G_CALLBACK (update_active_hold), self, G_CONNECT_SWAPPED);

  return TRUE;
}

#define LATENCY_TICK_MS 10

static gboolean
on_latency_tick (gpointer user_data)
{
  SlDaemon *self = user_data;
  gint64 now = g_get_monotonic_time ();
  gint64 late = now - self->latency_expected;

  self->latency_max = MAX (self->latency_max, late);
  self->latency_ticks++;
  if (late > 16 * G_TIME_SPAN_MILLISECOND)
    self->latency_late++;
  self->latency_expected = now + LATENCY_TICK_MS * G_TIME_SPAN_MILLISECOND;

  return G_SOURCE_CONTINUE;
}

static void
report_latency (SlDaemon *self)
{
  if (self->latency_source == 0)
    return;

  g_clear_handle_id (&self->latency_source, g_source_remove);
  g_message ("main loop: %" G_GUINT64_FORMAT " ticks of %d ms, max lateness %.1f ms, "
             "%" G_GUINT64_FORMAT " later than 16 ms",
             self->latency_ticks, LATENCY_TICK_MS, self->latency_max / 1000.0,
             self->latency_late);
}

/* GApplication */

static int
sl_daemon_handle_local_options (GApplication *application,
                                GVariantDict *options)
{
  const char *env = g_getenv ("SLUICE_IDLE_TIMEOUT");
  gint32 seconds = -1;

  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("sluiced %s\n", PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }

  if (env != NULL)
    {
      g_autoptr (GError) error = NULL;
      guint64 value;

      if (!g_ascii_string_to_unsigned (env, 10, 0, MAX_IDLE_TIMEOUT_S, &value, &error))
        {
          g_printerr ("SLUICE_IDLE_TIMEOUT: %s\n", error->message);
          return EXIT_FAILURE;
        }
      seconds = (gint32) value;
    }

  if (g_variant_dict_lookup (options, "idle-timeout", "i", &seconds) &&
      (seconds < 0 || seconds > MAX_IDLE_TIMEOUT_S))
    {
      g_printerr ("--idle-timeout: %d is not between 0 and %d\n", seconds, MAX_IDLE_TIMEOUT_S);
      return EXIT_FAILURE;
    }

  if (seconds >= 0)
    g_application_set_inactivity_timeout (application, (guint) seconds * 1000);

  return -1;
}

static gboolean
sl_daemon_dbus_register (GApplication     *application,
                         GDBusConnection  *connection,
                         const char       *object_path,
                         GError          **error)
{
  SlDaemon *self = SL_DAEMON (application);

  if (!G_APPLICATION_CLASS (sl_daemon_parent_class)->dbus_register (application, connection,
                                                                     object_path, error))
    return FALSE;

  if (!open_session (self, error))
    {
      g_prefix_error (error, _("Cannot open the download list: "));
      return FALSE;
    }

  g_clear_object (&self->inhibitor);
  self->inhibitor = sl_inhibitor_new (connection);

  g_clear_object (&self->export);
  self->export = sl_dbus_export_new (application);
  sl_dbus_export_set_session (self->export, self->session);

  return sl_dbus_export_register (self->export, connection, object_path, error);
}

static void
sl_daemon_dbus_unregister (GApplication    *application,
                           GDBusConnection *connection,
                           const char      *object_path)
{
  SlDaemon *self = SL_DAEMON (application);

  if (self->export != NULL)
    sl_dbus_export_unregister (self->export);

  G_APPLICATION_CLASS (sl_daemon_parent_class)->dbus_unregister (application, connection,
                                                                 object_path);
}

static void
sl_daemon_startup (GApplication *application)
{
  SlDaemon *self = SL_DAEMON (application);

  G_APPLICATION_CLASS (sl_daemon_parent_class)->startup (application);

  /* A write past the file size limit or to a closed pipe fails with an error to report, rather
   * than killing every download. */
  signal (SIGPIPE, SIG_IGN);
  signal (SIGXFSZ, SIG_IGN);

  /* Without a bus (GApplication then carries on as a plain process) nobody could reach us. */
  if (self->export == NULL)
    {
      g_printerr (_("Cannot connect to the session bus\n"));
      self->exit_status = EXIT_FAILURE;
      g_application_quit (application);
      return;
    }

  update_active_hold (self);

  /* A service that was never held gets GApplication's fixed ten seconds to receive the call it
   * was started for; a release starts our own inactivity timeout instead. */
  g_application_hold (application);
  g_application_release (application);

  if (g_getenv ("SLUICE_MEASURE_LATENCY") != NULL)
    {
      self->latency_expected = g_get_monotonic_time () + LATENCY_TICK_MS * G_TIME_SPAN_MILLISECOND;
      self->latency_source = g_timeout_add (LATENCY_TICK_MS, on_latency_tick, self);
    }

  self->sigterm_source = g_unix_signal_add (SIGTERM, on_stop_signal, self);
  self->sigint_source = g_unix_signal_add (SIGINT, on_stop_signal, self);
}

static void
sl_daemon_shutdown (GApplication *application)
{
  SlDaemon *self = SL_DAEMON (application);

  g_clear_handle_id (&self->sigterm_source, g_source_remove);
  g_clear_handle_id (&self->sigint_source, g_source_remove);
  g_clear_handle_id (&self->stop_timeout_source, g_source_remove);

  report_latency (self);

  /* Whatever ended the main loop, what is recorded reaches the disk. */
  flush_store (self);

  G_APPLICATION_CLASS (sl_daemon_parent_class)->shutdown (application);
}

/* GObject */

static void
sl_daemon_dispose (GObject *object)
{
  SlDaemon *self = (SlDaemon *) object;

  g_clear_handle_id (&self->sigterm_source, g_source_remove);
  g_clear_handle_id (&self->sigint_source, g_source_remove);
  g_clear_handle_id (&self->stop_timeout_source, g_source_remove);
  g_clear_handle_id (&self->latency_source, g_source_remove);

  /* The export goes first: it follows the session's downloads. When GApplication has not
   * called dbus_unregister yet, it does from its finalize, after this, and finds nothing left
   * to unexport. */
  g_clear_object (&self->export);
  g_clear_object (&self->inhibitor);
  g_clear_object (&self->session);
  g_clear_object (&self->store);

  G_OBJECT_CLASS (sl_daemon_parent_class)->dispose (object);
}

static void
sl_daemon_class_init (SlDaemonClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *application_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = sl_daemon_dispose;

  application_class->handle_local_options = sl_daemon_handle_local_options;
  application_class->dbus_register = sl_daemon_dbus_register;
  application_class->dbus_unregister = sl_daemon_dbus_unregister;
  application_class->startup = sl_daemon_startup;
  application_class->shutdown = sl_daemon_shutdown;
}

static void
sl_daemon_init (SlDaemon *self)
{
  /* For tests, which need a daemon that stays around or one that leaves at once. */
  static const GOptionEntry entries[] = {
    { "version", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Print the version and exit"), NULL },
    { "idle-timeout", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, NULL,
      "Exit after SECONDS without work", "SECONDS" },
    { NULL }
  };

  g_application_add_main_option_entries (G_APPLICATION (self), entries);
  g_application_set_inactivity_timeout (G_APPLICATION (self), DEFAULT_IDLE_TIMEOUT_S * 1000);
}

/**
 * sl_daemon_new:
 *
 * Returns: (transfer full): the daemon, ready for g_application_run()
 */
SlDaemon *
sl_daemon_new (void)
{
  return g_object_new (SL_TYPE_DAEMON,
                       "application-id", DAEMON_ID,
                       "flags", G_APPLICATION_IS_SERVICE,
                       NULL);
}

/**
 * sl_daemon_get_exit_status:
 * @self: a daemon
 *
 * Returns: the status the process should exit with when g_application_run() gave 0: non-zero
 *   when the daemon could not start its work (the download list could not be opened)
 */
int
sl_daemon_get_exit_status (SlDaemon *self)
{
  g_return_val_if_fail (SL_IS_DAEMON (self), EXIT_FAILURE);

  return self->exit_status;
}
