/* sl-add-dialog.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "sl-dbus-generated.h"

G_BEGIN_DECLS

#define SL_TYPE_ADD_DIALOG (sl_add_dialog_get_type ())

G_DECLARE_FINAL_TYPE (SlAddDialog, sl_add_dialog, SL, ADD_DIALOG, AdwWindow)

SlAddDialog *sl_add_dialog_new        (GtkWindow      *parent,
                                       SlDBusManager1 *manager,
                                       const char     *uri,
                                       const char     *directory);
void         sl_add_dialog_set_uri    (SlAddDialog    *self,
                                       const char     *uri);
void         sl_add_dialog_set_filename (SlAddDialog  *self,
                                       const char     *filename);
void         sl_add_dialog_set_paused (SlAddDialog    *self,
                                       gboolean        paused);
const char  *sl_add_dialog_get_error  (SlAddDialog    *self);

G_END_DECLS
