/* sl-filename-rules.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Longest file name, in bytes, that Sluice gives a download or takes from someone. Leaves room
 * under NAME_MAX (255) for " (NNNN)" and the ".part" and ".resume" suffixes. */
#define SL_FILENAME_MAX_BYTES 200

/* Longest name once numbered ("name (4294967295).ext"): the number may take 12 more bytes. */
#define SL_FILENAME_NUMBERED_MAX_BYTES (SL_FILENAME_MAX_BYTES + 12)

gboolean sl_filename_char_is_forbidden (gunichar     c);
gboolean sl_filename_check             (const char  *name,
                                        GError     **error);
gboolean sl_filename_is_plain          (const char  *name);

G_END_DECLS
