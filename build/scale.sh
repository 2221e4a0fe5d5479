#!/usr/bin/env bash
# Scale (issue 13): N tenants, nearly all idle, on peruser_hybrid beside
# stock event and mpm-itk, in the same run.
#
# For each N in SCALE_NS (default "10 100 1000"), three servers in turn
# serve the N tenants tI.test (build/lib/tenants.sh: users alice and bob in
# turn; peruser_hybrid one <Processor> each with `MinProcessors 0`,
# defaults otherwise; mpm-itk an AssignUserID each; event nothing).  For
# each server:
#   - start until the first answer (t1.test, any status);
#   - after SCALE_SETTLE_SECONDS (default 5) of rest: the memory of the
#     whole server (sum of Pss over the parent and every descendant), the
#     segment's size (peruser_hybrid: the files the parent maps from its
#     runtime directory; apparent size and allocated), descriptors of the
#     parent, of each multiplexer and of the multiplexers' factory;
#   - CPU used while idle over SCALE_IDLE_SECONDS (default 60): utime +
#     stime from /proc of every process of the server, start to end of the
#     window (a process that ends within it is not counted);
#   - cold start: the first answer of tenants that were never asked, half
#     of them one after another and the other half 20 at a time (200 each
#     when N >= 401), p50 / p99.
# Then a table with the ratios peruser_hybrid / event and / mpm-itk.
#
#   make scale                    (as root)
#   SCALE_NS="10 100 1000"        SCALE_IDLE_SECONDS=60
#   SCALE_MODULE=path/to/mod_mpm_peruser_hybrid.so (another build)
#   SCALE_MPMS="ph event itk"     (a subset, e.g. ph alone)
#
# N = 10000 is allowed (SCALE_NS=10000) but slow: the configuration takes
# a while to write and to parse, and peruser_hybrid holds descriptors per
# environment (the script raises `ulimit -n`).
# Bounded: every curl has a 30 s limit and each cold-start series stops
# issuing requests after SCALE_COLD_LIMIT seconds (default 300); start-up
# is polled for at most 30 s; every server is stopped by its pid
# (SIGKILL after 60 s) before the next starts; nothing is left running.
set -euo pipefail

SCRIPT=build/scale.sh
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$(readlink -f "$0")")/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=lib/httpd.sh
. "$(dirname "$(readlink -f "$0")")/lib/httpd.sh"
# shellcheck source-path=SCRIPTDIR source=lib/tenants.sh
. "$(dirname "$(readlink -f "$0")")/lib/tenants.sh"
require_root "$SCRIPT" "apache2 must start as root to switch users"
REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$REPO"

NS=${SCALE_NS:-10 100 1000}
IDLE=${SCALE_IDLE_SECONDS:-60}
SETTLE=${SCALE_SETTLE_SECONDS:-5}
COLD_LIMIT=${SCALE_COLD_LIMIT:-300}
MPMS=${SCALE_MPMS:-ph event itk}
MODULE=${SCALE_MODULE:-$REPO/build/out/mod_mpm_peruser_hybrid.so}
require_tools "$SCRIPT" "" curl xargs /usr/sbin/apache2
[ -f "$MODULE" ] || make
[[ " $MPMS " != *" itk "* ]] || ensure_itk
for n in $NS; do
    if [ "$n" -lt 1 ] || [ "$n" -gt 10000 ]; then
        echo "$SCRIPT: N=$n: 1 to 10000" >&2
        exit 1
    fi
done
ulimit -n 65536 2>/dev/null || true

ensure_env_users
make_work_dir ph-scale
STOP_SECONDS=60   # read by cleanup_servers (lib/httpd.sh)
trap cleanup_servers EXIT
HZ=$(getconf CLK_TCK)

# kind PID PARENT: parent, mux (www-data, the parent's child), factory
# (the multiplexers' factory: root, the parent's child, "(multiplexers)" in
# its command line), or other
kind() {
    local uid ppid
    [ "$1" = "$2" ] && { echo parent; return; }
    uid=$(awk '/^Uid:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || { echo gone; return; }
    ppid=$(awk '/^PPid:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || { echo gone; return; }
    if [ "$ppid" = "$2" ] && [ "$uid" = "$(id -u www-data)" ]; then echo mux
    elif [ "$ppid" = "$2" ] && [ "$uid" = 0 ] &&
         tr '\0' ' ' < "/proc/$1/cmdline" | grep -q '(multiplexers)'; then echo factory
    else echo other; fi
}

# ticks PID...: utime + stime of those still there, in clock ticks
ticks() {
    local p sum=0 t
    for p in "$@"; do
        t=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null) || continue
        sum=$((sum + t))
    done
    echo "$sum"
}

# pss_kb PID...: sum of Pss
pss_kb() {
    local p sum=0 k
    for p in "$@"; do
        k=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null) || continue
        sum=$((sum + ${k:-0}))
    done
    echo "$sum"
}

fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# segment DIR PID: "apparent-kB/allocated-kB" of the files under DIR/run
# that PID maps
segment() {
    local f app=0 alloc=0
    while read -r f; do
        [ -f "$f" ] || continue
        app=$((app + $(stat -c %s "$f") / 1024))
        alloc=$((alloc + $(du -k "$f" | cut -f1)))
    done < <(awk -v d="$1/run/" 'index($6, d) == 1 { print $6 }' "/proc/$2/maps" | sort -u)
    awk -v a="$app" -v b="$alloc" 'BEGIN { printf "%.1f/%.1f", a / 1024, b / 1024 }'
}

# cold FIRST LAST PAR PORT: tenant_touch FIRST..LAST, PAR at a time, until
# COLD_LIMIT seconds have passed; lines "CODE SECONDS"
cold() {
    local first=$1 last=$2 par=$3 port=$4 end
    [ "$last" -ge "$first" ] || return 0
    end=$(( $(date +%s) + COLD_LIMIT ))
    seq "$first" "$last" | while read -r i; do
        [ "$(date +%s)" -lt "$end" ] || break
        echo "$i"
    done | xargs -P "$par" -I{} bash -c "tenant_touch {} $port"
}

declare -A R   # R[N,mpm,row]

measure() {
    local n=$1 mpm=$2 dir=$WORK/$2-$1 port pid pids p k
    local t_before t_after muxfds="" facfds="" cpu_mux=0 cpu_par=0 b a
    local half first_par last_par
    port=$(free_port)
    TENANT_PROCESSOR_LINES="MinProcessors 0" tenants_conf "$dir" "$mpm" "$n" "$port"
    tenants_start "$dir" "$mpm-$n" "$port" || return 1
    R[$n,$mpm,start]=$START_MS
    pid=$(cat "$dir/httpd.pid")
    sleep "$SETTLE"

    mapfile -t pids < <(tree_pids "$pid")
    R[$n,$mpm,pss]=$(( $(pss_kb "${pids[@]}") / 1024 ))
    R[$n,$mpm,procs]=${#pids[@]}
    R[$n,$mpm,fd_parent]=$(fds "$pid")
    R[$n,$mpm,segment]=-
    [ "$mpm" = ph ] && R[$n,$mpm,segment]=$(segment "$dir" "$pid")
    for p in "${pids[@]}"; do
        k=$(kind "$p" "$pid")
        [ "$mpm" = ph ] || continue
        case $k in
        mux) muxfds="$muxfds${muxfds:+ }$(fds "$p")" ;;
        factory) facfds="$facfds${facfds:+ }$(fds "$p")" ;;
        esac
    done
    R[$n,$mpm,fd_mux]=${muxfds:--}
    R[$n,$mpm,fd_factory]=${facfds:--}

    t_before=$(ticks "${pids[@]}")
    b=$(ticks "$pid")
    local mux_pids=()
    for p in "${pids[@]}"; do
        [ "$(kind "$p" "$pid")" = mux ] && mux_pids+=("$p")
    done
    local mb=0
    [ "${#mux_pids[@]}" -eq 0 ] || mb=$(ticks "${mux_pids[@]}")
    sleep "$IDLE"
    t_after=$(ticks "${pids[@]}")
    a=$(ticks "$pid")
    cpu_par=$((a - b))
    [ "${#mux_pids[@]}" -eq 0 ] || cpu_mux=$(( $(ticks "${mux_pids[@]}") - mb ))
    R[$n,$mpm,cpu]=$(awk -v t=$((t_after - t_before)) -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }')
    R[$n,$mpm,cpu_detail]=$(awk -v p="$cpu_par" -v m="$cpu_mux" -v hz="$HZ" \
                              'BEGIN { printf "parent %.2f, muxes %.2f", p / hz, m / hz }')
    mapfile -t pids < <(tree_pids "$pid")
    R[$n,$mpm,pss_after]=$(( $(pss_kb "${pids[@]}") / 1024 ))

    # tenants 2..N, never asked before: half one after another, half 20 at a time
    half=$(( (n - 1) / 2 ))
    [ "$half" -le 200 ] || half=200
    first_par=$((2 + half))
    last_par=$((first_par + half - 1))
    [ "$last_par" -le "$n" ] || last_par=$n
    R[$n,$mpm,cold_seq]=$(cold 2 $((1 + half)) 1 "$port" | tenants_summary)
    R[$n,$mpm,cold_par]=$(cold "$first_par" "$last_par" 20 "$port" | tenants_summary)
    R[$n,$mpm,cold_n]="$half / $((last_par - first_par + 1))"
    stop_server "$dir" "$mpm-$n" 60 || true
    echo "   $mpm: done ($(date +%T))" >&2
}

# ratio A B: A/B to one decimal, or - when either is not a number
ratio() {
    awk -v a="${1%%/*}" -v b="${2%%/*}" 'BEGIN {
        if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b == 0) { print "-"; exit }
        printf "%.1fx", a / b }'
}

# p50 and p99 "p50/p99 ms" from a tenants_summary line
pcts() {
    sed -n 's/.*median \([0-9.]*\) ms, p99 \([0-9.]*\) ms.*/\1\/\2/p' <<<"$1"
}

table() {
    local n=$1 row label v ph ev itk
    printf '\n== N = %s tenants (idle window %s s)\n' "$n" "$IDLE"
    printf '%-44s %-22s %-12s %-12s %-9s %s\n' "" peruser_hybrid event mpm-itk "ph/event" "ph/itk"
    for row in pss pss_after segment fd_parent fd_mux fd_factory cpu start; do
        case $row in
        pss) label="memory, sum of Pss (MB)" ;;
        pss_after) label="  the same after the idle window (MB)" ;;
        segment) label="segment, size/allocated (MB)" ;;
        fd_parent) label="descriptors: parent" ;;
        fd_mux) label="descriptors: each multiplexer" ;;
        fd_factory) label="descriptors: multiplexers' factory" ;;
        cpu) label="CPU while idle (s)" ;;
        start) label="start until the first answer (ms)" ;;
        esac
        ph=${R[$n,ph,$row]:--} ev=${R[$n,event,$row]:--} itk=${R[$n,itk,$row]:--}
        printf '%-44s %-22s %-12s %-12s %-9s %s\n' "$label" "$ph" "$ev" "$itk" \
               "$(ratio "$ph" "$ev")" "$(ratio "$ph" "$itk")"
    done
    printf '%-44s %s\n' "  peruser_hybrid's idle CPU" "${R[$n,ph,cpu_detail]:--}"
    for row in cold_seq cold_par; do
        label="cold, one after another, p50/p99 (ms)"
        [ "$row" = cold_par ] && label="cold, 20 at a time, p50/p99 (ms)"
        ph=$(pcts "${R[$n,ph,$row]:-}") ev=$(pcts "${R[$n,event,$row]:-}") itk=$(pcts "${R[$n,itk,$row]:-}")
        printf '%-44s %-22s %-12s %-12s %-9s %s\n' "$label" "${ph:--}" "${ev:--}" "${itk:--}" \
               "$(ratio "${ph#*/}" "${ev#*/}")" "$(ratio "${ph#*/}" "${itk#*/}")"
    done
    printf '%-44s %s\n' "  cold tenants (one after another / 20 at a time)" "${R[$n,ph,cold_n]:--}; ratios of p99"
    for v in ph event itk; do
        [ -n "${R[$n,$v,cold_seq]:-}" ] || continue
        printf '    %-6s one after another: %s\n' "$v" "${R[$n,$v,cold_seq]}"
        printf '    %-6s 20 at a time:      %s\n' "$v" "${R[$n,$v,cold_par]}"
    done
}

for n in $NS; do
    echo "== N = $n ($(date +%T))" >&2
    for mpm in $MPMS; do
        measure "$n" "$mpm"
    done
done
for n in $NS; do
    table "$n"
done
