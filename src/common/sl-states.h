/* sl-states.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "sl-types.h"

G_BEGIN_DECLS

const char *sl_download_state_to_string    (SlDownloadState  state);
gboolean    sl_download_state_from_string  (const char      *name,
                                            SlDownloadState *state);
gboolean    sl_download_state_is           (const char      *name,
                                            SlDownloadState  state);
gboolean    sl_download_state_is_under_way (SlDownloadState  state);
gboolean    sl_download_state_is_finished  (SlDownloadState  state);

const char *sl_error_kind_to_string        (SlErrorKind      kind);
gboolean    sl_error_kind_from_string      (const char      *name,
                                            SlErrorKind     *kind);
gboolean    sl_error_kind_is               (const char      *name,
                                            SlErrorKind      kind);

const char *sl_checksum_state_to_string    (SlChecksumState  state);
gboolean    sl_checksum_state_from_string  (const char      *name,
                                            SlChecksumState *state);

G_END_DECLS
