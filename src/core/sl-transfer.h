/* sl-transfer.h
 *
 * One response body streamed into a download's partial file at its offsets.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

#include "sl-file-writer.h"
#include "sl-rate-limiter.h"

G_BEGIN_DECLS

#define SL_TYPE_TRANSFER (sl_transfer_get_type ())
G_DECLARE_FINAL_TYPE (SlTransfer, sl_transfer, SL, TRANSFER, GObject)

/**
 * SlTransferEnd:
 * @SL_TRANSFER_ENDED: the body ended (a clean end of stream)
 * @SL_TRANSFER_CANCELLED: the transfer was cancelled
 * @SL_TRANSFER_READ_FAILED: reading the body failed: the connection broke
 * @SL_TRANSFER_WRITE_FAILED: writing to the file failed
 * @SL_TRANSFER_OVERLAP_DIFFERS: the body did not begin with the overlap it was to begin with
 * @SL_TRANSFER_RANGE_DONE: the range ended, as sl_transfer_set_end() moved it, before the body
 * @SL_TRANSFER_STALLED: the server sent nothing for the stall timeout
 *
 * How a transfer ended. Whichever it was, every byte it handed to the writer has landed (or
 * failed to) by then.
 */
typedef enum
{
  SL_TRANSFER_ENDED,
  SL_TRANSFER_CANCELLED,
  SL_TRANSFER_READ_FAILED,
  SL_TRANSFER_WRITE_FAILED,
  SL_TRANSFER_OVERLAP_DIFFERS,
  SL_TRANSFER_RANGE_DONE,
  SL_TRANSFER_STALLED,
} SlTransferEnd;

SlTransfer    *sl_transfer_new               (SlFileWriter        *writer);
void           sl_transfer_set_body          (SlTransfer          *self,
                                              GInputStream        *body);
void           sl_transfer_set_stall_timeout (SlTransfer          *self,
                                              guint                seconds);
void           sl_transfer_set_buffer_size   (SlTransfer          *self,
                                              gsize                size);
void           sl_transfer_set_limiter       (SlTransfer          *self,
                                              SlRateLimiter       *limiter);

void           sl_transfer_send_async        (SlTransfer          *self,
                                              SoupSession         *session,
                                              SoupMessage         *message,
                                              GCancellable        *cancellable,
                                              GAsyncReadyCallback  callback,
                                              gpointer             user_data);
gboolean       sl_transfer_send_finish       (SlTransfer          *self,
                                              GAsyncResult        *result,
                                              GError             **error);
void           sl_transfer_run_async         (SlTransfer          *self,
                                              gint64               offset,
                                              GBytes              *overlap,
                                              GCancellable        *cancellable,
                                              GAsyncReadyCallback  callback,
                                              gpointer             user_data);
SlTransferEnd  sl_transfer_run_finish        (SlTransfer          *self,
                                              GAsyncResult        *result,
                                              GError             **error);

gboolean       sl_transfer_set_end           (SlTransfer          *self,
                                              gint64               end);
gint64         sl_transfer_get_handed        (SlTransfer          *self);
gint64         sl_transfer_get_position      (SlTransfer          *self);
SoupMessage   *sl_transfer_get_message       (SlTransfer          *self);
void           sl_transfer_cancel            (SlTransfer          *self);

G_END_DECLS
