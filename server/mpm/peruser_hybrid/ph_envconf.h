/*
 * ph_envconf.h -- one configuration file per environment (issue 10).
 *
 * The root parent, once per generation after reading the whole
 * configuration, writes for each environment X the operator's
 * configuration text with every other environment's <VirtualHost> (and
 * every mod_macro `Use` that makes one) replaced by a stub holding only its
 * addresses, ServerName, ServerAlias and a mark that it is another's
 * (StubStandsFor; the multiplexers' file names its ServerEnvironment): an
 * httpd that reads X's file matches requests to the same vhosts in the
 * same order, answers 421 for the others' (the processor's guard), and
 * never reads their secrets.  X's file holds no other environment's
 * <Processor> block but the main server's environment's and the
 * StatusEnvironment's (issue 13, envconf_write.c processor_block).  Consecutive stubs of the same addresses are one stub
 * with all their names (issue 13, envconf_stub.h).  envconf_scan.c filters
 * the text; envconf_stub.c writes stubs; envconf_write.c is the glue to
 * httpd.
 *
 * Files: <DefaultRuntimeDir>/peruser_hybrid/env-<name>.<gen>.conf, mode
 * 0600, in a directory of mode 0700 owned by the parent's user (root);
 * each generation's files replace the previous ones.
 */
#ifndef PH_ENVCONF_H
#define PH_ENVCONF_H

#include "httpd.h"

#include "ph_env.h"

/* The directory under httpd's runtime dir. */
#define PH_ENVCONF_DIR "peruser_hybrid"

/*
 * Prepare this generation's files (p: pconf, which keeps what they are
 * made from and the paths ph_envconf_path returns; ptemp: scratch):
 * write the multiplexers' file and remove earlier generations' files.
 * An environment's own file is written when its factory first starts
 * (ph_envconf_path).  main_conf_file: the file httpd read (-f), or NULL
 * to find it from httpd's command line.  Returns NULL, or a message (from
 * p) naming what could not be split or written; nothing of this
 * generation is then usable.
 */
const char *ph_envconf_write_all(apr_pool_t *p, apr_pool_t *ptemp,
                                 server_rec *s, const char *main_conf_file);

/*
 * check_config (so apache2 -t too): everything write_all would refuse,
 * without writing anything.  Returns NULL or a message from ptemp.
 */
const char *ph_envconf_check(apr_pool_t *ptemp, server_rec *s);

/* Whether this generation's environments have files of their own
 * (ProcessorImage exec, run by root). */
int ph_envconf_files_in_use(void);

/* The file of env this generation, written now if it was not yet (the
 * first start of its factory); NULL if it cannot be written (logged,
 * PH00193) or none are in use (ph_envconf_files_in_use). */
const char *ph_envconf_path(const ph_env *env);

/* The multiplexers' file of this generation (every vhost a stub with its
 * MultiplexerFacts, ph_front.h), or NULL if none was written. */
const char *ph_envconf_front_path(void);

/*
 * The blank factories' file of this generation (envconf_blank_write.c,
 * ph_factory.h): written beside the multiplexers' file, from its text;
 * blank.<gen>.conf (no environment's file can be named so: theirs start
 * with "env-").  ph_envconf_blank_write returns its name (from p), or
 * NULL when this generation has none (logged); ph_envconf_blank_path the
 * whole path, or NULL.
 */
#define PH_ENVCONF_BLANK_PREFIX "blank."
const char *ph_envconf_blank_write(apr_pool_t *p, apr_pool_t *ptemp,
                                   server_rec *s, const char *dir, int gen,
                                   const char *front_text);
const char *ph_envconf_blank_path(void);
void ph_envconf_blank_forget(void);

/* The configuration file httpd read (its -f, made absolute as httpd made
 * it), or NULL if it cannot be told. */
const char *ph_envconf_main_file(apr_pool_t *p, server_rec *s);

/* With ProcessorImage fork, a warning (PH00381) for each mod_ssl cache
 * every environment's processors then share. */
void ph_envconf_note_fork_caches(server_rec *s);

#endif /* PH_ENVCONF_H */
