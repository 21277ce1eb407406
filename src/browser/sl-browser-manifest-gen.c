/* sl-browser-manifest-gen.c
 *
 * Writes a system-wide native-messaging host manifest at build time, with the same code that
 * `sluicectl browser install` writes the per-user ones with:
 *
 *   sl-browser-manifest-gen firefox|chromium HOST_PATH OUTPUT
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <stdio.h>

#include "sl-browser-manifest.h"

int
main (int    argc,
      char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *manifest = NULL;
  SlBrowserFamily family;

  if (argc != 4 || !g_path_is_absolute (argv[2]))
    {
      fprintf (stderr, "usage: %s firefox|chromium ABSOLUTE_HOST_PATH OUTPUT\n", argv[0]);
      return 1;
    }

  if (g_str_equal (argv[1], "firefox"))
    family = SL_BROWSER_FAMILY_MOZILLA;
  else if (g_str_equal (argv[1], "chromium"))
    family = SL_BROWSER_FAMILY_CHROMIUM;
  else
    {
      fprintf (stderr, "%s: unknown browser family “%s”\n", argv[0], argv[1]);
      return 1;
    }

  manifest = sl_browser_manifest_build (family, argv[2]);
  if (!g_file_set_contents (argv[3], manifest, -1, &error))
    {
      fprintf (stderr, "%s: %s\n", argv[0], error->message);
      return 1;
    }
  return 0;
}
