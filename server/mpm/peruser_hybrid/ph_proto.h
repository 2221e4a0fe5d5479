/*
 * ph_proto.h -- which connections are not HTTP, so that the multiplexer
 * routes them by address alone instead of peeking at a request head.
 *
 * Decided once per generation by the parent from the configuration as
 * read (config_proto.c), before any child is forked; multiplexers and
 * processors read their inherited copy and never change it.  Nothing a
 * processor writes (shared memory, a channel) feeds into it.
 */
#ifndef PH_PROTO_H
#define PH_PROTO_H

#include "httpd.h"

/*
 * post_config (after ap_setup_listeners gave every vhost a protocol):
 * mark the Listen addresses and the virtual hosts that serve a protocol
 * other than HTTP, and log (debug) each one with the reason.
 */
void ph_proto_resolve(apr_pool_t *p, server_rec *main_server);

/* Nonzero when some Listen or some virtual host is not HTTP: only then
 * does a multiplexer look up a connection's address before peeking. */
int ph_proto_any_by_address(void);

/*
 * Whether connection c, whose base_server was already chosen by
 * ap_update_vhost_given_ip(), is routed by address: the Listen that
 * accepted it (matched by its local address) names a protocol other than
 * http/https, or its default vhost (c->base_server) serves one.
 */
int ph_proto_conn_by_address(const conn_rec *c);

/* Whether connections for which s is the address's default vhost are
 * routed by address (rules 2 and 3 of config_proto.c). */
int ph_proto_server_by_address(const server_rec *s);

/*
 * open_logs in an exec'd factory, which binds nothing and so never calls
 * ap_setup_listeners: give each server without a `Protocol` its Listen's
 * protocol (the Listen of one of its addresses), else http, as
 * ap_setup_listeners does.  mod_ssl turns TLS on for an https server with
 * a certificate and no SSLEngine line; without this a factory's would not.
 */
void ph_proto_fill_servers(server_rec *main_server);

#endif /* PH_PROTO_H */
