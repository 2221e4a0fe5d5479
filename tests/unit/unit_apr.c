/*
 * unit_apr.c -- the APR pool of the suites that need one (unit_suites.h).
 */
#include "apr_general.h"
#include "apr_pools.h"

#include "unit_suites.h"

static apr_pool_t *pool;

apr_pool_t *ph_unit_pool(void)
{
    if (!pool) {
        apr_initialize();
        apr_pool_create(&pool, NULL);
    }
    return pool;
}

int ph_unit_pool_cleanup(void)
{
    if (pool) {
        apr_pool_destroy(pool);
        pool = NULL;
        apr_terminate();
    }
    return 0;
}
