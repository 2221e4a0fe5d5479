/*
 * ph_shm.h -- the shared-memory segment library: create, restrict, map,
 * read, tickets, seqlocks.  No httpd headers.  The layout, who writes what
 * and who maps what writable are drawn in ph_shm_layout.h.
 *
 * Used by the MPM (parent: create, child slots, sweep; every child:
 * restrict, first thing after fork; multiplexers: tickets, counters;
 * processors: claim, counters), by pstat (read-only, through the snapshot
 * functions only) and by the tests.
 */
#ifndef PH_SHM_H
#define PH_SHM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ph_shm_layout.h"

#define PH_SHM_MAP_MAGIC 0x50484d50u    /* "PHMP" */

typedef struct ph_shm_geometry {
    uint32_t env_capacity;          /* environment records */
    uint32_t child_capacity;        /* child records (ServerLimit) */
    uint32_t mux_capacity;          /* multiplexer partitions */
    uint32_t tickets_per_partition;
} ph_shm_geometry;

/*
 * The layout of a segment, computed once (ph_shm_create from the
 * configuration, ph_shm_open_readonly from a checked header) and kept in
 * process memory: nothing finds a record through the mapped header.
 * Offsets are from the start of the mapping; r_* are inside an env region.
 */
typedef struct ph_shm_geom {
    uint32_t envs, children, muxes, tickets;    /* tickets per partition */
    uint32_t page;
    uint64_t env_off, child_off, main_size;     /* MAIN */
    uint64_t mux_off, mux_children_off, mux_demand_off, mux_used_off,
        mux_size;
    uint32_t demand_words;                      /* ceil(envs / 64), also
                                                 * of the used bits */
    uint64_t region_off, region_stride;         /* ENV REGIONS */
    uint64_t r_partition_off, r_head;           /* HEAD: env_stats, */
                                                /* partitions; pages */
    uint64_t r_children_off, r_ticket_off, r_size;  /* BODY */
    uint64_t total;
} ph_shm_geom;

/* What a process may write (ph_shm_restrict). */
typedef enum ph_shm_role {
    PH_SHM_ROLE_PARENT = 0,         /* everything (ph_shm_create) */
    PH_SHM_ROLE_MULTIPLEXER,        /* MUX and all ENV REGIONS */
    PH_SHM_ROLE_PROCESSOR,          /* its own ENV REGION */
    PH_SHM_ROLE_READER              /* nothing (ph_shm_open_readonly) */
} ph_shm_role;

/* A mapping of the segment in this process. */
typedef struct ph_shm {
    unsigned magic;                 /* PH_SHM_MAP_MAGIC while mapped */
    ph_shm_header *hdr;             /* start of the mapping: display
                                     * fields only, never the layout */
    size_t size;
    ph_shm_geom geom;               /* private copy (see above) */
    ph_shm_role role;
    uint32_t own_env;               /* PROCESSOR: the writable region */
    int own_only;                   /* PROCESSOR attached without views:
                                     * no other env region is mapped */
    char *path;                     /* PARENT only (malloc'd), else NULL:
                                     * ph_shm_restrict re-opens the files
                                     * read-only by it */
    dev_t dev;                      /* identity of the file mapped, to */
    ino_t ino;                      /* notice a restart (new file) */
} ph_shm;

/* ---- segment ------------------------------------------------------- */

/*
 * Create the segment at path (replacing any old one), size it for g, map
 * it read-write and fill the header.  It is one file per writer: path
 * holds MAIN and MUX; ENV REGION e is the file "<path>.i<ino>.e<e>" (ino:
 * the inode of the file at path), one region long (ph_shm_layout.h says
 * why).  The files are owned by the caller (root) and group monitor_gid
 * (pass (gid_t)-1 to keep the caller's), mode 0640: root writes them
 * through the mapping, the monitoring group may read them.  No descriptor
 * stays open; the creator keeps path, for ph_shm_restrict in its forked
 * children to re-open the files read-only.  Returns 0 or an errno value.
 */
int ph_shm_create(ph_shm *shm, const char *path, const ph_shm_geometry *g,
                  gid_t monitor_gid);

/* The creator: unlink the env region files of the segment it created
 * (before unmapping it: a restart's old segment, or at stop); nothing for
 * any other mapping.  Who still maps them keeps them until it unmaps or
 * exits. */
void ph_shm_unlink_env_files(const ph_shm *shm);

/* The creator, before it forks env's first processor (again later is a
 * no-op): reserve the pages of ENV REGION env's BODY (its processors'
 * figures and its tickets) on tmpfs, which only its HEAD had at creation.
 * Returns 0 or an errno value (ENOSPC: the tmpfs is full; the child
 * would have died of SIGBUS on its first write there). */
int ph_shm_env_reserve(const ph_shm *shm, uint32_t env);

/* Bytes a segment of geometry g takes (for messages and tests). */
uint64_t ph_shm_size_for(const ph_shm_geometry *g);

/*
 * In a child forked from the creator, before it runs anything else and
 * while still root: keep writable only what `role` writes (a PROCESSOR:
 * ENV REGION `env`), and replace every other part of the mapping by a
 * read-only mapping of its file, re-opened O_RDONLY by path (the main
 * file must still be the same inode) and closed once mapped.  Returns 0,
 * or an errno value (the mapping is then unusable: the caller must exit).
 */
int ph_shm_restrict(ph_shm *shm, ph_shm_role role, uint32_t env);

/* Give up the creator's means to restrict (its copy of the path) without
 * changing the mapping (a child that keeps the parent's rights, e.g. in
 * tests). */
void ph_shm_close_fds(ph_shm *shm);

/*
 * Map an existing segment read-only and validate it: magic, a layout
 * major this code knows, record sizes; the geometry is recomputed from
 * the capacities and page size and every offset compared, the main
 * file's size checked against it; then every env region's file is mapped
 * read-only at its offset, each of exactly one region's size (EAGAIN if
 * they were replaced meanwhile: a restart).  Returns 0, or an errno value with a
 * sentence in err (e.g. "no server running: /run/apache2/peruser.shm does
 * not exist", "permission denied: ... (is your user in the monitoring
 * group?)", "layout 6.0 is newer than this pstat understands (5.x)").
 */
int ph_shm_open_readonly(ph_shm *shm, const char *path, char *err,
                         size_t errlen);

/*
 * A process that was not forked from the creator (an environment's
 * processor factory, exec'd by the parent): map the main file of the
 * segment at path read-only, validated as ph_shm_open_readonly does, then
 * ENV REGION env read-write from its file, re-opened O_RDWR (the caller
 * must be allowed to: root).  The other environments' regions are mapped
 * only with see_all (read-only views, as a reader's: the StatusEnvironment
 * shows every environment); without it they stay unmapped address space
 * (PROT_NONE, backed by nothing): a tenant's code can neither read other
 * tenants' figures nor write them, and the factory opens two files, not
 * one per environment.  Role PROCESSOR, no descriptor kept, nothing else
 * writable.  expect_ino, if not 0, is the inode the main file must have
 * (the generation the caller was started for; ESTALE otherwise).  Returns
 * 0, or an errno value with a sentence in err.
 */
int ph_shm_attach_processor(ph_shm *shm, const char *path, uint32_t env,
                            int see_all, ino_t expect_ino, char *err,
                            size_t errlen);

/*
 * The multiplexers' factory (exec'd by the parent, front_main.c): map the
 * main file of the segment at path read-only (validated as
 * ph_shm_open_readonly does), then MUX and every ENV
 * REGION read-write from their files, re-opened O_RDWR (root only).  The
 * result is what ph_shm_restrict(MULTIPLEXER) gives a forked child: role
 * MULTIPLEXER, MAIN read-only, no descriptor kept.  expect_ino as for
 * ph_shm_attach_processor.  Returns 0, or an errno value with a sentence
 * in err.
 */
int ph_shm_attach_multiplexer(ph_shm *shm, const char *path, ino_t expect_ino,
                              char *err, size_t errlen);

/* 1 if the file at path is no longer the segment mapped (the server was
 * restarted or stopped), else 0. */
int ph_shm_replaced(const ph_shm *shm, const char *path);

void ph_shm_unmap(ph_shm *shm);

/* ---- records ---------------------------------------------------------
 * Every index is checked against the private geometry: NULL if out of
 * range, or in an env region this process does not map (own_only).  A
 * non-const pointer does not mean the page is writable in this process
 * (see ph_shm_restrict). */

ph_shm_env *ph_shm_env_at(const ph_shm *shm, uint32_t env);
ph_shm_env_stats *ph_shm_env_stats_at(const ph_shm *shm, uint32_t env);
ph_shm_child *ph_shm_child_at(const ph_shm *shm, uint32_t slot);
/* Figures of slot in env's region (a processor of env) ... */
ph_shm_child_stats *ph_shm_proc_stats_at(const ph_shm *shm, uint32_t env,
                                         uint32_t slot);
/* ... or in the MUX region (a multiplexer). */
ph_shm_child_stats *ph_shm_mux_stats_at(const ph_shm *shm, uint32_t slot);
ph_shm_mux_area *ph_shm_mux_area_at(const ph_shm *shm);
ph_shm_partition *ph_shm_partition_at(const ph_shm *shm, uint32_t mux,
                                      uint32_t env);
ph_shm_ticket *ph_shm_ticket_at(const ph_shm *shm, uint32_t mux,
                                uint32_t env, uint32_t index);

/* The figures of the child MAIN says is in slot (its type and env taken
 * from MAIN, which only the parent writes), or NULL for a free slot or an
 * identity that names nothing. */
ph_shm_child_stats *ph_shm_child_stats_of(const ph_shm *shm, uint32_t slot);

/* ---- seqlock --------------------------------------------------------- */

void ph_shm_seq_write_begin(_Atomic uint32_t *seq);
void ph_shm_seq_write_end(_Atomic uint32_t *seq);
uint32_t ph_shm_seq_read_begin(const _Atomic uint32_t *seq);
/* 1 if the read that began at `start` must be retried. */
int ph_shm_seq_read_retry(const _Atomic uint32_t *seq, uint32_t start);

/* ---- snapshots (what pstat and mod_status read) ----------------------- */

typedef struct ph_shm_env_snapshot {
    uint32_t index;
    int in_use;
    char name[PH_SHM_NAME_MAX];
    uint32_t uid, gid;
    uint32_t min_processors, max_processors, threads_per_child;
    uint32_t wait_timeout_ms, wait_levels;
    uint64_t connections, requests;
    uint64_t dropped_timeout, dropped_channel;
    uint64_t misdirected;
    int32_t queue_depth, idle_workers, in_flight;
    uint32_t avail, demand, processors;
    uint32_t numa_failures;
    uint64_t bytes_sent, responses_4xx, responses_5xx;
    uint32_t cgroup_failures;
    int64_t oldest_wait_ms;         /* age of the oldest waiting connection
                                     * over all multiplexers; 0 = none */
} ph_shm_env_snapshot;

typedef struct ph_shm_child_snapshot {
    uint32_t slot;
    uint32_t type, status, generation, threads;
    int32_t pid, env_index, numa_node;
    uint32_t numa_failed;           /* PH_NUMA_FAILED_* */
    uint32_t cgroup_failed;         /* 1: could not join its cgroups */
    uint64_t alloc_allocated;       /* jemalloc figures, 0: none */
    uint64_t alloc_resident;        /* (untrusted display values) */
    int32_t busy_threads, idle_threads;
    int32_t room;                   /* connections it will still take */
    uint64_t requests, connections;
    uint64_t bytes_sent, responses_4xx, responses_5xx;
    int64_t last_used_ms, started_us;
} ph_shm_child_snapshot;

/* Consistent copies (seqlock retried, bounded: returns -1 if a writer
 * kept the record busy for too long, else 0).  now_ms: monotonic clock,
 * for oldest_wait_ms. */
int ph_shm_env_snapshot_get(const ph_shm *shm, uint32_t env, int64_t now_ms,
                            ph_shm_env_snapshot *out);
int ph_shm_child_snapshot_get(const ph_shm *shm, uint32_t slot,
                              ph_shm_child_snapshot *out);

/* Server-wide: 503s for virtual hosts without an environment. */
uint64_t ph_shm_dropped_noenv(const ph_shm *shm);

/* Clamp a figure read from a region a child can write to lo..hi. */
static inline int32_t ph_shm_clamp(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* ---- tickets ----------------------------------------------------------- */

typedef struct ph_ticket_ref {
    uint32_t mux, env, index;
    uint64_t gen;
} ph_ticket_ref;

/* Allocate a FREE ticket of partition (mux, env), the lowest: FREE|g ->
 * FILLING|g, recording pid as allocator and as the partition's owner
 * (ph_shm_partition_own).  Returns 0, or -1 if the partition has no FREE
 * ticket. */
int ph_ticket_alloc(const ph_shm *shm, uint32_t mux, uint32_t env,
                    pid_t pid, ph_ticket_ref *out);

/* A multiplexer, before it first writes partition (mux, env): record pid
 * as its owner (the parent's sweep of a dead multiplexer resets what it
 * owned), and, the first time, env in the MUX region's used bits (the
 * regions that sweep looks at).  Nothing for indices outside the
 * geometry. */
void ph_shm_partition_own(const ph_shm *shm, uint32_t mux, uint32_t env,
                          pid_t pid);

/* Partition (mux, env)'s high water mark, clamped to its size: tickets at
 * and above it are FREE (0 for indices outside the geometry). */
uint32_t ph_shm_partition_used(const ph_shm *shm, uint32_t mux,
                               uint32_t env);

/* FILLING|g -> READY|g with ready_at_ms; counts it in env.in_flight.
 * Returns 0, or -1 if the ticket is not FILLING|g any more (swept). */
int ph_ticket_publish(const ph_shm *shm, const ph_ticket_ref *t,
                      int64_t now_ms);

/* The allocator takes a ticket back (the handoff failed): FILLING|g or
 * READY|g -> FREE|g+1 (in_flight adjusted).  Returns 0 or -1 (stale). */
int ph_ticket_retract(const ph_shm *shm, const ph_ticket_ref *t);

/* READY|g -> CLAIMED|g by pid (in_flight decremented).  Returns 0, or -1
 * for a stale or unknown ticket (out-of-range fields included).  Takes
 * claim_pid by CAS from 0 first (see ph_shm_layout.h); a duplicate
 * reference being claimed concurrently is waited for briefly, then -1. */
int ph_ticket_claim(const ph_shm *shm, const ph_ticket_ref *t, pid_t pid);

/* CLAIMED|g -> FREE|g+1.  Returns 0 or -1 (stale). */
int ph_ticket_release(const ph_shm *shm, const ph_ticket_ref *t);

/* Parent, after reaping pid, in ENV REGION env only (a dead processor
 * could write its own region only; for a dead multiplexer call it for
 * every env): FILLING/READY tickets it allocated, READY tickets whose
 * claim it had begun and CLAIMED tickets it claimed -> FREE|g+1
 * (in_flight repaired); a partition it owned is reset (pending and oldest
 * wait cleared, the env's queue_depth repaired).  Returns the number of tickets freed. */
unsigned ph_ticket_sweep_env(const ph_shm *shm, uint32_t env, pid_t pid);

/* Channel message encoding of a ticket (mux and index in one word). */
uint64_t ph_ticket_id(const ph_ticket_ref *t);
void ph_ticket_from_id(uint64_t id, uint64_t gen, uint32_t env,
                       ph_ticket_ref *out);

/* ---- child slots (the parent) ------------------------------------------- */

/* Before the fork: slot's identity in MAIN (a PROCESSOR of env, or a
 * MULTIPLEXER with env -1), pid 0, and its figures reset to STARTING.
 * Returns 0, or -1 for an index outside the geometry. */
int ph_shm_child_prepare(const ph_shm *shm, uint32_t slot, uint32_t type,
                         int32_t env, uint32_t generation, int64_t started_us);

/* After the fork: its pid. */
void ph_shm_child_forked(const ph_shm *shm, uint32_t slot, pid_t pid);
/* Parent, before the fork: the NUMA node the child is to bind itself to
 * (-1: none). */
void ph_shm_child_placed(const ph_shm *shm, uint32_t slot, int32_t node);

/* After reaping pid from slot: sweep its tickets in the regions it could
 * write (a processor: its env's; a multiplexer: those of the environments
 * a multiplexer used this generation, by the MUX region's used bits), take its idle
 * threads (clamped to 0..max_threads) off its own env's idle_workers, reset
 * its figures and free the slot in MAIN.  Type and env come from MAIN.
 * Returns the number of tickets freed. */
unsigned ph_shm_child_reaped(const ph_shm *shm, uint32_t slot, pid_t pid,
                             int32_t max_threads);

/* ---- the processors' index (shm_index.c) -------------------------------
 * Each environment's processors as a chain through the child records of
 * MAIN, written by the parent only.  ph_shm_child_prepare links a
 * processor's slot (after writing its identity) and ph_shm_child_reaped
 * unlinks it (before clearing it); the functions are public for the
 * tests. */

/* Link slot (whose identity says PROCESSOR of env) first in env's chain.
 * Returns 0, or -1 for an index outside the geometry. */
int ph_shm_index_link(const ph_shm *shm, uint32_t slot, uint32_t env);

/* Unlink slot from env's chain.  Returns 0, or -1 if it was not there. */
int ph_shm_index_unlink(const ph_shm *shm, uint32_t slot, uint32_t env);

/* Copy env's chain into slots[room] (a consistent copy: retried while the
 * parent changes it, a few times).  Returns the number of slots, or -1 if
 * it could not be read consistently or is wrong (a slot beyond the
 * geometry, a loop, more than room entries): the caller then looks at
 * every slot.  Each slot named must still be checked (type, env,
 * generation): the chain is a hint, the records are the truth. */
int ph_shm_index_read(const ph_shm *shm, uint32_t env, uint32_t *slots,
                      uint32_t room);

/* ---- coordination counters --------------------------------------------- */

/* AVAIL: add delta (may be negative), clamped to 0..100, by CAS; returns
 * the new AVAIL. */
uint32_t ph_shm_avail_adjust(ph_shm_env_stats *env, int delta);

/* AVAIL, 0..100 (stored as 100 - AVAIL: the zero-filled file is 100). */
uint32_t ph_shm_avail(const ph_shm_env_stats *env);

/* Raise spawn demand by one unless it already reaches `limit` (CAS).
 * Returns 1 if raised. */
int ph_shm_demand_raise(ph_shm_env_stats *env, uint32_t limit);

/* A multiplexer, after raising env's demand: flag env in the MUX
 * region's demand bits, so that the parent looks at the demand of the
 * environments flagged only, not at a page of every region each pass. */
void ph_shm_demand_flag(const ph_shm *shm, uint32_t env);

/* The parent: take (and clear) word `word` of the demand bits, bit b
 * standing for environment 64 * word + b; 0 for a word beyond the
 * geometry (geom.demand_words). */
uint64_t ph_shm_demand_flags_take(const ph_shm *shm, uint32_t word);

/* The pending demand, clamped to `limit`, left in place (parent). */
uint32_t ph_shm_demand_peek(const ph_shm_env_stats *env, uint32_t limit);

/* Take n units of demand back (parent, once it has forked for them):
 * what is pending is first clamped to `limit` (a value above it was
 * written by a processor, and is repaired), never below 0 (CAS).  Demand stays visible while the parent forks, so a
 * multiplexer that looks in between (no processor starting yet) does not
 * ask for one more: its demand_raise finds the limit already reached. */
void ph_shm_demand_settle(ph_shm_env_stats *env, uint32_t n, uint32_t limit);

#endif /* PH_SHM_H */
