/*
 * test_h2_preface.c -- CUnit suite for server/mpm/peruser_hybrid/
 * h2_preface.c.
 *
 * Header blocks are made with libnghttp2's HPACK deflater (which Huffman-
 * codes where that is shorter) or by hand (dynamic-table references, bad
 * indexes).  Every input is parsed from a heap copy of exactly its length,
 * so that under ASan (make unit-asan) or valgrind a read past len shows.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <nghttp2/nghttp2.h>

#include "h2_preface.h"
#include "unit_suites.h"

/* A growing byte string for building connections. */
typedef struct {
    unsigned char b[200000];
    size_t n;
} bytes;

static bytes msg, block;

static void put(bytes *o, const void *p, size_t n)
{
    if (o->n + n > sizeof(o->b)) {
        fprintf(stderr, "test_h2_preface: test buffer too small\n");
        abort();
    }
    memcpy(o->b + o->n, p, n);
    o->n += n;
}

static void frame(bytes *o, size_t len, unsigned type, unsigned flags,
                  uint32_t stream, const void *payload, size_t plen)
{
    unsigned char h[9] = {
        (unsigned char)(len >> 16), (unsigned char)(len >> 8),
        (unsigned char)len, (unsigned char)type, (unsigned char)flags,
        (unsigned char)(stream >> 24), (unsigned char)(stream >> 16),
        (unsigned char)(stream >> 8), (unsigned char)stream
    };
    put(o, h, sizeof(h));
    if (plen) {
        put(o, payload, plen);
    }
}

/* Preface and the client's SETTINGS (one setting: ENABLE_PUSH 0). */
static void start(bytes *o)
{
    static const unsigned char settings[6] = { 0, 2, 0, 0, 0, 0 };
    o->n = 0;
    put(o, PH_H2_PREFACE, PH_H2_PREFACE_LEN);
    frame(o, sizeof(settings), 0x4, 0, 0, settings, sizeof(settings));
}

static void window_update(bytes *o)
{
    static const unsigned char inc[4] = { 0, 0x0f, 0, 1 };
    frame(o, sizeof(inc), 0x8, 0, 0, inc, sizeof(inc));
}

/* block = the HPACK encoding of a GET of / on http for authority (NULL:
 * none) plus `host` (NULL: none). */
static void encode(const char *authority, const char *host)
{
    nghttp2_hd_deflater *d;
    nghttp2_nv nv[6];
    size_t n = 0;
    ssize_t rv;

#define NV(k, v) do { nv[n].name = (uint8_t *)(k); nv[n].namelen = strlen(k); \
        nv[n].value = (uint8_t *)(v); nv[n].valuelen = strlen(v); \
        nv[n].flags = NGHTTP2_NV_FLAG_NONE; n++; } while (0)
    NV(":method", "GET");
    NV(":scheme", "http");
    NV(":path", "/cgi-bin/id.cgi");
    if (authority) {
        NV(":authority", authority);
    }
    if (host) {
        NV("host", host);
    }
    NV("user-agent", "unit-test/1.0");
#undef NV
    CU_ASSERT_FATAL(nghttp2_hd_deflate_new(&d, 4096) == 0);
    rv = nghttp2_hd_deflate_hd(d, block.b, sizeof(block.b), nv, n);
    CU_ASSERT_FATAL(rv > 0);
    block.n = (size_t)rv;
    nghttp2_hd_deflate_del(d);
}

static unsigned char *cur;

static ph_h2_verdict parse(const unsigned char *p, size_t n, ph_h2_first *f)
{
    free(cur);
    cur = malloc(n ? n : 1);
    if (!cur) {
        abort();
    }
    if (n) {
        memcpy(cur, p, n);
    }
    return ph_h2_first_request(cur, n, f);
}

static int suite_cleanup(void)
{
    free(cur);
    cur = NULL;
    return 0;
}

/* The usual connection: preface, SETTINGS, WINDOW_UPDATE, HEADERS. */
static void usual(const char *authority)
{
    encode(authority, NULL);
    start(&msg);
    window_update(&msg);
    frame(&msg, block.n, 0x1, 0x4 | 0x1, 1, block.b, block.n);
}

static void test_not_h2(void)
{
    ph_h2_first f;

    CU_ASSERT_EQUAL(parse((const unsigned char *)"GET / HTTP/1.1\r\n", 16,
                          &f), PH_H2_NOT_H2);
    CU_ASSERT_EQUAL(parse((const unsigned char *)"PRX", 3, &f),
                    PH_H2_NOT_H2);
    CU_ASSERT_EQUAL(parse((const unsigned char *)
                          "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n", 24, &f),
                    PH_H2_NOT_H2);
    CU_ASSERT_EQUAL(parse((const unsigned char *)"PRI * HT", 8, &f),
                    PH_H2_NEED_MORE);
}

static void test_routable(void)
{
    ph_h2_first f;

    usual("alice.test:8080");
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_ROUTABLE);
    CU_ASSERT_STRING_EQUAL(f.authority, "alice.test:8080");
    CU_ASSERT_STRING_EQUAL(f.method, "GET");
    CU_ASSERT_STRING_EQUAL(f.scheme, "http");
    CU_ASSERT_STRING_EQUAL(f.path, "/cgi-bin/id.cgi");
    CU_ASSERT_EQUAL(f.stream_id, 1);
    CU_ASSERT_EQUAL(f.frames, 3);
}

/* The deflater Huffman-codes a value when that is shorter: check that it
 * did here (H bit of the value's length byte), so the test covers it. */
static void test_huffman(void)
{
    ph_h2_first f;
    const char *auth = "www.example.com";

    usual(auth);
    /* :authority is static index 1: literal with indexing, 0x41, then the
     * value's length octet with the H bit. */
    {
        size_t i;
        int huff = 0;
        for (i = 0; i + 1 < block.n; i++) {
            if (block.b[i] == 0x41 && (block.b[i + 1] & 0x80)) {
                huff = 1;
            }
        }
        CU_ASSERT(huff);
    }
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_ROUTABLE);
    CU_ASSERT_STRING_EQUAL(f.authority, auth);
}

/* Every proper prefix of a good connection needs more bytes. */
static void test_split_everywhere(void)
{
    ph_h2_first f;
    size_t i;

    usual("bob.test");
    for (i = 1; i < msg.n; i++) {
        if (parse(msg.b, i, &f) != PH_H2_NEED_MORE) {
            CU_FAIL("a prefix gave a verdict");
            fprintf(stderr, "prefix %zu of %zu: %d\n", i, msg.n, f.verdict);
            return;
        }
    }
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_ROUTABLE);
    CU_ASSERT_STRING_EQUAL(f.authority, "bob.test");
}

/* HEADERS without END_HEADERS, then CONTINUATION frames. */
static void test_continuation(void)
{
    ph_h2_first f;
    size_t a, b;

    encode("alice.test", NULL);
    a = block.n / 3;
    b = 2 * block.n / 3;
    start(&msg);
    frame(&msg, a, 0x1, 0x1, 3, block.b, a);
    frame(&msg, b - a, 0x9, 0, 3, block.b + a, b - a);
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_NEED_MORE);
    frame(&msg, block.n - b, 0x9, 0x4, 3, block.b + b, block.n - b);
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_ROUTABLE);
    CU_ASSERT_STRING_EQUAL(f.authority, "alice.test");
    CU_ASSERT_EQUAL(f.stream_id, 3);

    /* an empty HEADERS fragment, everything in one CONTINUATION */
    start(&msg);
    frame(&msg, 0, 0x1, 0, 1, NULL, 0);
    frame(&msg, block.n, 0x9, 0x4, 1, block.b, block.n);
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_ROUTABLE);

    /* CONTINUATION on another stream */
    start(&msg);
    frame(&msg, a, 0x1, 0x1, 1, block.b, a);
    frame(&msg, block.n - a, 0x9, 0x4, 3, block.b + a, block.n - a);
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_BY_ADDRESS);

    /* another frame inside the header block */
    start(&msg);
    frame(&msg, a, 0x1, 0x1, 1, block.b, a);
    frame(&msg, 8, 0x6, 0, 0, "12345678", 8);
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_BY_ADDRESS);

    /* CONTINUATION before any HEADERS */
    start(&msg);
    frame(&msg, block.n, 0x9, 0x4, 1, block.b, block.n);
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_BY_ADDRESS);
}

/* PADDED and PRIORITY flags on HEADERS. */
static void test_padding_priority(void)
{
    static const unsigned char prio[5] = { 0, 0, 0, 0, 15 };
    static const unsigned char zeros[40] = { 0 };
    unsigned char padlen = 40;
    bytes payload;
    ph_h2_first f;

    encode("bob.test", NULL);
    payload.n = 0;
    put(&payload, &padlen, 1);
    put(&payload, prio, sizeof(prio));
    put(&payload, block.b, block.n);
    put(&payload, zeros, sizeof(zeros));
    start(&msg);
    frame(&msg, payload.n, 0x1, 0x4 | 0x8 | 0x20, 1, payload.b, payload.n);
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_ROUTABLE);
    CU_ASSERT_STRING_EQUAL(f.authority, "bob.test");

    /* PRIORITY only */
    payload.n = 0;
    put(&payload, prio, sizeof(prio));
    put(&payload, block.b, block.n);
    start(&msg);
    frame(&msg, payload.n, 0x1, 0x4 | 0x20, 1, payload.b, payload.n);
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_ROUTABLE);

    /* a PRIORITY frame before HEADERS */
    start(&msg);
    frame(&msg, 5, 0x2, 0, 3, prio, 5);
    frame(&msg, block.n, 0x1, 0x4, 1, block.b, block.n);
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_ROUTABLE);

    /* pad length larger than what the frame holds */
    padlen = 250;
    payload.n = 0;
    put(&payload, &padlen, 1);
    put(&payload, block.b, block.n);
    start(&msg);
    frame(&msg, payload.n, 0x1, 0x4 | 0x8, 1, payload.b, payload.n);
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_BY_ADDRESS);

    /* PADDED with an empty payload */
    start(&msg);
    frame(&msg, 0, 0x1, 0x4 | 0x8, 1, NULL, 0);
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_BY_ADDRESS);

    /* PRIORITY flag with fewer than 5 bytes */
    start(&msg);
    frame(&msg, 3, 0x1, 0x4 | 0x20, 1, prio, 3);
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_BY_ADDRESS);
}

/* A header block that refers to dynamic-table entries it created. */
static void test_dynamic_table(void)
{
    static const unsigned char hb[] = {
        0x3f, 0xe1, 0x1f,               /* table size update: 4096 */
        0x82, 0x86, 0x84,               /* :method GET :scheme http :path / */
        0x40, 3, 'x', '-', 'a', 1, '1', /* x-a: 1, indexed: entry 62 */
        0x41, 10, 'a', 'l', 'i', 'c', 'e', '.', 't', 'e', 's', 't',
                                        /* :authority alice.test: 62,
                                         * x-a moves to 63 */
        0xbf,                           /* index 63: x-a: 1 again */
    };
    static const unsigned char dup[] = {
        0x82, 0x86, 0x84,
        0x41, 3, 'b', 'o', 'b',         /* :authority bob: entry 62 */
        0xbe,                           /* index 62: :authority again */
    };
    static const unsigned char bad_index[] = { 0x82, 0xc0 }; /* 64: none */
    static const unsigned char bad_huffman[] = {
        0x82, 0x41, 0x83, 0xff, 0xff, 0xff /* EOS inside a string */
    };
    static const unsigned char truncated[] = { 0x82, 0x41, 10, 'a', 'b' };
    ph_h2_first f;

    start(&msg);
    frame(&msg, sizeof(hb), 0x1, 0x4, 1, hb, sizeof(hb));
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_ROUTABLE);
    CU_ASSERT_STRING_EQUAL(f.authority, "alice.test");
    CU_ASSERT_STRING_EQUAL(f.path, "/");

    start(&msg);
    frame(&msg, sizeof(dup), 0x1, 0x4, 1, dup, sizeof(dup));
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_BY_ADDRESS);

    start(&msg);
    frame(&msg, sizeof(bad_index), 0x1, 0x4, 1, bad_index,
          sizeof(bad_index));
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_BY_ADDRESS);

    start(&msg);
    frame(&msg, sizeof(bad_huffman), 0x1, 0x4, 1, bad_huffman,
          sizeof(bad_huffman));
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_BY_ADDRESS);

    /* a string running past the end of the block */
    start(&msg);
    frame(&msg, sizeof(truncated), 0x1, 0x4, 1, truncated,
          sizeof(truncated));
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_BY_ADDRESS);
    CU_ASSERT_STRING_EQUAL(f.authority, "");
}

static void test_host_header(void)
{
    ph_h2_first f;

    encode(NULL, "bob.test");
    start(&msg);
    frame(&msg, block.n, 0x1, 0x4, 1, block.b, block.n);
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_ROUTABLE);
    CU_ASSERT_STRING_EQUAL(f.authority, "bob.test");

    /* :authority wins over host */
    encode("alice.test", "bob.test");
    start(&msg);
    frame(&msg, block.n, 0x1, 0x4, 1, block.b, block.n);
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_ROUTABLE);
    CU_ASSERT_STRING_EQUAL(f.authority, "alice.test");

    /* neither: nothing to route on */
    encode(NULL, NULL);
    start(&msg);
    frame(&msg, block.n, 0x1, 0x4, 1, block.b, block.n);
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_BY_ADDRESS);
}

static void test_bad_frames(void)
{
    static const unsigned char settings[6] = { 0, 2, 0, 0, 0, 0 };
    ph_h2_first f;
    int i;

    encode("alice.test", NULL);

    /* the first frame is not SETTINGS */
    msg.n = 0;
    put(&msg, PH_H2_PREFACE, PH_H2_PREFACE_LEN);
    frame(&msg, block.n, 0x1, 0x4, 1, block.b, block.n);
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_BY_ADDRESS);

    /* SETTINGS on a stream, SETTINGS ACK first */
    msg.n = 0;
    put(&msg, PH_H2_PREFACE, PH_H2_PREFACE_LEN);
    frame(&msg, 6, 0x4, 0, 1, settings, 6);
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_BY_ADDRESS);
    msg.n = 0;
    put(&msg, PH_H2_PREFACE, PH_H2_PREFACE_LEN);
    frame(&msg, 0, 0x4, 0x1, 0, NULL, 0);
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_BY_ADDRESS);

    /* HEADERS on an even stream, on stream 0 */
    start(&msg);
    frame(&msg, block.n, 0x1, 0x4, 2, block.b, block.n);
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_BY_ADDRESS);
    start(&msg);
    frame(&msg, block.n, 0x1, 0x4, 0, block.b, block.n);
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_BY_ADDRESS);

    /* DATA, RST_STREAM, GOAWAY before HEADERS */
    start(&msg);
    frame(&msg, 4, 0x0, 0, 1, "abcd", 4);
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_BY_ADDRESS);
    start(&msg);
    frame(&msg, 4, 0x3, 0, 1, "\0\0\0\0", 4);
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_BY_ADDRESS);
    start(&msg);
    frame(&msg, 8, 0x7, 0, 0, "\0\0\0\0\0\0\0\0", 8);
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_BY_ADDRESS);

    /* an unknown (extension) frame type is skipped */
    start(&msg);
    frame(&msg, 3, 0xfa, 0, 0, "xyz", 3);
    frame(&msg, block.n, 0x1, 0x4, 1, block.b, block.n);
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_ROUTABLE);

    /* too many frames before HEADERS */
    start(&msg);
    for (i = 0; i < PH_H2_MAX_FRAMES; i++) {
        frame(&msg, 8, 0x6, 0, 0, "12345678", 8);
    }
    frame(&msg, block.n, 0x1, 0x4, 1, block.b, block.n);
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_BY_ADDRESS);
}

/* A declared length over the limit is refused from the frame header
 * alone, before its payload arrives; the payload is never trusted to be
 * there. */
static void test_oversized_lengths(void)
{
    ph_h2_first f;
    static const unsigned char big[PH_H2_MAX_FRAME + 1];

    start(&msg);
    frame(&msg, 0xffffff, 0x4, 0, 0, NULL, 0);
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_BY_ADDRESS);
    msg.n = 0;
    put(&msg, PH_H2_PREFACE, PH_H2_PREFACE_LEN);
    frame(&msg, 0xffffff, 0x4, 0, 0, NULL, 0);
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_BY_ADDRESS);

    /* just over the limit, payload present */
    start(&msg);
    frame(&msg, sizeof(big), 0x1, 0x4, 1, big, sizeof(big));
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_BY_ADDRESS);

    /* a HEADERS frame declaring 16384 bytes with few present: wait */
    start(&msg);
    frame(&msg, PH_H2_MAX_FRAME, 0x1, 0x4, 1, block.b, 10);
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_NEED_MORE);

    /* an oversized CONTINUATION */
    encode("alice.test", NULL);
    start(&msg);
    frame(&msg, 4, 0x1, 0, 1, block.b, 4);
    frame(&msg, 0x100000, 0x9, 0x4, 1, NULL, 0);
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_BY_ADDRESS);
}

/* A value longer than its field goes by address, never truncated. */
static void test_long_values(void)
{
    char auth[PH_H2_AUTHORITY_MAX + 10];
    ph_h2_first f;

    memset(auth, 'a', sizeof(auth) - 1);
    auth[sizeof(auth) - 1] = '\0';
    usual(auth);
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_BY_ADDRESS);
    auth[PH_H2_AUTHORITY_MAX - 1] = '\0';
    usual(auth);
    CU_ASSERT_EQUAL(parse(msg.b, msg.n, &f), PH_H2_ROUTABLE);
    CU_ASSERT_EQUAL(strlen(f.authority), PH_H2_AUTHORITY_MAX - 1);
}

/* Random bytes after a valid preface: any verdict but NOT_H2, no crash,
 * no read past len (under ASan). */
static void test_random_after_preface(void)
{
    ph_h2_first f;
    unsigned seed = 12345;
    int round;
    size_t i;

    for (round = 0; round < 20000; round++) {
        size_t n;
        start(&msg);
        n = (size_t)(seed % 120);
        for (i = 0; i < n; i++) {
            unsigned char c;
            seed = seed * 1103515245u + 12345u;
            c = (unsigned char)(seed >> 16);
            put(&msg, &c, 1);
        }
        /* small lengths often, so HEADERS frames get decoded */
        if (msg.n > 48 && (seed & 1)) {
            /* the frame after SETTINGS (at 39): HEADERS on stream 1 */
            msg.b[39] = 0;
            msg.b[40] = 0;
            msg.b[41] = (unsigned char)(n - 9);
            msg.b[42] = 0x1;
            msg.b[44] = 0;
            msg.b[47] = 1;
        }
        if (parse(msg.b, msg.n, &f) == PH_H2_NOT_H2) {
            CU_FAIL("NOT_H2 after a valid preface");
            return;
        }
        seed = seed * 1103515245u + 12345u;
    }
    CU_PASS("no crash");
}

static const ph_unit_test tests[] = {
    { "not h2, preface prefix", test_not_h2 },
    { "routable: authority, method, scheme, path", test_routable },
    { "Huffman-coded values", test_huffman },
    { "split at every byte", test_split_everywhere },
    { "CONTINUATION frames", test_continuation },
    { "PADDED and PRIORITY flags", test_padding_priority },
    { "HPACK dynamic table and errors", test_dynamic_table },
    { "host header instead of :authority", test_host_header },
    { "malformed frames go by address", test_bad_frames },
    { "oversized lengths", test_oversized_lengths },
    { "values longer than their field", test_long_values },
    { "random bytes after the preface", test_random_after_preface },
};

int ph_unit_register_h2_preface(void)
{
    return ph_unit_add_suite("h2_preface", suite_cleanup, tests,
                             sizeof(tests) / sizeof(tests[0]));
}
