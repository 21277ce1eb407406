/* main.c
 *
 * sluice-browser-host: the native-messaging host that browsers start for the Sluice
 * extension. It reads length-prefixed JSON messages on stdin, answers each on stdout, and
 * hands downloads to sluiced over D-Bus. It serves a long-lived port (many messages, one
 * process) and a one-shot message (one message, then stdin closes) alike: each message is
 * answered as soon as it is read, and the end of stdin ends the process.
 *
 * Nothing but frames may reach stdout, and a browser shows nothing of stderr, so diagnostics
 * go to $XDG_STATE_HOME/sluice/browser-host.log.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "sl-browser-manifest.h"
#include "sl-host-daemon.h"
#include "sl-native-message.h"

/* Past this size the log is moved aside to browser-host.log.old when the host starts. */
#define LOG_MAX_BYTES (1024 * 1024)

#define READ_CHUNK_BYTES (64 * 1024)

typedef struct
{
  int              out_fd;   /* the browser's end; stdout itself points at /dev/null */
  GDBusConnection *bus;      /* opened on first use, again if it closes */
} Host;

static char *
log_path (void)
{
  return g_build_filename (g_get_user_state_dir (), "sluice", "browser-host.log", NULL);
}

/* Points stderr at the log, so that GLib's own warnings land there too. */
static void
open_log (void)
{
  g_autofree char *path = log_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  GStatBuf st;
  int fd;

  g_mkdir_with_parents (dir, 0700);
  if (g_stat (path, &st) == 0 && st.st_size > LOG_MAX_BYTES)
    {
      g_autofree char *old = g_strconcat (path, ".old", NULL);

      g_rename (path, old);
    }

  fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0)
    fd = open ("/dev/null", O_WRONLY | O_CLOEXEC);
  if (fd >= 0 && fd != STDERR_FILENO)
    {
      dup2 (fd, STDERR_FILENO);
      close (fd);
    }
}

static void host_log (const char *format,
                      ...) G_GNUC_PRINTF (1, 2);

/* One line in the log, written at once so that hosts of several browsers do not mix their
 * lines. What came from a page is already quoted; control characters are blanked anyway. */
static void
host_log (const char *format,
          ...)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *stamp = g_date_time_format_iso8601 (now);
  g_autofree char *message = NULL;
  g_autofree char *line = NULL;
  va_list args;
  gsize length;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  for (char *p = message; *p != '\0'; p++)
    {
      if ((guchar) *p < 0x20 || *p == 0x7f)
        *p = ' ';
    }

  line = g_strdup_printf ("%s [%d] %s\n", stamp, (int) getpid (), message);
  length = strlen (line);
  if (write (STDERR_FILENO, line, length) < 0)
    {
      /* Nowhere left to say it. */
    }
}

/* Where a request goes, without the path and query, which may carry secrets. */
static char *
origin_of (const char *url)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);

  if (uri == NULL)
    return g_strdup ("?");
  if (g_uri_get_port (uri) > 0)
    return g_strdup_printf ("%s://%s:%d", g_uri_get_scheme (uri), g_uri_get_host (uri),
                            g_uri_get_port (uri));
  return g_strdup_printf ("%s://%s", g_uri_get_scheme (uri), g_uri_get_host (uri));
}

static gboolean
write_all (int           fd,
           const guint8 *data,
           gsize         length)
{
  while (length > 0)
    {
      gssize written = write (fd, data, length);

      if (written < 0 && errno == EINTR)
        continue;
      if (written <= 0)
        {
          host_log ("Cannot write to the browser: %s", g_strerror (errno));
          return FALSE;
        }
      data += written;
      length -= written;
    }

  return TRUE;
}

static gboolean
send_reply (Host       *host,
            const char *reply)
{
  g_autoptr (GBytes) frame = sl_frame_encode (reply);
  gsize length;
  const guint8 *data = g_bytes_get_data (frame, &length);

  return write_all (host->out_fd, data, length);
}

static GDBusConnection *
host_bus (Host    *host,
          GError **error)
{
  if (host->bus != NULL && g_dbus_connection_is_closed (host->bus))
    g_clear_object (&host->bus);
  if (host->bus == NULL)
    host->bus = sl_host_bus_connect (error);
  return host->bus;
}

static char *
answer_ping (Host     *host,
             JsonNode *id)
{
  g_autoptr (GError) error = NULL;
  GDBusConnection *bus = host_bus (host, &error);
  gboolean daemon = bus != NULL && sl_host_daemon_ping (bus, &error);

  if (daemon)
    host_log ("ping: the daemon answers");
  else
    host_log ("ping: the daemon does not answer: %s", error->message);

  return sl_native_reply_ping (id, PACKAGE_VERSION, daemon);
}

static char *
answer_download (Host            *host,
                 SlNativeRequest *request,
                 JsonNode        *id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autofree char *mime = request->mime ? g_strescape (request->mime, NULL) : NULL;
  GDBusConnection *bus = host_bus (host, &error);

  if (bus == NULL)
    {
      g_autofree char *message = g_strdup_printf (_("Cannot reach the session bus: %s"),
                                                  error->message);

      host_log ("download refused: %s", message);
      return sl_native_reply_error (id, message, NULL, 0);
    }

  for (guint i = 0; i < request->items->len; i++)
    {
      SlNativeItem *item = g_ptr_array_index (request->items, i);
      g_autofree char *origin = origin_of (item->url);
      guint64 download_id;

      if (!sl_host_daemon_add (bus, item->url, sl_native_request_options (request, i),
                               &download_id, &error))
        {
          host_log ("download from %s failed: %s", origin, error->message);
          return sl_native_reply_error (id, error->message, &g_array_index (ids, guint64, 0),
                                        ids->len);
        }

      host_log ("download %" G_GUINT64_FORMAT " added from %s (type %s, %" G_GINT64_FORMAT
                " bytes announced)", download_id, origin, mime ? mime : "unknown",
                request->size);
      g_array_append_val (ids, download_id);
    }

  return sl_native_reply_ids (id, &g_array_index (ids, guint64, 0), ids->len);
}

/* Answers one message. Returns FALSE only when the browser can no longer be written to. */
static gboolean
handle_frame (Host   *host,
              GBytes *frame)
{
  g_autoptr (JsonNode) id = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlNativeRequest) request = NULL;
  g_autofree char *reply = NULL;
  gsize length;
  const char *data = g_bytes_get_data (frame, &length);

  request = sl_native_request_parse (data, length, &id, &error);
  if (request == NULL)
    {
      host_log ("message of %" G_GSIZE_FORMAT " bytes refused: %s", length, error->message);
      reply = sl_native_reply_error (id, error->message, NULL, 0);
    }
  else if (request->type == SL_NATIVE_REQUEST_PING)
    reply = answer_ping (host, id);
  else
    reply = answer_download (host, request, id);

  return send_reply (host, reply);
}

/* Keeps stdout for frames alone: the browser's end moves to a descriptor of the host's own,
 * and whatever a library might print goes to /dev/null. */
static int
take_stdout (void)
{
  int out_fd = fcntl (STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  int null_fd = open ("/dev/null", O_WRONLY | O_CLOEXEC);

  if (out_fd >= 0 && null_fd >= 0)
    dup2 (null_fd, STDOUT_FILENO);
  if (null_fd >= 0)
    close (null_fd);
  return out_fd;
}

static int
serve (int    argc,
       char **argv)
{
  g_autoptr (SlFrameReader) reader = sl_frame_reader_new ();
  g_autofree guint8 *buffer = g_malloc (READ_CHUNK_BYTES);
  g_autoptr (GString) arguments = g_string_new (NULL);
  Host host = { -1, NULL };
  int status = 0;

  open_log ();
  /* A browser that closes the port while a reply is written must not kill the host. */
  signal (SIGPIPE, SIG_IGN);

  host.out_fd = take_stdout ();
  if (host.out_fd < 0)
    {
      host_log ("Cannot take over stdout: %s", g_strerror (errno));
      return 1;
    }

  /* Firefox gives the manifest's path and the extension's id, Chromium the extension's
   * origin and maybe --parent-window: who started us, for the log; nothing else. */
  for (int i = 1; i < argc; i++)
    {
      g_autofree char *escaped = g_strescape (argv[i], NULL);

      g_string_append_printf (arguments, " “%s”", escaped);
    }
  host_log ("started (version %s), arguments:%s", PACKAGE_VERSION,
            arguments->len > 0 ? arguments->str : " none");

  for (;;)
    {
      g_autoptr (GError) error = NULL;
      SlFrameStatus frame_status = SL_FRAME_NEED_MORE;
      gssize n = read (STDIN_FILENO, buffer, READ_CHUNK_BYTES);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          host_log ("Cannot read from the browser: %s", g_strerror (errno));
          status = 1;
          break;
        }
      if (n == 0)
        {
          if (!sl_frame_reader_finish (reader, &error))
            {
              host_log ("stopped: %s", error->message);
              status = 1;
            }
          else
            host_log ("stopped: the browser closed the connection");
          break;
        }

      sl_frame_reader_push (reader, buffer, n);
      for (;;)
        {
          g_autoptr (GBytes) frame = NULL;

          frame_status = sl_frame_reader_next (reader, &frame, &error);
          if (frame_status != SL_FRAME_READY)
            break;
          if (!handle_frame (&host, frame))
            {
              status = 1;
              goto out;
            }
        }

      if (frame_status == SL_FRAME_BROKEN)
        {
          g_autofree char *reply = sl_native_reply_error (NULL, error->message, NULL, 0);

          /* What follows cannot be read as messages any more: say why, then stop. */
          host_log ("stopped: %s", error->message);
          send_reply (&host, reply);
          status = 1;
          break;
        }
    }

out:
  if (host.bus != NULL)
    g_dbus_connection_flush_sync (host.bus, NULL, NULL);
  g_clear_object (&host.bus);
  close (host.out_fd);
  return status;
}

static void
print_location (const SlManifestLocation *location,
                const char               *self,
                gboolean                 *usable)
{
  g_autofree char *dir = sl_manifest_location_dir (location);
  g_autoptr (SlBrowserManifest) manifest = NULL;
  g_autoptr (GError) error = NULL;
  SlManifestStatus status = sl_browser_manifest_inspect (location, self, &manifest, &error);
  const char *scope = location->scope == SL_MANIFEST_SCOPE_USER ? _("user") : _("system");

  /* Translators: “Firefox (user): /home/ada/.mozilla/native-messaging-hosts” */
  printf (_("%s (%s): %s\n"), location->browser, scope, dir);
  switch (status)
    {
    case SL_MANIFEST_STATUS_OK:
      *usable = TRUE;
      printf ("    %s, %s\n", sl_manifest_status_describe (status), _("starts this program"));
      break;
    case SL_MANIFEST_STATUS_OTHER_PROGRAM:
      *usable = TRUE;
      printf ("    %s: %s\n", sl_manifest_status_describe (status), manifest->path);
      break;
    case SL_MANIFEST_STATUS_PROGRAM_MISSING:
      printf ("    %s: %s\n", sl_manifest_status_describe (status), manifest->path);
      break;
    case SL_MANIFEST_STATUS_INVALID:
      printf ("    %s: %s\n", sl_manifest_status_describe (status), error->message);
      break;
    case SL_MANIFEST_STATUS_MISSING:
    case SL_MANIFEST_STATUS_WRONG_EXTENSION:
    default:
      printf ("    %s\n", sl_manifest_status_describe (status));
      break;
    }
}

/* What a user needs to see when the extension says it cannot reach Sluice. */
static int
diagnose (void)
{
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *log = log_path ();
  g_autoptr (GDBusConnection) bus = NULL;
  g_autoptr (GError) error = NULL;
  const SlManifestLocation *locations;
  gsize n_locations;
  gboolean usable = FALSE;

  printf ("%s %s\n", SL_BROWSER_HOST_PROGRAM, PACKAGE_VERSION);
  printf (_("This program: %s\n"), self ? self : "?");
  printf (_("Host manifests (%s):\n"), SL_BROWSER_MANIFEST_FILE);

  locations = sl_manifest_locations (&n_locations);
  for (gsize i = 0; i < n_locations; i++)
    print_location (&locations[i], self, &usable);
  if (!usable)
    printf (_("No browser can start the host: run “sluicectl browser install”\n"));

  bus = sl_host_bus_connect (&error);
  if (bus != NULL && sl_host_daemon_ping (bus, &error))
    printf (_("Daemon: answers on the session bus\n"));
  else
    printf (_("Daemon: does not answer: %s\n"), error->message);
  printf (_("Log: %s\n"), log);

  return 0;
}

int
main (int    argc,
      char **argv)
{
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  if (argc == 2 && g_str_equal (argv[1], "--diagnose"))
    return diagnose ();
  if (argc == 2 && g_str_equal (argv[1], "--version"))
    {
      printf ("%s %s\n", SL_BROWSER_HOST_PROGRAM, PACKAGE_VERSION);
      return 0;
    }
  if (argc == 2 && g_str_equal (argv[1], "--help"))
    {
      printf (_("Usage: %s [--diagnose | --version]\n"), SL_BROWSER_HOST_PROGRAM);
      printf ("%s\n", _("Hands downloads from the Sluice browser extension over to Sluice. "
                        "Browsers start this program themselves; --diagnose shows which "
                        "browsers can, and whether Sluice answers."));
      return 0;
    }
  /* Someone who runs it in a terminal would wait for messages that never come. */
  if (isatty (STDIN_FILENO))
    {
      fprintf (stderr, _("%s is started by web browsers; try “%s --diagnose”\n"),
               SL_BROWSER_HOST_PROGRAM, SL_BROWSER_HOST_PROGRAM);
      return 1;
    }

  return serve (argc, argv);
}
