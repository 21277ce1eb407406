/* sl-checksum.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gi18n.h>
#include <nettle/nettle-meta.h>

#include "sl-checksum.h"
#include "sl-types.h"

struct _SlChecksum
{
  SlChecksumType           type;
  const struct nettle_hash *hash;
  gpointer                 context;
};

/* A file is read this much at a time: few system calls, and the bytes still in the CPU's cache
 * when they are hashed. */
#define FILE_CHUNK (1024 * 1024)

static const struct
{
  const char *name;
  const struct nettle_hash *hash;
} types[] = {
  [SL_CHECKSUM_MD5] = { "md5", &nettle_md5 },
  [SL_CHECKSUM_SHA1] = { "sha1", &nettle_sha1 },
  [SL_CHECKSUM_SHA256] = { "sha256", &nettle_sha256 },
  [SL_CHECKSUM_SHA512] = { "sha512", &nettle_sha512 },
};

/**
 * sl_checksum_new:
 * @type: the algorithm
 *
 * Returns: (transfer full): a digest of nothing yet
 */
SlChecksum *
sl_checksum_new (SlChecksumType type)
{
  SlChecksum *self;

  g_return_val_if_fail (type < G_N_ELEMENTS (types), NULL);

  self = g_new0 (SlChecksum, 1);
  self->type = type;
  self->hash = types[type].hash;
  self->context = g_malloc (self->hash->context_size);
  self->hash->init (self->context);
  return self;
}

void
sl_checksum_free (SlChecksum *self)
{
  if (self == NULL)
    return;

  g_free (self->context);
  g_free (self);
}

/**
 * sl_checksum_reset:
 * @self: a digest
 *
 * Starts again from nothing.
 */
void
sl_checksum_reset (SlChecksum *self)
{
  g_return_if_fail (self != NULL);

  self->hash->init (self->context);
}

void
sl_checksum_update (SlChecksum   *self,
                    const guint8 *data,
                    gsize         length)
{
  g_return_if_fail (self != NULL);

  self->hash->update (self->context, length, data);
}

/**
 * sl_checksum_get_hex:
 * @self: a digest
 *
 * Returns: (transfer full): the digest of everything given since it was created or reset, in
 *   lowercase hexadecimal; the digest then starts again from nothing
 */
char *
sl_checksum_get_hex (SlChecksum *self)
{
  /* SHA-512's, the longest here (Nettle 3.8 has no constant for it). */
  guint8 digest[64];
  GString *hex;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (self->hash->digest_size <= sizeof digest, NULL);

  self->hash->digest (self->context, self->hash->digest_size, digest);
  hex = g_string_sized_new (2 * self->hash->digest_size);
  for (guint i = 0; i < self->hash->digest_size; i++)
    g_string_append_printf (hex, "%02x", digest[i]);
  return g_string_free (hex, FALSE);
}

SlChecksumType
sl_checksum_get_type (SlChecksum *self)
{
  g_return_val_if_fail (self != NULL, SL_CHECKSUM_SHA256);

  return self->type;
}

const char *
sl_checksum_type_name (SlChecksumType type)
{
  g_return_val_if_fail (type < G_N_ELEMENTS (types), NULL);

  return types[type].name;
}

/**
 * sl_checksum_parse_spec:
 * @spec: "ALGORITHM=HEX", such as "sha256=9f86d0…"
 * @type: (out): the algorithm
 * @hex: (out) (transfer full): the digest, in lowercase
 * @error: return location for a %SL_DOWNLOAD_ERROR_INVALID_ARGUMENT error that says what is
 *   wrong, in one line
 *
 * Returns: whether @spec names a known algorithm and a digest of its length
 */
gboolean
sl_checksum_parse_spec (const char      *spec,
                        SlChecksumType  *type,
                        char           **hex,
                        GError         **error)
{
  const char *equals;

  g_return_val_if_fail (spec != NULL && type != NULL && hex != NULL, FALSE);

  equals = strchr (spec, '=');
  for (guint i = 0; equals != NULL && i < G_N_ELEMENTS (types); i++)
    {
      gsize digits = 2 * types[i].hash->digest_size;

      if ((gsize) (equals - spec) != strlen (types[i].name) ||
          g_ascii_strncasecmp (spec, types[i].name, equals - spec) != 0)
        continue;

      if (strlen (equals + 1) != digits || strspn (equals + 1, "0123456789abcdefABCDEF") != digits)
        {
          g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_ARGUMENT,
                       /* Translators: an algorithm such as sha256, and a number of digits */
                       _("A %s checksum is %u hexadecimal digits"), types[i].name,
                       (guint) digits);
          return FALSE;
        }

      *type = i;
      *hex = g_ascii_strdown (equals + 1, -1);
      return TRUE;
    }

  {
    g_autofree char *shown = g_utf8_make_valid (spec, MIN (strlen (spec), 80));

    g_strdelimit (shown, "\r\n\t", ' ');
    g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_ARGUMENT,
                 _("Unsupported checksum “%s”: use sha256=HEX, sha512=HEX, sha1=HEX or md5=HEX"),
                 shown);
  }
  return FALSE;
}

typedef struct
{
  GFile          *file;
  SlChecksumType  type;
} FileCheck;

static void
file_check_free (FileCheck *check)
{
  g_object_unref (check->file);
  g_free (check);
}

static void
return_read_error (GTask *task,
                   GFile *file,
                   int    saved_errno)
{
  g_autofree char *display = g_file_get_parse_name (file);

  /* Put together as the file writer's errors are, which translates the same words. */
  g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                           "%s “%s”: %s", _("Cannot read"), display, g_strerror (saved_errno));
}

static void
checksum_file_thread (GTask        *task,
                      gpointer      source_object,
                      gpointer      task_data,
                      GCancellable *cancellable)
{
  FileCheck *check = task_data;
  g_autoptr (SlChecksum) checksum = NULL;
  g_autofree char *path = g_file_get_path (check->file);
  g_autofree guint8 *buffer = NULL;
  int fd;

  if (g_task_return_error_if_cancelled (task))
    return;

  /* Only a file with a local path, as every download has: it is read with plain reads. */
  if (path == NULL)
    {
      return_read_error (task, check->file, EOPNOTSUPP);
      return;
    }

  fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    {
      return_read_error (task, check->file, errno);
      return;
    }
  posix_fadvise (fd, 0, 0, POSIX_FADV_SEQUENTIAL);

  checksum = sl_checksum_new (check->type);
  buffer = g_malloc (FILE_CHUNK);
  for (;;)
    {
      ssize_t n;

      if (g_task_return_error_if_cancelled (task))
        {
          close (fd);
          return;
        }

      n = read (fd, buffer, FILE_CHUNK);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved_errno = errno;

          close (fd);
          return_read_error (task, check->file, saved_errno);
          return;
        }
      if (n == 0)
        break;

      sl_checksum_update (checksum, buffer, n);
    }
  close (fd);

  g_task_return_pointer (task, sl_checksum_get_hex (checksum), g_free);
}

/**
 * sl_checksum_file_async:
 * @file: a local file
 * @type: the algorithm
 * @cancellable: (nullable): stops the reading
 * @callback: called with the result
 * @user_data: for @callback
 *
 * Computes the digest of the whole of @file, reading it on a worker thread.
 */
void
sl_checksum_file_async (GFile               *file,
                        SlChecksumType       type,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_autoptr (GTask) task = NULL;
  FileCheck *check;

  g_return_if_fail (G_IS_FILE (file));
  g_return_if_fail (type < G_N_ELEMENTS (types));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  check = g_new0 (FileCheck, 1);
  check->file = g_object_ref (file);
  check->type = type;

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, sl_checksum_file_async);
  g_task_set_task_data (task, check, (GDestroyNotify) file_check_free);
  g_task_run_in_thread (task, checksum_file_thread);
}

/**
 * sl_checksum_file_finish:
 * @result: the result given to the callback
 * @error: return location for a %G_IO_ERROR that names the file, in one line
 *
 * Returns: (transfer full) (nullable): the digest of the file in lowercase hexadecimal, or
 *   %NULL on error (%G_IO_ERROR_CANCELLED when cancelled)
 */
char *
sl_checksum_file_finish (GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sl_checksum_file_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
