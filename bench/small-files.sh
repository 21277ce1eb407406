#!/usr/bin/env bash
# small-files.sh: many small files from one host through the daemon, against aria2c.
#
# Starts nginx on 127.0.0.1 (its own temporary configuration) serving N files (default 1000)
# of SIZE_KB (default 100) KiB each. Each round, in turn:
# - sluice: a fresh private session bus and sluiced with MaxActive 8 (the budget of aria2c's
#   -j 8), then `sluicectl add -d OUT URL…` and `sluicectl wait ID…`, timed from the add;
# - aria2c: `aria2c -i LIST -j 8 -d OUT`.
# Every file is checked against its SHA-256 after each run. Prints the medians of RUNS
# (default 5) alternating rounds and the ratio of speeds (target >= 1.0).
#
# Usage: bench/small-files.sh   (env: N, SIZE_KB, RUNS, SLUICED, SLUICECTL, BENCH_TMPDIR)
#
# SPDX-License-Identifier: GPL-3.0-or-later

set -euo pipefail
export LC_ALL=C

top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${N:-1000}"
SIZE_KB="${SIZE_KB:-100}"
RUNS="${RUNS:-5}"
SLUICED="${SLUICED:-$top/_build/src/service/sluiced}"
SLUICECTL="${SLUICECTL:-$top/_build/src/cli/sluicectl}"
TIMEOUT_S="${TIMEOUT_S:-600}"

need=()
command -v aria2c >/dev/null 2>&1 || need+=(aria2)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v dbus-daemon >/dev/null 2>&1 || need+=(dbus)
command -v gdbus >/dev/null 2>&1 || need+=(libglib2.0-bin)
if [ "${#need[@]}" -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || { echo "error: missing packages (${need[*]}); run as root" >&2; exit 1; }
  policy=/usr/sbin/policy-rc.d ours=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; ours=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" \
    >/dev/null
  [ "$ours" -eq 1 ] && rm -f "$policy"
fi
NGINX="$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)"
if [ ! -x "$SLUICED" ] || [ ! -x "$SLUICECTL" ]; then
  [ -f "$top/_build/build.ninja" ] || meson setup "$top/_build" "$top" -Dbuildtype=release >/dev/null
  meson compile -C "$top/_build" >/dev/null
fi

tmp="$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/sluice-small.XXXXXX")"
bus_pid=""
daemon_pid=""
cleanup () {
  [ -n "$daemon_pid" ] && kill -9 "$daemon_pid" 2>/dev/null || true
  [ -n "$bus_pid" ] && kill "$bus_pid" 2>/dev/null || true
  [ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

mkdir -p "$tmp/www" "$tmp/out" "$tmp/nginx"
echo "Creating $N files of $SIZE_KB KiB in $tmp/www ..." >&2
head -c "$((N * SIZE_KB * 1024))" /dev/urandom >"$tmp/all.bin"
(cd "$tmp/www" && split -a 4 -d -b "$((SIZE_KB * 1024))" "$tmp/all.bin" f && \
   for f in f*; do mv "$f" "$f.bin"; done)
rm -f "$tmp/all.bin"
(cd "$tmp/www" && sha256sum -- *.bin) >"$tmp/sums"
chmod 755 "$tmp" "$tmp/www"   # nginx's workers run as another user
chmod 644 "$tmp"/www/*
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cat >"$tmp/nginx.conf" <<EOF
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx; proxy_temp_path $tmp/nginx; fastcgi_temp_path $tmp/nginx;
  uwsgi_temp_path $tmp/nginx; scgi_temp_path $tmp/nginx;
  server { listen 127.0.0.1:$port; root $tmp/www; }
}
EOF
"$NGINX" -c "$tmp/nginx.conf"
urls=()
for f in "$tmp"/www/*.bin; do urls+=("http://127.0.0.1:$port/${f##*/}"); done
printf '%s\n' "${urls[@]}" >"$tmp/list"

check () {
  (cd "$tmp/out" && sha256sum --quiet -c "$tmp/sums") >/dev/null 2>&1 ||
    { echo "error: $1 left files that are missing or wrong" >&2; exit 1; }
}

run_sluice () {
  local address start end ids
  rm -rf "$tmp/out" "$tmp/data"; mkdir -p "$tmp/out" "$tmp/data"
  read -r address bus_pid < <(dbus-daemon --session --fork --print-address=1 --print-pid=1 \
                                --nopidfile | paste -s -d ' ')
  export DBUS_SESSION_BUS_ADDRESS="$address"
  SLUICE_IDLE_TIMEOUT=600 XDG_DATA_HOME="$tmp/data" "$SLUICED" >/dev/null 2>"$tmp/daemon.log" &
  daemon_pid=$!
  gdbus wait --session --timeout 30 org.sluice.Downloads
  gdbus call --session --dest org.sluice.Downloads --object-path /org/sluice/Downloads \
    --method org.freedesktop.DBus.Properties.Set org.sluice.Downloads.Manager1 MaxActive \
    "<uint32 8>" >/dev/null
  start="$(date +%s.%N)"
  ids="$(XDG_DATA_HOME="$tmp/data" "$SLUICECTL" add -d "$tmp/out" "${urls[@]}")"
  # shellcheck disable=SC2086
  XDG_DATA_HOME="$tmp/data" timeout "$TIMEOUT_S" "$SLUICECTL" wait $ids >/dev/null
  end="$(date +%s.%N)"
  kill -TERM "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true; daemon_pid=""
  kill "$bus_pid" 2>/dev/null || true; bus_pid=""
  check sluice
  echo "$end - $start" | bc >"$tmp/time"
}

run_aria2 () {
  local start end
  rm -rf "$tmp/out"; mkdir -p "$tmp/out"
  start="$(date +%s.%N)"
  timeout "$TIMEOUT_S" aria2c -q -i "$tmp/list" -j 8 -d "$tmp/out" >/dev/null 2>"$tmp/aria2.log"
  end="$(date +%s.%N)"
  check aria2c
  echo "$end - $start" | bc >"$tmp/time"
}

median () { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

sluice_times=() aria2_times=()
for r in $(seq 1 "$RUNS"); do
  run_sluice; s="$(cat "$tmp/time")"
  run_aria2; a="$(cat "$tmp/time")"
  echo "  round $r/$RUNS  sluice $s s  aria2c $a s" >&2
  sluice_times+=("$s"); aria2_times+=("$a")
done

ms="$(printf '%s\n' "${sluice_times[@]}" | median)"
ma="$(printf '%s\n' "${aria2_times[@]}" | median)"
printf '\n%d files of %d KiB from one host, medians of %d alternating rounds\n' "$N" "$SIZE_KB" "$RUNS"
printf '%-34s %8s\n' client 'wall s'
printf '%-34s %8.3f\n' 'sluice (add + wait, MaxActive 8)' "$ms"
printf '%-34s %8.3f\n' 'aria2c -i LIST -j 8' "$ma"
printf '\nspeed, sluice vs aria2c: %sx (target >= 1.0)\n' "$(echo "scale=3; $ma / $ms" | bc)"
