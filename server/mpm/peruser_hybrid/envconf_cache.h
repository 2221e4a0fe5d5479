/*
 * envconf_cache.h -- mod_ssl's caches, one per environment (issue 12).
 *
 * `SSLSessionCache` and `SSLStaplingCache` are server-wide directives, so
 * every environment's configuration file (envconf_write.c) holds the same
 * line, and every environment's httpd (its processor factory) would make
 * its cache at the same place.  For the providers whose argument is a
 * place on this machine -- shmcb (and its "default" name), dbm -- the line
 * written for environment X names X's own place: the path with a suffix
 * (".X", escaped as the configuration file's name is), before shmcb's
 * "(size)".  A session cache holds master secrets: no environment may
 * reach another's.
 *
 * Pure: no httpd headers (APR only); tests/unit/test_envconf_cache.c.
 */
#ifndef PH_ENVCONF_CACHE_H
#define PH_ENVCONF_CACHE_H

#include "apr_pools.h"

typedef enum {
    PH_CACHE_LINE_OTHER,    /* not a cache directive: keep the line */
    PH_CACHE_LINE_NONE,     /* a cache directive with no place of its own
                             * to give (none, nonenotnull, shmcb with no
                             * path: anonymous memory): keep the line */
    PH_CACHE_LINE_PLACED,   /* rewritten: *out names X's own place */
    PH_CACHE_LINE_OUTSIDE,  /* a cache outside this machine's files
                             * (memcache, redis, another provider): kept,
                             * shared by whoever can reach it */
    PH_CACHE_LINE_REFUSE    /* a place written so that it cannot be told
                             * apart safely (a backslash, an unclosed
                             * quote): *out says why */
} ph_cache_line_kind;

/*
 * Judge one logical configuration line (trimmed, ${VAR}s already
 * resolved) for environment env_name.  *out (from p) is the line to write:
 * the line itself but for PH_CACHE_LINE_PLACED (and the reason for
 * PH_CACHE_LINE_REFUSE).  *directive, if not NULL, is set to the
 * directive's name for every kind but PH_CACHE_LINE_OTHER.  runtime_dir:
 * httpd's DefaultRuntimeDir, where `dbm` without a path keeps its file
 * (socache-dbm-<namespace>); NULL refuses that form.
 */
ph_cache_line_kind ph_envconf_cache_line(apr_pool_t *p, const char *line,
                                         const char *env_name,
                                         const char *runtime_dir,
                                         const char **out,
                                         const char **directive);

/* The suffix appended to a cache's path for env_name: "." and the name,
 * every byte outside [A-Za-z0-9_-] as %XX. */
const char *ph_envconf_cache_suffix(apr_pool_t *p, const char *env_name);

#endif /* PH_ENVCONF_CACHE_H */
