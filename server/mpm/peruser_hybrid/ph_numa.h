/*
 * ph_numa.h -- NUMANode: placing children on NUMA nodes (numa_bind.c).
 *
 *   parent (check_config)   loads the machine's topology with hwloc
 *                           (HWLOC_* variables of the server's
 *                           environment apply: an operator, or a test,
 *                           may give a synthetic or XML topology), keeps
 *                           it for the generation (children inherit it)
 *                           and checks every NUMANode N against it;
 *   parent (before a fork)  gathers the census of its live children per
 *                           node from the segment's MAIN records (its
 *                           own writes), asks placement.c, and writes the
 *                           answer into the child's MAIN record;
 *   child (before setuid)   reads its node from MAIN (parent-written,
 *                           read-only for it), binds its CPUs and memory,
 *                           and records what failed in its own figures.
 * A processor started by a factory does the same with the factory's copy
 * of the topology: the factory's configuration is the same machine's.  A
 * factory loads that copy only when the parent first places one of its
 * children on a node (not at all on a machine where placement does
 * nothing): hwloc's discovery was a few ms of each factory's start, twice
 * (once per configuration pass), for a check the parent had made.
 */
#ifndef PH_NUMA_H
#define PH_NUMA_H

#include "httpd.h"

#include "ph_child.h"
#include "ph_env.h"

/* NUMANode auto|none|N: the value of arg into *out (a PH_NUMA_* word or
 * a node number).  NULL, or a message naming the directive and the value
 * (pool p). */
const char *ph_numa_parse(apr_pool_t *p, const char *arg, int *out);

/* The NUMANode in effect for env (its own, else the global one). */
int ph_numa_want(const ph_env *env);

/* check_config: load this generation's topology (freed with pconf) and
 * check every NUMANode N names a node with CPUs this server may use.
 * NULL or a message (pool pconf). */
const char *ph_numa_check_config(apr_pool_t *pconf);

/* A factory, before it forks the child of slot: if the parent placed it
 * on a node (its MAIN record, which only the parent writes), this
 * generation's topology loaded (once; freed with pconf), for the child's
 * ph_numa_bind_self. */
void ph_numa_factory_prepare(apr_pool_t *pconf, int slot);

/* Parent, after ph_segment_child_prepare and before the fork: choose the
 * node of the child for slot and write it into its MAIN record. */
void ph_numa_place(int slot, ph_child_type type, const ph_env *env);

/* Child, as root, after joining its cgroups (joining a cpuset cgroup
 * resets the affinity) and before any thread starts: bind to the node
 * its MAIN record names, if any.  Failures are logged (a processor's
 * once per environment and generation) and shown in status; the child
 * runs on, unbound. */
void ph_numa_bind_self(int slot, ph_child_type type, const ph_env *env,
                       const char *what);

#endif /* PH_NUMA_H */
