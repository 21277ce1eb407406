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

GUri *sl_uri_parse_download (const char  *text,
                             GError     **error);

G_END_DECLS
