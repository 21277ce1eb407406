/* sl-folder-rules.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <unistd.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "sl-folder-rules.h"
#include "sl-types.h"

/**
 * sl_folder_check:
 * @path: a folder to save downloads into
 * @error: return location for a %SL_DOWNLOAD_ERROR_FILE error
 *
 * Checks that @path is a folder a file can be saved into, saying which of that it is not:
 * missing, not a folder, not writable, or not usable for another reason.
 *
 * Returns: whether @path exists, is a folder, and is writable
 */
gboolean
sl_folder_check (const char  *path,
                 GError     **error)
{
  GStatBuf st;

  g_return_val_if_fail (path != NULL, FALSE);

  if (g_stat (path, &st) != 0)
    {
      int saved_errno = errno;

      if (saved_errno == ENOENT || saved_errno == ENOTDIR)
        g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_FILE,
                     _("The folder “%s” does not exist"), path);
      else
        g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_FILE,
                     _("Cannot use the folder “%s”: %s"), path, g_strerror (saved_errno));
      return FALSE;
    }
  if (!S_ISDIR (st.st_mode))
    {
      g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_FILE,
                   _("“%s” is not a folder"), path);
      return FALSE;
    }
  if (access (path, W_OK | X_OK) != 0)
    {
      g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_FILE,
                   _("The folder “%s” is not writable"), path);
      return FALSE;
    }

  return TRUE;
}
