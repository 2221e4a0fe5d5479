/*
 * mux_tls.c -- routing a TLS connection by the server name (SNI) of its
 * ClientHello, before any handshake.
 *
 * On an address whose default server has `SSLEngine on`, every connection
 * is TLS to httpd: mod_ssl reads a ClientHello first.  The multiplexer
 * peeks at it (tls_hello.c, nothing consumed) and picks the vhost the way
 * mod_ssl's SNI callback does: by name among the vhosts of that address
 * (ServerName, ServerAlias, wildcards), the default one when the name
 * matches none.  That vhost's environment gets the untouched socket and
 * its processor does the whole handshake with mod_ssl, with that
 * environment's own keys (which no other process holds).
 *
 * Everything else goes to the environment of the address's default
 * server, whose mod_ssl answers it exactly as stock httpd: no SNI, an
 * SSLv2 hello, a malformed or oversized one (OpenSSL's alert), plain HTTP
 * sent to the TLS port (mod_ssl's 400).  A request on the connection
 * whose Host is another environment's vhost gets 421 from the processor
 * (proc_guard.c), as stock mod_ssl answers a Host that does not match the
 * SNI.
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

int ph_mux_route_tls(apr_pool_t *p, int fd, const ph_tls_hello *hello,
                     ph_route *out)
{
    request_rec *r;
    conn_rec *c;
    ph_env *env;
    int vhost_id, base_id;

    memset(out, 0, sizeof(*out));
    out->env_index = -1;
    if (!(c = ph_mux_scratch_conn(p, fd))) {
        out->status = HTTP_BAD_REQUEST;     /* peer already gone */
        return 0;
    }
    /* mod_ssl compares the name as sent: "bob.test." names no vhost
     * there (httpd's Host parsing would drop the dot), so it stays with
     * the default server, as in stock httpd. */
    if (!hello || hello->verdict != PH_TLS_OK || !hello->has_sni
        || hello->sni_len == 0 || hello->sni[hello->sni_len - 1] == '.') {
        ph_mux_route_base(c, out);
        return 0;
    }
    /* mod_ssl matches the SNI against the names of the address's vhosts
     * as httpd matches a Host (without a port): the same function picks
     * it here.  A name that matches none leaves the default server. */
    r = ph_mux_scratch_request(p, c);
    r->method = "-";
    r->the_request = apr_pstrdup(p, "-");
    r->uri = "/";
    r->proto_num = HTTP_VERSION(1, 1);
    apr_table_setn(r->headers_in, "Host", apr_pstrdup(p, hello->sni));
    ap_update_vhost_from_headers_ex(r, 0);
    env = ph_front_env_of(p, r->server, r->hostname, &vhost_id);
    if (r->status != HTTP_OK || !env || !ph_mux_server_tls(r->server)) {
        /* no such name, or a vhost mod_ssl would not switch to: the
         * handshake is the default server's, as in stock httpd */
        ph_mux_route_base(c, out);
        return 0;
    }
    out->server = r->server;
    out->vhost_id = vhost_id;
    out->env_index = env->index;
    /* not the address's default vhost (which may be another member of
     * the same run, front_runs.h) */
    ph_front_env_of(p, c->base_server, NULL, &base_id);
    return vhost_id != base_id;
}
