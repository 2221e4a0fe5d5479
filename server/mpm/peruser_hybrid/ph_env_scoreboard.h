/*
 * ph_env_scoreboard.h -- httpd's scoreboard of each environment in a file
 * the StatusEnvironment's processors may read (env_scoreboard.c), and the
 * status page part that shows them (status_others.c).
 */
#ifndef PH_ENV_SCOREBOARD_H
#define PH_ENV_SCOREBOARD_H

#include "httpd.h"
#include "scoreboard.h"

#include "ph_env.h"

/* The environment named by StatusEnvironment, or NULL. */
const ph_env *ph_env_scoreboard_viewer(void);

/* Where environment env_name's scoreboard of generation gen is. */
const char *ph_env_scoreboard_path(apr_pool_t *p, const char *env_name,
                                   ap_generation_t gen);

/* Bytes of a scoreboard of these limits, laid out as httpd lays it out. */
apr_size_t ph_env_scoreboard_size(int server_limit, int thread_limit);

/* The parent (root), each generation: the directory, owned by root and
 * the StatusEnvironment's group, mode 0710.  0 (also when there is no
 * StatusEnvironment) or an errno value. */
int ph_env_scoreboard_dir(apr_pool_t *p);

/* A factory of env (root), making its scoreboard: its scoreboard in the
 * file, root:<the StatusEnvironment's group> 0640, unlinked with pconf.
 * Nothing when there is no StatusEnvironment or env is it (anonymous
 * memory, as httpd makes it).  0 or an errno value. */
int ph_env_scoreboard_create(apr_pool_t *pconf, const ph_env *env,
                             ap_generation_t gen);

/* In the StatusEnvironment's processor: a table of every other
 * environment's busy workers, read from their files. */
void ph_status_others_html(request_rec *r, ap_generation_t gen);

#endif /* PH_ENV_SCOREBOARD_H */
