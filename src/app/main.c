/* main.c: sluice, the window.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <locale.h>
#include <unistd.h>

#include <glib/gi18n.h>

#include "sl-application.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr (SlApplication) application = NULL;

  /* Before GLib 2.76, the slice allocator keeps what loading the list freed and gives it
   * back 15 s later in one go, long enough to miss frames; later versions use malloc alone.
   * It reads G_SLICE before main (), hence a new start of the program with it set. */
  if (glib_check_version (2, 76, 0) != NULL && g_getenv ("G_SLICE") == NULL)
    {
      /* By its real path, so that the process keeps its name. */
      char *self = g_file_read_link ("/proc/self/exe", NULL);

      g_setenv ("G_SLICE", "always-malloc", TRUE);
      if (self != NULL)
        execv (self, argv);
      /* Where that fails, the allocator stays: slower at times, not wrong. */
      g_free (self);
    }

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  g_set_application_name (_("Sluice"));
  application = sl_application_new ();

  return g_application_run (G_APPLICATION (application), argc, argv);
}
