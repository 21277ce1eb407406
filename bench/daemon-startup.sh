#!/usr/bin/env bash
# daemon-startup.sh: how fast sluiced answers with a long download list, and what the list
# costs in memory.
#
# For an empty store and one with N downloads (default 10,000: nine in ten completed, one in
# ten paused), starts sluiced on a private session bus RUNS times (default 5) and measures the
# time from starting it to the answer of GetManagedObjects (by a small client built from
# bench/tools/managed-objects.c, which retries until the name is there), and the daemon's
# resident memory then. Prints medians and the memory per download.
#
# Usage: bench/daemon-startup.sh   (env: N, RUNS, SLUICED)
#
# SPDX-License-Identifier: GPL-3.0-or-later

set -euo pipefail

top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${N:-10000}"
RUNS="${RUNS:-5}"
SLUICED="${SLUICED:-$top/_build/src/service/sluiced}"

need () {
  command -v "$1" >/dev/null 2>&1 || { echo "error: $1 is missing (apt-get install $2)" >&2; exit 1; }
}
need dbus-daemon dbus-daemon
need cc gcc
need pkg-config pkg-config
need sqlite3 sqlite3
# shellcheck source=bench/tools/fill-store.sh
. "$top/bench/tools/fill-store.sh"

if [ ! -x "$SLUICED" ]; then
  if [ ! -f "$top/_build/build.ninja" ]; then
    meson setup "$top/_build" "$top" >/dev/null
  fi
  meson compile -C "$top/_build" >/dev/null
fi
[ -x "$SLUICED" ] || { echo "error: no sluiced at $SLUICED" >&2; exit 1; }

tmp="$(mktemp -d "${TMPDIR:-/tmp}/sluice-startup.XXXXXX")"
client="$tmp/managed-objects"
# shellcheck disable=SC2046
cc -O2 -o "$client" "$top/bench/tools/managed-objects.c" $(pkg-config --cflags --libs gio-2.0)
bus_pid=""
daemon_pid=""
cleanup () {
  [ -n "$daemon_pid" ] && kill -9 "$daemon_pid" 2>/dev/null || true
  [ -n "$bus_pid" ] && kill "$bus_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

read -r address bus_pid < <(dbus-daemon --session --fork --print-address=1 --print-pid=1 \
                              --nopidfile | paste -s -d ' ')
export DBUS_SESSION_BUS_ADDRESS="$address"
export SLUICE_IDLE_TIMEOUT=600

now_ns () { date +%s%N; }

# Starts sluiced on the data folder $1; prints "milliseconds rss_kib".
measure () {
  local data="$1" start end rss
  start="$(now_ns)"
  XDG_DATA_HOME="$data" "$SLUICED" >/dev/null 2>"$tmp/daemon.log" &
  daemon_pid=$!
  read -r end objects < <("$client")
  echo "$objects" >"$tmp/objects.txt"
  rss="$(awk '/^VmRSS:/ { print $2 }' "/proc/$daemon_pid/status")"
  kill -TERM "$daemon_pid"
  for _ in $(seq 1 200); do
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.05
  done
  kill -9 "$daemon_pid" 2>/dev/null || true
  wait "$daemon_pid" 2>/dev/null || true
  daemon_pid=""
  echo "$(( (end - start) / 1000000 )) $rss"
}

# Lets sluiced create its schema, then fills the store with $2 downloads in one transaction.
make_store () {
  local data="$1" n="$2"
  mkdir -p "$data"
  measure "$data" >/dev/null
  fill_store "$data/sluice/downloads.db" "$n" "$tmp/downloads"
}

median () { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

mkdir -p "$tmp/downloads"
make_store "$tmp/empty" 0
make_store "$tmp/full" "$N"

declare -A ms rss
for store in empty full; do
  : >"$tmp/$store.runs"
  for _ in $(seq 1 "$RUNS"); do
    measure "$tmp/$store" >>"$tmp/$store.runs"
  done
  ms[$store]="$(cut -d' ' -f1 "$tmp/$store.runs" | median)"
  rss[$store]="$(cut -d' ' -f2 "$tmp/$store.runs" | median)"
done

objects="$(cat "$tmp/objects.txt")"
[ "$objects" -eq "$N" ] || { echo "error: the daemon listed $objects downloads, not $N" >&2; exit 1; }

echo "sluiced start to GetManagedObjects answer (median of $RUNS)"
printf "%-12s %10s %10s\n" "downloads" "ms" "RSS MiB"
printf "%-12s %10s %10.1f\n" 0 "${ms[empty]}" "$(echo "${rss[empty]} / 1024" | bc -l)"
printf "%-12s %10s %10.1f\n" "$N" "${ms[full]}" "$(echo "${rss[full]} / 1024" | bc -l)"
printf "per download: %.2f KiB\n" "$(echo "(${rss[full]} - ${rss[empty]}) / $N" | bc -l)"
if [ "${ms[full]}" -le 500 ]; then
  echo "target: answer within 500 ms with $N downloads: PASS"
else
  echo "target: answer within 500 ms with $N downloads: FAIL"
fi
