/* fuzz-links.c: the window's reading of text people paste, drop or type (sl-format.c).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>

#include "fuzz-check.h"
#include "sl-filename-rules.h"
#include "sl-format.h"
#include "sl-uri.h"

/* Errors are shown on one line, under an entry or in a toast. */
static void
check_message (const GError *error)
{
  CHECK (error != NULL);
  CHECK (g_utf8_validate (error->message, -1, NULL));
  CHECK (strchr (error->message, '\n') == NULL);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *text = g_malloc (size + 1);
  g_autoptr (GError) url_error = NULL;
  g_autoptr (GError) name_error = NULL;
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_auto (GStrv) urls = NULL;
  g_autofree char *host = NULL;
  g_autoptr (GUri) typed = NULL;

  memcpy (text, data, size);
  text[size] = '\0';

  /* Every link found is in the text, once, and is one the daemon takes; it goes to the daemon
   * as a D-Bus string, which must be UTF-8. */
  urls = sl_format_find_urls (text);
  CHECK (urls != NULL);
  for (guint i = 0; urls[i] != NULL; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GUri) uri = NULL;

      CHECK (urls[i][0] != '\0');
      CHECK (strstr (text, urls[i]) != NULL);
      CHECK (g_utf8_validate (urls[i], -1, NULL));
      CHECK (!g_hash_table_contains (seen, urls[i]));
      g_hash_table_add (seen, urls[i]);
      uri = sl_uri_parse_download (urls[i], &error);
      if (uri == NULL)
        fprintf (stderr, "found %s, then refused it: %s\n", urls[i], error->message);
      CHECK (error == NULL);
    }

  /* What the add dialog and Refresh link check as they are typed. */
  typed = sl_uri_parse_download (text, &url_error);
  if (typed == NULL)
    check_message (url_error);
  else
    CHECK (url_error == NULL);

  /* What the add dialog checks as a name is typed. */
  if (!sl_filename_check (text, &name_error))
    check_message (name_error);
  else
    CHECK (strpbrk (text, "/\\") == NULL && strlen (text) <= SL_FILENAME_MAX_BYTES &&
           g_utf8_validate (text, -1, NULL) && sl_filename_is_plain (text));

  host = sl_format_host (text);
  CHECK (host == NULL || host[0] != '\0');

  return 0;
}
