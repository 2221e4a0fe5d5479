/*
 * policy_admit.c -- admission rules over one environment's census
 * (policy_admit.h states them and the trust argument).  Pure: no httpd
 * header, no allocation, no I/O.  O(its processors in the census).
 */
#include <stddef.h>

#include "policy_admit.h"

/* The one clamp of a figure a processor can write. */
static int32_t clamp(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static int32_t figure(const ph_admit_census *c, int32_t v)
{
    return clamp(v, 0, c->thread_limit > 0 ? c->thread_limit : 0);
}

static uint32_t levels_of(const ph_admit_census *c)
{
    return c->wait_levels ? c->wait_levels : 1;
}

int ph_admit_rule_capacity(const ph_admit_census *c)
{
    int i, idle = 0;

    for (i = 0; i < c->nprocs; i++) {
        const ph_admit_proc *p = &c->procs[i];
        int32_t take, room;

        if (!p->forked) {
            continue;
        }
        /* what it will take: idle threads, but no more than its
         * AsyncRequestWorkerFactor room */
        take = figure(c, p->idle_threads);
        room = figure(c, p->room);
        idle += take > room ? room : take;
    }
    return idle - clamp(c->in_flight, 0,
                        c->in_flight_max > 0 ? c->in_flight_max : 0);
}

unsigned ph_admit_rule_avail(const ph_admit_census *c)
{
    return c->avail > 100 ? 100 : c->avail;
}

long long ph_admit_rule_wait_ms(const ph_admit_census *c)
{
    uint32_t levels = levels_of(c), level;

    if (!c->wait_timeout_ms) {
        return 0;
    }
    /* ceil(AVAIL / step), in 64 bits: levels comes from the parent but is
     * not trusted to be small */
    level = (uint32_t)(((uint64_t)ph_admit_rule_avail(c) * levels + 99)
                       / 100);
    if (level > levels) {
        level = levels;
    }
    return (long long)c->wait_timeout_ms * level / levels;
}

int ph_admit_rule_avail_delta(const ph_admit_census *c, ph_admit_outcome o)
{
    uint32_t levels = levels_of(c);
    int step = (int)((100 + levels - 1) / levels);

    switch (o) {
    case PH_ADMIT_AT_ONCE:
        return step;
    case PH_ADMIT_WAIT_OVER:
        return -step;
    case PH_ADMIT_AFTER_WAIT:
    case PH_ADMIT_CHANNEL_FAILED:
        break;
    }
    return 0;
}

int ph_admit_rule_starting(const ph_admit_census *c)
{
    int i;

    for (i = 0; i < c->nprocs; i++) {
        const ph_admit_proc *p = &c->procs[i];

        /* STARTING from the parent's prepare on, before its fork returns
         * and the pid is known: that one is coming too */
        if (p->starting
            || (p->forked
                && figure(c, p->idle_threads) + figure(c, p->busy_threads)
                       < figure(c, p->threads))) {
            return 1;
        }
    }
    return 0;
}

uint32_t ph_admit_rule_demand_limit(const ph_admit_census *c,
                                    uint32_t connection_limit)
{
    if (ph_admit_rule_starting(c) || c->processors >= c->max_processors) {
        return 0;
    }
    return connection_limit ? connection_limit
                            : c->max_processors - c->processors;
}
