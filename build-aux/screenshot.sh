#!/usr/bin/env bash
# screenshot.sh: the screenshot of the main window, for the metainfo and the README.
#
# Builds Sluice if needed, starts a private session bus and an Xvfb of its own, fills a fresh
# download list with a handful of downloads in every state the window shows at rest (done,
# paused at different points, failed with a server error, canceled), starts sluiced on it and
# launches sluice with SLUICE_BENCH=screenshot: once the list shows, the window renders itself
# to the PNG and quits. Nothing is transferred: none of these downloads is queued or running,
# so the daemon starts none of them, and the addresses are only shown.
#
# Usage: build-aux/screenshot.sh [OUTPUT]   (default data/screenshots/window.png)
#
# Environment: BUILD (the build folder, _build; set up with meson if missing), SLUICE and
# SLUICED (the programs, from BUILD), WIDTH and HEIGHT (the window's size as its settings keep
# it, 910 by 670, which gives a picture of 900 by 660: the size includes the window's frame),
# RUN_TIMEOUT (seconds the window gets to show the list, 60).
#
# SPDX-License-Identifier: GPL-3.0-or-later

set -euo pipefail

top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD:-$top/_build}"
WIDTH="${WIDTH:-910}"
HEIGHT="${HEIGHT:-670}"
RUN_TIMEOUT="${RUN_TIMEOUT:-60}"
output="${1:-$top/data/screenshots/window.png}"
mkdir -p "$(dirname "$output")"
output="$(cd "$(dirname "$output")" && pwd)/$(basename "$output")"

# Up to date with the sources: ninja does nothing when nothing changed.
command -v meson >/dev/null 2>&1 || { echo "error: meson is missing (apt-get install meson)" >&2; exit 1; }
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" "$top" >/dev/null
build_log="$(mktemp)"
if ! meson compile -C "$BUILD" >"$build_log" 2>&1; then
  cat "$build_log" >&2
  rm -f "$build_log"
  echo "error: the build failed" >&2
  exit 1
fi
rm -f "$build_log"

# The window and the daemon, a bus and a display, as for the window's benchmarks; the list
# holds the eight downloads below.
N=8
XVFB_SCREEN=1280x900x24
PIN=0
bench_name=screenshot
# shellcheck source=bench/window-env.sh
. "$top/bench/window-env.sh"
downloads="$tmp/downloads"

# Resume data as sluiced writes it: "SLRESUME" and a little-endian a{sv}, as hex for SQL.
cat >"$tmp/resume-hex.c" <<'C'
#include <glib.h>

int
main (int argc, char *argv[])
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) parsed = NULL;
  g_autoptr (GVariant) normal = NULL;
  g_autoptr (GVariant) little = NULL;
  const guint8 *data;
  gsize size;

  if (argc != 2)
    return 2;
  parsed = g_variant_parse (G_VARIANT_TYPE_VARDICT, argv[1], NULL, NULL, &error);
  if (parsed == NULL)
    g_error ("%s", error->message);
  normal = g_variant_get_normal_form (parsed);
  little = G_BYTE_ORDER == G_BIG_ENDIAN ? g_variant_byteswap (normal) : g_variant_ref (normal);
  data = g_variant_get_data (little);
  size = g_variant_get_size (little);
  g_print ("X'");
  for (const char *m = "SLRESUME"; *m != '\0'; m++)
    g_print ("%02X", (guint) *m);
  for (gsize i = 0; i < size; i++)
    g_print ("%02X", data[i]);
  g_print ("'\n");
  return 0;
}
C
# shellcheck disable=SC2046
cc -O -o "$tmp/resume-hex" "$tmp/resume-hex.c" $(pkg-config --cflags --libs glib-2.0)

export HOME="$tmp"
export LANGUAGE=C LC_ALL=C.UTF-8
unset LANG
# The window's size, through a keyfile that only this run reads.
mkdir -p "$XDG_CONFIG_HOME/glib-2.0/settings"
export GSETTINGS_BACKEND=keyfile
cat >"$XDG_CONFIG_HOME/glib-2.0/settings/keyfile" <<INI
[org/sluice/Sluice]
window-width=$WIDTH
window-height=$HEIGHT
INI

# Resume data for a download of $1 into $downloads under the name $2, $3 bytes of $4 received
# (a .part file that long, sparse, is made for it).
resume () {
  local uri="$1" name="$2" received="$3" total="$4" ranges="@a(xx) []" partial=""
  if [ "$received" -gt 0 ]; then
    ranges="[(int64 0, int64 $received)]"
    partial="'partial-path': <'$downloads/$name.part'>,"
    truncate -s "$received" "$downloads/$name.part"
  fi
  "$tmp/resume-hex" "{'version': <uint32 1>, 'uri': <'$uri'>, 'directory': <'$downloads'>,
                      'filename': <'$name'>, $partial 'total': <int64 $total>,
                      'explicit-name': <false>, 'ranges': <$ranges>}"
}

# A finished file, as big as the row says (sparse).
done_file () {
  truncate -s "$2" "$downloads/$1"
}

now="$(date +%s)"
ago () { echo $(( now - $1 * 60 )); }

fedora='https://download.fedoraproject.org/pub/fedora/linux/releases/41/Workstation/x86_64/iso/Fedora-Workstation-Live-x86_64-41-1.4.iso'
blender='https://download.blender.org/release/Blender4.2/blender-4.2.3-linux-x64.tar.xz'
kernel='https://cdn.kernel.org/pub/linux/kernel/v6.x/linux-6.11.5.tar.xz'
ubuntu='https://releases.ubuntu.com/23.04/ubuntu-23.04-desktop-amd64.iso'

done_file debian-12.7.0-amd64-netinst.iso 661651456
done_file gimp-2.10.38.tar.bz2 31652343
done_file open-source-weekly-118.mp3 48213504
done_file libreoffice-annual-report-2023.pdf 5812443

# sluiced makes the schema; the list is written while it is not running.
make_schema
sqlite3 "$XDG_DATA_HOME/sluice/downloads.db" <<SQL
BEGIN;
INSERT INTO downloads (uri, directory, filename, state, error_kind, error_message, http_status,
                       bytes_received, bytes_total, resume_data, position, created_at,
                       finished_at)
VALUES
  ('$kernel', '$downloads', NULL, 'paused', 'none', NULL, 200,
   17563648, 146511200,
   $(resume "$kernel" linux-6.11.5.tar.xz 17563648 146511200),
   1, $(ago 300), 0),
  ('https://www.libreoffice.org/assets/Uploads/Documentation/libreoffice-annual-report-2023.pdf',
   '$downloads', 'libreoffice-annual-report-2023.pdf', 'completed', 'none', NULL, 200,
   5812443, 5812443, NULL, 2, $(ago 280), $(ago 280)),
  ('https://media.transistor.fm/8c1f2a7e/open-source-weekly-118.mp3',
   '$downloads', 'open-source-weekly-118.mp3', 'completed', 'none', NULL, 200,
   48213504, 48213504, NULL, 3, $(ago 240), $(ago 239)),
  ('https://download.gimp.org/gimp/v2.10/gimp-2.10.38.tar.bz2',
   '$downloads', 'gimp-2.10.38.tar.bz2', 'completed', 'none', NULL, 200,
   31652343, 31652343, NULL, 4, $(ago 200), $(ago 199)),
  ('$ubuntu', '$downloads', NULL, 'failed', 'server', 'The server answered 404 Not Found', 404,
   0, -1, $(resume "$ubuntu" ubuntu-23.04-desktop-amd64.iso 0 -1),
   5, $(ago 150), $(ago 150)),
  ('$blender', '$downloads', NULL, 'paused', 'none', NULL, 200,
   283115520, 361467528,
   $(resume "$blender" blender-4.2.3-linux-x64.tar.xz 283115520 361467528),
   6, $(ago 95), 0),
  ('https://cdimage.debian.org/debian-cd/current/amd64/iso-cd/debian-12.7.0-amd64-netinst.iso',
   '$downloads', 'debian-12.7.0-amd64-netinst.iso', 'completed', 'none', NULL, 200,
   661651456, 661651456, NULL, 7, $(ago 60), $(ago 52)),
  ('$fedora', '$downloads', NULL, 'paused', 'none', NULL, 200,
   1101004800, 2398484480,
   $(resume "$fedora" Fedora-Workstation-Live-x86_64-41-1.4.iso 1101004800 2398484480),
   8, $(ago 15), 0);
COMMIT;
SQL

start_daemon

# The window renders itself once the list shows, and quits.
export SLUICE_BENCH_OUTPUT="$tmp/window.png"
launch screenshot "$tmp/app.out" "show the list and save the screenshot" screenshot
if [ ! -s "$tmp/window.png" ]; then
  echo "error: the window saved no screenshot" >&2
  cat "$tmp/app.out" "$tmp/app.log" >&2
  exit 1
fi
if [ -s "$tmp/app.log" ] || [ -s "$tmp/daemon.log" ]; then
  echo "warning: messages from the window or the daemon:" >&2
  cat "$tmp/app.log" "$tmp/daemon.log" >&2
fi

cp "$tmp/window.png" "$output"
echo "$output"
