/*
 * unit_main.c -- runs every CUnit suite of tests/unit/ with the basic
 * (text) interface.
 *
 * Exit status: 0 if everything passed, 1 if any assertion, test or suite
 * setup failed, 2 if the registry itself could not be built or run.  A
 * non-zero status is what `make unit` relies on to fail the build.
 */
#include <stdio.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

#include "unit_suites.h"

static int (*const suites[])(void) = {
    ph_unit_register_head_parse,
    ph_unit_register_h2_preface,
    ph_unit_register_tls_hello,
    ph_unit_register_chan_msg,
    ph_unit_register_sock_wrap,
    ph_unit_register_broker_msg,
    ph_unit_register_config_value,
    ph_unit_register_config_rows,
    ph_unit_register_shm_escape,
    ph_unit_register_envconf_scan,
    ph_unit_register_envconf_cache,
    ph_unit_register_placement,
    ph_unit_register_cgroup_limits,
    ph_unit_register_policy_slots,
    ph_unit_register_policy_mux,
    ph_unit_register_policy_admit,
    ph_unit_register_site_index,
    ph_unit_register_envconf_stub,
    ph_unit_register_lazy_lib,
    ph_unit_register_front_runs,
    ph_unit_register_envconf_blank,
    ph_unit_register_idle_stack,
    ph_unit_register_mux_handback,
    ph_unit_register_handback_from,
};

int ph_unit_add_suite(const char *name, CU_CleanupFunc cleanup,
                      const ph_unit_test *tests, size_t n)
{
    CU_pSuite s = CU_add_suite(name, NULL, cleanup);
    size_t i;

    if (s == NULL) {
        return CU_get_error();
    }
    for (i = 0; i < n; i++) {
        if (CU_add_test(s, tests[i].name, tests[i].fn) == NULL) {
            return CU_get_error();
        }
    }
    return CUE_SUCCESS;
}

int main(void)
{
    unsigned failures, tests_failed, suites_failed;
    size_t i;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        fprintf(stderr, "unit_tests: cannot create the registry: %s\n",
                CU_get_error_msg());
        return 2;
    }
    for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
        if (suites[i]() != CUE_SUCCESS) {
            fprintf(stderr, "unit_tests: cannot register a suite: %s\n",
                    CU_get_error_msg());
            CU_cleanup_registry();
            return 2;
        }
    }

    CU_basic_set_mode(CU_BRM_VERBOSE);
    if (CU_basic_run_tests() != CUE_SUCCESS) {
        fprintf(stderr, "unit_tests: cannot run the tests: %s\n",
                CU_get_error_msg());
        CU_cleanup_registry();
        return 2;
    }

    /* Read the results before CU_cleanup_registry() resets them. */
    failures = CU_get_number_of_failures();
    tests_failed = CU_get_number_of_tests_failed();
    suites_failed = CU_get_number_of_suites_failed();
    CU_cleanup_registry();

    return (failures || tests_failed || suites_failed) ? 1 : 0;
}
