/*
 * ph_shm_layout.h -- the layout of the shared-memory segment.
 *
 * One file on tmpfs, created and sized by the parent before it forks,
 * mapped MAP_SHARED by every child (which keep it after dropping
 * privileges) and read-only by pstat.  No httpd headers: this library is
 * used by the MPM, pstat and the tests alike.
 *
 *   +-------------------+ 0
 *   | ph_shm_header     |
 *   +-------------------+ header.env_offset
 *   | ph_shm_env [E]    |  E = header.env_capacity
 *   +-------------------+ header.child_offset
 *   | ph_shm_child [C]  |  C = header.child_capacity (ServerLimit)
 *   +-------------------+ header.partition_offset
 *   | ph_shm_partition  |  M x E partitions, M = header.mux_capacity;
 *   |   [M][E]          |  partition (m, e) at index m * E + e
 *   +-------------------+ header.ticket_offset
 *   | ph_shm_ticket     |  T tickets per partition, T =
 *   |   [M][E][T]       |  header.tickets_per_partition
 *   +-------------------+ header.total_size
 *
 * WHO WRITES WHAT
 *   header       the parent (at creation; generation and env_count on
 *                restart); dropped_noenv: multiplexers.  Readers: all.
 *   env identity the parent, under the record's seqlock (seq), at the
 *                start of each generation.
 *   env counters atomics with many writers: multiplexers (connections,
 *                dropped_*, queue_depth, avail, in_flight, demand) and
 *                the environment's processors (requests, misdirected,
 *                idle_workers, in_flight).  The parent repairs
 *                idle_workers and in_flight when it reaps a child.
 *   child        the parent while the slot is free or its child has been
 *                reaped; the child itself (its main thread, under seq)
 *                while it lives.  Counters busy/idle/requests are atomics
 *                updated by the child's threads.
 *   partition    its multiplexer (pending, oldest_wait_since_ms, avail
 *                bookkeeping); the parent when sweeping a dead one.
 *   ticket       see the life cycle below.
 *
 * TICKET LIFE CYCLE (state and generation in one 64-bit word, changed only
 * by compare-and-swap; generation grows by one every time a slot returns
 * to FREE, so a ticket number held by anyone from before that is stale):
 *
 *        alloc (its mux)         publish (its mux)      claim (processor)
 *   FREE|g ------------> FILLING|g ------------> READY|g -------------> CLAIMED|g
 *     ^                     |                       |                      |
 *     |   sweep (parent)    |   sweep (parent)      |    release           |
 *     +---------------------+-----------------------+---(processor)--------+
 *                  all go to FREE|g+1
 *
 *   - Only partition (m, e)'s multiplexer allocates from it: no shared
 *     ring index exists that a dying process could leave wedged.
 *   - alloc records alloc_pid (and clears claim_pid) before its CAS.
 *     claim takes claim_pid by CAS from 0 before its CAS and gives it back
 *     by CAS if its own CAS fails: a claimer holding a stale reference can
 *     then never overwrite the pid of the processor that claimed the
 *     slot's current incarnation (a plain store could, and that CLAIMED
 *     slot would never be swept when its real claimer died).  The
 *     parent's sweep of a dead pid frees FILLING/READY slots it allocated,
 *     READY slots whose claim_pid it held (it died between the two CASes,
 *     having received the message) and CLAIMED slots it claimed.
 *   - Generations start at PH_TICKET_GEN_FIRST (1): generation 0 never
 *     names a ticket, so a channel message can use it for "none".
 *   - A claim CAS fails for a stale generation (the slot was swept or
 *     reused): the claimer still serves the connection it received from
 *     the kernel, but does not account it twice.
 *
 * AUTHORITY: nothing here decides who is served as whom.  Any environment
 * can write this segment; everything read from it is advisory, validated
 * and bounded by its reader.
 *
 * MEMORY ORDER: state words use acq_rel CAS; a reader that sees READY|g
 * sees the fields written before publish (release).  Seqlocks: writer
 * increments seq to odd (release fence after), writes, increments to even
 * (release); reader retries while seq is odd or changed.
 */
#ifndef PH_SHM_LAYOUT_H
#define PH_SHM_LAYOUT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define PH_SHM_MAGIC         0x5048534du     /* "PHSM" */
#define PH_SHM_LAYOUT_MAJOR  1u              /* incompatible changes */
#define PH_SHM_LAYOUT_MINOR  1u              /* compatible additions:
                                              * 1: child.room */
#define PH_SHM_NAME_MAX      64              /* environment name, NUL incl. */

/* ticket states (low 8 bits of the word) */
#define PH_TICKET_FREE     0u
#define PH_TICKET_FILLING  1u
#define PH_TICKET_READY    2u
#define PH_TICKET_CLAIMED  3u

#define PH_TICKET_WORD(gen, state) (((uint64_t)(gen) << 8) | (state))
#define PH_TICKET_STATE(word)      ((unsigned)((word) & 0xffu))
#define PH_TICKET_GEN(word)        ((word) >> 8)
#define PH_TICKET_GEN_FIRST        1u     /* of every slot, at creation */

/* child types and statuses (the peruser guide's words) */
#define PH_CHILD_TYPE_NONE         0u
#define PH_CHILD_TYPE_MULTIPLEXER  1u
#define PH_CHILD_TYPE_PROCESSOR    2u

#define PH_CHILD_STANDBY   0u       /* free, dying or dead */
#define PH_CHILD_STARTING  1u
#define PH_CHILD_READY     2u       /* idle */
#define PH_CHILD_ACTIVE    3u       /* handling requests: never stored;
                                     * snapshots report it for a READY
                                     * child with busy threads */

typedef struct ph_shm_header {
    uint32_t magic;
    uint16_t layout_major;
    uint16_t layout_minor;
    uint32_t header_size;           /* sizeof(ph_shm_header) */
    uint32_t env_record_size;       /* sizeof(ph_shm_env) */
    uint32_t child_record_size;     /* sizeof(ph_shm_child) */
    uint32_t partition_size;        /* sizeof(ph_shm_partition) */
    uint32_t ticket_size;           /* sizeof(ph_shm_ticket) */
    uint32_t env_capacity;
    uint32_t child_capacity;
    uint32_t mux_capacity;
    uint32_t tickets_per_partition;
    uint32_t _reserved0;
    uint64_t env_offset;
    uint64_t child_offset;
    uint64_t partition_offset;
    uint64_t ticket_offset;
    uint64_t total_size;
    int64_t creator_pid;
    int64_t birth_time_us;          /* wall clock, for display */
    _Atomic uint64_t generation;    /* httpd generation (restarts) */
    _Atomic uint32_t env_count;     /* records in use this generation */
    uint32_t _reserved1;
    /* 503s for virtual hosts that have no environment (server-wide: such
     * a request belongs to no environment record).  Writers: muxes. */
    _Atomic uint64_t dropped_noenv;
} ph_shm_header;

typedef struct ph_shm_env {
    _Atomic uint32_t seq;           /* seqlock over the identity fields */
    uint32_t in_use;                /* 1 = an environment this generation */
    char name[PH_SHM_NAME_MAX];
    uint32_t uid;
    uint32_t gid;
    uint32_t min_processors;
    uint32_t max_processors;
    uint32_t threads_per_child;
    uint32_t wait_timeout_ms;       /* ProcessorWaitTimeout */
    uint32_t wait_levels;
    uint32_t _reserved0;
    /* counters: atomics, many writers (see top of file) */
    _Atomic uint64_t connections;       /* handed to the environment */
    _Atomic uint64_t requests;          /* served by its processors */
    _Atomic uint64_t dropped_timeout;   /* 503: no capacity in time */
    _Atomic uint64_t dropped_channel;   /* 503: channel error */
    uint64_t _reserved2;                /* was: see header.dropped_noenv */
    _Atomic uint64_t misdirected;       /* 421 answered */
    _Atomic int32_t queue_depth;        /* waiting in multiplexers */
    _Atomic int32_t idle_workers;       /* idle threads of its processors */
    _Atomic int32_t in_flight;          /* READY tickets, not yet claimed */
    _Atomic uint32_t avail;             /* AVAIL, 0..100 */
    _Atomic uint32_t demand;            /* processors wanted (spawn) */
    _Atomic uint32_t processors;        /* alive (parent writes) */
    uint64_t _reserved1[4];
} ph_shm_env;

typedef struct ph_shm_child {
    _Atomic uint32_t seq;           /* seqlock over identity and status */
    uint32_t type;                  /* PH_CHILD_TYPE_* */
    int32_t pid;                    /* 0 = free */
    uint32_t generation;
    int32_t env_index;              /* PROCESSOR: its environment; -1 */
    uint32_t status;                /* PH_CHILD_* */
    int32_t numa_node;              /* -1 = not pinned */
    uint32_t threads;               /* worker threads */
    _Atomic int32_t busy_threads;
    _Atomic int32_t idle_threads;
    _Atomic uint64_t requests;      /* served by this child */
    _Atomic uint64_t connections;   /* taken by this child */
    _Atomic int64_t last_used_ms;   /* monotonic ms of last request */
    int64_t started_us;             /* wall clock */
    /* Connections it will still take (AsyncRequestWorkerFactor limit
     * minus those it holds); written by its listener thread.  Since
     * layout 1.1; 0 in 1.0 segments. */
    _Atomic int32_t room;
    uint32_t _reserved0;
    uint64_t _reserved1;
} ph_shm_child;

typedef struct ph_shm_partition {
    _Atomic int32_t pending;        /* connections its mux holds waiting */
    _Atomic uint32_t mux_pid;       /* owner, 0 = none */
    _Atomic int64_t oldest_wait_since_ms;  /* monotonic ms; 0 = none */
    _Atomic uint32_t next_hint;     /* where to look for a FREE ticket */
    uint32_t _reserved0;
    uint64_t _reserved1[2];
} ph_shm_partition;

typedef struct ph_shm_ticket {
    _Atomic uint64_t word;          /* PH_TICKET_WORD(gen, state) */
    _Atomic int32_t alloc_pid;      /* multiplexer that allocated it */
    _Atomic int32_t claim_pid;      /* processor that claimed it */
    _Atomic int64_t ready_at_ms;    /* monotonic ms when published */
} ph_shm_ticket;

/* A layout change without a version bump must not compile. */
_Static_assert(sizeof(ph_shm_header) == 128, "bump PH_SHM_LAYOUT_MAJOR");
_Static_assert(offsetof(ph_shm_header, generation) == 104,
               "bump PH_SHM_LAYOUT_MAJOR");
_Static_assert(sizeof(ph_shm_env) == 208, "bump PH_SHM_LAYOUT_MAJOR");
_Static_assert(offsetof(ph_shm_env, connections) == 104,
               "bump PH_SHM_LAYOUT_MAJOR");
_Static_assert(sizeof(ph_shm_child) == 88, "bump PH_SHM_LAYOUT_MAJOR");
_Static_assert(sizeof(ph_shm_partition) == 40, "bump PH_SHM_LAYOUT_MAJOR");
_Static_assert(sizeof(ph_shm_ticket) == 24, "bump PH_SHM_LAYOUT_MAJOR");

#endif /* PH_SHM_LAYOUT_H */
