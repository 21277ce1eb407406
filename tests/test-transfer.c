/* test-transfer.c
 *
 * SlTransfer with a real SlFileWriter on a temporary file and real streams: a body written at
 * its offset, an overlap that matches or not, a cancel while bytes trickle in through a pipe,
 * a read that fails and a write that fails. Each run must return only once its writes have
 * landed: the file then holds exactly what "written" counted.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <glib-unix.h>
#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>
#include <glib/gstdio.h>

#include "sl-test-server.h"
#include "sl-test-utils.h"
#include "sl-download.h"
#include "sl-soup-workarounds.h"
#include "sl-transfer.h"

#define WAIT_MS (20 * 1000)

typedef struct
{
  GFile        *dir;
  SlFileWriter *writer;
  char         *partial;     /* the writer's partial file */
  gint64        offset;      /* where the run began */
  gint64        written;     /* what "written" counted */
  guint         matched;     /* overlap-matched emissions */
  gboolean      done;
  gboolean      sent;        /* what the send returned */
  SlTransferEnd end;
  GError       *error;
} Fixture;

static void
on_created (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  Fixture *f = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) tail = NULL;
  gint64 existing = -1;
  g_autofree char *name = sl_file_writer_create_finish (SL_FILE_WRITER (object), result,
                                                        &existing, &tail, &error);

  g_assert_no_error (error);
  f->partial = g_build_filename (g_file_peek_path (f->dir), "file.part", NULL);
  g_assert_cmpstr (name, ==, "file");
  g_assert_cmpint (existing, ==, 0);
  f->done = TRUE;
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->dir = sl_test_make_temp_dir ();
  f->writer = sl_file_writer_new ();
  sl_file_writer_create_async (f->writer, g_file_peek_path (f->dir), "file", SL_NAME_POLICY_EXACT,
                               on_created, f);
  sl_test_wait_until (NULL, sl_test_flag_is_set, &f->done, WAIT_MS);
  f->done = FALSE;
}

static void
on_closed (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  gboolean *closed = user_data;

  sl_file_writer_finish (SL_FILE_WRITER (object), result, NULL);
  *closed = TRUE;
}

static gboolean
writer_gone (gpointer data)
{
  return ((Fixture *) data)->writer == NULL;
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  gboolean closed = FALSE;

  sl_file_writer_close_async (f->writer, on_closed, &closed);
  sl_test_wait_until (NULL, sl_test_flag_is_set, &closed, WAIT_MS);
  /* The writer's thread may still hold the last job a moment after its callback ran. */
  g_object_add_weak_pointer (G_OBJECT (f->writer), (gpointer *) &f->writer);
  g_object_unref (f->writer);
  sl_test_wait_until (NULL, writer_gone, f, WAIT_MS);
  sl_test_rm_rf (f->dir);
  g_clear_object (&f->dir);
  g_free (f->partial);
  g_clear_error (&f->error);
}

static void
on_written (SlTransfer *transfer,
            gint64      offset,
            gint64      bytes,
            Fixture    *f)
{
  g_assert_cmpint (bytes, >, 0);
  /* In order, one after the other, from where the run began. */
  g_assert_cmpint (offset, ==, f->offset + f->written);
  f->written += bytes;
}

static void
on_matched (SlTransfer *transfer,
            Fixture    *f)
{
  f->matched++;
}

static void
on_run_done (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  Fixture *f = user_data;

  f->end = sl_transfer_run_finish (SL_TRANSFER (object), result, &f->error);
  f->done = TRUE;
}

static SlTransfer *
start (Fixture      *f,
       GInputStream *body,
       gint64        offset,
       GBytes       *overlap,
       GCancellable *cancellable)
{
  SlTransfer *transfer = sl_transfer_new (f->writer);

  sl_transfer_set_body (transfer, body);
  g_signal_connect (transfer, "written", G_CALLBACK (on_written), f);
  g_signal_connect (transfer, "overlap-matched", G_CALLBACK (on_matched), f);
  f->offset = offset;
  sl_transfer_run_async (transfer, offset, overlap, cancellable, on_run_done, f);
  return transfer;
}

static void
wait_done (Fixture *f)
{
  sl_test_wait_until (NULL, sl_test_flag_is_set, &f->done, WAIT_MS);
}

/* The partial file holds exactly @expected at @offset, and nothing after it. */
static void
assert_partial_holds (Fixture *f,
                      gint64   offset,
                      GBytes  *expected)
{
  g_autofree char *contents = NULL;
  gsize length = 0;

  g_assert_true (g_file_get_contents (f->partial, &contents, &length, NULL));
  g_assert_cmpuint (length, ==, offset + g_bytes_get_size (expected));
  {
    g_autoptr (GBytes) tail = g_bytes_new (contents + offset, length - offset);

    sl_assert_bytes_equal (tail, expected);
  }
}

static GInputStream *
memory_stream (GBytes *bytes)
{
  return g_memory_input_stream_new_from_bytes (bytes);
}

static void
test_body (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr (GBytes) entity = sl_test_entity (3, 3 * 1024 * 1024 + 17);
  g_autoptr (GInputStream) body = memory_stream (entity);
  g_autoptr (SlTransfer) transfer = start (f, body, 100, NULL, NULL);

  wait_done (f);
  g_assert_cmpint (f->end, ==, SL_TRANSFER_ENDED);
  g_assert_no_error (f->error);
  g_assert_cmpint (f->written, ==, g_bytes_get_size (entity));
  g_assert_cmpint (sl_transfer_get_handed (transfer), ==, 100 + g_bytes_get_size (entity));
  g_assert_cmpuint (f->matched, ==, 0);
  assert_partial_holds (f, 100, entity);
}

static void
test_overlap_matches (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr (GBytes) entity = sl_test_entity (4, 200000);
  /* The body begins 1000 bytes before the offset: those are the overlap. */
  g_autoptr (GBytes) overlap = g_bytes_new_from_bytes (entity, 49000, 1000);
  g_autoptr (GBytes) body_bytes = g_bytes_new_from_bytes (entity, 49000, 151000);
  g_autoptr (GBytes) rest = g_bytes_new_from_bytes (entity, 50000, 150000);
  g_autoptr (GInputStream) body = memory_stream (body_bytes);
  g_autoptr (SlTransfer) transfer = start (f, body, 50000, overlap, NULL);

  wait_done (f);
  g_assert_cmpint (f->end, ==, SL_TRANSFER_ENDED);
  g_assert_cmpuint (f->matched, ==, 1);
  g_assert_cmpint (f->written, ==, 150000);
  assert_partial_holds (f, 50000, rest);
}

static void
test_overlap_differs (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr (GBytes) entity = sl_test_entity (5, 100000);
  g_autoptr (GBytes) other = sl_test_entity (6, 1000);
  g_autoptr (GInputStream) body = memory_stream (entity);
  g_autoptr (SlTransfer) transfer = start (f, body, 1000, other, NULL);

  wait_done (f);
  g_assert_cmpint (f->end, ==, SL_TRANSFER_OVERLAP_DIFFERS);
  g_assert_no_error (f->error);
  g_assert_cmpuint (f->matched, ==, 0);
  g_assert_cmpint (f->written, ==, 0);
}

/* A body that ends inside the overlap does not match it either. */
static void
test_overlap_cut (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr (GBytes) entity = sl_test_entity (7, 1000);
  g_autoptr (GBytes) start_of = g_bytes_new_from_bytes (entity, 0, 400);
  g_autoptr (GInputStream) body = memory_stream (start_of);
  g_autoptr (SlTransfer) transfer = start (f, body, 1000, entity, NULL);

  wait_done (f);
  g_assert_cmpint (f->end, ==, SL_TRANSFER_OVERLAP_DIFFERS);
  g_assert_cmpint (f->written, ==, 0);
}

typedef struct
{
  GOutputStream *out;
  GBytes        *entity;
  GCancellable  *cancellable;   /* the transfer's: once it is cancelled, nobody reads */
  gsize          sent;
  guint          source;
} Trickle;

static gboolean
trickle_cb (gpointer data)
{
  Trickle *trickle = data;
  gsize size = g_bytes_get_size (trickle->entity);
  gsize n = MIN (4096, size - trickle->sent);
  gssize wrote;

  /* Once nobody reads, stop; a full pipe only skips a turn, it never blocks the test. */
  if (g_cancellable_is_cancelled (trickle->cancellable))
    {
      trickle->source = 0;
      return G_SOURCE_REMOVE;
    }
  wrote = g_pollable_output_stream_write_nonblocking (
    G_POLLABLE_OUTPUT_STREAM (trickle->out),
    (const guint8 *) g_bytes_get_data (trickle->entity, NULL) + trickle->sent, n, NULL, NULL);
  if (wrote > 0)
    trickle->sent += wrote;
  if (trickle->sent == size)
    {
      trickle->source = 0;
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

/* Bytes come through a pipe, a little at a time, as from a server. */
static GInputStream *
pipe_stream (Trickle      *trickle,
             GBytes       *entity,
             GCancellable *cancellable)
{
  int fds[2];

  g_assert_cmpint (pipe (fds), ==, 0);
  g_assert_true (g_unix_set_fd_nonblocking (fds[1], TRUE, NULL));
  trickle->out = g_unix_output_stream_new (fds[1], TRUE);
  trickle->entity = g_bytes_ref (entity);
  trickle->cancellable = cancellable;
  trickle->source = g_timeout_add (5, trickle_cb, trickle);
  return g_unix_input_stream_new (fds[0], TRUE);
}

static void
trickle_clear (Trickle *trickle)
{
  g_clear_handle_id (&trickle->source, g_source_remove);
  g_clear_object (&trickle->out);
  g_clear_pointer (&trickle->entity, g_bytes_unref);
}

static gboolean
has_written (gpointer data)
{
  return ((Fixture *) data)->written > 0;
}

static gboolean
some_written (gpointer data)
{
  return ((Fixture *) data)->written >= 20000;
}

/* Cancelled part way: it returns once the bytes it handed over have landed, and those are
 * exactly what it counted. */
static void
test_cancel (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr (GBytes) entity = sl_test_entity (8, 4 * 1024 * 1024);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  Trickle trickle = { 0 };
  g_autoptr (GInputStream) body = pipe_stream (&trickle, entity, cancellable);
  g_autoptr (SlTransfer) transfer = start (f, body, 0, NULL, cancellable);
  g_autoptr (GBytes) landed = NULL;

  sl_test_wait_until (NULL, some_written, f, WAIT_MS);
  g_cancellable_cancel (cancellable);
  wait_done (f);
  trickle_clear (&trickle);

  g_assert_cmpint (f->end, ==, SL_TRANSFER_CANCELLED);
  g_assert_no_error (f->error);
  g_assert_cmpint (f->written, <, g_bytes_get_size (entity));
  g_assert_cmpint (f->written, <=, sl_transfer_get_handed (transfer));
  landed = g_bytes_new_from_bytes (entity, 0, f->written);
  assert_partial_holds (f, 0, landed);
}

/* Reading fails (here: a body that does not decompress, as a broken connection would fail
 * it): the run says why, and nothing was written. */
static void
test_read_fails (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr (GBytes) garbage = sl_test_entity (9, 30000);
  g_autoptr (GInputStream) memory = memory_stream (garbage);
  g_autoptr (GZlibDecompressor) gunzip = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
  g_autoptr (GInputStream) body = g_converter_input_stream_new (memory, G_CONVERTER (gunzip));
  g_autoptr (SlTransfer) transfer = start (f, body, 0, NULL, NULL);

  wait_done (f);
  g_assert_cmpint (f->end, ==, SL_TRANSFER_READ_FAILED);
  g_assert_nonnull (f->error);
  g_assert_cmpint (f->written, ==, 0);
}

/* Past the file-size limit, writes fail as on a full disk: the run says so, after the other
 * writes landed, and what it counted is on disk. */
static void
test_write_fails (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr (GBytes) entity = sl_test_entity (10, 3 * 1024 * 1024);
  g_autoptr (GInputStream) body = memory_stream (entity);
  g_autoptr (SlTransfer) transfer = NULL;
  g_autoptr (GBytes) landed = NULL;
  struct rlimit saved, limited;

  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &saved), ==, 0);
  limited = saved;
  limited.rlim_cur = 1024 * 1024 + 5;
  signal (SIGXFSZ, SIG_IGN);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limited), ==, 0);
  transfer = start (f, body, 0, NULL, NULL);
  wait_done (f);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &saved), ==, 0);

  g_assert_cmpint (f->end, ==, SL_TRANSFER_WRITE_FAILED);
  g_assert_nonnull (f->error);
  g_assert_cmpint (f->written, ==, 1024 * 1024 + 5);
  landed = g_bytes_new_from_bytes (entity, 0, f->written);
  assert_partial_holds (f, 0, landed);
}

/* A range that ends before the body: exactly its bytes are written, the rest is not read. */
static void
test_end_before_run (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr (GBytes) entity = sl_test_entity (11, 1024 * 1024 + 17);
  g_autoptr (GBytes) range = g_bytes_new_from_bytes (entity, 0, 300000);
  g_autoptr (GInputStream) body = memory_stream (entity);
  g_autoptr (SlTransfer) transfer = sl_transfer_new (f->writer);

  sl_transfer_set_body (transfer, body);
  g_assert_true (sl_transfer_set_end (transfer, 300000));
  g_signal_connect (transfer, "written", G_CALLBACK (on_written), f);
  sl_transfer_run_async (transfer, 0, NULL, NULL, on_run_done, f);
  wait_done (f);

  g_assert_cmpint (f->end, ==, SL_TRANSFER_RANGE_DONE);
  g_assert_no_error (f->error);
  g_assert_cmpint (f->written, ==, 300000);
  g_assert_cmpint (sl_transfer_get_handed (transfer), ==, 300000);
  assert_partial_holds (f, 0, range);
  /* Over: its end no longer moves. */
  g_assert_false (sl_transfer_set_end (transfer, 200000));
}

/* The end moves earlier while bytes come in, as when another transfer takes the rest. */
static void
test_end_moved (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr (GBytes) entity = sl_test_entity (12, 4 * 1024 * 1024);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  Trickle trickle = { 0 };
  g_autoptr (GInputStream) body = pipe_stream (&trickle, entity, cancellable);
  g_autoptr (SlTransfer) transfer = start (f, body, 0, NULL, cancellable);
  g_autoptr (GBytes) range = NULL;
  gint64 end;

  sl_test_wait_until (NULL, some_written, f, WAIT_MS);
  /* Not before what it has handed over already. */
  g_assert_false (sl_transfer_set_end (transfer, sl_transfer_get_handed (transfer) - 1));
  end = sl_transfer_get_handed (transfer) + 300000;
  g_assert_true (sl_transfer_set_end (transfer, end));
  wait_done (f);
  /* Nobody reads the pipe any more. */
  g_cancellable_cancel (cancellable);
  trickle_clear (&trickle);

  g_assert_cmpint (f->end, ==, SL_TRANSFER_RANGE_DONE);
  g_assert_cmpint (f->written, ==, end);
  range = g_bytes_new_from_bytes (entity, 0, end);
  assert_partial_holds (f, 0, range);
}

/* A body that stops coming while the transfer waits for it: after the stall timeout, the run
 * ends with a network error, and what came before it is on disk. */
static void
test_stalled (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr (GBytes) entity = sl_test_entity (13, 40000);
  g_autoptr (GBytes) sent = g_bytes_new_from_bytes (entity, 0, 10000);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  Trickle trickle = { 0 };
  g_autoptr (GInputStream) body = pipe_stream (&trickle, sent, cancellable);
  g_autoptr (SlTransfer) transfer = sl_transfer_new (f->writer);
  gint64 started = g_get_monotonic_time ();

  sl_transfer_set_body (transfer, body);
  sl_transfer_set_stall_timeout (transfer, 1);
  g_signal_connect (transfer, "written", G_CALLBACK (on_written), f);
  sl_transfer_run_async (transfer, 0, NULL, cancellable, on_run_done, f);
  wait_done (f);
  trickle_clear (&trickle);

  g_assert_cmpint (f->end, ==, SL_TRANSFER_STALLED);
  g_assert_error (f->error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_NETWORK);
  g_assert_nonnull (strstr (f->error->message, "1 second"));
  g_assert_cmpint (g_get_monotonic_time () - started, >=, G_USEC_PER_SEC);
  g_assert_cmpint (f->written, ==, 10000);
  assert_partial_holds (f, 0, sent);
}

static void
on_send_done (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  Fixture *f = user_data;

  f->sent = sl_transfer_send_finish (SL_TRANSFER (object), result, &f->error);
  f->done = TRUE;
}

static gboolean
on_incoming (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source,
             GPtrArray         *held)
{
  g_ptr_array_add (held, g_object_ref (connection));
  return TRUE;
}

/* A server that takes the connection and never answers: the send fails once the stall
 * timeout has passed. */
static void
test_send_stalled (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr (GPtrArray) held = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GSocketService) service = g_socket_service_new ();
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (SoupSession) session = soup_session_new ();
  g_autoptr (SoupMessage) message = NULL;
  g_autoptr (SlTransfer) transfer = sl_transfer_new (f->writer);
  g_autoptr (GError) error = NULL;
  g_autofree char *url = NULL;
  gint64 started;

  g_socket_listener_add_address (G_SOCKET_LISTENER (service), address, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error);
  g_assert_no_error (error);
  url = g_strdup_printf ("http://127.0.0.1:%u/",
                         g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  message = soup_message_new ("GET", url);

  /* The connection is held open; nobody reads the request or answers it. */
  g_signal_connect (service, "incoming", G_CALLBACK (on_incoming), held);
  sl_transfer_set_stall_timeout (transfer, 1);
  started = g_get_monotonic_time ();
  sl_transfer_send_async (transfer, session, message, NULL, on_send_done, f);
  wait_done (f);

  g_assert_false (f->sent);
  g_assert_error (f->error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_NETWORK);
  g_assert_cmpint (g_get_monotonic_time () - started, >=, G_USEC_PER_SEC);
  g_assert_cmpuint (held->len, ==, 1);
  g_socket_service_stop (service);
}

/* Sent and run against a real server: the body lands whole, and a body read to its end is
 * closed. */
static void
test_send_and_run (Fixture       *f,
                   gconstpointer  data)
{
  SlTestServer *server = sl_test_server_new ();
  g_autofree char *url = sl_test_server_url (server, "/file?size=3000000&seed=14");
  SoupSession *session = soup_session_new ();
  g_autoptr (SoupMessage) message = soup_message_new ("GET", url);
  SlTransfer *transfer = sl_transfer_new (f->writer);
  g_autoptr (GBytes) entity = sl_test_entity (14, 3000000);

  sl_transfer_set_stall_timeout (transfer, 30);
  sl_transfer_send_async (transfer, session, message, NULL, on_send_done, f);
  wait_done (f);
  g_assert_no_error (f->error);
  g_assert_true (f->sent);
  g_assert_true (sl_transfer_get_message (transfer) == message);
  sl_assert_status (soup_message_get_status (message), 200);

  f->done = FALSE;
  g_signal_connect (transfer, "written", G_CALLBACK (on_written), f);
  sl_transfer_run_async (transfer, 0, NULL, NULL, on_run_done, f);
  wait_done (f);
  g_assert_cmpint (f->end, ==, SL_TRANSFER_ENDED);
  g_assert_no_error (f->error);
  g_assert_cmpint (f->written, ==, 3000000);
  assert_partial_holds (f, 0, entity);

  g_object_unref (transfer);
  g_object_unref (session);
  sl_test_server_quit_unref (server);
}

/* Sends @message over @session and runs it to its end at @end; returns how it ended. */
static SlTransferEnd
send_and_run_to (Fixture     *f,
                 SoupSession *session,
                 SoupMessage *message,
                 gint64       end)
{
  g_autoptr (SlTransfer) transfer = sl_transfer_new (f->writer);

  f->done = FALSE;
  sl_transfer_set_stall_timeout (transfer, 30);
  sl_transfer_send_async (transfer, session, message, NULL, on_send_done, f);
  wait_done (f);
  g_assert_no_error (f->error);
  sl_transfer_set_end (transfer, end);
  f->done = FALSE;
  sl_transfer_run_async (transfer, 0, NULL, NULL, on_run_done, f);
  wait_done (f);
  g_assert_no_error (f->error);
  return f->end;
}

/* A range that ends where its body ends reads the body to its end, so that its connection
 * serves the next request; one cut inside its body drops it. */
static void
test_end_keeps_connection (Fixture       *f,
                           gconstpointer  data)
{
  SlTestServer *server = sl_test_server_new ();
  g_autofree char *url = sl_test_server_url (server, "/file?size=300000&seed=16");
  SoupSession *session = soup_session_new ();
  g_autoptr (SoupMessage) first = soup_message_new ("GET", url);
  g_autoptr (SoupMessage) second = soup_message_new ("GET", url);
  g_autoptr (SoupMessage) third = soup_message_new ("GET", url);
  g_autoptr (GBytes) entity = sl_test_entity (16, 300000);

  g_assert_cmpint (send_and_run_to (f, session, first, 300000), ==, SL_TRANSFER_ENDED);
  assert_partial_holds (f, 0, entity);
  g_assert_cmpint (send_and_run_to (f, session, second, 100000), ==, SL_TRANSFER_RANGE_DONE);
  g_assert_cmpint (send_and_run_to (f, session, third, 300000), ==, SL_TRANSFER_ENDED);

  g_assert_cmpuint (soup_message_get_connection_id (first), !=, 0);
  g_assert_cmpuint (soup_message_get_connection_id (second), ==,
                    soup_message_get_connection_id (first));
  g_assert_cmpuint (soup_message_get_connection_id (third), !=,
                    soup_message_get_connection_id (second));

  g_object_unref (session);
  sl_test_server_quit_unref (server);
}

/* Under a limit, the body takes at least as long as the limit allows (less the one burst a
 * new bucket starts with), and lands whole. */
static void
test_limited (Fixture       *f,
              gconstpointer  data)
{
  gsize size = 1024 * 1024;
  guint64 rate = 4 * 1000 * 1000;
  g_autoptr (GBytes) entity = sl_test_entity (15, size);
  g_autoptr (GInputStream) body = memory_stream (entity);
  g_autoptr (SlRateLimiter) limiter = sl_rate_limiter_new (NULL);
  g_autoptr (SlTransfer) transfer = sl_transfer_new (f->writer);
  gint64 started = g_get_monotonic_time ();
  double least_s = (size - rate / 20.0) / rate;

  sl_rate_limiter_set_rate (limiter, rate);
  sl_transfer_set_body (transfer, body);
  sl_transfer_set_limiter (transfer, limiter);
  g_signal_connect (transfer, "written", G_CALLBACK (on_written), f);
  sl_transfer_run_async (transfer, 0, NULL, NULL, on_run_done, f);
  wait_done (f);

  g_assert_cmpint (f->end, ==, SL_TRANSFER_ENDED);
  g_assert_cmpfloat ((g_get_monotonic_time () - started) / (double) G_USEC_PER_SEC, >=, least_s);
  assert_partial_holds (f, 0, entity);
}

/* Cancelled while it waits for tokens, with no read pending: it ends at once. */
static void
test_limited_cancel (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr (GBytes) entity = sl_test_entity (16, 1024 * 1024);
  g_autoptr (GInputStream) body = memory_stream (entity);
  g_autoptr (SlRateLimiter) limiter = sl_rate_limiter_new (NULL);
  g_autoptr (SlTransfer) transfer = sl_transfer_new (f->writer);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();

  /* 1 KB/s: after the first 50 bytes, the next read is 50 ms away, and so on. */
  sl_rate_limiter_set_rate (limiter, 1000);
  sl_transfer_set_body (transfer, body);
  sl_transfer_set_limiter (transfer, limiter);
  g_signal_connect (transfer, "written", G_CALLBACK (on_written), f);
  sl_transfer_run_async (transfer, 0, NULL, cancellable, on_run_done, f);
  sl_test_wait_until (NULL, has_written, f, WAIT_MS);
  g_cancellable_cancel (cancellable);
  wait_done (f);

  g_assert_cmpint (f->end, ==, SL_TRANSFER_CANCELLED);
  g_assert_cmpint (f->written, >, 0);
  g_assert_cmpint (f->written, <, 1024 * 1024);
}

/* libsoup before 3.6.3 buffers an HTTP/2 body without bound behind a slow reader: programs
 * running with it speak HTTP/1.1. */
static void
test_http1_before_3_6_3 (void)
{
  gboolean old = soup_check_version (3, 6, 3) == FALSE;

  g_unsetenv ("SOUP_FORCE_HTTP1");
  g_assert_cmpint (sl_soup_workarounds_init (), ==, old);
  g_assert_cmpint (g_getenv ("SOUP_FORCE_HTTP1") != NULL, ==, old);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func) \
  g_test_add ("/transfer/" name, Fixture, NULL, fixture_setup, func, fixture_teardown)

  g_test_add_func ("/transfer/http1-before-3.6.3", test_http1_before_3_6_3);
  ADD ("body", test_body);
  ADD ("overlap-matches", test_overlap_matches);
  ADD ("overlap-differs", test_overlap_differs);
  ADD ("overlap-cut", test_overlap_cut);
  ADD ("cancel", test_cancel);
  ADD ("read-fails", test_read_fails);
  ADD ("write-fails", test_write_fails);
  ADD ("end-before-run", test_end_before_run);
  ADD ("end-moved", test_end_moved);
  ADD ("stalled", test_stalled);
  ADD ("send-stalled", test_send_stalled);
  ADD ("send-and-run", test_send_and_run);
  ADD ("end-keeps-connection", test_end_keeps_connection);
  ADD ("limited", test_limited);
  ADD ("limited-cancel", test_limited_cancel);

  return g_test_run ();
}
