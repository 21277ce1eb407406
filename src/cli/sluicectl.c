/* sluicectl.c
 *
 * The terminal client. `get` runs the download engine in this process, curl-style; the
 * other verbs talk to sluiced over D-Bus.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gi18n.h>
#include <glib-unix.h>
#include <glib/gstdio.h>

#include "sl-download.h"
#include "sl-cli-browser.h"
#include "sl-cli-util.h"
#include "sl-filename-rules.h"
#include "sl-header-rules.h"
#include "sl-remote.h"
#include "sl-resume-data.h"
#include "sl-soup-workarounds.h"
#include "sl-uri.h"

#define RESUME_SUFFIX ".resume"
#define PLAIN_PROGRESS_USEC (5 * G_TIME_SPAN_SECOND)

typedef struct
{
  GMainLoop  *loop;
  SlDownload *download;
  int         exit_code;
  gboolean    quiet;
  gboolean    tty;
  gboolean    progress_shown;
  gint64      last_plain_us;
  int         signal_exit;

  /* The resume file beside the partial file; one write in flight, the latest one queued. */
  char       *resume_path;
  GBytes     *resume_pending;
  gboolean    resume_writing;
  gboolean    quit_after_write;
  gboolean    delete_resume;
  GError     *resume_error;   /* why the newest resume data could not be written */
} GetContext;

static void
clear_progress_line (GetContext *ctx)
{
  if (ctx->tty && ctx->progress_shown)
    {
      fputs ("\r\033[K", stderr);
      ctx->progress_shown = FALSE;
    }
}

static void
info (GetContext *ctx,
      const char *message)
{
  if (ctx->quiet)
    return;

  clear_progress_line (ctx);
  fprintf (stderr, "sluicectl: %s\n", message);
}

static char *
format_eta (gint64 seconds)
{
  if (seconds < 0)
    return g_strdup ("--:--");
  if (seconds >= 100 * 3600)
    return g_strdup (">99h");
  if (seconds >= 3600)
    return g_strdup_printf ("%d:%02d:%02d", (int) (seconds / 3600), (int) (seconds / 60 % 60),
                            (int) (seconds % 60));
  return g_strdup_printf ("%d:%02d", (int) (seconds / 60), (int) (seconds % 60));
}

static void
show_progress (GetContext *ctx,
               gboolean    force)
{
  gint64 received = sl_download_get_bytes_received (ctx->download);
  gint64 total = sl_download_get_bytes_total (ctx->download);
  g_autofree char *done = g_format_size (received);
  g_autofree char *speed = g_format_size (sl_download_get_speed (ctx->download));
  g_autofree char *eta = format_eta (sl_download_get_eta (ctx->download));
  g_autofree char *size = total >= 0 ? g_format_size (total) : g_strdup ("?");

  if (ctx->quiet)
    return;

  if (ctx->tty)
    {
      char bar[31];
      int width = 30;
      int filled = total > 0 ? (int) (width * (double) received / total) : 0;
      g_autofree char *percent = total > 0 ? g_strdup_printf ("%3d%%", (int) (100.0 * received /
                                                                             total))
                                           : g_strdup (" --%");

      for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '=' : (i == filled && total > 0 ? '>' : ' ');
      bar[width] = '\0';

      fprintf (stderr, "\r\033[K%s [%s] %s / %s  %s/s  ETA %s", percent, bar, done, size,
               speed, eta);
      ctx->progress_shown = TRUE;
    }
  else
    {
      gint64 now = g_get_monotonic_time ();

      if (!force && now - ctx->last_plain_us < PLAIN_PROGRESS_USEC)
        return;
      ctx->last_plain_us = now;
      fprintf (stderr, "sluicectl: %s of %s, %s/s, ETA %s\n", done, size, speed, eta);
    }
}

static void
on_data_written (SlDownload *download,
                 gint64      step,
                 gint64      total_written,
                 gint64      total_expected,
                 GetContext *ctx)
{
  show_progress (ctx, FALSE);
}

static void write_next_resume (GetContext *ctx);

static void
forget_resume_file (GetContext *ctx)
{
  g_clear_pointer (&ctx->resume_pending, g_bytes_unref);
  if (ctx->resume_path != NULL)
    {
      g_unlink (ctx->resume_path);
      sl_cli_remove_replace_leftovers (ctx->resume_path);
    }
}

/* Quits once the download has ended and no resume file write is in flight. */
static void
maybe_quit (GetContext *ctx)
{
  if (!ctx->quit_after_write || ctx->resume_writing)
    return;

  /* Resume data that could not be saved matters only to a run that ends without the file, and
   * a file error has already said why. */
  if (ctx->delete_resume)
    forget_resume_file (ctx);
  else if (ctx->resume_error != NULL && ctx->exit_code != SL_EXIT_FILE)
    sl_cli_print_error (_("Cannot save resume data: %s"), ctx->resume_error->message);
  g_clear_error (&ctx->resume_error);
  g_main_loop_quit (ctx->loop);
}

static void
on_resume_written (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  GetContext *ctx = user_data;
  g_autoptr (GError) error = NULL;

  ctx->resume_writing = FALSE;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      /* The last good copy is still there: only the first failure is kept, to be told if the
       * run ends without the file (see maybe_quit()). */
      if (ctx->resume_error == NULL)
        ctx->resume_error = g_steal_pointer (&error);
    }
  else
    g_clear_error (&ctx->resume_error);

  write_next_resume (ctx);
  maybe_quit (ctx);
}

static void
replace_resume_file (GTask        *task,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  const char *path = g_object_get_data (G_OBJECT (task), "path");
  GError *error = NULL;

  if (sl_cli_replace_file (path, task_data, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/* The resume file is replaced as a whole in a thread, so that it always holds a complete
 * copy, the newest one that could be written. */
static void
write_next_resume (GetContext *ctx)
{
  g_autoptr (GTask) task = NULL;

  if (ctx->resume_writing || ctx->resume_pending == NULL || ctx->resume_path == NULL)
    return;

  task = g_task_new (NULL, NULL, on_resume_written, ctx);
  g_task_set_source_tag (task, write_next_resume);
  g_task_set_task_data (task, g_steal_pointer (&ctx->resume_pending),
                        (GDestroyNotify) g_bytes_unref);
  g_object_set_data_full (G_OBJECT (task), "path", g_strdup (ctx->resume_path), g_free);
  ctx->resume_writing = TRUE;
  g_task_run_in_thread (task, replace_resume_file);
}

static void
on_checkpoint (SlDownload *download,
               GBytes     *resume_data,
               GetContext *ctx)
{
  g_autoptr (GFile) partial = sl_download_get_partial_file (download);
  g_autofree char *partial_path = NULL;

  if (partial == NULL)
    return;

  partial_path = g_file_get_path (partial);
  g_free (ctx->resume_path);
  ctx->resume_path = g_strconcat (partial_path, RESUME_SUFFIX, NULL);

  g_clear_pointer (&ctx->resume_pending, g_bytes_unref);
  ctx->resume_pending = g_bytes_ref (resume_data);
  write_next_resume (ctx);
}

static void
on_restarted (SlDownload *download,
              const char *reason,
              GetContext *ctx)
{
  info (ctx, reason);
}

static void
on_state_changed (SlDownload *download,
                  GParamSpec *pspec,
                  GetContext *ctx)
{
  if (sl_download_get_state (download) == SL_DOWNLOAD_STATE_WAITING)
    {
      g_autofree char *message =
        g_strdup_printf (_("%s; retrying"), sl_download_get_error_message (download));

      info (ctx, message);
    }
}

static int
exit_code_for_error (const GError *error)
{
  if (g_error_matches (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_CHECKSUM))
    return SL_EXIT_CHECKSUM;

  return sl_cli_exit_for_kind (sl_download_error_kind (error));
}

static void
on_completed (SlDownload   *download,
              const GError *error,
              GetContext   *ctx)
{
  clear_progress_line (ctx);

  if (error == NULL)
    {
      g_autofree char *path = g_file_get_path (sl_download_get_destination (download));
      g_autofree char *size = g_format_size (sl_download_get_bytes_received (download));
      g_autofree char *message = g_strdup_printf (_("Saved “%s” (%s)"), path, size);

      /* The bytes are under their final name: their resume file has nothing left to say. */
      ctx->delete_resume = TRUE;
      g_clear_pointer (&ctx->resume_pending, g_bytes_unref);
      info (ctx, message);
      /* Even --quiet says so: a script should know the file may be short. */
      if (!sl_download_get_length_checked (download))
        sl_cli_print_error (_("Warning: the server sent no length, so whether “%s” is "
                              "complete could not be checked"), path);
      ctx->exit_code = SL_EXIT_DONE;
    }
  else
    {
      sl_cli_print_error ("%s", error->message);
      ctx->exit_code = exit_code_for_error (error);
      /* The bytes that did not match are gone, and so is what they were. */
      if (g_error_matches (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_CHECKSUM))
        {
          ctx->delete_resume = TRUE;
          g_clear_pointer (&ctx->resume_pending, g_bytes_unref);
        }
    }

  ctx->quit_after_write = TRUE;
  maybe_quit (ctx);
}

static void
on_paused (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  GetContext *ctx = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) resume_data = NULL;

  resume_data = sl_download_pause_finish (SL_DOWNLOAD (object), result, &error);
  clear_progress_line (ctx);

  /* A download that ended meanwhile already said how; keep its exit code. */
  if (resume_data == NULL)
    return;

  ctx->exit_code = ctx->signal_exit;
  if (ctx->resume_path != NULL)
    info (ctx, _("Paused; run the same command again to resume"));
  ctx->quit_after_write = TRUE;
  maybe_quit (ctx);
}

typedef struct
{
  GetContext *ctx;
  int         exit_code;
} SignalData;

static gboolean
on_stop_signal (gpointer user_data)
{
  SignalData *data = user_data;
  GetContext *ctx = data->ctx;

  /* The first signal pauses cleanly; the resume data is written before exiting. */
  if (ctx->signal_exit != 0)
    return G_SOURCE_CONTINUE;

  ctx->signal_exit = data->exit_code;
  sl_download_pause_async (ctx->download, NULL, on_paused, ctx);
  return G_SOURCE_CONTINUE;
}

static gboolean
parse_header (const char  *text,
              char       **name,
              char       **value,
              GError     **error)
{
  const char *colon = strchr (text, ':');
  g_autofree char *n = NULL;
  g_autofree char *v = NULL;

  if (colon == NULL || colon == text)
    {
      g_autofree char *escaped = g_strescape (text, NULL);

      g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_ARGUMENT,
                   _("Header “%s” is not of the form “Name: value”"), escaped);
      return FALSE;
    }

  /* The daemon's rule for the headers of Manager1.Add. */
  n = g_strstrip (g_strndup (text, colon - text));
  v = g_strstrip (g_strdup (colon + 1));
  if (!sl_header_check (n, v, error))
    return FALSE;

  *name = g_steal_pointer (&n);
  *value = g_steal_pointer (&v);
  return TRUE;
}

/* Finds the resume data that an earlier run of the same command left in @directory: the
 * .resume file beside a partial file whose URI (and chosen name, with -o) match. */
static GBytes *
find_resume_data (GetContext *ctx,
                  const char *directory,
                  const char *uri,
                  const char *filename)
{
  g_autoptr (GDir) dir = g_dir_open (directory, 0, NULL);
  const char *entry;

  if (dir == NULL)
    return NULL;

  while ((entry = g_dir_read_name (dir)))
    {
      g_autofree char *path = NULL;
      g_autofree char *contents = NULL;
      g_autoptr (GBytes) bytes = NULL;
      g_autoptr (SlResumeData) data = NULL;
      g_autoptr (GError) error = NULL;
      gsize length;

      if (!g_str_has_suffix (entry, ".part" RESUME_SUFFIX))
        continue;

      path = g_build_filename (directory, entry, NULL);
      if (!g_file_get_contents (path, &contents, &length, &error))
        continue;

      bytes = g_bytes_new_take (g_steal_pointer (&contents), length);
      data = sl_resume_data_parse (bytes, &error);
      if (data == NULL)
        {
          g_autofree char *message = g_strdup_printf (_("Ignoring “%s”: %s"), path,
                                                      error->message);

          /* The partial file stays: the download checks its bytes against the server's
           * before it keeps any of them. */
          info (ctx, message);
          g_unlink (path);
          continue;
        }

      if (g_strcmp0 (data->uri, uri) != 0)
        continue;
      if (filename != NULL && (!data->explicit_name || g_strcmp0 (data->filename, filename) != 0))
        continue;
      if (filename == NULL && data->explicit_name)
        continue;

      ctx->resume_path = g_steal_pointer (&path);
      return g_steal_pointer (&bytes);
    }

  return NULL;
}

static int
cmd_get (int    argc,
         char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *output = NULL;
  g_autofree char *directory = NULL;
  g_auto (GStrv) headers = NULL;
  g_autofree char *checksum = NULL;
  g_autofree char *limit_rate = NULL;
  g_autofree char *dir_path = NULL;
  g_autofree char *filename = NULL;
  g_autoptr (GUri) uri = NULL;
  g_autofree char *uri_string = NULL;
  g_autoptr (GBytes) resume_data = NULL;
  g_autoptr (SoupSession) session = NULL;
  g_autoptr (SlDownload) download = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  gboolean quiet = FALSE;
  gboolean overwrite = FALSE;
  int connections = 0;
  int retries = 5;
  double retry_delay = 1.0;
  int stall_timeout = 30;
  guint64 rate = 0;
  GetContext ctx = { 0 };
  SignalData sigint_data = { &ctx, SL_EXIT_SIGINT };
  SignalData sigterm_data = { &ctx, SL_EXIT_SIGTERM };
  guint sigint_source, sigterm_source;
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, N_("Save as FILE"), N_("FILE") },
    { "directory", 'd', 0, G_OPTION_ARG_FILENAME, &directory, N_("Save into DIR"), N_("DIR") },
    { "overwrite", 0, 0, G_OPTION_ARG_NONE, &overwrite,
      N_("Replace a file of the same name, once the new one is complete"), NULL },
    { "connections", 'x', 0, G_OPTION_ARG_INT, &connections,
      N_("Use N connections at once (1–16), or 0 to add them while they pay (the default)"),
      N_("N") },
    { "limit-rate", 0, 0, G_OPTION_ARG_STRING, &limit_rate,
      N_("Read at most RATE bytes a second (K, M and G suffixes, as curl)"), N_("RATE") },
    { "header", 'H', 0, G_OPTION_ARG_STRING_ARRAY, &headers, N_("Send an extra header"),
      N_("'Name: value'") },
    { "checksum", 0, 0, G_OPTION_ARG_STRING, &checksum,
      N_("Check the file before giving it its name"), N_("sha256=HEX") },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, N_("Print only errors"), NULL },
    { "retry", 0, 0, G_OPTION_ARG_INT, &retries,
      N_("Retry a network failure up to N times in a row (default 5)"), N_("N") },
    { "retry-delay", 0, 0, G_OPTION_ARG_DOUBLE, &retry_delay,
      N_("First retry after SECONDS, doubling each time (default 1)"), N_("SECONDS") },
    { "stall-timeout", 0, 0, G_OPTION_ARG_INT, &stall_timeout,
      N_("Count a connection that sends nothing for SECONDS as failed (default 30)"),
      N_("SECONDS") },
    G_OPTION_ENTRY_NULL
  };

  context = g_option_context_new (_("URL — download URL here, resuming an earlier run"));
  g_option_context_set_help_enabled (context, TRUE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return sl_cli_usage_error (context, error->message);

  if (argc != 2)
    return sl_cli_usage_error (context, argc < 2 ? _("No URL given") : _("Give exactly one URL"));
  if (output != NULL && directory != NULL)
    return sl_cli_usage_error (context, _("Give either -o FILE or -d DIR, not both"));
  if (connections < 0 || connections > SL_DOWNLOAD_MAX_CONNECTIONS)
    return sl_cli_usage_error (context, _("Connections must be between 0 (automatic) and 16"));
  if (retries < 0 || retry_delay < 0 || retry_delay > 3600 || stall_timeout < 1)
    return sl_cli_usage_error (context, _("Retry and timeout values must be positive"));
  if (limit_rate != NULL && !sl_cli_parse_rate (limit_rate, &rate))
    return sl_cli_usage_error (context, _("A rate is a number with an optional K, M or G suffix"));

  uri = sl_uri_parse_download (argv[1], &error);
  if (uri == NULL)
    {
      sl_cli_print_error ("%s", error->message);
      return SL_EXIT_USAGE;
    }
  uri_string = g_uri_to_string (uri);

  if (output != NULL)
    {
      g_autofree char *base = g_path_get_basename (output);
      g_autofree char *parent = g_path_get_dirname (output);

      if (g_str_has_suffix (output, "/"))
        {
          sl_cli_print_error (_("“%s” is not a file name"), output);
          return SL_EXIT_USAGE;
        }
      filename = g_steal_pointer (&base);
      dir_path = g_canonicalize_filename (parent, NULL);
    }
  else
    dir_path = g_canonicalize_filename (directory ? directory : ".", NULL);

  if (!sl_cli_names_are_text (filename, dir_path))
    return SL_EXIT_USAGE;
  if (filename != NULL && !sl_filename_check (filename, &error))
    {
      sl_cli_print_error ("%s", error->message);
      return SL_EXIT_USAGE;
    }
  if (!sl_cli_folder_is_usable (dir_path))
    return SL_EXIT_FILE;

  /* -o names one file: that one or an error, never another name. */
  if (filename != NULL && !overwrite)
    {
      g_autofree char *path = g_build_filename (dir_path, filename, NULL);

      if (g_file_test (path, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK))
        {
          sl_cli_print_error (_("“%s” already exists; use --overwrite to replace it"), path);
          return SL_EXIT_FILE;
        }
    }

  ctx.quiet = quiet;
  ctx.tty = isatty (STDERR_FILENO);
  ctx.exit_code = SL_EXIT_DONE;


  /* libsoup 3.2 allows 2 connections to a host unless told at construction. */
  session = soup_session_new_with_options ("user-agent", PACKAGE_NAME "/" PACKAGE_VERSION,
                                           "max-conns", 2 * SL_DOWNLOAD_MAX_CONNECTIONS,
                                           "max-conns-per-host", 2 * SL_DOWNLOAD_MAX_CONNECTIONS,
                                           NULL);

  resume_data = find_resume_data (&ctx, dir_path, uri_string, filename);
  if (resume_data != NULL)
    {
      download = sl_download_new_from_resume_data (session, resume_data, &error);
      if (download == NULL)
        {
          g_autofree char *message = g_strdup_printf (_("Ignoring resume data: %s"),
                                                      error->message);

          info (&ctx, message);
          g_clear_error (&error);
          g_clear_pointer (&ctx.resume_path, g_free);
        }
      else
        info (&ctx, _("Resuming an earlier download"));
    }

  if (download == NULL)
    {
      g_autoptr (GFile) dir = g_file_new_for_path (dir_path);

      download = sl_download_new (session, uri_string, &error);
      if (download == NULL)
        {
          sl_cli_print_error ("%s", error->message);
          return SL_EXIT_USAGE;
        }
      sl_download_set_directory (download, dir);
      if (filename != NULL)
        sl_download_set_filename (download, filename);
    }

  if (overwrite)
    sl_download_set_name_policy (download, SL_NAME_POLICY_REPLACE);
  else if (filename != NULL)
    sl_download_set_name_policy (download, SL_NAME_POLICY_EXACT);

  for (guint i = 0; headers != NULL && headers[i] != NULL; i++)
    {
      g_autofree char *name = NULL;
      g_autofree char *value = NULL;

      if (!parse_header (headers[i], &name, &value, &error))
        {
          sl_cli_print_error ("%s", error->message);
          return SL_EXIT_USAGE;
        }
      sl_download_add_header (download, name, value);
    }

  if (!sl_download_set_checksum (download, checksum, &error))
    {
      sl_cli_print_error ("%s", error->message);
      return SL_EXIT_USAGE;
    }

  sl_download_set_max_retries (download, retries);
  sl_download_set_retry_delay (download, (guint) (retry_delay * 1000));
  sl_download_set_stall_timeout (download, stall_timeout);
  /* -x N uses N connections at once; without it, or with 0, the download adds them while they
   * pay. */
  if (connections > 0)
    sl_download_set_max_connections (download, connections);
  else
    sl_download_set_adaptive_connections (download, SL_DOWNLOAD_DEFAULT_CONNECTIONS);
  sl_download_set_speed_limit (download, rate);

  loop = g_main_loop_new (NULL, FALSE);
  ctx.loop = loop;
  ctx.download = download;

  g_signal_connect (download, "data-written", G_CALLBACK (on_data_written), &ctx);
  g_signal_connect (download, "checkpoint", G_CALLBACK (on_checkpoint), &ctx);
  g_signal_connect (download, "restarted", G_CALLBACK (on_restarted), &ctx);
  g_signal_connect (download, "completed", G_CALLBACK (on_completed), &ctx);
  g_signal_connect (download, "notify::state", G_CALLBACK (on_state_changed), &ctx);

  sigint_source = g_unix_signal_add (SIGINT, on_stop_signal, &sigint_data);
  sigterm_source = g_unix_signal_add (SIGTERM, on_stop_signal, &sigterm_data);

  sl_download_start (download);
  g_main_loop_run (loop);

  g_source_remove (sigint_source);
  g_source_remove (sigterm_source);
  g_signal_handlers_disconnect_by_data (download, &ctx);
  clear_progress_line (&ctx);
  g_free (ctx.resume_path);
  g_clear_pointer (&ctx.resume_pending, g_bytes_unref);
  g_clear_error (&ctx.resume_error);

  return ctx.exit_code;
}

static void
print_usage (FILE *out)
{
  fprintf (out, "%s",
           _("Usage: sluicectl COMMAND [OPTION…]\n"
             "\n"
             "Commands:\n"
             "  get URL [-o FILE | -d DIR] [-H 'Name: value']… [--checksum sha256=HEX] [--quiet]\n"
             "      Download URL in this process, resuming an earlier run of the same command\n"
             "  add URL… [-d DIR] [-o NAME] [--paused] [-x N] [--limit-rate RATE]\n"
             "      [--checksum sha256=HEX]\n"
             "                            Add downloads to the Sluice daemon (prints their IDs)\n"
             "  list [--json]             List the daemon’s downloads\n"
             "  pause ID…|--all           Pause downloads\n"
             "  resume ID…|--all          Resume downloads\n"
             "  cancel ID…                Cancel downloads, deleting their partial files\n"
             "  remove ID… [--delete-file]\n"
             "                            Take downloads off the list\n"
             "  wait ID…                  Wait until downloads end\n"
             "  verify ID…                Check completed downloads against their checksums\n"
             "  limit [RATE [ID…]]        Show or set the speed limit of all downloads, or\n"
             "                            set that of some (RATE as 500K or 2M, 0 or none)\n"
             "  browser install|status|uninstall [--browser NAME]…\n"
             "                            Set up browsers to hand downloads to Sluice\n"
             "\n"
             "Run “sluicectl COMMAND --help” for a command’s options.\n"));
}

int
main (int    argc,
      char **argv)
{
  sl_soup_workarounds_init ();
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* A file-size limit must fail a write with EFBIG, which the engine reports, rather than
   * kill the process. */
  signal (SIGXFSZ, SIG_IGN);
  signal (SIGPIPE, SIG_IGN);

  if (argc < 2)
    {
      print_usage (stderr);
      return SL_EXIT_USAGE;
    }

  if (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h") ||
      g_str_equal (argv[1], "help"))
    {
      print_usage (stdout);
      return SL_EXIT_DONE;
    }

  if (g_str_equal (argv[1], "--version"))
    {
      printf ("sluicectl %s\n", PACKAGE_VERSION);
      return SL_EXIT_DONE;
    }

  /* Each verb's help and usage errors name it as “sluicectl VERB”. */
  {
    g_autofree char *name = g_strdup_printf ("sluicectl %s", argv[1]);

    g_set_prgname (name);
  }

  if (g_str_equal (argv[1], "get"))
    return cmd_get (argc - 1, argv + 1);
  if (g_str_equal (argv[1], "browser"))
    return sl_cli_browser_command (argc - 1, argv + 1);

  {
    int status = sl_remote_command (argv[1], argc - 1, argv + 1);

    if (status >= 0)
      return status;
  }

  sl_cli_print_error (_("Unknown command “%s”"), argv[1]);
  fprintf (stderr, _("Try “%s --help”"), "sluicectl");
  fputc ('\n', stderr);
  return SL_EXIT_USAGE;
}
