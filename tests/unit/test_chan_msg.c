/*
 * test_chan_msg.c -- CUnit suite for server/mpm/peruser_hybrid/chan_msg.c.
 *
 * The expected bytes are written out by hand from the layout comment in
 * chan_msg.h, so a change to the wire format cannot pass unnoticed.
 */
#include <stdint.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "chan_msg.h"
#include "unit_suites.h"

/* env_index 0x04030201, vhost_id 0x0d0c0b0a, mux_slot 7, flags
 * HEAD_COMPLETE, ticket 0x1122334455667788, ticket_gen
 * 0x0102030405060708. */
static const ph_chan_msg sample = {
    0x04030201u, 0x0d0c0b0au, 7u, PH_CHAN_F_HEAD_COMPLETE,
    0x1122334455667788ull, 0x0102030405060708ull
};

static const unsigned char sample_wire[PH_CHAN_MSG_LEN] = {
    0x48, 0x43, 0x48, 0x50,     /*  0 magic 0x50484348, little-endian */
    0x01, 0x00,                 /*  4 version 1 */
    0x28, 0x00,                 /*  6 length 40 */
    0x01, 0x02, 0x03, 0x04,     /*  8 env_index */
    0x0a, 0x0b, 0x0c, 0x0d,     /* 12 vhost_id */
    0x07, 0x00, 0x00, 0x00,     /* 16 mux_slot */
    0x01, 0x00, 0x00, 0x00,     /* 20 flags */
    0x88, 0x77, 0x66, 0x55,     /* 24 ticket */
    0x44, 0x33, 0x22, 0x11,
    0x08, 0x07, 0x06, 0x05,     /* 32 ticket_gen */
    0x04, 0x03, 0x02, 0x01,
};

static int msg_equal(const ph_chan_msg *a, const ph_chan_msg *b)
{
    return a->env_index == b->env_index && a->vhost_id == b->vhost_id
           && a->mux_slot == b->mux_slot && a->flags == b->flags
           && a->ticket == b->ticket && a->ticket_gen == b->ticket_gen;
}

/* A decode target filled with a pattern, to see whether it was written. */
static void poison(ph_chan_msg *m)
{
    m->env_index = m->vhost_id = m->mux_slot = m->flags = 0xdeadbeefu;
    m->ticket = 0xdeadbeefdeadbeefull;
    m->ticket_gen = 0xdeadbeefdeadbeefull;
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
        { 0, 0, 0, 0, 0, 0 },
        { UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT64_MAX,
          UINT64_MAX },
        { 1, 2, 3, PH_CHAN_F_HEAD_COMPLETE, 1, 2 },
        { 0x80000000u, 0x7fffffffu, 0x00ff00ffu, 0xff00ff00u,
          0x8000000000000001ull, 0x7ffffffffffffffeull },
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
        { 0x00, 0x00 }, { 0x02, 0x00 }, { 0x00, 0x01 }, { 0xff, 0xff },
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
    buf[4] = 2;
    buf[6] = 48;     /* a wrong length too: the version is reported */
    CU_ASSERT_EQUAL(ph_chan_msg_decode(buf, sizeof(buf), &m),
                    PH_CHAN_DECODE_BAD_VERSION);
}

static void test_decode_bad_length(void)
{
    static const unsigned char lengths[][2] = {
        { 0x00, 0x00 }, { 0x27, 0x00 }, { 0x29, 0x00 }, { 0x00, 0x28 },
        { 0x28, 0x01 },
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
    /* ... and a length field that claims them: both not version 1. */
    buf[6] = PH_CHAN_MSG_LEN + 8;
    CU_ASSERT_EQUAL(ph_chan_msg_decode(buf, sizeof(buf), &m),
                    PH_CHAN_DECODE_BAD_LENGTH);
    CU_ASSERT(is_poisoned(&m));
}

static void test_strerror(void)
{
    static const ph_chan_decode_result all[] = {
        PH_CHAN_DECODE_OK, PH_CHAN_DECODE_SHORT, PH_CHAN_DECODE_BAD_MAGIC,
        PH_CHAN_DECODE_BAD_VERSION, PH_CHAN_DECODE_BAD_LENGTH,
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
    { "strerror", test_strerror },
};

int ph_unit_register_chan_msg(void)
{
    return ph_unit_add_suite("chan_msg", NULL, tests,
                             sizeof(tests) / sizeof(tests[0]));
}
