/* sl-soup-workarounds.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <libsoup/soup.h>

#include "sl-soup-workarounds.h"

/**
 * sl_soup_workarounds_init:
 *
 * Call first thing in main(), before any thread starts (it sets an environment variable).
 *
 * Before libsoup 3.6.3, HTTP/2 has no flow-control backpressure: a reader that pauses or
 * reads slowly (a paused or rate-limited download, a slow disk) lets the session buffer the
 * whole body in memory. Those versions speak HTTP/1.1 only, which SOUP_FORCE_HTTP1 asks of
 * every version since 3.0 (soup_message_set_force_http1() would need 3.4). From 3.6.3 on,
 * HTTPS downloads negotiate HTTP/2, and a segmented download's parts are streams of one
 * connection. The version is the one the program runs with, not the one it was built with.
 *
 * Returns: whether HTTP/1.1 is forced
 */
gboolean
sl_soup_workarounds_init (void)
{
  guint major = soup_get_major_version ();
  guint minor = soup_get_minor_version ();
  guint micro = soup_get_micro_version ();

  if (major > 3 || (major == 3 && (minor > 6 || (minor == 6 && micro >= 3))))
    return FALSE;

  g_setenv ("SOUP_FORCE_HTTP1", "1", FALSE);
  return TRUE;
}
