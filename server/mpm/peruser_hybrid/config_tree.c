/*
 * config_tree.c -- what the multiplexers need from the configuration that
 * no module exports: a vhost's own section of the parsed tree, and
 * mod_reqtimeout's header-read policy (its server config is private to
 * it, so its directive is read again here, with its own rules).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpd.h"
#include "apr_strings.h"
#include "http_config.h"
#include "http_core.h"
#include "http_main.h"
#include "apr_hash.h"

#include "ph_config_tree.h"
#include "site_index.h"

/*
 * The <VirtualHost> sections of the tree by (file, line), built at the
 * first question about a tree: a scan of the whole tree for each vhost
 * was N^2 string compares in every image's start at N vhosts (issue 13:
 * the parent's start, a factory's start).  The tree is known by its
 * address and the configuration generation (a new pass builds a new
 * tree, possibly at the same address, always in a later generation...
 * except the first two passes at start-up, which the main state tells
 * apart).  Built in the process that asks, before it forks children that
 * would ask (post_config), so threads only read it; kept in a pool of the
 * process's pconf, cleared with it.
 */
static struct {
    const ap_directive_t *tree;
    int gen, state;
    apr_pool_t *pool;
    ph_site_index *by_site;     /* (file, line) -> first <VirtualHost> */
} sections;

static apr_status_t forget_sections(void *unused)
{
    (void)unused;
    sections.pool = NULL;
    sections.by_site = NULL;
    return APR_SUCCESS;
}

static void index_sections(const server_rec *s)
{
    const ap_directive_t *d;
    int gen = ap_state_query(AP_SQ_CONFIG_GEN);
    int state = ap_state_query(AP_SQ_MAIN_STATE);

    if (sections.by_site && sections.tree == ap_conftree
        && sections.gen == gen && sections.state == state) {
        return;
    }
    /* In a pool of the process's pconf: this module is unloaded and
     * loaded again with every generation, its statics with it, so a pool
     * of its own would be lost at each restart. */
    if (sections.pool) {
        apr_pool_destroy(sections.pool);    /* runs forget_sections */
    }
    apr_pool_create(&sections.pool, s->process->pconf);
    apr_pool_cleanup_register(sections.pool, NULL, forget_sections,
                              apr_pool_cleanup_null);
    sections.by_site = ph_site_index_make(sections.pool);
    sections.tree = ap_conftree;
    sections.gen = gen;
    sections.state = state;
    for (d = ap_conftree; d; d = d->next) {
        if (d->directive && !strcasecmp(d->directive, "<VirtualHost")) {
            ph_site_index_add(sections.by_site, d->filename,
                              (unsigned)d->line_num, (void *)d);
        }
    }
}

const ap_directive_t *ph_config_section_of(const server_rec *s, int *top)
{
    const ap_directive_t *d;

    *top = !s->is_virtual;
    if (*top) {
        return ap_conftree;
    }
    if (!s->defn_name) {
        return NULL;
    }
    index_sections(s);
    d = ph_site_index_find(sections.by_site, s->defn_name,
                           s->defn_line_number);
    return d ? d->first_child : NULL;
}

/* mod_reqtimeout's defaults for the header stage (its MRT_DEFAULT_header_*) */
#define HEADER_TIMEOUT_S    20
#define HEADER_MAX_S        40
#define HEADER_MIN_RATE     500

typedef struct header_stage {
    int set;
    long timeout_s, max_s, min_rate;
} header_stage;

/* A non-negative whole number that is all of text, or -1. */
static long whole(const char *text, size_t len)
{
    char buf[24], *end;
    long v;

    if (len == 0 || len >= sizeof(buf)) {
        return -1;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    v = strtol(buf, &end, 10);
    return *end || v < 0 ? -1 : v;
}

/* "header=N[-M][,MinRate=R]" among a RequestReadTimeout's arguments;
 * other stages are not ours.  httpd refused anything malformed already. */
static void parse_args(const char *args, header_stage *st)
{
    const char *p = args;

    while (*p) {
        const char *word, *rate, *dash;
        size_t len;

        while (*p == ' ' || *p == '\t') {
            p++;
        }
        word = p;
        while (*p && *p != ' ' && *p != '\t') {
            p++;
        }
        len = (size_t)(p - word);
        if (len < 7 || strncasecmp(word, "header=", 7) != 0) {
            continue;
        }
        word += 7;
        len -= 7;
        st->set = 1;
        st->max_s = st->min_rate = 0;
        rate = NULL;
        for (dash = word; dash < word + len; dash++) {
            if (*dash == ',' && (size_t)(word + len - dash) > 9
                && !strncasecmp(dash, ",minrate=", 9)) {
                rate = dash;
                break;
            }
        }
        if (rate) {
            st->min_rate = whole(rate + 9, (size_t)(word + len - rate - 9));
            len = (size_t)(rate - word);
        }
        dash = memchr(word, '-', len);
        if (dash) {
            st->max_s = whole(dash + 1, (size_t)(word + len - dash - 1));
            len = (size_t)(dash - word);
        }
        st->timeout_s = whole(word, len);
    }
}

static void scan(const ap_directive_t *d, int top, header_stage *st)
{
    for (; d; d = d->next) {
        if (top && d->directive && !strcasecmp(d->directive, "<VirtualHost")) {
            continue;
        }
        if (d->directive && !strcasecmp(d->directive, "RequestReadTimeout")
            && d->args) {
            parse_args(d->args, st);
        }
    }
}

void ph_config_read_policy(const server_rec *s, ph_read_policy *rp)
{
    header_stage st = { 0, 0, 0, 0 };
    const ap_directive_t *own;
    int top;

    rp->initial_ms = apr_time_as_msec(s->timeout);
    rp->max_ms = 0;
    rp->min_rate = 0;
    rp->per_read = 1;
    if (!ap_find_linked_module("mod_reqtimeout.c")) {
        return;
    }
    /* The main server's setting, then the vhost's own (httpd merges the
     * stage as a whole: a vhost that sets header= replaces it). */
    scan(ap_conftree, 1, &st);
    if (s->is_virtual && (own = ph_config_section_of(s, &top))) {
        scan(own, 0, &st);
    }
    if (!st.set) {
        st.timeout_s = HEADER_TIMEOUT_S;
        st.max_s = HEADER_MAX_S;
        st.min_rate = HEADER_MIN_RATE;
    }
    if (st.timeout_s <= 0) {
        return;                 /* header=0: the stage is off, Timeout */
    }
    rp->per_read = 0;
    rp->initial_ms = st.timeout_s * 1000LL;
    rp->max_ms = st.max_s > 0 ? st.max_s * 1000LL : 0;
    rp->min_rate = st.min_rate > 0 ? st.min_rate : 0;
}

/* The arguments of the last `name` directive of a section (at the top
 * level, outside <VirtualHost> blocks), or NULL. */
static const char *last_args(const ap_directive_t *d, int top,
                             const char *name)
{
    const char *found = NULL;

    for (; d; d = d->next) {
        if (top && d->directive && !strcasecmp(d->directive, "<VirtualHost")) {
            continue;
        }
        if (d->directive && !strcasecmp(d->directive, name) && d->args) {
            found = d->args;
        }
    }
    return found;
}

const char *ph_config_server_args(const server_rec *s, const char *name)
{
    const ap_directive_t *own;
    const char *v = NULL;
    int top;

    if (s->is_virtual && (own = ph_config_section_of(s, &top))) {
        v = last_args(own, 0, name);
    }
    return v ? v : last_args(ap_conftree, 1, name);
}

int ph_config_ssl_engine(const server_rec *s)
{
    const char *v;

    if (!ap_find_linked_module("mod_ssl.c")) {
        return 0;
    }
    /* mod_ssl merges SSLEngine: a vhost's own, else the main server's */
    if ((v = ph_config_server_args(s, "SSLEngine"))) {
        return !strcasecmp(v, "on");
    }
    /* Unset: mod_ssl turns it on where the protocol is https and a
     * certificate is configured (ssl_init_Module). */
    v = ap_get_server_protocol((server_rec *)s);
    return v && !strcasecmp(v, "https")
           && ph_config_server_args(s, "SSLCertificateFile") != NULL;
}
