/* sl-file-hasher.h
 *
 * The digest of a file's first bytes, kept up on a thread of its own as the file is written:
 * from the buffers of the writes that extend them, and from the file for the rest.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

#include "sl-checksum.h"
#include "sl-segment-map.h"

G_BEGIN_DECLS

typedef struct _SlFileHasher SlFileHasher;

SlFileHasher  *sl_file_hasher_new         (SlChecksumType       type,
                                           int                  fd,
                                           const SlSegmentMap  *on_disk);
void           sl_file_hasher_free        (SlFileHasher        *self);
SlChecksumType sl_file_hasher_get_checksum_type (SlFileHasher  *self);

void           sl_file_hasher_add         (SlFileHasher        *self,
                                           const guint8        *buffer,
                                           gint64               offset,
                                           gsize                length,
                                           GDestroyNotify       release,
                                           gpointer             data);

void           sl_file_hasher_pause       (SlFileHasher        *self);
void           sl_file_hasher_resume      (SlFileHasher        *self);
void           sl_file_hasher_forget_after (SlFileHasher       *self,
                                           gint64               length);
char          *sl_file_hasher_finish      (SlFileHasher        *self,
                                           gint64               size,
                                           int                 *saved_errno);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SlFileHasher, sl_file_hasher_free)

G_END_DECLS
