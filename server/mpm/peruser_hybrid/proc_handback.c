/*
 * proc_handback.c -- a kept-alive connection whose next request is for
 * another environment's virtual host goes back to a multiplexer, unread,
 * to be routed there as stock httpd would serve it, instead of being
 * answered 421 here (proc_guard.c).
 *
 * Who meets it: a front proxy that shares its idle backend connections
 * between client sessions (haproxy's default `http-reuse safe`, nginx's
 * upstream `keepalive`) sends one tenant's request on a connection a
 * multiplexer gave to another tenant's processor.  Browsers never do on
 * HTTP/1.1.
 *
 * When.  The connection was parked for its next request and is readable
 * again; before httpd reads a byte of it, the head is peeked at
 * (MSG_PEEK: nothing consumed) and parsed with the multiplexers' own
 * parser (head_parse.c), and its virtual host looked up with httpd's vhost
 * code over this process's server list (mux_route.c), where every other
 * environment's vhost is a stub that names no environment of ours.  Only
 * a plain HTTP/1.x connection whose client address is still the one the
 * socket has (no PROXY protocol header read: the multiplexer would not
 * find it again), with nothing read ahead into httpd's filters, and
 * whose head is complete enough to route, on an address the multiplexers
 * route by the request's host (not a `Protocol` address, which they route
 * by address alone: it would come straight back); anything else keeps
 * the 421.  A connection never comes back to a processor for its first
 * request there (only one waiting for its next is handed back), so a
 * multiplexer and a processor that disagree about a host cost one 421,
 * not a loop.
 *
 * Unread also means httpd must not take the next request into its buffers
 * while it finishes the last one: ap_check_pipeline() reads ahead, without
 * blocking, after every response, and a client (or proxy) that sends its
 * next request the moment it has the answer often lands in that read.  The
 * filter below sits right above the core input filter and answers that
 * look-ahead "nothing yet" when the core filter holds no byte already read
 * -- what the core filter itself would answer after a recv() on an empty
 * socket -- so the bytes stay in the kernel, the connection is parked and
 * is at once readable.  Bytes the core filter does hold (two requests that
 * came in one read: real pipelining) are passed up as before, and such a
 * request keeps the 421.
 *
 * How.  The socket goes on the hand-back doorbell, which every accepting
 * multiplexer watches (doorbell.h); this process then
 * forgets the connection without a shutdown (the multiplexer's copy of the
 * socket carries on).  If no doorbell takes it, httpd reads the request
 * and the guard answers 421 as before.
 *
 * Trust: nothing here is believed by the multiplexer (mux_handback.c
 * checks the socket); the decision is this process's own, from its own
 * configuration.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "httpd.h"
#include "apr_strings.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_ssl.h"
#include "util_filter.h"

#include "doorbell.h"
#include "handback_from.h"
#include "ph_config.h"
#include "head_parse.h"
#include "mux.h"
#include "ph_env.h"
#include "ph_log.h"
#include "ph_magic.h"
#include "ph_proto.h"
#include "proc.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

#define KEEP_UNREAD_FILTER "PH_KEEP_UNREAD"

static ap_filter_rec_t *keep_unread_filter;

/* Whether the core input filter below f holds no byte it has read (its
 * brigade holds nothing but empty buckets before the socket's: whatever
 * it read was all passed up; the empty ones are what its line splitting
 * leaves).  Not sure (another filter in between, a bucket of unknown
 * length): no. */
static int core_holds_nothing(const ap_filter_t *f)
{
    const ap_filter_t *core = f->next;
    const core_net_rec *net;
    apr_bucket *b;

    if (!core || core->frec != ap_core_input_filter_handle) {
        return 0;
    }
    net = core->ctx;
    if (!net || !net->in_ctx || !net->in_ctx->b) {
        return 1;           /* it has read nothing at all yet */
    }
    for (b = APR_BRIGADE_FIRST(net->in_ctx->b);
         b != APR_BRIGADE_SENTINEL(net->in_ctx->b); b = APR_BUCKET_NEXT(b)) {
        if (APR_BUCKET_IS_SOCKET(b)) {
            return 1;
        }
        if (b->length != 0) {
            return 0;       /* bytes read, or a bucket of unknown length */
        }
    }
    return 1;
}

/* How much of the next head is peeked at; a head whose routing key
 * (request line and Host) is not within it keeps the 421. */
#define HANDBACK_PEEK 8192

/* Whether httpd's idea of the client is still the socket's peer as the
 * multiplexer accepted it (a PROXY protocol header read by mod_remoteip
 * replaces it, and would not be there to read again). */
static int client_is_peer(const conn_rec *c, const ph_chan_peer *peer)
{
    const apr_sockaddr_t *a = c->client_addr;

    if (!a || a->port != peer->port) {
        return 0;
    }
    if (peer->family == PH_CHAN_PEER_IPV4 && a->family == AF_INET) {
        return !memcmp(&a->sa.sin.sin_addr, peer->addr, 4);
    }
#if APR_HAVE_IPV6
    if (peer->family == PH_CHAN_PEER_IPV6 && a->family == AF_INET6) {
        return !memcmp(&a->sa.sin6.sin6_addr, peer->addr, 16);
    }
#endif
    return 0;
}

/* Whether the connection could be handed back at all (what httpd may
 * hold of the next request is the callers' to check: the look-ahead
 * filter looks at the core filter itself, before httpd has said). */
static int eligible(proc_state *ps, proc_conn *pc)
{
    conn_rec *c = pc->c;

    /* not once this child stops: the multiplexers of its generation are
     * stopping too */
    return ph_doorbells_count() > 0 && !atomic_load(&ps->stopping)
           && c && !c->aborted
           && !(pc->msg.flags & (PH_CHAN_F_H2C | PH_CHAN_F_TLS_SNI))
           && !ap_ssl_conn_is_ssl(c)
           && !strcmp(ap_get_protocol(c), AP_PROTOCOL_HTTP1)
           && !ph_proto_conn_by_address(c)
           && client_is_peer(c, &pc->msg.peer)
           && ph_handback_from_allows(ph_handback_from_in_force(),
                                      (const struct sockaddr *)
                                      &c->client_addr->sa);
}

/* What the next request on a connection is, from a peek at its head. */
typedef enum next_is {
    NEXT_NOTHING = 0,   /* no byte yet, or the client closed */
    NEXT_INCOMPLETE,    /* its routing key is not all there yet */
    NEXT_OURS,          /* ours, or not one to judge here (malformed:
                         * httpd reads it and answers as before) */
    NEXT_FOREIGN        /* another environment's: hand it back */
} next_is;

/* Peek at the next request (nothing consumed) and judge it.  *host: the
 * foreign vhost's name, for the log. */
static next_is judge_next(proc_state *ps, proc_conn *pc, const char **host)
{
    char buf[HANDBACK_PEEK];
    ph_head_limits lim;
    ph_head head;
    server_rec *s;
    apr_pool_t *p;
    ssize_t n;
    int foreign;

    do {
        n = recv(pc->fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
        return NEXT_NOTHING;
    }
    /* the limits the connection's own server applies */
    lim.limit_request_line = (size_t)pc->c->base_server->limit_req_line;
    lim.limit_field_size = (size_t)pc->c->base_server->limit_req_fieldsize;
    lim.limit_fields = (unsigned)pc->c->base_server->limit_req_fields;
    lim.lenient = 0;
    switch (ph_head_parse(buf, (size_t)n, &lim, &head)) {
    case PH_HEAD_ROUTABLE:
        break;
    case PH_HEAD_NEED_MORE:
        /* within the peek: the rest is on its way; beyond it, a head
         * whose key we will not see (httpd reads it) */
        return (size_t)n < sizeof(buf) ? NEXT_INCOMPLETE : NEXT_OURS;
    default:
        return NEXT_OURS;
    }
    /* the same Host as the last request of ours, origin form: ours (the
     * common case, without a vhost look-up) */
    if (head.host && pc->own_host_len == head.host_len
        && head.target_len > 0 && head.target[0] == '/'
        && !memcmp(head.host, pc->own_host, head.host_len)) {
        return NEXT_OURS;
    }
    if (apr_pool_create(&p, pc->pool) != APR_SUCCESS) {
        return NEXT_OURS;
    }
    s = ph_route_server_of(ph_mux_scratch_request(p, pc->c), &head);
    foreign = s && ph_env_of_server(s) != ps->env;
    if (foreign) {
        *host = apr_pstrdup(pc->pool, s->server_hostname
                                      ? s->server_hostname : "(unnamed)");
    }
    apr_pool_destroy(p);
    return foreign ? NEXT_FOREIGN : NEXT_OURS;
}

/* httpd's look-ahead for a pipelined request (a speculative read that
 * does not block) finds nothing the core filter has not already read
 * when the next request is another environment's, or has not come yet
 * (what the core filter would answer too, after a recv()), or not far
 * enough to tell: the connection is parked and judged again when more
 * arrives.  One of ours is read as before, without a round through the
 * listener. */
static apr_status_t keep_unread(ap_filter_t *f, apr_bucket_brigade *bb,
                                ap_input_mode_t mode, apr_read_type_e block,
                                apr_off_t readbytes)
{
    proc_state *ps = f->ctx;
    proc_conn *pc;
    const char *host;

    if (mode == AP_MODE_SPECULATIVE && block == APR_NONBLOCK_READ
        && core_holds_nothing(f) && (pc = ph_guard_conn_of(f->c))
        && eligible(ps, pc) && judge_next(ps, pc, &host) != NEXT_OURS) {
        return APR_EAGAIN;
    }
    return ap_get_brigade(f->next, bb, mode, block, readbytes);
}

int ph_proc_hand_back(proc_state *ps, proc_conn *pc)
{
    const char *host = NULL;
    int rv;

    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);
    PH_CHECK_MAGIC(pc, PROC_CONN_MAGIC);

    if (!eligible(ps, pc) || pc->c->data_in_input_filters
        || judge_next(ps, pc, &host) != NEXT_FOREIGN) {
        return 0;
    }
    /* To whichever multiplexer still accepts (doorbell.h): the one that
     * handed it over may have been retired since. */
    rv = ph_doorbell_hand_back(pc->fd);
    ap_log_cerror(APLOG_MARK, APLOG_DEBUG, rv, pc->c, PHLOGNO(00431)
                  "request for virtual host %s of another environment on a "
                  "kept-alive connection of environment %s: %s", host,
                  ps->env->name, rv == 0 ? "handed back to a multiplexer"
                                         : "no multiplexer took it (421)");
    return rv == 0;
}

void ph_handback_add_filter(proc_state *ps, proc_conn *pc)
{
    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);
    PH_CHECK_MAGIC(pc, PROC_CONN_MAGIC);
    /* after the pre_connection hooks: right above the core input filter,
     * below mod_ssl's and mod_logio's (a TLS connection is never handed
     * back, so it gets none) */
    if (ph_doorbells_count() > 0
        && !(pc->msg.flags & (PH_CHAN_F_H2C | PH_CHAN_F_TLS_SNI))
        && !ap_ssl_conn_is_ssl(pc->c)) {
        ap_add_input_filter_handle(keep_unread_filter, ps, NULL, pc->c);
    }
}

void ph_handback_register_hooks(void)
{
    keep_unread_filter = ap_register_input_filter(KEEP_UNREAD_FILTER,
                                                  keep_unread, NULL,
                                                  AP_FTYPE_NETWORK - 1);
}
