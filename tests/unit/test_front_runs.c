/*
 * test_front_runs.c -- CUnit suite for server/mpm/peruser_hybrid/
 * front_runs.c: which member of a run a host names, as httpd would pick
 * among the members as consecutive vhosts (front_runs.h).
 */
#include <string.h>

#include <CUnit/CUnit.h>

#include "apr_pools.h"

#include "front_runs.h"
#include "unit_suites.h"

/* A run from a table: each member "env name name ...", NULL-ended. */
static ph_run *run_of(apr_pool_t *p, const char *const *const *members)
{
    int n = 0, i, j;
    ph_run *run;

    while (members[n]) {
        n++;
    }
    run = ph_run_make(p, n);
    for (i = 0; i < n; i++) {
        CU_ASSERT_PTR_NULL(ph_run_member(p, run, i, members[i][0]));
        for (j = 1; members[i][j]; j++) {
            CU_ASSERT_PTR_NULL(ph_run_name(p, run, members[i][j]));
        }
    }
    CU_ASSERT_PTR_NULL(ph_run_complete(p, run));
    return run;
}

static const char *const m_a[] = { "ea", "a.test", "www.a.test", NULL };
static const char *const m_b[] = { "eb", "b.test", "*.wild.test", NULL };
static const char *const m_c[] = { "ec", "c.test", "x.wild.test", "a.test",
                                   "b.test", NULL };
static const char *const m_d[] = { "ed", "d.test", "?.q.test", NULL };
static const char *const *const members[] = { m_a, m_b, m_c, m_d, NULL };

static void test_exact_and_alias(void)
{
    apr_pool_t *p = ph_unit_pool();
    ph_run *run = run_of(p, members);

    CU_ASSERT_EQUAL(ph_run_size(run), 4);
    CU_ASSERT_EQUAL(ph_run_pick(p, run, "a.test"), 0);
    CU_ASSERT_EQUAL(ph_run_pick(p, run, "www.a.test"), 0);
    CU_ASSERT_EQUAL(ph_run_pick(p, run, "c.test"), 2);
    CU_ASSERT_EQUAL(ph_run_pick(p, run, "d.test"), 3);
    CU_ASSERT_STRING_EQUAL(ph_run_env(run, 2), "ec");
    CU_ASSERT_STRING_EQUAL(ph_run_env(run, 3), "ed");
}

/* b's wildcard is met before c's exact name: httpd tries b's names (all
 * of them) before c's. */
static void test_wildcard_before_later_exact(void)
{
    apr_pool_t *p = ph_unit_pool();
    ph_run *run = run_of(p, members);

    CU_ASSERT_EQUAL(ph_run_pick(p, run, "x.wild.test"), 1);
    CU_ASSERT_EQUAL(ph_run_pick(p, run, "y.wild.test"), 1);
    CU_ASSERT_EQUAL(ph_run_pick(p, run, "a.b.wild.test"), 1);
    /* the wildcard needs something before ".wild.test"? '*' may be empty */
    CU_ASSERT_EQUAL(ph_run_pick(p, run, ".wild.test"), 1);
    CU_ASSERT_EQUAL(ph_run_pick(p, run, "wild.test"), 0);
    /* '?' is exactly one character */
    CU_ASSERT_EQUAL(ph_run_pick(p, run, "z.q.test"), 3);
    CU_ASSERT_EQUAL(ph_run_pick(p, run, "zz.q.test"), 0);
    CU_ASSERT_EQUAL(ph_run_pick(p, run, ".q.test"), 0);
}

/* a.test and b.test are named by c too: the first member keeps them. */
static void test_same_name_in_two_members(void)
{
    apr_pool_t *p = ph_unit_pool();
    ph_run *run = run_of(p, members);

    CU_ASSERT_EQUAL(ph_run_pick(p, run, "a.test"), 0);
    CU_ASSERT_EQUAL(ph_run_pick(p, run, "b.test"), 1);
}

static void test_case(void)
{
    apr_pool_t *p = ph_unit_pool();
    static const char *const up[] = { "eu", "Upper.TEST", "*.Mixed.Test",
                                      NULL };
    static const char *const *const two[] = { m_a, up, NULL };
    ph_run *run = run_of(p, two);

    CU_ASSERT_EQUAL(ph_run_pick(p, run, "upper.test"), 1);
    CU_ASSERT_EQUAL(ph_run_pick(p, run, "UPPER.test"), 1);
    CU_ASSERT_EQUAL(ph_run_pick(p, run, "A.TEST"), 0);
    CU_ASSERT_EQUAL(ph_run_pick(p, run, "x.MIXED.test"), 1);
}

/* No host, or one no member names: the run's first member, the vhost
 * httpd keeps (the address's default, or the virthost fallback). */
static void test_no_match_is_first(void)
{
    apr_pool_t *p = ph_unit_pool();
    ph_run *run = run_of(p, members);

    CU_ASSERT_EQUAL(ph_run_pick(p, run, "nobody.test"), 0);
    CU_ASSERT_EQUAL(ph_run_pick(p, run, "127.0.0.1"), 0);
    CU_ASSERT_EQUAL(ph_run_pick(p, run, ""), 0);
    CU_ASSERT_EQUAL(ph_run_pick(p, run, NULL), 0);
}

static void test_wild_match(void)
{
    CU_ASSERT(ph_run_wild_match("abc", "abc"));
    CU_ASSERT(ph_run_wild_match("abc", "*"));
    CU_ASSERT(ph_run_wild_match("", "*"));
    CU_ASSERT(ph_run_wild_match("", "**"));
    CU_ASSERT(!ph_run_wild_match("", "?"));
    CU_ASSERT(ph_run_wild_match("abcabd", "*abd"));
    CU_ASSERT(ph_run_wild_match("aXbXc", "a*b*c"));
    CU_ASSERT(!ph_run_wild_match("aXbXd", "a*b*c"));
    CU_ASSERT(ph_run_wild_match("ABC", "a?c"));
    CU_ASSERT(!ph_run_wild_match("abcd", "a?c"));
    CU_ASSERT(!ph_run_wild_match("ab", "abc"));
    CU_ASSERT(!ph_run_wild_match("abc", "ab"));
    CU_ASSERT(ph_run_wild_match("w.x.y.z", "*.*.z"));
    CU_ASSERT(!ph_run_wild_match("xz", "*.*.z"));
}

/* Members in order, each with its environment; a continuation line
 * (the same index) must keep the environment. */
static void test_malformed(void)
{
    apr_pool_t *p = ph_unit_pool();
    ph_run *run = ph_run_make(p, 2);

    CU_ASSERT_PTR_NOT_NULL(ph_run_name(p, run, "a.test"));
    CU_ASSERT_PTR_NOT_NULL(ph_run_member(p, run, 1, "e1"));
    CU_ASSERT_PTR_NOT_NULL(ph_run_member(p, run, 0, ""));
    CU_ASSERT_PTR_NULL(ph_run_member(p, run, 0, "e0"));
    CU_ASSERT_PTR_NULL(ph_run_member(p, run, 0, "e0"));
    CU_ASSERT_PTR_NOT_NULL(ph_run_member(p, run, 0, "other"));
    CU_ASSERT_PTR_NOT_NULL(ph_run_name(p, run, ""));
    CU_ASSERT_PTR_NOT_NULL(ph_run_complete(p, run));
    CU_ASSERT_PTR_NOT_NULL(ph_run_member(p, run, 2, "e2"));
    CU_ASSERT_PTR_NULL(ph_run_member(p, run, 1, "e1"));
    CU_ASSERT_PTR_NOT_NULL(ph_run_member(p, run, 2, "e2"));
    CU_ASSERT_PTR_NULL(ph_run_complete(p, run));
}

static const ph_unit_test tests[] = {
    { "exact names and aliases", test_exact_and_alias },
    { "a wildcard before a later exact name", test_wildcard_before_later_exact },
    { "the same name in two members", test_same_name_in_two_members },
    { "case is ignored", test_case },
    { "no host or no match: the first member", test_no_match_is_first },
    { "wildcards as httpd matches them", test_wild_match },
    { "members out of order or incomplete", test_malformed },
};

int ph_unit_register_front_runs(void)
{
    return ph_unit_add_suite("front_runs", ph_unit_pool_cleanup, tests,
                             sizeof(tests) / sizeof(tests[0]));
}
