/*
 * front_runs.c -- the members of a run and which one a host names
 * (front_runs.h).  Built in the multiplexers' factory from its file's
 * PH_STUB_MEMBER_DIRECTIVE lines (mux_runs.c), which the root parent
 * wrote; read-only once built, inherited by every multiplexer.
 */
#include <assert.h>
#include <string.h>

#include "apr_hash.h"
#include "apr_lib.h"
#include "apr_strings.h"
#include "apr_tables.h"

#include "front_runs.h"

#define PH_RUN_MAGIC 0x5048524eu    /* "PHRN" */

/* A wildcard name and the member it is of, in definition order. */
typedef struct wild_name {
    int member;
    const char *pattern;
} wild_name;

struct ph_run {
    unsigned magic;
    int n;                      /* members it stands for */
    int described;              /* members met so far */
    const char **envs;          /* [n]: each member's environment */
    apr_hash_t *exact;          /* lowercase name -> int *: lowest member */
    apr_array_header_t *wild;   /* wild_name, by member */
    apr_pool_t *pool;           /* where names are kept */
};

ph_run *ph_run_make(apr_pool_t *p, int n)
{
    ph_run *run = apr_pcalloc(p, sizeof(*run));

    assert(n >= 1);
    run->magic = PH_RUN_MAGIC;
    run->n = n;
    run->envs = apr_pcalloc(p, sizeof(*run->envs) * (apr_size_t)n);
    run->exact = apr_hash_make(p);
    run->wild = apr_array_make(p, 1, sizeof(wild_name));
    run->pool = p;
    return run;
}

const char *ph_run_member(apr_pool_t *p, ph_run *run, int i, const char *env)
{
    assert(run && run->magic == PH_RUN_MAGIC);
    if (!env || !*env) {
        return "a member needs an environment";
    }
    if (i == run->described - 1) {
        /* a continuation line of the last member: the same environment */
        return strcmp(run->envs[i], env)
               ? apr_psprintf(p, "member %d is of environment %s, not %s", i,
                              run->envs[i], env)
               : NULL;
    }
    if (i != run->described || i >= run->n) {
        return apr_psprintf(p, "member %d out of order (next: %d of %d)", i,
                            run->described, run->n);
    }
    run->envs[i] = apr_pstrdup(run->pool, env);
    run->described++;
    return NULL;
}

static int is_wild(const char *name)
{
    return strchr(name, '*') || strchr(name, '?');
}

static char *lower_copy(apr_pool_t *p, const char *s)
{
    char *out = apr_pstrdup(p, s), *c;

    for (c = out; *c; c++) {
        *c = (char)apr_tolower(*c);
    }
    return out;
}

const char *ph_run_name(apr_pool_t *p, ph_run *run, const char *name)
{
    int member;

    assert(run && run->magic == PH_RUN_MAGIC);
    (void)p;
    if (run->described == 0) {
        return "a name before any member";
    }
    if (!name || !*name) {
        return "an empty name";
    }
    member = run->described - 1;
    if (is_wild(name)) {
        wild_name *w = apr_array_push(run->wild);

        w->member = member;
        w->pattern = apr_pstrdup(run->pool, name);
    }
    else {
        char *key = lower_copy(run->pool, name);

        /* members come in order: the first one to name it keeps it */
        if (!apr_hash_get(run->exact, key, APR_HASH_KEY_STRING)) {
            int *at = apr_palloc(run->pool, sizeof(*at));

            *at = member;
            apr_hash_set(run->exact, key, APR_HASH_KEY_STRING, at);
        }
    }
    return NULL;
}

const char *ph_run_complete(apr_pool_t *p, const ph_run *run)
{
    assert(run && run->magic == PH_RUN_MAGIC);
    if (run->described != run->n) {
        return apr_psprintf(p, "%d members described of the %d it stands "
                            "for", run->described, run->n);
    }
    return NULL;
}

int ph_run_size(const ph_run *run)
{
    assert(run && run->magic == PH_RUN_MAGIC);
    return run->n;
}

const char *ph_run_env(const ph_run *run, int i)
{
    assert(run && run->magic == PH_RUN_MAGIC && i >= 0 && i < run->described);
    return run->envs[i];
}

int ph_run_wild_match(const char *host, const char *pattern)
{
    /* Backtracking over the last '*' only: a later star can always take
     * what an earlier one would have, so retrying the last is enough. */
    const char *star = NULL, *resume = NULL;

    while (*host) {
        if (*pattern == '*') {
            while (*pattern == '*') {
                pattern++;
            }
            if (!*pattern) {
                return 1;
            }
            star = pattern;
            resume = host;
        }
        else if (*pattern == '?'
                 || (*pattern
                     && apr_tolower(*pattern) == apr_tolower(*host))) {
            pattern++;
            host++;
        }
        else if (star) {
            pattern = star;
            host = ++resume;
        }
        else {
            return 0;
        }
    }
    while (*pattern == '*') {
        pattern++;
    }
    return *pattern == '\0';
}

int ph_run_pick(apr_pool_t *p, const ph_run *run, const char *host)
{
    const int *exact;
    int best, i;

    assert(run && run->magic == PH_RUN_MAGIC);
    if (!host || !*host) {
        return 0;
    }
    exact = apr_hash_get(run->exact, lower_copy(p, host), APR_HASH_KEY_STRING);
    best = exact ? *exact : run->n;
    /* a wildcard of an earlier member comes first (httpd tries each
     * server's names in turn, servers in order) */
    for (i = 0; i < run->wild->nelts; i++) {
        const wild_name *w = &APR_ARRAY_IDX(run->wild, i, wild_name);

        if (w->member >= best) {
            break;
        }
        if (ph_run_wild_match(host, w->pattern)) {
            best = w->member;
            break;
        }
    }
    return best < run->n ? best : 0;
}
