/*
 * status_others.c -- in the StatusEnvironment's processors (the
 * operator's), the part of /server-status that shows every other
 * environment's workers: their scoreboards, mapped read-only from the
 * files their factories made (env_scoreboard.c).
 *
 * Every byte comes from memory another environment's processors write:
 * the geometry is this process's own (the same configuration), the file
 * must be exactly that size, indexes never come from the file, strings are
 * bounded, terminated and escaped before they are printed.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
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

/* The busy workers of one environment's scoreboard mapping sb. */
static void env_rows(request_rec *r, const char *env, const char *sb,
                     int server_limit, int thread_limit)
{
    const size_t g = APR_ALIGN_DEFAULT(sizeof(global_score));
    const size_t ps = APR_ALIGN_DEFAULT(sizeof(process_score));
    const size_t ws = APR_ALIGN_DEFAULT(sizeof(worker_score));
    const char *workers = sb + g + (size_t)server_limit * ps;
    int i, t;

    for (i = 0; i < server_limit; i++) {
        const process_score *proc = (const process_score *)(sb + g + i * ps);
        for (t = 0; t < thread_limit; t++) {
            worker_score w;
            memcpy(&w, workers + ((size_t)i * thread_limit + t) * ws,
                   sizeof(w));
            if (!busy(w.status)) {
                continue;
            }
            ap_rprintf(r, "<tr><td>%s</td><td>%d-%d</td><td>%ld</td>"
                       "<td>%c</td><td>%s</td><td>%s</td><td>%s</td>"
                       "</tr>\n", ap_escape_html(r->pool, env), i, t,
                       (long)proc->pid, status_char(w.status),
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
    int i;

    if (!viewer) {
        return;
    }
    ap_rputs("<h2>Other environments' requests</h2>\n<table border=\"0\">"
             "<tr><th>Environment</th><th>Slot-Thread</th><th>PID</th>"
             "<th>M</th><th>Client</th><th>VHost</th><th>Request</th>"
             "</tr>\n", r);
    for (i = 0; i < ph_envs->nelts; i++) {
        const ph_env *env = APR_ARRAY_IDX(ph_envs, i, ph_env *);
        const char *path;
        struct stat st;
        void *map;
        int fd;

        if (env == viewer) {
            continue;
        }
        path = ph_env_scoreboard_path(r->pool, env->name, gen);
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            continue;           /* no factory (not in use), or not yet */
        }
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)
            || (apr_size_t)st.st_size != size) {
            close(fd);
            continue;
        }
        map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
        close(fd);
        if (map == MAP_FAILED) {
            continue;
        }
        env_rows(r, env->name, map, server_limit, thread_limit);
        munmap(map, size);
    }
    ap_rputs("</table>\n", r);
}
