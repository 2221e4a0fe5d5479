/*
 * placement.c -- the NUMA placement rules of placement.h: a pure
 * function, unit-tested on synthetic hwloc topologies
 * (tests/unit/test_placement.c).
 */
#include <assert.h>
#include <stddef.h>

#include "placement.h"

int ph_place_index_of(const ph_place_topo *t, int os_index)
{
    unsigned i;

    for (i = 0; i < t->nnodes && i < PH_PLACE_MAX_NODES; i++) {
        if (t->node[i].os_index == os_index) {
            return (int)i;
        }
    }
    return -1;
}

int ph_place_auto_applies(const ph_place_topo *t)
{
    return t->nnodes >= 2;
}

/* A decimal number at *s of at most PH_PLACE_LIST_MAX, *s moved past it;
 * -1 if there is none. */
static long list_number(const char **s)
{
    long n = 0;

    if (**s < '0' || **s > '9') {
        return -1;
    }
    while (**s >= '0' && **s <= '9') {
        n = n * 10 + (**s - '0');
        if (n > PH_PLACE_LIST_MAX) {
            return -1;
        }
        ++*s;
    }
    return n;
}

int ph_place_node_list_count(const char *text)
{
    const char *s = text;
    long count = 0, from, to;

    if (!s) {
        return -1;
    }
    for (;;) {
        if ((from = list_number(&s)) < 0) {
            return -1;
        }
        to = from;
        if (*s == '-') {
            ++s;
            if ((to = list_number(&s)) < from) {
                return -1;
            }
        }
        count += to - from + 1;
        if (count > PH_PLACE_LIST_MAX) {
            return -1;
        }
        if (*s == ',') {
            ++s;
            continue;
        }
        if (*s == '\n') {
            ++s;
        }
        return *s == '\0' ? (int)count : -1;
    }
}

static int usable(const ph_place_topo *t, unsigned i)
{
    return t->node[i].cpus > 0;
}

static int full(const ph_place_topo *t, const ph_place_census *c, unsigned i)
{
    return c->children[i]
           >= (unsigned long)t->node[i].cpus * PH_PLACE_CHILDREN_PER_CPU;
}

/* Node a is less loaded than node b: fewer children per allowed CPU
 * (cross-multiplied, both have CPUs). */
static int less_loaded(const ph_place_topo *t, const ph_place_census *c,
                       unsigned a, unsigned b)
{
    return (unsigned long long)c->children[a] * t->node[b].cpus
           < (unsigned long long)c->children[b] * t->node[a].cpus;
}

/* The least loaded usable node, among those not full if not_full. */
static int least_loaded(const ph_place_topo *t, const ph_place_census *c,
                        int not_full)
{
    int best = -1;
    unsigned i;

    for (i = 0; i < t->nnodes; i++) {
        if (!usable(t, i) || (not_full && full(t, c, i))) {
            continue;
        }
        if (best < 0 || less_loaded(t, c, i, (unsigned)best)) {
            best = (int)i;
        }
    }
    return best;
}

/* The usable node holding most of "mine" (none: -1). */
static int home_of(const ph_place_topo *t, const ph_place_census *c)
{
    int best = -1;
    unsigned i;

    for (i = 0; i < t->nnodes; i++) {
        if (usable(t, i) && c->mine[i] > 0
            && (best < 0 || c->mine[i] > c->mine[best])) {
            best = (int)i;
        }
    }
    return best;
}

/* The usable node with the fewest multiplexers: not full first, then
 * less loaded. */
static int fewest_mine(const ph_place_topo *t, const ph_place_census *c)
{
    int best = -1;
    unsigned i;

    for (i = 0; i < t->nnodes; i++) {
        if (!usable(t, i)) {
            continue;
        }
        if (best < 0) {
            best = (int)i;
            continue;
        }
        if (full(t, c, (unsigned)best) != full(t, c, i)) {
            if (!full(t, c, i)) {
                best = (int)i;
            }
            continue;
        }
        if (c->mine[i] < c->mine[best]
            || (c->mine[i] == c->mine[best]
                && less_loaded(t, c, i, (unsigned)best))) {
            best = (int)i;
        }
    }
    return best;
}

int ph_place_choose(const ph_place_topo *t, int want, ph_place_kind kind,
                    const ph_place_census *c)
{
    int i;

    assert(t && c && t->nnodes <= PH_PLACE_MAX_NODES);
    if (want == PH_NUMA_NONE || want == PH_NUMA_UNSET) {
        return -1;
    }
    if (want >= 0) {
        i = ph_place_index_of(t, want);
        return i >= 0 && usable(t, (unsigned)i) ? i : -1;
    }
    if (!ph_place_auto_applies(t)) {
        return -1;
    }
    if (kind == PH_PLACE_MULTIPLEXER) {
        return fewest_mine(t, c);
    }
    i = home_of(t, c);
    if (i >= 0 && !full(t, c, (unsigned)i)) {
        return i;
    }
    if ((i = least_loaded(t, c, 1)) >= 0) {
        return i;
    }
    return least_loaded(t, c, 0);
}
