/*
 * site_index.c -- (file, line) -> pointer (site_index.h).
 *
 * A key is the line's four bytes followed by the file name, without its
 * terminating NUL: two sites are equal exactly when their lines and names
 * are.  A lookup builds its key in a buffer on the stack, or, for a name
 * longer than any path, in a subpool destroyed at once.
 */
#include <assert.h>
#include <string.h>

#include "apr_hash.h"
#include "apr_pools.h"

#include "site_index.h"

#define SITE_INDEX_MAGIC 0x50485349u  /* "PHSI" */
#define KEY_STACK 1024

struct ph_site_index {
    unsigned magic;
    apr_pool_t *pool;
    apr_hash_t *sites;      /* key (see above) -> value */
};

static void key_fill(char *key, const char *file, size_t len, unsigned line)
{
    memcpy(key, &line, sizeof(line));
    memcpy(key + sizeof(line), file, len);
}

ph_site_index *ph_site_index_make(apr_pool_t *p)
{
    ph_site_index *ix = apr_pcalloc(p, sizeof(*ix));

    ix->magic = SITE_INDEX_MAGIC;
    ix->pool = p;
    ix->sites = apr_hash_make(p);
    return ix;
}

int ph_site_index_add(ph_site_index *ix, const char *file, unsigned line,
                      void *value)
{
    size_t len;
    char *key;

    assert(ix && ix->magic == SITE_INDEX_MAGIC);
    if (!file || ph_site_index_find(ix, file, line)) {
        return 0;
    }
    len = strlen(file);
    key = apr_palloc(ix->pool, sizeof(line) + len);
    key_fill(key, file, len, line);
    apr_hash_set(ix->sites, key, (apr_ssize_t)(sizeof(line) + len), value);
    return 1;
}

void *ph_site_index_find(const ph_site_index *ix, const char *file,
                         unsigned line)
{
    char stack[KEY_STACK];
    apr_pool_t *scratch = NULL;
    char *key = stack;
    size_t len;
    void *value;

    assert(ix && ix->magic == SITE_INDEX_MAGIC);
    if (!file) {
        return NULL;
    }
    len = strlen(file);
    if (sizeof(line) + len > sizeof(stack)) {
        if (apr_pool_create(&scratch, ix->pool) != APR_SUCCESS) {
            return NULL;
        }
        key = apr_palloc(scratch, sizeof(line) + len);
    }
    key_fill(key, file, len, line);
    value = apr_hash_get(ix->sites, key, (apr_ssize_t)(sizeof(line) + len));
    if (scratch) {
        apr_pool_destroy(scratch);
    }
    return value;
}

unsigned ph_site_index_count(const ph_site_index *ix)
{
    assert(ix && ix->magic == SITE_INDEX_MAGIC);
    return apr_hash_count(ix->sites);
}
