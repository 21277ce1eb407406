/* sl-folder-rules.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean sl_folder_check (const char  *path,
                          GError     **error);

G_END_DECLS
