/*
 * front_runs.h -- which member of a run a host names, in the
 * multiplexers' image (issue 13).
 *
 * The multiplexers' file (envconf_write.c) merges consecutive stubs of
 * the same addresses, head-reading lines and MultiplexerFacts into one
 * <VirtualHost> standing for n vhosts (envconf_stub.h, "runs"), like an
 * environment's file does.  Unlike a processor, a multiplexer must know
 * which of them a request is for: they may be of n environments.  The
 * stub lists its members in order (PH_STUB_MEMBER_DIRECTIVE,
 * envconf_stub.h: index,
 * environment, names); once httpd's own lookup has picked the run's
 * server_rec, the member is the first one, in definition order, that the
 * host matches, and the first member when none does.
 *
 * Why that is what httpd would pick with the members as n consecutive
 * vhosts (server/vhost.c, update_server_from_aliases): the name chain of
 * an address is searched in definition order and the first server whose
 * ServerName, ServerAlias exact names (strcasecmp) or ServerAlias
 * wildcards (ap_strcasecmp_match) match the host wins; port is not
 * compared.  The run's server_rec holds every member's names, so it
 * matches exactly when some member would, at the members' place in the
 * chain (nothing lies between them; they share every address, so they
 * are adjacent in each address's chain).  Within it, the first matching
 * member is the one httpd would have met first.  When no name matched,
 * httpd falls back to the first server whose address text equals the
 * host, or keeps the address's default server (no Host, or
 * StrictHostCheck off): either way the run's first member, since the
 * members share their addresses.  A member whose ServerName has a
 * wildcard character is never in a run: in the run it would become a
 * ServerAlias wildcard, which httpd matches unlike a ServerName
 * (ph_stub_mergeable).
 *
 * Pure (APR only): CUnit suite tests/unit/test_front_runs.c.
 */
#ifndef PH_FRONT_RUNS_H
#define PH_FRONT_RUNS_H

#include "apr_pools.h"

typedef struct ph_run ph_run;

/* A run of n members (n >= 1), none described yet. */
ph_run *ph_run_make(apr_pool_t *p, int n);

/* Member i (0-based) of environment env: a new member (i is the next
 * index) or more names of the last one (the same index and env, a
 * continuation line).  NULL, or why not (from p). */
const char *ph_run_member(apr_pool_t *p, ph_run *run, int i, const char *env);

/* One name of the last member: exact, or a wildcard when it has '*' or
 * '?' (httpd's ServerAlias rule).  NULL, or why not. */
const char *ph_run_name(apr_pool_t *p, ph_run *run, const char *name);

/* NULL once every member is described, or why not (from p). */
const char *ph_run_complete(apr_pool_t *p, const ph_run *run);

/* The members and member i's environment. */
int ph_run_size(const ph_run *run);
const char *ph_run_env(const ph_run *run, int i);

/* The member a request for host (NULL: none) is for, as above; scratch
 * from p.  O(1) for an exact name, plus the wildcard names of members
 * before it. */
int ph_run_pick(apr_pool_t *p, const ph_run *run, const char *host);

/* httpd's ServerAlias wildcard test (ap_strcasecmp_match's rules: '*'
 * any run of characters, '?' any one, ASCII case ignored): 1 on a
 * match. */
int ph_run_wild_match(const char *host, const char *pattern);

#endif /* PH_FRONT_RUNS_H */
