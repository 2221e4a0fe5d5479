/*
 * ph_alloc.h -- the children's allocator: jemalloc when the server runs
 * on it (Debian's libjemalloc2 preloaded, or linked into an in-tree
 * httpd), glibc's malloc otherwise (alloc_stats.c).
 *
 * Nothing here needs jemalloc: mallctl() is looked up with dlsym at run
 * time; without it every function does nothing.
 *
 *   child, before its threads start
 *       jemalloc's background threads (opt.background_thread, e.g.
 *       MALLOC_CONF=background_thread:true) do not survive fork(): the
 *       child turns them on again, after its NUMA binding so that they
 *       inherit its memory policy;
 *   child, from its event loop, at most once a second
 *       writes stats.allocated and stats.resident into its own figures
 *       in the segment (ph_shm_child_stats).  A processor could write
 *       anything there: the figures are shown by pstat and mod_status
 *       and decide nothing.
 */
#ifndef PH_ALLOC_H
#define PH_ALLOC_H

#include "apr_pools.h"

/* Parent at start-up: say (info) whether the server runs on jemalloc. */
void ph_alloc_note(void);

/* Child (multiplexer or processor) before its threads start. */
void ph_alloc_child_init(int slot, const char *what);

/* Child, from its event loop: refresh its figures (rate-limited). */
void ph_alloc_publish(void);

/* pre_config, in the parent and the factories: the global allocator keeps
 * at most a small cache of freed pool blocks, and returns the rest to the
 * system (pool_cache.c). */
void ph_pool_cache_limit(apr_pool_t *pconf);

/* A child, once its pchild exists: that allocator keeps MaxMemFree. */
void ph_pool_cache_child(apr_pool_t *pchild);

#endif /* PH_ALLOC_H */
