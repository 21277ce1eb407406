/* sl-filename.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "sl-filename.h"

/* A longer "extension" is more likely part of the name ("Report v2.0 final draft") than a file
 * type, so it is neither kept when truncating nor kept apart when numbering. Counts the dot. */
#define EXTENSION_MAX_BYTES 16

typedef enum
{
  PARAM_OTHER,
  PARAM_FILENAME,
  PARAM_FILENAME_EXT,
} ParamKind;

static inline gboolean
is_ows (char c)
{
  return c == ' ' || c == '\t';
}

static const char *
skip_ows (const char *p)
{
  while (is_ows (*p))
    p++;
  return p;
}

static const char *
skip_to_semicolon (const char *p)
{
  while (*p != '\0' && *p != ';')
    p++;
  return p;
}

static ParamKind
classify_param (const char *name,
                gsize       len)
{
  if (len == strlen ("filename") && g_ascii_strncasecmp (name, "filename", len) == 0)
    return PARAM_FILENAME;
  if (len == strlen ("filename*") && g_ascii_strncasecmp (name, "filename*", len) == 0)
    return PARAM_FILENAME_EXT;
  return PARAM_OTHER;
}

/* Reads a quoted-string starting at the opening quote in *@pp, appending its unescaped content
 * to @out when it is not %NULL. Returns %FALSE when the closing quote is missing. */
static gboolean
read_quoted_string (const char **pp,
                    GString     *out)
{
  const char *p = *pp + 1;

  for (;;)
    {
      if (*p == '\0')
        return FALSE;

      if (*p == '"')
        {
          *pp = p + 1;
          return TRUE;
        }

      if (*p == '\\')
        {
          if (p[1] == '\0')
            return FALSE;
          p++;
        }

      if (out != NULL)
        g_string_append_c (out, *p);
      p++;
    }
}

/* Unquoted values run to the next ';' rather than stopping at the first character that is not
 * a token character: servers often send names with spaces unquoted, and browsers accept them. */
static void
read_unquoted_value (const char **pp,
                     GString     *out)
{
  const char *start = *pp;
  const char *end = skip_to_semicolon (start);
  const char *last = end;

  while (last > start && is_ows (last[-1]))
    last--;

  if (out != NULL)
    g_string_append_len (out, start, last - start);

  *pp = end;
}

static int
hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Decodes an RFC 5987 ext-value (charset'language'percent-encoded) into UTF-8, or returns
 * %NULL when it is malformed, empty, in another charset or decodes to a NUL byte. */
static char *
decode_ext_value (const char *value)
{
  g_autoptr (GString) bytes = NULL;
  const char *quote1;
  const char *quote2;
  gsize charset_len;
  gboolean latin1;

  quote1 = strchr (value, '\'');
  if (quote1 == NULL)
    return NULL;
  quote2 = strchr (quote1 + 1, '\'');
  if (quote2 == NULL)
    return NULL;

  charset_len = quote1 - value;
  if (charset_len == strlen ("UTF-8") && g_ascii_strncasecmp (value, "UTF-8", charset_len) == 0)
    latin1 = FALSE;
  else if (charset_len == strlen ("ISO-8859-1") &&
           g_ascii_strncasecmp (value, "ISO-8859-1", charset_len) == 0)
    latin1 = TRUE;
  else
    return NULL;

  bytes = g_string_new (NULL);
  for (const char *p = quote2 + 1; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;

      if (c == '%')
        {
          int high = hex_value (p[1]);
          int low = high < 0 ? -1 : hex_value (p[2]);

          if (low < 0)
            return NULL;
          c = (guchar) (high << 4 | low);
          if (c == '\0')
            return NULL;
          p += 2;
        }
      else if (c <= 0x20 || c >= 0x7f)
        {
          /* Only printable ASCII may appear unencoded in an ext-value. */
          return NULL;
        }

      g_string_append_c (bytes, (char) c);
    }

  if (bytes->len == 0)
    return NULL;

  if (latin1)
    {
      /* ISO-8859-1 maps each byte to the code point of the same value. */
      g_autoptr (GString) utf8 = g_string_sized_new (bytes->len * 2);

      for (gsize i = 0; i < bytes->len; i++)
        g_string_append_unichar (utf8, (guchar) bytes->str[i]);

      return g_string_free (g_steal_pointer (&utf8), FALSE);
    }

  if (!g_utf8_validate_len (bytes->str, bytes->len, NULL))
    return NULL;

  return g_string_free (g_steal_pointer (&bytes), FALSE);
}

/**
 * sl_filename_from_content_disposition:
 * @header: (nullable): the value of a Content-Disposition header
 *
 * Finds the file name in a Content-Disposition header value, as described in RFC 6266: a
 * disposition type followed by `;`-separated parameters, whose names are compared without
 * regard to case and whose values are tokens or quoted strings with backslash escapes.
 *
 * `filename*` (RFC 5987, in UTF-8 or ISO-8859-1) wins over `filename` whatever their order. A
 * malformed `filename*` is ignored in favour of `filename`. When a parameter occurs more than
 * once, its first occurrence counts. An unterminated quoted string ends the header.
 *
 * The name is returned as the server sent it, which may be a path, contain control characters
 * or not even be valid UTF-8: pass it through sl_filename_sanitize() before use.
 *
 * Returns: (transfer full) (nullable): the raw file name, or %NULL if there is none or it is
 *   malformed or empty
 */
char *
sl_filename_from_content_disposition (const char *header)
{
  g_autoptr (GString) plain = NULL;
  g_autoptr (GString) extended = NULL;
  const char *p;
  const char *type_end;

  if (header == NULL)
    return NULL;

  /* The disposition type. Some servers leave it out and start with the parameters, which is
   * recognised by an '=' after the first word. */
  p = skip_ows (header);
  type_end = p;
  while (*type_end != '\0' && *type_end != ';' && *type_end != '=' && !is_ows (*type_end))
    type_end++;
  if (*skip_ows (type_end) != '=')
    p = skip_to_semicolon (type_end);

  while (*p != '\0')
    {
      const char *name;
      gsize name_len;
      GString *target = NULL;
      ParamKind kind;

      p = skip_ows (p);
      if (*p == ';')
        {
          p++;
          continue;
        }
      if (*p == '\0')
        break;

      name = p;
      while (*p != '\0' && *p != '=' && *p != ';' && !is_ows (*p))
        p++;
      name_len = p - name;

      p = skip_ows (p);
      if (*p != '=')
        {
          p = skip_to_semicolon (p);
          continue;
        }
      p = skip_ows (p + 1);

      /* Only the first occurrence of each parameter is collected; the rest is still parsed, so
       * that a quoted ';' does not end a parameter early. */
      kind = classify_param (name, name_len);
      if (kind == PARAM_FILENAME && plain == NULL)
        target = plain = g_string_new (NULL);
      else if (kind == PARAM_FILENAME_EXT && extended == NULL)
        target = extended = g_string_new (NULL);

      if (*p == '"')
        {
          if (!read_quoted_string (&p, target))
            {
              /* The value swallowed the rest of the header: nothing after it can be trusted. */
              if (target != NULL)
                g_string_truncate (target, 0);
              break;
            }

          p = skip_ows (p);
          if (*p != '\0' && *p != ';')
            {
              /* Text after the closing quote: the parameter is malformed. */
              if (target != NULL)
                g_string_truncate (target, 0);
              p = skip_to_semicolon (p);
            }
        }
      else
        {
          read_unquoted_value (&p, target);
        }
    }

  if (extended != NULL && extended->len > 0)
    {
      char *decoded = decode_ext_value (extended->str);

      if (decoded != NULL)
        return decoded;
    }

  if (plain != NULL && plain->len > 0)
    return g_string_free (g_steal_pointer (&plain), FALSE);

  return NULL;
}

static inline gboolean
is_separator (char c)
{
  return c == '/' || c == '\\';
}

/* Characters that Windows file systems and many tools choke on; replaced rather than dropped
 * so that "What? Why: now" does not become "What Why now". */
static gboolean
is_replaced_char (gunichar c)
{
  return c != 0 && c < 0x80 && strchr ("<>:\"|?*", (int) c) != NULL;
}

static inline gboolean
is_stripped_char (gunichar c)
{
  return c == '.' || g_unichar_isspace (c);
}

/* Removes dots and white space at the start (hidden files) and at the end of @s. */
static void
strip_dots_and_spaces (GString *s)
{
  gsize start = 0;
  gsize end = s->len;

  while (start < end && is_stripped_char (g_utf8_get_char (s->str + start)))
    start = g_utf8_next_char (s->str + start) - s->str;

  while (end > start)
    {
      const char *prev = g_utf8_find_prev_char (s->str, s->str + end);

      if (prev == NULL || !is_stripped_char (g_utf8_get_char (prev)))
        break;
      end = prev - s->str;
    }

  g_string_truncate (s, end);
  g_string_erase (s, 0, start);
}

/* Returns the largest length not above @max_len at which @s (of length @len, valid UTF-8) can be
 * cut without splitting a character. */
static gsize
utf8_cut_length (const char *s,
                 gsize       len,
                 gsize       max_len)
{
  gsize i;

  if (len <= max_len)
    return len;

  i = max_len;
  while (i > 0 && ((guchar) s[i] & 0xC0) == 0x80)
    i--;
  return i;
}

/* Returns the offset of the dot that starts the extension of @name, or @len when it has none.
 * A leading dot does not start an extension, and ".tar.gz" and the like count as one. */
static gsize
extension_offset (const char *name,
                  gsize       len)
{
  gsize dot = len;

  while (dot > 0 && name[dot - 1] != '.')
    dot--;
  if (dot <= 1)
    return len;
  dot--;

  if (len - dot < 2 || len - dot > EXTENSION_MAX_BYTES)
    return len;
  for (gsize i = dot + 1; i < len; i++)
    {
      if (g_ascii_isspace (name[i]))
        return len;
    }

  if (dot > strlen (".tar") && g_ascii_strncasecmp (name + dot - 4, ".tar", 4) == 0 &&
      len - (dot - 4) <= EXTENSION_MAX_BYTES)
    return dot - 4;

  return dot;
}

/**
 * sl_filename_sanitize:
 * @name: (nullable): a file name from an untrusted source
 *
 * Makes @name safe to use as the name of one file inside the destination folder:
 *
 * - only the last non-empty component after any `/` or `\` is kept, so `../../x` gives `x`;
 * - bytes that are not valid UTF-8 become `_`;
 * - the characters of sl_filename_char_is_forbidden() (controls, bidirectional controls) are
 *   removed;
 * - the characters `<>:"|?*` become `_`;
 * - dots and white space are stripped at the start (no hidden files) and at the end;
 * - the result is cut to at most %SL_FILENAME_MAX_BYTES bytes, on a character boundary and
 *   keeping a short extension such as `.iso` or `.tar.gz`.
 *
 * Returns: (transfer full) (nullable): a name that passes sl_filename_check(), or %NULL if
 *   nothing usable is left
 */
char *
sl_filename_sanitize (const char *name)
{
  g_autoptr (GString) out = NULL;
  g_autofree char *valid = NULL;
  const char *start;
  const char *end;

  if (name == NULL)
    return NULL;

  /* A trailing separator names a folder; its name is still the best guess. */
  end = name + strlen (name);
  while (end > name && is_separator (end[-1]))
    end--;
  start = end;
  while (start > name && !is_separator (start[-1]))
    start--;

  valid = g_utf8_make_valid (start, end - start);
  out = g_string_sized_new (end - start);

  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == 0xFFFD || is_replaced_char (c))
        g_string_append_c (out, '_');
      else if (!sl_filename_char_is_forbidden (c))
        g_string_append_unichar (out, c);
    }

  strip_dots_and_spaces (out);

  if (out->len > SL_FILENAME_MAX_BYTES)
    {
      gsize ext = extension_offset (out->str, out->len);
      gsize ext_len = out->len - ext;
      g_autoptr (GString) cut = NULL;

      cut = g_string_new_len (out->str,
                              utf8_cut_length (out->str, ext, SL_FILENAME_MAX_BYTES - ext_len));
      /* The cut may leave "name .tar.gz" or a trailing dot; tidy the end of the stem. */
      strip_dots_and_spaces (cut);
      g_string_append_len (cut, out->str + ext, ext_len);

      g_string_free (out, TRUE);
      out = g_steal_pointer (&cut);
    }

  /* Stripping leading dots already turned "." and ".." into nothing. */
  if (out->len == 0)
    return NULL;

  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* Returns the last non-empty segment of the path of @uri, percent-decoded, or %NULL. */
static char *
last_path_segment (GUri *uri)
{
  const char *path = g_uri_get_path (uri);
  const char *start;
  const char *end;
  char *segment = NULL;

  end = path + strlen (path);
  while (end > path && end[-1] == '/')
    end--;
  start = end;
  while (start > path && start[-1] != '/')
    start--;

  if (start == end)
    return NULL;

  if (g_uri_get_flags (uri) & (G_URI_FLAGS_ENCODED | G_URI_FLAGS_ENCODED_PATH))
    segment = g_uri_unescape_segment (start, end, NULL);
  /* An undecodable segment ("%zz", "%00") is still a better name than the host. */
  if (segment == NULL)
    segment = g_strndup (start, end - start);

  /* A decoded "%2F" is part of this segment's name, not a folder. */
  return g_strdelimit (segment, "/\\", '_');
}

/* Whether @content_type is text/html, whatever its parameters and case. */
static gboolean
is_html (const char *content_type)
{
  const char *end;

  if (content_type == NULL)
    return FALSE;

  content_type = skip_ows (content_type);
  end = content_type;
  while (*end != '\0' && *end != ';' && !is_ows (*end))
    end++;

  return end - content_type == strlen ("text/html") &&
         g_ascii_strncasecmp (content_type, "text/html", end - content_type) == 0;
}

/**
 * sl_filename_guess:
 * @content_disposition: (nullable): the Content-Disposition header of the response
 * @content_type: (nullable): the Content-Type header of the response
 * @uri: (nullable): the final address of the download, after redirects
 * @split_extension: (out) (optional): whether the name has an extension that numbering keeps
 *   apart, see sl_filename_numbered()
 *
 * Picks the name a download is saved under: the name from @content_disposition if one survives
 * sl_filename_sanitize(), else the last non-empty segment of the path of @uri, percent-decoded,
 * else `index.html` for an HTML page, else the host of @uri, else `download`. Every candidate
 * is sanitised.
 *
 * A host is not a file name with an extension: "127.0.0.1" or "example.com" is numbered as a
 * whole ("127.0.0.1 (1)"), which *@split_extension says.
 *
 * Returns: (transfer full): a file name, never %NULL
 */
char *
sl_filename_guess (const char *content_disposition,
                   const char *content_type,
                   GUri       *uri,
                   gboolean   *split_extension)
{
  if (split_extension != NULL)
    *split_extension = TRUE;

  if (content_disposition != NULL)
    {
      g_autofree char *raw = sl_filename_from_content_disposition (content_disposition);
      g_autofree char *name = sl_filename_sanitize (raw);

      if (name != NULL)
        return g_steal_pointer (&name);
    }

  if (uri != NULL)
    {
      g_autofree char *segment = last_path_segment (uri);
      g_autofree char *name = sl_filename_sanitize (segment);

      if (name != NULL)
        return g_steal_pointer (&name);
    }

  /* The page at "/" is what a browser would save as index.html. */
  if (is_html (content_type))
    return g_strdup ("index.html");

  if (uri != NULL)
    {
      g_autofree char *host = sl_filename_sanitize (g_uri_get_host (uri));

      if (host != NULL)
        {
          if (split_extension != NULL)
            *split_extension = FALSE;
          return g_steal_pointer (&host);
        }
    }

  return g_strdup ("download");
}

/**
 * sl_filename_numbered:
 * @name: a sanitised file name
 * @n: the number to add, or 0
 * @split_extension: whether the number goes before the extension of @name, as
 *   sl_filename_guess() says; %TRUE for names that people give
 *
 * Makes the @n-th alternative to @name for when a file of that name exists: " (n)" goes before
 * the extension, so `file.iso` gives `file (1).iso` and `archive.tar.gz` gives
 * `archive (2).tar.gz`; without @split_extension it goes at the end, so `127.0.0.1` gives
 * `127.0.0.1 (1)`. The part before the extension is shortened when needed so that the
 * result is never longer than %SL_FILENAME_NUMBERED_MAX_BYTES.
 *
 * Returns: (transfer full): the numbered name, or a copy of @name when @n is 0
 */
char *
sl_filename_numbered (const char *name,
                      guint       n,
                      gboolean    split_extension)
{
  char suffix[sizeof " (4294967295)"];
  gsize len;
  gsize ext;
  gsize stem_len;

  g_return_val_if_fail (name != NULL, NULL);

  if (n == 0)
    return g_strdup (name);

  g_snprintf (suffix, sizeof suffix, " (%u)", n);
  len = strlen (name);
  ext = split_extension ? extension_offset (name, len) : len;
  stem_len = utf8_cut_length (name, ext,
                              SL_FILENAME_NUMBERED_MAX_BYTES - strlen (suffix) - (len - ext));

  return g_strdup_printf ("%.*s%s%s", (int) stem_len, name, suffix, name + ext);
}
