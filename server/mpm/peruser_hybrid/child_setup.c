/*
 * child_setup.c -- the first moments of every child: become a child
 * (signals, pools), close what this kind of child must not hold, and hand
 * over to the multiplexer or processor main.
 */
#include <signal.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <unistd.h>

#include "httpd.h"
#include "ap_listen.h"
#include "ap_mpm.h"
#include "apr_portable.h"
#include "apr_signal.h"
#include "ap_mpm.h"
#include "http_log.h"
#include "http_main.h"
#include "mpm_common.h"

#include "ph_alloc.h"
#include "broker.h"
#include "doorbell.h"
#include "ph_child.h"
#include "ph_env.h"
#include "ph_factory.h"
#include "ph_numa.h"
#include "ph_parent.h"
#include "ph_segment.h"

/* apr_socket_close(), not close(): it also drops the socket's cleanups
 * in pconf.  A descriptor closed behind APR's back keeps a cleanup that
 * closes its number again, and apr_proc_create() runs every such cleanup
 * in the child it forks before exec: whatever holds that number by then
 * is closed, e.g. the pipe about to become the child's stdout (mod_cgi,
 * mod_ext_filter, with a few Listen lines). */
void ph_child_close_listeners(void)
{
    ap_listen_rec *lr;

    for (lr = ap_listeners; lr; lr = lr->next) {
        if (lr->sd) {
            apr_socket_close(lr->sd);
        }
        lr->active = 0;
    }
}

static void close_end(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/*
 * Close the channel ends this child must not hold: a processor keeps only
 * its own environment's receive ends (channel and answer channel) and
 * every multiplexer's doorbell; a multiplexer keeps none (send ends come
 * from the parent when needed, a bounded number at a time: broker.h) and
 * its own doorbell (doorbell.h).
 */
static void close_foreign_channels(ph_child_type type, const ph_env *mine)
{
    int i;

    for (i = 0; i < ph_envs->nelts; i++) {
        ph_env *env = APR_ARRAY_IDX(ph_envs, i, ph_env *);
        close_end(&env->chan[0]);
        close_end(&env->answer[0]);
        if (type == PH_CHILD_MUX || env != mine) {
            close_end(&env->chan[1]);
            close_end(&env->answer[1]);
        }
    }
}

/* Multiplexers and processors hold one descriptor per connection, the
 * parent four per environment in use (parent_channels.c): allow as many
 * as the hard limit permits (no privilege needed), and the hard limit
 * itself raised to `need` if it is lower (root may; 0: as it is). */
void ph_raise_fd_limit(rlim_t need)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return;
    }
    if (rl.rlim_max < need) {
        rl.rlim_max = need;
    }
    if (rl.rlim_cur != rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

void ph_child_main(int slot, ph_child_type type, ph_env *env, int mux_index)
{
    apr_pool_t *pchild;
    int code;

    /* First of all, while still root and before any module's code runs
     * here: give up write access to the parts of the segment this child
     * does not write (see ph_shm_layout.h). */
    if (ph_segment_child_restrict(type, env) != 0) {
        exit(APEXIT_CHILDINIT);
    }
    ph_factory_close_in_child();
    ph_retained_state->mpm->mpm_state = AP_MPMQ_STARTING;
    ap_fatal_signal_child_setup(ap_server_conf);

    /* The parent's handlers and self-pipe are not ours.  Children are told
     * to stop through their pipes or by SIGTERM (default action). */
    apr_signal(SIGCHLD, SIG_DFL);
    apr_signal(SIGTERM, SIG_DFL);
    apr_signal(SIGHUP, SIG_IGN);
    apr_signal(AP_SIG_GRACEFUL, SIG_IGN);
    apr_signal(AP_SIG_GRACEFUL_STOP, SIG_IGN);
    apr_signal(SIGPIPE, SIG_IGN);
    close(ph_heritage_now.wake_rd);
    close(ph_heritage_now.lifeline_wr);
    ph_heritage_now.wake_rd = ph_heritage_now.lifeline_wr = -1;
    if (type != PH_CHILD_MUX) {
        /* Only multiplexers wake the parent (to ask for processors). */
        close(ph_heritage_now.wake_wr);
        ph_heritage_now.wake_wr = -1;
    }

    close_foreign_channels(type, env);
    ph_broker_close_in_child(type == PH_CHILD_MUX ? mux_index : -1);
    if (type == PH_CHILD_MUX) {
        ph_doorbells_keep_only(mux_index);
    }
    if (type == PH_CHILD_PROC) {
        /* Only multiplexers accept; a processor never holds a listener.
         * Nor a doorbell's watch end: forked from the parent
         * (ProcessorImage fork) it has both ends of every doorbell, and
         * with a watch end it could swallow rings and take the
         * connections other environments' processors hand back. */
        ph_child_close_listeners();
        ph_doorbells_keep_ring_ends();
        close(ph_heritage_now.lifeline_fd);
        ph_heritage_now.lifeline_fd = -1;
    }

    ph_raise_fd_limit(0);
    apr_pool_create(&pchild, ap_pglobal);
    apr_pool_tag(pchild, "pchild");
    ph_pool_cache_child(pchild);

    if (type == PH_CHILD_MUX) {
        ph_numa_bind_self(slot, type, NULL, "multiplexer");
        ph_alloc_child_init(slot, "multiplexer");
        code = ph_mux_main(slot, mux_index, pchild);
    }
    else {
        code = ph_proc_main(slot, env, pchild);
    }
    ph_retained_state->mpm->mpm_state = AP_MPMQ_STOPPING;
    apr_pool_destroy(pchild);
    exit(code);
}
