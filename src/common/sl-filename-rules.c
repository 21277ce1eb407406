/* sl-filename-rules.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "sl-filename-rules.h"
#include "sl-types.h"

/* What a plain file name is, for every layer: the window's add dialog, sluicectl, the daemon,
 * the store and resume data all ask here, so that none of them takes a name another refuses.
 * Names from servers are made plain by sl_filename_sanitize(); names that people give are
 * checked, and refused with the reason rather than changed behind their back. */

/**
 * sl_filename_char_is_forbidden:
 * @c: a character
 *
 * Characters that no file name of Sluice's holds: C0 and C1 controls and DEL, which no one can
 * see or type, and the bidirectional controls and line separators, which can make "exe.txt"
 * display as "txt.exe".
 *
 * Returns: whether @c is one of them
 */
gboolean
sl_filename_char_is_forbidden (gunichar c)
{
  if (g_unichar_iscntrl (c))
    return TRUE;

  switch (c)
    {
    case 0x061C: /* ARABIC LETTER MARK */
    case 0x200E: /* LEFT-TO-RIGHT MARK */
    case 0x200F: /* RIGHT-TO-LEFT MARK */
    case 0x2028: /* LINE SEPARATOR */
    case 0x2029: /* PARAGRAPH SEPARATOR */
      return TRUE;
    default:
      return (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
    }
}

static gboolean
check_name (const char  *name,
            gsize        max_bytes,
            GError     **error)
{
  if (name == NULL || *name == '\0')
    {
      g_set_error_literal (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_ARGUMENT,
                           _("The file name is empty"));
      return FALSE;
    }

  if (!g_utf8_validate (name, -1, NULL))
    {
      g_set_error_literal (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_ARGUMENT,
                           _("The file name is not valid text"));
      return FALSE;
    }

  for (const char *p = name; *p != '\0'; p = g_utf8_next_char (p))
    {
      if (sl_filename_char_is_forbidden (g_utf8_get_char (p)))
        {
          g_set_error_literal (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_ARGUMENT,
                               _("The file name contains control characters"));
          return FALSE;
        }
    }

  /* A folder in the name is refused, never dropped: "sub/x.bin" is not "x.bin". The backslash
   * counts too, as it does for names from servers. */
  if (strpbrk (name, "/\\") != NULL)
    {
      g_set_error_literal (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_ARGUMENT,
                           _("A file name cannot contain “/” or “\\”; give the folder separately"));
      return FALSE;
    }

  if (g_str_equal (name, ".") || g_str_equal (name, ".."))
    {
      g_set_error_literal (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_ARGUMENT,
                           _("“.” and “..” are not file names"));
      return FALSE;
    }

  if (strlen (name) > max_bytes)
    {
      g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_ARGUMENT,
                   _("The file name is longer than %u bytes"), (guint) max_bytes);
      return FALSE;
    }

  return TRUE;
}

/**
 * sl_filename_check:
 * @name: (nullable): a file name someone gave: typed in the window, `-o` of sluicectl, the
 *   `filename` option of Manager1.Add
 * @error: return location for a one-line reason, in the %SL_DOWNLOAD_ERROR domain
 *   (%SL_DOWNLOAD_ERROR_INVALID_ARGUMENT)
 *
 * Checks that @name can be used as it is for one file in the destination folder: not empty,
 * valid UTF-8, no control or bidirectional control characters, no `/` or `\`, not `.` or
 * `..`, and at most %SL_FILENAME_MAX_BYTES bytes. Anything else is allowed, a leading dot
 * included: the name is the user's choice.
 *
 * Returns: whether @name is a plain file name
 */
gboolean
sl_filename_check (const char  *name,
                   GError     **error)
{
  return check_name (name, SL_FILENAME_MAX_BYTES, error);
}

/**
 * sl_filename_is_plain:
 * @name: (nullable): a name Sluice keeps: in the store, in resume data, of a download
 *
 * The same rule as sl_filename_check(), with room for the number that a name gets when a file
 * of that name exists (%SL_FILENAME_NUMBERED_MAX_BYTES).
 *
 * Returns: whether @name is a plain file name
 */
gboolean
sl_filename_is_plain (const char *name)
{
  return check_name (name, SL_FILENAME_NUMBERED_MAX_BYTES, NULL);
}
