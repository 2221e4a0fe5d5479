/*
 * proc_listener.c -- a processor child's listener thread: takes new
 * connections from the environment's channel while a worker is idle, and
 * from its answer channel while the answer thread is free
 * (proc_answer.c), watches parked connections, and expires them.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpd.h"
#include "http_log.h"
#include "scoreboard.h"
#include "http_main.h"

#include "channel.h"
#include "ph_alloc.h"
#include "doorbell.h"
#include "ph_clock.h"
#include "ph_config.h"
#include "ph_log.h"
#include "ph_magic.h"
#include "ph_segment.h"
#include "proc.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

#define MAX_EVENTS 256

/* epoll data for the non-connection descriptors */
static int channel_tag, answer_tag, wake_tag;

void ph_proc_wake_listener(proc_state *ps)
{
    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);
    uint64_t one = 1;
    ssize_t ignored = write(ps->wake_fd, &one, sizeof(one));
    (void)ignored;
}

/* The queue for a timeout value; connections in one queue share their
 * timeout, so appending keeps each queue in deadline order. */
static park_queue *queue_for(proc_state *ps, long long timeout_ms)
{
    int i;

    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);

    for (i = 0; i < ps->nqueues; i++) {
        if (ps->queues[i].timeout_ms == timeout_ms) {
            return &ps->queues[i];
        }
    }
    if (ps->nqueues < PARK_QUEUES) {
        ps->queues[ps->nqueues].timeout_ms = timeout_ms;
        return &ps->queues[ps->nqueues++];
    }
    /* More distinct timeouts than queues (unusual): share the last one;
     * expiry of that queue may then be late, never early. */
    return &ps->queues[PARK_QUEUES - 1];
}

/* Which mod_status counter a parked connection is in (park_lock held). */
static int *parked_counter(proc_state *ps, const proc_conn *pc)
{
    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);
    PH_CHECK_MAGIC(pc, PROC_CONN_MAGIC);
    switch (pc->pub.state) {
    case CONN_STATE_KEEPALIVE:
        return &ps->parked_keepalive;
    case CONN_STATE_LINGER_NORMAL:
        return &ps->parked_linger;
    default:
        return &ps->parked_write;   /* write completion, waiting for I/O */
    }
}

static void queue_remove(proc_state *ps, proc_conn *pc)
{
    park_queue *q = pc->queue;

    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);
    PH_CHECK_MAGIC(pc, PROC_CONN_MAGIC);

    (*parked_counter(ps, pc))--;

    if (pc->prev) {
        pc->prev->next = pc->next;
    }
    else {
        q->head = pc->next;
    }
    if (pc->next) {
        pc->next->prev = pc->prev;
    }
    else {
        q->tail = pc->prev;
    }
    pc->prev = pc->next = NULL;
    pc->queue = NULL;
    q->count--;
}

void ph_proc_park(proc_state *ps, proc_conn *pc, uint32_t events,
                  long long timeout_ms)
{
    struct epoll_event ev;
    park_queue *q;

    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);
    PH_CHECK_MAGIC(pc, PROC_CONN_MAGIC);

    memset(&ev, 0, sizeof(ev));
    ev.events = events | EPOLLRDHUP;
    ev.data.ptr = pc;

    pthread_mutex_lock(&ps->park_lock);
    q = queue_for(ps, timeout_ms);
    pc->deadline_ms = ph_now_ms() + timeout_ms;
    pc->queue = q;
    pc->next = NULL;
    pc->prev = q->tail;
    if (q->tail) {
        q->tail->next = pc;
    }
    else {
        q->head = pc;
    }
    q->tail = pc;
    q->count++;
    (*parked_counter(ps, pc))++;
    /* Registered while holding the lock: the listener cannot see the
     * event, or expire the connection, before it is fully parked. */
    if (epoll_ctl(ps->epfd, EPOLL_CTL_ADD, pc->fd, &ev) < 0) {
        queue_remove(ps, pc);
        pthread_mutex_unlock(&ps->park_lock);
        ap_log_error(APLOG_MARK, APLOG_ERR, errno, ap_server_conf,
                     PHLOGNO(00410) "cannot watch a parked connection");
        ph_proc_conn_destroy(ps, pc);
        return;
    }
    pthread_mutex_unlock(&ps->park_lock);
}

/* Take a parked connection back (listener only, park_lock held). */
static void unpark_locked(proc_state *ps, proc_conn *pc)
{
    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);
    PH_CHECK_MAGIC(pc, PROC_CONN_MAGIC);
    epoll_ctl(ps->epfd, EPOLL_CTL_DEL, pc->fd, NULL);
    queue_remove(ps, pc);
}

static void give_to_worker(proc_state *ps, proc_conn *pc)
{
    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);
    PH_CHECK_MAGIC(pc, PROC_CONN_MAGIC);
    pthread_mutex_lock(&ps->work_lock);
    pc->work_next = NULL;
    if (ps->work_tail) {
        ps->work_tail->work_next = pc;
    }
    else {
        ps->work_head = pc;
    }
    ps->work_tail = pc;
    ps->work_len++;
    ph_idle_stack_wake_top(&ps->idle);
    pthread_mutex_unlock(&ps->work_lock);
}

static int spare_workers(proc_state *ps)
{
    int n;

    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);

    pthread_mutex_lock(&ps->work_lock);
    n = ps->idle_workers - ps->work_len;
    pthread_mutex_unlock(&ps->work_lock);
    return n;
}

int ph_proc_room(proc_state *ps)
{
    int idle, limit;

    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);

    pthread_mutex_lock(&ps->work_lock);
    idle = ps->idle_workers - ps->work_len;
    pthread_mutex_unlock(&ps->work_lock);
    if (idle < 0) {
        idle = 0;
    }
    /* The event MPM's rule: a child takes new connections while it holds
     * fewer than ThreadsPerChild + factor x idle workers, so that idle
     * keep-alive connections cannot starve the busy ones of workers. */
    limit = ps->nworkers + (int)(ph_conf.worker_factor * idle);
    return limit - atomic_load(&ps->live_conns);
}

/* The event MPM's async figures, for mod_status's connection table. */
static void publish_async_status(proc_state *ps, int room)
{
    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);
    process_score *ps_rec = ap_get_scoreboard_process(ps->slot);

    pthread_mutex_lock(&ps->park_lock);
    ps_rec->keep_alive = (apr_uint32_t)ps->parked_keepalive;
    ps_rec->write_completion = (apr_uint32_t)ps->parked_write;
    ps_rec->lingering_close = (apr_uint32_t)ps->parked_linger;
    pthread_mutex_unlock(&ps->park_lock);
    ps_rec->connections = (apr_uint32_t)atomic_load(&ps->live_conns);
    ps_rec->not_accepting = room <= 0 || atomic_load(&ps->stopping);
    ps_rec->quiescing = (char)atomic_load(&ps->stopping);
}

/*
 * Publish how many more connections we take, for multiplexers.  Workers
 * and the listener both publish; a value computed a moment earlier can
 * overwrite a fresher one.  So whoever turns the room from none to some
 * while connections wait rings the doorbell: multiplexers never sit on a
 * stale "full".
 */
void ph_proc_publish_room(proc_state *ps, int room)
{
    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);
    int32_t now, before;

    if (!ps->child_rec) {
        return;
    }
    now = atomic_load(&ps->stopping) ? 0 : (room > 0 ? room : 0);
    before = atomic_exchange(&ps->child_rec->room, now);
    if (before <= 0 && now > 0) {
        ph_proc_ring_doorbell(ps);
    }
}

void ph_proc_ring_doorbell(proc_state *ps)
{
    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);
    if (atomic_load(&ps->env_rec->queue_depth) > 0) {
        ph_doorbells_ring(ps->env->index, 0);
    }
}

/* ExpireTimeout: a worker stuck on one connection that long makes this
 * child finish the others and go (a thread cannot be killed on its own;
 * the parent replaces the child). */
static void check_expired(proc_state *ps)
{
    long long limit = ph_conf.expire_timeout * 1000LL, now = ph_now_ms();
    int i, stuck = 0;

    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);

    if (!limit || ps->expired) {
        return;
    }
    for (i = 0; i <= ps->nworkers; i++) {     /* [nworkers]: answers */
        long long since = atomic_load(&ps->busy_since_ms[i]);
        if (since && now - since >= limit) {
            stuck++;
        }
    }
    if (stuck) {
        ps->expired = stuck;
        atomic_store(&ps->stopping, 1);
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ap_server_conf,
                     PHLOGNO(00417) "environment %s: %d thread(s) of slot "
                     "%d busy on one connection for more than ExpireTimeout "
                     "(%ld s); the child takes no more connections and will "
                     "be replaced", ps->env->name, stuck, ps->slot,
                     ph_conf.expire_timeout);
    }
}

/* Lingering close: read and discard until the client closes. */
static void linger_read(proc_state *ps, proc_conn *pc)
{
    char buf[2048];
    ssize_t n;

    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);
    PH_CHECK_MAGIC(pc, PROC_CONN_MAGIC);

    for (;;) {
        n = recv(pc->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0) {
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            long long left = pc->deadline_ms - ph_now_ms();
            ph_proc_park(ps, pc, EPOLLIN, left > 0 ? left : 0);
            return;
        }
        ph_proc_conn_destroy(ps, pc);
        return;
    }
}

static void conn_ready(proc_state *ps, proc_conn *pc)
{
    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);
    PH_CHECK_MAGIC(pc, PROC_CONN_MAGIC);
    pthread_mutex_lock(&ps->park_lock);
    if (!pc->queue) {       /* not parked any more */
        pthread_mutex_unlock(&ps->park_lock);
        return;
    }
    unpark_locked(ps, pc);
    pthread_mutex_unlock(&ps->park_lock);

    if (pc->pub.state == CONN_STATE_LINGER_NORMAL) {
        linger_read(ps, pc);
    }
    else {
        give_to_worker(ps, pc);
    }
}

/* The ticket only accounts for the handoff (it is what multiplexers count
 * as in flight): claim it and give it back at once.  A stale ticket (its
 * multiplexer died and was swept) changes nothing: the connection itself
 * came from the kernel and is served all the same. */
static void account_handoff(proc_state *ps, const ph_chan_msg *msg)
{
    ph_ticket_ref t;

    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);

    if (!ph_segment || !msg->ticket_gen) {
        return;
    }
    /* Our own record index, not the message's word for it. */
    ph_ticket_from_id(msg->ticket, msg->ticket_gen,
                      (uint32_t)ps->env->shm_index, &t);
    if (ph_ticket_claim(ph_segment, &t, getpid()) == 0) {
        ph_ticket_release(ph_segment, &t);
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf,
                     PHLOGNO(00416) "environment %s: stale ticket %u/%u; "
                     "serving the connection anyway", ps->env->name,
                     t.mux, t.index);
    }
    if (ps->child_rec) {
        atomic_fetch_add(&ps->child_rec->connections, 1);
    }
}

int ph_proc_receive_checked(proc_state *ps, int chan_fd, const char *which,
                            int *fd, ph_chan_msg *msg)
{
    ph_chan_decode_result why;
    int rv;

    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);

    rv = ph_channel_recv(chan_fd, fd, msg, &why);
    if (rv == EAGAIN || rv == PH_CHANNEL_EOF) {
        return rv;
    }
    if (rv == EPROTO) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, ap_server_conf,
                     PHLOGNO(00411) "environment %s: refused a malformed "
                     "%s message (%s)", ps->env->name, which,
                     ph_chan_decode_strerror(why));
        return EPROTO;
    }
    if (rv) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, ap_server_conf,
                     PHLOGNO(00412) "environment %s: %s receive failed",
                     ps->env->name, which);
        return EAGAIN;
    }
    if (msg->env_index != (uint32_t)ps->env->index) {
        /* Only our channels deliver to us, so this is a bug, not an
         * attack; refuse rather than guess. */
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, ap_server_conf,
                     PHLOGNO(00413) "environment %s: %s gave a connection "
                     "routed to environment #%u; closing it",
                     ps->env->name, which, msg->env_index);
        close(*fd);
        return EPROTO;
    }
    return 0;
}

/* Take connections from the channel while workers are idle.  Returns 0,
 * or PH_CHANNEL_EOF once the channel is closed for good. */
static int take_from_channel(proc_state *ps)
{
    int n = spare_workers(ps), room = ph_proc_room(ps);

    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);

    if (n > room) {
        n = room;
    }
    while (n-- > 0 && !atomic_load(&ps->stopping)) {
        ph_chan_msg msg;
        proc_conn *pc;
        int fd, rv;

        rv = ph_proc_receive_checked(ps, ps->chan_fd, "channel", &fd, &msg);
        if (rv == EPROTO) {
            continue;
        }
        if (rv) {
            return rv == PH_CHANNEL_EOF ? PH_CHANNEL_EOF : 0;
        }
        account_handoff(ps, &msg);
        /* a 503 for want of a worker comes by the answer channel only */
        msg.flags &= ~PH_CHAN_F_WAIT_OVER;
        if ((pc = ph_proc_conn_new(ps, fd, &msg))) {
            give_to_worker(ps, pc);
        }
        if (ps->conns_limited && --ps->conns_left <= 0) {
            /* MaxConnectionsPerChild reached: finish what we hold and
             * exit; the parent starts a replacement. */
            ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf,
                         PHLOGNO(00415) "environment %s: slot %d reached "
                         "MaxConnectionsPerChild, recycling", ps->env->name,
                         ps->slot);
            atomic_store(&ps->stopping, 1);
            return 0;
        }
    }
    return 0;
}

static void set_watch(proc_state *ps, int fd, int *tag, int *watching,
                      int want)
{
    struct epoll_event ev;

    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);

    if (*watching == want) {
        return;
    }
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.ptr = tag;
    if (epoll_ctl(ps->epfd, want ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd,
                  &ev) == 0) {
        *watching = want;
    }
}

static void set_channel_watch(proc_state *ps, int *watching, int want)
{
    set_watch(ps, ps->chan_fd, &channel_tag, watching, want);
}

/* The answer channel: watched while the answer thread is free (and not
 * stopping), whether or not a worker is idle. */
static void update_answer_watch(proc_state *ps, int *watching)
{
    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);
    if (ps->answer_fd >= 0) {
        set_watch(ps, ps->answer_fd, &answer_tag, watching,
                  ph_answer_wanted(ps));
    }
}

/*
 * Watch the channel only while a worker is idle.  "paused" is published
 * before the idle count is read (under work_lock), and a worker going idle
 * reads "paused" after counting itself (under the same lock), so one of
 * the two always sees the other: no idle worker is missed while the
 * listener sleeps.
 */
static void update_channel_watch(proc_state *ps, int *watching)
{
    int want, room = ph_proc_room(ps);

    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);

    ph_proc_publish_room(ps, room);
    publish_async_status(ps, room);
    if (atomic_load(&ps->stopping)) {
        set_channel_watch(ps, watching, 0);
        return;
    }
    atomic_store(&ps->channel_paused, 1);
    want = spare_workers(ps) > 0 && room > 0;
    if (want) {
        atomic_store(&ps->channel_paused, 0);
    }
    set_channel_watch(ps, watching, want);
}

/* Expire parked connections whose deadline has passed. */
static void expire(proc_state *ps)
{
    long long now = ph_now_ms();
    proc_conn *done = NULL;
    int i;

    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);

    pthread_mutex_lock(&ps->park_lock);
    for (i = 0; i < ps->nqueues; i++) {
        park_queue *q = &ps->queues[i];
        proc_conn *pc = q->head, *next;
        for (; pc; pc = next) {
            next = pc->next;
            if (pc->deadline_ms <= now) {
                unpark_locked(ps, pc);
                pc->work_next = done;
                done = pc;
            }
            else if (i != PARK_QUEUES - 1) {
                break;      /* the rest of this queue is later */
            }
        }
    }
    pthread_mutex_unlock(&ps->park_lock);

    while (done) {
        proc_conn *pc = done;
        done = pc->work_next;
        if (pc->c && pc->pub.state != CONN_STATE_LINGER_NORMAL) {
            /* Idle keep-alive: close it quietly, as the event MPM does.
             * A connection waiting for I/O of its own (mod_http2's
             * session between frames) or for a write: a lingering close
             * too, in a worker, as event does, so that the pre_close
             * hooks run (mod_http2 sends its GOAWAY there), each socket
             * operation bounded by 2 s (event's SECONDS_TO_LINGER). */
            if (pc->pub.state != CONN_STATE_KEEPALIVE && pc->sock) {
                apr_socket_timeout_set(pc->sock, apr_time_from_sec(2));
            }
            pc->pub.state = CONN_STATE_LINGER;
            give_to_worker(ps, pc);
        }
        else {
            ph_proc_conn_destroy(ps, pc);
        }
    }
}

static int next_timeout_ms(proc_state *ps)
{
    long long next = ph_now_ms() + 1000, now = ph_now_ms();
    int i;

    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);

    pthread_mutex_lock(&ps->park_lock);
    for (i = 0; i < ps->nqueues; i++) {
        if (ps->queues[i].head && ps->queues[i].head->deadline_ms < next) {
            next = ps->queues[i].head->deadline_ms;
        }
    }
    pthread_mutex_unlock(&ps->park_lock);
    return next > now ? (int)(next - now) : 0;
}

void ph_proc_listener_run(proc_state *ps)
{
    struct epoll_event events[MAX_EVENTS], ev;
    int watching = 0, answering = 0, i, n;

    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);

    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.ptr = &wake_tag;
    epoll_ctl(ps->epfd, EPOLL_CTL_ADD, ps->wake_fd, &ev);

    for (;;) {
        int stopping = atomic_load(&ps->stopping);

        check_expired(ps);
        ph_alloc_publish();
        if (stopping && atomic_load(&ps->live_conns) <= ps->expired) {
            break;
        }
        update_channel_watch(ps, &watching);
        update_answer_watch(ps, &answering);
        n = epoll_wait(ps->epfd, events, MAX_EVENTS, next_timeout_ms(ps));
        if (n < 0 && errno != EINTR) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, errno, ap_server_conf,
                         PHLOGNO(00414) "epoll_wait failed in listener");
            break;
        }
        for (i = 0; i < n; i++) {
            void *tag = events[i].data.ptr;
            if (tag == &wake_tag) {
                uint64_t v;
                ssize_t ignored = read(ps->wake_fd, &v, sizeof(v));
                (void)ignored;
            }
            else if (tag == &answer_tag) {
                if (ph_answer_take(ps) == PH_CHANNEL_EOF) {
                    set_watch(ps, ps->answer_fd, &answer_tag, &answering, 0);
                    ps->answer_fd = -1;
                }
            }
            else if (tag == &channel_tag) {
                if (take_from_channel(ps) == PH_CHANNEL_EOF) {
                    set_channel_watch(ps, &watching, 0);
                    atomic_store(&ps->stopping, 1);
                }
            }
            else {
                conn_ready(ps, (proc_conn *)tag);
            }
        }
        /* Stopping keeps kept-alive connections until their next request
         * (answered "Connection: close") or their KeepAliveTimeout, so no
         * request already on its way is cut off. */
        expire(ps);
    }
}
