/* test-browser-e2e.c
 *
 * The browser hand-off end to end, in the real browsers, headless: Chromium and Firefox ESR
 * load the extension from the source tree and find sluice-browser-host through the manifest
 * `sluicectl browser install` wrote into the test's home. A private bus (GTestDBus) starts a
 * real sluiced by D-Bus activation. A loopback server in this process serves a page that sets
 * cookies and then, told by the test, clicks attachment links with a page script, and it logs
 * every request to those files with the headers it was sent and whether the whole body went
 * out. A request without Sec-Fetch-Mode is the daemon's: browsers send it on every navigation.
 *
 * Each browser is launched once and runs three cases: probes until the extension is up, a
 * hand-off (cookies, referrer and user agent reach the daemon, which saves the right bytes,
 * while the browser's own copy is cancelled and leaves no file), and a download while the
 * daemon cannot be reached, which the browser must keep.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "sl-test-server.h"
#include "sl-test-utils.h"

#define BUS_NAME       "org.sluice.Downloads"
#define MANAGER_PATH   "/org/sluice/Downloads"
#define DOWNLOAD_IFACE "org.sluice.Downloads.Download1"
#define GECKO_ID       "browser@sluice.org"

/* Bounds, generous for a loaded machine under AddressSanitizer. */
#define PAGE_MS        (90 * 1000)     /* the browser is up and has loaded the page */
#define PROBE_MS       (10 * 1000)     /* the extension hands a probe on */
#define CASE_MS        (60 * 1000)     /* one case, from the click to the last check */
#define STOP_MS        (20 * 1000)
#define MAX_PROBES     8

/* The browser's copies trickle, 8 KiB every 100 ms: about 25 s for HANDOFF_SIZE, so that it
 * cannot finish before the extension cancels it, and 3 s for the others. */
#define TRICKLE_BYTES  (8 * 1024)
#define TRICKLE_MS     100
#define HANDOFF_SIZE   (2 * 1024 * 1024)
#define PROBE_SIZE     (256 * 1024)
#define KEPT_SIZE      (256 * 1000)

typedef struct
{
  const char *name;         /* as `sluicectl browser install --browser` knows it */
  const char *program;
} Browser;

static const Browser chromium = { "chromium", "chromium" };
static const Browser firefox = { "firefox", "firefox-esr" };

/* One request for a file, as the server saw it. */
typedef struct
{
  char     *name;
  gboolean  from_browser;   /* it carried Sec-Fetch-Mode */
  char     *cookie;
  char     *referer;
  char     *user_agent;
  gboolean  body_done;      /* the whole body went out */
  gboolean  finished;       /* the exchange is over, one way or the other */
} Hit;

typedef struct
{
  const Browser   *browser;

  GFile           *tmp;
  char            *home;
  char            *config;
  char            *state;
  char            *services;
  char            *daemon_downloads;
  char            *browser_downloads;
  char            *profile;      /* Firefox's */
  char            *browser_log;

  GTestDBus       *bus;
  GDBusConnection *connection;
  guint            watch_id;
  gboolean         name_owned;
  guint            name_appeared;

  SoupServer      *server;
  guint16          port;
  char            *session;      /* the HttpOnly cookie the page sets */
  char            *command;      /* what the page does next, as JSON, or NULL */
  guint            page_loads;
  GPtrArray       *hits;         /* of Hit* */

  GSubprocess     *process;
  pid_t            group;        /* the browser's process group */
  gboolean         exited;
} Fixture;

static void
hit_free (Hit *hit)
{
  g_free (hit->name);
  g_free (hit->cookie);
  g_free (hit->referer);
  g_free (hit->user_agent);
  g_free (hit);
}

static char *
make_dir (Fixture    *f,
          const char *name)
{
  char *path = g_build_filename (g_file_peek_path (f->tmp), name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
  return path;
}

static char *
server_url (Fixture    *f,
            const char *path)
{
  return g_strdup_printf ("http://127.0.0.1:%u%s", f->port, path);
}

/* The loopback server ------------------------------------------------------------------------ */

/* Once the page is loaded it asks every 200 ms what to do; told, it sets a cookie and clicks
 * a link, as a site's own script does. */
static const char page_html[] =
  "<!DOCTYPE html>\n"
  "<html><head><meta charset=\"utf-8\"><title>Downloads</title></head><body>\n"
  "<script>\n"
  "'use strict';\n"
  "let asked = 0;\n"
  "async function poll () {\n"
  "  try {\n"
  "    const answer = await fetch('/e2e/next?' + asked++, { cache: 'no-store' });\n"
  "    if (answer.status === 200) {\n"
  "      const command = await answer.json();\n"
  "      document.cookie = command.cookie;\n"
  "      const link = document.createElement('a');\n"
  "      link.href = command.href;\n"
  "      link.textContent = command.href;\n"
  "      document.body.append(link);\n"
  "      link.click();\n"
  "    }\n"
  "  } catch (e) {\n"
  "    /* the next poll tries again */\n"
  "  }\n"
  "  setTimeout(poll, 200);\n"
  "}\n"
  "poll();\n"
  "</script>\n"
  "</body></html>\n";

typedef struct
{
  SoupServerMessage *msg;
  GBytes            *entity;
  gsize              sent;
  gboolean           paused;
  gboolean           complete;
  guint              timer;
} Trickle;

static void
trickle_free (Trickle *trickle)
{
  g_signal_handlers_disconnect_by_data (trickle->msg, trickle);
  g_clear_handle_id (&trickle->timer, g_source_remove);
  g_object_unref (trickle->msg);
  g_bytes_unref (trickle->entity);
  g_free (trickle);
}

static gboolean
trickle_tick (gpointer data)
{
  Trickle *trickle = data;
  SoupMessageBody *body = soup_server_message_get_response_body (trickle->msg);
  gsize size = g_bytes_get_size (trickle->entity);
  gsize n = MIN (TRICKLE_BYTES, size - trickle->sent);

  trickle->timer = 0;
  if (n > 0)
    {
      g_autoptr (GBytes) piece = g_bytes_new_from_bytes (trickle->entity, trickle->sent, n);

      soup_message_body_append_bytes (body, piece);
      trickle->sent += n;
    }
  if (trickle->sent == size)
    {
      soup_message_body_complete (body);
      trickle->complete = TRUE;
    }
  if (trickle->paused)
    {
      trickle->paused = FALSE;
      soup_server_message_unpause (trickle->msg);
    }
  return G_SOURCE_REMOVE;
}

/* After the headers and after each piece: wait, then hand libsoup the next one. */
static void
trickle_wrote (Trickle *trickle)
{
  if (trickle->complete || trickle->timer != 0)
    return;
  if (!trickle->paused)
    {
      trickle->paused = TRUE;
      soup_server_message_pause (trickle->msg);
    }
  trickle->timer = g_timeout_add (TRICKLE_MS, trickle_tick, trickle);
}

static void
on_hit_body_done (SoupServerMessage *msg,
                  Hit               *hit)
{
  hit->body_done = TRUE;
}

static void
on_hit_finished (SoupServerMessage *msg,
                 Hit               *hit)
{
  hit->finished = TRUE;
}

static guint64
query_number (GHashTable *query,
              const char *name)
{
  const char *text = query ? g_hash_table_lookup (query, name) : NULL;
  guint64 value = 0;

  g_assert_nonnull (text);
  g_assert_true (g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT32, &value, NULL));
  return value;
}

/* /e2e/file/NAME?size=N&seed=S: an attachment of the test entity. The browser's copy trickles,
 * so that it still runs when the extension hears from the host; the daemon's does not. */
static void
serve_file (Fixture           *f,
            SoupServerMessage *msg,
            const char        *name,
            GHashTable        *query)
{
  SoupMessageHeaders *request = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *response = soup_server_message_get_response_headers (msg);
  gsize size = query_number (query, "size");
  g_autoptr (GBytes) entity = sl_test_entity (query_number (query, "seed"), size);
  g_autofree char *disposition = g_strdup_printf ("attachment; filename=\"%s\"", name);
  Hit *hit = g_new0 (Hit, 1);

  hit->name = g_strdup (name);
  hit->from_browser = soup_message_headers_get_one (request, "Sec-Fetch-Mode") != NULL;
  hit->cookie = g_strdup (soup_message_headers_get_one (request, "Cookie"));
  hit->referer = g_strdup (soup_message_headers_get_one (request, "Referer"));
  hit->user_agent = g_strdup (soup_message_headers_get_one (request, "User-Agent"));
  g_ptr_array_add (f->hits, hit);
  g_signal_connect (msg, "wrote-body", G_CALLBACK (on_hit_body_done), hit);
  g_signal_connect (msg, "finished", G_CALLBACK (on_hit_finished), hit);
  g_signal_connect (msg, "disconnected", G_CALLBACK (on_hit_finished), hit);

  soup_message_headers_replace (response, "Content-Disposition", disposition);
  soup_message_headers_replace (response, "Cache-Control", "no-store");
  if (hit->from_browser)
    {
      Trickle *trickle = g_new0 (Trickle, 1);

      trickle->msg = g_object_ref (msg);
      trickle->entity = g_bytes_ref (entity);
      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      soup_message_headers_set_content_type (response, "application/octet-stream", NULL);
      soup_message_headers_set_content_length (response, size);
      soup_message_body_set_accumulate (soup_server_message_get_response_body (msg), FALSE);
      g_signal_connect_swapped (msg, "wrote-headers", G_CALLBACK (trickle_wrote), trickle);
      g_signal_connect_swapped (msg, "wrote-chunk", G_CALLBACK (trickle_wrote), trickle);
      g_signal_connect_swapped (msg, "finished", G_CALLBACK (trickle_free), trickle);
      g_signal_connect_swapped (msg, "disconnected", G_CALLBACK (trickle_free), trickle);
      return;
    }

  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/octet-stream", SOUP_MEMORY_COPY,
                                    g_bytes_get_data (entity, NULL), size);
}

static void
server_callback (SoupServer        *server,
                 SoupServerMessage *msg,
                 const char        *path,
                 GHashTable        *query,
                 gpointer           user_data)
{
  Fixture *f = user_data;
  SoupMessageHeaders *response = soup_server_message_get_response_headers (msg);

  if (g_str_equal (path, "/e2e/page"))
    {
      g_autofree char *cookie = g_strdup_printf ("sid=%s; Path=/; HttpOnly; SameSite=Lax",
                                                 f->session);

      f->page_loads++;
      soup_message_headers_replace (response, "Set-Cookie", cookie);
      soup_message_headers_replace (response, "Cache-Control", "no-store");
      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      soup_server_message_set_response (msg, "text/html; charset=utf-8", SOUP_MEMORY_STATIC,
                                        page_html, strlen (page_html));
    }
  else if (g_str_equal (path, "/e2e/next"))
    {
      g_autofree char *command = g_steal_pointer (&f->command);

      soup_message_headers_replace (response, "Cache-Control", "no-store");
      if (command == NULL)
        soup_server_message_set_status (msg, SOUP_STATUS_NO_CONTENT, NULL);
      else
        {
          soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
          soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY,
                                            command, strlen (command));
        }
    }
  else if (g_str_has_prefix (path, "/e2e/file/") && strchr (path + 10, '/') == NULL &&
           path[10] != '\0')
    serve_file (f, msg, path + 10, query);
  else
    soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
}

/* The bus and the daemon --------------------------------------------------------------------- */

static void
on_name_appeared (GDBusConnection *connection,
                  const char      *name,
                  const char      *owner,
                  gpointer         user_data)
{
  Fixture *f = user_data;

  f->name_owned = TRUE;
  f->name_appeared++;
}

static void
on_name_vanished (GDBusConnection *connection,
                  const char      *name,
                  gpointer         user_data)
{
  ((Fixture *) user_data)->name_owned = FALSE;
}

static gboolean
name_not_owned (gpointer data)
{
  return !((Fixture *) data)->name_owned;
}

static char *
service_file_path (Fixture *f)
{
  return g_build_filename (f->services, BUS_NAME ".service", NULL);
}

static void
write_service_file (Fixture *f)
{
  g_autofree char *data_home = make_dir (f, "data");
  g_autofree char *exec = g_strdup_printf ("/usr/bin/env XDG_DATA_HOME=%s XDG_CONFIG_HOME=%s "
                                           "%s --idle-timeout 600", data_home, f->config,
                                           g_getenv ("SLUICED"));
  g_autofree char *path = service_file_path (f);

  sl_test_write_service_file (path, exec);
}

/* From now on the bus cannot start the daemon, and none runs: the state of a user whose
 * Sluice is not installed, or broken. */
static void
make_daemon_unreachable (Fixture *f)
{
  g_autofree char *path = service_file_path (f);
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;

  /* The bus looks for the file again when asked to start the daemon. */
  g_assert_cmpint (g_unlink (path), ==, 0);

  if (f->name_owned)
    {
      sl_test_stop_name_owner (f->connection, BUS_NAME, STOP_MS);
      sl_test_wait_until (NULL, name_not_owned, f, STOP_MS);
    }

  reply = g_dbus_connection_call_sync (f->connection, "org.freedesktop.DBus",
                                       "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                       "StartServiceByName", g_variant_new ("(su)", BUS_NAME, 0),
                                       G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                       &error);
  g_assert_null (reply);
  g_assert_nonnull (error);
  g_test_message ("the bus cannot start sluiced any more: %s", error->message);
}

/* The State of the daemon's download of @url, NULL if it has none or does not run. */
static char *
daemon_state (Fixture    *f,
              const char *url,
              char      **error_text)
{
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) objects = NULL;
  g_autoptr (GError) error = NULL;
  GVariantIter iter;
  GVariant *interfaces;

  if (!f->name_owned)
    return NULL;
  reply = g_dbus_connection_call_sync (f->connection, BUS_NAME, MANAGER_PATH,
                                       "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
                                       NULL, G_VARIANT_TYPE ("(a{oa{sa{sv}}})"),
                                       G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, NULL, &error);
  g_assert_no_error (error);
  objects = g_variant_get_child_value (reply, 0);
  g_variant_iter_init (&iter, objects);
  while (g_variant_iter_next (&iter, "{&o@a{sa{sv}}}", NULL, &interfaces))
    {
      g_autoptr (GVariant) owned = interfaces;
      g_autoptr (GVariant) properties =
        g_variant_lookup_value (interfaces, DOWNLOAD_IFACE, G_VARIANT_TYPE ("a{sv}"));
      const char *uri = NULL;
      const char *state = NULL;
      const char *message = NULL;

      if (properties == NULL || !g_variant_lookup (properties, "Uri", "&s", &uri) ||
          !g_str_equal (uri, url))
        continue;
      g_assert_true (g_variant_lookup (properties, "State", "&s", &state));
      if (error_text != NULL && g_variant_lookup (properties, "Error", "&s", &message))
        *error_text = g_strdup (message);
      return g_strdup (state);
    }
  return NULL;
}

/* The browser -------------------------------------------------------------------------------- */

static void
run_sluicectl (Fixture            *f,
               const char * const *args)
{
  g_autoptr (GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  g_subprocess_launcher_setenv (launcher, "HOME", f->home, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", f->config, TRUE);
  g_ptr_array_add (argv, (char *) g_getenv ("SLUICECTL"));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);

  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  g_test_message ("sluicectl: %s%s", out, err);
  g_assert_true (g_subprocess_get_if_exited (process));
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 0);
}

/* A profile that saves downloads in browser_downloads without asking, and lets a page start
 * several of them. */
static void
write_chromium_profile (Fixture *f)
{
  g_autofree char *user_data = g_build_filename (f->config, "chromium", "Default", NULL);
  g_autofree char *path = g_build_filename (user_data, "Preferences", NULL);
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *text = NULL;

  g_assert_cmpint (g_mkdir_with_parents (user_data, 0700), ==, 0);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "download");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "default_directory");
  json_builder_add_string_value (builder, f->browser_downloads);
  json_builder_set_member_name (builder, "prompt_for_download");
  json_builder_add_boolean_value (builder, FALSE);
  json_builder_end_object (builder);
  json_builder_set_member_name (builder, "profile");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "default_content_setting_values");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "automatic_downloads");
  json_builder_add_int_value (builder, 1);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  text = json_to_string (root, FALSE);
  sl_test_write_text (path, text);
}

/* A profile with the extension installed unsigned, downloads saved in browser_downloads
 * without asking, nothing started that would reach the network, and a proxy that sends
 * everything but 127.0.0.1 nowhere. */
static void
write_firefox_profile (Fixture *f)
{
  g_autofree char *extensions = g_build_filename (f->profile, "extensions", NULL);
  g_autofree char *xpi = g_build_filename (extensions, GECKO_ID ".xpi", NULL);
  g_autofree char *user_js = g_build_filename (f->profile, "user.js", NULL);
  g_autoptr (GFile) source = g_file_new_for_path (g_getenv ("SLUICE_EXTENSION_XPI"));
  g_autoptr (GFile) target = g_file_new_for_path (xpi);
  g_autoptr (GString) prefs = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  static const char * const fixed[] = {
    "\"xpinstall.signatures.required\", false",
    "\"extensions.autoDisableScopes\", 0",
    "\"extensions.enabledScopes\", 15",
    "\"extensions.update.enabled\", false",
    "\"browser.download.folderList\", 2",
    "\"browser.download.useDownloadDir\", true",
    "\"browser.download.always_ask_before_handling_new_types\", false",
    "\"browser.shell.checkDefaultBrowser\", false",
    "\"browser.startup.homepage_override.mstone\", \"ignore\"",
    "\"browser.aboutwelcome.enabled\", false",
    "\"browser.safebrowsing.downloads.enabled\", false",
    "\"browser.safebrowsing.malware.enabled\", false",
    "\"browser.safebrowsing.phishing.enabled\", false",
    "\"app.update.disabledForTesting\", true",
    "\"datareporting.policy.dataSubmissionEnabled\", false",
    "\"toolkit.telemetry.reportingpolicy.firstRun\", false",
    "\"network.proxy.type\", 1",
    "\"network.proxy.http\", \"127.0.0.1\"",
    "\"network.proxy.http_port\", 9",
    "\"network.proxy.ssl\", \"127.0.0.1\"",
    "\"network.proxy.ssl_port\", 9",
    "\"network.proxy.no_proxies_on\", \"127.0.0.1\"",
    "\"network.proxy.allow_hijacking_localhost\", false",
  };

  g_assert_cmpint (g_mkdir_with_parents (extensions, 0700), ==, 0);
  g_file_copy (source, target, G_FILE_COPY_NONE, NULL, NULL, NULL, &error);
  g_assert_no_error (error);

  for (gsize i = 0; i < G_N_ELEMENTS (fixed); i++)
    g_string_append_printf (prefs, "user_pref(%s);\n", fixed[i]);
  g_string_append_printf (prefs, "user_pref(\"browser.download.dir\", \"%s\");\n",
                          f->browser_downloads);
  sl_test_write_text (user_js, prefs->str);
}

static void
setsid_child (gpointer data)
{
  setsid ();
}

static void
on_browser_exited (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Fixture *f = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  f->exited = TRUE;
}

static void
launch_browser (Fixture *f)
{
  g_autoptr (GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_autofree char *page = server_url (f, "/e2e/page?browser=1#downloads");
  g_autofree char *program = g_find_program_in_path (f->browser->program);
  g_autofree char *cache = make_dir (f, "cache");
  g_autofree char *data = make_dir (f, "browser-data");
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  static const char * const unset[] = {
    /* A browser draws nothing here, and GLib's fatal warnings are for our own code. */
    "DISPLAY", "WAYLAND_DISPLAY", "G_DEBUG", "MALLOC_CHECK_", "MALLOC_PERTURB_",
    "G_ENABLE_DIAGNOSTIC", "GSK_RENDERER", "GTK_A11Y", "LANGUAGE",
  };

  g_assert_nonnull (program);
  for (gsize i = 0; i < G_N_ELEMENTS (unset); i++)
    g_subprocess_launcher_unsetenv (launcher, unset[i]);
  g_subprocess_launcher_setenv (launcher, "HOME", f->home, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", f->config, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_STATE_HOME", f->state, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CACHE_HOME", cache, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_DATA_HOME", data, TRUE);
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS",
                                g_test_dbus_get_bus_address (f->bus), TRUE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_subprocess_launcher_set_stdout_file_path (launcher, f->browser_log);
  /* Its own process group, so that every process of it can be stopped. */
  g_subprocess_launcher_set_child_setup (launcher, setsid_child, NULL, NULL);

  g_ptr_array_add (argv, g_strdup (program));
  if (f->browser == &chromium)
    {
      g_autofree char *extension = g_test_build_filename (G_TEST_DIST, "..", "data", "browser",
                                                          "extension", NULL);

      write_chromium_profile (f);
      g_ptr_array_add (argv, g_strdup ("--headless=new"));
      /* Chromium's sandbox refuses to run as root. */
      g_ptr_array_add (argv, g_strdup ("--no-sandbox"));
      g_ptr_array_add (argv, g_strdup ("--disable-gpu"));
      g_ptr_array_add (argv, g_strdup ("--no-first-run"));
      g_ptr_array_add (argv, g_strdup ("--no-default-browser-check"));
      g_ptr_array_add (argv, g_strdup ("--disable-background-networking"));
      g_ptr_array_add (argv, g_strdup ("--disable-component-update"));
      g_ptr_array_add (argv, g_strdup ("--disable-sync"));
      g_ptr_array_add (argv, g_strdup ("--disable-features=DisableLoadExtensionCommandLineSwitch"));
      g_ptr_array_add (argv, g_strdup ("--proxy-server=http://127.0.0.1:9"));
      g_ptr_array_add (argv, g_strdup ("--enable-logging=stderr"));
      /* Only to open the page; the port is written to DevToolsActivePort. */
      g_ptr_array_add (argv, g_strdup ("--remote-debugging-port=0"));
      /* Where `sluicectl browser install` put the manifest for Chromium. */
      g_ptr_array_add (argv, g_strdup_printf ("--user-data-dir=%s/chromium", f->config));
      g_ptr_array_add (argv, g_strdup_printf ("--load-extension=%s", extension));
    }
  else
    {
      write_firefox_profile (f);
      g_ptr_array_add (argv, g_strdup ("--headless"));
      g_ptr_array_add (argv, g_strdup ("--no-remote"));
      g_ptr_array_add (argv, g_strdup ("--profile"));
      g_ptr_array_add (argv, g_strdup (f->profile));
    }
  /* Chromium does not always open an address given at start; it is opened in a tab later. */
  g_ptr_array_add (argv, g_strdup (f->browser == &chromium ? "about:blank" : page));
  g_ptr_array_add (argv, NULL);

  g_test_message ("starting %s, its output in %s", program, f->browser_log);
  f->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata,
                                             &error);
  g_assert_no_error (error);
  /* The leader of its group (see setsid_child()); known only while it runs. */
  f->group = atoi (g_subprocess_get_identifier (f->process));
  g_subprocess_wait_async (f->process, NULL, on_browser_exited, f);
}

static gboolean
devtools_port_written (gpointer data)
{
  g_autofree char *contents = NULL;

  return g_file_get_contents (data, &contents, NULL, NULL) && strchr (contents, '\n') != NULL;
}

static gboolean
page_loaded (gpointer data)
{
  return ((Fixture *) data)->page_loads > 0;
}

/* Opens the page in a new tab through Chromium's DevTools HTTP endpoint, again if it did not
 * load, a few times at most. */
static void
open_page_in_chromium (Fixture *f)
{
  g_autofree char *port_file = g_build_filename (f->config, "chromium", "DevToolsActivePort",
                                                 NULL);
  g_autofree char *page = server_url (f, "/e2e/page?browser=1#downloads");
  g_autofree char *escaped = g_uri_escape_string (page, NULL, FALSE);
  g_autoptr (SoupSession) session = soup_session_new ();
  g_autofree char *contents = NULL;
  guint64 port = 0;

  sl_test_wait_until (NULL, devtools_port_written, port_file, PAGE_MS);
  g_assert_true (g_file_get_contents (port_file, &contents, NULL, NULL));
  *strchr (contents, '\n') = '\0';
  g_assert_true (g_ascii_string_to_unsigned (contents, 10, 1, G_MAXUINT16, &port, NULL));

  for (guint attempt = 1; attempt <= 3; attempt++)
    {
      g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/json/new?%s", (guint) port,
                                              escaped);
      g_autoptr (SoupMessage) msg = soup_message_new ("PUT", url);
      g_autoptr (GBytes) reply = NULL;
      g_autoptr (GError) error = NULL;

      reply = soup_session_send_and_read (session, msg, NULL, &error);
      g_assert_no_error (error);
      sl_assert_message_status (msg, SOUP_STATUS_OK);
      if (sl_test_iterate_until (NULL, page_loaded, f, PAGE_MS / 3))
        return;
      g_test_message ("Chromium did not load the page in a new tab (attempt %u)", attempt);
    }
}

static gboolean
browser_exited (gpointer data)
{
  return ((Fixture *) data)->exited;
}

static void
stop_browser (Fixture *f)
{
  if (f->process == NULL)
    return;
  if (!f->exited)
    {
      kill (-f->group, SIGTERM);
      if (!sl_test_iterate_until (NULL, browser_exited, f, STOP_MS))
        {
          kill (-f->group, SIGKILL);
          sl_test_wait_until (NULL, browser_exited, f, STOP_MS);
        }
    }
  /* Its helpers and the native host end with it. */
  kill (-f->group, SIGKILL);
  g_clear_object (&f->process);
}

/* Fixture -------------------------------------------------------------------------------------- */

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *user_dirs = NULL;
  g_autofree char *user_dirs_path = NULL;
  g_autofree char *installed = NULL;
  GSList *uris;

  f->browser = data;
  f->tmp = sl_test_make_temp_dir ();
  f->home = make_dir (f, "home");
  f->config = make_dir (f, "config");
  f->state = g_build_filename (g_file_peek_path (f->tmp), "state", NULL);
  f->services = make_dir (f, "services");
  f->daemon_downloads = make_dir (f, "daemon-downloads");
  f->browser_downloads = make_dir (f, "browser-downloads");
  f->profile = make_dir (f, "firefox-profile");
  f->browser_log = g_build_filename (g_file_peek_path (f->tmp), "browser.log", NULL);
  f->session = g_uuid_string_random ();
  f->hits = g_ptr_array_new_with_free_func ((GDestroyNotify) hit_free);

  user_dirs = g_strdup_printf ("XDG_DOWNLOAD_DIR=\"%s\"\n", f->daemon_downloads);
  user_dirs_path = g_build_filename (f->config, "user-dirs.dirs", NULL);
  sl_test_write_text (user_dirs_path, user_dirs);
  write_service_file (f);

  f->bus = sl_test_bus_up (f->services, &f->connection);
  f->watch_id = g_bus_watch_name_on_connection (f->connection, BUS_NAME,
                                                G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                on_name_appeared, on_name_vanished, f, NULL);

  f->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (f->server, NULL, server_callback, f, NULL);
  soup_server_listen_local (f->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (f->server);
  f->port = g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  /* The manifest comes from where a user gets it. */
  run_sluicectl (f, (const char * const[]) { "browser", "install", "--browser",
                                             f->browser->name, NULL });
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  stop_browser (f);
  if (f->name_owned)
    {
      sl_test_stop_name_owner (f->connection, BUS_NAME, STOP_MS);
      sl_test_wait_until (NULL, name_not_owned, f, STOP_MS);
    }
  g_bus_unwatch_name (f->watch_id);
  g_dbus_connection_close_sync (f->connection, NULL, NULL);
  g_clear_object (&f->connection);
  g_test_dbus_down (f->bus);
  g_clear_object (&f->bus);

  soup_server_disconnect (f->server);
  g_clear_object (&f->server);
  g_ptr_array_unref (f->hits);

  sl_test_rm_rf (f->tmp);
  g_clear_object (&f->tmp);
  g_free (f->home);
  g_free (f->config);
  g_free (f->state);
  g_free (f->services);
  g_free (f->daemon_downloads);
  g_free (f->browser_downloads);
  g_free (f->profile);
  g_free (f->browser_log);
  g_free (f->session);
  g_free (f->command);
}

/* Cases ---------------------------------------------------------------------------------------- */

typedef struct
{
  Fixture    *f;
  const char *name;
} HitQuery;

static Hit *
find_hit (Fixture    *f,
          const char *name,
          gboolean    from_browser)
{
  for (guint i = 0; i < f->hits->len; i++)
    {
      Hit *hit = g_ptr_array_index (f->hits, i);

      if (g_str_equal (hit->name, name) && hit->from_browser == from_browser)
        return hit;
    }
  return NULL;
}

/* The hit, which must be there. */
static Hit *
get_hit (Fixture    *f,
         const char *name,
         gboolean    from_browser)
{
  Hit *hit = find_hit (f, name, from_browser);

  if (hit == NULL)
    g_error ("the %s never asked for %s", from_browser ? "browser" : "daemon", name);
  return hit;
}

/* What the server saw so far, for the log. */
static void
log_hits (Fixture *f)
{
  for (guint i = 0; i < f->hits->len; i++)
    {
      Hit *hit = g_ptr_array_index (f->hits, i);

      g_test_message ("request %u: %s from the %s, %s", i + 1, hit->name,
                      hit->from_browser ? "browser" : "daemon",
                      hit->body_done ? "served" : hit->finished ? "cut short" : "running");
    }
}

static gboolean
browser_hit_finished (gpointer data)
{
  HitQuery *query = data;
  Hit *hit = find_hit (query->f, query->name, TRUE);

  return hit != NULL && hit->finished;
}

static gboolean
command_taken (gpointer data)
{
  return ((Fixture *) data)->command == NULL;
}

static char *
file_path (const char *name,
           gsize       size,
           guint32     seed)
{
  return g_strdup_printf ("/e2e/file/%s?size=%" G_GSIZE_FORMAT "&seed=%u", name, size, seed);
}

/* Has the page set the cookie @cookie and click a link to @path; returns once it did. */
static void
click (Fixture    *f,
       const char *path,
       const char *cookie)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "cookie");
  json_builder_add_string_value (builder, cookie);
  json_builder_set_member_name (builder, "href");
  json_builder_add_string_value (builder, path);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  g_assert_null (f->command);
  f->command = json_to_string (root, FALSE);
  sl_test_wait_until (NULL, command_taken, f, CASE_MS);
}

static gboolean
has_partial_file (Fixture *f)
{
  g_autoptr (GFile) dir = g_file_new_for_path (f->browser_downloads);
  g_auto (GStrv) names = sl_test_list_dir (dir);

  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      if (g_str_has_suffix (names[i], ".crdownload") || g_str_has_suffix (names[i], ".part"))
        return TRUE;
    }
  return FALSE;
}

static gboolean
no_partial_file (gpointer data)
{
  return !has_partial_file (data);
}

static gboolean
browser_downloads_empty (gpointer data)
{
  Fixture *f = data;
  g_autoptr (GFile) dir = g_file_new_for_path (f->browser_downloads);
  g_auto (GStrv) names = sl_test_list_dir (dir);

  return names != NULL && names[0] == NULL;
}

/* Empties the browser's download folder once nothing is being written there: probes the
 * browser kept before the extension was up. */
static void
clear_browser_downloads (Fixture *f)
{
  g_autoptr (GFile) dir = g_file_new_for_path (f->browser_downloads);
  g_auto (GStrv) names = NULL;

  sl_test_wait_until (NULL, no_partial_file, f, CASE_MS);
  names = sl_test_list_dir (dir);
  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      g_autofree char *path = g_build_filename (f->browser_downloads, names[i], NULL);

      g_assert_cmpint (g_unlink (path), ==, 0);
    }
}

static gboolean
daemon_hit_seen (gpointer data)
{
  HitQuery *query = data;

  return find_hit (query->f, query->name, FALSE) != NULL;
}

/* Clicks probes until the daemon asks for one. The extension's worker needs a moment after
 * the browser starts, and a download that wakes it may wait there for a while (for the
 * request it came from, see REQUEST_WAIT_MS in background.js): the browser holds it, so a
 * probe is only known to be taken once the daemon asks for it. */
static void
wait_extension_ready (Fixture *f)
{
  sl_test_wait_until (NULL, page_loaded, f, PAGE_MS);
  for (guint probe = 1; probe <= MAX_PROBES; probe++)
    {
      g_autofree char *name = g_strdup_printf ("probe-%u.bin", probe);
      g_autofree char *path = file_path (name, PROBE_SIZE, probe);
      g_autofree char *cookie = g_strdup_printf ("probe=%u; Path=/", probe);
      HitQuery query = { f, name };

      click (f, path, cookie);
      if (sl_test_iterate_until (NULL, daemon_hit_seen, &query, PROBE_MS))
        {
          g_test_message ("the extension took probe %u", probe);
          clear_browser_downloads (f);
          return;
        }
      g_test_message ("the extension did not take probe %u within %u ms", probe, PROBE_MS);
    }
  log_hits (f);
  g_error ("the extension took none of %u downloads", MAX_PROBES);
}

typedef struct
{
  Fixture    *f;
  const char *url;
} StateQuery;

static gboolean
daemon_done (gpointer data)
{
  StateQuery *query = data;
  g_autofree char *error = NULL;
  g_autofree char *state = daemon_state (query->f, query->url, &error);

  if (g_strcmp0 (state, "failed") == 0)
    g_error ("the daemon's download of %s failed: %s", query->url, error);
  return g_strcmp0 (state, "completed") == 0;
}

static void
assert_cookie_has (const char *header,
                   const char *name,
                   const char *value)
{
  g_auto (GStrv) pairs = NULL;
  g_autofree char *wanted = g_strdup_printf ("%s=%s", name, value);

  g_assert_nonnull (header);
  pairs = g_strsplit (header, ";", -1);
  for (guint i = 0; pairs[i] != NULL; i++)
    {
      if (g_str_equal (g_strstrip (pairs[i]), wanted))
        return;
    }
  g_error ("the Cookie header “%s” lacks %s", header, wanted);
}

/* A download the page starts lands in the daemon with its cookies, referrer and user agent,
 * and the browser's copy is cancelled before it finished, leaving no file behind. */
static void
check_handoff (Fixture *f)
{
  const char *name = "handoff.bin";
  g_autofree char *path = file_path (name, HANDOFF_SIZE, 42);
  g_autofree char *url = server_url (f, path);
  g_autofree char *token = g_uuid_string_random ();
  g_autofree char *cookie = g_strdup_printf ("token=%s; Path=/; SameSite=Lax", token);
  /* The page's address without its #fragment. */
  g_autofree char *referrer = server_url (f, "/e2e/page?browser=1");
  g_autofree char *saved = g_build_filename (f->daemon_downloads, name, NULL);
  HitQuery query = { f, name };
  StateQuery state = { f, url };
  Hit *browser_hit;
  Hit *daemon_hit;

  click (f, path, cookie);
  sl_test_wait_until (NULL, browser_hit_finished, &query, CASE_MS);
  browser_hit = get_hit (f, name, TRUE);
  g_assert_false (browser_hit->body_done);

  sl_test_wait_until (NULL, daemon_done, &state, CASE_MS);
  daemon_hit = get_hit (f, name, FALSE);
  g_assert_true (daemon_hit->body_done);
  assert_cookie_has (daemon_hit->cookie, "sid", f->session);
  assert_cookie_has (daemon_hit->cookie, "token", token);
  g_assert_cmpstr (daemon_hit->referer, ==, referrer);
  g_assert_nonnull (browser_hit->user_agent);
  g_assert_cmpstr (daemon_hit->user_agent, ==, browser_hit->user_agent);
  sl_test_assert_file_is_entity (saved, 42, HANDOFF_SIZE);

  /* Nothing of the browser's copy stays, not even a partial file. */
  sl_test_wait_until (NULL, browser_downloads_empty, f, CASE_MS);
}

typedef struct
{
  Fixture    *f;
  const char *name;
  gsize       size;
} KeptQuery;

static gboolean
browser_kept (gpointer data)
{
  KeptQuery *query = data;
  g_autofree char *path = g_build_filename (query->f->browser_downloads, query->name, NULL);
  GStatBuf st;

  Hit *hit = find_hit (query->f, query->name, TRUE);

  /* The server learns that the body went out a moment after the browser has it. */
  return hit != NULL && hit->body_done && !has_partial_file (query->f) &&
         g_stat (path, &st) == 0 && (gsize) st.st_size == query->size;
}

/* With no daemon to take it, the download stays the browser's and completes there. */
static void
check_daemon_unreachable (Fixture *f)
{
  const char *name = "kept.bin";
  g_autofree char *path = file_path (name, KEPT_SIZE, 7);
  g_autofree char *kept = g_build_filename (f->browser_downloads, name, NULL);
  g_autofree char *cookie = g_strdup ("token=kept; Path=/");
  KeptQuery query = { f, name, KEPT_SIZE };
  guint appeared;

  make_daemon_unreachable (f);
  appeared = f->name_appeared;

  click (f, path, cookie);
  if (!sl_test_iterate_until (NULL, browser_kept, &query, CASE_MS))
    {
      g_autoptr (GFile) dir = g_file_new_for_path (f->browser_downloads);
      g_auto (GStrv) names = sl_test_list_dir (dir);
      g_autofree char *listing = g_strjoinv (", ", names);

      log_hits (f);
      g_error ("the browser did not keep %s; its folder has: %s", name, listing);
    }
  sl_test_assert_file_is_entity (kept, 7, KEPT_SIZE);
  g_assert_null (find_hit (f, name, FALSE));
  g_assert_cmpuint (f->name_appeared, ==, appeared);
}

static void
test_browser (Fixture       *f,
              gconstpointer  data)
{
  g_autofree char *program = g_find_program_in_path (f->browser->program);
  gint64 started = g_get_monotonic_time ();

  if (program == NULL)
    {
      /* The test command installs both browsers; elsewhere they may be missing. */
      if (g_getenv ("CI") != NULL)
        g_error ("%s is not installed", f->browser->program);
      g_test_skip ("not installed");
      return;
    }

  launch_browser (f);
  if (f->browser == &chromium)
    open_page_in_chromium (f);
  wait_extension_ready (f);
  check_handoff (f);
  check_daemon_unreachable (f);
  g_test_message ("%s: %.1f s", f->browser->program,
                  (g_get_monotonic_time () - started) / (double) G_USEC_PER_SEC);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/browser-e2e/chromium", Fixture, &chromium, fixture_setup, test_browser,
              fixture_teardown);
  g_test_add ("/browser-e2e/firefox", Fixture, &firefox, fixture_setup, test_browser,
              fixture_teardown);

  return g_test_run ();
}
