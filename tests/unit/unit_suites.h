/*
 * unit_suites.h -- the CUnit suites linked into build/out/unit_tests.
 *
 * Each test file registers one suite in the current CUnit registry and
 * returns CUE_SUCCESS or the CUnit error that stopped it; unit_main.c calls
 * them all.
 */
#ifndef PH_UNIT_SUITES_H
#define PH_UNIT_SUITES_H

#include <stddef.h>

#include <CUnit/CUnit.h>

/* One test of a suite: its name in CUnit's output and its function. */
typedef struct {
    const char *name;
    CU_TestFunc fn;
} ph_unit_test;

/*
 * Add suite `name` (with `cleanup` run after it, or NULL) holding the `n`
 * tests of `tests`, in that order, to the current registry.  Returns
 * CUE_SUCCESS, or the CUnit error of the first step that failed.
 */
int ph_unit_add_suite(const char *name, CU_CleanupFunc cleanup,
                      const ph_unit_test *tests, size_t n);

/* unit_apr.c: an APR pool for a suite's tests (APR initialised on first
 * use), and the suite cleanup that destroys it. */
struct apr_pool_t;
struct apr_pool_t *ph_unit_pool(void);
int ph_unit_pool_cleanup(void);

int ph_unit_register_head_parse(void);
int ph_unit_register_h2_preface(void);
int ph_unit_register_tls_hello(void);
int ph_unit_register_chan_msg(void);
int ph_unit_register_sock_wrap(void);
int ph_unit_register_broker_msg(void);
int ph_unit_register_config_value(void);
int ph_unit_register_config_rows(void);
int ph_unit_register_shm_escape(void);
int ph_unit_register_envconf_scan(void);
int ph_unit_register_envconf_cache(void);
int ph_unit_register_placement(void);
int ph_unit_register_policy_slots(void);
int ph_unit_register_policy_mux(void);
int ph_unit_register_policy_admit(void);
int ph_unit_register_cgroup_limits(void);
int ph_unit_register_site_index(void);
int ph_unit_register_envconf_stub(void);
int ph_unit_register_lazy_lib(void);
int ph_unit_register_front_runs(void);
int ph_unit_register_envconf_blank(void);
int ph_unit_register_idle_stack(void);
int ph_unit_register_mux_handback(void);
int ph_unit_register_handback_from(void);

#endif /* PH_UNIT_SUITES_H */
