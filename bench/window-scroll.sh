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
N="${N:-10000}"
RUNS="${RUNS:-3}"
STEP="${STEP:-}"
BUILD="${BUILD:-$top/_build}"
X_CPU="${X_CPU:-0}"
APP_CPU="${APP_CPU:-1}"
SLUICE="${SLUICE:-$BUILD/src/app/sluice}"
SLUICED="${SLUICED:-$BUILD/src/service/sluiced}"
SCROLL_TIMEOUT="${SCROLL_TIMEOUT:-60}"
LOG="${LOG:-/var/tmp/sluice-window-scroll-$(date +%Y%m%d-%H%M%S).log}"
RUN_TIMEOUT=$(( SCROLL_TIMEOUT + 60 ))
BUDGET_MS=16

need () {
  command -v "$1" >/dev/null 2>&1 || { echo "error: $1 is missing (apt-get install $2)" >&2; exit 1; }
}
need dbus-daemon dbus-daemon
need gdbus libglib2.0-bin
need Xvfb xvfb
need cc gcc
need pkg-config pkg-config
need sqlite3 sqlite3

# The window on one CPU, the X server and the daemon on another, as on a desktop where they
# are separate processes: a round trip to the X server then costs a wakeup across CPUs. PIN=0
# leaves the placement to the scheduler (round trips then cost more or less from run to run).
x_pin=()
app_pin=()
if [ "${PIN:-1}" != 0 ] && command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
  x_pin=(taskset -c "$X_CPU")
  app_pin=(taskset -c "$APP_CPU")
fi

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

tmp="$(mktemp -d "${TMPDIR:-/tmp}/sluice-window-scroll.XXXXXX")"
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
"${x_pin[@]}" Xvfb -displayfd 3 -screen 0 1280x1024x24 -nolisten tcp 3>"$tmp/display" \
  2>"$tmp/xvfb.log" &
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
export SLUICE_BENCH_TIMEOUT="$SCROLL_TIMEOUT"
unset SLUICE_BENCH SLUICE_BENCH_START_US SLUICE_BENCH_STEP
[ -n "$STEP" ] && export SLUICE_BENCH_STEP="$STEP"

# Starts sluiced and waits until it answers GetManagedObjects; sets daemon_pid and objects.
start_daemon () {
  "${x_pin[@]}" "$SLUICED" >/dev/null 2>>"$tmp/daemon.log" &
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

# Launches the window once; its report goes to $1. Fails if it does not report in time.
launch () {
  local out="$1" deadline status
  SLUICE_BENCH=scroll SLUICE_BENCH_START_US="${EPOCHREALTIME/./}" "${app_pin[@]}" "$SLUICE" \
    >"$out" 2>"$tmp/app.log" &
  app_pid=$!
  deadline=$(( SECONDS + RUN_TIMEOUT ))
  while kill -0 "$app_pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
    sleep 0.05
  done
  if kill -0 "$app_pid" 2>/dev/null; then
    kill -9 "$app_pid" 2>/dev/null || true
    wait "$app_pid" 2>/dev/null || true
    app_pid=""
    echo "error: the window did not show and scroll the list within $RUN_TIMEOUT s" >&2
    cat "$out" "$tmp/app.log" >&2
    exit 1
  fi
  status=0
  wait "$app_pid" 2>/dev/null || status=$?
  app_pid=""
  if [ "$status" -ne 0 ]; then
    echo "error: the window exited with status $status" >&2
    cat "$out" "$tmp/app.log" >&2
    exit 1
  fi
  if ! grep -q '^startup-ms ' "$out"; then
    echo "error: the window printed no startup-ms (is sl_bench_attach() called?)" >&2
    cat "$out" "$tmp/app.log" >&2
    exit 1
  fi
  if ! grep -q '^max-lateness-ms ' "$out"; then
    echo "error: the window did not report the scroll" >&2
    cat "$out" "$tmp/app.log" >&2
    exit 1
  fi
  if [ "$(value page "$out")" != list ] || [ "$(value downloads "$out")" != "$N" ]; then
    echo "error: the window showed page $(value page "$out") with $(value downloads "$out")" \
         "downloads, not the list of $N" >&2
    exit 1
  fi
}

value () { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
maximum () { sort -g | tail -n1; }

make_store "$N"
start_daemon
if [ "$objects" -ne "$N" ]; then
  echo "error: the daemon listed $objects downloads, not $N" >&2
  exit 1
fi

: >"$LOG"
for i in $(seq 1 "$RUNS"); do
  launch "$tmp/run.$i.out"
  { echo "# run $i"; cat "$tmp/run.$i.out"; } >>"$LOG"
done
out="$tmp/run.1.out"
step="${STEP:-a page}"
[ -n "$STEP" ] && step="$STEP px"

echo "scrolling $N downloads top to bottom, $step per frame, $(value renderer "$out")," \
     "$(value rows "$out") rows on screen"
printf "%-4s %7s %6s %9s %20s %7s %17s %15s %8s %9s\n" "run" "frames" "s" "px" \
  "frame ms med/p99/max" "worst #" "layout ms med/max" "paint ms med/max" "over 16" "late max"
for i in $(seq 1 "$RUNS"); do
  out="$tmp/run.$i.out"
  printf "%-4s %7s %6s %9s %20s %7s %17s %15s %8s %9s\n" "$i" "$(value frames "$out")" \
    "$(value scroll-s "$out")" "$(value scrolled-px "$out")" \
    "$(value median-frame-ms "$out")/$(value p99-frame-ms "$out")/$(value max-frame-ms "$out")" \
    "$(value slowest-frame "$out")" \
    "$(value median-layout-ms "$out")/$(value max-layout-ms "$out")" \
    "$(value median-paint-ms "$out")/$(value max-paint-ms "$out")" \
    "$(value frames-over-16ms "$out")" "$(value max-lateness-ms "$out")"
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
