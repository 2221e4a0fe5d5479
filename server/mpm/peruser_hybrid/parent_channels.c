/*
 * parent_channels.c -- an environment's channels are made when first
 * needed (issue 13), not for every environment at the start of each
 * generation: when a multiplexer asks for its send ends (parent_broker.c)
 * or a processor of it is to be started (parent_spawn.c).  An environment
 * nobody asks for costs the parent no descriptor.
 *
 * And they are closed again when nothing can use them any more
 * (ph_channels_close_idle): the environment has had no processor, and no
 * factory, for CHANNEL_IDLE, and nothing waits in them.  Then the parent's
 * descriptors follow the environments in use, not those used once in the
 * generation.  A multiplexer may still hold the send ends: its next
 * handoff fails with EPIPE (no receive end is left anywhere, so nothing
 * can be lost in a queue nobody reads), and it asks again for the ends of
 * the channels made anew (mux_ends.c, ph_mux_ends_forget).  Otherwise
 * they live for the rest of the generation (closed by release_generation,
 * or with pconf).
 */
#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "httpd.h"
#include "http_log.h"
#include "http_main.h"

#include "channel.h"
#include "ph_env.h"
#include "ph_factory.h"
#include "ph_log.h"
#include "ph_magic.h"
#include "ph_parent.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

/* How long an environment's channels stay after its last processor (and
 * factory) went, or after they were made for a processor that never came:
 * a multiplexer hands a connection over only while the environment has an
 * idle worker (mux_admit.c), and a worker's figures are gone within a
 * maintenance pass of its processor's end; seconds more leave no handoff
 * decided on stale figures in flight. */
#define CHANNEL_IDLE apr_time_from_sec(10)

/* The generation's pool (pconf): set at its start, before any child. */
static apr_pool_t *gen_pool;

/* Per environment of the generation: when its channels were made (0:
 * not open). */
static apr_time_t *made_at;
static int nmade;

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

/* The generation's end: whatever is still open (envs is that
 * generation's array: ph_envs may already name the next one's). */
static apr_status_t channels_cleanup(void *data)
{
    apr_array_header_t *envs = data;
    int i;

    for (i = 0; i < envs->nelts; i++) {
        ph_env *env = APR_ARRAY_IDX(envs, i, ph_env *);
        close_ends(env->chan);
        close_ends(env->answer);
    }
    gen_pool = NULL;
    made_at = NULL;
    nmade = 0;
    return APR_SUCCESS;
}

void ph_channels_generation_start(apr_pool_t *pconf)
{
    ap_assert(ph_envs != NULL);
    gen_pool = pconf;
    nmade = ph_envs->nelts;
    made_at = apr_pcalloc(pconf, sizeof(*made_at) * (apr_size_t)(nmade + 1));
    apr_pool_cleanup_register(pconf, ph_envs, channels_cleanup,
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
    if (env->index >= 0 && env->index < nmade) {
        made_at[env->index] = apr_time_now();
    }
    /* looked at each pass while open: closed from there when idle */
    ph_active_mark(env->index);
    return 0;
failed:
    ap_log_error(APLOG_MARK, APLOG_ERR, rv, ap_server_conf, PHLOGNO(00174)
                 "cannot create the channels of environment %s", env->name);
    return rv;
}

/* The parent holds the receive ends: the kernel says whether a connection
 * waits in either channel (poll consumes nothing). */
int ph_channels_waiting(const ph_env *env)
{
    struct pollfd pfd[2] = { { env->chan[1], POLLIN, 0 },
                             { env->answer[1], POLLIN, 0 } };

    if (env->chan[1] < 0) {
        return 0;
    }
    return poll(pfd, 2, 0) > 0
           && ((pfd[0].revents & POLLIN) || (pfd[1].revents & POLLIN));
}

int ph_channels_close_idle(ph_env *env, apr_time_t last_processor,
                           apr_time_t now)
{
    apr_time_t since;

    PH_CHECK_MAGIC(env, PH_ENV_MAGIC);
    if (env->chan[1] < 0 || env->index < 0 || env->index >= nmade) {
        return 0;
    }
    since = made_at[env->index] > last_processor ? made_at[env->index]
                                                 : last_processor;
    if (now - since < CHANNEL_IDLE || ph_factory_running(env->index)
        || ph_channels_waiting(env)) {
        return 0;
    }
    /* Every receive end is the parent's alone now: once closed, a
     * multiplexer's send fails (EPIPE) instead of queueing. */
    close_ends(env->chan);
    close_ends(env->answer);
    made_at[env->index] = 0;
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf, PHLOGNO(00620)
                 "environment %s: channels closed, unused for %ld s",
                 env->name, (long)apr_time_sec(now - since));
    return 1;
}
