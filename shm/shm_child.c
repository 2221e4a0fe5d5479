/*
 * shm_child.c -- the parent's side of a child slot: its identity in MAIN
 * before the fork and its pid after, and the repair once the child has
 * been reaped.
 *
 * The repair is where the root parent reads memory a hostile child could
 * have written, so it follows the rules drawn in ph_shm_layout.h: the
 * slot's type and environment come from MAIN (only the parent writes it),
 * the figures from that environment's own region, every figure is clamped
 * before use, and nothing outside the regions the dead child could write
 * is touched.
 */
#include <assert.h>
#include <string.h>

#include "ph_shm.h"
#include "shm_internal.h"

/* Take slot out of its environment's index, if MAIN says it is a
 * processor (unlinked before its identity changes: shm_index.c). */
static void unlink_processor(const ph_shm *shm, uint32_t slot,
                             const ph_shm_child *c)
{
    if (c->type == PH_CHILD_TYPE_PROCESSOR && c->env_index >= 0) {
        ph_shm_index_unlink(shm, slot, (uint32_t)c->env_index);
    }
}

static void reset_stats(ph_shm_child_stats *st, uint32_t status)
{
    atomic_store_explicit(&st->threads, 0, memory_order_relaxed);
    atomic_store_explicit(&st->busy_threads, 0, memory_order_relaxed);
    atomic_store_explicit(&st->idle_threads, 0, memory_order_relaxed);
    atomic_store_explicit(&st->requests, 0, memory_order_relaxed);
    atomic_store_explicit(&st->connections, 0, memory_order_relaxed);
    atomic_store_explicit(&st->last_used_ms, 0, memory_order_relaxed);
    atomic_store_explicit(&st->room, 0, memory_order_relaxed);
    atomic_store_explicit(&st->numa_failed, 0, memory_order_relaxed);
    atomic_store_explicit(&st->cgroup_failed, 0, memory_order_relaxed);
    atomic_store_explicit(&st->alloc_allocated, 0, memory_order_relaxed);
    atomic_store_explicit(&st->alloc_resident, 0, memory_order_relaxed);
    atomic_store_explicit(&st->status, status, memory_order_release);
}

int ph_shm_child_prepare(const ph_shm *shm, uint32_t slot, uint32_t type,
                         int32_t env, uint32_t generation, int64_t started_us)
{
    ph_shm_child *c = ph_shm_child_at(shm, slot);
    ph_shm_child_stats *st;

    if (c == NULL || (type == PH_CHILD_TYPE_PROCESSOR
                      && (env < 0 || (uint32_t)env >= shm->geom.envs))) {
        return -1;
    }
    /* a slot prepared before whose fork failed is still in its env's
     * index: out of it before it names another (shm_index.c) */
    unlink_processor(shm, slot, c);
    ph_shm_seq_write_begin(&c->seq);
    c->type = type;
    c->pid = 0;
    c->generation = generation;
    c->env_index = type == PH_CHILD_TYPE_PROCESSOR ? env : -1;
    c->numa_node = -1;
    c->started_us = started_us;
    ph_shm_seq_write_end(&c->seq);
    if ((st = ph_shm_child_stats_of(shm, slot)) != NULL) {
        reset_stats(st, PH_CHILD_STARTING);
    }
    if (type == PH_CHILD_TYPE_PROCESSOR) {
        ph_shm_index_link(shm, slot, (uint32_t)env);    /* published first */
    }
    return 0;
}

void ph_shm_child_forked(const ph_shm *shm, uint32_t slot, pid_t pid)
{
    ph_shm_child *c = ph_shm_child_at(shm, slot);

    if (c != NULL) {
        ph_shm_seq_write_begin(&c->seq);
        c->pid = (int32_t)pid;
        ph_shm_seq_write_end(&c->seq);
    }
}

void ph_shm_child_placed(const ph_shm *shm, uint32_t slot, int32_t node)
{
    ph_shm_child *c = ph_shm_child_at(shm, slot);

    if (c != NULL) {
        ph_shm_seq_write_begin(&c->seq);
        c->numa_node = node;
        ph_shm_seq_write_end(&c->seq);
    }
}

/*
 * A dead multiplexer's tickets and partitions: in the regions of the
 * environments some multiplexer used this generation (the MUX region's
 * used bits, set before a multiplexer's first write to a partition), not
 * in every region: a look at every one would give this process a page of
 * each (ph_shm_layout.h, "pages on use").  The bits are written by
 * multiplexers only (processors map MUX read-only); every index is bounded
 * by the private geometry.
 */
static unsigned sweep_used_envs(const ph_shm *shm, pid_t pid)
{
    unsigned freed = 0;
    uint64_t bits;
    uint32_t w, b;

    for (w = 0; w < shm->geom.demand_words; w++) {
        bits = atomic_load_explicit(
            ph_shm_mux_bits(shm, shm->geom.mux_used_off, w),
            memory_order_acquire);
        for (b = 0; bits != 0 && b < 64; b++, bits >>= 1) {
            if ((bits & 1) && (uint64_t)w * 64 + b < shm->geom.envs) {
                freed += ph_ticket_sweep_env(shm, w * 64 + b, pid);
            }
        }
    }
    return freed;
}

unsigned ph_shm_child_reaped(const ph_shm *shm, uint32_t slot, pid_t pid,
                             int32_t max_threads)
{
    ph_shm_child *c = ph_shm_child_at(shm, slot);
    ph_shm_child_stats *st;
    ph_shm_env_stats *es;
    unsigned freed = 0;
    uint32_t type;
    int32_t env, idle;

    if (c == NULL) {
        return 0;
    }
    type = c->type;
    env = c->env_index;
    st = ph_shm_child_stats_of(shm, slot);
    unlink_processor(shm, slot, c);
    if (type == PH_CHILD_TYPE_MULTIPLEXER) {
        freed = sweep_used_envs(shm, pid);
    }
    else if (type == PH_CHILD_TYPE_PROCESSOR && env >= 0
             && (es = ph_shm_env_stats_at(shm, (uint32_t)env)) != NULL) {
        freed = ph_ticket_sweep_env(shm, (uint32_t)env, pid);
        /* What it counted as idle in its env's figure is not idle any
         * more (display only: capacity comes from the child figures). */
        idle = st ? ph_shm_clamp(atomic_exchange(&st->idle_threads, 0), 0,
                                 max_threads)
                  : 0;
        if (idle > 0) {
            atomic_fetch_sub_explicit(&es->idle_workers, idle,
                                      memory_order_relaxed);
        }
    }
    if (st != NULL) {
        reset_stats(st, PH_CHILD_STANDBY);
    }
    ph_shm_seq_write_begin(&c->seq);
    c->pid = 0;
    c->type = PH_CHILD_TYPE_NONE;
    c->env_index = -1;
    ph_shm_seq_write_end(&c->seq);
    return freed;
}
