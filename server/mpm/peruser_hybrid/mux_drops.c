/*
 * mux_drops.c -- what the operator is told about the 503s with
 * Retry-After a multiplexer gives itself: a connection whose environment
 * had no free worker within ProcessorWaitTimeout, and whose answer
 * channel was full (a flood beyond the bound) or which had no processor
 * to answer at all.
 *
 * Every other refusal is httpd's own: those of a head, logged by the
 * environment that owns the address's default vhost (mux_main.c,
 * conn_refer); those of a wait over, by the environment's answer thread
 * (proc_answer.c, PH00362); a vhost without environment is said once at
 * start (PH00301), its 503s counted in pstat.  These last resorts cannot
 * be: nobody in the environment is there to answer.  Writing into a
 * tenant's access log from the multiplexer would give the front door a
 * descriptor into every tenant's logs, so they are said in the main error
 * log instead -- like event's AH00484
 * ("server reached MaxRequestWorkers"): each multiplexer writes at most
 * one line per environment per interval, with its count since its last
 * line, so a flood of clients cannot flood the log.  pstat shows the
 * server-wide counts live.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>

#include "httpd.h"
#include "http_log.h"
#include "http_main.h"

#include "mux.h"
#include "ph_clock.h"
#include "ph_env.h"
#include "ph_log.h"
#include "zero_pages.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

#define NOTE_EVERY_MS 10000

typedef struct drop_note {
    unsigned long count;        /* since the last line */
    long long last_ms;          /* when the last line was written */
} drop_note;

static drop_note *notes;        /* one per environment */
static int nnotes;
static drop_note noenv_note;    /* vhosts without environment */

void ph_mux_drops_init(apr_pool_t *p, int nenvs)
{
    nnotes = nenvs;
    notes = ph_zero_pages(p, (apr_size_t)nnotes, sizeof(*notes));  /* on use */
}

/* Count one drop; 1 if a line is due now (the count then restarts). */
static int note_due(drop_note *n, unsigned long *count)
{
    long long now = ph_now_ms();

    n->count++;
    if (n->last_ms && now - n->last_ms < NOTE_EVERY_MS) {
        return 0;
    }
    *count = n->count;
    n->count = 0;
    n->last_ms = now;
    return 1;
}

void ph_mux_note_wait_over(int env_index, long retry_after)
{
    const ph_env *env = ph_env_by_index(env_index);
    unsigned long count;

    AP_DEBUG_ASSERT(env_index >= 0 && env_index < nnotes);
    if (!notes || !note_due(&notes[env_index], &count)) {
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, ap_server_conf,
                 PHLOGNO(00361) "environment %s: %lu connection(s) answered "
                 "503 (Retry-After: %ld) in the last %d s or less by the "
                 "multiplexer itself: no worker became free within "
                 "ProcessorWaitTimeout, and more such connections waited "
                 "for the environment's answer than it holds (or it had no "
                 "processor); consider raising its MaxProcessors or "
                 "ThreadsPerChild",
                 env ? env->name : "?", count, retry_after,
                 NOTE_EVERY_MS / 1000);
}

/* The client's address on fd, for a log line ("?" if gone). */
static const char *peer_text(int fd, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    const void *a = NULL;

    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            a = &((struct sockaddr_in *)&ss)->sin_addr;
        }
        else if (ss.ss_family == AF_INET6) {
            a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
        }
    }
    if (!a || !inet_ntop(ss.ss_family, a, buf, (socklen_t)len)) {
        snprintf(buf, len, "?");
    }
    return buf;
}

void ph_mux_note_no_env(const server_rec *s, const char *host, int fd)
{
    unsigned long count;
    char peer[INET6_ADDRSTRLEN];

    if (!note_due(&noenv_note, &count)) {
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ap_server_conf,
                 PHLOGNO(00366) "%lu connection(s) refused in the last %d s "
                 "or less for virtual hosts without ServerEnvironment "
                 "(answered 503, or closed where HTTP/1 is not spoken); the "
                 "latest: virtual host %s, Host \"%s\", client %s",
                 count, NOTE_EVERY_MS / 1000,
                 s && s->server_hostname ? s->server_hostname : "(unnamed)",
                 host ? host : "", peer_text(fd, peer, sizeof(peer)));
}
