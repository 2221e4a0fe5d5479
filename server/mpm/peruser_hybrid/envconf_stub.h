/*
 * envconf_stub.h -- the text of a stub: what an environment's file (and
 * the multiplexers') holds of another environment's <VirtualHost>
 * (ph_envconf.h, "the stub rule"), and one stub standing for a run of
 * them.
 *
 * Issue 13: each stub is a server_rec in the factory's httpd, with every
 * module's per-server configuration, and a resolver call per address; at
 * N environments of one vhost each, N-1 of them in every factory's start.
 * Consecutive stubs of the same addresses, with the same head-reading
 * lines, are matched by httpd exactly as one stub with all their names
 * would be: a name-based vhost chain is searched in definition order,
 * and nothing of ours lies between them.  So an environment's file holds
 * one stub per such run; it says how many vhosts it stands for
 * (PH_STUB_WEIGHT_DIRECTIVE), so that vhost ids stay those of the whole
 * configuration.
 *
 * Pure (APR only): CUnit suite tests/unit/test_envconf_stub.c.
 */
#ifndef PH_ENVCONF_STUB_H
#define PH_ENVCONF_STUB_H

#include "apr_pools.h"
#include "apr_tables.h"

#define PH_STUB_WEIGHT_DIRECTIVE "StubStandsFor"

/* The multiplexers' file: one line (or more, each within
 * PH_STUB_ALIAS_LINE_MAX) per member of a run, in order:
 *     StubMember <index in the run> <environment> "<name>" ...
 * its ServerName first, then its aliases (front_runs.h). */
#define PH_STUB_MEMBER_DIRECTIVE "StubMember"

/* A ServerAlias line is cut before it passes this many bytes (httpd reads
 * a configuration line of at most 8 KB). */
#define PH_STUB_ALIAS_LINE_MAX 2000

/* What one stub says, each value already checked to be writable (no
 * quote, backslash or control character). */
typedef struct ph_stub_parts {
    const char *addrs;          /* "<VirtualHost" arguments: "a:80 [b]:80" */
    const char *server_name;    /* ServerName's host, or NULL */
    unsigned port;              /* ServerName's port, 0 for none */
    const apr_array_header_t *aliases;  /* const char *; may be NULL */
    const char *env;            /* ServerEnvironment, or NULL */
    const char *head;           /* head-reading lines, "" for none */
} ph_stub_parts;

/* Whether b may join a run that a is in: the same addresses and
 * head-reading lines, both of some environment, neither with a wildcard
 * character in its ServerName (in a run it would be a wildcard alias). */
int ph_stub_mergeable(const ph_stub_parts *a, const ph_stub_parts *b);

/*
 * What a stub says of its owner.  The multiplexers route by it, so their
 * file names its environment (ServerEnvironment).  An environment's own
 * file only needs to know that it is not the environment's: there every
 * stub carries its weight (PH_STUB_WEIGHT_DIRECTIVE, 1 too) and no
 * ServerEnvironment, and the processor takes a stub for another
 * environment's vhost (env_registry.c) -- so the file needs no other
 * environment's <Processor> block (issue 13: at N environments those
 * were most of each factory's file, read in both of its passes).
 */
typedef enum {
    PH_STUB_NAMES_ENV,          /* ServerEnvironment (and weight if > 1) */
    PH_STUB_FOREIGN             /* weight always, no environment */
} ph_stub_owner;

/* The text of one stub standing for parts[0..n-1] (n >= 1), a run of
 * mergeable stubs in definition order: the first's ServerName, every name
 * of every one (the others' ServerNames as aliases: httpd matches a host
 * to a name without its port), and its owner as `owner` says. */
const char *ph_stub_text(apr_pool_t *p, const ph_stub_parts *const *parts,
                         int n, ph_stub_owner owner);

/* The multiplexers' member lines of a run of parts[0..n-1] (n >= 1,
 * each with an environment, env and names writable as they are):
 * PH_STUB_MEMBER_DIRECTIVE lines, each member's names as it had them. */
const char *ph_stub_members_text(apr_pool_t *p,
                                 const ph_stub_parts *const *parts, int n);

#endif /* PH_ENVCONF_STUB_H */
