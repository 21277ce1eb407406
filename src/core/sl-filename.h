/* sl-filename.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "sl-filename-rules.h"

G_BEGIN_DECLS

char  *sl_filename_from_content_disposition (const char  *header);
char  *sl_filename_sanitize                 (const char  *name);
char  *sl_filename_guess                    (const char  *content_disposition,
                                             GUri        *uri);
char  *sl_filename_numbered                 (const char  *name,
                                             guint        n);

G_END_DECLS
