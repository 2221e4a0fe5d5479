# shellcheck shell=bash
# build/lib/tenants.sh -- many tenants, one vhost each, for build/slots.sh,
# build/scale.sh, build/cold.sh and build/bench-tenants.sh.  Sourced, not
# run, after lib/common.sh and lib/httpd.sh:
#
#   . "$(dirname "$(readlink -f "$0")")/lib/tenants.sh"
#
# Tenant I is the vhost tI.test, served from WORK/www, under user alice
# (I odd) or bob (I even): peruser_hybrid gives it the environment tI,
# mpm-itk an AssignUserID, stock event nothing.

# ensure_itk: Debian's libapache2-mpm-itk installed (MODDIR/mpm_itk.so).
# The package enables mpm_itk (and mpm_prefork) in /etc/apache2: the
# machine's own choice of MPM is put back.
ensure_itk() {
    local before after m
    [ ! -f "$MODDIR/mpm_itk.so" ] || return 0
    before=$(cd /etc/apache2/mods-enabled 2>/dev/null && ls mpm_*.load 2>/dev/null || true)
    install_deps libapache2-mpm-itk
    after=$(cd /etc/apache2/mods-enabled 2>/dev/null && ls mpm_*.load 2>/dev/null || true)
    for m in $after; do
        case " $(echo $before) " in *" $m "*) ;; *) a2dismod -q -f "${m%.load}" >/dev/null ;; esac
    done
    for m in $before; do
        case " $(echo $after) " in *" $m "*) ;; *) a2enmod -q "${m%.load}" >/dev/null ;; esac
    done
}

# tenant_user I: alice or bob, in turn
tenant_user() {
    if [ $(($1 % 2)) -eq 0 ]; then echo bob; else echo alice; fi
}

# tenants_conf DIR MPM N PORT [LINE...]: DIR/httpd.conf (and DIR/run) for
# MPM (ph, event or itk) serving the N tenants on 127.0.0.1:PORT.  ph loads
# MODULE (the caller's global); the LINEs go into the server config of ph
# (ProcessorImage ...), and TENANT_PROCESSOR_LINES (one string, may be
# empty) into every <Processor>.
tenants_conf() {
    local dir=$1 mpm=$2 n=$3 port=$4 i user
    shift 4
    mkdir -p "$dir/run"
    {
        case $mpm in
        ph)
            conf_preamble "$dir" "warn mpm_peruser_hybrid:debug" \
                "LoadModule mpm_peruser_hybrid_module $MODULE"
            [ "$#" -eq 0 ] || printf '%s\n' "$@"
            ;;
        event)
            conf_preamble "$dir" warn \
                "LoadModule mpm_event_module $MODDIR/mod_mpm_event.so"
            ;;
        itk)
            conf_preamble "$dir" warn \
                "LoadModule mpm_prefork_module $MODDIR/mod_mpm_prefork.so" \
                "LoadModule mpm_itk_module $MODDIR/mpm_itk.so"
            ;;
        *)
            echo "tenants_conf: unknown MPM $mpm" >&2
            return 1
            ;;
        esac
        cat <<EOF
Listen 127.0.0.1:$port
User www-data
Group www-data
EOF
        conf_www_access
        for i in $(seq 1 "$n"); do
            user=$(tenant_user "$i")
            if [ "$mpm" = ph ]; then
                printf '<Processor t%d>\n    User %s\n    Group %s\n' \
                    "$i" "$user" "$user"
                [ -z "${TENANT_PROCESSOR_LINES:-}" ] ||
                    printf '    %s\n' "$TENANT_PROCESSOR_LINES"
                printf '</Processor>\n'
            fi
            printf '<VirtualHost 127.0.0.1:%d>\n    ServerName t%d.test\n' "$port" "$i"
            [ "$mpm" = ph ] && printf '    ServerEnvironment t%d\n' "$i"
            [ "$mpm" = itk ] && printf '    AssignUserID %s %s\n' "$user" "$user"
            printf '    DocumentRoot %s\n</VirtualHost>\n' "$WORK/www"
        done
    } > "$dir/httpd.conf"
}

# tenants_start DIR LABEL PORT: start apache2 on DIR/httpd.conf (noted in
# STARTED for cleanup_servers) and poll t1.test every 20 ms, at most 15 s,
# until it gives any answer; sets START_MS to the milliseconds from the
# start to that answer, or complains with the end of DIR/error.log and
# returns 1.  (Not in a $(...): STARTED must reach the caller.)
tenants_start() {
    local dir=$1 label=$2 port=$3 t0 t1 code
    t0=$(date +%s%N)
    /usr/sbin/apache2 -f "$dir/httpd.conf" -k start
    STARTED+=("$dir") STARTED_LABELS+=("$label")
    for _ in $(seq 1 750); do
        code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' -H "Host: t1.test" \
                    "http://127.0.0.1:$port/100b.txt" 2>/dev/null || true)
        if [ -n "$code" ] && [ "$code" != 000 ]; then
            t1=$(date +%s%N)
            # shellcheck disable=SC2034  # read by the caller
            START_MS=$(( (t1 - t0) / 1000000 ))
            return 0
        fi
        sleep 0.02
    done
    echo "$SCRIPT: $label did not answer" >&2
    tail "$dir/error.log" >&2
    return 1
}

# tenant_touch I PORT: "CODE SECONDS" of one GET of tI.test's 100b.txt
# (30 s limit; "000 30" when curl fails).  Exported for xargs -P.
tenant_touch() {
    curl -s -m 30 -o /dev/null -w '%{http_code} %{time_total}\n' -H "Host: t$1.test" \
         "http://127.0.0.1:$2/100b.txt" || echo "000 30"
}
export -f tenant_touch

# tenants_summary: "200 x998  503 x2  median 3.1 ms, p99 40.2 ms, worst
# 5003.0 ms" from lines "CODE SECONDS" on stdin
tenants_summary() {
    local data
    data=$(cat)
    [ -n "$data" ] || { echo "none"; return 0; }
    awk '{ n[$1]++ } END { for (c in n) printf "%s x%d  ", c, n[c] }' <<<"$data"
    awk '{ print $2 * 1000 }' <<<"$data" | sort -n | awk '
        { ms[NR] = $1 }
        END { printf "median %.1f ms, p99 %.1f ms, worst %.1f ms",
                     ms[int((NR + 1) / 2)], ms[int(NR * 0.99 + 0.5)], ms[NR] }'
}

# tree_pids PID: PID and every descendant of it
tree_pids() {
    local p kids
    echo "$1"
    kids=$(cat /proc/"$1"/task/*/children 2>/dev/null) || true
    for p in $kids; do
        tree_pids "$p"
    done
}
