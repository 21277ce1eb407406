/* sl-dbus-export.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>

#include "sl-dbus-export.h"
#include "sl-dbus-generated.h"
#include "sl-states.h"

/* SlDBusExport puts a session on the bus: the Manager1 skeleton and an
 * org.freedesktop.DBus.ObjectManager on the manager's own object, and one child object per
 * download carrying Download1.
 *
 * The children are not one registered object each: a list of ten thousand would cost a
 * skeleton, a registration and a property cache apiece, and building GetManagedObjects from
 * them is most of the daemon's start-up time. They are one subtree instead, served from the
 * downloads themselves: each item keeps what the bus was last told about its download
 * (Published), which answers Get, GetAll and GetManagedObjects, and against which a change is
 * measured before it goes out as PropertiesChanged.
 *
 * Property updates are coalesced: a notification only marks its item dirty, and dirty items
 * are published at most once per FLUSH_INTERVAL_MS by a timer that runs only while something
 * is dirty; each publication is at most one PropertiesChanged, with only what changed. */

#define FLUSH_INTERVAL_MS 100
#define DOWNLOAD_IFACE    "org.sluice.Downloads.Download1"
#define OBJECT_MANAGER_IFACE "org.freedesktop.DBus.ObjectManager"

/* The properties of Download1, in the order of the interface description. */
typedef enum
{
  PROP_URI,
  PROP_FILENAME,
  PROP_DIRECTORY,
  PROP_STATE,
  PROP_BYTES_RECEIVED,
  PROP_BYTES_TOTAL,
  PROP_SPEED,
  PROP_HTTP_STATUS,
  PROP_ERROR_KIND,
  PROP_ERROR,
  PROP_CONNECTIONS,
  PROP_SPEED_LIMIT,
  PROP_CHECKSUM,
  PROP_CHECKSUM_STATE,
  N_PROPS
} Prop;

static const char * const prop_names[N_PROPS] = {
  "Uri", "Filename", "Directory", "State", "BytesReceived", "BytesTotal", "Speed",
  "HttpStatus", "ErrorKind", "Error", "Connections", "SpeedLimit", "Checksum", "ChecksumState",
};

/* What the bus knows of a download. Strings are valid UTF-8, never NULL. */
typedef struct
{
  char            *uri;
  char            *filename;
  char            *directory;
  char            *error;
  char            *checksum;
  guint64          bytes_received;
  gint64           bytes_total;
  guint64          speed;
  guint32          http_status;
  SlDownloadState  state;
  SlErrorKind      error_kind;
  guint32          connections;
  guint64          speed_limit;
  SlChecksumState  checksum_state;
} Published;

typedef struct
{
  SlDBusExport *export;
  SlDownload   *download;
  gint64        id;
  char         *object_path;
  Published     published;
  gboolean      dirty;
} Item;

struct _SlDBusExport
{
  GObject          parent_instance;

  GApplication    *application;  /* unowned: the application owns the export */
  SlSession       *session;

  GDBusConnection *connection;   /* while registered */
  char            *object_path;
  SlDBusManager1  *manager_skeleton;
  guint            object_manager_id;
  guint            subtree_id;

  GPtrArray       *items;        /* Item, in the session's order */
  GHashTable      *by_download;  /* SlDownload → Item */
  GHashTable      *by_id;        /* &Item.id → Item */
  GPtrArray       *dirty;        /* Item */
  guint            flush_source;

  GHashTable      *holders;      /* unique bus name → name watch id */
};

G_DEFINE_FINAL_TYPE (SlDBusExport, sl_dbus_export, G_TYPE_OBJECT)

/* Keys and names used for every object, made once. */
static GVariant *prop_keys[N_PROPS];
static GVariant *download_iface_key;
static GDBusInterfaceInfo *object_manager_info;

static const char object_manager_xml[] =
  "<node>"
  "  <interface name='" OBJECT_MANAGER_IFACE "'>"
  "    <method name='GetManagedObjects'>"
  "      <arg name='objects' type='a{oa{sa{sv}}}' direction='out'/>"
  "    </method>"
  "    <signal name='InterfacesAdded'>"
  "      <arg name='object' type='o'/>"
  "      <arg name='interfaces' type='a{sa{sv}}'/>"
  "    </signal>"
  "    <signal name='InterfacesRemoved'>"
  "      <arg name='object' type='o'/>"
  "      <arg name='interfaces' type='as'/>"
  "    </signal>"
  "  </interface>"
  "</node>";

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

/* Published state */

/* Bus strings must be UTF-8; a folder's name on disk need not be. */
static char *
dup_utf8 (const char *text)
{
  if (text == NULL)
    return g_strdup ("");
  if (g_utf8_validate (text, -1, NULL))
    return g_strdup (text);
  return g_utf8_make_valid (text, -1);
}

static void
published_read (Published  *published,
                SlDownload *download)
{
  GFile *directory = sl_download_get_directory (download);
  g_autofree char *directory_path = directory ? g_file_get_path (directory) : NULL;
  GFile *destination = sl_download_get_destination (download);
  const char *filename = sl_download_get_filename (download);
  g_autofree char *destination_name = NULL;

  /* A download restored as completed may only know its file. */
  if (filename == NULL && destination != NULL)
    filename = destination_name = g_file_get_basename (destination);

  published->uri = dup_utf8 (sl_download_get_uri (download));
  published->filename = dup_utf8 (filename);
  published->directory = dup_utf8 (directory_path);
  published->error = dup_utf8 (sl_download_get_error_message (download));
  /* Only what a restart would continue from, so that the list never goes back. */
  published->bytes_received = MAX (sl_download_get_bytes_recorded (download), 0);
  published->bytes_total = sl_download_get_bytes_total (download);
  published->speed = sl_download_get_speed (download);
  published->http_status = sl_download_get_http_status (download);
  published->state = sl_download_get_state (download);
  published->error_kind = sl_download_get_error_kind (download);
  published->connections = sl_download_get_connections (download);
  published->speed_limit = sl_download_get_speed_limit (download);
  published->checksum = sl_download_get_checksum (download);
  if (published->checksum == NULL)
    published->checksum = g_strdup ("");
  published->checksum_state = sl_download_get_checksum_state (download);
}

static void
published_clear (Published *published)
{
  g_clear_pointer (&published->uri, g_free);
  g_clear_pointer (&published->filename, g_free);
  g_clear_pointer (&published->directory, g_free);
  g_clear_pointer (&published->error, g_free);
  g_clear_pointer (&published->checksum, g_free);
}

/* Returns: (transfer floating) */
static GVariant *
published_get (const Published *published,
               Prop             prop)
{
  switch (prop)
    {
    case PROP_URI:
      return g_variant_new_string (published->uri);
    case PROP_FILENAME:
      return g_variant_new_string (published->filename);
    case PROP_DIRECTORY:
      return g_variant_new_string (published->directory);
    case PROP_STATE:
      return g_variant_new_string (sl_download_state_to_string (published->state));
    case PROP_BYTES_RECEIVED:
      return g_variant_new_uint64 (published->bytes_received);
    case PROP_BYTES_TOTAL:
      return g_variant_new_int64 (published->bytes_total);
    case PROP_SPEED:
      return g_variant_new_uint64 (published->speed);
    case PROP_HTTP_STATUS:
      return g_variant_new_uint32 (published->http_status);
    case PROP_ERROR_KIND:
      return g_variant_new_string (sl_error_kind_to_string (published->error_kind));
    case PROP_ERROR:
      return g_variant_new_string (published->error);
    case PROP_CONNECTIONS:
      return g_variant_new_uint32 (published->connections);
    case PROP_SPEED_LIMIT:
      return g_variant_new_uint64 (published->speed_limit);
    case PROP_CHECKSUM:
      return g_variant_new_string (published->checksum);
    case PROP_CHECKSUM_STATE:
      return g_variant_new_string (sl_checksum_state_to_string (published->checksum_state));
    case N_PROPS:
    default:
      g_return_val_if_reached (NULL);
    }
}

static gboolean
published_differ (const Published *a,
                  const Published *b,
                  Prop             prop)
{
  switch (prop)
    {
    case PROP_URI:
      return g_strcmp0 (a->uri, b->uri) != 0;
    case PROP_FILENAME:
      return g_strcmp0 (a->filename, b->filename) != 0;
    case PROP_DIRECTORY:
      return g_strcmp0 (a->directory, b->directory) != 0;
    case PROP_STATE:
      return a->state != b->state;
    case PROP_BYTES_RECEIVED:
      return a->bytes_received != b->bytes_received;
    case PROP_BYTES_TOTAL:
      return a->bytes_total != b->bytes_total;
    case PROP_SPEED:
      return a->speed != b->speed;
    case PROP_HTTP_STATUS:
      return a->http_status != b->http_status;
    case PROP_ERROR_KIND:
      return a->error_kind != b->error_kind;
    case PROP_ERROR:
      return g_strcmp0 (a->error, b->error) != 0;
    case PROP_CONNECTIONS:
      return a->connections != b->connections;
    case PROP_SPEED_LIMIT:
      return a->speed_limit != b->speed_limit;
    case PROP_CHECKSUM:
      return g_strcmp0 (a->checksum, b->checksum) != 0;
    case PROP_CHECKSUM_STATE:
      return a->checksum_state != b->checksum_state;
    case N_PROPS:
    default:
      g_return_val_if_reached (TRUE);
    }
}

/* The a{sv} of every property, built without format strings: GetManagedObjects makes one per
 * download. Returns: (transfer floating) */
static GVariant *
published_to_variant (const Published *published)
{
  GVariant *entries[N_PROPS];

  for (guint i = 0; i < N_PROPS; i++)
    entries[i] = g_variant_new_dict_entry (g_variant_ref (prop_keys[i]),
                                           g_variant_new_variant (published_get (published, i)));

  return g_variant_new_array (G_VARIANT_TYPE ("{sv}"), entries, N_PROPS);
}

/* The a{sa{sv}} of an object: its one interface. Returns: (transfer floating) */
static GVariant *
item_interfaces (Item *item)
{
  GVariant *entry = g_variant_new_dict_entry (g_variant_ref (download_iface_key),
                                              published_to_variant (&item->published));

  return g_variant_new_array (NULL, &entry, 1);
}

static void
emit (SlDBusExport *self,
      const char   *object_path,
      const char   *interface_name,
      const char   *signal_name,
      GVariant     *parameters)
{
  g_autoptr (GError) error = NULL;

  if (!g_dbus_connection_emit_signal (self->connection, NULL, object_path, interface_name,
                                      signal_name, parameters, &error))
    g_warning ("Cannot emit %s on %s: %s", signal_name, object_path, error->message);
}

/* Tells the bus what changed in the download since it last did, in one signal. */
static void
item_publish (Item *item)
{
  SlDBusExport *self = item->export;
  Published now = { NULL, };
  GVariantBuilder changed;
  gboolean any = FALSE;

  item->dirty = FALSE;
  published_read (&now, item->download);

  g_variant_builder_init (&changed, G_VARIANT_TYPE ("a{sv}"));
  for (guint i = 0; i < N_PROPS; i++)
    {
      if (published_differ (&item->published, &now, i))
        {
          g_variant_builder_add (&changed, "{sv}", prop_names[i], published_get (&now, i));
          any = TRUE;
        }
    }

  published_clear (&item->published);
  item->published = now;

  if (any && self->connection != NULL)
    emit (self, item->object_path, "org.freedesktop.DBus.Properties", "PropertiesChanged",
          g_variant_new ("(sa{sv}as)", DOWNLOAD_IFACE, &changed, NULL));
  else
    g_variant_builder_clear (&changed);
}

static void
flush_dirty (SlDBusExport *self)
{
  for (guint i = 0; i < self->dirty->len; i++)
    item_publish (g_ptr_array_index (self->dirty, i));

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

/* Download objects */

static Item *
item_new (SlDBusExport *self,
          SlDownload   *download)
{
  Item *item = g_new0 (Item, 1);

  item->export = self;
  item->download = g_object_ref (download);
  item->id = sl_session_get_id (self->session, download);
  item->object_path = g_strdup_printf ("%s/%" G_GINT64_FORMAT, self->object_path, item->id);
  published_read (&item->published, download);

  g_signal_connect (download, "notify", G_CALLBACK (on_download_notify), item);
  g_hash_table_insert (self->by_download, download, item);
  g_hash_table_insert (self->by_id, &item->id, item);

  if (self->connection != NULL)
    emit (self, self->object_path, OBJECT_MANAGER_IFACE, "InterfacesAdded",
          g_variant_new ("(o@a{sa{sv}})", item->object_path, item_interfaces (item)));

  return item;
}

static void
item_free (Item *item)
{
  SlDBusExport *self = item->export;

  if (item->dirty)
    g_ptr_array_remove_fast (self->dirty, item);

  if (self->connection != NULL)
    {
      const char *interfaces[] = { DOWNLOAD_IFACE, NULL };

      emit (self, self->object_path, OBJECT_MANAGER_IFACE, "InterfacesRemoved",
            g_variant_new ("(o^as)", item->object_path, interfaces));
    }

  g_hash_table_remove (self->by_id, &item->id);
  g_hash_table_remove (self->by_download, item->download);
  g_signal_handlers_disconnect_by_data (item->download, item);

  published_clear (&item->published);
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

/* The item of an object path or of a child's node name, if it is still there. */
static Item *
lookup_node (SlDBusExport *self,
             const char   *node)
{
  guint64 id;

  if (node == NULL || !g_ascii_string_to_unsigned (node, 10, 1, G_MAXINT64, &id, NULL))
    return NULL;

  return g_hash_table_lookup (self->by_id, &(gint64) { (gint64) id });
}

static Item *
lookup_path (SlDBusExport *self,
             const char   *object_path)
{
  gsize length = strlen (self->object_path);

  if (!g_str_has_prefix (object_path, self->object_path) || object_path[length] != '/')
    return NULL;

  return lookup_node (self, object_path + length + 1);
}

/* Method calls and properties of a download */

typedef struct
{
  SlDBusExport          *export;
  GDBusMethodInvocation *invocation;
} VerifyCall;

static VerifyCall *
verify_call_new (SlDBusExport          *self,
                 GDBusMethodInvocation *invocation)
{
  VerifyCall *call = g_new0 (VerifyCall, 1);

  call->export = g_object_ref (self);
  call->invocation = invocation;
  return call;
}

static void
on_verified (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  VerifyCall *call = user_data;
  g_autoptr (GError) error = NULL;

  flush_dirty (call->export);
  if (sl_download_verify_finish (SL_DOWNLOAD (object), result, &error))
    g_dbus_method_invocation_return_value (call->invocation, NULL);
  else
    g_dbus_method_invocation_return_gerror (call->invocation, error);

  release (call->export);
  g_object_unref (call->export);
  g_free (call);
}

static void
download_method_call (GDBusConnection       *connection,
                      const char            *sender,
                      const char            *object_path,
                      const char            *interface_name,
                      const char            *method_name,
                      GVariant              *parameters,
                      GDBusMethodInvocation *invocation,
                      gpointer               user_data)
{
  SlDBusExport *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlDownload) download = NULL;
  Item *item = lookup_path (self, object_path);

  /* The call was queued before an earlier one removed the download. */
  if (item == NULL)
    {
      g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR,
                                             G_DBUS_ERROR_UNKNOWN_OBJECT,
                                             _("There is no download at %s"), object_path);
      return;
    }

  /* Removing the download frees @item through items-changed. */
  download = g_object_ref (item->download);
  hold (self);

  if (g_str_equal (method_name, "Pause"))
    sl_session_pause (self->session, download);
  else if (g_str_equal (method_name, "Resume"))
    sl_session_resume (self->session, download);
  else if (g_str_equal (method_name, "Cancel"))
    sl_download_cancel (download);
  else if (g_str_equal (method_name, "Remove"))
    {
      gboolean delete_file;

      g_variant_get (parameters, "(b)", &delete_file);
      sl_session_remove (self->session, download, delete_file);
    }
  else if (g_str_equal (method_name, "SetSpeedLimit"))
    {
      guint64 bytes_per_second;

      g_variant_get (parameters, "(t)", &bytes_per_second);
      sl_session_set_speed_limit (self->session, download, bytes_per_second);
    }
  else if (g_str_equal (method_name, "Verify"))
    {
      /* Answered once the file is read. */
      sl_download_verify_async (download, NULL, on_verified, verify_call_new (self, invocation));
      return;
    }
  else if (g_str_equal (method_name, "RefreshLink"))
    {
      SlDownloadState state = sl_download_get_state (download);
      const char *uri;

      g_variant_get (parameters, "(&s)", &uri);
      if (sl_download_refresh_link (download, uri, &error))
        {
          /* A download that stopped on the old link goes on with the new one; a paused one
           * stays paused until resumed. */
          if (state == SL_DOWNLOAD_STATE_FAILED || state == SL_DOWNLOAD_STATE_WAITING)
            sl_session_resume (self->session, download);
        }
    }
  else
    {
      g_set_error (&error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD,
                   _("There is no method %s"), method_name);
    }

  /* What the call changed goes out before its reply, so that the caller's next call (a
   * `sluicectl wait` after `sluicectl resume`) never reads the state from before it. */
  flush_dirty (self);

  if (error != NULL)
    g_dbus_method_invocation_return_gerror (invocation, error);
  else
    g_dbus_method_invocation_return_value (invocation, NULL);

  release (self);
}

static GVariant *
download_get_property (GDBusConnection  *connection,
                       const char       *sender,
                       const char       *object_path,
                       const char       *interface_name,
                       const char       *property_name,
                       GError          **error,
                       gpointer          user_data)
{
  SlDBusExport *self = user_data;
  Item *item = lookup_path (self, object_path);

  if (item == NULL)
    {
      g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT,
                   _("There is no download at %s"), object_path);
      return NULL;
    }

  for (guint i = 0; i < N_PROPS; i++)
    {
      if (g_str_equal (property_name, prop_names[i]))
        return published_get (&item->published, i);
    }

  g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY,
               _("There is no property %s"), property_name);
  return NULL;
}

static const GDBusInterfaceVTable download_vtable = {
  .method_call = download_method_call,
  .get_property = download_get_property,
};

/* The subtree of downloads. Nodes are dispatched without enumerating them all for every call:
 * introspect and dispatch look the node up instead. */

static char **
subtree_enumerate (GDBusConnection *connection,
                   const char      *sender,
                   const char      *object_path,
                   gpointer         user_data)
{
  SlDBusExport *self = user_data;
  char **nodes = g_new (char *, self->items->len + 1);

  for (guint i = 0; i < self->items->len; i++)
    {
      Item *item = g_ptr_array_index (self->items, i);

      nodes[i] = g_strdup_printf ("%" G_GINT64_FORMAT, item->id);
    }
  nodes[self->items->len] = NULL;

  return nodes;
}

static GDBusInterfaceInfo **
subtree_introspect (GDBusConnection *connection,
                    const char      *sender,
                    const char      *object_path,
                    const char      *node,
                    gpointer         user_data)
{
  SlDBusExport *self = user_data;
  GDBusInterfaceInfo **interfaces;

  if (lookup_node (self, node) == NULL)
    return NULL;

  interfaces = g_new0 (GDBusInterfaceInfo *, 2);
  interfaces[0] = g_dbus_interface_info_ref (sl_dbus_download1_interface_info ());
  return interfaces;
}

static const GDBusInterfaceVTable *
subtree_dispatch (GDBusConnection *connection,
                  const char      *sender,
                  const char      *object_path,
                  const char      *interface_name,
                  const char      *node,
                  gpointer        *out_user_data,
                  gpointer         user_data)
{
  SlDBusExport *self = user_data;

  if (g_strcmp0 (interface_name, DOWNLOAD_IFACE) != 0 || lookup_node (self, node) == NULL)
    return NULL;

  /* Not the item: the call runs later, and the download may be gone by then. */
  *out_user_data = self;
  return &download_vtable;
}

static const GDBusSubtreeVTable subtree_vtable = {
  .enumerate = subtree_enumerate,
  .introspect = subtree_introspect,
  .dispatch = subtree_dispatch,
};

/* The object manager */

static GVariant *
get_managed_objects (SlDBusExport *self)
{
  g_autofree GVariant **objects = g_new (GVariant *, MAX (self->items->len, 1));

  for (guint i = 0; i < self->items->len; i++)
    {
      Item *item = g_ptr_array_index (self->items, i);

      objects[i] = g_variant_new_dict_entry (g_variant_new_object_path (item->object_path),
                                             item_interfaces (item));
    }

  return g_variant_new_tuple ((GVariant *[]) {
    g_variant_new_array (G_VARIANT_TYPE ("{oa{sa{sv}}}"), objects, self->items->len)
  }, 1);
}

static void
object_manager_method_call (GDBusConnection       *connection,
                            const char            *sender,
                            const char            *object_path,
                            const char            *interface_name,
                            const char            *method_name,
                            GVariant              *parameters,
                            GDBusMethodInvocation *invocation,
                            gpointer               user_data)
{
  SlDBusExport *self = user_data;

  /* The only method; the arguments were checked against the interface. */
  g_assert (g_str_equal (method_name, "GetManagedObjects"));

  /* What clients are told next starts from here: publish what was pending first. */
  flush_dirty (self);
  g_dbus_method_invocation_return_value (invocation, get_managed_objects (self));
}

static const GDBusInterfaceVTable object_manager_vtable = {
  .method_call = object_manager_method_call,
};

/* Method calls on the manager */

/* A client set a setting of Manager1: the session takes them all, clamped to what it allows,
 * and keeps them. */
static void
on_limits_changed (SlDBusManager1 *skeleton,
                   GParamSpec     *pspec,
                   SlDBusExport   *self)
{
  guint max_active = CLAMP (sl_dbus_manager1_get_max_active (skeleton), 1, 256);
  guint max_per_host = CLAMP (sl_dbus_manager1_get_max_per_host (skeleton), 1, 256);
  guint connections = MIN (sl_dbus_manager1_get_default_connections (skeleton),
                           SL_DOWNLOAD_MAX_CONNECTIONS);

  if (self->session == NULL)
    return;

  sl_session_set_max_active (self->session, max_active);
  sl_session_set_max_per_host (self->session, max_per_host);
  sl_session_set_max_speed (self->session, sl_dbus_manager1_get_max_speed (skeleton));
  sl_session_set_connections (self->session, connections);
  if (sl_dbus_manager1_get_default_connections (skeleton) != connections)
    sl_dbus_manager1_set_default_connections (skeleton, connections);
  if (sl_dbus_manager1_get_max_active (skeleton) != max_active)
    sl_dbus_manager1_set_max_active (skeleton, max_active);
  if (sl_dbus_manager1_get_max_per_host (skeleton) != max_per_host)
    sl_dbus_manager1_set_max_per_host (skeleton, max_per_host);
}

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

static void
drop_holder (SlDBusExport *self,
             const char   *name)
{
  g_autofree char *key = NULL;
  gpointer watch;

  if (!g_hash_table_steal_extended (self->holders, name, (gpointer *) &key, &watch))
    return;

  g_bus_unwatch_name (GPOINTER_TO_UINT (watch));
  release (self);
}

static void
on_holder_vanished (GDBusConnection *connection,
                    const char      *name,
                    gpointer         user_data)
{
  drop_holder (user_data, name);
}

static gboolean
on_handle_hold (SlDBusManager1        *skeleton,
                GDBusMethodInvocation *invocation,
                SlDBusExport          *self)
{
  const char *sender = g_dbus_method_invocation_get_sender (invocation);

  /* One hold per client, however often it asks; it ends when the client leaves the bus. */
  if (sender != NULL && !g_hash_table_contains (self->holders, sender))
    {
      guint watch = g_bus_watch_name_on_connection (
        g_dbus_method_invocation_get_connection (invocation), sender,
        G_BUS_NAME_WATCHER_FLAGS_NONE, NULL, on_holder_vanished, self, NULL);

      hold (self);
      g_hash_table_insert (self->holders, g_strdup (sender), GUINT_TO_POINTER (watch));
    }

  sl_dbus_manager1_complete_hold (skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_handle_release (SlDBusManager1        *skeleton,
                   GDBusMethodInvocation *invocation,
                   SlDBusExport          *self)
{
  const char *sender = g_dbus_method_invocation_get_sender (invocation);

  if (sender != NULL)
    drop_holder (self, sender);

  sl_dbus_manager1_complete_release (skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
drop_holders (SlDBusExport *self)
{
  g_autofree char **names = (char **) g_hash_table_get_keys_as_array (self->holders, NULL);

  for (guint i = 0; names[i] != NULL; i++)
    drop_holder (self, names[i]);
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
      flush_dirty (self);
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
      flush_dirty (self);
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

  G_OBJECT_CLASS (sl_dbus_export_parent_class)->dispose (object);
}

static void
sl_dbus_export_finalize (GObject *object)
{
  SlDBusExport *self = (SlDBusExport *) object;

  g_ptr_array_unref (self->items);
  g_ptr_array_unref (self->dirty);
  g_hash_table_unref (self->by_download);
  g_hash_table_unref (self->by_id);
  g_hash_table_unref (self->holders);
  g_free (self->object_path);

  G_OBJECT_CLASS (sl_dbus_export_parent_class)->finalize (object);
}

static void
sl_dbus_export_class_init (SlDBusExportClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  g_autoptr (GDBusNodeInfo) node = NULL;

  object_class->dispose = sl_dbus_export_dispose;
  object_class->finalize = sl_dbus_export_finalize;

  register_errors ();

  for (guint i = 0; i < N_PROPS; i++)
    prop_keys[i] = g_variant_ref_sink (g_variant_new_string (prop_names[i]));
  download_iface_key = g_variant_ref_sink (g_variant_new_string (DOWNLOAD_IFACE));

  node = g_dbus_node_info_new_for_xml (object_manager_xml, NULL);
  g_assert (node != NULL);
  object_manager_info = g_dbus_interface_info_ref (node->interfaces[0]);
}

static void
sl_dbus_export_init (SlDBusExport *self)
{
  self->items = g_ptr_array_new ();
  self->dirty = g_ptr_array_new ();
  self->by_download = g_hash_table_new (NULL, NULL);
  self->by_id = g_hash_table_new (g_int64_hash, g_int64_equal);
  self->holders = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->object_path = g_strdup ("/org/sluice/Downloads");
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

/* Object paths are the manager's path and the download's id: changing the manager's path
 * renames every item. */
static void
set_object_path (SlDBusExport *self,
                 const char   *object_path)
{
  if (g_strcmp0 (self->object_path, object_path) == 0)
    return;

  g_free (self->object_path);
  self->object_path = g_strdup (object_path);

  for (guint i = 0; i < self->items->len; i++)
    {
      Item *item = g_ptr_array_index (self->items, i);

      g_free (item->object_path);
      item->object_path = g_strdup_printf ("%s/%" G_GINT64_FORMAT, object_path, item->id);
    }
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
  g_return_val_if_fail (self->connection == NULL, FALSE);

  set_object_path (self, object_path);

  manager_skeleton = sl_dbus_manager1_skeleton_new ();
  if (self->session != NULL)
    {
      sl_dbus_manager1_set_max_active (manager_skeleton, sl_session_get_max_active (self->session));
      sl_dbus_manager1_set_max_per_host (manager_skeleton,
                                         sl_session_get_max_per_host (self->session));
      sl_dbus_manager1_set_max_speed (manager_skeleton, sl_session_get_max_speed (self->session));
      sl_dbus_manager1_set_default_connections (manager_skeleton,
                                                sl_session_get_connections (self->session));
    }
  g_signal_connect (manager_skeleton, "notify::max-active", G_CALLBACK (on_limits_changed), self);
  g_signal_connect (manager_skeleton, "notify::max-per-host", G_CALLBACK (on_limits_changed),
                    self);
  g_signal_connect (manager_skeleton, "notify::max-speed", G_CALLBACK (on_limits_changed), self);
  g_signal_connect (manager_skeleton, "notify::default-connections",
                    G_CALLBACK (on_limits_changed), self);
  g_signal_connect (manager_skeleton, "handle-add", G_CALLBACK (on_handle_add), self);
  g_signal_connect (manager_skeleton, "handle-pause-all", G_CALLBACK (on_handle_pause_all), self);
  g_signal_connect (manager_skeleton, "handle-resume-all",
                    G_CALLBACK (on_handle_resume_all), self);
  g_signal_connect (manager_skeleton, "handle-hold", G_CALLBACK (on_handle_hold), self);
  g_signal_connect (manager_skeleton, "handle-release", G_CALLBACK (on_handle_release), self);
  self->manager_skeleton = g_steal_pointer (&manager_skeleton);

  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->manager_skeleton),
                                         connection, object_path, error))
    goto fail;

  self->object_manager_id =
    g_dbus_connection_register_object (connection, object_path, object_manager_info,
                                       &object_manager_vtable, self, NULL, error);
  if (self->object_manager_id == 0)
    goto fail;

  self->subtree_id =
    g_dbus_connection_register_subtree (connection, object_path, &subtree_vtable,
                                        G_DBUS_SUBTREE_FLAGS_DISPATCH_TO_UNENUMERATED_NODES,
                                        self, NULL, error);
  if (self->subtree_id == 0)
    goto fail;

  /* Everything went on the bus at once: no InterfacesAdded for what is already there. */
  self->connection = g_object_ref (connection);
  return TRUE;

fail:
  self->connection = g_object_ref (connection);
  sl_dbus_export_unregister (self);
  return FALSE;
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

  if (self->object_manager_id != 0)
    g_dbus_connection_unregister_object (self->connection, self->object_manager_id);
  self->object_manager_id = 0;

  if (self->subtree_id != 0)
    g_dbus_connection_unregister_subtree (self->connection, self->subtree_id);
  self->subtree_id = 0;

  drop_holders (self);
  g_clear_object (&self->connection);
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
  on_items_changed (G_LIST_MODEL (session), 0, 0,
                    g_list_model_get_n_items (G_LIST_MODEL (session)), self);
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
