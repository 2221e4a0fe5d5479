/*
 * doorbell.h -- one doorbell per multiplexer index (issue 13), and one more
 * that carries the connections processors hand back.
 *
 * A doorbell is a SOCK_SEQPACKET socketpair made one-way: a ring end
 * (shut for reading) and a watch end (shut for writing).  The parent makes
 * MaxMultiplexers + 1 of them each generation; multiplexer k holds the
 * watch end of doorbell k and of the last one, the hand-back doorbell, and
 * watches both; every processor holds the ring ends of all of them
 * (MaxMultiplexers + 1 descriptors, whatever the number of environments)
 * and rings doorbell k when a worker of its environment
 * becomes free while multiplexer k has connections of that environment
 * waiting (its ticket partition's pending count; when that is unknown,
 * every doorbell).  A multiplexer woken by its doorbell walks only the
 * environments it has connections waiting for.
 *
 * Hand-back: a processor whose kept-alive connection asks for another
 * environment's virtual host, before it reads a byte of that request,
 * sends the connection's socket with a HAND_BACK message on the hand-back
 * doorbell; whichever running multiplexer reads it routes it as if it had
 * just accepted it (proc_handback.c, mux_handback.c).  Not the doorbell
 * of the multiplexer that handed the connection over: that one may have
 * been retired (MultiplexerIdleTimeout), be stopped or hung, and a socket
 * on a doorbell nobody reads waits there until the client gives up.
 * Every multiplexer watches the hand-back doorbell (EPOLLEXCLUSIVE: one
 * is woken), and one that stops accepting stops watching it.
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

/* Parent, start of a generation: muxes + 1 doorbells (muxes =
 * MaxMultiplexers; the last is the hand-back doorbell), close-on-exec and
 * non-blocking, closed with pconf.  0 or an errno. */
int ph_doorbells_create(apr_pool_t *pconf, int muxes);

/* A factory exec'd with the n doorbells (the hand-back one last) at
 * first, first + 1, ... (ph_factory.h): adopt them; the multiplexers'
 * factory is given the watch ends (watch_ends 1), a processor factory the
 * ring ends. */
void ph_doorbells_adopt(int first, int n, int watch_ends);

/* How many doorbells there are, the hand-back one included (0 when none
 * is held), and doorbell k's ring or watch end (-1 when not held here).
 * The parent passes the ring ends to processor factories and the watch
 * ends to the multiplexers' factory, all of them, in this order. */
int ph_doorbells_count(void);
int ph_doorbell_ring_fd(int k);
int ph_doorbell_watch_fd(int k);

/* The hand-back doorbell's watch end (-1 when not held here). */
int ph_doorbell_handback_watch_fd(void);

/* A multiplexer, first thing: close every doorbell end but the watch ends
 * of its own doorbell and of the hand-back doorbell. */
void ph_doorbells_keep_only(int mux_index);

/* A processor, first thing: close every watch end (a processor forked
 * from the parent has both ends of every doorbell; one from its factory
 * was given ring ends only). */
void ph_doorbells_keep_ring_ends(void);

/* Neither a multiplexer nor a processor (a processor factory's child that
 * is not of this generation, ...): close them all. */
void ph_doorbells_close_all(void);

/* Processor (or the parent, for a processor it just started): connections
 * of env_index may wait; ring the doorbell of every multiplexer whose
 * partition says it holds some (all of them when unknown, or when `all`). */
void ph_doorbells_ring(int env_index, int all);

/* Processor: send the socket fd on the hand-back doorbell (HAND_BACK).
 * The caller still holds fd.  0, or an errno value (EAGAIN: the doorbell
 * is full; EBADF: no doorbell here). */
int ph_doorbell_hand_back(int fd);

/* Multiplexer: take up to PH_DOORBELL_DRAIN_MAX messages from a doorbell's
 * watch end (its own or the hand-back one); the socket of each HAND_BACK goes to
 * taken(baton, fd), which owns it from then on; every other descriptor is
 * closed.  Returns 1 if messages may remain (the limit was reached), else
 * 0.  Never blocks. */
int ph_doorbell_drain(int fd, void (*taken)(void *baton, int fd),
                      void *baton);

#endif /* PH_DOORBELL_H */
