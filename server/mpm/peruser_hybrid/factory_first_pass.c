/*
 * factory_first_pass.c -- a factory's first configuration pass without
 * its virtual hosts (issue 13: cold start).
 *
 * httpd reads its configuration twice at start-up (main.c): a first pass
 * that checks it and runs open_logs and post_config, then, after clearing
 * pconf, the pass it runs on.  A factory's file (envconf_write.c) holds
 * every virtual host of the server, its own whole and the others' as
 * stubs: each is a server_rec with every module's per-server
 * configuration and a resolver call (getaddrinfo, with a netlink socket)
 * for each address.  At 1,000 environments that was about half of the
 * first pass, and the first pass half of a factory's start, paid by the
 * first request of every cold environment.
 *
 * A factory's first pass therefore runs without the <VirtualHost>
 * sections: in pre_config, which httpd runs between building the tree and
 * processing it, they are unlinked from the top of the tree.  Everything
 * else is read as before -- LoadModule, the <Processor> blocks the file
 * holds (its own, the main server's environment's and the
 * StatusEnvironment's: envconf_write.c), the server-level directives --
 * so every module still sees a first pass
 * (modules that skip their post_config work in the first pass, by
 * ap_state_query or by a flag in the process pool, still do), and the
 * second pass, which the factory runs on, reads the whole file.  The
 * parent checked the whole configuration, and the parent wrote this file
 * from it: nothing a first pass with the vhosts could refuse is lost.
 *
 * Only in a factory (ph_factory_is_me), only in the first pass; the
 * parent reads its configuration as stock httpd does.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "util_cfgtree.h"

#include "ph_factory.h"
#include "ph_log.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

void ph_factory_first_pass_prune(void)
{
    ap_directive_t *d, *prev = NULL, *next;
    unsigned pruned = 0;

    if (!ph_factory_is_me()
        || ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
        return;
    }
    for (d = ap_conftree; d; d = next) {
        next = d->next;
        if (d->directive && !ap_cstr_casecmp(d->directive, "<VirtualHost")) {
            if (prev) {
                prev->next = next;
            }
            else {
                ap_conftree = next;
            }
            pruned++;
            continue;
        }
        prev = d;
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, NULL, PHLOGNO(00190)
                 "factory: first configuration pass without its %u "
                 "virtual hosts (the second pass reads them)", pruned);
}
