/* sl-host-daemon.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* How long `ping` waits for the daemon, started by the bus if need be. */
#define SL_HOST_PING_TIMEOUT_MS (5 * 1000)

/* How long one Manager1.Add may take, the daemon's start by the bus included (the bus gives
 * a service 25 s to start). */
#define SL_HOST_ADD_TIMEOUT_MS (30 * 1000)

GDBusConnection *sl_host_bus_connect  (GError          **error);
gboolean         sl_host_daemon_ping  (GDBusConnection  *bus,
                                       GError          **error);
gboolean         sl_host_daemon_add   (GDBusConnection  *bus,
                                       const char       *uri,
                                       GVariant         *options,
                                       guint64          *id,
                                       GError          **error);

G_END_DECLS
