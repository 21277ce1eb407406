/* sl-uri.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* How libsoup parses http and https addresses (its SOUP_HTTP_URI_FLAGS), spelled out so that
 * clients without libsoup judge addresses the same way. */
#define SL_URI_HTTP_FLAGS (G_URI_FLAGS_HAS_PASSWORD | G_URI_FLAGS_ENCODED_PATH | \
                           G_URI_FLAGS_ENCODED_QUERY | G_URI_FLAGS_ENCODED_FRAGMENT | \
                           G_URI_FLAGS_SCHEME_NORMALIZE)

/* Longest address, in bytes, that Sluice downloads, as typed and as written back once parsed.
 * Far above what servers and browsers handle (a few KiB), far below what would hurt the
 * store, the bus or a row of the window. */
#define SL_URI_MAX_BYTES (64 * 1024)

GUri *sl_uri_parse_download     (const char  *text,
                                 GError     **error);
void  sl_uri_set_too_long_error (GError     **error,
                                 const char  *text);

G_END_DECLS
