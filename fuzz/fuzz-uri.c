/* fuzz-uri.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "fuzz-check.h"
#include "sl-types.h"
#include "sl-uri.h"

static void
check_accepted (GUri *uri)
{
  const char *scheme = g_uri_get_scheme (uri);
  const char *host = g_uri_get_host (uri);

  CHECK (strcmp (scheme, "http") == 0 || strcmp (scheme, "https") == 0);
  CHECK (host != NULL && host[0] != '\0');
  CHECK (g_uri_get_port (uri) > 0);
}

/* Addresses go into resume data and over D-Bus, as text. */
static void
check_text (GUri *uri)
{
  g_autofree char *written = g_uri_to_string (uri);

  CHECK (g_utf8_validate (written, -1, NULL));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *text = g_malloc (size + 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (GUri) uri = NULL;

  memcpy (text, data, size);
  text[size] = '\0';

  uri = sl_uri_parse_download (text, &error);
  if (uri != NULL)
    {
      g_autofree char *written = g_uri_to_string (uri);
      g_autoptr (GError) again_error = NULL;
      g_autoptr (GUri) again = NULL;

      CHECK (error == NULL);
      check_accepted (uri);
      check_text (uri);

      /* Downloads store their address as a string and parse it again when they resume, so an
       * accepted address must still be accepted once written out. */
      again = sl_uri_parse_download (written, &again_error);
      if (again == NULL)
        fprintf (stderr, "refused on the second parse: %s\n", again_error->message);
      CHECK (again != NULL);
      check_accepted (again);
    }
  else
    {
      CHECK (error != NULL);
      CHECK (error->domain == SL_DOWNLOAD_ERROR);
      CHECK (error->code == SL_DOWNLOAD_ERROR_INVALID_URI ||
             error->code == SL_DOWNLOAD_ERROR_UNSUPPORTED_SCHEME);
      /* The message is shown on one line to the user and sent over D-Bus. */
      CHECK (g_utf8_validate (error->message, -1, NULL));
      CHECK (strchr (error->message, '\n') == NULL);
      CHECK (strchr (error->message, '\r') == NULL);
    }

  return 0;
}
