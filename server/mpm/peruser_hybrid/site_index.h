/*
 * site_index.h -- a map from where a section was defined (file, line) to
 * a pointer: the server_rec a <VirtualHost> block made, looked up for
 * each block of the tree in one pass instead of a walk over every
 * server (issue 13: that walk made each processor's start O(N^2) at N
 * virtual hosts).
 *
 * Pure (APR only, no httpd header): CUnit suite tests/unit/test_site_index.c.
 * Built in one process, read-only afterwards; nothing crosses a process.
 */
#ifndef PH_SITE_INDEX_H
#define PH_SITE_INDEX_H

#include "apr_pools.h"

typedef struct ph_site_index ph_site_index;

/* An empty index in pool p. */
ph_site_index *ph_site_index_make(apr_pool_t *p);

/* Map (file, line) to value, unless the site already has one: the first
 * value added for a site stays.  Returns 1 if added, 0 if the site was
 * taken (or file is NULL). */
int ph_site_index_add(ph_site_index *ix, const char *file, unsigned line,
                      void *value);

/* The value of (file, line), or NULL. */
void *ph_site_index_find(const ph_site_index *ix, const char *file,
                         unsigned line);

/* The number of sites. */
unsigned ph_site_index_count(const ph_site_index *ix);

#endif /* PH_SITE_INDEX_H */
