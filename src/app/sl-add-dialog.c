/* sl-add-dialog.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>

#include "sl-add-dialog.h"
#include "sl-filename-rules.h"
#include "sl-format.h"

G_STATIC_ASSERT (GTK_ENTRY_BUFFER_MAX_SIZE == G_MAXUSHORT);

/* The Add Download dialog: an address checked as it is typed, an optional file name, the
 * folder, and whether to start paused. Adding asks the daemon; a refusal stays in the dialog
 * with the daemon's reason, so nothing typed is lost.
 *
 * The address has the focus from the start, so that what is typed or pasted right away goes
 * there. Opened without an address, the dialog offers the link on the clipboard, selected so
 * that typing replaces it. */

struct _SlAddDialog
{
  AdwWindow       parent_instance;

  SlDBusManager1 *manager;
  GFile          *folder;
  GtkFileChooserNative *chooser;
  GCancellable   *cancellable;
  char           *error;

  GtkWidget      *url_row;
  GtkWidget      *filename_row;
  GtkWidget      *folder_row;
  GtkWidget      *paused_switch;
  GtkWidget      *error_label;
  GtkWidget      *add_button;
};

G_DEFINE_FINAL_TYPE (SlAddDialog, sl_add_dialog, ADW_TYPE_WINDOW)

static void
set_error (SlAddDialog *self,
           const char  *message)
{
  g_free (self->error);
  self->error = g_strdup (message);

  gtk_label_set_label (GTK_LABEL (self->error_label), message ? message : "");
  gtk_widget_set_visible (self->error_label, message != NULL);
}

/* Checks what is typed: the address first, then the file name; Add is only enabled for
 * something the daemon can take. */
static void
validate (SlAddDialog *self)
{
  g_autoptr (GError) error = NULL;
  const char *url = gtk_editable_get_text (GTK_EDITABLE (self->url_row));
  const char *filename = gtk_editable_get_text (GTK_EDITABLE (self->filename_row));
  g_autoptr (GUri) uri = sl_format_parse_typed_url (url, &error);
  gboolean url_ok = uri != NULL;
  gboolean filename_ok;

  if (url_ok)
    gtk_widget_remove_css_class (self->url_row, "error");
  else if (*url != '\0')
    gtk_widget_add_css_class (self->url_row, "error");

  /* An empty address is not an error yet: it is where everyone starts. */
  if (!url_ok)
    {
      set_error (self, *url != '\0' ? error->message : NULL);
      gtk_widget_action_set_enabled (GTK_WIDGET (self), "add-dialog.add", FALSE);
      return;
    }

  /* No name lets the server name the file. */
  g_clear_error (&error);
  filename_ok = *filename == '\0' || sl_filename_check (filename, &error);
  if (filename_ok)
    gtk_widget_remove_css_class (self->filename_row, "error");
  else
    gtk_widget_add_css_class (self->filename_row, "error");

  set_error (self, filename_ok ? NULL : error->message);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "add-dialog.add", filename_ok);
}

static void
show_folder (SlAddDialog *self)
{
  g_autofree char *path = g_file_get_path (self->folder);
  g_autofree char *display = g_filename_display_name (path);

  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->folder_row), display);
}

/* The clipboard's link. Read without waiting for it; by the time it comes, something typed
 * in the meantime wins. Only text that is one http or https address and nothing else counts:
 * not a paragraph around one, not a list of them (Ctrl+V in the window adds those). */

static void
clipboard_read_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr (SlAddDialog) self = user_data;
  g_autofree char *text = gdk_clipboard_read_text_finish (GDK_CLIPBOARD (source), result, NULL);
  g_autoptr (GUri) uri = NULL;

  /* Closed meanwhile, or typed into. */
  if (text == NULL || g_cancellable_is_cancelled (self->cancellable) ||
      *gtk_editable_get_text (GTK_EDITABLE (self->url_row)) != '\0')
    return;

  g_strstrip (text);
  uri = sl_format_parse_typed_url (text, NULL);
  if (uri == NULL)
    return;

  gtk_editable_set_text (GTK_EDITABLE (self->url_row), text);
  gtk_editable_select_region (GTK_EDITABLE (self->url_row), 0, -1);
}

static void
offer_clipboard_link (SlAddDialog *self)
{
  gdk_clipboard_read_text_async (gtk_widget_get_clipboard (GTK_WIDGET (self)), self->cancellable,
                                 clipboard_read_cb, g_object_ref (self));
}

/* Actions */

static void
add_done_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr (SlAddDialog) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;

  if (!sl_dbus_manager1_call_add_finish (SL_DBUS_MANAGER1 (source), &path, result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_dbus_error_strip_remote_error (error);
      set_error (self, error->message);
      gtk_widget_set_sensitive (GTK_WIDGET (self), TRUE);
      gtk_widget_grab_focus (self->url_row);
      return;
    }

  gtk_window_destroy (GTK_WINDOW (self));
}

static void
add_action (GtkWidget  *widget,
            const char *action_name,
            GVariant   *parameter)
{
  SlAddDialog *self = SL_ADD_DIALOG (widget);
  g_auto (GVariantDict) options = G_VARIANT_DICT_INIT (NULL);
  g_autofree char *url = NULL;
  g_autofree char *directory = g_file_get_path (self->folder);
  const char *filename = gtk_editable_get_text (GTK_EDITABLE (self->filename_row));
  g_autoptr (GUri) uri = NULL;

  url = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->url_row))));
  uri = sl_format_parse_typed_url (url, NULL);
  if (uri == NULL)
    return;

  g_variant_dict_insert (&options, "directory", "s", directory);
  if (*filename != '\0')
    g_variant_dict_insert (&options, "filename", "s", filename);
  g_variant_dict_insert (&options, "paused", "b",
                         gtk_switch_get_active (GTK_SWITCH (self->paused_switch)));

  /* Insensitive while the daemon answers, so that Add cannot go twice. The focus leaves the
   * address first: a text made insensitive with the focus is not told it lost it, and goes on
   * blinking its cursor. */
  gtk_window_set_focus (GTK_WINDOW (self), NULL);
  gtk_widget_set_sensitive (widget, FALSE);
  sl_dbus_manager1_call_add (self->manager, url, g_variant_dict_end (&options), self->cancellable,
                             add_done_cb, g_object_ref (self));
}

static void
on_chooser_response (GtkNativeDialog *chooser,
                     int              response,
                     SlAddDialog     *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));

      if (folder != NULL && g_file_get_path (folder) != NULL)
        {
          g_set_object (&self->folder, folder);
          show_folder (self);
        }
    }

  g_clear_object (&self->chooser);
}

static void
choose_folder_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  SlAddDialog *self = SL_ADD_DIALOG (widget);

  if (self->chooser != NULL)
    return;

  self->chooser = gtk_file_chooser_native_new (_("Download Folder"), GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                               _("_Select"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (self->chooser), self->folder, NULL);
  g_signal_connect_object (self->chooser, "response", G_CALLBACK (on_chooser_response), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/* GObject */

static void
sl_add_dialog_dispose (GObject *object)
{
  SlAddDialog *self = (SlAddDialog *) object;

  g_cancellable_cancel (self->cancellable);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  g_clear_object (&self->manager);
  g_clear_object (&self->folder);

  gtk_widget_dispose_template (GTK_WIDGET (self), SL_TYPE_ADD_DIALOG);

  G_OBJECT_CLASS (sl_add_dialog_parent_class)->dispose (object);
}

static void
sl_add_dialog_finalize (GObject *object)
{
  SlAddDialog *self = (SlAddDialog *) object;

  g_clear_object (&self->cancellable);
  g_free (self->error);

  G_OBJECT_CLASS (sl_add_dialog_parent_class)->finalize (object);
}

static void
sl_add_dialog_class_init (SlAddDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = sl_add_dialog_dispose;
  object_class->finalize = sl_add_dialog_finalize;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/sluice/Sluice/sl-add-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, SlAddDialog, url_row);
  gtk_widget_class_bind_template_child (widget_class, SlAddDialog, filename_row);
  gtk_widget_class_bind_template_child (widget_class, SlAddDialog, folder_row);
  gtk_widget_class_bind_template_child (widget_class, SlAddDialog, paused_switch);
  gtk_widget_class_bind_template_child (widget_class, SlAddDialog, error_label);
  gtk_widget_class_bind_template_child (widget_class, SlAddDialog, add_button);

  gtk_widget_class_install_action (widget_class, "add-dialog.add", NULL, add_action);
  gtk_widget_class_install_action (widget_class, "add-dialog.choose-folder", NULL,
                                   choose_folder_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
sl_add_dialog_init (SlAddDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  g_signal_connect_object (self->url_row, "changed", G_CALLBACK (validate), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->filename_row, "changed", G_CALLBACK (validate), self,
                           G_CONNECT_SWAPPED);
  gtk_window_set_default_widget (GTK_WINDOW (self), self->add_button);
  /* Before the window shows, which would give the focus to its first button otherwise. */
  gtk_widget_grab_focus (self->url_row);
  validate (self);
}

/**
 * sl_add_dialog_new:
 * @parent: (nullable): the window to be modal for
 * @manager: the daemon's Manager1
 * @uri: (nullable): the address to start with; without one, the link on the clipboard, if any
 * @directory: (nullable): the folder to start with, or %NULL or "" for Downloads
 *
 * Returns: (transfer none): a new dialog, owned by GTK's list of toplevels
 */
SlAddDialog *
sl_add_dialog_new (GtkWindow      *parent,
                   SlDBusManager1 *manager,
                   const char     *uri,
                   const char     *directory)
{
  SlAddDialog *self;
  const char *downloads = g_get_user_special_dir (G_USER_DIRECTORY_DOWNLOAD);

  g_return_val_if_fail (SL_DBUS_IS_MANAGER1 (manager), NULL);

  self = g_object_new (SL_TYPE_ADD_DIALOG, "transient-for", parent, NULL);
  self->manager = g_object_ref (manager);

  if (directory != NULL && *directory != '\0')
    self->folder = g_file_new_for_path (directory);
  else
    self->folder = g_file_new_for_path (downloads ? downloads : g_get_home_dir ());
  show_folder (self);

  sl_add_dialog_set_uri (self, uri);
  if (uri == NULL || *uri == '\0')
    offer_clipboard_link (self);

  return self;
}

void
sl_add_dialog_set_uri (SlAddDialog *self,
                       const char  *uri)
{
  g_return_if_fail (SL_IS_ADD_DIALOG (self));

  gtk_editable_set_text (GTK_EDITABLE (self->url_row), uri ? uri : "");
}

void
sl_add_dialog_set_filename (SlAddDialog *self,
                            const char  *filename)
{
  g_return_if_fail (SL_IS_ADD_DIALOG (self));

  gtk_editable_set_text (GTK_EDITABLE (self->filename_row), filename ? filename : "");
}

void
sl_add_dialog_set_paused (SlAddDialog *self,
                          gboolean     paused)
{
  g_return_if_fail (SL_IS_ADD_DIALOG (self));

  gtk_switch_set_active (GTK_SWITCH (self->paused_switch), paused);
}

/**
 * sl_add_dialog_get_error:
 * @self: a dialog
 *
 * Returns: (nullable): what the dialog says is wrong, if anything
 */
const char *
sl_add_dialog_get_error (SlAddDialog *self)
{
  g_return_val_if_fail (SL_IS_ADD_DIALOG (self), NULL);

  return self->error;
}
