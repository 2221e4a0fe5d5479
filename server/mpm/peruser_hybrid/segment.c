/*
 * segment.c -- creating the shared-memory segment and keeping its
 * environment and child records true, from the parent's side; and the
 * few writes a child makes about itself.
 */
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "httpd.h"
#include "apr_strings.h"
#include "http_log.h"
#include "http_main.h"

#include "ph_clock.h"
#include "ph_config.h"
#include "ph_log.h"
#include "ph_segment.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

const ph_shm *ph_segment;

static gid_t monitor_gid = (gid_t)-1;

const char *ph_segment_check_config(apr_pool_t *p)
{
    struct group *gr;

    monitor_gid = (gid_t)-1;
    if (!ph_conf.monitor_group) {
        return NULL;
    }
    if (!(gr = getgrnam(ph_conf.monitor_group))) {
        return apr_psprintf(p, "ExtendedScoreBoardGroup: unknown group '%s'",
                            ph_conf.monitor_group);
    }
    monitor_gid = gr->gr_gid;
    return NULL;
}

static const char *segment_path(apr_pool_t *p)
{
    return ph_conf.segment_path
               ? ph_conf.segment_path
               : ap_runtime_dir_relative(p, PH_DEFAULT_SEGMENT_NAME);
}

/* Environments need room for graceful restarts that add some. */
static uint32_t env_capacity_for(int nenvs)
{
    uint32_t want = (uint32_t)nenvs * 2;
    return want < 64 ? 64 : want;
}

static int geometry_fits(const ph_shm *map, int nenvs)
{
    const ph_shm_header *h = map->hdr;

    return map->magic == PH_SHM_MAP_MAGIC
           && h->env_capacity >= (uint32_t)nenvs
           && h->child_capacity == (uint32_t)ph_conf.server_limit
           && h->mux_capacity == (uint32_t)ph_conf.max_multiplexers;
}

/* A record taken by a different environment starts from zero. */
static void reset_env_figures(ph_shm_env *rec)
{
    atomic_store(&rec->connections, 0);
    atomic_store(&rec->requests, 0);
    atomic_store(&rec->dropped_timeout, 0);
    atomic_store(&rec->dropped_channel, 0);
    atomic_store(&rec->misdirected, 0);
    atomic_store(&rec->queue_depth, 0);
    atomic_store(&rec->idle_workers, 0);
    atomic_store(&rec->in_flight, 0);
    atomic_store(&rec->avail, 100);
    atomic_store(&rec->demand, 0);
    atomic_store(&rec->processors, 0);
}

static void publish_env(ph_shm_env *rec, const ph_env *env, int fresh)
{
    ph_shm_seq_write_begin(&rec->seq);
    if (fresh) {
        reset_env_figures(rec);
    }
    rec->in_use = 1;
    memset(rec->name, 0, sizeof(rec->name));
    apr_cpystrn(rec->name, env->name, sizeof(rec->name));
    rec->uid = (uint32_t)env->uid;
    rec->gid = (uint32_t)env->gid;
    rec->min_processors = (uint32_t)ph_env_limit(&env->limits,
                              offsetof(ph_env_limits, min_processors));
    rec->max_processors = (uint32_t)ph_env_limit(&env->limits,
                              offsetof(ph_env_limits, max_processors));
    rec->threads_per_child = (uint32_t)ph_conf.threads_per_child;
    rec->wait_timeout_ms = (uint32_t)(ph_conf.wait_timeout_s * 1000);
    rec->wait_levels = (uint32_t)ph_conf.wait_levels;
    ph_shm_seq_write_end(&rec->seq);
}

static void retire_env(ph_shm_env *rec)
{
    ph_shm_seq_write_begin(&rec->seq);
    rec->in_use = 0;
    ph_shm_seq_write_end(&rec->seq);
}

/*
 * Bind every environment of this generation to a record: the record that
 * already carries its name, else one no environment uses (reset).  Records
 * of environments that are gone are retired.  Old-generation children
 * keep writing to the records of their environments' names, which is
 * where those figures belong.
 */
static void bind_env_records(ph_shm *map)
{
    uint32_t cap = map->hdr->env_capacity, r;
    unsigned char *taken = calloc(cap, 1);
    int i;

    for (i = 0; i < ph_envs->nelts; i++) {
        ph_env *env = APR_ARRAY_IDX(ph_envs, i, ph_env *);
        env->shm_index = -1;
        for (r = 0; r < cap; r++) {
            ph_shm_env *rec = ph_shm_env_at(map, r);
            if (!taken[r] && rec->in_use
                && !strncmp(rec->name, env->name, sizeof(rec->name))) {
                env->shm_index = (int)r;
                taken[r] = 1;
                publish_env(rec, env, 0);
                break;
            }
        }
    }
    for (r = 0; r < cap; r++) {
        ph_shm_env *rec = ph_shm_env_at(map, r);
        if (!taken[r] && rec->in_use) {
            retire_env(rec);
        }
    }
    for (i = 0, r = 0; i < ph_envs->nelts; i++) {
        ph_env *env = APR_ARRAY_IDX(ph_envs, i, ph_env *);
        if (env->shm_index >= 0) {
            continue;
        }
        while (r < cap && taken[r]) {
            r++;
        }
        /* env_capacity_for() leaves room for every environment. */
        env->shm_index = (int)r;
        taken[r] = 1;
        publish_env(ph_shm_env_at(map, r), env, 1);
    }
    free(taken);
}

int ph_segment_setup(apr_pool_t *pconf, ph_shm *map)
{
    const char *path = segment_path(pconf);
    int nenvs = ph_envs->nelts, rv;

    if (!path) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, ap_server_conf,
                     PHLOGNO(00130) "no valid path for the shared-memory "
                     "segment");
        return EINVAL;
    }
    if (!geometry_fits(map, nenvs) || ph_shm_replaced(map, path)) {
        ph_shm_geometry g;
        ph_shm fresh;

        g.env_capacity = env_capacity_for(nenvs);
        g.child_capacity = (uint32_t)ph_conf.server_limit;
        g.mux_capacity = (uint32_t)ph_conf.max_multiplexers;
        g.tickets_per_partition = PH_TICKETS_PER_PARTITION;
        if ((rv = ph_shm_create(&fresh, path, &g, monitor_gid)) != 0) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, rv, ap_server_conf,
                         PHLOGNO(00131) "cannot create the shared-memory "
                         "segment %s (%" APR_UINT64_T_FMT " bytes)", path,
                         ph_shm_size_for(&g));
            return rv;
        }
        /* Children of an older generation keep the old mapping; this
         * process only needs the new one. */
        if (map->magic == PH_SHM_MAP_MAGIC) {
            ph_shm_unmap(map);
        }
        *map = fresh;
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, ap_server_conf,
                     PHLOGNO(00132) "shared-memory segment %s: %u "
                     "environments, %u children, %u multiplexers, %"
                     APR_SIZE_T_FMT " bytes", path, g.env_capacity, g.child_capacity,
                     g.mux_capacity, map->size);
    }
    ph_segment = map;
    bind_env_records(map);
    atomic_store(&map->hdr->env_count, (uint32_t)nenvs);
    atomic_store(&map->hdr->generation,
                 (uint64_t)ph_heritage_now.generation);
    return 0;
}

void ph_segment_teardown(apr_pool_t *pconf, ph_shm *map)
{
    const char *path = segment_path(pconf);

    if (map->magic == PH_SHM_MAP_MAGIC) {
        ph_shm_unmap(map);
    }
    ph_segment = NULL;
    if (path && unlink(path) < 0 && errno != ENOENT) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, errno, ap_server_conf,
                     PHLOGNO(00134) "cannot remove %s", path);
    }
}

int ph_segment_env_slot(int env_index)
{
    ph_env *env = ph_env_by_index(env_index);

    if (!ph_segment || !env || env->shm_index < 0
        || (uint32_t)env->shm_index >= ph_segment->hdr->env_capacity) {
        return -1;
    }
    return env->shm_index;
}

ph_shm_env *ph_segment_env(int env_index)
{
    int r = ph_segment_env_slot(env_index);
    return r < 0 ? NULL : ph_shm_env_at(ph_segment, (uint32_t)r);
}

ph_shm_child *ph_segment_child(int slot)
{
    if (!ph_segment || slot < 0
        || (uint32_t)slot >= ph_segment->hdr->child_capacity) {
        return NULL;
    }
    return ph_shm_child_at(ph_segment, (uint32_t)slot);
}

void ph_segment_child_prepare(int slot, ph_child_type type,
                              const ph_env *env)
{
    ph_shm_child *c = ph_segment_child(slot);

    if (!c) {
        return;
    }
    ph_shm_seq_write_begin(&c->seq);
    c->type = type == PH_CHILD_MUX ? PH_CHILD_TYPE_MULTIPLEXER
                                   : PH_CHILD_TYPE_PROCESSOR;
    c->pid = 0;
    c->generation = (uint32_t)ph_heritage_now.generation;
    c->env_index = env ? env->shm_index : -1;
    c->status = PH_CHILD_STARTING;
    c->numa_node = -1;
    c->threads = 0;
    atomic_store(&c->busy_threads, 0);
    atomic_store(&c->idle_threads, 0);
    atomic_store(&c->requests, 0);
    atomic_store(&c->connections, 0);
    atomic_store(&c->last_used_ms, 0);
    atomic_store(&c->room, 0);
    c->started_us = apr_time_now();
    ph_shm_seq_write_end(&c->seq);
}

void ph_segment_child_ready(int slot, unsigned threads)
{
    ph_shm_child *c = ph_segment_child(slot);

    if (!c) {
        return;
    }
    ph_shm_seq_write_begin(&c->seq);
    c->pid = (int32_t)getpid();
    c->threads = threads;
    c->status = PH_CHILD_READY;
    ph_shm_seq_write_end(&c->seq);
}

int ph_segment_child_was_ready(int slot)
{
    ph_shm_child *c = ph_segment_child(slot);
    return c && c->status != PH_CHILD_STARTING && c->pid != 0;
}

void ph_segment_child_reaped(int slot, pid_t pid)
{
    ph_shm_child *c = ph_segment_child(slot);
    unsigned freed;

    if (!c) {
        return;
    }
    freed = ph_ticket_sweep_pid(ph_segment, pid);
    if (freed) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, ap_server_conf,
                     PHLOGNO(00133) "child %" APR_PID_T_FMT " of slot %d "
                     "left %u ticket(s); swept back to FREE", pid, slot,
                     freed);
    }
    /* What it counted as idle in its environment's figure is not idle any
     * more (display only: capacity is derived from child records). */
    if (c->type == PH_CHILD_TYPE_PROCESSOR && c->env_index >= 0
        && (uint32_t)c->env_index < ph_segment->hdr->env_capacity) {
        int32_t idle = atomic_load(&c->idle_threads);
        if (idle > 0 && idle <= (int32_t)ph_conf.thread_limit) {
            atomic_fetch_sub(&ph_shm_env_at(ph_segment,
                                            (uint32_t)c->env_index)
                                 ->idle_workers, idle);
        }
    }
    ph_shm_seq_write_begin(&c->seq);
    c->pid = 0;
    c->type = PH_CHILD_TYPE_NONE;
    c->status = PH_CHILD_STANDBY;
    c->env_index = -1;
    atomic_store(&c->busy_threads, 0);
    atomic_store(&c->idle_threads, 0);
    ph_shm_seq_write_end(&c->seq);
}

uint32_t ph_segment_take_demand(int env_index)
{
    ph_shm_env *rec = ph_segment_env(env_index);
    return rec ? ph_shm_demand_take(rec) : 0;
}

void ph_segment_set_processors(int env_index, int alive)
{
    ph_shm_env *rec = ph_segment_env(env_index);

    if (rec) {
        atomic_store(&rec->processors, (uint32_t)alive);
    }
}
