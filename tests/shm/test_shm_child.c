/*
 * test_shm_child.c -- shm_child.c: the parent's bookkeeping of a child
 * slot, and above all its repair after a reap, which reads figures a
 * hostile processor may have written: garbage is clamped, and only the
 * dead child's own environment is touched.
 */
#include <sys/mman.h>

#include "shm_tests.h"

#define PROC_PID  2002
#define MUX_PID   1001
#define MAX_THR   64

/* 2 environments, 4 slots, 2 multiplexers, 4 tickets a partition. */
static ph_shm_fx fx;

static ph_ticket_ref claimed_by(uint32_t mux, uint32_t env, pid_t pid)
{
    ph_ticket_ref t;

    CU_ASSERT_FATAL(ph_ticket_alloc(&fx.shm, mux, env, MUX_PID, &t) == 0);
    CU_ASSERT_FATAL(ph_ticket_publish(&fx.shm, &t, 1) == 0);
    CU_ASSERT_FATAL(ph_ticket_claim(&fx.shm, &t, pid) == 0);
    return t;
}

static unsigned state_of(const ph_ticket_ref *t)
{
    return PH_TICKET_STATE(atomic_load(
        &ph_shm_ticket_at(&fx.shm, t->mux, t->env, t->index)->word));
}

static void test_prepare_and_forked(void)
{
    ph_shm_child_snapshot s;

    ph_shm_fx_open(&fx, 2, 4, 2, 4);
    CU_ASSERT_EQUAL(ph_shm_child_prepare(&fx.shm, 1, PH_CHILD_TYPE_PROCESSOR,
                                         1, 7, 1234), 0);
    CU_ASSERT_FATAL(ph_shm_child_snapshot_get(&fx.shm, 1, &s) == 0);
    CU_ASSERT_EQUAL(s.pid, 0);          /* not listed until forked */
    ph_shm_child_forked(&fx.shm, 1, PROC_PID);
    CU_ASSERT_FATAL(ph_shm_child_snapshot_get(&fx.shm, 1, &s) == 0);
    CU_ASSERT_EQUAL(s.pid, PROC_PID);
    CU_ASSERT_EQUAL(s.env_index, 1);
    CU_ASSERT_EQUAL(s.generation, 7u);
    CU_ASSERT_EQUAL(s.status, PH_CHILD_STARTING);
    /* a multiplexer has no env; its figures are in the MUX region */
    CU_ASSERT_EQUAL(ph_shm_child_prepare(&fx.shm, 0,
                                         PH_CHILD_TYPE_MULTIPLEXER, 1, 7, 0),
                    0);
    CU_ASSERT_EQUAL(ph_shm_child_at(&fx.shm, 0)->env_index, -1);
    CU_ASSERT_PTR_EQUAL(ph_shm_child_stats_of(&fx.shm, 0),
                        ph_shm_mux_stats_at(&fx.shm, 0));
    /* out of the geometry: refused */
    CU_ASSERT_EQUAL(ph_shm_child_prepare(&fx.shm, 4,
                                         PH_CHILD_TYPE_MULTIPLEXER, -1, 7, 0),
                    -1);
    CU_ASSERT_EQUAL(ph_shm_child_prepare(&fx.shm, 2, PH_CHILD_TYPE_PROCESSOR,
                                         2, 7, 0), -1);
    CU_ASSERT_EQUAL(ph_shm_child_prepare(&fx.shm, 2, PH_CHILD_TYPE_PROCESSOR,
                                         -1, 7, 0), -1);
    ph_shm_fx_close(&fx);
}

/* A processor of env 1 left garbage in its figures and its region: the
 * repair is clamped and env 0 is untouched. */
static void test_reaped_processor_clamped_and_confined(void)
{
    ph_shm_env_stats *e0, *e1;
    ph_shm_child_stats *st;
    ph_ticket_ref mine, other;

    ph_shm_fx_open(&fx, 2, 4, 2, 4);
    e0 = ph_shm_env_stats_at(&fx.shm, 0);
    e1 = ph_shm_env_stats_at(&fx.shm, 1);
    CU_ASSERT_FATAL(ph_shm_child_prepare(&fx.shm, 2, PH_CHILD_TYPE_PROCESSOR,
                                         1, 1, 0) == 0);
    ph_shm_child_forked(&fx.shm, 2, PROC_PID);
    st = ph_shm_child_stats_of(&fx.shm, 2);
    CU_ASSERT_FATAL(st != NULL);
    atomic_store(&st->idle_threads, INT32_MAX);
    atomic_store(&st->requests, 99);
    atomic_store(&e0->idle_workers, 10);
    atomic_store(&e1->idle_workers, 100);
    mine = claimed_by(0, 1, PROC_PID);
    /* the same pid on a ticket of env 0 (as if forged there): env 0 is not
     * a region the dead processor could write, so it is not swept */
    other = claimed_by(1, 0, PROC_PID);

    CU_ASSERT_EQUAL(ph_shm_child_reaped(&fx.shm, 2, PROC_PID, MAX_THR), 1u);
    CU_ASSERT_EQUAL(state_of(&mine), PH_TICKET_FREE);
    CU_ASSERT_EQUAL(state_of(&other), PH_TICKET_CLAIMED);
    CU_ASSERT_EQUAL(atomic_load(&e1->idle_workers), 100 - MAX_THR);
    CU_ASSERT_EQUAL(atomic_load(&e0->idle_workers), 10);
    /* the slot is free, its figures reset */
    CU_ASSERT_EQUAL(ph_shm_child_at(&fx.shm, 2)->pid, 0);
    CU_ASSERT_EQUAL(ph_shm_child_at(&fx.shm, 2)->type, PH_CHILD_TYPE_NONE);
    CU_ASSERT_EQUAL(atomic_load(&st->idle_threads), 0);
    CU_ASSERT_EQUAL(atomic_load(&st->requests), 0u);
    CU_ASSERT_EQUAL(atomic_load(&st->status), PH_CHILD_STANDBY);

    /* negative garbage is not added back either */
    CU_ASSERT_FATAL(ph_shm_child_prepare(&fx.shm, 2, PH_CHILD_TYPE_PROCESSOR,
                                         1, 1, 0) == 0);
    ph_shm_child_forked(&fx.shm, 2, PROC_PID + 1);
    atomic_store(&st->idle_threads, INT32_MIN);
    ph_shm_child_reaped(&fx.shm, 2, PROC_PID + 1, MAX_THR);
    CU_ASSERT_EQUAL(atomic_load(&e1->idle_workers), 100 - MAX_THR);
    ph_shm_fx_close(&fx);
}

/* Slot 0 of f holds multiplexer MUX_PID. */
static void mux_in_slot0(ph_shm_fx *f)
{
    CU_ASSERT_FATAL(ph_shm_child_prepare(&f->shm, 0,
                                         PH_CHILD_TYPE_MULTIPLEXER, -1, 1, 0)
                    == 0);
    ph_shm_child_forked(&f->shm, 0, MUX_PID);
}

/* A dead multiplexer's tickets are swept in every env region. */
static void test_reaped_multiplexer_sweeps_every_env(void)
{
    ph_ticket_ref a, b;

    ph_shm_fx_open(&fx, 2, 4, 2, 4);
    mux_in_slot0(&fx);
    CU_ASSERT_FATAL(ph_ticket_alloc(&fx.shm, 1, 0, MUX_PID, &a) == 0);
    CU_ASSERT_FATAL(ph_ticket_alloc(&fx.shm, 1, 1, MUX_PID, &b) == 0);
    CU_ASSERT_EQUAL(ph_shm_child_reaped(&fx.shm, 0, MUX_PID, MAX_THR), 2u);
    CU_ASSERT_EQUAL(state_of(&a), PH_TICKET_FREE);
    CU_ASSERT_EQUAL(state_of(&b), PH_TICKET_FREE);
    /* out of range, or a free slot: nothing, no crash */
    CU_ASSERT_EQUAL(ph_shm_child_reaped(&fx.shm, 4, MUX_PID, MAX_THR), 0u);
    CU_ASSERT_EQUAL(ph_shm_child_reaped(&fx.shm, 3, MUX_PID, MAX_THR), 0u);
    ph_shm_fx_close(&fx);
}

/* Only the regions a multiplexer used are looked at: a dead
 * multiplexer's sweep does not give the parent a page of every region. */
static void test_reaped_multiplexer_looks_at_used_regions_only(void)
{
    ph_ticket_ref a;
    ph_shm_fx big;
    ph_shm_env_stats *es;

    ph_shm_fx_open(&big, 130, 4, 2, 4);
    mux_in_slot0(&big);
    CU_ASSERT_FATAL(ph_ticket_alloc(&big.shm, 1, 129, MUX_PID, &a) == 0);
    /* region 5 was never used: a page of it is not even looked at */
    CU_ASSERT_EQUAL(ph_shm_child_reaped(&big.shm, 0, MUX_PID, MAX_THR), 1u);
    CU_ASSERT_EQUAL(PH_TICKET_STATE(atomic_load(
                        &ph_shm_ticket_at(&big.shm, 1, 129, 0)->word)),
                    PH_TICKET_FREE);
    es = ph_shm_env_stats_at(&big.shm, 5);
    {
        unsigned char vec[1];
        CU_ASSERT_FATAL(mincore(es, 4096, vec) == 0);
        CU_ASSERT_EQUAL(vec[0] & 1, 0);
    }
    ph_shm_fx_close(&big);
}

int ph_shm_test_register_child(void)
{
    static const ph_shm_test tests[] = {
        { "prepare, forked; refuses out-of-range", test_prepare_and_forked },
        { "reaped processor: clamped, its env only",
          test_reaped_processor_clamped_and_confined },
        { "reaped multiplexer: every env swept",
          test_reaped_multiplexer_sweeps_every_env },
        { "reaped multiplexer: used regions only",
          test_reaped_multiplexer_looks_at_used_regions_only },
    };

    return ph_shm_test_add_suite("shm_child", tests,
                                 sizeof(tests) / sizeof(tests[0]));
}
