/* test-format.c: what the window says about a download, and the links it finds in text.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <locale.h>
#include <string.h>

#include "sl-format.h"
#include "sl-states.h"

static char *
status (const char *state,
        guint64     received,
        gint64      total,
        guint64     speed,
        guint       http_status,
        const char *error_kind,
        const char *error)
{
  SlDownloadFacts facts = { state, received, total, speed, http_status, error_kind, error };

  return sl_format_status (&facts);
}

#define assert_status(expected, ...) \
  G_STMT_START { \
    g_autofree char *text_ = status (__VA_ARGS__); \
    g_autoptr (GString) plain_ = g_string_new (text_); \
    g_string_replace (plain_, "\u00a0", " ", 0); \
    g_assert_cmpstr (plain_->str, ==, expected); \
  } G_STMT_END

static void
test_status (void)
{
  assert_status ("12.3 MB of 100.0 MB — 5.2 MB/s — 17 seconds left",
                 "running", 12300000, 100000000, 5200000, 200, "", "");
  assert_status ("12.3 MB of 100.0 MB", "running", 12300000, 100000000, 0, 200, "", "");
  assert_status ("12.3 MB — 5.2 MB/s", "running", 12300000, -1, 5200000, 200, "", "");
  assert_status ("1.0 MB of 1.0 GB — 1.0 MB/s — 17 minutes left",
                 "running", 1000000, 1000000000, 1000000, 200, "", "");
  assert_status ("Queued", "queued", 0, -1, 0, 0, "", "");
  assert_status ("Queued — 1.0 MB of 2.0 MB", "queued", 1000000, 2000000, 0, 0, "", "");
  assert_status ("Waiting for network", "waiting", 0, -1, 0, 0, "", "");
  assert_status ("Waiting to retry: refused", "waiting", 0, -1, 0, 0, "network", "refused");
  assert_status ("Paused — 12.3 MB of 100.0 MB", "paused", 12300000, 100000000, 0, 206, "", "");
  assert_status ("Paused", "paused", 0, -1, 0, 0, "", "");
  assert_status ("Done — 1.2 GB", "completed", 1200000000, 1200000000, 0, 200, "", "");
  assert_status ("Failed: server answered 404 Not Found",
                 "failed", 0, -1, 0, 404, "server", "The server answered 404 Not Found");
  assert_status ("Failed: server answered 599", "failed", 0, -1, 0, 599, "server", "x");
  assert_status ("Failed: No space left on device",
                 "failed", 10, 100, 0, 200, "file", "No space left on device");
  assert_status ("Failed", "failed", 0, -1, 0, 0, "", "");
  assert_status ("Canceled", "canceled", 0, -1, 0, 0, "user", "");
}

/* What a download adds to its status: connections and its own limit while it has not ended,
 * and for a completed one what the check of its checksum found. */
static void
test_status_details (void)
{
  static const struct
  {
    SlDownloadFacts facts;
    const char     *text;
    gboolean        is_error;
  } cases[] = {
    { { "running", 1000000, 2000000, 1000000, 206, "", "", 4, 0, "pending", NULL },
      "1.0 MB of 2.0 MB — 1.0 MB/s — 1 second left · 4 connections", FALSE },
    { { "running", 1000000, 2000000, 1000000, 206, "", "", 1, 0, "none", NULL },
      "1.0 MB of 2.0 MB — 1.0 MB/s — 1 second left", FALSE },
    { { "running", 1000000, 2000000, 500000, 206, "", "", 2, 500000, "none", NULL },
      "1.0 MB of 2.0 MB — 500.0 kB/s — 2 seconds left · 2 connections · limited to 500.0 kB/s",
      FALSE },
    { { "running", 1000, -1, 0, 200, "", "", 1, 1000000, "none", NULL },
      "1.0 kB · limited to 1.0 MB/s", FALSE },
    { { "queued", 0, -1, 0, 0, "", "", 0, 1000000, "pending", NULL },
      "Queued · limited to 1.0 MB/s", FALSE },
    { { "paused", 1000000, 2000000, 0, 206, "", "", 0, 2500000, "none", NULL },
      "Paused — 1.0 MB of 2.0 MB · limited to 2.5 MB/s", FALSE },
    { { "waiting", 0, -1, 0, 0, "network", "refused", 0, 1000, "none", NULL },
      "Waiting to retry: refused · limited to 1.0 kB/s", FALSE },
    /* Connections count only while running; a download that ended has no use for a limit. */
    { { "paused", 0, -1, 0, 0, "", "", 3, 0, "none", NULL }, "Paused", FALSE },
    { { "failed", 0, -1, 0, 0, "file", "No space", 0, 1000000, "none", NULL },
      "Failed: No space", TRUE },
    { { "completed", 5000, 5000, 0, 200, "", "", 0, 1000000, "none", NULL },
      "Done — 5.0 kB", FALSE },
    { { "completed", 5000, 5000, 0, 200, "", "", 0, 0, NULL, NULL }, "Done — 5.0 kB", FALSE },
    { { "completed", 5000, 5000, 0, 200, "", "", 0, 0, "verified", NULL },
      "Done — 5.0 kB — Checksum verified", FALSE },
    { { "completed", 5000, 5000, 0, 200, "", "", 0, 0, "pending", NULL },
      "Done — 5.0 kB — Checking the checksum…", FALSE },
    { { "completed", 5000, 5000, 0, 200, "", "", 0, 0, "mismatch", NULL },
      "Checksum does not match", TRUE },
    { { "completed", 5000, 5000, 0, 200, "", "", 0, 0, "mismatch", "expected 1, got 2" },
      "Checksum does not match: expected 1, got 2", TRUE },
    /* What an earlier Verify found is not shown once the file matches again. */
    { { "completed", 5000, 5000, 0, 200, "", "", 0, 0, "verified", "expected 1, got 2" },
      "Done — 5.0 kB — Checksum verified", FALSE },
    { { "failed", 5000, 5000, 0, 200, "", "mismatch", 0, 0, "mismatch", NULL },
      "Failed: mismatch", TRUE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = sl_format_status (&cases[i].facts);
      g_autoptr (GString) plain = g_string_new (text);

      g_string_replace (plain, "\u00a0", " ", 0);
      g_assert_cmpstr (plain->str, ==, cases[i].text);
      g_assert_cmpint (sl_format_status_is_error (&cases[i].facts), ==, cases[i].is_error);
    }
}

static void
test_rate (void)
{
  static const struct
  {
    guint64     rate;
    const char *text;
  } cases[] = {
    { 0, "0 bytes/s" },
    { 1, "1 byte/s" },
    { 1000, "1.0 kB/s" },
    { 1500000, "1.5 MB/s" },
    { G_GUINT64_CONSTANT (2000000000), "2.0 GB/s" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = sl_format_rate (cases[i].rate);
      g_autoptr (GString) plain = g_string_new (text);

      g_string_replace (plain, "\u00a0", " ", 0);
      g_assert_cmpstr (plain->str, ==, cases[i].text);
    }
}

static void
test_time_left (void)
{
  static const struct
  {
    guint64     seconds;
    const char *text;
  } cases[] = {
    { 0, "0 seconds left" },
    { 1, "1 second left" },
    { 59, "59 seconds left" },
    { 60, "1 minute left" },
    { 3599, "1 hour left" },
    { 3600, "1 hour left" },
    { 3600 + 5 * 60, "1 hour 5 minutes left" },
    { 7200 + 60, "2 hours 1 minute left" },
    { 3 * 86400, "3 days left" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = sl_format_time_left (cases[i].seconds);

      g_assert_cmpstr (text, ==, cases[i].text);
    }
}

static void
test_fraction (void)
{
  SlDownloadFacts facts = { "running", 25, 100, 0, 0, "", "" };

  g_assert_cmpfloat_with_epsilon (sl_format_fraction (&facts), 0.25, 1e-9);
  facts.bytes_total = -1;
  g_assert_cmpfloat (sl_format_fraction (&facts), <, 0);
  facts.bytes_total = 0;
  g_assert_cmpfloat (sl_format_fraction (&facts), <, 0);
  facts.state = "completed";
  g_assert_cmpfloat (sl_format_fraction (&facts), ==, 1.0);
  facts.state = "running";
  facts.bytes_received = 200;
  facts.bytes_total = 100;
  g_assert_cmpfloat (sl_format_fraction (&facts), ==, 1.0);
}

/* The application stays in the background for these, and only these. */
static void
test_under_way (void)
{
  const char *under_way[] = { "queued", "running", "waiting" };
  const char *not_under_way[] = { "paused", "completed", "failed", "canceled", "", NULL };

  for (guint i = 0; i < G_N_ELEMENTS (under_way); i++)
    g_assert_true (sl_format_state_is_under_way (under_way[i]));
  for (guint i = 0; i < G_N_ELEMENTS (not_under_way); i++)
    g_assert_false (sl_format_state_is_under_way (not_under_way[i]));
}

/* The names documented under @property in the D-Bus interface, in order. */
static GStrv
documented_names (const char *property)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "..", "data",
                                                 "org.sluice.Downloads.xml", NULL);
  g_autofree char *xml = NULL;
  g_autofree char *heading = g_strdup_printf (" %s:\n", property);
  g_autoptr (GStrvBuilder) names = g_strv_builder_new ();
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) lines = NULL;
  const char *start;
  const char *end;
  g_autofree char *section = NULL;

  g_file_get_contents (path, &xml, NULL, &error);
  g_assert_no_error (error);
  start = strstr (xml, heading);
  g_assert_nonnull (start);
  end = strstr (start, "-->");
  g_assert_nonnull (end);
  section = g_strndup (start, end - start);

  lines = g_strsplit (section, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = g_strchug (lines[i]);
      g_autofree char *name = NULL;
      const char *close;

      if (line[0] != '"' || (close = strstr (line + 1, "\":")) == NULL)
        continue;
      name = g_strndup (line + 1, close - line - 1);
      g_strv_builder_add (names, name);
    }

  return g_strv_builder_end (names);
}

/* Every layer spells states and error kinds through sl-states.c, as the interface documents. */
static void
test_state_names (void)
{
  g_auto (GStrv) states = documented_names ("State");
  g_auto (GStrv) kinds = documented_names ("ErrorKind");
  g_auto (GStrv) checksum_states = documented_names ("ChecksumState");
  SlDownloadState state = SL_DOWNLOAD_STATE_QUEUED;
  SlErrorKind kind = SL_ERROR_KIND_NONE;
  SlChecksumState checksum_state = SL_CHECKSUM_STATE_NONE;

  g_assert_cmpuint (g_strv_length (states), ==, SL_DOWNLOAD_STATE_CANCELED + 1);
  for (guint i = 0; states[i] != NULL; i++)
    {
      g_assert_cmpstr (sl_download_state_to_string ((SlDownloadState) i), ==, states[i]);
      g_assert_true (sl_download_state_from_string (states[i], &state));
      g_assert_cmpint (state, ==, i);
      g_assert_true (sl_download_state_is (states[i], (SlDownloadState) i));
    }
  g_assert_false (sl_download_state_from_string ("Queued", &state));
  g_assert_false (sl_download_state_from_string ("", &state));
  g_assert_false (sl_download_state_from_string (NULL, &state));
  g_assert_false (sl_download_state_is (NULL, SL_DOWNLOAD_STATE_QUEUED));

  g_assert_true (sl_download_state_is_under_way (SL_DOWNLOAD_STATE_WAITING));
  g_assert_false (sl_download_state_is_under_way (SL_DOWNLOAD_STATE_PAUSED));
  g_assert_true (sl_download_state_is_finished (SL_DOWNLOAD_STATE_CANCELED));
  g_assert_false (sl_download_state_is_finished (SL_DOWNLOAD_STATE_PAUSED));

  /* No error is "" on the bus, after the documented kinds. */
  g_assert_cmpuint (g_strv_length (kinds), ==, SL_ERROR_KIND_USER);
  g_assert_cmpstr (sl_error_kind_to_string (SL_ERROR_KIND_NONE), ==, "");
  g_assert_true (sl_error_kind_from_string ("", &kind));
  g_assert_cmpint (kind, ==, SL_ERROR_KIND_NONE);
  for (guint i = 0; kinds[i] != NULL; i++)
    {
      g_assert_cmpstr (sl_error_kind_to_string ((SlErrorKind) (i + 1)), ==, kinds[i]);
      g_assert_true (sl_error_kind_from_string (kinds[i], &kind));
      g_assert_cmpint (kind, ==, i + 1);
      g_assert_true (sl_error_kind_is (kinds[i], (SlErrorKind) (i + 1)));
    }
  g_assert_false (sl_error_kind_from_string ("none", &kind));
  g_assert_false (sl_error_kind_from_string (NULL, &kind));

  g_assert_cmpuint (g_strv_length (checksum_states), ==, SL_CHECKSUM_STATE_MISMATCH + 1);
  for (guint i = 0; checksum_states[i] != NULL; i++)
    {
      g_assert_cmpstr (sl_checksum_state_to_string ((SlChecksumState) i), ==,
                       checksum_states[i]);
      g_assert_true (sl_checksum_state_from_string (checksum_states[i], &checksum_state));
      g_assert_cmpint (checksum_state, ==, i);
    }
  g_assert_false (sl_checksum_state_from_string ("", &checksum_state));
  g_assert_false (sl_checksum_state_from_string (NULL, &checksum_state));
}

static void
test_find_urls (void)
{
  static const struct
  {
    const char *text;
    const char *urls[4];
  } cases[] = {
    { "https://example.org/a.iso", { "https://example.org/a.iso", NULL } },
    { "  http://h/x\n", { "http://h/x", NULL } },
    { "# uri-list\r\nhttp://a/1\r\nhttp://b/2\r\n", { "http://a/1", "http://b/2", NULL } },
    { "Get it at https://h/f.tar.gz, or (http://m/f.tar.gz).",
      { "https://h/f.tar.gz", "http://m/f.tar.gz", NULL } },
    { "http://a/1 http://a/1", { "http://a/1", NULL } },
    { "http://\f, http://a/\v2.", { "http://a/", NULL } },
    { "ftp://h/f file:///etc/passwd javascript:alert(1) http:// https:///x", { NULL } },
    { "<a href=\"https://h/q?x=1&y=2\">", { "https://h/q?x=1&y=2", NULL } },
    /* Not UTF-8: the daemon takes text only. */
    { "http://h/\xff\xfe http://h/ok", { "http://h/ok", NULL } },
    /* Only what the daemon takes: no port 0, no host with a line break or an '@' in it. */
    { "http://h:0/x http://a%0Ab/ http://a@b@c/ https://h/ok", { "https://h/ok", NULL } },
    { "", { NULL } },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto (GStrv) urls = sl_format_find_urls (cases[i].text);

      g_assert_cmpstrv (urls, cases[i].urls);
    }
}

/* An entry cuts what is longer than it holds: a full one is refused, not taken as the address. */
static void
test_parse_typed_url (void)
{
  g_autofree char *fill = g_strnfill (65535 - strlen ("http://h/"), 'a');
  g_autofree char *full = g_strconcat ("http://h/", fill, NULL);
  g_autoptr (GUri) uri = NULL;
  g_autoptr (GUri) refused = NULL;
  g_autoptr (GError) error = NULL;

  uri = sl_format_parse_typed_url ("  https://example.org/a.iso ", &error);
  g_assert_no_error (error);
  g_assert_nonnull (uri);

  refused = sl_format_parse_typed_url (full, &error);
  g_assert_null (refused);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "64 KiB"));
  g_assert_null (strchr (error->message, '\n'));
}

static void
test_host_and_icon (void)
{
  g_autofree char *host = sl_format_host ("https://files.example.org:8443/a/b.iso?x");
  g_autofree char *none = sl_format_host ("not a uri");
  g_autoptr (GIcon) icon = sl_format_icon ("b.iso");
  g_autoptr (GIcon) unknown = sl_format_icon (NULL);

  g_assert_cmpstr (host, ==, "files.example.org");
  g_assert_null (none);
  g_assert_true (G_IS_THEMED_ICON (icon));
  /* Symbolic names first, down to one every theme has, before any full-colour one. */
  {
    const char * const *names = g_themed_icon_get_names (G_THEMED_ICON (icon));
    guint i;

    for (i = 0; names[i] != NULL && !g_str_equal (names[i], "text-x-generic-symbolic"); i++)
      g_assert_true (g_str_has_suffix (names[i], "-symbolic"));
    g_assert_nonnull (names[i]);
    g_assert_cmpuint (i, >=, 1);
  }
  g_assert_true (G_IS_THEMED_ICON (unknown));
}

int
main (int   argc,
      char *argv[])
{
  /* The expected texts are the untranslated ones. */
  setlocale (LC_ALL, "C.UTF-8");
  g_setenv ("LANGUAGE", "C", TRUE);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/format/status", test_status);
  g_test_add_func ("/format/status-details", test_status_details);
  g_test_add_func ("/format/rate", test_rate);
  g_test_add_func ("/format/time-left", test_time_left);
  g_test_add_func ("/format/fraction", test_fraction);
  g_test_add_func ("/format/under-way", test_under_way);
  g_test_add_func ("/format/state-names", test_state_names);
  g_test_add_func ("/format/find-urls", test_find_urls);
  g_test_add_func ("/format/parse-typed-url", test_parse_typed_url);
  g_test_add_func ("/format/host-and-icon", test_host_and_icon);

  return g_test_run ();
}
