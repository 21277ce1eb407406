/* fuzz-resume-data.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <glib.h>

#include "fuzz-check.h"
#include "sl-resume-data.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr (GBytes) bytes = g_bytes_new_static (data, size);
  g_autoptr (GError) error = NULL;
  g_autoptr (SlResumeData) resume_data = NULL;

  resume_data = sl_resume_data_parse (bytes, &error);
  CHECK ((resume_data == NULL) != (error == NULL));
  if (error != NULL)
    {
      CHECK (g_utf8_validate (error->message, -1, NULL));
      return 0;
    }

  /* Whatever was accepted is written back the next time the download pauses, and must then
   * read back the same. */
  {
    g_autoptr (GBytes) written = sl_resume_data_serialize (resume_data);
    g_autoptr (GError) again_error = NULL;
    g_autoptr (SlResumeData) again = sl_resume_data_parse (written, &again_error);

    if (again == NULL)
      fprintf (stderr, "refused on the second parse: %s\n", again_error->message);
    CHECK (again != NULL);
    CHECK (g_strcmp0 (again->uri, resume_data->uri) == 0);
    CHECK (g_strcmp0 (again->final_uri, resume_data->final_uri) == 0);
    CHECK (g_strcmp0 (again->directory, resume_data->directory) == 0);
    CHECK (g_strcmp0 (again->filename, resume_data->filename) == 0);
    CHECK (g_strcmp0 (again->partial_path, resume_data->partial_path) == 0);
    CHECK (g_strcmp0 (again->etag, resume_data->etag) == 0);
    CHECK (g_strcmp0 (again->last_modified, resume_data->last_modified) == 0);
    CHECK (g_strcmp0 (again->content_type, resume_data->content_type) == 0);
    CHECK (again->total == resume_data->total);
    CHECK (again->received == resume_data->received);
    CHECK (!again->explicit_name == !resume_data->explicit_name);
    {
      g_autofree char *ranges = sl_segment_map_to_string (resume_data->done);
      g_autofree char *ranges_again = sl_segment_map_to_string (again->done);

      CHECK (g_strcmp0 (ranges, ranges_again) == 0);
    }
  }

  return 0;
}
