/*
 * parent_channels.c -- an environment's channels are made when first
 * needed (issue 13), not for every environment at the start of each
 * generation: when a multiplexer asks for its send ends (parent_broker.c)
 * or a processor of it is to be started (parent_spawn.c).  An environment
 * nobody asks for costs the parent no descriptor.
 *
 * Made channels live for the rest of the generation (closed with pconf,
 * or earlier by release_generation); closing one while a multiplexer may
 * hold its send end would turn that multiplexer's next handoff into a 503.
 */
#include <errno.h>
#include <unistd.h>

#include "httpd.h"
#include "http_log.h"
#include "http_main.h"

#include "channel.h"
#include "ph_env.h"
#include "ph_log.h"
#include "ph_parent.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

/* The generation's pool (pconf): set at its start, before any child. */
static apr_pool_t *gen_pool;

static void close_ends(int fds[2])
{
    int i;

    for (i = 0; i < 2; i++) {
        if (fds[i] >= 0) {
            close(fds[i]);
            fds[i] = -1;
        }
    }
}

static apr_status_t channels_cleanup(void *data)
{
    ph_env *env = data;

    close_ends(env->chan);
    close_ends(env->answer);
    return APR_SUCCESS;
}

static apr_status_t forget_pool(void *data)
{
    (void)data;
    gen_pool = NULL;
    return APR_SUCCESS;
}

void ph_channels_generation_start(apr_pool_t *pconf)
{
    gen_pool = pconf;
    apr_pool_cleanup_register(pconf, NULL, forget_pool,
                              apr_pool_cleanup_null);
}

int ph_channels_open(ph_env *env)
{
    int rv;

    if (env->chan[0] >= 0 && env->chan[1] >= 0) {
        return 0;
    }
    if (env->chan[0] >= 0 || env->chan[1] >= 0 || !gen_pool) {
        return EBADF;   /* half of it given away: a released generation */
    }
    if ((rv = ph_channel_create(env->chan)) != 0) {
        goto failed;
    }
    if ((rv = ph_channel_create(env->answer)) != 0
        || (rv = ph_channel_bound(env->answer[0], PH_ANSWER_QUEUE_BYTES))
           != 0) {
        close_ends(env->chan);
        close_ends(env->answer);
        goto failed;
    }
    apr_pool_cleanup_register(gen_pool, env, channels_cleanup,
                              apr_pool_cleanup_null);
    return 0;
failed:
    ap_log_error(APLOG_MARK, APLOG_ERR, rv, ap_server_conf, PHLOGNO(00174)
                 "cannot create the channels of environment %s", env->name);
    return rv;
}
