/*
 * mux_admit.c -- admission: may a routed connection go to its environment
 * now, must it wait, and for how long; and the handoff itself, with a
 * ticket from this multiplexer's partition.
 *
 * The rules (capacity, AVAIL, the allowed wait, asking for a processor)
 * are policy_admit.c's, over a census of the environment this file reads
 * from the segment once per decision (read_census) and does not clamp:
 * policy_admit.c is the one place where the figures an environment's
 * processors can write are clamped.  They are advisory, and only ever
 * decide *when* that environment's own connections are handed over, never
 * to whom.  Nothing here sleeps.
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
#include "policy_admit.h"
#include "zero_pages.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

/* A READY ticket this old was received by a processor that died before
 * claiming it: the connection went with it, give the slot back. */
#define LOST_HANDOFF_MS 60000

/* A READY ticket this old while the environment's processors will take
 * fewer connections than are in flight is stranded in the channel: the
 * processor whose idle threads it was handed for went (retired between
 * our census and its claim, or died), the others are busy, and no
 * connection of ours waits to ask for another.  It asks, as a waiting
 * connection does (ph_admit_still_waiting). */
#define STRANDED_HANDOFF_MS 1000

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

/* A processor of environment record rec_index that reads our channel:
 * only processors of our generation do; older ones (finishing after a
 * graceful restart) are listed under the env of their name but read
 * another channel.  The identity is MAIN's (parent-written). */
static int is_our_processor(const ph_shm_child *c, int32_t rec_index)
{
    return c->type == PH_CHILD_TYPE_PROCESSOR && c->env_index == rec_index
           && c->generation == (uint32_t)ph_heritage_now.generation;
}

/* Room for the processors of one environment in a census: a slot of the
 * segment each at most (ph_admit_init). */
static ph_admit_proc *census_procs;
static uint32_t census_room;

/* The slots to look at for one environment: those the segment's index
 * of its processors names (shm_index.c, O(its processors)), copied into
 * index_slots; or, if the index cannot be read consistently, every slot
 * (every_slot: 0 .. census_room - 1).  Either way each record is checked
 * (is_our_processor): the index only spares the look at the others. */
static uint32_t *index_slots;
static uint32_t *every_slot;

static uint32_t slots_of(int32_t rec_index, const uint32_t **slots)
{
    static int said;
    int n = ph_shm_index_read(ph_segment, (uint32_t)rec_index, index_slots,
                              census_room);

    if (n >= 0) {
        *slots = index_slots;
        return (uint32_t)n;
    }
    if (!said) {
        said = 1;
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ap_server_conf,
                     PHLOGNO(00650) "environment #%d: the segment's index "
                     "of its processors could not be read (changing too "
                     "fast, or wrong): every slot is looked at instead "
                     "(said once)", (int)rec_index);
    }
    *slots = every_slot;
    return census_room;
}

/* Read env's figures into c, as they are (policy_admit.h clamps them);
 * its processors' too when with_procs.  0, or -1 when env has no record
 * (no segment, an index beyond it). */
static int read_census(int env_index, ph_admit_census *c, int with_procs)
{
    ph_shm_env *rec = ph_segment_env(env_index);
    ph_shm_env_stats *stats = ph_segment_env_stats(env_index);
    int32_t rec_index = ph_segment_env_slot(env_index);
    const uint32_t *slots;
    uint32_t i, n;

    if (!rec || !stats) {
        return -1;
    }
    c->wait_timeout_ms = rec->wait_timeout_ms;
    c->wait_levels = rec->wait_levels;
    c->max_processors = rec->max_processors;
    c->processors = atomic_load(&rec->processors);
    c->thread_limit = (int32_t)ph_conf.thread_limit;
    c->in_flight_max = PH_TICKETS_PER_PARTITION
                       * (int32_t)ph_segment->geom.muxes;
    c->avail = ph_shm_avail(stats);
    c->in_flight = atomic_load(&stats->in_flight);
    c->nprocs = 0;
    c->procs = census_procs;
    if (!with_procs || rec_index < 0) {
        return 0;
    }
    n = slots_of(rec_index, &slots);
    for (i = 0; i < n && (uint32_t)c->nprocs < census_room; i++) {
        uint32_t slot = slots[i];
        ph_shm_child *ch = ph_shm_child_at(ph_segment, slot);
        ph_shm_child_stats *st;
        ph_admit_proc *p;

        if (!ch || !is_our_processor(ch, rec_index)
            || !(st = ph_shm_proc_stats_at(ph_segment, (uint32_t)rec_index,
                                           slot))) {
            continue;
        }
        p = &census_procs[c->nprocs++];
        p->forked = ch->pid != 0;
        p->starting = atomic_load(&st->status) == PH_CHILD_STARTING;
        p->idle_threads = atomic_load_explicit(&st->idle_threads,
                                               memory_order_relaxed);
        p->busy_threads = atomic_load(&st->busy_threads);
        p->room = atomic_load_explicit(&st->room, memory_order_relaxed);
        p->threads = (int32_t)atomic_load(&st->threads);
    }
    return 0;
}

int ph_admit_capacity(int env_index)
{
    ph_admit_census c;

    return read_census(env_index, &c, 1) == 0 ? ph_admit_rule_capacity(&c)
                                              : 0;
}

long long ph_admit_wait_ms(int env_index)
{
    ph_admit_census c;

    return read_census(env_index, &c, 0) == 0 ? ph_admit_rule_wait_ms(&c)
                                              : 0;
}

/* Move env's AVAIL as the rules say for outcome o. */
static void avail_move(int env_index, ph_admit_outcome o)
{
    ph_shm_env_stats *stats = ph_segment_env_stats(env_index);
    ph_admit_census c;
    int delta;

    if (stats && read_census(env_index, &c, 0) == 0
        && (delta = ph_admit_rule_avail_delta(&c, o)) != 0) {
        ph_shm_avail_adjust(stats, delta);
    }
}

void ph_admit_found_capacity(int env_index, int waited)
{
    avail_move(env_index, waited ? PH_ADMIT_AFTER_WAIT : PH_ADMIT_AT_ONCE);
}

void ph_admit_dropped(int env_index, ph_admit_drop why)
{
    ph_shm_env_stats *stats = ph_segment_env_stats(env_index);

    if (!ph_segment_env(env_index) || !stats) {
        if (ph_segment && why == PH_DROP_NO_ENV) {
            atomic_fetch_add(&ph_shm_mux_area_at(ph_segment)->dropped_noenv,
                             1);
        }
        return;
    }
    if (why == PH_DROP_TIMEOUT) {
        atomic_fetch_add(&stats->dropped_timeout, 1);
        avail_move(env_index, PH_ADMIT_WAIT_OVER);
    }
    else {
        atomic_fetch_add(&stats->dropped_channel, 1);
        avail_move(env_index, PH_ADMIT_CHANNEL_FAILED);
    }
}

/*
 * Raise env's spawn demand by one, up to the limit the rules give (none
 * while one of its processors is starting -- it brings capacity shortly,
 * and "starting" lasts until every worker has counted itself in -- or
 * once it has MaxProcessors); then wake the parent, which polls this pipe
 * and forks at once (a full pipe already means "wake up").
 */
static void ask_parent_for_processor(int env_index, int connection_limit)
{
    ph_shm_env_stats *stats = ph_segment_env_stats(env_index);
    ph_admit_census c;
    uint32_t limit;

    if (!stats || read_census(env_index, &c, 1) != 0
        || !(limit = ph_admit_rule_demand_limit(
                 &c, (uint32_t)connection_limit))) {
        return;
    }
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
    const uint32_t *slots;
    uint32_t i, n;

    if (!ph_segment || rec_index < 0) {
        return 0;
    }
    n = slots_of(rec_index, &slots);
    for (i = 0; i < n; i++) {
        ph_shm_child *c = ph_shm_child_at(ph_segment, slots[i]);
        if (c && c->pid != 0 && is_our_processor(c, rec_index)) {
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
    uint32_t i;

    census_room = ph_segment ? ph_segment->geom.children : 0;
    census_procs = apr_pcalloc(p, sizeof(ph_admit_proc)
                                      * ((apr_size_t)census_room + 1));
    index_slots = apr_pcalloc(p, sizeof(uint32_t)
                                     * ((apr_size_t)census_room + 1));
    every_slot = apr_palloc(p, sizeof(uint32_t)
                                   * ((apr_size_t)census_room + 1));
    for (i = 0; i < census_room; i++) {
        every_slot[i] = i;
    }
    handed.nenvs = nenvs;
    handed.n = 0;
    /* pages on use (zero_pages.h) */
    handed.marked = ph_zero_pages(p, (apr_size_t)nenvs + 1, 1);
    handed.list = ph_zero_pages(p, (apr_size_t)nenvs + 1, sizeof(int));
}

int ph_admit_unclaimed(void)
{
    return handed.n;
}

/* Look at env's tickets of our partition (below its high water mark: the
 * others are FREE): retract those READY for longer than LOST_HANDOFF_MS.
 * Returns how many are still READY; *stale counts those of them READY
 * since before stale_since. */
static int reclaim_env(int mux_index, uint32_t env, long long cutoff,
                       long long stale_since, int *stale)
{
    uint32_t i, used = ph_shm_partition_used(ph_segment, (uint32_t)mux_index,
                                             env);
    int ready = 0;

    for (i = 0; i < used; i++) {
        ph_shm_ticket *tk = ph_shm_ticket_at(ph_segment, (uint32_t)mux_index,
                                             env, i);
        uint64_t w;
        long long ready_at;
        ph_ticket_ref t;

        if (!tk) {
            break;      /* mux_index or env beyond the geometry */
        }
        w = atomic_load(&tk->word);
        if (PH_TICKET_STATE(w) != PH_TICKET_READY) {
            continue;
        }
        ready_at = atomic_load(&tk->ready_at_ms);
        if (ready_at > cutoff) {
            ready++;
            *stale += ready_at <= stale_since;
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
    long long now = ph_now_ms(), cutoff = now - LOST_HANDOFF_MS;
    int k;

    if (!ph_segment || mux_index < 0) {
        return 0;
    }
    for (k = 0; k < handed.n; ) {
        int env_index = handed.list[k], stale = 0;
        int32_t slot = ph_segment_env_slot(env_index);

        if (slot >= 0
            && reclaim_env(mux_index, (uint32_t)slot, cutoff,
                           now - STRANDED_HANDOFF_MS, &stale) > 0) {
            if (stale && ph_admit_capacity(env_index) < 0) {
                ph_admit_still_waiting(env_index);
            }
            k++;
            continue;
        }
        /* none READY there: unmarked until the next handoff */
        handed.marked[env_index] = 0;
        handed.list[k] = handed.list[--handed.n];
    }
    return handed.n;
}
