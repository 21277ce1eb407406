/* test-daemon.c
 *
 * sluiced as its clients see it: the daemon binary runs as a subprocess on a private bus
 * (GTestDBus), with its own data folder, and the test drives it through the generated proxies,
 * downloading from the loopback test server. Also how it stops: idle, SIGTERM, SIGKILL, and a
 * damaged database.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "sl-dbus-generated.h"
#include "sl-test-server.h"
#include "sl-test-utils.h"

#define BUS_NAME          "org.sluice.Downloads"
#define MANAGER_PATH      "/org/sluice/Downloads"
#define MANAGER_IFACE     "org.sluice.Downloads.Manager1"
#define DOWNLOAD_IFACE    "org.sluice.Downloads.Download1"
#define ERROR_PREFIX      "org.sluice.Downloads.Error."

#define START_MS          (20 * 1000)
#define STOP_MS           (20 * 1000)
#define TRANSFER_MS       (30 * 1000)
#define SHORT_MS          (5 * 1000)
/* The `connections` a test leaves out, for automatic. */
#define AUTOMATIC         G_MAXUINT

typedef struct
{
  GTestDBus          *bus;
  GDBusConnection    *connection;
  guint               watch_id;
  gboolean            name_owned;

  SlTestServer       *server;
  GFile              *data_home;
  GFile              *downloads;
  GFile              *services;
  char               *downloads_path;

  GSubprocess        *daemon;
  gboolean            exited;
  int                 status;     /* the raw wait status once exited */
  char               *stderr_path;
  gsize               file_size_limit;  /* RLIMIT_FSIZE of the next daemon, 0 for none */
  guint               connections;      /* the `connections` of downloads added */

  SlDBusManager1     *manager;
  GDBusObjectManager *objects;
} Fixture;

/* The daemon process */

static void
on_name_appeared (GDBusConnection *connection,
                  const char      *name,
                  const char      *owner,
                  gpointer         user_data)
{
  ((Fixture *) user_data)->name_owned = TRUE;
}

static void
on_name_vanished (GDBusConnection *connection,
                  const char      *name,
                  gpointer         user_data)
{
  ((Fixture *) user_data)->name_owned = FALSE;
}

static void
on_daemon_exited (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  Fixture *f = user_data;
  GSubprocess *daemon = G_SUBPROCESS (source);

  g_assert_true (g_subprocess_wait_finish (daemon, result, NULL));
  f->status = g_subprocess_get_status (daemon);
  f->exited = TRUE;
}

static gboolean
name_owned_or_exited (gpointer data)
{
  Fixture *f = data;

  return f->name_owned || f->exited;
}

static gboolean
name_not_owned (gpointer data)
{
  return !((Fixture *) data)->name_owned;
}

/* A daemon must not outlive a test that crashed. With a size in @data, the daemon also gets
 * that file size limit, as if the disk filled up there. */
static void
daemon_child_setup (gpointer data)
{
  gsize file_size_limit = GPOINTER_TO_SIZE (data);

  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (file_size_limit > 0)
    {
      struct rlimit limit = { file_size_limit, file_size_limit };

      setrlimit (RLIMIT_FSIZE, &limit);
    }
}

static void
connect_proxies (Fixture *f)
{
  g_autoptr (GError) error = NULL;

  f->manager = sl_dbus_manager1_proxy_new_sync (f->connection,
                                                G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                                BUS_NAME, MANAGER_PATH, NULL, &error);
  g_assert_no_error (error);

  f->objects =
    sl_dbus_object_manager_client_new_sync (f->connection,
                                            G_DBUS_OBJECT_MANAGER_CLIENT_FLAGS_DO_NOT_AUTO_START,
                                            BUS_NAME, MANAGER_PATH, NULL, &error);
  g_assert_no_error (error);
}

static void
disconnect_proxies (Fixture *f)
{
  g_clear_object (&f->manager);
  g_clear_object (&f->objects);
}

/* Spawns sluiced with @args after the program name and @data_home as its data folder
 * (f->data_home if NULL). With @stderr_path, its stderr goes there. */
static GSubprocess *
daemon_spawn (Fixture            *f,
              const char * const *args,
              const char         *data_home,
              const char         *stderr_path)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *default_data_home = g_file_get_path (f->data_home);
  const char *sluiced = g_getenv ("SLUICED");
  GSubprocess *daemon;

  g_assert_nonnull (sluiced);

  g_ptr_array_add (argv, (char *) sluiced);
  for (guint i = 0; args != NULL && args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_set_child_setup (launcher, daemon_child_setup,
                                         GSIZE_TO_POINTER (f->file_size_limit), NULL);
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS",
                                g_test_dbus_get_bus_address (f->bus), TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_DATA_HOME",
                                data_home ? data_home : default_data_home, TRUE);
  g_subprocess_launcher_unsetenv (launcher, "SLUICE_IDLE_TIMEOUT");
  if (stderr_path != NULL)
    g_subprocess_launcher_set_stderr_file_path (launcher, stderr_path);

  daemon = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);

  return daemon;
}

/* Starts the daemon of the test, waits for its name on the bus, and connects the proxies.
 * With @capture_stderr, its stderr goes to f->stderr_path. */
static void
daemon_start_full (Fixture            *f,
                   const char * const *args,
                   gboolean            capture_stderr)
{
  g_assert_null (f->daemon);

  g_clear_pointer (&f->stderr_path, g_free);
  if (capture_stderr)
    {
      g_autofree char *data_home = g_file_get_path (f->data_home);

      f->stderr_path = g_build_filename (data_home, "sluiced.log", NULL);
    }

  f->exited = FALSE;
  f->daemon = daemon_spawn (f, args, NULL, f->stderr_path);
  g_subprocess_wait_async (f->daemon, NULL, on_daemon_exited, f);

  sl_test_wait_until (NULL, name_owned_or_exited, f, START_MS);
  if (f->exited)
    g_error ("sluiced exited at start with status %d", f->status);

  connect_proxies (f);
}

/* A daemon that does not leave on its own while a test runs. */
static void
daemon_start (Fixture *f)
{
  static const char * const args[] = { "--idle-timeout", "600", NULL };

  daemon_start_full (f, args, FALSE);
}

static gboolean
daemon_exited_and_name_gone (gpointer data)
{
  Fixture *f = data;

  return f->exited && !f->name_owned;
}

/* Waits for the daemon to exit, which the test expects, and forgets it. */
static void
daemon_reap (Fixture *f)
{
  sl_test_wait_until (NULL, daemon_exited_and_name_gone, f, STOP_MS);
  g_clear_object (&f->daemon);
  disconnect_proxies (f);
}

static void
daemon_kill (Fixture *f,
             int      signum)
{
  g_assert_nonnull (f->daemon);
  g_subprocess_send_signal (f->daemon, signum);
  daemon_reap (f);
}

static void
assert_exited_cleanly (Fixture *f)
{
  g_assert_true (f->exited);
  if (!WIFEXITED (f->status))
    g_error ("sluiced died of signal %d", WTERMSIG (f->status));
  g_assert_cmpint (WEXITSTATUS (f->status), ==, 0);
}

/* Stops a daemon that is not our child (started by the bus or by sluicectl) through its pid,
 * as a session would. */
static void
stop_foreign_daemon (Fixture *f)
{
  sl_test_stop_name_owner (f->connection, BUS_NAME, STOP_MS);
  sl_test_wait_until (NULL, name_not_owned, f, STOP_MS);
  disconnect_proxies (f);
}

/* Fixture */

/* The daemon in the build tree, with the test's data folder, for the private bus to start
 * on demand. */
static void
write_service_file (Fixture *f)
{
  g_autofree char *exec = g_strdup_printf ("/usr/bin/env XDG_DATA_HOME=%s %s",
                                           g_file_peek_path (f->data_home),
                                           g_getenv ("SLUICED"));
  g_autofree char *path = g_build_filename (g_file_peek_path (f->services), BUS_NAME ".service",
                                            NULL);

  sl_test_write_service_file (path, exec);
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  /* One stream: most tests look at what a single one keeps. */
  f->connections = 1;
  f->server = sl_test_server_new ();
  f->data_home = sl_test_make_temp_dir ();
  f->downloads = sl_test_make_temp_dir ();
  f->downloads_path = g_file_get_path (f->downloads);
  f->services = sl_test_make_temp_dir ();
  write_service_file (f);

  f->bus = sl_test_bus_up (g_file_peek_path (f->services), &f->connection);
  f->watch_id = g_bus_watch_name_on_connection (f->connection, BUS_NAME,
                                                G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                on_name_appeared, on_name_vanished, f, NULL);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  /* Every daemon a test leaves running must stop cleanly, which under the sanitizers also
   * means without leaks. */
  if (f->daemon != NULL)
    {
      daemon_kill (f, SIGTERM);
      assert_exited_cleanly (f);
    }
  else if (f->name_owned)
    stop_foreign_daemon (f);
  disconnect_proxies (f);

  g_bus_unwatch_name (f->watch_id);
  g_dbus_connection_close_sync (f->connection, NULL, NULL);
  g_clear_object (&f->connection);
  g_test_dbus_down (f->bus);
  g_clear_object (&f->bus);

  sl_test_server_quit_unref (f->server);
  sl_test_rm_rf (f->data_home);
  sl_test_rm_rf (f->downloads);
  sl_test_rm_rf (f->services);
  g_clear_object (&f->data_home);
  g_clear_object (&f->downloads);
  g_clear_object (&f->services);
  g_free (f->downloads_path);
  g_free (f->stderr_path);
}

/* Helpers */

static GVariant *
options_in (Fixture *f)
{
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "directory", "s", f->downloads_path);
  if (f->connections != AUTOMATIC)
    g_variant_dict_insert (&dict, "connections", "u", f->connections);
  return g_variant_dict_end (&dict);
}

/* Adds @path_and_query of the test server into the downloads folder; returns the object path. */
static char *
add (Fixture    *f,
     const char *path_and_query)
{
  g_autofree char *url = sl_test_server_url (f->server, path_and_query);
  g_autoptr (GError) error = NULL;
  char *object_path = NULL;

  sl_dbus_manager1_call_add_sync (f->manager, url, options_in (f), &object_path, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_is_object_path (object_path));
  g_assert_true (g_str_has_prefix (object_path, MANAGER_PATH "/"));

  return object_path;
}

typedef struct
{
  Fixture    *f;
  const char *path;
} ObjectWait;

static gboolean
object_exists (gpointer data)
{
  ObjectWait *wait = data;
  g_autoptr (GDBusInterface) iface =
    g_dbus_object_manager_get_interface (wait->f->objects, wait->path, DOWNLOAD_IFACE);

  return iface != NULL;
}

static gboolean
object_gone (gpointer data)
{
  return !object_exists (data);
}

/* The proxy of the download at @path, once the object manager client has heard of it. */
static SlDBusDownload1 *
get_download (Fixture    *f,
              const char *path)
{
  ObjectWait wait = { f, path };

  sl_test_wait_until (NULL, object_exists, &wait, SHORT_MS);
  return SL_DBUS_DOWNLOAD1 (g_dbus_object_manager_get_interface (f->objects, path,
                                                                 DOWNLOAD_IFACE));
}

static void
wait_object_gone (Fixture    *f,
                  const char *path)
{
  ObjectWait wait = { f, path };

  sl_test_wait_until (NULL, object_gone, &wait, SHORT_MS);
}

typedef struct
{
  SlDBusDownload1 *download;
  const char      *state;
  guint64          min_bytes;
} StateWait;

static gboolean
state_reached (gpointer data)
{
  StateWait *wait = data;

  return g_strcmp0 (sl_dbus_download1_get_state (wait->download), wait->state) == 0 &&
         sl_dbus_download1_get_bytes_received (wait->download) >= wait->min_bytes;
}

/* Waits for @download to be in @state with at least @min_bytes, failing with what it is in
 * instead. */
static void
wait_state_bytes (SlDBusDownload1 *download,
                  const char      *state,
                  guint64          min_bytes,
                  guint            timeout_ms)
{
  StateWait wait = { download, state, min_bytes };

  if (!sl_test_iterate_until (NULL, state_reached, &wait, timeout_ms))
    g_error ("%s is %s with %" G_GUINT64_FORMAT " bytes (error “%s” “%s”), not %s with at "
             "least %" G_GUINT64_FORMAT " bytes, after %u ms",
             g_dbus_proxy_get_object_path (G_DBUS_PROXY (download)),
             sl_dbus_download1_get_state (download),
             sl_dbus_download1_get_bytes_received (download),
             sl_dbus_download1_get_error_kind (download),
             sl_dbus_download1_get_error (download), state, min_bytes, timeout_ms);
}

static void
wait_state (SlDBusDownload1 *download,
            const char      *state,
            guint            timeout_ms)
{
  wait_state_bytes (download, state, 0, timeout_ms);
}

static char *
download_file_path (SlDBusDownload1 *download)
{
  return g_build_filename (sl_dbus_download1_get_directory (download),
                           sl_dbus_download1_get_filename (download), NULL);
}

static char *
partial_file_path (SlDBusDownload1 *download)
{
  g_autofree char *name = g_strconcat (sl_dbus_download1_get_filename (download), ".part",
                                       NULL);

  return g_build_filename (sl_dbus_download1_get_directory (download), name, NULL);
}

/* GetManagedObjects as any client calls it, without the object manager client's cache. */
static GVariant *
get_managed_objects (Fixture *f)
{
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;
  GVariant *objects;

  reply = g_dbus_connection_call_sync (f->connection, BUS_NAME, MANAGER_PATH,
                                       "org.freedesktop.DBus.ObjectManager",
                                       "GetManagedObjects", NULL,
                                       G_VARIANT_TYPE ("(a{oa{sa{sv}}})"),
                                       G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, NULL, &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(@a{oa{sa{sv}}})", &objects);

  return objects;
}

/* The Download1 properties of @path in GetManagedObjects, or NULL if it is not listed. */
static GVariant *
lookup_managed (GVariant   *objects,
                const char *path)
{
  g_autoptr (GVariant) interfaces = NULL;

  interfaces = g_variant_lookup_value (objects, path, G_VARIANT_TYPE ("a{sa{sv}}"));
  if (interfaces == NULL)
    return NULL;

  return g_variant_lookup_value (interfaces, DOWNLOAD_IFACE, G_VARIANT_TYPE_VARDICT);
}

/* Tests */

/* Calls @method on @path and returns the reply, or NULL with @error set. */
static GVariant *
call (Fixture     *f,
      const char  *path,
      const char  *interface_name,
      const char  *method,
      GVariant    *parameters,
      GError     **error)
{
  return g_dbus_connection_call_sync (f->connection, BUS_NAME, path, interface_name, method,
                                      parameters, NULL, G_DBUS_CALL_FLAGS_NO_AUTO_START, -1,
                                      NULL, error);
}

/* The download objects as a client without the object manager client sees them: Get,
 * GetAll and GetManagedObjects agree, properties are read-only, a removed object answers
 * with an error, and introspection shows the interface. */
static void
test_objects (Fixture       *f,
              gconstpointer  data)
{
  g_autofree char *path = NULL;
  g_autofree char *other = NULL;
  g_autoptr (SlDBusDownload1) download = NULL;
  g_autoptr (GVariant) objects = NULL;
  g_autoptr (GVariant) managed = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) all = NULL;
  g_autoptr (GVariant) state = NULL;
  g_autoptr (GError) error = NULL;
  const char *xml;

  daemon_start (f);

  path = add (f, "/file?size=20000&seed=31");
  other = add (f, "/file?size=20000&seed=32");
  download = get_download (f, path);
  wait_state (download, "completed", TRANSFER_MS);

  objects = get_managed_objects (f);
  g_assert_cmpuint (g_variant_n_children (objects), ==, 2);
  managed = lookup_managed (objects, path);
  g_assert_nonnull (managed);

  reply = call (f, path, "org.freedesktop.DBus.Properties", "GetAll",
                g_variant_new ("(s)", DOWNLOAD_IFACE), &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(@a{sv})", &all);
  g_assert_cmpvariant (all, managed);
  g_assert_cmpuint (g_variant_n_children (all), ==, 14);
  g_clear_pointer (&reply, g_variant_unref);

  reply = call (f, path, "org.freedesktop.DBus.Properties", "Get",
                g_variant_new ("(ss)", DOWNLOAD_IFACE, "State"), &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(v)", &state);
  g_assert_cmpstr (g_variant_get_string (state, NULL), ==, "completed");
  g_clear_pointer (&reply, g_variant_unref);

  reply = call (f, path, "org.freedesktop.DBus.Properties", "Set",
                g_variant_new ("(ssv)", DOWNLOAD_IFACE, "State", g_variant_new_string ("x")),
                &error);
  g_assert_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS);
  g_assert_null (reply);
  g_clear_error (&error);

  reply = call (f, path, "org.freedesktop.DBus.Introspectable", "Introspect", NULL, &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(&s)", &xml);
  g_assert_nonnull (strstr (xml, "<interface name=\"" DOWNLOAD_IFACE "\">"));
  g_clear_pointer (&reply, g_variant_unref);

  /* Wrong arguments are refused before they reach the download. */
  reply = call (f, path, DOWNLOAD_IFACE, "Remove", g_variant_new ("(s)", "yes"), &error);
  g_assert_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS);
  g_clear_error (&error);

  /* Once removed, the object is gone for every kind of call; the other one stays. */
  reply = call (f, path, DOWNLOAD_IFACE, "Remove", g_variant_new ("(b)", FALSE), &error);
  g_assert_no_error (error);
  g_clear_pointer (&reply, g_variant_unref);
  wait_object_gone (f, path);

  reply = call (f, path, DOWNLOAD_IFACE, "Pause", NULL, &error);
  g_assert_nonnull (error);
  g_assert_null (reply);
  g_clear_error (&error);
  reply = call (f, path, "org.freedesktop.DBus.Properties", "GetAll",
                g_variant_new ("(s)", DOWNLOAD_IFACE), &error);
  g_assert_nonnull (error);
  g_clear_error (&error);
  reply = call (f, MANAGER_PATH "/abc", DOWNLOAD_IFACE, "Pause", NULL, &error);
  g_assert_nonnull (error);
  g_clear_error (&error);

  g_clear_pointer (&objects, g_variant_unref);
  g_clear_pointer (&managed, g_variant_unref);
  objects = get_managed_objects (f);
  g_assert_cmpuint (g_variant_n_children (objects), ==, 1);
  managed = lookup_managed (objects, other);
  g_assert_nonnull (managed);
}

static void
test_add_completes (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *url = sl_test_server_url (f->server, "/file?size=300000&seed=7");
  g_autofree char *path = NULL;
  g_autofree char *file = NULL;
  g_autoptr (GVariant) objects = NULL;
  g_autoptr (GVariant) props = NULL;
  g_autoptr (SlDBusDownload1) download = NULL;
  const char *str;
  gint64 total;

  /* As added without the option, which is automatic. */
  f->connections = AUTOMATIC;
  daemon_start (f);

  path = add (f, "/file?size=300000&seed=7");

  objects = get_managed_objects (f);
  g_assert_cmpuint (g_variant_n_children (objects), ==, 1);
  props = lookup_managed (objects, path);
  g_assert_nonnull (props);
  g_assert_true (g_variant_lookup (props, "Uri", "&s", &str));
  g_assert_cmpstr (str, ==, url);
  g_assert_true (g_variant_lookup (props, "Directory", "&s", &str));
  g_assert_cmpstr (str, ==, f->downloads_path);
  g_assert_true (g_variant_lookup (props, "State", "&s", &str));
  g_assert_true (g_strv_contains ((const char * const[]) { "queued", "running", "completed",
                                                           NULL }, str));
  g_assert_true (g_variant_lookup (props, "BytesTotal", "x", &total));
  g_assert_true (total == -1 || total == 300000);
  g_assert_true (g_variant_lookup (props, "ErrorKind", "&s", &str));
  g_assert_cmpstr (str, ==, "");

  download = get_download (f, path);
  wait_state (download, "completed", TRANSFER_MS);

  g_assert_cmpstr (sl_dbus_download1_get_filename (download), ==, "file");
  g_assert_cmpuint (sl_dbus_download1_get_bytes_received (download), ==, 300000);
  g_assert_cmpint (sl_dbus_download1_get_bytes_total (download), ==, 300000);
  /* Automatic connections ask for "bytes=0-" first, which this server answers with a part. */
  g_assert_cmpuint (sl_dbus_download1_get_http_status (download), ==, 206);
  g_assert_cmpstr (sl_dbus_download1_get_error_kind (download), ==, "");
  g_assert_cmpstr (sl_dbus_download1_get_error (download), ==, "");

  file = download_file_path (download);
  sl_test_assert_file_is_entity (file, 7, 300000);
}

typedef struct
{
  const char *uri;          /* NULL: the test server's /file */
  const char *key;          /* an option, or NULL */
  GVariant   *(*value) (Fixture *f);
  const char *error_name;   /* after ERROR_PREFIX */
  const char *fragment;     /* in the message */
} Refusal;

static GVariant *
value_wrong_type (Fixture *f)
{
  return g_variant_new_string ("yes");
}

static GVariant *
value_any (Fixture *f)
{
  return g_variant_new_string ("red");
}

static GVariant *
value_relative (Fixture *f)
{
  return g_variant_new_string ("relative/folder");
}

static GVariant *
value_missing (Fixture *f)
{
  g_autofree char *path = g_build_filename (f->downloads_path, "missing", NULL);

  return g_variant_new_string (path);
}

/* A plain file where a folder should be. */
static GVariant *
value_not_a_folder (Fixture *f)
{
  g_autofree char *path = g_build_filename (f->downloads_path, "plain", NULL);

  g_assert_true (g_file_set_contents (path, "", 0, NULL));
  return g_variant_new_string (path);
}

static GVariant *
value_folder_in_name (Fixture *f)
{
  return g_variant_new_string ("sub/x.bin");
}

static GVariant *
value_line_break (Fixture *f)
{
  return g_variant_new_string ("a=b\r\nX-Injected: 1");
}

static GVariant *
value_newline (Fixture *f)
{
  return g_variant_new_string ("Agent/1.0\nX-Injected: 1");
}

static GVariant *
value_range_header (Fixture *f)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{ss}"));
  g_variant_builder_add (&builder, "{ss}", "X-Fine", "yes");
  g_variant_builder_add (&builder, "{ss}", "Range", "bytes=100-");
  return g_variant_builder_end (&builder);
}

static GVariant *
value_host_header (Fixture *f)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{ss}"));
  g_variant_builder_add (&builder, "{ss}", "host", "example.org");
  return g_variant_builder_end (&builder);
}

/* A folder this process cannot write to: one without write permission, or, when permissions
 * do not apply (root), one on a read-only file system. NULL if there is none. */
static char *
unwritable_folder (Fixture *f)
{
  g_autofree char *path = g_build_filename (f->downloads_path, "read-only", NULL);

  g_assert_cmpint (g_mkdir (path, 0500), ==, 0);
  if (access (path, W_OK) != 0)
    return g_steal_pointer (&path);

  if (g_file_test ("/proc/sys", G_FILE_TEST_IS_DIR) && access ("/proc/sys", W_OK) != 0)
    return g_strdup ("/proc/sys");

  return NULL;
}

static void
assert_refused (Fixture    *f,
                const char *uri,
                GVariant   *options,
                const char *error_name,
                const char *fragment)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *object_path = NULL;
  g_autofree char *remote = NULL;
  g_autofree char *expected = g_strconcat (ERROR_PREFIX, error_name, NULL);
  g_autofree char *printed = g_variant_print (options, TRUE);

  g_test_message ("Add (%.200s, %s)", uri, printed);
  sl_dbus_manager1_call_add_sync (f->manager, uri, options, &object_path, NULL, &error);
  g_assert_nonnull (error);
  g_assert_null (object_path);

  remote = g_dbus_error_get_remote_error (error);
  g_assert_cmpstr (remote, ==, expected);
  g_dbus_error_strip_remote_error (error);
  if (strstr (error->message, fragment) == NULL)
    g_error ("“%s” does not say “%s”", error->message, fragment);
}

static void
test_add_refused (Fixture       *f,
                  gconstpointer  data)
{
  static const Refusal refusals[] = {
    { "ftp://example.com/file", NULL, NULL, "UnsupportedScheme", "unsupported scheme “ftp”" },
    { "%%% garbage %%%", NULL, NULL, "InvalidUri", "has no scheme" },
    { "http://", NULL, NULL, "InvalidUri", "no host name" },
    { NULL, "paused", value_wrong_type, "InvalidArgument", "“paused” must be of type b" },
    { NULL, "colour", value_any, "InvalidArgument", "Unknown option “colour”" },
    { NULL, "directory", value_relative, "InvalidArgument", "not an absolute path" },
    { NULL, "directory", value_missing, "File", "does not exist" },
    { NULL, "directory", value_not_a_folder, "File", "is not a folder" },
    /* A folder in the name is refused, not dropped. */
    { NULL, "filename", value_folder_in_name, "InvalidArgument", "cannot contain “/”" },
    /* No line break in any header, whichever option it comes from. */
    { NULL, "cookies", value_line_break, "InvalidArgument", "header “Cookie” contains a line" },
    { NULL, "user-agent", value_newline, "InvalidArgument", "“User-Agent” contains a line" },
    { NULL, "referrer", value_line_break, "InvalidArgument", "“Referer” contains a line" },
    /* Headers that would break the download. */
    { NULL, "headers", value_range_header, "InvalidArgument", "“Range” cannot be given" },
    { NULL, "headers", value_host_header, "InvalidArgument", "“host” cannot be given" },
  };
  g_autofree char *url = sl_test_server_url (f->server, "/file?size=1000");
  g_autofree char *long_tail = g_strnfill (1024 * 1024, 'a');
  g_autofree char *long_url = g_strconcat (url, "&x=", long_tail, NULL);
  g_autofree char *unwritable = NULL;
  g_autoptr (GVariant) objects = NULL;

  daemon_start (f);

  for (guint i = 0; i < G_N_ELEMENTS (refusals); i++)
    {
      GVariantDict dict;

      /* The folder is a good one, unless the case is about the folder. */
      g_variant_dict_init (&dict, NULL);
      g_variant_dict_insert (&dict, "directory", "s", f->downloads_path);
      if (refusals[i].key != NULL)
        g_variant_dict_insert_value (&dict, refusals[i].key, refusals[i].value (f));
      assert_refused (f, refusals[i].uri ? refusals[i].uri : url, g_variant_dict_end (&dict),
                      refusals[i].error_name, refusals[i].fragment);
    }

  /* A megabyte of address would be stored and drawn across its row. */
  assert_refused (f, long_url, options_in (f), "InvalidUri", "longer than the 64 KiB");

  unwritable = unwritable_folder (f);
  if (unwritable != NULL)
    {
      GVariantDict dict;

      g_variant_dict_init (&dict, NULL);
      g_variant_dict_insert (&dict, "directory", "s", unwritable);
      assert_refused (f, url, g_variant_dict_end (&dict), "File", "is not writable");
    }
  else
    g_test_message ("No unwritable folder to try: permissions do not apply to this user");

  /* Nothing refused was added. */
  objects = get_managed_objects (f);
  g_assert_cmpuint (g_variant_n_children (objects), ==, 0);
}

static void
test_pause_resume_cancel (Fixture       *f,
                          gconstpointer  data)
{
  g_autofree char *path = NULL;
  g_autofree char *partial = NULL;
  g_autoptr (SlDBusDownload1) download = NULL;
  g_autoptr (GVariant) objects = NULL;
  g_autoptr (GError) error = NULL;
  guint64 bytes;

  daemon_start (f);

  path = add (f, "/file?size=4000000&seed=3&rate=400000");
  download = get_download (f, path);
  wait_state_bytes (download, "running", 1, TRANSFER_MS);

  sl_dbus_download1_call_pause_sync (download, NULL, &error);
  g_assert_no_error (error);
  wait_state (download, "paused", SHORT_MS);
  bytes = sl_dbus_download1_get_bytes_received (download);
  g_assert_cmpuint (bytes, >, 0);
  g_assert_cmpuint (bytes, <, 4000000);
  partial = partial_file_path (download);
  g_assert_true (g_file_test (partial, G_FILE_TEST_IS_REGULAR));

  /* Paused stays paused, bytes and all. */
  sl_test_run_for (300);
  g_assert_cmpstr (sl_dbus_download1_get_state (download), ==, "paused");
  g_assert_cmpuint (sl_dbus_download1_get_bytes_received (download), ==, bytes);

  sl_dbus_download1_call_resume_sync (download, NULL, &error);
  g_assert_no_error (error);
  wait_state_bytes (download, "running", bytes + 1, TRANSFER_MS);

  /* A running download keeps its link. */
  sl_dbus_download1_call_refresh_link_sync (download, "http://example.com/other", NULL,
                                            &error);
  g_assert_nonnull (error);
  {
    g_autofree char *name = g_dbus_error_get_remote_error (error);

    g_assert_cmpstr (name, ==, ERROR_PREFIX "InvalidArgument");
  }
  g_assert_nonnull (strstr (error->message, "paused, failed or waiting"));
  g_clear_error (&error);

  sl_dbus_download1_call_cancel_sync (download, NULL, &error);
  g_assert_no_error (error);
  wait_state (download, "canceled", SHORT_MS);
  g_assert_cmpstr (sl_dbus_download1_get_error_kind (download), ==, "user");
  g_assert_false (g_file_test (partial, G_FILE_TEST_EXISTS));

  sl_dbus_download1_call_remove_sync (download, FALSE, NULL, &error);
  g_assert_no_error (error);
  wait_object_gone (f, path);
  g_clear_pointer (&path, g_free);
  g_clear_object (&download);

  /* Removing a running download cancels it: the partial file goes too. */
  path = add (f, "/file?size=4000000&seed=4&rate=400000");
  download = get_download (f, path);
  wait_state_bytes (download, "running", 1, TRANSFER_MS);
  g_clear_pointer (&partial, g_free);
  partial = partial_file_path (download);
  sl_dbus_download1_call_remove_sync (download, TRUE, NULL, &error);
  g_assert_no_error (error);
  wait_object_gone (f, path);
  sl_test_run_for (200);
  g_assert_false (g_file_test (partial, G_FILE_TEST_EXISTS));
  objects = get_managed_objects (f);
  g_assert_cmpuint (g_variant_n_children (objects), ==, 0);
}

static gboolean
file_is_gone (gpointer data)
{
  return !g_file_test (data, G_FILE_TEST_EXISTS);
}

static void
test_remove (Fixture       *f,
             gconstpointer  data)
{
  g_autofree char *path = NULL;
  g_autofree char *file = NULL;
  g_autoptr (SlDBusDownload1) download = NULL;
  g_autoptr (GError) error = NULL;

  daemon_start (f);

  /* Remove (false) keeps the file. */
  path = add (f, "/file?size=20000&seed=11");
  download = get_download (f, path);
  wait_state (download, "completed", TRANSFER_MS);
  file = download_file_path (download);
  sl_dbus_download1_call_remove_sync (download, FALSE, NULL, &error);
  g_assert_no_error (error);
  wait_object_gone (f, path);
  sl_test_run_for (200);
  sl_test_assert_file_is_entity (file, 11, 20000);
  g_clear_pointer (&path, g_free);
  g_clear_pointer (&file, g_free);
  g_clear_object (&download);

  /* Remove (true) deletes it. */
  path = add (f, "/file?size=20000&seed=12");
  download = get_download (f, path);
  wait_state (download, "completed", TRANSFER_MS);
  file = download_file_path (download);
  sl_test_assert_file_is_entity (file, 12, 20000);
  sl_dbus_download1_call_remove_sync (download, TRUE, NULL, &error);
  g_assert_no_error (error);
  wait_object_gone (f, path);
  sl_test_wait_until (NULL, file_is_gone, file, SHORT_MS);
}

static void
test_pause_all (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *path1 = NULL;
  g_autofree char *path2 = NULL;
  g_autoptr (SlDBusDownload1) download1 = NULL;
  g_autoptr (SlDBusDownload1) download2 = NULL;
  g_autoptr (GError) error = NULL;

  daemon_start (f);

  path1 = add (f, "/file?size=4000000&seed=21&rate=400000");
  path2 = add (f, "/file?size=4000000&seed=22&rate=400000");
  download1 = get_download (f, path1);
  download2 = get_download (f, path2);
  wait_state_bytes (download1, "running", 1, TRANSFER_MS);
  wait_state_bytes (download2, "running", 1, TRANSFER_MS);

  sl_dbus_manager1_call_pause_all_sync (f->manager, NULL, &error);
  g_assert_no_error (error);
  wait_state (download1, "paused", SHORT_MS);
  wait_state (download2, "paused", SHORT_MS);

  sl_dbus_manager1_call_resume_all_sync (f->manager, NULL, &error);
  g_assert_no_error (error);
  wait_state_bytes (download1, "running", sl_dbus_download1_get_bytes_received (download1) + 1,
                    TRANSFER_MS);
  wait_state_bytes (download2, "running", sl_dbus_download1_get_bytes_received (download2) + 1,
                    TRANSFER_MS);
}

/* Sets a Manager1 property the way any client does, with Properties.Set. */
static void
set_manager_property (Fixture    *f,
                      const char *name,
                      GVariant   *value)
{
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;

  reply = call (f, MANAGER_PATH, "org.freedesktop.DBus.Properties", "Set",
                g_variant_new ("(ssv)", MANAGER_IFACE, name, value), &error);
  g_assert_no_error (error);
}

/* A number property of Manager1, of type u or t, read with Properties.Get. */
static guint64
get_manager_number (Fixture    *f,
                    const char *name)
{
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) value = NULL;
  g_autoptr (GError) error = NULL;

  reply = call (f, MANAGER_PATH, "org.freedesktop.DBus.Properties", "Get",
                g_variant_new ("(ss)", MANAGER_IFACE, name), &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(v)", &value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
    return g_variant_get_uint64 (value);
  return g_variant_get_uint32 (value);
}

/* The daemon's settings are its own: what a client sets holds after a restart. */
static void
test_settings_kept (Fixture       *f,
                    gconstpointer  data)
{
  daemon_start (f);
  g_assert_cmpuint (get_manager_number (f, "MaxPerHost"), ==, 8);
  g_assert_cmpuint (get_manager_number (f, "DefaultConnections"), ==, 0);
  g_assert_cmpuint (get_manager_number (f, "MaxSpeed"), ==, 0);

  set_manager_property (f, "MaxActive", g_variant_new_uint32 (5));
  set_manager_property (f, "MaxPerHost", g_variant_new_uint32 (3));
  set_manager_property (f, "MaxSpeed", g_variant_new_uint64 (2500000));
  set_manager_property (f, "DefaultConnections", g_variant_new_uint32 (3));
  /* Out of range: clamped. */
  set_manager_property (f, "MaxActive", g_variant_new_uint32 (100000));
  daemon_kill (f, SIGTERM);
  assert_exited_cleanly (f);

  daemon_start (f);
  g_assert_cmpuint (get_manager_number (f, "MaxActive"), ==, 256);
  g_assert_cmpuint (get_manager_number (f, "MaxPerHost"), ==, 3);
  g_assert_cmpuint (get_manager_number (f, "MaxSpeed"), ==, 2500000);
  g_assert_cmpuint (get_manager_number (f, "DefaultConnections"), ==, 3);
  set_manager_property (f, "DefaultConnections", g_variant_new_uint32 (99));
  g_assert_cmpuint (get_manager_number (f, "DefaultConnections"), ==, 16);
}

static GVariant *
paused_options (Fixture    *f,
                const char *checksum)
{
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "directory", "s", f->downloads_path);
  g_variant_dict_insert (&dict, "connections", "u", 1);
  g_variant_dict_insert (&dict, "paused", "b", TRUE);
  if (checksum != NULL)
    g_variant_dict_insert (&dict, "checksum", "s", checksum);
  return g_variant_dict_end (&dict);
}

static char *
add_paused (Fixture    *f,
            const char *path_and_query,
            const char *checksum)
{
  g_autofree char *url = sl_test_server_url (f->server, path_and_query);
  g_autoptr (GError) error = NULL;
  char *object_path = NULL;

  sl_dbus_manager1_call_add_sync (f->manager, url, paused_options (f, checksum), &object_path,
                                  NULL, &error);
  g_assert_no_error (error);
  return object_path;
}

static gboolean
speed_limit_is (gpointer data)
{
  return sl_dbus_download1_get_speed_limit (data) == 1000000;
}

/* A download's own limit is set over the bus, kept across a restart, and holds. */
static void
test_speed_limit (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *path = NULL;
  g_autoptr (SlDBusDownload1) download = NULL;
  g_autoptr (GError) error = NULL;
  gint64 started;

  daemon_start (f);
  path = add_paused (f, "/file?size=1500000&seed=51", NULL);
  download = get_download (f, path);
  g_assert_cmpuint (sl_dbus_download1_get_speed_limit (download), ==, 0);
  sl_dbus_download1_call_set_speed_limit_sync (download, 1000000, NULL, &error);
  g_assert_no_error (error);
  sl_test_iterate_until (NULL, speed_limit_is, download, SHORT_MS);
  g_assert_cmpuint (sl_dbus_download1_get_speed_limit (download), ==, 1000000);
  g_clear_object (&download);

  daemon_kill (f, SIGTERM);
  assert_exited_cleanly (f);
  daemon_start (f);
  download = get_download (f, path);
  g_assert_cmpuint (sl_dbus_download1_get_speed_limit (download), ==, 1000000);

  started = g_get_monotonic_time ();
  sl_dbus_download1_call_resume_sync (download, NULL, &error);
  g_assert_no_error (error);
  wait_state (download, "completed", TRANSFER_MS);
  /* 1.5 MB at 1 MB/s, less one 50 ms burst. */
  g_assert_cmpint (g_get_monotonic_time () - started, >=, 1450 * G_TIME_SPAN_MILLISECOND);
}

static gboolean
has_four_connections (gpointer data)
{
  return sl_dbus_download1_get_connections (data) == 4;
}

/* Connections says how many are open: four while four fetch parts, none once done. */
static void
test_connections (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *path = NULL;
  g_autofree char *file = NULL;
  g_autoptr (SlDBusDownload1) download = NULL;

  f->connections = 4;
  daemon_start (f);
  path = add (f, "/file?size=6000000&seed=52&rate=1000000");
  download = get_download (f, path);
  g_assert_true (sl_test_iterate_until (NULL, has_four_connections, download, TRANSFER_MS));
  wait_state (download, "completed", TRANSFER_MS);
  g_assert_cmpuint (sl_dbus_download1_get_connections (download), ==, 0);
  file = download_file_path (download);
  sl_test_assert_file_is_entity (file, 52, 6000000);
}

static void
assert_remote_error (const GError *error,
                     const char   *name)
{
  g_autofree char *remote = NULL;

  g_assert_nonnull (error);
  remote = g_dbus_error_get_remote_error (error);
  g_assert_cmpstr (remote, ==, name);
}

typedef struct
{
  SlDBusDownload1 *download;
  const char      *state;
} ChecksumWait;

static gboolean
checksum_state_is (gpointer data)
{
  ChecksumWait *wait = data;

  return g_strcmp0 (sl_dbus_download1_get_checksum_state (wait->download), wait->state) == 0;
}

/* The state reaches the proxy with its own signal, which may come after a call returns. */
static void
wait_checksum_state (SlDBusDownload1 *download,
                     const char      *state)
{
  ChecksumWait wait = { download, state };

  if (!sl_test_iterate_until (NULL, checksum_state_is, &wait, SHORT_MS))
    g_error ("ChecksumState is %s, not %s", sl_dbus_download1_get_checksum_state (download),
             state);
}

/* Verify reads the completed file again: it matches, then it does not once a byte changed,
 * and a file that is gone, or a download without a checksum, says why. */
static void
test_verify (Fixture       *f,
             gconstpointer  data)
{
  g_autofree char *digest = sl_test_entity_sha256 (53, 700000);
  g_autofree char *spec = g_strconcat ("sha256=", digest, NULL);
  g_autofree char *path = NULL;
  g_autofree char *plain_path = NULL;
  g_autofree char *file = NULL;
  g_autoptr (SlDBusDownload1) download = NULL;
  g_autoptr (SlDBusDownload1) plain = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GFile) target = NULL;
  g_autoptr (GFileIOStream) stream = NULL;

  daemon_start (f);
  path = add_paused (f, "/file?size=700000&seed=53", spec);
  plain_path = add_paused (f, "/file?size=1000&seed=54", NULL);
  download = get_download (f, path);
  plain = get_download (f, plain_path);
  g_assert_cmpstr (sl_dbus_download1_get_checksum (download), ==, spec);
  g_assert_cmpstr (sl_dbus_download1_get_checksum_state (download), ==, "pending");
  g_assert_cmpstr (sl_dbus_download1_get_checksum (plain), ==, "");
  g_assert_cmpstr (sl_dbus_download1_get_checksum_state (plain), ==, "none");

  /* Not completed yet. */
  sl_dbus_download1_call_verify_sync (download, NULL, &error);
  assert_remote_error (error, ERROR_PREFIX "InvalidArgument");
  g_clear_error (&error);

  sl_dbus_manager1_call_resume_all_sync (f->manager, NULL, &error);
  g_assert_no_error (error);
  wait_state (download, "completed", TRANSFER_MS);
  wait_state (plain, "completed", TRANSFER_MS);
  wait_checksum_state (download, "verified");

  sl_dbus_download1_call_verify_sync (download, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sl_dbus_download1_get_checksum_state (download), ==, "verified");

  sl_dbus_download1_call_verify_sync (plain, NULL, &error);
  assert_remote_error (error, ERROR_PREFIX "InvalidArgument");
  g_clear_error (&error);

  /* One byte changes on disk. */
  file = download_file_path (download);
  target = g_file_new_for_path (file);
  stream = g_file_open_readwrite (target, NULL, &error);
  g_assert_no_error (error);
  g_seekable_seek (G_SEEKABLE (stream), 350000, G_SEEK_SET, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (stream)), "?", 1,
                             NULL, NULL, &error);
  g_assert_no_error (error);
  g_io_stream_close (G_IO_STREAM (stream), NULL, &error);
  g_assert_no_error (error);

  sl_dbus_download1_call_verify_sync (download, NULL, &error);
  assert_remote_error (error, ERROR_PREFIX "Checksum");
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, digest));
  g_clear_error (&error);
  wait_checksum_state (download, "mismatch");

  g_assert_cmpint (g_unlink (file), ==, 0);
  sl_dbus_download1_call_verify_sync (download, NULL, &error);
  assert_remote_error (error, ERROR_PREFIX "File");
  g_test_message ("%s", error->message);
  g_clear_error (&error);
}

static void
on_properties_changed (GDBusConnection *connection,
                       const char      *sender,
                       const char      *object_path,
                       const char      *interface,
                       const char      *signal,
                       GVariant        *parameters,
                       gpointer         user_data)
{
  const char *changed_interface;

  g_variant_get (parameters, "(&sa{sv}as)", &changed_interface, NULL, NULL);
  if (g_strcmp0 (changed_interface, DOWNLOAD_IFACE) == 0)
    {
      gint64 now = g_get_monotonic_time ();

      g_array_append_val ((GArray *) user_data, now);
    }
}

/* The most signals at @times within any one second. */
static guint
max_per_second (GArray *times)
{
  guint most = 0;

  for (guint i = 0; i < times->len; i++)
    {
      guint n = 0;

      for (guint j = i; j < times->len; j++)
        {
          if (g_array_index (times, gint64, j) - g_array_index (times, gint64, i) <
              G_USEC_PER_SEC)
            n++;
        }
      most = MAX (most, n);
    }

  return most;
}

static void
test_properties_coalesced (Fixture       *f,
                           gconstpointer  data)
{
  g_autofree char *path = NULL;
  g_autoptr (SlDBusDownload1) download = NULL;
  g_autoptr (GArray) times = g_array_new (FALSE, FALSE, sizeof (gint64));
  guint subscription;
  guint64 before;

  daemon_start (f);

  /* Small chunks: the bytes change far more often than ten times a second. */
  path = add (f, "/file?size=4000000&seed=31&rate=500000&chunk=4096");
  download = get_download (f, path);
  wait_state_bytes (download, "running", 1, TRANSFER_MS);

  subscription = g_dbus_connection_signal_subscribe (f->connection, BUS_NAME,
                                                     "org.freedesktop.DBus.Properties",
                                                     "PropertiesChanged", path, NULL,
                                                     G_DBUS_SIGNAL_FLAGS_NONE,
                                                     on_properties_changed, times, NULL);
  before = sl_dbus_download1_get_bytes_received (download);
  sl_test_run_for (3000);
  g_dbus_connection_signal_unsubscribe (f->connection, subscription);

  /* The bytes move once a checkpoint is recorded, every second; the speed in between. */
  g_test_message ("%u PropertiesChanged in 3 s, at most %u in one second", times->len,
                  max_per_second (times));
  g_assert_cmpuint (sl_dbus_download1_get_bytes_received (download), >, before);
  g_assert_cmpuint (times->len, >=, 2);
  g_assert_cmpuint (times->len, <=, 32);
  g_assert_cmpuint (max_per_second (times), <=, 11);
}

static void
test_kill_restart (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *done_path = NULL;
  g_autofree char *path = NULL;
  g_autofree char *file = NULL;
  g_autoptr (SlDBusDownload1) done = NULL;
  g_autoptr (SlDBusDownload1) download = NULL;
  g_autoptr (GVariant) objects = NULL;

  daemon_start (f);

  done_path = add (f, "/file?size=50000&seed=41");
  path = add (f, "/file?size=3000000&seed=42&rate=1000000");
  done = get_download (f, done_path);
  download = get_download (f, path);
  wait_state (done, "completed", TRANSFER_MS);
  wait_state_bytes (download, "running", 600000, TRANSFER_MS);
  g_clear_object (&done);
  g_clear_object (&download);

  daemon_kill (f, SIGKILL);
  g_assert_false (WIFEXITED (f->status));

  daemon_start (f);
  objects = get_managed_objects (f);
  g_assert_cmpuint (g_variant_n_children (objects), ==, 2);
  g_assert_nonnull (lookup_managed (objects, done_path));
  g_assert_nonnull (lookup_managed (objects, path));

  done = get_download (f, done_path);
  g_assert_cmpstr (sl_dbus_download1_get_state (done), ==, "completed");
  file = download_file_path (done);
  sl_test_assert_file_is_entity (file, 41, 50000);
  g_clear_pointer (&file, g_free);

  download = get_download (f, path);
  wait_state (download, "completed", TRANSFER_MS);
  file = download_file_path (download);
  sl_test_assert_file_is_entity (file, 42, 3000000);
}

/* A canceled download keeps the name it had, from the address or from Content-Disposition,
 * across a restart, rather than falling back to its address. */
static void
test_canceled_keeps_name (Fixture       *f,
                          gconstpointer  data)
{
  static const struct
  {
    const char *path_and_query;
    const char *name;
  } cases[] = {
    { "/file?size=4000000&seed=61&rate=400000", "file" },
    { "/disposition?size=4000000&seed=62&rate=400000"
      "&cd=attachment%3B%20filename%3D%22report.pdf%22", "report.pdf" },
  };
  char *paths[G_N_ELEMENTS (cases)];
  g_autoptr (GError) error = NULL;

  daemon_start (f);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (SlDBusDownload1) download = NULL;

      paths[i] = add (f, cases[i].path_and_query);
      download = get_download (f, paths[i]);
      wait_state_bytes (download, "running", 1, TRANSFER_MS);
      g_assert_cmpstr (sl_dbus_download1_get_filename (download), ==, cases[i].name);

      sl_dbus_download1_call_cancel_sync (download, NULL, &error);
      g_assert_no_error (error);
      wait_state (download, "canceled", SHORT_MS);
      g_assert_cmpstr (sl_dbus_download1_get_filename (download), ==, cases[i].name);
    }

  daemon_kill (f, SIGTERM);
  assert_exited_cleanly (f);
  daemon_start (f);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (SlDBusDownload1) download = get_download (f, paths[i]);

      g_assert_cmpstr (sl_dbus_download1_get_state (download), ==, "canceled");
      g_assert_cmpstr (sl_dbus_download1_get_filename (download), ==, cases[i].name);
      g_free (paths[i]);
    }
}

static void
test_sigterm_resumes (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *path = NULL;
  g_autofree char *queued_path = NULL;
  g_autofree char *partial = NULL;
  g_autofree char *file = NULL;
  g_autofree char *expected_range = NULL;
  g_autoptr (SlDBusDownload1) download = NULL;
  g_autoptr (SlDBusDownload1) queued = NULL;
  g_autoptr (SlDBusManager1) manager = NULL;
  g_autoptr (GPtrArray) requests = NULL;
  g_autoptr (GError) error = NULL;
  gboolean found = FALSE;
  GStatBuf st;
  guint64 before, kept;

  daemon_start (f);
  manager = sl_dbus_manager1_proxy_new_sync (f->connection, G_DBUS_PROXY_FLAGS_NONE, BUS_NAME,
                                             MANAGER_PATH, NULL, &error);
  g_assert_no_error (error);
  g_dbus_proxy_call_sync (G_DBUS_PROXY (manager), "org.freedesktop.DBus.Properties.Set",
                          g_variant_new ("(ssv)", "org.sluice.Downloads.Manager1", "MaxActive",
                                         g_variant_new_uint32 (1)),
                          G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  g_assert_no_error (error);

  path = add (f, "/file?size=2000000&seed=51&rate=500000");
  queued_path = add (f, "/file?size=3000&seed=52");
  download = get_download (f, path);
  queued = get_download (f, queued_path);
  wait_state_bytes (download, "running", 300000, TRANSFER_MS);
  g_assert_cmpstr (sl_dbus_download1_get_state (queued), ==, "queued");
  before = sl_dbus_download1_get_bytes_received (download);
  g_clear_object (&download);
  g_clear_object (&queued);

  /* A logout, say: what ran is flushed and recorded, and nothing new starts. */
  daemon_kill (f, SIGTERM);
  assert_exited_cleanly (f);

  /* Everything it had is in its partial file, which waits for the next start. */
  partial = g_build_filename (f->downloads_path, "file.part", NULL);
  g_assert_cmpint (g_stat (partial, &st), ==, 0);
  kept = st.st_size;
  g_assert_cmpuint (kept, >=, before);

  /* The next start takes it up where it stopped, on its own; the queued one follows. */
  daemon_start (f);
  download = get_download (f, path);
  queued = get_download (f, queued_path);
  wait_state (download, "completed", TRANSFER_MS);
  wait_state (queued, "completed", TRANSFER_MS);
  file = download_file_path (download);
  sl_test_assert_file_is_entity (file, 51, 2000000);

  expected_range = g_strdup_printf ("bytes=%" G_GUINT64_FORMAT "-", kept);
  requests = sl_test_server_requests (f->server, "/file");
  for (guint i = 0; i < requests->len; i++)
    found |= g_strcmp0 (((SlTestRequest *) requests->pdata[i])->range, expected_range) == 0;
  g_assert_true (found);
}

static gboolean
daemon_exited (gpointer data)
{
  return ((Fixture *) data)->exited;
}

/* Killed right after the rename, before anything recorded the completion: the restart finds
 * the file under its final name by its identity, and neither downloads it again nor makes a
 * second copy. */
static void
test_crash_after_rename (Fixture       *f,
                         gconstpointer  data)
{
  const char *listing[] = { "file", NULL };
  g_autofree char *path = NULL;
  g_autofree char *file = NULL;
  g_autoptr (SlDBusDownload1) download = NULL;

  g_setenv ("SLUICE_TEST_CRASH_AFTER_RENAME", "1", TRUE);
  daemon_start (f);
  g_unsetenv ("SLUICE_TEST_CRASH_AFTER_RENAME");

  path = add (f, "/file?size=300000&seed=61&rate=600000");
  sl_test_wait_until (NULL, daemon_exited, f, TRANSFER_MS);
  g_assert_true (WIFSIGNALED (f->status));
  g_assert_cmpint (WTERMSIG (f->status), ==, SIGKILL);
  daemon_reap (f);
  sl_test_assert_dir_is (f->downloads, listing);

  daemon_start (f);
  download = get_download (f, path);
  wait_state (download, "completed", TRANSFER_MS);
  g_assert_cmpstr (sl_dbus_download1_get_filename (download), ==, "file");
  g_assert_cmpuint (sl_dbus_download1_get_bytes_received (download), ==, 300000);
  file = download_file_path (download);
  sl_test_assert_file_is_entity (file, 61, 300000);
  sl_test_assert_dir_is (f->downloads, listing);
  g_assert_cmpuint (sl_test_server_request_count (f->server, "/file"), ==, 1);
}

/* A partial file with no resume data, left by a crash before the first checkpoint or by
 * lost resume data, is adopted once the server's bytes overlap its end. */
static void
test_adopt_partial (Fixture       *f,
                    gconstpointer  data)
{
  const char *listing[] = { "file", NULL };
  g_autofree char *partial = g_build_filename (f->downloads_path, "file.part", NULL);
  g_autoptr (GBytes) entity = sl_test_entity (62, 1000000);
  g_autoptr (SlDBusDownload1) download = NULL;
  g_autoptr (GPtrArray) requests = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  g_autofree char *file = NULL;
  gboolean overlapped = FALSE;

  g_file_set_contents (partial, g_bytes_get_data (entity, NULL), 300000, &error);
  g_assert_no_error (error);

  daemon_start (f);
  path = add (f, "/file?size=1000000&seed=62");
  download = get_download (f, path);
  wait_state (download, "completed", TRANSFER_MS);
  file = download_file_path (download);
  sl_test_assert_file_is_entity (file, 62, 1000000);
  sl_test_assert_dir_is (f->downloads, listing);

  requests = sl_test_server_requests (f->server, "/file");
  for (guint i = 0; i < requests->len; i++)
    overlapped |= g_strcmp0 (((SlTestRequest *) requests->pdata[i])->range,
                             "bytes=234464-") == 0;
  g_assert_true (overlapped);
}

static void
test_corrupt_database (Fixture       *f,
                       gconstpointer  data)
{
  static const char * const args[] = { "--idle-timeout", "600", NULL };
  g_autofree char *data_home = g_file_get_path (f->data_home);
  g_autofree char *folder = g_build_filename (data_home, "sluice", NULL);
  g_autofree char *db = g_build_filename (folder, "downloads.db", NULL);
  g_autofree char *log = NULL;
  g_autofree char *path = NULL;
  g_autoptr (SlDBusDownload1) download = NULL;
  g_autoptr (GVariant) objects = NULL;
  g_autoptr (GError) error = NULL;
  char garbage[8192];

  for (gsize i = 0; i < sizeof garbage; i++)
    garbage[i] = (char) (i * 7 + 13);
  g_assert_cmpint (g_mkdir_with_parents (folder, 0700), ==, 0);
  g_file_set_contents (db, garbage, sizeof garbage, &error);
  g_assert_no_error (error);

  daemon_start_full (f, args, TRUE);
  objects = get_managed_objects (f);
  g_assert_cmpuint (g_variant_n_children (objects), ==, 0);

  /* The fresh list works. */
  path = add (f, "/file?size=1000&seed=61");
  download = get_download (f, path);
  wait_state (download, "completed", TRANSFER_MS);
  g_clear_object (&download);

  daemon_kill (f, SIGTERM);
  assert_exited_cleanly (f);

  g_file_get_contents (f->stderr_path, &log, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("sluiced said: %s", log);
  g_assert_nonnull (strstr (log, "-Message"));
  g_assert_nonnull (strstr (log, "downloads.db"));
  g_assert_nonnull (strstr (log, "empty list"));
}

static void
test_idle_exit (Fixture       *f,
                gconstpointer  data)
{
  static const char * const args[] = { "--idle-timeout", "1", NULL };
  g_autofree char *path = NULL;
  g_autoptr (SlDBusDownload1) download = NULL;

  /* Alone, it leaves after the timeout. */
  daemon_start_full (f, args, FALSE);
  daemon_reap (f);
  assert_exited_cleanly (f);

  /* It does not while a download runs, however long it takes; then it does. */
  daemon_start_full (f, args, FALSE);
  path = add (f, "/file?size=1200000&seed=71&rate=500000");
  download = get_download (f, path);
  wait_state (download, "completed", TRANSFER_MS);
  g_assert_false (f->exited);
  g_clear_object (&download);
  daemon_reap (f);
  assert_exited_cleanly (f);

  /* A client's Hold keeps it, idle, until the client leaves the bus (the window does so). */
  daemon_start_full (f, args, FALSE);
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (GDBusConnection) client =
      g_dbus_connection_new_for_address_sync (g_test_dbus_get_bus_address (f->bus),
                                              G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                              NULL, NULL, &error);
    g_autoptr (GVariant) reply = NULL;

    g_assert_no_error (error);
    for (guint i = 0; i < 2; i++)
      {
        reply = g_dbus_connection_call_sync (client, BUS_NAME, MANAGER_PATH, MANAGER_IFACE,
                                             "Hold", NULL, NULL, G_DBUS_CALL_FLAGS_NONE, -1,
                                             NULL, &error);
        g_assert_no_error (error);
        g_clear_pointer (&reply, g_variant_unref);
      }
    sl_test_run_for (2500);
    g_assert_false (f->exited);

    g_dbus_connection_close_sync (client, NULL, &error);
    g_assert_no_error (error);
  }
  daemon_reap (f);
  assert_exited_cleanly (f);
}

typedef struct
{
  gboolean  done;
  int       status;
} Exit;

static void
on_exit_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Exit *exited = user_data;

  g_assert_true (g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL));
  exited->status = g_subprocess_get_status (G_SUBPROCESS (source));
  exited->done = TRUE;
}

/* Runs a daemon that is expected to give up at start; returns what it said on stderr. */
static char *
run_failing_daemon (Fixture    *f,
                    const char *data_home)
{
  static const char * const args[] = { "--idle-timeout", "600", NULL };
  g_autofree char *folder = g_file_get_path (f->downloads);
  g_autofree char *log_path = g_build_filename (folder, "failing.log", NULL);
  g_autoptr (GSubprocess) daemon = NULL;
  g_autoptr (GError) error = NULL;
  Exit result = { FALSE, 0 };
  char *log = NULL;

  daemon = daemon_spawn (f, args, data_home, log_path);
  g_subprocess_wait_async (daemon, NULL, on_exit_cb, &result);
  sl_test_wait_until (NULL, sl_test_flag_is_set, &result.done, STOP_MS);

  g_assert_true (WIFEXITED (result.status));
  g_assert_cmpint (WEXITSTATUS (result.status), !=, 0);

  g_file_get_contents (log_path, &log, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("sluiced said: %s", log);

  return log;
}

static void
test_second_instance (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *log = NULL;
  g_autofree char *path = NULL;
  g_autoptr (SlDBusDownload1) download = NULL;

  daemon_start (f);

  /* A second daemon finds the name taken and leaves; the first one carries on. */
  log = run_failing_daemon (f, NULL);
  g_assert_nonnull (strstr (log, BUS_NAME));
  g_assert_true (f->name_owned);
  g_assert_false (f->exited);

  path = add (f, "/file?size=1000&seed=81");
  download = get_download (f, path);
  wait_state (download, "completed", TRANSFER_MS);
}

static void
test_cannot_open (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *folder = g_file_get_path (f->downloads);
  g_autofree char *not_a_folder = g_build_filename (folder, "not-a-folder", NULL);
  g_autofree char *log = NULL;
  g_autoptr (GError) error = NULL;

  /* The data folder is a file, so there is nowhere to keep the list. */
  g_file_set_contents (not_a_folder, "", 0, &error);
  g_assert_no_error (error);

  log = run_failing_daemon (f, not_a_folder);
  g_assert_nonnull (strstr (log, "Cannot open the download list"));
  g_assert_nonnull (strstr (log, "not-a-folder"));
}

static void
test_activation (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *url = sl_test_server_url (f->server, "/file?size=20000&seed=91");
  g_autofree char *path = NULL;
  g_autofree char *file = NULL;
  g_autoptr (SlDBusManager1) manager = NULL;
  g_autoptr (SlDBusDownload1) download = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;
  guint32 pid;

  /* Nothing runs: the first call starts the daemon through its service file. */
  g_assert_false (f->name_owned);
  manager = sl_dbus_manager1_proxy_new_sync (f->connection, G_DBUS_PROXY_FLAGS_NONE, BUS_NAME,
                                             MANAGER_PATH, NULL, &error);
  g_assert_no_error (error);
  sl_dbus_manager1_call_add_sync (manager, url, options_in (f), &path, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (path, MANAGER_PATH "/"));

  connect_proxies (f);
  download = get_download (f, path);
  wait_state (download, "completed", TRANSFER_MS);
  file = download_file_path (download);
  sl_test_assert_file_is_entity (file, 91, 20000);
  g_clear_object (&download);

  /* It is not our child: stop it through its pid. */
  reply = g_dbus_connection_call_sync (f->connection, "org.freedesktop.DBus",
                                       "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                       "GetConnectionUnixProcessID",
                                       g_variant_new ("(s)", BUS_NAME), G_VARIANT_TYPE ("(u)"),
                                       G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(u)", &pid);
  g_assert_cmpint (kill ((pid_t) pid, SIGTERM), ==, 0);
  sl_test_wait_until (NULL, name_not_owned, f, STOP_MS);
  disconnect_proxies (f);
}

/* Crash safety under stress: downloads survive a daemon killed over and over.
 *
 * Two downloads run at once (the per-host limit), the other three wait. The first two are slow
 * enough to be half done when the first kill comes, after a life of several of the daemon's
 * checkpoint intervals (1 s), so that there are recorded bytes to resume from; then the daemon
 * is killed at random moments, about as often as it checkpoints. The last three are fast, to
 * keep the whole short. Whatever the list showed just before a kill, the restart resumes from
 * at least that much. */

#define STRESS_COUNT      5
#define STRESS_SIZE       (64 * 1024 * 1024)
#define STRESS_SLOW_RATE  (8 * 1024 * 1024)
#define STRESS_FAST_RATE  (24 * 1024 * 1024)
#define STRESS_FIRST_MS   6000
#define STRESS_KILLS      10
#define STRESS_SEED       100
#define STRESS_MS         (120 * 1000)

/* The Download1 properties of every object in @objects, by path. */
static GHashTable *
downloads_by_path (GVariant *objects)
{
  GHashTable *by_path = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                               (GDestroyNotify) g_variant_unref);
  GVariantIter iter;
  const char *path;
  GVariant *interfaces;

  g_variant_iter_init (&iter, objects);
  while (g_variant_iter_next (&iter, "{&o@a{sa{sv}}}", &path, &interfaces))
    {
      GVariant *props = g_variant_lookup_value (interfaces, DOWNLOAD_IFACE,
                                                G_VARIANT_TYPE_VARDICT);

      g_assert_nonnull (props);
      g_hash_table_insert (by_path, g_strdup (path), props);
      g_variant_unref (interfaces);
    }

  return by_path;
}

static guint64
props_bytes (GVariant *props)
{
  guint64 bytes = 0;

  g_assert_true (g_variant_lookup (props, "BytesReceived", "t", &bytes));
  return bytes;
}

static const char *
props_string (GVariant   *props,
              const char *name)
{
  const char *value = NULL;

  g_assert_true (g_variant_lookup (props, name, "&s", &value));
  return value;
}

static char *
props_file_path (GVariant   *props,
                 const char *suffix)
{
  g_autofree char *name = g_strconcat (props_string (props, "Filename"), suffix, NULL);

  return g_build_filename (props_string (props, "Directory"), name, NULL);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static void
test_kill_stress (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GVariant) objects = NULL;
  guint64 recorded[STRESS_COUNT] = { 0 };
  gboolean completed[STRESS_COUNT] = { FALSE };
  gint64 started, killing_done, all_done;
  /* Segmented, each download's connections share its rate, so it lasts as long. */
  guint share;

  if (data != NULL)
    f->connections = GPOINTER_TO_UINT (data);
  share = f->connections;
  started = g_get_monotonic_time ();
  daemon_start (f);
  for (guint i = 0; i < STRESS_COUNT; i++)
    {
      g_autofree char *query =
        g_strdup_printf ("/file?size=%u&seed=%u&rate=%u&chunk=65536", STRESS_SIZE,
                         STRESS_SEED + i,
                         (i < 2 ? STRESS_SLOW_RATE : STRESS_FAST_RATE) / share);

      g_ptr_array_add (paths, add (f, query));
    }

  /* Kill 0 comes after a checkpoint; kills 1 to STRESS_KILLS at random. */
  for (guint kill_no = 0; kill_no <= STRESS_KILLS; kill_no++)
    {
      guint wait_ms = kill_no == 0 ? STRESS_FIRST_MS : g_test_rand_int_range (300, 1501);
      g_autoptr (GHashTable) before = NULL;
      g_autoptr (GHashTable) after = NULL;
      g_autoptr (GString) report = g_string_new (NULL);
      guint64 live_total = 0, found_total = 0;

      sl_test_run_for (wait_ms);
      g_clear_pointer (&objects, g_variant_unref);
      objects = get_managed_objects (f);
      before = downloads_by_path (objects);

      daemon_kill (f, SIGKILL);
      g_assert_true (WIFSIGNALED (f->status));
      g_assert_cmpint (WTERMSIG (f->status), ==, SIGKILL);

      daemon_start (f);
      g_clear_pointer (&objects, g_variant_unref);
      objects = get_managed_objects (f);
      after = downloads_by_path (objects);

      /* The same downloads, none lost, none added. */
      g_assert_cmpuint (g_hash_table_size (after), ==, STRESS_COUNT);
      for (guint i = 0; i < STRESS_COUNT; i++)
        {
          const char *path = paths->pdata[i];
          GVariant *props = g_hash_table_lookup (after, path);
          GVariant *live = g_hash_table_lookup (before, path);
          const char *state;
          guint64 bytes;

          if (props == NULL)
            g_error ("kill %u: %s is no longer listed", kill_no, path);
          g_assert_nonnull (live);
          state = props_string (props, "State");
          bytes = props_bytes (props);
          live_total += props_bytes (live);
          found_total += bytes;
          g_string_append_printf (report, " %s=%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT,
                                  strrchr (path, '/') + 1, props_bytes (live), bytes);

          if (!g_strv_contains ((const char * const[]) { "queued", "running", "completed",
                                                         NULL }, state))
            g_error ("kill %u: %s is %s (“%s”)", kill_no, path, state,
                     props_string (props, "Error"));

          /* The list showed only bytes that the restart resumes from. */
          if (bytes < props_bytes (live))
            g_error ("kill %u: %s showed %" G_GUINT64_FORMAT " bytes, but resumes from %"
                     G_GUINT64_FORMAT, kill_no, path, props_bytes (live), bytes);
          if (g_str_equal (props_string (live, "State"), "completed"))
            g_assert_cmpstr (state, ==, "completed");

          /* What was recorded stays recorded: no download goes back. */
          if (bytes < recorded[i])
            g_error ("kill %u: %s went back from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT
                     " bytes", kill_no, path, recorded[i], bytes);
          g_assert_cmpuint (bytes, <=, STRESS_SIZE);

          if (completed[i])
            g_assert_cmpstr (state, ==, "completed");

          if (g_str_equal (state, "completed"))
            {
              g_autofree char *file = props_file_path (props, "");
              g_autofree char *partial = props_file_path (props, ".part");
              GStatBuf st;

              g_assert_cmpuint (bytes, ==, STRESS_SIZE);
              g_assert_cmpint (g_stat (file, &st), ==, 0);
              g_assert_cmpint (st.st_size, ==, STRESS_SIZE);
              g_assert_false (g_file_test (partial, G_FILE_TEST_EXISTS));
              completed[i] = TRUE;
            }
          else if (recorded[i] > 0)
            {
              g_autofree char *partial = props_file_path (props, ".part");
              g_autofree char *file = props_file_path (props, "");
              GStatBuf st;

              /* Bytes recorded at an earlier restart were on disk then, and still are, in
               * the partial file, or in the final one if it completed since the list was
               * read. */
              if (g_stat (partial, &st) != 0)
                g_assert_cmpint (g_stat (file, &st), ==, 0);
              g_assert_cmpint (st.st_size, >=, (gint64) recorded[i]);
            }

          recorded[i] = bytes;
        }

      g_test_message ("kill %u after %u ms: %" G_GUINT64_FORMAT " bytes done before it, %"
                      G_GUINT64_FORMAT " found done after the restart (id=live/found:%s)",
                      kill_no, wait_ms, live_total, found_total, report->str);
    }
  killing_done = g_get_monotonic_time ();

  for (guint i = 0; i < STRESS_COUNT; i++)
    {
      g_autoptr (SlDBusDownload1) download = get_download (f, paths->pdata[i]);
      gint64 left_ms = STRESS_MS - (g_get_monotonic_time () - killing_done) / 1000;

      wait_state (download, "completed", (guint) MAX (left_ms, 1));
    }
  all_done = g_get_monotonic_time ();

  /* Exactly the five files, each the entity it should be, and nothing else. */
  g_clear_pointer (&objects, g_variant_unref);
  objects = get_managed_objects (f);
  g_assert_cmpuint (g_variant_n_children (objects), ==, STRESS_COUNT);
  for (guint i = 0; i < STRESS_COUNT; i++)
    {
      g_autoptr (GVariant) props = lookup_managed (objects, paths->pdata[i]);
      g_autofree char *file = NULL;

      g_assert_nonnull (props);
      g_assert_cmpstr (props_string (props, "State"), ==, "completed");
      g_assert_cmpstr (props_string (props, "Directory"), ==, f->downloads_path);
      file = props_file_path (props, "");
      sl_test_assert_file_is_entity (file, STRESS_SEED + i, STRESS_SIZE);
      g_ptr_array_add (names, g_strdup (props_string (props, "Filename")));
    }
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  sl_test_assert_dir_is (f->downloads, (const char **) names->pdata);

  g_test_message ("%u kills in %.1f s, all %u downloads of %u MiB done %.1f s after the last "
                  "restart, %.1f s in all", STRESS_KILLS + 1,
                  (killing_done - started) / (double) G_USEC_PER_SEC, STRESS_COUNT,
                  STRESS_SIZE / (1024 * 1024),
                  (all_done - killing_done) / (double) G_USEC_PER_SEC,
                  (g_get_monotonic_time () - started) / (double) G_USEC_PER_SEC);
}

/* A full disk, as the daemon meets it: a file size limit stands in for the disk. */

#define DISK_LIMIT     (1024 * 1024 + 7)
#define DISK_SIZE      3145728
#define DISK_SEED      201

typedef struct
{
  Fixture         *f;
  SlDBusDownload1 *download;
} DownloadEndWait;

static gboolean
resumed_or_daemon_exited (gpointer data)
{
  DownloadEndWait *wait = data;

  return wait->f->exited ||
         g_strcmp0 (sl_dbus_download1_get_state (wait->download), "failed") != 0;
}

static gboolean
ended_or_daemon_exited (gpointer data)
{
  DownloadEndWait *wait = data;
  const char *state = sl_dbus_download1_get_state (wait->download);

  return wait->f->exited || g_strcmp0 (state, "completed") == 0 ||
         g_strcmp0 (state, "failed") == 0 || g_strcmp0 (state, "canceled") == 0;
}

static void
test_disk_full (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *path = NULL;
  g_autofree char *partial = NULL;
  g_autofree char *file = NULL;
  g_autofree char *range = NULL;
  g_autoptr (SlDBusDownload1) download = NULL;
  g_autoptr (GPtrArray) requests = NULL;
  g_autoptr (GError) error = NULL;
  const char *listing[] = { "file", NULL };
  const SlTestRequest *first, *second;
  DownloadEndWait wait;
  GStatBuf st;
  guint64 failed_bytes, kept;

  f->file_size_limit = DISK_LIMIT;
  daemon_start (f);

  path = add (f, "/file?size=" G_STRINGIFY (DISK_SIZE) "&seed=" G_STRINGIFY (DISK_SEED));
  download = get_download (f, path);
  wait_state (download, "failed", TRANSFER_MS);
  g_test_message ("with the limit: %s (%s), %" G_GUINT64_FORMAT " bytes",
                  sl_dbus_download1_get_error (download),
                  sl_dbus_download1_get_error_kind (download),
                  sl_dbus_download1_get_bytes_received (download));
  g_assert_cmpstr (sl_dbus_download1_get_error_kind (download), ==, "file");
  if (strstr (sl_dbus_download1_get_error (download), "File too large") == NULL)
    g_error ("“%s” does not say “File too large”", sl_dbus_download1_get_error (download));

  /* It keeps what it could write. */
  failed_bytes = sl_dbus_download1_get_bytes_received (download);
  g_assert_cmpuint (failed_bytes, >, 0);
  g_assert_cmpuint (failed_bytes, <=, DISK_LIMIT);
  partial = partial_file_path (download);
  g_assert_cmpint (g_stat (partial, &st), ==, 0);
  g_assert_cmpint (st.st_size, >=, (gint64) failed_bytes);
  g_clear_object (&download);

  daemon_kill (f, SIGTERM);
  assert_exited_cleanly (f);

  /* With room again, Resume goes on from the bytes kept. */
  f->file_size_limit = 0;
  daemon_start (f);
  download = get_download (f, path);
  g_assert_cmpstr (sl_dbus_download1_get_state (download), ==, "failed");
  kept = sl_dbus_download1_get_bytes_received (download);
  g_assert_cmpuint (kept, ==, failed_bytes);

  sl_dbus_download1_call_resume_sync (download, NULL, &error);
  g_assert_no_error (error);
  wait.f = f;
  wait.download = download;
  sl_test_wait_until (NULL, resumed_or_daemon_exited, &wait, SHORT_MS);
  sl_test_iterate_until (NULL, ended_or_daemon_exited, &wait, TRANSFER_MS);
  if (f->exited)
    {
      int status = f->status;

      daemon_reap (f);
      g_error ("sluiced died (wait status %d) resuming a download that failed before a restart",
               status);
    }
  wait_state (download, "completed", SHORT_MS);
  file = download_file_path (download);
  sl_test_assert_file_is_entity (file, DISK_SEED, DISK_SIZE);
  sl_test_assert_dir_is (f->downloads, listing);

  requests = sl_test_server_requests (f->server, "/file");
  g_assert_cmpuint (requests->len, ==, 2);
  first = requests->pdata[0];
  second = requests->pdata[1];
  /* The first asked for all of it, as a part if it could be split. */
  if (first->range != NULL && g_strcmp0 (first->range, "bytes=0-") != 0)
    g_error ("the first request asked for range “%s”", first->range);
  range = g_strdup_printf ("bytes=%" G_GUINT64_FORMAT "-", kept);
  if (second->range == NULL || !g_str_has_prefix (second->range, range))
    g_error ("the second request asked for range “%s”, not one starting “%s”",
             second->range ? second->range : "(none)", range);
  g_assert_nonnull (second->if_range);
  sl_assert_status (second->status, SOUP_STATUS_PARTIAL_CONTENT);
}

/* sluicectl against the daemon */

#define CTL_MS (30 * 1000)

typedef struct
{
  int   status;   /* exit status, or 128 + signal */
  char *out;
  char *err;
} CtlResult;

static void
ctl_result_clear (CtlResult *result)
{
  g_clear_pointer (&result->out, g_free);
  g_clear_pointer (&result->err, g_free);
}

/* A launcher for sluicectl as a user of this session would run it: on the private bus, with
 * the test's data folder, the daemon of the build, and no daemon running unless a test started
 * one. */
static GSubprocessLauncher *
ctl_launcher (Fixture          *f,
              GSubprocessFlags  flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);

  g_subprocess_launcher_set_cwd (launcher, f->downloads_path);
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS",
                                g_test_dbus_get_bus_address (f->bus), TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_DATA_HOME", g_file_peek_path (f->data_home),
                                TRUE);
  g_subprocess_launcher_setenv (launcher, "SLUICED", g_getenv ("SLUICED"), TRUE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_subprocess_launcher_unsetenv (launcher, "SLUICE_IDLE_TIMEOUT");

  return launcher;
}

static GSubprocess *
ctl_spawnv (GSubprocessLauncher *launcher,
            const char * const  *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  const char *sluicectl = g_getenv ("SLUICECTL");
  GSubprocess *process;

  g_assert_nonnull (sluicectl);
  g_ptr_array_add (argv, (char *) sluicectl);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);

  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  return process;
}

static int
exit_status_of (GSubprocess *process)
{
  if (g_subprocess_get_if_signaled (process))
    return 128 + g_subprocess_get_term_sig (process);
  return g_subprocess_get_exit_status (process);
}

/* Runs sluicectl with the arguments after @result, NULL-terminated, and waits (bounded) until
 * it has exited and closed its output. With @stderr_path, stderr goes to that file and is read
 * back from there. */
static void
ctl_run_full (Fixture    *f,
              const char *stderr_path,
              CtlResult  *result,
              const char *first,
              ...) G_GNUC_NULL_TERMINATED;

static void
ctl_run_full (Fixture    *f,
              const char *stderr_path,
              CtlResult  *result,
              const char *first,
              ...)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  SlTestCommunication comm = { FALSE, NULL, NULL, NULL };
  va_list ap;

  launcher = ctl_launcher (f, G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                              (stderr_path ? 0 : G_SUBPROCESS_FLAGS_STDERR_PIPE));
  if (stderr_path != NULL)
    g_subprocess_launcher_set_stderr_file_path (launcher, stderr_path);

  va_start (ap, first);
  for (const char *arg = first; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (args, (char *) arg);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  process = ctl_spawnv (launcher, (const char * const *) args->pdata);

  g_subprocess_communicate_utf8_async (process, NULL, NULL, sl_test_on_communicated, &comm);
  if (!sl_test_iterate_until (NULL, sl_test_flag_is_set, &comm.done, CTL_MS))
    {
      g_subprocess_force_exit (process);
      sl_test_wait_until (NULL, sl_test_flag_is_set, &comm.done, SHORT_MS);
      g_error ("sluicectl %s … did not finish within %u ms", first, CTL_MS);
    }
  g_assert_no_error (comm.error);

  result->status = exit_status_of (process);
  result->out = g_steal_pointer (&comm.out);
  result->err = g_steal_pointer (&comm.err);
  if (stderr_path != NULL)
    {
      g_autoptr (GError) error = NULL;

      g_file_get_contents (stderr_path, &result->err, NULL, &error);
      g_assert_no_error (error);
    }
  g_test_message ("sluicectl %s …: exit %d, stdout “%s”, stderr “%s”", first, result->status,
                  result->out, result->err);
}

#define ctl_run(f, result, ...) ctl_run_full ((f), NULL, (result), __VA_ARGS__)

static guint
count_lines (const char *text)
{
  guint n = 0;

  for (const char *p = text; *p != '\0'; p++)
    n += *p == '\n';
  return n;
}

static void
assert_one_error_line (CtlResult  *result,
                       const char *fragment)
{
  if (count_lines (result->err) != 1 || !g_str_has_suffix (result->err, "\n"))
    g_error ("expected one line on stderr, got “%s”", result->err);
  g_assert_true (g_str_has_prefix (result->err, "sluicectl: "));
  if (strstr (result->err, fragment) == NULL)
    g_error ("stderr “%s” does not mention “%s”", result->err, fragment);
}

/* Whether @word occurs in @text with no letter or digit right before or after it. */
static gboolean
contains_word (const char *text,
               const char *word)
{
  gsize len = strlen (word);

  for (const char *p = strstr (text, word); p != NULL; p = strstr (p + 1, word))
    {
      if ((p == text || !g_ascii_isalnum (p[-1])) && !g_ascii_isalnum (p[len]))
        return TRUE;
    }
  return FALSE;
}

/* The download ID sluicectl printed on the @index-th line of @out. */
static char *
printed_id (const char *out,
            guint       index)
{
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  guint64 value;

  g_assert_cmpuint (g_strv_length (lines), >, index);
  if (!g_ascii_string_to_unsigned (lines[index], 10, 1, G_MAXINT64, &value, NULL))
    g_error ("line %u of “%s” is not a download ID", index, out);
  return g_strdup (lines[index]);
}

static char *
path_of_id (const char *id)
{
  return g_strconcat (MANAGER_PATH "/", id, NULL);
}

/* The rows of `sluicectl list` (after its header) whose first column is @id, as a line. */
static const char *
table_row (GStrv       lines,
           const char *id)
{
  for (guint i = 1; lines[i] != NULL; i++)
    {
      g_auto (GStrv) columns = g_strsplit_set (lines[i], " ", -1);
      guint first = 0;

      while (columns[first] != NULL && *columns[first] == '\0')
        first++;
      if (columns[first] != NULL && g_str_equal (columns[first], id))
        return lines[i];
    }
  return NULL;
}

/* A small JSON reader, enough to check that `sluicectl list --json` is well-formed and to read
 * the scalar members of the objects in its top-level array. */

typedef struct
{
  const char *p;
  guint       depth;
} JsonReader;

static gboolean json_value (JsonReader *reader,
                            GString    *scalar);

static void
json_space (JsonReader *reader)
{
  while (*reader->p == ' ' || *reader->p == '\t' || *reader->p == '\n' || *reader->p == '\r')
    reader->p++;
}

static gboolean
json_string (JsonReader *reader,
             GString    *text)
{
  if (*reader->p != '"')
    return FALSE;
  reader->p++;

  while (*reader->p != '"')
    {
      guchar c = (guchar) *reader->p;

      if (c == '\0' || c < 0x20)
        return FALSE;
      if (c == '\\')
        {
          reader->p++;
          if (*reader->p == 'u')
            {
              for (guint i = 1; i <= 4; i++)
                {
                  if (!g_ascii_isxdigit (reader->p[i]))
                    return FALSE;
                }
              if (text != NULL)
                g_string_append_len (text, reader->p - 1, 6);
              reader->p += 5;
              continue;
            }
          if (strchr ("\"\\/bfnrt", *reader->p) == NULL || *reader->p == '\0')
            return FALSE;
        }
      if (text != NULL)
        g_string_append_c (text, *reader->p);
      reader->p++;
    }
  reader->p++;

  return text == NULL || g_utf8_validate (text->str, text->len, NULL);
}

static gboolean
json_number (JsonReader *reader,
             GString    *text)
{
  const char *start = reader->p;

  if (*reader->p == '-')
    reader->p++;
  if (*reader->p == '0')
    reader->p++;
  else if (g_ascii_isdigit (*reader->p))
    while (g_ascii_isdigit (*reader->p))
      reader->p++;
  else
    return FALSE;
  if (*reader->p == '.')
    {
      reader->p++;
      if (!g_ascii_isdigit (*reader->p))
        return FALSE;
      while (g_ascii_isdigit (*reader->p))
        reader->p++;
    }
  if (*reader->p == 'e' || *reader->p == 'E')
    {
      reader->p++;
      if (*reader->p == '+' || *reader->p == '-')
        reader->p++;
      if (!g_ascii_isdigit (*reader->p))
        return FALSE;
      while (g_ascii_isdigit (*reader->p))
        reader->p++;
    }

  if (text != NULL)
    g_string_append_len (text, start, reader->p - start);
  return TRUE;
}

/* Reads an object; with @members, its scalar members go there as text. */
static gboolean
json_object (JsonReader *reader,
             GHashTable *members)
{
  reader->p++;
  json_space (reader);
  if (*reader->p == '}')
    {
      reader->p++;
      return TRUE;
    }

  for (;;)
    {
      g_autoptr (GString) key = g_string_new (NULL);
      g_autoptr (GString) scalar = g_string_new (NULL);

      json_space (reader);
      if (!json_string (reader, key))
        return FALSE;
      json_space (reader);
      if (*reader->p != ':')
        return FALSE;
      reader->p++;
      json_space (reader);
      if (!json_value (reader, scalar))
        return FALSE;
      if (members != NULL)
        {
          /* A duplicate key is legal JSON but not what a client expects. */
          if (g_hash_table_contains (members, key->str))
            return FALSE;
          g_hash_table_insert (members, g_strdup (key->str), g_strdup (scalar->str));
        }
      json_space (reader);
      if (*reader->p == '}')
        {
          reader->p++;
          return TRUE;
        }
      if (*reader->p != ',')
        return FALSE;
      reader->p++;
    }
}

/* Reads an array; with @objects, a table of members for each element (which must then all be
 * objects) goes there. */
static gboolean
json_array (JsonReader *reader,
            GPtrArray  *objects)
{
  reader->p++;
  json_space (reader);
  if (*reader->p == ']')
    {
      reader->p++;
      return TRUE;
    }

  for (;;)
    {
      json_space (reader);
      if (objects != NULL)
        {
          GHashTable *members = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

          g_ptr_array_add (objects, members);
          if (*reader->p != '{' || !json_object (reader, members))
            return FALSE;
        }
      else if (!json_value (reader, NULL))
        return FALSE;
      json_space (reader);
      if (*reader->p == ']')
        {
          reader->p++;
          return TRUE;
        }
      if (*reader->p != ',')
        return FALSE;
      reader->p++;
    }
}

/* Reads any value; a string, number or literal also goes into @scalar as text. */
static gboolean
json_value (JsonReader *reader,
            GString    *scalar)
{
  gboolean ok;

  if (++reader->depth > 64)
    return FALSE;

  switch (*reader->p)
    {
    case '{':
      ok = json_object (reader, NULL);
      break;
    case '[':
      ok = json_array (reader, NULL);
      break;
    case '"':
      ok = json_string (reader, scalar);
      break;
    case 't':
    case 'f':
    case 'n':
      {
        const char *literals[] = { "true", "false", "null" };

        ok = FALSE;
        for (guint i = 0; i < G_N_ELEMENTS (literals) && !ok; i++)
          {
            if (g_str_has_prefix (reader->p, literals[i]))
              {
                if (scalar != NULL)
                  g_string_append (scalar, literals[i]);
                reader->p += strlen (literals[i]);
                ok = TRUE;
              }
          }
      }
      break;
    default:
      ok = json_number (reader, scalar);
    }

  reader->depth--;
  return ok;
}

/* Parses @text, which must be a JSON array of objects and nothing else, into a table of
 * scalar members per object; fails the test, saying where, if it is not. */
static GPtrArray *
parse_json_list (const char *text)
{
  GPtrArray *objects = g_ptr_array_new_with_free_func ((GDestroyNotify) g_hash_table_unref);
  JsonReader reader = { text, 0 };

  json_space (&reader);
  if (*reader.p != '[' || !json_array (&reader, objects))
    g_error ("not a JSON array of objects, at offset %td: “%s”", reader.p - text, text);
  json_space (&reader);
  if (*reader.p != '\0')
    g_error ("trailing text after the JSON array, at offset %td: “%s”", reader.p - text, text);

  return objects;
}

static GHashTable *
json_find_id (GPtrArray  *objects,
              const char *id)
{
  for (guint i = 0; i < objects->len; i++)
    {
      GHashTable *members = objects->pdata[i];

      if (g_strcmp0 (g_hash_table_lookup (members, "id"), id) == 0)
        return members;
    }
  return NULL;
}

/* With the service file gone, the bus cannot start the daemon; sluicectl has to. */
static void
forget_service_file (Fixture *f)
{
  g_autofree char *service = g_build_filename (g_file_peek_path (f->services),
                                               BUS_NAME ".service", NULL);
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_unlink (service), ==, 0);
  reply = g_dbus_connection_call_sync (f->connection, "org.freedesktop.DBus",
                                       "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                       "StartServiceByName", g_variant_new ("(su)", BUS_NAME, 0),
                                       G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, START_MS,
                                       NULL, &error);
  g_assert_null (reply);
  g_assert_nonnull (error);
  g_test_message ("the bus cannot start sluiced any more: %s", error->message);
}

static void
test_sluicectl_verbs (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *url = sl_test_server_url (f->server, "/file?size=300000&seed=301");
  g_autofree char *slow_url2 = sl_test_server_url (f->server,
                                                   "/file?size=8000000&seed=302&rate=400000");
  g_autofree char *slow_url3 = sl_test_server_url (f->server,
                                                   "/file?size=8000000&seed=303&rate=400000");
  g_autofree char *missing_url = sl_test_server_url (f->server, "/status?code=404");
  g_autofree char *log = g_build_filename (g_file_peek_path (f->data_home), "sluicectl.log",
                                           NULL);
  g_autofree char *id = NULL, *id2 = NULL, *id3 = NULL, *id4 = NULL;
  g_autofree char *path = NULL, *path2 = NULL, *path3 = NULL, *path4 = NULL;
  g_autofree char *file = NULL;
  g_autofree char *partial2 = NULL;
  g_autofree char *id_member = NULL;
  g_autoptr (SlDBusDownload1) download = NULL;
  g_autoptr (SlDBusDownload1) download2 = NULL;
  g_autoptr (SlDBusDownload1) download3 = NULL;
  g_autoptr (GPtrArray) objects = NULL;
  g_auto (GStrv) lines = NULL;
  CtlResult result = { 0 };
  GHashTable *members;
  const char *row;
  guint64 bytes;

  forget_service_file (f);
  g_assert_false (f->name_owned);

  /* add starts the daemon and prints the ID. The daemon it starts keeps sluicectl's stderr
   * (see test_sluicectl_detached), so that goes to a file here. */
  ctl_run_full (f, log, &result, "add", url, "-d", f->downloads_path, NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_null (strstr (result.err, "sluicectl:"));
  g_assert_cmpuint (count_lines (result.out), ==, 1);
  id = printed_id (result.out, 0);
  path = path_of_id (id);
  ctl_result_clear (&result);
  sl_test_wait_until (NULL, name_owned_or_exited, f, START_MS);
  g_assert_true (f->name_owned);
  connect_proxies (f);

  /* wait: 0 once completed. */
  ctl_run (f, &result, "wait", id, NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_cmpstr (result.err, ==, "");
  ctl_result_clear (&result);
  download = get_download (f, path);
  g_assert_cmpstr (sl_dbus_download1_get_state (download), ==, "completed");
  file = download_file_path (download);
  sl_test_assert_file_is_entity (file, 301, 300000);

  /* list: a header, then a row per download. */
  ctl_run (f, &result, "list", NULL);
  g_assert_cmpint (result.status, ==, 0);
  lines = g_strsplit (result.out, "\n", -1);
  g_assert_true (g_str_has_prefix (lines[0], "ID"));
  g_assert_nonnull (strstr (lines[0], "STATE"));
  row = table_row (lines, id);
  if (row == NULL || !contains_word (row, "completed"))
    g_error ("no row says %s is completed in “%s”", id, result.out);
  g_clear_pointer (&lines, g_strfreev);
  ctl_result_clear (&result);

  /* list --json: well-formed, one object per download. */
  ctl_run (f, &result, "list", "--json", NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_true (g_str_has_prefix (result.out, "["));
  g_assert_true (g_str_has_suffix (result.out, "]\n"));
  objects = parse_json_list (result.out);
  g_assert_cmpuint (objects->len, ==, 1);
  members = json_find_id (objects, id);
  g_assert_nonnull (members);
  g_assert_cmpstr (g_hash_table_lookup (members, "state"), ==, "completed");
  g_assert_cmpstr (g_hash_table_lookup (members, "bytes_received"), ==, "300000");
  g_assert_cmpstr (g_hash_table_lookup (members, "directory"), ==, f->downloads_path);
  id_member = g_strdup_printf ("\"id\": %s,", id);
  g_assert_nonnull (strstr (result.out, id_member));
  g_assert_nonnull (strstr (result.out, "\"state\": \"completed\""));
  g_clear_pointer (&objects, g_ptr_array_unref);
  ctl_result_clear (&result);

  /* pause and resume one of two slow downloads, then pause --all. */
  ctl_run (f, &result, "add", slow_url2, slow_url3, "-d", f->downloads_path, NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_cmpuint (count_lines (result.out), ==, 2);
  id2 = printed_id (result.out, 0);
  id3 = printed_id (result.out, 1);
  ctl_result_clear (&result);
  path2 = path_of_id (id2);
  path3 = path_of_id (id3);
  download2 = get_download (f, path2);
  download3 = get_download (f, path3);
  wait_state_bytes (download2, "running", 1, TRANSFER_MS);
  wait_state_bytes (download3, "running", 1, TRANSFER_MS);

  ctl_run (f, &result, "pause", id2, NULL);
  g_assert_cmpint (result.status, ==, 0);
  ctl_result_clear (&result);
  wait_state (download2, "paused", SHORT_MS);
  g_assert_cmpstr (sl_dbus_download1_get_state (download3), ==, "running");
  bytes = sl_dbus_download1_get_bytes_received (download2);

  ctl_run (f, &result, "resume", id2, NULL);
  g_assert_cmpint (result.status, ==, 0);
  ctl_result_clear (&result);
  wait_state_bytes (download2, "running", bytes + 1, TRANSFER_MS);

  ctl_run (f, &result, "pause", "--all", NULL);
  g_assert_cmpint (result.status, ==, 0);
  ctl_result_clear (&result);
  wait_state (download2, "paused", SHORT_MS);
  wait_state (download3, "paused", SHORT_MS);
  g_assert_cmpstr (sl_dbus_download1_get_state (download), ==, "completed");

  /* cancel: canceled, and the partial file goes. */
  partial2 = partial_file_path (download2);
  g_assert_true (g_file_test (partial2, G_FILE_TEST_IS_REGULAR));
  ctl_run (f, &result, "cancel", id2, NULL);
  g_assert_cmpint (result.status, ==, 0);
  ctl_result_clear (&result);
  wait_state (download2, "canceled", SHORT_MS);
  sl_test_wait_until (NULL, file_is_gone, partial2, SHORT_MS);
  g_assert_cmpstr (sl_dbus_download1_get_state (download3), ==, "paused");

  /* remove --delete-file: out of the list, and the file deleted. */
  g_clear_object (&download);
  ctl_run (f, &result, "remove", id, "--delete-file", NULL);
  g_assert_cmpint (result.status, ==, 0);
  ctl_result_clear (&result);
  wait_object_gone (f, path);
  sl_test_wait_until (NULL, file_is_gone, file, SHORT_MS);
  ctl_run (f, &result, "list", NULL);
  g_assert_cmpint (result.status, ==, 0);
  lines = g_strsplit (result.out, "\n", -1);
  g_assert_null (table_row (lines, id));
  g_assert_nonnull (table_row (lines, id2));
  g_assert_nonnull (table_row (lines, id3));
  g_clear_pointer (&lines, g_strfreev);
  ctl_result_clear (&result);

  /* wait on a download that fails with 404: 3, and one line naming it and the status. */
  ctl_run (f, &result, "add", missing_url, "-d", f->downloads_path, NULL);
  g_assert_cmpint (result.status, ==, 0);
  id4 = printed_id (result.out, 0);
  path4 = path_of_id (id4);
  ctl_result_clear (&result);
  ctl_run (f, &result, "wait", id4, NULL);
  g_assert_cmpint (result.status, ==, 3);
  assert_one_error_line (&result, "404");
  if (!contains_word (result.err, id4))
    g_error ("“%s” does not name download %s", result.err, id4);
  ctl_result_clear (&result);

  /* Bad input. */
  ctl_run (f, &result, "add", "ftp://x/y", NULL);
  g_assert_cmpint (result.status, ==, 1);
  assert_one_error_line (&result, "ftp");
  g_assert_cmpstr (result.out, ==, "");
  ctl_result_clear (&result);

  /* Names and addresses travel as text: stray bytes in an address are percent-encoded, as
   * `get` does; in a name they are refused, in one line. */
  {
    g_autofree char *odd_url = sl_test_server_url (f->server, "/file?size=10&name=caf\xe9");
    g_autofree char *odd_id = NULL;
    g_autofree char *odd_path = NULL;
    g_autoptr (SlDBusDownload1) odd = NULL;

    ctl_run (f, &result, "add", odd_url, "--paused", "-d", f->downloads_path, NULL);
    if (result.status != 0)
      g_error ("sluicectl add: %s", result.err);
    odd_id = printed_id (result.out, 0);
    ctl_result_clear (&result);
    odd_path = path_of_id (odd_id);
    odd = get_download (f, odd_path);
    g_assert_true (g_str_has_suffix (sl_dbus_download1_get_uri (odd), "name=caf%E9"));
    ctl_run (f, &result, "remove", odd_id, NULL);
    g_assert_cmpint (result.status, ==, 0);
    ctl_result_clear (&result);
  }

  ctl_run (f, &result, "add", missing_url, "-o", "a\xff.iso", NULL);
  g_assert_cmpint (result.status, ==, 1);
  assert_one_error_line (&result, "UTF-8");
  g_assert_cmpstr (result.out, ==, "");
  ctl_result_clear (&result);

  ctl_run (f, &result, "pause", "abc", NULL);
  g_assert_cmpint (result.status, ==, 1);
  g_assert_nonnull (strstr (result.err, "abc"));
  ctl_result_clear (&result);

  ctl_run (f, &result, "pause", "99999", NULL);
  g_assert_cmpint (result.status, ==, 1);
  assert_one_error_line (&result, "No download has the ID 99999");
  ctl_result_clear (&result);

  /* None of it added anything. */
  ctl_run (f, &result, "list", "--json", NULL);
  g_assert_cmpint (result.status, ==, 0);
  objects = parse_json_list (result.out);
  g_assert_cmpuint (objects->len, ==, 3);
  g_assert_nonnull (json_find_id (objects, id2));
  g_assert_nonnull (json_find_id (objects, id3));
  g_assert_nonnull (json_find_id (objects, id4));
  ctl_result_clear (&result);
}

/* `add -o NAME` takes a name, not a path: a folder in it is refused, in one line, rather than
 * dropped; so is any name the daemon would refuse, and an address longer than it takes.
 * Nothing is added. */
static void
test_sluicectl_refused (Fixture       *f,
                        gconstpointer  data)
{
  static const struct
  {
    const char *name;
    const char *fragment;
  } cases[] = {
    { "sub/x.bin", "cannot contain “/”" },
    { "../x.bin", "cannot contain “/”" },
    { "..", "are not file names" },
    { "tab\tname", "control characters" },
  };
  g_autofree char *url = sl_test_server_url (f->server, "/file?size=1000");
  g_autofree char *tail = g_strnfill (100 * 1024, 'a');
  g_autofree char *long_url = g_strconcat (url, "&x=", tail, NULL);
  g_autoptr (GVariant) objects = NULL;
  CtlResult long_result = { 0 };

  daemon_start (f);

  ctl_run (f, &long_result, "add", long_url, "-d", f->downloads_path, NULL);
  g_assert_cmpint (long_result.status, ==, 1);
  assert_one_error_line (&long_result, "longer than the 64 KiB");
  ctl_result_clear (&long_result);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      CtlResult result = { 0 };

      ctl_run (f, &result, "add", url, "-d", f->downloads_path, "-o", cases[i].name, NULL);
      g_assert_cmpint (result.status, ==, 1);
      g_assert_cmpstr (result.out, ==, "");
      assert_one_error_line (&result, cases[i].fragment);
      ctl_result_clear (&result);
    }

  objects = get_managed_objects (f);
  g_assert_cmpuint (g_variant_n_children (objects), ==, 0);
}

static void
on_connections_changed (SlDBusDownload1 *download,
                        GParamSpec      *pspec,
                        guint           *most)
{
  *most = MAX (*most, sl_dbus_download1_get_connections (download));
}

static gboolean
has_three_connections (gpointer data)
{
  return sl_dbus_download1_get_connections (data) == 3;
}

/* The number of downloads the daemon lists. */
static gsize
count_downloads (Fixture *f)
{
  g_autoptr (GVariant) objects = get_managed_objects (f);

  return g_variant_n_children (objects);
}

/* add's -x, --limit-rate and --checksum reach the daemon as the Add options they stand for,
 * and what the daemon would refuse is refused before it is asked. */
static void
test_sluicectl_add_options (Fixture       *f,
                            gconstpointer  data)
{
  g_autofree char *digest = sl_test_entity_sha256 (311, 200000);
  g_autofree char *upper = g_ascii_strup (digest, -1);
  g_autofree char *spec = g_strconcat ("SHA256=", upper, NULL);
  g_autofree char *expected_spec = g_strconcat ("sha256=", digest, NULL);
  g_autofree char *url = sl_test_server_url (f->server, "/file?size=200000&seed=311");
  /* Each connection gets 1 MB/s: automatic connections would go past three. */
  g_autofree char *slow_url = sl_test_server_url (f->server,
                                                  "/file?size=6000000&seed=312&rate=1000000");
  g_autofree char *id = NULL, *id2 = NULL, *id3 = NULL;
  g_autofree char *path = NULL, *path2 = NULL;
  g_autofree char *file = NULL;
  g_autoptr (SlDBusDownload1) download = NULL;
  g_autoptr (SlDBusDownload1) download2 = NULL;
  CtlResult result = { 0 };
  guint most = 0;

  daemon_start (f);

  ctl_run (f, &result, "add", url, "--paused", "-d", f->downloads_path, "--limit-rate", "500K",
           "--checksum", spec, NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_cmpstr (result.err, ==, "");
  id = printed_id (result.out, 0);
  ctl_result_clear (&result);
  path = path_of_id (id);
  download = get_download (f, path);
  g_assert_cmpuint (sl_dbus_download1_get_speed_limit (download), ==, 500 * 1024);
  g_assert_cmpstr (sl_dbus_download1_get_checksum (download), ==, expected_spec);
  g_assert_cmpstr (sl_dbus_download1_get_checksum_state (download), ==, "pending");
  g_assert_cmpstr (sl_dbus_download1_get_state (download), ==, "paused");

  /* -x 3: three connections, never more. */
  ctl_run (f, &result, "add", slow_url, "-d", f->downloads_path, "-x", "3", NULL);
  g_assert_cmpint (result.status, ==, 0);
  id2 = printed_id (result.out, 0);
  ctl_result_clear (&result);
  path2 = path_of_id (id2);
  download2 = get_download (f, path2);
  g_assert_cmpuint (sl_dbus_download1_get_speed_limit (download2), ==, 0);
  g_assert_cmpstr (sl_dbus_download1_get_checksum (download2), ==, "");
  g_assert_cmpstr (sl_dbus_download1_get_checksum_state (download2), ==, "none");
  g_signal_connect (download2, "notify::connections", G_CALLBACK (on_connections_changed),
                    &most);
  g_assert_true (sl_test_iterate_until (NULL, has_three_connections, download2, TRANSFER_MS));
  wait_state (download2, "completed", TRANSFER_MS);
  g_signal_handlers_disconnect_by_data (download2, &most);
  g_assert_cmpuint (most, ==, 3);
  file = download_file_path (download2);
  sl_test_assert_file_is_entity (file, 312, 6000000);

  /* -x 0 is automatic, as without -x. */
  ctl_run (f, &result, "add", url, "--paused", "-d", f->downloads_path, "-x", "0", NULL);
  g_assert_cmpint (result.status, ==, 0);
  id3 = printed_id (result.out, 0);
  ctl_result_clear (&result);
  g_assert_cmpuint (count_downloads (f), ==, 3);

  /* A checksum the daemon would refuse: one line, and nothing added. */
  ctl_run (f, &result, "add", url, "-d", f->downloads_path, "--checksum", "sha256=abc", NULL);
  g_assert_cmpint (result.status, ==, 1);
  g_assert_cmpstr (result.out, ==, "");
  assert_one_error_line (&result, "64 hexadecimal digits");
  ctl_result_clear (&result);
  ctl_run (f, &result, "add", url, "-d", f->downloads_path, "--checksum", "crc32=1234", NULL);
  g_assert_cmpint (result.status, ==, 1);
  assert_one_error_line (&result, "Unsupported checksum");
  ctl_result_clear (&result);
  g_assert_cmpuint (count_downloads (f), ==, 3);
}

/* Writes one byte at @offset of @path in place, as a failing disk or a careless user would. */
static void
change_byte (const char *path,
             goffset     offset)
{
  g_autoptr (GFile) target = g_file_new_for_path (path);
  g_autoptr (GFileIOStream) stream = NULL;
  g_autoptr (GError) error = NULL;

  stream = g_file_open_readwrite (target, NULL, &error);
  g_assert_no_error (error);
  g_seekable_seek (G_SEEKABLE (stream), offset, G_SEEK_SET, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (stream)), "?", 1,
                             NULL, NULL, &error);
  g_assert_no_error (error);
  g_io_stream_close (G_IO_STREAM (stream), NULL, &error);
  g_assert_no_error (error);
}

/* verify reads a completed file again: one line on stdout when it matches; when a byte has
 * changed, the daemon's line with both digests and exit 5, which no other failure hides. A
 * download without a checksum, one not completed, and an ID nobody has are one line each. */
static void
test_sluicectl_verify (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *digest = sl_test_entity_sha256 (321, 400000);
  g_autofree char *spec = g_strconcat ("sha256=", digest, NULL);
  g_autofree char *url = sl_test_server_url (f->server, "/file?size=400000&seed=321");
  g_autofree char *plain_url = sl_test_server_url (f->server, "/file?size=1000&seed=322");
  g_autofree char *id = NULL, *plain_id = NULL, *paused_id = NULL;
  g_autofree char *path = NULL;
  g_autofree char *file = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *unknown_line = NULL;
  g_autoptr (SlDBusDownload1) download = NULL;
  g_auto (GStrv) lines = NULL;
  CtlResult result = { 0 };

  daemon_start (f);

  ctl_run (f, &result, "add", url, "-d", f->downloads_path, "--checksum", spec, NULL);
  g_assert_cmpint (result.status, ==, 0);
  id = printed_id (result.out, 0);
  ctl_result_clear (&result);
  ctl_run (f, &result, "add", plain_url, "-d", f->downloads_path, NULL);
  g_assert_cmpint (result.status, ==, 0);
  plain_id = printed_id (result.out, 0);
  ctl_result_clear (&result);
  ctl_run (f, &result, "add", url, "-d", f->downloads_path, "--checksum", spec, "--paused",
           NULL);
  g_assert_cmpint (result.status, ==, 0);
  paused_id = printed_id (result.out, 0);
  ctl_result_clear (&result);
  ctl_run (f, &result, "wait", id, plain_id, NULL);
  g_assert_cmpint (result.status, ==, 0);
  ctl_result_clear (&result);
  path = path_of_id (id);
  download = get_download (f, path);
  wait_checksum_state (download, "verified");

  ctl_run (f, &result, "verify", id, NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_cmpstr (result.err, ==, "");
  expected = g_strdup_printf ("%s: verified\n", id);
  g_assert_cmpstr (result.out, ==, expected);
  ctl_result_clear (&result);
  g_assert_cmpstr (sl_dbus_download1_get_checksum_state (download), ==, "verified");

  /* Nothing to verify against, not completed, nobody's: 1, one line each. */
  ctl_run (f, &result, "verify", plain_id, NULL);
  g_assert_cmpint (result.status, ==, 1);
  g_assert_cmpstr (result.out, ==, "");
  assert_one_error_line (&result, "no checksum");
  g_assert_true (g_str_has_prefix (result.err + strlen ("sluicectl: "), plain_id));
  ctl_result_clear (&result);

  ctl_run (f, &result, "verify", paused_id, NULL);
  g_assert_cmpint (result.status, ==, 1);
  assert_one_error_line (&result, "Only a completed download");
  ctl_result_clear (&result);

  ctl_run (f, &result, "verify", "99999", NULL);
  g_assert_cmpint (result.status, ==, 1);
  g_assert_cmpstr (result.out, ==, "");
  assert_one_error_line (&result, "No download has the ID 99999");
  ctl_result_clear (&result);

  /* One byte changes on disk. */
  file = download_file_path (download);
  change_byte (file, 200000);

  ctl_run (f, &result, "verify", id, NULL);
  g_assert_cmpint (result.status, ==, 5);
  g_assert_cmpstr (result.out, ==, "");
  assert_one_error_line (&result, digest);
  g_assert_nonnull (strstr (result.err, "no longer matches"));
  g_assert_true (g_str_has_prefix (result.err + strlen ("sluicectl: "), id));
  ctl_result_clear (&result);
  wait_checksum_state (download, "mismatch");

  /* The mismatch decides, after an unknown ID and before a file that matches. */
  ctl_run (f, &result, "verify", "99999", id, plain_id, NULL);
  g_assert_cmpint (result.status, ==, 5);
  g_assert_cmpstr (result.out, ==, "");
  lines = g_strsplit (result.err, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 4);
  unknown_line = g_strdup ("sluicectl: No download has the ID 99999");
  g_assert_cmpstr (lines[0], ==, unknown_line);
  g_assert_nonnull (strstr (lines[1], digest));
  g_assert_nonnull (strstr (lines[2], "no checksum"));
  g_assert_cmpstr (lines[3], ==, "");
  ctl_result_clear (&result);

  /* A file that is gone cannot be read: 4, a local file error. */
  g_assert_cmpint (g_unlink (file), ==, 0);
  ctl_run (f, &result, "verify", id, NULL);
  g_assert_cmpint (result.status, ==, 4);
  g_assert_cmpstr (result.out, ==, "");
  assert_one_error_line (&result, id);
  ctl_result_clear (&result);

  /* A download whose bytes do not match fails, and waiting for it says so with 5. */
  {
    g_autofree char *wrong = g_strconcat ("sha256=", digest, NULL);
    g_autofree char *wrong_id = NULL;

    wrong[7] = wrong[7] == '0' ? '1' : '0';
    ctl_run (f, &result, "add", url, "-d", f->downloads_path, "--checksum", wrong, NULL);
    g_assert_cmpint (result.status, ==, 0);
    wrong_id = printed_id (result.out, 0);
    ctl_result_clear (&result);
    ctl_run (f, &result, "wait", wrong_id, NULL);
    g_assert_cmpint (result.status, ==, 5);
    assert_one_error_line (&result, wrong_id);
    ctl_result_clear (&result);
  }
}

/* The SpeedLimit of @path as the daemon lists it now, without the proxies' cache. */
static guint64
listed_speed_limit (Fixture    *f,
                    const char *path)
{
  g_autoptr (GVariant) objects = get_managed_objects (f);
  g_autoptr (GVariant) props = lookup_managed (objects, path);
  guint64 limit = G_MAXUINT64;

  g_assert_nonnull (props);
  g_assert_true (g_variant_lookup (props, "SpeedLimit", "t", &limit));
  return limit;
}


/* limit shows and sets MaxSpeed, which a restart keeps, and sets the SpeedLimit of the
 * downloads it names; 0 and none remove a limit. A RATE that is not one is a usage error, and
 * an unknown ID one line, while the others named still get their limit. */
static void
test_sluicectl_limit (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *path = NULL, *path2 = NULL;
  g_autofree char *id = NULL, *id2 = NULL;
  g_auto (GStrv) lines = NULL;
  CtlResult result = { 0 };

  daemon_start (f);
  path = add_paused (f, "/file?size=1000&seed=331", NULL);
  path2 = add_paused (f, "/file?size=1000&seed=332", NULL);
  id = g_strdup (strrchr (path, '/') + 1);
  id2 = g_strdup (strrchr (path2, '/') + 1);

  ctl_run (f, &result, "limit", NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_cmpstr (result.out, ==, "none\n");
  g_assert_cmpstr (result.err, ==, "");
  ctl_result_clear (&result);

  /* Global: 2 MiB a second, shown as g_format_size() shows it, with a no-break space. */
  ctl_run (f, &result, "limit", "2M", NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_cmpstr (result.out, ==, "");
  g_assert_cmpstr (result.err, ==, "");
  ctl_result_clear (&result);
  g_assert_cmpuint (get_manager_number (f, "MaxSpeed"), ==, 2 * 1024 * 1024);
  g_assert_cmpuint (listed_speed_limit (f, path), ==, 0);

  ctl_run (f, &result, "limit", NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_cmpstr (result.out, ==, "2.1\u00a0MB/s\n");
  ctl_result_clear (&result);

  /* Per download: only those named, the first even when the second is nobody's. */
  ctl_run (f, &result, "limit", "1.5K", id, NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_cmpstr (result.err, ==, "");
  ctl_result_clear (&result);
  g_assert_cmpuint (listed_speed_limit (f, path), ==, 1536);
  g_assert_cmpuint (listed_speed_limit (f, path2), ==, 0);
  g_assert_cmpuint (get_manager_number (f, "MaxSpeed"), ==, 2 * 1024 * 1024);

  ctl_run (f, &result, "limit", "300000", id2, "99999", NULL);
  g_assert_cmpint (result.status, ==, 1);
  g_assert_cmpstr (result.out, ==, "");
  assert_one_error_line (&result, "No download has the ID 99999");
  ctl_result_clear (&result);
  g_assert_cmpuint (listed_speed_limit (f, path2), ==, 300000);

  /* A restart keeps both. */
  daemon_kill (f, SIGTERM);
  assert_exited_cleanly (f);
  daemon_start (f);
  g_assert_cmpuint (get_manager_number (f, "MaxSpeed"), ==, 2 * 1024 * 1024);
  g_assert_cmpuint (listed_speed_limit (f, path), ==, 1536);
  ctl_run (f, &result, "limit", NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_cmpstr (result.out, ==, "2.1\u00a0MB/s\n");
  ctl_result_clear (&result);

  /* none and 0 remove a limit, globally or of a download. */
  ctl_run (f, &result, "limit", "none", id, NULL);
  g_assert_cmpint (result.status, ==, 0);
  ctl_result_clear (&result);
  g_assert_cmpuint (listed_speed_limit (f, path), ==, 0);
  g_assert_cmpuint (listed_speed_limit (f, path2), ==, 300000);
  ctl_run (f, &result, "limit", "0", id2, NULL);
  g_assert_cmpint (result.status, ==, 0);
  ctl_result_clear (&result);
  g_assert_cmpuint (listed_speed_limit (f, path2), ==, 0);
  g_assert_cmpuint (get_manager_number (f, "MaxSpeed"), ==, 2 * 1024 * 1024);

  ctl_run (f, &result, "limit", "none", NULL);
  g_assert_cmpint (result.status, ==, 0);
  ctl_result_clear (&result);
  g_assert_cmpuint (get_manager_number (f, "MaxSpeed"), ==, 0);
  ctl_run (f, &result, "limit", "1G", NULL);
  g_assert_cmpint (result.status, ==, 0);
  ctl_result_clear (&result);
  g_assert_cmpuint (get_manager_number (f, "MaxSpeed"), ==, 1024 * 1024 * 1024);
  ctl_run (f, &result, "limit", "0", NULL);
  g_assert_cmpint (result.status, ==, 0);
  ctl_result_clear (&result);
  g_assert_cmpuint (get_manager_number (f, "MaxSpeed"), ==, 0);
  ctl_run (f, &result, "limit", NULL);
  g_assert_cmpstr (result.out, ==, "none\n");
  ctl_result_clear (&result);

  /* A RATE that is not one: a usage error, what is wrong and where the help is, and nothing
   * changes. */
  ctl_run (f, &result, "limit", "fast", NULL);
  g_assert_cmpint (result.status, ==, 1);
  g_assert_cmpstr (result.out, ==, "");
  lines = g_strsplit (result.err, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 3);
  g_assert_true (g_str_has_prefix (lines[0], "sluicectl: A speed limit is a rate"));
  g_assert_cmpstr (lines[1], ==, "Try “sluicectl limit --help”");
  ctl_result_clear (&result);
  ctl_run (f, &result, "limit", "fast", id, NULL);
  g_assert_cmpint (result.status, ==, 1);
  ctl_result_clear (&result);
  g_assert_cmpuint (get_manager_number (f, "MaxSpeed"), ==, 0);
  g_assert_cmpuint (listed_speed_limit (f, path), ==, 0);
}

static gboolean
has_two_connections (gpointer data)
{
  return sl_dbus_download1_get_connections (data) == 2;
}

/* list tells each download's own speed limit, its checksum and where its check stands, and in
 * JSON also how many connections it has open. */
static void
test_sluicectl_list_details (Fixture       *f,
                             gconstpointer  data)
{
  g_autofree char *digest = sl_test_entity_sha256 (341, 100000);
  g_autofree char *spec = g_strconcat ("sha256=", digest, NULL);
  g_autofree char *url = sl_test_server_url (f->server, "/file?size=100000&seed=341");
  g_autofree char *slow_url = sl_test_server_url (f->server,
                                                  "/file?size=8000000&seed=342&rate=400000");
  g_autofree char *id = NULL, *id2 = NULL, *id3 = NULL;
  g_autofree char *path3 = NULL;
  g_autoptr (SlDBusDownload1) download3 = NULL;
  g_autoptr (GPtrArray) objects = NULL;
  g_auto (GStrv) lines = NULL;
  CtlResult result = { 0 };
  GHashTable *members;
  const char *row;

  daemon_start (f);

  /* A completed download that matched, a paused one with a limit, a running one on two
   * connections. */
  ctl_run (f, &result, "add", url, "-d", f->downloads_path, "--checksum", spec, NULL);
  g_assert_cmpint (result.status, ==, 0);
  id = printed_id (result.out, 0);
  ctl_result_clear (&result);
  ctl_run (f, &result, "wait", id, NULL);
  g_assert_cmpint (result.status, ==, 0);
  ctl_result_clear (&result);
  ctl_run (f, &result, "add", url, "-d", f->downloads_path, "--paused", "--limit-rate", "2M",
           NULL);
  g_assert_cmpint (result.status, ==, 0);
  id2 = printed_id (result.out, 0);
  ctl_result_clear (&result);
  ctl_run (f, &result, "add", slow_url, "-d", f->downloads_path, "-x", "2", NULL);
  g_assert_cmpint (result.status, ==, 0);
  id3 = printed_id (result.out, 0);
  ctl_result_clear (&result);
  path3 = path_of_id (id3);
  download3 = get_download (f, path3);
  g_assert_true (sl_test_iterate_until (NULL, has_two_connections, download3, TRANSFER_MS));

  ctl_run (f, &result, "list", "--json", NULL);
  g_assert_cmpint (result.status, ==, 0);
  objects = parse_json_list (result.out);
  g_assert_cmpuint (objects->len, ==, 3);
  members = json_find_id (objects, id);
  g_assert_cmpstr (g_hash_table_lookup (members, "checksum"), ==, spec);
  g_assert_cmpstr (g_hash_table_lookup (members, "checksum_state"), ==, "verified");
  g_assert_cmpstr (g_hash_table_lookup (members, "speed_limit"), ==, "0");
  g_assert_cmpstr (g_hash_table_lookup (members, "connections"), ==, "0");
  members = json_find_id (objects, id2);
  g_assert_cmpstr (g_hash_table_lookup (members, "checksum"), ==, "");
  g_assert_cmpstr (g_hash_table_lookup (members, "checksum_state"), ==, "none");
  g_assert_cmpstr (g_hash_table_lookup (members, "speed_limit"), ==, "2097152");
  members = json_find_id (objects, id3);
  g_assert_cmpstr (g_hash_table_lookup (members, "state"), ==, "running");
  g_assert_cmpstr (g_hash_table_lookup (members, "connections"), ==, "2");
  ctl_result_clear (&result);

  /* The table says it after the name, where there is something to say. */
  ctl_run (f, &result, "list", NULL);
  g_assert_cmpint (result.status, ==, 0);
  lines = g_strsplit (result.out, "\n", -1);
  row = table_row (lines, id);
  if (row == NULL || !g_str_has_suffix (row, "  [sha256 verified]"))
    g_error ("no row says %s has its checksum verified in “%s”", id, result.out);
  row = table_row (lines, id2);
  if (row == NULL || !g_str_has_suffix (row, "  [limit 2.1\u00a0MB/s]"))
    g_error ("no row gives the limit of %s in “%s”", id2, result.out);
  row = table_row (lines, id3);
  if (row == NULL || strchr (row, '[') != NULL)
    g_error ("the row of %s tells what it does not have in “%s”", id3, result.out);
  ctl_result_clear (&result);

  ctl_run (f, &result, "cancel", id3, NULL);
  g_assert_cmpint (result.status, ==, 0);
  ctl_result_clear (&result);
}

static void
on_process_exited (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_assert_true (g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL));
  *(gboolean *) user_data = TRUE;
}

/* A daemon that sluicectl starts must not hold on to sluicectl's output: a script that reads
 * it, as in err=$(sluicectl list 2>&1), would wait for the daemon to exit. */
static void
test_sluicectl_detached (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  SlTestCommunication comm = { FALSE, NULL, NULL, NULL };
  static const char * const args[] = { "list", NULL };
  gboolean exited = FALSE;

  forget_service_file (f);

  launcher = ctl_launcher (f, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  process = ctl_spawnv (launcher, args);
  g_subprocess_wait_async (process, NULL, on_process_exited, &exited);
  g_subprocess_communicate_utf8_async (process, NULL, cancellable, sl_test_on_communicated, &comm);

  sl_test_wait_until (NULL, sl_test_flag_is_set, &exited, CTL_MS);
  g_assert_cmpint (exit_status_of (process), ==, 0);
  sl_test_wait_until (NULL, name_owned_or_exited, f, START_MS);

  if (!sl_test_iterate_until (NULL, sl_test_flag_is_set, &comm.done, SHORT_MS))
    {
      g_cancellable_cancel (cancellable);
      sl_test_wait_until (NULL, sl_test_flag_is_set, &comm.done, SHORT_MS);
      g_clear_error (&comm.error);
      g_free (comm.out);
      g_free (comm.err);
      g_error ("the daemon sluicectl starts keeps its stderr open: a caller reading it waits "
               "until the daemon exits");
    }

  g_assert_no_error (comm.error);
  g_assert_cmpstr (comm.out, ==, "No downloads\n");
  g_assert_cmpstr (comm.err, ==, "");
  g_free (comm.out);
  g_free (comm.err);
}

/* The daemon and sluicectl get never share a partial file: get -o refuses the one the daemon
 * writes, and get without -o takes a name of its own. */
static void
test_sluicectl_shares_nothing (Fixture       *f,
                               gconstpointer  data)
{
  g_autofree char *url = sl_test_server_url (f->server, "/file?size=3000000&seed=71&rate=600000");
  g_autofree char *own = g_build_filename (f->downloads_path, "file (1)", NULL);
  g_autofree char *path = NULL;
  g_autofree char *file = NULL;
  g_autoptr (SlDBusDownload1) download = NULL;
  CtlResult result = { 0 };

  daemon_start (f);
  path = add (f, "/file?size=3000000&seed=71&rate=600000");
  download = get_download (f, path);
  wait_state_bytes (download, "running", 1, TRANSFER_MS);

  /* The daemon's partial file is "file.part", in the folder sluicectl runs in. */
  ctl_run (f, &result, "get", url, "-o", "file", "-q", NULL);
  g_assert_cmpint (result.status, ==, 4);
  assert_one_error_line (&result, "Another download is writing");
  ctl_result_clear (&result);

  ctl_run (f, &result, "get", url, "-q", NULL);
  g_assert_cmpint (result.status, ==, 0);
  ctl_result_clear (&result);
  sl_test_assert_file_is_entity (own, 71, 3000000);

  wait_state (download, "completed", TRANSFER_MS);
  file = download_file_path (download);
  g_assert_cmpstr (sl_dbus_download1_get_filename (download), ==, "file");
  sl_test_assert_file_is_entity (file, 71, 3000000);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);


#define ADD_TEST(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD_TEST ("/daemon/add/completes", test_add_completes);
  ADD_TEST ("/daemon/add/refused", test_add_refused);
  ADD_TEST ("/daemon/download/pause-resume-cancel", test_pause_resume_cancel);
  ADD_TEST ("/daemon/download/remove", test_remove);
  ADD_TEST ("/daemon/objects/properties", test_objects);
  ADD_TEST ("/daemon/manager/pause-all", test_pause_all);
  ADD_TEST ("/daemon/properties/coalesced", test_properties_coalesced);
  ADD_TEST ("/daemon/lifecycle/kill-restart", test_kill_restart);
  ADD_TEST ("/daemon/lifecycle/sigterm-resumes", test_sigterm_resumes);
  ADD_TEST ("/daemon/lifecycle/canceled-keeps-name", test_canceled_keeps_name);
  ADD_TEST ("/daemon/lifecycle/corrupt-database", test_corrupt_database);
  ADD_TEST ("/daemon/lifecycle/idle-exit", test_idle_exit);
  ADD_TEST ("/daemon/lifecycle/second-instance", test_second_instance);
  ADD_TEST ("/daemon/lifecycle/cannot-open", test_cannot_open);
  ADD_TEST ("/daemon/lifecycle/activation", test_activation);
  ADD_TEST ("/daemon/lifecycle/kill-stress", test_kill_stress);
  /* The same with four connections a download: every part of every segment is kept. */
  g_test_add ("/daemon/lifecycle/kill-stress-segmented", Fixture, GUINT_TO_POINTER (4),
              fixture_setup, test_kill_stress, fixture_teardown);
  ADD_TEST ("/daemon/lifecycle/crash-after-rename", test_crash_after_rename);
  ADD_TEST ("/daemon/download/adopt-partial", test_adopt_partial);
  ADD_TEST ("/daemon/download/disk-full", test_disk_full);
  ADD_TEST ("/daemon/download/speed-limit", test_speed_limit);
  ADD_TEST ("/daemon/download/connections", test_connections);
  ADD_TEST ("/daemon/download/verify", test_verify);
  ADD_TEST ("/daemon/manager/settings-kept", test_settings_kept);
  ADD_TEST ("/daemon/sluicectl/verbs", test_sluicectl_verbs);
  ADD_TEST ("/daemon/sluicectl/detached", test_sluicectl_detached);
  ADD_TEST ("/daemon/sluicectl/refused", test_sluicectl_refused);
  ADD_TEST ("/daemon/sluicectl/add-options", test_sluicectl_add_options);
  ADD_TEST ("/daemon/sluicectl/verify", test_sluicectl_verify);
  ADD_TEST ("/daemon/sluicectl/limit", test_sluicectl_limit);
  ADD_TEST ("/daemon/sluicectl/list-details", test_sluicectl_list_details);
  ADD_TEST ("/daemon/sluicectl/shares-nothing", test_sluicectl_shares_nothing);

#undef ADD_TEST

  return g_test_run ();
}
