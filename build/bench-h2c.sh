#!/usr/bin/env bash
# h2c (HTTP/2 with prior knowledge) throughput and latency of peruser_hybrid
# against stock mpm_event, same machine, same run, same configuration as
# build/bench.sh (100-byte file; event 2 x 25 threads; peruser_hybrid 2
# multiplexers, environment alice with exactly 2 processors x 25 threads)
# plus mod_http2 and `Protocols h2c http/1.1`.
#
# h2load (nghttp2-client) drives each server in two modes:
#   streams  BENCH_CLIENTS connections, 10 concurrent streams each
#   single   BENCH_CLIENTS connections, 1 stream at a time
# The multiplexer only sees each connection's first request (it routes on
# its :authority and hands the socket over); the streams after it are
# mod_http2's in the processor, so the figures show what the handoff costs
# per connection and what mod_http2 costs under each MPM.
# The table: requests/s and mean request time (median of BENCH_REPEAT runs,
# event and peruser_hybrid alternating) with the ratio peruser_hybrid/event.
#
#   bash build/bench-h2c.sh     (as root)
#   BENCH_REQUESTS=20000 BENCH_CLIENTS=20 BENCH_REPEAT=3
set -euo pipefail

SCRIPT=build/bench-h2c.sh
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$(readlink -f "$0")")/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=lib/httpd.sh
. "$(dirname "$(readlink -f "$0")")/lib/httpd.sh"
# shellcheck source-path=SCRIPTDIR source=lib/wrk.sh
. "$(dirname "$(readlink -f "$0")")/lib/wrk.sh"
require_root "$SCRIPT" "apache2 must start as root to switch users"
REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$REPO"

REQUESTS=${BENCH_REQUESTS:-20000}
CLIENTS=${BENCH_CLIENTS:-20}
REPEAT=${BENCH_REPEAT:-3}
MODULE=$REPO/build/out/mod_mpm_peruser_hybrid.so
require_tools "$SCRIPT" "bash build/test.sh installs it" h2load /usr/sbin/apache2
[ -f "$MODULE" ] || make

ensure_env_users

make_work_dir ph-bench-h2c
trap cleanup_servers EXIT

write_bench_pair 1 bob "LoadModule http2_module $MODDIR/mod_http2.so" \
    "Protocols h2c http/1.1"

start_server "$WORK/event" event "http://127.0.1.1:$EV_PORT/100b.txt" alice.test
start_server "$WORK/ph" ph "http://127.0.2.1:$PH_PORT/100b.txt" alice.test

# run_h2load URL STREAMS -> prints "rps mean_ms failed" (bounded to 120 s)
run_h2load() {
    local out rps mean unit failed
    out=$(timeout 120 h2load -n "$REQUESTS" -c "$CLIENTS" -m "$2" \
          -H ':authority: alice.test' "$1" 2>&1) || true
    rps=$(awk '/^finished in/ { for (i = 1; i <= NF; i++) if ($(i+1) == "req/s,") print $i }' <<<"$out")
    read -r mean unit <<<"$(awk '/^time for request:/ { v = $6; sub(/[a-z]+$/, "", v); u = $6; sub(/^[0-9.]+/, "", u); print v, u }' <<<"$out")"
    case "$unit" in
        us) mean=$(awk -v v="$mean" 'BEGIN { printf "%.3f", v / 1000 }') ;;
        s) mean=$(awk -v v="$mean" 'BEGIN { printf "%.3f", v * 1000 }') ;;
    esac
    failed=$(awk '/^requests:/ { for (i = 1; i <= NF; i++) if ($(i+1) ~ /^failed/) print $i }' <<<"$out")
    echo "${rps:-0} ${mean:-0} ${failed:-?}"
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}

echo "peruser_hybrid vs mpm_event over h2c: h2load -n$REQUESTS -c$CLIENTS, 100-byte file, $(nproc) CPUs, median of $REPEAT alternating runs"
printf '%-8s %11s %11s %7s  %11s %11s %7s  %s\n' mode "event req/s" "ph req/s" ratio \
    "event ms" "ph ms" ratio "failed event|ph"
for mode in streams single; do
    m=10
    [ "$mode" = single ] && m=1
    run_h2load "http://127.0.1.1:$EV_PORT/100b.txt" "$m" >/dev/null     # warm-up
    run_h2load "http://127.0.2.1:$PH_PORT/100b.txt" "$m" >/dev/null
    ev_rps=() ph_rps=() ev_ms=() ph_ms=() fails=""
    for _ in $(seq 1 "$REPEAT"); do
        read -r r t f <<<"$(run_h2load "http://127.0.1.1:$EV_PORT/100b.txt" "$m")"
        ev_rps+=("$r") ev_ms+=("$t") fails="$fails $f"
        read -r r t f <<<"$(run_h2load "http://127.0.2.1:$PH_PORT/100b.txt" "$m")"
        ph_rps+=("$r") ph_ms+=("$t") fails="$fails|$f"
    done
    er=$(median "${ev_rps[@]}") pr=$(median "${ph_rps[@]}")
    et=$(median "${ev_ms[@]}") pt=$(median "${ph_ms[@]}")
    printf '%-8s %11s %11s %7s  %11s %11s %7s  %s\n' "$mode" "$er" "$pr" "$(ratio "$pr" "$er")" \
        "$et" "$pt" "$(ratio "$pt" "$et")" "$fails"
done
