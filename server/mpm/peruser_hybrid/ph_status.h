/*
 * ph_status.h -- the peruser view in mod_status (status_hook.c).
 */
#ifndef PH_STATUS_H
#define PH_STATUS_H

/* Register with mod_status's optional status_hook (a no-op if mod_status
 * is not loaded). */
#include "httpd.h"

#include "ph_env.h"

void ph_status_register_hooks(void);

/* check_config, after the environments are resolved: StatusEnvironment
 * must name one.  NULL, or the message. */
const char *ph_status_check_config(apr_pool_t *p);

/* A processor of env, before any module's code runs in it: from now on
 * this process's mod_status pages show env only, unless env is the
 * StatusEnvironment.  (Multiplexers serve no pages; the parent none.) */
void ph_status_set_viewer(const ph_env *env);

#endif /* PH_STATUS_H */
