#!/usr/bin/env bash
# Throughput of peruser_hybrid against stock mpm_event, same machine, same run.
#
# Both servers serve the same 100-byte file from a minimal config (no access
# log, LogLevel warn, ThreadsPerChild 25, MaxConnectionsPerChild 0):
#   event           2 children x 25 threads
#   peruser_hybrid  2 multiplexers; environment "alice" with exactly 2
#                   processors x 25 threads (Min = MaxProcessors 2, so no
#                   on-demand spawning changes the match mid-run; the one
#                   benchmarked), "bob" with 1 processor (idle)
# wrk drives each with keep-alive and with "Connection: close"; the table
# shows requests/s (median of BENCH_REPEAT runs, event and peruser_hybrid
# alternating) and the ratio peruser_hybrid / event per mode.
#
# Every run talks to a loopback address of its own (127.0.1.x for event,
# 127.0.2.x for peruser_hybrid): with Connection: close, tens of thousands
# of TIME_WAIT sockets pile up per address pair within seconds and slow
# every later run to that address by up to 40%, whichever server it is --
# measured here: event alone went 15.9k -> 9.5k -> 9.0k req/s in three
# back-to-back runs.  Fresh addresses keep the runs comparable.
#
#   bash build/bench.sh     (as root; `make bench` runs it)
#   BENCH_SECONDS=10 BENCH_CONNECTIONS=50 BENCH_THREADS=2 BENCH_REPEAT=3
set -euo pipefail

SCRIPT=build/bench.sh
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$(readlink -f "$0")")/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=lib/httpd.sh
. "$(dirname "$(readlink -f "$0")")/lib/httpd.sh"
# shellcheck source-path=SCRIPTDIR source=lib/wrk.sh
. "$(dirname "$(readlink -f "$0")")/lib/wrk.sh"
require_root "$SCRIPT" "apache2 must start as root to switch users"
REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$REPO"

SECONDS_PER_RUN=${BENCH_SECONDS:-10}
REPEAT=${BENCH_REPEAT:-3}
# addresses per server: a warm-up and REPEAT runs for each of two modes
NADDR=$(( 2 * (REPEAT + 1) ))
CONNS=${BENCH_CONNECTIONS:-50}
THREADS=${BENCH_THREADS:-2}
MODULE=$REPO/build/out/mod_mpm_peruser_hybrid.so
require_tools "$SCRIPT" "bash build/test.sh installs it" wrk /usr/sbin/apache2
[ -f "$MODULE" ] || make

ensure_env_users

make_work_dir ph-bench
trap cleanup_servers EXIT

write_bench_pair "$NADDR" alice "" ""

start_server "$WORK/event" event "http://127.0.1.1:$EV_PORT/100b.txt" alice.test
start_server "$WORK/ph" ph "http://127.0.2.1:$PH_PORT/100b.txt" alice.test

# bench ADDR PORT SECONDS [extra wrk args] -> prints "rps errors"
bench() {
    local addr=$1 port=$2 secs=$3
    shift 3
    run_wrk "http://$addr:$port/100b.txt" "$secs" -H 'Host: alice.test' "$@"
}

run_event() { local a=$1; shift; bench "127.0.1.$a" "$EV_PORT" "$@"; }
run_ph() { local a=$1; shift; bench "127.0.2.$a" "$PH_PORT" "$@"; }

echo "peruser_hybrid vs mpm_event: wrk -t$THREADS -c$CONNS -d${SECONDS_PER_RUN}s, 100-byte file, $(nproc) CPUs, median of $REPEAT alternating runs"
printf '%-10s %12s %12s %8s  %s\n' mode "event req/s" "ph req/s" "ph/event" "runs event | ph; errors"
compare_modes event ph run_event run_ph
