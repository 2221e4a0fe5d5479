/*
 * policy_slots.h -- which processors to start and which to retire, as a
 * pure function of a census (issue 16; the shape issue 13 asks for).
 *
 * The parent gathers a census each maintenance tick (parent_main.c): per
 * environment its processors, their idle figures, the demand the
 * multiplexers raised, its limits; per processor of the current
 * generation whether it is idle and for how long; and how many slots of
 * ServerLimit are free.  ph_slots_decide() turns it into a plan (processors
 * to start, in order, and processors to retire, with the reason), and the
 * parent only carries the plan out.  No httpd header, no allocation, no
 * I/O, no clock: tests/unit/test_policy_slots.c runs it over tables.
 *
 * THE RULES (doc/decisions.md, "Slots of ServerLimit are shared fairly"):
 *
 *   Wants, in priority order; each class is granted round-robin, one
 *   processor per environment per round, before the next class gets any:
 *     0 FIRST   an environment with no processor that is asked for one
 *               (demand, a connection queued in its channel, MinProcessors,
 *               StartServers at start);
 *     1 DEMAND  more processors a multiplexer asked for (a connection
 *               found no idle worker);
 *     2 FLOOR   up to MinProcessors, and StartServers when the server starts;
 *     3 SPARE   MinSpareProcessors / MinSpareThreads, only for an
 *               environment that has a processor and is not QUIET.
 *   Nothing is granted beyond MaxProcessors, the free slots, or the
 *   processors MaxRequestWorkers allows.
 *
 *   Idle retirement (only when the environment has no demand and nothing
 *   queued): a processor idle for IdleTimeout, or idle beyond
 *   MaxSpareProcessors / MaxSpareThreads for PH_SLOTS_SPARE_AGE_MS at
 *   least, never below MinProcessors.
 *
 *   Reclaim: when FIRST or DEMAND wants are left unmet for lack of slots
 *   (or of MaxRequestWorkers), idle processors of other environments are
 *   retired for them, minus those already on their way out: first the
 *   spares (an environment's idle processors beyond the one it keeps: all
 *   of them if one of its processors is busy, else all but the one used
 *   last), oldest idle first; then, for FIRST wants only, an environment's
 *   last idle processor, oldest idle first; then, still for FIRST wants
 *   and at most PH_SLOTS_BUSY_RECLAIM_MAX a tick, a busy processor of the
 *   environment holding the most (at least two): one processor per tenant
 *   comes before a second one for anybody.  Never below MinProcessors,
 *   never from an environment that is itself waiting for its first.
 *
 *   QUIET (no churn): an environment whose processor was retired for
 *   IdleTimeout or reclaimed gets no spare (class 3) for IdleTimeout
 *   (PH_SLOTS_QUIET_MS when IdleTimeout is 0) after that; demand and
 *   MinProcessors still start processors at once.
 */
#ifndef PH_POLICY_SLOTS_H
#define PH_POLICY_SLOTS_H

/* How long an environment stays QUIET when IdleTimeout is 0. */
#define PH_SLOTS_QUIET_MS 60000LL

/* How long a processor must have been idle before it counts as a spare
 * beyond MaxSpareProcessors / MaxSpareThreads.  Processors started for a
 * multiplexer's demand are idle until it hands them the connections that
 * asked (a doorbell away): retired at once, the handoffs meant for them
 * were stranded (the multiplexer asks again after a second) and the
 * environment churned.  Stock event and prefork retire one process a
 * second; this keeps their pace for the young. */
#define PH_SLOTS_SPARE_AGE_MS 1000LL

/* Busy processors asked to finish and go, per tick, for tenants without
 * any (they finish their requests first: the next tick sees them as
 * draining). */
#define PH_SLOTS_BUSY_RECLAIM_MAX 4

/* A reclaimed processor counts as draining (its slot as good as free)
 * for this long after it was asked to go; then another may be reclaimed
 * (one holding a kept-alive connection keeps its slot until
 * KeepAliveTimeout). */
#define PH_SLOTS_DRAIN_GRACE_MS 2000

/* Scratch the plan needs: ints per environment and per processor. */
#define PH_SLOTS_ENV_SCRATCH 8
#define PH_SLOTS_PROC_SCRATCH 1

/* One environment, as the parent sees it this tick. */
typedef struct ph_slots_env {
    int alive;              /* processors of the current generation, not
                             * retiring */
    int idle;               /* of those, idle or still starting
                             * (advisory, clamped) */
    int idle_threads;       /* their idle worker threads (advisory), a
                             * starting one's ThreadsPerChild counted */
    unsigned demand;        /* processors the multiplexers asked for */
    int queued;             /* a connection waits in its channel (kernel) */
    int backoff;            /* start back-off in force: start nothing */
    long min_processors, max_processors;
    long min_spare, max_spare;      /* Min/MaxSpareProcessors */
    long long quiet_until_ms;       /* no spare before this (0: none) */
} ph_slots_env;

/* One processor of the current generation that is not retiring. */
typedef struct ph_slots_proc {
    int slot;               /* its slot of ServerLimit (for the caller) */
    int env;                /* index into the census' envs */
    int idle;               /* no worker busy (advisory) */
    int idle_threads;       /* advisory */
    long long idle_ms;      /* since it last served, or started */
} ph_slots_proc;

typedef struct ph_slots_census {
    int nenvs;
    const ph_slots_env *envs;
    int nprocs;
    const ph_slots_proc *procs;
    int free_slots;         /* slots no child holds */
    int draining;           /* reclaimed processors not yet gone, asked
                             * less than PH_SLOTS_DRAIN_GRACE_MS ago:
                             * their slots are as good as free */
    int processors;         /* processors of every generation */
    int processor_cap;      /* MaxRequestWorkers / ThreadsPerChild */
    int starting;           /* the generation's first tick */
    long long now_ms;
    long idle_timeout_s;    /* IdleTimeout (0: never) */
    long threads_per_child;
    long min_spare_threads, max_spare_threads;
    long start_servers;
} ph_slots_census;

typedef enum ph_slots_why {
    PH_SLOTS_KEEP = 0,
    PH_SLOTS_IDLE_TIMEOUT,  /* idle for IdleTimeout */
    PH_SLOTS_MAX_SPARE,     /* more idle than MaxSpareProcessors */
    PH_SLOTS_MAX_SPARE_THREADS, /* more idle threads than MaxSpareThreads */
    PH_SLOTS_RECLAIM_SPARE, /* a spare, its slot given to a waiting env */
    PH_SLOTS_RECLAIM_LAST,  /* an env's last idle processor, likewise */
    PH_SLOTS_RECLAIM_BUSY   /* fair share: one of several busy ones */
} ph_slots_why;

typedef enum ph_slots_class {
    PH_SLOTS_FIRST = 0,
    PH_SLOTS_DEMAND,
    PH_SLOTS_FLOOR,
    PH_SLOTS_SPARE,
    PH_SLOTS_CLASSES
} ph_slots_class;

/*
 * The plan.  The caller provides the arrays, sized for the census:
 * spawn_env[free_slots], why[nprocs], settle[nenvs], quiet_until_ms[nenvs]
 * and the scratch arrays.
 */
typedef struct ph_slots_plan {
    int nspawn;
    int *spawn_env;         /* environments to start a processor for, in
                             * this order (FIRST grants first) */
    ph_slots_why *why;      /* per census proc: KEEP or why it retires */
    unsigned *settle;       /* per env: demand no start will answer
                             * (beyond MaxProcessors); the caller settles
                             * it plus what it started for the env, and
                             * the rest stays to wait for a slot */
    long long *quiet_until_ms; /* per env: the new QUIET bound */
    int unmet[PH_SLOTS_CLASSES]; /* wants left without a slot */
    int reclaimed;          /* processors retired to free slots */
    int capped;             /* MaxRequestWorkers, not ServerLimit, was the
                             * limit that left wants unmet */
    /* scratch */
    int *env_scratch;       /* PH_SLOTS_ENV_SCRATCH x nenvs */
    int *proc_scratch;      /* PH_SLOTS_PROC_SCRATCH x nprocs */
} ph_slots_plan;

/* Fill plan from census (see the rules above).  Deterministic: the same
 * census gives the same plan. */
void ph_slots_decide(const ph_slots_census *c, ph_slots_plan *plan);

/* Short text for a retirement reason (log lines). */
const char *ph_slots_why_text(ph_slots_why why);

#endif /* PH_POLICY_SLOTS_H */
