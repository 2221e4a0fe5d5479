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
 * whose head is complete enough to route; anything else keeps the 421.
 *
 * How.  The socket goes on the doorbell of the multiplexer that handed the
 * connection over (doorbell.h), else of any other; this process then
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
#include "http_log.h"
#include "http_protocol.h"
#include "http_ssl.h"

#include "doorbell.h"
#include "head_parse.h"
#include "mux.h"
#include "ph_env.h"
#include "ph_log.h"
#include "ph_magic.h"
#include "proc.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

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

static int eligible(proc_conn *pc)
{
    conn_rec *c = pc->c;

    return ph_doorbells_count() > 0 && c && !c->aborted
           && !c->data_in_input_filters
           && !(pc->msg.flags & (PH_CHAN_F_H2C | PH_CHAN_F_TLS_SNI))
           && !ap_ssl_conn_is_ssl(c)
           && !strcmp(ap_get_protocol(c), AP_PROTOCOL_HTTP1)
           && client_is_peer(c, &pc->msg.peer);
}

/* The virtual host the peeked head is for, if it is another
 * environment's: its name (in p), else NULL. */
static const char *foreign_host(proc_state *ps, proc_conn *pc, apr_pool_t *p)
{
    char buf[HANDBACK_PEEK];
    ph_head_limits lim;
    ph_head head;
    server_rec *s;
    request_rec *r;
    ssize_t n;

    do {
        n = recv(pc->fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
        return NULL;
    }
    /* the limits the connection's own server applies */
    lim.limit_request_line = (size_t)pc->c->base_server->limit_req_line;
    lim.limit_field_size = (size_t)pc->c->base_server->limit_req_fieldsize;
    lim.limit_fields = (unsigned)pc->c->base_server->limit_req_fields;
    lim.lenient = 0;
    if (ph_head_parse(buf, (size_t)n, &lim, &head) != PH_HEAD_ROUTABLE) {
        return NULL;
    }
    r = ph_mux_scratch_request(p, pc->c);
    if (!(s = ph_route_server_of(r, &head)) || ph_env_of_server(s) == ps->env) {
        return NULL;
    }
    return s->server_hostname ? s->server_hostname : "(unnamed)";
}

int ph_proc_hand_back(proc_state *ps, proc_conn *pc)
{
    apr_pool_t *p;
    const char *host;
    int k, first, bells, rv = EBADF;

    PH_CHECK_MAGIC(ps, PROC_STATE_MAGIC);
    PH_CHECK_MAGIC(pc, PROC_CONN_MAGIC);

    if (!eligible(pc)) {
        return 0;
    }
    if (apr_pool_create(&p, pc->pool) != APR_SUCCESS) {
        return 0;
    }
    if (!(host = foreign_host(ps, pc, p))) {
        apr_pool_destroy(p);
        return 0;
    }
    /* The multiplexer that handed it over first (its index is the
     * ticket's high half), then any other. */
    bells = ph_doorbells_count();
    first = (int)(pc->msg.ticket >> 32);
    if (first < 0 || first >= bells) {
        first = 0;
    }
    for (k = 0; k < bells && rv != 0; k++) {
        rv = ph_doorbell_hand_back((first + k) % bells, pc->fd);
    }
    ap_log_cerror(APLOG_MARK, APLOG_DEBUG, rv, pc->c, PHLOGNO(00431)
                  "request for virtual host %s of another environment on a "
                  "kept-alive connection of environment %s: %s", host,
                  ps->env->name, rv == 0 ? "handed back to a multiplexer"
                                         : "no multiplexer took it (421)");
    apr_pool_destroy(p);
    return rv == 0;
}
