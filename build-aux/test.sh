#!/usr/bin/env bash
# Installs what is missing, then builds and runs every test: the suite, the same suite under
# AddressSanitizer + UBSan, and each fuzz target for a bounded time.
set -euo pipefail

top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=build-aux/deps.sh
. "$top/build-aux/deps.sh"
sluice_install_missing "${SLUICE_BUILD_DEPS[@]}" "${SLUICE_TEST_DEPS[@]}"

fuzz_seconds="${SLUICE_FUZZ_SECONDS:-30}"
status=0

setup () {
  local dir="$1"
  shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$top" "$@"
  else
    meson setup --reconfigure "$dir" "$top" "$@" >/dev/null
  fi
}

echo "== Build and test"
setup "$top/_build-test" -Dtests=true -Dwerror=true
meson compile -C "$top/_build-test"
meson test -C "$top/_build-test" --print-errorlogs || status=1

echo "== AddressSanitizer + UndefinedBehaviorSanitizer"
setup "$top/_build-asan" -Dtests=true -Db_sanitize=address,undefined -Db_lundef=false \
  -Dbuildtype=debug
meson compile -C "$top/_build-asan"
ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:halt_on_error=1" \
  meson test -C "$top/_build-asan" --print-errorlogs --timeout-multiplier 3 || status=1

echo "== Fuzzing (${fuzz_seconds} s per target)"
CC=clang setup "$top/_build-fuzz" -Dtests=false -Dfuzzing=true
meson compile -C "$top/_build-fuzz"
bash "$top/fuzz/run-fuzzers.sh" "$top/_build-fuzz" "$fuzz_seconds" || status=1

if [ "$status" -eq 0 ]; then
  echo "All test runs passed."
else
  echo "Some test runs failed." >&2
fi
exit "$status"
