/* sl-native-message.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The largest message either side may send, as DESIGN.md fixes it (Chromium's limit for what
 * a host sends; far above any download request). */
#define SL_NATIVE_MESSAGE_MAX_BYTES (1024 * 1024)

/* The length prefix before each message. */
#define SL_NATIVE_FRAME_HEADER_BYTES 4

/* The version of the messages, `"v"`. */
#define SL_NATIVE_MESSAGE_VERSION 1

/* How many addresses one download message may carry (the "all links" case). */
#define SL_NATIVE_MESSAGE_MAX_URLS 1000

/* How deep arrays and objects may nest: messages are two levels deep; the JSON parser
 * recurses once per level. */
#define SL_NATIVE_MESSAGE_MAX_DEPTH 16

#define SL_NATIVE_MESSAGE_ERROR (sl_native_message_error_quark ())

/**
 * SlNativeMessageError:
 * @SL_NATIVE_MESSAGE_ERROR_TRUNCATED: the stream ended inside a length prefix or a message
 * @SL_NATIVE_MESSAGE_ERROR_TOO_LONG: a length prefix over %SL_NATIVE_MESSAGE_MAX_BYTES; the
 *   stream cannot be followed after it
 * @SL_NATIVE_MESSAGE_ERROR_ENCODING: the message is not UTF-8 text
 * @SL_NATIVE_MESSAGE_ERROR_SYNTAX: the message is not a JSON object
 * @SL_NATIVE_MESSAGE_ERROR_INVALID: the JSON is not a valid request: version, type, a field
 *   missing, of the wrong type or with a value that is refused
 *
 * Error codes in the %SL_NATIVE_MESSAGE_ERROR domain.
 */
typedef enum
{
  SL_NATIVE_MESSAGE_ERROR_TRUNCATED,
  SL_NATIVE_MESSAGE_ERROR_TOO_LONG,
  SL_NATIVE_MESSAGE_ERROR_ENCODING,
  SL_NATIVE_MESSAGE_ERROR_SYNTAX,
  SL_NATIVE_MESSAGE_ERROR_INVALID,
} SlNativeMessageError;

GQuark sl_native_message_error_quark (void);

/* Frames: a 32-bit length in native byte order, then that many bytes. */

typedef struct _SlFrameReader SlFrameReader;

/**
 * SlFrameStatus:
 * @SL_FRAME_NEED_MORE: no whole frame yet; push more bytes
 * @SL_FRAME_READY: a frame was returned
 * @SL_FRAME_BROKEN: the stream is broken; no frame will come from it any more
 */
typedef enum
{
  SL_FRAME_NEED_MORE,
  SL_FRAME_READY,
  SL_FRAME_BROKEN,
} SlFrameStatus;

SlFrameReader *sl_frame_reader_new    (void);
void           sl_frame_reader_free   (SlFrameReader  *reader);
void           sl_frame_reader_push   (SlFrameReader  *reader,
                                       const guint8   *data,
                                       gsize           length);
SlFrameStatus  sl_frame_reader_next   (SlFrameReader  *reader,
                                       GBytes        **frame,
                                       GError        **error);
gboolean       sl_frame_reader_finish (SlFrameReader  *reader,
                                       GError        **error);

GBytes        *sl_frame_encode        (const char     *message);

/* Requests */

/**
 * SlNativeRequestType:
 * @SL_NATIVE_REQUEST_PING: `ping`: is the host there, and does the daemon answer
 * @SL_NATIVE_REQUEST_DOWNLOAD: `download`: add one address or several
 */
typedef enum
{
  SL_NATIVE_REQUEST_PING,
  SL_NATIVE_REQUEST_DOWNLOAD,
} SlNativeRequestType;

/**
 * SlNativeItem:
 * @url: an address that sl_uri_parse_download() accepts, as the request gave it
 * @cookies: (nullable): the `Cookie` header to send with it: the request's cookies, only for
 *   addresses of the same origin as the first one
 */
typedef struct
{
  char *url;
  char *cookies;
} SlNativeItem;

/**
 * SlNativeRequest:
 * @type: what is asked
 * @items: (element-type SlNativeItem): for a download, the addresses to add, in order and
 *   each once; at least one
 * @referrer: (nullable): the page the download came from, an http(s) address
 * @user_agent: (nullable): the browser's `User-Agent`
 * @filename: (nullable): the name to save as, a plain file name; only with one address
 * @mime: (nullable): the type the browser saw, for the log
 * @size: the size the browser announced, or -1
 *
 * A request that passed every check: all of it can be handed to the daemon as it is.
 */
typedef struct
{
  SlNativeRequestType  type;
  GPtrArray           *items;
  char                *referrer;
  char                *user_agent;
  char                *filename;
  char                *mime;
  gint64               size;
} SlNativeRequest;

SlNativeRequest *sl_native_request_parse   (const char             *message,
                                            gsize                   length,
                                            JsonNode              **id,
                                            GError                **error);
void             sl_native_request_free    (SlNativeRequest        *request);
GVariant        *sl_native_request_options (const SlNativeRequest  *request,
                                            guint                   index);

/* Replies, as JSON text without the length prefix */

char *sl_native_reply_ping  (JsonNode           *id,
                             const char         *version,
                             gboolean            daemon);
char *sl_native_reply_ids   (JsonNode           *id,
                             const guint64      *ids,
                             gsize               n_ids);
char *sl_native_reply_error (JsonNode           *id,
                             const char         *message,
                             const guint64      *ids,
                             gsize               n_ids);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SlFrameReader, sl_frame_reader_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SlNativeRequest, sl_native_request_free)

G_END_DECLS
