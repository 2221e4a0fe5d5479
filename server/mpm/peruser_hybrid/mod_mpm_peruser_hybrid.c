/*
 * mod_mpm_peruser_hybrid.c -- the module record and the httpd hooks that
 * tie the MPM together.  Each hook is a few lines that call into the file
 * that owns the concern.
 */
#include <unistd.h>

#include "httpd.h"
#include "ap_listen.h"
#include "ap_mpm.h"
#include "apr_strings.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"
#include "http_protocol.h"
#include "mpm_common.h"
#include "scoreboard.h"
#include "unixd.h"

#include "ph_cgroup.h"
#include "ph_alloc.h"
#include "ph_config.h"
#include "ph_env.h"
#include "ph_factory.h"
#include "ph_envconf.h"
#include "ph_front.h"
#include "ph_log.h"
#include "ph_module.h"
#include "ph_numa.h"
#include "ph_proto.h"
#include "ph_parent.h"
#include "ph_segment.h"
#include "ph_status.h"
#include "proc.h"

/* AP_DECLARE_MODULE below also ties this file's log lines to the module. */

static int ph_query(int query_code, int *result, apr_status_t *rv)
{
    ph_retained *r = ph_retained_state;

    *rv = APR_SUCCESS;
    switch (query_code) {
    case AP_MPMQ_MAX_DAEMON_USED:
        *result = r && r->max_slot_used ? r->max_slot_used
                                        : (int)ph_conf.server_limit;
        break;
    case AP_MPMQ_IS_THREADED:
        *result = AP_MPMQ_STATIC;
        break;
    case AP_MPMQ_IS_FORKED:
        *result = AP_MPMQ_DYNAMIC;
        break;
    case AP_MPMQ_IS_ASYNC:
        *result = 1;
        break;
    case AP_MPMQ_HARD_LIMIT_DAEMONS:
        *result = r && r->slots ? r->nslots : (int)ph_conf.server_limit;
        break;
    case AP_MPMQ_HARD_LIMIT_THREADS:
        *result = (int)ph_conf.thread_limit;
        break;
    case AP_MPMQ_MAX_THREADS:
        *result = (int)ph_conf.threads_per_child;
        break;
    case AP_MPMQ_MAX_DAEMONS:
        *result = (int)ph_conf.server_limit;
        break;
    case AP_MPMQ_MPM_STATE:
        *result = r ? r->mpm->mpm_state : AP_MPMQ_STARTING;
        break;
    case AP_MPMQ_GENERATION:
        *result = r ? (int)r->mpm->my_generation : 0;
        break;
    case AP_MPMQ_MAX_REQUESTS_DAEMON:
        *result = ap_max_requests_per_child;
        break;
    case AP_MPMQ_MIN_SPARE_DAEMONS:
    case AP_MPMQ_MIN_SPARE_THREADS:
    case AP_MPMQ_MAX_SPARE_DAEMONS:
    case AP_MPMQ_MAX_SPARE_THREADS:
        *result = 0;
        break;
    case AP_MPMQ_CAN_WAITIO:
        /* proc_conn.c parks CONN_STATE_ASYNC_WAITIO for the socket's
         * readiness and comes back to the process_connection hooks, as
         * event does (mod_http2 waits so for a TLS client's first frames) */
        *result = 1;
        break;
    default:
        *rv = APR_ENOTIMPL;
        break;
    }
    return OK;
}

static const char *ph_get_name(void)
{
    return PH_MPM_NAME;
}

static int ph_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                         apr_pool_t *ptemp)
{
    ph_retained *r;
    apr_status_t rv;

    (void)plog;
    (void)ptemp;
    ph_retained_init();
    r = ph_retained_state;
    ph_pool_cache_limit(pconf);

    if (ap_exists_config_define("DEBUG")
        || ap_exists_config_define("ONE_PROCESS")) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, NULL, PHLOGNO(00001)
                     "peruser_hybrid cannot run in one process (-X, "
                     "-DONE_PROCESS): environments are separate processes");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* Detach the second time round, as every Unix MPM does. */
    if (r->mpm->module_loads == 2
        && !ap_exists_config_define("FOREGROUND")) {
        ap_fatal_signal_setup(ap_server_conf, pconf);
        rv = apr_proc_detach(ap_exists_config_define("NO_DETACH")
                             ? APR_PROC_DETACH_FOREGROUND
                             : APR_PROC_DETACH_DAEMONIZE);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, NULL, PHLOGNO(00002)
                         "apr_proc_detach failed");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    /* A blank assigned in this pass: its environment's descriptors at the
     * numbers an exec'd factory has them (factory_blank.c). */
    if (ph_factory_blank_adopt() != OK) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ph_factory_inherited_cloexec();
    ph_factory_first_pass_prune();
    ap_listen_pre_config();
    ph_config_reset();
    ph_env_reset(pconf);
    return OK;
}

static int ph_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp, server_rec *s)
{
    const char *msg = ph_config_validate(ptemp);

    (void)pconf;
    (void)plog;
    if (ph_factory_is_blank()) {
        return OK;      /* a blank's first pass: no environment to check */
    }
    if (!msg) {
        /* Users, groups and vhost bindings: here rather than in
         * post_config so that "apachectl -t" catches them too. */
        msg = ph_env_resolve(pconf, s);
    }
    if (!msg) {
        msg = ph_front_runs_resolve(pconf, s);
    }
    if (!msg) {
        msg = ph_segment_check_config(ptemp);
    }
    if (!msg) {
        msg = ph_status_check_config(ptemp);
    }
    if (!msg) {
        msg = ph_numa_check_config(pconf);
    }
    if (!msg) {
        msg = ph_cgroup_check_config(pconf);
    }
    if (msg) {
        ap_log_error(APLOG_MARK, APLOG_CRIT | APLOG_STARTUP, 0, NULL,
                     PHLOGNO(00003) "%s", msg);
        return !OK;
    }
    if (ph_env_check_accounts(ptemp)) {
        return !OK;
    }
    /* What writing each environment's configuration file would refuse,
     * found here too so that "apachectl -t" and the start-up check show
     * it (post_config writes the files, in the parent that runs them).
     * Not in the second load at start-up: it reads the files the first
     * load checked a moment before (which exits on a refusal), and the
     * check is a parse of the whole configuration (~13 ms at 1,000
     * environments, 160 ms at 10,000).  A restart's load checks again. */
    if (!ph_factory_is_me() && ph_factory_in_use()
        && ph_retained_state->mpm->module_loads != 2
        && (msg = ph_envconf_check(ptemp, s))) {
        ap_log_error(APLOG_MARK, APLOG_CRIT | APLOG_STARTUP, 0, NULL,
                     PHLOGNO(00503) "%s", msg);
        return !OK;
    }
    if (ph_env_can_switch_users()
        && (ap_unixd_config.user_id == 0
            || ap_unixd_config.user_id == (uid_t)-1)) {
        ap_log_error(APLOG_MARK, APLOG_CRIT | APLOG_STARTUP, 0, NULL,
                     PHLOGNO(00004) "User is '%s': the multiplexers run as "
                     "User and must not be root; set User to an "
                     "unprivileged account", ap_unixd_config.user_name);
        return !OK;
    }
    return OK;
}

static int ph_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                          apr_pool_t *ptemp, server_rec *s)
{
    ph_retained *r = ph_retained_state;

    (void)pconf;
    (void)plog;
    if (r->slots && ph_conf.server_limit != r->nslots) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, PHLOGNO(00006)
                     "changing ServerLimit to %ld needs a full stop and "
                     "start; keeping %d", ph_conf.server_limit, r->nslots);
        ph_conf.server_limit = r->nslots;
    }
    /* After open_logs: ap_setup_listeners gave every vhost a protocol. */
    ph_proto_resolve(pconf, s);
    /* Each environment's own configuration file, once per generation in
     * the parent that will run it: not in the first pass at start-up,
     * which only checks (and -t never gets here), not in a factory (which
     * reads one), and only for factories (ProcessorImage exec). */
    if (r->mpm->module_loads > 1 && !ph_factory_is_me()
        && ph_factory_in_use()) {
        const char *msg = ph_envconf_write_all(pconf, ptemp, s, NULL);

        if (msg) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, PHLOGNO(00500)
                         "%s", msg);
            return !OK;
        }
    }
    else if (r->mpm->module_loads > 1 && !ph_factory_is_me()) {
        ph_envconf_note_fork_caches(s);
    }
    return OK;
}

/* Listeners are opened here rather than in post_config because the error
 * log is already redirected by then (the same reason as event's). */
static int ph_open_logs(apr_pool_t *p, apr_pool_t *plog, apr_pool_t *ptemp,
                        server_rec *s)
{
    int startup = ph_retained_state->mpm->module_loads == 1;

    (void)p;
    (void)plog;
    (void)ptemp;
    if (ph_factory_is_me()) {
        /* A factory binds nothing (the parent listens): its servers get
         * their protocols as ap_setup_listeners would give them; the
         * multiplexers' adopts the parent's sockets. */
        ph_proto_fill_servers(s);
        return ph_factory_makes_multiplexers()
               ? ph_factory_adopt_listeners(p, s) : OK;
    }
    if (ap_setup_listeners(ap_server_conf) < 1) {
        ap_log_error(APLOG_MARK, APLOG_ALERT | (startup ? APLOG_STARTUP : 0),
                     0, startup ? NULL : s, PHLOGNO(00007)
                     "no listening sockets available, shutting down");
        return !OK;
    }
    return OK;
}

/* One process is the server (the parent); an environment's processor
 * factory is httpd exec'd by it on that environment's configuration. */
static int ph_run(apr_pool_t *pconf, apr_pool_t *plog, server_rec *s)
{
    if (ph_factory_is_me()) {
        return ph_factory_run(pconf, s);
    }
    return ph_parent_run(pconf, plog, s);
}

static void ph_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_open_logs(ph_open_logs, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_pre_config(ph_pre_config, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_check_config(ph_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(ph_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* After core's vhost dump (APR_HOOK_FIRST): apache2ctl -S. */
    ap_hook_test_config(ph_env_dump, NULL, NULL, APR_HOOK_LAST);
    /* A factory's modules make their start-up files for its environment
     * (factory_owner.c): before every other post_config, until after. */
    ap_hook_post_config(ph_factory_owner_adopt, NULL, NULL,
                        APR_HOOK_REALLY_FIRST);
    ap_hook_post_config(ph_factory_owner_restore, NULL, NULL,
                        APR_HOOK_REALLY_LAST);
    /* The parent of factories loads no key (parent_tls_off.c): before
     * mod_ssl's post_config. */
    ap_hook_post_config(ph_parent_tls_off, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_mpm(ph_run, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_mpm_query(ph_query, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_mpm_get_name(ph_get_name, NULL, NULL, APR_HOOK_MIDDLE);
    /* Processors: nothing acts on a request of another environment. */
    ph_guard_register_hooks();
    ph_expired_register_hooks();
    ph_handback_register_hooks();
    ph_status_register_hooks();
}

AP_DECLARE_MODULE(mpm_peruser_hybrid) = {
    MPM20_MODULE_STUFF,
    NULL,                       /* hook to run before apache parses args */
    NULL,                       /* create per-directory config structure */
    NULL,                       /* merge per-directory config structures */
    ph_env_create_server_conf,  /* create per-server config structure */
    ph_env_merge_server_conf,   /* merge per-server config structures */
    ph_cmds,                    /* command apr_table_t */
    ph_register_hooks,          /* register_hooks */
    AP_MODULE_FLAG_NONE         /* flags */
};
