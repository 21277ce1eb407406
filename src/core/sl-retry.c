/* sl-retry.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Which failures are worth another attempt. A failure that passes (overload, a gateway, a
 * connection that broke) is retried with backoff; one that the same request would meet again
 * (a refused request, a malformed answer, a certificate) fails at once, so that nobody waits
 * through the retry budget for an answer that cannot change. README.md lists the classes.
 */

#include "config.h"

#include <libsoup/soup.h>

#include "sl-retry.h"

/**
 * sl_retry_status_is_transient:
 * @status: an HTTP status a server answered with, 400 or more
 *
 * 408 Request Timeout, 425 Too Early, 429 Too Many Requests, 500 Internal Server Error,
 * 502 Bad Gateway, 503 Service Unavailable and 504 Gateway Timeout say that the server could
 * not answer now; every other error status is its answer to this request.
 *
 * Returns: whether the same request may succeed later
 */
gboolean
sl_retry_status_is_transient (guint status)
{
  switch (status)
    {
    case SOUP_STATUS_REQUEST_TIMEOUT:
    case 425:
    case 429:
    case SOUP_STATUS_INTERNAL_SERVER_ERROR:
    case SOUP_STATUS_BAD_GATEWAY:
    case SOUP_STATUS_SERVICE_UNAVAILABLE:
    case SOUP_STATUS_GATEWAY_TIMEOUT:
      return TRUE;

    default:
      return FALSE;
    }
}

/**
 * sl_retry_send_error_is_transient:
 * @error: why a request got no usable response headers
 * @header_bytes: bytes of response headers that had arrived when it failed
 *
 * Connections that could not be made or broke are transient. TLS failures (a certificate the
 * user would have to accept), redirects that lead nowhere, and responses that cannot be parsed
 * are not: the server will send the same again. libsoup 3.2 reports headers over its 64 KiB
 * limit with the same code as a connection that closed before any byte of a response; the
 * header bytes that did arrive tell them apart.
 *
 * Returns: whether the same request may succeed later
 */
gboolean
sl_retry_send_error_is_transient (const GError *error,
                                  guint64       header_bytes)
{
  g_return_val_if_fail (error != NULL, FALSE);

  if (error->domain == G_TLS_ERROR)
    return FALSE;

  if (error->domain == SOUP_SESSION_ERROR)
    return FALSE;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT) && header_bytes > 0)
    return FALSE;

  return TRUE;
}
