/*
 * test_policy_mux.c -- CUnit suite for
 * server/mpm/peruser_hybrid/policy_mux.c: tables of multiplexer censuses
 * and the plan each must give (which retire, whether one more starts and
 * why, or would but for MaxMultiplexers, the floor, the backlog clock).
 *
 * Notation: a multiplexer row is { slot, retiring, cpu_pct, idle_ms }; the
 * expected retirements are census indices ended by -1.  Defaults of a
 * case: MinMultiplexers 1, MaxMultiplexers 4, MultiplexerIdleTimeout 0.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "policy_mux.h"
#include "unit_suites.h"

#define MAXM 8
#define END -1
#define NOW 5000000LL
#define PERSIST PH_MUX_BACKLOG_PERSIST_MS

typedef struct mux_case {
    const char *name;
    int nmuxes;
    ph_mux_scale_mux muxes[MAXM];
    int backoff;
    unsigned backlog;
    long long since_ms;         /* the backlog clock before */
    long long idle_timeout_ms;
    long min_muxes, max_muxes;  /* 0: the defaults 1 and 4 */
    int retire[MAXM + 1];       /* census indices, then END */
    ph_mux_grow_why grow, capped;
    int kept, floor;
    long long since_after;      /* the backlog clock after */
} mux_case;

/* Shorthands: a multiplexer at `cpu` percent, idle `ms`. */
#define MUX(slot, cpu, ms) { slot, 0, cpu, ms }
#define GOING(slot) { slot, 1, -1, 0 }
#define NO_RETIRE { END }

static const mux_case cases[] = {
    { "nothing to do: one quiet multiplexer",
      1, { MUX(0, 3, 10) }, .retire = NO_RETIRE,
      .grow = PH_MUX_GROW_NONE, .kept = 1, .floor = 1 },

    { "the minimum is the floor",
      1, { MUX(0, 3, 10) }, .min_muxes = 3, .max_muxes = 5,
      .retire = NO_RETIRE, .grow = PH_MUX_GROW_NONE, .kept = 1, .floor = 3 },

    { "a queue seen for the first time starts the clock, nothing more",
      2, { MUX(0, 3, 10), MUX(1, 3, 10) }, .backlog = 4,
      .retire = NO_RETIRE, .grow = PH_MUX_GROW_NONE, .kept = 2, .floor = 1,
      .since_after = NOW },

    { "a queue just under the persistence: nothing yet",
      2, { MUX(0, 3, 10), MUX(1, 3, 10) }, .backlog = 4,
      .since_ms = NOW - PERSIST + 1,
      .retire = NO_RETIRE, .grow = PH_MUX_GROW_NONE, .kept = 2, .floor = 1,
      .since_after = NOW - PERSIST + 1 },

    { "a queue that stayed for the persistence: one more",
      2, { MUX(0, 3, 10), MUX(1, 3, 10) }, .backlog = 4,
      .since_ms = NOW - PERSIST,
      .retire = NO_RETIRE, .grow = PH_MUX_GROW_BACKLOG, .kept = 2,
      .floor = 1, .since_after = NOW - PERSIST },

    { "the queue emptied: the clock stops",
      2, { MUX(0, 3, 10), MUX(1, 3, 10) }, .backlog = 0,
      .since_ms = NOW - 10 * PERSIST,
      .retire = NO_RETIRE, .grow = PH_MUX_GROW_NONE, .kept = 2, .floor = 1,
      .since_after = 0 },

    { "every one over 75%: one more",
      2, { MUX(0, 76, 10), MUX(1, 99, 10) },
      .retire = NO_RETIRE, .grow = PH_MUX_GROW_BUSY, .kept = 2, .floor = 1 },

    { "one at exactly 75%: not all over it",
      2, { MUX(0, 75, 10), MUX(1, 99, 10) },
      .retire = NO_RETIRE, .grow = PH_MUX_GROW_NONE, .kept = 2, .floor = 1 },

    { "one not measured yet does not hold the others back",
      2, { MUX(0, -1, 10), MUX(1, 90, 10) },
      .retire = NO_RETIRE, .grow = PH_MUX_GROW_BUSY, .kept = 2, .floor = 1 },

    { "none measured: not busy",
      2, { MUX(0, -1, 10), MUX(1, -1, 10) },
      .retire = NO_RETIRE, .grow = PH_MUX_GROW_NONE, .kept = 2, .floor = 1 },

    { "queued and busy: the queue is said",
      1, { MUX(0, 95, 10) }, .backlog = 1, .since_ms = NOW - 5 * PERSIST,
      .retire = NO_RETIRE, .grow = PH_MUX_GROW_BACKLOG, .kept = 1,
      .floor = 1, .since_after = NOW - 5 * PERSIST },

    { "MaxMultiplexers reached: no more, whatever the queue",
      4, { MUX(0, 95, 10), MUX(1, 95, 10), MUX(2, 95, 10), MUX(3, 95, 10) },
      .backlog = 9, .since_ms = NOW - 5 * PERSIST,
      .retire = NO_RETIRE, .grow = PH_MUX_GROW_NONE,
      .capped = PH_MUX_GROW_BACKLOG, .kept = 4, .floor = 1,
      .since_after = NOW - 5 * PERSIST },

    { "MaxMultiplexers reached, every one busy: said, none started",
      2, { MUX(0, 95, 10), MUX(1, 95, 10) }, .max_muxes = 2,
      .retire = NO_RETIRE, .grow = PH_MUX_GROW_NONE,
      .capped = PH_MUX_GROW_BUSY, .kept = 2, .floor = 1 },

    { "retiring ones count for nothing: neither alive nor busy",
      3, { GOING(0), MUX(1, 95, 10), GOING(2) }, .max_muxes = 2,
      .retire = NO_RETIRE, .grow = PH_MUX_GROW_BUSY, .kept = 1, .floor = 1 },

    { "back-off: nothing at all, the clock kept",
      2, { MUX(0, 95, 999999), MUX(1, 95, 999999) }, .backoff = 1,
      .backlog = 9, .since_ms = NOW - 5 * PERSIST, .idle_timeout_ms = 1000,
      .retire = NO_RETIRE, .grow = PH_MUX_GROW_NONE, .kept = 2, .floor = 0,
      .since_after = NOW - 5 * PERSIST },

    { "MultiplexerIdleTimeout 0: never retired",
      3, { MUX(0, 0, 999999), MUX(1, 0, 999999), MUX(2, 0, 999999) },
      .retire = NO_RETIRE, .grow = PH_MUX_GROW_NONE, .kept = 3, .floor = 1 },

    { "idle for the timeout: retired in order, down to the minimum",
      4, { MUX(0, 0, 30000), MUX(1, 0, 29999), MUX(2, 0, 30000),
           MUX(3, 0, 60000) },
      .idle_timeout_ms = 30000, .min_muxes = 2,
      .retire = { 0, 2, END }, .grow = PH_MUX_GROW_NONE, .kept = 2,
      .floor = 2 },

    { "a retiring one is not retired again, nor counted for the minimum",
      3, { GOING(0), MUX(1, 0, 60000), MUX(2, 0, 60000) },
      .idle_timeout_ms = 30000, .min_muxes = 1,
      .retire = { 1, END }, .grow = PH_MUX_GROW_NONE, .kept = 1, .floor = 1 },

    { "a retirement makes room under the maximum",
      2, { MUX(0, 0, 60000), MUX(1, 90, 0) }, .backlog = 3,
      .since_ms = NOW - PERSIST, .idle_timeout_ms = 30000,
      .min_muxes = 1, .max_muxes = 2,
      .retire = { 0, END }, .grow = PH_MUX_GROW_BACKLOG, .kept = 1,
      .floor = 1, .since_after = NOW - PERSIST },
};

static void run_case(const mux_case *t)
{
    ph_mux_scale_census c;
    ph_mux_scale_plan p;
    int retire[MAXM], expect[MAXM], i, n = 0;

    memset(&c, 0, sizeof(c));
    memset(&p, 0, sizeof(p));
    c.nmuxes = t->nmuxes;
    c.muxes = t->muxes;
    c.backoff = t->backoff;
    c.backlog = t->backlog;
    c.backlog_since_ms = t->since_ms;
    c.now_ms = NOW;
    c.idle_timeout_ms = t->idle_timeout_ms;
    c.min_muxes = t->min_muxes ? t->min_muxes : 1;
    c.max_muxes = t->max_muxes ? t->max_muxes : 4;
    p.retire = retire;
    ph_mux_scale_decide(&c, &p);

    memset(expect, 0, sizeof(expect));
    for (i = 0; t->retire[i] != END; i++) {
        expect[t->retire[i]] = 1;
        n++;
    }
    for (i = 0; i < t->nmuxes; i++) {
        CU_ASSERT_EQUAL(retire[i], expect[i]);
        if (retire[i] != expect[i]) {
            fprintf(stderr, "\n  %s: mux %d: retire %d, expected %d",
                    t->name, i, retire[i], expect[i]);
        }
    }
    CU_ASSERT_EQUAL(p.nretire, n);
    CU_ASSERT_EQUAL(p.grow, t->grow);
    CU_ASSERT_EQUAL(p.capped, t->capped);
    CU_ASSERT_EQUAL(p.kept, t->kept);
    CU_ASSERT_EQUAL(p.floor, t->floor);
    CU_ASSERT_EQUAL(p.backlog_since_ms, t->since_after);
    if (p.grow != t->grow || p.capped != t->capped || p.kept != t->kept || p.floor != t->floor
        || p.backlog_since_ms != t->since_after || p.nretire != n) {
        fprintf(stderr, "\n  %s: grow %d capped %d kept %d floor %d since "
                "%lld retired %d", t->name, (int)p.grow, (int)p.capped,
                p.kept, p.floor,
                p.backlog_since_ms, p.nretire);
    }
}

static void test_cases(void)
{
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_case(&cases[i]);
    }
}

/* A queue that never empties, looked at every 250 ms with the caller
 * resetting the clock on each start: one more every persistence period,
 * up to the maximum, and never two in one tick. */
static void test_steady_queue_grows_one_per_period(void)
{
    ph_mux_scale_mux muxes[MAXM];
    ph_mux_scale_census c;
    ph_mux_scale_plan p;
    int retire[MAXM], n = 1, tick, started_at[MAXM], k = 0;
    long long now = NOW, since = 0;

    memset(&c, 0, sizeof(c));
    memset(&p, 0, sizeof(p));
    p.retire = retire;
    for (tick = 0; tick < 40; tick++, now += 250) {
        int i;
        for (i = 0; i < n; i++) {
            muxes[i].slot = i;
            muxes[i].retiring = 0;
            muxes[i].cpu_pct = 10;
            muxes[i].idle_ms = 0;
        }
        c.nmuxes = n;
        c.muxes = muxes;
        c.backlog = 50;
        c.backlog_since_ms = since;
        c.now_ms = now;
        c.min_muxes = 1;
        c.max_muxes = 4;
        ph_mux_scale_decide(&c, &p);
        since = p.backlog_since_ms;
        if (p.grow != PH_MUX_GROW_NONE) {
            CU_ASSERT_EQUAL(p.grow, PH_MUX_GROW_BACKLOG);
            started_at[k++] = tick;
            n++;
            since = 0;
        }
    }
    CU_ASSERT_EQUAL(n, 4);
    CU_ASSERT_EQUAL(k, 3);
    /* the clock starts at the tick after a start: 1000 ms is 4 ticks */
    CU_ASSERT_EQUAL(started_at[0], 4);
    CU_ASSERT_EQUAL(started_at[1], 9);
    CU_ASSERT_EQUAL(started_at[2], 14);
}

int ph_unit_register_policy_mux(void)
{
    static const ph_unit_test tests[] = {
        { "table of censuses and plans", test_cases },
        { "a steady queue: one more per period",
          test_steady_queue_grows_one_per_period },
    };

    return ph_unit_add_suite("policy_mux", NULL, tests,
                             sizeof(tests) / sizeof(tests[0]));
}
