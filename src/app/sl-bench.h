/* sl-bench.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

void sl_bench_attach (GtkWindow *window);

G_END_DECLS
