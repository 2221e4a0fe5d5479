/*
 * test_policy_slots.c -- CUnit suite for
 * server/mpm/peruser_hybrid/policy_slots.c: tables of censuses and the
 * plan each must give (processors started, in order; processors retired
 * and why; wants left unmet; demand settled).
 *
 * Notation in the tables: environments are numbered from 0; a processor
 * row is { slot, env, idle, idle_threads, idle_ms }; the expected starts
 * are environment numbers in order, ended by -1; expected retirements are
 * { census proc index, why }, ended by { -1 }.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "policy_slots.h"
#include "unit_suites.h"

#define MAXE 24
#define MAXP 32
#define END -1

/* Defaults of a case's environment: MinProcessors 0, MaxProcessors 10,
 * MinSpareProcessors 0, MaxSpareProcessors 0. */
typedef struct env_row {
    int alive, idle, idle_threads;
    unsigned demand;
    int queued, backoff;
    long min_processors, max_processors, min_spare, max_spare;
    long long quiet_until_ms;
} env_row;

typedef struct retire_row {
    int proc;
    ph_slots_why why;
} retire_row;

typedef struct slots_case {
    const char *name;
    int nenvs;
    env_row envs[MAXE];
    int nprocs;
    ph_slots_proc procs[MAXP];
    int free_slots, draining, processors, processor_cap, starting;
    long idle_timeout_s, min_spare_threads, max_spare_threads, start_servers;
    int spawn[MAXP + 1];            /* env numbers, then END */
    retire_row retire[MAXP + 1];    /* then { END } */
    int unmet_first, unmet_demand;
    int settle_env, settle;         /* one env's settled demand (-1: none) */
    int quiet_env;                  /* an env that must become QUIET (-1) */
} slots_case;

#define NOW 1000000LL
#define TPC 2

/* A plan writing into the caller's arrays. */
static void plan_over(ph_slots_plan *p, int *spawn, ph_slots_why *why,
                      unsigned *settle, long long *quiet, int *env_scratch,
                      int *proc_scratch)
{
    p->spawn_env = spawn;
    p->why = why;
    p->settle = settle;
    p->quiet_until_ms = quiet;
    p->env_scratch = env_scratch;
    p->proc_scratch = proc_scratch;
}

static void run_case(const slots_case *t)
{
    ph_slots_env envs[MAXE];
    ph_slots_census c;
    ph_slots_plan p;
    int spawn[MAXP + 64];
    ph_slots_why why[MAXP];
    unsigned settle[MAXE];
    long long quiet[MAXE];
    int env_scratch[PH_SLOTS_ENV_SCRATCH * MAXE];
    int proc_scratch[PH_SLOTS_PROC_SCRATCH * MAXP];
    int i, n, expect_why[MAXP];

    memset(&c, 0, sizeof(c));
    memset(&p, 0, sizeof(p));
    for (i = 0; i < t->nenvs; i++) {
        const env_row *r = &t->envs[i];
        envs[i].alive = r->alive;
        envs[i].idle = r->idle;
        envs[i].idle_threads = r->idle_threads;
        envs[i].demand = r->demand;
        envs[i].queued = r->queued;
        envs[i].backoff = r->backoff;
        envs[i].min_processors = r->min_processors;
        envs[i].max_processors = r->max_processors ? r->max_processors : 10;
        envs[i].min_spare = r->min_spare;
        envs[i].max_spare = r->max_spare;
        envs[i].quiet_until_ms = r->quiet_until_ms;
    }
    c.nenvs = t->nenvs;
    c.envs = envs;
    c.nprocs = t->nprocs;
    c.procs = t->procs;
    c.free_slots = t->free_slots;
    c.draining = t->draining;
    c.processors = t->processors ? t->processors : t->nprocs;
    c.processor_cap = t->processor_cap ? t->processor_cap : 1000000;
    c.starting = t->starting;
    c.now_ms = NOW;
    c.idle_timeout_s = t->idle_timeout_s;
    c.threads_per_child = TPC;
    c.min_spare_threads = t->min_spare_threads;
    c.max_spare_threads = t->max_spare_threads;
    c.start_servers = t->start_servers;
    plan_over(&p, spawn, why, settle, quiet, env_scratch, proc_scratch);
    ph_slots_decide(&c, &p);

    for (n = 0; t->spawn[n] != END; n++) {
        ;
    }
    CU_ASSERT_EQUAL(p.nspawn, n);
    if (p.nspawn != n) {
        fprintf(stderr, "\n  %s: %d starts, expected %d:", t->name, p.nspawn, n);
        for (i = 0; i < p.nspawn; i++) {
            fprintf(stderr, " %d", spawn[i]);
        }
    }
    for (i = 0; i < n && i < p.nspawn; i++) {
        CU_ASSERT_EQUAL(spawn[i], t->spawn[i]);
        if (spawn[i] != t->spawn[i]) {
            fprintf(stderr, "\n  %s: start %d is env %d, expected %d", t->name,
                    i, spawn[i], t->spawn[i]);
        }
    }
    for (i = 0; i < t->nprocs; i++) {
        expect_why[i] = PH_SLOTS_KEEP;
    }
    for (i = 0; t->retire[i].proc != END; i++) {
        expect_why[t->retire[i].proc] = (int)t->retire[i].why;
    }
    for (i = 0; i < t->nprocs; i++) {
        CU_ASSERT_EQUAL((int)why[i], expect_why[i]);
        if ((int)why[i] != expect_why[i]) {
            fprintf(stderr, "\n  %s: proc %d (slot %d): %s, expected %s",
                    t->name, i, t->procs[i].slot, ph_slots_why_text(why[i]),
                    ph_slots_why_text((ph_slots_why)expect_why[i]));
        }
    }
    CU_ASSERT_EQUAL(p.unmet[PH_SLOTS_FIRST], t->unmet_first);
    CU_ASSERT_EQUAL(p.unmet[PH_SLOTS_DEMAND], t->unmet_demand);
    if (p.unmet[PH_SLOTS_FIRST] != t->unmet_first
        || p.unmet[PH_SLOTS_DEMAND] != t->unmet_demand) {
        fprintf(stderr, "\n  %s: unmet first %d demand %d", t->name,
                p.unmet[PH_SLOTS_FIRST], p.unmet[PH_SLOTS_DEMAND]);
    }
    if (t->settle_env >= 0) {
        CU_ASSERT_EQUAL(settle[t->settle_env], (unsigned)t->settle);
    }
    if (t->quiet_env >= 0) {
        CU_ASSERT(quiet[t->quiet_env] > NOW);
    }
}

/* Shorthands for the tables. */
#define IDLE(slot, env, ms) { slot, env, 1, TPC, ms }
#define BUSY(slot, env, ms) { slot, env, 0, 0, ms }
#define RETIRE_END { END, PH_SLOTS_KEEP }
#define NO_RETIRE { RETIRE_END }
#define NONE { END }

static const slots_case cases[] = {
    { "demand starts a first processor",
      2, { { .demand = 1 }, { 0 } }, 0, { { 0 } },
      .free_slots = 4, .spawn = { 0, END }, .retire = NO_RETIRE,
      .settle_env = -1, .quiet_env = -1 },

    { "a connection queued in the channel counts as demand",
      1, { { .queued = 1 } }, 0, { { 0 } },
      .free_slots = 1, .spawn = { 0, END }, .retire = NO_RETIRE,
      .settle_env = -1, .quiet_env = -1 },

    { "nobody asked, MinProcessors 0: nothing starts",
      3, { { 0 }, { 0 }, { 0 } }, 0, { { 0 } },
      .free_slots = 8, .spawn = NONE, .retire = NO_RETIRE,
      .settle_env = -1, .quiet_env = -1 },

    { "spares only once in use",
      2, { { .min_spare = 2 }, { .alive = 1, .idle = 1, .idle_threads = TPC,
                                 .min_spare = 2 } },
      1, { IDLE(1, 1, 10) },
      .free_slots = 8, .spawn = { 1, END }, .retire = NO_RETIRE,
      .settle_env = -1, .quiet_env = -1 },

    { "FIRST before DEMAND before SPARE, round-robin in each",
      4, { { .alive = 1, .idle = 1, .idle_threads = TPC, .min_spare = 3 },
           { .alive = 1, .demand = 3 },
           { .demand = 2 },
           { .demand = 1 } },
      2, { IDLE(1, 0, 50), BUSY(2, 1, 0) },
      .free_slots = 6, .spawn = { 2, 3, 1, 2, 1, 1, END }, .retire = NO_RETIRE,
      .settle_env = -1, .quiet_env = -1 },

    { "MaxProcessors bounds the grant and settles the excess demand",
      1, { { .alive = 2, .demand = 3, .max_processors = 3 } },
      2, { BUSY(1, 0, 0), BUSY(2, 0, 0) },
      .free_slots = 8, .spawn = { 0, END }, .retire = NO_RETIRE,
      .settle_env = 0, .settle = 2, .quiet_env = -1 },

    { "MinProcessors and StartServers at start",
      2, { { .min_processors = 2 }, { 0 } }, 0, { { 0 } },
      .free_slots = 8, .starting = 1, .start_servers = 1,
      .spawn = { 0, 1, 0, END }, .retire = NO_RETIRE,
      .settle_env = -1, .quiet_env = -1 },

    { "back-off: nothing starts, demand is not settled",
      1, { { .demand = 1, .backoff = 1 } }, 0, { { 0 } },
      .free_slots = 8, .spawn = NONE, .retire = NO_RETIRE,
      .settle_env = 0, .settle = 0, .quiet_env = -1 },

    { "IdleTimeout retires and makes the environment QUIET: no spare",
      1, { { .alive = 2, .idle = 2, .idle_threads = 2 * TPC, .min_spare = 2 } },
      2, { IDLE(1, 0, 30000), IDLE(2, 0, 1000) },
      .free_slots = 8, .idle_timeout_s = 20,
      .spawn = NONE, .retire = { { 0, PH_SLOTS_IDLE_TIMEOUT }, RETIRE_END },
      .settle_env = -1, .quiet_env = 0 },

    { "IdleTimeout retires even with spares missing, and none replaces it",
      1, { { .alive = 1, .idle = 1, .idle_threads = TPC, .min_spare = 2 } },
      1, { IDLE(1, 0, 25000) },
      .free_slots = 8, .idle_timeout_s = 20,
      .spawn = NONE, .retire = { { 0, PH_SLOTS_IDLE_TIMEOUT }, RETIRE_END },
      .settle_env = -1, .quiet_env = 0 },

    { "QUIET environment gets no spare, but demand still starts",
      2, { { .alive = 1, .idle = 1, .idle_threads = TPC, .min_spare = 2,
             .quiet_until_ms = NOW + 5000 },
           { .alive = 1, .demand = 1, .min_spare = 2,
             .quiet_until_ms = NOW + 5000 } },
      2, { IDLE(1, 0, 10), BUSY(2, 1, 0) },
      .free_slots = 8, .idle_timeout_s = 20,
      .spawn = { 1, END }, .retire = NO_RETIRE,
      .settle_env = -1, .quiet_env = -1 },

    { "QUIET over: spares again",
      1, { { .alive = 1, .idle = 1, .idle_threads = TPC, .min_spare = 2,
             .quiet_until_ms = NOW - 1 } },
      1, { IDLE(1, 0, 10) },
      .free_slots = 8, .spawn = { 0, END }, .retire = NO_RETIRE,
      .settle_env = -1, .quiet_env = -1 },

    { "idle retirement stops at MinProcessors and when asked for",
      2, { { .alive = 2, .idle = 2, .idle_threads = 2 * TPC, .min_processors = 1 },
           { .alive = 2, .idle = 1, .idle_threads = TPC, .demand = 1 } },
      4, { IDLE(1, 0, 99000), IDLE(2, 0, 99000), IDLE(3, 1, 99000), BUSY(4, 1, 0) },
      .free_slots = 8, .idle_timeout_s = 20,
      .spawn = { 1, END }, .retire = { { 0, PH_SLOTS_IDLE_TIMEOUT }, RETIRE_END },
      .settle_env = -1, .quiet_env = 0 },

    { "MaxSpareProcessors retires the idle beyond it",
      1, { { .alive = 3, .idle = 3, .idle_threads = 3 * TPC, .max_spare = 1 } },
      3, { IDLE(1, 0, 1000), IDLE(2, 0, 1500), IDLE(3, 0, 4000) },
      .free_slots = 8, .idle_timeout_s = 20, .spawn = NONE,
      .retire = { { 0, PH_SLOTS_MAX_SPARE }, { 1, PH_SLOTS_MAX_SPARE }, RETIRE_END },
      .settle_env = -1, .quiet_env = -1 },

    /* Started for a demand a moment ago, not handed their connections
     * yet: not spares. */
    { "MaxSpareProcessors spares the ones idle less than a second",
      1, { { .alive = 3, .idle = 3, .idle_threads = 3 * TPC, .max_spare = 1 } },
      3, { IDLE(1, 0, 10), IDLE(2, 0, 999), IDLE(3, 0, 5000) },
      .free_slots = 8, .idle_timeout_s = 20, .spawn = NONE,
      .retire = { { 2, PH_SLOTS_MAX_SPARE }, RETIRE_END },
      .settle_env = -1, .quiet_env = -1 },

    /* Slots full: 3 slots, each held; env 3 waits for its first. */
    { "slots full: a spare is reclaimed before anyone's last processor",
      4, { { .alive = 1, .idle = 1, .idle_threads = TPC },
           { .alive = 2, .idle = 2, .idle_threads = 2 * TPC, .min_spare = 1 },
           { 0 },
           { .demand = 1 } },
      3, { IDLE(1, 0, 90000), IDLE(2, 1, 5000), IDLE(3, 1, 100) },
      .free_slots = 0, .spawn = NONE,
      .retire = { { 1, PH_SLOTS_RECLAIM_SPARE }, RETIRE_END },
      .unmet_first = 1, .settle_env = 3, .settle = 0, .quiet_env = 1 },

    { "slots full, no spare: the processor idle longest goes",
      4, { { .alive = 1, .idle = 1, .idle_threads = TPC },
           { .alive = 1, .idle = 1, .idle_threads = TPC },
           { .alive = 1, .idle = 1, .idle_threads = TPC },
           { .demand = 1 } },
      3, { IDLE(1, 0, 4000), IDLE(2, 1, 9000), IDLE(3, 2, 100) },
      .free_slots = 0, .spawn = NONE,
      .retire = { { 1, PH_SLOTS_RECLAIM_LAST }, RETIRE_END },
      .unmet_first = 1, .settle_env = -1, .quiet_env = 1 },

    { "slots full: reclaims already draining count, none more",
      3, { { .alive = 1, .idle = 1, .idle_threads = TPC },
           { .demand = 1 }, { .queued = 1 } },
      1, { IDLE(1, 0, 9000) },
      .free_slots = 0, .draining = 2, .spawn = NONE, .retire = NO_RETIRE,
      .unmet_first = 2, .settle_env = -1, .quiet_env = -1 },

    { "slots full: MinProcessors is never reclaimed",
      2, { { .alive = 1, .idle = 1, .idle_threads = TPC, .min_processors = 1 },
           { .demand = 1 } },
      1, { IDLE(1, 0, 99000) },
      .free_slots = 0, .spawn = NONE, .retire = NO_RETIRE,
      .unmet_first = 1, .settle_env = -1, .quiet_env = -1 },

    { "slots full: more for a busy tenant takes spares, not last processors",
      3, { { .alive = 1, .demand = 1 },
           { .alive = 1, .idle = 1, .idle_threads = TPC },
           { .alive = 2, .idle = 1, .idle_threads = TPC } },
      4, { BUSY(1, 0, 0), IDLE(2, 1, 99000), IDLE(3, 2, 10), BUSY(4, 2, 0) },
      .free_slots = 0, .spawn = NONE,
      .retire = { { 2, PH_SLOTS_RECLAIM_SPARE }, RETIRE_END },
      .unmet_demand = 1, .settle_env = -1, .quiet_env = 2 },

    { "slots full, all busy: the tenant holding most gives one up",
      3, { { .alive = 1 }, { .alive = 3 }, { .demand = 1 } },
      4, { BUSY(1, 0, 0), BUSY(2, 1, 0), BUSY(3, 1, 50), BUSY(4, 1, 0) },
      .free_slots = 0, .spawn = NONE,
      .retire = { { 2, PH_SLOTS_RECLAIM_BUSY }, RETIRE_END },
      .unmet_first = 1, .settle_env = -1, .quiet_env = 1 },

    { "slots full, all busy, one each: nobody is evicted",
      3, { { .alive = 1 }, { .alive = 1 }, { .demand = 1 } },
      2, { BUSY(1, 0, 0), BUSY(2, 1, 0) },
      .free_slots = 0, .spawn = NONE, .retire = NO_RETIRE,
      .unmet_first = 1, .settle_env = -1, .quiet_env = -1 },

    { "free slots go to FIRST wants before spares, then spares",
      3, { { .alive = 1, .idle = 1, .idle_threads = TPC, .min_spare = 2 },
           { .demand = 1 }, { .demand = 1 } },
      1, { IDLE(1, 0, 10) },
      .free_slots = 3, .spawn = { 1, 2, 0, END }, .retire = NO_RETIRE,
      .settle_env = -1, .quiet_env = -1 },

    { "MaxRequestWorkers: capped, the cap is said",
      2, { { .demand = 1 }, { .demand = 1 } }, 0, { { 0 } },
      .free_slots = 8, .processors = 3, .processor_cap = 4,
      .spawn = { 0, END }, .retire = NO_RETIRE,
      .unmet_first = 1, .settle_env = 1, .settle = 0, .quiet_env = -1 },

    { "MinSpareThreads asks one more for an environment in use",
      1, { { .alive = 1, .idle = 1, .idle_threads = 1 } },
      1, { IDLE(1, 0, 10) },
      .free_slots = 8, .min_spare_threads = 3,
      .spawn = { 0, END }, .retire = NO_RETIRE,
      .settle_env = -1, .quiet_env = -1 },
};

static void test_cases(void)
{
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_case(&cases[i]);
    }
}

/* Twenty tenants touched one after another on 7 processor slots: each
 * tick starts what the plan says and retires what it says (a retired
 * processor's slot is free at the next tick); every tenant gets its
 * processor within two ticks of asking, and the spare rule never starts
 * a processor for a tenant whose one was reclaimed. */
static void test_twenty_tenants_seven_slots(void)
{
    enum { N = 20, SLOTS = 7 };
    ph_slots_env envs[N];
    ph_slots_proc procs[SLOTS];
    int nprocs = 0, i, tick, k, starts = 0;
    int spawn[SLOTS];
    ph_slots_why why[SLOTS];
    unsigned settle[N];
    long long quiet[N];
    int env_scratch[PH_SLOTS_ENV_SCRATCH * N];
    int proc_scratch[PH_SLOTS_PROC_SCRATCH * SLOTS];
    long long now = NOW;

    memset(envs, 0, sizeof(envs));
    for (k = 0; k < N; k++) {
        envs[k].max_processors = 10;
        envs[k].min_spare = 2;
    }
    for (k = 0; k < N; k++) {
        int served = 0;
        envs[k].demand = 1;
        for (tick = 0; tick < 3 && !served; tick++) {
            ph_slots_census c;
            ph_slots_plan p;
            int kept = 0;

            memset(&c, 0, sizeof(c));
            memset(&p, 0, sizeof(p));
            for (i = 0; i < N; i++) {
                envs[i].alive = envs[i].idle = envs[i].idle_threads = 0;
            }
            for (i = 0; i < nprocs; i++) {
                envs[procs[i].env].alive++;
                envs[procs[i].env].idle++;
                envs[procs[i].env].idle_threads += TPC;
            }
            c.nenvs = N;
            c.envs = envs;
            c.nprocs = nprocs;
            c.procs = procs;
            c.free_slots = SLOTS - nprocs;
            c.processors = nprocs;
            c.processor_cap = 1000;
            c.now_ms = now;
            c.idle_timeout_s = 900;
            c.threads_per_child = TPC;
            plan_over(&p, spawn, why, settle, quiet, env_scratch,
                      proc_scratch);
            ph_slots_decide(&c, &p);
            for (i = 0; i < N; i++) {
                envs[i].quiet_until_ms = quiet[i];
            }
            /* retired ones are gone by the next tick */
            for (i = 0; i < nprocs; i++) {
                if (why[i] == PH_SLOTS_KEEP) {
                    procs[kept++] = procs[i];
                }
            }
            nprocs = kept;
            for (i = 0; i < p.nspawn; i++) {
                int e = spawn[i];
                CU_ASSERT_FATAL(nprocs < SLOTS);
                /* a spare for a tenant whose processor was reclaimed:
                 * churn */
                CU_ASSERT(e == k || envs[e].quiet_until_ms <= now);
                procs[nprocs].slot = nprocs;
                procs[nprocs].env = e;
                procs[nprocs].idle = 1;
                procs[nprocs].idle_threads = TPC;
                procs[nprocs].idle_ms = 0;
                nprocs++;
                starts++;
                if (e == k) {
                    served = 1;
                    envs[k].demand = 0;
                }
            }
            now += 1000;
            for (i = 0; i < nprocs; i++) {
                procs[i].idle_ms += 1000;
            }
        }
        CU_ASSERT(served);
    }
    /* one first processor each, and spares only while slots were free */
    CU_ASSERT(starts <= N + SLOTS);
}

/* The parent's census holds the ACTIVE environments only
 * (parent_active.c): one with no processor, no demand, nothing queued, no
 * back-off and MinProcessors 0 is left out (but at the start with
 * StartServers).  The policy must decide the same for the others whether
 * such environments are in the census or not: each case of the table is
 * run again with an inactive environment inserted before each of its own
 * (some of them QUIET from an earlier retirement), and the plan must be
 * the same, environment for environment. */
typedef struct plan_copy {
    int nspawn, spawn[MAXP + 64];
    ph_slots_why why[MAXP];
    unsigned settle[2 * MAXE];
    long long quiet[2 * MAXE];
    int unmet[PH_SLOTS_CLASSES], reclaimed, capped;
} plan_copy;

static void decide_into(const slots_case *t, int padded, plan_copy *out)
{
    ph_slots_env envs[2 * MAXE];
    ph_slots_proc procs[MAXP];
    ph_slots_census c;
    ph_slots_plan p;
    int env_scratch[PH_SLOTS_ENV_SCRATCH * 2 * MAXE];
    int proc_scratch[PH_SLOTS_PROC_SCRATCH * MAXP];
    int i, n = 0, at[MAXE];

    memset(envs, 0, sizeof(envs));
    memset(&c, 0, sizeof(c));
    memset(&p, 0, sizeof(p));
    memset(out, 0, sizeof(*out));
    for (i = 0; i < t->nenvs; i++) {
        const env_row *r = &t->envs[i];
        ph_slots_env *e;

        if (padded) {
            /* inactive: nothing asked, nothing alive (QUIET or not) */
            envs[n].max_processors = 10;
            envs[n].quiet_until_ms = i % 2 ? NOW + 5000 : 0;
            n++;
        }
        at[i] = n;
        e = &envs[n++];
        e->alive = r->alive;
        e->idle = r->idle;
        e->idle_threads = r->idle_threads;
        e->demand = r->demand;
        e->queued = r->queued;
        e->backoff = r->backoff;
        e->min_processors = r->min_processors;
        e->max_processors = r->max_processors ? r->max_processors : 10;
        e->min_spare = r->min_spare;
        e->max_spare = r->max_spare;
        e->quiet_until_ms = r->quiet_until_ms;
    }
    for (i = 0; i < t->nprocs; i++) {
        procs[i] = t->procs[i];
        procs[i].env = at[t->procs[i].env];
    }
    c.nenvs = n;
    c.envs = envs;
    c.nprocs = t->nprocs;
    c.procs = procs;
    c.free_slots = t->free_slots;
    c.draining = t->draining;
    c.processors = t->processors ? t->processors : t->nprocs;
    c.processor_cap = t->processor_cap ? t->processor_cap : 1000000;
    c.now_ms = NOW;
    c.idle_timeout_s = t->idle_timeout_s;
    c.threads_per_child = TPC;
    c.min_spare_threads = t->min_spare_threads;
    c.max_spare_threads = t->max_spare_threads;
    plan_over(&p, out->spawn, out->why, out->settle, out->quiet,
              env_scratch, proc_scratch);
    ph_slots_decide(&c, &p);
    out->nspawn = p.nspawn;
    /* back to the case's own numbering */
    for (i = 0; i < p.nspawn; i++) {
        out->spawn[i] = padded ? out->spawn[i] / 2 : out->spawn[i];
    }
    for (i = 0; padded && i < t->nenvs; i++) {
        out->settle[i] = out->settle[at[i]];
        out->quiet[i] = out->quiet[at[i]];
    }
    memcpy(out->unmet, p.unmet, sizeof(out->unmet));
    out->reclaimed = p.reclaimed;
    out->capped = p.capped;
}

static void test_inactive_envs_change_nothing(void)
{
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const slots_case *t = &cases[i];
        plan_copy *a = calloc(2, sizeof(plan_copy)), *b = a + 1;
        int k, same;

        CU_ASSERT_FATAL(a != NULL);
        if (t->starting && t->start_servers > 0) {
            free(a);
            continue;   /* then every environment is in the census */
        }
        decide_into(t, 0, a);
        decide_into(t, 1, b);
        same = a->nspawn == b->nspawn && a->reclaimed == b->reclaimed
               && a->capped == b->capped
               && !memcmp(a->unmet, b->unmet, sizeof(a->unmet))
               && !memcmp(a->spawn, b->spawn, sizeof(int) * a->nspawn)
               && !memcmp(a->why, b->why, sizeof(ph_slots_why) * t->nprocs);
        for (k = 0; k < t->nenvs; k++) {
            same = same && a->settle[k] == b->settle[k]
                   && a->quiet[k] == b->quiet[k];
        }
        CU_ASSERT(same);
        if (!same) {
            fprintf(stderr, "\n  %s: a different plan with inactive "
                    "environments in the census", t->name);
        }
        free(a);
    }
}

int ph_unit_register_policy_slots(void)
{
    static const ph_unit_test tests[] = {
        { "table of censuses and plans", test_cases },
        { "twenty tenants on seven slots", test_twenty_tenants_seven_slots },
        { "inactive environments in the census change nothing",
          test_inactive_envs_change_nothing },
    };

    return ph_unit_add_suite("policy_slots", NULL, tests,
                             sizeof(tests) / sizeof(tests[0]));
}
