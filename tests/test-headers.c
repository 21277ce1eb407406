/* test-headers.c: which request headers a caller may send with a download.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <locale.h>
#include <string.h>

#include <glib.h>

#include "sl-header-rules.h"
#include "sl-types.h"

typedef struct
{
  const char *name;
  const char *value;
  const char *problem;  /* in the message; NULL when the header may be sent */
} HeaderCase;

static const HeaderCase cases[] = {
  { "Cookie", "a=b; c=d", NULL },
  { "User-Agent", "Mozilla/5.0 (X11; Linux x86_64)", NULL },
  { "Referer", "https://example.com/page?x=1", NULL },
  { "Authorization", "Bearer abc", NULL },
  { "X-Custom_Header.1", "tab\\tand ünïcode", NULL },
  { "Accept", "", NULL },
  /* What would break the download: the range and its validators are Sluice's, and so are the
   * encoding of what lands on disk and the framing of the connection. */
  { "Range", "bytes=0-", "cannot be given" },
  { "range", "bytes=100-", "cannot be given" },
  { "If-Range", "\"e1\"", "cannot be given" },
  { "If-Match", "*", "cannot be given" },
  { "If-None-Match", "*", "cannot be given" },
  { "If-Modified-Since", "Sat, 01 Jan 2000 00:00:00 GMT", "cannot be given" },
  { "If-Unmodified-Since", "Sat, 01 Jan 2000 00:00:00 GMT", "cannot be given" },
  { "Host", "example.org", "cannot be given" },
  { "ACCEPT-ENCODING", "gzip", "cannot be given" },
  { "Content-Length", "0", "cannot be given" },
  { "Transfer-Encoding", "chunked", "cannot be given" },
  { "Connection", "close", "cannot be given" },
  { "TE", "trailers", "cannot be given" },
  { "Upgrade", "h2c", "cannot be given" },
  { "Expect", "100-continue", "cannot be given" },
  { "Keep-Alive", "timeout=5", "cannot be given" },
  { "Proxy-Connection", "keep-alive", "cannot be given" },
  { "Trailer", "X", "cannot be given" },
  /* A line break would end the header and start one of the caller's making. */
  { "Cookie", "a=b\r\nX-Injected: 1", "line break" },
  { "User-Agent", "UA\nX: y", "line break" },
  { "Referer", "https://example.com/\r", "line break" },
  { "X-A", "bell\x07", "control character" },
  { "X-A", "del\x7f", "control character" },
  { "", "x", "no name" },
  { "Bad Name", "x", "not a valid header name" },
  { "Bad:Name", "x", "not a valid header name" },
  { "Bad\r\nName", "x", "not a valid header name" },
  { "Ünï", "x", "not a valid header name" },
};

static void
test_check (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const HeaderCase *c = &cases[i];
      g_autofree char *shown = g_strescape (c->value, NULL);
      g_autoptr (GError) error = NULL;
      gboolean ok;

      g_test_message ("%s: %s", c->name, shown);
      ok = sl_header_check (c->name, c->value, &error);
      if (c->problem == NULL)
        {
          g_assert_no_error (error);
          g_assert_true (ok);
          continue;
        }

      g_assert_false (ok);
      g_assert_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_ARGUMENT);
      g_test_message ("message: %s", error->message);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      g_assert_null (strpbrk (error->message, "\r\n"));
      if (strstr (error->message, c->problem) == NULL)
        g_error ("“%s” does not say “%s”", error->message, c->problem);
    }
}

/* However long a bad name, the message quotes only its beginning. */
static void
test_long_name (void)
{
  g_autofree char *name = g_strnfill (10000, ' ');
  g_autoptr (GError) error = NULL;

  g_assert_false (sl_header_check (name, "x", &error));
  g_assert_cmpuint (strlen (error->message), <, 200);
}

int
main (int   argc,
      char *argv[])
{
  /* The expected texts are the untranslated ones. */
  setlocale (LC_ALL, "C.UTF-8");
  g_setenv ("LANGUAGE", "C", TRUE);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/headers/check", test_check);
  g_test_add_func ("/headers/long-name", test_long_name);

  return g_test_run ();
}
