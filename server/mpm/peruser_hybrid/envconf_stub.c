/*
 * envconf_stub.c -- the text of a stub, alone or standing for a run
 * (envconf_stub.h).  Runs in the parent, on values envconf_write.c took
 * from httpd's server_recs and checked.
 */
#include <assert.h>
#include <string.h>

#include "apr_strings.h"
#include "apr_tables.h"

#include "envconf_stub.h"

static int same(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* A ServerName httpd compares as a plain string: in a run, a member's
 * ServerName becomes a ServerAlias, which httpd matches as a wildcard
 * when it has '*' or '?' (core.c, set_server_alias). */
static int plain_name(const char *name)
{
    return !name || !strpbrk(name, "*?");
}

int ph_stub_mergeable(const ph_stub_parts *a, const ph_stub_parts *b)
{
    return a->env && b->env && same(a->addrs, b->addrs)
           && same(a->head, b->head) && plain_name(a->server_name)
           && plain_name(b->server_name);
}

/*
 * The ServerAlias lines of a run, written once into one buffer: a run of
 * N vhosts has N names or more, and adding each to a line by copying the
 * line so far (apr_pstrcat) was quadratic in the line's length and left
 * every copy in the pool -- at N=1,000 about a megabyte per file, in the
 * parent, on a cold environment's first request (issue 13).
 */
typedef struct alias_text {
    char *buf;                  /* every line, each ending in "\n" */
    apr_size_t len, cap;
    apr_size_t line_len;        /* of the open line; 0: none open */
    const char *head;           /* what each line starts with */
} alias_text;

static void alias_put(alias_text *at, const char *s, apr_size_t n)
{
    assert(at->len + n < at->cap);
    memcpy(at->buf + at->len, s, n);
    at->len += n;
    at->line_len += n;
}

/* End the open line, if any. */
static void alias_end_line(alias_text *at)
{
    if (at->line_len) {
        alias_put(at, "\n", 1);
        at->line_len = 0;
    }
}

/* Name to the open line, or a new one (each_alias's f). */
static void alias_add(void *ctx, const char *name)
{
    alias_text *at = ctx;
    apr_size_t n = strlen(name);

    if (at->line_len && at->line_len + n + 3 > PH_STUB_ALIAS_LINE_MAX) {
        alias_end_line(at);
    }
    if (!at->line_len) {
        alias_put(at, at->head, strlen(at->head));
    }
    alias_put(at, " \"", 2);
    alias_put(at, name, n);
    alias_put(at, "\"", 1);
}

/* Every name of member part (its ServerName first, if with_server_name),
 * in order, to f. */
static void each_member_name(const ph_stub_parts *part, int with_server_name,
                             void (*f)(void *ctx, const char *name),
                             void *ctx)
{
    int j;

    if (with_server_name && part->server_name) {
        f(ctx, part->server_name);
    }
    for (j = 0; part->aliases && j < part->aliases->nelts; j++) {
        f(ctx, APR_ARRAY_IDX(part->aliases, j, const char *));
    }
}

/* Each name of the run but the first's ServerName, in order, to f. */
static void each_alias(const ph_stub_parts *const *parts, int n,
                       void (*f)(void *ctx, const char *name), void *ctx)
{
    int i;

    for (i = 0; i < n; i++) {
        each_member_name(parts[i], i > 0, f, ctx);
    }
}

/* The most a name can take, its line's head and end included (ctx: an
 * alias_text, whose cap grows). */
static void alias_bound(void *ctx, const char *name)
{
    alias_text *at = ctx;

    at->cap += strlen(name) + 3 + strlen(at->head) + 1;
}

const char *ph_stub_text(apr_pool_t *p, const ph_stub_parts *const *parts,
                         int n, ph_stub_owner owner)
{
    const ph_stub_parts *first;
    apr_array_header_t *out = apr_array_make(p, 8, sizeof(const char *));
    alias_text at = { NULL, 0, 1, 0, "ServerAlias" };
    int i;

    assert(parts && n >= 1);
    first = parts[0];
    for (i = 1; i < n; i++) {
        assert(ph_stub_mergeable(first, parts[i]));
    }
    APR_ARRAY_PUSH(out, const char *) =
        apr_pstrcat(p, "<VirtualHost ", first->addrs, ">\n", NULL);
    if (first->server_name) {
        APR_ARRAY_PUSH(out, const char *) =
            apr_pstrcat(p, "ServerName \"", first->server_name,
                        first->port ? apr_psprintf(p, ":%u", first->port) : "",
                        "\"\n", NULL);
    }
    each_alias(parts, n, alias_bound, &at);
    at.buf = apr_palloc(p, at.cap);
    each_alias(parts, n, alias_add, &at);
    alias_end_line(&at);
    at.buf[at.len] = '\0';
    APR_ARRAY_PUSH(out, const char *) = at.buf;
    if (owner == PH_STUB_NAMES_ENV && first->env) {
        APR_ARRAY_PUSH(out, const char *) =
            apr_pstrcat(p, "ServerEnvironment ", first->env, "\n", NULL);
    }
    if (n > 1 || owner == PH_STUB_FOREIGN) {
        APR_ARRAY_PUSH(out, const char *) =
            apr_psprintf(p, PH_STUB_WEIGHT_DIRECTIVE " %d\n", n);
    }
    APR_ARRAY_PUSH(out, const char *) = first->head ? first->head : "";
    APR_ARRAY_PUSH(out, const char *) = "</VirtualHost>\n";
    return apr_array_pstrcat(p, out, '\0');
}

const char *ph_stub_members_text(apr_pool_t *p,
                                 const ph_stub_parts *const *parts, int n)
{
    const char **heads;
    alias_text at = { NULL, 0, 1, 0, NULL };
    int i;

    assert(parts && n >= 1);
    heads = apr_palloc(p, sizeof(*heads) * (apr_size_t)n);
    for (i = 0; i < n; i++) {
        assert(parts[i]->env);
        heads[i] = apr_psprintf(p, PH_STUB_MEMBER_DIRECTIVE " %d %s", i,
                                parts[i]->env);
        at.head = heads[i];
        /* a member with no name still has its line */
        at.cap += strlen(heads[i]) + 1;
        each_member_name(parts[i], 1, alias_bound, &at);
    }
    at.buf = apr_palloc(p, at.cap);
    for (i = 0; i < n; i++) {
        at.head = heads[i];
        each_member_name(parts[i], 1, alias_add, &at);
        if (!at.line_len) {
            alias_put(&at, at.head, strlen(at.head));
        }
        alias_end_line(&at);
    }
    at.buf[at.len] = '\0';
    return at.buf;
}
