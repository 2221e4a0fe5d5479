/*
 * channel.h -- per-environment handoff channels.
 *
 * A channel is an AF_UNIX SOCK_SEQPACKET socketpair made one-way at
 * creation: multiplexers send on end [0], the environment's processors
 * receive on end [1].  Each message is one ph_chan_msg header plus exactly
 * one client socket (SCM_RIGHTS).  SEQPACKET keeps message boundaries and
 * delivers each message to exactly one receiver, so the channel is also the
 * environment's queue of waiting connections; the kernel bounds it (the
 * sender gets EAGAIN when it is full) and keeps what is queued while no
 * processor is alive, as long as the parent holds the receive end.
 */
#ifndef PH_CHANNEL_H
#define PH_CHANNEL_H

#include <stddef.h>

#include "chan_msg.h"

/* Create a channel; fds[0] send end, fds[1] receive end, both
 * close-on-exec and non-blocking.  Returns 0 or an errno value. */
int ph_channel_create(int fds[2]);

/* The send buffer of an environment's answer channel (env->answer[0]):
 * the kernel charges each queued message (header, descriptor, buffer
 * overhead: about 750 bytes) to it, so 8 KiB (doubled by the kernel) holds
 * about 20 connections waiting for an answer thread, across all
 * multiplexers; a send beyond gets EAGAIN. */
#define PH_ANSWER_QUEUE_BYTES 8192

/* Bound what send end fd holds queued (SO_SNDBUF).  0 or an errno. */
int ph_channel_bound(int fd, int bytes);

/* Send sock_fd with msg.  Never blocks.  Returns 0, EAGAIN when the
 * channel is full, or another errno value. */
int ph_channel_send(int chan_fd, int sock_fd, const ph_chan_msg *msg);

/* One message of len bytes with sock_fd attached (SCM_RIGHTS) on the
 * SOCK_SEQPACKET socket chan_fd, never blocking: 0, EAGAIN (full), or
 * another errno value.  The caller still holds sock_fd.  (Channels;
 * doorbells, doorbell.c.) */
int ph_send_with_fd(int chan_fd, const void *data, size_t len, int sock_fd);

#define PH_CHANNEL_EOF (-1)     /* every send end is closed */

/* One message of at most len bytes from the SOCK_SEQPACKET (or datagram)
 * socket chan_fd into buf, never blocking: 0 with *got its length and
 * *sock_fd the one descriptor it carried, or -1 after closing whatever it
 * did carry (nothing, more than one, or truncated); PH_CHANNEL_EOF; EAGAIN
 * (nothing waiting); or another errno value.  (Channels; doorbells,
 * doorbell.c.) */
int ph_recv_with_fd(int chan_fd, void *buf, size_t len, size_t *got,
                    int *sock_fd);

/*
 * Receive one message.  Never blocks.  Returns 0 with *sock_fd (a
 * close-on-exec descriptor) and *msg filled, EAGAIN when nothing is
 * waiting, PH_CHANNEL_EOF, EPROTO for a malformed message (any descriptor
 * it carried is closed; *decode says why), or another errno value.
 */
int ph_channel_recv(int chan_fd, int *sock_fd, ph_chan_msg *msg,
                    ph_chan_decode_result *decode);

#endif /* PH_CHANNEL_H */
