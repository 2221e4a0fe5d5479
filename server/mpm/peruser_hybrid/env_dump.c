/*
 * env_dump.c -- `apache2ctl -S` (and `apache2 -t -D DUMP_ENVIRONMENTS`)
 * says which environment, and so which Unix user, serves each virtual
 * host: a test_config hook that runs after core's vhost dump, in the
 * process that read the configuration, and prints to stdout as core does.
 *
 * It reads only what ph_env_resolve (check_config) built: the environments
 * of this configuration and the binding of every server_rec to one.  What
 * it prints is the operator's own configuration, to the operator's
 * terminal; no client byte and nothing a child wrote is involved.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "apr_file_io.h"
#include "apr_strings.h"
#include "unixd.h"

#include "ph_env.h"
#include "ph_magic.h"

/* "addr:port addr:port" of a server_rec's addresses ("main server" for
 * the main server, which has none of its own). */
static const char *addresses(apr_pool_t *p, const server_rec *s)
{
    const server_addr_rec *a;
    const char *out = NULL;

    if (!s->is_virtual) {
        return "main server";
    }
    for (a = s->addrs; a; a = a->next) {
        const char *one = a->host_port
            ? apr_psprintf(p, "%s:%u", a->virthost ? a->virthost : "*",
                           (unsigned)a->host_port)
            : apr_psprintf(p, "%s:*", a->virthost ? a->virthost : "*");
        /* "*" resolves to an IPv4 and an IPv6 address: said once. */
        if (out && ap_strstr_c(apr_pstrcat(p, " ", out, " ", NULL),
                               apr_pstrcat(p, " ", one, " ", NULL))) {
            continue;
        }
        out = out ? apr_pstrcat(p, out, " ", one, NULL) : one;
    }
    return out ? out : "(no address)";
}

static const char *serving(apr_pool_t *p, const ph_env *env)
{
    if (!env) {
        return "NO ENVIRONMENT (answered 503; set ServerEnvironment)";
    }
    PH_CHECK_MAGIC(env, PH_ENV_MAGIC);
    if (env->implicit) {
        return apr_psprintf(p, "environment %s (implicit: no <Processor>), "
                            "user %s", env->name,
                            ap_unixd_config.user_name);
    }
    return apr_psprintf(p, "environment %s, user %s, group %s", env->name,
                        env->user_name, env->group_name);
}

void ph_env_dump(apr_pool_t *p, server_rec *main_server)
{
    apr_file_t *out;
    const server_rec *s;
    int i;

    if (!ap_exists_config_define("DUMP_VHOSTS")
        && !ap_exists_config_define("DUMP_ENVIRONMENTS")) {
        return;
    }
    if (!ph_envs || apr_file_open_stdout(&out, p) != APR_SUCCESS) {
        return;
    }
    apr_file_printf(out, "peruser_hybrid environments (<Processor>):\n");
    for (i = 0; i < ph_envs->nelts; i++) {
        const ph_env *env = APR_ARRAY_IDX(ph_envs, i, ph_env *);

        PH_CHECK_MAGIC(env, PH_ENV_MAGIC);
        if (env->implicit) {
            apr_file_printf(out, "  %-20s the server's User %s: no "
                            "<Processor>, every vhost served as the "
                            "multiplexers' account\n", env->name,
                            ap_unixd_config.user_name);
            continue;
        }
        apr_file_printf(out, "  %-20s user %s (%ld) group %s (%ld) "
                        "(%s:%u)\n", env->name, env->user_name,
                        (long)env->uid, env->group_name, (long)env->gid,
                        env->defn_file ? env->defn_file : "?",
                        env->defn_line);
    }
    apr_file_printf(out, "peruser_hybrid: who serves each virtual host "
                    "(multiplexers run as %s):\n",
                    ap_unixd_config.user_name);
    for (s = main_server; s; s = s->next) {
        const char *where = s->defn_name
            ? apr_psprintf(p, " (%s:%u)", s->defn_name, s->defn_line_number)
            : "";

        apr_file_printf(out, "  %s %s%s\n      -> %s\n", addresses(p, s),
                        s->server_hostname ? s->server_hostname : "?", where,
                        serving(p, ph_env_of_server(s)));
    }
}
