/* sl-header-rules.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "sl-header-rules.h"
#include "sl-types.h"

/* Which request headers a caller may add to a download: `-H` of `sluicectl get`, and the
 * `headers`, `cookies`, `user-agent` and `referrer` options of Manager1.Add. README.md lists
 * the reserved ones for users. */

/* How much of a refused header name a message quotes, in bytes. */
#define QUOTE_MAX_BYTES 64

/* Headers that Sluice sets itself, or that only the HTTP connection may carry. A caller's
 * Range or If-Range would splice the wrong bytes into the partial file; a conditional request
 * could answer 304 or 412 in place of the file; Accept-Encoding would let the server compress
 * what is written to disk; the rest frame the message or manage the connection. */
static const char * const reserved_headers[] = {
  "Accept-Encoding",
  "Connection",
  "Content-Length",
  "Expect",
  "Host",
  "If-Match",
  "If-Modified-Since",
  "If-None-Match",
  "If-Range",
  "If-Unmodified-Since",
  "Keep-Alive",
  "Proxy-Connection",
  "Range",
  "TE",
  "Trailer",
  "Transfer-Encoding",
  "Upgrade",
};

/* RFC 9110 tchar. */
static gboolean
is_token_char (char c)
{
  return g_ascii_isalnum (c) || (c != '\0' && strchr ("!#$%&'*+-.^_`|~", c) != NULL);
}

/* A field value may hold visible characters, spaces and tabs (and bytes from 0x80 up); no other
 * control character, and above all no CR or LF, which would end the header and start another
 * one of the caller's making. */
static gboolean
is_value_char (char c)
{
  guchar u = (guchar) c;

  return u == '\t' || (u >= 0x20 && u != 0x7f);
}

static char *
quote_name (const char *name)
{
  g_autofree char *head = g_strndup (name, QUOTE_MAX_BYTES);
  g_autofree char *escaped = g_strescape (head, NULL);

  return strlen (name) > QUOTE_MAX_BYTES ? g_strconcat (escaped, "…", NULL)
                                         : g_steal_pointer (&escaped);
}

/**
 * sl_header_is_reserved:
 * @name: a header name
 *
 * Returns: whether @name (compared without regard to case) is a header that Sluice sets
 *   itself or that belongs to the connection, which no caller may give
 */
gboolean
sl_header_is_reserved (const char *name)
{
  g_return_val_if_fail (name != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (reserved_headers); i++)
    {
      if (g_ascii_strcasecmp (name, reserved_headers[i]) == 0)
        return TRUE;
    }

  return FALSE;
}

/**
 * sl_header_check:
 * @name: a header name
 * @value: its value
 * @error: return location for a one-line reason, in the %SL_DOWNLOAD_ERROR domain
 *   (%SL_DOWNLOAD_ERROR_INVALID_ARGUMENT)
 *
 * Checks a request header that a caller wants to send with a download: the name must be an
 * RFC 9110 token and not reserved (sl_header_is_reserved()), the value must hold no CR, LF or
 * other control character but the tab. (A NUL cannot reach here: neither D-Bus strings nor
 * command-line arguments carry one.)
 *
 * Returns: whether the header may be sent
 */
gboolean
sl_header_check (const char  *name,
                 const char  *value,
                 GError     **error)
{
  g_return_val_if_fail (name != NULL && value != NULL, FALSE);

  if (*name == '\0')
    {
      g_set_error_literal (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_ARGUMENT,
                           _("A header has no name"));
      return FALSE;
    }

  for (const char *p = name; *p != '\0'; p++)
    {
      if (!is_token_char (*p))
        {
          g_autofree char *quoted = quote_name (name);

          g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_ARGUMENT,
                       _("“%s” is not a valid header name"), quoted);
          return FALSE;
        }
    }

  if (sl_header_is_reserved (name))
    {
      g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_ARGUMENT,
                   _("The header “%s” cannot be given: Sluice sets it itself or leaves it to "
                     "the connection"), name);
      return FALSE;
    }

  for (const char *p = value; *p != '\0'; p++)
    {
      if (!is_value_char (*p))
        {
          g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_ARGUMENT,
                       _("The value of the header “%s” contains a line break or another "
                         "control character"), name);
          return FALSE;
        }
    }

  return TRUE;
}
