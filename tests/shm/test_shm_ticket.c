/*
 * test_shm_ticket.c -- shm_ticket.c: every transition of the ticket state
 * machine and every one it must refuse (stale generations, wrong states,
 * forged references), the sweep of a dead multiplexer or processor, the
 * claim lock, ticket ids, AVAIL and spawn demand.
 *
 * Pids are made up: the library only compares them.
 */
#include <stdio.h>

#include "shm_tests.h"

#define MUX_PID   1001
#define PROC_PID  2002
#define OTHER_PID 3003

/* A segment of 2 environments, 2 multiplexers, 4 tickets a partition. */
static ph_shm_fx fx;

static void open_fx(void)
{
    ph_shm_fx_open(&fx, 2, 4, 2, 4);
}

static uint64_t word_of(const ph_ticket_ref *t)
{
    return atomic_load(
        &ph_shm_ticket_at(&fx.shm, t->mux, t->env, t->index)->word);
}

static int32_t in_flight(uint32_t env)
{
    return atomic_load(&ph_shm_env_stats_at(&fx.shm, env)->in_flight);
}

/* The parent's sweep of a dead multiplexer: every env region. */
static unsigned sweep_all(pid_t pid)
{
    unsigned freed = 0;
    uint32_t e;

    for (e = 0; e < fx.shm.geom.envs; e++) {
        freed += ph_ticket_sweep_env(&fx.shm, e, pid);
    }
    return freed;
}

/* alloc + publish on (mux, env), asserting both succeed */
static ph_ticket_ref ready_ticket(uint32_t mux, uint32_t env)
{
    ph_ticket_ref t;

    CU_ASSERT_FATAL(ph_ticket_alloc(&fx.shm, mux, env, MUX_PID, &t) == 0);
    CU_ASSERT_FATAL(ph_ticket_publish(&fx.shm, &t, 500) == 0);
    return t;
}

static void test_full_cycle(void)
{
    ph_shm_ticket *tk;
    ph_ticket_ref t;
    uint64_t g;

    open_fx();
    CU_ASSERT_FATAL(ph_ticket_alloc(&fx.shm, 1, 1, MUX_PID, &t) == 0);
    CU_ASSERT_EQUAL(t.mux, 1u);
    CU_ASSERT_EQUAL(t.env, 1u);
    CU_ASSERT_EQUAL(t.gen, PH_TICKET_GEN_FIRST);
    g = t.gen;
    tk = ph_shm_ticket_at(&fx.shm, 1, 1, t.index);
    CU_ASSERT_EQUAL(word_of(&t), PH_TICKET_WORD(g, PH_TICKET_FILLING));
    CU_ASSERT_EQUAL(atomic_load(&tk->alloc_pid), MUX_PID);
    CU_ASSERT_EQUAL(in_flight(1), 0);

    CU_ASSERT_EQUAL(ph_ticket_publish(&fx.shm, &t, 4242), 0);
    CU_ASSERT_EQUAL(word_of(&t), PH_TICKET_WORD(g, PH_TICKET_READY));
    CU_ASSERT_EQUAL(atomic_load(&tk->ready_at_ms), 4242);
    CU_ASSERT_EQUAL(in_flight(1), 1);
    CU_ASSERT_EQUAL(in_flight(0), 0);

    CU_ASSERT_EQUAL(ph_ticket_claim(&fx.shm, &t, PROC_PID), 0);
    CU_ASSERT_EQUAL(word_of(&t), PH_TICKET_WORD(g, PH_TICKET_CLAIMED));
    CU_ASSERT_EQUAL(atomic_load(&tk->claim_pid), PROC_PID);
    CU_ASSERT_EQUAL(in_flight(1), 0);

    CU_ASSERT_EQUAL(ph_ticket_release(&fx.shm, &t), 0);
    CU_ASSERT_EQUAL(word_of(&t), PH_TICKET_WORD(g + 1, PH_TICKET_FREE));
    CU_ASSERT_EQUAL(in_flight(1), 0);
    ph_shm_fx_close(&fx);
}

static void test_generation_grows_by_one_per_free(void)
{
    ph_ticket_ref t;
    uint64_t g0;
    int i;

    /* one ticket a partition: every cycle reuses the same slot */
    ph_shm_fx_open(&fx, 1, 1, 1, 1);
    g0 = PH_TICKET_GEN(atomic_load(&ph_shm_ticket_at(&fx.shm, 0, 0, 0)
                                        ->word));
    for (i = 1; i <= 10; i++) {
        CU_ASSERT_FATAL(ph_ticket_alloc(&fx.shm, 0, 0, MUX_PID, &t) == 0);
        CU_ASSERT_EQUAL(t.gen, g0 + (uint64_t)i - 1);
        if (i % 3 == 0) {                       /* retract: FILLING */
            CU_ASSERT_EQUAL(ph_ticket_retract(&fx.shm, &t), 0);
        }
        else if (i % 3 == 1) {                  /* retract: READY */
            CU_ASSERT_EQUAL(ph_ticket_publish(&fx.shm, &t, 1), 0);
            CU_ASSERT_EQUAL(ph_ticket_retract(&fx.shm, &t), 0);
        }
        else {                                  /* claim + release */
            CU_ASSERT_EQUAL(ph_ticket_publish(&fx.shm, &t, 1), 0);
            CU_ASSERT_EQUAL(ph_ticket_claim(&fx.shm, &t, PROC_PID), 0);
            CU_ASSERT_EQUAL(ph_ticket_release(&fx.shm, &t), 0);
        }
        CU_ASSERT_EQUAL(word_of(&t),
                        PH_TICKET_WORD(g0 + (uint64_t)i, PH_TICKET_FREE));
    }
    CU_ASSERT_EQUAL(in_flight(0), 0);
    ph_shm_fx_close(&fx);
}

static void test_alloc_when_full_and_hint(void)
{
    ph_ticket_ref t[4], extra, other;
    int i;

    open_fx();
    for (i = 0; i < 4; i++) {
        CU_ASSERT_FATAL(ph_ticket_alloc(&fx.shm, 0, 1, MUX_PID, &t[i]) == 0);
        CU_ASSERT_EQUAL(t[i].index, (uint32_t)i);   /* scans from the hint */
    }
    CU_ASSERT_EQUAL(ph_ticket_alloc(&fx.shm, 0, 1, MUX_PID, &extra), -1);
    /* other partitions are not affected by this one being full */
    CU_ASSERT_EQUAL(ph_ticket_alloc(&fx.shm, 0, 0, MUX_PID, &other), 0);
    CU_ASSERT_EQUAL(ph_ticket_alloc(&fx.shm, 1, 1, MUX_PID, &other), 0);
    /* a freed slot is found again, the scan wrapping past the end */
    CU_ASSERT_EQUAL(ph_ticket_retract(&fx.shm, &t[2]), 0);
    CU_ASSERT_EQUAL(ph_ticket_alloc(&fx.shm, 0, 1, MUX_PID, &extra), 0);
    CU_ASSERT_EQUAL(extra.index, 2u);
    CU_ASSERT_EQUAL(extra.gen, t[2].gen + 1);
    /* out-of-range partitions */
    CU_ASSERT_EQUAL(ph_ticket_alloc(&fx.shm, 2, 0, MUX_PID, &other), -1);
    CU_ASSERT_EQUAL(ph_ticket_alloc(&fx.shm, 0, 2, MUX_PID, &other), -1);
    /* a high water mark scribbled beyond the partition is clamped, and
     * allocation is first fit whatever it says */
    atomic_store(&ph_shm_partition_at(&fx.shm, 1, 0)->used, 1000003);
    CU_ASSERT_EQUAL(ph_shm_partition_used(&fx.shm, 1, 0), 4u);
    CU_ASSERT_EQUAL(ph_ticket_alloc(&fx.shm, 1, 0, MUX_PID, &other), 0);
    CU_ASSERT_EQUAL(other.index, 0u);
    ph_shm_fx_close(&fx);
}

static void test_double_claim(void)
{
    ph_ticket_ref t;

    open_fx();
    t = ready_ticket(0, 0);
    CU_ASSERT_EQUAL(ph_ticket_claim(&fx.shm, &t, PROC_PID), 0);
    CU_ASSERT_EQUAL(ph_ticket_claim(&fx.shm, &t, PROC_PID), -1);
    CU_ASSERT_EQUAL(ph_ticket_claim(&fx.shm, &t, OTHER_PID), -1);
    CU_ASSERT_EQUAL(in_flight(0), 0);               /* counted once */
    CU_ASSERT_EQUAL(
        atomic_load(&ph_shm_ticket_at(&fx.shm, 0, 0, t.index)->claim_pid),
        PROC_PID);                  /* the losers did not overwrite it */
    ph_shm_fx_close(&fx);
}

static void test_claim_refuses_wrong_states(void)
{
    ph_ticket_ref t, free_ref;

    open_fx();
    CU_ASSERT_FATAL(ph_ticket_alloc(&fx.shm, 0, 0, MUX_PID, &t) == 0);
    CU_ASSERT_EQUAL(ph_ticket_claim(&fx.shm, &t, PROC_PID), -1); /* FILLING */
    CU_ASSERT_EQUAL(word_of(&t), PH_TICKET_WORD(t.gen, PH_TICKET_FILLING));
    free_ref = t;
    free_ref.index = 3;                                          /* FREE */
    CU_ASSERT_EQUAL(ph_ticket_claim(&fx.shm, &free_ref, PROC_PID), -1);
    CU_ASSERT_EQUAL(word_of(&free_ref),
                    PH_TICKET_WORD(PH_TICKET_GEN_FIRST, PH_TICKET_FREE));
    CU_ASSERT_EQUAL(ph_ticket_publish(&fx.shm, &t, 1), 0);
    CU_ASSERT_EQUAL(ph_ticket_claim(&fx.shm, &t, 0), -1);        /* pid 0 */
    CU_ASSERT_EQUAL(ph_ticket_claim(&fx.shm, &t, -5), -1);
    CU_ASSERT_EQUAL(in_flight(0), 1);
    CU_ASSERT_EQUAL(ph_ticket_claim(&fx.shm, &t, PROC_PID), 0);
    ph_shm_fx_close(&fx);
}

static void test_claim_refuses_stale_and_forged(void)
{
    ph_ticket_ref t, bad;

    open_fx();
    t = ready_ticket(1, 0);
    bad = t;
    bad.gen = t.gen - 1;
    CU_ASSERT_EQUAL(ph_ticket_claim(&fx.shm, &bad, PROC_PID), -1);
    bad.gen = t.gen + 1;
    CU_ASSERT_EQUAL(ph_ticket_claim(&fx.shm, &bad, PROC_PID), -1);
    bad = t;
    bad.mux = 2;
    CU_ASSERT_EQUAL(ph_ticket_claim(&fx.shm, &bad, PROC_PID), -1);
    bad = t;
    bad.env = 2;
    CU_ASSERT_EQUAL(ph_ticket_claim(&fx.shm, &bad, PROC_PID), -1);
    bad = t;
    bad.index = 4;
    CU_ASSERT_EQUAL(ph_ticket_claim(&fx.shm, &bad, PROC_PID), -1);
    bad = t;
    bad.index = UINT32_MAX;
    CU_ASSERT_EQUAL(ph_ticket_claim(&fx.shm, &bad, PROC_PID), -1);
    /* a generation too large for the word must not alias a real one */
    bad = t;
    bad.gen = t.gen | ((uint64_t)1 << 56);
    CU_ASSERT_EQUAL(ph_ticket_claim(&fx.shm, &bad, PROC_PID), -1);
    /* none of these touched the real ticket */
    CU_ASSERT_EQUAL(word_of(&t), PH_TICKET_WORD(t.gen, PH_TICKET_READY));
    CU_ASSERT_EQUAL(
        atomic_load(&ph_shm_ticket_at(&fx.shm, 1, 0, t.index)->claim_pid),
        0);
    CU_ASSERT_EQUAL(in_flight(0), 1);
    CU_ASSERT_EQUAL(ph_ticket_claim(&fx.shm, &t, PROC_PID), 0);
    ph_shm_fx_close(&fx);
}

static void test_retract(void)
{
    ph_ticket_ref filling, ready, claimed;

    open_fx();
    CU_ASSERT_FATAL(ph_ticket_alloc(&fx.shm, 0, 1, MUX_PID, &filling) == 0);
    ready = ready_ticket(0, 1);
    claimed = ready_ticket(0, 1);
    CU_ASSERT_FATAL(ph_ticket_claim(&fx.shm, &claimed, PROC_PID) == 0);
    CU_ASSERT_EQUAL(in_flight(1), 1);

    CU_ASSERT_EQUAL(ph_ticket_retract(&fx.shm, &filling), 0);
    CU_ASSERT_EQUAL(word_of(&filling),
                    PH_TICKET_WORD(filling.gen + 1, PH_TICKET_FREE));
    CU_ASSERT_EQUAL(in_flight(1), 1);               /* was not counted */
    CU_ASSERT_EQUAL(ph_ticket_retract(&fx.shm, &ready), 0);
    CU_ASSERT_EQUAL(word_of(&ready),
                    PH_TICKET_WORD(ready.gen + 1, PH_TICKET_FREE));
    CU_ASSERT_EQUAL(in_flight(1), 0);
    /* a claimed ticket belongs to its processor now */
    CU_ASSERT_EQUAL(ph_ticket_retract(&fx.shm, &claimed), -1);
    CU_ASSERT_EQUAL(word_of(&claimed),
                    PH_TICKET_WORD(claimed.gen, PH_TICKET_CLAIMED));
    /* stale: retracted twice, then the claim of a retracted ticket */
    CU_ASSERT_EQUAL(ph_ticket_retract(&fx.shm, &ready), -1);
    CU_ASSERT_EQUAL(ph_ticket_claim(&fx.shm, &ready, PROC_PID), -1);
    CU_ASSERT_EQUAL(in_flight(1), 0);
    ph_shm_fx_close(&fx);
}

static void test_publish_refuses(void)
{
    ph_ticket_ref t, stale;

    open_fx();
    CU_ASSERT_FATAL(ph_ticket_alloc(&fx.shm, 0, 0, MUX_PID, &t) == 0);
    stale = t;
    stale.gen++;
    CU_ASSERT_EQUAL(ph_ticket_publish(&fx.shm, &stale, 1), -1);
    CU_ASSERT_EQUAL(in_flight(0), 0);
    CU_ASSERT_EQUAL(ph_ticket_publish(&fx.shm, &t, 1), 0);
    CU_ASSERT_EQUAL(ph_ticket_publish(&fx.shm, &t, 1), -1);     /* READY */
    CU_ASSERT_EQUAL(in_flight(0), 1);
    CU_ASSERT_EQUAL(ph_ticket_retract(&fx.shm, &t), 0);
    CU_ASSERT_EQUAL(ph_ticket_publish(&fx.shm, &t, 1), -1);     /* FREE */
    CU_ASSERT_EQUAL(in_flight(0), 0);
    ph_shm_fx_close(&fx);
}

static void test_release_refuses(void)
{
    ph_ticket_ref t;

    open_fx();
    t = ready_ticket(1, 1);
    CU_ASSERT_EQUAL(ph_ticket_release(&fx.shm, &t), -1);        /* READY */
    CU_ASSERT_EQUAL(word_of(&t), PH_TICKET_WORD(t.gen, PH_TICKET_READY));
    CU_ASSERT_EQUAL(ph_ticket_claim(&fx.shm, &t, PROC_PID), 0);
    CU_ASSERT_EQUAL(ph_ticket_release(&fx.shm, &t), 0);
    CU_ASSERT_EQUAL(ph_ticket_release(&fx.shm, &t), -1);        /* twice */
    CU_ASSERT_EQUAL(word_of(&t), PH_TICKET_WORD(t.gen + 1, PH_TICKET_FREE));
    ph_shm_fx_close(&fx);
}

static void test_claim_after_sweep_of_its_multiplexer(void)
{
    ph_ticket_ref ready, filling, reused;

    open_fx();
    ready = ready_ticket(0, 0);
    CU_ASSERT_FATAL(ph_ticket_alloc(&fx.shm, 0, 0, MUX_PID, &filling) == 0);
    CU_ASSERT_EQUAL(in_flight(0), 1);
    /* the multiplexer dies; the parent sweeps it */
    CU_ASSERT_EQUAL(sweep_all(MUX_PID), 2u);
    CU_ASSERT_EQUAL(word_of(&ready),
                    PH_TICKET_WORD(ready.gen + 1, PH_TICKET_FREE));
    CU_ASSERT_EQUAL(word_of(&filling),
                    PH_TICKET_WORD(filling.gen + 1, PH_TICKET_FREE));
    CU_ASSERT_EQUAL(in_flight(0), 0);
    /* its message was still in the channel: the claim is stale */
    CU_ASSERT_EQUAL(ph_ticket_claim(&fx.shm, &ready, PROC_PID), -1);
    CU_ASSERT_EQUAL(ph_ticket_publish(&fx.shm, &filling, 1), -1);
    /* ... also once the slot is in use again (next generation) */
    reused = ready_ticket(0, 0);
    CU_ASSERT_EQUAL(reused.index, ready.index);
    CU_ASSERT_EQUAL(reused.gen, ready.gen + 1);
    CU_ASSERT_EQUAL(ph_ticket_claim(&fx.shm, &ready, PROC_PID), -1);
    CU_ASSERT_EQUAL(ph_ticket_claim(&fx.shm, &reused, OTHER_PID), 0);
    /* the stale claimer did not leave its pid over the real claim */
    CU_ASSERT_EQUAL(
        atomic_load(&ph_shm_ticket_at(&fx.shm, 0, 0, ready.index)->claim_pid),
        OTHER_PID);
    CU_ASSERT_EQUAL(in_flight(0), 0);
    ph_shm_fx_close(&fx);
}

static void test_release_after_sweep_of_its_processor(void)
{
    ph_ticket_ref t, mine;

    open_fx();
    t = ready_ticket(1, 1);
    mine = ready_ticket(1, 1);
    CU_ASSERT_FATAL(ph_ticket_claim(&fx.shm, &t, PROC_PID) == 0);
    CU_ASSERT_FATAL(ph_ticket_claim(&fx.shm, &mine, OTHER_PID) == 0);
    /* the processor dies holding its claim: only its ticket is freed */
    CU_ASSERT_EQUAL(sweep_all(PROC_PID), 1u);
    CU_ASSERT_EQUAL(word_of(&t), PH_TICKET_WORD(t.gen + 1, PH_TICKET_FREE));
    CU_ASSERT_EQUAL(word_of(&mine),
                    PH_TICKET_WORD(mine.gen, PH_TICKET_CLAIMED));
    CU_ASSERT_EQUAL(ph_ticket_release(&fx.shm, &t), -1);        /* stale */
    CU_ASSERT_EQUAL(ph_ticket_release(&fx.shm, &mine), 0);
    CU_ASSERT_EQUAL(in_flight(1), 0);
    ph_shm_fx_close(&fx);
}

static void test_sweep_spares_others(void)
{
    ph_ticket_ref theirs, claimed_by_other, locked;
    ph_shm_ticket *tk;

    open_fx();
    /* a READY ticket of the dead mux claimed by a live processor belongs
     * to that processor: not swept */
    claimed_by_other = ready_ticket(0, 0);
    CU_ASSERT_FATAL(ph_ticket_claim(&fx.shm, &claimed_by_other, PROC_PID)
                    == 0);
    /* another multiplexer's ticket: not swept */
    CU_ASSERT_FATAL(ph_ticket_alloc(&fx.shm, 1, 0, OTHER_PID, &theirs)
                    == 0);
    CU_ASSERT_EQUAL(sweep_all(MUX_PID), 0u);
    CU_ASSERT_EQUAL(word_of(&claimed_by_other),
                    PH_TICKET_WORD(claimed_by_other.gen, PH_TICKET_CLAIMED));
    CU_ASSERT_EQUAL(word_of(&theirs),
                    PH_TICKET_WORD(theirs.gen, PH_TICKET_FILLING));
    /* no pid: FREE tickets carry alloc_pid 0, nothing may match it */
    CU_ASSERT_EQUAL(sweep_all(0), 0u);
    CU_ASSERT_EQUAL(sweep_all(-1), 0u);

    /* a processor killed between taking the claim lock and its CAS had
     * received the message: nobody else will claim it, so it is swept */
    locked = ready_ticket(1, 1);
    tk = ph_shm_ticket_at(&fx.shm, 1, 1, locked.index);
    atomic_store(&tk->claim_pid, PROC_PID);
    CU_ASSERT_EQUAL(in_flight(1), 1);
    CU_ASSERT_EQUAL(sweep_all(PROC_PID), 2u);
    CU_ASSERT_EQUAL(word_of(&locked),
                    PH_TICKET_WORD(locked.gen + 1, PH_TICKET_FREE));
    CU_ASSERT_EQUAL(in_flight(1), 0);
    ph_shm_fx_close(&fx);
}

static void test_sweep_resets_partition(void)
{
    ph_shm_partition *dead, *live;
    ph_shm_env_stats *env;

    open_fx();
    env = ph_shm_env_stats_at(&fx.shm, 1);
    dead = ph_shm_partition_at(&fx.shm, 0, 1);
    live = ph_shm_partition_at(&fx.shm, 1, 1);
    atomic_store(&dead->mux_pid, MUX_PID);
    atomic_store(&dead->pending, 3);
    atomic_store(&dead->oldest_wait_since_ms, 1234);
    atomic_store(&live->mux_pid, OTHER_PID);
    atomic_store(&live->pending, 2);
    atomic_store(&live->oldest_wait_since_ms, 999);
    atomic_store(&env->queue_depth, 5);

    sweep_all(MUX_PID);
    CU_ASSERT_EQUAL(atomic_load(&dead->pending), 0);
    CU_ASSERT_EQUAL(atomic_load(&dead->oldest_wait_since_ms), 0);
    CU_ASSERT_EQUAL(atomic_load(&dead->mux_pid), 0u);
    CU_ASSERT_EQUAL(atomic_load(&env->queue_depth), 2);
    CU_ASSERT_EQUAL(atomic_load(&live->pending), 2);
    CU_ASSERT_EQUAL(atomic_load(&live->oldest_wait_since_ms), 999);
    CU_ASSERT_EQUAL(atomic_load(&live->mux_pid), (uint32_t)OTHER_PID);
    ph_shm_fx_close(&fx);
}

static void test_claim_lock_held_elsewhere(void)
{
    ph_shm_ticket *tk;
    ph_ticket_ref t;
    int64_t t0;

    open_fx();
    t = ready_ticket(0, 1);
    tk = ph_shm_ticket_at(&fx.shm, 0, 1, t.index);
    /* another holder of this reference is mid-claim (and stuck): we wait,
     * bounded, then give up without touching its lock */
    atomic_store(&tk->claim_pid, OTHER_PID);
    t0 = ph_shm_fx_now_ms();
    CU_ASSERT_EQUAL(ph_ticket_claim(&fx.shm, &t, PROC_PID), -1);
    CU_ASSERT(ph_shm_fx_now_ms() - t0 < 2000);
    CU_ASSERT_EQUAL(atomic_load(&tk->claim_pid), OTHER_PID);
    CU_ASSERT_EQUAL(word_of(&t), PH_TICKET_WORD(t.gen, PH_TICKET_READY));
    CU_ASSERT_EQUAL(in_flight(1), 1);
    /* the holder gave it back: our claim goes through */
    atomic_store(&tk->claim_pid, 0);
    CU_ASSERT_EQUAL(ph_ticket_claim(&fx.shm, &t, PROC_PID), 0);
    CU_ASSERT_EQUAL(atomic_load(&tk->claim_pid), PROC_PID);
    CU_ASSERT_EQUAL(in_flight(1), 0);
    /* the next alloc of the slot frees the lock for the next claimer */
    CU_ASSERT_EQUAL(ph_ticket_release(&fx.shm, &t), 0);
    CU_ASSERT_FATAL(ph_ticket_alloc(&fx.shm, 0, 1, MUX_PID, &t) == 0);
    CU_ASSERT_EQUAL(atomic_load(&tk->claim_pid), 0);
    ph_shm_fx_close(&fx);
}

static void test_corrupt_header_ignored(void)
{
    ph_ticket_ref t;

    open_fx();
    t = ready_ticket(0, 0);
    /* a count that reaches past the mapping, in the header: nothing reads
     * the layout from there any more (the private geometry decides) */
    fx.shm.hdr->tickets_per_partition = 1u << 30;
    fx.shm.hdr->region_offset = 1ull << 40;
    CU_ASSERT_EQUAL(ph_ticket_claim(&fx.shm, &t, PROC_PID), 0);
    CU_ASSERT_EQUAL(ph_ticket_release(&fx.shm, &t), 0);
    CU_ASSERT_EQUAL(ph_ticket_alloc(&fx.shm, 0, 0, MUX_PID, &t), 0);
    CU_ASSERT(t.index < 4u);
    CU_ASSERT_EQUAL(sweep_all(MUX_PID), 1u);
    ph_shm_fx_close(&fx);
}

static void test_sweep_stays_in_its_env(void)
{
    ph_ticket_ref a, b;

    open_fx();
    /* the same pid holds a claimed ticket in env 0 and in env 1: the
     * sweep of env 0 (a dead processor of env 0) frees env 0's only */
    a = ready_ticket(0, 0);
    b = ready_ticket(1, 1);
    CU_ASSERT_EQUAL(ph_ticket_claim(&fx.shm, &a, PROC_PID), 0);
    CU_ASSERT_EQUAL(ph_ticket_claim(&fx.shm, &b, PROC_PID), 0);
    CU_ASSERT_EQUAL(ph_ticket_sweep_env(&fx.shm, 0, PROC_PID), 1u);
    CU_ASSERT_EQUAL(PH_TICKET_STATE(word_of(&a)), PH_TICKET_FREE);
    CU_ASSERT_EQUAL(PH_TICKET_STATE(word_of(&b)), PH_TICKET_CLAIMED);
    /* out-of-range env: nothing */
    CU_ASSERT_EQUAL(ph_ticket_sweep_env(&fx.shm, 2, PROC_PID), 0u);
    CU_ASSERT_EQUAL(ph_ticket_sweep_env(&fx.shm, UINT32_MAX, PROC_PID), 0u);
    ph_shm_fx_close(&fx);
}

static void test_sweep_clamps_garbage_pending(void)
{
    ph_shm_partition *part;
    ph_shm_env_stats *e0, *e1;

    open_fx();
    e0 = ph_shm_env_stats_at(&fx.shm, 0);
    e1 = ph_shm_env_stats_at(&fx.shm, 1);
    part = ph_shm_partition_at(&fx.shm, 0, 1);
    /* env 1's processors scribbled on their partition */
    atomic_store(&part->mux_pid, MUX_PID);
    atomic_store(&part->pending, INT32_MIN);
    atomic_store(&e0->queue_depth, 7);
    atomic_store(&e1->queue_depth, 0);
    sweep_all(MUX_PID);
    CU_ASSERT_EQUAL(atomic_load(&e0->queue_depth), 7);     /* untouched */
    CU_ASSERT(atomic_load(&e1->queue_depth) <= 1000000);   /* bounded */
    CU_ASSERT_EQUAL(atomic_load(&part->pending), 0);
    ph_shm_fx_close(&fx);
}

static void test_demand_clamped(void)
{
    ph_shm_env_stats *env;

    open_fx();
    env = ph_shm_env_stats_at(&fx.shm, 0);
    atomic_store(&env->demand, 4000000000u);     /* garbage */
    CU_ASSERT_EQUAL(ph_shm_demand_peek(env, 5), 5u);
    ph_shm_demand_settle(env, 5, 5);
    CU_ASSERT_EQUAL(ph_shm_demand_peek(env, 5), 0u);
    CU_ASSERT_EQUAL(atomic_load(&env->demand), 0u);
    ph_shm_fx_close(&fx);
}

/* The parent peeks, forks, then settles: a multiplexer that looks in
 * between finds the demand still there and does not raise it again. */
static void test_demand_peek_settle(void)
{
    ph_shm_env_stats *env;

    open_fx();
    env = ph_shm_env_stats_at(&fx.shm, 0);
    CU_ASSERT_EQUAL(ph_shm_demand_raise(env, 1), 1);
    CU_ASSERT_EQUAL(ph_shm_demand_peek(env, 10), 1u);
    /* a waiting connection asks again (limit 1) while the parent forks */
    CU_ASSERT_EQUAL(ph_shm_demand_raise(env, 1), 0);
    ph_shm_demand_settle(env, 1, 10);
    CU_ASSERT_EQUAL(ph_shm_demand_peek(env, 10), 0u);
    /* settling more than is pending stops at 0; garbage is clamped */
    CU_ASSERT_EQUAL(ph_shm_demand_raise(env, 5), 1);
    ph_shm_demand_settle(env, 3, 10);
    CU_ASSERT_EQUAL(atomic_load(&env->demand), 0u);
    atomic_store(&env->demand, 4000000000u);
    CU_ASSERT_EQUAL(ph_shm_demand_peek(env, 5), 5u);
    ph_shm_demand_settle(env, 2, 5);             /* garbage repaired */
    CU_ASSERT_EQUAL(atomic_load(&env->demand), 3u);
    ph_shm_fx_close(&fx);
}

/* First fit under a high water mark: a partition touches as many tickets
 * as it had in flight at once; the sweep looks below the mark only. */
static void test_alloc_first_fit_high_water(void)
{
    ph_ticket_ref a, b, c;

    open_fx();
    CU_ASSERT_EQUAL(ph_shm_partition_used(&fx.shm, 0, 1), 0u);
    CU_ASSERT_FATAL(ph_ticket_alloc(&fx.shm, 0, 1, MUX_PID, &a) == 0);
    CU_ASSERT_FATAL(ph_ticket_alloc(&fx.shm, 0, 1, MUX_PID, &b) == 0);
    CU_ASSERT_EQUAL(a.index, 0u);
    CU_ASSERT_EQUAL(b.index, 1u);
    CU_ASSERT_EQUAL(ph_shm_partition_used(&fx.shm, 0, 1), 2u);
    CU_ASSERT_EQUAL(atomic_load(&ph_shm_partition_at(&fx.shm, 0, 1)->mux_pid),
                    (uint32_t)MUX_PID);
    /* the lowest FREE one is taken again, the mark stays */
    CU_ASSERT_EQUAL(ph_ticket_retract(&fx.shm, &a), 0);
    CU_ASSERT_FATAL(ph_ticket_alloc(&fx.shm, 0, 1, MUX_PID, &c) == 0);
    CU_ASSERT_EQUAL(c.index, 0u);
    CU_ASSERT_EQUAL(c.gen, a.gen + 1);
    CU_ASSERT_EQUAL(ph_shm_partition_used(&fx.shm, 0, 1), 2u);
    /* the other partitions of the region were not used */
    CU_ASSERT_EQUAL(ph_shm_partition_used(&fx.shm, 1, 1), 0u);
    CU_ASSERT_EQUAL(ph_shm_partition_used(&fx.shm, 0, 0), 0u);
    /* a dead multiplexer's tickets below the mark are swept */
    CU_ASSERT_EQUAL(ph_ticket_sweep_env(&fx.shm, 1, MUX_PID), 2u);
    CU_ASSERT_EQUAL(ph_shm_partition_used(&fx.shm, 9, 1), 0u);
    ph_shm_fx_close(&fx);
}

/* Demand flags: a multiplexer flags what it raised; the parent takes each
 * word once, and nothing beyond the geometry. */
static void test_demand_flags(void)
{
    ph_shm_fx big;

    ph_shm_fx_open(&big, 130, 4, 2, 4);
    CU_ASSERT_EQUAL(big.shm.geom.demand_words, 3u);
    CU_ASSERT_EQUAL(ph_shm_demand_flags_take(&big.shm, 0), 0u);
    ph_shm_demand_flag(&big.shm, 1);
    ph_shm_demand_flag(&big.shm, 64);
    ph_shm_demand_flag(&big.shm, 129);
    ph_shm_demand_flag(&big.shm, 130);              /* beyond: ignored */
    CU_ASSERT_EQUAL(ph_shm_demand_flags_take(&big.shm, 0), (uint64_t)1 << 1);
    CU_ASSERT_EQUAL(ph_shm_demand_flags_take(&big.shm, 0), 0u);
    CU_ASSERT_EQUAL(ph_shm_demand_flags_take(&big.shm, 1), 1u);
    CU_ASSERT_EQUAL(ph_shm_demand_flags_take(&big.shm, 2), (uint64_t)1 << 1);
    CU_ASSERT_EQUAL(ph_shm_demand_flags_take(&big.shm, 3), 0u);
    ph_shm_fx_close(&big);
}

static void test_ticket_id(void)
{
    ph_ticket_ref t = { 7, 1, 123456, 99 }, back;
    uint64_t id = ph_ticket_id(&t);

    CU_ASSERT_EQUAL(id, ((uint64_t)7 << 32) | 123456u);
    ph_ticket_from_id(id, 99, 1, &back);
    CU_ASSERT_EQUAL(back.mux, 7u);
    CU_ASSERT_EQUAL(back.index, 123456u);
    CU_ASSERT_EQUAL(back.env, 1u);
    CU_ASSERT_EQUAL(back.gen, 99u);
    t.mux = UINT32_MAX;
    t.index = UINT32_MAX;
    ph_ticket_from_id(ph_ticket_id(&t), 1, 0, &back);
    CU_ASSERT_EQUAL(back.mux, UINT32_MAX);
    CU_ASSERT_EQUAL(back.index, UINT32_MAX);
}

static void test_avail_clamp(void)
{
    ph_shm_env_stats *env;

    open_fx();
    env = ph_shm_env_stats_at(&fx.shm, 0);
    CU_ASSERT_EQUAL(ph_shm_avail(env), 100u);
    CU_ASSERT_EQUAL(ph_shm_avail_adjust(env, 10), 100u);
    CU_ASSERT_EQUAL(ph_shm_avail_adjust(env, -30), 70u);
    CU_ASSERT_EQUAL(ph_shm_avail_adjust(env, -200), 0u);
    CU_ASSERT_EQUAL(ph_shm_avail_adjust(env, -1), 0u);
    CU_ASSERT_EQUAL(ph_shm_avail_adjust(env, 55), 55u);
    CU_ASSERT_EQUAL(atomic_load(&env->unavail), 45u);
    CU_ASSERT_EQUAL(ph_shm_avail_adjust(env, 0), 55u);
    /* an out-of-range value written by someone else is repaired */
    atomic_store(&env->unavail, 5000);
    CU_ASSERT_EQUAL(ph_shm_avail(env), 100u);
    CU_ASSERT_EQUAL(ph_shm_avail_adjust(env, 0), 100u);
    CU_ASSERT_EQUAL(ph_shm_avail_adjust(env, -2147483647 - 1), 0u);
    CU_ASSERT_EQUAL(ph_shm_avail_adjust(env, 2147483647), 100u);
    ph_shm_fx_close(&fx);
}

static void test_demand(void)
{
    ph_shm_env_stats *env;

    open_fx();
    env = ph_shm_env_stats_at(&fx.shm, 1);
    CU_ASSERT_EQUAL(ph_shm_demand_raise(env, 3), 1);
    CU_ASSERT_EQUAL(ph_shm_demand_raise(env, 3), 1);
    CU_ASSERT_EQUAL(ph_shm_demand_raise(env, 3), 1);
    CU_ASSERT_EQUAL(ph_shm_demand_raise(env, 3), 0);        /* at limit */
    CU_ASSERT_EQUAL(atomic_load(&env->demand), 3u);
    CU_ASSERT_EQUAL(ph_shm_demand_peek(env, 100), 3u);
    ph_shm_demand_settle(env, 3, 100);
    CU_ASSERT_EQUAL(ph_shm_demand_peek(env, 100), 0u);
    CU_ASSERT_EQUAL(ph_shm_demand_raise(env, 0), 0);        /* no room */
    CU_ASSERT_EQUAL(atomic_load(&env->demand), 0u);
    /* a lower limit than what is pending: no raise */
    CU_ASSERT_EQUAL(ph_shm_demand_raise(env, 5), 1);
    CU_ASSERT_EQUAL(ph_shm_demand_raise(env, 5), 1);
    CU_ASSERT_EQUAL(ph_shm_demand_raise(env, 1), 0);
    CU_ASSERT_EQUAL(ph_shm_demand_peek(env, 100), 2u);
    ph_shm_fx_close(&fx);
}

int ph_shm_test_register_ticket(void)
{
    static const ph_shm_test tests[] = {
        { "alloc, publish, claim, release", test_full_cycle },
        { "generation grows by one per return to FREE",
          test_generation_grows_by_one_per_free },
        { "alloc when full; scan from the hint", test_alloc_when_full_and_hint },
        { "double claim", test_double_claim },
        { "claim of FILLING / FREE, bad pid", test_claim_refuses_wrong_states },
        { "claim of stale / forged references",
          test_claim_refuses_stale_and_forged },
        { "retract FILLING / READY; not CLAIMED, not stale", test_retract },
        { "publish refuses stale and non-FILLING", test_publish_refuses },
        { "release refuses READY, stale, twice", test_release_refuses },
        { "claim after sweep of its multiplexer",
          test_claim_after_sweep_of_its_multiplexer },
        { "release after sweep of its processor",
          test_release_after_sweep_of_its_processor },
        { "sweep spares other pids; frees a begun claim",
          test_sweep_spares_others },
        { "sweep resets the dead multiplexer's partition",
          test_sweep_resets_partition },
        { "claim lock held elsewhere", test_claim_lock_held_elsewhere },
        { "corrupt header ignored (private geometry)",
          test_corrupt_header_ignored },
        { "sweep stays in the env it is given", test_sweep_stays_in_its_env },
        { "sweep clamps a garbage pending count",
          test_sweep_clamps_garbage_pending },
        { "demand is clamped to the limit", test_demand_clamped },
        { "demand peeked stays until settled", test_demand_peek_settle },
        { "ticket id round trip", test_ticket_id },
        { "alloc first fit under a high water mark",
          test_alloc_first_fit_high_water },
        { "demand flags: flag, take once, bounded", test_demand_flags },
        { "AVAIL clamps to 0..100", test_avail_clamp },
        { "spawn demand raise, peek and settle", test_demand },
    };

    return ph_shm_test_add_suite("shm_ticket", tests,
                                 sizeof(tests) / sizeof(tests[0]));
}
