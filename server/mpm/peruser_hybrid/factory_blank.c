/*
 * factory_blank.c -- a blank factory, in itself (issue 13, cold start;
 * ph_factory.h draws the protocol, parent_blank.c the parent's side).
 *
 * A blank is httpd exec'd by the parent exactly as an environment's
 * factory is, on the generation's blank file (envconf_blank.c): the
 * server's LoadModule lines, then PH_BLANK_DIRECTIVE, then neutral
 * server-level lines (the main server's ErrorLog, httpd's User).  Its
 * first configuration pass reads all of it, so everything a factory's
 * start does that no environment decides is done ahead: the exec and
 * dynamic linking, httpd's ap_init_rng, a whole first pass with every
 * module's pre_config, check_config, open_logs and post_config, and the
 * second pass's LoadModule (dlopen) of every module.  In the second pass
 * PH_BLANK_DIRECTIVE (EXEC_ON_READ, so it runs while httpd builds the
 * tree, before any hook of that pass) says WAITING on the control socket
 * and blocks until ASSIGN, then reads the environment's file into the
 * tree being built, in place of the rest of the blank file, as Include
 * would.  From there the process is that environment's factory: the
 * second pass's hooks run on its configuration, READY, SPAWN ...
 *
 * The LoadModule lines of the environment's file are skipped when the
 * module is loaded already (the blank file loaded the same ones, in the
 * same order: both come from the parent's parse of one configuration),
 * through mod_so's own lookup, so no "already loaded" warning.  A file in
 * which an <IfModule> comes before such a LoadModule is refused: there
 * the module was not loaded yet when the section was read in an exec'd
 * factory, and here it would be.  A refusal, or anything else that
 * fails, ends the blank; the parent then execs the environment's factory
 * as before (parent_factory.c).
 *
 * Trust: a blank is root and as trusted as a factory.  Its only input is
 * the control socket (3), whose other end only the parent holds; it reads
 * no environment's file before ASSIGN names one.  Nothing here reads
 * what a processor or a multiplexer writes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>

#include "httpd.h"
#include "apr_lib.h"
#include "apr_strings.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"
#include "mod_so.h"
#include "util_varbuf.h"

#include "ph_factory.h"
#include "ph_log.h"
#include "ph_magic.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

#define BLANK_COMM "apache2-blank"
#define READER_MAGIC 0x50484252u    /* "PHBR" */
#define LINE_MAX_BYTES (16 * 1024 * 1024)   /* httpd's own bound */

/* What ASSIGN brought, for pre_config to put in place (this pass's copy of
 * the module: loaded by this pass's LoadModule, before the directive). */
static int got_fds[PH_BLANK_MAX_FDS];
static char httpd_comm[16];         /* the name before BLANK_COMM */
static int got_nfds = -1;           /* -1: nothing to adopt */

/* ---- ASSIGN ------------------------------------------------------------ */

static int say_waiting(void)
{
    ph_factory_msg m = { PH_FACTORY_MSG_MAGIC, PH_FACTORY_WAITING, -1, 0 };

    return send(PH_FACTORY_FD_CONTROL, &m, sizeof(m), MSG_NOSIGNAL)
           == (ssize_t)sizeof(m) ? 0 : -1;
}

/* Block until the parent's ASSIGN; the parent closing the socket (it let
 * this blank go) ends the process at once: it holds nothing to clean. */
static void await_assign(ph_factory_assign *a, int *fds, int *nfds)
{
    static union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * PH_BLANK_MAX_FDS)];
    } control;
    struct iovec iov = { a, sizeof(*a) };
    struct msghdr mh;
    struct cmsghdr *c;
    ssize_t n;

    if (say_waiting() != 0) {
        _exit(0);
    }
    for (;;) {
        memset(&mh, 0, sizeof(mh));
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = control.buf;
        mh.msg_controllen = sizeof(control.buf);
        n = recvmsg(PH_FACTORY_FD_CONTROL, &mh, MSG_CMSG_CLOEXEC);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            _exit(0);
        }
        break;
    }
    *nfds = 0;
    for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        int k, count;
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            continue;
        }
        count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (k = 0; k < count; k++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof(int));
            if (*nfds < PH_BLANK_MAX_FDS) {
                fds[(*nfds)++] = fd;
            }
            else {
                close(fd);
            }
        }
    }
    if (n != (ssize_t)sizeof(*a) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
        || a->magic != PH_FACTORY_MSG_MAGIC || a->kind != PH_FACTORY_ASSIGN) {
        a->kind = 0;    /* the caller refuses it */
    }
}

/* The spec ASSIGN gives, written over the padded blank spec in the
 * process's own environment block: getenv() and /proc/PID/environ (ps,
 * the tests) then say which environment this factory serves. */
static const char *take_spec(const ph_factory_assign *a, int nfds)
{
    char *cur = getenv(PH_FACTORY_ENVVAR);
    size_t room = cur ? strlen(cur) : 0, len;
    int bells;

    if (!memchr(a->spec, '\0', sizeof(a->spec))
        || !memchr(a->path, '\0', sizeof(a->path)) || a->path[0] != '/'
        || strncmp(a->spec, "env=", 4) != 0) {
        return "a malformed ASSIGN";
    }
    if (!cur || sscanf(cur, "blank gen=%*d bells=%d", &bells) != 1
        || nfds != 2 + bells || a->nfds != nfds) {
        return "an ASSIGN without its descriptors";
    }
    len = strlen(a->spec);
    if (len > room) {
        return "an ASSIGN spec longer than the room kept for it";
    }
    memset(cur, ' ', room);
    memcpy(cur, a->spec, len);
    return NULL;
}

/* ---- the environment's file, its LoadModule lines skipped -------------- */

typedef struct blank_reader {
    unsigned magic;
    apr_file_t *file;
    apr_pool_t *p;
    server_rec *s;
    module *(*loaded)(server_rec *, const char *);
    char *line;                 /* the physical line being handed out */
    apr_size_t len, pos;
    int continued;              /* the last line ended with a backslash */
    int ifmodule_seen;
    unsigned skipped;
    const char *why;            /* a refusal (from p) */
} blank_reader;

static apr_status_t next_line(blank_reader *r)
{
    char chunk[8192];
    apr_size_t have = 0, cap = 0;
    apr_status_t rv;

    r->line = NULL;
    r->len = r->pos = 0;
    for (;;) {
        apr_size_t n;
        rv = apr_file_gets(chunk, sizeof(chunk), r->file);
        if (rv == APR_EOF) {
            break;
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
        n = strlen(chunk);
        if (have + n + 1 > cap) {
            char *bigger;
            if (have + n + 1 > LINE_MAX_BYTES) {
                return APR_ENOSPC;
            }
            cap = (have + n + 1) * 2;
            bigger = apr_palloc(r->p, cap);
            if (have) {
                memcpy(bigger, r->line, have);
            }
            r->line = bigger;
        }
        memcpy(r->line + have, chunk, n + 1);
        have += n;
        if (n && chunk[n - 1] == '\n') {
            break;
        }
    }
    if (!have) {
        return APR_EOF;
    }
    r->len = have;
    return APR_SUCCESS;
}

static int first_word_is(const char *line, const char *word)
{
    size_t n = strlen(word);

    while (apr_isspace(*line)) {
        line++;
    }
    return !strncasecmp(line, word, n)
           && (!line[n] || apr_isspace(line[n]) || line[n] == '>');
}

/* A LoadModule line of a module loaded already becomes a comment (the
 * line count stays right for httpd's messages). */
static void filter(blank_reader *r)
{
    int starts = !r->continued;
    const char *args;
    char *word;

    r->continued = r->len >= 2 && r->line[r->len - 1] == '\n'
                   && (r->line[r->len - 2] == '\\'
                       || (r->len >= 3 && r->line[r->len - 2] == '\r'
                           && r->line[r->len - 3] == '\\'));
    if (!starts) {
        return;
    }
    if (first_word_is(r->line, "<IfModule")) {
        r->ifmodule_seen = 1;
        return;
    }
    if (!first_word_is(r->line, "LoadModule") || !r->loaded) {
        return;
    }
    args = ap_resolve_env(r->p, r->line);
    (void)ap_getword_conf(r->p, &args);
    word = ap_getword_conf(r->p, &args);
    if (!*word || !r->loaded(r->s, word)) {
        return;         /* not loaded by the blank file: loaded here */
    }
    if (r->ifmodule_seen && !r->why) {
        r->why = apr_psprintf(r->p, "an <IfModule> section comes before "
                              "LoadModule %s: a blank, which loaded it "
                              "first, would read that section otherwise",
                              word);
    }
    r->skipped++;
    strcpy(r->line, r->line[r->len - 1] == '\n' ? "#\n" : "#");
    r->len = strlen(r->line);
}

static apr_status_t reader_gets(void *buf, apr_size_t bufsiz, void *param)
{
    blank_reader *r = param;
    apr_size_t n;
    apr_status_t rv;

    PH_CHECK_MAGIC(r, READER_MAGIC);
    if (bufsiz < 2) {
        return APR_EINVAL;
    }
    if (r->pos == r->len) {
        if ((rv = next_line(r)) != APR_SUCCESS) {
            return rv;
        }
        filter(r);
        if (r->why) {
            return APR_EGENERAL;
        }
    }
    n = r->len - r->pos;
    if (n > bufsiz - 1) {
        n = bufsiz - 1;
    }
    memcpy(buf, r->line + r->pos, n);
    ((char *)buf)[n] = '\0';
    r->pos += n;
    return APR_SUCCESS;
}

static apr_status_t reader_close(void *param)
{
    blank_reader *r = param;

    PH_CHECK_MAGIC(r, READER_MAGIC);
    r->magic = 0;
    return apr_file_close(r->file);
}

/* Read path into *tree as Include would, from the same cmd_parms. */
static const char *read_env_file(cmd_parms *cmd, const char *path,
                                 ap_directive_t **tree)
{
    blank_reader *r = apr_pcalloc(cmd->temp_pool, sizeof(*r));
    ap_configfile_t *cfp;
    cmd_parms parms = *cmd;
    const char *err;
    apr_status_t rv;

    r->magic = READER_MAGIC;
    r->p = cmd->temp_pool;
    r->s = cmd->server;
    r->loaded = APR_RETRIEVE_OPTIONAL_FN(ap_find_loaded_module_symbol);
    if ((rv = apr_file_open(&r->file, path, APR_READ | APR_BUFFERED,
                            APR_OS_DEFAULT, cmd->temp_pool)) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "cannot open %s: %pm", path, &rv);
    }
    cfp = ap_pcfg_open_custom(cmd->pool, apr_pstrdup(cmd->pool, path), r,
                              NULL, reader_gets, reader_close);
    parms.config_file = cfp;
    parms.err_directive = NULL;
    err = ap_build_config(&parms, cmd->pool, cmd->temp_pool, tree);
    ap_cfg_closefile(cfp);
    if (r->why) {
        return apr_psprintf(cmd->pool, "%s: %s", path, r->why);
    }
    if (err && parms.err_directive) {
        return apr_psprintf(cmd->pool, "Syntax error on line %d of %s: %s",
                            parms.err_directive->line_num,
                            parms.err_directive->filename, err);
    }
    return err;
}

/* The rest of the blank file (its neutral lines) is not for this pass. */
static void skip_rest(cmd_parms *cmd)
{
    struct ap_varbuf vb;

    ap_varbuf_init(cmd->temp_pool, &vb, 256);
    while (ap_varbuf_cfg_getline(&vb, cmd->config_file, LINE_MAX_BYTES)
           == APR_SUCCESS) {
        ;
    }
    ap_varbuf_free(&vb);
}

const char *ph_factory_blank_cmd(cmd_parms *cmd, void *mconfig)
{
    ap_directive_t **sub = mconfig;     /* EXEC_ON_READ: its sub-tree */
    ph_factory_assign *a;
    const char *msg;
    int nfds, i;

    *sub = NULL;
    if (!ph_factory_is_blank()) {
        return PH_BLANK_DIRECTIVE " is written by the server into a blank "
               "factory's file only";
    }
    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_CONFIG) {
        return NULL;    /* the first pass reads the blank file on */
    }
    /* Shown as a blank (ps, the tests) while it waits; its own name back
     * once assigned: the factory and its processors show that. */
    if (prctl(PR_GET_NAME, httpd_comm) != 0) {
        strcpy(httpd_comm, "apache2");
    }
    prctl(PR_SET_NAME, BLANK_COMM);
    a = apr_pcalloc(cmd->temp_pool, sizeof(*a));
    await_assign(a, got_fds, &nfds);
    if (a->kind != PH_FACTORY_ASSIGN) {
        msg = "a malformed ASSIGN";
    }
    else {
        msg = take_spec(a, nfds);
    }
    if (msg) {
        for (i = 0; i < nfds; i++) {
            close(got_fds[i]);
        }
        return apr_pstrcat(cmd->pool, "blank factory: ", msg, NULL);
    }
    got_nfds = nfds;
    prctl(PR_SET_NAME, httpd_comm);
    if ((msg = read_env_file(cmd, a->path, sub)) != NULL) {
        return msg;
    }
    skip_rest(cmd);
    return NULL;
}

/* ---- pre_config: the descriptors at their numbers ---------------------- */

int ph_factory_blank_adopt(void)
{
    int i, tmp[PH_BLANK_MAX_FDS], moved = 0, placed = 0;
    int first = PH_FACTORY_FD_CHANNEL;

    if (got_nfds < 0) {
        return OK;
    }
    /* First above every target (the /dev/null placeholders hold them),
     * then onto them: no dup2 lands on a descriptor not yet moved. */
    for (i = 0; i < got_nfds; i++) {
        tmp[i] = fcntl(got_fds[i], F_DUPFD_CLOEXEC, first + got_nfds);
        close(got_fds[i]);
        moved += tmp[i] >= 0;
    }
    for (i = 0; moved == got_nfds && i < got_nfds; i++) {
        placed += dup2(tmp[i], first + i) == first + i;
        close(tmp[i]);
    }
    if (placed != got_nfds) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, errno, NULL, PHLOGNO(00660)
                     "blank factory: cannot put the %d descriptors ASSIGN "
                     "gave it at %d..: it exits, its environment's factory "
                     "is exec'd instead", got_nfds, first);
        return !OK;
    }
    got_nfds = -1;
    return OK;
}
