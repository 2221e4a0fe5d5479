/*
 * config_table.c -- the directive table and the one typed setter that
 * serves every row of it.
 */
#include <stddef.h>
#include <strings.h>

#include "httpd.h"
#include "ap_listen.h"
#include "apr_strings.h"
#include "http_config.h"
#include "mpm_common.h"

#include "config_value.h"
#include "mpm_default.h"
#include "ph_cgroup.h"
#include "ph_config.h"
#include "envconf_stub.h"
#include "handback_from.h"
#include "ph_env.h"
#include "ph_factory.h"
#include "ph_front.h"
#include "ph_numa.h"
#include "placement.h"

ph_settings ph_conf;

/* The rows, expanded into the table.  The per-environment column names a
 * field of ph_env_limits, or PH_NONE. */
#define PH_ROW(name, ctx, min, max, def, unit, field, envfield, help) \
    { #name, ctx, min, max, def, unit, offsetof(ph_settings, field),  \
      PH_ENV_OFF_##envfield, help },
#define PH_ENV_OFF_PH_NONE        PH_NO_ENV_FIELD
#define PH_ENV_OFF_min_processors offsetof(ph_env_limits, min_processors)
#define PH_ENV_OFF_max_processors offsetof(ph_env_limits, max_processors)
#define PH_ENV_OFF_min_spare_processors \
    offsetof(ph_env_limits, min_spare_processors)
#define PH_ENV_OFF_max_spare_processors \
    offsetof(ph_env_limits, max_spare_processors)
#define PH_ENV_OFF_memory_max_mib offsetof(ph_env_limits, memory_max_mib)
#define PH_ENV_OFF_pids_max       offsetof(ph_env_limits, pids_max)
#define PH_ENV_OFF_cpu_weight     offsetof(ph_env_limits, cpu_weight)
#define PH_ENV_OFF_cpu_max_pct    offsetof(ph_env_limits, cpu_max_pct)
const ph_directive ph_directives[] = {
#include "config_rows.h"
    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};
#undef PH_ROW

void ph_config_reset(void)
{
    const ph_directive *d;

    for (d = ph_directives; d->name; d++) {
        *(long *)((char *)&ph_conf + d->settings_off) = d->def;
    }
    ph_conf.wait_timeout_s = DEFAULT_PROCESSOR_WAIT_TIMEOUT;
    ph_conf.wait_levels = DEFAULT_PROCESSOR_WAIT_LEVELS;
    ph_conf.worker_factor = DEFAULT_ASYNC_REQUEST_WORKER_FACTOR;
    ph_conf.segment_path = NULL;
    ph_conf.monitor_group = NULL;
    ph_conf.processor_image = PH_IMAGE_EXEC;
    ph_conf.status_env = NULL;
    ph_conf.numa_node = PH_NUMA_AUTO;
    ph_conf.cgroup_roots = NULL;
    ph_conf.handback_from = NULL;
}

const ph_handback_from *ph_handback_from_in_force(void)
{
    return ph_conf.handback_from ? ph_conf.handback_from
                                 : ph_handback_from_loopback();
}

const ph_directive *ph_directive_find(const char *name)
{
    const ph_directive *d;

    for (d = ph_directives; d->name; d++) {
        if (!strcasecmp(d->name, name)) {
            return d;
        }
    }
    return NULL;
}

const char *ph_directive_apply(const ph_directive *d, const char *arg,
                               ph_env_limits *env, apr_pool_t *p)
{
    char err[256];
    long value;

    if (ph_conf_parse_long(d->name, arg, d->min, d->max, &value,
                           err, sizeof(err))) {
        return apr_pstrdup(p, err);
    }
    if (env) {
        if (d->env_off == PH_NO_ENV_FIELD) {
            return apr_psprintf(p, "%s is not allowed inside <Processor>",
                                d->name);
        }
        *(long *)((char *)env + d->env_off) = value;
    }
    else {
        *(long *)((char *)&ph_conf + d->settings_off) = value;
    }
    return NULL;
}

long ph_env_limit(const ph_env_limits *l, size_t env_off)
{
    const ph_directive *d;
    long v = *(const long *)((const char *)l + env_off);

    if (v >= 0) {
        return v;
    }
    for (d = ph_directives; d->name; d++) {
        if (d->env_off == env_off) {
            return *(long *)((char *)&ph_conf + d->settings_off);
        }
    }
    return -1;
}

const char *ph_config_validate(apr_pool_t *p)
{
    if (ph_conf.threads_per_child > ph_conf.thread_limit) {
        return apr_psprintf(p, "ThreadsPerChild %ld is above ThreadLimit %ld "
                            "(raise ThreadLimit or lower ThreadsPerChild)",
                            ph_conf.threads_per_child, ph_conf.thread_limit);
    }
    if (ph_conf.min_multiplexers > ph_conf.max_multiplexers) {
        return apr_psprintf(p, "MinMultiplexers %ld is above MaxMultiplexers "
                            "%ld", ph_conf.min_multiplexers,
                            ph_conf.max_multiplexers);
    }
    if (ph_conf.max_spare_processors
        && ph_conf.min_spare_processors > ph_conf.max_spare_processors) {
        return apr_psprintf(p, "MinSpareProcessors %ld is above "
                            "MaxSpareProcessors %ld",
                            ph_conf.min_spare_processors,
                            ph_conf.max_spare_processors);
    }
    if (ph_conf.max_spare_threads
        && ph_conf.min_spare_threads > ph_conf.max_spare_threads) {
        return apr_psprintf(p, "MinSpareThreads %ld is above MaxSpareThreads "
                            "%ld", ph_conf.min_spare_threads,
                            ph_conf.max_spare_threads);
    }
    if (ph_conf.max_request_workers
        && ph_conf.max_request_workers < ph_conf.threads_per_child) {
        return apr_psprintf(p, "MaxRequestWorkers %ld is below "
                            "ThreadsPerChild %ld: not even one processor "
                            "could run", ph_conf.max_request_workers,
                            ph_conf.threads_per_child);
    }
    if (ph_conf.min_processors > ph_conf.max_processors) {
        return apr_psprintf(p, "MinProcessors %ld is above MaxProcessors %ld",
                            ph_conf.min_processors, ph_conf.max_processors);
    }
    return NULL;
}

static const char *set_table_directive(cmd_parms *cmd, void *dummy,
                                       const char *arg)
{
    const ph_directive *d = cmd->info;
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)dummy;
    if (err) {
        return err;
    }
    return ph_directive_apply(d, arg, NULL, cmd->pool);
}

/* ProcessorWaitTimeout <seconds> [<levels>] (peruser's syntax). */
static const char *set_wait_timeout(cmd_parms *cmd, void *dummy,
                                    const char *secs, const char *levels)
{
    char err[256];
    const char *msg = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    long s, l = DEFAULT_PROCESSOR_WAIT_LEVELS;

    (void)dummy;
    if (msg) {
        return msg;
    }
    if (ph_conf_parse_long("ProcessorWaitTimeout", secs, 0, 3600, &s, err,
                           sizeof(err))
        || (levels && ph_conf_parse_long("ProcessorWaitTimeout levels",
                                         levels, 1, 100, &l, err,
                                         sizeof(err)))) {
        return apr_pstrdup(cmd->pool, err);
    }
    ph_conf.wait_timeout_s = s;
    ph_conf.wait_levels = l;
    return NULL;
}

/* AsyncRequestWorkerFactor takes a fraction ("1.5"), as event's does. */
static const char *set_worker_factor(cmd_parms *cmd, void *dummy,
                                     const char *arg)
{
    char err[256];
    const char *msg = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    double f;

    (void)dummy;
    if (msg) {
        return msg;
    }
    if (ph_conf_parse_double("AsyncRequestWorkerFactor", arg, 0.0, 1000.0,
                             &f, err, sizeof(err))) {
        return apr_pstrdup(cmd->pool, err);
    }
    ph_conf.worker_factor = f;
    return NULL;
}

static const char *set_segment_file(cmd_parms *cmd, void *dummy,
                                    const char *path)
{
    const char *msg = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)dummy;
    if (msg) {
        return msg;
    }
    ph_conf.segment_path = ap_runtime_dir_relative(cmd->pool, path);
    if (!ph_conf.segment_path) {
        return apr_psprintf(cmd->pool, "ExtendedScoreBoardFile: invalid "
                            "path '%s'", path);
    }
    return NULL;
}

/* A server-level directive that names something (checked later, once
 * the whole configuration is read): keep the name. */
static const char *global_name(cmd_parms *cmd, const char **field,
                               const char *name)
{
    const char *msg = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (msg) {
        return msg;
    }
    *field = apr_pstrdup(cmd->pool, name);
    return NULL;
}

static const char *set_segment_group(cmd_parms *cmd, void *dummy,
                                     const char *group)
{
    (void)dummy;
    return global_name(cmd, &ph_conf.monitor_group, group);
}

static const char *set_processor_image(cmd_parms *cmd, void *dummy,
                                       const char *how)
{
    const char *msg = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)dummy;
    if (msg) {
        return msg;
    }
    if (!strcasecmp(how, "exec")) {
        ph_conf.processor_image = PH_IMAGE_EXEC;
    }
    else if (!strcasecmp(how, "fork")) {
        ph_conf.processor_image = PH_IMAGE_FORK;
    }
    else {
        return apr_psprintf(cmd->pool, "ProcessorImage: '%s' is not exec or "
                            "fork", how);
    }
    return NULL;
}

static const char *set_handback_from(cmd_parms *cmd, void *dummy,
                                     const char *arg)
{
    const char *msg = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)dummy;
    return msg ? msg : ph_handback_from_add(cmd->pool, &ph_conf.handback_from,
                                            arg);
}

static const char *set_status_env(cmd_parms *cmd, void *dummy,
                                  const char *name)
{
    (void)dummy;
    return global_name(cmd, &ph_conf.status_env, name);
}

/* NUMANode at server level (inside <Processor>: env_registry.c). */
static const char *set_numa_node(cmd_parms *cmd, void *dummy,
                                 const char *arg)
{
    const char *msg = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)dummy;
    if (msg) {
        return msg;
    }
    return ph_numa_parse(cmd->pool, arg, &ph_conf.numa_node);
}

/* The same rows as command_rec entries; cmd->info points at the row. */
enum {
#define PH_ROW(name, ...) PH_ROW_INDEX_##name,
#include "config_rows.h"
#undef PH_ROW
    PH_ROW_COUNT
};

/* kinds of PH_ROW_CUSTOM rows that httpd dispatches (PROCESSOR rows are
 * parsed inside <Processor> by env_registry.c) */
#define PH_CUSTOM_RAW_ARGS(name, handler, help) \
    AP_INIT_RAW_ARGS("<" #name, handler, NULL, RSRC_CONF, help),
#define PH_CUSTOM_TAKE1(name, handler, help) \
    AP_INIT_TAKE1(#name, handler, NULL, RSRC_CONF, help),
#define PH_CUSTOM_TAKE12(name, handler, help) \
    AP_INIT_TAKE12(#name, handler, NULL, RSRC_CONF, help),
#define PH_CUSTOM_ITERATE(name, handler, help) \
    AP_INIT_ITERATE(#name, handler, NULL, RSRC_CONF, help),
#define PH_CUSTOM_PROCESSOR(name, handler, help)

const command_rec ph_cmds[] = {
    LISTEN_COMMANDS,
    AP_GRACEFUL_SHUTDOWN_TIMEOUT_COMMAND,
    /* Written by the server into the multiplexers' file only (ph_front.h);
     * not a row: nothing an operator sets. */
    AP_INIT_RAW_ARGS(PH_FRONT_FACTS_DIRECTIVE, ph_front_facts_cmd, NULL,
                     RSRC_CONF, "internal: what the multiplexers route a "
                     "virtual host by"),
    /* Written by the server into stubs of the factories' files only
     * (ph_env.h). */
    AP_INIT_TAKE1(PH_STUB_WEIGHT_DIRECTIVE, ph_env_set_stub_weight, NULL,
                  RSRC_CONF, "internal: how many virtual hosts of other "
                  "environments a stub stands for"),
    /* Written by the server into the multiplexers' file only (ph_env.h). */
    AP_INIT_ITERATE(PH_ENV_LIST_DIRECTIVE, ph_env_list_cmd, NULL, RSRC_CONF,
                    "internal: the environments the multiplexers route to, "
                    "in the parent's order"),
    /* Written by the server into the multiplexers' runs only (ph_front.h). */
    AP_INIT_RAW_ARGS(PH_STUB_MEMBER_DIRECTIVE, ph_front_member_cmd, NULL,
                     RSRC_CONF, "internal: one virtual host of a run of "
                     "stubs, its environment and names"),
    /* Written by the server into a blank factory's file only (ph_factory.h):
     * read while httpd builds the tree, as Include is. */
    AP_INIT_NO_ARGS(PH_BLANK_DIRECTIVE, ph_factory_blank_cmd, NULL,
                    RSRC_CONF | EXEC_ON_READ, "internal: a blank factory "
                    "waits here for its environment"),
#define PH_ROW_CUSTOM(name, ctx, syntax, def, kind, handler, help) \
    PH_CUSTOM_##kind(name, handler, help)
#include "config_rows.h"
#undef PH_ROW_CUSTOM
#define PH_ROW(name, ctx, min, max, def, unit, field, envfield, help) \
    AP_INIT_TAKE1(#name, set_table_directive,                         \
                  (void *)&ph_directives[PH_ROW_INDEX_##name], RSRC_CONF, \
                  help),
#include "config_rows.h"
#undef PH_ROW
    { NULL }
};
