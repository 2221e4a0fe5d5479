/*
 * status_others.c -- in the StatusEnvironment's processors (the
 * operator's), the part of /server-status that shows every other
 * environment's workers: their scoreboards, read from the files their
 * factories made (env_scoreboard.c).
 *
 * Every byte comes from memory another environment's processors write:
 * the geometry is this process's own (the same configuration), the file
 * must be exactly that size, indexes never come from the file, strings are
 * bounded, terminated and escaped before they are printed.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "httpd.h"
#include "apr_strings.h"
#include "http_protocol.h"
#include "scoreboard.h"

#include "ph_config.h"
#include "ph_env.h"
#include "ph_env_scoreboard.h"

/* A field of fixed size from untrusted memory, terminated and escaped. */
static const char *field(apr_pool_t *p, const char *raw, size_t size)
{
    return ap_escape_html(p, apr_pstrmemdup(p, raw, strnlen(raw, size)));
}

static char status_char(unsigned char st)
{
    static const char chars[SERVER_NUM_STATUS + 1] = "_SRWKLDCGI";

    return st < SERVER_NUM_STATUS ? chars[st] : '?';
}

static int busy(unsigned char st)
{
    return st >= SERVER_BUSY_READ && st <= SERVER_GRACEFUL;
}

/* The busy workers of one environment's scoreboard file fd, read with
 * pread, not mapped: a page its processors never wrote is a hole that
 * reads as zeros (a worker never used), and a read(2) of it allocates
 * nothing, where a fault in a mapping would make it resident
 * (scoreboard_trim.c gave those pages back). */
static void env_rows(request_rec *r, const char *env, int fd,
                     int server_limit, int thread_limit, char *procs,
                     char *slot)
{
    const size_t g = APR_ALIGN_DEFAULT(sizeof(global_score));
    const size_t ps = APR_ALIGN_DEFAULT(sizeof(process_score));
    const size_t ws = APR_ALIGN_DEFAULT(sizeof(worker_score));
    const size_t row = (size_t)thread_limit * ws;
    const off_t workers = (off_t)(g + (size_t)server_limit * ps);
    int i, t;

    if (pread(fd, procs, (size_t)server_limit * ps, (off_t)g)
        != (ssize_t)((size_t)server_limit * ps)) {
        return;
    }
    for (i = 0; i < server_limit; i++) {
        process_score proc;
        memcpy(&proc, procs + (size_t)i * ps, sizeof(proc));
        if (pread(fd, slot, row, workers + (off_t)((size_t)i * row))
            != (ssize_t)row) {
            return;
        }
        for (t = 0; t < thread_limit; t++) {
            worker_score w;
            memcpy(&w, slot + (size_t)t * ws, sizeof(w));
            if (!busy(w.status)) {
                continue;
            }
            ap_rprintf(r, "<tr><td>%s</td><td>%d-%d</td><td>%ld</td>"
                       "<td>%c</td><td>%s</td><td>%s</td><td>%s</td>"
                       "</tr>\n", ap_escape_html(r->pool, env), i, t,
                       (long)proc.pid, status_char(w.status),
                       field(r->pool, w.client64, sizeof(w.client64)),
                       field(r->pool, w.vhost, sizeof(w.vhost)),
                       field(r->pool, w.request, sizeof(w.request)));
        }
    }
}

void ph_status_others_html(request_rec *r, ap_generation_t gen)
{
    const ph_env *viewer = ph_env_scoreboard_viewer();
    int server_limit = (int)ph_conf.server_limit;
    int thread_limit = (int)ph_conf.thread_limit;
    apr_size_t size = ph_env_scoreboard_size(server_limit, thread_limit);
    char *procs, *slot;
    int i;

    if (!viewer) {
        return;
    }
    /* Buffers for one environment's process records and one slot's
     * worker records, used for each environment in turn. */
    procs = apr_palloc(r->pool, (size_t)server_limit
                                * APR_ALIGN_DEFAULT(sizeof(process_score)));
    slot = apr_palloc(r->pool, (size_t)thread_limit
                               * APR_ALIGN_DEFAULT(sizeof(worker_score)));
    ap_rputs("<h2>Other environments' requests</h2>\n<table border=\"0\">"
             "<tr><th>Environment</th><th>Slot-Thread</th><th>PID</th>"
             "<th>M</th><th>Client</th><th>VHost</th><th>Request</th>"
             "</tr>\n", r);
    for (i = 0; i < ph_envs->nelts; i++) {
        const ph_env *env = APR_ARRAY_IDX(ph_envs, i, ph_env *);
        const char *path;
        struct stat st;
        int fd;

        if (env == viewer) {
            continue;
        }
        path = ph_env_scoreboard_path(r->pool, env->name, gen);
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            continue;           /* no factory (not in use), or not yet */
        }
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)
            && (apr_size_t)st.st_size == size) {
            env_rows(r, env->name, fd, server_limit, thread_limit, procs,
                     slot);
        }
        close(fd);
    }
    ap_rputs("</table>\n", r);
}
