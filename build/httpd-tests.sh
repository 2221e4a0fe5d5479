#!/usr/bin/env bash
# httpd's own test suite (apache/httpd-tests, the Apache::Test framework)
# against this tree's module or stock mpm_event, compared with stock event's
# failures.  The suite's snapshot is the project's shared/httpd-tests/
# (read-only; ../shared beside the repository's root): this script unpacks
# it into a work directory, configures it the way shared/httpd-tests/run.sh
# does (gen-inherit.pl from there), runs t/TEST as nobody and compares.
#
#   bash build/httpd-tests.sh [options] MODE [-- t/a.t [t/b/ ...]]
#
# MODE  event   stock mpm_event (the reference)
#       ph      peruser_hybrid, no <Processor> (drop-in), mod_cgid like event
#       ph-env  peruser_hybrid, every vhost in one <Processor suite> whose
#               User/Group is the system account phsuite (created here), not
#               the server's User nobody, which issue 8 refuses (PH00060); mod_cgi
# Options:
#   --work DIR          work directory (default build/work/httpd-tests-MODE)
#   --module SO         the MPM (default build/out/mod_mpm_peruser_hybrid.so)
#   --exclude PREFIX    neither run nor compare files under PREFIX (repeatable;
#                       e.g. --exclude t/php/)
#   --no-run            compare the results already in the work directory
#   --refresh-baseline  (event only) rewrite tests/httpd-tests/event-baseline.txt
#                       from this run (then compare: only crash lines can fail)
#   --shared DIR        where httpd-tests/ is (default: ../shared beside the
#                       repository, else beside the main checkout of a worktree)
#
# Compared with tests/httpd-tests/event-baseline.txt (stock event's failing
# files and test numbers) and tests/httpd-tests/known-differences.txt (each
# entry names its doc/decisions.md section) by build/tools/httpd_tests_compare.py:
# exit 1, with a listing, on any test number stock event does not fail, any
# new non-zero exit or bad plan, any crash line in the error log (exit
# signal, AH00052, segfault, [emerg], sanitizer reports; a core
# file t/TEST found), or a run
# that did not finish.  Results stay in WORK/results/MODE.{out,error_log}.
# Several runs at once need their own --work and APACHE_TEST_PORT each
# (the first of ~35 consecutive ports; Apache::Test's default is 8529).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$(readlink -f "$0")")/lib/common.sh"
require_root build/httpd-tests.sh "apt-get, useradd, and t/TEST runs as nobody via runuser"

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
BASELINE=$ROOT/tests/httpd-tests/event-baseline.txt
KNOWN=$ROOT/tests/httpd-tests/known-differences.txt
COMPARE=$ROOT/build/tools/httpd_tests_compare.py
ENV_USER=phsuite

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

mode='' work='' shared='' run=1 refresh=0
so=$ROOT/build/out/mod_mpm_peruser_hybrid.so
excludes=() files=()
while [ $# -gt 0 ]; do
    case $1 in
        --work) work=$2; shift 2 ;;
        --module) so=$(readlink -f "$2"); shift 2 ;;
        --exclude) excludes+=("$2"); shift 2 ;;
        --no-run) run=0; shift ;;
        --refresh-baseline) refresh=1; shift ;;
        --shared) shared=$2; shift 2 ;;
        --) shift; files=("$@"); break ;;
        event|ph|ph-env) mode=$1; shift ;;
        *) usage ;;
    esac
done
[ -n "$mode" ] || usage
if [ "$refresh" = 1 ] && { [ "$mode" != event ] || [ "${#files[@]}" -gt 0 ] || [ "${#excludes[@]}" -gt 0 ]; }; then
    echo "build/httpd-tests.sh: --refresh-baseline needs a whole event run" >&2
    exit 2
fi
if [ -z "$shared" ]; then
    shared=$ROOT/../shared
    if [ ! -d "$shared/httpd-tests" ]; then  # a git worktree: beside the main checkout
        common=$(git -C "$ROOT" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
        [ -n "$common" ] && shared=$(dirname "$(dirname "$common")")/shared
    fi
fi
# checked before readlink -f, which fails (silently, under set -e) when a
# directory above the name is missing
[ -f "$shared/httpd-tests/httpd-tests.tar.gz" ] || { echo "build/httpd-tests.sh: no $shared/httpd-tests/httpd-tests.tar.gz (--shared DIR)" >&2; exit 2; }
SUITE=$(readlink -f "$shared/httpd-tests")
mkdir -p "$ROOT/build/work"
W=$(readlink -f "${work:-$ROOT/build/work/httpd-tests-$mode}")
T=$W/httpd-tests R=$W/results

as_nobody() { runuser -u nobody -- env HOME="$W/home" "$@"; }

setup() {
    install_deps apache2 apache2-dev python3 libwww-perl libhttp-daemon-perl \
        libio-socket-ssl-perl liblwp-protocol-https-perl libhttp-dav-perl libdatetime-perl
    mkdir -p "$W" "$R" "$W/home" "$W/conf"
    [ -d "$T" ] || tar -xzf "$SUITE/httpd-tests.tar.gz" -C "$W"
    if [ ! -e "$T/Apache-Test/lib/Apache/TestRun.pm" ]; then
        # Apache::Test itself: Debian's mod_perl package, unpacked, not installed
        mkdir -p "$W/debs"
        chmod 777 "$W/debs"   # apt-get download fetches as _apt
        (cd "$W/debs" && apt-get download libapache2-mod-perl2 >/dev/null && dpkg -x libapache2-mod-perl2_*.deb x)
        mkdir -p "$T/Apache-Test/lib/Apache"
        cp "$W"/debs/x/usr/lib/x86_64-linux-gnu/perl5/*/Apache/Test*.pm "$T/Apache-Test/lib/Apache/"
    fi
    # nobody must reach the tree: every directory above it must be searchable
    local d=$W
    while [ "$d" != / ]; do chmod o+x "$d"; d=$(dirname "$d"); done
    chown -R nobody:nogroup "$T" "$W/home" "$W/conf"
}

# ensure_suite_user: the environment's account for ph-env: its own group, and
# not in nogroup (the server's Group), or PH00060 refuses it.
ensure_suite_user() {
    getent group "$ENV_USER" >/dev/null || groupadd --system "$ENV_USER"
    id -u "$ENV_USER" >/dev/null 2>&1 ||
        useradd --system --no-create-home --shell /usr/sbin/nologin --gid "$ENV_USER" "$ENV_USER"
}

configure() {
    local envconf=$T/t/conf/zz-peruser-env.conf.in
    case $mode in
        event)  perl "$SUITE/gen-inherit.pl" event > "$W/conf/inherit.conf" ;;
        ph)     perl "$SUITE/gen-inherit.pl" peruser_hybrid "$so" cgid > "$W/conf/inherit.conf" ;;
        ph-env) perl "$SUITE/gen-inherit.pl" peruser_hybrid "$so" cgi > "$W/conf/inherit.conf" ;;
    esac
    rm -f "$envconf" "${envconf%.in}"
    if [ "$mode" = ph-env ]; then
        ensure_suite_user
        printf '<Processor suite>\n    User %s\n    Group %s\n</Processor>\nServerEnvironment suite\n' \
            "$ENV_USER" "$ENV_USER" > "$envconf"
    fi
    chown -R nobody:nogroup "$W/conf" "$T/t/conf"
    cd "$T"
    if [ -x t/TEST ]; then as_nobody t/TEST -clean >/dev/null 2>&1 || true; fi
    as_nobody perl Makefile.PL -apxs /usr/bin/apxs -httpd_conf "$W/conf/inherit.conf" \
        > "$R/$mode-makefile.out" 2>&1 || { echo "Makefile.PL failed:"; tail "$R/$mode-makefile.out"; exit 1; }
    as_nobody t/TEST -configure > "$R/$mode-configure.out" 2>&1 ||
        { echo "t/TEST -configure failed:"; tail "$R/$mode-configure.out"; exit 1; }
    rm -f t/logs/error_log t/logs/access_log t/core t/core.*
}

# The files to give t/TEST: those named, else every t/**/*.t outside the
# excluded prefixes (none: t/TEST's own default, the whole suite).
test_args() {
    local f p keep
    if [ "${#files[@]}" -gt 0 ]; then printf '%s\n' "-verbose" "${files[@]}"; return; fi
    [ "${#excludes[@]}" -gt 0 ] || return 0
    (cd "$T" && find t -name '*.t' | sort) | while read -r f; do
        keep=1
        for p in "${excludes[@]}"; do case $f in "$p"*) keep=0 ;; esac; done
        [ "$keep" = 0 ] || echo "$f"
    done
}

if [ "$run" = 1 ]; then
    [ "$mode" = event ] || [ -f "$so" ] || { echo "build/httpd-tests.sh: no $so (make first)" >&2; exit 1; }
    setup
    configure
    mapfile -t args < <(test_args)
    echo "== httpd-tests $mode: t/TEST ${args[*]:-(whole suite)} (port ${APACHE_TEST_PORT:-8529}; output in $R/$mode.out)"
    rc=0
    (cd "$T" && as_nobody timeout 3000 t/TEST "${args[@]}") > "$R/$mode.out" 2>&1 || rc=$?
    [ "$rc" != 124 ] || echo "t/TEST timed out (50 min)" | tee -a "$R/$mode.out"
    if [ -s "$T/t/logs/httpd.pid" ]; then (cd "$T" && as_nobody t/TEST -stop >/dev/null 2>&1) || true; fi
    cp "$T/t/logs/error_log" "$R/$mode.error_log" 2>/dev/null || : > "$R/$mode.error_log"
fi
[ -f "$R/$mode.out" ] || { echo "build/httpd-tests.sh: no $R/$mode.out to compare" >&2; exit 1; }

if [ "$refresh" = 1 ]; then
    /usr/bin/python3 "$COMPARE" baseline "$R/$mode.out" > "$BASELINE.new"
    mv "$BASELINE.new" "$BASELINE"
    echo "== wrote $BASELINE:"
    cat "$BASELINE"
fi
ex_args=()
for p in "${excludes[@]}"; do ex_args+=(--exclude "$p"); done
/usr/bin/python3 "$COMPARE" compare --mode "$mode" --output "$R/$mode.out" \
    --error-log "$R/$mode.error_log" --baseline "$BASELINE" \
    --known "$KNOWN" --decisions "$ROOT/doc/decisions.md" "${ex_args[@]}"
