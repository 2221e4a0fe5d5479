/*
 * pool_cache.c -- how much freed pool memory the parent and the factories
 * keep for later (ph_alloc.h).
 *
 * Every pool of a process that reads the configuration (the root parent,
 * the multiplexers' factory, each environment's factory) draws from APR's
 * global allocator, which by default keeps every block a pool gives back
 * (no MaxMemFree there: that directive is for children's pools).  So such
 * a process stays at the high-water mark of its start: both configuration
 * passes, ptemp, the work of post_config -- 3.4 MB at 1,000 environments
 * in the parent, where stock event's parent keeps 0.2 MB.  A small cap
 * makes the allocator return what is over it (munmap with Debian's APR,
 * free() otherwise) as soon as a pool is cleared or destroyed: after the
 * first pass, when ptemp goes, at a restart.  Nothing else changes: a
 * later allocation takes a new block from the system.
 *
 * A child (multiplexer, processor) inherits the cap with the allocator;
 * its own pools are a server's working memory, so it gets what httpd's
 * MPMs give their children's allocators instead: MaxMemFree (2 MB unless
 * configured; 0 keeps everything, as before).
 */
#include "httpd.h"
#include "apr_allocator.h"
#include "apr_pools.h"
#include "mpm_common.h"

#include "ph_alloc.h"

/* What the global allocator keeps for the parent's own churn (a restart,
 * a factory's configuration file written on first use). */
#define POOL_CACHE_BYTES (256 * 1024)

void ph_pool_cache_limit(apr_pool_t *pconf)
{
    apr_allocator_t *allocator = apr_pool_allocator_get(pconf);

    if (allocator) {
        apr_allocator_max_free_set(allocator, POOL_CACHE_BYTES);
    }
}

void ph_pool_cache_child(apr_pool_t *pchild)
{
    apr_allocator_t *allocator = apr_pool_allocator_get(pchild);

    if (allocator) {
        apr_allocator_max_free_set(allocator, ap_max_mem_free);
    }
}
