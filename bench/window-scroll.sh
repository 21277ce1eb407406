#!/usr/bin/env bash
# window-scroll.sh: scrolling a long download list from top to bottom.
#
# Fills a store with N downloads (default 10,000: nine in ten completed, one in ten paused) as
# daemon-startup.sh does, starts a private session bus, Xvfb and sluiced, and launches sluice
# with SLUICE_BENCH=scroll RUNS times (default 3). Once the list shows, the window scrolls it
# from top to bottom one step per frame (a page, or STEP pixels), measures how long each frame
# takes and how late a 1 ms timer of its main loop fires, prints that and quits. Prints each
# run against the targets (no frame over 16 ms, the main loop never late by more than 16 ms).
#
# Usage: bench/window-scroll.sh   (env: N, RUNS, STEP, BUILD, SLUICE, SLUICED, GSK_RENDERER,
#                                 SCROLL_TIMEOUT, LOG, STRICT, PIN, X_CPU, APP_CPU)
#
# SPDX-License-Identifier: GPL-3.0-or-later

set -euo pipefail

top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${RUNS:-3}"
STEP="${STEP:-}"
SCROLL_TIMEOUT="${SCROLL_TIMEOUT:-60}"
LOG="${LOG:-/var/tmp/sluice-window-scroll-$(date +%Y%m%d-%H%M%S).log}"
RUN_TIMEOUT=$(( SCROLL_TIMEOUT + 60 ))
BUDGET_MS=16
bench_name=window-scroll
# shellcheck source=bench/window-env.sh
. "$top/bench/window-env.sh"
export SLUICE_BENCH_TIMEOUT="$SCROLL_TIMEOUT"
[ -n "$STEP" ] && export SLUICE_BENCH_STEP="$STEP"

make_store "$N"
start_daemon
if [ "$objects" -ne "$N" ]; then
  echo "error: the daemon listed $objects downloads, not $N" >&2
  exit 1
fi

: >"$LOG"
for i in $(seq 1 "$RUNS"); do
  launch scroll "$tmp/run.$i.out" "show and scroll the list" max-lateness-ms
  { echo "# run $i"; cat "$tmp/run.$i.out"; } >>"$LOG"
done
out="$tmp/run.1.out"
step="${STEP:-a page}"
[ -n "$STEP" ] && step="$STEP px"

echo "scrolling $N downloads top to bottom, $step per frame, $(value renderer "$out")," \
     "$(value rows "$out") rows on screen"
printf "%-4s %7s %6s %9s %20s %7s %17s %15s %15s %19s %8s %9s %18s\n" "run" "frames" "s" "px" \
  "frame ms med/p99/max" "worst #" "layout ms med/max" "paint ms med/max" "cpu ms med/max" \
  "worst: cpu/pre/wait" "over 16" "late max" "late: cpu/pre/wait"
for i in $(seq 1 "$RUNS"); do
  out="$tmp/run.$i.out"
  printf "%-4s %7s %6s %9s %20s %7s %17s %15s %15s %19s %8s %9s %18s\n" "$i" "$(value frames "$out")" \
    "$(value scroll-s "$out")" "$(value scrolled-px "$out")" \
    "$(value median-frame-ms "$out")/$(value p99-frame-ms "$out")/$(value max-frame-ms "$out")" \
    "$(value slowest-frame "$out")" \
    "$(value median-layout-ms "$out")/$(value max-layout-ms "$out")" \
    "$(value median-paint-ms "$out")/$(value max-paint-ms "$out")" \
    "$(value median-cpu-ms "$out")/$(value max-cpu-ms "$out")" \
    "$(value slowest-frame-cpu-ms "$out")/$(value slowest-frame-preemptions "$out")/$(value slowest-frame-waits "$out")" \
    "$(value frames-over-16ms "$out")" "$(value max-lateness-ms "$out")" \
    "$(value max-lateness-cpu-ms "$out")/$(value max-lateness-preemptions "$out")/$(value max-lateness-waits "$out")"
done

fail=0
incomplete=0
frames=0
over=0
late_over=0
for i in $(seq 1 "$RUNS"); do
  out="$tmp/run.$i.out"
  [ "$(value scroll-complete "$out")" = 1 ] || incomplete=$((incomplete + 1))
  frames=$((frames + $(value frames "$out")))
  over=$((over + $(value frames-over-16ms "$out")))
  late_over=$((late_over + $(value lateness-over-16ms "$out")))
done
max_frame="$(for i in $(seq 1 "$RUNS"); do value max-frame-ms "$tmp/run.$i.out"; done | maximum)"
max_late="$(for i in $(seq 1 "$RUNS"); do value max-lateness-ms "$tmp/run.$i.out"; done | maximum)"

if [ "$incomplete" -eq 0 ]; then
  echo "target: the bottom reached within $SCROLL_TIMEOUT s: PASS"
else
  echo "target: the bottom reached within $SCROLL_TIMEOUT s: FAIL ($incomplete of $RUNS runs)"
  fail=1
fi
if awk -v v="$max_frame" -v t="$BUDGET_MS" 'BEGIN { exit !(v <= t) }'; then
  echo "target: no frame over $BUDGET_MS ms: PASS (longest $max_frame ms)"
else
  echo "target: no frame over $BUDGET_MS ms: FAIL ($over of $frames frames; longest $max_frame ms)"
  fail=1
fi
if awk -v v="$max_late" -v t="$BUDGET_MS" 'BEGIN { exit !(v <= t) }'; then
  echo "target: main loop never late by more than $BUDGET_MS ms: PASS (at most $max_late ms)"
else
  echo "target: main loop never late by more than $BUDGET_MS ms: FAIL ($late_over times;" \
       "at most $max_late ms)"
  fail=1
fi
echo "raw results: $LOG"
if [ "${STRICT:-0}" = 1 ] && [ "$fail" = 1 ]; then
  exit 3
fi
