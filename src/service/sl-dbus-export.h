/* sl-dbus-export.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "sl-session.h"

G_BEGIN_DECLS

#define SL_TYPE_DBUS_EXPORT (sl_dbus_export_get_type ())

G_DECLARE_FINAL_TYPE (SlDBusExport, sl_dbus_export, SL, DBUS_EXPORT, GObject)

SlDBusExport *sl_dbus_export_new         (GApplication     *application);
gboolean      sl_dbus_export_register    (SlDBusExport     *self,
                                          GDBusConnection  *connection,
                                          const char       *object_path,
                                          GError          **error);
void          sl_dbus_export_unregister  (SlDBusExport     *self);
void          sl_dbus_export_set_session (SlDBusExport     *self,
                                          SlSession        *session);
const char   *sl_dbus_export_lookup_path (SlDBusExport     *self,
                                          SlDownload       *download);

G_END_DECLS
