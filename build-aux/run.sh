#!/usr/bin/env bash
# Installs what is missing, builds Sluice, and runs it.
#
#   build-aux/run.sh [URL…]          with a display: opens the window, adding the URLs
#   build-aux/run.sh URL [OPTION…]   without one: downloads URL into the current folder
#                                    with `sluicectl get`
set -euo pipefail

top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=build-aux/deps.sh
. "$top/build-aux/deps.sh"
sluice_install_missing "${SLUICE_BUILD_DEPS[@]}"

build="$top/_build"
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$top" -Dtests=false
fi
meson compile -C "$build"

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  # Uninstalled: the settings schema is in the build tree, and the window starts the
  # daemon from there too.
  export GSETTINGS_SCHEMA_DIR="$build/data${GSETTINGS_SCHEMA_DIR:+:$GSETTINGS_SCHEMA_DIR}"
  export SLUICED="${SLUICED:-$build/src/service/sluiced}"
  exec "$build/src/app/sluice" "$@"
fi

if [ "$#" -eq 0 ]; then
  "$build/src/cli/sluicectl" --help
  echo
  echo "There is no display for the window. Give a URL to download it from the terminal:"
  echo "  build-aux/run.sh https://example.org/file.iso"
  exit 0
fi
exec "$build/src/cli/sluicectl" get "$@"
