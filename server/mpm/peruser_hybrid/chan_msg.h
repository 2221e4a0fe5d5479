/*
 * chan_msg.h -- the fixed header carried with every socket handed from a
 * multiplexer to an environment over its SOCK_SEQPACKET channel.
 *
 * One channel message = this header (as bytes) + the client socket as
 * SCM_RIGHTS ancillary data.  The header is encoded explicitly
 * (little-endian, fixed offsets) so that its wire form does not depend on
 * struct padding, and it is versioned: a receiver refuses a message whose
 * magic, version or length it does not know, and closes the socket.
 *
 * Nothing in it decides *who* serves the connection: the kernel delivers the
 * message only to holders of that environment's channel, and the processor
 * re-resolves the virtual host itself.  The fields are for accounting
 * (ticket/generation, issue 3) and for logs.
 */
#ifndef PH_CHAN_MSG_H
#define PH_CHAN_MSG_H

#include <stddef.h>
#include <stdint.h>

#define PH_CHAN_MAGIC    0x50484348u   /* "PHCH" */
#define PH_CHAN_VERSION  2u
#define PH_CHAN_MSG_LEN  68u           /* encoded size of version 2 */

/* flags */
#define PH_CHAN_F_HEAD_COMPLETE 0x0001u /* mux saw the whole request head */
#define PH_CHAN_F_HEAD_EXPIRED  0x0002u /* the client's time for its head
                                         * is over: what it has sent is
                                         * all that is read (proc_expired.c) */
#define PH_CHAN_F_H2C           0x0004u /* h2c prior knowledge, routed on
                                         * the first :authority to vhost_id
                                         * (mux_h2c.c, proc_guard.c) */
#define PH_CHAN_F_TLS_SNI       0x0008u /* TLS, routed on the ClientHello's
                                         * server name to vhost_id
                                         * (mux_tls.c, proc_guard.c) */
#define PH_CHAN_F_WAIT_OVER     0x0010u /* no worker became free within
                                         * ProcessorWaitTimeout: answer
                                         * 503 (sent on the answer
                                         * channel only, proc_answer.c) */

/* The client's address as accept() gave it to the multiplexer.  After a
 * reset (RST) the kernel still holds the bytes the client sent, but
 * getpeername() fails (ENOTCONN): the processor then takes the address
 * from here, so that httpd reads the head and logs it as stock does.
 * family 0: not given. */
#define PH_CHAN_PEER_NONE 0u
#define PH_CHAN_PEER_IPV4 4u
#define PH_CHAN_PEER_IPV6 6u
typedef struct {
    uint8_t family;         /* PH_CHAN_PEER_* */
    uint16_t port;          /* host order */
    uint32_t scope_id;      /* IPv6 only */
    unsigned char addr[16]; /* network order; IPv4 in the first 4 */
} ph_chan_peer;

typedef struct {
    uint32_t env_index;     /* environment the multiplexer routed to */
    uint32_t vhost_id;      /* index of the resolved server_rec, for logs */
    uint32_t mux_slot;      /* scoreboard slot of the sending multiplexer */
    uint32_t flags;         /* PH_CHAN_F_* */
    uint64_t ticket;        /* ticket: multiplexer index << 32 | slot */
    uint64_t ticket_gen;    /* the ticket's generation when published */
    uint32_t idle_ms;       /* how long the client has been idle here
                             * already (h2c: since its whole preface):
                             * taken off the connection's first wait in
                             * the processor, whose clock stock httpd
                             * would have started then (proc_conn.c) */
    ph_chan_peer peer;      /* the client, from accept() */
} ph_chan_msg;

/*
 * Layout of version 2 (all little-endian):
 *   0  u32 magic   4  u16 version   6  u16 length (=68)
 *   8  u32 env_index   12 u32 vhost_id   16 u32 mux_slot   20 u32 flags
 *   24 u64 ticket      32 u64 ticket_gen 40 u32 idle_ms
 *   44 u8 peer family (0, 4, 6)   45 u8 zero   46 u16 peer port
 *   48 u32 peer scope id          52 16 bytes peer address
 * (Version 1 was the first 40 bytes, without the peer.)
 */

/* Writes PH_CHAN_MSG_LEN bytes to buf; returns that length, or 0 if
 * buflen is too small. */
size_t ph_chan_msg_encode(const ph_chan_msg *msg, unsigned char *buf,
                          size_t buflen);

typedef enum {
    PH_CHAN_DECODE_OK = 0,
    PH_CHAN_DECODE_SHORT,       /* fewer bytes than a header */
    PH_CHAN_DECODE_BAD_MAGIC,
    PH_CHAN_DECODE_BAD_VERSION,
    PH_CHAN_DECODE_BAD_LENGTH,  /* length field does not match what arrived */
    PH_CHAN_DECODE_BAD_PEER     /* peer family not 0, 4 or 6, or byte 41
                                 * not zero */
} ph_chan_decode_result;

/* Decodes the len bytes that arrived.  Checks in this order: len below
 * PH_CHAN_MSG_LEN (SHORT), magic, version, then the length field against
 * both PH_CHAN_MSG_LEN and len (BAD_LENGTH, so surplus bytes are refused
 * too), then the peer's family (BAD_PEER).  *out is written only when the result is PH_CHAN_DECODE_OK. */
ph_chan_decode_result ph_chan_msg_decode(const unsigned char *buf,
                                         size_t len, ph_chan_msg *out);

struct sockaddr;
struct sockaddr_storage;

/* The peer of an accepted socket (an AF_INET or AF_INET6 address of len
 * bytes) as carried in a message; family PH_CHAN_PEER_NONE for any other
 * or a short one. */
void ph_chan_peer_set(ph_chan_peer *peer, const struct sockaddr *sa,
                      size_t len);

/* The socket address of a carried peer: 0 with *ss and *len filled, or
 * -1 when it carries none. */
int ph_chan_peer_get(const ph_chan_peer *peer, struct sockaddr_storage *ss,
                     size_t *len);

/* A short human-readable name for a decode result, for log messages. */
const char *ph_chan_decode_strerror(ph_chan_decode_result r);

#endif /* PH_CHAN_MSG_H */
