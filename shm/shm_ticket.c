/*
 * shm_ticket.c -- the ticket state machine (multiplexer -> processor
 * handoff accounting), the parent's sweep of a dead child's tickets, and
 * the coordination counters AVAIL and spawn demand.
 *
 * The life cycle, who may make which transition and the memory order are
 * drawn in ph_shm_layout.h.  In short: one 64-bit word per ticket holds
 * state and generation and changes only by compare-and-swap; every return
 * to FREE increments the generation, so a reference taken before it no
 * longer matches and every later transition on it fails.
 *
 * All CASes on the word are acq_rel (acquire on failure): the release half
 * publishes what the process wrote before the transition (alloc_pid,
 * claim_pid, ready_at_ms, and whatever the caller keeps beside the ticket)
 * to the process making the next transition, whose acquire half sees it.
 *
 * env.in_flight counts READY tickets but is a separate word, updated
 * beside the CAS (before it in publish, after it in claim, retract and
 * sweep, so that it never dips below zero).  A process killed between the
 * two leaves it off by one; like every figure here it is advisory.
 *
 * Nothing in a reference is trusted: it comes from a channel message, so
 * its indices are checked against the private geometry before any ticket
 * is touched (see locate).  Nothing read from a partition or a ticket
 * picks an address: they live in one env's region, which that env's
 * processors can write, so the worst they can do is confuse their own
 * env's accounting.
 */
#include <assert.h>
#include <sched.h>

#include "ph_shm.h"
#include "shm_internal.h"

/* The largest generation a word can hold (56 bits).  A slot would need
 * 2^56 handoffs to reach it; refusing a reference beyond it keeps a forged
 * generation from aliasing a real word. */
#define GEN_MAX      PH_TICKET_GEN(UINT64_MAX)

/* How long a claimer waits for another holder of the claim lock (see
 * take_claim_lock) before it gives the ticket up as stale. */
#define LOCK_SPINS   64
#define LOCK_TRIES   1000

/* The most a dead multiplexer's partition can repair its env's
 * queue_depth by (more than any multiplexer holds waiting). */
#define PH_SWEEP_PENDING_MAX 1000000

static int word_cas(ph_shm_ticket *tk, uint64_t *expect, uint64_t desired)
{
    return atomic_compare_exchange_strong_explicit(
        &tk->word, expect, desired, memory_order_acq_rel,
        memory_order_acquire);
}

static void relax(unsigned tries)
{
    if (tries >= LOCK_SPINS) {
        sched_yield();
    }
#if defined(__x86_64__) || defined(__i386__)
    else {
        __builtin_ia32_pause();
    }
#endif
}

/* Where one partition lives: located for one call. */
typedef struct where {
    ph_shm_partition *part;
    ph_shm_env_stats *env;
    ph_shm_ticket *tickets;         /* the partition's first ticket */
    uint32_t count;                 /* tickets in the partition */
} where;

/*
 * Locate partition (mux, env) for a ticket operation, with the indices
 * checked against the private geometry (the mapping is at least
 * geom.total bytes: nothing located here is outside it).  Returns 0, or
 * -1 if (mux, env) names nothing.
 */
static int locate(const ph_shm *shm, uint32_t mux, uint32_t env, where *w)
{
    assert(shm->magic == PH_SHM_MAP_MAGIC);
    if (mux >= shm->geom.muxes || env >= shm->geom.envs
        || !ph_shm_region_mapped(shm, env)) {
        return -1;
    }
    w->tickets = ph_shm_geom_ticket(shm, mux, env, 0);
    w->count = shm->geom.tickets;
    w->part = ph_shm_geom_partition(shm, mux, env);
    w->env = ph_shm_geom_env_stats(shm, env);
    return 0;
}

/*
 * The ticket a reference names, after checking every field of it.  NULL
 * for a reference that names nothing.
 */
static ph_shm_ticket *ref_ticket(const ph_shm *shm, const ph_ticket_ref *t,
                                 where *w)
{
    if (t->gen < PH_TICKET_GEN_FIRST || t->gen > GEN_MAX
        || locate(shm, t->mux, t->env, w) != 0
        || t->index >= w->count) {
        return NULL;
    }
    return &w->tickets[t->index];
}

void ph_shm_partition_own(const ph_shm *shm, uint32_t mux, uint32_t env,
                          pid_t pid)
{
    where at;
    uint64_t bit = (uint64_t)1 << (env % 64);
    _Atomic uint64_t *used;

    if (locate(shm, mux, env, &at) != 0
        || atomic_load_explicit(&at.part->mux_pid, memory_order_relaxed)
               == (uint32_t)pid) {
        return;
    }
    /* On its first use by this multiplexer, not at its start: a
     * multiplexer touches the regions of the environments it serves.  The
     * used bit first, so that a sweep that could find our pid here looks
     * at this region. */
    used = ph_shm_mux_bits(shm, shm->geom.mux_used_off, env / 64);
    if (!(atomic_load_explicit(used, memory_order_relaxed) & bit)) {
        atomic_fetch_or_explicit(used, bit, memory_order_release);
    }
    atomic_store_explicit(&at.part->mux_pid, (uint32_t)pid,
                          memory_order_relaxed);
}

/* The partition's high water mark, clamped to its size: tickets at and
 * above it are FREE.  X's processors can write it; a wrong one only hides
 * X's own tickets from X's own accounting. */
static uint32_t used_of(const where *w)
{
    uint32_t used = atomic_load_explicit(&w->part->used,
                                         memory_order_acquire);

    return used < w->count ? used : w->count;
}

/* used = max(used, n), by CAS: never lowered, even if two allocators
 * raced (there is one per partition, but nothing here relies on it). */
static void raise_used(ph_shm_partition *part, uint32_t n)
{
    uint32_t cur = atomic_load_explicit(&part->used, memory_order_relaxed);

    while (cur < n
           && !atomic_compare_exchange_weak_explicit(
               &part->used, &cur, n, memory_order_release,
               memory_order_relaxed)) {
    }
}

uint32_t ph_shm_partition_used(const ph_shm *shm, uint32_t mux,
                               uint32_t env)
{
    where at;

    return locate(shm, mux, env, &at) == 0 ? used_of(&at) : 0;
}

int ph_ticket_alloc(const ph_shm *shm, uint32_t mux, uint32_t env,
                    pid_t pid, ph_ticket_ref *out)
{
    ph_shm_ticket *tk;
    uint32_t i;
    uint64_t w;
    where at;

    if (locate(shm, mux, env, &at) != 0) {
        return -1;
    }
    ph_shm_partition_own(shm, mux, env, pid);
    /* First fit: the tickets in use stay at the low indices, so a
     * partition touches the pages of as many tickets as it ever had in
     * flight at once, not all of them (ph_shm_layout.h, "pages on use").
     * Generations, not spreading, make reuse safe. */
    for (i = 0; i < at.count; i++) {
        tk = &at.tickets[i];
        w = atomic_load_explicit(&tk->word, memory_order_relaxed);
        if (PH_TICKET_STATE(w) != PH_TICKET_FREE) {
            continue;
        }
        /*
         * Attribute the ticket before it leaves FREE: a multiplexer killed
         * right after the CAS leaves a FILLING ticket that the parent's
         * sweep must be able to find by pid.  Nobody else writes a FREE
         * ticket of this partition (only its multiplexer allocates here),
         * and the CAS releases both stores to whoever sees FILLING.
         * claim_pid goes back to 0: the claim lock of this incarnation
         * is free (see take_claim_lock).  The high water mark is raised
         * first, so that a sweep that sees the ticket taken looks at it.
         */
        raise_used(at.part, i + 1);
        atomic_store_explicit(&tk->alloc_pid, (int32_t)pid,
                              memory_order_relaxed);
        atomic_store_explicit(&tk->claim_pid, 0, memory_order_relaxed);
        if (!word_cas(tk, &w,
                      PH_TICKET_WORD(PH_TICKET_GEN(w), PH_TICKET_FILLING))) {
            continue;
        }
        out->mux = mux;
        out->env = env;
        out->index = i;
        out->gen = PH_TICKET_GEN(w);
        return 0;
    }
    return -1;
}

int ph_ticket_publish(const ph_shm *shm, const ph_ticket_ref *t,
                      int64_t now_ms)
{
    ph_shm_ticket *tk;
    ph_shm_env_stats *env;
    uint64_t w = PH_TICKET_WORD(t->gen, PH_TICKET_FILLING);
    where at;

    tk = ref_ticket(shm, t, &at);
    if (tk == NULL
        || atomic_load_explicit(&tk->word, memory_order_relaxed) != w) {
        return -1;
    }
    env = at.env;
    atomic_store_explicit(&tk->ready_at_ms, now_ms, memory_order_relaxed);
    /*
     * Counted before it becomes READY, so that the claim's decrement can
     * never come first: in_flight does not dip below the number of READY
     * tickets, and never below zero.
     */
    atomic_fetch_add_explicit(&env->in_flight, 1, memory_order_relaxed);
    if (!word_cas(tk, &w, PH_TICKET_WORD(t->gen, PH_TICKET_READY))) {
        atomic_fetch_sub_explicit(&env->in_flight, 1, memory_order_relaxed);
        return -1;
    }
    return 0;
}

int ph_ticket_retract(const ph_shm *shm, const ph_ticket_ref *t)
{
    ph_shm_ticket *tk;
    unsigned state;
    uint64_t w;
    where at;

    tk = ref_ticket(shm, t, &at);
    if (tk == NULL) {
        return -1;
    }
    w = atomic_load_explicit(&tk->word, memory_order_acquire);
    for (;;) {
        state = PH_TICKET_STATE(w);
        if (PH_TICKET_GEN(w) != t->gen
            || (state != PH_TICKET_FILLING && state != PH_TICKET_READY)) {
            return -1;              /* claimed, swept or reused */
        }
        /* A READY ticket can be claimed under us: the failed CAS reloads
         * w and the loop looks at the new state. */
        if (word_cas(tk, &w, PH_TICKET_WORD(t->gen + 1, PH_TICKET_FREE))) {
            break;
        }
    }
    if (state == PH_TICKET_READY) {
        atomic_fetch_sub_explicit(&at.env->in_flight, 1,
                                  memory_order_relaxed);
    }
    return 0;
}

/*
 * The claim lock.  claim_pid must name the claimer before its CAS makes
 * the ticket CLAIMED (a processor killed right after the CAS must still be
 * found by the sweep), yet a claimer whose CAS then fails must not leave
 * its pid over someone else's claim: a processor holding a stale reference
 * (its message sat in the channel while the slot was swept and reused)
 * would otherwise overwrite the pid of the processor that claimed the new
 * incarnation, and when that one died its CLAIMED ticket would never be
 * swept.  So claim_pid is taken by CAS from 0 (its value from alloc until
 * a claim) and given back by CAS if the claim fails: a late store can only
 * land on an unclaimed ticket, never on a claimed one.
 *
 * Another holder means a duplicate reference or a stale claimer that is
 * about to give the lock back; wait a little for it, bounded.
 */
static int take_claim_lock(ph_shm_ticket *tk, uint64_t ready, pid_t pid)
{
    unsigned tries;
    int32_t holder;

    for (tries = 0;; tries++) {
        holder = 0;
        if (atomic_compare_exchange_strong_explicit(
                &tk->claim_pid, &holder, (int32_t)pid, memory_order_acq_rel,
                memory_order_relaxed)) {
            return 0;
        }
        if (atomic_load_explicit(&tk->word, memory_order_acquire) != ready
            || tries == LOCK_TRIES) {
            return -1;
        }
        relax(tries);
    }
}

int ph_ticket_claim(const ph_shm *shm, const ph_ticket_ref *t, pid_t pid)
{
    ph_shm_ticket *tk;
    uint64_t ready = PH_TICKET_WORD(t->gen, PH_TICKET_READY), w;
    int32_t holder;
    where at;

    if (pid <= 0) {
        return -1;
    }
    tk = ref_ticket(shm, t, &at);
    /* A stale reference fails here without writing anything. */
    if (tk == NULL
        || atomic_load_explicit(&tk->word, memory_order_acquire) != ready
        || take_claim_lock(tk, ready, pid) != 0) {
        return -1;
    }
    w = ready;
    if (word_cas(tk, &w, PH_TICKET_WORD(t->gen, PH_TICKET_CLAIMED))) {
        atomic_fetch_sub_explicit(&at.env->in_flight, 1,
                                  memory_order_relaxed);
        return 0;
    }
    /* Retracted or swept between the check and the CAS.  Give the lock
     * back unless the next alloc already reset it. */
    holder = (int32_t)pid;
    atomic_compare_exchange_strong_explicit(&tk->claim_pid, &holder, 0,
                                            memory_order_relaxed,
                                            memory_order_relaxed);
    return -1;
}

int ph_ticket_release(const ph_shm *shm, const ph_ticket_ref *t)
{
    ph_shm_ticket *tk;
    uint64_t w = PH_TICKET_WORD(t->gen, PH_TICKET_CLAIMED);
    where at;

    tk = ref_ticket(shm, t, &at);
    if (tk == NULL
        || !word_cas(tk, &w, PH_TICKET_WORD(t->gen + 1, PH_TICKET_FREE))) {
        return -1;
    }
    return 0;
}

/*
 * Whether the sweep of dead pid frees a ticket in state word w:
 * FILLING/READY tickets it allocated (a dead multiplexer), CLAIMED tickets
 * it claimed, and READY tickets whose claim lock it held (a processor
 * killed between taking the lock and its CAS: it had received the message,
 * so nobody else will claim that ticket).
 */
static int swept_by(const ph_shm_ticket *tk, uint64_t w, int32_t pid)
{
    switch (PH_TICKET_STATE(w)) {
    case PH_TICKET_FILLING:
        return atomic_load_explicit(&tk->alloc_pid,
                                    memory_order_relaxed) == pid;
    case PH_TICKET_READY:
        return atomic_load_explicit(&tk->alloc_pid,
                                    memory_order_relaxed) == pid
               || atomic_load_explicit(&tk->claim_pid,
                                       memory_order_relaxed) == pid;
    case PH_TICKET_CLAIMED:
        return atomic_load_explicit(&tk->claim_pid,
                                    memory_order_relaxed) == pid;
    default:
        return 0;       /* FREE, or a state no valid process writes */
    }
}

/* Sweep one ticket; 1 if it was freed. */
static int sweep_ticket(ph_shm_ticket *tk, ph_shm_env_stats *env,
                        int32_t pid)
{
    uint64_t w = atomic_load_explicit(&tk->word, memory_order_acquire);

    /* Live processes may move the ticket on meanwhile (a processor claims
     * a READY ticket of the dead multiplexer): each failed CAS reloads w
     * and the decision is taken again on the new state. */
    while (swept_by(tk, w, pid)) {
        if (word_cas(tk, &w, PH_TICKET_WORD(PH_TICKET_GEN(w) + 1,
                                            PH_TICKET_FREE))) {
            if (PH_TICKET_STATE(w) == PH_TICKET_READY) {
                atomic_fetch_sub_explicit(&env->in_flight, 1,
                                          memory_order_relaxed);
            }
            return 1;
        }
    }
    return 0;
}

/* A partition the dead multiplexer owned: what it held waiting is gone. */
static void sweep_partition(ph_shm_partition *part, ph_shm_env_stats *env,
                            int32_t pid)
{
    uint32_t owner = (uint32_t)pid;
    int32_t pending;

    if (atomic_load_explicit(&part->mux_pid, memory_order_relaxed) != owner) {
        return;
    }
    pending = atomic_exchange_explicit(&part->pending, 0,
                                       memory_order_relaxed);
    /* Written by the env's processors too: whatever it holds, the repair
     * moves only this env's gauge, and by no more than a ticket count. */
    pending = ph_shm_clamp(pending, -PH_SWEEP_PENDING_MAX,
                           PH_SWEEP_PENDING_MAX);
    if (pending != 0) {
        atomic_fetch_sub_explicit(&env->queue_depth, pending,
                                  memory_order_relaxed);
    }
    atomic_store_explicit(&part->oldest_wait_since_ms, 0,
                          memory_order_relaxed);
    atomic_compare_exchange_strong_explicit(&part->mux_pid, &owner, 0,
                                            memory_order_relaxed,
                                            memory_order_relaxed);
}

unsigned ph_ticket_sweep_env(const ph_shm *shm, uint32_t env, pid_t pid)
{
    where at;
    unsigned freed = 0;
    uint32_t m, i;

    if (pid <= 0 || env >= shm->geom.envs) {
        return 0;
    }
    for (m = 0; m < shm->geom.muxes; m++) {
        if (locate(shm, m, env, &at) != 0) {
            continue;
        }
        for (i = 0; i < used_of(&at); i++) {
            freed += (unsigned)sweep_ticket(&at.tickets[i], at.env,
                                            (int32_t)pid);
        }
        sweep_partition(at.part, at.env, (int32_t)pid);
    }
    return freed;
}

uint64_t ph_ticket_id(const ph_ticket_ref *t)
{
    return ((uint64_t)t->mux << 32) | t->index;
}

void ph_ticket_from_id(uint64_t id, uint64_t gen, uint32_t env,
                       ph_ticket_ref *out)
{
    out->mux = (uint32_t)(id >> 32);
    out->index = (uint32_t)(id & 0xffffffffu);
    out->env = env;
    out->gen = gen;
}

uint32_t ph_shm_avail(const ph_shm_env_stats *env)
{
    uint32_t lost = atomic_load_explicit(&env->unavail, memory_order_relaxed);

    /* The env's processors can write its region: a value out of range
     * is taken as AVAIL 100, as ph_shm_avail_adjust takes it. */
    return lost > 100 ? 100 : 100 - lost;
}

uint32_t ph_shm_avail_adjust(ph_shm_env_stats *env, int delta)
{
    uint32_t old = atomic_load_explicit(&env->unavail, memory_order_relaxed);
    int64_t v;
    uint32_t next;

    do {
        /* A value out of range (the env's processors can write its
         * region) is taken as AVAIL 100 and repaired by this write. */
        v = (int64_t)(old > 100 ? 0 : old) - delta;
        next = v < 0 ? 0 : v > 100 ? 100 : (uint32_t)v;
    } while (!atomic_compare_exchange_weak_explicit(
        &env->unavail, &old, next, memory_order_relaxed,
        memory_order_relaxed));
    return 100 - next;
}

int ph_shm_demand_raise(ph_shm_env_stats *env, uint32_t limit)
{
    uint32_t cur = atomic_load_explicit(&env->demand, memory_order_relaxed);

    do {
        if (cur >= limit) {
            return 0;
        }
    } while (!atomic_compare_exchange_weak_explicit(
        &env->demand, &cur, cur + 1, memory_order_release,
        memory_order_relaxed));
    return 1;
}

void ph_shm_demand_flag(const ph_shm *shm, uint32_t env)
{
    assert(shm->magic == PH_SHM_MAP_MAGIC);
    if (env < shm->geom.envs) {
        /* release: whoever takes the flag sees the demand raised before */
        atomic_fetch_or_explicit(ph_shm_mux_bits(shm,
                                                 shm->geom.mux_demand_off,
                                                 env / 64),
                                 (uint64_t)1 << (env % 64),
                                 memory_order_release);
    }
}

uint64_t ph_shm_demand_flags_take(const ph_shm *shm, uint32_t word)
{
    _Atomic uint64_t *bits;

    assert(shm->magic == PH_SHM_MAP_MAGIC);
    if (word >= shm->geom.demand_words) {
        return 0;
    }
    /* a cheap load first: a pass over nothing flagged writes nothing */
    bits = ph_shm_mux_bits(shm, shm->geom.mux_demand_off, word);
    if (atomic_load_explicit(bits, memory_order_relaxed) == 0) {
        return 0;
    }
    return atomic_exchange_explicit(bits, 0, memory_order_acq_rel);
}

uint32_t ph_shm_demand_peek(const ph_shm_env_stats *env, uint32_t limit)
{
    uint32_t d = atomic_load_explicit(&env->demand, memory_order_acquire);

    /* raised by multiplexers, but in a region the env's processors can
     * write: never more than the caller's own limit */
    return d > limit ? limit : d;
}

void ph_shm_demand_settle(ph_shm_env_stats *env, uint32_t n, uint32_t limit)
{
    uint32_t cur = atomic_load_explicit(&env->demand, memory_order_relaxed);
    uint32_t next;

    do {
        next = cur > limit ? limit : cur;
        next = next > n ? next - n : 0;
    } while (next != cur && !atomic_compare_exchange_weak_explicit(
                 &env->demand, &cur, next, memory_order_acq_rel,
                 memory_order_relaxed));
}
