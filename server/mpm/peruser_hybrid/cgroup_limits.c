/*
 * cgroup_limits.c -- an environment's limits as cgroup files
 * (cgroup_limits.h).  Pure but for ph_cgroup_write_files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgroup_limits.h"

static int put(ph_cgroup_file *out, int n, int max, const char *name,
               const char *fmt, long v)
{
    if (n >= max) {
        return n;
    }
    out[n].name = name;
    snprintf(out[n].value, sizeof(out[n].value), fmt, v);
    return n + 1;
}

static int put_word(ph_cgroup_file *out, int n, int max, const char *name,
                    const char *word)
{
    if (n >= max) {
        return n;
    }
    out[n].name = name;
    snprintf(out[n].value, sizeof(out[n].value), "%s", word);
    return n + 1;
}

/* pids.max: the same file and values in v1 and v2 */
static int put_pids(ph_cgroup_file *out, int n, int max,
                    const ph_cgroup_limits *l)
{
    return l->pids_max > 0 ? put(out, n, max, "pids.max", "%ld", l->pids_max)
                           : put_word(out, n, max, "pids.max", "max");
}

static long mib_bytes(long mib)
{
    return mib * 1024L * 1024L;     /* bounded by the directive: 4 TiB */
}

/* v1 cpu.shares for a v2 weight: 100 is 1024, within the kernel's 2 ..
 * 262144. */
static long shares_of(long weight)
{
    long s = weight * 1024L / 100L;

    return s < 2 ? 2 : s > 262144 ? 262144 : s;
}

static long quota_us(long pct)
{
    return pct * PH_CG_CPU_PERIOD_US / 100L;
}

static int files_v2(unsigned ctrl, const ph_cgroup_limits *l,
                    ph_cgroup_file *out, int max)
{
    int n = 0;

    if (ctrl & PH_CG_CTRL_MEMORY) {
        if (l->memory_max_mib > 0) {
            n = put(out, n, max, "memory.max", "%ld",
                    mib_bytes(l->memory_max_mib));
            /* over the limit means killed, not swapped out */
            n = put_word(out, n, max, "memory.swap.max", "0");
        }
        else {
            n = put_word(out, n, max, "memory.max", "max");
            n = put_word(out, n, max, "memory.swap.max", "max");
        }
    }
    if (ctrl & PH_CG_CTRL_PIDS) {
        n = put_pids(out, n, max, l);
    }
    if (ctrl & PH_CG_CTRL_CPU) {
        n = put(out, n, max, "cpu.weight", "%ld",
                l->cpu_weight > 0 ? l->cpu_weight : 100L);
        if (l->cpu_max_pct > 0 && n < max) {
            out[n].name = "cpu.max";
            snprintf(out[n].value, sizeof(out[n].value), "%ld %ld",
                     quota_us(l->cpu_max_pct), PH_CG_CPU_PERIOD_US);
            n++;
        }
        else {
            n = put(out, n, max, "cpu.max", "max %ld", PH_CG_CPU_PERIOD_US);
        }
    }
    return n;
}

static int files_v1(unsigned ctrl, const ph_cgroup_limits *l,
                    ph_cgroup_file *out, int max)
{
    int n = 0;

    if (ctrl & PH_CG_CTRL_MEMORY) {
        long bytes = l->memory_max_mib > 0 ? mib_bytes(l->memory_max_mib)
                                           : -1L;
        /* memsw (memory + swap) must stay >= the memory limit: lower the
         * memory limit first when setting one, raise memsw first when
         * removing it. */
        if (bytes > 0) {
            n = put(out, n, max, "memory.limit_in_bytes", "%ld", bytes);
            if (ctrl & PH_CG_CTRL_MEMSW) {
                n = put(out, n, max, "memory.memsw.limit_in_bytes", "%ld",
                        bytes);
            }
        }
        else {
            if (ctrl & PH_CG_CTRL_MEMSW) {
                n = put_word(out, n, max, "memory.memsw.limit_in_bytes",
                             "-1");
            }
            n = put_word(out, n, max, "memory.limit_in_bytes", "-1");
        }
    }
    if (ctrl & PH_CG_CTRL_PIDS) {
        n = put_pids(out, n, max, l);
    }
    if (ctrl & PH_CG_CTRL_CPU) {
        n = put(out, n, max, "cpu.shares", "%ld",
                shares_of(l->cpu_weight > 0 ? l->cpu_weight : 100L));
        n = put(out, n, max, "cpu.cfs_period_us", "%ld", PH_CG_CPU_PERIOD_US);
        n = put(out, n, max, "cpu.cfs_quota_us", "%ld",
                l->cpu_max_pct > 0 ? quota_us(l->cpu_max_pct) : -1L);
    }
    return n;
}

int ph_cgroup_limit_files(int version, unsigned ctrl,
                          const ph_cgroup_limits *lim,
                          ph_cgroup_file *out, int max)
{
    if (!lim || !out || max <= 0) {
        return 0;
    }
    if (version == PH_CG_V2) {
        return files_v2(ctrl, lim, out, max);
    }
    if (version == PH_CG_V1) {
        return files_v1(ctrl, lim, out, max);
    }
    return 0;
}

unsigned ph_cgroup_limits_need(const ph_cgroup_limits *lim)
{
    unsigned need = 0;

    if (lim->memory_max_mib > 0) {
        need |= PH_CG_CTRL_MEMORY;
    }
    if (lim->pids_max > 0) {
        need |= PH_CG_CTRL_PIDS;
    }
    if (lim->cpu_weight > 0 || lim->cpu_max_pct > 0) {
        need |= PH_CG_CTRL_CPU;
    }
    return need;
}

static int write_one(const char *dir, const ph_cgroup_file *f)
{
    char path[1024];
    size_t len = strlen(f->value);
    int fd, saved;

    if (snprintf(path, sizeof(path), "%s/%s", dir, f->name)
        >= (int)sizeof(path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        return -1;
    }
    if (write(fd, f->value, len) != (ssize_t)len) {
        saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return close(fd);
}

int ph_cgroup_write_files(const char *dir, const ph_cgroup_file *files,
                          int n, const char **failed)
{
    int i;

    for (i = 0; i < n; i++) {
        if (write_one(dir, &files[i]) < 0) {
            if (failed) {
                *failed = files[i].name;
            }
            return -1;
        }
    }
    return 0;
}
