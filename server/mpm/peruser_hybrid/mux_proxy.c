/*
 * mux_proxy.c -- on which local addresses mod_remoteip reads a PROXY
 * protocol header (RemoteIPProxyProtocol), so that the multiplexer looks
 * past such a header to route only there.
 *
 * Elsewhere a PROXY line is the request line to httpd, which refuses it
 * (400) on the address's default server -- with that server's
 * ErrorDocument and logs, as stock httpd; routing on the head after it
 * would send it to another vhost's environment instead.
 *
 * mod_remoteip keeps two address lists in the main server's configuration
 * (private to it): `RemoteIPProxyProtocol On` in a section adds the
 * section's addresses to the enabled list and takes them off the
 * disabled one, `Off` the reverse, in the order the directives appear;
 * a connection reads a PROXY header when its local address is compatible
 * with an enabled entry and with no disabled one.  The lists are rebuilt
 * here from the parsed configuration, with the same rules.
 */
#include <string.h>
#include <strings.h>

#include "httpd.h"
#include "apr_network_io.h"
#include "http_config.h"
#include "http_main.h"
#include "util_cfgtree.h"

#include "mux.h"
#include "ph_config_tree.h"

typedef struct proxy_addr {
    apr_sockaddr_t *addr;
    struct proxy_addr *next;
} proxy_addr;

static proxy_addr *enabled, *disabled;

/* mod_remoteip's notion of "the same address" when a list is edited. */
static int same_addr(apr_sockaddr_t *a, apr_sockaddr_t *b)
{
    return a->port == b->port && apr_sockaddr_equal(a, b);
}

/* ... and of a local address matching an entry (wildcards, port 0). */
static int compatible(apr_sockaddr_t *a, apr_sockaddr_t *b)
{
    if (apr_sockaddr_equal(a, b)
        && (a->port == b->port || a->port == 0 || b->port == 0)) {
        return 1;
    }
    return (apr_sockaddr_is_wildcard(a) && (a->port == 0 || a->port == b->port))
           || (apr_sockaddr_is_wildcard(b)
               && (b->port == 0 || b->port == a->port));
}

static void list_drop(proxy_addr **l, apr_sockaddr_t *addr)
{
    for (; *l; l = &(*l)->next) {
        if (same_addr((*l)->addr, addr)) {
            *l = (*l)->next;
            return;
        }
    }
}

static void list_add(apr_pool_t *p, proxy_addr **l, apr_sockaddr_t *addr)
{
    proxy_addr *e;

    for (e = *l; e; e = e->next) {
        if (same_addr(e->addr, addr)) {
            return;
        }
    }
    e = apr_palloc(p, sizeof(*e));
    e->addr = addr;
    e->next = *l;
    *l = e;
}

static void apply(apr_pool_t *p, const server_rec *s, const char *arg)
{
    int on = !strcasecmp(arg, "on");
    server_addr_rec *a;

    for (a = s->addrs; a; a = a->next) {
        list_drop(on ? &disabled : &enabled, a->host_addr);
        list_add(p, on ? &enabled : &disabled, a->host_addr);
    }
}

/* The server whose <VirtualHost> section is d, or NULL. */
static const server_rec *server_of_section(const ap_directive_t *d)
{
    server_rec *s;
    int top;

    for (s = ap_server_conf->next; s; s = s->next) {
        if (ph_config_section_of(s, &top) == d->first_child) {
            return s;
        }
    }
    return NULL;
}

void ph_mux_proxy_init(apr_pool_t *p)
{
    const ap_directive_t *d, *v;

    enabled = disabled = NULL;
    if (!ap_find_linked_module("mod_remoteip.c")) {
        return;
    }
    for (d = ap_conftree; d; d = d->next) {
        if (!d->directive) {
            continue;
        }
        if (!strcasecmp(d->directive, "RemoteIPProxyProtocol") && d->args) {
            apply(p, ap_server_conf, d->args);
        }
        else if (!strcasecmp(d->directive, "<VirtualHost")) {
            const server_rec *s = NULL;
            for (v = d->first_child; v; v = v->next) {
                if (v->directive && v->args
                    && !strcasecmp(v->directive, "RemoteIPProxyProtocol")
                    && (s || (s = server_of_section(d)))) {
                    apply(p, s, v->args);
                }
            }
        }
    }
}

int ph_mux_proxy_expected(const conn_rec *c)
{
    proxy_addr *e;
    int on = 0;

    for (e = enabled; e && !on; e = e->next) {
        on = compatible(e->addr, c->local_addr);
    }
    for (e = disabled; e && on; e = e->next) {
        on = !compatible(e->addr, c->local_addr);
    }
    return on;
}

int ph_mux_proxy_anywhere(void)
{
    return enabled != NULL;
}
