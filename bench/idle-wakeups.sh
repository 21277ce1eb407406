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
N="${N:-10000}"
SETTLE="${SETTLE:-5}"
DURATION="${DURATION:-10}"
STRACE_S="${STRACE_S:-3}"
BUILD="${BUILD:-$top/_build}"
SLUICE="${SLUICE:-$BUILD/src/app/sluice}"
SLUICED="${SLUICED:-$BUILD/src/service/sluiced}"
RUN_TIMEOUT="${RUN_TIMEOUT:-30}"
TARGET_PER_S=0.2

need () {
  command -v "$1" >/dev/null 2>&1 || { echo "error: $1 is missing (apt-get install $2)" >&2; exit 1; }
}
need dbus-daemon dbus-daemon
need gdbus libglib2.0-bin
need Xvfb xvfb
need cc gcc
need pkg-config pkg-config
need sqlite3 sqlite3

if [ ! -x "$SLUICE" ] || [ ! -x "$SLUICED" ]; then
  [ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" "$top" >/dev/null
  meson compile -C "$BUILD" >/dev/null
fi
[ -x "$SLUICE" ] || { echo "error: no sluice at $SLUICE" >&2; exit 1; }
[ -x "$SLUICED" ] || { echo "error: no sluiced at $SLUICED" >&2; exit 1; }
if [ ! -f "$BUILD/data/gschemas.compiled" ]; then
  echo "error: no compiled schema in $BUILD/data" >&2
  exit 1
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/sluice-idle.XXXXXX")"
client="$tmp/managed-objects"
# shellcheck disable=SC2046
cc -O2 -o "$client" "$top/bench/tools/managed-objects.c" $(pkg-config --cflags --libs gio-2.0)
bus_pid=""
xvfb_pid=""
daemon_pid=""
app_pid=""

# The pid of whoever owns $1 on the private bus, or nothing.
owner_pid () {
  gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
    --method org.freedesktop.DBus.GetConnectionUnixProcessID "$1" 2>/dev/null \
    | sed -n 's/^(uint32 \([0-9]*\),)$/\1/p'
}

# Stops the daemon, whoever started it; waits (bounded) until it is gone.
stop_daemon () {
  local pid
  pid="$(owner_pid org.sluice.Downloads || true)"
  [ -n "$pid" ] || pid="$daemon_pid"
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 200); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  if [ -n "$daemon_pid" ]; then
    wait "$daemon_pid" 2>/dev/null || true
  fi
  daemon_pid=""
}

cleanup () {
  if [ -n "$app_pid" ]; then
    kill -9 "$app_pid" 2>/dev/null || true
    wait "$app_pid" 2>/dev/null || true
  fi
  if [ -n "$bus_pid" ]; then
    stop_daemon
    kill "$bus_pid" 2>/dev/null || true
  fi
  if [ -n "$xvfb_pid" ]; then
    kill "$xvfb_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# A display of its own: Xvfb writes the number it took once it is ready.
Xvfb -displayfd 3 -screen 0 1280x1024x24 -nolisten tcp 3>"$tmp/display" 2>"$tmp/xvfb.log" &
xvfb_pid=$!
for _ in $(seq 1 100); do
  [ -s "$tmp/display" ] && break
  sleep 0.1
done
[ -s "$tmp/display" ] || { echo "error: Xvfb did not start" >&2; cat "$tmp/xvfb.log" >&2; exit 1; }
DISPLAY=":$(head -n1 "$tmp/display")"
export DISPLAY

read -r address bus_pid < <(dbus-daemon --session --fork --print-address=1 --print-pid=1 \
                              --nopidfile | paste -s -d ' ')
export DBUS_SESSION_BUS_ADDRESS="$address"

mkdir -p "$tmp/data" "$tmp/config" "$tmp/cache" "$tmp/runtime" "$tmp/downloads"
chmod 700 "$tmp/runtime"
export XDG_DATA_HOME="$tmp/data" XDG_CONFIG_HOME="$tmp/config" XDG_CACHE_HOME="$tmp/cache"
export XDG_RUNTIME_DIR="$tmp/runtime"
export GDK_BACKEND=x11 GSETTINGS_SCHEMA_DIR="$BUILD/data" GSETTINGS_BACKEND=memory
export NO_AT_BRIDGE=1 GTK_A11Y=none
export GSK_RENDERER="${GSK_RENDERER:-cairo}"
export SLUICE_IDLE_TIMEOUT=600 SLUICED
unset SLUICE_BENCH SLUICE_BENCH_START_US

# Starts sluiced and waits until it answers GetManagedObjects; sets daemon_pid and objects.
start_daemon () {
  "$SLUICED" >/dev/null 2>>"$tmp/daemon.log" &
  daemon_pid=$!
  read -r _ objects < <("$client")
}

# Lets sluiced create its schema, then fills the store with $1 downloads in one transaction.
make_store () {
  local n="$1"
  start_daemon
  stop_daemon
  sqlite3 "$XDG_DATA_HOME/sluice/downloads.db" <<SQL
BEGIN;
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $n)
INSERT INTO downloads (uri, directory, filename, state, error_kind, http_status,
                       bytes_received, bytes_total, position, created_at, finished_at)
SELECT 'http://127.0.0.1:9/files/file-' || i || '.bin', '$tmp/downloads',
       'file-' || i || '.bin',
       CASE WHEN i % 10 = 0 THEN 'paused' ELSE 'completed' END, 'none', 200,
       CASE WHEN i % 10 = 0 THEN 524288 ELSE 1048576 END, 1048576, i, 1700000000,
       CASE WHEN i % 10 = 0 THEN 0 ELSE 1700000000 END
FROM c;
COMMIT;
SQL
}

value () { awk -v k="$1" '$1 == k { print $2 }' "$2"; }

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
