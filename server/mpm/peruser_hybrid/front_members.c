/*
 * front_members.c -- the members of the multiplexers' runs: the
 * PH_STUB_MEMBER_DIRECTIVE lines of their file, bound to environments,
 * and the one question every route asks: which environment, and which
 * vhost id, serves a request for a host that httpd's own lookup gave to
 * a server_rec (ph_front.h; which member, front_runs.h).
 *
 * Trust: the lines are written by the root parent into a file only root
 * reads (envconf_write.c); the directive is refused in any other
 * configuration.  Still, a file that does not add up (a member missing,
 * an unknown environment, a first member that is not the stub's
 * ServerEnvironment) refuses the configuration rather than route by it.
 * Built in the multiplexers' factory before it forks them; read-only
 * afterwards.
 */
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "apr_hash.h"
#include "apr_strings.h"
#include "http_config.h"

#include "envconf_stub.h"
#include "front_runs.h"
#include "ph_env.h"
#include "ph_factory.h"
#include "ph_front.h"
#include "ph_module.h"

/* A run's members, bound. */
typedef struct front_run {
    ph_run *run;
    ph_env **envs;              /* [n], once resolved */
    ph_env *sole;               /* every member's, or NULL: mixed */
} front_run;

/* server_rec * -> front_run, this generation's (pconf) */
static apr_hash_t *runs;

static apr_status_t forget_runs(void *unused)
{
    (void)unused;
    runs = NULL;
    return APR_SUCCESS;
}

static front_run *run_of(const server_rec *s)
{
    return runs ? apr_hash_get(runs, &s, sizeof(s)) : NULL;
}

const char *ph_front_member_cmd(cmd_parms *cmd, void *dummy, const char *args)
{
    const ph_server_conf *sc = ap_get_module_config(
        cmd->server->module_config, &mpm_peruser_hybrid_module);
    const char *word, *env, *msg;
    front_run *fr;
    char *end;
    long i;

    (void)dummy;
    if (!ph_factory_makes_multiplexers() || !cmd->server->is_virtual) {
        return PH_STUB_MEMBER_DIRECTIVE " is written by the server into the "
               "multiplexers' own configuration; it has no use elsewhere";
    }
    if (sc->stands_for < 2) {
        return PH_STUB_MEMBER_DIRECTIVE " in a virtual host that stands for "
               "no run (" PH_STUB_WEIGHT_DIRECTIVE " first)";
    }
    word = ap_getword_conf(cmd->temp_pool, &args);
    i = strtol(word, &end, 10);
    env = ap_getword_conf(cmd->temp_pool, &args);
    if (!*word || *end || i < 0 || i >= sc->stands_for) {
        return apr_pstrcat(cmd->pool, PH_STUB_MEMBER_DIRECTIVE ": not a "
                           "member's index: ", word, NULL);
    }
    if (!runs) {
        runs = apr_hash_make(cmd->pool);
        apr_pool_cleanup_register(cmd->pool, NULL, forget_runs,
                                  apr_pool_cleanup_null);
    }
    if (!(fr = run_of(cmd->server))) {
        const server_rec **key = apr_palloc(cmd->pool, sizeof(*key));

        fr = apr_pcalloc(cmd->pool, sizeof(*fr));
        fr->run = ph_run_make(cmd->pool, sc->stands_for);
        *key = cmd->server;
        apr_hash_set(runs, key, sizeof(*key), fr);
    }
    msg = ph_run_member(cmd->temp_pool, fr->run, (int)i, env);
    while (!msg && *(word = ap_getword_conf(cmd->temp_pool, &args))) {
        msg = ph_run_name(cmd->temp_pool, fr->run, word);
    }
    return msg ? apr_pstrcat(cmd->pool, PH_STUB_MEMBER_DIRECTIVE ": ", msg,
                             NULL)
               : NULL;
}

/* The members of s's run, bound to their environments. */
static const char *bind_run(apr_pool_t *p, server_rec *s, front_run *fr)
{
    const char *msg = ph_run_complete(p, fr->run);
    int n, i;

    if (msg) {
        return msg;
    }
    n = ph_run_size(fr->run);
    fr->envs = apr_pcalloc(p, sizeof(*fr->envs) * (apr_size_t)n);
    for (i = 0; i < n; i++) {
        if (!(fr->envs[i] = ph_env_named(ph_run_env(fr->run, i)))) {
            return apr_psprintf(p, "member %d: no <Processor %s>", i,
                                ph_run_env(fr->run, i));
        }
    }
    if (fr->envs[0] != ph_env_of_server(s)) {
        return "its first member is not its ServerEnvironment";
    }
    fr->sole = fr->envs[0];
    for (i = 1; i < n && fr->sole; i++) {
        if (fr->envs[i] != fr->sole) {
            fr->sole = NULL;
        }
    }
    return NULL;
}

const char *ph_front_runs_resolve(apr_pool_t *p, server_rec *main_server)
{
    server_rec *s;

    if (!ph_factory_makes_multiplexers()) {
        return NULL;
    }
    for (s = main_server; s; s = s->next) {
        front_run *fr = run_of(s);
        const char *msg;

        if (!fr && ph_env_stub_weight(s) == 1) {
            continue;
        }
        msg = fr ? bind_run(p, s, fr)
                 : "no " PH_STUB_MEMBER_DIRECTIVE " lines";
        if (msg) {
            return apr_psprintf(p, "the multiplexers' configuration: virtual "
                                "host %s (line %d of %s) stands for %d: %s",
                                s->server_hostname ? s->server_hostname
                                                   : "(unnamed)",
                                s->defn_line_number, s->defn_name,
                                ph_env_stub_weight(s), msg);
        }
    }
    return NULL;
}

ph_env *ph_front_env_of(apr_pool_t *p, const server_rec *s, const char *host,
                        int *vhost_id)
{
    const front_run *fr = run_of(s);
    int i;

    if (!fr || !fr->envs) {
        *vhost_id = ph_env_vhost_id(s);
        return ph_env_of_server(s);
    }
    i = ph_run_pick(p, fr->run, host);
    /* Vhost ids follow httpd's server list, which holds vhosts in reverse
     * definition order (core.c pushes each new one at its head): a run
     * of n at id b holds its last member at b, its first at b + n - 1. */
    *vhost_id = ph_env_vhost_id(s) + (ph_run_size(fr->run) - 1 - i);
    return fr->envs[i];
}

ph_env *ph_front_sole_env(const server_rec *s)
{
    const front_run *fr = run_of(s);

    return fr && fr->envs ? fr->sole : ph_env_of_server(s);
}
