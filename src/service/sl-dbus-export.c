/* sl-dbus-export.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>

#include "sl-dbus-export.h"
#include "sl-dbus-generated.h"

/* SlDBusExport puts a session on the bus: the Manager1 skeleton on the manager's own object,
 * and one child object per download, carrying a Download1 skeleton, in a
 * GDBusObjectManagerServer. It follows the session's items-changed to add and remove objects,
 * and the downloads' notifications to update their properties.
 *
 * Property updates are coalesced: a notification only marks its object dirty, and dirty
 * objects are copied to their skeletons at most once per FLUSH_INTERVAL_MS by a timer that runs
 * only while something is dirty. Each copy becomes at most one PropertiesChanged (the generated
 * skeleton gathers the changes of one main loop iteration), so no object emits more than about
 * ten a second, whatever the download does. */

#define FLUSH_INTERVAL_MS 100

typedef struct
{
  SlDBusExport         *export;
  SlDownload           *download;
  char                 *object_path;
  SlDBusObjectSkeleton *object;
  SlDBusDownload1      *skeleton;
  gboolean              dirty;
} Item;

struct _SlDBusExport
{
  GObject                   parent_instance;

  GApplication             *application;  /* unowned: the application owns the export */
  SlSession                *session;
  GDBusObjectManagerServer *manager;
  SlDBusManager1           *manager_skeleton;
  char                     *object_path;

  GPtrArray                *items;        /* Item, in the session's order */
  GHashTable               *by_download;  /* SlDownload → Item */
  GPtrArray                *dirty;        /* Item */
  guint                     flush_source;
};

G_DEFINE_FINAL_TYPE (SlDBusExport, sl_dbus_export, G_TYPE_OBJECT)

/* Errors */

/* The names of the core's errors on the bus, so that a client can tell an unsupported scheme
 * from a missing folder without parsing the message. */
static const GDBusErrorEntry download_error_entries[] = {
  { SL_DOWNLOAD_ERROR_INVALID_URI, "org.sluice.Downloads.Error.InvalidUri" },
  { SL_DOWNLOAD_ERROR_UNSUPPORTED_SCHEME, "org.sluice.Downloads.Error.UnsupportedScheme" },
  { SL_DOWNLOAD_ERROR_NETWORK, "org.sluice.Downloads.Error.Network" },
  { SL_DOWNLOAD_ERROR_HTTP_STATUS, "org.sluice.Downloads.Error.HttpStatus" },
  { SL_DOWNLOAD_ERROR_BAD_RESPONSE, "org.sluice.Downloads.Error.BadResponse" },
  { SL_DOWNLOAD_ERROR_TOO_MANY_REDIRECTS, "org.sluice.Downloads.Error.TooManyRedirects" },
  { SL_DOWNLOAD_ERROR_FILE, "org.sluice.Downloads.Error.File" },
  { SL_DOWNLOAD_ERROR_CANCELLED, "org.sluice.Downloads.Error.Cancelled" },
  { SL_DOWNLOAD_ERROR_RESUME_DATA, "org.sluice.Downloads.Error.ResumeData" },
  { SL_DOWNLOAD_ERROR_CHECKSUM, "org.sluice.Downloads.Error.Checksum" },
  { SL_DOWNLOAD_ERROR_INVALID_ARGUMENT, "org.sluice.Downloads.Error.InvalidArgument" },
};

G_STATIC_ASSERT (G_N_ELEMENTS (download_error_entries) == SL_DOWNLOAD_ERROR_INVALID_ARGUMENT + 1);

static void
register_errors (void)
{
  static gsize quark = 0;

  g_dbus_error_register_error_domain (g_quark_to_string (SL_DOWNLOAD_ERROR), &quark,
                                      download_error_entries,
                                      G_N_ELEMENTS (download_error_entries));
}

/* Properties */

static const char *
state_to_string (SlDownloadState state)
{
  switch (state)
    {
    case SL_DOWNLOAD_STATE_QUEUED:
      return "queued";
    case SL_DOWNLOAD_STATE_RUNNING:
      return "running";
    case SL_DOWNLOAD_STATE_WAITING:
      return "waiting";
    case SL_DOWNLOAD_STATE_PAUSED:
      return "paused";
    case SL_DOWNLOAD_STATE_COMPLETED:
      return "completed";
    case SL_DOWNLOAD_STATE_FAILED:
      return "failed";
    case SL_DOWNLOAD_STATE_CANCELED:
      return "canceled";
    default:
      g_return_val_if_reached ("failed");
    }
}

static const char *
error_kind_to_string (SlErrorKind kind)
{
  switch (kind)
    {
    case SL_ERROR_KIND_NONE:
      return "";
    case SL_ERROR_KIND_NETWORK:
      return "network";
    case SL_ERROR_KIND_SERVER:
      return "server";
    case SL_ERROR_KIND_FILE:
      return "file";
    case SL_ERROR_KIND_USER:
      return "user";
    default:
      g_return_val_if_reached ("");
    }
}

/* Copies the download's state to its skeleton; the skeleton only signals what changed. */
static void
item_sync (Item *item)
{
  SlDownload *download = item->download;
  SlDBusDownload1 *skeleton = item->skeleton;
  GFile *directory = sl_download_get_directory (download);
  g_autofree char *directory_path = directory ? g_file_get_path (directory) : NULL;
  GFile *destination = sl_download_get_destination (download);
  const char *filename = sl_download_get_filename (download);
  const char *message = sl_download_get_error_message (download);
  g_autofree char *destination_name = NULL;

  /* A download restored as completed may only know its file. */
  if (filename == NULL && destination != NULL)
    filename = destination_name = g_file_get_basename (destination);

  item->dirty = FALSE;

  sl_dbus_download1_set_uri (skeleton, sl_download_get_uri (download));
  sl_dbus_download1_set_filename (skeleton, filename ? filename : "");
  sl_dbus_download1_set_directory (skeleton, directory_path ? directory_path : "");
  sl_dbus_download1_set_state (skeleton, state_to_string (sl_download_get_state (download)));
  sl_dbus_download1_set_bytes_received (skeleton,
                                        MAX (sl_download_get_bytes_received (download), 0));
  sl_dbus_download1_set_bytes_total (skeleton, sl_download_get_bytes_total (download));
  sl_dbus_download1_set_speed (skeleton, sl_download_get_speed (download));
  sl_dbus_download1_set_http_status (skeleton, sl_download_get_http_status (download));
  sl_dbus_download1_set_error_kind (skeleton,
                                    error_kind_to_string (sl_download_get_error_kind (download)));
  sl_dbus_download1_set_error (skeleton, message ? message : "");
}

static void
flush_dirty (SlDBusExport *self)
{
  for (guint i = 0; i < self->dirty->len; i++)
    item_sync (g_ptr_array_index (self->dirty, i));

  g_ptr_array_set_size (self->dirty, 0);
}

static gboolean
flush_cb (gpointer user_data)
{
  SlDBusExport *self = user_data;

  if (self->dirty->len == 0)
    {
      self->flush_source = 0;
      return G_SOURCE_REMOVE;
    }

  flush_dirty (self);
  return G_SOURCE_CONTINUE;
}

static gboolean
first_flush_cb (gpointer user_data)
{
  SlDBusExport *self = user_data;

  self->flush_source = g_timeout_add (FLUSH_INTERVAL_MS, flush_cb, self);
  flush_dirty (self);

  return G_SOURCE_REMOVE;
}

/* The first change after a quiet spell goes out from an idle, so that the other properties a
 * download changes together with it (an error with its state) go in the same signal; later
 * ones wait for the timer, which stops as soon as a tick finds nothing to do. */
static void
on_download_notify (SlDownload *download,
                    GParamSpec *pspec,
                    Item       *item)
{
  SlDBusExport *self = item->export;

  if (item->dirty)
    return;

  item->dirty = TRUE;
  g_ptr_array_add (self->dirty, item);

  if (self->flush_source == 0)
    self->flush_source = g_idle_add (first_flush_cb, self);
}

/* Method calls on a download */

/* Every handler holds the application while it runs, so that the inactivity timeout counts
 * from the last call. */
static void
hold (SlDBusExport *self)
{
  if (self->application != NULL)
    g_application_hold (self->application);
}

static void
release (SlDBusExport *self)
{
  if (self->application != NULL)
    g_application_release (self->application);
}

/* A client set MaxActive or MaxPerHost: the session takes them, clamped to what it allows. */
static void
on_limits_changed (SlDBusManager1 *skeleton,
                   GParamSpec     *pspec,
                   SlDBusExport   *self)
{
  guint max_active = CLAMP (sl_dbus_manager1_get_max_active (skeleton), 1, 256);
  guint max_per_host = CLAMP (sl_dbus_manager1_get_max_per_host (skeleton), 1, 256);

  if (self->session == NULL)
    return;

  sl_session_set_max_active (self->session, max_active);
  sl_session_set_max_per_host (self->session, max_per_host);
  if (sl_dbus_manager1_get_max_active (skeleton) != max_active)
    sl_dbus_manager1_set_max_active (skeleton, max_active);
  if (sl_dbus_manager1_get_max_per_host (skeleton) != max_per_host)
    sl_dbus_manager1_set_max_per_host (skeleton, max_per_host);
}

static gboolean
on_handle_pause (SlDBusDownload1       *skeleton,
                 GDBusMethodInvocation *invocation,
                 Item                  *item)
{
  SlDBusExport *self = item->export;

  hold (self);
  sl_session_pause (self->session, item->download);
  sl_dbus_download1_complete_pause (skeleton, invocation);
  release (self);

  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_handle_resume (SlDBusDownload1       *skeleton,
                  GDBusMethodInvocation *invocation,
                  Item                  *item)
{
  SlDBusExport *self = item->export;

  hold (self);
  sl_session_resume (self->session, item->download);
  sl_dbus_download1_complete_resume (skeleton, invocation);
  release (self);

  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_handle_cancel (SlDBusDownload1       *skeleton,
                  GDBusMethodInvocation *invocation,
                  Item                  *item)
{
  SlDBusExport *self = item->export;

  hold (self);
  sl_download_cancel (item->download);
  sl_dbus_download1_complete_cancel (skeleton, invocation);
  release (self);

  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_handle_remove (SlDBusDownload1       *skeleton,
                  GDBusMethodInvocation *invocation,
                  gboolean               delete_file,
                  Item                  *item)
{
  /* Removing the download frees @item through items-changed; keep what is needed after. */
  SlDBusExport *self = item->export;
  g_autoptr (SlDBusDownload1) keep = g_object_ref (skeleton);
  g_autoptr (SlDownload) download = g_object_ref (item->download);

  hold (self);
  sl_session_remove (self->session, download, delete_file);
  sl_dbus_download1_complete_remove (keep, invocation);
  release (self);

  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_handle_refresh_link (SlDBusDownload1       *skeleton,
                        GDBusMethodInvocation *invocation,
                        const char            *uri,
                        Item                  *item)
{
  SlDBusExport *self = item->export;
  g_autoptr (GError) error = NULL;
  SlDownloadState state = sl_download_get_state (item->download);

  hold (self);
  if (!sl_download_refresh_link (item->download, uri, &error))
    g_dbus_method_invocation_return_gerror (invocation, error);
  else
    {
      /* A download that stopped on the old link goes on with the new one; a paused one
       * stays paused until resumed. */
      if (state == SL_DOWNLOAD_STATE_FAILED || state == SL_DOWNLOAD_STATE_WAITING)
        sl_session_resume (self->session, item->download);
      sl_dbus_download1_complete_refresh_link (skeleton, invocation);
    }
  release (self);

  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Download objects */

static Item *
item_new (SlDBusExport *self,
          SlDownload   *download)
{
  Item *item = g_new0 (Item, 1);

  item->export = self;
  item->download = g_object_ref (download);
  item->object_path = g_strdup_printf ("%s/%" G_GINT64_FORMAT, self->object_path,
                                       sl_session_get_id (self->session, download));
  item->skeleton = sl_dbus_download1_skeleton_new ();
  item_sync (item);

  g_signal_connect (item->skeleton, "handle-pause", G_CALLBACK (on_handle_pause), item);
  g_signal_connect (item->skeleton, "handle-resume", G_CALLBACK (on_handle_resume), item);
  g_signal_connect (item->skeleton, "handle-cancel", G_CALLBACK (on_handle_cancel), item);
  g_signal_connect (item->skeleton, "handle-remove", G_CALLBACK (on_handle_remove), item);
  g_signal_connect (item->skeleton, "handle-refresh-link",
                    G_CALLBACK (on_handle_refresh_link), item);
  g_signal_connect (download, "notify", G_CALLBACK (on_download_notify), item);

  item->object = sl_dbus_object_skeleton_new (item->object_path);
  sl_dbus_object_skeleton_set_download1 (item->object, item->skeleton);
  g_dbus_object_manager_server_export (self->manager, G_DBUS_OBJECT_SKELETON (item->object));

  g_hash_table_insert (self->by_download, download, item);

  return item;
}

static void
item_free (Item *item)
{
  SlDBusExport *self = item->export;

  if (item->dirty)
    g_ptr_array_remove_fast (self->dirty, item);

  g_hash_table_remove (self->by_download, item->download);
  g_signal_handlers_disconnect_by_data (item->download, item);
  g_signal_handlers_disconnect_by_data (item->skeleton, item);
  g_dbus_object_manager_server_unexport (self->manager, item->object_path);

  g_object_unref (item->object);
  g_object_unref (item->skeleton);
  g_object_unref (item->download);
  g_free (item->object_path);
  g_free (item);
}

/* Follows the session. A move comes as a removal and an addition of the same downloads,
 * which keep their objects rather than leaving and coming back. */
static void
on_items_changed (GListModel   *model,
                  guint         position,
                  guint         removed,
                  guint         added,
                  SlDBusExport *self)
{
  g_autoptr (GHashTable) gone = g_hash_table_new (NULL, NULL);
  GHashTableIter iter;
  Item *item;

  /* Unregistered: there is nothing on the bus to update, and registering exports them all. */
  if (self->manager == NULL)
    return;

  for (guint i = 0; i < removed; i++)
    {
      item = g_ptr_array_index (self->items, position + i);
      g_hash_table_insert (gone, item->download, item);
    }
  g_ptr_array_remove_range (self->items, position, removed);

  for (guint i = 0; i < added; i++)
    {
      g_autoptr (SlDownload) download = g_list_model_get_item (model, position + i);

      item = g_hash_table_lookup (gone, download);
      if (item != NULL)
        g_hash_table_remove (gone, download);
      else
        item = item_new (self, download);

      g_ptr_array_insert (self->items, position + i, item);
    }

  g_hash_table_iter_init (&iter, gone);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &item))
    item_free (item);
}

static void
clear_items (SlDBusExport *self)
{
  while (self->items->len > 0)
    item_free (g_ptr_array_steal_index (self->items, self->items->len - 1));

  g_clear_handle_id (&self->flush_source, g_source_remove);
}

/* Method calls on the manager */

static gboolean
check_session (SlDBusExport          *self,
               GDBusMethodInvocation *invocation)
{
  if (self->session != NULL)
    return TRUE;

  g_dbus_method_invocation_return_error_literal (invocation, G_DBUS_ERROR, G_DBUS_ERROR_FAILED,
                                                 _("The download list is not loaded"));
  return FALSE;
}

static gboolean
on_handle_add (SlDBusManager1        *skeleton,
               GDBusMethodInvocation *invocation,
               const char            *uri,
               GVariant              *options,
               SlDBusExport          *self)
{
  g_autoptr (GError) error = NULL;
  SlDownload *download;

  hold (self);

  if (check_session (self, invocation))
    {
      download = sl_session_add (self->session, uri, options, &error);
      if (download == NULL)
        g_dbus_method_invocation_return_gerror (invocation, error);
      else
        {
          const char *path = sl_dbus_export_lookup_path (self, download);

          g_assert (path != NULL);
          sl_dbus_manager1_complete_add (skeleton, invocation, path);
        }
    }

  release (self);

  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_handle_pause_all (SlDBusManager1        *skeleton,
                     GDBusMethodInvocation *invocation,
                     SlDBusExport          *self)
{
  hold (self);

  if (check_session (self, invocation))
    {
      sl_session_pause_all (self->session);
      sl_dbus_manager1_complete_pause_all (skeleton, invocation);
    }

  release (self);

  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_handle_resume_all (SlDBusManager1        *skeleton,
                      GDBusMethodInvocation *invocation,
                      SlDBusExport          *self)
{
  hold (self);

  if (check_session (self, invocation))
    {
      sl_session_resume_all (self->session);
      sl_dbus_manager1_complete_resume_all (skeleton, invocation);
    }

  release (self);

  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* GObject */

static void
sl_dbus_export_dispose (GObject *object)
{
  SlDBusExport *self = (SlDBusExport *) object;

  sl_dbus_export_unregister (self);

  if (self->session != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->session, self);
      clear_items (self);
      g_clear_object (&self->session);
    }

  if (self->manager_skeleton != NULL)
    g_signal_handlers_disconnect_by_data (self->manager_skeleton, self);
  g_clear_object (&self->manager_skeleton);
  g_clear_object (&self->manager);

  G_OBJECT_CLASS (sl_dbus_export_parent_class)->dispose (object);
}

static void
sl_dbus_export_finalize (GObject *object)
{
  SlDBusExport *self = (SlDBusExport *) object;

  g_ptr_array_unref (self->items);
  g_ptr_array_unref (self->dirty);
  g_hash_table_unref (self->by_download);
  g_free (self->object_path);

  G_OBJECT_CLASS (sl_dbus_export_parent_class)->finalize (object);
}

static void
sl_dbus_export_class_init (SlDBusExportClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sl_dbus_export_dispose;
  object_class->finalize = sl_dbus_export_finalize;

  register_errors ();
}

static void
sl_dbus_export_init (SlDBusExport *self)
{
  self->items = g_ptr_array_new ();
  self->dirty = g_ptr_array_new ();
  self->by_download = g_hash_table_new (NULL, NULL);
}

/**
 * sl_dbus_export_new:
 * @application: (nullable): the application to hold while a method call runs; it must
 *   outlive the export
 *
 * Creates an export with nothing on the bus yet: see sl_dbus_export_register() and
 * sl_dbus_export_set_session().
 *
 * Returns: (transfer full): a new export
 */
SlDBusExport *
sl_dbus_export_new (GApplication *application)
{
  SlDBusExport *self;

  g_return_val_if_fail (application == NULL || G_IS_APPLICATION (application), NULL);

  self = g_object_new (SL_TYPE_DBUS_EXPORT, NULL);
  self->application = application;

  return self;
}

/**
 * sl_dbus_export_register:
 * @self: an export
 * @connection: the bus
 * @object_path: the manager's object path, such as `/org/sluice/Downloads`
 * @error: return location for an error
 *
 * Exports the Manager1 interface and an object manager at @object_path, and the downloads
 * as its children. Call sl_dbus_export_unregister() before registering again.
 *
 * Returns: whether everything is exported
 */
gboolean
sl_dbus_export_register (SlDBusExport     *self,
                         GDBusConnection  *connection,
                         const char       *object_path,
                         GError          **error)
{
  g_autoptr (SlDBusManager1) manager_skeleton = NULL;

  g_return_val_if_fail (SL_IS_DBUS_EXPORT (self), FALSE);
  g_return_val_if_fail (G_IS_DBUS_CONNECTION (connection), FALSE);
  g_return_val_if_fail (g_variant_is_object_path (object_path), FALSE);
  g_return_val_if_fail (self->manager == NULL, FALSE);

  manager_skeleton = sl_dbus_manager1_skeleton_new ();
  if (self->session != NULL)
    {
      sl_dbus_manager1_set_max_active (manager_skeleton, sl_session_get_max_active (self->session));
      sl_dbus_manager1_set_max_per_host (manager_skeleton,
                                         sl_session_get_max_per_host (self->session));
    }
  g_signal_connect (manager_skeleton, "notify::max-active", G_CALLBACK (on_limits_changed), self);
  g_signal_connect (manager_skeleton, "notify::max-per-host", G_CALLBACK (on_limits_changed),
                    self);
  g_signal_connect (manager_skeleton, "handle-add", G_CALLBACK (on_handle_add), self);
  g_signal_connect (manager_skeleton, "handle-pause-all", G_CALLBACK (on_handle_pause_all), self);
  g_signal_connect (manager_skeleton, "handle-resume-all",
                    G_CALLBACK (on_handle_resume_all), self);

  /* The manager's own path cannot hold one of its objects, so Manager1 is exported on its
   * own beside the object manager. */
  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (manager_skeleton),
                                         connection, object_path, error))
    {
      g_signal_handlers_disconnect_by_data (manager_skeleton, self);
      return FALSE;
    }

  g_free (self->object_path);
  self->object_path = g_strdup (object_path);
  self->manager_skeleton = g_steal_pointer (&manager_skeleton);
  self->manager = g_dbus_object_manager_server_new (object_path);

  /* Objects exported before the manager goes on the bus go together, without one
   * InterfacesAdded signal each: with a long list that is most of the start-up time. */
  if (self->session != NULL)
    on_items_changed (G_LIST_MODEL (self->session), 0, 0,
                      g_list_model_get_n_items (G_LIST_MODEL (self->session)), self);
  g_dbus_object_manager_server_set_connection (self->manager, connection);

  return TRUE;
}

/**
 * sl_dbus_export_unregister:
 * @self: an export
 *
 * Takes everything @self exported off the bus. Safe to call when nothing is exported.
 */
void
sl_dbus_export_unregister (SlDBusExport *self)
{
  g_return_if_fail (SL_IS_DBUS_EXPORT (self));

  if (self->manager_skeleton != NULL)
    {
      g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (self->manager_skeleton));
      g_signal_handlers_disconnect_by_data (self->manager_skeleton, self);
      g_clear_object (&self->manager_skeleton);
    }

  if (self->manager != NULL)
    {
      clear_items (self);
      g_dbus_object_manager_server_set_connection (self->manager, NULL);
      g_clear_object (&self->manager);
    }
}

/**
 * sl_dbus_export_set_session:
 * @self: an export
 * @session: (nullable): the session to export
 *
 * Exports the downloads of @session, and follows them from now on.
 */
void
sl_dbus_export_set_session (SlDBusExport *self,
                            SlSession    *session)
{
  g_return_if_fail (SL_IS_DBUS_EXPORT (self));
  g_return_if_fail (session == NULL || SL_IS_SESSION (session));

  if (self->session == session)
    return;

  if (self->session != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->session, self);
      clear_items (self);
      g_clear_object (&self->session);
    }

  if (session == NULL)
    return;

  self->session = g_object_ref (session);
  g_signal_connect (session, "items-changed", G_CALLBACK (on_items_changed), self);

  /* Without a manager there is nowhere to put the objects yet: registering makes them. */
  if (self->manager != NULL)
    {
      on_items_changed (G_LIST_MODEL (session), 0, 0,
                        g_list_model_get_n_items (G_LIST_MODEL (session)), self);
    }
}

/**
 * sl_dbus_export_lookup_path:
 * @self: an export
 * @download: a download of the exported session
 *
 * Returns: (nullable): the object path of @download, or %NULL if it is not exported
 */
const char *
sl_dbus_export_lookup_path (SlDBusExport *self,
                            SlDownload   *download)
{
  Item *item;

  g_return_val_if_fail (SL_IS_DBUS_EXPORT (self), NULL);

  item = g_hash_table_lookup (self->by_download, download);
  return item ? item->object_path : NULL;
}
