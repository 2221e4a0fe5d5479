/*
 * doorbell.h -- one doorbell per multiplexer index (issue 13).
 *
 * A doorbell is an eventfd.  The parent makes MaxMultiplexers of them each
 * generation; multiplexer k holds doorbell k only and watches it; every
 * processor holds all of them (MaxMultiplexers descriptors, whatever the
 * number of environments) and rings doorbell k when a worker of its
 * environment becomes free while multiplexer k has connections of that
 * environment waiting (its ticket partition's pending count; when that is
 * unknown, every doorbell).  A multiplexer woken by its doorbell walks
 * only the environments it has connections waiting for.
 *
 * Trust: a processor may ring any doorbell at any time.  A ring carries no
 * data a multiplexer uses (the counter is read to reset it and ignored),
 * so a spurious ring costs at most one walk of the multiplexer's list of
 * environments with connections waiting, each checked against the
 * segment's capacity figures as on any other wakeup.
 */
#ifndef PH_DOORBELL_H
#define PH_DOORBELL_H

#include "apr_pools.h"

/* Parent, start of a generation: n doorbells (n = MaxMultiplexers),
 * close-on-exec and non-blocking, closed with pconf.  0 or an errno. */
int ph_doorbells_create(apr_pool_t *pconf, int n);

/* A factory exec'd with the n doorbells at first, first + 1, ...
 * (ph_factory.h): adopt them. */
void ph_doorbells_adopt(int first, int n);

/* How many there are (0 when none is held), and doorbell k's descriptor
 * (-1 when not held here).  The parent passes them to factories. */
int ph_doorbells_count(void);
int ph_doorbell_fd(int k);

/* A multiplexer, first thing: close every doorbell but its own. */
void ph_doorbells_keep_only(int mux_index);

/* Neither a multiplexer nor a processor (a processor factory's child that
 * is not of this generation, ...): close them all. */
void ph_doorbells_close_all(void);

/* Processor (or the parent, for a processor it just started): connections
 * of env_index may wait; ring the doorbell of every multiplexer whose
 * partition says it holds some (all of them when unknown, or when `all`). */
void ph_doorbells_ring(int env_index, int all);

/* Multiplexer: reset its doorbell's counter after a ring (edge-triggered
 * epoll reports the next ring only after this).  Never blocks. */
void ph_doorbell_reset(int fd);

#endif /* PH_DOORBELL_H */
