/* sl-cli-util.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "sl-cli-util.h"
#include "sl-folder-rules.h"

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
 * Prints @message as one line on standard error, and a second line that points at the verb's
 * help (main() names the program after the verb, as in “sluicectl get”).
 *
 * Returns: %SL_EXIT_USAGE
 */
int
sl_cli_usage_error (GOptionContext *context,
                    const char     *message)
{
  sl_cli_print_error ("%s", message);
  fprintf (stderr, _("Try “%s --help”"), g_get_prgname ());
  fputc ('\n', stderr);
  return SL_EXIT_USAGE;
}

/**
 * sl_cli_exit_for_kind:
 * @kind: the kind of a download's error
 *
 * Returns: the exit status that says who is to blame: 2 network, 3 server, 4 local file, 1
 *   otherwise
 */
int
sl_cli_exit_for_kind (SlErrorKind kind)
{
  switch (kind)
    {
    case SL_ERROR_KIND_NETWORK:
      return SL_EXIT_NETWORK;

    case SL_ERROR_KIND_SERVER:
      return SL_EXIT_HTTP;

    case SL_ERROR_KIND_FILE:
      return SL_EXIT_FILE;

    case SL_ERROR_KIND_USER:
    case SL_ERROR_KIND_NONE:
    default:
      return SL_EXIT_USAGE;
    }
}

/**
 * sl_cli_parse_rate:
 * @text: a rate in curl's syntax: a number of bytes per second, with an optional K, M or G
 *   (powers of 1024) and an optional B after it, as in "500K", "1.5M" or "2MB"
 * @rate: (out): the rate in bytes per second
 *
 * Returns: whether @text is such a rate, of at least one byte per second
 */
gboolean
sl_cli_parse_rate (const char *text,
                   guint64    *rate)
{
  gsize digits = strspn (text, "0123456789.");
  const char *end = text + digits;
  double value;
  double multiplier = 1;

  /* Digits and a point only: g_ascii_strtod() would also take a sign, spaces, an exponent,
   * hexadecimal, "inf" and "nan". */
  if (digits == 0)
    return FALSE;
  value = g_ascii_strtod (text, (char **) &end);
  if (end != text + digits)
    return FALSE;

  switch (g_ascii_toupper (*end))
    {
    case '\0':
      break;
    case 'K':
      multiplier = 1024;
      end++;
      break;
    case 'M':
      multiplier = 1024 * 1024;
      end++;
      break;
    case 'G':
      multiplier = 1024.0 * 1024 * 1024;
      end++;
      break;
    default:
      return FALSE;
    }

  if (*end != '\0' && !(g_ascii_toupper (end[0]) == 'B' && end[1] == '\0'))
    return FALSE;

  /* Below one byte a second would be no limit at all; above 2^63 does not fit. */
  value *= multiplier;
  if (!(value >= 1 && value < 9223372036854775808.0))
    return FALSE;

  *rate = (guint64) value;
  return TRUE;
}

/**
 * sl_cli_folder_is_usable:
 * @path: a folder to save into
 *
 * Checks that @path is a folder that a file can be saved into, and if not, says which of
 * that it is not, in one line on standard error.
 *
 * Returns: whether @path exists, is a folder, and is writable
 */
gboolean
sl_cli_folder_is_usable (const char *path)
{
  g_autoptr (GError) error = NULL;

  if (sl_folder_check (path, &error))
    return TRUE;

  sl_cli_print_error ("%s", error->message);
  return FALSE;
}

/**
 * sl_cli_replace_file:
 * @path: the file to replace
 * @contents: what it is to hold
 * @error: return location for a #GError
 *
 * Replaces @path with @contents so that @path always holds either its old contents or all of
 * @contents, whatever stops the write (a full disk, a crash, a power cut): the bytes go to a
 * temporary file beside @path, which is synced and renamed over it, and the folder is synced.
 * A write that fails leaves @path as it was and removes the temporary file. GIO's
 * g_file_replace() is not enough here: on GLib 2.74 it renames a temporary file that a failed
 * write left short over the old one, and rewrites the old file in place when it cannot make
 * a temporary file. Blocks: call it from a thread.
 *
 * Returns: whether @path now holds @contents
 */
gboolean
sl_cli_replace_file (const char  *path,
                     GBytes      *contents,
                     GError     **error)
{
  gsize size;
  const char *data = g_bytes_get_data (contents, &size);

  return g_file_set_contents_full (path, data, size,
                                   G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                   0666, error);
}

/**
 * sl_cli_remove_replace_leftovers:
 * @path: a file that sl_cli_replace_file() replaced
 *
 * Removes the temporary files that replacing @path left behind when the process was killed
 * half way: @path's name with a dot and six more characters.
 */
void
sl_cli_remove_replace_leftovers (const char *path)
{
  g_autofree char *folder = g_path_get_dirname (path);
  g_autofree char *name = g_path_get_basename (path);
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  gsize length = strlen (name);
  const char *entry;

  while (dir != NULL && (entry = g_dir_read_name (dir)) != NULL)
    {
      gboolean random = strlen (entry) == length + 7 && strncmp (entry, name, length) == 0 &&
                        entry[length] == '.';

      for (gsize i = length + 1; random && entry[i] != '\0'; i++)
        random = g_ascii_isalnum (entry[i]);
      if (random)
        {
          g_autofree char *leftover = g_build_filename (folder, entry, NULL);

          g_unlink (leftover);
        }
    }
}
