/* sl-soup-workarounds.h
 *
 * What the libsoup the program runs with needs done before anything uses it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean sl_soup_workarounds_init (void);

G_END_DECLS
