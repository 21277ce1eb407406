/* sl-store.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "sl-types.h"

G_BEGIN_DECLS

/**
 * SlStoreError:
 * @SL_STORE_ERROR_CANNOT_OPEN: the database cannot be created or opened, even a fresh one
 * @SL_STORE_ERROR_NO_SPACE: the disk is full
 * @SL_STORE_ERROR_FAILED: any other failure of the database (I/O error, …)
 *
 * Error codes in the %SL_STORE_ERROR domain.
 */
typedef enum
{
  SL_STORE_ERROR_CANNOT_OPEN,
  SL_STORE_ERROR_NO_SPACE,
  SL_STORE_ERROR_FAILED,
} SlStoreError;

#define SL_STORE_ERROR (sl_store_error_quark ())

GQuark sl_store_error_quark (void);

/**
 * SlStoreRecord:
 * @id: assigned by sl_store_insert(), > 0
 * @uri: the URI the user gave
 * @directory: absolute path of the destination folder
 * @filename: (nullable): the final name, %NULL until it is known
 * @state: where the download is in its lifecycle
 * @error_kind: who is to blame for the last error
 * @error_message: (nullable): the last error, for people
 * @http_status: the last HTTP status, 0 for none
 * @bytes_received: bytes flushed to the partial file
 * @bytes_total: expected length, -1 when unknown
 * @resume_data: (nullable): an opaque blob in the sl-resume-data format
 * @options: (nullable): an `a{sv}` of the options the download was added with (headers,
 *   referrer, checksum, …); the record owns one reference
 * @position: order in the queue
 * @created_at: unix time in seconds
 * @finished_at: unix time in seconds, 0 while not finished
 *
 * One download as the store keeps it. The record owns all of its pointers.
 */
typedef struct
{
  gint64           id;
  char            *uri;
  char            *directory;
  char            *filename;
  SlDownloadState  state;
  SlErrorKind      error_kind;
  char            *error_message;
  guint            http_status;
  gint64           bytes_received;
  gint64           bytes_total;
  GBytes          *resume_data;
  GVariant        *options;
  gint64           position;
  gint64           created_at;
  gint64           finished_at;
} SlStoreRecord;

SlStoreRecord *sl_store_record_new  (void);
SlStoreRecord *sl_store_record_copy (const SlStoreRecord *record);
void           sl_store_record_free (SlStoreRecord       *record);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SlStoreRecord, sl_store_record_free)

#define SL_TYPE_STORE (sl_store_get_type ())

G_DECLARE_FINAL_TYPE (SlStore, sl_store, SL, STORE, GObject)

SlStore   *sl_store_open            (const char           *path,
                                     char                **recovery_message,
                                     GError              **error);
GPtrArray *sl_store_load            (SlStore              *self,
                                     GError              **error);
GVariant  *sl_store_load_settings   (SlStore              *self,
                                     GError              **error);
void       sl_store_insert          (SlStore              *self,
                                     SlStoreRecord        *record);
void       sl_store_update          (SlStore              *self,
                                     const SlStoreRecord  *record);
void       sl_store_update_progress (SlStore              *self,
                                     gint64                id,
                                     gint64                bytes_received,
                                     gint64                bytes_total,
                                     GBytes               *resume_data);
void       sl_store_remove          (SlStore              *self,
                                     gint64                id);
void       sl_store_set_setting     (SlStore              *self,
                                     const char           *key,
                                     GVariant             *value);
void       sl_store_flush_async     (SlStore              *self,
                                     GCancellable         *cancellable,
                                     GAsyncReadyCallback   callback,
                                     gpointer              user_data);
gboolean   sl_store_flush_finish    (SlStore              *self,
                                     GAsyncResult         *result,
                                     GError              **error);
gboolean   sl_store_flush_sync      (SlStore              *self,
                                     GError              **error);

G_END_DECLS
