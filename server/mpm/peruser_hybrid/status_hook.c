/*
 * status_hook.c -- the peruser view in mod_status: the per-child table
 * under the request list (the peruser guide's "Peruser status"),
 * per-environment statistics with ?peruser_stats, and the same data as
 * "Key: value" lines with ?auto.
 *
 * Everything shown comes from the shared-memory segment through the shm/
 * reader API.  A processor shows its own environment only (the other
 * environments' names, figures and children are theirs), except in the
 * environment named by StatusEnvironment, the operator's, which shows
 * every one.  pstat reads the segment itself and always shows all.
 */
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "apr_optional_hooks.h"
#include "apr_strings.h"
#include "http_config.h"
#include "http_protocol.h"
#include "mod_status.h"
#include "scoreboard.h"

#include "ph_clock.h"
#include "ph_config.h"
#include "ph_env.h"
#include "ph_env_scoreboard.h"
#include "ph_factory.h"
#include "ph_child.h"
#include "ph_escape.h"
#include "ph_segment.h"
#include "ph_status.h"

/* The segment's record of the environment this process may show, or -1
 * for all of them (StatusEnvironment; and before ph_status_set_viewer,
 * which every processor calls first). */
static int view_only = -1;

/* This process is a processor of the StatusEnvironment. */
static int status_viewer;

const char *ph_status_check_config(apr_pool_t *p)
{
    int i;

    if (!ph_conf.status_env) {
        return NULL;
    }
    for (i = 0; i < ph_envs->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(ph_envs, i, ph_env *)->name,
                    ph_conf.status_env)) {
            return NULL;
        }
    }
    return apr_psprintf(p, "StatusEnvironment %s: no <Processor %s> is "
                        "declared", ph_conf.status_env, ph_conf.status_env);
}

void ph_status_set_viewer(const ph_env *env)
{
    status_viewer = ph_conf.status_env
                    && !strcmp(env->name, ph_conf.status_env);
    view_only = status_viewer ? -1 : env->shm_index;
    if (env->shm_index < 0) {
        view_only = -2;         /* no record: nothing to show */
    }
}

static int may_show(int32_t env_index)
{
    return view_only == -1 || env_index == view_only;
}

/* Names come from the segment, which tenants' code can write: untrusted,
 * escaped for the output they go to (ph_escape.h). */
static const char *html_name(apr_pool_t *p, const char *name, size_t max)
{
    char buf[PH_ESCAPE_SIZE(PH_SHM_NAME_MAX)];

    ph_escape_html(buf, sizeof(buf), name,
                   max < PH_SHM_NAME_MAX ? max : PH_SHM_NAME_MAX);
    return apr_pstrdup(p, buf);
}

/* One environment as the status page shows it. */
typedef struct env_row {
    ph_shm_env_snapshot s;
    int alive, idle, busy_threads, idle_threads;
} env_row;

static const char *child_type_name(unsigned type)
{
    switch (type) {
    case PH_CHILD_TYPE_MULTIPLEXER:
        return "MULTIPLEXER";
    case PH_CHILD_TYPE_PROCESSOR:
        return "PROCESSOR";
    default:
        return "UNKNOWN";
    }
}

static const char *child_status_name(unsigned status)
{
    static const char *const names[] = { "STANDBY", "STARTING", "READY",
                                         "ACTIVE" };
    return status < 4 ? names[status] : "STANDBY";
}

/* httpd's scoreboard status of a child: its busiest worker's. */
static const char *sb_status_name(int slot, int threads)
{
    static const char *const names[SERVER_NUM_STATUS] = {
        "DEAD", "STARTING", "READY", "BUSY_READ", "BUSY_WRITE",
        "BUSY_KEEPALIVE", "BUSY_LOG", "BUSY_DNS", "CLOSING", "GRACEFUL",
        "IDLE_KILL"
    };
    int t, best = SERVER_DEAD;

    /* threads comes from the segment and the status from the scoreboard,
     * both child-writable: httpd's accessor bounds the indexes (NULL past
     * its own ServerLimit/ThreadLimit), the status is checked before use */
    for (t = 0; t < threads && t < ph_conf.thread_limit; t++) {
        const worker_score *ws = ap_get_scoreboard_worker_from_indexes(slot,
                                                                       t);
        int st;

        if (!ws) {
            break;
        }
        st = ws->status;
        if (st > best && st < SERVER_NUM_STATUS && st != SERVER_IDLE_KILL) {
            best = st;
        }
    }
    return names[best];
}

/* Gather environments in use with their children's figures. */
static env_row *collect_envs(apr_pool_t *p, int *count, int *muxes,
                             int *idle_muxes)
{
    uint32_t cap = ph_segment->geom.envs, slots, i;
    env_row *rows = apr_pcalloc(p, sizeof(*rows) * cap);
    long long now = ph_now_ms();

    *muxes = *idle_muxes = 0;
    for (i = 0; i < cap; i++) {
        if (!may_show((int32_t)i)
            || ph_shm_env_snapshot_get(ph_segment, i, now, &rows[i].s) != 0) {
            rows[i].s.in_use = 0;
        }
    }
    slots = ph_segment->geom.children;
    for (i = 0; i < slots; i++) {
        ph_shm_child_snapshot c;
        if (ph_shm_child_snapshot_get(ph_segment, i, &c) != 0 || !c.pid) {
            continue;
        }
        if (c.type == PH_CHILD_TYPE_MULTIPLEXER) {
            if (view_only != -1) {
                continue;       /* the server's, not one tenant's */
            }
            (*muxes)++;
            *idle_muxes += c.status != PH_CHILD_ACTIVE;
        }
        else if (c.env_index >= 0 && (uint32_t)c.env_index < cap) {
            env_row *e = &rows[c.env_index];
            e->alive++;
            e->idle += c.busy_threads <= 0;
            e->busy_threads += c.busy_threads > 0 ? c.busy_threads : 0;
            e->idle_threads += c.idle_threads > 0 ? c.idle_threads : 0;
        }
    }
    *count = (int)cap;
    return rows;
}

/* Most active first: most children alive, then most requests. */
static int by_activity(const void *a, const void *b)
{
    const env_row *x = a, *y = b;

    if (x->s.in_use != y->s.in_use) {
        return y->s.in_use - x->s.in_use;
    }
    if (x->alive != y->alive) {
        return y->alive - x->alive;
    }
    return y->s.requests > x->s.requests ? 1
           : y->s.requests < x->s.requests ? -1 : 0;
}

static void child_table(request_rec *r, env_row *rows, int muxes,
                        int idle_muxes)
{
    uint32_t slots = ph_segment->geom.children, i;

    ap_rputs("<h2>Peruser status</h2>\n<table border=\"0\"><tr><th>ID</th>"
             "<th>PID</th><th>STATUS</th><th>SB STATUS</th><th>Type</th>"
             "<th>Processor</th><th>Pss</th><th>AVAIL</th><th>Node</th>"
             "<th>Allocated/resident</th></tr>\n", r);
    for (i = 0; i < slots; i++) {
        ph_shm_child_snapshot c;
        const char *env = "(null)";
        size_t env_max = sizeof("(null)");
        char pss[64] = "0/0/0";
        char node[32] = "-";
        char alloc[64] = "-";
        unsigned avail = 0;

        if (ph_shm_child_snapshot_get(ph_segment, i, &c) != 0) {
            continue;
        }
        if (view_only != -1
            && !(c.pid && c.type == PH_CHILD_TYPE_PROCESSOR
                 && c.env_index == view_only)) {
            continue;           /* another tenant's, or the server's */
        }
        if (c.type == PH_CHILD_TYPE_MULTIPLEXER) {
            env = "Multiplexer";
            env_max = sizeof("Multiplexer");
            apr_snprintf(pss, sizeof(pss), "%d/%d/%ld", muxes, idle_muxes,
                         ph_conf.max_multiplexers);
            avail = 100;
        }
        else if (c.type == PH_CHILD_TYPE_PROCESSOR && c.env_index >= 0
                 && (uint32_t)c.env_index < ph_segment->geom.envs) {
            env_row *e = &rows[c.env_index];
            env = e->s.name;
            env_max = sizeof(e->s.name);
            apr_snprintf(pss, sizeof(pss), "%d/%d/%u", e->alive, e->idle,
                         e->s.max_processors);
            avail = e->s.avail;
        }
        if (c.pid && c.numa_node >= 0) {
            apr_snprintf(node, sizeof(node), "%d%s", c.numa_node,
                         c.numa_failed ? " (unbound)" : "");
        }
        if (c.pid && c.cgroup_failed) {
            apr_cpystrn(node + strlen(node), " (no cgroup)",
                        sizeof(node) - strlen(node));
        }
        if (c.pid && c.alloc_allocated) {
            /* the child's own figures: display only */
            apr_snprintf(alloc, sizeof(alloc), "%" APR_UINT64_T_FMT "/%"
                         APR_UINT64_T_FMT, c.alloc_allocated,
                         c.alloc_resident);
        }
        ap_rprintf(r, "<tr><td>%u</td><td>%d</td><td>%s</td><td>%s</td>"
                   "<td>%s</td><td>%s</td><td>%s</td><td>%u%%</td>"
                   "<td>%s</td><td>%s</td></tr>\n",
                   i, c.pid, child_status_name(c.pid ? c.status : 0),
                   c.pid ? sb_status_name((int)i, (int)c.threads) : "DEAD",
                   child_type_name(c.pid ? c.type : 0),
                   html_name(r->pool, env, env_max), pss, avail, node,
                   alloc);
    }
    ap_rputs("</table>\n", r);
}

static void env_stats_html(request_rec *r, env_row *rows, int n)
{
    int i;

    ap_rputs("<h2>Peruser statistics</h2>\n<table border=\"0\"><tr>"
             "<th>Processor</th><th>Children alive/idle/max</th>"
             "<th>Connections</th><th>Requests</th><th>Dropped: timeout</th>"
             "<th>Dropped: channel</th><th>421</th><th>AVAIL</th>"
             "<th>Queue</th><th>Oldest wait</th><th>Busy/idle threads</th>"
             "<th>NUMA bind failures</th><th>Cgroup join failures</th>"
             "</tr>\n", r);
    for (i = 0; i < n && rows[i].s.in_use; i++) {
        env_row *e = &rows[i];
        ap_rprintf(r, "<tr><td>%s</td><td>%d/%d/%u</td><td>%" APR_UINT64_T_FMT
                   "</td><td>%" APR_UINT64_T_FMT "</td><td>%" APR_UINT64_T_FMT
                   "</td><td>%" APR_UINT64_T_FMT "</td><td>%" APR_UINT64_T_FMT
                   "</td><td>%u%%</td><td>%d</td><td>%" APR_INT64_T_FMT
                   " ms</td><td>%d/%d</td><td>%u</td><td>%u</td></tr>\n",
                   html_name(r->pool, e->s.name, sizeof(e->s.name)),
                   e->alive, e->idle,
                   e->s.max_processors, e->s.connections, e->s.requests,
                   e->s.dropped_timeout, e->s.dropped_channel,
                   e->s.misdirected, e->s.avail, e->s.queue_depth,
                   (apr_int64_t)e->s.oldest_wait_ms, e->busy_threads,
                   e->idle_threads, e->s.numa_failures,
                   e->s.cgroup_failures);
    }
    ap_rputs("</table>\n", r);
    if (view_only == -1) {
        ap_rprintf(r, "<p>Dropped for virtual hosts without environment: %"
                   APR_UINT64_T_FMT "</p>\n",
                   ph_shm_dropped_noenv(ph_segment));
    }
}

/* Key: value lines, one per key.  The configuration restricts environment
 * names to [A-Za-z0-9_.-] (config_value.c), but the name here is read
 * from the segment: any other byte is written %XX (ph_escape_key), so a
 * name can neither end a line nor look like another environment's key. */
static void env_stats_auto(request_rec *r, env_row *rows, int n, int muxes)
{
    int i, envs = 0;

    for (i = 0; i < n && rows[i].s.in_use; i++) {
        envs++;
    }
    ap_rprintf(r, "PeruserEnvironments: %d\n", envs);
    if (view_only == -1) {
        ap_rprintf(r, "PeruserMultiplexers: %d\n"
                   "PeruserDroppedNoEnvironment: %" APR_UINT64_T_FMT "\n",
                   muxes, ph_shm_dropped_noenv(ph_segment));
    }
    for (i = 0; i < envs; i++) {
        env_row *e = &rows[i];
        char k[PH_ESCAPE_SIZE(PH_SHM_NAME_MAX)];

        ph_escape_key(k, sizeof(k), e->s.name, sizeof(e->s.name));
        ap_rprintf(r, "Peruser.%s.ChildrenAlive: %d\n"
                   "Peruser.%s.ChildrenIdle: %d\n"
                   "Peruser.%s.ChildrenMax: %u\n"
                   "Peruser.%s.Connections: %" APR_UINT64_T_FMT "\n"
                   "Peruser.%s.Requests: %" APR_UINT64_T_FMT "\n"
                   "Peruser.%s.DroppedTimeout: %" APR_UINT64_T_FMT "\n"
                   "Peruser.%s.DroppedChannel: %" APR_UINT64_T_FMT "\n"
                   "Peruser.%s.Misdirected: %" APR_UINT64_T_FMT "\n"
                   "Peruser.%s.Avail: %u\n"
                   "Peruser.%s.QueueDepth: %d\n"
                   "Peruser.%s.OldestWaitMs: %" APR_INT64_T_FMT "\n"
                   "Peruser.%s.BusyThreads: %d\n"
                   "Peruser.%s.IdleThreads: %d\n"
                   "Peruser.%s.NumaBindFailures: %u\n"
                   "Peruser.%s.CgroupJoinFailures: %u\n",
                   k, e->alive, k, e->idle, k, e->s.max_processors,
                   k, e->s.connections, k, e->s.requests,
                   k, e->s.dropped_timeout, k, e->s.dropped_channel,
                   k, e->s.misdirected, k, e->s.avail, k, e->s.queue_depth,
                   k, (apr_int64_t)e->s.oldest_wait_ms, k, e->busy_threads,
                   k, e->idle_threads, k, e->s.numa_failures,
                   k, e->s.cgroup_failures);
    }
}

static int wants_stats(const request_rec *r)
{
    return r->args && ap_strstr_c(r->args, "peruser_stats") != NULL;
}

static int ph_status_hook(request_rec *r, int flags)
{
    env_row *rows;
    int n, muxes, idle_muxes;

    if (!ph_segment) {
        return OK;
    }
    rows = collect_envs(r->pool, &n, &muxes, &idle_muxes);
    if (flags & AP_STATUS_SHORT) {
        qsort(rows, (size_t)n, sizeof(*rows), by_activity);
        env_stats_auto(r, rows, n, muxes);
        return OK;
    }
    if (!(flags & AP_STATUS_NOTABLE) && (flags & AP_STATUS_EXTENDED)) {
        child_table(r, rows, muxes, idle_muxes);
        if (status_viewer && ph_factory_in_use()) {
            ph_status_others_html(r, ph_heritage_now.generation);
        }
    }
    if (wants_stats(r)) {
        qsort(rows, (size_t)n, sizeof(*rows), by_activity);
        env_stats_html(r, rows, n);
    }
    return OK;
}

void ph_status_register_hooks(void)
{
    APR_OPTIONAL_HOOK(ap, status_hook, ph_status_hook, NULL, NULL,
                      APR_HOOK_MIDDLE);
}
