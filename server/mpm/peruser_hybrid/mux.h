/*
 * mux.h -- the multiplexer's internal interfaces.
 *
 * A multiplexer is one single-threaded epoll loop (mux_main.c).  For each
 * accepted connection it peeks at the request head (head_parse.c), asks
 * httpd's own vhost code which server_rec the request is for
 * (mux_route.c), and hands the socket to that server's environment over
 * its channel, or answers a canned error itself (mux_reply.c).  It never
 * blocks: a full channel parks the connection on that environment's
 * pending list while every other environment keeps being served.
 */
#ifndef PH_MUX_H
#define PH_MUX_H

#include "httpd.h"

#include "chan_msg.h"
#include "h2_preface.h"
#include "head_parse.h"
#include "tls_hello.h"
#include "ph_config_tree.h"

/* Outcome of routing one request head. */
typedef struct ph_route {
    int status;                 /* 0 = routed; else the HTTP status to send */
    int env_index;              /* when routed */
    int vhost_id;               /* for the channel message and logs */
    server_rec *server;         /* the resolved vhost (also on errors) */
} ph_route;

/*
 * Resolve the request whose head is in `head` (peeked from socket fd) to
 * an environment, exactly as httpd would pick the virtual host: by the
 * local address (IP-based vhosts), then by Host or absolute URI
 * (name-based, ServerAlias, wildcards), honouring StrictHostCheck.
 * Scratch allocations come from p, which the caller clears.  peer (may
 * be NULL): the client as accept() gave it, which stands in for
 * getpeername() once the client reset the connection (ph_sock.h); so
 * for ph_mux_route_default and ph_mux_address_facts.
 */
void ph_mux_route(apr_pool_t *p, int fd, const ph_chan_peer *peer,
                  const ph_head *head, ph_route *out);

/*
 * Route an h2c (prior knowledge) connection whose first request is
 * `first` (mux_h2c.c): on its :authority as on a Host header where the
 * address's default server lets mod_http2 take it, else (and whenever
 * first is not PH_H2_ROUTABLE, or its authority does not route) to the
 * environment of the address's default server, whose httpd answers as
 * stock.  out->status: 0, 503 (that server has no environment) or 400
 * (the peer is gone).  Returns 1 when routed on the :authority (the
 * message then carries PH_CHAN_F_H2C), 0 otherwise.
 */
int ph_mux_route_h2c(apr_pool_t *p, int fd, const ph_h2_first *first,
                     ph_route *out);

/* The server_rec httpd picks for the request whose head is `head` (a
 * PH_HEAD_ROUTABLE verdict), r a scratch request (ph_mux_scratch_request)
 * on its connection, as ph_mux_route does; NULL where httpd refuses the
 * head (400).  Also for a processor on its own connection
 * (proc_handback.c). */
server_rec *ph_route_server_of(request_rec *r, const ph_head *head);

/* mux_proxy.c.  Multiplexer start: the local addresses on which
 * mod_remoteip reads a PROXY protocol header (RemoteIPProxyProtocol). */
void ph_mux_proxy_init(apr_pool_t *p);
/* 1 if some address reads one at all. */
int ph_mux_proxy_anywhere(void);
/* 1 if c's local address reads one. */
int ph_mux_proxy_expected(const conn_rec *c);

/*
 * mux_tls.c: route a TLS connection whose ClientHello is hello (NULL: not complete,
 * or not one the parser accepts): on its SNI as mod_ssl picks the vhost
 * by name among the address's, else to the environment of the address's
 * default server, whose mod_ssl answers as stock.  out->status: 0, 503
 * (no environment) or 400 (the peer is gone).  Returns 1 when routed on
 * the SNI to a vhost other than the default (the message then carries
 * PH_CHAN_F_TLS_SNI), 0 otherwise.
 */
int ph_mux_route_tls(apr_pool_t *p, int fd, const ph_tls_hello *hello,
                     ph_route *out);

/* Whether mod_http2 takes a prior-knowledge connection whose default
 * server is s (Protocols h2c, H2Direct), read from the configuration
 * (mux_h2c.c); ph_mux_server_h2c gives the answer read at start. */
int ph_mux_h2c_direct(server_rec *s);

/* The scratch connection (by fd's local address: c->base_server is the
 * address's default server) and request records the vhost functions run
 * on (mux_route.c); NULL if the socket cannot be looked at. */
conn_rec *ph_mux_scratch_conn(apr_pool_t *p, int fd);
request_rec *ph_mux_scratch_request(apr_pool_t *p, conn_rec *c);

/* Route to c's base server (its address's default vhost): its
 * environment, or status 503 when it has none. */
void ph_mux_route_base(conn_rec *c, ph_route *out);

/*
 * When the connection on fd is for a non-HTTP address (ph_proto.h): fill
 * out (routed to the environment of the address's default vhost, or
 * status 503 when it has none, 400 when the peer is gone) and return 1.
 * Returns 0 for an HTTP connection, whose head is to be peeked at.
 */
int ph_mux_route_by_address(apr_pool_t *p, int fd, ph_route *out);

/*
 * The environment that answers for the connection on fd when no request
 * routes it (a head httpd refuses, a client too slow or gone): the one of
 * its address's default server, which is the server httpd answers such a
 * connection with.  Fills out like ph_mux_route (status 503 when that
 * server has no environment, 400 when the peer is gone).
 */
void ph_mux_route_default(apr_pool_t *p, int fd, const ph_chan_peer *peer,
                          ph_route *out);

/* The limits and rules httpd reads a request head with on a connection
 * whose default server (for its local address) is s: LimitRequestLine,
 * LimitRequestFieldSize, LimitRequestFields, HttpProtocolOptions Unsafe.
 * ph_mux_head_limits gives the main server's. */
void ph_mux_head_limits(ph_head_limits *lim);

/* Multiplexer start, before anything below: what each server's
 * configuration says that no module exports -- its head-read policy
 * (ph_config_read_policy), whether mod_http2 takes h2c with prior
 * knowledge there, whether it speaks TLS -- kept in p for the child's
 * life (mux_route.c). */
void ph_mux_servers_init(apr_pool_t *p);

/* Server s's head-read policy, h2c and TLS, as read at start; whether
 * any server speaks TLS. */
void ph_mux_server_policy(const server_rec *s, ph_read_policy *rp);
int ph_mux_server_h2c(const server_rec *s);
int ph_mux_server_tls(const server_rec *s);
int ph_mux_tls_anywhere(void);

/* 1 if some virtual host reads heads with other limits or rules than the
 * main server: only then must each connection's address be looked at
 * before its head is judged. */
int ph_mux_limits_vary(void);

/* What the local address of a connection decides, before any byte of it
 * is judged: the limits and head-read policy (mod_reqtimeout or Timeout)
 * of the address's default server, whether that server speaks TLS, and
 * whether mod_remoteip reads a PROXY header there. */
typedef struct ph_address_facts {
    ph_head_limits limits;
    ph_read_policy policy;
    int tls;
    int proxy;
} ph_address_facts;

/* The facts for the connection on socket fd.  Returns 0, or -1 (f
 * untouched) if the socket cannot be looked at.  Scratch from p. */
int ph_mux_address_facts(apr_pool_t *p, int fd, const ph_chan_peer *peer,
                         ph_address_facts *f);

/*
 * Write a complete canned response for status (400, 408, 414, 503) with
 * "Connection: close", then shut down the write side.  Never blocks: the
 * response is small enough for any socket send buffer; if it does not fit,
 * the client gets a close.  retry_after > 0 adds a Retry-After header;
 * header_only (a HEAD request) leaves out the body.
 */
void ph_mux_reply(int fd, int status, int retry_after, int header_only);

/* mux_drops.c: the main error log's rate-limited lines about our own 503
 * answers for want of a worker.  Init once at multiplexer start (nenvs:
 * ph_envs->nelts). */
void ph_mux_drops_init(apr_pool_t *p, int nenvs);
void ph_mux_note_wait_over(int env_index, long retry_after);
/* A connection for virtual host s, which has no environment, refused (on
 * fd, host: its Host as sent, escaped for the log, or NULL): a warning in
 * the main error log, at most one per multiplexer per 10 s, with the
 * count and the latest's vhost, Host and client. */
void ph_mux_note_no_env(const server_rec *s, const char *host, int fd);

#endif /* PH_MUX_H */
