#!/usr/bin/env bash
# check-install.sh BUILD PREFIX APP_ID [FIREFOX_DIR CHROMIUM_DIR CHROME_DIR EDGE_DIR]: installs
# the build into a temporary DESTDIR with `meson install` and checks that everything a desktop
# needs is there and fits together: the programs (which start), the desktop entry and
# metainfo, the D-Bus service files whose Exec lines name installed programs, the D-Bus
# interface, the settings schema (which compiles), the application icons, the German
# translation, and the system-wide browser manifests in the folders of the meson options
# (an empty one installs none), naming the installed sluice-browser-host.
#
# SPDX-License-Identifier: GPL-3.0-or-later

set -euo pipefail

build="$1"
prefix="$2"
app_id="$3"
firefox_dir="${4-}"
chromium_dir="${5-}"
chrome_dir="${6-}"
edge_dir="${7-}"
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

# System-wide native-messaging manifests: JSON that registers the installed host for the
# Sluice extension, the Firefox kind by its id, the Chromium kind by its origin.
check_manifest () {
  local family="$1" dir="$2" file
  [ -n "$dir" ] || return 0
  file="$destdir$dir/org.sluice.browser_host.json"
  if [ ! -s "$file" ]; then
    fail "$dir/org.sluice.browser_host.json"
    return 0
  fi
  python3 - "$file" "$family" "$prefix/bin/sluice-browser-host" <<'PY' || fail "$dir/org.sluice.browser_host.json is not right"
import json, sys
path, family, host = sys.argv[1:]
with open(path, encoding="utf-8") as f:
    m = json.load(f)
problems = []
if m.get("name") != "org.sluice.browser_host":
    problems.append("name %r" % m.get("name"))
if m.get("path") != host:
    problems.append("path %r, not %r" % (m.get("path"), host))
if m.get("type") != "stdio":
    problems.append("type %r" % m.get("type"))
if not m.get("description"):
    problems.append("no description")
if family == "firefox":
    if m.get("allowed_extensions") != ["browser@sluice.org"] or "allowed_origins" in m:
        problems.append("allowed_extensions %r" % m.get("allowed_extensions"))
else:
    if (m.get("allowed_origins") != ["chrome-extension://cdhpdnmokchopihnkakdmfgkohdnogjp/"]
            or "allowed_extensions" in m):
        problems.append("allowed_origins %r" % m.get("allowed_origins"))
for p in problems:
    print("%s: %s" % (path, p), file=sys.stderr)
sys.exit(1 if problems else 0)
PY
}
check_manifest firefox "$firefox_dir"
check_manifest chromium "$chromium_dir"
check_manifest chromium "$chrome_dir"
check_manifest chromium "$edge_dir"

# The installed programs run without the build tree.
"$root/bin/sluicectl" --version >/dev/null 2>&1 || fail "bin/sluicectl --version fails"
"$root/bin/sluiced" --version >/dev/null 2>&1 || fail "bin/sluiced --version fails"
"$root/bin/sluice-browser-host" --version >/dev/null 2>&1 || fail "bin/sluice-browser-host --version fails"

[ "$status" = 0 ] && echo "installed into $prefix under a DESTDIR: complete"
exit "$status"
