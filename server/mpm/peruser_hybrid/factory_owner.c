/*
 * factory_owner.c -- what an environment's processor factory makes at
 * start-up belongs to that environment (issue 12).
 *
 * A factory is httpd reading environment X's configuration, as root; its
 * modules' post_config hooks make what X's processors will share: mod_ssl's
 * session and stapling caches (mod_socache_dbm's file, a named shmcb
 * segment where anonymous memory is missing), mutex files, sockets.  httpd
 * gives such things to its User (ap_unixd_config, chown), the account its
 * children run as -- here the multiplexers' account, which handles raw
 * client bytes and must reach no tenant's sessions -- and lets the umask
 * decide who else may read them (mod_socache_dbm asks for 0644: a file of
 * master secrets readable by every local user).
 *
 * So for the length of the factory's post_config: httpd's User and Group
 * are X's (whose processors are the only children this httpd has), and
 * the umask is 077.  Each environment's caches are then its user's alone,
 * mode 0600, at a place of their own (envconf_cache.c).  The umask is put
 * back afterwards: processors and their CGIs keep the operator's.
 *
 * Runs only in a factory, never in the parent (whose User stays the
 * multiplexers' account) nor with ProcessorImage fork (no factory).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "unixd.h"

#include "ph_env.h"
#include "ph_factory.h"
#include "ph_log.h"
#include "ph_magic.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

/* The operator's umask while adopted; written and read in the factory's
 * one thread, between its own post_config hooks. */
static struct {
    int adopted;
    mode_t umask;
} owner;

int ph_factory_owner_adopt(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp, server_rec *s)
{
    ph_env *env;

    (void)pconf;
    (void)plog;
    (void)ptemp;
    if (!ph_factory_is_me() || !(env = ph_factory_env())) {
        return OK;      /* ph_factory_run refuses a spec naming nothing */
    }
    PH_CHECK_MAGIC(env, PH_ENV_MAGIC);
    if (env->uid == 0 || env->gid == 0) {
        /* ph_env_resolve refuses root; never hand root's files out */
        return OK;
    }
    ap_unixd_config.user_name = env->user_name;
    ap_unixd_config.user_id = env->uid;
    ap_unixd_config.group_id = env->gid;
    if (!owner.adopted) {
        owner.umask = umask(077);
        owner.adopted = 1;
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, PHLOGNO(00382)
                 "processor factory of environment %s: its modules' "
                 "start-up files belong to %s (uid %ld, gid %ld), umask 077",
                 env->name, env->user_name, (long)env->uid, (long)env->gid);
    return OK;
}

int ph_factory_owner_restore(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp, server_rec *s)
{
    (void)pconf;
    (void)plog;
    (void)ptemp;
    (void)s;
    if (owner.adopted) {
        umask(owner.umask);
        owner.adopted = 0;
    }
    return OK;
}
