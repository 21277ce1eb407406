/* sl-download.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <signal.h>
#include <locale.h>
#include <string.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "sl-checksum.h"
#include "sl-download.h"
#include "sl-enum-types.h"
#include "sl-file-writer.h"
#include "sl-filename.h"
#include "sl-header-rules.h"
#include "sl-progress.h"
#include "sl-response-policy.h"
#include "sl-resume-data.h"
#include "sl-retry.h"
#include "sl-segment-map.h"
#include "sl-transfer.h"
#include "sl-uri.h"

/* One download: a GET streamed into NAME.part, then renamed to NAME.
 *
 * The body of each answer is read by an SlTransfer, which hands it to the SlFileWriter at its
 * offsets and returns once its writes have landed; the download keeps the lifecycle, the
 * requests and what their answers mean, retries, progress and checkpoints.
 *
 * Every way a transfer stops (pause, cancel, a network error to retry, a server answer that
 * needs a fresh start, an error that fails the download, the end of the body) goes through
 * stop_transfer(): it records what should happen next, cancels the request, and
 * maybe_finish_stop() does it once no request, transfer or file operation is left in flight.
 * That way the bytes counted as written are exactly the bytes on disk when the next step
 * begins. */

#define MAX_RESTARTS         3
#define MAX_RETRY_DELAY_MS   (60 * 1000)
/* With no network, look again now and then even if the monitor never says it is back. */
#define NETWORK_RECHECK_MS   (60 * 1000)

#define DEFAULT_MAX_RETRIES         5
/* Answered attempts in a row that bring no new byte before the server is at fault. */
#define MAX_EMPTY_ANSWERS           2
#define DEFAULT_RETRY_DELAY_MS      1000
#define DEFAULT_STALL_TIMEOUT_S     30
#define DEFAULT_CHECKPOINT_MS       (5 * 1000)

/* Checkpoints an owner has not confirmed yet are remembered up to this many; an owner that
 * confirms none (a one-shot download) costs no more than that. */
#define MAX_UNRECORDED_CHECKPOINTS  16

typedef enum
{
  STOP_NONE,
  STOP_FINISH,
  STOP_RETRY,
  STOP_ASK_AGAIN,
  STOP_RESTART,
  STOP_FAIL,
  STOP_PAUSE,
  STOP_CANCEL,
} StopAction;

struct _SlDownload
{
  GObject              parent_instance;

  SoupSession         *session;
  char                *uri;
  char                *final_uri;
  GFile               *directory;
  char                *filename;
  gboolean             explicit_name;
  SlNamePolicy         name_policy;
  gboolean             split_extension;  /* how a taken name is numbered: not for a host */
  char                *partial_path;
  GFile               *destination;
  SoupMessageHeaders  *extra_headers;
  char                *digest;          /* the checksum the file must have, or NULL */
  SlChecksumType       checksum;
  gboolean             checksum_failed;  /* the bytes did not match: a retry starts over */
  SlChecksumState      checksum_state;

  guint                max_retries;
  guint                retry_delay_ms;
  guint                stall_timeout_s;
  guint                checkpoint_interval_ms;

  /* What the server told us about the entity. */
  char                *etag;
  char                *last_modified;
  char                *content_type;
  gint64               total;
  gboolean             range_ok;

  SlDownloadState      state;
  guint                http_status;
  GError              *error;

  /* Bytes: done are on disk; flushed were also fdatasync'ed; offset is where the transfer
   * in hand writes from, and where it stopped once it ends. */
  SlSegmentMap        *done;
  SlSegmentMap        *flushed;
  gint64               offset;
  guint                generation;

  SlFileWriter        *writer;
  gboolean             file_open;
  gint64               preallocated;   /* the length the open file has room for, 0 at open */
  gboolean             file_op_pending;
  GCancellable        *cancellable;
  SoupMessage         *message;
  gboolean             sending;
  gboolean             ranged_request;
  gboolean             link_refreshed;
  SoupEncoding         framing;        /* how the body of the current response ends */
  gboolean             answered;       /* this attempt got a 2xx and reads its body */
  gboolean             verifying;      /* asking for what follows a body of unknown length */
  gboolean             length_checked; /* the complete file's length was confirmed */

  /* A partial file found without resume data: its bytes count once the server's match the
   * last of them (adopt_tail), which the next answer is asked to overlap. */
  gint64               adopt_end;
  GBytes              *adopt_tail;

  /* Which file the partial file is, so that a restart finds it renamed after a crash. With an
   * owner that confirms checkpoints, the rename waits until one with the identity is
   * recorded. */
  guint64              device;
  guint64              inode;
  GStrv                orphans;        /* numbered partial files it may adopt, see the writer */
  GStrv                claimed;        /* partial files of other downloads, see the writer */
  gboolean             confirms_checkpoints;
  gboolean             identity_recorded;
  gboolean             awaiting_identity;

  SlTransfer          *transfer;       /* the request in hand, and then its body */
  gboolean             running;        /* the transfer reads the body */

  /* Every read of every connection asks this bucket first, and the one above it. */
  SlRateLimiter       *limiter;

  /* Segments: other connections that fetch parts of the entity, see below. */
  guint                max_connections;
  gboolean             adaptive;         /* max_connections is a cap: add while it pays */
  guint                wanted;           /* connections wanted now, when adaptive */
  gboolean             frozen;           /* adding no longer paid */
  guint                adapt_source;
  gint64               window_us;        /* when the current measurement began, 0: none */
  gint64               window_bytes;
  double               step_rate;        /* bytes/s the last count reached, 0: none yet */
  guint                connection_cap;   /* as many as the server took, once it refused more */
  guint                most_working;     /* the most connections read from at once */
  guint                share;            /* as many as its owner lets it have now */
  guint                segment_failures; /* of connections, in a row */
  guint                refill_source;    /* no more connections until it runs: Retry-After */
  gboolean             probe_request;    /* the request in hand asks for "bytes=0-" */
  gboolean             probe_refused;    /* the server refused it: ask without a range */
  gboolean             splittable;       /* the answer in hand proved ranges of the entity */
  gboolean             no_split;         /* the server stopped sending parts: never again */
  gint64               primary_claim;    /* where the primary's claim starts, or -1 */
  double               median_rate;      /* of the connections, when there were three */
  GPtrArray           *segments;         /* of Segment */
  guint                connections;      /* open now, as last notified */

  StopAction           stop;
  GError              *stop_error;
  char                *restart_reason;
  guint                retry_after_s;

  guint                attempts;
  guint                empty_answers;  /* answered attempts in a row that brought no byte */
  gint64               attempt_done;   /* the bytes done when this attempt began */
  guint                restarts;
  guint                retry_source;
  guint                tick_source;
  GNetworkMonitor     *network_monitor;
  gulong               network_handler;
  gboolean             checkpoint_pending;
  gint64               last_checkpoint_us;

  /* Checkpoints emitted and not yet confirmed durable by the owner, oldest first
   * (Unrecorded), and the bytes of the newest confirmed one: what a restart resumes from. */
  GQueue               unrecorded;
  gint64               recorded;
  gint64               checkpointed;   /* bytes of the newest checkpoint emitted */

  SlProgress           progress;

  GQueue               pause_tasks;
};

G_DEFINE_FINAL_TYPE (SlDownload, sl_download, G_TYPE_OBJECT)

/* A connection besides the primary one, fetching one part of the entity. */
typedef struct
{
  SlTransfer   *transfer;
  SoupMessage  *message;
  gint64        start;          /* where its claim in the map starts; the map has its end */
  gint64        next;           /* where its request in hand starts */
  gint64        request_end;    /* and ends */
  gint64        sample_us;      /* its speed: when it was last sampled, where it was then */
  gint64        sample_at;
  double        rate;           /* bytes per second, smoothed */
  gint64        slow_since_us;  /* since when it has been far slower than the others, or 0 */
  gboolean      handed_on;      /* too slow: it stops, and another connection takes the rest */
  gboolean      sending;
  gboolean      running;
} Segment;


enum {
  PROP_0,
  PROP_URI,
  PROP_FINAL_URI,
  PROP_DIRECTORY,
  PROP_FILENAME,
  PROP_DESTINATION,
  PROP_STATE,
  PROP_BYTES_RECEIVED,
  PROP_BYTES_RECORDED,
  PROP_BYTES_TOTAL,
  PROP_SPEED,
  PROP_ETA,
  PROP_HTTP_STATUS,
  PROP_ERROR_KIND,
  PROP_ERROR_MESSAGE,
  PROP_CONNECTIONS,
  PROP_SPEED_LIMIT,
  PROP_CHECKSUM_STATE,
  N_PROPS
};

enum {
  DATA_WRITTEN,
  FINISHED,
  COMPLETED,
  CHECKPOINT,
  RESTARTED,
  CONNECTIONS_REFUSED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void begin_attempt      (SlDownload *self);
static void start_hashing      (SlDownload *self);
static void complete_as        (SlDownload *self,
                                const char *path);
static void maybe_finish_stop  (SlDownload *self);
static void forget_adoption    (SlDownload *self);
static void restart_adoption   (SlDownload *self,
                                const char *reason);
static void overlap_differs    (SlDownload *self);

/* g_set_str() arrives with GLib 2.76. */
static gboolean
set_str (char       **str_pointer,
         const char  *new_str)
{
  if (g_strcmp0 (*str_pointer, new_str) == 0)
    return FALSE;

  g_free (*str_pointer);
  *str_pointer = g_strdup (new_str);
  return TRUE;
}

static void
notify (SlDownload *self,
        guint       prop)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

static void
set_state (SlDownload      *self,
           SlDownloadState  state)
{
  if (self->state == state)
    return;

  self->state = state;
  notify (self, PROP_STATE);
}

static void
set_http_status (SlDownload *self,
                 guint       status)
{
  if (self->http_status == status)
    return;

  self->http_status = status;
  notify (self, PROP_HTTP_STATUS);
}

/* The error shown while waiting to retry, or why the download failed. */
static void
set_error (SlDownload   *self,
           const GError *error)
{
  SlErrorKind old_kind = sl_download_error_kind (self->error);

  if (self->error == NULL && error == NULL)
    return;

  g_clear_error (&self->error);
  if (error != NULL)
    self->error = g_error_copy (error);

  if (old_kind != sl_download_error_kind (self->error))
    notify (self, PROP_ERROR_KIND);
  notify (self, PROP_ERROR_MESSAGE);
}

typedef struct
{
  GBytes  *resume_data;
  gint64   received;
  guint64  inode;
} Unrecorded;

static void
unrecorded_free (Unrecorded *unrecorded)
{
  g_bytes_unref (unrecorded->resume_data);
  g_free (unrecorded);
}

static void
set_recorded (SlDownload *self,
              gint64      recorded)
{
  if (self->recorded == recorded)
    return;

  self->recorded = recorded;
  notify (self, PROP_BYTES_RECORDED);
}

/* The bytes are gone (a restart, a deleted file): no earlier checkpoint counts any more. */
static void
forget_recorded (SlDownload *self)
{
  g_queue_clear_full (&self->unrecorded, (GDestroyNotify) unrecorded_free);
  set_recorded (self, 0);
}

static void
set_total (SlDownload *self,
           gint64      total)
{
  if (self->total == total)
    return;

  self->total = total;
  notify (self, PROP_BYTES_TOTAL);
}

static gint64
bytes_done (SlDownload *self)
{
  return sl_segment_map_get_bytes_done (self->done);
}

/* Where a single stream continues: the first byte not done. */
static gint64
prefix_done (SlDownload *self)
{
  return sl_segment_map_get_prefix (self->done);
}

/* Everything done is durable now. */
static void
all_flushed (SlDownload *self)
{
  sl_segment_map_reset (self->flushed);
  sl_segment_map_merge (self->flushed, self->done);
}

/* The first @bytes are done and durable, and nothing else. */
static void
set_bytes_to (SlDownload *self,
              gint64      bytes)
{
  sl_segment_map_reset (self->done);
  sl_segment_map_set_total (self->done, -1);
  sl_segment_map_mark_done (self->done, 0, MAX (bytes, 0));
  all_flushed (self);
  self->offset = MAX (bytes, 0);
}

static void
notify_progress (SlDownload       *self,
                 SlProgressChange  changes,
                 gint64            step)
{
  if (changes & SL_PROGRESS_SPEED)
    notify (self, PROP_SPEED);
  if (changes & SL_PROGRESS_ETA)
    notify (self, PROP_ETA);
  if (changes & SL_PROGRESS_BYTES)
    {
      if (step > 0)
        g_signal_emit (self, signals[DATA_WRITTEN], 0, step, bytes_done (self), self->total);
      notify (self, PROP_BYTES_RECEIVED);
    }
}

/* Emits progress and the properties that change with every buffer, at most ~10 times a
 * second unless @force. */
static void
flush_progress (SlDownload *self,
                gboolean    force)
{
  gint64 step = 0;
  SlProgressChange changes =
    sl_progress_update (&self->progress, g_get_monotonic_time (), bytes_done (self), self->total,
                        self->state == SL_DOWNLOAD_STATE_RUNNING, force, &step);

  notify_progress (self, changes, step);
}

/* Whether the bytes so far can be continued by a later request: only then does resume data
 * keep them. */
static gboolean
is_resumable (SlDownload *self)
{
  return self->range_ok &&
         (self->etag != NULL || self->last_modified != NULL || self->total >= 0);
}

static SlResumeData *
build_resume_data (SlDownload *self)
{
  SlResumeData *data = sl_resume_data_new ();
  gboolean resumable = is_resumable (self);

  data->uri = g_strdup (self->uri);
  data->final_uri = g_strdup (self->final_uri);
  data->directory = self->directory ? g_file_get_path (self->directory) : NULL;
  data->filename = g_strdup (self->filename);
  /* A partial file under adoption is found again by its name, and checked again. */
  data->partial_path = self->adopt_end > 0 ? NULL : g_strdup (self->partial_path);
  data->device = self->device;
  data->inode = self->inode;
  data->etag = g_strdup (self->etag);
  data->last_modified = g_strdup (self->last_modified);
  data->content_type = g_strdup (self->content_type);
  data->total = self->total;
  /* Bytes that cannot be continued by range (an encoded body, no way to tell the entity did
   * not change) are not worth keeping. */
  data->received = resumable ? sl_segment_map_get_bytes_done (self->flushed) : 0;
  if (resumable)
    data->done = sl_segment_map_copy (self->flushed);
  data->explicit_name = self->explicit_name;
  data->split_extension = self->split_extension;

  return data;
}

static void
emit_checkpoint (SlDownload *self)
{
  g_autoptr (SlResumeData) data = build_resume_data (self);
  g_autoptr (GBytes) bytes = NULL;
  Unrecorded *unrecorded;

  if (data->directory == NULL)
    return;

  bytes = sl_resume_data_serialize (data);
  self->last_checkpoint_us = g_get_monotonic_time ();

  unrecorded = g_new0 (Unrecorded, 1);
  unrecorded->resume_data = g_bytes_ref (bytes);
  unrecorded->received = data->received;
  unrecorded->inode = data->inode;
  self->checkpointed = data->received;
  g_queue_push_tail (&self->unrecorded, unrecorded);
  if (self->unrecorded.length > MAX_UNRECORDED_CHECKPOINTS)
    unrecorded_free (g_queue_pop_head (&self->unrecorded));

  g_signal_emit (self, signals[CHECKPOINT], 0, bytes);
}

static void stop_adapting (SlDownload *self);

static void
stop_timers (SlDownload *self)
{
  stop_adapting (self);
  g_clear_handle_id (&self->refill_source, g_source_remove);
  g_clear_handle_id (&self->tick_source, g_source_remove);
  g_clear_handle_id (&self->retry_source, g_source_remove);
  if (self->network_monitor != NULL)
    g_clear_signal_handler (&self->network_handler, self->network_monitor);
}

static void
return_pause_tasks (SlDownload *self)
{
  GTask *task;

  while ((task = g_queue_pop_head (&self->pause_tasks)))
    {
      if (self->state == SL_DOWNLOAD_STATE_PAUSED)
        g_task_return_pointer (task, sl_download_get_resume_data (self),
                               (GDestroyNotify) g_bytes_unref);
      else
        g_task_return_new_error (task, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_ARGUMENT,
                                 _("The download ended before it could be paused"));
      g_object_unref (task);
    }
}

/* Progress as it stands once bytes stop flowing: nothing is moving, no time is left to
 * estimate. */
static void
settle_progress (SlDownload *self)
{
  flush_progress (self, TRUE);
  notify_progress (self, sl_progress_settle (&self->progress), 0);
}

/* Ends the download for good: failed, canceled or completed. */
static void
conclude (SlDownload      *self,
          SlDownloadState  state,
          const GError    *error)
{
  stop_timers (self);
  self->stop = STOP_NONE;
  g_clear_error (&self->stop_error);
  set_error (self, error);
  settle_progress (self);
  set_state (self, state);
  return_pause_tasks (self);

  g_signal_emit (self, signals[COMPLETED], 0, error);
}

/* Connections open: the first request's while it is out or read, and every segment's. */
static void
update_connections (SlDownload *self)
{
  guint n = self->segments->len + (self->sending || self->running ? 1 : 0);

  if (n == self->connections)
    return;
  self->connections = n;
  notify (self, PROP_CONNECTIONS);
}

static void
set_checksum_state (SlDownload      *self,
                    SlChecksumState  state)
{
  if (self->checksum_state == state)
    return;
  self->checksum_state = state;
  notify (self, PROP_CHECKSUM_STATE);
}

static void
release_primary_claim (SlDownload *self)
{
  if (self->primary_claim >= 0 &&
      sl_segment_map_get_claim_end (self->done, self->primary_claim) >= 0)
    sl_segment_map_release (self->done, self->primary_claim);
  self->primary_claim = -1;
}

static void
drop_request (SlDownload *self)
{
  /* Every connection is idle by now: their claims go with them. */
  g_ptr_array_set_size (self->segments, 0);
  release_primary_claim (self);
  update_connections (self);
  g_clear_object (&self->transfer);
  g_clear_object (&self->message);
  g_clear_object (&self->cancellable);
}

/* Asks the transfer to stop and then do @action. The user's wishes override automatic ones,
 * a failure overrides a retry, and the first reason of equal rank wins. */
static void
stop_transfer (SlDownload *self,
               StopAction  action,
               GError     *error)
{
  if (action > self->stop)
    {
      self->stop = action;
      g_clear_error (&self->stop_error);
      self->stop_error = error;
    }
  else
    g_clear_error (&error);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);

  maybe_finish_stop (self);
}

/* After a new link, the bytes so far are only kept if the new server proves it serves the same
 * file; anything that would start over means it does not, and the user decides. */
static gboolean
refuse_restart_after_refresh (SlDownload *self)
{
  if (!self->link_refreshed)
    return FALSE;

  stop_transfer (self, STOP_FAIL,
                 g_error_new (SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_BAD_RESPONSE,
                              _("The new link is for a different file; the bytes downloaded "
                                "so far are kept")));
  return TRUE;
}

static void
restart_transfer (SlDownload *self,
                  const char *reason)
{
  if (refuse_restart_after_refresh (self))
    return;

  g_free (self->restart_reason);
  self->restart_reason = g_strdup (reason);
  stop_transfer (self, STOP_RESTART, NULL);
}


typedef struct
{
  SlDownload   *self;
  SlSegmentMap *snapshot;
  guint         generation;
} Checkpoint;

static void
on_checkpoint_synced (GObject      *object,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  Checkpoint *checkpoint = user_data;
  g_autoptr (SlDownload) self = checkpoint->self;
  g_autoptr (SlSegmentMap) snapshot = checkpoint->snapshot;
  g_autoptr (GError) error = NULL;
  gboolean current = checkpoint->generation == self->generation;

  g_free (checkpoint);
  self->checkpoint_pending = FALSE;

  if (!sl_file_writer_finish (SL_FILE_WRITER (object), result, &error))
    {
      stop_transfer (self, STOP_FAIL, g_steal_pointer (&error));
      return;
    }

  /* A restart since the sync was queued makes its snapshot meaningless. */
  if (!current || self->state != SL_DOWNLOAD_STATE_RUNNING)
    return;

  sl_segment_map_merge (self->flushed, snapshot);
  emit_checkpoint (self);
}

/* The bytes done and those handed to the writer: a sync makes them durable. Bytes of an
 * adopted partial file count only once the server's overlap matched them. */
static SlSegmentMap *
handed_map (SlDownload *self)
{
  SlSegmentMap *handed = sl_segment_map_copy (self->done);

  if (self->running && self->adopt_end == 0)
    sl_segment_map_mark_done (handed, self->offset, sl_transfer_get_handed (self->transfer));
  for (guint i = 0; i < self->segments->len; i++)
    {
      Segment *segment = self->segments->pdata[i];

      if (segment->running)
        sl_segment_map_mark_done (handed, segment->next,
                                  sl_transfer_get_handed (segment->transfer));
    }
  return handed;
}

/* Flushes what has been written so far and records it, without stopping the transfer: reads go
 * on meanwhile, and the sync runs after the writes queued before it. */
static void
checkpoint (SlDownload *self)
{
  Checkpoint *data = g_new0 (Checkpoint, 1);

  data->self = g_object_ref (self);
  data->snapshot = handed_map (self);
  data->generation = self->generation;

  self->checkpoint_pending = TRUE;
  self->last_checkpoint_us = g_get_monotonic_time ();
  sl_file_writer_sync_async (self->writer, on_checkpoint_synced, data);
}

static void hand_on_slow (SlDownload *self,
                          gint64      now);

static gboolean
tick_cb (gpointer user_data)
{
  SlDownload *self = user_data;
  gint64 now = g_get_monotonic_time ();

  /* Not forced: the tick only keeps the speed honest while no bytes arrive. */
  flush_progress (self, FALSE);
  hand_on_slow (self, now);

  if (self->file_open && !self->checkpoint_pending && self->stop == STOP_NONE &&
      now - self->last_checkpoint_us >= (gint64) self->checkpoint_interval_ms * 1000)
    checkpoint (self);

  return G_SOURCE_CONTINUE;
}

static void
ensure_tick (SlDownload *self)
{
  /* Sub-second resolution is enough for speed decay and checkpoints. */
  if (self->tick_source == 0)
    self->tick_source = g_timeout_add_full (G_PRIORITY_DEFAULT, 250, tick_cb, self, NULL);
}

static gboolean can_continue (SlDownload *self);

/* Whether the body that just ended is known to be whole. libsoup 3.2 reads a chunked body
 * whose connection closes at a chunk boundary as a clean end (libsoup 3.6.5 reports an error,
 * "[http1][chunked] Report an error in case of unexpected stream end"; this and
 * can_verify_end() go with 3.6), and a body that ends with its connection has no length to
 * check at all. SoupMessageMetrics does not help: it counts the chunk framing received, but
 * with the chunk sizes unknown, a missing last chunk does not show. */
static gboolean
end_is_confirmed (SlDownload *self)
{
  return self->total >= 0 || self->framing == SOUP_ENCODING_CONTENT_LENGTH;
}

/* Whether a request for what would follow can tell a complete body from a cut one: a 416
 * says it was complete, a 206 brings the rest. */
static gboolean
can_verify_end (SlDownload *self)
{
  return self->offset > 0 && can_continue (self);
}

/* The body ended cleanly at the offset the transfer reached: was it all of it? */
static void
body_ended (SlDownload *self)
{
  gint64 end = self->offset;

  if (self->total >= 0 && end < self->total)
    {
      /* The numbers go in as text: a translatable string cannot hold a format macro. */
      g_autofree char *got = g_strdup_printf ("%" G_GINT64_FORMAT, end);
      g_autofree char *total = g_strdup_printf ("%" G_GINT64_FORMAT, self->total);

      stop_transfer (self, STOP_RETRY,
                     g_error_new (SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_NETWORK,
                                  /* Translators: bytes received and expected */
                                  _("The connection closed after %s of %s bytes"),
                                  got, total));
    }
  else if (self->total >= 0 && end > self->total)
    restart_transfer (self, _("The server sent more than it announced; starting over"));
  else if (!end_is_confirmed (self) && can_verify_end (self))
    {
      self->verifying = TRUE;
      stop_transfer (self, STOP_ASK_AGAIN, NULL);
    }
  else
    {
      self->length_checked = end_is_confirmed (self);
      stop_transfer (self, STOP_FINISH, NULL);
    }
}

static GError *network_error (const GError *error);

static GError *
connection_lost_error (const GError *error)
{
  return g_error_new (SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_NETWORK, _("Connection lost: %s"),
                      error->message);
}

/* Segments ------------------------------------------------------------------------------------
 *
 * Once the first answer proves that the server sends parts of this entity (a 206 with its
 * length and a strong validator), other connections fetch other parts of it at once. Each
 * holds a claim in the map of done bytes: the first run of bytes nobody holds, or else the
 * upper half of what the connection with the most left still has to read, which stops asking
 * there (or is cut short there, if that is inside the request it has in hand). Claims are
 * fetched in requests of at most MAX_REQUEST over a kept-alive connection. A connection that
 * finishes takes more work the same way, so none idles while bytes remain; one whose answer
 * cannot be vouched for gives its claim back, and the bytes it did not write are fetched
 * again by another. The first transfer, reading from its own request,
 * is the primary: it keeps the download's single-connection rules, and a fault of its own
 * while others run costs only its claim. */

/* The least each half of a split keeps (or a second's worth at the median connection's
 * speed, if more), and the least near the end, once what is left to do is within four of
 * these per connection (a smaller split would cost more in requests than it saves). */
#define MIN_SPLIT           (1024 * 1024)
#define MIN_SPLIT_AT_END    (64 * 1024)
/* A claim is fetched in requests of at most this much, over one kept-alive connection, so
 * that a split mostly falls after the request in hand, which then need not be cut short. */
#define MAX_REQUEST         (16 * 1024 * 1024)
/* The buffers of a segment's transfer: with up to 16 of them, memory stays bounded. */
#define SEGMENT_BUFFER      (256 * 1024)
/* Extra connections that fail this many times in a row are given up. */
#define MAX_SEGMENT_FAILURES 3

static void fill_connections  (SlDownload *self);
static void check_segments    (SlDownload *self);

/* Whether connections are added one step at a time: when asked to, and under a speed limit,
 * which takes only as many as it needs. */
static gboolean
is_adapting (SlDownload *self)
{
  return self->adaptive || sl_rate_limiter_is_limited (self->limiter);
}

static void
segment_free (Segment *segment)
{
  g_clear_object (&segment->transfer);
  g_clear_object (&segment->message);
  g_free (segment);
}

/* Gives the segment's claim back and forgets it. */
static void
drop_segment (SlDownload *self,
              Segment    *segment)
{
  if (segment->start >= 0 && sl_segment_map_get_claim_end (self->done, segment->start) >= 0)
    sl_segment_map_release (self->done, segment->start);
  g_ptr_array_remove (self->segments, segment);
  update_connections (self);
}

static gboolean
segments_busy (SlDownload *self)
{
  for (guint i = 0; i < self->segments->len; i++)
    {
      Segment *segment = self->segments->pdata[i];

      if (segment->sending || segment->running)
        return TRUE;
    }
  return FALSE;
}

static gboolean
is_segmented (SlDownload *self)
{
  return self->splittable && !self->no_split;
}

/* Connections at work: the primary while it reads, and every segment. */
static guint
active_connections (SlDownload *self)
{
  return self->segments->len + (self->running && self->primary_claim >= 0 ? 1 : 0);
}

/* Connections whose answer came and is being read: those a server took. */
static guint
working_connections (SlDownload *self)
{
  guint n = self->running && self->primary_claim >= 0 ? 1 : 0;

  for (guint i = 0; i < self->segments->len; i++)
    if (((Segment *) self->segments->pdata[i])->running)
      n++;
  return n;
}

/* A claim that could give up its upper half. */
typedef struct
{
  SlTransfer *reader;        /* NULL while its request is being sent */
  gint64      claim_start;
  gint64      claim_end;
  gint64      request_end;
  gint64      left;
} Victim;

static int
by_most_left (gconstpointer a,
              gconstpointer b)
{
  gint64 left_a = ((const Victim *) a)->left, left_b = ((const Victim *) b)->left;

  return left_a < left_b ? 1 : left_a > left_b ? -1 : 0;
}

/* Splits the claim with the most bytes left to read, and returns its upper part as a new
 * claim. A split after the request its owner has in hand costs nothing; one inside it cuts
 * that request short where the split is. */
static gboolean
steal_work (SlDownload *self,
            gint64     *start,
            gint64     *end)
{
  gint64 remaining = self->total - bytes_done (self);
  gint64 least = remaining <= (gint64) self->max_connections * 4 * MIN_SPLIT ? MIN_SPLIT_AT_END
                                                                             : MIN_SPLIT;
  g_autoptr (GArray) victims = g_array_new (FALSE, FALSE, sizeof (Victim));

  /* Before the end, a half is also worth a second of a connection at the others' pace. */
  if (least == MIN_SPLIT)
    least = MAX (least, (gint64) self->median_rate);

  for (guint i = 0; i <= self->segments->len; i++)
    {
      Segment *segment = i < self->segments->len ? self->segments->pdata[i] : NULL;
      Victim victim = { 0 };
      gint64 position;

      if (segment != NULL)
        {
          if (!segment->running && !segment->sending)
            continue;
          victim.claim_start = segment->start;
          victim.reader = segment->running ? segment->transfer : NULL;
          position = victim.reader != NULL ? sl_transfer_get_position (victim.reader)
                                           : segment->next;
          victim.request_end = segment->request_end;
        }
      else
        {
          if (!self->running || self->primary_claim < 0)
            continue;
          victim.claim_start = self->primary_claim;
          victim.reader = self->transfer;
          position = sl_transfer_get_position (victim.reader);
          victim.request_end = G_MAXINT64;
        }

      victim.claim_end = sl_segment_map_get_claim_end (self->done, victim.claim_start);
      victim.left = victim.claim_end - position;
      if (victim.claim_end >= 0 && victim.left / 2 >= least)
        g_array_append_val (victims, victim);
    }
  g_array_sort (victims, by_most_left);

  for (guint i = 0; i < victims->len; i++)
    {
      Victim *victim = &g_array_index (victims, Victim, i);
      gint64 at = victim->claim_end - victim->left / 2;

      /* Inside the request in hand: it stops there, if it reads already (one still being
       * sent is not split inside its request). */
      if (at < victim->request_end &&
          (victim->reader == NULL || !sl_transfer_set_end (victim->reader, at)))
        continue;
      if (!sl_segment_map_split (self->done, victim->claim_start, at))
        continue;

      *start = at;
      *end = victim->claim_end;
      return TRUE;
    }

  return FALSE;
}

static void on_segment_sent (GObject      *object,
                             GAsyncResult *result,
                             gpointer      user_data);

static SoupMessage *new_message (SlDownload *self,
                                 const char *uri);

/* Sends the request for the segment's claim. */
static void
send_segment (SlDownload *self,
              Segment    *segment)
{
  const char *validator = sl_response_etag_is_strong (self->etag) ? self->etag
                                                                  : self->last_modified;
  SoupMessageHeaders *headers;

  g_clear_object (&segment->message);
  g_clear_object (&segment->transfer);
  segment->request_end = MIN (sl_segment_map_get_claim_end (self->done, segment->start),
                              segment->next + MAX_REQUEST);
  segment->message = new_message (self, self->final_uri ? self->final_uri : self->uri);
  headers = soup_message_get_request_headers (segment->message);
  soup_message_headers_set_range (headers, segment->next, segment->request_end - 1);
  if (validator != NULL)
    soup_message_headers_replace (headers, "If-Range", validator);

  segment->transfer = sl_transfer_new (self->writer);
  sl_transfer_set_buffer_size (segment->transfer, SEGMENT_BUFFER);
  sl_transfer_set_stall_timeout (segment->transfer, self->stall_timeout_s);
  sl_transfer_set_limiter (segment->transfer, self->limiter);
  segment->sending = TRUE;
  sl_transfer_send_async (segment->transfer, self->session, segment->message,
                          self->cancellable, on_segment_sent, g_object_ref (self));
}

/* Finds the segment work to do, claimed. */
static gboolean
take_work (SlDownload *self,
           gint64     *start,
           gint64     *end)
{
  return sl_segment_map_claim (self->done, start, end) || steal_work (self, start, end);
}

/* Opens connections until there are as many as allowed, or no work is left to share. */
static void
fill_connections (SlDownload *self)
{
  guint cap = MIN (MIN (is_adapting (self) ? self->wanted : self->max_connections,
                        self->connection_cap), self->share);

  if (!is_segmented (self) || self->stop != STOP_NONE ||
      self->state != SL_DOWNLOAD_STATE_RUNNING || self->refill_source != 0)
    return;

  while (active_connections (self) < cap)
    {
      Segment *segment;
      gint64 start, end;

      if (!take_work (self, &start, &end))
        break;

      segment = g_new0 (Segment, 1);
      segment->start = start;
      segment->next = start;
      g_ptr_array_add (self->segments, segment);
      send_segment (self, segment);
    }
  update_connections (self);
}

/* Gives up connections beyond the share, newest first: one being sent is cancelled, one that
 * reads stops where it is, and the rest of its claim is anybody's. The primary stays. */
static void
shed_connections (SlDownload *self)
{
  guint keeping = active_connections (self);

  for (guint i = 0; i < self->segments->len; i++)
    if (((Segment *) self->segments->pdata[i])->handed_on)
      keeping--;

  for (guint i = self->segments->len; i > 0 && keeping > MAX (self->share, 1); i--)
    {
      Segment *segment = self->segments->pdata[i - 1];

      if (segment->handed_on)
        continue;
      if (segment->sending)
        sl_transfer_cancel (segment->transfer);
      else if (!segment->running ||
               !sl_transfer_set_end (segment->transfer,
                                     sl_transfer_get_position (segment->transfer)))
        continue;
      segment->handed_on = TRUE;
      keeping--;
    }
}

/* Stops splitting: the segments go, keeping what they wrote, and the primary reads on to the
 * end of the body it asked for. */
static void
stop_splitting (SlDownload *self,
                const char *reason)
{
  if (self->no_split)
    return;

  /* Nothing starts over: the bytes the segments wrote were vouched for. */
  self->no_split = TRUE;
  g_debug ("%s", reason);
  for (guint i = 0; i < self->segments->len; i++)
    {
      Segment *segment = self->segments->pdata[i];

      if (segment->sending || segment->running)
        sl_transfer_cancel (segment->transfer);
    }
  if (self->running && self->primary_claim >= 0)
    {
      release_primary_claim (self);
      sl_transfer_set_end (self->transfer, G_MAXINT64);
    }
}

static gboolean
refill_cb (gpointer user_data)
{
  SlDownload *self = user_data;

  self->refill_source = 0;
  fill_connections (self);
  return G_SOURCE_REMOVE;
}

/* A connection failed, or the server wants fewer: it is given up, and after a few failures
 * in a row no more are opened than there are. @cap_to_current: the server said it takes no
 * more. The last connection's failure is the download's, retried as any: takes @error. */
static void
connection_failed (SlDownload *self,
                   gboolean    cap_to_current,
                   guint       retry_after_s,
                   GError     *error)
{
  gboolean repeated = ++self->segment_failures >= MAX_SEGMENT_FAILURES;

  /* A refusal caps at the connections still open, never below as many as were read from at
   * once: one with fewer open comes from a server that counts a closed connection a moment
   * longer. Refusals that repeat cap at what reads. */
  if (repeated)
    self->connection_cap = MAX (working_connections (self), 1);
  else if (cap_to_current)
    self->connection_cap = MIN (self->connection_cap,
                                MAX (MAX (active_connections (self), self->most_working), 1));
  if (cap_to_current)
    g_signal_emit (self, signals[CONNECTIONS_REFUSED], 0, self->connection_cap);

  if (active_connections (self) > 0)
    {
      /* A server that refused one asked for time, a second at least, before another. */
      if (cap_to_current && self->refill_source == 0)
        self->refill_source = g_timeout_add_seconds_full (G_PRIORITY_DEFAULT,
                                                          CLAMP (retry_after_s, 1, 60),
                                                          refill_cb, self, NULL);
      g_clear_error (&error);
      check_segments (self);
      return;
    }

  self->retry_after_s = retry_after_s;
  stop_transfer (self, STOP_RETRY, error);
}

static void
segment_failed (SlDownload *self,
                Segment    *segment,
                gboolean    cap_to_current,
                guint       retry_after_s,
                GError     *error)
{
  drop_segment (self, segment);
  connection_failed (self, cap_to_current, retry_after_s, error);
}

/* The segment whose transfer is @transfer: each callback of a transfer has its segment. */
static Segment *
segment_of (SlDownload *self,
            SlTransfer *transfer)
{
  for (guint i = 0; i < self->segments->len; i++)
    if (((Segment *) self->segments->pdata[i])->transfer == transfer)
      return self->segments->pdata[i];
  g_assert_not_reached ();
}

static void
on_segment_written (SlTransfer *transfer,
                    gint64      offset,
                    gint64      bytes,
                    SlDownload *self)
{
  self->segment_failures = 0;
  sl_segment_map_mark_done (self->done, offset, offset + bytes);
  flush_progress (self, FALSE);
}

static void
on_segment_done (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr (SlDownload) self = user_data;
  g_autoptr (GError) error = NULL;
  Segment *segment;
  SlTransferEnd end;

  segment = segment_of (self, SL_TRANSFER (object));

  end = sl_transfer_run_finish (segment->transfer, result, &error);
  segment->running = FALSE;
  g_signal_handlers_disconnect_by_data (segment->transfer, self);

  switch (end)
    {
    case SL_TRANSFER_ENDED:
    case SL_TRANSFER_RANGE_DONE:
      {
        gint64 reached = sl_transfer_get_handed (segment->transfer);
        gint64 claim_end = sl_segment_map_get_claim_end (self->done, segment->start);

        /* An answer that brought nothing at all, unless it was told to stop, is a fault.
         * The claim goes on with the next request over the same connection, or, once it is
         * done or has been cut short, what did not come is anybody's again. */
        if (reached == segment->next && !segment->handed_on)
          segment_failed (self, segment, FALSE, 0,
                          g_error_new (SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_NETWORK,
                                       _("The server closed the connection without sending "
                                         "anything")));
        else if (reached == segment->request_end && reached < claim_end &&
                 self->stop == STOP_NONE && !self->no_split && !segment->handed_on &&
                 active_connections (self) <= self->share)
          {
            segment->next = reached;
            send_segment (self, segment);
          }
        else
          {
            drop_segment (self, segment);
            check_segments (self);
          }
      }
      break;

    case SL_TRANSFER_WRITE_FAILED:
      drop_segment (self, segment);
      stop_transfer (self, STOP_FAIL, g_steal_pointer (&error));
      break;

    case SL_TRANSFER_CANCELLED:
      drop_segment (self, segment);
      check_segments (self);
      break;

    case SL_TRANSFER_READ_FAILED:
      segment_failed (self, segment, FALSE, 0, connection_lost_error (error));
      break;

    case SL_TRANSFER_STALLED:
      segment_failed (self, segment, FALSE, 0, g_steal_pointer (&error));
      break;

    case SL_TRANSFER_OVERLAP_DIFFERS:
    default:
      g_assert_not_reached ();
    }
}

static void
on_segment_sent (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr (SlDownload) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GDateTime) now = NULL;
  g_auto (SlSegmentVerdict) verdict = { 0 };
  SlSegmentAsked asked;
  Segment *segment;
  guint status;

  segment = segment_of (self, SL_TRANSFER (object));

  segment->sending = FALSE;
  if (!sl_transfer_send_finish (segment->transfer, result, &error))
    {
      if (self->stop != STOP_NONE || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          drop_segment (self, segment);
          check_segments (self);
        }
      else if (g_error_matches (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_NETWORK))
        segment_failed (self, segment, FALSE, 0, g_steal_pointer (&error));
      else
        /* A host that refuses another connection takes as many as it has. */
        segment_failed (self, segment,
                        g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED), 0,
                        network_error (error));
      return;
    }

  if (self->stop != STOP_NONE || self->no_split)
    {
      drop_segment (self, segment);
      check_segments (self);
      return;
    }

  status = soup_message_get_status (segment->message);
  asked = (SlSegmentAsked) {
    .start = segment->next,
    .end = segment->request_end,
    .total = self->total,
    .etag = sl_response_etag_is_strong (self->etag) ? self->etag : NULL,
    .last_modified = self->last_modified,
  };
  now = g_date_time_new_now_utc ();
  verdict = sl_response_judge_segment (&asked, status,
                                       soup_message_get_reason_phrase (segment->message),
                                       soup_message_get_response_headers (segment->message),
                                       now);

  switch (verdict.kind)
    {
    case SL_SEGMENT_TAKE:
      /* Its claim may have been split after the request while it was out. A short answer
       * ends the request where it ends. */
      segment->request_end = MIN (MIN (segment->request_end,
                                       sl_segment_map_get_claim_end (self->done, segment->start)),
                                  verdict.end);
      /* Cut short only if it must: a body read to its end keeps its connection. One whose
       * length is not told is bounded all the same. */
      if (segment->request_end < verdict.end ||
          soup_message_headers_get_encoding (soup_message_get_response_headers (
            segment->message)) != SOUP_ENCODING_CONTENT_LENGTH)
        sl_transfer_set_end (segment->transfer, segment->request_end);
      g_signal_connect (segment->transfer, "written", G_CALLBACK (on_segment_written), self);
      segment->running = TRUE;
      self->most_working = MAX (self->most_working, working_connections (self));
      sl_transfer_run_async (segment->transfer, segment->next, NULL, self->cancellable,
                             on_segment_done, g_object_ref (self));
      break;

    case SL_SEGMENT_NO_RANGES:
    case SL_SEGMENT_UNTRUSTED:
      drop_segment (self, segment);
      stop_splitting (self, verdict.reason);
      check_segments (self);
      break;

    case SL_SEGMENT_CHANGED:
      drop_segment (self, segment);
      restart_transfer (self, verdict.reason);
      break;

    case SL_SEGMENT_RETRY:
    case SL_SEGMENT_REFUSED:
    default:
      /* A server that refuses another connection takes as many as it has. */
      segment_failed (self, segment, TRUE, verdict.retry_after_s,
                      g_steal_pointer (&verdict.error));
      break;
    }
}

/* After a connection finished: a stop goes on, the download completes once every byte is done
 * and nothing reads any more, else free connections take the work left. */
static void
check_segments (SlDownload *self)
{
  if (self->stop != STOP_NONE)
    {
      maybe_finish_stop (self);
      return;
    }

  fill_connections (self);

  if (self->sending || self->running || segments_busy (self))
    return;

  if (self->total >= 0 && sl_segment_map_get_prefix (self->done) >= self->total)
    {
      self->length_checked = TRUE;
      self->offset = self->total;
      stop_transfer (self, STOP_FINISH, NULL);
    }
  else
    /* Nobody is left to fetch what remains: a new first request picks it up. */
    stop_transfer (self, STOP_ASK_AGAIN, NULL);
}

/* Adaptive: connections are added while they pay. The count doubles while a step brings at
 * least ADAPT_DOUBLE more throughput, grows by one while it brings at least ADAPT_KEEP, and
 * stays where it is once a step brings less: a server that caps each connection gets as many
 * as the cap allows, one that does not keeps one or two. A step that scales almost linearly
 * (ADAPT_LINEAR) says the server caps each connection, and the count doubles twice at once.
 * Under a speed limit, a count that reaches the limit is enough. Each step is measured over
 * ADAPT_WINDOW_US and ADAPT_BYTES at least, from when all its connections read; a step that
 * scales almost linearly shows it in half of that, and is taken then. */
#define ADAPT_LINEAR     1.80
#define ADAPT_DOUBLE     1.20
#define ADAPT_KEEP       1.05
#define ADAPT_TICK_MS    10
#define ADAPT_WINDOW_US  (100 * G_TIME_SPAN_MILLISECOND)
#define ADAPT_MAX_US     G_TIME_SPAN_SECOND
#define ADAPT_BYTES      (512 * 1024)

/* Connections whose bytes flow: reading, with some read already. */
static guint
reading_connections (SlDownload *self)
{
  guint n = self->running && self->primary_claim >= 0 ? 1 : 0;

  for (guint i = 0; i < self->segments->len; i++)
    {
      Segment *segment = self->segments->pdata[i];

      if (segment->running && sl_transfer_get_position (segment->transfer) > segment->next)
        n++;
    }
  return n;
}

static void
stop_adapting (SlDownload *self)
{
  g_clear_handle_id (&self->adapt_source, g_source_remove);
  self->window_us = 0;
}

static gboolean
adapt_cb (gpointer user_data)
{
  SlDownload *self = user_data;
  gint64 now = g_get_monotonic_time ();
  guint cap = MIN (self->max_connections, self->connection_cap);
  guint64 limit = sl_rate_limiter_get_limit (self->limiter);
  guint reading;
  double rate, gain;

  if (!is_segmented (self) || self->frozen || self->stop != STOP_NONE || self->wanted >= cap)
    {
      self->adapt_source = 0;
      self->window_us = 0;
      return G_SOURCE_REMOVE;
    }

  /* A step counts from when all its connections read. */
  if (self->window_us == 0)
    {
      if (reading_connections (self) >= self->wanted)
        {
          self->window_us = now;
          self->window_bytes = bytes_done (self);
        }
      return G_SOURCE_CONTINUE;
    }

  if (now - self->window_us < ADAPT_WINDOW_US / 2 ||
      (bytes_done (self) - self->window_bytes < ADAPT_BYTES / 2 &&
       now - self->window_us < ADAPT_MAX_US))
    return G_SOURCE_CONTINUE;

  rate = (bytes_done (self) - self->window_bytes) * (double) G_USEC_PER_SEC /
         (now - self->window_us);
  gain = self->step_rate > 0 ? rate / self->step_rate : G_MAXDOUBLE;
  if ((now - self->window_us < ADAPT_WINDOW_US ||
       (bytes_done (self) - self->window_bytes < ADAPT_BYTES &&
        now - self->window_us < ADAPT_MAX_US)) &&
      !(self->step_rate > 0 && gain >= ADAPT_LINEAR))
    return G_SOURCE_CONTINUE;
  self->window_us = 0;
  reading = MAX (reading_connections (self), 1);

  if (limit > 0 && rate >= 0.9 * limit)
    self->frozen = TRUE;
  else if (gain >= ADAPT_LINEAR && self->step_rate > 0)
    self->wanted = MIN (self->wanted * 4, cap);
  else if (gain >= ADAPT_DOUBLE)
    self->wanted = MIN (self->wanted * 2, cap);
  else if (gain >= ADAPT_KEEP)
    self->wanted = MIN (self->wanted + 1, cap);
  else
    self->frozen = TRUE;
  /* Under a limit, no more than the limit needs at the pace each has. */
  if (limit > 0 && rate > 0)
    self->wanted = MIN (self->wanted, MAX ((guint) (limit * reading / rate + 0.999), reading));
  g_debug ("%u connections: %.1f MB/s (%.2f×)%s", reading, rate / 1e6,
           gain == G_MAXDOUBLE ? 0 : gain, self->frozen ? ", enough" : "");
  self->step_rate = MAX (self->step_rate, rate);

  fill_connections (self);
  return G_SOURCE_CONTINUE;
}

static void
start_adapting (SlDownload *self)
{
  if (!is_adapting (self) || self->frozen || self->adapt_source != 0)
    return;

  self->window_us = 0;
  self->adapt_source = g_timeout_add_full (G_PRIORITY_DEFAULT, ADAPT_TICK_MS, adapt_cb, self,
                                           NULL);
}

/* A connection that runs below a third of the others' median speed for SLOW_FOR_US hands its
 * range on: it stops where it is, its claim goes back, and a fresh connection takes the rest.
 * Speeds are smoothed over about SLOW_SMOOTH_US; it takes three connections for a median. */
#define SLOW_FOR_US    (5 * G_TIME_SPAN_SECOND)
#define SLOW_SMOOTH_US (2 * G_TIME_SPAN_SECOND)

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y ? 1 : 0;
}

static void
hand_on_slow (SlDownload *self,
              gint64      now)
{
  g_autoptr (GArray) rates = NULL;
  double median;

  if (!is_segmented (self) || self->stop != STOP_NONE)
    return;

  rates = g_array_new (FALSE, FALSE, sizeof (double));
  for (guint i = 0; i < self->segments->len; i++)
    {
      Segment *segment = self->segments->pdata[i];
      gint64 position;
      double weight;

      if (!segment->running)
        {
          segment->sample_us = 0;
          continue;
        }
      position = sl_transfer_get_position (segment->transfer);
      if (segment->sample_us == 0)
        {
          /* Its first bytes: counted from the start of its request. */
          segment->sample_us = now;
          segment->sample_at = position;
          continue;
        }
      weight = MIN ((now - segment->sample_us) / (double) SLOW_SMOOTH_US, 1.0);
      segment->rate = (1 - weight) * segment->rate +
                      weight * (position - segment->sample_at) * (double) G_USEC_PER_SEC /
                        MAX (now - segment->sample_us, 1);
      segment->sample_us = now;
      segment->sample_at = position;
      g_array_append_val (rates, segment->rate);
    }
  /* Once the others are done, the median they had still stands. */
  if (rates->len >= 3)
    {
      g_array_sort (rates, compare_doubles);
      self->median_rate = g_array_index (rates, double, rates->len / 2);
    }
  median = self->median_rate;
  if (median <= 0)
    return;

  for (guint i = 0; i < self->segments->len; i++)
    {
      Segment *segment = self->segments->pdata[i];
      gint64 position;

      if (!segment->running || segment->sample_us == 0)
        continue;
      if (segment->rate >= median / 3)
        {
          segment->slow_since_us = 0;
          continue;
        }
      if (segment->slow_since_us == 0)
        segment->slow_since_us = now;
      if (now - segment->slow_since_us < SLOW_FOR_US)
        continue;

      /* Stops at what it read, unless it is about done; the rest of its claim is
       * anybody's. */
      position = sl_transfer_get_position (segment->transfer);
      if (sl_segment_map_get_claim_end (self->done, segment->start) - position <= segment->rate)
        continue;
      g_debug ("A connection at %.0f kB/s, a third of the others' %.0f kB/s, hands its part on",
               segment->rate / 1e3, median / 1e3);
      segment->slow_since_us = 0;
      segment->handed_on = sl_transfer_set_end (segment->transfer, position);
    }
}

/* The primary's answer proved that the entity can be split: it claims what it reads, and the
 * other connections start. */
static void
start_segments (SlDownload *self)
{
  gint64 start, end;

  if (!is_segmented (self) || self->max_connections < 2 || self->total <= 0)
    return;

  sl_segment_map_set_total (self->done, self->total);
  if (!sl_segment_map_claim (self->done, &start, &end))
    return;

  /* The primary reads from the first byte not done: that is the first claim. */
  if (start != self->offset)
    {
      sl_segment_map_release (self->done, start);
      return;
    }
  self->primary_claim = start;
  self->median_rate = 0;
  /* Nothing past its claim, nor past the end of the entity, whatever the body holds. */
  sl_transfer_set_end (self->transfer, end);
  if (is_adapting (self))
    {
      /* Each attempt measures afresh, from what it has. */
      self->wanted = MAX (MIN (self->wanted, self->max_connections), 1);
      self->step_rate = 0;
      start_adapting (self);
    }
  fill_connections (self);
}

/* The primary ended while it held a claim: the end of its claim, or a body cut short, only
 * leaves its bytes to the others; a failure is one connection's. Returns whether it
 * decided, and then takes @error. */
static gboolean
primary_done_segmented (SlDownload     *self,
                        SlTransferEnd   end,
                        GError        **error)
{
  switch (end)
    {
    case SL_TRANSFER_ENDED:
    case SL_TRANSFER_RANGE_DONE:
      release_primary_claim (self);
      check_segments (self);
      return TRUE;

    case SL_TRANSFER_READ_FAILED:
    case SL_TRANSFER_STALLED:
      release_primary_claim (self);
      connection_failed (self, FALSE, 0,
                         end == SL_TRANSFER_READ_FAILED ? connection_lost_error (*error)
                                                        : g_steal_pointer (error));
      return TRUE;

    case SL_TRANSFER_CANCELLED:
    case SL_TRANSFER_WRITE_FAILED:
    case SL_TRANSFER_OVERLAP_DIFFERS:
    default:
      /* As for a single connection: the whole download stops. */
      release_primary_claim (self);
      return FALSE;
    }
}

static void
on_transfer_done (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr (SlDownload) self = user_data;
  SlTransfer *transfer = SL_TRANSFER (object);
  g_autoptr (GError) error = NULL;
  SlTransferEnd end;

  g_assert (transfer == self->transfer);
  end = sl_transfer_run_finish (transfer, result, &error);
  self->running = FALSE;
  update_connections (self);
  g_signal_handlers_disconnect_by_data (transfer, self);
  if (self->adopt_end == 0)
    self->offset = sl_transfer_get_handed (transfer);

  if (self->primary_claim >= 0 && primary_done_segmented (self, end, &error))
    return;

  switch (end)
    {
    case SL_TRANSFER_ENDED:
      body_ended (self);
      break;

    case SL_TRANSFER_CANCELLED:
      /* Only stop_transfer() cancels, and it says what comes next. */
      if (self->stop != STOP_NONE)
        maybe_finish_stop (self);
      else
        stop_transfer (self, STOP_RETRY,
                       g_error_new (SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_NETWORK,
                                    _("Connection lost: %s"), g_strerror (ECANCELED)));
      break;

    case SL_TRANSFER_READ_FAILED:
      stop_transfer (self, STOP_RETRY, connection_lost_error (error));
      break;

    case SL_TRANSFER_STALLED:
      stop_transfer (self, STOP_RETRY, g_steal_pointer (&error));
      break;

    case SL_TRANSFER_WRITE_FAILED:
      stop_transfer (self, STOP_FAIL, g_steal_pointer (&error));
      break;

    case SL_TRANSFER_OVERLAP_DIFFERS:
      overlap_differs (self);
      break;

    case SL_TRANSFER_RANGE_DONE:
      /* One stream to the body's end: nothing moves the end of this transfer. */
    default:
      g_assert_not_reached ();
    }
}

static void
on_transfer_written (SlTransfer *transfer,
                     gint64      offset,
                     gint64      bytes,
                     SlDownload *self)
{
  sl_segment_map_mark_done (self->done, offset, offset + bytes);
  flush_progress (self, FALSE);
}

/* The server's bytes are those at the end of the adopted partial file: the download continues
 * after them. */
static void
on_overlap_matched (SlTransfer *transfer,
                    SlDownload *self)
{
  set_bytes_to (self, self->adopt_end);
  self->attempt_done = self->adopt_end;
  sl_progress_rebase_sample (&self->progress, self->adopt_end);
  forget_adoption (self);
  flush_progress (self, TRUE);
  emit_checkpoint (self);
}

static void
on_truncated (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr (SlDownload) self = user_data;
  g_autoptr (GError) error = NULL;

  if (!sl_file_writer_finish (SL_FILE_WRITER (object), result, &error))
    stop_transfer (self, STOP_FAIL, g_steal_pointer (&error));
}

/* Forgets every byte: the file is emptied before any write that follows. */
static void
reset_bytes (SlDownload *self)
{
  set_bytes_to (self, 0);
  self->generation++;
  sl_progress_rebase (&self->progress, 0);
  notify (self, PROP_BYTES_RECEIVED);
  forget_recorded (self);
  forget_adoption (self);

  if (self->file_open)
    sl_file_writer_truncate_async (self->writer, 0, on_truncated, g_object_ref (self));
}

static void
on_preallocated (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr (SlDownload) self = user_data;
  g_autoptr (GError) error = NULL;

  if (!sl_file_writer_finish (SL_FILE_WRITER (object), result, &error) &&
      self->state == SL_DOWNLOAD_STATE_RUNNING)
    stop_transfer (self, STOP_FAIL, g_steal_pointer (&error));
}

static void
start_streaming (SlDownload *self)
{
  gboolean adopting = self->adopt_end > 0;

  /* Queued before the first write: a disk without room for the whole file says so now. */
  if (self->total > 0 && self->preallocated != self->total)
    {
      self->preallocated = self->total;
      sl_file_writer_preallocate_async (self->writer, self->total, on_preallocated,
                                        g_object_ref (self));
    }

  /* Downloads started together would checkpoint together, every time: a random phase spreads
   * them over the interval. */
  if (self->last_checkpoint_us == 0)
    self->last_checkpoint_us =
      g_get_monotonic_time () -
      g_random_int_range (0, (gint32) self->checkpoint_interval_ms / 2 + 1) * 1000;

  g_assert (self->transfer != NULL && !self->running);
  g_signal_connect (self->transfer, "written", G_CALLBACK (on_transfer_written), self);
  g_signal_connect (self->transfer, "overlap-matched", G_CALLBACK (on_overlap_matched), self);
  self->running = TRUE;
  update_connections (self);
  sl_transfer_run_async (self->transfer, adopting ? self->adopt_end : self->offset,
                         adopting ? self->adopt_tail : NULL, self->cancellable,
                         on_transfer_done, g_object_ref (self));
  if (!adopting)
    start_segments (self);
}

static void
forget_adoption (SlDownload *self)
{
  self->adopt_end = 0;
  g_clear_pointer (&self->adopt_tail, g_bytes_unref);
}

/* Starts over in the same partial file, which holds bytes the server does not vouch for. */
static void
restart_adoption (SlDownload *self,
                  const char *reason)
{
  forget_adoption (self);
  restart_transfer (self, reason);
}

/* The server's bytes are not those at the end of the adopted partial file, or end before it. */
static void
overlap_differs (SlDownload *self)
{
  restart_adoption (self, _("The partial file already there differs from the file on the "
                            "server; starting over"));
}

/* A partial file of @existing bytes was there without resume data: a crash before the first
 * resume data, resume data lost, a copy from elsewhere. Rather than append to it blindly, the
 * download asks for the rest with an overlap of its last bytes, and continues only if they
 * match; that takes a server that continues files, and an entity at least as long. */
static gboolean
can_adopt (SlDownload *self,
           gint64      existing)
{
  return self->range_ok && (self->total < 0 || self->total >= existing);
}

static void
on_created (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr (SlDownload) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *name = NULL;
  g_autofree char *directory = NULL;
  g_autofree char *partial_name = NULL;
  g_autoptr (GBytes) tail = NULL;
  gint64 existing = 0;

  self->file_op_pending = FALSE;
  name = sl_file_writer_create_finish (SL_FILE_WRITER (object), result, &existing, &tail,
                                       &error);
  if (name == NULL)
    {
      stop_transfer (self, STOP_FAIL, g_steal_pointer (&error));
      return;
    }
  sl_file_writer_get_identity (self->writer, &self->device, &self->inode);
  self->identity_recorded = FALSE;

  directory = g_file_get_path (self->directory);
  partial_name = g_strconcat (name, ".part", NULL);
  g_free (self->partial_path);
  self->partial_path = g_build_filename (directory, partial_name, NULL);
  self->file_open = TRUE;
  self->preallocated = 0;

  if (g_strcmp0 (self->filename, name) != 0)
    {
      g_free (self->filename);
      self->filename = g_steal_pointer (&name);
      notify (self, PROP_FILENAME);
    }

  if (existing > 0 && (self->stop != STOP_NONE || can_adopt (self, existing)))
    {
      self->adopt_end = existing;
      self->adopt_tail = g_bytes_ref (tail);
    }
  else if (existing > 0)
    {
      /* The answer in hand is the whole file: it replaces what cannot be checked. */
      g_signal_emit (self, signals[RESTARTED], 0,
                     _("The partial file already there cannot be checked against the file on "
                       "the server; starting over"));
      reset_bytes (self);
    }

  /* Record the new partial file at once, so that a crash from here on can still resume. */
  emit_checkpoint (self);
  start_hashing (self);

  if (self->stop != STOP_NONE)
    maybe_finish_stop (self);
  else if (self->adopt_end > 0)
    stop_transfer (self, STOP_ASK_AGAIN, NULL);
  else
    start_streaming (self);
}

static void
on_hashing (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr (SlDownload) self = user_data;

  /* It cannot fail: what it could not read back, the completion reads and reports. */
  sl_file_writer_finish (SL_FILE_WRITER (object), result, NULL);
}

/* With a checksum to check, the writer keeps the digest up as bytes land, from those on disk
 * now. */
static void
start_hashing (SlDownload *self)
{
  if (self->digest == NULL)
    return;

  sl_file_writer_hash_async (self->writer, self->checksum, self->done, on_hashing,
                             g_object_ref (self));
}

static void
open_partial_file (SlDownload *self)
{
  g_autofree char *directory = g_file_get_path (self->directory);
  g_autofree char *name = NULL;

  if (self->filename == NULL)
    {
      const char *disposition = NULL;
      const char *content_type = NULL;
      g_autoptr (GUri) uri = NULL;

      if (self->message != NULL)
        {
          SoupMessageHeaders *headers = soup_message_get_response_headers (self->message);

          disposition = soup_message_headers_get_one (headers, "Content-Disposition");
          content_type = soup_message_headers_get_one (headers, "Content-Type");
        }
      uri = g_uri_parse (self->final_uri ? self->final_uri : self->uri, SOUP_HTTP_URI_FLAGS,
                         NULL);
      name = sl_filename_guess (disposition, content_type, uri, &self->split_extension);
    }
  else
    name = g_strdup (self->filename);
  sl_file_writer_set_split_extension (self->writer, self->split_extension);
  sl_file_writer_set_claimed (self->writer, (const char * const *) self->claimed);

  self->file_op_pending = TRUE;
  sl_file_writer_create_async (self->writer, directory, name, self->name_policy, on_created,
                               g_object_ref (self));
}

static void
remember_entity (SlDownload         *self,
                 SoupMessageHeaders *headers)
{
  const char *etag = soup_message_headers_get_one (headers, "ETag");
  const char *last_modified = soup_message_headers_get_one (headers, "Last-Modified");
  const char *content_type = soup_message_headers_get_one (headers, "Content-Type");
  const char *encoding = soup_message_headers_get_one (headers, "Content-Encoding");
  const char *accept_ranges = soup_message_headers_get_one (headers, "Accept-Ranges");

  set_str (&self->etag, etag);
  set_str (&self->last_modified, last_modified);
  set_str (&self->content_type, content_type);

  /* A body the session decodes has no byte offsets we can ask for again. */
  self->range_ok = (encoding == NULL || g_ascii_strcasecmp (encoding, "identity") == 0) &&
                   (accept_ranges == NULL || g_ascii_strcasecmp (accept_ranges, "none") != 0);
}

/* What was asked by the request in flight, for the response policy. */
static SlAsked
asked_of (SlDownload *self)
{
  return (SlAsked) {
    .ranged = self->ranged_request,
    .have = prefix_done (self),
    .total = self->total,
    .etag = self->etag,
    .content_type = self->content_type,
    .verifying = self->verifying,
    .adopt_end = self->adopt_end,
    .adopt_from = self->adopt_end > 0 ? self->adopt_end - g_bytes_get_size (self->adopt_tail)
                                      : 0,
    .probe = self->probe_request,
  };
}

/* Reads the body of an answer the policy accepted, from where the bytes on disk end. */
static void
take_answer (SlDownload *self)
{
  self->link_refreshed = FALSE;
  self->answered = TRUE;
  if (!self->file_open)
    open_partial_file (self);
  else
    start_streaming (self);
}

/* Decides what to do with the answer to a request, before any byte of its body is read: the
 * response policy judges, this carries its verdict out. */
static void
handle_response (SlDownload *self)
{
  SoupMessageHeaders *headers = soup_message_get_response_headers (self->message);
  guint status = soup_message_get_status (self->message);
  SlAsked asked = asked_of (self);
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_auto (SlVerdict) verdict =
    sl_response_judge (&asked, status, soup_message_get_reason_phrase (self->message), headers,
                       now);

  set_http_status (self, status);
  self->framing = soup_message_headers_get_encoding (headers);
  if (self->verifying && verdict.kind != SL_VERDICT_RETRY)
    self->verifying = FALSE;

  switch (verdict.kind)
    {
    case SL_VERDICT_RETRY:
      self->retry_after_s = verdict.retry_after_s;
      stop_transfer (self, STOP_RETRY, g_steal_pointer (&verdict.error));
      return;

    case SL_VERDICT_FAIL:
      stop_transfer (self, STOP_FAIL, g_steal_pointer (&verdict.error));
      return;

    case SL_VERDICT_FINISH:
      if (verdict.length_checked)
        {
          self->length_checked = TRUE;
          set_total (self, verdict.total);
        }
      stop_transfer (self, STOP_FINISH, NULL);
      return;

    case SL_VERDICT_RESTART:
      if (verdict.plain)
        self->probe_refused = TRUE;
      restart_transfer (self, verdict.reason);
      return;

    case SL_VERDICT_ABANDON_ADOPTION:
      restart_adoption (self, verdict.reason);
      return;

    case SL_VERDICT_ADOPT:
      /* The validators of this answer are the download's own from now on. */
      self->link_refreshed = FALSE;
      self->answered = TRUE;
      remember_entity (self, headers);
      self->range_ok = TRUE;
      set_total (self, verdict.total);
      start_streaming (self);
      return;

    case SL_VERDICT_CONTINUE:
      if (self->total < 0 && verdict.total >= 0)
        set_total (self, verdict.total);
      self->link_refreshed = FALSE;
      self->answered = TRUE;
      /* The rest of an entity that it holds validators of: other parts may come alongside. */
      self->splittable = self->max_connections > 1 && self->total > 0 && !self->verifying &&
                         (sl_response_etag_is_strong (self->etag) ||
                          self->last_modified != NULL);
      start_streaming (self);
      return;

    case SL_VERDICT_START_OVER:
      if (refuse_restart_after_refresh (self))
        return;
      if (++self->restarts > MAX_RESTARTS)
        {
          stop_transfer (self, STOP_FAIL,
                         g_error_new (SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_BAD_RESPONSE,
                                      _("The server keeps sending inconsistent data")));
          return;
        }
      g_signal_emit (self, signals[RESTARTED], 0, verdict.reason);
      reset_bytes (self);
      G_GNUC_FALLTHROUGH;

    case SL_VERDICT_BEGIN:
      remember_entity (self, headers);
      set_total (self, verdict.total);
      self->splittable = verdict.splittable && self->max_connections > 1;
      take_answer (self);
      return;

    default:
      g_assert_not_reached ();
    }
}

static GError *
network_error (const GError *error)
{
  return g_error_new (SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_NETWORK, _("Network error: %s"),
                      error->message);
}

static guint64
header_bytes_received (SlDownload *self)
{
  SoupMessageMetrics *metrics = self->message ? soup_message_get_metrics (self->message) : NULL;

  return metrics != NULL ? soup_message_metrics_get_response_header_bytes_received (metrics) : 0;
}

/* The error for a request that will fail the same way again. */
static GError *
lasting_send_error (SlDownload   *self,
                    const GError *error)
{
  /* A certificate the user would have to accept is a matter of the connection. */
  if (error->domain == G_TLS_ERROR)
    return network_error (error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT))
    return g_error_new (SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_BAD_RESPONSE,
                        _("The server sent response headers too large to read"));

  return g_error_new (SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_BAD_RESPONSE,
                      _("The server’s answer cannot be read: %s"), error->message);
}

static void
on_send_done (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr (SlDownload) self = user_data;
  g_autoptr (GError) error = NULL;
  gboolean answered;

  answered = sl_transfer_send_finish (SL_TRANSFER (object), result, &error);
  self->sending = FALSE;
  update_connections (self);

  if (self->message != NULL)
    {
      g_autofree char *final_uri = g_uri_to_string (soup_message_get_uri (self->message));

      if (g_strcmp0 (final_uri, self->final_uri) != 0)
        {
          g_free (self->final_uri);
          self->final_uri = g_steal_pointer (&final_uri);
          notify (self, PROP_FINAL_URI);
        }
    }

  if (!answered)
    {
      if (self->stop != STOP_NONE)
        maybe_finish_stop (self);
      else if (g_error_matches (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_NETWORK))
        /* A stall. */
        stop_transfer (self, STOP_RETRY, g_steal_pointer (&error));
      else if (g_error_matches (error, SOUP_SESSION_ERROR,
                                SOUP_SESSION_ERROR_TOO_MANY_REDIRECTS))
        stop_transfer (self, STOP_FAIL,
                       g_error_new (SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_TOO_MANY_REDIRECTS,
                                    _("Too many redirects")));
      else if (!sl_retry_send_error_is_transient (error, header_bytes_received (self)))
        stop_transfer (self, STOP_FAIL, lasting_send_error (self, error));
      else
        stop_transfer (self, STOP_RETRY, network_error (error));
      return;
    }

  if (self->stop != STOP_NONE)
    {
      maybe_finish_stop (self);
      return;
    }

  handle_response (self);
}

/* The session puts its own User-Agent on every request just before "starting"; a caller's
 * goes back on top of it then. */
static void
on_message_starting (SoupMessage *message,
                     SlDownload  *self)
{
  const char *agent = soup_message_headers_get_one (self->extra_headers, "User-Agent");

  if (agent != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (message), "User-Agent",
                                  agent);
}

/* A GET of @uri with the download's own headers. */
static SoupMessage *
new_message (SlDownload *self,
             const char *uri_string)
{
  g_autoptr (GUri) uri = g_uri_parse (uri_string, SOUP_HTTP_URI_FLAGS, NULL);
  SoupMessage *message = soup_message_new_from_uri (SOUP_METHOD_GET, uri);
  SoupMessageHeaders *headers = soup_message_get_request_headers (message);
  SoupMessageHeadersIter iter;
  const char *name, *value;

  /* For the header bytes that tell a response too large from none at all. */
  soup_message_add_flags (message, SOUP_MESSAGE_COLLECT_METRICS);

  soup_message_headers_iter_init (&iter, self->extra_headers);
  while (soup_message_headers_iter_next (&iter, &name, &value))
    soup_message_headers_replace (headers, name, value);

  if (soup_message_headers_get_one (self->extra_headers, "User-Agent") != NULL)
    g_signal_connect_object (message, "starting", G_CALLBACK (on_message_starting), self, 0);

  /* Byte offsets only mean something in the identity encoding. */
  soup_message_headers_replace (headers, "Accept-Encoding", "identity");
  return message;
}

static void
send_request (SlDownload *self)
{
  SoupMessageHeaders *headers;

  g_clear_object (&self->message);
  self->message = new_message (self, self->uri);
  headers = soup_message_get_request_headers (self->message);

  self->ranged_request = FALSE;
  self->probe_request = FALSE;
  self->splittable = FALSE;
  if (prefix_done (self) == 0 && self->adopt_end == 0 && self->max_connections > 1 &&
      !self->probe_refused && !self->no_split)
    {
      /* The first request is the download, and its answer tells whether it can split. */
      soup_message_headers_set_range (headers, 0, -1);
      self->ranged_request = TRUE;
      self->probe_request = TRUE;
    }
  else if (prefix_done (self) > 0 || self->adopt_end > 0)
    {
      const char *validator = sl_response_etag_is_strong (self->etag) ? self->etag : self->last_modified;
      gint64 start = prefix_done (self);

      if (self->adopt_end > 0)
        start = self->adopt_end - g_bytes_get_size (self->adopt_tail);
      soup_message_headers_set_range (headers, start, -1);
      if (validator != NULL)
        soup_message_headers_replace (headers, "If-Range", validator);
      self->ranged_request = TRUE;
    }

  g_clear_object (&self->transfer);
  self->transfer = sl_transfer_new (self->writer);
  sl_transfer_set_stall_timeout (self->transfer, self->stall_timeout_s);
  sl_transfer_set_limiter (self->transfer, self->limiter);
  self->sending = TRUE;
  update_connections (self);
  sl_transfer_send_async (self->transfer, self->session, self->message, self->cancellable,
                          on_send_done, g_object_ref (self));
}

static gboolean
can_continue (SlDownload *self)
{
  return self->range_ok && (sl_response_etag_is_strong (self->etag) || self->last_modified != NULL ||
                            self->total >= 0);
}

static void
on_opened (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr (SlDownload) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *completed = NULL;
  guint64 device, inode;
  gint64 usable;

  self->file_op_pending = FALSE;
  usable = sl_file_writer_open_finish (SL_FILE_WRITER (object), result, &completed, &error);
  if (usable < 0)
    {
      stop_transfer (self, STOP_FAIL, g_steal_pointer (&error));
      return;
    }

  /* Renamed to its final name, by a run that ended before it could say so. */
  if (completed != NULL)
    {
      GStatBuf st;

      g_clear_pointer (&self->partial_path, g_free);
      if (g_stat (completed, &st) == 0)
        set_bytes_to (self, st.st_size);
      self->length_checked = self->total >= 0 && bytes_done (self) == self->total;
      self->stop = STOP_NONE;
      complete_as (self, completed);
      return;
    }

  sl_file_writer_get_identity (self->writer, &device, &inode);
  self->identity_recorded = self->identity_recorded && device == self->device &&
                            inode == self->inode;
  self->device = device;
  self->inode = inode;

  self->file_open = TRUE;
  self->preallocated = 0;
  if (usable < sl_segment_map_get_extent (self->done))
    {
      g_signal_emit (self, signals[RESTARTED], 0,
                     _("The partial file is missing or shorter than recorded; starting over"));
      reset_bytes (self);
    }

  start_hashing (self);
  if (self->stop != STOP_NONE)
    maybe_finish_stop (self);
  else
    send_request (self);
}

static void
begin_attempt (SlDownload *self)
{
  self->stop = STOP_NONE;
  g_clear_error (&self->stop_error);
  self->retry_after_s = 0;
  self->answered = FALSE;
  self->attempt_done = bytes_done (self);
  /* Writes that failed or were cut short moved the offset past what is on disk. */
  self->offset = prefix_done (self);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();

  set_state (self, SL_DOWNLOAD_STATE_RUNNING);
  ensure_tick (self);

  /* A long list holds many downloads that never run again: only running ones get a writer. */
  if (self->writer == NULL)
    {
      self->writer = sl_file_writer_new ();
      /* A name chosen before a restart keeps its way of numbering. */
      sl_file_writer_set_split_extension (self->writer, self->split_extension);
      sl_file_writer_set_orphans (self->writer, (const char * const *) self->orphans);
    }

  /* Bytes are only continued from a partial file that holds them, and that may be right. */
  if (bytes_done (self) > 0 &&
      (!can_continue (self) || self->partial_path == NULL || self->checksum_failed))
    {
      if (self->checksum_failed)
        g_signal_emit (self, signals[RESTARTED], 0,
                       _("The bytes downloaded did not match the checksum; starting over"));
      reset_bytes (self);
    }
  self->checksum_failed = FALSE;
  if (self->digest != NULL)
    set_checksum_state (self, SL_CHECKSUM_STATE_PENDING);

  if (!self->file_open && self->partial_path != NULL)
    {
      self->file_op_pending = TRUE;
      sl_file_writer_open_async (self->writer, self->partial_path,
                                 sl_segment_map_get_extent (self->done),
                                 self->device, self->inode, on_opened, g_object_ref (self));
      return;
    }

  send_request (self);
}

static gboolean
retry_cb (gpointer user_data)
{
  SlDownload *self = user_data;

  self->retry_source = 0;
  if (self->network_monitor != NULL)
    g_clear_signal_handler (&self->network_handler, self->network_monitor);
  begin_attempt (self);
  return G_SOURCE_REMOVE;
}

static void
on_network_changed (GNetworkMonitor *monitor,
                    gboolean         available,
                    SlDownload      *self)
{
  if (!available)
    return;

  g_clear_handle_id (&self->retry_source, g_source_remove);
  g_clear_signal_handler (&self->network_handler, self->network_monitor);
  begin_attempt (self);
}

/* After a network error with no network at all, a download waits for it instead of spending
 * its retries; returns whether it does. The monitor is only trusted after a failure: it
 * reports no network on a machine without a default route, where a local server may still
 * answer. */
static gboolean
wait_for_network (SlDownload *self)
{
  g_autoptr (GError) error = NULL;

  if (self->network_monitor == NULL)
    self->network_monitor = g_object_ref (g_network_monitor_get_default ());

  if (g_network_monitor_get_network_available (self->network_monitor))
    return FALSE;

  stop_timers (self);
  error = g_error_new (SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_NETWORK,
                       _("Waiting for the network"));
  set_error (self, error);
  set_state (self, SL_DOWNLOAD_STATE_WAITING);
  settle_progress (self);

  self->network_handler = g_signal_connect (self->network_monitor, "network-changed",
                                            G_CALLBACK (on_network_changed), self);
  self->retry_source = g_timeout_add_full (G_PRIORITY_DEFAULT, NETWORK_RECHECK_MS, retry_cb,
                                           self, NULL);
  return TRUE;
}

static guint
retry_delay_ms (SlDownload *self)
{
  guint64 delay = self->retry_delay_ms;

  for (guint i = 1; i < self->attempts && delay < MAX_RETRY_DELAY_MS; i++)
    delay *= 2;
  delay = MIN (delay, MAX_RETRY_DELAY_MS);

  /* Jitter keeps many downloads that failed together from hammering the server together. */
  delay = (guint64) (delay * g_random_double_range (0.75, 1.25));

  if (self->retry_after_s > 0)
    delay = MAX (delay, (guint64) self->retry_after_s * 1000);

  return (guint) delay;
}

/* Writes @value with the locale's thousands separator, or a comma where it has none. */
static char *
format_count (gint64 value)
{
  const char *separator = localeconv ()->thousands_sep;
  g_autofree char *digits = g_strdup_printf ("%" G_GINT64_FORMAT, value);
  GString *text = g_string_new (NULL);
  gsize length = strlen (digits);

  if (separator == NULL || *separator == '\0')
    separator = ",";
  for (gsize i = 0; i < length; i++)
    {
      if (i > 0 && (length - i) % 3 == 0 && g_ascii_isdigit (digits[i - 1]))
        g_string_append (text, separator);
      g_string_append_c (text, digits[i]);
    }

  return g_string_free (text, FALSE);
}

static GError *
stuck_error (SlDownload *self)
{
  g_autofree char *at = format_count (prefix_done (self));

  if (self->total >= 0)
    {
      g_autofree char *total = format_count (self->total);

      return g_error_new (SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_BAD_RESPONSE,
                          /* Translators: bytes the server said the file has, and where its
                           * answers end */
                          _("The server announced %s bytes but stops at %s"), total, at);
    }

  return g_error_new (SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_BAD_RESPONSE,
                      /* Translators: where the server's answers end */
                      _("The server answers but sends nothing after byte %s"), at);
}

/* Takes @error, the reason to retry. */
static void
schedule_retry (SlDownload *self,
                GError     *error)
{
  /* A failure while the whole network is gone says nothing about the server. */
  if (sl_download_error_kind (error) == SL_ERROR_KIND_NETWORK && wait_for_network (self))
    {
      g_error_free (error);
      return;
    }

  /* A server that answers and then stops where it stopped before, twice in a row, will stop
   * there the next time too. */
  if (!self->answered || bytes_done (self) != self->attempt_done)
    self->empty_answers = 0;
  else if (++self->empty_answers >= MAX_EMPTY_ANSWERS)
    {
      g_autoptr (GError) stuck = stuck_error (self);

      g_error_free (error);
      conclude (self, SL_DOWNLOAD_STATE_FAILED, stuck);
      return;
    }

  if (bytes_done (self) > self->attempt_done)
    self->attempts = 0;
  self->attempts++;

  if (self->attempts > self->max_retries)
    {
      conclude (self, SL_DOWNLOAD_STATE_FAILED, error);
      g_error_free (error);
      return;
    }

  g_clear_handle_id (&self->tick_source, g_source_remove);
  set_error (self, error);
  g_error_free (error);
  set_state (self, SL_DOWNLOAD_STATE_WAITING);
  settle_progress (self);
  self->retry_source = g_timeout_add_full (G_PRIORITY_DEFAULT, retry_delay_ms (self), retry_cb,
                                           self, NULL);
}

static void
on_completed (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr (SlDownload) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;

  self->file_op_pending = FALSE;
  path = sl_file_writer_complete_finish (SL_FILE_WRITER (object), result, &error);
  self->file_open = FALSE;

  if (path == NULL)
    {
      /* The bytes that did not match stay, but a retry does not resume into them. */
      if (g_error_matches (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_CHECKSUM))
        {
          self->checksum_failed = TRUE;
          set_checksum_state (self, SL_CHECKSUM_STATE_MISMATCH);
        }
      conclude (self, SL_DOWNLOAD_STATE_FAILED, error);
      return;
    }

#if SL_TEST_HOOKS
  /* Tests crash here, between the rename and anything an owner records of it. */
  if (g_getenv ("SLUICE_TEST_CRASH_AFTER_RENAME") != NULL)
    raise (SIGKILL);
#endif

  complete_as (self, path);
}

/* The download's bytes are under their final name, @path. */
static void
complete_as (SlDownload *self,
             const char *path)
{
  g_autofree char *name = NULL;

  g_clear_pointer (&self->partial_path, g_free);
  all_flushed (self);
  g_clear_object (&self->destination);
  self->destination = g_file_new_for_path (path);
  notify (self, PROP_DESTINATION);

  name = g_path_get_basename (path);
  if (g_strcmp0 (name, self->filename) != 0)
    {
      g_free (self->filename);
      self->filename = g_steal_pointer (&name);
      notify (self, PROP_FILENAME);
    }

  if (self->total < 0)
    set_total (self, bytes_done (self));

  /* The writer compared every byte with the checksum before the rename. */
  if (self->digest != NULL)
    set_checksum_state (self, SL_CHECKSUM_STATE_VERIFIED);
  g_signal_emit (self, signals[FINISHED], 0, self->destination);
  conclude (self, SL_DOWNLOAD_STATE_COMPLETED, NULL);
}

static void
on_stop_synced (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr (SlDownload) self = user_data;
  g_autoptr (GError) error = NULL;
  StopAction action = self->stop;
  GError *stop_error = g_steal_pointer (&self->stop_error);

  self->file_op_pending = FALSE;
  self->stop = STOP_NONE;

  if (!sl_file_writer_finish (SL_FILE_WRITER (object), result, &error))
    {
      g_clear_error (&stop_error);
      conclude (self, SL_DOWNLOAD_STATE_FAILED, error);
      return;
    }

  all_flushed (self);

  switch (action)
    {
    case STOP_PAUSE:
      stop_timers (self);
      settle_progress (self);
      set_state (self, SL_DOWNLOAD_STATE_PAUSED);
      emit_checkpoint (self);
      return_pause_tasks (self);
      break;

    case STOP_FAIL:
      emit_checkpoint (self);
      conclude (self, SL_DOWNLOAD_STATE_FAILED, stop_error);
      break;

    case STOP_RETRY:
      emit_checkpoint (self);
      schedule_retry (self, g_steal_pointer (&stop_error));
      break;

    case STOP_ASK_AGAIN:
      emit_checkpoint (self);
      begin_attempt (self);
      break;

    case STOP_NONE:
    case STOP_FINISH:
    case STOP_RESTART:
    case STOP_CANCEL:
    default:
      g_assert_not_reached ();
    }

  g_clear_error (&stop_error);
}

static void
on_deleted (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr (SlDownload) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) cancelled = NULL;

  self->file_op_pending = FALSE;
  self->stop = STOP_NONE;
  g_clear_error (&self->stop_error);

  /* The user asked for the download to go; a partial file that cannot be deleted is only
   * worth a warning. */
  if (!sl_file_writer_finish (SL_FILE_WRITER (object), result, &error))
    g_warning ("%s", error->message);

  self->file_open = FALSE;
  g_clear_pointer (&self->partial_path, g_free);
  set_bytes_to (self, 0);
  forget_recorded (self);

  cancelled = g_error_new (SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_CANCELLED,
                           _("The download was cancelled"));
  conclude (self, SL_DOWNLOAD_STATE_CANCELED, cancelled);
}

/* Runs the action stop_transfer() recorded, once nothing is in flight. */
static void
maybe_finish_stop (SlDownload *self)
{
  g_autofree char *directory = NULL;

  if (self->stop == STOP_NONE || self->sending || self->running || segments_busy (self) ||
      self->file_op_pending)
    return;

  drop_request (self);

  switch (self->stop)
    {
    case STOP_FINISH:
      /* Where the owner records checkpoints, the file gets its final name only once the
       * owner knows which file it is, so that a crash right after the rename is seen as the
       * completion it was. */
      self->file_op_pending = TRUE;
      if (self->confirms_checkpoints && !self->identity_recorded)
        {
          self->awaiting_identity = TRUE;
          emit_checkpoint (self);
          return;
        }
      self->stop = STOP_NONE;
      directory = g_file_get_path (self->directory);
      sl_file_writer_complete_async (self->writer, directory, self->filename, self->checksum,
                                     self->digest, self->name_policy, on_completed,
                                     g_object_ref (self));
      break;

    case STOP_RESTART:
      self->stop = STOP_NONE;
      if (++self->restarts > MAX_RESTARTS)
        {
          g_autoptr (GError) error =
            g_error_new (SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_BAD_RESPONSE,
                         _("The server keeps sending inconsistent data"));

          self->stop = STOP_FAIL;
          self->stop_error = g_steal_pointer (&error);
          maybe_finish_stop (self);
          return;
        }
      if (self->restart_reason != NULL)
        g_signal_emit (self, signals[RESTARTED], 0, self->restart_reason);
      reset_bytes (self);
      begin_attempt (self);
      break;

    case STOP_CANCEL:
      if (self->file_open || self->partial_path != NULL)
        {
          self->file_op_pending = TRUE;
          if (!self->file_open)
            {
              /* Not opened in this run: open it only to delete it. */
              g_autoptr (GFile) file = g_file_new_for_path (self->partial_path);

              g_file_delete (file, NULL, NULL);
              self->file_op_pending = FALSE;
              g_clear_pointer (&self->partial_path, g_free);
              maybe_finish_stop (self);
              return;
            }
          sl_file_writer_delete_async (self->writer, on_deleted, g_object_ref (self));
        }
      else
        {
          g_autoptr (GError) cancelled =
            g_error_new (SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_CANCELLED,
                         _("The download was cancelled"));

          self->stop = STOP_NONE;
          conclude (self, SL_DOWNLOAD_STATE_CANCELED, cancelled);
        }
      break;

    case STOP_PAUSE:
    case STOP_FAIL:
    case STOP_RETRY:
    case STOP_ASK_AGAIN:
      /* Whatever happens next, the bytes counted must be the bytes on disk. A download that
       * stops for good closes its partial file, which unlocks it and spares a descriptor. */
      if (self->file_open)
        {
          self->file_op_pending = TRUE;
          if (self->stop == STOP_PAUSE || self->stop == STOP_FAIL)
            {
              self->file_open = FALSE;
              sl_file_writer_close_async (self->writer, on_stop_synced, g_object_ref (self));
            }
          else
            sl_file_writer_sync_async (self->writer, on_stop_synced, g_object_ref (self));
        }
      else
        {
          StopAction action = self->stop;
          GError *error = g_steal_pointer (&self->stop_error);

          self->stop = STOP_NONE;
          if (action == STOP_RETRY)
            schedule_retry (self, error);
          else if (action == STOP_ASK_AGAIN)
            begin_attempt (self);
          else if (action == STOP_FAIL)
            {
              conclude (self, SL_DOWNLOAD_STATE_FAILED, error);
              g_clear_error (&error);
            }
          else
            {
              stop_timers (self);
              settle_progress (self);
              set_state (self, SL_DOWNLOAD_STATE_PAUSED);
              return_pause_tasks (self);
            }
        }
      break;

    case STOP_NONE:
    default:
      g_assert_not_reached ();
    }
}

/* GObject */

static void
sl_download_dispose (GObject *object)
{
  SlDownload *self = (SlDownload *) object;

  stop_timers (self);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  drop_request (self);
  g_clear_object (&self->writer);
  g_clear_object (&self->session);
  g_clear_object (&self->network_monitor);

  G_OBJECT_CLASS (sl_download_parent_class)->dispose (object);
}

static void
sl_download_finalize (GObject *object)
{
  SlDownload *self = (SlDownload *) object;

  g_free (self->uri);
  g_free (self->final_uri);
  g_ptr_array_unref (self->segments);
  sl_rate_limiter_unref (self->limiter);
  sl_segment_map_free (self->done);
  sl_segment_map_free (self->flushed);
  g_clear_object (&self->directory);
  g_clear_object (&self->destination);
  g_free (self->filename);
  g_free (self->partial_path);
  g_clear_pointer (&self->extra_headers, soup_message_headers_unref);
  g_free (self->digest);
  g_free (self->etag);
  g_free (self->last_modified);
  g_free (self->content_type);
  g_clear_error (&self->error);
  g_clear_error (&self->stop_error);
  g_free (self->restart_reason);
  g_queue_clear_full (&self->unrecorded, (GDestroyNotify) unrecorded_free);
  g_clear_pointer (&self->adopt_tail, g_bytes_unref);
  g_strfreev (self->orphans);
  g_strfreev (self->claimed);

  G_OBJECT_CLASS (sl_download_parent_class)->finalize (object);
}

static void
sl_download_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  SlDownload *self = SL_DOWNLOAD (object);

  switch (prop_id)
    {
    case PROP_URI:
      g_value_set_string (value, self->uri);
      break;

    case PROP_FINAL_URI:
      g_value_set_string (value, self->final_uri);
      break;

    case PROP_DIRECTORY:
      g_value_set_object (value, self->directory);
      break;

    case PROP_FILENAME:
      g_value_set_string (value, self->filename);
      break;

    case PROP_DESTINATION:
      g_value_set_object (value, self->destination);
      break;

    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;

    case PROP_BYTES_RECEIVED:
      g_value_set_int64 (value, bytes_done (self));
      break;

    case PROP_BYTES_RECORDED:
      g_value_set_int64 (value, sl_download_get_bytes_recorded (self));
      break;

    case PROP_BYTES_TOTAL:
      g_value_set_int64 (value, self->total);
      break;

    case PROP_SPEED:
      g_value_set_uint64 (value, self->progress.speed);
      break;

    case PROP_ETA:
      g_value_set_int64 (value, self->progress.eta);
      break;

    case PROP_HTTP_STATUS:
      g_value_set_uint (value, self->http_status);
      break;

    case PROP_ERROR_KIND:
      g_value_set_enum (value, sl_download_get_error_kind (self));
      break;

    case PROP_ERROR_MESSAGE:
      g_value_set_string (value, sl_download_get_error_message (self));
      break;

    case PROP_CONNECTIONS:
      g_value_set_uint (value, self->connections);
      break;

    case PROP_SPEED_LIMIT:
      g_value_set_uint64 (value, sl_rate_limiter_get_rate (self->limiter));
      break;

    case PROP_CHECKSUM_STATE:
      g_value_set_enum (value, self->checksum_state);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_download_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  SlDownload *self = SL_DOWNLOAD (object);

  switch (prop_id)
    {
    case PROP_DIRECTORY:
      sl_download_set_directory (self, g_value_get_object (value));
      break;

    case PROP_FILENAME:
      sl_download_set_filename (self, g_value_get_string (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_download_class_init (SlDownloadClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sl_download_dispose;
  object_class->finalize = sl_download_finalize;
  object_class->get_property = sl_download_get_property;
  object_class->set_property = sl_download_set_property;

  properties[PROP_URI] =
    g_param_spec_string ("uri", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_FINAL_URI] =
    g_param_spec_string ("final-uri", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_DIRECTORY] =
    g_param_spec_object ("directory", NULL, NULL, G_TYPE_FILE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_FILENAME] =
    g_param_spec_string ("filename", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_DESTINATION] =
    g_param_spec_object ("destination", NULL, NULL, G_TYPE_FILE,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, SL_TYPE_DOWNLOAD_STATE, SL_DOWNLOAD_STATE_QUEUED,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BYTES_RECEIVED] =
    g_param_spec_int64 ("bytes-received", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * SlDownload:bytes-recorded:
   *
   * The bytes a restart would continue from: those of the newest checkpoint the owner
   * confirmed with sl_download_checkpoint_recorded(). A completed download has all of its
   * bytes, and one that cannot be resumed (it would start over anyway) those received so far.
   */
  properties[PROP_BYTES_RECORDED] =
    g_param_spec_int64 ("bytes-recorded", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BYTES_TOTAL] =
    g_param_spec_int64 ("bytes-total", NULL, NULL, -1, G_MAXINT64, -1,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SPEED] =
    g_param_spec_uint64 ("speed", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ETA] =
    g_param_spec_int64 ("eta", NULL, NULL, -1, G_MAXINT64, -1,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_HTTP_STATUS] =
    g_param_spec_uint ("http-status", NULL, NULL, 0, 999, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ERROR_KIND] =
    g_param_spec_enum ("error-kind", NULL, NULL, SL_TYPE_ERROR_KIND, SL_ERROR_KIND_NONE,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ERROR_MESSAGE] =
    g_param_spec_string ("error-message", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * SlDownload:connections:
   *
   * How many connections the download has open now.
   */
  properties[PROP_CONNECTIONS] =
    g_param_spec_uint ("connections", NULL, NULL, 0, SL_DOWNLOAD_MAX_CONNECTIONS, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SPEED_LIMIT] =
    g_param_spec_uint64 ("speed-limit", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CHECKSUM_STATE] =
    g_param_spec_enum ("checksum-state", NULL, NULL, SL_TYPE_CHECKSUM_STATE,
                       SL_CHECKSUM_STATE_NONE,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * SlDownload::data-written:
   * @self: the download
   * @bytes_written: bytes written to the partial file since the last emission
   * @total_written: bytes in the partial file
   * @total_expected: the entity's length, or -1 when unknown
   *
   * Progress, coalesced to about ten emissions a second.
   */
  signals[DATA_WRITTEN] =
    g_signal_new ("data-written", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 3, G_TYPE_INT64, G_TYPE_INT64, G_TYPE_INT64);

  /**
   * SlDownload::finished:
   * @self: the download
   * @file: the file under its final name
   *
   * The download is complete and renamed to its final name.
   */
  signals[FINISHED] =
    g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_FILE);

  /**
   * SlDownload::completed:
   * @self: the download
   * @error: (nullable): why it did not complete, or %NULL
   *
   * The download ended: completed (no error), failed or canceled. Pausing does not end it.
   */
  signals[COMPLETED] =
    g_signal_new ("completed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);

  /**
   * SlDownload::checkpoint:
   * @self: the download
   * @resume_data: resume data for the bytes flushed to disk so far
   *
   * Emitted when the partial file is created, every few seconds after the bytes written so
   * far are flushed, and whenever the transfer stops, so that an owner can persist it and
   * resume after a crash.
   */
  signals[CHECKPOINT] =
    g_signal_new ("checkpoint", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_BYTES);

  /**
   * SlDownload::restarted:
   * @self: the download
   * @reason: why the download had to start over
   *
   * The bytes so far were dropped and the download starts from the beginning, because the
   * server ignored the range, the file changed, or the partial file did not match.
   */
  signals[RESTARTED] =
    g_signal_new ("restarted", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  /**
   * SlDownload::connections-refused:
   * @self: the download
   * @taken: how many connections the server took
   *
   * The server refused one more connection (503, 429, 403, or a refused connect): the
   * download uses no more than @taken from now on, and its owner may remember that of the
   * host.
   */
  signals[CONNECTIONS_REFUSED] =
    g_signal_new ("connections-refused", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                  NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT);
}

static void
sl_download_init (SlDownload *self)
{
  self->total = -1;
  /* Of unknown length: a server may send more than it announced, which is caught later. */
  self->done = sl_segment_map_new (-1);
  self->flushed = sl_segment_map_new (-1);
  self->max_connections = 1;
  self->limiter = sl_rate_limiter_new (NULL);
  self->connection_cap = G_MAXUINT;
  self->share = G_MAXUINT;
  self->primary_claim = -1;
  self->segments = g_ptr_array_new_with_free_func ((GDestroyNotify) segment_free);
  sl_progress_init (&self->progress);
  self->max_retries = DEFAULT_MAX_RETRIES;
  self->retry_delay_ms = DEFAULT_RETRY_DELAY_MS;
  self->stall_timeout_s = DEFAULT_STALL_TIMEOUT_S;
  self->checkpoint_interval_ms = DEFAULT_CHECKPOINT_MS;
  self->range_ok = TRUE;
  self->extra_headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_REQUEST);
  g_queue_init (&self->pause_tasks);
}

static SlDownload *
download_new (SoupSession *session)
{
  SlDownload *self = g_object_new (SL_TYPE_DOWNLOAD, NULL);

  self->session = session ? g_object_ref (session) : soup_session_new ();
  self->split_extension = TRUE;
  return self;
}

/**
 * sl_download_new:
 * @session: (nullable): the session to use, or %NULL for a new one
 * @uri: an http or https URI
 * @error: return location for an error
 *
 * Creates a download, queued until sl_download_start(). The destination folder defaults to
 * the current directory.
 *
 * Returns: (transfer full) (nullable): a new download, or %NULL if @uri is not one Sluice can
 *   download
 */
SlDownload *
sl_download_new (SoupSession  *session,
                 const char   *uri,
                 GError      **error)
{
  g_autoptr (GUri) parsed = NULL;
  SlDownload *self;

  g_return_val_if_fail (session == NULL || SOUP_IS_SESSION (session), NULL);

  parsed = sl_uri_parse_download (uri, error);
  if (parsed == NULL)
    return NULL;

  self = download_new (session);
  self->uri = g_uri_to_string (parsed);
  {
    g_autofree char *cwd = g_get_current_dir ();

    self->directory = g_file_new_for_path (cwd);
  }

  return self;
}

/**
 * sl_download_new_from_resume_data:
 * @session: (nullable): the session to use, or %NULL for a new one
 * @resume_data: what sl_download_pause_finish() or #SlDownload::checkpoint gave
 * @error: return location for a %SL_DOWNLOAD_ERROR_RESUME_DATA error
 *
 * Recreates a paused download. Whether its partial file still holds the recorded bytes is
 * checked when it starts; if not, it starts over and says so with #SlDownload::restarted.
 *
 * Returns: (transfer full) (nullable): a paused download, or %NULL if @resume_data is bad
 */
SlDownload *
sl_download_new_from_resume_data (SoupSession  *session,
                                  GBytes       *resume_data,
                                  GError      **error)
{
  g_autoptr (SlResumeData) data = NULL;
  g_autoptr (GUri) parsed = NULL;
  g_autoptr (GError) local_error = NULL;
  SlDownload *self;

  g_return_val_if_fail (resume_data != NULL, NULL);

  data = sl_resume_data_parse (resume_data, error);
  if (data == NULL)
    return NULL;

  parsed = sl_uri_parse_download (data->uri, &local_error);
  if (parsed == NULL)
    {
      g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_RESUME_DATA,
                   _("Resume data has a bad URI: %s"), local_error->message);
      return NULL;
    }

  self = download_new (session);
  self->uri = g_uri_to_string (parsed);
  self->final_uri = g_steal_pointer (&data->final_uri);
  self->directory = g_file_new_for_path (data->directory);
  self->filename = g_steal_pointer (&data->filename);
  self->explicit_name = data->explicit_name;
  self->split_extension = data->split_extension;
  self->partial_path = g_steal_pointer (&data->partial_path);
  self->etag = g_steal_pointer (&data->etag);
  self->last_modified = g_steal_pointer (&data->last_modified);
  self->content_type = g_steal_pointer (&data->content_type);
  self->total = data->total;
  if (data->done != NULL)
    {
      sl_segment_map_merge (self->done, data->done);
      all_flushed (self);
      self->offset = prefix_done (self);
    }
  else
    set_bytes_to (self, data->received);
  sl_progress_rebase (&self->progress, data->received);
  self->recorded = data->received;
  self->device = data->device;
  self->inode = data->inode;
  /* The identity came from where the owner keeps resume data: it is recorded. */
  self->identity_recorded = data->inode != 0;
  self->state = SL_DOWNLOAD_STATE_PAUSED;

  return self;
}

/**
 * sl_download_set_directory:
 * @self: a download
 * @directory: the destination folder
 *
 * Sets where the file goes. Only before the download first starts.
 */
void
sl_download_set_directory (SlDownload *self,
                           GFile      *directory)
{
  g_return_if_fail (SL_IS_DOWNLOAD (self));
  g_return_if_fail (G_IS_FILE (directory));
  g_return_if_fail (self->partial_path == NULL);

  if (g_set_object (&self->directory, directory))
    notify (self, PROP_DIRECTORY);
}

GFile *
sl_download_get_directory (SlDownload *self)
{
  g_return_val_if_fail (SL_IS_DOWNLOAD (self), NULL);

  return self->directory;
}

/**
 * sl_download_set_filename:
 * @self: a download
 * @filename: (nullable): the final name, or %NULL to take it from the server
 *
 * Chooses the file name instead of Content-Disposition or the URL. It must be one plain file
 * name; if that name is taken, ` (1)` and so on are added. Only before the download starts.
 */
void
sl_download_set_filename (SlDownload *self,
                          const char *filename)
{
  g_return_if_fail (SL_IS_DOWNLOAD (self));
  g_return_if_fail (self->partial_path == NULL);
  g_return_if_fail (filename == NULL || sl_filename_is_plain (filename));

  self->explicit_name = filename != NULL;
  self->split_extension = TRUE;
  if (set_str (&self->filename, filename))
    notify (self, PROP_FILENAME);
}

/**
 * sl_download_set_name_policy:
 * @self: a download
 * @policy: what to do when the final name is taken
 *
 * By default a taken name is numbered (`NAME (1)`); a name the user gave may instead be
 * exact, or replace the file there once the download is complete. Only before the partial
 * file exists, or again before resuming from resume data.
 */
void
sl_download_set_name_policy (SlDownload   *self,
                             SlNamePolicy  policy)
{
  g_return_if_fail (SL_IS_DOWNLOAD (self));

  self->name_policy = policy;
}

/**
 * sl_download_set_orphans:
 * @self: a download that has not started
 * @orphans: (nullable): names of partial files in its folder that no download claims
 *
 * A download recreated without resume data may have numbered its partial file (`NAME (1).part`)
 * before a crash; such a file is adopted, after the overlap check, when its name is one of
 * these. Only its owner, which knows every download's partial file, can tell.
 */
void
sl_download_set_orphans (SlDownload         *self,
                         const char * const *orphans)
{
  g_return_if_fail (SL_IS_DOWNLOAD (self));

  g_strfreev (self->orphans);
  self->orphans = g_strdupv ((char **) orphans);
}

/**
 * sl_download_set_claimed:
 * @self: a download
 * @claimed: (nullable): names of the partial files in its folder that other downloads own
 *
 * The download never takes one of these for its own partial file, even while the download it
 * belongs to is paused and does not hold it. Its owner, which knows every download, says which
 * they are before the download starts.
 */
void
sl_download_set_claimed (SlDownload         *self,
                         const char * const *claimed)
{
  g_return_if_fail (SL_IS_DOWNLOAD (self));

  g_strfreev (self->claimed);
  self->claimed = g_strdupv ((char **) claimed);
}

/**
 * sl_download_set_confirms_checkpoints:
 * @self: a download
 * @confirms: whether its owner calls sl_download_checkpoint_recorded() for every checkpoint
 *
 * An owner that records checkpoints says so, and the download then renames its partial file
 * only once a checkpoint that names it is recorded.
 */
void
sl_download_set_confirms_checkpoints (SlDownload *self,
                                      gboolean    confirms)
{
  g_return_if_fail (SL_IS_DOWNLOAD (self));

  self->confirms_checkpoints = confirms;
}

const char *
sl_download_get_filename (SlDownload *self)
{
  g_return_val_if_fail (SL_IS_DOWNLOAD (self), NULL);

  return self->filename;
}

/**
 * sl_download_add_header:
 * @self: a download
 * @name: a header name
 * @value: its value
 *
 * Sends an extra request header (a cookie, a referrer, authorisation) with every request. The
 * header must pass sl_header_check(): callers check what they are given first.
 */
void
sl_download_add_header (SlDownload *self,
                        const char *name,
                        const char *value)
{
  g_return_if_fail (SL_IS_DOWNLOAD (self));
  g_return_if_fail (name != NULL && value != NULL);
  g_return_if_fail (sl_header_check (name, value, NULL));

  soup_message_headers_append (self->extra_headers, name, value);
}

/**
 * sl_download_set_checksum:
 * @self: a download
 * @spec: (nullable): `sha256=HEX`, `sha512=HEX`, `sha1=HEX` or `md5=HEX`, or %NULL for none
 * @error: return location for a %SL_DOWNLOAD_ERROR_INVALID_ARGUMENT error
 *
 * Makes the download check the complete file before giving it its final name. The digest is
 * kept up as bytes land, so that little is left to hash at the end. A file that does not
 * match stays under its partial name and the download fails, giving both digests; a retry
 * starts over.
 *
 * Returns: whether @spec was understood
 */
gboolean
sl_download_set_checksum (SlDownload  *self,
                          const char  *spec,
                          GError     **error)
{
  SlChecksumType type;
  char *hex = NULL;

  g_return_val_if_fail (SL_IS_DOWNLOAD (self), FALSE);

  if (spec == NULL)
    {
      g_clear_pointer (&self->digest, g_free);
      set_checksum_state (self, SL_CHECKSUM_STATE_NONE);
      return TRUE;
    }

  if (!sl_checksum_parse_spec (spec, &type, &hex, error))
    return FALSE;

  g_free (self->digest);
  self->digest = hex;
  self->checksum = type;
  /* A completed download's file was checked before it got its name. */
  set_checksum_state (self, self->state == SL_DOWNLOAD_STATE_COMPLETED
                              ? SL_CHECKSUM_STATE_VERIFIED : SL_CHECKSUM_STATE_PENDING);
  return TRUE;
}

/**
 * sl_download_get_checksum:
 * @self: a download
 *
 * Returns: (transfer full) (nullable): the checksum the file must have, as "sha256=HEX", or
 *   %NULL for none
 */
char *
sl_download_get_checksum (SlDownload *self)
{
  g_return_val_if_fail (SL_IS_DOWNLOAD (self), NULL);

  if (self->digest == NULL)
    return NULL;
  return g_strdup_printf ("%s=%s", sl_checksum_type_name (self->checksum), self->digest);
}

SlChecksumState
sl_download_get_checksum_state (SlDownload *self)
{
  g_return_val_if_fail (SL_IS_DOWNLOAD (self), SL_CHECKSUM_STATE_NONE);

  return self->checksum_state;
}

static void
on_file_checked (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr (GTask) task = user_data;
  SlDownload *self = g_task_get_source_object (task);
  SlChecksumState before = GPOINTER_TO_UINT (g_task_get_task_data (task));
  g_autoptr (GError) error = NULL;
  g_autofree char *actual = sl_checksum_file_finish (result, &error);
  g_autofree char *name = NULL;

  /* A file that cannot be read was not checked; the state stays what it was. */
  if (actual == NULL)
    {
      set_checksum_state (self, before);
      g_task_return_new_error (task, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_FILE, "%s",
                               error->message);
      return;
    }

  /* The file may have been changed or removed meanwhile, or the checksum given again. */
  if (self->digest == NULL || g_ascii_strcasecmp (actual, self->digest) != 0)
    {
      set_checksum_state (self, self->digest != NULL ? SL_CHECKSUM_STATE_MISMATCH
                                                     : SL_CHECKSUM_STATE_NONE);
      name = self->destination != NULL ? g_file_get_basename (self->destination)
                                       : g_strdup (self->filename ? self->filename : "");
      g_task_return_new_error (task, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_CHECKSUM,
                               _("“%s” no longer matches its checksum: expected %s=%s, got %s"),
                               name, sl_checksum_type_name (self->checksum),
                               self->digest ? self->digest : "", actual);
      return;
    }

  set_checksum_state (self, SL_CHECKSUM_STATE_VERIFIED);
  g_task_return_boolean (task, TRUE);
}

/**
 * sl_download_verify_async:
 * @self: a completed download with a checksum
 * @cancellable: (nullable): to stop reading
 * @callback: called once the file is checked
 * @user_data: for @callback
 *
 * Checks the completed file again against the download's checksum, reading it from disk;
 * #SlDownload:checksum-state is %SL_CHECKSUM_STATE_PENDING meanwhile.
 */
void
sl_download_verify_async (SlDownload          *self,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (SL_IS_DOWNLOAD (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sl_download_verify_async);
  if (self->state != SL_DOWNLOAD_STATE_COMPLETED || self->destination == NULL)
    {
      g_task_return_new_error (task, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_ARGUMENT,
                               _("Only a completed download can be verified"));
      return;
    }
  if (self->digest == NULL)
    {
      g_autofree char *name = g_file_get_basename (self->destination);

      g_task_return_new_error (task, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_ARGUMENT,
                               _("“%s” has no checksum to verify against"), name);
      return;
    }

  g_task_set_task_data (task, GUINT_TO_POINTER (self->checksum_state), NULL);
  set_checksum_state (self, SL_CHECKSUM_STATE_PENDING);
  sl_checksum_file_async (self->destination, self->checksum, cancellable, on_file_checked,
                          g_steal_pointer (&task));
}

/**
 * sl_download_verify_finish:
 * @self: a download
 * @result: the result given to the callback
 * @error: return location for an error: %SL_DOWNLOAD_ERROR_CHECKSUM with both digests when
 *   the file does not match, %SL_DOWNLOAD_ERROR_FILE when it cannot be read,
 *   %SL_DOWNLOAD_ERROR_INVALID_ARGUMENT when there is nothing to verify
 *
 * Returns: whether the file has the checksum
 */
gboolean
sl_download_verify_finish (SlDownload    *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * sl_download_set_max_retries:
 * @self: a download
 * @max_retries: how many times in a row a network error is retried before the download fails
 */
void
sl_download_set_max_retries (SlDownload *self,
                             guint       max_retries)
{
  g_return_if_fail (SL_IS_DOWNLOAD (self));

  self->max_retries = max_retries;
}

/**
 * sl_download_set_retry_delay:
 * @self: a download
 * @msec: the first retry's delay; each further one doubles it, up to a minute
 */
void
sl_download_set_retry_delay (SlDownload *self,
                             guint       msec)
{
  g_return_if_fail (SL_IS_DOWNLOAD (self));

  self->retry_delay_ms = msec;
}

/**
 * sl_download_set_speed_limit:
 * @self: a download
 * @bytes_per_second: the most it may read, over all its connections, or 0 for no limit
 *
 * Takes effect at once, also while it runs.
 */
void
sl_download_set_speed_limit (SlDownload *self,
                             guint64     bytes_per_second)
{
  g_return_if_fail (SL_IS_DOWNLOAD (self));

  if (sl_rate_limiter_get_rate (self->limiter) == bytes_per_second)
    return;
  sl_rate_limiter_set_rate (self->limiter, bytes_per_second);
  notify (self, PROP_SPEED_LIMIT);
  sl_download_limit_changed (self);
}

/**
 * sl_download_limit_changed:
 * @self: a download
 *
 * Its speed limit, or the limit of a bucket above it, changed: the connections it needs are
 * found again, as when it started.
 */
void
sl_download_limit_changed (SlDownload *self)
{
  g_return_if_fail (SL_IS_DOWNLOAD (self));

  self->frozen = FALSE;
  if (self->state == SL_DOWNLOAD_STATE_RUNNING && self->primary_claim >= 0)
    {
      start_adapting (self);
      fill_connections (self);
    }
}

guint64
sl_download_get_speed_limit (SlDownload *self)
{
  g_return_val_if_fail (SL_IS_DOWNLOAD (self), 0);

  return sl_rate_limiter_get_rate (self->limiter);
}

/**
 * sl_download_set_parent_limiter:
 * @self: a download that has not started
 * @parent: (nullable): a bucket shared with other downloads, such as a global speed limit
 *
 * Every read of the download also asks @parent, beside its own limit.
 */
void
sl_download_set_parent_limiter (SlDownload    *self,
                                SlRateLimiter *parent)
{
  SlRateLimiter *limiter;

  g_return_if_fail (SL_IS_DOWNLOAD (self));
  g_return_if_fail (self->transfer == NULL);

  limiter = sl_rate_limiter_new (parent);
  sl_rate_limiter_set_rate (limiter, sl_rate_limiter_get_rate (self->limiter));
  sl_rate_limiter_unref (self->limiter);
  self->limiter = limiter;
}

/**
 * sl_download_set_connection_share:
 * @self: a download
 * @share: the most connections it may have open now, at least 1, or %G_MAXUINT for as many
 *   as it was given
 *
 * Lets an owner share a host's connections between downloads: above @share, connections
 * end where they are and give their parts back; below it, the download opens more as its
 * own rules allow.
 */
void
sl_download_set_connection_share (SlDownload *self,
                                  guint       share)
{
  g_return_if_fail (SL_IS_DOWNLOAD (self));
  g_return_if_fail (share >= 1);

  if (self->share == share)
    return;
  self->share = share;
  if (self->state != SL_DOWNLOAD_STATE_RUNNING || self->stop != STOP_NONE)
    return;
  shed_connections (self);
  fill_connections (self);
}

/**
 * sl_download_get_connections:
 * @self: a download
 *
 * Returns: how many connections it has open now
 */
guint
sl_download_get_connections (SlDownload *self)
{
  g_return_val_if_fail (SL_IS_DOWNLOAD (self), 0);

  return self->connections;
}

/**
 * sl_download_set_max_connections:
 * @self: a download
 * @connections: how many connections it may use at once, 1 to %SL_DOWNLOAD_MAX_CONNECTIONS
 *
 * With more than one, the first request asks for "bytes=0-", and once a server proves that it
 * sends parts of the file, other connections fetch other parts. The session must allow as many
 * connections to a host.
 */
void
sl_download_set_max_connections (SlDownload *self,
                                 guint       connections)
{
  g_return_if_fail (SL_IS_DOWNLOAD (self));
  g_return_if_fail (connections >= 1 && connections <= SL_DOWNLOAD_MAX_CONNECTIONS);

  self->max_connections = connections;
  self->adaptive = FALSE;
}

/**
 * sl_download_set_adaptive_connections:
 * @self: a download
 * @cap: the most connections it may use, 1 to %SL_DOWNLOAD_MAX_CONNECTIONS
 *
 * Like sl_download_set_max_connections(), but the download starts with one and adds more
 * only while they bring more throughput, up to @cap.
 */
void
sl_download_set_adaptive_connections (SlDownload *self,
                                      guint       cap)
{
  g_return_if_fail (SL_IS_DOWNLOAD (self));
  g_return_if_fail (cap >= 1 && cap <= SL_DOWNLOAD_MAX_CONNECTIONS);

  self->max_connections = cap;
  self->adaptive = TRUE;
  self->wanted = 1;
  self->frozen = FALSE;
}

/**
 * sl_download_set_stall_timeout:
 * @self: a download
 * @seconds: how long a connection may send nothing before it counts as failed
 */
void
sl_download_set_stall_timeout (SlDownload *self,
                               guint       seconds)
{
  g_return_if_fail (SL_IS_DOWNLOAD (self));
  g_return_if_fail (seconds > 0);

  self->stall_timeout_s = seconds;
}

/**
 * sl_download_set_checkpoint_interval:
 * @self: a download
 * @msec: how often the partial file is flushed and #SlDownload::checkpoint emitted
 */
void
sl_download_set_checkpoint_interval (SlDownload *self,
                                     guint       msec)
{
  g_return_if_fail (SL_IS_DOWNLOAD (self));

  self->checkpoint_interval_ms = msec;
}

/**
 * sl_download_set_network_monitor:
 * @self: a download
 * @monitor: the monitor that says whether there is a network
 *
 * Replaces the default network monitor, for owners that know better or tests that decide.
 */
void
sl_download_set_network_monitor (SlDownload      *self,
                                 GNetworkMonitor *monitor)
{
  g_return_if_fail (SL_IS_DOWNLOAD (self));
  g_return_if_fail (G_IS_NETWORK_MONITOR (monitor));
  g_return_if_fail (self->network_handler == 0);

  g_set_object (&self->network_monitor, monitor);
}

/**
 * sl_download_start:
 * @self: a download
 *
 * Starts a queued download, resumes a paused one, retries a failed one from where it stopped,
 * or retries at once one that is waiting. Does nothing to a running, completed or canceled
 * download.
 */
void
sl_download_start (SlDownload *self)
{
  g_return_if_fail (SL_IS_DOWNLOAD (self));

  switch (self->state)
    {
    case SL_DOWNLOAD_STATE_QUEUED:
    case SL_DOWNLOAD_STATE_PAUSED:
    case SL_DOWNLOAD_STATE_FAILED:
    case SL_DOWNLOAD_STATE_WAITING:
      if (self->stop != STOP_NONE || self->file_op_pending)
        return;
      g_clear_handle_id (&self->retry_source, g_source_remove);
      self->attempts = 0;
      self->restarts = 0;
      self->empty_answers = 0;
      set_error (self, NULL);
      set_http_status (self, 0);
      begin_attempt (self);
      break;

    case SL_DOWNLOAD_STATE_RUNNING:
    case SL_DOWNLOAD_STATE_COMPLETED:
    case SL_DOWNLOAD_STATE_CANCELED:
    default:
      break;
    }
}

/**
 * sl_download_enqueue:
 * @self: a download
 *
 * Puts a paused or failed download back in the queue, without starting it: whoever schedules
 * downloads calls sl_download_start() when its turn comes.
 */
void
sl_download_enqueue (SlDownload *self)
{
  g_return_if_fail (SL_IS_DOWNLOAD (self));

  if ((self->state != SL_DOWNLOAD_STATE_PAUSED && self->state != SL_DOWNLOAD_STATE_FAILED) ||
      self->stop != STOP_NONE || self->file_op_pending)
    return;

  set_error (self, NULL);
  set_http_status (self, 0);
  set_state (self, SL_DOWNLOAD_STATE_QUEUED);
}

/**
 * sl_download_restore_state:
 * @self: a download that has not started
 * @state: the state it was last recorded in
 * @bytes_received: bytes it had
 * @bytes_total: its length, or -1
 * @http_status: the last HTTP status, or 0
 * @error: (nullable): why it failed or was canceled
 * @destination: (nullable): the final file, for a completed download
 *
 * Gives a download recreated from a store the state it had, so that finished downloads stay in
 * the history as they ended. Running and waiting downloads come back queued: nothing is
 * transferring any more. Only before the download starts.
 */
void
sl_download_restore_state (SlDownload      *self,
                           SlDownloadState  state,
                           gint64           bytes_received,
                           gint64           bytes_total,
                           guint            http_status,
                           const GError    *error,
                           GFile           *destination)
{
  g_return_if_fail (SL_IS_DOWNLOAD (self));
  g_return_if_fail (self->state == SL_DOWNLOAD_STATE_QUEUED ||
                    self->state == SL_DOWNLOAD_STATE_PAUSED);
  g_return_if_fail (self->stop == STOP_NONE && !self->file_op_pending && !self->file_open);

  if (state == SL_DOWNLOAD_STATE_RUNNING || state == SL_DOWNLOAD_STATE_WAITING)
    state = SL_DOWNLOAD_STATE_QUEUED;

  /* Bytes from resume data are checked when the download starts; a completed download's are
   * only for display; without a partial file, there are none to continue from. */
  if (state == SL_DOWNLOAD_STATE_COMPLETED)
    {
      set_bytes_to (self, bytes_received);
      sl_progress_rebase (&self->progress, bytes_done (self));
      notify (self, PROP_BYTES_RECEIVED);
    }
  if (self->total < 0 && bytes_total >= 0)
    set_total (self, bytes_total);

  if (destination != NULL && g_set_object (&self->destination, destination))
    {
      g_autofree char *name = g_file_get_basename (destination);

      notify (self, PROP_DESTINATION);
      if (set_str (&self->filename, name))
        notify (self, PROP_FILENAME);
    }

  set_http_status (self, http_status);
  set_error (self, error);
  /* A completed file was checked before its rename. */
  if (self->digest != NULL && state == SL_DOWNLOAD_STATE_COMPLETED)
    set_checksum_state (self, SL_CHECKSUM_STATE_VERIFIED);
  set_state (self, state);
}

/**
 * sl_download_refresh_link:
 * @self: a paused, failed, waiting or queued download
 * @uri: a new http or https URI for the same file (an expired link renewed, another mirror)
 * @error: return location for an error
 *
 * Gives the download a new address while keeping its bytes. When it continues, the new server
 * must show, by its validators and length, that it serves the same file; if it does not, the
 * download fails saying so and still keeps its bytes.
 *
 * Returns: whether the link was changed
 */
gboolean
sl_download_refresh_link (SlDownload  *self,
                          const char  *uri,
                          GError     **error)
{
  g_autoptr (GUri) parsed = NULL;

  g_return_val_if_fail (SL_IS_DOWNLOAD (self), FALSE);

  if (self->state == SL_DOWNLOAD_STATE_RUNNING || self->state == SL_DOWNLOAD_STATE_COMPLETED ||
      self->state == SL_DOWNLOAD_STATE_CANCELED || self->stop != STOP_NONE ||
      self->file_op_pending)
    {
      g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_ARGUMENT,
                   _("Only a paused, failed or waiting download can get a new link"));
      return FALSE;
    }

  parsed = sl_uri_parse_download (uri, error);
  if (parsed == NULL)
    return FALSE;

  g_free (self->uri);
  self->uri = g_uri_to_string (parsed);
  g_clear_pointer (&self->final_uri, g_free);
  self->link_refreshed = bytes_done (self) > 0;
  notify (self, PROP_URI);
  notify (self, PROP_FINAL_URI);
  return TRUE;
}

/**
 * sl_download_pause_async:
 * @self: a download
 * @cancellable: (nullable): a cancellable
 * @callback: called once the download is paused
 * @user_data: data for @callback
 *
 * Stops the transfer, flushes the partial file to disk, and produces resume data, from which
 * sl_download_new_from_resume_data() recreates the download (in this process or another).
 */
void
sl_download_pause_async (SlDownload          *self,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (SL_IS_DOWNLOAD (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sl_download_pause_async);

  switch (self->state)
    {
    case SL_DOWNLOAD_STATE_PAUSED:
    case SL_DOWNLOAD_STATE_FAILED:
      if (self->stop == STOP_NONE)
        {
          g_task_return_pointer (task, sl_download_get_resume_data (self),
                                 (GDestroyNotify) g_bytes_unref);
          return;
        }
      break;

    case SL_DOWNLOAD_STATE_QUEUED:
    case SL_DOWNLOAD_STATE_WAITING:
      if (self->stop == STOP_NONE && !self->file_op_pending)
        {
          stop_timers (self);
          settle_progress (self);
          set_state (self, SL_DOWNLOAD_STATE_PAUSED);
          g_task_return_pointer (task, sl_download_get_resume_data (self),
                                 (GDestroyNotify) g_bytes_unref);
          return;
        }
      break;

    case SL_DOWNLOAD_STATE_COMPLETED:
    case SL_DOWNLOAD_STATE_CANCELED:
      g_task_return_new_error (task, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_ARGUMENT,
                               _("A download that has ended cannot be paused"));
      return;

    case SL_DOWNLOAD_STATE_RUNNING:
    default:
      break;
    }

  g_queue_push_tail (&self->pause_tasks, g_steal_pointer (&task));
  stop_transfer (self, STOP_PAUSE, NULL);
}

/**
 * sl_download_pause_finish:
 * @self: a download
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: (transfer full) (nullable): the resume data, or %NULL if the download ended first
 */
GBytes *
sl_download_pause_finish (SlDownload    *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * sl_download_cancel:
 * @self: a download
 *
 * Stops the download for good and deletes its partial file. #SlDownload::completed follows
 * with a %SL_DOWNLOAD_ERROR_CANCELLED error.
 */
void
sl_download_cancel (SlDownload *self)
{
  g_return_if_fail (SL_IS_DOWNLOAD (self));

  if (self->state == SL_DOWNLOAD_STATE_COMPLETED || self->state == SL_DOWNLOAD_STATE_CANCELED)
    return;

  stop_timers (self);
  stop_transfer (self, STOP_CANCEL, NULL);
}

/**
 * sl_download_get_resume_data:
 * @self: a download
 *
 * Resume data for the bytes flushed to disk so far. Complete only while the download is
 * paused or failed; while it runs, bytes written since the last checkpoint are not included.
 *
 * Returns: (transfer full): serialised resume data
 */
GBytes *
sl_download_get_resume_data (SlDownload *self)
{
  g_autoptr (SlResumeData) data = NULL;

  g_return_val_if_fail (SL_IS_DOWNLOAD (self), NULL);

  data = build_resume_data (self);
  return sl_resume_data_serialize (data);
}

const char *
sl_download_get_uri (SlDownload *self)
{
  g_return_val_if_fail (SL_IS_DOWNLOAD (self), NULL);

  return self->uri;
}

const char *
sl_download_get_final_uri (SlDownload *self)
{
  g_return_val_if_fail (SL_IS_DOWNLOAD (self), NULL);

  return self->final_uri ? self->final_uri : self->uri;
}

/**
 * sl_download_get_destination:
 * @self: a download
 *
 * Returns: (transfer none) (nullable): the file under its final name, once completed
 */
GFile *
sl_download_get_destination (SlDownload *self)
{
  g_return_val_if_fail (SL_IS_DOWNLOAD (self), NULL);

  return self->destination;
}

/**
 * sl_download_get_partial_file:
 * @self: a download
 *
 * Returns: (transfer full) (nullable): the `.part` file, once it exists
 */
GFile *
sl_download_get_partial_file (SlDownload *self)
{
  g_return_val_if_fail (SL_IS_DOWNLOAD (self), NULL);

  return self->partial_path ? g_file_new_for_path (self->partial_path) : NULL;
}

SlDownloadState
sl_download_get_state (SlDownload *self)
{
  g_return_val_if_fail (SL_IS_DOWNLOAD (self), SL_DOWNLOAD_STATE_FAILED);

  return self->state;
}

/**
 * sl_download_checkpoint_recorded:
 * @self: a download
 * @resume_data: what #SlDownload::checkpoint gave
 *
 * Tells the download that @resume_data is now durable where its owner keeps it, so that a
 * restart would continue from its bytes: #SlDownload:bytes-recorded follows. Checkpoints are
 * confirmed in the order they were emitted; confirming one confirms those before it, and a
 * checkpoint the download no longer stands by (its bytes were dropped since) is ignored.
 */
void
sl_download_checkpoint_recorded (SlDownload *self,
                                 GBytes     *resume_data)
{
  g_return_if_fail (SL_IS_DOWNLOAD (self));
  g_return_if_fail (resume_data != NULL);

  for (GList *l = self->unrecorded.head; l != NULL; l = l->next)
    {
      Unrecorded *unrecorded = l->data;
      gint64 received;

      if (unrecorded->resume_data != resume_data)
        continue;

      received = unrecorded->received;
      if (unrecorded->inode != 0 && unrecorded->inode == self->inode)
        self->identity_recorded = TRUE;
      while (g_queue_peek_head (&self->unrecorded) != unrecorded)
        unrecorded_free (g_queue_pop_head (&self->unrecorded));
      unrecorded_free (g_queue_pop_head (&self->unrecorded));
      set_recorded (self, received);

      if (self->awaiting_identity && self->identity_recorded)
        {
          self->awaiting_identity = FALSE;
          self->file_op_pending = FALSE;
          maybe_finish_stop (self);
        }
      return;
    }
}

/**
 * sl_download_get_length_checked:
 * @self: a download
 *
 * Whether the length of the completed file was confirmed: by the length the server announced,
 * or, for a body that came without one, by asking the server for what would follow. A server
 * that sends no length and does not do ranges leaves a file whose end cannot be told from a
 * connection that broke.
 *
 * Returns: %TRUE once a download completed with its length confirmed
 */
gboolean
sl_download_get_length_checked (SlDownload *self)
{
  g_return_val_if_fail (SL_IS_DOWNLOAD (self), FALSE);

  return self->state == SL_DOWNLOAD_STATE_COMPLETED && self->length_checked;
}

/**
 * sl_download_get_bytes_checkpointed:
 * @self: a download
 *
 * Returns: the bytes of the newest #SlDownload::checkpoint, which its resume data continues
 *   from; during the signal, those of the resume data it carries
 */
gint64
sl_download_get_bytes_checkpointed (SlDownload *self)
{
  g_return_val_if_fail (SL_IS_DOWNLOAD (self), 0);

  return self->checkpointed;
}

/**
 * sl_download_get_bytes_recorded:
 * @self: a download
 *
 * Returns: the bytes a restart would continue from, see #SlDownload:bytes-recorded
 */
gint64
sl_download_get_bytes_recorded (SlDownload *self)
{
  g_return_val_if_fail (SL_IS_DOWNLOAD (self), 0);

  if (self->state == SL_DOWNLOAD_STATE_COMPLETED || !is_resumable (self))
    return bytes_done (self);

  return MIN (self->recorded, bytes_done (self));
}

gint64
sl_download_get_bytes_received (SlDownload *self)
{
  g_return_val_if_fail (SL_IS_DOWNLOAD (self), 0);

  return bytes_done (self);
}

gint64
sl_download_get_bytes_total (SlDownload *self)
{
  g_return_val_if_fail (SL_IS_DOWNLOAD (self), -1);

  return self->total;
}

guint64
sl_download_get_speed (SlDownload *self)
{
  g_return_val_if_fail (SL_IS_DOWNLOAD (self), 0);

  return self->progress.speed;
}

gint64
sl_download_get_eta (SlDownload *self)
{
  g_return_val_if_fail (SL_IS_DOWNLOAD (self), -1);

  return self->progress.eta;
}

guint
sl_download_get_http_status (SlDownload *self)
{
  g_return_val_if_fail (SL_IS_DOWNLOAD (self), 0);

  return self->http_status;
}

SlErrorKind
sl_download_get_error_kind (SlDownload *self)
{
  g_return_val_if_fail (SL_IS_DOWNLOAD (self), SL_ERROR_KIND_NONE);

  return sl_download_error_kind (self->error);
}

const char *
sl_download_get_error_message (SlDownload *self)
{
  g_return_val_if_fail (SL_IS_DOWNLOAD (self), NULL);

  return self->error ? self->error->message : NULL;
}

/**
 * sl_download_get_error:
 * @self: a download
 *
 * Returns: (transfer none) (nullable): why the download failed, or the error it is waiting to
 *   retry after
 */
const GError *
sl_download_get_error (SlDownload *self)
{
  g_return_val_if_fail (SL_IS_DOWNLOAD (self), NULL);

  return self->error;
}
