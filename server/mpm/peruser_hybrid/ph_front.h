/*
 * ph_front.h -- what the multiplexers know of each server, and how they
 * get it without reading any tenant's configuration.
 *
 * With ProcessorImage exec the multiplexers are forked by a factory of
 * their own (factory_main.c), exec'd on a configuration where every
 * virtual host is a stub (envconf_write.c): addresses, names,
 * environment, how its heads are read.  What they route by that a stub
 * does not carry -- whether the vhost speaks TLS (its SSLEngine needs its
 * certificate and key, which a multiplexer must never hold), takes h2c
 * with prior knowledge, or is routed by address (a protocol module's
 * directive) -- the parent works out from the whole configuration and
 * writes into the stub as one line, `MultiplexerFacts`, read back here.
 *
 * Trust: the line is written by the root parent into a file only root
 * reads; the directive is refused in any other configuration.
 */
#ifndef PH_FRONT_H
#define PH_FRONT_H

#include "httpd.h"
#include "http_config.h"

#include "ph_env.h"

#define PH_FACT_TLS         0x1u    /* SSLEngine on */
#define PH_FACT_H2C         0x2u    /* mod_http2 takes h2c prior knowledge */
#define PH_FACT_BY_ADDRESS  0x4u    /* routed by address (config_proto.c) */

#define PH_FRONT_FACTS_DIRECTIVE "MultiplexerFacts"

/* Parent: the facts of s, from the whole configuration. */
unsigned ph_front_facts_compute(server_rec *s);

/* Parent: the line that states facts ("MultiplexerFacts tls h2c\n"). */
const char *ph_front_facts_line(apr_pool_t *p, unsigned facts);

/* The directive's handler (refused outside the multiplexers' factory). */
const char *ph_front_facts_cmd(cmd_parms *cmd, void *dummy, const char *args);

/* In the multiplexers' image: 1 and *facts if the configuration stated the
 * facts of s, else 0 (not that image, or a server with no line). */
int ph_front_facts_of(const server_rec *s, unsigned *facts);

/*
 * Runs (issue 13): the multiplexers' file merges consecutive stubs of the
 * same addresses, head-reading lines and facts into one, whose
 * PH_STUB_MEMBER_DIRECTIVE lines (envconf_stub.h) say which environment
 * and names each vhost it stands for has; it is bound to its first
 * member's environment (ServerEnvironment), its members resolved here
 * (front_members.c, front_runs.h).
 */

/* The directive's handler (refused outside the multiplexers' factory). */
const char *ph_front_member_cmd(cmd_parms *cmd, void *dummy,
                                const char *args);

/* check_config, after ph_env_resolve, in the multiplexers' factory: every
 * run's members described and bound.  NULL, or why not (from p). */
const char *ph_front_runs_resolve(apr_pool_t *p, server_rec *main_server);

/* The environment (NULL: none) and vhost id of the whole configuration
 * that serve a request for host (NULL: none) which httpd's own lookup
 * gave to server s: for a run, its member that host names (the first
 * when none does); else s's own.  Every route of the multiplexer asks
 * this, never ph_env_of_server.  Scratch from p. */
ph_env *ph_front_env_of(apr_pool_t *p, const server_rec *s, const char *host,
                        int *vhost_id);

/* s's environment when every vhost it stands for is in that one, else
 * NULL (a run of two environments is mixed). */
ph_env *ph_front_sole_env(const server_rec *s);

#endif /* PH_FRONT_H */
