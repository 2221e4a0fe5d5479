/*
 * shm_index.c -- each environment's processors, as a chain through the
 * child records of MAIN, so that a multiplexer reads one environment's
 * processors in O(its processors) instead of every slot of ServerLimit for
 * each decision it takes (issue 13).
 *
 *   env X:  first_proc = s1 + 1
 *   child s1: next_proc = s2 + 1
 *   child s2: next_proc = 0           (the last)
 *
 * WRITER: the parent only (MAIN is read-only in every other process, so a
 * processor can neither link a slot into another environment's chain nor
 * cut one out).  Each change is made under the environment's procs_seq (a
 * seqlock of the chain alone, not of the identity: readers of the
 * identity are not made to retry).  ORDER against a reader: a slot is
 * linked after ph_shm_child_prepare wrote its identity (published before
 * linked), and unlinked before its identity is cleared or given to
 * another environment.
 *
 * READERS copy the chain between two reads of procs_seq and retry a few
 * times if it moved; they never trust it: every step is bounded by the
 * private geometry (a slot index beyond it, or more steps than there are
 * slots -- a loop left by a bug --, ends the walk with "inconsistent"),
 * and the caller still checks each record it names (type, env,
 * generation), so a stale entry only costs a look.  On "inconsistent"
 * the caller falls back to looking at every slot, as before the index.
 */
#include <assert.h>

#include "ph_shm.h"
#include "shm_internal.h"

/* Readers retry a chain that moved at most this many times: the parent
 * changes it when it starts or reaps a processor, not in a loop. */
#define INDEX_READ_TRIES 8

/* The chain's next link of slot (< geom.children), as stored: next + 1. */
static _Atomic uint32_t *next_of(const ph_shm *shm, uint32_t slot)
{
    return &ph_shm_child_at(shm, slot)->next_proc;
}

int ph_shm_index_link(const ph_shm *shm, uint32_t slot, uint32_t env)
{
    ph_shm_env *e = ph_shm_env_at(shm, env);
    ph_shm_child *c = ph_shm_child_at(shm, slot);

    if (e == NULL || c == NULL) {
        return -1;
    }
    /* the identity this chain stands for was written first */
    assert(c->type == PH_CHILD_TYPE_PROCESSOR && c->env_index == (int32_t)env);
    ph_shm_seq_write_begin(&e->procs_seq);
    atomic_store_explicit(&c->next_proc,
                          atomic_load_explicit(&e->first_proc,
                                               memory_order_relaxed),
                          memory_order_relaxed);
    atomic_store_explicit(&e->first_proc, slot + 1u, memory_order_relaxed);
    ph_shm_seq_write_end(&e->procs_seq);
    return 0;
}

int ph_shm_index_unlink(const ph_shm *shm, uint32_t slot, uint32_t env)
{
    ph_shm_env *e = ph_shm_env_at(shm, env);
    _Atomic uint32_t *link;
    uint32_t steps, at;

    if (e == NULL || slot >= shm->geom.children) {
        return -1;
    }
    /* find the link that names slot: bounded like a reader's walk */
    link = &e->first_proc;
    for (steps = 0; steps <= shm->geom.children; steps++) {
        at = atomic_load_explicit(link, memory_order_relaxed);
        if (at == 0 || at > shm->geom.children) {
            assert(at == 0);    /* only this process writes the chain */
            return -1;          /* not linked (a carried child, say) */
        }
        if (at == slot + 1u) {
            break;
        }
        link = next_of(shm, at - 1u);
    }
    assert(steps <= shm->geom.children);    /* no loop */
    if (steps > shm->geom.children) {
        return -1;
    }
    ph_shm_seq_write_begin(&e->procs_seq);
    atomic_store_explicit(link,
                          atomic_load_explicit(next_of(shm, slot),
                                               memory_order_relaxed),
                          memory_order_relaxed);
    atomic_store_explicit(next_of(shm, slot), 0, memory_order_relaxed);
    ph_shm_seq_write_end(&e->procs_seq);
    return 0;
}

/* One copy of env's chain into slots[room]: the count, or -1 if it is
 * inconsistent as read (a bound crossed, or more than room entries). */
static int walk_once(const ph_shm *shm, const ph_shm_env *e, uint32_t *slots,
                     uint32_t room)
{
    uint32_t n = 0, steps, at;

    at = atomic_load_explicit(&e->first_proc, memory_order_relaxed);
    for (steps = 0; at != 0; steps++) {
        if (at > shm->geom.children || steps >= shm->geom.children
            || n >= room) {
            return -1;
        }
        slots[n++] = at - 1u;
        at = atomic_load_explicit(next_of(shm, at - 1u),
                                  memory_order_relaxed);
    }
    return (int)n;
}

int ph_shm_index_read(const ph_shm *shm, uint32_t env, uint32_t *slots,
                      uint32_t room)
{
    const ph_shm_env *e = ph_shm_env_at(shm, env);
    int tries, n;

    if (e == NULL) {
        return -1;
    }
    for (tries = 0; tries < INDEX_READ_TRIES; tries++) {
        uint32_t seq = ph_shm_seq_read_begin(&e->procs_seq);

        if (seq & 1u) {
            continue;
        }
        n = walk_once(shm, e, slots, room);
        if (!ph_shm_seq_read_retry(&e->procs_seq, seq)) {
            return n;       /* -1 here: a chain that is wrong as written */
        }
    }
    return -1;
}
