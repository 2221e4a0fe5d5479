/*
 * shm_escape.c -- strings read from the segment, made safe to print (see
 * ph_escape.h).  One pass per output, one table-free rule per byte.
 */
#include <string.h>

#include "ph_escape.h"

typedef struct sink {
    char *out;
    size_t size, len;
    int full;                   /* a sequence did not fit: stop */
} sink;

static const char hex[] = "0123456789abcdef";

static void put(sink *s, const char *seq, size_t n)
{
    if (s->full || s->size == 0 || s->len + n >= s->size) {
        s->full = 1;
        return;
    }
    memcpy(s->out + s->len, seq, n);
    s->len += n;
}

/* seq = prefix + two hex digits of c */
static void put_hex(sink *s, const char *prefix, unsigned char c)
{
    char seq[8];
    size_t n = strlen(prefix);

    memcpy(seq, prefix, n);
    seq[n] = hex[c >> 4];
    seq[n + 1] = hex[c & 15];
    put(s, seq, n + 2);
}

static int printable(unsigned char c)
{
    return c >= 0x20 && c < 0x7f;
}

static int name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

typedef void escape_byte_fn(sink *s, unsigned char c);

static void key_byte(sink *s, unsigned char c)
{
    if (name_char(c)) {
        put(s, (const char *)&c, 1);
    }
    else {
        put_hex(s, "%", c);
    }
}

static void json_byte(sink *s, unsigned char c)
{
    if (c == '"' || c == '\\') {
        char seq[2] = { '\\', (char)c };
        put(s, seq, 2);
    }
    else if (printable(c)) {
        put(s, (const char *)&c, 1);
    }
    else {
        put_hex(s, "\\u00", c);
    }
}

static void term_byte(sink *s, unsigned char c)
{
    if (c == '\\') {
        put(s, "\\\\", 2);
    }
    else if (printable(c)) {
        put(s, (const char *)&c, 1);
    }
    else {
        put_hex(s, "\\x", c);
    }
}

static void html_byte(sink *s, unsigned char c)
{
    switch (c) {
    case '&':
        put(s, "&amp;", 5);
        break;
    case '<':
        put(s, "&lt;", 4);
        break;
    case '>':
        put(s, "&gt;", 4);
        break;
    case '"':
        put(s, "&quot;", 6);
        break;
    case '\'':
        put(s, "&#39;", 5);
        break;
    default:
        term_byte(s, c);
        break;
    }
}

static size_t escape(escape_byte_fn *fn, char *out, size_t size,
                     const char *in, size_t in_max)
{
    sink s = { out, size, 0, 0 };
    size_t i;

    for (i = 0; in && i < in_max && in[i] && !s.full; i++) {
        fn(&s, (unsigned char)in[i]);
    }
    if (size > 0) {
        out[s.len] = '\0';
    }
    return s.len;
}

size_t ph_escape_key(char *out, size_t size, const char *in, size_t in_max)
{
    return escape(key_byte, out, size, in, in_max);
}

size_t ph_escape_json(char *out, size_t size, const char *in, size_t in_max)
{
    return escape(json_byte, out, size, in, in_max);
}

size_t ph_escape_term(char *out, size_t size, const char *in, size_t in_max)
{
    return escape(term_byte, out, size, in, in_max);
}

size_t ph_escape_html(char *out, size_t size, const char *in, size_t in_max)
{
    return escape(html_byte, out, size, in, in_max);
}
