/* sl-test-utils.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "sl-test-server.h"
#include "sl-test-utils.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

/**
 * sl_test_file_sha256:
 * @path: a file name
 *
 * Returns: (transfer full) (nullable): the hex SHA-256 of the file's contents, or %NULL if it
 *   cannot be read (typically: it does not exist)
 */
char *
sl_test_file_sha256 (const char *path)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guchar *buffer = NULL;
  FILE *file;
  gboolean failed;
  size_t n;

  g_return_val_if_fail (path != NULL, NULL);

  file = fopen (path, "rb");
  if (file == NULL)
    return NULL;

  /* Streamed: the files can be large. */
  buffer = g_malloc (64 * 1024);
  while ((n = fread (buffer, 1, 64 * 1024, file)) > 0)
    g_checksum_update (checksum, buffer, n);
  failed = ferror (file);
  fclose (file);

  return failed ? NULL : g_strdup (g_checksum_get_string (checksum));
}

/**
 * sl_test_make_temp_dir:
 *
 * Creates an empty directory under g_get_tmp_dir(), which G_TEST_OPTION_ISOLATE_DIRS points
 * inside the test's own temporary tree.
 *
 * Returns: (transfer full): the directory; remove it with sl_test_rm_rf()
 */
GFile *
sl_test_make_temp_dir (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_dir_make_tmp ("sluice-test-XXXXXX", &error);

  g_assert_no_error (error);
  return g_file_new_for_path (path);
}

static void
rm_rf (GFile *file)
{
  g_autoptr(GFileEnumerator) children = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_file_get_path (file);
  GFileType type;

  type = g_file_query_file_type (file, G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL);
  if (type == G_FILE_TYPE_UNKNOWN)
    return;

  if (type == G_FILE_TYPE_DIRECTORY)
    {
      /* Tests take permissions away to provoke errors; give them back so we can clean up. */
      if (path != NULL)
        g_chmod (path, 0700);

      children = g_file_enumerate_children (file, G_FILE_ATTRIBUTE_STANDARD_NAME,
                                            G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, &error);
      g_assert_no_error (error);

      for (;;)
        {
          GFileInfo *info = NULL;
          GFile *child = NULL;

          g_file_enumerator_iterate (children, &info, &child, NULL, &error);
          g_assert_no_error (error);
          if (info == NULL)
            break;
          rm_rf (child);
        }
    }

  if (!g_file_delete (file, NULL, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    g_assert_no_error (error);
}

/**
 * sl_test_rm_rf:
 * @dir: a directory (or file)
 *
 * Deletes @dir and everything under it without following symbolic links. A missing @dir is
 * not an error.
 */
void
sl_test_rm_rf (GFile *dir)
{
  g_return_if_fail (G_IS_FILE (dir));

  rm_rf (dir);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/**
 * sl_test_list_dir:
 * @dir: a directory
 *
 * Returns: (transfer full) (nullable): the names in @dir (hidden ones included), sorted
 *   bytewise; empty if @dir is empty, %NULL if it does not exist
 */
char **
sl_test_list_dir (GFile *dir)
{
  g_autoptr(GFileEnumerator) children = NULL;
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GError) error = NULL;

  g_return_val_if_fail (G_IS_FILE (dir), NULL);

  children = g_file_enumerate_children (dir, G_FILE_ATTRIBUTE_STANDARD_NAME,
                                        G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    return NULL;
  g_assert_no_error (error);

  names = g_ptr_array_new_with_free_func (g_free);
  for (;;)
    {
      GFileInfo *info = NULL;

      g_file_enumerator_iterate (children, &info, NULL, NULL, &error);
      g_assert_no_error (error);
      if (info == NULL)
        break;
      g_ptr_array_add (names, g_strdup (g_file_info_get_name (info)));
    }

  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}

static gboolean
set_flag_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
tick_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/**
 * sl_test_iterate_until:
 * @context: (nullable): the context to iterate, %NULL for the global default one
 * @cond: the condition to wait for
 * @data: passed to @cond
 * @timeout_ms: how long to wait at most
 *
 * The non-failing half of sl_test_wait_until().
 *
 * Returns: %TRUE if @cond held before the timeout
 */
gboolean
sl_test_iterate_until (GMainContext *context,
                       gboolean    (*cond) (gpointer data),
                       gpointer      data,
                       guint         timeout_ms)
{
  g_autoptr(GSource) timeout = g_timeout_source_new (timeout_ms);
  g_autoptr(GSource) tick = g_timeout_source_new (10);
  gboolean timed_out = FALSE;
  gboolean done;

  g_return_val_if_fail (cond != NULL, FALSE);

  if (context == NULL)
    context = g_main_context_default ();

  g_source_set_callback (timeout, set_flag_cb, &timed_out, NULL);
  g_source_attach (timeout, context);
  /* Wakes the context up so that conditions set by other threads are noticed. */
  g_source_set_callback (tick, tick_cb, NULL, NULL);
  g_source_attach (tick, context);

  while (!(done = cond (data)) && !timed_out)
    g_main_context_iteration (context, TRUE);

  g_source_destroy (tick);
  g_source_destroy (timeout);
  return done;
}

/**
 * sl_test_flag_is_set:
 * @flag: (type gboolean*): a gboolean that a callback sets
 *
 * A condition for sl_test_wait_until() and sl_test_iterate_until().
 *
 * Returns: *@flag
 */
gboolean
sl_test_flag_is_set (gpointer flag)
{
  return *(gboolean *) flag;
}

/**
 * sl_test_on_communicated:
 * @communication: an #SlTestCommunication
 *
 * A callback for g_subprocess_communicate_utf8_async() that keeps what came in
 * @communication and sets its done flag, for sl_test_iterate_until() with
 * sl_test_flag_is_set().
 */
void
sl_test_on_communicated (GObject      *source,
                         GAsyncResult *result,
                         gpointer      communication)
{
  SlTestCommunication *comm = communication;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &comm->out, &comm->err,
                                        &comm->error);
  comm->done = TRUE;
}

/**
 * sl_test_run_for:
 * @ms: how long
 *
 * Runs the global default main context for @ms, so that what is under way happens meanwhile.
 */
void
sl_test_run_for (guint ms)
{
  gboolean never = FALSE;

  sl_test_iterate_until (NULL, sl_test_flag_is_set, &never, ms);
}

/**
 * sl_test_name_owner_pid:
 * @connection: a bus connection
 * @name: a well-known name
 *
 * Returns: the pid of whoever owns @name, 0 if nobody does
 */
GPid
sl_test_name_owner_pid (GDBusConnection *connection,
                        const char      *name)
{
  g_autoptr (GVariant) reply = NULL;
  guint32 pid;

  reply = g_dbus_connection_call_sync (connection, "org.freedesktop.DBus",
                                       "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                       "GetConnectionUnixProcessID", g_variant_new ("(s)", name),
                                       G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                       NULL);
  if (reply == NULL)
    return 0;
  g_variant_get (reply, "(u)", &pid);
  return (GPid) pid;
}

/**
 * sl_test_set_cloexec_everywhere:
 *
 * Marks every descriptor above stderr close-on-exec. Call it before g_test_dbus_up():
 * GTestDBus's watcher, which takes the bus down when this process dies, learns of the death
 * by a pipe closing. A later bus daemon that inherits the pipe's write end keeps it open, and
 * a test that fails after the first one then hangs until its timeout instead of ending.
 */
void
sl_test_set_cloexec_everywhere (void)
{
  g_autoptr (GDir) fds = g_dir_open ("/proc/self/fd", 0, NULL);
  const char *name;

  if (fds == NULL)
    return;

  while ((name = g_dir_read_name (fds)) != NULL)
    {
      int fd = atoi (name);
      int flags;

      if (fd <= STDERR_FILENO)
        continue;
      flags = fcntl (fd, F_GETFD);
      if (flags >= 0 && !(flags & FD_CLOEXEC))
        fcntl (fd, F_SETFD, flags | FD_CLOEXEC);
    }
}

/**
 * sl_test_write_text:
 * @path: a file
 * @text: what it is to hold
 *
 * Writes @text to @path, replacing it, or fails the test with the reason.
 */
void
sl_test_write_text (const char *path,
                    const char *text)
{
  g_autoptr (GError) error = NULL;

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
}

/**
 * sl_test_bus_up:
 * @services: (nullable): a folder of service files the bus may start, or %NULL
 * @connection: (out): a connection of the test's own to the bus
 *
 * Starts a private session bus. The connection is not the session bus singleton, which
 * would outlive the private bus.
 *
 * Returns: (transfer full): the bus, to take down with g_test_dbus_down()
 */
GTestDBus *
sl_test_bus_up (const char       *services,
                GDBusConnection **connection)
{
  GTestDBus *bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_autoptr (GError) error = NULL;

  if (services != NULL)
    g_test_dbus_add_service_dir (bus, services);
  sl_test_set_cloexec_everywhere ();
  g_test_dbus_up (bus);
  *connection =
    g_dbus_connection_new_for_address_sync (g_test_dbus_get_bus_address (bus),
                                            G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                            G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                            NULL, NULL, &error);
  g_assert_no_error (error);
  return bus;
}

/**
 * sl_test_write_service_file:
 * @path: where to write it, in a service folder of the test's bus
 * @exec: the command line the bus runs
 *
 * Writes the daemon's D-Bus service file as the build made it, with @exec for its Exec line,
 * so that a test's private bus starts the daemon of the build tree, set up as the test wants.
 */
void
sl_test_write_service_file (const char *path,
                            const char *exec)
{
  g_autoptr (GKeyFile) service = g_key_file_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *built = g_test_build_filename (G_TEST_BUILT, "..", "data",
                                                  SL_TEST_BUS_NAME ".service", NULL);
  g_autofree char *name = NULL;

  g_key_file_load_from_file (service, built, G_KEY_FILE_NONE, &error);
  g_assert_no_error (error);
  name = g_key_file_get_string (service, "D-BUS Service", "Name", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (name, ==, SL_TEST_BUS_NAME);

  g_key_file_set_string (service, "D-BUS Service", "Exec", exec);
  g_key_file_save_to_file (service, path, &error);
  g_assert_no_error (error);
}

static gboolean
process_gone (gpointer data)
{
  pid_t pid = GPOINTER_TO_INT (data);
  g_autofree char *stat_path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree char *contents = NULL;
  const char *end;

  if (kill (pid, 0) != 0 || !g_file_get_contents (stat_path, &contents, NULL, NULL))
    return TRUE;
  end = strrchr (contents, ')');
  return end != NULL && g_str_has_prefix (end, ") Z");
}

/**
 * sl_test_stop_name_owner:
 * @connection: a bus connection
 * @name: a well-known name somebody owns
 * @timeout_ms: how long it may take to exit
 *
 * Stops the process that owns @name with SIGTERM, as a session ending would, and waits until
 * it has exited. A process the bus started is not the test's child, so it is found by its pid.
 * Fails the test (and kills the process) if it does not exit within @timeout_ms.
 */
void
sl_test_stop_name_owner (GDBusConnection *connection,
                         const char      *name,
                         guint            timeout_ms)
{
  GPid pid = sl_test_name_owner_pid (connection, name);

  g_assert_cmpint (pid, >, 0);
  g_assert_cmpint (kill (pid, SIGTERM), ==, 0);
  if (!sl_test_iterate_until (NULL, process_gone, GINT_TO_POINTER (pid), timeout_ms))
    {
      kill (pid, SIGKILL);
      g_error ("%s (pid %d) did not exit within %u ms of SIGTERM", name, (int) pid, timeout_ms);
    }
}

char *
_sl_test_describe_status (guint status)
{
  return g_strdup_printf ("%u %s", status, soup_status_get_phrase (status));
}

/* NULL when equal, else a description of the first difference. */
char *
_sl_test_describe_bytes (GBytes *actual,
                         GBytes *expected)
{
  const guint8 *a, *b;
  gsize a_size, b_size;

  if (actual == NULL || expected == NULL)
    {
      if (actual == expected)
        return NULL;
      return g_strdup_printf ("%s is NULL", actual == NULL ? "actual" : "expected");
    }

  a = g_bytes_get_data (actual, &a_size);
  b = g_bytes_get_data (expected, &b_size);
  for (gsize i = 0; i < MIN (a_size, b_size); i++)
    {
      if (a[i] != b[i])
        return g_strdup_printf ("sizes %" G_GSIZE_FORMAT " and %" G_GSIZE_FORMAT
                                ", first difference at offset %" G_GSIZE_FORMAT
                                " (0x%02x != 0x%02x)", a_size, b_size, i, a[i], b[i]);
    }

  if (a_size != b_size)
    return g_strdup_printf ("sizes %" G_GSIZE_FORMAT " and %" G_GSIZE_FORMAT
                            ", equal up to the shorter one", a_size, b_size);

  return NULL;
}

/**
 * sl_test_assert_dir_is:
 * @dir: a folder
 * @expected: the names it must hold, sorted, %NULL-terminated
 *
 * Fails the test with both listings unless @dir holds exactly @expected.
 */
void
sl_test_assert_dir_is (GFile       *dir,
                       const char **expected)
{
  g_auto (GStrv) names = sl_test_list_dir (dir);
  g_autofree char *got = g_strjoinv (", ", names);
  g_autofree char *want = g_strjoinv (", ", (char **) expected);

  if (g_strcmp0 (got, want) != 0)
    g_error ("folder holds [%s], expected [%s]", got, want);
}

typedef struct
{
  SlDownload      *download;
  SlDownloadState  state;
} StateWait;

static gboolean
state_is (gpointer data)
{
  StateWait *wait = data;

  return sl_download_get_state (wait->download) == wait->state;
}

/**
 * sl_test_wait_for_state:
 * @download: a download
 * @state: the state to wait for
 *
 * Iterates the default main context until @download is in @state; fails the test after a
 * minute.
 */
void
sl_test_wait_for_state (SlDownload      *download,
                        SlDownloadState  state)
{
  StateWait wait = { download, state };

  sl_test_wait_until (NULL, state_is, &wait, 60 * 1000);
}

/**
 * sl_test_assert_file_is_entity:
 * @path: a file
 * @seed: the entity's seed
 * @size: the entity's size
 *
 * Fails the test unless @path holds exactly sl_test_entity (@seed, @size).
 */
void
sl_test_assert_file_is_entity (const char *path,
                               guint32     seed,
                               gsize       size)
{
  g_autofree char *actual = sl_test_file_sha256 (path);
  g_autofree char *expected = sl_test_entity_sha256 (seed, size);

  if (actual == NULL)
    g_error ("%s does not exist", path);
  g_assert_cmpstr (actual, ==, expected);
}

struct _SlTestNetworkMonitor
{
  GObject  parent_instance;
  gboolean available;
};

enum {
  MONITOR_PROP_0,
  MONITOR_PROP_NETWORK_AVAILABLE,
  MONITOR_PROP_NETWORK_METERED,
  MONITOR_PROP_CONNECTIVITY,
};

static gboolean
monitor_initable_init (GInitable     *initable,
                       GCancellable  *cancellable,
                       GError       **error)
{
  return TRUE;
}

static void
monitor_initable_iface_init (GInitableIface *iface)
{
  iface->init = monitor_initable_init;
}

static gboolean
monitor_can_reach (GNetworkMonitor     *monitor,
                   GSocketConnectable  *connectable,
                   GCancellable        *cancellable,
                   GError             **error)
{
  if (SL_TEST_NETWORK_MONITOR (monitor)->available)
    return TRUE;

  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE, "No network (test)");
  return FALSE;
}

static void
monitor_iface_init (GNetworkMonitorInterface *iface)
{
  iface->can_reach = monitor_can_reach;
}

G_DEFINE_FINAL_TYPE_WITH_CODE (SlTestNetworkMonitor, sl_test_network_monitor, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                      monitor_initable_iface_init)
                               G_IMPLEMENT_INTERFACE (G_TYPE_NETWORK_MONITOR,
                                                      monitor_iface_init))

static void
monitor_get_property (GObject    *object,
                      guint       prop_id,
                      GValue     *value,
                      GParamSpec *pspec)
{
  SlTestNetworkMonitor *self = SL_TEST_NETWORK_MONITOR (object);

  switch (prop_id)
    {
    case MONITOR_PROP_NETWORK_AVAILABLE:
      g_value_set_boolean (value, self->available);
      break;

    case MONITOR_PROP_NETWORK_METERED:
      g_value_set_boolean (value, FALSE);
      break;

    case MONITOR_PROP_CONNECTIVITY:
      g_value_set_enum (value, self->available ? G_NETWORK_CONNECTIVITY_FULL
                                               : G_NETWORK_CONNECTIVITY_LOCAL);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_test_network_monitor_class_init (SlTestNetworkMonitorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = monitor_get_property;
  g_object_class_override_property (object_class, MONITOR_PROP_NETWORK_AVAILABLE,
                                    "network-available");
  g_object_class_override_property (object_class, MONITOR_PROP_NETWORK_METERED,
                                    "network-metered");
  g_object_class_override_property (object_class, MONITOR_PROP_CONNECTIVITY, "connectivity");
}

static void
sl_test_network_monitor_init (SlTestNetworkMonitor *self)
{
  self->available = TRUE;
}

SlTestNetworkMonitor *
sl_test_network_monitor_new (gboolean available)
{
  SlTestNetworkMonitor *self = g_object_new (SL_TYPE_TEST_NETWORK_MONITOR, NULL);

  self->available = available;
  return self;
}

/**
 * sl_test_network_monitor_set_available:
 * @self: a test monitor
 * @available: whether there is a network now
 *
 * Changes the answer and emits #GNetworkMonitor::network-changed, as a real monitor would.
 */
void
sl_test_network_monitor_set_available (SlTestNetworkMonitor *self,
                                       gboolean              available)
{
  if (self->available == available)
    return;

  self->available = available;
  g_object_notify (G_OBJECT (self), "network-available");
  g_signal_emit_by_name (self, "network-changed", available);
}
