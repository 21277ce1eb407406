#!/usr/bin/env bash
# Segmented downloads: `sluicectl get` with -x 8, with no -x (adaptive) and with -x 1, next
# to aria2c tuned (-x8 -s8 -k1M --file-allocation=falloc) and aria2c at its defaults with the
# same connection budget (-x8), all against one private nginx on 127.0.0.1. See
# bench/README.md.
#
# Usage: bench/segmented.sh [--runs N] [--sluicectl PATH] [--quick] [--case NAME]...
# Environment: SLUICECTL, RUNS (default 5), BENCH_TMPDIR, CAPPED_MB (256), UNCAPPED_MB (1024),
#              LIMIT_MB (100), NGINX_CPU (0), CLIENT_CPU (1), CASES (all)

set -Eeuo pipefail
export LC_ALL=C

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=${0##*/}
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
note() { printf '%s\n' "$*" >&2; }

SLUICECTL=${SLUICECTL:-$REPO/_build/src/cli/sluicectl}
RUNS=${RUNS:-5}
CAPPED_MB=${CAPPED_MB:-256}
UNCAPPED_MB=${UNCAPPED_MB:-1024}
LIMIT_MB=${LIMIT_MB:-100}
NGINX_CPU=${NGINX_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
ALL_CASES=(capped uncapped limit-conn-4 limit-rate checksum checksum-wire)
read -r -a CASES <<<"${CASES:-}"

while (($#)); do
    case $1 in
        --runs) RUNS=$2; shift ;;
        --sluicectl) SLUICECTL=$2; shift ;;
        --quick) CAPPED_MB=64; UNCAPPED_MB=256; LIMIT_MB=50; RUNS=5 ;;
        --case) CASES+=("$2"); shift ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) die "unknown argument: $1" ;;
    esac
    shift
done
[[ $RUNS =~ ^[0-9]+$ ]] && ((RUNS >= 5 && RUNS <= 100)) || die "RUNS must be 5 to 100"
((${#CASES[@]})) || CASES=("${ALL_CASES[@]}")
for c in "${CASES[@]}"; do
    [[ " ${ALL_CASES[*]} " == *" $c "* ]] || die "unknown case $c (cases: ${ALL_CASES[*]})"
done
selected() { [[ " ${CASES[*]} " == *" $1 "* ]]; }

# ------------------------------------------------------------ packages
need=()
# Only the checksum and limit-rate cases do without aria2c.
if selected capped || selected uncapped || selected limit-conn-4; then
    command -v aria2c >/dev/null 2>&1 || need+=(aria2)
fi
command -v taskset >/dev/null 2>&1 || need+=(util-linux)
[[ -x /usr/bin/time ]] || need+=(time)
NGINX=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)
[[ -x $NGINX ]] || need+=(nginx-light)
if ((${#need[@]})); then
    ((EUID == 0)) || die "missing packages (${need[*]}); run as root"
    note "Installing ${need[*]}..."
    policy=/usr/sbin/policy-rc.d ours=0
    if [[ ! -e $policy ]]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; ours=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
        { ((ours)) && rm -f "$policy"; die "apt-get install failed"; }
    ((ours)) && rm -f "$policy"
    NGINX=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)
fi
if [[ ! -x $SLUICECTL ]]; then
    note "Building sluicectl (meson, _build, release)..."
    (cd "$REPO" && { [[ -f _build/build.ninja ]] || meson setup _build -Dbuildtype=release; } &&
        meson compile -C _build src/cli/sluicectl) >/dev/null || die "build failed"
fi

# ------------------------------------------------------- server and files
base=${BENCH_TMPDIR:-/var/tmp}
WORK=$(mktemp -d "$base/sluice-segmented.XXXXXX")
NGINX_PID=""
cleanup() {
    [[ -n $NGINX_PID ]] && kill "$NGINX_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
mkdir -p "$WORK/www" "$WORK/out" "$WORK/logs"
chmod 755 "$WORK" "$WORK/www"   # nginx's workers run as another user
note "Creating files in $WORK/www ..."
head -c $((UNCAPPED_MB * 1048576)) /dev/urandom >"$WORK/www/big.bin"
head -c $((CAPPED_MB * 1048576)) "$WORK/www/big.bin" >"$WORK/www/capped.bin"
head -c $((LIMIT_MB * 1048576)) "$WORK/www/big.bin" >"$WORK/www/limit.bin"
chmod 644 "$WORK"/www/*
BIG_SHA256=$(sha256sum "$WORK/www/big.bin" | cut -d' ' -f1)

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$WORK/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/logs/error.log;
events { worker_connections 1024; }
http {
  log_format seg '\$connection \$status \$body_bytes_sent';
  access_log $WORK/logs/access.log seg;
  sendfile on;
  limit_conn_zone \$binary_remote_addr zone=per_client:1m;
  limit_conn_status 503;
  server {
    listen 127.0.0.1:$port;
    root $WORK/www;
    location /capped/ { alias $WORK/www/; limit_rate 25m; }
    location /conn4/ { alias $WORK/www/; limit_rate 25m; limit_conn per_client 4; }
    location /wire/ { alias $WORK/www/; limit_rate 400m; }
  }
}
EOF
taskset -c "$NGINX_CPU" "$NGINX" -c "$WORK/nginx.conf" -p "$WORK" &
NGINX_PID=$!
for _ in $(seq 50); do curl -fsS -o /dev/null "http://127.0.0.1:$port/limit.bin" -r 0-0 2>/dev/null && break; sleep 0.1; done

# ------------------------------------------------------------ one run
# run CASE CLIENT URL SIZE: prints "wall cpu rss conns extra status"
run() {
    local case=$1 client=$2 url=$3 size=$4 out="$WORK/out/file" t0 t1 status=0
    rm -f "$WORK"/out/*
    : >"$WORK/logs/access.log"   # nginx appends: truncating it starts this run's log
    sync
    local cmd=()
    case $client in
        sluice-x8) cmd=("$SLUICECTL" get --quiet -x 8 -o "$out" "$url") ;;
        sluice-adaptive) cmd=("$SLUICECTL" get --quiet -o "$out" "$url") ;;
        sluice-x1) cmd=("$SLUICECTL" get --quiet -x 1 -o "$out" "$url") ;;
        sluice-x4) cmd=("$SLUICECTL" get --quiet -x 4 -o "$out" "$url") ;;
        sluice-limit) cmd=("$SLUICECTL" get --quiet --limit-rate 10M -o "$out" "$url") ;;
        sluice-sha256) cmd=("$SLUICECTL" get --quiet -x 1 --checksum "sha256=$BIG_SHA256" -o "$out"
                            "$url") ;;
        aria2-tuned) cmd=(aria2c -q -x8 -s8 -k1M --file-allocation=falloc --allow-overwrite=true
                          -d "$WORK/out" -o file "$url") ;;
        aria2-default) cmd=(aria2c -q -x8 --allow-overwrite=true -d "$WORK/out" -o file "$url") ;;
        *) die "unknown client $client" ;;
    esac
    t0=$(date +%s.%N)
    taskset -c "$CLIENT_CPU" /usr/bin/time -f '%U %S %M' -o "$WORK/time" timeout 600 "${cmd[@]}" \
        >/dev/null 2>"$WORK/err" || status=$?
    t1=$(date +%s.%N)
    sleep 0.3   # nginx logs a cut connection when it notices
    local got=0
    [[ -f $out ]] && got=$(stat -c %s "$out")
    if ((status == 0 && got != size)); then status=99; fi
    ((status == 0)) || note "    $client failed ($status): $(tail -n 2 "$WORK/err" | tr '\n' ' ')"
    read -r user sys rss < <(tail -n 1 "$WORK/time") || true
    awk -v wall="$(echo "$t1 - $t0" | bc)" -v cpu="$(echo "${user:-0} + ${sys:-0}" | bc)" \
        -v rss="${rss:-0}" -v size="$size" -v st="$status" '
        { conns[$1] = 1; sent += $3; if ($2 == 503) refused++ }
        END { n = 0; for (c in conns) n++;
              printf "%.3f %.3f %.1f %d %d %d %d\n", wall, cpu * 1073741824 / size, rss / 1024,
                     n, sent - size, refused + 0, st }' "$WORK/logs/access.log"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

declare -A RESULTS
bench_case() {
    local case=$1 url=$2 size=$3; shift 3
    local clients=("$@") r c line
    note "== $case ($((size / 1048576)) MiB), $RUNS rounds: ${clients[*]}"
    for ((r = 1; r <= RUNS; r++)); do
        for c in "${clients[@]}"; do
            line=$(run "$case" "$c" "$url" "$size")
            note "  round $r/$RUNS  $(printf '%-16s' "$c") $line"
            RESULTS["$case/$c"]+="$line"$'\n'
        done
    done
}

col() { printf '%s' "${RESULTS[$1]}" | awk -v k="$2" 'NF { print $k }' | median; }
failures() { printf '%s' "${RESULTS[$1]}" | awk 'NF && $7 != 0 { n++ } END { print n + 0 }'; }

capped_size=$((CAPPED_MB * 1048576))
big_size=$((UNCAPPED_MB * 1048576))
limit_size=$((LIMIT_MB * 1048576))
base_url="http://127.0.0.1:$port"

selected capped && bench_case capped "$base_url/capped/capped.bin" "$capped_size" \
    sluice-x8 sluice-adaptive aria2-tuned aria2-default
selected uncapped && bench_case uncapped "$base_url/big.bin" "$big_size" \
    sluice-x8 sluice-adaptive sluice-x1 aria2-tuned
selected limit-conn-4 && bench_case limit-conn-4 "$base_url/conn4/capped.bin" "$capped_size" \
    sluice-x8 aria2-tuned
selected limit-rate && bench_case limit-rate "$base_url/limit.bin" "$limit_size" sluice-limit
selected checksum && bench_case checksum "$base_url/big.bin" "$big_size" sluice-x1 sluice-sha256
selected checksum-wire && bench_case checksum-wire "$base_url/wire/big.bin" "$big_size" \
    sluice-x1 sluice-sha256

# ------------------------------------------------------------ report
printf '\nSegmented downloads, medians of %d alternating rounds; nginx on CPU %s, clients on CPU %s\n' \
    "$RUNS" "$NGINX_CPU" "$CLIENT_CPU"
printf 'units: wall s; CPU = (user+sys) s per GiB; RSS = peak MiB; conns = connections opened;\n'
printf '       extra = bytes the server sent beyond the file size; 503 = refused requests\n\n'
printf '%-14s %-16s %8s %8s %7s %6s %12s %5s %5s\n' case client wall 'CPU/GiB' RSS conns extra 503 fail
for key in $(printf '%s\n' "${!RESULTS[@]}" | sort); do
    printf '%-14s %-16s %8.3f %8.3f %7.1f %6d %12d %5d %5d\n' "${key%%/*}" "${key#*/}" \
        "$(col "$key" 1)" "$(col "$key" 2)" "$(col "$key" 3)" "$(col "$key" 4)" \
        "$(col "$key" 5)" "$(col "$key" 6)" "$(failures "$key")"
done

ratio() { echo "scale=3; $1 / $2" | bc; }
printf '\nratios (speed, higher is better):\n'
if selected capped; then
    cx8=$(col capped/sluice-x8 1); cad=$(col capped/sluice-adaptive 1); cat=$(col capped/aria2-tuned 1)
    ceiling=$(echo "scale=3; $capped_size / (8 * 25 * 1048576)" | bc)
    printf '  capped, -x 8 vs aria2c tuned:            %sx (target >= 1.1)\n' "$(ratio "$cat" "$cx8")"
    printf '  capped, -x 8 vs the 8 x 25 MiB/s ceiling: %sx (target >= 0.93)\n' "$(ratio "$ceiling" "$cx8")"
    printf '  capped, no -x vs -x 8:                   %sx (target >= 0.90)\n' "$(ratio "$cx8" "$cad")"
    printf '  capped, CPU/GiB -x 8 vs aria2c tuned:    %sx (target <= 1.0)\n' \
        "$(ratio "$(col capped/sluice-x8 2)" "$(col capped/aria2-tuned 2)")"
fi
if selected uncapped; then
    ux8=$(col uncapped/sluice-x8 1); uad=$(col uncapped/sluice-adaptive 1); ux1=$(col uncapped/sluice-x1 1)
    printf '  uncapped, -x 8 vs -x 1:                  %sx (target >= 0.95)\n' "$(ratio "$ux1" "$ux8")"
    printf '  uncapped, no -x vs -x 1:                 %sx\n' "$(ratio "$ux1" "$uad")"
fi
if selected limit-conn-4; then
    lx8=$(col limit-conn-4/sluice-x8 1); lat=$(col limit-conn-4/aria2-tuned 1)
    printf '  limit_conn 4, -x 8 vs aria2c tuned:      %sx (target >= 1.0, no failure)\n' "$(ratio "$lat" "$lx8")"
fi
if selected checksum; then
    printf '  checksum, with vs without (-x 1):        %sx (target <= 1.1)\n' \
        "$(ratio "$(col checksum/sluice-sha256 1)" "$(col checksum/sluice-x1 1)")"
fi
if selected checksum-wire; then
    printf '  checksum at 400 MiB/s, with vs without:  %sx (target <= 1.1)\n' \
        "$(ratio "$(col checksum-wire/sluice-sha256 1)" "$(col checksum-wire/sluice-x1 1)")"
fi
if selected limit-rate; then
    lim=$(col limit-rate/sluice-limit 1)
    printf '  --limit-rate 10M: %s MiB/s over %.1f s   (target within 5%% of 10)\n' \
        "$(echo "scale=3; $LIMIT_MB / $lim" | bc)" "$lim"
fi
