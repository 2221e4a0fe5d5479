/*
 * h2_preface.c -- the first request of an h2c (prior knowledge)
 * connection, from peeked bytes: see h2_preface.h.
 *
 * Two passes over buf: the first walks frame headers only, checking every
 * length against what buf holds, and collects where the first header
 * block's fragments are; only a complete block is handed to the HPACK
 * inflater, so a block still arriving costs no decoding.
 */
#include <stdint.h>
#include <string.h>

#include "h2_preface.h"
#include "lib_nghttp2.h"

#define FRAME_HEADER   9

/* Frame types (RFC 9113 6) and flags. */
enum {
    T_DATA = 0x0, T_HEADERS = 0x1, T_PRIORITY = 0x2, T_RST_STREAM = 0x3,
    T_SETTINGS = 0x4, T_PUSH_PROMISE = 0x5, T_PING = 0x6, T_GOAWAY = 0x7,
    T_WINDOW_UPDATE = 0x8, T_CONTINUATION = 0x9
};
#define F_ACK          0x01
#define F_END_HEADERS  0x04
#define F_PADDED       0x08
#define F_PRIORITY     0x20

/* Where one fragment of the header block lies in buf. */
typedef struct {
    const unsigned char *at;
    size_t len;
} fragment;

typedef struct {
    size_t len;
    unsigned type, flags;
    uint32_t stream;
} frame_head;

static ph_h2_verdict verdict(ph_h2_first *out, ph_h2_verdict v)
{
    out->verdict = v;
    return v;
}

static void read_frame_head(const unsigned char *p, frame_head *fh)
{
    fh->len = ((size_t)p[0] << 16) | ((size_t)p[1] << 8) | p[2];
    fh->type = p[3];
    fh->flags = p[4];
    fh->stream = (((uint32_t)p[5] << 24) | ((uint32_t)p[6] << 16)
                  | ((uint32_t)p[7] << 8) | p[8]) & 0x7fffffffu;
}

/* 1 if a frame of this type may come before the first HEADERS (what a
 * client sends right after its preface; unknown types are extensions,
 * which a receiver ignores). */
static int allowed_before_headers(unsigned type)
{
    switch (type) {
    case T_SETTINGS:
    case T_PING:
    case T_WINDOW_UPDATE:
    case T_PRIORITY:
        return 1;
    case T_DATA:
    case T_RST_STREAM:
    case T_PUSH_PROMISE:
    case T_GOAWAY:
    case T_CONTINUATION:
        return 0;
    default:
        return 1;
    }
}

/* Copy a header value into a NUL-terminated field; 0 if it does not fit
 * or holds a NUL (which the copy could not show). */
static int copy_value(char *dst, size_t cap, const nghttp2_nv *nv)
{
    if (nv->valuelen >= cap || memchr(nv->value, '\0', nv->valuelen)) {
        return 0;
    }
    memcpy(dst, nv->value, nv->valuelen);
    dst[nv->valuelen] = '\0';
    return 1;
}

static int name_is(const nghttp2_nv *nv, const char *name)
{
    size_t n = strlen(name);
    return nv->namelen == n && !memcmp(nv->name, name, n);
}

/* Take what routing needs from one decoded field; 0 if the request is not
 * one to route on (a field repeated or too long). */
typedef struct {
    int authority, host, method, scheme, path;
} seen_fields;

static int take_field(ph_h2_first *out, seen_fields *seen,
                      const nghttp2_nv *nv)
{
    if (name_is(nv, ":authority")) {
        return !seen->authority++
               && copy_value(out->authority, sizeof(out->authority), nv);
    }
    if (name_is(nv, ":method")) {
        return !seen->method++
               && copy_value(out->method, sizeof(out->method), nv);
    }
    if (name_is(nv, ":scheme")) {
        return !seen->scheme++
               && copy_value(out->scheme, sizeof(out->scheme), nv);
    }
    if (name_is(nv, ":path")) {
        return !seen->path++
               && copy_value(out->path, sizeof(out->path), nv);
    }
    if (name_is(nv, "host")) {
        char host[PH_H2_AUTHORITY_MAX];
        if (seen->host++ || !copy_value(host, sizeof(host), nv)) {
            return 0;
        }
        if (!seen->authority) {
            memcpy(out->authority, host, sizeof(host));
        }
    }
    return 1;
}

/* Decode the header block made of frags[0..n) with a fresh inflater.
 * Returns 1 if it decoded and named a method and an authority (0 too when
 * libnghttp2 cannot be loaded: the connection goes by its address). */
static int decode_block(const fragment *frags, size_t n, ph_h2_first *out)
{
    const ph_nghttp2_api *h = ph_nghttp2(NULL);
    nghttp2_hd_inflater *inf;
    seen_fields seen;
    int ok = 1, done = 0;
    size_t i;

    memset(&seen, 0, sizeof(seen));
    if (!h || h->hd_inflate_new(&inf) != 0) {
        return 0;
    }
    for (i = 0; i < n && ok && !done; i++) {
        const uint8_t *in = frags[i].at;
        size_t inlen = frags[i].len;
        int final = i + 1 == n;

        for (;;) {
            nghttp2_nv nv;
            int flags = 0;
            ssize_t rv = h->hd_inflate_hd2(inf, &nv, &flags, in, inlen,
                                                final);
            if (rv < 0 || (size_t)rv > inlen) {
                ok = 0;
                break;
            }
            in += rv;
            inlen -= (size_t)rv;
            if ((flags & NGHTTP2_HD_INFLATE_EMIT)
                && !take_field(out, &seen, &nv)) {
                ok = 0;
                break;
            }
            if (flags & NGHTTP2_HD_INFLATE_FINAL) {
                h->hd_inflate_end_headers(inf);
                done = 1;
                break;
            }
            if (!(flags & NGHTTP2_HD_INFLATE_EMIT) && (inlen == 0 || rv == 0)) {
                break;      /* this fragment used up: on to the next */
            }
        }
    }
    h->hd_inflate_del(inf);
    return ok && done && seen.method && out->authority[0];
}

ph_h2_verdict ph_h2_first_request(const unsigned char *buf, size_t len,
                                  ph_h2_first *out)
{
    fragment frags[PH_H2_MAX_FRAMES];
    size_t nfrags = 0, pos = PH_H2_PREFACE_LEN, skip;
    frame_head fh;
    uint32_t stream;

    memset(out, 0, sizeof(*out));
    if (memcmp(buf ? (const void *)buf : "", PH_H2_PREFACE,
               len < PH_H2_PREFACE_LEN ? len : PH_H2_PREFACE_LEN)) {
        return verdict(out, PH_H2_NOT_H2);
    }
    if (len < PH_H2_PREFACE_LEN) {
        return verdict(out, PH_H2_NEED_MORE);
    }

    /* Frames before the first HEADERS. */
    for (;;) {
        if (len - pos < FRAME_HEADER) {
            return verdict(out, PH_H2_NEED_MORE);
        }
        read_frame_head(buf + pos, &fh);
        if (fh.len > PH_H2_MAX_FRAME || ++out->frames > PH_H2_MAX_FRAMES) {
            return verdict(out, PH_H2_BY_ADDRESS);
        }
        if (out->frames == 1
            && (fh.type != T_SETTINGS || fh.stream != 0
                || (fh.flags & F_ACK))) {
            return verdict(out, PH_H2_BY_ADDRESS);  /* RFC 9113 3.4 */
        }
        if (fh.type == T_HEADERS) {
            break;
        }
        if (!allowed_before_headers(fh.type)) {
            return verdict(out, PH_H2_BY_ADDRESS);
        }
        if (len - pos - FRAME_HEADER < fh.len) {
            return verdict(out, PH_H2_NEED_MORE);
        }
        pos += FRAME_HEADER + fh.len;
    }

    /* HEADERS: [pad length] [priority: 5] fragment [padding]. */
    stream = fh.stream;
    out->stream_id = stream;
    if (stream == 0 || !(stream & 1)) {
        return verdict(out, PH_H2_BY_ADDRESS);
    }
    if (len - pos - FRAME_HEADER < fh.len) {
        return verdict(out, PH_H2_NEED_MORE);
    }
    {
        const unsigned char *p = buf + pos + FRAME_HEADER;
        size_t plen = fh.len, pad = 0;

        if (fh.flags & F_PADDED) {
            if (plen < 1) {
                return verdict(out, PH_H2_BY_ADDRESS);
            }
            pad = p[0];
            p++;
            plen--;
        }
        skip = (fh.flags & F_PRIORITY) ? 5 : 0;
        if (plen < skip || plen - skip < pad) {
            return verdict(out, PH_H2_BY_ADDRESS);
        }
        frags[nfrags].at = p + skip;
        frags[nfrags].len = plen - skip - pad;
        nfrags++;
    }
    pos += FRAME_HEADER + fh.len;

    /* CONTINUATION frames on the same stream up to END_HEADERS. */
    while (!(fh.flags & F_END_HEADERS)) {
        if (len - pos < FRAME_HEADER) {
            return verdict(out, PH_H2_NEED_MORE);
        }
        read_frame_head(buf + pos, &fh);
        if (fh.type != T_CONTINUATION || fh.stream != stream
            || fh.len > PH_H2_MAX_FRAME || ++out->frames > PH_H2_MAX_FRAMES
            || nfrags >= PH_H2_MAX_FRAMES) {
            return verdict(out, PH_H2_BY_ADDRESS);
        }
        if (len - pos - FRAME_HEADER < fh.len) {
            return verdict(out, PH_H2_NEED_MORE);
        }
        frags[nfrags].at = buf + pos + FRAME_HEADER;
        frags[nfrags].len = fh.len;
        nfrags++;
        pos += FRAME_HEADER + fh.len;
    }

    if (!decode_block(frags, nfrags, out)) {
        ph_h2_first keep = *out;
        memset(out, 0, sizeof(*out));
        out->stream_id = keep.stream_id;
        out->frames = keep.frames;
        return verdict(out, PH_H2_BY_ADDRESS);
    }
    return verdict(out, PH_H2_ROUTABLE);
}
