/* sl-cli-util.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <stdio.h>

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
