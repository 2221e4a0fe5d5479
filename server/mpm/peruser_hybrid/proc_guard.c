/*
 * proc_guard.c -- the check that makes a wrong-user response impossible.
 *
 * Every request a processor child reads has its virtual host resolved by
 * httpd itself (ap_read_request) before any handler runs.  If that vhost
 * belongs to another environment -- a kept-alive connection asking for
 * another customer's site, or any routing mistake -- the request is
 * answered 421 Misdirected Request (RFC 9110 15.5.20) and the connection
 * is closed, so the client retries on a fresh connection that the
 * multiplexer routes correctly.  The environment compared against comes
 * from this process's own configuration, never from shared memory.
 *
 * A request that fails httpd's checks after its vhost was chosen and
 * before post_read_request never reaches this hook; proc_confine.c makes
 * sure there is nothing of another environment for it to reach.  The
 * later hooks below refuse such a request again at every stage.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_connection.h"
#include "http_log.h"
#include "http_main.h"
#include "http_protocol.h"
#include "http_request.h"

#include "ph_clock.h"
#include "ph_log.h"
#include "ph_magic.h"
#include "ph_segment.h"
#include "ph_module.h"
#include "ph_proto.h"
#include "proc.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

/* Set once per processor child before its first connection; NULL in the
 * parent and in multiplexers (which never run request hooks). */
static const ph_env *serving_env;

void ph_guard_set_env(const ph_env *env)
{
    PH_CHECK_MAGIC(env, PH_ENV_MAGIC);
    serving_env = env;
}

void ph_guard_bind_conn(conn_rec *c, proc_conn *pc)
{
    PH_CHECK_MAGIC(pc, PROC_CONN_MAGIC);
    ap_set_module_config(c->conn_config, &mpm_peruser_hybrid_module, pc);
}

proc_conn *ph_guard_conn_of(conn_rec *c)
{
    return ap_get_module_config(c->conn_config, &mpm_peruser_hybrid_module);
}

static int my_slot = -1;

/* This child's "finish and exit" flag (proc.h), for the keep-alive rule
 * below; NULL outside processors. */
static atomic_int *stopping_flag;

void ph_guard_set_stopping_flag(atomic_int *flag)
{
    stopping_flag = flag;
}

void ph_guard_set_slot(int slot)
{
    my_slot = slot;
}

/* Figures for pstat and mod_status (advisory, see ph_shm_layout.h). */
static void count_request(int misdirected)
{
    ph_shm_env_stats *env = ph_segment_env_stats(serving_env->index);
    ph_shm_child_stats *child = ph_segment_child_stats(my_slot);

    if (env) {
        atomic_fetch_add(misdirected ? &env->misdirected : &env->requests,
                         1);
    }
    if (child && !misdirected) {
        atomic_fetch_add(&child->requests, 1);
        atomic_store(&child->last_used_ms, ph_now_ms());
    }
}

/* Whether this process must not act for r's virtual host.  Answered from
 * the binding map built from the configuration as read (env_registry.c),
 * not from r->server's module_config, which proc_confine.c replaced for
 * exactly those vhosts. */
static int is_foreign(const request_rec *r)
{
    return serving_env && ph_env_of_server(r->server) != serving_env;
}

static const char *vhost_name(const request_rec *r)
{
    if (ph_env_stub_weight(r->server) > 1 && r->hostname) {
        return r->hostname;     /* one of the names of a merged stub */
    }
    return r->server->server_hostname ? r->server->server_hostname
                                      : "(unnamed)";
}

/* The keep-alive wait after r, as stock event picks it: r's vhost's own
 * KeepAliveTimeout where that vhost sets one, else the connection's base
 * server's (the address's default vhost; in this environment's
 * configuration its stub, which carries the line: envconf_write.c). */
static apr_interval_time_t ka_timeout_of(const request_rec *r)
{
    if (r->server->keep_alive_timeout_set) {
        return r->server->keep_alive_timeout;
    }
    return r->connection->base_server->keep_alive_timeout;
}

/* Remember r's Host field as sent, when it is the whole routing key (an
 * origin-form target), for proc_handback.c's quick test of the next
 * request on the connection. */
static void note_own_host(proc_conn *pc, const request_rec *r)
{
    const char *host = apr_table_get(r->headers_in, "Host");
    size_t len = host ? strlen(host) : 0;

    pc->own_host_len = 0;
    if (host && len > 0 && len <= sizeof(pc->own_host) && r->unparsed_uri
        && r->unparsed_uri[0] == '/') {
        memcpy(pc->own_host, host, len);
        pc->own_host_len = len;
    }
}

int ph_guard_post_read_request(request_rec *r)
{
    const ph_env *wanted;
    proc_conn *pc;

    if (!serving_env) {
        return DECLINED;
    }
    if (r->main || r->prev) {
        /* A subrequest or an internal redirect (an ErrorDocument, say)
         * keeps its parent's vhost, which was checked when it was read --
         * unless the parent is an error answered before that check. */
        return is_foreign(r) ? HTTP_MISDIRECTED_REQUEST : DECLINED;
    }
    pc = ph_guard_conn_of(r->connection);
    wanted = ph_env_of_server(r->server);
    if (wanted == serving_env) {
        if (pc) {
            ap_assert(pc->magic == PROC_CONN_MAGIC);
            pc->ka_timeout_ms = apr_time_as_msec(ka_timeout_of(r));
            note_own_host(pc, r);
        }
        if (pc && (pc->msg.flags & PH_CHAN_F_WAIT_OVER)) {
            /* our vhost, but no worker was free in time: 503 */
            return ph_answer_refuse(r);
        }
        if (stopping_flag && atomic_load(stopping_flag)) {
            /* A graceful restart or retirement: serve this request, and
             * tell the client to open its next connection elsewhere. */
            r->connection->keepalive = AP_CONN_CLOSE;
        }
        count_request(0);
        return DECLINED;
    }
    count_request(1);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, PHLOGNO(00430)
                  "request for virtual host %s (environment %s) arrived on "
                  "a connection served by environment %s: 421",
                  vhost_name(r),
                  wanted ? wanted->name
                  : ph_env_is_stub(r->server) ? "another" : "(none)",
                  serving_env->name);
    r->connection->keepalive = AP_CONN_CLOSE;
    return HTTP_MISDIRECTED_REQUEST;
}

/*
 * Defence in depth behind proc_confine.c: whatever path a request of a
 * foreign vhost takes (main request, subrequest, internal redirect), no
 * handler runs for it and no filter is inserted for it (fixups come before
 * insert_filter), no access log records it, and its connection ends after
 * the answer.
 */
static int refuse_foreign(request_rec *r, const char *stage)
{
    if (!is_foreign(r)) {
        return DECLINED;
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, PHLOGNO(00441)
                  "%s refused for virtual host %s of another environment "
                  "(this processor serves %s)", stage, vhost_name(r),
                  serving_env->name);
    r->connection->keepalive = AP_CONN_CLOSE;
    return HTTP_MISDIRECTED_REQUEST;
}

static int guard_quick_handler(request_rec *r, int lookup)
{
    (void)lookup;
    return refuse_foreign(r, "quick handler");
}

static int guard_fixups(request_rec *r)
{
    return refuse_foreign(r, "request processing");
}

static int guard_handler(request_rec *r)
{
    return refuse_foreign(r, "handler");
}

/* What the environment answered, for pstat's bytes/s and 4xx/5xx rates
 * (advisory, like count_request).  Every response this processor logs for
 * its own vhosts counts, the ones refused before post_read_request (400,
 * 408 ...) and the answer thread's 503s included, as in an access log. */
static void count_response(const request_rec *r)
{
    ph_shm_env_stats *env = ph_segment_env_stats(serving_env->index);
    ph_shm_child_stats *child = ph_segment_child_stats(my_slot);
    uint64_t bytes = r->bytes_sent > 0 ? (uint64_t)r->bytes_sent : 0;
    int cls = r->status / 100;

    if (env) {
        atomic_fetch_add(&env->bytes_sent, bytes);
        if (cls == 4 || cls == 5) {
            atomic_fetch_add(cls == 4 ? &env->responses_4xx
                                      : &env->responses_5xx, 1);
        }
    }
    if (child) {
        atomic_fetch_add(&child->bytes_sent, bytes);
        if (cls == 4 || cls == 5) {
            atomic_fetch_add(cls == 4 ? &child->responses_4xx
                                      : &child->responses_5xx, 1);
        }
    }
}

static int guard_log_transaction(request_rec *r)
{
    if (!serving_env) {
        return DECLINED;
    }
    /* Not OK nor DECLINED: no later log_transaction hook runs. */
    if (is_foreign(r)) {
        return DONE;
    }
    count_response(r);
    return DECLINED;
}

static void guard_insert_error_filter(request_rec *r)
{
    if (is_foreign(r)) {
        r->connection->keepalive = AP_CONN_CLOSE;
    }
}

/*
 * A connection on a non-HTTP address runs a protocol module (mod_echo...)
 * on c->base_server, the address's default vhost, before any request
 * exists -- so the 421 check above never sees it.  The multiplexer sent
 * it here because that vhost is ours; if it is not (a routing mistake),
 * close before any module acts on it.  HTTP connections are left to the
 * request checks: their vhost comes from Host, not from the address.
 */
static int guard_process_connection(conn_rec *c)
{
    const ph_env *owner;

    if (!serving_env
        || (owner = ph_env_of_server(c->base_server)) == serving_env
        || !ph_proto_conn_by_address(c)) {
        return DECLINED;
    }
    ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, c, PHLOGNO(00322)
                  "non-HTTP connection for virtual host %s (environment %s) "
                  "arrived at environment %s: closed",
                  c->base_server->server_hostname
                      ? c->base_server->server_hostname : "(unnamed)",
                  owner ? owner->name
                  : ph_env_is_stub(c->base_server) ? "another" : "(none)",
                  serving_env->name);
    c->aborted = 1;
    return DONE;
}

/*
 * A TLS connection the multiplexer routed on its ClientHello's SNI
 * (PH_CHAN_F_TLS_SNI, mux_tls.c) to one of our vhosts, on an address
 * whose default server is another environment's: mod_ssl decides whether
 * to speak TLS, and with which keys, from c->base_server -- here that
 * default server, which proc_confine.c made inert (none of its keys), so
 * it would refuse.  The connection's base server becomes the routed vhost
 * instead, only if it is ours: the message is only a hint, a vhost of
 * another environment (or an index past the list) changes nothing, and
 * every request is still checked on its own vhost by
 * ph_guard_post_read_request (421).
 *
 * An h2c connection routed on its first :authority (PH_CHAN_F_H2C) keeps
 * the default server, as in stock httpd: its inert copy here keeps what
 * mod_http2 takes the connection and sets the session up with (its
 * Protocols and H2 lines: envconf_write.c, proc_confine.c), so that the
 * session runs on the address's settings, not the routed vhost's.
 */
void ph_guard_routed_base(conn_rec *c, const ph_chan_msg *msg)
{
    server_rec *s;

    if (!serving_env || !(msg->flags & PH_CHAN_F_TLS_SNI)
        || ph_env_of_server(c->base_server) == serving_env) {
        return;
    }
    s = ph_env_server_by_id(msg->vhost_id);
    if (!s || ph_env_of_server(s) != serving_env) {
        ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, c, PHLOGNO(00351)
                      "TLS (SNI) connection names virtual host #%u, not "
                      "one of environment %s: base server left as is",
                      msg->vhost_id, serving_env->name);
        return;
    }
    ap_log_cerror(APLOG_MARK, APLOG_TRACE1, 0, c, PHLOGNO(00352)
                  "TLS (SNI) connection: base server %s (as routed)",
                  s->server_hostname ? s->server_hostname : "(unnamed)");
    c->base_server = s;
}

void ph_guard_register_hooks(void)
{
    static const char *const before_logio[] = { "mod_logio.c", NULL };

    /* First of all post_read_request hooks: nothing may act on a request
     * that this environment must not serve. */
    ap_hook_post_read_request(ph_guard_post_read_request, NULL, before_logio,
                              APR_HOOK_REALLY_FIRST);
    ap_hook_quick_handler(guard_quick_handler, NULL, NULL,
                          APR_HOOK_REALLY_FIRST);
    ap_hook_fixups(guard_fixups, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_handler(guard_handler, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_log_transaction(guard_log_transaction, NULL, NULL,
                            APR_HOOK_REALLY_FIRST);
    ap_hook_insert_error_filter(guard_insert_error_filter, NULL, NULL,
                                APR_HOOK_REALLY_FIRST);
    ap_hook_process_connection(guard_process_connection, NULL, NULL,
                               APR_HOOK_REALLY_FIRST);
}
