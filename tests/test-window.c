/* test-window.c: the window against a real sluiced on a private bus, under Xvfb.
 *
 * Each test starts a bus, the loopback HTTP server and the daemon, then a window on the
 * daemon's list, and drives it through its actions as a person would through its buttons and
 * keys: rows follow the daemon's downloads, a row's pause and resume act on the daemon, keys
 * pressed (through the X server) on a row that has the focus act on it, a row's menu limits
 * its speed and verifies its checksum, the add dialog adds and opens ready for typing, with the link on the clipboard, search and the state filter
 * narrow the rows, the empty state shows when there is nothing, links pasted or dropped are
 * added. The application itself, run in this process against a stand-in for the desktop's
 * notification server and file manager on the bus, tells of downloads that end and stays in
 * the background for them. The `sluice` program runs twice, as a desktop would start it. The
 * preferences show and set the daemon's limits, and their Browser Integration page shows each
 * browser and sets them up.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <locale.h>
#include <math.h>
#include <signal.h>
#include <sys/prctl.h>

#include <adwaita.h>
#include <glib/gstdio.h>
#include <gdk/x11/gdkx.h>
#include <X11/extensions/XTest.h>
#include <X11/keysym.h>

#include "sl-add-dialog.h"
#include "sl-application.h"
#include "sl-browser-manifest.h"
#include "sl-download-list.h"
#include "sl-download-row.h"
#include "sl-preferences-window.h"
#include "sl-test-server.h"
#include "sl-test-utils.h"
#include "sl-window.h"

#define BUS_NAME      "org.sluice.Downloads"
#define MANAGER_PATH  "/org/sluice/Downloads"
#define START_MS      (15 * 1000)
#define SHORT_MS      (5 * 1000)
#define TRANSFER_MS   (60 * 1000)

typedef struct
{
  GTestDBus       *bus;
  GDBusConnection *connection;
  SlTestServer    *server;
  GSubprocess     *daemon;
  char            *data_home;
  char            *downloads;
  SlDBusManager1  *manager;
  SlDownloadList  *list;
  SlWindow        *window;
} Fixture;

/* A display of our own */

static GSubprocess *xvfb;
static char *display;  /* GTestDBus unsets DISPLAY: the programs the tests run get it back */
static char *system_data_dirs;  /* and the system's data folders, for MIME types and icons */

static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* Starts Xvfb on a free display and points DISPLAY at it, so that the tests never touch the
 * desktop they run from and need nothing but the Xvfb binary. */
static void
start_xvfb (void)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_autoptr (GError) error = NULL;
  char buffer[32] = { 0, };
  int fds[2];
  gssize length = 0;
  gssize n;

  g_assert_no_errno (pipe (fds));
  g_subprocess_launcher_take_fd (launcher, fds[1], 3);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  xvfb = g_subprocess_launcher_spawn (launcher, &error, "Xvfb", "-displayfd", "3", "-screen", "0",
                                      "1024x768x24", "-nolisten", "tcp", "-noreset", NULL);
  g_assert_no_error (error);

  /* Xvfb writes the display number and a newline once it accepts clients. */
  while (length < (gssize) sizeof buffer - 1 && strchr (buffer, '\n') == NULL)
    {
      n = read (fds[0], buffer + length, sizeof buffer - 1 - length);
      if (n <= 0)
        g_error ("Xvfb did not start");
      length += n;
    }
  close (fds[0]);

  display = g_strdup_printf (":%d", atoi (buffer));
  g_setenv ("DISPLAY", display, TRUE);
}

/* The daemon */

static void
on_name_appeared (GDBusConnection *connection,
                  const char      *name,
                  const char      *owner,
                  gpointer         user_data)
{
  *(gboolean *) user_data = TRUE;
}

static void
wait_for_name (GDBusConnection *connection,
               const char      *name)
{
  gboolean owned = FALSE;
  guint watch = g_bus_watch_name_on_connection (connection, name, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                on_name_appeared, NULL, &owned, NULL);

  sl_test_wait_until (NULL, sl_test_flag_is_set, &owned, START_MS);
  g_bus_unwatch_name (watch);
}

static GSubprocessLauncher *
launcher_new (Fixture *f)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);

  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS",
                                g_test_dbus_get_bus_address (f->bus), TRUE);
  /* The test's own folders: GLib isolates them in the test process only. */
  g_subprocess_launcher_setenv (launcher, "HOME", g_get_home_dir (), TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_DATA_HOME", f->data_home, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", g_get_user_config_dir (), TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CACHE_HOME", g_get_user_cache_dir (), TRUE);
  g_subprocess_launcher_setenv (launcher, "DISPLAY", display, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_DATA_DIRS", system_data_dirs, TRUE);
  return launcher;
}

/* The window starts the daemon again from this process when it dies: with the test's folders,
 * as the first one (GLib isolates them in this process only). */
static void
restarted_daemons_use_test_dirs (Fixture *f)
{
  g_setenv ("HOME", g_get_home_dir (), TRUE);
  g_setenv ("XDG_DATA_HOME", f->data_home, TRUE);
  g_setenv ("XDG_CONFIG_HOME", g_get_user_config_dir (), TRUE);
  g_setenv ("XDG_CACHE_HOME", g_get_user_cache_dir (), TRUE);
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GError) error = NULL;

  f->bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  sl_test_set_cloexec_everywhere ();
  g_test_dbus_up (f->bus);
  f->connection = g_dbus_connection_new_for_address_sync (
    g_test_dbus_get_bus_address (f->bus),
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
    NULL, NULL, &error);
  g_assert_no_error (error);
  g_dbus_connection_set_exit_on_close (f->connection, FALSE);

  /* Settings live in memory for the whole process: each test starts from the defaults. */
  {
    g_autoptr (GSettings) settings = g_settings_new ("org.sluice.Sluice");
    g_autoptr (GSettingsSchema) schema = NULL;
    g_auto (GStrv) keys = NULL;

    g_object_get (settings, "settings-schema", &schema, NULL);
    keys = g_settings_schema_list_keys (schema);
    for (guint i = 0; keys[i] != NULL; i++)
      g_settings_reset (settings, keys[i]);
  }

  f->server = sl_test_server_new ();
  f->data_home = g_build_filename (g_get_user_data_dir (), NULL);
  f->downloads = g_build_filename (g_get_user_cache_dir (), "downloads", NULL);
  g_assert_no_errno (g_mkdir_with_parents (f->downloads, 0700));

  /* The Downloads folder of the programs the tests start, daemon and window alike. */
  {
    g_autofree char *user_dirs = g_build_filename (g_get_user_config_dir (), "user-dirs.dirs",
                                                   NULL);
    g_autofree char *contents = g_strdup_printf ("XDG_DOWNLOAD_DIR=\"%s\"\n", f->downloads);

    g_assert_no_errno (g_mkdir_with_parents (g_get_user_config_dir (), 0700));
    g_file_set_contents (user_dirs, contents, -1, &error);
    g_assert_no_error (error);
  }

  launcher = launcher_new (f);
  f->daemon = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("SLUICED"),
                                           "--idle-timeout", "600", NULL);
  g_assert_no_error (error);
  wait_for_name (f->connection, BUS_NAME);
  f->manager = sl_dbus_manager1_proxy_new_sync (f->connection,
                                                G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, BUS_NAME,
                                                MANAGER_PATH, NULL, &error);
  g_assert_no_error (error);
}

static gboolean
subprocess_exited (gpointer data)
{
  return g_subprocess_get_if_exited (data) || g_subprocess_get_if_signaled (data);
}

static void
on_wait_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *(gboolean *) user_data = TRUE;
}

/* Waits, bounded, for @process to end; fails if it does not. */
static void
wait_exit (GSubprocess *process,
           guint        timeout_ms)
{
  gboolean done = FALSE;

  g_subprocess_wait_async (process, NULL, on_wait_done, &done);
  sl_test_wait_until (NULL, sl_test_flag_is_set, &done, timeout_ms);
  g_assert_true (subprocess_exited (process));
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  if (f->window != NULL)
    {
      gtk_window_destroy (GTK_WINDOW (f->window));
      g_assert_finalize_object (f->window);
    }
  if (f->list != NULL)
    g_assert_finalize_object (f->list);

  g_clear_object (&f->manager);
  /* A test may have left no daemon, or none of its own. */
  if (f->daemon != NULL)
    {
      g_subprocess_send_signal (f->daemon, SIGTERM);
      wait_exit (f->daemon, START_MS);
      g_clear_object (&f->daemon);
    }

  g_dbus_connection_close_sync (f->connection, NULL, NULL);
  g_clear_object (&f->connection);
  g_test_dbus_down (f->bus);
  g_clear_object (&f->bus);
  sl_test_server_quit_unref (f->server);
  g_free (f->data_home);
  g_free (f->downloads);
}

/* Helpers */

/* Adds a download to the daemon, as another client would, with @checksum ("sha256=HEX")
 * unless %NULL. */
static char *
add_checked (Fixture    *f,
             const char *path_and_query,
             gboolean    paused,
             const char *checksum)
{
  g_autofree char *url = sl_test_server_url (f->server, path_and_query);
  g_auto (GVariantDict) options = G_VARIANT_DICT_INIT (NULL);
  g_autoptr (GError) error = NULL;
  char *object_path = NULL;

  g_variant_dict_insert (&options, "directory", "s", f->downloads);
  g_variant_dict_insert (&options, "paused", "b", paused);
  if (checksum != NULL)
    g_variant_dict_insert (&options, "checksum", "s", checksum);
  sl_dbus_manager1_call_add_sync (f->manager, url, g_variant_dict_end (&options), &object_path,
                                  NULL, &error);
  g_assert_no_error (error);

  return object_path;
}

static char *
add_full (Fixture    *f,
          const char *path_and_query,
          gboolean    paused)
{
  return add_checked (f, path_and_query, paused, NULL);
}

/* The daemon's own word on a download's state, not the window's copy. */
static char *
daemon_state (Fixture    *f,
              const char *object_path)
{
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) value = NULL;
  g_autoptr (GError) error = NULL;

  reply = g_dbus_connection_call_sync (f->connection, BUS_NAME, object_path,
                                       "org.freedesktop.DBus.Properties", "Get",
                                       g_variant_new ("(ss)", "org.sluice.Downloads.Download1",
                                                      "State"),
                                       G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                       &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(v)", &value);
  return g_variant_dup_string (value, NULL);
}

typedef struct
{
  Fixture    *f;
  const char *path;
  const char *state;
} StateWait;

static gboolean
daemon_state_is (gpointer data)
{
  StateWait *wait = data;
  g_autofree char *state = daemon_state (wait->f, wait->path);

  return g_strcmp0 (state, wait->state) == 0;
}

static void
wait_daemon_state (Fixture    *f,
                   const char *path,
                   const char *state,
                   guint       timeout_ms)
{
  StateWait wait = { f, path, state };

  if (!sl_test_iterate_until (NULL, daemon_state_is, &wait, timeout_ms))
    {
      g_autofree char *now = daemon_state (f, path);

      g_error ("%s is %s, not %s, after %u ms", path, now, state, timeout_ms);
    }
}

static void
on_connected (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr (GError) error = NULL;

  sl_download_list_connect_finish (SL_DOWNLOAD_LIST (source), result, &error);
  g_assert_no_error (error);
  *(gboolean *) user_data = TRUE;
}

static gboolean
window_is_mapped (gpointer data)
{
  return gtk_widget_get_mapped (data);
}

/* Opens the window on the daemon's list and waits until it shows it. */
static void
open_window (Fixture *f)
{
  gboolean connected = FALSE;

  f->list = sl_download_list_new (f->connection);
  sl_download_list_connect_async (f->list, NULL, on_connected, &connected);
  /* GTK owns a window; the test keeps one more reference, to see it go. */
  f->window = g_object_ref (sl_window_new (NULL, f->list));
  gtk_window_present (GTK_WINDOW (f->window));

  sl_test_wait_until (NULL, sl_test_flag_is_set, &connected, START_MS);
  sl_test_wait_until (NULL, window_is_mapped, f->window, START_MS);
}

static void
collect_rows (GtkWidget *widget,
              GPtrArray *rows)
{
  if (SL_IS_DOWNLOAD_ROW (widget) && gtk_widget_get_mapped (widget) &&
      sl_download_row_get_download (SL_DOWNLOAD_ROW (widget)) != NULL)
    g_ptr_array_add (rows, widget);

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect_rows (child, rows);
}

/* The rows on screen that show a download. */
static GPtrArray *
visible_rows (Fixture *f)
{
  GPtrArray *rows = g_ptr_array_new ();

  collect_rows (GTK_WIDGET (f->window), rows);
  return rows;
}

typedef struct
{
  Fixture *f;
  guint    count;
} CountWait;

static gboolean
row_count_is (gpointer data)
{
  CountWait *wait = data;
  g_autoptr (GPtrArray) rows = visible_rows (wait->f);

  return rows->len == wait->count &&
         g_list_model_get_n_items (sl_window_get_shown (wait->f->window)) == wait->count;
}

static void
wait_rows (Fixture *f,
           guint    count)
{
  CountWait wait = { f, count };

  if (!sl_test_iterate_until (NULL, row_count_is, &wait, SHORT_MS))
    {
      g_autoptr (GPtrArray) rows = visible_rows (f);

      g_error ("%u rows shown (%u in the filtered model), not %u", rows->len,
               g_list_model_get_n_items (sl_window_get_shown (f->window)), count);
    }
}

static SlDownloadRow *
find_row (Fixture    *f,
          const char *object_path)
{
  g_autoptr (GPtrArray) rows = visible_rows (f);

  for (guint i = 0; i < rows->len; i++)
    {
      SlDBusDownload1 *download = sl_download_row_get_download (rows->pdata[i]);

      if (g_str_equal (g_dbus_proxy_get_object_path (G_DBUS_PROXY (download)), object_path))
        return rows->pdata[i];
    }

  g_error ("No row shows %s", object_path);
}

typedef struct
{
  SlWindow   *window;
  const char *page;
} PageWait;

static gboolean
page_is (gpointer data)
{
  PageWait *wait = data;

  return g_strcmp0 (sl_window_get_page (wait->window), wait->page) == 0;
}

static void
wait_page (Fixture    *f,
           const char *page)
{
  PageWait wait = { f->window, page };

  if (!sl_test_iterate_until (NULL, page_is, &wait, SHORT_MS))
    g_error ("The window shows “%s”, not “%s”", sl_window_get_page (f->window), page);
}

static void
remove_download (Fixture    *f,
                 const char *object_path)
{
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;

  reply = g_dbus_connection_call_sync (f->connection, BUS_NAME, object_path,
                                       "org.sluice.Downloads.Download1", "Remove",
                                       g_variant_new ("(b)", FALSE), NULL,
                                       G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  g_assert_no_error (error);
}

/* The keyboard, through the display: XTest presses keys as a person would, so that they
 * reach the focus widget along GTK's own event path. */

static Display *
x_display (void)
{
  return gdk_x11_display_get_xdisplay (gdk_display_get_default ());
}

static gboolean
window_takes_keyboard (gpointer data)
{
  GtkWindow *window = data;
  GdkSurface *surface = gtk_native_get_surface (GTK_NATIVE (window));
  GdkDisplay *gdk_display = gtk_widget_get_display (GTK_WIDGET (window));

  if (gtk_window_is_active (window))
    return TRUE;

  /* There is no window manager: give the window the keyboard as one would, once the server
   * shows it (before, the request is refused). */
  gdk_x11_display_error_trap_push (gdk_display);
  XSetInputFocus (x_display (), gdk_x11_surface_get_xid (surface), RevertToParent, CurrentTime);
  gdk_x11_display_error_trap_pop_ignored (gdk_display);
  return FALSE;
}

static void
focus_window (GtkWindow *window)
{
  sl_test_wait_until (NULL, window_takes_keyboard, window, SHORT_MS);
}

/* Presses and releases @keysym, holding Shift and Control as @modifiers says. */
static void
press_key (guint           keysym,
           GdkModifierType modifiers)
{
  Display *xdisplay = x_display ();
  KeyCode code = XKeysymToKeycode (xdisplay, keysym);
  KeyCode shift = XKeysymToKeycode (xdisplay, XK_Shift_L);
  KeyCode control = XKeysymToKeycode (xdisplay, XK_Control_L);

  g_assert_cmpuint (code, !=, 0);
  g_assert_cmpuint (modifiers & ~(GDK_SHIFT_MASK | GDK_CONTROL_MASK), ==, 0);

  if (modifiers & GDK_CONTROL_MASK)
    XTestFakeKeyEvent (xdisplay, control, True, CurrentTime);
  if (modifiers & GDK_SHIFT_MASK)
    XTestFakeKeyEvent (xdisplay, shift, True, CurrentTime);
  XTestFakeKeyEvent (xdisplay, code, True, CurrentTime);
  XTestFakeKeyEvent (xdisplay, code, False, CurrentTime);
  if (modifiers & GDK_SHIFT_MASK)
    XTestFakeKeyEvent (xdisplay, shift, False, CurrentTime);
  if (modifiers & GDK_CONTROL_MASK)
    XTestFakeKeyEvent (xdisplay, control, False, CurrentTime);
  XSync (xdisplay, False);
}

static gboolean
widget_is_focus (gpointer data)
{
  return gtk_widget_is_focus (data);
}

/* Tests */

/* One row per daemon download, following additions and removals. */
static void
test_rows (Fixture       *f,
           gconstpointer  data)
{
  g_autofree char *first = add_full (f, "/file?size=1000&seed=1", TRUE);
  g_autofree char *second = add_full (f, "/file?size=1000&seed=2", TRUE);
  g_autofree char *third = add_full (f, "/file?size=1000&seed=3", TRUE);
  g_autofree char *fourth = NULL;
  g_autoptr (GPtrArray) rows = NULL;

  open_window (f);
  wait_page (f, "list");
  wait_rows (f, 3);

  /* Newest first. */
  rows = visible_rows (f);
  g_assert_true (find_row (f, third) == rows->pdata[0]);
  g_assert_true (find_row (f, first) == rows->pdata[2]);

  fourth = add_full (f, "/file?size=1000&seed=4", TRUE);
  wait_rows (f, 4);
  find_row (f, fourth);

  remove_download (f, second);
  wait_rows (f, 3);
}

static gboolean
proxy_is_paused (gpointer data)
{
  return g_strcmp0 (sl_dbus_download1_get_state (data), "paused") == 0;
}

/* A row's pause button pauses the download in the daemon; resume continues it to the end. */
static void
test_pause_resume (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *path = add_full (f, "/file?size=3000000&seed=5&rate=500000", FALSE);
  g_autofree char *file = NULL;
  SlDownloadRow *row;
  SlDBusDownload1 *download;

  open_window (f);
  wait_rows (f, 1);
  wait_daemon_state (f, path, "running", TRANSFER_MS);

  row = find_row (f, path);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (row), "download.pause", NULL));
  wait_daemon_state (f, path, "paused", SHORT_MS);

  /* The row follows: it knows the download is paused before it offers to resume. */
  download = sl_download_row_get_download (row);
  sl_test_wait_until (NULL, proxy_is_paused, download, SHORT_MS);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (row), "download.resume", NULL));
  wait_daemon_state (f, path, "completed", TRANSFER_MS);

  file = g_build_filename (f->downloads, "file", NULL);
  sl_test_assert_file_is_entity (file, 5, 3000000);
}

static GtkPopover *
row_popover (SlDownloadRow *row)
{
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (row)); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (GTK_IS_POPOVER (child) && gtk_widget_get_visible (child))
        return GTK_POPOVER (child);
    }
  return NULL;
}

static gboolean
row_popover_is_mapped (gpointer data)
{
  GtkPopover *popover = row_popover (data);

  /* Mapped, and laid out on its surface. */
  return popover != NULL && gtk_widget_get_mapped (GTK_WIDGET (popover)) &&
         gtk_widget_get_width (GTK_WIDGET (popover)) > 0;
}

static gboolean
row_popover_is_hidden (gpointer data)
{
  return row_popover (data) == NULL;
}

static GtkWidget *
find_child_of_type (GtkWidget *widget,
                    GType      type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (widget, type))
    return widget;

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found;

      if (GTK_IS_NATIVE (child))
        continue;
      found = find_child_of_type (child, type);
      if (found != NULL)
        return found;
    }
  return NULL;
}

/* The menu a key opened is @row's, and it opens by the row's More button, as from a click on
 * it, not along the whole row at the window's edge: its anchor is the button, and so is
 * where the menu shows (positions in the window's surface; the menu's surface includes its
 * shadow). */
static void
assert_menu_at_row (Fixture       *f,
                    SlDownloadRow *row)
{
  GtkWidget *more = find_child_of_type (GTK_WIDGET (row), GTK_TYPE_MENU_BUTTON);
  GtkPopover *popover;
  GdkSurface *surface;
  GdkRectangle anchor;
  graphene_rect_t bounds;
  graphene_rect_t row_bounds;
  graphene_rect_t more_bounds;
  graphene_rect_t menu_bounds;
  double dx, dy;

  g_assert_nonnull (more);
  sl_test_wait_until (NULL, row_popover_is_mapped, row, SHORT_MS);
  popover = row_popover (row);

  g_assert_true (gtk_popover_get_pointing_to (popover, &anchor));
  g_assert_true (gtk_widget_compute_bounds (more, GTK_WIDGET (row), &bounds));
  g_assert_true (graphene_rect_contains_rect (
    &bounds, &GRAPHENE_RECT_INIT (anchor.x, anchor.y, anchor.width, anchor.height)));

  g_assert_true (gtk_widget_compute_bounds (GTK_WIDGET (row), GTK_WIDGET (f->window),
                                            &row_bounds));
  g_assert_true (gtk_widget_compute_bounds (more, GTK_WIDGET (f->window), &more_bounds));
  gtk_native_get_surface_transform (GTK_NATIVE (f->window), &dx, &dy);
  graphene_rect_offset (&row_bounds, dx, dy);
  graphene_rect_offset (&more_bounds, dx, dy);
  surface = gtk_native_get_surface (GTK_NATIVE (popover));
  graphene_rect_init (&menu_bounds, gdk_popup_get_position_x (GDK_POPUP (surface)),
                      gdk_popup_get_position_y (GDK_POPUP (surface)),
                      gdk_surface_get_width (surface), gdk_surface_get_height (surface));

  /* Across from the button, which is at the row's end... */
  g_assert_cmpfloat (graphene_rect_get_x (&menu_bounds), <,
                     graphene_rect_get_x (&more_bounds) + graphene_rect_get_width (&more_bounds));
  g_assert_cmpfloat (graphene_rect_get_x (&menu_bounds) + graphene_rect_get_width (&menu_bounds),
                     >, graphene_rect_get_x (&more_bounds));
  g_assert_cmpfloat (graphene_rect_get_x (&menu_bounds), >,
                     graphene_rect_get_x (&row_bounds) + graphene_rect_get_width (&row_bounds) / 2);
  /* ...and level with the row. */
  g_assert_cmpfloat (graphene_rect_get_y (&menu_bounds), <,
                     graphene_rect_get_y (&row_bounds) + graphene_rect_get_height (&row_bounds));
  g_assert_cmpfloat (graphene_rect_get_y (&menu_bounds) + graphene_rect_get_height (&menu_bounds),
                     >, graphene_rect_get_y (&row_bounds));
}

/* A row that has the focus, moved onto it with the arrow keys, takes the keys that README and
 * the Keyboard Shortcuts window promise: Space pauses, Shift+Space resumes, Shift+F10 and
 * Menu open its menu by the row, Delete removes it. */
static void
test_row_keys (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *path = add_full (f, "/stall?size=100000&after=1000&times=10&seed=42", FALSE);
  g_autofree char *other = add_full (f, "/file?size=1000&seed=43", TRUE);
  g_autoptr (GPtrArray) rows = NULL;
  SlDownloadRow *row;
  GtkWidget *item;

  open_window (f);
  wait_rows (f, 2);
  wait_daemon_state (f, path, "running", TRANSFER_MS);
  focus_window (GTK_WINDOW (f->window));

  /* The list's rows take the focus themselves, not a button in them: the newest on top,
   * then Down to the one below. */
  rows = visible_rows (f);
  g_assert_true (rows->pdata[0] == find_row (f, other));
  gtk_widget_grab_focus (gtk_widget_get_parent (rows->pdata[0]));
  g_assert_true (gtk_widget_is_focus (gtk_widget_get_parent (rows->pdata[0])));
  row = find_row (f, path);
  item = gtk_widget_get_parent (GTK_WIDGET (row));
  press_key (XK_Down, 0);
  sl_test_wait_until (NULL, widget_is_focus, item, SHORT_MS);

  press_key (XK_space, 0);
  wait_daemon_state (f, path, "paused", SHORT_MS);
  sl_test_wait_until (NULL, proxy_is_paused, sl_download_row_get_download (row), SHORT_MS);

  press_key (XK_space, GDK_SHIFT_MASK);
  wait_daemon_state (f, path, "running", TRANSFER_MS);

  press_key (XK_F10, GDK_SHIFT_MASK);
  assert_menu_at_row (f, row);
  press_key (XK_Escape, 0);
  sl_test_wait_until (NULL, row_popover_is_hidden, row, SHORT_MS);
  sl_test_wait_until (NULL, widget_is_focus, item, SHORT_MS);

  press_key (XK_Menu, 0);
  assert_menu_at_row (f, row);
  press_key (XK_Escape, 0);
  sl_test_wait_until (NULL, row_popover_is_hidden, row, SHORT_MS);
  sl_test_wait_until (NULL, widget_is_focus, item, SHORT_MS);

  press_key (XK_Delete, 0);
  wait_rows (f, 1);
  find_row (f, other);
}

static gboolean
dialog_gone (gpointer data)
{
  return *(gpointer *) data == NULL;
}

static SlAddDialog *
find_add_dialog (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr (GObject) window = g_list_model_get_item (toplevels, i);

      if (SL_IS_ADD_DIALOG (window))
        return SL_ADD_DIALOG (window);
    }
  return NULL;
}

/* The add dialog refuses what the daemon could not take, says why, and adds what it can. */
static void
test_add_dialog (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *url = sl_test_server_url (f->server, "/file?size=2000&seed=6");
  SlAddDialog *dialog;
  gpointer weak;

  g_autoptr (GSettings) settings = g_settings_new ("org.sluice.Sluice");

  /* The dialog starts in the folder of the preferences. */
  g_settings_set_string (settings, "download-folder", f->downloads);
  open_window (f);
  wait_page (f, "empty");

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.add", NULL));
  dialog = find_add_dialog ();
  g_assert_nonnull (dialog);

  /* As typed: nothing yet is not an error; a wrong scheme is, and Add does nothing. */
  g_assert_null (sl_add_dialog_get_error (dialog));
  sl_add_dialog_set_uri (dialog, "ftp://example.org/file");
  g_assert_nonnull (strstr (sl_add_dialog_get_error (dialog), "ftp"));
  gtk_widget_activate_action (GTK_WIDGET (dialog), "add-dialog.add", NULL);
  sl_add_dialog_set_uri (dialog, "no address");
  g_assert_nonnull (sl_add_dialog_get_error (dialog));
  /* The daemon's rule, not a looser one: it refuses port 0 and such a host. */
  sl_add_dialog_set_uri (dialog, "http://127.0.0.1:0/file");
  g_assert_nonnull (strstr (sl_add_dialog_get_error (dialog), "port 0"));
  sl_add_dialog_set_uri (dialog, "http://a%0Ab/file");
  g_assert_nonnull (strstr (sl_add_dialog_get_error (dialog), "invalid host name"));
  /* A megabyte of address would be stored and drawn across its row. */
  {
    g_autofree char *tail = g_strnfill (1024 * 1024, 'a');
    g_autofree char *long_url = g_strconcat (url, "&x=", tail, NULL);

    sl_add_dialog_set_uri (dialog, long_url);
    g_assert_nonnull (strstr (sl_add_dialog_get_error (dialog), "64 KiB"));
  }

  sl_add_dialog_set_uri (dialog, url);
  sl_add_dialog_set_filename (dialog, "../x");
  g_assert_nonnull (sl_add_dialog_get_error (dialog));
  /* The daemon's limit of 200 bytes, not the file system's 255. */
  {
    g_autofree char *long_name = g_strnfill (201, 'n');

    sl_add_dialog_set_filename (dialog, long_name);
    g_assert_nonnull (strstr (sl_add_dialog_get_error (dialog), "200 bytes"));
    long_name[200] = '\0';
    sl_add_dialog_set_filename (dialog, long_name);
    g_assert_null (sl_add_dialog_get_error (dialog));
  }
  sl_add_dialog_set_filename (dialog, "named.bin");
  g_assert_null (sl_add_dialog_get_error (dialog));

  weak = dialog;
  g_object_add_weak_pointer (G_OBJECT (dialog), &weak);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (dialog), "add-dialog.add", NULL));
  if (!sl_test_iterate_until (NULL, dialog_gone, &weak, SHORT_MS))
    g_error ("The dialog stayed, saying “%s”", sl_add_dialog_get_error (weak));

  wait_rows (f, 1);
  wait_page (f, "list");
  {
    g_autofree char *file = g_build_filename (f->downloads, "named.bin", NULL);
    g_autoptr (GPtrArray) rows = visible_rows (f);
    const char *path = g_dbus_proxy_get_object_path (
      G_DBUS_PROXY (sl_download_row_get_download (rows->pdata[0])));

    wait_daemon_state (f, path, "completed", TRANSFER_MS);
    sl_test_assert_file_is_entity (file, 6, 2000);
  }
}

typedef struct
{
  gboolean  done;
  char     *text;
} ClipboardRead;

static void
clipboard_read_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  ClipboardRead *read = user_data;

  read->text = gdk_clipboard_read_text_finish (GDK_CLIPBOARD (source), result, NULL);
  read->done = TRUE;
}

static gboolean
add_dialog_shown (gpointer data)
{
  return find_add_dialog () != NULL;
}

static GtkEditable *
add_dialog_address (SlAddDialog *dialog)
{
  return GTK_EDITABLE (gtk_widget_get_template_child (GTK_WIDGET (dialog), SL_TYPE_ADD_DIALOG,
                                                      "url_row"));
}

static void
assert_address_has_focus (SlAddDialog *dialog)
{
  GtkWidget *address = GTK_WIDGET (add_dialog_address (dialog));
  GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (dialog));

  if (focus != address && (focus == NULL || !gtk_widget_is_ancestor (focus, address)))
    g_error ("The dialog's focus is on a %s, not in the address",
             focus ? G_OBJECT_TYPE_NAME (focus) : "nothing");
}

typedef struct
{
  GtkEditable *editable;
  const char  *text;
} TextWait;

static gboolean
text_is (gpointer data)
{
  TextWait *wait = data;

  return g_strcmp0 (gtk_editable_get_text (wait->editable), wait->text) == 0;
}

static void
wait_address (SlAddDialog *dialog,
              const char  *text)
{
  TextWait wait = { add_dialog_address (dialog), text };

  if (!sl_test_iterate_until (NULL, text_is, &wait, SHORT_MS))
    g_error ("The address is “%s”, not “%s”", gtk_editable_get_text (wait.editable), text);
}

/* Waits until the clipboard has answered the dialog: a read of the same clipboard asked for
 * after the dialog's is answered after it. */
static void
wait_clipboard_answered (GdkClipboard *clipboard)
{
  ClipboardRead read = { FALSE, NULL };

  gdk_clipboard_read_text_async (clipboard, NULL, clipboard_read_cb, &read);
  sl_test_wait_until (NULL, sl_test_flag_is_set, &read.done, SHORT_MS);
  g_free (read.text);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
close_add_dialog (SlAddDialog *dialog)
{
  gpointer weak = dialog;

  g_object_add_weak_pointer (G_OBJECT (dialog), &weak);
  gtk_window_destroy (GTK_WINDOW (dialog));
  sl_test_wait_until (NULL, dialog_gone, &weak, SHORT_MS);
}

/* The add dialog opens with the focus in the address, so that what is typed or pasted right
 * away is not lost. A link on the clipboard is there already, selected so that typing
 * replaces it; text that is not one link is not, nor does it replace what was typed first. */
static void
test_add_dialog_focus (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *url = sl_test_server_url (f->server, "/file?size=1000&seed=44");
  g_autofree char *padded = g_strdup_printf ("  %s\n", url);
  g_autofree char *two = g_strdup_printf ("%s\n%s", url, url);
  g_autofree char *prose = g_strdup_printf ("Get %s now", url);
  const char *not_links[] = { "no links here", "ftp://example.org/file", two, prose,
                              "http://", "" };
  GdkClipboard *clipboard;
  SlAddDialog *dialog;
  int start;
  int end;

  open_window (f);
  wait_page (f, "empty");
  clipboard = gtk_widget_get_clipboard (GTK_WIDGET (f->window));
  focus_window (GTK_WINDOW (f->window));

  /* Ctrl+N with a link copied from somewhere, white space around it. */
  gdk_clipboard_set_text (clipboard, padded);
  press_key (XK_n, GDK_CONTROL_MASK);
  sl_test_wait_until (NULL, add_dialog_shown, NULL, SHORT_MS);
  dialog = find_add_dialog ();
  assert_address_has_focus (dialog);
  wait_address (dialog, url);
  g_assert_true (gtk_editable_get_selection_bounds (add_dialog_address (dialog), &start, &end));
  g_assert_cmpint (start, ==, 0);
  g_assert_cmpint (end, ==, (int) g_utf8_strlen (url, -1));
  g_assert_null (sl_add_dialog_get_error (dialog));

  /* What is typed next goes in the address, in place of the link. */
  focus_window (GTK_WINDOW (dialog));
  press_key (XK_h, 0);
  wait_address (dialog, "h");
  close_add_dialog (dialog);

  /* Anything else leaves the address empty, and focused all the same. */
  for (guint i = 0; i < G_N_ELEMENTS (not_links); i++)
    {
      gdk_clipboard_set_text (clipboard, not_links[i]);
      g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.add", NULL));
      dialog = find_add_dialog ();
      g_assert_nonnull (dialog);
      wait_clipboard_answered (clipboard);
      assert_address_has_focus (dialog);
      wait_address (dialog, "");
      close_add_dialog (dialog);
    }

  /* Typed before the clipboard answered: what was typed stays. */
  gdk_clipboard_set_text (clipboard, url);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.add", NULL));
  dialog = find_add_dialog ();
  sl_add_dialog_set_uri (dialog, "https://example.org/typed");
  wait_clipboard_answered (clipboard);
  wait_address (dialog, "https://example.org/typed");
  close_add_dialog (dialog);

  gdk_clipboard_set_content (clipboard, NULL);
}

typedef struct
{
  Fixture *f;
  guint    count;
} ShownWait;

static gboolean
shown_is (gpointer data)
{
  ShownWait *wait = data;

  return g_list_model_get_n_items (sl_window_get_shown (wait->f->window)) == wait->count;
}

static void
wait_shown (Fixture *f,
            guint    count)
{
  ShownWait wait = { f, count };

  if (!sl_test_iterate_until (NULL, shown_is, &wait, SHORT_MS))
    g_error ("%u downloads shown, not %u",
             g_list_model_get_n_items (sl_window_get_shown (f->window)), count);
}

/* Search and the state filter narrow the rows, and follow state changes. */
static void
test_filter_search (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *done = add_full (f, "/disposition?size=100&seed=7&cd=attachment%3B%20filename%3Dalpha-notes.txt", FALSE);
  g_autofree char *failed = add_full (f, "/status?code=404", FALSE);
  g_autofree char *paused = add_full (f, "/disposition?size=100&seed=8&cd=attachment%3B%20filename%3Dbeta.iso", TRUE);

  wait_daemon_state (f, done, "completed", TRANSFER_MS);
  wait_daemon_state (f, failed, "failed", TRANSFER_MS);

  open_window (f);
  wait_rows (f, 3);

  gtk_widget_activate_action (GTK_WIDGET (f->window), "win.filter", "u", SL_WINDOW_FILTER_ACTIVE);
  wait_rows (f, 1);
  g_assert_nonnull (find_row (f, paused));
  sl_window_set_filter (f->window, SL_WINDOW_FILTER_COMPLETED);
  wait_rows (f, 1);
  g_assert_nonnull (find_row (f, done));
  sl_window_set_filter (f->window, SL_WINDOW_FILTER_FAILED);
  wait_rows (f, 1);
  g_assert_nonnull (find_row (f, failed));

  /* A download that completes while "Completed" shows joins the rows. */
  sl_window_set_filter (f->window, SL_WINDOW_FILTER_COMPLETED);
  wait_rows (f, 1);
  gtk_widget_activate_action (GTK_WIDGET (find_row (f, done)), "download.remove", NULL);
  wait_page (f, "no-results");
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (GVariant) reply = g_dbus_connection_call_sync (
      f->connection, BUS_NAME, paused, "org.sluice.Downloads.Download1", "Resume", NULL, NULL,
      G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);

    g_assert_no_error (error);
  }
  wait_daemon_state (f, paused, "completed", TRANSFER_MS);
  wait_rows (f, 1);
  wait_page (f, "list");

  /* Search looks at names and addresses, without regard to case. */
  sl_window_set_filter (f->window, SL_WINDOW_FILTER_ALL);
  wait_rows (f, 2);
  sl_window_set_search (f->window, "BETA");
  wait_rows (f, 1);
  g_assert_nonnull (find_row (f, paused));
  sl_window_set_search (f->window, "code=404");
  wait_rows (f, 1);
  g_assert_nonnull (find_row (f, failed));
  sl_window_set_search (f->window, "nothing like it");
  wait_shown (f, 0);
  wait_page (f, "no-results");
  sl_window_set_search (f->window, "");
  wait_rows (f, 2);
}

/* The empty state shows when there is nothing, and goes with the first download. */
static void
test_empty (Fixture       *f,
            gconstpointer  data)
{
  g_autofree char *path = NULL;

  open_window (f);
  wait_page (f, "empty");

  path = add_full (f, "/file?size=10&seed=9", TRUE);
  wait_page (f, "list");
  wait_rows (f, 1);
  remove_download (f, path);
  wait_page (f, "empty");
}

/* Every icon-only button on screen says what it does: a tooltip, and a label for assistive
 * technologies (GTK_A11Y=test keeps the accessible properties where this test can see them). */
static void
check_icon_buttons (GtkWidget *widget,
                    GPtrArray *icons)
{
  const char *icon = NULL;

  if (!gtk_widget_get_mapped (widget) || GTK_IS_WINDOW_CONTROLS (widget))
    return;

  if (GTK_IS_BUTTON (widget) && gtk_button_get_label (GTK_BUTTON (widget)) == NULL)
    icon = gtk_button_get_icon_name (GTK_BUTTON (widget));
  else if (GTK_IS_MENU_BUTTON (widget) && gtk_menu_button_get_label (GTK_MENU_BUTTON (widget)) == NULL)
    icon = gtk_menu_button_get_icon_name (GTK_MENU_BUTTON (widget));

  if (icon != NULL)
    {
      if (gtk_widget_get_tooltip_text (widget) == NULL && !gtk_widget_get_has_tooltip (widget))
        g_error ("The %s button has no tooltip", icon);
      if (!gtk_test_accessible_has_property (GTK_ACCESSIBLE (widget),
                                             GTK_ACCESSIBLE_PROPERTY_LABEL))
        g_error ("The %s button has no accessible label", icon);
      g_ptr_array_add (icons, (gpointer) icon);
    }

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    check_icon_buttons (child, icons);
}

static gboolean
icons_include (GPtrArray  *icons,
               const char *icon)
{
  return g_ptr_array_find_with_equal_func (icons, icon, g_str_equal, NULL);
}

/* The header bar's buttons and those of rows in every state are checked. */
static void
test_icon_buttons (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *running = add_full (f, "/stall?size=100000&after=1000&seed=30", FALSE);
  g_autofree char *paused = add_full (f, "/file?size=1000&seed=31", TRUE);
  g_autofree char *done = add_full (f, "/file?size=1000&seed=32", FALSE);
  g_autofree char *failed = add_full (f, "/status?code=404", FALSE);
  g_autoptr (GPtrArray) icons = g_ptr_array_new ();

  wait_daemon_state (f, running, "running", TRANSFER_MS);
  wait_daemon_state (f, done, "completed", TRANSFER_MS);
  wait_daemon_state (f, failed, "failed", TRANSFER_MS);
  open_window (f);
  wait_rows (f, 4);
  sl_test_run_for (200);

  check_icon_buttons (GTK_WIDGET (f->window), icons);
  /* Header bar, and pause, resume, open, show in folder and refresh link on the rows. */
  g_assert_true (icons_include (icons, "list-add-symbolic"));
  g_assert_true (icons_include (icons, "open-menu-symbolic"));
  g_assert_true (icons_include (icons, "media-playback-pause-symbolic"));
  g_assert_true (icons_include (icons, "media-playback-start-symbolic"));
  g_assert_cmpuint (icons->len, >=, 10);
}

static void
on_name_vanished (GDBusConnection *connection,
                  const char      *name,
                  gpointer         user_data)
{
  *(gboolean *) user_data = TRUE;
}

/* Kills the daemon that owns the name (not the fixture's child) and waits until it is gone. */
static void
kill_daemon (Fixture *f,
             int      signal_number)
{
  GPid pid = sl_test_name_owner_pid (f->connection, BUS_NAME);
  gboolean gone = FALSE;
  guint watch;

  g_assert_cmpint (pid, >, 0);
  g_assert_no_errno (kill (pid, signal_number));
  watch = g_bus_watch_name_on_connection (f->connection, BUS_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                          NULL, on_name_vanished, &gone, NULL);
  sl_test_wait_until (NULL, sl_test_flag_is_set, &gone, START_MS);
  g_bus_unwatch_name (watch);
}

/* Whether a button on screen offers @action. */
static gboolean
shows_action (GtkWidget  *widget,
              const char *action)
{
  if (!gtk_widget_get_mapped (widget))
    return FALSE;
  if (GTK_IS_ACTIONABLE (widget) &&
      g_strcmp0 (gtk_actionable_get_action_name (GTK_ACTIONABLE (widget)), action) == 0)
    return TRUE;

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (shows_action (child, action))
        return TRUE;
    }
  return FALSE;
}

typedef struct
{
  Fixture  *f;
  gboolean  unloaded;   /* the window's list saw the daemon go */
  gboolean  saw_empty;  /* the window said meanwhile that there are no downloads */
} RestartWait;

static gboolean
list_came_back (gpointer data)
{
  RestartWait *wait = data;
  const char *page = sl_window_get_page (wait->f->window);
  gboolean loaded = sl_download_list_get_loaded (wait->f->list);

  if (g_strcmp0 (page, "empty") == 0)
    wait->saw_empty = TRUE;
  if (!loaded)
    wait->unloaded = TRUE;
  return wait->unloaded && loaded && g_strcmp0 (page, "list") == 0;
}

/* Kills the fixture's daemon and waits until the window lost it and shows the list of the
 * daemon it started again, never saying meanwhile that there are no downloads. */
static void
kill_and_wait_restart (Fixture *f)
{
  RestartWait wait = { f, FALSE, FALSE };

  g_subprocess_force_exit (f->daemon);
  if (!sl_test_iterate_until (NULL, list_came_back, &wait, START_MS))
    {
      const GError *error = sl_download_list_get_error (f->list);

      g_error ("The window shows “%s” after the daemon died (%s)",
               sl_window_get_page (f->window), error ? error->message : "no error");
    }
  g_assert_false (wait.saw_empty);
  wait_exit (f->daemon, START_MS);
  g_clear_object (&f->daemon);
}

/* The daemon dies under the window: the window starts it again and shows the downloads the
 * new daemon found in its store, and never says meanwhile that there are none. A daemon that
 * cannot be started again is said so in place of the list, until one comes back. */
static void
test_daemon_restart (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *first = add_full (f, "/file?size=1000&seed=40", TRUE);
  g_autofree char *second = add_full (f, "/file?size=1000&seed=41", TRUE);
  g_autofree char *sluiced = g_strdup (g_getenv ("SLUICED"));
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GError) error = NULL;

  open_window (f);
  wait_rows (f, 2);

  restarted_daemons_use_test_dirs (f);
  kill_and_wait_restart (f);
  wait_rows (f, 2);
  g_assert_nonnull (find_row (f, first));
  g_assert_nonnull (find_row (f, second));

  /* The new daemon works for the window as the first did. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (find_row (f, first)), "download.resume",
                                             NULL));
  wait_daemon_state (f, first, "completed", TRANSFER_MS);

  /* It goes again, and cannot be started: the window says so, and tries again when asked. */
  g_setenv ("SLUICED", "/nonexistent/sluiced", TRUE);
  kill_daemon (f, SIGKILL);
  wait_page (f, "error");
  g_setenv ("SLUICED", sluiced, TRUE);
  sl_test_run_for (100);
  g_assert_true (shows_action (GTK_WIDGET (f->window), "win.retry-connect"));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.retry-connect", NULL));
  wait_page (f, "list");
  wait_rows (f, 2);
  g_assert_false (shows_action (GTK_WIDGET (f->window), "win.retry-connect"));

  /* Once more, and this time a daemon started by other means brings the list back. */
  g_setenv ("SLUICED", "/nonexistent/sluiced", TRUE);
  kill_daemon (f, SIGKILL);
  wait_page (f, "error");
  g_setenv ("SLUICED", sluiced, TRUE);
  launcher = launcher_new (f);
  f->daemon = g_subprocess_launcher_spawn (launcher, &error, sluiced, "--idle-timeout", "600",
                                           NULL);
  g_assert_no_error (error);
  wait_page (f, "list");
  wait_rows (f, 2);

  /* A daemon that keeps going is started again three times in a minute, not a fourth. */
  kill_and_wait_restart (f);
  wait_rows (f, 2);
  kill_daemon (f, SIGKILL);
  wait_page (f, "error");
  g_assert_nonnull (strstr (sl_download_list_get_error (f->list)->message, "4 times"));
  {
    g_autoptr (GVariant) owner = NULL;

    owner = g_dbus_connection_call_sync (f->connection, "org.freedesktop.DBus",
                                         "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                         "GetNameOwner", g_variant_new ("(s)", BUS_NAME), NULL,
                                         G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
    g_assert_null (owner);
  }
}

static AdwMessageDialog *
find_message_dialog (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr (GObject) window = g_list_model_get_item (toplevels, i);

      if (ADW_IS_MESSAGE_DIALOG (window))
        return ADW_MESSAGE_DIALOG (window);
    }
  return NULL;
}

static gboolean
message_dialog_shown (gpointer data)
{
  return find_message_dialog () != NULL;
}

typedef struct
{
  Fixture    *f;
  const char *path;
  const char *uri;
} UriWait;

static gboolean
daemon_uri_is (gpointer data)
{
  UriWait *wait = data;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) value = NULL;

  reply = g_dbus_connection_call_sync (wait->f->connection, BUS_NAME, wait->path,
                                       "org.freedesktop.DBus.Properties", "Get",
                                       g_variant_new ("(ss)", "org.sluice.Downloads.Download1",
                                                      "Uri"),
                                       G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                       NULL);
  if (reply == NULL)
    return FALSE;
  g_variant_get (reply, "(v)", &value);
  return g_strcmp0 (g_variant_get_string (value, NULL), wait->uri) == 0;
}

/* Refresh link asks for the new address, refuses one that is not http(s), and gives the
 * daemon the new one. */
static void
test_refresh_link (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *path = add_full (f, "/file?size=1000&seed=12", TRUE);
  g_autofree char *new_url = sl_test_server_url (f->server, "/file?size=1000&seed=12&mirror=2");
  AdwMessageDialog *dialog;
  GtkWidget *entry;
  UriWait wait = { f, path, new_url };

  open_window (f);
  wait_rows (f, 1);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (find_row (f, path)),
                                             "download.refresh-link", NULL));
  sl_test_wait_until (NULL, message_dialog_shown, NULL, SHORT_MS);
  dialog = find_message_dialog ();
  entry = adw_message_dialog_get_extra_child (dialog);

  gtk_editable_set_text (GTK_EDITABLE (entry), "file:///etc/passwd");
  g_assert_false (adw_message_dialog_get_response_enabled (dialog, "refresh"));
  gtk_editable_set_text (GTK_EDITABLE (entry), new_url);
  g_assert_true (adw_message_dialog_get_response_enabled (dialog, "refresh"));
  adw_message_dialog_response (dialog, "refresh");
  gtk_window_destroy (GTK_WINDOW (dialog));

  if (!sl_test_iterate_until (NULL, daemon_uri_is, &wait, SHORT_MS))
    g_error ("The daemon did not get the new link %s", new_url);
}

static gboolean
file_is_gone (gpointer data)
{
  return !g_file_test (data, G_FILE_TEST_EXISTS);
}

/* Remove and delete asks first; "Cancel" keeps everything, "Delete" takes the row and the
 * file. */
static void
test_remove_and_delete (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *path = add_full (f, "/file?size=5000&seed=13", FALSE);
  g_autofree char *file = g_build_filename (f->downloads, "file", NULL);
  AdwMessageDialog *dialog;

  wait_daemon_state (f, path, "completed", TRANSFER_MS);
  open_window (f);
  wait_rows (f, 1);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (find_row (f, path)),
                                             "download.remove-and-delete", NULL));
  sl_test_wait_until (NULL, message_dialog_shown, NULL, SHORT_MS);
  dialog = find_message_dialog ();
  adw_message_dialog_response (dialog, "cancel");
  gtk_window_destroy (GTK_WINDOW (dialog));
  wait_rows (f, 1);
  sl_test_assert_file_is_entity (file, 13, 5000);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (find_row (f, path)),
                                             "download.remove-and-delete", NULL));
  sl_test_wait_until (NULL, message_dialog_shown, NULL, SHORT_MS);
  dialog = find_message_dialog ();
  adw_message_dialog_response (dialog, "delete");
  gtk_window_destroy (GTK_WINDOW (dialog));
  wait_page (f, "empty");
  sl_test_wait_until (NULL, file_is_gone, file, SHORT_MS);
}

static GtkDropTarget *
find_drop_target (GtkWidget *widget)
{
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (widget);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr (GObject) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_DROP_TARGET (controller))
        return GTK_DROP_TARGET (controller);
    }
  return NULL;
}

/* Copy link puts the address on the clipboard; Ctrl+V (win.paste) adds the links of the
 * clipboard's text, and says so when there are none; so does text dropped on the window. */
static void
test_copy_paste (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *path = add_full (f, "/file?size=1000&seed=14", TRUE);
  g_autofree char *url = sl_test_server_url (f->server, "/file?size=1000&seed=14");
  g_autofree char *other = sl_test_server_url (f->server, "/file?size=1000&seed=15");
  g_autofree char *text = g_strdup_printf ("Get %s and (%s).", url, other);
  GdkClipboard *clipboard;
  ClipboardRead read = { FALSE, NULL };

  open_window (f);
  wait_rows (f, 1);
  clipboard = gtk_widget_get_clipboard (GTK_WIDGET (f->window));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (find_row (f, path)),
                                             "download.copy-link", NULL));
  gdk_clipboard_read_text_async (clipboard, NULL, clipboard_read_cb, &read);
  sl_test_wait_until (NULL, sl_test_flag_is_set, &read.done, SHORT_MS);
  g_assert_cmpstr (read.text, ==, url);
  g_free (read.text);

  gdk_clipboard_set_text (clipboard, "no links here");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.paste", NULL));
  sl_test_run_for (300);
  wait_rows (f, 1);

  gdk_clipboard_set_text (clipboard, text);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.paste", NULL));
  wait_rows (f, 3);

  /* Text dropped on the window, as a browser drops a link: its links are added too. */
  {
    g_autofree char *dropped = sl_test_server_url (f->server, "/file?size=1000&seed=16");
    g_auto (GValue) value = G_VALUE_INIT;
    GtkDropTarget *target = find_drop_target (GTK_WIDGET (f->window));
    gboolean taken = FALSE;

    g_assert_nonnull (target);
    g_value_init (&value, G_TYPE_STRING);
    g_value_set_string (&value, dropped);
    g_signal_emit_by_name (target, "drop", &value, 10.0, 10.0, &taken);
    g_assert_true (taken);
    wait_rows (f, 4);

    /* What is not text is refused, and adds nothing. */
    g_value_unset (&value);
    g_value_init (&value, G_TYPE_INT);
    g_signal_emit_by_name (target, "drop", &value, 10.0, 10.0, &taken);
    g_assert_false (taken);
    sl_test_run_for (300);
    wait_rows (f, 4);
  }
}

/* The desktop's side of notifications and of the file manager, on the test's bus: it takes
 * what the application sends and keeps it for the test, as GNOME Shell and Files would. */

typedef struct
{
  GDBusConnection *connection;
  GPtrArray       *notifications;  /* (ssa{sv}) of each AddNotification */
  GPtrArray       *shown;          /* the URIs of each ShowItems */
  guint            objects[2];
  guint            names[2];
  guint            names_acquired;
} Desktop;

static const char desktop_xml[] =
  "<node>"
  "  <interface name='org.gtk.Notifications'>"
  "    <method name='AddNotification'>"
  "      <arg type='s' direction='in'/><arg type='s' direction='in'/>"
  "      <arg type='a{sv}' direction='in'/>"
  "    </method>"
  "    <method name='RemoveNotification'>"
  "      <arg type='s' direction='in'/><arg type='s' direction='in'/>"
  "    </method>"
  "  </interface>"
  "  <interface name='org.freedesktop.FileManager1'>"
  "    <method name='ShowItems'>"
  "      <arg type='as' direction='in'/><arg type='s' direction='in'/>"
  "    </method>"
  "  </interface>"
  "</node>";

static void
desktop_method_call (GDBusConnection       *connection,
                     const char            *sender,
                     const char            *object_path,
                     const char            *interface_name,
                     const char            *method_name,
                     GVariant              *parameters,
                     GDBusMethodInvocation *invocation,
                     gpointer               user_data)
{
  Desktop *desktop = user_data;

  if (g_str_equal (method_name, "AddNotification"))
    g_ptr_array_add (desktop->notifications, g_variant_ref (parameters));
  else if (g_str_equal (method_name, "ShowItems"))
    {
      g_autofree const char **uris = NULL;

      g_variant_get (parameters, "(^a&s&s)", &uris, NULL);
      for (guint i = 0; uris[i] != NULL; i++)
        g_ptr_array_add (desktop->shown, g_strdup (uris[i]));
    }
  g_dbus_method_invocation_return_value (invocation, NULL);
}

static void
on_desktop_name_acquired (GDBusConnection *connection,
                          const char      *name,
                          gpointer         user_data)
{
  ((Desktop *) user_data)->names_acquired++;
}

static gboolean
desktop_names_acquired (gpointer data)
{
  return ((Desktop *) data)->names_acquired == 2;
}

static void
desktop_start (Fixture *f,
               Desktop *desktop)
{
  static const GDBusInterfaceVTable vtable = { desktop_method_call, NULL, NULL, { 0 } };
  g_autoptr (GDBusNodeInfo) info = g_dbus_node_info_new_for_xml (desktop_xml, NULL);
  g_autoptr (GError) error = NULL;

  desktop->connection = g_object_ref (f->connection);
  desktop->notifications = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  desktop->shown = g_ptr_array_new_with_free_func (g_free);
  desktop->objects[0] = g_dbus_connection_register_object (
    f->connection, "/org/gtk/Notifications", info->interfaces[0], &vtable, desktop, NULL, &error);
  g_assert_no_error (error);
  desktop->objects[1] = g_dbus_connection_register_object (
    f->connection, "/org/freedesktop/FileManager1", info->interfaces[1], &vtable, desktop, NULL,
    &error);
  g_assert_no_error (error);
  desktop->names[0] = g_bus_own_name_on_connection (f->connection, "org.gtk.Notifications",
                                                    G_BUS_NAME_OWNER_FLAGS_NONE,
                                                    on_desktop_name_acquired, NULL, desktop,
                                                    NULL);
  desktop->names[1] = g_bus_own_name_on_connection (f->connection,
                                                    "org.freedesktop.FileManager1",
                                                    G_BUS_NAME_OWNER_FLAGS_NONE,
                                                    on_desktop_name_acquired, NULL, desktop,
                                                    NULL);
  sl_test_wait_until (NULL, desktop_names_acquired, desktop, SHORT_MS);
}

static void
desktop_stop (Desktop *desktop)
{
  for (guint i = 0; i < G_N_ELEMENTS (desktop->names); i++)
    {
      g_bus_unown_name (desktop->names[i]);
      g_dbus_connection_unregister_object (desktop->connection, desktop->objects[i]);
    }
  g_ptr_array_unref (desktop->notifications);
  g_ptr_array_unref (desktop->shown);
  g_object_unref (desktop->connection);
}

typedef struct
{
  GPtrArray *array;
  guint      length;
} LengthWait;

static gboolean
length_is (gpointer data)
{
  LengthWait *wait = data;

  return wait->array->len >= wait->length;
}

/* Waits until @desktop was sent @n notifications, and returns the last as (id, notification). */
static GVariant *
wait_notification (Desktop *desktop,
                   guint    n)
{
  LengthWait wait = { desktop->notifications, n };
  GVariant *parameters;
  const char *app_id;

  if (!sl_test_iterate_until (NULL, length_is, &wait, TRANSFER_MS))
    g_error ("%u notifications, not %u", desktop->notifications->len, n);
  g_assert_cmpuint (desktop->notifications->len, ==, n);

  parameters = desktop->notifications->pdata[n - 1];
  g_variant_get (parameters, "(&s@s@a{sv})", &app_id, NULL, NULL);
  g_assert_cmpstr (app_id, ==, APP_ID);
  return g_variant_new ("(@s@a{sv})", g_variant_get_child_value (parameters, 1),
                        g_variant_get_child_value (parameters, 2));
}

static gboolean
application_loaded (gpointer data)
{
  SlDownloadList *list = sl_application_get_list (data);

  return list != NULL && sl_download_list_get_loaded (list);
}

static gboolean
window_is_active (gpointer data)
{
  return gtk_window_is_active (data);
}

typedef struct
{
  SlApplication *application;
  gboolean       unloaded;  /* the list saw the daemon go */
  gboolean       left;      /* the application left the background meanwhile */
} BackgroundWait;

/* Until the list went and came back, noting whether the application let itself go. */
static gboolean
reloaded_in_background (gpointer data)
{
  BackgroundWait *wait = data;
  gboolean loaded = application_loaded (wait->application);

  if (!sl_application_get_background (wait->application))
    wait->left = TRUE;
  if (!loaded)
    wait->unloaded = TRUE;
  return wait->unloaded && loaded;
}

static gboolean
not_in_background (gpointer data)
{
  return !sl_application_get_background (data);
}

static void
on_call_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  g_assert_no_error (error);
  *(gboolean *) user_data = TRUE;
}

typedef struct
{
  Fixture *f;
  Desktop  desktop;
  gboolean done;
} NotificationsTest;

/* The test, from the application's activation on: g_application_run () runs it, and returns
 * once the application goes by itself. */
static void
run_notifications_test (SlApplication     *application,
                        NotificationsTest *test)
{
  Fixture *f = test->f;
  Desktop *desktop = &test->desktop;
  GtkWindow *window;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) notification = NULL;
  g_autoptr (GVariant) buttons = NULL;
  g_autoptr (GVariant) button = NULL;
  g_autoptr (GVariant) target = NULL;
  g_autofree char *quiet = NULL;
  g_autofree char *stalled = NULL;
  g_autofree char *done = NULL;
  g_autofree char *failed = NULL;
  g_autofree char *done_file = g_build_filename (f->downloads, "report.pdf", NULL);
  g_autofree char *done_uri = g_filename_to_uri (done_file, NULL, NULL);
  const char *id;
  const char *text;
  gboolean called = FALSE;

  sl_test_wait_until (NULL, application_loaded, application, START_MS);
  window = sl_application_get_window (application);
  g_assert_nonnull (window);
  sl_test_wait_until (NULL, window_is_active, window, START_MS);

  /* While the window is in use, it shows the download ending: no notification. */
  quiet = add_full (f, "/file?size=100&seed=20", FALSE);
  wait_daemon_state (f, quiet, "completed", TRANSFER_MS);

  stalled = add_full (f, "/stall?size=100000&after=1000&times=1000", FALSE);
  wait_daemon_state (f, stalled, "running", TRANSFER_MS);
  g_assert_false (sl_application_get_background (application));
  gtk_window_close (window);
  g_assert_null (sl_application_get_window (application));
  g_assert_true (sl_application_get_background (application));

  /* The first notification is this one's: the quiet download had none. */
  done = add_full (f, "/disposition?size=100&seed=21&cd=attachment%3B%20filename%3Dreport.pdf",
                   FALSE);
  notification = wait_notification (desktop, 1);
  g_variant_get (notification, "(&s@a{sv})", &id, NULL);
  g_assert_cmpstr (id, ==, done);
  g_clear_pointer (&notification, g_variant_unref);
  {
    g_autoptr (GVariant) parameters = g_variant_ref (desktop->notifications->pdata[0]);
    g_autoptr (GVariant) fields = g_variant_get_child_value (parameters, 2);
    const char *action;

    g_assert_true (g_variant_lookup (fields, "title", "&s", &text));
    g_assert_cmpstr (text, ==, "Download Complete");
    g_assert_true (g_variant_lookup (fields, "body", "&s", &text));
    g_assert_cmpstr (text, ==, "report.pdf");
    g_assert_true (g_variant_lookup (fields, "default-action", "&s", &text));
    g_assert_cmpstr (text, ==, "app.activate");

    buttons = g_variant_lookup_value (fields, "buttons", G_VARIANT_TYPE ("aa{sv}"));
    g_assert_nonnull (buttons);
    g_assert_cmpuint (g_variant_n_children (buttons), ==, 2);
    button = g_variant_get_child_value (buttons, 0);
    g_assert_true (g_variant_lookup (button, "label", "&s", &text));
    g_assert_cmpstr (text, ==, "Open");
    g_assert_true (g_variant_lookup (button, "action", "&s", &action));
    g_assert_cmpstr (action, ==, "app.open-file");
    target = g_variant_lookup_value (button, "target", G_VARIANT_TYPE_STRING);
    g_assert_cmpstr (g_variant_get_string (target, NULL), ==, done_file);
    g_clear_pointer (&button, g_variant_unref);
    g_clear_pointer (&target, g_variant_unref);

    button = g_variant_get_child_value (buttons, 1);
    g_assert_true (g_variant_lookup (button, "label", "&s", &text));
    g_assert_cmpstr (text, ==, "Show in Folder");
    g_assert_true (g_variant_lookup (button, "action", "&s", &action));
    g_assert_cmpstr (action, ==, "app.show-in-folder");
    target = g_variant_lookup_value (button, "target", G_VARIANT_TYPE_STRING);
    g_assert_cmpstr (g_variant_get_string (target, NULL), ==, done_file);
  }

  failed = add_full (f, "/status?code=404", FALSE);
  notification = wait_notification (desktop, 2);
  {
    g_autoptr (GVariant) fields = NULL;

    g_variant_get (notification, "(&s@a{sv})", &id, &fields);
    g_assert_cmpstr (id, ==, failed);
    g_assert_true (g_variant_lookup (fields, "title", "&s", &text));
    g_assert_cmpstr (text, ==, "Download Failed");
    g_assert_true (g_variant_lookup (fields, "body", "&s", &text));
    g_assert_nonnull (strstr (text, "404 Not Found"));
    g_assert_true (g_variant_lookup (fields, "priority", "&s", &text));
    g_assert_cmpstr (text, ==, "high");
  }

  /* The desktop presses Show in Folder: the file manager is asked to show the file. */
  g_dbus_connection_call (f->connection, APP_ID, "/org/sluice/Sluice",
                          "org.freedesktop.Application", "ActivateAction",
                          g_variant_new ("(s@ava{sv})", "show-in-folder",
                                         g_variant_new_array (G_VARIANT_TYPE_VARIANT,
                                                              (GVariant *[]) {
                                                                g_variant_new_variant (target) },
                                                              1),
                                         NULL),
                          NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, on_call_done, &called);
  g_clear_pointer (&target, g_variant_unref);
  sl_test_wait_until (NULL, sl_test_flag_is_set, &called, SHORT_MS);
  {
    LengthWait wait = { desktop->shown, 1 };

    sl_test_wait_until (NULL, length_is, &wait, SHORT_MS);
    g_assert_cmpuint (desktop->shown->len, ==, 1);
    g_assert_cmpstr (desktop->shown->pdata[0], ==, done_uri);
  }

  /* The daemon dies: the application stays while it starts again, and after, for the download
   * the new daemon resumes. */
  restarted_daemons_use_test_dirs (f);
  g_subprocess_force_exit (f->daemon);
  {
    BackgroundWait wait = { application, FALSE, FALSE };

    sl_test_wait_until (NULL, reloaded_in_background, &wait, START_MS);
    g_assert_false (wait.left);
  }
  wait_exit (f->daemon, START_MS);
  g_clear_object (&f->daemon);
  wait_daemon_state (f, stalled, "running", TRANSFER_MS);
  g_assert_true (sl_application_get_background (application));

  /* Once nothing is under way, the application goes; a canceled download is not told of. */
  {
    g_autoptr (GVariant) reply = NULL;

    reply = g_dbus_connection_call_sync (f->connection, BUS_NAME, stalled,
                                         "org.sluice.Downloads.Download1", "Cancel", NULL,
                                         NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
    g_assert_no_error (error);
  }
  sl_test_wait_until (NULL, not_in_background, application, SHORT_MS);
  g_assert_cmpuint (desktop->notifications->len, ==, 2);
  test->done = TRUE;
}

G_NORETURN static gboolean
application_stays (gpointer data)
{
  g_error ("The application stayed after its last download ended");
}

/* A download that ends while the window is not in use is told of (GNotification): a completed
 * one with Open and Show in Folder, a failed one with its error; none while the window is in
 * use. Closing the window leaves the application in the background while a download is under
 * way; it goes by itself once none is. The notification's buttons work when the desktop
 * presses them. */
static void
test_notifications (Fixture       *f,
                    gconstpointer  data)
{
  NotificationsTest test = { f, { 0, }, FALSE };
  SlApplication *application;
  guint guard;

  desktop_start (f, &test.desktop);
  application = sl_application_new ();
  g_signal_connect_after (application, "activate", G_CALLBACK (run_notifications_test), &test);
  guard = g_timeout_add_seconds (TRANSFER_MS / 1000 * 3, application_stays, NULL);
  g_assert_cmpint (g_application_run (G_APPLICATION (application), 0, NULL), ==, 0);
  g_source_remove (guard);
  g_assert_true (test.done);

  g_assert_finalize_object (application);
  desktop_stop (&test.desktop);
  /* The daemon the application started again. */
  kill_daemon (f, SIGTERM);
}

static gboolean
max_active_is_7 (gpointer data)
{
  return sl_dbus_manager1_get_max_active (data) == 7;
}

/* `sluice URL` from a second process reaches the first, which adds it through the daemon;
 * the second leaves at once, and the first stays until told to quit. The first also gives
 * the daemon its preferred maximum of active downloads. */
static void
test_second_instance (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr (GSubprocessLauncher) launcher = launcher_new (f);
  g_autoptr (GSubprocess) first = NULL;
  g_autoptr (GSubprocess) second = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autofree char *url = sl_test_server_url (f->server, "/file?size=1000&seed=10");
  g_autoptr (GVariant) objects = NULL;
  g_autoptr (GVariant) managed = NULL;
  gboolean found = FALSE;
  GVariantIter iter;
  const char *object_path;

  /* A GTK program leaves its font and theme caches to the end of the process; the window's
   * own objects are checked for leaks in this process instead. */
  g_subprocess_launcher_setenv (launcher, "ASAN_OPTIONS", "detect_leaks=0", TRUE);

  /* Preferences in a settings file, as on a desktop: the maximum of active downloads
   * reaches the daemon. */
  {
    g_autofree char *dir = g_build_filename (g_get_user_config_dir (), "glib-2.0", "settings",
                                             NULL);
    g_autofree char *keyfile = g_build_filename (dir, "keyfile", NULL);

    g_assert_no_errno (g_mkdir_with_parents (dir, 0700));
    g_file_set_contents (keyfile, "[org/sluice/Sluice]\nmax-active-downloads=7\n", -1, &error);
    g_assert_no_error (error);
    g_subprocess_launcher_setenv (launcher, "GSETTINGS_BACKEND", "keyfile", TRUE);
  }
  g_assert_cmpuint (sl_dbus_manager1_get_max_active (f->manager), ==, 3);

  first = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("SLUICE"), NULL);
  g_assert_no_error (error);
  wait_for_name (f->connection, APP_ID);

  sl_test_wait_until (NULL, max_active_is_7, f->manager, START_MS);

  second = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("SLUICE"), url, NULL);
  g_assert_no_error (error);
  wait_exit (second, START_MS);
  g_assert_true (g_subprocess_get_successful (second));
  g_assert_nonnull (g_subprocess_get_identifier (first));

  /* The download is in the daemon, added by the first instance. */
  for (guint i = 0; i < 100 && !found; i++)
    {
      g_clear_pointer (&reply, g_variant_unref);
      reply = g_dbus_connection_call_sync (f->connection, BUS_NAME, MANAGER_PATH,
                                           "org.freedesktop.DBus.ObjectManager",
                                           "GetManagedObjects", NULL, NULL,
                                           G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
      g_assert_no_error (error);
      g_clear_pointer (&objects, g_variant_unref);
      objects = g_variant_get_child_value (reply, 0);
      g_variant_iter_init (&iter, objects);
      while (g_variant_iter_next (&iter, "{&o@a{sa{sv}}}", &object_path, &managed))
        {
          g_autoptr (GVariant) props = g_variant_lookup_value (managed,
                                                               "org.sluice.Downloads.Download1",
                                                               NULL);
          const char *uri = NULL;

          if (props && g_variant_lookup (props, "Uri", "&s", &uri) && g_str_equal (uri, url))
            found = TRUE;
          g_clear_pointer (&managed, g_variant_unref);
        }
      if (!found)
        {
          gboolean never = FALSE;

          sl_test_iterate_until (NULL, sl_test_flag_is_set, &never, 50);
        }
    }
  g_assert_true (found);

  /* Quitting the window leaves the daemon running. */
  reply = g_dbus_connection_call_sync (f->connection, APP_ID, "/org/sluice/Sluice",
                                       "org.gtk.Actions", "Activate",
                                       g_variant_new ("(sava{sv})", "quit", NULL, NULL), NULL,
                                       G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  g_assert_no_error (error);
  wait_exit (first, START_MS);
  g_assert_true (g_subprocess_get_successful (first));
  g_assert_nonnull (g_subprocess_get_identifier (f->daemon));
}

/* The daemon's own word on a property of the object at @path. */
static GVariant *
daemon_property (Fixture    *f,
                 const char *path,
                 const char *iface,
                 const char *property)
{
  g_autoptr (GVariant) reply = NULL;
  GVariant *value = NULL;

  reply = g_dbus_connection_call_sync (f->connection, BUS_NAME, path,
                                       "org.freedesktop.DBus.Properties", "Get",
                                       g_variant_new ("(ss)", iface, property),
                                       G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                       NULL);
  if (reply == NULL)
    return NULL;
  g_variant_get (reply, "(v)", &value);
  return value;
}

/* Another client sets a property, as `gdbus` or `sluicectl` would. */
static void
daemon_set_property (Fixture    *f,
                     const char *path,
                     const char *iface,
                     const char *property,
                     GVariant   *value)
{
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;

  reply = g_dbus_connection_call_sync (f->connection, BUS_NAME, path,
                                       "org.freedesktop.DBus.Properties", "Set",
                                       g_variant_new ("(ssv)", iface, property, value), NULL,
                                       G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  g_assert_no_error (error);
}

typedef struct
{
  Fixture    *f;
  const char *path;
  const char *iface;
  const char *property;
  GVariant   *value;
} PropertyWait;

static gboolean
daemon_property_is (gpointer data)
{
  PropertyWait *wait = data;
  g_autoptr (GVariant) value = daemon_property (wait->f, wait->path, wait->iface,
                                                wait->property);

  return value != NULL && g_variant_equal (value, wait->value);
}

/* Waits until the daemon's @property of @path is @value (floating, taken). */
static void
wait_daemon_property (Fixture    *f,
                      const char *path,
                      const char *iface,
                      const char *property,
                      GVariant   *value)
{
  g_autoptr (GVariant) wanted = g_variant_ref_sink (value);
  PropertyWait wait = { f, path, iface, property, wanted };

  if (!sl_test_iterate_until (NULL, daemon_property_is, &wait, SHORT_MS))
    {
      g_autoptr (GVariant) now = daemon_property (f, path, iface, property);
      g_autofree char *now_text = now ? g_variant_print (now, TRUE) : g_strdup ("nothing");
      g_autofree char *wanted_text = g_variant_print (wanted, TRUE);

      g_error ("The daemon's %s of %s is %s, not %s", property, path, now_text, wanted_text);
    }
}

#define MANAGER_IFACE  "org.sluice.Downloads.Manager1"

typedef struct
{
  SlPreferencesWindow *prefs;
  gboolean             limited;
  double               kb_per_second;  /* when limited */
  double               per_host;
} LimitsWait;

static gboolean
prefs_show_limits (gpointer data)
{
  LimitsWait *wait = data;
  GtkWidget *widget = GTK_WIDGET (wait->prefs);
  GtkWidget *speed_row = GTK_WIDGET (gtk_widget_get_template_child (widget,
                                                                    SL_TYPE_PREFERENCES_WINDOW,
                                                                    "speed_row"));
  GtkAdjustment *speed = GTK_ADJUSTMENT (gtk_widget_get_template_child (
    widget, SL_TYPE_PREFERENCES_WINDOW, "max_speed_adjustment"));
  GtkAdjustment *per_host = GTK_ADJUSTMENT (gtk_widget_get_template_child (
    widget, SL_TYPE_PREFERENCES_WINDOW, "max_per_host_adjustment"));

  return gtk_widget_is_sensitive (speed_row) &&
         adw_expander_row_get_enable_expansion (ADW_EXPANDER_ROW (speed_row)) == wait->limited &&
         (!wait->limited || gtk_adjustment_get_value (speed) == wait->kb_per_second) &&
         gtk_adjustment_get_value (per_host) == wait->per_host;
}

static void
wait_prefs_limits (SlPreferencesWindow *prefs,
                   gboolean             limited,
                   double               kb_per_second,
                   double               per_host)
{
  LimitsWait wait = { prefs, limited, kb_per_second, per_host };

  sl_test_wait_until (NULL, prefs_show_limits, &wait, SHORT_MS);
}

typedef struct
{
  AdwComboRow *row;
  guint        selected;
} SelectedWait;

static gboolean
combo_selected (gpointer data)
{
  SelectedWait *wait = data;

  return adw_combo_row_get_selected (wait->row) == wait->selected;
}

static void
wait_combo_selected (GtkWidget *row,
                     guint      selected)
{
  SelectedWait wait = { ADW_COMBO_ROW (row), selected };

  if (!sl_test_iterate_until (NULL, combo_selected, &wait, SHORT_MS))
    g_error ("The row shows item %u, not %u", adw_combo_row_get_selected (wait.row), selected);
}

static gboolean
widget_is_insensitive (gpointer data)
{
  return !gtk_widget_is_sensitive (data);
}

/* The preferences show the daemon's speed limit and connections per server, when opened and
 * as any client changes them, and set them on the daemon; a daemon that died and came back
 * shows the limits it kept. */
static void
test_preferences_limits (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr (GSettings) settings = g_settings_new ("org.sluice.Sluice");
  SlPreferencesWindow *prefs;
  GtkWidget *speed_row;
  GtkAdjustment *speed;
  GtkAdjustment *per_host;
  GtkWidget *connections_row;

  daemon_set_property (f, MANAGER_PATH, MANAGER_IFACE, "MaxSpeed",
                       g_variant_new_uint64 (1500000));
  open_window (f);

  /* GTK owns the window; the test's own reference sees it finalised. */
  prefs = g_object_ref (sl_preferences_window_new (GTK_WINDOW (f->window), settings, f->list));
  gtk_window_present (GTK_WINDOW (prefs));
  speed_row = GTK_WIDGET (gtk_widget_get_template_child (GTK_WIDGET (prefs),
                                                         SL_TYPE_PREFERENCES_WINDOW,
                                                         "speed_row"));
  speed = GTK_ADJUSTMENT (gtk_widget_get_template_child (GTK_WIDGET (prefs),
                                                         SL_TYPE_PREFERENCES_WINDOW,
                                                         "max_speed_adjustment"));
  per_host = GTK_ADJUSTMENT (gtk_widget_get_template_child (GTK_WIDGET (prefs),
                                                            SL_TYPE_PREFERENCES_WINDOW,
                                                            "max_per_host_adjustment"));
  connections_row = GTK_WIDGET (gtk_widget_get_template_child (GTK_WIDGET (prefs),
                                                               SL_TYPE_PREFERENCES_WINDOW,
                                                               "connections_row"));
  wait_prefs_limits (prefs, TRUE, 1500, 8);
  /* Connections per download: automatic, or 1 to 16, both ways. */
  wait_combo_selected (connections_row, 0);
  adw_combo_row_set_selected (ADW_COMBO_ROW (connections_row), 4);
  wait_daemon_property (f, MANAGER_PATH, MANAGER_IFACE, "DefaultConnections",
                        g_variant_new_uint32 (4));
  daemon_set_property (f, MANAGER_PATH, MANAGER_IFACE, "DefaultConnections",
                       g_variant_new_uint32 (16));
  wait_combo_selected (connections_row, 16);
  adw_combo_row_set_selected (ADW_COMBO_ROW (connections_row), 0);
  wait_daemon_property (f, MANAGER_PATH, MANAGER_IFACE, "DefaultConnections",
                        g_variant_new_uint32 (0));

  /* The person sets them: they reach the daemon. */
  gtk_adjustment_set_value (speed, 2500);
  wait_daemon_property (f, MANAGER_PATH, MANAGER_IFACE, "MaxSpeed",
                        g_variant_new_uint64 (2500000));
  gtk_adjustment_set_value (per_host, 4);
  wait_daemon_property (f, MANAGER_PATH, MANAGER_IFACE, "MaxPerHost", g_variant_new_uint32 (4));
  adw_expander_row_set_enable_expansion (ADW_EXPANDER_ROW (speed_row), FALSE);
  wait_daemon_property (f, MANAGER_PATH, MANAGER_IFACE, "MaxSpeed", g_variant_new_uint64 (0));
  /* Turned on again, the limit is the one shown last. */
  adw_expander_row_set_enable_expansion (ADW_EXPANDER_ROW (speed_row), TRUE);
  wait_daemon_property (f, MANAGER_PATH, MANAGER_IFACE, "MaxSpeed",
                        g_variant_new_uint64 (2500000));

  /* Another client changes them: the page follows. */
  daemon_set_property (f, MANAGER_PATH, MANAGER_IFACE, "MaxSpeed",
                       g_variant_new_uint64 (750000));
  wait_prefs_limits (prefs, TRUE, 750, 4);
  daemon_set_property (f, MANAGER_PATH, MANAGER_IFACE, "MaxPerHost", g_variant_new_uint32 (12));
  daemon_set_property (f, MANAGER_PATH, MANAGER_IFACE, "MaxSpeed", g_variant_new_uint64 (0));
  wait_prefs_limits (prefs, FALSE, 0, 12);
  /* Showing the daemon's values, rounded to kB/s, sends nothing back. */
  daemon_set_property (f, MANAGER_PATH, MANAGER_IFACE, "MaxSpeed",
                       g_variant_new_uint64 (1234567));
  wait_prefs_limits (prefs, TRUE, 1235, 12);
  sl_test_run_for (100);
  {
    g_autoptr (GVariant) value = daemon_property (f, MANAGER_PATH, MANAGER_IFACE, "MaxSpeed");

    g_assert_cmpuint (g_variant_get_uint64 (value), ==, 1234567);
  }

  /* The daemon goes: nothing can be set until it is back, with the limits it kept. */
  restarted_daemons_use_test_dirs (f);
  kill_daemon (f, SIGTERM);
  sl_test_wait_until (NULL, widget_is_insensitive, speed_row, SHORT_MS);
  wait_exit (f->daemon, START_MS);
  g_clear_object (&f->daemon);
  wait_prefs_limits (prefs, TRUE, 1235, 12);
  gtk_adjustment_set_value (speed, 400);
  wait_daemon_property (f, MANAGER_PATH, MANAGER_IFACE, "MaxSpeed",
                        g_variant_new_uint64 (400000));

  gtk_window_destroy (GTK_WINDOW (prefs));
  g_assert_finalize_object (prefs);
  /* The daemon the window started again, once the window is gone: it would start another. */
  gtk_window_destroy (GTK_WINDOW (f->window));
  g_assert_finalize_object (g_steal_pointer (&f->window));
  g_assert_finalize_object (g_steal_pointer (&f->list));
  kill_daemon (f, SIGTERM);
}

/* A row's own words */

#define DOWNLOAD_IFACE "org.sluice.Downloads.Download1"

static GtkWidget *
row_status_label (SlDownloadRow *row)
{
  return GTK_WIDGET (gtk_widget_get_template_child (GTK_WIDGET (row), SL_TYPE_DOWNLOAD_ROW,
                                                    "status_label"));
}

/* The status line, with the no-break spaces of sizes as plain ones. */
static char *
row_status (SlDownloadRow *row)
{
  g_autoptr (GString) text = g_string_new (gtk_label_get_text (GTK_LABEL (row_status_label (row))));

  g_string_replace (text, "\u00a0", " ", 0);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

typedef struct
{
  SlDownloadRow *row;
  const char    *prefix;
} StatusWait;

static gboolean
row_status_starts_with (gpointer data)
{
  StatusWait *wait = data;
  g_autofree char *status = row_status (wait->row);

  return g_str_has_prefix (status, wait->prefix);
}

/* Waits until @row's status line starts with @prefix (or is it). */
static void
wait_row_status (SlDownloadRow *row,
                 const char    *prefix)
{
  StatusWait wait = { row, prefix };

  if (!sl_test_iterate_until (NULL, row_status_starts_with, &wait, SHORT_MS))
    {
      g_autofree char *status = row_status (row);

      g_error ("The row says “%s”, not “%s”", status, prefix);
    }
}

static gboolean
shows_label (GtkWidget  *widget,
             const char *text)
{
  if (GTK_IS_LABEL (widget) && gtk_widget_get_mapped (widget) &&
      g_strcmp0 (gtk_label_get_text (GTK_LABEL (widget)), text) == 0)
    return TRUE;

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (shows_label (child, text))
        return TRUE;
    }
  return FALSE;
}

/* Whether @row's context menu, as the Menu key opens it, offers @item (its label without the
 * mnemonic's underline). */
static gboolean
menu_offers (SlDownloadRow *row,
             const char    *item)
{
  GtkPopover *popover;
  gboolean offered;

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (row), "download.context-menu", NULL));
  sl_test_wait_until (NULL, row_popover_is_mapped, row, SHORT_MS);
  popover = row_popover (row);
  offered = shows_label (GTK_WIDGET (popover), item);
  gtk_popover_popdown (popover);
  sl_test_wait_until (NULL, row_popover_is_hidden, row, SHORT_MS);
  return offered;
}

/* Limit Speed… asks for a download's own limit, starting from the one it has, and gives it to
 * the daemon; No Limit takes it off. The row says it is limited. */
static void
test_limit_speed (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *done = add_full (f, "/file?size=1000&seed=50", FALSE);
  g_autofree char *path = NULL;
  AdwMessageDialog *dialog;
  GtkWidget *spin;
  SlDownloadRow *row;

  wait_daemon_state (f, done, "completed", TRANSFER_MS);
  path = add_full (f, "/file?size=1000&seed=51", TRUE);
  open_window (f);
  wait_rows (f, 2);
  row = find_row (f, path);
  wait_row_status (row, "Paused");

  /* Offered for a download that has not ended, not for one that has. */
  g_assert_true (menu_offers (row, "Limit Speed…"));
  g_assert_false (menu_offers (find_row (f, done), "Limit Speed…"));

  /* What is typed counts, even before the spin button took it. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (row), "download.limit-speed", NULL));
  sl_test_wait_until (NULL, message_dialog_shown, NULL, SHORT_MS);
  dialog = find_message_dialog ();
  g_assert_false (adw_message_dialog_get_response_enabled (dialog, "no-limit"));
  spin = find_child_of_type (adw_message_dialog_get_extra_child (dialog),
                             GTK_TYPE_SPIN_BUTTON);
  g_assert_nonnull (spin);
  g_assert_cmpfloat (gtk_spin_button_get_value (GTK_SPIN_BUTTON (spin)), ==, 1000);
  gtk_editable_set_text (GTK_EDITABLE (spin), "250");
  adw_message_dialog_response (dialog, "limit");
  gtk_window_destroy (GTK_WINDOW (dialog));
  wait_daemon_property (f, path, DOWNLOAD_IFACE, "SpeedLimit", g_variant_new_uint64 (250000));
  wait_row_status (row, "Paused · limited to 250.0 kB/s");

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (row), "download.limit-speed", NULL));
  sl_test_wait_until (NULL, message_dialog_shown, NULL, SHORT_MS);
  dialog = find_message_dialog ();
  spin = find_child_of_type (adw_message_dialog_get_extra_child (dialog),
                             GTK_TYPE_SPIN_BUTTON);
  g_assert_cmpfloat (gtk_spin_button_get_value (GTK_SPIN_BUTTON (spin)), ==, 250);
  g_assert_true (adw_message_dialog_get_response_enabled (dialog, "no-limit"));
  adw_message_dialog_response (dialog, "no-limit");
  gtk_window_destroy (GTK_WINDOW (dialog));
  wait_daemon_property (f, path, DOWNLOAD_IFACE, "SpeedLimit", g_variant_new_uint64 (0));
  {
    g_autofree char *status = NULL;

    wait_row_status (row, "Paused");
    sl_test_run_for (100);
    status = row_status (row);
    g_assert_cmpstr (status, ==, "Paused");
  }
}

/* Changes byte @offset of the file at @path. */
static void
change_byte (const char *path,
             gsize       offset)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize length;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (offset, <, length);
  contents[offset] ^= 0x01;
  g_file_set_contents (path, contents, length, &error);
  g_assert_no_error (error);
}

static gboolean
has_css_class (gpointer data)
{
  return gtk_widget_has_css_class (data, "error");
}

static gboolean
lacks_css_class (gpointer data)
{
  return !gtk_widget_has_css_class (data, "error");
}

/* Verify Checksum is offered for a completed download with a checksum; the daemon reads the
 * file again, and the row says what it found: a changed byte as an error with both digests,
 * until the file matches again. */
static void
test_verify (Fixture       *f,
             gconstpointer  data)
{
  g_autofree char *sha256 = sl_test_entity_sha256 (60, 5000);
  g_autofree char *checksum = g_strconcat ("sha256=", sha256, NULL);
  g_autofree char *path = add_checked (f, "/file?size=5000&seed=60", FALSE, checksum);
  g_autofree char *file = g_build_filename (f->downloads, "file", NULL);
  g_autofree char *plain = NULL;
  g_autofree char *status = NULL;
  SlDownloadRow *row;

  wait_daemon_state (f, path, "completed", TRANSFER_MS);
  plain = add_full (f, "/file?size=5000&seed=61", FALSE);
  wait_daemon_state (f, plain, "completed", TRANSFER_MS);
  open_window (f);
  wait_rows (f, 2);
  row = find_row (f, path);

  /* Checked before it got its name. */
  wait_row_status (row, "Done — 5.0 kB — Checksum verified");
  g_assert_true (menu_offers (row, "Verify Checksum"));
  g_assert_false (menu_offers (find_row (f, plain), "Verify Checksum"));

  change_byte (file, 1234);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (row), "download.verify", NULL));
  wait_row_status (row, "Checksum does not match: ");
  sl_test_wait_until (NULL, has_css_class, row_status_label (row), SHORT_MS);
  status = row_status (row);
  g_assert_nonnull (strstr (status, sha256));
  g_assert_nonnull (strstr (status, "got "));
  {
    g_autoptr (GVariant) state = daemon_property (f, path, DOWNLOAD_IFACE, "ChecksumState");

    g_assert_cmpstr (g_variant_get_string (state, NULL), ==, "mismatch");
  }

  /* The file as it was: verified again. */
  change_byte (file, 1234);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (row), "download.verify", NULL));
  wait_row_status (row, "Done — 5.0 kB — Checksum verified");
  sl_test_wait_until (NULL, lacks_css_class, row_status_label (row), SHORT_MS);
  sl_test_assert_file_is_entity (file, 60, 5000);
}

/* The Browser Integration page of the preferences: a row per browser with its state, and
 * Set Up writing the manifests under the test's home folder, as `sluicectl browser install`
 * does. No daemon is needed for it. */

typedef struct
{
  AdwActionRow *row;
  const char   *subtitle;
} RowWait;

static gboolean
row_subtitle_is (gpointer data)
{
  RowWait *wait = data;

  return g_strcmp0 (adw_action_row_get_subtitle (wait->row), wait->subtitle) == 0;
}

static void
wait_row_subtitle (AdwActionRow *row,
                   const char   *subtitle)
{
  RowWait wait = { row, subtitle };

  if (!sl_test_iterate_until (NULL, row_subtitle_is, &wait, SHORT_MS))
    g_error ("the row of %s says “%s”, not “%s”",
             adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)),
             adw_action_row_get_subtitle (row), subtitle);
}

static AdwActionRow *
browser_row (GtkWidget  *list,
             const char *id)
{
  for (GtkWidget *child = gtk_widget_get_first_child (list); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (g_strcmp0 (gtk_widget_get_name (child), id) == 0)
      return ADW_ACTION_ROW (child);

  g_error ("no row for %s", id);
  return NULL;
}

static void
assert_manifest_names (const char *path,
                       const char *host)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SlBrowserManifest) manifest = sl_browser_manifest_load (path, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (manifest->name, ==, "org.sluice.browser_host");
  g_assert_cmpstr (manifest->path, ==, host);
}

static void
test_preferences_browsers (void)
{
  g_autoptr (GSettings) settings = g_settings_new ("org.sluice.Sluice");
  g_autoptr (GError) error = NULL;
  g_autofree char *bin = g_build_filename (g_get_user_cache_dir (), "bin", NULL);
  g_autofree char *host = g_build_filename (bin, "sluice-browser-host", NULL);
  g_autofree char *firefox = g_build_filename (g_get_home_dir (), ".mozilla",
                                               "native-messaging-hosts",
                                               "org.sluice.browser_host.json", NULL);
  g_autofree char *chromium = g_build_filename (g_get_user_config_dir (), "chromium",
                                                "NativeMessagingHosts",
                                                "org.sluice.browser_host.json", NULL);
  g_autofree char *vivaldi = g_build_filename (g_get_user_config_dir (), "vivaldi", NULL);
  g_autofree char *saved_host = g_strdup (g_getenv ("SLUICE_BROWSER_HOST"));
  SlPreferencesWindow *prefs;
  AdwPreferencesPage *page;
  GtkWidget *list;
  GtkWidget *child;
  const SlManifestLocation *locations;
  g_autoptr (GPtrArray) browsers = g_ptr_array_new ();
  gsize n_locations;
  guint n_rows = 0;

  /* A stand-in for the host, which the manifests name. */
  g_assert_no_errno (g_mkdir_with_parents (bin, 0700));
  g_file_set_contents (host, "#!/bin/sh\nexit 0\n", -1, &error);
  g_assert_no_error (error);
  g_assert_no_errno (g_chmod (host, 0755));
  g_setenv ("SLUICE_BROWSER_HOST", host, TRUE);

  /* GTK owns the window; the test's own reference sees it finalised. */
  prefs = g_object_ref (sl_preferences_window_new (NULL, settings, NULL));
  gtk_window_present (GTK_WINDOW (prefs));

  adw_preferences_window_set_visible_page_name (ADW_PREFERENCES_WINDOW (prefs), "browsers");
  page = adw_preferences_window_get_visible_page (ADW_PREFERENCES_WINDOW (prefs));
  g_assert_nonnull (page);
  g_assert_cmpstr (adw_preferences_page_get_title (page), ==, "Browser Integration");
  /* Without the daemon's list, its limits cannot be set. */
  g_assert_false (gtk_widget_is_sensitive (GTK_WIDGET (
    gtk_widget_get_template_child (GTK_WIDGET (prefs), SL_TYPE_PREFERENCES_WINDOW, "speed_row"))));

  /* A row per browser of the user's folders, in the order of the table. */
  locations = sl_manifest_locations (&n_locations);
  for (gsize i = 0; i < n_locations; i++)
    if (locations[i].scope == SL_MANIFEST_SCOPE_USER)
      g_ptr_array_add (browsers, (gpointer) locations[i].browser);
  g_assert_cmpuint (browsers->len, ==, 7);
  list = GTK_WIDGET (gtk_widget_get_template_child (GTK_WIDGET (prefs),
                                                    SL_TYPE_PREFERENCES_WINDOW, "browser_list"));
  for (child = gtk_widget_get_first_child (list); child != NULL;
       child = gtk_widget_get_next_sibling (child), n_rows++)
    {
      g_assert_true (ADW_IS_ACTION_ROW (child));
      g_assert_cmpuint (n_rows, <, browsers->len);
      g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (child)), ==,
                       g_ptr_array_index (browsers, n_rows));
    }
  g_assert_cmpuint (n_rows, ==, browsers->len);

  /* Nothing is set up yet; Firefox and Chromium are set up even before they have run. */
  wait_row_subtitle (browser_row (list, "firefox"), "Not set up");
  wait_row_subtitle (browser_row (list, "chromium"), "Not set up");
  wait_row_subtitle (browser_row (list, "vivaldi"), "Not found on this computer");
  g_assert_false (g_file_test (firefox, G_FILE_TEST_EXISTS));

  gtk_widget_activate_action (GTK_WIDGET (prefs), "preferences.set-up-browsers", NULL);
  wait_row_subtitle (browser_row (list, "firefox"), "Set up");
  wait_row_subtitle (browser_row (list, "chromium"), "Set up");
  wait_row_subtitle (browser_row (list, "vivaldi"), "Not found on this computer");
  assert_manifest_names (firefox, host);
  assert_manifest_names (chromium, host);
  g_assert_false (g_file_test (vivaldi, G_FILE_TEST_EXISTS));

  /* Out of date, as the page shows it once opened again; Repair rewrites it. */
  g_file_set_contents (firefox, "{}", -1, &error);
  g_assert_no_error (error);
  gtk_window_destroy (GTK_WINDOW (prefs));
  g_assert_finalize_object (prefs);

  /* GTK owns the window; the test's own reference sees it finalised. */
  prefs = g_object_ref (sl_preferences_window_new (NULL, settings, NULL));
  gtk_window_present (GTK_WINDOW (prefs));
  list = GTK_WIDGET (gtk_widget_get_template_child (GTK_WIDGET (prefs),
                                                    SL_TYPE_PREFERENCES_WINDOW, "browser_list"));
  wait_row_subtitle (browser_row (list, "firefox"), "Out of date");
  wait_row_subtitle (browser_row (list, "chromium"), "Set up");
  gtk_widget_activate_action (GTK_WIDGET (prefs), "preferences.set-up-browsers", NULL);
  wait_row_subtitle (browser_row (list, "firefox"), "Set up");
  assert_manifest_names (firefox, host);

  gtk_window_destroy (GTK_WINDOW (prefs));
  g_assert_finalize_object (prefs);
  if (saved_host != NULL)
    g_setenv ("SLUICE_BROWSER_HOST", saved_host, TRUE);
  else
    g_unsetenv ("SLUICE_BROWSER_HOST");
}

int
main (int   argc,
      char *argv[])
{
  start_xvfb ();
  g_setenv ("GDK_BACKEND", "x11", TRUE);
  g_setenv ("LANGUAGE", "C", TRUE);

  /* The MIME database stays the system's, although each test gets its own data folders:
   * images and icons are recognised by it. */
  system_data_dirs = g_strjoinv (":", (char **) g_get_system_data_dirs ());
  {
    g_autoptr (GPtrArray) dirs = g_ptr_array_new_with_free_func (g_free);
    const char * const *system = g_get_system_data_dirs ();

    for (guint i = 0; system[i] != NULL; i++)
      g_ptr_array_add (dirs, g_build_filename (system[i], "mime", NULL));
    g_ptr_array_add (dirs, NULL);
    g_content_type_set_mime_dirs ((const char * const *) dirs->pdata);
  }

  /* Not gtk_test_init (), which drops the options: each test gets its own data folders. */
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  gtk_disable_setlocale ();
  setlocale (LC_ALL, "C.UTF-8");
  gtk_init ();
  adw_init ();

#define ADD_TEST(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD_TEST ("/window/rows", test_rows);
  ADD_TEST ("/window/pause-resume", test_pause_resume);
  ADD_TEST ("/window/row-keys", test_row_keys);
  ADD_TEST ("/window/add-dialog", test_add_dialog);
  ADD_TEST ("/window/add-dialog-focus", test_add_dialog_focus);
  ADD_TEST ("/window/filter-search", test_filter_search);
  ADD_TEST ("/window/empty", test_empty);
  ADD_TEST ("/window/icon-buttons", test_icon_buttons);
  ADD_TEST ("/window/daemon-restart", test_daemon_restart);
  ADD_TEST ("/window/refresh-link", test_refresh_link);
  ADD_TEST ("/window/remove-and-delete", test_remove_and_delete);
  ADD_TEST ("/window/copy-paste-drop", test_copy_paste);
  ADD_TEST ("/window/notifications", test_notifications);
  ADD_TEST ("/window/second-instance", test_second_instance);
  ADD_TEST ("/window/preferences-limits", test_preferences_limits);
  ADD_TEST ("/window/limit-speed", test_limit_speed);
  ADD_TEST ("/window/verify", test_verify);
  g_test_add_func ("/window/preferences-browsers", test_preferences_browsers);

#undef ADD_TEST

  return g_test_run ();
}
