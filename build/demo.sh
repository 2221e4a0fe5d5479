#!/usr/bin/env bash
# The one demo command: installs what it needs (Debian bookworm, apt), builds
# the module, creates the users alice and bob if missing, and starts
# /usr/sbin/apache2 with two environments on 127.0.0.1:8080:
#
#   alice.test  served by processes running as alice
#   bob.test    served by processes running as bob
#
#   bash build/demo.sh            (as root; from any directory)
#   PORT=9090 bash build/demo.sh  on another port (default 8080)
#   DEMO_DIR=/tmp/x bash build/demo.sh   in another directory (its own)
#   JEMALLOC=1 bash build/demo.sh  on jemalloc: apache2 started with
#                                 LD_PRELOAD=libjemalloc.so.2 (libjemalloc2;
#                                 the README's "Allocator" section)
#   bash build/demo.sh --remove   stops the demo server and removes what the
#                                 demo made: /tmp/peruser-hybrid-demo and the
#                                 users alice and bob if it created them
#
# Everything it writes is under /tmp/peruser-hybrid-demo, but for the users
# alice and bob (created when missing; the ones it created are listed in
# /tmp/peruser-hybrid-demo/created-users) and the Debian packages it
# installs (which --remove leaves).  Running it again stops the previous
# demo server first.
set -euo pipefail

SCRIPT=build/demo.sh
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$(readlink -f "$0")")/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=lib/httpd.sh
. "$(dirname "$(readlink -f "$0")")/lib/httpd.sh"
require_root "$SCRIPT" "apache2 must start as root to switch users"

REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$REPO"

DEMO=${DEMO_DIR:-/tmp/peruser-hybrid-demo}
CONF=$DEMO/httpd.conf
PORT=${PORT:-8080}
MODULE=$REPO/build/out/mod_mpm_peruser_hybrid.so
case $PORT in
    ''|*[!0-9]*) echo "$SCRIPT: PORT=$PORT is not a port number" >&2; exit 1 ;;
esac
if [ "$PORT" -lt 1 ] || [ "$PORT" -gt 65535 ]; then
    echo "$SCRIPT: PORT=$PORT is not a port number (1 to 65535)" >&2
    exit 1
fi

# stop_previous: a previous demo still running is stopped, and waited for
# (bounded).
stop_previous() {
    [ -f "$DEMO/httpd.pid" ] && [ -f "$CONF" ] || return 0
    old=$(cat "$DEMO/httpd.pid" 2>/dev/null || true)
    if [ -n "$old" ] && kill -0 "$old" 2>/dev/null; then
        echo "== stopping the previous demo server (pid $old)"
        /usr/sbin/apache2 -f "$CONF" -k stop || true
        for _ in $(seq 1 100); do
            kill -0 "$old" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$old" 2>/dev/null; then
            echo "$SCRIPT: previous demo server (pid $old) did not stop" >&2
            exit 1
        fi
    fi
}

if [ "${1:-}" = "--remove" ]; then
    stop_previous
    created=$(cat "$DEMO/created-users" 2>/dev/null || true)
    rm -rf "$DEMO"
    for u in $created; do
        case $u in alice|bob) ;; *) continue ;; esac
        if pgrep -u "$u" >/dev/null; then
            echo "$SCRIPT: processes still run as $u: user kept"
            continue
        fi
        userdel "$u" && echo "removed the user $u (the demo created it)"
        getent group "$u" >/dev/null && groupdel "$u"
    done
    echo "removed $DEMO (Debian packages the demo installed are left installed)"
    exit 0
elif [ $# -gt 0 ]; then
    echo "usage: [PORT=8080] $SCRIPT [--remove]" >&2
    exit 1
fi

install_deps apache2 apache2-dev apache2-utils build-essential curl libnghttp2-dev \
    libhwloc-dev

echo "== make"
make

# Users the demo creates now, and those an earlier run created (still
# listed when it runs again): --remove deletes exactly these.
created=$(cat "$DEMO/created-users" 2>/dev/null || true)
for u in alice bob; do
    id -u "$u" >/dev/null 2>&1 || created="$created $u"
done
ensure_env_users

stop_previous

if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    echo "$SCRIPT: something already listens on 127.0.0.1:$PORT; stop it first" >&2
    exit 1
fi

rm -rf "$DEMO"
mkdir -p "$DEMO/run"
echo "${created# }" > "$DEMO/created-users"
for u in alice bob; do
    mkdir -p "$DEMO/www/$u/cgi-bin"
    cat > "$DEMO/www/$u/index.html" <<EOF
<!DOCTYPE html>
<html><head><title>$u.test</title></head>
<body><h1>$u.test</h1><p>Served by the environment "$u". Try /cgi-bin/whoami.</p></body></html>
EOF
    cat > "$DEMO/www/$u/cgi-bin/whoami" <<'EOF'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
echo "user=$(id -un) uid=$(id -u) gid=$(id -g) pid=$$"
EOF
    chmod 755 "$DEMO/www/$u" "$DEMO/www/$u/cgi-bin" "$DEMO/www/$u/cgi-bin/whoami"
    chmod 644 "$DEMO/www/$u/index.html"
done
chmod 755 "$DEMO" "$DEMO/www"

{
    echo "# peruser_hybrid demo, written by build/demo.sh"
    conf_preamble "$DEMO" info "LoadModule mpm_peruser_hybrid_module $MODULE"
    cat <<EOF
LoadModule dir_module $MODDIR/mod_dir.so
LoadModule alias_module $MODDIR/mod_alias.so
LoadModule cgi_module $MODDIR/mod_cgi.so
LoadModule status_module $MODDIR/mod_status.so
DirectoryIndex index.html

Listen 127.0.0.1:$PORT
User www-data
Group www-data
ThreadsPerChild 25
MinMultiplexers 2

<Processor alice>
    User alice
    Group alice
    MinProcessors 1
</Processor>
<Processor bob>
    User bob
    Group bob
    MinProcessors 1
</Processor>

<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory $DEMO/www>
    Require all granted
</Directory>
<Location /server-status>
    SetHandler server-status
</Location>

<VirtualHost 127.0.0.1:$PORT>
    ServerName alice.test
    ServerEnvironment alice
    DocumentRoot $DEMO/www/alice
    ScriptAlias /cgi-bin/ $DEMO/www/alice/cgi-bin/
</VirtualHost>
<VirtualHost 127.0.0.1:$PORT>
    ServerName bob.test
    ServerEnvironment bob
    DocumentRoot $DEMO/www/bob
    ScriptAlias /cgi-bin/ $DEMO/www/bob/cgi-bin/
</VirtualHost>
EOF
} > "$CONF"

echo "== starting apache2 -f $CONF"
/usr/sbin/apache2 -f "$CONF" -t
if [ "${JEMALLOC:-0}" = 1 ]; then
    # the whole server (parent, factories, children) on jemalloc
    install_deps libjemalloc2
    LD_PRELOAD=$(dpkg -L libjemalloc2 | grep '/libjemalloc\.so\.2$') \
        /usr/sbin/apache2 -f "$CONF" -k start
else
    /usr/sbin/apache2 -f "$CONF" -k start
fi

# Wait (poll, bounded to ~30 s) until both environments answer.
for host in alice.test bob.test; do
    if ! wait_http "http://127.0.0.1:$PORT/cgi-bin/whoami" "$host"; then
        echo "$SCRIPT: $host did not answer; last lines of $DEMO/error.log:" >&2
        tail -n 20 "$DEMO/error.log" >&2 || true
        exit 1
    fi
done

cat <<EOF

peruser_hybrid demo is running (parent pid $(cat "$DEMO/httpd.pid")), config $CONF

Try:
  curl -H 'Host: alice.test' http://127.0.0.1:$PORT/cgi-bin/whoami
  curl -H 'Host: bob.test'   http://127.0.0.1:$PORT/cgi-bin/whoami
  curl -H 'Host: alice.test' http://127.0.0.1:$PORT/
  curl -H 'Host: alice.test' 'http://127.0.0.1:$PORT/server-status?auto'
  ps -o pid,ppid,user,group,args --ppid \$(cat $DEMO/httpd.pid)

Right now:
  alice.test -> $(curl -sS -m 5 -H 'Host: alice.test' "http://127.0.0.1:$PORT/cgi-bin/whoami")
  bob.test   -> $(curl -sS -m 5 -H 'Host: bob.test' "http://127.0.0.1:$PORT/cgi-bin/whoami")

Error log: $DEMO/error.log
Stop it with:
  /usr/sbin/apache2 -f $CONF -k stop
Stop it and remove what the demo made ($DEMO$(for u in $created; do printf ', the user %s' "$u"; done)):
  ${DEMO_DIR:+DEMO_DIR=$DEMO }bash $REPO/$SCRIPT --remove
EOF
