#!/usr/bin/env bash
# The one test command: installs what the build and the tests need (Debian
# bookworm, apt), builds the module, runs the CUnit unit tests and the
# integration tests against the real /usr/sbin/apache2 (and, before them,
# a short libFuzzer run on the parsers of client bytes), then subsets of
# them again with the module built under AddressSanitizer + UBSan and
# under ThreadSanitizer, and last httpd's own test suite in drop-in mode,
# compared with stock event's failures (build/httpd-tests.sh ph).
#
#   bash build/test.sh            (as root; from any directory)
#
# Extra arguments are passed to the main pytest run, e.g.
# `bash build/test.sh -k 421`.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "$(readlink -f "$0")")/lib/common.sh"
require_root build/test.sh "apt-get, and apache2 must start as root to switch users"

cd "$(dirname "$(readlink -f "$0")")/.."

install_deps \
    build-essential apache2 apache2-dev apache2-utils libapr1-dev libaprutil1-dev \
    libcunit1-dev libhwloc-dev libjemalloc-dev wrk curl \
    python3-pytest python3-requests clang valgrind tmux libncurses-dev haproxy \
    libnghttp2-dev nghttp2-client python3-h2 openssl man-db

# promtool checks pstat's Prometheus exposition (tests/pstat,
# test_pstat_views.py).  It comes with Debian's prometheus package, whose
# postinst starts the prometheus server (port 9090) and the node exporter
# it recommends (9100) where init scripts may run: a policy-rc.d that
# refuses every start keeps them stopped while it installs, unless the
# machine already has one (Debian's Docker images do).
if ! command -v promtool >/dev/null; then
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
        install_deps prometheus
        rm -f /usr/sbin/policy-rc.d
        trap - EXIT
    else
        install_deps prometheus
    fi
fi

echo "== make"
make
echo "== make unit"
make unit
echo "== make unit-asan (the same suites under AddressSanitizer and UBSan)"
make unit-asan
echo "== fuzz-short: libFuzzer on head_parse.c and tls_hello.c, 20 s each (make fuzz-long: 10 min)"
make fuzz-short
echo "== tls_hello.c beside openssl s_server: a refused ClientHello is refused by OpenSSL too, same alert"
make tls-hello-vs-openssl
echo "== shm/: unit suites, multi-process and SIGKILL ticket stress, TSan and ASan/UBSan variants"
make shm-check
echo "== pstat: model unit tests, then -1/-j/interactive (tmux) against a fake segment"
make pstat-unit
/usr/bin/python3 -m pytest -p no:cacheprovider -q tests/pstat
echo "== build/httpd-tests.sh's comparison with stock event, on fabricated results"
/usr/bin/python3 -m pytest -p no:cacheprovider -q tests/httpd-tests
echo "== README directive table matches the module's table"
bash build/directives.sh --check
echo "== in-tree build: httpd 2.4 configured --with-mpm=peruser_hybrid"
bash build/intree-build.sh
echo "== integration tests"
/usr/bin/python3 -m pytest -p no:cacheprovider -v tests/integration "$@"
echo "== the module under ASan + UBSan (make asan): routing, keep-alive, restart and hostile tests"
make asan
PH_SANITIZER=asan /usr/bin/python3 -m pytest -p no:cacheprovider -v \
    tests/integration/test_envs.py tests/integration/test_hostile.py \
    tests/integration/test_lifecycle.py::test_graceful_stop_finishes_request_in_flight \
    tests/integration/test_lifecycle.py::test_graceful_restarts_replace_children_and_leak_nothing \
    tests/integration/test_lifecycle.py::test_hard_restart_keeps_serving
echo "== the module under ThreadSanitizer (make tsan): routing, keep-alive and restart tests"
# Not the load tests (ab/wrk with 200 clients, saturation): under TSan's
# slowdown they hit ProcessorWaitTimeout and measure the sanitizer.
make tsan
PH_SANITIZER=tsan /usr/bin/python3 -m pytest -p no:cacheprovider -v \
    tests/integration/test_envs.py \
    tests/integration/test_lifecycle.py::test_graceful_stop_finishes_request_in_flight \
    tests/integration/test_lifecycle.py::test_graceful_restarts_replace_children_and_leak_nothing \
    tests/integration/test_lifecycle.py::test_hard_restart_keeps_serving \
    -k "not concurrent_clients and not saturated"
echo "== httpd's own test suite (t/ssl/ included), drop-in mode, against stock event's failures"
# Last: about 9 minutes; any failing test number stock event does not fail,
# and any crash line in the error log, fails here.
bash build/httpd-tests.sh ph
