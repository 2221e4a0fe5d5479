/*
 * policy_admit.h -- a multiplexer's admission rules as pure functions of
 * a census of one environment (issue 13; the pattern of policy_slots.h):
 * its capacity, the wait a new connection is allowed, how AVAIL moves,
 * whether one of its processors is starting, and whether to ask the
 * parent for another.
 *
 * mux_admit.c reads the figures from the segment once into a census (as
 * they are: nothing clamped there) and asks these functions; they are the
 * one place where figures a processor can write are clamped.  No httpd
 * header, no allocation, no I/O, no clock: tests/unit/test_policy_admit.c
 * runs them over tables.
 *
 * TRUST: the census has two kinds of fields.  Those from MAIN (which slot
 * is which environment's processor of which generation, the environment's
 * limits, the processors alive) are the parent's, and this process's
 * configuration gives the bounds (ThreadLimit, the tickets there can be).
 * Those from the environment's region (AVAIL, tickets in flight, each
 * processor's idle, busy and thread counts, its room) may have been written
 * by a hostile processor of that environment: each is clamped to its
 * bound here, and every answer is about that environment's own
 * connections only (when they are handed over, how long they may wait,
 * whether it gets another processor up to its MaxProcessors), never to
 * whom a connection goes.
 *
 * THE RULES (doc/decisions.md, "AVAIL and the allowed wait ..."):
 *   capacity  sum over its processors of this generation that have a pid
 *             of min(idle threads, room), minus the handoffs in flight;
 *   AVAIL     0-100; moves one step (ceil(100 / levels)) up when a
 *             connection finds capacity at once, one down when one is
 *             dropped after waiting its allowed wait; nothing else moves it;
 *   wait      ProcessorWaitTimeout x ceil(AVAIL / step) / levels: at
 *             AVAIL 0 a flooded environment's excess is refused at once;
 *   starting  a processor says STARTING (from the parent's prepare, before
 *             its pid is known), or has a pid and fewer workers counted in
 *             (idle + busy) than its threads;
 *   ask       another processor, unless one is starting or MaxProcessors
 *             are alive: up to `limit` outstanding (the caller's, or
 *             MaxProcessors minus those alive).
 */
#ifndef PH_POLICY_ADMIT_H
#define PH_POLICY_ADMIT_H

#include <stdint.h>

/* One processor of the environment, of this generation (MAIN says so).
 * Its figures are raw, as read from the environment's region. */
typedef struct ph_admit_proc {
    int forked;             /* MAIN has its pid (0: prepared, not forked) */
    int starting;           /* its status says STARTING */
    int32_t idle_threads;
    int32_t busy_threads;
    int32_t room;           /* connections it will still take */
    int32_t threads;        /* its worker threads (the bits as written) */
} ph_admit_proc;

typedef struct ph_admit_census {
    /* MAIN and this process's configuration: trusted */
    uint32_t wait_timeout_ms;   /* ProcessorWaitTimeout (0: no wait) */
    uint32_t wait_levels;       /* AVAIL levels (0 taken as 1) */
    uint32_t max_processors;    /* MaxProcessors */
    uint32_t processors;        /* alive, as the parent published */
    int32_t thread_limit;       /* ThreadLimit: a processor's bound */
    int32_t in_flight_max;      /* tickets there can be for it */
    /* the environment's region: raw */
    uint32_t avail;             /* AVAIL as read (0-100 when sane) */
    int32_t in_flight;          /* handoffs not yet claimed */
    int nprocs;
    const ph_admit_proc *procs;
} ph_admit_census;

/* Admission outcomes that may move AVAIL. */
typedef enum ph_admit_outcome {
    PH_ADMIT_AT_ONCE,           /* found capacity without waiting */
    PH_ADMIT_AFTER_WAIT,        /* found capacity after waiting */
    PH_ADMIT_WAIT_OVER,         /* dropped: its allowed wait is over */
    PH_ADMIT_CHANNEL_FAILED     /* dropped: the channel refused it */
} ph_admit_outcome;

/* Connections the environment's processors take now (may be < 0). */
int ph_admit_rule_capacity(const ph_admit_census *c);

/* AVAIL, 0-100. */
unsigned ph_admit_rule_avail(const ph_admit_census *c);

/* How long a new connection may wait now (ms); 0 = not at all. */
long long ph_admit_rule_wait_ms(const ph_admit_census *c);

/* How much AVAIL moves on outcome (+step, -step or 0). */
int ph_admit_rule_avail_delta(const ph_admit_census *c, ph_admit_outcome o);

/* Whether one of its processors is starting. */
int ph_admit_rule_starting(const ph_admit_census *c);

/* The demand to raise up to (0: do not ask): connection_limit, or when 0
 * MaxProcessors minus the processors alive. */
uint32_t ph_admit_rule_demand_limit(const ph_admit_census *c,
                                    uint32_t connection_limit);

#endif /* PH_POLICY_ADMIT_H */
