/* sl-application.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>

#include "sl-application.h"
#include "sl-bench.h"
#include "sl-format.h"
#include "sl-states.h"
#include "sl-window.h"

/* The application: one window on the daemon's download list. `sluice URL…` and
 * org.freedesktop.Application.Open hand the addresses to the daemon through the first
 * instance and show its window. Closing the window never ends a download, which the daemon
 * owns: while downloads are under way the application stays in the background after its
 * window closed, and goes once none is (or at once, on Quit). While it runs, it tells about
 * downloads that end (GNotification) when the window is not in use, and carries the
 * preferences that concern the daemon over to it. */

#define SETTINGS_ID "org.sluice.Sluice"

struct _SlApplication
{
  AdwApplication  parent_instance;

  GSettings      *settings;
  SlDownloadList *list;
  GCancellable   *cancellable;
  GPtrArray      *pending_urls;   /* opened before the list was connected */
  GError         *connect_error;
  gboolean        background;     /* held: no window, downloads under way */
  gboolean        quitting;
};

G_DEFINE_FINAL_TYPE (SlApplication, sl_application, ADW_TYPE_APPLICATION)

static SlWindow *
get_window (SlApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (window == NULL)
    {
      for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self)); l; l = l->next)
        {
          if (SL_IS_WINDOW (l->data))
            return l->data;
        }
      return NULL;
    }

  return SL_IS_WINDOW (window) ? SL_WINDOW (window) : NULL;
}

static SlWindow *
ensure_window (SlApplication *self)
{
  SlWindow *window = get_window (self);

  if (window == NULL)
    {
      window = sl_window_new (GTK_APPLICATION (self), self->list);
      sl_bench_attach (GTK_WINDOW (window));
      if (self->connect_error != NULL)
        sl_window_set_connect_error (window, self->connect_error);
    }

  return window;
}

/* The daemon */

static void
push_max_active (SlApplication *self)
{
  SlDBusManager1 *manager = sl_download_list_get_manager (self->list);
  guint max_active = g_settings_get_uint (self->settings, "max-active-downloads");

  /* The proxy sets the property on the daemon. */
  if (manager != NULL && sl_dbus_manager1_get_max_active (manager) != max_active)
    sl_dbus_manager1_set_max_active (manager, max_active);
}

static void
add_pending (SlApplication *self)
{
  SlWindow *window;

  if (self->pending_urls->len == 0)
    return;

  window = ensure_window (self);
  g_ptr_array_add (self->pending_urls, NULL);
  sl_window_add_urls (window, (const char * const *) self->pending_urls->pdata);
  g_ptr_array_set_size (self->pending_urls, 0);
}

static void
connect_done_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr (SlApplication) self = user_data;
  g_autoptr (GError) error = NULL;
  SlWindow *window;

  if (!sl_download_list_connect_finish (SL_DOWNLOAD_LIST (source), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;

      g_dbus_error_strip_remote_error (error);
      g_warning ("Cannot reach the download service: %s", error->message);
      self->connect_error = g_steal_pointer (&error);
      window = get_window (self);
      if (window != NULL)
        sl_window_set_connect_error (window, self->connect_error);
      return;
    }

  push_max_active (self);
  add_pending (self);
}

/* In the background */

static gboolean
downloads_under_way (SlApplication *self)
{
  GListModel *model = G_LIST_MODEL (self->list);
  guint n = g_list_model_get_n_items (model);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (SlDBusDownload1) download = g_list_model_get_item (model, i);

      if (sl_format_state_is_under_way (sl_dbus_download1_get_state (download)))
        return TRUE;
    }

  return FALSE;
}

/* Without a window, the application stays while a download it would tell about is under way;
 * it goes once none is. The cheap conditions first: the list is walked only without a window. */
static void
update_background (SlApplication *self)
{
  gboolean stay;

  /* The daemon went and is starting again: its downloads are not known until it is back. */
  if (self->background && !self->quitting && !sl_download_list_get_loaded (self->list) &&
      sl_download_list_get_error (self->list) == NULL)
    return;

  stay = !self->quitting && self->list != NULL &&
         gtk_application_get_windows (GTK_APPLICATION (self)) == NULL &&
         g_settings_get_boolean (self->settings, "notifications") &&
         downloads_under_way (self);

  if (stay == self->background)
    return;

  self->background = stay;
  if (stay)
    g_application_hold (G_APPLICATION (self));
  else
    g_application_release (G_APPLICATION (self));
}

static void
on_list_items_changed (GListModel    *list,
                       guint          position,
                       guint          removed,
                       guint          added,
                       SlApplication *self)
{
  if (self->background)
    update_background (self);
}

/* Notifications */

static void
notify_ended (SlApplication   *self,
              SlDBusDownload1 *download,
              const char      *state)
{
  g_autoptr (GNotification) notification = NULL;
  g_autofree char *path = NULL;
  const char *object_path = g_dbus_proxy_get_object_path (G_DBUS_PROXY (download));
  const char *filename = sl_dbus_download1_get_filename (download);
  SlWindow *window = get_window (self);

  if (!g_settings_get_boolean (self->settings, "notifications"))
    return;
  /* Whoever looks at the window sees it there. */
  if (window != NULL && gtk_window_is_active (GTK_WINDOW (window)))
    return;

  if (filename == NULL || *filename == '\0')
    filename = sl_dbus_download1_get_uri (download);

  if (sl_download_state_is (state, SL_DOWNLOAD_STATE_COMPLETED))
    {
      path = g_build_filename (sl_dbus_download1_get_directory (download), filename, NULL);
      notification = g_notification_new (_("Download Complete"));
      g_notification_set_body (notification, filename);
      g_notification_add_button_with_target (notification, _("Open"), "app.open-file", "s",
                                             path);
      g_notification_add_button_with_target (notification, _("Show in Folder"),
                                             "app.show-in-folder", "s", path);
    }
  else
    {
      g_autofree char *body = g_strdup_printf ("%s\n%s", filename,
                                               sl_dbus_download1_get_error (download));

      notification = g_notification_new (_("Download Failed"));
      g_notification_set_body (notification, body);
      g_notification_set_priority (notification, G_NOTIFICATION_PRIORITY_HIGH);
    }

  g_notification_set_default_action (notification, "app.activate");
  g_application_send_notification (G_APPLICATION (self), object_path, notification);
}

static void
on_download_changed (SlDownloadList  *list,
                     SlDBusDownload1 *download,
                     GVariant        *changed,
                     SlApplication   *self)
{
  const char *state;

  if (!g_variant_lookup (changed, "State", "&s", &state))
    return;

  if (sl_download_state_is (state, SL_DOWNLOAD_STATE_COMPLETED) ||
      sl_download_state_is (state, SL_DOWNLOAD_STATE_FAILED))
    notify_ended (self, download, state);
  /* After the notification: releasing the last hold ends the process. */
  if (self->background)
    update_background (self);
}

/* GApplication */

static void
sl_application_startup (GApplication *application)
{
  SlApplication *self = SL_APPLICATION (application);
  GDBusConnection *connection;
  g_autoptr (GDBusConnection) session_bus = NULL;
  g_autoptr (GError) error = NULL;

  G_APPLICATION_CLASS (sl_application_parent_class)->startup (application);

  gtk_window_set_default_icon_name (APP_ID);
  self->settings = g_settings_new (SETTINGS_ID);
  _sl_application_add_actions (self);

  connection = g_application_get_dbus_connection (application);
  if (connection == NULL)
    connection = session_bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  if (connection == NULL)
    {
      g_warning ("Cannot reach the session bus: %s", error->message);
      self->connect_error = g_steal_pointer (&error);
      return;
    }

  self->list = sl_download_list_new (connection);
  g_signal_connect_object (self->list, "download-changed", G_CALLBACK (on_download_changed),
                           self, 0);
  g_signal_connect_object (self->list, "items-changed", G_CALLBACK (on_list_items_changed),
                           self, 0);
  g_signal_connect_object (self->list, "notify::loaded", G_CALLBACK (update_background), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->list, "notify::error", G_CALLBACK (update_background), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::notifications",
                           G_CALLBACK (update_background), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::max-active-downloads",
                           G_CALLBACK (push_max_active), self, G_CONNECT_SWAPPED);
  sl_download_list_connect_async (self->list, self->cancellable, connect_done_cb,
                                  g_object_ref (self));
}

static void
sl_application_activate (GApplication *application)
{
  SlApplication *self = SL_APPLICATION (application);

  gtk_window_present (GTK_WINDOW (ensure_window (self)));
}

static void
sl_application_open (GApplication  *application,
                     GFile        **files,
                     int            n_files,
                     const char    *hint)
{
  SlApplication *self = SL_APPLICATION (application);

  for (int i = 0; i < n_files; i++)
    g_ptr_array_add (self->pending_urls, g_file_get_uri (files[i]));

  g_application_activate (application);
  if (self->list != NULL && sl_download_list_get_loaded (self->list))
    add_pending (self);
}

static void
sl_application_window_added (GtkApplication *application,
                             GtkWindow      *window)
{
  GTK_APPLICATION_CLASS (sl_application_parent_class)->window_added (application, window);
  update_background (SL_APPLICATION (application));
}

static void
sl_application_window_removed (GtkApplication *application,
                               GtkWindow      *window)
{
  GTK_APPLICATION_CLASS (sl_application_parent_class)->window_removed (application, window);
  update_background (SL_APPLICATION (application));
}

static void
sl_application_shutdown (GApplication *application)
{
  SlApplication *self = SL_APPLICATION (application);

  g_cancellable_cancel (self->cancellable);
  G_APPLICATION_CLASS (sl_application_parent_class)->shutdown (application);

  /* Drops the daemon's hold on our behalf. */
  g_clear_object (&self->list);
}

/* GObject */

static void
sl_application_dispose (GObject *object)
{
  SlApplication *self = (SlApplication *) object;

  g_clear_object (&self->list);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (sl_application_parent_class)->dispose (object);
}

static void
sl_application_finalize (GObject *object)
{
  SlApplication *self = (SlApplication *) object;

  g_clear_object (&self->cancellable);
  g_ptr_array_unref (self->pending_urls);
  g_clear_error (&self->connect_error);

  G_OBJECT_CLASS (sl_application_parent_class)->finalize (object);
}

static void
sl_application_class_init (SlApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *application_class = G_APPLICATION_CLASS (klass);
  GtkApplicationClass *gtk_application_class = GTK_APPLICATION_CLASS (klass);

  object_class->dispose = sl_application_dispose;
  object_class->finalize = sl_application_finalize;
  application_class->startup = sl_application_startup;
  application_class->activate = sl_application_activate;
  application_class->open = sl_application_open;
  application_class->shutdown = sl_application_shutdown;
  gtk_application_class->window_added = sl_application_window_added;
  gtk_application_class->window_removed = sl_application_window_removed;
}

static void
sl_application_init (SlApplication *self)
{
  self->cancellable = g_cancellable_new ();
  self->pending_urls = g_ptr_array_new_with_free_func (g_free);
}

/**
 * sl_application_new:
 *
 * Returns: (transfer full): the application
 */
SlApplication *
sl_application_new (void)
{
  /* The same resources for the development flavour, whose id has .Devel. */
  return g_object_new (SL_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN,
                       "resource-base-path", "/org/sluice/Sluice",
                       NULL);
}

/**
 * sl_application_quit:
 * @self: the application
 *
 * Ends the application now, in the background or not. Downloads go on in the daemon.
 */
void
sl_application_quit (SlApplication *self)
{
  g_return_if_fail (SL_IS_APPLICATION (self));

  self->quitting = TRUE;
  g_application_quit (G_APPLICATION (self));
}

/**
 * sl_application_get_background:
 * @self: the application
 *
 * Returns: whether the application stays without a window, for downloads under way
 */
gboolean
sl_application_get_background (SlApplication *self)
{
  g_return_val_if_fail (SL_IS_APPLICATION (self), FALSE);

  return self->background;
}

SlDownloadList *
sl_application_get_list (SlApplication *self)
{
  g_return_val_if_fail (SL_IS_APPLICATION (self), NULL);

  return self->list;
}

GSettings *
sl_application_get_settings (SlApplication *self)
{
  g_return_val_if_fail (SL_IS_APPLICATION (self), NULL);

  return self->settings;
}

/**
 * sl_application_get_window:
 * @self: the application
 *
 * Returns: (transfer none) (nullable): the main window, if it is open
 */
GtkWindow *
sl_application_get_window (SlApplication *self)
{
  g_return_val_if_fail (SL_IS_APPLICATION (self), NULL);

  return GTK_WINDOW (get_window (self));
}
