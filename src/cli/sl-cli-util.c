/* sl-cli-util.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <stdio.h>

#include <glib/gi18n.h>

#include "sl-cli-util.h"

/**
 * sl_cli_print_error:
 * @format: a printf() format
 *
 * Prints one line on standard error, prefixed with the program's name, whatever line breaks
 * the message holds.
 */
void
sl_cli_print_error (const char *format,
                    ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  g_strdelimit (message, "\r\n", ' ');
  fprintf (stderr, "sluicectl: %s\n", message);
}

/**
 * sl_cli_names_are_text:
 * @filename: (nullable): a file name from the command line
 * @directory: (nullable): a folder from the command line
 *
 * Resume data and D-Bus carry file and folder names as UTF-8 text: names that are not are
 * refused, with one line on standard error.
 *
 * Returns: whether both are text (or %NULL)
 */
gboolean
sl_cli_names_are_text (const char *filename,
                       const char *directory)
{
  if ((filename == NULL || g_utf8_validate (filename, -1, NULL)) &&
      (directory == NULL || g_utf8_validate (directory, -1, NULL)))
    return TRUE;

  sl_cli_print_error ("%s", _("File and folder names must be valid UTF-8 text"));
  return FALSE;
}

/**
 * sl_cli_usage_error:
 * @context: the verb's option context
 * @message: what was wrong
 *
 * Prints @message and the verb's help on standard error.
 *
 * Returns: %SL_EXIT_USAGE
 */
int
sl_cli_usage_error (GOptionContext *context,
                    const char     *message)
{
  g_autofree char *help = g_option_context_get_help (context, TRUE, NULL);

  sl_cli_print_error ("%s", message);
  fprintf (stderr, "%s", help);
  return SL_EXIT_USAGE;
}
