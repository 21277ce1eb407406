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
passed=0
failed=0
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

# Runs meson test, keeping its summary counts for the closing line.
run_suite () {
  local rc=0
  "$@" 2>&1 | tee "$log" || rc=1
  passed=$((passed + $(awk '/^Ok:/ { n += $2 } END { print n + 0 }' "$log")))
  failed=$((failed + $(awk '/^(Fail|Timeout|Unexpected Pass):/ { n += $NF } END { print n + 0 }' "$log")))
  return "$rc"
}

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
run_suite meson test -C "$top/_build-test" --print-errorlogs || status=1

echo "== AddressSanitizer + UndefinedBehaviorSanitizer"
setup "$top/_build-asan" -Dtests=true -Db_sanitize=address,undefined -Db_lundef=false \
  -Dbuildtype=debug
meson compile -C "$top/_build-asan"
run_suite meson test -C "$top/_build-asan" --print-errorlogs --timeout-multiplier 3 || status=1

echo "== Fuzzing (${fuzz_seconds} s per target)"
CC=clang setup "$top/_build-fuzz" -Dtests=false -Dfuzzing=true
meson compile -C "$top/_build-fuzz"
if bash "$top/fuzz/run-fuzzers.sh" "$top/_build-fuzz" "$fuzz_seconds"; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
  status=1
fi

echo "$passed passed, $failed failed"
exit "$status"
