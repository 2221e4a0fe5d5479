/*
 * mux_main.c -- the multiplexer process: one non-blocking epoll loop that
 * accepts, peeks at request heads, and hands each connection to its
 * environment's channel.
 *
 * Connection life cycle inside a multiplexer:
 *
 *   accept --> PEEK --(whole head routable)--> admit --(capacity)--> sent
 *               |                             \--(none)--> PENDING --> sent
 *               |                                  (allowed wait over) 503
 *               +--(bad head / timeout / half-closed)--> admit to the
 *               |      default vhost's environment, whose httpd answers
 *               |      (conn_refer; a reply of ours if it has none)
 *               +--(vhost without environment)--> 503 --> LINGER --> closed
 *               +--(client closed before any byte)--> closed
 *
 * A connection on a non-HTTP address (ph_proto.h: `Listen 8530 echo`, a
 * vhost with `Protocol echo` or a protocol module turned on) skips PEEK:
 * it goes straight to admission, routed by address, and every refusal
 * (no environment, a failed handoff, the allowed wait over) is a close,
 * never an HTTP answer.
 *
 * PEEK and LINGER connections share one timeout per list, so those lists
 * stay in deadline order by appending and the loop only looks at their
 * heads.  PENDING connections each have the wait AVAIL allowed when they
 * arrived (mux_admit.c); a pending list is in arrival order and scanned
 * when its earliest deadline is due.  Capacity appearing is signalled by
 * this multiplexer's doorbell (doorbell.h: an eventfd the processors of
 * any environment ring), after which only the environments with
 * connections waiting here are looked at.
 *
 * The peeked bytes are never consumed: the processor reads the client's
 * original bytes itself.  Peeking needs edge-triggered readiness (the
 * bytes stay in the socket, so a level-triggered socket would stay ready).
 */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpd.h"
#include "ap_listen.h"
#include "apr_strings.h"
#include "ap_mpm.h"
#include "apr_portable.h"
#include "apr_signal.h"
#include "http_log.h"
#include "http_main.h"
#include "mpm_common.h"
#include "scoreboard.h"
#include "unixd.h"

#include "broker.h"
#include "channel.h"
#include "doorbell.h"
#include "mux.h"
#include "mux_admit.h"
#include "handback_from.h"
#include "mux_handback.h"
#include "ph_alloc.h"
#include "ph_child.h"
#include "ph_env.h"
#include "ph_clock.h"
#include "ph_config.h"
#include "ph_log.h"
#include "ph_magic.h"
#include "ph_segment.h"
#include "zero_pages.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

#define MUX_CONN_MAGIC   0x4d55584eu    /* "MUXN" */
#define PEEK_WINDOW      65536          /* bytes of a head we look at */
#define HELLO_ROOM       16384          /* a ClientHello's body, reassembled;
                                         * a longer one routes by address */
#define LINGER_MS        2000           /* after a canned reply */
#define ACCEPT_BATCH     32             /* accepts per readiness event */
#define MAX_EVENTS       128
#define RECLAIM_EVERY_MS 1000           /* lost-ticket scan */

typedef enum {
    TAG_LISTENER = 1, TAG_LIFELINE, TAG_CHANNEL, TAG_DOORBELL, TAG_HANDBACK,
    TAG_BROKER,
    TAG_CONN
} tag_kind;

/* Every epoll registration points at a struct starting with a tag. */
typedef struct ev_tag {
    tag_kind kind;
    int fd;
    int env_index;              /* TAG_CHANNEL, TAG_DOORBELL */
} ev_tag;

typedef enum { MC_PEEK = 1, MC_PENDING, MC_LINGER } mc_state;

typedef struct mux_list {
    struct mux_conn *head, *tail;
    int count;
    long long next_due_ms;      /* pending lists: earliest deadline */
} mux_list;

typedef struct mux_conn {
    ev_tag tag;                 /* first: epoll data points here */
    unsigned magic;
    mc_state state;
    long long deadline_ms;
    long long since_ms;         /* when it started waiting (PENDING) */
    struct mux_conn *prev, *next;
    mux_list *list;
    ph_chan_msg msg;            /* when PENDING */
    int by_address;             /* never answered in HTTP by us: a
                                 * non-HTTP address, or TLS */
    long long accepted_ms;      /* the head's read policy counts from */
    ph_chan_peer peer;          /* the client, as accept() gave it: after
                                 * a reset the socket no longer knows */
    size_t peeked;              /* bytes of head seen so far */
    int header_only;            /* the request line says HEAD: an answer
                                 * of ours carries no body, as httpd's */
    int peer_closed;            /* EPOLLRDHUP seen: no more bytes come */
    int h2c;                    /* began with (a prefix of) the HTTP/2
                                 * preface: never answered in HTTP/1;
                                 * 2 once the whole preface is in */
    long long preface_ms;       /* when the whole preface was seen: stock
                                 * mod_http2's clock starts there */
    uint32_t idle_ms;           /* for the message (chan_msg.h) */
    int facts_known;            /* facts are its address's own */
    ph_address_facts facts;     /* what its address decides: limits and
                                 * head-read policy of the default server
                                 * (RequestReadTimeout header=, or
                                 * Timeout), TLS, PROXY header; until
                                 * looked up, the main server's */
} mux_conn;

typedef struct mux_state {
    int slot;
    int mux_index;              /* our ticket partitions */
    int epfd;
    apr_pool_t *pool;           /* process lifetime */
    apr_pool_t *scratch;        /* cleared after each routing decision */
    char *peekbuf;
    unsigned char *hello_room;  /* HELLO_ROOM bytes for tls_hello.c */
    ph_address_facts facts;     /* the main server's: no TLS, no PROXY */
    int facts_vary;             /* some address decides otherwise (other
                                 * limits or policy, TLS, PROXY): each
                                 * connection's address is looked up */
    mux_list peeking;
    mux_list lingering;
    mux_list *pending;          /* one per environment */
    int *waiting;               /* the environments whose pending list is
                                 * not empty, nwaiting of them, in no
                                 * order: a doorbell or a timer walks
                                 * these only (issue 13) */
    int *waiting_at;            /* per environment: its position in
                                 * waiting + 1, 0 when not there */
    int nwaiting;
    ev_tag *chan_tags;          /* one per environment */
    ev_tag doorbell_tag;        /* ours (doorbell.h) */
    ev_tag handback_tag;        /* every multiplexer's, while it accepts */
    ev_tag broker_tag;          /* send ends come from the parent here
                                 * (broker.h, mux_ends.c) */
    int *chan_armed;            /* EPOLLOUT registered for that channel */
    ev_tag *listener_tags;
    int *listen_fds;            /* their descriptors, as an array for
                                 * mux_handback.c (set up once) */
    unsigned long handback_refused; /* since PH00311 was last said */
    long long handback_said_ms;
    int nlisteners;
    ev_tag lifeline_tag;
    int exiting;                /* lifeline closed: finish and exit */
    int nconns;
    mux_conn *spare;            /* free list */
    long long next_reclaim_ms;
    ph_shm_child_stats *child_rec;  /* our figures (MUX region) */
} mux_state;

/* Set by AP_SIG_GRACEFUL (the parent retiring this multiplexer). */
static volatile sig_atomic_t retire_requested;

static void retire_on_signal(int sig)
{
    (void)sig;
    retire_requested = 1;   /* epoll_wait returns EINTR; the loop looks */
}

/* Link mc into l after `after` (NULL: at the head). */
static void list_insert_after(mux_list *l, mux_conn *after, mux_conn *mc)
{
    PH_CHECK_MAGIC(mc, MUX_CONN_MAGIC);
    mc->list = l;
    mc->prev = after;
    mc->next = after ? after->next : l->head;
    if (mc->next) {
        mc->next->prev = mc;
    }
    else {
        l->tail = mc;
    }
    if (after) {
        after->next = mc;
    }
    else {
        l->head = mc;
    }
    l->count++;
}

static void list_append(mux_list *l, mux_conn *mc)
{
    list_insert_after(l, l->tail, mc);
}

static void list_prepend(mux_list *l, mux_conn *mc)
{
    list_insert_after(l, NULL, mc);
}

static void list_remove(mux_conn *mc)
{
    mux_list *l = mc->list;

    PH_CHECK_MAGIC(mc, MUX_CONN_MAGIC);

    if (!l) {
        return;
    }
    if (mc->prev) {
        mc->prev->next = mc->next;
    }
    else {
        l->head = mc->next;
    }
    if (mc->next) {
        mc->next->prev = mc->prev;
    }
    else {
        l->tail = mc->prev;
    }
    mc->prev = mc->next = NULL;
    mc->list = NULL;
    l->count--;
}

static mux_conn *conn_new(mux_state *m, int fd)
{
    mux_conn *mc = m->spare;

    if (mc) {
        m->spare = mc->next;
    }
    else {
        mc = apr_palloc(m->pool, sizeof(*mc));
    }
    memset(mc, 0, sizeof(*mc));
    mc->tag.kind = TAG_CONN;
    mc->tag.fd = fd;
    mc->magic = MUX_CONN_MAGIC;
    m->nconns++;
    return mc;
}

/* Forget a connection; the caller has closed or handed off its fd. */
static void conn_free(mux_state *m, mux_conn *mc)
{
    PH_CHECK_MAGIC(mc, MUX_CONN_MAGIC);
    list_remove(mc);
    mc->magic = 0;
    mc->next = m->spare;
    m->spare = mc;
    m->nconns--;
}

static void conn_close(mux_state *m, mux_conn *mc)
{
    PH_CHECK_MAGIC(mc, MUX_CONN_MAGIC);
    close(mc->tag.fd);      /* also removes it from the epoll set */
    conn_free(m, mc);
}

static void linger_read(mux_state *m, mux_conn *mc);

/* Read and discard until the client closes, then close (so that unread
 * request bytes do not turn our close into a reset that destroys an
 * answer before the client reads it).  What the socket already holds is
 * read now: the peeked bytes are still there, and edge-triggered
 * readiness reports nothing new if the client has finished sending.
 * mc may be freed on return. */
static void conn_linger(mux_state *m, mux_conn *mc)
{
    PH_CHECK_MAGIC(mc, MUX_CONN_MAGIC);
    list_remove(mc);
    mc->state = MC_LINGER;
    mc->deadline_ms = ph_now_ms() + LINGER_MS;
    list_append(&m->lingering, mc);
    linger_read(m, mc);
}

/* Answer status ourselves, then linger.  mc may be freed on return. */
static void conn_reply(mux_state *m, mux_conn *mc, int status)
{
    PH_CHECK_MAGIC(mc, MUX_CONN_MAGIC);
    if (mc->by_address) {
        conn_close(m, mc);      /* not HTTP: a close is the refusal */
        return;
    }
    ph_mux_reply(mc->tag.fd, status, 0, mc->header_only);
    conn_linger(m, mc);
}

/* Parse the peeked head, and remember whether its request line names HEAD
 * (httpd sets header_only as soon as it has the method: every error
 * answer after that has no body). */
static ph_head_verdict ph_head_parse_and_note(mux_conn *mc, const char *buf,
                                              size_t len,
                                              const ph_head_limits *lim,
                                              ph_head *head)
{
    ph_head_verdict v = ph_head_parse(buf, len, lim, head);

    mc->header_only = head->method && head->method_len == 4
                      && !memcmp(head->method, "HEAD", 4);
    return v;
}

static void arm_channel(mux_state *m, int env_index, int on)
{
    struct epoll_event ev;
    int fd = ph_env_by_index(env_index)->chan[0];

    if (m->chan_armed[env_index] == on || fd < 0) {
        return;     /* (an environment armed is never evicted: fd stays) */
    }
    m->chan_tags[env_index].kind = TAG_CHANNEL;
    m->chan_tags[env_index].fd = fd;
    m->chan_tags[env_index].env_index = env_index;
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLOUT;
    ev.data.ptr = &m->chan_tags[env_index];
    if (epoll_ctl(m->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL,
                  fd, &ev) == 0) {
        m->chan_armed[env_index] = on;
    }
}

/* Keep m->waiting the set of environments with connections pending here:
 * added at the end, removed by moving the last one into the hole.  A walk
 * from the end down to 0 therefore sees every environment that was there
 * when it began, once, even when the walk's own work removes or re-adds
 * the one it is at (both touch only positions already passed). */
static void pending_changed(mux_state *m, int env_index, int delta)
{
    mux_list *l = &m->pending[env_index];
    int at = m->waiting_at[env_index];

    if (l->head && !at) {
        m->waiting[m->nwaiting++] = env_index;
        m->waiting_at[env_index] = m->nwaiting;
    }
    else if (!l->head && at) {
        int last = m->waiting[--m->nwaiting];
        m->waiting[at - 1] = last;
        m->waiting_at[last] = at;
        m->waiting_at[env_index] = 0;
    }
    ph_admit_waiting(m->mux_index, env_index, delta,
                     l->head ? l->head->since_ms : 0);
}

static void pending_remove(mux_state *m, mux_conn *mc, int env_index)
{
    PH_CHECK_MAGIC(mc, MUX_CONN_MAGIC);
    list_remove(mc);
    pending_changed(m, env_index, -1);
}

/* A send that failed with rv: if the parent closed env's channels,
 * unused for a while (parent_channels.c), our ends are let go and the new
 * ones asked for.  Returns 1 in that case. */
static int ends_closed(mux_state *m, int env_index, int rv)
{
    if (rv != EPIPE && rv != ECONNREFUSED) {
        return 0;
    }
    arm_channel(m, env_index, 0);
    ph_mux_ends_forget(env_index);
    return 1;
}

/* Send mc to its environment.  Returns 1 if it left this process (sent,
 * or answered 503 because the channel failed), 0 if it must wait. */
static int handoff(mux_state *m, mux_conn *mc, int env_index)
{
    int rv = ph_admit_send(m->mux_index, env_index, mc->tag.fd, &mc->msg);

    PH_CHECK_MAGIC(mc, MUX_CONN_MAGIC);

    if (rv == 0) {
        epoll_ctl(m->epfd, EPOLL_CTL_DEL, mc->tag.fd, NULL);
        conn_close(m, mc);
        return 1;
    }
    if (rv == EAGAIN) {
        /* No free ticket, or the channel is full: watch the channel too,
         * it becomes writable when a processor takes a message. */
        arm_channel(m, env_index, 1);
        return 0;
    }
    if (ends_closed(m, env_index, rv)) {
        return 0;       /* nothing was queued: wait for the new ends */
    }
    ap_log_error(APLOG_MARK, APLOG_ERR, rv, ap_server_conf, PHLOGNO(00302)
                 "cannot hand a connection to environment %s; answering "
                 "503", ph_env_by_index(env_index)->name);
    ph_admit_dropped(env_index, PH_DROP_CHANNEL);
    conn_reply(m, mc, HTTP_SERVICE_UNAVAILABLE);
    return 1;
}

/*
 * The allowed wait for a worker is over: the environment answers 503
 * itself, with httpd in its processors' answer thread (the vhost's
 * ErrorDocument, access and error log, its user), through its answer
 * channel.  Only when that channel is full (a flood: about 20 wait there
 * per environment) or the environment has no processor to read it do we
 * answer ourselves, said in the main error log (PH00361).  A connection
 * we never answer in HTTP/1 (TLS, h2c, a non-HTTP address) is closed, as
 * before.  mc is freed on return.
 */
static void drop_waiting(mux_state *m, mux_conn *mc, int env_index)
{
    long secs = ph_conf.wait_timeout_s > 0 ? ph_conf.wait_timeout_s : 1;

    PH_CHECK_MAGIC(mc, MUX_CONN_MAGIC);

    ph_admit_dropped(env_index, PH_DROP_TIMEOUT);
    if (!mc->by_address) {
        int rv = ph_admit_send_answer(env_index, mc->tag.fd, &mc->msg);
        if (rv == 0) {
            epoll_ctl(m->epfd, EPOLL_CTL_DEL, mc->tag.fd, NULL);
            conn_close(m, mc);  /* our copy: the environment has it */
            return;
        }
        /* this one is answered here, the next through the new ends */
        ends_closed(m, env_index, rv);
    }
    ph_mux_note_wait_over(env_index, secs);
    if (mc->by_address) {
        conn_close(m, mc);
        return;
    }
    ph_mux_reply(mc->tag.fd, HTTP_SERVICE_UNAVAILABLE, (int)secs,
                 mc->header_only);
    conn_linger(m, mc);
}

/* Hand over waiting connections, oldest first, while there is capacity. */
static void flush_pending(mux_state *m, int env_index)
{
    mux_list *l = &m->pending[env_index];

    while (l->head && ph_mux_ends_have(env_index)
           && ph_admit_capacity(env_index) > 0) {
        mux_conn *mc = l->head;
        list_remove(mc);
        pending_changed(m, env_index, -1);
        if (!handoff(m, mc, env_index)) {
            list_prepend(l, mc);        /* arrival order is kept */
            pending_changed(m, env_index, 1);
            return;
        }
        ph_admit_found_capacity(env_index, 1);
    }
    if (!l->head) {
        arm_channel(m, env_index, 0);
    }
}

static void admit(mux_state *m, mux_conn *mc, int env_index)
{
    mux_list *l = &m->pending[env_index];
    long long wait_ms, now;
    /* Not held: asked for now, and the connection waits for the answer as
     * it would for a worker (broker.h). */
    int have = ph_mux_ends_have(env_index);
    int capacity = ph_admit_capacity(env_index) > 0;

    PH_CHECK_MAGIC(mc, MUX_CONN_MAGIC);

    /* Arrival order: never overtake connections already waiting. */
    if (l->count == 0 && have && capacity && handoff(m, mc, env_index)) {
        ph_admit_found_capacity(env_index, 0);
        return;
    }
    wait_ms = ph_admit_wait_ms(env_index);
    if (!have && capacity) {
        /* Only the send ends are missing: no processor is wanted, and
         * the wait for the parent's answer is not AVAIL's to refuse. */
        wait_ms = wait_ms > PH_BROKER_RETRY_MS ? wait_ms
                                                : PH_BROKER_RETRY_MS;
    }
    else {
        ph_admit_want_processor(env_index);
    }
    if (wait_ms <= 0) {
        /* AVAIL is at 0% (or no wait is configured): refuse at once. */
        drop_waiting(m, mc, env_index);
        return;
    }
    now = ph_now_ms();
    list_remove(mc);
    mc->state = MC_PENDING;
    mc->since_ms = now;
    mc->deadline_ms = now + wait_ms;
    if (l->count == 0 || mc->deadline_ms < l->next_due_ms) {
        l->next_due_ms = mc->deadline_ms;
    }
    list_append(l, mc);
    pending_changed(m, env_index, 1);
    /* Counted as waiting before looking again, so a processor that goes
     * idle now either is seen here or sees us waiting and rings. */
    flush_pending(m, env_index);
}

/* What the environment's processor gets with the socket. */
static void set_message(mux_state *m, mux_conn *mc, const ph_route *rt,
                        uint32_t flags)
{
    mc->msg.env_index = (uint32_t)rt->env_index;
    mc->msg.vhost_id = (uint32_t)rt->vhost_id;
    mc->msg.mux_slot = (uint32_t)m->slot;
    mc->msg.flags = flags;
    mc->msg.ticket = 0;
    mc->msg.ticket_gen = 0;
    mc->msg.idle_ms = mc->idle_ms;
    mc->msg.peer = mc->peer;
}

/*
 * A connection none of whose requests routes -- a head httpd refuses, a
 * client too slow or gone -- is one httpd answers (or closes) on the
 * default server of its address: with that server's ErrorDocument, in its
 * access and error logs, with httpd's message ids.  So it goes to that
 * server's environment, whose httpd reads the head itself and answers it
 * exactly as stock; our verdict only decides that it cannot wait for
 * more.  expired: the client's time for its head is over, so what it has
 * sent is all the processor reads (PH_CHAN_F_HEAD_EXPIRED).
 *
 * Only where that server has no environment (nobody may answer for it)
 * do we answer `status` ourselves, or read to the close when it is 0.
 * mc may be freed on return.
 */
static void conn_refer(mux_state *m, mux_conn *mc, int status, int expired)
{
    ph_route rt;

    PH_CHECK_MAGIC(mc, MUX_CONN_MAGIC);

    if (mc->by_address) {
        conn_close(m, mc);      /* not HTTP: a close is the refusal */
        return;
    }
    ph_mux_route_default(m->scratch, mc->tag.fd, &mc->peer, &rt);
    apr_pool_clear(m->scratch);
    if (rt.status) {
        if (status) {
            conn_reply(m, mc, status);
        }
        else {
            conn_linger(m, mc);
        }
        return;
    }
    set_message(m, mc, &rt, expired ? PH_CHAN_F_HEAD_EXPIRED : 0);
    admit(m, mc, rt.env_index);
}

static void route(mux_state *m, mux_conn *mc, const ph_head *head)
{
    ph_route rt;

    PH_CHECK_MAGIC(mc, MUX_CONN_MAGIC);

    ph_mux_route(m->scratch, mc->tag.fd, &mc->peer, head, &rt);
    if (rt.status == HTTP_SERVICE_UNAVAILABLE) {
        /* a vhost no environment serves: nobody else may answer for it;
         * the operator is told who asks for it (rate-limited) */
        char *host = head->host
            ? apr_pstrmemdup(m->scratch, head->host,
                             head->host_len > 200 ? 200 : head->host_len)
            : NULL;
        ph_mux_note_no_env(rt.server,
                           host ? ap_escape_logitem(m->scratch, host) : NULL,
                           mc->tag.fd);
        apr_pool_clear(m->scratch);
        ph_admit_dropped(-1, PH_DROP_NO_ENV);
        conn_reply(m, mc, rt.status);
        return;
    }
    apr_pool_clear(m->scratch);
    if (rt.status) {
        conn_refer(m, mc, rt.status, 0);    /* httpd refuses it too */
        return;
    }
    set_message(m, mc, &rt,
                head->head_complete ? PH_CHAN_F_HEAD_COMPLETE : 0);
    admit(m, mc, rt.env_index);
}

/* A connection on a non-HTTP address (ph_proto.h) is routed at once by
 * its address; returns 0 for an HTTP one, which is peeked at. */
/* Admit a connection we never answer in HTTP/1 ourselves (a non-HTTP
 * address, h2c, TLS: our HTTP/1 text would be noise there), routed to rt.
 * Every refusal of ours (no environment, the peer gone, later the
 * allowed wait over) is a close.  mc may be freed on return. */
static void admit_unanswered(mux_state *m, mux_conn *mc, const ph_route *rt,
                             uint32_t flags)
{
    PH_CHECK_MAGIC(mc, MUX_CONN_MAGIC);

    mc->by_address = 1;
    if (rt->status) {
        if (rt->status == HTTP_SERVICE_UNAVAILABLE) {
            ph_mux_note_no_env(rt->server, NULL, mc->tag.fd);
            ph_admit_dropped(-1, PH_DROP_NO_ENV);
        }
        conn_close(m, mc);
        return;
    }
    set_message(m, mc, rt, flags);
    admit(m, mc, rt->env_index);
}

static int route_by_address(mux_state *m, mux_conn *mc)
{
    ph_route rt;
    int routed;

    PH_CHECK_MAGIC(mc, MUX_CONN_MAGIC);

    routed = ph_mux_route_by_address(m->scratch, mc->tag.fd, &rt);
    apr_pool_clear(m->scratch);
    if (!routed) {
        return 0;
    }
    admit_unanswered(m, mc, &rt, 0);
    return 1;
}

/* An h2c connection with prior knowledge (mux_h2c.c): routed on its first
 * request's :authority, or by address. */
static void route_h2c(mux_state *m, mux_conn *mc, const ph_h2_first *first)
{
    ph_route rt;
    int on_authority;

    PH_CHECK_MAGIC(mc, MUX_CONN_MAGIC);

    on_authority = ph_mux_route_h2c(m->scratch, mc->tag.fd, first, &rt);
    apr_pool_clear(m->scratch);
    admit_unanswered(m, mc, &rt, on_authority ? PH_CHAN_F_H2C : 0);
}

/* Whether buf[0..n) (after any PROXY preamble) is, or may still become,
 * the HTTP/2 preface; if so it is handled (routed, or left to wait for
 * more bytes) and 1 is returned. */
static int peek_h2c(mux_state *m, mux_conn *mc, const char *buf, size_t n,
                    size_t window_left)
{
    ph_h2_first first;

    switch (ph_h2_first_request((const unsigned char *)buf, n, &first)) {
    case PH_H2_NOT_H2:
        return 0;
    case PH_H2_NEED_MORE:
        if (n >= PH_H2_PREFACE_LEN && mc->h2c != 2) {
            mc->preface_ms = ph_now_ms();
        }
        mc->h2c = n >= PH_H2_PREFACE_LEN ? 2 : 1;
        if (!mc->peer_closed && window_left > 0) {
            return 1;
        }
        /* A truncated preface or header block, or one larger than the
         * window: mod_http2 or httpd of the address's default server
         * judges it. */
        first.verdict = PH_H2_BY_ADDRESS;
        break;
    case PH_H2_ROUTABLE:
    case PH_H2_BY_ADDRESS:
        break;
    }
    mc->h2c = 1;
    route_h2c(m, mc, &first);
    return 1;
}

/* A TLS connection (mux_tls.c): routed on its ClientHello's SNI, else by
 * address. */
static void route_tls(mux_state *m, mux_conn *mc, const ph_tls_hello *hello)
{
    ph_route rt;
    int on_sni;

    PH_CHECK_MAGIC(mc, MUX_CONN_MAGIC);

    on_sni = ph_mux_route_tls(m->scratch, mc->tag.fd, hello, &rt);
    apr_pool_clear(m->scratch);
    admit_unanswered(m, mc, &rt, on_sni ? PH_CHAN_F_TLS_SNI : 0);
}

/* On a TLS address, wait for the whole ClientHello (bounded by the peek
 * window and the head-read deadline) and route it.  Returns 0 where the
 * address is not TLS: an HTTP head follows. */
static int peek_tls(mux_state *m, mux_conn *mc, const char *buf, size_t n,
                    size_t window_left)
{
    ph_tls_space space;
    ph_tls_hello hello;
    ph_tls_verdict v;

    if (!mc->facts.tls) {
        return 0;
    }
    space.max_wire = PEEK_WINDOW;
    space.scratch = m->hello_room;
    space.scratch_size = HELLO_ROOM;
    v = ph_tls_hello_parse((const unsigned char *)buf, n, &space, &hello);
    if (v == PH_TLS_NEED_MORE && !mc->peer_closed && window_left > 0) {
        return 1;
    }
    /* Anything but a complete hello (NOT_TLS: plain HTTP on the TLS
     * port, SSLv2, malformed, too big, cut short) is the default
     * server's mod_ssl's to answer, as in stock httpd. */
    route_tls(m, mc, v == PH_TLS_OK ? &hello : NULL);
    return 1;
}

/* The peeking list is kept in deadline order (expire() looks at its head
 * only): insert from the tail, where later deadlines are. */
static void peeking_insert(mux_state *m, mux_conn *mc)
{
    mux_conn *after = m->peeking.tail;

    while (after && after->deadline_ms > mc->deadline_ms) {
        after = after->prev;
    }
    list_insert_after(&m->peeking, after, mc);
}

/* More of the head arrived (n bytes seen in all): as mod_reqtimeout does
 * for the address's default server, each min_rate bytes buy one more
 * second, up to max_ms after the start; under Timeout alone, each read
 * waits Timeout afresh, as a socket read does. */
static void head_progress(mux_state *m, mux_conn *mc, size_t n)
{
    const ph_read_policy *rp = &mc->facts.policy;
    long long deadline;

    if (mc->state != MC_PEEK || n <= mc->peeked) {
        return;
    }
    deadline = mc->deadline_ms;
    if (rp->per_read) {
        deadline = ph_now_ms() + rp->initial_ms;
    }
    else if (rp->min_rate > 0) {
        deadline += (long long)(n - mc->peeked) * 1000 / rp->min_rate;
    }
    if (rp->max_ms > 0 && deadline > mc->accepted_ms + rp->max_ms) {
        deadline = mc->accepted_ms + rp->max_ms;
    }
    mc->peeked = n;
    if (deadline != mc->deadline_ms) {
        list_remove(mc);
        mc->deadline_ms = deadline;
        peeking_insert(m, mc);
    }
}

/* httpd reads the head with the limits, rules and timeouts of the
 * default server of the connection's address, not the main server's, and
 * that address decides whether TLS or a PROXY header comes first: look it
 * up once, and only where some address differs (m->facts_vary).  The
 * deadline becomes the address's own, from the accept on.  Returns 1 if
 * the deadline moved. */
static int address_facts(mux_state *m, mux_conn *mc)
{
    long long before = mc->deadline_ms;

    if (mc->facts_known) {
        return 0;
    }
    mc->facts_known = 1;
    if (m->facts_vary
        && ph_mux_address_facts(m->scratch, mc->tag.fd, &mc->peer,
                                &mc->facts) == 0) {
        list_remove(mc);
        mc->deadline_ms = mc->accepted_ms + mc->facts.policy.initial_ms;
        peeking_insert(m, mc);
    }
    apr_pool_clear(m->scratch);
    return mc->deadline_ms != before;
}

static void peek(mux_state *m, mux_conn *mc)
{
    ph_head_verdict verdict;
    ph_head head;
    size_t skip;
    ssize_t n;

    PH_CHECK_MAGIC(mc, MUX_CONN_MAGIC);

    do {
        n = recv(mc->tag.fd, m->peekbuf, PEEK_WINDOW,
                 MSG_PEEK | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            conn_close(m, mc);
        }
        return;
    }
    if (n == 0) {
        conn_close(m, mc);      /* gone before sending a whole head */
        return;
    }

    address_facts(m, mc);
    head_progress(m, mc, (size_t)n);
    /* A PROXY protocol preamble (a load balancer in front) is for
     * mod_remoteip in the processor, where it reads one (mux_proxy.c);
     * the head after it routes.  Elsewhere it is a bad request line. */
    skip = mc->facts.proxy
           ? ph_head_proxy_preamble(m->peekbuf, (size_t)n)
           : PH_PREAMBLE_NONE;
    if (skip == PH_PREAMBLE_NEED_MORE) {
        if (!mc->peer_closed && n < PEEK_WINDOW) {
            return;
        }
        skip = PH_PREAMBLE_NONE;
    }
    if (peek_tls(m, mc, m->peekbuf + skip, (size_t)n - skip,
                 PEEK_WINDOW - (size_t)n)
        || peek_h2c(m, mc, m->peekbuf + skip, (size_t)n - skip,
                    PEEK_WINDOW - (size_t)n)) {
        return;
    }
    verdict = ph_head_parse_and_note(mc, m->peekbuf + skip,
                                     (size_t)n - skip, &mc->facts.limits,
                                     &head);
    if (verdict == PH_HEAD_ROUTABLE && !head.head_complete
        && n < PEEK_WINDOW) {
        /* The Host is known, but httpd reads the whole head on the
         * address's default server before it picks the vhost: a head
         * that then stalls, breaks off or turns out bad is answered
         * there (conn_refer), not by the Host's environment.  So the
         * rest of the head is waited for, as httpd's reader would. */
        verdict = PH_HEAD_NEED_MORE;
    }
    switch (verdict) {
    case PH_HEAD_ROUTABLE:
    case PH_HEAD_BY_ADDRESS:
        route(m, mc, &head);
        return;
    case PH_HEAD_NEED_MORE:
        if (mc->peer_closed && n < PEEK_WINDOW) {
            /* The client stopped sending (shutdown or close) inside the
             * head: httpd reads to the end of what came and answers
             * (400 when the request line was complete, a close when it
             * was not), at once, without waiting for Timeout. */
            conn_refer(m, mc, head.method ? HTTP_BAD_REQUEST : 0, 0);
        }
        else if (n >= PEEK_WINDOW && head.method) {
            /* The head is larger than we look at and names no Host in
             * its first PEEK_WINDOW bytes: route by address only; the
             * processor parses the whole head and refuses (421) a vhost
             * that is not its own. */
            head.host = NULL;
            head.http_major = 1;
            head.http_minor = 0;
            route(m, mc, &head);
        }
        else if (n >= PEEK_WINDOW) {
            conn_refer(m, mc, HTTP_BAD_REQUEST, 0);
        }
        return;
    case PH_HEAD_URI_TOO_LONG:
        conn_refer(m, mc, HTTP_REQUEST_URI_TOO_LARGE, 0);
        return;
    case PH_HEAD_FIELD_TOO_LONG:
    case PH_HEAD_BAD_REQUEST:
    default:
        conn_refer(m, mc, HTTP_BAD_REQUEST, 0);
        return;
    }
}

static void linger_read(mux_state *m, mux_conn *mc)
{
    char buf[4096];
    ssize_t n;

    PH_CHECK_MAGIC(mc, MUX_CONN_MAGIC);

    for (;;) {
        n = recv(mc->tag.fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        conn_close(m, mc);
        return;
    }
}

/* A connection accepted (or handed back, mux_handback.c): look at its
 * head from the start, as if the client had just connected. */
static void conn_start(mux_state *m, int fd, const struct sockaddr *peer,
                       socklen_t peer_len)
{
    struct epoll_event ev;
    mux_conn *mc;

    mc = conn_new(m, fd);
    ph_chan_peer_set(&mc->peer, peer, peer_len);
    mc->state = MC_PEEK;
    mc->accepted_ms = ph_now_ms();
    mc->facts = m->facts;
    mc->deadline_ms = mc->accepted_ms + mc->facts.policy.initial_ms;
    peeking_insert(m, mc);
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = mc;
    if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        conn_close(m, mc);
        return;
    }
    /* The request often arrives with the connection: look at once. */
    if (!route_by_address(m, mc)) {
        peek(m, mc);
    }
}

static void accept_some(mux_state *m, ev_tag *lt)
{
    int i;

    for (i = 0; i < ACCEPT_BATCH && !m->exiting; i++) {
        struct sockaddr_storage peer;
        socklen_t peer_len = sizeof(peer);
        int fd = accept4(lt->fd, (struct sockaddr *)&peer, &peer_len,
                         SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK
                && errno != ECONNABORTED) {
                ap_log_error(APLOG_MARK, APLOG_ERR, errno, ap_server_conf,
                             PHLOGNO(00303) "accept() failed");
            }
            return;
        }
        if (m->child_rec) {
            atomic_store(&m->child_rec->last_used_ms, ph_now_ms());
            atomic_fetch_add(&m->child_rec->connections, 1);
        }
        conn_start(m, fd, (struct sockaddr *)&peer, peer_len);
    }
}

/* PH00311 at most this often per multiplexer: what a processor sends is
 * its tenant's to choose, and must not fill the server's error log. */
#define HANDBACK_SAY_MS 10000

/* A socket a processor handed back (doorbell.h: on the hand-back doorbell,
 * or, from a hostile one, on ours): routed
 * afresh once mux_handback.c shows it is a connection our listeners
 * accepted; anything else is closed. */
static void handed_back(void *baton, int fd)
{
    mux_state *m = baton;
    struct sockaddr_storage peer;
    socklen_t peer_len = sizeof(peer);
    int rv;

    if (m->exiting) {
        /* Read in the batch in which we stopped accepting (we watch the
         * hand-back doorbell no longer, and our listeners are closed, so
         * it could not be checked): the client sees the connection
         * close, as on any server that stops. */
        close(fd);
        return;
    }
    rv = ph_mux_handback_check(fd, m->listen_fds, m->nlisteners, &peer,
                               &peer_len);
    /* A processor decides where the next request begins: only from a
     * client HandBackFrom lists (handback_from.h says why). */
    if (rv == 0 && !ph_handback_from_allows(ph_handback_from_in_force(),
                                            (struct sockaddr *)&peer)) {
        rv = EACCES;
    }
    if (rv != 0) {
        long long now = ph_now_ms();

        close(fd);
        m->handback_refused++;
        if (m->handback_said_ms && now - m->handback_said_ms < HANDBACK_SAY_MS) {
            return;
        }
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, ap_server_conf,
                     PHLOGNO(00311) "%lu descriptor(s) a processor handed "
                     "back were not connections our listeners accepted from "
                     "a HandBackFrom address: closed (said at most every "
                     "%d s)", m->handback_refused,
                     HANDBACK_SAY_MS / 1000);
        m->handback_refused = 0;
        m->handback_said_ms = now;
        return;
    }
    conn_start(m, fd, (struct sockaddr *)&peer, peer_len);
}

static void stop_accepting(mux_state *m)
{
    int i;

    m->exiting = 1;
    for (i = 0; i < m->nlisteners; i++) {
        epoll_ctl(m->epfd, EPOLL_CTL_DEL, m->listener_tags[i].fd, NULL);
    }
    /* What processors hand back now goes to a multiplexer that stays. */
    epoll_ctl(m->epfd, EPOLL_CTL_DEL, m->handback_tag.fd, NULL);
    /* Close our copies so the next generation gets every connection. */
    ph_child_close_listeners();
    epoll_ctl(m->epfd, EPOLL_CTL_DEL, m->lifeline_tag.fd, NULL);
}

static void expire(mux_state *m)
{
    long long now = ph_now_ms();
    int w;

    while (m->peeking.head && m->peeking.head->deadline_ms <= now) {
        mux_conn *mc = m->peeking.head;
        char probe;

        /* A client that sent nothing was never looked at: its address's
         * own timeout may be another than the main server's. */
        if (address_facts(m, mc)
            && mc->deadline_ms > now) {
            continue;
        }

        if (mc->h2c == 2) {
            /* The whole preface, then a stall before the first request:
             * in stock httpd mod_http2 has had the connection since the
             * preface, and its own timeouts end it (a GOAWAY).  Hand it,
             * by address, to the default server's environment, whose
             * mod_http2 does the same -- on a clock that started at the
             * preface, as stock's did (idle_ms). */
            ph_h2_first first;
            long long idle = now - mc->preface_ms;
            mc->idle_ms = idle <= 0 ? 0
                          : idle > UINT32_MAX ? UINT32_MAX : (uint32_t)idle;
            memset(&first, 0, sizeof(first));
            first.verdict = PH_H2_BY_ADDRESS;
            route_h2c(m, mc, &first);
            continue;
        }
        /* httpd in the environment finds the time over: a partial head
         * gets 408, nothing at all (or part of an h2 preface) a close,
         * logged there.  Where nobody may answer, we do the same,
         * unlogged. */
        if (!mc->h2c && !mc->facts.tls
            && recv(mc->tag.fd, &probe, 1, MSG_PEEK | MSG_DONTWAIT) > 0) {
            conn_refer(m, mc, HTTP_REQUEST_TIME_OUT, 1);
        }
        else {
            conn_refer(m, mc, 0, 1);
        }
    }
    for (w = m->nwaiting - 1; w >= 0; w--) {
        int i = m->waiting[w];
        mux_list *l = &m->pending[i];
        mux_conn *mc, *next;
        long long due = 0;

        if (l->head && ph_admit_capacity(i) <= 0) {
            ph_admit_still_waiting(i);
        }
        else if (l->head) {
            /* Capacity, yet connections wait: a wakeup was lost (the
             * doorbell is the only other way in).  At most a second late,
             * never stuck until ProcessorWaitTimeout. */
            flush_pending(m, i);
        }
        if (!l->head || l->next_due_ms > now) {
            continue;
        }
        /* A last look before refusing anyone: capacity may have appeared
         * in the same instant. */
        flush_pending(m, i);
        for (mc = l->head; mc; mc = next) {
            next = mc->next;
            if (mc->deadline_ms <= now) {
                pending_remove(m, mc, i);
                /* list_remove cleared mc->list; drop_waiting appends it
                 * to the lingering list */
                mc->list = NULL;
                drop_waiting(m, mc, i);
            }
            else if (!due || mc->deadline_ms < due) {
                due = mc->deadline_ms;
            }
        }
        l->next_due_ms = due;
        if (!l->head) {
            arm_channel(m, i, 0);
        }
    }
    /* Only environments a handoff went to are looked at (mux_admit.c) */
    if (now >= m->next_reclaim_ms && ph_admit_unclaimed() > 0) {
        ph_admit_reclaim_lost(m->mux_index);
        m->next_reclaim_ms = now + RECLAIM_EVERY_MS;
    }
    while (m->lingering.head && m->lingering.head->deadline_ms <= now) {
        conn_close(m, m->lingering.head);
    }
}

static int next_timeout(mux_state *m)
{
    long long next = ph_now_ms() + 1000, now = ph_now_ms();
    int w;

    if (m->peeking.head && m->peeking.head->deadline_ms < next) {
        next = m->peeking.head->deadline_ms;
    }
    if (m->lingering.head && m->lingering.head->deadline_ms < next) {
        next = m->lingering.head->deadline_ms;
    }
    for (w = 0; w < m->nwaiting; w++) {
        const mux_list *l = &m->pending[m->waiting[w]];
        if (l->head && l->next_due_ms < next) {
            next = l->next_due_ms;
        }
    }
    return next > now ? (int)(next - now) : 0;
}

/* The loop's state, for the callbacks of mux_ends.c (one loop a
 * process). */
static mux_state *the_mux;

/* Whether env_index's send ends are in use here: connections wait for it,
 * or its channel is armed.  Such ends are never evicted. */
static int ends_busy(int env_index)
{
    return the_mux->pending[env_index].head != NULL
           || the_mux->chan_armed[env_index];
}

static void ends_arrived(int env_index)
{
    flush_pending(the_mux, env_index);
}

static void dispatch(mux_state *m, struct epoll_event *ev)
{
    ev_tag *tag = ev->data.ptr;
    mux_conn *mc;
    int w;

    switch (tag->kind) {
    case TAG_LISTENER:
        accept_some(m, tag);
        return;
    case TAG_LIFELINE:
        stop_accepting(m);
        return;
    case TAG_CHANNEL:
        flush_pending(m, tag->env_index);
        return;
    case TAG_BROKER:
        ph_mux_ends_receive(ends_arrived);
        return;
    case TAG_HANDBACK:
        ph_doorbell_drain(tag->fd, handed_back, m);
        return;
    case TAG_DOORBELL:
        /* Some environment has a free worker: look at those we hold
         * connections for (a ring in vain costs this walk, no more). */
        ph_doorbell_drain(tag->fd, handed_back, m);
        for (w = m->nwaiting - 1; w >= 0; w--) {
            flush_pending(m, m->waiting[w]);
        }
        return;
    case TAG_CONN:
        mc = (mux_conn *)tag;
        if (mc->magic != MUX_CONN_MAGIC) {
            return;     /* closed earlier in this batch */
        }
        if (ev->events & (EPOLLRDHUP | EPOLLHUP)) {
            mc->peer_closed = 1;
        }
        if (mc->state == MC_PEEK) {
            peek(m, mc);
        }
        else if (mc->state == MC_LINGER) {
            linger_read(m, mc);
        }
        /* MC_PENDING: the head is complete; nothing to read now. */
        return;
    }
}

static int setup(mux_state *m, int slot, int mux_index,
                 apr_pool_t *pchild)
{
    struct epoll_event ev;
    ap_listen_rec *lr;
    int i;

    memset(m, 0, sizeof(*m));
    m->slot = slot;
    m->mux_index = mux_index;
    m->child_rec = ph_segment_child_stats(slot);
    m->pool = pchild;
    apr_pool_create(&m->scratch, pchild);
    m->peekbuf = apr_palloc(pchild, PEEK_WINDOW);
    m->hello_room = apr_palloc(pchild, HELLO_ROOM);
    ph_mux_servers_init(pchild);
    ph_mux_proxy_init(pchild);
    ph_mux_drops_init(pchild, ph_envs->nelts);
    ph_mux_head_limits(&m->facts.limits);
    ph_mux_server_policy(ap_server_conf, &m->facts.policy);
    m->facts_vary = ph_mux_limits_vary() || ph_mux_tls_anywhere()
                    || ph_mux_proxy_anywhere();
    if ((m->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        return errno;
    }
    /* Per environment, all zero until an environment is routed to: pages
     * on use (zero_pages.h).  A channel's tag is filled in when it is
     * armed.  Our partitions get our pid on their first use too
     * (ph_shm_partition_own): not here, which would touch a page of every
     * environment's region (ph_shm_layout.h). */
    m->pending = ph_zero_pages(pchild, ph_envs->nelts, sizeof(mux_list));
    m->waiting = ph_zero_pages(pchild, ph_envs->nelts + 1, sizeof(int));
    m->waiting_at = ph_zero_pages(pchild, ph_envs->nelts + 1, sizeof(int));
    ph_admit_init(pchild, ph_envs->nelts);
    m->chan_tags = ph_zero_pages(pchild, ph_envs->nelts, sizeof(ev_tag));
    m->chan_armed = ph_zero_pages(pchild, ph_envs->nelts, sizeof(int));
    for (lr = ap_listeners; lr; lr = lr->next) {
        m->nlisteners++;
    }
    m->listener_tags = apr_pcalloc(pchild, sizeof(ev_tag) * m->nlisteners);
    m->listen_fds = apr_pcalloc(pchild, sizeof(int) * (m->nlisteners + 1));
    for (i = 0, lr = ap_listeners; lr; lr = lr->next, i++) {
        apr_os_sock_t fd;
        apr_os_sock_get(&fd, lr->sd);
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        m->listener_tags[i].kind = TAG_LISTENER;
        m->listener_tags[i].fd = m->listen_fds[i] = fd;
        memset(&ev, 0, sizeof(ev));
        /* Wake one multiplexer per connection, not all of them. */
        ev.events = EPOLLIN | EPOLLEXCLUSIVE;
        ev.data.ptr = &m->listener_tags[i];
        if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            return errno;
        }
    }
    the_mux = m;
    ph_mux_ends_init(pchild, ph_envs->nelts, ph_broker_mux_fd(mux_index),
                     ends_busy);
    m->broker_tag.kind = TAG_BROKER;
    m->broker_tag.fd = ph_broker_mux_fd(mux_index);
    m->broker_tag.env_index = -1;
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.ptr = &m->broker_tag;
    if (m->broker_tag.fd < 0
        || epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->broker_tag.fd, &ev) < 0) {
        return m->broker_tag.fd < 0 ? EBADF : errno;
    }
    /* Our doorbell, ours alone: read after each ring (doorbell.h). */
    m->doorbell_tag.kind = TAG_DOORBELL;
    m->doorbell_tag.fd = ph_doorbell_watch_fd(mux_index);
    m->doorbell_tag.env_index = -1;
    memset(&ev, 0, sizeof(ev));
    /* level-triggered: a drain takes at most PH_DOORBELL_DRAIN_MAX */
    ev.events = EPOLLIN;
    ev.data.ptr = &m->doorbell_tag;
    if (m->doorbell_tag.fd < 0
        || epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->doorbell_tag.fd, &ev) < 0) {
        return m->doorbell_tag.fd < 0 ? EBADF : errno;
    }
    /* The hand-back doorbell, every multiplexer's: EPOLLEXCLUSIVE wakes
     * one of those that wait on it, not all. */
    m->handback_tag.kind = TAG_HANDBACK;
    m->handback_tag.fd = ph_doorbell_handback_watch_fd();
    m->handback_tag.env_index = -1;
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.ptr = &m->handback_tag;
    if (m->handback_tag.fd < 0
        || epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->handback_tag.fd, &ev) < 0) {
        return m->handback_tag.fd < 0 ? EBADF : errno;
    }
    m->lifeline_tag.kind = TAG_LIFELINE;
    m->lifeline_tag.fd = ph_heritage_now.lifeline_fd;
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.ptr = &m->lifeline_tag;
    if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->lifeline_tag.fd, &ev) < 0) {
        return errno;
    }
    return 0;
}

int ph_mux_main(int slot, int mux_index, apr_pool_t *pchild)
{
    struct epoll_event events[MAX_EVENTS];
    mux_state m;
    int rv, i, n;

    if (ph_privs_drop("multiplexer", ap_unixd_config.user_name,
                      ap_unixd_config.user_id, ap_unixd_config.group_id,
                      NULL)) {
        return APEXIT_CHILDFATAL;   /* User is wrong for every child */
    }
    if ((rv = setup(&m, slot, mux_index, pchild)) != 0) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, ap_server_conf,
                     PHLOGNO(00304) "multiplexer in slot %d cannot set up "
                     "its event loop", slot);
        return APEXIT_CHILDSICK;
    }
    ap_update_child_status_from_indexes(slot, 0, SERVER_READY, NULL);
    ph_segment_child_ready(slot, 1);
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf, PHLOGNO(00305)
                 "multiplexer in slot %d ready, pid %" APR_PID_T_FMT, slot,
                 getpid());

    apr_signal(AP_SIG_GRACEFUL, retire_on_signal);
    while (!m.exiting || m.nconns > 0) {
        if (retire_requested && !m.exiting) {
            stop_accepting(&m);
        }
        n = epoll_wait(m.epfd, events, MAX_EVENTS, next_timeout(&m));
        if (n < 0 && errno != EINTR) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, errno, ap_server_conf,
                         PHLOGNO(00306) "epoll_wait failed in multiplexer");
            return APEXIT_CHILDSICK;
        }
        for (i = 0; i < n; i++) {
            dispatch(&m, &events[i]);
        }
        expire(&m);
        ph_alloc_publish();
    }
    ap_update_child_status_from_indexes(slot, 0, SERVER_DEAD, NULL);
    return 0;
}
