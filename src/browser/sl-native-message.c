/* sl-native-message.c
 *
 * The native-messaging protocol between the browser extension and sluice-browser-host, with
 * no I/O: cutting a byte stream into frames, reading a message into a request that passed
 * every check the daemon would make, and writing replies. Everything the browser sends is
 * untrusted: a web page chooses much of it (addresses, file names, cookies of its own).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "sl-filename-rules.h"
#include "sl-header-rules.h"
#include "sl-native-message.h"
#include "sl-types.h"
#include "sl-uri.h"

/* How much of a refused value an error message quotes, in characters. */
#define QUOTE_MAX_CHARS 64

/* The longest `id` echoed back: a long-lived port matches answers by it, and a reply must stay
 * far below what the browser takes. */
#define ID_MAX_BYTES 256

/* The longest error message in a reply, in characters. */
#define REPLY_ERROR_MAX_CHARS 1000

G_DEFINE_QUARK (sl-native-message-error-quark, sl_native_message_error)

/* Frames */

struct _SlFrameReader
{
  GByteArray *buffer;
  gboolean    broken;
};

/**
 * sl_frame_reader_new:
 *
 * Makes a reader that cuts the bytes pushed into it into frames: a 32-bit length in native
 * byte order, then that many bytes of message.
 *
 * Returns: (transfer full): a new reader
 */
SlFrameReader *
sl_frame_reader_new (void)
{
  SlFrameReader *reader = g_new0 (SlFrameReader, 1);

  reader->buffer = g_byte_array_new ();
  return reader;
}

/**
 * sl_frame_reader_free:
 * @reader: (nullable): a reader
 */
void
sl_frame_reader_free (SlFrameReader *reader)
{
  if (reader == NULL)
    return;

  g_byte_array_unref (reader->buffer);
  g_free (reader);
}

/**
 * sl_frame_reader_push:
 * @reader: a reader
 * @data: (array length=length): bytes that came in
 * @length: how many
 *
 * Adds bytes from the stream. Take the frames out with sl_frame_reader_next() after each
 * push: the reader keeps at most one frame and what came after it.
 */
void
sl_frame_reader_push (SlFrameReader *reader,
                      const guint8  *data,
                      gsize          length)
{
  g_return_if_fail (reader != NULL);
  g_return_if_fail (data != NULL || length == 0);

  if (reader->broken || length == 0)
    return;

  g_byte_array_append (reader->buffer, data, length);
}

static void
set_too_long (GError  **error,
              guint32   length)
{
  g_set_error (error, SL_NATIVE_MESSAGE_ERROR, SL_NATIVE_MESSAGE_ERROR_TOO_LONG,
               /* Translators: %u is a number of bytes */
               _("A message of %u bytes is longer than the 1 MiB a message may have"), length);
}

/**
 * sl_frame_reader_next:
 * @reader: a reader
 * @frame: (out) (transfer full) (optional): the next message, without its length prefix
 * @error: return location for an error: %SL_NATIVE_MESSAGE_ERROR_TOO_LONG
 *
 * Takes the next whole frame out of the reader. A length over %SL_NATIVE_MESSAGE_MAX_BYTES
 * breaks the stream: whatever follows it cannot be told apart from garbage, so the reader
 * gives nothing more.
 *
 * Returns: %SL_FRAME_READY with @frame set, %SL_FRAME_NEED_MORE, or %SL_FRAME_BROKEN with
 *   @error set
 */
SlFrameStatus
sl_frame_reader_next (SlFrameReader  *reader,
                      GBytes        **frame,
                      GError        **error)
{
  guint32 length;

  g_return_val_if_fail (reader != NULL, SL_FRAME_BROKEN);

  if (frame != NULL)
    *frame = NULL;

  if (reader->buffer->len < SL_NATIVE_FRAME_HEADER_BYTES)
    {
      if (!reader->broken)
        return SL_FRAME_NEED_MORE;
      g_set_error_literal (error, SL_NATIVE_MESSAGE_ERROR, SL_NATIVE_MESSAGE_ERROR_TOO_LONG,
                           _("The stream of messages is broken"));
      return SL_FRAME_BROKEN;
    }

  memcpy (&length, reader->buffer->data, sizeof length);
  if (length > SL_NATIVE_MESSAGE_MAX_BYTES)
    {
      reader->broken = TRUE;
      set_too_long (error, length);
      /* Nothing after it is read again; the prefix stays to say why. */
      g_byte_array_set_size (reader->buffer, SL_NATIVE_FRAME_HEADER_BYTES);
      return SL_FRAME_BROKEN;
    }

  if (reader->buffer->len - SL_NATIVE_FRAME_HEADER_BYTES < length)
    return SL_FRAME_NEED_MORE;

  if (frame != NULL)
    *frame = g_bytes_new (reader->buffer->data + SL_NATIVE_FRAME_HEADER_BYTES, length);
  g_byte_array_remove_range (reader->buffer, 0, SL_NATIVE_FRAME_HEADER_BYTES + length);
  return SL_FRAME_READY;
}

/**
 * sl_frame_reader_finish:
 * @reader: a reader
 * @error: return location for an error: %SL_NATIVE_MESSAGE_ERROR_TRUNCATED or
 *   %SL_NATIVE_MESSAGE_ERROR_TOO_LONG
 *
 * Says the stream has ended.
 *
 * Returns: whether it ended cleanly, between two frames
 */
gboolean
sl_frame_reader_finish (SlFrameReader  *reader,
                        GError        **error)
{
  g_return_val_if_fail (reader != NULL, FALSE);

  if (reader->broken)
    {
      guint32 length;

      memcpy (&length, reader->buffer->data, sizeof length);
      set_too_long (error, length);
      return FALSE;
    }

  if (reader->buffer->len == 0)
    return TRUE;

  g_set_error_literal (error, SL_NATIVE_MESSAGE_ERROR, SL_NATIVE_MESSAGE_ERROR_TRUNCATED,
                       reader->buffer->len < SL_NATIVE_FRAME_HEADER_BYTES
                         ? _("The stream ended inside the length of a message")
                         : _("The stream ended inside a message"));
  return FALSE;
}

/**
 * sl_frame_encode:
 * @message: a message, at most %SL_NATIVE_MESSAGE_MAX_BYTES bytes
 *
 * Returns: (transfer full): @message with its length prefix
 */
GBytes *
sl_frame_encode (const char *message)
{
  gsize length;
  guint32 prefix;
  guint8 *data;

  g_return_val_if_fail (message != NULL, NULL);

  length = strlen (message);
  g_return_val_if_fail (length <= SL_NATIVE_MESSAGE_MAX_BYTES, NULL);

  prefix = (guint32) length;
  data = g_malloc (SL_NATIVE_FRAME_HEADER_BYTES + length);
  memcpy (data, &prefix, sizeof prefix);
  memcpy (data + SL_NATIVE_FRAME_HEADER_BYTES, message, length);
  return g_bytes_new_take (data, SL_NATIVE_FRAME_HEADER_BYTES + length);
}

/* @text as one line of valid UTF-8 of at most @max_chars characters: bytes that are not
 * UTF-8 replaced, control characters and line separators made spaces. */
static char *
one_line (const char *text,
          glong       max_chars)
{
  g_autofree char *valid = g_utf8_make_valid (text, -1);
  GString *line = g_string_new (NULL);
  glong n_chars = 0;

  for (const char *p = valid; *p != '\0' && n_chars < max_chars;
       p = g_utf8_next_char (p), n_chars++)
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_iscntrl (c) || g_unichar_type (c) == G_UNICODE_LINE_SEPARATOR ||
          g_unichar_type (c) == G_UNICODE_PARAGRAPH_SEPARATOR)
        g_string_append_c (line, ' ');
      else
        g_string_append_unichar (line, c);
    }

  return g_string_free (line, FALSE);
}

/* Requests */

/* @text in a form that fits in one line of a message: at most QUOTE_MAX_CHARS characters,
 * control characters and quotes escaped, the rest of UTF-8 kept readable. */
static char *
quote (const char *text)
{
  char high_bytes[129];
  g_autofree char *head = NULL;
  g_autofree char *escaped = NULL;
  gboolean truncated = g_utf8_strlen (text, -1) > QUOTE_MAX_CHARS;

  for (guint i = 0; i < 128; i++)
    high_bytes[i] = (char) (0x80 + i);
  high_bytes[128] = '\0';

  head = truncated ? g_utf8_substring (text, 0, QUOTE_MAX_CHARS) : g_strdup (text);
  escaped = g_strescape (head, high_bytes);
  return truncated ? g_strconcat (escaped, "…", NULL) : g_steal_pointer (&escaped);
}

static void
set_invalid (GError     **error,
             const char  *message)
{
  g_set_error_literal (error, SL_NATIVE_MESSAGE_ERROR, SL_NATIVE_MESSAGE_ERROR_INVALID, message);
}

static gboolean
is_json_space (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Reads the four hex digits of a \u escape at @start. */
static gboolean
read_hex4 (const char *text,
           gsize       length,
           gsize       start,
           gunichar   *unit)
{
  *unit = 0;
  if (start + 4 > length)
    return FALSE;

  for (gsize i = start; i < start + 4; i++)
    {
      int digit = g_ascii_xdigit_value (text[i]);

      if (digit < 0)
        return FALSE;
      *unit = (*unit << 4) | (gunichar) digit;
    }
  return TRUE;
}

static void
set_bad_escape (GError **error)
{
  g_set_error_literal (error, SL_NATIVE_MESSAGE_ERROR, SL_NATIVE_MESSAGE_ERROR_SYNTAX,
                       _("The message has a malformed \\u escape"));
}

/* What the JSON parser must not see: anything but one object (json-glib 1.6 leaks a value
 * that follows another); nesting deeper than it should recurse; \u escapes that spell no
 * character (a lone or reversed surrogate, which json-glib 1.6 turns into bytes that are not
 * UTF-8); and \u0000, which would cut a string short where the check and the daemon could see
 * different text. A light scan of strings and brackets; the parser judges the rest. */
static gboolean
check_structure (const char  *text,
                 gsize        length,
                 GError     **error)
{
  gboolean in_string = FALSE;
  gboolean ended = FALSE;
  guint depth = 0;
  gsize i = 0;

  while (i < length && is_json_space (text[i]))
    i++;
  if (i == length || text[i] != '{')
    {
      g_set_error_literal (error, SL_NATIVE_MESSAGE_ERROR, SL_NATIVE_MESSAGE_ERROR_SYNTAX,
                           _("The message is not a JSON object"));
      return FALSE;
    }

  for (; i < length; i++)
    {
      char c = text[i];

      if (ended)
        {
          if (!is_json_space (c))
            {
              g_set_error_literal (error, SL_NATIVE_MESSAGE_ERROR,
                                   SL_NATIVE_MESSAGE_ERROR_SYNTAX,
                                   _("The message goes on after its JSON object"));
              return FALSE;
            }
        }
      else if (in_string)
        {
          if (c == '\\' && i + 1 < length && text[i + 1] == 'u')
            {
              gunichar unit, low;

              if (!read_hex4 (text, length, i + 2, &unit) || (unit >= 0xdc00 && unit <= 0xdfff))
                {
                  set_bad_escape (error);
                  return FALSE;
                }
              if (unit == 0)
                {
                  g_set_error_literal (error, SL_NATIVE_MESSAGE_ERROR,
                                       SL_NATIVE_MESSAGE_ERROR_SYNTAX,
                                       _("The message contains a NUL character"));
                  return FALSE;
                }
              if (unit >= 0xd800 && unit <= 0xdbff)
                {
                  /* A high surrogate must be followed by a low one, as a second escape. */
                  if (i + 7 >= length || text[i + 6] != '\\' || text[i + 7] != 'u' ||
                      !read_hex4 (text, length, i + 8, &low) || low < 0xdc00 || low > 0xdfff)
                    {
                      set_bad_escape (error);
                      return FALSE;
                    }
                  i += 6;
                }
              i += 5;
            }
          else if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
        }
      else if (c == '"')
        in_string = TRUE;
      else if (c == '[' || c == '{')
        {
          if (++depth > SL_NATIVE_MESSAGE_MAX_DEPTH)
            {
              g_set_error (error, SL_NATIVE_MESSAGE_ERROR, SL_NATIVE_MESSAGE_ERROR_SYNTAX,
                           _("The message nests deeper than %d levels"),
                           SL_NATIVE_MESSAGE_MAX_DEPTH);
              return FALSE;
            }
        }
      else if ((c == ']' || c == '}') && depth > 0)
        ended = --depth == 0;
    }

  return TRUE;
}

static gboolean
node_is_string (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING;
}

static gboolean
node_is_integer (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64;
}

static gboolean
node_is_number (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) && (json_node_get_value_type (node) == G_TYPE_INT64 ||
                                          json_node_get_value_type (node) == G_TYPE_DOUBLE);
}

/* An optional text field: missing, null or empty is none. JSON escapes can spell text that is
 * not UTF-8 (a lone surrogate), which is refused like any other wrong type. */
static gboolean
get_text (JsonObject  *object,
          const char  *name,
          char       **out,
          GError     **error)
{
  JsonNode *node = json_object_get_member (object, name);
  const char *text;

  *out = NULL;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;

  if (!node_is_string (node) || !g_utf8_validate (json_node_get_string (node), -1, NULL))
    {
      g_set_error (error, SL_NATIVE_MESSAGE_ERROR, SL_NATIVE_MESSAGE_ERROR_INVALID,
                   _("The field “%s” must be text"), name);
      return FALSE;
    }

  text = json_node_get_string (node);
  if (*text != '\0')
    *out = g_strdup (text);
  return TRUE;
}

static gboolean
get_id (JsonObject  *object,
        JsonNode   **id,
        GError     **error)
{
  JsonNode *node = json_object_get_member (object, "id");

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;

  if (node_is_number (node) ||
      (node_is_string (node) && strlen (json_node_get_string (node)) <= ID_MAX_BYTES &&
       g_utf8_validate (json_node_get_string (node), -1, NULL)))
    {
      if (id != NULL)
        *id = json_node_copy (node);
      return TRUE;
    }

  g_set_error (error, SL_NATIVE_MESSAGE_ERROR, SL_NATIVE_MESSAGE_ERROR_INVALID,
               _("The field “id” must be a number or a text of at most %d bytes"),
               ID_MAX_BYTES);
  return FALSE;
}

static void
item_free (SlNativeItem *item)
{
  g_free (item->url);
  g_free (item->cookies);
  g_free (item);
}

/* The port a request to @uri goes to, default ports filled in. */
static int
effective_port (GUri *uri)
{
  int port = g_uri_get_port (uri);

  if (port > 0)
    return port;
  return g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") == 0 ? 443 : 80;
}

static gboolean
same_origin (GUri *a,
             GUri *b)
{
  return g_ascii_strcasecmp (g_uri_get_scheme (a), g_uri_get_scheme (b)) == 0 &&
         g_ascii_strcasecmp (g_uri_get_host (a), g_uri_get_host (b)) == 0 &&
         effective_port (a) == effective_port (b);
}

/* Parses one address of a download. Addresses a page makes for itself (`blob:`, `data:`)
 * exist only inside the browser, which must keep that download; saying so helps more than
 * "unsupported scheme". */
static GUri *
parse_address (const char  *text,
               GError     **error)
{
  g_autoptr (GError) uri_error = NULL;
  GUri *uri = sl_uri_parse_download (text, &uri_error);

  if (uri != NULL)
    return uri;

  if (g_ascii_strncasecmp (text, "blob:", 5) == 0 || g_ascii_strncasecmp (text, "data:", 5) == 0)
    {
      g_autofree char *quoted = quote (text);

      g_set_error (error, SL_NATIVE_MESSAGE_ERROR, SL_NATIVE_MESSAGE_ERROR_INVALID,
                   _("“%s” was made by the page and exists only in the browser; only http:// "
                     "and https:// addresses can be handed to Sluice"), quoted);
      return NULL;
    }

  set_invalid (error, uri_error->message);
  return NULL;
}

/* Adds the address @text to @items unless an equal one is there already, keeping @seen and
 * @first (the first address, whose origin the cookies belong to) up to date. */
static gboolean
add_address (GPtrArray   *items,
             GHashTable  *seen,
             GUri       **first,
             const char  *text,
             const char  *cookies,
             GError     **error)
{
  g_autoptr (GUri) uri = parse_address (text, error);
  g_autofree char *written = NULL;
  SlNativeItem *item;

  if (uri == NULL)
    return FALSE;

  written = g_uri_to_string (uri);
  if (g_hash_table_contains (seen, written))
    return TRUE;

  item = g_new0 (SlNativeItem, 1);
  item->url = g_strdup (text);
  if (*first == NULL)
    *first = g_uri_ref (uri);
  /* The browser gave the cookies of one page's origin: they go to no other server. */
  if (cookies != NULL && same_origin (*first, uri))
    item->cookies = g_strdup (cookies);
  g_ptr_array_add (items, item);
  g_hash_table_add (seen, g_steal_pointer (&written));
  return TRUE;
}

static gboolean
parse_download (JsonObject       *object,
                SlNativeRequest  *request,
                GError          **error)
{
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GUri) first = NULL;
  g_autofree char *url = NULL;
  g_autofree char *cookies = NULL;
  JsonNode *urls = NULL;
  JsonNode *size;

  /* The folder is the user's choice in Sluice, never a page's. */
  if (json_object_has_member (object, "directory"))
    {
      set_invalid (error, _("The field “directory” is refused: downloads go to the folder "
                            "chosen in Sluice"));
      return FALSE;
    }

  if (!get_text (object, "url", &url, error) ||
      !get_text (object, "referrer", &request->referrer, error) ||
      !get_text (object, "cookies", &cookies, error) ||
      !get_text (object, "userAgent", &request->user_agent, error) ||
      !get_text (object, "filename", &request->filename, error) ||
      !get_text (object, "mime", &request->mime, error))
    return FALSE;

  request->size = -1;
  size = json_object_get_member (object, "size");
  if (size != NULL && !JSON_NODE_HOLDS_NULL (size))
    {
      if (!node_is_integer (size) || json_node_get_int (size) < -1)
        {
          set_invalid (error, _("The field “size” must be a whole number of bytes, or -1"));
          return FALSE;
        }
      request->size = json_node_get_int (size);
    }

  urls = json_object_get_member (object, "urls");
  if (urls != NULL && JSON_NODE_HOLDS_NULL (urls))
    urls = NULL;
  if (urls != NULL)
    {
      JsonArray *array;

      if (!JSON_NODE_HOLDS_ARRAY (urls))
        {
          set_invalid (error, _("The field “urls” must be a list of addresses"));
          return FALSE;
        }
      array = json_node_get_array (urls);
      if (json_array_get_length (array) > SL_NATIVE_MESSAGE_MAX_URLS)
        {
          g_set_error (error, SL_NATIVE_MESSAGE_ERROR, SL_NATIVE_MESSAGE_ERROR_INVALID,
                       _("A download may carry at most %d addresses"),
                       SL_NATIVE_MESSAGE_MAX_URLS);
          return FALSE;
        }
      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *element = json_array_get_element (array, i);

          if (!node_is_string (element) ||
              !g_utf8_validate (json_node_get_string (element), -1, NULL))
            {
              set_invalid (error, _("The field “urls” must be a list of addresses"));
              return FALSE;
            }
        }
    }

  /* Headers first: the daemon refuses the same, and nothing must reach it that it would. */
  if (request->referrer != NULL)
    {
      g_autoptr (GError) referrer_error = NULL;
      g_autoptr (GUri) referrer = sl_uri_parse_download (request->referrer, &referrer_error);

      if (referrer == NULL)
        {
          g_set_error (error, SL_NATIVE_MESSAGE_ERROR, SL_NATIVE_MESSAGE_ERROR_INVALID,
                       _("The referrer is not a web address: %s"), referrer_error->message);
          return FALSE;
        }
    }
  {
    static const struct {
      const char *header;
      gsize       offset;
    } headers[] = {
      { "Referer", G_STRUCT_OFFSET (SlNativeRequest, referrer) },
      { "User-Agent", G_STRUCT_OFFSET (SlNativeRequest, user_agent) },
    };
    g_autoptr (GError) header_error = NULL;

    for (gsize i = 0; i < G_N_ELEMENTS (headers); i++)
      {
        const char *value = G_STRUCT_MEMBER (char *, request, headers[i].offset);

        if (value != NULL && !sl_header_check (headers[i].header, value, &header_error))
          {
            set_invalid (error, header_error->message);
            return FALSE;
          }
      }
    if (cookies != NULL && !sl_header_check ("Cookie", cookies, &header_error))
      {
        set_invalid (error, header_error->message);
        return FALSE;
      }
  }

  request->items = g_ptr_array_new_with_free_func ((GDestroyNotify) item_free);
  if (url != NULL && !add_address (request->items, seen, &first, url, cookies, error))
    return FALSE;
  if (urls != NULL)
    {
      JsonArray *array = json_node_get_array (urls);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          const char *text = json_array_get_string_element (array, i);

          if (!add_address (request->items, seen, &first, text, cookies, error))
            return FALSE;
        }
    }
  if (request->items->len == 0)
    {
      set_invalid (error, _("The download has no address: give “url” or “urls”"));
      return FALSE;
    }

  if (request->filename != NULL)
    {
      g_autoptr (GError) name_error = NULL;

      if (!sl_filename_check (request->filename, &name_error))
        {
          set_invalid (error, name_error->message);
          return FALSE;
        }
      if (request->items->len > 1)
        {
          set_invalid (error, _("A file name goes with exactly one address"));
          return FALSE;
        }
    }

  return TRUE;
}

/**
 * sl_native_request_parse:
 * @message: (array length=length): a message from the browser, without its length prefix
 * @length: its length in bytes
 * @id: (out) (optional) (transfer full) (nullable): the request's `id`, to echo in the reply;
 *   set whenever the message could be read that far, even if it is refused
 * @error: return location for a one-line reason, in the %SL_NATIVE_MESSAGE_ERROR domain
 *
 * Reads and checks a request: UTF-8 JSON, an object with `"v": 1` and a known `type`, and for
 * a download every field of the right type and acceptable to the daemon (http and https
 * addresses only, a plain file name, headers without line breaks, no `directory`). Unknown
 * fields are ignored, so that newer extensions can add some; null, like an empty text, is
 * the same as a missing field.
 *
 * Returns: (transfer full) (nullable): the request, or %NULL if it is refused
 */
SlNativeRequest *
sl_native_request_parse (const char  *message,
                         gsize        length,
                         JsonNode   **id,
                         GError     **error)
{
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (GError) parse_error = NULL;
  g_autoptr (SlNativeRequest) request = NULL;
  JsonObject *object;
  JsonNode *root;
  JsonNode *node;
  const char *type;

  g_return_val_if_fail (message != NULL || length == 0, NULL);

  if (id != NULL)
    *id = NULL;

  if (length == 0)
    {
      g_set_error_literal (error, SL_NATIVE_MESSAGE_ERROR, SL_NATIVE_MESSAGE_ERROR_SYNTAX,
                           _("The message is empty"));
      return NULL;
    }
  /* This also refuses NUL bytes. */
  if (!g_utf8_validate_len (message, length, NULL))
    {
      g_set_error_literal (error, SL_NATIVE_MESSAGE_ERROR, SL_NATIVE_MESSAGE_ERROR_ENCODING,
                           _("The message is not UTF-8 text"));
      return NULL;
    }
  if (!check_structure (message, length, error))
    return NULL;

  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, message, length, &parse_error))
    {
      /* The parser quotes the input, cut at any byte. */
      g_autofree char *reason = one_line (parse_error->message, REPLY_ERROR_MAX_CHARS);

      g_set_error (error, SL_NATIVE_MESSAGE_ERROR, SL_NATIVE_MESSAGE_ERROR_SYNTAX,
                   _("The message is not valid JSON: %s"), reason);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, SL_NATIVE_MESSAGE_ERROR, SL_NATIVE_MESSAGE_ERROR_SYNTAX,
                           _("The message is not a JSON object"));
      return NULL;
    }
  object = json_node_get_object (root);

  if (!get_id (object, id, error))
    return NULL;

  node = json_object_get_member (object, "v");
  if (node == NULL)
    {
      set_invalid (error, _("The message has no version “v”"));
      return NULL;
    }
  if (!node_is_integer (node) || json_node_get_int (node) != SL_NATIVE_MESSAGE_VERSION)
    {
      g_set_error (error, SL_NATIVE_MESSAGE_ERROR, SL_NATIVE_MESSAGE_ERROR_INVALID,
                   _("This host speaks version %d of the messages only"),
                   SL_NATIVE_MESSAGE_VERSION);
      return NULL;
    }

  node = json_object_get_member (object, "type");
  if (node == NULL)
    {
      set_invalid (error, _("The message has no “type”"));
      return NULL;
    }
  if (!node_is_string (node) || !g_utf8_validate (json_node_get_string (node), -1, NULL))
    {
      set_invalid (error, _("The field “type” must be text"));
      return NULL;
    }
  type = json_node_get_string (node);

  request = g_new0 (SlNativeRequest, 1);
  request->size = -1;
  if (g_str_equal (type, "ping"))
    request->type = SL_NATIVE_REQUEST_PING;
  else if (g_str_equal (type, "download"))
    {
      request->type = SL_NATIVE_REQUEST_DOWNLOAD;
      if (!parse_download (object, request, error))
        return NULL;
    }
  else
    {
      g_autofree char *quoted = quote (type);

      g_set_error (error, SL_NATIVE_MESSAGE_ERROR, SL_NATIVE_MESSAGE_ERROR_INVALID,
                   _("Unknown message type “%s”"), quoted);
      return NULL;
    }

  return g_steal_pointer (&request);
}

/**
 * sl_native_request_free:
 * @request: (nullable): a request
 */
void
sl_native_request_free (SlNativeRequest *request)
{
  if (request == NULL)
    return;

  g_clear_pointer (&request->items, g_ptr_array_unref);
  g_free (request->referrer);
  g_free (request->user_agent);
  g_free (request->filename);
  g_free (request->mime);
  g_free (request);
}

/**
 * sl_native_request_options:
 * @request: a download request
 * @index: which of its addresses
 *
 * The options of `Manager1.Add` for one address: `referrer`, `cookies`, `user-agent` and
 * `filename`, each only when the request has it. Never `directory`.
 *
 * Returns: (transfer floating): an `a{sv}`
 */
GVariant *
sl_native_request_options (const SlNativeRequest *request,
                           guint                  index)
{
  GVariantDict options;
  const SlNativeItem *item;

  g_return_val_if_fail (request != NULL && request->type == SL_NATIVE_REQUEST_DOWNLOAD, NULL);
  g_return_val_if_fail (index < request->items->len, NULL);

  item = g_ptr_array_index (request->items, index);
  g_variant_dict_init (&options, NULL);
  if (request->referrer != NULL)
    g_variant_dict_insert (&options, "referrer", "s", request->referrer);
  if (item->cookies != NULL)
    g_variant_dict_insert (&options, "cookies", "s", item->cookies);
  if (request->user_agent != NULL)
    g_variant_dict_insert (&options, "user-agent", "s", request->user_agent);
  if (request->filename != NULL)
    g_variant_dict_insert (&options, "filename", "s", request->filename);
  return g_variant_dict_end (&options);
}

/* Replies */

static JsonBuilder *
reply_begin (JsonNode *id,
             gboolean  ok)
{
  JsonBuilder *builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "v");
  json_builder_add_int_value (builder, SL_NATIVE_MESSAGE_VERSION);
  if (id != NULL)
    {
      json_builder_set_member_name (builder, "id");
      json_builder_add_value (builder, json_node_copy (id));
    }
  json_builder_set_member_name (builder, "ok");
  json_builder_add_boolean_value (builder, ok);
  return builder;
}

static void
add_ids (JsonBuilder   *builder,
         const guint64 *ids,
         gsize          n_ids)
{
  json_builder_set_member_name (builder, "ids");
  json_builder_begin_array (builder);
  for (gsize i = 0; i < n_ids; i++)
    json_builder_add_int_value (builder, (gint64) ids[i]);
  json_builder_end_array (builder);
}

static char *
reply_end (JsonBuilder *builder)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  g_object_unref (builder);
  return json_generator_to_data (generator, NULL);
}

/**
 * sl_native_reply_ping:
 * @id: (nullable): the request's `id`
 * @version: the host's version
 * @daemon: whether the daemon answered
 *
 * Returns: (transfer full): `{"v":1,"ok":true,"version":…,"daemon":…}`
 */
char *
sl_native_reply_ping (JsonNode   *id,
                      const char *version,
                      gboolean    daemon)
{
  JsonBuilder *builder = reply_begin (id, TRUE);

  json_builder_set_member_name (builder, "version");
  json_builder_add_string_value (builder, version);
  json_builder_set_member_name (builder, "daemon");
  json_builder_add_boolean_value (builder, daemon);
  return reply_end (builder);
}

/**
 * sl_native_reply_ids:
 * @id: (nullable): the request's `id`
 * @ids: (array length=n_ids): the IDs of the downloads the daemon added
 * @n_ids: how many
 *
 * Returns: (transfer full): `{"v":1,"ok":true,"ids":[…]}`
 */
char *
sl_native_reply_ids (JsonNode      *id,
                     const guint64 *ids,
                     gsize          n_ids)
{
  JsonBuilder *builder = reply_begin (id, TRUE);

  add_ids (builder, ids, n_ids);
  return reply_end (builder);
}

/**
 * sl_native_reply_error:
 * @id: (nullable): the request's `id`
 * @message: why the request failed
 * @ids: (array length=n_ids) (nullable): downloads added before the failure, if any
 * @n_ids: how many
 *
 * The message is made one line of valid UTF-8, of at most 1000 characters.
 *
 * Returns: (transfer full): `{"v":1,"ok":false,"error":…}`, with `ids` when @n_ids is not 0
 */
char *
sl_native_reply_error (JsonNode      *id,
                       const char    *message,
                       const guint64 *ids,
                       gsize          n_ids)
{
  JsonBuilder *builder = reply_begin (id, FALSE);
  g_autofree char *line = one_line (message, REPLY_ERROR_MAX_CHARS);

  json_builder_set_member_name (builder, "error");
  json_builder_add_string_value (builder, line);
  if (n_ids > 0)
    add_ids (builder, ids, n_ids);
  return reply_end (builder);
}
