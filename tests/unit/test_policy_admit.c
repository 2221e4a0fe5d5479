/*
 * test_policy_admit.c -- CUnit suite for
 * server/mpm/peruser_hybrid/policy_admit.c: tables of one environment's
 * census (sane and hostile figures) and what each rule must answer:
 * capacity, AVAIL, the allowed wait, how AVAIL moves, starting, and the
 * demand to raise.
 *
 * Notation: a processor row is { forked, starting, idle, busy, room,
 * threads }.  Defaults of a case: ThreadLimit 64, 32 tickets there can be,
 * ProcessorWaitTimeout 5000 ms in 10 levels, AVAIL 100, MaxProcessors 10.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "policy_admit.h"
#include "unit_suites.h"

#define MAXP 8
#define UNSET 0x7fffffff

typedef struct admit_case {
    const char *name;
    int nprocs;
    ph_admit_proc procs[MAXP];
    uint32_t avail;             /* UNSET: 100 */
    int32_t in_flight;
    uint32_t wait_timeout_ms;   /* UNSET: 5000 */
    uint32_t wait_levels;       /* UNSET: 10 */
    uint32_t processors, max_processors;    /* max 0: 10 */
    /* expected */
    int capacity;
    long long wait_ms;
    int starting;
    uint32_t demand_any;        /* demand limit without a caller's limit */
    uint32_t demand_one;        /* with a caller's limit of 1 */
} admit_case;

/* Shorthands: a processor with `idle` idle threads of 4, room `room`. */
#define READY(idle, room) { 1, 0, idle, 4 - (idle), room, 4 }
#define PREPARED { 0, 1, 0, 0, 0, 0 }

static const admit_case cases[] = {
    { "no processor: no capacity, a full wait, ask up to MaxProcessors",
      0, { { 0 } }, .avail = UNSET, .wait_timeout_ms = UNSET,
      .wait_levels = UNSET,
      .capacity = 0, .wait_ms = 5000, .starting = 0, .demand_any = 10,
      .demand_one = 1 },

    { "idle threads, bounded by each one's room",
      2, { READY(3, 8), READY(4, 1) }, .avail = UNSET,
      .wait_timeout_ms = UNSET, .wait_levels = UNSET, .processors = 2,
      .capacity = 4, .wait_ms = 5000, .starting = 0, .demand_any = 8,
      .demand_one = 1 },

    { "handoffs in flight are taken off",
      1, { READY(4, 8) }, .avail = UNSET, .in_flight = 3,
      .wait_timeout_ms = UNSET, .wait_levels = UNSET, .processors = 1,
      .capacity = 1, .wait_ms = 5000, .demand_any = 9, .demand_one = 1 },

    { "more in flight than idle: below zero",
      1, { READY(1, 8) }, .avail = UNSET, .in_flight = 3,
      .wait_timeout_ms = UNSET, .wait_levels = UNSET, .processors = 1,
      .capacity = -2, .wait_ms = 5000, .demand_any = 9, .demand_one = 1 },

    { "a prepared one (no pid yet) brings no capacity but is starting",
      2, { READY(2, 8), PREPARED }, .avail = UNSET,
      .wait_timeout_ms = UNSET, .wait_levels = UNSET, .processors = 1,
      .capacity = 2, .wait_ms = 5000, .starting = 1, .demand_any = 0,
      .demand_one = 0 },

    { "figures of one without a pid are no capacity: it reads nothing",
      1, { { 0, 1, 4, 0, 8, 4 } }, .avail = UNSET,
      .wait_timeout_ms = UNSET, .wait_levels = UNSET,
      .capacity = 0, .wait_ms = 5000, .starting = 1, .demand_any = 0,
      .demand_one = 0 },

    { "workers not all counted in yet: starting",
      1, { { 1, 0, 1, 0, 8, 4 } }, .avail = UNSET,
      .wait_timeout_ms = UNSET, .wait_levels = UNSET, .processors = 1,
      .capacity = 1, .wait_ms = 5000, .starting = 1, .demand_any = 0,
      .demand_one = 0 },

    { "MaxProcessors alive: no demand",
      1, { READY(0, 8) }, .avail = UNSET, .wait_timeout_ms = UNSET,
      .wait_levels = UNSET, .processors = 3, .max_processors = 3,
      .capacity = 0, .wait_ms = 5000, .demand_any = 0, .demand_one = 0 },

    /* AVAIL and the wait: 5000 ms in 10 levels */
    { "AVAIL 0: no wait at all",
      0, { { 0 } }, .avail = 0, .wait_timeout_ms = UNSET,
      .wait_levels = UNSET,
      .capacity = 0, .wait_ms = 0, .demand_any = 10, .demand_one = 1 },

    { "AVAIL 1: one level's wait (ceil)",
      0, { { 0 } }, .avail = 1, .wait_timeout_ms = UNSET,
      .wait_levels = UNSET,
      .capacity = 0, .wait_ms = 500, .demand_any = 10, .demand_one = 1 },

    { "AVAIL 50: half the wait",
      0, { { 0 } }, .avail = 50, .wait_timeout_ms = UNSET,
      .wait_levels = UNSET,
      .capacity = 0, .wait_ms = 2500, .demand_any = 10, .demand_one = 1 },

    { "AVAIL 51: rounded up to the next level",
      0, { { 0 } }, .avail = 51, .wait_timeout_ms = UNSET,
      .wait_levels = UNSET,
      .capacity = 0, .wait_ms = 3000, .demand_any = 10, .demand_one = 1 },

    { "one level: all or nothing",
      0, { { 0 } }, .avail = 1, .wait_timeout_ms = UNSET, .wait_levels = 1,
      .capacity = 0, .wait_ms = 5000, .demand_any = 10, .demand_one = 1 },

    { "levels 0 is taken as one",
      0, { { 0 } }, .avail = 30, .wait_timeout_ms = UNSET, .wait_levels = 0,
      .capacity = 0, .wait_ms = 5000, .demand_any = 10, .demand_one = 1 },

    { "ProcessorWaitTimeout 0: no wait whatever AVAIL",
      0, { { 0 } }, .avail = UNSET, .wait_timeout_ms = 0,
      .wait_levels = UNSET,
      .capacity = 0, .wait_ms = 0, .demand_any = 10, .demand_one = 1 },

    /* a hostile processor wrote its region */
    { "hostile: AVAIL beyond 100 counts as 100",
      0, { { 0 } }, .avail = 0xffffffffu, .wait_timeout_ms = UNSET,
      .wait_levels = UNSET,
      .capacity = 0, .wait_ms = 5000, .demand_any = 10, .demand_one = 1 },

    { "hostile: huge idle and room are clamped to ThreadLimit each",
      2, { { 1, 0, 0x7fffffff, 0, 0x7fffffff, 4 },
           { 1, 0, 0x7fffffff, 0, 0x7fffffff, 4 } },
      .avail = UNSET, .wait_timeout_ms = UNSET, .wait_levels = UNSET,
      .processors = 2,
      .capacity = 128, .wait_ms = 5000, .demand_any = 8, .demand_one = 1 },

    { "hostile: negative figures count as 0",
      1, { { 1, 0, -50, -50, -50, 4 } }, .avail = UNSET,
      .in_flight = -1000000, .wait_timeout_ms = UNSET, .wait_levels = UNSET,
      .processors = 1,
      .capacity = 0, .wait_ms = 5000, .starting = 1, .demand_any = 0,
      .demand_one = 0 },

    { "hostile: in flight beyond the tickets there can be is clamped",
      1, { READY(4, 64) }, .avail = UNSET, .in_flight = 0x7fffffff,
      .wait_timeout_ms = UNSET, .wait_levels = UNSET, .processors = 1,
      .capacity = 4 - 32, .wait_ms = 5000, .demand_any = 9,
      .demand_one = 1 },

    { "hostile: threads beyond ThreadLimit are clamped to it",
      1, { { 1, 0, 60, 4, 64, 0x7fffffff } }, .avail = UNSET,
      .wait_timeout_ms = UNSET, .wait_levels = UNSET, .processors = 1,
      .capacity = 60, .wait_ms = 5000, .starting = 0, .demand_any = 9,
      .demand_one = 1 },
};

static void census_of(const admit_case *t, ph_admit_census *c)
{
    memset(c, 0, sizeof(*c));
    c->wait_timeout_ms = t->wait_timeout_ms == UNSET ? 5000
                                                     : t->wait_timeout_ms;
    c->wait_levels = t->wait_levels == UNSET ? 10 : t->wait_levels;
    c->max_processors = t->max_processors ? t->max_processors : 10;
    c->processors = t->processors;
    c->thread_limit = 64;
    c->in_flight_max = 32;
    c->avail = t->avail == UNSET ? 100 : t->avail;
    c->in_flight = t->in_flight;
    c->nprocs = t->nprocs;
    c->procs = t->procs;
}

static void run_case(const admit_case *t)
{
    ph_admit_census c;
    int capacity, starting;
    long long wait_ms;
    uint32_t any, one;

    census_of(t, &c);
    capacity = ph_admit_rule_capacity(&c);
    wait_ms = ph_admit_rule_wait_ms(&c);
    starting = ph_admit_rule_starting(&c);
    any = ph_admit_rule_demand_limit(&c, 0);
    one = ph_admit_rule_demand_limit(&c, 1);
    CU_ASSERT_EQUAL(capacity, t->capacity);
    CU_ASSERT_EQUAL(wait_ms, t->wait_ms);
    CU_ASSERT_EQUAL(starting, t->starting);
    CU_ASSERT_EQUAL(any, t->demand_any);
    CU_ASSERT_EQUAL(one, t->demand_one);
    CU_ASSERT(ph_admit_rule_avail(&c) <= 100);
    if (capacity != t->capacity || wait_ms != t->wait_ms
        || starting != t->starting || any != t->demand_any
        || one != t->demand_one) {
        fprintf(stderr, "\n  %s: capacity %d wait %lld starting %d demand "
                "%u/%u", t->name, capacity, wait_ms, starting, any, one);
    }
}

static void test_cases(void)
{
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_case(&cases[i]);
    }
}

/* How AVAIL moves: one step up at once, one down when a wait is over,
 * nothing for the rest; the step is ceil(100 / levels). */
static void test_avail_moves(void)
{
    static const struct {
        uint32_t levels;
        ph_admit_outcome o;
        int delta;
    } rows[] = {
        { 10, PH_ADMIT_AT_ONCE, 10 },
        { 10, PH_ADMIT_WAIT_OVER, -10 },
        { 10, PH_ADMIT_AFTER_WAIT, 0 },
        { 10, PH_ADMIT_CHANNEL_FAILED, 0 },
        { 3, PH_ADMIT_AT_ONCE, 34 },
        { 3, PH_ADMIT_WAIT_OVER, -34 },
        { 1, PH_ADMIT_WAIT_OVER, -100 },
        { 0, PH_ADMIT_AT_ONCE, 100 },
        { 100, PH_ADMIT_WAIT_OVER, -1 },
    };
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        ph_admit_census c;
        int d;

        memset(&c, 0, sizeof(c));
        c.wait_levels = rows[i].levels;
        d = ph_admit_rule_avail_delta(&c, rows[i].o);
        CU_ASSERT_EQUAL(d, rows[i].delta);
        if (d != rows[i].delta) {
            fprintf(stderr, "\n  levels %u outcome %d: %d, expected %d",
                    rows[i].levels, (int)rows[i].o, d, rows[i].delta);
        }
    }
}

/* A flood: every wait is over, so AVAIL falls a step each time and the
 * allowed wait with it, to none after `levels` drops; then connections
 * that find capacity at once bring it back. */
static void test_flood_shrinks_the_wait_to_none(void)
{
    ph_admit_census c;
    long long last;
    int avail = 100, i;

    memset(&c, 0, sizeof(c));
    c.wait_timeout_ms = 5000;
    c.wait_levels = 10;
    c.avail = 100;
    last = ph_admit_rule_wait_ms(&c);
    CU_ASSERT_EQUAL(last, 5000);
    for (i = 0; i < 10; i++) {
        long long w;
        avail += ph_admit_rule_avail_delta(&c, PH_ADMIT_WAIT_OVER);
        c.avail = (uint32_t)(avail < 0 ? 0 : avail);
        w = ph_admit_rule_wait_ms(&c);
        CU_ASSERT(w < last);
        last = w;
    }
    CU_ASSERT_EQUAL(last, 0);
    avail += ph_admit_rule_avail_delta(&c, PH_ADMIT_AT_ONCE);
    c.avail = (uint32_t)avail;
    CU_ASSERT_EQUAL(ph_admit_rule_wait_ms(&c), 500);
}

int ph_unit_register_policy_admit(void)
{
    static const ph_unit_test tests[] = {
        { "table of censuses and answers", test_cases },
        { "how AVAIL moves", test_avail_moves },
        { "a flood shrinks the wait to none",
          test_flood_shrinks_the_wait_to_none },
    };

    return ph_unit_add_suite("policy_admit", NULL, tests,
                             sizeof(tests) / sizeof(tests[0]));
}
