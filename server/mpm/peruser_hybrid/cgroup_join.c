/*
 * cgroup_join.c -- a processor joins its environment's cgroups: the
 * Cgroup directories and the groups made under CgroupRoot (ph_cgroup.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "httpd.h"
#include "http_log.h"
#include "http_main.h"

#include "ph_cgroup.h"
#include "ph_env.h"
#include "ph_log.h"
#include "ph_magic.h"
#include "ph_segment.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

/* Write this process's pid into dir/cgroup.procs.  0 or an errno. */
static int join_one(const char *dir, const char *pid, size_t len)
{
    char path[1024];
    int fd, err = 0;

    if (snprintf(path, sizeof(path), "%s/cgroup.procs", dir)
        >= (int)sizeof(path)) {
        return ENAMETOOLONG;
    }
    if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0) {
        return errno;
    }
    if (write(fd, pid, len) != (ssize_t)len) {
        err = errno ? errno : EIO;
    }
    close(fd);
    return err;
}

/* The first directory of dirs this process cannot join, or NULL. */
static const char *join_all(const apr_array_header_t *dirs, int *err)
{
    char pid[32];
    int i, len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());

    for (i = 0; dirs && i < dirs->nelts; i++) {
        const char *dir = APR_ARRAY_IDX(dirs, i, const char *);

        if ((*err = join_one(dir, pid, (size_t)len)) != 0) {
            return dir;
        }
    }
    return NULL;
}

int ph_cgroup_join_self(int slot, const ph_env *env, const char *what)
{
    ph_shm_child_stats *st;
    ph_shm_env_stats *es;
    const char *dir;
    int err = 0, first = 1;

    PH_CHECK_MAGIC(env, PH_ENV_MAGIC);
    if (geteuid() != 0) {
        return 0;   /* cannot; the parent said so once at startup */
    }
    /* The operator's directories first, then the groups under CgroupRoot
     * (in v1 the same hierarchy may be in both: the last one holds). */
    if (!(dir = join_all(env->cgroups, &err))
        && !(dir = join_all(env->cgroup_groups, &err))) {
        return 0;
    }
    /* Its own record and its environment's counters: as root still, and
     * only its own region is writable for it. */
    if ((st = ph_segment_child_stats(slot))) {
        atomic_store(&st->cgroup_failed, 1);
    }
    if ((es = ph_segment_env_stats(env->index))) {
        first = atomic_fetch_add(&es->cgroup_failures, 1) == 0;
    }
    ap_log_error(APLOG_MARK, first || env->cgroup_required ? APLOG_ERR
                                                           : APLOG_DEBUG,
                 err, ap_server_conf, PHLOGNO(00206) "%s in slot %d: cannot "
                 "join cgroup %s; %s", what, slot, dir,
                 env->cgroup_required
                 ? "it exits (CgroupRequired on)"
                 : first ? "it serves without it (said once per environment "
                           "and generation; status counts the others)"
                         : "it serves without it");
    return env->cgroup_required ? -1 : 0;
}
