/* sl-format.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* What the window says about a download, made from its D-Bus properties. Pure functions, so
 * that they are tested without a display. */

typedef struct
{
  const char *state;          /* Download1.State */
  guint64     bytes_received;
  gint64      bytes_total;    /* -1 when unknown */
  guint64     speed;          /* bytes per second */
  guint       http_status;
  const char *error_kind;     /* "" when none */
  const char *error;          /* "" when none */
  guint       connections;    /* Download1.Connections: open now */
  guint64     speed_limit;    /* Download1.SpeedLimit, bytes per second, 0 for none */
  const char *checksum_state; /* Download1.ChecksumState; NULL is "none" */
  const char *verify_error;   /* what the last Verify found wrong, or NULL */
} SlDownloadFacts;

gboolean   sl_format_state_is_under_way (const char        *state);
char      *sl_format_status        (const SlDownloadFacts  *facts);
gboolean   sl_format_status_is_error (const SlDownloadFacts *facts);
char      *sl_format_rate          (guint64                 bytes_per_second);
char      *sl_format_time_left     (guint64                 seconds);
double     sl_format_fraction      (const SlDownloadFacts  *facts);
char      *sl_format_host          (const char             *uri);
GIcon     *sl_format_icon          (const char             *filename);
char     **sl_format_find_urls     (const char             *text);
GUri      *sl_format_parse_typed_url (const char           *text,
                                    GError                **error);

G_END_DECLS
