/* sl-preferences-window.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>

#include "sl-browser-setup.h"
#include "sl-preferences-window.h"
#include "sl-types.h"

/* Preferences. The window's own are GSettings: the window binds each control to its key, and
 * the application carries the maximum of active downloads over to the daemon. The limits
 * that only the daemon keeps (connections per server, the speed of all downloads together)
 * are its Manager1 properties: the page shows the daemon's values as they change, whoever
 * changes them, and sets them there, saying so when the daemon does not take them. The
 * Browser Integration page shows and sets up the browsers' manifests with the code of
 * `sluicectl browser`, in a thread. */

/* The speed is set in kB/s, as g_format_size() counts: 1000 bytes. */
#define BYTES_PER_KB 1000

struct _SlPreferencesWindow
{
  AdwPreferencesWindow  parent_instance;

  GSettings            *settings;
  GtkFileChooserNative *chooser;

  GtkWidget            *folder_row;
  GtkWidget            *ask_switch;
  GtkAdjustment        *max_active_adjustment;
  GtkWidget            *notify_switch;

  SlDownloadList       *list;
  GSignalGroup         *manager_signals;  /* the list's Manager1 */
  GtkWidget            *max_per_host_row;
  GtkWidget            *connections_row;   /* item 0: automatic, item N: N connections */
  GtkAdjustment        *max_per_host_adjustment;
  GtkWidget            *speed_row;
  GtkAdjustment        *max_speed_adjustment;
  guint                 pending_sets;     /* Properties.Set calls not answered yet */
  gboolean              showing_limits;   /* the daemon's values going into the controls */
  gboolean              limits_refused;   /* a Set failed since the controls showed them */

  GtkWidget            *set_up_button;
  GtkListBox           *browser_list;
  GPtrArray            *browser_rows;     /* AdwActionRow, in the order of the browser table */
  GCancellable         *cancellable;
  gboolean              setting_up;
};

G_DEFINE_FINAL_TYPE (SlPreferencesWindow, sl_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

static char *
current_folder (SlPreferencesWindow *self)
{
  g_autofree char *folder = g_settings_get_string (self->settings, "download-folder");
  const char *downloads;

  if (folder != NULL && *folder != '\0')
    return g_steal_pointer (&folder);

  downloads = g_get_user_special_dir (G_USER_DIRECTORY_DOWNLOAD);
  return g_strdup (downloads ? downloads : g_get_home_dir ());
}

static void
show_folder (SlPreferencesWindow *self)
{
  g_autofree char *folder = current_folder (self);
  g_autofree char *display = g_filename_display_name (folder);

  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->folder_row), display);
}

static void
on_chooser_response (GtkNativeDialog     *chooser,
                     int                  response,
                     SlPreferencesWindow *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autofree char *path = folder ? g_file_get_path (folder) : NULL;

      if (path != NULL)
        g_settings_set_string (self->settings, "download-folder", path);
    }

  g_clear_object (&self->chooser);
}

static void
choose_folder_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  SlPreferencesWindow *self = SL_PREFERENCES_WINDOW (widget);
  g_autofree char *path = current_folder (self);
  g_autoptr (GFile) folder = g_file_new_for_path (path);

  if (self->chooser != NULL)
    return;

  self->chooser = gtk_file_chooser_native_new (_("Download Folder"), GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                               _("_Select"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (self->chooser), folder, NULL);
  g_signal_connect_object (self->chooser, "response", G_CALLBACK (on_chooser_response), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/* The daemon's limits */

static SlDBusManager1 *
get_manager (SlPreferencesWindow *self)
{
  return self->list != NULL ? sl_download_list_get_manager (self->list) : NULL;
}

/* Shows the daemon's values; without a daemon to set them on, the rows cannot be changed.
 * While a change of ours is on its way, the controls already show it: what the daemon said
 * before is not shown again meanwhile. */
static void
show_limits (SlPreferencesWindow *self)
{
  SlDBusManager1 *manager = get_manager (self);
  g_autofree char *owner = manager ? g_dbus_proxy_get_name_owner (G_DBUS_PROXY (manager)) : NULL;
  guint64 max_speed;

  gtk_widget_set_sensitive (self->max_per_host_row, owner != NULL);
  gtk_widget_set_sensitive (self->connections_row, owner != NULL);
  gtk_widget_set_sensitive (self->speed_row, owner != NULL);
  if (owner == NULL || self->pending_sets > 0)
    return;

  self->showing_limits = TRUE;
  gtk_adjustment_set_value (self->max_per_host_adjustment,
                            sl_dbus_manager1_get_max_per_host (manager));
  adw_combo_row_set_selected (ADW_COMBO_ROW (self->connections_row),
                              MIN (sl_dbus_manager1_get_default_connections (manager),
                                   SL_MAX_CONNECTIONS));
  max_speed = sl_dbus_manager1_get_max_speed (manager);
  /* Without a limit, the spin button keeps the last one shown, for the next time. */
  if (max_speed > 0)
    gtk_adjustment_set_value (self->max_speed_adjustment,
                              MAX (1, (max_speed + BYTES_PER_KB / 2) / BYTES_PER_KB));
  adw_expander_row_set_enable_expansion (ADW_EXPANDER_ROW (self->speed_row), max_speed > 0);
  self->showing_limits = FALSE;
}

static void
on_limit_set_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  SlPreferencesWindow *self;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;

  reply = g_dbus_proxy_call_finish (G_DBUS_PROXY (source), result, &error);
  /* Cancelled when the window goes: then @user_data is no more. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  self = SL_PREFERENCES_WINDOW (user_data);
  self->pending_sets--;
  if (reply == NULL)
    {
      g_autofree char *escaped = NULL;
      g_autofree char *message = NULL;

      g_dbus_error_strip_remote_error (error);
      /* A toast's title is markup. */
      escaped = g_markup_escape_text (error->message, -1);
      message = g_strdup_printf (_("The download service did not take the setting: %s"),
                                 escaped);
      adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), adw_toast_new (message));
      self->limits_refused = TRUE;
    }

  /* Back to what the daemon has, once nothing more is on its way. A change it took is shown
   * when it says so: its PropertiesChanged comes after the answer. */
  if (self->pending_sets == 0 && self->limits_refused)
    {
      self->limits_refused = FALSE;
      show_limits (self);
    }
}

static void
set_limit (SlPreferencesWindow *self,
           const char          *property,
           GVariant            *value)
{
  GDBusProxy *manager = G_DBUS_PROXY (get_manager (self));

  self->pending_sets++;
  g_dbus_proxy_call (manager, "org.freedesktop.DBus.Properties.Set",
                     g_variant_new ("(ssv)", g_dbus_proxy_get_interface_name (manager), property,
                                    value),
                     G_DBUS_CALL_FLAGS_NONE, -1, self->cancellable, on_limit_set_cb, self);
}

static void
on_max_per_host_changed (SlPreferencesWindow *self)
{
  SlDBusManager1 *manager = get_manager (self);
  guint max_per_host = (guint) gtk_adjustment_get_value (self->max_per_host_adjustment);

  if (self->showing_limits || manager == NULL ||
      max_per_host == sl_dbus_manager1_get_max_per_host (manager))
    return;

  set_limit (self, "MaxPerHost", g_variant_new_uint32 (max_per_host));
}

static void
on_connections_changed (SlPreferencesWindow *self)
{
  SlDBusManager1 *manager = get_manager (self);
  guint connections = adw_combo_row_get_selected (ADW_COMBO_ROW (self->connections_row));

  if (self->showing_limits || manager == NULL || connections > SL_MAX_CONNECTIONS ||
      connections == sl_dbus_manager1_get_default_connections (manager))
    return;

  set_limit (self, "DefaultConnections", g_variant_new_uint32 (connections));
}

static void
on_max_speed_changed (SlPreferencesWindow *self)
{
  SlDBusManager1 *manager = get_manager (self);
  guint64 max_speed = 0;

  if (self->showing_limits || manager == NULL)
    return;

  if (adw_expander_row_get_enable_expansion (ADW_EXPANDER_ROW (self->speed_row)))
    max_speed = (guint64) gtk_adjustment_get_value (self->max_speed_adjustment) * BYTES_PER_KB;
  if (max_speed == sl_dbus_manager1_get_max_speed (manager))
    return;

  set_limit (self, "MaxSpeed", g_variant_new_uint64 (max_speed));
}

static void
on_manager_changed (SlPreferencesWindow *self)
{
  g_signal_group_set_target (self->manager_signals, get_manager (self));
  show_limits (self);
}

/* Browsers */

static const char *
describe_browser (const SlBrowserSetupEntry *entry)
{
  switch (entry->state)
    {
    case SL_BROWSER_SETUP_OK:
      return _("Set up");

    case SL_BROWSER_SETUP_STALE:
      return _("Out of date");

    case SL_BROWSER_SETUP_MISSING_HOST:
      return _("Starts a program that is missing");

    case SL_BROWSER_SETUP_ABSENT:
    default:
      return entry->in_use ? _("Not set up") : _("Not found on this computer");
    }
}

static void
show_browsers (SlPreferencesWindow *self,
               GPtrArray           *entries)
{
  gboolean repair = FALSE;

  for (guint i = 0; i < entries->len && i < self->browser_rows->len; i++)
    {
      const SlBrowserSetupEntry *entry = g_ptr_array_index (entries, i);
      AdwActionRow *row = g_ptr_array_index (self->browser_rows, i);
      GtkImage *icon = g_object_get_data (G_OBJECT (row), "state-icon");
      const char *icon_name = NULL;

      adw_action_row_set_subtitle (row, describe_browser (entry));
      if (entry->state == SL_BROWSER_SETUP_OK)
        icon_name = "emblem-ok-symbolic";
      else if (entry->state != SL_BROWSER_SETUP_ABSENT)
        {
          icon_name = "dialog-warning-symbolic";
          repair = TRUE;
        }
      gtk_image_set_from_icon_name (icon, icon_name);
      gtk_widget_set_visible (GTK_WIDGET (icon), icon_name != NULL);
    }

  gtk_button_set_label (GTK_BUTTON (self->set_up_button), repair ? _("_Repair") : _("_Set Up"));
}

static void
on_browser_status_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr (GPtrArray) entries = NULL;
  g_autoptr (GError) error = NULL;

  /* Cancelled when the window goes: then @user_data is no more. */
  entries = sl_browser_setup_status_finish (result, &error);
  if (entries == NULL)
    return;

  show_browsers (SL_PREFERENCES_WINDOW (user_data), entries);
}

static void
on_browsers_set_up_cb (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  SlPreferencesWindow *self;
  g_autoptr (GPtrArray) entries = NULL;
  g_autoptr (GError) error = NULL;
  const GError *first_error = NULL;
  g_autoptr (AdwToast) toast = NULL;

  entries = sl_browser_setup_install_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  self = SL_PREFERENCES_WINDOW (user_data);
  self->setting_up = FALSE;
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "preferences.set-up-browsers", TRUE);

  if (entries != NULL)
    {
      show_browsers (self, entries);
      for (guint i = 0; i < entries->len && first_error == NULL; i++)
        first_error = ((SlBrowserSetupEntry *) g_ptr_array_index (entries, i))->error;
    }
  else
    first_error = error;

  if (first_error != NULL)
    {
      /* A toast's title is markup; a path may hold “&” or “<”. */
      g_autofree char *escaped = g_markup_escape_text (first_error->message, -1);

      toast = adw_toast_new (escaped);
      adw_toast_set_timeout (toast, 0);
    }
  else
    toast = adw_toast_new (_("The browsers are set up"));
  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), g_steal_pointer (&toast));
}

static void
set_up_browsers_action (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *parameter)
{
  SlPreferencesWindow *self = SL_PREFERENCES_WINDOW (widget);

  if (self->setting_up)
    return;

  self->setting_up = TRUE;
  gtk_widget_action_set_enabled (widget, "preferences.set-up-browsers", FALSE);
  sl_browser_setup_install_async (self->cancellable, on_browsers_set_up_cb, self);
}

static void
add_browser_rows (SlPreferencesWindow *self)
{
  gsize n_locations;
  const SlManifestLocation *locations = sl_manifest_locations (&n_locations);

  /* One row per browser, as sl_browser_setup_status() lists them: the user's folders. */
  for (gsize i = 0; i < n_locations; i++)
    {
      GtkWidget *row;
      GtkWidget *icon;

      if (locations[i].scope != SL_MANIFEST_SCOPE_USER)
        continue;

      row = adw_action_row_new ();
      icon = gtk_image_new ();
      /* Browser names are names: not translated. */
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), locations[i].browser);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), _("Checking…"));
      gtk_widget_set_name (row, locations[i].id);
      gtk_widget_set_visible (icon, FALSE);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), icon);
      g_object_set_data (G_OBJECT (row), "state-icon", icon);
      gtk_list_box_append (self->browser_list, row);
      g_ptr_array_add (self->browser_rows, row);
    }
}

static void
sl_preferences_window_dispose (GObject *object)
{
  SlPreferencesWindow *self = (SlPreferencesWindow *) object;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->browser_rows, g_ptr_array_unref);
  if (self->manager_signals != NULL)
    g_signal_group_set_target (self->manager_signals, NULL);
  g_clear_object (&self->manager_signals);
  g_clear_object (&self->list);

  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  g_clear_object (&self->settings);

  gtk_widget_dispose_template (GTK_WIDGET (self), SL_TYPE_PREFERENCES_WINDOW);

  G_OBJECT_CLASS (sl_preferences_window_parent_class)->dispose (object);
}

static void
sl_preferences_window_class_init (SlPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = sl_preferences_window_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/sluice/Sluice/sl-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, SlPreferencesWindow, folder_row);
  gtk_widget_class_bind_template_child (widget_class, SlPreferencesWindow, ask_switch);
  gtk_widget_class_bind_template_child (widget_class, SlPreferencesWindow,
                                        max_active_adjustment);
  gtk_widget_class_bind_template_child (widget_class, SlPreferencesWindow, notify_switch);
  gtk_widget_class_bind_template_child (widget_class, SlPreferencesWindow, max_per_host_row);
  gtk_widget_class_bind_template_child (widget_class, SlPreferencesWindow, connections_row);
  gtk_widget_class_bind_template_child (widget_class, SlPreferencesWindow,
                                        max_per_host_adjustment);
  gtk_widget_class_bind_template_child (widget_class, SlPreferencesWindow, speed_row);
  gtk_widget_class_bind_template_child (widget_class, SlPreferencesWindow,
                                        max_speed_adjustment);
  gtk_widget_class_bind_template_child (widget_class, SlPreferencesWindow, set_up_button);
  gtk_widget_class_bind_template_child (widget_class, SlPreferencesWindow, browser_list);

  gtk_widget_class_install_action (widget_class, "preferences.choose-folder", NULL,
                                   choose_folder_action);
  gtk_widget_class_install_action (widget_class, "preferences.set-up-browsers", NULL,
                                   set_up_browsers_action);
}

static void
sl_preferences_window_init (SlPreferencesWindow *self)
{
  g_autoptr (GtkStringList) connections = gtk_string_list_new (NULL);

  gtk_widget_init_template (GTK_WIDGET (self));

  gtk_string_list_append (connections, C_("connections", "Automatic"));
  for (guint i = 1; i <= SL_MAX_CONNECTIONS; i++)
    {
      g_autofree char *number = g_strdup_printf ("%u", i);

      gtk_string_list_append (connections, number);
    }
  adw_combo_row_set_model (ADW_COMBO_ROW (self->connections_row), G_LIST_MODEL (connections));

  self->cancellable = g_cancellable_new ();

  self->manager_signals = g_signal_group_new (SL_DBUS_TYPE_MANAGER1_PROXY);
  g_signal_group_connect_swapped (self->manager_signals, "notify::max-per-host",
                                  G_CALLBACK (show_limits), self);
  g_signal_group_connect_swapped (self->manager_signals, "notify::max-speed",
                                  G_CALLBACK (show_limits), self);
  g_signal_group_connect_swapped (self->manager_signals, "notify::default-connections",
                                  G_CALLBACK (show_limits), self);
  g_signal_group_connect_swapped (self->manager_signals, "notify::g-name-owner",
                                  G_CALLBACK (show_limits), self);
  g_signal_connect_object (self->max_per_host_adjustment, "value-changed",
                           G_CALLBACK (on_max_per_host_changed), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->connections_row, "notify::selected",
                           G_CALLBACK (on_connections_changed), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->max_speed_adjustment, "value-changed",
                           G_CALLBACK (on_max_speed_changed), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->speed_row, "notify::enable-expansion",
                           G_CALLBACK (on_max_speed_changed), self, G_CONNECT_SWAPPED);

  self->browser_rows = g_ptr_array_new ();
  add_browser_rows (self);
  sl_browser_setup_status_async (self->cancellable, on_browser_status_cb, self);
}

/**
 * sl_preferences_window_new:
 * @parent: (nullable): the window to be transient for
 * @settings: the application's settings
 * @list: (nullable): the daemon's download list, whose Manager1 keeps the daemon's limits
 *
 * Returns: (transfer none): a new preferences window
 */
SlPreferencesWindow *
sl_preferences_window_new (GtkWindow      *parent,
                           GSettings      *settings,
                           SlDownloadList *list)
{
  SlPreferencesWindow *self;

  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);
  g_return_val_if_fail (list == NULL || SL_IS_DOWNLOAD_LIST (list), NULL);

  self = g_object_new (SL_TYPE_PREFERENCES_WINDOW, "transient-for", parent, NULL);
  self->settings = g_object_ref (settings);

  g_settings_bind (settings, "ask-where-to-save", self->ask_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "max-active-downloads", self->max_active_adjustment, "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "notifications", self->notify_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
  g_signal_connect_object (settings, "changed::download-folder", G_CALLBACK (show_folder), self,
                           G_CONNECT_SWAPPED);
  show_folder (self);

  if (list != NULL)
    {
      self->list = g_object_ref (list);
      g_signal_connect_object (list, "notify::manager", G_CALLBACK (on_manager_changed), self,
                               G_CONNECT_SWAPPED);
    }
  on_manager_changed (self);

  return self;
}
