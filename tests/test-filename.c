/* test-filename.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include <glib.h>

#include "sl-filename.h"
#include "sl-types.h"

typedef struct
{
  const char *input;
  const char *expected; /* NULL when no name is expected */
} StringCase;

static void
assert_valid_name (const char *name)
{
  g_assert_true (sl_filename_check (name, NULL));
  g_assert_nonnull (name);
  g_assert_true (g_utf8_validate (name, -1, NULL));
  g_assert_null (strchr (name, '/'));
  g_assert_null (strchr (name, '\\'));
  g_assert_cmpuint (strlen (name), >, 0);
  g_assert_cmpuint (strlen (name), <=, SL_FILENAME_MAX_BYTES);
  g_assert_cmpint (name[0], !=, '.');
}

static char *
repeat (const char *unit,
        guint       count)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < count; i++)
    g_string_append (s, unit);

  return g_string_free (s, FALSE);
}

static const StringCase content_disposition_cases[] = {
  { "attachment; filename=\"a.txt\"", "a.txt" },
  { "attachment; filename=a.txt", "a.txt" },
  { "attachment;filename=a.txt;size=12", "a.txt" },
  { "attachment; filename=\"say \\\"hi\\\".txt\"", "say \"hi\".txt" },
  { "attachment; filename=\"back\\\\slash.txt\"", "back\\slash.txt" },
  { "attachment; filename*=UTF-8''na%C3%AFve.txt", "naïve.txt" },
  { "attachment; filename*=utf-8'fr'na%c3%afve.txt", "naïve.txt" },
  { "attachment; filename*=ISO-8859-1'en'%A3%20rates.txt", "£ rates.txt" },
  { "attachment; filename*=iso-8859-1''caf%E9.txt", "café.txt" },
  /* filename* wins whatever the order. */
  { "attachment; filename=\"fallback.txt\"; filename*=UTF-8''%E2%82%AC.txt", "€.txt" },
  { "attachment; filename*=UTF-8''%E2%82%AC.txt; filename=\"fallback.txt\"", "€.txt" },
  /* A malformed filename* gives way to filename. */
  { "attachment; filename*=UTF-8''bad%zz.txt; filename=\"fallback.txt\"", "fallback.txt" },
  { "attachment; filename*=UTF-8''bad%2", NULL },
  { "attachment; filename*=UTF-8''bad%", NULL },
  { "attachment; filename*=UTF-8''%FF.txt", NULL },
  { "attachment; filename*=UTF-8''a%00b", NULL },
  { "attachment; filename*=KOI8-R''%C1.txt", NULL },
  { "attachment; filename*=UTF-8'a.txt", NULL },
  { "attachment; filename*=a.txt", NULL },
  { "attachment; filename*=UTF-8''", NULL },
  { "attachment; filename*=UTF-8''raw\xc3\xa9.txt; filename=plain.txt", "plain.txt" },
  { "attachment; filename*=\"UTF-8''quoted.txt\"", "quoted.txt" },
  /* Unterminated quoted strings swallow the rest of the header. */
  { "attachment; filename=\"unterminated.txt", NULL },
  { "attachment; filename=\"trailing-backslash\\", NULL },
  { "attachment; filename*=UTF-8''x.txt; filename=\"unterminated", "x.txt" },
  { "attachment; filename=\"unterminated; filename*=UTF-8''x.txt", NULL },
  { "", NULL },
  { "attachment", NULL },
  { "inline", NULL },
  { ";;;", NULL },
  { "attachment; filename", NULL },
  { "attachment; filename=\"\"", NULL },
  { "attachment; filename=", NULL },
  { "attachment; filename=\"a.txt\" junk", NULL },
  { "inline; FILENAME=\"upper.txt\"", "upper.txt" },
  { "ATTACHMENT; FileName*=utf-8''Upper%20Ext.txt", "Upper Ext.txt" },
  { "filename=\"no-type.txt\"", "no-type.txt" },
  { "attachment; name=\"x\"; filename=\"semi;colon.txt\"", "semi;colon.txt" },
  { "attachment; foo=\"a;filename=evil.txt\"; filename=\"good.txt\"", "good.txt" },
  { "attachment; filenames=\"not-this.txt\"", NULL },
  { "attachment;filename=my file.txt  ", "my file.txt" },
  { "  attachment ;\tfilename = \"spaced.txt\" ; ", "spaced.txt" },
  { "attachment; filename=\"first.txt\"; filename=\"second.txt\"", "first.txt" },
  /* The name is raw: sanitising is a separate step. */
  { "attachment; filename=\"../../etc/passwd\"", "../../etc/passwd" },
  { "attachment; filename=\"caf\xe9.txt\"", "caf\xe9.txt" },
  { "attachment; filename=\"tab\there.txt\"", "tab\there.txt" },
};

static void
test_content_disposition (void)
{
  g_assert_null (sl_filename_from_content_disposition (NULL));

  for (gsize i = 0; i < G_N_ELEMENTS (content_disposition_cases); i++)
    {
      const StringCase *c = &content_disposition_cases[i];
      g_autofree char *result = sl_filename_from_content_disposition (c->input);
      g_autofree char *shown = g_strescape (c->input, NULL);

      g_test_message ("Content-Disposition: %s", shown);
      g_assert_cmpstr (result, ==, c->expected);
    }
}

/* Hostile or broken inputs must stay linear: a header of many thousands of parameters or
 * quotes is parsed quickly and gives the expected result. */
static void
test_content_disposition_large (void)
{
  g_autofree char *params = repeat ("; x=\"\\\"\"", 100000);
  g_autofree char *header = g_strconcat ("attachment", params, "; filename=end.txt", NULL);
  g_autofree char *quotes = repeat ("\"", 200001);
  g_autofree char *many_quotes = g_strconcat ("attachment; filename=", quotes, NULL);
  g_autofree char *result = NULL;
  g_autofree char *result2 = NULL;

  result = sl_filename_from_content_disposition (header);
  g_assert_cmpstr (result, ==, "end.txt");

  result2 = sl_filename_from_content_disposition (many_quotes);
  g_assert_null (result2);
}

static const StringCase sanitize_cases[] = {
  { "a.txt", "a.txt" },
  { "naïve café.txt", "naïve café.txt" },
  { "../../x", "x" },
  { "/etc/passwd", "passwd" },
  { "a/b", "b" },
  { "a\\b.txt", "b.txt" },
  { "C:\\Users\\me\\report.pdf", "report.pdf" },
  { "dir/", "dir" },
  { "dir//", "dir" },
  { ".bashrc", "bashrc" },
  { "...hidden", "hidden" },
  { " . .profile", "profile" },
  { "name.txt...", "name.txt" },
  { "  name.txt  ", "name.txt" },
  { "\xc2\xa0name.txt\xe2\x80\x83", "name.txt" },
  { "", NULL },
  { ".", NULL },
  { "..", NULL },
  { "...", NULL },
  { "/", NULL },
  { "../", NULL },
  { "a/..", NULL },
  { "a/.", NULL },
  { "   ", NULL },
  { " . . . ", NULL },
  { "\t\n", NULL },
  { "x/\x01\x02", NULL },
  { "tab\there\n.txt", "tabhere.txt" },
  { "bell\x07\x1b[31m.txt", "bell[31m.txt" },
  { "del\x7f.txt", "del.txt" },
  { "nel\xc2\x85x.txt", "nelx.txt" },
  { "What? Why: <now>|\"*\".txt", "What_ Why_ _now_____.txt" },
  { "caf\xe9.txt", "caf_.txt" },
  { "\xff\xfe", "__" },
  { "\xc3", "_" },
  { "evil\xe2\x80\xaetxt.exe", "eviltxt.exe" },
  { "\xe2\x80\x8f\xe2\x81\xa6x\xe2\x81\xa9.pdf", "x.pdf" },
  { "line\xe2\x80\xa8sep", "linesep" },
  { "_.txt", "_.txt" },
  { "a b", "a b" },
};

static void
test_sanitize (void)
{
  g_assert_null (sl_filename_sanitize (NULL));

  for (gsize i = 0; i < G_N_ELEMENTS (sanitize_cases); i++)
    {
      const StringCase *c = &sanitize_cases[i];
      g_autofree char *result = sl_filename_sanitize (c->input);
      g_autofree char *shown = g_strescape (c->input, NULL);

      g_test_message ("sanitize: %s", shown);
      g_assert_cmpstr (result, ==, c->expected);
      if (result != NULL)
        assert_valid_name (result);
    }
}

typedef struct
{
  const char *unit;     /* repeated to make the part before the extension */
  guint       count;
  const char *extension;
  const char *expected_unit;  /* what the result is made of before the extension */
  guint       expected_count;
  const char *expected_extension;
} LongCase;

static const LongCase long_cases[] = {
  /* The extension is kept and the stem fills the rest. */
  { "a", 300, ".tar.gz", "a", 193, ".tar.gz" },
  { "a", 300, ".iso", "a", 196, ".iso" },
  /* Two-byte and three-byte characters are never split. */
  { "é", 300, ".iso", "é", 98, ".iso" },
  { "€", 100, ".txt", "€", 65, ".txt" },
  { "€", 100, "", "€", 66, "" },
  /* No extension, or one too long to be one: plain truncation. */
  { "a", 300, "", "a", 200, "" },
  { "x", 250, ".averyveryverylongextension", "x", 200, "" },
  /* Exactly at the limit: untouched. */
  { "b", 196, ".iso", "b", 196, ".iso" },
};

static void
test_sanitize_long (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (long_cases); i++)
    {
      const LongCase *c = &long_cases[i];
      g_autofree char *stem = repeat (c->unit, c->count);
      g_autofree char *input = g_strconcat (stem, c->extension, NULL);
      g_autofree char *expected_stem = repeat (c->expected_unit, c->expected_count);
      g_autofree char *expected = g_strconcat (expected_stem, c->expected_extension, NULL);
      g_autofree char *result = sl_filename_sanitize (input);

      g_test_message ("long name: %u × %s%s", c->count, c->unit, c->extension);
      g_assert_cmpstr (result, ==, expected);
      assert_valid_name (result);
    }
}

/* A cut that lands on white space or a dot does not leave "name .txt" behind. */
static void
test_sanitize_long_tidy (void)
{
  g_autofree char *a = repeat ("a", 195);
  g_autofree char *b = repeat ("b", 100);
  g_autofree char *input = g_strconcat (a, " ", b, ".txt", NULL);
  g_autofree char *expected = g_strconcat (a, ".txt", NULL);
  g_autofree char *result = sl_filename_sanitize (input);
  g_autofree char *dots = repeat (".", 300);
  g_autofree char *input2 = g_strconcat ("x", dots, "y", NULL);
  g_autofree char *expected2 = g_strdup ("x.y");
  g_autofree char *result2 = sl_filename_sanitize (input2);

  g_assert_cmpstr (result, ==, expected);
  assert_valid_name (result);

  /* "x....y": the stem is cut in the middle of the dots, which are then stripped. */
  g_assert_cmpstr (result2, ==, expected2);
}

typedef struct
{
  const char *content_disposition;
  const char *content_type;
  const char *uri;
  const char *expected;
  gboolean    split_extension;
} GuessCase;

static const GuessCase guess_cases[] = {
  { "attachment; filename=\"cd.txt\"", NULL, "https://example.com/path/url.txt", "cd.txt",
    TRUE },
  { "attachment; filename*=UTF-8''%C3%A9t%C3%A9.txt", NULL, "https://example.com/x", "été.txt",
    TRUE },
  { "attachment; filename=\"../../.bashrc\"", NULL, "https://example.com/x", "bashrc", TRUE },
  { NULL, NULL, "https://example.com/files/my%20file.txt", "my file.txt", TRUE },
  { NULL, NULL, "https://example.com/files/na%C3%AFve.txt?version=2#top", "naïve.txt",
    TRUE },
  { NULL, NULL, "https://example.com/download.php?id=3", "download.php", TRUE },
  { NULL, NULL, "https://example.com/files/", "files", TRUE },
  /* A host is numbered as a whole: "127.0.0.1 (1)", not "127.0.0 (1).1". */
  { NULL, NULL, "https://example.com/", "example.com", FALSE },
  { NULL, NULL, "https://example.com", "example.com", FALSE },
  { NULL, NULL, "https://example.com//", "example.com", FALSE },
  { NULL, NULL, "https://example.com/%2E%2E", "example.com", FALSE },
  { NULL, NULL, "https://example.com/...", "example.com", FALSE },
  { NULL, NULL, "https://example.com/a%2Fb.txt", "a_b.txt", TRUE },
  { NULL, NULL, "https://example.com/..%2F..%2Fetc%2Fpasswd", "_.._etc_passwd", TRUE },
  { NULL, NULL, "https://example.com/%00.txt", "%00.txt", TRUE },
  { NULL, NULL, "https://example.com/%FF.txt", "_.txt", TRUE },
  { NULL, NULL, "http://[::1]:8080/", "__1", FALSE },
  /* Content-Disposition without a usable name falls back to the address. */
  { "attachment", NULL, "https://example.com/x.bin", "x.bin", TRUE },
  { "attachment; filename=\"...\"", NULL, "https://example.com/x.bin", "x.bin", TRUE },
  { "attachment; filename=\"unterminated", NULL, "https://example.com/x.bin", "x.bin", TRUE },
  { "attachment; filename=\"a.txt\"", NULL, NULL, "a.txt", TRUE },
  { "attachment", NULL, NULL, "download", TRUE },
  /* An HTML page with no name of its own is index.html; a name it has wins. */
  { NULL, "text/html", "http://127.0.0.1:8765/", "index.html", TRUE },
  { NULL, "Text/HTML; charset=utf-8", "https://example.com/?page=2", "index.html", TRUE },
  { NULL, "text/html", "https://example.com/about", "about", TRUE },
  { "attachment; filename=\"page.htm\"", "text/html", "https://example.com/", "page.htm",
    TRUE },
  { NULL, "text/html", NULL, "index.html", TRUE },
  { NULL, "text/htmlx", "https://example.com/", "example.com", FALSE },
  { NULL, "application/octet-stream", "http://127.0.0.1:8765/", "127.0.0.1", FALSE },
  { NULL, NULL, NULL, "download", TRUE },
};

static void
test_guess (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (guess_cases); i++)
    {
      const GuessCase *c = &guess_cases[i];
      g_autoptr (GUri) uri = NULL;
      g_autofree char *result = NULL;
      gboolean split_extension = !c->split_extension;

      g_test_message ("guess: %s, %s, %s", c->content_disposition, c->content_type, c->uri);
      if (c->uri != NULL)
        {
          g_autoptr (GError) error = NULL;

          uri = g_uri_parse (c->uri, G_URI_FLAGS_ENCODED_PATH | G_URI_FLAGS_ENCODED_QUERY |
                             G_URI_FLAGS_ENCODED_FRAGMENT | G_URI_FLAGS_SCHEME_NORMALIZE,
                             &error);
          g_assert_no_error (error);
        }

      result = sl_filename_guess (c->content_disposition, c->content_type, uri,
                                  &split_extension);
      g_assert_cmpstr (result, ==, c->expected);
      g_assert_cmpint (split_extension, ==, c->split_extension);
      assert_valid_name (result);
    }
}

/* A segment that does not decode is used as it is. */
static void
test_guess_undecodable (void)
{
  g_autoptr (GUri) uri = NULL;
  g_autofree char *result = NULL;

  uri = g_uri_build (G_URI_FLAGS_ENCODED_PATH, "https", NULL, "example.com", -1,
                     "/files/bad%zz.txt", NULL, NULL);
  result = sl_filename_guess (NULL, NULL, uri, NULL);
  g_assert_cmpstr (result, ==, "bad%zz.txt");
}

/* A path that GUri already decoded is not decoded a second time. */
static void
test_guess_decoded_uri (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GUri) uri = NULL;
  g_autofree char *result = NULL;

  uri = g_uri_parse ("https://example.com/my%2520file.txt", G_URI_FLAGS_NONE, &error);
  g_assert_no_error (error);
  result = sl_filename_guess (NULL, NULL, uri, NULL);
  g_assert_cmpstr (result, ==, "my%20file.txt");
}

typedef struct
{
  const char *name;
  const char *problem;  /* in the message; NULL when the name is taken */
} CheckCase;

/* A name someone gives is taken as it is or refused with a reason, never changed. */
static const CheckCase check_cases[] = {
  { "report.pdf", NULL },
  { "naïve café.txt", NULL },
  { ".hidden", NULL },
  { "What? Why: <now>.txt", NULL },
  { " spaced ", NULL },
  { "...", NULL },
  { "", "empty" },
  { "sub/x.bin", "cannot contain “/” or “\\”" },
  { "/x.bin", "cannot contain" },
  { "x.bin/", "cannot contain" },
  { "..\\x.bin", "cannot contain" },
  { "C:\\Users\\me\\x.bin", "cannot contain" },
  { ".", "are not file names" },
  { "..", "are not file names" },
  { "tab\there.txt", "control characters" },
  { "line\nbreak.txt", "control characters" },
  { "del\x7f.txt", "control characters" },
  { "nel\xc2\x85x.txt", "control characters" },
  { "evil\xe2\x80\xaetxt.exe", "control characters" },
  { "caf\xe9.txt", "not valid text" },
};

static void
test_check (void)
{
  g_autofree char *longest = repeat ("é", SL_FILENAME_MAX_BYTES / 2);
  g_autofree char *too_long = g_strconcat (longest, "x", NULL);
  g_autofree char *numbered = sl_filename_numbered (longest, G_MAXUINT, TRUE);
  g_autoptr (GError) error = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (check_cases); i++)
    {
      const CheckCase *c = &check_cases[i];
      g_autofree char *shown = g_strescape (c->name, NULL);

      g_test_message ("check: %s", shown);
      g_clear_error (&error);
      if (c->problem == NULL)
        {
          g_assert_true (sl_filename_check (c->name, &error));
          g_assert_no_error (error);
          g_assert_true (sl_filename_is_plain (c->name));
          continue;
        }

      g_assert_false (sl_filename_check (c->name, &error));
      g_assert_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_ARGUMENT);
      g_test_message ("message: %s", error->message);
      g_assert_null (strchr (error->message, '\n'));
      if (strstr (error->message, c->problem) == NULL)
        g_error ("“%s” does not say “%s”", error->message, c->problem);
      g_assert_false (sl_filename_is_plain (c->name));
    }

  g_assert_false (sl_filename_check (NULL, NULL));
  g_assert_false (sl_filename_is_plain (NULL));

  /* As many bytes as the names Sluice makes itself, and no more. */
  g_assert_cmpuint (strlen (longest), ==, SL_FILENAME_MAX_BYTES);
  g_assert_true (sl_filename_check (longest, NULL));
  g_clear_error (&error);
  g_assert_false (sl_filename_check (too_long, &error));
  g_assert_nonnull (strstr (error->message, "longer than 200 bytes"));

  /* What is kept may carry the number that a name gets when its file exists. */
  g_assert_false (sl_filename_check (numbered, NULL));
  g_assert_true (sl_filename_is_plain (numbered));
}

typedef struct
{
  const char *name;
  guint       n;
  const char *expected;
  gboolean    whole;  /* numbered without splitting an extension off, as a host is */
} NumberedCase;

static const NumberedCase numbered_cases[] = {
  { "file.iso", 0, "file.iso" },
  { "file.iso", 1, "file (1).iso" },
  { "archive.tar.gz", 2, "archive (2).tar.gz" },
  { "backup.TAR.XZ", 4, "backup (4).TAR.XZ" },
  { "x.tar.bz2", 1, "x (1).tar.bz2" },
  { "x.tar.zst", 1, "x (1).tar.zst" },
  { "x.tar.lz4", 1, "x (1).tar.lz4" },
  { "x.tar", 1, "x (1).tar" },
  { "notatar.gz", 1, "notatar (1).gz" },
  { "README", 3, "README (3)" },
  { "photo.jpeg", 10, "photo (10).jpeg" },
  { "a.b.c", 5, "a.b (5).c" },
  { "v2.0 final", 1, "v2.0 final (1)" },
  { "x.averyveryverylongextension", 1, "x.averyveryverylongextension (1)" },
  { "naïve.txt", 7, "naïve (7).txt" },
  { "file.iso", G_MAXUINT, "file (4294967295).iso" },
  { "127.0.0.1", 1, "127.0.0.1 (1)", TRUE },
  { "example.com", 2, "example.com (2)", TRUE },
  { "127.0.0.1", 0, "127.0.0.1", TRUE },
  { "127.0.0.1", 1, "127.0.0 (1).1" },
};

static void
test_numbered (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (numbered_cases); i++)
    {
      const NumberedCase *c = &numbered_cases[i];
      g_autofree char *result = sl_filename_numbered (c->name, c->n, !c->whole);

      g_assert_cmpstr (result, ==, c->expected);
    }
}

static void
test_numbered_long (void)
{
  g_autofree char *stem = repeat ("é", 98);
  g_autofree char *name = g_strconcat (stem, ".iso", NULL);
  g_autofree char *one = sl_filename_numbered (name, 1, TRUE);
  g_autofree char *expected_one = g_strconcat (stem, " (1).iso", NULL);
  g_autofree char *max = sl_filename_numbered (name, G_MAXUINT, TRUE);
  g_autofree char *short_stem = repeat ("é", 97);
  g_autofree char *expected_max = g_strconcat (short_stem, " (4294967295).iso", NULL);
  g_autofree char *plain = repeat ("a", SL_FILENAME_MAX_BYTES);
  g_autofree char *plain_max = sl_filename_numbered (plain, G_MAXUINT, TRUE);

  g_assert_cmpuint (strlen (name), ==, SL_FILENAME_MAX_BYTES);

  /* Room is left for " (n)" with up to eight digits. */
  g_assert_cmpstr (one, ==, expected_one);

  /* Beyond that the stem gives way, on a character boundary. */
  g_assert_cmpstr (max, ==, expected_max);
  g_assert_cmpuint (strlen (max), <=, SL_FILENAME_MAX_BYTES + 12);
  g_assert_true (g_utf8_validate (max, -1, NULL));

  g_assert_cmpuint (strlen (plain_max), ==, SL_FILENAME_MAX_BYTES + 12);
  g_assert_true (g_str_has_suffix (plain_max, "a (4294967295)"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/filename/content-disposition", test_content_disposition);
  g_test_add_func ("/filename/content-disposition/large", test_content_disposition_large);
  g_test_add_func ("/filename/sanitize", test_sanitize);
  g_test_add_func ("/filename/sanitize/long", test_sanitize_long);
  g_test_add_func ("/filename/sanitize/long-tidy", test_sanitize_long_tidy);
  g_test_add_func ("/filename/check", test_check);
  g_test_add_func ("/filename/guess", test_guess);
  g_test_add_func ("/filename/guess/undecodable", test_guess_undecodable);
  g_test_add_func ("/filename/guess/decoded-uri", test_guess_decoded_uri);
  g_test_add_func ("/filename/numbered", test_numbered);
  g_test_add_func ("/filename/numbered/long", test_numbered_long);

  return g_test_run ();
}
