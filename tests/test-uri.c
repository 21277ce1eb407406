/* test-uri.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include <glib.h>
#include <libsoup/soup.h>

#include "sl-types.h"
#include "sl-uri.h"

typedef struct
{
  const char *input;
  const char *scheme;
  const char *host;
  int         port;
  const char *user;     /* NULL when there is none */
  const char *password; /* NULL when there is none */
  const char *query;    /* NULL when there is none */
  const char *string;   /* the parsed address written back */
} AcceptedCase;

static const AcceptedCase accepted_cases[] = {
  { "http://example.com/file.iso", "http", "example.com", 80, NULL, NULL, NULL,
    "http://example.com/file.iso" },
  { "HTTPS://Example.com/x", "https", "Example.com", 443, NULL, NULL, NULL,
    "https://Example.com/x" },
  { "HtTp://example.com", "http", "example.com", 80, NULL, NULL, NULL, "http://example.com/" },
  { "http://example.com:8080/x", "http", "example.com", 8080, NULL, NULL, NULL,
    "http://example.com:8080/x" },
  { "http://[::1]:8080/x", "http", "::1", 8080, NULL, NULL, NULL, "http://[::1]:8080/x" },
  { "https://[2001:db8::7]/x", "https", "2001:db8::7", 443, NULL, NULL, NULL,
    "https://[2001:db8::7]/x" },
  { "https://127.0.0.1:65535/", "https", "127.0.0.1", 65535, NULL, NULL, NULL,
    "https://127.0.0.1:65535/" },
  { "https://user:secret@example.com/x", "https", "example.com", 443, "user", "secret", NULL,
    "https://user:secret@example.com/x" },
  { "https://user@example.com/x", "https", "example.com", 443, "user", NULL, NULL,
    "https://user@example.com/x" },
  { "https://example.com/search?q=a%20b&x=1", "https", "example.com", 443, NULL, NULL,
    "q=a%20b&x=1", "https://example.com/search?q=a%20b&x=1" },
  { "  \thttps://example.com/x\r\n ", "https", "example.com", 443, NULL, NULL, NULL,
    "https://example.com/x" },
  { "https://example.com/K%C3%B6ln.txt", "https", "example.com", 443, NULL, NULL, NULL,
    "https://example.com/K%C3%B6ln.txt" },
  /* Stray bytes that are not UTF-8 are percent-encoded. */
  { "http://example.com/caf\xe9.txt", "http", "example.com", 80, NULL, NULL, NULL,
    "http://example.com/caf%E9.txt" },
  /* Internationalised names are accepted and turned into their ASCII form. */
  { "http://bücher.example/Köln", "http", "xn--bcher-kva.example", 80, NULL, NULL, NULL,
    "http://xn--bcher-kva.example/K%C3%B6ln" },
};

static void
test_accepted (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (accepted_cases); i++)
    {
      const AcceptedCase *c = &accepted_cases[i];
      g_autoptr (GError) error = NULL;
      g_autoptr (GUri) uri = NULL;
      g_autofree char *string = NULL;
      g_autofree char *shown = g_strescape (c->input, NULL);

      g_test_message ("accepted: %s", shown);
      uri = sl_uri_parse_download (c->input, &error);
      g_assert_no_error (error);
      g_assert_nonnull (uri);

      g_assert_cmpstr (g_uri_get_scheme (uri), ==, c->scheme);
      g_assert_cmpstr (g_uri_get_host (uri), ==, c->host);
      g_assert_cmpint (g_uri_get_port (uri), ==, c->port);
      g_assert_cmpstr (g_uri_get_user (uri), ==, c->user);
      g_assert_cmpstr (g_uri_get_password (uri), ==, c->password);
      g_assert_cmpstr (g_uri_get_query (uri), ==, c->query);

      string = g_uri_to_string (uri);
      g_assert_cmpstr (string, ==, c->string);
    }
}

typedef struct
{
  const char     *input;
  SlDownloadError code;
  const char     *problem; /* must appear in the message */
  const char     *quoted;  /* the input as the message quotes it, or NULL */
} RefusedCase;

static const RefusedCase refused_cases[] = {
  { "", SL_DOWNLOAD_ERROR_INVALID_URI, "empty", NULL },
  { " \t\n", SL_DOWNLOAD_ERROR_INVALID_URI, "empty", NULL },
  { "not a url", SL_DOWNLOAD_ERROR_INVALID_URI, "has no scheme; use http:// or https://",
    "“not a url”" },
  { "example.com/file.iso", SL_DOWNLOAD_ERROR_INVALID_URI, "has no scheme",
    "“example.com/file.iso”" },
  { "localhost:8080/file.iso", SL_DOWNLOAD_ERROR_INVALID_URI, "has no scheme",
    "“localhost:8080/file.iso”" },
  { "//example.com/x", SL_DOWNLOAD_ERROR_INVALID_URI, "has no scheme", "“//example.com/x”" },
  { "ftp://x/y", SL_DOWNLOAD_ERROR_UNSUPPORTED_SCHEME, "unsupported scheme “ftp”",
    "“ftp://x/y”" },
  { "file:///etc/passwd", SL_DOWNLOAD_ERROR_UNSUPPORTED_SCHEME, "unsupported scheme “file”",
    "“file:///etc/passwd”" },
  { "javascript:alert(1)", SL_DOWNLOAD_ERROR_UNSUPPORTED_SCHEME,
    "unsupported scheme “javascript”", "“javascript:alert(1)”" },
  { "HTTPX://example.com/", SL_DOWNLOAD_ERROR_UNSUPPORTED_SCHEME, "unsupported scheme “httpx”",
    "“HTTPX://example.com/”" },
  { "http://", SL_DOWNLOAD_ERROR_INVALID_URI, "has no host name", "“http://”" },
  { "http:///path", SL_DOWNLOAD_ERROR_INVALID_URI, "has no host name", "“http:///path”" },
  { "https:path", SL_DOWNLOAD_ERROR_INVALID_URI, "has no host name", "“https:path”" },
  { "http:8080/x", SL_DOWNLOAD_ERROR_INVALID_URI, "has no host name", "“http:8080/x”" },
  { "http://host:0/", SL_DOWNLOAD_ERROR_INVALID_URI, "port 0", "“http://host:0/”" },
  { "http://ho st/", SL_DOWNLOAD_ERROR_INVALID_URI, "spaces or control characters",
    "“http://ho st/”" },
  { "http://example.com/a b.iso", SL_DOWNLOAD_ERROR_INVALID_URI, "spaces or control characters",
    "“http://example.com/a b.iso”" },
  { "http://example.com/a\x01" "b", SL_DOWNLOAD_ERROR_INVALID_URI,
    "spaces or control characters", "“http://example.com/a\\001b”" },
  { "http://example.com/a\nb", SL_DOWNLOAD_ERROR_INVALID_URI, "spaces or control characters",
    "“http://example.com/a\\nb”" },
  { "http://example.com/\x7f", SL_DOWNLOAD_ERROR_INVALID_URI, "spaces or control characters",
    "“http://example.com/\\177”" },
  { "http://example.com/a\xc2\x85" "b", SL_DOWNLOAD_ERROR_INVALID_URI,
    "spaces or control characters", "“http://example.com/a\\302\\205b”" },
  { "http://example.com/a\xe2\x80\xa8" "b", SL_DOWNLOAD_ERROR_INVALID_URI,
    "spaces or control characters", "“http://example.com/a\\342\\200\\250b”" },
  /* A control character is found even among bytes that are not UTF-8. */
  { "http://example.com/\xff\xc2\x85", SL_DOWNLOAD_ERROR_INVALID_URI,
    "spaces or control characters", "“http://example.com/\\377\\302\\205”" },
  { "http://example.com/%zz", SL_DOWNLOAD_ERROR_INVALID_URI, "not a valid web address",
    "“http://example.com/%zz”" },
  { "http://example.com:99999/", SL_DOWNLOAD_ERROR_INVALID_URI, "not a valid web address",
    "“http://example.com:99999/”" },
  { "http://[::1/", SL_DOWNLOAD_ERROR_INVALID_URI, "not a valid web address",
    "“http://[::1/”" },
  { "http://exa\xffmple.com/", SL_DOWNLOAD_ERROR_INVALID_URI, "not a valid web address",
    "“http://exa\\377mple.com/”" },
  { "http://a%0Ab/", SL_DOWNLOAD_ERROR_INVALID_URI, "invalid host name", "“http://a%0Ab/”" },
  { "http://a@b@c/", SL_DOWNLOAD_ERROR_INVALID_URI, "invalid host name", "“http://a@b@c/”" },
};

static void
assert_one_line_message (const GError *error)
{
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  g_assert_null (strchr (error->message, '\n'));
  g_assert_null (strchr (error->message, '\r'));
  g_assert_null (strstr (error->message, "\xe2\x80\xa8"));
  g_assert_null (strstr (error->message, "\xc2\x85"));
}

static void
test_refused (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (refused_cases); i++)
    {
      const RefusedCase *c = &refused_cases[i];
      g_autoptr (GError) error = NULL;
      g_autoptr (GUri) uri = NULL;
      g_autofree char *escaped = g_strescape (c->input, NULL);

      g_test_message ("refused: %s", escaped);
      uri = sl_uri_parse_download (c->input, &error);
      g_assert_null (uri);
      g_assert_error (error, SL_DOWNLOAD_ERROR, (int) c->code);
      g_test_message ("message: %s", error->message);
      assert_one_line_message (error);
      g_assert_nonnull (strstr (error->message, c->problem));
      if (c->quoted != NULL)
        g_assert_nonnull (strstr (error->message, c->quoted));
    }
}

static void
test_null (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GUri) uri = NULL;

  uri = sl_uri_parse_download (NULL, &error);
  g_assert_null (uri);
  g_assert_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_URI);
  g_assert_nonnull (strstr (error->message, "empty"));
}

/* An error without a GError to fill must not crash or leak. */
static void
test_no_error_pointer (void)
{
  g_assert_null (sl_uri_parse_download ("ftp://x/y", NULL));
  g_assert_null (sl_uri_parse_download ("http://ho st/", NULL));
}

/* However long the address, the message quotes only its beginning. */
static void
test_long_input (void)
{
  g_autofree char *tail = g_strnfill (5000, 'a');
  g_autofree char *input = g_strconcat ("ftp://", tail, NULL);
  g_autofree char *expected = g_strconcat ("“ftp://", tail, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GUri) uri = NULL;

  /* The first 100 characters, then an ellipsis. */
  expected[strlen ("“") + 100] = '\0';

  uri = sl_uri_parse_download (input, &error);
  g_assert_null (uri);
  g_assert_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_UNSUPPORTED_SCHEME);
  assert_one_line_message (error);
  g_assert_nonnull (strstr (error->message, expected));
  g_assert_nonnull (strstr (error->message, "…”"));
  g_assert_cmpuint (strlen (error->message), <, 400);
}

/* Addresses are held to SL_URI_MAX_BYTES as given and as written back, and a refusal still
 * fits on a line. */
static void
test_too_long (void)
{
  const char *prefix = "http://example.com/";
  gsize room = SL_URI_MAX_BYTES - strlen (prefix);
  g_autofree char *fill = g_strnfill (room, 'a');
  g_autofree char *longest = g_strconcat (prefix, fill, NULL);
  g_autofree char *over = g_strconcat (longest, "b", NULL);
  g_autofree char *megabyte_fill = g_strnfill (1024 * 1024, 'a');
  g_autofree char *megabyte = g_strconcat (prefix, megabyte_fill, NULL);
  g_autofree char *raw_fill = g_strnfill (room / 2, '\xff');
  g_autofree char *grows = g_strconcat (prefix, raw_fill, NULL);
  const char *too_long[] = { over, megabyte, grows };
  g_autoptr (GUri) uri = NULL;
  g_autoptr (GError) error = NULL;

  uri = sl_uri_parse_download (longest, &error);
  g_assert_no_error (error);
  g_assert_nonnull (uri);

  for (guint i = 0; i < G_N_ELEMENTS (too_long); i++)
    {
      g_autoptr (GUri) refused = NULL;
      g_autoptr (GError) long_error = NULL;

      /* Short enough as given, but not once its bytes are percent-encoded. */
      if (too_long[i] == grows)
        g_assert_cmpuint (strlen (grows), <=, SL_URI_MAX_BYTES);

      refused = sl_uri_parse_download (too_long[i], &long_error);
      g_assert_null (refused);
      g_assert_error (long_error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_URI);
      assert_one_line_message (long_error);
      g_assert_nonnull (strstr (long_error->message, "longer than the 64 KiB"));
      g_assert_cmpuint (strlen (long_error->message), <, 400);
    }
}

/* The window judges addresses without libsoup, the daemon fetches them with it: both must read
 * an address the same way. */
static void
test_flags_match_libsoup (void)
{
  g_assert_cmphex (SL_URI_HTTP_FLAGS, ==, SOUP_HTTP_URI_FLAGS);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/uri/accepted", test_accepted);
  g_test_add_func ("/uri/refused", test_refused);
  g_test_add_func ("/uri/null", test_null);
  g_test_add_func ("/uri/no-error-pointer", test_no_error_pointer);
  g_test_add_func ("/uri/long-input", test_long_input);
  g_test_add_func ("/uri/too-long", test_too_long);
  g_test_add_func ("/uri/flags-match-libsoup", test_flags_match_libsoup);

  return g_test_run ();
}
