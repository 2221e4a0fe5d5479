/*
 * policy_mux.c -- multiplexer scaling over a census (policy_mux.h states
 * the rules).  Pure: no httpd header, no allocation, no I/O.  O(muxes).
 */
#include <stddef.h>

#include "policy_mux.h"

void ph_mux_scale_decide(const ph_mux_scale_census *c, ph_mux_scale_plan *p)
{
    int i, alive = 0, queued;

    p->nretire = 0;
    p->grow = p->capped = PH_MUX_GROW_NONE;
    p->measured = p->busy = 0;
    for (i = 0; i < c->nmuxes; i++) {
        p->retire[i] = 0;
        alive += !c->muxes[i].retiring;
    }
    p->alive = p->kept = alive;
    p->floor = 0;
    p->backlog_since_ms = c->backlog_since_ms;
    if (c->backoff) {
        return;
    }

    for (i = 0; i < c->nmuxes; i++) {
        const ph_mux_scale_mux *m = &c->muxes[i];

        if (m->retiring) {
            continue;
        }
        if (m->cpu_pct >= 0) {
            p->measured++;
            p->busy += m->cpu_pct > PH_MUX_BUSY_PCT;
        }
        if (c->idle_timeout_ms > 0 && p->kept > c->min_muxes
            && m->idle_ms >= c->idle_timeout_ms) {
            p->retire[i] = 1;
            p->nretire++;
            p->kept--;
        }
    }

    /* the backlog clock: queued since the first look that saw a queue */
    if (!c->backlog) {
        p->backlog_since_ms = 0;
    }
    else if (!p->backlog_since_ms) {
        p->backlog_since_ms = c->now_ms;
    }
    queued = p->backlog_since_ms
             && c->now_ms - p->backlog_since_ms >= PH_MUX_BACKLOG_PERSIST_MS;
    if (queued) {
        p->grow = PH_MUX_GROW_BACKLOG;
    }
    else if (p->measured && p->busy == p->measured) {
        p->grow = PH_MUX_GROW_BUSY;
    }
    if (p->grow != PH_MUX_GROW_NONE && p->kept >= c->max_muxes) {
        p->capped = p->grow;
        p->grow = PH_MUX_GROW_NONE;
    }
    p->floor = (int)c->min_muxes;
}
