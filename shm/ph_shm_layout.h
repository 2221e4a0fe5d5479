/*
 * ph_shm_layout.h -- the layout of the shared-memory segment.
 *
 * Files on tmpfs, created and sized by the parent before it forks, new
 * ones for every generation (a graceful restart heals whatever the last
 * generation's children wrote).  The address range is cut into REGIONS BY
 * WRITER, each starting on a page boundary so that the kernel's page
 * protection is the boundary between writers, and EACH WRITABLE UNIT IS
 * ITS OWN FILE AND ENDS AT ITS FILE'S END (below):
 *
 *   +--------------------------+ 0            file <path>
 *   | MAIN (writer: parent)    |  ph_shm_header
 *   |                          |  ph_shm_env   [E]   identities, limits
 *   |                          |  ph_shm_child [C]   slot -> type, pid,
 *   |                          |                     generation, env
 *   +--------------------------+ mux_offset (page aligned)
 *   | MUX (parent, muxes)      |  ph_shm_mux_area    dropped_noenv
 *   |                          |  ph_shm_child_stats [C]  muxes' figures
 *   |                          |  uint64 demand bits [ceil(E/64)]
 *   |                          |  uint64 used bits   [ceil(E/64)]
 *   +--------------------------+ region_offset = end of <path>
 *   | ENV REGION 0             |  HEAD (page aligned, reserved at creation)
 *   | (parent, muxes, env 0's  |  ph_shm_env_stats         counters
 *   |  processors)             |  ph_shm_partition [M]     (mux m, env 0)
 *   |  file <path>.i<ino>.e0   |  BODY (reserved on use, below)
 *   |                          |  ph_shm_child_stats [C]   its processors'
 *   |                          |                           figures, by slot
 *   |                          |  ph_shm_ticket [M][T]
 *   +--------------------------+ region_offset + region_stride
 *   | ENV REGION 1 ... E-1     |  files <path>.i<ino>.e1 ... .e<E-1>
 *   +--------------------------+ total_size
 *
 * PAGES ON USE (layout 5.0, issue 13): every file is sized at creation
 * but only MAIN, MUX and each region's HEAD are reserved on tmpfs then
 * (posix_fallocate), and the parent writes nothing into a region at
 * creation: every "nothing" is all-zero bytes (tickets FREE|1 through the
 * biased generation of PH_TICKET_WORD, AVAIL 100 stored as unavail 0).
 * A region's BODY is reserved by the parent before it forks env's first
 * processor (ph_shm_env_reserve), so a full tmpfs fails there and not as
 * a SIGBUS in a child.  Nothing scans every environment: tickets are
 * allocated first-fit and looked at only below their partition's high
 * water mark (`used`), so the pages a region has touched are its HEAD and
 * those its processors and handoffs in flight needed.
 *
 * <ino> is the inode of the file at <path> (unique while it exists; a
 * reader takes it from its fstat).  Every process reserves total_size
 * bytes of address space and maps each file MAP_FIXED at its offset, so
 * that base + offset finds every record, as if it were one file.
 *
 * WHY ONE FILE PER WRITABLE UNIT: a writable MAP_SHARED mapping can be
 * grown with mremap (MREMAP_MAYMOVE, or a larger copy with old_size 0)
 * into a new read-write mapping of whatever follows it IN ITS FILE, and
 * mprotect does not stand in the way (the mapping came from an O_RDWR
 * description).  In one file, a processor of X would reach env X+1's
 * region that way.  Each unit ending at its file's end, growth reaches
 * only past the end (SIGBUS).  MUX is last in the main file for the same
 * reason: a multiplexer growing it reaches nothing, and MAIN stays
 * read-only for it.
 *
 * WHO MAPS WHAT WRITABLE (ph_shm_restrict, right after fork, while still
 * root; the read-only views are MAP_SHARED mappings of descriptors opened
 * O_RDONLY by path and closed once mapped, so mprotect(PROT_WRITE) fails
 * with EACCES and a write through /proc/self/mem fails too: such a
 * mapping has no VM_MAYWRITE)
 *   parent          everything
 *   multiplexer     MUX and every ENV REGION; MAIN read-only
 *   processor of X  ENV REGION X; everything else read-only
 *   pstat, tests    everything read-only (ph_shm_open_readonly)
 * No descriptor of any of the files stays open in any process (the
 * parent re-opens nothing: its children re-open by path).

 * TRUST
 *   - Geometry (capacities, offsets, sizes) is computed once: by the
 *     parent from its configuration, by a reader from the header's four
 *     capacities and page size, checked field by field against the header
 *     and against the files' sizes.  It is kept in the process's ph_shm
 *     (children inherit the parent's copy through fork) and no address is
 *     ever computed from the mapped header again.
 *   - MAIN is written by the parent only, so identities (uid, gid, limits,
 *     which slot is which env's processor) are as trustworthy as the
 *     parent.  The parent itself keeps them privately (ph_env) and never
 *     reads them back.
 *   - Everything in an ENV REGION X may have been written by a hostile
 *     processor of X.  The figures of slot s in region X count only if
 *     MAIN says slot s is a processor of X.  Readers bound every index and
 *     clamp every figure; the parent reads region X only for X's own
 *     children, clamps to X's private limits and acts only on X.
 *
 * WHO WRITES WHAT, FIELD BY FIELD
 *   header       the parent (at creation; generation and env_count).
 *   env          the parent, under the record's seqlock (seq), before the
 *                generation's children start; processors (alive): parent.
 *   child        the parent: at fork (identity, pid) and after the reap.
 *   index        env first_proc, child next_proc: the parent, under the
 *                env's procs_seq: a slot is linked after its identity is
 *                written (prepare) and unlinked before it is cleared
 *                (reap) or given to another env (shm_index.c).
 *   env_stats    atomics: multiplexers (connections, dropped_*,
 *                queue_depth, avail, in_flight, demand) and X's processors
 *                (requests, misdirected, idle_workers, in_flight).  The
 *                parent repairs idle_workers and in_flight after a reap.
 *   child_stats  the child of that slot while it lives (status, threads:
 *                its main thread; counters: its threads); the parent
 *                before the fork and after the reap.
 *   mux_area     multiplexers (dropped_noenv).
 *   demand bits  bit e: a multiplexer raised env e's demand (set by it,
 *                release); the parent takes each word by exchange and
 *                reads the demand of those environments only.
 *   used bits    bit e: a multiplexer used a partition of env e this
 *                generation (set before its first write there); the
 *                parent's sweep of a dead multiplexer looks at those
 *                regions only.  Never cleared within a generation.
 *   partition    its multiplexer (pending, oldest_wait_since_ms, used,
 *                mux_pid: set on its first use, not at its start); the
 *                parent when sweeping a dead one.  `used` is a high
 *                water mark: tickets at and above it are FREE; readers
 *                clamp it to T (X's processors can write it: a wrong
 *                one only hides X's own tickets from X's accounting).
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
 *     having received the message) and CLAIMED slots it claimed -- in the
 *     regions the dead child could write only.
 *   - Generations start at PH_TICKET_GEN_FIRST (1): generation 0 never
 *     names a ticket, so a channel message can use it for "none".  The
 *     word holds the generation minus 1, so that the zero-filled file is
 *     FREE|1 everywhere without the parent writing (touching) a page.
 *   - A claim CAS fails for a stale generation (the slot was swept or
 *     reused): the claimer still serves the connection it received from
 *     the kernel, but does not account it twice.
 *
 * AUTHORITY: nothing here decides who is served as whom.
 *
 * MEMORY ORDER: state words use acq_rel CAS; a reader that sees READY|g
 * sees the fields written before publish (release).  Seqlocks: writer
 * increments seq to odd (release fence after), writes, increments to even
 * (release); reader retries while seq is odd or changed.  A child's
 * status is stored with release after its threads figure.
 */
#ifndef PH_SHM_LAYOUT_H
#define PH_SHM_LAYOUT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define PH_SHM_MAGIC         0x5048534du     /* "PHSM" */
#define PH_SHM_LAYOUT_MAJOR  5u              /* incompatible changes:
                                              * 2: regions by writer
                                              * 3: one file per writer
                                              *    (records as in 2)
                                              * 4: bytes and 4xx/5xx
                                              *    counters (env, child),
                                              *    cgroup and allocator
                                              *    figures
                                              * 5: region HEAD first,
                                              *    zero is "nothing" */
#define PH_SHM_LAYOUT_MINOR  1u              /* compatible additions:
                                              * 1: the processors' index
                                              *    (env first_proc, child
                                              *    next_proc) */
#define PH_SHM_NAME_MAX      64              /* environment name, NUL incl. */

/* ticket states (low 8 bits of the word) */
#define PH_TICKET_FREE     0u
#define PH_TICKET_FILLING  1u
#define PH_TICKET_READY    2u
#define PH_TICKET_CLAIMED  3u

/* The word holds gen - 1: a zero word is FREE|PH_TICKET_GEN_FIRST. */
#define PH_TICKET_WORD(gen, state) \
    ((((uint64_t)(gen) - 1u) << 8) | (uint64_t)(state))
#define PH_TICKET_STATE(word)      ((unsigned)((word) & 0xffu))
#define PH_TICKET_GEN(word)        (((uint64_t)(word) >> 8) + 1u)
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
    uint32_t env_stats_size;        /* sizeof(ph_shm_env_stats) */
    uint32_t child_record_size;     /* sizeof(ph_shm_child) */
    uint32_t child_stats_size;      /* sizeof(ph_shm_child_stats) */
    uint32_t mux_area_size;         /* sizeof(ph_shm_mux_area) */
    uint32_t partition_size;        /* sizeof(ph_shm_partition) */
    uint32_t ticket_size;           /* sizeof(ph_shm_ticket) */
    uint32_t env_capacity;
    uint32_t child_capacity;
    uint32_t mux_capacity;
    uint32_t tickets_per_partition;
    uint32_t page_size;             /* regions start on multiples of it */
    uint32_t _reserved0;
    /* Derived from the above (a reader recomputes and compares them). */
    uint64_t env_offset;            /* MAIN: ph_shm_env[E] */
    uint64_t child_offset;          /* MAIN: ph_shm_child[C] */
    uint64_t mux_offset;            /* MUX region */
    uint64_t region_offset;         /* ENV REGION 0 */
    uint64_t region_stride;         /* bytes from one env region to next */
    uint64_t total_size;
    int64_t creator_pid;
    int64_t birth_time_us;          /* wall clock, for display */
    _Atomic uint64_t generation;    /* httpd generation (restarts) */
    _Atomic uint32_t env_count;     /* environments this generation */
    uint32_t _reserved1;
} ph_shm_header;

/* MAIN: an environment's identity.  Writer: the parent. */
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
    _Atomic uint32_t processors;    /* alive */
    /* The index of its processors' slots (layout 5.1, shm_index.c): a
     * chain through the child records, first_proc the first slot + 1 (0:
     * none), changed under procs_seq (a seqlock of its own).  Writer: the
     * parent; readers validate each record it leads to. */
    _Atomic uint32_t procs_seq;
    _Atomic uint32_t first_proc;
    uint64_t _reserved0;
} ph_shm_env;

/* ENV REGION: an environment's counters (atomics, many writers). */
typedef struct ph_shm_env_stats {
    _Atomic uint64_t connections;       /* handed to the environment */
    _Atomic uint64_t requests;          /* served by its processors */
    _Atomic uint64_t dropped_timeout;   /* 503: no capacity in time */
    _Atomic uint64_t dropped_channel;   /* 503: channel error */
    _Atomic uint64_t misdirected;       /* 421 answered */
    _Atomic int32_t queue_depth;        /* waiting in multiplexers */
    _Atomic int32_t idle_workers;       /* idle threads of its processors */
    _Atomic int32_t in_flight;          /* READY tickets, not yet claimed */
    _Atomic uint32_t unavail;           /* 100 - AVAIL (0..100), so that
                                         * the zero-filled file is AVAIL
                                         * 100: read it through
                                         * ph_shm_avail() */
    _Atomic uint32_t demand;            /* processors wanted (spawn) */
    /* Its processors that could not bind to their NUMA node (this
     * generation); the first one logs it.  Writers: its processors. */
    _Atomic uint32_t numa_failures;
    /* Its processors that could not join the environment's cgroups (this
     * generation); the first one logs it.  Writers: its processors. */
    _Atomic uint32_t cgroup_failures;
    uint32_t _reserved0;
    uint64_t _reserved1;
    /* What its processors answered (their log_transaction): body bytes
     * sent, and responses by status class.  Writers: its processors. */
    _Atomic uint64_t bytes_sent;
    _Atomic uint64_t responses_4xx;
    _Atomic uint64_t responses_5xx;
} ph_shm_env_stats;

/* MAIN: what a slot holds.  Writer: the parent. */
typedef struct ph_shm_child {
    _Atomic uint32_t seq;           /* seqlock over the fields */
    uint32_t type;                  /* PH_CHILD_TYPE_* */
    int32_t pid;                    /* 0 = free */
    uint32_t generation;
    int32_t env_index;              /* PROCESSOR: its environment; -1 */
    int32_t numa_node;              /* -1 = not pinned; set by the
                                     * parent before the fork (NUMANode),
                                     * the child binds itself to it */
    int64_t started_us;             /* wall clock */
    /* The next slot + 1 in its environment's index (0: the last), while
     * the index holds it (shm_index.c); under the env's procs_seq. */
    _Atomic uint32_t next_proc;
    uint32_t _reserved0;
} ph_shm_child;

/* MUX or ENV REGION: the figures of the child in a slot.  Writers: that
 * child, and the parent before its fork and after its reap. */
typedef struct ph_shm_child_stats {
    _Atomic uint32_t status;        /* PH_CHILD_* */
    _Atomic uint32_t threads;       /* worker threads */
    _Atomic int32_t busy_threads;
    _Atomic int32_t idle_threads;
    _Atomic uint64_t requests;      /* served by this child */
    _Atomic uint64_t connections;   /* taken by this child */
    _Atomic int64_t last_used_ms;   /* monotonic ms of last request */
    /* Connections it will still take (AsyncRequestWorkerFactor limit
     * minus those it holds); written by its listener thread. */
    _Atomic int32_t room;
    /* PH_NUMA_FAILED_* bits: which binding to the node MAIN names failed
     * (written by the child itself, once, after its binding calls). */
    _Atomic uint32_t numa_failed;
    /* As the env's counters of the same names, for this child only. */
    _Atomic uint64_t bytes_sent;
    _Atomic uint64_t responses_4xx;
    _Atomic uint64_t responses_5xx;
    /* 1: it could not join one of its environment's cgroups (written by
     * the child itself, once, as root, before dropping privileges). */
    _Atomic uint32_t cgroup_failed;
    uint32_t _reserved0;
    /* Its allocator's figures (jemalloc's stats.allocated and
     * stats.resident, bytes; 0: not jemalloc, or not yet read), refreshed
     * by the child now and then.  A processor's are display values only:
     * nothing decides anything on them. */
    _Atomic uint64_t alloc_allocated;
    _Atomic uint64_t alloc_resident;
} ph_shm_child_stats;

#define PH_NUMA_FAILED_CPU 0x1u
#define PH_NUMA_FAILED_MEM 0x2u

/* MUX: server-wide figures of the multiplexers. */
typedef struct ph_shm_mux_area {
    /* 503s for virtual hosts that have no environment (such a request
     * belongs to no environment region). */
    _Atomic uint64_t dropped_noenv;
    uint64_t _reserved0[7];
} ph_shm_mux_area;

typedef struct ph_shm_partition {
    _Atomic int32_t pending;        /* connections its mux holds waiting */
    _Atomic uint32_t mux_pid;       /* owner, 0 = none */
    _Atomic int64_t oldest_wait_since_ms;  /* monotonic ms; 0 = none */
    _Atomic uint32_t used;          /* high water: tickets [used, T) are
                                     * FREE (its multiplexer raises it) */
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
_Static_assert(sizeof(ph_shm_header) == 144, "bump PH_SHM_LAYOUT_MAJOR");
_Static_assert(offsetof(ph_shm_header, generation) == 128,
               "bump PH_SHM_LAYOUT_MAJOR");
_Static_assert(sizeof(ph_shm_env) == 120, "bump PH_SHM_LAYOUT_MAJOR");
_Static_assert(sizeof(ph_shm_env_stats) == 104, "bump PH_SHM_LAYOUT_MAJOR");
_Static_assert(sizeof(ph_shm_child) == 40, "bump PH_SHM_LAYOUT_MAJOR");
_Static_assert(sizeof(ph_shm_child_stats) == 96, "bump PH_SHM_LAYOUT_MAJOR");
_Static_assert(sizeof(ph_shm_mux_area) == 64, "bump PH_SHM_LAYOUT_MAJOR");
_Static_assert(sizeof(ph_shm_partition) == 40, "bump PH_SHM_LAYOUT_MAJOR");
_Static_assert(sizeof(ph_shm_ticket) == 24, "bump PH_SHM_LAYOUT_MAJOR");

#endif /* PH_SHM_LAYOUT_H */
