/* sl-preferences-window.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>

#include "sl-preferences-window.h"

/* Preferences, all GSettings: the window binds each control to its key, and the application
 * carries what concerns the daemon (the maximum of active downloads) over to it. */

struct _SlPreferencesWindow
{
  AdwPreferencesWindow  parent_instance;

  GSettings            *settings;
  GtkFileChooserNative *chooser;

  GtkWidget            *folder_row;
  GtkWidget            *ask_switch;
  GtkAdjustment        *max_active_adjustment;
  GtkWidget            *notify_switch;
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

static void
sl_preferences_window_dispose (GObject *object)
{
  SlPreferencesWindow *self = (SlPreferencesWindow *) object;

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

  gtk_widget_class_install_action (widget_class, "preferences.choose-folder", NULL,
                                   choose_folder_action);
}

static void
sl_preferences_window_init (SlPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

/**
 * sl_preferences_window_new:
 * @parent: (nullable): the window to be transient for
 * @settings: the application's settings
 *
 * Returns: (transfer none): a new preferences window
 */
SlPreferencesWindow *
sl_preferences_window_new (GtkWindow *parent,
                           GSettings *settings)
{
  SlPreferencesWindow *self;

  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

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

  return self;
}
