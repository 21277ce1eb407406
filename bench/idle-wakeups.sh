#!/usr/bin/env bash
# idle-wakeups.sh: how often the window and the daemon wake up with nothing to do.
#
# Fills a store with N downloads (default 10,000: nine in ten completed, one in ten paused,
# none running) as daemon-startup.sh does, starts a private session bus, Xvfb and sluiced, and
# launches sluice with SLUICE_BENCH=shown, which says when the list shows and then leaves the
# window alone. After SETTLE seconds (default 5), counts every thread's voluntary context
# switches (/proc/PID/task/*/status: a thread that wakes up and goes back to sleep counts one)
# over DURATION seconds (default 10), for sluiced and sluice, and for the private dbus-daemon
# and Xvfb as a reference. Target: at most 0.2 wakeups a second per process. For a process over
# it, an strace -f -c summary over STRACE_S seconds (default 3) shows the system calls.
#
# Usage: bench/idle-wakeups.sh   (env: N, SETTLE, DURATION, STRACE_S, BUILD, SLUICE, SLUICED,
#                                GSK_RENDERER, RUN_TIMEOUT, STRICT)
#
# SPDX-License-Identifier: GPL-3.0-or-later

set -euo pipefail

top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SETTLE="${SETTLE:-5}"
DURATION="${DURATION:-10}"
STRACE_S="${STRACE_S:-3}"
TARGET_PER_S=0.2
# Wakeups do not depend on which CPU runs what.
PIN="${PIN:-0}"
bench_name=idle
# shellcheck source=bench/window-env.sh
. "$top/bench/window-env.sh"

# One line per thread of process $2 (labelled $1): label tid comm voluntary_switches.
snapshot () {
  local label="$1" pid="$2" task comm switches
  for task in /proc/"$pid"/task/*; do
    comm="$(tr ' ' '_' <"$task/comm" 2>/dev/null)" || continue
    switches="$(awk '/^voluntary_ctxt_switches:/ { print $2 }' "$task/status" 2>/dev/null)" \
      || continue
    [ -n "$switches" ] && echo "$label ${task##*/} $comm $switches"
  done
}

make_store "$N"
start_daemon
if [ "$objects" -ne "$N" ]; then
  echo "error: the daemon listed $objects downloads, not $N" >&2
  exit 1
fi

SLUICE_BENCH=shown SLUICE_BENCH_START_US="${EPOCHREALTIME/./}" "$SLUICE" >"$tmp/app.out" \
  2>"$tmp/app.log" &
app_pid=$!
deadline=$(( SECONDS + RUN_TIMEOUT ))
until grep -q '^page ' "$tmp/app.out" 2>/dev/null; do
  if ! kill -0 "$app_pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
    echo "error: the window did not show the list within $RUN_TIMEOUT s" \
         "(is sl_bench_attach() called?)" >&2
    cat "$tmp/app.out" "$tmp/app.log" >&2
    exit 1
  fi
  sleep 0.1
done
sleep 0.1
if [ "$(value page "$tmp/app.out")" != list ] ||
   [ "$(value downloads "$tmp/app.out")" != "$N" ]; then
  echo "error: the window showed page $(value page "$tmp/app.out") with" \
       "$(value downloads "$tmp/app.out") downloads, not the list of $N" >&2
  exit 1
fi
sleep "$SETTLE"

daemon="$(owner_pid org.sluice.Downloads)"
[ -n "$daemon" ] || { echo "error: sluiced is not on the bus" >&2; exit 1; }
processes=("sluiced $daemon" "sluice $app_pid" "dbus-daemon $bus_pid" "Xvfb $xvfb_pid")
for p in "${processes[@]}"; do
  # shellcheck disable=SC2086
  snapshot $p
done >"$tmp/before"
sleep "$DURATION"
for p in "${processes[@]}"; do
  # shellcheck disable=SC2086
  snapshot $p
done >"$tmp/after"
kill -0 "$app_pid" 2>/dev/null || { echo "error: the window quit" >&2; exit 1; }

echo "wakeups in $DURATION s with the list of $N downloads shown and nothing running" \
     "(voluntary context switches, $(value renderer "$tmp/app.out"))"
printf "%-12s %-16s %8s %8s\n" "process" "thread" "wakeups" "per s"
# Threads are matched by id: one that started meanwhile counts from zero, one that ended is
# listed as ended (its last wakeups are not counted).
awk -v d="$DURATION" '
  NR == FNR { before[$1 " " $2] = $4; comm[$1 " " $2] = $3; next }
  {
    key = $1 " " $2; n = $4 - ((key in before) ? before[key] : 0); seen[key] = 1
    printf "%-12s %-16s %8d %8.2f\n", $1, $3, n, n / d
    total[$1] += n
    if (!($1 in order)) { order[$1] = ++count; names[count] = $1 }
  }
  END {
    for (key in before) {
      if (key in seen) continue
      split(key, k, " ")
      printf "%-12s %-16s %8s\n", k[1], comm[key] " (ended)", "?"
    }
    for (i = 1; i <= count; i++) {
      p = names[i]
      printf "%-12s %-16s %8d %8.2f\n", p, "(all)", total[p], total[p] / d
    }
  }' "$tmp/before" "$tmp/after" | tee "$tmp/table"

fail=0
for name in sluiced sluice; do
  rate="$(awk -v p="$name" '$1 == p && $2 == "(all)" { print $4 }' "$tmp/table")"
  pid="$daemon"
  [ "$name" = sluice ] && pid="$app_pid"
  if awk -v v="$rate" -v t="$TARGET_PER_S" 'BEGIN { exit !(v <= t) }'; then
    echo "target: $name wakes at most $TARGET_PER_S times a second: PASS ($rate/s)"
  else
    echo "target: $name wakes at most $TARGET_PER_S times a second: FAIL ($rate/s)"
    fail=1
    if command -v strace >/dev/null 2>&1; then
      echo "system calls of $name in $STRACE_S s (strace -f -c):"
      timeout -s INT "$STRACE_S" strace -f -c -S calls -p "$pid" -o "$tmp/strace.$name" \
        2>/dev/null || true
      head -n 14 "$tmp/strace.$name" | sed 's/^/  /'
      echo
    fi
  fi
done
if [ "${STRICT:-0}" = 1 ] && [ "$fail" = 1 ]; then
  exit 3
fi
