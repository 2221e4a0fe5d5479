#!/usr/bin/env bash
# Many tenants on one ServerLimit (issue 16), beside stock event.
#
# N environments t1..tN (default 1,000; users alice and bob in turn), one
# vhost tI.test each, every other directive at its default (ServerLimit
# 256, MinSpareProcessors 2, IdleTimeout 900, ...); event serves the same
# N vhosts with its own defaults.  For each server:
#   1. every tenant once, one after another (curl, 30 s limit each);
#   2. every tenant once more, 20 at a time;
#   3. a load of 20 clients over all tenants, and SIGTERM after 3 s of it.
# Prints, per server: answers of 1 and 2 by status code, the seconds each
# took, processes forked (peruser_hybrid: PH00103 lines; both: distinct
# child pids seen by sampling every 0.5 s, a lower bound), PH00101 lines
# (slots full), how long the stop took until no process was left, and the
# processors started after the signal.
#
#   bash build/slots.sh                  (as root)
#   SLOTS_ENVS=1000  SLOTS_IMAGE=fork|exec (ProcessorImage; default fork:
#   exec starts one factory, a whole httpd, per tenant touched)
#   SLOTS_MODULE=path/to/mod_mpm_peruser_hybrid.so (another build, e.g. to
#   measure the code before a change)
#
# Bounded: every curl has a 30 s limit, the stop is waited for 60 s and
# SIGKILLed after; nothing is left running.
set -euo pipefail

SCRIPT=build/slots.sh
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$(readlink -f "$0")")/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=lib/httpd.sh
. "$(dirname "$(readlink -f "$0")")/lib/httpd.sh"
# shellcheck source-path=SCRIPTDIR source=lib/tenants.sh
. "$(dirname "$(readlink -f "$0")")/lib/tenants.sh"
require_root "$SCRIPT" "apache2 must start as root to switch users"
REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$REPO"

NENVS=${SLOTS_ENVS:-1000}
IMAGE=${SLOTS_IMAGE:-fork}
MODULE=${SLOTS_MODULE:-$REPO/build/out/mod_mpm_peruser_hybrid.so}
require_tools "$SCRIPT" "" curl xargs /usr/sbin/apache2
[ -f "$MODULE" ] || make

ensure_env_users
make_work_dir ph-slots
STOP_SECONDS=60   # read by cleanup_servers (lib/httpd.sh)
export STOP_SECONDS
trap cleanup_servers EXIT

# conf NAME MPM: $WORK/NAME/httpd.conf on a fresh port (PORT_<NAME>)
conf() {
    local port
    port=$(free_port)
    eval "PORT_$1=$port"
    tenants_conf "$WORK/$1" "$2" "$NENVS" "$port" "ProcessorImage $IMAGE"
}

# sampler PARENT OUT: every 0.5 s, append the parent's children to OUT
sampler() {
    while kill -0 "$1" 2>/dev/null; do
        ps -o pid= --ppid "$1" >> "$2" || true
        sleep 0.5
    done
}

# started_after LOG NS: "N (last +M ms)", the PH00103 lines LOG's own
# timestamps put after NS (nanoseconds since the epoch)
started_after() {
    /usr/bin/python3 - "$1" "$2" <<'PY'
import re, sys
from datetime import datetime
at = int(sys.argv[2]) / 1e9
late = []
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"^\[\w{3} (\w{3} +\d+ [\d:.]+ \d{4})\].*PH00103: started processor", line)
    if m:
        t = datetime.strptime(m.group(1), "%b %d %H:%M:%S.%f %Y").timestamp()
        if t > at:
            late.append(t - at)
print(f"{len(late)}" + (f" (the last {max(late) * 1000:.0f} ms after it)" if late else ""))
PY
}

# forks_so_far NAME: processors started so far (PH00103)
forks_so_far() {
    grep -c 'PH00103: started processor' "$WORK/$1/error.log" || true
}

run() {
    local name=$1 mpm=$2 port pid t0 t1 seq_codes par_codes load_pid forks
    local before_stop after_stop stop_ms pids left so_far
    conf "$name" "$mpm"
    port=$(eval echo "\$PORT_$name")
    t0=$(date +%s%N)
    /usr/sbin/apache2 -f "$WORK/$name/httpd.conf" -k start
    STARTED+=("$WORK/$name") STARTED_LABELS+=("$name")
    # the server is up when its first tenant answers at all
    wait_http "http://127.0.0.1:$port/100b.txt" t1.test 200 ||
        wait_http "http://127.0.0.1:$port/100b.txt" t1.test 503 || {
            echo "$SCRIPT: $name did not start" >&2; tail "$WORK/$name/error.log" >&2; return 1; }
    pid=$(cat "$WORK/$name/httpd.pid")
    sampler "$pid" "$WORK/$name/pids" &
    t1=$(date +%s%N)
    echo "== $name ($mpm$([ "$mpm" = ph ] && echo ", ProcessorImage $IMAGE")): $NENVS tenants, start until the first answer $(( (t1 - t0) / 1000000 )) ms"

    t0=$(date +%s%N)
    seq_codes=$(for i in $(seq 1 "$NENVS"); do tenant_touch "$i" "$port"; done | tenants_summary)
    t1=$(date +%s%N)
    so_far=""
    [ "$mpm" = ph ] && so_far="; processors started so far $(forks_so_far "$name")"
    echo "   one after another: $seq_codes; $(( (t1 - t0) / 1000000 )) ms in all$so_far"

    t0=$(date +%s%N)
    par_codes=$(seq 1 "$NENVS" | xargs -P 20 -I{} bash -c "tenant_touch {} $port" | tenants_summary)
    t1=$(date +%s%N)
    so_far=""
    [ "$mpm" = ph ] && so_far="; processors started so far $(forks_so_far "$name")"
    echo "   20 at a time:      $par_codes; $(( (t1 - t0) / 1000000 )) ms in all$so_far"

    # load, then stop under it
    touch "$WORK/$name/load"
    ( while [ -e "$WORK/$name/load" ]; do
          seq 1 "$NENVS" | shuf | head -n 200 |
              xargs -P 20 -I{} bash -c "tenant_touch {} $port" >/dev/null
      done ) &
    load_pid=$!
    sleep 3
    before_stop=$(forks_so_far "$name")
    t0=$(date +%s%N)
    kill -TERM "$pid"
    # the parent exits once it has reaped its children
    for _ in $(seq 1 1200); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    t1=$(date +%s%N)
    stop_ms=$(( (t1 - t0) / 1000000 ))
    left=$(server_pids "$WORK/$name/httpd.conf")
    if [ -n "$left" ]; then
        echo "   processes left after the parent exited (SIGKILLed): $left"
        # shellcheck disable=SC2086
        kill -KILL $left 2>/dev/null || true
    fi
    rm -f "$WORK/$name/load"
    wait "$load_pid" 2>/dev/null || true
    wait 2>/dev/null || true     # the sampler ends with the parent
    after_stop=$(started_after "$WORK/$name/error.log" "$t0")
    pids=$(sort -u "$WORK/$name/pids" | wc -l)
    forks=""
    [ "$mpm" = ph ] && forks="processors started (PH00103) $before_stop before the stop, "
    echo "   ${forks}child pids seen $pids; PH00101 lines $(grep -c PH00101 "$WORK/$name/error.log" || true)"
    grep -h 'PH00101' "$WORK/$name/error.log" | sed 's/^.*PH00101/   PH00101/' | head -n 3 || true
    echo "   SIGTERM under load until the parent exited: $stop_ms ms; processors started after it: $after_stop"
    # stopped: nothing for cleanup_servers to do but check
}

run event event
run ph ph
