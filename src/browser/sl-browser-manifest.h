/* sl-browser-manifest.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The names browsers and the extension know the host by; fixed in DESIGN.md. */
#define SL_BROWSER_HOST_NAME        "org.sluice.browser_host"
#define SL_BROWSER_HOST_PROGRAM     "sluice-browser-host"
#define SL_BROWSER_MANIFEST_FILE    SL_BROWSER_HOST_NAME ".json"
#define SL_BROWSER_GECKO_ID         "browser@sluice.org"
#define SL_BROWSER_CHROMIUM_ID      "cdhpdnmokchopihnkakdmfgkohdnogjp"
#define SL_BROWSER_CHROMIUM_ORIGIN  "chrome-extension://" SL_BROWSER_CHROMIUM_ID "/"

/**
 * SlBrowserFamily:
 * @SL_BROWSER_FAMILY_MOZILLA: Firefox and its forks; manifests list `allowed_extensions`
 * @SL_BROWSER_FAMILY_CHROMIUM: Chromium and the browsers built on it; manifests list
 *   `allowed_origins`
 *
 * Which kind of host manifest a browser reads.
 */
typedef enum
{
  SL_BROWSER_FAMILY_MOZILLA,
  SL_BROWSER_FAMILY_CHROMIUM,
} SlBrowserFamily;

/**
 * SlManifestScope:
 * @SL_MANIFEST_SCOPE_USER: a folder in the user's home, written by `sluicectl browser install`
 * @SL_MANIFEST_SCOPE_SYSTEM: a system folder, written by `meson install` or a package
 */
typedef enum
{
  SL_MANIFEST_SCOPE_USER,
  SL_MANIFEST_SCOPE_SYSTEM,
} SlManifestScope;

/**
 * SlManifestLocation:
 * @id: a short name for the command line: `firefox`, `librewolf`, `chromium`, `chrome`,
 *   `edge`, `brave`, `vivaldi`
 * @browser: the product name, as shown (not translated)
 * @family: which manifest the browser reads
 * @scope: whether the folder is the user's or the system's
 * @dir: for %SL_MANIFEST_SCOPE_USER, the folder relative to the home folder (`.mozilla/…`) or
 *   to the configuration folder (`$XDG_CONFIG_HOME`, for `.config/…`); for
 *   %SL_MANIFEST_SCOPE_SYSTEM, an absolute path. Use sl_manifest_location_dir().
 *
 * One folder where a browser looks for native-messaging host manifests.
 */
typedef struct
{
  const char      *id;
  const char      *browser;
  SlBrowserFamily  family;
  SlManifestScope  scope;
  const char      *dir;
} SlManifestLocation;

/**
 * SlBrowserManifest:
 * @name: the host name (`name`)
 * @description: (nullable): the description
 * @path: the program the browser starts (`path`)
 * @type: the transport (`type`, `stdio` for every host a browser starts)
 * @family: which list the manifest has
 * @allowed: (array zero-terminated=1): `allowed_extensions` (Mozilla) or `allowed_origins`
 *   (Chromium)
 *
 * What a host manifest says.
 */
typedef struct
{
  char            *name;
  char            *description;
  char            *path;
  char            *type;
  SlBrowserFamily  family;
  char           **allowed;
} SlBrowserManifest;

/**
 * SlManifestStatus:
 * @SL_MANIFEST_STATUS_MISSING: there is no manifest of this host in the folder
 * @SL_MANIFEST_STATUS_OK: it starts the expected program and allows the Sluice extension
 * @SL_MANIFEST_STATUS_OTHER_PROGRAM: it is valid but starts another program that exists
 *   (another installation of the host)
 * @SL_MANIFEST_STATUS_PROGRAM_MISSING: the program it names does not exist or cannot run
 * @SL_MANIFEST_STATUS_WRONG_EXTENSION: it does not allow the Sluice extension of this browser
 * @SL_MANIFEST_STATUS_INVALID: it cannot be read, is not JSON, or is not a manifest of this
 *   host for this browser family
 *
 * What a browser would make of the manifest in one folder.
 */
typedef enum
{
  SL_MANIFEST_STATUS_MISSING,
  SL_MANIFEST_STATUS_OK,
  SL_MANIFEST_STATUS_OTHER_PROGRAM,
  SL_MANIFEST_STATUS_PROGRAM_MISSING,
  SL_MANIFEST_STATUS_WRONG_EXTENSION,
  SL_MANIFEST_STATUS_INVALID,
} SlManifestStatus;

const SlManifestLocation *sl_manifest_locations          (gsize                    *n_locations);
const SlManifestLocation *sl_manifest_location_lookup    (const char               *id,
                                                          SlManifestScope           scope);
char                     *sl_manifest_location_dir       (const SlManifestLocation *location);
char                     *sl_manifest_location_file      (const SlManifestLocation *location);

const char               *sl_browser_family_allowed_key  (SlBrowserFamily           family);
const char               *sl_browser_family_allowed_id   (SlBrowserFamily           family);

char                     *sl_browser_manifest_build      (SlBrowserFamily           family,
                                                          const char               *program);
gboolean                  sl_browser_manifest_write      (const SlManifestLocation *location,
                                                          const char               *program,
                                                          GError                  **error);
SlBrowserManifest        *sl_browser_manifest_parse      (const char               *text,
                                                          gssize                    length,
                                                          GError                  **error);
SlBrowserManifest        *sl_browser_manifest_load       (const char               *file,
                                                          GError                  **error);
void                      sl_browser_manifest_free       (SlBrowserManifest        *manifest);

SlManifestStatus          sl_browser_manifest_inspect    (const SlManifestLocation *location,
                                                          const char               *program,
                                                          SlBrowserManifest       **manifest,
                                                          GError                  **error);
const char               *sl_manifest_status_describe    (SlManifestStatus          status);

gboolean                  sl_browser_same_program        (const char               *a,
                                                          const char               *b);
char                     *sl_browser_host_find_program   (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SlBrowserManifest, sl_browser_manifest_free)

G_END_DECLS
