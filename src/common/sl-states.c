/* sl-states.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "sl-states.h"

/* The names of states and error kinds are a contract: Download1.State and ErrorKind on D-Bus
 * (data/org.sluice.Downloads.xml), the store's rows, `sluicectl list`. They are spelled here
 * only, apart from the C names, so that reordering or renaming an enum value never changes
 * them. */

static const char * const state_names[] = {
  [SL_DOWNLOAD_STATE_QUEUED] = "queued",
  [SL_DOWNLOAD_STATE_RUNNING] = "running",
  [SL_DOWNLOAD_STATE_WAITING] = "waiting",
  [SL_DOWNLOAD_STATE_PAUSED] = "paused",
  [SL_DOWNLOAD_STATE_COMPLETED] = "completed",
  [SL_DOWNLOAD_STATE_FAILED] = "failed",
  [SL_DOWNLOAD_STATE_CANCELED] = "canceled",
};

G_STATIC_ASSERT (G_N_ELEMENTS (state_names) == SL_DOWNLOAD_STATE_CANCELED + 1);

/* No error is the empty string on D-Bus. */
static const char * const error_kind_names[] = {
  [SL_ERROR_KIND_NONE] = "",
  [SL_ERROR_KIND_NETWORK] = "network",
  [SL_ERROR_KIND_SERVER] = "server",
  [SL_ERROR_KIND_FILE] = "file",
  [SL_ERROR_KIND_USER] = "user",
};

G_STATIC_ASSERT (G_N_ELEMENTS (error_kind_names) == SL_ERROR_KIND_USER + 1);

static const char * const checksum_state_names[] = {
  [SL_CHECKSUM_STATE_NONE] = "none",
  [SL_CHECKSUM_STATE_PENDING] = "pending",
  [SL_CHECKSUM_STATE_VERIFIED] = "verified",
  [SL_CHECKSUM_STATE_MISMATCH] = "mismatch",
};

G_STATIC_ASSERT (G_N_ELEMENTS (checksum_state_names) == SL_CHECKSUM_STATE_MISMATCH + 1);

/* The position of @name among @n_names @names, or -1. */
static int
find_name (const char * const *names,
           guint               n_names,
           const char         *name)
{
  for (guint i = 0; name != NULL && i < n_names; i++)
    {
      if (g_str_equal (name, names[i]))
        return (int) i;
    }

  return -1;
}

/**
 * sl_download_state_to_string:
 * @state: a state
 *
 * Returns: the name of @state: `queued`, `running`, `waiting`, `paused`, `completed`, `failed`
 *   or `canceled`
 */
const char *
sl_download_state_to_string (SlDownloadState state)
{
  g_return_val_if_fail ((guint) state < G_N_ELEMENTS (state_names), "failed");

  return state_names[state];
}

/**
 * sl_download_state_from_string:
 * @name: (nullable): the name of a state
 * @state: (out): return location for the state
 *
 * Returns: whether @name is the name of a state; @state is left alone when it is not
 */
gboolean
sl_download_state_from_string (const char      *name,
                               SlDownloadState *state)
{
  int i = find_name (state_names, G_N_ELEMENTS (state_names), name);

  if (i < 0)
    return FALSE;
  *state = (SlDownloadState) i;
  return TRUE;
}

/**
 * sl_download_state_is:
 * @name: (nullable): the name of a state, as a client reads it
 * @state: a state
 *
 * Returns: whether @name is the name of @state
 */
gboolean
sl_download_state_is (const char      *name,
                      SlDownloadState  state)
{
  return g_strcmp0 (name, sl_download_state_to_string (state)) == 0;
}

/**
 * sl_download_state_is_under_way:
 * @state: a state
 *
 * Returns: whether a download in @state ends by itself, without anyone doing anything: queued,
 *   running, or waiting for the network or to retry (not paused, not ended)
 */
gboolean
sl_download_state_is_under_way (SlDownloadState state)
{
  return state == SL_DOWNLOAD_STATE_QUEUED || state == SL_DOWNLOAD_STATE_RUNNING ||
         state == SL_DOWNLOAD_STATE_WAITING;
}

/**
 * sl_download_state_is_finished:
 * @state: a state
 *
 * Returns: whether @state is one of the ends: completed, failed or canceled
 */
gboolean
sl_download_state_is_finished (SlDownloadState state)
{
  return state == SL_DOWNLOAD_STATE_COMPLETED || state == SL_DOWNLOAD_STATE_FAILED ||
         state == SL_DOWNLOAD_STATE_CANCELED;
}

/**
 * sl_error_kind_to_string:
 * @kind: an error kind
 *
 * Returns: the name of @kind: `network`, `server`, `file`, `user`, or the empty string for
 *   %SL_ERROR_KIND_NONE
 */
const char *
sl_error_kind_to_string (SlErrorKind kind)
{
  g_return_val_if_fail ((guint) kind < G_N_ELEMENTS (error_kind_names), "");

  return error_kind_names[kind];
}

/**
 * sl_error_kind_from_string:
 * @name: (nullable): the name of an error kind, or ""
 * @kind: (out): return location for the kind
 *
 * Returns: whether @name is the name of an error kind; @kind is left alone when it is not
 */
gboolean
sl_error_kind_from_string (const char  *name,
                           SlErrorKind *kind)
{
  int i = find_name (error_kind_names, G_N_ELEMENTS (error_kind_names), name);

  if (i < 0)
    return FALSE;
  *kind = (SlErrorKind) i;
  return TRUE;
}

/**
 * sl_error_kind_is:
 * @name: (nullable): the name of an error kind, as a client reads it
 * @kind: an error kind
 *
 * Returns: whether @name is the name of @kind
 */
gboolean
sl_error_kind_is (const char  *name,
                  SlErrorKind  kind)
{
  return g_strcmp0 (name, sl_error_kind_to_string (kind)) == 0;
}

/**
 * sl_checksum_state_to_string:
 * @state: where a checksum's check stands
 *
 * Returns: its name on D-Bus (Download1.ChecksumState): `none`, `pending`, `verified` or
 *   `mismatch`
 */
const char *
sl_checksum_state_to_string (SlChecksumState state)
{
  g_return_val_if_fail ((guint) state < G_N_ELEMENTS (checksum_state_names), "none");

  return checksum_state_names[state];
}

/**
 * sl_checksum_state_from_string:
 * @name: (nullable): the name of a checksum state
 * @state: (out): return location for the state
 *
 * Returns: whether @name is the name of a checksum state; @state is left alone when it is not
 */
gboolean
sl_checksum_state_from_string (const char      *name,
                               SlChecksumState *state)
{
  int i = find_name (checksum_state_names, G_N_ELEMENTS (checksum_state_names), name);

  if (i < 0)
    return FALSE;
  *state = (SlChecksumState) i;
  return TRUE;
}
