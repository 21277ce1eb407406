/* test-sluicectl.c
 *
 * `sluicectl get` as a user runs it: a subprocess, its exit codes, its one-line errors, its
 * signals, and re-running the same command to resume. Also the usage errors of every verb,
 * `sluicectl wait` against a daemon on a private bus, and `sluicectl browser` writing,
 * checking and removing the browsers' manifests under a home folder of the test's.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <signal.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "sl-resume-data.h"
#include "sl-test-server.h"
#include "sl-test-utils.h"

#define WAIT_MS (60 * 1000)
#define CTL_MS  (30 * 1000)

#define BUS_NAME       "org.sluice.Downloads"
#define ROOT_PATH      "/org/sluice/Downloads"
#define DOWNLOAD_IFACE "org.sluice.Downloads.Download1"

typedef struct
{
  SlTestServer    *server;
  GFile           *dir;
  char            *dir_path;

  /* Only for the tests of the daemon's verbs (daemon_setup()). */
  GTestDBus       *bus;
  const char      *bus_address;
  GDBusConnection *connection;
  GFile           *data_home;
  GSubprocess     *daemon;
  gboolean         name_owned;
  guint            watch_id;
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
  /* A verb that got past its usage checks finds no bus, rather than the session's. */
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS",
                                fixture->bus_address ? fixture->bus_address
                                                     : "unix:path=/nonexistent/bus",
                                TRUE);
  return launcher;
}

static void
run_with (GSubprocessLauncher *launcher,
          Result              *result,
          const char          *first,
          ...) G_GNUC_NULL_TERMINATED;

/* Waits, at most CTL_MS, until @process has exited and closed its output. */
static void
finish (GSubprocess *process,
        Result      *result)
{
  SlTestCommunication comm = { FALSE, NULL, NULL, NULL };

  g_subprocess_communicate_utf8_async (process, NULL, NULL, sl_test_on_communicated, &comm);
  if (!sl_test_iterate_until (NULL, sl_test_flag_is_set, &comm.done, CTL_MS))
    {
      g_subprocess_force_exit (process);
      sl_test_wait_until (NULL, sl_test_flag_is_set, &comm.done, CTL_MS);
      g_error ("sluicectl did not finish within %u ms; stderr: %s", CTL_MS, comm.err);
    }
  g_assert_no_error (comm.error);
  result->out = g_steal_pointer (&comm.out);
  result->err = g_steal_pointer (&comm.err);
  result->status = wait_status (process);
  g_test_message ("exit %d, stderr: %s", result->status, result->err);
}

static GSubprocess *
spawn_with (GSubprocessLauncher *launcher,
            const char          *first,
            va_list              args)
{
  g_autoptr (GPtrArray) argv = make_argv (first, args);
  g_autoptr (GError) error = NULL;
  GSubprocess *process;

  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  return process;
}

static void
run_with (GSubprocessLauncher *launcher,
          Result              *result,
          const char          *first,
          ...)
{
  g_autoptr (GSubprocess) process = NULL;
  va_list args;

  va_start (args, first);
  process = spawn_with (launcher, first, args);
  va_end (args);
  finish (process, result);
}

static GSubprocess *
start_ctl (Fixture    *fixture,
           const char *first,
           ...) G_GNUC_NULL_TERMINATED;

static GSubprocess *
start_ctl (Fixture    *fixture,
           const char *first,
           ...)
{
  g_autoptr (GSubprocessLauncher) launcher = launcher_new (fixture);
  GSubprocess *process;
  va_list args;

  va_start (args, first);
  process = spawn_with (launcher, first, args);
  va_end (args);
  return process;
}

#define run_ctl(fixture, result, ...)                                                          \
  G_STMT_START {                                                                               \
    g_autoptr (GSubprocessLauncher) _launcher = launcher_new (fixture);                        \
    run_with (_launcher, result, __VA_ARGS__);                                                 \
  } G_STMT_END

/* What a child sluicectl may not do. A file size limit (RLIMIT_FSIZE) makes every write past
 * it fail with EFBIG, as a full disk fails it with ENOSPC. A folder it may not write to makes
 * creating a new file there fail; since root passes over permissions, the child of a root
 * test also loses CAP_DAC_OVERRIDE, from its bounding set so that it stays lost across exec. */
typedef struct
{
  rlim_t   file_size_limit;   /* 0 for none */
  gboolean obey_permissions;
} ChildLimits;

static void
limited_child_setup (gpointer data)
{
  const ChildLimits *limits = data;

  if (limits->file_size_limit > 0)
    {
      struct rlimit limit = { limits->file_size_limit, limits->file_size_limit };

      setrlimit (RLIMIT_FSIZE, &limit);
    }

  if (limits->obey_permissions)
    {
      struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
      struct __user_cap_data_struct caps[_LINUX_CAPABILITY_U32S_3];

      prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
      prctl (PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, 0, 0, 0);
      if (syscall (SYS_capget, &header, caps) == 0)
        {
          caps[0].inheritable &= ~(1u << CAP_DAC_OVERRIDE);
          syscall (SYS_capset, &header, caps);
        }
    }
}

static GSubprocessLauncher *
limited_launcher_new (Fixture           *fixture,
                      const ChildLimits *limits)
{
  GSubprocessLauncher *launcher = launcher_new (fixture);

  g_subprocess_launcher_set_child_setup (launcher, limited_child_setup, (gpointer) limits, NULL);
  return launcher;
}

/* Whether a child that obeys permissions really cannot create a file in @folder, which the
 * test made read-only. */
static gboolean
folder_refuses_new_files (Fixture    *fixture,
                          const char *folder)
{
  ChildLimits limits = { 0, TRUE };
  g_autoptr (GSubprocessLauncher) launcher = limited_launcher_new (fixture, &limits);
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *probe = g_build_filename (folder, "probe", NULL);

  process = g_subprocess_launcher_spawn (launcher, &error, "/bin/sh", "-c", ": > \"$1\"", "sh",
                                         probe, NULL);
  g_assert_no_error (error);
  g_subprocess_wait (process, NULL, &error);
  g_assert_no_error (error);
  if (g_file_test (probe, G_FILE_TEST_EXISTS))
    {
      g_unlink (probe);
      return FALSE;
    }
  return TRUE;
}

static GBytes *
read_file_bytes (const char *path)
{
  g_autoptr (GError) error = NULL;
  char *contents = NULL;
  gsize length = 0;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (contents, length);
}

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

  /* Not quiet, it says where the file went. */
  g_assert_cmpint (g_unlink (out), ==, 0);
  run_ctl (fixture, &result, "get", url, "-o", out, NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_nonnull (strstr (result.err, "out.bin"));
  assert_file_is_entity (fixture, "out.bin", 3, 2000000);
  result_clear (&result);

  /* A name from the address is numbered when taken. */
  run_ctl (fixture, &result, "get", url, "-q", NULL);
  g_assert_cmpint (result.status, ==, 0);
  result_clear (&result);
  run_ctl (fixture, &result, "get", url, "-q", NULL);
  g_assert_cmpint (result.status, ==, 0);
  assert_file_is_entity (fixture, "file (1)", 3, 2000000);
  result_clear (&result);
}


/* -x 0 is automatic, as no -x: the first request asks for "bytes=0-"; -x 1 asks plainly. */
static void
test_get_connections (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autofree char *url = sl_test_server_url (fixture->server, "/file?size=300000&seed=4");
  g_autofree char *out = g_build_filename (fixture->dir_path, "out.bin", NULL);
  g_autoptr (GPtrArray) requests = NULL;
  Result result = { 0 };

  run_ctl (fixture, &result, "get", url, "-x", "0", "-o", out, "--quiet", NULL);
  g_assert_cmpint (result.status, ==, 0);
  assert_file_is_entity (fixture, "out.bin", 4, 300000);
  result_clear (&result);
  g_assert_cmpint (g_unlink (out), ==, 0);
  run_ctl (fixture, &result, "get", url, "-x", "1", "-o", out, "--quiet", NULL);
  g_assert_cmpint (result.status, ==, 0);
  result_clear (&result);

  requests = sl_test_server_requests (fixture->server, "/file");
  g_assert_cmpuint (requests->len, ==, 2);
  g_assert_cmpstr (((SlTestRequest *) requests->pdata[0])->range, ==, "bytes=0-");
  g_assert_null (((SlTestRequest *) requests->pdata[1])->range);
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
  assert_one_error_line (&result, "32 hexadecimal digits");
  result_clear (&result);

  run_ctl (fixture, &result, "get", url, "--checksum", "crc32=00", NULL);
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

/* A usage error: exit 1, nothing on stdout, and on stderr exactly two lines, what was wrong
 * and where the verb's help is. */
static void
assert_usage_error (Result     *result,
                    const char *verb)
{
  g_auto (GStrv) lines = g_strsplit (result->err, "\n", -1);
  g_autofree char *hint = verb ? g_strdup_printf ("Try “sluicectl %s --help”", verb)
                               : g_strdup ("Try “sluicectl --help”");

  g_assert_cmpint (result->status, ==, 1);
  g_assert_cmpstr (result->out, ==, "");
  if (count_lines (result->err) != 2 || !g_str_has_suffix (result->err, "\n"))
    g_error ("expected two lines on stderr, got: %s", result->err);
  g_assert_true (g_str_has_prefix (lines[0], "sluicectl: "));
  g_assert_cmpstr (lines[1], ==, hint);
}

static void
test_usage_lines (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autofree char *url = sl_test_server_url (fixture->server, "/file?size=10");
  const char *empty[] = { NULL };
  /* Each case: the verb its help belongs to (NULL for none), then the arguments. */
  const char *cases[][8] = {
    { "get", "get", url, "-o", "x", "-d", "y", NULL },
    { "get", "get", url, "--retry", "-3", NULL },
    { "get", "get", url, "--retry", "many", NULL },
    { "get", "get", url, "--limit-rate", "banana", NULL },
    /* A rate is digits, a point and a suffix: not what strtod() also reads, nor too small to
     * be one byte a second, nor past 2^63. */
    { "get", "get", url, "--limit-rate", "nan", NULL },
    { "get", "get", url, "--limit-rate", "inf", NULL },
    { "get", "get", url, "--limit-rate", "-5K", NULL },
    { "get", "get", url, "--limit-rate", "0x10", NULL },
    { "get", "get", url, "--limit-rate", "0.5", NULL },
    { "get", "get", url, "--limit-rate", "1.2.3M", NULL },
    { "get", "get", url, "--limit-rate", "9999999999G", NULL },
    { "get", "get", url, "-x", "17", NULL },
    { "get", "get", url, "-x", "-1", NULL },
    { "get", "get", url, url, NULL },
    { "get", "get", NULL },
    { "get", "get", url, "--bogus-option", NULL },
    { "add", "add", NULL },
    { "add", "add", "-o", "name", url, url, NULL },
    { "add", "add", url, "-x", "17", NULL },
    { "add", "add", url, "-x", "-1", NULL },
    { "add", "add", url, "-x", "many", NULL },
    { "add", "add", url, "--limit-rate", "banana", NULL },
    { "add", "add", url, "--limit-rate", "0", NULL },
    { "list", "list", "extra", NULL },
    { "list", "list", "--bogus", NULL },
    { "pause", "pause", "abc", NULL },
    { "pause", "pause", NULL },
    { "pause", "pause", "--all", "3", NULL },
    { "resume", "resume", "0", NULL },
    { "cancel", "cancel", NULL },
    { "cancel", "cancel", "--all", NULL },
    { "remove", "remove", "x1", NULL },
    { "wait", "wait", "abc", NULL },
    { "wait", "wait", NULL },
    { "verify", "verify", NULL },
    { "verify", "verify", "3", "abc", NULL },
    { "verify", "verify", "--all", NULL },
    { "limit", "limit", "banana", NULL },
    { "limit", "limit", "0.5", NULL },
    { "limit", "limit", "-1", NULL },
    { "limit", "limit", "1M", "abc", NULL },
    { "browser", "browser", NULL },
    { "browser", "browser", "frobnicate", NULL },
    { "browser", "browser", "status", "extra", NULL },
    { "browser", "browser", "install", "--browser", "netscape", NULL },
    { "browser", "browser", "uninstall", "--bogus", NULL },
    { NULL, "frobnicate", NULL },
    { NULL, "--bogus", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GSubprocessLauncher) launcher = launcher_new (fixture);
      g_autoptr (GPtrArray) argv = g_ptr_array_new ();
      g_autoptr (GSubprocess) process = NULL;
      g_autoptr (GError) error = NULL;
      Result result = { 0 };

      g_ptr_array_add (argv, (char *) sluicectl_path ());
      for (guint j = 1; cases[i][j] != NULL; j++)
        g_ptr_array_add (argv, (char *) cases[i][j]);
      g_ptr_array_add (argv, NULL);

      g_test_message ("sluicectl %s …", cases[i][1]);
      process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata,
                                              &error);
      g_assert_no_error (error);
      finish (process, &result);
      assert_usage_error (&result, cases[i][0]);
      result_clear (&result);
    }

  sl_test_assert_dir_is (fixture->dir, empty);

  /* Help itself is no error: on stdout, naming the verb. */
  {
    Result result = { 0 };

    run_ctl (fixture, &result, "get", "--help", NULL);
    g_assert_cmpint (result.status, ==, 0);
    g_assert_cmpstr (result.err, ==, "");
    g_assert_nonnull (strstr (result.out, "sluicectl get"));
    result_clear (&result);
  }
}

/* Where a folder cannot take the download, the one line says why: it is missing, it is a
 * file, or it is not writable. */
static void
test_folder_errors (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *url = sl_test_server_url (fixture->server, "/file?size=10");
  g_autofree char *plain = g_build_filename (fixture->dir_path, "plain", NULL);
  g_autofree char *inside_plain = g_build_filename (plain, "sub", NULL);
  g_autofree char *output_in_plain = g_build_filename (plain, "out.bin", NULL);
  g_autofree char *missing = g_build_filename (fixture->dir_path, "missing", NULL);
  g_autofree char *locked = g_build_filename (fixture->dir_path, "locked", NULL);
  g_autofree char *not_a_folder = g_strdup_printf ("“%s” is not a folder", plain);
  g_autofree char *does_not_exist = g_strdup_printf ("“%s” does not exist", missing);
  g_autofree char *not_writable = g_strdup_printf ("“%s” is not writable", locked);
  const char *listing[] = { "locked", "plain", NULL };
  const char *nothing[] = { NULL };
  Result result = { 0 };

  g_assert_true (g_file_set_contents (plain, "a file", -1, NULL));
  g_assert_cmpint (g_mkdir (locked, 0555), ==, 0);

  run_ctl (fixture, &result, "get", url, "-d", plain, NULL);
  g_assert_cmpint (result.status, ==, 4);
  assert_one_error_line (&result, not_a_folder);
  result_clear (&result);

  run_ctl (fixture, &result, "get", url, "-o", output_in_plain, NULL);
  g_assert_cmpint (result.status, ==, 4);
  assert_one_error_line (&result, not_a_folder);
  result_clear (&result);

  run_ctl (fixture, &result, "get", url, "-d", inside_plain, NULL);
  g_assert_cmpint (result.status, ==, 4);
  assert_one_error_line (&result, "does not exist");
  result_clear (&result);

  run_ctl (fixture, &result, "get", url, "-d", missing, NULL);
  g_assert_cmpint (result.status, ==, 4);
  assert_one_error_line (&result, does_not_exist);
  result_clear (&result);

  if (folder_refuses_new_files (fixture, locked))
    {
      ChildLimits limits = { 0, TRUE };
      g_autoptr (GSubprocessLauncher) launcher = limited_launcher_new (fixture, &limits);

      run_with (launcher, &result, "get", url, "-d", locked, NULL);
      g_assert_cmpint (result.status, ==, 4);
      assert_one_error_line (&result, not_writable);
      result_clear (&result);
    }
  else
    g_test_message ("a read-only folder still takes new files here; that part is skipped");

  sl_test_assert_dir_is (fixture->dir, listing);
  {
    g_autoptr (GFile) locked_dir = g_file_new_for_path (locked);

    sl_test_assert_dir_is (locked_dir, nothing);
  }
  g_assert_cmpint (g_chmod (locked, 0755), ==, 0);
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
  const char *kept[] = { "file.part", NULL };
  const char *listing[] = { "file", NULL };
  Result result = { 0 };

  run_ctl (fixture, &result, "get", url, "-q", "--checksum", bad_spec, NULL);
  g_assert_cmpint (result.status, ==, 5);
  assert_one_error_line (&result, "Checksum mismatch");
  /* The bytes stay under the partial name; with the right digest, they check out. */
  sl_test_assert_dir_is (fixture->dir, kept);
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

/* A run that cannot write its resume data must leave the last good copy as it was: the file
 * is replaced (a temporary file beside it, synced, renamed over it), never rewritten in
 * place. A real full disk is out of reach of a test, so a file size limit (RLIMIT_FSIZE) in
 * the child sluicectl stands in for it: set below the size of the resume data, it makes
 * writing that fail part way, with EFBIG where a full disk gives ENOSPC, and needs no
 * privileges, so the test runs the same for root and for a user. (A folder that refuses new
 * files, which would also stop the temporary file, cannot stand in: `get` refuses a folder it
 * cannot write to before it starts.) */
static void
test_resume_file_survives_failed_write (Fixture       *fixture,
                                        gconstpointer  data)
{
  g_autofree char *url = sl_test_server_url (fixture->server, "/file?size=2000000&seed=6");
  g_autofree char *resume = g_build_filename (fixture->dir_path, "file.part.resume", NULL);
  const char *partial[] = { "file.part", "file.part.resume", NULL };
  const char *listing[] = { "file", NULL };
  ChildLimits full_disk = { 600000, FALSE };
  ChildLimits no_room = { 16, FALSE };
  g_autoptr (GBytes) kept = NULL;
  g_autoptr (GPtrArray) requests = NULL;
  SlTestRequest *last;
  Result result = { 0 };

  /* A first run stops on a full disk, with resume data worth keeping. */
  {
    g_autoptr (GSubprocessLauncher) launcher = limited_launcher_new (fixture, &full_disk);

    run_with (launcher, &result, "get", url, "-q", NULL);
  }
  g_assert_cmpint (result.status, ==, 4);
  assert_one_error_line (&result, "File too large");
  sl_test_assert_dir_is (fixture->dir, partial);
  result_clear (&result);
  kept = read_file_bytes (resume);
  g_assert_cmpuint (g_bytes_get_size (kept), >, no_room.file_size_limit);

  /* Resumed with no room even for the resume data: the download stops at once, and neither
   * the old resume file nor any temporary one is changed or left over. */
  {
    g_autoptr (GSubprocessLauncher) launcher = limited_launcher_new (fixture, &no_room);
    g_autoptr (GBytes) now = NULL;

    run_with (launcher, &result, "get", url, "-q", NULL);
    g_assert_cmpint (result.status, ==, 4);
    assert_one_error_line (&result, "File too large");
    sl_test_assert_dir_is (fixture->dir, partial);
    now = read_file_bytes (resume);
    sl_assert_bytes_equal (now, kept);
    result_clear (&result);
  }

  /* With room again, the same command resumes from the kept resume data. */
  run_ctl (fixture, &result, "get", url, NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_nonnull (strstr (result.err, "Resuming"));
  g_assert_null (strstr (result.err, "Ignoring"));
  assert_file_is_entity (fixture, "file", 6, 2000000);
  sl_test_assert_dir_is (fixture->dir, listing);
  result_clear (&result);

  requests = sl_test_server_requests (fixture->server, "/file");
  last = requests->pdata[requests->len - 1];
  g_assert_nonnull (last->range);
  g_assert_cmpstr (last->range, !=, "bytes=0-");
}

typedef struct
{
  char   *path;
  char   *resume_path;
  gint64  size;
} Growth;

/* Whether the partial file has grown to the size wanted; meanwhile, its resume file is
 * either absent or whole whenever it is looked at. */
static gboolean
file_grew (gpointer data)
{
  Growth *growth = data;
  g_autofree char *contents = NULL;
  gsize length;
  GStatBuf st;

  if (g_file_get_contents (growth->resume_path, &contents, &length, NULL))
    {
      g_autoptr (GBytes) bytes = g_bytes_new_take (g_steal_pointer (&contents), length);
      g_autoptr (GError) error = NULL;
      g_autoptr (SlResumeData) resume = sl_resume_data_parse (bytes, &error);

      if (resume == NULL)
        g_error ("the resume file was seen incomplete (%" G_GSIZE_FORMAT " bytes): %s", length,
                 error->message);
    }

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
  Growth growth = { NULL, NULL, 300000 };
  Result result = { 0 };
  GStatBuf st;

  argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) sluicectl_path ());
  g_ptr_array_add (argv, "get");
  g_ptr_array_add (argv, url);
  /* One connection, so that the bytes kept are the partial file's first ones. */
  g_ptr_array_add (argv, "-x");
  g_ptr_array_add (argv, "1");
  g_ptr_array_add (argv, NULL);
  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);

  growth.path = g_build_filename (fixture->dir_path, "file.part", NULL);
  growth.resume_path = g_build_filename (fixture->dir_path, "file.part.resume", NULL);
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

  run_ctl (fixture, &result, "get", url, "-x", "1", NULL);
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
  g_free (growth.resume_path);
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

/* A server that announces more than it ever sends fails fast, at the default settings. */
static void
test_server_stops (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autofree char *url = sl_test_server_url (fixture->server,
                                             "/stops-at?size=1048576&at=983040&seed=2");
  gint64 started = g_get_monotonic_time ();
  Result result = { 0 };

  run_ctl (fixture, &result, "get", url, "-q", NULL);
  g_assert_cmpint (result.status, ==, 3);
  assert_one_error_line (&result, "The server announced 1,048,576 bytes but stops at 983,040");
  g_test_message ("failed after %.1f s", (g_get_monotonic_time () - started) / 1e6);
  g_assert_cmpint (g_get_monotonic_time () - started, <, 10 * G_TIME_SPAN_SECOND);
  result_clear (&result);
}

/* A body that came without a length, from a server that does not do ranges, is saved, and
 * the user is told that its end could not be checked; one that could be checked says
 * nothing. */
static void
test_length_unchecked (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autofree char *url = sl_test_server_url (fixture->server, "/chunked?size=5000&seed=4");
  g_autofree char *checked = sl_test_server_url (fixture->server,
                                                 "/chunk-cut?size=5000&seed=4&at=5000");
  Result result = { 0 };

  run_ctl (fixture, &result, "get", url, "-q", NULL);
  g_assert_cmpint (result.status, ==, 0);
  assert_one_error_line (&result, "could not be checked");
  assert_file_is_entity (fixture, "chunked", 4, 5000);
  result_clear (&result);

  run_ctl (fixture, &result, "get", checked, "-q", NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_cmpstr (result.err, ==, "");
  assert_file_is_entity (fixture, "chunk-cut", 4, 5000);
  result_clear (&result);
}

/* The daemon's verbs */

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

static gboolean
name_is_owned (gpointer data)
{
  return ((Fixture *) data)->name_owned;
}

static gboolean
name_is_gone (gpointer data)
{
  return !((Fixture *) data)->name_owned;
}

/* The daemon must not outlive a test that crashed. */
static void
daemon_child_setup (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* A private bus with sluiced on it, which keeps its list in a folder of the test's. */
static void
daemon_setup (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr (GError) error = NULL;

  fixture_setup (fixture, data);
  fixture->data_home = sl_test_make_temp_dir ();

  fixture->bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  sl_test_set_cloexec_everywhere ();
  g_test_dbus_up (fixture->bus);
  fixture->bus_address = g_test_dbus_get_bus_address (fixture->bus);
  fixture->connection =
    g_dbus_connection_new_for_address_sync (fixture->bus_address,
                                            G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                            G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                            NULL, NULL, &error);
  g_assert_no_error (error);
  fixture->watch_id = g_bus_watch_name_on_connection (fixture->connection, BUS_NAME,
                                                      G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                      on_name_appeared, on_name_vanished,
                                                      fixture, NULL);

  g_subprocess_launcher_set_child_setup (launcher, daemon_child_setup, NULL, NULL);
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS", fixture->bus_address,
                                TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_DATA_HOME", g_file_peek_path (fixture->data_home),
                                TRUE);
  fixture->daemon = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("SLUICED"),
                                                 "--idle-timeout", "600", NULL);
  g_assert_no_error (error);
  sl_test_wait_until (NULL, name_is_owned, fixture, CTL_MS);
}

static void
daemon_teardown (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr (GError) error = NULL;

  g_subprocess_send_signal (fixture->daemon, SIGTERM);
  sl_test_wait_until (NULL, name_is_gone, fixture, CTL_MS);
  g_subprocess_wait (fixture->daemon, NULL, &error);
  g_assert_no_error (error);
  g_clear_object (&fixture->daemon);

  g_bus_unwatch_name (fixture->watch_id);
  g_dbus_connection_close_sync (fixture->connection, NULL, NULL);
  g_clear_object (&fixture->connection);
  g_test_dbus_down (fixture->bus);
  g_clear_object (&fixture->bus);
  fixture->bus_address = NULL;

  sl_test_rm_rf (fixture->data_home);
  g_clear_object (&fixture->data_home);
  fixture_teardown (fixture, data);
}

/* Adds the test server's @path_and_query as @name in the test's folder with `sluicectl add`,
 * paused or not; returns the ID it printed. */
static char *
add_download (Fixture    *fixture,
              const char *path_and_query,
              const char *name,
              gboolean    paused)
{
  g_autofree char *url = sl_test_server_url (fixture->server, path_and_query);
  Result result = { 0 };
  char *id;

  run_ctl (fixture, &result, "add", url, "-d", fixture->dir_path, "-o", name,
           paused ? "--paused" : NULL, NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_cmpstr (result.err, ==, "");
  g_assert_cmpuint (count_lines (result.out), ==, 1);
  id = g_strchomp (g_strdup (result.out));
  result_clear (&result);
  return id;
}

static char *
state_of (Fixture    *fixture,
          const char *id)
{
  g_autofree char *path = g_strdup_printf (ROOT_PATH "/%s", id);
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) value = NULL;
  g_autoptr (GError) error = NULL;

  reply = g_dbus_connection_call_sync (fixture->connection, BUS_NAME, path,
                                       "org.freedesktop.DBus.Properties", "Get",
                                       g_variant_new ("(ss)", DOWNLOAD_IFACE, "State"),
                                       G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NONE, CTL_MS,
                                       NULL, &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(v)", &value);
  return g_variant_dup_string (value, NULL);
}

typedef struct
{
  Fixture    *fixture;
  const char *id;
  const char *state;
} StateWait;

static gboolean
state_is (gpointer data)
{
  StateWait *wait = data;
  g_autofree char *state = state_of (wait->fixture, wait->id);

  return g_str_equal (state, wait->state);
}

static void
wait_for_state (Fixture    *fixture,
                const char *id,
                const char *state)
{
  StateWait wait = { fixture, id, state };

  sl_test_wait_until (NULL, state_is, &wait, WAIT_MS);
}

static void
assert_only_line (Result     *result,
                  const char *line)
{
  g_autofree char *expected = g_strdup_printf ("sluicectl: %s\n", line);

  g_assert_cmpstr (result->err, ==, expected);
}

/* `wait` ends for each download named once it completed, failed, was canceled or is paused
 * (a paused download does not go on by itself), says so in one line for each that did not
 * complete, and exits with the status of the first: 7 for paused, 8 for canceled. */
static void
test_wait_outcomes (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *paused = add_download (fixture, "/file?size=1000&seed=40", "paused.bin", TRUE);
  g_autofree char *slow = NULL;
  g_autofree char *small = NULL;
  g_autofree char *line = NULL;
  g_autofree char *state = NULL;
  g_autoptr (GSubprocess) waiting = NULL;
  Result result = { 0 };

  /* Paused already: at once. */
  run_ctl (fixture, &result, "wait", paused, NULL);
  g_assert_cmpint (result.status, ==, 7);
  line = g_strdup_printf ("Download %s is paused", paused);
  assert_only_line (&result, line);
  g_assert_cmpstr (result.out, ==, "");
  result_clear (&result);

  /* Paused while waited for. */
  slow = add_download (fixture, "/file?size=8000000&seed=41&rate=400000", "slow.bin",
                       FALSE);
  waiting = start_ctl (fixture, "wait", slow, NULL);
  wait_for_state (fixture, slow, "running");
  run_ctl (fixture, &result, "pause", slow, NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_cmpstr (result.err, ==, "");
  result_clear (&result);
  finish (waiting, &result);
  g_assert_cmpint (result.status, ==, 7);
  g_clear_pointer (&line, g_free);
  line = g_strdup_printf ("Download %s is paused", slow);
  assert_only_line (&result, line);
  result_clear (&result);

  /* A paused one and one that completes: the wait goes on for the second, and tells of the
   * first. */
  small = add_download (fixture, "/file?size=200000&seed=42&rate=400000", "small.bin",
                        FALSE);
  run_ctl (fixture, &result, "wait", paused, small, NULL);
  g_assert_cmpint (result.status, ==, 7);
  g_clear_pointer (&line, g_free);
  line = g_strdup_printf ("Download %s is paused", paused);
  assert_only_line (&result, line);
  result_clear (&result);
  state = state_of (fixture, small);
  g_assert_cmpstr (state, ==, "completed");

  /* Canceled. */
  run_ctl (fixture, &result, "cancel", paused, NULL);
  g_assert_cmpint (result.status, ==, 0);
  result_clear (&result);
  wait_for_state (fixture, paused, "canceled");
  run_ctl (fixture, &result, "wait", paused, NULL);
  g_assert_cmpint (result.status, ==, 8);
  g_clear_pointer (&line, g_free);
  line = g_strdup_printf ("Download %s was canceled", paused);
  assert_only_line (&result, line);
  result_clear (&result);

  /* Completed: 0, and nothing said. */
  run_ctl (fixture, &result, "wait", small, NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_cmpstr (result.err, ==, "");
  result_clear (&result);
}

/* `sluicectl resume ID && sluicectl wait ID` waits for the download to end: by the time resume
 * returns, the daemon no longer says the download is paused, even while another download
 * keeps its updates going out on a timer. */
static void
test_resume_then_wait (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autofree char *busy = add_download (fixture, "/file?size=8000000&seed=43&rate=400000",
                                              "busy.bin", FALSE);
  g_autofree char *id = add_download (fixture, "/file?size=100000&seed=44", "one.bin", TRUE);
  g_autofree char *again = add_download (fixture, "/file?size=100000&seed=45", "two.bin", TRUE);
  g_autofree char *state = NULL;
  Result result = { 0 };

  wait_for_state (fixture, busy, "running");

  run_ctl (fixture, &result, "resume", id, NULL);
  g_assert_cmpint (result.status, ==, 0);
  result_clear (&result);
  state = state_of (fixture, id);
  g_assert_cmpstr (state, !=, "paused");

  run_ctl (fixture, &result, "resume", again, NULL);
  g_assert_cmpint (result.status, ==, 0);
  result_clear (&result);
  run_ctl (fixture, &result, "wait", again, id, NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_cmpstr (result.err, ==, "");
  result_clear (&result);
  assert_file_is_entity (fixture, "one.bin", 44, 100000);
  assert_file_is_entity (fixture, "two.bin", 45, 100000);
}

/* Spawns sluicectl with @first… and returns it running. */
static GSubprocess *
spawn_ctl (Fixture    *fixture,
           const char *first,
           ...) G_GNUC_NULL_TERMINATED;

static GSubprocess *
spawn_ctl (Fixture    *fixture,
           const char *first,
           ...)
{
  g_autoptr (GSubprocessLauncher) launcher = launcher_new (fixture);
  g_autoptr (GPtrArray) argv = NULL;
  g_autoptr (GError) error = NULL;
  GSubprocess *process;
  va_list args;

  va_start (args, first);
  argv = make_argv (first, args);
  va_end (args);

  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  return process;
}

static void
finish_ctl (GSubprocess *process,
            Result      *result)
{
  g_autoptr (GError) error = NULL;

  g_subprocess_communicate_utf8 (process, NULL, NULL, &result->out, &result->err, &error);
  g_assert_no_error (error);
  result->status = wait_status (process);
  g_test_message ("exit %d, stderr: %s", result->status, result->err);
}

static gboolean
partial_grew (gpointer data)
{
  Growth *growth = data;
  GStatBuf st;

  return g_stat (growth->path, &st) == 0 && st.st_size >= growth->size;
}

/* -o names one file: with a leftover partial file and no resume data, the result is that
 * file, its bytes checked and kept, never another name. */
static void
test_output_adopts (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *url = sl_test_server_url (fixture->server, "/file?size=1000000&seed=8");
  g_autofree char *partial = g_build_filename (fixture->dir_path, "download.bin.part", NULL);
  g_autoptr (GBytes) entity = sl_test_entity (8, 1000000);
  g_autoptr (GPtrArray) requests = NULL;
  const char *listing[] = { "download.bin", NULL };
  Result result = { 0 };

  g_assert_true (g_file_set_contents (partial, g_bytes_get_data (entity, NULL), 400000, NULL));
  run_ctl (fixture, &result, "get", url, "-o", "download.bin", "-q", NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_cmpstr (result.err, ==, "");
  assert_file_is_entity (fixture, "download.bin", 8, 1000000);
  sl_test_assert_dir_is (fixture->dir, listing);
  result_clear (&result);

  /* Its bytes were kept: the rest was asked for with an overlap. */
  requests = sl_test_server_requests (fixture->server, "/file");
  g_assert_cmpuint (requests->len, ==, 2);
  g_assert_cmpstr (((SlTestRequest *) requests->pdata[1])->range, ==, "bytes=334464-");

  /* Bytes of another file there: started over in the same file, saying so. */
  {
    g_autofree char *final = g_build_filename (fixture->dir_path, "download.bin", NULL);
    g_autoptr (GBytes) other = sl_test_entity (9, 1000000);

    g_assert_cmpint (g_unlink (final), ==, 0);
    g_assert_true (g_file_set_contents (partial, g_bytes_get_data (other, NULL), 400000, NULL));
  }
  run_ctl (fixture, &result, "get", url, "-o", "download.bin", NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_nonnull (strstr (result.err, "starting over"));
  assert_file_is_entity (fixture, "download.bin", 8, 1000000);
  sl_test_assert_dir_is (fixture->dir, listing);
  result_clear (&result);
}

/* -o onto an existing file refuses at once; --overwrite replaces it, and only once the new
 * file is complete: until then the old one is there, whole. */
static void
test_output_exists (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *url = sl_test_server_url (fixture->server, "/file?size=50000&seed=3");
  g_autofree char *slow = sl_test_server_url (fixture->server,
                                              "/file?size=3000000&seed=3&rate=1500000");
  g_autofree char *out = g_build_filename (fixture->dir_path, "out.bin", NULL);
  g_autoptr (GSubprocess) process = NULL;
  g_autofree char *contents = NULL;
  const char *listing[] = { "out.bin", NULL };
  Growth growth = { NULL, NULL, 300000 };
  Result result = { 0 };

  g_assert_true (g_file_set_contents (out, "old", -1, NULL));
  run_ctl (fixture, &result, "get", url, "-o", out, NULL);
  g_assert_cmpint (result.status, ==, 4);
  assert_one_error_line (&result, "already exists");
  sl_test_assert_dir_is (fixture->dir, listing);
  g_assert_cmpuint (sl_test_server_request_count (fixture->server, "/file"), ==, 0);
  result_clear (&result);

  process = spawn_ctl (fixture, "get", slow, "-o", out, "--overwrite", "-q", NULL);
  growth.path = g_strconcat (out, ".part", NULL);
  sl_test_wait_until (NULL, partial_grew, &growth, WAIT_MS);
  g_assert_true (g_file_get_contents (out, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "old");
  finish_ctl (process, &result);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_cmpstr (result.err, ==, "");
  assert_file_is_entity (fixture, "out.bin", 3, 3000000);
  sl_test_assert_dir_is (fixture->dir, listing);
  result_clear (&result);
  g_free (growth.path);
}

/* Two runs of the same command at once: the second refuses, the first is not disturbed. */
static void
test_same_file_twice (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autofree char *slow = sl_test_server_url (fixture->server,
                                              "/file?size=3000000&seed=4&rate=1500000");
  g_autoptr (GSubprocess) first = NULL;
  const char *listing[] = { "file", NULL };
  Growth growth = { NULL, NULL, 300000 };
  Result result = { 0 };
  Result second = { 0 };

  first = spawn_ctl (fixture, "get", slow, "-q", NULL);
  growth.path = g_build_filename (fixture->dir_path, "file.part", NULL);
  growth.resume_path = g_build_filename (fixture->dir_path, "file.part.resume", NULL);
  sl_test_wait_until (NULL, file_grew, &growth, WAIT_MS);
  g_assert_true (g_file_test (growth.resume_path, G_FILE_TEST_IS_REGULAR));

  run_ctl (fixture, &second, "get", slow, "-q", NULL);
  g_assert_cmpint (second.status, ==, 4);
  assert_one_error_line (&second, "Another download is writing");
  result_clear (&second);

  run_ctl (fixture, &second, "get", slow, "-o", "file", "-q", NULL);
  g_assert_cmpint (second.status, ==, 4);
  assert_one_error_line (&second, "Another download is writing");
  result_clear (&second);

  finish_ctl (first, &result);
  g_assert_cmpint (result.status, ==, 0);
  assert_file_is_entity (fixture, "file", 4, 3000000);
  sl_test_assert_dir_is (fixture->dir, listing);
  result_clear (&result);
  g_free (growth.path);
  g_free (growth.resume_path);
}

/* sluicectl browser: the per-user manifests, under a home and a configuration folder of the
 * test's own (apart, so that XDG_CONFIG_HOME is seen to count), naming a stand-in host. */

#define MANIFEST_NAME "org.sluice.browser_host.json"

typedef struct
{
  char *home;
  char *config;
  char *host;
} BrowserDirs;

static void
browser_dirs_init (Fixture     *fixture,
                   BrowserDirs *dirs)
{
  g_autofree char *bin = g_build_filename (fixture->dir_path, "bin", NULL);
  g_autoptr (GError) error = NULL;

  dirs->home = g_build_filename (fixture->dir_path, "home", NULL);
  dirs->config = g_build_filename (fixture->dir_path, "config", NULL);
  dirs->host = g_build_filename (bin, "sluice-browser-host", NULL);
  g_assert_no_errno (g_mkdir_with_parents (dirs->home, 0700));
  g_assert_no_errno (g_mkdir_with_parents (dirs->config, 0700));
  g_assert_no_errno (g_mkdir_with_parents (bin, 0700));
  g_file_set_contents (dirs->host, "#!/bin/sh\nexit 0\n", -1, &error);
  g_assert_no_error (error);
  g_assert_no_errno (g_chmod (dirs->host, 0755));
}

static void
browser_dirs_clear (BrowserDirs *dirs)
{
  g_clear_pointer (&dirs->home, g_free);
  g_clear_pointer (&dirs->config, g_free);
  g_clear_pointer (&dirs->host, g_free);
}

static GSubprocessLauncher *
browser_launcher_new (Fixture           *fixture,
                      const BrowserDirs *dirs)
{
  GSubprocessLauncher *launcher = launcher_new (fixture);

  g_subprocess_launcher_setenv (launcher, "HOME", dirs->home, TRUE);
  if (dirs->config != NULL)
    g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", dirs->config, TRUE);
  else
    g_subprocess_launcher_unsetenv (launcher, "XDG_CONFIG_HOME");
  g_subprocess_launcher_setenv (launcher, "SLUICE_BROWSER_HOST", dirs->host, TRUE);
  return launcher;
}

#define run_browser(fixture, dirs, result, ...)                                                \
  G_STMT_START {                                                                               \
    g_autoptr (GSubprocessLauncher) _launcher = browser_launcher_new (fixture, dirs);          \
    run_with (_launcher, result, "browser", __VA_ARGS__);                                      \
  } G_STMT_END

/* Where each browser's manifest goes, under @dirs: Firefox-like ones under the home folder,
 * Chromium-like ones under the configuration folder. */
static char *
firefox_manifest (const BrowserDirs *dirs)
{
  return g_build_filename (dirs->home, ".mozilla", "native-messaging-hosts", MANIFEST_NAME,
                           NULL);
}

static char *
librewolf_manifest (const BrowserDirs *dirs)
{
  return g_build_filename (dirs->home, ".librewolf", "native-messaging-hosts", MANIFEST_NAME,
                           NULL);
}

static char *
config_manifest (const BrowserDirs *dirs,
                 const char        *profile)
{
  const char *config = dirs->config;
  g_autofree char *default_config = g_build_filename (dirs->home, ".config", NULL);

  return g_build_filename (config ? config : default_config, profile, "NativeMessagingHosts",
                           MANIFEST_NAME, NULL);
}

static void
assert_has_line (const char *text,
                 const char *prefix)
{
  g_auto (GStrv) lines = g_strsplit (text ? text : "", "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], prefix))
      return;
  g_error ("no line starts with “%s” in:\n%s", prefix, text);
}

static void
assert_exists (const char *path,
               gboolean    exists)
{
  if (g_file_test (path, G_FILE_TEST_EXISTS) != exists)
    g_error ("%s %s", path, exists ? "is missing" : "should not be there");
}

/* The manifest at @path, parsed with json-glib: our host, the stand-in program, stdio, and
 * the extension of its family, by id or by origin. */
static void
assert_manifest (const char *path,
                 const char *host,
                 gboolean    firefox)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  JsonObject *object;
  JsonArray *allowed;

  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  object = json_node_get_object (json_parser_get_root (parser));

  g_assert_cmpstr (json_object_get_string_member (object, "name"), ==,
                   "org.sluice.browser_host");
  g_assert_cmpstr (json_object_get_string_member (object, "path"), ==, host);
  g_assert_cmpstr (json_object_get_string_member (object, "type"), ==, "stdio");
  g_assert_nonnull (json_object_get_string_member (object, "description"));
  g_assert_cmpuint (json_object_get_size (object), ==, 5);
  if (firefox)
    {
      g_assert_false (json_object_has_member (object, "allowed_origins"));
      allowed = json_object_get_array_member (object, "allowed_extensions");
      g_assert_cmpuint (json_array_get_length (allowed), ==, 1);
      g_assert_cmpstr (json_array_get_string_element (allowed, 0), ==, "browser@sluice.org");
    }
  else
    {
      g_assert_false (json_object_has_member (object, "allowed_extensions"));
      allowed = json_object_get_array_member (object, "allowed_origins");
      g_assert_cmpuint (json_array_get_length (allowed), ==, 1);
      g_assert_cmpstr (json_array_get_string_element (allowed, 0), ==,
                       "chrome-extension://cdhpdnmokchopihnkakdmfgkohdnogjp/");
    }
}

/* install writes the manifests of the browsers in use, Firefox and Chromium always, into the
 * folders of $HOME and $XDG_CONFIG_HOME; status then says each is ok; a second install leaves
 * them be; --browser sets up one that is not in use. */
static void
test_browser_install (Fixture       *fixture,
                      gconstpointer  data)
{
  BrowserDirs dirs = { 0 };
  g_autofree char *firefox = NULL;
  g_autofree char *chromium = NULL;
  g_autofree char *vivaldi = NULL;
  g_autofree char *chrome = NULL;
  g_autofree char *librewolf = NULL;
  g_autofree char *vivaldi_profile = NULL;
  g_autofree char *home_config = NULL;
  g_autoptr (GBytes) before = NULL;
  g_autoptr (GBytes) after = NULL;
  Result result = { 0 };

  browser_dirs_init (fixture, &dirs);
  firefox = firefox_manifest (&dirs);
  chromium = config_manifest (&dirs, "chromium");
  vivaldi = config_manifest (&dirs, "vivaldi");
  chrome = config_manifest (&dirs, "google-chrome");
  librewolf = librewolf_manifest (&dirs);
  home_config = g_build_filename (dirs.home, ".config", NULL);
  /* Vivaldi has run here: its own folder exists. */
  vivaldi_profile = g_build_filename (dirs.config, "vivaldi", NULL);
  g_assert_no_errno (g_mkdir_with_parents (vivaldi_profile, 0700));

  run_browser (fixture, &dirs, &result, "install", NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_cmpstr (result.err, ==, "");
  assert_has_line (result.out, "Firefox: installed ");
  assert_has_line (result.out, "Chromium: installed ");
  assert_has_line (result.out, "Vivaldi: installed ");
  assert_has_line (result.out, "Google Chrome: not in use");
  assert_has_line (result.out, "LibreWolf: not in use");
  g_assert_cmpuint (count_lines (result.out), ==, 7);
  result_clear (&result);

  assert_manifest (firefox, dirs.host, TRUE);
  assert_manifest (chromium, dirs.host, FALSE);
  assert_manifest (vivaldi, dirs.host, FALSE);
  assert_exists (chrome, FALSE);
  assert_exists (librewolf, FALSE);
  /* $XDG_CONFIG_HOME, not ~/.config. */
  assert_exists (home_config, FALSE);

  run_browser (fixture, &dirs, &result, "status", NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_cmpstr (result.err, ==, "");
  assert_has_line (result.out, "Firefox: ok (");
  assert_has_line (result.out, "Chromium: ok (");
  assert_has_line (result.out, "Vivaldi: ok (");
  assert_has_line (result.out, "Google Chrome: not in use");
  g_assert_cmpuint (count_lines (result.out), ==, 7);
  result_clear (&result);

  /* Set up already: nothing is rewritten. */
  before = read_file_bytes (firefox);
  run_browser (fixture, &dirs, &result, "install", NULL);
  g_assert_cmpint (result.status, ==, 0);
  assert_has_line (result.out, "Firefox: already set up");
  assert_has_line (result.out, "Vivaldi: already set up");
  result_clear (&result);
  after = read_file_bytes (firefox);
  sl_assert_bytes_equal (after, before);

  /* One browser, named, even though it has not run here. */
  run_browser (fixture, &dirs, &result, "install", "--browser", "librewolf", NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_cmpuint (count_lines (result.out), ==, 1);
  assert_has_line (result.out, "LibreWolf: installed ");
  result_clear (&result);
  assert_manifest (librewolf, dirs.host, TRUE);
  assert_exists (chrome, FALSE);

  run_browser (fixture, &dirs, &result, "status", "--browser", "librewolf", NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_cmpuint (count_lines (result.out), ==, 1);
  assert_has_line (result.out, "LibreWolf: ok (");
  result_clear (&result);

  /* Without $XDG_CONFIG_HOME the Chromium kind goes under ~/.config. */
  g_clear_pointer (&dirs.config, g_free);
  g_clear_pointer (&chromium, g_free);
  chromium = config_manifest (&dirs, "chromium");
  run_browser (fixture, &dirs, &result, "install", NULL);
  g_assert_cmpint (result.status, ==, 0);
  assert_has_line (result.out, "Firefox: already set up");
  assert_has_line (result.out, "Chromium: installed ");
  result_clear (&result);
  assert_manifest (chromium, dirs.host, FALSE);

  browser_dirs_clear (&dirs);
}

/* status tells, browser by browser, a manifest that differs, one that names a program that is
 * not there, and one that is missing, and fails; install repairs them all. */
static void
test_browser_status (Fixture       *fixture,
                     gconstpointer  data)
{
  BrowserDirs dirs = { 0 };
  g_autofree char *firefox = NULL;
  g_autofree char *chromium = NULL;
  g_autofree char *vivaldi = NULL;
  g_autofree char *vivaldi_profile = NULL;
  g_autofree char *stale = NULL;
  g_autofree char *elsewhere = NULL;
  g_autoptr (GBytes) firefox_fresh = NULL;
  g_autoptr (GBytes) chromium_fresh = NULL;
  g_autoptr (GBytes) vivaldi_fresh = NULL;
  Result result = { 0 };

  browser_dirs_init (fixture, &dirs);
  firefox = firefox_manifest (&dirs);
  chromium = config_manifest (&dirs, "chromium");
  vivaldi = config_manifest (&dirs, "vivaldi");
  vivaldi_profile = g_build_filename (dirs.config, "vivaldi", NULL);
  g_assert_no_errno (g_mkdir_with_parents (vivaldi_profile, 0700));

  /* Nothing yet. */
  run_browser (fixture, &dirs, &result, "status", NULL);
  g_assert_cmpint (result.status, ==, 4);
  assert_has_line (result.out, "Firefox: not installed");
  assert_has_line (result.out, "Chromium: not installed");
  assert_has_line (result.out, "Vivaldi: not installed");
  assert_has_line (result.out, "Brave: not in use");
  assert_one_error_line (&result, "sluicectl browser install");
  result_clear (&result);

  run_browser (fixture, &dirs, &result, "install", NULL);
  g_assert_cmpint (result.status, ==, 0);
  result_clear (&result);
  firefox_fresh = read_file_bytes (firefox);
  chromium_fresh = read_file_bytes (chromium);
  vivaldi_fresh = read_file_bytes (vivaldi);

  /* Firefox's lists another extension; Chromium's starts a program that is gone; Vivaldi's
   * is missing. */
  stale = g_strdup_printf ("{\"name\": \"org.sluice.browser_host\", \"description\": \"x\", "
                           "\"path\": \"%s\", \"type\": \"stdio\", "
                           "\"allowed_extensions\": [\"other@example.org\"]}\n", dirs.host);
  sl_test_write_text (firefox, stale);
  elsewhere = g_strdup_printf ("{\"name\": \"org.sluice.browser_host\", \"description\": \"x\", "
                               "\"path\": \"%s/gone/sluice-browser-host\", \"type\": \"stdio\", "
                               "\"allowed_origins\": "
                               "[\"chrome-extension://cdhpdnmokchopihnkakdmfgkohdnogjp/\"]}\n",
                               fixture->dir_path);
  sl_test_write_text (chromium, elsewhere);
  g_assert_no_errno (g_unlink (vivaldi));

  run_browser (fixture, &dirs, &result, "status", NULL);
  g_assert_cmpint (result.status, ==, 4);
  assert_has_line (result.out, "Firefox: stale (");
  assert_has_line (result.out, "Chromium: missing program (");
  g_assert_nonnull (strstr (result.out, "/gone/sluice-browser-host"));
  assert_has_line (result.out, "Vivaldi: not installed");
  assert_has_line (result.out, "LibreWolf: not in use");
  g_assert_cmpuint (count_lines (result.out), ==, 7);
  assert_one_error_line (&result, "sluicectl browser install");
  result_clear (&result);

  /* The same layout, other spacing: still ok. */
  {
    g_autoptr (JsonParser) parser = json_parser_new ();
    g_autoptr (GError) error = NULL;
    g_autofree char *spaced = NULL;
    gsize size;
    const char *fresh = g_bytes_get_data (firefox_fresh, &size);

    json_parser_load_from_data (parser, fresh, size, &error);
    g_assert_no_error (error);
    spaced = g_strdup_printf ("{\"type\":\"stdio\",\"allowed_extensions\":"
                              "[\"browser@sluice.org\"],\"path\":\"%s\","
                              "\"name\":\"org.sluice.browser_host\",\"description\":\"%s\"}",
                              dirs.host,
                              json_object_get_string_member (
                                json_node_get_object (json_parser_get_root (parser)),
                                "description"));

    sl_test_write_text (firefox, spaced);
    run_browser (fixture, &dirs, &result, "status", "--browser", "firefox", NULL);
    g_assert_cmpint (result.status, ==, 0);
    assert_has_line (result.out, "Firefox: ok (");
    result_clear (&result);
    sl_test_write_text (firefox, stale);
  }

  run_browser (fixture, &dirs, &result, "install", NULL);
  g_assert_cmpint (result.status, ==, 0);
  assert_has_line (result.out, "Firefox: repaired ");
  assert_has_line (result.out, "Chromium: repaired ");
  assert_has_line (result.out, "Vivaldi: installed ");
  result_clear (&result);
  {
    g_autoptr (GBytes) firefox_now = read_file_bytes (firefox);
    g_autoptr (GBytes) chromium_now = read_file_bytes (chromium);
    g_autoptr (GBytes) vivaldi_now = read_file_bytes (vivaldi);

    sl_assert_bytes_equal (firefox_now, firefox_fresh);
    sl_assert_bytes_equal (chromium_now, chromium_fresh);
    sl_assert_bytes_equal (vivaldi_now, vivaldi_fresh);
  }

  run_browser (fixture, &dirs, &result, "status", NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_cmpstr (result.err, ==, "");
  result_clear (&result);

  /* The host itself gone: every manifest points at nothing, and install will not write
   * manifests that name nothing. */
  g_assert_no_errno (g_unlink (dirs.host));
  run_browser (fixture, &dirs, &result, "status", NULL);
  g_assert_cmpint (result.status, ==, 4);
  assert_has_line (result.out, "Firefox: missing program (");
  assert_has_line (result.out, "Vivaldi: missing program (");
  result_clear (&result);

  g_assert_no_errno (g_unlink (vivaldi));
  run_browser (fixture, &dirs, &result, "install", NULL);
  g_assert_cmpint (result.status, ==, 4);
  g_assert_cmpstr (result.out, ==, "");
  assert_one_error_line (&result, dirs.host);
  result_clear (&result);
  assert_exists (vivaldi, FALSE);

  browser_dirs_clear (&dirs);
}

/* uninstall removes our manifests and nothing else: other hosts' manifests and the folders
 * stay, and so does a file under our name that registers another host. */
static void
test_browser_uninstall (Fixture       *fixture,
                        gconstpointer  data)
{
  BrowserDirs dirs = { 0 };
  g_autofree char *firefox = NULL;
  g_autofree char *chromium = NULL;
  g_autofree char *other = NULL;
  g_autofree char *folder = NULL;
  Result result = { 0 };

  browser_dirs_init (fixture, &dirs);
  firefox = firefox_manifest (&dirs);
  chromium = config_manifest (&dirs, "chromium");
  folder = g_path_get_dirname (firefox);

  run_browser (fixture, &dirs, &result, "install", NULL);
  g_assert_cmpint (result.status, ==, 0);
  result_clear (&result);
  other = g_build_filename (folder, "com.example.other.json", NULL);
  sl_test_write_text (other, "{\"name\": \"com.example.other\", \"path\": \"/bin/true\", "
                             "\"type\": \"stdio\", \"allowed_extensions\": [\"x@example.org\"]}\n");

  run_browser (fixture, &dirs, &result, "uninstall", NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_cmpstr (result.err, ==, "");
  assert_has_line (result.out, "Firefox: removed ");
  assert_has_line (result.out, "Chromium: removed ");
  assert_has_line (result.out, "Vivaldi: not installed");
  result_clear (&result);
  assert_exists (firefox, FALSE);
  assert_exists (chromium, FALSE);
  assert_exists (other, TRUE);
  g_assert_true (g_file_test (folder, G_FILE_TEST_IS_DIR));

  run_browser (fixture, &dirs, &result, "status", NULL);
  g_assert_cmpint (result.status, ==, 4);
  assert_has_line (result.out, "Firefox: not installed");
  assert_has_line (result.out, "Chromium: not installed");
  result_clear (&result);

  /* Nothing left to remove is no error. */
  run_browser (fixture, &dirs, &result, "uninstall", NULL);
  g_assert_cmpint (result.status, ==, 0);
  assert_has_line (result.out, "Firefox: not installed");
  result_clear (&result);

  /* Another program's host under our name stays, and uninstall says so. */
  sl_test_write_text (firefox,
                      "{\"name\": \"com.example.other\", \"path\": \"/bin/true\", "
                      "\"type\": \"stdio\", \"allowed_extensions\": [\"x@example.org\"]}\n");
  run_browser (fixture, &dirs, &result, "uninstall", "--browser", "firefox", NULL);
  g_assert_cmpint (result.status, ==, 4);
  g_assert_cmpstr (result.out, ==, "");
  assert_one_error_line (&result, "another host");
  result_clear (&result);
  assert_exists (firefox, TRUE);

  browser_dirs_clear (&dirs);
}

#define ADD(path, func) \
  g_test_add ("/sluicectl/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)
#define ADD_DAEMON(path, func) \
  g_test_add ("/sluicectl/" path, Fixture, NULL, daemon_setup, func, daemon_teardown)

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  ADD ("get-ok", test_get_ok);
  ADD ("get-connections", test_get_connections);
  ADD ("get-directory", test_get_directory);
  ADD ("get-names", test_get_names);
  ADD ("usage-errors", test_usage_errors);
  ADD ("usage-lines", test_usage_lines);
  ADD ("http-error", test_http_error);
  ADD ("network-error", test_network_error);
  ADD ("missing-folder", test_missing_folder);
  ADD ("folder-errors", test_folder_errors);
  ADD ("checksum", test_checksum);
  ADD ("disk-full-then-resume", test_disk_full_then_resume);
  ADD ("resume-file-survives-failed-write", test_resume_file_survives_failed_write);
  ADD ("sigint", test_sigint);
  ADD ("sigterm", test_sigterm);
  ADD ("sigkill", test_sigkill);
  ADD ("corrupt-resume-file", test_corrupt_resume_file);
  ADD ("server-stops", test_server_stops);
  ADD ("output-adopts", test_output_adopts);
  ADD ("output-exists", test_output_exists);
  ADD ("same-file-twice", test_same_file_twice);
  ADD ("length-unchecked", test_length_unchecked);
  ADD ("browser-install", test_browser_install);
  ADD ("browser-status", test_browser_status);
  ADD ("browser-uninstall", test_browser_uninstall);
  ADD_DAEMON ("wait-outcomes", test_wait_outcomes);
  ADD_DAEMON ("resume-then-wait", test_resume_then_wait);

  return g_test_run ();
}
