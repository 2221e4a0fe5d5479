/*
 * proc_conn.c -- one connection's life in a processor child: creating the
 * conn_rec for a socket received from the channel, running httpd's
 * connection hooks on it, and deciding after each turn whether the
 * connection is parked (keep-alive, write completion, lingering close) or
 * finished.
 *
 * This is the event MPM's connection state machine, in our words: httpd's
 * HTTP/1 module processes one request per call and sets c->cs->state to
 * tell the MPM what to wait for next.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpd.h"
#include "apr_portable.h"
#include "http_connection.h"
#include "http_log.h"
#include "http_main.h"
#include "http_vhost.h"
#include "util_filter.h"
#include "mpm_common.h"

#include "ph_config.h"
#include "ph_log.h"
#include "ph_magic.h"
#include "ph_sock.h"
#include "proc.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

#define LINGER_MS 2000      /* read-and-discard window after shutdown */

static apr_pool_t *pool_get(proc_state *ps)
{
    apr_pool_t *p = NULL;
    apr_allocator_t *alloc;

    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);

    pthread_mutex_lock(&ps->pool_lock);
    if (ps->nfree_pools > 0) {
        p = ps->free_pools[--ps->nfree_pools];
    }
    pthread_mutex_unlock(&ps->pool_lock);
    if (p) {
        return p;
    }
    /* Each connection pool has an allocator of its own (no lock on the
     * hot path), but a parent: pchild.  Modules and APR-util take the
     * root of a request's pool for a process-lifetime pool: apr_dbm
     * (mod_dav_fs's lock database, mod_rewrite's dbm maps, ...) creates
     * its driver table there on first use and forgets it when that pool
     * goes.  A parentless pool would make the first connection's pool
     * that root, and the next connection after it ends would crash
     * (issue 9).  Creating and destroying a child of pchild from any
     * thread is safe: APR links and unlinks it under the mutex of the
     * parent's allocator, and pchild shares the global allocator, which
     * APR creates with a mutex. */
    if (apr_allocator_create(&alloc) != APR_SUCCESS) {
        return NULL;
    }
    apr_allocator_max_free_set(alloc, ap_max_mem_free);
    if (apr_pool_create_ex(&p, ps->conn_parent, NULL, alloc)
        != APR_SUCCESS) {
        apr_allocator_destroy(alloc);
        return NULL;
    }
    apr_allocator_owner_set(alloc, p);
    apr_pool_tag(p, "ph_conn");
    return p;
}

static void pool_put(proc_state *ps, apr_pool_t *p)
{
    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);
    apr_pool_clear(p);
    pthread_mutex_lock(&ps->pool_lock);
    if (ps->nfree_pools < ps->max_free_pools) {
        ps->free_pools[ps->nfree_pools++] = p;
        p = NULL;
    }
    pthread_mutex_unlock(&ps->pool_lock);
    if (p) {
        apr_pool_destroy(p);
    }
}

proc_conn *ph_proc_conn_new(proc_state *ps, int fd, const ph_chan_msg *msg)
{
    apr_pool_t *p = pool_get(ps);
    proc_conn *pc;

    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);

    if (!p) {
        close(fd);
        return NULL;
    }
    pc = apr_pcalloc(p, sizeof(*pc));
    pc->is_conn = 1;
    pc->magic = PROC_CONN_MAGIC;
    pc->fd = fd;
    pc->pool = p;
    pc->msg = *msg;
    pc->ka_timeout_ms = apr_time_as_msec(ap_server_conf->keep_alive_timeout);
    atomic_fetch_add(&ps->live_conns, 1);
    return pc;
}

void ph_proc_conn_destroy(proc_state *ps, proc_conn *pc)
{
    apr_pool_t *p = pc->pool;

    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);
    PH_CHECK_MAGIC(pc, PROC_CONN_MAGIC);

    if (pc->sock) {
        apr_socket_close(pc->sock);
    }
    else if (pc->fd >= 0) {
        close(pc->fd);
    }
    pc->magic = 0;
    pool_put(ps, p);
    if ((atomic_fetch_sub(&ps->live_conns, 1) == 1
         && atomic_load(&ps->stopping))
        || atomic_load(&ps->channel_paused)) {
        /* it may be waiting to exit, or for room to take connections */
        ph_proc_wake_listener(ps);
    }
}

static long conn_id(int slot, int thread_index)
{
    if (thread_index == PH_ANSWER_THREAD) {
        /* past every worker's id of every slot */
        return (long)ph_conf.server_limit * ph_conf.thread_limit + slot;
    }
    return (long)slot * ph_conf.thread_limit + thread_index;
}

/* Wrap the received descriptor for APR and create the conn_rec. */
static int conn_create(proc_state *ps, proc_conn *pc, apr_thread_t *thd,
                       int thread_index)
{
    conn_rec *c;
    int rc;

    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);
    PH_CHECK_MAGIC(pc, PROC_CONN_MAGIC);

    /* A client that reset the connection after sending part of a head is
     * still read and logged, as stock httpd does, under the address the
     * multiplexer's accept() gave (ph_sock.h). */
    if (ph_sock_wrap(&pc->sock, &pc->fd, &pc->msg.peer, pc->pool)
        != APR_SUCCESS) {
        pc->sock = NULL;
        return 0;       /* client already gone */
    }
    pc->ba = apr_bucket_alloc_create(pc->pool);
    ap_create_sb_handle(&pc->sbh, pc->pool, ps->slot,
                        thread_index == PH_ANSWER_THREAD ? ps->answer_sb
                                                         : thread_index);
    c = ap_run_create_connection(pc->pool, ap_server_conf, pc->sock,
                                 conn_id(ps->slot, thread_index), pc->sbh,
                                 pc->ba);
    if (!c) {
        return 0;
    }
    pc->c = c;
    c->cs = &pc->pub;
    c->current_thread = thd;
    ph_guard_bind_conn(c, pc);
    ap_update_vhost_given_ip(c);
    ph_guard_routed_base(c, &pc->msg);
    rc = ap_pre_connection(c, pc->sock);
    if (rc != OK && rc != DONE) {
        ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, c, PHLOGNO(00401)
                      "pre_connection hooks refused the connection");
        pc->pub.state = CONN_STATE_LINGER;
        return 1;
    }
    if (pc->msg.flags & PH_CHAN_F_HEAD_EXPIRED) {
        ph_expired_add_filter(c);   /* the client's time is over */
    }
    ph_handback_add_filter(ps, pc);
    pc->pub.state = CONN_STATE_PROCESSING;
    pc->pub.sense = CONN_SENSE_DEFAULT;
    return 1;
}

static uint32_t events_for_sense(const proc_conn *pc, uint32_t dflt)
{
    PH_CHECK_MAGIC(pc, PROC_CONN_MAGIC);
    if (pc->pub.sense == CONN_SENSE_WANT_READ) {
        return EPOLLIN;
    }
    if (pc->pub.sense == CONN_SENSE_WANT_WRITE) {
        return EPOLLOUT;
    }
    return dflt;
}

/* Run the process_connection hooks once and normalise the state they
 * leave, as the event MPM does. */
static void process_once(proc_conn *pc)
{
    conn_rec *c = pc->c;
    int rc;

    PH_CHECK_MAGIC(pc, PROC_CONN_MAGIC);

    pc->pub.state = CONN_STATE_PROCESSING;
    rc = ap_run_process_connection(c);
    if (rc == DONE) {
        rc = OK;
    }
    if (rc == OK) {
        if (pc->pub.state == CONN_STATE_PROCESSING) {
            pc->pub.state = CONN_STATE_LINGER;
        }
        else if (pc->pub.state == CONN_STATE_KEEPALIVE) {
            pc->pub.state = CONN_STATE_WRITE_COMPLETION;
        }
    }
    if (rc != OK
        || (pc->pub.state != CONN_STATE_LINGER
            && pc->pub.state != CONN_STATE_ASYNC_WAITIO
            && pc->pub.state != CONN_STATE_WRITE_COMPLETION)
        || c->aborted) {
        /* An error, or a state we do not support (SUSPENDED: we answer
         * AP_MPMQ_CAN_SUSPEND with 0): close. */
        pc->pub.state = CONN_STATE_LINGER;
    }
}

/* The timeout of the connection's next wait: timeout_ms, less, the first
 * time, what the client already spent idle in the multiplexer (an h2c
 * client that stalled after its preface: stock's mod_http2 had the
 * connection, and its clock, from the preface on). */
static long next_wait_ms(proc_conn *pc, long timeout_ms)
{
    long left = timeout_ms - (long)pc->msg.idle_ms;

    pc->msg.idle_ms = 0;
    return left > 0 ? left : 0;
}

/* Flush what the output filters hold.  Returns 0 when the connection
 * should go on, or 1 when it was parked to wait for the socket. */
static int write_completion(proc_state *ps, proc_conn *pc)
{
    conn_rec *c = pc->c;
    ap_filter_t *last = c->output_filters;
    apr_status_t rv;

    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);
    PH_CHECK_MAGIC(pc, PROC_CONN_MAGIC);

    ap_update_child_status(pc->sbh, SERVER_BUSY_WRITE, NULL);
    while (last->next) {
        last = last->next;
    }
    rv = last->frec->filter_func.out_func(last, NULL);
    if (rv != APR_SUCCESS) {
        ap_log_cerror(APLOG_MARK, APLOG_DEBUG, rv, c, PHLOGNO(00402)
                      "network write failure in core output filter");
        pc->pub.state = CONN_STATE_LINGER;
        return 0;
    }
    if (c->data_in_output_filters
        || pc->pub.sense == CONN_SENSE_WANT_READ) {
        ph_proc_park(ps, pc, events_for_sense(pc, EPOLLOUT),
                     next_wait_ms(pc,
                                  apr_time_as_msec(c->base_server->timeout)));
        return 1;
    }
    /* Not closed just because this child is stopping: the response just
     * sent did not say so, and the client may be sending its next
     * request right now.  That request is answered with "Connection:
     * close" (proc_guard.c), so the connection ends cleanly. */
    if (c->keepalive != AP_CONN_KEEPALIVE || c->aborted) {
        pc->pub.state = CONN_STATE_LINGER;
    }
    else if (c->data_in_input_filters) {
        pc->pub.state = CONN_STATE_PROCESSING;  /* pipelined request */
    }
    else {
        pc->pub.state = CONN_STATE_KEEPALIVE;
        pc->pub.sense = CONN_SENSE_DEFAULT;
        ap_update_child_status(pc->sbh, SERVER_BUSY_KEEPALIVE, NULL);
        ph_proc_park(ps, pc, EPOLLIN, next_wait_ms(pc, pc->ka_timeout_ms));
        return 1;
    }
    return 0;
}

void ph_proc_conn_run(proc_state *ps, proc_conn *pc, apr_thread_t *thd,
                      int thread_index)
{
    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);
    PH_CHECK_MAGIC(pc, PROC_CONN_MAGIC);
    if (!pc->c) {
        if (!conn_create(ps, pc, thd, thread_index)) {
            ph_proc_conn_destroy(ps, pc);
            return;
        }
    }
    else {
        ap_update_sb_handle(pc->sbh, ps->slot, thread_index);
        pc->c->current_thread = thd;
        pc->c->id = conn_id(ps->slot, thread_index);
        /* Woken from write completion with an input filter that clogs
         * (a module's compatibility path: write completion with
         * CONN_SENSE_WANT_READ to wait for input): the socket is ready,
         * so its process_connection hooks run again, as event does.
         * Flushing alone would park it again and again. */
        if (pc->pub.state == CONN_STATE_WRITE_COMPLETION
            && pc->c->clogging_input_filters && !pc->c->aborted) {
            pc->pub.state = CONN_STATE_PROCESSING;
        }
    }

    for (;;) {
        switch (pc->pub.state) {
        case CONN_STATE_KEEPALIVE:      /* readable again after parking */
            if (ph_proc_hand_back(ps, pc)) {
                ph_proc_conn_destroy(ps, pc);   /* a multiplexer's now */
                return;
            }
            /* fall through */
        case CONN_STATE_PROCESSING:
            process_once(pc);
            break;
        case CONN_STATE_WRITE_COMPLETION:
            if (write_completion(ps, pc)) {
                return;
            }
            break;
        case CONN_STATE_ASYNC_WAITIO:
            pc->pub.state = CONN_STATE_PROCESSING;
            ph_proc_park(ps, pc, events_for_sense(pc, EPOLLIN),
                         next_wait_ms(pc, apr_time_as_msec(
                                              pc->c->base_server->timeout)));
            return;
        case CONN_STATE_LINGER_NORMAL:  /* lingering read finished */
            ph_proc_conn_destroy(ps, pc);
            return;
        default:                        /* LINGER and anything unknown */
            if (ap_start_lingering_close(pc->c)) {
                pc->sock = NULL;        /* closed by httpd already */
                pc->fd = -1;
                ph_proc_conn_destroy(ps, pc);
                return;
            }
            pc->pub.state = CONN_STATE_LINGER_NORMAL;
            ph_proc_park(ps, pc, EPOLLIN, LINGER_MS);
            return;
        }
    }
}
