/* sl-remote.c
 *
 * The sluicectl verbs that drive sluiced over D-Bus: add, list, pause, resume, cancel, remove,
 * wait, verify, limit. They use plain GDBus calls on the names DESIGN.md fixes, so they work
 * against any daemon that keeps that contract.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gi18n.h>

#include "sl-checksum.h"
#include "sl-cli-util.h"
#include "sl-daemon-spawn.h"
#include "sl-download.h"
#include "sl-remote.h"
#include "sl-filename-rules.h"
#include "sl-states.h"
#include "sl-uri.h"

#define BUS_NAME           "org.sluice.Downloads"
#define ROOT_PATH          "/org/sluice/Downloads"
#define MANAGER_INTERFACE  "org.sluice.Downloads.Manager1"
#define DOWNLOAD_INTERFACE "org.sluice.Downloads.Download1"
#define START_TIMEOUT_MS   (15 * 1000)
#define CALL_TIMEOUT_MS    (60 * 1000)
/* Verify returns once the whole file is read, however large it is. */
#define VERIFY_TIMEOUT_MS  G_MAXINT
#define ERROR_PREFIX       "org.sluice.Downloads.Error."

static void
print_dbus_error (GError *error)
{
  g_dbus_error_strip_remote_error (error);
  sl_cli_print_error ("%s", error->message);
}

static gboolean
has_owner (GDBusConnection *bus)
{
  g_autoptr (GVariant) reply = NULL;
  gboolean owned = FALSE;

  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "NameHasOwner",
                                       g_variant_new ("(s)", BUS_NAME), G_VARIANT_TYPE ("(b)"),
                                       G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
  if (reply != NULL)
    g_variant_get (reply, "(b)", &owned);
  return owned;
}

static gboolean
wait_for_owner (GDBusConnection *bus)
{
  gint64 deadline = g_get_monotonic_time () + START_TIMEOUT_MS * 1000;

  /* Bounded polling: the daemon takes well under a second to own its name. */
  while (g_get_monotonic_time () < deadline)
    {
      if (has_owner (bus))
        return TRUE;
      g_usleep (20 * 1000);
    }
  return FALSE;
}

/* Makes sure sluiced runs: by D-Bus activation where it is installed, else by starting the
 * binary from the build tree. */
static gboolean
ensure_daemon (GDBusConnection  *bus,
               GError          **error)
{
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) activation_error = NULL;
  g_autoptr (GError) spawn_error = NULL;
  g_autofree char *binary = NULL;

  if (has_owner (bus))
    return TRUE;

  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "StartServiceByName",
                                       g_variant_new ("(su)", BUS_NAME, 0),
                                       G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE,
                                       START_TIMEOUT_MS, NULL, &activation_error);
  if (reply != NULL && has_owner (bus))
    return TRUE;

  if (!sl_daemon_spawn (&binary, &spawn_error))
    {
      if (!g_error_matches (spawn_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&spawn_error));
          return FALSE;
        }
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   _("The Sluice daemon is not running and cannot be started: %s"),
                   activation_error ? activation_error->message : spawn_error->message);
      return FALSE;
    }

  if (!wait_for_owner (bus))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                   _("The Sluice daemon %s did not start"), binary);
      return FALSE;
    }

  return TRUE;
}

static GDBusConnection *
connect_to_daemon (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);

  if (bus == NULL)
    {
      sl_cli_print_error (_("Cannot reach the session bus: %s"), error->message);
      return NULL;
    }
  if (!ensure_daemon (bus, &error))
    {
      sl_cli_print_error ("%s", error->message);
      return NULL;
    }

  return g_steal_pointer (&bus);
}

static GVariant *
call_with_timeout (GDBusConnection     *bus,
                   const char          *path,
                   const char          *interface,
                   const char          *method,
                   GVariant            *parameters,
                   const GVariantType  *reply_type,
                   int                  timeout_ms,
                   GError             **error)
{
  return g_dbus_connection_call_sync (bus, BUS_NAME, path, interface, method, parameters,
                                      reply_type, G_DBUS_CALL_FLAGS_NONE, timeout_ms, NULL,
                                      error);
}

static GVariant *
call (GDBusConnection     *bus,
      const char          *path,
      const char          *interface,
      const char          *method,
      GVariant            *parameters,
      const GVariantType  *reply_type,
      GError             **error)
{
  return call_with_timeout (bus, path, interface, method, parameters, reply_type,
                            CALL_TIMEOUT_MS, error);
}

/* Whether @error is the daemon's org.sluice.Downloads.Error.@name. sluicectl does not map the
 * daemon's errors to its own domain, so they come as remote errors. */
static gboolean
is_daemon_error (const GError *error,
                 const char   *name)
{
  g_autofree char *remote = g_dbus_error_get_remote_error (error);

  return remote != NULL && g_str_has_prefix (remote, ERROR_PREFIX) &&
         g_str_equal (remote + strlen (ERROR_PREFIX), name);
}

/* Whether @error says that the daemon left the bus before it answered. */
static gboolean
is_daemon_gone (const GError *error)
{
  return g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
}

static char *
path_for_id (const char *id)
{
  guint64 value;

  if (!g_ascii_string_to_unsigned (id, 10, 1, G_MAXINT64, &value, NULL))
    return NULL;
  return g_strdup_printf (ROOT_PATH "/%" G_GUINT64_FORMAT, value);
}

/* Checks that the arguments from @first on are download IDs, as a usage error if one is not. */
static gboolean
ids_are_valid (GOptionContext  *context,
               int              argc,
               char           **argv,
               int              first)
{
  for (int i = first; i < argc; i++)
    {
      g_autofree char *path = path_for_id (argv[i]);

      if (path == NULL)
        {
          g_autofree char *message = g_strdup_printf (_("“%s” is not a download ID"), argv[i]);

          sl_cli_usage_error (context, message);
          return FALSE;
        }
    }
  return TRUE;
}

/* Whether @error says that there is no download at the path called. */
static gboolean
is_unknown_download (const GError *error)
{
  return g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT);
}

static const char *
id_of_path (const char *path)
{
  const char *slash = strrchr (path, '/');

  return slash ? slash + 1 : path;
}

static int
cmd_add (int    argc,
         char **argv)
{
  g_autoptr (GOptionContext) context = g_option_context_new (_("URL… — add downloads to sluiced"));
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = NULL;
  g_autofree char *directory = NULL;
  g_autofree char *filename = NULL;
  g_autofree char *connections_text = NULL;
  g_autofree char *limit_rate = NULL;
  g_autofree char *checksum = NULL;
  gboolean paused = FALSE;
  guint64 connections = 0;
  guint64 rate = 0;
  int status = SL_EXIT_DONE;
  GOptionEntry entries[] = {
    { "directory", 'd', 0, G_OPTION_ARG_FILENAME, &directory, N_("Save into DIR"), N_("DIR") },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &filename,
      N_("Save as NAME (with one URL)"), N_("NAME") },
    { "paused", 0, 0, G_OPTION_ARG_NONE, &paused, N_("Add without starting"), NULL },
    { "connections", 'x', 0, G_OPTION_ARG_STRING, &connections_text,
      N_("Use N connections at once (1–16), or 0 to add them while they pay (the default)"),
      N_("N") },
    { "limit-rate", 0, 0, G_OPTION_ARG_STRING, &limit_rate,
      N_("Read at most RATE bytes a second (K, M and G suffixes, as curl)"), N_("RATE") },
    { "checksum", 0, 0, G_OPTION_ARG_STRING, &checksum,
      N_("Check the file before giving it its name"), N_("sha256=HEX") },
    G_OPTION_ENTRY_NULL
  };

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return sl_cli_usage_error (context, error->message);
  if (argc < 2)
    return sl_cli_usage_error (context, _("No URL given"));
  if (filename != NULL && argc != 2)
    return sl_cli_usage_error (context, _("-o NAME goes with exactly one URL"));
  /* The range of the daemon's `connections` option, whose 0 is automatic. */
  if (connections_text != NULL &&
      !g_ascii_string_to_unsigned (connections_text, 10, 0, SL_DOWNLOAD_MAX_CONNECTIONS,
                                   &connections, NULL))
    return sl_cli_usage_error (context, _("Connections must be between 0 (automatic) and 16"));
  if (limit_rate != NULL && !sl_cli_parse_rate (limit_rate, &rate))
    return sl_cli_usage_error (context, _("A rate is a number with an optional K, M or G suffix"));
  if (!sl_cli_names_are_text (filename, directory))
    return SL_EXIT_USAGE;
  /* The daemon would refuse these too; saying so here spares starting it. */
  if (filename != NULL && !sl_filename_check (filename, &error))
    {
      sl_cli_print_error ("%s", error->message);
      return SL_EXIT_USAGE;
    }
  if (checksum != NULL)
    {
      g_autofree char *hex = NULL;
      SlChecksumType type;

      if (!sl_checksum_parse_spec (checksum, &type, &hex, &error))
        {
          sl_cli_print_error ("%s", error->message);
          return SL_EXIT_USAGE;
        }
    }

  bus = connect_to_daemon ();
  if (bus == NULL)
    return SL_EXIT_DAEMON;

  for (int i = 1; i < argc; i++)
    {
      g_auto (GVariantDict) options = G_VARIANT_DICT_INIT (NULL);
      g_autoptr (GVariant) reply = NULL;
      g_autoptr (GError) call_error = NULL;
      g_autofree char *address = NULL;
      const char *path;

      /* D-Bus carries text: stray bytes that are not UTF-8 are percent-encoded here, as `get`
       * does; the daemon judges the rest. */
      if (!g_utf8_validate (argv[i], -1, NULL))
        {
          g_autoptr (GError) parse_error = NULL;
          g_autoptr (GUri) uri = sl_uri_parse_download (argv[i], &parse_error);

          if (uri == NULL)
            {
              sl_cli_print_error ("%s", parse_error->message);
              status = SL_EXIT_USAGE;
              continue;
            }
          address = g_uri_to_string (uri);
        }
      if (directory != NULL)
        {
          g_autofree char *absolute = g_canonicalize_filename (directory, NULL);

          g_variant_dict_insert (&options, "directory", "s", absolute);
        }
      if (filename != NULL)
        g_variant_dict_insert (&options, "filename", "s", filename);
      if (paused)
        g_variant_dict_insert (&options, "paused", "b", TRUE);
      if (connections_text != NULL)
        g_variant_dict_insert (&options, "connections", "u", (guint32) connections);
      if (limit_rate != NULL)
        g_variant_dict_insert (&options, "speed-limit", "t", rate);
      if (checksum != NULL)
        g_variant_dict_insert (&options, "checksum", "s", checksum);

      reply = call (bus, ROOT_PATH, MANAGER_INTERFACE, "Add",
                    g_variant_new ("(s@a{sv})", address ? address : argv[i],
                                   g_variant_dict_end (&options)),
                    G_VARIANT_TYPE ("(o)"), &call_error);
      if (reply == NULL)
        {
          print_dbus_error (call_error);
          status = SL_EXIT_USAGE;
          continue;
        }

      g_variant_get (reply, "(&o)", &path);
      printf ("%s\n", id_of_path (path));
    }

  return status;
}

typedef struct
{
  char    *id;
  char    *uri;
  char    *filename;
  char    *directory;
  char    *state;
  guint64  received;
  gint64   total;
  guint64  speed;
  guint    http_status;
  char    *error_kind;
  char    *error;
  guint    connections;
  guint64  speed_limit;
  char    *checksum;
  char    *checksum_state;
} Row;

static void
row_free (Row *row)
{
  g_free (row->id);
  g_free (row->uri);
  g_free (row->filename);
  g_free (row->directory);
  g_free (row->state);
  g_free (row->error_kind);
  g_free (row->error);
  g_free (row->checksum);
  g_free (row->checksum_state);
  g_free (row);
}

static char *
lookup_string (GVariant   *properties,
               const char *name)
{
  const char *value = NULL;

  if (!g_variant_lookup (properties, name, "&s", &value))
    return g_strdup ("");
  return g_strdup (value);
}

static Row *
row_from_properties (const char *path,
                     GVariant   *properties)
{
  Row *row = g_new0 (Row, 1);

  row->id = g_strdup (id_of_path (path));
  row->uri = lookup_string (properties, "Uri");
  row->filename = lookup_string (properties, "Filename");
  row->directory = lookup_string (properties, "Directory");
  row->state = lookup_string (properties, "State");
  row->error_kind = lookup_string (properties, "ErrorKind");
  row->error = lookup_string (properties, "Error");
  row->checksum = lookup_string (properties, "Checksum");
  row->checksum_state = lookup_string (properties, "ChecksumState");
  row->total = -1;
  g_variant_lookup (properties, "BytesReceived", "t", &row->received);
  g_variant_lookup (properties, "BytesTotal", "x", &row->total);
  g_variant_lookup (properties, "Speed", "t", &row->speed);
  g_variant_lookup (properties, "HttpStatus", "u", &row->http_status);
  g_variant_lookup (properties, "Connections", "u", &row->connections);
  g_variant_lookup (properties, "SpeedLimit", "t", &row->speed_limit);
  return row;
}

static gint
compare_rows (gconstpointer a,
              gconstpointer b)
{
  const Row *ra = *(const Row **) a;
  const Row *rb = *(const Row **) b;
  gint64 ia = g_ascii_strtoll (ra->id, NULL, 10);
  gint64 ib = g_ascii_strtoll (rb->id, NULL, 10);

  return ia < ib ? -1 : ia > ib;
}

static GPtrArray *
fetch_rows (GDBusConnection  *bus,
            GError          **error)
{
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariantIter) objects = NULL;
  GPtrArray *rows;
  const char *path;
  GVariant *interfaces;

  reply = call (bus, ROOT_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", NULL,
                G_VARIANT_TYPE ("(a{oa{sa{sv}}})"), error);
  if (reply == NULL)
    return NULL;

  rows = g_ptr_array_new_with_free_func ((GDestroyNotify) row_free);
  g_variant_get (reply, "(a{oa{sa{sv}}})", &objects);
  while (g_variant_iter_next (objects, "{&o@a{sa{sv}}}", &path, &interfaces))
    {
      g_autoptr (GVariant) properties = g_variant_lookup_value (interfaces, DOWNLOAD_INTERFACE,
                                                                 G_VARIANT_TYPE ("a{sv}"));

      if (properties != NULL)
        g_ptr_array_add (rows, row_from_properties (path, properties));
      g_variant_unref (interfaces);
    }

  g_ptr_array_sort (rows, compare_rows);
  return rows;
}

/* JSON string escaping, enough for UTF-8 text from the daemon. */
static void
append_json_string (GString    *out,
                    const char *text)
{
  g_string_append_c (out, '"');
  for (const char *p = text; *p; p++)
    {
      switch (*p)
        {
        case '"':
          g_string_append (out, "\\\"");
          break;
        case '\\':
          g_string_append (out, "\\\\");
          break;
        case '\n':
          g_string_append (out, "\\n");
          break;
        case '\r':
          g_string_append (out, "\\r");
          break;
        case '\t':
          g_string_append (out, "\\t");
          break;
        default:
          if ((guchar) *p < 0x20)
            g_string_append_printf (out, "\\u%04x", (guchar) *p);
          else
            g_string_append_c (out, *p);
        }
    }
  g_string_append_c (out, '"');
}

static void
print_json (GPtrArray *rows)
{
  g_autoptr (GString) out = g_string_new ("[");

  for (guint i = 0; i < rows->len; i++)
    {
      Row *row = rows->pdata[i];

      g_string_append (out, i == 0 ? "\n  {" : ",\n  {");
      g_string_append_printf (out, "\"id\": %s, \"uri\": ", row->id);
      append_json_string (out, row->uri);
      g_string_append (out, ", \"filename\": ");
      append_json_string (out, row->filename);
      g_string_append (out, ", \"directory\": ");
      append_json_string (out, row->directory);
      g_string_append (out, ", \"state\": ");
      append_json_string (out, row->state);
      g_string_append_printf (out,
                              ", \"bytes_received\": %" G_GUINT64_FORMAT
                              ", \"bytes_total\": %" G_GINT64_FORMAT
                              ", \"speed\": %" G_GUINT64_FORMAT ", \"http_status\": %u"
                              ", \"error_kind\": ",
                              row->received, row->total, row->speed, row->http_status);
      append_json_string (out, row->error_kind);
      g_string_append (out, ", \"error\": ");
      append_json_string (out, row->error);
      g_string_append_printf (out,
                              ", \"connections\": %u, \"speed_limit\": %" G_GUINT64_FORMAT
                              ", \"checksum\": ",
                              row->connections, row->speed_limit);
      append_json_string (out, row->checksum);
      g_string_append (out, ", \"checksum_state\": ");
      append_json_string (out, row->checksum_state);
      g_string_append_c (out, '}');
    }
  g_string_append (out, rows->len > 0 ? "\n]\n" : "]\n");
  fputs (out->str, stdout);
}

static char *
format_rate (guint64 bytes_per_second)
{
  g_autofree char *size = g_format_size (bytes_per_second);

  /* Translators: a transfer rate, as in "5.2 MB/s" */
  return g_strdup_printf (_("%s/s"), size);
}

/* What the table tells after a download's name, only where there is something to tell: its
 * own speed limit, and where the check of its checksum stands, as "sha256 verified". */
static char *
row_notes (Row *row)
{
  g_autoptr (GString) notes = g_string_new (NULL);

  if (row->speed_limit > 0)
    {
      g_autofree char *rate = format_rate (row->speed_limit);
      /* Translators: a download's own speed limit in `sluicectl list`, as in "limit 2.0 MB/s" */
      g_autofree char *note = g_strdup_printf (_("limit %s"), rate);

      g_string_append_printf (notes, "  [%s]", note);
    }
  if (*row->checksum != '\0')
    {
      const char *equals = strchr (row->checksum, '=');
      int algorithm = equals ? (int) (equals - row->checksum) : (int) strlen (row->checksum);

      /* The state's own name, as the STATE column gives the download's. */
      g_string_append_printf (notes, "  [%.*s %s]", algorithm, row->checksum,
                              row->checksum_state);
    }
  return g_string_free (g_steal_pointer (&notes), FALSE);
}

static void
print_table (GPtrArray *rows)
{
  if (rows->len == 0)
    {
      printf ("%s\n", _("No downloads"));
      return;
    }

  printf ("%-6s %-10s %6s %10s %10s  %s\n", _("ID"), _("STATE"), _("DONE"), _("SIZE"),
          _("SPEED"), _("NAME"));
  for (guint i = 0; i < rows->len; i++)
    {
      Row *row = rows->pdata[i];
      g_autofree char *size = row->total >= 0 ? g_format_size (row->total) : g_strdup ("?");
      g_autofree char *speed = row->speed > 0 ? format_rate (row->speed) : g_strdup ("");
      g_autofree char *notes = row_notes (row);
      g_autofree char *percent = row->total > 0
                                   ? g_strdup_printf ("%d%%", (int) (100.0 * row->received /
                                                                     row->total))
                                   : g_strdup ("");
      const char *name = *row->filename ? row->filename : row->uri;

      printf ("%-6s %-10s %6s %10s %10s  %s%s\n", row->id, row->state, percent, size, speed, name,
              notes);
      if (*row->error != '\0')
        printf ("%-6s %s\n", "", row->error);
    }
}

static int
cmd_list (int    argc,
          char **argv)
{
  g_autoptr (GOptionContext) context = g_option_context_new (_("— list sluiced’s downloads"));
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = NULL;
  g_autoptr (GPtrArray) rows = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON for scripts"), NULL },
    G_OPTION_ENTRY_NULL
  };

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return sl_cli_usage_error (context, error->message);
  if (argc != 1)
    return sl_cli_usage_error (context, _("list takes no arguments"));

  bus = connect_to_daemon ();
  if (bus == NULL)
    return SL_EXIT_DAEMON;

  rows = fetch_rows (bus, &error);
  if (rows == NULL)
    {
      print_dbus_error (error);
      return SL_EXIT_DAEMON;
    }

  if (json)
    print_json (rows);
  else
    print_table (rows);
  return SL_EXIT_DONE;
}

/* pause, resume, cancel and remove: one method on each download named, or one on all. */
static int
cmd_each (const char *verb,
          int         argc,
          char      **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = NULL;
  g_autofree char *summary = g_strdup_printf (_("ID… — %s downloads"), verb);
  gboolean all = FALSE;
  gboolean delete_file = FALSE;
  gboolean takes_all = g_str_equal (verb, "pause") || g_str_equal (verb, "resume");
  const char *method;
  int status = SL_EXIT_DONE;
  GOptionEntry all_entries[] = {
    { "all", 'a', 0, G_OPTION_ARG_NONE, &all, N_("All downloads"), NULL },
    G_OPTION_ENTRY_NULL
  };
  GOptionEntry remove_entries[] = {
    { "delete-file", 0, 0, G_OPTION_ARG_NONE, &delete_file,
      N_("Also delete the downloaded file"), NULL },
    G_OPTION_ENTRY_NULL
  };

  context = g_option_context_new (summary);
  if (takes_all)
    g_option_context_add_main_entries (context, all_entries, GETTEXT_PACKAGE);
  if (g_str_equal (verb, "remove"))
    g_option_context_add_main_entries (context, remove_entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return sl_cli_usage_error (context, error->message);
  if (all && argc > 1)
    return sl_cli_usage_error (context, _("Give IDs or --all, not both"));
  if (!all && argc < 2)
    return sl_cli_usage_error (context, _("No download ID given"));

  if (!ids_are_valid (context, argc, argv, 1))
    return SL_EXIT_USAGE;

  bus = connect_to_daemon ();
  if (bus == NULL)
    return SL_EXIT_DAEMON;

  if (all)
    {
      g_autoptr (GVariant) reply =
        call (bus, ROOT_PATH, MANAGER_INTERFACE,
              g_str_equal (verb, "pause") ? "PauseAll" : "ResumeAll", NULL, NULL, &error);

      if (reply == NULL)
        {
          print_dbus_error (error);
          return SL_EXIT_DAEMON;
        }
      return SL_EXIT_DONE;
    }

  if (g_str_equal (verb, "pause"))
    method = "Pause";
  else if (g_str_equal (verb, "resume"))
    method = "Resume";
  else if (g_str_equal (verb, "cancel"))
    method = "Cancel";
  else
    method = "Remove";

  for (int i = 1; i < argc; i++)
    {
      g_autofree char *path = path_for_id (argv[i]);
      g_autoptr (GVariant) reply = NULL;
      g_autoptr (GError) call_error = NULL;

      reply = call (bus, path, DOWNLOAD_INTERFACE, method,
                    g_str_equal (method, "Remove") ? g_variant_new ("(b)", delete_file) : NULL,
                    NULL, &call_error);
      if (reply == NULL)
        {
          if (is_unknown_download (call_error))
            sl_cli_print_error (_("No download has the ID %s"), argv[i]);
          else
            print_dbus_error (call_error);
          status = SL_EXIT_USAGE;
        }
    }

  return status;
}

static int
cmd_verify (int    argc,
            char **argv)
{
  g_autoptr (GOptionContext) context =
    g_option_context_new (_("ID… — check completed downloads against their checksums again"));
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = NULL;
  gboolean mismatch = FALSE;
  int status = SL_EXIT_DONE;

  if (!g_option_context_parse (context, &argc, &argv, &error))
    return sl_cli_usage_error (context, error->message);
  if (argc < 2)
    return sl_cli_usage_error (context, _("No download ID given"));
  if (!ids_are_valid (context, argc, argv, 1))
    return SL_EXIT_USAGE;

  bus = connect_to_daemon ();
  if (bus == NULL)
    return SL_EXIT_DAEMON;

  for (int i = 1; i < argc; i++)
    {
      g_autofree char *path = path_for_id (argv[i]);
      g_autoptr (GVariant) reply = NULL;
      g_autoptr (GError) call_error = NULL;
      int failure;

      reply = call_with_timeout (bus, path, DOWNLOAD_INTERFACE, "Verify", NULL, NULL,
                                 VERIFY_TIMEOUT_MS, &call_error);
      if (reply != NULL)
        {
          /* Translators: a download ID whose file matched its checksum when read again */
          printf (_("%s: verified"), argv[i]);
          putchar ('\n');
          continue;
        }

      if (is_unknown_download (call_error))
        {
          sl_cli_print_error (_("No download has the ID %s"), argv[i]);
          failure = SL_EXIT_USAGE;
        }
      else
        {
          if (is_daemon_error (call_error, "Checksum"))
            failure = SL_EXIT_CHECKSUM;
          else if (is_daemon_error (call_error, "File"))
            failure = SL_EXIT_FILE;
          else if (is_daemon_gone (call_error))
            failure = SL_EXIT_DAEMON;
          else
            failure = SL_EXIT_USAGE;
          g_dbus_error_strip_remote_error (call_error);
          sl_cli_print_error ("%s: %s", argv[i], call_error->message);
        }

      /* A file that no longer matches is what verify is asked about: it decides the status,
       * whatever else failed. */
      if (failure == SL_EXIT_CHECKSUM)
        mismatch = TRUE;
      else if (status == SL_EXIT_DONE)
        status = failure;
    }

  return mismatch ? SL_EXIT_CHECKSUM : status;
}

/* A speed limit: a rate in curl's syntax, or 0 or "none" for no limit. */
static gboolean
parse_limit (const char *text,
             guint64    *rate)
{
  if (g_str_equal (text, "0") || g_ascii_strcasecmp (text, "none") == 0)
    {
      *rate = 0;
      return TRUE;
    }
  return sl_cli_parse_rate (text, rate);
}

/* limit: shows MaxSpeed, sets it, or sets the SpeedLimit of each download named. A property is
 * set with a checked call rather than through a proxy, whose setter does not say whether the
 * daemon took the value. */
static int
cmd_limit (int    argc,
           char **argv)
{
  g_autoptr (GOptionContext) context =
    g_option_context_new (_("[RATE [ID…]] — show or set the speed limit of all downloads, or "
                            "set that of some"));
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = NULL;
  guint64 rate = 0;
  int status = SL_EXIT_DONE;

  g_option_context_set_description (context,
                                    _("RATE is in bytes per second, with an optional K, M or G "
                                      "(powers of 1024), as in 500K or 2M; 0 or none removes "
                                      "the limit. Without RATE, the limit of all downloads "
                                      "together is shown."));
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return sl_cli_usage_error (context, error->message);
  if (argc >= 2 && !parse_limit (argv[1], &rate))
    return sl_cli_usage_error (context, _("A speed limit is a rate such as 500K or 2M, or 0 or "
                                          "none for no limit"));
  if (!ids_are_valid (context, argc, argv, 2))
    return SL_EXIT_USAGE;

  bus = connect_to_daemon ();
  if (bus == NULL)
    return SL_EXIT_DAEMON;

  if (argc == 1)
    {
      g_autoptr (GVariant) reply = NULL;
      g_autoptr (GVariant) value = NULL;
      g_autofree char *shown = NULL;

      reply = call (bus, ROOT_PATH, "org.freedesktop.DBus.Properties", "Get",
                    g_variant_new ("(ss)", MANAGER_INTERFACE, "MaxSpeed"),
                    G_VARIANT_TYPE ("(v)"), &error);
      if (reply != NULL)
        g_variant_get (reply, "(v)", &value);
      if (value == NULL || !g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
        {
          if (error != NULL)
            print_dbus_error (error);
          else
            sl_cli_print_error (_("The Sluice daemon gave no speed limit"));
          return SL_EXIT_DAEMON;
        }

      rate = g_variant_get_uint64 (value);
      /* Translators: the speed limit of all downloads, when there is none */
      shown = rate > 0 ? format_rate (rate) : g_strdup (_("none"));
      printf ("%s\n", shown);
      return SL_EXIT_DONE;
    }

  if (argc == 2)
    {
      g_autoptr (GVariant) reply =
        call (bus, ROOT_PATH, "org.freedesktop.DBus.Properties", "Set",
              g_variant_new ("(ssv)", MANAGER_INTERFACE, "MaxSpeed", g_variant_new_uint64 (rate)),
              NULL, &error);

      if (reply == NULL)
        {
          print_dbus_error (error);
          return SL_EXIT_DAEMON;
        }
      return SL_EXIT_DONE;
    }

  for (int i = 2; i < argc; i++)
    {
      g_autofree char *path = path_for_id (argv[i]);
      g_autoptr (GVariant) reply = NULL;
      g_autoptr (GError) call_error = NULL;

      reply = call (bus, path, DOWNLOAD_INTERFACE, "SetSpeedLimit",
                    g_variant_new ("(t)", rate), NULL, &call_error);
      if (reply != NULL)
        continue;

      if (is_unknown_download (call_error))
        sl_cli_print_error (_("No download has the ID %s"), argv[i]);
      else
        {
          g_dbus_error_strip_remote_error (call_error);
          sl_cli_print_error ("%s: %s", argv[i], call_error->message);
        }
      if (status == SL_EXIT_DONE)
        status = is_daemon_gone (call_error) ? SL_EXIT_DAEMON : SL_EXIT_USAGE;
    }

  return status;
}

typedef struct
{
  GMainLoop  *loop;
  GHashTable *pending;   /* path → NULL, until it ends */
  int         status;
} WaitContext;

/* A download that failed on its checksum gives the checksum's exit status, as `get` does. */
static int
status_for (const char *state,
            const char *error_kind,
            const char *checksum_state)
{
  SlErrorKind kind = SL_ERROR_KIND_NONE;
  SlChecksumState checksum = SL_CHECKSUM_STATE_NONE;

  if (sl_download_state_is (state, SL_DOWNLOAD_STATE_COMPLETED))
    return SL_EXIT_DONE;
  if (sl_download_state_is (state, SL_DOWNLOAD_STATE_PAUSED))
    return SL_EXIT_PAUSED;
  if (sl_download_state_is (state, SL_DOWNLOAD_STATE_CANCELED))
    return SL_EXIT_CANCELED;

  if (sl_checksum_state_from_string (checksum_state, &checksum) &&
      checksum == SL_CHECKSUM_STATE_MISMATCH)
    return SL_EXIT_CHECKSUM;
  sl_error_kind_from_string (error_kind, &kind);
  return sl_cli_exit_for_kind (kind);
}

/* Whether waiting for a download in @state is over. A paused download does not go on by
 * itself, so it ends the wait for it too, said at once; the other downloads named are still
 * waited for, so that one run tells the outcome of each. */
static gboolean
wait_is_over (const char *state)
{
  SlDownloadState value;

  return sl_download_state_from_string (state, &value) &&
         (sl_download_state_is_finished (value) || value == SL_DOWNLOAD_STATE_PAUSED);
}

static void
settle (WaitContext *ctx,
        const char  *path,
        const char  *state,
        const char  *error_kind,
        const char  *checksum_state,
        const char  *error)
{
  const char *id = id_of_path (path);
  int status;

  if (!g_hash_table_contains (ctx->pending, path) || !wait_is_over (state))
    return;

  status = status_for (state, error_kind, checksum_state);
  if (status == SL_EXIT_PAUSED)
    sl_cli_print_error (_("Download %s is paused"), id);
  else if (status == SL_EXIT_CANCELED)
    sl_cli_print_error (_("Download %s was canceled"), id);
  else if (status != SL_EXIT_DONE)
    sl_cli_print_error ("%s: %s", id, *error ? error : state);
  if (status != SL_EXIT_DONE && ctx->status == SL_EXIT_DONE)
    ctx->status = status;

  g_hash_table_remove (ctx->pending, path);
  if (g_hash_table_size (ctx->pending) == 0)
    g_main_loop_quit (ctx->loop);
}

static void
on_properties_changed (GDBusConnection *bus,
                       const char      *sender,
                       const char      *path,
                       const char      *interface,
                       const char      *signal,
                       GVariant        *parameters,
                       gpointer         user_data)
{
  WaitContext *ctx = user_data;
  g_autoptr (GVariant) changed = NULL;
  g_autoptr (GVariant) all = NULL;
  const char *changed_interface;
  g_autofree char *state = NULL;
  g_autofree char *error_kind = NULL;
  g_autofree char *checksum_state = NULL;
  g_autofree char *error = NULL;

  g_variant_get (parameters, "(&s@a{sv}@as)", &changed_interface, &changed, NULL);
  if (!g_str_equal (changed_interface, DOWNLOAD_INTERFACE) ||
      !g_variant_lookup (changed, "State", "s", &state))
    return;

  /* The state alone may have changed; the error comes with it or is read now. */
  all = g_dbus_connection_call_sync (bus, BUS_NAME, path, "org.freedesktop.DBus.Properties",
                                     "GetAll", g_variant_new ("(s)", DOWNLOAD_INTERFACE),
                                     G_VARIANT_TYPE ("(a{sv})"), G_DBUS_CALL_FLAGS_NONE,
                                     CALL_TIMEOUT_MS, NULL, NULL);
  if (all != NULL)
    {
      g_autoptr (GVariant) properties = g_variant_get_child_value (all, 0);

      error_kind = lookup_string (properties, "ErrorKind");
      checksum_state = lookup_string (properties, "ChecksumState");
      error = lookup_string (properties, "Error");
    }

  settle (ctx, path, state, error_kind ? error_kind : "", checksum_state ? checksum_state : "",
          error ? error : "");
}

static void
on_name_vanished (GDBusConnection *bus,
                  const char      *name,
                  gpointer         user_data)
{
  WaitContext *ctx = user_data;

  sl_cli_print_error (_("The Sluice daemon went away"));
  ctx->status = SL_EXIT_DAEMON;
  g_main_loop_quit (ctx->loop);
}

static int
cmd_wait (int    argc,
          char **argv)
{
  g_autoptr (GOptionContext) context = g_option_context_new (_("ID… — wait until downloads end"));
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = NULL;
  g_autoptr (GPtrArray) rows = NULL;
  g_autoptr (GHashTable) pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  WaitContext ctx = { loop, pending, SL_EXIT_DONE };
  guint subscription, watch;

  if (!g_option_context_parse (context, &argc, &argv, &error))
    return sl_cli_usage_error (context, error->message);
  if (argc < 2)
    return sl_cli_usage_error (context, _("No download ID given"));

  if (!ids_are_valid (context, argc, argv, 1))
    return SL_EXIT_USAGE;
  for (int i = 1; i < argc; i++)
    g_hash_table_add (pending, path_for_id (argv[i]));

  bus = connect_to_daemon ();
  if (bus == NULL)
    return SL_EXIT_DAEMON;

  /* Subscribe first, then read the current states, so that no change falls in between. */
  subscription = g_dbus_connection_signal_subscribe (bus, BUS_NAME,
                                                     "org.freedesktop.DBus.Properties",
                                                     "PropertiesChanged", NULL,
                                                     DOWNLOAD_INTERFACE,
                                                     G_DBUS_SIGNAL_FLAGS_MATCH_ARG0_NAMESPACE,
                                                     on_properties_changed, &ctx, NULL);
  watch = g_bus_watch_name_on_connection (bus, BUS_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE, NULL,
                                          on_name_vanished, &ctx, NULL);

  rows = fetch_rows (bus, &error);
  if (rows == NULL)
    {
      print_dbus_error (error);
      ctx.status = SL_EXIT_DAEMON;
    }
  else
    {
      g_autoptr (GHashTable) known = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      GHashTableIter iter;
      const char *path;

      for (guint i = 0; i < rows->len; i++)
        {
          Row *row = rows->pdata[i];

          g_hash_table_add (known, g_strdup_printf (ROOT_PATH "/%s", row->id));
        }

      g_hash_table_iter_init (&iter, pending);
      while (g_hash_table_iter_next (&iter, (gpointer *) &path, NULL))
        {
          if (!g_hash_table_contains (known, path))
            {
              sl_cli_print_error (_("No download has the ID %s"), id_of_path (path));
              ctx.status = SL_EXIT_USAGE;
              g_hash_table_iter_remove (&iter);
            }
        }

      for (guint i = 0; i < rows->len; i++)
        {
          Row *row = rows->pdata[i];
          g_autofree char *path_of_row = g_strdup_printf (ROOT_PATH "/%s", row->id);

          settle (&ctx, path_of_row, row->state, row->error_kind, row->checksum_state,
                  row->error);
        }

      if (g_hash_table_size (pending) > 0)
        g_main_loop_run (loop);
    }

  g_bus_unwatch_name (watch);
  g_dbus_connection_signal_unsubscribe (bus, subscription);
  return ctx.status;
}

/**
 * sl_remote_command:
 * @verb: add, list, pause, resume, cancel, remove, wait, verify or limit
 * @argc: arguments, the verb first
 * @argv: (array length=argc): the arguments
 *
 * Runs one verb against sluiced, starting it if needed.
 *
 * Returns: the exit status, or -1 if @verb is not a remote verb
 */
int
sl_remote_command (const char  *verb,
                   int          argc,
                   char       **argv)
{
  if (g_str_equal (verb, "add"))
    return cmd_add (argc, argv);
  if (g_str_equal (verb, "list"))
    return cmd_list (argc, argv);
  if (g_str_equal (verb, "wait"))
    return cmd_wait (argc, argv);
  if (g_str_equal (verb, "verify"))
    return cmd_verify (argc, argv);
  if (g_str_equal (verb, "limit"))
    return cmd_limit (argc, argv);
  if (g_str_equal (verb, "pause") || g_str_equal (verb, "resume") ||
      g_str_equal (verb, "cancel") || g_str_equal (verb, "remove"))
    return cmd_each (verb, argc, argv);

  return -1;
}
