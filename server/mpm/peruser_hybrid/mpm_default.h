/*
 * mpm_default.h -- compiled-in defaults for the peruser_hybrid MPM.
 *
 * Every value can be overridden at build time (-DNAME=value in CPPFLAGS),
 * hence the #ifndef guards.  Each entry names the directive it is the
 * default for and where the number comes from:
 *
 *   [peruser]  the peruser MPM guide's sample configuration:
 *              "ServerLimit 256  MaxClients 256  MinProcessors 0
 *               MaxProcessors 10  MinSpareProcessors 2  MaxSpareProcessors 0
 *               MinMultiplexers 3  MaxMultiplexers 10
 *               MultiplexerIdleTimeout 0  MaxRequestsPerChild 1000
 *               ExpireTimeout 1800  IdleTimeout 900
 *               ProcessorWaitTimeout 5 10"
 *   [event]    stock mpm_event's defaults: ThreadsPerChild 25,
 *              ThreadLimit 64, AsyncRequestWorkerFactor 2, StartServers 3.
 *
 * Timeouts are in seconds.  A value of 0 means "disabled / no limit" where
 * the directive's documentation says so.
 */
#ifndef PERUSER_HYBRID_MPM_DEFAULT_H
#define PERUSER_HYBRID_MPM_DEFAULT_H

/* ---- threads inside one child (from event) ---------------------------- */

/* ThreadsPerChild: worker threads per child process.  [event: 25] */
#ifndef DEFAULT_THREADS_PER_CHILD
#define DEFAULT_THREADS_PER_CHILD 25
#endif

/* ThreadLimit: upper bound for ThreadsPerChild, sizes the scoreboard.
 * [event: 64] */
#ifndef DEFAULT_THREAD_LIMIT
#define DEFAULT_THREAD_LIMIT 64
#endif

/* AsyncRequestWorkerFactor: how many idle/keep-alive connections a child
 * may hold per free worker thread.  [event: 2] */
#ifndef DEFAULT_ASYNC_REQUEST_WORKER_FACTOR
#define DEFAULT_ASYNC_REQUEST_WORKER_FACTOR 2
#endif

/* ---- process counts --------------------------------------------------- */

/* ServerLimit: hard upper bound on child processes of all kinds
 * (multiplexers + processors), sizes the scoreboard.  [peruser: 256] */
#ifndef DEFAULT_SERVER_LIMIT
#define DEFAULT_SERVER_LIMIT 256
#endif

/* MaxClients / MaxRequestWorkers: total child processes allowed at once.
 * [peruser: MaxClients 256] */
#ifndef DEFAULT_MAX_CLIENTS
#define DEFAULT_MAX_CLIENTS 256
#endif

/* StartServers: children (multiplexers) forked at startup.  [event: 3,
 * equal to peruser's MinMultiplexers 3] */
#ifndef DEFAULT_START_DAEMON
#define DEFAULT_START_DAEMON 3
#endif

/* ---- multiplexers (accept connections, pass them to processors) ------- */

/* MinMultiplexers: multiplexers kept running at all times.
 * [peruser: 3] */
#ifndef DEFAULT_MIN_MULTIPLEXERS
#define DEFAULT_MIN_MULTIPLEXERS 3
#endif

/* MaxMultiplexers: upper bound on multiplexer processes.  [peruser: 10] */
#ifndef DEFAULT_MAX_MULTIPLEXERS
#define DEFAULT_MAX_MULTIPLEXERS 10
#endif

/* MultiplexerIdleTimeout: seconds an idle multiplexer above
 * MinMultiplexers may live; 0 = never reap.  [peruser: 0] */
#ifndef DEFAULT_MULTIPLEXER_IDLE_TIMEOUT
#define DEFAULT_MULTIPLEXER_IDLE_TIMEOUT 0
#endif

/* MultiplexerChannelCache: environments whose channel send ends (2
 * descriptors) a multiplexer keeps; more are asked of the parent when
 * needed, the least recently used with nothing waiting going first. */
#ifndef DEFAULT_MULTIPLEXER_CHANNEL_CACHE
#define DEFAULT_MULTIPLEXER_CHANNEL_CACHE 64
#endif

/* ---- processors (per-environment children: one user/group/chroot) ----- */

/* MinProcessors: processors per environment kept running; 0 = start on
 * demand.  [peruser: 0] */
#ifndef DEFAULT_MIN_PROCESSORS
#define DEFAULT_MIN_PROCESSORS 0
#endif

/* MaxProcessors: upper bound on processors per environment.
 * [peruser: 10] */
#ifndef DEFAULT_MAX_PROCESSORS
#define DEFAULT_MAX_PROCESSORS 10
#endif

/* MinSpareProcessors: idle processors kept per environment.
 * [peruser: 2] */
#ifndef DEFAULT_MIN_SPARE_PROCESSORS
#define DEFAULT_MIN_SPARE_PROCESSORS 2
#endif

/* MaxSpareProcessors: idle processors allowed per environment before
 * reaping; 0 = no limit.  [peruser: 0] */
#ifndef DEFAULT_MAX_SPARE_PROCESSORS
#define DEFAULT_MAX_SPARE_PROCESSORS 0
#endif

/* MaxRequestsPerChild / MaxConnectionsPerChild: requests a child serves
 * before it is recycled; 0 = unlimited.  [peruser: 1000] */
#ifndef DEFAULT_MAX_REQUESTS_PER_CHILD
#define DEFAULT_MAX_REQUESTS_PER_CHILD 1000
#endif

/* ---- timeouts (seconds) ----------------------------------------------- */

/* ExpireTimeout: a child that has been busy on one request this long is
 * considered hung and killed; 0 = never.  [peruser: 1800] */
#ifndef DEFAULT_EXPIRE_TIMEOUT
#define DEFAULT_EXPIRE_TIMEOUT 1800
#endif

/* IdleTimeout: an idle processor above MinProcessors is reaped after this
 * long; 0 = never.  [peruser: 900] */
/* Blank factories kept ready for cold environments, started only after a
 * cold start (parent_blank.c) */
#ifndef DEFAULT_FACTORY_RESERVE
#define DEFAULT_FACTORY_RESERVE 2
#endif

#ifndef DEFAULT_IDLE_TIMEOUT
#define DEFAULT_IDLE_TIMEOUT 900
#endif

/* ProcessorWaitTimeout <seconds> [<levels>]: how long a multiplexer waits
 * for a busy environment's processor before answering 503, and in how many
 * back-off steps.  [peruser: "ProcessorWaitTimeout 5 10"] */
#ifndef DEFAULT_PROCESSOR_WAIT_TIMEOUT
#define DEFAULT_PROCESSOR_WAIT_TIMEOUT 5
#endif
#ifndef DEFAULT_PROCESSOR_WAIT_LEVELS
#define DEFAULT_PROCESSOR_WAIT_LEVELS 10
#endif

#endif /* PERUSER_HYBRID_MPM_DEFAULT_H */
