/*
 * test_shm_snapshot.c -- shm_snapshot.c: what an environment and a child
 * snapshot copy, the oldest wait over all multiplexers, the bounded wait
 * for a busy record, refusal of out-of-range records, and a child record
 * rewritten by another process while it is read.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shm_tests.h"

#define RACE_MS 400

static void write_env_identity(ph_shm_env *e, const char *name, uint32_t uid)
{
    ph_shm_seq_write_begin(&e->seq);
    e->in_use = 1;
    snprintf(e->name, sizeof(e->name), "%s", name);
    e->uid = uid;
    e->gid = uid + 1;
    e->min_processors = 1;
    e->max_processors = 8;
    e->threads_per_child = 25;
    e->wait_timeout_ms = 5000;
    e->wait_levels = 3;
    ph_shm_seq_write_end(&e->seq);
}

static void test_env_snapshot_copies(void)
{
    ph_shm_env_snapshot s;
    ph_shm_env *e;
    ph_shm_env_stats *es;
    ph_shm_fx fx;

    ph_shm_fx_open(&fx, 3, 2, 2, 2);
    e = ph_shm_env_at(&fx.shm, 1);
    es = ph_shm_env_stats_at(&fx.shm, 1);
    write_env_identity(e, "alice", 1001);
    atomic_store(&es->connections, 10);
    atomic_store(&es->requests, 20);
    atomic_store(&es->dropped_timeout, 3);
    atomic_store(&es->dropped_channel, 4);
    atomic_store(&es->misdirected, 5);
    atomic_store(&es->queue_depth, 6);
    atomic_store(&es->idle_workers, 7);
    atomic_store(&es->in_flight, 2);
    atomic_store(&es->unavail, 10);
    atomic_store(&es->demand, 1);
    atomic_store(&e->processors, 4);

    CU_ASSERT_FATAL(ph_shm_env_snapshot_get(&fx.shm, 1, 1000, &s) == 0);
    CU_ASSERT_EQUAL(s.index, 1u);
    CU_ASSERT_EQUAL(s.in_use, 1);
    CU_ASSERT_STRING_EQUAL(s.name, "alice");
    CU_ASSERT_EQUAL(s.uid, 1001u);
    CU_ASSERT_EQUAL(s.gid, 1002u);
    CU_ASSERT_EQUAL(s.min_processors, 1u);
    CU_ASSERT_EQUAL(s.max_processors, 8u);
    CU_ASSERT_EQUAL(s.threads_per_child, 25u);
    CU_ASSERT_EQUAL(s.wait_timeout_ms, 5000u);
    CU_ASSERT_EQUAL(s.wait_levels, 3u);
    CU_ASSERT_EQUAL(s.connections, 10u);
    CU_ASSERT_EQUAL(s.requests, 20u);
    CU_ASSERT_EQUAL(s.dropped_timeout, 3u);
    CU_ASSERT_EQUAL(s.dropped_channel, 4u);
    CU_ASSERT_EQUAL(s.misdirected, 5u);
    CU_ASSERT_EQUAL(s.queue_depth, 6);
    CU_ASSERT_EQUAL(s.idle_workers, 7);
    CU_ASSERT_EQUAL(s.in_flight, 2);
    CU_ASSERT_EQUAL(s.avail, 90u);
    CU_ASSERT_EQUAL(s.demand, 1u);
    CU_ASSERT_EQUAL(s.processors, 4u);
    CU_ASSERT_EQUAL(s.oldest_wait_ms, 0);

    /* an unused record reads as unused, with the initial AVAIL */
    CU_ASSERT_FATAL(ph_shm_env_snapshot_get(&fx.shm, 2, 1000, &s) == 0);
    CU_ASSERT_EQUAL(s.in_use, 0);
    CU_ASSERT_STRING_EQUAL(s.name, "");
    CU_ASSERT_EQUAL(s.avail, 100u);
    ph_shm_fx_close(&fx);
}

static void test_env_name_always_terminated(void)
{
    ph_shm_env_snapshot s;
    ph_shm_env *e;
    ph_shm_fx fx;

    ph_shm_fx_open(&fx, 1, 1, 1, 1);
    e = ph_shm_env_at(&fx.shm, 0);
    memset(e->name, 'x', sizeof(e->name));  /* a writer without a NUL */
    CU_ASSERT_FATAL(ph_shm_env_snapshot_get(&fx.shm, 0, 0, &s) == 0);
    CU_ASSERT_EQUAL(strlen(s.name), sizeof(s.name) - 1);
    ph_shm_fx_close(&fx);
}

static void test_oldest_wait_over_all_multiplexers(void)
{
    ph_shm_env_snapshot s;
    ph_shm_fx fx;

    ph_shm_fx_open(&fx, 2, 1, 3, 1);
    /* env 1 waits in mux 0 since 1000 and in mux 1 since 500; mux 2 has
     * nobody waiting.  env 0's older wait is not env 1's. */
    atomic_store(&ph_shm_partition_at(&fx.shm, 0, 1)->oldest_wait_since_ms,
                 1000);
    atomic_store(&ph_shm_partition_at(&fx.shm, 1, 1)->oldest_wait_since_ms,
                 500);
    atomic_store(&ph_shm_partition_at(&fx.shm, 2, 0)->oldest_wait_since_ms,
                 100);
    CU_ASSERT_FATAL(ph_shm_env_snapshot_get(&fx.shm, 1, 2000, &s) == 0);
    CU_ASSERT_EQUAL(s.oldest_wait_ms, 1500);
    CU_ASSERT_FATAL(ph_shm_env_snapshot_get(&fx.shm, 0, 2000, &s) == 0);
    CU_ASSERT_EQUAL(s.oldest_wait_ms, 1900);

    /* the oldest one leaves: the next oldest counts */
    atomic_store(&ph_shm_partition_at(&fx.shm, 1, 1)->oldest_wait_since_ms,
                 0);
    CU_ASSERT_FATAL(ph_shm_env_snapshot_get(&fx.shm, 1, 2000, &s) == 0);
    CU_ASSERT_EQUAL(s.oldest_wait_ms, 1000);

    /* a start in the future (another clock) is no wait, not negative */
    CU_ASSERT_FATAL(ph_shm_env_snapshot_get(&fx.shm, 1, 900, &s) == 0);
    CU_ASSERT_EQUAL(s.oldest_wait_ms, 0);

    /* nobody waits */
    atomic_store(&ph_shm_partition_at(&fx.shm, 0, 1)->oldest_wait_since_ms,
                 0);
    CU_ASSERT_FATAL(ph_shm_env_snapshot_get(&fx.shm, 1, 2000, &s) == 0);
    CU_ASSERT_EQUAL(s.oldest_wait_ms, 0);
    ph_shm_fx_close(&fx);
}

static void test_busy_record_gives_up(void)
{
    ph_shm_child_snapshot cs;
    ph_shm_env_snapshot s;
    ph_shm_fx fx;
    int64_t t0;

    ph_shm_fx_open(&fx, 1, 1, 1, 1);
    /* writers that died mid-write: the counters stay odd */
    ph_shm_seq_write_begin(&ph_shm_env_at(&fx.shm, 0)->seq);
    ph_shm_seq_write_begin(&ph_shm_child_at(&fx.shm, 0)->seq);
    t0 = ph_shm_fx_now_ms();
    CU_ASSERT_EQUAL(ph_shm_env_snapshot_get(&fx.shm, 0, 0, &s), -1);
    CU_ASSERT_EQUAL(ph_shm_child_snapshot_get(&fx.shm, 0, &cs), -1);
    /* bounded by its count of tries, not by a clock: past the spins each
     * try yields the CPU, and on a machine busy with other work a yield can
     * cost a whole time slice, so the bound here is only "not forever"
     * (well under a millisecond when quiet; over two seconds was seen with
     * six higher-priority busy loops on two cores) */
    CU_ASSERT(ph_shm_fx_now_ms() - t0 < 30000);
    /* repaired by the next writer */
    ph_shm_seq_write_begin(&ph_shm_env_at(&fx.shm, 0)->seq);
    ph_shm_seq_write_end(&ph_shm_env_at(&fx.shm, 0)->seq);
    CU_ASSERT_EQUAL(ph_shm_env_snapshot_get(&fx.shm, 0, 0, &s), 0);
    ph_shm_fx_close(&fx);
}

static void test_out_of_range_refused(void)
{
    ph_shm_child_snapshot cs;
    ph_shm_env_snapshot s;
    ph_shm_fx fx;

    ph_shm_fx_open(&fx, 2, 3, 1, 1);
    CU_ASSERT_EQUAL(ph_shm_env_snapshot_get(&fx.shm, 2, 0, &s), -1);
    CU_ASSERT_EQUAL(ph_shm_child_snapshot_get(&fx.shm, 3, &cs), -1);
    CU_ASSERT_EQUAL(ph_shm_child_snapshot_get(&fx.shm, UINT32_MAX, &cs), -1);
    /* a header scribbled on: not read (the private geometry decides) */
    fx.shm.hdr->env_offset = fx.shm.size;
    fx.shm.hdr->env_capacity = 1u << 30;
    CU_ASSERT_EQUAL(ph_shm_env_snapshot_get(&fx.shm, 0, 0, &s), 0);
    CU_ASSERT_EQUAL(ph_shm_env_snapshot_get(&fx.shm, 2, 0, &s), -1);
    ph_shm_fx_close(&fx);
}

static void write_child(ph_shm_child *c, int32_t k)
{
    ph_shm_seq_write_begin(&c->seq);
    c->type = PH_CHILD_TYPE_PROCESSOR;
    c->pid = k;
    c->generation = (uint32_t)k;
    c->env_index = k;
    c->numa_node = k;
    c->started_us = (int64_t)k * 1000;
    ph_shm_seq_write_end(&c->seq);
}

/* A processor of env 0 in slot 2, as the parent records it. */
static ph_shm_child_stats *processor_in(ph_shm_fx *fx, uint32_t slot,
                                        int32_t env, int32_t pid)
{
    ph_shm_child *c = ph_shm_child_at(&fx->shm, slot);

    ph_shm_seq_write_begin(&c->seq);
    c->type = PH_CHILD_TYPE_PROCESSOR;
    c->pid = pid;
    c->generation = 41;
    c->env_index = env;
    c->numa_node = 41;
    c->started_us = 41000;
    ph_shm_seq_write_end(&c->seq);
    return ph_shm_proc_stats_at(&fx->shm, (uint32_t)env, slot);
}

static void test_child_snapshot_copies(void)
{
    ph_shm_child_snapshot s;
    ph_shm_child_stats *st;
    ph_shm_fx fx;

    ph_shm_fx_open(&fx, 1, 3, 1, 1);
    st = processor_in(&fx, 2, 0, 41);
    CU_ASSERT_FATAL(st != NULL);
    atomic_store(&st->status, PH_CHILD_STARTING);
    atomic_store(&st->threads, 41);
    atomic_store(&st->busy_threads, 3);
    atomic_store(&st->idle_threads, 22);
    atomic_store(&st->room, 5);
    atomic_store(&st->requests, 1234);
    atomic_store(&st->connections, 99);
    atomic_store(&st->last_used_ms, 777);
    CU_ASSERT_FATAL(ph_shm_child_snapshot_get(&fx.shm, 2, &s) == 0);
    CU_ASSERT_EQUAL(s.slot, 2u);
    CU_ASSERT_EQUAL(s.type, PH_CHILD_TYPE_PROCESSOR);
    CU_ASSERT_EQUAL(s.pid, 41);
    CU_ASSERT_EQUAL(s.generation, 41u);
    CU_ASSERT_EQUAL(s.env_index, 0);
    CU_ASSERT_EQUAL(s.status, PH_CHILD_STARTING);
    CU_ASSERT_EQUAL(s.numa_node, 41);
    CU_ASSERT_EQUAL(s.threads, 41u);
    CU_ASSERT_EQUAL(s.started_us, 41000);
    CU_ASSERT_EQUAL(s.busy_threads, 3);
    CU_ASSERT_EQUAL(s.idle_threads, 22);
    CU_ASSERT_EQUAL(s.room, 5);
    CU_ASSERT_EQUAL(s.requests, 1234u);
    CU_ASSERT_EQUAL(s.connections, 99u);
    CU_ASSERT_EQUAL(s.last_used_ms, 777);

    /* a free slot as the parent leaves it */
    CU_ASSERT_FATAL(ph_shm_child_snapshot_get(&fx.shm, 0, &s) == 0);
    CU_ASSERT_EQUAL(s.pid, 0);
    CU_ASSERT_EQUAL(s.status, PH_CHILD_STANDBY);
    CU_ASSERT_EQUAL(s.env_index, -1);
    ph_shm_fx_close(&fx);
}

/* Slot 1 is env 1's processor: what env 0's region says about slot 1 (a
 * processor of env 0 writing figures for a slot it does not own) is not
 * read; nonsense in its own region is bounded. */
static void test_child_figures_only_from_its_env(void)
{
    ph_shm_child_snapshot s;
    ph_shm_child_stats *mine, *forged;
    ph_shm_fx fx;

    ph_shm_fx_open(&fx, 2, 3, 1, 1);
    mine = processor_in(&fx, 1, 1, 77);
    forged = ph_shm_proc_stats_at(&fx.shm, 0, 1);
    atomic_store(&mine->status, PH_CHILD_READY);
    atomic_store(&mine->requests, 5);
    atomic_store(&forged->status, PH_CHILD_READY);
    atomic_store(&forged->requests, 999999);
    atomic_store(&forged->busy_threads, 64);
    CU_ASSERT_FATAL(ph_shm_child_snapshot_get(&fx.shm, 1, &s) == 0);
    CU_ASSERT_EQUAL(s.requests, 5u);
    CU_ASSERT_EQUAL(s.status, PH_CHILD_READY);
    atomic_store(&mine->status, 12345);
    CU_ASSERT_FATAL(ph_shm_child_snapshot_get(&fx.shm, 1, &s) == 0);
    CU_ASSERT_EQUAL(s.status, PH_CHILD_STANDBY);
    /* an env index beyond the geometry names no figures */
    processor_in(&fx, 2, 7, 78);
    CU_ASSERT_FATAL(ph_shm_child_snapshot_get(&fx.shm, 2, &s) == 0);
    CU_ASSERT_EQUAL(s.pid, 78);
    CU_ASSERT_EQUAL(s.status, PH_CHILD_STANDBY);
    CU_ASSERT_PTR_NULL(ph_shm_child_stats_of(&fx.shm, 2));
    ph_shm_fx_close(&fx);
}

/* ACTIVE is reported, never stored: a READY child with a busy thread. */
static void test_child_active_is_derived(void)
{
    ph_shm_child_snapshot s;
    ph_shm_child_stats *st;
    ph_shm_fx fx;

    ph_shm_fx_open(&fx, 1, 3, 1, 1);
    st = processor_in(&fx, 1, 0, 50);
    atomic_store(&st->status, PH_CHILD_READY);
    atomic_store(&st->busy_threads, 0);
    CU_ASSERT_FATAL(ph_shm_child_snapshot_get(&fx.shm, 1, &s) == 0);
    CU_ASSERT_EQUAL(s.status, PH_CHILD_READY);
    atomic_store(&st->busy_threads, 1);
    CU_ASSERT_FATAL(ph_shm_child_snapshot_get(&fx.shm, 1, &s) == 0);
    CU_ASSERT_EQUAL(s.status, PH_CHILD_ACTIVE);
    CU_ASSERT_EQUAL(atomic_load(&st->status), PH_CHILD_READY);
    /* a STARTING child is not active, whatever its counters say */
    atomic_store(&st->status, PH_CHILD_STARTING);
    CU_ASSERT_FATAL(ph_shm_child_snapshot_get(&fx.shm, 1, &s) == 0);
    CU_ASSERT_EQUAL(s.status, PH_CHILD_STARTING);
    ph_shm_fx_close(&fx);
}

/* pstat's path: a read-only mapping, a child rewriting its record in
 * another process the whole time. */
static void test_child_snapshot_under_a_racing_writer(void)
{
    _Atomic int *stop = ph_shm_fx_shared_page(sizeof(*stop));
    ph_shm_child_snapshot s;
    uint64_t reads = 0, busy = 0, torn = 0;
    char err[256];
    int64_t until;
    ph_shm_fx fx;
    ph_shm ro;
    int status;
    pid_t pid;

    ph_shm_fx_open(&fx, 1, 2, 1, 1);
    CU_ASSERT_FATAL(ph_shm_open_readonly(&ro, fx.path, err, sizeof(err))
                    == 0);
    fflush(NULL);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        int32_t k = 0;

        while (!atomic_load(stop)) {
            write_child(ph_shm_child_at(&fx.shm, 1), ++k);
        }
        _exit(0);
    }
    until = ph_shm_fx_now_ms() + RACE_MS;
    while (ph_shm_fx_now_ms() < until) {
        if (ph_shm_child_snapshot_get(&ro, 1, &s) != 0) {
            busy++;
            continue;
        }
        if (s.pid == 0) {
            continue;           /* as created, before the first write */
        }
        reads++;
        torn += s.generation != (uint32_t)s.pid
                || s.env_index != s.pid || s.numa_node != s.pid
                || s.started_us != (int64_t)s.pid * 1000;
    }
    atomic_store(stop, 1);
    CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
    printf("(%llu snapshots, %llu busy) ", (unsigned long long)reads,
           (unsigned long long)busy);
    CU_ASSERT(reads > 0);
    CU_ASSERT_EQUAL(torn, 0u);
    ph_shm_unmap(&ro);
    ph_shm_fx_close(&fx);
}

int ph_shm_test_register_snapshot(void)
{
    static const ph_shm_test tests[] = {
        { "env snapshot copies identity and counters",
          test_env_snapshot_copies },
        { "env name always NUL-terminated", test_env_name_always_terminated },
        { "oldest wait over all multiplexers",
          test_oldest_wait_over_all_multiplexers },
        { "busy record: bounded, then -1", test_busy_record_gives_up },
        { "out-of-range records refused", test_out_of_range_refused },
        { "child snapshot copies", test_child_snapshot_copies },
        { "child ACTIVE is derived", test_child_active_is_derived },
        { "child figures only from the env MAIN names",
          test_child_figures_only_from_its_env },
        { "child snapshot under a racing writer process",
          test_child_snapshot_under_a_racing_writer },
    };

    return ph_shm_test_add_suite("shm_snapshot", tests,
                                 sizeof(tests) / sizeof(tests[0]));
}
