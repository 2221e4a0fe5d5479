/*
 * config_rows.h -- one row per directive (X-macro, like Varnish's
 * tbl/params.h).  Included several times with different definitions of
 * the row macros to generate the numeric table, its index enum, the
 * command_rec entries and the README's directive reference
 * (build/directives.sh), so none of them can drift from the others.
 *
 * PH_ROW(name, contexts, min, max, default, unit, settings field,
 *        per-environment field or PH_NONE, help)
 *     a whole number, parsed and bounds-checked by the table's setter;
 * PH_ROW_CUSTOM(name, context text, syntax, default text, kind, handler,
 *               help)
 *     any other directive of this module: kind is the AP_INIT_* flavour
 *     (TAKE1, TAKE12, RAW_ARGS), handler its setter; kind PROCESSOR marks
 *     a directive that only exists inside <Processor> and is parsed there
 *     (env_registry.c);
 * PH_ROW_CORE(name, syntax, help)
 *     a directive httpd's core parses whose value this MPM honours.
 * An includer that only wants some kinds leaves the others undefined.
 */
#ifndef PH_ROW
#define PH_ROW(...)
#define PH_ROW_DEFAULTED
#endif
#ifndef PH_ROW_CUSTOM
#define PH_ROW_CUSTOM(...)
#define PH_ROW_CUSTOM_DEFAULTED
#endif
#ifndef PH_ROW_CORE
#define PH_ROW_CORE(...)
#define PH_ROW_CORE_DEFAULTED
#endif

PH_ROW_CUSTOM(Processor, "server config", "<Processor name> ... </Processor>",
              "none", RAW_ARGS, ph_env_processor_section,
              "Declares the server environment `name` (letters, digits, "
              "_ . -); its processors run as its User and Group")
PH_ROW_CUSTOM(User, "<Processor>", "User name", "required", PROCESSOR,
              processor_line,
              "Unix user the environment's processors run as (not root); "
              "at server level, httpd's User: the multiplexers' account")
PH_ROW_CUSTOM(Group, "<Processor>", "Group name", "required", PROCESSOR,
              processor_line,
              "Unix group the environment's processors run as (not root); "
              "at server level, httpd's Group")
PH_ROW_CUSTOM(Chroot, "<Processor>", "Chroot dir", "none", PROCESSOR,
              processor_line,
              "Processors chroot to dir after reading the user and group "
              "databases and before setuid; what they serve is then inside "
              "dir.  Must exist at startup")
PH_ROW_CUSTOM(Cgroup, "<Processor>", "Cgroup dir [dir ...]", "none",
              PROCESSOR, processor_line,
              "Processors join each cgroup directory (one per v1 "
              "controller, or one v2 group) before dropping privileges; "
              "each must contain cgroup.procs at startup")
PH_ROW_CUSTOM(CgroupRoot, "server config", "CgroupRoot dir [dir ...]",
              "none", ITERATE, ph_cgroup_set_root,
              "Existing cgroup directories (one v2 group, or one per v1 "
              "controller hierarchy) under which the server, as root, "
              "creates a group per environment (dir/name, owned by root), "
              "writes its Processor* limits there and removes it at stop; "
              "the environment's processors join it before dropping "
              "privileges")
PH_ROW_CUSTOM(CgroupRequired, "<Processor>", "CgroupRequired on|off", "off",
              PROCESSOR, processor_line,
              "on: a processor that cannot join one of its cgroups (Cgroup "
              "or CgroupRoot's) exits instead of serving unconfined (the "
              "parent backs off before the next attempt, up to 30 s); off: "
              "it serves, the failure is logged once per generation and "
              "counted in status")
PH_ROW_CUSTOM(NUMANode, "server config, <Processor>",
              "NUMANode auto|none|N", "auto", TAKE1, set_numa_node,
              "Which NUMA node children run on (CPUs and memory bound with "
              "hwloc before they drop privileges): auto spreads "
              "environments over the nodes by load and keeps an "
              "environment's processors on one node while it has room "
              "(multiplexers spread too), and does nothing on a machine "
              "with one node; none: unbound; N: node N.  Inside "
              "<Processor>, for that environment's processors")
PH_ROW_CUSTOM(NiceLevel, "<Processor>", "NiceLevel n", "unchanged",
              PROCESSOR, processor_line,
              "Nice value of the environment's processors and what they "
              "run (-20 to 19; below 0 needs the server to start as root); "
              "set before they drop privileges")
PH_ROW_CUSTOM(ServerEnvironment, "server config, <VirtualHost>",
              "ServerEnvironment name", "the main server's", TAKE1,
              ph_env_set_server_env,
              "The environment that serves this virtual host; without one "
              "(when any <Processor> exists) its requests get 503")
PH_ROW_CUSTOM(ProcessorWaitTimeout, "server config",
              "ProcessorWaitTimeout seconds [levels]", "5 10", TAKE12,
              set_wait_timeout,
              "How long a connection may wait for a busy environment (0 to "
              "3600 s) and in how many AVAIL levels that wait shrinks to "
              "none (1 to 100); then 503 with Retry-After")
PH_ROW_CUSTOM(AsyncRequestWorkerFactor, "server config",
              "AsyncRequestWorkerFactor factor", "2", TAKE1,
              set_worker_factor,
              "A processor takes connections while it holds fewer than "
              "ThreadsPerChild + factor x idle workers (0 to 1000, "
              "fractions allowed)")
PH_ROW_CUSTOM(ExtendedScoreBoardFile, "server config",
              "ExtendedScoreBoardFile path", "peruser_hybrid.shm in "
              "DefaultRuntimeDir", TAKE1, set_segment_file,
              "The shared-memory segment pstat and mod_status read (with "
              "one file per environment beside it, `path.i<inode>.e<n>`); "
              "removed when the server stops")
PH_ROW_CUSTOM(ExtendedScoreBoardGroup, "server config",
              "ExtendedScoreBoardGroup group", "none (root only)", TAKE1,
              set_segment_group,
              "Group that may read the segment file (mode 0640, owner root)")
PH_ROW_CUSTOM(HandBackFrom, "server config",
              "HandBackFrom addr[/bits] ...|all|none", "127.0.0.0/8 ::1",
              ITERATE, set_handback_from,
              "Clients (a front proxy's addresses) whose kept-alive "
              "connection, when its next request is for another "
              "environment's virtual host, is handed back to a multiplexer "
              "and served by that environment; from any other client that "
              "request is answered 421 (browsers never send one).  Listed "
              "because a processor could hand back a connection part-read, "
              "making bytes its client sent a request from the client's "
              "address (none: never; all: any client)")
PH_ROW_CUSTOM(ProcessorImage, "server config", "ProcessorImage exec|fork",
              "exec", TAKE1, set_processor_image,
              "exec: each environment's processors are forked from an httpd "
              "started for it on a configuration holding only its own "
              "virtual hosts (other tenants' secrets are never in its "
              "memory); fork: from the parent, which holds every tenant's "
              "configuration (faster first start, no isolation of memory)")
PH_ROW_CUSTOM(StatusEnvironment, "server config", "StatusEnvironment name",
              "none", TAKE1, set_status_env,
              "The environment (the operator's) whose mod_status pages show "
              "every environment's processors and figures; every other "
              "environment's show its own only (pstat, as root or the "
              "ExtendedScoreBoardGroup, always shows all)")

PH_ROW_CORE(Listen, "Listen [addr:]port", "Where the multiplexers accept")
PH_ROW_CORE(ListenBacklog, "ListenBacklog n", "Listen queue length")
PH_ROW_CORE(SendBufferSize, "SendBufferSize bytes", "TCP send buffer")
PH_ROW_CORE(User, "User name", "Account of the multiplexers and of the "
            "implicit environment; must not be root")
PH_ROW_CORE(Group, "Group name", "Group of the multiplexers and of the "
            "implicit environment")
PH_ROW_CORE(PidFile, "PidFile path", "The parent's pid")
PH_ROW_CORE(ScoreBoardFile, "ScoreBoardFile path", "httpd's own "
            "scoreboard in a file instead of anonymous memory")
PH_ROW_CORE(MaxConnectionsPerChild, "MaxConnectionsPerChild n", "A "
            "processor that took n connections finishes them and is "
            "replaced (0: never); MaxRequestsPerChild is its old name")
PH_ROW_CORE(MaxMemFree, "MaxMemFree KBytes", "Free memory each connection "
            "pool's allocator keeps")
PH_ROW_CORE(ThreadStackSize, "ThreadStackSize bytes", "Stack of worker "
            "threads")
PH_ROW_CORE(CoreDumpDirectory, "CoreDumpDirectory dir", "Where children "
            "dump core; when set, processors stay dumpable")
PH_ROW_CORE(EnableExceptionHook, "EnableExceptionHook On|Off", "Runs "
            "fatal-exception hooks in crashing children")
PH_ROW_CORE(GracefulShutdownTimeout, "GracefulShutdownTimeout seconds",
            "How long graceful-stop waits for children")

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
       "together, for the lifetime of the server.  When every slot is "
       "taken, an environment without a processor gets one first: idle "
       "spares, then the processors idle longest, are retired for it")
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
       "MaxMultiplexers, while connections stay queued on the listeners or "
       "every one is over 75% busy")
PH_ROW(MultiplexerChannelCache, PH_CTX_SERVER, 1, 100000,
       DEFAULT_MULTIPLEXER_CHANNEL_CACHE, "environments", mux_channel_cache,
       PH_NONE,
       "Environments whose channel send ends (two descriptors each) a "
       "multiplexer keeps; it asks the parent for others when they get "
       "connections, closing the least recently used one with nothing "
       "waiting.  More costs descriptors, fewer costs a round trip to the "
       "parent for a tenant that comes back")
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
       "environment that has never been asked for keeps MinProcessors); "
       "none for IdleTimeout after one of its processors was retired for "
       "IdleTimeout or its slot given to another environment")
PH_ROW(MaxSpareProcessors, PH_CTX_SERVER | PH_CTX_PROCESSOR, 0, 20000,
       DEFAULT_MAX_SPARE_PROCESSORS, "processes", max_spare_processors,
       max_spare_processors,
       "Idle processors above this many are retired, each once idle for "
       "a second (0: no limit)")
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
       "are retired, each once idle for a second (0: off)")
PH_ROW(IdleTimeout, PH_CTX_SERVER, 0, 86400, DEFAULT_IDLE_TIMEOUT,
       "seconds", idle_timeout, PH_NONE,
       "A processor that has served nothing for this long is retired, down "
       "to MinProcessors (0: never)")
PH_ROW(FactoryReserve, PH_CTX_SERVER, 0, 64, DEFAULT_FACTORY_RESERVE,
       "processes", factory_reserve, PH_NONE,
       "Blank factories (httpd exec'd and started on no environment's "
       "configuration) kept for cold environments, which take one instead "
       "of exec'ing their own factory; none is started before the first "
       "cold start, and one unused for 10 seconds exits, so an idle server "
       "holds none (0: off; ProcessorImage exec only)")
PH_ROW(ExpireTimeout, PH_CTX_SERVER, 0, 86400, DEFAULT_EXPIRE_TIMEOUT,
       "seconds", expire_timeout, PH_NONE,
       "A processor with a thread busy on one request for this long takes "
       "no more connections, finishes the others and is replaced (0: "
       "never)")
PH_ROW(ProcessorMemoryMax, PH_CTX_SERVER | PH_CTX_PROCESSOR, 0, 4194304, 0,
       "MiB", memory_max_mib, memory_max_mib,
       "Memory of an environment's processors and everything they run "
       "together (its cgroup's memory.max, v1 memory.limit_in_bytes; no "
       "swap beyond it): past it the kernel kills the largest of them.  "
       "Needs CgroupRoot; at server level, each environment's own limit "
       "(0: none)")
PH_ROW(ProcessorPidsMax, PH_CTX_SERVER | PH_CTX_PROCESSOR, 0, 4194304, 0,
       "tasks", pids_max, pids_max,
       "Processes and threads of an environment's processors and what "
       "they run together (pids.max; a processor has ThreadsPerChild + 2 "
       "threads).  Needs CgroupRoot (0: none)")
PH_ROW(ProcessorCpuWeight, PH_CTX_SERVER | PH_CTX_PROCESSOR, 0, 10000, 0,
       "weight", cpu_weight, cpu_weight,
       "An environment's share of contended CPU (cpu.weight 1 to 10000, "
       "v1 cpu.shares = weight x 1024 / 100).  Needs CgroupRoot (0: the "
       "kernel's default, 100)")
PH_ROW(ProcessorCpuMax, PH_CTX_SERVER | PH_CTX_PROCESSOR, 0, 100000, 0,
       "percent", cpu_max_pct, cpu_max_pct,
       "CPU time an environment may use, in percent of one CPU (200: two "
       "CPUs; cpu.max, v1 cpu.cfs_quota_us per 100 ms).  Needs CgroupRoot "
       "(0: no limit)")

#ifdef PH_ROW_DEFAULTED
#undef PH_ROW
#undef PH_ROW_DEFAULTED
#endif
#ifdef PH_ROW_CUSTOM_DEFAULTED
#undef PH_ROW_CUSTOM
#undef PH_ROW_CUSTOM_DEFAULTED
#endif
#ifdef PH_ROW_CORE_DEFAULTED
#undef PH_ROW_CORE
#undef PH_ROW_CORE_DEFAULTED
#endif
