/* sl-window.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>

#include "sl-add-dialog.h"
#include "sl-download-row.h"
#include "sl-format.h"
#include "sl-states.h"
#include "sl-window.h"

/* The main window: the daemon's downloads in a recycled list, filtered by state and by a
 * search on name and address, with the empty state, paste and drop, and the header bar's
 * actions. The list model chain is declared in the .ui; this file gives it the download list
 * and tells the filters when what they look at changes (a filter does not watch items). */

#define SETTINGS_ID "org.sluice.Sluice"

struct _SlWindow
{
  AdwApplicationWindow  parent_instance;

  SlDownloadList       *list;
  GSettings            *settings;
  guint                 refilter_source;
  gboolean              refilter_state;
  gboolean              refilter_text;

  GtkWidget            *search_bar;
  GtkWidget            *search_entry;
  GtkWidget            *filter_dropdown;
  GtkWidget            *toast_overlay;
  GtkWidget            *stack;
  GtkWidget            *spinner;
  GtkWidget            *error_page;
  GtkWidget            *retry_connect_button;
  GtkWidget            *list_view;
  GtkFilterListModel   *filter_model;
  GtkCustomFilter      *state_filter;
  GtkStringFilter      *text_filter;
};

G_DEFINE_FINAL_TYPE (SlWindow, sl_window, ADW_TYPE_APPLICATION_WINDOW)

enum
{
  PROP_0,
  PROP_LIST,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Which page shows: loading, an error, the empty state, no results, or the list. */
static void
update_page (SlWindow *self)
{
  const char *page;

  if (g_strcmp0 (gtk_stack_get_visible_child_name (GTK_STACK (self->stack)), "error") == 0)
    return;

  if (self->list == NULL || !sl_download_list_get_loaded (self->list))
    page = "loading";
  else if (g_list_model_get_n_items (G_LIST_MODEL (self->list)) == 0)
    page = "empty";
  else if (g_list_model_get_n_items (G_LIST_MODEL (self->filter_model)) == 0)
    page = "no-results";
  else
    page = "list";

  gtk_stack_set_visible_child_name (GTK_STACK (self->stack), page);
  /* A spinner animates even when not shown: only while loading. */
  gtk_spinner_set_spinning (GTK_SPINNER (self->spinner), g_str_equal (page, "loading"));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.pause-all", g_str_equal (page, "list") ||
                                 g_str_equal (page, "no-results"));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.resume-all",
                                 g_str_equal (page, "list") || g_str_equal (page, "no-results"));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.clear-finished",
                                 g_str_equal (page, "list") || g_str_equal (page, "no-results"));
}

/* Filtering */

static gboolean
state_matches (gpointer item,
               gpointer user_data)
{
  SlWindow *self = user_data;
  const char *state = sl_dbus_download1_get_state (item);

  switch (gtk_drop_down_get_selected (GTK_DROP_DOWN (self->filter_dropdown)))
    {
    case SL_WINDOW_FILTER_ACTIVE:
      return sl_format_state_is_under_way (state) ||
             sl_download_state_is (state, SL_DOWNLOAD_STATE_PAUSED);
    case SL_WINDOW_FILTER_COMPLETED:
      return sl_download_state_is (state, SL_DOWNLOAD_STATE_COMPLETED);
    case SL_WINDOW_FILTER_FAILED:
      return sl_download_state_is (state, SL_DOWNLOAD_STATE_FAILED);
    case SL_WINDOW_FILTER_ALL:
    default:
      return TRUE;
    }
}

/* What search looks at: the name and the address, in one string that is never empty. */
static char *
search_text (SlDBusDownload1 *download,
             const char      *filename,
             const char      *uri,
             gpointer         user_data)
{
  return g_strconcat (filename ? filename : "", "\n", uri ? uri : "", NULL);
}

static GtkExpression *
search_text_expression (void)
{
  GtkExpression *params[] = {
    gtk_property_expression_new (SL_DBUS_TYPE_DOWNLOAD1, NULL, "filename"),
    gtk_property_expression_new (SL_DBUS_TYPE_DOWNLOAD1, NULL, "uri"),
  };

  return gtk_cclosure_expression_new (G_TYPE_STRING, NULL, G_N_ELEMENTS (params), params,
                                      G_CALLBACK (search_text), NULL, NULL);
}

static gboolean
refilter_cb (gpointer user_data)
{
  SlWindow *self = user_data;

  self->refilter_source = 0;
  if (self->refilter_state)
    gtk_filter_changed (GTK_FILTER (self->state_filter), GTK_FILTER_CHANGE_DIFFERENT);
  if (self->refilter_text)
    gtk_filter_changed (GTK_FILTER (self->text_filter), GTK_FILTER_CHANGE_DIFFERENT);
  self->refilter_state = self->refilter_text = FALSE;

  return G_SOURCE_REMOVE;
}

/* A download changed what a filter looks at: filter again once this burst of changes is in.
 * Progress does not count, and with no filter on nothing needs doing. */
static void
on_download_changed (SlDownloadList  *list,
                     SlDBusDownload1 *download,
                     GVariant        *changed,
                     SlWindow        *self)
{
  const char *search = gtk_editable_get_text (GTK_EDITABLE (self->search_entry));

  if (gtk_drop_down_get_selected (GTK_DROP_DOWN (self->filter_dropdown)) != SL_WINDOW_FILTER_ALL &&
      g_variant_lookup (changed, "State", "&s", NULL))
    self->refilter_state = TRUE;
  if (search != NULL && *search != '\0' &&
      (g_variant_lookup (changed, "Filename", "&s", NULL) ||
       g_variant_lookup (changed, "Uri", "&s", NULL)))
    self->refilter_text = TRUE;

  if ((self->refilter_state || self->refilter_text) && self->refilter_source == 0)
    self->refilter_source = g_idle_add (refilter_cb, self);
}

static void
on_filter_selected (SlWindow *self)
{
  gtk_filter_changed (GTK_FILTER (self->state_filter), GTK_FILTER_CHANGE_DIFFERENT);
}

/* Adding */

/* Requests in flight hold the window weakly: closing it does not wait for their answers. */
typedef struct
{
  GWeakRef  window;
  char     *uri;
} AddData;

static void
add_data_free (AddData *data)
{
  g_weak_ref_clear (&data->window);
  g_free (data->uri);
  g_free (data);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AddData, add_data_free)

static void
add_done_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr (AddData) data = user_data;
  g_autoptr (SlWindow) window = g_weak_ref_get (&data->window);
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;

  if (!sl_dbus_manager1_call_add_finish (SL_DBUS_MANAGER1 (source), &path, result, &error) &&
      window != NULL)
    {
      g_autofree char *message = NULL;

      g_dbus_error_strip_remote_error (error);
      /* Translators: an address that could not be added, and why */
      message = g_strdup_printf (_("Cannot add %s: %s"), data->uri, error->message);
      sl_window_show_error (window, message);
    }
}

/* The options every download added from the window gets: the folder of the preferences. */
static GVariant *
default_options (SlWindow *self)
{
  g_auto (GVariantDict) options = G_VARIANT_DICT_INIT (NULL);
  g_autofree char *folder = g_settings_get_string (self->settings, "download-folder");

  if (folder != NULL && *folder != '\0')
    g_variant_dict_insert (&options, "directory", "s", folder);

  return g_variant_dict_end (&options);
}

static void
open_add_dialog (SlWindow   *self,
                 const char *uri)
{
  SlDBusManager1 *manager = self->list ? sl_download_list_get_manager (self->list) : NULL;
  g_autofree char *folder = g_settings_get_string (self->settings, "download-folder");
  GtkWindow *dialog;

  if (manager == NULL)
    {
      sl_window_show_error (self, _("The download service is not connected yet"));
      return;
    }

  dialog = GTK_WINDOW (sl_add_dialog_new (GTK_WINDOW (self), manager, uri, folder));
  gtk_window_present (dialog);
}

/**
 * sl_window_add_urls:
 * @self: a window
 * @urls: addresses to download
 *
 * Adds @urls through the daemon, or opens the add dialog for each when the preferences say
 * to ask where to save.
 */
void
sl_window_add_urls (SlWindow           *self,
                    const char * const *urls)
{
  SlDBusManager1 *manager;

  g_return_if_fail (SL_IS_WINDOW (self));

  if (urls == NULL || urls[0] == NULL)
    return;

  if (g_settings_get_boolean (self->settings, "ask-where-to-save"))
    {
      for (guint i = 0; urls[i] != NULL; i++)
        open_add_dialog (self, urls[i]);
      return;
    }

  manager = self->list ? sl_download_list_get_manager (self->list) : NULL;
  if (manager == NULL)
    {
      sl_window_show_error (self, _("The download service is not connected yet"));
      return;
    }

  for (guint i = 0; urls[i] != NULL; i++)
    {
      AddData *data = g_new0 (AddData, 1);

      g_weak_ref_init (&data->window, self);
      data->uri = g_strdup (urls[i]);
      sl_dbus_manager1_call_add (manager, urls[i], default_options (self), NULL, add_done_cb,
                                 data);
    }
}

static void
add_text (SlWindow   *self,
          const char *text)
{
  g_auto (GStrv) urls = sl_format_find_urls (text);

  if (urls[0] == NULL)
    {
      sl_window_show_error (self, _("There is no http or https link to download in the text"));
      return;
    }

  sl_window_add_urls (self, (const char * const *) urls);
}

/* Paste and drop */

static void
paste_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GWeakRef *weak = user_data;
  g_autoptr (SlWindow) self = g_weak_ref_get (weak);
  g_autoptr (GError) error = NULL;
  g_autofree char *text = gdk_clipboard_read_text_finish (GDK_CLIPBOARD (source), result, &error);

  g_weak_ref_clear (weak);
  g_free (weak);
  if (self == NULL)
    return;

  if (text == NULL)
    {
      sl_window_show_error (self, _("There is no link on the clipboard"));
      return;
    }

  add_text (self, text);
}

static void
paste_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  GWeakRef *weak = g_new0 (GWeakRef, 1);

  g_weak_ref_init (weak, widget);
  gdk_clipboard_read_text_async (gtk_widget_get_clipboard (widget), NULL, paste_done_cb, weak);
}

static gboolean
on_drop (GtkDropTarget *target,
         const GValue  *value,
         double         x,
         double         y,
         SlWindow      *self)
{
  if (!G_VALUE_HOLDS_STRING (value) || g_value_get_string (value) == NULL)
    return FALSE;

  add_text (self, g_value_get_string (value));
  return TRUE;
}

/* Actions */

static void
add_action (GtkWidget  *widget,
            const char *action_name,
            GVariant   *parameter)
{
  open_add_dialog (SL_WINDOW (widget), NULL);
}

static void
retry_connect_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  SlWindow *self = SL_WINDOW (widget);

  if (self->list != NULL && sl_download_list_get_error (self->list) != NULL)
    sl_download_list_retry (self->list);
}

static void
search_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  SlWindow *self = SL_WINDOW (widget);

  gtk_search_bar_set_search_mode (GTK_SEARCH_BAR (self->search_bar), TRUE);
  gtk_widget_grab_focus (self->search_entry);
}

static void
pause_all_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  SlWindow *self = SL_WINDOW (widget);
  SlDBusManager1 *manager = sl_download_list_get_manager (self->list);

  if (manager != NULL)
    sl_dbus_manager1_call_pause_all (manager, NULL, NULL, NULL);
}

static void
resume_all_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  SlWindow *self = SL_WINDOW (widget);
  SlDBusManager1 *manager = sl_download_list_get_manager (self->list);

  if (manager != NULL)
    sl_dbus_manager1_call_resume_all (manager, NULL, NULL, NULL);
}

static void
clear_finished_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  sl_download_list_clear_finished (SL_WINDOW (widget)->list);
}

static void
show_error_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  sl_window_show_error (SL_WINDOW (widget), g_variant_get_string (parameter, NULL));
}

static void
filter_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  sl_window_set_filter (SL_WINDOW (widget), g_variant_get_uint32 (parameter));
}

/* Enter on a row opens a completed file. */
static void
on_list_view_activate (GtkListView *list_view,
                       guint        position,
                       SlWindow    *self)
{
  g_autoptr (SlDBusDownload1) download = g_list_model_get_item (
    G_LIST_MODEL (self->filter_model), position);
  g_autofree char *path = NULL;

  if (download == NULL ||
      !sl_download_state_is (sl_dbus_download1_get_state (download), SL_DOWNLOAD_STATE_COMPLETED))
    return;

  path = g_build_filename (sl_dbus_download1_get_directory (download),
                           sl_dbus_download1_get_filename (download), NULL);
  gtk_widget_activate_action (GTK_WIDGET (self), "app.open-file", "s", path);
}

/* The row's keys. The list moves the focus onto its rows themselves (the list's own widgets,
 * each around an SlDownloadRow), and such a row takes Space for selection: keys pressed there
 * never reach the SlDownloadRow inside. They are passed to it first, so that its own bindings
 * (Space, Shift+Space, Delete, the menu keys) act as they do with the focus inside it. */
static gboolean
on_list_view_key_pressed (GtkEventControllerKey *controller,
                          guint                  keyval,
                          guint                  keycode,
                          GdkModifierType        state,
                          SlWindow              *self)
{
  GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (self));
  GtkWidget *row;

  if (focus == NULL || !gtk_widget_is_ancestor (focus, self->list_view))
    return FALSE;

  /* Within the row (one of its buttons), its bindings see the key anyway. */
  row = gtk_widget_get_first_child (focus);
  if (row == NULL || !SL_IS_DOWNLOAD_ROW (row))
    return FALSE;

  return gtk_event_controller_key_forward (controller, row);
}

/* GtkWindow */

static gboolean
sl_window_close_request (GtkWindow *window)
{
  SlWindow *self = SL_WINDOW (window);
  int width;
  int height;

  gtk_window_get_default_size (window, &width, &height);
  g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (window));
  if (!gtk_window_is_maximized (window))
    {
      g_settings_set_int (self->settings, "window-width", width);
      g_settings_set_int (self->settings, "window-height", height);
    }

  return GTK_WINDOW_CLASS (sl_window_parent_class)->close_request (window);
}

/* GObject */

/* The daemon went and was not started again: say why in place of the list; once one is back,
 * the list loads again. */
static void
on_list_error (SlWindow *self)
{
  const GError *error = sl_download_list_get_error (self->list);

  if (error != NULL)
    {
      sl_window_set_connect_error (self, error);
      /* The list can start the daemon again when asked. */
      gtk_widget_set_visible (self->retry_connect_button, TRUE);
      return;
    }

  gtk_widget_set_visible (self->retry_connect_button, FALSE);
  gtk_stack_set_visible_child_name (GTK_STACK (self->stack), "loading");
  update_page (self);
}

static void
sl_window_set_list (SlWindow       *self,
                    SlDownloadList *list)
{
  g_assert (self->list == NULL);

  if (list == NULL)
    return;

  self->list = g_object_ref (list);
  gtk_filter_list_model_set_model (self->filter_model, G_LIST_MODEL (list));
  g_signal_connect_object (list, "items-changed", G_CALLBACK (update_page), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (list, "notify::loaded", G_CALLBACK (update_page), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (list, "notify::error", G_CALLBACK (on_list_error), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (list, "download-changed", G_CALLBACK (on_download_changed), self, 0);
  update_page (self);
}

static void
sl_window_dispose (GObject *object)
{
  SlWindow *self = (SlWindow *) object;

  g_clear_handle_id (&self->refilter_source, g_source_remove);
  if (self->filter_model != NULL)
    gtk_filter_list_model_set_model (self->filter_model, NULL);
  g_clear_object (&self->list);

  gtk_widget_dispose_template (GTK_WIDGET (self), SL_TYPE_WINDOW);

  G_OBJECT_CLASS (sl_window_parent_class)->dispose (object);
}

static void
sl_window_finalize (GObject *object)
{
  SlWindow *self = (SlWindow *) object;

  g_clear_object (&self->settings);

  G_OBJECT_CLASS (sl_window_parent_class)->finalize (object);
}

static void
sl_window_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  SlWindow *self = SL_WINDOW (object);

  switch (prop_id)
    {
    case PROP_LIST:
      g_value_set_object (value, self->list);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_window_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  SlWindow *self = SL_WINDOW (object);

  switch (prop_id)
    {
    case PROP_LIST:
      sl_window_set_list (self, g_value_get_object (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_window_class_init (SlWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = sl_window_dispose;
  object_class->finalize = sl_window_finalize;
  object_class->get_property = sl_window_get_property;
  object_class->set_property = sl_window_set_property;
  window_class->close_request = sl_window_close_request;

  /**
   * SlWindow:list:
   *
   * The downloads the window shows.
   */
  properties[PROP_LIST] =
    g_param_spec_object ("list", NULL, NULL, SL_TYPE_DOWNLOAD_LIST,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (SL_TYPE_DOWNLOAD_ROW);
  g_type_ensure (SL_DBUS_TYPE_DOWNLOAD1);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/sluice/Sluice/sl-window.ui");
  gtk_widget_class_bind_template_child (widget_class, SlWindow, search_bar);
  gtk_widget_class_bind_template_child (widget_class, SlWindow, search_entry);
  gtk_widget_class_bind_template_child (widget_class, SlWindow, filter_dropdown);
  gtk_widget_class_bind_template_child (widget_class, SlWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, SlWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, SlWindow, spinner);
  gtk_widget_class_bind_template_child (widget_class, SlWindow, error_page);
  gtk_widget_class_bind_template_child (widget_class, SlWindow, retry_connect_button);
  gtk_widget_class_bind_template_child (widget_class, SlWindow, list_view);
  gtk_widget_class_bind_template_child (widget_class, SlWindow, filter_model);
  gtk_widget_class_bind_template_child (widget_class, SlWindow, state_filter);
  gtk_widget_class_bind_template_child (widget_class, SlWindow, text_filter);

  gtk_widget_class_install_action (widget_class, "win.add", NULL, add_action);
  gtk_widget_class_install_action (widget_class, "win.paste", NULL, paste_action);
  gtk_widget_class_install_action (widget_class, "win.search", NULL, search_action);
  gtk_widget_class_install_action (widget_class, "win.pause-all", NULL, pause_all_action);
  gtk_widget_class_install_action (widget_class, "win.resume-all", NULL, resume_all_action);
  gtk_widget_class_install_action (widget_class, "win.clear-finished", NULL,
                                   clear_finished_action);
  gtk_widget_class_install_action (widget_class, "win.show-error", "s", show_error_action);
  gtk_widget_class_install_action (widget_class, "win.filter", "u", filter_action);
  gtk_widget_class_install_action (widget_class, "win.retry-connect", NULL,
                                   retry_connect_action);

  /* Bubble phase: an entry with the focus pastes text into itself first. */
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_v, GDK_CONTROL_MASK, "win.paste",
                                       NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_n, GDK_CONTROL_MASK, "win.add",
                                       NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_f, GDK_CONTROL_MASK, "win.search",
                                       NULL);
  for (guint i = 0; i < 4; i++)
    gtk_widget_class_add_binding_action (widget_class, GDK_KEY_1 + i, GDK_ALT_MASK, "win.filter",
                                         "u", i);
}

static void
sl_window_init (SlWindow *self)
{
  GtkEventController *keys;
  GtkDropTarget *drop;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->settings = g_settings_new (SETTINGS_ID);
  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));

  gtk_custom_filter_set_filter_func (self->state_filter, state_matches, self, NULL);
  gtk_string_filter_set_expression (self->text_filter, search_text_expression ());
  g_signal_connect_object (self->filter_dropdown, "notify::selected",
                           G_CALLBACK (on_filter_selected), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->filter_model, "items-changed", G_CALLBACK (update_page), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->list_view, "activate", G_CALLBACK (on_list_view_activate), self,
                           0);
  keys = gtk_event_controller_key_new ();
  gtk_event_controller_set_propagation_phase (keys, GTK_PHASE_CAPTURE);
  g_signal_connect_object (keys, "key-pressed", G_CALLBACK (on_list_view_key_pressed), self, 0);
  gtk_widget_add_controller (self->list_view, keys);
  gtk_search_bar_set_key_capture_widget (GTK_SEARCH_BAR (self->search_bar), GTK_WIDGET (self));
  gtk_search_bar_connect_entry (GTK_SEARCH_BAR (self->search_bar),
                                GTK_EDITABLE (self->search_entry));

  drop = gtk_drop_target_new (G_TYPE_STRING, GDK_ACTION_COPY | GDK_ACTION_LINK);
  g_signal_connect_object (drop, "drop", G_CALLBACK (on_drop), self, 0);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));

  if (DEVELOPMENT_BUILD)
    gtk_widget_add_css_class (GTK_WIDGET (self), "devel");

  update_page (self);
}

/**
 * sl_window_new:
 * @application: the application
 * @list: the downloads to show
 *
 * Returns: (transfer none): a new window, owned by GTK's list of toplevels
 */
SlWindow *
sl_window_new (GtkApplication *application,
               SlDownloadList *list)
{
  return g_object_new (SL_TYPE_WINDOW, "application", application, "list", list, NULL);
}

SlDownloadList *
sl_window_get_list (SlWindow *self)
{
  g_return_val_if_fail (SL_IS_WINDOW (self), NULL);

  return self->list;
}

/**
 * sl_window_get_shown:
 * @self: a window
 *
 * Returns: (transfer none): the downloads that pass the filters, as the list shows them
 */
GListModel *
sl_window_get_shown (SlWindow *self)
{
  g_return_val_if_fail (SL_IS_WINDOW (self), NULL);

  return G_LIST_MODEL (self->filter_model);
}

/**
 * sl_window_get_page:
 * @self: a window
 *
 * Returns: what the window shows: "loading", "error", "empty", "no-results" or "list"
 */
const char *
sl_window_get_page (SlWindow *self)
{
  g_return_val_if_fail (SL_IS_WINDOW (self), NULL);

  return gtk_stack_get_visible_child_name (GTK_STACK (self->stack));
}

void
sl_window_set_filter (SlWindow       *self,
                      SlWindowFilter  filter)
{
  g_return_if_fail (SL_IS_WINDOW (self));
  g_return_if_fail (filter <= SL_WINDOW_FILTER_FAILED);

  gtk_drop_down_set_selected (GTK_DROP_DOWN (self->filter_dropdown), filter);
}

void
sl_window_set_search (SlWindow   *self,
                      const char *text)
{
  g_return_if_fail (SL_IS_WINDOW (self));

  gtk_search_bar_set_search_mode (GTK_SEARCH_BAR (self->search_bar), text && *text);
  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), text ? text : "");
}

/**
 * sl_window_show_error:
 * @self: a window
 * @message: what went wrong, one sentence
 *
 * Tells about a request that failed (an add that was refused, a paste without a link).
 * A download's own errors stay on its row instead.
 */
void
sl_window_show_error (SlWindow   *self,
                      const char *message)
{
  g_autofree char *escaped = NULL;
  AdwToast *toast;

  g_return_if_fail (SL_IS_WINDOW (self));

  /* A toast's title is markup; an address is full of ampersands. */
  escaped = g_markup_escape_text (message, -1);
  toast = adw_toast_new (escaped);
  adw_toast_set_timeout (toast, 8);
  adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (self->toast_overlay), toast);
}

/**
 * sl_window_set_connect_error:
 * @self: a window
 * @error: why the daemon cannot be reached
 *
 * Shows that the list cannot be loaded, and why, in place of the list.
 */
void
sl_window_set_connect_error (SlWindow     *self,
                             const GError *error)
{
  g_return_if_fail (SL_IS_WINDOW (self));
  g_return_if_fail (error != NULL);

  adw_status_page_set_description (ADW_STATUS_PAGE (self->error_page), error->message);
  gtk_spinner_set_spinning (GTK_SPINNER (self->spinner), FALSE);
  gtk_stack_set_visible_child_name (GTK_STACK (self->stack), "error");
}
