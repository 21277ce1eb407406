/* sl-file-writer.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "sl-file-writer.h"
#include "sl-checksum.h"
#include "sl-file-hasher.h"
#include "sl-filename.h"
#include "sl-segment-map.h"
#include "sl-types.h"

/* SlFileWriter owns one partial file and does every blocking operation on it (open, write,
 * fdatasync, rename) in order, on a worker thread, so the main loop never waits on the disk.
 * Each operation is a GTask run by a GThreadPool of at most one thread: the pool's queue keeps
 * the operations in the order they were asked for, and the tasks return to the caller's main
 * context. The caller bounds how many writes it has in flight.
 *
 * With a checksum to check, an SlFileHasher keeps the digest up on a thread of its own: each
 * write lends it the buffer, and returns once the hasher gives it back, so the writes go on
 * while it hashes and still return in order. Every other job waits until the hasher has given
 * back the writes before it, and holds it still while it runs. */

#define MAX_NUMBERED 10000
/* How much of an adopted partial file's end is compared with the server's bytes. */
#define ADOPT_OVERLAP (64 * 1024)

struct _SlFileWriter
{
  GObject      parent_instance;

  GThreadPool *pool;
  int          fd;             /* only touched on the worker thread, and in finalize */
  char        *path;           /* likewise */
  guint64      device;         /* identity of the open file, set by a create or open job */
  guint64      inode;
  gboolean     split_extension;  /* how names are numbered; copied into each job */
  GStrv        orphans;        /* numbered partial files that may be adopted; copied likewise */
  GStrv        claimed;        /* partial files other downloads own, even closed; likewise */

  /* The digest of the file's first bytes, kept up as writes land, while fd is open; worker
   * thread only. */
  SlFileHasher *hasher;
};

G_DEFINE_FINAL_TYPE (SlFileWriter, sl_file_writer, G_TYPE_OBJECT)

typedef enum
{
  OP_CREATE,
  OP_OPEN,
  OP_WRITE,
  OP_TRUNCATE,
  OP_PREALLOCATE,
  OP_HASH,
  OP_SYNC,
  OP_CLOSE,
  OP_COMPLETE,
  OP_DELETE,
} Op;

typedef struct
{
  Op      op;
  char   *directory;
  char   *filename;
  char   *path;
  char   *digest;            /* complete: the digest expected, hash: none */
  SlChecksumType checksum;
  SlSegmentMap *on_disk;     /* hash: the bytes in the file already */
  gboolean split_extension;
  guint8 *buffer;
  gsize   length;
  gsize   written;
  gint64  offset;
  SlNamePolicy policy;
  GStrv   orphans;
  GStrv   claimed;
  guint64 device;            /* open: the identity the partial file was recorded with */
  guint64 inode;
  char   *found;             /* open: where a missing partial file was found renamed */
  GError *error;             /* write: what it returns, once the hasher gave the buffer back */
} Job;

/* What a create job found. */
typedef struct
{
  char   *name;
  gint64  existing;          /* bytes of a partial file that was there already */
  GBytes *tail;              /* its last bytes, to compare with the server's */
} SlFileWriterCreated;

static void
sl_file_writer_created_free (SlFileWriterCreated *created)
{
  if (created == NULL)
    return;

  g_free (created->name);
  g_clear_pointer (&created->tail, g_bytes_unref);
  g_free (created);
}

static Job *
job_new (Op op)
{
  Job *job = g_new0 (Job, 1);

  job->op = op;
  return job;
}

static void
job_free (Job *job)
{
  g_free (job->directory);
  g_free (job->filename);
  g_free (job->path);
  g_free (job->digest);
  sl_segment_map_free (job->on_disk);
  g_free (job->found);
  g_strfreev (job->orphans);
  g_strfreev (job->claimed);
  g_clear_error (&job->error);
  /* A write whose result was never collected still owns its buffer. */
  g_free (job->buffer);
  g_free (job);
}

static void
set_errno_error (GError    **error,
                 int         saved_errno,
                 const char *what,
                 const char *path)
{
  g_autofree char *display = g_filename_display_name (path ? path : "");

  g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_FILE,
               /* Translators: the first %s is an action such as "Cannot write to" */
               "%s “%s”: %s", what, display, g_strerror (saved_errno));
}

static void
close_fd (SlFileWriter *self)
{
  /* The hasher reads the file: it stops first. */
  g_clear_pointer (&self->hasher, sl_file_hasher_free);
  if (self->fd >= 0)
    {
      close (self->fd);
      self->fd = -1;
    }
}

/* Takes @fd as the open partial file, locked against every other download: two writers of
 * one partial file would corrupt each other. Returns FALSE, closing @fd, if it cannot, with
 * @busy set if another download has it. */
static gboolean
take_fd (SlFileWriter  *self,
         int            fd,
         const char    *path,
         gboolean      *busy,
         GError       **error)
{
  struct stat st;

  *busy = FALSE;
  if (flock (fd, LOCK_EX | LOCK_NB) < 0)
    {
      int saved_errno = errno;
      g_autofree char *display = g_filename_display_name (path);

      *busy = saved_errno == EWOULDBLOCK;
      if (*busy)
        g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_FILE,
                     _("Another download is writing “%s”"), display);
      else
        set_errno_error (error, saved_errno, _("Cannot lock"), path);
      close (fd);
      return FALSE;
    }

  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode))
    {
      set_errno_error (error, fstat (fd, &st) < 0 ? errno : EINVAL, _("Cannot open"), path);
      close (fd);
      return FALSE;
    }

  close_fd (self);
  self->fd = fd;
  g_free (self->path);
  self->path = g_strdup (path);
  self->device = st.st_dev;
  self->inode = st.st_ino;
  return TRUE;
}

static gboolean
file_exists (const char *path)
{
  struct stat st;

  return lstat (path, &st) == 0;
}

/* The last bytes of the open file, up to ADOPT_OVERLAP, or NULL if they cannot be read. */
static GBytes *
read_tail (int    fd,
           gint64 size)
{
  gsize length = (gsize) MIN (size, (gint64) ADOPT_OVERLAP);
  g_autofree guint8 *data = g_malloc (MAX (length, 1));
  gsize done = 0;

  while (done < length)
    {
      ssize_t n = pread (fd, data + done, length - done, size - length + done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return NULL;
      done += n;
    }

  return g_bytes_new_take (g_steal_pointer (&data), length);
}

static void
sync_directory (const char *directory)
{
  int dfd = open (directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  /* The rename is only durable once the folder is; failing here changes nothing we can fix. */
  if (dfd >= 0)
    {
      fsync (dfd);
      close (dfd);
    }
}

/* Writes all of @length, or as much as the disk takes: *written says how much, which on a full
 * disk may be part of the buffer. */
static gboolean
write_all (int           fd,
           const guint8 *buffer,
           gsize         length,
           gint64        offset,
           gsize        *written,
           int          *saved_errno)
{
  *written = 0;
  while (*written < length)
    {
      ssize_t n = pwrite (fd, buffer + *written, length - *written, offset + *written);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          *saved_errno = errno;
          return FALSE;
        }

      *written += n;
    }

  return TRUE;
}

static void
do_create (SlFileWriter *self,
           GTask        *task,
           Job          *job)
{
  guint tries = job->policy == SL_NAME_POLICY_NUMBER ? MAX_NUMBERED : 1;

  for (guint n = 0; n < tries; n++)
    {
      g_autofree char *name = sl_filename_numbered (job->filename, n, job->split_extension);
      g_autofree char *final_path = g_build_filename (job->directory, name, NULL);
      g_autofree char *partial_name = g_strconcat (name, ".part", NULL);
      g_autofree char *partial_path = g_build_filename (job->directory, partial_name, NULL);
      g_autoptr (GError) error = NULL;
      SlFileWriterCreated *created;
      gboolean busy;
      struct stat st;
      int fd;

      if (job->policy != SL_NAME_POLICY_REPLACE && file_exists (final_path))
        {
          g_autofree char *display = NULL;

          if (job->policy == SL_NAME_POLICY_NUMBER)
            continue;
          display = g_filename_display_name (final_path);
          g_task_return_new_error (task, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_FILE,
                                   _("“%s” already exists"), display);
          return;
        }

      /* Another download's partial file, open or not, is never this one's. */
      if (job->claimed != NULL &&
          g_strv_contains ((const char * const *) job->claimed, partial_name))
        {
          g_autofree char *display = NULL;

          if (job->policy == SL_NAME_POLICY_NUMBER)
            continue;
          display = g_filename_display_name (partial_path);
          g_task_return_new_error (task, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_FILE,
                                   _("Another download is writing “%s”"), display);
          return;
        }

      /* A partial file of the name wanted, without resume data, is adopted: the download
       * checks its bytes against the server's before it continues them. One of a numbered
       * name is another download's, and left alone. */
      fd = open (partial_path,
                 O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
                 (n > 0 && !(job->orphans && g_strv_contains ((const char * const *) job->orphans,
                                                              partial_name)) ? O_EXCL : 0),
                 0644);
      if (fd < 0 && errno == EEXIST)
        continue;
      if (fd < 0)
        {
          set_errno_error (&error, errno, _("Cannot create"), partial_path);
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      if (!take_fd (self, fd, partial_path, &busy, &error))
        {
          /* Another download has it: a name of its own is as good, unless the user chose
           * this one. */
          if (busy && job->policy == SL_NAME_POLICY_NUMBER)
            continue;
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }

      created = g_new0 (SlFileWriterCreated, 1);
      created->name = g_steal_pointer (&name);
      if (fstat (self->fd, &st) == 0 && st.st_size > 0)
        {
          created->tail = read_tail (self->fd, st.st_size);
          created->existing = created->tail != NULL ? st.st_size : 0;
        }
      g_task_return_pointer (task, created, (GDestroyNotify) sl_file_writer_created_free);
      return;
    }

  g_task_return_new_error (task, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_FILE,
                           _("Cannot find a free name for “%s”"), job->filename);
}

/* A partial file that is gone may have been renamed to its final name just before a crash:
 * the file of that name, or a numbered one, with the same identity is it. */
static char *
find_renamed (const char *partial_path,
              guint64     device,
              guint64     inode,
              gboolean    split_extension)
{
  g_autofree char *directory = g_path_get_dirname (partial_path);
  g_autofree char *partial_name = g_path_get_basename (partial_path);
  g_autofree char *filename = NULL;

  if (inode == 0 || !g_str_has_suffix (partial_name, ".part"))
    return NULL;

  filename = g_strndup (partial_name, strlen (partial_name) - strlen (".part"));
  for (guint n = 0; n < MAX_NUMBERED; n++)
    {
      g_autofree char *name = sl_filename_numbered (filename, n, split_extension);
      g_autofree char *path = g_build_filename (directory, name, NULL);
      struct stat st;

      if (lstat (path, &st) < 0)
        return NULL;
      if (S_ISREG (st.st_mode) && st.st_dev == device && st.st_ino == inode)
        return g_steal_pointer (&path);
    }

  return NULL;
}

static void
do_open (SlFileWriter *self,
         GTask        *task,
         Job          *job)
{
  struct stat st;
  gint64 usable;
  gboolean busy;
  int fd;
  GError *error = NULL;

  fd = open (job->path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT)
    {
      job->found = find_renamed (job->path, job->device, job->inode, job->split_extension);
      if (job->found != NULL)
        {
          g_task_return_int (task, 0);
          return;
        }
      fd = open (job->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    }
  if (fd < 0)
    {
      set_errno_error (&error, errno, _("Cannot open"), job->path);
      g_task_return_error (task, error);
      return;
    }

  if (!take_fd (self, fd, job->path, &busy, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  /* Nothing beyond what was flushed and recorded is trusted; a file shorter than recorded lost
   * bytes we cannot vouch for, so it starts again from nothing. */
  usable = fstat (self->fd, &st) == 0 && st.st_size >= job->offset ? job->offset : 0;
  if (ftruncate (self->fd, usable) < 0)
    {
      set_errno_error (&error, errno, _("Cannot truncate"), job->path);
      close_fd (self);
      g_task_return_error (task, error);
      return;
    }

  g_task_return_int (task, usable);
}

static void
return_write (gpointer data)
{
  g_autoptr (GTask) task = data;
  Job *job = g_task_get_task_data (task);

  if (job->error != NULL)
    g_task_return_error (task, g_steal_pointer (&job->error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
do_write (SlFileWriter *self,
          GTask        *task,
          Job          *job)
{
  int saved_errno = 0;

  if (!write_all (self->fd, job->buffer, job->length, job->offset, &job->written, &saved_errno))
    set_errno_error (&job->error, saved_errno, _("Cannot write to"), self->path);
  else
    {
      /* Start writeback now, without waiting for it, so that the fdatasync of a pause or of
       * the completion only has the last few buffers left to flush. */
      sync_file_range (self->fd, job->offset, job->length, SYNC_FILE_RANGE_WRITE);
    }

  /* What a failed write got onto the disk counts for the digest too. */
  if (self->hasher != NULL)
    sl_file_hasher_add (self->hasher, job->buffer, job->offset, job->written, return_write,
                        g_object_ref (task));
  else
    return_write (g_object_ref (task));
}

static gboolean
rename_no_replace (const char *from,
                   const char *to,
                   int        *saved_errno)
{
#ifdef RENAME_NOREPLACE
  if (renameat2 (AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
    return TRUE;
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
    {
      *saved_errno = errno;
      return FALSE;
    }
#endif

  /* Where the file system cannot rename without replacing, a hard link fails atomically on an
   * existing name, and the partial name is dropped once the final one exists. */
  if (link (from, to) < 0)
    {
      *saved_errno = errno;
      return FALSE;
    }
  unlink (from);
  return TRUE;
}

static void
do_complete (SlFileWriter *self,
             GTask        *task,
             Job          *job)
{
  GError *error = NULL;

  if (self->fd < 0 || fdatasync (self->fd) < 0)
    {
      set_errno_error (&error, self->fd < 0 ? EBADF : errno, _("Cannot flush"), self->path);
      g_task_return_error (task, error);
      return;
    }

  if (job->digest != NULL)
    {
      g_autofree char *actual = NULL;
      struct stat st;
      int saved_errno = 0;

      /* What the hasher did not take as the writes landed is read back now. */
      if (self->hasher == NULL ||
          sl_file_hasher_get_checksum_type (self->hasher) != job->checksum)
        {
          g_clear_pointer (&self->hasher, sl_file_hasher_free);
          self->hasher = sl_file_hasher_new (job->checksum, self->fd, NULL);
          sl_file_hasher_pause (self->hasher);
        }
      if (fstat (self->fd, &st) < 0)
        saved_errno = errno;
      else
        actual = sl_file_hasher_finish (self->hasher, st.st_size, &saved_errno);
      g_clear_pointer (&self->hasher, sl_file_hasher_free);
      if (actual == NULL)
        {
          set_errno_error (&error, saved_errno, _("Cannot read"), self->path);
          g_task_return_error (task, error);
          return;
        }

      if (g_ascii_strcasecmp (actual, job->digest) != 0)
        {
          /* The bytes stay under the partial name, for whoever wants to look at them. */
          close_fd (self);
          g_task_return_new_error (task, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_CHECKSUM,
                                   /* Translators: an algorithm such as sha256, and two digests */
                                   _("Checksum mismatch: expected %s %s, got %s"),
                                   sl_checksum_type_name (job->checksum), job->digest, actual);
          return;
        }
    }

  /* The partial file stays open, and so locked, until it has its final name. */
  for (guint n = 0; n < (job->policy == SL_NAME_POLICY_NUMBER ? MAX_NUMBERED : 1); n++)
    {
      g_autofree char *name = sl_filename_numbered (job->filename, n, job->split_extension);
      g_autofree char *final_path = g_build_filename (job->directory, name, NULL);
      int saved_errno = 0;
      gboolean renamed;

      if (job->policy == SL_NAME_POLICY_REPLACE)
        {
          renamed = rename (self->path, final_path) == 0;
          saved_errno = errno;
        }
      else
        renamed = rename_no_replace (self->path, final_path, &saved_errno);

      if (renamed)
        {
          close_fd (self);
          sync_directory (job->directory);
          g_task_return_pointer (task, g_steal_pointer (&final_path), g_free);
          return;
        }

      if (saved_errno == EEXIST && job->policy == SL_NAME_POLICY_EXACT)
        {
          g_autofree char *display = g_filename_display_name (final_path);

          g_task_return_new_error (task, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_FILE,
                                   _("“%s” already exists"), display);
          return;
        }

      if (saved_errno != EEXIST)
        {
          set_errno_error (&error, saved_errno, _("Cannot rename to"), final_path);
          g_task_return_error (task, error);
          return;
        }
    }

  g_task_return_new_error (task, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_FILE,
                           _("Cannot find a free name for “%s”"), job->filename);
}

static void
run_job (gpointer data,
         gpointer user_data)
{
  g_autoptr (GTask) task = data;
  SlFileWriter *self = g_task_get_source_object (task);
  Job *job = g_task_get_task_data (task);
  GError *error = NULL;

  /* Anything but a write waits until the hasher gave back the writes before it, so that
   * results come back in the order asked, and keeps it still: it may cut or close the file. */
  if (job->op != OP_WRITE && self->hasher != NULL)
    sl_file_hasher_pause (self->hasher);

  switch (job->op)
    {
    case OP_CREATE:
      do_create (self, task, job);
      break;

    case OP_OPEN:
      do_open (self, task, job);
      break;

    case OP_WRITE:
      do_write (self, task, job);
      break;

    case OP_TRUNCATE:
      if (self->hasher != NULL)
        sl_file_hasher_forget_after (self->hasher, job->offset);
      if (self->fd < 0 || ftruncate (self->fd, job->offset) < 0)
        {
          set_errno_error (&error, self->fd < 0 ? EBADF : errno, _("Cannot truncate"),
                           self->path ? self->path : "");
          g_task_return_error (task, error);
        }
      else
        g_task_return_boolean (task, TRUE);
      break;

    case OP_HASH:
      /* The bytes on disk already are read back on the hasher's thread, once resumed. */
      g_clear_pointer (&self->hasher, sl_file_hasher_free);
      if (self->fd >= 0)
        self->hasher = sl_file_hasher_new (job->checksum, self->fd, job->on_disk);
      g_task_return_boolean (task, TRUE);
      break;

    case OP_PREALLOCATE:
      /* The size stays: it is what tells how much a partial file without resume data holds.
       * A file system that cannot preallocate only loses the early warning. */
      if (self->fd >= 0 && fallocate (self->fd, FALLOC_FL_KEEP_SIZE, 0, job->offset) < 0 &&
          (errno == ENOSPC || errno == EDQUOT))
        {
          set_errno_error (&error, errno, _("Not enough space for"), self->path);
          g_task_return_error (task, error);
        }
      else
        g_task_return_boolean (task, TRUE);
      break;

    case OP_SYNC:
      if (self->fd >= 0 && fdatasync (self->fd) < 0)
        {
          set_errno_error (&error, errno, _("Cannot flush"), self->path);
          g_task_return_error (task, error);
        }
      else
        g_task_return_boolean (task, TRUE);
      break;

    case OP_CLOSE:
      if (self->fd >= 0 && fdatasync (self->fd) < 0)
        {
          set_errno_error (&error, errno, _("Cannot flush"), self->path);
          close_fd (self);
          g_task_return_error (task, error);
        }
      else
        {
          close_fd (self);
          g_task_return_boolean (task, TRUE);
        }
      break;

    case OP_COMPLETE:
      do_complete (self, task, job);
      break;

    case OP_DELETE:
      close_fd (self);
      if (self->path != NULL && unlink (self->path) < 0 && errno != ENOENT)
        {
          set_errno_error (&error, errno, _("Cannot delete"), self->path);
          g_task_return_error (task, error);
        }
      else
        g_task_return_boolean (task, TRUE);
      break;

    default:
      g_assert_not_reached ();
    }

  if (job->op != OP_WRITE && self->hasher != NULL)
    sl_file_hasher_resume (self->hasher);
}

static void
sl_file_writer_finalize (GObject *object)
{
  SlFileWriter *self = (SlFileWriter *) object;

  /* Every queued job holds a reference, so the queue is empty by now; the last reference may
   * be dropped on the worker thread itself, which must not wait for itself. */
  if (self->pool != NULL)
    g_thread_pool_free (self->pool, FALSE, FALSE);
  close_fd (self);
  g_free (self->path);
  g_strfreev (self->orphans);
  g_strfreev (self->claimed);

  G_OBJECT_CLASS (sl_file_writer_parent_class)->finalize (object);
}

static void
sl_file_writer_class_init (SlFileWriterClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sl_file_writer_finalize;
}

static void
sl_file_writer_init (SlFileWriter *self)
{
  self->fd = -1;
  self->split_extension = TRUE;
}

SlFileWriter *
sl_file_writer_new (void)
{
  return g_object_new (SL_TYPE_FILE_WRITER, NULL);
}

/**
 * sl_file_writer_set_orphans:
 * @self: a writer
 * @orphans: (nullable): names of partial files, in the folder of the next create, that no
 *   download claims
 *
 * A numbered partial file is another download's and left alone, unless it is one of these:
 * then a create of that name adopts it, as it adopts the partial file of the name wanted.
 */
void
sl_file_writer_set_orphans (SlFileWriter       *self,
                            const char * const *orphans)
{
  g_return_if_fail (SL_IS_FILE_WRITER (self));

  g_strfreev (self->orphans);
  self->orphans = g_strdupv ((char **) orphans);
}

/**
 * sl_file_writer_set_claimed:
 * @self: a writer
 * @claimed: (nullable): names of partial files, in the folder of the next create, that other
 *   downloads own
 *
 * A create never takes these, even while their downloads do not have them open (and so not
 * locked): a paused download's partial file is still its own.
 */
void
sl_file_writer_set_claimed (SlFileWriter       *self,
                            const char * const *claimed)
{
  g_return_if_fail (SL_IS_FILE_WRITER (self));

  g_strfreev (self->claimed);
  self->claimed = g_strdupv ((char **) claimed);
}

/**
 * sl_file_writer_set_split_extension:
 * @self: a writer
 * @split_extension: whether the number of a name that is taken goes before its extension
 *
 * Says how the names that create and complete try are numbered, as sl_filename_guess() found
 * for the name (sl_filename_numbered()). %TRUE until set.
 */
void
sl_file_writer_set_split_extension (SlFileWriter *self,
                                    gboolean      split_extension)
{
  g_return_if_fail (SL_IS_FILE_WRITER (self));

  self->split_extension = split_extension;
}

static void
queue_job (SlFileWriter        *self,
           Job                 *job,
           gpointer             source_tag,
           GAsyncReadyCallback  callback,
           gpointer             user_data)
{
  /* No cancellable: a job that ran must report what it did (a created file, bytes written),
   * which a cancelled task would hide. */
  GTask *task = g_task_new (self, NULL, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);

  if (self->pool == NULL)
    self->pool = g_thread_pool_new (run_job, self, 1, FALSE, NULL);
  g_thread_pool_push (self->pool, task, NULL);
}

/**
 * sl_file_writer_create_async:
 * @self: a writer
 * @directory: the destination folder
 * @filename: the final name wanted
 * @policy: what to do when a file of that name exists
 *
 * Opens `NAME.part` for @filename, or with %SL_NAME_POLICY_NUMBER for the first of `NAME`,
 * `NAME (1)`, … whose final file does not exist and whose partial file no other download
 * holds, creating it if needed. The partial file is locked while it is open. A partial file
 * that was there already is kept: the result says how long it is and gives its last bytes.
 */
void
sl_file_writer_create_async (SlFileWriter        *self,
                             const char          *directory,
                             const char          *filename,
                             SlNamePolicy         policy,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  Job *job;

  g_return_if_fail (SL_IS_FILE_WRITER (self));
  g_return_if_fail (directory != NULL && filename != NULL);

  job = job_new (OP_CREATE);
  job->directory = g_strdup (directory);
  job->filename = g_strdup (filename);
  job->policy = policy;
  job->split_extension = self->split_extension;
  job->orphans = g_strdupv (self->orphans);
  job->claimed = g_strdupv (self->claimed);
  queue_job (self, job, sl_file_writer_create_async, callback, user_data);
}

/**
 * sl_file_writer_create_finish:
 * @existing: (out): bytes of a partial file that was there already, 0 for a new one
 * @tail: (out) (transfer full) (nullable): the last bytes of such a file, up to 64 KiB
 *
 * Returns: (transfer full): the final name chosen, or %NULL on error
 */
char *
sl_file_writer_create_finish (SlFileWriter  *self,
                              GAsyncResult  *result,
                              gint64        *existing,
                              GBytes       **tail,
                              GError       **error)
{
  SlFileWriterCreated *created;
  char *name;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  *existing = 0;
  *tail = NULL;
  created = g_task_propagate_pointer (G_TASK (result), error);
  if (created == NULL)
    return NULL;

  name = g_steal_pointer (&created->name);
  *existing = created->existing;
  *tail = g_steal_pointer (&created->tail);
  sl_file_writer_created_free (created);
  return name;
}

/**
 * sl_file_writer_get_identity:
 * @device: (out): the device of the open partial file
 * @inode: (out): its inode
 *
 * Tells which file the writer has open, as the last create or open left it, so that the file
 * is recognised under its final name after a crash. Zero when none is open.
 */
void
sl_file_writer_get_identity (SlFileWriter *self,
                             guint64      *device,
                             guint64      *inode)
{
  g_return_if_fail (SL_IS_FILE_WRITER (self));

  *device = self->device;
  *inode = self->inode;
}

/**
 * sl_file_writer_open_async:
 * @self: a writer
 * @partial_path: an existing partial file
 * @length: how many bytes of it were recorded as flushed
 *
 * @device: the device the partial file was recorded with, or 0
 * @inode: its inode, or 0
 *
 * Opens a partial file to continue it, and locks it. Bytes past @length are cut off; a file
 * shorter than @length (or missing) is emptied. A missing file that was renamed to its final
 * name (recognised by @device and @inode) is not recreated: the finish call says where it is.
 * The result is the length the download continues from.
 */
void
sl_file_writer_open_async (SlFileWriter        *self,
                           const char          *partial_path,
                           gint64               length,
                           guint64              device,
                           guint64              inode,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  Job *job;

  g_return_if_fail (SL_IS_FILE_WRITER (self));
  g_return_if_fail (partial_path != NULL && length >= 0);

  job = job_new (OP_OPEN);
  job->path = g_strdup (partial_path);
  job->offset = length;
  job->device = device;
  job->inode = inode;
  job->split_extension = self->split_extension;
  queue_job (self, job, sl_file_writer_open_async, callback, user_data);
}

/**
 * sl_file_writer_open_finish:
 * @completed: (out) (transfer full) (nullable): the final file, when the partial file was
 *   found renamed to it, else %NULL
 *
 * Returns: the length the download continues from, or -1 on error
 */
gint64
sl_file_writer_open_finish (SlFileWriter  *self,
                            GAsyncResult  *result,
                            char         **completed,
                            GError       **error)
{
  Job *job;

  g_return_val_if_fail (g_task_is_valid (result, self), -1);

  job = g_task_get_task_data (G_TASK (result));
  *completed = g_steal_pointer (&job->found);
  return g_task_propagate_int (G_TASK (result), error);
}

/**
 * sl_file_writer_write_async:
 * @buffer: (transfer full): bytes allocated with g_malloc(), handed back by the finish call
 *
 * Writes @length bytes at @offset. Writes happen in the order they are asked for.
 */
void
sl_file_writer_write_async (SlFileWriter        *self,
                            guint8              *buffer,
                            gsize                length,
                            gint64               offset,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  Job *job;

  g_return_if_fail (SL_IS_FILE_WRITER (self));

  job = job_new (OP_WRITE);
  job->buffer = buffer;
  job->length = length;
  job->offset = offset;
  queue_job (self, job, sl_file_writer_write_async, callback, user_data);
}

/**
 * sl_file_writer_write_finish:
 * @written: (out): how many bytes were written: all of them, unless the write failed part way
 *
 * Returns: (transfer full): the buffer given to the write, for reuse, even when the write failed
 */
guint8 *
sl_file_writer_write_finish (SlFileWriter  *self,
                             GAsyncResult  *result,
                             gsize         *written,
                             GError       **error)
{
  Job *job;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  job = g_task_get_task_data (G_TASK (result));
  *written = job->written;
  g_task_propagate_boolean (G_TASK (result), error);

  return g_steal_pointer (&job->buffer);
}

void
sl_file_writer_truncate_async (SlFileWriter        *self,
                               gint64               length,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  Job *job;

  g_return_if_fail (SL_IS_FILE_WRITER (self));

  job = job_new (OP_TRUNCATE);
  job->offset = length;
  queue_job (self, job, sl_file_writer_truncate_async, callback, user_data);
}

/**
 * sl_file_writer_preallocate_async:
 * @length: the whole file's length
 *
 * Reserves the disk space for @length bytes without changing the file's size, so that a disk
 * too full for the download says so before the first byte. It fails only for want of space.
 */
void
sl_file_writer_preallocate_async (SlFileWriter        *self,
                                  gint64               length,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  Job *job;

  g_return_if_fail (SL_IS_FILE_WRITER (self));
  g_return_if_fail (length > 0);

  job = job_new (OP_PREALLOCATE);
  job->offset = length;
  queue_job (self, job, sl_file_writer_preallocate_async, callback, user_data);
}

/**
 * sl_file_writer_hash_async:
 * @type: the algorithm
 * @on_disk: (nullable): the bytes the file holds already
 *
 * Starts the digest of the file's bytes from the first, kept up as writes land from now on,
 * so that completing it with a digest to check has little left to read. A truncation takes
 * back what it cut.
 */
void
sl_file_writer_hash_async (SlFileWriter        *self,
                           SlChecksumType       type,
                           const SlSegmentMap  *on_disk,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  Job *job;

  g_return_if_fail (SL_IS_FILE_WRITER (self));

  job = job_new (OP_HASH);
  job->checksum = type;
  job->on_disk = on_disk != NULL ? sl_segment_map_copy (on_disk) : NULL;
  queue_job (self, job, sl_file_writer_hash_async, callback, user_data);
}

/**
 * sl_file_writer_sync_async:
 *
 * Flushes the partial file to disk (fdatasync). It completes after every write asked for
 * before it.
 */
void
sl_file_writer_sync_async (SlFileWriter        *self,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  Job *job;

  g_return_if_fail (SL_IS_FILE_WRITER (self));

  job = job_new (OP_SYNC);
  queue_job (self, job, sl_file_writer_sync_async, callback, user_data);
}

/**
 * sl_file_writer_close_async:
 *
 * Flushes the partial file to disk and closes it, which lets another download have it. It
 * completes after every write asked for before it.
 */
void
sl_file_writer_close_async (SlFileWriter        *self,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_return_if_fail (SL_IS_FILE_WRITER (self));

  queue_job (self, job_new (OP_CLOSE), sl_file_writer_close_async, callback, user_data);
}

/**
 * sl_file_writer_delete_async:
 *
 * Closes and deletes the partial file.
 */
void
sl_file_writer_delete_async (SlFileWriter        *self,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  Job *job;

  g_return_if_fail (SL_IS_FILE_WRITER (self));

  job = job_new (OP_DELETE);
  queue_job (self, job, sl_file_writer_delete_async, callback, user_data);
}

/**
 * sl_file_writer_finish:
 *
 * Collects the result of a truncate, preallocation, sync, close or delete.
 */
gboolean
sl_file_writer_finish (SlFileWriter  *self,
                       GAsyncResult  *result,
                       GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * sl_file_writer_complete_async:
 * @checksum: the algorithm of @digest
 * @digest: (nullable): the digest the file must have, in hex, or %NULL for none
 * @policy: what to do when a file of that name exists
 *
 * Flushes and closes the partial file, checks its checksum if one is given, and renames it to
 * @filename in @directory: with %SL_NAME_POLICY_NUMBER the first free of `@filename`,
 * `@filename (1)`, …, never replacing a file; with %SL_NAME_POLICY_EXACT that name or an
 * error; with %SL_NAME_POLICY_REPLACE that name, replacing any file there in one step. The
 * result is the final path.
 */
void
sl_file_writer_complete_async (SlFileWriter        *self,
                               const char          *directory,
                               const char          *filename,
                               SlChecksumType       checksum,
                               const char          *digest,
                               SlNamePolicy         policy,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  Job *job;

  g_return_if_fail (SL_IS_FILE_WRITER (self));

  job = job_new (OP_COMPLETE);
  job->directory = g_strdup (directory);
  job->filename = g_strdup (filename);
  job->split_extension = self->split_extension;
  job->checksum = checksum;
  job->digest = g_strdup (digest);
  job->policy = policy;
  queue_job (self, job, sl_file_writer_complete_async, callback, user_data);
}

char *
sl_file_writer_complete_finish (SlFileWriter  *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
