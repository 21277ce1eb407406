#!/usr/bin/env bash
# Installs the Debian 12 packages Sluice needs to build and test, only those that are missing.
# Sourced by run.sh and test.sh; safe to run again.
set -euo pipefail

SLUICE_BUILD_DEPS=(
  meson ninja-build gcc pkg-config gettext
  libglib2.0-dev libglib2.0-bin libsoup-3.0-dev libsqlite3-dev
  libgtk-4-dev libadwaita-1-dev libjson-glib-dev nettle-dev
)
SLUICE_TEST_DEPS=(
  clang libclang-rt-14-dev dbus-daemon dbus-bin
  xvfb libxtst-dev desktop-file-utils appstream shared-mime-info librsvg2-common adwaita-icon-theme
  nodejs chromium firefox-esr
)

sluice_install_missing () {
  local missing=()
  local pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  echo "Installing: ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
}
