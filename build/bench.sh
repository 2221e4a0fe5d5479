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

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$(readlink -f "$0")")/lib/common.sh"
require_root build/bench.sh "apache2 must start as root to switch users"
REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$REPO"

SECONDS_PER_RUN=${BENCH_SECONDS:-10}
REPEAT=${BENCH_REPEAT:-3}
# addresses per server: a warm-up and REPEAT runs for each of two modes
NADDR=$(( 2 * (REPEAT + 1) ))
CONNS=${BENCH_CONNECTIONS:-50}
THREADS=${BENCH_THREADS:-2}
MODULE=$REPO/build/out/mod_mpm_peruser_hybrid.so
MODDIR=/usr/lib/apache2/modules
for tool in wrk /usr/sbin/apache2; do
    command -v "$tool" >/dev/null || { echo "build/bench.sh: $tool missing (bash build/test.sh installs it)" >&2; exit 1; }
done
[ -f "$MODULE" ] || make

ensure_env_users

WORK=$(mktemp -d /tmp/ph-bench-XXXXXX)
chmod 755 "$WORK"
mkdir -p "$WORK/www"
head -c 99 /dev/zero | tr '\0' x > "$WORK/www/100b.txt"
echo >> "$WORK/www/100b.txt"
chmod 755 "$WORK/www"
chmod 644 "$WORK/www/100b.txt"

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# listen_lines NET PORT -> "Listen 127.0.NET.i:PORT" for i = 1..NADDR
listen_lines() {
    local i
    for i in $(seq 1 "$NADDR"); do
        echo "Listen 127.0.$1.$i:$2"
    done
}

# write_conf NAME NET PORT MPM-SPECIFIC-LINES
write_conf() {
    local name=$1 net=$2 port=$3 mpm=$4
    mkdir -p "$WORK/$name/run"
    cat > "$WORK/$name/httpd.conf" <<EOF
ServerRoot /etc/apache2
ServerName localhost
DefaultRuntimeDir $WORK/$name/run
PidFile $WORK/$name/httpd.pid
Mutex file:$WORK/$name/run default
ErrorLog $WORK/$name/error.log
LogLevel warn
LoadModule authz_core_module $MODDIR/mod_authz_core.so
LoadModule mime_module $MODDIR/mod_mime.so
TypesConfig /etc/mime.types
$(listen_lines "$net" "$port")
User www-data
Group www-data
ThreadsPerChild 25
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
<Directory />
    Require all denied
</Directory>
<Directory $WORK/www>
    Require all granted
</Directory>
$mpm
EOF
}

EV_PORT=$(free_port)
write_conf event 1 "$EV_PORT" "LoadModule mpm_event_module $MODDIR/mod_mpm_event.so
StartServers 2
ServerLimit 2
MaxRequestWorkers 50
MinSpareThreads 25
MaxSpareThreads 75
<VirtualHost *:$EV_PORT>
    ServerName alice.test
    DocumentRoot $WORK/www
</VirtualHost>"

PH_PORT=$(free_port)
while [ "$PH_PORT" = "$EV_PORT" ]; do PH_PORT=$(free_port); done
write_conf ph 2 "$PH_PORT" "LoadModule mpm_peruser_hybrid_module $MODULE
MinMultiplexers 2
<Processor alice>
    User alice
    Group alice
    MinProcessors 2
    MaxProcessors 2
</Processor>
<Processor bob>
    User bob
    Group bob
    MinProcessors 1
</Processor>
<VirtualHost *:$PH_PORT>
    ServerName alice.test
    ServerEnvironment alice
    DocumentRoot $WORK/www
</VirtualHost>
<VirtualHost *:$PH_PORT>
    ServerName bob.test
    ServerEnvironment bob
    DocumentRoot $WORK/www
</VirtualHost>"

# pids of every process whose command line names this config
server_pids() {
    local conf=$1 d cmd
    for d in /proc/[0-9]*; do
        cmd=$( { tr '\0' ' ' < "$d/cmdline"; } 2>/dev/null) || continue
        [[ $cmd == *"$conf"* ]] && echo "${d#/proc/}"
    done
    return 0
}

STARTED=()
stop_server() {
    local name=$1 conf="$WORK/$1/httpd.conf" pid i left
    pid=$(cat "$WORK/$name/httpd.pid" 2>/dev/null || true)
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 200); do
        left=$(server_pids "$conf")
        [ -z "$left" ] && return 0
        sleep 0.1
    done
    echo "build/bench.sh: $name left processes after SIGTERM: $left (SIGKILLed)" >&2
    # shellcheck disable=SC2086
    kill -KILL $left 2>/dev/null || true
    return 1
}

cleanup() {
    local rc=$? name
    for name in "${STARTED[@]}"; do
        stop_server "$name" || rc=1
    done
    if [ "$rc" -eq 0 ]; then
        rm -rf "$WORK"
    else
        echo "build/bench.sh: kept $WORK" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT

start_server() {
    local name=$1 addr=$2 port=$3 host=$4 i
    /usr/sbin/apache2 -f "$WORK/$name/httpd.conf" -k start
    STARTED+=("$name")
    for i in $(seq 1 150); do
        if curl -fsS -m 2 -o /dev/null -H "Host: $host" "http://$addr:$port/100b.txt" 2>/dev/null; then
            return 0
        fi
        sleep 0.2
    done
    echo "build/bench.sh: $name did not answer on port $port" >&2
    tail -n 20 "$WORK/$name/error.log" >&2 || true
    return 1
}

start_server event 127.0.1.1 "$EV_PORT" alice.test
start_server ph 127.0.2.1 "$PH_PORT" alice.test

# run_wrk ADDR PORT SECONDS [extra wrk args] -> prints "rps errors"
run_wrk() {
    local addr=$1 port=$2 secs=$3 out rps errs
    shift 3
    out=$(timeout $((secs + 30)) wrk -t"$THREADS" -c"$CONNS" -d"${secs}s" --timeout 10s \
          -H 'Host: alice.test' "$@" "http://$addr:$port/100b.txt") || true
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    errs=$(grep -E 'Socket errors|Non-2xx' <<<"$out" | tr -s ' ' | paste -sd';' -) || true
    echo "${rps:-0} ${errs:-none}"
}

median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

echo "peruser_hybrid vs mpm_event: wrk -t$THREADS -c$CONNS -d${SECONDS_PER_RUN}s, 100-byte file, $(nproc) CPUs, median of $REPEAT alternating runs"
printf '%-10s %12s %12s %8s  %s\n' mode "event req/s" "ph req/s" "ph/event" "runs event | ph; errors"
addr=1
for mode in keepalive close; do
    extra=()
    [ "$mode" = close ] && extra=(-H 'Connection: close')
    run_wrk "127.0.1.$addr" "$EV_PORT" 2 "${extra[@]}" >/dev/null   # warm-up
    run_wrk "127.0.2.$addr" "$PH_PORT" 2 "${extra[@]}" >/dev/null
    addr=$((addr + 1))
    ev_all=() ph_all=() errs=""
    for _ in $(seq 1 "$REPEAT"); do
        read -r ev_rps ev_err <<<"$(run_wrk "127.0.1.$addr" "$EV_PORT" "$SECONDS_PER_RUN" "${extra[@]}")"
        read -r ph_rps ph_err <<<"$(run_wrk "127.0.2.$addr" "$PH_PORT" "$SECONDS_PER_RUN" "${extra[@]}")"
        addr=$((addr + 1))
        ev_all+=("$ev_rps")
        ph_all+=("$ph_rps")
        [ "$ev_err$ph_err" = nonenone ] || errs="$errs [event: $ev_err | ph: $ph_err]"
    done
    ev_med=$(median "${ev_all[@]}")
    ph_med=$(median "${ph_all[@]}")
    ratio=$(awk -v a="$ph_med" -v b="$ev_med" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
    printf '%-10s %12s %12s %8s  %s | %s;%s\n' "$mode" "$ev_med" "$ph_med" "$ratio" \
        "${ev_all[*]}" "${ph_all[*]}" "${errs:- none}"
done
