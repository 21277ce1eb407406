/* test-browser-host.c
 *
 * The browser hand-off. First the pure parts, by tables: frames, requests, replies and host
 * manifests. Then sluice-browser-host as a browser runs it: a subprocess fed real frames on
 * stdin, answering on stdout, against a real sluiced that the private bus (GTestDBus) starts
 * by D-Bus activation, downloading from the loopback test server, which logs the headers it
 * was sent. Refused input must never reach the daemon: the tests check that the bus never
 * started it and that the server saw no request.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "sl-browser-manifest.h"
#include "sl-native-message.h"
#include "sl-test-server.h"
#include "sl-test-utils.h"

#define BUS_NAME       "org.sluice.Downloads"
#define MANAGER_PATH   "/org/sluice/Downloads"
#define DOWNLOAD_IFACE "org.sluice.Downloads.Download1"

#define HOST_MS        (30 * 1000)
#define TRANSFER_MS    (30 * 1000)
#define STOP_MS        (20 * 1000)

/* The address the unit tables put where a test server's address goes. */
#define TABLE_URL      "http://127.0.0.1:9/file"

/* Helpers for frames and replies */

static GBytes *
frame_of (const char *message)
{
  g_autoptr (GBytes) frame = sl_frame_encode (message);

  g_assert_nonnull (frame);
  return g_steal_pointer (&frame);
}

/* A frame with any length prefix and any bytes after it. */
static void
append_raw_frame (GByteArray   *stream,
                  guint32       length,
                  const guint8 *data,
                  gsize         size)
{
  g_byte_array_append (stream, (const guint8 *) &length, sizeof length);
  if (size > 0)
    g_byte_array_append (stream, data, size);
}

static void
append_frame (GByteArray *stream,
              const char *message)
{
  append_raw_frame (stream, strlen (message), (const guint8 *) message, strlen (message));
}

/* Cuts what the host wrote into replies, independently of the code under test, and fails
 * unless it is whole frames of JSON objects and nothing else. */
static GPtrArray *
decode_replies (GBytes *out)
{
  GPtrArray *replies = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  gsize size;
  const guint8 *data = g_bytes_get_data (out, &size);
  gsize offset = 0;

  while (offset < size)
    {
      g_autoptr (JsonParser) parser = json_parser_new ();
      g_autoptr (GError) error = NULL;
      guint32 length;

      g_assert_cmpuint (size - offset, >=, 4);
      memcpy (&length, data + offset, 4);
      offset += 4;
      g_assert_cmpuint (length, <=, SL_NATIVE_MESSAGE_MAX_BYTES);
      g_assert_cmpuint (size - offset, >=, length);
      g_assert_true (g_utf8_validate_len ((const char *) data + offset, length, NULL));
      json_parser_load_from_data (parser, (const char *) data + offset, length, &error);
      g_assert_no_error (error);
      g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
      g_ptr_array_add (replies, json_node_copy (json_parser_get_root (parser)));
      offset += length;
    }

  return replies;
}

static JsonObject *
reply_object (GPtrArray *replies,
              guint      index)
{
  g_assert_cmpuint (index, <, replies->len);
  return json_node_get_object (g_ptr_array_index (replies, index));
}

static JsonObject *
parse_reply_text (const char *text,
                  JsonNode  **root)
{
  g_autoptr (GError) error = NULL;

  *root = json_from_string (text, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (*root));
  return json_node_get_object (*root);
}

static gboolean
reply_ok (JsonObject *reply)
{
  g_assert_cmpint (json_object_get_int_member (reply, "v"), ==, 1);
  g_assert_true (json_object_has_member (reply, "ok"));
  return json_object_get_boolean_member (reply, "ok");
}

/* Asserts @reply refuses, with a one-line reason, and returns the reason. */
static const char *
reply_error (JsonObject *reply)
{
  const char *message;

  g_assert_false (reply_ok (reply));
  g_assert_true (json_object_has_member (reply, "error"));
  message = json_object_get_string_member (reply, "error");
  g_assert_nonnull (message);
  g_assert_cmpstr (message, !=, "");
  g_assert_null (strchr (message, '\n'));
  g_assert_null (strchr (message, '\r'));
  return message;
}

/* Frames */

typedef struct
{
  const char   *name;
  const guint8 *bytes;
  gsize         size;
  guint         frames;          /* how many whole frames come out */
  gboolean      broken;          /* the reader breaks (too long) */
  gboolean      clean_end;       /* the stream ends between frames */
} FrameCase;

static void
test_frame_table (void)
{
  /* Little-endian prefixes: the tests run where native order is that. */
  static const guint8 empty[] = { 0 };
  static const guint8 zero_frame[] = { 0, 0, 0, 0 };
  static const guint8 two_frames[] = { 2, 0, 0, 0, '{', '}', 1, 0, 0, 0, 'x' };
  static const guint8 short_prefix[] = { 2, 0 };
  static const guint8 short_body[] = { 10, 0, 0, 0, '{', '}' };
  static const guint8 too_long[] = { 1, 0, 16, 0, '{', '}' };
  static const guint8 huge[] = { 0xff, 0xff, 0xff, 0xff };
  static const guint8 frame_then_huge[] = { 2, 0, 0, 0, '{', '}', 0xff, 0xff, 0xff, 0x7f };
  static const FrameCase cases[] = {
    { "nothing", empty, 0, 0, FALSE, TRUE },
    { "zero length", zero_frame, sizeof zero_frame, 1, FALSE, TRUE },
    { "two frames", two_frames, sizeof two_frames, 2, FALSE, TRUE },
    { "short prefix", short_prefix, sizeof short_prefix, 0, FALSE, FALSE },
    { "short body", short_body, sizeof short_body, 0, FALSE, FALSE },
    { "1 MiB + 1", too_long, sizeof too_long, 0, TRUE, FALSE },
    { "4 GiB", huge, sizeof huge, 0, TRUE, FALSE },
    { "frame, then too long", frame_then_huge, sizeof frame_then_huge, 1, TRUE, FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const FrameCase *c = &cases[i];

      /* All at once, and byte by byte: the cut must not matter. */
      for (int split = 0; split < 2; split++)
        {
          g_autoptr (SlFrameReader) reader = sl_frame_reader_new ();
          g_autoptr (GError) error = NULL;
          g_autoptr (GError) end_error = NULL;
          gboolean broken = FALSE;
          guint frames = 0;
          gsize step = split ? 1 : MAX (c->size, 1);

          g_test_message ("frames: %s, %s", c->name, split ? "byte by byte" : "at once");
          for (gsize offset = 0; offset < c->size && !broken; offset += step)
            {
              SlFrameStatus status;

              sl_frame_reader_push (reader, c->bytes + offset, MIN (step, c->size - offset));
              for (;;)
                {
                  g_autoptr (GBytes) frame = NULL;

                  status = sl_frame_reader_next (reader, &frame, &error);
                  if (status != SL_FRAME_READY)
                    break;
                  frames++;
                }
              if (status == SL_FRAME_BROKEN)
                {
                  g_assert_error (error, SL_NATIVE_MESSAGE_ERROR,
                                  SL_NATIVE_MESSAGE_ERROR_TOO_LONG);
                  broken = TRUE;
                }
              else
                g_assert_no_error (error);
            }

          g_assert_cmpuint (frames, ==, c->frames);
          g_assert_cmpint (broken, ==, c->broken);
          g_assert_cmpint (sl_frame_reader_finish (reader, &end_error), ==, c->clean_end);
          if (c->clean_end)
            g_assert_no_error (end_error);
          else
            g_assert_nonnull (end_error);
        }
    }
}

static void
test_frame_content (void)
{
  g_autoptr (SlFrameReader) reader = sl_frame_reader_new ();
  g_autoptr (GByteArray) stream = g_byte_array_new ();
  g_autoptr (GBytes) encoded = sl_frame_encode ("{\"v\":1}");
  g_autofree char *max = g_malloc (SL_NATIVE_MESSAGE_MAX_BYTES);
  const char *messages[] = { "{\"v\":1}", "", "{\"a\":\"ü\"}" };
  gsize size;
  const guint8 *data = g_bytes_get_data (encoded, &size);
  guint32 prefix;

  /* Encoding: native-endian length, then the bytes. */
  g_assert_cmpuint (size, ==, 4 + 7);
  memcpy (&prefix, data, 4);
  g_assert_cmpuint (prefix, ==, 7);
  g_assert_cmpmem (data + 4, 7, "{\"v\":1}", 7);

  for (gsize i = 0; i < G_N_ELEMENTS (messages); i++)
    append_frame (stream, messages[i]);
  /* The largest frame that may come is taken whole. */
  memset (max, ' ', SL_NATIVE_MESSAGE_MAX_BYTES);
  append_raw_frame (stream, SL_NATIVE_MESSAGE_MAX_BYTES, (const guint8 *) max,
                    SL_NATIVE_MESSAGE_MAX_BYTES);

  sl_frame_reader_push (reader, stream->data, stream->len);
  for (gsize i = 0; i < G_N_ELEMENTS (messages); i++)
    {
      g_autoptr (GBytes) frame = NULL;

      g_assert_cmpint (sl_frame_reader_next (reader, &frame, NULL), ==, SL_FRAME_READY);
      g_assert_cmpmem (g_bytes_get_data (frame, NULL), g_bytes_get_size (frame),
                       messages[i], strlen (messages[i]));
    }
  {
    g_autoptr (GBytes) frame = NULL;

    g_assert_cmpint (sl_frame_reader_next (reader, &frame, NULL), ==, SL_FRAME_READY);
    g_assert_cmpuint (g_bytes_get_size (frame), ==, SL_NATIVE_MESSAGE_MAX_BYTES);
  }
  g_assert_cmpint (sl_frame_reader_next (reader, NULL, NULL), ==, SL_FRAME_NEED_MORE);
  g_assert_true (sl_frame_reader_finish (reader, NULL));
}

/* Requests */

typedef struct
{
  const char *json;      /* @URL@ stands for an address that would be downloaded */
  int         code;      /* the SlNativeMessageError */
  const char *reason;    /* part of the reason, or NULL */
  const char *id;        /* the id echoed, as JSON, or NULL */
} RefusedCase;

/* Every input the host must refuse without calling the daemon. Shared by the unit test of
 * the parser and by the test of the running host. */
static const RefusedCase refused_cases[] = {
  { "", SL_NATIVE_MESSAGE_ERROR_SYNTAX, "empty", NULL },
  { "{\"v\":1,\"type\":\"ping\"", SL_NATIVE_MESSAGE_ERROR_SYNTAX, "JSON", NULL },
  /* The parser's reason quotes the input and cuts it inside a character. */
  { "{\"v\":1,\"type\":\"download\",\"url\005\005\005\005\005\005\005\005\005\005\005\005"
    "\005\005\005\005\005\005\005\005\005\005\005\005\005ple.com/\\u200e9\\ud83d\\ude00\","
    "\"id\":1}", SL_NATIVE_MESSAGE_ERROR_SYNTAX, "JSON", NULL },
  { "[1,2]", SL_NATIVE_MESSAGE_ERROR_SYNTAX, "object", NULL },
  { "42", SL_NATIVE_MESSAGE_ERROR_SYNTAX, "object", NULL },
  { "null", SL_NATIVE_MESSAGE_ERROR_SYNTAX, "object", NULL },
  { "\"ping\"", SL_NATIVE_MESSAGE_ERROR_SYNTAX, "object", NULL },
  { "\"a\"{\"v\":1,\"type\":\"ping\"}", SL_NATIVE_MESSAGE_ERROR_SYNTAX, "object", NULL },
  /* One object, and nothing after it: the parser would leak a second value. */
  { "{}{}", SL_NATIVE_MESSAGE_ERROR_SYNTAX, "goes on", NULL },
  { "{\"v\":1,\"type\":\"ping\"} {\"v\":1,\"type\":\"ping\"}",
    SL_NATIVE_MESSAGE_ERROR_SYNTAX, "goes on", NULL },
  { "{\"v\":1,\"type\":\"ping\"}}", SL_NATIVE_MESSAGE_ERROR_SYNTAX, "goes on", NULL },
  { "{\"v\":1,\"type\":\"ping\"}x", SL_NATIVE_MESSAGE_ERROR_SYNTAX, "goes on", NULL },
  { "{\"v\":1,\"type\":\"ping\",\"x\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}",
    SL_NATIVE_MESSAGE_ERROR_SYNTAX, "deeper", NULL },
  { "{\"type\":\"ping\",\"id\":\"a\"}", SL_NATIVE_MESSAGE_ERROR_INVALID, "version", "\"a\"" },
  { "{\"v\":2,\"type\":\"ping\",\"id\":1}", SL_NATIVE_MESSAGE_ERROR_INVALID, "version 1", "1" },
  { "{\"v\":\"1\",\"type\":\"ping\"}", SL_NATIVE_MESSAGE_ERROR_INVALID, "version 1", NULL },
  { "{\"v\":1.5,\"type\":\"ping\"}", SL_NATIVE_MESSAGE_ERROR_INVALID, "version 1", NULL },
  { "{\"v\":1,\"id\":3}", SL_NATIVE_MESSAGE_ERROR_INVALID, "“type”", "3" },
  { "{\"v\":1,\"type\":42}", SL_NATIVE_MESSAGE_ERROR_INVALID, "“type”", NULL },
  { "{\"v\":1,\"type\":\"explode\",\"id\":\"x\"}", SL_NATIVE_MESSAGE_ERROR_INVALID,
    "Unknown message type “explode”", "\"x\"" },
  { "{\"v\":1,\"type\":\"ping\",\"id\":{\"a\":1}}", SL_NATIVE_MESSAGE_ERROR_INVALID, "“id”",
    NULL },
  { "{\"v\":1,\"type\":\"ping\",\"id\":true}", SL_NATIVE_MESSAGE_ERROR_INVALID, "“id”", NULL },
  { "{\"v\":1,\"type\":\"download\",\"id\":7}", SL_NATIVE_MESSAGE_ERROR_INVALID, "no address",
    "7" },
  { "{\"v\":1,\"type\":\"download\",\"urls\":[]}", SL_NATIVE_MESSAGE_ERROR_INVALID,
    "no address", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":42}", SL_NATIVE_MESSAGE_ERROR_INVALID, "“url”",
    NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":[\"@URL@\"]}", SL_NATIVE_MESSAGE_ERROR_INVALID,
    "“url”", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"ftp://example.com/a\"}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "ftp", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"javascript:alert(1)\"}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "javascript", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"file:///etc/passwd\"}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "file", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"blob:https://example.com/0b1c\"}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "only in the browser", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"data:text/plain,hi\"}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "only in the browser", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"example.com/file\"}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "scheme", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"http://127.0.0.1/a b\"}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "spaces", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\\u0000.exe\"}",
    SL_NATIVE_MESSAGE_ERROR_SYNTAX, "NUL", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\\ud800\"}",
    SL_NATIVE_MESSAGE_ERROR_SYNTAX, "escape", NULL },
  { "{\"v\":1,\"type\":\"ping\",\"id\":\"\\udc00\\ud800\"}",
    SL_NATIVE_MESSAGE_ERROR_SYNTAX, "escape", NULL },
  { "{\"v\":1,\"type\":\"ping\",\"x\":\"\\u12\"}", SL_NATIVE_MESSAGE_ERROR_SYNTAX,
    "escape", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"directory\":\"/tmp\",\"id\":\"d\"}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "“directory”", "\"d\"" },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"directory\":null}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "“directory”", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"filename\":\"../evil.sh\"}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, NULL, NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"filename\":\"a/b\"}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, NULL, NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"filename\":\"..\"}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, NULL, NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"filename\":\"a\\nb\"}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, NULL, NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"filename\":7}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "“filename”", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@?a=1\",\"urls\":[\"@URL@?a=2\"],"
    "\"filename\":\"x.bin\"}", SL_NATIVE_MESSAGE_ERROR_INVALID, "exactly one", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"referrer\":\"javascript:x\"}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "referrer", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"referrer\":\"https://a.example/\\r\\n"
    "X-Evil: 1\"}", SL_NATIVE_MESSAGE_ERROR_INVALID, NULL, NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"cookies\":\"a=b\\r\\nX-Evil: 1\"}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "Cookie", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"userAgent\":\"Evil\\nHost: x\"}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "User-Agent", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"cookies\":{\"a\":\"b\"}}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "“cookies”", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"userAgent\":false}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "“userAgent”", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"mime\":5}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "“mime”", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"size\":\"big\"}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "“size”", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"size\":-5}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "“size”", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"@URL@\",\"size\":1.5}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "“size”", NULL },
  { "{\"v\":1,\"type\":\"download\",\"urls\":\"@URL@\"}", SL_NATIVE_MESSAGE_ERROR_INVALID,
    "“urls”", NULL },
  { "{\"v\":1,\"type\":\"download\",\"urls\":[\"@URL@\",1]}", SL_NATIVE_MESSAGE_ERROR_INVALID,
    "“urls”", NULL },
  /* One bad address among good ones: none is added. */
  { "{\"v\":1,\"type\":\"download\",\"urls\":[\"@URL@?n=1\",\"@URL@?n=2\",\"ftp://x/y\"]}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "ftp", NULL },
  { "{\"v\":1,\"type\":\"download\",\"url\":\"ftp://x/y\",\"urls\":[\"@URL@\"]}",
    SL_NATIVE_MESSAGE_ERROR_INVALID, "ftp", NULL },
};

static char *
fill_url (const char *json,
          const char *url)
{
  g_auto (GStrv) parts = g_strsplit (json, "@URL@", -1);

  return g_strjoinv (url, parts);
}

static void
test_request_refused (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (refused_cases); i++)
    {
      const RefusedCase *c = &refused_cases[i];
      g_autofree char *json = fill_url (c->json, TABLE_URL);
      g_autoptr (JsonNode) id = NULL;
      g_autoptr (GError) error = NULL;
      g_autoptr (SlNativeRequest) request = NULL;

      g_test_message ("refused: %s", json);
      request = sl_native_request_parse (json, strlen (json), &id, &error);
      g_assert_null (request);
      g_assert_error (error, SL_NATIVE_MESSAGE_ERROR, c->code);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      g_assert_null (strchr (error->message, '\n'));
      if (c->reason != NULL && strstr (error->message, c->reason) == NULL)
        g_error ("“%s” does not say “%s”", error->message, c->reason);
      if (c->id != NULL)
        {
          g_autofree char *echoed = NULL;

          g_assert_nonnull (id);
          echoed = json_to_string (id, FALSE);
          g_assert_cmpstr (echoed, ==, c->id);
        }
      else
        g_assert_null (id);
    }
}

/* Input that is not text, or that would cut a string short or exhaust the parser. */
static void
test_request_bytes (void)
{
  static const char not_utf8[] = "{\"v\":1,\"type\":\"download\",\"url\":\"http://a/\xff\"}";
  static const char nul[] = "{\"v\":1,\"type\":\"ping\"}\0{}";
  gsize deep_size = 512 * 1024;
  g_autofree char *deep = g_malloc (deep_size);
  g_autoptr (GString) many = g_string_new ("{\"v\":1,\"type\":\"download\",\"urls\":[");
  g_autoptr (GError) error = NULL;
  g_autoptr (SlNativeRequest) request = NULL;

  request = sl_native_request_parse (not_utf8, strlen (not_utf8), NULL, &error);
  g_assert_null (request);
  g_assert_error (error, SL_NATIVE_MESSAGE_ERROR, SL_NATIVE_MESSAGE_ERROR_ENCODING);
  g_clear_error (&error);

  request = sl_native_request_parse (nul, sizeof nul - 1, NULL, &error);
  g_assert_null (request);
  g_assert_error (error, SL_NATIVE_MESSAGE_ERROR, SL_NATIVE_MESSAGE_ERROR_ENCODING);
  g_clear_error (&error);

  /* Half a megabyte of brackets would take the recursive parser deep into the stack. */
  memset (deep, '[', deep_size);
  request = sl_native_request_parse (deep, deep_size, NULL, &error);
  g_assert_null (request);
  g_assert_error (error, SL_NATIVE_MESSAGE_ERROR, SL_NATIVE_MESSAGE_ERROR_SYNTAX);
  g_clear_error (&error);

  /* Brackets inside strings are text, not nesting. */
  memset (deep, '[', 100);
  {
    g_autofree char *json = g_strdup_printf ("{\"v\":1,\"type\":\"ping\",\"x\":\"%.*s\"}", 100,
                                             deep);

    request = sl_native_request_parse (json, strlen (json), NULL, &error);
    g_assert_no_error (error);
    g_assert_nonnull (request);
    g_clear_pointer (&request, sl_native_request_free);
  }

  /* A lone surrogate in an escape is not text; a pair is. */
  {
    const char *json = "{\"v\":1,\"type\":\"download\",\"url\":\"http://a/\\ud800x\"}";
    const char *pair = "{\"v\":1,\"type\":\"download\",\"url\":\"http://a/\",\"userAgent\":"
                       "\"\\ud83d\\ude00 \\u00e9\\\"\"}";

    request = sl_native_request_parse (json, strlen (json), NULL, &error);
    g_assert_null (request);
    g_assert_error (error, SL_NATIVE_MESSAGE_ERROR, SL_NATIVE_MESSAGE_ERROR_SYNTAX);
    g_clear_error (&error);

    request = sl_native_request_parse (pair, strlen (pair), NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (request->user_agent, ==, "\xf0\x9f\x98\x80 \xc3\xa9\"");
    g_clear_pointer (&request, sl_native_request_free);
  }

  for (int i = 0; i <= SL_NATIVE_MESSAGE_MAX_URLS; i++)
    g_string_append_printf (many, "%s\"" TABLE_URL "?n=%d\"", i > 0 ? "," : "", i);
  g_string_append (many, "]}");
  request = sl_native_request_parse (many->str, many->len, NULL, &error);
  g_assert_null (request);
  g_assert_error (error, SL_NATIVE_MESSAGE_ERROR, SL_NATIVE_MESSAGE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "1000"));
}

static SlNativeRequest *
parse_ok (const char  *json,
          JsonNode   **id)
{
  g_autoptr (GError) error = NULL;
  SlNativeRequest *request;

  g_test_message ("accepted: %s", json);
  request = sl_native_request_parse (json, strlen (json), id, &error);
  g_assert_no_error (error);
  g_assert_nonnull (request);
  return request;
}

static void
assert_option (GVariant   *options,
               const char *key,
               const char *expected)
{
  const char *value = NULL;

  if (expected == NULL)
    g_assert_false (g_variant_lookup (options, key, "&s", &value));
  else
    {
      g_assert_true (g_variant_lookup (options, key, "&s", &value));
      g_assert_cmpstr (value, ==, expected);
    }
}

static void
test_request_accepted (void)
{
  g_autoptr (SlNativeRequest) request = NULL;
  g_autoptr (JsonNode) id = NULL;
  g_autoptr (GVariant) options = NULL;
  SlNativeItem *item;

  /* The smallest ping; unknown fields are for newer extensions. */
  request = parse_ok ("{\"v\":1,\"type\":\"ping\"}", &id);
  g_assert_cmpint (request->type, ==, SL_NATIVE_REQUEST_PING);
  g_assert_null (id);
  g_clear_pointer (&request, sl_native_request_free);
  request = parse_ok (" \r\n\t{\"type\":\"ping\",\"v\":1,\"id\":12.5,\"future\":{\"x\":[1]}}\n ",
                      &id);
  g_assert_cmpint (request->type, ==, SL_NATIVE_REQUEST_PING);
  g_assert_nonnull (id);
  g_assert_cmpfloat (json_node_get_double (id), ==, 12.5);
  g_clear_pointer (&id, json_node_unref);
  g_clear_pointer (&request, sl_native_request_free);

  /* Everything a browser sends for one download. */
  request = parse_ok ("{\"v\":1,\"type\":\"download\",\"id\":\"req-1\","
                      "\"url\":\"https://example.com/files/a.iso?token=x\","
                      "\"referrer\":\"https://example.com/page\",\"cookies\":\"sid=1; b=2\","
                      "\"userAgent\":\"Mozilla/5.0 (X11; Linux x86_64)\","
                      "\"filename\":\"a (1).iso\",\"mime\":\"application/x-iso9660-image\","
                      "\"size\":123456789}", &id);
  g_assert_cmpint (request->type, ==, SL_NATIVE_REQUEST_DOWNLOAD);
  g_assert_cmpstr (json_node_get_string (id), ==, "req-1");
  g_assert_cmpuint (request->items->len, ==, 1);
  item = g_ptr_array_index (request->items, 0);
  g_assert_cmpstr (item->url, ==, "https://example.com/files/a.iso?token=x");
  g_assert_cmpstr (item->cookies, ==, "sid=1; b=2");
  g_assert_cmpstr (request->referrer, ==, "https://example.com/page");
  g_assert_cmpstr (request->user_agent, ==, "Mozilla/5.0 (X11; Linux x86_64)");
  g_assert_cmpstr (request->filename, ==, "a (1).iso");
  g_assert_cmpstr (request->mime, ==, "application/x-iso9660-image");
  g_assert_cmpint (request->size, ==, 123456789);
  options = g_variant_ref_sink (sl_native_request_options (request, 0));
  assert_option (options, "referrer", "https://example.com/page");
  assert_option (options, "cookies", "sid=1; b=2");
  assert_option (options, "user-agent", "Mozilla/5.0 (X11; Linux x86_64)");
  assert_option (options, "filename", "a (1).iso");
  g_assert_cmpuint (g_variant_n_children (options), ==, 4);
  g_clear_pointer (&options, g_variant_unref);
  g_clear_pointer (&id, json_node_unref);
  g_clear_pointer (&request, sl_native_request_free);

  /* Null and empty are none; no option is sent for them. */
  request = parse_ok ("{\"v\":1,\"type\":\"download\",\"url\":\"http://example.com/a\","
                      "\"referrer\":null,\"cookies\":\"\",\"userAgent\":null,"
                      "\"filename\":\"\",\"mime\":null,\"size\":null,\"urls\":null}", NULL);
  g_assert_null (request->referrer);
  g_assert_null (request->filename);
  g_assert_cmpint (request->size, ==, -1);
  options = g_variant_ref_sink (sl_native_request_options (request, 0));
  g_assert_cmpuint (g_variant_n_children (options), ==, 0);
  g_clear_pointer (&options, g_variant_unref);
  g_clear_pointer (&request, sl_native_request_free);

  /* All links: the address first, each once (as written back), in order. */
  request = parse_ok ("{\"v\":1,\"type\":\"download\",\"url\":\"http://example.com/a\","
                      "\"urls\":[\"http://example.com/b\",\"HTTP://example.com/a\","
                      "\"http://example.com/b\",\"http://example.com/c\"]}", NULL);
  g_assert_cmpuint (request->items->len, ==, 3);
  g_assert_cmpstr (((SlNativeItem *) request->items->pdata[0])->url, ==, "http://example.com/a");
  g_assert_cmpstr (((SlNativeItem *) request->items->pdata[1])->url, ==, "http://example.com/b");
  g_assert_cmpstr (((SlNativeItem *) request->items->pdata[2])->url, ==, "http://example.com/c");
  g_clear_pointer (&request, sl_native_request_free);

  /* No url, only urls; the size may be unknown. */
  request = parse_ok ("{\"v\":1,\"type\":\"download\",\"urls\":[\"https://example.com/x\"],"
                      "\"size\":-1}", NULL);
  g_assert_cmpuint (request->items->len, ==, 1);
  g_assert_cmpint (request->size, ==, -1);
}

/* The browser gives the cookies of the page's origin: another server never gets them. */
static void
test_request_cookies (void)
{
  g_autoptr (SlNativeRequest) request = NULL;
  const char *expected[] = {
    "c=1",   /* http://example.com/a */
    "c=1",   /* same origin, default port spelled out */
    NULL,    /* https: another scheme */
    NULL,    /* another host */
    NULL,    /* another port */
    NULL,    /* a subdomain */
    "c=1",   /* the host in capitals */
  };

  request = parse_ok ("{\"v\":1,\"type\":\"download\",\"cookies\":\"c=1\","
                      "\"urls\":[\"http://example.com/a\",\"http://example.com:80/b\","
                      "\"https://example.com/c\",\"http://example.org/d\","
                      "\"http://example.com:8080/e\",\"http://cdn.example.com/f\","
                      "\"http://EXAMPLE.com/g\"]}", NULL);
  g_assert_cmpuint (request->items->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < request->items->len; i++)
    {
      SlNativeItem *item = g_ptr_array_index (request->items, i);
      g_autoptr (GVariant) options = g_variant_ref_sink (sl_native_request_options (request, i));

      g_test_message ("cookies for %s", item->url);
      g_assert_cmpstr (item->cookies, ==, expected[i]);
      assert_option (options, "cookies", expected[i]);
    }
}

static void
test_replies (void)
{
  g_autoptr (JsonNode) id = json_node_init_string (json_node_alloc (), "a\"b");
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *ping = sl_native_reply_ping (id, "1.2.3", TRUE);
  g_autofree char *no_daemon = sl_native_reply_ping (NULL, "1.2.3", FALSE);
  guint64 ids[] = { 4, 17 };
  g_autofree char *added = sl_native_reply_ids (id, ids, G_N_ELEMENTS (ids));
  g_autofree char *failed = sl_native_reply_error (NULL, "first\nsecond\r\tthird\xff", NULL, 0);
  g_autofree char *partly = sl_native_reply_error (id, "no room", ids, 1);
  g_autoptr (GString) long_message = g_string_new (NULL);
  g_autofree char *long_reply = NULL;
  JsonObject *object;
  JsonArray *array;

  object = parse_reply_text (ping, &root);
  g_assert_true (reply_ok (object));
  g_assert_cmpstr (json_object_get_string_member (object, "id"), ==, "a\"b");
  g_assert_cmpstr (json_object_get_string_member (object, "version"), ==, "1.2.3");
  g_assert_true (json_object_get_boolean_member (object, "daemon"));
  g_clear_pointer (&root, json_node_unref);

  object = parse_reply_text (no_daemon, &root);
  g_assert_true (reply_ok (object));
  g_assert_false (json_object_has_member (object, "id"));
  g_assert_false (json_object_get_boolean_member (object, "daemon"));
  g_clear_pointer (&root, json_node_unref);

  object = parse_reply_text (added, &root);
  g_assert_true (reply_ok (object));
  array = json_object_get_array_member (object, "ids");
  g_assert_cmpuint (json_array_get_length (array), ==, 2);
  g_assert_cmpint (json_array_get_int_element (array, 0), ==, 4);
  g_assert_cmpint (json_array_get_int_element (array, 1), ==, 17);
  g_clear_pointer (&root, json_node_unref);

  /* One line of valid UTF-8, whatever the reason was. */
  object = parse_reply_text (failed, &root);
  g_assert_cmpstr (reply_error (object), ==, "first second  third\xef\xbf\xbd");
  g_assert_false (json_object_has_member (object, "ids"));
  g_clear_pointer (&root, json_node_unref);

  /* What was added before a failure is said too. */
  object = parse_reply_text (partly, &root);
  g_assert_cmpstr (reply_error (object), ==, "no room");
  array = json_object_get_array_member (object, "ids");
  g_assert_cmpuint (json_array_get_length (array), ==, 1);
  g_clear_pointer (&root, json_node_unref);

  for (int i = 0; i < 5000; i++)
    g_string_append (long_message, "é");
  long_reply = sl_native_reply_error (NULL, long_message->str, NULL, 0);
  object = parse_reply_text (long_reply, &root);
  g_assert_cmpint (g_utf8_strlen (reply_error (object), -1), ==, 1000);
}

/* Manifests */

static void
test_manifest_build (void)
{
  for (int f = SL_BROWSER_FAMILY_MOZILLA; f <= SL_BROWSER_FAMILY_CHROMIUM; f++)
    {
      g_autofree char *text = sl_browser_manifest_build (f, "/opt/sluice/bin/sluice-browser-host");
      g_autoptr (SlBrowserManifest) manifest = NULL;
      g_autoptr (GError) error = NULL;

      manifest = sl_browser_manifest_parse (text, -1, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (manifest->name, ==, "org.sluice.browser_host");
      g_assert_cmpstr (manifest->path, ==, "/opt/sluice/bin/sluice-browser-host");
      g_assert_cmpstr (manifest->type, ==, "stdio");
      g_assert_cmpint (manifest->family, ==, f);
      g_assert_cmpuint (g_strv_length (manifest->allowed), ==, 1);
      if (f == SL_BROWSER_FAMILY_MOZILLA)
        {
          g_assert_nonnull (strstr (text, "\"allowed_extensions\""));
          g_assert_cmpstr (manifest->allowed[0], ==, "browser@sluice.org");
        }
      else
        {
          g_assert_nonnull (strstr (text, "\"allowed_origins\""));
          g_assert_cmpstr (manifest->allowed[0], ==,
                           "chrome-extension://cdhpdnmokchopihnkakdmfgkohdnogjp/");
        }
      g_assert_true (g_str_has_suffix (text, "}\n"));
    }
}

static void
test_manifest_locations (void)
{
  static const char * const user_ids[] = {
    "firefox", "librewolf", "chromium", "chrome", "edge", "brave", "vivaldi",
  };
  const SlManifestLocation *locations;
  gsize n;
  g_autofree char *firefox = NULL;
  g_autofree char *brave = NULL;
  g_autofree char *mozilla_file = NULL;

  locations = sl_manifest_locations (&n);
  g_assert_cmpuint (n, ==, 11);
  for (gsize i = 0; i < G_N_ELEMENTS (user_ids); i++)
    {
      const SlManifestLocation *location =
        sl_manifest_location_lookup (user_ids[i], SL_MANIFEST_SCOPE_USER);
      g_autofree char *dir = NULL;

      g_assert_nonnull (location);
      dir = sl_manifest_location_dir (location);
      g_assert_true (g_path_is_absolute (dir));
    }
  g_assert_null (sl_manifest_location_lookup ("brave", SL_MANIFEST_SCOPE_SYSTEM));
  g_assert_null (sl_manifest_location_lookup ("netscape", SL_MANIFEST_SCOPE_USER));

  /* Mozilla folders hang off the home folder, Chromium ones off the configuration folder. */
  firefox = sl_manifest_location_dir (sl_manifest_location_lookup ("firefox",
                                                                    SL_MANIFEST_SCOPE_USER));
  g_assert_true (g_str_has_prefix (firefox, g_get_home_dir ()));
  g_assert_true (g_str_has_suffix (firefox, "/.mozilla/native-messaging-hosts"));
  brave = sl_manifest_location_dir (sl_manifest_location_lookup ("brave",
                                                                  SL_MANIFEST_SCOPE_USER));
  g_assert_true (g_str_has_prefix (brave, g_get_user_config_dir ()));
  g_assert_true (g_str_has_suffix (brave, "/BraveSoftware/Brave-Browser/NativeMessagingHosts"));
  mozilla_file =
    sl_manifest_location_file (sl_manifest_location_lookup ("firefox", SL_MANIFEST_SCOPE_SYSTEM));
  g_assert_cmpstr (mozilla_file, ==,
                   "/usr/lib/mozilla/native-messaging-hosts/org.sluice.browser_host.json");
  for (gsize i = 0; i < n; i++)
    g_assert_cmpint (locations[i].family, ==,
                     g_str_has_prefix (locations[i].dir, "/etc") ||
                     strstr (locations[i].dir, ".config/") != NULL
                       ? SL_BROWSER_FAMILY_CHROMIUM : SL_BROWSER_FAMILY_MOZILLA);
}

typedef struct
{
  const char       *contents;   /* @HOST@ is the program, NULL for no file */
  SlManifestStatus  status;
} InspectCase;

static void
test_manifest_inspect (void)
{
  g_autoptr (GFile) tmp = sl_test_make_temp_dir ();
  g_autofree char *dir = g_build_filename (g_file_peek_path (tmp), "hosts", NULL);
  g_autofree char *program = g_build_filename (g_file_peek_path (tmp), "host", NULL);
  g_autofree char *other = g_build_filename (g_file_peek_path (tmp), "other", NULL);
  g_autofree char *link = g_build_filename (g_file_peek_path (tmp), "link", NULL);
  g_autofree char *file = NULL;
  SlManifestLocation location = { "test", "Chromium", SL_BROWSER_FAMILY_CHROMIUM,
                                  SL_MANIFEST_SCOPE_SYSTEM, dir };
  g_autoptr (GError) error = NULL;
  g_autoptr (SlBrowserManifest) manifest = NULL;
  const InspectCase cases[] = {
    { NULL, SL_MANIFEST_STATUS_MISSING },
    { "not json", SL_MANIFEST_STATUS_INVALID },
    { "[]", SL_MANIFEST_STATUS_INVALID },
    { "{\"name\":\"org.sluice.browser_host\",\"path\":\"@HOST@\",\"type\":\"stdio\"}",
      SL_MANIFEST_STATUS_INVALID },
    { "{\"name\":\"org.other\",\"path\":\"@HOST@\",\"type\":\"stdio\","
      "\"allowed_origins\":[\"chrome-extension://cdhpdnmokchopihnkakdmfgkohdnogjp/\"]}",
      SL_MANIFEST_STATUS_INVALID },
    { "{\"name\":\"org.sluice.browser_host\",\"path\":\"@HOST@\",\"type\":\"stdio\","
      "\"allowed_extensions\":[\"browser@sluice.org\"]}", SL_MANIFEST_STATUS_INVALID },
    { "{\"name\":\"org.sluice.browser_host\",\"path\":\"host\",\"type\":\"stdio\","
      "\"allowed_origins\":[\"chrome-extension://cdhpdnmokchopihnkakdmfgkohdnogjp/\"]}",
      SL_MANIFEST_STATUS_INVALID },
    { "{\"name\":\"org.sluice.browser_host\",\"path\":\"@HOST@.gone\",\"type\":\"stdio\","
      "\"allowed_origins\":[\"chrome-extension://cdhpdnmokchopihnkakdmfgkohdnogjp/\"]}",
      SL_MANIFEST_STATUS_PROGRAM_MISSING },
    { "{\"name\":\"org.sluice.browser_host\",\"path\":\"@HOST@\",\"type\":\"stdio\","
      "\"allowed_origins\":[\"chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/\"]}",
      SL_MANIFEST_STATUS_WRONG_EXTENSION },
    { "{\"name\":\"org.sluice.browser_host\",\"path\":\"@OTHER@\",\"type\":\"stdio\","
      "\"allowed_origins\":[\"chrome-extension://cdhpdnmokchopihnkakdmfgkohdnogjp/\"]}",
      SL_MANIFEST_STATUS_OTHER_PROGRAM },
    /* Through a symbolic link, it is the same program. */
    { "{\"name\":\"org.sluice.browser_host\",\"path\":\"@LINK@\",\"type\":\"stdio\","
      "\"allowed_origins\":[\"chrome-extension://cdhpdnmokchopihnkakdmfgkohdnogjp/\"]}",
      SL_MANIFEST_STATUS_OK },
  };

  g_assert_true (g_file_set_contents (program, "#!/bin/sh\n", -1, NULL));
  g_assert_cmpint (g_chmod (program, 0755), ==, 0);
  g_assert_true (g_file_set_contents (other, "#!/bin/sh\n", -1, NULL));
  g_assert_cmpint (g_chmod (other, 0755), ==, 0);
  g_assert_cmpint (symlink (program, link), ==, 0);
  file = sl_manifest_location_file (&location);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      SlManifestStatus status;

      g_unlink (file);
      if (cases[i].contents != NULL)
        {
          g_auto (GStrv) host_parts = g_strsplit (cases[i].contents, "@HOST@", -1);
          g_autofree char *with_host = g_strjoinv (program, host_parts);
          g_auto (GStrv) other_parts = g_strsplit (with_host, "@OTHER@", -1);
          g_autofree char *with_other = g_strjoinv (other, other_parts);
          g_auto (GStrv) link_parts = g_strsplit (with_other, "@LINK@", -1);
          g_autofree char *text = g_strjoinv (link, link_parts);

          g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
          g_assert_true (g_file_set_contents (file, text, -1, NULL));
        }

      g_test_message ("inspect: %s", cases[i].contents ? cases[i].contents : "(no file)");
      status = sl_browser_manifest_inspect (&location, program, NULL, &error);
      g_assert_cmpint (status, ==, cases[i].status);
      if (status == SL_MANIFEST_STATUS_INVALID)
        {
          g_assert_nonnull (error);
          g_assert_null (strchr (error->message, '\n'));
        }
      else
        g_assert_no_error (error);
      g_clear_error (&error);
      g_assert_nonnull (sl_manifest_status_describe (status));
    }

  /* What sluicectl browser install writes is what --diagnose finds good, in a folder that
   * does not exist yet. */
  g_unlink (file);
  g_rmdir (dir);
  g_assert_true (sl_browser_manifest_write (&location, program, &error));
  g_assert_no_error (error);
  g_assert_cmpint (sl_browser_manifest_inspect (&location, program, &manifest, &error), ==,
                   SL_MANIFEST_STATUS_OK);
  g_assert_cmpstr (manifest->path, ==, program);
  g_assert_cmpint (sl_browser_manifest_inspect (&location, NULL, NULL, &error), ==,
                   SL_MANIFEST_STATUS_OK);
  g_assert_cmpint (sl_browser_manifest_inspect (&location, other, NULL, &error), ==,
                   SL_MANIFEST_STATUS_OTHER_PROGRAM);

  sl_test_rm_rf (tmp);
}

/* The running host */

typedef struct
{
  gboolean with_service;      /* whether the bus can start sluiced */
  gboolean bad_folder;        /* whether the daemon's download folder is a file */
} FixtureSetup;

static const FixtureSetup with_daemon = { TRUE, FALSE };
static const FixtureSetup without_daemon = { FALSE, FALSE };
static const FixtureSetup with_bad_folder = { TRUE, TRUE };

typedef struct
{
  GTestDBus       *bus;
  GDBusConnection *connection;
  guint            watch_id;
  gboolean         name_owned;
  gboolean         name_ever_owned;

  SlTestServer    *server;
  SlTestServer    *other_server;
  GFile           *tmp;
  char            *home;
  char            *state;
  char            *config;
  char            *downloads;
  char            *services;
  char            *file_url;     /* the test server's /file */
} Fixture;

typedef struct
{
  GOutputStream *out;         /* what the host writes on stdout */
  GOutputStream *err;         /* and on stderr */
  guint          pending;     /* input, stdout and stderr not done yet */
  gboolean       exited;
  int            status;
  GError        *error;
} HostRun;

static void
on_name_appeared (GDBusConnection *connection,
                  const char      *name,
                  const char      *owner,
                  gpointer         user_data)
{
  Fixture *f = user_data;

  f->name_owned = TRUE;
  f->name_ever_owned = TRUE;
}

static void
on_name_vanished (GDBusConnection *connection,
                  const char      *name,
                  gpointer         user_data)
{
  ((Fixture *) user_data)->name_owned = FALSE;
}

static char *
make_dir (Fixture    *f,
          const char *name)
{
  char *path = g_build_filename (g_file_peek_path (f->tmp), name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
  return path;
}

/* The daemon of the build tree, with the test's data folder and a download folder of the
 * test's, for the private bus to start it. */
static void
write_service_file (Fixture *f)
{
  g_autofree char *data_home = make_dir (f, "data");
  g_autofree char *exec = g_strdup_printf ("/usr/bin/env XDG_DATA_HOME=%s XDG_CONFIG_HOME=%s "
                                           "%s --idle-timeout 600", data_home, f->config,
                                           g_getenv ("SLUICED"));
  g_autofree char *path = g_build_filename (f->services, BUS_NAME ".service", NULL);

  sl_test_write_service_file (path, exec);
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  const FixtureSetup *setup = data;
  g_autofree char *user_dirs = NULL;
  g_autofree char *user_dirs_path = NULL;

  g_assert_nonnull (g_getenv ("SLUICED"));
  g_assert_nonnull (g_getenv ("SLUICE_BROWSER_HOST"));

  f->server = sl_test_server_new ();
  f->other_server = sl_test_server_new ();
  f->file_url = sl_test_server_url (f->server, "/file");
  f->tmp = sl_test_make_temp_dir ();
  f->home = make_dir (f, "home");
  f->state = g_build_filename (g_file_peek_path (f->tmp), "state", NULL);
  f->config = make_dir (f, "config");
  f->downloads = make_dir (f, "downloads");
  f->services = make_dir (f, "services");

  /* The daemon saves where the user's folders say downloads go. */
  if (setup->bad_folder)
    {
      g_autofree char *not_a_folder = g_build_filename (g_file_peek_path (f->tmp), "plain",
                                                        NULL);

      g_assert_true (g_file_set_contents (not_a_folder, "", -1, NULL));
      user_dirs = g_strdup_printf ("XDG_DOWNLOAD_DIR=\"%s\"\n", not_a_folder);
    }
  else
    user_dirs = g_strdup_printf ("XDG_DOWNLOAD_DIR=\"%s\"\n", f->downloads);
  user_dirs_path = g_build_filename (f->config, "user-dirs.dirs", NULL);
  g_assert_true (g_file_set_contents (user_dirs_path, user_dirs, -1, NULL));

  if (setup->with_service)
    write_service_file (f);

  f->bus = sl_test_bus_up (f->services, &f->connection);
  f->watch_id = g_bus_watch_name_on_connection (f->connection, BUS_NAME,
                                                G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                on_name_appeared, on_name_vanished, f, NULL);
}

static gboolean
name_not_owned (gpointer data)
{
  return !((Fixture *) data)->name_owned;
}

/* The daemon the bus started is not ours: stop it through its pid, as a session would. */
static void
stop_daemon (Fixture *f)
{
  sl_test_stop_name_owner (f->connection, BUS_NAME, STOP_MS);
  sl_test_wait_until (NULL, name_not_owned, f, STOP_MS);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  if (f->name_owned)
    stop_daemon (f);

  g_bus_unwatch_name (f->watch_id);
  g_dbus_connection_close_sync (f->connection, NULL, NULL);
  g_clear_object (&f->connection);
  g_test_dbus_down (f->bus);
  g_clear_object (&f->bus);

  sl_test_server_quit_unref (f->server);
  sl_test_server_quit_unref (f->other_server);
  sl_test_rm_rf (f->tmp);
  g_clear_object (&f->tmp);
  g_free (f->home);
  g_free (f->state);
  g_free (f->config);
  g_free (f->downloads);
  g_free (f->services);
  g_free (f->file_url);
}

static GSubprocessLauncher *
host_launcher (Fixture    *f,
               const char *bus_address)
{
  GSubprocessLauncher *launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                               G_SUBPROCESS_FLAGS_STDERR_PIPE);

  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS",
                                bus_address ? bus_address : g_test_dbus_get_bus_address (f->bus),
                                TRUE);
  g_subprocess_launcher_setenv (launcher, "HOME", f->home, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_STATE_HOME", f->state, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", f->config, TRUE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_subprocess_launcher_unsetenv (launcher, "LANGUAGE");
  /* SLUICED stays set: a host that started the daemon itself would find it. */
  return launcher;
}

static GSubprocess *
host_spawn (Fixture            *f,
            const char * const *args,
            const char         *bus_address)
{
  g_autoptr (GSubprocessLauncher) launcher = host_launcher (f, bus_address);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  GSubprocess *host;

  g_ptr_array_add (argv, (char *) g_getenv ("SLUICE_BROWSER_HOST"));
  for (guint i = 0; args != NULL && args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);

  host = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  return host;
}

/* A host that stops reading (a broken stream) closes its stdin while the test still writes:
 * that is no failure of the test. */
static void
on_input_written (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  HostRun *run = user_data;
  g_autoptr (GError) error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE) && run->error == NULL)
    run->error = g_steal_pointer (&error);
  g_output_stream_close (G_OUTPUT_STREAM (source), NULL, NULL);
  run->pending--;
}

static void
on_output_read (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  HostRun *run = user_data;
  g_autoptr (GError) error = NULL;

  if (g_output_stream_splice_finish (G_OUTPUT_STREAM (source), result, &error) < 0 &&
      run->error == NULL)
    run->error = g_steal_pointer (&error);
  run->pending--;
}

static void
on_exited (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  HostRun *run = user_data;

  g_assert_true (g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL));
  run->status = g_subprocess_get_status (G_SUBPROCESS (source));
  run->exited = TRUE;
}

static gboolean
run_done (gpointer data)
{
  HostRun *run = data;

  return run->pending == 0 && run->exited;
}

static GBytes *
output_bytes (GOutputStream *stream)
{
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (stream));
}

/* Runs the host as a one-shot or long-lived port that sends @input and then closes stdin,
 * and collects what it wrote. The host must exit, not die: a signal fails the test. */
static GPtrArray *
host_run (Fixture            *f,
          const char * const *args,
          const char         *bus_address,
          GBytes             *input,
          int                 expected_exit)
{
  g_autoptr (GSubprocess) host = host_spawn (f, args, bus_address);
  g_autoptr (GBytes) out = NULL;
  g_autoptr (GBytes) err = NULL;
  HostRun run = { 0 };

  run.out = g_memory_output_stream_new_resizable ();
  run.err = g_memory_output_stream_new_resizable ();
  run.pending = 3;
  g_output_stream_write_all_async (g_subprocess_get_stdin_pipe (host),
                                   g_bytes_get_data (input, NULL), g_bytes_get_size (input),
                                   G_PRIORITY_DEFAULT, NULL, on_input_written, &run);
  g_output_stream_splice_async (run.out, g_subprocess_get_stdout_pipe (host),
                                G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE |
                                  G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
                                G_PRIORITY_DEFAULT, NULL, on_output_read, &run);
  g_output_stream_splice_async (run.err, g_subprocess_get_stderr_pipe (host),
                                G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE |
                                  G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
                                G_PRIORITY_DEFAULT, NULL, on_output_read, &run);
  g_subprocess_wait_async (host, NULL, on_exited, &run);
  sl_test_wait_until (NULL, run_done, &run, HOST_MS);

  g_assert_no_error (run.error);
  if (!WIFEXITED (run.status))
    g_error ("sluice-browser-host died of signal %d", WTERMSIG (run.status));
  g_assert_cmpint (WEXITSTATUS (run.status), ==, expected_exit);
  out = output_bytes (run.out);
  err = output_bytes (run.err);
  g_clear_object (&run.out);
  g_clear_object (&run.err);
  /* Nothing but frames on stdout, nothing on stderr: diagnostics go to the log. */
  g_assert_cmpuint (g_bytes_get_size (err), ==, 0);
  return decode_replies (out);
}

static GPtrArray *
host_exchange (Fixture    *f,
               const char *message)
{
  g_autoptr (GBytes) input = frame_of (message);

  return host_run (f, NULL, NULL, input, 0);
}

/* The Download1 objects the daemon has, without starting it. */
static GVariant *
managed_objects (Fixture *f)
{
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;

  if (!f->name_owned)
    return NULL;

  reply = g_dbus_connection_call_sync (f->connection, BUS_NAME, MANAGER_PATH,
                                       "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
                                       NULL, G_VARIANT_TYPE ("(a{oa{sa{sv}}})"),
                                       G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, NULL, &error);
  g_assert_no_error (error);
  return g_variant_get_child_value (reply, 0);
}

static guint
count_downloads (Fixture *f)
{
  g_autoptr (GVariant) objects = managed_objects (f);

  return objects ? g_variant_n_children (objects) : 0;
}

static char *
download_property (Fixture    *f,
                   guint64     id,
                   const char *name)
{
  g_autofree char *path = g_strdup_printf (MANAGER_PATH "/%" G_GUINT64_FORMAT, id);
  g_autoptr (GVariant) objects = managed_objects (f);
  g_autoptr (GVariant) interfaces = NULL;
  g_autoptr (GVariant) properties = NULL;
  const char *value = NULL;

  g_assert_nonnull (objects);
  interfaces = g_variant_lookup_value (objects, path, G_VARIANT_TYPE ("a{sa{sv}}"));
  g_assert_nonnull (interfaces);
  properties = g_variant_lookup_value (interfaces, DOWNLOAD_IFACE, G_VARIANT_TYPE ("a{sv}"));
  g_assert_nonnull (properties);
  g_assert_true (g_variant_lookup (properties, name, "&s", &value));
  return g_strdup (value);
}

typedef struct
{
  Fixture *f;
  guint64  id;
} DownloadWait;

static gboolean
download_completed (gpointer data)
{
  DownloadWait *wait = data;
  g_autofree char *state = download_property (wait->f, wait->id, "State");

  if (g_str_equal (state, "failed"))
    {
      g_autofree char *error = download_property (wait->f, wait->id, "Error");

      g_error ("download %" G_GUINT64_FORMAT " failed: %s", wait->id, error);
    }
  return g_str_equal (state, "completed");
}

static void
wait_completed (Fixture *f,
                guint64  id)
{
  DownloadWait wait = { f, id };

  sl_test_wait_until (NULL, download_completed, &wait, TRANSFER_MS);
}

static GArray *
reply_ids (JsonObject *reply)
{
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (guint64));
  JsonArray *array;

  g_assert_true (json_object_has_member (reply, "ids"));
  array = json_object_get_array_member (reply, "ids");
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      guint64 id = json_array_get_int_element (array, i);

      g_assert_cmpuint (id, >, 0);
      g_array_append_val (ids, id);
    }
  return ids;
}

static gboolean
has_header (const SlTestRequest *request,
            const char          *line)
{
  for (guint i = 0; request->headers[i] != NULL; i++)
    {
      if (g_ascii_strcasecmp (request->headers[i], line) == 0)
        return TRUE;
    }
  return FALSE;
}

static gboolean
has_header_named (const SlTestRequest *request,
                  const char          *name)
{
  gsize length = strlen (name);

  for (guint i = 0; request->headers[i] != NULL; i++)
    {
      if (g_ascii_strncasecmp (request->headers[i], name, length) == 0 &&
          request->headers[i][length] == ':')
        return TRUE;
    }
  return FALSE;
}

/* Nothing of refused input reached the daemon: the bus never even started it, and the server
 * saw no request. */
static void
assert_nothing_reached (Fixture *f)
{
  g_assert_false (f->name_ever_owned);
  g_assert_cmpuint (count_downloads (f), ==, 0);
  g_assert_cmpuint (sl_test_server_request_count (f->server, "/file"), ==, 0);
}

static void
test_ping_activates (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr (GPtrArray) replies = NULL;
  JsonObject *reply;

  g_assert_false (f->name_owned);
  replies = host_exchange (f, "{\"v\":1,\"type\":\"ping\",\"id\":\"p1\"}");
  g_assert_cmpuint (replies->len, ==, 1);
  reply = reply_object (replies, 0);
  g_assert_true (reply_ok (reply));
  g_assert_cmpstr (json_object_get_string_member (reply, "id"), ==, "p1");
  g_assert_cmpstr (json_object_get_string_member (reply, "version"), ==, PACKAGE_VERSION);
  g_assert_true (json_object_get_boolean_member (reply, "daemon"));

  /* The bus started the daemon, and it outlives the host, which has exited. */
  g_assert_cmpint (sl_test_name_owner_pid (f->connection, BUS_NAME), >, 0);
  g_assert_cmpuint (count_downloads (f), ==, 0);
}

static void
test_ping_no_daemon (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *nowhere = g_strdup_printf ("unix:path=%s/no-bus", f->home);
  g_autoptr (GBytes) input = frame_of ("{\"v\":1,\"type\":\"ping\",\"id\":2}");
  g_autoptr (GBytes) download = frame_of ("{\"v\":1,\"type\":\"download\","
                                          "\"url\":\"http://127.0.0.1:9/a\"}");
  g_autoptr (GPtrArray) replies = NULL;
  JsonObject *reply;

  /* A bus that cannot start sluiced: the host does not start it either, though it could
   * find the program. */
  replies = host_run (f, NULL, NULL, input, 0);
  g_assert_cmpuint (replies->len, ==, 1);
  reply = reply_object (replies, 0);
  g_assert_true (reply_ok (reply));
  g_assert_cmpint (json_object_get_int_member (reply, "id"), ==, 2);
  g_assert_false (json_object_get_boolean_member (reply, "daemon"));
  g_assert_false (f->name_ever_owned);
  g_clear_pointer (&replies, g_ptr_array_unref);

  /* No bus at all. */
  replies = host_run (f, NULL, nowhere, input, 0);
  g_assert_cmpuint (replies->len, ==, 1);
  reply = reply_object (replies, 0);
  g_assert_true (reply_ok (reply));
  g_assert_false (json_object_get_boolean_member (reply, "daemon"));
  g_clear_pointer (&replies, g_ptr_array_unref);

  /* A download cannot be handed over, and the browser hears why. */
  replies = host_run (f, NULL, nowhere, download, 0);
  g_assert_cmpuint (replies->len, ==, 1);
  g_assert_nonnull (strstr (reply_error (reply_object (replies, 0)), "session bus"));
  g_clear_pointer (&replies, g_ptr_array_unref);

  replies = host_run (f, NULL, NULL, download, 0);
  g_assert_cmpuint (replies->len, ==, 1);
  g_assert_nonnull (strstr (reply_error (reply_object (replies, 0)), "cannot be reached"));
  g_assert_false (f->name_ever_owned);
}

static void
test_download_headers (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *url = sl_test_server_url (f->server, "/file?size=30000&seed=7");
  g_autofree char *referrer = sl_test_server_url (f->server, "/page.html");
  g_autofree char *message = g_strdup_printf ("{\"v\":1,\"type\":\"download\",\"id\":9,"
                                              "\"url\":\"%s\",\"referrer\":\"%s\","
                                              "\"cookies\":\"session=abc; theme=dark\","
                                              "\"userAgent\":\"Mozilla/5.0 (X11; Linux "
                                              "x86_64) Test/1.0\",\"filename\":\"chosen.bin\","
                                              "\"mime\":\"application/octet-stream\","
                                              "\"size\":30000}", url, referrer);
  g_autofree char *saved = g_build_filename (f->downloads, "chosen.bin", NULL);
  g_autofree char *filename = NULL;
  g_autoptr (GPtrArray) replies = host_exchange (f, message);
  g_autoptr (GPtrArray) requests = NULL;
  g_autoptr (GArray) ids = NULL;
  g_autofree char *referer_line = g_strdup_printf ("Referer: %s", referrer);
  JsonObject *reply;

  g_assert_cmpuint (replies->len, ==, 1);
  reply = reply_object (replies, 0);
  if (!reply_ok (reply))
    g_error ("refused: %s", json_object_get_string_member (reply, "error"));
  g_assert_cmpint (json_object_get_int_member (reply, "id"), ==, 9);
  ids = reply_ids (reply);
  g_assert_cmpuint (ids->len, ==, 1);

  wait_completed (f, g_array_index (ids, guint64, 0));
  filename = download_property (f, g_array_index (ids, guint64, 0), "Filename");
  g_assert_cmpstr (filename, ==, "chosen.bin");
  sl_test_assert_file_is_entity (saved, 7, 30000);
  g_assert_cmpuint (count_downloads (f), ==, 1);

  /* The server saw what the browser would have sent. */
  requests = sl_test_server_requests (f->server, "/file");
  g_assert_cmpuint (requests->len, >=, 1);
  for (guint i = 0; i < requests->len; i++)
    {
      const SlTestRequest *request = g_ptr_array_index (requests, i);

      g_assert_true (has_header (request, referer_line));
      g_assert_true (has_header (request, "Cookie: session=abc; theme=dark"));
      g_assert_true (has_header (request, "User-Agent: Mozilla/5.0 (X11; Linux x86_64) "
                                          "Test/1.0"));
    }
}

static void
test_download_urls (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *a = sl_test_server_url (f->server, "/file?size=1000&seed=1");
  g_autofree char *b = sl_test_server_url (f->server, "/file?size=2000&seed=2");
  g_autofree char *c = sl_test_server_url (f->other_server, "/file?size=3000&seed=3");
  g_autofree char *message = g_strdup_printf ("{\"v\":1,\"type\":\"download\","
                                              "\"cookies\":\"k=v\",\"userAgent\":\"UA/2\","
                                              "\"urls\":[\"%s\",\"%s\",\"%s\",\"%s\"]}",
                                              a, b, a, c);
  g_autoptr (GPtrArray) replies = host_exchange (f, message);
  g_autoptr (GPtrArray) requests = NULL;
  g_autoptr (GPtrArray) other_requests = NULL;
  g_autoptr (GArray) ids = NULL;
  JsonObject *reply;

  g_assert_cmpuint (replies->len, ==, 1);
  reply = reply_object (replies, 0);
  if (!reply_ok (reply))
    g_error ("refused: %s", json_object_get_string_member (reply, "error"));
  g_assert_false (json_object_has_member (reply, "id"));
  ids = reply_ids (reply);

  /* Each link once, in order, with the IDs the daemon gave. */
  g_assert_cmpuint (ids->len, ==, 3);
  g_assert_cmpuint (g_array_index (ids, guint64, 0), <, g_array_index (ids, guint64, 1));
  g_assert_cmpuint (g_array_index (ids, guint64, 1), <, g_array_index (ids, guint64, 2));
  for (guint i = 0; i < ids->len; i++)
    wait_completed (f, g_array_index (ids, guint64, i));
  g_assert_cmpuint (count_downloads (f), ==, 3);

  /* The page's cookies went to its own server only; the user agent everywhere. */
  requests = sl_test_server_requests (f->server, "/file");
  g_assert_cmpuint (requests->len, >=, 2);
  for (guint i = 0; i < requests->len; i++)
    {
      const SlTestRequest *request = g_ptr_array_index (requests, i);

      g_assert_true (has_header (request, "Cookie: k=v"));
      g_assert_true (has_header (request, "User-Agent: UA/2"));
      g_assert_false (has_header_named (request, "Referer"));
    }
  other_requests = sl_test_server_requests (f->other_server, "/file");
  g_assert_cmpuint (other_requests->len, >=, 1);
  for (guint i = 0; i < other_requests->len; i++)
    {
      const SlTestRequest *request = g_ptr_array_index (other_requests, i);

      g_assert_false (has_header_named (request, "Cookie"));
      g_assert_true (has_header (request, "User-Agent: UA/2"));
    }
}

/* What the daemon refuses comes back as it said it, on one line. */
static void
test_download_daemon_refuses (Fixture       *f,
                              gconstpointer  data)
{
  g_autofree char *message = g_strdup_printf ("{\"v\":1,\"type\":\"download\",\"id\":\"r\","
                                              "\"url\":\"%s\"}", f->file_url);
  g_autoptr (GPtrArray) replies = host_exchange (f, message);
  JsonObject *reply;
  const char *reason;

  g_assert_cmpuint (replies->len, ==, 1);
  reply = reply_object (replies, 0);
  reason = reply_error (reply);
  g_assert_nonnull (strstr (reason, "plain"));
  g_assert_cmpstr (json_object_get_string_member (reply, "id"), ==, "r");
  g_assert_false (json_object_has_member (reply, "ids"));
  g_assert_true (f->name_ever_owned);
  g_assert_cmpuint (count_downloads (f), ==, 0);
}

/* Every refused message of the table in one long-lived host: each one answered in turn, the
 * host still there after them, and the daemon never started. */
static void
test_refused (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr (GByteArray) stream = g_byte_array_new ();
  g_autoptr (GBytes) input = NULL;
  g_autoptr (GPtrArray) replies = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (refused_cases); i++)
    {
      g_autofree char *json = fill_url (refused_cases[i].json, f->file_url);

      append_frame (stream, json);
    }
  input = g_byte_array_free_to_bytes (g_steal_pointer (&stream));

  replies = host_run (f, NULL, NULL, input, 0);
  g_assert_cmpuint (replies->len, ==, G_N_ELEMENTS (refused_cases));
  for (gsize i = 0; i < G_N_ELEMENTS (refused_cases); i++)
    {
      const RefusedCase *c = &refused_cases[i];
      JsonObject *reply = reply_object (replies, i);
      const char *reason = reply_error (reply);

      g_test_message ("%s → %s", c->json, reason);
      if (c->reason != NULL)
        g_assert_nonnull (strstr (reason, c->reason));
      if (c->id != NULL)
        {
          g_autofree char *echoed = json_to_string (json_object_get_member (reply, "id"),
                                                    FALSE);

          g_assert_cmpstr (echoed, ==, c->id);
        }
      else
        g_assert_false (json_object_has_member (reply, "id"));
    }

  assert_nothing_reached (f);
}

typedef struct
{
  const char *name;
  guint       replies;     /* error replies expected */
  int         exit;        /* the host's exit status */
} StreamCase;

/* Streams that break the protocol: the host answers what it can, exits cleanly, and never
 * reaches the daemon. */
static void
test_broken_streams (Fixture       *f,
                     gconstpointer  data)
{
  static const StreamCase cases[] = {
    { "short prefix", 0, 1 },
    { "short body", 0, 1 },
    { "too long", 1, 1 },
    { "4 GiB", 1, 1 },
    { "refused, then short body", 1, 1 },
    { "empty frames", 2, 0 },
    { "not UTF-8", 1, 0 },
    { "deep", 1, 0 },
    { "1 MiB", 1, 0 },
    { "1 MiB + 1", 1, 1 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const StreamCase *c = &cases[i];
      g_autoptr (GByteArray) stream = g_byte_array_new ();
      g_autoptr (GBytes) input = NULL;
      g_autoptr (GPtrArray) replies = NULL;
      static const guint8 some[] = "{\"v\":1,";
      static const guint8 not_utf8[] = "{\"v\":1,\"type\":\"\xc3\x28\"}";
      const char *unknown = "{\"v\":1,\"type\":\"nope\"}";

      g_test_message ("stream: %s", c->name);
      switch (i)
        {
        case 0:
          g_byte_array_append (stream, (const guint8 *) "\x02\x00", 2);
          break;
        case 1:
          append_raw_frame (stream, 100, some, sizeof some - 1);
          break;
        case 2:
          append_raw_frame (stream, 2 * 1024 * 1024, some, sizeof some - 1);
          break;
        case 3:
          append_raw_frame (stream, G_MAXUINT32, NULL, 0);
          break;
        case 4:
          append_frame (stream, unknown);
          append_raw_frame (stream, 50, some, sizeof some - 1);
          break;
        case 5:
          append_raw_frame (stream, 0, NULL, 0);
          append_raw_frame (stream, 0, NULL, 0);
          break;
        case 6:
          append_raw_frame (stream, sizeof not_utf8 - 1, not_utf8, sizeof not_utf8 - 1);
          break;
        case 7:
          {
            gsize size = 900 * 1024;
            g_autofree guint8 *deep = g_malloc (size);

            memset (deep, '[', size);
            append_raw_frame (stream, size, deep, size);
          }
          break;
        case 8:
        case 9:
          {
            /* The largest frame is read whole, one more byte is not. */
            gsize size = SL_NATIVE_MESSAGE_MAX_BYTES + (i == 9);
            g_autofree guint8 *big = g_malloc (size);

            memset (big, ' ', size);
            memcpy (big, unknown, strlen (unknown));
            append_raw_frame (stream, size, big, size);
          }
          break;
        default:
          g_assert_not_reached ();
        }

      input = g_byte_array_free_to_bytes (g_steal_pointer (&stream));
      replies = host_run (f, NULL, NULL, input, c->exit);
      g_assert_cmpuint (replies->len, ==, c->replies);
      for (guint r = 0; r < replies->len; r++)
        reply_error (reply_object (replies, r));
      if (i == 8)
        g_assert_nonnull (strstr (reply_error (reply_object (replies, 0)), "nope"));
      if (i == 2 || i == 3 || i == 9)
        g_assert_nonnull (strstr (reply_error (reply_object (replies, 0)), "1 MiB"));
    }

  assert_nothing_reached (f);
}

/* Reads one reply frame from a running host, failing after HOST_MS. */
typedef struct
{
  guint8  header[4];
  gsize   got;
  gboolean done;
  GError  *error;
} ReadReply;

static void
on_read (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  ReadReply *read = user_data;

  g_input_stream_read_all_finish (G_INPUT_STREAM (source), result, &read->got, &read->error);
  read->done = TRUE;
}

static gboolean
read_done (gpointer data)
{
  return ((ReadReply *) data)->done;
}

static JsonNode *
read_reply (GInputStream *out)
{
  ReadReply read = { { 0 } };
  g_autofree guint8 *body = NULL;
  guint32 length;
  JsonNode *root;
  g_autoptr (GError) error = NULL;

  g_input_stream_read_all_async (out, read.header, 4, G_PRIORITY_DEFAULT, NULL, on_read, &read);
  sl_test_wait_until (NULL, read_done, &read, HOST_MS);
  g_assert_no_error (read.error);
  g_assert_cmpuint (read.got, ==, 4);
  memcpy (&length, read.header, 4);
  g_assert_cmpuint (length, <=, SL_NATIVE_MESSAGE_MAX_BYTES);

  body = g_malloc (length + 1);
  read.done = FALSE;
  g_input_stream_read_all_async (out, body, length, G_PRIORITY_DEFAULT, NULL, on_read, &read);
  sl_test_wait_until (NULL, read_done, &read, HOST_MS);
  g_assert_no_error (read.error);
  g_assert_cmpuint (read.got, ==, length);
  body[length] = '\0';

  root = json_from_string ((const char *) body, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  return root;
}

static void
write_message (GOutputStream *in,
               const char    *message)
{
  g_autoptr (GBytes) frame = frame_of (message);
  g_autoptr (GError) error = NULL;

  g_output_stream_write_all (in, g_bytes_get_data (frame, NULL), g_bytes_get_size (frame),
                             NULL, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_flush (in, NULL, &error);
  g_assert_no_error (error);
}

/* A long-lived port: each message is answered before the next is sent, as connectNative
 * does; the end of stdin ends the host. With the arguments Chromium gives. */
static void
test_long_lived_port (Fixture       *f,
                      gconstpointer  data)
{
  static const char * const args[] = {
    "chrome-extension://cdhpdnmokchopihnkakdmfgkohdnogjp/", "--parent-window=0", NULL,
  };
  g_autoptr (GSubprocess) host = host_spawn (f, args, NULL);
  GOutputStream *in = g_subprocess_get_stdin_pipe (host);
  GInputStream *out = g_subprocess_get_stdout_pipe (host);
  g_autofree char *url = sl_test_server_url (f->server, "/file?size=5000&seed=5");
  g_autofree char *download = g_strdup_printf ("{\"v\":1,\"type\":\"download\",\"id\":2,"
                                               "\"url\":\"%s\"}", url);
  g_autofree char *log_file = g_build_filename (f->state, "sluice", "browser-host.log", NULL);
  g_autofree char *log = NULL;
  g_autoptr (JsonNode) first = NULL;
  g_autoptr (JsonNode) second = NULL;
  g_autoptr (JsonNode) third = NULL;
  g_autoptr (GArray) ids = NULL;
  g_autoptr (GError) error = NULL;
  HostRun run = { 0 };

  write_message (in, "{\"v\":1,\"type\":\"nope\",\"id\":1}");
  first = read_reply (out);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (first), "id"), ==, 1);
  reply_error (json_node_get_object (first));

  write_message (in, download);
  second = read_reply (out);
  g_assert_true (reply_ok (json_node_get_object (second)));
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (second), "id"), ==, 2);
  ids = reply_ids (json_node_get_object (second));
  g_assert_cmpuint (ids->len, ==, 1);

  write_message (in, "{\"v\":1,\"type\":\"ping\",\"id\":3}");
  third = read_reply (out);
  g_assert_true (json_object_get_boolean_member (json_node_get_object (third), "daemon"));

  g_output_stream_close (in, NULL, &error);
  g_assert_no_error (error);
  g_subprocess_wait_async (host, NULL, on_exited, &run);
  sl_test_wait_until (NULL, sl_test_flag_is_set, &run.exited, HOST_MS);
  g_assert_true (WIFEXITED (run.status));
  g_assert_cmpint (WEXITSTATUS (run.status), ==, 0);

  wait_completed (f, g_array_index (ids, guint64, 0));

  /* The log says who started the host and what it did, without the address's path. */
  g_assert_true (g_file_get_contents (log_file, &log, NULL, NULL));
  g_assert_nonnull (strstr (log, "--parent-window=0"));
  g_assert_nonnull (strstr (log, "added from http://127.0.0.1:"));
  g_assert_null (strstr (log, "seed=5"));
  g_assert_nonnull (strstr (log, "closed the connection"));
}

/* sendNativeMessage as Firefox does it: one message, then stdin closes; with the arguments
 * Firefox gives. */
static void
test_one_shot_firefox (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *manifest = g_build_filename (f->home, ".mozilla", "native-messaging-hosts",
                                                "org.sluice.browser_host.json", NULL);
  const char * const args[] = { manifest, "browser@sluice.org", NULL };
  g_autofree char *message = g_strdup_printf ("{\"v\":1,\"type\":\"download\",\"url\":\"%s\"}",
                                              f->file_url);
  g_autoptr (GBytes) input = frame_of (message);
  g_autoptr (GPtrArray) replies = host_run (f, args, NULL, input, 0);
  g_autoptr (GArray) ids = NULL;

  g_assert_cmpuint (replies->len, ==, 1);
  ids = reply_ids (reply_object (replies, 0));
  g_assert_cmpuint (ids->len, ==, 1);
  wait_completed (f, g_array_index (ids, guint64, 0));
}

static void
write_manifest (const char *dir,
                const char *text)
{
  g_autofree char *file = g_build_filename (dir, "org.sluice.browser_host.json", NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (file, text, -1, NULL));
}

static void
test_diagnose (Fixture       *f,
               gconstpointer  data)
{
  const char *host = g_getenv ("SLUICE_BROWSER_HOST");
  g_autofree char *firefox = g_build_filename (f->home, ".mozilla", "native-messaging-hosts",
                                               NULL);
  g_autofree char *chromium = g_build_filename (f->config, "chromium", "NativeMessagingHosts",
                                                NULL);
  g_autofree char *brave = g_build_filename (f->config, "BraveSoftware", "Brave-Browser",
                                             "NativeMessagingHosts", NULL);
  g_autofree char *good = sl_browser_manifest_build (SL_BROWSER_FAMILY_MOZILLA, host);
  g_autofree char *elsewhere = sl_browser_manifest_build (SL_BROWSER_FAMILY_CHROMIUM,
                                                          "/bin/sh");
  g_autoptr (GSubprocessLauncher) launcher = host_launcher (f, NULL);
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *firefox_line = NULL;
  g_autofree char *this_program = NULL;
  g_autofree char *canonical = g_canonicalize_filename (host, NULL);

  write_manifest (firefox, good);
  write_manifest (chromium, elsewhere);
  write_manifest (brave, "{ not json");

  process = g_subprocess_launcher_spawn (launcher, &error, host, "--diagnose", NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 0);
  g_test_message ("%s", out);

  this_program = g_strdup_printf ("This program: %s\n", canonical);
  g_assert_nonnull (strstr (out, this_program));
  firefox_line = g_strdup_printf ("Firefox (user): %s\n    installed, starts this program\n",
                                  firefox);
  g_assert_nonnull (strstr (out, firefox_line));
  g_assert_nonnull (strstr (out, "installed, but starts another copy of the host: /bin/sh\n"));
  g_assert_nonnull (strstr (out, "Brave (user): "));
  g_assert_nonnull (strstr (out, "damaged: The manifest is not valid JSON"));
  g_assert_nonnull (strstr (out, "Vivaldi (user): "));
  g_assert_nonnull (strstr (out, "Google Chrome (system): "
                                 "/etc/opt/chrome/native-messaging-hosts\n"));
  g_assert_nonnull (strstr (out, "not installed"));
  g_assert_null (strstr (out, "No browser can start the host"));
  g_assert_nonnull (strstr (out, "Daemon: answers on the session bus\n"));
  g_assert_nonnull (strstr (out, "browser-host.log"));
}

static void
test_diagnose_nothing (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr (GSubprocessLauncher) launcher = host_launcher (f, NULL);
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL;

  process = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("SLUICE_BROWSER_HOST"),
                                         "--diagnose", NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &out, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 0);
  g_assert_nonnull (strstr (out, "No browser can start the host"));
  g_assert_nonnull (strstr (out, "Daemon: does not answer: "));
  g_assert_false (f->name_ever_owned);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  /* A host that exits while the test still writes to it must fail the test, not kill it. */
  signal (SIGPIPE, SIG_IGN);

  g_test_add_func ("/browser-host/frame/table", test_frame_table);
  g_test_add_func ("/browser-host/frame/content", test_frame_content);
  g_test_add_func ("/browser-host/request/refused", test_request_refused);
  g_test_add_func ("/browser-host/request/bytes", test_request_bytes);
  g_test_add_func ("/browser-host/request/accepted", test_request_accepted);
  g_test_add_func ("/browser-host/request/cookies", test_request_cookies);
  g_test_add_func ("/browser-host/reply", test_replies);
  g_test_add_func ("/browser-host/manifest/build", test_manifest_build);
  g_test_add_func ("/browser-host/manifest/locations", test_manifest_locations);
  g_test_add_func ("/browser-host/manifest/inspect", test_manifest_inspect);

#define ADD_TEST(path, setup, func) \
  g_test_add (path, Fixture, &setup, fixture_setup, func, fixture_teardown)

  ADD_TEST ("/browser-host/ping/activates", with_daemon, test_ping_activates);
  ADD_TEST ("/browser-host/ping/no-daemon", without_daemon, test_ping_no_daemon);
  ADD_TEST ("/browser-host/download/headers", with_daemon, test_download_headers);
  ADD_TEST ("/browser-host/download/urls", with_daemon, test_download_urls);
  ADD_TEST ("/browser-host/download/daemon-refuses", with_bad_folder,
            test_download_daemon_refuses);
  ADD_TEST ("/browser-host/refused/messages", with_daemon, test_refused);
  ADD_TEST ("/browser-host/refused/streams", with_daemon, test_broken_streams);
  ADD_TEST ("/browser-host/port/long-lived", with_daemon, test_long_lived_port);
  ADD_TEST ("/browser-host/port/one-shot", with_daemon, test_one_shot_firefox);
  ADD_TEST ("/browser-host/diagnose/found", with_daemon, test_diagnose);
  ADD_TEST ("/browser-host/diagnose/nothing", without_daemon, test_diagnose_nothing);

#undef ADD_TEST

  return g_test_run ();
}
