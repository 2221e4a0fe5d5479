/*
 * fuzz_tls_hello.c -- libFuzzer target for
 * server/mpm/peruser_hybrid/tls_hello.c (make fuzz-short, fuzz-long).
 *
 * The input is the byte stream a client sends.  Besides "no crash, no
 * out-of-bounds access, no undefined behaviour" (ASan, UBSan), it checks
 * the contract of tls_hello.h and aborts when it is broken:
 *  - the verdict is one of the enum's; OK fields are consistent: the SNI
 *    is a NUL-terminated host name of sni_len bytes, the ALPN list lies
 *    inside the scratch, wire_len inside the input;
 *  - a refused hello reports no SNI;
 *  - a verdict other than NEED_MORE for a prefix is the verdict for the
 *    whole input (same alert), and bytes added after an OK hello change
 *    nothing;
 *  - tight bounds (max_wire, scratch_size) only ever turn a verdict into
 *    TOO_BIG or leave it alone;
 *  - an OK hello, cut again into records of another size (taken from the
 *    input), is the same hello: reassembly does not depend on where the
 *    record boundaries fall.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tls_hello.h"

#define SCRATCH 16384
#define MAX_WIRE 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned char scratch[SCRATCH];
static unsigned char scratch2[SCRATCH];

static ph_tls_verdict run(const uint8_t *d, size_t n, size_t max_wire,
                          unsigned char *s, size_t s_size, ph_tls_hello *h)
{
    ph_tls_space sp = { max_wire, s, s_size };

    return ph_tls_hello_parse(d, n, &sp, h);
}

static int host_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

static void check_fields(const ph_tls_hello *h, const unsigned char *s,
                         size_t n)
{
    size_t i;

    if (h->verdict > PH_TLS_TOO_BIG) {
        abort();
    }
    if (h->verdict != PH_TLS_OK) {
        if (h->has_sni || h->has_alpn || h->sni_len != 0) {
            abort();
        }
        return;
    }
    if (h->wire_len == 0 || h->wire_len > n) {
        abort();
    }
    if (h->has_sni) {
        if (h->sni_len == 0 || h->sni_len > PH_TLS_SNI_MAX
            || strlen(h->sni) != h->sni_len || h->sni_ignored) {
            abort();
        }
        for (i = 0; i < h->sni_len; i++) {
            if (!host_char((unsigned char)h->sni[i])) {
                abort();
            }
        }
    }
    else if (h->sni_len != 0 || h->sni[0] != '\0') {
        abort();
    }
    if (h->has_alpn
        && (h->alpn < s || h->alpn_len < 2
            || h->alpn + h->alpn_len > s + SCRATCH)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ph_tls_hello full, part, tight;
    ph_tls_verdict v = run(data, size, MAX_WIRE, scratch, SCRATCH, &full);
    size_t cuts[3], i;

    check_fields(&full, scratch, size);

    /* Again with a scratch of exactly the body's size on the heap, so that
     * ASan sees a read one byte past the body (in the 16 KiB static
     * scratch it would go unnoticed). */
    if (full.hello_len > 0) {
        unsigned char *exact = malloc(full.hello_len);

        if (exact == NULL) {
            return 0;
        }
        if (run(data, size, MAX_WIRE, exact, full.hello_len, &part) != v
            || part.alert != full.alert
            || strcmp(part.sni, full.sni) != 0) {
            abort();
        }
        free(exact);
    }

    /* Prefixes: undecided, or decided the same way. */
    cuts[0] = size / 2;
    cuts[1] = size ? size - 1 : 0;
    cuts[2] = size > 7 ? 7 : size;
    for (i = 0; i < 3; i++) {
        ph_tls_verdict pv = run(data, cuts[i], MAX_WIRE, scratch2, SCRATCH,
                                &part);

        check_fields(&part, scratch2, cuts[i]);
        if (pv != PH_TLS_NEED_MORE
            && (pv != v || part.alert != full.alert
                || part.has_sni != full.has_sni
                || strcmp(part.sni, full.sni) != 0)) {
            abort();
        }
    }

    /* Tight bounds give the same verdict, or TOO_BIG. */
    {
        size_t mw = size / 2 + 1, ss = size / 3;
        ph_tls_verdict tv = run(data, size, mw, scratch2, ss, &tight);

        check_fields(&tight, scratch2, size);
        if (tv != v && tv != PH_TLS_TOO_BIG) {
            abort();
        }
    }

    /* An OK hello re-cut into records of 1..64 bytes: the same hello. */
    if (v == PH_TLS_OK && full.hello_len <= SCRATCH) {
        size_t msg_len = 4 + full.hello_len, frag = 1 + data[size - 1] % 64;
        size_t nrec = (msg_len + frag - 1) / frag, off, w = 0;
        uint8_t *wire = malloc(msg_len + 5 * nrec), *msg = malloc(msg_len);

        if (wire == NULL || msg == NULL) {
            free(wire);
            free(msg);
            return 0;
        }
        msg[0] = 1;
        msg[1] = (uint8_t)(full.hello_len >> 16);
        msg[2] = (uint8_t)(full.hello_len >> 8);
        msg[3] = (uint8_t)full.hello_len;
        memcpy(msg + 4, scratch, full.hello_len);
        for (off = 0; off < msg_len; off += frag) {
            size_t k = msg_len - off < frag ? msg_len - off : frag;

            wire[w++] = 22;
            wire[w++] = 3;
            wire[w++] = 3;
            wire[w++] = (uint8_t)(k >> 8);
            wire[w++] = (uint8_t)k;
            memcpy(wire + w, msg + off, k);
            w += k;
        }
        if (run(wire, w, 1 << 20, scratch2, SCRATCH, &part) != PH_TLS_OK
            || part.hello_len != full.hello_len || part.wire_len != w
            || part.has_sni != full.has_sni
            || strcmp(part.sni, full.sni) != 0
            || part.sni_ignored != full.sni_ignored
            || part.has_alpn != full.has_alpn
            || part.alpn_h2 != full.alpn_h2
            || part.alpn_http11 != full.alpn_http11
            || part.alpn_len != full.alpn_len) {
            abort();
        }
        free(wire);
        free(msg);
    }

    /* An OK hello followed by junk: the same result. */
    if (v == PH_TLS_OK && size < MAX_WIRE) {
        uint8_t *more = malloc(size + 16);

        if (more == NULL) {
            return 0;
        }
        memcpy(more, data, size);
        memset(more + size, 0xee, 16);
        if (run(more, size + 16, MAX_WIRE, scratch2, SCRATCH, &part) != v
            || part.wire_len != full.wire_len
            || strcmp(part.sni, full.sni) != 0
            || part.alpn_h2 != full.alpn_h2) {
            abort();
        }
        free(more);
    }
    return 0;
}
