/* main.c
 *
 * sluiced, the download daemon: everything is in SlDaemon.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <locale.h>

#include <glib/gi18n.h>

#include "sl-daemon.h"
#include "sl-soup-workarounds.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr (SlDaemon) daemon = NULL;
  int status;

  sl_soup_workarounds_init ();
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  daemon = sl_daemon_new ();
  status = g_application_run (G_APPLICATION (daemon), argc, argv);

  return status != 0 ? status : sl_daemon_get_exit_status (daemon);
}
