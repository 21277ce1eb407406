/* sl-cli-browser.c
 *
 * `sluicectl browser install|status|uninstall`: the per-user native-messaging manifests that
 * let browsers start sluice-browser-host. The work is sl-browser-setup's, which the window's
 * preferences call too; this prints it, one line per browser.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <stdio.h>

#include <glib/gi18n.h>

#include "sl-browser-setup.h"
#include "sl-cli-browser.h"
#include "sl-cli-util.h"

static void
print_status_line (const SlBrowserSetupEntry *entry)
{
  const char *name = entry->location->browser;

  switch (entry->state)
    {
    case SL_BROWSER_SETUP_OK:
      printf (_("%s: ok (%s)"), name, entry->manifest_path);
      break;

    case SL_BROWSER_SETUP_STALE:
      printf (_("%s: stale (%s differs from what “sluicectl browser install” writes)"), name,
              entry->manifest_path);
      break;

    case SL_BROWSER_SETUP_MISSING_HOST:
      printf (_("%s: missing program (%s starts “%s”, which is not there)"), name,
              entry->manifest_path, entry->listed_host);
      break;

    case SL_BROWSER_SETUP_ABSENT:
    default:
      if (entry->in_use)
        printf (_("%s: not installed"), name);
      else
        printf (_("%s: not in use (no %s)"), name, entry->profile_path);
      break;
    }
  putchar ('\n');
}

static void
print_install_line (const SlBrowserSetupEntry *entry)
{
  const char *name = entry->location->browser;

  if (entry->error != NULL)
    return;

  if (!entry->in_use)
    printf (_("%s: not in use (no %s), skipped"), name, entry->profile_path);
  else if (entry->previous == SL_BROWSER_SETUP_OK)
    printf (_("%s: already set up (%s)"), name, entry->manifest_path);
  else if (entry->previous == SL_BROWSER_SETUP_ABSENT)
    printf (_("%s: installed %s"), name, entry->manifest_path);
  else
    printf (_("%s: repaired %s"), name, entry->manifest_path);
  putchar ('\n');
}

static void
print_uninstall_line (const SlBrowserSetupEntry *entry)
{
  if (entry->error != NULL)
    return;

  if (entry->previous == SL_BROWSER_SETUP_ABSENT)
    printf (_("%s: not installed"), entry->location->browser);
  else
    printf (_("%s: removed %s"), entry->location->browser, entry->manifest_path);
  putchar ('\n');
}

/* Prints each entry's error as one line; returns whether there was none. */
static gboolean
print_errors (GPtrArray *entries)
{
  gboolean ok = TRUE;

  for (guint i = 0; i < entries->len; i++)
    {
      const SlBrowserSetupEntry *entry = g_ptr_array_index (entries, i);

      if (entry->error != NULL)
        {
          sl_cli_print_error ("%s: %s", entry->location->browser, entry->error->message);
          ok = FALSE;
        }
    }
  return ok;
}

static char *
browser_names (void)
{
  gsize n_locations;
  const SlManifestLocation *locations = sl_manifest_locations (&n_locations);
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_auto (GStrv) names = NULL;

  for (gsize i = 0; i < n_locations; i++)
    if (locations[i].scope == SL_MANIFEST_SCOPE_USER)
      g_strv_builder_add (builder, locations[i].id);
  names = g_strv_builder_end (builder);
  return g_strjoinv (", ", names);
}

/**
 * sl_cli_browser_command:
 * @argc: arguments, “browser” first
 * @argv: (array length=argc): the arguments
 *
 * Runs `sluicectl browser install|status|uninstall [--browser NAME]…`.
 *
 * Returns: the exit status: 0 when every browser it looked at is as asked, 4 when one is
 *   not (or, for status, is not set up), 1 for a usage error
 */
int
sl_cli_browser_command (int    argc,
                        char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) entries = NULL;
  g_auto (GStrv) only = NULL;
  g_autofree char *names = browser_names ();
  g_autofree char *description = NULL;
  const char *action;
  GOptionEntry options[] = {
    { "browser", 'b', 0, G_OPTION_ARG_STRING_ARRAY, &only,
      N_("Only this browser, even if it seems not to be in use (may be repeated)"),
      N_("NAME") },
    G_OPTION_ENTRY_NULL
  };

  context = g_option_context_new (_("install|status|uninstall — set up browsers to hand "
                                    "downloads to Sluice"));
  /* Translators: %s is a list of short browser names. */
  description = g_strdup_printf (_("install writes the manifest that lets a browser start "
                                   "sluice-browser-host, or repairs it, for each browser in "
                                   "use: those whose own folder exists, and Firefox and "
                                   "Chromium always. status checks them, uninstall removes "
                                   "them.\n\nBrowsers: %s"), names);
  g_option_context_set_description (context, description);
  g_option_context_add_main_entries (context, options, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return sl_cli_usage_error (context, error->message);

  if (argc < 2)
    return sl_cli_usage_error (context, _("Say install, status or uninstall"));
  action = argv[1];
  if (!g_str_equal (action, "install") && !g_str_equal (action, "status") &&
      !g_str_equal (action, "uninstall"))
    {
      g_autofree char *message = g_strdup_printf (_("Unknown action “%s”; say install, status "
                                                    "or uninstall"), action);

      return sl_cli_usage_error (context, message);
    }
  if (argc > 2)
    return sl_cli_usage_error (context, _("Name browsers with --browser NAME"));

  for (guint i = 0; only != NULL && only[i] != NULL; i++)
    if (sl_manifest_location_lookup (only[i], SL_MANIFEST_SCOPE_USER) == NULL)
      {
        g_autofree char *message = g_strdup_printf (_("Unknown browser “%s”; known are %s"),
                                                    only[i], names);

        return sl_cli_usage_error (context, message);
      }

  if (g_str_equal (action, "status"))
    {
      entries = sl_browser_setup_status (NULL, (const char * const *) only);
      for (guint i = 0; i < entries->len; i++)
        print_status_line (g_ptr_array_index (entries, i));
      if (sl_browser_setup_all_ok (entries))
        return SL_EXIT_DONE;
      sl_cli_print_error ("%s", _("Not every browser is set up; “sluicectl browser install” "
                                  "sets them up or repairs them"));
      return SL_EXIT_FILE;
    }

  if (g_str_equal (action, "install"))
    {
      entries = sl_browser_setup_install (NULL, (const char * const *) only, &error);
      if (entries == NULL)
        {
          sl_cli_print_error ("%s", error->message);
          return SL_EXIT_FILE;
        }
      for (guint i = 0; i < entries->len; i++)
        print_install_line (g_ptr_array_index (entries, i));
      fflush (stdout);
      return print_errors (entries) ? SL_EXIT_DONE : SL_EXIT_FILE;
    }

  entries = sl_browser_setup_uninstall ((const char * const *) only);
  for (guint i = 0; i < entries->len; i++)
    print_uninstall_line (g_ptr_array_index (entries, i));
  fflush (stdout);
  return print_errors (entries) ? SL_EXIT_DONE : SL_EXIT_FILE;
}
