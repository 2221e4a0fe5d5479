#!/usr/bin/env bash
# Cold start and start time (issue 13), narrower and faster than
# build/scale.sh: for each N in COLD_NS (default "100 1000"), peruser_hybrid
# (`MinProcessors 0`, defaults otherwise) and stock event serve the N
# tenants tI.test (build/lib/tenants.sh) in turn, and for each:
#   - start until the first answer (t1.test, any status), in ms;
#   - cold first answers: COLD_SEQ tenants never asked before, one after
#     another, then COLD_PAR more, 20 at a time (p50 / p99 / worst and the
#     status codes);
#   - peruser_hybrid only: the breakdown of its cold starts from its debug
#     log: a factory's start (exec, or a blank factory's ASSIGN, to READY,
#     PH00522), the fork of the processor (PH00192), how many factories
#     were exec'd (PH00191) and how many were blanks (PH00666,
#     FactoryReserve), when the module logs them; and the CPU time each
#     factory used (/proc/PID/schedstat), which the machine's other load
#     does not inflate.
# Prints one table, peruser_hybrid beside event.
#
#   bash build/cold.sh            (as root)
#   COLD_NS="100 1000" COLD_SEQ=100 COLD_PAR=100 COLD_MPMS="ph event"
#   COLD_PH_LINES="ProcessorImage fork"  (server lines for peruser_hybrid)
#   COLD_MPMS="base ph event" COLD_BASE_MODULE=/path/to/other/build.so
#                                 (before and after in one run)
#   COLD_TMPFS_RUN=1              (default: each server's runtime directory
#                                 in /dev/shm, as Debian's /run/apache2 is
#                                 tmpfs; 0: under /tmp)
#
# Bounded: every curl has a 30 s limit, start-up is polled for at most
# 30 s, every server is stopped by its pid before the next starts.
set -euo pipefail

SCRIPT=build/cold.sh
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$(readlink -f "$0")")/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=lib/httpd.sh
. "$(dirname "$(readlink -f "$0")")/lib/httpd.sh"
# shellcheck source-path=SCRIPTDIR source=lib/tenants.sh
. "$(dirname "$(readlink -f "$0")")/lib/tenants.sh"
require_root "$SCRIPT" "apache2 must start as root to switch users"
REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$REPO"

NS=${COLD_NS:-100 1000}
SEQ=${COLD_SEQ:-100}
PAR=${COLD_PAR:-100}
MPMS=${COLD_MPMS:-ph event}
MODULE=${COLD_MODULE:-$REPO/build/out/mod_mpm_peruser_hybrid.so}
OUR_MODULE=$MODULE
BASE_MODULE=${COLD_BASE_MODULE:-}   # "base" in COLD_MPMS: peruser_hybrid
                                    # built from another tree (before/after)
require_tools "$SCRIPT" "" curl xargs /usr/sbin/apache2
[ -f "$MODULE" ] || make
ulimit -n 65536 2>/dev/null || true

ensure_env_users
make_work_dir ph-cold
STOP_SECONDS=60
TMPFS_RUN=${COLD_TMPFS_RUN:-1}
[ -d /dev/shm ] || TMPFS_RUN=0
TMPFS_DIRS=()
finish() {
    local rc=$? d
    for d in "${TMPFS_DIRS[@]}"; do
        rm -rf "$d"
    done
    cleanup_servers "$rc"
}
trap finish EXIT

declare -A R

# the median and p99 of the numbers (ms) on stdin: "p50/p99"
pct() {
    sort -n | awk '{ v[NR] = $1 } END {
        if (!NR) { print "-"; exit }
        printf "%.1f/%.1f", v[int((NR + 1) / 2)], v[int(NR * 0.99 + 0.5) ? int(NR * 0.99 + 0.5) : 1] }'
}

# "exec to READY p50/p99; processor fork p50/p99" (ms) of the processor
# factories, from the parent's debug lines PH00522 and PH00192 (trees
# that log them)
breakdown() {
    local ready forks blanks execs
    ready=$(sed -n 's/.*PH00522: the processor factory of .* ready, pid [0-9]* (\([0-9]*\) us after its exec).*/\1/p' "$1" |
            awk '{ print $1 / 1000 }' | pct)
    forks=$(sed -n 's/.*PH00192: the processor factory of .* in \([0-9]*\) us.*/\1/p' "$1" |
            awk '{ print $1 / 1000 }' | pct)
    # FactoryReserve: how many cold environments took a blank factory
    # (PH00666; READY is then counted from the ASSIGN) and how many exec'd
    blanks=$(grep -c 'PH00666: ' "$1" || true)
    execs=$(grep -c "PH00191: the processor factory of" "$1" || true)
    echo "factory exec (or a blank's ASSIGN) to READY $ready, processor fork $forks;" \
         "factories exec'd $execs, from a blank $blanks"
}

# CPU time (ms, p50/p99) each processor factory of the server PID used so
# far -- its start, and the few forks it made: a figure the machine's
# other load does not inflate as it does wall-clock times
factories_cpu() {
    local p
    for p in $(tree_pids "$1"); do
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = apache2-factory ] || continue
        awk '{ print $1 / 1000000 }' "/proc/$p/schedstat" 2>/dev/null || true
    done | pct
}

# CPU time (ms, p50/p99) each processor of the server PID used so far
# (every thread): its start -- confining the other vhosts, closing their
# logs -- and its one answer.  A processor runs as its tenant, not as
# User, and is not a factory.
processors_cpu() {
    local p u
    u=$(id -u www-data)
    for p in $(tree_pids "$1"); do
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" != apache2-factory ] || continue
        [ "$(stat -c %u "/proc/$p" 2>/dev/null)" != 0 ] || continue
        [ "$(stat -c %u "/proc/$p" 2>/dev/null)" != "$u" ] || continue
        cat /proc/"$p"/task/*/schedstat 2>/dev/null |
            awk '{ t += $1 } END { if (NR) print t / 1000000 }' || true
    done | pct
}

measure() {
    local n=$1 mpm=$2 dir=$WORK/$2-$1 port kind=$2
    port=$(free_port)
    MODULE=$OUR_MODULE
    if [ "$mpm" = base ]; then
        [ -n "$BASE_MODULE" ] || { echo "$SCRIPT: base needs COLD_BASE_MODULE" >&2; return 1; }
        MODULE=$BASE_MODULE kind=ph
    fi
    # the runtime directory on tmpfs, as Debian's /run/apache2 is: the
    # segment's files are created there at every start (on ext4, creating
    # a thousand files where a thousand were just removed takes seconds)
    if [ "$TMPFS_RUN" = 1 ]; then
        mkdir -p "$dir"
        ln -sfn "$(mktemp -d /dev/shm/ph-cold-run-XXXXXX)" "$dir/run"
        TMPFS_DIRS+=("$(readlink "$dir/run")")
    fi
    # shellcheck disable=SC2086
    TENANT_PROCESSOR_LINES="MinProcessors 0" tenants_conf "$dir" "$kind" "$n" "$port" \
        ${COLD_PH_LINES:+"$COLD_PH_LINES"}
    tenants_start "$dir" "$mpm-$n" "$port" || return 1
    R[$n,$mpm,start]=$START_MS
    local last_seq=$((1 + SEQ)) first_par=$((2 + SEQ)) last_par=$((1 + SEQ + PAR))
    [ "$last_seq" -le "$n" ] || last_seq=$n
    [ "$last_par" -le "$n" ] || last_par=$n
    R[$n,$mpm,seq]=$(seq 2 "$last_seq" | xargs -P 1 -I{} bash -c "tenant_touch {} $port" | tenants_summary)
    R[$n,$mpm,cpu]=$(factories_cpu "$(cat "$dir/httpd.pid")")
    R[$n,$mpm,pcpu]=$(processors_cpu "$(cat "$dir/httpd.pid")")
    R[$n,$mpm,par]=$(seq "$first_par" "$last_par" | xargs -P 20 -I{} bash -c "tenant_touch {} $port" | tenants_summary)
    [ "$kind" = ph ] && R[$n,$mpm,factory]=$(breakdown "$dir/error.log")
    stop_server "$dir" "$mpm-$n" 60 || true
    echo "   $mpm N=$n: done ($(date +%T))" >&2
}

for n in $NS; do
    for mpm in $MPMS; do
        measure "$n" "$mpm"
    done
done
for n in $NS; do
    printf '\n== N = %s (cold: %s one after another, %s 20 at a time)\n' "$n" "$SEQ" "$PAR"
    for mpm in $MPMS; do
        printf '%-6s start until the first answer: %s ms\n' "$mpm" "${R[$n,$mpm,start]:--}"
        printf '%-6s cold, one after another: %s\n' "$mpm" "${R[$n,$mpm,seq]:--}"
        printf '%-6s cold, 20 at a time:      %s\n' "$mpm" "${R[$n,$mpm,par]:--}"
        [ -z "${R[$n,$mpm,cpu]:-}" ] ||
            printf '%-6s CPU of each factory after the one-after-another series, p50/p99 (ms): %s\n' "$mpm" "${R[$n,$mpm,cpu]}"
        [ -z "${R[$n,$mpm,pcpu]:-}" ] ||
            printf '%-6s CPU of each processor after its first answer, p50/p99 (ms): %s\n' "$mpm" "${R[$n,$mpm,pcpu]}"
    done
    for mpm in $MPMS; do
        [ -z "${R[$n,$mpm,factory]:-}" ] || printf '%-6s p50/p99 (ms): %s\n' "$mpm" "${R[$n,$mpm,factory]}"
    done
done
