/*
 * test_chan_msg.c -- CUnit suite for server/mpm/peruser_hybrid/chan_msg.c.
 *
 * The expected bytes are written out by hand from the layout comment in
 * chan_msg.h, so a change to the wire format cannot pass unnoticed.
 */
#include <stdint.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <CUnit/CUnit.h>

#include "chan_msg.h"
#include "unit_suites.h"

/* env_index 0x04030201, vhost_id 0x0d0c0b0a, mux_slot 7, flags
 * HEAD_COMPLETE, ticket 0x1122334455667788, ticket_gen
 * 0x0102030405060708, idle_ms 0x00012345, peer [2001:db8::1%3]:40000. */
static const ph_chan_msg sample = {
    0x04030201u, 0x0d0c0b0au, 7u, PH_CHAN_F_HEAD_COMPLETE,
    0x1122334455667788ull, 0x0102030405060708ull, 0x00012345u,
    { PH_CHAN_PEER_IPV6, 40000, 3,
      { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 } }
};

static const unsigned char sample_wire[PH_CHAN_MSG_LEN] = {
    0x48, 0x43, 0x48, 0x50,     /*  0 magic 0x50484348, little-endian */
    0x02, 0x00,                 /*  4 version 2 */
    0x44, 0x00,                 /*  6 length 68 */
    0x01, 0x02, 0x03, 0x04,     /*  8 env_index */
    0x0a, 0x0b, 0x0c, 0x0d,     /* 12 vhost_id */
    0x07, 0x00, 0x00, 0x00,     /* 16 mux_slot */
    0x01, 0x00, 0x00, 0x00,     /* 20 flags */
    0x88, 0x77, 0x66, 0x55,     /* 24 ticket */
    0x44, 0x33, 0x22, 0x11,
    0x08, 0x07, 0x06, 0x05,     /* 32 ticket_gen */
    0x04, 0x03, 0x02, 0x01,
    0x45, 0x23, 0x01, 0x00,     /* 40 idle_ms */
    0x06, 0x00,                 /* 44 peer family 6, zero */
    0x40, 0x9c,                 /* 46 peer port 40000 */
    0x03, 0x00, 0x00, 0x00,     /* 48 peer scope id */
    0x20, 0x01, 0x0d, 0xb8,     /* 52 peer address */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
};

static int msg_equal(const ph_chan_msg *a, const ph_chan_msg *b)
{
    return a->env_index == b->env_index && a->vhost_id == b->vhost_id
           && a->mux_slot == b->mux_slot && a->flags == b->flags
           && a->ticket == b->ticket && a->ticket_gen == b->ticket_gen
           && a->idle_ms == b->idle_ms
           && a->peer.family == b->peer.family
           && a->peer.port == b->peer.port
           && a->peer.scope_id == b->peer.scope_id
           && !memcmp(a->peer.addr, b->peer.addr, sizeof(a->peer.addr));
}

/* A decode target filled with a pattern, to see whether it was written. */
static void poison(ph_chan_msg *m)
{
    m->env_index = m->vhost_id = m->mux_slot = m->flags = 0xdeadbeefu;
    m->ticket = 0xdeadbeefdeadbeefull;
    m->ticket_gen = 0xdeadbeefdeadbeefull;
    m->idle_ms = 0xdeadbeefu;
    m->peer.family = 0xee;
    m->peer.port = 0xdead;
    m->peer.scope_id = 0xdeadbeefu;
    memset(m->peer.addr, 0xee, sizeof(m->peer.addr));
}

static int is_poisoned(const ph_chan_msg *m)
{
    ph_chan_msg p;

    poison(&p);
    return msg_equal(m, &p);
}

static void test_encode_layout(void)
{
    unsigned char buf[PH_CHAN_MSG_LEN];

    CU_ASSERT_EQUAL(ph_chan_msg_encode(&sample, buf, sizeof(buf)),
                    PH_CHAN_MSG_LEN);
    CU_ASSERT_EQUAL(memcmp(buf, sample_wire, sizeof(buf)), 0);
}

static void test_encode_buffer_size(void)
{
    unsigned char buf[PH_CHAN_MSG_LEN + 8];
    unsigned char want[sizeof(buf)];

    /* Too small: nothing written at all. */
    memset(buf, 0xa5, sizeof(buf));
    memset(want, 0xa5, sizeof(want));
    CU_ASSERT_EQUAL(ph_chan_msg_encode(&sample, buf, PH_CHAN_MSG_LEN - 1), 0);
    CU_ASSERT_EQUAL(memcmp(buf, want, sizeof(buf)), 0);
    CU_ASSERT_EQUAL(ph_chan_msg_encode(&sample, NULL, 0), 0);

    /* Larger than needed: exactly PH_CHAN_MSG_LEN bytes written. */
    CU_ASSERT_EQUAL(ph_chan_msg_encode(&sample, buf, sizeof(buf)),
                    PH_CHAN_MSG_LEN);
    CU_ASSERT_EQUAL(memcmp(buf, sample_wire, PH_CHAN_MSG_LEN), 0);
    CU_ASSERT_EQUAL(memcmp(buf + PH_CHAN_MSG_LEN, want + PH_CHAN_MSG_LEN,
                           sizeof(buf) - PH_CHAN_MSG_LEN), 0);
}

static void test_decode_sample(void)
{
    ph_chan_msg m;

    poison(&m);
    CU_ASSERT_EQUAL(ph_chan_msg_decode(sample_wire, sizeof(sample_wire), &m),
                    PH_CHAN_DECODE_OK);
    CU_ASSERT(msg_equal(&m, &sample));
}

static void test_round_trip(void)
{
    static const ph_chan_msg cases[] = {
        { 0, 0, 0, 0, 0, 0, 0, { 0, 0, 0, { 0 } } },
        { UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT64_MAX,
          UINT64_MAX, UINT32_MAX, { PH_CHAN_PEER_IPV6, UINT16_MAX, UINT32_MAX,
                        { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                          0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } } },
        { 1, 2, 3, PH_CHAN_F_HEAD_COMPLETE, 1, 2, 2000,
          { PH_CHAN_PEER_IPV4, 80, 0, { 127, 0, 0, 1 } } },
        { 0x80000000u, 0x7fffffffu, 0x00ff00ffu, 0xff00ff00u,
          0x8000000000000001ull, 0x7ffffffffffffffeull, 0x80000000u,
          { PH_CHAN_PEER_IPV4, 1, 0, { 10, 1, 2, 3 } } },
    };
    /* One spare byte in front, so decode also runs on an odd address. */
    unsigned char buf[1 + PH_CHAN_MSG_LEN];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ph_chan_msg m;

        CU_ASSERT_EQUAL(ph_chan_msg_encode(&cases[i], buf + 1,
                                           PH_CHAN_MSG_LEN), PH_CHAN_MSG_LEN);
        poison(&m);
        CU_ASSERT_EQUAL(ph_chan_msg_decode(buf + 1, PH_CHAN_MSG_LEN, &m),
                        PH_CHAN_DECODE_OK);
        CU_ASSERT(msg_equal(&m, &cases[i]));
    }
}

static void test_decode_short(void)
{
    ph_chan_msg m;

    poison(&m);
    CU_ASSERT_EQUAL(ph_chan_msg_decode(NULL, 0, &m), PH_CHAN_DECODE_SHORT);
    CU_ASSERT_EQUAL(ph_chan_msg_decode(sample_wire, 1, &m),
                    PH_CHAN_DECODE_SHORT);
    CU_ASSERT_EQUAL(ph_chan_msg_decode(sample_wire, 8, &m),
                    PH_CHAN_DECODE_SHORT);
    CU_ASSERT_EQUAL(ph_chan_msg_decode(sample_wire, PH_CHAN_MSG_LEN - 1, &m),
                    PH_CHAN_DECODE_SHORT);
    CU_ASSERT(is_poisoned(&m));
}

static void test_decode_bad_magic(void)
{
    unsigned char buf[PH_CHAN_MSG_LEN];
    ph_chan_msg m;
    size_t i;

    /* Any single byte of the magic changed. */
    for (i = 0; i < 4; i++) {
        memcpy(buf, sample_wire, sizeof(buf));
        buf[i] ^= 0x01;
        poison(&m);
        CU_ASSERT_EQUAL(ph_chan_msg_decode(buf, sizeof(buf), &m),
                        PH_CHAN_DECODE_BAD_MAGIC);
        CU_ASSERT(is_poisoned(&m));
    }
    /* The magic written big-endian. */
    memcpy(buf, sample_wire, sizeof(buf));
    memcpy(buf, "PHCH", 4);
    CU_ASSERT_EQUAL(ph_chan_msg_decode(buf, sizeof(buf), &m),
                    PH_CHAN_DECODE_BAD_MAGIC);
    /* Magic is checked before version and length. */
    memset(buf + 4, 0xff, 4);
    CU_ASSERT_EQUAL(ph_chan_msg_decode(buf, sizeof(buf), &m),
                    PH_CHAN_DECODE_BAD_MAGIC);
}

static void test_decode_bad_version(void)
{
    static const unsigned char versions[][2] = {
        { 0x00, 0x00 }, { 0x01, 0x00 }, { 0x03, 0x00 }, { 0x00, 0x02 },
        { 0xff, 0xff },
    };
    unsigned char buf[PH_CHAN_MSG_LEN];
    ph_chan_msg m;
    size_t i;

    for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
        memcpy(buf, sample_wire, sizeof(buf));
        memcpy(buf + 4, versions[i], 2);
        poison(&m);
        CU_ASSERT_EQUAL(ph_chan_msg_decode(buf, sizeof(buf), &m),
                        PH_CHAN_DECODE_BAD_VERSION);
        CU_ASSERT(is_poisoned(&m));
    }
    /* Version is checked before length. */
    memcpy(buf, sample_wire, sizeof(buf));
    buf[4] = 3;
    buf[6] = 48;     /* a wrong length too: the version is reported */
    CU_ASSERT_EQUAL(ph_chan_msg_decode(buf, sizeof(buf), &m),
                    PH_CHAN_DECODE_BAD_VERSION);
}

static void test_decode_bad_length(void)
{
    static const unsigned char lengths[][2] = {
        { 0x00, 0x00 }, { 0x43, 0x00 }, { 0x45, 0x00 }, { 0x00, 0x44 },
        { 0x44, 0x01 }, { 0x28, 0x00 },   /* the last: version 1's */
    };
    unsigned char buf[PH_CHAN_MSG_LEN + 8];
    ph_chan_msg m;
    size_t i;

    for (i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
        memcpy(buf, sample_wire, PH_CHAN_MSG_LEN);
        memcpy(buf + 6, lengths[i], 2);
        poison(&m);
        CU_ASSERT_EQUAL(ph_chan_msg_decode(buf, PH_CHAN_MSG_LEN, &m),
                        PH_CHAN_DECODE_BAD_LENGTH);
        CU_ASSERT(is_poisoned(&m));
    }

    /* A correct header with surplus bytes after it ... */
    memcpy(buf, sample_wire, PH_CHAN_MSG_LEN);
    memset(buf + PH_CHAN_MSG_LEN, 0, 8);
    CU_ASSERT_EQUAL(ph_chan_msg_decode(buf, PH_CHAN_MSG_LEN + 1, &m),
                    PH_CHAN_DECODE_BAD_LENGTH);
    /* ... and a length field that claims them: both not version 2. */
    buf[6] = PH_CHAN_MSG_LEN + 8;
    CU_ASSERT_EQUAL(ph_chan_msg_decode(buf, sizeof(buf), &m),
                    PH_CHAN_DECODE_BAD_LENGTH);
    CU_ASSERT(is_poisoned(&m));
}

static void test_decode_bad_peer(void)
{
    static const unsigned char families[] = { 1, 2, 5, 7, 10, 0xff };
    unsigned char buf[PH_CHAN_MSG_LEN];
    ph_chan_msg m;
    size_t i;

    for (i = 0; i < sizeof(families); i++) {
        memcpy(buf, sample_wire, sizeof(buf));
        buf[44] = families[i];
        poison(&m);
        CU_ASSERT_EQUAL(ph_chan_msg_decode(buf, sizeof(buf), &m),
                        PH_CHAN_DECODE_BAD_PEER);
        CU_ASSERT(is_poisoned(&m));
    }
    /* the byte after the family is zero */
    memcpy(buf, sample_wire, sizeof(buf));
    buf[45] = 1;
    CU_ASSERT_EQUAL(ph_chan_msg_decode(buf, sizeof(buf), &m),
                    PH_CHAN_DECODE_BAD_PEER);
    /* no peer at all is fine */
    memcpy(buf, sample_wire, sizeof(buf));
    buf[44] = PH_CHAN_PEER_NONE;
    CU_ASSERT_EQUAL(ph_chan_msg_decode(buf, sizeof(buf), &m),
                    PH_CHAN_DECODE_OK);
    CU_ASSERT_EQUAL(m.peer.family, PH_CHAN_PEER_NONE);
}

/* accept()'s address -> message -> the socket address the processor
 * gives APR, for both families; anything else carries no peer. */
static void test_peer_sockaddr(void)
{
    struct sockaddr_in in, *in_out;
    struct sockaddr_in6 in6, *in6_out;
    struct sockaddr_un un;
    struct sockaddr_storage ss;
    ph_chan_peer peer;
    size_t len;

    memset(&in, 0, sizeof(in));
    in.sin_family = AF_INET;
    in.sin_port = htons(51234);
    in.sin_addr.s_addr = htonl(0x7f000001);
    ph_chan_peer_set(&peer, (struct sockaddr *)&in, sizeof(in));
    CU_ASSERT_EQUAL(peer.family, PH_CHAN_PEER_IPV4);
    CU_ASSERT_EQUAL(peer.port, 51234);
    CU_ASSERT_EQUAL(ph_chan_peer_get(&peer, &ss, &len), 0);
    in_out = (struct sockaddr_in *)&ss;
    CU_ASSERT_EQUAL(len, sizeof(in));
    CU_ASSERT_EQUAL(in_out->sin_family, AF_INET);
    CU_ASSERT_EQUAL(in_out->sin_port, htons(51234));
    CU_ASSERT_EQUAL(in_out->sin_addr.s_addr, htonl(0x7f000001));

    memset(&in6, 0, sizeof(in6));
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(443);
    in6.sin6_scope_id = 2;
    in6.sin6_addr.s6_addr[0] = 0xfe;
    in6.sin6_addr.s6_addr[1] = 0x80;
    in6.sin6_addr.s6_addr[15] = 9;
    ph_chan_peer_set(&peer, (struct sockaddr *)&in6, sizeof(in6));
    CU_ASSERT_EQUAL(peer.family, PH_CHAN_PEER_IPV6);
    CU_ASSERT_EQUAL(ph_chan_peer_get(&peer, &ss, &len), 0);
    in6_out = (struct sockaddr_in6 *)&ss;
    CU_ASSERT_EQUAL(len, sizeof(in6));
    CU_ASSERT_EQUAL(in6_out->sin6_family, AF_INET6);
    CU_ASSERT_EQUAL(in6_out->sin6_port, htons(443));
    CU_ASSERT_EQUAL(in6_out->sin6_scope_id, 2);
    CU_ASSERT_EQUAL(memcmp(&in6_out->sin6_addr, &in6.sin6_addr, 16), 0);

    /* a short address, another family, none */
    ph_chan_peer_set(&peer, (struct sockaddr *)&in6, sizeof(in6) - 1);
    CU_ASSERT_EQUAL(peer.family, PH_CHAN_PEER_NONE);
    memset(&un, 0, sizeof(un));
    un.sun_family = AF_UNIX;
    ph_chan_peer_set(&peer, (struct sockaddr *)&un, sizeof(un));
    CU_ASSERT_EQUAL(peer.family, PH_CHAN_PEER_NONE);
    ph_chan_peer_set(&peer, NULL, 0);
    CU_ASSERT_EQUAL(peer.family, PH_CHAN_PEER_NONE);
    CU_ASSERT_EQUAL(ph_chan_peer_get(&peer, &ss, &len), -1);
}

static void test_strerror(void)
{
    static const ph_chan_decode_result all[] = {
        PH_CHAN_DECODE_OK, PH_CHAN_DECODE_SHORT, PH_CHAN_DECODE_BAD_MAGIC,
        PH_CHAN_DECODE_BAD_VERSION, PH_CHAN_DECODE_BAD_LENGTH,
        PH_CHAN_DECODE_BAD_PEER,
    };
    size_t i, j, n = sizeof(all) / sizeof(all[0]);
    const char *unknown = ph_chan_decode_strerror((ph_chan_decode_result)99);

    CU_ASSERT_PTR_NOT_NULL_FATAL(unknown);
    CU_ASSERT(unknown[0] != '\0');
    /* Every result has its own non-empty name, none of them "unknown". */
    for (i = 0; i < n; i++) {
        const char *s = ph_chan_decode_strerror(all[i]);

        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        CU_ASSERT(s[0] != '\0');
        CU_ASSERT(strcmp(s, unknown) != 0);
        for (j = 0; j < i; j++) {
            CU_ASSERT(strcmp(s, ph_chan_decode_strerror(all[j])) != 0);
        }
    }
}

static const ph_unit_test tests[] = {
    { "encode: exact byte layout", test_encode_layout },
    { "encode: buffer size", test_encode_buffer_size },
    { "decode: known bytes", test_decode_sample },
    { "round trip", test_round_trip },
    { "decode: short", test_decode_short },
    { "decode: bad magic", test_decode_bad_magic },
    { "decode: bad version", test_decode_bad_version },
    { "decode: bad length", test_decode_bad_length },
    { "decode: bad peer", test_decode_bad_peer },
    { "peer: socket address round trip", test_peer_sockaddr },
    { "strerror", test_strerror },
};

int ph_unit_register_chan_msg(void)
{
    return ph_unit_add_suite("chan_msg", NULL, tests,
                             sizeof(tests) / sizeof(tests[0]));
}
