/* sl-daemon-spawn.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean sl_daemon_spawn (char   **binary,
                          GError **error);

G_END_DECLS
