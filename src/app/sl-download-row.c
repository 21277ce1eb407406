/* sl-download-row.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>

#include <adwaita.h>

#include "sl-download-row.h"
#include "sl-format.h"
#include "sl-states.h"

/* One download in the list: its name, icon and host, a progress bar, a line that says where
 * it is, and the buttons that fit its state. Everything follows the download's proxy, whose
 * properties change as PropertiesChanged arrives; the row only reads them.
 *
 * The row's actions (download.*) are what the buttons, the context menu and the keyboard use;
 * they are enabled by state, so a button is only there when its action can run. */

#define PULSE_INTERVAL_MS 150

/* Speed limits are given in kB/s, as g_format_size() counts: 1000 bytes. */
#define BYTES_PER_KB      1000
#define DEFAULT_LIMIT_KB  1000

/* What the last Verify of a download found wrong, kept with its proxy: a row that shows it
 * later, or another row, says it too. */
#define VERIFY_ERROR_KEY  "sl-verify-error"

struct _SlDownloadRow
{
  GtkWidget        parent_instance;

  SlDBusDownload1 *download;
  GSignalGroup    *download_signals;
  guint            pulse_source;
  char            *status;
  guint            actions_enabled;  /* the state_actions bits now enabled */

  GtkWidget       *box;
  GtkWidget       *icon;
  GtkWidget       *name_label;
  GtkWidget       *host_label;
  GtkWidget       *progress;
  GtkWidget       *status_label;
  GtkWidget       *pause_button;
  GtkWidget       *resume_button;
  GtkWidget       *retry_button;
  GtkWidget       *refresh_link_button;
  GtkWidget       *open_button;
  GtkWidget       *show_button;
  GtkWidget       *cancel_button;
  GtkWidget       *menu_button;
  GMenuModel      *context_menu;
  GtkWidget       *context_popover;
};

G_DEFINE_FINAL_TYPE (SlDownloadRow, sl_download_row, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_DOWNLOAD,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* The file on disk: Directory/Filename, once the name is known. */
static char *
download_path (SlDBusDownload1 *download)
{
  const char *directory = sl_dbus_download1_get_directory (download);
  const char *filename = sl_dbus_download1_get_filename (download);

  if (directory == NULL || *directory == '\0' || filename == NULL || *filename == '\0')
    return NULL;

  return g_build_filename (directory, filename, NULL);
}

static void
report_error (SlDownloadRow *self,
              const char    *message)
{
  /* The window shows it; without one (a row on its own) the log does. */
  if (!gtk_widget_activate_action (GTK_WIDGET (self), "win.show-error", "s", message))
    g_warning ("%s", message);
}

/* Showing the download */

static gboolean
pulse_cb (gpointer user_data)
{
  SlDownloadRow *self = user_data;

  gtk_progress_bar_pulse (GTK_PROGRESS_BAR (self->progress));
  return G_SOURCE_CONTINUE;
}

static void
set_pulsing (SlDownloadRow *self,
             gboolean       pulsing)
{
  if (pulsing && self->pulse_source == 0)
    self->pulse_source = g_timeout_add (PULSE_INTERVAL_MS, pulse_cb, self);
  else if (!pulsing)
    g_clear_handle_id (&self->pulse_source, g_source_remove);
}

/* The actions that depend on the state, as bits, in the order of their names. */
enum
{
  ACTION_PAUSE = 1 << 0,
  ACTION_RESUME = 1 << 1,
  ACTION_RETRY = 1 << 2,
  ACTION_CANCEL = 1 << 3,
  ACTION_REFRESH_LINK = 1 << 4,
  ACTION_OPEN = 1 << 5,
  ACTION_SHOW_IN_FOLDER = 1 << 6,
  ACTION_REMOVE_AND_DELETE = 1 << 7,
  ACTION_LIMIT_SPEED = 1 << 8,
  ACTION_VERIFY = 1 << 9,
};

static const char * const state_actions[] = {
  "download.pause", "download.resume", "download.retry", "download.cancel",
  "download.refresh-link", "download.open", "download.show-in-folder",
  "download.remove-and-delete", "download.limit-speed", "download.verify",
};

/* Only what changed: every change goes to each button that uses the action, and rows are
 * bound again and again while the list scrolls. */
static void
set_actions_enabled (SlDownloadRow *self,
                     guint          enabled)
{
  guint changed = enabled ^ self->actions_enabled;

  for (guint i = 0; i < G_N_ELEMENTS (state_actions); i++)
    {
      if (changed & (1u << i))
        gtk_widget_action_set_enabled (GTK_WIDGET (self), state_actions[i],
                                       (enabled & (1u << i)) != 0);
    }
  self->actions_enabled = enabled;
}

static void
update (SlDownloadRow *self)
{
  SlDBusDownload1 *download = self->download;
  SlDownloadFacts facts = { NULL, };
  g_autofree char *host = NULL;
  g_autoptr (GIcon) icon = NULL;
  const char *filename;
  SlDownloadState state;
  gboolean known;
  gboolean failed;
  gboolean paused;
  gboolean completed;
  gboolean ended;
  gboolean under_way;
  gboolean verifiable;
  const char *checksum;
  double fraction;

  if (download == NULL)
    {
      set_pulsing (self, FALSE);
      return;
    }

  facts.state = sl_dbus_download1_get_state (download);
  facts.bytes_received = sl_dbus_download1_get_bytes_received (download);
  facts.bytes_total = sl_dbus_download1_get_bytes_total (download);
  facts.speed = sl_dbus_download1_get_speed (download);
  facts.http_status = sl_dbus_download1_get_http_status (download);
  facts.error_kind = sl_dbus_download1_get_error_kind (download);
  facts.error = sl_dbus_download1_get_error (download);
  facts.connections = sl_dbus_download1_get_connections (download);
  facts.speed_limit = sl_dbus_download1_get_speed_limit (download);
  facts.checksum_state = sl_dbus_download1_get_checksum_state (download);
  facts.verify_error = g_object_get_data (G_OBJECT (download), VERIFY_ERROR_KEY);
  known = sl_download_state_from_string (facts.state, &state);
  failed = known && state == SL_DOWNLOAD_STATE_FAILED;
  paused = known && state == SL_DOWNLOAD_STATE_PAUSED;
  completed = known && state == SL_DOWNLOAD_STATE_COMPLETED;
  ended = completed || (known && state == SL_DOWNLOAD_STATE_CANCELED);
  under_way = known && sl_download_state_is_under_way (state);
  /* A completed file with a checksum, not being read already. */
  checksum = sl_dbus_download1_get_checksum (download);
  verifiable = completed && checksum != NULL && *checksum != '\0' &&
               g_strcmp0 (facts.checksum_state, "pending") != 0;

  filename = sl_dbus_download1_get_filename (download);
  if (filename == NULL || *filename == '\0')
    filename = sl_dbus_download1_get_uri (download);
  gtk_label_set_label (GTK_LABEL (self->name_label), filename);

  icon = sl_format_icon (sl_dbus_download1_get_filename (download));
  gtk_image_set_from_gicon (GTK_IMAGE (self->icon), icon);

  host = sl_format_host (sl_dbus_download1_get_uri (download));
  gtk_label_set_label (GTK_LABEL (self->host_label), host ? host : "");

  g_free (self->status);
  self->status = sl_format_status (&facts);
  gtk_label_set_label (GTK_LABEL (self->status_label), self->status);
  if (sl_format_status_is_error (&facts))
    gtk_widget_add_css_class (self->status_label, "error");
  else
    gtk_widget_remove_css_class (self->status_label, "error");

  fraction = sl_format_fraction (&facts);
  /* A bar says how far a download got: not for one that ended, nor for a failure before
   * the size was known. */
  gtk_widget_set_visible (self->progress, !ended && !(failed && fraction < 0));
  if (fraction >= 0)
    gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (self->progress), fraction);
  set_pulsing (self, fraction < 0 && known && state == SL_DOWNLOAD_STATE_RUNNING);

  set_actions_enabled (self,
                       (under_way ? ACTION_PAUSE : 0) |
                       (paused ? ACTION_RESUME : 0) |
                       (failed ? ACTION_RETRY : 0) |
                       (!ended ? ACTION_CANCEL : 0) |
                       (paused || failed || (known && state == SL_DOWNLOAD_STATE_WAITING)
                          ? ACTION_REFRESH_LINK : 0) |
                       (completed
                          ? ACTION_OPEN | ACTION_SHOW_IN_FOLDER | ACTION_REMOVE_AND_DELETE : 0) |
                       (!ended ? ACTION_LIMIT_SPEED : 0) |
                       (verifiable ? ACTION_VERIFY : 0));

  /* Buttons for what helps now; the rest is in the menu. A server error offers a new link
   * rather than a retry that would get the same answer. */
  gtk_widget_set_visible (self->pause_button, under_way);
  gtk_widget_set_visible (self->resume_button, paused);
  gtk_widget_set_visible (self->retry_button,
                          failed && !sl_error_kind_is (facts.error_kind, SL_ERROR_KIND_SERVER));
  gtk_widget_set_visible (self->refresh_link_button,
                          failed && sl_error_kind_is (facts.error_kind, SL_ERROR_KIND_SERVER));
  gtk_widget_set_visible (self->open_button, completed);
  gtk_widget_set_visible (self->show_button, completed);
  gtk_widget_set_visible (self->cancel_button, !ended);
}

static void
on_properties_changed (SlDownloadRow *self)
{
  update (self);
}

/* Actions */

static void
call_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr (SlDownloadRow) self = user_data;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;

  reply = g_dbus_proxy_call_finish (G_DBUS_PROXY (source), result, &error);
  if (reply == NULL)
    {
      g_dbus_error_strip_remote_error (error);
      report_error (self, error->message);
    }
}

/* Calls a Download1 method of @download; a refusal is shown, the result comes as property
 * changes. */
static void
call_on (SlDownloadRow   *self,
         SlDBusDownload1 *download,
         const char      *method,
         GVariant        *parameters)
{
  g_dbus_proxy_call (G_DBUS_PROXY (download), method, parameters, G_DBUS_CALL_FLAGS_NONE, -1,
                     NULL, call_done_cb, g_object_ref (self));
}

static void
call (SlDownloadRow *self,
      const char    *method,
      GVariant      *parameters)
{
  if (self->download != NULL)
    call_on (self, self->download, method, parameters);
}

/* A dialog acts on the download it was opened for: while it is open, the row may come to
 * show another one, as rows are recycled. */
#define DIALOG_DOWNLOAD_KEY "sl-download"

static void
set_dialog_download (GtkWidget       *dialog,
                     SlDBusDownload1 *download)
{
  g_object_set_data_full (G_OBJECT (dialog), DIALOG_DOWNLOAD_KEY, g_object_ref (download),
                          g_object_unref);
}

static SlDBusDownload1 *
get_dialog_download (AdwMessageDialog *dialog)
{
  return g_object_get_data (G_OBJECT (dialog), DIALOG_DOWNLOAD_KEY);
}

static void
pause_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  call (SL_DOWNLOAD_ROW (widget), "Pause", NULL);
}

static void
resume_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  call (SL_DOWNLOAD_ROW (widget), "Resume", NULL);
}

static void
cancel_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  call (SL_DOWNLOAD_ROW (widget), "Cancel", NULL);
}

static void
remove_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  call (SL_DOWNLOAD_ROW (widget), "Remove", g_variant_new ("(b)", FALSE));
}

static void
copy_link_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  SlDownloadRow *self = SL_DOWNLOAD_ROW (widget);

  if (self->download != NULL)
    gdk_clipboard_set_text (gtk_widget_get_clipboard (widget),
                            sl_dbus_download1_get_uri (self->download));
}

static void
open_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  SlDownloadRow *self = SL_DOWNLOAD_ROW (widget);
  g_autofree char *path = self->download ? download_path (self->download) : NULL;

  if (path != NULL)
    gtk_widget_activate_action (widget, "app.open-file", "s", path);
}

static void
show_in_folder_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  SlDownloadRow *self = SL_DOWNLOAD_ROW (widget);
  g_autofree char *path = self->download ? download_path (self->download) : NULL;

  if (path != NULL)
    gtk_widget_activate_action (widget, "app.show-in-folder", "s", path);
}

/* Remove and delete: asks first, as the file cannot come back. */

static void
on_delete_response (AdwMessageDialog *dialog,
                    const char       *response,
                    SlDownloadRow    *self)
{
  if (g_str_equal (response, "delete"))
    call_on (self, get_dialog_download (dialog), "Remove", g_variant_new ("(b)", TRUE));
}

static void
remove_and_delete_action (GtkWidget  *widget,
                          const char *action_name,
                          GVariant   *parameter)
{
  SlDownloadRow *self = SL_DOWNLOAD_ROW (widget);
  GtkWidget *dialog;

  if (self->download == NULL)
    return;

  dialog = adw_message_dialog_new (GTK_WINDOW (gtk_widget_get_root (widget)),
                                   _("Delete the File?"), NULL);
  adw_message_dialog_format_body (ADW_MESSAGE_DIALOG (dialog),
                                  _("“%s” will be deleted from the disk and taken off the "
                                    "list. This cannot be undone."),
                                  sl_dbus_download1_get_filename (self->download));
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "delete", _("_Delete"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "delete",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  set_dialog_download (dialog, self->download);
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_delete_response), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Refresh link: a new address for the same file. */

static void
on_link_entry_changed (GtkEditable      *entry,
                       AdwMessageDialog *dialog)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GUri) uri = sl_format_parse_typed_url (gtk_editable_get_text (entry), &error);
  gboolean valid = uri != NULL;

  adw_message_dialog_set_response_enabled (dialog, "refresh", valid);
  if (valid)
    gtk_widget_remove_css_class (GTK_WIDGET (entry), "error");
  else
    gtk_widget_add_css_class (GTK_WIDGET (entry), "error");
  gtk_widget_set_tooltip_text (GTK_WIDGET (entry), valid ? NULL : error->message);
}

static void
on_link_response (AdwMessageDialog *dialog,
                  const char       *response,
                  SlDownloadRow    *self)
{
  GtkWidget *entry = adw_message_dialog_get_extra_child (dialog);
  g_autofree char *uri = NULL;

  if (!g_str_equal (response, "refresh"))
    return;

  uri = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (entry))));
  call_on (self, get_dialog_download (dialog), "RefreshLink", g_variant_new ("(s)", uri));
}

static void
refresh_link_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  SlDownloadRow *self = SL_DOWNLOAD_ROW (widget);
  GtkWidget *dialog;
  GtkWidget *entry;

  if (self->download == NULL)
    return;

  dialog = adw_message_dialog_new (GTK_WINDOW (gtk_widget_get_root (widget)),
                                   _("Refresh Link"),
                                   _("Give the address where the same file can be found now. "
                                     "The bytes downloaded so far are kept if the server shows "
                                     "it is the same file."));
  entry = gtk_entry_new ();
  gtk_entry_set_input_purpose (GTK_ENTRY (entry), GTK_INPUT_PURPOSE_URL);
  gtk_entry_set_activates_default (GTK_ENTRY (entry), TRUE);
  gtk_editable_set_text (GTK_EDITABLE (entry), sl_dbus_download1_get_uri (self->download));
  gtk_accessible_update_property (GTK_ACCESSIBLE (entry), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("New address"), -1);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), entry);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "refresh", _("_Refresh"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "refresh",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "refresh");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_signal_connect (entry, "changed", G_CALLBACK (on_link_entry_changed), dialog);
  set_dialog_download (dialog, self->download);
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_link_response), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Limit speed: a download's own limit, within the one of all downloads. */

static void
on_limit_response (AdwMessageDialog *dialog,
                   const char       *response,
                   SlDownloadRow    *self)
{
  GtkSpinButton *spin = g_object_get_data (G_OBJECT (dialog), "sl-spin");
  guint64 limit;

  if (g_str_equal (response, "no-limit"))
    limit = 0;
  else if (g_str_equal (response, "limit"))
    {
      /* What was typed and not yet taken. */
      gtk_spin_button_update (spin);
      limit = (guint64) gtk_spin_button_get_value_as_int (spin) * BYTES_PER_KB;
    }
  else
    return;

  call_on (self, get_dialog_download (dialog), "SetSpeedLimit", g_variant_new ("(t)", limit));
}

static void
limit_speed_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  SlDownloadRow *self = SL_DOWNLOAD_ROW (widget);
  guint64 limit;
  GtkWidget *dialog;
  GtkWidget *box;
  GtkWidget *spin;
  GtkWidget *unit;

  if (self->download == NULL)
    return;

  dialog = adw_message_dialog_new (GTK_WINDOW (gtk_widget_get_root (widget)),
                                   _("Limit Speed"), NULL);
  adw_message_dialog_format_body (ADW_MESSAGE_DIALOG (dialog),
                                  _("“%s” will download no faster than this. The limit for "
                                    "all downloads together, in Preferences, still applies."),
                                  gtk_label_get_label (GTK_LABEL (self->name_label)));

  limit = sl_dbus_download1_get_speed_limit (self->download);
  spin = gtk_spin_button_new_with_range (1, 10000000, 100);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (spin),
                             limit > 0 ? MAX (1, (limit + BYTES_PER_KB / 2) / BYTES_PER_KB)
                                       : DEFAULT_LIMIT_KB);
  gtk_spin_button_set_numeric (GTK_SPIN_BUTTON (spin), TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (spin), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Maximum speed in kilobytes per second"), -1);
  /* Translators: kilobytes (1000 bytes) per second */
  unit = gtk_label_new (_("kB/s"));
  gtk_widget_add_css_class (unit, "dim-label");
  box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_set_halign (box, GTK_ALIGN_CENTER);
  gtk_box_append (GTK_BOX (box), spin);
  gtk_box_append (GTK_BOX (box), unit);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), box);
  g_object_set_data (G_OBJECT (dialog), "sl-spin", spin);

  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "no-limit", _("_No Limit"),
                                    "limit", _("_Limit"),
                                    NULL);
  adw_message_dialog_set_response_enabled (ADW_MESSAGE_DIALOG (dialog), "no-limit", limit > 0);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "limit",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "limit");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  set_dialog_download (dialog, self->download);
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_limit_response), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
  gtk_widget_grab_focus (spin);
}

/* Verify: the daemon reads the completed file again. It answers once it is read, which may
 * take long for a large file; meanwhile ChecksumState is "pending", and the row says so. */

#define CHECKSUM_ERROR "org.sluice.Downloads.Error.Checksum"

static void
verify_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr (SlDownloadRow) self = user_data;
  SlDBusDownload1 *download = SL_DBUS_DOWNLOAD1 (source);
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *remote = NULL;

  reply = g_dbus_proxy_call_finish (G_DBUS_PROXY (source), result, &error);
  if (reply != NULL)
    return;

  remote = g_dbus_error_get_remote_error (error);
  g_dbus_error_strip_remote_error (error);
  if (g_strcmp0 (remote, CHECKSUM_ERROR) != 0)
    {
      /* The file could not be read, or there was nothing to verify: the request failed. */
      report_error (self, error->message);
      return;
    }

  /* A mismatch stays on the row, as a download's errors do. */
  g_object_set_data_full (G_OBJECT (download), VERIFY_ERROR_KEY,
                          g_strdup (error->message), g_free);
  if (self->download == download)
    update (self);
}

static void
verify_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  SlDownloadRow *self = SL_DOWNLOAD_ROW (widget);

  if (self->download == NULL)
    return;

  g_object_set_data (G_OBJECT (self->download), VERIFY_ERROR_KEY, NULL);
  g_dbus_proxy_call (G_DBUS_PROXY (self->download), "Verify", NULL, G_DBUS_CALL_FLAGS_NONE,
                     G_MAXINT, NULL, verify_done_cb, g_object_ref (self));
}

/* The context menu: right click, the Menu key or Shift+F10. A click opens it where the
 * pointer is; a key opens it by the row's More button, as the button's own menu opens (along
 * the whole row, it would open at the window's edge). */

static void
popup_context_menu (SlDownloadRow *self,
                    double         x,
                    double         y)
{
  GdkRectangle target = { (int) x, (int) y, 1, 1 };
  GtkAlign halign = GTK_ALIGN_START;
  graphene_rect_t bounds;

  if (self->context_popover == NULL)
    {
      self->context_popover = gtk_popover_menu_new_from_model (self->context_menu);
      gtk_popover_set_has_arrow (GTK_POPOVER (self->context_popover), FALSE);
      gtk_widget_set_parent (self->context_popover, GTK_WIDGET (self));
    }

  if ((x < 0 || y < 0) &&
      gtk_widget_compute_bounds (self->menu_button, GTK_WIDGET (self), &bounds))
    {
      target.x = (int) floorf (graphene_rect_get_x (&bounds));
      target.y = (int) floorf (graphene_rect_get_y (&bounds));
      target.width = (int) ceilf (graphene_rect_get_width (&bounds));
      target.height = (int) ceilf (graphene_rect_get_height (&bounds));
      halign = GTK_ALIGN_END;
    }

  gtk_widget_set_halign (self->context_popover, halign);
  if (target.x >= 0 && target.y >= 0)
    gtk_popover_set_pointing_to (GTK_POPOVER (self->context_popover), &target);
  else
    gtk_popover_set_pointing_to (GTK_POPOVER (self->context_popover), NULL);
  gtk_popover_popup (GTK_POPOVER (self->context_popover));
}

static void
context_menu_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  popup_context_menu (SL_DOWNLOAD_ROW (widget), -1, -1);
}

static void
on_right_click (GtkGestureClick *gesture,
                int              n_press,
                double           x,
                double           y,
                SlDownloadRow   *self)
{
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  popup_context_menu (self, x, y);
}

/* Tooltips. They are asked for when shown rather than set: setting a tooltip's text makes
 * GTK look up the pointer on the display at once, for every row bound while scrolling. */

static gboolean
on_query_fixed_tooltip (GtkWidget  *widget,
                        int         x,
                        int         y,
                        gboolean    keyboard,
                        GtkTooltip *tooltip,
                        gpointer    user_data)
{
  gtk_tooltip_set_text (tooltip, g_object_get_data (G_OBJECT (widget), "sl-tooltip"));
  return TRUE;
}

static void
set_fixed_tooltip (GtkWidget  *widget,
                   const char *text)
{
  g_object_set_data (G_OBJECT (widget), "sl-tooltip", (gpointer) text);
  gtk_widget_set_has_tooltip (widget, TRUE);
  g_signal_connect (widget, "query-tooltip", G_CALLBACK (on_query_fixed_tooltip), NULL);
}

/* The name shows the address; the status line shows itself in full, as it may not fit. */
static gboolean
on_query_label_tooltip (GtkWidget     *widget,
                        int            x,
                        int            y,
                        gboolean       keyboard,
                        GtkTooltip    *tooltip,
                        SlDownloadRow *self)
{
  if (self->download == NULL)
    return FALSE;

  if (widget == self->name_label)
    gtk_tooltip_set_text (tooltip, sl_dbus_download1_get_uri (self->download));
  else
    gtk_tooltip_set_text (tooltip, self->status);
  return TRUE;
}

/* The menu is made when first opened: most rows never open theirs. */
static void
create_popup_cb (GtkMenuButton *button,
                 gpointer       user_data)
{
  SlDownloadRow *self = user_data;

  if (gtk_menu_button_get_menu_model (button) == NULL)
    gtk_menu_button_set_menu_model (button, self->context_menu);
}

/* GObject */

static void
sl_download_row_dispose (GObject *object)
{
  SlDownloadRow *self = (SlDownloadRow *) object;

  g_clear_handle_id (&self->pulse_source, g_source_remove);
  if (self->download_signals != NULL)
    g_signal_group_set_target (self->download_signals, NULL);
  g_clear_object (&self->download_signals);
  g_clear_object (&self->download);
  g_clear_pointer (&self->context_popover, gtk_widget_unparent);

  gtk_widget_dispose_template (GTK_WIDGET (self), SL_TYPE_DOWNLOAD_ROW);

  G_OBJECT_CLASS (sl_download_row_parent_class)->dispose (object);
}

static void
sl_download_row_finalize (GObject *object)
{
  SlDownloadRow *self = (SlDownloadRow *) object;

  g_free (self->status);

  G_OBJECT_CLASS (sl_download_row_parent_class)->finalize (object);
}

static void
sl_download_row_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  SlDownloadRow *self = SL_DOWNLOAD_ROW (object);

  switch (prop_id)
    {
    case PROP_DOWNLOAD:
      g_value_set_object (value, self->download);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_download_row_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  SlDownloadRow *self = SL_DOWNLOAD_ROW (object);

  switch (prop_id)
    {
    case PROP_DOWNLOAD:
      sl_download_row_set_download (self, g_value_get_object (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_download_row_class_init (SlDownloadRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = sl_download_row_dispose;
  object_class->finalize = sl_download_row_finalize;
  object_class->get_property = sl_download_row_get_property;
  object_class->set_property = sl_download_row_set_property;

  /**
   * SlDownloadRow:download:
   *
   * The download the row shows.
   */
  properties[PROP_DOWNLOAD] =
    g_param_spec_object ("download", NULL, NULL, SL_DBUS_TYPE_DOWNLOAD1,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/sluice/Sluice/sl-download-row.ui");
  gtk_widget_class_bind_template_child (widget_class, SlDownloadRow, box);
  gtk_widget_class_bind_template_child (widget_class, SlDownloadRow, icon);
  gtk_widget_class_bind_template_child (widget_class, SlDownloadRow, name_label);
  gtk_widget_class_bind_template_child (widget_class, SlDownloadRow, host_label);
  gtk_widget_class_bind_template_child (widget_class, SlDownloadRow, progress);
  gtk_widget_class_bind_template_child (widget_class, SlDownloadRow, status_label);
  gtk_widget_class_bind_template_child (widget_class, SlDownloadRow, pause_button);
  gtk_widget_class_bind_template_child (widget_class, SlDownloadRow, resume_button);
  gtk_widget_class_bind_template_child (widget_class, SlDownloadRow, retry_button);
  gtk_widget_class_bind_template_child (widget_class, SlDownloadRow, refresh_link_button);
  gtk_widget_class_bind_template_child (widget_class, SlDownloadRow, open_button);
  gtk_widget_class_bind_template_child (widget_class, SlDownloadRow, show_button);
  gtk_widget_class_bind_template_child (widget_class, SlDownloadRow, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, SlDownloadRow, menu_button);
  gtk_widget_class_bind_template_child (widget_class, SlDownloadRow, context_menu);

  gtk_widget_class_install_action (widget_class, "download.pause", NULL, pause_action);
  gtk_widget_class_install_action (widget_class, "download.resume", NULL, resume_action);
  gtk_widget_class_install_action (widget_class, "download.retry", NULL, resume_action);
  gtk_widget_class_install_action (widget_class, "download.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "download.refresh-link", NULL,
                                   refresh_link_action);
  gtk_widget_class_install_action (widget_class, "download.open", NULL, open_action);
  gtk_widget_class_install_action (widget_class, "download.show-in-folder", NULL,
                                   show_in_folder_action);
  gtk_widget_class_install_action (widget_class, "download.copy-link", NULL, copy_link_action);
  gtk_widget_class_install_action (widget_class, "download.remove", NULL, remove_action);
  gtk_widget_class_install_action (widget_class, "download.remove-and-delete", NULL,
                                   remove_and_delete_action);
  gtk_widget_class_install_action (widget_class, "download.limit-speed", NULL,
                                   limit_speed_action);
  gtk_widget_class_install_action (widget_class, "download.verify", NULL, verify_action);
  gtk_widget_class_install_action (widget_class, "download.context-menu", NULL,
                                   context_menu_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F10, GDK_SHIFT_MASK,
                                       "download.context-menu", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Menu, 0,
                                       "download.context-menu", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Delete, 0, "download.remove",
                                       NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_space, 0, "download.pause", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_space, GDK_SHIFT_MASK,
                                       "download.resume", NULL);

  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
sl_download_row_init (SlDownloadRow *self)
{
  GtkGesture *gesture;

  gtk_widget_init_template (GTK_WIDGET (self));
  self->actions_enabled = (1u << G_N_ELEMENTS (state_actions)) - 1;  /* as actions start */

  set_fixed_tooltip (self->pause_button, _("Pause"));
  set_fixed_tooltip (self->resume_button, _("Resume"));
  set_fixed_tooltip (self->retry_button, _("Retry"));
  set_fixed_tooltip (self->refresh_link_button, _("Refresh Link"));
  set_fixed_tooltip (self->open_button, _("Open"));
  set_fixed_tooltip (self->show_button, _("Show in Folder"));
  set_fixed_tooltip (self->cancel_button, _("Cancel"));
  set_fixed_tooltip (self->menu_button, _("More"));
  gtk_widget_set_has_tooltip (self->name_label, TRUE);
  g_signal_connect (self->name_label, "query-tooltip", G_CALLBACK (on_query_label_tooltip), self);
  gtk_widget_set_has_tooltip (self->status_label, TRUE);
  g_signal_connect (self->status_label, "query-tooltip", G_CALLBACK (on_query_label_tooltip),
                    self);
  gtk_menu_button_set_create_popup_func (GTK_MENU_BUTTON (self->menu_button), create_popup_cb,
                                         self, NULL);

  /* Proxies: their PropertiesChanged comes as one signal per change, whatever changed. */
  self->download_signals = g_signal_group_new (G_TYPE_DBUS_PROXY);
  g_signal_group_connect_swapped (self->download_signals, "g-properties-changed",
                                  G_CALLBACK (on_properties_changed), self);

  gesture = gtk_gesture_click_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (gesture), GDK_BUTTON_SECONDARY);
  g_signal_connect (gesture, "pressed", G_CALLBACK (on_right_click), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (gesture));
}

/**
 * sl_download_row_get_download:
 * @self: a row
 *
 * Returns: (transfer none) (nullable): the download @self shows
 */
SlDBusDownload1 *
sl_download_row_get_download (SlDownloadRow *self)
{
  g_return_val_if_fail (SL_IS_DOWNLOAD_ROW (self), NULL);

  return self->download;
}

/**
 * sl_download_row_set_download:
 * @self: a row
 * @download: (nullable): the download to show
 *
 * Shows @download; rows are recycled, so this changes as the list scrolls.
 */
void
sl_download_row_set_download (SlDownloadRow   *self,
                              SlDBusDownload1 *download)
{
  g_return_if_fail (SL_IS_DOWNLOAD_ROW (self));
  g_return_if_fail (download == NULL || SL_DBUS_IS_DOWNLOAD1 (download));

  if (!g_set_object (&self->download, download))
    return;

  g_signal_group_set_target (self->download_signals, download);
  if (self->context_popover != NULL)
    gtk_popover_popdown (GTK_POPOVER (self->context_popover));
  update (self);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DOWNLOAD]);
}
