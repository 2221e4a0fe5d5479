/*
 * ph_cgroup.h -- each environment's cgroups: CgroupRoot, the limits the
 * MPM writes (ProcessorMemoryMax, ProcessorPidsMax, ProcessorCpuWeight,
 * ProcessorCpuMax) and joining them (cgroup_groups.c, cgroup_join.c).
 *
 *   check_config (parent, factory, -t)
 *       each CgroupRoot is a cgroup directory; which version and
 *       controllers it has; a limit no root can enforce fails -t; each
 *       environment's groups are root/name;
 *   parent, every generation, as root, before any child
 *       creates root/name (mode 0755, root's), enables the controllers
 *       in a v2 root's cgroup.subtree_control and writes the limits;
 *   processor, as root, before dropping privileges
 *       joins its Cgroup directories and its groups (cgroup.procs); a
 *       failure is counted in its segment record and its environment's
 *       (logged by the first of the generation); with CgroupRequired on
 *       it exits (the parent backs off);
 *   parent, at a restart
 *       keeps the list of this generation's groups (retained, malloc'd);
 *       the next generation takes back those it makes again; each tick,
 *       one left over (its environment removed, or CgroupRoot changed) is
 *       removed once empty; what is left in it once no processor is (or,
 *       with GracefulShutdownTimeout, after it) is killed by pid;
 *   parent, at stop (after reaping its children)
 *       kills what is left in the groups (orphaned CGIs) and removes
 *       them, those left over by restarts too.
 * TRUST: the groups and their files are root's and never delegated: the
 * processor, once it is the environment's user, can neither write its
 * limits nor move itself (or a CGI) to another group (cgroup.procs of
 * every group is root's).  Nothing the MPM decides is read back from a
 * group.
 */
#ifndef PH_CGROUP_H
#define PH_CGROUP_H

#include "httpd.h"
#include "http_config.h"

#include "ph_env.h"

/* CgroupRoot dir: one directory per call (ITERATE). */
const char *ph_cgroup_set_root(cmd_parms *cmd, void *dummy, const char *arg);

/* check_config: NULL or a message (pool p). */
const char *ph_cgroup_check_config(apr_pool_t *p);

/* Parent, start of a generation: create the groups and write the
 * limits.  Failures are logged; the processors then fail to join (and
 * say so). */
void ph_cgroup_groups_setup(void);

/* Parent, at a restart (graceful or not), while the ending generation's
 * configuration is still there: its groups become leftovers until the
 * next generation's setup takes back those it makes again. */
void ph_cgroup_generation_end(void);

/* Parent, each tick: remove the leftovers that are empty; kill what is
 * left in one once none of its members is a processor (or after
 * GracefulShutdownTimeout). */
void ph_cgroup_tidy(void);

/* Parent, at stop, after the children were reaped. */
void ph_cgroup_groups_remove(void);

/* Processor, as root: join env's cgroups.  Returns 0, or -1 when it
 * failed and the environment has CgroupRequired on (the processor must
 * exit). */
int ph_cgroup_join_self(int slot, const ph_env *env, const char *what);

#endif /* PH_CGROUP_H */
