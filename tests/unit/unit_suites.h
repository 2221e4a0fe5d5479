/*
 * unit_suites.h -- the CUnit suites linked into build/out/unit_tests.
 *
 * Each test file registers one suite in the current CUnit registry and
 * returns CUE_SUCCESS or the CUnit error that stopped it; unit_main.c calls
 * them all.
 */
#ifndef PH_UNIT_SUITES_H
#define PH_UNIT_SUITES_H

int ph_unit_register_head_parse(void);
int ph_unit_register_chan_msg(void);
int ph_unit_register_config_value(void);

#endif /* PH_UNIT_SUITES_H */
