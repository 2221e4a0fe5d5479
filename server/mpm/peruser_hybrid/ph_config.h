/*
 * ph_config.h -- the MPM's global settings and the table that describes
 * every numeric directive.
 *
 * One row per directive (name, contexts, bounds, default, unit, help).
 * Parsing, bounds checks, error messages and the README's directive
 * reference all come from this table (config_table.c), so they cannot
 * drift apart.  Cross-field rules live in one function,
 * ph_config_validate().
 *
 * Lifetime: the parent fills ph_settings while reading the configuration
 * (reset to the defaults in pre_config, so a graceful restart starts from
 * scratch); children inherit it through fork() and only read it.
 */
#ifndef PH_CONFIG_H
#define PH_CONFIG_H

#include "httpd.h"
#include "http_config.h"

typedef struct ph_settings {
    long threads_per_child;   /* ThreadsPerChild */
    long thread_limit;        /* ThreadLimit */
    long server_limit;        /* ServerLimit */
    long min_multiplexers;    /* MinMultiplexers */
    long max_multiplexers;    /* MaxMultiplexers */
    long multiplexer_idle_timeout; /* MultiplexerIdleTimeout (seconds) */
    long mux_channel_cache;   /* MultiplexerChannelCache (environments) */
    long min_processors;      /* MinProcessors (global default) */
    long max_processors;      /* MaxProcessors (global default) */
    long min_spare_processors;/* MinSpareProcessors */
    long max_spare_processors;/* MaxSpareProcessors */
    long idle_timeout;        /* IdleTimeout (seconds) */
    long factory_reserve;     /* FactoryReserve (blank factories) */
    long max_request_workers; /* MaxRequestWorkers / MaxClients */
    long start_servers;       /* StartServers */
    long min_spare_threads;   /* MinSpareThreads */
    long max_spare_threads;   /* MaxSpareThreads */
    long expire_timeout;      /* ExpireTimeout (seconds) */
    long memory_max_mib;      /* ProcessorMemoryMax (global default) */
    long pids_max;            /* ProcessorPidsMax */
    long cpu_weight;          /* ProcessorCpuWeight */
    long cpu_max_pct;         /* ProcessorCpuMax */
    /* not in the numeric table: */
    long wait_timeout_s;      /* ProcessorWaitTimeout <seconds> */
    long wait_levels;         /* ProcessorWaitTimeout ... [levels] */
    double worker_factor;     /* AsyncRequestWorkerFactor */
    const char *segment_path; /* ExtendedScoreBoardFile; NULL = default */
    const char *monitor_group;/* ExtendedScoreBoardGroup; NULL = none */
    int processor_image;      /* ProcessorImage: PH_IMAGE_* */
    const char *status_env;   /* StatusEnvironment; NULL = none */
    int numa_node;            /* NUMANode: PH_NUMA_AUTO, PH_NUMA_NONE or
                               * a node number (placement.h) */
    apr_array_header_t *cgroup_roots; /* CgroupRoot dirs (const char *);
                                       * NULL = none */
    struct ph_handback_from *handback_from; /* HandBackFrom; NULL: the
                                             * default (loopback) */
} ph_settings;

/* ProcessorImage: where an environment's processors come from. */
#define PH_IMAGE_EXEC 0       /* a factory: httpd exec'd on the
                               * environment's own configuration */
#define PH_IMAGE_FORK 1       /* forked from the parent (holds the whole
                               * configuration) */

/* Default segment file, relative to httpd's DefaultRuntimeDir. */
#define PH_DEFAULT_SEGMENT_NAME "peruser_hybrid.shm"

/* Where a directive may appear. */
#define PH_CTX_SERVER     0x1   /* main server config */
#define PH_CTX_PROCESSOR  0x2   /* inside <Processor> */

typedef struct ph_directive {
    const char *name;
    unsigned contexts;        /* PH_CTX_* */
    long min, max, def;
    const char *unit;         /* "threads", "processes", "seconds" ... */
    size_t settings_off;      /* offset of the long in ph_settings */
    size_t env_off;           /* offset of the long in ph_env_limits, or
                               * PH_NO_ENV_FIELD */
    const char *help;
} ph_directive;

#define PH_NO_ENV_FIELD ((size_t)-1)

/* Per-environment overrides of global settings; -1 = not set (inherit). */
typedef struct ph_env_limits {
    long min_processors;
    long max_processors;
    long min_spare_processors;
    long max_spare_processors;
    long memory_max_mib;      /* the cgroup limits (cgroup_limits.h) */
    long pids_max;
    long cpu_weight;
    long cpu_max_pct;
} ph_env_limits;

extern ph_settings ph_conf;
extern const ph_directive ph_directives[];

/* Reset ph_conf to the table's defaults (pre_config). */
void ph_config_reset(void);

/* The HandBackFrom list in force (handback_from.h). */
const struct ph_handback_from *ph_handback_from_in_force(void);

/* Find a row by name (case-insensitive), or NULL. */
const ph_directive *ph_directive_find(const char *name);

/* Parse arg for row d and store it in ph_conf (server context) or *env
 * (processor context).  Returns NULL or an error message from pool p. */
const char *ph_directive_apply(const ph_directive *d, const char *arg,
                               ph_env_limits *env, apr_pool_t *p);

/* The effective value of a per-environment limit. */
long ph_env_limit(const ph_env_limits *l, size_t env_off);

/* Cross-field rules; returns NULL or a message (pool p). */
const char *ph_config_validate(apr_pool_t *p);

/* Every directive of the module: the table's rows plus <Processor>,
 * ServerEnvironment and httpd's common listener directives. */
extern const command_rec ph_cmds[];

#endif /* PH_CONFIG_H */
