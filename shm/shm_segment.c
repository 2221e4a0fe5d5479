/*
 * shm_segment.c -- the segment file: create it (parent), restrict a
 * child's mapping to what it writes, map it read-only and validate it
 * (pstat, tests), notice that it was replaced, and find records in it.
 *
 * The layout is drawn in ph_shm_layout.h.  Regions start on pages (the
 * unit of protection); inside a region every array starts on a 64-byte
 * boundary so that records of different arrays never share a cache line.
 * The layout is a function of four capacities and the page size
 * (ph_shm_geom_compute): the creator computes it from its configuration,
 * a reader recomputes it from the header and refuses a header whose
 * offsets differ.  Either way the result is kept in the ph_shm, and no
 * record is ever found through the mapped header afterwards.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "ph_shm.h"
#include "shm_internal.h"

#define SHM_ALIGN   64u
#define SHM_MODE    0640

#define PAGE_MIN    4096u
#define PAGE_MAX    65536u

static int align_up(uint64_t v, uint64_t align, uint64_t *out)
{
    if (v > UINT64_MAX - (align - 1)) {
        return -1;
    }
    *out = (v + align - 1) & ~(align - 1);
    return 0;
}

/* end = start + n * size, or -1 on overflow. */
static int array_end(uint64_t start, uint64_t n, uint64_t size,
                     uint64_t *end)
{
    uint64_t bytes;

    if (__builtin_mul_overflow(n, size, &bytes)
        || __builtin_add_overflow(start, bytes, end)) {
        return -1;
    }
    return 0;
}

/*
 * The layout of capacities g (drawn in ph_shm_layout.h): arrays aligned
 * to 64 bytes inside a region (records of different arrays never share a
 * cache line), regions aligned to pages (the unit of protection).
 */
int ph_shm_geom_compute(const ph_shm_geometry *g, uint32_t page,
                        ph_shm_geom *o)
{
    uint64_t end, tickets, regions;

    memset(o, 0, sizeof(*o));
    if (g->env_capacity == 0 || g->child_capacity == 0
        || g->mux_capacity == 0 || g->tickets_per_partition == 0
        || page < PAGE_MIN || page > PAGE_MAX || (page & (page - 1)) != 0) {
        return -1;
    }
    o->envs = g->env_capacity;
    o->children = g->child_capacity;
    o->muxes = g->mux_capacity;
    o->tickets = g->tickets_per_partition;
    o->page = page;
    /* MAIN */
    if (align_up(sizeof(ph_shm_header), SHM_ALIGN, &o->env_off)
        || array_end(o->env_off, o->envs, sizeof(ph_shm_env), &end)
        || align_up(end, SHM_ALIGN, &o->child_off)
        || array_end(o->child_off, o->children, sizeof(ph_shm_child), &end)
        || align_up(end, page, &o->main_size)) {
        return -1;
    }
    /* MUX */
    o->mux_off = o->main_size;
    o->demand_words = (uint32_t)(((uint64_t)o->envs + 63) / 64);
    if (align_up(sizeof(ph_shm_mux_area), SHM_ALIGN, &o->mux_children_off)
        || array_end(o->mux_children_off, o->children,
                     sizeof(ph_shm_child_stats), &end)
        || align_up(end, SHM_ALIGN, &o->mux_demand_off)
        || array_end(o->mux_demand_off, o->demand_words, sizeof(uint64_t),
                     &end)
        || align_up(end, SHM_ALIGN, &o->mux_used_off)
        || array_end(o->mux_used_off, o->demand_words, sizeof(uint64_t),
                     &end)
        || align_up(end, page, &o->mux_size)
        || __builtin_add_overflow(o->mux_off, o->mux_size, &o->region_off)) {
        return -1;
    }
    /* one ENV REGION: its HEAD (counters and partitions, what is
     * written for an environment without processors) on pages of its
     * own, then its BODY (ph_shm_layout.h) */
    if (__builtin_mul_overflow((uint64_t)o->muxes, o->tickets, &tickets)
        || align_up(sizeof(ph_shm_env_stats), SHM_ALIGN, &o->r_partition_off)
        || array_end(o->r_partition_off, o->muxes, sizeof(ph_shm_partition),
                     &end)
        || align_up(end, page, &o->r_head)
        || array_end(o->r_head, o->children, sizeof(ph_shm_child_stats),
                     &end)
        || align_up(end, SHM_ALIGN, &o->r_ticket_off)
        || array_end(o->r_ticket_off, tickets, sizeof(ph_shm_ticket),
                     &o->r_size)
        || align_up(o->r_size, page, &o->region_stride)) {
        return -1;
    }
    o->r_children_off = o->r_head;
    if (__builtin_mul_overflow((uint64_t)o->envs, o->region_stride, &regions)
        || __builtin_add_overflow(o->region_off, regions, &o->total)) {
        return -1;
    }
    /* The whole segment is mapped at once: it must fit a size_t and an
     * off_t. */
    if (o->total > (uint64_t)SIZE_MAX || o->total > (uint64_t)INT64_MAX) {
        return -1;
    }
    return 0;
}

static uint32_t page_size(void)
{
    long p = sysconf(_SC_PAGESIZE);

    return p > 0 ? (uint32_t)p : PAGE_MIN;
}

uint64_t ph_shm_size_for(const ph_shm_geometry *g)
{
    ph_shm_geom o;

    return ph_shm_geom_compute(g, page_size(), &o) == 0 ? o.total : 0;
}

static int64_t wall_clock_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Everything but the magic, which is written last (see ph_shm_create). */
static void fill_header(ph_shm_header *h, const ph_shm_geom *o)
{
    h->layout_major = PH_SHM_LAYOUT_MAJOR;
    h->layout_minor = PH_SHM_LAYOUT_MINOR;
    h->header_size = sizeof(ph_shm_header);
    h->env_record_size = sizeof(ph_shm_env);
    h->env_stats_size = sizeof(ph_shm_env_stats);
    h->child_record_size = sizeof(ph_shm_child);
    h->child_stats_size = sizeof(ph_shm_child_stats);
    h->mux_area_size = sizeof(ph_shm_mux_area);
    h->partition_size = sizeof(ph_shm_partition);
    h->ticket_size = sizeof(ph_shm_ticket);
    h->env_capacity = o->envs;
    h->child_capacity = o->children;
    h->mux_capacity = o->muxes;
    h->tickets_per_partition = o->tickets;
    h->page_size = o->page;
    h->env_offset = o->env_off;
    h->child_offset = o->child_off;
    h->mux_offset = o->mux_off;
    h->region_offset = o->region_off;
    h->region_stride = o->region_stride;
    h->total_size = o->total;
    h->creator_pid = (int64_t)getpid();
    h->birth_time_us = wall_clock_us();
    atomic_store_explicit(&h->generation, 0, memory_order_relaxed);
    atomic_store_explicit(&h->env_count, 0, memory_order_relaxed);
}

/*
 * The files are new and therefore zero-filled: every ticket FREE|1 (the
 * word holds the generation minus one), every partition empty, every
 * counter 0, AVAIL 100 (stored as unavail 0), every child STANDBY.  Only
 * the child identities, in MAIN, have a "nothing" that is not zero; no
 * environment region is written (touched) here (ph_shm_layout.h, "pages
 * on use").
 */
static void fill_records(const ph_shm *shm)
{
    const ph_shm_geom *o = &shm->geom;
    ph_shm_child *child;
    uint32_t i;

    for (i = 0; i < o->children; i++) {
        child = ph_shm_child_at(shm, i);
        child->type = PH_CHILD_TYPE_NONE;
        child->env_index = -1;
        child->numa_node = -1;
    }
}

/*
 * The file of ENV REGION e of the segment whose main file (MAIN + MUX) is
 * inode ino at path: "<path>.i<ino>.e<e>".  Named after the main file's
 * inode, which is unique while that file exists and is what a reader
 * already follows, so that two segments built at the same path (a
 * restart, a test) never share an environment's file.
 */
static int env_file_name(char *buf, size_t len, const char *path, ino_t ino,
                         uint32_t e)
{
    int n = snprintf(buf, len, "%s.i%llu.e%u", path, (unsigned long long)ino,
                     e);

    return n < 0 || (size_t)n >= len ? ENAMETOOLONG : 0;
}

/*
 * Create a new file of size bytes at name, replacing whatever was there,
 * owned by group gid ((gid_t)-1: the caller's), mode SHM_MODE, its first
 * `reserve` bytes of pages reserved (the rest is a hole until used).
 * set_mode: open() applied a umask that takes bits of SHM_MODE away, so the
 * mode is set again.  Returns 0 with the O_RDWR descriptor in *out, or an
 * errno value (and nothing at name).  An environment's file has a name of
 * its own generation (the new main file's inode is in it), so the first
 * open normally succeeds: the syscalls a file costs count at 10,000
 * environments (issue 13, start-up).
 */
/* A new file at name, or -1 (errno).  O_EXCL|O_NOFOLLOW: never write
 * through a file or symlink someone planted.  O_CLOEXEC: no exec'd
 * program ever inherits it (and it is closed once mapped anyway). */
static int open_new(const char *name)
{
    return open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                SHM_MODE);
}

static int make_file(const char *name, uint64_t size, uint64_t reserve,
                     gid_t gid, int set_mode, int *out)
{
    int fd, rv;

    /* Something already there is unlinked, and the open tried once more. */
    fd = open_new(name);
    if (fd < 0 && errno == EEXIST) {
        if (unlink(name) != 0 && errno != ENOENT) {
            return errno;
        }
        fd = open_new(name);
    }
    if (fd < 0) {
        return errno;
    }
    if (gid != (gid_t)-1 && fchown(fd, (uid_t)-1, gid) != 0) {
        rv = errno;
        goto fail;
    }
    /* The mode is part of the contract (root writes, the monitoring group
     * reads, nobody else). */
    if ((set_mode && fchmod(fd, SHM_MODE) != 0)
        || ftruncate(fd, (off_t)size) != 0) {
        rv = errno;
        goto fail;
    }
    /* Reserve the pages written before use now: a full tmpfs must fail
     * here, not raise SIGBUS in a child that touches them later (a
     * region's BODY: ph_shm_env_reserve). */
    if ((rv = posix_fallocate(fd, 0, (off_t)reserve)) != 0) {
        goto fail;
    }
    *out = fd;
    return 0;

fail:
    close(fd);
    unlink(name);
    return rv;
}

/* Whether the umask takes bits of SHM_MODE away from a new file (read
 * once per segment: the parent is one thread). */
static int umask_narrows(void)
{
    mode_t mask = umask(0);

    umask(mask);
    return (SHM_MODE & mask) != 0;
}

/*
 * Map len bytes of fd from offset off over [at, at + len) of a
 * reservation of this process, with prot.  MADV_RANDOM: a fault maps the
 * one page touched.  Without it, a read fault on a file that is not on
 * tmpfs reads ahead and maps the pages around it (64 kB here): one look at
 * an environment's counters would bring its whole region into this
 * process, and pages on use (ph_shm_layout.h) would be lost.  Advice
 * only: a kernel that ignores it costs memory, not correctness.
 */
static int map_fixed_at(void *at, uint64_t len, int prot, int fd,
                        uint64_t off)
{
    if (mmap(at, (size_t)len, prot, MAP_SHARED | MAP_FIXED, fd, (off_t)off)
        != at) {
        return errno ? errno : EINVAL;
    }
    (void)madvise(at, (size_t)len, MADV_RANDOM);
    return 0;
}

/* The first len bytes of fd at `at` (map_fixed_at). */
static int map_fixed(void *at, uint64_t len, int prot, int fd)
{
    return map_fixed_at(at, len, prot, fd, 0);
}

/* Reserve total bytes of address space, mapped to nothing usable, for
 * the files to be mapped into at their offsets. */
static void *reserve(uint64_t total)
{
    void *at = mmap(NULL, (size_t)total, PROT_NONE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

    return at == MAP_FAILED ? NULL : at;
}

/* Unlink the files of env regions [0, n) of the segment (path, ino). */
static void unlink_env_files(const char *path, ino_t ino, uint32_t n)
{
    char name[4096];
    uint32_t e;

    for (e = 0; e < n; e++) {
        if (env_file_name(name, sizeof(name), path, ino, e) == 0) {
            unlink(name);
        }
    }
}

int ph_shm_create(ph_shm *shm, const char *path, const ph_shm_geometry *g,
                  gid_t monitor_gid)
{
    ph_shm_geom o;
    struct stat st;
    char tmp[4096], name[4096];
    char *base = NULL, *copy = NULL;
    uint32_t e, made = 0;
    int fd, rv, set_mode;

    memset(shm, 0, sizeof(*shm));
    memset(&st, 0, sizeof(st));
    if (ph_shm_geom_compute(g, page_size(), &o) != 0) {
        return EINVAL;
    }
    /* The main file (MAIN + MUX) is built under a temporary name and
     * renamed over path once filled, after every env file exists: a
     * reader finds the old segment or the new one, never a half-made one
     * (a new one every generation), and always a new inode
     * (ph_shm_replaced). */
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new.%ld", path,
                         (long)getpid()) >= sizeof(tmp)) {
        return ENAMETOOLONG;
    }
    set_mode = umask_narrows();
    if ((rv = make_file(tmp, o.region_off, o.region_off, monitor_gid,
                        set_mode, &fd)) != 0) {
        return rv;
    }
    if (fstat(fd, &st) != 0) {
        rv = errno;
        close(fd);
        goto fail;
    }
    /* One reservation of the whole size, each file mapped at its offset
     * in it: every address is still base + offset (ph_shm_layout.h). */
    if ((base = reserve(o.total)) == NULL) {
        rv = errno ? errno : ENOMEM;
        close(fd);
        goto fail;
    }
    rv = map_fixed(base, o.region_off, PROT_READ | PROT_WRITE, fd);
    close(fd);
    if (rv != 0) {
        goto fail;
    }
    /* One file per ENV REGION, each exactly one region long: growing a
     * writable mapping of one (mremap) reaches only past its end. */
    for (e = 0; e < o.envs; e++) {
        if ((rv = env_file_name(name, sizeof(name), path, st.st_ino, e)) != 0
            || (rv = make_file(name, o.region_stride, o.r_head, monitor_gid,
                               set_mode, &fd)) != 0) {
            goto fail;
        }
        made = e + 1;
        rv = map_fixed(base + o.region_off + (uint64_t)e * o.region_stride,
                       o.region_stride, PROT_READ | PROT_WRITE, fd);
        close(fd);
        if (rv != 0) {
            goto fail;
        }
    }
    if ((copy = strdup(path)) == NULL) {
        rv = ENOMEM;
        goto fail;
    }

    shm->hdr = (ph_shm_header *)base;
    shm->size = (size_t)o.total;
    shm->geom = o;
    shm->role = PH_SHM_ROLE_PARENT;
    shm->path = copy;
    shm->dev = st.st_dev;
    shm->ino = st.st_ino;
    shm->magic = PH_SHM_MAP_MAGIC;

    fill_header(shm->hdr, &o);
    fill_records(shm);
    /* One that sees the magic sees everything before it. */
    atomic_thread_fence(memory_order_release);
    shm->hdr->magic = PH_SHM_MAGIC;
    /* rename() replaces whatever is at path (a symlink included, never
     * followed). */
    if (rename(tmp, path) != 0) {
        rv = errno;
        ph_shm_unmap(shm);
        base = NULL;
        goto fail;
    }
    return 0;

fail:
    if (base != NULL) {
        munmap(base, (size_t)o.total);
    }
    unlink_env_files(path, st.st_ino, made);
    unlink(tmp);
    return rv;
}

void ph_shm_unlink_env_files(const ph_shm *shm)
{
    assert(shm->magic == PH_SHM_MAP_MAGIC);
    if (shm->path != NULL) {
        unlink_env_files(shm->path, shm->ino, shm->geom.envs);
    }
}

void ph_shm_close_fds(ph_shm *shm)
{
    assert(shm->magic == PH_SHM_MAP_MAGIC);
    free(shm->path);
    shm->path = NULL;
}

/*
 * Open name with mode (O_RDONLY or O_RDWR) and check that it is a regular
 * file of exactly size bytes on device dev (and inode *ino if ino is not NULL): 0 and the
 * descriptor in *out, or an errno value (ESTALE: another file; EINVAL:
 * not a regular file of that size).
 */
static int open_part_as(int mode, const char *name, uint64_t size,
                        dev_t dev, const ino_t *ino, int *out)
{
    struct stat st;
    int fd = open(name, mode | O_CLOEXEC | O_NOFOLLOW), rv;

    if (fd < 0) {
        return errno;
    }
    if (fstat(fd, &st) != 0) {
        rv = errno;
        close(fd);
        return rv;
    }
    rv = st.st_dev != dev || (ino != NULL && st.st_ino != *ino) ? ESTALE
         : !S_ISREG(st.st_mode) || (uint64_t)st.st_size != size ? EINVAL
         : 0;
    if (rv != 0) {
        close(fd);
        return rv;
    }
    *out = fd;
    return 0;
}

int ph_shm_env_reserve(const ph_shm *shm, uint32_t env)
{
    char name[4096];
    int fd, rv;

    assert(shm->magic == PH_SHM_MAP_MAGIC);
    if (shm->path == NULL || shm->role != PH_SHM_ROLE_PARENT) {
        return EBADF;           /* not the creator's mapping */
    }
    if (env >= shm->geom.envs) {
        return EINVAL;
    }
    if ((rv = env_file_name(name, sizeof(name), shm->path, shm->ino, env))
        != 0) {
        return rv;
    }
    /* Nothing but a regular file of one region on the segment's device
     * (O_NOFOLLOW); reserving what is already reserved is a no-op. */
    if ((rv = open_part_as(O_RDWR, name, shm->geom.region_stride, shm->dev,
                           NULL, &fd)) != 0) {
        return rv;
    }
    rv = posix_fallocate(fd, 0, (off_t)shm->geom.region_stride);
    close(fd);
    return rv;
}

/* Replace [0, len) of the mapping by a read-only view of the main file,
 * re-opened read-only by path (it must still be the same inode). */
static int view_main(ph_shm *shm, const char *path, uint64_t len)
{
    int fd, rv;

    if ((rv = open_part_as(O_RDONLY, path, shm->geom.region_off, shm->dev,
                           &shm->ino, &fd)) != 0) {
        return rv;
    }
    rv = map_fixed(ph_shm_base(shm), len, PROT_READ, fd);
    close(fd);
    return rv;
}

/* Replace ENV REGION e of the mapping by a read-only view of its file. */
static int view_env(ph_shm *shm, const char *path, uint32_t e)
{
    char name[4096];
    int fd, rv;

    if ((rv = env_file_name(name, sizeof(name), path, shm->ino, e)) != 0
        || (rv = open_part_as(O_RDONLY, name, shm->geom.region_stride,
                              shm->dev, NULL, &fd)) != 0) {
        return rv;
    }
    rv = map_fixed(ph_shm_region(shm, e), shm->geom.region_stride, PROT_READ,
                   fd);
    close(fd);
    return rv;
}

int ph_shm_restrict(ph_shm *shm, ph_shm_role role, uint32_t env)
{
    const ph_shm_geom *o = &shm->geom;
    const char *path = shm->path;
    uint32_t e;
    int rv = 0;

    assert(shm->magic == PH_SHM_MAP_MAGIC);
    if (path == NULL || shm->role != PH_SHM_ROLE_PARENT) {
        return EBADF;           /* not a creator's mapping */
    }
    /* The read-only views are MAP_SHARED mappings of descriptors opened
     * O_RDONLY (by path, while still root), each closed once mapped. */
    switch (role) {
    case PH_SHM_ROLE_MULTIPLEXER:
        rv = view_main(shm, path, o->mux_off);
        break;
    case PH_SHM_ROLE_PROCESSOR:
        if (env >= o->envs) {
            rv = EINVAL;
            break;
        }
        rv = view_main(shm, path, o->region_off);
        for (e = 0; rv == 0 && e < o->envs; e++) {
            if (e != env) {
                rv = view_env(shm, path, e);
            }
        }
        shm->own_env = env;
        break;
    case PH_SHM_ROLE_READER:
        rv = view_main(shm, path, o->region_off);
        for (e = 0; rv == 0 && e < o->envs; e++) {
            rv = view_env(shm, path, e);
        }
        break;
    default:
        break;
    }
    ph_shm_close_fds(shm);
    shm->role = role;
    return rv;
}

static int say(char *err, size_t errlen, int rv, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Write a sentence into err (if the caller gave room) and return rv. */
static int say(char *err, size_t errlen, int rv, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rv;
}

/*
 * Check the header of a main file of mapsize bytes and compute the geometry
 * it describes into g.  Nothing of the header is used but its capacities
 * and page size: the layout is recomputed from them and every offset the
 * header states must be what was computed.  Returns 0 or an errno value,
 * with a sentence in err naming path.
 */
static int header_check(const ph_shm_header *h, uint32_t magic,
                        uint64_t mapsize, const char *path, char *err,
                        size_t errlen, ph_shm_geom *g)
{
    ph_shm_geometry cap;

    if (magic == 0) {
        return say(err, errlen, EAGAIN, "%s is not initialised yet "
                   "(is a server starting?)", path);
    }
    if (magic != PH_SHM_MAGIC) {
        return say(err, errlen, EINVAL, "%s is not a peruser_hybrid "
                   "segment (magic 0x%08x)", path, (unsigned)magic);
    }
    if (h->layout_major != PH_SHM_LAYOUT_MAJOR) {
        return say(err, errlen, EPROTONOSUPPORT,
                   "layout %u.%u of %s is %s than this program "
                   "understands (%u.x)", h->layout_major, h->layout_minor,
                   path, h->layout_major > PH_SHM_LAYOUT_MAJOR ? "newer"
                   : "older", PH_SHM_LAYOUT_MAJOR);
    }
    if (h->header_size != sizeof(ph_shm_header)
        || h->env_record_size != sizeof(ph_shm_env)
        || h->env_stats_size != sizeof(ph_shm_env_stats)
        || h->child_record_size != sizeof(ph_shm_child)
        || h->child_stats_size != sizeof(ph_shm_child_stats)
        || h->mux_area_size != sizeof(ph_shm_mux_area)
        || h->partition_size != sizeof(ph_shm_partition)
        || h->ticket_size != sizeof(ph_shm_ticket)) {
        return say(err, errlen, EPROTONOSUPPORT,
                   "record sizes of %s do not match this program's", path);
    }
    cap.env_capacity = h->env_capacity;
    cap.child_capacity = h->child_capacity;
    cap.mux_capacity = h->mux_capacity;
    cap.tickets_per_partition = h->tickets_per_partition;
    if (ph_shm_geom_compute(&cap, h->page_size, g) != 0) {
        return say(err, errlen, EINVAL, "%s is inconsistent: capacities "
                   "(environments %u, children %u, multiplexers %u, "
                   "tickets %u, page %u) describe no layout", path,
                   cap.env_capacity, cap.child_capacity, cap.mux_capacity,
                   cap.tickets_per_partition, h->page_size);
    }
    if (h->env_offset != g->env_off || h->child_offset != g->child_off
        || h->mux_offset != g->mux_off || h->region_offset != g->region_off
        || h->region_stride != g->region_stride
        || h->total_size != g->total) {
        return say(err, errlen, EINVAL, "%s is inconsistent: its offsets "
                   "do not match its capacities", path);
    }
    /* The main file holds MAIN and MUX, exactly. */
    if (g->region_off != mapsize) {
        return say(err, errlen, EINVAL, "%s is %s: its header "
                   "says %llu bytes, the file has %llu", path,
                   g->region_off > mapsize ? "truncated" : "too long",
                   (unsigned long long)g->region_off,
                   (unsigned long long)mapsize);
    }
    return 0;
}

/* The main file read-only in a reservation the size of the whole segment,
 * its header checked; the environments' regions not mapped yet (PROT_NONE
 * address space, backed by nothing). */
static int open_main(ph_shm *shm, const char *path, char *err, size_t errlen)
{
    struct stat st;
    ph_shm_geom g;
    uint32_t magic;
    char *base;
    void *map;
    int fd, rv;

    memset(shm, 0, sizeof(*shm));
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rv = errno;
        if (rv == ENOENT) {
            return say(err, errlen, rv, "no server running: %s does not "
                       "exist", path);
        }
        if (rv == EACCES || rv == EPERM) {
            return say(err, errlen, rv, "permission denied: cannot read %s "
                       "(is your user in the monitoring group?)", path);
        }
        return say(err, errlen, rv, "cannot open %s: %s", path,
                   strerror(rv));
    }
    if (fstat(fd, &st) != 0) {
        rv = say(err, errlen, errno, "cannot stat %s: %s", path,
                 strerror(errno));
        goto close_fd;
    }
    if (!S_ISREG(st.st_mode)) {
        rv = say(err, errlen, EINVAL, "%s is not a regular file", path);
        goto close_fd;
    }
    if ((uint64_t)st.st_size < sizeof(ph_shm_header)
        || (uint64_t)st.st_size > (uint64_t)SIZE_MAX) {
        rv = say(err, errlen, EINVAL, "%s is truncated: %lld bytes, less "
                 "than a header", path, (long long)st.st_size);
        goto close_fd;
    }
    /* The main file alone first, to read its header. */
    map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        rv = say(err, errlen, errno, "cannot map %s: %s", path,
                 strerror(errno));
        goto close_fd;
    }
    /* The magic first: seeing it (written last by ph_shm_create, after a
     * release fence) means seeing the rest of the header. */
    magic = ((const ph_shm_header *)map)->magic;
    atomic_thread_fence(memory_order_acquire);
    rv = header_check(map, magic, (uint64_t)st.st_size, path, err, errlen,
                      &g);
    munmap(map, (size_t)st.st_size);
    if (rv != 0) {
        goto close_fd;
    }
    /* Then every file into one reservation, at its offset. */
    if ((base = reserve(g.total)) == NULL) {
        rv = say(err, errlen, errno ? errno : ENOMEM, "cannot map %s: %s",
                 path, strerror(errno ? errno : ENOMEM));
        goto close_fd;
    }
    rv = map_fixed(base, g.region_off, PROT_READ, fd);
    close(fd);
    shm->hdr = (ph_shm_header *)base;
    shm->size = (size_t)g.total;
    shm->geom = g;
    shm->role = PH_SHM_ROLE_READER;
    shm->dev = st.st_dev;
    shm->ino = st.st_ino;
    shm->magic = PH_SHM_MAP_MAGIC;
    if (rv != 0) {
        ph_shm_unmap(shm);
        return say(err, errlen, rv, "cannot map %s: %s", path,
                   strerror(rv));
    }
    return 0;

close_fd:
    close(fd);
    return rv;
}

/* Read-only views of every environment's region, one file each. */
static int view_all_envs(ph_shm *shm, const char *path, char *err,
                         size_t errlen)
{
    uint32_t e;
    int rv;

    for (e = 0; e < shm->geom.envs; e++) {
        if ((rv = view_env(shm, path, e)) != 0) {
            ph_shm_unmap(shm);
            if (rv == ENOENT || rv == ESTALE) {
                /* replaced between the two opens: a restart */
                return say(err, errlen, EAGAIN, "%s was replaced while "
                           "being opened (is the server restarting?)",
                           path);
            }
            if (rv == EINVAL) {
                return say(err, errlen, rv, "%s is inconsistent: the file "
                           "of environment region %u is not one region "
                           "(%llu bytes) long", path, e,
                           (unsigned long long)shm->geom.region_stride);
            }
            return say(err, errlen, rv, "cannot map environment region %u "
                       "of %s: %s", e, path, strerror(rv));
        }
    }
    return 0;
}

int ph_shm_open_readonly(ph_shm *shm, const char *path, char *err,
                         size_t errlen)
{
    int rv;

    if ((rv = open_main(shm, path, err, errlen)) != 0) {
        return rv;
    }
    return view_all_envs(shm, path, err, errlen);
}

/* ph_shm_open_readonly, and the main file must be expect_ino's (if not 0):
 * the start of both attaches of an exec'd factory. */
static int open_generation(ph_shm *shm, const char *path, ino_t expect_ino,
                           int views, char *err, size_t errlen)
{
    int rv;

    if ((rv = open_main(shm, path, err, errlen)) != 0) {
        return rv;
    }
    if (expect_ino != 0 && shm->ino != expect_ino) {
        ph_shm_unmap(shm);
        return say(err, errlen, ESTALE, "%s is not the segment of this "
                   "generation (a restart?)", path);
    }
    return views ? view_all_envs(shm, path, err, errlen) : 0;
}

int ph_shm_attach_processor(ph_shm *shm, const char *path, uint32_t env,
                            int see_all, ino_t expect_ino, char *err,
                            size_t errlen)
{
    char name[4096];
    int fd, rv;

    if ((rv = open_generation(shm, path, expect_ino, see_all, err, errlen))
        != 0) {
        return rv;
    }
    if (env >= shm->geom.envs) {
        ph_shm_unmap(shm);
        return say(err, errlen, EINVAL, "environment region %u is beyond "
                   "the %u of %s", env, shm->geom.envs, path);
    }
    if ((rv = env_file_name(name, sizeof(name), path, shm->ino, env)) != 0) {
        ph_shm_unmap(shm);
        return say(err, errlen, rv, "environment region %u of %s: name too "
                   "long", env, path);
    }
    /* The same checks as a read-only view (a regular file of one region,
     * on the segment's device), then the same file read-write. */
    if ((rv = open_part_as(O_RDWR, name, shm->geom.region_stride, shm->dev,
                           NULL, &fd)) == 0) {
        rv = map_fixed(ph_shm_region(shm, env), shm->geom.region_stride,
                       PROT_READ | PROT_WRITE, fd);
        close(fd);
    }
    if (rv != 0) {
        ph_shm_unmap(shm);
        return say(err, errlen, rv, "cannot map environment region %u of "
                   "%s read-write: %s", env, path, strerror(rv));
    }
    shm->role = PH_SHM_ROLE_PROCESSOR;
    shm->own_env = env;
    shm->own_only = !see_all;
    return 0;
}

int ph_shm_attach_multiplexer(ph_shm *shm, const char *path, ino_t expect_ino,
                              char *err, size_t errlen)
{
    char name[4096];
    uint32_t e;
    int fd, rv;

    /* No read-only views first: every region is mapped read-write below. */
    if ((rv = open_generation(shm, path, expect_ino, 0, err, errlen)) != 0) {
        return rv;
    }
    /* MUX: the tail of the main file, from its own offset (page aligned,
     * ph_shm_layout.h). */
    if ((rv = open_part_as(O_RDWR, path, shm->geom.region_off, shm->dev,
                           &shm->ino, &fd)) == 0) {
        rv = map_fixed_at(ph_shm_base(shm) + shm->geom.mux_off,
                          shm->geom.region_off - shm->geom.mux_off,
                          PROT_READ | PROT_WRITE, fd, shm->geom.mux_off);
        close(fd);
    }
    for (e = 0; rv == 0 && e < shm->geom.envs; e++) {
        if ((rv = env_file_name(name, sizeof(name), path, shm->ino, e)) != 0
            || (rv = open_part_as(O_RDWR, name, shm->geom.region_stride,
                                  shm->dev, NULL, &fd)) != 0) {
            break;
        }
        rv = map_fixed(ph_shm_region(shm, e), shm->geom.region_stride,
                       PROT_READ | PROT_WRITE, fd);
        close(fd);
    }
    if (rv != 0) {
        ph_shm_unmap(shm);
        return say(err, errlen, rv, "cannot map the multiplexers' parts of "
                   "%s read-write: %s", path, strerror(rv));
    }
    shm->role = PH_SHM_ROLE_MULTIPLEXER;
    return 0;
}

int ph_shm_replaced(const ph_shm *shm, const char *path)
{
    struct stat st;

    if (shm->magic != PH_SHM_MAP_MAGIC || stat(path, &st) != 0) {
        return 1;
    }
    return st.st_dev != shm->dev || st.st_ino != shm->ino;
}

void ph_shm_unmap(ph_shm *shm)
{
    if (shm->magic != PH_SHM_MAP_MAGIC) {
        return;
    }
    ph_shm_close_fds(shm);
    munmap(shm->hdr, shm->size);
    /* Zeroed: a later use of this mapping fails its magic check. */
    memset(shm, 0, sizeof(*shm));
}

/*
 * Record accessors: every index against the private geometry, NULL when
 * out of range (an index may come from a message or a record a child
 * wrote).
 */
ph_shm_env *ph_shm_env_at(const ph_shm *shm, uint32_t env)
{
    assert(shm->magic == PH_SHM_MAP_MAGIC);
    if (env >= shm->geom.envs) {
        return NULL;
    }
    return (ph_shm_env *)(ph_shm_base(shm) + shm->geom.env_off) + env;
}

ph_shm_env_stats *ph_shm_env_stats_at(const ph_shm *shm, uint32_t env)
{
    assert(shm->magic == PH_SHM_MAP_MAGIC);
    return env < shm->geom.envs && ph_shm_region_mapped(shm, env)
           ? ph_shm_geom_env_stats(shm, env) : NULL;
}

ph_shm_child *ph_shm_child_at(const ph_shm *shm, uint32_t slot)
{
    assert(shm->magic == PH_SHM_MAP_MAGIC);
    if (slot >= shm->geom.children) {
        return NULL;
    }
    return (ph_shm_child *)(ph_shm_base(shm) + shm->geom.child_off) + slot;
}

ph_shm_child_stats *ph_shm_proc_stats_at(const ph_shm *shm, uint32_t env,
                                         uint32_t slot)
{
    assert(shm->magic == PH_SHM_MAP_MAGIC);
    if (env >= shm->geom.envs || slot >= shm->geom.children
        || !ph_shm_region_mapped(shm, env)) {
        return NULL;
    }
    return (ph_shm_child_stats *)(ph_shm_region(shm, env)
                                  + shm->geom.r_children_off)
           + slot;
}

ph_shm_child_stats *ph_shm_mux_stats_at(const ph_shm *shm, uint32_t slot)
{
    assert(shm->magic == PH_SHM_MAP_MAGIC);
    if (slot >= shm->geom.children) {
        return NULL;
    }
    return (ph_shm_child_stats *)(ph_shm_base(shm) + shm->geom.mux_off
                                  + shm->geom.mux_children_off)
           + slot;
}

ph_shm_mux_area *ph_shm_mux_area_at(const ph_shm *shm)
{
    assert(shm->magic == PH_SHM_MAP_MAGIC);
    return (ph_shm_mux_area *)(ph_shm_base(shm) + shm->geom.mux_off);
}

ph_shm_partition *ph_shm_partition_at(const ph_shm *shm, uint32_t mux,
                                      uint32_t env)
{
    assert(shm->magic == PH_SHM_MAP_MAGIC);
    if (mux >= shm->geom.muxes || env >= shm->geom.envs
        || !ph_shm_region_mapped(shm, env)) {
        return NULL;
    }
    return ph_shm_geom_partition(shm, mux, env);
}

ph_shm_ticket *ph_shm_ticket_at(const ph_shm *shm, uint32_t mux,
                                uint32_t env, uint32_t index)
{
    assert(shm->magic == PH_SHM_MAP_MAGIC);
    if (mux >= shm->geom.muxes || env >= shm->geom.envs
        || index >= shm->geom.tickets || !ph_shm_region_mapped(shm, env)) {
        return NULL;
    }
    return ph_shm_geom_ticket(shm, mux, env, index);
}

ph_shm_child_stats *ph_shm_child_stats_of(const ph_shm *shm, uint32_t slot)
{
    const ph_shm_child *c = ph_shm_child_at(shm, slot);
    uint32_t type;
    int32_t env;

    if (c == NULL) {
        return NULL;
    }
    type = c->type;
    env = c->env_index;
    if (type == PH_CHILD_TYPE_MULTIPLEXER) {
        return ph_shm_mux_stats_at(shm, slot);
    }
    if (type == PH_CHILD_TYPE_PROCESSOR && env >= 0) {
        return ph_shm_proc_stats_at(shm, (uint32_t)env, slot);
    }
    return NULL;
}
