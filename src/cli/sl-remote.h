/* sl-remote.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

int sl_remote_command (const char  *verb,
                       int          argc,
                       char       **argv);

G_END_DECLS
