/*
 * mux_ends.c -- a multiplexer's bounded cache of environments' send ends,
 * filled by asking the parent (broker.h draws the protocol and the trust
 * argument).
 *
 * The ends of environment i live where mux_admit.c uses them
 * (env->chan[0], env->answer[0]; -1 when not held).  Held environments
 * form a list in order of use; when MultiplexerChannelCache of them (read
 * by the multiplexers' own configuration pass) are held and another
 * arrives, the least recently used one with nothing waiting or armed here
 * is closed (PH00628).  When every held one is busy, the new one is kept
 * anyway (PH00629): the excess is bounded by the environments with
 * connections waiting here, each of which holds a client's descriptor
 * already.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "httpd.h"
#include "http_log.h"
#include "http_main.h"

#include "broker.h"
#include "ph_clock.h"
#include "ph_config.h"
#include "ph_env.h"
#include "ph_log.h"
#include "zero_pages.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

/* This multiplexer's cache (one per process: the epoll loop's thread). */
typedef struct mux_ends {
    int broker_fd;              /* -1 once the parent closed it */
    int nenvs;
    int held;                   /* environments whose ends we hold */
    int *prev, *next;           /* use order, per environment; -1 ends */
    int newest, oldest;         /* -1 when none is held */
    long long *asked_ms;        /* per environment: when last asked, 0 */
    int (*busy)(int env_index);
} mux_ends;

static mux_ends me = { -1, 0, 0, NULL, NULL, -1, -1, NULL, NULL };

void ph_mux_ends_init(apr_pool_t *p, int nenvs, int broker_fd,
                      int (*busy)(int env_index))
{
    me.broker_fd = broker_fd;
    me.nenvs = nenvs;
    me.held = 0;
    /* Pages on use (zero_pages.h): prev and next mean something only for
     * an environment on the list, and link_newest sets both of them before
     * anything reads them. */
    me.prev = ph_zero_pages(p, (apr_size_t)nenvs + 1, sizeof(int));
    me.next = ph_zero_pages(p, (apr_size_t)nenvs + 1, sizeof(int));
    me.asked_ms = ph_zero_pages(p, (apr_size_t)nenvs + 1, sizeof(long long));
    me.newest = me.oldest = -1;
    me.busy = busy;
}

static int held(const ph_env *env)
{
    return env->chan[0] >= 0;
}

static void unlink_env(int i)
{
    if (me.prev[i] >= 0) {
        me.next[me.prev[i]] = me.next[i];
    }
    else {
        me.newest = me.next[i];
    }
    if (me.next[i] >= 0) {
        me.prev[me.next[i]] = me.prev[i];
    }
    else {
        me.oldest = me.prev[i];
    }
    me.prev[i] = me.next[i] = -1;
}

static void link_newest(int i)
{
    me.prev[i] = -1;
    me.next[i] = me.newest;
    if (me.newest >= 0) {
        me.prev[me.newest] = i;
    }
    me.newest = i;
    if (me.oldest < 0) {
        me.oldest = i;
    }
}

/* Close the ends of the least recently used environment that is not busy;
 * 0 when every held one is. */
/* Close environment i's ends and take it off the list. */
static void release(int i, ph_env *env)
{
    unlink_env(i);
    close(env->chan[0]);
    if (env->answer[0] >= 0) {
        close(env->answer[0]);
    }
    env->chan[0] = env->answer[0] = -1;
    me.held--;
}

static int evict_one(void)
{
    int i;

    for (i = me.oldest; i >= 0; i = me.prev[i]) {
        ph_env *env = ph_env_by_index(i);
        if (me.busy(i)) {
            continue;
        }
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf,
                     PHLOGNO(00628) "MultiplexerChannelCache %ld full: "
                     "closed the send ends of environment %s, used least "
                     "recently", ph_conf.mux_channel_cache, env->name);
        release(i, env);
        return 1;
    }
    return 0;
}

static void ask(int env_index)
{
    ph_broker_msg m;
    long long now = ph_now_ms();

    if (me.broker_fd < 0 || (me.asked_ms[env_index]
                             && now - me.asked_ms[env_index]
                                < PH_BROKER_RETRY_MS)) {
        return;
    }
    memset(&m, 0, sizeof(m));
    m.magic = PH_BROKER_MAGIC;
    m.kind = PH_BROKER_ASK;
    m.env_index = env_index;
    /* Never blocks; a request that does not fit now is made again on the
     * next look after PH_BROKER_RETRY_MS (asked_ms is set either way). */
    (void)ph_broker_send(me.broker_fd, &m, NULL, 0);
    me.asked_ms[env_index] = now;
}

void ph_mux_ends_forget(int env_index)
{
    ph_env *env = ph_env_by_index(env_index);

    if (!env || env_index >= me.nenvs || !held(env)) {
        return;
    }
    release(env_index, env);
    me.asked_ms[env_index] = 0;     /* the new ones, at once */
    ask(env_index);
}

int ph_mux_ends_have(int env_index)
{
    ph_env *env = ph_env_by_index(env_index);

    if (!env || env_index >= me.nenvs) {
        return 0;
    }
    if (held(env)) {
        if (me.newest != env_index) {
            unlink_env(env_index);
            link_newest(env_index);
        }
        return 1;
    }
    ask(env_index);
    return 0;
}

/* Take the ends that came for env_index (fds[0], fds[1]); closes them if
 * they are not wanted. */
static int install(int env_index, const int fds[2])
{
    ph_env *env = ph_env_by_index(env_index);

    if (!env || env_index >= me.nenvs || held(env)) {
        close(fds[0]);
        close(fds[1]);
        return 0;
    }
    if (me.held >= ph_conf.mux_channel_cache && !evict_one()) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf,
                     PHLOGNO(00629) "MultiplexerChannelCache %ld full and "
                     "every environment held has connections waiting: "
                     "keeping the send ends of %s too (%d held)",
                     ph_conf.mux_channel_cache, env->name, me.held + 1);
    }
    env->chan[0] = fds[0];
    env->answer[0] = fds[1];
    me.held++;
    me.asked_ms[env_index] = 0;
    link_newest(env_index);
    return 1;
}

int ph_mux_ends_receive(void (*got)(int env_index))
{
    for (;;) {
        ph_broker_msg m;
        int fds[PH_BROKER_MAX_FDS], nfds = 0, i, rv;

        if (me.broker_fd < 0) {
            return -1;
        }
        rv = ph_broker_recv(me.broker_fd, &m, fds, &nfds);
        if (rv == EAGAIN) {
            return 0;
        }
        if (rv == EPROTO) {
            continue;   /* cannot be from the parent; nothing kept */
        }
        if (rv != 0) {
            ap_log_error(APLOG_MARK, APLOG_DEBUG,
                         rv == PH_BROKER_EOF ? 0 : rv, ap_server_conf,
                         PHLOGNO(00172) "the parent closed this "
                         "multiplexer's broker socket");
            close(me.broker_fd);
            me.broker_fd = -1;
            return -1;
        }
        if (m.magic == PH_BROKER_MAGIC && m.kind == PH_BROKER_ENDS
            && m.status == 0 && nfds == 2) {
            if (install(m.env_index, fds)) {
                got(m.env_index);
            }
            continue;
        }
        for (i = 0; i < nfds; i++) {
            close(fds[i]);
        }
        if (m.magic == PH_BROKER_MAGIC && m.status != 0) {
            ap_log_error(APLOG_MARK, APLOG_ERR, m.status, ap_server_conf,
                         PHLOGNO(00173) "the parent has no channel for "
                         "environment %d", (int)m.env_index);
        }
    }
}
