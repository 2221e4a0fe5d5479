/*
 * mux_h2c.c -- routing an h2c connection with prior knowledge: a client
 * that starts with the HTTP/2 preface instead of an HTTP/1 head
 * (curl --http2-prior-knowledge, a front proxy speaking cleartext HTTP/2
 * to its backend).
 *
 * mod_http2 takes such a connection in the processor (its
 * process_connection hook peeks the 24-byte preface) only where the
 * address's default server allows it: mod_http2 loaded, `Protocols`
 * naming h2c, and H2Direct not Off (on by default without TLS).  Where it
 * does, the connection is routed on the first request's :authority
 * exactly as an HTTP/1 Host header (ServerAlias, wildcards,
 * StrictHostCheck); mod_http2 in that environment's processor then
 * serves the streams, and a later stream for another environment's vhost
 * gets 421 from proc_guard.c, per stream.
 *
 * Everywhere else -- h2c not allowed there, a first request this
 * multiplexer does not route on (h2_preface.h: malformed frames, HPACK
 * errors, no authority, a header block larger than the peek window), a
 * vhost without an environment, a Host httpd refuses -- the connection
 * goes to the environment of the address's default server, untouched,
 * and httpd there answers exactly as stock httpd would (an HTTP/1 400 to
 * the preface, a GOAWAY, a 400 on the stream), in that server's logs.
 * The multiplexer itself never answers an h2c connection in HTTP/1.
 */
#include <string.h>
#include <strings.h>

#include "httpd.h"
#include "apr_strings.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"
#include "http_protocol.h"
#include "http_vhost.h"

#include "mux.h"
#include "ph_config_tree.h"
#include "ph_env.h"
#include "ph_front.h"
#include "ph_log.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

/* Whether mod_http2 takes a prior-knowledge connection whose default
 * server is s (mod_http2's h2_c1_allows_direct, on a cleartext
 * connection). */
int ph_mux_h2c_direct(server_rec *s)
{
    const char *direct;

    if (!ap_find_linked_module("mod_http2.c")
        || !ap_is_allowed_protocol(NULL, NULL, s, "h2c")) {
        return 0;
    }
    /* mod_http2's server config is private to it: its directive is read
     * again, the vhost's own, else the main server's. */
    direct = ph_config_server_args(s, "H2Direct");
    return !direct || strcasecmp(direct, "off") != 0;  /* unset: on for
                                                         * cleartext */
}

int ph_mux_route_h2c(apr_pool_t *p, int fd, const ph_h2_first *first,
                     ph_route *out)
{
    core_server_config *core;
    request_rec *r;
    conn_rec *c;
    ph_env *env;
    int strict, rc, vhost_id, base_id;

    memset(out, 0, sizeof(*out));
    out->env_index = -1;
    if (!(c = ph_mux_scratch_conn(p, fd))) {
        out->status = HTTP_BAD_REQUEST;     /* peer already gone */
        return 0;
    }
    if (!ph_mux_server_h2c(c->base_server) || first->verdict != PH_H2_ROUTABLE) {
        ph_mux_route_base(c, out);
        return 0;
    }
    r = ph_mux_scratch_request(p, c);
    r->method = apr_pstrdup(p, first->method);
    r->the_request = apr_pstrcat(p, first->method, " ",
                                 first->path[0] ? first->path : "/",
                                 " HTTP/2.0", NULL);
    r->protocol = "HTTP/2.0";
    r->proto_num = HTTP_VERSION(2, 0);
    r->uri = apr_pstrdup(p, first->path[0] == '/' ? first->path : "/");
    /* mod_http2 hands httpd the :authority as the Host field. */
    apr_table_setn(r->headers_in, "Host", apr_pstrdup(p, first->authority));
    core = ap_get_core_module_config(r->server->module_config);
    strict = core->strict_host_check == AP_CORE_CONFIG_ON;
    rc = ap_update_vhost_from_headers_ex(r, strict);
    env = ph_front_env_of(p, r->server, r->hostname, &vhost_id);
    if (r->status != HTTP_OK || (strict && rc != HTTP_OK) || !env
        || (env != ph_front_env_of(p, c->base_server, NULL, &base_id)
            && !ph_mux_server_h2c(r->server))) {
        /* httpd refuses this authority (or serves it nowhere), or it is
         * another environment's vhost that does not itself allow h2c
         * (there the processor runs the connection with that vhost as
         * its base server, proc_guard.c): the default server's
         * environment answers the stream as stock. */
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, c->base_server,
                     PHLOGNO(00350) "h2c connection from %s: the first "
                     "request's authority does not route; handed to the "
                     "address's default server", c->client_ip);
        memset(out, 0, sizeof(*out));
        out->env_index = -1;
        ph_mux_route_base(c, out);
        return 0;
    }
    out->server = r->server;
    out->vhost_id = vhost_id;
    out->env_index = env->index;
    return 1;
}
