/*
 * head_parse.c -- the multiplexer's view of a peeked HTTP/1.x request head.
 * See head_parse.h for the contract.
 *
 * The parser works line by line in the order httpd's protocol.c does: a
 * line is first delimited and length-checked, and only a complete line is
 * judged on its contents.  The order decides the status: a line that is
 * both malformed and too long is answered "too long" by httpd, so here too.
 * It also means that an error found at some prefix of the stream is found
 * again, identical, at every longer prefix.
 */
#include <stdint.h>
#include <string.h>

#include "head_parse.h"

/* httpd (DEFAULT_LIMIT_BLANK_LINES) reads past at most this many empty
 * lines in front of the request line; the next empty line is taken as the
 * request line itself, which then fails to parse. */
#define MAX_LEADING_BLANK_LINES 10

/* RFC 9110 5.6.2 tchar.  Written out rather than looked up with strchr(),
 * which would "find" a NUL byte at the end of its set. */
static int is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
        || (c >= 'A' && c <= 'Z')) {
        return 1;
    }
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
    case '+': case '-': case '.': case '^': case '_': case '`': case '|':
    case '~':
        return 1;
    default:
        return 0;
    }
}

/* A request-target byte: VCHAR or obs-text, as httpd's strict mode allows
 * (it leaves the finer URI syntax to its URI parser, and so do we). */
static int is_target_char(unsigned char c)
{
    return c > 0x20 && c != 0x7f;
}

/* A field-value byte (RFC 9110 field-content): HT, SP, VCHAR, obs-text.
 * Everything else is a control character, including a stray CR. */
static int is_value_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int is_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* ASCII only: the result must not depend on the process's locale. */
static unsigned char ascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/*
 * Delimit the line that starts at buf[pos].
 *
 * Returns 1 if its LF is in the buffer, with *content_len the number of
 * bytes before the line end (a CR right before the LF belongs to the line
 * end) and *next the offset just past the LF.
 *
 * Returns 0 if not, with *content_len the number of bytes already known to
 * be content: a CR that is the very last byte of the buffer may be the
 * first half of a CRLF, so it is not counted (yet).
 *
 * At most limit + 3 bytes are searched: a line whose LF lies further away
 * is too long whatever comes next (see line_too_long), and stopping there
 * keeps a flood of bytes without a line end from costing more than the
 * limit per call.
 */
static int find_line(const char *buf, size_t len, size_t pos, size_t limit,
                     size_t *content_len, size_t *next)
{
    size_t scan = len - pos;
    const char *lf = NULL;

    if (limit < SIZE_MAX - 3 && scan > limit + 3) {
        scan = limit + 3;
    }
    /* memchr() must not be handed a NULL buffer, even for 0 bytes. */
    if (scan > 0) {
        lf = memchr(buf + pos, '\n', scan);
    }
    if (lf != NULL) {
        size_t end = (size_t)(lf - buf);

        *next = end + 1;
        if (end > pos && buf[end - 1] == '\r') {
            end--;
        }
        *content_len = end - pos;
        return 1;
    }

    *content_len = scan;
    if (scan > 0 && pos + scan == len && buf[len - 1] == '\r') {
        (*content_len)--;
    }
    return 0;
}

/*
 * httpd reads a line into limit + 2 bytes (LimitRequestLine,
 * LimitRequestFieldSize), the line end included, except that the final LF
 * may fall outside when the CR before it fits: so a line's content may be
 * limit + 1 bytes long, and one more is too long.
 */
static int line_too_long(size_t content_len, size_t limit)
{
    return content_len > limit + 1;
}

/*
 * METHOD SP TARGET SP "HTTP/" DIGIT "." DIGIT, with exactly one SP between
 * the parts and nothing before or after (httpd's strict mode refuses extra
 * whitespace).  Fills the request-line fields of *out; returns 1 if the
 * line is well-formed.
 */
static int parse_request_line(const char *line, size_t n, ph_head *out)
{
    const unsigned char *p = (const unsigned char *)line;
    size_t i = 0, start;

    while (i < n && is_tchar(p[i])) {
        i++;
    }
    if (i == 0 || i == n || p[i] != ' ') {
        return 0;
    }
    out->method = line;
    out->method_len = i;

    start = ++i;
    while (i < n && is_target_char(p[i])) {
        i++;
    }
    if (i == start) {
        return 0;
    }
    out->target = line + start;
    out->target_len = i - start;

    if (i == n) {
        /* No version: an HTTP/0.9 request.  It has no header lines, so the
         * request line is the whole head; whether it is served is the
         * vhost's HttpProtocolOptions (Allow0.9, httpd's default, or
         * Require1.0), applied by httpd in the processor. */
        out->http_major = 0;
        out->http_minor = 9;
        return 1;
    }
    if (p[i] != ' ') {
        return 0;
    }
    i++;

    if (n - i != 8 || memcmp(p + i, "HTTP/", 5) != 0 || !is_digit(p[i + 5])
        || p[i + 6] != '.' || !is_digit(p[i + 7])) {
        return 0;
    }
    out->http_major = p[i + 5] - '0';
    out->http_minor = p[i + 7] - '0';
    return 1;
}

/*
 * field-name ":" field-value.  The name must be a non-empty token directly
 * followed by the colon, which also refuses "Name :".  (obs-fold lines,
 * starting with SP or HT, are handled before this is called.)  Returns 1
 * if well-formed, with the name's length and the offset of the value.
 */
static int split_field(const char *line, size_t n, size_t *name_len,
                       size_t *value_off)
{
    const unsigned char *p = (const unsigned char *)line;
    size_t i = 0, j;

    while (i < n && is_tchar(p[i])) {
        i++;
    }
    if (i == 0 || i == n || p[i] != ':') {
        return 0;
    }
    for (j = i + 1; j < n; j++) {
        if (!is_value_char(p[j])) {
            return 0;
        }
    }
    *name_len = i;
    *value_off = i + 1;
    return 1;
}

static int is_host_name(const char *name, size_t len)
{
    static const char host[] = "host";
    size_t i;

    if (len != sizeof(host) - 1) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        if (ascii_lower((unsigned char)name[i]) != (unsigned char)host[i]) {
            return 0;
        }
    }
    return 1;
}

static ph_head_verdict verdict(ph_head *out, ph_head_verdict v)
{
    out->verdict = v;
    return v;
}

/* A line the strict rules refuse: 400, or under lenient limits a head
 * for httpd to judge. */
static ph_head_verdict bad(ph_head *out, const ph_head_limits *lim)
{
    return verdict(out, lim->lenient ? PH_HEAD_BY_ADDRESS
                                     : PH_HEAD_BAD_REQUEST);
}

ph_head_verdict ph_head_parse(const char *buf, size_t len,
                              const ph_head_limits *lim, ph_head *out)
{
    size_t pos = 0, n, next;
    size_t field_total = 0;     /* current field's length, folds included */
    int field_is_host = 0;
    unsigned blank_lines = 0;

    *out = (ph_head){ .verdict = PH_HEAD_NEED_MORE };

    /* The request line, after any leading empty lines. */
    for (;;) {
        if (lim->lenient && pos < len && buf[pos] != '\r' && buf[pos] != '\n'
            && !is_tchar((unsigned char)buf[pos])) {
            /* No method starts so: not HTTP at all (TLS, a protocol
             * module's client), or a line httpd refuses.  Whoever serves
             * the address decides, without waiting for a line end that
             * a binary protocol may never send. */
            return verdict(out, PH_HEAD_BY_ADDRESS);
        }
        if (!find_line(buf, len, pos, lim->limit_request_line, &n, &next)) {
            return verdict(out, line_too_long(n, lim->limit_request_line)
                                    ? PH_HEAD_URI_TOO_LONG
                                    : PH_HEAD_NEED_MORE);
        }
        if (line_too_long(n, lim->limit_request_line)) {
            return verdict(out, PH_HEAD_URI_TOO_LONG);
        }
        if (n > 0) {
            break;
        }
        if (++blank_lines > MAX_LEADING_BLANK_LINES) {
            return bad(out, lim);
        }
        pos = next;
    }
    if (!parse_request_line(buf + pos, n, out)) {
        return bad(out, lim);
    }
    pos = next;
    if (out->http_major == 0) {
        out->head_complete = 1;
        out->head_len = next;
        return verdict(out, PH_HEAD_ROUTABLE);
    }

    /*
     * Header lines.  Finding Host is enough to route, but every complete
     * line already in the buffer is still checked: that costs nothing
     * extra to wait for, and a request httpd would refuse (a second Host,
     * a malformed line) is better refused here than handed on.  What is
     * not in the buffer yet is never waited for once Host is known.
     */
    for (;;) {
        size_t name_len, value_off, vstart, vend;
        const char *line = buf + pos;

        if (!find_line(buf, len, pos, lim->limit_field_size, &n, &next)) {
            if (line_too_long(n, lim->limit_field_size)) {
                return verdict(out, PH_HEAD_FIELD_TOO_LONG);
            }
            break;
        }
        if (line_too_long(n, lim->limit_field_size)) {
            return verdict(out, PH_HEAD_FIELD_TOO_LONG);
        }
        if (n == 0) {
            out->head_complete = 1;
            out->head_len = next;
            return verdict(out, PH_HEAD_ROUTABLE);
        }

        if (is_ows((unsigned char)line[0])) {
            /* obs-fold: httpd unfolds it into the previous field (RFC 9112
             * 5.2), after checking the unfolded length; a fold before any
             * field, or inside Host (whose unfolded value then holds a
             * space and is not a host name), is a 400 there too. */
            size_t k;
            if (out->fields_seen == 0 || field_is_host) {
                return bad(out, lim);
            }
            for (k = 0; k < n; k++) {
                if (!is_value_char((unsigned char)line[k])) {
                    return bad(out, lim);
                }
            }
            field_total += n;
            if (field_total > lim->limit_field_size) {
                return verdict(out, PH_HEAD_FIELD_TOO_LONG);
            }
            pos = next;
            continue;
        }

        out->fields_seen++;
        field_total = n;
        field_is_host = 0;
        if (lim->limit_fields != 0 && out->fields_seen > lim->limit_fields) {
            return verdict(out, PH_HEAD_BAD_REQUEST);   /* a limit */
        }
        if (!split_field(line, n, &name_len, &value_off)) {
            return bad(out, lim);
        }

        if (is_host_name(line, name_len)) {
            field_is_host = 1;
            if (out->host != NULL) {
                return bad(out, lim);
            }
            vstart = value_off;
            vend = n;
            while (vstart < vend && is_ows((unsigned char)line[vstart])) {
                vstart++;
            }
            while (vend > vstart && is_ows((unsigned char)line[vend - 1])) {
                vend--;
            }
            /* Non-NULL even when empty: "Host:" is present, and empty. */
            out->host = line + vstart;
            out->host_len = vend - vstart;
        }
        pos = next;
    }

    return verdict(out, out->host != NULL ? PH_HEAD_ROUTABLE
                                          : PH_HEAD_NEED_MORE);
}

/* PROXY protocol (haproxy.org proxy-protocol.txt): v1 is one text line
 * of at most 107 bytes with its CRLF; v2 a 16-byte header whose last two
 * bytes are the big-endian length of the addresses that follow. */
#define PROXY_V1_MAX 107
#define PROXY_V2_HEAD 16

size_t ph_head_proxy_preamble(const char *buf, size_t len)
{
    static const char v1[] = "PROXY ";
    static const char v2[] = "\r\n\r\n\0\r\nQUIT\n";
    const size_t v1_len = sizeof(v1) - 1, v2_len = sizeof(v2) - 1;
    size_t i;

    if (len == 0) {
        return PH_PREAMBLE_NEED_MORE;
    }
    if (memcmp(buf, v2, len < v2_len ? len : v2_len) == 0) {
        size_t total;

        if (len < PROXY_V2_HEAD) {
            return PH_PREAMBLE_NEED_MORE;
        }
        total = PROXY_V2_HEAD + (((size_t)(unsigned char)buf[14] << 8)
                                 | (unsigned char)buf[15]);
        return len < total ? PH_PREAMBLE_NEED_MORE : total;
    }
    if (memcmp(buf, v1, len < v1_len ? len : v1_len) != 0) {
        return PH_PREAMBLE_NONE;
    }
    for (i = v1_len; i + 1 < len && i + 1 < PROXY_V1_MAX; i++) {
        if (buf[i] == '\r' && buf[i + 1] == '\n') {
            return i + 2;
        }
    }
    return len < PROXY_V1_MAX ? PH_PREAMBLE_NEED_MORE : PH_PREAMBLE_NONE;
}
