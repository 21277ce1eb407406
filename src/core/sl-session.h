/* sl-session.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

#include "sl-download.h"
#include "sl-store.h"

G_BEGIN_DECLS

#define SL_TYPE_SESSION (sl_session_get_type ())

G_DECLARE_FINAL_TYPE (SlSession, sl_session, SL, SESSION, GObject)

SlSession   *sl_session_new                   (SlStore      *store);

SlDownload  *sl_session_add                   (SlSession    *self,
                                               const char   *uri,
                                               GVariant     *options,
                                               GError      **error);
void         sl_session_remove                (SlSession    *self,
                                               SlDownload   *download,
                                               gboolean      delete_file);
void         sl_session_pause                 (SlSession    *self,
                                               SlDownload   *download);
void         sl_session_resume                (SlSession    *self,
                                               SlDownload   *download);
void         sl_session_pause_all             (SlSession    *self);
void         sl_session_resume_all            (SlSession    *self);
void         sl_session_shutdown              (SlSession    *self);
gboolean     sl_session_move                  (SlSession    *self,
                                               SlDownload   *download,
                                               guint         position);

gint64       sl_session_get_id                (SlSession    *self,
                                               SlDownload   *download);
SlDownload  *sl_session_lookup                (SlSession    *self,
                                               gint64        id);

guint        sl_session_get_max_active        (SlSession    *self);
void         sl_session_set_max_active        (SlSession    *self,
                                               guint         max_active);
guint        sl_session_get_max_per_host      (SlSession    *self);
void         sl_session_set_max_per_host      (SlSession    *self,
                                               guint         max_per_host);
void         sl_session_set_speed_limit       (SlSession    *self,
                                               SlDownload   *download,
                                               guint64       bytes_per_second);
guint64      sl_session_get_max_speed         (SlSession    *self);
void         sl_session_set_max_speed         (SlSession    *self,
                                               guint64       bytes_per_second);
guint        sl_session_get_connections       (SlSession    *self);
void         sl_session_set_connections       (SlSession    *self,
                                               guint         connections);
guint        sl_session_get_n_active          (SlSession    *self);
GFile       *sl_session_get_default_directory (SlSession    *self);
void         sl_session_set_default_directory (SlSession    *self,
                                               GFile        *directory);
SoupSession *sl_session_get_soup_session      (SlSession    *self);

G_END_DECLS
