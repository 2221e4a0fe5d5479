#!/usr/bin/env bash
# Cold start: how long the first request to an environment without a
# processor takes (the multiplexer raises demand, the parent forks one at
# once, the connection waits for it).
#
# 100 environments env1..env100, each `MinProcessors 0`, all `User alice`,
# each with its own virtual host e1.test..e100.test (the same 100-byte file).
# After start-up (no processor runs yet), each vhost is asked once with curl
# (cold: its processor is started by that request), then each once more
# (warm).  Prints median and worst time_total of the 100 cold requests and
# the median of the 100 warm ones, in ms, plus any non-200 answers.
#
#   bash build/coldstart.sh      (as root)
#   COLDSTART_ENVS=100 COLDSTART_THREADS=25  (defaults; ThreadsPerChild)
#
# Bounded: every curl has a 30 s limit, start-up and stop are polled with a
# limit; the server is stopped by its pid and nothing is left running.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$(readlink -f "$0")")/lib/common.sh"
require_root build/coldstart.sh "apache2 must start as root to switch users"
REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$REPO"

NENVS=${COLDSTART_ENVS:-100}
THREADS=${COLDSTART_THREADS:-25}
MODULE=$REPO/build/out/mod_mpm_peruser_hybrid.so
MODDIR=/usr/lib/apache2/modules
for tool in curl /usr/sbin/apache2; do
    command -v "$tool" >/dev/null || { echo "build/coldstart.sh: $tool missing" >&2; exit 1; }
done
[ -f "$MODULE" ] || make

ensure_env_users

WORK=$(mktemp -d /tmp/ph-coldstart-XXXXXX)
chmod 755 "$WORK"
mkdir -p "$WORK/www" "$WORK/run"
head -c 99 /dev/zero | tr '\0' x > "$WORK/www/100b.txt"
echo >> "$WORK/www/100b.txt"
chmod 755 "$WORK/www"
chmod 644 "$WORK/www/100b.txt"
CONF=$WORK/httpd.conf

PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

{
    cat <<EOF
ServerRoot /etc/apache2
ServerName localhost
DefaultRuntimeDir $WORK/run
PidFile $WORK/httpd.pid
Mutex file:$WORK/run default
ErrorLog $WORK/error.log
LogLevel warn
LoadModule mpm_peruser_hybrid_module $MODULE
LoadModule authz_core_module $MODDIR/mod_authz_core.so
LoadModule mime_module $MODDIR/mod_mime.so
TypesConfig /etc/mime.types
Listen 127.0.0.1:$PORT
User www-data
Group www-data
ThreadsPerChild $THREADS
ServerLimit $((NENVS + 28))
MinMultiplexers 2
KeepAlive On
<Directory />
    Require all denied
</Directory>
<Directory $WORK/www>
    Require all granted
</Directory>
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
</Processor>
<VirtualHost 127.0.0.1:$PORT>
    ServerName e$i.test
    ServerEnvironment env$i
    DocumentRoot $WORK/www
</VirtualHost>
EOF
    done
} > "$CONF"

# pids of every process whose command line names this config
server_pids() {
    local d cmd
    for d in /proc/[0-9]*; do
        cmd=$( { tr '\0' ' ' < "$d/cmdline"; } 2>/dev/null) || continue
        [[ $cmd == *"$CONF"* ]] && echo "${d#/proc/}"
    done
    return 0
}

# server processes running as alice (the processors)
processors() {
    local pid n=0
    for pid in $(server_pids); do
        [ "$(stat -c %u "/proc/$pid" 2>/dev/null)" = "$(id -u alice)" ] && n=$((n + 1))
    done
    echo "$n"
}

STARTED=0
cleanup() {
    local rc=$? pid i left=""
    if [ "$STARTED" = 1 ]; then
        pid=$(cat "$WORK/httpd.pid" 2>/dev/null || true)
        if [ -n "$pid" ]; then
            kill -TERM "$pid" 2>/dev/null || true
        fi
        for i in $(seq 1 300); do
            left=$(server_pids)
            [ -z "$left" ] && break
            sleep 0.1
        done
        if [ -n "$left" ]; then
            echo "build/coldstart.sh: processes left after SIGTERM: $left (SIGKILLed)" >&2
            # shellcheck disable=SC2086
            kill -KILL $left 2>/dev/null || true
            rc=1
        fi
    fi
    if [ "$rc" -eq 0 ]; then
        rm -rf "$WORK"
    else
        echo "build/coldstart.sh: kept $WORK" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT

/usr/sbin/apache2 -f "$CONF" -k start
STARTED=1
ready=0
for _ in $(seq 1 150); do
    code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' -H 'Host: probe.test' \
           "http://127.0.0.1:$PORT/100b.txt" 2>/dev/null || true)
    if [ "$code" = 503 ]; then ready=1; break; fi
    sleep 0.2
done
if [ "$ready" != 1 ]; then
    echo "build/coldstart.sh: the multiplexers did not answer on port $PORT" >&2
    tail -n 20 "$WORK/error.log" >&2 || true
    exit 1
fi
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

echo "cold start: $NENVS environments (MinProcessors 0, User alice, ThreadsPerChild $THREADS), 2 multiplexers, $(nproc) CPUs"
echo "processors before the first requests: $before, after: $after"
summary cold "$cold"
summary warm "$warm"
