/* sl-download-list.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "sl-dbus-generated.h"

G_BEGIN_DECLS

#define SL_TYPE_DOWNLOAD_LIST (sl_download_list_get_type ())

G_DECLARE_FINAL_TYPE (SlDownloadList, sl_download_list, SL, DOWNLOAD_LIST, GObject)

SlDownloadList  *sl_download_list_new            (GDBusConnection      *connection);
void             sl_download_list_connect_async  (SlDownloadList       *self,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
gboolean         sl_download_list_connect_finish (SlDownloadList       *self,
                                                  GAsyncResult         *result,
                                                  GError              **error);
gboolean         sl_download_list_get_loaded     (SlDownloadList       *self);
const GError    *sl_download_list_get_error      (SlDownloadList       *self);
void             sl_download_list_retry          (SlDownloadList       *self);
SlDBusManager1  *sl_download_list_get_manager    (SlDownloadList       *self);
SlDBusDownload1 *sl_download_list_lookup         (SlDownloadList       *self,
                                                  const char           *object_path);
void             sl_download_list_clear_finished (SlDownloadList       *self);

G_END_DECLS
