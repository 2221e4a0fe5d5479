/*
 * test_head_parse.c -- CUnit suite for server/mpm/peruser_hybrid/head_parse.c.
 *
 * Every input is copied into a heap block of exactly its length before it
 * is parsed, so that under AddressSanitizer (make unit-asan) or valgrind a
 * read of even one byte past len is reported, not hidden by a larger
 * string literal or stack array around it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "head_parse.h"
#include "unit_suites.h"

/* httpd's defaults: LimitRequestLine, LimitRequestFieldSize,
 * LimitRequestFields. */
static const ph_head_limits defaults = { 8190, 8190, 100, 0 };

/* The exact-size copy of the last input; the ph_head's pointers point
 * into it, so it lives until the next parse. */
static char *cur;

static ph_head_verdict parse_lim(const char *s, size_t n,
                                 const ph_head_limits *lim, ph_head *h)
{
    free(cur);
    /* malloc(0) may return NULL; one spare byte beyond n is never read
     * because it is never handed over (n is the length). */
    cur = malloc(n ? n : 1);
    if (cur == NULL) {
        /* Not an assertion: this runs half a million times in the random
         * test and would swamp the assertion count. */
        fprintf(stderr, "test_head_parse: out of memory\n");
        abort();
    }
    if (n) {
        memcpy(cur, s, n);
    }
    return ph_head_parse(cur, n, lim, h);
}

/* For string literals, which may contain NUL bytes. */
#define PARSE(lit, h) parse_lim((lit), sizeof(lit) - 1, &defaults, (h))
#define PARSE_LIM(lit, lim, h) parse_lim((lit), sizeof(lit) - 1, (lim), (h))

/* A (pointer, length) field equals a C string. */
static int span_eq(const char *p, size_t n, const char *want)
{
    return p != NULL && n == strlen(want) && memcmp(p, want, n) == 0;
}

static int suite_cleanup(void)
{
    free(cur);
    cur = NULL;
    return 0;
}

/* Every enum value, for "is the verdict one of them" checks. */
static int is_verdict(ph_head_verdict v)
{
    switch (v) {
    case PH_HEAD_NEED_MORE:
    case PH_HEAD_ROUTABLE:
    case PH_HEAD_BAD_REQUEST:
    case PH_HEAD_URI_TOO_LONG:
    case PH_HEAD_FIELD_TOO_LONG:
    case PH_HEAD_BY_ADDRESS:
        return 1;
    }
    return 0;
}

static int is_error(ph_head_verdict v)
{
    return v == PH_HEAD_BAD_REQUEST || v == PH_HEAD_URI_TOO_LONG
           || v == PH_HEAD_FIELD_TOO_LONG || v == PH_HEAD_BY_ADDRESS;
}

/* ---- the common case ------------------------------------------------ */

static void test_simple_get(void)
{
    static const char req[] = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
    ph_head h;

    CU_ASSERT_EQUAL(PARSE(req, &h), PH_HEAD_ROUTABLE);
    CU_ASSERT_EQUAL(h.verdict, PH_HEAD_ROUTABLE);
    CU_ASSERT(span_eq(h.method, h.method_len, "GET"));
    CU_ASSERT(span_eq(h.target, h.target_len, "/"));
    CU_ASSERT_EQUAL(h.http_major, 1);
    CU_ASSERT_EQUAL(h.http_minor, 1);
    CU_ASSERT(span_eq(h.host, h.host_len, "example.com"));
    CU_ASSERT_EQUAL(h.head_complete, 1);
    CU_ASSERT_EQUAL(h.head_len, sizeof(req) - 1);
    CU_ASSERT_EQUAL(h.fields_seen, 1);
    /* Pointers are into the caller's buffer, not copies. */
    CU_ASSERT_PTR_EQUAL(h.method, cur);
    CU_ASSERT_PTR_EQUAL(h.host, cur + 22);
}

static void test_empty_input(void)
{
    ph_head h;

    CU_ASSERT_EQUAL(ph_head_parse(NULL, 0, &defaults, &h), PH_HEAD_NEED_MORE);
    CU_ASSERT_EQUAL(h.verdict, PH_HEAD_NEED_MORE);
    CU_ASSERT_PTR_NULL(h.method);
    CU_ASSERT_PTR_NULL(h.host);
    CU_ASSERT_EQUAL(h.head_complete, 0);
    CU_ASSERT_EQUAL(PARSE("", &h), PH_HEAD_NEED_MORE);
}

/*
 * Feed every prefix of req: each must be NEED_MORE until routable_at bytes
 * (the end of the Host line, or of the head) have arrived, and ROUTABLE
 * with the expected host from there on; head_complete only for the whole.
 */
static void check_prefixes(const char *req, size_t routable_at,
                           const char *host)
{
    size_t len = strlen(req), n;
    ph_head h;

    for (n = 0; n <= len; n++) {
        ph_head_verdict v = parse_lim(req, n, &defaults, &h);

        if (n < routable_at) {
            CU_ASSERT_EQUAL(v, PH_HEAD_NEED_MORE);
            CU_ASSERT_PTR_NULL(h.host);
        }
        else {
            CU_ASSERT_EQUAL(v, PH_HEAD_ROUTABLE);
            CU_ASSERT(span_eq(h.method, h.method_len, "GET"));
            CU_ASSERT(span_eq(h.target, h.target_len, "/index.html?q=1"));
            if (host != NULL) {
                CU_ASSERT(span_eq(h.host, h.host_len, host));
            }
            else {
                CU_ASSERT_PTR_NULL(h.host);
            }
        }
        CU_ASSERT_EQUAL(h.head_complete, n == len);
        CU_ASSERT_EQUAL(h.head_len, n == len ? len : 0);
    }
}

static void test_prefixes_crlf(void)
{
    static const char req[] =
        "GET /index.html?q=1 HTTP/1.1\r\n"
        "User-Agent: unit\r\n"
        "Host: example.com\r\n"
        "Accept: */*\r\n"
        "\r\n";
    const char *at = strstr(req, "Host: example.com\r\n");

    check_prefixes(req, (size_t)(at - req) + strlen("Host: example.com\r\n"),
                   "example.com");
}

static void test_prefixes_bare_lf(void)
{
    static const char req[] =
        "GET /index.html?q=1 HTTP/1.1\n"
        "Host: example.com\n"
        "Accept: */*\n"
        "\n";
    const char *at = strstr(req, "Host: example.com\n");

    check_prefixes(req, (size_t)(at - req) + strlen("Host: example.com\n"),
                   "example.com");
}

static void test_prefixes_without_host(void)
{
    static const char req[] =
        "GET /index.html?q=1 HTTP/1.0\r\n"
        "Accept: */*\r\n"
        "\r\n";

    /* Only the blank line makes a Host-less head routable. */
    check_prefixes(req, strlen(req), NULL);
}

static void test_head_complete_and_body(void)
{
    static const char req[] = "POST /f HTTP/1.0\r\nContent-Length: 4\r\n\r\n"
                              "\0\r\n\x01";
    ph_head h;

    /* Bytes after the head are the body: not parsed, not counted. */
    CU_ASSERT_EQUAL(PARSE(req, &h), PH_HEAD_ROUTABLE);
    CU_ASSERT_PTR_NULL(h.host);
    CU_ASSERT_EQUAL(h.head_complete, 1);
    CU_ASSERT_EQUAL(h.head_len, sizeof(req) - 1 - 4);
    CU_ASSERT_EQUAL(h.fields_seen, 1);
    CU_ASSERT_EQUAL(h.http_major, 1);
    CU_ASSERT_EQUAL(h.http_minor, 0);

    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.0\r\n\r\n", &h), PH_HEAD_ROUTABLE);
    CU_ASSERT_EQUAL(h.head_len, 18);
    CU_ASSERT_EQUAL(h.fields_seen, 0);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.0\n\n", &h), PH_HEAD_ROUTABLE);
    CU_ASSERT_EQUAL(h.head_len, 16);
}

/* ---- Host ----------------------------------------------------------- */

static void test_host_case_insensitive(void)
{
    ph_head h;

    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nhost: a.example\r\n", &h),
                    PH_HEAD_ROUTABLE);
    CU_ASSERT(span_eq(h.host, h.host_len, "a.example"));
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nHOST: b.example\r\n", &h),
                    PH_HEAD_ROUTABLE);
    CU_ASSERT(span_eq(h.host, h.host_len, "b.example"));
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nhOsT: c.example\r\n", &h),
                    PH_HEAD_ROUTABLE);
    CU_ASSERT(span_eq(h.host, h.host_len, "c.example"));
}

static void test_host_ows_trimmed(void)
{
    ph_head h;

    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nHost: \t example.com \t \r\n",
                          &h), PH_HEAD_ROUTABLE);
    CU_ASSERT(span_eq(h.host, h.host_len, "example.com"));
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nHost:example.com:8080\r\n", &h),
                    PH_HEAD_ROUTABLE);
    CU_ASSERT(span_eq(h.host, h.host_len, "example.com:8080"));
    /* Inner whitespace is kept: judging the host name is not our job. */
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nHost: a b\r\n", &h),
                    PH_HEAD_ROUTABLE);
    CU_ASSERT(span_eq(h.host, h.host_len, "a b"));
}

static void test_host_empty(void)
{
    ph_head h;

    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nHost:\r\n", &h),
                    PH_HEAD_ROUTABLE);
    CU_ASSERT_PTR_NOT_NULL(h.host);
    CU_ASSERT_EQUAL(h.host_len, 0);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nHost: \t \r\n", &h),
                    PH_HEAD_ROUTABLE);
    CU_ASSERT_PTR_NOT_NULL(h.host);
    CU_ASSERT_EQUAL(h.host_len, 0);
    CU_ASSERT_EQUAL(h.head_complete, 0);
}

static void test_host_lookalikes(void)
{
    ph_head h;

    /* Fields whose names merely contain "host" do not route. */
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nHostname: a\r\nX-Host: b\r\n"
                          "Hos: c\r\nHost-: d\r\n", &h), PH_HEAD_NEED_MORE);
    CU_ASSERT_PTR_NULL(h.host);
    CU_ASSERT_EQUAL(h.fields_seen, 4);
}

static void test_two_hosts(void)
{
    static const char req[] =
        "GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n";
    ph_head h;

    CU_ASSERT_EQUAL(PARSE(req, &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nhost: a\r\n",
                          &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nHost:\r\nHost:\r\n", &h),
                    PH_HEAD_BAD_REQUEST);
    /* Until the second Host line is complete, the first one routes. */
    CU_ASSERT_EQUAL(parse_lim(req, 34, &defaults, &h), PH_HEAD_ROUTABLE);
    CU_ASSERT(span_eq(h.host, h.host_len, "a.example"));
    CU_ASSERT_EQUAL(parse_lim(req, sizeof(req) - 1 - 3, &defaults, &h),
                    PH_HEAD_ROUTABLE);
    CU_ASSERT_EQUAL(parse_lim(req, sizeof(req) - 1 - 2, &defaults, &h),
                    PH_HEAD_BAD_REQUEST);
}

static void test_lines_after_host_checked(void)
{
    ph_head h;

    /* Complete lines already received after Host are still judged ... */
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nHost: a\r\nBad line\r\n", &h),
                    PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n", &h),
                    PH_HEAD_BAD_REQUEST);
    /* ... but an incomplete one is not waited for. */
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nHost: a\r\nBad line", &h),
                    PH_HEAD_ROUTABLE);
    CU_ASSERT(span_eq(h.host, h.host_len, "a"));
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nHost: a\r\nX: \x01", &h),
                    PH_HEAD_ROUTABLE);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\n", &h),
                    PH_HEAD_ROUTABLE);
    CU_ASSERT_EQUAL(h.head_complete, 1);
    CU_ASSERT_EQUAL(h.fields_seen, 2);
}

/* ---- request line ---------------------------------------------------- */

static void test_http09(void)
{
    ph_head h;

    /* HTTP/0.9 has no header lines: the request line is the head.
     * httpd's default HttpProtocolOptions (Allow0.9) serves it. */
    CU_ASSERT_EQUAL(PARSE("GET /\r\n", &h), PH_HEAD_ROUTABLE);
    CU_ASSERT_EQUAL(h.http_major, 0);
    CU_ASSERT_EQUAL(h.http_minor, 9);
    CU_ASSERT(h.head_complete);
    CU_ASSERT_EQUAL(h.head_len, 7);
    CU_ASSERT_PTR_NULL(h.host);
    CU_ASSERT(span_eq(h.target, h.target_len, "/"));
    CU_ASSERT_EQUAL(PARSE("GET /\n", &h), PH_HEAD_ROUTABLE);
    CU_ASSERT_EQUAL(h.http_minor, 9);
    /* Before the line end it might still get a version. */
    CU_ASSERT_EQUAL(PARSE("GET /", &h), PH_HEAD_NEED_MORE);
}

static void test_absolute_form(void)
{
    ph_head h;

    CU_ASSERT_EQUAL(PARSE("GET http://example.com:8080/a?b HTTP/1.1\r\n"
                          "Host: example.com:8080\r\n", &h),
                    PH_HEAD_ROUTABLE);
    CU_ASSERT(span_eq(h.target, h.target_len, "http://example.com:8080/a?b"));
    /* Without Host it routes once the head is complete; the caller takes
     * the host from the target. */
    CU_ASSERT_EQUAL(PARSE("GET http://example.com/ HTTP/1.1\r\n", &h),
                    PH_HEAD_NEED_MORE);
    CU_ASSERT_EQUAL(PARSE("GET http://example.com/ HTTP/1.1\r\n\r\n", &h),
                    PH_HEAD_ROUTABLE);
    CU_ASSERT(span_eq(h.target, h.target_len, "http://example.com/"));
    CU_ASSERT_PTR_NULL(h.host);
}

static void test_connect_and_asterisk(void)
{
    ph_head h;

    CU_ASSERT_EQUAL(PARSE("CONNECT example.com:443 HTTP/1.1\r\n"
                          "Host: example.com:443\r\n", &h),
                    PH_HEAD_ROUTABLE);
    CU_ASSERT(span_eq(h.method, h.method_len, "CONNECT"));
    CU_ASSERT(span_eq(h.target, h.target_len, "example.com:443"));
    CU_ASSERT_EQUAL(PARSE("OPTIONS * HTTP/1.1\r\nHost: x\r\n", &h),
                    PH_HEAD_ROUTABLE);
    CU_ASSERT(span_eq(h.target, h.target_len, "*"));
}

static void test_methods(void)
{
    ph_head h;

    CU_ASSERT_EQUAL(PARSE("M-SEARCH * HTTP/1.1\r\nHost: x\r\n", &h),
                    PH_HEAD_ROUTABLE);
    CU_ASSERT(span_eq(h.method, h.method_len, "M-SEARCH"));
    /* Every tchar punctuation character. */
    CU_ASSERT_EQUAL(PARSE("a!#$%&'*+-.^_`|~Z9 / HTTP/1.1\r\nHost: x\r\n", &h),
                    PH_HEAD_ROUTABLE);
    CU_ASSERT(span_eq(h.method, h.method_len, "a!#$%&'*+-.^_`|~Z9"));

    CU_ASSERT_EQUAL(PARSE("G(ET / HTTP/1.1\r\n", &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("G\"ET / HTTP/1.1\r\n", &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GE:T / HTTP/1.1\r\n", &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("G\x80" "ET / HTTP/1.1\r\n", &h),
                    PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET\r\n", &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET \r\n", &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE(" / HTTP/1.1\r\n", &h), PH_HEAD_BAD_REQUEST);
}

static void test_request_line_whitespace(void)
{
    ph_head h;

    CU_ASSERT_EQUAL(PARSE(" GET / HTTP/1.1\r\n", &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET  / HTTP/1.1\r\n", &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET /  HTTP/1.1\r\n", &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1 \r\n", &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET\t/ HTTP/1.1\r\n", &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET /\tHTTP/1.1\r\n", &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\t\r\n", &h), PH_HEAD_BAD_REQUEST);
}

static void test_versions(void)
{
    ph_head h;

    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.0\r\nHost: x\r\n", &h),
                    PH_HEAD_ROUTABLE);
    CU_ASSERT_EQUAL(h.http_major, 1);
    CU_ASSERT_EQUAL(h.http_minor, 0);
    /* Syntactically valid: whether 2.0 or 3.7 is served is httpd's call. */
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/3.7\r\nHost: x\r\n", &h),
                    PH_HEAD_ROUTABLE);
    CU_ASSERT_EQUAL(h.http_major, 3);
    CU_ASSERT_EQUAL(h.http_minor, 7);

    CU_ASSERT_EQUAL(PARSE("GET / http/1.1\r\n", &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1\r\n", &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.\r\n", &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.10\r\n", &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/11.1\r\n", &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/a.1\r\n", &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1,1\r\n", &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET / HTTPS/1.1\r\n", &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1x\r\n", &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1 HTTP/1.1\r\n", &h),
                    PH_HEAD_BAD_REQUEST);
}

static void test_target_chars(void)
{
    ph_head h;

    /* obs-text (bytes >= 0x80) is let through, as httpd does. */
    CU_ASSERT_EQUAL(PARSE("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n", &h),
                    PH_HEAD_ROUTABLE);
    CU_ASSERT(span_eq(h.target, h.target_len, "/caf\xc3\xa9"));
    CU_ASSERT_EQUAL(PARSE("GET /a\x7f" "b HTTP/1.1\r\n", &h),
                    PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET /a\x01" "b HTTP/1.1\r\n", &h),
                    PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET /a\x1f" "b HTTP/1.1\r\n", &h),
                    PH_HEAD_BAD_REQUEST);
}

static void test_leading_blank_lines(void)
{
    ph_head h;

    CU_ASSERT_EQUAL(PARSE("\r\nGET / HTTP/1.1\r\nHost: x\r\n", &h),
                    PH_HEAD_ROUTABLE);
    CU_ASSERT_PTR_EQUAL(h.method, cur + 2);
    CU_ASSERT_EQUAL(PARSE("\n\r\n\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", &h),
                    PH_HEAD_ROUTABLE);
    CU_ASSERT_EQUAL(h.head_len, sizeof("\n\r\n\nGET / HTTP/1.1\r\nHost: x\r\n"
                                       "\r\n") - 1);
    CU_ASSERT_EQUAL(PARSE("\r\n\r\n", &h), PH_HEAD_NEED_MORE);
    CU_ASSERT_EQUAL(PARSE("\r\n\r", &h), PH_HEAD_NEED_MORE);

    /* httpd skips ten; an eleventh empty line is the request line. */
    CU_ASSERT_EQUAL(PARSE("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
                          "GET / HTTP/1.1\r\nHost: x\r\n", &h),
                    PH_HEAD_ROUTABLE);
    CU_ASSERT_EQUAL(PARSE("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n", &h),
                    PH_HEAD_NEED_MORE);
    CU_ASSERT_EQUAL(PARSE("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n", &h),
                    PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("\n\n\n\n\n\n\n\n\n\n\n", &h), PH_HEAD_BAD_REQUEST);
}

/* ---- line ends, CR, NUL ------------------------------------------------ */

static void test_bare_lf(void)
{
    ph_head h;

    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\nHost: x\n", &h), PH_HEAD_ROUTABLE);
    CU_ASSERT(span_eq(h.host, h.host_len, "x"));
    CU_ASSERT(span_eq(h.target, h.target_len, "/"));
    /* Mixed line ends. */
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nA: b\nHost: x\r\n\n", &h),
                    PH_HEAD_ROUTABLE);
    CU_ASSERT_EQUAL(h.head_complete, 1);
    CU_ASSERT_EQUAL(h.fields_seen, 2);
}

static void test_cr_in_line(void)
{
    ph_head h;

    CU_ASSERT_EQUAL(PARSE("GET /\rx HTTP/1.1\r\n", &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\r\n", &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\rHost: x\r\n", &h),
                    PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nHost: a\rb\r\n", &h),
                    PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nHost: x\r\r\n", &h),
                    PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nHo\rst: x\r\n", &h),
                    PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("\r\r\nGET / HTTP/1.1\r\n", &h),
                    PH_HEAD_BAD_REQUEST);
    /* A line is judged when its LF arrives; a CR at the very end may be
     * the first half of a CRLF. */
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r", &h), PH_HEAD_NEED_MORE);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\rX", &h), PH_HEAD_NEED_MORE);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nHost: x\r", &h),
                    PH_HEAD_NEED_MORE);
}

static void test_nul_bytes(void)
{
    ph_head h;

    CU_ASSERT_EQUAL(PARSE("\0", &h), PH_HEAD_NEED_MORE);
    CU_ASSERT_EQUAL(PARSE("\0\r\n", &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("G\0T / HTTP/1.1\r\n", &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET /\0 HTTP/1.1\r\n", &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\0\r\n", &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1\0001\r\n", &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nHo\0st: x\r\n", &h),
                    PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nHost: x\0y\r\n", &h),
                    PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nHost: x\0\r\n", &h),
                    PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\n\0\r\n", &h),
                    PH_HEAD_BAD_REQUEST);
}

/* ---- header lines ------------------------------------------------------ */

static void test_field_syntax(void)
{
    ph_head h;

    /* No colon. */
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nHost x\r\n", &h),
                    PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nFoo\r\n", &h),
                    PH_HEAD_BAD_REQUEST);
    /* Whitespace before the colon. */
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nHost : x\r\n", &h),
                    PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nHost\t: x\r\n", &h),
                    PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nFoo : x\r\nHost: y\r\n", &h),
                    PH_HEAD_BAD_REQUEST);
    /* Empty name. */
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\n: x\r\n", &h),
                    PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\n:\r\n", &h),
                    PH_HEAD_BAD_REQUEST);
    /* Names must be tokens. */
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nX(y): 1\r\n", &h),
                    PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nX\x80: 1\r\n", &h),
                    PH_HEAD_BAD_REQUEST);
    /* Empty values and colons inside the value are fine. */
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nX:\r\nY: a:b::\r\n\r\n", &h),
                    PH_HEAD_ROUTABLE);
    CU_ASSERT_EQUAL(h.fields_seen, 2);
}

static void test_obs_fold(void)
{
    ph_head h;

    /* httpd unfolds obs-fold into the previous field and serves the
     * request (checked against stock mpm_event by the integration test
     * test_bad_input.py, case folded-header-before-host). */
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nX-A: 1\r\n 2\r\nHost: x\r\n",
                          &h), PH_HEAD_ROUTABLE);
    CU_ASSERT_EQUAL(h.fields_seen, 2);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nX-A: 1\r\n\t2\r\nHost: x\r\n",
                          &h), PH_HEAD_ROUTABLE);
    /* The unfolded length counts against LimitRequestFieldSize. */
    {
        ph_head_limits small = { 100, 10, 100, 0 };
        CU_ASSERT_EQUAL(ph_head_parse("GET / HTTP/1.1\r\nX: 12345\r\n 678\r\n",
                                      32, &small, &h), PH_HEAD_FIELD_TOO_LONG);
        CU_ASSERT_EQUAL(ph_head_parse("GET / HTTP/1.1\r\nX: 1234\r\n 56\r\nHost: a\r\n",
                                      39, &small, &h), PH_HEAD_ROUTABLE);
    }
    /* A folded Host unfolds to a value with a space: not a host name. */
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nHost: x\r\n y\r\n", &h),
                    PH_HEAD_BAD_REQUEST);
    /* A folded first header line has nothing to continue. */
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\n Host: x\r\n", &h),
                    PH_HEAD_BAD_REQUEST);
    /* A blank-looking line of whitespace is not the end of the head. */
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\n \r\n", &h),
                    PH_HEAD_BAD_REQUEST);
}

static void test_value_controls(void)
{
    ph_head h;

    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nX: a\tb\r\nHost: x\r\n", &h),
                    PH_HEAD_ROUTABLE);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nX: \xff\x80\r\nHost: x\r\n", &h),
                    PH_HEAD_ROUTABLE);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nX: a\x01" "b\r\nHost: x\r\n",
                          &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nX: a\x1b[0m\r\nHost: x\r\n", &h),
                    PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nX: a\x7f\r\nHost: x\r\n", &h),
                    PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nHost: x\x0b\r\n", &h),
                    PH_HEAD_BAD_REQUEST);
}

/* ---- limits ------------------------------------------------------------ */

static void test_request_line_limit(void)
{
    /* "GET /abcdef HTTP/1.1" is 20 bytes: httpd takes a line of
     * LimitRequestLine + 1 bytes (its CR fits the limit + 2 buffer, the
     * LF may overrun), so 19 is the smallest limit that admits it. */
    const ph_head_limits at = { 19, 8190, 100, 0 };
    const ph_head_limits under = { 18, 8190, 100, 0 };
    ph_head h;

    CU_ASSERT_EQUAL(PARSE_LIM("GET /abcdef HTTP/1.1\r\nHost: x\r\n", &at, &h),
                    PH_HEAD_ROUTABLE);
    CU_ASSERT_EQUAL(PARSE_LIM("GET /abcdef HTTP/1.1\nHost: x\n", &at, &h),
                    PH_HEAD_ROUTABLE);
    CU_ASSERT_EQUAL(PARSE_LIM("GET /abcdef HTTP/1.1\r\nHost: x\r\n", &under,
                              &h), PH_HEAD_URI_TOO_LONG);
    CU_ASSERT_EQUAL(PARSE_LIM("GET /abcdef HTTP/1.1\nHost: x\n", &under, &h),
                    PH_HEAD_URI_TOO_LONG);

    /* Without a line end: exactly the limit may still end in time ... */
    CU_ASSERT_EQUAL(PARSE_LIM("GET /abcdef HTTP/1.1", &at, &h),
                    PH_HEAD_NEED_MORE);
    CU_ASSERT_EQUAL(PARSE_LIM("GET /abcdef HTTP/1.1\r", &at, &h),
                    PH_HEAD_NEED_MORE);
    /* ... one byte more cannot. */
    CU_ASSERT_EQUAL(PARSE_LIM("GET /abcdef HTTP/1.1x", &at, &h),
                    PH_HEAD_URI_TOO_LONG);
    CU_ASSERT_EQUAL(PARSE_LIM("GET /abcdef HTTP/1.1\rx", &at, &h),
                    PH_HEAD_URI_TOO_LONG);
    CU_ASSERT_EQUAL(PARSE_LIM("GET /abcdef HTTP/1.", &under, &h),
                    PH_HEAD_NEED_MORE);
    CU_ASSERT_EQUAL(PARSE_LIM("GET /abcdef HTTP/1.1", &under, &h),
                    PH_HEAD_URI_TOO_LONG);
    /* Garbage is judged bad when its line ends within the limit, and too
     * long when it does not: httpd measures a line before parsing it. */
    CU_ASSERT_EQUAL(PARSE_LIM("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a"
                              "\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15",
                              &at, &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE_LIM("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0b"
                              "\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15",
                              &at, &h), PH_HEAD_URI_TOO_LONG);
    /* Leading blank lines do not count towards it. */
    CU_ASSERT_EQUAL(PARSE_LIM("\r\n\r\nGET /abcdef HTTP/1.1\r\nHost: x\r\n",
                              &at, &h), PH_HEAD_ROUTABLE);
}

static void test_request_line_limit_default(void)
{
    static char line[8190 + 64];
    ph_head h;
    size_t n;

    /* "GET /" + padding + " HTTP/1.1" exactly 8190 bytes, then 8192
     * (8191 is still taken: the limit + 1 rule above). */
    memcpy(line, "GET /", 5);
    memset(line + 5, 'a', 8190 - 5 - 9);
    memcpy(line + 8190 - 9, " HTTP/1.1\r\nHost: x\r\n", 20);
    n = 8190 + 11;
    CU_ASSERT_EQUAL(parse_lim(line, n, &defaults, &h), PH_HEAD_ROUTABLE);
    CU_ASSERT_EQUAL(h.target_len, 8190 - 5 - 9 + 1);

    memcpy(line, "GET /", 5);
    memset(line + 5, 'a', 8191 - 5 - 9);
    memcpy(line + 8191 - 9, " HTTP/1.1\r\nHost: x\r\n", 20);
    CU_ASSERT_EQUAL(parse_lim(line, 8191 + 11, &defaults, &h),
                    PH_HEAD_ROUTABLE);

    memcpy(line, "GET /", 5);
    memset(line + 5, 'a', 8192 - 5 - 9);
    memcpy(line + 8192 - 9, " HTTP/1.1\r\nHost: x\r\n", 20);
    CU_ASSERT_EQUAL(parse_lim(line, 8192 + 11, &defaults, &h),
                    PH_HEAD_URI_TOO_LONG);
    /* Partial: 8191 bytes of line are not yet too long, 8192 are. */
    CU_ASSERT_EQUAL(parse_lim(line, 8191, &defaults, &h), PH_HEAD_NEED_MORE);
    CU_ASSERT_EQUAL(parse_lim(line, 8192, &defaults, &h),
                    PH_HEAD_URI_TOO_LONG);
}

static void test_field_limit(void)
{
    /* "Host: example.com" is 17 bytes, "X-Long: 1234567890" 18; a field
     * line may be LimitRequestFieldSize + 1 bytes, as a request line. */
    const ph_head_limits at = { 8190, 16, 100, 0 };
    const ph_head_limits under = { 8190, 15, 100, 0 };
    ph_head h;

    CU_ASSERT_EQUAL(PARSE_LIM("GET / HTTP/1.1\r\nHost: example.com\r\n", &at,
                              &h), PH_HEAD_ROUTABLE);
    CU_ASSERT_EQUAL(PARSE_LIM("GET / HTTP/1.1\r\nHost: example.com\r\n",
                              &under, &h), PH_HEAD_FIELD_TOO_LONG);
    CU_ASSERT_EQUAL(PARSE_LIM("GET / HTTP/1.1\nHost: example.com\n", &under,
                              &h), PH_HEAD_FIELD_TOO_LONG);
    /* Partial lines: at the limit wait, one over is final. */
    CU_ASSERT_EQUAL(PARSE_LIM("GET / HTTP/1.1\r\nHost: example.com\r", &at,
                              &h), PH_HEAD_NEED_MORE);
    CU_ASSERT_EQUAL(PARSE_LIM("GET / HTTP/1.1\r\nHost: example.com", &at, &h),
                    PH_HEAD_NEED_MORE);
    CU_ASSERT_EQUAL(PARSE_LIM("GET / HTTP/1.1\r\nHost: example.comx", &at,
                              &h), PH_HEAD_FIELD_TOO_LONG);
    CU_ASSERT_EQUAL(PARSE_LIM("GET / HTTP/1.1\r\nHost: example.com", &under,
                              &h), PH_HEAD_FIELD_TOO_LONG);
    /* A long line before Host, and one after it in the same buffer. */
    CU_ASSERT_EQUAL(PARSE_LIM("GET / HTTP/1.1\r\nX-Long: 1234567890\r\n"
                              "Host: example.com\r\n", &at, &h),
                    PH_HEAD_FIELD_TOO_LONG);
    CU_ASSERT_EQUAL(PARSE_LIM("GET / HTTP/1.1\r\nHost: example.com\r\n"
                              "X-Long: 1234567890\r\n", &at, &h),
                    PH_HEAD_FIELD_TOO_LONG);
    CU_ASSERT_EQUAL(PARSE_LIM("GET / HTTP/1.1\r\nHost: example.com\r\n"
                              "X-Long: 123456789", &at, &h),
                    PH_HEAD_ROUTABLE);
    /* Too long beats malformed. */
    CU_ASSERT_EQUAL(PARSE_LIM("GET / HTTP/1.1\r\nno colon in this line\r\n",
                              &at, &h), PH_HEAD_FIELD_TOO_LONG);
    /* The request line is not held to the field limit. */
    CU_ASSERT_EQUAL(PARSE_LIM("GET /aaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: x"
                              "\r\n", &under, &h), PH_HEAD_ROUTABLE);
}

static void test_limit_fields(void)
{
    const ph_head_limits two = { 8190, 8190, 2, 0 };
    const ph_head_limits unlimited = { 8190, 8190, 0, 0 };
    static char many[64 + 300 * 8];
    size_t n;
    int i;
    ph_head h;

    CU_ASSERT_EQUAL(PARSE_LIM("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n", &two,
                              &h), PH_HEAD_ROUTABLE);
    CU_ASSERT_EQUAL(h.fields_seen, 2);
    CU_ASSERT_EQUAL(PARSE_LIM("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n",
                              &two, &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(h.fields_seen, 3);
    /* Also when Host came early: the buffer holds a third line. */
    CU_ASSERT_EQUAL(PARSE_LIM("GET / HTTP/1.1\r\nHost: x\r\nB: 2\r\nC: 3\r\n",
                              &two, &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE_LIM("GET / HTTP/1.1\r\nHost: x\r\nB: 2\r\nC: 3",
                              &two, &h), PH_HEAD_ROUTABLE);

    /* 0 means unlimited; httpd's default of 100 refuses the 101st. */
    n = (size_t)snprintf(many, sizeof(many), "GET / HTTP/1.1\r\n");
    for (i = 0; i < 101; i++) {
        n += (size_t)snprintf(many + n, sizeof(many) - n, "X%d: 1\r\n", i);
    }
    memcpy(many + n, "\r\n", 2);
    n += 2;
    CU_ASSERT_EQUAL(parse_lim(many, n, &unlimited, &h), PH_HEAD_ROUTABLE);
    CU_ASSERT_EQUAL(h.fields_seen, 101);
    CU_ASSERT_EQUAL(parse_lim(many, n, &defaults, &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(h.fields_seen, 101);
}

static void test_zero_limits(void)
{
    const ph_head_limits zero = { 0, 0, 0, 0 };
    ph_head h;

    CU_ASSERT_EQUAL(PARSE_LIM("G", &zero, &h), PH_HEAD_NEED_MORE);
    CU_ASSERT_EQUAL(PARSE_LIM("GE", &zero, &h), PH_HEAD_URI_TOO_LONG);
    CU_ASSERT_EQUAL(PARSE_LIM("\r\n\r", &zero, &h), PH_HEAD_NEED_MORE);
    CU_ASSERT_EQUAL(PARSE_LIM("GET / HTTP/1.1\r\n", &zero, &h),
                    PH_HEAD_URI_TOO_LONG);
}

/* ---- HttpProtocolOptions Unsafe ----------------------------------------- */

static void test_lenient(void)
{
    static const ph_head_limits lenient = { 8190, 8190, 100, 1 };
    static const ph_head_limits lenient_small = { 20, 10, 2, 1 };
    ph_head h;

    /* What httpd's legacy parser may accept is not refused but left to
     * it: an odd method, extra spaces, control bytes, lower-case
     * "http/", a second Host (merged by httpd). */
    CU_ASSERT_EQUAL(PARSE("G/T / HTTP/1.0\r\n\r\n", &h), PH_HEAD_BAD_REQUEST);
    CU_ASSERT_EQUAL(PARSE_LIM("G/T / HTTP/1.0\r\n\r\n", &lenient, &h),
                    PH_HEAD_BY_ADDRESS);
    CU_ASSERT_EQUAL(PARSE_LIM("GET / HTTP/1.0  \r\nHost: x\r\n\r\n",
                              &lenient, &h), PH_HEAD_BY_ADDRESS);
    CU_ASSERT_EQUAL(PARSE_LIM("GET  / http/1.0\r\n", &lenient, &h),
                    PH_HEAD_BY_ADDRESS);
    CU_ASSERT_EQUAL(PARSE_LIM("GET / HTTP/1.0\r\nFoo: b\x01ar\r\n\r\n",
                              &lenient, &h), PH_HEAD_BY_ADDRESS);
    CU_ASSERT_EQUAL(PARSE_LIM("GET / HTTP/1.0\r\nF\x01o: bar\r\n\r\n",
                              &lenient, &h), PH_HEAD_BY_ADDRESS);
    CU_ASSERT_EQUAL(PARSE_LIM("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n",
                              &lenient, &h), PH_HEAD_BY_ADDRESS);
    CU_ASSERT_EQUAL(PARSE_LIM("GET / HTTP/1.0\r\nFoo: b\0ar\r\n\r\n",
                              &lenient, &h), PH_HEAD_BY_ADDRESS);

    /* A first byte no method starts with is handed on at once, before
     * any line end or limit (a TLS ClientHello has neither). */
    CU_ASSERT_EQUAL(PARSE_LIM("\x16\x03\x01\x02\x00\x01", &lenient, &h),
                    PH_HEAD_BY_ADDRESS);
    CU_ASSERT_EQUAL(PARSE_LIM("\x16", &lenient, &h), PH_HEAD_BY_ADDRESS);
    CU_ASSERT_EQUAL(PARSE_LIM("\r\n/echo", &lenient, &h), PH_HEAD_BY_ADDRESS);
    CU_ASSERT_EQUAL(PARSE("\x16\x03\x01\x02\x00\x01", &h), PH_HEAD_NEED_MORE);
    CU_ASSERT_EQUAL(PARSE_LIM("GE", &lenient, &h), PH_HEAD_NEED_MORE);

    /* A well-formed head routes as under the strict rules. */
    CU_ASSERT_EQUAL(PARSE_LIM("GET /x HTTP/1.1\r\nHost: a.example\r\n",
                              &lenient, &h), PH_HEAD_ROUTABLE);
    CU_ASSERT(span_eq(h.host, h.host_len, "a.example"));
    CU_ASSERT(span_eq(h.target, h.target_len, "/x"));
    CU_ASSERT_EQUAL(PARSE_LIM("GET / HTTP/1.1\r\nHos", &lenient, &h),
                    PH_HEAD_NEED_MORE);

    /* Limits hold in every mode, as in httpd. */
    CU_ASSERT_EQUAL(PARSE_LIM("GET /aaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n",
                              &lenient_small, &h), PH_HEAD_URI_TOO_LONG);
    CU_ASSERT_EQUAL(PARSE_LIM("GET / HTTP/1.1\r\nX-Long: 0123456789\r\n",
                              &lenient_small, &h), PH_HEAD_FIELD_TOO_LONG);
    CU_ASSERT_EQUAL(PARSE_LIM("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n",
                              &lenient_small, &h), PH_HEAD_BAD_REQUEST);
}

/* ---- PROXY protocol preamble -------------------------------------------- */

static size_t preamble(const char *s, size_t n)
{
    free(cur);
    cur = malloc(n ? n : 1);
    if (cur == NULL) {
        abort();
    }
    if (n) {
        memcpy(cur, s, n);
    }
    return ph_head_proxy_preamble(cur, n);
}

#define PREAMBLE(lit) preamble((lit), sizeof(lit) - 1)

static void test_proxy_preamble(void)
{
    static const char v1[] = "PROXY TCP4 192.168.192.66 192.168.192.77 "
                             "1111 2222\r\n";
    static const char v2[] = "\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c"
                             "\xc0\xa8\xc0\x42\xc0\xa8\xc0\x4d\x04\x57\x08\xae"
                             "GET / HTTP/1.1\r\n";
    char line[200];
    size_t k;

    /* v1: the line with its CRLF, whatever it says */
    CU_ASSERT_EQUAL(PREAMBLE(v1), sizeof(v1) - 1);
    CU_ASSERT_EQUAL(PREAMBLE("PROXY FOO x\r\nGET / HTTP/1.1\r\n"), 13);
    for (k = 0; k < sizeof(v1) - 1; k++) {
        CU_ASSERT_EQUAL(preamble(v1, k), PH_PREAMBLE_NEED_MORE);
    }
    /* v2: 16 bytes and the length they give (here 12) */
    CU_ASSERT_EQUAL(PREAMBLE(v2), 28);
    for (k = 0; k < 28; k++) {
        CU_ASSERT_EQUAL(preamble(v2, k), PH_PREAMBLE_NEED_MORE);
    }
    /* not one */
    CU_ASSERT_EQUAL(PREAMBLE("GET / HTTP/1.1\r\n"), PH_PREAMBLE_NONE);
    CU_ASSERT_EQUAL(PREAMBLE("PROXX"), PH_PREAMBLE_NONE);
    CU_ASSERT_EQUAL(PREAMBLE("\r\nGET / HTTP/1.1\r\n"), PH_PREAMBLE_NONE);
    CU_ASSERT_EQUAL(PREAMBLE("\r\n\r\n\0\r\nQUIX\n"), PH_PREAMBLE_NONE);
    /* a v1 line longer than 107 bytes is not one */
    memset(line, 'x', sizeof(line));
    memcpy(line, "PROXY ", 6);
    memcpy(line + 105, "\r\n", 2);
    CU_ASSERT_EQUAL(preamble(line, 107), 107);
    memset(line, 'x', sizeof(line));
    memcpy(line, "PROXY ", 6);
    memcpy(line + 106, "\r\n", 2);
    CU_ASSERT_EQUAL(preamble(line, 106), PH_PREAMBLE_NEED_MORE);
    CU_ASSERT_EQUAL(preamble(line, 108), PH_PREAMBLE_NONE);
    CU_ASSERT_EQUAL(preamble(line, sizeof(line)), PH_PREAMBLE_NONE);
}

/* ---- deterministic random bytes ------------------------------------------ */

static uint32_t rng_state;

/* xorshift32: reproducible everywhere, unlike rand(). */
static uint32_t rng(void)
{
    uint32_t x = rng_state;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return rng_state = x;
}

/* p[0..n) lies inside buf[0..len), or p is NULL. */
static int span_in(const char *p, size_t n, const char *buf, size_t len)
{
    return p == NULL
           || (p >= buf && n <= len && (size_t)(p - buf) <= len - n);
}

/* Everything the result must satisfy whatever the input. */
static int head_consistent(const ph_head *h, ph_head_verdict v,
                           const char *buf, size_t len)
{
    if (!is_verdict(v) || h->verdict != v) {
        return 0;
    }
    if (!span_in(h->method, h->method_len, buf, len)
        || !span_in(h->target, h->target_len, buf, len)
        || !span_in(h->host, h->host_len, buf, len)) {
        return 0;
    }
    if (h->head_complete && (h->head_len > len || v != PH_HEAD_ROUTABLE)) {
        return 0;
    }
    if (v == PH_HEAD_ROUTABLE
        && (h->method == NULL || h->target == NULL
            || (h->host == NULL && !h->head_complete))) {
        return 0;
    }
    return 1;
}

static void test_random_bytes(void)
{
    static const char alphabet[] = "GET /HTP1.0\r\n\r\n: \tHost:host x\x80";
    static const char seed[] =
        "GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\n";
    char src[64];
    int iter, bad = 0, first_bad = -1;
    unsigned long seen[PH_HEAD_BY_ADDRESS + 1] = { 0 };

    rng_state = 0x9e3779b9u;
    for (iter = 0; iter < 20000; iter++) {
        size_t len = rng() % sizeof(src), k, i;
        ph_head_limits lim;
        ph_head_verdict prev = PH_HEAD_NEED_MORE;

        /* Half the buffers are mutations of a valid request, to reach the
         * header states; the rest mixes HTTP-ish bytes with any byte. */
        if (iter % 2 == 0) {
            size_t flips = rng() % 4;

            memcpy(src, seed, sizeof(seed) - 1);
            if (len > sizeof(seed) - 1) {
                len = sizeof(seed) - 1;
            }
            while (flips--) {
                src[rng() % (sizeof(seed) - 1)] = (char)rng();
            }
        }
        else {
            for (i = 0; i < len; i++) {
                uint32_t r = rng();

                src[i] = (r & 3) ? alphabet[(r >> 2) % (sizeof(alphabet) - 1)]
                                 : (char)(r >> 8);
            }
        }
        lim.limit_request_line = (rng() & 1) ? rng() % 40 : 8190;
        lim.limit_field_size = (rng() & 1) ? rng() % 20 : 8190;
        lim.limit_fields = rng() % 4;
        lim.lenient = (rng() % 4) == 0;

        /* Every prefix, as the multiplexer sees a growing buffer. */
        for (k = 0; k <= len; k++) {
            ph_head h;
            ph_head_verdict v = parse_lim(src, k, &lim, &h);
            int ok = head_consistent(&h, v, cur, k);

            /* As the buffer grows an error stays the same error, and a
             * routable head never goes back to needing more. */
            if (is_error(prev) ? v != prev
                               : (prev == PH_HEAD_ROUTABLE
                                  && v == PH_HEAD_NEED_MORE)) {
                ok = 0;
            }
            prev = v;
            if (is_verdict(v)) {
                seen[v]++;
            }
            if (v == PH_HEAD_BY_ADDRESS && !lim.lenient) {
                ok = 0;
            }
            if (!ok) {
                bad++;
                if (first_bad < 0) {
                    first_bad = iter;
                    fprintf(stderr, "\nhead_parse: iteration %d, prefix %zu:"
                            " verdict %d\n", iter, k, (int)v);
                }
            }
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(first_bad, -1);
    /* The inputs are only worth something if they reach every verdict. */
    CU_ASSERT(seen[PH_HEAD_NEED_MORE] > 0);
    CU_ASSERT(seen[PH_HEAD_ROUTABLE] > 0);
    CU_ASSERT(seen[PH_HEAD_BAD_REQUEST] > 0);
    CU_ASSERT(seen[PH_HEAD_URI_TOO_LONG] > 0);
    CU_ASSERT(seen[PH_HEAD_FIELD_TOO_LONG] > 0);
    CU_ASSERT(seen[PH_HEAD_BY_ADDRESS] > 0);
}

/* ---- registration ------------------------------------------------------ */

static const ph_unit_test tests[] = {
    { "simple GET", test_simple_get },
    { "empty input", test_empty_input },
    { "every prefix, CRLF", test_prefixes_crlf },
    { "every prefix, bare LF", test_prefixes_bare_lf },
    { "every prefix, no Host", test_prefixes_without_host },
    { "head complete, body after", test_head_complete_and_body },
    { "Host case-insensitive", test_host_case_insensitive },
    { "Host OWS trimmed", test_host_ows_trimmed },
    { "Host empty", test_host_empty },
    { "Host look-alike names", test_host_lookalikes },
    { "two Host headers", test_two_hosts },
    { "lines after Host", test_lines_after_host_checked },
    { "HTTP/0.9", test_http09 },
    { "absolute-form target", test_absolute_form },
    { "CONNECT and OPTIONS *", test_connect_and_asterisk },
    { "methods are tokens", test_methods },
    { "request line whitespace", test_request_line_whitespace },
    { "versions", test_versions },
    { "target characters", test_target_chars },
    { "leading blank lines", test_leading_blank_lines },
    { "bare LF", test_bare_lf },
    { "CR inside a line", test_cr_in_line },
    { "NUL bytes", test_nul_bytes },
    { "field syntax", test_field_syntax },
    { "obs-fold", test_obs_fold },
    { "control characters in values", test_value_controls },
    { "request line limit", test_request_line_limit },
    { "request line limit 8190", test_request_line_limit_default },
    { "field size limit", test_field_limit },
    { "field count limit", test_limit_fields },
    { "zero limits", test_zero_limits },
    { "lenient (HttpProtocolOptions Unsafe)", test_lenient },
    { "PROXY protocol preamble", test_proxy_preamble },
    { "20000 random buffers", test_random_bytes },
};

int ph_unit_register_head_parse(void)
{
    return ph_unit_add_suite("head_parse", suite_cleanup, tests,
                             sizeof(tests) / sizeof(tests[0]));
}
