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
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "httpd.h"
#include "ap_mpm.h"
#include "apr_signal.h"
#include "apr_thread_proc.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"
#include "mpm_common.h"
#include "scoreboard.h"

#include "ph_child.h"
#include "ph_config.h"
#include "ph_env.h"
#include "ph_env_scoreboard.h"
#include "ph_factory.h"
#include "ph_log.h"
#include "ph_parent.h"
#include "ph_segment.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

int ph_factory_is_me(void)
{
    return getenv(PH_FACTORY_ENVVAR) != NULL
           && ap_exists_config_define(PH_FACTORY_DEFINE);
}

typedef struct factory_spec {
    int env_index;
    char name[256];
    int gen;
    unsigned long ino;
} factory_spec;

static int parse_spec(factory_spec *sp)
{
    const char *text = getenv(PH_FACTORY_ENVVAR);

    memset(sp, 0, sizeof(*sp));
    return text && sscanf(text, "env=%d name=%255s gen=%d ino=%lu",
                          &sp->env_index, sp->name, &sp->gen, &sp->ino) == 4
           ? 0 : -1;
}

ph_env *ph_factory_env(void)
{
    factory_spec sp;
    ph_env *env;

    if (!ph_factory_is_me() || parse_spec(&sp) != 0
        || !(env = ph_env_by_index(sp.env_index))
        || strcmp(env->name, sp.name) != 0) {
        return NULL;
    }
    return env;
}

/* Only X's channels and doorbell, at the numbers the parent put them,
 * close-on-exec again as they were made (dup2 cleared it): what a
 * processor execs (a CGI) must not inherit them, or it could take X's
 * connections off the channel behind httpd's back. */
static void adopt_descriptors(ph_env *mine)
{
    int i;

    for (i = 0; i < ph_envs->nelts; i++) {
        ph_env *env = APR_ARRAY_IDX(ph_envs, i, ph_env *);
        env->chan[0] = env->chan[1] = env->doorbell = -1;
        env->answer[0] = env->answer[1] = -1;
    }
    mine->chan[1] = PH_FACTORY_FD_CHANNEL;
    mine->doorbell = PH_FACTORY_FD_DOORBELL;
    mine->answer[1] = PH_FACTORY_FD_ANSWER;
    for (i = PH_FACTORY_FD_CHANNEL; i <= PH_FACTORY_FD_ANSWER; i++) {
        fcntl(i, F_SETFD, FD_CLOEXEC);
    }
    ph_heritage_now.lifeline_fd = ph_heritage_now.lifeline_wr = -1;
    ph_heritage_now.wake_rd = ph_heritage_now.wake_wr = -1;
}

static int say(int ctl, ph_factory_kind kind, int slot, int value)
{
    ph_factory_msg m = { PH_FACTORY_MSG_MAGIC, (uint32_t)kind, slot, value };

    return send(ctl, &m, sizeof(m), MSG_NOSIGNAL) == (ssize_t)sizeof(m)
           ? 0 : -1;
}

/* A factory shows as such in ps/top (comm); its processors show the name
 * httpd had, like every other child. */
#define FACTORY_COMM "apache2-factory"
static char httpd_comm[16];

static void name_factory(void)
{
    if (prctl(PR_GET_NAME, httpd_comm) != 0) {
        strcpy(httpd_comm, "httpd");
    }
    prctl(PR_SET_NAME, FACTORY_COMM);
}

/* Fork X's processor for slot.  A child forks it and exits at once, so
 * that it is re-parented to the parent (a child subreaper), which owns
 * processors: it waits for them, signals them, counts them.  The pid
 * comes back through a pipe.  Returns the pid, or -1 with errno. */
static pid_t fork_processor(ph_env *env, int slot, int ctl)
{
    ph_retained *r = ph_retained_state;
    int pfd[2], status, err = 0;
    pid_t mid, pid = -1;

    if (pipe2(pfd, O_CLOEXEC) != 0) {
        return -1;
    }
    ph_scoreboard_slot_prepare(slot, r->mpm->my_generation);
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
            ph_child_main(slot, PH_CHILD_PROC, env, -1);
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
        if (m.slot < 0 || m.slot >= (int32_t)ph_conf.server_limit) {
            say(ctl, PH_FACTORY_FAILED, m.slot, EINVAL);
            continue;
        }
        pid = fork_processor(env, m.slot, ctl);
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
    int ctl = PH_FACTORY_FD_CONTROL, rv;
    factory_spec sp;
    ph_env *env;

    if (parse_spec(&sp) != 0 || !(env = ph_factory_env())) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, PHLOGNO(00530)
                     "processor factory: %s=\"%s\" names no environment of "
                     "this configuration", PH_FACTORY_ENVVAR,
                     getenv(PH_FACTORY_ENVVAR));
        return DONE;
    }
    name_factory();
    apr_signal(SIGHUP, SIG_IGN);
    apr_signal(AP_SIG_GRACEFUL, SIG_IGN);
    apr_signal(AP_SIG_GRACEFUL_STOP, SIG_IGN);
    apr_signal(SIGPIPE, SIG_IGN);

    r->mpm->my_generation = (ap_generation_t)sp.gen;
    ph_heritage_now.generation = (ap_generation_t)sp.gen;
    /* X's own scoreboard, never a file another httpd could share: in
     * anonymous memory, or with a StatusEnvironment in a file only that
     * environment may read (env_scoreboard.c). */
    ap_scoreboard_fname = NULL;
    if ((rv = ph_env_scoreboard_create(pconf, env, (ap_generation_t)sp.gen))
        != 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, PHLOGNO(00534)
                     "processor factory of environment %s: cannot put its "
                     "scoreboard where StatusEnvironment %s reads it; "
                     "anonymous memory instead", env->name,
                     ph_conf.status_env);
    }
    if (ap_run_pre_mpm(s->process->pool, SB_SHARED) != OK) {
        return DONE;
    }
    ph_scoreboard_set_generation(r->mpm->my_generation);
    if (ph_segment_attach(pconf, env, sp.ino) != 0) {
        return DONE;
    }
    adopt_descriptors(env);
    r->mpm->mpm_state = AP_MPMQ_RUNNING;
    if (say(ctl, PH_FACTORY_READY, -1, 0) != 0) {
        return DONE;
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, PHLOGNO(00531)
                 "processor factory of environment %s ready, pid %ld",
                 env->name, (long)getpid());
    serve(env, ctl);
    r->mpm->mpm_state = AP_MPMQ_STOPPING;
    return DONE;
}
