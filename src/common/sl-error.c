/* sl-error.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "sl-types.h"

G_DEFINE_QUARK (sl-download-error-quark, sl_download_error)

/**
 * sl_download_error_kind:
 * @error: (nullable): an error from a download
 *
 * Sorts an error by who is to blame, which decides what helps: a retry, a new link, another
 * folder.
 *
 * Returns: the kind of @error, %SL_ERROR_KIND_NONE for %NULL
 */
SlErrorKind
sl_download_error_kind (const GError *error)
{
  if (error == NULL)
    return SL_ERROR_KIND_NONE;

  if (error->domain != SL_DOWNLOAD_ERROR)
    return SL_ERROR_KIND_FILE;

  switch ((SlDownloadError) error->code)
    {
    case SL_DOWNLOAD_ERROR_NETWORK:
      return SL_ERROR_KIND_NETWORK;

    case SL_DOWNLOAD_ERROR_HTTP_STATUS:
    case SL_DOWNLOAD_ERROR_BAD_RESPONSE:
    case SL_DOWNLOAD_ERROR_TOO_MANY_REDIRECTS:
      return SL_ERROR_KIND_SERVER;

    /* The bytes on disk are not the file wanted, wherever the fault lies. */
    case SL_DOWNLOAD_ERROR_CHECKSUM:
    case SL_DOWNLOAD_ERROR_FILE:
    case SL_DOWNLOAD_ERROR_RESUME_DATA:
      return SL_ERROR_KIND_FILE;

    case SL_DOWNLOAD_ERROR_INVALID_URI:
    case SL_DOWNLOAD_ERROR_UNSUPPORTED_SCHEME:
    case SL_DOWNLOAD_ERROR_CANCELLED:
    case SL_DOWNLOAD_ERROR_INVALID_ARGUMENT:
    default:
      return SL_ERROR_KIND_USER;
    }
}
