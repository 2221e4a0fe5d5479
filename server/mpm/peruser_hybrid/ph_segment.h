/*
 * ph_segment.h -- the MPM's use of the shared-memory segment (shm/).
 *
 * The parent creates a new segment file for every generation (carrying
 * the cumulative counters forward by environment name), so a graceful
 * restart heals whatever the last generation's children wrote into their
 * regions.  Children inherit the parent's read-write mapping through
 * fork() and, first thing, restrict it to what they write
 * (ph_segment_child_restrict): a processor its environment's region, a
 * multiplexer the MUX and env regions; everything else becomes a
 * read-only view of a read-only descriptor.  No descriptor for the file
 * stays open in any child, so exec'd programs never inherit it.
 *
 * Authority: nothing read from the segment decides who is served as whom
 * (see ph_shm_layout.h).  The parent keeps uids, gids and limits in its
 * own memory (ph_env) and reads back only figures of a region, clamped,
 * for the environment that wrote them.
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

/* Parent, before fork: the slot's identity for the coming child, and its
 * figures reset (for a processor, its region's pages reserved first:
 * ph_shm_env_reserve); 0, or an errno value (logged: do not fork); after
 * fork: its pid. */
int ph_segment_child_prepare(int slot, ph_child_type type, const ph_env *env);
void ph_segment_child_forked(int slot, pid_t pid);

/* A factory (ph_factory.h), instead of ph_segment_setup: map the segment
 * of the generation whose main file has inode ino as a processor of env
 * (ph_shm_attach_processor), or, env NULL, as a multiplexer
 * (ph_shm_attach_multiplexer); children then inherit it and
 * ph_segment_child_restrict leaves it as it is.  Returns 0 or an errno
 * value (logged). */
int ph_segment_attach(apr_pool_t *pconf, ph_env *env, unsigned long ino);

/* Child, right after fork (still root, before anything else runs): keep
 * writable only what this child writes.  0, or an errno value (logged;
 * the child must exit). */
int ph_segment_child_restrict(ph_child_type type, const ph_env *env);

/* Parent, before releasing a reaped child's slot: did the child get as
 * far as being ready?  (Advisory: it only decides respawn back-off, for
 * the child's own environment.) */
int ph_segment_child_was_ready(int slot);

/* Parent, after reaping pid from slot: sweep its tickets in the regions
 * it could write, clear its record and repair what it contributed to its
 * environment's figures (clamped, that environment only). */
void ph_segment_child_reaped(int slot, pid_t pid);

/* Child, once running: record that it is ready with `threads` workers. */
void ph_segment_child_ready(int slot, unsigned threads);

/* Parent, once per pass before ph_segment_peek_demand: take the
 * environments multiplexers flagged when raising their demand (each is
 * told to `flagged`). */
void ph_segment_collect_demand(void (*flagged)(int env_index));

/* Parent: the spawn demand multiplexers raised for env (clamped to its
 * MaxProcessors), left in place until ph_segment_settle_demand says how
 * many processors were forked for it; 0, without reading env's region,
 * for an environment not flagged since its demand was last seen at 0. */
uint32_t ph_segment_peek_demand(int env_index);
void ph_segment_settle_demand(int env_index, uint32_t served);

/* Parent: publish how many processors env has alive. */
void ph_segment_set_processors(int env_index, int alive);

/* The segment identity (MAIN, parent-written) and the counters (its ENV
 * REGION) of environment env_index (an index in ph_envs), or NULL; and
 * its index in the segment, or -1. */
ph_shm_env *ph_segment_env(int env_index);
ph_shm_env_stats *ph_segment_env_stats(int env_index);
int ph_segment_env_slot(int env_index);

/* The child identity (MAIN) of slot, and the figures of the child MAIN
 * says is there (in its own region), or NULL. */
ph_shm_child *ph_segment_child(int slot);
ph_shm_child_stats *ph_segment_child_stats(int slot);

#endif /* PH_SEGMENT_H */
