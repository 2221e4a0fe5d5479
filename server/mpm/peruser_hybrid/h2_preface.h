/*
 * h2_preface.h -- the multiplexer's view of a peeked HTTP/2 connection
 * with prior knowledge (h2c: the client starts with the HTTP/2 preface
 * instead of an HTTP/1 request head).
 *
 * To route such a connection the multiplexer needs the first request's
 * :authority.  It lies behind the 24-byte preface and a few frames
 * (SETTINGS, WINDOW_UPDATE, PRIORITY, PING ...), inside the first HEADERS
 * frame (and its CONTINUATION frames), compressed with HPACK.  This
 * parser walks those frames in the peeked bytes, consumes nothing, and
 * decodes the header block with libnghttp2's public HPACK inflater (the
 * library mod_http2 uses), never by hand.
 *
 * Pure: no httpd headers, no I/O; unit-tested in tests/unit/
 * test_h2_preface.c.  It judges nothing for the client: whatever it does
 * not understand is PH_H2_BY_ADDRESS, and mod_http2 in the processor of
 * the address's default server answers it (a GOAWAY, as stock).
 */
#ifndef PH_H2_PREFACE_H
#define PH_H2_PREFACE_H

#include <stddef.h>

#define PH_H2_PREFACE     "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define PH_H2_PREFACE_LEN 24

/* The largest frame a client may send before it has the server's
 * SETTINGS (SETTINGS_MAX_FRAME_SIZE's initial value, RFC 9113 6.5.2). */
#define PH_H2_MAX_FRAME   16384
/* Frames looked at before the first HEADERS; more is not a browser or a
 * proxy, and goes by address. */
#define PH_H2_MAX_FRAMES  32

#define PH_H2_AUTHORITY_MAX 512
#define PH_H2_METHOD_MAX    32
#define PH_H2_SCHEME_MAX    16
#define PH_H2_PATH_MAX      1024

typedef enum {
    PH_H2_NOT_H2 = 0,   /* the bytes do not start with the preface */
    PH_H2_NEED_MORE,    /* a proper prefix of the preface, or the first
                         * header block is not complete yet */
    PH_H2_ROUTABLE,     /* the first request's authority is known */
    PH_H2_BY_ADDRESS    /* the preface, then something this parser does
                         * not route on: a malformed or oversized frame,
                         * a frame HEADERS may not follow, an HPACK error,
                         * a request without :authority or Host, a value
                         * longer than the fields below */
} ph_h2_verdict;

typedef struct {
    ph_h2_verdict verdict;
    /* NUL-terminated copies, set when ROUTABLE (authority from
     * :authority, else from the host header); empty when absent. */
    char authority[PH_H2_AUTHORITY_MAX];
    char method[PH_H2_METHOD_MAX];
    char scheme[PH_H2_SCHEME_MAX];
    char path[PH_H2_PATH_MAX];
    unsigned stream_id;         /* of the first HEADERS frame */
    size_t frames;              /* frames walked, HEADERS included */
} ph_h2_first;

/*
 * Examine buf[0..len) (the bytes peeked so far, re-parsed from the start
 * on every call).  Fills *out and returns out->verdict.
 *
 *  - Fewer than 24 bytes that are a prefix of the preface: NEED_MORE;
 *    anything else not starting with the preface: NOT_H2.
 *  - The first frame must be SETTINGS on stream 0 (RFC 9113 3.4); frames
 *    before the first HEADERS may be SETTINGS, PING, WINDOW_UPDATE,
 *    PRIORITY or unknown (extension) types; DATA, RST_STREAM,
 *    PUSH_PROMISE, GOAWAY or CONTINUATION there: BY_ADDRESS.
 *  - A frame longer than PH_H2_MAX_FRAME, more than PH_H2_MAX_FRAMES
 *    frames: BY_ADDRESS.  No length is trusted past buf.
 *  - HEADERS on an odd stream, PADDED and PRIORITY flags honoured (pad
 *    length checked against the frame), then CONTINUATION frames on the
 *    same stream until END_HEADERS; anything else in between: BY_ADDRESS.
 *    A header block not complete in buf: NEED_MORE (the caller decides
 *    when its window is full: then BY_ADDRESS).
 *  - The block is decoded with a fresh nghttp2 HPACK inflater (empty
 *    dynamic table, as at the start of a connection).
 * buf may be NULL only if len is 0; out must not be NULL.
 */
ph_h2_verdict ph_h2_first_request(const unsigned char *buf, size_t len,
                                  ph_h2_first *out);

#endif /* PH_H2_PREFACE_H */
