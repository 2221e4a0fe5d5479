/*
 * test_shm_escape.c -- CUnit suite for shm/shm_escape.c: strings from the
 * segment made safe for ?auto keys, JSON, terminals and HTML.
 *
 * The hostile name is the one that forged a line in mod_status's ?auto:
 * a newline, then a complete "Peruser.bob.Requests: 9" line.
 */
#include <string.h>

#include <CUnit/CUnit.h>

#include "ph_escape.h"
#include "unit_suites.h"

#define BIG PH_ESCAPE_SIZE(256)

static const char forged[] = "x\nPeruser.bob.Requests: 9";

typedef size_t escape_fn(char *, size_t, const char *, size_t);

static escape_fn *const all[] = { ph_escape_key, ph_escape_json,
                                  ph_escape_term, ph_escape_html };

#define ALL_COUNT (sizeof(all) / sizeof(all[0]))

static void test_valid_names_unchanged(void)
{
    static const char *const names[] = { "alice", "a.b-c_9", "ENV042", "" };
    char out[BIG];
    size_t i, f;

    for (f = 0; f < ALL_COUNT; f++) {
        for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            size_t n = all[f](out, sizeof(out), names[i], 64);
            CU_ASSERT_STRING_EQUAL(out, names[i]);
            CU_ASSERT_EQUAL(n, strlen(names[i]));
        }
    }
}

static void test_key(void)
{
    char out[BIG];

    ph_escape_key(out, sizeof(out), forged, sizeof(forged));
    CU_ASSERT_STRING_EQUAL(out, "x%0aPeruser.bob.Requests%3a%209");
    ph_escape_key(out, sizeof(out), "50%", 8);
    CU_ASSERT_STRING_EQUAL(out, "50%25");
    ph_escape_key(out, sizeof(out), "\x1b[2J\x7f\xc3\xa9", 16);
    CU_ASSERT_STRING_EQUAL(out, "%1b%5b2J%7f%c3%a9");
}

/* Different names never give the same key. */
static void test_key_unambiguous(void)
{
    char a[BIG], b[BIG];

    ph_escape_key(a, sizeof(a), "a:b", 8);
    ph_escape_key(b, sizeof(b), "a%3ab", 8);
    CU_ASSERT(strcmp(a, b) != 0);
    ph_escape_key(a, sizeof(a), "a b", 8);
    ph_escape_key(b, sizeof(b), "a%20b", 8);
    CU_ASSERT(strcmp(a, b) != 0);
}

static void test_json(void)
{
    char out[BIG];

    ph_escape_json(out, sizeof(out), forged, sizeof(forged));
    CU_ASSERT_STRING_EQUAL(out, "x\\u000aPeruser.bob.Requests: 9");
    ph_escape_json(out, sizeof(out), "\"q\\\x1b\x7f\xc3", 16);
    CU_ASSERT_STRING_EQUAL(out, "\\\"q\\\\\\u001b\\u007f\\u00c3");
}

static void test_term(void)
{
    char out[BIG];

    ph_escape_term(out, sizeof(out), forged, sizeof(forged));
    CU_ASSERT_STRING_EQUAL(out, "x\\x0aPeruser.bob.Requests: 9");
    /* ESC, CSI (C1), DEL, CR, backslash */
    ph_escape_term(out, sizeof(out), "\x1b]0;t\x07\x9b\x7f\r\\", 16);
    CU_ASSERT_STRING_EQUAL(out, "\\x1b]0;t\\x07\\x9b\\x7f\\x0d\\\\");
}

static void test_html(void)
{
    char out[BIG];

    ph_escape_html(out, sizeof(out), "<b a='1'>&\"\n", 16);
    CU_ASSERT_STRING_EQUAL(out, "&lt;b a=&#39;1&#39;&gt;&amp;&quot;\\x0a");
}

/* Whatever the input, what comes out is printable ASCII, and for a key
 * only name characters, '%' and hex digits. */
static void test_every_byte(void)
{
    char in[256], out[BIG];
    size_t f, i, n;

    for (i = 0; i < 255; i++) {
        in[i] = (char)(i + 1);          /* every byte but NUL */
    }
    in[255] = '\0';
    for (f = 0; f < ALL_COUNT; f++) {
        n = all[f](out, sizeof(out), in, sizeof(in));
        CU_ASSERT_EQUAL(n, strlen(out));
        for (i = 0; i < n; i++) {
            unsigned char c = (unsigned char)out[i];
            CU_ASSERT_FATAL(c >= 0x20 && c < 0x7f);
            if (all[f] == ph_escape_key) {
                CU_ASSERT(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
                                 "QRSTUVWXYZ0123456789_.-%", c) != NULL);
            }
        }
    }
}

/* Cut output: only whole sequences, always terminated. */
static void test_truncation(void)
{
    char out[16];

    memset(out, 'z', sizeof(out));
    /* "\x1b" is 4 bytes: room for 4 + the NUL, or nothing */
    CU_ASSERT_EQUAL(ph_escape_term(out, 4, "\x1b", 1), 0);
    CU_ASSERT_STRING_EQUAL(out, "");
    CU_ASSERT_EQUAL(ph_escape_term(out, 5, "a\x1b", 2), 1);
    CU_ASSERT_STRING_EQUAL(out, "a");
    CU_ASSERT_EQUAL(ph_escape_term(out, 5, "\x1b" "a", 2), 4);
    CU_ASSERT_STRING_EQUAL(out, "\\x1b");
    /* nothing after a sequence that did not fit */
    CU_ASSERT_EQUAL(ph_escape_json(out, 8, "ab\x01z", 4), 2);
    CU_ASSERT_STRING_EQUAL(out, "ab");
    CU_ASSERT_EQUAL(ph_escape_html(out, 4, "&", 1), 0);
    CU_ASSERT_STRING_EQUAL(out, "");
    memset(out, 'z', sizeof(out));
    CU_ASSERT_EQUAL(ph_escape_key(out, 0, "abc", 3), 0);
    CU_ASSERT_EQUAL(out[0], 'z');
}

/* A name need not end in a NUL: at most in_max bytes are read. */
static void test_in_max(void)
{
    const char name[4] = { 'a', 'b', 'c', 'd' };
    char out[BIG];

    CU_ASSERT_EQUAL(ph_escape_term(out, sizeof(out), name, 3), 3);
    CU_ASSERT_STRING_EQUAL(out, "abc");
    CU_ASSERT_EQUAL(ph_escape_key(out, sizeof(out), NULL, 3), 0);
    CU_ASSERT_STRING_EQUAL(out, "");
}

static const ph_unit_test tests[] = {
    { "valid names unchanged", test_valid_names_unchanged },
    { "?auto key", test_key },
    { "?auto key: unambiguous", test_key_unambiguous },
    { "json", test_json },
    { "terminal", test_term },
    { "html", test_html },
    { "every byte: printable output", test_every_byte },
    { "truncation keeps sequences whole", test_truncation },
    { "reads at most in_max bytes", test_in_max },
};

int ph_unit_register_shm_escape(void)
{
    return ph_unit_add_suite("shm_escape", NULL, tests,
                             sizeof(tests) / sizeof(tests[0]));
}
