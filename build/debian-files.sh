#!/usr/bin/env bash
# Writes Debian's two files for the module, as `make install` installs them
# into /etc/apache2/mods-available/:
#
#   mpm_peruser_hybrid.load   the LoadModule line, with "# Conflicts:" naming
#                             Debian's other MPMs (a2enmod refuses to enable
#                             it beside one of them, as it does for theirs)
#   mpm_peruser_hybrid.conf   the default environment (below) and every
#                             directive of the module, commented out with
#                             its default (build/tools/directives_conf.c,
#                             from the directive table config_rows.h)
#
#   build/debian-files.sh OUTDIR MODULE_PATH DEFAULT_USER
#
# The default environment: Debian's stock configuration (000-default, or
# any vhost without ServerEnvironment) must be served, but never by the
# multiplexers' account (www-data), which parses every client's bytes and
# must not run site code.  So the main server gets an environment of its
# own, running as DEFAULT_USER (a system account without a shell that
# `make install` creates), and every vhost without a ServerEnvironment line
# inherits it.  See doc/decisions.md, "Debian integration".
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 OUTDIR MODULE_PATH DEFAULT_USER" >&2; exit 2; }
out=$1 module=$2 user=$3
case $user in
    ''|*[!A-Za-z0-9_.-]*) echo "$0: bad DEFAULT_USER '$user'" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
mkdir -p "$out" build/out
cc -std=gnu11 -Wall -Wextra -Werror -Iserver/mpm/peruser_hybrid \
   build/tools/directives_conf.c -o build/out/directives_conf

cat > "$out/mpm_peruser_hybrid.load" <<EOF
# Conflicts: mpm_event mpm_worker mpm_prefork
# peruser_hybrid: each <Processor> environment's sites served under its own
# Unix user (mpm_peruser_hybrid.conf beside this file).
LoadModule mpm_peruser_hybrid_module $module
EOF

{
    cat <<EOF
# peruser_hybrid MPM: settings (enabled with a2enmod mpm_peruser_hybrid,
# after a2dismod mpm_event; installed by \`make install\`).
#
# Connections are accepted and routed by multiplexer processes running as
# the server's User (\${APACHE_RUN_USER}, www-data, from envvars): they
# parse every client's bytes and never run a site's code.  Sites are served
# by environments, each declared with <Processor name> and running as its
# own User and Group (never the server's: refused at start-up).  A vhost
# says which one serves it with ServerEnvironment; a vhost without that line
# gets the main server's, set below.
#
# The default environment: the main server -- and so Debian's 000-default
# and every vhost without ServerEnvironment -- is served as the system
# account '$user' (no shell, no home), which \`make install\` created.
# Give each tenant a <Processor> of its own and ServerEnvironment lines in
# its vhosts (see the README); leave this one for the operator's own sites.
#
# Show which environment and user serves each vhost:
#     apache2ctl -S        (or: apache2ctl -t -D DUMP_ENVIRONMENTS)
#
# CGI: use mod_cgi, not mod_cgid (whose daemon would run every environment's
# scripts as www-data: refused beside <Processor>).  \`a2enmod cgi\` picks
# cgid for threaded MPMs such as this one; instead:
#     a2dismod cgid; ln -s ../mods-available/cgi.load \\
#         /etc/apache2/mods-enabled/cgi.load
#
# jemalloc (apt-get install libjemalloc2): the whole server runs on it when
# /etc/apache2/envvars has
#     export LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
# (optionally MALLOC_CONF=background_thread:true: the children turn the
# background threads on again after fork); pstat -j then shows each child's
# allocated and resident bytes.  glibc's malloc is the default: see
# doc/decisions.md, "jemalloc".
#
# Per-environment limits: CgroupRoot names cgroup directories the server
# makes a group per environment in; ProcessorMemoryMax, ProcessorPidsMax,
# ProcessorCpuWeight and ProcessorCpuMax (below) are written there.
<IfModule mpm_peruser_hybrid_module>

<Processor $user>
    User $user
    Group $user
</Processor>
ServerEnvironment $user

EOF
    build/out/directives_conf
    cat <<EOF

</IfModule>
EOF
} > "$out/mpm_peruser_hybrid.conf"
