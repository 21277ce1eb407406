/* sl-types.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef struct _SlDownload SlDownload;

/* The most connections one download may use at once: the `connections` option, -x N. */
#define SL_MAX_CONNECTIONS 16

/**
 * SlDownloadState:
 * @SL_DOWNLOAD_STATE_QUEUED: waiting for its turn to start
 * @SL_DOWNLOAD_STATE_RUNNING: transferring
 * @SL_DOWNLOAD_STATE_WAITING: no network, or backing off before a retry
 * @SL_DOWNLOAD_STATE_PAUSED: stopped by the user; resume data is available
 * @SL_DOWNLOAD_STATE_COMPLETED: the file is under its final name
 * @SL_DOWNLOAD_STATE_FAILED: stopped by an error; keeps its resume data
 * @SL_DOWNLOAD_STATE_CANCELED: stopped by the user; the partial file is gone
 *
 * The lifecycle of a download, as in DESIGN.md.
 */
typedef enum
{
  SL_DOWNLOAD_STATE_QUEUED,
  SL_DOWNLOAD_STATE_RUNNING,
  SL_DOWNLOAD_STATE_WAITING,
  SL_DOWNLOAD_STATE_PAUSED,
  SL_DOWNLOAD_STATE_COMPLETED,
  SL_DOWNLOAD_STATE_FAILED,
  SL_DOWNLOAD_STATE_CANCELED,
} SlDownloadState;

/**
 * SlErrorKind:
 * @SL_ERROR_KIND_NONE: no error
 * @SL_ERROR_KIND_NETWORK: DNS, refused, reset, timeout, TLS; retried with backoff
 * @SL_ERROR_KIND_SERVER: the server answered with an error status, or lied
 * @SL_ERROR_KIND_FILE: disk full, permission, the folder vanished
 * @SL_ERROR_KIND_USER: cancelled, or bad input from the user
 *
 * Who is to blame for an error, which decides the action that helps.
 */
/**
 * SlNamePolicy:
 * @SL_NAME_POLICY_NUMBER: a name from the server or the address: when a file of that name
 *   exists, the first free of `NAME (1)`, `NAME (2)`, …
 * @SL_NAME_POLICY_EXACT: the name the user gave: that file, or an error if it exists
 * @SL_NAME_POLICY_REPLACE: the name the user gave, replacing the file there, atomically and
 *   only once the new one is complete and checked
 *
 * What a download does when its final name is taken.
 */
typedef enum
{
  SL_NAME_POLICY_NUMBER,
  SL_NAME_POLICY_EXACT,
  SL_NAME_POLICY_REPLACE,
} SlNamePolicy;

typedef enum
{
  SL_ERROR_KIND_NONE,
  SL_ERROR_KIND_NETWORK,
  SL_ERROR_KIND_SERVER,
  SL_ERROR_KIND_FILE,
  SL_ERROR_KIND_USER,
} SlErrorKind;

/**
 * SlDownloadError:
 * @SL_DOWNLOAD_ERROR_INVALID_URI: the URI does not parse, or has no host
 * @SL_DOWNLOAD_ERROR_UNSUPPORTED_SCHEME: not http or https
 * @SL_DOWNLOAD_ERROR_NETWORK: the connection failed, after retries
 * @SL_DOWNLOAD_ERROR_HTTP_STATUS: the server answered with an error status
 * @SL_DOWNLOAD_ERROR_BAD_RESPONSE: the server answered with something that is not the file
 * @SL_DOWNLOAD_ERROR_TOO_MANY_REDIRECTS: a redirect loop, or too long a chain
 * @SL_DOWNLOAD_ERROR_FILE: reading or writing the local file failed
 * @SL_DOWNLOAD_ERROR_CANCELLED: cancelled by the user
 * @SL_DOWNLOAD_ERROR_RESUME_DATA: resume data is corrupt, of another version, or stale
 * @SL_DOWNLOAD_ERROR_CHECKSUM: the file does not match the expected checksum
 * @SL_DOWNLOAD_ERROR_INVALID_ARGUMENT: an option or argument is not valid
 *
 * Error codes in the %SL_DOWNLOAD_ERROR domain.
 */
/**
 * SlChecksumState:
 * @SL_CHECKSUM_STATE_NONE: no checksum was given
 * @SL_CHECKSUM_STATE_PENDING: not checked yet, or being checked
 * @SL_CHECKSUM_STATE_VERIFIED: the file had the checksum when it was last checked
 * @SL_CHECKSUM_STATE_MISMATCH: it did not
 *
 * Where the check of a download's checksum stands.
 */
typedef enum
{
  SL_CHECKSUM_STATE_NONE,
  SL_CHECKSUM_STATE_PENDING,
  SL_CHECKSUM_STATE_VERIFIED,
  SL_CHECKSUM_STATE_MISMATCH,
} SlChecksumState;

typedef enum
{
  SL_DOWNLOAD_ERROR_INVALID_URI,
  SL_DOWNLOAD_ERROR_UNSUPPORTED_SCHEME,
  SL_DOWNLOAD_ERROR_NETWORK,
  SL_DOWNLOAD_ERROR_HTTP_STATUS,
  SL_DOWNLOAD_ERROR_BAD_RESPONSE,
  SL_DOWNLOAD_ERROR_TOO_MANY_REDIRECTS,
  SL_DOWNLOAD_ERROR_FILE,
  SL_DOWNLOAD_ERROR_CANCELLED,
  SL_DOWNLOAD_ERROR_RESUME_DATA,
  SL_DOWNLOAD_ERROR_CHECKSUM,
  SL_DOWNLOAD_ERROR_INVALID_ARGUMENT,
} SlDownloadError;

#define SL_DOWNLOAD_ERROR (sl_download_error_quark ())

GQuark      sl_download_error_quark (void);
SlErrorKind sl_download_error_kind  (const GError *error);

G_END_DECLS
