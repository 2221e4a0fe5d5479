/*
 * mux_admit.h -- a multiplexer's admission decisions and ticketed handoff
 * (mux_admit.c).  All figures live in the shared-memory segment.
 */
#ifndef PH_MUX_ADMIT_H
#define PH_MUX_ADMIT_H

#include "apr_pools.h"

#include "chan_msg.h"

typedef enum {
    PH_DROP_TIMEOUT,        /* no capacity within the allowed wait */
    PH_DROP_CHANNEL,        /* the channel refused the handoff */
    PH_DROP_NO_ENV          /* the vhost has no environment */
} ph_admit_drop;

/* Idle worker threads of env's processors minus handoffs in flight. */
int ph_admit_capacity(int env_index);

/* How long a new connection for env may wait now (ms); 0 = not at all. */
long long ph_admit_wait_ms(int env_index);

/* Outcomes, for AVAIL and the counters. */
void ph_admit_found_capacity(int env_index, int waited);
void ph_admit_dropped(int env_index, ph_admit_drop why);

/* Ask the parent for another processor of env (if below MaxProcessors). */
void ph_admit_want_processor(int env_index);

/* Connections still wait for env and none of its processors is starting:
 * keep one request for a processor outstanding. */
void ph_admit_still_waiting(int env_index);

/* Account connections this multiplexer holds waiting for env: delta
 * added to the counts, and the arrival time of the oldest (0 = none). */
void ph_admit_waiting(int mux_index, int env_index, int delta,
                      long long oldest_since_ms);

/* Hand fd to env with a ticket of partition (mux_index, env).  Returns 0,
 * EAGAIN (no ticket free or channel full: try again later), or another
 * errno value (the handoff failed). */
int ph_admit_send(int mux_index, int env_index, int fd, ph_chan_msg *msg);

/* Hand fd, whose allowed wait for a worker of env is over, to env's
 * answer channel, for httpd there to answer 503 (PH_CHAN_F_WAIT_OVER is
 * added to msg; no ticket: it takes no worker).  Returns 0, ESRCH (env
 * has no processor of this generation to answer), EAGAIN (the channel
 * holds as many as it may) or another errno value. */
int ph_admit_send_answer(int env_index, int fd, ph_chan_msg *msg);

/* Once, at the multiplexer's start: the set of environments whose
 * partition may hold a ticket of ours READY (all of them, at first). */
void ph_admit_init(apr_pool_t *p, int nenvs);

/* Return tickets of our partitions whose handoff was never claimed,
 * looking only at environments a handoff went to since a look found
 * none READY there; where a handoff has waited a second unclaimed and
 * the environment's processors take fewer than are in flight, ask for a
 * processor as for a waiting connection.  Returns how many environments
 * are still to be looked at (0: nothing in flight, no need to look again
 * until the next handoff). */
int ph_admit_reclaim_lost(int mux_index);

/* How many environments ph_admit_reclaim_lost would look at now. */
int ph_admit_unclaimed(void);

#endif /* PH_MUX_ADMIT_H */
