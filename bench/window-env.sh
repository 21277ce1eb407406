# shellcheck shell=bash disable=SC2034,SC2154
# window-env.sh: what the window's benchmarks and build-aux/screenshot.sh share, sourced by
# them. It starts an Xvfb of its own, a private session bus and a temporary home, builds
# Sluice if its programs are missing, and gives the functions to fill the store, start and stop
# sluiced and launch the window; everything it started goes when the script exits.
#
# Before sourcing, set `top` (the source tree) and `bench_name` (names the temporary folder);
# optionally N (downloads, 10,000), BUILD, SLUICE, SLUICED, XVFB_SCREEN (1280x1024x24),
# RUN_TIMEOUT (seconds a launch may take, 30), and PIN=0 to leave the processes' CPUs to the
# scheduler. Afterwards: $tmp, $client, $x_pin/$app_pin, the *_pid variables, and the functions
# owner_pid, start_daemon, stop_daemon, make_store, launch, value, median, maximum.
#
# SPDX-License-Identifier: GPL-3.0-or-later

N="${N:-10000}"
BUILD="${BUILD:-$top/_build}"
X_CPU="${X_CPU:-0}"
APP_CPU="${APP_CPU:-1}"
SLUICE="${SLUICE:-$BUILD/src/app/sluice}"
SLUICED="${SLUICED:-$BUILD/src/service/sluiced}"
XVFB_SCREEN="${XVFB_SCREEN:-1280x1024x24}"
RUN_TIMEOUT="${RUN_TIMEOUT:-30}"

need () {
  command -v "$1" >/dev/null 2>&1 || { echo "error: $1 is missing (apt-get install $2)" >&2; exit 1; }
}
need dbus-daemon dbus-daemon
need gdbus libglib2.0-bin
need Xvfb xvfb
need cc gcc
need pkg-config pkg-config
need sqlite3 sqlite3
# shellcheck source=bench/tools/fill-store.sh
. "$top/bench/tools/fill-store.sh"

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
sluiced_binary="$SLUICED"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/sluice-$bench_name.XXXXXX")"
client="$tmp/managed-objects"
# shellcheck disable=SC2046
cc -O2 -o "$client" "$top/bench/tools/managed-objects.c" $(pkg-config --cflags --libs gio-2.0)
bus_pid=""
xvfb_pid=""
wm_pid=""
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
  if [ -n "$wm_pid" ]; then
    kill "$wm_pid" 2>/dev/null || true
  fi
  if [ -n "$xvfb_pid" ]; then
    kill "$xvfb_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# A display of its own: Xvfb writes the number it took once it is ready.
"${x_pin[@]}" Xvfb -displayfd 3 -screen 0 "$XVFB_SCREEN" -nolisten tcp 3>"$tmp/display" \
  2>"$tmp/xvfb.log" &
xvfb_pid=$!
for _ in $(seq 1 100); do
  [ -s "$tmp/display" ] && break
  sleep 0.1
done
[ -s "$tmp/display" ] || { echo "error: Xvfb did not start" >&2; cat "$tmp/xvfb.log" >&2; exit 1; }
DISPLAY=":$(head -n1 "$tmp/display")"
export DISPLAY

# A window manager, as on a desktop: WM=openbox (or any EWMH one) runs it on the X server's
# CPU. Without one, GTK asks the X server again at every layout whether a window manager has
# come since (a few more round trips a frame).
if [ -n "${WM:-}" ]; then
  command -v "$WM" >/dev/null 2>&1 || { echo "error: no window manager $WM" >&2; exit 1; }
  "${x_pin[@]}" "$WM" >"$tmp/wm.log" 2>&1 &
  wm_pid=$!
  # Ready once it says so on the root window (xprop, from x11-utils), else after a second.
  for _ in $(seq 1 50); do
    command -v xprop >/dev/null 2>&1 || { sleep 1; break; }
    xprop -root _NET_SUPPORTING_WM_CHECK 2>/dev/null | grep -q "window id" && break
    sleep 0.1
  done
fi

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
export SLUICE_IDLE_TIMEOUT=600
# The window starts the daemon itself when it is not running ($SLUICED): on the daemon's CPU.
if [ "${#x_pin[@]}" -gt 0 ]; then
  printf '#!/bin/sh\nexec %s"$@"\n' "$(printf '%q ' "${x_pin[@]}" "$sluiced_binary")" \
    >"$tmp/sluiced"
  chmod +x "$tmp/sluiced"
  SLUICED="$tmp/sluiced"
fi
export SLUICED
unset SLUICE_BENCH SLUICE_BENCH_START_US SLUICE_BENCH_STEP SLUICE_BENCH_OUTPUT

# Starts sluiced and waits until it answers GetManagedObjects; sets daemon_pid and objects.
start_daemon () {
  "${x_pin[@]}" "$sluiced_binary" >/dev/null 2>>"$tmp/daemon.log" &
  daemon_pid=$!
  read -r _ objects < <("$client")
}

# Lets sluiced create its schema and stops it: the store can then be written.
make_schema () {
  start_daemon
  stop_daemon
}

# Fills the store with $1 downloads (bench/tools/fill-store.sh).
make_store () {
  local n="$1"
  make_schema
  fill_store "$XDG_DATA_HOME/sluice/downloads.db" "$n" "$tmp/downloads"
}

value () { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
median () { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
maximum () { sort -g | tail -n1; }

# Launches the window with SLUICE_BENCH=$1 and waits for it to quit; its report goes to $2.
# $3 says what it had to do in the error if it does not do it in time; $4, if given, is a
# report line the measurement must have printed. Fails unless the window showed the list of
# N downloads.
launch () {
  local mode="$1" out="$2" what="$3" key="${4:-}" deadline status
  SLUICE_BENCH="$mode" SLUICE_BENCH_START_US="${EPOCHREALTIME/./}" "${app_pin[@]}" "$SLUICE" \
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
    echo "error: the window did not $what within $RUN_TIMEOUT s" >&2
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
  if [ -n "$key" ] && ! grep -q "^$key " "$out"; then
    echo "error: the window printed no $key" >&2
    cat "$out" "$tmp/app.log" >&2
    exit 1
  fi
  if [ "$(value page "$out")" != list ] || [ "$(value downloads "$out")" != "$N" ]; then
    echo "error: the window showed page $(value page "$out") with $(value downloads "$out")" \
         "downloads, not the list of $N" >&2
    exit 1
  fi
}
