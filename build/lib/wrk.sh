# shellcheck shell=bash
# build/lib/wrk.sh -- load runs with wrk and their summary, for build/bench.sh
# and build/bench_pstat_load.sh.  Sourced, not run:
#
#   . "$(dirname "$(readlink -f "$0")")/lib/wrk.sh"
#
# Globals: THREADS and CONNS (wrk -t and -c), set by the caller.

# run_wrk URL SECONDS [WRK-ARG...] -> prints "rps errors" (errors: the
# "Socket errors" and "Non-2xx" lines joined with ';', or "none"); bounded
# to SECONDS + 30 s.
run_wrk() {
    local url=$1 secs=$2 out rps errs
    shift 2
    out=$(timeout $((secs + 30)) wrk -t"$THREADS" -c"$CONNS" -d"${secs}s" --timeout 10s \
          "$@" "$url") || true
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    errs=$(grep -E 'Socket errors|Non-2xx' <<<"$out" | tr -s ' ' | paste -sd';' -) || true
    echo "${rps:-0} ${errs:-none}"
}

# median NUMBER...: the middle one (of an even count, the lower middle).
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# compare_modes NAME-A NAME-B RUN-A RUN-B: the rows of a two-server table
# (build/bench.sh, build/bench-alloc.sh): for keep-alive and for
# "Connection: close", a 2 s warm-up of each, then REPEAT runs of
# SECONDS_PER_RUN, A and B in turn; one line per mode: "mode median-A
# median-B B/A runs-A | runs-B; errors".  RUN-A and RUN-B are commands
# called as RUN ADDR-INDEX SECONDS [WRK-ARG...] that print "rps errors";
# every call of a mode gets a fresh address index (TIME_WAIT sockets,
# see build/bench.sh), starting at 1.
compare_modes() {
    local name_a=$1 name_b=$2 run_a=$3 run_b=$4 addr=1 mode med_a med_b
    local all_a all_b errs rps_a err_a rps_b err_b ratio extra
    for mode in keepalive close; do
        extra=()
        [ "$mode" = close ] && extra=(-H 'Connection: close')
        "$run_a" "$addr" 2 "${extra[@]}" >/dev/null   # warm-up
        "$run_b" "$addr" 2 "${extra[@]}" >/dev/null
        addr=$((addr + 1))
        all_a=() all_b=() errs=""
        for _ in $(seq 1 "$REPEAT"); do
            read -r rps_a err_a <<<"$("$run_a" "$addr" "$SECONDS_PER_RUN" "${extra[@]}")"
            read -r rps_b err_b <<<"$("$run_b" "$addr" "$SECONDS_PER_RUN" "${extra[@]}")"
            addr=$((addr + 1))
            all_a+=("$rps_a")
            all_b+=("$rps_b")
            [ "$err_a$err_b" = nonenone ] || errs="$errs [$name_a: $err_a | $name_b: $err_b]"
        done
        med_a=$(median "${all_a[@]}")
        med_b=$(median "${all_b[@]}")
        ratio=$(awk -v a="$med_b" -v b="$med_a" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
        printf '%-10s %12s %12s %8s  %s | %s;%s\n' "$mode" "$med_a" "$med_b" "$ratio" \
            "${all_a[*]}" "${all_b[*]}" "${errs:- none}"
    done
}
