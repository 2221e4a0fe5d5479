/*
 * doorbell.h -- one doorbell per multiplexer index (issue 13), which also
 * carries connections a processor hands back.
 *
 * A doorbell is a SOCK_SEQPACKET socketpair made one-way: a ring end
 * (shut for reading) and a watch end (shut for writing).  The parent makes
 * MaxMultiplexers of them each generation; multiplexer k holds the watch
 * end of doorbell k only and watches it; every processor holds the ring
 * ends of all of them (MaxMultiplexers descriptors, whatever the number of
 * environments) and rings doorbell k when a worker of its environment
 * becomes free while multiplexer k has connections of that environment
 * waiting (its ticket partition's pending count; when that is unknown,
 * every doorbell).  A multiplexer woken by its doorbell walks only the
 * environments it has connections waiting for.
 *
 * Hand-back: a processor whose kept-alive connection asks for another
 * environment's virtual host, before it reads a byte of that request,
 * sends the connection's socket with a HAND_BACK message on the doorbell
 * of the multiplexer that handed it over, which routes it as if it had
 * just accepted it (proc_handback.c, mux_handback.c).
 *
 * Trust: a processor may ring any doorbell at any time and send anything
 * on it.  A ring carries no data a multiplexer uses, so a spurious ring
 * costs at most one walk of the multiplexer's list of environments with
 * connections waiting, each checked against the segment's capacity
 * figures as on any other wakeup.  A handed-back descriptor is believed
 * to be nothing until mux_handback.c has checked it is a connection one
 * of the multiplexers' own listeners accepted; any other descriptor, or
 * one that comes with a message that is not exactly a HAND_BACK with one
 * descriptor, is closed.  The watch end cannot be read by a processor
 * (it holds only ring ends, shut for reading): no ring meant for a
 * multiplexer can be swallowed.  A multiplexer reads at most
 * PH_DOORBELL_DRAIN_MAX messages per wakeup (its epoll reports the
 * doorbell again while messages remain), so a processor that floods it
 * only takes turns with everything else the multiplexer does.
 */
#ifndef PH_DOORBELL_H
#define PH_DOORBELL_H

#include "apr_pools.h"

/* The one byte of a doorbell message. */
#define PH_DOORBELL_RING      'R'
#define PH_DOORBELL_HAND_BACK 'H'     /* with one socket (SCM_RIGHTS) */

/* Messages a multiplexer takes from its doorbell per wakeup. */
#define PH_DOORBELL_DRAIN_MAX 64

/* Parent, start of a generation: n doorbells (n = MaxMultiplexers),
 * close-on-exec and non-blocking, closed with pconf.  0 or an errno. */
int ph_doorbells_create(apr_pool_t *pconf, int n);

/* A factory exec'd with the n doorbells at first, first + 1, ...
 * (ph_factory.h): adopt them; the multiplexers' factory is given the
 * watch ends (watch_ends 1), a processor factory the ring ends. */
void ph_doorbells_adopt(int first, int n, int watch_ends);

/* How many there are (0 when none is held), and doorbell k's ring or
 * watch end (-1 when not held here).  The parent passes the ring ends to
 * processor factories and the watch ends to the multiplexers' factory. */
int ph_doorbells_count(void);
int ph_doorbell_ring_fd(int k);
int ph_doorbell_watch_fd(int k);

/* A multiplexer, first thing: close every doorbell end but the watch end
 * of its own. */
void ph_doorbells_keep_only(int mux_index);

/* Neither a multiplexer nor a processor (a processor factory's child that
 * is not of this generation, ...): close them all. */
void ph_doorbells_close_all(void);

/* Processor (or the parent, for a processor it just started): connections
 * of env_index may wait; ring the doorbell of every multiplexer whose
 * partition says it holds some (all of them when unknown, or when `all`). */
void ph_doorbells_ring(int env_index, int all);

/* Processor: send the socket fd to multiplexer k (HAND_BACK).  The caller
 * still holds fd.  0, or an errno value (EAGAIN: the doorbell is full;
 * EBADF: no such doorbell here). */
int ph_doorbell_hand_back(int k, int fd);

/* Multiplexer: take up to PH_DOORBELL_DRAIN_MAX messages from its
 * doorbell's watch end; the socket of each HAND_BACK goes to
 * taken(baton, fd), which owns it from then on; every other descriptor is
 * closed.  Returns 1 if messages may remain (the limit was reached), else
 * 0.  Never blocks. */
int ph_doorbell_drain(int fd, void (*taken)(void *baton, int fd),
                      void *baton);

#endif /* PH_DOORBELL_H */
