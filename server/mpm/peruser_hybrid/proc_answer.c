/*
 * proc_answer.c -- a processor's answer thread: httpd's own 503 for a
 * connection that waited ProcessorWaitTimeout for a worker of this
 * environment in vain.
 *
 * Such a connection cannot wait for a worker (that is what it did), yet
 * its answer must be the vhost's: its ErrorDocument (a page, a URL, a
 * CGI), its access-log line in its format, its error-log line, written by
 * this environment's user -- never by the multiplexer, which holds no
 * tenant's logs or files.  So the multiplexer sends it over the
 * environment's second channel, the answer channel (mux_main.c,
 * drop_waiting), and one thread per processor, kept for this alone, runs
 * httpd on it: the request head is read without waiting (the
 * PH_CHAN_F_HEAD_EXPIRED filter: the multiplexer saw the whole head
 * already), the guard checks its vhost as for any request (421 for
 * another environment's), and ph_answer_refuse() answers 503 with
 * Retry-After from post_read_request, so that ap_die applies the
 * ErrorDocument and the log hooks run as stock.  The connection is not
 * kept alive.
 *
 * Bounds.  The listener takes a connection from the answer channel only
 * while this thread has none: one connection at a time per processor,
 * one thread, one pool, whatever the flood.  What waits beyond is in the
 * kernel, in the answer channel, whose send buffer the parent makes small
 * (channel.h: about 20 connections per environment); a multiplexer that
 * finds it full answers with its own fixed 503 and PH00361 (mux_drops.c).
 * Real work never waits for this thread: workers and the work queue are
 * untouched, and the thread is counted nowhere in the capacity the
 * multiplexers see.  A connection this thread parks (its answer not yet
 * written, a lingering close) goes back to the listener as any other, and
 * a worker finishes writing it when it is writable.  The thread is under
 * ExpireTimeout like a worker (busy_since_ms[nworkers]).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "httpd.h"
#include "apr_strings.h"
#include "http_log.h"
#include "http_main.h"
#include "http_protocol.h"
#include "scoreboard.h"

#include "channel.h"
#include "ph_clock.h"
#include "ph_config.h"
#include "ph_log.h"
#include "ph_magic.h"
#include "proc.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

static void *APR_THREAD_FUNC answer_main(apr_thread_t *thd, void *data)
{
    proc_state *ps = data;

    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);

    for (;;) {
        proc_conn *pc;

        pthread_mutex_lock(&ps->answer_lock);
        while (!ps->answer_next && !ps->answer_exit) {
            pthread_cond_wait(&ps->answer_cv, &ps->answer_lock);
        }
        pc = ps->answer_next;
        ps->answer_next = NULL;
        pthread_mutex_unlock(&ps->answer_lock);
        if (!pc) {
            break;
        }
        atomic_store(&ps->busy_since_ms[ps->nworkers], ph_now_ms());
        ph_proc_conn_run(ps, pc, thd, PH_ANSWER_THREAD);
        atomic_store(&ps->busy_since_ms[ps->nworkers], 0);
        pthread_mutex_lock(&ps->answer_lock);
        ps->answer_busy = 0;
        pthread_mutex_unlock(&ps->answer_lock);
        ph_proc_wake_listener(ps);      /* it may take the next one */
        if (ps->answer_sb >= ps->nworkers) {
            /* busy while answering; otherwise not shown as a worker:
             * it is no capacity for requests (mod_status IdleWorkers) */
            ap_update_child_status_from_indexes(ps->slot, ps->answer_sb,
                                                SERVER_DEAD, NULL);
        }
    }
    apr_thread_exit(thd, APR_SUCCESS);
    return NULL;
}

int ph_answer_start(proc_state *ps, apr_threadattr_t *attr,
                    apr_pool_t *pchild)
{
    apr_status_t rv;

    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);

    if (ps->answer_fd < 0) {
        return 0;
    }
    ps->answer_sb = ps->nworkers < ph_conf.thread_limit ? ps->nworkers
                                                         : ps->nworkers - 1;
    rv = ap_thread_create(&ps->answer_thread, attr, answer_main, ps,
                          pchild);
    if (rv != APR_SUCCESS) {
        /* Without it the multiplexers answer these themselves (the
         * channel fills): close our end so they know at once. */
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, ap_server_conf,
                     PHLOGNO(00363) "environment %s: cannot create the "
                     "answer thread; connections whose wait for a worker "
                     "is over are answered by the multiplexers",
                     ps->env->name);
        ps->answer_thread = NULL;
        ps->answer_fd = -1;
        return rv;
    }
    return 0;
}

int ph_answer_wanted(proc_state *ps)
{
    int free_slot;

    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);

    if (ps->answer_fd < 0 || !ps->answer_thread
        || atomic_load(&ps->stopping)) {
        return 0;
    }
    pthread_mutex_lock(&ps->answer_lock);
    free_slot = !ps->answer_busy;
    pthread_mutex_unlock(&ps->answer_lock);
    return free_slot;
}

int ph_answer_take(proc_state *ps)
{
    ph_chan_msg msg;
    proc_conn *pc;
    int fd, rv;

    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);

    if (!ph_answer_wanted(ps)) {
        return 0;
    }
    rv = ph_proc_receive_checked(ps, ps->answer_fd, "answer channel", &fd,
                                 &msg);
    if (rv) {
        return rv == PH_CHANNEL_EOF ? PH_CHANNEL_EOF : 0;
    }
    /* Whatever the message says: from this channel, a 503 only, and its
     * head is read without waiting for the client. */
    msg.flags |= PH_CHAN_F_WAIT_OVER | PH_CHAN_F_HEAD_EXPIRED;
    if (!(pc = ph_proc_conn_new(ps, fd, &msg))) {
        return 0;
    }
    pthread_mutex_lock(&ps->answer_lock);
    ps->answer_busy = 1;
    ps->answer_next = pc;
    pthread_cond_signal(&ps->answer_cv);
    pthread_mutex_unlock(&ps->answer_lock);
    return 0;
}

void ph_answer_stop(proc_state *ps)
{
    apr_status_t trv;

    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);

    if (!ps->answer_thread) {
        return;
    }
    pthread_mutex_lock(&ps->answer_lock);
    ps->answer_exit = 1;
    pthread_cond_broadcast(&ps->answer_cv);
    pthread_mutex_unlock(&ps->answer_lock);
    apr_thread_join(&trv, ps->answer_thread);
    ps->answer_thread = NULL;
}

int ph_answer_refuse(request_rec *r)
{
    long secs = ph_conf.wait_timeout_s > 0 ? ph_conf.wait_timeout_s : 1;

    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, PHLOGNO(00362)
                  "no worker of environment %s became free in the time "
                  "allowed (ProcessorWaitTimeout %ld s, less as the "
                  "environment fills up): answered 503 "
                  "(Retry-After: %ld); consider raising its MaxProcessors "
                  "or ThreadsPerChild",
                  ph_env_of_server(r->server)
                      ? ph_env_of_server(r->server)->name : "?",
                  (long)ph_conf.wait_timeout_s, secs);
    apr_table_setn(r->err_headers_out, "Retry-After",
                   apr_psprintf(r->pool, "%ld", secs));
    r->connection->keepalive = AP_CONN_CLOSE;
    return HTTP_SERVICE_UNAVAILABLE;
}
