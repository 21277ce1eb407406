/* sl-application-actions.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>

#include "sl-application.h"
#include "sl-preferences-window.h"

/* The app.* actions, and every accelerator of the application in one table. Window and row
 * actions (win.*, download.*) have their keys in their classes, as widget bindings, so that
 * an entry with the focus keeps Ctrl+V; the shortcuts window lists them all. */

static const struct
{
  const char *action;
  const char *accels[3];
} accels[] = {
  { "app.quit", { "<Control>q", NULL } },
  { "app.preferences", { "<Control>comma", NULL } },
  { "window.close", { "<Control>w", NULL } },
  { "win.show-help-overlay", { "<Control>question", NULL } },
};

static void
preferences_action (GSimpleAction *action,
                    GVariant      *parameter,
                    gpointer       user_data)
{
  SlApplication *self = user_data;
  SlPreferencesWindow *window;

  window = sl_preferences_window_new (sl_application_get_window (self),
                                      sl_application_get_settings (self),
                                      sl_application_get_list (self));
  gtk_window_present (GTK_WINDOW (window));
}

static void
about_action (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  SlApplication *self = user_data;
  const char *developers[] = { _("The Sluice developers"), NULL };

  adw_show_about_window (sl_application_get_window (self),
                         "application-name", _("Sluice"),
                         "application-icon", APP_ID,
                         "developer-name", _("The Sluice developers"),
                         "developers", developers,
                         "version", PACKAGE_VERSION,
                         "comments", _("Downloads that never lose a byte"),
                         "license-type", GTK_LICENSE_GPL_3_0,
                         /* Translators: your names, one per line */
                         "translator-credits", _("translator-credits"),
                         NULL);
}

static void
quit_action (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  /* Only the window goes: the daemon keeps downloading. */
  sl_application_quit (user_data);
}

static void
open_file_action (GSimpleAction *action,
                  GVariant      *parameter,
                  gpointer       user_data)
{
  SlApplication *self = user_data;
  g_autoptr (GFile) file = g_file_new_for_path (g_variant_get_string (parameter, NULL));
  g_autofree char *uri = g_file_get_uri (file);

  gtk_show_uri (sl_application_get_window (self), uri, GDK_CURRENT_TIME);
}

typedef struct
{
  SlApplication *application;
  char          *folder_uri;
} ShowData;

static void
show_data_free (ShowData *data)
{
  g_object_unref (data->application);
  g_free (data->folder_uri);
  g_free (data);
}

/* The file manager did not show the file: show its folder instead. */
static void
show_items_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  ShowData *data = user_data;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      g_debug ("FileManager1.ShowItems failed, opening the folder: %s", error->message);
      gtk_show_uri (sl_application_get_window (data->application), data->folder_uri,
                    GDK_CURRENT_TIME);
    }

  show_data_free (data);
}

static void
show_in_folder_action (GSimpleAction *action,
                       GVariant      *parameter,
                       gpointer       user_data)
{
  SlApplication *self = user_data;
  g_autoptr (GFile) file = g_file_new_for_path (g_variant_get_string (parameter, NULL));
  g_autoptr (GFile) folder = g_file_get_parent (file);
  g_autofree char *uri = g_file_get_uri (file);
  const char *uris[] = { uri, NULL };
  GDBusConnection *connection = g_application_get_dbus_connection (G_APPLICATION (self));
  ShowData *data;

  if (folder == NULL)
    return;

  data = g_new0 (ShowData, 1);
  data->application = g_object_ref (self);
  data->folder_uri = g_file_get_uri (folder);

  if (connection == NULL)
    {
      gtk_show_uri (sl_application_get_window (self), data->folder_uri, GDK_CURRENT_TIME);
      show_data_free (data);
      return;
    }

  g_dbus_connection_call (connection, "org.freedesktop.FileManager1",
                          "/org/freedesktop/FileManager1", "org.freedesktop.FileManager1",
                          "ShowItems", g_variant_new ("(^ass)", uris, ""), NULL,
                          G_DBUS_CALL_FLAGS_NONE, 5000, NULL, show_items_cb, data);
}

static const GActionEntry app_actions[] = {
  { .name = "preferences", .activate = preferences_action },
  { .name = "about", .activate = about_action },
  { .name = "quit", .activate = quit_action },
  { .name = "open-file", .activate = open_file_action, .parameter_type = "s" },
  { .name = "show-in-folder", .activate = show_in_folder_action, .parameter_type = "s" },
};

void
_sl_application_add_actions (SlApplication *self)
{
  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions, G_N_ELEMENTS (app_actions),
                                   self);

  for (guint i = 0; i < G_N_ELEMENTS (accels); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (self), accels[i].action,
                                           accels[i].accels);
}
