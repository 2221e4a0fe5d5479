/*
 * parent_main.c -- the parent's life for one generation: create the
 * generation's lifeline and channels, start the children, reap and replace
 * them, and carry out stop, graceful stop and (graceful) restart.
 *
 * The parent never touches client bytes.  It tells a generation's children
 * to finish by closing its own ends of their pipes:
 *   - the lifeline (write end): multiplexers see EOF, stop accepting,
 *     finish routing what they hold and exit;
 *   - each channel's send end (kept by the broker until the generation's
 *     last multiplexer is gone, broker.h): the processors then read EOF
 *     after the last queued connection, finish their connections and
 *     exit.
 * The same chain runs if the parent itself dies, so no child outlives it
 * for longer than its connections last.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <poll.h>
#include <signal.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

#include "httpd.h"
#include "ap_listen.h"
#include "apr_portable.h"
#include "apr_signal.h"
#include "ap_mpm.h"
#include "http_log.h"
#include "http_main.h"
#include "mpm_common.h"

#include "broker.h"
#include "channel.h"
#include "doorbell.h"
#include "ph_clock.h"
#include "ph_alloc.h"
#include "ph_cgroup.h"
#include "ph_config.h"
#include "ph_child.h"
#include "ph_factory.h"
#include "ph_env.h"
#include "ph_log.h"
#include "ph_parent.h"
#include "ph_segment.h"
#include "policy_mux.h"
#include "policy_slots.h"
#include "zero_pages.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

ph_heritage ph_heritage_now = { -1, -1, -1, -1, 0 };

/* Respawn back-off for children that die right after starting (a broken
 * environment must not turn the parent into a fork loop). */
#define YOUNG_DEATH       apr_time_from_sec(2)
#define BACKOFF_FIRST     apr_time_from_msec(500)
#define BACKOFF_MAX       apr_time_from_sec(30)

typedef struct backoff {
    apr_time_t delay;           /* 0 = none */
    apr_time_t until;
} backoff;

/* Parent-only state of the running generation. */
typedef struct parent_gen {
    apr_pool_t *pconf;
    backoff mux_backoff;
    backoff *env_backoff;       /* one per environment */
    int child_fatal;            /* a child reported a server-wide failure */
    int starting;               /* first maintenance of the generation */
    long long backlog_since_ms; /* the accept queue has not been empty
                                 * at any look since then; 0: it was */
    int cap_logged;             /* MaxRequestWorkers warning said */
    int mux_cap_logged;         /* MaxMultiplexers warning said */
    /* The processor policy's census and plan (policy_slots.h), sized
     * once per generation: a tick allocates nothing. */
    ph_slots_env *census_envs;  /* one per environment */
    ph_slots_proc *census_procs;/* one per slot */
    long long *quiet_until_ms;  /* per environment, kept between ticks */
    ph_slots_plan plan;
    /* The multiplexer policy's (policy_mux.h), one per slot. */
    ph_mux_scale_mux *mux_census;
    ph_mux_scale_plan mux_plan;
    int *forked;                /* per environment, this tick */
    apr_time_t *proc_seen;      /* per environment: the last tick it had
                                 * a processor (any generation), 0 never */
    ph_slots_env *env_limits;   /* per environment: its limits, read from
                                 * the configuration once a generation */
    int *published;             /* per environment: the processors figure
                                 * last written to the segment, -1 none */
    /* The census holds the active environments only (parent_active.c):
     * census index -> environment, environment -> census index (this
     * pass; valid for the active ones), and which to keep active. */
    int *census_env;
    int *census_pos;
    unsigned char *keep;
    apr_interval_time_t tick;   /* the longest wait between two passes */
    apr_time_t pressure_said;   /* PH00124/PH00125 last logged */
    unsigned long reclaims_unsaid; /* reclaims since PH00125 was said */
} parent_gen;

static parent_gen gen;

static void sigchld_wake(int sig)
{
    int saved = errno;
    (void)sig;
    if (ph_heritage_now.wake_wr >= 0) {
        ssize_t ignored = write(ph_heritage_now.wake_wr, "c", 1);
        (void)ignored;
    }
    errno = saved;
}

/* httpd unloads and reloads this module on restart; a SIGCHLD arriving in
 * between must not jump into unmapped code.  Registered on pconf after
 * LoadModule's own cleanup, so it runs before the unload. */
static apr_status_t sigchld_reset_cleanup(void *data)
{
    (void)data;
    apr_signal(SIGCHLD, SIG_DFL);
    return APR_SUCCESS;
}

static apr_status_t close_fd_cleanup(void *data)
{
    int *fd = data;
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
    return APR_SUCCESS;
}

static void close_fd(int *fd)
{
    close_fd_cleanup(fd);
}

/* Close *fd when pconf goes (a restart or the end), unless done before. */
static void close_with(apr_pool_t *pconf, int *fd)
{
    apr_pool_cleanup_register(pconf, fd, close_fd_cleanup,
                              apr_pool_cleanup_null);
}

/* The pipes of this generation; closed with pconf at the latest. */
static int open_generation_pipes(apr_pool_t *pconf)
{
    int fds[2];
    int rv;

    if (pipe2(fds, O_CLOEXEC) < 0) {
        return errno;
    }
    ph_heritage_now.lifeline_fd = fds[0];
    ph_heritage_now.lifeline_wr = fds[1];
    close_with(pconf, &ph_heritage_now.lifeline_fd);
    close_with(pconf, &ph_heritage_now.lifeline_wr);

    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
        return errno;
    }
    ph_heritage_now.wake_rd = fds[0];
    ph_heritage_now.wake_wr = fds[1];
    close_with(pconf, &ph_heritage_now.wake_rd);
    close_with(pconf, &ph_heritage_now.wake_wr);

    /* Environments' channels: on first use (parent_channels.c). */
    ph_channels_generation_start(pconf);
    if ((rv = ph_doorbells_create(pconf, (int)ph_conf.max_multiplexers))
        != 0) {
        return rv;
    }
    return ph_broker_generation_start((int)ph_conf.max_multiplexers);
}

/* Tell this generation's children to finish (see the top of the file). */
static void release_generation(void)
{
    int i;

    close_fd(&ph_heritage_now.lifeline_wr);
    ph_factory_generation_end();
    /* The send ends stay with the broker while a multiplexer of this
     * generation lives (broker.h); the rest is closed now. */
    ph_broker_generation_end();
    for (i = 0; i < ph_envs->nelts; i++) {
        ph_env *env = APR_ARRAY_IDX(ph_envs, i, ph_env *);
        close_fd(&env->chan[0]);
        close_fd(&env->chan[1]);
        close_fd(&env->answer[0]);
        close_fd(&env->answer[1]);
    }
}

static void note_child_stopped(int slot, pid_t pid, ap_generation_t g)
{
    if (slot >= 0) {
        ap_run_child_status(ap_server_conf, pid, g, slot, MPM_CHILD_EXITED);
        ph_retained_state->slots[slot].reclaimed_at = 0;
        ph_slot_release(slot);
    }
    else {
        ap_run_child_status(ap_server_conf, pid, g, -1, MPM_CHILD_EXITED);
    }
}

static backoff *backoff_of(const ph_slot *sl)
{
    if (sl->type == PH_CHILD_MUX) {
        return &gen.mux_backoff;
    }
    if (sl->env_index >= 0 && sl->env_index < ph_envs->nelts) {
        return &gen.env_backoff[sl->env_index];
    }
    return NULL;
}

static void child_exited(int slot, apr_proc_t *proc, apr_exit_why_e why,
                         int status)
{
    ph_retained *r = ph_retained_state;
    ph_slot *sl = &r->slots[slot];
    int rc = ap_process_child_status(proc, why, status);
    int current = sl->gen == r->mpm->my_generation;

    if (rc == APEXIT_CHILDFATAL) {
        /* A child found a server-wide problem (e.g. the multiplexers
         * cannot become User); ap_process_child_status logged it. */
        gen.child_fatal = 1;
        r->mpm->shutdown_pending = 1;
    }
    if (current) {
        backoff *b = backoff_of(sl);
        int failed = !(why == APR_PROC_EXIT && status == 0);
        /* A child that never got ready is a start failure (a broken
         * environment, a module crashing in child_init): back off.  One
         * that was serving and was killed is replaced at once. */
        if (b && failed && apr_time_now() - sl->started < YOUNG_DEATH
            && !ph_segment_child_was_ready(slot)) {
            b->delay = b->delay ? b->delay * 2 : BACKOFF_FIRST;
            if (b->delay > BACKOFF_MAX) {
                b->delay = BACKOFF_MAX;
            }
            b->until = apr_time_now() + b->delay;
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, ap_server_conf,
                         PHLOGNO(00110) "%s%s in slot %d died %s after "
                         "start; next attempt in %" APR_TIME_T_FMT " ms",
                         sl->type == PH_CHILD_MUX ? "multiplexer"
                         : "processor of env ",
                         sl->type == PH_CHILD_MUX ? ""
                         : APR_ARRAY_IDX(ph_envs, sl->env_index,
                                         ph_env *)->name,
                         slot, "right", apr_time_as_msec(b->delay));
        }
        else if (b && !failed) {
            b->delay = 0;
        }
    }
    note_child_stopped(slot, proc->pid, sl->gen);
}

static void reap_children(void)
{
    apr_proc_t proc;
    apr_exit_why_e why;
    int status;
    ap_generation_t old_gen;

    while (apr_proc_wait_all_procs(&proc, &status, &why, APR_NOWAIT,
                                   gen.pconf) == APR_CHILD_DONE) {
        int slot = ph_slot_of_pid(proc.pid);
        if (slot >= 0) {
            child_exited(slot, &proc, why, status);
        }
        else if (ph_factory_reaped(proc.pid, status)) {
            /* a processor factory: the next spawn starts another */
        }
        else if (apr_proc_other_child_alert(&proc, APR_OC_REASON_DEATH,
                                            status) == APR_SUCCESS) {
            /* a piped logger or similar, restarted by its owner */
        }
        else if (ap_unregister_extra_mpm_process(proc.pid, &old_gen) == 1) {
            ap_run_child_status(ap_server_conf, proc.pid, old_gen, -1,
                                MPM_CHILD_EXITED);
        }
    }
}

/*
 * How many processor children environment env should have: at least
 * MinProcessors, plus what the multiplexers asked for (they raise demand
 * in the segment when a connection finds no idle worker), never more
 * than MaxProcessors.
 */
static int processors_wanted(const ph_env *env, int alive, uint32_t demand)
{
    long min = ph_env_limit(&env->limits,
                            offsetof(ph_env_limits, min_processors));
    long max = ph_env_limit(&env->limits,
                            offsetof(ph_env_limits, max_processors));
    long want = alive + (long)demand;

    if (want < min) {
        want = min;
    }
    return (int)(want < max ? want : max);
}

static long env_limit(const ph_env *env, size_t off)
{
    return ph_env_limit(&env->limits, off);
}

/* Ask processor slot to finish its connections and exit. */
static void retire(int slot, const char *why)
{
    ph_retained *r = ph_retained_state;
    ph_slot *sl = &r->slots[slot];

    sl->retiring = 1;
    ph_scoreboard_slot_quiescing(slot);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, ap_server_conf, PHLOGNO(00111)
                 "retiring processor of env %s in slot %d, pid %"
                 APR_PID_T_FMT ": %s",
                 APR_ARRAY_IDX(ph_envs, sl->env_index, ph_env *)->name, slot,
                 sl->pid, why);
    ap_mpm_safe_kill(sl->pid, AP_SIG_GRACEFUL);
}

/*
 * The figures below come from the region of the slot's own environment
 * (ph_segment_child_stats: the slot's identity is in MAIN, which only
 * this process writes), which that environment's processors can write:
 * each is clamped, and each decides only about that environment's own
 * processors (spare counts, retirement).
 */
static int child_idle_threads(int slot)
{
    ph_shm_child_stats *c = ph_segment_child_stats(slot);

    return c ? ph_shm_clamp(atomic_load(&c->idle_threads), 0,
                            (int32_t)ph_conf.threads_per_child)
             : 0;
}

static int child_is_idle(int slot)
{
    ph_shm_child_stats *c = ph_segment_child_stats(slot);
    return c && atomic_load(&c->status) != PH_CHILD_STARTING
           && atomic_load(&c->busy_threads) <= 0;
}

static int child_is_starting(int slot)
{
    ph_shm_child_stats *c = ph_segment_child_stats(slot);
    return c && atomic_load(&c->status) == PH_CHILD_STARTING;
}

/* ms since the processor in slot last served a request (or started). */
static long long idle_for_ms(int slot)
{
    ph_retained *r = ph_retained_state;
    ph_shm_child_stats *c = ph_segment_child_stats(slot);
    long long last = c ? atomic_load(&c->last_used_ms) : 0;

    if (last <= 0 || last > ph_now_ms()) {
        /* never used (or nonsense): count from its start */
        return apr_time_as_msec(apr_time_now() - r->slots[slot].started);
    }
    return ph_now_ms() - last;
}

/* CPU share (0-100+) the process used since we last looked, from the
 * kernel's own accounting; -1 the first time or if it cannot be read. */
static int cpu_percent(ph_slot *sl)
{
    char path[64], buf[1024], *p;
    unsigned long utime, stime, ticks;
    apr_time_t now = apr_time_now(), then = sl->cpu_at;
    unsigned long before = sl->cpu_ticks;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)sl->pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        return -1;
    }
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) {
        return -1;
    }
    buf[n] = '\0';
    /* fields after the command name, which may hold spaces: skip to ')' */
    if (!(p = strrchr(buf, ')'))
        || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                  &utime, &stime) != 2) {
        return -1;
    }
    ticks = utime + stime;
    sl->cpu_ticks = ticks;
    sl->cpu_at = now;
    if (!then || now <= then || ticks < before) {
        return -1;
    }
    return (int)((ticks - before) * 100.0 * APR_USEC_PER_SEC
                 / ((double)(now - then) * sysconf(_SC_CLK_TCK)));
}

/* Connections waiting to be accepted on all listeners, from the kernel
 * (for a listening socket TCP_INFO's unacked is its accept queue). */
static unsigned accept_backlog(void)
{
    ap_listen_rec *lr;
    unsigned total = 0;

    for (lr = ap_listeners; lr; lr = lr->next) {
        struct tcp_info ti;
        socklen_t len = sizeof(ti);
        apr_os_sock_t fd;

        if (!lr->sd || apr_os_sock_get(&fd, lr->sd) != APR_SUCCESS
            || fd < 0) {
            continue;
        }
        if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0
            && ti.tcpi_state == TCP_LISTEN) {
            total += ti.tcpi_unacked;
        }
    }
    return total;
}

/* The current generation's multiplexers, as policy_mux.h wants them.  In
 * back-off the policy decides nothing, so their CPU and the accept queue
 * are not read (a CPU look starts a new measuring window). */
static void mux_census_take(ph_mux_scale_census *c, int held_off)
{
    ph_retained *r = ph_retained_state;
    int i, n = 0;

    for (i = 0; i < r->max_slot_used; i++) {
        ph_slot *sl = &r->slots[i];
        ph_mux_scale_mux *m;

        if (!sl->pid || sl->type != PH_CHILD_MUX
            || sl->gen != r->mpm->my_generation) {
            continue;
        }
        m = &gen.mux_census[n++];
        m->slot = i;
        m->retiring = sl->retiring;
        m->cpu_pct = sl->retiring || held_off ? -1 : cpu_percent(sl);
        m->idle_ms = sl->retiring || held_off ? 0 : idle_for_ms(i);
    }
    c->nmuxes = n;
    c->muxes = gen.mux_census;
    c->backoff = held_off;
    c->backlog = held_off ? 0 : accept_backlog();
    c->backlog_since_ms = gen.backlog_since_ms;
    c->now_ms = ph_now_ms();
    c->idle_timeout_ms = ph_conf.multiplexer_idle_timeout * 1000LL;
    c->min_muxes = ph_conf.min_multiplexers;
    c->max_muxes = ph_conf.max_multiplexers;
}

/* Multiplexers between MinMultiplexers and MaxMultiplexers: policy_mux.h
 * decides, this applies. */
static void scale_multiplexers(apr_time_t now)
{
    ph_retained *r = ph_retained_state;
    ph_mux_scale_census c;
    ph_mux_scale_plan *p = &gen.mux_plan;
    int i, alive;

    mux_census_take(&c, now < gen.mux_backoff.until);
    ph_mux_scale_decide(&c, p);
    for (i = 0; i < c.nmuxes; i++) {
        int slot = c.muxes[i].slot;
        ph_slot *sl = &r->slots[slot];

        if (!p->retire[i]) {
            continue;
        }
        sl->retiring = 1;
        ph_scoreboard_slot_quiescing(slot);
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, ap_server_conf,
                     PHLOGNO(00113) "retiring multiplexer in slot %d, "
                     "pid %" APR_PID_T_FMT ": MultiplexerIdleTimeout",
                     slot, sl->pid);
        ap_mpm_safe_kill(sl->pid, AP_SIG_GRACEFUL);
    }
    gen.backlog_since_ms = p->backlog_since_ms;
    if (p->capped != PH_MUX_GROW_NONE && !gen.mux_cap_logged) {
        gen.mux_cap_logged = 1;
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ap_server_conf,
                     PHLOGNO(00607) "MaxMultiplexers %ld reached and %s: "
                     "no more multiplexer is started (said once a "
                     "generation)", c.max_muxes,
                     p->capped == PH_MUX_GROW_BACKLOG
                         ? "connections stay queued on the listeners"
                         : "every one is busy");
    }
    alive = p->kept;
    if (p->grow != PH_MUX_GROW_NONE
        && ph_spawn_child(PH_CHILD_MUX, NULL) >= 0) {
        if (p->grow == PH_MUX_GROW_BACKLOG) {
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, ap_server_conf,
                         PHLOGNO(00115) "%u connection(s) still waiting to "
                         "be accepted: started one more multiplexer",
                         c.backlog);
        }
        else {
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, ap_server_conf,
                         PHLOGNO(00114) "all %d multiplexers over %d%% "
                         "busy: started one more", p->measured,
                         PH_MUX_BUSY_PCT);
        }
        gen.backlog_since_ms = 0;   /* give the new one time to drain it */
        alive++;
    }
    for (; alive < p->floor; alive++) {
        if (ph_spawn_child(PH_CHILD_MUX, NULL) < 0) {
            break;
        }
    }
}

/* Processors all environments together may have (MaxRequestWorkers). */
static int processor_cap(void)
{
    long workers = ph_conf.max_request_workers;

    if (!workers) {
        return INT_MAX;
    }
    return (int)(workers / ph_conf.threads_per_child);
}

/* Whether a signal asked the parent to stop or restart: no processor is
 * started after that (with a factory to start, one takes a while). */
static int told_to_stop(void)
{
    ph_retained *r = ph_retained_state;

    return r->mpm->shutdown_pending || r->mpm->restart_pending;
}

static int free_slots(void)
{
    ph_retained *r = ph_retained_state;
    int i, n = 0;

    for (i = 0; i < r->nslots; i++) {
        n += r->slots[i].pid == 0;
    }
    return n;
}

/* How long after an environment's last processor went its channels are
 * still looked at for connections left waiting: a handoff decided while
 * it lived lands within milliseconds; a minute is the multiplexers' own
 * bound for a handoff never claimed (LOST_HANDOFF_MS, mux_admit.c). */
#define QUEUE_WATCH apr_time_from_sec(60)

/* The census and plan of this generation (see parent_gen).  Per
 * environment, what only environments in use write is in zero pages
 * (zero_pages.h): resident for those, not for 10,000 idle ones. */
static void census_alloc(void)
{
    int nenvs = ph_envs->nelts + 1, nslots = ph_retained_state->nslots, i;
    ph_slots_plan *p = &gen.plan;

    gen.census_envs = ph_zero_pages(gen.pconf, nenvs, sizeof(ph_slots_env));
    gen.census_procs = apr_pcalloc(gen.pconf, sizeof(ph_slots_proc) * nslots);
    gen.mux_census = apr_pcalloc(gen.pconf, sizeof(ph_mux_scale_mux) * nslots);
    gen.mux_plan.retire = apr_pcalloc(gen.pconf, sizeof(int) * nslots);
    gen.quiet_until_ms = ph_zero_pages(gen.pconf, nenvs, sizeof(long long));
    gen.forked = ph_zero_pages(gen.pconf, nenvs, sizeof(int));
    gen.proc_seen = ph_zero_pages(gen.pconf, nenvs, sizeof(apr_time_t));
    gen.env_limits = apr_pcalloc(gen.pconf, sizeof(ph_slots_env) * nenvs);
    gen.published = apr_palloc(gen.pconf, sizeof(int) * nenvs);
    for (i = 0; i < nenvs; i++) {
        gen.published[i] = -1;
    }
    gen.census_env = ph_zero_pages(gen.pconf, nenvs, sizeof(int));
    gen.census_pos = ph_zero_pages(gen.pconf, nenvs, sizeof(int));
    gen.keep = ph_zero_pages(gen.pconf, nenvs, 1);
    ph_active_generation_start(gen.pconf, ph_envs->nelts);
    for (i = 0; i < ph_envs->nelts; i++) {
        ph_env *env = APR_ARRAY_IDX(ph_envs, i, ph_env *);
        ph_slots_env *e = &gen.env_limits[i];

        e->min_processors = env_limit(env, offsetof(ph_env_limits,
                                                    min_processors));
        e->max_processors = env_limit(env, offsetof(ph_env_limits,
                                                    max_processors));
        e->min_spare = env_limit(env, offsetof(ph_env_limits,
                                               min_spare_processors));
        e->max_spare = env_limit(env, offsetof(ph_env_limits,
                                               max_spare_processors));
        /* MinProcessors is wanted every pass, StartServers by every
         * environment at the first: the other environments are looked
         * at once something happens to them (parent_active.c) */
        if (e->min_processors > 0 || ph_conf.start_servers > 0) {
            ph_active_mark(i);
        }
    }
    p->spawn_env = apr_pcalloc(gen.pconf, sizeof(int) * nslots);
    p->why = apr_pcalloc(gen.pconf, sizeof(ph_slots_why) * nslots);
    p->settle = ph_zero_pages(gen.pconf, nenvs, sizeof(unsigned));
    p->quiet_until_ms = ph_zero_pages(gen.pconf, nenvs, sizeof(long long));
    p->env_scratch = ph_zero_pages(gen.pconf,
                                   (apr_size_t)PH_SLOTS_ENV_SCRATCH * nenvs,
                                   sizeof(int));
    p->proc_scratch = apr_pcalloc(gen.pconf, sizeof(int)
                                             * PH_SLOTS_PROC_SCRATCH * nslots);
    gen.pressure_said = 0;
    gen.reclaims_unsaid = 0;
}

/*
 * The census of the current generation's processors (policy_slots.h).
 * Idle figures come from each environment's own region (clamped, see
 * child_is_idle()); a tenant that lies about them can keep its own
 * processors from being reclaimed or retired, as it could keep them busy:
 * at most MaxProcessors slots, as before.  Slots, pids, generations,
 * reclaims in flight, back-offs and QUIET bounds are the parent's own.
 */
static void census_take(ph_slots_census *c, apr_time_t now)
{
    ph_retained *r = ph_retained_state;
    const int *active;
    int i, j, n = 0, nactive, starting;

    memset(c, 0, sizeof(*c));
    /* Demand is read only where a multiplexer flagged it (issue 13: no
     * page of every environment's region each pass); a flagged
     * environment becomes active. */
    ph_segment_collect_demand(ph_active_mark);
    for (i = 0; i < r->max_slot_used; i++) {
        const ph_slot *sl = &r->slots[i];
        int k = sl->env_index;

        if (!sl->pid || sl->type != PH_CHILD_PROC) {
            continue;
        }
        c->processors++;        /* every generation counts against the cap */
        if (k >= 0 && k < ph_envs->nelts) {
            gen.proc_seen[k] = now;
            ph_active_mark(k);
        }
        /* A reclaimed processor that holds a kept-alive connection
         * keeps its slot until KeepAliveTimeout: after a grace, its slot
         * no longer counts as coming, and another may be reclaimed. */
        if (sl->retiring && sl->reclaimed_at
            && now - sl->reclaimed_at
                   < apr_time_from_msec(PH_SLOTS_DRAIN_GRACE_MS)) {
            c->draining++;
        }
    }
    /* The census: the active environments only, in ascending order */
    nactive = ph_active_list(&active);
    for (j = 0; j < nactive; j++) {
        int k = active[j];
        ph_slots_env *e = &gen.census_envs[j];

        *e = gen.env_limits[k];     /* the rest zero */
        e->backoff = now < gen.env_backoff[k].until;
        e->quiet_until_ms = gen.quiet_until_ms[k];
        gen.census_env[j] = k;
        gen.census_pos[k] = j;
    }
    for (i = 0; i < r->max_slot_used; i++) {
        const ph_slot *sl = &r->slots[i];
        ph_slots_proc *pr;
        ph_slots_env *e;
        int k = sl->env_index;

        if (!sl->pid || sl->type != PH_CHILD_PROC
            || sl->gen != r->mpm->my_generation || sl->retiring
            || k < 0 || k >= ph_envs->nelts) {
            continue;
        }
        pr = &gen.census_procs[n++];
        pr->slot = i;
        pr->env = gen.census_pos[k];    /* active: marked above */
        pr->idle = child_is_idle(i);
        pr->idle_threads = child_idle_threads(i);
        pr->idle_ms = idle_for_ms(i);
        e = &gen.census_envs[pr->env];
        e->alive++;
        /* One on its way counts as idle for the spare rules (it is not
         * idle to retire or reclaim: pr->idle), its threads as the idle
         * ones it brings: counted as none, MinSpareThreads started
         * another at every tick it took to start (CI: a third processor
         * where a second brought enough). */
        starting = child_is_starting(i);
        e->idle += pr->idle || starting;
        e->idle_threads += starting ? (int)ph_conf.threads_per_child
                                    : pr->idle_threads;
    }
    for (j = 0; j < nactive; j++) {
        int k = active[j];
        ph_slots_env *e = &gen.census_envs[j];
        ph_env *env = APR_ARRAY_IDX(ph_envs, k, ph_env *);

        if (e->backoff) {
            continue;   /* its demand waits in the segment meanwhile */
        }
        /* The demand stays in the segment until the forks are done
         * (ph_segment_settle_demand): a multiplexer looking in between
         * sees it and does not ask for one more. */
        e->demand = ph_segment_peek_demand(k);
        /* Only a processor of ours makes a multiplexer hand a connection
         * over (capacity) or queue a 503 (has_processor, mux_admit.c):
         * after the last one went, for QUEUE_WATCH, whatever it left
         * there is looked for; an environment that had none for longer
         * costs no system call (issue 13). */
        e->queued = e->alive == 0 && gen.proc_seen[k]
                    && now - gen.proc_seen[k] <= QUEUE_WATCH
                    && ph_channels_waiting(env);
        /* Channels nobody can use any more go (issue 13: the parent's
         * descriptors follow the environments in use). */
        if (e->alive == 0 && !e->demand && !e->queued) {
            ph_channels_close_idle(env, gen.proc_seen[k], now);
        }
    }
    c->nenvs = nactive;
    c->envs = gen.census_envs;
    c->nprocs = n;
    c->procs = gen.census_procs;
    c->free_slots = free_slots();
    c->processor_cap = processor_cap();
    c->starting = gen.starting;
    c->now_ms = ph_now_ms();
    c->idle_timeout_s = ph_conf.idle_timeout;
    c->threads_per_child = ph_conf.threads_per_child;
    c->min_spare_threads = ph_conf.min_spare_threads;
    c->max_spare_threads = ph_conf.max_spare_threads;
    c->start_servers = ph_conf.start_servers;
}

/* What the plan says about slot pressure, at most once a minute each. */
#define PRESSURE_LOG_INTERVAL apr_time_from_sec(60)

static void log_pressure(const ph_slots_census *c, const ph_slots_plan *p,
                         apr_time_t now)
{
    int waiting = p->unmet[PH_SLOTS_FIRST];

    int starving = waiting > p->reclaimed + c->draining;

    gen.reclaims_unsaid += (unsigned long)p->reclaimed;
    if ((!p->reclaimed && !starving)
        || (gen.pressure_said
            && now - gen.pressure_said < PRESSURE_LOG_INTERVAL)) {
        return;
    }
    if (starving) {
        /* some wait with nothing to reclaim: every slot is busy */
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ap_server_conf,
                     PHLOGNO(00124) "all %d slots of ServerLimit are in "
                     "use and busy: %d environment(s) wait for a first "
                     "processor (%lu idle processor(s) reclaimed since "
                     "this was last said)", ph_retained_state->nslots,
                     waiting, gen.reclaims_unsaid);
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, ap_server_conf,
                     PHLOGNO(00125) "all %d slots of ServerLimit are in "
                     "use: %lu idle processor(s) reclaimed for "
                     "environments waiting (in the last minute or since "
                     "start)", ph_retained_state->nslots,
                     gen.reclaims_unsaid);
    }
    gen.pressure_said = now;
    gen.reclaims_unsaid = 0;
}

/* Carry out the plan: retire, then start, then settle the demand. */
static void apply_plan(const ph_slots_census *c, const ph_slots_plan *p)
{
    ph_retained *r = ph_retained_state;
    int i, k, stopped = 0;

    for (i = 0; i < c->nprocs; i++) {
        ph_slots_why why = p->why[i];
        if (why == PH_SLOTS_KEEP) {
            continue;
        }
        if (why == PH_SLOTS_RECLAIM_SPARE || why == PH_SLOTS_RECLAIM_LAST
            || why == PH_SLOTS_RECLAIM_BUSY) {
            r->slots[c->procs[i].slot].reclaimed_at = apr_time_now();
        }
        retire(c->procs[i].slot, ph_slots_why_text(why));
        gen.census_envs[c->procs[i].env].alive--;
    }
    /* k: an index of the census; gen.census_env[k] its environment */
    for (k = 0; k < c->nenvs; k++) {
        gen.quiet_until_ms[gen.census_env[k]] = p->quiet_until_ms[k];
        gen.forked[k] = 0;
    }
    /* Cold environments' factories start side by side (issue 13). */
    for (i = 0; i < p->nspawn && ph_factory_in_use(); i++) {
        ph_factory_prestart(APR_ARRAY_IDX(ph_envs,
                                          gen.census_env[p->spawn_env[i]],
                                          ph_env *));
    }
    for (i = 0; i < p->nspawn; i++) {
        k = p->spawn_env[i];
        if ((stopped = told_to_stop())) {
            break;
        }
        if (ph_spawn_child(PH_CHILD_PROC,
                           APR_ARRAY_IDX(ph_envs, gen.census_env[k],
                                         ph_env *)) >= 0) {
            gen.forked[k]++;
        }
    }
    for (k = 0; k < c->nenvs; k++) {
        const ph_slots_env *e = &gen.census_envs[k];
        int env = gen.census_env[k];

        if (!e->backoff && !stopped) {
            /* Started processors answer the demand (whatever they were
             * started for: one asked for meanwhile is answered too),
             * and demand beyond MaxProcessors is dropped; what waits for
             * a slot stays. */
            unsigned served = p->settle[k] + (unsigned)gen.forked[k];
            if (served || e->demand) {
                ph_segment_settle_demand(env, served);
            }
        }
        /* written when it changes: an idle tick writes nothing */
        if (gen.published[env] != e->alive + gen.forked[k]) {
            gen.published[env] = e->alive + gen.forked[k];
            ph_segment_set_processors(env, gen.published[env]);
        }
    }
}

/*
 * After the plan: the environments of the census that nothing calls for
 * any more leave the active set (parent_active.c says what marks one
 * again).  Kept: one with a processor (any generation) or one just
 * started, MinProcessors, a back-off in force (its demand waits), demand,
 * a connection queued, open channels (they are closed from here, after
 * CHANNEL_IDLE) or a processors figure still to be published as 0.
 */
static void census_forget_quiet(const ph_slots_census *c, apr_time_t now)
{
    int k;

    for (k = 0; k < c->nenvs; k++) {
        const ph_slots_env *e = &c->envs[k];
        int i = gen.census_env[k];
        const ph_env *env = APR_ARRAY_IDX(ph_envs, i, ph_env *);

        gen.keep[k] = gen.proc_seen[i] == now || gen.forked[k] > 0
                      || e->min_processors > 0
                      || gen.env_backoff[i].until > now || e->demand > 0
                      || e->queued || env->chan[1] >= 0
                      || env->answer[1] >= 0 || gen.published[i] > 0;
    }
    ph_active_keep_only(gen.keep, c->nenvs);
}

/* Start what is missing from the current generation, retire what is
 * beyond need (policy_slots.h decides; this applies). */
static void maintain_children(void)
{
    ph_slots_census c;
    apr_time_t now = apr_time_now();

    scale_multiplexers(now);
    census_take(&c, now);
    ph_slots_decide(&c, &gen.plan);
    apply_plan(&c, &gen.plan);
    census_forget_quiet(&c, now);
    log_pressure(&c, &gen.plan, now);
    if (gen.plan.capped && !gen.cap_logged) {
        gen.cap_logged = 1;
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ap_server_conf,
                     PHLOGNO(00112) "MaxRequestWorkers %ld reached (%d "
                     "processors of %ld threads): environments get no "
                     "more processors until others go",
                     ph_conf.max_request_workers, c.processors,
                     ph_conf.threads_per_child);
    }
}

static void drain_wake_pipe(void)
{
    char buf[64];
    while (read(ph_heritage_now.wake_rd, buf, sizeof(buf)) > 0) {
        ;
    }
}

/* Wait up to timeout_ms for a child to exit or a signal to arrive. */
static void wait_for_event(int timeout_ms)
{
    /* Multiplexers' requests for send ends are served meanwhile. */
    if (ph_broker_wait(ph_heritage_now.wake_rd, timeout_ms)) {
        drain_wake_pipe();
    }
}

static int children_alive(void)
{
    ph_retained *r = ph_retained_state;
    int i;

    for (i = 0; i < r->max_slot_used; i++) {
        if (r->slots[i].pid) {
            return 1;
        }
    }
    return 0;
}

/*
 * The maintenance pass runs at least once a tick (a second), and at once
 * when a child exits or a signal arrives.  PH_MAINTAIN_TICK_MS in the
 * parent's environment (10 to 1000) shortens it: a test of what a pass
 * costs over thousands of them (tests/integration/test_idle_cost.py)
 * needs them in seconds, not hours.  Not a directive: nothing an operator
 * should tune.
 */
static apr_interval_time_t maintain_tick(void)
{
    const char *v = getenv("PH_MAINTAIN_TICK_MS");
    long ms = v ? strtol(v, NULL, 10) : 0;

    if (ms < 10 || ms > 1000) {
        return apr_time_from_sec(1);
    }
    return apr_time_from_msec(ms);
}

/* Wake at least once a tick, and exactly when a back-off ends. */
static int next_tick_ms(void)
{
    apr_time_t now = apr_time_now(), next = now + gen.tick;
    const int *active;
    int i, n;

    if (gen.mux_backoff.until > now && gen.mux_backoff.until < next) {
        next = gen.mux_backoff.until;
    }
    /* an environment in back-off stays active (census_forget_quiet) */
    n = ph_active_list(&active);
    for (i = 0; i < n; i++) {
        const backoff *b = &gen.env_backoff[active[i]];
        if (b->until > now && b->until < next) {
            next = b->until;
        }
    }
    return (int)apr_time_as_msec(next - now) + 1;
}

static void server_main_loop(void)
{
    ph_retained *r = ph_retained_state;

    while (!r->mpm->restart_pending && !r->mpm->shutdown_pending) {
        wait_for_event(next_tick_ms());
        reap_children();
        ph_factory_tidy();
        ph_broker_tidy();
        ph_cgroup_tidy();
        if (r->mpm->restart_pending || r->mpm->shutdown_pending) {
            break;
        }
        maintain_children();
        apr_proc_other_child_refresh_all(APR_OC_REASON_RUNNING);
        ap_run_monitor(gen.pconf, ap_server_conf);
    }
}

static void mark_old_generation_quiescing(void)
{
    ph_retained *r = ph_retained_state;
    int i;

    for (i = 0; i < r->max_slot_used; i++) {
        if (r->slots[i].pid) {
            ph_scoreboard_slot_quiescing(i);
        }
    }
}

static int graceful_stop(void)
{
    ph_retained *r = ph_retained_state;
    apr_time_t cutoff = 0;

    ap_close_listeners();
    release_generation();
    mark_old_generation_quiescing();
    if (!gen.child_fatal) {
        ap_remove_pid(gen.pconf, ap_pid_fname);
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, ap_server_conf,
                     PHLOGNO(00120) "caught " AP_SIG_GRACEFUL_STOP_STRING
                     ", shutting down gracefully");
    }
    if (ap_graceful_shutdown_timeout) {
        cutoff = apr_time_now()
                 + apr_time_from_sec(ap_graceful_shutdown_timeout);
    }
    r->mpm->shutdown_pending = 0;
    while (children_alive() && !r->mpm->shutdown_pending
           && (!cutoff || apr_time_now() < cutoff)) {
        wait_for_event(200);
        reap_children();
        ph_broker_tidy();
    }
    /* Timed out, or told to stop now: make sure nothing is left. */
    ph_reclaim_children(note_child_stopped);
    ph_cgroup_groups_remove();
    ph_segment_teardown(gen.pconf, &r->segment);
    return DONE;
}

/* Say once per generation which virtual hosts nobody serves. */
/* Whether some Listen address has no <VirtualHost> for it: only then can
 * a request reach the main server (httpd picks among the vhosts of the
 * connection's address, and falls back to the main server only for an
 * address none of them names). */
static int main_server_reachable(void)
{
    ap_listen_rec *lr;

    for (lr = ap_listeners; lr; lr = lr->next) {
        const server_rec *s;
        int covered = 0;

        for (s = ap_server_conf->next; s && !covered; s = s->next) {
            const server_addr_rec *sar;
            for (sar = s->addrs; sar && !covered; sar = sar->next) {
                covered = (sar->host_port == 0
                           || sar->host_port == lr->bind_addr->port)
                          && (apr_sockaddr_is_wildcard(sar->host_addr)
                              || apr_sockaddr_equal(sar->host_addr,
                                                    lr->bind_addr));
            }
        }
        if (!covered) {
            return 1;
        }
    }
    return 0;
}

static void log_vhosts_without_env(void)
{
    server_rec *s;

    if (ph_envs->nelts == 1 && APR_ARRAY_IDX(ph_envs, 0, ph_env *)->implicit) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, ap_server_conf,
                     PHLOGNO(00011) "no <Processor> configured: every "
                     "virtual host is served in the implicit environment '"
                     PH_IMPLICIT_ENV_NAME "' as User %s",
                     ap_unixd_config.user_name);
        return;
    }
    for (s = ap_server_conf; s; s = s->next) {
        if (ph_env_of_server(s)) {
            continue;
        }
        if (s == ap_server_conf) {
            if (!main_server_reachable()) {
                continue;       /* every address has its vhosts */
            }
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ap_server_conf,
                         PHLOGNO(00301) "the main server (%s), which answers "
                         "requests that match no <VirtualHost>, has no "
                         "ServerEnvironment: such requests are answered "
                         "with 503", s->server_hostname
                             ? s->server_hostname : "unnamed");
        }
        else {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ap_server_conf,
                         PHLOGNO(00301) "virtual host %s (%s:%d) has no "
                         "ServerEnvironment: its requests are answered "
                         "with 503", s->server_hostname
                             ? s->server_hostname : "(unnamed)",
                         s->defn_name ? s->defn_name : "?",
                         (int)s->defn_line_number);
        }
    }
}

static void start_generation(void)
{
    int i;

    gen.env_backoff = apr_pcalloc(gen.pconf,
                                  sizeof(backoff) * (ph_envs->nelts + 1));
    memset(&gen.mux_backoff, 0, sizeof(gen.mux_backoff));
    gen.child_fatal = 0;
    for (i = 0; i < ph_envs->nelts; i++) {
        ph_env *env = APR_ARRAY_IDX(ph_envs, i, ph_env *);
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, ap_server_conf,
                     PHLOGNO(00104) "environment %s: user %s (uid %ld), "
                     "group %s (gid %ld), %d to %ld processor(s)",
                     env->name, env->user_name, (long)env->uid,
                     env->group_name, (long)env->gid,
                     processors_wanted(env, 0, 0),
                     ph_env_limit(&env->limits,
                                  offsetof(ph_env_limits, max_processors)));
    }
    log_vhosts_without_env();
    census_alloc();
    gen.starting = 1;
    gen.cap_logged = 0;
    gen.mux_cap_logged = 0;
    maintain_children();
    gen.starting = 0;
}

int ph_parent_run(apr_pool_t *pconf, apr_pool_t *plog, server_rec *s)
{
    ph_retained *r = ph_retained_state;
    int rv;

    gen.pconf = pconf;
    gen.tick = maintain_tick();
    ph_raise_fd_limit(0);
    ap_log_pid(pconf, ap_pid_fname);

    if (!r->mpm->was_graceful) {
        if (ph_parent_scoreboard_make(s, r->mpm->my_generation) != OK) {
            r->mpm->mpm_state = AP_MPMQ_STOPPING;
            return !OK;
        }
        ph_scoreboard_set_generation(r->mpm->my_generation);
        ph_alloc_note();
    }
    if (!r->slots) {
        r->nslots = (int)ph_conf.server_limit;
        r->slots = apr_pcalloc(ap_pglobal, sizeof(ph_slot) * r->nslots);
    }

    ap_unixd_mpm_set_signals(pconf, 0);
    if ((rv = open_generation_pipes(pconf)) != 0) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, PHLOGNO(00105)
                     "cannot create the pipes and channels of this "
                     "generation");
        r->mpm->mpm_state = AP_MPMQ_STOPPING;
        return !OK;
    }
    ph_heritage_now.generation = r->mpm->my_generation;
    if (ph_factory_generation_start(pconf) != 0) {
        r->mpm->mpm_state = AP_MPMQ_STOPPING;
        return !OK;
    }
    /* The multiplexers' factory reads its configuration while the segment
     * is made (it waits for the segment's inode before it maps it). */
    ph_factory_launch_multiplexers_early();
    if (ph_segment_setup(pconf, &r->segment) != 0) {
        r->mpm->mpm_state = AP_MPMQ_STOPPING;
        return !OK;
    }
    ph_factory_segment_made((unsigned long)r->segment.ino);
    apr_signal(SIGCHLD, sigchld_wake);
    apr_pool_cleanup_register(pconf, NULL, sigchld_reset_cleanup,
                              apr_pool_cleanup_null);

    if (!ph_env_can_switch_users()) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, PHLOGNO(00010)
                     "not started as root: cannot switch users; every "
                     "environment runs as uid %ld", (long)geteuid());
    }

    /* Before any child: its processors join these groups. */
    ph_cgroup_groups_setup();
    start_generation();

    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, ap_server_conf, PHLOGNO(00106)
                 "%s configured -- resuming normal operations",
                 ap_get_server_description());
    ap_log_command_line(plog, s);
    ap_log_mpm_common(s);
    r->mpm->mpm_state = AP_MPMQ_RUNNING;

    server_main_loop();
    r->mpm->mpm_state = AP_MPMQ_STOPPING;

    if (r->mpm->shutdown_pending && r->mpm->is_ungraceful) {
        release_generation();
        ph_reclaim_children(note_child_stopped);
        ph_cgroup_groups_remove();
        ph_segment_teardown(pconf, &r->segment);
        if (!gen.child_fatal) {
            ap_remove_pid(pconf, ap_pid_fname);
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, ap_server_conf,
                         PHLOGNO(00121) "caught SIGTERM, shutting down");
        }
        return DONE;
    }
    if (r->mpm->shutdown_pending) {
        return graceful_stop();
    }

    /* Restart: the next generation is started by the next call. */
    ++r->mpm->my_generation;
    ph_scoreboard_set_generation(r->mpm->my_generation);
    if (!r->mpm->is_ungraceful) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, ap_server_conf,
                     PHLOGNO(00122) AP_SIG_GRACEFUL_STRING " received. "
                     "Doing graceful restart");
        release_generation();
        mark_old_generation_quiescing();
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, ap_server_conf,
                     PHLOGNO(00123) "SIGHUP received.  Attempting to "
                     "restart");
        release_generation();
        ph_reclaim_children(note_child_stopped);
    }
    ph_cgroup_generation_end();
    return OK;
}
