/*
 * test_config_value.c -- CUnit suite for
 * server/mpm/peruser_hybrid/config_value.c.
 *
 * Error messages are compared in full: they are what an administrator
 * reads, and config_value.h promises their exact form.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "config_value.h"
#include "unit_suites.h"

#define DIRECTIVE "ThreadsPerChild"
#define FACTOR "AsyncRequestWorkerFactor"

static char err[1024];

/* Parse arg as ThreadsPerChild (1 to 64); *out must be left alone on
 * failure, so it starts as a sentinel. */
static const char *tpc(const char *arg, long *out)
{
    *out = -12345;
    memset(err, 'x', sizeof(err));
    return ph_conf_parse_long(DIRECTIVE, arg, 1, 64, out, err, sizeof(err));
}

static const char *factor(const char *arg, double *out)
{
    *out = -12345.0;
    memset(err, 'x', sizeof(err));
    return ph_conf_parse_double(FACTOR, arg, 0.5, 10, out, err, sizeof(err));
}

/* A whole-number syntax error for tpc(): message and untouched *out. */
static int long_rejected(const char *arg)
{
    long v;
    char want[256];
    const char *r = tpc(arg, &v);

    snprintf(want, sizeof(want),
             DIRECTIVE ": '%s' is not a whole number (allowed: 1 to 64)",
             arg);
    return r == err && strcmp(err, want) == 0 && v == -12345;
}

static int long_accepted(const char *arg, long want)
{
    long v;

    return tpc(arg, &v) == NULL && v == want;
}

static int double_rejected(const char *arg)
{
    double v;
    char want[256];
    const char *r = factor(arg, &v);

    snprintf(want, sizeof(want),
             FACTOR ": '%s' is not a decimal number (allowed: 0.5 to 10)",
             arg);
    return r == err && strcmp(err, want) == 0 && v == -12345.0;
}

static int double_accepted(const char *arg, double want)
{
    double v;

    return factor(arg, &v) == NULL && v == want;
}

/* ---- ph_conf_parse_long ------------------------------------------------ */

static void test_long_valid(void)
{
    CU_ASSERT(long_accepted("1", 1));
    CU_ASSERT(long_accepted("64", 64));
    CU_ASSERT(long_accepted("25", 25));
    CU_ASSERT(long_accepted("+5", 5));
    CU_ASSERT(long_accepted("007", 7));
    CU_ASSERT(long_accepted("+0064", 64));
}

static void test_long_messages(void)
{
    long v;

    CU_ASSERT_PTR_EQUAL(tpc("abc", &v), err);
    CU_ASSERT_STRING_EQUAL(err, "ThreadsPerChild: 'abc' is not a whole number"
                                " (allowed: 1 to 64)");
    CU_ASSERT_EQUAL(v, -12345);
    CU_ASSERT_PTR_EQUAL(tpc("500", &v), err);
    CU_ASSERT_STRING_EQUAL(err, "ThreadsPerChild: 500 is out of range"
                                " (allowed: 1 to 64)");
    CU_ASSERT_EQUAL(v, -12345);
}

static void test_long_boundaries(void)
{
    long v;

    CU_ASSERT_PTR_EQUAL(tpc("0", &v), err);
    CU_ASSERT_STRING_EQUAL(err, "ThreadsPerChild: 0 is out of range"
                                " (allowed: 1 to 64)");
    CU_ASSERT_PTR_EQUAL(tpc("65", &v), err);
    CU_ASSERT_STRING_EQUAL(err, "ThreadsPerChild: 65 is out of range"
                                " (allowed: 1 to 64)");
    CU_ASSERT_PTR_EQUAL(tpc("-1", &v), err);
    CU_ASSERT_STRING_EQUAL(err, "ThreadsPerChild: -1 is out of range"
                                " (allowed: 1 to 64)");
    CU_ASSERT_EQUAL(v, -12345);

    /* Negative values where the range allows them. */
    CU_ASSERT_PTR_NULL(ph_conf_parse_long("X", "-1", -1, 1, &v, err,
                                          sizeof(err)));
    CU_ASSERT_EQUAL(v, -1);
    CU_ASSERT_PTR_NULL(ph_conf_parse_long("X", "-0", -1, 1, &v, err,
                                          sizeof(err)));
    CU_ASSERT_EQUAL(v, 0);
    CU_ASSERT_PTR_NOT_NULL(ph_conf_parse_long("X", "-2", -1, 1, &v, err,
                                              sizeof(err)));
    CU_ASSERT_STRING_EQUAL(err, "X: -2 is out of range (allowed: -1 to 1)");
}

static void test_long_extremes(void)
{
    char buf[64], want[256];
    long v = 0;

    snprintf(buf, sizeof(buf), "%ld", LONG_MAX);
    CU_ASSERT_PTR_NULL(ph_conf_parse_long("X", buf, LONG_MIN, LONG_MAX, &v,
                                          err, sizeof(err)));
    CU_ASSERT_EQUAL(v, LONG_MAX);
    snprintf(buf, sizeof(buf), "%ld", LONG_MIN);
    CU_ASSERT_PTR_NULL(ph_conf_parse_long("X", buf, LONG_MIN, LONG_MAX, &v,
                                          err, sizeof(err)));
    CU_ASSERT_EQUAL(v, LONG_MIN);

    /* One past: strtol() clamps and sets ERANGE, which must not pass even
     * though the clamped value is inside the range. */
    v = 7;
    snprintf(buf, sizeof(buf), "%lu", (unsigned long)LONG_MAX + 1);
    snprintf(want, sizeof(want), "X: %s is out of range (allowed: %ld to %ld)",
             buf, LONG_MIN, LONG_MAX);
    CU_ASSERT_PTR_EQUAL(ph_conf_parse_long("X", buf, LONG_MIN, LONG_MAX, &v,
                                           err, sizeof(err)), err);
    CU_ASSERT_STRING_EQUAL(err, want);
    snprintf(buf, sizeof(buf), "-%lu", (unsigned long)LONG_MAX + 2);
    CU_ASSERT_PTR_EQUAL(ph_conf_parse_long("X", buf, LONG_MIN, LONG_MAX, &v,
                                           err, sizeof(err)), err);
    CU_ASSERT_EQUAL(v, 7);
    CU_ASSERT_PTR_EQUAL(tpc("99999999999999999999999999", &v), err);
    CU_ASSERT_STRING_EQUAL(err, "ThreadsPerChild: 99999999999999999999999999"
                                " is out of range (allowed: 1 to 64)");
    CU_ASSERT_EQUAL(v, -12345);
}

static void test_long_syntax_errors(void)
{
    long v;

    CU_ASSERT(long_rejected(""));
    CU_ASSERT(long_rejected("abc"));
    CU_ASSERT(long_rejected(" 5"));
    CU_ASSERT(long_rejected("\t5"));
    CU_ASSERT(long_rejected("\n5"));
    CU_ASSERT(long_rejected("5 "));
    CU_ASSERT(long_rejected("5\n"));
    CU_ASSERT(long_rejected("5x"));
    CU_ASSERT(long_rejected("+"));
    CU_ASSERT(long_rejected("-"));
    CU_ASSERT(long_rejected("+-5"));
    CU_ASSERT(long_rejected("--5"));
    CU_ASSERT(long_rejected("+ 5"));
    CU_ASSERT(long_rejected("0x10"));
    CU_ASSERT(long_rejected("1.5"));
    CU_ASSERT(long_rejected("1e3"));
    CU_ASSERT(long_rejected("1,000"));
    CU_ASSERT(long_rejected("\xd9\xa3"));   /* ARABIC-INDIC DIGIT THREE */

    /* NULL is treated as an empty value. */
    CU_ASSERT_PTR_EQUAL(tpc(NULL, &v), err);
    CU_ASSERT_STRING_EQUAL(err, "ThreadsPerChild: '' is not a whole number"
                                " (allowed: 1 to 64)");
    CU_ASSERT_EQUAL(v, -12345);
}

static void test_long_err_buffer(void)
{
    char small[11];
    long v = 3;
    const char *r;

    /* Truncated, but always terminated. */
    memset(small, 'x', sizeof(small));
    r = ph_conf_parse_long(DIRECTIVE, "abc", 1, 64, &v, small, sizeof(small));
    CU_ASSERT_PTR_EQUAL(r, small);
    CU_ASSERT_STRING_EQUAL(small, "ThreadsPer");
    r = ph_conf_parse_long(DIRECTIVE, "abc", 1, 64, &v, small, 1);
    CU_ASSERT_PTR_EQUAL(r, small);
    CU_ASSERT_EQUAL(small[0], '\0');

    /* No room at all: still a failure, so still not NULL. */
    r = ph_conf_parse_long(DIRECTIVE, "abc", 1, 64, &v, small, 0);
    CU_ASSERT_PTR_NOT_NULL(r);
    r = ph_conf_parse_long(DIRECTIVE, "500", 1, 64, &v, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL(r);
    CU_ASSERT_EQUAL(v, 3);
    /* And success needs no room. */
    CU_ASSERT_PTR_NULL(ph_conf_parse_long(DIRECTIVE, "5", 1, 64, &v, NULL, 0));
    CU_ASSERT_EQUAL(v, 5);
}

/* ---- ph_conf_parse_double ---------------------------------------------- */

static void test_double_valid(void)
{
    double v;

    CU_ASSERT(double_accepted("1.5", 1.5));
    CU_ASSERT(double_accepted("2", 2.0));
    CU_ASSERT(double_accepted("+2.25", 2.25));
    CU_ASSERT(double_accepted("0.5", 0.5));
    CU_ASSERT(double_accepted("10", 10.0));
    CU_ASSERT(double_accepted("10.000", 10.0));
    CU_ASSERT(double_accepted("2.", 2.0));
    CU_ASSERT(double_accepted(".5", 0.5));
    CU_ASSERT(double_accepted("007.50", 7.5));

    CU_ASSERT_PTR_NULL(ph_conf_parse_double("X", "-1", -2, 2, &v, err,
                                            sizeof(err)));
    CU_ASSERT_EQUAL(v, -1.0);
    CU_ASSERT_PTR_NULL(ph_conf_parse_double("X", "-1.75", -2, 2, &v, err,
                                            sizeof(err)));
    CU_ASSERT_EQUAL(v, -1.75);
}

static void test_double_range(void)
{
    double v;

    CU_ASSERT_PTR_EQUAL(factor("0.49", &v), err);
    CU_ASSERT_STRING_EQUAL(err, "AsyncRequestWorkerFactor: 0.49 is out of"
                                " range (allowed: 0.5 to 10)");
    CU_ASSERT_EQUAL(v, -12345.0);
    CU_ASSERT_PTR_EQUAL(factor("10.01", &v), err);
    CU_ASSERT_STRING_EQUAL(err, "AsyncRequestWorkerFactor: 10.01 is out of"
                                " range (allowed: 0.5 to 10)");
    CU_ASSERT_PTR_EQUAL(factor("-1", &v), err);
    CU_ASSERT_STRING_EQUAL(err, "AsyncRequestWorkerFactor: -1 is out of"
                                " range (allowed: 0.5 to 10)");
    CU_ASSERT_PTR_EQUAL(factor("0", &v), err);

    /* %g for the range. */
    CU_ASSERT_PTR_NOT_NULL(ph_conf_parse_double("X", "3", 0.125, 2.5, &v,
                                                err, sizeof(err)));
    CU_ASSERT_STRING_EQUAL(err, "X: 3 is out of range (allowed: 0.125 to"
                                " 2.5)");
    CU_ASSERT_PTR_NOT_NULL(ph_conf_parse_double("X", "x", 0, 1e6, &v,
                                                err, sizeof(err)));
    CU_ASSERT_STRING_EQUAL(err, "X: 'x' is not a decimal number (allowed: 0"
                                " to 1e+06)");
}

static void test_double_overflow_underflow(void)
{
    char big[420], tiny[420];
    double v = 0;

    /* 1 followed by 400 zeros: beyond DBL_MAX, strtod() says ERANGE. */
    big[0] = '1';
    memset(big + 1, '0', 400);
    big[401] = '\0';
    CU_ASSERT_PTR_EQUAL(ph_conf_parse_double("X", big, 0, 1e308, &v, err,
                                             sizeof(err)), err);
    CU_ASSERT(strstr(err, " is out of range (allowed: 0 to 1e+308)") != NULL);
    CU_ASSERT_EQUAL(v, 0);
    big[0] = '-';
    big[1] = '1';
    CU_ASSERT_PTR_EQUAL(ph_conf_parse_double("X", big, -1e308, 0, &v, err,
                                             sizeof(err)), err);

    /* 0.000...1 underflows to (about) zero: ERANGE too, but the value is
     * usable and judged by the range like any other. */
    memcpy(tiny, "0.", 2);
    memset(tiny + 2, '0', 400);
    memcpy(tiny + 402, "1", 2);
    CU_ASSERT_PTR_NULL(ph_conf_parse_double("X", tiny, 0, 1, &v, err,
                                            sizeof(err)));
    CU_ASSERT(v >= 0 && v < 1e-300);
    CU_ASSERT_PTR_EQUAL(factor(tiny, &v), err);
    CU_ASSERT(strstr(err, " is out of range (allowed: 0.5 to 10)") != NULL);
}

static void test_double_syntax_errors(void)
{
    double v;

    CU_ASSERT(double_rejected(""));
    CU_ASSERT(double_rejected("abc"));
    CU_ASSERT(double_rejected("nan"));
    CU_ASSERT(double_rejected("NaN"));
    CU_ASSERT(double_rejected("nan(0x1)"));
    CU_ASSERT(double_rejected("inf"));
    CU_ASSERT(double_rejected("-inf"));
    CU_ASSERT(double_rejected("Infinity"));
    CU_ASSERT(double_rejected("0x10"));
    CU_ASSERT(double_rejected("0x1p3"));
    CU_ASSERT(double_rejected("1e3"));
    CU_ASSERT(double_rejected("1E3"));
    CU_ASSERT(double_rejected("1.5e0"));
    CU_ASSERT(double_rejected("1e-1"));
    CU_ASSERT(double_rejected(" 1.5"));
    CU_ASSERT(double_rejected("\t1.5"));
    CU_ASSERT(double_rejected("1.5 "));
    CU_ASSERT(double_rejected("1.5x"));
    CU_ASSERT(double_rejected("."));
    CU_ASSERT(double_rejected("+"));
    CU_ASSERT(double_rejected("-."));
    CU_ASSERT(double_rejected("+-1"));
    CU_ASSERT(double_rejected("1.2.3"));
    CU_ASSERT(double_rejected("1,5"));
    CU_ASSERT(double_rejected("..5"));

    CU_ASSERT_PTR_EQUAL(factor(NULL, &v), err);
    CU_ASSERT_STRING_EQUAL(err, "AsyncRequestWorkerFactor: '' is not a"
                                " decimal number (allowed: 0.5 to 10)");

    /* No room for the message: still a failure. */
    CU_ASSERT_PTR_NOT_NULL(ph_conf_parse_double(FACTOR, "nan", 0.5, 10, &v,
                                                NULL, 0));
}

/* ---- ph_conf_check_env_name -------------------------------------------- */

#define RULE "(allowed: 1 to 63 characters from A-Z a-z 0-9 _ . -, " \
             "starting with a letter or digit)"

static void test_env_name_valid(void)
{
    char name[64];

    CU_ASSERT_PTR_NULL(ph_conf_check_env_name("a", err, sizeof(err)));
    CU_ASSERT_PTR_NULL(ph_conf_check_env_name("Z", err, sizeof(err)));
    CU_ASSERT_PTR_NULL(ph_conf_check_env_name("0", err, sizeof(err)));
    CU_ASSERT_PTR_NULL(ph_conf_check_env_name("web_1.prod-2", err,
                                              sizeof(err)));
    CU_ASSERT_PTR_NULL(ph_conf_check_env_name("a-", err, sizeof(err)));
    CU_ASSERT_PTR_NULL(ph_conf_check_env_name("9._-", err, sizeof(err)));

    memset(name, 'n', 63);
    name[63] = '\0';
    CU_ASSERT_PTR_NULL(ph_conf_check_env_name(name, err, sizeof(err)));
}

static void test_env_name_invalid(void)
{
    char name[65];

    CU_ASSERT_PTR_EQUAL(ph_conf_check_env_name("", err, sizeof(err)), err);
    CU_ASSERT_STRING_EQUAL(err, "Processor name must not be empty " RULE);
    CU_ASSERT_PTR_EQUAL(ph_conf_check_env_name(NULL, err, sizeof(err)), err);
    CU_ASSERT_STRING_EQUAL(err, "Processor name must not be empty " RULE);

    memset(name, 'n', 64);
    name[64] = '\0';
    CU_ASSERT_PTR_EQUAL(ph_conf_check_env_name(name, err, sizeof(err)), err);
    CU_ASSERT(strstr(err, "is longer than 63 characters " RULE) != NULL);

    CU_ASSERT_PTR_EQUAL(ph_conf_check_env_name("-a", err, sizeof(err)), err);
    CU_ASSERT_STRING_EQUAL(err, "Processor name '-a' does not start with a"
                                " letter or digit " RULE);
    CU_ASSERT_PTR_NOT_NULL(ph_conf_check_env_name("_a", err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(ph_conf_check_env_name(".a", err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(ph_conf_check_env_name("..", err, sizeof(err)));

    CU_ASSERT_PTR_EQUAL(ph_conf_check_env_name("a b", err, sizeof(err)), err);
    CU_ASSERT_STRING_EQUAL(err, "Processor name 'a b' has a character not"
                                " allowed at position 2 " RULE);
    CU_ASSERT_PTR_NOT_NULL(ph_conf_check_env_name("a/b", err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(ph_conf_check_env_name("a:b", err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(ph_conf_check_env_name("caf\xc3\xa9", err,
                                                  sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(ph_conf_check_env_name("a\n", err, sizeof(err)));

    /* No room for the message: still a failure. */
    CU_ASSERT_PTR_NOT_NULL(ph_conf_check_env_name("", NULL, 0));
}

static const ph_unit_test tests[] = {
    { "long: valid", test_long_valid },
    { "long: message text", test_long_messages },
    { "long: range boundaries", test_long_boundaries },
    { "long: LONG_MIN/MAX and overflow", test_long_extremes },
    { "long: syntax errors", test_long_syntax_errors },
    { "long: error buffer", test_long_err_buffer },
    { "double: valid", test_double_valid },
    { "double: range message", test_double_range },
    { "double: overflow and underflow", test_double_overflow_underflow },
    { "double: syntax errors", test_double_syntax_errors },
    { "env name: valid", test_env_name_valid },
    { "env name: invalid", test_env_name_invalid },
};

int ph_unit_register_config_value(void)
{
    return ph_unit_add_suite("config_value", NULL, tests,
                             sizeof(tests) / sizeof(tests[0]));
}
