/*
 * parent_factory.c -- the parent's side of the processor factories
 * (ph_factory.h draws the protocol): start one per environment when its
 * first processor is wanted, ask it for processors, and let it go when
 * its generation has no processor left.
 *
 * Everything here runs in the root parent.  A factory's answers are
 * checked (magic, kind, slot) and a pid is only believed once waitpid()
 * says it is this process's own child: a factory is trusted like the
 * parent, but a bug in one must not make the parent signal or wait for
 * somebody else's process.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "httpd.h"
#include "ap_listen.h"
#include "ap_mpm.h"
#include "apr_portable.h"
#include "apr_strings.h"
#include "http_config.h"
#include "http_log.h"
#include "http_main.h"

#include "ph_config.h"
#include "ph_env.h"
#include "ph_envconf.h"
#include "ph_env_scoreboard.h"
#include "broker.h"
#include "doorbell.h"
#include "ph_factory.h"
#include "ph_log.h"
#include "ph_parent.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

/* A factory reads the whole of its configuration and opens its logs
 * before it is ready; a fork takes milliseconds. */
#define READY_TIMEOUT_MS    30000
/* An assigned blank (parent_blank.c) has only its second pass left; past
 * this its environment's factory is exec'd instead, within the
 * multiplexers' ProcessorWaitTimeout (5 s by default). */
#define BLANK_READY_TIMEOUT_MS 2500
#define SPAWN_TIMEOUT_MS    10000

/* A factory that did not start is not retried at once: its configuration
 * or a module is broken, and every retry is a whole httpd start. */
#define RETRY_FIRST         apr_time_from_sec(1)
#define RETRY_MAX           apr_time_from_sec(60)

typedef struct factory {
    pid_t pid;                  /* 0: none */
    apr_time_t retry_at;        /* no start before (after a failure) */
    apr_interval_time_t retry_delay;
    apr_time_t empty_since;     /* without a processor since (0: has) */
    int retired;                /* let go for idleness: no warning when
                                 * it exits */
    int pending;                /* exec'd, its READY not read yet */
    int needs_segment;          /* exec'd with ino=0: SEGMENT not sent yet
                                 * (ph_factory_launch_multiplexers_early) */
    int from_blank;             /* a blank assigned to it (parent_blank.c) */
    int cold;                   /* started for the processor being forked */
    apr_time_t launched;        /* when it was exec'd */
    int ctl;                    /* parent's end of the control socket */
    int env_index;              /* in its generation; -1: the
                                 * multiplexers' factory */
    ap_generation_t gen;
    const char *env_name;       /* for messages; from that pconf */
    struct factory *next;       /* older generations' list */
} factory;

/* This generation's factories, one per environment and, last, the
 * multiplexers' (pconf).  Those of
 * older generations still serving their processors are malloc'd and
 * listed in the retained state: they outlive the pconf they were started
 * in, and this module's statics (httpd reloads it every generation). */
static factory *current;
static int ncurrent;
#define older (ph_retained_state->old_factories)

/* What every factory is exec'd with, built once per generation. */
static const char *binary;
static apr_array_header_t *base_argv;

int ph_factory_in_use(void)
{
    return ph_conf.processor_image == PH_IMAGE_EXEC && ph_envs
           && ph_envs->nelts > 0
           && !APR_ARRAY_IDX(ph_envs, 0, ph_env *)->implicit;
}

static void push(apr_array_header_t *a, const char *s)
{
    APR_ARRAY_PUSH(a, const char *) = s;
}

/* The running binary: /proc/self/exe, without the " (deleted)" the kernel
 * appends once a package upgrade replaced the file (the new one is then
 * what a factory runs). */
static const char *running_binary(apr_pool_t *p)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    static const char deleted[] = " (deleted)";

    if (n <= 0) {
        return NULL;
    }
    buf[n] = '\0';
    if ((size_t)n > sizeof(deleted) - 1
        && !strcmp(buf + n - (sizeof(deleted) - 1), deleted)) {
        buf[n - (sizeof(deleted) - 1)] = '\0';
    }
    return apr_pstrdup(p, buf);
}

/* -D names the factory must not inherit: its own way of running is set
 * here, and -t/-S style dumps would stop it after reading. */
static int inherited_define(const char *name)
{
    static const char *const own[] = {
        "FOREGROUND", "NO_DETACH", "ONE_PROCESS", "DEBUG", PH_FACTORY_DEFINE,
        NULL
    };
    int i;

    if (!strncmp(name, "DUMP_", 5)) {
        return 0;
    }
    for (i = 0; own[i]; i++) {
        if (!strcmp(name, own[i])) {
            return 0;
        }
    }
    return 1;
}

int ph_factory_generation_start(apr_pool_t *pconf)
{
    int i, rv;

    current = NULL;
    ncurrent = 0;
    ph_blank_generation_start();
    if (!ph_factory_in_use()) {
        return 0;
    }
    /* Processors are forked by a factory's child, which exits at once:
     * they are re-parented to the nearest subreaper, this process. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, errno, ap_server_conf,
                     PHLOGNO(00520) "cannot become a child subreaper: "
                     "processors could not be waited for");
        return errno;
    }
    if ((rv = ph_env_scoreboard_dir(pconf)) != 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, ap_server_conf,
                     PHLOGNO(00533) "cannot make the directory of the "
                     "environments' scoreboards for StatusEnvironment %s: it "
                     "sees other environments' processors, not their "
                     "requests", ph_conf.status_env);
    }
    if (!(binary = running_binary(pconf))) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, errno, ap_server_conf,
                     PHLOGNO(00521) "cannot find the running httpd binary "
                     "(/proc/self/exe) to start processor factories");
        return errno ? errno : ENOENT;
    }
    base_argv = apr_array_make(pconf, 16, sizeof(const char *));
    push(base_argv, binary);
    push(base_argv, "-d");
    push(base_argv, ap_server_root);
    push(base_argv, "-D");
    push(base_argv, PH_FACTORY_DEFINE);
    push(base_argv, "-D");
    push(base_argv, "FOREGROUND");
    for (i = 0; i < ap_server_config_defines->nelts; i++) {
        const char *d = APR_ARRAY_IDX(ap_server_config_defines, i,
                                      const char *);
        if (inherited_define(d)) {
            push(base_argv, "-D");
            push(base_argv, d);
        }
    }
    for (i = 0; ap_server_pre_read_config
                && i < ap_server_pre_read_config->nelts; i++) {
        push(base_argv, "-C");
        push(base_argv, APR_ARRAY_IDX(ap_server_pre_read_config, i,
                                      const char *));
    }
    for (i = 0; ap_server_post_read_config
                && i < ap_server_post_read_config->nelts; i++) {
        push(base_argv, "-c");
        push(base_argv, APR_ARRAY_IDX(ap_server_post_read_config, i,
                                      const char *));
    }
    ncurrent = ph_envs->nelts + 1;
    current = apr_pcalloc(pconf, sizeof(*current) * ncurrent);
    for (i = 0; i < ncurrent; i++) {
        current[i].ctl = -1;
        current[i].env_index = i < ph_envs->nelts ? i : -1;
    }
    return 0;
}

char *const *ph_factory_argv(apr_pool_t *p, const char *conf,
                             const char *label)
{
    apr_array_header_t *argv = apr_array_copy(p, base_argv);

    push(argv, "-f");
    push(argv, conf);
    /* After the configuration: a PidFile of its own, which it never
     * writes, so that httpd's start-up check ("already running") does
     * not find the parent's. */
    push(argv, "-c");
    push(argv, apr_psprintf(p, "PidFile %s", ap_runtime_dir_relative(
                                p, apr_psprintf(p, "peruser_hybrid.factory."
                                                "%ld.%s.pid", (long)getpid(),
                                                label))));
    push(argv, NULL);
    return (char *const *)argv->elts;
}

/* How f is named in messages (in a buffer of its own: the parent is one
 * thread, and a message must not grow a long-lived pool). */
static const char *label(const factory *f)
{
    static char buf[320];

    if (f->env_index < 0) {
        return "the multiplexers' factory";
    }
    apr_snprintf(buf, sizeof(buf), "the processor factory of environment %s",
                 f->env_name ? f->env_name : "(of an older generation)");
    return buf;
}

/* The configuration env's factory reads: its own file (envconf_write.c:
 * every other environment's vhosts reduced to stubs), or, when none was
 * written (the parent cannot switch users: every environment runs as one
 * account, there is no boundary to keep), the server's. */
static const char *config_of(apr_pool_t *p, const ph_env *env)
{
    const char *own = env ? ph_envconf_path(env) : ph_envconf_front_path();

    if (!own && ph_envconf_files_in_use()) {
        return NULL;    /* never the whole configuration instead */
    }
    return own ? own : ph_envconf_main_file(p, ap_server_conf);
}

/* What a factory is exec'd with, at 3, 4, ... (ph_factory.h): X's control
 * socket, channel and answer channel (receive ends) and the multiplexers'
 * doorbells; or, for the multiplexers' factory (env NULL), the control
 * socket, lifeline, wake pipe, the doorbells, the multiplexers' broker
 * sockets (broker.h: they ask for send ends there), and every listener:
 * nothing per environment. */
static void push_doorbells(apr_array_header_t *fds, int watch_ends)
{
    int k;

    for (k = 0; k < ph_doorbells_count(); k++) {
        APR_ARRAY_PUSH(fds, int) = watch_ends ? ph_doorbell_watch_fd(k)
                                              : ph_doorbell_ring_fd(k);
    }
}

static apr_array_header_t *inherited_fds(apr_pool_t *p, int ctl,
                                         const ph_env *env, int *nlisteners)
{
    apr_array_header_t *fds = apr_array_make(p, 8, sizeof(int));
    ap_listen_rec *lr;
    int i;

    APR_ARRAY_PUSH(fds, int) = ctl;
    *nlisteners = 0;
    if (env) {
        ap_assert(env->chan[1] >= 0 && env->answer[1] >= 0);
        APR_ARRAY_PUSH(fds, int) = env->chan[1];
        APR_ARRAY_PUSH(fds, int) = env->answer[1];
        push_doorbells(fds, 0);
        return fds;
    }
    APR_ARRAY_PUSH(fds, int) = ph_heritage_now.lifeline_fd;
    APR_ARRAY_PUSH(fds, int) = ph_heritage_now.wake_wr;
    push_doorbells(fds, 1);
    for (i = 0; i < ph_broker_count(); i++) {
        APR_ARRAY_PUSH(fds, int) = ph_broker_mux_fd(i);
    }
    for (lr = ap_listeners; lr; lr = lr->next) {
        apr_os_sock_t fd = -1;
        if (lr->sd) {
            apr_os_sock_get(&fd, lr->sd);
        }
        APR_ARRAY_PUSH(fds, int) = fd;
        ++*nlisteners;
    }
    return fds;
}

/* The environment of a factory: the parent's, with PH_FACTORY_ENVVAR set
 * to spec (from p), and without NOTIFY_SOCKET: a factory runs every
 * module's pre_mpm, and mod_systemd's would tell the service manager that
 * the factory is the server's main process (MAINPID) and ready.  Only the
 * parent speaks for the server. */
static char *const *factory_environ(apr_pool_t *p, const char *spec)
{
    static const char var[] = PH_FACTORY_ENVVAR "=";
    static const char notify[] = "NOTIFY_SOCKET=";
    apr_array_header_t *env = apr_array_make(p, 32, sizeof(char *));
    char **e;

    for (e = environ; e && *e; e++) {
        if (strncmp(*e, var, sizeof(var) - 1) != 0
            && strncmp(*e, notify, sizeof(notify) - 1) != 0) {
            APR_ARRAY_PUSH(env, char *) = *e;
        }
    }
    APR_ARRAY_PUSH(env, char *) = apr_pstrcat(p, var, spec, NULL);
    APR_ARRAY_PUSH(env, char *) = NULL;
    return (char *const *)env->elts;
}

/*
 * Start argv as a factory holding fds[i] at 3 + i and no other
 * descriptor, with the default signal dispositions, an empty signal mask
 * and PH_FACTORY_ENVVAR=spec.  posix_spawn, not fork: glibc starts the
 * child sharing the parent's memory (CLONE_VM | CLONE_VFORK) until it
 * execs, so the parent's page tables, which grow with the configuration
 * (4-5 ms to copy at 1,000 environments, issue 13), are neither copied
 * by the parent nor torn down by the exec.  Returns 0 and *pid, or an
 * errno value (the exec's too).
 */
int ph_factory_spawn(apr_pool_t *p, const apr_array_header_t *fds,
                     char *const argv[], const char *spec, pid_t *pid)
{
    const int *src = (const int *)fds->elts;
    int n = fds->nelts, i, base, rv;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, all;

    /* Each to a scratch number above every source and every target first,
     * so that no dup2 overwrites a source not yet copied. */
    base = PH_FACTORY_FD_CONTROL + n;
    for (i = 0; i < n; i++) {
        if (src[i] < 0) {
            return EBADF;
        }
        if (src[i] >= base) {
            base = src[i] + 1;
        }
    }
    /* Room for the scratch copies (the multiplexers' factory inherits
     * three per environment) and for what the factory's own start opens
     * after them: the soft limit up to the hard one, both raised if that
     * is not enough (root may).  Set in the parent, which the child
     * inherits it from (the parent's own descriptors do not grow with
     * the number of environments). */
    ph_raise_fd_limit((rlim_t)base + (rlim_t)n + 1024);
    if ((rv = posix_spawn_file_actions_init(&fa)) != 0) {
        return rv;
    }
    if ((rv = posix_spawnattr_init(&attr)) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return rv;
    }
    for (i = 0; i < n && !rv; i++) {
        rv = posix_spawn_file_actions_adddup2(&fa, src[i], base + i);
    }
    for (i = 0; i < n && !rv; i++) {
        rv = posix_spawn_file_actions_adddup2(&fa, base + i,
                                              PH_FACTORY_FD_CONTROL + i);
    }
    if (!rv) {
        rv = posix_spawn_file_actions_addclosefrom_np(
                 &fa, PH_FACTORY_FD_CONTROL + n);
    }
    sigemptyset(&none);
    sigfillset(&all);
    if (!rv && !(rv = posix_spawnattr_setsigmask(&attr, &none))
        && !(rv = posix_spawnattr_setsigdefault(&attr, &all))) {
        rv = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK
                                             | POSIX_SPAWN_SETSIGDEF);
    }
    if (!rv) {
        rv = posix_spawn(pid, argv[0], &fa, &attr, argv,
                         factory_environ(p, spec));
    }
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return rv;
}

/* Wait up to ms for one message on fd.  0 and *m, or an errno value
 * (ETIMEDOUT, EPIPE for EOF, EPROTO for a malformed message). */
static int receive(int fd, ph_factory_msg *m, int ms)
{
    apr_time_t end = apr_time_now() + apr_time_from_msec(ms);
    ssize_t n;

    /* Multiplexers' requests for send ends are served meanwhile
     * (broker.h): a factory's start takes a while, and other
     * environments' connections must not wait for it. */
    for (;;) {
        long left = (long)apr_time_as_msec(end - apr_time_now());
        if (ph_broker_wait(fd, left > 0 ? (int)left : 0)) {
            break;
        }
        if (left <= 0) {
            return ETIMEDOUT;
        }
    }
    do {
        n = recv(fd, m, sizeof(*m), MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n == 0) {
        return EPIPE;
    }
    if (n < 0) {
        return errno;
    }
    return n == (ssize_t)sizeof(*m) && m->magic == PH_FACTORY_MSG_MAGIC
           ? 0 : EPROTO;
}

static void forget(factory *f)
{
    if (f->ctl >= 0) {
        close(f->ctl);
    }
    f->ctl = -1;
    f->pid = 0;
    f->pending = 0;
    f->needs_segment = 0;
}

/* A factory that failed us: kill it (it is waited for with the others in
 * the main loop) and forget it. */
static void abandon(factory *f)
{
    if (f->pid > 0) {
        kill(f->pid, SIGKILL);
    }
    forget(f);
}

static const char *env_spec(apr_pool_t *p, const ph_env *env)
{
    ph_retained *r = ph_retained_state;

    return apr_psprintf(p, "env=%d name=%s gen=%d ino=%lu bells=%d",
                        env->index, env->name, (int)r->mpm->my_generation,
                        (unsigned long)r->segment.ino, ph_doorbells_count());
}

/* Give env's factory f a blank of the reserve (parent_blank.c) instead of
 * an exec: ASSIGN with the spec and descriptors (at 4, 5, 6 ..) an exec'd
 * factory of env would get, and env's file (path).  0, or -1: none. */
static int take_blank(apr_pool_t *p, factory *f, ph_env *env,
                      const char *path)
{
    apr_array_header_t *fds = apr_array_make(p, 8, sizeof(int));
    pid_t pid;
    int ctl;

    APR_ARRAY_PUSH(fds, int) = env->chan[1];
    APR_ARRAY_PUSH(fds, int) = env->answer[1];
    push_doorbells(fds, 0);
    if (ph_blank_take(env_spec(p, env), path, fds, &pid, &ctl) != 0) {
        return -1;
    }
    f->pid = pid;
    f->ctl = ctl;
    f->env_index = env->index;
    f->gen = ph_retained_state->mpm->my_generation;
    f->env_name = env->name;
    f->launched = apr_time_now();
    f->pending = 1;
    f->from_blank = 1;
    return 0;
}

/* Start f: X's processor factory (env), or the multiplexers' (NULL); its
 * READY is awaited by await_ready. */
static int launch(factory *f, ph_env *env)
{
    ph_retained *r = ph_retained_state;
    apr_array_header_t *fds;
    apr_pool_t *p;
    const char *spec, *conf;
    int sv[2], rv, nlisteners;
    pid_t pid;
    apr_time_t began = apr_time_now();

    /* A processor factory is exec'd holding its environment's receive
     * ends, which are made on first use (parent_channels.c): a factory
     * started ahead of its first processor (ph_factory_prestart) is that
     * first use. */
    if (env && (rv = ph_channels_open(env)) != 0) {
        return rv;      /* logged */
    }
    apr_pool_create(&p, NULL);
    if (!(conf = config_of(p, env))) {
        apr_pool_destroy(p);
        return EIO;     /* logged */
    }
    f->cold = 1;
    if (env && !f->from_blank && take_blank(p, f, env, conf) == 0) {
        apr_pool_destroy(p);
        return 0;
    }
    f->from_blank = 0;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        rv = errno;
        apr_pool_destroy(p);
        return rv;
    }
    fds = inherited_fds(p, sv[1], env, &nlisteners);
    spec = env ? env_spec(p, env)
               : apr_psprintf(p, "multiplexers gen=%d ino=%lu envs=%d "
                              "listeners=%d bells=%d",
                              (int)r->mpm->my_generation,
                              f->needs_segment
                              ? 0UL : (unsigned long)r->segment.ino,
                              ph_envs->nelts, nlisteners,
                              ph_doorbells_count());
    /* sv[0] is close-on-exec, and beyond what the child keeps */
    rv = ph_factory_spawn(p, fds,
                          ph_factory_argv(p, conf, env ? env->name
                                                       : "(multiplexers)"),
                          spec, &pid);
    close(sv[1]);
    apr_pool_destroy(p);
    if (rv != 0) {
        close(sv[0]);
        return rv;
    }
    f->pid = pid;
    f->ctl = sv[0];
    f->env_index = env ? env->index : -1;
    f->gen = r->mpm->my_generation;
    f->env_name = env ? env->name : NULL;
    f->launched = apr_time_now();
    f->pending = 1;
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf, PHLOGNO(00191)
                 "%s: exec'd, pid %" APR_PID_T_FMT " (its launch took "
                 "%" APR_TIME_T_FMT " us in the parent)", label(f), pid,
                 f->launched - began);
    return 0;
}

/* A launched factory's READY (configuration read, logs open). */
static int await_ready(factory *f)
{
    ph_factory_msg m;
    int rv;

    f->pending = 0;
    /* a blank said WAITING before it read ASSIGN */
    while ((rv = receive(f->ctl, &m, f->from_blank ? BLANK_READY_TIMEOUT_MS
                                                   : READY_TIMEOUT_MS)) == 0
           && f->from_blank && m.kind == PH_FACTORY_WAITING) {
        ;
    }
    if (rv == 0 && m.kind != PH_FACTORY_READY) {
        rv = EPROTO;
    }
    if (rv != 0) {
        abandon(f);
        return rv;
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf, PHLOGNO(00522)
                 "%s is ready, pid %" APR_PID_T_FMT " (%" APR_TIME_T_FMT
                 " us after its exec)", label(f), f->pid,
                 apr_time_now() - f->launched);
    return 0;
}

/* Launch f if it is not running (nor waiting out a back-off); then, if
 * it is still starting, wait for its READY.  0 or an errno value, the
 * back-off set and logged (PH00523). */
static int start(factory *f, ph_env *env, int wait)
{
    int rv = 0;

    if (f->pid == 0) {
        if (apr_time_now() < f->retry_at) {
            return EAGAIN;
        }
        f->from_blank = 0;
        rv = launch(f, env);
    }
    if (!rv && f->pending && wait) {
        rv = await_ready(f);
        if (rv != 0 && f->from_blank) {
            /* the request is still served: by an exec'd factory, now */
            ap_log_error(APLOG_MARK, APLOG_WARNING, rv, ap_server_conf,
                         PHLOGNO(00662) "%s: the blank factory it took did "
                         "not get ready; exec'ing its own", label(f));
            rv = launch(f, env);
            if (!rv && f->pending) {
                rv = await_ready(f);
            }
        }
    }
    if (rv != 0) {
        f->retry_delay = f->retry_delay ? f->retry_delay * 2 : RETRY_FIRST;
        if (f->retry_delay > RETRY_MAX) {
            f->retry_delay = RETRY_MAX;
        }
        f->retry_at = apr_time_now() + f->retry_delay;
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, ap_server_conf,
                     PHLOGNO(00523) "%s did not start (its "
                     "configuration or a module's start-up failed? see "
                     "above); next attempt in %" APR_TIME_T_FMT " s",
                     label(f), apr_time_sec(f->retry_delay));
        return rv;
    }
    if (!f->pending) {
        f->retry_delay = 0;
    }
    return 0;
}

/* Ask f (started first if need be) for a child in slot (value: a
 * multiplexer's index).  Returns its pid, or -1 (logged). */
static pid_t fork_through(factory *f, ph_env *env, int slot, int value)
{
    ph_factory_msg m = { PH_FACTORY_MSG_MAGIC, PH_FACTORY_SPAWN, slot, value };
    int rv, status;
    pid_t pid;
    apr_time_t asked;

    if (f->pid && f->ctl < 0) {
        return -1;      /* let go, not reaped yet: the next tick starts one */
    }
    if (start(f, env, 1) != 0) {
        return -1;
    }
    asked = apr_time_now();
    if (send(f->ctl, &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m)) {
        rv = errno;
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, ap_server_conf,
                     PHLOGNO(00524) "cannot reach %s", label(f));
        abandon(f);
        return -1;
    }
    if ((rv = receive(f->ctl, &m, SPAWN_TIMEOUT_MS)) != 0
        || m.slot != slot
        || (m.kind != PH_FACTORY_SPAWNED && m.kind != PH_FACTORY_FAILED)) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv ? rv : EPROTO, ap_server_conf,
                     PHLOGNO(00525) "%s gave no valid answer for slot %d; "
                     "restarting it", label(f), slot);
        abandon(f);
        return -1;
    }
    if (m.kind == PH_FACTORY_FAILED) {
        ap_log_error(APLOG_MARK, APLOG_ERR, m.value, ap_server_conf,
                     PHLOGNO(00526) "%s could not fork for slot %d",
                     label(f), slot);
        return -1;
    }
    pid = (pid_t)m.value;
    /* Ours, alive, and not a pid we already hold. */
    if (pid <= 0 || ph_slot_of_pid(pid) >= 0 || pid == f->pid
        || (rv = waitpid(pid, &status, WNOHANG)) != 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, ap_server_conf,
                     PHLOGNO(00527) "the child %s forked for slot %d (pid "
                     "%ld) is not ours or already gone", label(f), slot,
                     (long)pid);
        return -1;
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf, PHLOGNO(00192)
                 "%s forked pid %ld for slot %d in %" APR_TIME_T_FMT " us",
                 label(f), (long)pid, slot, apr_time_now() - asked);
    if (f->cold && env) {
        /* a cold start of an environment that starts on demand: the next
         * one may take a blank (those with MinProcessors start theirs
         * with the server, and are not cold again) */
        f->cold = 0;
        if (ph_env_limit(&env->limits,
                         offsetof(ph_env_limits, min_processors)) == 0) {
            ph_blank_top_up();
        }
    }
    return pid;
}

pid_t ph_factory_fork_processor(ph_env *env, int slot)
{
    if (!current || env->index < 0 || env->index >= ncurrent - 1) {
        return -1;
    }
    return fork_through(&current[env->index], env, slot, 0);
}

void ph_factory_prestart(ph_env *env)
{
    factory *f;

    if (!current || env->index < 0 || env->index >= ncurrent - 1) {
        return;
    }
    f = &current[env->index];
    if (!(f->pid && f->ctl < 0)) {
        start(f, env, 0);
    }
}

pid_t ph_factory_fork_multiplexer(int slot, int mux_index)
{
    if (!current) {
        return -1;
    }
    return fork_through(&current[ncurrent - 1], NULL, slot, mux_index);
}

void ph_factory_launch_multiplexers_early(void)
{
    factory *f;

    if (!current || !ph_factory_in_use()) {
        return;
    }
    f = &current[ncurrent - 1];
    if (f->pid) {
        return;
    }
    f->needs_segment = 1;
    if (launch(f, NULL) != 0) {
        f->needs_segment = 0;   /* the first fork launches it as usual */
    }
}

void ph_factory_segment_made(unsigned long ino)
{
    factory *f;
    ph_factory_msg m;
    int rv = 0;

    if (!current) {
        return;
    }
    f = &current[ncurrent - 1];
    if (!f->pid || !f->needs_segment) {
        return;
    }
    f->needs_segment = 0;
    m.magic = PH_FACTORY_MSG_MAGIC;
    m.kind = PH_FACTORY_SEGMENT;
    ph_factory_msg_set_ino(&m, (uint64_t)ino);
    if (ino == 0 || f->ctl < 0) {
        rv = EINVAL;
    }
    else if (send(f->ctl, &m, sizeof(m), MSG_NOSIGNAL)
             != (ssize_t)sizeof(m)) {
        rv = errno ? errno : EIO;
    }
    if (rv != 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, ap_server_conf,
                     PHLOGNO(00609) "cannot tell %s the segment's inode; "
                     "another is launched", label(f));
        abandon(f);
    }
}

int ph_factory_reaped(pid_t pid, int status)
{
    factory *f, **pp;
    int i;

    if (ph_blank_reaped(pid, status)) {
        return 1;
    }
    for (i = 0; i < ncurrent; i++) {
        if (current[i].pid == pid) {
            if (!current[i].retired) {
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ap_server_conf,
                             PHLOGNO(00528) "%s (pid %ld) exited (status "
                             "%d); the next child it makes starts a new one",
                             label(&current[i]), (long)pid, status);
            }
            forget(&current[i]);
            current[i].retired = 0;
            current[i].from_blank = 0;
            return 1;
        }
    }
    for (pp = &older; (f = *pp) != NULL; pp = &f->next) {
        if (f->pid == pid) {
            *pp = f->next;
            forget(f);
            free(f);
            return 1;
        }
    }
    return 0;
}

/* Whether a child of f's (its environment's processors, or multiplexers)
 * of its generation is still alive. */
static int has_children(const factory *f)
{
    ph_retained *r = ph_retained_state;
    ph_child_type type = f->env_index < 0 ? PH_CHILD_MUX : PH_CHILD_PROC;
    int i;

    for (i = 0; i < r->max_slot_used; i++) {
        const ph_slot *sl = &r->slots[i];
        if (sl->pid && sl->type == type && sl->gen == f->gen
            && (type == PH_CHILD_MUX || sl->env_index == f->env_index)) {
            return 1;
        }
    }
    return 0;
}

void ph_factory_generation_end(void)
{
    int i;

    for (i = 0; i < ncurrent; i++) {
        factory *f;
        if (!current[i].pid) {
            continue;
        }
        /* Kept (with its piped loggers) while its processors live. */
        if (!(f = malloc(sizeof(*f)))) {
            forget(&current[i]);
            continue;
        }
        *f = current[i];
        if (f->env_index < 0 && f->ctl >= 0) {
            /* The multiplexers' factory goes at once: it holds the
             * listeners (which must close now on a graceful stop) and
             * every channel's send end (the processors of this
             * generation see EOF only once no copy is left), and an
             * older generation gets no new multiplexer. */
            close(f->ctl);
            f->ctl = -1;
        }
        f->env_name = NULL;     /* its pconf goes with the generation */
        f->next = older;
        older = f;
    }
    current = NULL;
    ncurrent = 0;
    ph_blank_generation_end();
    ph_factory_tidy();
}

/* A factory of this generation whose environment has had no processor
 * for IdleTimeout goes too: an environment nobody uses costs nothing (its
 * next request starts a new one, as the first did). */
static void retire_idle(void)
{
    apr_time_t now = apr_time_now();
    apr_interval_time_t idle = apr_time_from_sec(ph_conf.idle_timeout);
    int i;

    for (i = 0; i < ncurrent; i++) {
        factory *f = &current[i];
        if (!f->pid || f->ctl < 0) {
            continue;
        }
        if (has_children(f)) {
            f->empty_since = 0;
        }
        else if (!f->empty_since) {
            f->empty_since = now;
        }
        else if (ph_conf.idle_timeout && now - f->empty_since >= idle) {
            ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf,
                         PHLOGNO(00529) "%s (pid %ld): no child for %ld s, "
                         "let go", label(f),
                         (long)f->pid, ph_conf.idle_timeout);
            close(f->ctl);      /* EOF: it exits; reaped as any child */
            f->ctl = -1;
            f->retired = 1;
            f->empty_since = 0;
        }
    }
}

int ph_factory_running(int env_index)
{
    /* current[ncurrent - 1] is the multiplexers' */
    return env_index >= 0 && env_index < ncurrent - 1
           && current[env_index].pid != 0;
}

void ph_factory_tidy(void)
{
    factory *f;

    retire_idle();
    ph_blank_tidy();

    for (f = older; f; f = f->next) {
        if (f->ctl >= 0 && !has_children(f)) {
            close(f->ctl);      /* EOF: it exits; reaped as any child */
            f->ctl = -1;
        }
    }
}

void ph_factory_close_in_child(void)
{
    factory *f;
    int i;

    for (i = 0; i < ncurrent; i++) {
        if (current[i].ctl >= 0) {
            close(current[i].ctl);
            current[i].ctl = -1;
        }
    }
    for (f = older; f; f = f->next) {
        if (f->ctl >= 0) {
            close(f->ctl);
            f->ctl = -1;
        }
    }
    ph_blank_close_in_child();
}
