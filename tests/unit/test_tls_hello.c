/*
 * test_tls_hello.c -- CUnit suite for server/mpm/peruser_hybrid/tls_hello.c.
 *
 * Real ClientHellos (openssl s_client, curl; tls_hello_samples.h) and
 * hellos built here field by field.  Every input is copied into a heap
 * block of exactly its length, and the scratch buffer is a heap block of
 * exactly its size, so that under AddressSanitizer (make unit-asan) or
 * valgrind a read or write of one byte too many is reported.
 *
 * The verdicts and alerts expected for refused hellos are those OpenSSL
 * 3.0's s_server gave for the same bytes (doc/decisions.md, "The TLS
 * ClientHello parser").
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "tls_hello.h"
#include "tls_hello_samples.h"
#include "unit_suites.h"

#define SCRATCH 16384
#define MAX_WIRE 65536

static unsigned char *cur;      /* exact-size copy of the last input */
static unsigned char *scratch;  /* SCRATCH bytes, or what a test asks */

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (p == NULL) {
        fprintf(stderr, "test_tls_hello: out of memory\n");
        abort();
    }
    return p;
}

static ph_tls_verdict parse_space(const unsigned char *s, size_t n,
                                  size_t max_wire, size_t scratch_size,
                                  ph_tls_hello *h)
{
    ph_tls_space space;

    free(cur);
    free(scratch);
    cur = xmalloc(n);
    if (n) {
        memcpy(cur, s, n);
    }
    scratch = scratch_size ? xmalloc(scratch_size) : NULL;
    space.max_wire = max_wire;
    space.scratch = scratch;
    space.scratch_size = scratch_size;
    return ph_tls_hello_parse(cur, n, &space, h);
}

/*
 * With httpd-like bounds; and when the ClientHello body was complete,
 * once more with a scratch of exactly its size, so that a read past the
 * body hits the end of a heap block (ASan, valgrind).  The second parse
 * must agree, and is the one whose result *h holds.
 */
static ph_tls_verdict parse(const unsigned char *s, size_t n, ph_tls_hello *h)
{
    ph_tls_verdict v = parse_space(s, n, MAX_WIRE, SCRATCH, h);
    unsigned alert = h->alert;

    if (h->hello_len > 0) {
        CU_ASSERT_EQUAL(parse_space(s, n, MAX_WIRE, h->hello_len, h), v);
        CU_ASSERT_EQUAL(h->alert, alert);
    }
    return v;
}

static int suite_cleanup(void)
{
    free(cur);
    free(scratch);
    cur = scratch = NULL;
    return 0;
}

/* ---- building hellos ---------------------------------------------------- */

typedef struct {
    unsigned char b[1 << 17];
    size_t n;
} bytes;

static void put(bytes *o, const void *p, size_t n)
{
    CU_ASSERT_FATAL(o->n + n <= sizeof(o->b));
    memcpy(o->b + o->n, p, n);
    o->n += n;
}

static void put8(bytes *o, unsigned v)
{
    unsigned char c = (unsigned char)v;
    put(o, &c, 1);
}

static void put16(bytes *o, unsigned v)
{
    put8(o, v >> 8);
    put8(o, v & 0xff);
}

static void put24(bytes *o, size_t v)
{
    put8(o, (unsigned)(v >> 16) & 0xff);
    put16(o, (unsigned)(v & 0xffff));
}

/* One extension: type, length, data. */
static void ext(bytes *e, unsigned type, const void *data, size_t n)
{
    put16(e, type);
    put16(e, (unsigned)n);
    put(e, data, n);
}

/* A server_name extension with one host_name entry of n bytes. */
static void ext_sni(bytes *e, const char *name, size_t n)
{
    put16(e, 0);
    put16(e, (unsigned)(n + 5));
    put16(e, (unsigned)(n + 3));
    put8(e, 0);
    put16(e, (unsigned)n);
    put(e, name, n);
}

/* An ALPN extension; names[] end with NULL. */
static void ext_alpn(bytes *e, const char *const *names)
{
    bytes l = { .n = 0 };
    size_t i;

    for (i = 0; names[i] != NULL; i++) {
        put8(&l, (unsigned)strlen(names[i]));
        put(&l, names[i], strlen(names[i]));
    }
    put16(e, 16);
    put16(e, (unsigned)(l.n + 2));
    put16(e, (unsigned)l.n);
    put(e, l.b, l.n);
}

/* The fields before the extensions. */
typedef struct {
    size_t sid_len;
    const unsigned char *suites;
    size_t suites_len;
    const unsigned char *comp;
    size_t comp_len;
} hello_head;

static const unsigned char std_suites[] = { 0x13, 0x01, 0x13, 0x02,
                                            0xc0, 0x2f, 0x00, 0xff };
static const unsigned char std_comp[] = { 0 };
static const hello_head std_head = { 32, std_suites, sizeof(std_suites),
                                     std_comp, 1 };

/* A ClientHello handshake message (header included) with the given head
 * and extensions; exts NULL: no extensions block at all. */
static void hello_msg(bytes *m, const hello_head *hh, const bytes *exts)
{
    bytes b = { .n = 0 };
    size_t i;

    put16(&b, 0x0303);
    for (i = 0; i < 32; i++) {
        put8(&b, 0x11);
    }
    put8(&b, (unsigned)hh->sid_len);
    for (i = 0; i < hh->sid_len; i++) {
        put8(&b, 0x22);
    }
    put16(&b, (unsigned)hh->suites_len);
    put(&b, hh->suites, hh->suites_len);
    put8(&b, (unsigned)hh->comp_len);
    put(&b, hh->comp, hh->comp_len);
    if (exts != NULL) {
        put16(&b, (unsigned)exts->n);
        put(&b, exts->b, exts->n);
    }
    m->n = 0;
    put8(m, 1);
    put24(m, b.n);
    put(m, b.b, b.n);
}

/* The message m cut into handshake records of at most frag bytes. */
static void records(bytes *w, const unsigned char *m, size_t n, size_t frag,
                    unsigned version)
{
    size_t off;

    w->n = 0;
    for (off = 0; off < n; off += frag) {
        size_t k = n - off < frag ? n - off : frag;

        put8(w, 22);
        put16(w, version);
        put16(w, (unsigned)k);
        put(w, m + off, k);
    }
}

static void record_raw(bytes *w, unsigned type, unsigned version,
                       const void *data, size_t n)
{
    put8(w, type);
    put16(w, version);
    put16(w, (unsigned)n);
    put(w, data, n);
}

/* The handshake message inside a one-record sample. */
static const unsigned char *sample_msg(const unsigned char *s, size_t *n)
{
    *n = ((size_t)s[3] << 8) | s[4];
    return s + 5;
}

/* ---- checking ----------------------------------------------------------- */

/*
 * The whole of w gives `want`; and every prefix gives either NEED_MORE or
 * (from the first prefix with a verdict on) exactly the final verdict and
 * alert: a verdict never changes when bytes arrive.  For OK, every proper
 * prefix of the hello's records is NEED_MORE.  Returns the final result
 * in *h (w parsed last, so its alpn points into the current scratch).
 */
static void check_prefixes(const unsigned char *w, size_t n,
                           ph_tls_verdict want, ph_tls_hello *h)
{
    ph_tls_hello p;
    size_t k, first = n;

    CU_ASSERT_EQUAL_FATAL(parse(w, n, h), want);
    for (k = 0; k < n; k++) {
        ph_tls_verdict v = parse(w, k, &p);

        if (v == PH_TLS_NEED_MORE) {
            if (first < k) {
                CU_FAIL("NEED_MORE after a verdict");
                return;
            }
            continue;
        }
        if (first == n) {
            first = k;
        }
        if (v != want || p.alert != h->alert) {
            fprintf(stderr, "\nprefix %zu of %zu: %s alert %u, want %s %u\n",
                    k, n, ph_tls_verdict_name(v), p.alert,
                    ph_tls_verdict_name(want), h->alert);
            CU_FAIL("a prefix gives another verdict");
            return;
        }
    }
    if (want == PH_TLS_OK) {
        CU_ASSERT(first >= h->wire_len);
    }
    /* Parsed last, so that h's pointers into the scratch are valid. */
    CU_ASSERT_EQUAL(parse(w, n, h), want);
}

static void expect_sni(const ph_tls_hello *h, const char *name)
{
    if (name == NULL) {
        CU_ASSERT_FALSE(h->has_sni);
        CU_ASSERT_EQUAL(h->sni_len, 0);
        return;
    }
    CU_ASSERT_TRUE(h->has_sni);
    CU_ASSERT_EQUAL(h->sni_len, strlen(name));
    CU_ASSERT_STRING_EQUAL(h->sni, name);
}

/* A hello with the standard head and the extensions in e, one record. */
static ph_tls_verdict parse_exts(const bytes *e, ph_tls_hello *h)
{
    static bytes m, w;

    hello_msg(&m, &std_head, e);
    records(&w, m.b, m.n, 16384, 0x0301);
    return parse(w.b, w.n, h);
}

static ph_tls_verdict parse_sni_name(const char *name, size_t n,
                                     ph_tls_hello *h)
{
    static bytes e;

    e.n = 0;
    ext_sni(&e, name, n);
    return parse_exts(&e, h);
}

/* ---- real hellos -------------------------------------------------------- */

static void test_openssl_sni_tls13(void)
{
    ph_tls_hello h;

    check_prefixes(sample_openssl_sni_tls13, sizeof(sample_openssl_sni_tls13),
                   PH_TLS_OK, &h);
    expect_sni(&h, "x.example");
    CU_ASSERT_FALSE(h.has_alpn);
    CU_ASSERT_EQUAL(h.wire_len, sizeof(sample_openssl_sni_tls13));
    CU_ASSERT_EQUAL(h.hello_len, sizeof(sample_openssl_sni_tls13) - 9);
    CU_ASSERT_EQUAL(h.legacy_version, 0x0303);
    CU_ASSERT_EQUAL(h.records, 1);
}

static void test_openssl_no_sni(void)
{
    ph_tls_hello h;

    check_prefixes(sample_openssl_nosni, sizeof(sample_openssl_nosni),
                   PH_TLS_OK, &h);
    expect_sni(&h, NULL);
    CU_ASSERT_FALSE(h.sni_ignored);
}

static void test_openssl_tls12_alpn(void)
{
    ph_tls_hello h;

    check_prefixes(sample_openssl_tls12_alpn,
                   sizeof(sample_openssl_tls12_alpn), PH_TLS_OK, &h);
    expect_sni(&h, "www.Example.org");     /* case kept */
    CU_ASSERT_TRUE(h.has_alpn);
    CU_ASSERT_TRUE(h.alpn_h2);
    CU_ASSERT_TRUE(h.alpn_http11);
    CU_ASSERT_EQUAL(h.alpn_len, 12);
    CU_ASSERT(h.alpn != NULL && memcmp(h.alpn, "\x02h2\x08http/1.1", 12) == 0);
}

static void test_curl(void)
{
    ph_tls_hello h;

    check_prefixes(sample_curl_h2, sizeof(sample_curl_h2), PH_TLS_OK, &h);
    expect_sni(&h, "a.example");
    CU_ASSERT_TRUE(h.alpn_h2);
    CU_ASSERT_TRUE(h.alpn_http11);

    check_prefixes(sample_curl_http11, sizeof(sample_curl_http11), PH_TLS_OK,
                   &h);
    expect_sni(&h, "b.example");
    CU_ASSERT_TRUE(h.has_alpn);
    CU_ASSERT_FALSE(h.alpn_h2);
    CU_ASSERT_TRUE(h.alpn_http11);

    /* curl sends no SNI for an address. */
    check_prefixes(sample_curl_ip_nosni, sizeof(sample_curl_ip_nosni),
                   PH_TLS_OK, &h);
    expect_sni(&h, NULL);
}

/* Whatever follows the hello's records (the client's next flight, early
 * data, junk) is not looked at. */
static void test_bytes_after_hello(void)
{
    static bytes w;
    ph_tls_hello h;

    w.n = 0;
    put(&w, sample_curl_h2, sizeof(sample_curl_h2));
    record_raw(&w, 23, 0x0303, "early", 5);
    put(&w, "\xff\xff\xff", 3);
    CU_ASSERT_EQUAL(parse(w.b, w.n, &h), PH_TLS_OK);
    expect_sni(&h, "a.example");
    CU_ASSERT_EQUAL(h.wire_len, sizeof(sample_curl_h2));
}

/* The TLS 1.3 samples carry key_share (51) and supported_versions (43). */
static void test_tls13_key_share(void)
{
    static bytes e, m, w;
    unsigned char share[1222];
    ph_tls_hello h;
    size_t n;
    const unsigned char *msg = sample_msg(sample_openssl_sni_tls13, &n);

    CU_ASSERT(memmem(msg, n, "\x00\x33", 2) != NULL);
    CU_ASSERT(memmem(msg, n, "\x00\x2b", 2) != NULL);

    /* A post-quantum sized key share (X25519MLKEM768: 1216 bytes + group
     * and length) makes a hello of about 1.5 KB, here in 5 records. */
    memset(share, 0x5a, sizeof(share));
    share[0] = (sizeof(share) - 2) >> 8;
    share[1] = (sizeof(share) - 2) & 0xff;
    share[2] = 0x11;
    share[3] = 0xec;
    share[4] = (sizeof(share) - 6) >> 8;
    share[5] = (sizeof(share) - 6) & 0xff;
    e.n = 0;
    ext_sni(&e, "pq.example", 10);
    ext(&e, 43, "\x04\x03\x04\x03\x03", 5);
    ext(&e, 51, share, sizeof(share));
    hello_msg(&m, &std_head, &e);
    records(&w, m.b, m.n, 300, 0x0301);
    check_prefixes(w.b, w.n, PH_TLS_OK, &h);
    expect_sni(&h, "pq.example");
    CU_ASSERT_EQUAL(h.records, 5);
}

/* ---- the record layer --------------------------------------------------- */

/* The curl hello re-cut into records of every size from 1 to 40 bytes and
 * a few larger: record boundaries inside the handshake header, inside
 * every field and inside the server_name. */
static void test_fragmented(void)
{
    static bytes w;
    static const size_t big[] = { 64, 100, 255, 256, 511 };
    size_t n, f, i;
    const unsigned char *m = sample_msg(sample_curl_h2, &n);
    ph_tls_hello h;

    for (f = 1; f <= 40; f++) {
        records(&w, m, n, f, 0x0301);
        CU_ASSERT_EQUAL(parse(w.b, w.n, &h), PH_TLS_OK);
        expect_sni(&h, "a.example");
        CU_ASSERT_TRUE(h.alpn_h2);
        CU_ASSERT_EQUAL(h.wire_len, w.n);
        CU_ASSERT_EQUAL(h.records, (n + f - 1) / f);
    }
    for (i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
        records(&w, m, n, big[i], 0x0303);
        check_prefixes(w.b, w.n, PH_TLS_OK, &h);
        expect_sni(&h, "a.example");
    }
    /* One byte per record: every prefix of 3 KB of records. */
    records(&w, m, n, 1, 0x0301);
    check_prefixes(w.b, w.n, PH_TLS_OK, &h);
    expect_sni(&h, "a.example");
}

/* OpenSSL skips up to 32 empty records (anywhere), and refuses the 33rd
 * with unexpected_message. */
static void test_empty_records(void)
{
    static bytes w;
    size_t n, i;
    const unsigned char *m = sample_msg(sample_curl_h2, &n);
    ph_tls_hello h;

    w.n = 0;
    for (i = 0; i < 32; i++) {
        record_raw(&w, 22, 0x0301, "", 0);
    }
    record_raw(&w, 22, 0x0301, m, n);
    check_prefixes(w.b, w.n, PH_TLS_OK, &h);
    expect_sni(&h, "a.example");
    CU_ASSERT_EQUAL(h.records, 33);

    w.n = 0;
    record_raw(&w, 22, 0x0301, m, 10);
    for (i = 0; i < 33; i++) {
        record_raw(&w, 22, 0x0301, "", 0);
    }
    record_raw(&w, 22, 0x0301, m + 10, n - 10);
    check_prefixes(w.b, w.n, PH_TLS_MALFORMED, &h);
    CU_ASSERT_EQUAL(h.alert, PH_TLS_ALERT_UNEXPECTED_MESSAGE);
}

/* The record version's minor byte is not judged (OpenSSL handshakes with
 * 3.0 and 3.5 alike); a major other than 3 is refused, without an alert
 * on the first record. */
static void test_record_versions(void)
{
    static bytes w;
    static const unsigned versions[] = { 0x0300, 0x0301, 0x0302, 0x0303,
                                         0x0304, 0x0305, 0x03ff };
    size_t n, i;
    const unsigned char *m = sample_msg(sample_curl_h2, &n);
    ph_tls_hello h;

    for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
        records(&w, m, n, 16384, versions[i]);
        CU_ASSERT_EQUAL(parse(w.b, w.n, &h), PH_TLS_OK);
        expect_sni(&h, "a.example");
    }
    records(&w, m, n, 16384, 0x0201);
    CU_ASSERT_EQUAL(parse(w.b, 2, &h), PH_TLS_MALFORMED);
    check_prefixes(w.b, w.n, PH_TLS_MALFORMED, &h);
    CU_ASSERT_EQUAL(h.alert, PH_TLS_ALERT_NONE);

    w.n = 0;
    record_raw(&w, 22, 0x0301, m, 100);
    record_raw(&w, 22, 0x0401, m + 100, n - 100);
    check_prefixes(w.b, w.n, PH_TLS_MALFORMED, &h);
    CU_ASSERT_EQUAL(h.alert, PH_TLS_ALERT_PROTOCOL_VERSION);
}

/* 2^14 is the most a plaintext record holds: one byte more is a
 * record_overflow, judged from the header. */
static void test_record_length(void)
{
    static bytes e, m, w;
    static unsigned char pad[16384];
    ph_tls_hello h;
    size_t padlen;

    /* A hello that fills a record of exactly 2^14 bytes. */
    e.n = 0;
    ext_sni(&e, "big.example", 11);
    hello_msg(&m, &std_head, &e);
    padlen = 16384 - m.n - 4;
    ext(&e, 21, pad, padlen);
    hello_msg(&m, &std_head, &e);
    CU_ASSERT_EQUAL_FATAL(m.n, 16384);
    records(&w, m.b, m.n, 16384, 0x0301);
    CU_ASSERT_EQUAL(parse(w.b, w.n, &h), PH_TLS_OK);
    expect_sni(&h, "big.example");

    /* One more byte: the header alone decides. */
    e.n = 0;
    ext_sni(&e, "big.example", 11);
    ext(&e, 21, pad, padlen + 1);
    hello_msg(&m, &std_head, &e);
    records(&w, m.b, m.n, 16385, 0x0301);
    CU_ASSERT_EQUAL(parse(w.b, 5, &h), PH_TLS_MALFORMED);
    CU_ASSERT_EQUAL(h.alert, PH_TLS_ALERT_RECORD_OVERFLOW);
    CU_ASSERT_EQUAL(parse(w.b, w.n, &h), PH_TLS_MALFORMED);
    CU_ASSERT_EQUAL(h.alert, PH_TLS_ALERT_RECORD_OVERFLOW);
    /* The same hello in two records is fine. */
    records(&w, m.b, m.n, 10000, 0x0301);
    CU_ASSERT_EQUAL(parse(w.b, w.n, &h), PH_TLS_OK);
    expect_sni(&h, "big.example");
}

/* Another record type between the hello's records (an alert, a
 * ChangeCipherSpec), a first message other than ClientHello, and more
 * handshake bytes after the ClientHello in its own record: all
 * unexpected_message in OpenSSL. */
static void test_unexpected(void)
{
    static bytes w;
    size_t n;
    const unsigned char *m = sample_msg(sample_curl_h2, &n);
    unsigned char copy[1024];
    ph_tls_hello h;

    w.n = 0;
    record_raw(&w, 22, 0x0301, m, 10);
    record_raw(&w, 21, 0x0301, "\x01\x00", 2);
    record_raw(&w, 22, 0x0301, m + 10, n - 10);
    check_prefixes(w.b, w.n, PH_TLS_MALFORMED, &h);
    CU_ASSERT_EQUAL(h.alert, PH_TLS_ALERT_UNEXPECTED_MESSAGE);

    w.n = 0;
    record_raw(&w, 22, 0x0301, m, 10);
    record_raw(&w, 20, 0x0301, "\x01", 1);
    CU_ASSERT_EQUAL(parse(w.b, w.n, &h), PH_TLS_MALFORMED);

    CU_ASSERT_FATAL(n + 1 <= sizeof(copy));
    memcpy(copy, m, n);
    copy[0] = 2;                            /* ServerHello */
    w.n = 0;
    record_raw(&w, 22, 0x0301, copy, n);
    CU_ASSERT_EQUAL(parse(w.b, 6, &h), PH_TLS_MALFORMED);
    check_prefixes(w.b, w.n, PH_TLS_MALFORMED, &h);
    CU_ASSERT_EQUAL(h.alert, PH_TLS_ALERT_UNEXPECTED_MESSAGE);

    memcpy(copy, m, n);
    copy[n] = 0;                            /* a byte after the hello */
    w.n = 0;
    record_raw(&w, 22, 0x0301, copy, n + 1);
    check_prefixes(w.b, w.n, PH_TLS_MALFORMED, &h);
    CU_ASSERT_EQUAL(h.alert, PH_TLS_ALERT_UNEXPECTED_MESSAGE);
}

/* The first byte decides whether it is TLS at all. */
static void test_not_tls(void)
{
    static const unsigned char get[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    static const unsigned char tls_alert[] = { 0x15, 0x03, 0x01, 0, 2, 2, 40 };
    ph_tls_hello h;

    CU_ASSERT_EQUAL(parse(get, 0, &h), PH_TLS_NEED_MORE);
    CU_ASSERT_EQUAL(parse(get, 1, &h), PH_TLS_NOT_TLS);
    CU_ASSERT_EQUAL(parse(get, sizeof(get) - 1, &h), PH_TLS_NOT_TLS);
    CU_ASSERT_EQUAL(parse(tls_alert, sizeof(tls_alert), &h), PH_TLS_NOT_TLS);
    CU_ASSERT_EQUAL(parse((const unsigned char *)"\x00", 1, &h),
                    PH_TLS_NOT_TLS);
    CU_ASSERT_EQUAL(parse(NULL, 0, &h), PH_TLS_NEED_MORE);
}

/* An SSLv2-compatible ClientHello (msg type 1 after a 2-byte length with
 * bit 15 set): no extensions, so no SNI; routed by address. */
static void test_sslv2_hello(void)
{
    static const unsigned char v2[] = {
        0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10,
        0x00, 0x00, 0x2f, 0x00, 0x00, 0x35, 0x00, 0x00, 0x0a, 0x00, 0x00,
        0x05, 0x00, 0x00, 0xff, 0x01, 0x00, 0x80,
        0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b,
        0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71 };
    static const unsigned char not_hello[] = { 0x80, 0x2e, 0x02, 0x03 };
    ph_tls_hello h;

    CU_ASSERT_EQUAL(parse(v2, 1, &h), PH_TLS_NEED_MORE);
    CU_ASSERT_EQUAL(parse(v2, 2, &h), PH_TLS_NEED_MORE);
    check_prefixes(v2, sizeof(v2), PH_TLS_SSLV2, &h);
    CU_ASSERT_FALSE(h.has_sni);
    CU_ASSERT_EQUAL(parse(not_hello, sizeof(not_hello), &h), PH_TLS_NOT_TLS);
}

/* ---- the ClientHello's fields ------------------------------------------- */

static void test_no_extensions(void)
{
    static bytes m, w;
    ph_tls_hello h;

    hello_msg(&m, &std_head, NULL);
    records(&w, m.b, m.n, 16384, 0x0300);
    check_prefixes(w.b, w.n, PH_TLS_OK, &h);
    expect_sni(&h, NULL);
    CU_ASSERT_FALSE(h.has_alpn);

    /* An empty extensions block is fine too. */
    m.n = 0;
    CU_ASSERT_EQUAL(parse_exts(&m, &h), PH_TLS_OK);
}

/* Session id, cipher suites, compression methods: OpenSSL's verdicts. */
static void test_head_vectors(void)
{
    static bytes e, m, w;
    static const unsigned char odd[] = { 0x13, 0x01, 0x13 };
    static const unsigned char comp_deflate[] = { 1 };
    static const unsigned char comp_both[] = { 1, 0 };
    hello_head hh;
    ph_tls_hello h;

    e.n = 0;
    ext_sni(&e, "a.example", 9);

    hh = std_head;
    hh.sid_len = 0;
    hello_msg(&m, &hh, &e);
    records(&w, m.b, m.n, 16384, 0x0301);
    CU_ASSERT_EQUAL(parse(w.b, w.n, &h), PH_TLS_OK);

    hh.sid_len = 33;
    hello_msg(&m, &hh, &e);
    records(&w, m.b, m.n, 16384, 0x0301);
    check_prefixes(w.b, w.n, PH_TLS_MALFORMED, &h);
    CU_ASSERT_EQUAL(h.alert, PH_TLS_ALERT_DECODE_ERROR);

    hh = std_head;
    hh.suites = odd;
    hh.suites_len = sizeof(odd);
    hello_msg(&m, &hh, &e);
    records(&w, m.b, m.n, 16384, 0x0301);
    CU_ASSERT_EQUAL(parse(w.b, w.n, &h), PH_TLS_MALFORMED);
    CU_ASSERT_EQUAL(h.alert, PH_TLS_ALERT_DECODE_ERROR);

    hh.suites_len = 0;
    hello_msg(&m, &hh, &e);
    records(&w, m.b, m.n, 16384, 0x0301);
    CU_ASSERT_EQUAL(parse(w.b, w.n, &h), PH_TLS_MALFORMED);
    CU_ASSERT_EQUAL(h.alert, PH_TLS_ALERT_ILLEGAL_PARAMETER);

    hh = std_head;
    hh.comp_len = 0;
    hello_msg(&m, &hh, &e);
    records(&w, m.b, m.n, 16384, 0x0301);
    CU_ASSERT_EQUAL(parse(w.b, w.n, &h), PH_TLS_MALFORMED);
    CU_ASSERT_EQUAL(h.alert, PH_TLS_ALERT_DECODE_ERROR);

    hh.comp = comp_deflate;
    hh.comp_len = 1;
    hello_msg(&m, &hh, &e);
    records(&w, m.b, m.n, 16384, 0x0301);
    CU_ASSERT_EQUAL(parse(w.b, w.n, &h), PH_TLS_MALFORMED);
    CU_ASSERT_EQUAL(h.alert, PH_TLS_ALERT_DECODE_ERROR);

    hh.comp = comp_both;
    hh.comp_len = 2;
    hello_msg(&m, &hh, &e);
    records(&w, m.b, m.n, 16384, 0x0301);
    CU_ASSERT_EQUAL(parse(w.b, w.n, &h), PH_TLS_OK);
    expect_sni(&h, "a.example");
}

/* A length field that claims more than its container holds, at each
 * level: the handshake message, the extensions block, one extension. */
static void test_oversized_lengths(void)
{
    static bytes m, w;
    unsigned char copy[1024];
    size_t n, ext_block;
    const unsigned char *msg = sample_msg(sample_curl_h2, &n);
    ph_tls_hello h;

    CU_ASSERT_FATAL(n <= sizeof(copy));

    /* The message claims one byte less than its body: the body is cut
     * inside the last extension, and the record has a byte left over. */
    memcpy(copy, msg, n);
    copy[3]--;
    records(&w, copy, n - 1, 16384, 0x0301);
    check_prefixes(w.b, w.n, PH_TLS_MALFORMED, &h);
    CU_ASSERT_EQUAL(h.alert, PH_TLS_ALERT_DECODE_ERROR);

    /* The extensions block claims one byte more than there is. */
    ext_block = 4 + 2 + 32 + 1 + msg[4 + 34];
    ext_block += 2 + (((size_t)msg[ext_block] << 8) | msg[ext_block + 1]);
    ext_block += 1 + msg[ext_block];
    memcpy(copy, msg, n);
    copy[ext_block + 1]++;
    records(&w, copy, n, 16384, 0x0301);
    check_prefixes(w.b, w.n, PH_TLS_MALFORMED, &h);
    CU_ASSERT_EQUAL(h.alert, PH_TLS_ALERT_DECODE_ERROR);

    /* The first extension claims 0xffff bytes. */
    memcpy(copy, msg, n);
    copy[ext_block + 4] = 0xff;
    copy[ext_block + 5] = 0xff;
    records(&w, copy, n, 16384, 0x0301);
    CU_ASSERT_EQUAL(parse(w.b, w.n, &h), PH_TLS_MALFORMED);
    CU_ASSERT_EQUAL(h.alert, PH_TLS_ALERT_DECODE_ERROR);

    /* A message length of 2^24 - 1: too big for any scratch, known from
     * the 4-byte handshake header. */
    m.n = 0;
    put8(&m, 1);
    put24(&m, 0xffffff);
    put(&m, msg + 4, n - 4);
    records(&w, m.b, m.n, 16384, 0x0301);
    CU_ASSERT_EQUAL(parse(w.b, 8, &h), PH_TLS_NEED_MORE);
    CU_ASSERT_EQUAL(parse(w.b, 9, &h), PH_TLS_TOO_BIG);
    CU_ASSERT_EQUAL(parse(w.b, w.n, &h), PH_TLS_TOO_BIG);

    /* An empty ClientHello. */
    w.n = 0;
    record_raw(&w, 22, 0x0301, "\x01\x00\x00\x00", 4);
    CU_ASSERT_EQUAL(parse(w.b, w.n, &h), PH_TLS_MALFORMED);
}

/* Extensions cut short inside the SNI, the ALPN list, an extension
 * header. */
static void test_truncated_extensions(void)
{
    static bytes e;
    ph_tls_hello h;

    /* The well-formed extension, then a server_name list shorter than
     * the extension. */
    e.n = 0;
    ext(&e, 0, "\x00\x05\x00\x00\x02hi", 7);
    CU_ASSERT_EQUAL(parse_exts(&e, &h), PH_TLS_OK);
    expect_sni(&h, "hi");
    e.n = 0;
    ext(&e, 0, "\x00\x04\x00\x00\x02hi", 7);
    CU_ASSERT_EQUAL(parse_exts(&e, &h), PH_TLS_MALFORMED);
    CU_ASSERT_EQUAL(h.alert, PH_TLS_ALERT_DECODE_ERROR);
    /* host name longer than the list. */
    e.n = 0;
    ext(&e, 0, "\x00\x05\x00\x00\x09hi", 7);
    CU_ASSERT_EQUAL(parse_exts(&e, &h), PH_TLS_MALFORMED);
    /* empty list, and no list at all. */
    e.n = 0;
    ext(&e, 0, "\x00\x00", 2);
    CU_ASSERT_EQUAL(parse_exts(&e, &h), PH_TLS_MALFORMED);
    e.n = 0;
    ext(&e, 0, "", 0);
    CU_ASSERT_EQUAL(parse_exts(&e, &h), PH_TLS_MALFORMED);
    CU_ASSERT_EQUAL(h.alert, PH_TLS_ALERT_DECODE_ERROR);
    /* ALPN name longer than its list. */
    e.n = 0;
    ext(&e, 16, "\x00\x03\x05h2", 5);
    CU_ASSERT_EQUAL(parse_exts(&e, &h), PH_TLS_MALFORMED);
    CU_ASSERT_EQUAL(h.alert, PH_TLS_ALERT_DECODE_ERROR);
    /* Half an extension header at the end of the block. */
    e.n = 0;
    ext_sni(&e, "a.example", 9);
    put8(&e, 0x00);
    put8(&e, 0x10);
    put8(&e, 0x00);
    CU_ASSERT_EQUAL(parse_exts(&e, &h), PH_TLS_MALFORMED);
    CU_ASSERT_EQUAL(h.alert, PH_TLS_ALERT_DECODE_ERROR);
}

/* ---- server_name -------------------------------------------------------- */

static void test_sni_duplicate(void)
{
    static bytes e;
    ph_tls_hello h;

    e.n = 0;
    ext_sni(&e, "a.example", 9);
    ext_sni(&e, "b.example", 9);
    CU_ASSERT_EQUAL(parse_exts(&e, &h), PH_TLS_MALFORMED);
    CU_ASSERT_EQUAL(h.alert, PH_TLS_ALERT_ILLEGAL_PARAMETER);
    CU_ASSERT_FALSE(h.has_sni);

    /* Even a duplicate after a malformed-looking but valid one. */
    e.n = 0;
    ext_sni(&e, "a.example", 9);
    ext(&e, 0x1234, "", 0);
    ext_sni(&e, "a.example", 9);
    CU_ASSERT_EQUAL(parse_exts(&e, &h), PH_TLS_MALFORMED);

    /* A duplicate of a type this parser does not read is OpenSSL's to
     * judge (it ignores unknown ones, refuses known ones itself). */
    e.n = 0;
    ext_sni(&e, "a.example", 9);
    ext(&e, 0x1a1a, "", 0);
    ext(&e, 0x1a1a, "", 0);
    CU_ASSERT_EQUAL(parse_exts(&e, &h), PH_TLS_OK);
    expect_sni(&h, "a.example");
}

/* The list must be exactly one host_name entry. */
static void test_sni_entries(void)
{
    static bytes e;
    ph_tls_hello h;

    e.n = 0;    /* two host_name entries */
    ext(&e, 0, "\x00\x0a\x00\x00\x02hi\x00\x00\x02ho", 12);
    CU_ASSERT_EQUAL(parse_exts(&e, &h), PH_TLS_MALFORMED);
    CU_ASSERT_EQUAL(h.alert, PH_TLS_ALERT_DECODE_ERROR);

    e.n = 0;    /* one entry of another type */
    ext(&e, 0, "\x00\x05\x01\x00\x02hi", 7);
    CU_ASSERT_EQUAL(parse_exts(&e, &h), PH_TLS_MALFORMED);
    CU_ASSERT_EQUAL(h.alert, PH_TLS_ALERT_DECODE_ERROR);
}

/* 255 bytes is the longest name; 256, or a NUL byte, is unrecognized_name
 * in OpenSSL. */
static void test_sni_length(void)
{
    char name[300];
    ph_tls_hello h;
    size_t i;

    for (i = 0; i < sizeof(name); i++) {
        name[i] = (i % 10 == 9) ? '.' : 'a';
    }
    CU_ASSERT_EQUAL(parse_sni_name(name, 255, &h), PH_TLS_OK);
    CU_ASSERT_TRUE(h.has_sni);
    CU_ASSERT_EQUAL(h.sni_len, 255);
    CU_ASSERT_EQUAL(strlen(h.sni), 255);
    CU_ASSERT(memcmp(h.sni, name, 255) == 0);

    CU_ASSERT_EQUAL(parse_sni_name(name, 256, &h), PH_TLS_MALFORMED);
    CU_ASSERT_EQUAL(h.alert, PH_TLS_ALERT_UNRECOGNIZED_NAME);
    CU_ASSERT_FALSE(h.has_sni);
    CU_ASSERT_EQUAL(parse_sni_name(name, 299, &h), PH_TLS_MALFORMED);

    CU_ASSERT_EQUAL(parse_sni_name("a.ex\0ample", 10, &h), PH_TLS_MALFORMED);
    CU_ASSERT_EQUAL(h.alert, PH_TLS_ALERT_UNRECOGNIZED_NAME);
    CU_ASSERT_EQUAL(parse_sni_name("a.example\0", 10, &h), PH_TLS_MALFORMED);
}

/* Names OpenSSL accepts but that are no host name: no SNI (the address's
 * default vhost, as in mod_ssl, where they match no ServerName). */
static void test_sni_bad_characters(void)
{
    static const char *const bad[] = {
        "", "a b.example", "a..example", ".a.example", "a/b", "a\\b",
        "a:443", "[::1]", "a.example\r\nHost: b", "caf\xc3\xa9.example",
        "a*b", "%61.example", "..", ".", "a\x7f", "a\tb",
    };
    static const char *const good[] = {
        "a", "A.Example.ORG", "xn--caf-dma.example", "a-b_c.example",
        "a.example.", "127.0.0.1", "9", "-a-",
    };
    ph_tls_hello h;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CU_ASSERT_EQUAL(parse_sni_name(bad[i], strlen(bad[i]), &h),
                        PH_TLS_OK);
        CU_ASSERT_FALSE(h.has_sni);
        CU_ASSERT_TRUE(h.sni_ignored);
        CU_ASSERT_EQUAL(h.sni[0], '\0');
    }
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        CU_ASSERT_EQUAL(parse_sni_name(good[i], strlen(good[i]), &h),
                        PH_TLS_OK);
        expect_sni(&h, good[i]);
        CU_ASSERT_FALSE(h.sni_ignored);
    }
}

/* ---- ALPN --------------------------------------------------------------- */

static void test_alpn(void)
{
    static const char *const h2_only[] = { "h2", NULL };
    static const char *const both[] = { "http/1.1", "h2", NULL };
    static const char *const other[] = { "h2c", "http/1.0", "h", "h3",
                                         "http/1.11", NULL };
    static bytes e;
    ph_tls_hello h;

    e.n = 0;
    ext_alpn(&e, h2_only);
    CU_ASSERT_EQUAL(parse_exts(&e, &h), PH_TLS_OK);
    CU_ASSERT_TRUE(h.has_alpn);
    CU_ASSERT_TRUE(h.alpn_h2);
    CU_ASSERT_FALSE(h.alpn_http11);
    CU_ASSERT_EQUAL(h.alpn_len, 3);
    expect_sni(&h, NULL);

    e.n = 0;
    ext_alpn(&e, both);
    CU_ASSERT_EQUAL(parse_exts(&e, &h), PH_TLS_OK);
    CU_ASSERT_TRUE(h.alpn_h2);
    CU_ASSERT_TRUE(h.alpn_http11);

    e.n = 0;
    ext_alpn(&e, other);
    CU_ASSERT_EQUAL(parse_exts(&e, &h), PH_TLS_OK);
    CU_ASSERT_TRUE(h.has_alpn);
    CU_ASSERT_FALSE(h.alpn_h2);
    CU_ASSERT_FALSE(h.alpn_http11);

    /* An empty name, an empty list, a list of one length byte: all
     * decode_error in OpenSSL.  A refused hello reports no SNI, even one
     * read before the defect. */
    e.n = 0;
    ext_sni(&e, "a.example", 9);
    ext(&e, 16, "\x00\x04\x02h2\x00", 6);
    CU_ASSERT_EQUAL(parse_exts(&e, &h), PH_TLS_MALFORMED);
    CU_ASSERT_EQUAL(h.alert, PH_TLS_ALERT_DECODE_ERROR);
    expect_sni(&h, NULL);
    CU_ASSERT_FALSE(h.has_alpn);
    CU_ASSERT_PTR_NULL(h.alpn);
    e.n = 0;
    ext(&e, 16, "\x00\x00", 2);
    CU_ASSERT_EQUAL(parse_exts(&e, &h), PH_TLS_MALFORMED);
    e.n = 0;
    ext(&e, 16, "\x00\x01\x00", 3);
    CU_ASSERT_EQUAL(parse_exts(&e, &h), PH_TLS_MALFORMED);

    /* A second ALPN extension: illegal_parameter. */
    e.n = 0;
    ext_alpn(&e, h2_only);
    ext_alpn(&e, both);
    CU_ASSERT_EQUAL(parse_exts(&e, &h), PH_TLS_MALFORMED);
    CU_ASSERT_EQUAL(h.alert, PH_TLS_ALERT_ILLEGAL_PARAMETER);
}

/* GREASE (RFC 8701): reserved values in cipher suites, extension types,
 * supported groups, versions and ALPN names are passed over. */
static void test_grease(void)
{
    static const unsigned char suites[] = { 0x3a, 0x3a, 0x13, 0x01, 0xc0,
                                            0x2f };
    static const unsigned char groups[] = { 0x00, 0x06, 0x8a, 0x8a, 0x00,
                                            0x1d, 0x00, 0x17 };
    static const unsigned char versions[] = { 0x06, 0xda, 0xda, 0x03, 0x04,
                                              0x03, 0x03 };
    static const char *const alpn[] = { "\x0a\x0a", "h2", "http/1.1", NULL };
    static bytes e, m, w;
    hello_head hh = std_head;
    ph_tls_hello h;

    hh.suites = suites;
    hh.suites_len = sizeof(suites);
    e.n = 0;
    ext(&e, 0x0a0a, "", 0);
    ext_sni(&e, "g.example", 9);
    ext(&e, 10, groups, sizeof(groups));
    ext(&e, 43, versions, sizeof(versions));
    ext_alpn(&e, alpn);
    ext(&e, 0xfafa, "\x00", 1);
    hello_msg(&m, &hh, &e);
    records(&w, m.b, m.n, 16384, 0x0301);
    check_prefixes(w.b, w.n, PH_TLS_OK, &h);
    expect_sni(&h, "g.example");
    CU_ASSERT_TRUE(h.alpn_h2);
    CU_ASSERT_TRUE(h.alpn_http11);
}

/* ---- bounds ------------------------------------------------------------- */

/* max_wire: a hello not complete within it is TOO_BIG once that many
 * bytes are there, NEED_MORE before; one that completes within it is OK
 * whatever follows.  scratch_size: a body longer is TOO_BIG as soon as
 * the handshake header is seen. */
static void test_bounds(void)
{
    static bytes w;
    size_t n;
    const unsigned char *m = sample_msg(sample_curl_h2, &n);
    const size_t len = sizeof(sample_curl_h2);
    ph_tls_hello h;

    CU_ASSERT_EQUAL(parse_space(sample_curl_h2, len, len, n - 4, &h),
                    PH_TLS_OK);
    CU_ASSERT_EQUAL(parse_space(sample_curl_h2, len - 1, len, n - 4, &h),
                    PH_TLS_NEED_MORE);
    CU_ASSERT_EQUAL(parse_space(sample_curl_h2, len - 1, len - 1, n - 4, &h),
                    PH_TLS_TOO_BIG);
    CU_ASSERT_EQUAL(parse_space(sample_curl_h2, len, len - 1, n - 4, &h),
                    PH_TLS_TOO_BIG);
    CU_ASSERT_EQUAL(parse_space(sample_curl_h2, len - 2, len - 1, n - 4, &h),
                    PH_TLS_NEED_MORE);
    CU_ASSERT_EQUAL(parse_space(sample_curl_h2, 9, len, n - 5, &h),
                    PH_TLS_TOO_BIG);
    CU_ASSERT_EQUAL(parse_space(sample_curl_h2, 8, len, n - 5, &h),
                    PH_TLS_NEED_MORE);
    CU_ASSERT_EQUAL(parse_space(sample_curl_h2, len, len, 0, &h),
                    PH_TLS_TOO_BIG);
    CU_ASSERT_EQUAL(parse_space(sample_curl_h2, 0, 0, 0, &h),
                    PH_TLS_TOO_BIG);

    /* One byte per record: 6 times the bytes on the wire. */
    records(&w, m, n, 1, 0x0301);
    CU_ASSERT_EQUAL(parse_space(w.b, w.n, w.n, SCRATCH, &h), PH_TLS_OK);
    CU_ASSERT_EQUAL(parse_space(w.b, w.n, 2048, SCRATCH, &h),
                    PH_TLS_TOO_BIG);
}

/* ---- random inputs ------------------------------------------------------ */

/*
 * Mutations of the real hellos (a byte changed, a length field bumped, a
 * cut): each parse must give a verdict without overrunning anything, and
 * the prefix property must hold at a few cut points.
 */
static void test_random_mutations(void)
{
    static const struct {
        const unsigned char *b;
        size_t n;
    } samples[] = {
        { sample_openssl_sni_tls13, sizeof(sample_openssl_sni_tls13) },
        { sample_openssl_tls12_alpn, sizeof(sample_openssl_tls12_alpn) },
        { sample_curl_h2, sizeof(sample_curl_h2) },
    };
    unsigned char buf[1024];
    unsigned seed = 12345, iter, counts[PH_TLS_TOO_BIG + 1] = { 0 };

    for (iter = 0; iter < 20000; iter++) {
        size_t s = iter % 3, n = samples[s].n, k, flips, cut;
        ph_tls_hello h, p;
        ph_tls_verdict v;

        memcpy(buf, samples[s].b, n);
        seed = seed * 1103515245u + 12345u;
        flips = 1 + (seed >> 16) % 3;
        for (k = 0; k < flips; k++) {
            seed = seed * 1103515245u + 12345u;
            buf[(seed >> 8) % n] = (unsigned char)(seed >> 20);
        }
        v = parse(buf, n, &h);
        CU_ASSERT_FATAL(v <= PH_TLS_TOO_BIG);
        counts[v]++;
        if (v == PH_TLS_OK && h.has_sni) {
            CU_ASSERT(strlen(h.sni) == h.sni_len);
        }
        seed = seed * 1103515245u + 12345u;
        cut = (seed >> 8) % (n + 1);
        if (parse(buf, cut, &p) != PH_TLS_NEED_MORE) {
            CU_ASSERT_EQUAL(p.verdict, v);
        }
    }
    /* The mutations reach every verdict but SSLv2/NOT_TLS often enough. */
    CU_ASSERT(counts[PH_TLS_OK] > 0);
    CU_ASSERT(counts[PH_TLS_MALFORMED] > 0);
    CU_ASSERT(counts[PH_TLS_NEED_MORE] > 0);
}

/* ---- registration ------------------------------------------------------ */

static const ph_unit_test tests[] = {
    { "openssl s_client, SNI, TLS 1.3", test_openssl_sni_tls13 },
    { "openssl s_client, no SNI", test_openssl_no_sni },
    { "openssl s_client, TLS 1.2, ALPN", test_openssl_tls12_alpn },
    { "curl: h2, http/1.1, address", test_curl },
    { "bytes after the hello", test_bytes_after_hello },
    { "TLS 1.3 key_share", test_tls13_key_share },
    { "fragmented across records", test_fragmented },
    { "empty records", test_empty_records },
    { "record versions", test_record_versions },
    { "record length 2^14", test_record_length },
    { "unexpected records and messages", test_unexpected },
    { "not TLS", test_not_tls },
    { "SSLv2 hello", test_sslv2_hello },
    { "no extensions", test_no_extensions },
    { "session id, suites, compression", test_head_vectors },
    { "oversized lengths", test_oversized_lengths },
    { "truncated extensions", test_truncated_extensions },
    { "duplicate server_name", test_sni_duplicate },
    { "server_name entries", test_sni_entries },
    { "server_name length and NUL", test_sni_length },
    { "server_name bad characters", test_sni_bad_characters },
    { "ALPN", test_alpn },
    { "GREASE", test_grease },
    { "max_wire and scratch bounds", test_bounds },
    { "20000 mutated hellos", test_random_mutations },
};

int ph_unit_register_tls_hello(void)
{
    return ph_unit_add_suite("tls_hello", suite_cleanup, tests,
                             sizeof(tests) / sizeof(tests[0]));
}
