/* sl-filename.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Longest file name, in bytes, that Sluice gives a download. Leaves room under NAME_MAX (255)
 * for " (NNNN)" and the ".part" and ".resume" suffixes. */
#define SL_FILENAME_MAX_BYTES 200

char  *sl_filename_from_content_disposition (const char  *header);
char  *sl_filename_sanitize                 (const char  *name);
char  *sl_filename_guess                    (const char  *content_disposition,
                                             GUri        *uri);
char  *sl_filename_numbered                 (const char  *name,
                                             guint        n);

G_END_DECLS
