/* sl-browser-setup.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "sl-browser-manifest.h"

G_BEGIN_DECLS

/**
 * SlBrowserSetupState:
 * @SL_BROWSER_SETUP_OK: the manifest is what `install` writes, and its program is there
 * @SL_BROWSER_SETUP_STALE: there is a manifest, but it differs from what `install` writes
 *   (another program, other extensions, another description, or not a manifest at all)
 * @SL_BROWSER_SETUP_MISSING_HOST: the manifest names a program that is not there
 * @SL_BROWSER_SETUP_ABSENT: there is no manifest
 *
 * How far a browser is set up to start sluice-browser-host, as `sluicectl browser status`
 * and the preferences tell it.
 */
typedef enum
{
  SL_BROWSER_SETUP_OK,
  SL_BROWSER_SETUP_STALE,
  SL_BROWSER_SETUP_MISSING_HOST,
  SL_BROWSER_SETUP_ABSENT,
} SlBrowserSetupState;

/**
 * SlBrowserSetupEntry:
 * @location: the browser's per-user manifest folder
 * @manifest_path: the manifest there
 * @profile_path: the browser's own folder, which holds the manifest folder
 * @in_use: whether this browser counts: the caller named it, or, when the caller named none,
 *   its own folder exists, Sluice's manifest is there, or it is Firefox or Chromium (always
 *   set up, so that they find the host even if they first run later)
 * @previous: the state before install or uninstall ran (the same as @state for a status)
 * @state: the state now
 * @listed_host: (nullable): the program the manifest names, when it can be read
 * @error: (nullable): why install or uninstall could not do its part for this browser
 *
 * One browser's line of a status, an install or an uninstall.
 */
typedef struct
{
  const SlManifestLocation *location;
  char                     *manifest_path;
  char                     *profile_path;
  gboolean                  in_use;
  SlBrowserSetupState       previous;
  SlBrowserSetupState       state;
  char                     *listed_host;
  GError                   *error;
} SlBrowserSetupEntry;

GPtrArray *sl_browser_setup_status         (const char          *host_path,
                                            const char * const  *only);
GPtrArray *sl_browser_setup_install        (const char          *host_path,
                                            const char * const  *only,
                                            GError             **error);
GPtrArray *sl_browser_setup_uninstall      (const char * const  *only);
gboolean   sl_browser_setup_all_ok         (GPtrArray           *entries);

void       sl_browser_setup_status_async   (GCancellable        *cancellable,
                                            GAsyncReadyCallback  callback,
                                            gpointer             user_data);
GPtrArray *sl_browser_setup_status_finish  (GAsyncResult        *result,
                                            GError             **error);
void       sl_browser_setup_install_async  (GCancellable        *cancellable,
                                            GAsyncReadyCallback  callback,
                                            gpointer             user_data);
GPtrArray *sl_browser_setup_install_finish (GAsyncResult        *result,
                                            GError             **error);

G_END_DECLS
