#!/usr/bin/env bash
# window-startup.sh: how fast the window shows a long download list.
#
# Fills a store with N downloads (default 10,000: nine in ten completed, one in ten paused) as
# daemon-startup.sh does, starts a private session bus and Xvfb, and launches sluice with
# SLUICE_BENCH=startup RUNS times (default 5): the window prints the time from its launch to
# the first frame drawn with rows of the list, and quits. First with sluiced already running
# and answering, then with no daemon, so that the window starts it. Prints medians and maxima
# against the target (rows within 1 s of launch).
#
# Usage: bench/window-startup.sh   (env: N, RUNS, BUILD, SLUICE, SLUICED, GSK_RENDERER,
#                                  RUN_TIMEOUT, LOG, STRICT, PIN, X_CPU, APP_CPU)
#
# SPDX-License-Identifier: GPL-3.0-or-later

set -euo pipefail

top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${RUNS:-5}"
LOG="${LOG:-/var/tmp/sluice-window-startup-$(date +%Y%m%d-%H%M%S).log}"
TARGET_MS=1000
bench_name=window-startup
# shellcheck source=bench/window-env.sh
. "$top/bench/window-env.sh"

make_store "$N"
start_daemon
if [ "$objects" -ne "$N" ]; then
  echo "error: the daemon listed $objects downloads, not $N" >&2
  exit 1
fi

# The daemon's part: one GetManagedObjects round trip, as the window makes it.
t0="${EPOCHREALTIME/./}"
read -r t1 _ < <("$client")
getmanaged_ms=$(( (t1 / 1000 - t0) / 1000 ))

# One launch first, not counted: it fills the page cache with GTK's files, fonts and icons.
launch startup "$tmp/warmup.out" "show the list"

: >"$tmp/running.runs"
for i in $(seq 1 "$RUNS"); do
  launch startup "$tmp/running.$i.out" "show the list"
  echo "$(value startup-ms "$tmp/running.$i.out") $(value attach-ms "$tmp/running.$i.out")" \
       "$(value first-frame-ms "$tmp/running.$i.out") $(value loaded-ms "$tmp/running.$i.out")" \
       >>"$tmp/running.runs"
done
rows="$(value rows "$tmp/running.1.out")"
renderer="$(value renderer "$tmp/running.1.out")"

stop_daemon
: >"$tmp/cold.runs"
for i in $(seq 1 "$RUNS"); do
  if [ -n "$(owner_pid org.sluice.Downloads)" ]; then
    echo "error: a daemon is still running" >&2
    exit 1
  fi
  launch startup "$tmp/cold.$i.out" "show the list"
  echo "$(value startup-ms "$tmp/cold.$i.out") $(value attach-ms "$tmp/cold.$i.out")" \
       "$(value first-frame-ms "$tmp/cold.$i.out") $(value loaded-ms "$tmp/cold.$i.out")" \
       >>"$tmp/cold.runs"
  stop_daemon
done

echo "sluice launch to the first frame with rows of the list, $N downloads," \
     "$renderer (median of $RUNS)"
printf "%-12s %10s %10s %10s %12s %10s\n" "daemon" "shown ms" "max ms" "window ms" \
  "1st frame ms" "loaded ms"
fail=0
for kind in running cold; do
  runs="$tmp/$kind.runs"
  label="running"
  [ "$kind" = cold ] && label="not running"
  printf "%-12s %10.0f %10.0f %10.0f %12.0f %10.0f\n" "$label" \
    "$(cut -d' ' -f1 "$runs" | median)" "$(cut -d' ' -f1 "$runs" | maximum)" \
    "$(cut -d' ' -f2 "$runs" | median)" "$(cut -d' ' -f3 "$runs" | median)" \
    "$(cut -d' ' -f4 "$runs" | median)"
done
echo "rows on screen: $rows; GetManagedObjects on the running daemon: $getmanaged_ms ms"
for kind in running cold; do
  label="daemon running"
  [ "$kind" = cold ] && label="daemon not running"
  shown="$(cut -d' ' -f1 "$tmp/$kind.runs" | median)"
  if awk -v v="$shown" -v t="$TARGET_MS" 'BEGIN { exit !(v <= t) }'; then
    echo "target: rows within $TARGET_MS ms of launch, $label: PASS"
  else
    echo "target: rows within $TARGET_MS ms of launch, $label: FAIL"
    fail=1
  fi
done
for kind in running cold; do
  for i in $(seq 1 "$RUNS"); do
    echo "# daemon $kind, run $i"
    cat "$tmp/$kind.$i.out"
  done
done >"$LOG"
echo "raw results: $LOG"
if [ "${STRICT:-0}" = 1 ] && [ "$fail" = 1 ]; then
  exit 3
fi
