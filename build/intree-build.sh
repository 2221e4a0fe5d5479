#!/usr/bin/env bash
#
# intree-build.sh -- build httpd 2.4 from source with peruser_hybrid as the
# MPM (the "in-tree" build) and prove the result serves a request.
#
# Usage:
#   build/intree-build.sh [options] [HTTPD_SRC]
#
#   HTTPD_SRC   an httpd 2.4 source tree (upstream, or Debian's unpacked
#               source package: patches recorded in its .pc/ are reversed
#               in the copy).  Default: the apache2 source package is
#               fetched with `apt-get source --download-only` into
#               build/work/ and its upstream (orig) tarball is unpacked --
#               Debian's patches are not applied.
#
# Options:
#   --mpm-build=static   link the MPM into the httpd binary (default;
#                        ./configure --with-mpm=peruser_hybrid)
#   --mpm-build=shared   build it as modules/mod_mpm_peruser_hybrid.so
#                        (adds --enable-mpms-shared=peruser_hybrid)
#   --stop-after=PHASE   stop successfully after PHASE: one of
#                        source, copy, buildconf, configure, build, install
#   -h, --help
#
# Phases (each timed): prerequisites, source, copy, buildconf, configure,
# build (make -j2), install, run (start httpd as root on a free 127.0.0.1
# port with one <Processor> environment and a vhost using it, curl it, check
# `httpd -V`, stop it by pid and check no process of this httpd remains).
#
# Everything lives under build/work/ (git-ignored):
#   build/work/httpd-src       unpacked apt source (reused if present)
#   build/work/httpd-intree    fresh copy of the tree that is built
#   build/work/httpd-install   --prefix of the build
#   build/work/intree-run      config, docroot, logs of the smoke test
#   build/work/intree-logs     full output of each phase
#
# Safe to re-run: the tree and install prefix are recreated every time and
# a still-running httpd from an earlier run of this script is stopped first.
# Exits non-zero with a message naming the failed phase.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$ROOT/build/work
SRC_CACHE=$WORK/httpd-src
INTREE=$WORK/httpd-intree
PREFIX=$WORK/httpd-install
RUNDIR=$WORK/intree-run
LOGDIR=$WORK/intree-logs
MPM=peruser_hybrid
MPM_SRC=$ROOT/server/mpm/$MPM
SHM_SRC=$ROOT/shm
TEST_USER=phintree
APR_CONFIG=/usr/bin/apr-1-config
APU_CONFIG=/usr/bin/apu-1-config
JOBS=${JOBS:-2}
# warning flags of the root Makefile's out-of-tree build
PH_WARN="-Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Wpointer-arith"

mpm_build=static
stop_after=
httpd_src=

usage() { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"; }

for arg in "$@"; do
    case $arg in
        --mpm-build=static|--mpm-build=shared) mpm_build=${arg#*=} ;;
        --stop-after=*)
            stop_after=${arg#*=}
            case $stop_after in
                source|copy|buildconf|configure|build|install) ;;
                *) echo "intree-build: unknown phase '$stop_after' for --stop-after" >&2; exit 2 ;;
            esac ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "intree-build: unknown option '$arg' (try --help)" >&2; exit 2 ;;
        *)
            if [[ -n $httpd_src ]]; then
                echo "intree-build: only one source tree argument allowed" >&2; exit 2
            fi
            httpd_src=$arg ;;
    esac
done

# ---------------------------------------------------------------- helpers

current_phase=startup
phase_start=0
script_start=$(date +%s.%N)
declare -a timings=()
httpd_started=0

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

phase() {
    current_phase=$1
    phase_start=$(now)
    echo
    echo "==== [$current_phase] $2"
}

phase_done() {
    local t
    t=$(elapsed "$phase_start" "$(now)")
    timings+=("$(printf '%-14s %7ss' "$current_phase" "$t")")
    echo "==== [$current_phase] done in ${t}s"
    if [[ $stop_after == "$current_phase" ]]; then
        print_timings
        echo "intree-build: stopped after phase '$current_phase' as requested."
        exit 0
    fi
}

print_timings() {
    echo
    echo "---- timings"
    local l
    for l in "${timings[@]}"; do echo "  $l"; done
    echo "  $(printf '%-14s %7ss' total "$(elapsed "$script_start" "$(now)")")"
}

die() {
    echo >&2
    echo "intree-build: FAILED in phase '$current_phase': $*" >&2
    exit 1
}

# Run a command with its output in $LOGDIR/<phase>.log; on failure show the
# end of the log and fail the phase.
logged() {
    local log=$LOGDIR/$current_phase.log
    echo "  \$ $*   (output: ${log#"$ROOT"/})"
    if ! "$@" >>"$log" 2>&1; then
        echo "---- last 40 lines of $log" >&2
        tail -n 40 "$log" >&2
        die "command failed: $*"
    fi
}

on_err() {
    local rc=$? line=$1
    echo "intree-build: FAILED in phase '$current_phase' (exit $rc at line $line of $0)" >&2
    exit "$rc"
}
trap 'on_err $LINENO' ERR

# Pids of processes whose executable is exactly our installed httpd.
our_httpd_pids() {
    local exe=$PREFIX/bin/httpd p target
    for p in /proc/[0-9]*; do
        target=$(readlink "$p/exe" 2>/dev/null) || continue
        # a deleted binary shows as "<path> (deleted)" after reinstall
        if [[ $target == "$exe" || $target == "$exe (deleted)" ]]; then
            echo "${p#/proc/}"
        fi
    done
}

# True if pid exists and is not a zombie (a daemonised parent is reaped by
# init, which may take a moment; a zombie has already exited).
pid_alive() {
    local st
    st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $st && $st != Z && $st != X ]]
}

# Stop the httpd started by this script (or left by an earlier run): TERM
# to the parent pid from the pid file, wait, then verify nothing remains.
stop_httpd() {
    local pidfile=$RUNDIR/run/httpd.pid pid= i left
    if [[ -s $pidfile ]]; then
        pid=$(cat "$pidfile")
        if pid_alive "$pid"; then
            echo "  stopping httpd parent pid $pid (SIGTERM)"
            kill -TERM "$pid" || true
        fi
    fi
    for ((i = 0; i < 150; i++)); do
        left=$(our_httpd_pids)
        if [[ -z $left ]] && { [[ -z $pid ]] || ! pid_alive "$pid"; }; then
            return 0
        fi
        sleep 0.1
    done
    left=$(our_httpd_pids)
    if [[ -n $pid ]] && pid_alive "$pid"; then
        left="$left $pid"
    fi
    if [[ -n $left ]]; then
        echo "  processes of $PREFIX/bin/httpd still alive 15s after SIGTERM:" >&2
        local p
        for p in $left; do ps -o pid=,ppid=,user=,args= -p "$p" >&2 || true; done
        # clean up what we started, by pid, before failing
        for p in $left; do kill -KILL "$p" 2>/dev/null || true; done
        return 1
    fi
}

cleanup_on_exit() {
    local rc=$?
    if [[ $httpd_started == 1 && $rc != 0 ]]; then
        echo "intree-build: stopping the test httpd after failure" >&2
        stop_httpd || true
    fi
}
trap cleanup_on_exit EXIT

# ------------------------------------------------------------ prerequisites

phase prerequisites "build tools and libraries"
[[ $(id -u) == 0 ]] || die "must run as root (installs packages, runs httpd as root, switches to user $TEST_USER)"
[[ -f $MPM_SRC/config.m4 && -f $MPM_SRC/config3.m4 && -f $MPM_SRC/Makefile.in ]] \
    || die "$MPM_SRC lacks config.m4/config3.m4/Makefile.in"
mkdir -p "$WORK" "$LOGDIR"
rm -f "$LOGDIR"/*.log

need_pkgs=()
for pkg in autoconf automake libtool libtool-bin make gcc libc6-dev \
           libapr1-dev libaprutil1-dev libpcre2-dev libexpat1-dev curl procps \
           libhwloc-dev libjemalloc-dev; do
    st=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [[ $st != *"install ok installed"* ]]; then
        need_pkgs+=("$pkg")
    fi
done
if ((${#need_pkgs[@]})); then
    echo "  installing: ${need_pkgs[*]}"
    logged apt-get update
    logged env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need_pkgs[@]}"
else
    echo "  all build packages present"
fi
[[ -x $APR_CONFIG && -x $APU_CONFIG ]] || die "$APR_CONFIG / $APU_CONFIG missing"
echo "  apr $($APR_CONFIG --version), apr-util $($APU_CONFIG --version)"
phase_done

# ------------------------------------------------------------------- source

# Fetch Debian's apache2 source package (download only) and unpack the
# upstream orig tarball into $SRC_CACHE.  Only some of the versions apt
# knows about can actually be downloaded, so try each, newest first.
fetch_apt_source() {
    local dl=$WORK/apt-source versions v orig
    if [[ -f $SRC_CACHE/.intree-complete ]]; then
        echo "  reusing $SRC_CACHE ($(cat "$SRC_CACHE/.intree-complete"))"
        return 0
    fi
    # (no `cmd | grep -q` with pipefail: grep exiting early makes cmd fail)
    local showsrc
    showsrc=$(apt-cache showsrc apache2 2>/dev/null || true)
    if ! grep -q '^Version:' <<<"$showsrc"; then
        echo "  no source records for apache2: enabling deb-src"
        local f changed=0
        for f in /etc/apt/sources.list.d/*.sources; do
            [[ -f $f ]] || continue
            if grep -qE '^Types:[[:space:]]*deb[[:space:]]*$' "$f"; then
                sed -i -E 's/^Types:[[:space:]]*deb[[:space:]]*$/Types: deb deb-src/' "$f"
                echo "  added deb-src to $f"
                changed=1
            fi
        done
        if ((changed == 0)) && [[ -f /etc/apt/sources.list ]]; then
            { grep -E '^deb[[:space:]]' /etc/apt/sources.list || true; } | sed 's/^deb/deb-src/' \
                >/etc/apt/sources.list.d/intree-deb-src.list
            [[ -s /etc/apt/sources.list.d/intree-deb-src.list ]] && changed=1 \
                && echo "  wrote /etc/apt/sources.list.d/intree-deb-src.list"
        fi
        ((changed)) || die "could not find an apt source entry to add deb-src to"
        logged apt-get update
    fi
    versions=$(apt-cache showsrc apache2 | sed -n 's/^Version: *//p' | sort -u -r -V)
    [[ -n $versions ]] || die "apt-cache showsrc apache2 lists no versions even with deb-src"
    rm -rf "$dl"
    mkdir -p "$dl"
    chmod 755 "$dl"
    local got=
    for v in $versions; do
        echo "  trying apt-get source apache2=$v"
        rm -f "$dl"/*
        if (cd "$dl" && apt-get source --download-only "apache2=$v") \
               >>"$LOGDIR/source.log" 2>&1; then
            got=$v
            break
        fi
        echo "    (not downloadable)"
    done
    [[ -n $got ]] || die "none of the apache2 source versions could be downloaded: $(echo $versions)"
    orig=
    for f in "$dl"/apache2_*.orig.tar.*; do
        [[ -f $f && $f != *.asc ]] && { orig=$f; break; }
    done
    [[ -n $orig ]] || die "downloaded apache2 $got but found no orig tarball in $dl"
    rm -rf "$SRC_CACHE"
    mkdir -p "$SRC_CACHE"
    logged tar -xf "$orig" -C "$SRC_CACHE" --strip-components=1
    echo "apache2 $got, $(basename "$orig")" >"$SRC_CACHE/.intree-complete"
    echo "  unpacked upstream tree of apache2 $got (Debian patches not applied)"
}

phase source "httpd 2.4 source tree"
if [[ -n $httpd_src ]]; then
    [[ -d $httpd_src ]] || die "source tree '$httpd_src' is not a directory"
    httpd_src=$(cd "$httpd_src" && pwd)
else
    fetch_apt_source
    httpd_src=$SRC_CACHE
fi
rel=$httpd_src/include/ap_release.h
[[ -f $rel && -f $httpd_src/configure.in && -x $httpd_src/buildconf \
   && -f $httpd_src/server/mpm/config2.m4 ]] \
    || die "'$httpd_src' does not look like an httpd source tree (need include/ap_release.h, configure.in, buildconf, server/mpm/config2.m4)"
major=$(sed -n 's/^#define AP_SERVER_MAJORVERSION_NUMBER *\([0-9]*\).*/\1/p' "$rel")
minor=$(sed -n 's/^#define AP_SERVER_MINORVERSION_NUMBER *\([0-9]*\).*/\1/p' "$rel")
patch=$(sed -n 's/^#define AP_SERVER_PATCHLEVEL_NUMBER *\([0-9]*\).*/\1/p' "$rel")
[[ $major == 2 && $minor == 4 ]] || die "'$httpd_src' is httpd $major.$minor.$patch, need 2.4.x"
echo "  using $httpd_src (httpd $major.$minor.$patch)"
phase_done

# --------------------------------------------------------------------- copy

phase copy "fresh tree in ${INTREE#"$ROOT"/} + MPM sources"
[[ $httpd_src != "$INTREE" ]] || die "source tree must not be $INTREE itself"
rm -rf "$INTREE"
mkdir -p "$INTREE"
logged cp -a "$httpd_src/." "$INTREE/"
rm -f "$INTREE/.intree-complete"
# An unpacked Debian source package (dpkg-source -x) has debian/patches
# applied (quilt state in .pc/); some of them need Debian's build
# (e.g. reproducible_builds.diff wants -DBUILD_DATETIME from debian/rules).
# Reverse them in the copy so that the plain upstream tree is built.
if [[ -s $INTREE/.pc/applied-patches && -d $INTREE/debian/patches ]]; then
    mapfile -t applied < <(tac "$INTREE/.pc/applied-patches")
    for pname in "${applied[@]}"; do
        [[ -n $pname ]] || continue
        pf=$INTREE/debian/patches/$pname
        [[ -f $pf ]] || die "Debian patch $pname listed in .pc/applied-patches but missing from debian/patches"
        (cd "$INTREE" && patch -R -p1 -s -f --no-backup-if-mismatch <"$pf") >>"$LOGDIR/copy.log" 2>&1 \
            || die "could not reverse Debian patch $pname in the copy (see $LOGDIR/copy.log); pass a plain upstream tree instead"
    done
    rm -rf "$INTREE/.pc"
    echo "  reversed ${#applied[@]} applied Debian patches (building the upstream tree)"
fi
dest=$INTREE/server/mpm/$MPM
rm -rf "$dest"
mkdir -p "$dest"
shopt -s nullglob
n_mpm=0
for f in "$MPM_SRC"/*.c "$MPM_SRC"/*.h "$MPM_SRC"/config*.m4 "$MPM_SRC"/Makefile.in; do
    cp "$f" "$dest/"
    n_mpm=$((n_mpm + 1))
done
# shm library: sources flat into the MPM dir (renamed shm_<name>.c on a name
# clash) so that config3.m4's *.c glob covers them; headers keep their
# names because sources #include them by name.
n_shm=0
for f in "$SHM_SRC"/*.c; do
    b=$(basename "$f")
    if [[ -e $dest/$b ]]; then
        [[ $b == shm_* ]] && die "shm/$b clashes with server/mpm/$MPM/$b"
        b=shm_$b
        [[ -e $dest/$b ]] && die "shm/$(basename "$f") clashes with server/mpm/$MPM/$(basename "$f") and $b"
        echo "  shm/$(basename "$f") -> $b (name clash)"
    fi
    cp "$f" "$dest/$b"
    n_shm=$((n_shm + 1))
done
for f in "$SHM_SRC"/*.h; do
    b=$(basename "$f")
    if [[ -e $dest/$b ]] && ! cmp -s "$f" "$dest/$b"; then
        die "header shm/$b clashes with server/mpm/$MPM/$b (headers cannot be renamed; rename one of them)"
    fi
    cp "$f" "$dest/$b"
    n_shm=$((n_shm + 1))
done
shopt -u nullglob
ls "$dest"/*.c >/dev/null 2>&1 || die "no .c files in $MPM_SRC or $SHM_SRC"
echo "  copied $n_mpm files from server/mpm/$MPM and $n_shm from shm/"
phase_done

# ---------------------------------------------------------------- buildconf

phase buildconf "./buildconf (APR-config mode)"
cd "$INTREE"
logged ./buildconf --with-apr="$APR_CONFIG" --with-apr-util="$APU_CONFIG"
# config*.m4 are inlined by build/config-stubs; look for their contents
grep -q "if $MPM MPM supports this platform" configure \
    || die "buildconf did not pick up server/mpm/$MPM/config.m4"
grep -q "ph_mpm_objects" configure \
    || die "buildconf did not pick up server/mpm/$MPM/config3.m4"
phase_done

# ---------------------------------------------------------------- configure

phase configure "./configure --with-mpm=$MPM ($mpm_build)"
conf_args=(--prefix="$PREFIX"
           --with-apr="$APR_CONFIG" --with-apr-util="$APU_CONFIG"
           --with-mpm="$MPM"
           --enable-modules=none
           --enable-mods-static="authz_core mime dir log_config unixd")
if [[ $mpm_build == shared ]]; then
    conf_args+=(--enable-mpms-shared="$MPM")
fi
logged ./configure "${conf_args[@]}"
log=$LOGDIR/configure.log
grep -q "if $MPM MPM supports this platform... yes" "$log" \
    || die "configure says $MPM is not supported here: $(grep "if $MPM MPM supports" "$log" || echo 'check not run')"
grep -q "which MPM to use by default... $MPM" "$log" \
    || die "configure did not select $MPM as the MPM"
{ grep "MPM objects:" "$log" || true; } | sed 's/^configure: /  /'
[[ -f server/mpm/$MPM/modules.mk && -f server/mpm/$MPM/Makefile ]] \
    || die "configure did not generate server/mpm/$MPM/Makefile and modules.mk"
echo "  configure selected $MPM ($mpm_build)"
phase_done

# -------------------------------------------------------------------- build

phase build "make -j$JOBS"
# Print the first compiler/linker errors of a log.
show_errors() {
    local errs
    errs=$(grep -E ' error: |In file included from|undefined reference|multiple definition' "$1" || true)
    echo "---- first errors (full log: $1):" >&2
    if [[ -n $errs ]]; then head -n 30 <<<"$errs" >&2; else tail -n 40 "$1" >&2; fi
}
# First the MPM directory alone, with the warning set the root Makefile
# uses out of tree (minus -Werror: in-tree warnings are reported, not
# fatal), so that a failure there is attributed precisely; the top-level
# make then finds those objects up to date.
log=$LOGDIR/build-mpm.log
echo "  \$ make -C server/mpm/$MPM EXTRA_CFLAGS=\"$PH_WARN\"   (output: ${log#"$ROOT"/})"
if ! make -C "server/mpm/$MPM" EXTRA_CFLAGS="$PH_WARN" >"$log" 2>&1; then
    show_errors "$log"
    die "compiling the $MPM MPM sources in-tree failed (server/mpm/$MPM; does 'make' at $ROOT succeed out of tree?)"
fi
mpm_warnings=$(grep -E '^[^ ]*\.[ch]:[0-9]+:[0-9]+: warning:' "$log" || true)
if [[ -n $mpm_warnings ]]; then
    echo "  WARNING: $(wc -l <<<"$mpm_warnings") compiler warning(s) in server/mpm/$MPM in-tree:"
    sed 's/^/    /' <<<"$mpm_warnings"
else
    echo "  no compiler warnings in server/mpm/$MPM"
fi
log=$LOGDIR/build.log
echo "  \$ make -j$JOBS   (output: ${log#"$ROOT"/})"
if ! make -j"$JOBS" >"$log" 2>&1; then
    show_errors "$log"
    linkerrs=$(grep -B1 -E 'undefined reference|multiple definition' "$log" || true)
    if [[ $linkerrs == *"$MPM"* ]]; then
        die "linking httpd with the $MPM MPM failed (symbols above)"
    fi
    die "make failed outside the MPM directory (see $log)"
fi
[[ -x $INTREE/httpd || -x $INTREE/.libs/httpd ]] || die "make succeeded but no httpd binary"
phase_done

# ------------------------------------------------------------------ install

phase install "make install into ${PREFIX#"$ROOT"/}"
# an httpd left running by an earlier run would keep the old binary busy
if [[ -n $(our_httpd_pids) ]]; then
    echo "  an httpd from an earlier run is still running; stopping it"
    stop_httpd || die "could not stop the httpd left by an earlier run"
fi
rm -rf "$PREFIX"
logged make install
[[ -x $PREFIX/bin/httpd ]] || die "make install produced no $PREFIX/bin/httpd"
if [[ $mpm_build == shared ]]; then
    [[ -f $PREFIX/modules/mod_mpm_$MPM.so ]] || die "no $PREFIX/modules/mod_mpm_$MPM.so installed"
fi
phase_done

# ---------------------------------------------------------------------- run

phase run "start httpd, request, httpd -V, stop"
if ! id -u "$TEST_USER" >/dev/null 2>&1; then
    logged useradd --system --user-group --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin "$TEST_USER"
    echo "  created system user $TEST_USER"
fi

free_port() {
    python3 - <<'EOF' 2>/dev/null && return 0
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
    local p
    for ((p = 18080; p < 18580; p++)); do
        if [[ -z $(ss -Hltn "sport = :$p") ]]; then echo "$p"; return 0; fi
    done
    return 1
}
port=$(free_port) || die "no free TCP port on 127.0.0.1"

rm -rf "$RUNDIR"
mkdir -p "$RUNDIR/htdocs" "$RUNDIR/logs" "$RUNDIR/run"
chmod 755 "$RUNDIR" "$RUNDIR/htdocs"
# the processor runs as $TEST_USER and must reach the docroot
d=$RUNDIR
while [[ $d != / ]]; do
    if ! setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --clear-groups test -x "$d" 2>/dev/null; then
        die "user $TEST_USER cannot traverse $d (docroot would be unreadable)"
    fi
    d=$(dirname "$d")
done
token="peruser_hybrid in-tree OK $(date +%s)-$$"
echo "$token" >"$RUNDIR/htdocs/index.html"
chmod 644 "$RUNDIR/htdocs/index.html"

conf=$RUNDIR/httpd.conf
{
    echo "# generated by build/intree-build.sh"
    echo "ServerRoot \"$PREFIX\""
    if [[ $mpm_build == shared ]]; then
        echo "LoadModule mpm_${MPM}_module modules/mod_mpm_$MPM.so"
    fi
    cat <<EOF
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile "$RUNDIR/run/httpd.pid"
DefaultRuntimeDir "$RUNDIR/run"
ErrorLog "$RUNDIR/logs/error_log"
LogLevel info
LogFormat "%h %l %u %t \"%r\" %>s %b" common
CustomLog "$RUNDIR/logs/access_log" common
User nobody
Group nogroup
DirectoryIndex index.html
TypesConfig /dev/null
AddType text/html .html

<Directory />
    Require all denied
</Directory>

<Processor $TEST_USER>
    User $TEST_USER
    Group $TEST_USER
</Processor>

<VirtualHost 127.0.0.1:$port>
    ServerName intree.test
    DocumentRoot "$RUNDIR/htdocs"
    ServerEnvironment $TEST_USER
    <Directory "$RUNDIR/htdocs">
        Require all granted
    </Directory>
</VirtualHost>
EOF
} >"$conf"
HTTPD=$PREFIX/bin/httpd

echo "  \$ httpd -V -f ${conf#"$ROOT"/}"
v_out=$("$HTTPD" -V -f "$conf" 2>&1) || { echo "$v_out" >&2; die "httpd -V failed"; }
echo "$v_out" >"$LOGDIR/httpd-V.log"
{ grep -E '^Server (version|MPM|built)|threaded|forked' <<<"$v_out" || true; } | sed 's/^/    /'
grep -qE "^Server MPM: +$MPM\$" <<<"$v_out" \
    || die "httpd -V does not say 'Server MPM: $MPM' (got: $(echo "$v_out" | grep 'Server MPM' || echo none))"

echo "  \$ httpd -t -f ${conf#"$ROOT"/}"
t_out=$("$HTTPD" -t -f "$conf" 2>&1) || { echo "$t_out" >&2; die "httpd -t rejects the test config ($conf)"; }

if [[ -n $(our_httpd_pids) ]]; then
    stop_httpd || die "could not stop an earlier httpd"
fi
echo "  \$ httpd -f ${conf#"$ROOT"/} -k start   (port $port)"
httpd_started=1
"$HTTPD" -f "$conf" -k start >"$LOGDIR/run.log" 2>&1 \
    || { cat "$LOGDIR/run.log" >&2; tail -n 20 "$RUNDIR/logs/error_log" >&2 2>/dev/null; die "httpd -k start failed"; }
for ((i = 0; i < 100; i++)); do
    [[ -s $RUNDIR/run/httpd.pid ]] && break
    sleep 0.1
done
[[ -s $RUNDIR/run/httpd.pid ]] || { tail -n 20 "$RUNDIR/logs/error_log" >&2 || true; die "httpd wrote no pid file within 10s"; }
parent=$(cat "$RUNDIR/run/httpd.pid")
echo "  httpd parent pid $parent"

url=http://127.0.0.1:$port/
body=$RUNDIR/response.body
code=000
for ((i = 0; i < 50; i++)); do
    code=$(curl -s -o "$body" -w '%{http_code}' --max-time 5 \
                -H 'Host: intree.test' "$url") || code=000
    [[ $code == 000 ]] || break
    pid_alive "$parent" || break
    sleep 0.2
done
if [[ $code != 200 ]]; then
    echo "---- error_log:" >&2
    tail -n 30 "$RUNDIR/logs/error_log" >&2 || true
    die "GET $url (Host: intree.test) returned HTTP $code, expected 200"
fi
got_body=$(cat "$body")
[[ $got_body == "$token" ]] || die "GET $url returned 200 but body '$got_body', expected '$token'"
echo "  GET $url (Host: intree.test) -> 200, body matches"

echo "  httpd processes (pid ppid user args):"
for p in $(our_httpd_pids); do ps -o pid=,ppid=,user=,args= -p "$p" | sed 's/^/    /' || true; done
users=$(ps -o user= -p "$(our_httpd_pids | paste -sd, -)" 2>/dev/null || true)
if grep -qx "$TEST_USER" <<<"$users"; then
    echo "  a process runs as $TEST_USER (the <Processor> environment)"
else
    echo "  NOTE: no httpd process runs as $TEST_USER at this moment"
fi

stop_httpd || die "httpd processes remained after SIGTERM to pid $parent (killed them)"
httpd_started=0
if pid_alive "$parent"; then die "parent pid $parent still alive"; fi
echo "  stopped: no process of $HTTPD remains"
# built in, the MPM links libjemalloc when it is installed (config3.m4): the
# server then runs on it, and says so (PH00618; PH00617: glibc's malloc)
if ldd "$HTTPD" | grep -q libjemalloc; then
    grep -q 'PH00618' "$RUNDIR/logs/error_log" \
        || die "httpd links libjemalloc but the server does not run on it (no PH00618 in error_log)"
    echo "  httpd links libjemalloc: the server ran on jemalloc (PH00618)"
else
    echo "  httpd does not link libjemalloc ($mpm_build MPM): glibc's malloc"
fi
if grep -qE '\[(emerg|alert|crit)\]|AH00[0-9]*: .*(segfault|exit signal)' "$RUNDIR/logs/error_log"; then
    echo "---- serious entries in error_log:" >&2
    grep -E '\[(emerg|alert|crit)\]|segfault|exit signal' "$RUNDIR/logs/error_log" >&2 || true
    die "error_log has emerg/alert/crit entries or crashed children"
fi
phase_done

print_timings
echo
echo "intree-build: OK -- httpd $major.$minor.$patch built in-tree with --with-mpm=$MPM ($mpm_build), served 200 on 127.0.0.1:$port, stopped cleanly"
