/* sl-file-hasher.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <unistd.h>

#include "sl-file-hasher.h"

/* SlFileHasher keeps the digest of a partial file's first bytes while the file is written, so
 * that the check of a completed download has little left to read. It works on a thread of its
 * own, so that writing never waits for hashing.
 *
 * Its owner writes, then hands the buffer over with sl_file_hasher_add(). A buffer that
 * extends the bytes the digest will have taken is hashed from memory; the owner gets it back
 * (through its release function) once that is done, and every buffer comes back in the order
 * it was added. A buffer that does not follow them (another segment's), or that comes while
 * too many bytes already wait, goes back at once, or as soon as those added before it have:
 * its bytes are read back from the file later, when they join the first bytes. Between
 * buffers, the thread reads back what the file holds past the digest, a chunk at a time.
 *
 * The owner pauses the hasher around anything else it does to the file: the pause returns
 * once every buffer has gone back and the thread is idle, so that the owner may then cut the
 * file, or finish the digest itself. */

/* One read back from the file. */
#define HASH_CHUNK     (1024 * 1024)
/* Bytes of buffers waiting to be hashed, at most: past that, a buffer is read back later. */
#define HASH_QUEUE_MAX (16 * 1024 * 1024)
/* How much a buffer may wait to be read back before it, from the file, for its turn. */
#define HASH_SLACK     (4 * 1024 * 1024)

typedef struct
{
  const guint8   *buffer;
  gint64          offset;
  gsize           length;
  gboolean        hash;        /* to be hashed, rather than only given back in order */
  GDestroyNotify  release;
  gpointer        data;
} Pending;

struct _SlFileHasher
{
  GMutex          lock;
  GCond           wake;         /* for the thread: something to do, or stop */
  GCond           idle;         /* for a pause or a stop: the thread let go */
  GThread        *thread;

  int             fd;           /* the owner's, never changed */
  SlChecksumType  type;
  SlChecksum     *digest;       /* the thread's while busy, the owner's while paused and idle */
  guint8         *chunk;        /* likewise */

  /* Under the lock. */
  gint64          hashed;       /* the bytes the digest has taken */
  gint64          planned;      /* where it will be once it took what it started or queued */
  SlSegmentMap   *landed;       /* the bytes known to be in the file */
  GQueue          pending;      /* buffers not given back yet, the head being worked on */
  gsize           queued;       /* bytes of them to hash */
  gboolean        busy;
  gboolean        paused;
  gboolean        stopping;
  gboolean        orphaned;     /* freed from its own thread, which frees it as it ends */
  gboolean        read_failed;  /* stop reading back: the completion reads and reports */
};

static void
pending_release (Pending *item)
{
  item->release (item->data);
  g_free (item);
}

/* Once no thread runs: the owner's buffers go back. */
static void
destroy (SlFileHasher *self)
{
  g_queue_clear_full (&self->pending, (GDestroyNotify) pending_release);
  g_clear_pointer (&self->thread, g_thread_unref);
  sl_checksum_free (self->digest);
  sl_segment_map_free (self->landed);
  g_free (self->chunk);
  g_cond_clear (&self->wake);
  g_cond_clear (&self->idle);
  g_mutex_clear (&self->lock);
  g_free (self);
}

/**
 * sl_file_hasher_new:
 * @type: the algorithm
 * @fd: the file, open for reading, and kept open until the hasher is freed
 * @on_disk: (nullable): the bytes the file holds already
 *
 * Returns: (transfer full): a hasher of the file from its first byte; its thread starts with
 *   the first buffer added or the first resume
 */
SlFileHasher *
sl_file_hasher_new (SlChecksumType      type,
                    int                 fd,
                    const SlSegmentMap *on_disk)
{
  SlFileHasher *self;

  g_return_val_if_fail (fd >= 0, NULL);

  self = g_new0 (SlFileHasher, 1);
  g_mutex_init (&self->lock);
  g_cond_init (&self->wake);
  g_cond_init (&self->idle);
  g_queue_init (&self->pending);
  self->fd = fd;
  self->type = type;
  self->digest = sl_checksum_new (type);
  self->landed = on_disk != NULL ? sl_segment_map_copy (on_disk) : sl_segment_map_new (-1);
  sl_segment_map_set_total (self->landed, -1);
  return self;
}

SlChecksumType
sl_file_hasher_get_checksum_type (SlFileHasher *self)
{
  g_return_val_if_fail (self != NULL, SL_CHECKSUM_SHA256);

  return self->type;
}

/* Reads up to @length bytes at @offset: fewer only at the end of the file. Returns -1 with
 * errno set on an error. */
static gssize
read_at (int     fd,
         guint8 *buffer,
         gsize   length,
         gint64  offset)
{
  gsize done = 0;

  while (done < length)
    {
      ssize_t n = pread (fd, buffer + done, length - done, offset + done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      if (n == 0)
        break;
      done += n;
    }

  return done;
}

static gboolean
can_read_back (SlFileHasher *self)
{
  return !self->read_failed && self->hashed < sl_segment_map_get_prefix (self->landed);
}

/* Reads back and hashes one chunk, towards @until. Called with the lock held and busy set;
 * drops it while reading and hashing. */
static void
read_back (SlFileHasher *self,
           gint64        until)
{
  gint64 from = self->hashed;
  gsize want = MIN (until - from, (gint64) HASH_CHUNK);
  gssize n;

  /* Only this chunk: a buffer that comes meanwhile is near if the rest to read back is. */
  self->planned = MAX (self->planned, from + (gint64) want);
  g_mutex_unlock (&self->lock);

  if (self->chunk == NULL)
    self->chunk = g_malloc (HASH_CHUNK);
  n = read_at (self->fd, self->chunk, want, from);
  if (n > 0)
    sl_checksum_update (self->digest, self->chunk, n);

  g_mutex_lock (&self->lock);
  if (n > 0)
    self->hashed = from + n;
  else
    self->read_failed = TRUE;
}

/* Hashes the head of the queue, if it is still of use, and gives it back. Called like
 * read_back(). */
static void
take_pending (SlFileHasher *self,
              Pending      *item)
{
  gint64 end = item->offset + (gint64) item->length;

  if (item->hash)
    {
      self->queued -= item->length;

      /* What other writes put before it landed already, and is near. */
      while (self->hashed < item->offset && !self->read_failed)
        read_back (self, item->offset);

      if (!self->read_failed && self->hashed >= item->offset && self->hashed < end)
        {
          gint64 from = self->hashed;

          g_mutex_unlock (&self->lock);
          sl_checksum_update (self->digest, item->buffer + (from - item->offset), end - from);
          g_mutex_lock (&self->lock);
          self->hashed = end;
        }
    }

  /* Given back outside the lock: the owner may free the hasher from its release function. It
   * stays in the queue until then, so that what is added meanwhile waits behind it. */
  g_mutex_unlock (&self->lock);
  item->release (item->data);
  g_mutex_lock (&self->lock);
  g_queue_pop_head (&self->pending);
  g_free (item);
}

static gpointer
hasher_thread (gpointer data)
{
  SlFileHasher *self = data;
  gboolean orphaned;

  g_mutex_lock (&self->lock);
  for (;;)
    {
      Pending *item;

      if (g_queue_is_empty (&self->pending))
        {
          self->busy = FALSE;
          g_cond_broadcast (&self->idle);
        }
      while (!self->stopping && g_queue_is_empty (&self->pending) &&
             (self->paused || !can_read_back (self)))
        g_cond_wait (&self->wake, &self->lock);
      if (self->stopping)
        break;

      self->busy = TRUE;
      item = g_queue_peek_head (&self->pending);
      if (item != NULL)
        take_pending (self, item);
      else
        read_back (self, sl_segment_map_get_prefix (self->landed));
    }
  orphaned = self->orphaned;
  g_mutex_unlock (&self->lock);

  if (orphaned)
    destroy (self);
  return NULL;
}

/* Called with the lock held. */
static void
wake_thread (SlFileHasher *self)
{
  if (self->thread == NULL)
    self->thread = g_thread_new ("sl-file-hasher", hasher_thread, self);
  g_cond_signal (&self->wake);
}

/**
 * sl_file_hasher_add:
 * @self: a hasher
 * @buffer: bytes just written to the file
 * @offset: where they went
 * @length: how many of them did, maybe 0
 * @release: given @data once the hasher no longer needs @buffer: maybe before this returns,
 *   maybe later on the hasher's thread, always in the order of the calls
 * @data: for @release
 *
 * Tells the hasher that @length bytes landed at @offset, and lends it @buffer to hash them
 * from, if they extend the first bytes.
 */
void
sl_file_hasher_add (SlFileHasher   *self,
                    const guint8   *buffer,
                    gint64          offset,
                    gsize           length,
                    GDestroyNotify  release,
                    gpointer        data)
{
  gint64 end = offset + (gint64) length;
  gboolean hash, queue;

  g_return_if_fail (self != NULL && release != NULL);

  g_mutex_lock (&self->lock);
  if (length > 0)
    sl_segment_map_mark_done (self->landed, offset, end);

  hash = length > 0 && !self->read_failed && !self->stopping && end > self->planned &&
         offset - self->planned <= HASH_SLACK &&
         sl_segment_map_get_prefix (self->landed) >= end &&
         self->queued + length <= HASH_QUEUE_MAX;
  queue = hash || !g_queue_is_empty (&self->pending);
  if (queue)
    {
      Pending *item = g_new (Pending, 1);

      *item = (Pending) { buffer, offset, length, hash, release, data };
      g_queue_push_tail (&self->pending, item);
      if (hash)
        {
          self->queued += length;
          self->planned = end;
        }
      wake_thread (self);
    }
  else if (can_read_back (self) && !self->paused)
    wake_thread (self);
  g_mutex_unlock (&self->lock);

  if (!queue)
    release (data);
}

/**
 * sl_file_hasher_pause:
 * @self: a hasher
 *
 * Waits until every buffer added went back and the thread is idle, and keeps it so until
 * sl_file_hasher_resume(). Buffers may not be added meanwhile.
 */
void
sl_file_hasher_pause (SlFileHasher *self)
{
  g_return_if_fail (self != NULL);

  g_mutex_lock (&self->lock);
  self->paused = TRUE;
  while (self->busy || !g_queue_is_empty (&self->pending))
    g_cond_wait (&self->idle, &self->lock);
  g_mutex_unlock (&self->lock);
}

/**
 * sl_file_hasher_resume:
 * @self: a hasher
 *
 * Lets the thread read back what the file holds past the digest, after a pause or at the
 * start. Harmless when not paused.
 */
void
sl_file_hasher_resume (SlFileHasher *self)
{
  g_return_if_fail (self != NULL);

  g_mutex_lock (&self->lock);
  self->paused = FALSE;
  if (can_read_back (self))
    wake_thread (self);
  g_mutex_unlock (&self->lock);
}

/**
 * sl_file_hasher_forget_after:
 * @self: a paused hasher
 * @length: where the file was cut
 *
 * Forgets the bytes past @length, which will be written again: a digest that took some of them
 * starts again from the first byte.
 */
void
sl_file_hasher_forget_after (SlFileHasher *self,
                             gint64        length)
{
  g_return_if_fail (self != NULL && length >= 0);

  g_mutex_lock (&self->lock);
  g_warn_if_fail (self->paused && !self->busy);
  sl_segment_map_set_total (self->landed, length);
  sl_segment_map_set_total (self->landed, -1);
  if (self->hashed > length)
    {
      sl_checksum_reset (self->digest);
      self->hashed = 0;
    }
  self->planned = self->hashed;
  self->read_failed = FALSE;
  g_mutex_unlock (&self->lock);
}

/**
 * sl_file_hasher_finish:
 * @self: a paused hasher
 * @size: the file's size
 * @saved_errno: (out): why the file could not be read, on failure
 *
 * Reads back what the digest has not taken, on the caller's thread, up to @size.
 *
 * Returns: (transfer full) (nullable): the digest of the file's first @size bytes in
 *   lowercase hex, or %NULL if they could not be read; the digest then starts again
 */
char *
sl_file_hasher_finish (SlFileHasher *self,
                       gint64        size,
                       int          *saved_errno)
{
  gint64 hashed;

  g_return_val_if_fail (self != NULL && saved_errno != NULL, NULL);

  g_mutex_lock (&self->lock);
  g_warn_if_fail (self->paused && !self->busy);
  hashed = self->hashed;
  g_mutex_unlock (&self->lock);

  if (self->chunk == NULL)
    self->chunk = g_malloc (HASH_CHUNK);
  while (hashed < size)
    {
      gssize n = read_at (self->fd, self->chunk, MIN (size - hashed, (gint64) HASH_CHUNK),
                          hashed);

      if (n < 0)
        {
          *saved_errno = errno;
          g_mutex_lock (&self->lock);
          self->hashed = hashed;
          g_mutex_unlock (&self->lock);
          return NULL;
        }
      if (n == 0)
        break;

      sl_checksum_update (self->digest, self->chunk, n);
      hashed += n;
    }

  g_mutex_lock (&self->lock);
  self->hashed = 0;
  self->planned = 0;
  g_mutex_unlock (&self->lock);
  return sl_checksum_get_hex (self->digest);
}

/**
 * sl_file_hasher_free:
 * @self: (nullable): a hasher
 *
 * Stops the thread, and returns once it has ended. Buffers not given back yet go back then
 * (there are none after a pause). From a release function, on the hasher's own thread, it
 * returns at once: the thread no longer reads the file, and frees the rest as it ends.
 */
void
sl_file_hasher_free (SlFileHasher *self)
{
  GThread *thread;

  if (self == NULL)
    return;

  g_mutex_lock (&self->lock);
  self->stopping = TRUE;
  g_cond_signal (&self->wake);
  thread = self->thread;
  if (thread != NULL && thread == g_thread_self ())
    {
      self->orphaned = TRUE;
      g_mutex_unlock (&self->lock);
      return;
    }
  self->thread = NULL;
  g_mutex_unlock (&self->lock);

  if (thread != NULL)
    g_thread_join (thread);
  destroy (self);
}
