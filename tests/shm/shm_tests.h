/*
 * shm_tests.h -- the CUnit suites of build/out/shm_tests and the fixture
 * they share.
 *
 * Every suite runs in a forked child under an alarm (shm_test_main.c), so
 * a test that crashes or hangs on shared memory is a reported failure.
 * Segment files go to one temporary directory on tmpfs per run, removed
 * by the runner at the end whatever the tests left in it.
 */
#ifndef PH_SHM_TESTS_H
#define PH_SHM_TESTS_H

#include <stddef.h>
#include <stdint.h>

#include <CUnit/CUnit.h>

#include "ph_shm.h"

typedef struct {
    const char *name;
    CU_TestFunc fn;
} ph_shm_test;

/* Add suite `name` with its tests to the current registry. */
int ph_shm_test_add_suite(const char *name, const ph_shm_test *tests,
                          size_t n);

int ph_shm_test_register_segment(void);
int ph_shm_test_register_seqlock(void);
int ph_shm_test_register_snapshot(void);
int ph_shm_test_register_ticket(void);
int ph_shm_test_register_restrict(void);
int ph_shm_test_register_child(void);
int ph_shm_test_register_index(void);

/* ---- fixture ------------------------------------------------------------ */

/* The run's temporary directory (set by the runner before any suite). */
extern char ph_shm_fx_base[64];

/* A segment of the given geometry in a file of its own under the base
 * directory; `path` is that file. */
typedef struct {
    ph_shm shm;
    char path[128];
} ph_shm_fx;

/* Fill *path with a new file name under the base directory. */
void ph_shm_fx_path(char *path, size_t len, const char *stem);

/* Create the segment (CU_ASSERT_FATAL on failure). */
void ph_shm_fx_open(ph_shm_fx *fx, uint32_t envs, uint32_t children,
                    uint32_t muxes, uint32_t tickets);
void ph_shm_fx_close(ph_shm_fx *fx);

/* Monotonic milliseconds. */
int64_t ph_shm_fx_now_ms(void);

/* A page of memory shared with forked children. */
void *ph_shm_fx_shared_page(size_t size);

#endif /* PH_SHM_TESTS_H */
