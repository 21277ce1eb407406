/* sl-daemon-spawn.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <unistd.h>

#include <gio/gio.h>
#include <glib/gi18n.h>

#include "sl-daemon-spawn.h"

/* Starting sluiced where D-Bus activation cannot: an uninstalled build, or a session bus
 * without its service file. Shared by the clients that start it (sluicectl, the window). */

/* Where an uninstalled sluiced sits: $SLUICED, beside the calling program in the build tree
 * (src/service/ next to src/cli/ and src/app/) or in its folder, else on the PATH. */
static char *
find_binary (void)
{
  const char *env = g_getenv ("SLUICED");
  g_autofree char *self = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *candidate = NULL;

  if (env != NULL && *env != '\0')
    return g_strdup (env);

  self = g_file_read_link ("/proc/self/exe", NULL);
  if (self != NULL)
    {
      dir = g_path_get_dirname (self);
      candidate = g_build_filename (dir, "..", "service", "sluiced", NULL);
      if (g_file_test (candidate, G_FILE_TEST_IS_EXECUTABLE))
        return g_steal_pointer (&candidate);
      g_clear_pointer (&candidate, g_free);
      candidate = g_build_filename (dir, "sluiced", NULL);
      if (g_file_test (candidate, G_FILE_TEST_IS_EXECUTABLE))
        return g_steal_pointer (&candidate);
    }

  return g_find_program_in_path ("sluiced");
}

static void
detach (gpointer user_data)
{
  setsid ();
}

/**
 * sl_daemon_spawn:
 * @binary: (out) (optional): the program started
 * @error: return location for an error: %G_IO_ERROR_NOT_FOUND when there is no sluiced
 *
 * Starts sluiced in a session of its own, with its standard streams on /dev/null: it
 * outlives its caller and must not hold the caller's terminal or pipes. It owns its name on
 * the bus shortly after; the caller waits for that.
 *
 * Returns: whether it started
 */
gboolean
sl_daemon_spawn (char   **binary,
                 GError **error)
{
  g_autofree char *found = find_binary ();
  const char *argv[2];

  if (found == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("sluiced not found"));
      return FALSE;
    }

  argv[0] = found;
  argv[1] = NULL;
  if (!g_spawn_async (NULL, (char **) argv, NULL,
                      G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL |
                        G_SPAWN_STDIN_FROM_DEV_NULL,
                      detach, NULL, NULL, error))
    return FALSE;

  if (binary != NULL)
    *binary = g_steal_pointer (&found);
  return TRUE;
}
