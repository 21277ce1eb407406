#!/usr/bin/env bash
# daemon-load.sh: sluiced with many downloads running at once.
#
# Starts nginx on 127.0.0.1 (its own temporary configuration, throttled per connection), a
# private session bus and sluiced, raises MaxActive and MaxPerHost to N, adds N downloads
# (default 100) with sluicectl, and waits until all complete. Meanwhile sluiced measures how
# late a 10 ms timer of its main loop fires (SLUICE_MEASURE_LATENCY), and dbus-monitor counts
# the PropertiesChanged signals of every download. Prints the main loop's worst stall and the
# bus updates per download per second, against the targets (stall <= 50 ms, ~10 updates/s).
#
# Usage: bench/daemon-load.sh   (env: N, SIZE_MB, RATE (nginx limit_rate, e.g. 1m), SLUICED,
#                                SLUICECTL)
#
# SPDX-License-Identifier: GPL-3.0-or-later

set -euo pipefail

top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${N:-100}"
SIZE_MB="${SIZE_MB:-16}"
RATE="${RATE:-1m}"
SLUICED="${SLUICED:-$top/_build/src/service/sluiced}"
SLUICECTL="${SLUICECTL:-$top/_build/src/cli/sluicectl}"
TIMEOUT_S="${TIMEOUT_S:-600}"

for tool in nginx dbus-daemon dbus-monitor gdbus; do
  command -v "$tool" >/dev/null 2>&1 || { echo "error: $tool is missing" >&2; exit 1; }
done
if [ ! -x "$SLUICED" ] || [ ! -x "$SLUICECTL" ]; then
  [ -f "$top/_build/build.ninja" ] || meson setup "$top/_build" "$top" >/dev/null
  meson compile -C "$top/_build" >/dev/null
fi

tmp="$(mktemp -d "${TMPDIR:-/var/tmp}/sluice-load.XXXXXX")"
bus_pid=""
daemon_pid=""
monitor_pid=""
cleanup () {
  [ -n "$monitor_pid" ] && kill "$monitor_pid" 2>/dev/null || true
  [ -n "$daemon_pid" ] && kill -9 "$daemon_pid" 2>/dev/null || true
  [ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null || true
  [ -n "$bus_pid" ] && kill "$bus_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

mkdir -p "$tmp/www" "$tmp/out" "$tmp/data" "$tmp/nginx"
head -c "$((SIZE_MB * 1024 * 1024))" /dev/urandom >"$tmp/www/file.bin"
# nginx's workers run as another user.
chmod 755 "$tmp" "$tmp/www"
chmod 644 "$tmp/www/file.bin"
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
  server { listen 127.0.0.1:$port; root $tmp/www; limit_rate $RATE; }
}
EOF
nginx -c "$tmp/nginx.conf"

read -r address bus_pid < <(dbus-daemon --session --fork --print-address=1 --print-pid=1 \
                              --nopidfile | paste -s -d ' ')
export DBUS_SESSION_BUS_ADDRESS="$address"

SLUICE_MEASURE_LATENCY=1 SLUICE_IDLE_TIMEOUT=600 XDG_DATA_HOME="$tmp/data" "$SLUICED" \
  >/dev/null 2>"$tmp/daemon.log" &
daemon_pid=$!
gdbus wait --session --timeout 30 org.sluice.Downloads
for property in MaxActive MaxPerHost; do
  gdbus call --session --dest org.sluice.Downloads --object-path /org/sluice/Downloads \
    --method org.freedesktop.DBus.Properties.Set org.sluice.Downloads.Manager1 "$property" \
    "<uint32 $N>" >/dev/null
done

dbus-monitor --session \
  "type='signal',sender='org.sluice.Downloads',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged'" \
  >"$tmp/monitor.log" 2>/dev/null &
monitor_pid=$!
sleep 0.5

urls=()
for i in $(seq 1 "$N"); do
  urls+=("http://127.0.0.1:$port/file.bin?n=$i")
done
start="$(date +%s.%N)"
SLUICED="$SLUICED" "$SLUICECTL" add -d "$tmp/out" "${urls[@]}" >"$tmp/ids.txt"

deadline=$(( $(date +%s) + TIMEOUT_S ))
while :; do
  done_count="$("$SLUICECTL" list --json | grep -c '"state": "completed"' || true)"
  [ "$done_count" -ge "$N" ] && break
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "error: only $done_count of $N downloads completed within $TIMEOUT_S s" >&2
    "$SLUICECTL" list >&2
    exit 1
  fi
  sleep 1
done
end="$(date +%s.%N)"

kill "$monitor_pid" 2>/dev/null || true
wait "$monitor_pid" 2>/dev/null || true
monitor_pid=""
kill -TERM "$daemon_pid"
wait "$daemon_pid" 2>/dev/null || true
daemon_pid=""

expected="$(sha256sum "$tmp/www/file.bin" | cut -d' ' -f1)"
bad=0
for f in "$tmp"/out/*; do
  [ "$(sha256sum "$f" | cut -d' ' -f1)" = "$expected" ] || bad=$((bad + 1))
done
files="$(find "$tmp/out" -type f | wc -l)"

latency="$(grep -o 'main loop: .*' "$tmp/daemon.log" || echo 'main loop: not reported')"
max_ms="$(echo "$latency" | sed -n 's/.*max lateness \([0-9.]*\) ms.*/\1/p')"

# PropertiesChanged per download per whole second: the busiest second of the busiest download,
# and the average over the run.
read -r max_rate mean_rate < <(awk '
  /^signal time=/ {
    split($2, t, "="); sec = int(t[2])
    for (i = 1; i <= NF; i++) if ($i ~ /^path=/) { split($i, kv, "="); path = kv[2]; sub(/;$/, "", path) }
    key = path " " sec; count[key]++; total++; paths[path] = 1
    if (first == "" || sec < first) first = sec; if (sec > last) last = sec
  }
  END {
    for (k in count) if (count[k] > max) max = count[k]
    n = 0; for (q in paths) n++
    secs = last - first + 1
    printf "%d %.2f\n", max, (n > 0 && secs > 0) ? total / n / secs : 0
  }' "$tmp/monitor.log")

printf "%s downloads of %s MiB at %s/s each: %d files, %d wrong, %.1f s\n" "$N" "$SIZE_MB" \
  "$RATE" "$files" "$bad" "$(echo "$end - $start" | bc -l)"
echo "$latency"
echo "PropertiesChanged per download: at most $max_rate in one second, $mean_rate a second on average"
awk -v m="${max_ms:-9999}" 'BEGIN { exit !(m <= 50) }' \
  && echo "target: main loop never stalls more than 50 ms: PASS" \
  || echo "target: main loop never stalls more than 50 ms: FAIL"
[ "$max_rate" -le 11 ] \
  && echo "target: at most ~10 updates per download per second: PASS" \
  || echo "target: at most ~10 updates per download per second: FAIL"
[ "$files" -eq "$N" ] && [ "$bad" -eq 0 ] || { echo "error: downloads are missing or wrong" >&2; exit 1; }
