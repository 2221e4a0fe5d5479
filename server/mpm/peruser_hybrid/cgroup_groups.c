/*
 * cgroup_groups.c -- CgroupRoot: the groups the parent makes for each
 * environment, their limits, and their removal at stop, or, for a group
 * a restart left without environment, once it is empty (ph_cgroup.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "httpd.h"
#include "apr_strings.h"
#include "http_log.h"
#include "http_main.h"
#include "mpm_common.h"

#include "cgroup_limits.h"
#include "ph_cgroup.h"
#include "ph_config.h"
#include "ph_env.h"
#include "ph_log.h"
#include "ph_magic.h"
#include "ph_parent.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* How long the parent waits at stop for a group to empty after killing
 * what was left in it. */
#define REMOVE_WAIT_MS 3000

/* Members of a group read at once (more are killed at the next try). */
#define MEMBERS_MAX 256

typedef struct cg_root {
    const char *dir;
    int version;                /* PH_CG_V1 / PH_CG_V2 */
    unsigned ctrl;              /* PH_CG_CTRL_* it has */
} cg_root;

/* This generation's roots, found by check_config (pconf); the parent and
 * a factory each have their own, children inherit them. */
static apr_array_header_t *roots;

/* A group an earlier generation made that the current one does not have
 * (a restart removed its environment, or changed CgroupRoot).  Its
 * processors may still be serving, so it outlives the pconf it was named
 * in: malloc'd, listed in the parent's retained data (this module's
 * statics go with each generation).  Parent only. */
#define CG_LEAVING_MAGIC 0x5048434cu    /* "PHCL" */
typedef struct cg_leaving {
    unsigned magic;
    char *dir;                  /* malloc'd */
    char *env_name;             /* malloc'd, for messages */
    apr_time_t kill_from;       /* what is left in it is killed from then
                                 * on (the restart + GracefulShutdownTimeout),
                                 * 0: once no processor is among it */
    struct cg_leaving *next;
} cg_leaving;

static cg_leaving **leaving_list(void)
{
    static const char key[] = "mpm_peruser_hybrid_cgroup_leaving";
    cg_leaving **l = ap_retained_data_get(key);

    if (!l) {
        l = ap_retained_data_create(key, sizeof(*l));
        *l = NULL;
    }
    return l;
}

const char *ph_cgroup_set_root(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *msg = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)dummy;
    if (msg) {
        return msg;
    }
    if (arg[0] != '/') {
        return apr_psprintf(cmd->pool, "CgroupRoot needs absolute paths, "
                            "not '%s'", arg);
    }
    if (!ph_conf.cgroup_roots) {
        ph_conf.cgroup_roots = apr_array_make(cmd->pool, 3,
                                              sizeof(const char *));
    }
    APR_ARRAY_PUSH(ph_conf.cgroup_roots, const char *) =
        apr_pstrdup(cmd->pool, arg);
    return NULL;
}

static int has_file(const char *dir, const char *name)
{
    char path[1024];
    struct stat st;

    apr_snprintf(path, sizeof(path), "%s/%s", dir, name);
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* v2: the controllers the root may give its groups (cgroup.controllers,
 * a line of words). */
static unsigned v2_controllers(const char *dir)
{
    char path[1024], line[512], *word, *last;
    unsigned ctrl = 0;
    FILE *f;

    apr_snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
    if (!(f = fopen(path, "re"))) {
        return 0;
    }
    if (fgets(line, sizeof(line), f)) {
        for (word = apr_strtok(line, " \n", &last); word;
             word = apr_strtok(NULL, " \n", &last)) {
            ctrl |= !strcmp(word, "memory") ? PH_CG_CTRL_MEMORY
                    : !strcmp(word, "pids") ? PH_CG_CTRL_PIDS
                    : !strcmp(word, "cpu") ? PH_CG_CTRL_CPU : 0;
        }
    }
    fclose(f);
    return ctrl;
}

static const char *root_probe(apr_pool_t *p, const char *dir, cg_root *r)
{
    struct statfs fs;

    r->dir = dir;
    if (statfs(dir, &fs) < 0 || !has_file(dir, "cgroup.procs")) {
        return apr_psprintf(p, "CgroupRoot %s is not a cgroup directory "
                            "(no cgroup.procs)", dir);
    }
    if ((unsigned long)fs.f_type == CGROUP2_SUPER_MAGIC) {
        r->version = PH_CG_V2;
        r->ctrl = v2_controllers(dir);
        return NULL;
    }
    if ((unsigned long)fs.f_type != CGROUP_SUPER_MAGIC) {
        return apr_psprintf(p, "CgroupRoot %s is not on a cgroup file "
                            "system", dir);
    }
    r->version = PH_CG_V1;
    r->ctrl = (has_file(dir, "memory.limit_in_bytes") ? PH_CG_CTRL_MEMORY : 0)
              | (has_file(dir, "memory.memsw.limit_in_bytes")
                 ? PH_CG_CTRL_MEMSW : 0)
              | (has_file(dir, "pids.max") ? PH_CG_CTRL_PIDS : 0)
              | (has_file(dir, "cpu.shares") ? PH_CG_CTRL_CPU : 0);
    return NULL;
}

static void limits_of(const ph_env *env, ph_cgroup_limits *l)
{
    l->memory_max_mib = ph_env_limit(&env->limits,
                                     offsetof(ph_env_limits, memory_max_mib));
    l->pids_max = ph_env_limit(&env->limits,
                               offsetof(ph_env_limits, pids_max));
    l->cpu_weight = ph_env_limit(&env->limits,
                                 offsetof(ph_env_limits, cpu_weight));
    l->cpu_max_pct = ph_env_limit(&env->limits,
                                  offsetof(ph_env_limits, cpu_max_pct));
}

/* The directive that needs controller bit c, for messages. */
static const char *needing(const ph_cgroup_limits *l, unsigned c)
{
    return c == PH_CG_CTRL_MEMORY ? "ProcessorMemoryMax"
           : c == PH_CG_CTRL_PIDS ? "ProcessorPidsMax"
           : l->cpu_max_pct > 0 ? "ProcessorCpuMax" : "ProcessorCpuWeight";
}

static const char *check_env(apr_pool_t *p, ph_env *env, unsigned have)
{
    static const unsigned each[] = { PH_CG_CTRL_MEMORY, PH_CG_CTRL_PIDS,
                                     PH_CG_CTRL_CPU };
    ph_cgroup_limits l;
    unsigned need;
    size_t i;

    limits_of(env, &l);
    need = ph_cgroup_limits_need(&l);
    for (i = 0; i < sizeof(each) / sizeof(each[0]); i++) {
        if (!(need & each[i]) || (have & each[i])) {
            continue;
        }
        return apr_psprintf(p, "<Processor %s> (%s:%u): %s needs %s", env->name,
                            env->defn_file ? env->defn_file : "?",
                            env->defn_line, needing(&l, each[i]),
                            roots->nelts
                            ? apr_psprintf(p, "a CgroupRoot with the %s "
                                           "controller (none has it)",
                                           each[i] == PH_CG_CTRL_MEMORY
                                           ? "memory"
                                           : each[i] == PH_CG_CTRL_PIDS
                                           ? "pids" : "cpu")
                            : "CgroupRoot (not set)");
    }
    return NULL;
}

const char *ph_cgroup_check_config(apr_pool_t *p)
{
    const char *msg;
    unsigned have = 0;
    int i, j, v2 = 0;

    roots = apr_array_make(p, 3, sizeof(cg_root));
    for (i = 0; ph_conf.cgroup_roots && i < ph_conf.cgroup_roots->nelts;
         i++) {
        cg_root *r = apr_array_push(roots);

        if ((msg = root_probe(p, APR_ARRAY_IDX(ph_conf.cgroup_roots, i,
                                               const char *), r))) {
            return msg;
        }
        if (r->version == PH_CG_V2 && ++v2 > 1) {
            return apr_psprintf(p, "CgroupRoot %s: a second cgroup v2 "
                                "directory (a process is in one v2 group)",
                                r->dir);
        }
        have |= r->ctrl;
    }
    for (i = 0; i < ph_envs->nelts; i++) {
        ph_env *env = APR_ARRAY_IDX(ph_envs, i, ph_env *);

        PH_CHECK_MAGIC(env, PH_ENV_MAGIC);
        if ((msg = check_env(p, env, have))) {
            return msg;
        }
        if (env->cgroup_groups) {
            apr_array_clear(env->cgroup_groups);
        }
        else if (roots->nelts) {
            env->cgroup_groups = apr_array_make(p, roots->nelts,
                                                sizeof(const char *));
        }
        for (j = 0; j < roots->nelts; j++) {
            APR_ARRAY_PUSH(env->cgroup_groups, const char *) =
                apr_pstrcat(p, APR_ARRAY_IDX(roots, j, cg_root).dir, "/",
                            env->name, NULL);
        }
    }
    return NULL;
}

/* v2: a group gets a controller's files only once its parent enables it
 * for its children: "+memory" etc., one word per write. */
static unsigned v2_enable(const cg_root *r, unsigned want)
{
    static const struct { unsigned bit; const char *word; } c[] = {
        { PH_CG_CTRL_MEMORY, "+memory" }, { PH_CG_CTRL_PIDS, "+pids" },
        { PH_CG_CTRL_CPU, "+cpu" } };
    char path[1024];
    unsigned done = 0;
    size_t i;

    apr_snprintf(path, sizeof(path), "%s/cgroup.subtree_control", r->dir);
    for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        int fd;

        if (!(want & c[i].bit)) {
            continue;
        }
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd >= 0 && write(fd, c[i].word, strlen(c[i].word))
                       == (ssize_t)strlen(c[i].word)) {
            done |= c[i].bit;
        }
        else {
            ap_log_error(APLOG_MARK, APLOG_ERR, errno, ap_server_conf,
                         PHLOGNO(00612) "CgroupRoot %s: cannot enable the "
                         "%s controller for its groups", r->dir,
                         c[i].word + 1);
        }
        if (fd >= 0) {
            close(fd);
        }
    }
    return done;
}

/* Make dir (root's, 0755) and write env's limits for the controllers
 * ctrl.  A group left by an earlier generation is reused. */
static void group_make(const cg_root *r, unsigned ctrl, const ph_env *env,
                       const char *dir)
{
    ph_cgroup_file files[PH_CG_FILES_MAX];
    ph_cgroup_limits l;
    const char *failed = NULL;
    struct stat st;
    int n;

    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        goto cannot_make;
    }
    if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        goto cannot_make;
    }
    limits_of(env, &l);
    n = ph_cgroup_limit_files(r->version, ctrl, &l, files, PH_CG_FILES_MAX);
    if (ph_cgroup_write_files(dir, files, n, &failed) < 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, errno, ap_server_conf,
                     PHLOGNO(00611) "environment %s: cannot write %s/%s: its "
                     "processors run without that limit", env->name, dir,
                     failed);
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf, PHLOGNO(00614)
                 "environment %s: cgroup %s ready (%d limit file(s))",
                 env->name, dir, n);
    return;
cannot_make:
    ap_log_error(APLOG_MARK, APLOG_ERR, errno, ap_server_conf,
                 PHLOGNO(00610) "environment %s: cannot create its cgroup %s",
                 env->name, dir);
}

static void leaving_free(cg_leaving *g)
{
    g->magic = 0;
    free(g->dir);
    free(g->env_name);
    free(g);
}

/* Drop (and free) every group of the list for which done(g, now) says
 * so. */
static void leaving_sweep(int (*done)(cg_leaving *g, apr_time_t now),
                          apr_time_t now)
{
    cg_leaving **pp = leaving_list(), *g;

    while ((g = *pp) != NULL) {
        PH_CHECK_MAGIC(g, CG_LEAVING_MAGIC);
        if (done(g, now)) {
            *pp = g->next;
            leaving_free(g);
        }
        else {
            pp = &g->next;
        }
    }
}

/* A group this generation makes again is not leaving: it is reused. */
static int reused(cg_leaving *g, apr_time_t now)
{
    int i, j;

    (void)now;
    for (i = 0; i < ph_envs->nelts; i++) {
        const ph_env *env = APR_ARRAY_IDX(ph_envs, i, ph_env *);

        for (j = 0; env->cgroup_groups && j < env->cgroup_groups->nelts;
             j++) {
            if (!strcmp(APR_ARRAY_IDX(env->cgroup_groups, j, const char *),
                        g->dir)) {
                return 1;
            }
        }
    }
    return 0;
}

void ph_cgroup_groups_setup(void)
{
    unsigned need = 0;
    int i, j;

    if (geteuid() != 0) {
        return;
    }
    leaving_sweep(reused, 0);
    if (!roots || !roots->nelts) {
        return;
    }
    for (i = 0; i < ph_envs->nelts; i++) {
        ph_cgroup_limits l;

        limits_of(APR_ARRAY_IDX(ph_envs, i, ph_env *), &l);
        need |= ph_cgroup_limits_need(&l);
    }
    for (j = 0; j < roots->nelts; j++) {
        const cg_root *r = &APR_ARRAY_IDX(roots, j, cg_root);
        unsigned ctrl = r->ctrl;

        if (r->version == PH_CG_V2) {
            ctrl = v2_enable(r, r->ctrl & need);
        }
        for (i = 0; i < ph_envs->nelts; i++) {
            const ph_env *env = APR_ARRAY_IDX(ph_envs, i, ph_env *);

            group_make(r, ctrl, env,
                       APR_ARRAY_IDX(env->cgroup_groups, j, const char *));
        }
    }
}

/* The pids listed in dir/cgroup.procs (kernel-written: a member cannot
 * add a process of another group), at most max; how many, -1 when the
 * file cannot be read. */
static int members(const char *dir, pid_t *pids, int max)
{
    char path[1024];
    long pid;
    int n = 0;
    FILE *f;

    apr_snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
    if (!(f = fopen(path, "re"))) {
        return -1;
    }
    while (n < max && fscanf(f, "%ld", &pid) == 1) {
        if (pid > 1 && pid != (long)getpid()) {
            pids[n++] = (pid_t)pid;
        }
    }
    fclose(f);
    return n;
}

/* SIGKILL those pids; how many. */
static int kill_pids(const pid_t *pids, int n)
{
    int i, killed = 0;

    for (i = 0; i < n; i++) {
        if (kill(pids[i], SIGKILL) == 0) {
            killed++;
            /* an orphan re-parented to this child subreaper */
            waitpid(pids[i], NULL, WNOHANG);
        }
    }
    return killed;
}

/* SIGKILL every process listed in dir/cgroup.procs; how many. */
static int kill_members(const char *dir)
{
    pid_t pids[MEMBERS_MAX];

    return kill_pids(pids, members(dir, pids, MEMBERS_MAX));
}

static void group_remove(const char *env_name, const char *dir)
{
    int waited, killed = 0;

    for (waited = 0; rmdir(dir) < 0; waited += 50) {
        if (errno == ENOENT) {
            return;
        }
        if (errno != EBUSY || waited >= REMOVE_WAIT_MS) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, errno, ap_server_conf,
                         PHLOGNO(00616) "environment %s: cannot remove its "
                         "cgroup %s", env_name, dir);
            return;
        }
        killed += kill_members(dir);
        apr_sleep(apr_time_from_msec(50));
    }
    if (killed) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, ap_server_conf,
                     PHLOGNO(00615) "environment %s: killed %d process(es) "
                     "left in its cgroup %s at stop", env_name, killed, dir);
    }
}

void ph_cgroup_generation_end(void)
{
    cg_leaving **l = leaving_list(), *g;
    apr_time_t kill_from = 0;
    int i, j;

    if (!roots || !roots->nelts || geteuid() != 0) {
        return;
    }
    if (ap_graceful_shutdown_timeout) {
        kill_from = apr_time_now()
                    + apr_time_from_sec(ap_graceful_shutdown_timeout);
    }
    for (i = 0; i < ph_envs->nelts; i++) {
        const ph_env *env = APR_ARRAY_IDX(ph_envs, i, ph_env *);

        for (j = 0; env->cgroup_groups && j < env->cgroup_groups->nelts;
             j++) {
            const char *dir = APR_ARRAY_IDX(env->cgroup_groups, j,
                                            const char *);

            for (g = *l; g && strcmp(g->dir, dir); g = g->next) {
            }
            if (g) {
                g->kill_from = kill_from;   /* the latest restart's */
                continue;
            }
            if (!(g = calloc(1, sizeof(*g))) || !(g->dir = strdup(dir))
                || !(g->env_name = strdup(env->name))) {
                if (g) {
                    free(g->dir);
                    free(g);
                }
                continue;   /* left until the server stops, as before */
            }
            g->magic = CG_LEAVING_MAGIC;
            g->kill_from = kill_from;
            g->next = *l;
            *l = g;
        }
    }
}

/* Whether pid is a processor of the parent's (any generation); *current:
 * of this generation. */
static int is_processor(pid_t pid, int *current)
{
    ph_retained *r = ph_retained_state;
    int slot = ph_slot_of_pid(pid);

    if (slot < 0 || r->slots[slot].type != PH_CHILD_PROC) {
        return 0;
    }
    *current |= r->slots[slot].gen == r->mpm->my_generation;
    return 1;
}

/* One step for a leaving group: 1 when it is gone (or given up). */
static int leaving_step(cg_leaving *g, apr_time_t now)
{
    pid_t pids[MEMBERS_MAX];
    int i, n, procs = 0, current = 0, killed;

    if (rmdir(g->dir) == 0 || errno == ENOENT) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf,
                     PHLOGNO(00621) "environment %s: its cgroup %s, which "
                     "the configuration no longer has, is removed",
                     g->env_name, g->dir);
        return 1;
    }
    if (errno != EBUSY
        || (n = members(g->dir, pids, MEMBERS_MAX)) < 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, errno, ap_server_conf,
                     PHLOGNO(00623) "environment %s: cannot remove its "
                     "cgroup %s, which the configuration no longer has",
                     g->env_name, g->dir);
        return 1;
    }
    for (i = 0; i < n; i++) {
        procs += is_processor(pids[i], &current);
    }
    if (current) {
        return 1;   /* this generation's processors use it: not leaving */
    }
    /* An older generation's processor finishes its connections; what is
     * left once they are gone (orphaned CGIs), or anything after the
     * graceful timeout, is killed by pid, as at stop. */
    if (g->kill_from ? now < g->kill_from : procs > 0) {
        return 0;
    }
    if ((killed = kill_pids(pids, n)) > 0) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, ap_server_conf,
                     PHLOGNO(00622) "environment %s: killed %d process(es) "
                     "left in its cgroup %s, which the configuration no "
                     "longer has", g->env_name, killed, g->dir);
    }
    return 0;       /* removed at a later tick, once the kernel freed it */
}

void ph_cgroup_tidy(void)
{
    if (*leaving_list()) {
        leaving_sweep(leaving_step, apr_time_now());
    }
}

/* At stop: removed as the current generation's are. */
static int removed(cg_leaving *g, apr_time_t now)
{
    (void)now;
    group_remove(g->env_name, g->dir);
    return 1;
}

void ph_cgroup_groups_remove(void)
{
    int i, j;

    leaving_sweep(removed, 0);
    if (!roots || !roots->nelts || geteuid() != 0) {
        return;
    }
    for (i = 0; i < ph_envs->nelts; i++) {
        const ph_env *env = APR_ARRAY_IDX(ph_envs, i, ph_env *);

        for (j = 0; env->cgroup_groups && j < env->cgroup_groups->nelts;
             j++) {
            group_remove(env->name, APR_ARRAY_IDX(env->cgroup_groups, j,
                                            const char *));
        }
    }
}
