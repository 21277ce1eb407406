/* sl-resume-data.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

#include "sl-segment-map.h"

G_BEGIN_DECLS

#define SL_RESUME_DATA_VERSION 1

/* What a download needs to continue where it stopped. Serialised as a versioned GVariant a{sv},
 * behind a magic so that any other file is refused at once. */
typedef struct
{
  char   *uri;             /* as the user gave it */
  char   *final_uri;       /* after redirects, or NULL */
  char   *directory;       /* absolute path of the destination folder */
  char   *filename;        /* final name wanted */
  char   *partial_path;    /* absolute path of the .part file, or NULL before it exists */
  char   *etag;            /* strong or weak, as the server sent it, or NULL */
  char   *last_modified;   /* as the server sent it, or NULL */
  char   *content_type;    /* as the server sent it, or NULL */
  gint64  total;           /* entity length, or -1 */
  gint64  received;        /* bytes of the .part file flushed to disk, wherever they are */
  SlSegmentMap *done;      /* which bytes those are; NULL: the first @received */
  gboolean explicit_name;  /* the user chose the name: no Content-Disposition lookup */
  guint64 device;          /* identity of the partial file, which a rename keeps, or 0 */
  guint64 inode;
  gboolean split_extension;  /* numbering keeps the name's extension apart (not a host) */
} SlResumeData;

SlResumeData *sl_resume_data_new       (void);
void          sl_resume_data_free      (SlResumeData  *data);
GBytes       *sl_resume_data_serialize (const SlResumeData *data);
SlResumeData *sl_resume_data_parse     (GBytes        *bytes,
                                        GError       **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SlResumeData, sl_resume_data_free)

G_END_DECLS
