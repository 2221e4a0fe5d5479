/*
 * mux_admit.c -- admission: may a routed connection go to its environment
 * now, must it wait, and for how long; and the handoff itself, with a
 * ticket from this multiplexer's partition.
 *
 * Capacity is what the environment's processors can take at once: their
 * idle worker threads (each child's record in the segment) minus handoffs
 * already in flight (READY tickets).  It is advisory -- an environment can
 * write the segment -- and it only ever decides *when* that environment's
 * own connections are handed over, never to whom.
 *
 * AVAIL (the peruser guide's availability figure, 0-100%) moves one level
 * (100 / levels) per outcome: up when a connection finds capacity at once,
 * down when one is dropped after waiting.  The wait a new connection is
 * allowed shrinks with it: ProcessorWaitTimeout * ceil(AVAIL / level) /
 * levels, so at 0% a flooded environment's excess is refused immediately
 * instead of piling up.  Nothing here sleeps.
 */
#include <errno.h>
#include <unistd.h>

#include "httpd.h"
#include "http_log.h"
#include "http_main.h"

#include "channel.h"
#include "mux_admit.h"
#include "ph_clock.h"
#include "ph_config.h"
#include "ph_log.h"
#include "ph_segment.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

/* A READY ticket this old was received by a processor that died before
 * claiming it: the connection went with it, give the slot back. */
#define LOST_HANDOFF_MS 60000

/*
 * Environments whose partition of ours may hold a READY ticket: marked by
 * a handoff, unmarked by a look that finds none READY there.  The look
 * for lost tickets visits only these, so an idle multiplexer reads no
 * ticket at all, whatever the number of environments (issue 13).  Nothing
 * is looked at at start: what a dead predecessor in our mux_index
 * allocated was swept back to FREE by the parent when it reaped it,
 * before our start (a look at every environment would touch a page of
 * every region: ph_shm_layout.h, "pages on use").  Private to this
 * process.
 */
typedef struct handed_set {
    unsigned char *marked;      /* one per environment */
    int *list;                  /* the marked ones, in no order */
    int n;
    int nenvs;
} handed_set;

static handed_set handed;

static void handed_mark(int env_index)
{
    if (env_index < 0 || env_index >= handed.nenvs
        || handed.marked[env_index]) {
        return;
    }
    handed.marked[env_index] = 1;
    handed.list[handed.n++] = env_index;
}

static int avail_step(const ph_shm_env *rec)
{
    unsigned levels = rec->wait_levels ? rec->wait_levels : 1;
    return (int)((100 + levels - 1) / levels);
}

/* A processor of environment record rec_index that reads our channel:
 * only processors of our generation do; older ones (finishing after a
 * graceful restart) are listed under the env of their name but read
 * another channel.  The identity is MAIN's (parent-written). */
static int is_our_processor(const ph_shm_child *c, int32_t rec_index)
{
    return c->type == PH_CHILD_TYPE_PROCESSOR && c->env_index == rec_index
           && c->generation == (uint32_t)ph_heritage_now.generation;
}

/* Figures of slot from env region rec_index: written by that env's
 * processors, so every one is clamped before use. */
static int32_t figure(_Atomic int32_t *f)
{
    return ph_shm_clamp(atomic_load_explicit(f, memory_order_relaxed), 0,
                        (int32_t)ph_conf.thread_limit);
}

int ph_admit_capacity(int env_index)
{
    ph_shm_env_stats *rec = ph_segment_env_stats(env_index);
    int32_t rec_index = ph_segment_env_slot(env_index);
    uint32_t slot, n;
    int idle = 0;

    if (!rec) {
        return 0;
    }
    n = ph_segment->geom.children;
    for (slot = 0; slot < n; slot++) {
        ph_shm_child *c = ph_shm_child_at(ph_segment, slot);
        ph_shm_child_stats *st;
        if (c->pid != 0 && is_our_processor(c, rec_index)
            && (st = ph_shm_proc_stats_at(ph_segment, (uint32_t)rec_index,
                                          slot)) != NULL) {
            /* what it will take: idle threads, but no more than its
             * AsyncRequestWorkerFactor room */
            int i = figure(&st->idle_threads);
            int room = figure(&st->room);
            idle += i > room ? room : i;
        }
    }
    return idle - ph_shm_clamp(atomic_load(&rec->in_flight), 0,
                               PH_TICKETS_PER_PARTITION
                               * (int32_t)ph_segment->geom.muxes);
}

long long ph_admit_wait_ms(int env_index)
{
    ph_shm_env *rec = ph_segment_env(env_index);
    ph_shm_env_stats *stats = ph_segment_env_stats(env_index);
    unsigned avail, levels, level;

    if (!rec || !stats || !rec->wait_timeout_ms) {
        return 0;
    }
    avail = ph_shm_avail(stats);       /* 0..100 */
    levels = rec->wait_levels ? rec->wait_levels : 1;
    level = (avail * levels + 99) / 100;        /* ceil(avail / step) */
    if (level > levels) {
        level = levels;
    }
    return (long long)rec->wait_timeout_ms * level / levels;
}

void ph_admit_found_capacity(int env_index, int waited)
{
    ph_shm_env *rec = ph_segment_env(env_index);
    ph_shm_env_stats *stats = ph_segment_env_stats(env_index);

    if (rec && stats && !waited) {
        ph_shm_avail_adjust(stats, avail_step(rec));
    }
}

void ph_admit_dropped(int env_index, ph_admit_drop why)
{
    ph_shm_env *rec = ph_segment_env(env_index);
    ph_shm_env_stats *stats = ph_segment_env_stats(env_index);

    if (!rec || !stats) {
        if (ph_segment && why == PH_DROP_NO_ENV) {
            atomic_fetch_add(&ph_shm_mux_area_at(ph_segment)->dropped_noenv,
                             1);
        }
        return;
    }
    if (why == PH_DROP_TIMEOUT) {
        atomic_fetch_add(&stats->dropped_timeout, 1);
        ph_shm_avail_adjust(stats, -avail_step(rec));
    }
    else {
        atomic_fetch_add(&stats->dropped_channel, 1);
    }
}

/* A processor of env that is starting will bring capacity shortly:
 * asking for another now would start one more than needed.  "Starting"
 * lasts until every worker has counted itself in (idle or busy): a child
 * says READY just before its threads run, and in between it has no
 * capacity to show. */
static int processor_starting(int env_index)
{
    int32_t rec_index = ph_segment_env_slot(env_index);
    uint32_t slot, n = ph_segment->geom.children;

    if (rec_index < 0) {
        return 0;
    }
    for (slot = 0; slot < n; slot++) {
        ph_shm_child *c = ph_shm_child_at(ph_segment, slot);
        ph_shm_child_stats *st;
        if (!is_our_processor(c, rec_index)
            || !(st = ph_shm_proc_stats_at(ph_segment, (uint32_t)rec_index,
                                           slot))) {
            continue;
        }
        /* STARTING from the parent's prepare on, before its fork returns
         * and the pid is known: that one is coming too. */
        if (atomic_load(&st->status) == PH_CHILD_STARTING
            || (c->pid != 0
                && figure(&st->idle_threads) + figure(&st->busy_threads)
                       < ph_shm_clamp((int32_t)atomic_load(&st->threads), 0,
                                      (int32_t)ph_conf.thread_limit))) {
            return 1;
        }
    }
    return 0;
}

/* Raise env's spawn demand by one, up to `limit`, unless one of its
 * processors is starting or it has MaxProcessors; then wake the parent,
 * which polls this pipe and forks at once (a full pipe already means
 * "wake up"). */
static void ask_parent_for_processor(int env_index, int connection_limit)
{
    ph_shm_env *rec = ph_segment_env(env_index);
    ph_shm_env_stats *stats = ph_segment_env_stats(env_index);
    uint32_t alive, limit;

    if (!rec || !stats || processor_starting(env_index)) {
        return;
    }
    alive = atomic_load(&rec->processors);
    if (alive >= rec->max_processors) {
        return;
    }
    limit = connection_limit ? (uint32_t)connection_limit
                             : rec->max_processors - alive;
    if (!ph_shm_demand_raise(stats, limit)) {
        return;
    }
    /* the parent looks at the demand of flagged environments only */
    ph_shm_demand_flag(ph_segment, (uint32_t)ph_segment_env_slot(env_index));
    if (ph_heritage_now.wake_wr >= 0) {
        ssize_t ignored = write(ph_heritage_now.wake_wr, "d", 1);
        (void)ignored;
    }
}

void ph_admit_want_processor(int env_index)
{
    /* each connection that finds no capacity asks for one more, up to
     * MaxProcessors */
    ask_parent_for_processor(env_index, 0);
}

void ph_admit_still_waiting(int env_index)
{
    /* Connections that arrived while a processor was starting raised no
     * demand of their own; if they are still waiting once it is up, ask
     * for one more -- one at a time (limit 1), so a long wait never
     * turns into a burst of forks. */
    ask_parent_for_processor(env_index, 1);
}

void ph_admit_waiting(int mux_index, int env_index, int delta,
                      long long oldest_since_ms)
{
    ph_shm_env_stats *rec = ph_segment_env_stats(env_index);
    ph_shm_partition *part;

    if (!rec || mux_index < 0
        || !(part = ph_shm_partition_at(ph_segment, (uint32_t)mux_index,
                                        (uint32_t)ph_segment_env_slot(
                                            env_index)))) {
        return;
    }
    ph_shm_partition_own(ph_segment, (uint32_t)mux_index,
                         (uint32_t)ph_segment_env_slot(env_index), getpid());
    if (delta) {
        atomic_fetch_add(&part->pending, delta);
        atomic_fetch_add(&rec->queue_depth, delta);
    }
    atomic_store(&part->oldest_wait_since_ms, oldest_since_ms);
}

int ph_admit_send(int mux_index, int env_index, int fd, ph_chan_msg *msg)
{
    ph_env *env = ph_env_by_index(env_index);
    ph_shm_env_stats *rec = ph_segment_env_stats(env_index);
    ph_ticket_ref t;
    int rv;

    if (!env || !rec) {
        return EINVAL;
    }
    if (ph_ticket_alloc(ph_segment, (uint32_t)mux_index,
                        (uint32_t)ph_segment_env_slot(env_index), getpid(),
                        &t) != 0) {
        return EAGAIN;      /* every ticket of our partition in flight */
    }
    msg->ticket = ph_ticket_id(&t);
    msg->ticket_gen = t.gen;
    if (ph_ticket_publish(ph_segment, &t, ph_now_ms()) != 0) {
        return EAGAIN;      /* swept under us: cannot happen while we live */
    }
    rv = ph_channel_send(env->chan[0], fd, msg);
    if (rv != 0) {
        ph_ticket_retract(ph_segment, &t);
        return rv;
    }
    atomic_fetch_add(&rec->connections, 1);
    handed_mark(env_index);
    return 0;
}

/* Whether env has a processor of our generation, which reads its answer
 * channel: the child records' identity and pid are the parent's (MAIN
 * region), so env's own code cannot make us queue for nobody. */
static int has_processor(int env_index)
{
    int32_t rec_index = ph_segment_env_slot(env_index);
    uint32_t slot, n;

    if (!ph_segment || rec_index < 0) {
        return 0;
    }
    n = ph_segment->geom.children;
    for (slot = 0; slot < n; slot++) {
        ph_shm_child *c = ph_shm_child_at(ph_segment, slot);
        if (c->pid != 0 && is_our_processor(c, rec_index)) {
            return 1;
        }
    }
    return 0;
}

int ph_admit_send_answer(int env_index, int fd, ph_chan_msg *msg)
{
    ph_env *env = ph_env_by_index(env_index);

    if (!env || env->answer[0] < 0 || !has_processor(env_index)) {
        return ESRCH;
    }
    msg->flags |= PH_CHAN_F_WAIT_OVER | PH_CHAN_F_HEAD_EXPIRED;
    msg->ticket = 0;
    msg->ticket_gen = 0;
    return ph_channel_send(env->answer[0], fd, msg);
}

void ph_admit_init(apr_pool_t *p, int nenvs)
{
    handed.nenvs = nenvs;
    handed.n = 0;
    handed.marked = apr_pcalloc(p, (apr_size_t)nenvs + 1);
    handed.list = apr_pcalloc(p, sizeof(int) * ((apr_size_t)nenvs + 1));
}

int ph_admit_unclaimed(void)
{
    return handed.n;
}

/* Look at env's tickets of our partition (below its high water mark: the
 * others are FREE): retract those READY for longer than LOST_HANDOFF_MS.
 * Returns how many are still READY. */
static int reclaim_env(int mux_index, uint32_t env, long long cutoff)
{
    uint32_t i, used = ph_shm_partition_used(ph_segment, (uint32_t)mux_index,
                                             env);
    int ready = 0;

    for (i = 0; i < used; i++) {
        ph_shm_ticket *tk = ph_shm_ticket_at(ph_segment, (uint32_t)mux_index,
                                             env, i);
        uint64_t w;
        ph_ticket_ref t;

        if (!tk) {
            break;      /* mux_index or env beyond the geometry */
        }
        w = atomic_load(&tk->word);
        if (PH_TICKET_STATE(w) != PH_TICKET_READY) {
            continue;
        }
        if (atomic_load(&tk->ready_at_ms) > cutoff) {
            ready++;
            continue;
        }
        t.mux = (uint32_t)mux_index;
        t.env = env;
        t.index = i;
        t.gen = PH_TICKET_GEN(w);
        if (ph_ticket_retract(ph_segment, &t) == 0) {
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, ap_server_conf,
                         PHLOGNO(00310) "environment #%u: a handoff "
                         "was never claimed within %d s (its processor "
                         "died?); ticket returned", env,
                         LOST_HANDOFF_MS / 1000);
        }
        else {
            ready++;    /* changed under us: look again next time */
        }
    }
    return ready;
}

int ph_admit_reclaim_lost(int mux_index)
{
    long long cutoff = ph_now_ms() - LOST_HANDOFF_MS;
    int k;

    if (!ph_segment || mux_index < 0) {
        return 0;
    }
    for (k = 0; k < handed.n; ) {
        int env_index = handed.list[k];
        int32_t slot = ph_segment_env_slot(env_index);

        if (slot >= 0
            && reclaim_env(mux_index, (uint32_t)slot, cutoff) > 0) {
            k++;
            continue;
        }
        /* none READY there: unmarked until the next handoff */
        handed.marked[env_index] = 0;
        handed.list[k] = handed.list[--handed.n];
    }
    return handed.n;
}
