/* sl-download-row.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

#include "sl-dbus-generated.h"

G_BEGIN_DECLS

#define SL_TYPE_DOWNLOAD_ROW (sl_download_row_get_type ())

G_DECLARE_FINAL_TYPE (SlDownloadRow, sl_download_row, SL, DOWNLOAD_ROW, GtkWidget)

SlDBusDownload1 *sl_download_row_get_download (SlDownloadRow   *self);
void             sl_download_row_set_download (SlDownloadRow   *self,
                                               SlDBusDownload1 *download);

G_END_DECLS
