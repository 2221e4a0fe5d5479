/*
 * head_parse.h -- the multiplexer's view of a peeked HTTP/1.x request head.
 *
 * The multiplexer peeks (MSG_PEEK) at the bytes a client has sent without
 * consuming them, and must decide from that prefix alone which virtual host
 * (and so which environment) the connection belongs to, or that the request
 * is bad.  This parser is pure: no httpd headers, no allocation, no I/O, so
 * it is unit-tested on its own (tests/unit/test_head_parse.c).
 *
 * It is deliberately not a full HTTP parser: the processor child that gets
 * the connection reads the same bytes again with httpd's own parser.  It
 * extracts only the routing key (request target and Host) and enforces the
 * limits stock httpd enforces on the request line and header lines, so that
 * a request stock httpd would refuse is refused here with the same status.
 */
#ifndef PH_HEAD_PARSE_H
#define PH_HEAD_PARSE_H

#include <stddef.h>

typedef enum {
    PH_HEAD_NEED_MORE = 0,  /* no verdict yet: wait for more bytes */
    PH_HEAD_ROUTABLE,       /* request line parsed and either a Host header
                             * was found or the head is complete without one */
    PH_HEAD_BAD_REQUEST,    /* malformed request line or header line: 400 */
    PH_HEAD_URI_TOO_LONG,   /* request line longer than the limit: 414 */
    PH_HEAD_FIELD_TOO_LONG, /* a header line longer than the limit: 400, as
                             * stock httpd answers (not 431) */
    PH_HEAD_BY_ADDRESS      /* lenient limits only: a line the strict rules
                             * refuse, which httpd's Unsafe parser may
                             * accept: route by the address alone and let
                             * httpd judge the head */
} ph_head_verdict;

typedef struct {
    size_t limit_request_line;  /* LimitRequestLine (bytes, without CRLF) */
    size_t limit_field_size;    /* LimitRequestFieldSize (bytes, without CRLF) */
    unsigned limit_fields;      /* LimitRequestFields; 0 = unlimited */
    int lenient;                /* HttpProtocolOptions Unsafe: see below */
} ph_head_limits;

typedef struct {
    ph_head_verdict verdict;
    /* All pointers point into the caller's buffer; lengths exclude CRLF. */
    const char *method;
    size_t method_len;
    const char *target;         /* request-target exactly as sent */
    size_t target_len;
    int http_major, http_minor; /* 1.0, 1.1 ...; 0.9 when no version given */
    const char *host;           /* Host field value, leading and trailing
                                 * whitespace removed; NULL if none seen */
    size_t host_len;
    int head_complete;          /* the blank line ending the head was seen */
    size_t head_len;            /* bytes through the blank line if complete */
    unsigned fields_seen;       /* header lines examined so far */
} ph_head;

/*
 * Examine buf[0..len) (the bytes peeked so far; len may grow on a later
 * call, the buffer is re-parsed from the start each time).  Fills *out and
 * returns out->verdict.
 *
 * Rules (mirroring httpd 2.4's protocol.c with HttpProtocolOptions Strict):
 *  - Lines end in CRLF; a bare LF is accepted as line end, for the request
 *    line as well as header lines (httpd accepts it in its default mode;
 *    under Strict the processor refuses it itself); a bare CR inside a line
 *    is bad.  A line's length excludes its CRLF or LF.  A line is judged
 *    only once complete (or once it is over its limit), as httpd does.
 *  - Leading empty lines before the request line are skipped (RFC 9112 2.2),
 *    at most 10 of them as in httpd; an 11th is a bad request line.
 *  - Request line: METHOD SP TARGET SP HTTP/d.d.  METHOD is a token
 *    (RFC 9110 tchar); TARGET is non-empty with no control characters or
 *    spaces (VCHAR and bytes >= 0x80 only; origin-, absolute-, authority-
 *    and asterisk-form all pass); the version is "HTTP/" digit "." digit.
 *    Exactly one SP separates the parts.  A request line with no
 *    version is HTTP/0.9 and is bad (httpd refuses 0.9 by default).
 *  - Request line longer than limit_request_line: PH_HEAD_URI_TOO_LONG, as
 *    soon as more than that many bytes of it are seen without a line end.
 *  - A header line longer than limit_field_size: PH_HEAD_FIELD_TOO_LONG,
 *    likewise as soon as that is certain.
 *  - A header line without ':' or with whitespace before ':' or an empty
 *    field name or a name that is not a token: PH_HEAD_BAD_REQUEST.
 *    Obsolete line folding (a line starting with SP/HT) is bad.  Control
 *    characters other than HT in a field value are bad.
 *  - More than limit_fields header lines: PH_HEAD_BAD_REQUEST.
 *  - A second Host header: PH_HEAD_BAD_REQUEST (httpd would merge them into
 *    an invalid host name and answer 400).
 *  - The Host field name matches case-insensitively.
 *  - As soon as the request line and a Host header are known the verdict is
 *    PH_HEAD_ROUTABLE (bytes not yet received are the processor's business,
 *    but complete lines already in buf are still checked, so e.g. a second
 *    Host in the same buffer is refused); without a Host it is
 *    PH_HEAD_ROUTABLE once the head is complete.
 *  - An error verdict, once returned for a prefix, is returned again for
 *    every longer buffer with that prefix.
 *  - lim->lenient (httpd in the processor may judge what these rules
 *    refuse: the connection's address is served by a server with
 *    HttpProtocolOptions Unsafe, whose legacy parser accepts extra
 *    spaces, control bytes, "http/1.0"; or by one environment only, so
 *    that routing needs no Host and a protocol module may speak there):
 *    every syntax refusal above is PH_HEAD_BY_ADDRESS instead of
 *    PH_HEAD_BAD_REQUEST, and so is a second Host (httpd merges them);
 *    a request line whose first byte no method starts with (a TLS
 *    ClientHello, a binary protocol) is PH_HEAD_BY_ADDRESS at once.
 *    The limits still apply (too many fields is still
 *    PH_HEAD_BAD_REQUEST): httpd enforces them in every mode.
 * lim and out must not be NULL; buf may be NULL only if len is 0.
 */
ph_head_verdict ph_head_parse(const char *buf, size_t len,
                              const ph_head_limits *lim, ph_head *out);

/* ph_head_proxy_preamble: not a preamble, or not complete yet. */
#define PH_PREAMBLE_NONE      ((size_t)0)
#define PH_PREAMBLE_NEED_MORE ((size_t)-1)

/*
 * The length of a PROXY protocol preamble (HAProxy's v1 text line
 * "PROXY ...\r\n" of at most 107 bytes, or the v2 binary header) at the
 * start of buf[0..len), so that the request head after it can be judged
 * and routed.  The preamble itself is not judged: mod_remoteip
 * (RemoteIPProxyProtocol) in the processor reads and checks it, and
 * where nothing reads it httpd refuses it as a request line.
 * Returns PH_PREAMBLE_NONE, PH_PREAMBLE_NEED_MORE (buf is a proper
 * prefix of what may be one), or its length.  buf may be NULL only if
 * len is 0.
 */
size_t ph_head_proxy_preamble(const char *buf, size_t len);

#endif /* PH_HEAD_PARSE_H */
