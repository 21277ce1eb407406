/* sl-cli-util.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

#include "sl-types.h"

G_BEGIN_DECLS

/* Exit statuses shared by every sluicectl verb; DESIGN.md fixes 0 to 6. `wait` adds 7 and 8. */
enum {
  SL_EXIT_DONE = 0,
  SL_EXIT_USAGE = 1,
  SL_EXIT_NETWORK = 2,
  SL_EXIT_HTTP = 3,
  SL_EXIT_FILE = 4,
  SL_EXIT_CHECKSUM = 5,
  SL_EXIT_DAEMON = 6,
  SL_EXIT_PAUSED = 7,
  SL_EXIT_CANCELED = 8,
  SL_EXIT_SIGINT = 130,
  SL_EXIT_SIGTERM = 143,
};

void sl_cli_print_error (const char     *format,
                         ...) G_GNUC_PRINTF (1, 2);
gboolean sl_cli_names_are_text (const char *filename,
                                 const char *directory);
int  sl_cli_usage_error (GOptionContext *context,
                         const char     *message);
gboolean sl_cli_folder_is_usable (const char *path);
gboolean sl_cli_parse_rate (const char *text,
                            guint64    *rate);
int  sl_cli_exit_for_kind (SlErrorKind kind);
gboolean sl_cli_replace_file (const char   *path,
                              GBytes       *contents,
                              GError      **error);
void sl_cli_remove_replace_leftovers (const char *path);

G_END_DECLS
