# shellcheck shell=bash
# build/lib/httpd.sh -- a throw-away /usr/sbin/apache2 in a work directory,
# for build/bench.sh, build/bench_pstat_load.sh, build/coldstart.sh and (the
# config preamble and the start-up poll) build/demo.sh.  Sourced, not run,
# after lib/common.sh:
#
#   . "$(dirname "$(readlink -f "$0")")/lib/httpd.sh"
#
# Globals: SCRIPT (the script's name, the prefix of every complaint), set by
# the caller; WORK (set by make_work_dir); STARTED and STARTED_LABELS (the
# server directories start_server started and their labels, stopped by
# cleanup_servers); MODDIR.
#
# A server directory DIR holds DIR/httpd.conf, DIR/httpd.pid, DIR/error.log
# and the runtime directory DIR/run.

MODDIR=/usr/lib/apache2/modules
STARTED=() STARTED_LABELS=()

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# make_work_dir PREFIX: WORK=/dev/shm/PREFIX-XXXXXX (mode 755) with WORK/www
# holding the 100-byte file 100b.txt (99 x "x" and a newline).  On tmpfs,
# as Debian's /run (APACHE_RUN_DIR) is: the runtime directory holds
# peruser_hybrid's segment, one file per environment, and on a disk file
# system creating thousands of them costs what the disk's allocator makes
# it cost (on ext4, seconds after many runs' deletions), which no
# production server pays.  /tmp when /dev/shm is not a tmpfs.
make_work_dir() {
    local base=/tmp
    if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] && [ -w /dev/shm ]; then
        base=/dev/shm
    fi
    WORK=$(mktemp -d "$base/$1-XXXXXX")
    chmod 755 "$WORK"
    mkdir -p "$WORK/www"
    head -c 99 /dev/zero | tr '\0' x > "$WORK/www/100b.txt"
    echo >> "$WORK/www/100b.txt"
    chmod 755 "$WORK/www"
    chmod 644 "$WORK/www/100b.txt"
}

# conf_preamble DIR LOGLEVEL [LINE...]: prints the start of a config keeping its runtime dir, pid file, mutex and error log in DIR,
# then the LINEs (LoadModule of the MPM), then authz_core, mime, TypesConfig.
conf_preamble() {
    local dir=$1 level=$2
    shift 2
    cat <<EOF
ServerRoot /etc/apache2
ServerName localhost
DefaultRuntimeDir $dir/run
PidFile $dir/httpd.pid
Mutex file:$dir/run default
ErrorLog $dir/error.log
LogLevel $level
EOF
    [ "$#" -eq 0 ] || printf '%s\n' "$@"
    cat <<EOF
LoadModule authz_core_module $MODDIR/mod_authz_core.so
LoadModule mime_module $MODDIR/mod_mime.so
TypesConfig /etc/mime.types
EOF
}

# listen_lines NET PORT N -> "Listen 127.0.NET.i:PORT" for i = 1..N
listen_lines() {
    local i
    for i in $(seq 1 "$3"); do
        echo "Listen 127.0.$1.$i:$2"
    done
}

# conf_www_access: everything denied but WORK/www.
conf_www_access() {
    cat <<EOF
<Directory />
    Require all denied
</Directory>
<Directory $WORK/www>
    Require all granted
</Directory>
EOF
}

# server_pids CONF: pids of every process whose command line names CONF.
server_pids() {
    local conf=$1 d cmd
    for d in /proc/[0-9]*; do
        cmd=$( { tr '\0' ' ' < "$d/cmdline"; } 2>/dev/null) || continue
        [[ $cmd == *"$conf"* ]] && echo "${d#/proc/}"
    done
    return 0
}

# wait_http URL HOST [CODE]: poll URL (Host: HOST) every 0.2 s, at most 150
# times (~30 s), until it answers CODE (default 200); 1 if it never does.
wait_http() {
    local url=$1 host=$2 want=${3:-200} code
    for _ in $(seq 1 150); do
        code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' -H "Host: $host" "$url" 2>/dev/null || true)
        [ "$code" = "$want" ] && return 0
        sleep 0.2
    done
    return 1
}

# start_server DIR LABEL URL HOST [CODE]: start apache2 on DIR/httpd.conf
# and wait_http until it answers; on failure complain with the end of
# DIR/error.log and return 1.
start_server() {
    local dir=$1 label=$2 url=$3 host=$4 port
    /usr/sbin/apache2 -f "$dir/httpd.conf" -k start
    STARTED+=("$dir") STARTED_LABELS+=("$label")
    wait_http "$url" "$host" "${5:-200}" && return 0
    port=${url#http://*:}
    echo "$SCRIPT: $label did not answer on port ${port%%/*}" >&2
    tail -n 20 "$dir/error.log" >&2 || true
    return 1
}

# stop_server DIR LABEL [SECONDS]: SIGTERM to the pid in DIR/httpd.pid, then
# wait (at most SECONDS, default 20) for every process of DIR/httpd.conf to
# go; SIGKILL what is left, complain and return 1.
stop_server() {
    local dir=$1 label=$2 conf="$1/httpd.conf" pid left
    pid=$(cat "$dir/httpd.pid" 2>/dev/null || true)
    if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; fi
    for _ in $(seq 1 $(( ${3:-20} * 10 ))); do
        left=$(server_pids "$conf")
        [ -z "$left" ] && return 0
        sleep 0.1
    done
    echo "$SCRIPT: $label left processes after SIGTERM: $left (SIGKILLed)" >&2
    # shellcheck disable=SC2086
    kill -KILL $left 2>/dev/null || true
    return 1
}

# cleanup_servers [RC]: the EXIT trap (`trap cleanup_servers EXIT`, or called
# with the exit status from a script's own trap): stop every server in
# STARTED (STOP_SECONDS, default 20, each), then remove WORK if all went well
# (RC 0 and every stop clean), else keep it and say so; exit with the status.
cleanup_servers() {
    local rc=${1:-$?} i
    for i in "${!STARTED[@]}"; do
        stop_server "${STARTED[$i]}" "${STARTED_LABELS[$i]}" "${STOP_SECONDS:-20}" || rc=1
    done
    if [ "$rc" -eq 0 ]; then
        rm -rf "$WORK"
    else
        echo "$SCRIPT: kept $WORK" >&2
    fi
    exit "$rc"
}

# write_bench_pair NADDR FIRST EXTRA-PREAMBLE EXTRA-SERVER-LINES
# The two configurations the build/bench*.sh scripts compare, on fresh
# ports it sets (EV_PORT, PH_PORT), NADDR loopback addresses each:
#   $WORK/event  stock mpm_event, 2 children x 25 threads
#   $WORK/ph     peruser_hybrid, 2 multiplexers; environment alice with
#                exactly 2 processors x 25 threads, bob with 1
# Both serve alice.test and bob.test from $WORK/www, FIRST's vhost (alice
# or bob) first: the address's default.  EXTRA-PREAMBLE: lines after the
# LoadModule lines (more modules); EXTRA-SERVER-LINES: server lines for
# both (e.g. "Protocols h2c http/1.1").  Optional: BENCH_LISTEN_SUFFIX
# after each Listen line (e.g. " https"), and a function named by
# BENCH_VHOST_LINES, called with a vhost's name, for more lines in it.
write_bench_pair() {
    local naddr=$1 first=$2 preamble=$3 extra=$4 second=alice
    [ "$first" = alice ] && second=bob

    # conf NAME NET PORT MPM-LOADMODULE-LINE MPM-SPECIFIC-LINES
    conf() {
        mkdir -p "$WORK/$1/run"
        {
            conf_preamble "$WORK/$1" warn "$4" "$preamble"
            listen_lines "$2" "$3" "$naddr" | sed "s/\$/${BENCH_LISTEN_SUFFIX:-}/"
            cat <<CONF
User www-data
Group www-data
ThreadsPerChild 25
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
$extra
CONF
            conf_www_access
            printf '%s\n' "$5"
        } > "$WORK/$1/httpd.conf"
    }
    # bench_vhost PORT NAME [ENV]
    bench_vhost() {
        printf '<VirtualHost *:%s>\n    ServerName %s.test\n' "$1" "$2"
        [ -z "${3:-}" ] || printf '    ServerEnvironment %s\n' "$2"
        [ -z "${BENCH_VHOST_LINES:-}" ] || "$BENCH_VHOST_LINES" "$2" | sed 's/^/    /'
        printf '    DocumentRoot %s\n</VirtualHost>\n' "$WORK/www"
    }

    EV_PORT=$(free_port)
    conf event 1 "$EV_PORT" "LoadModule mpm_event_module $MODDIR/mod_mpm_event.so" \
        "StartServers 2
ServerLimit 2
MaxRequestWorkers 50
MinSpareThreads 25
MaxSpareThreads 75
$(bench_vhost "$EV_PORT" "$first")
$(bench_vhost "$EV_PORT" "$second")"
    PH_PORT=$(free_port)
    while [ "$PH_PORT" = "$EV_PORT" ]; do PH_PORT=$(free_port); done
    conf ph 2 "$PH_PORT" "LoadModule mpm_peruser_hybrid_module $MODULE" \
        "MinMultiplexers 2
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
$(bench_vhost "$PH_PORT" "$first" env)
$(bench_vhost "$PH_PORT" "$second" env)"
}
