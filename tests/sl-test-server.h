/* sl-test-server.h
 *
 * A real HTTP/1.1 server on 127.0.0.1 for tests, built on SoupServer and running in its own
 * thread and GMainContext, so tests may block their own thread (g_spawn_sync, a nested main
 * loop) while it serves.
 *
 * Every path serves a deterministic entity, sl_test_entity (seed, size), with behaviours chosen
 * by path and query parameters; see sl-test-server.c for the table.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef struct _SlTestServer SlTestServer;

/* What the server saw of one request, for assertions. */
typedef struct
{
  char   *path;
  char   *range;     /* the Range header, or NULL */
  char   *if_range;  /* the If-Range header, or NULL */
  char  **headers;   /* every request header as "Name: value", in order */
  guint   status;    /* the status it answered */
} SlTestRequest;

SlTestServer *sl_test_server_new            (void);
SlTestServer *sl_test_server_new_on_port    (guint16       port);
void          sl_test_server_quit_unref     (SlTestServer *server);
char         *sl_test_server_url            (SlTestServer *server,
                                             const char   *path_and_query);
guint16       sl_test_server_port           (SlTestServer *server);
guint         sl_test_server_request_count  (SlTestServer *server,
                                             const char   *path);
GPtrArray    *sl_test_server_requests       (SlTestServer *server,
                                             const char   *path);
void          sl_test_server_reset_counts   (SlTestServer *server);
guint         sl_test_server_max_concurrent (SlTestServer *server);
guint64       sl_test_server_bytes_sent     (SlTestServer *server);

GBytes       *sl_test_entity                (guint32       seed,
                                             gsize         size);
char         *sl_test_entity_sha256         (guint32       seed,
                                             gsize         size);
/* Bytes [offset, offset + length) of sl_test_entity (seed, size), computed without the rest. */
GBytes       *sl_test_entity_slice          (guint32       seed,
                                             gsize         size,
                                             guint64       offset,
                                             gsize         length);
void          sl_test_entity_fill           (guint32       seed,
                                             gsize         size,
                                             guint64       offset,
                                             guint8       *buffer,
                                             gsize         length);

void          sl_test_request_free          (SlTestRequest *request);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SlTestRequest, sl_test_request_free)

guint16       sl_test_unused_port           (void);

G_END_DECLS
