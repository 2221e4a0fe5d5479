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
#include "ph_config.h"
#include "ph_env.h"

ph_settings ph_conf;

/* The rows, expanded into the table.  The per-environment column names a
 * field of ph_env_limits, or PH_NONE. */
#define PH_ROW(name, ctx, min, max, def, unit, field, envfield, help) \
    { #name, ctx, min, max, def, unit, offsetof(ph_settings, field),  \
      PH_ENV_OFF_##envfield, help },
#define PH_ENV_OFF_PH_NONE        PH_NO_ENV_FIELD
#define PH_ENV_OFF_min_processors offsetof(ph_env_limits, min_processors)
#define PH_ENV_OFF_max_processors offsetof(ph_env_limits, max_processors)
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

/* The same rows as command_rec entries; cmd->info points at the row. */
enum {
#define PH_ROW(name, ...) PH_ROW_INDEX_##name,
#include "config_rows.h"
#undef PH_ROW
    PH_ROW_COUNT
};

const command_rec ph_cmds[] = {
    LISTEN_COMMANDS,
    AP_GRACEFUL_SHUTDOWN_TIMEOUT_COMMAND,
    AP_INIT_RAW_ARGS("<Processor", ph_env_processor_section, NULL, RSRC_CONF,
                     "A server environment: <Processor name> with User, "
                     "Group and optional limits, closed by </Processor>"),
    AP_INIT_TAKE1("ServerEnvironment", ph_env_set_server_env, NULL,
                  RSRC_CONF, "The <Processor> environment that serves this "
                  "virtual host"),
#define PH_ROW(name, ctx, min, max, def, unit, field, envfield, help) \
    AP_INIT_TAKE1(#name, set_table_directive,                         \
                  (void *)&ph_directives[PH_ROW_INDEX_##name], RSRC_CONF, \
                  help),
#include "config_rows.h"
#undef PH_ROW
    { NULL }
};
