#!/usr/bin/env bash
# What a running pstat costs the server: requests/s of peruser_hybrid under
# wrk without pstat, and with the interactive pstat refreshing every 100 ms
# (pstat -d 0.1, the fastest refresh it allows) in a detached tmux session
# watching the same segment.
#
# Server: 2 multiplexers; one environment "alice" with exactly 2 processors
# x 25 threads (Min = MaxProcessors 2, MinSpareProcessors 0), serving a
# 100-byte file; no access log, LogLevel warn.
# Load: wrk -t2 -c50 -d8s with keep-alive, BENCH_REPEAT (default 3, at most
# 3) runs of each mode, alternating without / with pstat (the first of
# each round swapping), after a 2 s
# warm-up.  Prints each run, the medians, the ratio with/without, and the
# CPU time pstat and the tmux server used per run.
#
# Every run talks to a loopback address of its own (127.0.3.1 .. 127.0.3.8),
# as in build/bench.sh, so that no run inherits the previous one's sockets.
#
#   bash build/bench_pstat_load.sh      (as root)
#   BENCH_SECONDS=8 BENCH_CONNECTIONS=50 BENCH_THREADS=2 BENCH_REPEAT=3
set -euo pipefail

SCRIPT=build/bench_pstat_load.sh
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$(readlink -f "$0")")/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=lib/httpd.sh
. "$(dirname "$(readlink -f "$0")")/lib/httpd.sh"
# shellcheck source-path=SCRIPTDIR source=lib/wrk.sh
. "$(dirname "$(readlink -f "$0")")/lib/wrk.sh"
require_root "$SCRIPT" "apache2 must start as root to switch users"
REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$REPO"

SECONDS_PER_RUN=${BENCH_SECONDS:-8}
REPEAT=${BENCH_REPEAT:-3}
CONNS=${BENCH_CONNECTIONS:-50}
THREADS=${BENCH_THREADS:-2}
NADDR=8   # 127.0.3.1..8: a warm-up and 2 x REPEAT runs
if ! [[ $REPEAT =~ ^[1-3]$ ]]; then
    echo "$SCRIPT: BENCH_REPEAT must be 1 to 3 (one loopback address per run)" >&2
    exit 1
fi
MODULE=$REPO/build/out/mod_mpm_peruser_hybrid.so
PSTAT=$REPO/build/out/pstat
require_tools "$SCRIPT" "" wrk tmux curl /usr/sbin/apache2
if [ ! -f "$MODULE" ] || [ ! -x "$PSTAT" ]; then make; fi

ensure_env_users

make_work_dir ph-pstat-bench
mkdir -p "$WORK/run"
CONF=$WORK/httpd.conf
SHM=$WORK/run/peruser_hybrid.shm
TMUX_SOCK=ph-pstat-bench-$$

pstat_stop() {
    tmux -L "$TMUX_SOCK" kill-server 2>/dev/null || true
}

cleanup() {
    local rc=$?
    pstat_stop
    cleanup_servers "$rc"
}
trap cleanup EXIT

PORT=$(free_port)

{
    conf_preamble "$WORK" warn "LoadModule mpm_peruser_hybrid_module $MODULE"
    listen_lines 3 "$PORT" "$NADDR"
    cat <<EOF
User www-data
Group www-data
ThreadsPerChild 25
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
MinMultiplexers 2
EOF
    conf_www_access
    cat <<EOF
<Processor alice>
    User alice
    Group alice
    MinProcessors 2
    MaxProcessors 2
    MinSpareProcessors 0
</Processor>
<VirtualHost *:$PORT>
    ServerName alice.test
    ServerEnvironment alice
    DocumentRoot $WORK/www
</VirtualHost>
EOF
} > "$CONF"

start_server "$WORK" server "http://127.0.3.1:$PORT/100b.txt" alice.test
# both processors up before measuring
for _ in $(seq 1 100); do
    alive=$("$PSTAT" --shm "$SHM" -j -d 0 | /usr/bin/python3 -c \
        'import json,sys; d=json.load(sys.stdin); print(sum(e["children_alive"] for e in d["environments"] if e["name"]=="alice"))')
    [ "$alive" = 2 ] && break
    sleep 0.1
done
[ "$alive" = 2 ] || { echo "$SCRIPT: alice has $alive processors, expected 2" >&2; exit 1; }

# pid of the pstat running in the tmux pane (the pane's process or its child)
pstat_pid() {
    local pane c kids=()
    pane=$(tmux -L "$TMUX_SOCK" display-message -p -t pstat '#{pane_pid}' 2>/dev/null) || return 0
    if [ "$(cat "/proc/$pane/comm" 2>/dev/null)" = pstat ]; then
        echo "$pane"
        return 0
    fi
    read -r -a kids < "/proc/$pane/task/$pane/children" 2>/dev/null || true
    for c in "${kids[@]}"; do
        if [ "$(cat "/proc/$c/comm" 2>/dev/null)" = pstat ]; then echo "$c"; fi
    done
    return 0
}

# cpu_ticks PID -> utime + stime (clock ticks)
cpu_ticks() {
    awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

PSTAT_PID="" TMUX_PID=""
pstat_start() {
    local i
    tmux -L "$TMUX_SOCK" new-session -d -s pstat -x 160 -y 40 "$PSTAT --shm $SHM -d 0.1"
    for i in $(seq 1 100); do
        if tmux -L "$TMUX_SOCK" capture-pane -p -t pstat 2>/dev/null | grep -q '^alice '; then
            PSTAT_PID=$(pstat_pid)
            TMUX_PID=$(tmux -L "$TMUX_SOCK" display-message -p '#{pid}')
            [ -n "$PSTAT_PID" ] && [ -n "$TMUX_PID" ] && return 0
        fi
        sleep 0.1
    done
    echo "$SCRIPT: pstat in tmux never showed alice:" >&2
    tmux -L "$TMUX_SOCK" capture-pane -p -t pstat >&2 || true
    return 1
}

# bench ADDR SECONDS -> prints "rps errors"
bench() {
    run_wrk "http://$1:$PORT/100b.txt" "$2" -H 'Host: alice.test'
}

HZ=$(getconf CLK_TCK)
echo "pstat load: wrk -t$THREADS -c$CONNS -d${SECONDS_PER_RUN}s keep-alive, 100-byte file, $(nproc) CPUs;"
echo "  with = interactive pstat -d 0.1 in tmux on the same segment; median of $REPEAT alternating runs"
bench 127.0.3.1 2 >/dev/null   # warm-up
addr=2
without=() with=() errs="" cpu=()
run_without() {
    read -r rps err <<<"$(bench "127.0.3.$addr" "$SECONDS_PER_RUN")"
    without+=("$rps")
    [ "$err" = none ] || errs="$errs [without: $err]"
    addr=$((addr + 1))
}
run_with() {
    local t0 t1 m0 m1
    pstat_start
    t0=$(cpu_ticks "$PSTAT_PID") m0=$(cpu_ticks "$TMUX_PID")
    read -r rps err <<<"$(bench "127.0.3.$addr" "$SECONDS_PER_RUN")"
    if [ "$(pstat_pid)" != "$PSTAT_PID" ]; then
        echo "$SCRIPT: pstat (pid $PSTAT_PID) did not survive the run" >&2
        exit 1
    fi
    t1=$(cpu_ticks "$PSTAT_PID") m1=$(cpu_ticks "$TMUX_PID")
    pstat_stop
    with+=("$rps")
    cpu+=("$(awk -v t=$((t1 - t0)) -v m=$((m1 - m0)) -v hz="$HZ" -v s="$SECONDS_PER_RUN" \
             'BEGIN { printf "%.1f%%/%.1f%%", 100 * t / hz / s, 100 * m / hz / s }')")
    [ "$err" = none ] || errs="$errs [with: $err]"
    addr=$((addr + 1))
}
# alternate, and swap which mode goes first each round (ABBA...), so that a
# drift over the minute does not favour one mode
for round in $(seq 1 "$REPEAT"); do
    if [ $((round % 2)) = 1 ]; then run_without; run_with; else run_with; run_without; fi
done

med_without=$(median "${without[@]}")
med_with=$(median "${with[@]}")
ratio=$(awk -v a="$med_with" -v b="$med_without" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }')
printf '%-16s %12s  %s\n' "" "req/s" "runs"
printf '%-16s %12s  %s\n' "without pstat" "$med_without" "${without[*]}"
printf '%-16s %12s  %s\n' "with pstat" "$med_with" "${with[*]}"
printf '%-16s %12s\n' "with/without" "$ratio"
echo "CPU per 'with' run, pstat/tmux server (% of one core): ${cpu[*]}"
echo "errors:${errs:- none}"
