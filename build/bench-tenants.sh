#!/usr/bin/env bash
# Many tenants active at once (issue 13): a wrk load spread over N tenants
# (default 100), each connection keeping to one Host as a browser does, on
# peruser_hybrid beside stock event and mpm-itk serving the same N vhosts.
#
# The servers: build/lib/tenants.sh's N tenants tI.test (users alice and
# bob in turn; peruser_hybrid one <Processor> each with `MinProcessors 0`,
# mpm-itk an AssignUserID each, event nothing), every other directive at
# its default (keep-alive on).  The load: `wrk -tN -cN` with a Lua script
# whose per-thread init gives thread I the Host tI.test, so each of the N
# keep-alive connections stays on one tenant; the 100-byte file.
#   ph       peruser_hybrid, warm: every tenant asked once, then a
#            BT_WARMUP-second load, so every tenant has its processor(s);
#   ph-cold  peruser_hybrid just started (no processor at all): the load
#            starts every tenant's first processor (a fresh server per run);
#   ph-nospare  as ph, with `MinSpareProcessors 0` too: one processor per
#            tenant instead of the default's two spares each (which fill
#            ServerLimit 256 at 100 tenants);
#   ph-fork  as ph, with `ProcessorImage fork`: processors forked from
#            the parent (sharing its memory, every environment's
#            configuration included) instead of each environment's own
#            exec'd image (the default);
#   ph-1env  (not by default: a diagnosis) peruser_hybrid with the same
#            vhosts all in environment t1: every connection in one
#            environment's processors, as event has them in few processes;
#   ph-base  (not by default: a comparison) as ph, with the module
#            BT_BASE_MODULE (another build, e.g. of an earlier commit),
#            measured in the same rounds;
#   event    stock mpm_event;
#   itk      mpm-itk (prefork; Debian's libapache2-mpm-itk, installed if
#            missing, the MPM /etc/apache2 had enabled put back).
# BT_REPEAT rounds (default 3), each running every variant once in turn
# (so a disturbance of the shared machine hits them alike); printed: per
# variant the median of requests/s, p50 and p99 (ms) and of the CPU the
# server used per request (utime + stime of its processes and of their
# children that ended, in µs: a child that ends within the run counts
# whole, one that ends with its parent not at all) over the rounds, the
# errors (wrk's connect, read, write, timeout and non-2xx), its processes,
# and the ratios to event and to mpm-itk.
#
#   make bench-tenants                  (as root)
#   BT_TENANTS=100 BT_SECONDS=10 BT_WARMUP=3 BT_REPEAT=3
#   BT_MPMS="ph ph-cold ph-nospare ph-fork event itk"   (a subset; or
#   with ph-1env)
#   BT_MODULE=path/to/mod_mpm_peruser_hybrid.so (another build)
#   BT_BASE_MODULE=path/to/mod_mpm_peruser_hybrid.so (ph-base's)
#
# Bounded: each wrk runs BT_SECONDS (killed 30 s later), curls have a 30 s
# limit, start-up is polled for at most 30 s, and every server is stopped
# by its pid (SIGKILL after 60 s); nothing is left running.
set -euo pipefail

SCRIPT=build/bench-tenants.sh
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$(readlink -f "$0")")/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=lib/httpd.sh
. "$(dirname "$(readlink -f "$0")")/lib/httpd.sh"
# shellcheck source-path=SCRIPTDIR source=lib/tenants.sh
. "$(dirname "$(readlink -f "$0")")/lib/tenants.sh"
# shellcheck source-path=SCRIPTDIR source=lib/wrk.sh
. "$(dirname "$(readlink -f "$0")")/lib/wrk.sh"
require_root "$SCRIPT" "apache2 must start as root to switch users"
REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$REPO"

N=${BT_TENANTS:-100}
SECS=${BT_SECONDS:-10}
WARMUP=${BT_WARMUP:-3}
REPEAT=${BT_REPEAT:-3}
MPMS=${BT_MPMS:-ph ph-cold ph-nospare ph-fork event itk}
MODULE=${BT_MODULE:-$REPO/build/out/mod_mpm_peruser_hybrid.so}
require_tools "$SCRIPT" "bash build/test.sh installs it" wrk curl /usr/sbin/apache2
[ -f "$MODULE" ] || make
BASE_MODULE=${BT_BASE_MODULE:-}
if [[ " $MPMS " == *" ph-base "* ]] && [ ! -f "$BASE_MODULE" ]; then
    echo "$SCRIPT: ph-base needs BT_BASE_MODULE, a module file" >&2
    exit 1
fi
if [ "$N" -lt 1 ] || [ "$N" -gt 1000 ]; then
    echo "$SCRIPT: BT_TENANTS=$N: 1 to 1000 (one wrk thread each)" >&2
    exit 1
fi
[[ " $MPMS " != *" itk "* ]] || ensure_itk
ulimit -n 65536 2>/dev/null || true

ensure_env_users
make_work_dir ph-tenants
STOP_SECONDS=60   # read by cleanup_servers (lib/httpd.sh)
trap cleanup_servers EXIT

# Thread I (1..N, in the order wrk sets them up) asks tI.test; done()
# prints one line the script reads (latencies in microseconds).
cat > "$WORK/tenants.lua" <<EOF
local started = 0
function setup(thread)
    started = started + 1
    thread:set("tenant", (started - 1) % $N + 1)
end
function init(args)
    wrk.headers["Host"] = "t" .. tenant .. ".test"
end
function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("BT %d %d %d %d %d/%d/%d/%d/%d\n", summary.requests,
        summary.duration, latency:percentile(50), latency:percentile(99),
        e.connect, e.read, e.write, e.status, e.timeout))
end
EOF

declare -A PORT   # PORT[variant]
declare -A RUNS   # RUNS[variant]: "rps p50 p99 errors cpu-us-per-request" lines
declare -A PROCS  # PROCS[variant]: its processes after the last run
HZ=$(getconf CLK_TCK)

# server_dir VARIANT: its directory
server_dir() { echo "$WORK/$1"; }

# start VARIANT: write its configuration and start it; ph-cold is only
# waited for until its pid file is written and its port accepts (a
# request would start a processor)
start() {
    local v=$1 dir mpm=${1%-*} lines="MinProcessors 0" image module=$MODULE
    dir=$(server_dir "$v")
    PORT[$v]=$(free_port)
    [ "$v" != ph-nospare ] || lines="$lines"$'\n'"    MinSpareProcessors 0"
    image="exec"
    [ "$v" != ph-fork ] || image="fork"
    [ "$v" != ph-base ] || module=$BASE_MODULE
    MODULE=$module TENANT_PROCESSOR_LINES=$lines \
        tenants_conf "$dir" "$mpm" "$N" "${PORT[$v]}" "ProcessorImage $image"
    [ "$v" != ph-1env ] || sed -i 's/ServerEnvironment t[0-9]*$/ServerEnvironment t1/' "$dir/httpd.conf"
    if [ "$v" != ph-cold ]; then
        start_server "$dir" "$v" "http://127.0.0.1:${PORT[$v]}/100b.txt" t1.test
        return
    fi
    /usr/sbin/apache2 -f "$dir/httpd.conf" -k start
    STARTED+=("$dir") STARTED_LABELS+=("$v")
    for _ in $(seq 1 300); do
        [ -s "$dir/httpd.pid" ] && (exec 3<>"/dev/tcp/127.0.0.1/${PORT[$v]}") 2>/dev/null &&
            return 0
        sleep 0.1
    done
    echo "$SCRIPT: $v does not accept on port ${PORT[$v]}" >&2
    return 1
}

# server_ticks VARIANT: utime + stime of its processes now, with their
# cutime + cstime (children that ended: mpm-itk's per connection), in
# clock ticks
server_ticks() {
    local p sum=0 t pids
    mapfile -t pids < <(tree_pids "$(cat "$(server_dir "$1")/httpd.pid")")
    for p in "${pids[@]}"; do
        t=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$p/stat" 2>/dev/null) ||
            continue
        sum=$((sum + t))
    done
    echo "$sum"
}

# load VARIANT SECONDS: "rps p50-ms p99-ms errors cpu-us-per-request" of
# one wrk run
load() {
    local out line t0 t1
    t0=$(server_ticks "$1")
    out=$(timeout $(($2 + 30)) wrk -t"$N" -c"$N" -d"$2s" --timeout 10s \
          -s "$WORK/tenants.lua" "http://127.0.0.1:${PORT[$1]}/100b.txt" 2>&1) || true
    t1=$(server_ticks "$1")
    line=$(grep '^BT ' <<<"$out" | tail -n 1)
    [ -n "$line" ] || { echo "0 - - wrk-failed -"; return 0; }
    awk -v t=$((t1 - t0)) -v hz="$HZ" '{
        printf "%.0f %.2f %.2f %s %.0f\n", $2 / ($3 / 1e6), $4 / 1000, $5 / 1000, $6,
               ($2 > 0 ? t / hz * 1e6 / $2 : 0) }' <<<"$line"
}

# warm VARIANT: every tenant once, then a WARMUP-second load
warm() {
    local i code bad=0
    for i in $(seq 1 "$N"); do
        read -r code _ <<<"$(tenant_touch "$i" "${PORT[$1]}")"
        [ "$code" = 200 ] || bad=$((bad + 1))
    done
    [ "$bad" = 0 ] || echo "$SCRIPT: $1: $bad tenant(s) did not answer 200 at warm-up" >&2
    load "$1" "$WARMUP" >/dev/null
}

# processes VARIANT: how many processes its server has (parent included)
processes() {
    tree_pids "$(cat "$(server_dir "$1")/httpd.pid")" | wc -l
}

echo "== $N tenants, wrk -t$N -c$N -d${SECS}s (one keep-alive connection per tenant), $(nproc) CPUs, $REPEAT rounds ($(date +%T))" >&2
for v in $MPMS; do
    [ "$v" = ph-cold ] && continue
    start "$v"
    warm "$v"
    echo "   $v: started and warmed, $(processes "$v") processes" >&2
done
for round in $(seq 1 "$REPEAT"); do
    for v in $MPMS; do
        [ "$v" != ph-cold ] || start "$v"
        RUNS[$v]+="$(load "$v" "$SECS")"$'\n'
        PROCS[$v]=$(processes "$v")
        echo "   round $round $v: $(tail -n 1 <<<"${RUNS[$v]%$'\n'}") (${PROCS[$v]} processes)" >&2
        if [ "$v" = ph-cold ]; then
            stop_server "$(server_dir "$v")" "$v" 60 || true
            rm -rf "$(server_dir "$v")"
        fi
    done
done

# col VARIANT FIELD: the median of field FIELD (1 rps, 2 p50, 3 p99, 5
# CPU µs per request) over the rounds
col() {
    local vals
    mapfile -t vals < <(awk -v f="$2" 'NF { print $f }' <<<"${RUNS[$1]}")
    median "${vals[@]}"
}

# ratio A B: A/B to two decimals, or -
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b == 0) { print "-"; exit }
        printf "%.2f", a / b }'
}

printf '\n%s tenants, one keep-alive connection each (wrk -t%s -c%s -d%ss), 100-byte file; median of %s rounds\n' \
       "$N" "$N" "$N" "$SECS" "$REPEAT"
printf '%-10s %7s %7s %8s %6s %7s %6s  %-9s %-9s %-9s %s\n' "" "req/s" "p50 ms" "p99 ms" \
       errors "CPU/req" procs "rps/event" "p99/event" "rps/itk" "runs (req/s)"
for v in $MPMS; do
    rps=$(col "$v" 1) p50=$(col "$v" 2) p99=$(col "$v" 3) cpu=$(col "$v" 5)
    errs=$(awk 'NF { split($4, e, "/"); for (i in e) s += e[i] } END { print s + 0 }' <<<"${RUNS[$v]}")
    ev_rps="" ev_p99="" itk_rps=""
    [ -z "${RUNS[event]:-}" ] || { ev_rps=$(col event 1); ev_p99=$(col event 3); }
    [ -z "${RUNS[itk]:-}" ] || itk_rps=$(col itk 1)
    printf '%-10s %7s %7s %8s %6s %5sus %6s  %-9s %-9s %-9s %s\n' "$v" "$rps" "$p50" "$p99" \
           "$errs" "$cpu" "${PROCS[$v]:--}" "$(ratio "$rps" "$ev_rps")" "$(ratio "$p99" "$ev_p99")" "$(ratio "$rps" "$itk_rps")" \
           "$(awk 'NF { printf "%s ", $1 }' <<<"${RUNS[$v]}")"
done
for v in $MPMS; do
    [ "$(awk 'NF && $4 != "0/0/0/0/0"' <<<"${RUNS[$v]}")" ] || continue
    printf '  %s errors per run (connect/read/write/non-2xx/timeout): %s\n' "$v" \
           "$(awk 'NF { printf "%s ", $4 }' <<<"${RUNS[$v]}")"
done
