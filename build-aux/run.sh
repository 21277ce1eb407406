#!/usr/bin/env bash
# Installs what is missing, builds Sluice, and runs it: `build-aux/run.sh URL [OPTION…]`
# downloads URL into the current folder with `sluicectl get`.
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

if [ "$#" -eq 0 ]; then
  "$build/src/cli/sluicectl" --help
  echo
  echo "Give a URL to download it: build-aux/run.sh https://example.org/file.iso"
  exit 0
fi
exec "$build/src/cli/sluicectl" get "$@"
