/* sl-host-daemon.c
 *
 * How sluice-browser-host talks to sluiced: plain GDBus calls on the names DESIGN.md fixes,
 * like sluicectl's. The daemon is started by D-Bus activation only, with each call: a host
 * the browser starts must not leave a daemon behind as its own child, and a session without
 * the service file has no Sluice to hand downloads to.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "sl-host-daemon.h"

#define BUS_NAME           "org.sluice.Downloads"
#define ROOT_PATH          "/org/sluice/Downloads"
#define MANAGER_INTERFACE  "org.sluice.Downloads.Manager1"

/**
 * sl_host_bus_connect:
 * @error: return location for an error
 *
 * Opens a connection of the host's own to the session bus, rather than the shared one, whose
 * loss would end the process before the browser hears why.
 *
 * Returns: (transfer full) (nullable): the connection
 */
GDBusConnection *
sl_host_bus_connect (GError **error)
{
  g_autofree char *address = g_dbus_address_get_for_bus_sync (G_BUS_TYPE_SESSION, NULL, error);

  if (address == NULL)
    return NULL;

  return g_dbus_connection_new_for_address_sync (address,
                                                 G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                   G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                 NULL, NULL, error);
}

/* Whether @error says that nobody answered for the daemon: not running and not activatable,
 * failed to start, or silent. */
static gboolean
is_unreachable (const GError *error)
{
  static const GDBusError unreachable[] = {
    G_DBUS_ERROR_SERVICE_UNKNOWN, G_DBUS_ERROR_NAME_HAS_NO_OWNER, G_DBUS_ERROR_NO_REPLY,
    G_DBUS_ERROR_TIMEOUT, G_DBUS_ERROR_TIMED_OUT, G_DBUS_ERROR_NO_SERVER,
    G_DBUS_ERROR_DISCONNECTED, G_DBUS_ERROR_SPAWN_EXEC_FAILED, G_DBUS_ERROR_SPAWN_FORK_FAILED,
    G_DBUS_ERROR_SPAWN_CHILD_EXITED, G_DBUS_ERROR_SPAWN_CHILD_SIGNALED,
    G_DBUS_ERROR_SPAWN_FAILED, G_DBUS_ERROR_SPAWN_SETUP_FAILED,
    G_DBUS_ERROR_SPAWN_CONFIG_INVALID, G_DBUS_ERROR_SPAWN_SERVICE_INVALID,
    G_DBUS_ERROR_SPAWN_SERVICE_NOT_FOUND, G_DBUS_ERROR_SPAWN_PERMISSIONS_INVALID,
    G_DBUS_ERROR_SPAWN_FILE_INVALID, G_DBUS_ERROR_SPAWN_NO_MEMORY,
  };

  if (error->domain == G_IO_ERROR)
    return error->code == G_IO_ERROR_TIMED_OUT || error->code == G_IO_ERROR_CLOSED;

  if (error->domain != G_DBUS_ERROR)
    return FALSE;

  for (gsize i = 0; i < G_N_ELEMENTS (unreachable); i++)
    {
      if (error->code == (int) unreachable[i])
        return TRUE;
    }
  return FALSE;
}

/* Turns a failed call into the one line the browser gets: the daemon's own reason when it
 * refused, else that it cannot be reached. */
static void
propagate_call_error (GError **error,
                      GError  *call_error)
{
  g_dbus_error_strip_remote_error (call_error);
  if (is_unreachable (call_error))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                   _("The Sluice daemon cannot be reached or started: %s"), call_error->message);
      g_error_free (call_error);
      return;
    }

  g_propagate_error (error, call_error);
}

/**
 * sl_host_daemon_ping:
 * @bus: the session bus
 * @error: return location for why not
 *
 * Asks the daemon for one of its properties, letting the bus start it, and waits at most
 * %SL_HOST_PING_TIMEOUT_MS.
 *
 * Returns: whether the daemon answered as Manager1
 */
gboolean
sl_host_daemon_ping (GDBusConnection  *bus,
                     GError          **error)
{
  g_autoptr (GVariant) reply = NULL;
  GError *call_error = NULL;

  g_return_val_if_fail (G_IS_DBUS_CONNECTION (bus), FALSE);

  reply = g_dbus_connection_call_sync (bus, BUS_NAME, ROOT_PATH,
                                       "org.freedesktop.DBus.Properties", "Get",
                                       g_variant_new ("(ss)", MANAGER_INTERFACE, "MaxActive"),
                                       G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NONE,
                                       SL_HOST_PING_TIMEOUT_MS, NULL, &call_error);
  if (reply == NULL)
    {
      propagate_call_error (error, call_error);
      return FALSE;
    }

  return TRUE;
}

/**
 * sl_host_daemon_add:
 * @bus: the session bus
 * @uri: the address to download
 * @options: (transfer floating): the options of Manager1.Add
 * @id: (out): the ID of the new download, as `sluicectl add` prints it
 * @error: return location for an error: the daemon's reason, or %G_IO_ERROR_NOT_CONNECTED
 *   when it cannot be reached
 *
 * Adds one download, letting the bus start the daemon.
 *
 * Returns: whether the daemon added it
 */
gboolean
sl_host_daemon_add (GDBusConnection  *bus,
                    const char       *uri,
                    GVariant         *options,
                    guint64          *id,
                    GError          **error)
{
  g_autoptr (GVariant) reply = NULL;
  GError *call_error = NULL;
  const char *path;
  const char *slash;

  g_return_val_if_fail (G_IS_DBUS_CONNECTION (bus), FALSE);
  g_return_val_if_fail (uri != NULL && id != NULL, FALSE);

  reply = g_dbus_connection_call_sync (bus, BUS_NAME, ROOT_PATH, MANAGER_INTERFACE, "Add",
                                       g_variant_new ("(s@a{sv})", uri, options),
                                       G_VARIANT_TYPE ("(o)"), G_DBUS_CALL_FLAGS_NONE,
                                       SL_HOST_ADD_TIMEOUT_MS, NULL, &call_error);
  if (reply == NULL)
    {
      propagate_call_error (error, call_error);
      return FALSE;
    }

  g_variant_get (reply, "(&o)", &path);
  slash = strrchr (path, '/');
  if (!g_str_has_prefix (path, ROOT_PATH "/") ||
      !g_ascii_string_to_unsigned (slash + 1, 10, 1, G_MAXINT64, id, NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("The Sluice daemon answered with the unexpected object %s"), path);
      return FALSE;
    }

  return TRUE;
}
