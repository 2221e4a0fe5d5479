/*
 * cgroup_limits.h -- an environment's resource limits as cgroup files
 * (pure: no httpd header; unit-tested in tests/unit/test_cgroup_limits.c).
 *
 * The MPM writes the limits itself, as root, into the group it created
 * for the environment under CgroupRoot (cgroup_groups.c).  This file
 * says which file gets which value, for cgroup v2 (one group, every
 * controller) and v1 (one directory per controller hierarchy), and
 * writes such a list into a directory.
 *
 *   limit                 v2                  v1
 *   ProcessorMemoryMax    memory.max          memory.limit_in_bytes
 *                         memory.swap.max 0   memory.memsw.limit_in_bytes
 *                                             (where swap is accounted)
 *   ProcessorPidsMax      pids.max            pids.max
 *   ProcessorCpuWeight    cpu.weight          cpu.shares (weight x 1024
 *                                             / 100: both default 100)
 *   ProcessorCpuMax       cpu.max "q 100000"  cpu.cfs_period_us 100000,
 *                                             cpu.cfs_quota_us q
 * An unset limit (0) writes the kernel's "no limit" value, so that a
 * limit removed from the configuration is removed from the group at the
 * next graceful restart too.  The list is only for the controllers the
 * directory has (PH_CG_CTRL_*): a v1 memory hierarchy gets no pids.max.
 */
#ifndef PH_CGROUP_LIMITS_H
#define PH_CGROUP_LIMITS_H

#include <stddef.h>

#define PH_CG_V1 1
#define PH_CG_V2 2

#define PH_CG_CTRL_MEMORY 0x1u
#define PH_CG_CTRL_PIDS   0x2u
#define PH_CG_CTRL_CPU    0x4u
#define PH_CG_CTRL_MEMSW  0x8u      /* v1: memory.memsw.* exists */

#define PH_CG_CPU_PERIOD_US 100000L /* cpu.max / cfs period: 100 ms */

/* The four limits of an environment; 0 = not limited. */
typedef struct ph_cgroup_limits {
    long memory_max_mib;    /* ProcessorMemoryMax, MiB */
    long pids_max;          /* ProcessorPidsMax, tasks (threads count) */
    long cpu_weight;        /* ProcessorCpuWeight, 1..10000 */
    long cpu_max_pct;       /* ProcessorCpuMax, percent of one CPU */
} ph_cgroup_limits;

typedef struct ph_cgroup_file {
    const char *name;       /* file in the group's directory */
    char value[48];
} ph_cgroup_file;

#define PH_CG_FILES_MAX 8

/* The files to write, in order, into a group of `version` that has the
 * controllers in `ctrl`, for `lim`.  Returns how many (<= max) were put
 * in out[]. */
int ph_cgroup_limit_files(int version, unsigned ctrl,
                          const ph_cgroup_limits *lim,
                          ph_cgroup_file *out, int max);

/* The controllers (PH_CG_CTRL_*) `lim` needs. */
unsigned ph_cgroup_limits_need(const ph_cgroup_limits *lim);

/* Write files[0..n) into dir (each opened O_WRONLY|O_TRUNC, no O_CREAT:
 * a cgroup's files exist).  Returns 0, or -1 with *failed naming the
 * first file that could not be written (errno set). */
int ph_cgroup_write_files(const char *dir, const ph_cgroup_file *files,
                          int n, const char **failed);

#endif /* PH_CGROUP_LIMITS_H */
