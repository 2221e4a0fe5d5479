#!/usr/bin/env bash
# Memory and throughput of peruser_hybrid on glibc's malloc and on jemalloc
# (Debian's libjemalloc2, preloaded), same machine, same run.
#
# Two servers with the same configuration: BENCH_ENVS environments (default
# 8; users alice and bob in turn), each with one processor of 25 threads
# kept running, one vhost tI.test each, 2 multiplexers; one started plain,
# one with LD_PRELOAD=libjemalloc.so.2 (and MALLOC_CONF=$BENCH_MALLOC_CONF
# when set).  The load is one wrk per environment in parallel (-t1 -c
# BENCH_CONNS_PER_ENV, default 4, Host: tI.test: a connection belongs to
# one environment), with keep-alive and with "Connection: close"; the sum
# of their requests/s, median of BENCH_REPEAT runs, the two servers in
# turn.  Memory: RSS and PSS summed over every process of the server
# (parent, factories, multiplexers, processors) after start and after the
# load, from /proc/PID/status and /proc/PID/smaps_rollup.  Each run uses
# fresh loopback addresses (see build/bench.sh: TIME_WAIT sockets).
#
#   bash build/bench-alloc.sh   (as root; `make bench-alloc` runs it)
#   BENCH_SECONDS=5 BENCH_REPEAT=3 BENCH_ENVS=8 BENCH_CONNS_PER_ENV=4
set -euo pipefail

SCRIPT=build/bench-alloc.sh
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$(readlink -f "$0")")/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=lib/httpd.sh
. "$(dirname "$(readlink -f "$0")")/lib/httpd.sh"
# shellcheck source-path=SCRIPTDIR source=lib/wrk.sh
. "$(dirname "$(readlink -f "$0")")/lib/wrk.sh"
# shellcheck source-path=SCRIPTDIR source=lib/tenants.sh
. "$(dirname "$(readlink -f "$0")")/lib/tenants.sh"
require_root "$SCRIPT" "apache2 must start as root to switch users"
REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$REPO"

SECONDS_PER_RUN=${BENCH_SECONDS:-5}
REPEAT=${BENCH_REPEAT:-3}
ENVS=${BENCH_ENVS:-8}
CONNS=${BENCH_CONNS_PER_ENV:-4}
THREADS=1
JEMALLOC=${BENCH_JEMALLOC:-/usr/lib/x86_64-linux-gnu/libjemalloc.so.2}
MODULE=$REPO/build/out/mod_mpm_peruser_hybrid.so
NADDR=$(( 2 * (REPEAT + 1) ))
require_tools "$SCRIPT" "bash build/test.sh installs it" wrk curl /usr/sbin/apache2
[ -f "$JEMALLOC" ] || { echo "$SCRIPT: $JEMALLOC missing (apt-get install libjemalloc2)" >&2; exit 1; }
[ -f "$MODULE" ] || make

ensure_env_users
make_work_dir ph-bench-alloc
trap cleanup_servers EXIT

# alloc_conf NAME NET PORT: WORK/NAME/httpd.conf
alloc_conf() {
    local dir=$WORK/$1 i user
    mkdir -p "$dir/run"
    {
        conf_preamble "$dir" warn "LoadModule mpm_peruser_hybrid_module $MODULE"
        listen_lines "$2" "$3" "$NADDR"
        cat <<CONF
User www-data
Group www-data
ThreadsPerChild 25
ServerLimit $(( ENVS + 8 ))
MinMultiplexers 2
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
CONF
        conf_www_access
        for i in $(seq 1 "$ENVS"); do
            user=$(tenant_user "$i")
            printf '<Processor t%d>\n    User %s\n    Group %s\n    MinProcessors 1\n    MaxProcessors 1\n</Processor>\n' \
                "$i" "$user" "$user"
            printf '<VirtualHost *:%d>\n    ServerName t%d.test\n    ServerEnvironment t%d\n    DocumentRoot %s\n</VirtualHost>\n' \
                "$3" "$i" "$i" "$WORK/www"
        done
    } > "$dir/httpd.conf"
}

# memory NAME -> "processes rss_mib pss_mib" of the server in WORK/NAME:
# its parent and every descendant (factories, multiplexers, processors)
memory() {
    local pid n=0 rss=0 pss=0 v
    for pid in $(tree_pids "$(cat "$WORK/$1/httpd.pid")"); do
        v=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || continue
        rss=$((rss + ${v:-0}))
        v=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null) || v=0
        pss=$((pss + ${v:-0}))
        n=$((n + 1))
    done
    awk -v n="$n" -v r="$rss" -v p="$pss" 'BEGIN { printf "%d %.1f %.1f", n, r / 1024, p / 1024 }'
}

# load NET PORT ADDR SECONDS [wrk args] -> "rps errors": one wrk per
# environment at once, requests/s summed
load() {
    local net=$1 port=$2 addr=$3 secs=$4 i out
    shift 4
    out=$(for i in $(seq 1 "$ENVS"); do
              run_wrk "http://127.0.$net.$addr:$port/100b.txt" "$secs" -H "Host: t$i.test" "$@" &
          done; wait)
    awk '{ s += $1; if ($2 != "none") e = e " " $2 } END { printf "%.0f %s\n", s, (e == "" ? "none" : e) }' <<<"$out"
}

GL_PORT=$(free_port)
alloc_conf glibc 3 "$GL_PORT"
JE_PORT=$(free_port)
while [ "$JE_PORT" = "$GL_PORT" ]; do JE_PORT=$(free_port); done
alloc_conf jemalloc 4 "$JE_PORT"

start_server "$WORK/glibc" glibc "http://127.0.3.1:$GL_PORT/100b.txt" t1.test
LD_PRELOAD=$JEMALLOC MALLOC_CONF=${BENCH_MALLOC_CONF:-} \
    start_server "$WORK/jemalloc" jemalloc "http://127.0.4.1:$JE_PORT/100b.txt" t1.test
for i in $(seq 1 "$ENVS"); do
    wait_http "http://127.0.3.1:$GL_PORT/100b.txt" "t$i.test"
    wait_http "http://127.0.4.1:$JE_PORT/100b.txt" "t$i.test"
done
grep -q libjemalloc "/proc/$(cat "$WORK/jemalloc/httpd.pid")/maps" ||
    { echo "$SCRIPT: the jemalloc server does not run on jemalloc" >&2; exit 1; }

read -r gl_n gl_rss0 gl_pss0 <<<"$(memory glibc)"
read -r je_n je_rss0 je_pss0 <<<"$(memory jemalloc)"

echo "glibc malloc vs jemalloc ($(basename "$JEMALLOC")${BENCH_MALLOC_CONF:+, MALLOC_CONF=$BENCH_MALLOC_CONF}): $ENVS environments x 1 processor x 25 threads, 2 multiplexers; one wrk per environment, -t1 -c$CONNS -d${SECONDS_PER_RUN}s, 100-byte file, $(nproc) CPUs, median of $REPEAT alternating runs"
printf '%-10s %12s %12s %8s  %s\n' mode "glibc req/s" "jemalloc" "je/glibc" "runs glibc | jemalloc; errors"
run_glibc() { local a=$1; shift; load 3 "$GL_PORT" "$a" "$@"; }
run_jemalloc() { local a=$1; shift; load 4 "$JE_PORT" "$a" "$@"; }
compare_modes glibc jemalloc run_glibc run_jemalloc

read -r gl_n gl_rss1 gl_pss1 <<<"$(memory glibc)"
read -r je_n je_rss1 je_pss1 <<<"$(memory jemalloc)"
echo
printf '%-22s %10s %10s %9s\n' "memory (all processes)" glibc jemalloc je/glibc
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
printf '%-22s %10s %10s\n' "processes" "$gl_n" "$je_n"
printf '%-22s %10s %10s %9s\n' "RSS MiB after start" "$gl_rss0" "$je_rss0" "$(ratio "$je_rss0" "$gl_rss0")"
printf '%-22s %10s %10s %9s\n' "PSS MiB after start" "$gl_pss0" "$je_pss0" "$(ratio "$je_pss0" "$gl_pss0")"
printf '%-22s %10s %10s %9s\n' "RSS MiB after load" "$gl_rss1" "$je_rss1" "$(ratio "$je_rss1" "$gl_rss1")"
printf '%-22s %10s %10s %9s\n' "PSS MiB after load" "$gl_pss1" "$je_pss1" "$(ratio "$je_pss1" "$gl_pss1")"
