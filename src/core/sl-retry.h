/* sl-retry.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean sl_retry_status_is_transient     (guint         status);
gboolean sl_retry_send_error_is_transient (const GError *error,
                                           guint64       header_bytes);

G_END_DECLS
