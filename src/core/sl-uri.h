/* sl-uri.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

GUri *sl_uri_parse_download (const char  *text,
                             GError     **error);

G_END_DECLS
