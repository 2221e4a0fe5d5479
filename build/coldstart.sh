#!/usr/bin/env bash
# Cold start: how long the first request to an environment without a
# processor takes (the multiplexer raises demand, the parent forks one at
# once, the connection waits for it).
#
# 100 environments env1..env100, each `MinProcessors 0` and
# `MinSpareProcessors 0` (one processor each, no spares), all `User alice`,
# each with its own virtual host e1.test..e100.test (the same 100-byte file).
# After start-up (no processor runs yet), each vhost is asked once with curl
# (cold: its processor is started by that request), then each once more
# (warm).  Prints median and worst time_total of the 100 cold requests and
# the median of the 100 warm ones, in ms, plus any non-200 answers.
#
#   bash build/coldstart.sh      (as root)
#   COLDSTART_ENVS=100 COLDSTART_THREADS=25  (defaults; ThreadsPerChild)
#
# It runs twice, once per ProcessorImage (exec: processors from each
# environment's own factory; fork: from the parent), and also prints the
# start-up time (until the multiplexers answer) and the memory of the whole
# server (sum of Pss of the parent and every descendant) once every
# environment has a processor; COLDSTART_IMAGE=exec|fork runs one.
#
# Bounded: every curl has a 30 s limit, start-up and stop are polled with a
# limit; the server is stopped by its pid and nothing is left running.
set -euo pipefail

if [ -z "${COLDSTART_IMAGE:-}" ]; then
    for image in exec fork; do
        COLDSTART_IMAGE=$image bash "$0" || exit 1
    done
    exit 0
fi
IMAGE=$COLDSTART_IMAGE

SCRIPT=build/coldstart.sh
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$(readlink -f "$0")")/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=lib/httpd.sh
. "$(dirname "$(readlink -f "$0")")/lib/httpd.sh"
require_root "$SCRIPT" "apache2 must start as root to switch users"
REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$REPO"

NENVS=${COLDSTART_ENVS:-100}
THREADS=${COLDSTART_THREADS:-25}
MODULE=$REPO/build/out/mod_mpm_peruser_hybrid.so
require_tools "$SCRIPT" "" curl /usr/sbin/apache2
[ -f "$MODULE" ] || make

ensure_env_users

make_work_dir ph-coldstart
mkdir -p "$WORK/run"
CONF=$WORK/httpd.conf
STOP_SECONDS=30   # a hundred processors take a while to go
trap cleanup_servers EXIT

PORT=$(free_port)

{
    conf_preamble "$WORK" warn "LoadModule mpm_peruser_hybrid_module $MODULE"
    cat <<EOF
Listen 127.0.0.1:$PORT
User www-data
Group www-data
ThreadsPerChild $THREADS
ServerLimit $((NENVS + 28))
MinMultiplexers 2
KeepAlive On
ProcessorImage $IMAGE
EOF
    conf_www_access
    cat <<EOF
# no ServerEnvironment: the multiplexers answer it 503 (start-up probe)
<VirtualHost 127.0.0.1:$PORT>
    ServerName probe.test
    DocumentRoot $WORK/www
</VirtualHost>
EOF
    for i in $(seq 1 "$NENVS"); do
        cat <<EOF
<Processor env$i>
    User alice
    Group alice
    MinProcessors 0
    MinSpareProcessors 0
</Processor>
<VirtualHost 127.0.0.1:$PORT>
    ServerName e$i.test
    ServerEnvironment env$i
    DocumentRoot $WORK/www
</VirtualHost>
EOF
    done
} > "$CONF"

# the parent and all its descendants (factories' cmdlines name their own
# configuration file, not $CONF)
server_tree() {
    local root d ppid
    root=$(cat "$WORK/httpd.pid")
    echo "$root"
    for d in /proc/[0-9]*; do
        ppid=$(awk '{ print $4 }' "$d/stat" 2>/dev/null) || continue
        [ "$ppid" = "$root" ] && echo "${d#/proc/}"
    done
    return 0
}

# sum of Pss (kB) of the server's processes, and how many are factories
memory() {
    local pid kb total=0 factories=0
    for pid in $(server_tree); do
        kb=$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null) || continue
        total=$((total + ${kb:-0}))
        if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = apache2-factory ]; then
            factories=$((factories + 1))
        fi
    done
    echo "$total $factories"
}

# server processes running as alice (the processors)
processors() {
    local pid n=0
    for pid in $(server_tree); do
        [ "$(stat -c %u "/proc/$pid" 2>/dev/null)" = "$(id -u alice)" ] && n=$((n + 1))
    done
    echo "$n"
}

# the multiplexers are up when they answer the probe vhost 503
t0=$(date +%s%N)
start_server "$WORK" server "http://127.0.0.1:$PORT/100b.txt" probe.test 503
startup_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
read -r idle_kb _ <<<"$(memory)"
before=$(processors)

# request_each: one request to each vhost in turn; prints "code seconds" per line
request_each() {
    local i
    for i in $(seq 1 "$NENVS"); do
        curl -s -m 30 -o /dev/null -w '%{http_code} %{time_total}\n' \
             -H "Host: e$i.test" "http://127.0.0.1:$PORT/100b.txt" || echo "000 30"
    done
}

cold=$(request_each)
after=$(processors)
warm=$(request_each)
read -r busy_kb factories <<<"$(memory)"

# summary LABEL DATA: median and worst in ms, and non-200 answers
summary() {
    local label=$1 data=$2 bad
    bad=$(awk '$1 != "200" { n[$1]++ } END { for (c in n) printf " %s x%d", c, n[c] }' <<<"$data")
    awk '{ printf "%.3f\n", $2 * 1000 }' <<<"$data" | sort -n |
        awk -v label="$label" -v bad="${bad:- none}" '
            { ms[NR] = $1 }
            END {
                med = (NR % 2) ? ms[(NR + 1) / 2] : (ms[NR / 2] + ms[NR / 2 + 1]) / 2
                printf "%-5s %3d requests  median %8.1f ms  worst %8.1f ms  non-200:%s\n",
                       label, NR, med, ms[NR], bad
            }'
}

echo "ProcessorImage $IMAGE -- cold start: $NENVS environments (MinProcessors 0, User alice, ThreadsPerChild $THREADS), 2 multiplexers, $(nproc) CPUs"
echo "start-up until the multiplexers answer: $startup_ms ms"
echo "processors before the first requests: $before, after: $after; factories: $factories"
summary cold "$cold"
summary warm "$warm"
echo "memory (sum of Pss): idle $((idle_kb / 1024)) MB; with a processor per environment $((busy_kb / 1024)) MB, $(( (busy_kb - idle_kb) / NENVS )) kB per environment"
