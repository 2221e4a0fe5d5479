/*
 * config_rows.h -- one row per numeric directive (X-macro, like Varnish's
 * tbl/params.h).  Included several times with different definitions of
 * PH_ROW to generate the directive table, its index enum and the
 * command_rec entries.  The README's directive reference is generated from
 * the same rows (build/directives.sh).
 *
 * PH_ROW(name, contexts, min, max, default, unit, settings field,
 *        per-environment field or -, help)
 */
PH_ROW(ThreadsPerChild, PH_CTX_SERVER, 1, 20000, DEFAULT_THREADS_PER_CHILD,
       "threads", threads_per_child, PH_NONE,
       "Worker threads in each processor child (each child also runs one "
       "listener thread)")
PH_ROW(ThreadLimit, PH_CTX_SERVER, 1, 20000, DEFAULT_THREAD_LIMIT,
       "threads", thread_limit, PH_NONE,
       "Upper bound of ThreadsPerChild for the lifetime of the server "
       "(sizes the scoreboard)")
PH_ROW(ServerLimit, PH_CTX_SERVER, 2, 20000, DEFAULT_SERVER_LIMIT,
       "processes", server_limit, PH_NONE,
       "Maximum number of child processes, multiplexers and processors "
       "together, for the lifetime of the server")
PH_ROW(MinMultiplexers, PH_CTX_SERVER, 1, 1000, DEFAULT_MIN_MULTIPLEXERS,
       "processes", min_multiplexers, PH_NONE,
       "Multiplexer processes kept running")
PH_ROW(MaxMultiplexers, PH_CTX_SERVER, 1, 1000, DEFAULT_MAX_MULTIPLEXERS,
       "processes", max_multiplexers, PH_NONE,
       "Most multiplexer processes; sizes the ticket partitions of the "
       "shared-memory segment for the lifetime of the server")
PH_ROW(MultiplexerIdleTimeout, PH_CTX_SERVER, 0, 86400,
       DEFAULT_MULTIPLEXER_IDLE_TIMEOUT, "seconds",
       multiplexer_idle_timeout, PH_NONE,
       "A multiplexer above MinMultiplexers that accepted nothing for this "
       "long is retired (0: never).  More are started, up to "
       "MaxMultiplexers, while every one is over 75% busy")
PH_ROW(MinProcessors, PH_CTX_SERVER | PH_CTX_PROCESSOR, 0, 20000,
       DEFAULT_MIN_PROCESSORS, "processes", min_processors, min_processors,
       "Processor children kept running per environment; with 0, the "
       "first request starts one (in milliseconds)")
PH_ROW(MaxProcessors, PH_CTX_SERVER | PH_CTX_PROCESSOR, 1, 20000,
       DEFAULT_MAX_PROCESSORS, "processes", max_processors, max_processors,
       "Maximum processor children per environment")
PH_ROW(MinSpareProcessors, PH_CTX_SERVER | PH_CTX_PROCESSOR, 0, 20000,
       DEFAULT_MIN_SPARE_PROCESSORS, "processes", min_spare_processors,
       min_spare_processors,
       "Idle processors kept ready per environment once it has one (an "
       "environment that has never been asked for keeps MinProcessors)")
PH_ROW(MaxSpareProcessors, PH_CTX_SERVER | PH_CTX_PROCESSOR, 0, 20000,
       DEFAULT_MAX_SPARE_PROCESSORS, "processes", max_spare_processors,
       max_spare_processors,
       "Idle processors above this many are retired (0: no limit)")
PH_ROW(MaxRequestWorkers, PH_CTX_SERVER, 0, 20000000, 0, "threads",
       max_request_workers, PH_NONE,
       "Most worker threads of all processors together; caps the number "
       "of processors at MaxRequestWorkers / ThreadsPerChild (0: "
       "ServerLimit x ThreadsPerChild).  MaxClients is its old name")
PH_ROW(MaxClients, PH_CTX_SERVER, 0, 20000000, 0, "threads",
       max_request_workers, PH_NONE,
       "Old name of MaxRequestWorkers")
PH_ROW(StartServers, PH_CTX_SERVER, 0, 20000, 0, "processes",
       start_servers, PH_NONE,
       "Processors each environment starts with when the server starts "
       "(then IdleTimeout and the spare bounds apply)")
PH_ROW(MinSpareThreads, PH_CTX_SERVER, 0, 2000000, 0, "threads",
       min_spare_threads, PH_NONE,
       "Idle worker threads kept per environment in use; below it another "
       "processor starts (0: off, spare processors decide)")
PH_ROW(MaxSpareThreads, PH_CTX_SERVER, 0, 2000000, 0, "threads",
       max_spare_threads, PH_NONE,
       "Idle worker threads per environment above which idle processors "
       "are retired (0: off)")
PH_ROW(IdleTimeout, PH_CTX_SERVER, 0, 86400, DEFAULT_IDLE_TIMEOUT,
       "seconds", idle_timeout, PH_NONE,
       "A processor that has served nothing for this long is retired, down "
       "to MinProcessors (0: never)")
PH_ROW(ExpireTimeout, PH_CTX_SERVER, 0, 86400, DEFAULT_EXPIRE_TIMEOUT,
       "seconds", expire_timeout, PH_NONE,
       "A processor with a thread busy on one request for this long takes "
       "no more connections, finishes the others and is replaced (0: "
       "never)")
