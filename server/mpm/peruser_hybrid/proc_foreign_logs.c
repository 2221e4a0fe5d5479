/*
 * proc_foreign_logs.c -- a processor child lets go of the log files that
 * only other environments' virtual hosts write to.
 *
 * httpd opens every ErrorLog and CustomLog in the root parent, before
 * forking, so every child inherits every tenant's log descriptors.  Once
 * proc_confine.c has made bob's vhosts inert, nothing in alice's processor
 * writes through them any more -- but code running in it (a native module,
 * an exploited interpreter) still could, forging lines in bob's logs.  So,
 * before the child drops its privileges:
 *
 * - ErrorLog files used only by other environments' vhosts are closed
 *   (they are apr_file_t's in the server_recs, shared between vhosts that
 *   name the same file: one also used by the main server or by one of our
 *   vhosts is kept);
 * - CustomLog/TransferLog files named only in other environments'
 *   <VirtualHost> blocks (the configuration tree says which block names
 *   which file; the descriptor is found by device and inode) are replaced
 *   by /dev/null with dup2(), so the number stays taken and nothing that
 *   still holds it can write into a file opened later.  A file also named
 *   in the main server's context or in one of our vhosts is kept.
 *
 * Piped logs ("|program") cannot be told apart by descriptor and stay
 * open; they are counted in the debug line.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "httpd.h"
#include "apr_hash.h"
#include "http_config.h"
#include "http_log.h"
#include "http_main.h"
#include "util_cfgtree.h"

#include "ph_env.h"
#include "ph_log.h"
#include "ph_magic.h"
#include "proc.h"
#include "site_index.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

#define FD_SCAN_MAX 4096    /* without /proc: descriptors looked at */

typedef struct file_id {
    dev_t dev;
    ino_t ino;
} file_id;

typedef struct log_sets {
    apr_pool_t *p;
    const ph_env *mine;
    apr_hash_t *keep;       /* file_id -> "": named by us or the main server */
    apr_hash_t *drop;       /* file_id -> "": named by other environments */
    int piped;              /* piped logs of other environments, left open */
    ph_site_index *servers; /* (file, line) -> the server_rec made there */
} log_sets;

/* Error logs: by apr_file_t, shared between vhosts naming one file. */
static int close_error_logs(apr_pool_t *p, const ph_env *mine)
{
    apr_hash_t *kept = apr_hash_make(p), *closed = apr_hash_make(p);
    server_rec *s;
    int n = 0;

    PH_CHECK_MAGIC(mine, PH_ENV_MAGIC);
    for (s = ap_server_conf; s; s = s->next) {
        if ((s == ap_server_conf || ph_env_of_server(s) == mine)
            && s->error_log) {
            apr_hash_set(kept, &s->error_log, sizeof(s->error_log), s);
        }
    }
    for (s = ap_server_conf->next; s; s = s->next) {
        if (ph_env_of_server(s) == mine || !s->error_log
            || apr_hash_get(kept, &s->error_log, sizeof(s->error_log))
            || apr_hash_get(closed, &s->error_log, sizeof(s->error_log))) {
            continue;
        }
        apr_hash_set(closed, &s->error_log, sizeof(s->error_log), s);
        apr_file_close(s->error_log);
        /* proc_confine.c points it at the main error log next; until
         * then nothing logs (one thread, no request). */
        n++;
    }
    return n;
}

/*
 * The vhost each <VirtualHost> block of the configuration tree made, by
 * where it was defined: indexed once, in the list's order (the first
 * server of a site wins, as a walk over the list would find it).  A walk
 * over every server for each block was N^2 string compares in every new
 * processor at N virtual hosts (issue 13).
 */
static ph_site_index *index_servers(apr_pool_t *p)
{
    ph_site_index *ix = ph_site_index_make(p);
    server_rec *s;

    for (s = ap_server_conf->next; s; s = s->next) {
        ph_site_index_add(ix, s->defn_name, s->defn_line_number, s);
    }
    return ix;
}

static server_rec *server_of_block(const log_sets *ls, const ap_directive_t *d)
{
    if (d->line_num < 0) {
        return NULL;
    }
    return ph_site_index_find(ls->servers, d->filename, (unsigned)d->line_num);
}

static int is_access_log(const ap_directive_t *d)
{
    return !strcasecmp(d->directive, "CustomLog")
           || !strcasecmp(d->directive, "TransferLog")
           || !strcasecmp(d->directive, "GlobalLog");
}

/* One CustomLog-like directive in a block owned by `owner` (NULL: the
 * main server's context, or a block we could not place: kept). */
static void note_log(log_sets *ls, const ap_directive_t *d,
                     const server_rec *owner)
{
    const char *args = d->args;
    const char *name = ap_getword_conf(ls->p, &args);
    int foreign = owner && ph_env_of_server(owner) != ls->mine;
    struct stat st;
    file_id *id;

    if (!*name) {
        return;
    }
    if (*name == '|') {
        ls->piped += foreign;
        return;
    }
    name = ap_server_root_relative(ls->p, name);
    if (!name || stat(name, &st) < 0 || !S_ISREG(st.st_mode)) {
        return;
    }
    id = apr_pcalloc(ls->p, sizeof(*id));
    id->dev = st.st_dev;
    id->ino = st.st_ino;
    apr_hash_set(foreign ? ls->drop : ls->keep, id, sizeof(*id), "");
}

static void walk_tree(log_sets *ls, const ap_directive_t *d,
                      const server_rec *owner)
{
    for (; d; d = d->next) {
        if (!strcasecmp(d->directive, "<VirtualHost")) {
            walk_tree(ls, d->first_child, server_of_block(ls, d));
        }
        else if (is_access_log(d)) {
            note_log(ls, d, owner);
        }
        else if (d->first_child) {
            walk_tree(ls, d->first_child, owner);   /* <IfModule> ... */
        }
    }
}

/* Redirect fd to /dev/null if it is one of the files to drop. */
static int drop_if_foreign(log_sets *ls, int fd, int devnull)
{
    struct stat st;
    file_id id;

    if (fd <= STDERR_FILENO || fd == devnull || fstat(fd, &st) < 0
        || !S_ISREG(st.st_mode)) {
        return 0;
    }
    memset(&id, 0, sizeof(id));
    id.dev = st.st_dev;
    id.ino = st.st_ino;
    if (!apr_hash_get(ls->drop, &id, sizeof(id))
        || apr_hash_get(ls->keep, &id, sizeof(id))) {
        return 0;
    }
    return dup2(devnull, fd) == fd;
}

static int drop_access_logs(log_sets *ls)
{
    struct rlimit rl;
    struct dirent *de;
    DIR *dir;
    int devnull, fd, max, n = 0;

    if (apr_hash_count(ls->drop) == 0) {
        return 0;
    }
    if ((devnull = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, errno, ap_server_conf,
                     PHLOGNO(00443) "cannot open /dev/null: other "
                     "environments' access logs stay open in this "
                     "processor");
        return 0;
    }
    if ((dir = opendir("/proc/self/fd")) != NULL) {
        while ((de = readdir(dir)) != NULL) {
            if (de->d_name[0] != '.' && (fd = atoi(de->d_name)) != dirfd(dir)) {
                n += drop_if_foreign(ls, fd, devnull);
            }
        }
        closedir(dir);
    }
    else {
        max = FD_SCAN_MAX;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)max) {
            max = (int)rl.rlim_cur;
        }
        for (fd = 0; fd < max; fd++) {
            n += drop_if_foreign(ls, fd, devnull);
        }
    }
    close(devnull);
    return n;
}

void ph_close_foreign_logs(const ph_env *mine, apr_pool_t *pchild)
{
    log_sets ls;
    apr_pool_t *p;
    int errors, access;

    PH_CHECK_MAGIC(mine, PH_ENV_MAGIC);
    if (apr_pool_create(&p, pchild) != APR_SUCCESS) {
        return;
    }
    memset(&ls, 0, sizeof(ls));
    ls.p = p;
    ls.mine = mine;
    ls.keep = apr_hash_make(p);
    ls.drop = apr_hash_make(p);
    ls.servers = index_servers(p);
    walk_tree(&ls, ap_conftree, NULL);
    access = drop_access_logs(&ls);
    errors = close_error_logs(p, mine);
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf, PHLOGNO(00442)
                 "processor of environment %s: %d error log(s) and %d "
                 "access log descriptor(s) of other environments closed, "
                 "%d piped log(s) of theirs left open", mine->name, errors,
                 access, ls.piped);
    apr_pool_destroy(p);
}
