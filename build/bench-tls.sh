#!/usr/bin/env bash
# HTTPS throughput and latency of peruser_hybrid against stock mpm_event,
# same machine, same run, same configuration as build/bench-h2c.sh (100-byte
# file; event 2 x 25 threads; peruser_hybrid 2 multiplexers, environment
# alice with exactly 2 processors x 25 threads) plus mod_ssl, mod_http2 and
# `Protocols h2 http/1.1` on two TLS vhosts of two environments (bob's is
# the address's default, so every connection to alice is routed by its SNI).
#
# h2load (nghttp2-client) drives each server, SNI alice.test, in four modes:
#   h2       BENCH_CLIENTS connections, ALPN h2, 10 concurrent streams each
#   h2-1     BENCH_CLIENTS connections, ALPN h2, 1 stream at a time
#   h1       BENCH_CLIENTS connections, ALPN http/1.1 (h2load --h1), keep-alive
#   h1-new   as h1 with "Connection: close": one TLS handshake per request
# The multiplexer peeks at each connection's ClientHello, routes it and hands
# the socket over; the handshake and everything after it happen in the
# processor, so h1-new shows what the routing costs per connection and the
# other modes what mod_ssl and mod_http2 cost under each MPM.
# The table: requests/s and mean request time (median of BENCH_REPEAT runs,
# event and peruser_hybrid alternating) with the ratio peruser_hybrid/event.
#
#   bash build/bench-tls.sh     (as root; make bench-tls)
#   BENCH_REQUESTS=20000 BENCH_CLIENTS=20 BENCH_REPEAT=3
set -euo pipefail

SCRIPT=build/bench-tls.sh
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
require_tools "$SCRIPT" "bash build/test.sh installs it" h2load openssl /usr/sbin/apache2
[ -f "$MODULE" ] || make

ensure_env_users

make_work_dir ph-bench-tls
trap cleanup_servers EXIT

for name in alice bob; do
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$name.test" \
        -addext "subjectAltName=DNS:$name.test" \
        -keyout "$WORK/$name.key" -out "$WORK/$name.crt" 2>/dev/null
    chmod 644 "$WORK/$name.key" "$WORK/$name.crt"
done

# tls_lines NAME: what makes NAME.test's vhost a TLS one
tls_lines() {
    printf 'SSLEngine on\nSSLCertificateFile %s\nSSLCertificateKeyFile %s\n' \
        "$WORK/$1.crt" "$WORK/$1.key"
}
BENCH_LISTEN_SUFFIX=" https" BENCH_VHOST_LINES=tls_lines \
    write_bench_pair 1 bob "LoadModule http2_module $MODDIR/mod_http2.so
LoadModule ssl_module $MODDIR/mod_ssl.so
LoadModule socache_shmcb_module $MODDIR/mod_socache_shmcb.so" \
    "Protocols h2 http/1.1
SSLSessionCache shmcb:$WORK/ssl_scache(512000)"

# wait_https ADDR PORT: poll https://alice.test/100b.txt at ADDR:PORT (~30 s)
wait_https() {
    for _ in $(seq 1 150); do
        [ "$(curl -sk -m 2 -o /dev/null -w '%{http_code}' --resolve "alice.test:$2:$1" \
             "https://alice.test:$2/100b.txt" 2>/dev/null || true)" = 200 ] && return 0
        sleep 0.2
    done
    echo "$SCRIPT: no HTTPS answer from $1:$2" >&2
    return 1
}

# start_tls DIR LABEL ADDR PORT
start_tls() {
    /usr/sbin/apache2 -f "$1/httpd.conf" -k start
    STARTED+=("$1") STARTED_LABELS+=("$2")
    wait_https "$3" "$4" || { tail -n 20 "$1/error.log" >&2; return 1; }
}

start_tls "$WORK/event" event 127.0.1.1 "$EV_PORT"
start_tls "$WORK/ph" ph 127.0.2.1 "$PH_PORT"

# run_h2load ADDR PORT MODE -> prints "rps mean_ms failed" (bounded to 120 s)
run_h2load() {
    local out rps mean unit failed args=() n=$REQUESTS
    case "$3" in
        h2) args=(-m 10) ;;
        h2-1) args=(-m 1) ;;
        h1) args=(--h1 -m 1) ;;
        h1-new) args=(--h1 -m 1 -H 'Connection: close'); n=$(( REQUESTS / 10 )) ;;
    esac
    out=$(timeout 120 h2load -n "$n" -c "$CLIENTS" "${args[@]}" \
          --connect-to="$1:$2" "https://alice.test:$2/100b.txt" 2>&1) || true
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

echo "peruser_hybrid vs mpm_event over TLS: h2load -n$REQUESTS (h1-new: $(( REQUESTS / 10 ))) -c$CLIENTS, SNI alice.test (not the default vhost), 100-byte file, $(nproc) CPUs, median of $REPEAT alternating runs"
printf '%-8s %11s %11s %7s  %11s %11s %7s  %s\n' mode "event req/s" "ph req/s" ratio \
    "event ms" "ph ms" ratio "failed event|ph"
for mode in ${BENCH_MODES:-h2 h2-1 h1 h1-new}; do
    run_h2load 127.0.1.1 "$EV_PORT" "$mode" >/dev/null     # warm-up
    run_h2load 127.0.2.1 "$PH_PORT" "$mode" >/dev/null
    ev_rps=() ph_rps=() ev_ms=() ph_ms=() fails=""
    for _ in $(seq 1 "$REPEAT"); do
        read -r r t f <<<"$(run_h2load 127.0.1.1 "$EV_PORT" "$mode")"
        ev_rps+=("$r") ev_ms+=("$t") fails="$fails $f"
        read -r r t f <<<"$(run_h2load 127.0.2.1 "$PH_PORT" "$mode")"
        ph_rps+=("$r") ph_ms+=("$t") fails="$fails|$f"
    done
    er=$(median "${ev_rps[@]}") pr=$(median "${ph_rps[@]}")
    et=$(median "${ev_ms[@]}") pt=$(median "${ph_ms[@]}")
    printf '%-8s %11s %11s %7s  %11s %11s %7s  %s\n' "$mode" "$er" "$pr" "$(ratio "$pr" "$er")" \
        "$et" "$pt" "$(ratio "$pt" "$et")" "$fails"
done
