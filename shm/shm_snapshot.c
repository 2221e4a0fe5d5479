/*
 * shm_snapshot.c -- consistent copies of environment and child records,
 * for pstat and mod_status.
 *
 * The identity fields of a record (name, uid, limits; a child's pid,
 * type, status ...) belong together and are written under the record's
 * seqlock, so they are copied inside a read_begin/read_retry loop.  The
 * counters are independent atomics with many writers: each is read once,
 * relaxed; a snapshot of counters is a set of recent values, not an
 * instant, which is all a monitor needs.
 *
 * A reader must not hang on a record whose writer died mid-update (the
 * counter stays odd until the parent repairs it), hence the bounded number
 * of tries.  Nothing read here is trusted: the name is NUL-terminated
 * whatever the segment holds, and every record is located through the
 * private geometry.  A child's figures come from the region of the env
 * MAIN (parent-written) says it belongs to, so a processor of X cannot
 * make figures appear for a child of Y.
 */
#include <sched.h>
#include <string.h>

#include "ph_shm.h"
#include "shm_internal.h"

/* Tries before a record is reported busy; after the first SPIN_TRIES the
 * reader yields the CPU, so that a writer preempted on this core can end
 * its write. */
#define SNAPSHOT_TRIES  1000
#define SPIN_TRIES      100

static void pause_for_writer(unsigned tries)
{
    if (tries >= SPIN_TRIES) {
        sched_yield();
    }
#if defined(__x86_64__) || defined(__i386__)
    else {
        __builtin_ia32_pause();
    }
#endif
}

static void copy_env_identity(const ph_shm_env *e, ph_shm_env_snapshot *out)
{
    out->in_use = e->in_use != 0;
    memcpy(out->name, e->name, sizeof(out->name));
    out->uid = e->uid;
    out->gid = e->gid;
    out->min_processors = e->min_processors;
    out->max_processors = e->max_processors;
    out->threads_per_child = e->threads_per_child;
    out->wait_timeout_ms = e->wait_timeout_ms;
    out->wait_levels = e->wait_levels;
    out->processors = atomic_load_explicit(&e->processors,
                                           memory_order_relaxed);
}

#define LOAD(field) atomic_load_explicit(&(field), memory_order_relaxed)

static void copy_env_counters(const ph_shm_env_stats *e,
                              ph_shm_env_snapshot *out)
{
    out->connections = LOAD(e->connections);
    out->requests = LOAD(e->requests);
    out->dropped_timeout = LOAD(e->dropped_timeout);
    out->dropped_channel = LOAD(e->dropped_channel);
    out->misdirected = LOAD(e->misdirected);
    out->queue_depth = LOAD(e->queue_depth);
    out->idle_workers = LOAD(e->idle_workers);
    out->in_flight = LOAD(e->in_flight);
    out->avail = ph_shm_avail(e);
    out->demand = LOAD(e->demand);
    out->numa_failures = LOAD(e->numa_failures);
    out->bytes_sent = LOAD(e->bytes_sent);
    out->responses_4xx = LOAD(e->responses_4xx);
    out->responses_5xx = LOAD(e->responses_5xx);
    out->cgroup_failures = LOAD(e->cgroup_failures);
}

/*
 * Age of the oldest connection waiting for env in any multiplexer: each
 * multiplexer keeps the start of its own oldest wait in its partition for
 * that environment (0 = nobody waits), so the oldest overall is the
 * smallest non-zero start.
 */
static int64_t oldest_wait(const ph_shm *shm, uint32_t env, int64_t now_ms)
{
    int64_t oldest = 0, since;
    uint32_t m;

    for (m = 0; m < shm->geom.muxes; m++) {
        since = LOAD(ph_shm_geom_partition(shm, m, env)
                         ->oldest_wait_since_ms);
        if (since > 0 && (oldest == 0 || since < oldest)) {
            oldest = since;
        }
    }
    if (oldest == 0 || oldest >= now_ms) {
        return 0;       /* nobody waits, or a clock from the future */
    }
    return now_ms - oldest;
}

int ph_shm_env_snapshot_get(const ph_shm *shm, uint32_t env, int64_t now_ms,
                            ph_shm_env_snapshot *out)
{
    const ph_shm_env *e;
    unsigned tries;
    uint32_t start;

    memset(out, 0, sizeof(*out));
    if ((e = ph_shm_env_at(shm, env)) == NULL
        || !ph_shm_region_mapped(shm, env)) {
        return -1;
    }
    for (tries = 0;; tries++) {
        if (tries == SNAPSHOT_TRIES) {
            return -1;
        }
        start = ph_shm_seq_read_begin(&e->seq);
        if ((start & 1u) != 0) {
            pause_for_writer(tries);
            continue;
        }
        copy_env_identity(e, out);
        if (!ph_shm_seq_read_retry(&e->seq, start)) {
            break;
        }
        pause_for_writer(tries);
    }
    out->name[sizeof(out->name) - 1] = '\0';
    out->index = env;
    copy_env_counters(ph_shm_geom_env_stats(shm, env), out);
    out->oldest_wait_ms = oldest_wait(shm, env, now_ms);
    return 0;
}

static void copy_child_identity(const ph_shm_child *c,
                                ph_shm_child_snapshot *out)
{
    out->type = c->type;
    out->generation = c->generation;
    out->pid = c->pid;
    out->env_index = c->env_index;
    out->numa_node = c->numa_node;
    out->started_us = c->started_us;
}

int ph_shm_child_snapshot_get(const ph_shm *shm, uint32_t slot,
                              ph_shm_child_snapshot *out)
{
    const ph_shm_child *c;
    const ph_shm_child_stats *st = NULL;
    unsigned tries;
    uint32_t start;

    memset(out, 0, sizeof(*out));
    if ((c = ph_shm_child_at(shm, slot)) == NULL) {
        return -1;
    }
    for (tries = 0;; tries++) {
        if (tries == SNAPSHOT_TRIES) {
            return -1;
        }
        start = ph_shm_seq_read_begin(&c->seq);
        if ((start & 1u) != 0) {
            pause_for_writer(tries);
            continue;
        }
        copy_child_identity(c, out);
        if (!ph_shm_seq_read_retry(&c->seq, start)) {
            break;
        }
        pause_for_writer(tries);
    }
    out->slot = slot;
    /* The figures from the region of the writer MAIN names (copied above,
     * so checked once): a processor's own env region, or the MUX region. */
    if (out->pid != 0 && out->type == PH_CHILD_TYPE_MULTIPLEXER) {
        st = ph_shm_mux_stats_at(shm, slot);
    }
    else if (out->pid != 0 && out->type == PH_CHILD_TYPE_PROCESSOR
             && out->env_index >= 0) {
        st = ph_shm_proc_stats_at(shm, (uint32_t)out->env_index, slot);
    }
    if (st == NULL) {
        out->status = PH_CHILD_STANDBY;
        return 0;
    }
    out->status = atomic_load_explicit(&st->status, memory_order_acquire);
    out->threads = LOAD(st->threads);
    out->busy_threads = LOAD(st->busy_threads);
    out->idle_threads = LOAD(st->idle_threads);
    out->room = LOAD(st->room);
    out->requests = LOAD(st->requests);
    out->connections = LOAD(st->connections);
    out->bytes_sent = LOAD(st->bytes_sent);
    out->responses_4xx = LOAD(st->responses_4xx);
    out->responses_5xx = LOAD(st->responses_5xx);
    out->last_used_ms = LOAD(st->last_used_ms);
    out->numa_failed = LOAD(st->numa_failed)
                       & (PH_NUMA_FAILED_CPU | PH_NUMA_FAILED_MEM);
    out->cgroup_failed = LOAD(st->cgroup_failed) ? 1 : 0;
    out->alloc_allocated = LOAD(st->alloc_allocated);
    out->alloc_resident = LOAD(st->alloc_resident);
    if (out->status > PH_CHILD_READY) {
        out->status = PH_CHILD_STANDBY;     /* nonsense from the region */
    }
    /* A child's many threads cannot all write its status under one
     * seqlock, so ACTIVE is derived here: a ready child with a thread
     * busy on a request is active. */
    if (out->status == PH_CHILD_READY && out->busy_threads > 0) {
        out->status = PH_CHILD_ACTIVE;
    }
    return 0;
}

uint64_t ph_shm_dropped_noenv(const ph_shm *shm)
{
    return LOAD(ph_shm_mux_area_at(shm)->dropped_noenv);
}
