/*
 * test_cgroup_limits.c -- CUnit suite for
 * server/mpm/peruser_hybrid/cgroup_limits.c: an environment's limits as
 * (file, value) lists for cgroup v2 and v1, and writing such a list into
 * a directory (a prepared temporary directory stands in for a v2 group:
 * this machine's v2 hierarchy has no controllers to write to).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "cgroup_limits.h"
#include "unit_suites.h"

#define ALL (PH_CG_CTRL_MEMORY | PH_CG_CTRL_PIDS | PH_CG_CTRL_CPU)

/* The list as "name=value;name=value;" for one comparison per case. */
static const char *joined(int version, unsigned ctrl, long mem, long pids,
                          long weight, long cpumax)
{
    static char buf[1024];
    ph_cgroup_limits l = { mem, pids, weight, cpumax };
    ph_cgroup_file f[PH_CG_FILES_MAX];
    size_t used = 0;
    int i, n = ph_cgroup_limit_files(version, ctrl, &l, f, PH_CG_FILES_MAX);

    buf[0] = '\0';
    for (i = 0; i < n; i++) {
        used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s=%s;",
                                 f[i].name, f[i].value);
    }
    return buf;
}

static void test_v2_all(void)
{
    CU_ASSERT_STRING_EQUAL(joined(PH_CG_V2, ALL, 256, 64, 50, 150),
                           "memory.max=268435456;memory.swap.max=0;"
                           "pids.max=64;cpu.weight=50;"
                           "cpu.max=150000 100000;");
}

static void test_v2_unset_resets(void)
{
    /* a limit taken out of the configuration is taken out of the group */
    CU_ASSERT_STRING_EQUAL(joined(PH_CG_V2, ALL, 0, 0, 0, 0),
                           "memory.max=max;memory.swap.max=max;"
                           "pids.max=max;cpu.weight=100;"
                           "cpu.max=max 100000;");
}

static void test_v2_only_its_controllers(void)
{
    CU_ASSERT_STRING_EQUAL(joined(PH_CG_V2, PH_CG_CTRL_PIDS, 256, 64, 50,
                                  150), "pids.max=64;");
    CU_ASSERT_STRING_EQUAL(joined(PH_CG_V2, 0, 256, 64, 50, 150), "");
}

static void test_v1_memory(void)
{
    CU_ASSERT_STRING_EQUAL(joined(PH_CG_V1, PH_CG_CTRL_MEMORY, 64, 0, 0, 0),
                           "memory.limit_in_bytes=67108864;");
    /* with swap accounting: memory first when limiting, memsw first when
     * lifting (memsw must never be below memory) */
    CU_ASSERT_STRING_EQUAL(joined(PH_CG_V1, PH_CG_CTRL_MEMORY
                                  | PH_CG_CTRL_MEMSW, 64, 0, 0, 0),
                           "memory.limit_in_bytes=67108864;"
                           "memory.memsw.limit_in_bytes=67108864;");
    CU_ASSERT_STRING_EQUAL(joined(PH_CG_V1, PH_CG_CTRL_MEMORY
                                  | PH_CG_CTRL_MEMSW, 0, 0, 0, 0),
                           "memory.memsw.limit_in_bytes=-1;"
                           "memory.limit_in_bytes=-1;");
}

static void test_v1_pids_cpu(void)
{
    /* { weight, cpu max %, expected } */
    static const struct { long weight, pct; const char *want; } cpu[] = {
        { 200, 50, "cpu.shares=2048;cpu.cfs_period_us=100000;"
                   "cpu.cfs_quota_us=50000;" },
        { 0, 0, "cpu.shares=1024;cpu.cfs_period_us=100000;"
                "cpu.cfs_quota_us=-1;" },
        /* weight 1 and 10000 stay within cpu.shares' 2..262144 */
        { 1, 0, "cpu.shares=10;cpu.cfs_period_us=100000;"
                "cpu.cfs_quota_us=-1;" },
        { 10000, 0, "cpu.shares=102400;cpu.cfs_period_us=100000;"
                    "cpu.cfs_quota_us=-1;" },
    };
    size_t i;

    CU_ASSERT_STRING_EQUAL(joined(PH_CG_V1, PH_CG_CTRL_PIDS, 0, 40, 0, 0),
                           "pids.max=40;");
    for (i = 0; i < sizeof(cpu) / sizeof(cpu[0]); i++) {
        CU_ASSERT_STRING_EQUAL(joined(PH_CG_V1, PH_CG_CTRL_CPU, 0, 0,
                                      cpu[i].weight, cpu[i].pct),
                               cpu[i].want);
    }
}

static void test_bounds_and_need(void)
{
    ph_cgroup_limits l = { 4194304, 4194304, 10000, 100000 };
    ph_cgroup_file f[2];

    /* the largest values the directives allow */
    CU_ASSERT_STRING_EQUAL(joined(PH_CG_V2, PH_CG_CTRL_MEMORY, 4194304, 0, 0,
                                  0), "memory.max=4398046511104;"
                           "memory.swap.max=0;");
    CU_ASSERT_STRING_EQUAL(joined(PH_CG_V2, PH_CG_CTRL_CPU, 0, 0, 0, 100000),
                           "cpu.weight=100;cpu.max=100000000 100000;");
    /* never more than asked for */
    CU_ASSERT_EQUAL(ph_cgroup_limit_files(PH_CG_V2, ALL, &l, f, 2), 2);
    CU_ASSERT_EQUAL(ph_cgroup_limit_files(3, ALL, &l, f, 2), 0);
    CU_ASSERT_EQUAL(ph_cgroup_limits_need(&l), ALL);
    l.memory_max_mib = 0;
    l.cpu_weight = 0;
    CU_ASSERT_EQUAL(ph_cgroup_limits_need(&l),
                    PH_CG_CTRL_PIDS | PH_CG_CTRL_CPU);
}

static char *read_file(const char *dir, const char *name, char *buf,
                       size_t len)
{
    char path[512];
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    buf[0] = '\0';
    if ((f = fopen(path, "r"))) {
        n = fread(buf, 1, len - 1, f);
        buf[n] = '\0';
        fclose(f);
    }
    return buf;
}

static void touch(const char *dir, const char *name, const char *content)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if ((f = fopen(path, "w"))) {
        fputs(content, f);
        fclose(f);
    }
}

static void test_write_into_a_group(void)
{
    char dir[] = "/tmp/ph-unit-cgroup-XXXXXX", buf[64];
    ph_cgroup_limits l = { 128, 32, 0, 0 };
    ph_cgroup_file f[PH_CG_FILES_MAX];
    const char *failed = NULL;
    int n;

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    /* a group's files exist; a file it lacks is an error, not created */
    touch(dir, "memory.max", "max\n");
    touch(dir, "memory.swap.max", "max\n");
    n = ph_cgroup_limit_files(PH_CG_V2, PH_CG_CTRL_MEMORY, &l, f,
                              PH_CG_FILES_MAX);
    CU_ASSERT_EQUAL(ph_cgroup_write_files(dir, f, n, &failed), 0);
    CU_ASSERT_STRING_EQUAL(read_file(dir, "memory.max", buf, sizeof(buf)),
                           "134217728");
    CU_ASSERT_STRING_EQUAL(read_file(dir, "memory.swap.max", buf,
                                     sizeof(buf)), "0");
    n = ph_cgroup_limit_files(PH_CG_V2, PH_CG_CTRL_PIDS, &l, f,
                              PH_CG_FILES_MAX);
    CU_ASSERT_EQUAL(ph_cgroup_write_files(dir, f, n, &failed), -1);
    CU_ASSERT_PTR_NOT_NULL(failed);
    if (failed) {
        CU_ASSERT_STRING_EQUAL(failed, "pids.max");
    }
    CU_ASSERT_STRING_EQUAL(read_file(dir, "pids.max", buf, sizeof(buf)), "");
    snprintf(buf, sizeof(buf), "%s/memory.max", dir);
    unlink(buf);
    snprintf(buf, sizeof(buf), "%s/memory.swap.max", dir);
    unlink(buf);
    CU_ASSERT_EQUAL(rmdir(dir), 0);
}

int ph_unit_register_cgroup_limits(void)
{
    static const ph_unit_test tests[] = {
        { "v2: every limit", test_v2_all },
        { "v2: unset limits write the kernel's defaults",
          test_v2_unset_resets },
        { "v2: only the group's controllers", test_v2_only_its_controllers },
        { "v1: memory, with and without swap accounting", test_v1_memory },
        { "v1: pids and cpu (shares, quota)", test_v1_pids_cpu },
        { "bounds, list size, controllers needed", test_bounds_and_need },
        { "writing the list into a group directory",
          test_write_into_a_group },
    };
    return ph_unit_add_suite("cgroup_limits", NULL, tests,
                             sizeof(tests) / sizeof(tests[0]));
}
