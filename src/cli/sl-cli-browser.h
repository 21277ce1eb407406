/* sl-cli-browser.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

int sl_cli_browser_command (int    argc,
                            char **argv);

G_END_DECLS
