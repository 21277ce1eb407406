/* sl-header-rules.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean sl_header_is_reserved (const char  *name);
gboolean sl_header_check       (const char  *name,
                                const char  *value,
                                GError     **error);

G_END_DECLS
