/*
 * test_shm_restrict.c -- ph_shm_restrict: each role keeps writable only
 * the regions it writes (ph_shm_layout.h), and what it may not write is a
 * read-only view of a read-only descriptor, so that neither a plain
 * store, nor mprotect(PROT_WRITE), nor a write through /proc/self/mem
 * reaches it.
 *
 * Every probe runs in a forked child (a fault is the expected outcome);
 * the parent of the test plays the server's parent.
 */
#define _GNU_SOURCE 1   /* mremap */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shm_tests.h"

#define ENVS 3

typedef enum probe {
    PROBE_STORE,        /* a plain store: 0 = done, SIGSEGV = refused */
    PROBE_MPROTECT,     /* mprotect(PROT_WRITE): exit 0, or the errno */
    PROBE_PROCMEM,      /* pwrite to /proc/self/mem: exit 0, or errno */
    PROBE_LOAD,         /* a plain load: 0 = done, SIGSEGV = refused */
    PROBE_FORCE_STORE   /* mprotect(PROT_WRITE), then a store: 0 = done
                         * (to whatever is mapped there), or the errno */
} probe;

static ph_shm_fx fx;

/* How a probing PROCESSOR child gets its mapping: restricted from the
 * creator's (forked from the parent), or attached afresh by path
 * (ph_shm_attach_processor: a factory exec'd by the parent), with the
 * other regions' views (the StatusEnvironment's) or without. */
static int attach_mode;
static int attach_see_all;

static void open_fx(void)
{
    ph_shm_fx_open(&fx, ENVS, 4, 2, 4);
}

/* The segment's page: the system's (read from sysconf, not from fx, which
 * a probe that attaches afresh has unmapped). */
static size_t page_bytes(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

/* The page that holds p. */
static void *page_of(void *p)
{
    return (void *)((uintptr_t)p & ~(uintptr_t)(page_bytes() - 1));
}

/* In a child restricted to role (env): try to write the 8 bytes at *p
 * (an address of the segment) by `how`.  Returns the child's wait status. */
static int try_write(ph_shm_role role, uint32_t env, _Atomic uint64_t *p,
                     probe how)
{
    int status, fd;
    pid_t pid;
    uint64_t v = 0x5a5a5a5a5a5a5a5aull;

    fflush(NULL);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        if (attach_mode && role == PH_SHM_ROLE_PROCESSOR) {
            size_t off = (size_t)((char *)p - (char *)fx.shm.hdr);
            char err[256];
            ph_shm mine;

            ph_shm_unmap(&fx.shm);
            if (ph_shm_attach_processor(&mine, fx.path, env, attach_see_all,
                                        0, err, sizeof(err)) != 0) {
                _exit(100);
            }
            p = (_Atomic uint64_t *)((char *)mine.hdr + off);
        }
        else if (ph_shm_restrict(&fx.shm, role, env) != 0) {
            _exit(100);
        }
        switch (how) {
        case PROBE_STORE:
            atomic_store(p, v);
            _exit(0);
        case PROBE_MPROTECT:
            _exit(mprotect(page_of((void *)p), page_bytes(),
                           PROT_READ | PROT_WRITE) == 0 ? 0 : errno);
        case PROBE_LOAD:
            _exit(atomic_load(p) == v ? 103 : 0);
        case PROBE_FORCE_STORE:
            if (mprotect(page_of((void *)p), page_bytes(),
                         PROT_READ | PROT_WRITE) != 0) {
                _exit(errno);
            }
            atomic_store(p, v);
            _exit(0);
        case PROBE_PROCMEM:
            fd = open("/proc/self/mem", O_RDWR);
            if (fd < 0) {
                _exit(101);
            }
            _exit(pwrite(fd, &v, sizeof(v), (off_t)(uintptr_t)p)
                  == (ssize_t)sizeof(v) ? 0 : errno);
        }
        _exit(102);
    }
    CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
    return status;
}

static int refused_store(int status)
{
    return WIFSIGNALED(status) && (WTERMSIG(status) == SIGSEGV
                                   || WTERMSIG(status) == SIGBUS);
}

static int exited(int status, int code)
{
    return WIFEXITED(status) && WEXITSTATUS(status) == code;
}

/* An 8-byte field of each region, for the probes. */
static _Atomic uint64_t *main_field(void)
{
    return (_Atomic uint64_t *)&fx.shm.hdr->generation;
}

static _Atomic uint64_t *env_field(uint32_t env)
{
    return &ph_shm_env_stats_at(&fx.shm, env)->requests;
}

static _Atomic uint64_t *mux_field(void)
{
    return &ph_shm_mux_area_at(&fx.shm)->dropped_noenv;
}

static void processor_writes_only_its_region(void)
{
    open_fx();
    /* its own env region: writable */
    CU_ASSERT(exited(try_write(PH_SHM_ROLE_PROCESSOR, 1, env_field(1),
                               PROBE_STORE), 0));
    CU_ASSERT_EQUAL(atomic_load(env_field(1)), 0x5a5a5a5a5a5a5a5aull);
    CU_ASSERT(exited(try_write(PH_SHM_ROLE_PROCESSOR, 1,
                               (_Atomic uint64_t *)&ph_shm_ticket_at(
                                   &fx.shm, 1, 1, 3)->word,
                               PROBE_STORE), 0));
    /* MAIN, the MUX region, the other envs' regions: a store faults */
    CU_ASSERT(refused_store(try_write(PH_SHM_ROLE_PROCESSOR, 1,
                                      main_field(), PROBE_STORE)));
    CU_ASSERT(refused_store(try_write(
        PH_SHM_ROLE_PROCESSOR, 1,
        (_Atomic uint64_t *)&ph_shm_child_at(&fx.shm, 2)->started_us,
        PROBE_STORE)));
    CU_ASSERT(refused_store(try_write(PH_SHM_ROLE_PROCESSOR, 1, mux_field(),
                                      PROBE_STORE)));
    CU_ASSERT(refused_store(try_write(PH_SHM_ROLE_PROCESSOR, 1, env_field(0),
                                      PROBE_STORE)));
    CU_ASSERT(refused_store(try_write(PH_SHM_ROLE_PROCESSOR, 1, env_field(2),
                                      PROBE_STORE)));
    CU_ASSERT(refused_store(try_write(
        PH_SHM_ROLE_PROCESSOR, 1,
        (_Atomic uint64_t *)&ph_shm_ticket_at(&fx.shm, 0, 2, 3)->word,
        PROBE_STORE)));
    CU_ASSERT_EQUAL(atomic_load(env_field(0)), 0u);
    CU_ASSERT_EQUAL(atomic_load(env_field(2)), 0u);
    CU_ASSERT_EQUAL(atomic_load(main_field()), 0u);
    ph_shm_fx_close(&fx);
}

static void test_processor_writes_only_its_region(void)
{
    attach_mode = 0;
    processor_writes_only_its_region();
}

/* A factory's processor, attached by path rather than forked from the
 * creator: the same rights, no more. */
static void test_attached_processor_writes_only_its_region(void)
{
    attach_mode = 1;
    processor_writes_only_its_region();
    attach_mode = 0;
}

/* Attached as the StatusEnvironment's: the other regions' views stay
 * read-only too. */
static void test_attached_views_stay_readonly(void)
{
    int st;

    open_fx();
    attach_mode = 1;
    attach_see_all = 1;
    st = try_write(PH_SHM_ROLE_PROCESSOR, 0, main_field(), PROBE_MPROTECT);
    CU_ASSERT(exited(st, EACCES));
    st = try_write(PH_SHM_ROLE_PROCESSOR, 0, env_field(2), PROBE_MPROTECT);
    CU_ASSERT(exited(st, EACCES));
    st = try_write(PH_SHM_ROLE_PROCESSOR, 0, env_field(1), PROBE_PROCMEM);
    CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) != 0
              && WEXITSTATUS(st) < 100);
    st = try_write(PH_SHM_ROLE_PROCESSOR, 0, env_field(0), PROBE_STORE);
    CU_ASSERT(exited(st, 0));
    /* and they are there to read */
    CU_ASSERT(exited(try_write(PH_SHM_ROLE_PROCESSOR, 0, env_field(2),
                               PROBE_LOAD), 0));
    attach_mode = 0;
    attach_see_all = 0;
    CU_ASSERT_EQUAL(atomic_load(env_field(1)), 0u);
    CU_ASSERT_EQUAL(atomic_load(env_field(0)), 0x5a5a5a5a5a5a5a5aull);
    ph_shm_fx_close(&fx);
}

/* Attached as any other environment's: the other regions are not mapped
 * at all.  A load faults (no tenant reads another's figures); whatever a
 * forced write reaches (mprotect, /proc/self/mem), it is not the segment. */
static void test_attached_processor_sees_no_other_region(void)
{
    int st;

    open_fx();
    attach_mode = 1;
    attach_see_all = 0;
    CU_ASSERT(refused_store(try_write(PH_SHM_ROLE_PROCESSOR, 0, env_field(2),
                                      PROBE_LOAD)));
    CU_ASSERT(refused_store(try_write(PH_SHM_ROLE_PROCESSOR, 0, env_field(1),
                                      PROBE_LOAD)));
    CU_ASSERT(exited(try_write(PH_SHM_ROLE_PROCESSOR, 0, env_field(0),
                               PROBE_LOAD), 0));
    CU_ASSERT(exited(try_write(PH_SHM_ROLE_PROCESSOR, 0, main_field(),
                               PROBE_LOAD), 0));
    st = try_write(PH_SHM_ROLE_PROCESSOR, 0, env_field(2), PROBE_FORCE_STORE);
    CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) < 100);
    st = try_write(PH_SHM_ROLE_PROCESSOR, 0, env_field(1), PROBE_PROCMEM);
    CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) < 100);
    /* the main file's view is still the read-only descriptor's */
    st = try_write(PH_SHM_ROLE_PROCESSOR, 0, main_field(), PROBE_MPROTECT);
    CU_ASSERT(exited(st, EACCES));
    attach_mode = 0;
    CU_ASSERT_EQUAL(atomic_load(env_field(1)), 0u);
    CU_ASSERT_EQUAL(atomic_load(env_field(2)), 0u);
    CU_ASSERT_EQUAL(atomic_load(main_field()), 0u);
    ph_shm_fx_close(&fx);
}

/* Attached without views, the accessors name no other region: NULL, a
 * failed snapshot, no ticket; the own region as before. */
static void test_attached_accessors_name_only_own_region(void)
{
    ph_shm_env_snapshot es;
    ph_ticket_ref t;
    char err[256];
    ph_shm a;

    open_fx();
    CU_ASSERT_FATAL(ph_shm_attach_processor(&a, fx.path, 1, 0, fx.shm.ino,
                                            err, sizeof(err)) == 0);
    CU_ASSERT_PTR_NOT_NULL(ph_shm_env_stats_at(&a, 1));
    CU_ASSERT_PTR_NULL(ph_shm_env_stats_at(&a, 0));
    CU_ASSERT_PTR_NULL(ph_shm_env_stats_at(&a, 2));
    CU_ASSERT_PTR_NOT_NULL(ph_shm_proc_stats_at(&a, 1, 0));
    CU_ASSERT_PTR_NULL(ph_shm_proc_stats_at(&a, 2, 0));
    CU_ASSERT_PTR_NULL(ph_shm_partition_at(&a, 0, 0));
    CU_ASSERT_PTR_NULL(ph_shm_ticket_at(&a, 0, 2, 0));
    CU_ASSERT_EQUAL(ph_shm_env_snapshot_get(&a, 1, 0, &es), 0);
    CU_ASSERT_EQUAL(ph_shm_env_snapshot_get(&a, 2, 0, &es), -1);
    CU_ASSERT_NOT_EQUAL(ph_ticket_alloc(&a, 0, 2, getpid(), &t), 0);
    ph_shm_unmap(&a);
    /* with views (the StatusEnvironment's): every region, read-only */
    CU_ASSERT_FATAL(ph_shm_attach_processor(&a, fx.path, 1, 1, fx.shm.ino,
                                            err, sizeof(err)) == 0);
    CU_ASSERT_PTR_NOT_NULL(ph_shm_env_stats_at(&a, 2));
    CU_ASSERT_EQUAL(ph_shm_env_snapshot_get(&a, 2, 0, &es), 0);
    ph_shm_unmap(&a);
    ph_shm_fx_close(&fx);
}

/* Attach refuses an env beyond the geometry and a replaced segment. */
static void test_attach_refuses(void)
{
    char err[256];
    ph_shm a;

    open_fx();
    CU_ASSERT_EQUAL(ph_shm_attach_processor(&a, fx.path, ENVS, 0, 0, err,
                                            sizeof(err)), EINVAL);
    CU_ASSERT_EQUAL(ph_shm_attach_processor(&a, fx.path, 0, 0, fx.shm.ino + 1,
                                            err, sizeof(err)), ESTALE);
    CU_ASSERT_FATAL(ph_shm_attach_processor(&a, fx.path, 1, 0, fx.shm.ino, err,
                                            sizeof(err)) == 0);
    CU_ASSERT_EQUAL(a.role, PH_SHM_ROLE_PROCESSOR);
    CU_ASSERT_EQUAL(a.own_env, 1u);
    CU_ASSERT_PTR_NULL(a.path);
    ph_shm_unmap(&a);
    ph_shm_fx_close(&fx);
}

/* A read-only view from a read-only descriptor cannot be made writable
 * again: the mapping has no VM_MAYWRITE. */
static void test_readonly_views_stay_readonly(void)
{
    int st;

    open_fx();
    st = try_write(PH_SHM_ROLE_PROCESSOR, 0, main_field(), PROBE_MPROTECT);
    CU_ASSERT(exited(st, EACCES));
    st = try_write(PH_SHM_ROLE_PROCESSOR, 0, env_field(2), PROBE_MPROTECT);
    CU_ASSERT(exited(st, EACCES));
    st = try_write(PH_SHM_ROLE_MULTIPLEXER, 0, main_field(), PROBE_MPROTECT);
    CU_ASSERT(exited(st, EACCES));
    /* /proc/self/mem (a debugger's way past page protection) too */
    st = try_write(PH_SHM_ROLE_PROCESSOR, 0, env_field(1), PROBE_PROCMEM);
    CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) != 0
              && WEXITSTATUS(st) < 100);
    st = try_write(PH_SHM_ROLE_PROCESSOR, 0, main_field(), PROBE_PROCMEM);
    CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) != 0
              && WEXITSTATUS(st) < 100);
    CU_ASSERT_EQUAL(atomic_load(env_field(1)), 0u);
    CU_ASSERT_EQUAL(atomic_load(main_field()), 0u);
    /* its own region: mprotect is allowed (it is writable anyway) */
    st = try_write(PH_SHM_ROLE_PROCESSOR, 0, env_field(0), PROBE_MPROTECT);
    CU_ASSERT(exited(st, 0));
    ph_shm_fx_close(&fx);
}

static void test_multiplexer_writes_mux_and_envs(void)
{
    uint32_t e;

    open_fx();
    CU_ASSERT(refused_store(try_write(PH_SHM_ROLE_MULTIPLEXER, 0,
                                      main_field(), PROBE_STORE)));
    CU_ASSERT(exited(try_write(PH_SHM_ROLE_MULTIPLEXER, 0, mux_field(),
                               PROBE_STORE), 0));
    for (e = 0; e < ENVS; e++) {
        CU_ASSERT(exited(try_write(PH_SHM_ROLE_MULTIPLEXER, 0, env_field(e),
                                   PROBE_STORE), 0));
    }
    CU_ASSERT_EQUAL(atomic_load(main_field()), 0u);
    ph_shm_fx_close(&fx);
}

static void test_reader_writes_nothing(void)
{
    open_fx();
    CU_ASSERT(refused_store(try_write(PH_SHM_ROLE_READER, 0, mux_field(),
                                      PROBE_STORE)));
    CU_ASSERT(refused_store(try_write(PH_SHM_ROLE_READER, 0, env_field(2),
                                      PROBE_STORE)));
    ph_shm_fx_close(&fx);
}

/* After restrict, what stays readable still reads, and a second restrict
 * has nothing to restrict from (the creator's path is forgotten). */
static void test_restrict_closes_descriptors(void)
{
    int status;
    pid_t pid;

    open_fx();
    atomic_store(env_field(2), 42);
    fflush(NULL);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        if (ph_shm_restrict(&fx.shm, PH_SHM_ROLE_PROCESSOR, 0) != 0
            || fx.shm.path != NULL
            || atomic_load(env_field(2)) != 42
            || fx.shm.hdr->magic != PH_SHM_MAGIC) {
            _exit(1);
        }
        /* a second restrict has nothing to restrict from */
        _exit(ph_shm_restrict(&fx.shm, PH_SHM_ROLE_PROCESSOR, 0) == EBADF
                  ? 0 : 2);
    }
    CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
    CU_ASSERT(exited(status, 0));
    ph_shm_fx_close(&fx);
}

/*
 * mremap growth (issue 8): a writable mapping of a file that goes on
 * after it can be grown, or duplicated larger (old_size 0), into a new
 * read-write mapping of the file's following bytes.  Each writable unit
 * is therefore its own file and ends at its end: growth reaches only
 * past the end of the file (SIGBUS), never another writer's bytes.
 *
 * In a child restricted to role (env): grow the writable mapping at
 * [at, at + len) by `by` bytes with mremap `how`, then store at +len of
 * the result.  Exit 0: the store was done; an errno: mremap refused; a
 * signal: the store faulted.
 */
typedef enum grow {
    GROW_MOVE,          /* mremap(at, len, len + by, MAYMOVE) */
    GROW_DUP,           /* mremap(at, 0, len + by, MAYMOVE): a copy */
    GROW_IN_PLACE       /* mremap(at, len, len + by, 0) */
} grow;

static int try_grow(ph_shm_role role, uint32_t env, char *at, size_t len,
                    size_t by, grow how)
{
    int status;
    pid_t pid;
    char *n;

    fflush(NULL);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        if (ph_shm_restrict(&fx.shm, role, env) != 0) {
            _exit(100);
        }
        switch (how) {
        case GROW_MOVE:
            n = mremap(at, len, len + by, MREMAP_MAYMOVE);
            break;
        case GROW_DUP:
            n = mremap(at, 0, len + by, MREMAP_MAYMOVE);
            break;
        default:
            n = mremap(at, len, len + by, 0);
            break;
        }
        if (n == MAP_FAILED) {
            _exit(errno ? errno : 101);
        }
        atomic_store((_Atomic uint64_t *)(n + len), 0x5a5a5a5a5a5a5a5aull);
        _exit(0);
    }
    CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
    return status;
}

/* Refused: mremap failed, or the store past the file's end faulted. */
static int refused_growth(int status)
{
    return refused_store(status)
           || (WIFEXITED(status) && WEXITSTATUS(status) != 0
               && WEXITSTATUS(status) < 100);
}

/* A copy of MUX and every env region, to tell whether a probe wrote
 * anything there. */
static unsigned char *saved;

static void save_regions(void)
{
    const ph_shm_geom *o = &fx.shm.geom;

    free(saved);
    saved = malloc(o->total - o->mux_off);
    CU_ASSERT_FATAL(saved != NULL);
    memcpy(saved, (char *)fx.shm.hdr + o->mux_off, o->total - o->mux_off);
}

static int untouched(void)
{
    const ph_shm_geom *o = &fx.shm.geom;

    return memcmp(saved, (char *)fx.shm.hdr + o->mux_off,
                  o->total - o->mux_off) == 0;
}

static void test_processor_cannot_grow_into_next_region(void)
{
    const ph_shm_geom *o;
    uint32_t e;
    grow how;

    open_fx();
    save_regions();
    o = &fx.shm.geom;
    for (e = 0; e < ENVS; e++) {
        char *mine = (char *)fx.shm.hdr + o->region_off
                     + (uint64_t)e * o->region_stride;
        for (how = GROW_MOVE; how <= GROW_IN_PLACE; how++) {
            int st = try_grow(PH_SHM_ROLE_PROCESSOR, e, mine,
                              o->region_stride, o->region_stride, how);
            CU_ASSERT(refused_growth(st));
            if (!refused_growth(st)) {
                fprintf(stderr, "\n  env %u grew (mode %d) and wrote past "
                        "its region\n", e, (int)how);
            }
            CU_ASSERT(untouched());
        }
    }
    ph_shm_fx_close(&fx);
}

static void test_multiplexer_cannot_grow_mux(void)
{
    const ph_shm_geom *o;
    grow how;

    open_fx();
    save_regions();
    o = &fx.shm.geom;
    for (how = GROW_MOVE; how <= GROW_IN_PLACE; how++) {
        int st = try_grow(PH_SHM_ROLE_MULTIPLEXER, 0,
                          (char *)fx.shm.hdr + o->mux_off, o->mux_size,
                          o->region_stride, how);
        CU_ASSERT(refused_growth(st));
        CU_ASSERT(untouched());
    }
    /* nor an env region (it may write them all, but growth must not
     * reach beyond the one it grows either) */
    CU_ASSERT(refused_growth(try_grow(PH_SHM_ROLE_MULTIPLEXER, 0,
                                      (char *)fx.shm.hdr + o->region_off,
                                      o->region_stride, o->region_stride,
                                      GROW_DUP)));
    CU_ASSERT(untouched());
    ph_shm_fx_close(&fx);
}

/* After restrict a processor holds no descriptor of any segment file
 * (the main file or an environment's). */
static void test_processor_holds_no_segment_fd(void)
{
    int status;
    pid_t pid;

    open_fx();
    fflush(NULL);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        char link[300], target[4096];
        struct dirent *de;
        DIR *d;
        ssize_t n;

        if (ph_shm_restrict(&fx.shm, PH_SHM_ROLE_PROCESSOR, 1) != 0
            || !(d = opendir("/proc/self/fd"))) {
            _exit(100);
        }
        while ((de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.') {
                continue;
            }
            snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
            n = readlink(link, target, sizeof(target) - 1);
            if (n < 0) {
                continue;
            }
            target[n] = '\0';
            if (strncmp(target, fx.path, strlen(fx.path)) == 0) {
                _exit(1);
            }
        }
        closedir(d);
        _exit(0);
    }
    CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
    CU_ASSERT(exited(status, 0));
    ph_shm_fx_close(&fx);
}

static void test_restrict_refuses(void)
{
    char err[256];
    ph_shm ro;

    open_fx();
    /* an env beyond the geometry */
    CU_ASSERT(exited(try_write(PH_SHM_ROLE_PROCESSOR, ENVS, env_field(0),
                               PROBE_STORE), 100));
    /* a reader's mapping has no descriptors to restrict from */
    CU_ASSERT_FATAL(ph_shm_open_readonly(&ro, fx.path, err, sizeof(err))
                    == 0);
    CU_ASSERT_EQUAL(ph_shm_restrict(&ro, PH_SHM_ROLE_PROCESSOR, 0), EBADF);
    ph_shm_unmap(&ro);
    ph_shm_fx_close(&fx);
}

int ph_shm_test_register_restrict(void)
{
    static const ph_shm_test tests[] = {
        { "processor writes only its env region",
          test_processor_writes_only_its_region },
        { "read-only views: mprotect EACCES, /proc/self/mem refused",
          test_readonly_views_stay_readonly },
        { "multiplexer writes MUX and env regions, not MAIN",
          test_multiplexer_writes_mux_and_envs },
        { "reader writes nothing", test_reader_writes_nothing },
        { "attached processor writes only its env region",
          test_attached_processor_writes_only_its_region },
        { "attached processor: read-only views stay read-only",
          test_attached_views_stay_readonly },
        { "attached processor: other regions not mapped, not reached",
          test_attached_processor_sees_no_other_region },
        { "attached processor: accessors name only its own region",
          test_attached_accessors_name_only_own_region },
        { "attach refuses a bad env, another generation's segment",
          test_attach_refuses },
        { "restrict closes the descriptors", test_restrict_closes_descriptors },
        { "restrict refuses a bad env, a reader's mapping",
          test_restrict_refuses },
        { "processor: mremap growth never reaches the next region",
          test_processor_cannot_grow_into_next_region },
        { "multiplexer: mremap growth of MUX reaches nothing",
          test_multiplexer_cannot_grow_mux },
        { "processor holds no descriptor of a segment file",
          test_processor_holds_no_segment_fd },
    };

    return ph_shm_test_add_suite("shm_restrict", tests,
                                 sizeof(tests) / sizeof(tests[0]));
}
