#!/usr/bin/env bash
# `make install` / `make uninstall` (the Makefile passes its variables in the
# environment).  Installs, each under $DESTDIR:
#
#   $LIBEXECDIR/mod_mpm_peruser_hybrid.so        (apxs -q LIBEXECDIR)
#   $CONFDIR/mods-available/mpm_peruser_hybrid.load   (# Conflicts: ...)
#   $CONFDIR/mods-available/mpm_peruser_hybrid.conf   (default environment,
#                                                  every directive commented)
#   $BINDIR/pstat
#   $MANDIR/man1/pstat.1
#
# and, on a real install only (DESTDIR empty) unless PH_CREATE_USER=no, the
# system account $PH_DEFAULT_USER (and its group) that the .conf's default
# environment runs as: no shell, no home, its GECOS field saying it is ours.
# A packager (DESTDIR set) creates it in the package's postinst instead.
#
#   build/install.sh install|uninstall|account    (account: only the account)
#
# uninstall removes exactly those files.  It refuses while the module is
# enabled in $CONFDIR (a2dismod first), and keeps a .conf the operator
# changed (it says so).  It removes the account only if this script made it
# (the GECOS marker), on a real uninstall, and only while nothing runs as it.
# A .conf already there and different from the new one is kept; the new one
# is written beside it as mpm_peruser_hybrid.conf.dist (as dpkg would ask).
set -euo pipefail
cd "$(dirname "$0")/.."

: "${DESTDIR:=}" "${LIBEXECDIR:?}" "${CONFDIR:=/etc/apache2}"
: "${BINDIR:=/usr/bin}" "${MANDIR:=/usr/share/man}"
: "${PH_DEFAULT_USER:=phdefault}" "${PH_CREATE_USER:=yes}"
MARKER="peruser_hybrid default environment"
GEN=build/out/debian

mode=${1:-}
so=$DESTDIR$LIBEXECDIR/mod_mpm_peruser_hybrid.so
avail=$DESTDIR$CONFDIR/mods-available
load=$avail/mpm_peruser_hybrid.load
conf=$avail/mpm_peruser_hybrid.conf
pstat=$DESTDIR$BINDIR/pstat
man=$DESTDIR$MANDIR/man1/pstat.1

user_is_ours() {
    [ "$(getent passwd "$PH_DEFAULT_USER" | cut -d: -f5)" = "$MARKER" ]
}

create_account() {
    if ! getent group "$PH_DEFAULT_USER" >/dev/null; then
        groupadd --system "$PH_DEFAULT_USER"
    fi
    if ! getent passwd "$PH_DEFAULT_USER" >/dev/null; then
        useradd --system --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin --gid "$PH_DEFAULT_USER" \
            --comment "$MARKER" "$PH_DEFAULT_USER"
        echo "install: created the system account $PH_DEFAULT_USER" \
             "(the default environment's; see $conf)"
    fi
}

# install_replace MODE SRC DST: a new file renamed over DST, never DST
# rewritten in place (a running httpd maps the module) nor missing for a
# moment (install(1) unlinks, then creates: a factory or a graceful restart
# loading the module then would fail).
install_replace() {
    install -D -m "$1" "$2" "$3.new.$$"
    mv -f "$3.new.$$" "$3"
}

case $mode in
account)
    # Only the account (what a package's postinst does; the tests use it).
    create_account
    ;;
install)
    bash build/debian-files.sh "$GEN" "$LIBEXECDIR/mod_mpm_peruser_hybrid.so" \
        "$PH_DEFAULT_USER"
    install_replace 644 build/out/mod_mpm_peruser_hybrid.so "$so"
    install -D -m 644 "$GEN/mpm_peruser_hybrid.load" "$load"
    if [ -e "$conf" ] && ! cmp -s "$GEN/mpm_peruser_hybrid.conf" "$conf"; then
        install -D -m 644 "$GEN/mpm_peruser_hybrid.conf" "$conf.dist"
        echo "install: $conf differs from this version's: kept;" \
             "the new one is $conf.dist"
    else
        install -D -m 644 "$GEN/mpm_peruser_hybrid.conf" "$conf"
    fi
    install_replace 755 build/out/pstat "$pstat"
    install -D -m 644 tools/pstat/pstat.1 "$man"
    if [ -z "$DESTDIR" ] && [ "$PH_CREATE_USER" != no ]; then
        create_account
    fi
    cat <<EOF
install: done.  To switch Debian's apache2 to peruser_hybrid:
    a2dismod mpm_event && a2enmod mpm_peruser_hybrid && apache2ctl configtest && apache2ctl graceful
(a change of MPM needs a full restart: systemctl restart apache2)
EOF
    ;;
uninstall)
    if [ -e "$DESTDIR$CONFDIR/mods-enabled/mpm_peruser_hybrid.load" ]; then
        echo "uninstall: mpm_peruser_hybrid is enabled in $DESTDIR$CONFDIR:" \
             "first  a2dismod mpm_peruser_hybrid && a2enmod mpm_event" \
             "&& systemctl restart apache2" >&2
        exit 1
    fi
    bash build/debian-files.sh "$GEN" "$LIBEXECDIR/mod_mpm_peruser_hybrid.so" \
        "$PH_DEFAULT_USER"
    rm -f "$so" "$load" "$conf.dist" "$pstat" "$man"
    if [ -e "$conf" ]; then
        if cmp -s "$GEN/mpm_peruser_hybrid.conf" "$conf"; then
            rm -f "$conf"
        else
            echo "uninstall: $conf was changed: kept"
        fi
    fi
    if [ -z "$DESTDIR" ] && user_is_ours; then
        if pgrep -u "$PH_DEFAULT_USER" >/dev/null; then
            echo "uninstall: processes run as $PH_DEFAULT_USER: account kept"
        else
            userdel "$PH_DEFAULT_USER"
            if getent group "$PH_DEFAULT_USER" >/dev/null; then
                groupdel "$PH_DEFAULT_USER" || true
            fi
            echo "uninstall: removed the system account $PH_DEFAULT_USER"
        fi
    fi
    ;;
*)
    echo "usage: $0 install|uninstall|account" >&2
    exit 2
    ;;
esac
