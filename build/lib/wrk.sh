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
