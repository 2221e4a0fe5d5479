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
 */
#include "httpd.h"
#include "http_config.h"
#include "http_connection.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"

#include "ph_clock.h"
#include "ph_log.h"
#include "ph_segment.h"
#include "ph_module.h"
#include "proc.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

/* Set once per processor child before its first connection; NULL in the
 * parent and in multiplexers (which never run request hooks). */
static const ph_env *serving_env;

void ph_guard_set_env(const ph_env *env)
{
    serving_env = env;
}

void ph_guard_bind_conn(conn_rec *c, proc_conn *pc)
{
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

int ph_guard_post_read_request(request_rec *r)
{
    const ph_env *wanted;
    proc_conn *pc;

    if (!serving_env || r->main || r->prev) {
        return DECLINED;
    }
    pc = ph_guard_conn_of(r->connection);
    wanted = ph_env_of_server(r->server);
    if (wanted == serving_env) {
        if (pc && pc->magic == PROC_CONN_MAGIC) {
            pc->ka_timeout_ms = apr_time_as_msec(r->server->keep_alive_timeout);
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
                  r->server->server_hostname ? r->server->server_hostname
                                             : "(unnamed)",
                  wanted ? wanted->name : "(none)", serving_env->name);
    r->connection->keepalive = AP_CONN_CLOSE;
    return HTTP_MISDIRECTED_REQUEST;
}
