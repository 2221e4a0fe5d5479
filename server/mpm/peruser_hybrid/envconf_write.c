/*
 * envconf_write.c -- the root parent writes one configuration file per
 * environment, every generation (ph_envconf.h; the filter is
 * envconf_scan.c).
 *
 * Runs in the parent, as root, in post_config, over what httpd itself
 * built: the server list (which vhost was defined where, and for which
 * environment) and the files httpd read.  Nothing here comes from a child.
 *
 * The owner map.  Every virtual host records where it was defined:
 * defn_name / defn_line_number, the file and (last physical) line of its
 * <VirtualHost>, or, for one made by mod_macro,
 *     macro 'NAME' (defined on line N of "F") used on line M of "G"
 * where G is again such a name when the Use was itself in a macro; the
 * innermost "used on line M of "G"" -- the last one in the string -- is
 * the Use line in a real file that the scanner meets.  Each key (site,
 * file, line) maps to the vhosts made there, in definition order.
 *
 * Fail closed: a key that makes vhosts of two environments (a Use whose
 * macro expands to both, a file Include'd twice under different Defines)
 * cannot be split, and a vhost of another environment whose definition
 * the scanner never met (made by a module, or by an Include inside a
 * <Macro> body) may have been copied whole: both refuse the generation.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "httpd.h"
#include "apr_getopt.h"
#include "apr_hash.h"
#include "apr_lib.h"
#include "apr_strings.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"
#include "util_cfgtree.h"

#include "envconf_cache.h"
#include "envconf_scan.h"
#include "envconf_stub.h"
#include "ph_config_tree.h"
#include "ph_env.h"
#include "ph_envconf.h"
#include "ph_front.h"
#include "ph_log.h"
#include "ph_magic.h"
#include "ph_module.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

#define OWNER_MAP_MAGIC 0x50484f4du  /* "PHOM" */

/* The vhosts made at one (site, file, line), in definition order. */
typedef struct {
    apr_array_header_t *list;   /* vh_entry * */
    unsigned visits;            /* times the scanner met the line */
} vh_key;

/* vh_entry.stub of a vhost whose stub is written from its parts. */
static const char STUB_FROM_PARTS[] = "(written from its parts)";

/* One virtual host, where it was defined, and whose it is. */
typedef struct vh_entry {
    const server_rec *s;
    const ph_env *env;          /* NULL: no ServerEnvironment */
    ph_envconf_site site;
    const vh_key *key;
    int index;                  /* in the owner map's entries */
    const char *stub;           /* NULL: not looked at yet; "": needs
                                 * none (no address); STUB_FROM_PARTS:
                                 * written from parts; else (stub_bad)
                                 * why it cannot have one */
    ph_stub_parts parts;        /* what the stub says (stub_bad: nothing) */
    int stub_bad;
    int visited;                /* the scanner met its definition */
    /* The run of stubs it is in, in the file being written (envconf_stub.h):
     * the run's first entry, which stands for run_len entries, or NULL. */
    struct vh_entry *run_head;
    int run_len;                /* the head's: entries it stands for */
    int run_written;            /* the head's: its stub was written */
    unsigned front_facts;       /* the multiplexers' file: its
                                 * MultiplexerFacts (plan_runs) */
} vh_entry;

typedef struct {
    unsigned magic;
    apr_pool_t *pool;               /* ptemp: lives through every env */
    apr_array_header_t *entries;    /* vh_entry *, definition order */
    apr_hash_t *keys;               /* "site:line:file" -> vh_key */
    const ph_env *self;             /* the environment being written */
    unsigned stubs;                 /* vhosts written as stubs for it */
    unsigned run_vhosts, run_stubs; /* of those, in runs; the runs' stubs */
    /* The <Processor> blocks the scanner met in this emit, by the index
     * of the parent's environment of that name (reset_visits). */
    unsigned char *met;
    int nmet;
    const char *outside;            /* a TLS cache line no file can
                                     * place per environment */
} owner_map;

/* The memo of a line where httpd made no vhost. */
static vh_key no_vhost;

/* The environment of a check that writes nothing: no vhost is its own. */
static const ph_env no_env;

/* The multiplexers' file (ph_front.h): no vhost is theirs either, and
 * each stub says what they route it by. */
static const ph_env multiplexers;

/* This generation's files, by environment index (NULL: not written
 * yet), and the multiplexers' (from pconf). */
static apr_array_header_t *written_paths;
static const char *front_path;

/*
 * What an environment's file is made from, kept for the generation: an
 * environment's file is written when its factory first starts (issue 13:
 * at start-up the parent wrote all N files, O(N^2) bytes, before the
 * first answer; most environments of a large server never start in a
 * generation).  In a pool of pconf's; each file's own work is in a pool
 * of its own, destroyed once written.
 */
typedef struct later_files {
    apr_pool_t *pool;
    owner_map map;
    ph_envconf_callbacks cb;
    ph_envconf_doc *doc;
    const char *dir;
    int gen;
    server_rec *s;
} later_files;

static later_files *later;

static apr_status_t forget_paths(void *unused)
{
    (void)unused;
    written_paths = NULL;
    front_path = NULL;
    ph_envconf_blank_forget();
    later = NULL;
    return APR_SUCCESS;
}

static const char *key_of(apr_pool_t *p, ph_envconf_site site,
                          const char *file, unsigned line)
{
    return apr_psprintf(p, "%d:%u:%s", (int)site, line, file);
}

/* defn_name of a vhost made by mod_macro: the real file and line of the
 * outermost Use; 0 if it is not one. */
static int macro_use_site(apr_pool_t *p, const char *defn, const char **file,
                          unsigned *line)
{
    static const char marker[] = ") used on line ";
    const char *at = NULL, *hit = defn, *c, *end;
    char *num_end;
    unsigned long n;

    if (strncmp(defn, "macro '", 7) != 0) {
        return 0;
    }
    while ((hit = strstr(hit, marker)) != NULL) {
        at = hit;
        hit += sizeof(marker) - 1;
    }
    if (!at) {
        return 0;
    }
    c = at + sizeof(marker) - 1;
    n = strtoul(c, &num_end, 10);
    if (num_end == c || strncmp(num_end, " of \"", 5) != 0) {
        return 0;
    }
    c = num_end + 5;
    end = c + strlen(c);
    if (end == c || end[-1] != '"') {
        return 0;
    }
    while (end > c && end[-1] == '"') {     /* one per level of nesting */
        --end;
    }
    *file = apr_pstrmemdup(p, c, end - c);
    *line = (unsigned)n;
    return 1;
}

static const char *build_map(apr_pool_t *p, server_rec *main_server,
                             owner_map *m)
{
    apr_array_header_t *rev = apr_array_make(p, 16, sizeof(server_rec *));
    server_rec *s;
    int i;

    m->magic = OWNER_MAP_MAGIC;
    m->pool = p;
    m->entries = apr_array_make(p, 16, sizeof(vh_entry *));
    m->keys = apr_hash_make(p);
    /* httpd pushes each new vhost at the head of the list. */
    for (s = main_server->next; s; s = s->next) {
        APR_ARRAY_PUSH(rev, server_rec *) = s;
    }
    for (i = rev->nelts - 1; i >= 0; i--) {
        vh_entry *e = apr_pcalloc(p, sizeof(*e));
        ph_envconf_site site = PH_ENVCONF_AT_VHOST;
        const char *file = NULL, *key;
        unsigned line = 0;
        vh_key *k;

        s = APR_ARRAY_IDX(rev, i, server_rec *);
        e->s = s;
        e->env = ph_env_of_server(s);
        if (!s->defn_name) {
            return apr_psprintf(p, "virtual host %s has no definition "
                                "site: cannot tell which text made it",
                                s->server_hostname ? s->server_hostname
                                                   : "(unnamed)");
        }
        if (macro_use_site(p, s->defn_name, &file, &line)) {
            site = PH_ENVCONF_AT_USE;
        }
        else {
            file = s->defn_name;
            line = s->defn_line_number;
        }
        key = key_of(p, site, file, line);
        k = apr_hash_get(m->keys, key, APR_HASH_KEY_STRING);
        if (!k) {
            k = apr_pcalloc(p, sizeof(*k));
            k->list = apr_array_make(p, 1, sizeof(vh_entry *));
            apr_hash_set(m->keys, key, APR_HASH_KEY_STRING, k);
        }
        e->site = site;
        e->key = k;
        e->index = m->entries->nelts;
        APR_ARRAY_PUSH(k->list, vh_entry *) = e;
        APR_ARRAY_PUSH(m->entries, vh_entry *) = e;
    }
    return NULL;
}

static void reset_visits(apr_pool_t *p, owner_map *m, const ph_env *self)
{
    apr_hash_index_t *hi;
    int i;

    m->self = self;
    m->stubs = 0;
    m->run_vhosts = m->run_stubs = 0;
    m->met = apr_pcalloc(p, (apr_size_t)ph_envs->nelts);
    m->nmet = 0;
    for (hi = apr_hash_first(p, m->keys); hi; hi = apr_hash_next(hi)) {
        vh_key *k = apr_hash_this_val(hi);
        k->visits = 0;
    }
    for (i = 0; i < m->entries->nelts; i++) {
        vh_entry *e = APR_ARRAY_IDX(m->entries, i, vh_entry *);

        e->visited = 0;
        e->run_head = NULL;     /* no runs unless plan_runs makes them */
    }
}

/* A value for a stub line: nothing that could end a word or a line, or
 * escape the quotes it is put in. */
static int stub_safe(const char *v)
{
    const char *c;

    for (c = v; *c; c++) {
        if (apr_iscntrl(*c) || *c == '"' || *c == '\\') {
            return 0;
        }
    }
    return *v != '\0';
}

static int addr_safe(const char *v)
{
    const char *c;

    for (c = v; *c; c++) {
        if (apr_isspace(*c) || *c == '>' || *c == '"' || *c == '\''
            || *c == '\\' || apr_iscntrl(*c)) {
            return 0;
        }
    }
    return *v != '\0';
}

/*
 * How httpd reads a request head on a connection whose default server is
 * s: httpd applies the default server's limits, rules and timeouts, and
 * its PROXY protocol setting, before it knows the request's vhost, which
 * may be X's.  Likewise the protocols the connection may speak, and, for
 * an HTTP/2 connection with prior knowledge, every setting of its session
 * (mod_http2 takes the connection and sets up its session on the default
 * server: streams, window, memory, padding ...; per-request H2 settings
 * are the request's vhost's and are not here).  And the keep-alive wait
 * after a request whose vhost sets no KeepAliveTimeout of its own is the
 * default server's (event's rule; proc_guard.c).  These lines of s's own
 * section are copied into its stub, as written: they hold no secret
 * (numbers, on/off, addresses, protocol names), and without them X's
 * processors would read such heads, or run such sessions, with the main
 * server's settings, unlike stock httpd.  proc_confine.c keeps what they
 * set (mod_reqtimeout's and mod_http2's entries, the core's Protocols) in
 * the inert foreign vhosts.
 */
static const char *const head_reading[] = {
    "LimitRequestLine", "LimitRequestFieldSize", "LimitRequestFields",
    "HttpProtocolOptions", "Timeout", "RequestReadTimeout", "KeepAliveTimeout",
    "RemoteIPProxyProtocol", "RemoteIPProxyProtocolExceptions",
    "Protocols", "ProtocolsHonorOrder",
    "H2Direct", "H2MaxSessionStreams", "H2WindowSize", "H2StreamMaxMemSize",
    "H2MaxDataFrameLen", "H2MaxStreamErrors", "H2MaxHeaderBlockLen",
    "H2Padding", "H2Push", "H2PushDiarySize", "H2WebSockets",
    "H2StreamTimeout", "H2ModernTLSOnly", "H2TLSWarmUpSize",
    "H2TLSCoolDownSecs", NULL
};

static const char *stub_head_reading(apr_pool_t *p, const server_rec *s)
{
    const ap_directive_t *d;
    const char *text = "";
    int top, i;

    for (d = ph_config_section_of(s, &top); d && !top; d = d->next) {
        for (i = 0; d->directive && head_reading[i]; i++) {
            if (!strcasecmp(d->directive, head_reading[i]) && d->args
                && stub_safe(d->args)) {
                text = apr_pstrcat(p, text, head_reading[i], " ", d->args,
                                   "\n", NULL);
                break;
            }
        }
    }
    return text;
}

/*
 * The stub of vhost e: its addresses (as written, so X's httpd resolves
 * them the same), its names, its environment and how heads are read on
 * its addresses (stub_head_reading) -- nothing else of the section; its
 * parts kept in e for runs (envconf_stub.h).  A vhost with no address
 * left (every one unresolvable) is in no address chain: no stub is
 * needed to keep anything's place.
 */
static const char *stub_of(apr_pool_t *p, apr_pool_t *scratch, vh_entry *e,
                           int *bad)
{
    const server_rec *s = e->s;
    const server_addr_rec *a;
    apr_array_header_t *words = apr_array_make(scratch, 4,
                                               sizeof(const char *));
    apr_array_header_t *names;
    apr_hash_t *seen = apr_hash_make(scratch);
    int i, n;

    *bad = 0;
    for (a = s->addrs; a; a = a->next) {
        const char *host = a->virthost ? a->virthost : "*";
        const char *w;

        if (!addr_safe(host)) {
            *bad = 1;
            return apr_psprintf(p, "virtual host defined on line %d of %s: "
                                "its address cannot be written in a stub",
                                s->defn_line_number, s->defn_name);
        }
        w = apr_psprintf(scratch, strchr(host, ':') ? "[%s]:" : "%s:",
                         host);
        w = a->host_port ? apr_psprintf(scratch, "%s%u", w,
                                        (unsigned)a->host_port)
                         : apr_pstrcat(scratch, w, "*", NULL);
        if (!apr_hash_get(seen, w, APR_HASH_KEY_STRING)) {
            apr_hash_set(seen, w, APR_HASH_KEY_STRING, w);
            APR_ARRAY_PUSH(words, const char *) = w;
        }
    }
    if (words->nelts == 0) {
        return "";
    }
    if (s->server_hostname && !stub_safe(s->server_hostname)) {
        goto unsafe_name;
    }
    /* Exactly sized: kept for the generation, one per vhost.  The names
     * themselves are the server_rec's (pconf). */
    n = (s->names ? s->names->nelts : 0)
        + (s->wild_names ? s->wild_names->nelts : 0);
    names = apr_array_make(p, n > 0 ? n : 1, sizeof(const char *));
    for (i = 0; s->names && i < s->names->nelts; i++) {
        APR_ARRAY_PUSH(names, const char *) =
            APR_ARRAY_IDX(s->names, i, const char *);
    }
    for (i = 0; s->wild_names && i < s->wild_names->nelts; i++) {
        APR_ARRAY_PUSH(names, const char *) =
            APR_ARRAY_IDX(s->wild_names, i, const char *);
    }
    for (i = 0; i < names->nelts; i++) {
        if (!stub_safe(APR_ARRAY_IDX(names, i, const char *))) {
            goto unsafe_name;
        }
    }
    e->parts.addrs = apr_array_pstrcat(p, words, ' ');
    e->parts.server_name = s->server_hostname;
    e->parts.port = s->server_hostname ? (unsigned)s->port : 0;
    e->parts.aliases = names;
    e->parts.env = e->env ? e->env->name : NULL;
    e->parts.head = apr_pstrdup(p, stub_head_reading(scratch, s));
    return STUB_FROM_PARTS;

unsafe_name:
    *bad = 1;
    return apr_psprintf(p, "virtual host defined on line %d of %s: a name "
                        "with a quote, backslash or control character "
                        "cannot be written in a stub", s->defn_line_number,
                        s->defn_name);
}

static void ensure_stub(owner_map *m, vh_entry *e)
{
    if (!e->stub) {
        /* Once per vhost, whatever the number of environments; only the
         * parts are kept (the texts are made per file, from them). */
        apr_pool_t *scratch;

        apr_pool_create(&scratch, m->pool);
        e->stub = stub_of(m->pool, scratch, e, &e->stub_bad);
        apr_pool_destroy(scratch);
    }
}

/*
 * The runs of X's file (envconf_stub.h): consecutive vhosts, in
 * definition order, each defined by a <VirtualHost> of its own (not a Use
 * of a macro, not a definition read twice), of other environments, with
 * mergeable stubs.  Anything else between two vhosts ends a run: one of
 * X's, a vhost with no stub or none written, a Use.  The check reads
 * every stub on its own.
 *
 * The multiplexers' file has runs too (issue 13: each stub there was a
 * server_rec in the image all multiplexers share), of vhosts with the
 * same MultiplexerFacts as well, each member's environment and names
 * listed in the run's stub (PH_STUB_MEMBER_DIRECTIVE): a multiplexer
 * routes by the member a host names (front_runs.h says why that is the
 * vhost httpd would pick).
 */
static void plan_runs(owner_map *m)
{
    int front = m->self == &multiplexers;
    vh_entry *prev = NULL;
    int i;

    for (i = 0; i < m->entries->nelts; i++) {
        vh_entry *e = APR_ARRAY_IDX(m->entries, i, vh_entry *);

        e->run_len = 0;
        e->run_written = 0;
        if (m->self == &no_env
            || e->site != PH_ENVCONF_AT_VHOST || e->key->list->nelts != 1
            || !e->env || e->env == m->self) {
            prev = NULL;
            continue;
        }
        ensure_stub(m, e);
        if (e->stub_bad || !*e->stub) {
            prev = NULL;
            continue;
        }
        if (front) {
            e->front_facts = ph_front_facts_compute((server_rec *)e->s);
        }
        if (prev && ph_stub_mergeable(&prev->parts, &e->parts)
            && (!front || prev->front_facts == e->front_facts)) {
            e->run_head = prev->run_head;
            e->run_head->run_len++;
        }
        else {
            e->run_head = e;
            e->run_len = 1;
        }
        prev = e;
    }
}

/*
 * The text for e, a vhost of a run: its head writes one stub for the
 * whole run, the others nothing -- unless the head was not written
 * before them (the scanner met the text in another order than httpd
 * made the vhosts: not expected), when each writes its own stub, as
 * without runs.
 */
static const char *stub_for(const owner_map *m, apr_pool_t *p, vh_entry *e);

/* stub with tail inserted before its "</VirtualHost>" line. */
static const char *before_end(apr_pool_t *p, const char *stub,
                              const char *tail)
{
    static const char end[] = "</VirtualHost>\n";
    size_t n = strlen(stub), nt = strlen(tail);
    char *text;

    ap_assert(n >= sizeof(end) - 1
              && !strcmp(stub + n - (sizeof(end) - 1), end));
    n -= sizeof(end) - 1;
    text = apr_palloc(p, n + nt + sizeof(end));
    memcpy(text, stub, n);
    memcpy(text + n, tail, nt);
    memcpy(text + n + nt, end, sizeof(end));
    return text;
}

static const char *run_text(owner_map *m, apr_pool_t *p, vh_entry *e,
                            unsigned *stubs)
{
    vh_entry *head = e->run_head;
    const ph_stub_parts **parts;
    int i;

    if (head->run_len == 1 || (e != head && !head->run_written)) {
        *stubs = 1;
        return stub_for(m, p, e);
    }
    if (e != head) {
        *stubs = 0;
        return "";
    }
    parts = apr_palloc(p, sizeof(*parts) * (apr_size_t)head->run_len);
    for (i = 0; i < head->run_len; i++) {
        parts[i] = &APR_ARRAY_IDX(m->entries, head->index + i,
                                  vh_entry *)->parts;
    }
    head->run_written = 1;
    *stubs = (unsigned)head->run_len;
    m->run_vhosts += (unsigned)head->run_len;
    m->run_stubs++;
    if (m->self != &multiplexers) {
        return ph_stub_text(p, parts, head->run_len, PH_STUB_FOREIGN);
    }
    /* the first member's environment (ServerEnvironment) and weight, then
     * what each member is (front_runs.h) */
    return before_end(p, ph_stub_text(p, parts, head->run_len,
                                      PH_STUB_NAMES_ENV),
                      apr_pstrcat(p, ph_front_facts_line(p, head->front_facts),
                                  ph_stub_members_text(p, parts,
                                                       head->run_len),
                                  NULL));
}

/*
 * e's stub as the file being written wants it, made in p, the pool of
 * that one file, from e's parts: the check's and the multiplexers' name
 * e's environment, and the multiplexers' get a MultiplexerFacts line
 * before the end of the section (what the parent knows from e's whole
 * section; ph_front.h); an environment's says only that it is another's
 * (PH_STUB_FOREIGN).  None is kept: one per vhost for the generation was
 * ~0.5 MB of the idle parent at 1,000 vhosts (issue 13), and a stub's
 * text costs microseconds to make.
 */
static const char *stub_for(const owner_map *m, apr_pool_t *p, vh_entry *e)
{
    const ph_stub_parts *one = &e->parts;

    if (e->stub_bad || !*e->stub) {
        return e->stub;
    }
    ap_assert(e->stub == STUB_FROM_PARTS);
    if (m->self == &no_env) {
        return ph_stub_text(p, &one, 1, PH_STUB_NAMES_ENV);
    }
    if (m->self != &multiplexers) {
        return ph_stub_text(p, &one, 1, PH_STUB_FOREIGN);
    }
    return before_end(p, ph_stub_text(p, &one, 1, PH_STUB_NAMES_ENV),
                      ph_front_facts_line(p, ph_front_facts_compute(
                                                 (server_rec *)e->s)));
}

static const char *env_label(const ph_env *env)
{
    return env ? env->name : "(none)";
}

static int has_environments(void)
{
    return ph_envs && ph_envs->nelts > 0
           && !APR_ARRAY_IDX(ph_envs, 0, ph_env *)->implicit;
}

/*
 * Whether the vhosts of env are copied whole in this pass.  Writing X's
 * file: those of X.  The check (ph_envconf_check), which stands for every
 * environment at once: those of env when no other environment exists, as
 * no file would then hold them as stubs.
 */
static int is_own(const owner_map *m, const ph_env *env)
{
    if (m->self != &no_env) {
        return env == m->self;
    }
    return env && ph_envs->nelts == 1
           && APR_ARRAY_IDX(ph_envs, 0, ph_env *) == env;
}

static ph_envconf_verdict vhost_source(void *ctx, apr_pool_t *p,
                                       ph_envconf_site site, const char *file,
                                       unsigned line, void **memo,
                                       const char **text)
{
    owner_map *m = ctx;
    vh_key *k;
    vh_entry *first, *e;
    unsigned visit;
    int i;

    PH_CHECK_MAGIC(m, OWNER_MAP_MAGIC);
    k = *memo;
    if (!k) {
        k = apr_hash_get(m->keys, key_of(m->pool, site, file, line),
                         APR_HASH_KEY_STRING);
        *memo = k = k ? k : &no_vhost;
    }
    if (k == &no_vhost) {
        /* httpd made no vhost here: a Use of a macro that makes none
         * (copied), or text in a section httpd skipped (dropped). */
        return site == PH_ENVCONF_AT_USE ? PH_ENVCONF_NOT_VHOST
                                         : PH_ENVCONF_INACTIVE;
    }
    visit = k->visits++;
    for (i = 0; i < k->list->nelts; i++) {
        ensure_stub(m, APR_ARRAY_IDX(k->list, i, vh_entry *));
    }
    first = APR_ARRAY_IDX(k->list, 0, vh_entry *);
    for (i = 1; i < k->list->nelts; i++) {
        e = APR_ARRAY_IDX(k->list, i, vh_entry *);
        if (e->env != first->env) {
            *text = apr_psprintf(p, "%s on line %u of %s makes virtual hosts "
                                 "of environments %s and %s; each "
                                 "environment's configuration is written "
                                 "without the others', so a %s must make "
                                 "the vhosts of one environment only",
                                 site == PH_ENVCONF_AT_USE ? "the Use"
                                 : "the <VirtualHost> (read more than once)",
                                 line, file, env_label(first->env),
                                 env_label(e->env),
                                 site == PH_ENVCONF_AT_USE ? "Use"
                                 : "definition");
            return PH_ENVCONF_REFUSE;
        }
    }
    if (is_own(m, first->env)) {
        /* Copied at every visit: where httpd read it, it makes these
         * vhosts again; where it skipped it, it is skipped again. */
        if (site == PH_ENVCONF_AT_USE) {
            for (i = 0; i < k->list->nelts; i++) {
                APR_ARRAY_IDX(k->list, i, vh_entry *)->visited = 1;
            }
        }
        else {
            i = visit < (unsigned)k->list->nelts ? (int)visit
                                                 : k->list->nelts - 1;
            APR_ARRAY_IDX(k->list, i, vh_entry *)->visited = 1;
        }
        return PH_ENVCONF_MINE;
    }
    if (site == PH_ENVCONF_AT_USE) {
        /* One Use, all its vhosts; a second visit of the same line (its
         * file included again) has nothing left to stand for. */
        const char *all = "";

        if (visit > 0) {
            return PH_ENVCONF_INACTIVE;
        }
        for (i = 0; i < k->list->nelts; i++) {
            e = APR_ARRAY_IDX(k->list, i, vh_entry *);
            if (e->stub_bad) {
                *text = e->stub;
                return PH_ENVCONF_REFUSE;
            }
            all = apr_pstrcat(p, all, stub_for(m, p, e), NULL);
            e->visited = 1;
            m->stubs++;
        }
        *text = all;
        return PH_ENVCONF_FOREIGN;
    }
    if (visit >= (unsigned)k->list->nelts) {
        return PH_ENVCONF_INACTIVE;
    }
    e = APR_ARRAY_IDX(k->list, visit, vh_entry *);
    if (e->run_head && !e->stub_bad) {
        unsigned n;

        *text = run_text(m, p, e, &n);
        e->visited = 1;
        m->stubs += n;
        return PH_ENVCONF_FOREIGN;
    }
    *text = stub_for(m, p, e);
    if (e->stub_bad) {
        return PH_ENVCONF_REFUSE;
    }
    e->visited = 1;
    m->stubs++;
    return PH_ENVCONF_FOREIGN;
}

/*
 * mod_ssl's caches (envconf_cache.h): the environment's file names its own
 * session and stapling caches, so that no environment's httpd makes,
 * opens or maps another's (they hold master secrets).  The factory makes
 * them as the environment's user, mode 0600 (factory_owner.c).
 */
/*
 * What the multiplexers' file leaves out of the server-level text: what
 * makes mod_ssl load a certificate and key or make a session or stapling
 * cache.  A multiplexer never handshakes (MultiplexerFacts says which
 * vhosts speak TLS), so no key of anybody's is ever in its memory.
 */
static const char *const not_for_multiplexers[] = {
    "SSLEngine", "SSLProxyEngine", "SSLCertificateFile",
    "SSLCertificateKeyFile", "SSLCertificateChainFile",
    "SSLProxyMachineCertificateFile", "SSLProxyMachineCertificatePath",
    "SSLSessionCache", "SSLStaplingCache", "SSLUseStapling", NULL
};

static const char *multiplexers_line(apr_pool_t *p, const char *line)
{
    const char *c = line, *name;
    size_t n;
    int i;

    while (apr_isspace(*c)) {
        c++;
    }
    for (name = c; *c && !apr_isspace(*c); c++) {
        ;
    }
    n = (size_t)(c - name);
    for (i = 0; not_for_multiplexers[i]; i++) {
        if (strlen(not_for_multiplexers[i]) == n
            && !strncasecmp(not_for_multiplexers[i], name, n)) {
            return apr_pstrcat(p, "# (not for the multiplexers) ", line,
                               NULL);
        }
    }
    return line;
}

static const char *rewrite_line(void *ctx, apr_pool_t *p,
                                const char *env_name, const char *line,
                                const char **why)
{
    owner_map *m = ctx;
    const char *text = line, *out = line, *directive = NULL;

    PH_CHECK_MAGIC(m, OWNER_MAP_MAGIC);
    if (m->self == &multiplexers) {
        return multiplexers_line(p, line);
    }
    if (strstr(line, "${")) {
        text = ap_resolve_env(p, line);
    }
    switch (ph_envconf_cache_line(p, text, env_name,
                                  ap_runtime_dir_relative(p, ""), &out,
                                  &directive)) {
    case PH_CACHE_LINE_PLACED:
        return out;
    case PH_CACHE_LINE_OUTSIDE:
        if (!m->outside) {
            m->outside = apr_pstrdup(m->pool, text);
        }
        return line;
    case PH_CACHE_LINE_REFUSE:
        *why = apr_psprintf(p, "%s cannot be given a place of its own per "
                            "environment (%s): write its path plainly",
                            directive, out);
        return NULL;
    case PH_CACHE_LINE_OTHER:
    case PH_CACHE_LINE_NONE:
        break;
    }
    return line;
}

/*
 * Which <Processor> blocks a file holds (issue 13).  The check, all of
 * them; the multiplexers' file, none (every environment is named in its
 * PH_ENV_LIST_DIRECTIVE lines instead).  An environment's file: its own, the
 * main server's environment's (a ServerEnvironment at server level must
 * find its block) and the StatusEnvironment's (ph_status_check_config,
 * ph_env_scoreboard_viewer), each with its index in the whole
 * configuration (PH_ENV_INDEX_DIRECTIVE); its stubs need none
 * (PH_STUB_FOREIGN).  The StatusEnvironment's own file holds every block,
 * as its processors list every environment's requests (status_others.c);
 * their positions are then their indices.  A block of a name the parent
 * has no environment of (in a section httpd skipped) is left out of a
 * pruned file.
 */
static int is_status_env(const ph_env *env)
{
    return ph_conf.status_env && !strcmp(env->name, ph_conf.status_env);
}

static int keeps_every_block(const owner_map *m)
{
    return m->self == &no_env || is_status_env(m->self);
}

static const char *processor_block(void *ctx, apr_pool_t *p,
                                   const char *name)
{
    owner_map *m = ctx;
    const ph_env *env;

    PH_CHECK_MAGIC(m, OWNER_MAP_MAGIC);
    env = ph_env_named(name);
    if (env && !m->met[env->index]) {
        m->met[env->index] = 1;
        m->nmet++;
    }
    if (m->self == &multiplexers) {
        /* listed at the end instead (env_list_text) */
        return NULL;
    }
    if (keeps_every_block(m)) {
        return "";
    }
    if (!env
        || (env != m->self && env != ph_env_of_server(ap_server_conf)
            && !is_status_env(env))) {
        return NULL;
    }
    return apr_psprintf(p, PH_ENV_INDEX_DIRECTIVE " %d\n", env->index);
}

static const char *resolve_vars(void *ctx, apr_pool_t *p, const char *text)
{
    (void)ctx;
    return ap_resolve_env(p, text);
}

static const char *resolve_path(void *ctx, apr_pool_t *p, const char *path)
{
    (void)ctx;
    return ap_server_root_relative(p, path);
}

/* Every vhost of another environment was met, so none of its text can
 * have been copied. */
static const char *check_all_met(apr_pool_t *p, const owner_map *m)
{
    int i;

    for (i = 0; i < m->entries->nelts; i++) {
        const vh_entry *e = APR_ARRAY_IDX(m->entries, i, vh_entry *);

        if (!e->visited && !is_own(m, e->env)) {
            return apr_psprintf(p, "virtual host %s of environment %s "
                                "(defined on line %d of %s) was not found in "
                                "the configuration text: made by a module, "
                                "or by an Include inside a <Macro>? The "
                                "configuration of %s cannot be written "
                                "without it",
                                e->s->server_hostname
                                ? e->s->server_hostname : "(unnamed)",
                                env_label(e->env), e->s->defn_line_number,
                                e->s->defn_name,
                                m->self == &no_env
                                ? "the other environments"
                                : m->self == &multiplexers
                                ? "the multiplexers"
                                : apr_pstrcat(p, "environment ",
                                              m->self->name, NULL));
        }
    }
    /* Every environment's block was met too: the multiplexers' file
     * lists them in place of their blocks, and an environment's file
     * keeps its own block, numbered, where the scanner meets it.  One
     * made by a macro's Use is not there to meet (and its factory would
     * number the environments otherwise than the parent). */
    for (i = 0; m->nmet < ph_envs->nelts && i < ph_envs->nelts; i++) {
        const ph_env *env = APR_ARRAY_IDX(ph_envs, i, ph_env *);

        if (!m->met[i]) {
            return apr_psprintf(p, "<Processor %s> (%s:%u) is not a block "
                                "of the configuration's text (made by a "
                                "macro's Use?): each environment's "
                                "configuration and the multiplexers' are "
                                "written from the text, so a <Processor> "
                                "block cannot come from a <Macro>",
                                env->name, env->defn_file, env->defn_line);
        }
    }
    return NULL;
}

static int in_tree(const ap_directive_t *d, const char *file)
{
    for (; d; d = d->next) {
        if ((d->filename && !strcmp(d->filename, file))
            || in_tree(d->first_child, file)) {
            return 1;
        }
    }
    return 0;
}

const char *ph_envconf_main_file(apr_pool_t *p, server_rec *s)
{
    const process_rec *proc = s->process;
    const char *conf = SERVER_CONFIG_FILE, *root = HTTPD_ROOT, *arg, *name;
    apr_getopt_t *opt;
    char c;

    /* httpd keeps its -f in a static of main.c; its command line is in
     * process_rec, parsed here with the same option string. */
    if (!proc || apr_getopt_init(&opt, p, proc->argc, proc->argv)
                 != APR_SUCCESS) {
        return NULL;
    }
    opt->errfn = NULL;
    while (apr_getopt(opt, AP_SERVER_BASEARGS, &c, &arg) == APR_SUCCESS) {
        if (c == 'f') {
            conf = arg;
        }
        else if (c == 'd') {
            root = arg;
        }
    }
    /* httpd made -f absolute against the root of -d (or -C ServerRoot);
     * a ServerRoot in the file itself may have moved the root since.
     * Believe a name only if httpd read that file. */
    name = ap_server_root_relative(p, conf);
    if (name && in_tree(ap_conftree, name)) {
        return name;
    }
    if (apr_filepath_merge((char **)&name, root, conf, APR_FILEPATH_TRUENAME,
                           p) == APR_SUCCESS
        && in_tree(ap_conftree, name)) {
        return name;
    }
    return NULL;
}

/* The directory: created 0700, or an existing one that is a directory
 * (not a link), ours, and made 0700. */
static const char *prepare_dir(apr_pool_t *p, const char *dir)
{
    struct stat st;
    int fd, err;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        err = errno;
        return apr_psprintf(p, "cannot create %s: %s", dir, strerror(err));
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        err = errno;
        return apr_psprintf(p, "cannot open directory %s: %s", dir,
                            strerror(err));
    }
    if (fstat(fd, &st) != 0 || st.st_uid != geteuid()) {
        close(fd);
        return apr_psprintf(p, "%s is not owned by uid %ld: refusing to "
                            "write environments' configurations there", dir,
                            (long)geteuid());
    }
    if ((st.st_mode & 07777) != 0700 && fchmod(fd, 0700) != 0) {
        err = errno;
        close(fd);
        return apr_psprintf(p, "cannot make %s mode 0700: %s", dir,
                            strerror(err));
    }
    close(fd);
    return NULL;
}

/* env-<name>.<gen>.conf, the name with everything but [A-Za-z0-9_-]
 * escaped as %XX (so the suffix and the directory are unambiguous). */
static const char *file_name(apr_pool_t *p, const char *env_name, int gen)
{
    char *esc = apr_palloc(p, 3 * strlen(env_name) + 1), *d = esc;
    const unsigned char *c;

    for (c = (const unsigned char *)env_name; *c; c++) {
        if (apr_isalnum(*c) || *c == '_' || *c == '-') {
            *d++ = (char)*c;
        }
        else {
            d += apr_snprintf(d, 4, "%%%02X", *c);
        }
    }
    *d = '\0';
    return apr_psprintf(p, "env-%s.%d.conf", esc, gen);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n >= k && !strcmp(s + n - k, suffix);
}

/* The multiplexers' file: multiplexers.<gen>.conf (no environment's name
 * can make that: theirs start with "env-"). */
#define FRONT_FILE_PREFIX "multiplexers."

/* A name this module writes (before its suffix). */
static int is_written_name(const char *n)
{
    return !strncmp(n, "env-", 4)
           || !strncmp(n, FRONT_FILE_PREFIX, sizeof(FRONT_FILE_PREFIX) - 1)
           || !strncmp(n, PH_ENVCONF_BLANK_PREFIX,
                       sizeof(PH_ENVCONF_BLANK_PREFIX) - 1);
}

/* Remove every earlier file (of any environment, gone ones included) and
 * every left-over temporary file: what was not written now. */
static void remove_stale(server_rec *s, const char *dir, apr_hash_t *now)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    if (!d) {
        return;
    }
    while ((de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        int ours = (is_written_name(n) && ends_with(n, ".conf"))
                   || (n[0] == '.' && is_written_name(n + 1)
                       && ends_with(n, ".tmp"));

        if (!ours || apr_hash_get(now, n, APR_HASH_KEY_STRING)) {
            continue;
        }
        if (unlinkat(dirfd(d), n, 0) != 0) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, errno, s, PHLOGNO(00502)
                         "cannot remove the stale environment configuration "
                         "%s/%s", dir, n);
        }
    }
    closedir(d);
}

/* The owner map and the parsed text: what every environment's file, and
 * the check, are made from. */
static const char *prepare(apr_pool_t *ptemp, server_rec *s,
                           const char *main_conf_file, owner_map *map,
                           ph_envconf_callbacks *cb, ph_envconf_doc **doc)
{
    const char *msg;

    if (!main_conf_file
        && !(main_conf_file = ph_envconf_main_file(ptemp, s))) {
        return "cannot tell which configuration file httpd read (its -f, "
               "relative to a ServerRoot the file changes?): environments' "
               "configurations cannot be written";
    }
    memset(map, 0, sizeof(*map));
    if ((msg = build_map(ptemp, s, map))) {
        return msg;
    }
    cb->ctx = map;
    cb->resolve_vars = resolve_vars;
    cb->resolve_path = resolve_path;
    cb->vhost_source = vhost_source;
    cb->rewrite_line = rewrite_line;
    cb->processor_block = processor_block;
    return ph_envconf_parse(ptemp, main_conf_file, cb, doc);
}

const char *ph_envconf_check(apr_pool_t *ptemp, server_rec *s)
{
    ph_envconf_callbacks cb;
    ph_envconf_doc *doc;
    owner_map map;
    const char *msg, *text;
    apr_size_t len;

    if (!has_environments()) {
        return NULL;
    }
    if (!(msg = prepare(ptemp, s, NULL, &map, &cb, &doc))) {
        /* As an environment no vhost belongs to: every one is met and
         * made a stub, so each refusal any environment would meet shows. */
        reset_visits(ptemp, &map, &no_env);
        msg = ph_envconf_emit(ptemp, doc, "(check)", &cb, &text, &len);
        if (!msg) {
            msg = check_all_met(ptemp, &map);
        }
    }
    map.magic = 0;
    return msg;
}

/*
 * Every environment's name in the parent's index order, as
 * PH_ENV_LIST_DIRECTIVE lines of at most PH_STUB_ALIAS_LINE_MAX bytes:
 * what the multiplexers' file holds of the <Processor> blocks.  A block
 * there was a section with an account, limits and places, checked again
 * in the multiplexers' factory: ~1 kB of its image per environment, and
 * a getpwnam per distinct account, for a name and an index (issue 13).
 */
static const char *env_list_text(apr_pool_t *p)
{
    static const char head[] = PH_ENV_LIST_DIRECTIVE;
    apr_size_t cap = 1, len = 0, line = 0, n;
    char *buf;
    int i;

    for (i = 0; i < ph_envs->nelts; i++) {
        cap += strlen(APR_ARRAY_IDX(ph_envs, i, ph_env *)->name)
               + sizeof(head) + 2;
    }
    buf = apr_palloc(p, cap);
    for (i = 0; i < ph_envs->nelts; i++) {
        const ph_env *env = APR_ARRAY_IDX(ph_envs, i, ph_env *);

        ap_assert(env->index == i);
        n = strlen(env->name);
        if (line && line + n + 2 > PH_STUB_ALIAS_LINE_MAX) {
            buf[len++] = '\n';
            line = 0;
        }
        if (!line) {
            memcpy(buf + len, head, sizeof(head) - 1);
            len += sizeof(head) - 1;
            line = sizeof(head) - 1;
        }
        buf[len++] = ' ';
        memcpy(buf + len, env->name, n);
        len += n;
        line += n + 1;
    }
    if (line) {
        buf[len++] = '\n';
    }
    ap_assert(len < cap);
    buf[len] = '\0';
    return buf;
}

/*
 * The multiplexers' file: every vhost a stub with its MultiplexerFacts
 * (consecutive ones in runs, plan_runs), the server-level text without
 * what loads keys (multiplexers_line), no <Processor> block but every
 * environment's name (env_list_text), and at its end the main server's
 * own facts.
 */
static const char *write_multiplexers(apr_pool_t *p, apr_pool_t *ptemp,
                                      server_rec *s, const char *dir, int gen,
                                      ph_envconf_doc *doc,
                                      ph_envconf_callbacks *cb,
                                      owner_map *map, apr_hash_t *now)
{
    apr_pool_t *iter;
    const char *text, *name, *msg;
    apr_size_t len;

    apr_pool_create(&iter, ptemp);
    reset_visits(iter, map, &multiplexers);
    plan_runs(map);
    msg = ph_envconf_emit(iter, doc, "(multiplexers)", cb, &text, &len);
    if (!msg) {
        msg = check_all_met(iter, map);
    }
    name = apr_psprintf(ptemp, FRONT_FILE_PREFIX "%d.conf", gen);
    if (!msg) {
        text = apr_pstrcat(iter, text, env_list_text(iter),
                           "# The main server, as the parent read it:\n",
                           ph_front_facts_line(iter,
                                               ph_front_facts_compute(s)),
                           NULL);
        msg = ph_envconf_store(iter, dir, name, text, strlen(text));
    }
    if (msg) {
        msg = apr_psprintf(p, "the multiplexers' configuration: %s", msg);
        apr_pool_destroy(iter);
        return msg;
    }
    apr_hash_set(now, name, APR_HASH_KEY_STRING, name);
    front_path = apr_pstrcat(p, dir, "/", name, NULL);
    /* The blank factories' file is made of the same text (issue 13) */
    if ((name = ph_envconf_blank_write(p, iter, s, dir, gen, text))) {
        apr_hash_set(now, name, APR_HASH_KEY_STRING, name);
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, PHLOGNO(00504)
                 "wrote the multiplexers' configuration %s: %" APR_SIZE_T_FMT
                 " bytes, every virtual host a stub (%u of them in runs, as "
                 "%u)", front_path, strlen(text), map->run_vhosts,
                 map->run_stubs);
    apr_pool_destroy(iter);
    return NULL;
}

/* Write env's file of this generation (later holds what it is made
 * from).  NULL, or why not (from p). */
static const char *write_env(apr_pool_t *p, later_files *l, const ph_env *env)
{
    apr_pool_t *iter;
    const char *text, *name, *msg;
    apr_size_t len;
    apr_time_t began = apr_time_now();

    PH_CHECK_MAGIC(env, PH_ENV_MAGIC);
    apr_pool_create(&iter, l->pool);
    reset_visits(iter, &l->map, env);
    plan_runs(&l->map);
    msg = ph_envconf_emit(iter, l->doc, env->name, &l->cb, &text, &len);
    if (!msg) {
        msg = check_all_met(iter, &l->map);
    }
    name = file_name(iter, env->name, l->gen);
    if (!msg) {
        msg = ph_envconf_store(iter, l->dir, name, text, len);
    }
    if (msg) {
        msg = apr_psprintf(p, "environment %s: %s", env->name, msg);
        apr_pool_destroy(iter);
        return msg;
    }
    APR_ARRAY_IDX(written_paths, env->index, const char *) =
        apr_pstrcat(p, l->dir, "/", name, NULL);
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, l->s, PHLOGNO(00501)
                 "wrote environment %s's configuration %s/%s: %"
                 APR_SIZE_T_FMT " bytes, %u virtual hosts of other "
                 "environments as stubs (%u of them in runs, as %u), in %"
                 APR_TIME_T_FMT " us", env->name, l->dir, name, len,
                 l->map.stubs, l->map.run_vhosts, l->map.run_stubs,
                 apr_time_now() - began);
    apr_pool_destroy(iter);
    return NULL;
}

const char *ph_envconf_write_all(apr_pool_t *p, apr_pool_t *ptemp,
                                 server_rec *s, const char *main_conf_file)
{
    later_files *l;
    apr_hash_t *now;
    const char *msg;
    int i;

    written_paths = NULL;
    front_path = NULL;
    ph_envconf_blank_forget();
    later = NULL;
    /* Started by a user who cannot switch users, every environment runs
     * as that user: there is no boundary for a file to keep. */
    if (!has_environments() || !ph_env_can_switch_users()) {
        return NULL;
    }
    l = apr_pcalloc(p, sizeof(*l));
    apr_pool_create(&l->pool, p);
    l->s = s;
    if ((msg = prepare(l->pool, s, main_conf_file, &l->map, &l->cb,
                       &l->doc))) {
        return apr_pstrdup(p, msg);
    }
    if (!(l->dir = ap_runtime_dir_relative(p, PH_ENVCONF_DIR))) {
        return "invalid DefaultRuntimeDir for environments' configurations";
    }
    if ((msg = prepare_dir(p, l->dir))) {
        return msg;
    }
    l->gen = ap_state_query(AP_SQ_CONFIG_GEN);
    written_paths = apr_array_make(p, ph_envs->nelts, sizeof(const char *));
    for (i = 0; i < ph_envs->nelts; i++) {
        APR_ARRAY_PUSH(written_paths, const char *) = NULL;
    }
    now = apr_hash_make(ptemp);
    if ((msg = write_multiplexers(p, ptemp, s, l->dir, l->gen, l->doc,
                                  &l->cb, &l->map, now))) {
        return msg;
    }
    /* Environments' files of earlier generations go; this generation's
     * are written on first use (ph_envconf_path). */
    remove_stale(s, l->dir, now);
    if (l->map.outside) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, PHLOGNO(00380)
                     "\"%s\": a TLS cache outside this server's files is "
                     "one cache for every environment's processors, each "
                     "of which can read the others' sessions there; give "
                     "each environment its own (shmcb or dbm are made per "
                     "environment)", l->map.outside);
    }
    later = l;
    apr_pool_cleanup_register(p, NULL, forget_paths, apr_pool_cleanup_null);
    return NULL;
}

int ph_envconf_files_in_use(void)
{
    return later != NULL;
}

const char *ph_envconf_path(const ph_env *env)
{
    const char *path, *msg;

    PH_CHECK_MAGIC(env, PH_ENV_MAGIC);
    if (!later || !written_paths || env->index < 0
        || env->index >= written_paths->nelts) {
        return NULL;
    }
    path = APR_ARRAY_IDX(written_paths, env->index, const char *);
    if (!path && (msg = write_env(apr_pool_parent_get(later->pool), later,
                                  env))) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, later->s, PHLOGNO(00193)
                     "%s: its factory cannot start", msg);
        return NULL;
    }
    return APR_ARRAY_IDX(written_paths, env->index, const char *);
}

const char *ph_envconf_front_path(void)
{
    return front_path;
}

/*
 * ProcessorImage fork: every environment's processors are forked from the
 * parent, so they all inherit the one session and stapling cache mod_ssl
 * made there (anonymous shared memory, or one dbm file): a tenant's code
 * can read and write the others' sessions.  That mode's documented
 * trade-off (it holds every tenant's keys too); said once per generation.
 */
void ph_envconf_note_fork_caches(server_rec *s)
{
    const ap_directive_t *d;
    apr_pool_t *p;

    if (!has_environments() || ph_envs->nelts < 2
        || !ph_env_can_switch_users()
        || !ap_find_linked_module("mod_ssl.c")) {
        return;
    }
    apr_pool_create(&p, NULL);
    for (d = ap_conftree; d; d = d->next) {
        const char *out, *directive, *line;

        if (!d->directive || !d->args) {
            continue;
        }
        line = apr_pstrcat(p, d->directive, " ", d->args, NULL);
        if (ph_envconf_cache_line(p, line, "-", NULL, &out, &directive)
            != PH_CACHE_LINE_OTHER
            && strcmp(d->args, "none") && strcmp(d->args, "nonenotnull")) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, PHLOGNO(00381)
                         "%s %s with ProcessorImage fork: every "
                         "environment's processors share the one cache the "
                         "parent made, so each can read and write the "
                         "others' TLS sessions; ProcessorImage exec gives "
                         "each environment its own", directive, d->args);
        }
    }
    apr_pool_destroy(p);
}
