/*
 * fuzz_head_parse.c -- libFuzzer target for
 * server/mpm/peruser_hybrid/head_parse.c (make fuzz-short, fuzz-long).
 *
 * The first input byte picks the limits (byte % 4: httpd's defaults or
 * small ones, strict or lenient); the rest is what a client sent, parsed
 * as ph_head_parse() and ph_head_proxy_preamble() see it.  Besides ASan
 * and UBSan, the contract of head_parse.h is checked (abort when broken):
 *  - the verdict is one of the enum's; every pointer it returns lies
 *    inside the buffer; head_len and the preamble length lie inside it;
 *  - an error verdict for a prefix is the verdict for the whole input;
 *  - the Host value has no leading or trailing OWS.
 * Seeds in tests/fuzz/corpus/head_parse/ start with that byte ('0'..'3').
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "head_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const ph_head_limits modes[4] = {
    { 8190, 8190, 100, 0 },
    { 8190, 8190, 100, 1 },
    { 64, 32, 4, 0 },
    { 64, 32, 4, 1 },
};

static int is_error(ph_head_verdict v)
{
    return v == PH_HEAD_BAD_REQUEST || v == PH_HEAD_URI_TOO_LONG
           || v == PH_HEAD_FIELD_TOO_LONG || v == PH_HEAD_BY_ADDRESS;
}

static void inside(const char *p, size_t n, const char *buf, size_t len)
{
    if (p != NULL && (p < buf || n > len || p + n > buf + len)) {
        abort();
    }
}

static void check(const ph_head *h, const char *buf, size_t len)
{
    if (h->verdict > PH_HEAD_BY_ADDRESS) {
        abort();
    }
    inside(h->method, h->method_len, buf, len);
    inside(h->target, h->target_len, buf, len);
    inside(h->host, h->host_len, buf, len);
    if (h->head_complete && (h->head_len == 0 || h->head_len > len)) {
        abort();
    }
    if (h->host != NULL && h->host_len > 0
        && (h->host[0] == ' ' || h->host[0] == '\t'
            || h->host[h->host_len - 1] == ' '
            || h->host[h->host_len - 1] == '\t')) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const ph_head_limits *lim;
    const char *buf;
    size_t len, pre, cut;
    ph_head full, part;
    char *copy;

    if (size == 0) {
        return 0;
    }
    lim = &modes[data[0] % 4];
    len = size - 1;
    /* An exact-size copy, so ASan sees a read one byte past len. */
    copy = malloc(len ? len : 1);
    if (copy == NULL) {
        return 0;
    }
    if (len) {
        memcpy(copy, data + 1, len);
    }
    buf = copy;

    ph_head_parse(buf, len, lim, &full);
    check(&full, buf, len);
    for (cut = len / 2; cut < len; cut = cut + 1 + (len - cut) / 2) {
        ph_head_parse(buf, cut, lim, &part);
        check(&part, buf, cut);
        if (is_error(part.verdict) && part.verdict != full.verdict) {
            abort();
        }
    }

    pre = ph_head_proxy_preamble(buf, len);
    if (pre != PH_PREAMBLE_NONE && pre != PH_PREAMBLE_NEED_MORE) {
        if (pre > len) {
            abort();
        }
        ph_head_parse(buf + pre, len - pre, lim, &part);
        check(&part, buf + pre, len - pre);
    }
    free(copy);
    return 0;
}
