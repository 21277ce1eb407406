/* sl-application.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "sl-download-list.h"

G_BEGIN_DECLS

#define SL_TYPE_APPLICATION (sl_application_get_type ())

G_DECLARE_FINAL_TYPE (SlApplication, sl_application, SL, APPLICATION, AdwApplication)

SlApplication  *sl_application_new          (void);
void            sl_application_quit         (SlApplication *self);
gboolean        sl_application_get_background (SlApplication *self);
SlDownloadList *sl_application_get_list     (SlApplication *self);
GSettings      *sl_application_get_settings (SlApplication *self);
GtkWindow      *sl_application_get_window   (SlApplication *self);

/* sl-application-actions.c */
void           _sl_application_add_actions  (SlApplication *self);

G_END_DECLS
