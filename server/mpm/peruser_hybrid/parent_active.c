/*
 * parent_active.c -- the environments the parent's maintenance pass looks
 * at (issue 13: "no per-environment work on a timer: work proportional
 * to what changed").
 *
 * An environment is ACTIVE from the moment something about it can call
 * for a decision, and stays so while that lasts:
 *   - it has a processor (of any generation: the pass sees it in the
 *     slot table and marks it);
 *   - a multiplexer flagged demand for it (ph_segment_collect_demand);
 *   - its channels were opened (ph_channels_open: a multiplexer asked
 *     for its send ends, or a processor is to start);
 *   - it has MinProcessors > 0 (the policy's FIRST/FLOOR, every pass),
 *     or the server starts with StartServers > 0 (every environment,
 *     once);
 *   - a start back-off is in force for it.
 * The pass drops an environment once none of these holds any more
 * (parent_main.c, census_forget_quiet): then nothing of it can change
 * without one of the marks above, and the pure policy (policy_slots.c)
 * would decide nothing for it (tests/unit/test_policy_slots.c checks that
 * a census without such environments gives the same plan).
 *
 * Parent-only state of the generation, private to this process.  The
 * list is handed out in ascending environment order, as the census had
 * them before (the policy grants round-robin in census order).
 */
#include <stdlib.h>

#include "httpd.h"

#include "ph_parent.h"
#include "zero_pages.h"

typedef struct active_set {
    unsigned char *marked;      /* one per environment */
    int *list;                  /* the marked ones */
    int n;
    int nenvs;
    int sorted;                 /* list in ascending order */
} active_set;

static active_set active;

static apr_status_t active_cleanup(void *data)
{
    (void)data;
    active.nenvs = 0;       /* marks after the generation's end: none */
    active.n = 0;
    active.marked = NULL;
    active.list = NULL;
    return APR_SUCCESS;
}

void ph_active_generation_start(apr_pool_t *pconf, int nenvs)
{
    apr_pool_cleanup_register(pconf, NULL, active_cleanup,
                              apr_pool_cleanup_null);
    active.nenvs = nenvs;
    active.n = 0;
    active.sorted = 1;
    active.marked = ph_zero_pages(pconf, (apr_size_t)nenvs + 1, 1);
    active.list = ph_zero_pages(pconf, (apr_size_t)nenvs + 1, sizeof(int));
}

void ph_active_mark(int env_index)
{
    if (env_index < 0 || env_index >= active.nenvs
        || active.marked[env_index]) {
        return;
    }
    active.marked[env_index] = 1;
    if (active.n > 0 && active.list[active.n - 1] > env_index) {
        active.sorted = 0;
    }
    active.list[active.n++] = env_index;
}

static int ascending(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

int ph_active_list(const int **list)
{
    if (!active.sorted && active.n > 1) {
        qsort(active.list, (size_t)active.n, sizeof(int), ascending);
        active.sorted = 1;
    }
    *list = active.list;
    return active.n;
}

void ph_active_keep_only(const unsigned char *keep, int n)
{
    int i, kept = 0;

    for (i = 0; i < active.n; i++) {
        int k = active.list[i];

        if (i >= n || keep[i]) {
            active.list[kept++] = k;    /* order kept; marked since the
                                         * list was handed out: kept */
        }
        else {
            active.marked[k] = 0;
        }
    }
    active.n = kept;
}
