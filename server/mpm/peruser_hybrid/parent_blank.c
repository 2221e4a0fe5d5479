/*
 * parent_blank.c -- the parent's reserve of blank factories (issue 13,
 * cold start; ph_factory.h draws the protocol, factory_blank.c the blank
 * itself).
 *
 * A cold environment's first request used to wait for a whole httpd start
 * of its factory.  A blank has done every part of that start no
 * environment decides (exec, linking, httpd's RNG, a first configuration
 * pass, the modules' loading) and waits; a cold environment takes one and
 * it reads only that environment's file.  Each blank serves one
 * environment, then is its factory for good: every environment's factory
 * is still its own exec (its own address-space layout, stack canary and
 * RNG state).  A zygote that forks a factory per environment from one
 * started image would share those between tenants, so it is not done.
 *
 * The policy.  At most FactoryReserve blanks of the current generation.
 * None is started until a cold start has happened in the running server
 * (after the start-up forks) for an environment that starts on demand
 * (MinProcessors 0: the others start with the server and stay warm): each
 * such cold start tops the reserve up, after its processor was forked, so
 * a burst of cold tenants finds blanks.  A
 * blank unused for BLANK_IDLE is stopped, so a server where nothing is
 * cold-starting holds none (the whole server's memory at rest, issue 13,
 * is unchanged).  A blank that does not say WAITING within BLANK_START, or
 * exits before it is used, is stopped and the reserve is not topped up
 * again before BLANK_BACKOFF: never a start in a loop.  A graceful
 * restart stops them all: a blank of an earlier generation, with that
 * generation's modules and doorbells, is never assigned.
 *
 * Trust: a blank is root and as trusted as a factory; the parent believes
 * nothing from it but WAITING here, and READY / SPAWNED as from any
 * factory (parent_factory.c, which also falls back to exec'ing the
 * environment's factory if an assigned blank fails).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpd.h"
#include "apr_strings.h"
#include "http_config.h"
#include "http_log.h"
#include "http_main.h"

#include "doorbell.h"
#include "ph_config.h"
#include "ph_envconf.h"
#include "ph_factory.h"
#include "ph_log.h"
#include "ph_parent.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

#define BLANK_IDLE      apr_time_from_sec(10)
#define BLANK_START     apr_time_from_sec(30)
#define BLANK_BACKOFF   apr_time_from_sec(10)
#define MAX_RESERVE     64      /* FactoryReserve's own bound */

typedef struct blank {
    pid_t pid;                  /* 0: none */
    int ctl;                    /* parent's end of its control socket */
    int bells;                  /* doorbells it was started for */
    int waiting;                /* said WAITING */
    apr_time_t since;           /* launched, then WAITING */
} blank;

/* This generation's reserve (the module's statics: httpd reloads it each
 * generation, and every blank is stopped before that). */
static blank reserve[MAX_RESERVE];
static apr_time_t backoff_until;
static int running;             /* the main loop runs: start-up is over */

static int in_use(void)
{
    return ph_conf.factory_reserve > 0 && ph_factory_in_use()
           && ph_envconf_files_in_use() && ph_envconf_blank_path()
           && 2 + ph_doorbells_count() <= PH_BLANK_MAX_FDS;
}

static void forget(blank *b)
{
    if (b->pid && b->ctl >= 0) {
        close(b->ctl);
    }
    b->ctl = -1;
    b->pid = 0;
    b->waiting = 0;
}

/* Killed while still our unreaped child (its pid cannot be another's). */
static void stop(blank *b)
{
    if (b->pid > 0) {
        kill(b->pid, SIGKILL);
    }
    forget(b);
}

void ph_blank_generation_start(void)
{
    int i;

    for (i = 0; i < MAX_RESERVE; i++) {
        reserve[i].pid = 0;
        reserve[i].ctl = -1;
        reserve[i].waiting = 0;
    }
    backoff_until = 0;
    running = 0;
}

/* Read what b said: WAITING, or EOF (it died; reaped later). */
static void listen_to(blank *b)
{
    ph_factory_msg m;
    ssize_t n = -1;

    while (b->pid && b->ctl >= 0
           && (n = recv(b->ctl, &m, sizeof(m), MSG_DONTWAIT)) != 0) {
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return;     /* EAGAIN: nothing more */
        }
        if (n == (ssize_t)sizeof(m) && m.magic == PH_FACTORY_MSG_MAGIC
            && m.kind == PH_FACTORY_WAITING && !b->waiting) {
            b->waiting = 1;
            b->since = apr_time_now();
        }
    }
    if (b->pid && b->ctl >= 0 && n == 0) {
        /* It exited (or is exiting): never taken now, and its pid kept
         * until ph_blank_reaped, which says so and backs off, so that a
         * blank that cannot start is not started again at every cold
         * start. */
        close(b->ctl);
        b->ctl = -1;
        b->waiting = 0;
    }
}

static void launch(blank *b)
{
    ph_retained *r = ph_retained_state;
    apr_array_header_t *fds;
    apr_pool_t *p;
    char *spec;
    int sv[2], devnull, rv, i, bells = ph_doorbells_count();
    size_t len;

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        return;
    }
    if ((devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
        close(sv[0]);
        close(sv[1]);
        return;
    }
    apr_pool_create(&p, NULL);
    /* 3: the control socket; 4 .. 5 + m: where ASSIGN puts X's channel,
     * answer channel and the doorbells (held until then by /dev/null) */
    fds = apr_array_make(p, 3 + bells, sizeof(int));
    APR_ARRAY_PUSH(fds, int) = sv[1];
    for (i = 0; i < 2 + bells; i++) {
        APR_ARRAY_PUSH(fds, int) = devnull;
    }
    /* padded: ASSIGN's spec is written over it in place */
    spec = apr_palloc(p, PH_BLANK_SPEC_ROOM);
    len = (size_t)apr_snprintf(spec, PH_BLANK_SPEC_ROOM, "blank gen=%d "
                               "bells=%d", (int)r->mpm->my_generation, bells);
    memset(spec + len, ' ', PH_BLANK_SPEC_ROOM - 1 - len);
    spec[PH_BLANK_SPEC_ROOM - 1] = '\0';
    rv = ph_factory_spawn(p, fds, ph_factory_argv(p, ph_envconf_blank_path(),
                                                  "(blank)"),
                          spec, &b->pid);
    close(sv[1]);
    close(devnull);
    apr_pool_destroy(p);
    if (rv != 0) {
        close(sv[0]);
        b->pid = 0;
        backoff_until = apr_time_now() + BLANK_BACKOFF;
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, ap_server_conf,
                     PHLOGNO(00663) "cannot start a blank factory; none "
                     "for %ld s", (long)apr_time_sec(BLANK_BACKOFF));
        return;
    }
    b->ctl = sv[0];
    b->bells = bells;
    b->waiting = 0;
    b->since = apr_time_now();
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf, PHLOGNO(00664)
                 "blank factory started, pid %ld", (long)b->pid);
}

void ph_blank_top_up(void)
{
    int i;

    if (!running || !in_use() || apr_time_now() < backoff_until) {
        return;
    }
    for (i = 0; i < ph_conf.factory_reserve && i < MAX_RESERVE; i++) {
        if (!reserve[i].pid) {
            launch(&reserve[i]);
        }
    }
}

static int send_assign(int ctl, const char *spec, const char *path,
                       const apr_array_header_t *fds)
{
    ph_factory_assign a;
    struct iovec iov = { &a, sizeof(a) };
    struct msghdr mh;
    struct cmsghdr *c;
    size_t bytes = sizeof(int) * (size_t)fds->nelts;
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * PH_BLANK_MAX_FDS)];
    } control;

    if (strlen(spec) >= sizeof(a.spec) || strlen(path) >= sizeof(a.path)
        || fds->nelts > PH_BLANK_MAX_FDS) {
        return ENAMETOOLONG;
    }
    memset(&a, 0, sizeof(a));
    a.magic = PH_FACTORY_MSG_MAGIC;
    a.kind = PH_FACTORY_ASSIGN;
    a.nfds = fds->nelts;
    strcpy(a.spec, spec);
    strcpy(a.path, path);
    memset(&mh, 0, sizeof(mh));
    memset(&control, 0, sizeof(control));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control.buf;
    mh.msg_controllen = CMSG_SPACE(bytes);
    c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(bytes);
    memcpy(CMSG_DATA(c), fds->elts, bytes);
    return sendmsg(ctl, &mh, MSG_NOSIGNAL) == (ssize_t)sizeof(a) ? 0 : errno;
}

int ph_blank_take(const char *spec, const char *path,
                  const apr_array_header_t *fds, pid_t *pid, int *ctl)
{
    blank *b = NULL;
    int i, rv;

    if (!in_use()) {
        return -1;
    }
    /* A waiting one, else the one started first (further on than an
     * exec now would be); ASSIGN waits in its socket until it reads it. */
    for (i = 0; i < MAX_RESERVE; i++) {
        blank *c = &reserve[i];
        listen_to(c);
        if (c->pid && c->ctl >= 0 && c->bells + 2 == fds->nelts
            && (!b || (c->waiting && !b->waiting)
                || (c->waiting == b->waiting && c->since < b->since))) {
            b = c;
        }
    }
    if (!b) {
        return -1;
    }
    if ((rv = send_assign(b->ctl, spec, path, fds)) != 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, ap_server_conf,
                     PHLOGNO(00665) "cannot assign the blank factory pid "
                     "%ld: stopped", (long)b->pid);
        stop(b);
        return -1;
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf, PHLOGNO(00666)
                 "%s: the blank factory pid %ld (%s) takes it", spec,
                 (long)b->pid, b->waiting ? "waiting" : "still starting");
    *pid = b->pid;
    *ctl = b->ctl;
    b->ctl = -1;        /* the environment's factory's now */
    forget(b);
    return 0;
}

void ph_blank_tidy(void)
{
    apr_time_t now = apr_time_now();
    int i;

    running = 1;
    for (i = 0; i < MAX_RESERVE; i++) {
        blank *b = &reserve[i];
        if (!b->pid) {
            continue;
        }
        listen_to(b);
        if (b->pid && !b->waiting && now - b->since > BLANK_START) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ap_server_conf,
                         PHLOGNO(00667) "the blank factory pid %ld did not "
                         "get ready in %ld s: stopped, none for %ld s",
                         (long)b->pid, (long)apr_time_sec(BLANK_START),
                         (long)apr_time_sec(BLANK_BACKOFF));
            stop(b);
            backoff_until = now + BLANK_BACKOFF;
        }
        else if (b->pid && b->waiting && now - b->since > BLANK_IDLE) {
            ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf,
                         PHLOGNO(00668) "the blank factory pid %ld was not "
                         "needed for %ld s: stopped", (long)b->pid,
                         (long)apr_time_sec(BLANK_IDLE));
            stop(b);
        }
    }
}

int ph_blank_reaped(pid_t pid, int status)
{
    int i;

    for (i = 0; i < MAX_RESERVE; i++) {
        if (reserve[i].pid == pid) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ap_server_conf,
                         PHLOGNO(00669) "the blank factory pid %ld exited "
                         "(status %d) before it was used; none for %ld s",
                         (long)pid, status, (long)apr_time_sec(BLANK_BACKOFF));
            forget(&reserve[i]);
            backoff_until = apr_time_now() + BLANK_BACKOFF;
            return 1;
        }
    }
    return 0;
}

void ph_blank_generation_end(void)
{
    int i;

    for (i = 0; i < MAX_RESERVE; i++) {
        stop(&reserve[i]);
    }
    running = 0;
}

void ph_blank_close_in_child(void)
{
    int i;

    for (i = 0; i < MAX_RESERVE; i++) {
        if (reserve[i].pid && reserve[i].ctl >= 0) {
            close(reserve[i].ctl);
            reserve[i].ctl = -1;
        }
    }
}
