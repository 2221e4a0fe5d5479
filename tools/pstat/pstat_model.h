/*
 * pstat_model.h -- what pstat shows, computed from readings of the
 * segment: rows per environment and per child, totals, rates, sorting and
 * filtering.
 *
 * A pstat_sample is one reading (copies made by the shm/ snapshot
 * functions, taken by pstat_source.c).  pstat_model_build() turns the
 * latest reading, and the one before it when there is one, into rows with
 * per-second rates; pstat_model_arrange() decides which rows are shown and
 * in which order.  Nothing here touches the segment, a clock or the
 * terminal: the unit tests feed it hand-made samples.
 *
 * Rates are differences of counters over the time between two samples.
 * A counter is only compared with the same counter of the same thing:
 * the same server (creator pid and birth time), the same environment
 * record (index and name) and the same child (slot and pid).  Anything
 * else -- a restart, a record reused by another environment, a counter
 * that went backwards -- gives an unknown rate, never a negative or huge
 * one.
 */
#ifndef PSTAT_MODEL_H
#define PSTAT_MODEL_H

#include <stdint.h>

#include "ph_shm.h"

/* A rate that cannot be known (one sample only, or see above). */
#define PSTAT_RATE_UNKNOWN  (-1.0)

/* What the kernel says of one child (pstat_proc.c); -1: unknown. */
typedef struct pstat_proc {
    int32_t pid;
    int ok;                         /* /proc/PID/stat was read */
    uint64_t cpu_ticks;             /* utime + stime, clock ticks */
    uint64_t start_ticks;           /* since boot, to tell a reused pid */
    int64_t rss_bytes, pss_bytes;
    int64_t uid;                    /* effective */
} pstat_proc;

/* One reading of the segment. */
typedef struct pstat_sample {
    int64_t taken_us;               /* CLOCK_MONOTONIC when read */
    int64_t wall_us;                /* CLOCK_REALTIME when read */
    int64_t server_pid;             /* header creator_pid */
    int64_t birth_time_us;          /* header, wall clock */
    uint64_t generation;
    uint32_t env_count;
    uint32_t layout_major, layout_minor;
    uint32_t env_capacity, child_capacity, mux_capacity;
    uint64_t dropped_noenv;
    uint32_t busy_records;          /* records skipped: a writer kept
                                     * their seqlock busy */
    uint32_t n_envs;                /* records in use, by index */
    uint32_t n_children;            /* slots with a pid, by slot */
    uint32_t envs_room, children_room;
    ph_shm_env_snapshot *envs;
    ph_shm_child_snapshot *children;
    pstat_proc *procs;              /* of children[i], same index */
    int alive;                      /* its writer (creator_pid) runs */
    long hz;                        /* clock ticks per second */
} pstat_sample;

void pstat_sample_init(pstat_sample *s);
/* Room for envs and children records; 0 or ENOMEM. */
int pstat_sample_reserve(pstat_sample *s, uint32_t envs, uint32_t children);
void pstat_sample_free(pstat_sample *s);
void pstat_sample_swap(pstat_sample *a, pstat_sample *b);
/* 1 if both samples were read from the same server instance. */
int pstat_same_server(const pstat_sample *a, const pstat_sample *b);

typedef struct pstat_env_row {
    ph_shm_env_snapshot e;
    uint32_t children_alive;        /* its processors with a pid */
    uint32_t children_idle;         /* ... of which no thread is busy */
    int64_t busy_threads, idle_threads;  /* sums over those processors */
    uint64_t dropped;               /* dropped_timeout + dropped_channel */
    double requests_per_s, connections_per_s;
    double bytes_per_s, r4xx_per_s, r5xx_per_s;
    double cpu_pct;                 /* sum over its processors; -1 */
    int64_t rss_bytes, pss_bytes;   /* sums; -1 when one is unknown */
    int32_t numa_node;              /* of its processors; -1 none,
                                     * PSTAT_NODE_MIXED */
} pstat_env_row;

#define PSTAT_NODE_MIXED    (-2)

typedef struct pstat_child_row {
    ph_shm_child_snapshot c;
    char env_name[PH_SHM_NAME_MAX]; /* "" when it has none */
    double requests_per_s;
    double bytes_per_s, r4xx_per_s, r5xx_per_s;
    int64_t idle_ms;                /* since its last request; -1 never */
    double cpu_pct;                 /* of one CPU, over the interval; -1 */
    int64_t rss_bytes, pss_bytes;   /* -1 unknown */
    int64_t uid;                    /* effective, from /proc; -1 */
} pstat_child_row;

typedef struct pstat_totals {
    uint32_t environments;
    uint32_t children, processors, multiplexers;
    int64_t busy_threads, idle_threads;
    uint64_t requests, connections;
    double requests_per_s, connections_per_s;
    uint64_t dropped, dropped_timeout, dropped_channel, dropped_noenv;
    uint64_t misdirected, bytes_sent, responses_4xx, responses_5xx;
    double bytes_per_s, r4xx_per_s, r5xx_per_s;
} pstat_totals;

/* Columns of the two views; a view is sorted by one of its columns.  In
 * both, BYTE_RATE to USER are the same seven in the same order
 * (pstat_text.c fills them with one function). */
enum {
    PSTAT_ECOL_NAME, PSTAT_ECOL_CHILDREN, PSTAT_ECOL_BUSY, PSTAT_ECOL_IDLE,
    PSTAT_ECOL_REQ_RATE, PSTAT_ECOL_CONN_RATE, PSTAT_ECOL_BYTE_RATE,
    PSTAT_ECOL_4XX_RATE, PSTAT_ECOL_5XX_RATE, PSTAT_ECOL_CPU,
    PSTAT_ECOL_RSS, PSTAT_ECOL_PSS, PSTAT_ECOL_USER, PSTAT_ECOL_NODE,
    PSTAT_ECOL_DROPPED, PSTAT_ECOL_DROP_DETAIL, PSTAT_ECOL_AVAIL,
    PSTAT_ECOL_QUEUE, PSTAT_ECOL_OLDEST, PSTAT_ECOL_COUNT
};
enum {
    PSTAT_CCOL_SLOT, PSTAT_CCOL_PID, PSTAT_CCOL_TYPE, PSTAT_CCOL_STATUS,
    PSTAT_CCOL_ENV, PSTAT_CCOL_NODE, PSTAT_CCOL_BUSY, PSTAT_CCOL_IDLE, PSTAT_CCOL_REQUESTS,
    PSTAT_CCOL_REQ_RATE, PSTAT_CCOL_LAST_USED, PSTAT_CCOL_BYTE_RATE,
    PSTAT_CCOL_4XX_RATE, PSTAT_CCOL_5XX_RATE, PSTAT_CCOL_CPU,
    PSTAT_CCOL_RSS, PSTAT_CCOL_PSS, PSTAT_CCOL_USER, PSTAT_CCOL_COUNT
};

/* How the rows are arranged.  Each column has a natural direction (names
 * and slots ascending, amounts descending, like top); reverse flips it. */
typedef struct pstat_order {
    int env_col, env_reverse;
    int child_col, child_reverse;
    char filter[PH_SHM_NAME_MAX];   /* environment name substring, any
                                     * case; "" shows everything */
} pstat_order;

typedef struct pstat_model {
    int64_t server_pid, birth_time_us, uptime_s;
    uint64_t generation;
    uint32_t env_count, layout_major, layout_minor;
    uint32_t env_capacity, child_capacity, mux_capacity;
    uint32_t busy_records;
    int alive;                      /* the server's parent still runs */
    int64_t taken_us, wall_us;
    int rates;                      /* 1: rates measured over interval_s */
    double interval_s;
    pstat_totals totals;
    uint32_t n_envs, n_children;
    pstat_env_row *envs;            /* by record index */
    pstat_child_row *children;      /* by slot */
    uint32_t n_env_shown, n_child_shown;
    uint32_t *env_shown;            /* row numbers, filtered and sorted */
    uint32_t *child_shown;
    uint32_t envs_room, children_room;
} pstat_model;

void pstat_order_init(pstat_order *o);
void pstat_model_init(pstat_model *m);
void pstat_model_free(pstat_model *m);

/* Rows of cur, with rates against prev if prev is not NULL and was read
 * from the same server earlier.  Every row is shown, in record order,
 * until pstat_model_arrange().  Returns 0 or ENOMEM. */
int pstat_model_build(pstat_model *m, const pstat_sample *prev,
                      const pstat_sample *cur);

/* Filter and sort the shown rows of both views. */
void pstat_model_arrange(pstat_model *m, const pstat_order *o);

/* 1 if the column's natural order is largest first. */
int pstat_env_col_descends(int col);
int pstat_child_col_descends(int col);

/* 1 if name passes filter (a case-insensitive substring; "" passes all). */
int pstat_filter_match(const char *filter, const char *name);

const char *pstat_type_name(uint32_t type);
const char *pstat_status_name(uint32_t status);

#endif /* PSTAT_MODEL_H */
