/*
 * test_shm_segment.c -- shm_segment.c: creating the file (header, initial
 * records, mode and group, no descriptor left), opening it read-only and
 * refusing what it must refuse, noticing a replaced file, and the record
 * accessors.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shm_tests.h"

#define MONITOR_GID ((gid_t)4242)
#define NOBODY      ((uid_t)65534)

static ph_shm_geometry geom(uint32_t envs, uint32_t children,
                            uint32_t muxes, uint32_t tickets)
{
    ph_shm_geometry g;

    g.env_capacity = envs;
    g.child_capacity = children;
    g.mux_capacity = muxes;
    g.tickets_per_partition = tickets;
    return g;
}

/* Overwrite bytes of a segment file, as a corrupting writer would. */
static void poke(const char *path, off_t off, const void *bytes, size_t n)
{
    int fd = open(path, O_WRONLY);

    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(pwrite(fd, bytes, n, off) == (ssize_t)n);
    close(fd);
}

static void poke_u32(const char *path, size_t off, uint32_t v)
{
    poke(path, (off_t)off, &v, sizeof(v));
}

static void poke_u64(const char *path, size_t off, uint64_t v)
{
    poke(path, (off_t)off, &v, sizeof(v));
}

/* Open read-only; expect errno value want and a message containing
 * `needle`. */
static void expect_refused(const char *path, int want, const char *needle)
{
    char err[512];
    ph_shm ro;
    int rv = ph_shm_open_readonly(&ro, path, err, sizeof(err));

    CU_ASSERT_EQUAL(rv, want);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, needle));
    CU_ASSERT_EQUAL(ro.magic, 0u);
    if (rv != want || strstr(err, needle) == NULL) {
        printf("\n    got %d \"%s\", wanted %d and \"%s\"\n", rv, err, want,
               needle);
    }
}

static void test_create_fills_header(void)
{
    ph_shm_geometry g = geom(3, 5, 2, 7);
    struct timeval now;
    ph_shm_fx fx;
    const ph_shm_header *h;

    ph_shm_fx_open(&fx, 3, 5, 2, 7);
    h = fx.shm.hdr;
    gettimeofday(&now, NULL);
    CU_ASSERT_EQUAL(fx.shm.magic, PH_SHM_MAP_MAGIC);
    CU_ASSERT_EQUAL(fx.shm.role, PH_SHM_ROLE_PARENT);
    CU_ASSERT_EQUAL(h->magic, PH_SHM_MAGIC);
    CU_ASSERT_EQUAL(h->layout_major, PH_SHM_LAYOUT_MAJOR);
    CU_ASSERT_EQUAL(h->layout_minor, PH_SHM_LAYOUT_MINOR);
    CU_ASSERT_EQUAL(h->header_size, sizeof(ph_shm_header));
    CU_ASSERT_EQUAL(h->env_record_size, sizeof(ph_shm_env));
    CU_ASSERT_EQUAL(h->env_stats_size, sizeof(ph_shm_env_stats));
    CU_ASSERT_EQUAL(h->child_record_size, sizeof(ph_shm_child));
    CU_ASSERT_EQUAL(h->child_stats_size, sizeof(ph_shm_child_stats));
    CU_ASSERT_EQUAL(h->mux_area_size, sizeof(ph_shm_mux_area));
    CU_ASSERT_EQUAL(h->partition_size, sizeof(ph_shm_partition));
    CU_ASSERT_EQUAL(h->ticket_size, sizeof(ph_shm_ticket));
    CU_ASSERT_EQUAL(h->env_capacity, 3u);
    CU_ASSERT_EQUAL(h->child_capacity, 5u);
    CU_ASSERT_EQUAL(h->mux_capacity, 2u);
    CU_ASSERT_EQUAL(h->tickets_per_partition, 7u);
    /* MAIN's arrays on 64-byte boundaries, in order; every region on a
     * page boundary (the unit of protection), in order, no overlap */
    CU_ASSERT_EQUAL(h->page_size, (uint32_t)sysconf(_SC_PAGESIZE));
    CU_ASSERT_EQUAL(h->env_offset % 64, 0u);
    CU_ASSERT_EQUAL(h->child_offset % 64, 0u);
    CU_ASSERT(h->env_offset >= sizeof(ph_shm_header));
    CU_ASSERT(h->child_offset >= h->env_offset + 3 * sizeof(ph_shm_env));
    CU_ASSERT_EQUAL(h->mux_offset % h->page_size, 0u);
    CU_ASSERT_EQUAL(h->region_offset % h->page_size, 0u);
    CU_ASSERT_EQUAL(h->region_stride % h->page_size, 0u);
    CU_ASSERT(h->mux_offset >= h->child_offset + 5 * sizeof(ph_shm_child));
    CU_ASSERT(h->region_offset >= h->mux_offset + sizeof(ph_shm_mux_area)
                                  + 5 * sizeof(ph_shm_child_stats));
    CU_ASSERT(h->region_stride >= sizeof(ph_shm_env_stats)
                                  + 5 * sizeof(ph_shm_child_stats)
                                  + 2 * sizeof(ph_shm_partition)
                                  + 2 * 7 * sizeof(ph_shm_ticket));
    CU_ASSERT_EQUAL(h->total_size, h->region_offset + 3 * h->region_stride);
    CU_ASSERT_EQUAL(h->total_size, ph_shm_size_for(&g));
    CU_ASSERT_EQUAL(fx.shm.size, h->total_size);
    CU_ASSERT_EQUAL(h->creator_pid, (int64_t)getpid());
    CU_ASSERT(h->birth_time_us <= (int64_t)now.tv_sec * 1000000
                                  + now.tv_usec);
    CU_ASSERT(h->birth_time_us > ((int64_t)now.tv_sec - 10) * 1000000);
    CU_ASSERT_EQUAL(atomic_load(&h->generation), 0u);
    CU_ASSERT_EQUAL(atomic_load(&h->env_count), 0u);
    CU_ASSERT_EQUAL(ph_shm_dropped_noenv(&fx.shm), 0u);
    ph_shm_fx_close(&fx);
}

static void test_create_initial_records(void)
{
    ph_shm_fx fx;
    uint32_t i, m, e;

    ph_shm_fx_open(&fx, 3, 5, 2, 7);
    for (i = 0; i < 3; i++) {
        ph_shm_env *env = ph_shm_env_at(&fx.shm, i);
        ph_shm_env_stats *es = ph_shm_env_stats_at(&fx.shm, i);

        CU_ASSERT_EQUAL(ph_shm_avail(es), 100u);
        CU_ASSERT_EQUAL(env->in_use, 0u);
        CU_ASSERT_EQUAL(atomic_load(&es->in_flight), 0);
        CU_ASSERT_EQUAL(atomic_load(&env->seq) % 2, 0u);
    }
    for (i = 0; i < 5; i++) {
        ph_shm_child *c = ph_shm_child_at(&fx.shm, i);

        CU_ASSERT_EQUAL(c->pid, 0);
        CU_ASSERT_EQUAL(c->type, PH_CHILD_TYPE_NONE);
        CU_ASSERT_PTR_NULL(ph_shm_child_stats_of(&fx.shm, i));
        CU_ASSERT_EQUAL(c->env_index, -1);
        CU_ASSERT_EQUAL(c->numa_node, -1);
    }
    for (m = 0; m < 2; m++) {
        for (e = 0; e < 3; e++) {
            ph_shm_partition *p = ph_shm_partition_at(&fx.shm, m, e);

            CU_ASSERT_EQUAL(atomic_load(&p->pending), 0);
            CU_ASSERT_EQUAL(atomic_load(&p->mux_pid), 0u);
            for (i = 0; i < 7; i++) {
                /* generation 0 never names a ticket */
                CU_ASSERT_EQUAL(
                    atomic_load(&ph_shm_ticket_at(&fx.shm, m, e, i)->word),
                    PH_TICKET_WORD(PH_TICKET_GEN_FIRST, PH_TICKET_FREE));
            }
        }
    }
    ph_shm_fx_close(&fx);
}

/* Pages of this process's mapping in [at, at + len) that are resident
 * (mapped after a fault), by mincore. */
static size_t resident_pages(const void *at, size_t len)
{
    unsigned char vec[4096];
    size_t page = (size_t)sysconf(_SC_PAGESIZE), n = len / page, i, got = 0;

    CU_ASSERT_FATAL(n <= sizeof(vec));
    CU_ASSERT_FATAL(mincore((void *)at, len, vec) == 0);
    for (i = 0; i < n; i++) {
        got += vec[i] & 1;
    }
    return got;
}

/* The blocks (512 bytes) environment region e's file holds. */
static uint64_t env_file_blocks(const ph_shm_fx *fx, uint32_t e)
{
    char name[300];
    struct stat st, est;

    CU_ASSERT_FATAL(stat(fx->path, &st) == 0);
    snprintf(name, sizeof(name), "%s.i%llu.e%u", fx->path,
             (unsigned long long)st.st_ino, e);
    CU_ASSERT_FATAL(stat(name, &est) == 0);
    return (uint64_t)est.st_blocks;
}

/* Layout 5.0, pages on use (issue 13): creation reserves only each
 * region's HEAD and touches no page of any region; what a new file holds
 * (zero) is every record's "nothing"; the BODY is reserved on demand. */
static void test_pages_on_use(void)
{
    ph_shm_fx fx;
    const ph_shm_geom *g;
    uint32_t e;

    ph_shm_fx_open(&fx, 3, 64, 4, 256);
    g = &fx.shm.geom;
    CU_ASSERT(g->r_head < g->region_stride);
    CU_ASSERT_EQUAL(g->r_children_off, g->r_head);
    CU_ASSERT(g->r_partition_off + 4 * sizeof(ph_shm_partition) <= g->r_head);
    for (e = 0; e < 3; e++) {
        CU_ASSERT_EQUAL(resident_pages(ph_shm_env_stats_at(&fx.shm, e),
                                       (size_t)g->region_stride), 0u);
        CU_ASSERT_EQUAL(env_file_blocks(&fx, e) * 512, g->r_head);
    }
    /* zero is FREE|1 and AVAIL 100 */
    CU_ASSERT_EQUAL(PH_TICKET_WORD(PH_TICKET_GEN_FIRST, PH_TICKET_FREE), 0u);
    CU_ASSERT_EQUAL(PH_TICKET_GEN(0), (uint64_t)PH_TICKET_GEN_FIRST);
    CU_ASSERT_EQUAL(ph_shm_avail(ph_shm_env_stats_at(&fx.shm, 1)), 100u);
    /* the BODY of region 1, on its first processor */
    CU_ASSERT_EQUAL(ph_shm_env_reserve(&fx.shm, 1), 0);
    CU_ASSERT_EQUAL(env_file_blocks(&fx, 1) * 512, g->region_stride);
    CU_ASSERT_EQUAL(env_file_blocks(&fx, 2) * 512, g->r_head);
    CU_ASSERT_EQUAL(ph_shm_env_reserve(&fx.shm, 1), 0);     /* again */
    CU_ASSERT_EQUAL(ph_shm_env_reserve(&fx.shm, 3), EINVAL);
    ph_shm_fx_close(&fx);
}

static void test_size_for_refuses(void)
{
    ph_shm_geometry g;
    char path[128];
    ph_shm shm;

    g = geom(0, 1, 1, 1);
    CU_ASSERT_EQUAL(ph_shm_size_for(&g), 0u);
    g = geom(1, 1, 1, 0);
    CU_ASSERT_EQUAL(ph_shm_size_for(&g), 0u);
    g = geom(UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX);
    CU_ASSERT_EQUAL(ph_shm_size_for(&g), 0u);       /* overflows */
    ph_shm_fx_path(path, sizeof(path), "zero");
    g = geom(1, 0, 1, 1);
    CU_ASSERT_EQUAL(ph_shm_create(&shm, path, &g, (gid_t)-1), EINVAL);
    CU_ASSERT_EQUAL(access(path, F_OK), -1);        /* nothing left */
    g = geom(1, 1, 1, 1);
    CU_ASSERT(ph_shm_size_for(&g) >= sizeof(ph_shm_header)
                                     + sizeof(ph_shm_env));
}

static void test_create_mode_and_group(void)
{
    ph_shm_geometry g = geom(1, 1, 1, 1);
    char path[128];
    struct stat st;
    mode_t old;
    ph_shm shm;

    ph_shm_fx_path(path, sizeof(path), "mode");
    /* a strict umask must not take the group's read bit away */
    old = umask(077);
    CU_ASSERT_FATAL(ph_shm_create(&shm, path, &g, (gid_t)-1) == 0);
    umask(old);
    CU_ASSERT_FATAL(stat(path, &st) == 0);
    CU_ASSERT_EQUAL(st.st_mode & 07777, 0640u);
    CU_ASSERT_EQUAL(st.st_uid, geteuid());
    CU_ASSERT_EQUAL(st.st_gid, getegid());
    ph_shm_unlink_env_files(&shm);
    ph_shm_unmap(&shm);

    if (geteuid() == 0) {
        CU_ASSERT_FATAL(ph_shm_create(&shm, path, &g, MONITOR_GID) == 0);
        CU_ASSERT_FATAL(stat(path, &st) == 0);
        CU_ASSERT_EQUAL(st.st_mode & 07777, 0640u);
        CU_ASSERT_EQUAL(st.st_uid, 0u);
        CU_ASSERT_EQUAL(st.st_gid, MONITOR_GID);
        ph_shm_unlink_env_files(&shm);
        ph_shm_unmap(&shm);
    }
    unlink(path);
}

/* 1 if this process has a descriptor open on a file named name (whole
 * == 1) or whose name starts with name (whole == 0). */
static int fd_open_named(const char *name, int whole)
{
    char link[300], target[PATH_MAX];
    struct dirent *d;
    DIR *dir = opendir("/proc/self/fd");
    size_t len = strlen(name);
    int found = 0;
    ssize_t n;

    CU_ASSERT_FATAL(dir != NULL);
    while ((d = readdir(dir)) != NULL) {
        snprintf(link, sizeof(link), "/proc/self/fd/%s", d->d_name);
        n = readlink(link, target, sizeof(target) - 1);
        if (n > 0) {
            target[n] = '\0';
            found |= strncmp(target, name, len) == 0
                     && (!whole || target[len] == '\0');
        }
    }
    closedir(dir);
    return found;
}

/* 1 if this process has a descriptor open on path. */
static int fd_open_on(const char *path)
{
    return fd_open_named(path, 1);
}

/* 1 if this process has a descriptor open on a file whose name starts
 * with prefix (the main file or one of its env region files). */
static int fd_open_under(const char *prefix)
{
    return fd_open_named(prefix, 0);
}

static void test_no_descriptor_left(void)
{
    char err[256];
    ph_shm_fx fx;
    ph_shm ro;

    /* neither the creator (its children re-open by path) nor a reader
     * keeps a descriptor of any of the segment's files */
    ph_shm_fx_open(&fx, 3, 1, 1, 1);
    CU_ASSERT_FALSE(fd_open_on(fx.path));
    CU_ASSERT_FALSE(fd_open_under(fx.path));
    CU_ASSERT_FATAL(ph_shm_open_readonly(&ro, fx.path, err, sizeof(err))
                    == 0);
    CU_ASSERT_FALSE(fd_open_under(fx.path));
    ph_shm_unmap(&ro);
    ph_shm_fx_close(&fx);
}

/* One file per writer: path holds MAIN + MUX, each env region is its own
 * file of exactly one region, same owner, group and mode; they go with
 * ph_shm_unlink_env_files. */
static void test_files_by_writer(void)
{
    char name[300];
    struct stat st, est;
    ph_shm_fx fx;
    uint32_t e;

    ph_shm_fx_open(&fx, 3, 2, 2, 4);
    CU_ASSERT_FATAL(stat(fx.path, &st) == 0);
    CU_ASSERT_EQUAL((uint64_t)st.st_size, fx.shm.geom.region_off);
    for (e = 0; e < 3; e++) {
        snprintf(name, sizeof(name), "%s.i%llu.e%u", fx.path,
                 (unsigned long long)st.st_ino, e);
        CU_ASSERT_FATAL(lstat(name, &est) == 0);
        CU_ASSERT(S_ISREG(est.st_mode));
        CU_ASSERT_EQUAL((uint64_t)est.st_size, fx.shm.geom.region_stride);
        CU_ASSERT_EQUAL(est.st_mode & 07777, 0640u);
        CU_ASSERT_EQUAL(est.st_uid, st.st_uid);
        CU_ASSERT_EQUAL(est.st_gid, st.st_gid);
    }
    /* what the parent writes through the mapping is in the env's file */
    atomic_store(&ph_shm_env_stats_at(&fx.shm, 2)->requests, 77);
    {
        ph_shm_env_stats rec;
        int fd;

        snprintf(name, sizeof(name), "%s.i%llu.e2", fx.path,
                 (unsigned long long)st.st_ino);
        fd = open(name, O_RDONLY);
        CU_ASSERT_FATAL(fd >= 0);
        CU_ASSERT_FATAL(pread(fd, &rec, sizeof(rec), 0)
                        == (ssize_t)sizeof(rec));
        CU_ASSERT_EQUAL(atomic_load(&rec.requests), 77u);
        close(fd);
    }
    ph_shm_unlink_env_files(&fx.shm);
    for (e = 0; e < 3; e++) {
        snprintf(name, sizeof(name), "%s.i%llu.e%u", fx.path,
                 (unsigned long long)st.st_ino, e);
        CU_ASSERT_EQUAL(access(name, F_OK), -1);
    }
    /* the mapping lives on (old children keep theirs) */
    CU_ASSERT_EQUAL(atomic_load(&ph_shm_env_stats_at(&fx.shm, 2)->requests),
                    77u);
    ph_shm_fx_close(&fx);
}

static void test_create_replaces_and_ignores_symlink(void)
{
    ph_shm_geometry g = geom(1, 1, 1, 1);
    char path[128], target[128];
    struct stat st;
    ph_shm a, b;
    int fd;

    ph_shm_fx_path(path, sizeof(path), "replace");
    CU_ASSERT_FATAL(ph_shm_create(&a, path, &g, (gid_t)-1) == 0);
    CU_ASSERT_FATAL(ph_shm_create(&b, path, &g, (gid_t)-1) == 0);
    CU_ASSERT(a.ino != b.ino);
    CU_ASSERT_EQUAL(ph_shm_replaced(&a, path), 1);
    CU_ASSERT_EQUAL(ph_shm_replaced(&b, path), 0);
    /* the old mapping stays usable by the old generation */
    CU_ASSERT_EQUAL(a.hdr->magic, PH_SHM_MAGIC);
    ph_shm_unlink_env_files(&a);
    ph_shm_unmap(&a);
    ph_shm_unlink_env_files(&b);
    ph_shm_unmap(&b);
    unlink(path);

    /* a symlink planted at the path is replaced, its target untouched */
    ph_shm_fx_path(target, sizeof(target), "victim");
    fd = open(target, O_CREAT | O_WRONLY, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(write(fd, "keep", 4) == 4);
    close(fd);
    CU_ASSERT_FATAL(symlink(target, path) == 0);
    CU_ASSERT_FATAL(ph_shm_create(&a, path, &g, (gid_t)-1) == 0);
    CU_ASSERT_FATAL(lstat(path, &st) == 0);
    CU_ASSERT(S_ISREG(st.st_mode));
    CU_ASSERT_FATAL(stat(target, &st) == 0);
    CU_ASSERT_EQUAL(st.st_size, 4);
    ph_shm_unlink_env_files(&a);
    ph_shm_unmap(&a);
    unlink(path);
    unlink(target);
}

static void test_open_readonly_reads_and_cannot_write(void)
{
    char err[256];
    ph_shm_fx fx;
    ph_shm ro;
    pid_t pid;
    int status;

    ph_shm_fx_open(&fx, 2, 3, 1, 4);
    atomic_store(&ph_shm_env_stats_at(&fx.shm, 1)->requests, 77);
    CU_ASSERT_FATAL(ph_shm_open_readonly(&ro, fx.path, err, sizeof(err))
                    == 0);
    CU_ASSERT_EQUAL(ro.role, PH_SHM_ROLE_READER);
    CU_ASSERT_EQUAL(ro.size, fx.shm.size);
    CU_ASSERT_EQUAL(ro.geom.children, 3u);
    CU_ASSERT_EQUAL(memcmp(&ro.geom, &fx.shm.geom, sizeof(ro.geom)), 0);
    CU_ASSERT_EQUAL(atomic_load(&ph_shm_env_stats_at(&ro, 1)->requests),
                    77u);
    /* the writer's changes show through the reader's mapping */
    atomic_store(&ph_shm_env_stats_at(&fx.shm, 1)->requests, 78);
    CU_ASSERT_EQUAL(atomic_load(&ph_shm_env_stats_at(&ro, 1)->requests),
                    78u);
    CU_ASSERT_EQUAL(ph_shm_replaced(&ro, fx.path), 0);

    /* a write through the read-only mapping faults */
    fflush(NULL);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        atomic_store(&ph_shm_env_stats_at(&ro, 1)->requests, 1);
        _exit(0);
    }
    CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
    CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
    ph_shm_unmap(&ro);
    ph_shm_fx_close(&fx);
}

static void test_open_missing(void)
{
    char path[128];

    ph_shm_fx_path(path, sizeof(path), "missing");
    expect_refused(path, ENOENT, "no server running");
    expect_refused(path, ENOENT, path);
    expect_refused(ph_shm_fx_base, EINVAL, "not a regular file");
}

/* In a child that dropped to nobody (with `group` as its only
 * supplementary group, or none): the errno of opening path. */
static int open_as_nobody(const char *path, gid_t group, char *err,
                          size_t errlen)
{
    int fds[2], rv = -1, status;
    pid_t pid;

    CU_ASSERT_FATAL(pipe(fds) == 0);
    fflush(NULL);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        ph_shm ro;
        char msg[256] = "";
        int r;

        close(fds[0]);
        if ((group != (gid_t)-1 ? setgroups(1, &group) : setgroups(0, NULL))
            || setgid(NOBODY) || setuid(NOBODY)) {
            _exit(99);
        }
        r = ph_shm_open_readonly(&ro, path, msg, sizeof(msg));
        if (write(fds[1], &r, sizeof(r)) != (ssize_t)sizeof(r)
            || write(fds[1], msg, sizeof(msg)) != (ssize_t)sizeof(msg)) {
            _exit(98);
        }
        _exit(0);
    }
    close(fds[1]);
    if (read(fds[0], &rv, sizeof(rv)) != (ssize_t)sizeof(rv)
        || read(fds[0], err, errlen) <= 0) {
        rv = -1;
    }
    close(fds[0]);
    waitpid(pid, &status, 0);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return rv;
}

static void test_only_root_and_monitoring_group_read(void)
{
    ph_shm_geometry g = geom(1, 1, 1, 1);
    char path[128], err[256];
    ph_shm shm;

    if (geteuid() != 0) {
        printf("(skipped: needs root) ");
        return;
    }
    ph_shm_fx_path(path, sizeof(path), "perm");
    CU_ASSERT_FATAL(ph_shm_create(&shm, path, &g, MONITOR_GID) == 0);
    CU_ASSERT_EQUAL(open_as_nobody(path, (gid_t)-1, err, sizeof(err)),
                    EACCES);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "permission denied"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "monitoring group"));
    CU_ASSERT_EQUAL(open_as_nobody(path, MONITOR_GID, err, sizeof(err)), 0);
    ph_shm_unlink_env_files(&shm);
    ph_shm_unmap(&shm);
    unlink(path);
}

static void test_open_bad_magic(void)
{
    ph_shm_fx fx;

    ph_shm_fx_open(&fx, 1, 1, 1, 1);
    poke_u32(fx.path, offsetof(ph_shm_header, magic), 0xdeadbeefu);
    expect_refused(fx.path, EINVAL, "not a peruser_hybrid segment");
    /* magic 0: a segment still being created */
    poke_u32(fx.path, offsetof(ph_shm_header, magic), 0);
    expect_refused(fx.path, EAGAIN, "not initialised yet");
    ph_shm_fx_close(&fx);
}

static void test_open_unknown_major(void)
{
    ph_shm_fx fx;
    uint16_t v = PH_SHM_LAYOUT_MAJOR + 1;

    ph_shm_fx_open(&fx, 1, 1, 1, 1);
    poke(fx.path, offsetof(ph_shm_header, layout_major), &v, sizeof(v));
    {
        /* the minor stays whatever this build writes */
        char want[64];
        snprintf(want, sizeof(want), "layout %u.%u", v, PH_SHM_LAYOUT_MINOR);
        expect_refused(fx.path, EPROTONOSUPPORT, want);
        snprintf(want, sizeof(want), "newer than this program understands "
                 "(%u.x)", PH_SHM_LAYOUT_MAJOR);
        expect_refused(fx.path, EPROTONOSUPPORT, want);
    }
    v = 2;      /* a 2.x segment: one file, env regions inside it */
    poke(fx.path, offsetof(ph_shm_header, layout_major), &v, sizeof(v));
    expect_refused(fx.path, EPROTONOSUPPORT, "older");
    v = 1;      /* a 1.x segment: one region, writable by every child */
    poke(fx.path, offsetof(ph_shm_header, layout_major), &v, sizeof(v));
    expect_refused(fx.path, EPROTONOSUPPORT, "older");
    ph_shm_fx_close(&fx);
}

static void test_open_record_size_mismatch(void)
{
    static const size_t fields[] = {
        offsetof(ph_shm_header, header_size),
        offsetof(ph_shm_header, env_record_size),
        offsetof(ph_shm_header, env_stats_size),
        offsetof(ph_shm_header, child_record_size),
        offsetof(ph_shm_header, child_stats_size),
        offsetof(ph_shm_header, mux_area_size),
        offsetof(ph_shm_header, partition_size),
        offsetof(ph_shm_header, ticket_size),
    };
    ph_shm_fx fx;
    size_t i;

    for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        ph_shm_fx_open(&fx, 1, 1, 1, 1);
        poke_u32(fx.path, fields[i], 200);
        expect_refused(fx.path, EPROTONOSUPPORT, "record sizes");
        ph_shm_fx_close(&fx);
    }
}

static void test_open_truncated(void)
{
    ph_shm_fx fx;

    char name[300];
    struct stat st;

    ph_shm_fx_open(&fx, 2, 2, 2, 2);
    /* an env region's file shorter or longer than one region */
    CU_ASSERT_FATAL(stat(fx.path, &st) == 0);
    snprintf(name, sizeof(name), "%s.i%llu.e1", fx.path,
             (unsigned long long)st.st_ino);
    CU_ASSERT_FATAL(truncate(name, (off_t)fx.shm.geom.region_stride - 64)
                    == 0);
    expect_refused(fx.path, EINVAL, "not one region");
    CU_ASSERT_FATAL(truncate(name, (off_t)fx.shm.geom.region_stride * 2)
                    == 0);
    expect_refused(fx.path, EINVAL, "not one region");
    /* the main file */
    CU_ASSERT_FATAL(truncate(fx.path, (off_t)fx.shm.geom.region_off - 64)
                    == 0);
    expect_refused(fx.path, EINVAL, "truncated");
    CU_ASSERT_FATAL(truncate(fx.path, 100) == 0);
    expect_refused(fx.path, EINVAL, "truncated");
    CU_ASSERT_FATAL(truncate(fx.path, 0) == 0);
    expect_refused(fx.path, EINVAL, "truncated");
    ph_shm_fx_close(&fx);
}

static void test_open_counts_and_offsets_beyond_file(void)
{
    ph_shm_fx fx;
    uint64_t total;

    /* a region pushed past the end of the file */
    ph_shm_fx_open(&fx, 2, 2, 2, 2);
    total = fx.shm.hdr->total_size;
    poke_u64(fx.path, offsetof(ph_shm_header, region_offset), total);
    expect_refused(fx.path, EINVAL, "inconsistent");
    ph_shm_fx_close(&fx);

    /* a count that would need more than the file holds */
    ph_shm_fx_open(&fx, 2, 2, 2, 2);
    poke_u32(fx.path, offsetof(ph_shm_header, tickets_per_partition),
             UINT32_MAX);
    expect_refused(fx.path, EINVAL, "inconsistent");
    ph_shm_fx_close(&fx);
    ph_shm_fx_open(&fx, 2, 2, 2, 2);
    poke_u32(fx.path, offsetof(ph_shm_header, env_capacity), 3);
    expect_refused(fx.path, EINVAL, "inconsistent");
    ph_shm_fx_close(&fx);

    /* a claimed size beyond the file */
    ph_shm_fx_open(&fx, 2, 2, 2, 2);
    poke_u64(fx.path, offsetof(ph_shm_header, total_size),
             fx.shm.size + 4096);
    expect_refused(fx.path, EINVAL, "inconsistent");
    ph_shm_fx_close(&fx);

    /* overlapping arrays */
    ph_shm_fx_open(&fx, 2, 2, 2, 2);
    poke_u64(fx.path, offsetof(ph_shm_header, child_offset),
             fx.shm.hdr->env_offset);
    expect_refused(fx.path, EINVAL, "inconsistent");
    ph_shm_fx_close(&fx);

    /* a region off its page */
    ph_shm_fx_open(&fx, 2, 2, 2, 2);
    poke_u64(fx.path, offsetof(ph_shm_header, region_stride),
             fx.shm.hdr->region_stride + 8);
    expect_refused(fx.path, EINVAL, "inconsistent");
    ph_shm_fx_close(&fx);

    /* a page size that is no page size */
    ph_shm_fx_open(&fx, 2, 2, 2, 2);
    poke_u32(fx.path, offsetof(ph_shm_header, page_size), 4097);
    expect_refused(fx.path, EINVAL, "inconsistent");
    ph_shm_fx_close(&fx);

    /* a zero count */
    ph_shm_fx_open(&fx, 2, 2, 2, 2);
    poke_u32(fx.path, offsetof(ph_shm_header, mux_capacity), 0);
    expect_refused(fx.path, EINVAL, "inconsistent");
    ph_shm_fx_close(&fx);
}

static void test_replaced(void)
{
    ph_shm_geometry g = geom(1, 1, 1, 1);
    char err[256];
    ph_shm_fx fx;
    ph_shm ro, again;

    ph_shm_fx_open(&fx, 1, 1, 1, 1);
    CU_ASSERT_FATAL(ph_shm_open_readonly(&ro, fx.path, err, sizeof(err))
                    == 0);
    CU_ASSERT_EQUAL(ph_shm_replaced(&ro, fx.path), 0);
    /* stopped: the file is gone */
    unlink(fx.path);
    CU_ASSERT_EQUAL(ph_shm_replaced(&ro, fx.path), 1);
    /* restarted: a new file at the same path */
    CU_ASSERT_FATAL(ph_shm_create(&again, fx.path, &g, (gid_t)-1) == 0);
    CU_ASSERT_EQUAL(ph_shm_replaced(&ro, fx.path), 1);
    CU_ASSERT_EQUAL(ph_shm_replaced(&again, fx.path), 0);
    ph_shm_unmap(&ro);
    /* an unmapped handle has nothing to compare */
    CU_ASSERT_EQUAL(ph_shm_replaced(&ro, fx.path), 1);
    ph_shm_unlink_env_files(&again);
    ph_shm_unmap(&again);
    ph_shm_unlink_env_files(&fx.shm);
    ph_shm_unmap(&fx.shm);
    unlink(fx.path);
}

static void test_accessors(void)
{
    ph_shm_fx fx;
    const ph_shm_header *h;
    char *base, *region;

    ph_shm_fx_open(&fx, 3, 4, 2, 5);
    h = fx.shm.hdr;
    base = (char *)fx.shm.hdr;
    region = base + h->region_offset + 2 * h->region_stride;
    CU_ASSERT_PTR_EQUAL(ph_shm_env_at(&fx.shm, 2),
                        base + h->env_offset + 2 * sizeof(ph_shm_env));
    CU_ASSERT_PTR_EQUAL(ph_shm_child_at(&fx.shm, 3),
                        base + h->child_offset + 3 * sizeof(ph_shm_child));
    CU_ASSERT_PTR_EQUAL(ph_shm_env_stats_at(&fx.shm, 2), region);
    CU_ASSERT_PTR_EQUAL(ph_shm_mux_area_at(&fx.shm), base + h->mux_offset);
    /* everything of env 2 inside env 2's region */
    CU_ASSERT((char *)ph_shm_proc_stats_at(&fx.shm, 2, 3) >= region);
    CU_ASSERT((char *)(ph_shm_proc_stats_at(&fx.shm, 2, 3) + 1)
              <= region + h->region_stride);
    CU_ASSERT((char *)ph_shm_partition_at(&fx.shm, 1, 2) >= region);
    CU_ASSERT((char *)(ph_shm_ticket_at(&fx.shm, 1, 2, 4) + 1)
              <= region + h->region_stride);
    CU_ASSERT_PTR_EQUAL(ph_shm_ticket_at(&fx.shm, 1, 2, 4),
                        ph_shm_ticket_at(&fx.shm, 0, 2, 0) + 5 + 4);
    /* multiplexers' figures in the MUX region */
    CU_ASSERT((char *)ph_shm_mux_stats_at(&fx.shm, 3) > base + h->mux_offset);
    CU_ASSERT((char *)(ph_shm_mux_stats_at(&fx.shm, 3) + 1)
              <= base + h->region_offset);
    /* the last ticket ends inside the mapping */
    CU_ASSERT((char *)(ph_shm_ticket_at(&fx.shm, 1, 2, 4) + 1)
              <= base + fx.shm.size);
    ph_shm_fx_close(&fx);
}

/* Every index is checked against the private geometry, whatever the
 * header says. */
static void test_accessors_refuse_out_of_range(void)
{
    ph_shm_fx fx;

    ph_shm_fx_open(&fx, 3, 4, 2, 5);
    fx.shm.hdr->env_capacity = 1000;    /* scribbled: not read */
    fx.shm.hdr->child_capacity = 1000;
    CU_ASSERT_PTR_NULL(ph_shm_env_at(&fx.shm, 3));
    CU_ASSERT_PTR_NULL(ph_shm_env_stats_at(&fx.shm, 3));
    CU_ASSERT_PTR_NULL(ph_shm_env_stats_at(&fx.shm, UINT32_MAX));
    CU_ASSERT_PTR_NULL(ph_shm_child_at(&fx.shm, 4));
    CU_ASSERT_PTR_NULL(ph_shm_proc_stats_at(&fx.shm, 3, 0));
    CU_ASSERT_PTR_NULL(ph_shm_proc_stats_at(&fx.shm, 0, 4));
    CU_ASSERT_PTR_NULL(ph_shm_mux_stats_at(&fx.shm, 4));
    CU_ASSERT_PTR_NULL(ph_shm_partition_at(&fx.shm, 2, 0));
    CU_ASSERT_PTR_NULL(ph_shm_partition_at(&fx.shm, 0, 3));
    CU_ASSERT_PTR_NULL(ph_shm_ticket_at(&fx.shm, 0, 0, 5));
    CU_ASSERT_PTR_NULL(ph_shm_ticket_at(&fx.shm, 2, 0, 0));
    CU_ASSERT_PTR_NULL(ph_shm_child_stats_of(&fx.shm, 0));  /* free */
    CU_ASSERT_PTR_NULL(ph_shm_child_stats_of(&fx.shm, 4));
    CU_ASSERT_PTR_NOT_NULL(ph_shm_env_at(&fx.shm, 2));
    CU_ASSERT_PTR_NOT_NULL(ph_shm_ticket_at(&fx.shm, 1, 2, 4));
    ph_shm_fx_close(&fx);
}

static void test_unmap_and_dropped_noenv(void)
{
    ph_shm_fx fx;

    ph_shm_fx_open(&fx, 1, 1, 1, 1);
    atomic_store(&ph_shm_mux_area_at(&fx.shm)->dropped_noenv, 12);
    CU_ASSERT_EQUAL(ph_shm_dropped_noenv(&fx.shm), 12u);
    ph_shm_unlink_env_files(&fx.shm);
    ph_shm_unmap(&fx.shm);
    CU_ASSERT_EQUAL(fx.shm.magic, 0u);
    CU_ASSERT_PTR_NULL(fx.shm.hdr);
    ph_shm_unmap(&fx.shm);                  /* twice: harmless */
    unlink(fx.path);
}

int ph_shm_test_register_segment(void)
{
    static const ph_shm_test tests[] = {
        { "create fills the header", test_create_fills_header },
        { "create: initial records", test_create_initial_records },
        { "pages on use: HEAD reserved, nothing touched",
          test_pages_on_use },
        { "size_for and create refuse bad geometry", test_size_for_refuses },
        { "create: mode 0640, monitoring group", test_create_mode_and_group },
        { "no descriptor kept, creator or reader", test_no_descriptor_left },
        { "one file per writer, env files unlinked", test_files_by_writer },
        { "create replaces the old file, ignores a symlink",
          test_create_replaces_and_ignores_symlink },
        { "open read-only: reads, cannot write",
          test_open_readonly_reads_and_cannot_write },
        { "open: missing file, not a file", test_open_missing },
        { "only root and the monitoring group read",
          test_only_root_and_monitoring_group_read },
        { "open refuses a bad magic", test_open_bad_magic },
        { "open refuses an unknown major", test_open_unknown_major },
        { "open refuses other record sizes", test_open_record_size_mismatch },
        { "open refuses a truncated file", test_open_truncated },
        { "open refuses counts/offsets beyond the file",
          test_open_counts_and_offsets_beyond_file },
        { "replaced: stopped, restarted", test_replaced },
        { "record accessors", test_accessors },
        { "accessors refuse out-of-range indexes",
          test_accessors_refuse_out_of_range },
        { "unmap, dropped_noenv", test_unmap_and_dropped_noenv },
    };

    return ph_shm_test_add_suite("shm_segment", tests,
                                 sizeof(tests) / sizeof(tests[0]));
}
