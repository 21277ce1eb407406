/* test-resume-data.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "sl-download.h"
#include "sl-resume-data.h"

#define MAGIC "SLRESUME"

static SlResumeData *
sample (void)
{
  SlResumeData *data = sl_resume_data_new ();

  data->uri = g_strdup ("http://127.0.0.1:1/file?size=10");
  data->final_uri = g_strdup ("http://127.0.0.1:1/final");
  data->directory = g_strdup ("/tmp/dir");
  data->filename = g_strdup ("file.bin");
  data->partial_path = g_strdup ("/tmp/dir/file.bin.part");
  data->etag = g_strdup ("\"abc\"");
  data->last_modified = g_strdup ("Tue, 01 Jan 2030 00:00:00 GMT");
  data->content_type = g_strdup ("application/octet-stream");
  data->total = 1000;
  data->received = 600;
  data->explicit_name = TRUE;
  data->split_extension = FALSE;

  return data;
}

/* Serialises a hand-made dictionary behind the magic, as a hostile or future writer might. */
static GBytes *
craft (GVariant *dict)
{
  g_autoptr (GVariant) owned = g_variant_ref_sink (dict);
  GByteArray *out = g_byte_array_new ();

  g_byte_array_append (out, (const guint8 *) MAGIC, strlen (MAGIC));
  g_byte_array_append (out, g_variant_get_data (owned), g_variant_get_size (owned));
  return g_byte_array_free_to_bytes (out);
}

static void
assert_parse_fails (GBytes     *bytes,
                    const char *fragment)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SlResumeData) data = sl_resume_data_parse (bytes, &error);

  g_assert_null (data);
  g_assert_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_RESUME_DATA);
  g_assert_null (strchr (error->message, '\n'));
  if (fragment != NULL && strstr (error->message, fragment) == NULL)
    g_error ("“%s” does not mention “%s”", error->message, fragment);
}

static void
test_round_trip (void)
{
  g_autoptr (SlResumeData) data = sample ();
  g_autoptr (GBytes) bytes = sl_resume_data_serialize (data);
  g_autoptr (GError) error = NULL;
  g_autoptr (SlResumeData) back = sl_resume_data_parse (bytes, &error);

  g_assert_no_error (error);
  g_assert_nonnull (back);
  g_assert_cmpstr (back->uri, ==, data->uri);
  g_assert_cmpstr (back->final_uri, ==, data->final_uri);
  g_assert_cmpstr (back->directory, ==, data->directory);
  g_assert_cmpstr (back->filename, ==, data->filename);
  g_assert_cmpstr (back->partial_path, ==, data->partial_path);
  g_assert_cmpstr (back->etag, ==, data->etag);
  g_assert_cmpstr (back->last_modified, ==, data->last_modified);
  g_assert_cmpstr (back->content_type, ==, data->content_type);
  g_assert_cmpint (back->total, ==, 1000);
  g_assert_cmpint (back->received, ==, 600);
  g_assert_true (back->explicit_name);
  g_assert_false (back->split_extension);
}

static void
test_round_trip_minimal (void)
{
  g_autoptr (SlResumeData) data = sl_resume_data_new ();
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlResumeData) back = NULL;

  data->uri = g_strdup ("https://example.org/");
  data->directory = g_strdup ("/");
  bytes = sl_resume_data_serialize (data);
  back = sl_resume_data_parse (bytes, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (back->uri, ==, "https://example.org/");
  g_assert_null (back->filename);
  g_assert_null (back->etag);
  g_assert_cmpint (back->total, ==, -1);
  g_assert_cmpint (back->received, ==, 0);
  g_assert_false (back->explicit_name);
  g_assert_true (back->split_extension);
}

/* Resume data written before names of hosts were numbered as a whole splits extensions. */
static void
test_without_split_extension (void)
{
  g_autoptr (GBytes) bytes = craft (g_variant_new_parsed (
    "{'version': <uint32 1>, 'uri': <'https://example.org/'>, 'directory': <'/'>,"
    " 'filename': <'example.org'>, 'total': <int64 -1>, 'ranges': <@a(xx) []>}"));
  g_autoptr (GError) error = NULL;
  g_autoptr (SlResumeData) data = sl_resume_data_parse (bytes, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (data->filename, ==, "example.org");
  g_assert_true (data->split_extension);
}

static void
test_not_resume_data (void)
{
  g_autoptr (GBytes) empty = g_bytes_new_static ("", 0);
  g_autoptr (GBytes) text = g_bytes_new_static ("hello world, not resume data", 28);
  g_autoptr (GBytes) magic_only = g_bytes_new_static (MAGIC, strlen (MAGIC));

  assert_parse_fails (empty, "Not Sluice resume data");
  assert_parse_fails (text, "Not Sluice resume data");
  /* An empty a{sv} is valid serialised data, but has no version. */
  assert_parse_fails (magic_only, "version");
}

static void
test_truncated (void)
{
  g_autoptr (SlResumeData) data = sample ();
  g_autoptr (GBytes) bytes = sl_resume_data_serialize (data);
  gsize size = g_bytes_get_size (bytes);

  /* Every proper prefix must be refused, never crash, never half-parse. */
  for (gsize len = 0; len < size; len++)
    {
      g_autoptr (GBytes) prefix = g_bytes_new_from_bytes (bytes, 0, len);
      g_autoptr (GError) error = NULL;
      g_autoptr (SlResumeData) back = sl_resume_data_parse (prefix, &error);

      if (back != NULL)
        g_error ("a prefix of %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " bytes parsed", len, size);
      g_assert_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_RESUME_DATA);
    }
}

static void
test_corrupt (void)
{
  g_autoptr (SlResumeData) data = sample ();
  g_autoptr (GBytes) bytes = sl_resume_data_serialize (data);
  gsize size = g_bytes_get_size (bytes);
  guint refused = 0;

  /* Flip each byte after the magic: the result either fails cleanly or is still valid. */
  for (gsize i = strlen (MAGIC); i < size; i++)
    {
      g_autofree guint8 *copy = g_memdup2 (g_bytes_get_data (bytes, NULL), size);
      g_autoptr (GBytes) corrupt = NULL;
      g_autoptr (GError) error = NULL;
      g_autoptr (SlResumeData) back = NULL;

      copy[i] ^= 0xff;
      corrupt = g_bytes_new (copy, size);
      back = sl_resume_data_parse (corrupt, &error);
      if (back == NULL)
        {
          g_assert_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_RESUME_DATA);
          refused++;
        }
      else
        {
          g_assert_no_error (error);
          g_assert_true (g_utf8_validate (back->uri, -1, NULL));
          g_assert_true (back->received >= 0);
          g_assert_true (back->total == -1 || back->received <= back->total);
        }
    }

  /* Offsets and framing bytes are flipped among the rest: most flips must be caught. */
  g_assert_cmpuint (refused, >, 0);
}

static void
test_wrong_version (void)
{
  g_autoptr (GBytes) bytes = craft (g_variant_new_parsed (
    "{'version': <uint32 2>, 'uri': <'http://h/'>, 'directory': <'/tmp'>,"
    " 'total': <int64 -1>, 'ranges': <@a(xx) []>}"));
  g_autoptr (GBytes) no_version = craft (g_variant_new_parsed (
    "{'uri': <'http://h/'>, 'directory': <'/tmp'>, 'total': <int64 -1>}"));
  g_autoptr (GBytes) version_type = craft (g_variant_new_parsed (
    "{'version': <'1'>, 'uri': <'http://h/'>, 'directory': <'/tmp'>}"));

  assert_parse_fails (bytes, "version 2");
  assert_parse_fails (no_version, "version");
  assert_parse_fails (version_type, "version");
}

static void
test_wrong_types (void)
{
  g_autoptr (GBytes) uri_int = craft (g_variant_new_parsed (
    "{'version': <uint32 1>, 'uri': <int32 5>, 'directory': <'/tmp'>,"
    " 'total': <int64 -1>, 'ranges': <@a(xx) []>}"));
  g_autoptr (GBytes) no_uri = craft (g_variant_new_parsed (
    "{'version': <uint32 1>, 'directory': <'/tmp'>, 'total': <int64 -1>,"
    " 'ranges': <@a(xx) []>}"));
  g_autoptr (GBytes) total_string = craft (g_variant_new_parsed (
    "{'version': <uint32 1>, 'uri': <'http://h/'>, 'directory': <'/tmp'>,"
    " 'total': <'big'>, 'ranges': <@a(xx) []>}"));
  g_autoptr (GBytes) ranges_type = craft (g_variant_new_parsed (
    "{'version': <uint32 1>, 'uri': <'http://h/'>, 'directory': <'/tmp'>,"
    " 'total': <int64 -1>, 'ranges': <@a(ii) [(0, 5)]>}"));

  assert_parse_fails (uri_int, "uri");
  assert_parse_fails (no_uri, "uri");
  assert_parse_fails (total_string, "total");
  assert_parse_fails (ranges_type, "byte ranges");
}

static void
test_bad_values (void)
{
  struct {
    const char *text;
    const char *fragment;
  } cases[] = {
    { "{'version': <uint32 1>, 'uri': <'http://h/'>, 'directory': <'relative/dir'>,"
      " 'total': <int64 -1>, 'ranges': <@a(xx) []>}", "relative" },
    { "{'version': <uint32 1>, 'uri': <'http://h/'>, 'directory': <'/tmp'>,"
      " 'partial-path': <'x.part'>, 'total': <int64 -1>, 'ranges': <@a(xx) []>}", "relative" },
    { "{'version': <uint32 1>, 'uri': <'http://h/'>, 'directory': <'/tmp'>,"
      " 'filename': <'../../etc/passwd'>, 'total': <int64 -1>, 'ranges': <@a(xx) []>}",
      "unsafe" },
    { "{'version': <uint32 1>, 'uri': <'http://h/'>, 'directory': <'/tmp'>,"
      " 'filename': <'..'>, 'total': <int64 -1>, 'ranges': <@a(xx) []>}", "unsafe" },
    { "{'version': <uint32 1>, 'uri': <'http://h/'>, 'directory': <'/tmp'>,"
      " 'total': <int64 -7>, 'ranges': <@a(xx) []>}", "total" },
    { "{'version': <uint32 1>, 'uri': <'http://h/'>, 'directory': <'/tmp'>,"
      " 'partial-path': <'/tmp/x.part'>, 'total': <int64 10>,"
      " 'ranges': <[(int64 0, int64 11)]>}", "range" },
    { "{'version': <uint32 1>, 'uri': <'http://h/'>, 'directory': <'/tmp'>,"
      " 'partial-path': <'/tmp/x.part'>, 'total': <int64 100>,"
      " 'ranges': <[(int64 0, int64 50), (int64 40, int64 60)]>}", "range" },
    { "{'version': <uint32 1>, 'uri': <'http://h/'>, 'directory': <'/tmp'>,"
      " 'partial-path': <'/tmp/x.part'>, 'total': <int64 100>,"
      " 'ranges': <[(int64 -5, int64 5)]>}", "range" },
    { "{'version': <uint32 1>, 'uri': <'http://h/'>, 'directory': <'/tmp'>,"
      " 'partial-path': <'/tmp/x.part'>, 'total': <int64 100>,"
      " 'ranges': <[(int64 5, int64 5)]>}", "range" },
    { "{'version': <uint32 1>, 'uri': <'http://h/'>, 'directory': <'/tmp'>,"
      " 'total': <int64 100>, 'ranges': <[(int64 0, int64 5)]>}", "partial file" },
    { "{'version': <uint32 1>, 'uri': <''>, 'directory': <'/tmp'>,"
      " 'total': <int64 100>, 'ranges': <@a(xx) []>}", "uri" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GBytes) bytes = craft (g_variant_new_parsed (cases[i].text));

      g_test_message ("case %u", i);
      assert_parse_fails (bytes, cases[i].fragment);
    }
}

static void
test_holes_kept (void)
{
  g_autoptr (GBytes) bytes = craft (g_variant_new_parsed (
    "{'version': <uint32 1>, 'uri': <'http://h/'>, 'directory': <'/tmp'>,"
    " 'partial-path': <'/tmp/x.part'>, 'total': <int64 100>,"
    " 'ranges': <[(int64 0, int64 30), (int64 50, int64 60)]>}"));
  g_autoptr (GError) error = NULL;
  g_autoptr (SlResumeData) data = sl_resume_data_parse (bytes, &error);
  g_autoptr (SlResumeData) back = NULL;
  g_autoptr (GBytes) again = NULL;
  g_autofree char *text = NULL;

  /* Every done range counts, after a hole too, and goes back out as it came. */
  g_assert_no_error (error);
  g_assert_cmpint (data->received, ==, 40);
  text = sl_segment_map_to_string (data->done);
  g_assert_cmpstr (text, ==, "done [0, 30) [50, 60); claimed");

  again = sl_resume_data_serialize (data);
  back = sl_resume_data_parse (again, &error);
  g_assert_no_error (error);
  g_assert_cmpint (back->received, ==, 40);
  g_clear_pointer (&text, g_free);
  text = sl_segment_map_to_string (back->done);
  g_assert_cmpstr (text, ==, "done [0, 30) [50, 60); claimed");
}

static void
test_download_from_bad_resume_data (void)
{
  g_autoptr (GBytes) garbage = g_bytes_new_static ("garbage", 7);
  g_autoptr (GBytes) bad_scheme = craft (g_variant_new_parsed (
    "{'version': <uint32 1>, 'uri': <'ftp://h/x'>, 'directory': <'/tmp'>,"
    " 'total': <int64 -1>, 'ranges': <@a(xx) []>}"));
  g_autoptr (GError) error = NULL;
  SlDownload *download;

  download = sl_download_new_from_resume_data (NULL, garbage, &error);
  g_assert_null (download);
  g_assert_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_RESUME_DATA);
  g_clear_error (&error);

  download = sl_download_new_from_resume_data (NULL, bad_scheme, &error);
  g_assert_null (download);
  g_assert_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_RESUME_DATA);
  g_assert_nonnull (strstr (error->message, "ftp"));
}

static void
test_download_round_trip (void)
{
  g_autoptr (SlResumeData) data = sample ();
  g_autoptr (GBytes) bytes = sl_resume_data_serialize (data);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) again = NULL;
  g_autoptr (SlResumeData) back = NULL;
  SlDownload *download;

  download = sl_download_new_from_resume_data (NULL, bytes, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sl_download_get_state (download), ==, SL_DOWNLOAD_STATE_PAUSED);
  g_assert_cmpint (sl_download_get_bytes_received (download), ==, 600);
  g_assert_cmpint (sl_download_get_bytes_total (download), ==, 1000);
  g_assert_cmpstr (sl_download_get_filename (download), ==, "file.bin");

  again = sl_download_get_resume_data (download);
  back = sl_resume_data_parse (again, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back->partial_path, ==, data->partial_path);
  g_assert_cmpint (back->received, ==, 600);

  g_assert_finalize_object (download);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/resume-data/round-trip", test_round_trip);
  g_test_add_func ("/resume-data/round-trip-minimal", test_round_trip_minimal);
  g_test_add_func ("/resume-data/without-split-extension", test_without_split_extension);
  g_test_add_func ("/resume-data/not-resume-data", test_not_resume_data);
  g_test_add_func ("/resume-data/truncated", test_truncated);
  g_test_add_func ("/resume-data/corrupt", test_corrupt);
  g_test_add_func ("/resume-data/wrong-version", test_wrong_version);
  g_test_add_func ("/resume-data/wrong-types", test_wrong_types);
  g_test_add_func ("/resume-data/bad-values", test_bad_values);
  g_test_add_func ("/resume-data/holes-kept", test_holes_kept);
  g_test_add_func ("/resume-data/download-from-bad", test_download_from_bad_resume_data);
  g_test_add_func ("/resume-data/download-round-trip", test_download_round_trip);

  return g_test_run ();
}
