/*
 * test_site_index.c -- CUnit suite for server/mpm/peruser_hybrid/
 * site_index.c: (file, line) -> pointer, the first value of a site kept.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "apr_pools.h"
#include "apr_strings.h"

#include "site_index.h"
#include "unit_suites.h"

static int a, b, c;

static void test_find_what_was_added(void)
{
    ph_site_index *ix = ph_site_index_make(ph_unit_pool());

    CU_ASSERT_EQUAL(ph_site_index_add(ix, "/etc/apache2/a.conf", 3, &a), 1);
    CU_ASSERT_EQUAL(ph_site_index_add(ix, "/etc/apache2/a.conf", 30, &b), 1);
    CU_ASSERT_EQUAL(ph_site_index_add(ix, "/etc/apache2/b.conf", 3, &c), 1);
    CU_ASSERT_PTR_EQUAL(ph_site_index_find(ix, "/etc/apache2/a.conf", 3), &a);
    CU_ASSERT_PTR_EQUAL(ph_site_index_find(ix, "/etc/apache2/a.conf", 30), &b);
    CU_ASSERT_PTR_EQUAL(ph_site_index_find(ix, "/etc/apache2/b.conf", 3), &c);
    CU_ASSERT_EQUAL(ph_site_index_count(ix), 3);
}

static void test_unknown_sites(void)
{
    ph_site_index *ix = ph_site_index_make(ph_unit_pool());

    CU_ASSERT_PTR_NULL(ph_site_index_find(ix, "/x", 1));
    ph_site_index_add(ix, "/x", 1, &a);
    CU_ASSERT_PTR_NULL(ph_site_index_find(ix, "/x", 2));
    CU_ASSERT_PTR_NULL(ph_site_index_find(ix, "/x", 0));
    CU_ASSERT_PTR_NULL(ph_site_index_find(ix, "/", 1));
    CU_ASSERT_PTR_NULL(ph_site_index_find(ix, "/xy", 1));
    CU_ASSERT_PTR_NULL(ph_site_index_find(ix, "", 1));
    CU_ASSERT_PTR_NULL(ph_site_index_find(ix, NULL, 1));
    /* the line is not part of the name: "1:/x" is not line 1 of ":/x" */
    CU_ASSERT_PTR_NULL(ph_site_index_find(ix, "1/x", 0));
}

static void test_first_value_stays(void)
{
    ph_site_index *ix = ph_site_index_make(ph_unit_pool());

    CU_ASSERT_EQUAL(ph_site_index_add(ix, "/f", 7, &a), 1);
    CU_ASSERT_EQUAL(ph_site_index_add(ix, "/f", 7, &b), 0);
    CU_ASSERT_PTR_EQUAL(ph_site_index_find(ix, "/f", 7), &a);
    CU_ASSERT_EQUAL(ph_site_index_add(ix, NULL, 7, &b), 0);
    CU_ASSERT_EQUAL(ph_site_index_count(ix), 1);
}

/* mod_macro's names, and names longer than the lookup's stack buffer */
static void test_long_and_macro_names(void)
{
    apr_pool_t *p = ph_unit_pool();
    ph_site_index *ix = ph_site_index_make(p);
    char *long_name = apr_palloc(p, 5000), *other;
    const char *macro = "macro 'VH' (defined on line 1 of \"/m.conf\") used on "
                        "line 9 of \"/u.conf\"";

    memset(long_name, 'd', 4999);
    long_name[4999] = '\0';
    other = apr_pstrdup(p, long_name);
    other[4998] = 'e';
    CU_ASSERT_EQUAL(ph_site_index_add(ix, long_name, 1, &a), 1);
    CU_ASSERT_EQUAL(ph_site_index_add(ix, macro, 1, &b), 1);
    CU_ASSERT_PTR_EQUAL(ph_site_index_find(ix, apr_pstrdup(p, long_name), 1),
                        &a);
    CU_ASSERT_PTR_NULL(ph_site_index_find(ix, other, 1));
    CU_ASSERT_PTR_EQUAL(ph_site_index_find(ix, macro, 1), &b);
}

/* Many sites: every one found, none confused (what a processor builds at
 * N virtual hosts: one file each, or all in one file). */
static void test_many_sites(void)
{
    apr_pool_t *p = ph_unit_pool();
    ph_site_index *ix = ph_site_index_make(p);
    static int values[2000];
    int i, ok = 1;

    for (i = 0; i < 1000; i++) {
        ph_site_index_add(ix, apr_psprintf(p, "/sites/t%d.conf", i), 1,
                          &values[i]);
        ph_site_index_add(ix, "/all.conf", (unsigned)(4 * i + 2),
                          &values[1000 + i]);
    }
    CU_ASSERT_EQUAL(ph_site_index_count(ix), 2000);
    for (i = 0; i < 1000; i++) {
        ok &= ph_site_index_find(ix, apr_psprintf(p, "/sites/t%d.conf", i), 1)
              == &values[i];
        ok &= ph_site_index_find(ix, "/all.conf", (unsigned)(4 * i + 2))
              == &values[1000 + i];
        ok &= ph_site_index_find(ix, "/all.conf", (unsigned)(4 * i + 3))
              == NULL;
    }
    CU_ASSERT(ok);
}

static const ph_unit_test tests[] = {
    { "find what was added", test_find_what_was_added },
    { "unknown sites", test_unknown_sites },
    { "the first value of a site stays", test_first_value_stays },
    { "long and macro names", test_long_and_macro_names },
    { "a thousand sites", test_many_sites },
};

int ph_unit_register_site_index(void)
{
    return ph_unit_add_suite("site_index", ph_unit_pool_cleanup, tests,
                             sizeof(tests) / sizeof(tests[0]));
}
