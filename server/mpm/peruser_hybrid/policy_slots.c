/*
 * policy_slots.c -- the processor policy over a census (policy_slots.h
 * states the rules).  Pure: no httpd header, no allocation, no I/O.
 *
 * Cost per call: O(envs + processors + starts) for the idle retirements
 * and the grants, O(p log p) to order reclaim candidates, and
 * O(PH_SLOTS_BUSY_RECLAIM_MAX x (envs + processors)) for the fair-share
 * step.  Nothing here scans ServerLimit: only the census' processors.
 */
#include <stddef.h>

#include "policy_slots.h"

/* The per-environment scratch, as named arrays. */
typedef struct env_work {
    int *alive;             /* after this plan's retirements */
    int *idle;
    int *idle_threads;
    int *list;              /* envs still wanting in the current class */
    int *want;              /* their remaining want in it */
    int *started;           /* starts granted, all classes */
    int *asking;            /* unmet FIRST (1) or DEMAND (2) wants */
    int *keeper;            /* the idle proc the env keeps, or -1 */
} env_work;

static void split_scratch(const ph_slots_census *c, ph_slots_plan *p,
                          env_work *w)
{
    int n = c->nenvs;

    w->alive = p->env_scratch;
    w->idle = p->env_scratch + n;
    w->idle_threads = p->env_scratch + 2 * n;
    w->list = p->env_scratch + 3 * n;
    w->want = p->env_scratch + 4 * n;
    w->started = p->env_scratch + 5 * n;
    w->asking = p->env_scratch + 6 * n;
    w->keeper = p->env_scratch + 7 * n;
}

const char *ph_slots_why_text(ph_slots_why why)
{
    switch (why) {
    case PH_SLOTS_IDLE_TIMEOUT:
        return "IdleTimeout";
    case PH_SLOTS_MAX_SPARE:
        return "more idle processors than MaxSpareProcessors";
    case PH_SLOTS_MAX_SPARE_THREADS:
        return "more idle threads than MaxSpareThreads";
    case PH_SLOTS_RECLAIM_SPARE:
        return "slots full: a spare's slot goes to an environment waiting";
    case PH_SLOTS_RECLAIM_LAST:
        return "slots full: idle longest, its slot goes to an environment "
               "without a processor";
    case PH_SLOTS_RECLAIM_BUSY:
        return "slots full: one of several, its slot goes to an "
               "environment without a processor";
    case PH_SLOTS_KEEP:
        break;
    }
    return "kept";
}

static long long quiet_ms(const ph_slots_census *c)
{
    return c->idle_timeout_s > 0 ? c->idle_timeout_s * 1000LL
                                 : PH_SLOTS_QUIET_MS;
}

/* Whether the multiplexers or the channel ask for env's processors. */
static int asked_for(const ph_slots_env *e)
{
    return e->demand > 0 || e->queued;
}

/*
 * Idle retirement: only for an environment nobody is waiting for, never
 * below MinProcessors.  IdleTimeout makes the environment QUIET.
 */
static void retire_idle(const ph_slots_census *c, ph_slots_plan *p,
                        env_work *w)
{
    long long timeout_ms = c->idle_timeout_s * 1000LL;
    int i;

    for (i = 0; i < c->nprocs; i++) {
        const ph_slots_proc *pr = &c->procs[i];
        const ph_slots_env *e;
        ph_slots_why why = PH_SLOTS_KEEP;
        int k = pr->env;

        if (k < 0 || k >= c->nenvs) {
            continue;
        }
        e = &c->envs[k];
        if (!pr->idle || e->backoff || asked_for(e)
            || w->alive[k] <= e->min_processors) {
            continue;
        }
        if (timeout_ms > 0 && pr->idle_ms >= timeout_ms) {
            why = PH_SLOTS_IDLE_TIMEOUT;
        }
        else if (pr->idle_ms < PH_SLOTS_SPARE_AGE_MS) {
            continue;       /* not a spare yet, whatever the count */
        }
        else if (e->max_spare > 0 && w->idle[k] > e->max_spare) {
            why = PH_SLOTS_MAX_SPARE;
        }
        else if (c->max_spare_threads > 0
                 && w->idle_threads[k] - c->threads_per_child
                        >= c->max_spare_threads) {
            why = PH_SLOTS_MAX_SPARE_THREADS;
        }
        if (why == PH_SLOTS_KEEP) {
            continue;
        }
        p->why[i] = why;
        w->alive[k]--;
        w->idle[k]--;
        w->idle_threads[k] -= pr->idle_threads;
        if (why == PH_SLOTS_IDLE_TIMEOUT) {
            p->quiet_until_ms[k] = c->now_ms + quiet_ms(c);
        }
    }
}

static long max_of(long a, long b)
{
    return a > b ? a : b;
}

/* How many processors env k should have once wants up to class `upto`
 * are met (before MaxProcessors). */
static long target(const ph_slots_census *c, const ph_slots_plan *p,
                   const env_work *w, int k, ph_slots_class upto)
{
    const ph_slots_env *e = &c->envs[k];
    long alive = w->alive[k], t = alive;

    /* FIRST */
    if (alive == 0
        && (asked_for(e) || e->min_processors > 0
            || (c->starting && c->start_servers > 0))) {
        t = 1;
    }
    if (upto == PH_SLOTS_FIRST) {
        return t;
    }
    /* DEMAND: one per connection that found no idle worker */
    t = max_of(t, alive + (long)e->demand);
    if (upto == PH_SLOTS_DEMAND) {
        return t;
    }
    /* FLOOR */
    t = max_of(t, e->min_processors);
    if (c->starting) {
        t = max_of(t, c->start_servers);
    }
    if (upto == PH_SLOTS_FLOOR) {
        return t;
    }
    /* SPARE: for an environment in use, and not QUIET */
    if (alive > 0 && c->now_ms >= p->quiet_until_ms[k]) {
        if (e->min_spare > w->idle[k]) {
            t = max_of(t, alive + (e->min_spare - w->idle[k]));
        }
        if (c->min_spare_threads > 0
            && w->idle_threads[k] < c->min_spare_threads && t == alive) {
            t = alive + 1;
        }
    }
    return t;
}

static long capped_target(const ph_slots_census *c, const ph_slots_plan *p,
                          const env_work *w, int k, ph_slots_class upto)
{
    long t = target(c, p, w, k, upto);
    long max = c->envs[k].max_processors;

    return max > 0 && t > max ? max : t;
}

/* Grant class cls round-robin; returns the budget left. */
static int grant_class(const ph_slots_census *c, ph_slots_plan *p,
                       env_work *w, ph_slots_class cls, int budget)
{
    int n = 0, k, i, kept;

    for (k = 0; k < c->nenvs; k++) {
        long have, upto;

        if (c->envs[k].backoff) {
            continue;
        }
        have = w->alive[k] + w->started[k];
        upto = capped_target(c, p, w, k, cls);
        /* what earlier classes wanted is in `have` if granted; a want of
         * an earlier class left unmet is not this class' */
        if (cls > PH_SLOTS_FIRST) {
            long before = capped_target(c, p, w, k, cls - 1);
            if (before > have) {
                have = before;
            }
        }
        if (upto > have) {
            w->want[k] = (int)(upto - have);
            w->list[n++] = k;
        }
    }
    while (n > 0 && budget > 0) {
        for (i = 0, kept = 0; i < n; i++) {
            k = w->list[i];
            if (budget > 0) {
                p->spawn_env[p->nspawn++] = k;
                w->started[k]++;
                w->want[k]--;
                budget--;
            }
            if (w->want[k] > 0) {
                w->list[kept++] = k;
            }
        }
        n = kept;
    }
    for (i = 0; i < n; i++) {
        k = w->list[i];
        p->unmet[cls] += w->want[k];
        if (cls <= PH_SLOTS_DEMAND) {
            w->asking[k] |= cls == PH_SLOTS_FIRST ? 1 : 2;
        }
    }
    return budget;
}

/* Reclaim candidates order: spares before last processors, then oldest
 * idle first, then slot order. */
static int before(const ph_slots_census *c, const env_work *w, int a, int b)
{
    const ph_slots_proc *pa = &c->procs[a], *pb = &c->procs[b];
    int ta = w->keeper[pa->env] == a, tb = w->keeper[pb->env] == b;

    if (ta != tb) {
        return ta < tb;
    }
    if (pa->idle_ms != pb->idle_ms) {
        return pa->idle_ms > pb->idle_ms;
    }
    return pa->slot < pb->slot;
}

static void sift_down(const ph_slots_census *c, const env_work *w, int *h,
                      int start, int n)
{
    int root = start;

    for (;;) {
        int child = 2 * root + 1, top = root, t;
        if (child < n && before(c, w, h[top], h[child])) {
            top = child;
        }
        if (child + 1 < n && before(c, w, h[top], h[child + 1])) {
            top = child + 1;
        }
        if (top == root) {
            return;
        }
        t = h[root];
        h[root] = h[top];
        h[top] = t;
        root = top;
    }
}

/* Heap sort of h[0..n) by before() (no qsort: it has no context). */
static void sort_candidates(const ph_slots_census *c, const env_work *w,
                            int *h, int n)
{
    int i, t;

    for (i = n / 2 - 1; i >= 0; i--) {
        sift_down(c, w, h, i, n);
    }
    for (i = n - 1; i > 0; i--) {
        t = h[0];
        h[0] = h[i];
        h[i] = t;
        sift_down(c, w, h, 0, i);
    }
}

static void reclaim_one(const ph_slots_census *c, ph_slots_plan *p,
                        env_work *w, int i, ph_slots_why why)
{
    int k = c->procs[i].env;

    p->why[i] = why;
    w->alive[k]--;
    p->quiet_until_ms[k] = c->now_ms + quiet_ms(c);
    p->reclaimed++;
}

/* Whether env k can give up a processor to somebody else. */
static int can_give(const ph_slots_census *c, const env_work *w, int k)
{
    const ph_slots_env *e = &c->envs[k];

    return !(w->asking[k] & 1) && w->alive[k] > e->min_processors
           && w->alive[k] > 0;
}

static void pick_keepers(const ph_slots_census *c, ph_slots_plan *p,
                         env_work *w)
{
    int i, k;

    for (k = 0; k < c->nenvs; k++) {
        /* with a busy processor, every idle one is a spare */
        w->keeper[k] = w->idle[k] < w->alive[k] ? -2 : -1;
    }
    for (i = 0; i < c->nprocs; i++) {
        const ph_slots_proc *pr = &c->procs[i];
        int cur;
        if (pr->env < 0 || pr->env >= c->nenvs || !pr->idle
            || p->why[i] != PH_SLOTS_KEEP) {
            continue;
        }
        cur = w->keeper[pr->env];
        if (cur == -1 || (cur >= 0 && (pr->idle_ms < c->procs[cur].idle_ms
                                       || (pr->idle_ms == c->procs[cur].idle_ms
                                           && pr->slot > c->procs[cur].slot)))) {
            w->keeper[pr->env] = i;
        }
    }
}

/* Fair share: busy processors of the environment holding the most. */
static int reclaim_busy(const ph_slots_census *c, ph_slots_plan *p,
                        env_work *w, int need)
{
    int done = 0;

    while (done < need && done < PH_SLOTS_BUSY_RECLAIM_MAX) {
        int k, i, best_env = -1, best = -1;

        for (k = 0; k < c->nenvs; k++) {
            if (w->alive[k] >= 2 && can_give(c, w, k)
                && (best_env < 0 || w->alive[k] > w->alive[best_env])) {
                best_env = k;
            }
        }
        if (best_env < 0) {
            break;
        }
        for (i = 0; i < c->nprocs; i++) {
            if (c->procs[i].env == best_env && p->why[i] == PH_SLOTS_KEEP
                && (best < 0 || before(c, w, i, best))) {
                best = i;
            }
        }
        if (best < 0) {
            break;
        }
        reclaim_one(c, p, w, best, PH_SLOTS_RECLAIM_BUSY);
        done++;
    }
    return done;
}

/* Free slots for unmet FIRST and DEMAND wants (policy_slots.h). */
static void reclaim(const ph_slots_census *c, ph_slots_plan *p, env_work *w)
{
    int pending = c->draining > 0 ? c->draining : 0;
    int need_first = p->unmet[PH_SLOTS_FIRST] - pending;
    int left = pending - p->unmet[PH_SLOTS_FIRST];
    int need_more = p->unmet[PH_SLOTS_DEMAND] - (left > 0 ? left : 0);
    int *cand = p->proc_scratch;
    int n = 0, i;

    if (need_first <= 0 && need_more <= 0) {
        return;
    }
    pick_keepers(c, p, w);
    for (i = 0; i < c->nprocs; i++) {
        const ph_slots_proc *pr = &c->procs[i];
        if (pr->env >= 0 && pr->env < c->nenvs && pr->idle
            && p->why[i] == PH_SLOTS_KEEP && !w->asking[pr->env]) {
            cand[n++] = i;
        }
    }
    sort_candidates(c, w, cand, n);
    for (i = 0; i < n && (need_first > 0 || need_more > 0); i++) {
        int pi = cand[i], k = c->procs[pi].env;
        int spare = w->keeper[k] != pi;

        if (!can_give(c, w, k) || (!spare && need_first <= 0)) {
            continue;
        }
        reclaim_one(c, p, w, pi, spare ? PH_SLOTS_RECLAIM_SPARE
                                       : PH_SLOTS_RECLAIM_LAST);
        if (need_first > 0) {
            need_first--;
        }
        else {
            need_more--;
        }
    }
    if (need_first > 0) {
        reclaim_busy(c, p, w, need_first);
    }
}

void ph_slots_decide(const ph_slots_census *c, ph_slots_plan *p)
{
    env_work w;
    int budget, cap_room, k, i;
    ph_slots_class cls;

    split_scratch(c, p, &w);
    p->nspawn = 0;
    p->reclaimed = 0;
    p->capped = 0;
    for (cls = PH_SLOTS_FIRST; cls < PH_SLOTS_CLASSES; cls++) {
        p->unmet[cls] = 0;
    }
    for (k = 0; k < c->nenvs; k++) {
        const ph_slots_env *e = &c->envs[k];
        w.alive[k] = e->alive;
        w.idle[k] = e->idle;
        w.idle_threads[k] = e->idle_threads;
        w.started[k] = 0;
        w.asking[k] = 0;
        p->quiet_until_ms[k] = e->quiet_until_ms;
        p->settle[k] = 0;
    }
    for (i = 0; i < c->nprocs; i++) {
        p->why[i] = PH_SLOTS_KEEP;
    }

    retire_idle(c, p, &w);

    budget = c->free_slots > 0 ? c->free_slots : 0;
    cap_room = c->processor_cap - c->processors;
    if (cap_room < 0) {
        cap_room = 0;
    }
    if (cap_room < budget) {
        budget = cap_room;
        p->capped = 1;
    }
    for (cls = PH_SLOTS_FIRST; cls < PH_SLOTS_CLASSES; cls++) {
        budget = grant_class(c, p, &w, cls, budget);
    }
    if (p->unmet[PH_SLOTS_FIRST] + p->unmet[PH_SLOTS_DEMAND]
        + p->unmet[PH_SLOTS_FLOOR] + p->unmet[PH_SLOTS_SPARE] == 0) {
        p->capped = 0;
    }
    for (k = 0; k < c->nenvs; k++) {
        const ph_slots_env *e = &c->envs[k];
        long over = (long)e->alive + (long)e->demand - e->max_processors;
        if (!e->backoff && e->max_processors > 0 && over > 0) {
            p->settle[k] = (unsigned)(over < (long)e->demand ? over
                                                             : (long)e->demand);
        }
    }

    reclaim(c, p, &w);
}
