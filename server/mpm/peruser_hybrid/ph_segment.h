/*
 * ph_segment.h -- the MPM's use of the shared-memory segment (shm/).
 *
 * The parent creates the segment before the first fork and keeps it across
 * graceful restarts while its geometry still fits (so counters continue);
 * otherwise it creates a new file, and pstat follows.  Children inherit
 * the mapping through fork() and keep it after dropping privileges; no
 * descriptor for it stays open, so exec'd programs never inherit it.
 *
 * Authority: nothing read from the segment decides who is served as whom
 * (see ph_shm_layout.h).  The parent validates what it reads back.
 */
#ifndef PH_SEGMENT_H
#define PH_SEGMENT_H

#include "httpd.h"

#include "ph_shm.h"
#include "ph_child.h"
#include "ph_env.h"

#define PH_TICKETS_PER_PARTITION 256

/* The mapping in this process; NULL before setup. */
extern const ph_shm *ph_segment;

/* check_config: resolve ExtendedScoreBoardGroup.  NULL or a message. */
const char *ph_segment_check_config(apr_pool_t *p);

/* Parent, each generation before spawning: create or reuse the segment,
 * publish this generation's environments.  Returns 0 or an errno value
 * (logged). */
int ph_segment_setup(apr_pool_t *pconf, ph_shm *retained_map);

/* Parent, when the server stops for good: unmap and remove the file, so
 * that pstat says no server is running. */
void ph_segment_teardown(apr_pool_t *pconf, ph_shm *retained_map);

/* Parent, before fork: the slot's identity for the coming child. */
void ph_segment_child_prepare(int slot, ph_child_type type,
                              const ph_env *env);

/* Parent, before releasing a reaped child's slot: did the child get as
 * far as being ready?  (Advisory: it only decides respawn back-off.) */
int ph_segment_child_was_ready(int slot);

/* Parent, after reaping pid from slot: sweep its tickets, clear the record
 * and repair what it contributed to its environment's figures. */
void ph_segment_child_reaped(int slot, pid_t pid);

/* Child, once running: record its pid and that it is ready. */
void ph_segment_child_ready(int slot, unsigned threads);

/* Parent: take the spawn demand multiplexers raised for env. */
uint32_t ph_segment_take_demand(int env_index);

/* Parent: publish how many processors env has alive. */
void ph_segment_set_processors(int env_index, int alive);

/* The segment record of environment env_index (an index in ph_envs), or
 * NULL; and that record's index in the segment, or -1.  Records are bound
 * by name (see segment.c), so the two indexes differ in general. */
ph_shm_env *ph_segment_env(int env_index);
int ph_segment_env_slot(int env_index);

/* The child record of slot, or NULL. */
ph_shm_child *ph_segment_child(int slot);

#endif /* PH_SEGMENT_H */
