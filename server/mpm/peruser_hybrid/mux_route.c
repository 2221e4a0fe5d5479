/*
 * mux_route.c -- from a peeked request head to an environment, using
 * httpd's own virtual host functions on a minimal connection and request.
 *
 * The records built here are scratch: they exist only so that
 * ap_update_vhost_given_ip() and ap_update_vhost_from_headers_ex() can run
 * in the multiplexer exactly as they run in ap_read_request(), so that
 * ServerAlias, wildcards, IP-based vhosts and StrictHostCheck behave as in
 * stock httpd.  The processor that gets the connection resolves the vhost
 * again from the real request and refuses (421) one that is not its own,
 * so a routing mistake here can never serve a request as the wrong user.
 */
#include <string.h>
#include <sys/socket.h>

#include "httpd.h"
#include "apr_hash.h"
#include "apr_portable.h"
#include "apr_strings.h"
#include "apr_uri.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"
#include "http_protocol.h"
#include "http_request.h"
#include "http_vhost.h"

#include "mux.h"
#include "ph_env.h"
#include "ph_front.h"
#include "ph_proto.h"
#include "ph_sock.h"

static int parses_unsafe(server_rec *s)
{
    core_server_config *core = ap_get_core_module_config(s->module_config);
    return core->http_conformance == AP_HTTP_CONFORMANCE_UNSAFE;
}

/* httpd reads the request line and the header fields with the limits of
 * r->server, which is still the connection's base server then. */
static void limits_of(server_rec *s, ph_head_limits *lim)
{
    lim->limit_request_line = (size_t)s->limit_req_line;
    lim->limit_field_size = (size_t)s->limit_req_fieldsize;
    lim->limit_fields = (unsigned)s->limit_req_fields;
    lim->lenient = parses_unsafe(s);
}

/* Servers seen so far all in env (NULL: none seen yet); mixed once two
 * differ or one has no environment. */
typedef struct env_scan {
    ph_env *env;
    int mixed;
} env_scan;

static int scan_env(void *baton, conn_rec *c, server_rec *s)
{
    env_scan *scan = baton;
    ph_env *env = ph_front_sole_env(s);

    (void)c;
    if (!env || (scan->env && env != scan->env)) {
        scan->mixed = 1;
        return 1;
    }
    scan->env = env;
    return 0;
}

/* 1 if every server is served in one environment (drop-in mode, or all
 * vhosts in one <Processor>): no head then needs its Host to route. */
static int one_environment(void)
{
    env_scan scan = { NULL, 0 };
    server_rec *s;

    for (s = ap_server_conf; s && !scan.mixed; s = s->next) {
        scan_env(&scan, NULL, s);
    }
    return !scan.mixed;
}

/*
 * lenient: a head the strict rules refuse goes to httpd in the processor,
 * routed by the address alone.  Where the address's server is Unsafe,
 * httpd may accept it; where every vhost of the address is in one
 * environment, routing by address loses nothing and httpd answers it
 * exactly as stock -- or a protocol module there (mod_echo, ...) serves
 * bytes that are no HTTP at all.
 */
void ph_mux_head_limits(ph_head_limits *lim)
{
    limits_of(ap_server_conf, lim);
    lim->lenient = lim->lenient || one_environment();
}

/* What the multiplexer asks of each server that no module exports, read
 * from the configuration tree once when the multiplexer starts:
 * connections look theirs up, they must not walk the tree
 * (server_rec * -> server_traits). */
typedef struct server_traits {
    ph_read_policy policy;      /* mod_reqtimeout's header=, or Timeout */
    int h2c;                    /* mod_http2 takes h2c prior knowledge */
    int tls;                    /* SSLEngine on */
} server_traits;

static apr_hash_t *traits;
static int any_tls;

static void traits_read(server_rec *s, server_traits *t)
{
    unsigned facts;

    ph_config_read_policy(s, &t->policy);
    if (ph_front_facts_of(s, &facts)) {
        /* The multiplexers' own image: its stubs carry no SSLEngine (it
         * would want the vhost's key) nor H2Direct; the parent said. */
        t->h2c = (facts & PH_FACT_H2C) != 0;
        t->tls = (facts & PH_FACT_TLS) != 0;
        return;
    }
    t->h2c = ph_mux_h2c_direct(s);
    t->tls = ph_config_ssl_engine(s);
}

void ph_mux_servers_init(apr_pool_t *p)
{
    server_rec *s;

    traits = apr_hash_make(p);
    any_tls = 0;
    for (s = ap_server_conf; s; s = s->next) {
        const server_rec **key = apr_palloc(p, sizeof(*key));
        server_traits *t = apr_palloc(p, sizeof(*t));

        *key = s;
        traits_read(s, t);
        any_tls = any_tls || t->tls;
        apr_hash_set(traits, key, sizeof(*key), t);
    }
}

/* s's traits, as read at start (into *spare for a server that was not
 * there then: not expected, every server is). */
static const server_traits *traits_of(const server_rec *s,
                                      server_traits *spare)
{
    const server_traits *t = traits ? apr_hash_get(traits, &s, sizeof(s))
                                    : NULL;

    if (!t) {
        traits_read((server_rec *)s, spare);
        t = spare;
    }
    return t;
}

void ph_mux_server_policy(const server_rec *s, ph_read_policy *rp)
{
    server_traits spare;

    *rp = traits_of(s, &spare)->policy;
}

int ph_mux_server_h2c(const server_rec *s)
{
    server_traits spare;

    return traits_of(s, &spare)->h2c;
}

int ph_mux_server_tls(const server_rec *s)
{
    server_traits spare;

    return traits_of(s, &spare)->tls;
}

int ph_mux_tls_anywhere(void)
{
    return any_tls;
}

int ph_mux_limits_vary(void)
{
    ph_head_limits main_lim, lim;
    ph_read_policy main_rp, rp;
    server_rec *s;

    if (!one_environment()) {
        return 1;   /* which addresses have one environment: per address */
    }
    limits_of(ap_server_conf, &main_lim);
    ph_mux_server_policy(ap_server_conf, &main_rp);
    for (s = ap_server_conf->next; s; s = s->next) {
        limits_of(s, &lim);
        ph_mux_server_policy(s, &rp);
        if (lim.limit_request_line != main_lim.limit_request_line
            || lim.limit_field_size != main_lim.limit_field_size
            || lim.limit_fields != main_lim.limit_fields
            || lim.lenient != main_lim.lenient
            || rp.initial_ms != main_rp.initial_ms
            || rp.max_ms != main_rp.max_ms
            || rp.min_rate != main_rp.min_rate
            || rp.per_read != main_rp.per_read) {
            return 1;
        }
    }
    return 0;
}

/* A connection record with just what the vhost code and logging read.
 * peer: the client's address from accept(), which is the only one left
 * once it reset the connection (ph_sock.h); may be NULL. */
static conn_rec *scratch_conn(apr_pool_t *p, int fd, const ph_chan_peer *peer)
{
    apr_socket_t *sock = NULL;
    conn_rec *c;

    if (ph_sock_wrap(&sock, &fd, peer, p) != APR_SUCCESS) {
        return NULL;
    }
    c = apr_pcalloc(p, sizeof(*c));
    c->pool = p;
    c->base_server = ap_server_conf;
    c->notes = apr_table_make(p, 1);
    c->conn_config = ap_create_conn_config(p);
    if (apr_socket_addr_get(&c->local_addr, APR_LOCAL, sock) != APR_SUCCESS
        || apr_socket_addr_get(&c->client_addr, APR_REMOTE, sock)
               != APR_SUCCESS) {
        apr_os_sock_t none = -1;
        apr_os_sock_put(&sock, &none, p);
        return NULL;
    }
    /* The descriptor stays the multiplexer's: detach it so that clearing
     * the scratch pool (which runs APR's socket cleanup) closes nothing. */
    {
        apr_os_sock_t none = -1;
        apr_os_sock_put(&sock, &none, p);
    }
    apr_sockaddr_ip_get(&c->local_ip, c->local_addr);
    apr_sockaddr_ip_get(&c->client_ip, c->client_addr);
    c->log_id = NULL;
    ap_update_vhost_given_ip(c);
    return c;
}

/*
 * A request record for the vhost functions.  They log through it
 * (ap_log_rerror: "Replacing host header ...", malformed Host, strict
 * checks), and logging hands it to every module's generate_log_id and
 * error_log hooks, which may read any field a request always has
 * (mod_unique_id reads r->subprocess_env).  So every table and field that
 * ap_create_request() sets is set here; its create_request hooks are not
 * run: no module gets per-request state in a multiplexer.
 */
static request_rec *scratch_request(apr_pool_t *p, conn_rec *c)
{
    request_rec *r = apr_pcalloc(p, sizeof(*r));

    r->pool = p;
    r->connection = c;
    r->server = c->base_server;
    r->request_time = apr_time_now();
    r->status = HTTP_OK;
    r->allowed_methods = ap_make_method_list(p, 1);
    r->headers_in = apr_table_make(p, 2);
    r->trailers_in = apr_table_make(p, 1);
    r->subprocess_env = apr_table_make(p, 1);
    r->headers_out = apr_table_make(p, 1);
    r->err_headers_out = apr_table_make(p, 1);
    r->trailers_out = apr_table_make(p, 1);
    r->notes = apr_table_make(p, 1);
    r->request_config = ap_create_request_config(p);
    r->per_dir_config = r->server->lookup_defaults;
    r->read_body = REQUEST_NO_BODY;
    r->used_path_info = AP_REQ_DEFAULT_PATH_INFO;
    r->useragent_addr = c->client_addr;
    r->useragent_ip = c->client_ip;
    return r;
}

int ph_mux_address_facts(apr_pool_t *p, int fd, const ph_chan_peer *peer,
                         ph_address_facts *f)
{
    conn_rec *c = scratch_conn(p, fd, peer);
    env_scan scan = { NULL, 0 };

    if (!c) {
        return -1;
    }
    limits_of(c->base_server, &f->limits);
    ph_mux_server_policy(c->base_server, &f->policy);
    ap_vhost_iterate_given_conn(c, scan_env, &scan);
    f->limits.lenient = f->limits.lenient || !scan.mixed;
    f->tls = ph_mux_server_tls(c->base_server);
    f->proxy = ph_mux_proxy_expected(c);
    return 0;
}

conn_rec *ph_mux_scratch_conn(apr_pool_t *p, int fd)
{
    return scratch_conn(p, fd, NULL);
}

request_rec *ph_mux_scratch_request(apr_pool_t *p, conn_rec *c)
{
    return scratch_request(p, c);
}

/* Fill r->uri and r->hostname from the request-target, as ap_parse_uri
 * would: origin-form gives a path, absolute-form a host and a path,
 * authority-form (CONNECT) a host. */
static int parse_target(request_rec *r, const ph_head *head)
{
    char *target = apr_pstrmemdup(r->pool, head->target, head->target_len);
    apr_uri_t uri;

    if (head->method_len == 7 && !memcmp(head->method, "CONNECT", 7)) {
        if (apr_uri_parse_hostinfo(r->pool, target, &uri) != APR_SUCCESS) {
            return HTTP_BAD_REQUEST;
        }
        r->hostname = uri.hostname;
        r->uri = "/";
        return OK;
    }
    if (target[0] == '/' || !strcmp(target, "*")) {
        char *q = strchr(target, '?');
        if (q) {
            *q = '\0';
        }
        r->uri = target;
        return OK;
    }
    if (apr_uri_parse(r->pool, target, &uri) != APR_SUCCESS
        || !uri.hostname) {
        return HTTP_BAD_REQUEST;
    }
    /* httpd takes the host from an absolute URI only when its scheme is
     * the connection's own (ap_parse_uri): "https://bob/" on a plain
     * connection goes by Host like any other request, and a scheme that
     * is neither http nor https is refused (400) by the vhost Host
     * names, which then also logs it. */
    if (uri.scheme && !ap_cstr_casecmp(uri.scheme, ap_http_scheme(r))) {
        r->hostname = uri.hostname;
    }
    r->uri = uri.path ? uri.path : "/";
    return OK;
}

/* Method, version, target and Host of a head parsed to the end of its
 * routing key; HTTP_BAD_REQUEST where httpd would refuse it. */
static int route_fields(request_rec *r, const ph_head *head)
{
    r->method = apr_pstrmemdup(r->pool, head->method, head->method_len);
    r->the_request = apr_pstrdup(r->pool, r->method);
    r->proto_num = HTTP_VERSION(head->http_major, head->http_minor);
    if (parse_target(r, head) != OK) {
        return HTTP_BAD_REQUEST;
    }
    if (head->host) {
        apr_table_setn(r->headers_in, "Host",
                       apr_pstrmemdup(r->pool, head->host, head->host_len));
    }
    else if (r->proto_num >= HTTP_VERSION(1, 1) && !r->hostname) {
        /* HTTP/1.1 requires Host; httpd answers 400 (RFC 9112 3.2). */
        return HTTP_BAD_REQUEST;
    }
    return OK;
}

server_rec *ph_route_server_of(request_rec *r, const ph_head *head)
{
    core_server_config *core;
    int strict, rc;

    if (head->verdict == PH_HEAD_BY_ADDRESS) {
        /* httpd's Unsafe parser judges this head in the processor; the
         * address alone (IP-based vhosts, else the address's default
         * server) picks the environment. */
        r->method = "-";
        r->the_request = apr_pstrdup(r->pool, "-");
        r->uri = "/";
        r->proto_num = HTTP_VERSION(1, 0);
    }
    else if (route_fields(r, head) != OK) {
        return NULL;
    }
    core = ap_get_core_module_config(r->server->module_config);
    strict = core->strict_host_check == AP_CORE_CONFIG_ON;
    rc = ap_update_vhost_from_headers_ex(r, strict);
    if (r->status != HTTP_OK || (strict && rc != HTTP_OK)) {
        return NULL;
    }
    return r->server;
}

void ph_mux_route(apr_pool_t *p, int fd, const ph_chan_peer *peer,
                  const ph_head *head, ph_route *out)
{
    request_rec *r;
    conn_rec *c;
    ph_env *env;
    int routed;

    memset(out, 0, sizeof(*out));
    out->env_index = -1;
    if (!(c = scratch_conn(p, fd, peer))) {
        out->status = HTTP_BAD_REQUEST;     /* peer already gone */
        return;
    }

    r = scratch_request(p, c);
    routed = ph_route_server_of(r, head) != NULL;
    out->server = r->server;
    if (!routed) {
        out->status = HTTP_BAD_REQUEST;
        return;
    }

    env = ph_front_env_of(p, r->server, r->hostname, &out->vhost_id);
    if (!env) {
        out->status = HTTP_SERVICE_UNAVAILABLE;
        return;
    }
    out->env_index = env->index;
}

void ph_mux_route_base(conn_rec *c, ph_route *out)
{
    ph_env *env;

    /* no name: a run's first member, the address's default vhost */
    out->server = c->base_server;
    if (!(env = ph_front_env_of(c->pool, c->base_server, NULL,
                                &out->vhost_id))) {
        out->status = HTTP_SERVICE_UNAVAILABLE;
        return;
    }
    out->env_index = env->index;
}

/* A connection whose address is not HTTP (ph_proto.h): its environment is
 * the one that owns the address's default vhost, as httpd gives it to the
 * connection; no request head is looked for. */
int ph_mux_route_by_address(apr_pool_t *p, int fd, ph_route *out)
{
    conn_rec *c;

    memset(out, 0, sizeof(*out));
    out->env_index = -1;
    if (!ph_proto_any_by_address()) {
        return 0;
    }
    if (!(c = scratch_conn(p, fd, NULL))) {
        out->status = HTTP_BAD_REQUEST;     /* peer already gone */
        return 1;
    }
    if (!ph_proto_conn_by_address(c)) {
        return 0;
    }
    ph_mux_route_base(c, out);
    return 1;
}

void ph_mux_route_default(apr_pool_t *p, int fd, const ph_chan_peer *peer,
                          ph_route *out)
{
    conn_rec *c;

    memset(out, 0, sizeof(*out));
    out->env_index = -1;
    if (!(c = scratch_conn(p, fd, peer))) {
        out->status = HTTP_BAD_REQUEST;     /* peer already gone */
        return;
    }
    ph_mux_route_base(c, out);
}
