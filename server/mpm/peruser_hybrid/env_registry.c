/*
 * env_registry.c -- <Processor> blocks, ServerEnvironment, and their
 * resolution at startup.
 */
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "httpd.h"
#include "apr_hash.h"
#include "apr_strings.h"
#include "http_config.h"
#include "http_log.h"
#include "unixd.h"

#include "config_value.h"
#include "envconf_stub.h"
#include "ph_env.h"
#include "ph_factory.h"
#include "ph_log.h"
#include "ph_magic.h"
#include "ph_module.h"
#include "ph_numa.h"
#include "placement.h"

apr_array_header_t *ph_envs;

static apr_hash_t *bindings;
static apr_array_header_t *servers_by_id;  /* vhost id -> server_rec * */
/* name -> ph_env *: a scan of ph_envs for each <Processor> and each
 * vhost's ServerEnvironment was N^2 string compares per configuration
 * read (issue 13: a factory's start at 1,000 environments). */
static apr_hash_t *by_name;
/* A processor factory's file holds only some environments' blocks, each
 * with its index in the parent's numbering (PH_ENV_INDEX_DIRECTIVE): an
 * environment's index is then not its position in ph_envs. */
static int renumbered;

void ph_env_reset(apr_pool_t *pconf)
{
    ph_envs = apr_array_make(pconf, 8, sizeof(ph_env *));
    by_name = apr_hash_make(pconf);
    bindings = NULL;    /* the last generation's, in a cleared pool */
    renumbered = 0;
}

ph_env *ph_env_by_index(int index)
{
    ph_env *env;
    int i;

    if (!ph_envs || index < 0) {
        return NULL;
    }
    if (!renumbered) {
        return index < ph_envs->nelts ? APR_ARRAY_IDX(ph_envs, index, ph_env *)
                                      : NULL;
    }
    /* A few blocks (the factory's own, the main server's, the
     * StatusEnvironment's): a scan. */
    for (i = 0; i < ph_envs->nelts; i++) {
        env = APR_ARRAY_IDX(ph_envs, i, ph_env *);
        if (env->index == index) {
            return env;
        }
    }
    return NULL;
}

static ph_env *env_find(const char *name)
{
    return by_name ? apr_hash_get(by_name, name, APR_HASH_KEY_STRING) : NULL;
}

ph_env *ph_env_named(const char *name)
{
    return env_find(name);
}

/* PH_ENV_INDEX_DIRECTIVE in env's block: only in a processor factory's
 * file, which the parent wrote; an index no other block of the file has. */
static const char *set_index(cmd_parms *cmd, ph_env *env, const char *arg)
{
    char *end;
    long n;
    int i;

    if (!ph_factory_is_me() || ph_factory_makes_multiplexers()) {
        return PH_ENV_INDEX_DIRECTIVE " is written by the server into an "
               "environment's own configuration; it has no use elsewhere";
    }
    n = strtol(arg, &end, 10);
    if (*end || end == arg || n < 0 || n > INT_MAX / 2) {
        return apr_psprintf(cmd->pool, "<Processor %s>: "
                            PH_ENV_INDEX_DIRECTIVE " %s: not an index",
                            env->name, arg);
    }
    for (i = 0; i < ph_envs->nelts; i++) {
        const ph_env *other = APR_ARRAY_IDX(ph_envs, i, ph_env *);

        if (other != env && other->index == (int)n) {
            return apr_psprintf(cmd->pool, "<Processor %s>: "
                                PH_ENV_INDEX_DIRECTIVE " %ld is <Processor "
                                "%s>'s", env->name, n, other->name);
        }
    }
    env->index = (int)n;
    renumbered = 1;
    return NULL;
}

static ph_env *env_add(apr_pool_t *p, const char *name)
{
    ph_env *env = apr_pcalloc(p, sizeof(*env));

    env->magic = PH_ENV_MAGIC;
    env->index = ph_envs->nelts;
    env->name = apr_pstrdup(p, name);
    env->limits.min_processors = -1;
    env->limits.max_processors = -1;
    env->limits.min_spare_processors = -1;
    env->limits.max_spare_processors = -1;
    env->limits.memory_max_mib = -1;
    env->limits.pids_max = -1;
    env->limits.cpu_weight = -1;
    env->limits.cpu_max_pct = -1;
    env->chan[0] = env->chan[1] = -1;
    env->answer[0] = env->answer[1] = -1;
    env->shm_index = -1;
    /* cgroups and cgroup_groups stay NULL (none) until one is named or
     * made: two arrays each of 10,000 environments would otherwise hold
     * (issue 13). */
    env->numa_node = PH_NUMA_UNSET;
    env->nice_level = PH_NICE_UNSET;
    APR_ARRAY_PUSH(ph_envs, ph_env *) = env;
    if (by_name) {
        apr_hash_set(by_name, env->name, APR_HASH_KEY_STRING, env);
    }
    return env;
}

/* One directive inside <Processor>: "Name arg". */
static const char *processor_line(cmd_parms *cmd, ph_env *env,
                                  const ap_directive_t *dir)
{
    const char *args = dir->args;
    const char *arg = ap_getword_conf(cmd->temp_pool, &args);
    const ph_directive *d;

    PH_CHECK_MAGIC(env, PH_ENV_MAGIC);

    if (!strcasecmp(dir->directive, "Cgroup")) {
        /* one directory per hierarchy (cgroup v1 has one per controller) */
        if (!env->cgroups) {
            env->cgroups = apr_array_make(cmd->pool, 1, sizeof(const char *));
        }
        for (; *arg; arg = ap_getword_conf(cmd->temp_pool, &args)) {
            APR_ARRAY_PUSH(env->cgroups, const char *) =
                apr_pstrdup(cmd->pool, arg);
        }
        if (env->cgroups->nelts == 0) {
            return apr_psprintf(cmd->pool, "<Processor %s>: Cgroup takes one "
                                "or more cgroup directories (%s:%d)",
                                env->name, dir->filename, dir->line_num);
        }
        return NULL;
    }
    if (!*arg || *ap_getword_conf(cmd->temp_pool, &args)) {
        return apr_psprintf(cmd->pool, "<Processor %s>: %s takes exactly one "
                            "argument (%s:%d)", env->name, dir->directive,
                            dir->filename, dir->line_num);
    }
    if (!strcasecmp(dir->directive, "Chroot")) {
        if (arg[0] != '/') {
            return apr_psprintf(cmd->pool, "<Processor %s>: Chroot needs an "
                                "absolute path, not '%s' (%s:%d)", env->name,
                                arg, dir->filename, dir->line_num);
        }
        env->chroot_dir = apr_pstrdup(cmd->pool, arg);
        return NULL;
    }
    if (!strcasecmp(dir->directive, "NUMANode")) {
        const char *msg = ph_numa_parse(cmd->pool, arg, &env->numa_node);
        return msg ? apr_psprintf(cmd->pool, "<Processor %s>: %s (%s:%d)",
                                  env->name, msg, dir->filename,
                                  dir->line_num)
                   : NULL;
    }
    if (!strcasecmp(dir->directive, "NiceLevel")) {
        char err[256];
        long nice;

        if (ph_conf_parse_long("NiceLevel", arg, -20, 19, &nice, err,
                               sizeof(err))) {
            return apr_psprintf(cmd->pool, "<Processor %s>: %s (%s:%d)",
                                env->name, err, dir->filename,
                                dir->line_num);
        }
        env->nice_level = (int)nice;
        return NULL;
    }
    if (!strcasecmp(dir->directive, "CgroupRequired")) {
        if (strcasecmp(arg, "on") && strcasecmp(arg, "off")) {
            return apr_psprintf(cmd->pool, "<Processor %s>: CgroupRequired "
                                "takes on or off, not '%s' (%s:%d)",
                                env->name, arg, dir->filename,
                                dir->line_num);
        }
        env->cgroup_required = !strcasecmp(arg, "on");
        return NULL;
    }
    if (!strcasecmp(dir->directive, PH_ENV_INDEX_DIRECTIVE)) {
        return set_index(cmd, env, arg);
    }
    if (!strcasecmp(dir->directive, "User")) {
        env->user_name = apr_pstrdup(cmd->pool, arg);
        return NULL;
    }
    if (!strcasecmp(dir->directive, "Group")) {
        env->group_name = apr_pstrdup(cmd->pool, arg);
        return NULL;
    }
    d = ph_directive_find(dir->directive);
    if (!d || !(d->contexts & PH_CTX_PROCESSOR)) {
        return apr_psprintf(cmd->pool, "<Processor %s>: '%s' is not allowed "
                            "here (allowed: User, Group, Chroot, Cgroup, "
                            "CgroupRequired, NUMANode, NiceLevel, "
                            "MinProcessors, MaxProcessors, "
                            "MinSpareProcessors, MaxSpareProcessors, "
                            "ProcessorMemoryMax, ProcessorPidsMax, "
                            "ProcessorCpuWeight, ProcessorCpuMax) "
                            "(%s:%d)", env->name,
                            dir->directive, dir->filename, dir->line_num);
    }
    return ph_directive_apply(d, arg, &env->limits, cmd->pool);
}

const char *ph_env_processor_section(cmd_parms *cmd, void *dummy,
                                     const char *arg)
{
    char err[256];
    const char *endp = ap_strrchr_c(arg, '>');
    const char *name, *msg;
    const ap_directive_t *dir;
    ph_env *env;

    (void)dummy;
    if ((msg = ap_check_cmd_context(cmd, GLOBAL_ONLY))) {
        return msg;
    }
    if (!endp) {
        return "<Processor> directive missing closing '>'";
    }
    name = apr_pstrndup(cmd->temp_pool, arg, endp - arg);
    name = ap_getword_conf(cmd->temp_pool, &name);
    if (ph_conf_check_env_name(name, err, sizeof(err))) {
        return apr_psprintf(cmd->pool, "<Processor %s>: %s", name, err);
    }
    if (env_find(name)) {
        return apr_psprintf(cmd->pool, "<Processor %s> is defined twice",
                            name);
    }
    env = env_add(cmd->pool, name);
    env->defn_file = cmd->directive->filename;
    env->defn_line = cmd->directive->line_num;

    /* httpd has already parsed the block into a tree: walk its children
     * rather than letting httpd dispatch them, because User and Group mean
     * something else here than at server level. */
    for (dir = cmd->directive->first_child; dir; dir = dir->next) {
        if ((msg = processor_line(cmd, env, dir))) {
            return msg;
        }
    }
    if (!env->user_name || !env->group_name) {
        return apr_psprintf(cmd->pool, "<Processor %s>: both User and Group "
                            "are required", name);
    }
    return NULL;
}

const char *ph_env_list_cmd(cmd_parms *cmd, void *dummy, const char *arg)
{
    char err[256];
    const char *msg;
    ph_env *env;

    (void)dummy;
    if (!ph_factory_makes_multiplexers()) {
        return PH_ENV_LIST_DIRECTIVE " is written by the server into the "
               "multiplexers' configuration; it has no use elsewhere";
    }
    if ((msg = ap_check_cmd_context(cmd, GLOBAL_ONLY))) {
        return msg;
    }
    if (ph_conf_check_env_name(arg, err, sizeof(err))) {
        return apr_psprintf(cmd->pool, PH_ENV_LIST_DIRECTIVE " %s: %s", arg,
                            err);
    }
    if (env_find(arg)) {
        return apr_psprintf(cmd->pool, PH_ENV_LIST_DIRECTIVE " %s: named "
                            "twice", arg);
    }
    env = env_add(cmd->pool, arg);
    env->routing_only = 1;
    env->defn_file = cmd->directive->filename;
    env->defn_line = cmd->directive->line_num;
    return NULL;
}

const char *ph_env_set_server_env(cmd_parms *cmd, void *dummy,
                                  const char *arg)
{
    ph_server_conf *sc = ap_get_module_config(cmd->server->module_config,
                                              &mpm_peruser_hybrid_module);
    (void)dummy;
    sc->env_name = apr_pstrdup(cmd->pool, arg);
    sc->env_set_in = apr_psprintf(cmd->pool, "%s:%d",
                                  cmd->directive->filename,
                                  cmd->directive->line_num);
    return NULL;
}

const char *ph_env_set_stub_weight(cmd_parms *cmd, void *dummy,
                                   const char *arg)
{
    ph_server_conf *sc = ap_get_module_config(cmd->server->module_config,
                                              &mpm_peruser_hybrid_module);
    char *end;
    long n;

    (void)dummy;
    if (!ph_factory_is_me() || !cmd->server->is_virtual) {
        return PH_STUB_WEIGHT_DIRECTIVE " is written by the server into "
               "the stubs of an environment's own configuration and into "
               "the multiplexers'; it has no use elsewhere";
    }
    n = strtol(arg, &end, 10);
    if (*end || n < 1 || n > INT_MAX / 2) {
        return apr_pstrcat(cmd->pool, PH_STUB_WEIGHT_DIRECTIVE ": not a "
                           "count of virtual hosts: ", arg, NULL);
    }
    sc->stands_for = (int)n;
    return NULL;
}

void *ph_env_create_server_conf(apr_pool_t *p, server_rec *s)
{
    (void)s;
    return apr_pcalloc(p, sizeof(ph_server_conf));
}

void *ph_env_merge_server_conf(apr_pool_t *p, void *base_, void *add_)
{
    ph_server_conf *base = base_, *add = add_;
    ph_server_conf *merged = apr_pcalloc(p, sizeof(*merged));

    /* A vhost without ServerEnvironment inherits the main server's. */
    *merged = *add;
    if (!merged->env_name) {
        merged->env_name = base->env_name;
        merged->env_set_in = base->env_set_in;
    }
    return merged;
}

static ph_server_conf *server_conf(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &mpm_peruser_hybrid_module);
}

/*
 * Who serves which server_rec, keyed by the server_rec's address and
 * built by ph_env_resolve from the configuration as read.  Every later
 * question is answered from here, never from s->module_config: a
 * processor replaces the module_config of other environments' vhosts
 * (proc_confine.c), and what it puts there says nothing about them.  A
 * server_rec not in the map (one a module made up) belongs to no
 * environment.  Read-only after ph_env_resolve, so threads share it.
 */
typedef struct vhost_binding {
    ph_env *env;
    int vhost_id;
    int weight;         /* vhosts of the whole configuration it stands for */
    int stub;           /* another environment's (PH_STUB_WEIGHT_DIRECTIVE) */
} vhost_binding;

static const vhost_binding *binding_of(const server_rec *s)
{
    return bindings ? apr_hash_get(bindings, &s, sizeof(s)) : NULL;
}

ph_env *ph_env_of_server(const server_rec *s)
{
    const vhost_binding *b = binding_of(s);
    ph_env *env = b ? b->env : NULL;

    ap_assert(!env || env->magic == PH_ENV_MAGIC);
    return env;
}

int ph_env_is_stub(const server_rec *s)
{
    const vhost_binding *b = binding_of(s);

    return b && b->stub;
}

int ph_env_stub_weight(const server_rec *s)
{
    const vhost_binding *b = binding_of(s);

    return b && b->weight > 1 ? b->weight : 1;
}

int ph_env_vhost_id(const server_rec *s)
{
    const vhost_binding *b = binding_of(s);

    return b ? b->vhost_id : -1;
}

server_rec *ph_env_server_by_id(uint32_t vhost_id)
{
    if (!servers_by_id || vhost_id >= (uint32_t)servers_by_id->nelts) {
        return NULL;
    }
    return APR_ARRAY_IDX(servers_by_id, vhost_id, server_rec *);
}

int ph_env_can_switch_users(void)
{
    return geteuid() == 0;
}

/*
 * getpwnam and getgrnam read the account databases (nsswitch: files,
 * systemd's userdb...) at every call: tens of system calls each.  A
 * thousand environments of a few accounts looked every name up a thousand
 * times, in the parent's two passes and in every factory's start (issue
 * 13: most of a factory's start).  Each name is looked up once per
 * resolution; the answer for a name does not change within one.
 */
typedef struct id_memo {
    apr_hash_t *users;          /* name -> id_known */
    apr_hash_t *groups;
} id_memo;

typedef struct id_known {
    int found;
    unsigned long id;
} id_known;

static const id_known *known_id(apr_pool_t *p, apr_hash_t *h,
                                const char *name, int group)
{
    id_known *k = apr_hash_get(h, name, APR_HASH_KEY_STRING);

    if (!k) {
        k = apr_pcalloc(p, sizeof(*k));
        if (group) {
            struct group *gr = getgrnam(name);
            k->found = gr != NULL;
            k->id = gr ? (unsigned long)gr->gr_gid : 0;
        }
        else {
            struct passwd *pw = getpwnam(name);
            k->found = pw != NULL;
            k->id = pw ? (unsigned long)pw->pw_uid : 0;
        }
        apr_hash_set(h, apr_pstrdup(p, name), APR_HASH_KEY_STRING, k);
    }
    return k;
}

static const char *resolve_identity(apr_pool_t *p, apr_pool_t *scratch,
                                    id_memo *memo, ph_env *env)
{
    const id_known *pw, *gr;

    PH_CHECK_MAGIC(env, PH_ENV_MAGIC);

    pw = known_id(scratch, memo->users, env->user_name, 0);
    if (!pw->found) {
        return apr_psprintf(p, "<Processor %s> (%s:%u): unknown user '%s'",
                            env->name, env->defn_file, env->defn_line,
                            env->user_name);
    }
    gr = known_id(scratch, memo->groups, env->group_name, 1);
    if (!gr->found) {
        return apr_psprintf(p, "<Processor %s> (%s:%u): unknown group '%s'",
                            env->name, env->defn_file, env->defn_line,
                            env->group_name);
    }
    if (pw->id == 0 || gr->id == 0) {
        return apr_psprintf(p, "<Processor %s> (%s:%u): refusing to run an "
                            "environment as root (User %s, Group %s)",
                            env->name, env->defn_file, env->defn_line,
                            env->user_name, env->group_name);
    }
    env->uid = (uid_t)pw->id;
    env->gid = (gid_t)gr->id;
    return NULL;
}

/* Chroot and Cgroup must exist now, not when the first child starts. */
static const char *check_env_places(apr_pool_t *p, ph_env *env)
{
    struct stat st;
    int i;

    PH_CHECK_MAGIC(env, PH_ENV_MAGIC);

    if (env->chroot_dir && (stat(env->chroot_dir, &st) < 0
                            || !S_ISDIR(st.st_mode))) {
        return apr_psprintf(p, "<Processor %s> (%s:%u): Chroot %s is not a "
                            "directory", env->name, env->defn_file,
                            env->defn_line, env->chroot_dir);
    }
    for (i = 0; env->cgroups && i < env->cgroups->nelts; i++) {
        const char *dir = APR_ARRAY_IDX(env->cgroups, i, const char *);
        const char *procs = apr_pstrcat(p, dir, "/cgroup.procs", NULL);
        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)
            || stat(procs, &st) < 0) {
            return apr_psprintf(p, "<Processor %s> (%s:%u): Cgroup %s is not "
                                "a cgroup directory (no cgroup.procs)",
                                env->name, env->defn_file, env->defn_line,
                                dir);
        }
    }
    return NULL;
}

static const char *check_env_limits(apr_pool_t *p, ph_env *env)
{
    long min = ph_env_limit(&env->limits, offsetof(ph_env_limits,
                                                   min_processors));
    long max = ph_env_limit(&env->limits, offsetof(ph_env_limits,
                                                   max_processors));
    long min_spare = ph_env_limit(&env->limits, offsetof(ph_env_limits,
                                                         min_spare_processors));
    long max_spare = ph_env_limit(&env->limits, offsetof(ph_env_limits,
                                                         max_spare_processors));

    PH_CHECK_MAGIC(env, PH_ENV_MAGIC);
    if (min > max) {
        return apr_psprintf(p, "<Processor %s>: MinProcessors %ld is above "
                            "MaxProcessors %ld", env->name, min, max);
    }
    if (env->limits.max_processors > ph_conf.max_processors) {
        return apr_psprintf(p, "<Processor %s>: MaxProcessors %ld is above "
                            "the global MaxProcessors %ld", env->name,
                            env->limits.max_processors,
                            ph_conf.max_processors);
    }
    if (max_spare && min_spare > max_spare) {
        return apr_psprintf(p, "<Processor %s>: MinSpareProcessors %ld is "
                            "above MaxSpareProcessors %ld", env->name,
                            min_spare, max_spare);
    }
    return NULL;
}

/* ServerLimit must hold what is kept running whatever the load: the
 * multiplexers and every environment's MinProcessors.  Otherwise -t would
 * pass and the parent would find no free slot several times a second. */
static const char *check_capacity(apr_pool_t *p)
{
    long kept = ph_conf.min_multiplexers;
    int i;

    for (i = 0; i < ph_envs->nelts; i++) {
        const ph_env *env = APR_ARRAY_IDX(ph_envs, i, ph_env *);
        kept += ph_env_limit(&env->limits,
                             offsetof(ph_env_limits, min_processors));
    }
    if (kept > ph_conf.server_limit) {
        return apr_psprintf(p, "ServerLimit %ld cannot hold the %ld "
                            "children kept running (MinMultiplexers %ld and "
                            "every environment's MinProcessors): raise "
                            "ServerLimit to at least %ld, or lower "
                            "MinProcessors", ph_conf.server_limit, kept,
                            ph_conf.min_multiplexers, kept);
    }
    return NULL;
}

const char *ph_env_resolve(apr_pool_t *p, server_rec *main_server)
{
    const char *msg;
    server_rec *s;
    int i, vhost_id = 0;

    if (ph_envs->nelts == 0) {
        /* A plain httpd config: serve everything in one environment as the
         * server's own User/Group, so existing configs keep working. */
        ph_env *env = env_add(p, PH_IMPLICIT_ENV_NAME);
        env->implicit = 1;
        env->user_name = ap_unixd_config.user_name;
        env->uid = ap_unixd_config.user_id;
        env->gid = ap_unixd_config.group_id;
        env->group_name = "(User's group)";
        env->defn_file = "(implicit)";
    }
    else {
        apr_pool_t *scratch;
        id_memo memo;

        apr_pool_create(&scratch, p);
        memo.users = apr_hash_make(scratch);
        memo.groups = apr_hash_make(scratch);
        for (i = 0, msg = NULL; i < ph_envs->nelts && !msg; i++) {
            ph_env *env = APR_ARRAY_IDX(ph_envs, i, ph_env *);

            /* No account, limits or places to check: the parent checked
             * this environment's, and nothing here runs it. */
            if (env->routing_only) {
                continue;
            }
            if (!(msg = resolve_identity(p, scratch, &memo, env))
                && !(msg = check_env_limits(p, env))) {
                msg = check_env_places(p, env);
            }
        }
        apr_pool_destroy(scratch);
        if (msg) {
            return msg;
        }
    }

    /* The multiplexers' file has no environment's MinProcessors: the
     * parent checked the sum. */
    if (!ph_factory_makes_multiplexers() && (msg = check_capacity(p))) {
        return msg;
    }
    bindings = apr_hash_make(p);
    servers_by_id = apr_array_make(p, 16, sizeof(server_rec *));
    for (s = main_server; s; s = s->next) {
        ph_server_conf *sc = server_conf(s);
        vhost_binding *b = apr_pcalloc(p, sizeof(*b));
        const server_rec **key = apr_palloc(p, sizeof(*key));
        int weight = sc->stands_for > 1 ? sc->stands_for : 1;

        sc->vhost_id = vhost_id;
        if (ph_envs->nelts == 1
            && APR_ARRAY_IDX(ph_envs, 0, ph_env *)->implicit) {
            sc->env = APR_ARRAY_IDX(ph_envs, 0, ph_env *);
        }
        else if (sc->stands_for > 0 && !ph_factory_makes_multiplexers()) {
            /* A stub: another environment's vhost(s) (envconf_stub.h),
             * whatever it would inherit from the main server.  In the
             * multiplexers' image a run is its first member's
             * (ServerEnvironment), members resolved by ph_front_env_of. */
            sc->env = NULL;
        }
        else if (sc->env_name) {
            if (!(sc->env = env_find(sc->env_name))) {
                return apr_psprintf(p, "ServerEnvironment %s (%s): no "
                                    "<Processor %s> is defined",
                                    sc->env_name, sc->env_set_in,
                                    sc->env_name);
            }
        }
        else {
            sc->env = NULL;     /* answered with 503 by the multiplexers */
        }
        b->env = sc->env;
        b->vhost_id = vhost_id;
        b->weight = weight;
        b->stub = sc->stands_for > 0;
        /* a merged stub holds every id of the vhosts it stands for */
        for (i = 0; i < weight; i++, vhost_id++) {
            APR_ARRAY_PUSH(servers_by_id, server_rec *) = s;
        }
        *key = s;
        apr_hash_set(bindings, key, sizeof(*key), b);
    }
    return NULL;
}
