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
                                             const char  *content_type,
                                             GUri        *uri,
                                             gboolean    *split_extension);
char  *sl_filename_numbered                 (const char  *name,
                                             guint        n,
                                             gboolean     split_extension);

G_END_DECLS
