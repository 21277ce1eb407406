/* sl-browser-setup.c
 *
 * The per-user native-messaging manifests that let browsers start sluice-browser-host, over
 * the folders and manifests of sl-browser-manifest: what each browser has (status), writing
 * what is missing or out of date (install), and taking Sluice's away (uninstall).
 * `sluicectl browser` and the window's preferences both call these, so that they agree on
 * what "set up" means.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "sl-browser-setup.h"

static void
entry_free (gpointer data)
{
  SlBrowserSetupEntry *entry = data;

  g_free (entry->manifest_path);
  g_free (entry->profile_path);
  g_free (entry->listed_host);
  g_clear_error (&entry->error);
  g_free (entry);
}

static gboolean
is_always_set_up (const SlManifestLocation *location)
{
  return g_str_equal (location->id, "firefox") || g_str_equal (location->id, "chromium");
}

/* Whether @found says all that @expected says, and nothing else that counts. */
static gboolean
same_manifest (const SlBrowserManifest *found,
               const SlBrowserManifest *expected)
{
  return g_str_equal (found->name, expected->name) &&
         g_strcmp0 (found->description, expected->description) == 0 &&
         g_str_equal (found->path, expected->path) && g_str_equal (found->type, expected->type) &&
         found->family == expected->family &&
         g_strv_equal ((const char * const *) found->allowed,
                       (const char * const *) expected->allowed);
}

/* Fills in what the manifest of @entry's browser says, against what install would write for
 * @host_path (%NULL: the program it names, when there is no host to name). */
static void
check_entry (SlBrowserSetupEntry *entry,
             const char          *host_path)
{
  g_autoptr (SlBrowserManifest) found = NULL;
  g_autoptr (SlBrowserManifest) expected = NULL;
  g_autofree char *text = NULL;
  SlManifestStatus status;

  g_clear_pointer (&entry->listed_host, g_free);
  status = sl_browser_manifest_inspect (entry->location, host_path, &found, NULL);
  if (found != NULL)
    entry->listed_host = g_strdup (found->path);

  switch (status)
    {
    case SL_MANIFEST_STATUS_MISSING:
      entry->state = SL_BROWSER_SETUP_ABSENT;
      return;

    case SL_MANIFEST_STATUS_PROGRAM_MISSING:
      entry->state = SL_BROWSER_SETUP_MISSING_HOST;
      return;

    case SL_MANIFEST_STATUS_OK:
      break;

    case SL_MANIFEST_STATUS_OTHER_PROGRAM:
    case SL_MANIFEST_STATUS_WRONG_EXTENSION:
    case SL_MANIFEST_STATUS_INVALID:
    default:
      entry->state = SL_BROWSER_SETUP_STALE;
      return;
    }

  /* Good enough for the browser; the same as install writes, or stale. */
  text = sl_browser_manifest_build (entry->location->family, host_path ? host_path : found->path);
  expected = sl_browser_manifest_parse (text, -1, NULL);
  entry->state = expected != NULL && same_manifest (found, expected) ? SL_BROWSER_SETUP_OK
                                                                      : SL_BROWSER_SETUP_STALE;
}

/* One entry per browser of the user's folders that @only names (short names), or all. */
static GPtrArray *
check_entries (const char         *host_path,
               const char * const *only)
{
  GPtrArray *entries = g_ptr_array_new_with_free_func (entry_free);
  gsize n_locations;
  const SlManifestLocation *locations = sl_manifest_locations (&n_locations);

  for (gsize i = 0; i < n_locations; i++)
    {
      SlBrowserSetupEntry *entry;
      g_autofree char *dir = NULL;

      if (locations[i].scope != SL_MANIFEST_SCOPE_USER ||
          (only != NULL && !g_strv_contains (only, locations[i].id)))
        continue;

      entry = g_new0 (SlBrowserSetupEntry, 1);
      entry->location = &locations[i];
      entry->manifest_path = sl_manifest_location_file (&locations[i]);
      dir = sl_manifest_location_dir (&locations[i]);
      entry->profile_path = g_path_get_dirname (dir);
      check_entry (entry, host_path);
      entry->previous = entry->state;
      /* A browser named by the caller counts as in use. */
      entry->in_use = only != NULL || is_always_set_up (entry->location) ||
                      entry->state != SL_BROWSER_SETUP_ABSENT ||
                      g_file_test (entry->profile_path, G_FILE_TEST_IS_DIR);
      g_ptr_array_add (entries, entry);
    }

  return entries;
}

/**
 * sl_browser_setup_status:
 * @host_path: (nullable): the program manifests should name, %NULL for
 *   sl_browser_host_find_program()'s
 * @only: (nullable) (array zero-terminated=1): short names of the browsers to check, %NULL
 *   for all
 *
 * Checks each browser's per-user manifest, in the user's folders (`$HOME`,
 * `$XDG_CONFIG_HOME`). Blocks on file I/O.
 *
 * Returns: (transfer container) (element-type SlBrowserSetupEntry): one entry per browser,
 *   in the order of sl_manifest_locations()
 */
GPtrArray *
sl_browser_setup_status (const char         *host_path,
                         const char * const *only)
{
  g_autofree char *found = host_path ? NULL : sl_browser_host_find_program ();

  return check_entries (host_path ? host_path : found, only);
}

/**
 * sl_browser_setup_install:
 * @host_path: (nullable): as for sl_browser_setup_status()
 * @only: (nullable) (array zero-terminated=1): short names of the browsers to set up; %NULL
 *   for those in use (see #SlBrowserSetupEntry)
 * @error: return location for an error: %G_IO_ERROR_NOT_FOUND when there is no host
 *
 * Writes the manifest of each browser in use that lacks it or has another one, creating its
 * folder if needed, and leaves those that are set up, or not in use, as they are. A browser
 * that cannot be set up gets its entry's error; the others are set up all the same. Blocks
 * on file I/O.
 *
 * Returns: (transfer container) (element-type SlBrowserSetupEntry) (nullable): one entry per
 *   browser, as for sl_browser_setup_status(), or %NULL if there is no host (nothing is
 *   written then)
 */
GPtrArray *
sl_browser_setup_install (const char          *host_path,
                          const char * const  *only,
                          GError             **error)
{
  g_autofree char *found = host_path ? NULL : sl_browser_host_find_program ();
  g_autoptr (GPtrArray) entries = NULL;

  if (host_path == NULL)
    host_path = found;

  /* Manifests that name a program which is not there only make the browser fail later. */
  if (host_path == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   _("There is no %s for the browsers to start; install it first"),
                   SL_BROWSER_HOST_PROGRAM);
      return NULL;
    }
  if (!g_file_test (host_path, G_FILE_TEST_IS_REGULAR) ||
      !g_file_test (host_path, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   _("There is no program at “%s” for the browsers to start; install %s "
                     "first"), host_path, SL_BROWSER_HOST_PROGRAM);
      return NULL;
    }

  entries = check_entries (host_path, only);
  for (guint i = 0; i < entries->len; i++)
    {
      SlBrowserSetupEntry *entry = g_ptr_array_index (entries, i);

      if (!entry->in_use || entry->state == SL_BROWSER_SETUP_OK)
        continue;
      if (sl_browser_manifest_write (entry->location, host_path, &entry->error))
        check_entry (entry, host_path);
    }

  return g_steal_pointer (&entries);
}

/**
 * sl_browser_setup_uninstall:
 * @only: (nullable) (array zero-terminated=1): short names of the browsers, %NULL for all
 *
 * Removes Sluice's manifest from each browser's per-user folder: the file named after
 * Sluice's host, when it registers that host or is not a manifest at all. The folders and
 * the other hosts' manifests stay. Blocks on file I/O.
 *
 * Returns: (transfer container) (element-type SlBrowserSetupEntry): one entry per browser
 */
GPtrArray *
sl_browser_setup_uninstall (const char * const *only)
{
  GPtrArray *entries = check_entries (NULL, only);

  for (guint i = 0; i < entries->len; i++)
    {
      SlBrowserSetupEntry *entry = g_ptr_array_index (entries, i);
      g_autoptr (SlBrowserManifest) manifest = NULL;

      if (entry->state == SL_BROWSER_SETUP_ABSENT)
        continue;

      /* Another program's host under Sluice's name is that program's business. */
      manifest = sl_browser_manifest_load (entry->manifest_path, NULL);
      if (manifest != NULL && !g_str_equal (manifest->name, SL_BROWSER_HOST_NAME))
        {
          g_set_error (&entry->error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                       _("“%s” registers another host, “%s”; left as it is"),
                       entry->manifest_path, manifest->name);
          continue;
        }

      if (g_unlink (entry->manifest_path) != 0 && errno != ENOENT)
        {
          int saved_errno = errno;

          g_set_error (&entry->error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       _("Cannot remove “%s”: %s"), entry->manifest_path,
                       g_strerror (saved_errno));
          continue;
        }
      entry->state = SL_BROWSER_SETUP_ABSENT;
      g_clear_pointer (&entry->listed_host, g_free);
    }

  return entries;
}

/**
 * sl_browser_setup_all_ok:
 * @entries: (element-type SlBrowserSetupEntry): the entries of a status or an install
 *
 * Returns: whether every browser in use among @entries is set up, without errors
 */
gboolean
sl_browser_setup_all_ok (GPtrArray *entries)
{
  for (guint i = 0; i < entries->len; i++)
    {
      SlBrowserSetupEntry *entry = g_ptr_array_index (entries, i);

      if (entry->error != NULL || (entry->in_use && entry->state != SL_BROWSER_SETUP_OK))
        return FALSE;
    }
  return TRUE;
}

static void
status_in_thread (GTask        *task,
                  gpointer      source_object,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  if (g_task_return_error_if_cancelled (task))
    return;
  g_task_return_pointer (task, sl_browser_setup_status (NULL, NULL),
                         (GDestroyNotify) g_ptr_array_unref);
}

/**
 * sl_browser_setup_status_async:
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the result
 * @user_data: data for @callback
 *
 * Runs sl_browser_setup_status() for every browser, in a thread.
 */
void
sl_browser_setup_status_async (GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, sl_browser_setup_status_async);
  g_task_run_in_thread (task, status_in_thread);
}

/**
 * sl_browser_setup_status_finish:
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: (transfer container) (element-type SlBrowserSetupEntry) (nullable): the entries,
 *   or %NULL if cancelled
 */
GPtrArray *
sl_browser_setup_status_finish (GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sl_browser_setup_status_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
install_in_thread (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  GPtrArray *entries;
  GError *error = NULL;

  if (g_task_return_error_if_cancelled (task))
    return;

  entries = sl_browser_setup_install (NULL, NULL, &error);
  if (entries == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, entries, (GDestroyNotify) g_ptr_array_unref);
}

/**
 * sl_browser_setup_install_async:
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the result
 * @user_data: data for @callback
 *
 * Runs sl_browser_setup_install() for the browsers in use, in a thread, as `sluicectl
 * browser install` does.
 */
void
sl_browser_setup_install_async (GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, sl_browser_setup_install_async);
  g_task_run_in_thread (task, install_in_thread);
}

/**
 * sl_browser_setup_install_finish:
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: (transfer container) (element-type SlBrowserSetupEntry) (nullable): the entries,
 *   or %NULL with @error set
 */
GPtrArray *
sl_browser_setup_install_finish (GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (
    g_task_get_source_tag (G_TASK (result)) == sl_browser_setup_install_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
