/*
 * proc.h -- a processor child's internal state.
 *
 * Threads of a processor child and what they share:
 *
 *   listener (the main thread)           workers (ThreadsPerChild)
 *   - receives sockets from the          - run httpd on one connection at
 *     environment's channel, only          a time (ph_proc_conn_run) until
 *     while a worker is idle               it needs to wait for the client
 *   - holds parked connections:        - park it (keep-alive, write
 *     keep-alive, write completion,        completion, lingering close)
 *     lingering close, in epoll and        and take the next one
 *     in deadline-ordered park queues
 *   - expires parked connections
 *
 *   answer thread (one, proc_answer.c)
 *   - lets httpd answer 503 to connections whose wait for a worker was
 *     over, one at a time; the listener takes one from the answer
 *     channel only while this thread has none
 *
 *   work queue: listener -> workers, protected by work_lock; an idle
 *   worker waits on its own condition variable, and the listener wakes
 *   the one that went idle last (the idle stack).
 *   answer slot: listener -> answer thread, answer_lock / answer_cv.
 *   park queues: workers append (under park_lock, registering the fd
 *   with epoll while holding it); only the listener removes (under
 *   park_lock), so a parked connection has exactly one owner at a time.
 */
#ifndef PH_PROC_H
#define PH_PROC_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "apr_thread_proc.h"
#include "httpd.h"
#include "scoreboard.h"

#include "chan_msg.h"
#include "idle_stack.h"
#include "ph_env.h"
#include "ph_shm.h"

#define PROC_CONN_MAGIC  0x50434f4eu    /* "PCON" */
#define PROC_STATE_MAGIC 0x50535441u    /* "PSTA" */
#define PARK_QUEUES      16             /* distinct timeout values */
#define PH_OWN_HOST_MAX  256            /* proc_conn.own_host */

typedef struct park_queue park_queue;

typedef struct proc_conn {
    int is_conn;                /* first: tells epoll data apart (1) */
    unsigned magic;
    int fd;
    conn_state_t pub;           /* c->cs points here */
    conn_rec *c;
    apr_pool_t *pool;           /* this struct lives in it */
    apr_socket_t *sock;
    ap_sb_handle_t *sbh;
    apr_bucket_alloc_t *ba;
    ph_chan_msg msg;
    /* The Host field, as sent, of the last request of this connection
     * that was one of ours (proc_guard.c): a next request with the same
     * one, in origin form, is ours without a vhost look-up
     * (proc_handback.c).  own_host_len 0: none. */
    char own_host[PH_OWN_HOST_MAX];
    size_t own_host_len;
    long long ka_timeout_ms;    /* KeepAliveTimeout of the last request's
                                 * vhost, set by the 421 guard */
    /* parking (owned by park_lock) */
    long long deadline_ms;
    struct proc_conn *prev, *next;
    park_queue *queue;
    /* work queue link (owned by work_lock) */
    struct proc_conn *work_next;
} proc_conn;

struct park_queue {
    long long timeout_ms;
    proc_conn *head, *tail;
    int count;
};

typedef struct proc_state {
    unsigned magic;
    int slot;
    ph_env *env;
    int chan_fd;
    int epfd;
    int wake_fd;                /* eventfd: wakes the listener */
    int nworkers;
    /* In the segment (advisory figures, see ph_shm_layout.h): */
    ph_shm_child_stats *child_rec;  /* ours; NULL if no segment */
    ph_shm_env_stats *env_rec;      /* our environment's counters */

    pthread_mutex_t work_lock;
    proc_conn *work_head, *work_tail;
    int work_len;
    int idle_workers;
    int workers_exit;           /* under work_lock */
    ph_idle_stack idle;         /* idle workers (under work_lock) */

    pthread_mutex_t park_lock;
    park_queue queues[PARK_QUEUES];
    int nqueues;
    /* parked connections by state (under park_lock), for mod_status */
    int parked_keepalive, parked_write, parked_linger;

    /* The answer thread (proc_answer.c).  answer_fd: the answer
     * channel's receive end (-1: none).  Under answer_lock: the
     * connection handed to it, whether it is busy with one, and whether
     * it is to exit. */
    int answer_fd;
    pthread_mutex_t answer_lock;
    pthread_cond_t answer_cv;
    proc_conn *answer_next;
    int answer_busy;
    int answer_exit;
    apr_thread_t *answer_thread;
    /* Its scoreboard worker slot: the one after the workers', or where
     * ThreadLimit leaves none, the last worker's (shared: the scoreboard
     * is informational).  httpd logs "[client ...]" only for a
     * connection with a scoreboard handle. */
    int answer_sb;

    /* ExpireTimeout: when each worker took its current connection
     * (monotonic ms, 0 = idle); written by that worker, read by the
     * listener.  One more entry, [nworkers], for the answer thread. */
    _Atomic long long *busy_since_ms;
    int expired;                /* workers stuck past ExpireTimeout */

    /* MaxConnectionsPerChild: 0 = unlimited (listener only) */
    int conns_left;
    int conns_limited;

    /* Parent of every connection pool: pchild, so that a pool's root is
     * the process-lifetime global pool, as under event (proc_conn.c). */
    apr_pool_t *conn_parent;
    pthread_mutex_t pool_lock;
    apr_pool_t **free_pools;
    int nfree_pools, max_free_pools;

    /* Written by the listener, read by workers. */
    atomic_int stopping;        /* channel closed: finish and exit */
    /* Written by workers, read by the listener. */
    atomic_int channel_paused;  /* listener waits for an idle worker */
    atomic_int live_conns;      /* connections this child holds */
} proc_state;

/* The thread index the answer thread runs its connections with (their
 * scoreboard slot is ps->answer_sb). */
#define PH_ANSWER_THREAD (-1)

/* proc_conn.c */
void ph_proc_conn_run(proc_state *ps, proc_conn *pc, apr_thread_t *thd,
                      int thread_index);
void ph_proc_conn_destroy(proc_state *ps, proc_conn *pc);
proc_conn *ph_proc_conn_new(proc_state *ps, int fd, const ph_chan_msg *msg);

/* proc_listener.c */
void ph_proc_listener_run(proc_state *ps);
/* Receive one connection from chan_fd (the channel or the answer
 * channel, named `which` in the log): 0 with *fd and *msg, EAGAIN when
 * nothing waits (or the receive failed: logged), EPROTO for a message
 * refused (malformed, or routed to another environment: logged, its
 * socket closed; another may follow), or PH_CHANNEL_EOF. */
int ph_proc_receive_checked(proc_state *ps, int chan_fd, const char *which,
                            int *fd, ph_chan_msg *msg);
void ph_proc_park(proc_state *ps, proc_conn *pc, uint32_t events,
                  long long timeout_ms);
void ph_proc_wake_listener(proc_state *ps);

/* proc_main.c: a worker thread changes state (for capacity figures). */
void ph_proc_worker_idle(proc_state *ps);
void ph_proc_worker_busy(proc_state *ps);

/* proc_listener.c: connections this child will still take under
 * AsyncRequestWorkerFactor (ThreadsPerChild + factor x idle workers,
 * minus those it holds). */
int ph_proc_room(proc_state *ps);
void ph_proc_publish_room(proc_state *ps, int room);

/* Ring the environment's doorbell if connections wait for it. */
void ph_proc_ring_doorbell(proc_state *ps);

/* proc_handback.c: a kept-alive connection, readable again, whose next
 * request (peeked at, not read) is for another environment's virtual
 * host goes to a multiplexer's doorbell: 1 when it did (the caller then
 * forgets it, closing only its own descriptor), 0 to read it here. */
int ph_proc_hand_back(proc_state *ps, proc_conn *pc);
/* After the pre_connection hooks: keep httpd's look-ahead for a pipelined
 * request from reading a request that arrived after the last one (so
 * that it can still be handed back unread). */
void ph_handback_add_filter(proc_state *ps, proc_conn *pc);
void ph_handback_register_hooks(void);

/* proc_expired.c: a connection the multiplexer sent with
 * PH_CHAN_F_HEAD_EXPIRED reads its head without waiting (add after the
 * pre_connection hooks). */
void ph_expired_add_filter(conn_rec *c);
void ph_expired_register_hooks(void);

/* proc_answer.c: start the answer thread (after the workers), whether
 * the listener should watch the answer channel now, take one connection
 * from it (listener; PH_CHANNEL_EOF once it is closed), stop and join
 * the thread (after the listener returned). */
int ph_answer_start(proc_state *ps, apr_threadattr_t *attr,
                    apr_pool_t *pchild);
int ph_answer_wanted(proc_state *ps);
int ph_answer_take(proc_state *ps);
void ph_answer_stop(proc_state *ps);
/* The 503 for a request on such a connection, from the guard's
 * post_read_request once the vhost is known to be ours. */
int ph_answer_refuse(request_rec *r);

/* proc_guard.c */
void ph_guard_set_env(const ph_env *env);
void ph_guard_set_slot(int slot);
void ph_guard_set_stopping_flag(atomic_int *flag);
int ph_guard_post_read_request(request_rec *r);
proc_conn *ph_guard_conn_of(conn_rec *c);
void ph_guard_bind_conn(conn_rec *c, proc_conn *pc);
/* After ap_update_vhost_given_ip: a connection routed on an h2c
 * :authority or a TLS SNI to one of our vhosts gets it as c->base_server
 * (see proc_guard.c). */
void ph_guard_routed_base(conn_rec *c, const ph_chan_msg *msg);
void ph_guard_register_hooks(void);

/* proc_confine.c: make other environments' vhosts inert in this child's
 * memory; once, before the child's first connection. */
void ph_confine_vhosts(const ph_env *mine, apr_pool_t *pchild);

/* proc_foreign_logs.c: close (or point at /dev/null) the log files only
 * other environments' vhosts write to; once, as root, before
 * ph_confine_vhosts. */
void ph_close_foreign_logs(const ph_env *mine, apr_pool_t *pchild);

#endif /* PH_PROC_H */
