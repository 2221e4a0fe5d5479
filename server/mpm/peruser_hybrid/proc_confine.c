/*
 * proc_confine.c -- a processor child makes the virtual hosts of other
 * environments inert in its own memory before it serves anything.
 *
 * Threat: httpd itself chooses r->server -- from the address's default
 * vhost when the connection is created, from Host or an absolute URI in
 * ap_read_request -- and a request that fails httpd's checks right after
 * that choice (no Host: 400, Expect: bogus: 417, a bad request line) is
 * answered through that vhost's ErrorDocument, filters and logs before
 * any hook of ours could look at it.  On a kept-alive connection that
 * alice's environment serves, that vhost can be bob's.  No hook closes
 * this gap; so alice's process must not hold bob's configuration at all.
 *
 * What is done, in the child's private (forked) memory, before its first
 * connection: every server_rec of another environment (or of none) keeps
 * its names and addresses, so that httpd still matches requests to it and
 * the guard (proc_guard.c) answers 421, but its module_config and
 * lookup_defaults are replaced by configuration that belongs to no
 * environment, and its error log by the server's main error log (the
 * files themselves: proc_foreign_logs.c, which runs first).  Then no
 * path through httpd -- error responses before post_read_request,
 * internal redirects, ErrorDocuments, subrequests, logging -- reaches a
 * handler, filter, error document or log file that another environment's
 * vhost configures.
 *
 * "Belongs to no environment": the main server's configuration when the
 * main server is ours or nobody's (every vhost inherits it anyway: it is
 * the server's global configuration); when the main server belongs to
 * another environment, a configuration built from each module's defaults
 * (no directive at all), because the main server's directives are then
 * that environment's.  Who owns which server_rec comes from the binding
 * map built when the configuration was read (env_registry.c), never from
 * the module_config replaced here.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"

#include "ph_env.h"
#include "ph_log.h"
#include "ph_magic.h"
#include "proc.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

/* A configuration with no directive: what each module creates before it
 * reads any (the main server's, had the configuration file been empty). */
static void blank_config(apr_pool_t *p, ap_conf_vector_t **server_conf,
                         ap_conf_vector_t **dir_conf)
{
    module *m;

    *server_conf = ap_create_per_dir_config(p);     /* a zeroed vector */
    *dir_conf = ap_create_per_dir_config(p);
    for (m = ap_top_module; m; m = m->next) {
        if (m->create_server_config) {
            ap_set_module_config(*server_conf, m,
                                 m->create_server_config(p, ap_server_conf));
        }
        if (m->create_dir_config) {
            ap_set_module_config(*dir_conf, m, m->create_dir_config(p, NULL));
        }
    }
}

/*
 * Modules whose server configuration says only how a connection whose
 * default server is this one is read before its request's vhost is known
 * (which may be ours): mod_reqtimeout's times for the head, mod_http2's
 * session settings for a prior-knowledge HTTP/2 connection (streams,
 * window, memory ...; mod_http2 sets the session up on c->base_server).
 * A foreign vhost keeps these entries, and of the core only its
 * Protocols (core_protocols), nothing else; they hold no secret: numbers,
 * on/off, protocol names.  (The core's limits are server_rec fields, kept
 * anyway; mod_remoteip keeps its PROXY protocol addresses in the main
 * server's configuration.)
 */
static const char *const head_reading_modules[] = {
    "mod_reqtimeout.c", "mod_http2.c", NULL
};

/* A copy of server_conf's vector, to change some entries of. */
static ap_conf_vector_t *vector_copy(apr_pool_t *p,
                                     ap_conf_vector_t *server_conf)
{
    ap_conf_vector_t *v = ap_create_per_dir_config(p);    /* zeroed */
    module *all;

    for (all = ap_top_module; all; all = all->next) {
        ap_set_module_config(v, all, ap_get_module_config(server_conf, all));
    }
    return v;
}

/*
 * The core configuration `base` with s's own Protocols (mod_http2 asks
 * the core whether the connection's default server allows h2c), or NULL
 * when s names none.  Built by the core itself -- a fresh vhost
 * configuration with only the protocols set, merged over base -- so that
 * the struct is the running httpd's size, whatever the headers this
 * module was built with.
 */
static void *core_protocols(apr_pool_t *p, void *base, const server_rec *s)
{
    core_server_config *own = ap_get_core_module_config(s->module_config);
    core_server_config *fresh;

    if (!own || !own->protocols || own->protocols->nelts == 0
        || !core_module.create_server_config
        || !core_module.merge_server_config) {
        return NULL;
    }
    fresh = core_module.create_server_config(p, (server_rec *)s);
    fresh->protocols = own->protocols;
    fresh->protocols_honor_order = own->protocols_honor_order;
    return core_module.merge_server_config(p, base, fresh);
}

/* server_conf, with s's own entries of head_reading_modules and its
 * Protocols. */
static ap_conf_vector_t *with_head_reading(apr_pool_t *p,
                                           ap_conf_vector_t *server_conf,
                                           const server_rec *s)
{
    ap_conf_vector_t *v = NULL;
    void *core;
    module *m;
    int i;

    for (i = 0; head_reading_modules[i]; i++) {
        if (!(m = ap_find_linked_module(head_reading_modules[i]))) {
            continue;
        }
        if (!v) {
            v = vector_copy(p, server_conf);
        }
        ap_set_module_config(v, m, ap_get_module_config(s->module_config, m));
    }
    core = core_protocols(p, ap_get_core_module_config(server_conf), s);
    if (core) {
        if (!v) {
            v = vector_copy(p, server_conf);
        }
        ap_set_core_module_config(v, core);
    }
    return v ? v : server_conf;
}

void ph_confine_vhosts(const ph_env *mine, apr_pool_t *pchild)
{
    server_rec *main_server = ap_server_conf;
    const ph_env *main_env = ph_env_of_server(main_server);
    ap_conf_vector_t *server_conf, *dir_conf;
    int main_is_neutral = !main_env || main_env == mine;
    int n = 0;
    server_rec *s;

    PH_CHECK_MAGIC(mine, PH_ENV_MAGIC);
    if (main_is_neutral) {
        server_conf = main_server->module_config;
        dir_conf = main_server->lookup_defaults;
    }
    else {
        blank_config(pchild, &server_conf, &dir_conf);
    }
    for (s = main_server; s; s = s->next) {
        if (ph_env_of_server(s) == mine
            || (s == main_server && main_is_neutral)) {
            continue;
        }
        s->module_config = s == main_server
                           ? server_conf
                           : with_head_reading(pchild, server_conf, s);
        s->lookup_defaults = dir_conf;
        if (s != main_server) {
            /* The main server's error log is the server's own (our stderr
             * too), whoever the main server belongs to. */
            s->error_log = main_server->error_log;
            s->log = main_server->log;
        }
        n++;
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf, PHLOGNO(00440)
                 "processor of environment %s: %d virtual host(s) of other "
                 "environments made inert (configuration now %s)",
                 mine->name, n,
                 main_is_neutral ? "the main server's" : "module defaults");
}
