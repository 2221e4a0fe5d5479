/*
 * segment.c -- creating the shared-memory segment and keeping its
 * environment and child records true, from the parent's side; and the
 * few writes a child makes about itself.
 */
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "httpd.h"
#include "apr_strings.h"
#include "http_log.h"
#include "http_main.h"

#include "ph_clock.h"
#include "ph_config.h"
#include "ph_env_scoreboard.h"
#include "ph_log.h"
#include "ph_parent.h"
#include "ph_segment.h"
#include "zero_pages.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

const ph_shm *ph_segment;

static gid_t monitor_gid = (gid_t)-1;

/* Parent, per generation: environments whose demand is worth a look
 * (flagged by a multiplexer, and not yet seen back at 0); the others'
 * regions are not read at all.  One byte per environment, by index. */
static unsigned char *demand_watch;
static int demand_watch_n;

static const char *segment_path(apr_pool_t *p);

/* The segment's directory must exist: the parent creates the file there
 * only after it has detached, so -t is the last chance to say so. */
static const char *check_segment_dir(apr_pool_t *p)
{
    const char *path = segment_path(p);
    char *dir;
    struct stat st;

    if (!path) {
        return "ExtendedScoreBoardFile: no valid path";
    }
    dir = ap_make_dirstr_parent(p, path);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return apr_psprintf(p, "ExtendedScoreBoardFile %s: the directory %s "
                            "does not exist (create it, or set "
                            "DefaultRuntimeDir or ExtendedScoreBoardFile "
                            "to one that does)", path, dir);
    }
    return NULL;
}

const char *ph_segment_check_config(apr_pool_t *p)
{
    struct group *gr;
    const char *msg;
    int i;

    if ((msg = check_segment_dir(p))) {
        return msg;
    }
    monitor_gid = (gid_t)-1;
    if (!ph_conf.monitor_group) {
        return NULL;
    }
    if (!(gr = getgrnam(ph_conf.monitor_group))) {
        return apr_psprintf(p, "ExtendedScoreBoardGroup: unknown group '%s'",
                            ph_conf.monitor_group);
    }
    monitor_gid = gr->gr_gid;
    /* The monitoring group reads the whole segment by path: an
     * environment running as that group could read every other
     * environment's figures from outside its mapping. */
    for (i = 0; i < ph_envs->nelts; i++) {
        const ph_env *env = APR_ARRAY_IDX(ph_envs, i, ph_env *);
        if (env->gid == monitor_gid) {
            return apr_psprintf(p, "Processor %s: its Group is the "
                                "ExtendedScoreBoardGroup '%s'; environments "
                                "must not run as the monitoring group",
                                env->name, ph_conf.monitor_group);
        }
    }
    return NULL;
}

static const char *segment_path(apr_pool_t *p)
{
    return ph_conf.segment_path
               ? ph_conf.segment_path
               : ap_runtime_dir_relative(p, PH_DEFAULT_SEGMENT_NAME);
}

/* One record per environment of this generation: the segment is new
 * for every generation. */
static uint32_t env_capacity_for(int nenvs)
{
    return nenvs > 0 ? (uint32_t)nenvs : 1;
}

static void publish_env(ph_shm_env *rec, const ph_env *env)
{
    ph_shm_seq_write_begin(&rec->seq);
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
    atomic_store(&rec->processors, 0);
    ph_shm_seq_write_end(&rec->seq);
}

/* The environment of this generation named like record r of the old
 * segment (whose MAIN only the parent writes), or -1. */
static int env_named_like(const ph_shm *old, uint32_t r)
{
    const ph_shm_env *rec = ph_shm_env_at(old, r);
    char name[PH_SHM_NAME_MAX];
    int i;

    if (!rec || !rec->in_use) {
        return -1;
    }
    memcpy(name, rec->name, sizeof(name));
    name[sizeof(name) - 1] = '\0';
    for (i = 0; i < ph_envs->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(ph_envs, i, ph_env *)->name, name)) {
            return i;
        }
    }
    return -1;
}

/*
 * The cumulative counters of every environment that goes on, from the old
 * segment into the new one (figures only: they are display, and they move
 * only from X's old region to X's new one).  Gauges, AVAIL, demand and
 * tickets start afresh: that is the healing.
 */
static void carry_counters(const ph_shm *old, const ph_shm *map)
{
    uint32_t r;

    for (r = 0; r < old->geom.envs; r++) {
        int i = env_named_like(old, r);
        ph_shm_env_stats *from = ph_shm_env_stats_at(old, r), *to;
        uint64_t c[8];

        if (i < 0 || !from || !(to = ph_shm_env_stats_at(map, (uint32_t)i))) {
            continue;
        }
        c[0] = atomic_load(&from->connections);
        c[1] = atomic_load(&from->requests);
        c[2] = atomic_load(&from->dropped_timeout);
        c[3] = atomic_load(&from->dropped_channel);
        c[4] = atomic_load(&from->misdirected);
        c[5] = atomic_load(&from->bytes_sent);
        c[6] = atomic_load(&from->responses_4xx);
        c[7] = atomic_load(&from->responses_5xx);
        /* Zero is what the new file holds: an environment never used
         * keeps its new region untouched (ph_shm_layout.h). */
        if ((c[0] | c[1] | c[2] | c[3] | c[4] | c[5] | c[6] | c[7]) == 0) {
            continue;
        }
        atomic_store(&to->connections, c[0]);
        atomic_store(&to->requests, c[1]);
        atomic_store(&to->dropped_timeout, c[2]);
        atomic_store(&to->dropped_channel, c[3]);
        atomic_store(&to->misdirected, c[4]);
        atomic_store(&to->bytes_sent, c[5]);
        atomic_store(&to->responses_4xx, c[6]);
        atomic_store(&to->responses_5xx, c[7]);
    }
    atomic_store(&ph_shm_mux_area_at(map)->dropped_noenv,
                 atomic_load(&ph_shm_mux_area_at(old)->dropped_noenv));
}

/*
 * Children of older generations still alive keep the old segment (they
 * write there until they exit); the new one lists them, under the
 * environment of the same name, so that monitors still see them.  Their
 * figures are copied clamped and without the gauges (idle/busy), which
 * they do not feed in the new segment.
 */
static void carry_children(const ph_shm *old, const ph_shm *map)
{
    ph_retained *r = ph_retained_state;
    int slot;

    for (slot = 0; slot < r->max_slot_used; slot++) {
        ph_shm_child *from, *to;
        ph_shm_child_stats *fs, *ts;
        int env;

        if (r->slots[slot].pid == 0
            || !(from = ph_shm_child_at(old, (uint32_t)slot))
            || !(to = ph_shm_child_at(map, (uint32_t)slot))) {
            continue;
        }
        fs = ph_shm_child_stats_of(old, (uint32_t)slot);
        env = from->type == PH_CHILD_TYPE_PROCESSOR && from->env_index >= 0
                  ? env_named_like(old, (uint32_t)from->env_index)
                  : -1;
        /* Its figures go to its environment's BODY in the new segment,
         * whose pages must exist first (a write to a page a full tmpfs
         * cannot give is a SIGBUS, here in the root parent): without
         * them it is listed without figures. */
        if (env >= 0 && ph_shm_env_reserve(map, (uint32_t)env) != 0) {
            env = -1;
        }
        ph_shm_seq_write_begin(&to->seq);
        to->type = from->type;
        to->pid = (int32_t)r->slots[slot].pid;
        to->generation = from->generation;
        to->env_index = env;
        to->numa_node = from->numa_node;
        to->started_us = from->started_us;
        ph_shm_seq_write_end(&to->seq);
        ts = ph_shm_child_stats_of(map, (uint32_t)slot);
        if (fs && ts) {
            uint32_t st = atomic_load(&fs->status);
            atomic_store(&ts->threads, (uint32_t)ph_shm_clamp(
                (int32_t)atomic_load(&fs->threads), 0,
                (int32_t)ph_conf.thread_limit));
            atomic_store(&ts->requests, atomic_load(&fs->requests));
            atomic_store(&ts->connections, atomic_load(&fs->connections));
            atomic_store(&ts->bytes_sent, atomic_load(&fs->bytes_sent));
            atomic_store(&ts->responses_4xx, atomic_load(&fs->responses_4xx));
            atomic_store(&ts->responses_5xx, atomic_load(&fs->responses_5xx));
            atomic_store(&ts->last_used_ms, atomic_load(&fs->last_used_ms));
            atomic_store(&ts->status, st <= PH_CHILD_READY ? st
                                                           : PH_CHILD_STANDBY);
        }
    }
}

int ph_segment_setup(apr_pool_t *pconf, ph_shm *map)
{
    const char *path = segment_path(pconf);
    int nenvs = ph_envs->nelts, rv, i;
    ph_shm_geometry g;
    ph_shm fresh;

    if (!path) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, ap_server_conf,
                     PHLOGNO(00130) "no valid path for the shared-memory "
                     "segment");
        return EINVAL;
    }
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
    for (i = 0; i < nenvs; i++) {
        ph_env *env = APR_ARRAY_IDX(ph_envs, i, ph_env *);
        env->shm_index = i;
        publish_env(ph_shm_env_at(&fresh, (uint32_t)i), env);
    }
    demand_watch = ph_zero_pages(pconf, (apr_size_t)nenvs + 1, 1);
    demand_watch_n = nenvs;
    if (map->magic == PH_SHM_MAP_MAGIC) {
        carry_counters(map, &fresh);
        carry_children(map, &fresh);
        /* Children of an older generation keep the old mapping (and
         * with it the old env region files, unlinked or not); this
         * process only needs the new one.  The old main file was
         * replaced by the rename; its env files go now. */
        ph_shm_unlink_env_files(map);
        ph_shm_unmap(map);
    }
    *map = fresh;
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf,
                 PHLOGNO(00132) "shared-memory segment %s: %u "
                 "environments, %u children, %u multiplexers, %"
                 APR_SIZE_T_FMT " bytes", path, g.env_capacity,
                 g.child_capacity, g.mux_capacity, map->size);
    ph_segment = map;
    atomic_store(&map->hdr->env_count, (uint32_t)nenvs);
    atomic_store(&map->hdr->generation,
                 (uint64_t)ph_heritage_now.generation);
    return 0;
}

int ph_segment_attach(apr_pool_t *pconf, ph_env *env, unsigned long ino)
{
    ph_shm *map = &ph_retained_state->segment;
    const char *path = segment_path(pconf);
    char err[512];
    int rv, i;

    if (!path) {
        return EINVAL;
    }
    /* Environment records are numbered as the configuration lists them,
     * in the parent and in every factory alike. */
    for (i = 0; i < ph_envs->nelts; i++) {
        ph_env *e = APR_ARRAY_IDX(ph_envs, i, ph_env *);
        e->shm_index = e->index;
    }
    /* Only the StatusEnvironment's processors look at other
     * environments' figures (status_hook.c): nobody else maps them. */
    rv = env ? ph_shm_attach_processor(map, path, (uint32_t)env->shm_index,
                                       ph_env_scoreboard_viewer() == env,
                                       (ino_t)ino, err, sizeof(err))
             : ph_shm_attach_multiplexer(map, path, (ino_t)ino, err,
                                         sizeof(err));
    if (rv != 0) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, ap_server_conf,
                     PHLOGNO(00532) "%s%s: %s", env ? "processor factory of "
                     "environment " : "the multiplexers' factory",
                     env ? env->name : "", err);
        return rv;
    }
    ph_segment = map;
    return 0;
}

void ph_segment_teardown(apr_pool_t *pconf, ph_shm *map)
{
    const char *path = segment_path(pconf);

    if (map->magic == PH_SHM_MAP_MAGIC) {
        ph_shm_unlink_env_files(map);
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
        || (uint32_t)env->shm_index >= ph_segment->geom.envs) {
        return -1;
    }
    return env->shm_index;
}

ph_shm_env *ph_segment_env(int env_index)
{
    int r = ph_segment_env_slot(env_index);
    return r < 0 ? NULL : ph_shm_env_at(ph_segment, (uint32_t)r);
}

ph_shm_env_stats *ph_segment_env_stats(int env_index)
{
    int r = ph_segment_env_slot(env_index);
    return r < 0 ? NULL : ph_shm_env_stats_at(ph_segment, (uint32_t)r);
}

ph_shm_child *ph_segment_child(int slot)
{
    if (!ph_segment || slot < 0) {
        return NULL;
    }
    return ph_shm_child_at(ph_segment, (uint32_t)slot);
}

ph_shm_child_stats *ph_segment_child_stats(int slot)
{
    if (!ph_segment || slot < 0) {
        return NULL;
    }
    return ph_shm_child_stats_of(ph_segment, (uint32_t)slot);
}

int ph_segment_child_prepare(int slot, ph_child_type type, const ph_env *env)
{
    int rv;

    if (!ph_segment || slot < 0) {
        return 0;
    }
    /* A processor writes its figures and claims tickets in its region's
     * BODY, which has no pages on tmpfs until its environment is in use:
     * reserve them now, so that a full tmpfs refuses this start instead of
     * killing the child with SIGBUS on its first write. */
    if (type == PH_CHILD_PROC && env && env->shm_index >= 0
        && (rv = ph_shm_env_reserve(ph_segment, (uint32_t)env->shm_index))
               != 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, ap_server_conf,
                     PHLOGNO(00141) "cannot start a processor for "
                     "environment %s: its region of the shared-memory "
                     "segment (%" APR_UINT64_T_FMT " bytes) cannot be "
                     "reserved", env->name, ph_segment->geom.region_stride);
        return rv;
    }
    ph_shm_child_prepare(ph_segment, (uint32_t)slot,
                         type == PH_CHILD_MUX ? PH_CHILD_TYPE_MULTIPLEXER
                                              : PH_CHILD_TYPE_PROCESSOR,
                         env ? env->shm_index : -1,
                         (uint32_t)ph_heritage_now.generation,
                         apr_time_now());
    return 0;
}

void ph_segment_child_forked(int slot, pid_t pid)
{
    if (ph_segment && slot >= 0) {
        ph_shm_child_forked(ph_segment, (uint32_t)slot, pid);
    }
}

int ph_segment_child_restrict(ph_child_type type, const ph_env *env)
{
    ph_shm *map = &ph_retained_state->segment;
    int rv;

    if (map->magic != PH_SHM_MAP_MAGIC) {
        return 0;
    }
    if (map->role == PH_SHM_ROLE_PROCESSOR && type == PH_CHILD_PROC && env
        && env->shm_index >= 0 && map->own_env == (uint32_t)env->shm_index) {
        return 0;   /* a factory's child: attached as this env already */
    }
    if (map->role == PH_SHM_ROLE_MULTIPLEXER && type == PH_CHILD_MUX) {
        return 0;   /* the multiplexers' factory's child: likewise */
    }
    if (type == PH_CHILD_MUX) {
        rv = ph_shm_restrict(map, PH_SHM_ROLE_MULTIPLEXER, 0);
    }
    else if (env && env->shm_index >= 0) {
        rv = ph_shm_restrict(map, PH_SHM_ROLE_PROCESSOR,
                             (uint32_t)env->shm_index);
    }
    else {
        rv = ph_shm_restrict(map, PH_SHM_ROLE_READER, 0);
    }
    if (rv != 0) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, ap_server_conf,
                     PHLOGNO(00140) "cannot restrict this child's mapping "
                     "of the shared-memory segment");
    }
    return rv;
}

void ph_segment_child_ready(int slot, unsigned threads)
{
    ph_shm_child_stats *st = ph_segment_child_stats(slot);

    if (!st) {
        return;
    }
    atomic_store(&st->threads, threads);
    atomic_store_explicit(&st->status, PH_CHILD_READY, memory_order_release);
}

int ph_segment_child_was_ready(int slot)
{
    ph_shm_child_stats *st = ph_segment_child_stats(slot);

    return st && atomic_load(&st->status) == PH_CHILD_READY;
}

void ph_segment_child_reaped(int slot, pid_t pid)
{
    unsigned freed;

    if (!ph_segment || slot < 0) {
        return;
    }
    freed = ph_shm_child_reaped(ph_segment, (uint32_t)slot, pid,
                                (int32_t)ph_conf.thread_limit);
    if (freed) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, ap_server_conf,
                     PHLOGNO(00133) "child %" APR_PID_T_FMT " of slot %d "
                     "left %u ticket(s); swept back to FREE", pid, slot,
                     freed);
    }
}

/* env's demand record and the bound its figure is clamped to (its
 * MaxProcessors, from the parent's own memory); NULL if none. */
static ph_shm_env_stats *demand_of(int env_index, uint32_t *limit)
{
    ph_shm_env_stats *rec = ph_segment_env_stats(env_index);
    ph_env *env = ph_env_by_index(env_index);
    long max;

    if (!rec || !env) {
        return NULL;
    }
    max = ph_env_limit(&env->limits, offsetof(ph_env_limits, max_processors));
    *limit = max > 0 ? (uint32_t)max : 0;
    return rec;
}

void ph_segment_collect_demand(void (*flagged)(int env_index))
{
    uint32_t w, b;
    uint64_t bits;

    if (!ph_segment || !demand_watch) {
        return;
    }
    for (w = 0; w < ph_segment->geom.demand_words; w++) {
        bits = ph_shm_demand_flags_take(ph_segment, w);
        for (b = 0; bits; b++, bits >>= 1) {
            /* record e is environment e (ph_segment_setup), bounded */
            uint64_t e = (uint64_t)w * 64 + b;
            if ((bits & 1) && e < (uint64_t)demand_watch_n) {
                demand_watch[e] = 1;
                flagged((int)e);
            }
        }
    }
}

uint32_t ph_segment_peek_demand(int env_index)
{
    uint32_t limit, d;
    ph_shm_env_stats *rec;

    if (!demand_watch || env_index < 0 || env_index >= demand_watch_n
        || !demand_watch[env_index]) {
        return 0;       /* never flagged: its region is not looked at */
    }
    if (!(rec = demand_of(env_index, &limit))) {
        return 0;
    }
    d = ph_shm_demand_peek(rec, limit);
    if (d == 0) {
        demand_watch[env_index] = 0;    /* until it is flagged again */
    }
    return d;
}

void ph_segment_settle_demand(int env_index, uint32_t served)
{
    uint32_t limit;
    ph_shm_env_stats *rec = demand_of(env_index, &limit);

    if (rec) {
        ph_shm_demand_settle(rec, served, limit);
    }
}

void ph_segment_set_processors(int env_index, int alive)
{
    ph_shm_env *rec = ph_segment_env(env_index);

    if (rec) {
        atomic_store(&rec->processors, (uint32_t)alive);
    }
}
