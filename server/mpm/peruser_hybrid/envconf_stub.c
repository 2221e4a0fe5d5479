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

int ph_stub_mergeable(const ph_stub_parts *a, const ph_stub_parts *b)
{
    return a->env && b->env && same(a->addrs, b->addrs)
           && same(a->head, b->head);
}

typedef struct alias_lines {
    apr_array_header_t *lines;  /* const char *, finished lines */
    char *cur;                  /* NULL: no line open */
    apr_size_t len;
    apr_pool_t *p;
} alias_lines;

static void alias_add(alias_lines *al, const char *name)
{
    apr_size_t n = strlen(name) + 3;       /* space and two quotes */

    if (al->cur && al->len + n > PH_STUB_ALIAS_LINE_MAX) {
        APR_ARRAY_PUSH(al->lines, const char *) = al->cur;
        al->cur = NULL;
    }
    if (!al->cur) {
        al->cur = apr_pstrdup(al->p, "ServerAlias");
        al->len = strlen(al->cur);
    }
    al->cur = apr_pstrcat(al->p, al->cur, " \"", name, "\"", NULL);
    al->len += n;
}

const char *ph_stub_text(apr_pool_t *p, const ph_stub_parts *const *parts,
                         int n, ph_stub_owner owner)
{
    const ph_stub_parts *first;
    apr_array_header_t *out = apr_array_make(p, 8, sizeof(const char *));
    alias_lines al = { NULL, NULL, 0, p };
    int i, j;

    assert(parts && n >= 1);
    first = parts[0];
    al.lines = apr_array_make(p, 4, sizeof(const char *));
    APR_ARRAY_PUSH(out, const char *) =
        apr_pstrcat(p, "<VirtualHost ", first->addrs, ">\n", NULL);
    if (first->server_name) {
        APR_ARRAY_PUSH(out, const char *) =
            apr_pstrcat(p, "ServerName \"", first->server_name,
                        first->port ? apr_psprintf(p, ":%u", first->port) : "",
                        "\"\n", NULL);
    }
    for (i = 0; i < n; i++) {
        assert(i == 0 || ph_stub_mergeable(first, parts[i]));
        if (i > 0 && parts[i]->server_name) {
            alias_add(&al, parts[i]->server_name);
        }
        for (j = 0; parts[i]->aliases && j < parts[i]->aliases->nelts; j++) {
            alias_add(&al, APR_ARRAY_IDX(parts[i]->aliases, j, const char *));
        }
    }
    if (al.cur) {
        APR_ARRAY_PUSH(al.lines, const char *) = al.cur;
    }
    for (i = 0; i < al.lines->nelts; i++) {
        APR_ARRAY_PUSH(out, const char *) =
            apr_pstrcat(p, APR_ARRAY_IDX(al.lines, i, const char *), "\n",
                        NULL);
    }
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
