/*
 * zero_pages.c -- zeroed arrays whose pages become resident only when
 * written (zero_pages.h).
 */
#include <stdint.h>
#include <sys/mman.h>

#include "httpd.h"
#include "apr_pools.h"

#include "zero_pages.h"

typedef struct zero_map {
    void *at;
    apr_size_t len;
} zero_map;

static apr_status_t unmap_zero(void *data)
{
    zero_map *z = data;

    munmap(z->at, z->len);
    return APR_SUCCESS;
}

void *ph_zero_pages(apr_pool_t *p, apr_size_t n, apr_size_t size)
{
    zero_map *z;
    void *at;
    apr_size_t len;

    /* An overflow is a bug in the caller's count: fail as memory would. */
    ap_assert(size == 0 || n <= SIZE_MAX / size);
    len = n * size;
    if (len == 0) {
        len = 1;
    }
    at = mmap(NULL, len, PROT_READ | PROT_WRITE,
              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (at == MAP_FAILED) {
        return apr_pcalloc(p, len);
    }
    z = apr_palloc(p, sizeof(*z));
    z->at = at;
    z->len = len;
    apr_pool_cleanup_register(p, z, unmap_zero, apr_pool_cleanup_null);
    return at;
}
