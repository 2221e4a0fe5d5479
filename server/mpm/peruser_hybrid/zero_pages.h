/*
 * zero_pages.h -- zeroed arrays whose pages become resident only when
 * written.
 *
 * A multiplexer keeps a few words per environment (pending lists, channel
 * tags, use order, notes), and touches those of the environments it routes
 * to: at 10,000 environments apr_pcalloc made every page of them resident
 * in every multiplexer (~1 MB each), for environments it may never see
 * (issue 13).  An anonymous private mapping reads as zeros without memory
 * until a page is written.
 */
#ifndef PH_ZERO_PAGES_H
#define PH_ZERO_PAGES_H

#include "apr_pools.h"

/* n elements of size bytes, all zero, unmapped when p is cleared or
 * destroyed.  Falls back to apr_pcalloc (resident, still correct) when
 * the mapping cannot be made.  Never NULL: an overflowing n * size aborts
 * as an allocation failure would. */
void *ph_zero_pages(apr_pool_t *p, apr_size_t n, apr_size_t size);

#endif
