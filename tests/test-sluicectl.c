/* test-sluicectl.c
 *
 * `sluicectl get` as a user runs it: a subprocess, its exit codes, its one-line errors, its
 * signals, and re-running the same command to resume.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/resource.h>

#include <glib/gstdio.h>

#include "sl-test-server.h"
#include "sl-test-utils.h"

#define WAIT_MS (60 * 1000)

typedef struct
{
  SlTestServer *server;
  GFile        *dir;
  char         *dir_path;
} Fixture;

typedef struct
{
  int   status;   /* exit status, or 128 + signal */
  char *out;
  char *err;
} Result;

static void
result_clear (Result *result)
{
  g_clear_pointer (&result->out, g_free);
  g_clear_pointer (&result->err, g_free);
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  fixture->server = sl_test_server_new ();
  fixture->dir = sl_test_make_temp_dir ();
  fixture->dir_path = g_file_get_path (fixture->dir);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  sl_test_server_quit_unref (fixture->server);
  sl_test_rm_rf (fixture->dir);
  g_object_unref (fixture->dir);
  g_free (fixture->dir_path);
}

static const char *
sluicectl_path (void)
{
  const char *path = g_getenv ("SLUICECTL");

  if (path == NULL)
    g_error ("SLUICECTL must name the sluicectl binary to test");
  return path;
}

static GPtrArray *
make_argv (const char *first,
           va_list     args)
{
  GPtrArray *argv = g_ptr_array_new_with_free_func (g_free);
  const char *arg;

  g_ptr_array_add (argv, g_strdup (sluicectl_path ()));
  for (arg = first; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, g_strdup (arg));
  g_ptr_array_add (argv, NULL);
  return argv;
}

static int
wait_status (GSubprocess *process)
{
  if (g_subprocess_get_if_signaled (process))
    return 128 + g_subprocess_get_term_sig (process);
  return g_subprocess_get_exit_status (process);
}

static GSubprocessLauncher *
launcher_new (Fixture *fixture)
{
  GSubprocessLauncher *launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);

  g_subprocess_launcher_set_cwd (launcher, fixture->dir_path);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  return launcher;
}

static void
run_with (GSubprocessLauncher *launcher,
          Result              *result,
          const char          *first,
          ...) G_GNUC_NULL_TERMINATED;

static void
run_with (GSubprocessLauncher *launcher,
          Result              *result,
          const char          *first,
          ...)
{
  g_autoptr (GPtrArray) argv = NULL;
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GError) error = NULL;
  va_list args;

  va_start (args, first);
  argv = make_argv (first, args);
  va_end (args);

  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &result->out, &result->err, &error);
  g_assert_no_error (error);
  result->status = wait_status (process);
  g_test_message ("exit %d, stderr: %s", result->status, result->err);
}

#define run_ctl(fixture, result, ...)                                                          \
  G_STMT_START {                                                                               \
    g_autoptr (GSubprocessLauncher) _launcher = launcher_new (fixture);                        \
    run_with (_launcher, result, __VA_ARGS__);                                                 \
  } G_STMT_END

static guint
count_lines (const char *text)
{
  guint lines = 0;

  for (const char *p = text; p && *p; p++)
    if (*p == '\n')
      lines++;
  return lines;
}

static void
assert_one_error_line (Result     *result,
                       const char *fragment)
{
  if (count_lines (result->err) != 1)
    g_error ("expected one line on stderr, got: %s", result->err);
  g_assert_true (g_str_has_prefix (result->err, "sluicectl: "));
  if (fragment != NULL && strstr (result->err, fragment) == NULL)
    g_error ("stderr “%s” does not mention “%s”", result->err, fragment);
}

static void
assert_file_is_entity (Fixture    *fixture,
                       const char *name,
                       guint32     seed,
                       gsize       size)
{
  g_autofree char *path = g_build_filename (fixture->dir_path, name, NULL);

  sl_test_assert_file_is_entity (path, seed, size);
}

static void
test_get_ok (Fixture       *fixture,
             gconstpointer  data)
{
  g_autofree char *url = sl_test_server_url (fixture->server, "/file?size=2000000&seed=3");
  g_autofree char *out = g_build_filename (fixture->dir_path, "out.bin", NULL);
  const char *listing[] = { "out.bin", NULL };
  Result result = { 0 };

  run_ctl (fixture, &result, "get", url, "-o", out, "--quiet", NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_cmpstr (result.err, ==, "");
  g_assert_cmpstr (result.out, ==, "");
  assert_file_is_entity (fixture, "out.bin", 3, 2000000);
  sl_test_assert_dir_is (fixture->dir, listing);
  result_clear (&result);

  /* Never over an existing file; and not quiet, it says where the file went. */
  run_ctl (fixture, &result, "get", url, "-o", out, NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_nonnull (strstr (result.err, "out (1).bin"));
  assert_file_is_entity (fixture, "out (1).bin", 3, 2000000);
  result_clear (&result);
}

static void
test_get_directory (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *url =
    sl_test_server_url (fixture->server,
                        "/disposition?size=500&cd=attachment%3B%20filename%3D%22..%2Fevil.sh%22");
  const char *listing[] = { "sub", NULL };
  g_autofree char *sub = g_build_filename (fixture->dir_path, "sub", NULL);
  g_autofree char *path = g_build_filename (sub, "evil.sh", NULL);
  Result result = { 0 };

  g_assert_cmpint (g_mkdir (sub, 0700), ==, 0);
  run_ctl (fixture, &result, "get", url, "-d", sub, "-q", NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
  sl_test_assert_dir_is (fixture->dir, listing);
  result_clear (&result);
}

/* A name from the host is numbered as a whole, and a page with no name of its own is
 * index.html, numbered before its extension. */
static void
test_get_names (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *root = sl_test_server_url (fixture->server, "/?size=300&seed=8");
  g_autofree char *page = sl_test_server_url (fixture->server, "/?size=200&seed=9&html=1");
  const char *listing[] = { "127.0.0.1", "127.0.0.1 (1)", "index (1).html", "index.html",
                            NULL };
  Result result = { 0 };

  for (guint i = 0; i < 2; i++)
    {
      run_ctl (fixture, &result, "get", root, "-q", NULL);
      g_assert_cmpint (result.status, ==, 0);
      result_clear (&result);

      run_ctl (fixture, &result, "get", page, "-q", NULL);
      g_assert_cmpint (result.status, ==, 0);
      result_clear (&result);
    }

  sl_test_assert_dir_is (fixture->dir, listing);
  assert_file_is_entity (fixture, "127.0.0.1", 8, 300);
  assert_file_is_entity (fixture, "127.0.0.1 (1)", 8, 300);
  assert_file_is_entity (fixture, "index.html", 9, 200);
  assert_file_is_entity (fixture, "index (1).html", 9, 200);
}

static void
test_usage_errors (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autofree char *url = sl_test_server_url (fixture->server, "/file?size=10");
  const char *empty[] = { NULL };
  Result result = { 0 };

  run_ctl (fixture, &result, "--bogus", NULL);
  g_assert_cmpint (result.status, ==, 1);
  result_clear (&result);

  run_ctl (fixture, &result, "frobnicate", NULL);
  g_assert_cmpint (result.status, ==, 1);
  g_assert_nonnull (strstr (result.err, "frobnicate"));
  result_clear (&result);

  run_ctl (fixture, &result, "get", NULL);
  g_assert_cmpint (result.status, ==, 1);
  g_assert_nonnull (strstr (result.err, "No URL"));
  result_clear (&result);

  run_ctl (fixture, &result, "get", "ftp://example.org/file", NULL);
  g_assert_cmpint (result.status, ==, 1);
  assert_one_error_line (&result, "ftp");
  result_clear (&result);

  run_ctl (fixture, &result, "get", "http://exa mple.org/", NULL);
  g_assert_cmpint (result.status, ==, 1);
  assert_one_error_line (&result, NULL);
  result_clear (&result);

  run_ctl (fixture, &result, "get", url, "-o", "a\xff.bin", NULL);
  g_assert_cmpint (result.status, ==, 1);
  assert_one_error_line (&result, "UTF-8");
  result_clear (&result);

  run_ctl (fixture, &result, "get", url, "-o", "a", "-d", "b", NULL);
  g_assert_cmpint (result.status, ==, 1);
  g_assert_nonnull (strstr (result.err, "not both"));
  result_clear (&result);

  run_ctl (fixture, &result, "get", url, "-H", "no colon here", NULL);
  g_assert_cmpint (result.status, ==, 1);
  assert_one_error_line (&result, "Name: value");
  result_clear (&result);

  /* Headers that would break the download, and line breaks, as the daemon refuses them. */
  run_ctl (fixture, &result, "get", url, "-H", "Range: bytes=5-", NULL);
  g_assert_cmpint (result.status, ==, 1);
  assert_one_error_line (&result, "“Range” cannot be given");
  result_clear (&result);

  run_ctl (fixture, &result, "get", url, "-H", "If-None-Match: *", NULL);
  g_assert_cmpint (result.status, ==, 1);
  assert_one_error_line (&result, "“If-None-Match” cannot be given");
  result_clear (&result);

  run_ctl (fixture, &result, "get", url, "-H", "accept-encoding: gzip", NULL);
  g_assert_cmpint (result.status, ==, 1);
  assert_one_error_line (&result, "cannot be given");
  result_clear (&result);

  run_ctl (fixture, &result, "get", url, "-H", "X-A: b\x01c", NULL);
  g_assert_cmpint (result.status, ==, 1);
  assert_one_error_line (&result, "control character");
  result_clear (&result);

  /* Longer than an address may be (a single argument cannot reach a megabyte). */
  {
    g_autofree char *tail = g_strnfill (100 * 1024, 'a');
    g_autofree char *long_url = g_strconcat (url, "&x=", tail, NULL);

    run_ctl (fixture, &result, "get", long_url, NULL);
    g_assert_cmpint (result.status, ==, 1);
    assert_one_error_line (&result, "longer than the 64 KiB");
    result_clear (&result);
  }

  /* A name the daemon would refuse is refused here too, not written as it is. */
  run_ctl (fixture, &result, "get", url, "-o", "tab\there.bin", NULL);
  g_assert_cmpint (result.status, ==, 1);
  assert_one_error_line (&result, "control characters");
  result_clear (&result);

  run_ctl (fixture, &result, "get", url, "--checksum", "md5=00", NULL);
  g_assert_cmpint (result.status, ==, 1);
  assert_one_error_line (&result, "sha256");
  result_clear (&result);

  run_ctl (fixture, &result, "get", url, "--bogus-option", NULL);
  g_assert_cmpint (result.status, ==, 1);
  result_clear (&result);

  sl_test_assert_dir_is (fixture->dir, empty);
}

static void
test_http_error (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autofree char *url = sl_test_server_url (fixture->server, "/status?code=404");
  const char *empty[] = { NULL };
  Result result = { 0 };

  run_ctl (fixture, &result, "get", url, "-q", NULL);
  g_assert_cmpint (result.status, ==, 3);
  assert_one_error_line (&result, "404");
  sl_test_assert_dir_is (fixture->dir, empty);
  result_clear (&result);
}

static void
test_network_error (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/x", sl_test_unused_port ());
  const char *empty[] = { NULL };
  Result result = { 0 };

  run_ctl (fixture, &result, "get", url, "-q", "--retry", "2", "--retry-delay", "0.02", NULL);
  g_assert_cmpint (result.status, ==, 2);
  assert_one_error_line (&result, "refused");
  sl_test_assert_dir_is (fixture->dir, empty);
  result_clear (&result);
}

static void
test_missing_folder (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autofree char *url = sl_test_server_url (fixture->server, "/file?size=10");
  Result result = { 0 };

  run_ctl (fixture, &result, "get", url, "-d", "/nonexistent/folder", NULL);
  g_assert_cmpint (result.status, ==, 4);
  assert_one_error_line (&result, "/nonexistent/folder");
  result_clear (&result);
}

static void
test_checksum (Fixture       *fixture,
               gconstpointer  data)
{
  g_autofree char *url = sl_test_server_url (fixture->server, "/file?size=30000");
  g_autofree char *good = sl_test_entity_sha256 (1, 30000);
  g_autofree char *good_spec = g_strdup_printf ("sha256=%s", good);
  g_autofree char *bad_spec = g_strdup_printf ("sha256=%s", "ab" "cdef0123456789abcdef0123456789"
                                               "abcdef0123456789abcdef0123456789");
  const char *empty[] = { NULL };
  const char *listing[] = { "file", NULL };
  Result result = { 0 };

  run_ctl (fixture, &result, "get", url, "-q", "--checksum", bad_spec, NULL);
  g_assert_cmpint (result.status, ==, 5);
  assert_one_error_line (&result, "Checksum mismatch");
  sl_test_assert_dir_is (fixture->dir, empty);
  result_clear (&result);

  run_ctl (fixture, &result, "get", url, "-q", "--checksum", good_spec, NULL);
  g_assert_cmpint (result.status, ==, 0);
  sl_test_assert_dir_is (fixture->dir, listing);
  result_clear (&result);
}

static void
set_file_size_limit (gpointer data)
{
  struct rlimit limit = { 600000, 600000 };

  setrlimit (RLIMIT_FSIZE, &limit);
}

static void
test_disk_full_then_resume (Fixture       *fixture,
                            gconstpointer  data)
{
  g_autofree char *url = sl_test_server_url (fixture->server, "/file?size=2000000&seed=5");
  g_autoptr (GSubprocessLauncher) limited = launcher_new (fixture);
  const char *partial[] = { "file.part", "file.part.resume", NULL };
  const char *listing[] = { "file", NULL };
  g_autoptr (GPtrArray) requests = NULL;
  Result result = { 0 };

  g_subprocess_launcher_set_child_setup (limited, set_file_size_limit, NULL, NULL);
  run_with (limited, &result, "get", url, "-q", NULL);
  g_assert_cmpint (result.status, ==, 4);
  assert_one_error_line (&result, "File too large");
  sl_test_assert_dir_is (fixture->dir, partial);
  result_clear (&result);

  /* The same command again, with room, continues from the bytes kept. */
  run_ctl (fixture, &result, "get", url, "-q", NULL);
  g_assert_cmpint (result.status, ==, 0);
  assert_file_is_entity (fixture, "file", 5, 2000000);
  sl_test_assert_dir_is (fixture->dir, listing);
  result_clear (&result);

  requests = sl_test_server_requests (fixture->server, "/file");
  g_assert_cmpuint (requests->len, ==, 2);
  g_assert_nonnull (((SlTestRequest *) requests->pdata[1])->range);
}

typedef struct
{
  char   *path;
  gint64  size;
} Growth;

static gboolean
file_grew (gpointer data)
{
  Growth *growth = data;
  GStatBuf st;

  return g_stat (growth->path, &st) == 0 && st.st_size >= growth->size;
}

static void
check_signal_then_resume (Fixture *fixture,
                          int      signum,
                          int      expected_status)
{
  g_autofree char *url =
    sl_test_server_url (fixture->server, "/file?size=3000000&seed=9&rate=1500000&chunk=8192");
  g_autoptr (GSubprocessLauncher) launcher = launcher_new (fixture);
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GPtrArray) argv = NULL;
  g_autoptr (GPtrArray) requests = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;
  const char *listing[] = { "file", NULL };
  Growth growth = { NULL, 300000 };
  Result result = { 0 };
  GStatBuf st;

  argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) sluicectl_path ());
  g_ptr_array_add (argv, "get");
  g_ptr_array_add (argv, url);
  g_ptr_array_add (argv, NULL);
  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);

  growth.path = g_build_filename (fixture->dir_path, "file.part", NULL);
  sl_test_wait_until (NULL, file_grew, &growth, WAIT_MS);
  g_subprocess_send_signal (process, signum);
  g_subprocess_communicate_utf8 (process, NULL, NULL, NULL, &err, &error);
  g_assert_no_error (error);
  g_test_message ("stderr: %s", err);
  g_assert_cmpint (wait_status (process), ==, expected_status);

  /* Nothing under the final name; the partial file and its resume data are there. */
  {
    g_autofree char *final = g_build_filename (fixture->dir_path, "file", NULL);
    g_autofree char *resume = g_build_filename (fixture->dir_path, "file.part.resume", NULL);

    g_assert_false (g_file_test (final, G_FILE_TEST_EXISTS));
    g_assert_true (g_file_test (resume, G_FILE_TEST_IS_REGULAR));
    g_assert_cmpint (g_stat (growth.path, &st), ==, 0);
  }

  run_ctl (fixture, &result, "get", url, NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_nonnull (strstr (result.err, "Resuming"));
  assert_file_is_entity (fixture, "file", 9, 3000000);
  sl_test_assert_dir_is (fixture->dir, listing);
  result_clear (&result);

  if (signum != SIGKILL)
    {
      g_autofree char *expected = NULL;

      /* A clean pause kept every byte it had: the second run asked for the rest. */
      requests = sl_test_server_requests (fixture->server, "/file");
      g_assert_cmpuint (requests->len, ==, 2);
      expected = g_strdup_printf ("bytes=%" G_GINT64_FORMAT "-", (gint64) st.st_size);
      g_assert_cmpstr (((SlTestRequest *) requests->pdata[1])->range, ==, expected);
    }

  g_free (growth.path);
}

static void
test_sigint (Fixture       *fixture,
             gconstpointer  data)
{
  check_signal_then_resume (fixture, SIGINT, 130);
}

static void
test_sigterm (Fixture       *fixture,
              gconstpointer  data)
{
  check_signal_then_resume (fixture, SIGTERM, 143);
}

static void
test_sigkill (Fixture       *fixture,
              gconstpointer  data)
{
  check_signal_then_resume (fixture, SIGKILL, 128 + SIGKILL);
}

static void
test_corrupt_resume_file (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autofree char *url = sl_test_server_url (fixture->server, "/file?size=40000&seed=2");
  g_autofree char *resume = g_build_filename (fixture->dir_path, "file.part.resume", NULL);
  g_autofree char *partial = g_build_filename (fixture->dir_path, "file.part", NULL);
  const char *listing[] = { "file", NULL };
  Result result = { 0 };

  g_assert_true (g_file_set_contents (resume, "SLRESUME\x01garbage", -1, NULL));
  g_assert_true (g_file_set_contents (partial, "junk that must not be spliced", -1, NULL));

  run_ctl (fixture, &result, "get", url, NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_nonnull (strstr (result.err, "Ignoring"));
  assert_file_is_entity (fixture, "file", 2, 40000);
  sl_test_assert_dir_is (fixture->dir, listing);
  result_clear (&result);
}

#define ADD(path, func) \
  g_test_add ("/sluicectl/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  ADD ("get-ok", test_get_ok);
  ADD ("get-directory", test_get_directory);
  ADD ("get-names", test_get_names);
  ADD ("usage-errors", test_usage_errors);
  ADD ("http-error", test_http_error);
  ADD ("network-error", test_network_error);
  ADD ("missing-folder", test_missing_folder);
  ADD ("checksum", test_checksum);
  ADD ("disk-full-then-resume", test_disk_full_then_resume);
  ADD ("sigint", test_sigint);
  ADD ("sigterm", test_sigterm);
  ADD ("sigkill", test_sigkill);
  ADD ("corrupt-resume-file", test_corrupt_resume_file);

  return g_test_run ();
}
