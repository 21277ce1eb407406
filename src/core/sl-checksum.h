/* sl-checksum.h
 *
 * A running message digest (MD5, SHA-1, SHA-256, SHA-512) through Nettle, which uses the CPU's
 * SHA instructions where it has them, the "ALGORITHM=HEX" form users give checksums in, and the
 * digest of a whole file, read on a thread.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum
{
  SL_CHECKSUM_MD5,
  SL_CHECKSUM_SHA1,
  SL_CHECKSUM_SHA256,
  SL_CHECKSUM_SHA512,
} SlChecksumType;

typedef struct _SlChecksum SlChecksum;

SlChecksum *sl_checksum_new         (SlChecksumType   type);
void        sl_checksum_free        (SlChecksum      *self);
void        sl_checksum_reset       (SlChecksum      *self);
void        sl_checksum_update      (SlChecksum      *self,
                                     const guint8    *data,
                                     gsize            length);
char       *sl_checksum_get_hex     (SlChecksum      *self);
SlChecksumType sl_checksum_get_type (SlChecksum      *self);

const char *sl_checksum_type_name   (SlChecksumType   type);
gboolean    sl_checksum_parse_spec  (const char      *spec,
                                     SlChecksumType  *type,
                                     char           **hex,
                                     GError         **error);

void        sl_checksum_file_async  (GFile               *file,
                                     SlChecksumType       type,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data);
char       *sl_checksum_file_finish (GAsyncResult        *result,
                                     GError             **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SlChecksum, sl_checksum_free)

G_END_DECLS
