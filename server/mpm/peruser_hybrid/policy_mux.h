/*
 * policy_mux.h -- how many multiplexers: start one more, retire which, as
 * a pure function of a census (issue 13; the pattern of policy_slots.h).
 *
 * The parent gathers the census each maintenance tick (parent_main.c):
 * the current generation's multiplexers (CPU share since the last look,
 * ms since each last accepted, whether it is retiring already), the
 * connections queued on the listeners and since when, and the limits.
 * ph_mux_scale_decide() turns it into a plan; the parent carries it out
 * (signals, forks, log lines).  No httpd header, no allocation, no I/O,
 * no clock: tests/unit/test_policy_mux.c runs it over tables.
 *
 * THE RULES (doc/decisions.md, "Multiplexer scaling ... (issue 13)"):
 *
 *   Nothing at all while the multiplexers' start back-off is in force.
 *   Only multiplexers of the current generation that are not retiring
 *   count ("alive").
 *
 *   Retire: with MultiplexerIdleTimeout > 0, a multiplexer idle that long
 *   is retired, in census order, while more than MinMultiplexers would be
 *   left.
 *
 *   One more (at most one a tick, never beyond MaxMultiplexers counted
 *   after this tick's retirements):
 *     BACKLOG  connections have stayed queued on the listeners for
 *              PH_MUX_BACKLOG_PERSIST_MS (not two quick looks: at a
 *              generation's start they come while the new multiplexers
 *              are still starting), whatever the reason (CPU, or one of
 *              them hung);
 *     BUSY     every multiplexer whose CPU could be measured (at least
 *              one) used more than PH_MUX_BUSY_PCT of a CPU since the last
 *              look: they never block, so CPU is what they run out of.
 *   BACKLOG is said when both hold; when one more is wanted but
 *   MaxMultiplexers are alive, the plan says so (capped).  The backlog clock starts at the first
 *   look that sees a queue and stops at one that sees none; once one more
 *   is started it starts again (the caller resets it: the new one gets
 *   time to drain the queue).
 *
 *   Floor: then up to MinMultiplexers alive, counting the one more.
 */
#ifndef PH_POLICY_MUX_H
#define PH_POLICY_MUX_H

/* Connections queued on the listeners for this long: one more. */
#define PH_MUX_BACKLOG_PERSIST_MS 1000LL

/* Every multiplexer over this share of a CPU (percent): one more. */
#define PH_MUX_BUSY_PCT 75

/* One multiplexer of the current generation. */
typedef struct ph_mux_scale_mux {
    int slot;               /* its slot of ServerLimit (for the caller) */
    int retiring;           /* already told to go: not counted */
    int cpu_pct;            /* share of a CPU since the last look, percent;
                             * -1: not measured (first look, unreadable) */
    long long idle_ms;      /* since it last accepted, or started */
} ph_mux_scale_mux;

typedef struct ph_mux_scale_census {
    int nmuxes;
    const ph_mux_scale_mux *muxes;
    int backoff;            /* start back-off in force: decide nothing */
    unsigned backlog;       /* connections queued on the listeners now */
    long long backlog_since_ms; /* the queue has been seen since (0: it
                                 * was empty at the last look) */
    long long now_ms;
    long long idle_timeout_ms;  /* MultiplexerIdleTimeout (0: never) */
    long min_muxes, max_muxes;  /* Min/MaxMultiplexers */
} ph_mux_scale_census;

typedef enum ph_mux_grow_why {
    PH_MUX_GROW_NONE = 0,
    PH_MUX_GROW_BACKLOG,    /* connections stayed queued */
    PH_MUX_GROW_BUSY        /* every one over PH_MUX_BUSY_PCT */
} ph_mux_grow_why;

/* The plan.  The caller provides retire[nmuxes]. */
typedef struct ph_mux_scale_plan {
    int *retire;            /* per census mux: 1 = retire it
                             * (MultiplexerIdleTimeout) */
    int nretire;
    ph_mux_grow_why grow;   /* start one more, and why */
    ph_mux_grow_why capped; /* one more was wanted, for this reason, but
                             * MaxMultiplexers are alive */
    int alive;              /* alive before the plan */
    int kept;               /* alive once the retirements are done */
    int floor;              /* then start until this many are alive
                             * (MinMultiplexers), counting the one more
                             * if it started; the caller stops at its
                             * first failure */
    int measured, busy;     /* muxes whose CPU was measured, of them over
                             * PH_MUX_BUSY_PCT (log lines) */
    long long backlog_since_ms; /* the backlog clock to keep; the caller
                                 * sets it to 0 once the one more started */
} ph_mux_scale_plan;

/* Fill plan from census (the rules above).  Deterministic. */
void ph_mux_scale_decide(const ph_mux_scale_census *c,
                         ph_mux_scale_plan *plan);

#endif /* PH_POLICY_MUX_H */
