/*
 * test_shm_index.c -- shm_index.c: each environment's processors as a
 * chain through MAIN's child records, kept by the parent through
 * ph_shm_child_prepare / ph_shm_child_reaped, read by multiplexers.
 *
 *   - across random start / failed start / reap sequences the chain of
 *     every environment names exactly the slots MAIN says are its
 *     processors;
 *   - a chain made wrong (a loop, a slot beyond the geometry) or left
 *     half-written (its seqlock odd) ends a reader's walk within the
 *     geometry's bound, with "inconsistent";
 *   - a reader in another process, while the parent starts and reaps
 *     processors, never sees a duplicate or an index beyond the geometry,
 *     and never misses a processor that stayed linked all along.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shm_tests.h"

#define ENVS     3u
#define SLOTS    16u
#define GEN      7u

static ph_shm_fx fx;

/* The slots MAIN says are processors of env, as a bit set. */
static uint32_t truth_of(uint32_t env)
{
    uint32_t s, set = 0;

    for (s = 0; s < SLOTS; s++) {
        const ph_shm_child *c = ph_shm_child_at(&fx.shm, s);
        if (c->type == PH_CHILD_TYPE_PROCESSOR
            && c->env_index == (int32_t)env) {
            set |= 1u << s;
        }
    }
    return set;
}

/* The chain of env as a bit set; fails on a duplicate. */
static uint32_t chain_of(uint32_t env)
{
    uint32_t slots[SLOTS], set = 0;
    int i, n = ph_shm_index_read(&fx.shm, env, slots, SLOTS);

    CU_ASSERT_FATAL(n >= 0);
    for (i = 0; i < n; i++) {
        CU_ASSERT_FATAL(slots[i] < SLOTS);
        CU_ASSERT_FATAL(!(set & (1u << slots[i])));     /* no duplicate */
        set |= 1u << slots[i];
    }
    return set;
}

static void test_chain_follows_start_and_reap(void)
{
    pid_t pid_of[SLOTS] = { 0 };
    unsigned seed = 13;
    uint32_t e, s;
    int step;

    ph_shm_fx_open(&fx, ENVS, SLOTS, 2, 4);
    for (e = 0; e < ENVS; e++) {
        CU_ASSERT_EQUAL(chain_of(e), 0u);
    }
    for (step = 0; step < 5000; step++) {
        int what = rand_r(&seed) % 4;

        s = (uint32_t)rand_r(&seed) % SLOTS;
        e = (uint32_t)rand_r(&seed) % ENVS;
        if (what <= 1 && pid_of[s] == 0) {
            /* start (or a start whose fork failed, then another env's
             * start in the same slot: prepare again) */
            CU_ASSERT_FATAL(ph_shm_child_prepare(
                                &fx.shm, s,
                                what == 0 || e == 0
                                    ? PH_CHILD_TYPE_PROCESSOR
                                    : PH_CHILD_TYPE_MULTIPLEXER,
                                (int32_t)e, GEN, 0) == 0);
            if (what == 0) {
                pid_of[s] = 1000 + step;
                ph_shm_child_forked(&fx.shm, s, pid_of[s]);
            }
        }
        else if (what >= 2 && pid_of[s] != 0) {
            ph_shm_child_reaped(&fx.shm, s, pid_of[s], 8);
            pid_of[s] = 0;
        }
        for (e = 0; e < ENVS; e++) {
            CU_ASSERT_FATAL(chain_of(e) == truth_of(e));
        }
    }
    ph_shm_fx_close(&fx);
}

static void test_wrong_chain_bounded(void)
{
    uint32_t slots[SLOTS];
    ph_shm_env *e;

    ph_shm_fx_open(&fx, ENVS, SLOTS, 2, 4);
    e = ph_shm_env_at(&fx.shm, 1);
    CU_ASSERT_FATAL(ph_shm_child_prepare(&fx.shm, 2, PH_CHILD_TYPE_PROCESSOR,
                                         1, GEN, 0) == 0);
    CU_ASSERT_FATAL(ph_shm_child_prepare(&fx.shm, 5, PH_CHILD_TYPE_PROCESSOR,
                                         1, GEN, 0) == 0);
    CU_ASSERT_EQUAL(ph_shm_index_read(&fx.shm, 1, slots, SLOTS), 2);
    /* a loop 5 -> 2 -> 5 (as a parent bug could leave): the walk stops
     * at the geometry's bound, inconsistent */
    atomic_store(&ph_shm_child_at(&fx.shm, 2)->next_proc, 5 + 1);
    CU_ASSERT_EQUAL(ph_shm_index_read(&fx.shm, 1, slots, SLOTS), -1);
    /* a slot beyond the geometry */
    atomic_store(&ph_shm_child_at(&fx.shm, 2)->next_proc, SLOTS + 1);
    CU_ASSERT_EQUAL(ph_shm_index_read(&fx.shm, 1, slots, SLOTS), -1);
    atomic_store(&ph_shm_child_at(&fx.shm, 2)->next_proc, 0);
    /* less room than the chain holds */
    CU_ASSERT_EQUAL(ph_shm_index_read(&fx.shm, 1, slots, 1), -1);
    CU_ASSERT_EQUAL(ph_shm_index_read(&fx.shm, 1, slots, SLOTS), 2);
    /* a write begun and never ended: retried a few times, then given up */
    ph_shm_seq_write_begin(&e->procs_seq);
    CU_ASSERT_EQUAL(ph_shm_index_read(&fx.shm, 1, slots, SLOTS), -1);
    ph_shm_seq_write_end(&e->procs_seq);
    CU_ASSERT_EQUAL(ph_shm_index_read(&fx.shm, 1, slots, SLOTS), 2);
    /* indices beyond the geometry are refused */
    CU_ASSERT_EQUAL(ph_shm_index_read(&fx.shm, ENVS, slots, SLOTS), -1);
    CU_ASSERT_EQUAL(ph_shm_index_link(&fx.shm, SLOTS, 1), -1);
    CU_ASSERT_EQUAL(ph_shm_index_unlink(&fx.shm, SLOTS, 1), -1);
    /* a slot not in the chain (a child carried from an older segment is
     * listed, never linked): unlinking it changes nothing */
    CU_ASSERT_EQUAL(ph_shm_index_unlink(&fx.shm, 3, 1), -1);
    CU_ASSERT_EQUAL(ph_shm_index_read(&fx.shm, 1, slots, SLOTS), 2);
    ph_shm_fx_close(&fx);
}

/* A reader in another process while the parent churns: slots 0 and 1 are
 * env 1's processors all along, slots 2.. come and go in envs 0..2. */
static void test_concurrent_reader_never_misses(void)
{
    volatile int *bad = ph_shm_fx_shared_page(4096);
    pid_t reader;
    uint32_t s;
    unsigned seed = 5;
    int step, status;

    ph_shm_fx_open(&fx, ENVS, SLOTS, 2, 4);
    for (s = 0; s < 2; s++) {
        CU_ASSERT_FATAL(ph_shm_child_prepare(&fx.shm, s,
                                             PH_CHILD_TYPE_PROCESSOR, 1, GEN,
                                             0) == 0);
    }
    bad[0] = bad[1] = bad[2] = 0;
    reader = fork();
    CU_ASSERT_FATAL(reader >= 0);
    if (reader == 0) {
        uint32_t slots[SLOTS];
        long reads = 0;

        while (!bad[2]) {
            int i, n = ph_shm_index_read(&fx.shm, 1, slots, SLOTS);
            uint32_t set = 0;

            if (n < 0) {
                continue;       /* busy: the caller would look at all */
            }
            reads++;
            for (i = 0; i < n; i++) {
                if (slots[i] >= SLOTS || (set & (1u << slots[i]))) {
                    bad[0]++;
                }
                set |= 1u << (slots[i] % SLOTS);
            }
            if ((set & 3u) != 3u) {
                bad[1]++;       /* a processor linked all along missed */
            }
        }
        _exit(reads > 0 ? 0 : 1);
    }
    for (step = 0; step < 200000; step++) {
        s = 2 + (uint32_t)rand_r(&seed) % (SLOTS - 2);
        if (ph_shm_child_at(&fx.shm, s)->type == PH_CHILD_TYPE_PROCESSOR) {
            ph_shm_child_reaped(&fx.shm, s, 1, 8);
        }
        else {
            ph_shm_child_prepare(&fx.shm, s, PH_CHILD_TYPE_PROCESSOR,
                                 (int32_t)(rand_r(&seed) % ENVS), GEN, 0);
        }
    }
    bad[2] = 1;
    CU_ASSERT_FATAL(waitpid(reader, &status, 0) == reader);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CU_ASSERT_EQUAL(bad[0], 0);
    CU_ASSERT_EQUAL(bad[1], 0);
    ph_shm_fx_close(&fx);
}

int ph_shm_test_register_index(void)
{
    static const ph_shm_test tests[] = {
        { "chain = MAIN's processors across starts and reaps",
          test_chain_follows_start_and_reap },
        { "a wrong or torn chain: bounded, inconsistent",
          test_wrong_chain_bounded },
        { "a reader in another process never misses one",
          test_concurrent_reader_never_misses },
    };

    return ph_shm_test_add_suite("shm_index", tests,
                                 sizeof(tests) / sizeof(tests[0]));
}
