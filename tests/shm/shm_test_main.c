/*
 * shm_test_main.c -- runs every suite of build/out/shm_tests, each in a
 * forked child under an alarm.
 *
 * Shared memory, fork and lock-free code fail by crashing or hanging as
 * often as by a wrong value; a child per suite turns both into a reported
 * failure of that suite while the others still run.  The child sends its
 * CUnit figures back through a pipe.
 *
 *   shm_tests [suite-name ...]     run all suites, or the named ones
 *
 * Exit status: 0 if every suite ran and passed, 1 otherwise, 2 if the run
 * itself could not be set up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "shm_tests.h"

#define SUITE_TIMEOUT_S 60

static const struct {
    const char *name;
    int (*reg)(void);
} suites[] = {
    { "shm_segment", ph_shm_test_register_segment },
    { "shm_seqlock", ph_shm_test_register_seqlock },
    { "shm_snapshot", ph_shm_test_register_snapshot },
    { "shm_ticket", ph_shm_test_register_ticket },
    { "shm_restrict", ph_shm_test_register_restrict },
    { "shm_child", ph_shm_test_register_child },
    { "shm_index", ph_shm_test_register_index },
};

/* What a suite's child reports. */
typedef struct {
    unsigned tests_run, tests_failed, asserts, asserts_failed;
} suite_figures;

int ph_shm_test_add_suite(const char *name, const ph_shm_test *tests,
                          size_t n)
{
    CU_pSuite s = CU_add_suite(name, NULL, NULL);
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

/* In the child: run one suite, write its figures to fd, exit. */
static void run_suite_child(size_t i, int fd)
    __attribute__((noreturn));

static void run_suite_child(size_t i, int fd)
{
    suite_figures f;

    alarm(SUITE_TIMEOUT_S);
    if (CU_initialize_registry() != CUE_SUCCESS
        || suites[i].reg() != CUE_SUCCESS) {
        fprintf(stderr, "shm_tests: cannot register %s: %s\n",
                suites[i].name, CU_get_error_msg());
        _exit(2);
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    if (CU_basic_run_tests() != CUE_SUCCESS) {
        _exit(2);
    }
    f.tests_run = CU_get_number_of_tests_run();
    f.tests_failed = CU_get_number_of_tests_failed();
    f.asserts = CU_get_number_of_asserts();
    f.asserts_failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    if (write(fd, &f, sizeof(f)) != (ssize_t)sizeof(f)) {
        _exit(2);
    }
    fflush(NULL);
    _exit(f.tests_failed || f.asserts_failed ? 1 : 0);
}

/* Run suite i in a child; 1 if it passed. */
static int run_suite(size_t i, suite_figures *total)
{
    suite_figures f;
    int fds[2], status;
    ssize_t got;
    pid_t pid;

    if (pipe(fds) != 0) {
        perror("shm_tests: pipe");
        return 0;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        perror("shm_tests: fork");
        close(fds[0]);
        close(fds[1]);
        return 0;
    }
    if (pid == 0) {
        close(fds[0]);
        run_suite_child(i, fds[1]);
    }
    close(fds[1]);
    do {
        got = read(fds[0], &f, sizeof(f));
    } while (got < 0 && errno == EINTR);
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }

    if (WIFSIGNALED(status)) {
        printf("\nSUITE %s FAILED: %s\n", suites[i].name,
               WTERMSIG(status) == SIGALRM
                   ? "timed out (hung?)" : strsignal(WTERMSIG(status)));
        total->tests_failed++;
        return 0;
    }
    if (got != (ssize_t)sizeof(f)) {
        printf("\nSUITE %s FAILED: exited %d without figures\n",
               suites[i].name, WEXITSTATUS(status));
        total->tests_failed++;
        return 0;
    }
    total->tests_run += f.tests_run;
    total->tests_failed += f.tests_failed;
    total->asserts += f.asserts;
    total->asserts_failed += f.asserts_failed;
    return WEXITSTATUS(status) == 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static int wanted(size_t i, int argc, char **argv)
{
    int a;

    if (argc < 2) {
        return 1;
    }
    for (a = 1; a < argc; a++) {
        if (strcmp(argv[a], suites[i].name) == 0) {
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    suite_figures total = { 0, 0, 0, 0 };
    size_t i, ran = 0, passed = 0;

    /* tmpfs, like the real segment; readable by the unprivileged children
     * of the permission tests. */
    snprintf(ph_shm_fx_base, sizeof(ph_shm_fx_base),
             "/dev/shm/ph_shm_tests.XXXXXX");
    if (mkdtemp(ph_shm_fx_base) == NULL || chmod(ph_shm_fx_base, 0755)) {
        perror("shm_tests: mkdtemp");
        return 2;
    }
    for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
        if (wanted(i, argc, argv)) {
            ran++;
            passed += (size_t)run_suite(i, &total);
        }
    }
    nftw(ph_shm_fx_base, remove_entry, 16, FTW_DEPTH | FTW_PHYS);

    printf("\nshm_tests: %zu of %zu suites passed; tests run %u, failed %u;"
           " asserts %u, failed %u\n", passed, ran, total.tests_run,
           total.tests_failed, total.asserts, total.asserts_failed);
    return passed == ran && ran > 0 && total.tests_failed == 0 ? 0 : 1;
}
