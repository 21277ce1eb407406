/* fuzz-native-message.c
 *
 * What a browser (or a page through it) can send sluice-browser-host: a stream of frames, and
 * each message in it. The first byte of the input decides how the stream is cut into reads;
 * the rest is the stream, and is also read as one message by itself, so that JSON seeds reach
 * the parser without a length prefix.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "fuzz-check.h"
#include "sl-filename-rules.h"
#include "sl-header-rules.h"
#include "sl-native-message.h"
#include "sl-uri.h"

/* A reply must be one frame of UTF-8 JSON, an object saying v 1 and whether it is ok, and
 * carry the request's id back as it came. */
static void
check_reply (const char *reply,
             gboolean    ok,
             JsonNode   *id)
{
  g_autoptr (GBytes) frame = sl_frame_encode (reply);
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GError) error = NULL;
  JsonObject *object;

  CHECK (frame != NULL);
  CHECK (g_utf8_validate (reply, -1, NULL));
  root = json_from_string (reply, &error);
  CHECK (root != NULL && JSON_NODE_HOLDS_OBJECT (root));
  object = json_node_get_object (root);
  CHECK (json_object_get_int_member (object, "v") == 1);
  CHECK (json_object_get_boolean_member (object, "ok") == ok);
  if (id != NULL)
    CHECK (json_object_has_member (object, "id") &&
           json_node_equal (json_object_get_member (object, "id"), id));
  else
    CHECK (!json_object_has_member (object, "id"));
  if (!ok)
    {
      const char *message = json_object_get_string_member (object, "error");

      CHECK (message != NULL && *message != '\0');
      CHECK (strchr (message, '\n') == NULL && strchr (message, '\r') == NULL);
    }
}

/* Everything in an accepted download is what the daemon accepts too. */
static void
check_download (const SlNativeRequest *request)
{
  CHECK (request->items != NULL);
  CHECK (request->items->len >= 1 && request->items->len <= SL_NATIVE_MESSAGE_MAX_URLS);
  CHECK (request->filename == NULL || request->items->len == 1);
  CHECK (request->filename == NULL || sl_filename_check (request->filename, NULL));
  CHECK (request->referrer == NULL || sl_header_check ("Referer", request->referrer, NULL));
  CHECK (request->user_agent == NULL ||
         sl_header_check ("User-Agent", request->user_agent, NULL));
  CHECK (request->size >= -1);

  for (guint i = 0; i < request->items->len; i++)
    {
      const SlNativeItem *item = g_ptr_array_index (request->items, i);
      g_autoptr (GUri) uri = sl_uri_parse_download (item->url, NULL);
      g_autoptr (GVariant) options = g_variant_ref_sink (sl_native_request_options (request, i));

      CHECK (uri != NULL);
      CHECK (item->cookies == NULL || sl_header_check ("Cookie", item->cookies, NULL));
      CHECK (g_variant_is_of_type (options, G_VARIANT_TYPE_VARDICT));
      CHECK (!g_variant_lookup (options, "directory", "s", NULL));
      /* Option values go over D-Bus, as text. */
      CHECK (g_variant_is_normal_form (options));
    }
}

static void
check_message (const char *message,
               gsize       length)
{
  g_autoptr (JsonNode) id = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlNativeRequest) request = NULL;
  g_autofree char *reply = NULL;

  request = sl_native_request_parse (message, length, &id, &error);
  if (request == NULL)
    {
      CHECK (error != NULL && error->domain == SL_NATIVE_MESSAGE_ERROR);
      CHECK (g_utf8_validate (error->message, -1, NULL));
      reply = sl_native_reply_error (id, error->message, NULL, 0);
      check_reply (reply, FALSE, id);
      return;
    }

  CHECK (error == NULL);
  if (request->type == SL_NATIVE_REQUEST_DOWNLOAD)
    {
      guint64 ids[] = { 1, 2 };

      check_download (request);
      reply = sl_native_reply_ids (id, ids, G_N_ELEMENTS (ids));
    }
  else
    reply = sl_native_reply_ping (id, "0", TRUE);
  check_reply (reply, TRUE, id);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr (SlFrameReader) reader = NULL;
  gboolean broken = FALSE;
  size_t step;

  if (size == 0)
    return 0;
  /* 0: the whole stream in one read; else reads of 1 to 255 bytes. */
  step = data[0] == 0 ? size : data[0];
  data++;
  size--;

  check_message ((const char *) data, size);

  reader = sl_frame_reader_new ();
  for (size_t offset = 0; offset < size && !broken; offset += step)
    {
      sl_frame_reader_push (reader, data + offset, MIN (step, size - offset));
      for (;;)
        {
          g_autoptr (GBytes) frame = NULL;
          g_autoptr (GError) error = NULL;
          SlFrameStatus status = sl_frame_reader_next (reader, &frame, &error);

          if (status == SL_FRAME_NEED_MORE)
            break;
          if (status == SL_FRAME_BROKEN)
            {
              CHECK (error != NULL);
              broken = TRUE;
              break;
            }
          CHECK (g_bytes_get_size (frame) <= SL_NATIVE_MESSAGE_MAX_BYTES);
          check_message (g_bytes_get_data (frame, NULL) ? g_bytes_get_data (frame, NULL) : "",
                         g_bytes_get_size (frame));
        }
    }
  {
    g_autoptr (GError) error = NULL;
    gboolean clean = sl_frame_reader_finish (reader, &error);

    CHECK (clean == (error == NULL));
    CHECK (!broken || !clean);
  }

  return 0;
}
