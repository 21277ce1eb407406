/* sl-download-list.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>

#include "sl-daemon-spawn.h"
#include "sl-download-list.h"
#include "sl-states.h"

/* SlDownloadList is the daemon's download list as a GListModel of SlDBusDownload1 proxies,
 * newest first: the object manager client's objects, which notify their properties as
 * PropertiesChanged arrives, so rows bind to them and nothing polls.
 *
 * Connecting makes sure sluiced runs (D-Bus activation where it is installed, else the binary
 * from the build tree or $SLUICED), then loads every object with one GetManagedObjects and
 * adds them all in one items-changed. While connected, the list asks the daemon to stay
 * (Manager1.Hold), so that it does not exit for inactivity under an open window.
 *
 * Should the daemon go (a crash, a kill), the list empties and says it is not loaded, starts
 * the daemon again the same way, and loads the downloads the new daemon found in its store,
 * again in one items-changed; a daemon that keeps going (more than MAX_RESTARTS times in
 * RESTART_WINDOW_S) or cannot be started is not started again, and the list says why in
 * SlDownloadList:error until a daemon comes back by other means. */

#define BUS_NAME        "org.sluice.Downloads"
#define MANAGER_PATH    "/org/sluice/Downloads"
#define DOWNLOAD_IFACE  "org.sluice.Downloads.Download1"
#define START_TIMEOUT_S 10
#define MAX_RESTARTS     3
#define RESTART_WINDOW_S 60

struct _SlDownloadList
{
  GObject             parent_instance;

  GDBusConnection    *connection;
  GListStore         *store;     /* SlDBusDownload1, newest first */
  GDBusObjectManager *objects;
  SlDBusManager1     *manager;
  gboolean            loaded;

  /* Starting the daemon again after it went */
  GError             *error;
  guint               restart_timeout_id;
  guint               restarts;
  gint64              restarts_since;
};

static void list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (SlDownloadList, sl_download_list, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

enum
{
  PROP_0,
  PROP_LOADED,
  PROP_MANAGER,
  PROP_ERROR,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum
{
  DOWNLOAD_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* GListModel */

static GType
get_item_type (GListModel *model)
{
  return SL_DBUS_TYPE_DOWNLOAD1;
}

static guint
get_n_items (GListModel *model)
{
  SlDownloadList *self = SL_DOWNLOAD_LIST (model);

  return g_list_model_get_n_items (G_LIST_MODEL (self->store));
}

static gpointer
get_item (GListModel *model,
          guint       position)
{
  SlDownloadList *self = SL_DOWNLOAD_LIST (model);

  return g_list_model_get_item (G_LIST_MODEL (self->store), position);
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = get_item_type;
  iface->get_n_items = get_n_items;
  iface->get_item = get_item;
}

static void
on_store_items_changed (GListModel     *store,
                        guint           position,
                        guint           removed,
                        guint           added,
                        SlDownloadList *self)
{
  g_list_model_items_changed (G_LIST_MODEL (self), position, removed, added);
}

/* Order */

/* The id is the last element of the object path; ids grow as downloads are added. */
static gint64
download_id (SlDBusDownload1 *download)
{
  const char *path = g_dbus_proxy_get_object_path (G_DBUS_PROXY (download));
  const char *last = strrchr (path, '/');

  return last ? g_ascii_strtoll (last + 1, NULL, 10) : 0;
}

static int
compare_newest_first (gconstpointer a,
                      gconstpointer b)
{
  gint64 id_a = download_id (*(SlDBusDownload1 **) a);
  gint64 id_b = download_id (*(SlDBusDownload1 **) b);

  return (id_a < id_b) - (id_a > id_b);
}

/* Where a download goes to keep the newest first: a binary search, as new ones go first. */
static guint
insertion_position (SlDownloadList  *self,
                    SlDBusDownload1 *download)
{
  gint64 id = download_id (download);
  guint low = 0;
  guint high = g_list_model_get_n_items (G_LIST_MODEL (self->store));

  while (low < high)
    {
      guint middle = low + (high - low) / 2;
      g_autoptr (SlDBusDownload1) other = g_list_model_get_item (G_LIST_MODEL (self->store),
                                                                 middle);

      if (download_id (other) > id)
        low = middle + 1;
      else
        high = middle;
    }

  return low;
}

/* Following the daemon */

static SlDBusDownload1 *
object_download (GDBusObject *object)
{
  GDBusInterface *iface = g_dbus_object_get_interface (object, DOWNLOAD_IFACE);

  return iface ? SL_DBUS_DOWNLOAD1 (iface) : NULL;
}

static void
on_object_added (GDBusObjectManager *objects,
                 GDBusObject        *object,
                 SlDownloadList     *self)
{
  g_autoptr (SlDBusDownload1) download = object_download (object);

  /* A daemon that came back announces all of its downloads: they are loaded at once. */
  if (download == NULL || !self->loaded)
    return;

  g_list_store_insert (self->store, insertion_position (self, download), download);
}

static void
on_object_removed (GDBusObjectManager *objects,
                   GDBusObject        *object,
                   SlDownloadList     *self)
{
  g_autoptr (SlDBusDownload1) download = object_download (object);
  guint position;

  if (download != NULL && g_list_store_find (self->store, download, &position))
    g_list_store_remove (self->store, position);
}

static void
on_properties_changed (GDBusObjectManagerClient *objects,
                       GDBusObjectProxy         *object,
                       GDBusProxy               *proxy,
                       GVariant                 *changed,
                       GStrv                     invalidated,
                       SlDownloadList           *self)
{
  if (SL_DBUS_IS_DOWNLOAD1 (proxy))
    g_signal_emit (self, signals[DOWNLOAD_CHANGED], 0, proxy, changed);
}

static void
hold_daemon (SlDownloadList *self)
{
  /* Best effort: an older daemon without Hold only exits sooner. */
  sl_dbus_manager1_call_hold (self->manager, NULL, NULL, NULL);
}

/* Every download of the object manager client, newest first, in one items-changed. */
static void
fill (SlDownloadList *self)
{
  g_autolist (GDBusObject) objects = g_dbus_object_manager_get_objects (self->objects);
  g_autoptr (GPtrArray) downloads = g_ptr_array_new_with_free_func (g_object_unref);

  for (GList *l = objects; l != NULL; l = l->next)
    {
      SlDBusDownload1 *download = object_download (l->data);

      if (download != NULL)
        g_ptr_array_add (downloads, download);
    }
  g_ptr_array_sort (downloads, compare_newest_first);

  g_list_store_splice (self->store, 0, g_list_model_get_n_items (G_LIST_MODEL (self->store)),
                       downloads->pdata, downloads->len);

  self->loaded = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADED]);
}

static void
set_error (SlDownloadList *self,
           GError         *error)
{
  g_clear_handle_id (&self->restart_timeout_id, g_source_remove);
  g_clear_error (&self->error);
  self->error = error;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR]);
}

static gboolean
restart_timeout_cb (gpointer user_data)
{
  SlDownloadList *self = user_data;

  self->restart_timeout_id = 0;
  set_error (self, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                                        _("The download service stopped and did not start "
                                          "again")));
  return G_SOURCE_REMOVE;
}

static void
restart_service_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr (SlDownloadList) self = user_data;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) spawn_error = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, NULL);
  /* Came back meanwhile, or gone for good (disposed). */
  if (self->loaded || self->objects == NULL || self->restart_timeout_id == 0)
    return;

  /* Not installed: from the build tree, as when connecting. */
  if (reply == NULL && !sl_daemon_spawn (NULL, &spawn_error))
    set_error (self, g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED,
                                  _("The download service stopped and cannot be started "
                                    "again: %s"),
                                  spawn_error->message));
}

/* The daemon went: start it again, unless it keeps going. The object manager client loads
 * the new daemon's objects by itself and says so through its name owner. */
static void
restart_daemon (SlDownloadList *self)
{
  gint64 now = g_get_monotonic_time ();

  if (self->restarts == 0 || now - self->restarts_since > RESTART_WINDOW_S * G_USEC_PER_SEC)
    {
      self->restarts = 0;
      self->restarts_since = now;
    }
  if (++self->restarts > MAX_RESTARTS)
    {
      set_error (self, g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED,
                                    ngettext ("The download service stopped %u time in a "
                                              "minute and is not started again",
                                              "The download service stopped %u times in a "
                                              "minute and is not started again",
                                              self->restarts),
                                    self->restarts));
      return;
    }

  g_clear_handle_id (&self->restart_timeout_id, g_source_remove);
  self->restart_timeout_id = g_timeout_add_seconds (START_TIMEOUT_S, restart_timeout_cb, self);
  g_dbus_connection_call (self->connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                          "org.freedesktop.DBus", "StartServiceByName",
                          g_variant_new ("(su)", BUS_NAME, 0), G_VARIANT_TYPE ("(u)"),
                          G_DBUS_CALL_FLAGS_NONE, START_TIMEOUT_S * 1000, NULL,
                          restart_service_cb, g_object_ref (self));
}

/* The daemon went, or came back (started again, or by another client). */
static void
on_name_owner_changed (GObject        *objects,
                       GParamSpec     *pspec,
                       SlDownloadList *self)
{
  g_autofree char *owner = g_dbus_object_manager_client_get_name_owner (
    G_DBUS_OBJECT_MANAGER_CLIENT (objects));

  if (owner == NULL)
    {
      /* Its objects go next, one by one: the list empties at once instead. */
      if (!self->loaded)
        return;
      self->loaded = FALSE;
      g_list_store_remove_all (self->store);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADED]);
      restart_daemon (self);
      return;
    }

  /* Its objects came before this: all of them at once, and ask the new daemon to stay. */
  if (self->error != NULL || self->restart_timeout_id != 0)
    set_error (self, NULL);
  if (!self->loaded)
    fill (self);
  hold_daemon (self);
}

static void
load (SlDownloadList *self)
{
  g_signal_connect_object (self->objects, "object-added", G_CALLBACK (on_object_added), self, 0);
  g_signal_connect_object (self->objects, "object-removed", G_CALLBACK (on_object_removed),
                           self, 0);
  g_signal_connect_object (self->objects, "interface-proxy-properties-changed",
                           G_CALLBACK (on_properties_changed), self, 0);
  g_signal_connect_object (self->objects, "notify::name-owner",
                           G_CALLBACK (on_name_owner_changed), self, 0);
  fill (self);
}

/* Connecting: make sure the daemon runs, then a proxy for the manager, then the objects. */

typedef struct
{
  guint watch_id;
  guint timeout_id;
} ConnectData;

static void
connect_data_free (ConnectData *data)
{
  g_clear_handle_id (&data->watch_id, g_bus_unwatch_name);
  g_clear_handle_id (&data->timeout_id, g_source_remove);
  g_free (data);
}

static void
objects_ready_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr (GTask) task = user_data;
  SlDownloadList *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;

  self->objects = sl_dbus_object_manager_client_new_finish (result, &error);
  if (self->objects == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  load (self);
  hold_daemon (self);
  g_task_return_boolean (task, TRUE);
}

static void
manager_ready_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr (GTask) task = user_data;
  SlDownloadList *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;

  self->manager = sl_dbus_manager1_proxy_new_finish (result, &error);
  if (self->manager == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MANAGER]);

  if (g_task_return_error_if_cancelled (task))
    return;

  sl_dbus_object_manager_client_new (self->connection,
                                     G_DBUS_OBJECT_MANAGER_CLIENT_FLAGS_DO_NOT_AUTO_START,
                                     BUS_NAME, MANAGER_PATH, g_task_get_cancellable (task),
                                     objects_ready_cb, g_object_ref (task));
}

static void
daemon_running (GTask *task)
{
  SlDownloadList *self = g_task_get_source_object (task);

  if (g_task_return_error_if_cancelled (task))
    return;

  sl_dbus_manager1_proxy_new (self->connection, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                              BUS_NAME, MANAGER_PATH, g_task_get_cancellable (task),
                              manager_ready_cb, g_object_ref (task));
}

static void
on_name_appeared (GDBusConnection *connection,
                  const char      *name,
                  const char      *owner,
                  gpointer         user_data)
{
  GTask *task = user_data;
  ConnectData *data = g_task_get_task_data (task);

  /* The watch holds the last reference: keep the task while it goes. */
  g_object_ref (task);
  g_clear_handle_id (&data->timeout_id, g_source_remove);
  g_clear_handle_id (&data->watch_id, g_bus_unwatch_name);
  daemon_running (task);
  g_object_unref (task);
}

static gboolean
start_timeout_cb (gpointer user_data)
{
  GTask *task = user_data;
  ConnectData *data = g_task_get_task_data (task);

  data->timeout_id = 0;
  g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                           _("The download service did not start"));
  g_clear_handle_id (&data->watch_id, g_bus_unwatch_name);

  return G_SOURCE_REMOVE;
}

static void
start_service_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr (GTask) task = user_data;
  SlDownloadList *self = g_task_get_source_object (task);
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) spawn_error = NULL;
  ConnectData *data;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply != NULL)
    {
      daemon_running (task);
      return;
    }

  /* Not installed: start it from the build tree; it outlives the window. */
  if (!sl_daemon_spawn (NULL, &spawn_error))
    {
      if (g_error_matches (spawn_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                                 _("The download service is not installed: %s"),
                                 error->message);
      else
        g_task_return_error (task, g_steal_pointer (&spawn_error));
      return;
    }

  data = g_new0 (ConnectData, 1);
  g_task_set_task_data (task, data, (GDestroyNotify) connect_data_free);
  data->timeout_id = g_timeout_add_seconds (START_TIMEOUT_S, start_timeout_cb, task);
  data->watch_id = g_bus_watch_name_on_connection (self->connection, BUS_NAME,
                                                   G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                   on_name_appeared, NULL,
                                                   g_object_ref (task), g_object_unref);
}

/* The bus only starts services it has a file for, and says so even when the name has an
 * owner: ask for the owner first. */
static void
get_owner_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GVariant) reply = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, NULL);
  if (reply != NULL)
    {
      daemon_running (task);
      return;
    }

  g_dbus_connection_call (G_DBUS_CONNECTION (source), "org.freedesktop.DBus",
                          "/org/freedesktop/DBus", "org.freedesktop.DBus", "StartServiceByName",
                          g_variant_new ("(su)", BUS_NAME, 0), G_VARIANT_TYPE ("(u)"),
                          G_DBUS_CALL_FLAGS_NONE, START_TIMEOUT_S * 1000,
                          g_task_get_cancellable (task), start_service_cb, g_object_ref (task));
}

/**
 * sl_download_list_connect_async:
 * @self: a download list
 * @cancellable: (nullable): a cancellable
 * @callback: called when the list is loaded, or cannot be
 * @user_data: data for @callback
 *
 * Starts the daemon if needed and loads its downloads into @self.
 */
void
sl_download_list_connect_async (SlDownloadList      *self,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (SL_IS_DOWNLOAD_LIST (self));
  g_return_if_fail (self->objects == NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sl_download_list_connect_async);

  g_dbus_connection_call (self->connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                          "org.freedesktop.DBus", "GetNameOwner", g_variant_new ("(s)", BUS_NAME),
                          G_VARIANT_TYPE ("(s)"), G_DBUS_CALL_FLAGS_NONE, -1, cancellable,
                          get_owner_cb, g_steal_pointer (&task));
}

/**
 * sl_download_list_connect_finish:
 * @self: a download list
 * @result: the result
 * @error: return location for an error
 *
 * Returns: whether the list is loaded and follows the daemon
 */
gboolean
sl_download_list_connect_finish (SlDownloadList  *self,
                                 GAsyncResult    *result,
                                 GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* GObject */

static void
sl_download_list_dispose (GObject *object)
{
  SlDownloadList *self = (SlDownloadList *) object;

  if (self->manager != NULL)
    sl_dbus_manager1_call_release (self->manager, NULL, NULL, NULL);

  g_clear_handle_id (&self->restart_timeout_id, g_source_remove);
  g_clear_object (&self->objects);
  g_clear_object (&self->manager);
  g_clear_object (&self->connection);

  G_OBJECT_CLASS (sl_download_list_parent_class)->dispose (object);
}

static void
sl_download_list_finalize (GObject *object)
{
  SlDownloadList *self = (SlDownloadList *) object;

  g_clear_object (&self->store);
  g_clear_error (&self->error);

  G_OBJECT_CLASS (sl_download_list_parent_class)->finalize (object);
}

static void
sl_download_list_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  SlDownloadList *self = SL_DOWNLOAD_LIST (object);

  switch (prop_id)
    {
    case PROP_LOADED:
      g_value_set_boolean (value, self->loaded);
      break;

    case PROP_MANAGER:
      g_value_set_object (value, self->manager);
      break;

    case PROP_ERROR:
      g_value_set_boxed (value, self->error);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_download_list_class_init (SlDownloadListClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sl_download_list_dispose;
  object_class->finalize = sl_download_list_finalize;
  object_class->get_property = sl_download_list_get_property;

  /**
   * SlDownloadList:loaded:
   *
   * Whether the daemon's downloads are in the list.
   */
  properties[PROP_LOADED] =
    g_param_spec_boolean ("loaded", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * SlDownloadList:manager:
   *
   * The daemon's Manager1, once connected.
   */
  properties[PROP_MANAGER] =
    g_param_spec_object ("manager", NULL, NULL, SL_DBUS_TYPE_MANAGER1,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * SlDownloadList:error:
   *
   * Why the daemon, which went, was not started again; %NULL while it runs or is starting.
   */
  properties[PROP_ERROR] =
    g_param_spec_boxed ("error", NULL, NULL, G_TYPE_ERROR,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * SlDownloadList::download-changed:
   * @self: the list
   * @download: the download whose properties changed
   * @changed: (type GVariant): the changed properties, as a{sv}
   *
   * Emitted after @download's properties took the values in @changed.
   */
  signals[DOWNLOAD_CHANGED] =
    g_signal_new ("download-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                  NULL, NULL, G_TYPE_NONE, 2, SL_DBUS_TYPE_DOWNLOAD1, G_TYPE_VARIANT);
}

static void
sl_download_list_init (SlDownloadList *self)
{
  self->store = g_list_store_new (SL_DBUS_TYPE_DOWNLOAD1);
  g_signal_connect (self->store, "items-changed", G_CALLBACK (on_store_items_changed), self);
}

/**
 * sl_download_list_new:
 * @connection: the session bus
 *
 * Returns: (transfer full): an empty list; see sl_download_list_connect_async()
 */
SlDownloadList *
sl_download_list_new (GDBusConnection *connection)
{
  SlDownloadList *self;

  g_return_val_if_fail (G_IS_DBUS_CONNECTION (connection), NULL);

  self = g_object_new (SL_TYPE_DOWNLOAD_LIST, NULL);
  self->connection = g_object_ref (connection);

  return self;
}

gboolean
sl_download_list_get_loaded (SlDownloadList *self)
{
  g_return_val_if_fail (SL_IS_DOWNLOAD_LIST (self), FALSE);

  return self->loaded;
}

/**
 * sl_download_list_get_error:
 * @self: a download list
 *
 * Returns: (transfer none) (nullable): why the daemon, which went, was not started again
 */
const GError *
sl_download_list_get_error (SlDownloadList *self)
{
  g_return_val_if_fail (SL_IS_DOWNLOAD_LIST (self), NULL);

  return self->error;
}

/**
 * sl_download_list_retry:
 * @self: a download list whose daemon went and was not started again
 *
 * Starts the daemon again, as if it had just gone; the count of restarts starts afresh.
 */
void
sl_download_list_retry (SlDownloadList *self)
{
  g_return_if_fail (SL_IS_DOWNLOAD_LIST (self));
  g_return_if_fail (self->objects != NULL && !self->loaded);

  self->restarts = 0;
  set_error (self, NULL);
  restart_daemon (self);
}

/**
 * sl_download_list_get_manager:
 * @self: a download list
 *
 * Returns: (transfer none) (nullable): the daemon's Manager1, or %NULL before connecting
 */
SlDBusManager1 *
sl_download_list_get_manager (SlDownloadList *self)
{
  g_return_val_if_fail (SL_IS_DOWNLOAD_LIST (self), NULL);

  return self->manager;
}

/**
 * sl_download_list_lookup:
 * @self: a download list
 * @object_path: a download's object path
 *
 * Returns: (transfer full) (nullable): the download at @object_path, if it is listed
 */
SlDBusDownload1 *
sl_download_list_lookup (SlDownloadList *self,
                         const char     *object_path)
{
  GDBusInterface *iface;

  g_return_val_if_fail (SL_IS_DOWNLOAD_LIST (self), NULL);

  if (self->objects == NULL)
    return NULL;

  iface = g_dbus_object_manager_get_interface (self->objects, object_path, DOWNLOAD_IFACE);
  return iface ? SL_DBUS_DOWNLOAD1 (iface) : NULL;
}

/**
 * sl_download_list_clear_finished:
 * @self: a download list
 *
 * Takes completed and canceled downloads off the list, keeping their files. Failed ones
 * stay until dealt with.
 */
void
sl_download_list_clear_finished (SlDownloadList *self)
{
  guint n;

  g_return_if_fail (SL_IS_DOWNLOAD_LIST (self));

  n = g_list_model_get_n_items (G_LIST_MODEL (self->store));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (SlDBusDownload1) download = g_list_model_get_item (G_LIST_MODEL (self->store),
                                                                    i);
      const char *state = sl_dbus_download1_get_state (download);

      if (sl_download_state_is (state, SL_DOWNLOAD_STATE_COMPLETED) ||
          sl_download_state_is (state, SL_DOWNLOAD_STATE_CANCELED))
        sl_dbus_download1_call_remove (download, FALSE, NULL, NULL, NULL);
    }
}
