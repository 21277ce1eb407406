/* sl-inhibitor.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define SL_TYPE_INHIBITOR (sl_inhibitor_get_type ())

G_DECLARE_FINAL_TYPE (SlInhibitor, sl_inhibitor, SL, INHIBITOR, GObject)

SlInhibitor *sl_inhibitor_new        (GDBusConnection *session_bus);
void         sl_inhibitor_set_active (SlInhibitor     *self,
                                      gboolean         active);
gboolean     sl_inhibitor_get_held   (SlInhibitor     *self);

G_END_DECLS
