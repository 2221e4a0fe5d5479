/*
 * config_proto.c -- which Listen addresses and virtual hosts do not speak
 * HTTP, decided once per generation from the configuration as read.
 *
 * A multiplexer peeks at a request head to pick the virtual host.  A
 * connection of another protocol (mod_echo, an FTP or SMTP module) has
 * no request head: the client may send anything, or wait for the server
 * to speak first.  Such a connection is routed by address alone, to the
 * environment that owns the address's default virtual host -- the vhost
 * httpd itself gives the connection (ap_update_vhost_given_ip) and whose
 * configuration the protocol module reads (c->base_server).
 *
 * A connection is routed by address when (doc/decisions.md, "Non-HTTP
 * protocols"):
 *   1. the Listen that accepted it names a protocol other than http or
 *      https (`Listen 8530 echo`), or
 *   2. its default vhost's protocol (ap_get_server_protocol: the
 *      `Protocol` directive, else the Listen's, as ap_setup_listeners
 *      fills it in) is neither http nor https, or
 *   3. that vhost has no `Protocol` directive of its own and its own
 *      section sets a directive of a connection-protocol module: one that
 *      hooks process_connection and is not part of the HTTP stack (below).
 *      This is what a plain `<VirtualHost *:8530> ProtocolEcho On` needs.
 *
 * Trust: all of it comes from the parent's configuration before any fork;
 * children only read their inherited copy.  Routing by address never
 * widens what a processor may serve: the processor still resolves the
 * vhost itself, and a request read on such a connection is still refused
 * (421) when its vhost is another environment's.
 */
#include <string.h>
#include <strings.h>

#include "httpd.h"
#include "ap_listen.h"
#include "apr_hash.h"
#include "apr_strings.h"
#include "http_config.h"
#include "http_connection.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"

#include "ph_log.h"
#include "ph_module.h"
#include "ph_proto.h"
#include "ph_config_tree.h"
#include "ph_front.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

/* Modules that hook process_connection but serve HTTP (or carry it, as
 * TLS does): their directives in a vhost do not make it non-HTTP. */
static const char *const http_stack[] = {
    "core.c", "http_core.c", "mod_ssl.c", "mod_http2.c", "mod_reqtimeout.c",
    "mod_example_hooks.c", "mod_security2.c", "mod_qos.c", NULL
};

/* server_rec * -> reason (const char *), for vhosts routed by address.
 * Built by ph_proto_resolve; read-only afterwards. */
static apr_hash_t *by_address;
static int any_by_address;

static int is_http(const char *proto)
{
    return !proto || !strcasecmp(proto, "http") || !strcasecmp(proto, "https");
}

static int in_http_stack(const char *module_name)
{
    int i;

    if (!strcmp(module_name, mpm_peruser_hybrid_module.name)) {
        return 1;
    }
    for (i = 0; http_stack[i]; i++) {
        if (!strcmp(module_name, http_stack[i])) {
            return 1;
        }
    }
    return 0;
}

/* Whether module m registered a process_connection hook. */
static int hooks_connection(const module *m)
{
    apr_array_header_t *hooks = ap_hook_get_process_connection();
    const ap_LINK_process_connection_t *link;
    int i;

    if (!hooks) {
        return 0;
    }
    link = (const ap_LINK_process_connection_t *)hooks->elts;
    for (i = 0; i < hooks->nelts; i++) {
        if (link[i].szName && !strcmp(link[i].szName, m->name)) {
            return 1;
        }
    }
    return 0;
}

/* Rule 3: the name of the connection-protocol module configured in s's
 * own section, or NULL (also when s states its Protocol explicitly). */
static const char *protocol_module_of(const server_rec *s)
{
    const ap_directive_t *d, *first;
    const char *found = NULL;
    int top;

    first = ph_config_section_of(s, &top);
    for (d = first; d; d = d->next) {
        module *m = ap_top_module;

        if (!d->directive
            || (top && !strcasecmp(d->directive, "<VirtualHost"))) {
            continue;
        }
        if (!strcasecmp(d->directive, "Protocol")) {
            return NULL;            /* the admin said what it is */
        }
        if (found || d->directive[0] == '<'
            || !ap_find_command_in_modules(d->directive, &m)) {
            continue;
        }
        if (!in_http_stack(m->name) && hooks_connection(m)) {
            found = m->name;
        }
    }
    return found;
}

void ph_proto_resolve(apr_pool_t *p, server_rec *main_server)
{
    ap_listen_rec *lr;
    server_rec *s;

    by_address = apr_hash_make(p);
    any_by_address = 0;
    for (lr = ap_listeners; lr; lr = lr->next) {
        if (!is_http(lr->protocol)) {
            any_by_address = 1;
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, main_server,
                         PHLOGNO(00320) "Listen %pI has protocol %s: its "
                         "connections are routed by address, not peeked "
                         "at", lr->bind_addr, lr->protocol);
        }
    }
    for (s = main_server; s; s = s->next) {
        const char *proto = ap_get_server_protocol(s);
        const char *why = NULL;
        const char *mod;
        const server_rec **key;
        unsigned facts;

        if (ph_front_facts_of(s, &facts)) {
            /* The multiplexers' image: a stub carries neither Protocol
             * nor a protocol module's directives; the parent said. */
            if (facts & PH_FACT_BY_ADDRESS) {
                why = "the parent's configuration (MultiplexerFacts)";
            }
        }
        else if (!is_http(proto)) {
            why = apr_psprintf(p, "Protocol %s", proto);
        }
        else if ((mod = protocol_module_of(s))) {
            why = apr_psprintf(p, "a directive of %s, a connection-protocol "
                               "module", mod);
        }
        if (!why) {
            continue;
        }
        key = apr_palloc(p, sizeof(*key));
        *key = s;
        apr_hash_set(by_address, key, sizeof(*key), why);
        any_by_address = 1;
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, main_server, PHLOGNO(00321)
                     "virtual host %s (%s:%u) serves %s: connections for "
                     "which it is the address's default are routed by "
                     "address, not peeked at",
                     s->server_hostname ? s->server_hostname : "(unnamed)",
                     s->defn_name ? s->defn_name : "main server",
                     s->defn_line_number, why);
    }
}

int ph_proto_any_by_address(void)
{
    return any_by_address;
}

/* The Listen that accepted a connection with local address sa. */
static const ap_listen_rec *listener_of(const apr_sockaddr_t *sa)
{
    const ap_listen_rec *lr, *wild = NULL;

    for (lr = ap_listeners; lr; lr = lr->next) {
        if (!lr->bind_addr || lr->bind_addr->port != sa->port) {
            continue;
        }
        if (apr_sockaddr_equal(lr->bind_addr, sa)) {
            return lr;
        }
        if (apr_sockaddr_is_wildcard(lr->bind_addr)) {
            wild = lr;
        }
    }
    return wild;
}

int ph_proto_conn_by_address(const conn_rec *c)
{
    const ap_listen_rec *lr;
    const server_rec *s = c->base_server;

    if (!any_by_address) {
        return 0;
    }
    if (c->local_addr && (lr = listener_of(c->local_addr))
        && !is_http(lr->protocol)) {
        return 1;
    }
    return ph_proto_server_by_address(s);
}

int ph_proto_server_by_address(const server_rec *s)
{
    return by_address && apr_hash_get(by_address, &s, sizeof(s)) != NULL;
}

void ph_proto_fill_servers(server_rec *main_server)
{
    server_rec *s;
    const server_addr_rec *sar;
    const ap_listen_rec *lr;

    for (s = main_server; s; s = s->next) {
        const char *proto = NULL;

        if (ap_get_server_protocol(s)) {
            continue;
        }
        for (sar = s->addrs; sar && !proto; sar = sar->next) {
            for (lr = ap_listeners; lr && !proto; lr = lr->next) {
                if (lr->bind_addr && sar->host_addr
                    && lr->bind_addr->port == sar->host_port
                    && apr_sockaddr_equal(lr->bind_addr, sar->host_addr)) {
                    proto = lr->protocol;
                }
            }
        }
        ap_set_server_protocol(s, proto ? proto : "http");
    }
}
