/* sl-browser-manifest.c
 *
 * Native-messaging host manifests: the folders each browser reads them from, and writing,
 * reading and judging the manifest of Sluice's host. Shared by `sluicectl browser` and
 * `sluice-browser-host --diagnose`, so that both name the same folders and agree on what a
 * good manifest is.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <gio/gio.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "sl-browser-manifest.h"

/* Folders under ".config/" follow $XDG_CONFIG_HOME, as Chromium-family browsers do with their
 * profile folder; the Mozilla ones are fixed under the home folder. */
#define CONFIG_PREFIX ".config/"

static const SlManifestLocation locations[] = {
  { "firefox", "Firefox", SL_BROWSER_FAMILY_MOZILLA, SL_MANIFEST_SCOPE_USER,
    ".mozilla/native-messaging-hosts" },
  { "librewolf", "LibreWolf", SL_BROWSER_FAMILY_MOZILLA, SL_MANIFEST_SCOPE_USER,
    ".librewolf/native-messaging-hosts" },
  { "chromium", "Chromium", SL_BROWSER_FAMILY_CHROMIUM, SL_MANIFEST_SCOPE_USER,
    ".config/chromium/NativeMessagingHosts" },
  { "chrome", "Google Chrome", SL_BROWSER_FAMILY_CHROMIUM, SL_MANIFEST_SCOPE_USER,
    ".config/google-chrome/NativeMessagingHosts" },
  { "edge", "Microsoft Edge", SL_BROWSER_FAMILY_CHROMIUM, SL_MANIFEST_SCOPE_USER,
    ".config/microsoft-edge/NativeMessagingHosts" },
  { "brave", "Brave", SL_BROWSER_FAMILY_CHROMIUM, SL_MANIFEST_SCOPE_USER,
    ".config/BraveSoftware/Brave-Browser/NativeMessagingHosts" },
  { "vivaldi", "Vivaldi", SL_BROWSER_FAMILY_CHROMIUM, SL_MANIFEST_SCOPE_USER,
    ".config/vivaldi/NativeMessagingHosts" },
  /* Firefox and LibreWolf both read the Mozilla system folder. */
  { "firefox", "Firefox", SL_BROWSER_FAMILY_MOZILLA, SL_MANIFEST_SCOPE_SYSTEM,
    "/usr/lib/mozilla/native-messaging-hosts" },
  { "chromium", "Chromium", SL_BROWSER_FAMILY_CHROMIUM, SL_MANIFEST_SCOPE_SYSTEM,
    "/etc/chromium/native-messaging-hosts" },
  { "chrome", "Google Chrome", SL_BROWSER_FAMILY_CHROMIUM, SL_MANIFEST_SCOPE_SYSTEM,
    "/etc/opt/chrome/native-messaging-hosts" },
  { "edge", "Microsoft Edge", SL_BROWSER_FAMILY_CHROMIUM, SL_MANIFEST_SCOPE_SYSTEM,
    "/etc/opt/edge/native-messaging-hosts" },
};

/**
 * sl_manifest_locations:
 * @n_locations: (out): the number of locations
 *
 * Every folder where a browser looks for host manifests: the per-user ones first, then the
 * system ones, each list in a fixed order.
 *
 * Returns: (array length=n_locations) (transfer none): the locations
 */
const SlManifestLocation *
sl_manifest_locations (gsize *n_locations)
{
  g_return_val_if_fail (n_locations != NULL, NULL);

  *n_locations = G_N_ELEMENTS (locations);
  return locations;
}

/**
 * sl_manifest_location_lookup:
 * @id: a browser's short name, such as `firefox`
 * @scope: the user's folder or the system's
 *
 * Returns: (transfer none) (nullable): the location, or %NULL if that browser has none of
 *   that scope (or is unknown)
 */
const SlManifestLocation *
sl_manifest_location_lookup (const char      *id,
                             SlManifestScope  scope)
{
  g_return_val_if_fail (id != NULL, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (locations); i++)
    {
      if (locations[i].scope == scope && g_str_equal (locations[i].id, id))
        return &locations[i];
    }

  return NULL;
}

/**
 * sl_manifest_location_dir:
 * @location: a location
 *
 * Returns: (transfer full): the absolute path of its folder, for the current user
 */
char *
sl_manifest_location_dir (const SlManifestLocation *location)
{
  g_return_val_if_fail (location != NULL, NULL);

  if (location->scope == SL_MANIFEST_SCOPE_SYSTEM)
    return g_strdup (location->dir);

  if (g_str_has_prefix (location->dir, CONFIG_PREFIX))
    return g_build_filename (g_get_user_config_dir (),
                             location->dir + strlen (CONFIG_PREFIX), NULL);

  return g_build_filename (g_get_home_dir (), location->dir, NULL);
}

/**
 * sl_manifest_location_file:
 * @location: a location
 *
 * Returns: (transfer full): the absolute path of the host's manifest in that folder
 */
char *
sl_manifest_location_file (const SlManifestLocation *location)
{
  g_autofree char *dir = sl_manifest_location_dir (location);

  return g_build_filename (dir, SL_BROWSER_MANIFEST_FILE, NULL);
}

/**
 * sl_browser_family_allowed_key:
 * @family: a browser family
 *
 * Returns: the manifest member that lists who may start the host
 */
const char *
sl_browser_family_allowed_key (SlBrowserFamily family)
{
  return family == SL_BROWSER_FAMILY_MOZILLA ? "allowed_extensions" : "allowed_origins";
}

/**
 * sl_browser_family_allowed_id:
 * @family: a browser family
 *
 * Returns: the entry of the Sluice extension in that list: its gecko id, or its Chromium
 *   origin
 */
const char *
sl_browser_family_allowed_id (SlBrowserFamily family)
{
  return family == SL_BROWSER_FAMILY_MOZILLA ? SL_BROWSER_GECKO_ID : SL_BROWSER_CHROMIUM_ORIGIN;
}

/**
 * sl_browser_manifest_build:
 * @family: which browsers the manifest is for
 * @program: the absolute path of `sluice-browser-host`
 *
 * Returns: (transfer full): the manifest, as JSON text ending with a newline
 */
char *
sl_browser_manifest_build (SlBrowserFamily  family,
                           const char      *program)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *text = NULL;

  g_return_val_if_fail (program != NULL && g_path_is_absolute (program), NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, SL_BROWSER_HOST_NAME);
  /* Browsers do not show it; not translated, as the file is shared by every user. */
  json_builder_set_member_name (builder, "description");
  json_builder_add_string_value (builder, "Hands downloads over to Sluice");
  json_builder_set_member_name (builder, "path");
  json_builder_add_string_value (builder, program);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "stdio");
  json_builder_set_member_name (builder, sl_browser_family_allowed_key (family));
  json_builder_begin_array (builder);
  json_builder_add_string_value (builder, sl_browser_family_allowed_id (family));
  json_builder_end_array (builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  json_generator_set_indent (generator, 2);
  text = json_generator_to_data (generator, NULL);

  return g_strconcat (text, "\n", NULL);
}

/**
 * sl_browser_manifest_write:
 * @location: where to write it
 * @program: the absolute path of `sluice-browser-host`
 * @error: return location for an error
 *
 * Writes the host's manifest for @location's browser family into its folder, creating the
 * folder if needed. The file is replaced atomically, so a browser never reads half of it.
 *
 * Returns: whether it was written
 */
gboolean
sl_browser_manifest_write (const SlManifestLocation  *location,
                           const char                *program,
                           GError                   **error)
{
  g_autofree char *dir = NULL;
  g_autofree char *file = NULL;
  g_autofree char *text = NULL;

  g_return_val_if_fail (location != NULL, FALSE);
  g_return_val_if_fail (program != NULL && g_path_is_absolute (program), FALSE);

  dir = sl_manifest_location_dir (location);
  file = sl_manifest_location_file (location);
  text = sl_browser_manifest_build (location->family, program);

  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Cannot create the folder %s: %s"), dir, g_strerror (saved_errno));
      return FALSE;
    }

  return g_file_set_contents_full (file, text, -1,
                                   G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                   0644, error);
}

static void
set_invalid (GError     **error,
             const char  *message)
{
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, message);
}

static gboolean
get_string_member (JsonObject  *object,
                   const char  *name,
                   gboolean     required,
                   char       **out,
                   GError     **error)
{
  JsonNode *node = json_object_get_member (object, name);

  *out = NULL;
  if (node == NULL && !required)
    return TRUE;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("The manifest has no text “%s”"), name);
      return FALSE;
    }

  *out = g_strdup (json_node_get_string (node));
  return TRUE;
}

static char **
get_string_array (JsonArray *array)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);

      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
        return NULL;
      g_strv_builder_add (builder, json_node_get_string (node));
    }

  return g_strv_builder_end (builder);
}

/**
 * sl_browser_manifest_parse:
 * @text: a host manifest, as JSON text
 * @length: its length in bytes, or -1 if it ends with a NUL
 * @error: return location for an error (%G_IO_ERROR_INVALID_DATA, with a one-line reason)
 *
 * Reads a native-messaging host manifest: `name`, `path` and `type` as text, an optional
 * `description`, and exactly one of `allowed_extensions` (Mozilla) or `allowed_origins`
 * (Chromium) as a list of text. Other members are ignored, as browsers ignore them.
 *
 * Returns: (transfer full) (nullable): what it says, or %NULL if it is not a manifest
 */
SlBrowserManifest *
sl_browser_manifest_parse (const char  *text,
                           gssize       length,
                           GError     **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (SlBrowserManifest) manifest = g_new0 (SlBrowserManifest, 1);
  g_autoptr (GError) parse_error = NULL;
  JsonObject *object;
  JsonNode *root;
  JsonNode *mozilla, *chromium, *allowed;

  g_return_val_if_fail (text != NULL, NULL);

  if (length < 0)
    length = strlen (text);
  if (!g_utf8_validate (text, length, NULL))
    {
      set_invalid (error, _("The manifest is not UTF-8 text"));
      return NULL;
    }
  if (!json_parser_load_from_data (parser, text, length, &parse_error))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("The manifest is not valid JSON: %s"), parse_error->message);
      return NULL;
    }

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      set_invalid (error, _("The manifest is not a JSON object"));
      return NULL;
    }
  object = json_node_get_object (root);

  if (!get_string_member (object, "name", TRUE, &manifest->name, error) ||
      !get_string_member (object, "description", FALSE, &manifest->description, error) ||
      !get_string_member (object, "path", TRUE, &manifest->path, error) ||
      !get_string_member (object, "type", TRUE, &manifest->type, error))
    return NULL;

  mozilla = json_object_get_member (object, "allowed_extensions");
  chromium = json_object_get_member (object, "allowed_origins");
  if ((mozilla == NULL) == (chromium == NULL))
    {
      set_invalid (error, _("The manifest must list either “allowed_extensions” or "
                            "“allowed_origins”"));
      return NULL;
    }
  manifest->family = mozilla != NULL ? SL_BROWSER_FAMILY_MOZILLA : SL_BROWSER_FAMILY_CHROMIUM;
  allowed = mozilla != NULL ? mozilla : chromium;
  if (JSON_NODE_HOLDS_ARRAY (allowed))
    manifest->allowed = get_string_array (json_node_get_array (allowed));
  if (manifest->allowed == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("“%s” in the manifest is not a list of text"),
                   sl_browser_family_allowed_key (manifest->family));
      return NULL;
    }

  return g_steal_pointer (&manifest);
}

/**
 * sl_browser_manifest_load:
 * @file: the path of a host manifest
 * @error: return location for an error: a %G_FILE_ERROR if it cannot be read,
 *   %G_IO_ERROR_INVALID_DATA if it is not a manifest
 *
 * Reads the manifest in @file, as sl_browser_manifest_parse() does.
 *
 * Returns: (transfer full) (nullable): what it says
 */
SlBrowserManifest *
sl_browser_manifest_load (const char  *file,
                          GError     **error)
{
  g_autofree char *text = NULL;
  gsize length;

  g_return_val_if_fail (file != NULL, NULL);

  if (!g_file_get_contents (file, &text, &length, error))
    return NULL;

  return sl_browser_manifest_parse (text, length, error);
}

/**
 * sl_browser_manifest_free:
 * @manifest: (nullable): a manifest
 */
void
sl_browser_manifest_free (SlBrowserManifest *manifest)
{
  if (manifest == NULL)
    return;

  g_free (manifest->name);
  g_free (manifest->description);
  g_free (manifest->path);
  g_free (manifest->type);
  g_strfreev (manifest->allowed);
  g_free (manifest);
}

/**
 * sl_browser_same_program:
 * @a: a path
 * @b: another path
 *
 * Whether both paths lead to the same file, through symbolic links, `..` and hard links
 * alike: the path in a manifest against `/proc/self/exe`, say.
 *
 * Returns: whether both exist and are one file
 */
gboolean
sl_browser_same_program (const char *a,
                         const char *b)
{
  GStatBuf sa, sb;

  g_return_val_if_fail (a != NULL && b != NULL, FALSE);

  return g_stat (a, &sa) == 0 && g_stat (b, &sb) == 0 &&
         sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/**
 * sl_browser_manifest_inspect:
 * @location: the folder to look in
 * @program: (nullable): the host program the manifest should start; %NULL to accept any
 *   program that exists
 * @manifest: (out) (optional) (transfer full) (nullable): what the manifest says, when it
 *   could be read
 * @error: return location for the reason, set only for %SL_MANIFEST_STATUS_INVALID
 *
 * Judges the host's manifest in @location's folder as the browser would, then against
 * @program. The checks go in this order: missing, unreadable or not a manifest of this host
 * for this family (invalid), a program that does not exist or cannot run, an extension list
 * without Sluice's, another program than @program.
 *
 * Returns: the verdict
 */
SlManifestStatus
sl_browser_manifest_inspect (const SlManifestLocation  *location,
                             const char                *program,
                             SlBrowserManifest        **manifest,
                             GError                   **error)
{
  g_autofree char *file = NULL;
  g_autoptr (SlBrowserManifest) found = NULL;
  SlManifestStatus status;
  GStatBuf st;

  g_return_val_if_fail (location != NULL, SL_MANIFEST_STATUS_INVALID);

  if (manifest != NULL)
    *manifest = NULL;

  file = sl_manifest_location_file (location);
  if (g_lstat (file, &st) != 0 && errno == ENOENT)
    return SL_MANIFEST_STATUS_MISSING;

  found = sl_browser_manifest_load (file, error);
  if (found == NULL)
    return SL_MANIFEST_STATUS_INVALID;

  if (!g_str_equal (found->name, SL_BROWSER_HOST_NAME))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("The manifest names the host “%s”, not “%s”"), found->name,
                   SL_BROWSER_HOST_NAME);
      status = SL_MANIFEST_STATUS_INVALID;
    }
  else if (!g_str_equal (found->type, "stdio"))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("The manifest is of type “%s”, not “stdio”"), found->type);
      status = SL_MANIFEST_STATUS_INVALID;
    }
  else if (found->family != location->family)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("The manifest lists “%s”, which %s does not read"),
                   sl_browser_family_allowed_key (found->family), location->browser);
      status = SL_MANIFEST_STATUS_INVALID;
    }
  else if (!g_path_is_absolute (found->path))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("The program “%s” of the manifest is not an absolute path"), found->path);
      status = SL_MANIFEST_STATUS_INVALID;
    }
  else if (!g_file_test (found->path, G_FILE_TEST_IS_REGULAR) ||
           !g_file_test (found->path, G_FILE_TEST_IS_EXECUTABLE))
    status = SL_MANIFEST_STATUS_PROGRAM_MISSING;
  else if (!g_strv_contains ((const char * const *) found->allowed,
                             sl_browser_family_allowed_id (location->family)))
    status = SL_MANIFEST_STATUS_WRONG_EXTENSION;
  else if (program != NULL && !sl_browser_same_program (found->path, program))
    status = SL_MANIFEST_STATUS_OTHER_PROGRAM;
  else
    status = SL_MANIFEST_STATUS_OK;

  if (manifest != NULL)
    *manifest = g_steal_pointer (&found);
  return status;
}

/**
 * sl_manifest_status_describe:
 * @status: a verdict of sl_browser_manifest_inspect()
 *
 * Returns: a short translated phrase for it, such as “not installed”
 */
const char *
sl_manifest_status_describe (SlManifestStatus status)
{
  switch (status)
    {
    case SL_MANIFEST_STATUS_MISSING:
      return _("not installed");
    case SL_MANIFEST_STATUS_OK:
      return _("installed");
    case SL_MANIFEST_STATUS_OTHER_PROGRAM:
      return _("installed, but starts another copy of the host");
    case SL_MANIFEST_STATUS_PROGRAM_MISSING:
      return _("installed, but the program it starts is missing");
    case SL_MANIFEST_STATUS_WRONG_EXTENSION:
      return _("installed, but does not allow the Sluice extension");
    case SL_MANIFEST_STATUS_INVALID:
    default:
      return _("damaged");
    }
}

/**
 * sl_browser_host_find_program:
 *
 * Finds `sluice-browser-host` for a manifest to name: `$SLUICE_BROWSER_HOST` if set, else
 * the one beside the calling program in the build tree (`src/browser/` next to `src/cli/`)
 * or in its folder (the installed `bindir`), else the one on the `PATH`.
 *
 * Returns: (transfer full) (nullable): its absolute path, or %NULL if there is none
 */
char *
sl_browser_host_find_program (void)
{
  const char *env = g_getenv ("SLUICE_BROWSER_HOST");
  g_autofree char *self = NULL;
  g_autofree char *found = NULL;

  if (env != NULL && *env != '\0')
    return g_canonicalize_filename (env, NULL);

  self = g_file_read_link ("/proc/self/exe", NULL);
  if (self != NULL)
    {
      g_autofree char *dir = g_path_get_dirname (self);
      const char *candidates[] = { "../browser/" SL_BROWSER_HOST_PROGRAM,
                                   SL_BROWSER_HOST_PROGRAM };

      for (gsize i = 0; i < G_N_ELEMENTS (candidates); i++)
        {
          g_autofree char *candidate = g_build_filename (dir, candidates[i], NULL);

          if (g_file_test (candidate, G_FILE_TEST_IS_EXECUTABLE))
            return g_canonicalize_filename (candidate, NULL);
        }
    }

  found = g_find_program_in_path (SL_BROWSER_HOST_PROGRAM);
  return found != NULL ? g_canonicalize_filename (found, NULL) : NULL;
}
