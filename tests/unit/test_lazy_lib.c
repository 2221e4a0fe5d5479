/*
 * test_lazy_lib.c -- lazy_lib.c: a library opened on first use fills its
 * table; one that does not exist, or lacks a function, gives NULL and
 * says why, every time, without a second attempt.
 */
#include <stddef.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "lazy_lib.h"
#include "lib_hwloc.h"
#include "lib_nghttp2.h"
#include "unit_suites.h"

typedef struct {
    size_t (*strlen_fn)(const char *);
    int (*atoi_fn)(const char *);
} libc_api;

static const ph_lazy_sym libc_syms[] = {
    { "strlen", offsetof(libc_api, strlen_fn) },
    { "atoi", offsetof(libc_api, atoi_fn) },
};

static const ph_lazy_sym missing_syms[] = {
    { "strlen", offsetof(libc_api, strlen_fn) },
    { "ph_no_such_function_anywhere", offsetof(libc_api, atoi_fn) },
};

static void test_opens_and_fills(void)
{
    static libc_api api;
    static ph_lazy_lib lib = PH_LAZY_LIB("libc.so.6", libc_syms, api);
    const libc_api *a;
    const char *why = "unset";

    a = ph_lazy_open(&lib, &why);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NULL(why);
    CU_ASSERT_EQUAL(a->strlen_fn("four"), 4);
    CU_ASSERT_EQUAL(a->atoi_fn("42"), 42);
    /* the second call returns the same table */
    CU_ASSERT_PTR_EQUAL(ph_lazy_open(&lib, NULL), a);
}

static void test_missing_library(void)
{
    static libc_api api;
    static ph_lazy_lib lib = PH_LAZY_LIB("libph-no-such-library.so.0",
                                         libc_syms, api);
    const char *why = NULL;

    CU_ASSERT_PTR_NULL(ph_lazy_open(&lib, &why));
    CU_ASSERT_PTR_NOT_NULL_FATAL(why);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "libph-no-such-library"));
    /* said again, not tried again */
    why = NULL;
    CU_ASSERT_PTR_NULL(ph_lazy_open(&lib, &why));
    CU_ASSERT_PTR_NOT_NULL(why);
    CU_ASSERT_EQUAL(lib.tried, 1);
}

static void test_missing_function(void)
{
    static libc_api api;
    static ph_lazy_lib lib = PH_LAZY_LIB("libc.so.6", missing_syms, api);
    const char *why = NULL;

    CU_ASSERT_PTR_NULL(ph_lazy_open(&lib, &why));
    CU_ASSERT_PTR_NOT_NULL_FATAL(why);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "ph_no_such_function_anywhere"));
}

/* The module's two tables resolve against the installed libraries (the
 * sonames compiled in are the ones this machine has). */
static void test_module_libraries(void)
{
    const ph_hwloc_api *h = ph_hwloc(NULL);
    const ph_nghttp2_api *n = ph_nghttp2(NULL);

    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_PTR_NOT_NULL(h->topology_init);
    CU_ASSERT_PTR_NOT_NULL(h->set_membind);
    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    CU_ASSERT_PTR_NOT_NULL(n->hd_inflate_hd2);
}

int ph_unit_register_lazy_lib(void)
{
    static const ph_unit_test tests[] = {
        { "a library opened on first use fills its table",
          test_opens_and_fills },
        { "a missing library: NULL and why, once", test_missing_library },
        { "a missing function: NULL and which", test_missing_function },
        { "libhwloc and libnghttp2 resolve by their sonames",
          test_module_libraries },
    };

    return ph_unit_add_suite("lazy_lib", NULL, tests,
                             sizeof(tests) / sizeof(tests[0]));
}
