/*
 * pstat_model.c -- rows, totals, rates, sorting and filtering from
 * readings of the segment (see pstat_model.h).  Pure: no clock, no
 * segment, no terminal.
 */
#define _GNU_SOURCE             /* qsort_r, strcasestr */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pstat_model.h"

/* ---- samples ------------------------------------------------------- */

void pstat_sample_init(pstat_sample *s)
{
    memset(s, 0, sizeof(*s));
}

int pstat_sample_reserve(pstat_sample *s, uint32_t envs, uint32_t children)
{
    void *p;

    if (envs > s->envs_room) {
        p = realloc(s->envs, (size_t)envs * sizeof(*s->envs));
        if (p == NULL) {
            return ENOMEM;
        }
        s->envs = p;
        s->envs_room = envs;
    }
    if (children > s->children_room) {
        p = realloc(s->children, (size_t)children * sizeof(*s->children));
        if (p == NULL) {
            return ENOMEM;
        }
        s->children = p;
        p = realloc(s->procs, (size_t)children * sizeof(*s->procs));
        if (p == NULL) {
            return ENOMEM;
        }
        s->procs = p;
        s->children_room = children;
    }
    return 0;
}

void pstat_sample_free(pstat_sample *s)
{
    free(s->envs);
    free(s->children);
    free(s->procs);
    memset(s, 0, sizeof(*s));
}

void pstat_sample_swap(pstat_sample *a, pstat_sample *b)
{
    pstat_sample t = *a;

    *a = *b;
    *b = t;
}

int pstat_same_server(const pstat_sample *a, const pstat_sample *b)
{
    return a->server_pid == b->server_pid
           && a->birth_time_us == b->birth_time_us;
}

/* ---- rows ---------------------------------------------------------- */

void pstat_order_init(pstat_order *o)
{
    memset(o, 0, sizeof(*o));
    o->env_col = PSTAT_ECOL_REQ_RATE;
    o->child_col = PSTAT_CCOL_SLOT;
}

void pstat_model_init(pstat_model *m)
{
    memset(m, 0, sizeof(*m));
}

void pstat_model_free(pstat_model *m)
{
    free(m->envs);
    free(m->children);
    free(m->env_shown);
    free(m->child_shown);
    memset(m, 0, sizeof(*m));
}

static int model_reserve(pstat_model *m, uint32_t envs, uint32_t children)
{
    void *p, *q;

    if (envs > m->envs_room) {
        p = realloc(m->envs, (size_t)envs * sizeof(*m->envs));
        if (p != NULL) {
            m->envs = p;
        }
        q = realloc(m->env_shown, (size_t)envs * sizeof(*m->env_shown));
        if (q != NULL) {
            m->env_shown = q;
        }
        if (p == NULL || q == NULL) {
            return ENOMEM;
        }
        m->envs_room = envs;
    }
    if (children > m->children_room) {
        p = realloc(m->children, (size_t)children * sizeof(*m->children));
        if (p != NULL) {
            m->children = p;
        }
        q = realloc(m->child_shown,
                    (size_t)children * sizeof(*m->child_shown));
        if (q != NULL) {
            m->child_shown = q;
        }
        if (p == NULL || q == NULL) {
            return ENOMEM;
        }
        m->children_room = children;
    }
    return 0;
}

/* (now - before) / seconds, or unknown when the counter went backwards
 * (a record reset under us): a monitor must not invent traffic. */
static double rate_of(uint64_t now, uint64_t before, double seconds)
{
    if (seconds <= 0.0 || now < before) {
        return PSTAT_RATE_UNKNOWN;
    }
    return (double)(now - before) / seconds;
}

/* The row of cur's environment record index, or NULL.  Rows are in index
 * order, so a binary search finds it. */
static pstat_env_row *env_row_by_index(pstat_model *m, int32_t index)
{
    uint32_t lo = 0, hi = m->n_envs, mid;

    if (index < 0) {
        return NULL;
    }
    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (m->envs[mid].e.index == (uint32_t)index) {
            return &m->envs[mid];
        }
        if (m->envs[mid].e.index < (uint32_t)index) {
            lo = mid + 1;
        }
        else {
            hi = mid;
        }
    }
    return NULL;
}

/* Environment rows and their rates: prev's records are walked alongside
 * (both are in index order). */
static void build_envs(pstat_model *m, const pstat_sample *prev,
                       const pstat_sample *cur, double seconds)
{
    uint32_t i, j = 0;

    for (i = 0; i < cur->n_envs; i++) {
        pstat_env_row *r = &m->envs[i];
        const ph_shm_env_snapshot *e = &cur->envs[i];

        memset(r, 0, sizeof(*r));
        r->e = *e;
        r->dropped = e->dropped_timeout + e->dropped_channel;
        r->requests_per_s = PSTAT_RATE_UNKNOWN;
        r->connections_per_s = PSTAT_RATE_UNKNOWN;
        r->bytes_per_s = PSTAT_RATE_UNKNOWN;
        r->r4xx_per_s = PSTAT_RATE_UNKNOWN;
        r->r5xx_per_s = PSTAT_RATE_UNKNOWN;
        r->cpu_pct = PSTAT_RATE_UNKNOWN;
        r->numa_node = -1;
        if (prev == NULL) {
            continue;
        }
        while (j < prev->n_envs && prev->envs[j].index < e->index) {
            j++;
        }
        if (j < prev->n_envs && prev->envs[j].index == e->index
            && strcmp(prev->envs[j].name, e->name) == 0) {
            const ph_shm_env_snapshot *p = &prev->envs[j];

            r->requests_per_s = rate_of(e->requests, p->requests, seconds);
            r->connections_per_s = rate_of(e->connections, p->connections,
                                           seconds);
            r->bytes_per_s = rate_of(e->bytes_sent, p->bytes_sent, seconds);
            r->r4xx_per_s = rate_of(e->responses_4xx, p->responses_4xx,
                                    seconds);
            r->r5xx_per_s = rate_of(e->responses_5xx, p->responses_5xx,
                                    seconds);
        }
    }
    m->n_envs = cur->n_envs;
}

/* A child's CPU use over the interval, in % of one CPU: from the kernel's
 * tick counts of the same process (pid and start time) in both readings. */
static double cpu_pct_of(const pstat_proc *now, const pstat_proc *before,
                         double seconds, long hz)
{
    if (!now->ok || !before->ok || now->start_ticks != before->start_ticks
        || now->cpu_ticks < before->cpu_ticks || seconds <= 0.0 || hz <= 0) {
        return PSTAT_RATE_UNKNOWN;
    }
    return (double)(now->cpu_ticks - before->cpu_ticks) / (double)hz
           / seconds * 100.0;
}

/* What a processor adds to its environment's row. */
static void add_to_env(pstat_env_row *env, const pstat_child_row *r)
{
    const ph_shm_child_snapshot *c = &r->c;

    env->children_alive++;
    if (c->busy_threads <= 0) {
        env->children_idle++;
    }
    env->busy_threads += c->busy_threads > 0 ? c->busy_threads : 0;
    env->idle_threads += c->idle_threads > 0 ? c->idle_threads : 0;
    if (r->cpu_pct >= 0.0) {
        env->cpu_pct = (env->cpu_pct > 0.0 ? env->cpu_pct : 0.0)
                       + r->cpu_pct;
    }
    /* A sum with a part missing would read as the whole: unknown. */
    if (env->children_alive == 1) {
        env->rss_bytes = r->rss_bytes;
        env->pss_bytes = r->pss_bytes;
        env->numa_node = c->numa_node;
        return;
    }
    env->rss_bytes = env->rss_bytes < 0 || r->rss_bytes < 0
                     ? -1 : env->rss_bytes + r->rss_bytes;
    env->pss_bytes = env->pss_bytes < 0 || r->pss_bytes < 0
                     ? -1 : env->pss_bytes + r->pss_bytes;
    if (env->numa_node != c->numa_node) {
        env->numa_node = PSTAT_NODE_MIXED;
    }
}

static void build_children(pstat_model *m, const pstat_sample *prev,
                           const pstat_sample *cur, double seconds)
{
    uint32_t i, j = 0;
    int64_t now_ms = cur->taken_us / 1000;
    static const pstat_proc none = { 0, 0, 0, 0, -1, -1, -1 };

    for (i = 0; i < cur->n_children; i++) {
        pstat_child_row *r = &m->children[i];
        const ph_shm_child_snapshot *c = &cur->children[i];
        pstat_env_row *env = NULL;

        const pstat_proc *proc = cur->procs ? &cur->procs[i] : &none;

        memset(r, 0, sizeof(*r));
        r->c = *c;
        r->requests_per_s = PSTAT_RATE_UNKNOWN;
        r->bytes_per_s = PSTAT_RATE_UNKNOWN;
        r->r4xx_per_s = PSTAT_RATE_UNKNOWN;
        r->r5xx_per_s = PSTAT_RATE_UNKNOWN;
        r->cpu_pct = PSTAT_RATE_UNKNOWN;
        r->rss_bytes = proc->ok ? proc->rss_bytes : -1;
        r->pss_bytes = proc->ok ? proc->pss_bytes : -1;
        r->uid = proc->ok ? proc->uid : -1;
        /* last_used_ms is the writer's CLOCK_MONOTONIC, the same clock as
         * ours on the same machine; a future value means "just now". */
        r->idle_ms = -1;
        if (c->last_used_ms > 0) {
            r->idle_ms = now_ms > c->last_used_ms ? now_ms - c->last_used_ms
                                                  : 0;
        }
        if (c->type == PH_CHILD_TYPE_PROCESSOR) {
            env = env_row_by_index(m, c->env_index);
        }
        if (prev != NULL) {
            while (j < prev->n_children
                   && prev->children[j].slot < c->slot) {
                j++;
            }
        }
        if (prev != NULL && j < prev->n_children
            && prev->children[j].slot == c->slot
            && prev->children[j].pid == c->pid) {
            const ph_shm_child_snapshot *p = &prev->children[j];

            r->requests_per_s = rate_of(c->requests, p->requests, seconds);
            r->bytes_per_s = rate_of(c->bytes_sent, p->bytes_sent, seconds);
            r->r4xx_per_s = rate_of(c->responses_4xx, p->responses_4xx,
                                    seconds);
            r->r5xx_per_s = rate_of(c->responses_5xx, p->responses_5xx,
                                    seconds);
            if (cur->procs && prev->procs) {
                r->cpu_pct = cpu_pct_of(proc, &prev->procs[j], seconds,
                                        cur->hz);
            }
        }
        if (env != NULL) {
            memcpy(r->env_name, env->e.name, sizeof(r->env_name));
            add_to_env(env, r);
        }
    }
    m->n_children = cur->n_children;
}

static void build_totals(pstat_model *m, const pstat_sample *cur)
{
    pstat_totals *t = &m->totals;
    uint32_t i;

    memset(t, 0, sizeof(*t));
    t->environments = m->n_envs;
    t->dropped_noenv = cur->dropped_noenv;
    for (i = 0; i < m->n_envs; i++) {
        const pstat_env_row *r = &m->envs[i];

        t->busy_threads += r->busy_threads;
        t->idle_threads += r->idle_threads;
        t->requests += r->e.requests;
        t->connections += r->e.connections;
        t->dropped_timeout += r->e.dropped_timeout;
        t->dropped_channel += r->e.dropped_channel;
        t->misdirected += r->e.misdirected;
        t->bytes_sent += r->e.bytes_sent;
        t->responses_4xx += r->e.responses_4xx;
        t->responses_5xx += r->e.responses_5xx;
        if (r->bytes_per_s >= 0.0) {
            t->bytes_per_s += r->bytes_per_s;
        }
        if (r->r4xx_per_s >= 0.0) {
            t->r4xx_per_s += r->r4xx_per_s;
        }
        if (r->r5xx_per_s >= 0.0) {
            t->r5xx_per_s += r->r5xx_per_s;
        }
        /* An environment whose rate is unknown (new this interval) adds
         * nothing rather than making the whole total unknown. */
        if (r->requests_per_s >= 0.0) {
            t->requests_per_s += r->requests_per_s;
        }
        if (r->connections_per_s >= 0.0) {
            t->connections_per_s += r->connections_per_s;
        }
    }
    t->dropped = t->dropped_timeout + t->dropped_channel;
    if (!m->rates) {
        t->requests_per_s = PSTAT_RATE_UNKNOWN;
        t->connections_per_s = PSTAT_RATE_UNKNOWN;
        t->bytes_per_s = PSTAT_RATE_UNKNOWN;
        t->r4xx_per_s = PSTAT_RATE_UNKNOWN;
        t->r5xx_per_s = PSTAT_RATE_UNKNOWN;
    }
    for (i = 0; i < m->n_children; i++) {
        t->children++;
        if (m->children[i].c.type == PH_CHILD_TYPE_PROCESSOR) {
            t->processors++;
        }
        else if (m->children[i].c.type == PH_CHILD_TYPE_MULTIPLEXER) {
            t->multiplexers++;
        }
    }
}

int pstat_model_build(pstat_model *m, const pstat_sample *prev,
                      const pstat_sample *cur)
{
    double seconds = 0.0;
    uint32_t i;

    if (model_reserve(m, cur->n_envs, cur->n_children) != 0) {
        return ENOMEM;
    }
    if (prev != NULL && (!pstat_same_server(prev, cur)
                         || cur->taken_us <= prev->taken_us)) {
        prev = NULL;            /* a restart between the two readings */
    }
    if (prev != NULL) {
        seconds = (double)(cur->taken_us - prev->taken_us) / 1e6;
    }
    m->server_pid = cur->server_pid;
    m->birth_time_us = cur->birth_time_us;
    m->uptime_s = cur->wall_us > cur->birth_time_us
                  ? (cur->wall_us - cur->birth_time_us) / 1000000 : 0;
    m->generation = cur->generation;
    m->env_count = cur->env_count;
    m->layout_major = cur->layout_major;
    m->layout_minor = cur->layout_minor;
    m->env_capacity = cur->env_capacity;
    m->child_capacity = cur->child_capacity;
    m->mux_capacity = cur->mux_capacity;
    m->busy_records = cur->busy_records;
    m->alive = cur->alive;
    m->taken_us = cur->taken_us;
    m->wall_us = cur->wall_us;
    m->rates = prev != NULL;
    m->interval_s = seconds;

    build_envs(m, prev, cur, seconds);
    build_children(m, prev, cur, seconds);
    build_totals(m, cur);

    m->n_env_shown = m->n_envs;
    for (i = 0; i < m->n_envs; i++) {
        m->env_shown[i] = i;
    }
    m->n_child_shown = m->n_children;
    for (i = 0; i < m->n_children; i++) {
        m->child_shown[i] = i;
    }
    return 0;
}

/* ---- arranging ----------------------------------------------------- */

int pstat_filter_match(const char *filter, const char *name)
{
    return filter[0] == '\0' || strcasestr(name, filter) != NULL;
}

typedef struct sort_ctx {
    const pstat_model *m;
    int col;
    int reverse;
} sort_ctx;

/* -1, 0, 1 for ascending order of a and b. */
#define CMP(a, b) (((a) > (b)) - ((a) < (b)))

int pstat_env_col_descends(int col)
{
    return col != PSTAT_ECOL_NAME && col != PSTAT_ECOL_USER
           && col != PSTAT_ECOL_NODE;
}

int pstat_child_col_descends(int col)
{
    switch (col) {
    case PSTAT_CCOL_BUSY:
    case PSTAT_CCOL_IDLE:
    case PSTAT_CCOL_REQUESTS:
    case PSTAT_CCOL_REQ_RATE:
    case PSTAT_CCOL_BYTE_RATE:
    case PSTAT_CCOL_4XX_RATE:
    case PSTAT_CCOL_5XX_RATE:
    case PSTAT_CCOL_CPU:
    case PSTAT_CCOL_RSS:
    case PSTAT_CCOL_PSS:
        return 1;
    default:
        return 0;
    }
}

static int env_key_cmp(const pstat_env_row *a, const pstat_env_row *b,
                       int col)
{
    switch (col) {
    case PSTAT_ECOL_NAME:
        return strcmp(a->e.name, b->e.name);
    case PSTAT_ECOL_CHILDREN:
        return CMP(a->children_alive, b->children_alive);
    case PSTAT_ECOL_BUSY:
        return CMP(a->busy_threads, b->busy_threads);
    case PSTAT_ECOL_IDLE:
        return CMP(a->idle_threads, b->idle_threads);
    case PSTAT_ECOL_REQ_RATE:
        return CMP(a->requests_per_s, b->requests_per_s);
    case PSTAT_ECOL_CONN_RATE:
        return CMP(a->connections_per_s, b->connections_per_s);
    case PSTAT_ECOL_DROPPED:
        return CMP(a->dropped, b->dropped);
    case PSTAT_ECOL_DROP_DETAIL:
        return CMP(a->e.dropped_timeout, b->e.dropped_timeout);
    case PSTAT_ECOL_AVAIL:
        return CMP(a->e.avail, b->e.avail);
    case PSTAT_ECOL_QUEUE:
        return CMP(a->e.queue_depth, b->e.queue_depth);
    case PSTAT_ECOL_OLDEST:
        return CMP(a->e.oldest_wait_ms, b->e.oldest_wait_ms);
    case PSTAT_ECOL_BYTE_RATE:
        return CMP(a->bytes_per_s, b->bytes_per_s);
    case PSTAT_ECOL_4XX_RATE:
        return CMP(a->r4xx_per_s, b->r4xx_per_s);
    case PSTAT_ECOL_5XX_RATE:
        return CMP(a->r5xx_per_s, b->r5xx_per_s);
    case PSTAT_ECOL_CPU:
        return CMP(a->cpu_pct, b->cpu_pct);
    case PSTAT_ECOL_RSS:
        return CMP(a->rss_bytes, b->rss_bytes);
    case PSTAT_ECOL_PSS:
        return CMP(a->pss_bytes, b->pss_bytes);
    case PSTAT_ECOL_USER:
        return CMP(a->e.uid, b->e.uid);
    case PSTAT_ECOL_NODE:
        return CMP(a->numa_node, b->numa_node);
    default:
        return 0;
    }
}

static int child_key_cmp(const pstat_child_row *a, const pstat_child_row *b,
                         int col)
{
    switch (col) {
    case PSTAT_CCOL_SLOT:
        return CMP(a->c.slot, b->c.slot);
    case PSTAT_CCOL_PID:
        return CMP(a->c.pid, b->c.pid);
    case PSTAT_CCOL_TYPE:
        return CMP(a->c.type, b->c.type);
    case PSTAT_CCOL_STATUS:
        return CMP(a->c.status, b->c.status);
    case PSTAT_CCOL_ENV:
        return strcmp(a->env_name, b->env_name);
    case PSTAT_CCOL_NODE:
        return CMP(a->c.numa_node, b->c.numa_node);
    case PSTAT_CCOL_BUSY:
        return CMP(a->c.busy_threads, b->c.busy_threads);
    case PSTAT_CCOL_IDLE:
        return CMP(a->c.idle_threads, b->c.idle_threads);
    case PSTAT_CCOL_REQUESTS:
        return CMP(a->c.requests, b->c.requests);
    case PSTAT_CCOL_REQ_RATE:
        return CMP(a->requests_per_s, b->requests_per_s);
    case PSTAT_CCOL_BYTE_RATE:
        return CMP(a->bytes_per_s, b->bytes_per_s);
    case PSTAT_CCOL_4XX_RATE:
        return CMP(a->r4xx_per_s, b->r4xx_per_s);
    case PSTAT_CCOL_5XX_RATE:
        return CMP(a->r5xx_per_s, b->r5xx_per_s);
    case PSTAT_CCOL_CPU:
        return CMP(a->cpu_pct, b->cpu_pct);
    case PSTAT_CCOL_RSS:
        return CMP(a->rss_bytes, b->rss_bytes);
    case PSTAT_CCOL_PSS:
        return CMP(a->pss_bytes, b->pss_bytes);
    case PSTAT_CCOL_USER:
        return CMP(a->uid, b->uid);
    case PSTAT_CCOL_LAST_USED:
        /* Most recently used first; never used (-1) last. */
        if ((a->idle_ms < 0) != (b->idle_ms < 0)) {
            return a->idle_ms < 0 ? 1 : -1;
        }
        return CMP(a->idle_ms, b->idle_ms);
    default:
        return 0;
    }
}

/* Equal keys keep record order whatever the direction, so rows do not
 * swap places between refreshes. */
static int env_cmp(const void *pa, const void *pb, void *arg)
{
    const sort_ctx *x = arg;
    const pstat_env_row *a = &x->m->envs[*(const uint32_t *)pa];
    const pstat_env_row *b = &x->m->envs[*(const uint32_t *)pb];
    int c = env_key_cmp(a, b, x->col);

    if (pstat_env_col_descends(x->col) != x->reverse) {
        c = -c;
    }
    return c != 0 ? c : CMP(a->e.index, b->e.index);
}

static int child_cmp(const void *pa, const void *pb, void *arg)
{
    const sort_ctx *x = arg;
    const pstat_child_row *a = &x->m->children[*(const uint32_t *)pa];
    const pstat_child_row *b = &x->m->children[*(const uint32_t *)pb];
    int c = child_key_cmp(a, b, x->col);

    if (pstat_child_col_descends(x->col) != x->reverse) {
        c = -c;
    }
    return c != 0 ? c : CMP(a->c.slot, b->c.slot);
}

void pstat_model_arrange(pstat_model *m, const pstat_order *o)
{
    sort_ctx x;
    uint32_t i, n;

    for (i = 0, n = 0; i < m->n_envs; i++) {
        if (pstat_filter_match(o->filter, m->envs[i].e.name)) {
            m->env_shown[n++] = i;
        }
    }
    m->n_env_shown = n;
    x.m = m;
    x.col = o->env_col;
    x.reverse = o->env_reverse != 0;
    qsort_r(m->env_shown, n, sizeof(*m->env_shown), env_cmp, &x);

    /* A filter names environments: multiplexers belong to none and are
     * shown only when there is no filter. */
    for (i = 0, n = 0; i < m->n_children; i++) {
        const pstat_child_row *r = &m->children[i];

        if (o->filter[0] == '\0'
            || (r->env_name[0] != '\0'
                && pstat_filter_match(o->filter, r->env_name))) {
            m->child_shown[n++] = i;
        }
    }
    m->n_child_shown = n;
    x.col = o->child_col;
    x.reverse = o->child_reverse != 0;
    qsort_r(m->child_shown, n, sizeof(*m->child_shown), child_cmp, &x);
}

const char *pstat_type_name(uint32_t type)
{
    switch (type) {
    case PH_CHILD_TYPE_NONE:        return "NONE";
    case PH_CHILD_TYPE_MULTIPLEXER: return "MULTIPLEXER";
    case PH_CHILD_TYPE_PROCESSOR:   return "PROCESSOR";
    default:                        return "UNKNOWN";
    }
}

const char *pstat_status_name(uint32_t status)
{
    switch (status) {
    case PH_CHILD_STANDBY:  return "STANDBY";
    case PH_CHILD_STARTING: return "STARTING";
    case PH_CHILD_READY:    return "READY";
    case PH_CHILD_ACTIVE:   return "ACTIVE";
    default:                return "UNKNOWN";
    }
}
