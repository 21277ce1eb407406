#!/usr/bin/env bash
# run-fuzzers.sh
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage: fuzz/run-fuzzers.sh BUILD_DIR SECONDS
#
# Runs every libFuzzer target of a build configured with -Dfuzzing=true for SECONDS each, on a
# copy of its seed corpus in a temporary folder, so the source tree is never written to. Prints
# one line per target and exits non-zero if any target crashed, leaked, timed out or ran out of
# memory. The inputs and logs of failures are kept in BUILD_DIR/fuzz-findings/.

set -u

targets=(content-disposition uri resume-data links native-message)

if [ $# -ne 2 ] || ! [[ $2 =~ ^[1-9][0-9]*$ ]]; then
  echo "Usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi

build_dir=$(cd "$1" 2>/dev/null && pwd) || { echo "$0: no build directory $1" >&2; exit 2; }
seconds=$2
source_dir=$(cd "$(dirname "$0")" && pwd)
findings_dir="$build_dir/fuzz-findings"

work_dir=$(mktemp -d "${TMPDIR:-/tmp}/sluice-fuzz.XXXXXX") || exit 2
trap 'rm -rf "$work_dir"' EXIT

# Criticals from g_return_if_fail() are bugs too; undefined behaviour must stop the run; the
# GLib slice allocator would hide heap errors from ASan.
export G_DEBUG=fatal-criticals
export G_SLICE=always-malloc
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$source_dir/../tests/lsan.supp}

status=0

for target in "${targets[@]}"; do
  exe="$build_dir/fuzz/fuzz-$target"
  corpus="$work_dir/$target/corpus"
  artifacts="$work_dir/$target/artifacts"
  log="$work_dir/$target/log"

  if [ ! -x "$exe" ]; then
    echo "fuzz-$target: MISSING ($exe; configure with CC=clang -Dfuzzing=true)"
    status=1
    continue
  fi

  mkdir -p "$corpus" "$artifacts"
  if [ -d "$source_dir/corpus/$target" ]; then
    cp -R "$source_dir/corpus/$target/." "$corpus/"
  fi
  seeds=$(find "$corpus" -type f | wc -l)

  # libFuzzer stops itself after -max_total_time; the outer timeout only guards against a hang
  # in start-up or in the final leak check.
  timeout --kill-after=10 $((seconds + 60)) \
    "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1
  rc=$?

  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  entries=$(find "$corpus" -type f | wc -l)

  if [ $rc -eq 0 ]; then
    echo "fuzz-$target: ok, ${runs:-?} executions in ${seconds}s, corpus $seeds -> $entries"
  else
    status=1
    what=$(grep -m 1 -E '^(SUMMARY|==[0-9]+==ERROR)|invariant failed|deadly signal|timeout|out-of-memory' "$log")
    [ $rc -eq 124 ] || [ $rc -eq 137 ] && what="killed after $((seconds + 60))s"
    mkdir -p "$findings_dir/$target"
    cp "$log" "$findings_dir/$target/log"
    cp -R "$artifacts/." "$findings_dir/$target/" 2>/dev/null
    echo "fuzz-$target: FAILED (exit $rc): ${what:-see log}; inputs and log in $findings_dir/$target/"
  fi
done

exit $status
