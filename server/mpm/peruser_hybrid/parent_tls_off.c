/*
 * parent_tls_off.c -- with ProcessorImage exec the root parent holds no
 * tenant's private key.
 *
 * Stock httpd's parent loads every certificate and key in mod_ssl's
 * post_config, because its children are forked from it and handshake
 * with what they inherit.  Here nothing that handshakes is forked from the
 * parent: processors come from their environment's factory (exec'd on
 * that environment's file), multiplexers from theirs (exec'd on stubs;
 * they route TLS by SNI and never handshake).  So before mod_ssl's
 * post_config, every server's SSLEngine is set off in mod_ssl's own
 * configuration, through mod_ssl's own directive (as if each section
 * ended with `SSLEngine off`): mod_ssl then loads no key into the parent.
 *
 * What is lost: a key that does not fit its certificate is found when that
 * environment's factory starts (PH00523 names it, the other environments
 * serve on), not by `apachectl start` -- the price of keeping every
 * tenant's key out of a process that holds them all.  `apachectl -t`
 * never loaded keys (httpd stops before post_config).
 *
 * The multiplexers' file and the processors' guard read SSLEngine from the
 * configuration tree (ph_config_ssl_engine), which this does not touch.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "util_cfgtree.h"

#include "ph_factory.h"
#include "ph_log.h"
#include "ph_module.h"
#include "ph_parent.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

int ph_parent_tls_off(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                      server_rec *s)
{
    ap_directive_t off = { 0 };
    server_rec *srv;

    (void)plog;
    if (ph_factory_is_me() || !ph_factory_in_use()
        || !ap_find_linked_module("mod_ssl.c")) {
        return OK;
    }
    off.directive = "SSLEngine";
    off.args = "off";
    off.filename = "(peruser_hybrid: the parent serves nothing)";
    for (srv = s; srv; srv = srv->next) {
        cmd_parms parms = { 0 };
        const char *err;

        parms.pool = pconf;
        parms.temp_pool = ptemp;
        parms.server = srv;
        parms.override = RSRC_CONF;
        parms.limited = -1;
        if ((err = ap_walk_config(&off, &parms, srv->lookup_defaults))) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, PHLOGNO(00505)
                         "cannot keep mod_ssl in the parent from loading "
                         "the keys of %s: %s (each environment's factory "
                         "loads its own anyway)",
                         srv->server_hostname ? srv->server_hostname
                                              : "(unnamed)", err);
            return OK;
        }
    }
    return OK;
}
