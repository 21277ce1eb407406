/* sl-file-writer.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "sl-checksum.h"
#include "sl-segment-map.h"
#include "sl-types.h"

G_BEGIN_DECLS

#define SL_TYPE_FILE_WRITER (sl_file_writer_get_type ())

G_DECLARE_FINAL_TYPE (SlFileWriter, sl_file_writer, SL, FILE_WRITER, GObject)

SlFileWriter *sl_file_writer_new           (void);
void          sl_file_writer_set_split_extension (SlFileWriter *self,
                                            gboolean              split_extension);

void          sl_file_writer_create_async  (SlFileWriter         *self,
                                            const char           *directory,
                                            const char           *filename,
                                            SlNamePolicy          policy,
                                            GAsyncReadyCallback   callback,
                                            gpointer              user_data);
char         *sl_file_writer_create_finish (SlFileWriter         *self,
                                            GAsyncResult         *result,
                                            gint64               *existing,
                                            GBytes              **tail,
                                            GError              **error);
void          sl_file_writer_open_async    (SlFileWriter         *self,
                                            const char           *partial_path,
                                            gint64                length,
                                            guint64               device,
                                            guint64               inode,
                                            GAsyncReadyCallback   callback,
                                            gpointer              user_data);
gint64        sl_file_writer_open_finish   (SlFileWriter         *self,
                                            GAsyncResult         *result,
                                            char                **completed,
                                            GError              **error);
void          sl_file_writer_get_identity  (SlFileWriter         *self,
                                            guint64              *device,
                                            guint64              *inode);
void          sl_file_writer_write_async   (SlFileWriter         *self,
                                            guint8               *buffer,
                                            gsize                 length,
                                            gint64                offset,
                                            GAsyncReadyCallback   callback,
                                            gpointer              user_data);
guint8       *sl_file_writer_write_finish  (SlFileWriter         *self,
                                            GAsyncResult         *result,
                                            gsize                *written,
                                            GError              **error);
void          sl_file_writer_truncate_async (SlFileWriter        *self,
                                            gint64                length,
                                            GAsyncReadyCallback   callback,
                                            gpointer              user_data);
void          sl_file_writer_preallocate_async (SlFileWriter    *self,
                                            gint64                length,
                                            GAsyncReadyCallback   callback,
                                            gpointer              user_data);
void          sl_file_writer_hash_async    (SlFileWriter         *self,
                                            SlChecksumType        type,
                                            const SlSegmentMap   *on_disk,
                                            GAsyncReadyCallback   callback,
                                            gpointer              user_data);
void          sl_file_writer_sync_async    (SlFileWriter         *self,
                                            GAsyncReadyCallback   callback,
                                            gpointer              user_data);
void          sl_file_writer_close_async   (SlFileWriter         *self,
                                            GAsyncReadyCallback   callback,
                                            gpointer             user_data);
gboolean      sl_file_writer_finish        (SlFileWriter         *self,
                                            GAsyncResult         *result,
                                            GError              **error);
void          sl_file_writer_complete_async (SlFileWriter        *self,
                                            const char           *directory,
                                            const char           *filename,
                                            SlChecksumType        checksum,
                                            const char           *digest,
                                            SlNamePolicy          policy,
                                            GAsyncReadyCallback   callback,
                                            gpointer              user_data);
char         *sl_file_writer_complete_finish (SlFileWriter       *self,
                                            GAsyncResult         *result,
                                            GError              **error);
void          sl_file_writer_delete_async  (SlFileWriter         *self,
                                            GAsyncReadyCallback   callback,
                                            gpointer              user_data);


void          sl_file_writer_set_orphans   (SlFileWriter         *self,
                                            const char * const   *orphans);

void          sl_file_writer_set_claimed   (SlFileWriter         *self,
                                            const char * const   *claimed);

G_END_DECLS
