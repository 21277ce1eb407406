#!/usr/bin/env bash
# Single-connection download throughput of `sluicectl get` against curl and
# wget2 (and optionally aria2c), all fetching the same file from a private
# nginx instance on 127.0.0.1.  See bench/README.md.
#
# Usage: bench/get-throughput.sh [--quick] [--runs N] [--size-mb N]
#                                [--sluicectl PATH] [--baseline PATH] [--aria2] [--strict]
# Environment: SLUICECTL, BASELINE, RUNS, SIZE_MB, ARIA2=1, BENCH_TMPDIR, LOG,
#              NGINX_CPU (0), CLIENT_CPU (1), RUN_TIMEOUT (seconds per run)

set -Eeuo pipefail
export LC_ALL=C

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=${0##*/}

die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
note() { printf '%s\n' "$*" >&2; }

usage() {
    cat <<EOF
Usage: $PROG [--quick] [--runs N] [--size-mb N] [--sluicectl PATH] [--baseline PATH]
             [--aria2] [--strict]

  --quick           SIZE_MB=256, RUNS=5 (fast sanity check)
  --runs N          rounds; each round runs every client once (default 7, min 5)
  --size-mb N       size of the served file in MiB (default 1024)
  --sluicectl PATH  client binary (default \$REPO/_build/src/cli/sluicectl,
                    built with meson if missing)
  --baseline PATH   another sluicectl (an earlier build), run in the same rounds
                    right after the first, and compared with it
  --aria2           also measure aria2c (same as ARIA2=1)
  --strict          exit 3 if any target line says FAIL

Environment: SLUICECTL BASELINE RUNS SIZE_MB ARIA2 BENCH_TMPDIR LOG NGINX_CPU
             CLIENT_CPU RUN_TIMEOUT
EOF
}

# ---------------------------------------------------------------- options
DEFAULT_SLUICECTL="$REPO/_build/src/cli/sluicectl"
SLUICECTL=${SLUICECTL:-}
BASELINE=${BASELINE:-}
RUNS=${RUNS:-7}
SIZE_MB=${SIZE_MB:-1024}
ARIA2=${ARIA2:-0}
STRICT=0
NGINX_CPU=${NGINX_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}

while (($#)); do
    case $1 in
        --quick) SIZE_MB=256; RUNS=5 ;;
        --runs) (($# >= 2)) || die "--runs needs a value"; RUNS=$2; shift ;;
        --runs=*) RUNS=${1#*=} ;;
        --size-mb) (($# >= 2)) || die "--size-mb needs a value"; SIZE_MB=$2; shift ;;
        --size-mb=*) SIZE_MB=${1#*=} ;;
        --sluicectl) (($# >= 2)) || die "--sluicectl needs a value"; SLUICECTL=$2; shift ;;
        --sluicectl=*) SLUICECTL=${1#*=} ;;
        --baseline) (($# >= 2)) || die "--baseline needs a value"; BASELINE=$2; shift ;;
        --baseline=*) BASELINE=${1#*=} ;;
        --aria2) ARIA2=1 ;;
        --strict) STRICT=1 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
    shift
done

[[ $RUNS =~ ^[0-9]+$ ]] || die "RUNS must be a whole number (got '$RUNS')"
[[ $SIZE_MB =~ ^[0-9]+$ ]] || die "SIZE_MB must be a whole number (got '$SIZE_MB')"
((RUNS >= 5)) || die "RUNS must be at least 5 (got $RUNS)"
((RUNS <= 1000)) || die "RUNS must be at most 1000 (got $RUNS)"
((SIZE_MB >= 1)) || die "SIZE_MB must be at least 1"
[[ $ARIA2 == 1 ]] || ARIA2=0
SIZE_BYTES=$((SIZE_MB * 1024 * 1024))
# Per-run limit: 60 s plus 0.25 s per MiB (i.e. slower than ~4 MB/s is a hang).
RUN_TIMEOUT=${RUN_TIMEOUT:-$((60 + SIZE_MB / 4))}
[[ $RUN_TIMEOUT =~ ^[0-9]+$ ]] || die "RUN_TIMEOUT must be a whole number of seconds"

# ------------------------------------------------------- system packages
# Missing commands, as the Debian packages that provide them.
need_pkgs=()
command -v curl >/dev/null 2>&1 || need_pkgs+=(curl)
command -v wget2 >/dev/null 2>&1 || need_pkgs+=(wget2)
command -v taskset >/dev/null 2>&1 || need_pkgs+=(util-linux)
[[ -x /usr/bin/time ]] || need_pkgs+=(time)
command -v sha256sum >/dev/null 2>&1 || need_pkgs+=(coreutils)
if ((ARIA2)); then command -v aria2c >/dev/null 2>&1 || need_pkgs+=(aria2); fi
NGINX=$(command -v nginx 2>/dev/null || true)
[[ -n $NGINX ]] || { [[ -x /usr/sbin/nginx ]] && NGINX=/usr/sbin/nginx; } || true
need_nginx=0
[[ -n $NGINX ]] || need_nginx=1

POLICY_RCD=/usr/sbin/policy-rc.d
POLICY_RCD_OURS=0
if ((${#need_pkgs[@]} || need_nginx)); then
    command -v apt-get >/dev/null 2>&1 ||
        die "missing tools (${need_pkgs[*]} nginx?) and no apt-get to install them"
    SUDO=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null 2>&1 || die "missing packages (${need_pkgs[*]}); run as root or install sudo"
        SUDO=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    note "Installing missing packages with apt-get..."
    "${SUDO[@]}" apt-get update -qq || die "apt-get update failed"
    if ((need_nginx)); then
        if apt-cache show nginx-light >/dev/null 2>&1; then
            need_pkgs+=(nginx-light)
        else
            need_pkgs+=(nginx)
        fi
        # Keep the packaged nginx service from being started on port 80 by
        # the install; removed again right after (and in the exit trap).
        if [[ ! -e $POLICY_RCD ]]; then
            printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$POLICY_RCD" >/dev/null
            "${SUDO[@]}" chmod 755 "$POLICY_RCD"
            POLICY_RCD_OURS=1
        fi
    fi
    install_rc=0
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confold "${need_pkgs[@]}" || install_rc=$?
    if ((POLICY_RCD_OURS)); then "${SUDO[@]}" rm -f "$POLICY_RCD"; POLICY_RCD_OURS=0; fi
    ((install_rc == 0)) || die "apt-get install ${need_pkgs[*]} failed"
    NGINX=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)
fi

# ------------------------------------------------------------ clients
if [[ -z $SLUICECTL ]]; then
    SLUICECTL=$DEFAULT_SLUICECTL
    if [[ ! -x $SLUICECTL ]]; then
        command -v meson >/dev/null 2>&1 || die "sluicectl not built and meson not found (apt-get install meson ninja-build)"
        note "Building sluicectl (meson, _build)..."
        buildlog=$(mktemp /tmp/sluice-bench-build.XXXXXX.log)
        if { [[ -f $REPO/_build/build.ninja ]] || (cd "$REPO" && meson setup _build); } >"$buildlog" 2>&1 &&
            (cd "$REPO" && meson compile -C _build) >>"$buildlog" 2>&1; then
            rm -f "$buildlog"
        else
            die "building sluicectl failed; see $buildlog"
        fi
        [[ -x $SLUICECTL ]] || die "build finished but $SLUICECTL is missing"
    fi
fi
[[ -x $SLUICECTL && ! -d $SLUICECTL ]] || die "sluicectl not found or not executable: $SLUICECTL"
[[ -z $BASELINE || ( -x $BASELINE && ! -d $BASELINE ) ]] ||
    die "baseline sluicectl not found or not executable: $BASELINE"
command -v curl >/dev/null 2>&1 || die "curl not found (apt-get install curl)"
command -v wget2 >/dev/null 2>&1 || die "wget2 not found (apt-get install wget2)"
[[ -x $NGINX ]] || die "nginx not found (apt-get install nginx-light)"
command -v taskset >/dev/null 2>&1 || die "taskset not found (apt-get install util-linux)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (apt-get install time)"
command -v timeout >/dev/null 2>&1 || die "timeout not found (apt-get install coreutils)"
if ((ARIA2)); then command -v aria2c >/dev/null 2>&1 || die "aria2c not found (apt-get install aria2)"; fi

ncpu=$(nproc --all 2>/dev/null || echo 1)
((NGINX_CPU < ncpu && CLIENT_CPU < ncpu)) ||
    die "need CPUs $NGINX_CPU and $CLIENT_CPU but this machine has $ncpu"
[[ $NGINX_CPU != "$CLIENT_CPU" ]] || die "NGINX_CPU and CLIENT_CPU must differ"

CLIENTS=(sluicectl)
[[ -z $BASELINE ]] || CLIENTS+=(baseline)
CLIENTS+=(curl wget2)
((ARIA2)) && CLIENTS+=(aria2c)

# -------------------------------------------------------- work directory
fs_type() { df -PT "$1" 2>/dev/null | awk 'NR == 2 { print $2 }' | grep . || echo unknown; }
is_tmpfs() { case $(fs_type "$1") in tmpfs|ramfs) return 0 ;; *) return 1 ;; esac; }

if [[ -n ${BENCH_TMPDIR:-} ]]; then
    base=$BENCH_TMPDIR; base_why="BENCH_TMPDIR"
elif [[ -d /var/tmp ]] && ! is_tmpfs /var/tmp; then
    base=/var/tmp; base_why="/var/tmp"
elif [[ -d $REPO/_build ]] && ! is_tmpfs "$REPO/_build"; then
    base=$REPO/_build; base_why="the repo's _build (/var/tmp is tmpfs)"
else
    die "no disk-backed temp dir: /var/tmp is tmpfs and $REPO/_build is missing; set BENCH_TMPDIR"
fi
[[ -d $base ]] || die "temp base directory does not exist: $base"
is_tmpfs "$base" && die "$base is tmpfs; the benchmark must write to a real disk (set BENCH_TMPDIR)"

need_kib=$(((SIZE_BYTES / 1024) * 13 / 4 + 262144))   # served + 1.25x scratch + output + slack
avail_kib=$(df -Pk "$base" | awk 'NR == 2 { print $4 }')
((avail_kib >= need_kib)) ||
    die "not enough space in $base: need $((need_kib / 1024)) MiB, have $((avail_kib / 1024)) MiB"

WORK=""
NGINX_PID=""
# True while PID is a live (not zombie) nginx process.
# shellcheck disable=SC2317  # also called from the EXIT trap
nginx_alive() {
    local st
    [[ -r /proc/$1/comm && $(cat "/proc/$1/comm" 2>/dev/null) == nginx ]] || return 1
    st=$(awk '{ sub(/.*\) /, ""); print substr($0, 1, 1) }' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $st && $st != Z && $st != X ]]
}
# shellcheck disable=SC2317  # invoked from the EXIT trap
cleanup() {
    local rc=$? i
    trap - EXIT INT TERM HUP
    if [[ -z $NGINX_PID && -n $WORK && -s $WORK/nginx/nginx.pid ]]; then
        NGINX_PID=$(cat "$WORK/nginx/nginx.pid" 2>/dev/null || true)
    fi
    if [[ -n $NGINX_PID ]] && nginx_alive "$NGINX_PID"; then
        kill -QUIT "$NGINX_PID" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            nginx_alive "$NGINX_PID" || break
            sleep 0.1
        done
        if nginx_alive "$NGINX_PID"; then
            kill -TERM "$NGINX_PID" 2>/dev/null || true
            sleep 0.5
            kill -KILL "$NGINX_PID" 2>/dev/null || true
        fi
    fi
    if ((POLICY_RCD_OURS)); then rm -f "$POLICY_RCD" 2>/dev/null || true; fi
    if [[ -n $WORK && -d $WORK ]]; then rm -rf -- "$WORK"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'note "interrupted"; exit 130' INT
trap 'note "terminated"; exit 143' TERM HUP

WORK=$(mktemp -d "$base/sluice-get-bench.XXXXXX")
# nginx workers run as an unprivileged user when started as root: let them
# read the served file.
chmod 755 "$WORK"
mkdir -p "$WORK/www" "$WORK/out" "$WORK/nginx" "$WORK/time"
chmod 755 "$WORK/www"
SERVED=$WORK/www/payload.bin
OUT=$WORK/out
LOG=${LOG:-/var/tmp/sluice-get-throughput-$(date +%Y%m%d-%H%M%S).log}
: >"$LOG" || die "cannot write log file $LOG"

# ---------------------------------------------------------- served file
note "Creating ${SIZE_MB} MiB random file in $WORK/www ..."
head -c "$SIZE_BYTES" /dev/urandom >"$SERVED"
chmod 644 "$SERVED"
[[ $(stat -c %s "$SERVED") == "$SIZE_BYTES" ]] || die "could not create the served file"
SERVED_SHA=$(sha256sum "$SERVED" | awk '{ print $1 }')

# --------------------------------------------------------------- nginx
NCONF=$WORK/nginx/nginx.conf
nginx_v=$("$NGINX" -V 2>&1 || true)
temp_paths="client_body_temp_path $WORK/nginx/body;"
for m in proxy fastcgi uwsgi scgi; do
    [[ $nginx_v == *"--without-http_${m}_module"* ]] ||
        temp_paths+=$'\n'"    ${m}_temp_path $WORK/nginx/$m;"
done

write_nginx_conf() {
    cat >"$NCONF" <<EOF
daemon on;
master_process on;
worker_processes 1;
pid $WORK/nginx/nginx.pid;
lock_file $WORK/nginx/nginx.lock;
error_log $WORK/nginx/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 5;
    default_type application/octet-stream;
    types { }
    $temp_paths
    server {
        listen 127.0.0.1:$1;
        server_name localhost;
        root $WORK/www;
        location / { }
    }
}
EOF
}

PORT=""
for ((attempt = 0; attempt < 20; attempt++)); do
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    write_nginx_conf "$port"
    : >"$WORK/nginx/error.log"
    if taskset -c "$NGINX_CPU" "$NGINX" -p "$WORK/nginx/" -c "$NCONF" -e "$WORK/nginx/error.log" \
        >"$WORK/nginx/start.out" 2>&1; then
        PORT=$port
        break
    fi
    grep -q 'Address already in use' "$WORK/nginx/start.out" "$WORK/nginx/error.log" 2>/dev/null ||
        die "nginx failed to start: $(tr '\n' ' ' <"$WORK/nginx/start.out")"
done
[[ -n $PORT ]] || die "could not find a free port for nginx on 127.0.0.1"
for ((i = 0; i < 50; i++)); do
    [[ -s $WORK/nginx/nginx.pid ]] && break
    sleep 0.1
done
NGINX_PID=$(cat "$WORK/nginx/nginx.pid" 2>/dev/null || true)
[[ -n $NGINX_PID ]] || die "nginx did not write its pid file"
URL="http://127.0.0.1:$PORT/payload.bin"

# Sanity check and warm-up (also pulls the served file into the page cache).
probe=$(curl -q -sS --max-time "$RUN_TIMEOUT" -o /dev/null -w '%{http_code} %{size_download}' "$URL" 2>&1) ||
    die "nginx on $URL does not answer: $probe"
[[ $probe == "200 $SIZE_BYTES" ]] || die "nginx on $URL answered '$probe', expected '200 $SIZE_BYTES'"

# ---------------------------------------------------------------- runs
client_cmd() { # client outfile -> CMD array
    local c=$1 f=$2
    case $c in
        sluicectl) CMD=("$SLUICECTL" get "$URL" -o "$f" --quiet) ;;
        baseline) CMD=("$BASELINE" get "$URL" -o "$f" --quiet) ;;
        curl) CMD=(curl -q -sS -o "$f" "$URL") ;;
        wget2) CMD=(wget2 --no-config -q --no-robots --progress=none -O "$f" "$URL") ;;
        aria2c) CMD=(aria2c --no-conf -q -x1 -s1 --file-allocation=none --allow-overwrite=true
                     --auto-file-renaming=false --continue=false -d "$OUT" -o "${f##*/}" "$URL") ;;
        *) die "unknown client $c" ;;
    esac
}

version_of() {
    case $1 in
        sluicectl)
            local v
            v=$(timeout 5 "$SLUICECTL" --version 2>/dev/null | head -n1 || true)
            printf "%s%s" "$SLUICECTL" "${v:+ ($v)}" ;;
        baseline)
            local v
            v=$(timeout 5 "$BASELINE" --version 2>/dev/null | head -n1 || true)
            printf "%s%s" "$BASELINE" "${v:+ ($v)}" ;;
        curl) curl --version | head -n1 | awk '{ print $1, $2 }' ;;
        wget2) wget2 --version | head -n1 | sed 's/ - .*//' ;;
        aria2c) aria2c --version | head -n1 ;;
    esac
}

cpu_children_ms() { # reads the output of the `times` builtin, prints children user+sys in ms
    awk 'NR == 2 {
        t = 0
        for (i = 1; i <= 2; i++) {
            split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2]
        }
        printf "%.0f\n", t * 1000
    }' "$1"
}

SCRATCH_MB=$((SIZE_MB * 5 / 4))
prev_out=""
declare -A checked=()
{
    printf '# sluice get-throughput  %s\n' "$(date -Is)"
    printf '# url=%s size_bytes=%s runs=%s sha256=%s\n' "$URL" "$SIZE_BYTES" "$RUNS" "$SERVED_SHA"
    printf '# output_dir=%s (%s)\n' "$OUT" "$(fs_type "$OUT")"
    printf '# columns: round client wall_s cpu_user_s cpu_sys_s maxrss_kib time_e_s time_cpu_s bytes sha256_checked\n'
    printf '#   wall_s: shell clock (EPOCHREALTIME, us) around the run; cpu_user_s, cpu_sys_s,\n'
    printf '#   maxrss_kib, time_e_s: /usr/bin/time %%U %%S %%M %%e (10 ms resolution);\n'
    printf '#   time_cpu_s: user+sys of the same process tree from the shell (times builtin, 1 ms);\n'
    printf '#   the summary uses wall_s, time_cpu_s and maxrss_kib\n'
} >>"$LOG"

note "nginx $("$NGINX" -v 2>&1 | sed 's/.*\///') on 127.0.0.1:$PORT (pid $NGINX_PID, CPU $NGINX_CPU); clients on CPU $CLIENT_CPU"
note "Running $RUNS rounds of: ${CLIENTS[*]}  (${SIZE_MB} MiB each; raw log: $LOG)"

for ((round = 1; round <= RUNS; round++)); do
    for c in "${CLIENTS[@]}"; do
        # Touch fresh memory first so no client pays for the host handing
        # pages back to this VM, then start from a clean, synced disk.
        dd if=/dev/zero of="$OUT/scratch" bs=1M count="$SCRATCH_MB" conv=fsync status=none
        rm -f "$OUT/scratch"
        [[ -z $prev_out ]] || rm -f "$prev_out" "$prev_out.aria2"
        sync

        f=$OUT/$c.bin
        tf=$WORK/time/$c.$round
        client_cmd "$c" "$f"
        times >"$WORK/time/before"
        t0=$EPOCHREALTIME
        rc=0
        taskset -c "$CLIENT_CPU" /usr/bin/time -o "$tf" -f '%e %U %S %M' \
            timeout --foreground -k 5 "$RUN_TIMEOUT" "${CMD[@]}" </dev/null >"$WORK/time/$c.out" 2>&1 || rc=$?
        t1=$EPOCHREALTIME
        times >"$WORK/time/after"
        prev_out=$f

        if ((rc != 0)); then
            ((rc != 124)) || die "$c timed out after ${RUN_TIMEOUT}s in round $round"
            die "$c failed (exit $rc) in round $round: $(head -c 300 "$WORK/time/$c.out" | tr '\n' ' ')"
        fi
        got=$(stat -c %s "$f" 2>/dev/null || echo 0)
        [[ $got == "$SIZE_BYTES" ]] || die "$c wrote $got bytes in round $round, expected $SIZE_BYTES"
        shaok=-
        if [[ -z ${checked[$c]:-} ]]; then
            sha=$(sha256sum "$f" | awk '{ print $1 }')
            [[ $sha == "$SERVED_SHA" ]] || die "$c output differs from the served file (SHA-256 mismatch)"
            checked[$c]=1
            shaok=ok
        fi

        read -r te tu ts tm < <(tail -n1 "$tf")
        [[ $tm =~ ^[0-9]+$ ]] || die "could not parse /usr/bin/time output for $c: $(tr '\n' ' ' <"$tf")"
        wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
        cms=$(($(cpu_children_ms "$WORK/time/after") - $(cpu_children_ms "$WORK/time/before")))
        tcpu=$(awk -v m="$cms" 'BEGIN { printf "%.3f", m / 1000 }')
        printf '%d %s %s %s %s %s %s %s %s %s\n' \
            "$round" "$c" "$wall" "$tu" "$ts" "$tm" "$te" "$tcpu" "$got" "$shaok" >>"$LOG"
        printf '  round %d/%d  %-9s %8.1f MB/s  %6.2f s\n' "$round" "$RUNS" "$c" \
            "$(awk -v s="$SIZE_BYTES" -v w="$wall" 'BEGIN { printf "%.1f", s / w / 1e6 }')" "$wall" >&2
    done
done
rm -f "$prev_out" "$prev_out.aria2"

# -------------------------------------------------------------- report
VERSIONS=""
for c in "${CLIENTS[@]}"; do
    v=$(version_of "$c")
    VERSIONS+="  $c: ${v:-unknown}"$'\n'
done

awk -v size="$SIZE_BYTES" -v size_mb="$SIZE_MB" -v runs="$RUNS" -v strict="$STRICT" \
    -v order="${CLIENTS[*]}" -v outdir="$OUT" -v where="$base_why" \
    -v fstype="$(fs_type "$OUT")" -v url="$URL" -v ncpu="$NGINX_CPU" -v ccpu="$CLIENT_CPU" \
    -v logpath="$LOG" -v versions="$VERSIONS" '
function median(arr, n,    i, j, t, tmp) {
    for (i = 1; i <= n; i++) tmp[i] = arr[i]
    for (i = 2; i <= n; i++) {            # insertion sort, n is small
        t = tmp[i]
        for (j = i - 1; j >= 1 && tmp[j] > t; j--) tmp[j + 1] = tmp[j]
        tmp[j + 1] = t
    }
    return (n % 2) ? tmp[(n + 1) / 2] : (tmp[n / 2] + tmp[n / 2 + 1]) / 2
}
/^#/ { next }
{
    c = $2; k = ++n[c]
    mbs[c, k] = size / $3 / 1e6
    cpu[c, k] = $8 / (size / 1073741824)
    rss[c, k] = $6 / 1024
}
END {
    gib = size / 1073741824
    printf "\nsluicectl get throughput: %d MiB file (%d bytes = %.3f GiB), %d rounds\n", size_mb, size, gib, runs
    printf "server: nginx on %s, CPU %d; clients pinned to CPU %d\n", url, ncpu, ccpu
    printf "output dir: %s (%s, under %s)\n", outdir, fstype, where
    printf "versions:\n%s", versions
    printf "units: MB/s = 10^6 bytes/s of wall time; CPU = (user+sys) s per GiB (2^30 bytes); RSS = peak, MiB\n\n"
    printf "%-10s %4s %10s %10s %10s %11s %9s %9s\n", "client", "runs", "MB/s med", "MB/s min", "MB/s max", "CPU s/GiB", "RSS med", "RSS max"
    nc = split(order, cl, " ")
    for (i = 1; i <= nc; i++) {
        c = cl[i]; m = n[c]
        lo = 1e18; hi = 0; rmax = 0
        for (k = 1; k <= m; k++) {
            a[k] = mbs[c, k]; b[k] = cpu[c, k]; r[k] = rss[c, k]
            if (a[k] < lo) lo = a[k]
            if (a[k] > hi) hi = a[k]
            if (r[k] > rmax) rmax = r[k]
        }
        MB[c] = median(a, m); CPU[c] = median(b, m); RSSMED[c] = median(r, m); RSSMAX[c] = rmax
        printf "%-10s %4d %10.1f %10.1f %10.1f %11.3f %9.1f %9.1f\n", c, m, MB[c], lo, hi, CPU[c], RSSMED[c], rmax
    }
    s = "sluicectl"
    printf "\nsluicectl vs curl : throughput %.2fx, CPU/GiB %.2fx\n", MB[s] / MB["curl"], (CPU["curl"] > 0 ? CPU[s] / CPU["curl"] : 0)
    printf "sluicectl vs wget2: throughput %.2fx, CPU/GiB %.2fx\n", MB[s] / MB["wget2"], (CPU["wget2"] > 0 ? CPU[s] / CPU["wget2"] : 0)
    if ("baseline" in n)
        printf "sluicectl vs baseline: throughput %.2fx, CPU/GiB %.2fx, peak RSS %.2fx\n", MB[s] / MB["baseline"], (CPU["baseline"] > 0 ? CPU[s] / CPU["baseline"] : 0), (RSSMAX["baseline"] > 0 ? RSSMAX[s] / RSSMAX["baseline"] : 0)
    if ("aria2c" in n)
        printf "sluicectl vs aria2c: throughput %.2fx, CPU/GiB %.2fx\n", MB[s] / MB["aria2c"], (CPU["aria2c"] > 0 ? CPU[s] / CPU["aria2c"] : 0)
    t1 = (MB[s] >= 1.2 * MB["curl"]) ? "PASS" : "FAIL"
    t2 = (CPU[s] <= 1.0 * CPU["curl"]) ? "PASS" : "FAIL"
    t3 = (RSSMAX[s] <= 20) ? "PASS" : "FAIL"
    printf "\ntargets: throughput >= 1.2x curl: %s (%.2fx) | CPU/GiB <= 1.0x curl: %s (%.2fx) | peak RSS <= 20 MiB: %s (%.1f MiB)\n", \
        t1, MB[s] / MB["curl"], t2, (CPU["curl"] > 0 ? CPU[s] / CPU["curl"] : 0), t3, RSSMAX[s]
    printf "raw per-run log: %s\n", logpath
    if (strict && (t1 == "FAIL" || t2 == "FAIL" || t3 == "FAIL")) exit 3
}' "$LOG" | tee -a "$LOG"
report_rc=${PIPESTATUS[0]}
exit "$report_rc"
