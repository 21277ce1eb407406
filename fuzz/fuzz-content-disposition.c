/* fuzz-content-disposition.c
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
#include "sl-filename.h"

/* What the rest of Sluice relies on: a name is used as one file inside the destination folder. */
static void
check_sanitized (const char *name)
{
  if (name == NULL)
    return;

  CHECK (g_utf8_validate (name, -1, NULL));
  CHECK (name[0] != '\0');
  CHECK (name[0] != '.');
  CHECK (strchr (name, '/') == NULL);
  CHECK (strchr (name, '\\') == NULL);
  CHECK (strlen (name) <= SL_FILENAME_MAX_BYTES);
  /* What the sanitiser makes is a name the daemon would take from a user. */
  CHECK (sl_filename_check (name, NULL));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *header = g_malloc (size + 1);
  g_autofree char *raw = NULL;
  g_autofree char *name = NULL;
  g_autofree char *direct = NULL;
  g_autofree char *guessed = NULL;

  /* A header value is a C string: the copy ends at the first NUL in the input, if any. */
  memcpy (header, data, size);
  header[size] = '\0';

  raw = sl_filename_from_content_disposition (header);
  if (raw != NULL)
    CHECK (raw[0] != '\0');

  name = sl_filename_sanitize (raw);
  check_sanitized (name);

  /* Names also come from URLs and the user, so the sanitiser gets the raw bytes too. */
  direct = sl_filename_sanitize (header);
  check_sanitized (direct);

  guessed = sl_filename_guess (header, header, NULL, NULL);
  CHECK (guessed != NULL);
  check_sanitized (guessed);

  if (name != NULL)
    {
      /* Spread the input size over the whole range of numbers. */
      g_autofree char *numbered = sl_filename_numbered (name, (guint) (size * 2654435761u),
                                                        size % 2 == 0);

      CHECK (g_utf8_validate (numbered, -1, NULL));
      CHECK (strchr (numbered, '/') == NULL);
      CHECK (strlen (numbered) <= SL_FILENAME_NUMBERED_MAX_BYTES);
      CHECK (sl_filename_is_plain (numbered));
    }

  return 0;
}
