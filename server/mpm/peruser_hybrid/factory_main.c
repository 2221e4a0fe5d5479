/*
 * factory_main.c -- an environment's processor factory, the exec'd side
 * (ph_factory.h draws the protocol).
 *
 * This process is httpd started by the parent on environment X's own
 * configuration: it has read X's virtual hosts and stubs of the others,
 * opened X's logs and run every module's post_config, as root.  It binds
 * no listener, writes no pid file, makes its own (anonymous) httpd
 * scoreboard -- X's processors' view of the server, which therefore holds
 * X's workers only -- and maps the MPM's segment as a processor of X
 * would.  Then it forks X's processors, one per request of the parent,
 * and nothing else, until the parent closes the control socket.
 *
 * It reads nothing a processor writes: its only input is the control
 * socket, whose other end only the parent holds (every processor closes
 * its copy before any module's code runs in it).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "httpd.h"
#include "ap_listen.h"
#include "ap_mpm.h"
#include "apr_portable.h"
#include "apr_signal.h"
#include "apr_thread_proc.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"
#include "mpm_common.h"
#include "scoreboard.h"

#include "broker.h"
#include "doorbell.h"
#include "lib_nghttp2.h"
#include "ph_child.h"
#include "ph_clock.h"
#include "ph_config.h"
#include "ph_env.h"
#include "ph_env_scoreboard.h"
#include "ph_factory.h"
#include "ph_log.h"
#include "ph_numa.h"
#include "ph_parent.h"
#include "ph_segment.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

int ph_factory_is_me(void)
{
    return getenv(PH_FACTORY_ENVVAR) != NULL
           && ap_exists_config_define(PH_FACTORY_DEFINE);
}

typedef struct factory_spec {
    int muxes;                  /* the multiplexers' factory */
    int blank;                  /* a blank, not yet assigned (its bells:
                                 * how many /dev/null placeholders) */
    int env_index;              /* a processor factory: its environment */
    char name[256];
    int gen;
    unsigned long ino;
    int envs, listeners;        /* multiplexers: what they inherit */
    int bells;                  /* the multiplexers' doorbells and the
                                 * hand-back doorbell (doorbell.h) */
} factory_spec;

/* The most doorbells a spec may name (MaxMultiplexers' own bound, and the
 * hand-back doorbell). */
#define PH_FACTORY_MAX_BELLS 1001

static int parse_spec(factory_spec *sp)
{
    const char *text = getenv(PH_FACTORY_ENVVAR);

    memset(sp, 0, sizeof(*sp));
    if (!text) {
        return -1;
    }
    if (sscanf(text, "env=%d name=%255s gen=%d ino=%lu bells=%d",
               &sp->env_index, sp->name, &sp->gen, &sp->ino,
               &sp->bells) == 5) {
        return sp->bells >= 0 && sp->bells <= PH_FACTORY_MAX_BELLS ? 0 : -1;
    }
    sp->env_index = -1;
    if (sscanf(text, "blank gen=%d bells=%d", &sp->gen, &sp->bells) == 2) {
        sp->blank = 1;
        return sp->bells >= 0 && sp->bells <= PH_FACTORY_MAX_BELLS ? 0 : -1;
    }
    sp->muxes = 1;
    sp->env_index = -1;
    return sscanf(text, "multiplexers gen=%d ino=%lu envs=%d listeners=%d "
                  "bells=%d", &sp->gen, &sp->ino, &sp->envs, &sp->listeners,
                  &sp->bells) == 5
           && sp->envs >= 0 && sp->listeners > 0 && sp->bells >= 0
           && sp->bells <= PH_FACTORY_MAX_BELLS ? 0 : -1;
}

/* How many multiplexer indexes the doorbells are for: all but the last,
 * the hand-back doorbell. */
static int mux_indexes(const factory_spec *sp)
{
    return sp->bells > 0 ? sp->bells - 1 : 0;
}

/* Where the inherited descriptors after the doorbells start: the
 * multiplexers' broker sockets (one per multiplexer index), then the
 * listeners. */
static int first_broker_fd(const factory_spec *sp)
{
    return PH_FACTORY_FD_BELLS + sp->bells;
}

static int first_listener(const factory_spec *sp)
{
    return first_broker_fd(sp) + (sp->muxes ? mux_indexes(sp) : 0);
}

ph_env *ph_factory_env(void)
{
    factory_spec sp;
    ph_env *env;

    if (!ph_factory_is_me() || parse_spec(&sp) != 0 || sp.muxes
        || !(env = ph_env_by_index(sp.env_index))
        || strcmp(env->name, sp.name) != 0) {
        return NULL;
    }
    return env;
}

void ph_factory_inherited_cloexec(void)
{
    factory_spec sp;
    int fd, last;

    if (!ph_factory_is_me() || parse_spec(&sp) != 0) {
        return;
    }
    last = first_listener(&sp) + (sp.muxes ? sp.listeners : 0) - 1;
    for (fd = PH_FACTORY_FD_CONTROL; fd <= last; fd++) {
        int flags = fcntl(fd, F_GETFD);
        if (flags >= 0) {
            fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
        }
    }
}

int ph_factory_is_blank(void)
{
    factory_spec sp;

    return ph_factory_is_me() && parse_spec(&sp) == 0 && sp.blank;
}

int ph_factory_makes_multiplexers(void)
{
    factory_spec sp;

    return ph_factory_is_me() && parse_spec(&sp) == 0 && sp.muxes;
}

/* Only what this factory's children hold, at the numbers the parent put
 * them: X's channel and answer channel; or, for the multiplexers, their
 * broker sockets (send ends come through them, broker.h), the lifeline
 * and the parent's wake pipe; in both, every multiplexer's doorbell.  (They are close-on-exec since pre_config:
 * ph_factory_inherited_cloexec.) */
static void adopt_descriptors(const factory_spec *sp, ph_env *mine)
{
    int i;

    for (i = 0; i < ph_envs->nelts; i++) {
        ph_env *env = APR_ARRAY_IDX(ph_envs, i, ph_env *);
        env->chan[0] = env->chan[1] = -1;
        env->answer[0] = env->answer[1] = -1;
    }
    /* the multiplexers watch the doorbells, processors ring them */
    ph_doorbells_adopt(PH_FACTORY_FD_BELLS, sp->bells, !mine);
    if (!mine) {
        ph_broker_adopt(first_broker_fd(sp), mux_indexes(sp));
    }
    ph_heritage_now.lifeline_fd = ph_heritage_now.lifeline_wr = -1;
    ph_heritage_now.wake_rd = ph_heritage_now.wake_wr = -1;
    if (mine) {
        mine->chan[1] = PH_FACTORY_FD_CHANNEL;
        mine->answer[1] = PH_FACTORY_FD_ANSWER;
    }
    else {
        ph_heritage_now.lifeline_fd = PH_FACTORY_FD_LIFELINE;
        ph_heritage_now.wake_wr = PH_FACTORY_FD_WAKE;
    }
}

/* Whether fd is a listening stream socket bound to lr's address. */
static int is_listener_of(int fd, const ap_listen_rec *lr)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int type = 0, listening = 0;
    socklen_t ilen = sizeof(int);
    const apr_sockaddr_t *want = lr->bind_addr;

    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0
        || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &ilen) != 0
        || type != SOCK_STREAM
        || (ilen = sizeof(int), getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN,
                                           &listening, &ilen)) != 0
        || !listening || !want || ss.ss_family != want->family) {
        return 0;
    }
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
        return in->sin_port == want->sa.sin.sin_port
               && in->sin_addr.s_addr == want->sa.sin.sin_addr.s_addr;
    }
#if APR_HAVE_IPV6
    if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
        return in6->sin6_port == want->sa.sin6.sin6_port
               && !memcmp(&in6->sin6_addr, &want->sa.sin6.sin6_addr,
                          sizeof(in6->sin6_addr));
    }
#endif
    return 0;
}

int ph_factory_adopt_listeners(apr_pool_t *pconf, server_rec *s)
{
    factory_spec sp;
    ap_listen_rec *lr;
    int first, i, n = 0;

    if (parse_spec(&sp) != 0 || !sp.muxes || !ph_envs
        || sp.envs != ph_envs->nelts) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, PHLOGNO(00535)
                     "the multiplexers' factory: %s=\"%s\" does not fit "
                     "this configuration (%d environments)",
                     PH_FACTORY_ENVVAR, getenv(PH_FACTORY_ENVVAR),
                     ph_envs ? ph_envs->nelts : 0);
        return !OK;
    }
    first = first_listener(&sp);
    /* The parent's listeners, by address: the same Listen lines made
     * this list, and nothing here binds. */
    for (lr = ap_listeners; lr; lr = lr->next, n++) {
        lr->sd = NULL;
        for (i = 0; i < sp.listeners; i++) {
            if (is_listener_of(first + i, lr)) {
                apr_os_sock_t fd = first + i;
                apr_os_sock_put(&lr->sd, &fd, pconf);
                lr->active = 1;
                break;
            }
        }
        if (!lr->sd) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, PHLOGNO(00536)
                         "the multiplexers' factory: no inherited socket "
                         "listens on %pI", lr->bind_addr);
            return !OK;
        }
    }
    if (n != sp.listeners) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, PHLOGNO(00537)
                     "the multiplexers' factory: %d listeners configured, "
                     "%d inherited", n, sp.listeners);
        return !OK;
    }
    return OK;
}

static int say(int ctl, ph_factory_kind kind, int slot, int value)
{
    ph_factory_msg m = { PH_FACTORY_MSG_MAGIC, (uint32_t)kind, slot, value };

    return send(ctl, &m, sizeof(m), MSG_NOSIGNAL) == (ssize_t)sizeof(m)
           ? 0 : -1;
}

/* A factory shows as such in ps/top (comm); its children show the name
 * httpd had, like every other child. */
#define FACTORY_COMM "apache2-factory"
#define MUX_FACTORY_COMM "apache2-muxes"
static char httpd_comm[16];

/*
 * The multiplexers' factory loads what every multiplexer may need before
 * forking them (lazy_lib.h): each then shares the one copy instead of
 * loading its own at its first h2c connection.
 */
static void preload_for_multiplexers(server_rec *s)
{
    const char *why = NULL;

    if (!ph_nghttp2(&why)) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, PHLOGNO(00538)
                     "the multiplexers' factory cannot load %s (%s): h2c "
                     "connections are routed by their address, not by "
                     "their first request", PH_NGHTTP2_SONAME,
                     why ? why : "?");
    }
}

static void name_factory(const ph_env *env)
{
    if (prctl(PR_GET_NAME, httpd_comm) != 0) {
        strcpy(httpd_comm, "httpd");
    }
    prctl(PR_SET_NAME, env ? FACTORY_COMM : MUX_FACTORY_COMM);
}

/* Fork a child for slot: X's processor (env), or a multiplexer (env NULL,
 * mux_index).  A child forks it and exits at once, so that it is
 * re-parented to the parent (a child subreaper), which owns it: it waits
 * for it, signals it, counts it.  The pid comes back through a pipe.
 * Returns the pid, or -1 with errno. */
static pid_t fork_child(ph_env *env, int slot, int mux_index, int ctl)
{
    ph_retained *r = ph_retained_state;
    int pfd[2], status, err = 0;
    pid_t mid, pid = -1;

    if (pipe2(pfd, O_CLOEXEC) != 0) {
        return -1;
    }
    ph_scoreboard_slot_prepare(slot, r->mpm->my_generation);
    ph_numa_factory_prepare(ap_server_conf->process->pconf, slot);
    mid = fork();
    if (mid == 0) {
        pid_t p;
        close(pfd[0]);
        p = fork();
        if (p == 0) {
            /* The control socket is the parent's and ours alone. */
            close(pfd[1]);
            close(ctl);
            prctl(PR_SET_NAME, httpd_comm);
            if (env) {
                ph_child_main(slot, PH_CHILD_PROC, env, -1);
            }
            ph_child_main(slot, PH_CHILD_MUX, NULL, mux_index);
        }
        if (p < 0) {
            p = -errno;
        }
        _exit(write(pfd[1], &p, sizeof(p)) == (ssize_t)sizeof(p) ? 0 : 1);
    }
    if (mid < 0) {
        err = errno;
    }
    close(pfd[1]);
    if (mid > 0) {
        if (read(pfd[0], &pid, sizeof(pid)) != (ssize_t)sizeof(pid)) {
            pid = -EIO;
        }
        while (waitpid(mid, &status, 0) < 0 && errno == EINTR) {
            ;
        }
        if (pid < 0) {
            err = -pid;
            pid = -1;
        }
    }
    close(pfd[0]);
    if (pid > 0) {
        ph_scoreboard_slot_started(slot, pid, r->mpm->my_generation);
    }
    errno = err;
    return pid;
}

/* Piped loggers and other helpers started by modules are this process's
 * children: reap them, and let their owners restart them. */
static void reap_helpers(void)
{
    apr_proc_t proc;
    apr_exit_why_e why;
    int status;

    while (apr_proc_wait_all_procs(&proc, &status, &why, APR_NOWAIT,
                                   ap_pglobal) == APR_CHILD_DONE) {
        apr_proc_other_child_alert(&proc, APR_OC_REASON_DEATH, status);
    }
}

/* How long the multiplexers' factory exec'd before the segment waits for
 * its inode: the parent makes the segment while the factory reads its
 * configuration (~20 ms at 1,000 environments, ~0.3 s at 10,000). */
#define SEGMENT_WAIT_MS 60000

/* The multiplexers' factory exec'd with ino=0
 * (ph_factory_launch_multiplexers_early): the segment's inode is the
 * first message on the control socket.  0 with *ino set, or -1 (the
 * parent let us go, was silent, or sent anything else). */
static int await_segment(int ctl, unsigned long *ino)
{
    struct pollfd pfd = { ctl, POLLIN, 0 };
    ph_factory_msg m;
    uint64_t v;
    ssize_t n;
    int rv;

    do {
        rv = poll(&pfd, 1, SEGMENT_WAIT_MS);
    } while (rv < 0 && errno == EINTR);
    if (rv <= 0) {
        return -1;
    }
    do {
        n = recv(ctl, &m, sizeof(m), 0);
    } while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof(m) || m.magic != PH_FACTORY_MSG_MAGIC
        || m.kind != PH_FACTORY_SEGMENT) {
        return -1;
    }
    v = ph_factory_msg_ino(&m);
    if (v == 0 || v > ULONG_MAX) {
        return -1;
    }
    *ino = (unsigned long)v;
    return 0;
}

static void serve(ph_env *env, int ctl)
{
    for (;;) {
        struct pollfd pfd = { ctl, POLLIN, 0 };
        ph_factory_msg m;
        ssize_t n;
        pid_t pid;
        int rv = poll(&pfd, 1, 1000);

        reap_helpers();
        if (rv < 0 && errno != EINTR) {
            return;
        }
        if (rv <= 0) {
            continue;
        }
        n = recv(ctl, &m, sizeof(m), 0);
        if (n == 0 || (n < 0 && errno != EINTR)) {
            return;                 /* the parent let us go */
        }
        if (n != (ssize_t)sizeof(m) || m.magic != PH_FACTORY_MSG_MAGIC
            || m.kind != PH_FACTORY_SPAWN) {
            continue;
        }
        if (m.slot < 0 || m.slot >= (int32_t)ph_conf.server_limit
            || (!env && (m.value < 0
                         || m.value >= (int32_t)ph_conf.max_multiplexers))) {
            say(ctl, PH_FACTORY_FAILED, m.slot, EINVAL);
            continue;
        }
        pid = fork_child(env, m.slot, m.value, ctl);
        if (pid > 0) {
            say(ctl, PH_FACTORY_SPAWNED, m.slot, (int)pid);
        }
        else {
            say(ctl, PH_FACTORY_FAILED, m.slot, errno ? errno : EIO);
        }
    }
}

int ph_factory_run(apr_pool_t *pconf, server_rec *s)
{
    ph_retained *r = ph_retained_state;
    int ctl = PH_FACTORY_FD_CONTROL;
    factory_spec sp;
    ph_env *env = NULL;

    if (parse_spec(&sp) != 0 || (!sp.muxes && !(env = ph_factory_env()))) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, PHLOGNO(00530)
                     "processor factory: %s=\"%s\" names no environment of "
                     "this configuration", PH_FACTORY_ENVVAR,
                     getenv(PH_FACTORY_ENVVAR));
        return DONE;
    }
    name_factory(env);
    apr_signal(SIGHUP, SIG_IGN);
    apr_signal(AP_SIG_GRACEFUL, SIG_IGN);
    apr_signal(AP_SIG_GRACEFUL_STOP, SIG_IGN);
    apr_signal(SIGPIPE, SIG_IGN);

    r->mpm->my_generation = (ap_generation_t)sp.gen;
    ph_heritage_now.generation = (ap_generation_t)sp.gen;
    /* X's own scoreboard, never a file another httpd could share: in
     * anonymous memory, or with a StatusEnvironment in a file only that
     * environment may read (env_scoreboard.c).  The multiplexers' is
     * anonymous: nothing reads it (they hold no worker).  Made on use,
     * in place of httpd's own pre_mpm (factory_scoreboard.c). */
    ap_scoreboard_fname = NULL;
    if (ph_factory_scoreboard(s, pconf, env, r->mpm->my_generation) != OK) {
        return DONE;
    }
    if (sp.muxes && sp.ino == 0 && await_segment(ctl, &sp.ino) != 0) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, PHLOGNO(00613)
                     "the multiplexers' factory: the parent did not send "
                     "the segment's inode; exiting");
        return DONE;
    }
    if (ph_segment_attach(pconf, env, sp.ino) != 0) {
        return DONE;
    }
    adopt_descriptors(&sp, env);
    if (!env) {
        preload_for_multiplexers(s);
    }
    r->mpm->mpm_state = AP_MPMQ_RUNNING;
    if (say(ctl, PH_FACTORY_READY, -1, 0) != 0) {
        return DONE;
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, PHLOGNO(00531)
                 "%s%s ready, pid %ld", env ? "processor factory of "
                 "environment " : "the multiplexers' factory",
                 env ? env->name : "", (long)getpid());
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, PHLOGNO(00626)
                 "%s%s: %" APR_INT64_T_FMT " us of CPU from the parent's "
                 "fork to READY", env ? "processor factory of environment "
                 : "the multiplexers' factory", env ? env->name : "",
                 (apr_int64_t)ph_cpu_us());
    serve(env, ctl);
    r->mpm->mpm_state = AP_MPMQ_STOPPING;
    return DONE;
}
