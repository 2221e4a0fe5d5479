/*
 * proc_main.c -- a processor child: become the environment's user, start
 * the worker threads, run the listener until the channel closes and the
 * last connection is done, then exit.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "httpd.h"
#include "ap_mpm.h"
#include "apr_strings.h"
#include "http_config.h"
#include "http_log.h"
#include "http_main.h"
#include "mpm_common.h"
#include "scoreboard.h"

#include "apr_signal.h"
#include "ph_alloc.h"
#include "ph_cgroup.h"
#include "ph_child.h"
#include "ph_clock.h"
#include "ph_config.h"
#include "ph_log.h"
#include "ph_magic.h"
#include "ph_numa.h"
#include "ph_parent.h"
#include "ph_segment.h"
#include "ph_status.h"
#include "proc.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

typedef struct worker_arg {
    proc_state *ps;
    int index;
} worker_arg;

void ph_proc_worker_idle(proc_state *ps)
{
    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);
    if (!ps->child_rec) {
        return;
    }
    atomic_fetch_add(&ps->child_rec->idle_threads, 1);
    atomic_fetch_add(&ps->env_rec->idle_workers, 1);    /* display */
    /* Our room grows with every idle worker: publish it before anyone is
     * told to look. */
    ph_proc_publish_room(ps, ph_proc_room(ps) + 1);
    /* After counting ourselves idle, look for waiters: a multiplexer
     * counts a connection as waiting before it looks at capacity, so one
     * of the two always sees the other (and nobody waits for nothing). */
    ph_proc_ring_doorbell(ps);
}

void ph_proc_worker_busy(proc_state *ps)
{
    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);
    if (ps->child_rec) {
        atomic_fetch_sub(&ps->child_rec->idle_threads, 1);
        atomic_fetch_sub(&ps->env_rec->idle_workers, 1);
    }
}

static void *APR_THREAD_FUNC worker_main(apr_thread_t *thd, void *data)
{
    worker_arg *wa = data;
    proc_state *ps = wa->ps;

    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);

    ap_update_child_status_from_indexes(ps->slot, wa->index, SERVER_READY,
                                        NULL);
    for (;;) {
        proc_conn *pc;

        ph_proc_worker_idle(ps);
        pthread_mutex_lock(&ps->work_lock);
        ps->idle_workers++;
        if (atomic_load(&ps->channel_paused)) {
            /* The listener stopped taking connections for lack of an idle
             * worker; there is one now. */
            ph_proc_wake_listener(ps);
        }
        while (!ps->work_head && !ps->workers_exit) {
            ph_idle_stack_wait(&ps->idle, wa->index, &ps->work_lock);
        }
        ph_idle_stack_leave(&ps->idle, wa->index);
        ps->idle_workers--;
        pc = ps->work_head;
        if (!pc) {
            pthread_mutex_unlock(&ps->work_lock);
            ph_proc_worker_busy(ps);
            break;
        }
        ps->work_head = pc->work_next;
        if (!ps->work_head) {
            ps->work_tail = NULL;
        }
        ps->work_len--;
        pthread_mutex_unlock(&ps->work_lock);
        ph_proc_worker_busy(ps);

        if (ps->child_rec) {
            atomic_fetch_add(&ps->child_rec->busy_threads, 1);
        }
        atomic_store(&ps->busy_since_ms[wa->index], ph_now_ms());
        ph_proc_conn_run(ps, pc, thd, wa->index);
        atomic_store(&ps->busy_since_ms[wa->index], 0);
        if (ps->child_rec) {
            atomic_fetch_sub(&ps->child_rec->busy_threads, 1);
        }
        ap_update_child_status_from_indexes(ps->slot, wa->index,
                                            SERVER_READY, NULL);
    }
    ap_update_child_status_from_indexes(ps->slot, wa->index, SERVER_DEAD,
                                        NULL);
    apr_thread_exit(thd, APR_SUCCESS);
    return NULL;
}

/* The parent retires a processor (IdleTimeout, MaxSpareProcessors) with
 * AP_SIG_GRACEFUL: finish what it holds, take nothing new, exit. */
static proc_state *retire_state;

static void retire_on_signal(int sig)
{
    uint64_t one = 1;
    ssize_t ignored;

    (void)sig;
    if (retire_state) {
        atomic_store(&retire_state->stopping, 1);
        ignored = write(retire_state->wake_fd, &one, sizeof(one));
        (void)ignored;
    }
}

static int state_init(proc_state *ps, int slot, ph_env *env,
                      apr_pool_t *pchild)
{
    PH_CHECK_MAGIC(env, PH_ENV_MAGIC);
    memset(ps, 0, sizeof(*ps));
    ps->magic = PROC_STATE_MAGIC;
    ps->slot = slot;
    ps->env = env;
    ps->chan_fd = env->chan[1];
    ps->answer_fd = env->answer[1];
    ps->child_rec = ph_segment_child_stats(slot);
    ps->env_rec = ph_segment_env_stats(env->index);
    if (!ps->env_rec) {
        ps->child_rec = NULL;
    }
    ps->nworkers = (int)ph_conf.threads_per_child;
    ps->max_free_pools = ps->nworkers * 2;
    ps->conn_parent = pchild;
    ps->busy_since_ms = apr_pcalloc(pchild, sizeof(*ps->busy_since_ms)
                                            * (ps->nworkers + 1));
    ps->conns_limited = ap_max_requests_per_child > 0;
    ps->conns_left = ap_max_requests_per_child;
    ps->free_pools = apr_pcalloc(pchild, sizeof(apr_pool_t *)
                                         * ps->max_free_pools);
    pthread_mutex_init(&ps->work_lock, NULL);
    ph_idle_stack_init(&ps->idle, ps->nworkers,
                       apr_pcalloc(pchild, sizeof(int) * (ps->nworkers + 1)),
                       apr_pcalloc(pchild, (apr_size_t)ps->nworkers + 1),
                       apr_pcalloc(pchild, sizeof(pthread_cond_t)
                                               * (ps->nworkers + 1)));
    pthread_mutex_init(&ps->park_lock, NULL);
    pthread_mutex_init(&ps->pool_lock, NULL);
    pthread_mutex_init(&ps->answer_lock, NULL);
    pthread_cond_init(&ps->answer_cv, NULL);
    atomic_init(&ps->stopping, 0);
    atomic_init(&ps->channel_paused, 0);
    atomic_init(&ps->live_conns, 0);
    if ((ps->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        return errno;
    }
    if ((ps->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
        return errno;
    }
    return 0;
}

int ph_proc_main(int slot, ph_env *env, apr_pool_t *pchild)
{
    apr_threadattr_t *attr;
    apr_thread_t **threads;
    worker_arg *args;
    proc_state ps;
    apr_status_t rv;
    char *what;
    long long confine_us;
    int i;

    PH_CHECK_MAGIC(env, PH_ENV_MAGIC);

    ap_reopen_scoreboard(pchild, NULL, 0);

    what = apr_psprintf(pchild, "processor of environment %s", env->name);
    /* Other environments' vhosts and logs, out of reach: while still root
     * (their log directories may be closed to our user), and before any
     * module's child_init sees the configuration. */
    confine_us = ph_cpu_us();
    ph_close_foreign_logs(env, pchild);
    ph_confine_vhosts(env, pchild);
    confine_us = ph_cpu_us() - confine_us;
    if (ph_cgroup_join_self(slot, env, what)) {
        return PH_EXIT_ENV_SETUP;
    }
    /* After the cgroups (joining a cpuset resets the affinity), as root
     * (a negative NiceLevel needs it), before any thread starts. */
    ph_numa_bind_self(slot, PH_CHILD_PROC, env, what);
    ph_nice_apply(what, env->nice_level);
    if (ph_privs_drop(what, env->user_name, env->uid, env->gid,
                      env->chroot_dir)) {
        return PH_EXIT_ENV_SETUP;
    }
    /* After the binding, before any thread of its own. */
    ph_alloc_child_init(slot, what);
    if ((rv = state_init(&ps, slot, env, pchild)) != 0) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, ap_server_conf,
                     PHLOGNO(00420) "%s: cannot set up", what);
        return APEXIT_CHILDSICK;
    }
    ph_guard_set_env(env);
    ph_status_set_viewer(env);
    ph_guard_set_slot(slot);
    ph_guard_set_stopping_flag(&ps.stopping);
    retire_state = &ps;
    apr_signal(AP_SIG_GRACEFUL, retire_on_signal);
    ap_run_child_init(pchild, ap_server_conf);

    apr_threadattr_create(&attr, pchild);
    apr_threadattr_detach_set(attr, 0);
    if (ap_thread_stacksize) {
        apr_threadattr_stacksize_set(attr, ap_thread_stacksize);
    }
    /* Visible before any worker counts itself idle and rings the
     * doorbell: multiplexers count idle threads of live children only. */
    ph_segment_child_ready(slot, (unsigned)ps.nworkers);
    ph_proc_publish_room(&ps, ps.nworkers);
    threads = apr_pcalloc(pchild, sizeof(*threads) * ps.nworkers);
    args = apr_pcalloc(pchild, sizeof(*args) * ps.nworkers);
    for (i = 0; i < ps.nworkers; i++) {
        args[i].ps = &ps;
        args[i].index = i;
        rv = ap_thread_create(&threads[i], attr, worker_main, &args[i],
                              pchild);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_ALERT, rv, ap_server_conf,
                         PHLOGNO(00421) "%s: cannot create worker thread %d",
                         what, i);
            ps.nworkers = i;
            break;
        }
    }
    if (ps.nworkers > 0) {
        ph_answer_start(&ps, attr, pchild);
    }
    ph_retained_state->mpm->mpm_state = AP_MPMQ_RUNNING;
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf, PHLOGNO(00422)
                 "%s ready in slot %d, pid %" APR_PID_T_FMT ", uid %ld, "
                 "%d workers", what, slot, getpid(), (long)getuid(),
                 ps.nworkers);
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf, PHLOGNO(00194)
                 "%s: %" APR_INT64_T_FMT " us of CPU from its fork to ready, "
                 "%" APR_INT64_T_FMT " us of it making other environments' "
                 "vhosts and logs inert", what, (apr_int64_t)ph_cpu_us(),
                 (apr_int64_t)confine_us);

    if (ps.nworkers > 0) {
        ph_proc_listener_run(&ps);
    }

    if (ps.expired) {
        /* Threads stuck past ExpireTimeout cannot be joined: leave
         * without running cleanups that might wait for them. */
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ap_server_conf,
                     PHLOGNO(00424) "%s in slot %d exiting with %d stuck "
                     "thread(s)", what, slot, ps.expired);
        _exit(0);
    }
    pthread_mutex_lock(&ps.work_lock);
    ps.workers_exit = 1;
    ph_idle_stack_wake_all(&ps.idle);
    pthread_mutex_unlock(&ps.work_lock);
    for (i = 0; i < ps.nworkers; i++) {
        apr_status_t trv;
        apr_thread_join(&trv, threads[i]);
    }
    ph_answer_stop(&ps);
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf, PHLOGNO(00423)
                 "%s in slot %d exiting", what, slot);
    retire_state = NULL;
    ps.magic = 0;       /* every thread that used it has been joined */
    return 0;
}
