/*
 * broker.h -- the root parent hands channel send ends to multiplexers
 * (issue 13: a multiplexer's descriptors do not grow with the number of
 * environments).
 *
 * Each generation the parent makes one SOCK_SEQPACKET socketpair per
 * multiplexer index (MaxMultiplexers of them).  Multiplexer k holds end k
 * of that generation only; the parent holds the other ends and polls them
 * in its main loop.  A multiplexer that needs environment i's send ends
 * (its channel and its answer channel) and does not hold them asks:
 *
 *   multiplexer k                              parent (root)
 *     | ASK env=i  ----------------------------> checks i < its own count
 *     |  <---------- ENDS env=i status + SCM_RIGHTS {chan[0], answer[0]}
 *
 * Both sides never block: a multiplexer keeps the connections for i in
 * i's pending list meanwhile (bounded by the allowed wait, as when no
 * worker is free), and asks again after PH_BROKER_RETRY_MS when an answer
 * was lost (the parent drops one its socket cannot take).  It keeps at
 * most MultiplexerChannelCache environments' ends, least recently used going
 * first, and only among those with nothing waiting or armed here
 * (mux_ends.c).
 *
 * Trust: a multiplexer (User, handles client bytes) is less trusted than
 * the parent.  The parent reads exactly one fixed-size message at a time,
 * believes nothing in it but the index, which it checks against the count
 * of the generation the socket belongs to (its own copy), answers only
 * with the two send ends every multiplexer was given before this design
 * (never a receive end, never another generation's), and serves a bounded
 * number of messages per socket per wakeup.  Descriptors a multiplexer
 * might attach to its message are discarded by the kernel (no room for
 * them is given).  A processor never holds a broker socket.
 *
 * A graceful restart: the old generation's sockets and send ends stay with
 * the parent (ph_retained: the module is reloaded) until its last
 * multiplexer is reaped, so a draining multiplexer still gets them; its
 * processors see EOF on their channel then, as before, when the last
 * multiplexer holding a send end went.
 */
#ifndef PH_BROKER_H
#define PH_BROKER_H

#include "httpd.h"

#include "broker_msg.h"

/* ---- parent (parent_broker.c) ----------------------------------------- */

/* Start of a generation: n sockets (n = MaxMultiplexers), serving the
 * environments of ph_envs.  0 or an errno value. */
int ph_broker_generation_start(int n);

/* How many multiplexer ends this process holds for the current
 * generation, and end k (-1 when not held): the parent passes them to the
 * multiplexers' factory. */
int ph_broker_count(void);
int ph_broker_mux_fd(int k);

/* End of the generation (release_generation): its sockets and send ends
 * (taken from ph_envs: env->chan[0] and env->answer[0] become -1 here)
 * are kept until its last multiplexer is gone. */
void ph_broker_generation_end(void);

/* After reaping: let go of older generations with no multiplexer left. */
void ph_broker_tidy(void);

/* The main loop's wait: up to timeout_ms for extra_fd (the wake pipe) or
 * a broker request; requests are served here.  Returns 1 when extra_fd is
 * readable. */
int ph_broker_wait(int extra_fd, int timeout_ms);

/* In a child forked from the parent, first thing: close every broker
 * socket but, in a multiplexer (mux_index >= 0), its own. */
void ph_broker_close_in_child(int mux_index);

/* The multiplexers' factory: adopt the n ends at first, first + 1, ... */
void ph_broker_adopt(int first, int n);

/* ---- multiplexer (mux_ends.c) ----------------------------------------- */

/* Set up: nenvs environments, this multiplexer's broker socket; busy(i)
 * says whether environment i has anything waiting or armed here (its ends
 * are then never given up). */
void ph_mux_ends_init(apr_pool_t *p, int nenvs, int broker_fd,
                      int (*busy)(int env_index));

/* Whether env_index's send ends are held (env->chan[0], env->answer[0]);
 * if not, they are asked for (at most once per PH_BROKER_RETRY_MS). */
int ph_mux_ends_have(int env_index);

/* The parent closed env_index's channels (they had gone unused: a send
 * said EPIPE): close our ends and ask for the new ones at once. */
void ph_mux_ends_forget(int env_index);

/* Read the broker's answers; each environment whose ends arrived is
 * passed to got().  Returns -1 when the parent closed the socket (no more
 * will come), else 0. */
int ph_mux_ends_receive(void (*got)(int env_index));

#endif /* PH_BROKER_H */
