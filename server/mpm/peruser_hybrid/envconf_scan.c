/*
 * envconf_scan.c -- the operator's configuration text, filtered for one
 * environment (see envconf_scan.h for what is interpreted and why).
 *
 * Runs in the root parent, over files only root can write; the text is
 * the operator's, so a syntax httpd would refuse cannot reach here (httpd
 * has already accepted the same files).  What the scanner must get right
 * is that no line of another environment's <VirtualHost> reaches the
 * output: a section is dropped from its opening line to its closing one,
 * whatever it holds, and an unterminated one is an error rather than a
 * guess.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apr_file_info.h"
#include "apr_file_io.h"
#include "apr_fnmatch.h"
#include "apr_lib.h"
#include "apr_strings.h"
#include "apr_tables.h"

#include "envconf_scan.h"

/* httpd's AP_MAX_FNMATCH_DIR_DEPTH: directories nested this deep at most
 * under an Include'd directory. */
#define MAX_DIR_DEPTH 128

/* The output: a growing buffer in the pool. */
typedef struct {
    apr_pool_t *p;
    char *data;
    apr_size_t len, cap;
} outbuf;

/* One element of the parsed text, in order. */
typedef enum {
    EL_TEXT,            /* a line copied as it is */
    EL_VHOST,           /* a <VirtualHost ...> line */
    EL_USE,             /* a mod_macro Use line */
    EL_PROCESSOR        /* a <Processor name> line */
} el_kind;

/* The document lives as long as the generation, one element per logical
 * line: 40 bytes, not 56, at 90,000 lines for 10,000 environments (the
 * name and the memo are never both in use; issue 13). */
typedef struct {
    unsigned char kind;         /* el_kind */
    unsigned line;              /* httpd's number, in file */
    int end;                    /* EL_VHOST, EL_PROCESSOR: index after
                                 * its closing line */
    const char *file;
    const char *text;           /* the logical line, trimmed */
    union {
        const char *name;       /* EL_PROCESSOR: the environment's name */
        void *memo;             /* EL_VHOST, EL_USE: vhost_source's, kept
                                 * across emits */
    } u;
} element;

struct ph_envconf_doc {
    const char *conf_file;
    apr_array_header_t *els;    /* element */
    apr_size_t bytes;           /* of every text, for the output's size */
};

/* The parse: every file read once, whatever the environments. */
typedef struct {
    apr_pool_t *p;
    const ph_envconf_callbacks *cb;
    ph_envconf_doc *doc;
} scan;

/* One file's text, read as httpd's ap_cfg_getline reads it. */
typedef struct {
    const char *buf;
    apr_size_t len, pos;
    unsigned line;              /* httpd's number of the line last read */
} reader;

static void out_put(outbuf *o, const char *s, apr_size_t n)
{
    if (o->len + n + 1 > o->cap) {
        apr_size_t cap = o->cap ? o->cap : 4096;
        char *data;

        while (o->len + n + 1 > cap) {
            cap *= 2;
        }
        data = apr_palloc(o->p, cap);
        if (o->len) {
            memcpy(data, o->data, o->len);
        }
        o->data = data;
        o->cap = cap;
    }
    memcpy(o->data + o->len, s, n);
    o->len += n;
    o->data[o->len] = '\0';
}

static void out_line(outbuf *o, const char *s)
{
    out_put(o, s, strlen(s));
    out_put(o, "\n", 1);
}

static int add_el(scan *sc, el_kind kind, const char *file, unsigned line,
                  const char *text)
{
    element *e = apr_array_push(sc->doc->els);

    e->kind = (unsigned char)kind;
    e->file = file;
    e->line = line;
    e->text = text;
    e->end = -1;
    e->u.memo = NULL;
    sc->doc->bytes += strlen(text) + 1;
    return sc->doc->els->nelts - 1;
}

/* Text that came from elsewhere (a stub): ends with a newline. */
static void out_text(outbuf *o, const char *s)
{
    apr_size_t n = strlen(s);

    out_put(o, s, n);
    if (n && s[n - 1] != '\n') {
        out_put(o, "\n", 1);
    }
}

/*
 * The next logical line, trimmed, into *line (from p); 0 at the end.
 * A physical line ending in a backslash (before LF or CRLF) continues on
 * the next one; r->line counts every physical line read, and one more when
 * a continuation meets the end of the file, exactly as httpd counts.  A
 * NUL byte ends a physical line's text there (httpd's strlen does).
 */
static int next_line(apr_pool_t *p, reader *r, char **line)
{
    char *acc = NULL;
    apr_size_t acc_len = 0;

    for (;;) {
        const char *start = r->buf + r->pos;
        const char *nl, *nul;
        apr_size_t n, text;
        int has_lf, cont = 0;
        char *joined;

        ++r->line;
        if (r->pos >= r->len) {
            if (acc == NULL) {
                return 0;
            }
            break;
        }
        nl = memchr(start, '\n', r->len - r->pos);
        n = nl ? (apr_size_t)(nl - start) + 1 : r->len - r->pos;
        r->pos += n;
        has_lf = nl != NULL;
        nul = memchr(start, '\0', n);
        text = nul ? (apr_size_t)(nul - start) : n;
        if (nul) {
            has_lf = 0;
        }
        if (has_lf) {
            --text;                                 /* the LF */
            if (text && start[text - 1] == '\r') {
                --text;
            }
            if (text && start[text - 1] == '\\') {
                --text;
                cont = 1;
            }
        }
        joined = apr_palloc(p, acc_len + text + 1);
        if (acc_len) {
            memcpy(joined, acc, acc_len);
        }
        memcpy(joined + acc_len, start, text);
        acc = joined;
        acc_len += text;
        acc[acc_len] = '\0';
        if (!cont) {
            break;
        }
    }
    /* Trim as cfg_trim_line does. */
    while (acc_len && apr_isspace(acc[acc_len - 1])) {
        acc[--acc_len] = '\0';
    }
    while (apr_isspace(*acc)) {
        ++acc;
    }
    *line = acc;
    return 1;
}

/* A word as ap_getword_conf takes it: quoted ('...' or "...", with
 * backslash-escaped quotes) or up to white space.  Advances *s. */
static char *get_word(apr_pool_t *p, const char **s)
{
    const char *c = *s, *start;
    char *w;

    while (apr_isspace(*c)) {
        ++c;
    }
    if (*c == '"' || *c == '\'') {
        char q = *c++;
        apr_size_t i = 0;

        w = apr_palloc(p, strlen(c) + 1);
        while (*c && *c != q) {
            if (*c == '\\' && c[1] == q) {
                ++c;
            }
            w[i++] = *c++;
        }
        w[i] = '\0';
        if (*c) {
            ++c;
        }
    }
    else {
        start = c;
        while (*c && !apr_isspace(*c)) {
            ++c;
        }
        w = apr_pstrmemdup(p, start, c - start);
    }
    while (apr_isspace(*c)) {
        ++c;
    }
    *s = c;
    return w;
}

/* `word` opens section `name` ("<VirtualHost"): httpd drops one trailing
 * '>' from a directive name ("<VirtualHost>" with no address). */
static int opens(const char *word, const char *name)
{
    apr_size_t n = strlen(name);

    return !strncasecmp(word, name, n)
           && (word[n] == '\0' || (word[n] == '>' && word[n + 1] == '\0'));
}

static int closes_vhost(const char *word)
{
    return opens(word, "</VirtualHost");
}

/* The name of a <Processor name> line's rest (after its first word), as
 * the module's handler takes it: the text before the last '>', its first
 * word. */
static const char *processor_name(apr_pool_t *p, const char *rest)
{
    const char *end = strrchr(rest, '>');
    const char *arg = apr_pstrmemdup(p, rest,
                                     end ? (apr_size_t)(end - rest)
                                         : strlen(rest));

    return get_word(p, &arg);
}

/* mod_macro ends a body at a first word that is exactly "</Macro>". */
static int closes_macro(const char *word)
{
    return !strcasecmp(word, "</Macro>");
}

/* For comments: no control character (a newline would end the comment). */
static const char *printable(apr_pool_t *p, const char *s)
{
    char *c, *d = apr_pstrdup(p, s ? s : "(none)");

    for (c = d; *c; c++) {
        if (apr_iscntrl(*c)) {
            *c = '?';
        }
    }
    return d;
}

static const char *read_whole(apr_pool_t *p, const char *path,
                              const char **buf, apr_size_t *len)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_status_t rv;
    char *data;
    apr_size_t got = 0, cap;

    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY,
                       APR_FPROT_OS_DEFAULT, p);
    if (rv != APR_SUCCESS) {
        return apr_psprintf(p, "cannot open %s: %pm", path, &rv);
    }
    rv = apr_file_info_get(&fi, APR_FINFO_SIZE | APR_FINFO_TYPE, f);
    cap = (rv == APR_SUCCESS && fi.filetype == APR_REG && fi.size > 0)
          ? (apr_size_t)fi.size + 1 : 4096;
    data = apr_palloc(p, cap);
    for (;;) {
        apr_size_t n = cap - got;

        rv = apr_file_read(f, data + got, &n);
        got += n;
        if (rv == APR_EOF) {
            break;
        }
        if (rv != APR_SUCCESS) {
            apr_file_close(f);
            return apr_psprintf(p, "cannot read %s: %pm", path, &rv);
        }
        if (got == cap) {
            char *bigger = apr_palloc(p, cap * 2);

            memcpy(bigger, data, got);
            data = bigger;
            cap *= 2;
        }
    }
    apr_file_close(f);
    *buf = data;
    *len = got;
    return NULL;
}

static const char *scan_file(scan *sc, const char *path, unsigned depth);

/* Outcome of expanding one Include. */
typedef struct {
    const char *from;           /* the Include line's file and number */
    unsigned line;
    unsigned depth;             /* of the files it includes */
    int optional;
    int missing;                /* something httpd would have refused */
} include_ctx;

static int name_order(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every entry of dir (but "." and ".."), full paths, sorted; with a
 * pattern, only names it matches (a leading dot only explicitly), and
 * with dirs_only only directories.  NULL if dir cannot be opened. */
static apr_array_header_t *list_dir(apr_pool_t *p, const char *dir,
                                    const char *pattern, int dirs_only,
                                    apr_status_t *rv)
{
    apr_dir_t *d;
    apr_finfo_t fi;
    apr_array_header_t *names;

    *rv = apr_dir_open(&d, dir, p);
    if (*rv != APR_SUCCESS) {
        return NULL;
    }
    names = apr_array_make(p, 8, sizeof(const char *));
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d)
           == APR_SUCCESS) {
        if (!strcmp(fi.name, ".") || !strcmp(fi.name, "..")) {
            continue;
        }
        if (pattern
            && apr_fnmatch(pattern, fi.name, APR_FNM_PERIOD) != APR_SUCCESS) {
            continue;
        }
        if (dirs_only && fi.filetype != APR_DIR) {
            continue;
        }
        APR_ARRAY_PUSH(names, const char *) =
            apr_pstrcat(p, dir, dir[strlen(dir) - 1] == '/' ? "" : "/",
                        fi.name, NULL);
    }
    apr_dir_close(d);
    qsort(names->elts, names->nelts, sizeof(const char *), name_order);
    return names;
}

/* A path without wildcards: a file, or a directory and every file under
 * it (httpd's ap_dir_nofnmatch). */
static const char *include_path(scan *sc, include_ctx *ic, const char *path,
                                unsigned dir_depth)
{
    apr_finfo_t fi;
    apr_status_t rv;
    apr_array_header_t *names;
    int i;

    rv = apr_stat(&fi, path, APR_FINFO_TYPE, sc->p);
    if (rv != APR_SUCCESS || fi.filetype == APR_NOFILE) {
        if (!ic->optional) {
            ic->missing = 1;
        }
        return NULL;
    }
    if (fi.filetype != APR_DIR) {
        return scan_file(sc, path, ic->depth);
    }
    if (dir_depth >= MAX_DIR_DEPTH) {
        return apr_psprintf(sc->p, "Include on line %u of %s: directory %s "
                            "nested deeper than %d levels", ic->line,
                            ic->from, path, MAX_DIR_DEPTH);
    }
    names = list_dir(sc->p, path, NULL, 0, &rv);
    if (!names) {
        return apr_psprintf(sc->p, "Include on line %u of %s: cannot read "
                            "directory %s: %pm", ic->line, ic->from, path,
                            &rv);
    }
    for (i = 0; i < names->nelts; i++) {
        const char *msg = include_path(sc, ic,
                                       APR_ARRAY_IDX(names, i, const char *),
                                       dir_depth + 1);
        if (msg || ic->missing) {
            return msg;
        }
    }
    return NULL;
}

/* rest: what follows directory dir in the pattern, wildcards in any
 * component (httpd's ap_dir_fnmatch). */
static const char *include_glob(scan *sc, include_ctx *ic, const char *dir,
                                const char *rest)
{
    const char *slash = strchr(rest, '/');
    const char *part = slash ? apr_pstrmemdup(sc->p, rest, slash - rest)
                             : rest;
    const char *next = slash ? slash + 1 : NULL;
    apr_array_header_t *names;
    apr_status_t rv;
    int i;

    if (!apr_fnmatch_test(part)) {
        const char *path = apr_pstrcat(sc->p, dir,
                                       dir[strlen(dir) - 1] == '/' ? "" : "/",
                                       part, NULL);
        return next ? include_glob(sc, ic, path, next)
                    : include_path(sc, ic, path, 0);
    }
    names = list_dir(sc->p, dir, part, next != NULL, &rv);
    if (!names) {
        if (!(ic->optional && APR_STATUS_IS_ENOENT(rv))) {
            ic->missing = 1;            /* httpd: cannot open directory */
        }
        return NULL;
    }
    if (names->nelts == 0) {
        if (!ic->optional) {
            ic->missing = 1;            /* httpd: no matches, failing */
        }
        return NULL;
    }
    for (i = 0; i < names->nelts; i++) {
        const char *name = APR_ARRAY_IDX(names, i, const char *);
        const char *msg = next ? include_glob(sc, ic, name, next)
                               : include_path(sc, ic, name, 0);
        if (msg || ic->missing) {
            return msg;
        }
    }
    return NULL;
}

/*
 * Include / IncludeOptional `args` (variables already resolved), found on
 * line `line` of `from`, included files `depth` deep: their text goes in
 * place of the line.
 *
 * Nothing to include where httpd requires something (Include of a path
 * that does not exist, a wildcard matching nothing): httpd accepted this
 * configuration, so the line is inside a section it skipped (a false
 * <IfDefine>, an <IfModule> of an absent module).  Copying the Include
 * line would let the environment's httpd read, later, whatever appears
 * at that path by then -- text this scanner never filtered -- should the
 * section ever be active there.  So the line becomes an `Error`
 * directive instead: inert where httpd skips it, as the Include was, and
 * a refusal to start, not an unfiltered read, anywhere else.
 */
static const char *include_line(scan *sc, const char *args, int optional,
                                const char *from, unsigned line,
                                unsigned depth)
{
    include_ctx ic;
    const char *word, *path, *msg;
    int mark = sc->doc->els->nelts;

    word = get_word(sc->p, &args);
    if (!*word) {
        return apr_psprintf(sc->p, "Include without a path on line %u of %s",
                            line, from);
    }
    if (depth + 1 > PH_ENVCONF_MAX_DEPTH) {
        return apr_psprintf(sc->p, "Include on line %u of %s: nested deeper "
                            "than %d files (a recursion?)", line, from,
                            PH_ENVCONF_MAX_DEPTH);
    }
    path = sc->cb->resolve_path(sc->cb->ctx, sc->p, word);
    if (!path) {
        return apr_psprintf(sc->p, "Include on line %u of %s: invalid path "
                            "%s", line, from, word);
    }
    ic.from = from;
    ic.line = line;
    ic.depth = depth + 1;
    ic.optional = optional;
    ic.missing = 0;
    if (!apr_fnmatch_test(path)) {
        msg = include_path(sc, &ic, path, 0);
    }
    else if (path[0] != '/') {
        return apr_psprintf(sc->p, "Include on line %u of %s: %s is not an "
                            "absolute path", line, from, path);
    }
    else {
        msg = include_glob(sc, &ic, "/", path + 1);
    }
    if (msg) {
        return msg;
    }
    if (ic.missing) {
        char *quoted = apr_pstrdup(sc->p, printable(sc->p, path));
        char *c;

        for (c = quoted; *c; c++) {
            if (*c == '"' || *c == '\\') {
                *c = '?';
            }
        }
        sc->doc->els->nelts = mark;     /* nothing of a partial expansion */
        add_el(sc, EL_TEXT, from, line, apr_psprintf(sc->p, "Error "
               "\"peruser_hybrid: Include of %s (line %u of %s) matched "
               "nothing when this file was written\"", quoted, line,
               printable(sc->p, from)));
    }
    return NULL;
}

static const char *scan_file(scan *sc, const char *path, unsigned depth)
{
    reader rd;
    const char *msg;
    char *line;
    int vhost = -1;             /* the open <VirtualHost>'s element */
    int proc = -1;              /* the open <Processor>'s element */
    unsigned macro_depth = 0, macro_line = 0;

    memset(&rd, 0, sizeof(rd));
    if ((msg = read_whole(sc->p, path, &rd.buf, &rd.len))) {
        return msg;
    }
    while (next_line(sc->p, &rd, &line)) {
        const char *rest, *word;
        int resolved;

        if (*line == '#') {
            continue;
        }
        if (macro_depth) {
            /* A body: mod_macro reads it raw, keeping blank lines. */
            rest = line;
            word = get_word(sc->p, &rest);
            if (closes_macro(word)) {
                --macro_depth;
            }
            else if (opens(word, "<Macro")) {
                ++macro_depth;
            }
            add_el(sc, EL_TEXT, path, rd.line, line);
            continue;
        }
        if (!*line) {
            continue;
        }
        /* httpd resolves ${VAR}s in the whole line before it takes the
         * directive's name; resolving only what the name or an Include
         * needs gives the same name, and no second "not defined" warning
         * for lines httpd skipped. */
        rest = line;
        word = get_word(sc->p, &rest);
        resolved = strstr(word, "${") != NULL;
        if (resolved) {
            rest = sc->cb->resolve_vars(sc->cb->ctx, sc->p, line);
            word = get_word(sc->p, &rest);
        }
        if (opens(word, "<Macro")) {
            macro_depth = 1;
            macro_line = rd.line;
            add_el(sc, EL_TEXT, path, rd.line, line);
        }
        else if (!strcasecmp(word, "Include")
                 || !strcasecmp(word, "IncludeOptional")) {
            if (!resolved) {
                rest = sc->cb->resolve_vars(sc->cb->ctx, sc->p, rest);
            }
            msg = include_line(sc, rest, word[7] != '\0', path, rd.line,
                               depth);
            if (msg) {
                return msg;
            }
        }
        else if (opens(word, "<VirtualHost")) {
            if (vhost >= 0) {
                return apr_psprintf(sc->p, "<VirtualHost> on line %u of %s "
                                    "inside the one on line %u", rd.line,
                                    path, APR_ARRAY_IDX(sc->doc->els, vhost,
                                                        element).line);
            }
            vhost = add_el(sc, EL_VHOST, path, rd.line, line);
        }
        else if (closes_vhost(word) && vhost >= 0) {
            add_el(sc, EL_TEXT, path, rd.line, line);
            APR_ARRAY_IDX(sc->doc->els, vhost, element).end =
                sc->doc->els->nelts;
            vhost = -1;
        }
        else if (!strcasecmp(word, "Use")) {
            add_el(sc, EL_USE, path, rd.line, line);
        }
        else if (opens(word, "<Processor") && vhost < 0 && proc < 0) {
            proc = add_el(sc, EL_PROCESSOR, path, rd.line, line);
            APR_ARRAY_IDX(sc->doc->els, proc, element).u.name =
                processor_name(sc->p, strstr(rest, "${")
                               ? sc->cb->resolve_vars(sc->cb->ctx, sc->p,
                                                      rest)
                               : rest);
        }
        else if (opens(word, "</Processor") && proc >= 0) {
            add_el(sc, EL_TEXT, path, rd.line, line);
            APR_ARRAY_IDX(sc->doc->els, proc, element).end =
                sc->doc->els->nelts;
            proc = -1;
        }
        else {
            add_el(sc, EL_TEXT, path, rd.line, line);
        }
    }
    if (macro_depth) {
        return apr_psprintf(sc->p, "<Macro> on line %u of %s is not closed",
                            macro_line, path);
    }
    if (vhost >= 0 || proc >= 0) {
        return apr_psprintf(sc->p, "%s on line %u of %s is not closed",
                            vhost >= 0 ? "<VirtualHost>" : "<Processor>",
                            APR_ARRAY_IDX(sc->doc->els,
                                          vhost >= 0 ? vhost : proc,
                                          element).line, path);
    }
    return NULL;
}

/*
 * The parsed document, copied into p at its exact size: the parse's own
 * memory (the files read whole, each physical and joined line, the words,
 * the element array's earlier halves) is scratch, and the document lives
 * as long as the generation (its files are emitted on first use): at
 * 1,000 environments 0.6 MB kept instead of 2.9 MB.
 */
static ph_envconf_doc *doc_compact(apr_pool_t *p, const ph_envconf_doc *in)
{
    ph_envconf_doc *out = apr_pcalloc(p, sizeof(*out));
    const char *file_in = NULL, *file_out = NULL;
    apr_size_t names = 0;
    char *texts;
    int i;

    for (i = 0; i < in->els->nelts; i++) {
        const element *e = &APR_ARRAY_IDX(in->els, i, element);

        out->bytes += strlen(e->text) + 1;
        names += e->kind == EL_PROCESSOR && e->u.name
                 ? strlen(e->u.name) + 1 : 0;
    }
    texts = apr_palloc(p, out->bytes + names + 1);
    out->conf_file = apr_pstrdup(p, in->conf_file);
    out->els = apr_array_make(p, in->els->nelts ? in->els->nelts : 1,
                              sizeof(element));
    for (i = 0; i < in->els->nelts; i++) {
        const element *e = &APR_ARRAY_IDX(in->els, i, element);
        element *c = apr_array_push(out->els);
        apr_size_t n = strlen(e->text) + 1;

        *c = *e;
        if (e->file != file_in) {   /* a file's lines share its name */
            file_in = e->file;
            file_out = apr_pstrdup(p, e->file);
        }
        c->file = file_out;
        memcpy(texts, e->text, n);
        c->text = texts;
        texts += n;
        if (e->kind == EL_PROCESSOR && e->u.name) {
            n = strlen(e->u.name) + 1;
            memcpy(texts, e->u.name, n);
            c->u.name = texts;
            texts += n;
        }
    }
    return out;
}

const char *ph_envconf_parse(apr_pool_t *p, const char *conf_file,
                             const ph_envconf_callbacks *cb,
                             ph_envconf_doc **doc)
{
    scan sc;
    const char *msg;

    apr_pool_create(&sc.p, p);
    sc.cb = cb;
    sc.doc = apr_pcalloc(sc.p, sizeof(*sc.doc));
    sc.doc->conf_file = conf_file;
    sc.doc->els = apr_array_make(sc.p, 256, sizeof(element));
    if ((msg = scan_file(&sc, conf_file, 0))) {
        msg = apr_pstrdup(p, msg);
    }
    else {
        *doc = doc_compact(p, sc.doc);
    }
    apr_pool_destroy(sc.p);
    return msg;
}

/* The verdict on the <VirtualHost> or Use of element e. */
static const char *ask(apr_pool_t *p, const ph_envconf_callbacks *cb,
                       ph_envconf_site site, element *e, outbuf *out,
                       ph_envconf_verdict *v)
{
    const char *text = NULL;

    *v = cb->vhost_source(cb->ctx, p, site, e->file, e->line, &e->u.memo,
                          &text);
    switch (*v) {
    case PH_ENVCONF_FOREIGN:
        out_text(out, text ? text : "");
        return NULL;
    case PH_ENVCONF_REFUSE:
        return text ? text
                    : apr_psprintf(p, "line %u of %s cannot be split by "
                                   "environment", e->line, e->file);
    case PH_ENVCONF_NOT_VHOST:
        if (site == PH_ENVCONF_AT_VHOST) {
            return apr_psprintf(p, "<VirtualHost> on line %u of %s: no "
                                "virtual host known there", e->line,
                                e->file);
        }
        return NULL;
    case PH_ENVCONF_MINE:
    case PH_ENVCONF_INACTIVE:
        return NULL;
    }
    return apr_psprintf(p, "line %u of %s: unknown verdict %d", e->line,
                        e->file, (int)*v);
}

const char *ph_envconf_emit(apr_pool_t *p, ph_envconf_doc *doc,
                            const char *env_name,
                            const ph_envconf_callbacks *cb,
                            const char **text, apr_size_t *len)
{
    outbuf out;
    const char *msg;
    int i = 0, n = doc->els->nelts;

    memset(&out, 0, sizeof(out));
    out.p = p;
    out.cap = doc->bytes + doc->bytes / 4 + 512;
    out.data = apr_palloc(p, out.cap);
    out_line(&out, apr_psprintf(p, "# Generated by peruser_hybrid for "
             "environment '%s' from %s: other environments' virtual hosts "
             "are stubs.", printable(p, env_name),
             printable(p, doc->conf_file)));
    out_line(&out, "# Do not edit: rewritten at every start and restart.");
    while (i < n) {
        element *e = &APR_ARRAY_IDX(doc->els, i, element);
        ph_envconf_verdict v;

        switch (e->kind) {
        case EL_TEXT:
            if (cb->rewrite_line) {
                const char *why = NULL,
                           *t = cb->rewrite_line(cb->ctx, p, env_name,
                                                 e->text, &why);
                if (!t) {
                    return apr_psprintf(p, "line %u of %s: %s", e->line,
                                        e->file, why ? why : "refused");
                }
                out_line(&out, t);
            }
            else {
                out_line(&out, e->text);
            }
            ++i;
            break;
        case EL_VHOST:
            if ((msg = ask(p, cb, PH_ENVCONF_AT_VHOST, e, &out, &v))) {
                return msg;
            }
            if (v == PH_ENVCONF_MINE) {
                out_line(&out, e->text);
                ++i;
            }
            else {
                /* The whole section, its includes and closing line. */
                i = e->end;
            }
            break;
        case EL_PROCESSOR:
            if (cb->processor_block) {
                const char *t = cb->processor_block(cb->ctx, p, e->u.name);

                if (!t) {
                    /* The whole block and its closing line. */
                    i = e->end;
                    break;
                }
                out_line(&out, e->text);
                out_text(&out, t);
            }
            else {
                out_line(&out, e->text);
            }
            ++i;
            break;
        case EL_USE:
            if ((msg = ask(p, cb, PH_ENVCONF_AT_USE, e, &out, &v))) {
                return msg;
            }
            if (v == PH_ENVCONF_MINE || v == PH_ENVCONF_NOT_VHOST) {
                out_line(&out, e->text);
            }
            ++i;
            break;
        }
    }
    *text = out.data;
    *len = out.len;
    return NULL;
}

const char *ph_envconf_scan(apr_pool_t *p, const char *conf_file,
                            const char *env_name,
                            const ph_envconf_callbacks *cb,
                            const char **text, apr_size_t *len)
{
    ph_envconf_doc *doc;
    const char *msg = ph_envconf_parse(p, conf_file, cb, &doc);

    return msg ? msg : ph_envconf_emit(p, doc, env_name, cb, text, len);
}
const char *ph_envconf_store(apr_pool_t *p, const char *dir,
                             const char *name, const char *text,
                             apr_size_t len)
{
    const char *final = apr_pstrcat(p, dir, "/", name, NULL);
    const char *tmp = apr_psprintf(p, "%s/.%s.%ld.tmp", dir, name,
                                   (long)getpid());
    int fd, err;
    apr_size_t done = 0;

    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              0600);
    if (fd < 0 && errno == EEXIST) {
        /* Left by a process of the same pid that died mid-write. */
        if (unlink(tmp) == 0) {
            fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW
                      | O_CLOEXEC, 0600);
        }
    }
    if (fd < 0) {
        err = errno;
        return apr_psprintf(p, "cannot create %s: %s", tmp, strerror(err));
    }
    /* The umask may only take bits away; say exactly what is meant. */
    if (fchmod(fd, 0600) != 0) {
        goto fail_unlink;
    }
    while (done < len) {
        ssize_t n = write(fd, text + done, len - done);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            goto fail_unlink;
        }
        done += (apr_size_t)n;
    }
    /* No fsync: the file is written again at every start, so it need not
     * survive a crash; rename alone makes readers see all of it or none. */
    if (close(fd) != 0) {
        fd = -1;
        goto fail_unlink;
    }
    fd = -1;
    if (rename(tmp, final) != 0) {
        goto fail_unlink;
    }
    return NULL;

fail_unlink:
    err = errno;
    if (fd >= 0) {
        close(fd);
    }
    unlink(tmp);
    return apr_psprintf(p, "cannot write %s: %s", final, strerror(err));
}
