/*
 * test_config_rows.c -- every row of config_rows.h, checked through
 * ph_conf_parse_long as the module parses it: the default lies within the
 * row's bounds, both bounds are accepted, one past either bound and
 * malformed numbers are refused with a message naming the directive, the
 * value and the allowed range.  The rows are expanded into an array here,
 * so a row added to config_rows.h is covered without touching this file.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "config_value.h"
#include "mpm_default.h"
#include "unit_suites.h"

/* As build/tools/directives_md.c defines them. */
#define PH_CTX_SERVER    0x1
#define PH_CTX_PROCESSOR 0x2

typedef struct {
    const char *name;
    unsigned ctx;
    long min, max, def;
    const char *unit;
    const char *help;
} row;

static const row rows[] = {
#define PH_ROW(name, ctx, min, max, def, unit, field, envfield, help)       \
    { #name, (ctx), (long)(min), (long)(max), (long)(def), unit, help },
#include "config_rows.h"
#undef PH_ROW
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Print which row failed: CUnit's assertion text alone does not say. */
static void report(const row *r, const char *what, const char *detail)
{
    fprintf(stderr, "\n  row %s: %s%s%s\n", r->name, what,
            detail ? ": " : "", detail ? detail : "");
}

static void test_table_is_sane(void)
{
    size_t i, j;

    /* The X-macro expanded into the expected number of rows (at least the
     * ones the README documents) and no name appears twice. */
    CU_ASSERT(NROWS >= 11);
    for (i = 0; i < NROWS; i++) {
        CU_ASSERT_PTR_NOT_NULL_FATAL(rows[i].name);
        CU_ASSERT(rows[i].name[0] != '\0');
        CU_ASSERT(rows[i].ctx & PH_CTX_SERVER);
        CU_ASSERT(rows[i].unit != NULL && rows[i].unit[0] != '\0');
        CU_ASSERT(rows[i].help != NULL && rows[i].help[0] != '\0');
        CU_ASSERT(rows[i].min <= rows[i].max);
        for (j = i + 1; j < NROWS; j++) {
            if (strcmp(rows[i].name, rows[j].name) == 0) {
                report(&rows[i], "defined twice", NULL);
                CU_FAIL("directive defined twice");
            }
        }
    }
}

static void test_default_within_bounds(void)
{
    size_t i;

    for (i = 0; i < NROWS; i++) {
        const row *r = &rows[i];
        char arg[32], err[256];
        long out = LONG_MIN;

        if (r->def < r->min || r->def > r->max) {
            report(r, "default outside its bounds", NULL);
            CU_FAIL("default outside [min, max]");
            continue;
        }
        /* ... and the default, written out, is accepted as a value. */
        snprintf(arg, sizeof(arg), "%ld", r->def);
        if (ph_conf_parse_long(r->name, arg, r->min, r->max, &out, err,
                               sizeof(err)) != NULL || out != r->def) {
            report(r, "default refused", err);
            CU_FAIL("default value refused");
        }
    }
}

static void expect_accepted(const row *r, long value)
{
    char arg[32], err[256];
    long out = LONG_MIN;
    const char *res;

    snprintf(arg, sizeof(arg), "%ld", value);
    err[0] = '\0';
    res = ph_conf_parse_long(r->name, arg, r->min, r->max, &out, err,
                             sizeof(err));
    if (res != NULL || out != value) {
        report(r, arg, res ? res : "parsed to another value");
        CU_FAIL("bound refused");
    }
}

static void test_bounds_accepted(void)
{
    size_t i;

    for (i = 0; i < NROWS; i++) {
        expect_accepted(&rows[i], rows[i].min);
        expect_accepted(&rows[i], rows[i].max);
    }
}

/* A refusal: non-NULL, starts with "Name:", mentions `value_text` and the
 * range "allowed: MIN to MAX"; *out untouched. */
static void expect_refused(const row *r, const char *arg,
                           const char *value_text, const char *kind)
{
    char err[256], want_range[96], want_name[96];
    long out = 12345;
    const char *res;

    snprintf(want_name, sizeof(want_name), "%s:", r->name);
    snprintf(want_range, sizeof(want_range), "allowed: %ld to %ld", r->min,
             r->max);
    memset(err, 'Z', sizeof(err));
    res = ph_conf_parse_long(r->name, arg, r->min, r->max, &out, err,
                             sizeof(err));
    if (res == NULL) {
        report(r, "accepted", arg);
        CU_FAIL("out-of-range or malformed value accepted");
        return;
    }
    CU_ASSERT_EQUAL(out, 12345);
    if (!starts_with(res, want_name)) {
        report(r, "message does not start with the name", res);
        CU_FAIL("message does not start with the directive name");
    }
    if (value_text && strstr(res, value_text) == NULL) {
        report(r, "message does not show the value", res);
        CU_FAIL("message does not show the value");
    }
    if (strstr(res, want_range) == NULL) {
        report(r, "message does not show the range", res);
        CU_FAIL("message does not show the allowed range");
    }
    if (kind && strstr(res, kind) == NULL) {
        report(r, "message does not say why", res);
        CU_FAIL("message does not say why the value was refused");
    }
}

static void test_one_past_bounds_refused(void)
{
    size_t i;

    for (i = 0; i < NROWS; i++) {
        const row *r = &rows[i];
        char arg[32];

        snprintf(arg, sizeof(arg), "%ld", r->min - 1);
        expect_refused(r, arg, arg, "out of range");
        snprintf(arg, sizeof(arg), "%ld", r->max + 1);
        expect_refused(r, arg, arg, "out of range");
    }
}

static void test_malformed_refused(void)
{
    static const char *const bad[] = { "abc", "", "1x", " 5", "5 ", "0x10",
                                       "1.5", "-", "+" };
    size_t i, j;

    for (i = 0; i < NROWS; i++) {
        for (j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
            char quoted[32];

            snprintf(quoted, sizeof(quoted), "'%s'", bad[j]);
            expect_refused(&rows[i], bad[j], quoted, "not a whole number");
        }
    }
}

static void test_overflow_refused(void)
{
    size_t i;

    for (i = 0; i < NROWS; i++) {
        expect_refused(&rows[i], "99999999999999999999999",
                       "99999999999999999999999", NULL);
        expect_refused(&rows[i], "-99999999999999999999999",
                       "-99999999999999999999999", NULL);
    }
}

int ph_unit_register_config_rows(void)
{
    static const ph_unit_test tests[] = {
        { "table is sane (names, units, help, min <= max)",
          test_table_is_sane },
        { "every default within [min, max] and accepted",
          test_default_within_bounds },
        { "every min and max accepted", test_bounds_accepted },
        { "every min-1 and max+1 refused, naming value and range",
          test_one_past_bounds_refused },
        { "every row refuses abc, empty, 1x, leading space ...",
          test_malformed_refused },
        { "every row refuses numbers that overflow a long",
          test_overflow_refused },
    };

    return ph_unit_add_suite("config_rows", NULL, tests,
                             sizeof(tests) / sizeof(tests[0]));
}
