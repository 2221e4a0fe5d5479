/*
 * envconf_cache.c -- the cache lines of an environment's configuration
 * name that environment's own cache (envconf_cache.h).
 *
 * Reads a line as httpd reads a one-argument directive: the name, then
 * one word, bare or in matching quotes.  mod_ssl splits that word at its
 * first ':' into the provider and the provider's argument; shmcb reads
 * its argument as PATH or PATH(SIZE), dbm as PATH.
 */
#include <string.h>

#include "apr_lib.h"
#include "apr_strings.h"

#include "envconf_cache.h"

static const char *const cache_directives[] = {
    "SSLSessionCache", "SSLStaplingCache", NULL
};

/* The namespace mod_ssl gives each (mod_socache_dbm's default file name
 * ends with it). */
static const char *const cache_namespaces[] = {
    "mod_ssl-sess", "mod_ssl-staple", NULL
};

/* Providers whose argument is a path on this machine (names as
 * registered: ap_lookup_provider compares them exactly). */
enum { PROV_SHMCB, PROV_DEFAULT, PROV_DBM };
static const char *const path_providers[] = {
    "shmcb", "default", "dbm", NULL
};

const char *ph_envconf_cache_suffix(apr_pool_t *p, const char *env_name)
{
    char *esc = apr_palloc(p, 3 * strlen(env_name) + 2), *d = esc;
    const unsigned char *c;

    *d++ = '.';
    for (c = (const unsigned char *)env_name; *c; c++) {
        if (apr_isalnum(*c) || *c == '_' || *c == '-') {
            *d++ = (char)*c;
        }
        else {
            d += apr_snprintf(d, 4, "%%%02X", *c);
        }
    }
    *d = '\0';
    return esc;
}

static int listed(const char *const *list, const char *word, size_t n,
                  int nocase)
{
    int i;

    for (i = 0; list[i]; i++) {
        if (strlen(list[i]) == n
            && !(nocase ? strncasecmp(list[i], word, n)
                        : strncmp(list[i], word, n))) {
            return i;
        }
    }
    return -1;
}

ph_cache_line_kind ph_envconf_cache_line(apr_pool_t *p, const char *line,
                                         const char *env_name,
                                         const char *runtime_dir,
                                         const char **out,
                                         const char **directive)
{
    const char *c = line, *name, *arg, *arg_end, *colon, *path_end;
    char quote = '\0';
    size_t n;
    int which, prov;

    *out = line;
    while (apr_isspace(*c)) {
        c++;
    }
    name = c;
    while (*c && !apr_isspace(*c)) {
        c++;
    }
    n = (size_t)(c - name);
    if ((which = listed(cache_directives, name, n, 1)) < 0) {
        return PH_CACHE_LINE_OTHER;
    }
    if (directive) {
        *directive = cache_directives[which];
    }
    while (apr_isspace(*c)) {
        c++;
    }
    arg = c;
    if (*c == '"' || *c == '\'') {
        quote = *c++;
        arg = c;
        if (!(arg_end = strchr(arg, quote))) {
            *out = "an unclosed quote";
            return PH_CACHE_LINE_REFUSE;
        }
    }
    else {
        arg_end = arg;
        while (*arg_end && !apr_isspace(*arg_end)) {
            arg_end++;
        }
    }
    if (memchr(arg, '\\', (size_t)(arg_end - arg))) {
        *out = "a backslash in its argument";
        return PH_CACHE_LINE_REFUSE;
    }
    colon = memchr(arg, ':', (size_t)(arg_end - arg));
    prov = listed(path_providers, arg,
                  (size_t)((colon ? colon : arg_end) - arg), 0);
    if (prov < 0) {
        n = (size_t)(arg_end - arg);
        return (n == 4 && !strncmp(arg, "none", 4))
               || (n == 11 && !strncmp(arg, "nonenotnull", 11))
               ? PH_CACHE_LINE_NONE : PH_CACHE_LINE_OUTSIDE;
    }
    if (!colon || colon + 1 == arg_end) {
        if (prov != PROV_DBM) {
            return PH_CACHE_LINE_NONE;  /* shmcb's default: anonymous */
        }
        /* dbm's default file, in the runtime directory: named here */
        if (!runtime_dir || !*runtime_dir
            || strpbrk(runtime_dir, "\"'\\\n")) {
            *out = "dbm without a path, and no runtime directory to name "
                   "its file in";
            return PH_CACHE_LINE_REFUSE;
        }
        *out = apr_pstrcat(p, apr_pstrmemdup(p, line, (size_t)(name - line)
                                             + n),
                           " \"dbm:", runtime_dir, "/socache-dbm-",
                           cache_namespaces[which],
                           ph_envconf_cache_suffix(p, env_name), "\"", NULL);
        return PH_CACHE_LINE_PLACED;
    }
    /* shmcb: PATH or PATH(SIZE) -- mod_socache_shmcb cuts at the last
     * '('; dbm: PATH. */
    path_end = arg_end;
    if (prov != PROV_DBM) {
        const char *open = NULL, *s;

        for (s = colon + 1; s < arg_end; s++) {
            if (*s == '(') {
                open = s;
            }
        }
        if (open) {
            path_end = open;
        }
    }
    if (path_end == colon + 1) {
        return PH_CACHE_LINE_NONE;      /* no path: anonymous memory */
    }
    *out = apr_pstrcat(p,
                       apr_pstrmemdup(p, line, (size_t)(path_end - line)),
                       ph_envconf_cache_suffix(p, env_name), path_end, NULL);
    return PH_CACHE_LINE_PLACED;
}
