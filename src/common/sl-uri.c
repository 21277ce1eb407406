/* sl-uri.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "sl-types.h"
#include "sl-uri.h"

/* How much of a refused address an error message quotes, in characters. */
#define QUOTE_MAX_CHARS 100

/* Whether @text is valid UTF-8 whose non-ASCII characters can be shown as they are: no C1
 * controls and no line or paragraph separators, which would break the message over lines. */
static gboolean
is_printable_utf8 (const char *text)
{
  if (!g_utf8_validate (text, -1, NULL))
    return FALSE;

  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c >= 0x80 && (g_unichar_iscntrl (c) ||
                        g_unichar_type (c) == G_UNICODE_LINE_SEPARATOR ||
                        g_unichar_type (c) == G_UNICODE_PARAGRAPH_SEPARATOR))
        return FALSE;
    }

  return TRUE;
}

/* Returns @text in a form that fits on one line of an error message: at most QUOTE_MAX_CHARS
 * characters, with control characters and quotes escaped. Printable UTF-8 keeps its non-ASCII
 * characters readable; anything else is escaped byte by byte, because a GError message must be
 * valid UTF-8. */
static char *
quote_for_message (const char *text)
{
  g_autofree char *head = NULL;
  g_autofree char *escaped = NULL;
  gboolean truncated;

  if (is_printable_utf8 (text))
    {
      char high_bytes[129];

      for (guint i = 0; i < 128; i++)
        high_bytes[i] = (char) (0x80 + i);
      high_bytes[128] = '\0';

      /* g_utf8_substring() must not be asked for characters past the end of the text. */
      truncated = g_utf8_strlen (text, -1) > QUOTE_MAX_CHARS;
      head = truncated ? g_utf8_substring (text, 0, QUOTE_MAX_CHARS) : g_strdup (text);
      escaped = g_strescape (head, high_bytes);
    }
  else
    {
      truncated = strlen (text) > QUOTE_MAX_CHARS;
      head = g_strndup (text, QUOTE_MAX_CHARS);
      escaped = g_strescape (head, NULL);
    }

  return truncated ? g_strconcat (escaped, "…", NULL) : g_steal_pointer (&escaped);
}

/* Spaces and control characters are refused rather than percent-encoded: they are almost always
 * a sign of a copy-paste accident (two addresses on one line, a newline in the middle), and
 * silently "fixing" them would download something the user did not ask for. Stray bytes that
 * are not UTF-8 are skipped, as GUri percent-encodes them; the characters around them are still
 * checked, so that the address written back by GUri is judged the same. */
static gboolean
has_space_or_control (const char *text)
{
  const char *p = text;

  while (*p != '\0')
    {
      gunichar c = g_utf8_get_char_validated (p, -1);

      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          p++;
          continue;
        }

      /* g_unichar_isspace() also covers the Unicode space and line separators. */
      if (g_unichar_iscntrl (c) || g_unichar_isspace (c))
        return TRUE;

      p = g_utf8_next_char (p);
    }

  return FALSE;
}

/* The host as GUri hands it back is percent-decoded, so "a%0Ab" becomes a host with a newline
 * in it; such a host could only end up in a Host header or a DNS query, so refuse it. Colons
 * and '%' stay allowed for IPv6 literals with a zone. */
static gboolean
is_valid_host (const char *host)
{
  for (const guchar *p = (const guchar *) host; *p != '\0'; p++)
    {
      if (*p <= 0x20 || *p == 0x7f || strchr ("\"#/<>?@[\\]^`{|}", *p) != NULL)
        return FALSE;
    }

  return TRUE;
}

/* Returns the length of the scheme at the start of @text (RFC 3986: a letter, then letters,
 * digits, '+', '-' or '.', then ':'), or 0 when there is none. g_uri_peek_scheme() would do,
 * but it interns what it finds, and every distinct scheme from untrusted input would then stay
 * in memory for good. */
static gsize
scheme_length (const char *text)
{
  gsize len = 0;

  if (!g_ascii_isalpha (text[0]))
    return 0;

  while (g_ascii_isalnum (text[len]) || text[len] == '+' || text[len] == '-' || text[len] == '.')
    len++;

  return text[len] == ':' ? len : 0;
}

/* "example.com:8080/file" starts with what could be the scheme "example.com"; a digit right
 * after the colon means the user typed a host and port and forgot the scheme. */
static gboolean
looks_like_host_and_port (const char *text,
                          gsize       scheme_len)
{
  return g_ascii_isdigit (text[scheme_len + 1]);
}

static void
set_too_long_error (GError     **error,
                    const char  *quoted)
{
  g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_URI,
               /* Translators: %u is a number of KiB (1024 bytes) */
               _("“%s” is longer than the %u KiB an address may have"), quoted,
               (guint) (SL_URI_MAX_BYTES / 1024));
}

/**
 * sl_uri_set_too_long_error:
 * @error: return location for an error
 * @text: an address, or what is left of it
 *
 * Sets the error sl_uri_parse_download() gives for an address over %SL_URI_MAX_BYTES, for a
 * front end that knows an address was longer than what it holds.
 */
void
sl_uri_set_too_long_error (GError     **error,
                           const char  *text)
{
  g_autofree char *quoted = quote_for_message (text);

  set_too_long_error (error, quoted);
}

/**
 * sl_uri_parse_download:
 * @text: (nullable): an address typed by the user or sent by a server
 *
 * Parses the address of something to download. Surrounding ASCII whitespace is ignored.
 *
 * Only absolute `http` and `https` addresses with a host are accepted (the scheme in any case);
 * user information is allowed. An address with spaces or control characters inside, without a
 * scheme, with another scheme, without a host, with port 0 or longer than %SL_URI_MAX_BYTES
 * (as given or as written back) is refused with a single-line message, meant for the user,
 * that quotes the beginning of the address.
 *
 * Returns: (transfer full): the parsed address, or %NULL with @error set in the
 *   %SL_DOWNLOAD_ERROR domain (%SL_DOWNLOAD_ERROR_UNSUPPORTED_SCHEME for a scheme other than
 *   http or https, %SL_DOWNLOAD_ERROR_INVALID_URI otherwise)
 */
GUri *
sl_uri_parse_download (const char  *text,
                       GError     **error)
{
  g_autofree char *stripped = NULL;
  g_autofree char *quoted = NULL;
  g_autoptr (GUri) uri = NULL;
  g_autoptr (GError) local_error = NULL;
  const char *host;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (text == NULL || *text == '\0')
    {
      g_set_error_literal (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_URI,
                           _("The address is empty"));
      return NULL;
    }

  /* g_strstrip() only strips ASCII whitespace, which is what a trailing newline from a
   * terminal or the clipboard is. */
  stripped = g_strstrip (g_strdup (text));
  quoted = quote_for_message (stripped);

  if (*stripped == '\0')
    {
      g_set_error_literal (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_URI,
                           _("The address is empty"));
      return NULL;
    }

  if (strlen (stripped) > SL_URI_MAX_BYTES)
    {
      set_too_long_error (error, quoted);
      return NULL;
    }

  {
    gsize scheme_len = scheme_length (stripped);
    gboolean is_http;

    /* Schemes are case-insensitive. */
    is_http = (scheme_len == 4 && g_ascii_strncasecmp (stripped, "http", 4) == 0) ||
              (scheme_len == 5 && g_ascii_strncasecmp (stripped, "https", 5) == 0);

    if (scheme_len == 0 || (!is_http && looks_like_host_and_port (stripped, scheme_len)))
      {
        g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_URI,
                     _("“%s” has no scheme; use http:// or https://"), quoted);
        return NULL;
      }

    if (!is_http)
      {
        g_autofree char *scheme = g_ascii_strdown (stripped, scheme_len);
        g_autofree char *quoted_scheme = quote_for_message (scheme);

        g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_UNSUPPORTED_SCHEME,
                     /* Translators: the first %s is an address, the second its scheme,
                      * such as “ftp” */
                     _("“%s” uses the unsupported scheme “%s”; only http:// and https:// "
                       "addresses can be downloaded"),
                     quoted, quoted_scheme);
        return NULL;
      }
  }

  if (has_space_or_control (stripped))
    {
      g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_URI,
                   _("“%s” contains spaces or control characters"), quoted);
      return NULL;
    }

  uri = g_uri_parse (stripped, SL_URI_HTTP_FLAGS, &local_error);
  if (uri == NULL)
    {
      /* GLib's reason can quote an arbitrarily long part of the input; ours is enough. */
      g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_URI,
                   _("“%s” is not a valid web address"), quoted);
      return NULL;
    }

  host = g_uri_get_host (uri);
  if (host == NULL || *host == '\0')
    {
      g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_URI,
                   _("“%s” has no host name"), quoted);
      return NULL;
    }

  if (!is_valid_host (host))
    {
      g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_URI,
                   _("“%s” has an invalid host name"), quoted);
      return NULL;
    }

  /* Without a port in the text, GUri fills in the scheme's default, so 0 means ":0". */
  if (g_uri_get_port (uri) == 0)
    {
      g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_URI,
                   _("“%s” has the invalid port 0"), quoted);
      return NULL;
    }

  /* Percent-encoding stray bytes makes the address longer; what is stored and parsed again is
   * the written form, so that is the one held to the limit too. */
  {
    g_autofree char *written = g_uri_to_string (uri);

    if (strlen (written) > SL_URI_MAX_BYTES)
      {
        set_too_long_error (error, quoted);
        return NULL;
      }
  }

  return g_steal_pointer (&uri);
}
