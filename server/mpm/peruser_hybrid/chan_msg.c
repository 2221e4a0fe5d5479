/*
 * chan_msg.c -- encoding of the multiplexer -> environment channel header.
 * See chan_msg.h for the layout.
 *
 * Every field is written and read a byte at a time at its documented
 * offset, so the wire form is the same whatever the host's byte order,
 * struct padding or alignment rules (buf need not be aligned).
 */
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "chan_msg.h"

/* Offsets of version 2, as documented in chan_msg.h. */
#define OFF_MAGIC     0
#define OFF_VERSION   4
#define OFF_LENGTH    6
#define OFF_ENV       8
#define OFF_VHOST    12
#define OFF_MUX_SLOT 16
#define OFF_FLAGS    20
#define OFF_TICKET   24
#define OFF_TICKET_GEN 32
#define OFF_IDLE_MS    40
#define OFF_PEER_FAMILY 44
#define OFF_PEER_ZERO  45
#define OFF_PEER_PORT  46
#define OFF_PEER_SCOPE 48
#define OFF_PEER_ADDR  52

static void put_u16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)(v >> 8);
}

static void put_u32(unsigned char *p, uint32_t v)
{
    int i;

    for (i = 0; i < 4; i++) {
        p[i] = (unsigned char)((v >> (8 * i)) & 0xff);
    }
}

static void put_u64(unsigned char *p, uint64_t v)
{
    int i;

    for (i = 0; i < 8; i++) {
        p[i] = (unsigned char)((v >> (8 * i)) & 0xff);
    }
}

static uint16_t get_u16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    int i;

    for (i = 3; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    int i;

    for (i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

size_t ph_chan_msg_encode(const ph_chan_msg *msg, unsigned char *buf,
                          size_t buflen)
{
    if (buflen < PH_CHAN_MSG_LEN) {
        return 0;
    }
    put_u32(buf + OFF_MAGIC, PH_CHAN_MAGIC);
    put_u16(buf + OFF_VERSION, PH_CHAN_VERSION);
    put_u16(buf + OFF_LENGTH, PH_CHAN_MSG_LEN);
    put_u32(buf + OFF_ENV, msg->env_index);
    put_u32(buf + OFF_VHOST, msg->vhost_id);
    put_u32(buf + OFF_MUX_SLOT, msg->mux_slot);
    put_u32(buf + OFF_FLAGS, msg->flags);
    put_u64(buf + OFF_TICKET, msg->ticket);
    put_u64(buf + OFF_TICKET_GEN, msg->ticket_gen);
    put_u32(buf + OFF_IDLE_MS, msg->idle_ms);
    buf[OFF_PEER_FAMILY] = msg->peer.family;
    buf[OFF_PEER_ZERO] = 0;
    put_u16(buf + OFF_PEER_PORT, msg->peer.port);
    put_u32(buf + OFF_PEER_SCOPE, msg->peer.scope_id);
    memcpy(buf + OFF_PEER_ADDR, msg->peer.addr, sizeof(msg->peer.addr));
    return PH_CHAN_MSG_LEN;
}

/*
 * The checks go from the most basic to the most specific, so the result
 * names the first thing that is wrong: too few bytes to hold a header at
 * all, then not our magic, then a version we do not speak, then a length
 * field that is not version 2's or that disagrees with the byte count that
 * arrived (a SOCK_SEQPACKET read returns one whole message, so extra bytes
 * mean a sender with a different idea of the format), then a peer address
 * of no family we know.  *out is written
 * only on success.
 */
ph_chan_decode_result ph_chan_msg_decode(const unsigned char *buf,
                                         size_t len, ph_chan_msg *out)
{
    if (len < PH_CHAN_MSG_LEN) {
        return PH_CHAN_DECODE_SHORT;
    }
    if (get_u32(buf + OFF_MAGIC) != PH_CHAN_MAGIC) {
        return PH_CHAN_DECODE_BAD_MAGIC;
    }
    if (get_u16(buf + OFF_VERSION) != PH_CHAN_VERSION) {
        return PH_CHAN_DECODE_BAD_VERSION;
    }
    if (get_u16(buf + OFF_LENGTH) != PH_CHAN_MSG_LEN
        || len != PH_CHAN_MSG_LEN) {
        return PH_CHAN_DECODE_BAD_LENGTH;
    }
    if ((buf[OFF_PEER_FAMILY] != PH_CHAN_PEER_NONE
         && buf[OFF_PEER_FAMILY] != PH_CHAN_PEER_IPV4
         && buf[OFF_PEER_FAMILY] != PH_CHAN_PEER_IPV6)
        || buf[OFF_PEER_ZERO] != 0) {
        return PH_CHAN_DECODE_BAD_PEER;
    }
    out->env_index = get_u32(buf + OFF_ENV);
    out->vhost_id = get_u32(buf + OFF_VHOST);
    out->mux_slot = get_u32(buf + OFF_MUX_SLOT);
    out->flags = get_u32(buf + OFF_FLAGS);
    out->ticket = get_u64(buf + OFF_TICKET);
    out->ticket_gen = get_u64(buf + OFF_TICKET_GEN);
    out->idle_ms = get_u32(buf + OFF_IDLE_MS);
    out->peer.family = buf[OFF_PEER_FAMILY];
    out->peer.port = get_u16(buf + OFF_PEER_PORT);
    out->peer.scope_id = get_u32(buf + OFF_PEER_SCOPE);
    memcpy(out->peer.addr, buf + OFF_PEER_ADDR, sizeof(out->peer.addr));
    return PH_CHAN_DECODE_OK;
}

void ph_chan_peer_set(ph_chan_peer *peer, const struct sockaddr *sa,
                      size_t len)
{
    memset(peer, 0, sizeof(*peer));
    if (sa && sa->sa_family == AF_INET
        && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        peer->family = PH_CHAN_PEER_IPV4;
        peer->port = ntohs(in->sin_port);
        memcpy(peer->addr, &in->sin_addr, sizeof(in->sin_addr));
    }
    else if (sa && sa->sa_family == AF_INET6
             && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        peer->family = PH_CHAN_PEER_IPV6;
        peer->port = ntohs(in6->sin6_port);
        peer->scope_id = in6->sin6_scope_id;
        memcpy(peer->addr, &in6->sin6_addr, sizeof(in6->sin6_addr));
    }
}

int ph_chan_peer_get(const ph_chan_peer *peer, struct sockaddr_storage *ss,
                     size_t *len)
{
    memset(ss, 0, sizeof(*ss));
    if (peer->family == PH_CHAN_PEER_IPV4) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        in->sin_port = htons(peer->port);
        memcpy(&in->sin_addr, peer->addr, sizeof(in->sin_addr));
        *len = sizeof(*in);
        return 0;
    }
    if (peer->family == PH_CHAN_PEER_IPV6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(peer->port);
        in6->sin6_scope_id = peer->scope_id;
        memcpy(&in6->sin6_addr, peer->addr, sizeof(in6->sin6_addr));
        *len = sizeof(*in6);
        return 0;
    }
    return -1;
}

const char *ph_chan_decode_strerror(ph_chan_decode_result r)
{
    switch (r) {
    case PH_CHAN_DECODE_OK:
        return "ok";
    case PH_CHAN_DECODE_SHORT:
        return "message shorter than a channel header";
    case PH_CHAN_DECODE_BAD_MAGIC:
        return "bad magic";
    case PH_CHAN_DECODE_BAD_VERSION:
        return "unknown version";
    case PH_CHAN_DECODE_BAD_LENGTH:
        return "length field does not match message size";
    case PH_CHAN_DECODE_BAD_PEER:
        return "bad peer address family";
    }
    /* Not a value of the enum: a caller bug, but still a printable name. */
    return "unknown decode result";
}
