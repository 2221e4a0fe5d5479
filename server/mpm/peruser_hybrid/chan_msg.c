/*
 * chan_msg.c -- encoding of the multiplexer -> environment channel header.
 * See chan_msg.h for the layout.
 *
 * Every field is written and read a byte at a time at its documented
 * offset, so the wire form is the same whatever the host's byte order,
 * struct padding or alignment rules (buf need not be aligned).
 */
#include "chan_msg.h"

/* Offsets of version 1, as documented in chan_msg.h. */
#define OFF_MAGIC     0
#define OFF_VERSION   4
#define OFF_LENGTH    6
#define OFF_ENV       8
#define OFF_VHOST    12
#define OFF_MUX_SLOT 16
#define OFF_FLAGS    20
#define OFF_TICKET   24
#define OFF_TICKET_GEN 32

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
    return PH_CHAN_MSG_LEN;
}

/*
 * The checks go from the most basic to the most specific, so the result
 * names the first thing that is wrong: too few bytes to hold a header at
 * all, then not our magic, then a version we do not speak, then a length
 * field that is not version 1's or that disagrees with the byte count that
 * arrived (a SOCK_SEQPACKET read returns one whole message, so extra bytes
 * mean a sender with a different idea of the format).  *out is written
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
    out->env_index = get_u32(buf + OFF_ENV);
    out->vhost_id = get_u32(buf + OFF_VHOST);
    out->mux_slot = get_u32(buf + OFF_MUX_SLOT);
    out->flags = get_u32(buf + OFF_FLAGS);
    out->ticket = get_u64(buf + OFF_TICKET);
    out->ticket_gen = get_u64(buf + OFF_TICKET_GEN);
    return PH_CHAN_DECODE_OK;
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
    }
    /* Not a value of the enum: a caller bug, but still a printable name. */
    return "unknown decode result";
}
