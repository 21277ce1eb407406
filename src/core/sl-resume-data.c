/* sl-resume-data.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "sl-resume-data.h"
#include "sl-filename-rules.h"
#include "sl-segment-map.h"
#include "sl-types.h"

/* Resume data on disk is MAGIC followed by a serialised a{sv} in little-endian byte order. The
 * magic makes any other file fail at once with a clear message rather than parse as garbage. */
#define MAGIC     "SLRESUME"
#define MAGIC_LEN 8

/* Bounds on what a sane file can hold; anything beyond is corruption, not a download. */
#define MAX_STRING_BYTES (64 * 1024)
#define MAX_BYTES        (G_MAXINT64 / 2)

/**
 * sl_resume_data_new:
 *
 * Returns: (transfer full): empty resume data, with unknown total
 */
SlResumeData *
sl_resume_data_new (void)
{
  SlResumeData *data = g_new0 (SlResumeData, 1);

  data->total = -1;
  data->split_extension = TRUE;
  return data;
}

/**
 * sl_resume_data_free:
 * @data: (nullable): resume data
 */
void
sl_resume_data_free (SlResumeData *data)
{
  if (data == NULL)
    return;

  g_free (data->uri);
  g_free (data->final_uri);
  g_free (data->directory);
  g_free (data->filename);
  g_free (data->partial_path);
  g_free (data->etag);
  g_free (data->last_modified);
  g_free (data->content_type);
  sl_segment_map_free (data->done);
  g_free (data);
}

static void
add_string (GVariantDict *dict,
            const char   *key,
            const char   *value)
{
  if (value != NULL)
    g_variant_dict_insert (dict, key, "s", value);
}

/**
 * sl_resume_data_serialize:
 * @data: resume data
 *
 * Serialises @data into the versioned, opaque form that sl_resume_data_parse() reads back.
 *
 * Returns: (transfer full): the serialised bytes
 */
GBytes *
sl_resume_data_serialize (const SlResumeData *data)
{
  g_auto (GVariantDict) dict = G_VARIANT_DICT_INIT (NULL);
  g_autoptr (GVariant) variant = NULL;
  g_autoptr (GVariant) little = NULL;
  GByteArray *out;
  g_autoptr (SlSegmentMap) done = NULL;

  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (data->uri != NULL, NULL);

  g_variant_dict_insert (&dict, "version", "u", (guint32) SL_RESUME_DATA_VERSION);
  add_string (&dict, "uri", data->uri);
  add_string (&dict, "final-uri", data->final_uri);
  add_string (&dict, "directory", data->directory);
  add_string (&dict, "filename", data->filename);
  add_string (&dict, "partial-path", data->partial_path);
  add_string (&dict, "etag", data->etag);
  add_string (&dict, "last-modified", data->last_modified);
  add_string (&dict, "content-type", data->content_type);
  g_variant_dict_insert (&dict, "total", "x", data->total);
  g_variant_dict_insert (&dict, "explicit-name", "b", data->explicit_name);
  if (data->inode != 0)
    {
      g_variant_dict_insert (&dict, "device", "t", data->device);
      g_variant_dict_insert (&dict, "inode", "t", data->inode);
    }
  g_variant_dict_insert (&dict, "split-extension", "b", data->split_extension);

  if (data->done != NULL)
    done = sl_segment_map_copy (data->done);
  else
    {
      done = sl_segment_map_new (-1);
      sl_segment_map_mark_done (done, 0, MAX (data->received, 0));
    }
  g_variant_dict_insert_value (&dict, "ranges", sl_segment_map_to_variant (done));

  variant = g_variant_ref_sink (g_variant_dict_end (&dict));
  if (G_BYTE_ORDER == G_BIG_ENDIAN)
    little = g_variant_byteswap (variant);
  else
    little = g_variant_ref (variant);

  out = g_byte_array_sized_new (MAGIC_LEN + g_variant_get_size (little));
  g_byte_array_append (out, (const guint8 *) MAGIC, MAGIC_LEN);
  g_byte_array_append (out, g_variant_get_data (little), g_variant_get_size (little));

  return g_byte_array_free_to_bytes (out);
}

static gboolean
lookup_string (GVariantDict  *dict,
               const char    *key,
               gboolean       required,
               char         **out,
               GError       **error)
{
  g_autoptr (GVariant) value = g_variant_dict_lookup_value (dict, key, NULL);
  const char *str;
  gsize len;

  if (value == NULL)
    {
      if (!required)
        return TRUE;
      g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_RESUME_DATA,
                   _("Resume data is missing “%s”"), key);
      return FALSE;
    }

  if (!g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    {
      g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_RESUME_DATA,
                   _("Resume data has “%s” of type %s, not a string"), key,
                   g_variant_get_type_string (value));
      return FALSE;
    }

  str = g_variant_get_string (value, &len);
  if (len > MAX_STRING_BYTES || (required && len == 0))
    {
      g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_RESUME_DATA,
                   _("Resume data has an invalid “%s”"), key);
      return FALSE;
    }

  *out = g_strdup (str);
  return TRUE;
}

static gboolean
check_path (const char  *key,
            const char  *path,
            GError     **error)
{
  if (path == NULL || g_path_is_absolute (path))
    return TRUE;

  g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_RESUME_DATA,
               _("Resume data has a relative “%s”"), key);
  return FALSE;
}

/* A name from resume data is as untrusted as one from a server: it must be one plain component. */
static gboolean
check_filename (const char  *name,
                GError     **error)
{
  if (name == NULL)
    return TRUE;

  if (!sl_filename_is_plain (name))
    {
      g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_RESUME_DATA,
                   _("Resume data has an unsafe file name"));
      return FALSE;
    }

  return TRUE;
}

static gboolean
parse_ranges (GVariantDict  *dict,
              SlResumeData  *data,
              GError       **error)
{
  g_autoptr (GVariant) ranges = g_variant_dict_lookup_value (dict, "ranges", NULL);

  data->done = sl_segment_map_new_from_variant (ranges, data->total, error);
  if (data->done == NULL)
    return FALSE;

  data->received = sl_segment_map_get_bytes_done (data->done);
  return TRUE;
}

static SlResumeData *
parse_dict (GVariant  *native,
            GError   **error)
{
  g_autoptr (SlResumeData) data = NULL;
  g_auto (GVariantDict) dict = G_VARIANT_DICT_INIT (native);
  g_autoptr (GVariant) version = NULL;

  version = g_variant_dict_lookup_value (&dict, "version", G_VARIANT_TYPE_UINT32);
  if (version == NULL)
    {
      g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_RESUME_DATA,
                   _("Resume data has no version"));
      return NULL;
    }
  if (g_variant_get_uint32 (version) != SL_RESUME_DATA_VERSION)
    {
      g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_RESUME_DATA,
                   _("Resume data is of version %u; this Sluice reads version %u"),
                   g_variant_get_uint32 (version), (guint) SL_RESUME_DATA_VERSION);
      return NULL;
    }

  data = sl_resume_data_new ();

  if (!lookup_string (&dict, "uri", TRUE, &data->uri, error) ||
      !lookup_string (&dict, "final-uri", FALSE, &data->final_uri, error) ||
      !lookup_string (&dict, "directory", TRUE, &data->directory, error) ||
      !lookup_string (&dict, "filename", FALSE, &data->filename, error) ||
      !lookup_string (&dict, "partial-path", FALSE, &data->partial_path, error) ||
      !lookup_string (&dict, "etag", FALSE, &data->etag, error) ||
      !lookup_string (&dict, "last-modified", FALSE, &data->last_modified, error) ||
      !lookup_string (&dict, "content-type", FALSE, &data->content_type, error))
    return NULL;

  if (!check_path ("directory", data->directory, error) ||
      !check_path ("partial-path", data->partial_path, error) ||
      !check_filename (data->filename, error))
    return NULL;

  if (!g_variant_dict_lookup (&dict, "total", "x", &data->total) || data->total < -1 ||
      data->total > MAX_BYTES)
    {
      g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_RESUME_DATA,
                   _("Resume data has no valid total length"));
      return NULL;
    }

  if (!g_variant_dict_lookup (&dict, "explicit-name", "b", &data->explicit_name))
    data->explicit_name = FALSE;
  /* Resume data from before names of hosts were numbered as a whole splits them. */
  if (!g_variant_dict_lookup (&dict, "split-extension", "b", &data->split_extension))
    data->split_extension = TRUE;

  /* Only a hint for finding the file after a crash: without it, nothing is lost. */
  if (!g_variant_dict_lookup (&dict, "device", "t", &data->device) ||
      !g_variant_dict_lookup (&dict, "inode", "t", &data->inode))
    data->device = data->inode = 0;

  if (!parse_ranges (&dict, data, error))
    return NULL;

  if (data->received > 0 && data->partial_path == NULL)
    {
      g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_RESUME_DATA,
                   _("Resume data records bytes but no partial file"));
      return NULL;
    }

  return g_steal_pointer (&data);
}

/**
 * sl_resume_data_parse:
 * @bytes: serialised resume data, from any source
 * @error: return location for a %SL_DOWNLOAD_ERROR_RESUME_DATA error
 *
 * Reads resume data written by sl_resume_data_serialize(), checking its magic, version, the type
 * of every field and the consistency of the byte ranges. Whether the partial file still matches
 * is checked when the download starts.
 *
 * Returns: (transfer full) (nullable): the resume data, or %NULL with @error set
 */
SlResumeData *
sl_resume_data_parse (GBytes  *bytes,
                      GError **error)
{
  g_autoptr (GBytes) body = NULL;
  g_autoptr (GVariant) variant = NULL;
  g_autoptr (GVariant) native = NULL;
  const guint8 *raw;
  gsize size;

  g_return_val_if_fail (bytes != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  raw = g_bytes_get_data (bytes, &size);
  if (size < MAGIC_LEN || memcmp (raw, MAGIC, MAGIC_LEN) != 0)
    {
      g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_RESUME_DATA,
                   _("Not Sluice resume data"));
      return NULL;
    }

  body = g_bytes_new_from_bytes (bytes, MAGIC_LEN, size - MAGIC_LEN);
  variant = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE_VARDICT, body, FALSE));
  if (G_BYTE_ORDER == G_BIG_ENDIAN)
    native = g_variant_byteswap (variant);
  else
    native = g_variant_ref (variant);

  /* Untrusted serialised data must be in normal form before its contents are believed. */
  if (!g_variant_is_normal_form (native))
    {
      g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_RESUME_DATA,
                   _("Resume data is corrupt or truncated"));
      return NULL;
    }

  return parse_dict (native, error);
}
