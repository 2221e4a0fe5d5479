/*
 * tls_hello.h -- the multiplexer's view of a peeked TLS ClientHello.
 *
 * On a port whose vhosts speak TLS, the multiplexer must pick the
 * environment before any handshake, from the bytes the client has sent so
 * far (peeked with MSG_PEEK, nothing consumed): the server_name (SNI) of
 * the ClientHello is the routing key, the way Host is for plain HTTP
 * (head_parse.h).  The processor that gets the untouched socket then does
 * the handshake with mod_ssl, which reads the same bytes again.
 *
 * This parser is pure: no httpd or OpenSSL headers, no allocation, no I/O,
 * no recursion.  It reads at most space->max_wire bytes of the stream,
 * copies the ClientHello message into the caller's space->scratch (at most
 * space->scratch_size bytes) and fills a fixed struct.  It is unit-tested
 * (tests/unit/test_tls_hello.c) and fuzzed (tests/fuzz/fuzz_tls_hello.c).
 *
 * What it judges is only what routing needs: the record layer carrying
 * the ClientHello, the ClientHello's structure (RFC 8446 4.1.2, RFC 5246
 * 7.4.1.2), and the server_name (RFC 6066 3) and ALPN (RFC 7301)
 * extensions.  Versions, cipher suites and every other extension are the
 * processor's business: OpenSSL there judges them exactly as in stock
 * httpd.  Where this parser refuses a hello it refuses it as OpenSSL 3.0
 * does (checked against `openssl s_server`, see doc/decisions.md), so that
 * routing the refused hello by address lets the environment's OpenSSL send
 * the very alert stock httpd would send.
 */
#ifndef PH_TLS_HELLO_H
#define PH_TLS_HELLO_H

#include <stddef.h>

typedef enum {
    PH_TLS_NEED_MORE = 0,   /* no verdict yet: peek again when more bytes
                             * arrived (the buffer is re-parsed from its
                             * start every time) */
    PH_TLS_OK,              /* a complete, well-formed ClientHello: route
                             * by has_sni ? sni : the address's default */
    PH_TLS_NOT_TLS,         /* the first byte does not start a TLS record
                             * (nor an SSLv2 hello): not TLS at all, e.g.
                             * plain HTTP sent to an https port */
    PH_TLS_SSLV2,           /* an SSLv2-compatible ClientHello (first byte
                             * has bit 7 set, third byte 1): it has no
                             * extensions, so no SNI; OpenSSL still
                             * accepts it for TLS 1.0-1.2: route by
                             * address */
    PH_TLS_MALFORMED,       /* OpenSSL would refuse this hello (alert says
                             * with what): route by address, so that the
                             * environment's OpenSSL answers as stock */
    PH_TLS_TOO_BIG          /* no verdict within space->max_wire bytes, or
                             * a ClientHello longer than scratch_size:
                             * route by address (OpenSSL accepts hellos up
                             * to 128 KiB) */
} ph_tls_verdict;

/* TLS alert descriptions (RFC 8446 6.2) that OpenSSL sends for the
 * defects this parser finds; PH_TLS_ALERT_NONE: it closes without one. */
#define PH_TLS_ALERT_NONE               0
#define PH_TLS_ALERT_UNEXPECTED_MESSAGE 10
#define PH_TLS_ALERT_RECORD_OVERFLOW    22
#define PH_TLS_ALERT_ILLEGAL_PARAMETER  47
#define PH_TLS_ALERT_DECODE_ERROR       50
#define PH_TLS_ALERT_PROTOCOL_VERSION   70
#define PH_TLS_ALERT_UNRECOGNIZED_NAME  112

/* RFC 8446 5.1: a TLSPlaintext fragment is at most 2^14 bytes (the 2048
 * bytes of slack are for protected records only); OpenSSL answers a
 * longer plaintext record with record_overflow. */
#define PH_TLS_MAX_PLAINTEXT  16384
/* OpenSSL skips empty records but counts them: the 33rd in a row is an
 * unexpected_message (MAX_EMPTY_RECORDS).  RFC 8446 forbids empty
 * handshake fragments; OpenSSL, and so stock httpd, tolerates them. */
#define PH_TLS_MAX_EMPTY_RECORDS 32
/* RFC 6066 / OpenSSL TLSEXT_MAXLEN_host_name. */
#define PH_TLS_SNI_MAX 255

/* What the caller lends the parser. */
typedef struct {
    size_t max_wire;            /* the caller peeks at most this many bytes:
                                 * a hello not complete within them is
                                 * TOO_BIG (record headers count) */
    unsigned char *scratch;     /* room for the ClientHello message body,
                                 * reassembled from its records */
    size_t scratch_size;        /* a body longer than this is TOO_BIG */
} ph_tls_space;

typedef struct {
    ph_tls_verdict verdict;
    unsigned alert;             /* MALFORMED: PH_TLS_ALERT_*, what OpenSSL
                                 * 3.0 sends for the defect found */
    const char *reason;         /* MALFORMED, TOO_BIG: a static phrase for
                                 * the log (no client bytes in it) */
    size_t wire_len;            /* OK: stream bytes through the end of the
                                 * record that completed the ClientHello */
    size_t hello_len;           /* the ClientHello body's length once it is
                                 * complete (OK, or MALFORMED in the body),
                                 * else 0; it is space->scratch[0..hello_len) */
    unsigned records;           /* records seen (empty ones included) */
    unsigned legacy_version;    /* OK: ClientHello.legacy_version */

    /* server_name (type host_name), OK only. */
    int has_sni;                /* sni holds a valid host name */
    int sni_ignored;            /* a server_name was sent but is no host
                                 * name (empty, or a byte outside letters,
                                 * digits, '-', '_', '.', or an empty
                                 * label): counts as no SNI, as it matches
                                 * no ServerName in mod_ssl either */
    char sni[PH_TLS_SNI_MAX + 1];   /* NUL-terminated, case as sent */
    size_t sni_len;

    /* application_layer_protocol_negotiation, OK only. */
    int has_alpn;
    int alpn_h2;                /* "h2" is offered */
    int alpn_http11;            /* "http/1.1" is offered */
    const unsigned char *alpn;  /* the ProtocolNameList as sent (each name
                                 * length-prefixed, all checked non-empty),
                                 * pointing into space->scratch */
    size_t alpn_len;
} ph_tls_hello;

/*
 * Examine buf[0..len) (the bytes peeked so far; only the first
 * space->max_wire of them are looked at).  Fills *out and returns
 * out->verdict.
 *
 * The verdict for a prefix is final unless it is NEED_MORE: every longer
 * buffer with that prefix gets the same verdict and the same fields.
 * The ClientHello may be fragmented over any number of records (each
 * 1..2^14 bytes, empty ones skipped as OpenSSL does) and those may arrive
 * split anywhere.  Only the records up to the end of the ClientHello are
 * read; what follows is the processor's.
 *
 * MALFORMED (with the alert OpenSSL sends), in the order met:
 *  - a record after the first that is not a handshake record
 *    (unexpected_message); a record whose major version is not 3 (no
 *    alert for the first record -- OpenSSL "does not look like TLS" and
 *    closes -- else protocol_version); a record longer than 2^14
 *    (record_overflow); a 33rd empty record (unexpected_message);
 *  - a first handshake message other than ClientHello
 *    (unexpected_message); bytes after the ClientHello in the record
 *    that ends it (unexpected_message, "not on record boundary");
 *  - a ClientHello whose vectors do not add up: session id > 32 bytes,
 *    cipher suites odd, compression methods empty or without null, an
 *    extensions block or an extension overrunning its container
 *    (decode_error); no cipher suites (illegal_parameter);
 *  - a second server_name or ALPN extension (illegal_parameter; a
 *    duplicate of another type is OpenSSL's to judge: it refuses those it
 *    knows and ignores the rest);
 *  - server_name: not exactly one entry, of type host_name, filling the
 *    list (decode_error); a name over 255 bytes or holding a NUL byte
 *    (unrecognized_name);
 *  - ALPN: a list that does not fill the extension, shorter than 2 bytes,
 *    or holding an empty name (decode_error).
 *
 * space->scratch may be NULL only if scratch_size is 0; buf may be NULL
 * only if len is 0; space and out must not be NULL.
 */
ph_tls_verdict ph_tls_hello_parse(const unsigned char *buf, size_t len,
                                  const ph_tls_space *space,
                                  ph_tls_hello *out);

/* A static name of a verdict, for logs and test messages. */
const char *ph_tls_verdict_name(ph_tls_verdict v);

#endif /* PH_TLS_HELLO_H */
