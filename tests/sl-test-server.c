/* sl-test-server.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A loopback HTTP/1.1 server for tests. Every path serves the deterministic entity
 * sl_test_entity (seed, size) and misbehaves in one specific, documented way.
 *
 * Query parameters understood by every path:
 *   size=N   entity size in bytes (default 1048576)
 *   seed=S   entity seed, 0..2^32-1 (default 1)
 *   rate=B   throttle the body to B bytes per second (default: unthrottled)
 *   chunk=N  write the body in pieces of N bytes (default 64 KiB, at most 256 KiB)
 * An unparsable number in any known parameter answers 400.
 *
 * Requests are numbered per path (1-based, query ignored) since the last
 * sl_test_server_reset_counts(); "first request" and "times=T" below refer to that number.
 *
 * Path                   Behaviour
 * ---------------------  ----------------------------------------------------------------------
 * /file                  200, Content-Length, ETag "e<seed>-<size>", a fixed Last-Modified,
 *                        Accept-Ranges: bytes, Content-Type application/octet-stream.
 *                        Range "bytes=A-", "bytes=A-B" or "bytes=-N": 206 + Content-Range.
 *                        A >= size: 416 + unsatisfied Content-Range [1]. Several ranges or
 *                        bad syntax: 200. An If-Range that is neither the ETag nor the
 *                        Last-Modified: 200. HEAD answers the same headers.
 * /drop                  /file, but the first T requests (times=T, default: all) close the
 *   ?after=N&times=T     connection after N body bytes (default size/2); Content-Length
 *                        still announces the whole response.
 * /ignore-range?drop=N   200 and the full body whatever Range and If-Range say; chunked, so
 *                        no Content-Length (cl=1 sends one instead); ETag, Last-Modified and
 *                        an Accept-Ranges: bytes it does not live up to. drop=N closes after
 *                        N bytes, first request only.
 * /etag-changes?drop=K   Request i serves entity (seed+i-1, size) with ETag "v<i>" and a
 *                        Last-Modified that changes too; Range is only honoured with a
 *                        matching If-Range, so in practice never. The first request closes
 *                        after K bytes (default size/2).
 * /long-length           200 announcing Content-Length size+1000; sends size bytes, closes.
 *                        Ignores Range.
 * /wrong-range?drop=K    Ranged requests: 206 whose Content-Range and body start 100 bytes
 *                        after the start asked for. Others: /file, the first request closing
 *                        after K bytes (default size/2).
 * /stall                 /file, but the first T requests (default 1) send N body bytes
 *   ?after=N&times=T     (default size/2), then neither send nor close.
 * /redirect?n=N&to=P     302 to /redirect?n=N-1&to=P while N > 0, then 302 to P (default
 *                        /file).
 * /loop                  302 to itself, forever.
 * /status?code=C         Status C (default 500, 200..599) with a text/html body; 416 adds an
 *                        unsatisfied Content-Range [1].
 * /retry-after           The first T requests (default 2) answer C (default 503) with
 *   ?code=C&seconds=S    Retry-After: S (default 1) and a text/html body; later ones are
 *   &times=T             /file.
 * /disposition?cd=V      /file plus "Content-Disposition: V", V percent-decoded and sent as
 *                        raw bytes (CR and LF become spaces: libsoup refuses them).
 * /chunked               200, chunked, no Content-Length, ETag, Last-Modified or
 *                        Accept-Ranges; ignores Range.
 * /html-on-resume        Any request with Range: 200, a small text/html "error" page with
 *   ?drop=K              /file's ETag and no Content-Range. Others: /file, the first request
 *                        closing after K bytes (default size/2).
 * /stops-at?at=N         /file, but every response, ranged or not, closes the connection before
 *                        entity byte N (default size/2), though its Content-Length announces
 *                        the whole rest: a server that answers and never delivers the end.
 * /huge-header?bytes=N   /file plus a header "X-Padding" of N bytes (default 200000).
 * /chunk-cut             The first T requests (times=T, default 1) that have no Range get a
 *   ?at=N&inside=I       raw chunked 200 of entity bytes [0, N) (default size/2) in 16 KiB
 *   &ranges=R&times=T    chunks, and the connection closes without the last chunk: right
 *                        after a chunk (inside=0, the default) or 1000 bytes short of the
 *                        end of one whose size says more (inside=1). ranges=1 (the default)
 *                        adds the ETag and Last-Modified of /file and answers requests with a
 *                        Range as /file does; ranges=0 sends Accept-Ranges: none and ignores
 *                        Range. Requests past the first T without a Range: /chunked.
 * /gzip                  200, Content-Encoding: gzip whatever Accept-Encoding says; body the
 *                        gzip of the entity, with its Content-Length; ETag "gz<seed>-<size>";
 *                        Accept-Ranges: bytes, yet Range is ignored. size at most 64 MiB.
 * /segments             /file, but ranged requests that do not start at byte 0 (the extra
 *   ?fault=F&times=T     connections of a segmented download), the first T of them (default 1,
 *                        0: all), meet fault F: drop (close after `after` bytes, default
 *                        100000), ignore (200 and the whole entity), shift (Content-Range and
 *                        body 100 bytes late), short (a 206 of the first half of the range),
 *                        slow (sent at `slow` bytes/s, default 100000). fault=etag: every
 *                        request after the first `requests` (default 1) serves entity seed+1
 *                        with other validators. fault=cap: while `conns` bodies (default 2) are
 *                        being sent, 503 with Retry-After: 1.
 * /?html=1              The root: /file, with a Content-Type of text/html when html=1.
 * anything else          404, text/html. Methods other than GET and HEAD: 405.
 *
 * [1] "Content-Range: bytes *" followed by "/" and the entity size.
 *
 * Bodies are generated on the fly in chunks, written with accumulation off, so a 256 MiB entity
 * never sits in memory and libsoup never answers a Range on our behalf.
 */

#include "sl-test-server.h"

#include <errno.h>
#include <string.h>

#define DEFAULT_SIZE   G_GUINT64_CONSTANT (1048576)
#define DEFAULT_CHUNK  (64 * 1024)
#define MAX_CHUNK      (256 * 1024)
#define MAX_GZIP_SIZE  (64 * 1024 * 1024)
#define LAST_MODIFIED  "Wed, 21 Oct 2015 07:28:00 GMT"
#define GOLDEN_GAMMA   G_GUINT64_CONSTANT (0x9E3779B97F4A7C15)

struct _SlTestServer
{
  GMutex        mutex;
  GCond         cond;
  gboolean      ready;
  GError       *error;
  guint16       port;
  GPtrArray    *log;       /* of SlTestRequest*, guarded by mutex */

  GThread      *thread;
  GMainContext *context;
  GMainLoop    *loop;

  guint         max_streams;   /* the most bodies sent at once, guarded by mutex */
  guint64       bytes_sent;    /* body bytes of finished responses, guarded by mutex */
  guint         counting;      /* which reset of the counts, guarded by mutex */

  /* Only touched from the server thread. */
  GList        *streams;
  guint         later_ranges;  /* /segments: ranged requests not from the first byte */
};

/* Entity ------------------------------------------------------------------------------------ */

static inline guint64
splitmix64 (guint64 x)
{
  x += GOLDEN_GAMMA;
  x = (x ^ (x >> 30)) * G_GUINT64_CONSTANT (0xBF58476D1CE4E5B9);
  x = (x ^ (x >> 27)) * G_GUINT64_CONSTANT (0x94D049BB133111EB);
  return x ^ (x >> 31);
}

/* The size is part of the key so that entities of different sizes share no prefix: a client
 * that splices two of them together must produce a wrong checksum. */
static inline guint64
entity_key (guint32 seed,
            guint64 size)
{
  return splitmix64 (splitmix64 (seed) ^ size);
}

static inline guint64
entity_word (guint64 key,
             guint64 index)
{
  return splitmix64 (key + index * GOLDEN_GAMMA);
}

/**
 * sl_test_entity_fill:
 * @seed: entity seed
 * @size: entity size
 * @offset: first byte to produce
 * @buffer: where to write @length bytes
 * @length: number of bytes
 *
 * Writes bytes [@offset, @offset + @length) of the entity. Each 8-byte word depends only on
 * (seed, size, word index), so any slice can be produced without the bytes before it.
 */
void
sl_test_entity_fill (guint32  seed,
                     gsize    size,
                     guint64  offset,
                     guint8  *buffer,
                     gsize    length)
{
  guint64 key = entity_key (seed, size);
  guint64 index = offset / 8;
  guint skip = offset % 8;

  while (length > 0)
    {
      guint64 word = GUINT64_TO_LE (entity_word (key, index));
      gsize n = MIN (8 - skip, length);

      memcpy (buffer, (const guint8 *) &word + skip, n);
      buffer += n;
      length -= n;
      skip = 0;
      index++;
    }
}

GBytes *
sl_test_entity_slice (guint32 seed,
                      gsize   size,
                      guint64 offset,
                      gsize   length)
{
  guint8 *data;

  g_return_val_if_fail (offset <= size && length <= size - offset, NULL);

  data = g_malloc (MAX (length, 1));
  sl_test_entity_fill (seed, size, offset, data, length);
  return g_bytes_new_take (data, length);
}

GBytes *
sl_test_entity (guint32 seed,
                gsize   size)
{
  return sl_test_entity_slice (seed, size, 0, size);
}

char *
sl_test_entity_sha256 (guint32 seed,
                       gsize   size)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guint8 *buffer = g_malloc (MAX_CHUNK);

  for (guint64 offset = 0; offset < size; offset += MAX_CHUNK)
    {
      gsize n = MIN ((guint64) MAX_CHUNK, size - offset);

      sl_test_entity_fill (seed, size, offset, buffer, n);
      g_checksum_update (checksum, buffer, n);
    }

  return g_strdup (g_checksum_get_string (checksum));
}

/* Request log ------------------------------------------------------------------------------- */

/**
 * sl_test_server_max_concurrent:
 *
 * Returns: the most response bodies the server sent at once since it started or its counts
 *   were reset
 */
guint
sl_test_server_max_concurrent (SlTestServer *self)
{
  guint max;

  g_mutex_lock (&self->mutex);
  max = self->max_streams;
  g_mutex_unlock (&self->mutex);
  return max;
}

/**
 * sl_test_server_bytes_sent:
 *
 * Returns: the body bytes of the responses that have finished, whole or cut
 */
guint64
sl_test_server_bytes_sent (SlTestServer *self)
{
  guint64 sent;

  g_mutex_lock (&self->mutex);
  sent = self->bytes_sent;
  g_mutex_unlock (&self->mutex);
  return sent;
}

void
sl_test_request_free (SlTestRequest *request)
{
  if (request == NULL)
    return;

  g_free (request->path);
  g_free (request->range);
  g_free (request->if_range);
  g_strfreev (request->headers);
  g_free (request);
}

static SlTestRequest *
request_copy (const SlTestRequest *request)
{
  SlTestRequest *copy = g_new0 (SlTestRequest, 1);

  copy->path = g_strdup (request->path);
  copy->range = g_strdup (request->range);
  copy->if_range = g_strdup (request->if_range);
  copy->headers = g_strdupv (request->headers);
  copy->status = request->status;
  return copy;
}

static guint
count_locked (SlTestServer *self,
              const char   *path)
{
  guint count = 0;

  for (guint i = 0; i < self->log->len; i++)
    {
      const SlTestRequest *request = g_ptr_array_index (self->log, i);

      if (g_strcmp0 (request->path, path) == 0)
        count++;
    }

  return count;
}

guint
sl_test_server_request_count (SlTestServer *self,
                              const char   *path)
{
  guint count;

  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (path != NULL, 0);

  g_mutex_lock (&self->mutex);
  count = count_locked (self, path);
  g_mutex_unlock (&self->mutex);

  return count;
}

/**
 * sl_test_server_requests:
 * @self: a server
 * @path: (nullable): only requests for this path, or %NULL for all
 *
 * Returns: (transfer full): copies of the logged requests, oldest first
 */
GPtrArray *
sl_test_server_requests (SlTestServer *self,
                         const char   *path)
{
  GPtrArray *requests = g_ptr_array_new_with_free_func ((GDestroyNotify) sl_test_request_free);

  g_return_val_if_fail (self != NULL, requests);

  g_mutex_lock (&self->mutex);
  for (guint i = 0; i < self->log->len; i++)
    {
      const SlTestRequest *request = g_ptr_array_index (self->log, i);

      if (path == NULL || g_strcmp0 (request->path, path) == 0)
        g_ptr_array_add (requests, request_copy (request));
    }
  g_mutex_unlock (&self->mutex);

  return requests;
}

void
sl_test_server_reset_counts (SlTestServer *self)
{
  g_return_if_fail (self != NULL);

  g_mutex_lock (&self->mutex);
  g_ptr_array_set_size (self->log, 0);
  self->max_streams = 0;
  self->bytes_sent = 0;
  self->counting++;
  g_mutex_unlock (&self->mutex);
}

/* Body streaming ----------------------------------------------------------------------------- */

typedef enum
{
  CUT_NONE,
  CUT_CLOSE,  /* drop the connection */
  CUT_STALL,  /* keep it open, send nothing more */
} CutAction;

typedef struct
{
  SlTestServer      *server;
  SoupServerMessage *msg;
  guint32            seed;
  guint64            size;
  GBytes            *data;       /* when set, bytes come from here instead of the entity */
  guint64            offset;     /* next byte of the entity (or data) to send */
  guint64            remaining;  /* bytes of this response not handed to libsoup yet */
  guint64            sent;       /* bytes of this response handed to libsoup */
  guint              counting;   /* the server's counting when it started */
  CutAction          cut_action;
  guint64            cut_after;
  gsize              chunk;
  guint64            rate;
  gint64             started;
  gboolean           paused;
  gboolean           complete;
  GSource           *source;     /* pending throttle timer or close */
} Stream;

static void
stream_free (Stream *stream)
{
  /* A response from before the counts were reset is not counted, even if it ends after. */
  g_mutex_lock (&stream->server->mutex);
  if (stream->counting == stream->server->counting)
    stream->server->bytes_sent += stream->sent;
  g_mutex_unlock (&stream->server->mutex);
  stream->server->streams = g_list_remove (stream->server->streams, stream);
  g_signal_handlers_disconnect_by_data (stream->msg, stream);
  if (stream->source != NULL)
    {
      g_source_destroy (stream->source);
      g_source_unref (stream->source);
    }
  g_clear_pointer (&stream->data, g_bytes_unref);
  g_object_unref (stream->msg);
  g_free (stream);
}

static void
stream_pause (Stream *stream)
{
  if (!stream->paused)
    {
      soup_server_message_pause (stream->msg);
      stream->paused = TRUE;
    }
}

static void
stream_attach (Stream      *stream,
               GSource     *source,
               GSourceFunc  func)
{
  g_assert (stream->source == NULL);

  g_source_set_callback (source, func, stream, NULL);
  g_source_attach (source, stream->server->context);
  stream->source = source;
}

static gboolean
stream_close_cb (gpointer data)
{
  Stream *stream = data;
  g_autoptr(SoupServerMessage) msg = g_object_ref (stream->msg);
  g_autoptr(GIOStream) connection = NULL;

  g_clear_pointer (&stream->source, g_source_unref);
  stream_free (stream);

  /* Not from the wrote-chunk handler itself: stealing frees the I/O state libsoup is still
   * running on. */
  connection = soup_server_message_steal_connection (msg);
  if (connection != NULL)
    g_io_stream_close (connection, NULL, NULL);

  return G_SOURCE_REMOVE;
}

static gboolean stream_resume_cb (gpointer data);

/* Hands the next piece of body to libsoup, or pauses. Returns FALSE when it paused. */
static gboolean
stream_next (Stream *stream)
{
  SoupMessageBody *body = soup_server_message_get_response_body (stream->msg);
  g_autoptr(GBytes) bytes = NULL;
  guint64 n;

  if (stream->complete)
    return TRUE;

  if (stream->cut_action != CUT_NONE && stream->sent >= stream->cut_after)
    {
      stream_pause (stream);
      if (stream->cut_action == CUT_CLOSE && stream->source == NULL)
        stream_attach (stream, g_idle_source_new (), stream_close_cb);
      return FALSE;
    }

  if (stream->remaining == 0)
    {
      soup_message_body_complete (body);
      stream->complete = TRUE;
      return TRUE;
    }

  if (stream->rate > 0)
    {
      gint64 due = stream->started + (gint64) (stream->sent * G_USEC_PER_SEC / stream->rate);
      gint64 now = g_get_monotonic_time ();

      if (due > now)
        {
          stream_pause (stream);
          stream_attach (stream, g_timeout_source_new ((due - now + 999) / 1000),
                         stream_resume_cb);
          return FALSE;
        }
    }

  n = MIN (stream->chunk, stream->remaining);
  if (stream->cut_action != CUT_NONE)
    n = MIN (n, stream->cut_after - stream->sent);

  if (stream->data != NULL)
    bytes = g_bytes_new_from_bytes (stream->data, stream->offset, n);
  else
    bytes = sl_test_entity_slice (stream->seed, stream->size, stream->offset, n);
  soup_message_body_append_bytes (body, bytes);

  stream->offset += n;
  stream->sent += n;
  stream->remaining -= n;
  return TRUE;
}

static gboolean
stream_resume_cb (gpointer data)
{
  Stream *stream = data;

  g_clear_pointer (&stream->source, g_source_unref);
  if (stream_next (stream) && stream->paused)
    {
      stream->paused = FALSE;
      soup_server_message_unpause (stream->msg);
    }

  return G_SOURCE_REMOVE;
}

static void
stream_wrote_cb (Stream *stream)
{
  stream_next (stream);
}

static void
stream_start (SlTestServer      *server,
              SoupServerMessage *msg,
              Stream            *stream)
{
  Stream *self = g_memdup2 (stream, sizeof *stream);

  self->server = server;
  self->msg = g_object_ref (msg);
  self->started = g_get_monotonic_time ();
  server->streams = g_list_prepend (server->streams, self);
  g_mutex_lock (&server->mutex);
  self->counting = server->counting;
  server->max_streams = MAX (server->max_streams, g_list_length (server->streams));
  g_mutex_unlock (&server->mutex);

  soup_message_body_set_accumulate (soup_server_message_get_response_body (msg), FALSE);

  /* libsoup asks for more after the headers and after each piece; when it finds nothing it
   * pauses itself until unpaused. */
  g_signal_connect_swapped (msg, "wrote-headers", G_CALLBACK (stream_wrote_cb), self);
  g_signal_connect_swapped (msg, "wrote-chunk", G_CALLBACK (stream_wrote_cb), self);
  g_signal_connect_swapped (msg, "finished", G_CALLBACK (stream_free), self);
  g_signal_connect_swapped (msg, "disconnected", G_CALLBACK (stream_free), self);
}

/* Requests ---------------------------------------------------------------------------------- */

typedef struct
{
  SlTestServer      *server;
  SoupServerMessage *msg;
  GHashTable        *params;    /* decoded name → decoded value */
  guint              number;    /* 1-based, per path */
  guint32            seed;
  guint64            size;
  const char        *range;
  const char        *if_range;
  gboolean           head;
} Request;

static const char * const numeric_params[] = {
  "size", "seed", "rate", "chunk", "after", "times", "drop", "n", "code", "seconds", "cl",
  "at", "bytes", "inside", "ranges", "conns", "slow", "requests",
  "html",
};

static gboolean
parse_u64 (const char *text,
           guint64    *value)
{
  char *end = NULL;

  if (text == NULL || !g_ascii_isdigit (*text))
    return FALSE;

  errno = 0;
  *value = g_ascii_strtoull (text, &end, 10);
  return errno == 0 && *end == '\0';
}

static guint64
param_u64 (Request    *req,
           const char *name,
           guint64     fallback)
{
  guint64 value;

  if (parse_u64 (g_hash_table_lookup (req->params, name), &value))
    return value;

  return fallback;
}

static gboolean
params_valid (Request *req)
{
  guint64 value;

  for (gsize i = 0; i < G_N_ELEMENTS (numeric_params); i++)
    {
      const char *text = g_hash_table_lookup (req->params, numeric_params[i]);

      if (text != NULL && !parse_u64 (text, &value))
        return FALSE;
    }

  return param_u64 (req, "seed", 1) <= G_MAXUINT32;
}

/* Form-style decoding that keeps arbitrary bytes: g_uri_parse_params() rejects non-UTF-8,
 * and tests send such bytes on purpose. */
static char *
decode_component (const char *text,
                  gssize      length)
{
  g_autofree char *raw = length < 0 ? g_strdup (text) : g_strndup (text, length);
  g_autoptr(GBytes) bytes = NULL;
  const char *data;
  gsize size;

  g_strdelimit (raw, "+", ' ');
  bytes = g_uri_unescape_bytes (raw, -1, NULL, NULL);
  if (bytes == NULL)
    return g_steal_pointer (&raw);

  data = g_bytes_get_data (bytes, &size);
  return size > 0 ? g_strndup (data, size) : g_strdup ("");
}

static GHashTable *
parse_query (const char *query)
{
  GHashTable *params = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_auto(GStrv) pairs = NULL;

  if (query == NULL)
    return params;

  pairs = g_strsplit (query, "&", -1);
  for (guint i = 0; pairs[i] != NULL; i++)
    {
      const char *eq = strchr (pairs[i], '=');

      if (pairs[i][0] == '\0')
        continue;

      if (eq != NULL)
        g_hash_table_replace (params, decode_component (pairs[i], eq - pairs[i]),
                              decode_component (eq + 1, -1));
      else
        g_hash_table_replace (params, decode_component (pairs[i], -1), g_strdup (""));
    }

  return params;
}

/* Responses --------------------------------------------------------------------------------- */

typedef enum
{
  RANGE_IGNORED,
  RANGE_SATISFIABLE,
  RANGE_UNSATISFIABLE,
} RangeResult;

static const char *
parse_digits (const char *p,
              guint64    *value)
{
  char *end = NULL;

  if (!g_ascii_isdigit (*p))
    return NULL;

  errno = 0;
  *value = g_ascii_strtoull (p, &end, 10);
  return errno == 0 ? end : NULL;
}

/* One "bytes=" range, as RFC 9110 §14.1.2 puts it; anything fancier is ignored (→ 200). */
static RangeResult
parse_range (const char *header,
             guint64     size,
             guint64    *first,
             guint64    *last)
{
  const char *p = header;
  guint64 start, end = G_MAXUINT64;

  while (*p == ' ' || *p == '\t')
    p++;
  if (g_ascii_strncasecmp (p, "bytes=", 6) != 0 || strchr (p, ',') != NULL)
    return RANGE_IGNORED;
  p += 6;
  while (*p == ' ' || *p == '\t')
    p++;

  if (*p == '-')
    {
      guint64 suffix;

      p = parse_digits (p + 1, &suffix);
      if (p == NULL || p[strspn (p, " \t")] != '\0')
        return RANGE_IGNORED;
      if (suffix == 0 || size == 0)
        return RANGE_UNSATISFIABLE;

      *first = suffix >= size ? 0 : size - suffix;
      *last = size - 1;
      return RANGE_SATISFIABLE;
    }

  p = parse_digits (p, &start);
  if (p == NULL || *p != '-')
    return RANGE_IGNORED;
  p++;
  if (g_ascii_isdigit (*p))
    p = parse_digits (p, &end);
  if (p == NULL || p[strspn (p, " \t")] != '\0' || end < start)
    return RANGE_IGNORED;
  if (start >= size)
    return RANGE_UNSATISFIABLE;

  *first = start;
  *last = MIN (end, size - 1);
  return RANGE_SATISFIABLE;
}

static void
set_content_range_unsatisfiable (SoupMessageHeaders *headers,
                                 guint64             size)
{
  g_autofree char *value = g_strdup_printf ("bytes */%" G_GUINT64_FORMAT, size);

  soup_message_headers_replace (headers, "Content-Range", value);
}

/* Sends a small complete body. Accumulation is off so that libsoup does not turn a 200 into a
 * 206 when the request carried a Range. */
static guint
respond_body (Request    *req,
              guint       status,
              const char *content_type,
              const char *body)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (req->msg);
  SoupMessageBody *response_body = soup_server_message_get_response_body (req->msg);
  gsize length = strlen (body);

  soup_server_message_set_status (req->msg, status, NULL);
  soup_message_body_set_accumulate (response_body, FALSE);
  if (content_type != NULL)
    soup_message_headers_replace (headers, "Content-Type", content_type);
  soup_message_headers_set_content_length (headers, length);
  if (length > 0)
    soup_message_body_append (response_body, SOUP_MEMORY_COPY, body, length);
  soup_message_body_complete (response_body);

  return status;
}

static guint
respond_html (Request    *req,
              guint       status,
              const char *detail)
{
  const char *phrase = soup_status_get_phrase (status);
  g_autofree char *html = NULL;

  html = g_strdup_printf ("<!DOCTYPE html>\n<html><head><title>%u %s</title></head>"
                          "<body><h1>%s</h1><p>%s</p></body></html>\n",
                          status, phrase, phrase, detail ? detail : "");

  return respond_body (req, status, "text/html; charset=utf-8", html);
}

typedef struct
{
  guint32      seed;
  guint64      size;
  GBytes      *data;             /* replaces the entity as the body (gzip) */
  char         etag[48];         /* empty: none */
  const char  *last_modified;    /* NULL: none */
  const char  *content_type;
  gboolean     accept_ranges;    /* advertise "Accept-Ranges: bytes" */
  gboolean     honour_range;
  gboolean     need_if_range;    /* honour Range only with a matching If-Range */
  gboolean     chunked;
  guint64      range_shift;      /* /wrong-range: serve from this many bytes later */
  guint64      extra_length;     /* /long-length: announced but never sent */
  guint64      stop_at;          /* /stops-at: no entity byte from here on is sent */
  CutAction    cut_action;
  guint64      cut_after;        /* body bytes of this response before the cut */
  guint64      rate;             /* bytes per second for this response, 0: the query's */
} EntityOptions;

static void
entity_options_init (Request       *req,
                     EntityOptions *opt)
{
  memset (opt, 0, sizeof *opt);
  opt->seed = req->seed;
  opt->size = req->size;
  g_snprintf (opt->etag, sizeof opt->etag, "\"e%u-%" G_GUINT64_FORMAT "\"", req->seed, req->size);
  opt->last_modified = LAST_MODIFIED;
  opt->content_type = "application/octet-stream";
  opt->accept_ranges = TRUE;
  opt->honour_range = TRUE;
}

static gboolean
if_range_matches (Request             *req,
                  const EntityOptions *opt)
{
  if (req->if_range == NULL)
    return !opt->need_if_range;

  return (opt->etag[0] != '\0' && strcmp (req->if_range, opt->etag) == 0) ||
         (opt->last_modified != NULL && strcmp (req->if_range, opt->last_modified) == 0);
}

static guint
serve_entity (Request             *req,
              const EntityOptions *opt)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (req->msg);
  guint64 size = opt->data != NULL ? g_bytes_get_size (opt->data) : opt->size;
  guint64 first = 0, last = 0;
  guint64 body_start = 0, body_length = size;
  guint status = SOUP_STATUS_OK;
  Stream stream = { 0 };

  if (opt->honour_range && req->range != NULL && if_range_matches (req, opt))
    {
      RangeResult result = parse_range (req->range, size, &first, &last);

      if (result == RANGE_SATISFIABLE && first + opt->range_shift > last)
        result = RANGE_UNSATISFIABLE;

      if (result == RANGE_UNSATISFIABLE)
        {
          set_content_range_unsatisfiable (headers, size);
          if (opt->etag[0] != '\0')
            soup_message_headers_replace (headers, "ETag", opt->etag);
          return respond_body (req, SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE, NULL, "");
        }

      if (result == RANGE_SATISFIABLE)
        {
          status = SOUP_STATUS_PARTIAL_CONTENT;
          body_start = first + opt->range_shift;
          body_length = last - body_start + 1;
          soup_message_headers_set_content_range (headers, body_start, last, size);
        }
    }

  soup_server_message_set_status (req->msg, status, NULL);
  soup_message_headers_replace (headers, "Content-Type", opt->content_type);
  if (opt->etag[0] != '\0')
    soup_message_headers_replace (headers, "ETag", opt->etag);
  if (opt->last_modified != NULL)
    soup_message_headers_replace (headers, "Last-Modified", opt->last_modified);
  if (opt->accept_ranges)
    soup_message_headers_replace (headers, "Accept-Ranges", "bytes");

  if (opt->chunked)
    soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
  else
    soup_message_headers_set_content_length (headers, body_length + opt->extra_length);

  if (req->head)
    {
      soup_message_body_complete (soup_server_message_get_response_body (req->msg));
      return status;
    }

  stream.seed = opt->seed;
  stream.size = opt->size;
  stream.data = opt->data != NULL ? g_bytes_ref (opt->data) : NULL;
  stream.offset = body_start;
  stream.remaining = body_length;
  stream.cut_action = opt->cut_action;
  stream.cut_after = opt->cut_after;
  stream.rate = opt->rate > 0 ? opt->rate : param_u64 (req, "rate", 0);
  stream.chunk = param_u64 (req, "chunk", 0);
  if (stream.chunk == 0)
    stream.chunk = stream.rate > 0 ? CLAMP (stream.rate / 10, 1, DEFAULT_CHUNK) : DEFAULT_CHUNK;
  stream.chunk = MIN (stream.chunk, MAX_CHUNK);

  if (opt->stop_at > 0)
    {
      stream.cut_action = CUT_CLOSE;
      stream.cut_after = opt->stop_at > body_start ? opt->stop_at - body_start : 0;
    }

  /* A cut at or beyond the end of the body is no cut at all. */
  if (stream.cut_action != CUT_NONE && stream.cut_after >= body_length &&
      opt->extra_length == 0 && opt->stop_at == 0)
    stream.cut_action = CUT_NONE;

  stream_start (req->server, req->msg, &stream);
  return status;
}

/* Path handlers ----------------------------------------------------------------------------- */

static guint
handle_file (Request *req)
{
  EntityOptions opt;

  entity_options_init (req, &opt);
  return serve_entity (req, &opt);
}

static guint
handle_root (Request *req)
{
  EntityOptions opt;

  entity_options_init (req, &opt);
  if (param_u64 (req, "html", 0) != 0)
    opt.content_type = "text/html; charset=utf-8";
  return serve_entity (req, &opt);
}

static guint
handle_drop (Request *req)
{
  EntityOptions opt;

  entity_options_init (req, &opt);
  if (req->number <= param_u64 (req, "times", G_MAXUINT64))
    {
      opt.cut_action = CUT_CLOSE;
      opt.cut_after = param_u64 (req, "after", req->size / 2);
    }

  return serve_entity (req, &opt);
}

static guint
handle_ignore_range (Request *req)
{
  EntityOptions opt;

  entity_options_init (req, &opt);
  opt.honour_range = FALSE;
  opt.chunked = param_u64 (req, "cl", 0) == 0;
  if (req->number == 1 && g_hash_table_contains (req->params, "drop"))
    {
      opt.cut_action = CUT_CLOSE;
      opt.cut_after = param_u64 (req, "drop", 0);
    }

  return serve_entity (req, &opt);
}

static guint
handle_etag_changes (Request *req)
{
  g_autoptr(GDateTime) base = g_date_time_new_utc (2015, 10, 21, 7, 28, 0);
  g_autoptr(GDateTime) modified = g_date_time_add_minutes (base, req->number);
  g_autofree char *last_modified = soup_date_time_to_string (modified, SOUP_DATE_HTTP);
  EntityOptions opt;

  entity_options_init (req, &opt);
  opt.seed = req->seed + req->number - 1;
  g_snprintf (opt.etag, sizeof opt.etag, "\"v%u\"", req->number);
  opt.last_modified = last_modified;
  opt.need_if_range = TRUE;
  if (req->number == 1)
    {
      opt.cut_action = CUT_CLOSE;
      opt.cut_after = param_u64 (req, "drop", req->size / 2);
    }

  return serve_entity (req, &opt);
}

static guint
handle_long_length (Request *req)
{
  EntityOptions opt;

  entity_options_init (req, &opt);
  opt.honour_range = FALSE;
  opt.extra_length = 1000;
  opt.cut_action = CUT_CLOSE;
  opt.cut_after = req->size;
  return serve_entity (req, &opt);
}

static guint
handle_wrong_range (Request *req)
{
  EntityOptions opt;

  entity_options_init (req, &opt);
  if (req->range != NULL)
    {
      opt.range_shift = 100;
    }
  else if (req->number == 1)
    {
      opt.cut_action = CUT_CLOSE;
      opt.cut_after = param_u64 (req, "drop", req->size / 2);
    }

  return serve_entity (req, &opt);
}

static guint
handle_stall (Request *req)
{
  EntityOptions opt;

  entity_options_init (req, &opt);
  if (req->number <= param_u64 (req, "times", 1))
    {
      opt.cut_action = CUT_STALL;
      opt.cut_after = param_u64 (req, "after", req->size / 2);
    }

  return serve_entity (req, &opt);
}

/* /segments: faults for the requests of ranges that do not start at the first byte, as a
 * segmented download sends them; the first request, and any other, is /file. */
static guint
handle_segments (Request *req)
{
  const char *fault = g_hash_table_lookup (req->params, "fault");
  guint64 times = param_u64 (req, "times", 1);
  guint64 first = 0, last = 0;
  gboolean later;
  EntityOptions opt;

  entity_options_init (req, &opt);

  /* The entity changes after the first few requests, validators and all. */
  if (g_strcmp0 (fault, "etag") == 0 && req->number > param_u64 (req, "requests", 1))
    {
      opt.seed = req->seed + 1;
      g_snprintf (opt.etag, sizeof opt.etag, "\"v2-%u\"", req->seed);
      opt.last_modified = "Thu, 22 Oct 2015 07:28:00 GMT";
    }

  /* More connections than the server takes are turned away. */
  if (g_strcmp0 (fault, "cap") == 0 &&
      g_list_length (req->server->streams) >= param_u64 (req, "conns", 2))
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (req->msg),
                                    "Retry-After", "1");
      return respond_html (req, SOUP_STATUS_SERVICE_UNAVAILABLE, "Too many connections.");
    }

  later = req->range != NULL &&
          parse_range (req->range, req->size, &first, &last) == RANGE_SATISFIABLE && first > 0;
  if (!later || fault == NULL)
    return serve_entity (req, &opt);
  if (++req->server->later_ranges > times && times > 0)
    return serve_entity (req, &opt);

  if (g_strcmp0 (fault, "drop") == 0)
    {
      opt.cut_action = CUT_CLOSE;
      opt.cut_after = param_u64 (req, "after", 100000);
    }
  else if (g_strcmp0 (fault, "ignore") == 0)
    opt.honour_range = FALSE;
  else if (g_strcmp0 (fault, "shift") == 0)
    opt.range_shift = 100;
  else if (g_strcmp0 (fault, "slow") == 0)
    opt.rate = param_u64 (req, "slow", 100000);
  else if (g_strcmp0 (fault, "short") == 0)
    {
      /* A 206 of the first half of what was asked: lawful, and the rest is still to come. */
      g_autofree char *half = g_strdup_printf ("bytes=%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT,
                                               first, first + (last - first) / 2);
      const char *asked = req->range;
      guint status;

      req->range = half;
      status = serve_entity (req, &opt);
      req->range = asked;
      return status;
    }

  return serve_entity (req, &opt);
}

static guint
redirect (Request    *req,
          const char *location)
{
  g_autoptr(GUri) target = g_uri_parse_relative (soup_server_message_get_uri (req->msg),
                                                 location, SOUP_HTTP_URI_FLAGS, NULL);

  if (target == NULL)
    return respond_html (req, SOUP_STATUS_BAD_REQUEST, "Unusable redirect target.");

  soup_server_message_set_redirect (req->msg, SOUP_STATUS_FOUND, location);
  respond_html (req, SOUP_STATUS_FOUND, "Moved.");
  return SOUP_STATUS_FOUND;
}

static guint
handle_redirect (Request *req)
{
  const char *to = g_hash_table_lookup (req->params, "to");
  guint64 n = param_u64 (req, "n", 0);
  g_autofree char *location = NULL;

  if (to == NULL || *to == '\0')
    to = "/file";

  if (n > 0)
    {
      g_autofree char *escaped = g_uri_escape_bytes ((const guint8 *) to, strlen (to), NULL);

      location = g_strdup_printf ("/redirect?n=%" G_GUINT64_FORMAT "&to=%s", n - 1, escaped);
    }
  else
    {
      location = g_strdup (to);
    }

  return redirect (req, location);
}

static guint
handle_loop (Request *req)
{
  const char *query = g_uri_get_query (soup_server_message_get_uri (req->msg));
  g_autofree char *location = g_strconcat ("/loop", query ? "?" : "", query, NULL);

  return redirect (req, location);
}

static guint
handle_status (Request *req)
{
  guint64 code = param_u64 (req, "code", SOUP_STATUS_INTERNAL_SERVER_ERROR);

  if (code < 200 || code > 599)
    return respond_html (req, SOUP_STATUS_BAD_REQUEST, "code must be within 200..599.");

  if (code == SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE)
    set_content_range_unsatisfiable (soup_server_message_get_response_headers (req->msg),
                                     req->size);

  return respond_html (req, code, "As requested.");
}

static guint
handle_retry_after (Request *req)
{
  guint64 code = param_u64 (req, "code", SOUP_STATUS_SERVICE_UNAVAILABLE);
  g_autofree char *seconds = NULL;

  if (req->number > param_u64 (req, "times", 2))
    return handle_file (req);

  if (code < 200 || code > 599)
    return respond_html (req, SOUP_STATUS_BAD_REQUEST, "code must be within 200..599.");

  seconds = g_strdup_printf ("%" G_GUINT64_FORMAT, param_u64 (req, "seconds", 1));
  soup_message_headers_replace (soup_server_message_get_response_headers (req->msg),
                                "Retry-After", seconds);
  return respond_html (req, code, "Come back later.");
}

static guint
handle_disposition (Request *req)
{
  const char *cd = g_hash_table_lookup (req->params, "cd");
  guint status = handle_file (req);

  if (cd != NULL)
    {
      /* libsoup refuses header values with line breaks; everything else goes out raw. */
      g_autofree char *value = g_strdelimit (g_strdup (cd), "\r\n", ' ');

      soup_message_headers_append (soup_server_message_get_response_headers (req->msg),
                                   "Content-Disposition", value);
    }

  return status;
}

static guint
handle_chunked (Request *req)
{
  EntityOptions opt;

  entity_options_init (req, &opt);
  opt.etag[0] = '\0';
  opt.last_modified = NULL;
  opt.accept_ranges = FALSE;
  opt.honour_range = FALSE;
  opt.chunked = TRUE;
  return serve_entity (req, &opt);
}

static guint
handle_stops_at (Request *req)
{
  EntityOptions opt;

  entity_options_init (req, &opt);
  opt.stop_at = MAX (param_u64 (req, "at", req->size / 2), 1);
  return serve_entity (req, &opt);
}

static guint
handle_huge_header (Request *req)
{
  guint64 bytes = MIN (param_u64 (req, "bytes", 200000), 16 * 1024 * 1024);
  g_autofree char *padding = g_malloc (bytes + 1);
  guint status;

  memset (padding, 'a', bytes);
  padding[bytes] = '\0';
  status = handle_file (req);
  soup_message_headers_replace (soup_server_message_get_response_headers (req->msg),
                                "X-Padding", padding);
  return status;
}

#define CUT_CHUNK_SIZE (16 * 1024)

/* Writes a chunked response by hand on the connection taken from libsoup, which would always
 * end a chunked body properly. */
static guint
handle_chunk_cut (Request *req)
{
  gboolean ranges = param_u64 (req, "ranges", 1) != 0;
  gboolean inside = param_u64 (req, "inside", 0) != 0;
  guint64 at = MIN (param_u64 (req, "at", req->size / 2), req->size);
  g_autoptr(GIOStream) connection = NULL;
  g_autoptr(GString) response = g_string_new ("HTTP/1.1 200 OK\r\n");
  g_autofree guint8 *buffer = g_malloc (CUT_CHUNK_SIZE);
  GOutputStream *out;
  EntityOptions opt;

  entity_options_init (req, &opt);
  if (req->range != NULL && ranges)
    return serve_entity (req, &opt);
  if (req->range != NULL || req->number > param_u64 (req, "times", 1))
    return handle_chunked (req);

  g_string_append (response, "Content-Type: application/octet-stream\r\n"
                             "Transfer-Encoding: chunked\r\nConnection: close\r\n");
  if (ranges)
    g_string_append_printf (response, "Accept-Ranges: bytes\r\nETag: %s\r\n"
                            "Last-Modified: %s\r\n", opt.etag, opt.last_modified);
  else
    g_string_append (response, "Accept-Ranges: none\r\n");
  g_string_append (response, "\r\n");

  for (guint64 offset = 0; offset < at; offset += CUT_CHUNK_SIZE)
    {
      gsize n = MIN ((guint64) CUT_CHUNK_SIZE, at - offset);
      gboolean last = offset + n >= at;

      sl_test_entity_fill (req->seed, req->size, offset, buffer, n);
      if (last && inside)
        {
          /* Announce 1000 bytes more than will come. */
          g_string_append_printf (response, "%zx\r\n", n + 1000);
          g_string_append_len (response, (const char *) buffer, n);
        }
      else
        {
          g_string_append_printf (response, "%zx\r\n", n);
          g_string_append_len (response, (const char *) buffer, n);
          g_string_append (response, "\r\n");
        }
    }

  connection = soup_server_message_steal_connection (req->msg);
  out = g_io_stream_get_output_stream (connection);
  g_output_stream_write_all (out, response->str, response->len, NULL, NULL, NULL);
  g_io_stream_close (connection, NULL, NULL);
  return SOUP_STATUS_OK;
}

static guint
handle_html_on_resume (Request *req)
{
  EntityOptions opt;

  entity_options_init (req, &opt);
  if (req->range != NULL)
    {
      SoupMessageHeaders *headers = soup_server_message_get_response_headers (req->msg);

      soup_message_headers_replace (headers, "ETag", opt.etag);
      soup_message_headers_replace (headers, "Last-Modified", opt.last_modified);
      return respond_html (req, SOUP_STATUS_OK, "Something went wrong. Please try again later.");
    }

  if (req->number == 1)
    {
      opt.cut_action = CUT_CLOSE;
      opt.cut_after = param_u64 (req, "drop", req->size / 2);
    }

  return serve_entity (req, &opt);
}

static GBytes *
gzip_entity (guint32 seed,
             guint64 size)
{
  g_autoptr(GZlibCompressor) compressor = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, -1);
  g_autoptr(GOutputStream) memory = g_memory_output_stream_new_resizable ();
  g_autoptr(GOutputStream) out = g_converter_output_stream_new (memory, G_CONVERTER (compressor));
  g_autofree guint8 *buffer = g_malloc (MAX_CHUNK);
  g_autoptr(GError) error = NULL;

  for (guint64 offset = 0; offset < size; offset += MAX_CHUNK)
    {
      gsize n = MIN ((guint64) MAX_CHUNK, size - offset);

      sl_test_entity_fill (seed, size, offset, buffer, n);
      if (!g_output_stream_write_all (out, buffer, n, NULL, NULL, &error))
        break;
    }
  if (error == NULL)
    g_output_stream_close (out, NULL, &error);
  g_assert_no_error (error);

  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (memory));
}

static guint
handle_gzip (Request *req)
{
  g_autoptr(GBytes) data = NULL;
  EntityOptions opt;
  guint status;

  if (req->size > MAX_GZIP_SIZE)
    return respond_html (req, SOUP_STATUS_BAD_REQUEST, "size is limited to 64 MiB here.");

  data = gzip_entity (req->seed, req->size);
  entity_options_init (req, &opt);
  opt.data = data;
  g_snprintf (opt.etag, sizeof opt.etag, "\"gz%u-%" G_GUINT64_FORMAT "\"", req->seed, req->size);
  opt.honour_range = FALSE;

  status = serve_entity (req, &opt);
  soup_message_headers_replace (soup_server_message_get_response_headers (req->msg),
                                "Content-Encoding", "gzip");
  return status;
}

static const struct
{
  const char *path;
  guint     (*handle) (Request *req);
} routes[] = {
  { "/", handle_root },
  { "/file", handle_file },
  { "/drop", handle_drop },
  { "/ignore-range", handle_ignore_range },
  { "/etag-changes", handle_etag_changes },
  { "/long-length", handle_long_length },
  { "/wrong-range", handle_wrong_range },
  { "/stall", handle_stall },
  { "/redirect", handle_redirect },
  { "/loop", handle_loop },
  { "/status", handle_status },
  { "/retry-after", handle_retry_after },
  { "/disposition", handle_disposition },
  { "/chunked", handle_chunked },
  { "/html-on-resume", handle_html_on_resume },
  { "/gzip", handle_gzip },
  { "/stops-at", handle_stops_at },
  { "/huge-header", handle_huge_header },
  { "/chunk-cut", handle_chunk_cut },
  { "/segments", handle_segments },
};

static void
server_callback (SoupServer        *soup,
                 SoupServerMessage *msg,
                 const char        *path,
                 GHashTable        *query,
                 gpointer           user_data)
{
  SlTestServer *self = user_data;
  SoupMessageHeaders *request_headers = soup_server_message_get_request_headers (msg);
  const char *method = soup_server_message_get_method (msg);
  SlTestRequest *entry;
  Request req = { 0 };
  guint status = 0;

  req.server = self;
  req.msg = msg;
  req.params = parse_query (g_uri_get_query (soup_server_message_get_uri (msg)));
  req.range = soup_message_headers_get_one (request_headers, "Range");
  req.if_range = soup_message_headers_get_one (request_headers, "If-Range");
  req.head = method == SOUP_METHOD_HEAD;

  g_mutex_lock (&self->mutex);
  req.number = count_locked (self, path) + 1;
  g_mutex_unlock (&self->mutex);

  if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD)
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "Allow", "GET, HEAD");
      status = respond_html (&req, SOUP_STATUS_METHOD_NOT_ALLOWED, NULL);
    }
  else if (!params_valid (&req))
    {
      status = respond_html (&req, SOUP_STATUS_BAD_REQUEST, "Malformed number in the query.");
    }
  else
    {
      req.size = param_u64 (&req, "size", DEFAULT_SIZE);
      req.seed = param_u64 (&req, "seed", 1);

      for (gsize i = 0; i < G_N_ELEMENTS (routes) && status == 0; i++)
        {
          if (strcmp (path, routes[i].path) == 0)
            status = routes[i].handle (&req);
        }

      if (status == 0)
        status = respond_html (&req, SOUP_STATUS_NOT_FOUND, "No such path.");
    }

  entry = g_new0 (SlTestRequest, 1);
  entry->path = g_strdup (path);
  entry->range = g_strdup (req.range);
  entry->if_range = g_strdup (req.if_range);
  {
    g_autoptr (GStrvBuilder) headers = g_strv_builder_new ();
    SoupMessageHeadersIter iter;
    const char *name, *value;

    soup_message_headers_iter_init (&iter, request_headers);
    while (soup_message_headers_iter_next (&iter, &name, &value))
      {
        g_autofree char *line = g_strdup_printf ("%s: %s", name, value);

        g_strv_builder_add (headers, line);
      }
    entry->headers = g_strv_builder_end (headers);
  }
  entry->status = status;

  g_mutex_lock (&self->mutex);
  g_ptr_array_add (self->log, entry);
  g_mutex_unlock (&self->mutex);

  g_hash_table_unref (req.params);
}

/* Life cycle -------------------------------------------------------------------------------- */

static gpointer
server_thread (gpointer data)
{
  SlTestServer *self = data;
  g_autoptr(GError) error = NULL;
  SoupServer *soup;
  guint16 port = 0;

  g_main_context_push_thread_default (self->context);

  soup = g_object_new (SOUP_TYPE_SERVER, NULL);
  soup_server_add_handler (soup, NULL, server_callback, self, NULL);
  if (soup_server_listen_local (soup, self->port, SOUP_SERVER_LISTEN_IPV4_ONLY, &error))
    {
      GSList *uris = soup_server_get_uris (soup);

      g_assert (uris != NULL);
      port = g_uri_get_port (uris->data);
      g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
    }

  g_mutex_lock (&self->mutex);
  self->port = port;
  self->error = g_steal_pointer (&error);
  self->ready = TRUE;
  g_cond_signal (&self->cond);
  g_mutex_unlock (&self->mutex);

  if (port != 0)
    g_main_loop_run (self->loop);

  /* Stalled and throttled responses are still paused here; drop them, then the connections. */
  while (self->streams != NULL)
    stream_free (self->streams->data);
  soup_server_disconnect (soup);

  g_object_add_weak_pointer (G_OBJECT (soup), (gpointer *) &soup);
  g_object_unref (soup);
  for (guint i = 0; i < 1000 && g_main_context_iteration (self->context, FALSE); i++)
    ;
  g_assert_null (soup);

  g_main_context_pop_thread_default (self->context);
  return NULL;
}

/**
 * sl_test_server_new_on_port:
 * @port: a port on 127.0.0.1, or 0 for an ephemeral one
 *
 * Starts a server on 127.0.0.1:@port, in a thread of its own, for tests where a server that
 * refused connections comes back. Returns once it is listening; fails the test if it cannot.
 */
SlTestServer *
sl_test_server_new_on_port (guint16 port)
{
  SlTestServer *self = g_new0 (SlTestServer, 1);

  self->port = port;

  g_mutex_init (&self->mutex);
  g_cond_init (&self->cond);
  self->log = g_ptr_array_new_with_free_func ((GDestroyNotify) sl_test_request_free);
  self->context = g_main_context_new ();
  self->loop = g_main_loop_new (self->context, FALSE);
  self->thread = g_thread_new ("sl-test-server", server_thread, self);

  g_mutex_lock (&self->mutex);
  while (!self->ready)
    g_cond_wait (&self->cond, &self->mutex);
  g_mutex_unlock (&self->mutex);

  if (self->error != NULL)
    {
      g_thread_join (g_steal_pointer (&self->thread));
      g_assert_no_error (self->error);
    }

  return self;
}

/**
 * sl_test_server_new:
 *
 * Starts a server on 127.0.0.1 and an ephemeral port, in a thread of its own. Returns once it
 * is listening; fails the test if it cannot listen.
 */
SlTestServer *
sl_test_server_new (void)
{
  return sl_test_server_new_on_port (0);
}

static gboolean
quit_cb (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

/**
 * sl_test_server_quit_unref:
 * @self: (transfer full): a server
 *
 * Stops the server thread, closes every connection (including stalled ones) and frees @self.
 * Asserts that nothing else still holds the SoupServer.
 */
void
sl_test_server_quit_unref (SlTestServer *self)
{
  g_autoptr(GSource) idle = NULL;

  g_return_if_fail (self != NULL);

  /* Through the server's own context: a plain g_main_loop_quit() could come before
   * g_main_loop_run() and be lost. */
  idle = g_idle_source_new ();
  g_source_set_callback (idle, quit_cb, self->loop, NULL);
  g_source_attach (idle, self->context);
  g_thread_join (self->thread);

  g_main_loop_unref (self->loop);
  g_main_context_unref (self->context);
  g_ptr_array_unref (self->log);
  g_clear_error (&self->error);
  g_cond_clear (&self->cond);
  g_mutex_clear (&self->mutex);
  g_free (self);
}

guint16
sl_test_server_port (SlTestServer *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->port;
}

/**
 * sl_test_server_url:
 * @self: a server
 * @path_and_query: e.g. "/file?size=10"
 *
 * Returns: (transfer full): "http://127.0.0.1:PORT" followed by @path_and_query
 */
char *
sl_test_server_url (SlTestServer *self,
                    const char   *path_and_query)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (path_and_query != NULL, NULL);

  return g_strdup_printf ("http://127.0.0.1:%u%s%s", self->port,
                          path_and_query[0] == '/' ? "" : "/", path_and_query);
}

/**
 * sl_test_unused_port:
 *
 * Returns: a TCP port on 127.0.0.1 that nothing listened on a moment ago, for "connection
 * refused" tests
 */
guint16
sl_test_unused_port (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_bind (socket, address, FALSE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  g_socket_close (socket, NULL);

  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}
