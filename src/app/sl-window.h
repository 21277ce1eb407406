/* sl-window.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "sl-download-list.h"

G_BEGIN_DECLS

#define SL_TYPE_WINDOW (sl_window_get_type ())

G_DECLARE_FINAL_TYPE (SlWindow, sl_window, SL, WINDOW, AdwApplicationWindow)

/* The state filter, in the order of the drop-down. */
typedef enum
{
  SL_WINDOW_FILTER_ALL,
  SL_WINDOW_FILTER_ACTIVE,
  SL_WINDOW_FILTER_COMPLETED,
  SL_WINDOW_FILTER_FAILED,
} SlWindowFilter;

SlWindow       *sl_window_new               (GtkApplication     *application,
                                             SlDownloadList     *list);
SlDownloadList *sl_window_get_list          (SlWindow           *self);
GListModel     *sl_window_get_shown         (SlWindow           *self);
const char     *sl_window_get_page          (SlWindow           *self);
void            sl_window_set_filter        (SlWindow           *self,
                                             SlWindowFilter      filter);
void            sl_window_set_search        (SlWindow           *self,
                                             const char         *text);
void            sl_window_add_urls          (SlWindow           *self,
                                             const char * const *urls);
void            sl_window_show_error        (SlWindow           *self,
                                             const char         *message);
void            sl_window_set_connect_error (SlWindow           *self,
                                             const GError       *error);

G_END_DECLS
