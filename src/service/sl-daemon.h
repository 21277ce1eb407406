/* sl-daemon.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define SL_TYPE_DAEMON (sl_daemon_get_type ())

G_DECLARE_FINAL_TYPE (SlDaemon, sl_daemon, SL, DAEMON, GApplication)

SlDaemon *sl_daemon_new             (void);
int       sl_daemon_get_exit_status (SlDaemon *self);

G_END_DECLS
