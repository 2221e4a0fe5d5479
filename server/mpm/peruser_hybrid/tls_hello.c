/*
 * tls_hello.c -- the multiplexer's view of a peeked TLS ClientHello.
 * See tls_hello.h for the contract.
 *
 * Two steps, both single forward passes over bounded data:
 *   1. the record layer: walk records from the start of the stream,
 *      checking each header, and copy the handshake bytes into the
 *      caller's scratch until the first handshake message (which must be
 *      a ClientHello) is complete;
 *   2. the ClientHello body in scratch: every vector's length is checked
 *      against what remains of its container before it is read.
 * A decision is taken as soon as the bytes that decide it are present,
 * and depends on nothing after them, so a verdict other than NEED_MORE
 * never changes when more bytes arrive.
 */
#include <string.h>

#include "tls_hello.h"

#define TLS_RECORD_HEADER     5
#define TLS_CT_HANDSHAKE      22
#define TLS_HS_CLIENT_HELLO   1
#define TLS_HS_HEADER         4
#define TLS_RANDOM            32
#define TLS_MAX_SESSION_ID    32
#define TLS_EXT_SERVER_NAME   0
#define TLS_EXT_ALPN          16
#define TLS_SNI_HOST_NAME     0
#define SSL2_MT_CLIENT_HELLO  1

/* A read cursor over [p, end): every getter fails rather than read past
 * end, and leaves the cursor unchanged when it fails. */
typedef struct {
    const unsigned char *p;
    const unsigned char *end;
} cursor;

static size_t left(const cursor *c)
{
    return (size_t)(c->end - c->p);
}

static int get_u8(cursor *c, unsigned *v)
{
    if (left(c) < 1) {
        return 0;
    }
    *v = c->p[0];
    c->p += 1;
    return 1;
}

static int get_u16(cursor *c, unsigned *v)
{
    if (left(c) < 2) {
        return 0;
    }
    *v = ((unsigned)c->p[0] << 8) | c->p[1];
    c->p += 2;
    return 1;
}

static int skip(cursor *c, size_t n)
{
    if (left(c) < n) {
        return 0;
    }
    c->p += n;
    return 1;
}

/* A sub-cursor over the next n bytes of c, which it consumes. */
static int take(cursor *c, size_t n, cursor *sub)
{
    if (left(c) < n) {
        return 0;
    }
    sub->p = c->p;
    sub->end = c->p + n;
    c->p += n;
    return 1;
}

static ph_tls_verdict verdict(ph_tls_hello *out, ph_tls_verdict v)
{
    out->verdict = v;
    return v;
}

/* A refusal: nothing found before the defect is reported. */
static ph_tls_verdict malformed(ph_tls_hello *out, unsigned alert,
                                const char *reason)
{
    out->has_sni = out->sni_ignored = 0;
    out->sni[0] = '\0';
    out->sni_len = 0;
    out->has_alpn = out->alpn_h2 = out->alpn_http11 = 0;
    out->alpn = NULL;
    out->alpn_len = 0;
    out->alert = alert;
    out->reason = reason;
    return verdict(out, PH_TLS_MALFORMED);
}

static ph_tls_verdict too_big(ph_tls_hello *out, const char *reason)
{
    out->reason = reason;
    return verdict(out, PH_TLS_TOO_BIG);
}

/*
 * A host name as a routing key: 1..255 bytes of letters, digits, '-',
 * '_' and '.', no empty label (no leading dot, no "..") except that one
 * trailing dot is kept as sent.  '_' is allowed because real host names
 * carry it and httpd accepts it in Host; labels are not length-checked
 * (a name matches a ServerName or it does not, whatever its labels).
 */
static int is_host_name(const unsigned char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > PH_TLS_SNI_MAX || s[0] == '.') {
        return 0;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = s[i];

        if (c == '.') {
            if (i + 1 < n && s[i + 1] == '.') {
                return 0;
            }
        }
        else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                   || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
            return 0;
        }
    }
    return 1;
}

/* RFC 6066 3, as OpenSSL 3.0 reads it (tls_parse_ctos_server_name): the
 * list holds exactly one entry, of type host_name. */
static ph_tls_verdict parse_sni(cursor ext, ph_tls_hello *out)
{
    cursor list, name;
    unsigned list_len, type, name_len;

    if (!get_u16(&ext, &list_len) || !take(&ext, list_len, &list)
        || left(&ext) != 0 || list_len == 0) {
        return malformed(out, PH_TLS_ALERT_DECODE_ERROR,
                         "server_name list does not fill its extension");
    }
    if (!get_u8(&list, &type) || type != TLS_SNI_HOST_NAME
        || !get_u16(&list, &name_len) || !take(&list, name_len, &name)
        || left(&list) != 0) {
        return malformed(out, PH_TLS_ALERT_DECODE_ERROR,
                         "server_name list is not one host_name");
    }
    if (name_len > PH_TLS_SNI_MAX || memchr(name.p, 0, name_len) != NULL) {
        return malformed(out, PH_TLS_ALERT_UNRECOGNIZED_NAME,
                         "server_name too long or with a NUL byte");
    }
    if (!is_host_name(name.p, name_len)) {
        /* OpenSSL accepts it; mod_ssl finds no vhost named so and
         * handshakes with the address's default one. */
        out->sni_ignored = 1;
        return PH_TLS_OK;
    }
    memcpy(out->sni, name.p, name_len);
    out->sni[name_len] = '\0';
    out->sni_len = name_len;
    out->has_sni = 1;
    return PH_TLS_OK;
}

/* RFC 7301 3.1, as OpenSSL 3.0 reads it (tls_parse_ctos_alpn). */
static ph_tls_verdict parse_alpn(cursor ext, ph_tls_hello *out)
{
    cursor list, walk;
    unsigned list_len;

    if (!get_u16(&ext, &list_len) || !take(&ext, list_len, &list)
        || left(&ext) != 0 || list_len < 2) {
        return malformed(out, PH_TLS_ALERT_DECODE_ERROR,
                         "ALPN list does not fill its extension");
    }
    walk = list;
    while (left(&walk) > 0) {
        unsigned n;
        cursor name;

        if (!get_u8(&walk, &n) || n == 0 || !take(&walk, n, &name)) {
            return malformed(out, PH_TLS_ALERT_DECODE_ERROR,
                             "ALPN protocol name empty or overrunning");
        }
        if (n == 2 && memcmp(name.p, "h2", 2) == 0) {
            out->alpn_h2 = 1;
        }
        else if (n == 8 && memcmp(name.p, "http/1.1", 8) == 0) {
            out->alpn_http11 = 1;
        }
    }
    out->has_alpn = 1;
    out->alpn = list.p;
    out->alpn_len = list_len;
    return PH_TLS_OK;
}

/* The ClientHello body (after its 4-byte handshake header), complete. */
static ph_tls_verdict parse_client_hello(const unsigned char *body,
                                         size_t n, ph_tls_hello *out)
{
    cursor c = { body, body + n }, exts;
    unsigned version, sid_len, suites_len, comp_len, exts_len, i;
    int seen_sni = 0, seen_alpn = 0, has_null = 0;
    cursor comp;

    if (!get_u16(&c, &version) || !skip(&c, TLS_RANDOM)
        || !get_u8(&c, &sid_len) || sid_len > TLS_MAX_SESSION_ID
        || !skip(&c, sid_len)) {
        return malformed(out, PH_TLS_ALERT_DECODE_ERROR,
                         "ClientHello version, random or session id");
    }
    if (!get_u16(&c, &suites_len) || !skip(&c, suites_len)
        || suites_len % 2 != 0) {
        return malformed(out, PH_TLS_ALERT_DECODE_ERROR,
                         "ClientHello cipher suites");
    }
    if (!get_u8(&c, &comp_len) || !take(&c, comp_len, &comp)) {
        return malformed(out, PH_TLS_ALERT_DECODE_ERROR,
                         "ClientHello compression methods");
    }
    /* No extensions at all is allowed (an old client: no SNI). */
    exts.p = exts.end = c.p;
    if (left(&c) != 0
        && (!get_u16(&c, &exts_len) || !take(&c, exts_len, &exts)
            || left(&c) != 0)) {
        return malformed(out, PH_TLS_ALERT_DECODE_ERROR,
                         "ClientHello extensions block length");
    }

    /* The extensions' framing first, as OpenSSL collects them before it
     * judges anything inside. */
    {
        cursor walk = exts;

        while (left(&walk) > 0) {
            unsigned type, ext_len;

            if (!get_u16(&walk, &type) || !get_u16(&walk, &ext_len)
                || !skip(&walk, ext_len)) {
                return malformed(out, PH_TLS_ALERT_DECODE_ERROR,
                                 "extension overruns its block");
            }
            if ((type == TLS_EXT_SERVER_NAME && seen_sni++)
                || (type == TLS_EXT_ALPN && seen_alpn++)) {
                return malformed(out, PH_TLS_ALERT_ILLEGAL_PARAMETER,
                                 "second server_name or ALPN extension");
            }
        }
    }
    if (suites_len == 0) {
        return malformed(out, PH_TLS_ALERT_ILLEGAL_PARAMETER,
                         "no cipher suites");
    }
    for (i = 0; i < comp_len; i++) {
        has_null |= comp.p[i] == 0;
    }
    if (!has_null) {
        return malformed(out, PH_TLS_ALERT_DECODE_ERROR,
                         "no null compression method");
    }

    while (left(&exts) > 0) {
        unsigned type, ext_len;
        cursor ext;
        ph_tls_verdict v = PH_TLS_OK;

        if (!get_u16(&exts, &type) || !get_u16(&exts, &ext_len)
            || !take(&exts, ext_len, &ext)) {
            /* Cannot happen: the framing was checked above. */
            return malformed(out, PH_TLS_ALERT_DECODE_ERROR,
                             "extension overruns its block");
        }
        if (type == TLS_EXT_SERVER_NAME) {
            v = parse_sni(ext, out);
        }
        else if (type == TLS_EXT_ALPN) {
            v = parse_alpn(ext, out);
        }
        if (v != PH_TLS_OK) {
            return v;
        }
    }
    out->legacy_version = version;
    return verdict(out, PH_TLS_OK);
}

ph_tls_verdict ph_tls_hello_parse(const unsigned char *buf, size_t len,
                                  const ph_tls_space *space,
                                  ph_tls_hello *out)
{
    size_t limit = len < space->max_wire ? len : space->max_wire;
    size_t pos = 0;
    unsigned char hs[TLS_HS_HEADER];   /* the handshake header */
    size_t hs_have = 0;                /* bytes of hs, then of the body */
    size_t body_len = 0, body_have = 0;
    unsigned empty = 0;

    *out = (ph_tls_hello){ .verdict = PH_TLS_NEED_MORE };

    if (limit >= 1 && (buf[0] & 0x80)) {
        /* SSLv2 record header: 2-byte length with bit 15 set, then the
         * message type. */
        if (limit < 3) {
            return limit == space->max_wire
                       ? too_big(out, "peek bound below 3 bytes")
                       : verdict(out, PH_TLS_NEED_MORE);
        }
        return verdict(out, buf[2] == SSL2_MT_CLIENT_HELLO ? PH_TLS_SSLV2
                                                           : PH_TLS_NOT_TLS);
    }
    if (limit >= 1 && buf[0] != TLS_CT_HANDSHAKE) {
        return verdict(out, PH_TLS_NOT_TLS);
    }

    for (;;) {
        size_t avail = limit - pos, rec_len, frag, i;

        /* The record header, judged byte by byte as it arrives. */
        if (avail >= 1 && buf[pos] != TLS_CT_HANDSHAKE) {
            return malformed(out, PH_TLS_ALERT_UNEXPECTED_MESSAGE,
                             "non-handshake record inside the ClientHello");
        }
        if (avail >= 2 && buf[pos + 1] != 3) {
            return malformed(out, pos == 0 ? PH_TLS_ALERT_NONE
                                           : PH_TLS_ALERT_PROTOCOL_VERSION,
                             "record version major is not 3");
        }
        if (avail < TLS_RECORD_HEADER) {
            break;
        }
        rec_len = ((size_t)buf[pos + 3] << 8) | buf[pos + 4];
        if (rec_len > PH_TLS_MAX_PLAINTEXT) {
            return malformed(out, PH_TLS_ALERT_RECORD_OVERFLOW,
                             "record longer than 2^14");
        }
        out->records++;
        if (rec_len == 0 && ++empty > PH_TLS_MAX_EMPTY_RECORDS) {
            return malformed(out, PH_TLS_ALERT_UNEXPECTED_MESSAGE,
                             "too many empty records");
        }
        pos += TLS_RECORD_HEADER;
        avail -= TLS_RECORD_HEADER;
        frag = rec_len < avail ? rec_len : avail;

        /* The fragment's bytes: handshake header, then body. */
        for (i = 0; i < frag && hs_have < TLS_HS_HEADER; i++) {
            hs[hs_have++] = buf[pos + i];
            if (hs_have == 1 && hs[0] != TLS_HS_CLIENT_HELLO) {
                return malformed(out, PH_TLS_ALERT_UNEXPECTED_MESSAGE,
                                 "first handshake message not ClientHello");
            }
            if (hs_have == TLS_HS_HEADER) {
                body_len = ((size_t)hs[1] << 16) | ((size_t)hs[2] << 8)
                           | hs[3];
                if (body_len == 0) {
                    return malformed(out, PH_TLS_ALERT_DECODE_ERROR,
                                     "empty ClientHello");
                }
                if (body_len > space->scratch_size) {
                    return too_big(out, "ClientHello longer than scratch");
                }
            }
        }
        if (hs_have == TLS_HS_HEADER) {
            size_t copy = frag - i;

            if (copy > body_len - body_have) {
                copy = body_len - body_have;
            }
            if (copy > 0) {
                memcpy(space->scratch + body_have, buf + pos + i, copy);
                body_have += copy;
            }
            i += copy;
            if (body_have == body_len) {
                /* Judged from the record header alone: the record goes
                 * on after the ClientHello. */
                if (rec_len > i) {
                    return malformed(out, PH_TLS_ALERT_UNEXPECTED_MESSAGE,
                                     "bytes after ClientHello in its record");
                }
                out->hello_len = body_len;
                if (parse_client_hello(space->scratch, body_len, out)
                    == PH_TLS_OK) {
                    out->wire_len = pos + rec_len;
                }
                return out->verdict;
            }
        }
        if (frag < rec_len) {
            break;      /* the rest of this record has not arrived */
        }
        pos += rec_len;
    }

    if (len >= space->max_wire) {
        return too_big(out, "ClientHello not complete within the peek bound");
    }
    return verdict(out, PH_TLS_NEED_MORE);
}

const char *ph_tls_verdict_name(ph_tls_verdict v)
{
    switch (v) {
    case PH_TLS_NEED_MORE:
        return "NEED_MORE";
    case PH_TLS_OK:
        return "OK";
    case PH_TLS_NOT_TLS:
        return "NOT_TLS";
    case PH_TLS_SSLV2:
        return "SSLV2";
    case PH_TLS_MALFORMED:
        return "MALFORMED";
    case PH_TLS_TOO_BIG:
        return "TOO_BIG";
    }
    return "?";
}
