/* sl-transfer.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Reads happen on the main loop into large buffers; a full buffer (or one that has waited
 * HANDOVER_USEC) goes to the SlFileWriter, which writes it on its thread at the next offset,
 * so the main loop never waits on the disk. At most MAX_WRITES_IN_FLIGHT buffers are queued;
 * past that, reading waits, which bounds memory and pushes back on the server.
 *
 * A transfer may have to begin with an overlap: bytes that are on disk already and must come
 * again, byte for byte, before the body counts (a partial file adopted without resume data).
 * They are compared and dropped, and the body after them goes at the offset given.
 *
 * However the transfer ends, it returns only once no read is pending and every write it
 * queued has landed, so that its owner knows exactly which bytes are on disk.
 *
 * A transfer may send its request itself, and then watches the connection from the request
 * on: a server that sends nothing for the stall timeout, while the transfer waits for it,
 * ends it. Waiting for the disk or for a rate limiter is not waiting for the server. A body
 * read to its end is closed, which hands the connection back to the session for the next
 * request; one cut short is dropped with its request cancelled, which closes the connection
 * rather than reading the rest (libsoup's close skips what is left of a body).
 */

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "sl-transfer.h"
#include "sl-types.h"

#define DEFAULT_BUFFER_SIZE  (1024 * 1024)
#define MAX_WRITES_IN_FLIGHT 4
#define HANDOVER_USEC        (100 * G_TIME_SPAN_MILLISECOND)

struct _SlTransfer
{
  GObject        parent_instance;

  SoupMessage   *message;
  GInputStream  *body;
  SlFileWriter  *writer;
  SlRateLimiter *limiter;
  guint          limiter_source;  /* waits for tokens */
  gsize          reserved;        /* tokens the pending read holds */
  guint          stall_timeout_s;
  guint          stall_source;
  gboolean       sending;
  gboolean       stalled;
  gboolean       closing;         /* the body was read to its end and is closed */
  gint64         waiting_since_us;  /* when the send or the read pending began */
  gint64         handed;          /* where the next write goes */
  gint64         landed;          /* where the next write to land goes */
  GBytes        *overlap;
  gsize          overlap_left;    /* bytes of the overlap still to compare */

  guint8        *buffer;
  gsize          buffer_size;
  gsize          fill;
  gint64         buffer_started_us;
  GPtrArray     *spare_buffers;
  guint          writes_in_flight;
  gboolean       reading;
  gboolean       write_failed;

  GTask         *task;            /* the send or the run, until it returns */
  GCancellable  *cancellable;     /* stops the request and the read: the caller's, a stall,
                                   * a failed write, the end of the range */
  GCancellable  *outer;
  gulong         outer_handler;

  gint64         stop_at;         /* where the range ends, G_MAXINT64 for the body's end */
  gint64         body_end;        /* where the body ends, by its length, or G_MAXINT64 */
  gboolean       draining;        /* at the end of the range and of the body: reading EOF */

  gboolean       ended;
  SlTransferEnd  outcome;
  GError        *error;
};

G_DEFINE_FINAL_TYPE (SlTransfer, sl_transfer, G_TYPE_OBJECT)

enum {
  WRITTEN,
  OVERLAP_MATCHED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void read_more (SlTransfer *self);

static void
disconnect_outer (SlTransfer *self)
{
  if (self->outer == NULL)
    return;

  g_cancellable_disconnect (self->outer, self->outer_handler);
  g_clear_object (&self->outer);
}

static void
on_outer_cancelled (GCancellable *outer,
                    gpointer      user_data)
{
  sl_transfer_cancel (user_data);
}

/* The caller's cancellable does not reach the task: a cancelled send or run still returns,
 * once nothing of it is in flight. */
static void
connect_outer (SlTransfer   *self,
               GCancellable *cancellable)
{
  disconnect_outer (self);
  if (cancellable == NULL)
    return;

  self->outer = g_object_ref (cancellable);
  self->outer_handler = g_cancellable_connect (cancellable, G_CALLBACK (on_outer_cancelled),
                                               self, NULL);
}

static void
sl_transfer_dispose (GObject *object)
{
  SlTransfer *self = SL_TRANSFER (object);

  disconnect_outer (self);
  g_clear_handle_id (&self->limiter_source, g_source_remove);
  g_clear_handle_id (&self->stall_source, g_source_remove);
  /* A body cut short goes with its request cancelled, so that dropping it does not read the
   * rest of it first. */
  if (self->body != NULL && !self->closing)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->body);
  g_clear_object (&self->message);
  g_clear_object (&self->writer);
  g_clear_pointer (&self->limiter, sl_rate_limiter_unref);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (sl_transfer_parent_class)->dispose (object);
}

static void
sl_transfer_finalize (GObject *object)
{
  SlTransfer *self = SL_TRANSFER (object);

  g_assert (self->task == NULL);
  g_clear_pointer (&self->overlap, g_bytes_unref);
  g_free (self->buffer);
  g_ptr_array_unref (self->spare_buffers);
  g_clear_error (&self->error);

  G_OBJECT_CLASS (sl_transfer_parent_class)->finalize (object);
}

static void
sl_transfer_class_init (SlTransferClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sl_transfer_dispose;
  object_class->finalize = sl_transfer_finalize;

  /**
   * SlTransfer::written:
   * @offset: where the bytes are in the file, right after those of the last emission
   * @bytes: how many bytes landed on disk
   *
   * Emitted as writes land, in order. After a failed write, nothing more is emitted: the
   * bytes after it would not follow on from those before.
   */
  signals[WRITTEN] =
    g_signal_new ("written", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 2, G_TYPE_INT64, G_TYPE_INT64);

  /**
   * SlTransfer::overlap-matched:
   *
   * Emitted once the body began with the whole overlap, before any byte after it is written.
   */
  signals[OVERLAP_MATCHED] =
    g_signal_new ("overlap-matched", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                  NULL, NULL, G_TYPE_NONE, 0);
}

static void
sl_transfer_init (SlTransfer *self)
{
  self->spare_buffers = g_ptr_array_new_with_free_func (g_free);
  self->buffer_size = DEFAULT_BUFFER_SIZE;
  self->cancellable = g_cancellable_new ();
  self->stop_at = G_MAXINT64;
  self->body_end = G_MAXINT64;
}

/**
 * sl_transfer_new:
 * @writer: the partial file, open by the time the transfer runs
 *
 * Returns: (transfer full): a transfer, to send (or be given a body) and run once
 */
SlTransfer *
sl_transfer_new (SlFileWriter *writer)
{
  SlTransfer *self;

  g_return_val_if_fail (SL_IS_FILE_WRITER (writer), NULL);

  self = g_object_new (SL_TYPE_TRANSFER, NULL);
  self->writer = g_object_ref (writer);
  return self;
}

/**
 * sl_transfer_set_body:
 * @self: a transfer that has neither sent nor run
 * @body: a response body, positioned at its first byte
 *
 * Gives the transfer a body to read that it did not request itself.
 */
void
sl_transfer_set_body (SlTransfer   *self,
                      GInputStream *body)
{
  g_return_if_fail (SL_IS_TRANSFER (self));
  g_return_if_fail (G_IS_INPUT_STREAM (body));
  g_return_if_fail (self->body == NULL && self->task == NULL);

  self->body = g_object_ref (body);
}

/**
 * sl_transfer_set_stall_timeout:
 * @self: a transfer
 * @seconds: how long the server may send nothing while the transfer waits for it, or 0 for
 *   no limit
 */
void
sl_transfer_set_stall_timeout (SlTransfer *self,
                               guint       seconds)
{
  g_return_if_fail (SL_IS_TRANSFER (self));

  self->stall_timeout_s = seconds;
}

/**
 * sl_transfer_set_buffer_size:
 * @self: a transfer that has not run
 * @size: the size of each buffer handed to the writer
 *
 * A transfer holds up to five buffers at once; many transfers of one download get by with
 * smaller ones.
 */
void
sl_transfer_set_buffer_size (SlTransfer *self,
                             gsize       size)
{
  g_return_if_fail (SL_IS_TRANSFER (self));
  g_return_if_fail (size > 0 && self->buffer == NULL);

  self->buffer_size = size;
}

/**
 * sl_transfer_set_limiter:
 * @self: a transfer
 * @limiter: (nullable): the bucket every read asks first
 */
void
sl_transfer_set_limiter (SlTransfer    *self,
                         SlRateLimiter *limiter)
{
  g_return_if_fail (SL_IS_TRANSFER (self));

  g_clear_pointer (&self->limiter, sl_rate_limiter_unref);
  if (limiter != NULL)
    self->limiter = sl_rate_limiter_ref (limiter);
}

static GError *
stall_error (SlTransfer *self)
{
  return g_error_new (SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_NETWORK,
                      ngettext ("No data received for %u second",
                                "No data received for %u seconds", self->stall_timeout_s),
                      self->stall_timeout_s);
}

static void end_with (SlTransfer    *self,
                      SlTransferEnd  end,
                      GError        *error);

static gboolean
stall_cb (gpointer user_data)
{
  SlTransfer *self = user_data;
  gint64 deadline = self->waiting_since_us + (gint64) self->stall_timeout_s * G_USEC_PER_SEC;
  gint64 now = g_get_monotonic_time ();

  self->stall_source = 0;
  /* Waiting for the disk or for tokens: the timer starts again with the next read. */
  if (!self->sending && !self->reading)
    return G_SOURCE_REMOVE;

  if (now < deadline)
    {
      self->stall_source = g_timeout_add_full (G_PRIORITY_DEFAULT,
                                               (deadline - now) / 1000 + 1, stall_cb, self,
                                               NULL);
      return G_SOURCE_REMOVE;
    }

  self->stalled = TRUE;
  if (self->sending)
    g_cancellable_cancel (self->cancellable);
  else
    end_with (self, SL_TRANSFER_STALLED, stall_error (self));
  return G_SOURCE_REMOVE;
}

/* Called as the request goes out and as each read starts: the transfer stalls when one of
 * them waits longer than the timeout. Time spent on the disk or on tokens is not counted. */
static void
watch_stall (SlTransfer *self)
{
  self->waiting_since_us = g_get_monotonic_time ();
  if (self->stall_timeout_s == 0 || self->stall_source != 0)
    return;

  self->stall_source = g_timeout_add_full (G_PRIORITY_DEFAULT,
                                           (gint64) self->stall_timeout_s * 1000, stall_cb,
                                           self, NULL);
}

static void
on_body_closed (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  /* Closing a body read to its end only hands its connection back: nothing waits for it, and
   * it cannot lose a byte. */
  g_input_stream_close_finish (G_INPUT_STREAM (object), result, NULL);
}

/* Returns the run once it has ended and nothing is in flight any more. */
static void
return_if_idle (SlTransfer *self)
{
  g_autoptr (GTask) task = NULL;

  if (!self->ended || self->reading || self->writes_in_flight > 0 || self->task == NULL ||
      g_task_get_source_tag (self->task) != sl_transfer_run_async)
    return;

  disconnect_outer (self);
  g_clear_handle_id (&self->limiter_source, g_source_remove);
  g_clear_handle_id (&self->stall_source, g_source_remove);

  /* Cut short, the request goes, and its connection with it. */
  if (!self->closing)
    g_cancellable_cancel (self->cancellable);
  task = g_steal_pointer (&self->task);
  g_task_return_int (task, self->outcome);
}

/* The first reason to end wins, but for a failed write, which wins over any: the bytes the
 * transfer handed over are not all on disk. A read still pending is stopped. */
static void
end_with (SlTransfer    *self,
          SlTransferEnd  end,
          GError        *error)
{
  if (self->ended &&
      (end != SL_TRANSFER_WRITE_FAILED || self->outcome == SL_TRANSFER_WRITE_FAILED))
    {
      g_clear_error (&error);
      return_if_idle (self);
      return;
    }

  g_clear_error (&self->error);
  self->ended = TRUE;
  self->outcome = end;
  self->error = error;
  if (end != SL_TRANSFER_ENDED)
    g_cancellable_cancel (self->cancellable);
  return_if_idle (self);
}

static void
ensure_buffer (SlTransfer *self)
{
  if (self->buffer != NULL)
    return;

  if (self->spare_buffers->len > 0)
    self->buffer = g_ptr_array_steal_index_fast (self->spare_buffers,
                                                 self->spare_buffers->len - 1);
  else
    self->buffer = g_malloc (self->buffer_size);

  self->buffer_started_us = g_get_monotonic_time ();
}

static void
on_write_done (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr (SlTransfer) self = user_data;
  g_autoptr (GError) error = NULL;
  guint8 *buffer;
  gsize written;

  buffer = sl_file_writer_write_finish (SL_FILE_WRITER (object), result, &written, &error);
  if (self->spare_buffers->len < MAX_WRITES_IN_FLIGHT)
    g_ptr_array_add (self->spare_buffers, buffer);
  else
    g_free (buffer);

  self->writes_in_flight--;

  /* What a failed write got onto the disk before failing is kept too. The writer lands
   * writes in the order they were queued. */
  if (!self->write_failed && written > 0)
    {
      gint64 offset = self->landed;

      self->landed += written;
      g_signal_emit (self, signals[WRITTEN], 0, offset, (gint64) written);
    }

  if (error != NULL)
    {
      /* Later writes may still succeed (a smaller one on a nearly full disk), but the bytes
       * after a failed one are not contiguous: stop counting at the first failure. */
      if (!self->write_failed)
        {
          self->write_failed = TRUE;
          end_with (self, SL_TRANSFER_WRITE_FAILED, g_steal_pointer (&error));
        }
      return_if_idle (self);
      return;
    }

  if (self->ended)
    return_if_idle (self);
  else
    read_more (self);
}

static void
handover_buffer (SlTransfer *self)
{
  if (self->fill == 0)
    return;

  self->writes_in_flight++;
  sl_file_writer_write_async (self->writer, g_steal_pointer (&self->buffer), self->fill,
                              self->handed, on_write_done, g_object_ref (self));
  self->handed += self->fill;
  self->fill = 0;
}

/* Compares the @n bytes just read into the buffer with what is left of the overlap, and
 * drops them: they are on disk already. Returns how many bytes of the body follow them in the
 * buffer, or -1 when they differ. */
static gssize
take_overlap (SlTransfer *self,
              gsize       n)
{
  gsize overlap_size;
  const guint8 *overlap = g_bytes_get_data (self->overlap, &overlap_size);
  guint8 *data = self->buffer + self->fill;
  gsize k = MIN (n, self->overlap_left);

  if (memcmp (data, overlap + (overlap_size - self->overlap_left), k) != 0)
    return -1;

  self->overlap_left -= k;
  memmove (data, data + k, n - k);
  if (self->overlap_left == 0)
    g_signal_emit (self, signals[OVERLAP_MATCHED], 0);
  return n - k;
}

static void
on_read_done (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr (SlTransfer) self = user_data;
  g_autoptr (GError) error = NULL;
  gint64 now;
  gssize n;

  n = g_input_stream_read_finish (G_INPUT_STREAM (object), result, &error);
  self->reading = FALSE;
  if (self->reserved > 0)
    {
      sl_rate_limiter_refund (self->limiter, self->reserved - MAX (n, 0));
      self->reserved = 0;
    }

  /* The range was all there; only the end of its body was awaited. Anything but that end
   * (libsoup gives nothing past a body's length) leaves the connection to be dropped. */
  if (self->draining && n != 0)
    {
      end_with (self, SL_TRANSFER_RANGE_DONE, NULL);
      return;
    }

  if (n < 0)
    {
      /* What arrived before the error is good: keep it. */
      handover_buffer (self);
      if (g_cancellable_is_cancelled (self->cancellable))
        end_with (self, SL_TRANSFER_CANCELLED, NULL);
      else
        end_with (self, SL_TRANSFER_READ_FAILED, g_steal_pointer (&error));
      return;
    }

  if (n == 0)
    {
      self->closing = TRUE;
      g_input_stream_close_async (self->body, G_PRIORITY_DEFAULT, NULL, on_body_closed, NULL);
      handover_buffer (self);
      end_with (self, self->overlap_left > 0 ? SL_TRANSFER_OVERLAP_DIFFERS : SL_TRANSFER_ENDED,
                NULL);
      return;
    }

  now = g_get_monotonic_time ();
  if (self->overlap_left > 0)
    {
      n = take_overlap (self, n);
      if (n < 0)
        {
          end_with (self, SL_TRANSFER_OVERLAP_DIFFERS, NULL);
          return;
        }
    }
  /* The end moved while this read was pending: what lies past it is another range's. */
  if (self->stop_at != G_MAXINT64)
    n = MIN (n, MAX (self->stop_at - self->handed - (gint64) self->fill, 0));
  self->fill += n;

  /* A partly filled buffer still goes to disk promptly, so slow downloads show progress. */
  if (self->fill == self->buffer_size || self->handed + (gint64) self->fill >= self->stop_at ||
      now - self->buffer_started_us >= HANDOVER_USEC)
    handover_buffer (self);

  read_more (self);
}

/* As much as the buffer holds, but nothing past the end of the range (the overlap comes
 * before it). */
static gsize
read_size (SlTransfer *self)
{
  gint64 wanted = self->buffer_size - self->fill;

  if (self->stop_at != G_MAXINT64)
    wanted = MIN (wanted, self->stop_at - self->handed - (gint64) self->fill +
                          (gint64) self->overlap_left);
  return wanted;
}

static gboolean
limiter_cb (gpointer user_data)
{
  SlTransfer *self = user_data;

  self->limiter_source = 0;
  read_more (self);
  return G_SOURCE_REMOVE;
}

static void
read_more (SlTransfer *self)
{
  gsize size;

  if (self->reading || self->ended || self->writes_in_flight >= MAX_WRITES_IN_FLIGHT ||
      self->limiter_source != 0)
    return;

  /* Stopped while a read or a write was pending: what was read and not handed over yet is
   * dropped, and fetched again by whatever comes next. */
  if (g_cancellable_is_cancelled (self->cancellable))
    {
      end_with (self, SL_TRANSFER_CANCELLED, NULL);
      return;
    }

  if (self->handed + (gint64) self->fill >= self->stop_at)
    {
      handover_buffer (self);
      /* A range that ends with its body reads on to the body's end, which is closed, and
       * so gives its connection back for the next request. */
      if (self->handed < self->body_end)
        {
          end_with (self, SL_TRANSFER_RANGE_DONE, NULL);
          return;
        }
      self->draining = TRUE;
      ensure_buffer (self);
      self->reading = TRUE;
      watch_stall (self);
      g_input_stream_read_async (self->body, self->buffer, 1, G_PRIORITY_DEFAULT,
                                 self->cancellable, on_read_done, g_object_ref (self));
      return;
    }

  size = read_size (self);
  if (self->limiter != NULL && sl_rate_limiter_is_limited (self->limiter))
    {
      gint64 wait_us = 0;
      gsize allowed = sl_rate_limiter_allow (self->limiter, g_get_monotonic_time (), &wait_us);

      if (allowed == 0)
        {
          /* What was read waits no longer for the tokens than it would for a full buffer. */
          handover_buffer (self);
          self->limiter_source = g_timeout_add_full (G_PRIORITY_DEFAULT,
                                                     (wait_us + 999) / 1000, limiter_cb,
                                                     self, NULL);
          return;
        }
      /* The rest of what was reserved goes back once the read is in. */
      if (allowed < size)
        size = allowed;
      else
        sl_rate_limiter_refund (self->limiter, allowed - size);
      self->reserved = size;
    }

  ensure_buffer (self);
  self->reading = TRUE;
  watch_stall (self);
  g_input_stream_read_async (self->body, self->buffer + self->fill, size, G_PRIORITY_DEFAULT,
                             self->cancellable, on_read_done, g_object_ref (self));
}

static void
on_send_done (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr (SlTransfer) self = user_data;
  g_autoptr (GTask) task = g_steal_pointer (&self->task);
  g_autoptr (GError) error = NULL;
  GInputStream *body;

  body = soup_session_send_finish (SOUP_SESSION (object), result, &error);
  self->sending = FALSE;
  g_clear_handle_id (&self->stall_source, g_source_remove);
  disconnect_outer (self);

  if (body == NULL)
    {
      if (self->stalled)
        g_task_return_error (task, stall_error (self));
      else
        g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  self->body = body;
  g_task_return_boolean (task, TRUE);
}

/**
 * sl_transfer_send_async:
 * @self: a transfer that has neither sent nor been given a body
 * @session: the session to send on
 * @message: the request
 * @cancellable: (nullable): stops it
 * @callback: called once the response headers are in, or the request failed
 * @user_data: for @callback
 *
 * Sends @message, watching for a stall; the body is then the transfer's to run.
 */
void
sl_transfer_send_async (SlTransfer          *self,
                        SoupSession         *session,
                        SoupMessage         *message,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_return_if_fail (SL_IS_TRANSFER (self));
  g_return_if_fail (SOUP_IS_SESSION (session));
  g_return_if_fail (SOUP_IS_MESSAGE (message));
  g_return_if_fail (self->task == NULL && self->body == NULL && self->message == NULL);

  self->message = g_object_ref (message);
  self->task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (self->task, sl_transfer_send_async);
  connect_outer (self, cancellable);
  self->sending = TRUE;
  watch_stall (self);
  soup_session_send_async (session, message, G_PRIORITY_DEFAULT, self->cancellable,
                           on_send_done, g_object_ref (self));
}

/**
 * sl_transfer_send_finish:
 * @self: a transfer
 * @result: the result given to the callback
 * @error: return location for why no response came: libsoup's error, %G_IO_ERROR_CANCELLED,
 *   or a %SL_DOWNLOAD_ERROR_NETWORK error for a stall
 *
 * Returns: whether the response headers are in: sl_transfer_get_message() has them
 */
gboolean
sl_transfer_send_finish (SlTransfer    *self,
                         GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * sl_transfer_run_async:
 * @self: a transfer with a body, that has not run
 * @offset: where the first byte after the overlap goes
 * @overlap: (nullable): the bytes the body must begin with, which are on disk already
 * @cancellable: (nullable): stops it
 * @callback: called once it has ended and all its writes have landed
 * @user_data: for @callback
 *
 * Reads the body to its end, or to the end of the range, and writes it at the transfer's
 * offsets.
 */
void
sl_transfer_run_async (SlTransfer          *self,
                       gint64               offset,
                       GBytes              *overlap,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_return_if_fail (SL_IS_TRANSFER (self));
  g_return_if_fail (G_IS_INPUT_STREAM (self->body));
  g_return_if_fail (offset >= 0);
  g_return_if_fail (self->task == NULL && !self->ended);

  self->handed = self->landed = offset;
  if (overlap != NULL && g_bytes_get_size (overlap) > 0)
    {
      self->overlap = g_bytes_ref (overlap);
      self->overlap_left = g_bytes_get_size (overlap);
    }
  if (self->message != NULL)
    {
      SoupMessageHeaders *headers = soup_message_get_response_headers (self->message);

      /* The body starts with the overlap, if any. */
      if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH)
        self->body_end = offset - (gint64) self->overlap_left +
                         soup_message_headers_get_content_length (headers);
    }
  self->task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (self->task, sl_transfer_run_async);
  connect_outer (self, cancellable);
  read_more (self);
}

/**
 * sl_transfer_run_finish:
 * @self: a transfer
 * @result: the result given to the callback
 * @error: return location for what went wrong, with %SL_TRANSFER_READ_FAILED and
 *   %SL_TRANSFER_WRITE_FAILED
 *
 * Returns: how the transfer ended
 */
SlTransferEnd
sl_transfer_run_finish (SlTransfer    *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), SL_TRANSFER_CANCELLED);

  g_task_propagate_int (G_TASK (result), NULL);
  if (self->error != NULL)
    g_propagate_error (error, g_steal_pointer (&self->error));
  return self->outcome;
}

/**
 * sl_transfer_set_end:
 * @self: a transfer
 * @end: the offset the range ends at, before or at the end of the body
 *
 * Moves the end of what the transfer fetches, before or while it runs: it stops once the
 * bytes before @end are handed to the writer, and ends with %SL_TRANSFER_RANGE_DONE without
 * reading the rest of the body (or with %SL_TRANSFER_ENDED when @end is where a body of known
 * length ends, which is then read to its end and keeps its connection). Another transfer may
 * then fetch from @end on. The end may also move later again, up to the end of the body, or
 * to G_MAXINT64 for the body's end.
 *
 * A transfer that still has an overlap to compare cannot be cut short.
 *
 * Returns: %FALSE if it has read past @end already, or has ended (its end stays where it was)
 */
gboolean
sl_transfer_set_end (SlTransfer *self,
                     gint64      end)
{
  g_return_val_if_fail (SL_IS_TRANSFER (self), FALSE);
  g_return_val_if_fail (self->overlap_left == 0, FALSE);

  if (self->ended || end < self->handed + (gint64) self->fill)
    return FALSE;
  self->stop_at = end;
  return TRUE;
}

/**
 * sl_transfer_get_handed:
 * @self: a transfer
 *
 * Returns: the offset after the last byte handed to the writer: a sync of the writer makes
 *   everything before it durable, unless a write failed
 */
gint64
sl_transfer_get_handed (SlTransfer *self)
{
  g_return_val_if_fail (SL_IS_TRANSFER (self), 0);

  return self->handed;
}

/**
 * sl_transfer_get_message:
 * @self: a transfer
 *
 * Returns: (transfer none) (nullable): the request it sent, with its response headers once
 *   the send has finished
 */
SoupMessage *
sl_transfer_get_message (SlTransfer *self)
{
  g_return_val_if_fail (SL_IS_TRANSFER (self), NULL);

  return self->message;
}

/**
 * sl_transfer_get_position:
 * @self: a transfer
 *
 * Returns: the offset after the last byte read: where a range after it may start
 */
gint64
sl_transfer_get_position (SlTransfer *self)
{
  g_return_val_if_fail (SL_IS_TRANSFER (self), 0);

  return self->handed + (gint64) self->fill;
}

/**
 * sl_transfer_cancel:
 * @self: a transfer
 *
 * Stops this transfer's send or run as its cancellable would; it still returns as ever, once
 * nothing of it is in flight.
 */
void
sl_transfer_cancel (SlTransfer *self)
{
  g_return_if_fail (SL_IS_TRANSFER (self));

  g_cancellable_cancel (self->cancellable);
  /* Nothing pending would notice: the run ends at once, though not from here, which may be
   * a cancellable's handler, where disconnecting it would deadlock. */
  if (self->limiter_source != 0)
    {
      g_source_remove (self->limiter_source);
      self->limiter_source = g_idle_add (limiter_cb, self);
    }
}
