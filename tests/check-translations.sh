#!/usr/bin/env bash
# Fails unless every catalogue in po/LINGUAS is valid and complete: each message of the sources
# (as xgettext finds them through po/POTFILES.in) translated, none fuzzy, formats matching.
set -euo pipefail

top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

xgettext -f "$top/po/POTFILES.in" -D "$top" -o "$work/sluice.pot" --from-code=UTF-8 \
  --add-comments=Translators --keyword=_ --keyword=N_ --keyword=C_:1c,2 --keyword=NC_:1c,2 \
  --keyword=ngettext:1,2 --package-name=sluice

status=0
while read -r lang; do
  case "$lang" in ''|'#'*) continue ;; esac
  po="$top/po/$lang.po"
  if ! msgfmt --check --statistics -o /dev/null "$po" 2>"$work/stats"; then
    cat "$work/stats" >&2
    status=1
    continue
  fi
  if grep -qE 'untranslated|fuzzy' "$work/stats"; then
    echo "po/$lang.po is incomplete: $(cat "$work/stats")" >&2
    status=1
  fi
  if ! msgcmp "$po" "$work/sluice.pot" 2>"$work/missing"; then
    echo "po/$lang.po lacks messages of the sources:" >&2
    head -20 "$work/missing" >&2
    status=1
  fi
done <"$top/po/LINGUAS"

exit "$status"
