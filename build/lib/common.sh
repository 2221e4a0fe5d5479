# shellcheck shell=bash
# build/lib/common.sh -- shell functions shared by build/test.sh,
# build/demo.sh, build/bench.sh, build/bench_pstat_load.sh and
# build/coldstart.sh: the machine's setup.  Sourced, not run:
#
#   . "$(dirname "$(readlink -f "$0")")/lib/common.sh"
#
# Every function exits the calling script on failure (the scripts run with
# `set -euo pipefail`).

# require_root SCRIPT WHY: exit 1 unless running as root.
require_root() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "$1: run as root ($2)" >&2
        exit 1
    fi
}

# install_deps PACKAGE...: apt-get install those of the Debian packages that
# are not installed yet (apt-get update first, only when something is missing).
install_deps() {
    local p status missing=()
    for p in "$@"; do
        status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        [ "$status" = "install ok installed" ] || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "== installing: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update
        apt-get install -y "${missing[@]}"
    fi
}

# ensure_env_users: the system users alice and bob, each with a group of the
# same name, exist (the environments of the demo and the benchmark).
ensure_env_users() {
    local u
    for u in alice bob; do
        getent group "$u" >/dev/null || groupadd --system "$u"
        id -u "$u" >/dev/null 2>&1 ||
            useradd --system --no-create-home --shell /usr/sbin/nologin --gid "$u" "$u"
    done
}

# require_tools SCRIPT HINT TOOL...: exit 1 unless every TOOL is on PATH
# (HINT, when not empty, is added in parentheses to the complaint).
require_tools() {
    local script=$1 hint=$2 tool
    shift 2
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "$script: $tool missing${hint:+ ($hint)}" >&2; exit 1; }
    done
}
