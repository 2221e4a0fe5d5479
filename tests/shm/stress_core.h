/*
 * stress_core.h -- the ticket stress test's world: a real segment, a
 * ledger in memory shared by every participant, one SOCK_SEQPACKET
 * channel per environment, and the producer ("multiplexer") and consumer
 * ("processor") loops.  stress_tickets.c runs them as processes (and
 * kills some), stress_threads.c as threads.
 *
 *   producer m, for each env e:  alloc (m, e) -> serial from the ledger ->
 *       payload[slot] = serial -> publish -> message {id, gen, serial} on
 *       channel e (batched, like several accepts per loop turn)
 *   consumer of env e:  receive -> claim -> check the ledger -> release
 *
 * The ledger is what makes "none lost, none claimed twice" checkable: each
 * serial has a bit a claim sets (set already = claimed twice), each slot a
 * holder that a claimer takes by CAS (taken already = two owners at once),
 * each slot the serial its producer wrote before publishing (a claimer
 * that reads another = the claim did not see the publish).
 */
#ifndef PH_STRESS_CORE_H
#define PH_STRESS_CORE_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "ph_shm.h"

#define ST_MUXES      2
#define ST_ENVS       2
#define ST_PER_ENV    2                     /* consumers per environment */
#define ST_CONSUMERS  (ST_ENVS * ST_PER_ENV)
#define ST_WORKERS    (ST_MUXES + ST_CONSUMERS)
#define ST_TICKETS    64                    /* per partition */
#define ST_SLOTS      (ST_MUXES * ST_ENVS * ST_TICKETS)
#define ST_BATCH      8                     /* tickets per message */

/* Counters of one participant (producer m: m; consumer c: ST_MUXES + c),
 * kept across its restarts; a cache line each. */
typedef struct st_stats {
    _Atomic uint64_t published;
    _Atomic uint64_t claimed;
    _Atomic uint64_t stale;             /* claim failed: stale ticket */
    _Atomic uint64_t released;
    _Atomic uint64_t release_failed;
    _Atomic uint64_t retracted_lost;    /* READY too long, taken back */
    _Atomic uint64_t retracted_end;     /* allocated past the total */
    _Atomic uint64_t double_claims;
    _Atomic uint64_t payload_bad;
    _Atomic uint64_t owner_clash;
    _Atomic uint64_t full_waits;        /* partition had no FREE ticket */
    _Atomic uint64_t errors;            /* a syscall or transition failed */
} __attribute__((aligned(64))) st_stats;

typedef struct st_ledger {
    uint64_t total;                     /* tickets to move */
    int64_t lost_after_ms;              /* 0: never retract READY */
    uint32_t work_ns;                   /* a consumer's work per ticket */
    _Atomic uint64_t next_serial;
    st_stats stats[ST_WORKERS];
    _Atomic int32_t holder[ST_SLOTS];   /* tag of the current claimer */
    uint64_t payload[ST_SLOTS];         /* serial of the slot's ticket */
    _Atomic uint64_t claimed_bits[];    /* one bit per serial */
} st_ledger;

typedef struct st_world {
    ph_shm shm;
    char dir[64], path[128];
    st_ledger *led;
    size_t led_size;
    int send_fd[ST_ENVS];               /* producers write */
    int recv_fd[ST_ENVS];               /* consumers read */
} st_world;

/* Sum of every participant's counters. */
typedef struct st_totals {
    uint64_t published, claimed, stale, released, release_failed;
    uint64_t retracted_lost, retracted_end, double_claims, payload_bad;
    uint64_t owner_clash, full_waits, errors;
} st_totals;

/* What the final check may expect. */
typedef struct st_expect {
    int exact;              /* no kills: every figure must balance */
    uint64_t kills;         /* each may cost one counter update */
    uint64_t swept;         /* tickets freed by sweeps */
} st_expect;

int st_world_open(st_world *w, uint64_t total, int64_t lost_after_ms,
                  uint32_t work_ns);
void st_world_close(st_world *w);
void st_close_sends(st_world *w);

/* The loops; pid is what goes into the tickets (the process id), tag
 * what goes into the ledger's holder (unique per thread). */
void st_producer(st_world *w, uint32_t mux, pid_t pid);
void st_consumer(st_world *w, uint32_t env, int wslot, pid_t pid,
                 int32_t tag);

/* Forget ledger holds of a participant that died (before its sweep). */
void st_forget_holder(st_world *w, int32_t tag);

void st_totals_get(const st_world *w, st_totals *t);

/* Check the world after every participant has ended; prints each failed
 * check to out.  Returns the number of failed checks. */
int st_verify(st_world *w, const st_expect *x, FILE *out);

int64_t st_now_ms(void);
double st_now_s(void);

#endif /* PH_STRESS_CORE_H */
