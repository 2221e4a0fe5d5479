/*
 * ph_parent.h -- state the parent keeps about its children.
 *
 * The slot table survives graceful restarts (httpd's retained data): a
 * child of an older generation keeps its slot until it exits.  Only the
 * parent reads or writes it.  Scoreboard slot i and ph_slot i describe the
 * same child, but only this table is believed: httpd's scoreboard is
 * child-writable and the parent only writes it (parent_scoreboard.c).
 */
#ifndef PH_PARENT_H
#define PH_PARENT_H

#include "httpd.h"
#include "unixd.h"

#include "ph_child.h"
#include "ph_shm.h"

typedef struct ph_slot {
    pid_t pid;                  /* 0 = free */
    ph_child_type type;
    int env_index;              /* PH_CHILD_PROC: index in that generation */
    int mux_index;              /* PH_CHILD_MUX: its ticket partitions */
    int retiring;               /* asked to finish and exit (not counted
                                 * as alive any more) */
    apr_time_t reclaimed_at;    /* retired then to give its slot to
                                 * another environment (policy_slots.h);
                                 * 0: not */
    unsigned long cpu_ticks;    /* utime + stime at cpu_at (multiplexers) */
    apr_time_t cpu_at;
    ap_generation_t gen;
    apr_time_t started;
} ph_slot;

typedef struct ph_retained {
    ap_unixd_mpm_retained_data *mpm;
    ph_slot *slots;             /* ServerLimit entries, from ap_pglobal */
    int nslots;
    int max_slot_used;          /* highest slot ever used + 1 */
    ph_shm segment;             /* mapping kept across restarts (the
                                 * module's own statics are not: httpd
                                 * reloads it) */
    struct factory *old_factories; /* older generations' processor
                                 * factories still serving (malloc'd;
                                 * parent_factory.c) */
    struct ph_broker_gen *old_brokers; /* older generations' send-end
                                 * brokers, kept while a multiplexer of
                                 * theirs lives (malloc'd; parent_broker.c) */
} ph_retained;

extern ph_retained *ph_retained_state;

/* pre_config: find or create the retained state. */
void ph_retained_init(void);

/* The mpm hook: run one generation. */
int ph_parent_run(apr_pool_t *pconf, apr_pool_t *plog, server_rec *s);

/* The environments the maintenance pass looks at (parent_active.c).
 * ph_active_list: the active ones in ascending order (valid until the
 * next call of any of these); ph_active_keep_only: keep the first n of
 * that list where keep[i], and whatever was marked since. */
void ph_active_generation_start(apr_pool_t *pconf, int nenvs);
void ph_active_mark(int env_index);
int ph_active_list(const int **list);
void ph_active_keep_only(const unsigned char *keep, int n);

/* Fork a child of this generation into a free slot.  Returns the slot, or
 * -1 (logged) when no slot is free or fork failed. */
int ph_spawn_child(ph_child_type type, ph_env *env);

/* parent_channels.c: an environment's channel and answer channel are
 * made on first use.  Start of a generation: where they will be closed.
 * ph_channels_open: make env's (nothing if made), 0 or an errno (logged). */
void ph_channels_generation_start(apr_pool_t *pconf);
int ph_channels_open(ph_env *env);
/* Whether a connection waits in env's channel or answer channel. */
int ph_channels_waiting(const ph_env *env);
/* Close env's channels if nothing can use them: no processor since
 * last_processor (0: none this generation), no factory, nothing waiting,
 * for long enough (parent_channels.c).  Returns 1 if it closed them. */
int ph_channels_close_idle(ph_env *env, apr_time_t last_processor,
                           apr_time_t now);

/* Forget the child in slot (it has been reaped). */
void ph_slot_release(int slot);

/* The slot of pid, or -1. */
int ph_slot_of_pid(pid_t pid);

/* Called for each child reaped by ph_reclaim_children(). */
typedef void ph_reclaim_fn(int slot, pid_t pid, ap_generation_t gen);

/* Stop and hard restart: SIGTERM every child of the slot table, wait for
 * them (SIGTERM again, then SIGKILL, then give up after 10 s), calling
 * stopped() for each one reaped. */
void ph_reclaim_children(ph_reclaim_fn *stopped);

/* httpd's scoreboard, written and never read by the parent
 * (parent_scoreboard.c).  prepare: before fork, the slot's entries written
 * afresh for a new child of generation gen (prepare_process: the process
 * row alone, for a child a factory makes, whose workers write the
 * factory's image); started: after fork. */
void ph_scoreboard_slot_prepare(int slot, ap_generation_t gen);
void ph_scoreboard_slot_prepare_process(int slot, ap_generation_t gen);
void ph_scoreboard_slot_started(int slot, pid_t pid, ap_generation_t gen);
void ph_scoreboard_slot_quiescing(int slot);
void ph_scoreboard_slot_free(int slot);
void ph_scoreboard_set_generation(ap_generation_t gen);

/* The parent, right after pre_mpm made (or, at a hard restart, zeroed)
 * httpd's scoreboard, with no child writing it: its zeroed rows' pages
 * given back, to be allocated again by the first write
 * (scoreboard_trim.c). */
void ph_scoreboard_trim(void);

/* httpd's scoreboard in the parent (instead of running pre_mpm): at the
 * first start, without a ScoreBoardFile, a fresh image made on use, no
 * page of it written (factory_scoreboard.c); otherwise httpd's own
 * pre_mpm, then the trim.  The other pre_mpm hooks run either way; their
 * result (OK or an error) is returned. */
int ph_parent_scoreboard_make(server_rec *s, ap_generation_t gen);

/* post_config, before mod_ssl's: with ProcessorImage exec, SSLEngine off
 * for every server in the parent's mod_ssl, which so loads no key
 * (parent_tls_off.c). */
int ph_parent_tls_off(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                      server_rec *s);

#endif /* PH_PARENT_H */
