#!/usr/bin/env bash
# check-install.sh BUILD PREFIX APP_ID: installs the build into a temporary DESTDIR with
# `meson install` and checks that everything a desktop needs is there and fits together: the
# programs (which start), the desktop entry and metainfo, the D-Bus service files whose
# Exec lines name installed programs, the D-Bus interface, the settings schema (which compiles),
# the application icons and the German translation.
#
# SPDX-License-Identifier: GPL-3.0-or-later

set -euo pipefail

build="$1"
prefix="$2"
app_id="$3"
destdir="$(mktemp -d "${TMPDIR:-/tmp}/sluice-install.XXXXXX")"
trap 'rm -rf "$destdir"' EXIT
root="$destdir$prefix"
status=0

fail () {
  echo "not installed right: $*" >&2
  status=1
}

# DESTDIR leaves the system's schema and icon caches alone (meson skips the post-install steps).
if ! meson install -C "$build" --destdir "$destdir" --no-rebuild --quiet >"$destdir.log" 2>&1; then
  cat "$destdir.log" >&2
  rm -f "$destdir.log"
  echo "meson install failed" >&2
  exit 1
fi
rm -f "$destdir.log"

for program in sluice sluiced sluicectl sluice-browser-host; do
  [ -x "$root/bin/$program" ] || fail "bin/$program"
done
for file in \
    "share/applications/$app_id.desktop" \
    "share/metainfo/$app_id.metainfo.xml" \
    "share/dbus-1/services/$app_id.service" \
    "share/dbus-1/services/org.sluice.Downloads.service" \
    "share/dbus-1/interfaces/org.sluice.Downloads.xml" \
    "share/glib-2.0/schemas/org.sluice.Sluice.gschema.xml" \
    "share/icons/hicolor/scalable/apps/$app_id.svg" \
    "share/icons/hicolor/symbolic/apps/$app_id-symbolic.svg" \
    "share/locale/de/LC_MESSAGES/sluice.mo"; do
  [ -s "$root/$file" ] || fail "$file"
done

# The service files start installed programs, by their installed paths.
for service in "$app_id" org.sluice.Downloads; do
  file="$root/share/dbus-1/services/$service.service"
  [ -f "$file" ] || continue
  grep -qx "Name=$service" "$file" || fail "$service.service does not name $service"
  exec_line="$(sed -n 's/^Exec=//p' "$file")"
  program="${exec_line%% *}"
  case "$program" in
    "$prefix"/bin/*) [ -x "$destdir$program" ] || fail "$service.service starts $program, not installed" ;;
    *) fail "$service.service starts $program, not a program of $prefix/bin" ;;
  esac
done

desktop="$root/share/applications/$app_id.desktop"
if [ -f "$desktop" ]; then
  grep -qx "DBusActivatable=true" "$desktop" || fail "the desktop entry is not DBusActivatable"
  grep -qx "Icon=$app_id" "$desktop" || fail "the desktop entry's icon is not $app_id"
  grep -q "^MimeType=.*x-scheme-handler/http" "$desktop" && fail "the desktop entry claims http(s)"
  grep -q "^Comment\[de\]=" "$desktop" || fail "the desktop entry has no German comment"
fi

if [ -d "$root/share/glib-2.0/schemas" ]; then
  glib-compile-schemas --strict --dry-run "$root/share/glib-2.0/schemas" ||
    fail "the installed schema does not compile"
fi

# The installed programs run without the build tree.
"$root/bin/sluicectl" --version >/dev/null 2>&1 || fail "bin/sluicectl --version fails"
"$root/bin/sluiced" --version >/dev/null 2>&1 || fail "bin/sluiced --version fails"
"$root/bin/sluice-browser-host" --version >/dev/null 2>&1 || fail "bin/sluice-browser-host --version fails"

[ "$status" = 0 ] && echo "installed into $prefix under a DESTDIR: complete"
exit "$status"
