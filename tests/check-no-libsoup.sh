#!/usr/bin/env bash
# Fails if the window's program links libsoup, directly or through another library: the window
# is a client of the daemon and shares only the GLib-only rules of src/common with it.
set -euo pipefail

program="$1"
if ! libraries="$(ldd "$program")"; then
  echo "ldd cannot read $program" >&2
  exit 1
fi
if grep -i 'libsoup' <<<"$libraries" >&2; then
  echo "$program links libsoup" >&2
  exit 1
fi
