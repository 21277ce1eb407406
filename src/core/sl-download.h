/* sl-download.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

#include "sl-rate-limiter.h"

#include "sl-types.h"

G_BEGIN_DECLS

#define SL_TYPE_DOWNLOAD (sl_download_get_type ())

/* The most connections one download may use, and how many it may try by default. */
#define SL_DOWNLOAD_MAX_CONNECTIONS     SL_MAX_CONNECTIONS
#define SL_DOWNLOAD_DEFAULT_CONNECTIONS 8

G_DECLARE_FINAL_TYPE (SlDownload, sl_download, SL, DOWNLOAD, GObject)

SlDownload      *sl_download_new                  (SoupSession          *session,
                                                   const char           *uri,
                                                   GError              **error);
SlDownload      *sl_download_new_from_resume_data (SoupSession          *session,
                                                   GBytes               *resume_data,
                                                   GError              **error);

void             sl_download_set_directory        (SlDownload           *self,
                                                   GFile                *directory);
GFile           *sl_download_get_directory        (SlDownload           *self);
void             sl_download_set_filename         (SlDownload           *self,
                                                   const char           *filename);
const char      *sl_download_get_filename         (SlDownload           *self);
void             sl_download_add_header           (SlDownload           *self,
                                                   const char           *name,
                                                   const char           *value);
gboolean         sl_download_set_checksum         (SlDownload           *self,
                                                   const char           *spec,
                                                   GError              **error);
void             sl_download_set_max_retries      (SlDownload           *self,
                                                   guint                 max_retries);
void             sl_download_set_retry_delay      (SlDownload           *self,
                                                   guint                 msec);
void             sl_download_set_max_connections  (SlDownload           *self,
                                                   guint                 connections);
void             sl_download_set_adaptive_connections (SlDownload       *self,
                                                   guint                 cap);
void             sl_download_set_connection_share (SlDownload           *self,
                                                   guint                 share);
void             sl_download_set_speed_limit      (SlDownload           *self,
                                                   guint64               bytes_per_second);
guint64          sl_download_get_speed_limit      (SlDownload           *self);
void             sl_download_limit_changed        (SlDownload           *self);
void             sl_download_set_parent_limiter   (SlDownload           *self,
                                                   SlRateLimiter        *parent);
void             sl_download_set_stall_timeout    (SlDownload           *self,
                                                   guint                 seconds);
void             sl_download_set_checkpoint_interval (SlDownload        *self,
                                                   guint                 msec);
void             sl_download_set_network_monitor  (SlDownload           *self,
                                                   GNetworkMonitor      *monitor);

void             sl_download_start                (SlDownload           *self);
void             sl_download_enqueue              (SlDownload           *self);
void             sl_download_restore_state        (SlDownload           *self,
                                                   SlDownloadState       state,
                                                   gint64                bytes_received,
                                                   gint64                bytes_total,
                                                   guint                 http_status,
                                                   const GError         *error,
                                                   GFile                *destination);
void             sl_download_pause_async          (SlDownload           *self,
                                                   GCancellable         *cancellable,
                                                   GAsyncReadyCallback   callback,
                                                   gpointer              user_data);
GBytes          *sl_download_pause_finish         (SlDownload           *self,
                                                   GAsyncResult         *result,
                                                   GError              **error);
void             sl_download_cancel               (SlDownload           *self);
gboolean         sl_download_refresh_link         (SlDownload           *self,
                                                   const char           *uri,
                                                   GError              **error);
GBytes          *sl_download_get_resume_data      (SlDownload           *self);

const char      *sl_download_get_uri              (SlDownload           *self);
const char      *sl_download_get_final_uri        (SlDownload           *self);
GFile           *sl_download_get_destination      (SlDownload           *self);
GFile           *sl_download_get_partial_file     (SlDownload           *self);
SlDownloadState  sl_download_get_state            (SlDownload           *self);
gint64           sl_download_get_bytes_received   (SlDownload           *self);
gint64           sl_download_get_bytes_recorded   (SlDownload           *self);
gint64           sl_download_get_bytes_checkpointed (SlDownload         *self);
gboolean         sl_download_get_length_checked   (SlDownload           *self);
void             sl_download_set_name_policy      (SlDownload           *self,
                                                   SlNamePolicy          policy);
void             sl_download_set_orphans          (SlDownload           *self,
                                                   const char * const   *orphans);
void             sl_download_set_claimed          (SlDownload           *self,
                                                   const char * const   *claimed);
void             sl_download_set_confirms_checkpoints (SlDownload       *self,
                                                   gboolean              confirms);
void             sl_download_checkpoint_recorded  (SlDownload           *self,
                                                   GBytes               *resume_data);
gint64           sl_download_get_bytes_total      (SlDownload           *self);
guint64          sl_download_get_speed            (SlDownload           *self);
gint64           sl_download_get_eta              (SlDownload           *self);
guint            sl_download_get_http_status      (SlDownload           *self);
SlErrorKind      sl_download_get_error_kind       (SlDownload           *self);
const char      *sl_download_get_error_message    (SlDownload           *self);
const GError    *sl_download_get_error            (SlDownload           *self);
guint            sl_download_get_connections      (SlDownload           *self);
char            *sl_download_get_checksum         (SlDownload           *self);
SlChecksumState  sl_download_get_checksum_state   (SlDownload           *self);
void             sl_download_verify_async         (SlDownload           *self,
                                                   GCancellable         *cancellable,
                                                   GAsyncReadyCallback   callback,
                                                   gpointer              user_data);
gboolean         sl_download_verify_finish        (SlDownload           *self,
                                                   GAsyncResult         *result,
                                                   GError              **error);

G_END_DECLS
