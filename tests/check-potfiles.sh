#!/usr/bin/env bash
# Fails if a source file marks strings for translation (C, .ui, the desktop file, metainfo and
# schema) but is missing from po/POTFILES.in,
# or if POTFILES.in names a file that does not exist.
set -euo pipefail

top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$top"

listed="$(grep -v '^#' po/POTFILES.in | sed '/^$/d' | sort)"
marked="$( {
  grep -rlE '(^|[^A-Za-z0-9_])(N?_|C_|NC_|ngettext)\(' src --include='*.c'
  grep -rl 'translatable="yes"' src --include='*.ui'
  ls data/*.desktop.in data/*.metainfo.xml.in data/*.gschema.xml 2>/dev/null
} | sort)"
status=0

missing="$(comm -13 <(echo "$listed") <(echo "$marked"))"
if [ -n "$missing" ]; then
  echo "Not in po/POTFILES.in but translatable:" >&2
  echo "$missing" >&2
  status=1
fi

for file in $listed; do
  if [ ! -f "$file" ]; then
    echo "po/POTFILES.in names $file, which does not exist" >&2
    status=1
  fi
done

exit "$status"
