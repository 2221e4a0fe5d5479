/*
 * shm_segment.c -- the segment file: create it (parent), map it read-only
 * and validate it (pstat, tests), notice that it was replaced, and find
 * records in it.
 *
 * The layout is drawn in ph_shm_layout.h.  Every array starts on a 64-byte
 * boundary so that records of different arrays never share a cache line,
 * and the header records each array's offset, so a reader never has to
 * recompute the layout to find a record.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
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

/* Offsets of the four arrays and the total size for a geometry. */
typedef struct shm_offsets {
    uint64_t env, child, partition, ticket, total;
} shm_offsets;

static int align_up(uint64_t v, uint64_t *out)
{
    if (v > UINT64_MAX - (SHM_ALIGN - 1)) {
        return -1;
    }
    *out = (v + SHM_ALIGN - 1) & ~(uint64_t)(SHM_ALIGN - 1);
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
 * The layout of a geometry: each array aligned to 64 bytes after the
 * previous one.  Returns -1 for a zero count or a size that overflows.
 */
static int compute_offsets(const ph_shm_geometry *g, shm_offsets *o)
{
    uint64_t partitions, tickets, end;

    if (g->env_capacity == 0 || g->child_capacity == 0
        || g->mux_capacity == 0 || g->tickets_per_partition == 0) {
        return -1;
    }
    partitions = (uint64_t)g->mux_capacity * g->env_capacity;
    if (__builtin_mul_overflow(partitions, g->tickets_per_partition,
                               &tickets)) {
        return -1;
    }
    if (align_up(sizeof(ph_shm_header), &o->env)
        || array_end(o->env, g->env_capacity, sizeof(ph_shm_env), &end)
        || align_up(end, &o->child)
        || array_end(o->child, g->child_capacity, sizeof(ph_shm_child),
                     &end)
        || align_up(end, &o->partition)
        || array_end(o->partition, partitions, sizeof(ph_shm_partition),
                     &end)
        || align_up(end, &o->ticket)
        || array_end(o->ticket, tickets, sizeof(ph_shm_ticket), &end)
        || align_up(end, &o->total)) {
        return -1;
    }
    /* The whole segment is mapped at once: it must fit a size_t and an
     * off_t. */
    if (o->total > (uint64_t)SIZE_MAX || o->total > (uint64_t)INT64_MAX) {
        return -1;
    }
    return 0;
}

uint64_t ph_shm_size_for(const ph_shm_geometry *g)
{
    shm_offsets o;

    return compute_offsets(g, &o) == 0 ? o.total : 0;
}

static int64_t wall_clock_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Everything but the magic, which is written last (see ph_shm_create). */
static void fill_header(ph_shm_header *h, const ph_shm_geometry *g,
                        const shm_offsets *o)
{
    h->layout_major = PH_SHM_LAYOUT_MAJOR;
    h->layout_minor = PH_SHM_LAYOUT_MINOR;
    h->header_size = sizeof(ph_shm_header);
    h->env_record_size = sizeof(ph_shm_env);
    h->child_record_size = sizeof(ph_shm_child);
    h->partition_size = sizeof(ph_shm_partition);
    h->ticket_size = sizeof(ph_shm_ticket);
    h->env_capacity = g->env_capacity;
    h->child_capacity = g->child_capacity;
    h->mux_capacity = g->mux_capacity;
    h->tickets_per_partition = g->tickets_per_partition;
    h->env_offset = o->env;
    h->child_offset = o->child;
    h->partition_offset = o->partition;
    h->ticket_offset = o->ticket;
    h->total_size = o->total;
    h->creator_pid = (int64_t)getpid();
    h->birth_time_us = wall_clock_us();
    atomic_store_explicit(&h->generation, 0, memory_order_relaxed);
    atomic_store_explicit(&h->env_count, 0, memory_order_relaxed);
}

/*
 * The file is new and therefore zero-filled: every partition empty, every
 * counter 0.  Only the fields whose "nothing" is not zero are written
 * here.  Tickets start at FREE|1: generation 0 never names a ticket, so a
 * channel message can use it for "no ticket".
 */
static void fill_records(ph_shm_header *h, const ph_shm_geometry *g,
                         const shm_offsets *o)
{
    ph_shm_env *env = (ph_shm_env *)((char *)h + o->env);
    ph_shm_child *child = (ph_shm_child *)((char *)h + o->child);
    ph_shm_ticket *tk = (ph_shm_ticket *)((char *)h + o->ticket);
    uint64_t i, tickets = (uint64_t)g->mux_capacity * g->env_capacity
                          * g->tickets_per_partition;

    for (i = 0; i < g->env_capacity; i++) {
        atomic_store_explicit(&env[i].avail, 100, memory_order_relaxed);
    }
    for (i = 0; i < g->child_capacity; i++) {
        child[i].type = PH_CHILD_TYPE_NONE;
        child[i].pid = 0;
        child[i].status = PH_CHILD_STANDBY;
        child[i].env_index = -1;
        child[i].numa_node = -1;
    }
    for (i = 0; i < tickets; i++) {
        atomic_store_explicit(&tk[i].word,
                              PH_TICKET_WORD(PH_TICKET_GEN_FIRST,
                                             PH_TICKET_FREE),
                              memory_order_relaxed);
    }
}

int ph_shm_create(ph_shm *shm, const char *path, const ph_shm_geometry *g,
                  gid_t monitor_gid)
{
    shm_offsets o;
    struct stat st;
    void *map;
    int fd, rv;

    memset(shm, 0, sizeof(*shm));
    if (compute_offsets(g, &o) != 0) {
        return EINVAL;
    }

    /* A file left by a server that died is replaced, not reused: its
     * readers must see a new inode (ph_shm_replaced). */
    if (unlink(path) != 0 && errno != ENOENT) {
        return errno;
    }
    /* O_EXCL|O_NOFOLLOW: never write through a file or symlink someone
     * planted between the unlink and here.  O_CLOEXEC and the close below:
     * no CGI ever inherits a descriptor of the segment. */
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
              SHM_MODE);
    if (fd < 0) {
        return errno;
    }
    if (monitor_gid != (gid_t)-1 && fchown(fd, (uid_t)-1, monitor_gid) != 0) {
        rv = errno;
        goto fail_unlink;
    }
    /* open() applied the umask; the mode is part of the contract (root
     * writes, the monitoring group reads, nobody else), so set it. */
    if (fchmod(fd, SHM_MODE) != 0 || ftruncate(fd, (off_t)o.total) != 0) {
        rv = errno;
        goto fail_unlink;
    }
    /* Reserve the pages now: a full tmpfs must fail here, not raise
     * SIGBUS in a child that touches a ticket later. */
    rv = posix_fallocate(fd, 0, (off_t)o.total);
    if (rv != 0) {
        goto fail_unlink;
    }
    if (fstat(fd, &st) != 0) {
        rv = errno;
        goto fail_unlink;
    }
    map = mmap(NULL, (size_t)o.total, PROT_READ | PROT_WRITE, MAP_SHARED,
               fd, 0);
    if (map == MAP_FAILED) {
        rv = errno;
        goto fail_unlink;
    }
    close(fd);

    fill_header(map, g, &o);
    fill_records(map, g, &o);
    /* A reader that opens the file while it is being filled sees magic 0
     * and says so; one that sees the magic sees everything before it. */
    atomic_thread_fence(memory_order_release);
    ((ph_shm_header *)map)->magic = PH_SHM_MAGIC;

    shm->hdr = map;
    shm->size = (size_t)o.total;
    shm->writable = 1;
    shm->dev = st.st_dev;
    shm->ino = st.st_ino;
    shm->magic = PH_SHM_MAP_MAGIC;
    return 0;

fail_unlink:
    close(fd);
    unlink(path);
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

static void geom_copy(const ph_shm_header *h, ph_shm_geom *g)
{
    g->magic = h->magic;
    g->major = h->layout_major;
    g->minor = h->layout_minor;
    g->header_size = h->header_size;
    g->env_size = h->env_record_size;
    g->child_size = h->child_record_size;
    g->partition_size = h->partition_size;
    g->ticket_size = h->ticket_size;
    g->envs = h->env_capacity;
    g->children = h->child_capacity;
    g->muxes = h->mux_capacity;
    g->tickets = h->tickets_per_partition;
    g->env_off = h->env_offset;
    g->child_off = h->child_offset;
    g->partition_off = h->partition_offset;
    g->ticket_off = h->ticket_offset;
    g->total = h->total_size;
}

/*
 * One array of the layout: aligned for its atomics, after the previous
 * array (*prev_end), inside the mapping.  Advances *prev_end.
 */
static int array_ok(uint64_t off, uint64_t n, uint64_t size,
                    uint64_t mapsize, uint64_t *prev_end)
{
    uint64_t end;

    if (off % 8 != 0 || off < *prev_end || array_end(off, n, size, &end)
        || end > mapsize) {
        return 0;
    }
    *prev_end = end;
    return 1;
}

/*
 * Check a geometry against a mapping of mapsize bytes.  Returns 0 or an
 * errno value, with a sentence in err naming path.
 */
static int geom_check(const ph_shm_geom *g, uint64_t mapsize,
                      const char *path, char *err, size_t errlen)
{
    uint64_t partitions, tickets, end = g->header_size;

    if (g->magic == 0) {
        return say(err, errlen, EAGAIN, "%s is not initialised yet "
                   "(is a server starting?)", path);
    }
    if (g->magic != PH_SHM_MAGIC) {
        return say(err, errlen, EINVAL, "%s is not a peruser_hybrid "
                   "segment (magic 0x%08x)", path, (unsigned)g->magic);
    }
    if (g->major != PH_SHM_LAYOUT_MAJOR) {
        return say(err, errlen, EPROTONOSUPPORT,
                   "layout %u.%u of %s is %s than this program "
                   "understands (%u.x)", g->major, g->minor, path,
                   g->major > PH_SHM_LAYOUT_MAJOR ? "newer" : "older",
                   PH_SHM_LAYOUT_MAJOR);
    }
    if (g->header_size != sizeof(ph_shm_header)
        || g->env_size != sizeof(ph_shm_env)
        || g->child_size != sizeof(ph_shm_child)
        || g->partition_size != sizeof(ph_shm_partition)
        || g->ticket_size != sizeof(ph_shm_ticket)) {
        return say(err, errlen, EPROTONOSUPPORT,
                   "record sizes of %s (header %u, env %u, child %u, "
                   "partition %u, ticket %u) do not match this program's "
                   "(%zu, %zu, %zu, %zu, %zu)", path, g->header_size,
                   g->env_size, g->child_size, g->partition_size,
                   g->ticket_size, sizeof(ph_shm_header),
                   sizeof(ph_shm_env), sizeof(ph_shm_child),
                   sizeof(ph_shm_partition), sizeof(ph_shm_ticket));
    }
    if (g->total > mapsize) {
        return say(err, errlen, EINVAL, "%s is truncated: its header "
                   "says %llu bytes, the file has %llu", path,
                   (unsigned long long)g->total,
                   (unsigned long long)mapsize);
    }
    if (g->envs == 0 || g->children == 0 || g->muxes == 0
        || g->tickets == 0) {
        return say(err, errlen, EINVAL, "%s is inconsistent: a zero count "
                   "(environments %u, children %u, multiplexers %u, "
                   "tickets %u)", path, g->envs, g->children, g->muxes,
                   g->tickets);
    }
    partitions = (uint64_t)g->muxes * g->envs;
    if (__builtin_mul_overflow(partitions, g->tickets, &tickets)
        || !array_ok(g->env_off, g->envs, g->env_size, g->total, &end)
        || !array_ok(g->child_off, g->children, g->child_size, g->total,
                     &end)
        || !array_ok(g->partition_off, partitions, g->partition_size,
                     g->total, &end)
        || !array_ok(g->ticket_off, tickets, g->ticket_size, g->total,
                     &end)) {
        return say(err, errlen, EINVAL, "%s is inconsistent: its counts "
                   "and offsets do not fit its %llu bytes", path,
                   (unsigned long long)g->total);
    }
    return 0;
}

int ph_shm_geom_read(const ph_shm *shm, ph_shm_geom *g)
{
    assert(shm->magic == PH_SHM_MAP_MAGIC);
    geom_copy(shm->hdr, g);
    return geom_check(g, shm->size, "segment", NULL, 0) == 0 ? 0 : -1;
}

int ph_shm_open_readonly(ph_shm *shm, const char *path, char *err,
                         size_t errlen)
{
    struct stat st;
    ph_shm_geom g;
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
    map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        rv = say(err, errlen, errno, "cannot map %s: %s", path,
                 strerror(errno));
        goto close_fd;
    }
    close(fd);

    /* The magic first: seeing it (written last by ph_shm_create, after a
     * release fence) means seeing the rest of the header. */
    g.magic = ((const ph_shm_header *)map)->magic;
    atomic_thread_fence(memory_order_acquire);
    geom_copy(map, &g);
    rv = geom_check(&g, (uint64_t)st.st_size, path, err, errlen);
    if (rv != 0) {
        munmap(map, (size_t)st.st_size);
        return rv;
    }
    shm->hdr = map;
    shm->size = (size_t)st.st_size;
    shm->writable = 0;
    shm->dev = st.st_dev;
    shm->ino = st.st_ino;
    shm->magic = PH_SHM_MAP_MAGIC;
    return 0;

close_fd:
    close(fd);
    return rv;
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
    munmap(shm->hdr, shm->size);
    /* Zeroed: a later use of this mapping fails its magic check. */
    memset(shm, 0, sizeof(*shm));
}

/*
 * Record accessors.  The indices are the caller's to keep in range (its
 * own configuration, or values it validated); debug builds check them.
 * They take the offsets from the header the caller opened and validated.
 */
ph_shm_env *ph_shm_env_at(const ph_shm *shm, uint32_t env)
{
    assert(shm->magic == PH_SHM_MAP_MAGIC);
    assert(env < shm->hdr->env_capacity);
    return (ph_shm_env *)((char *)shm->hdr + shm->hdr->env_offset) + env;
}

ph_shm_child *ph_shm_child_at(const ph_shm *shm, uint32_t slot)
{
    assert(shm->magic == PH_SHM_MAP_MAGIC);
    assert(slot < shm->hdr->child_capacity);
    return (ph_shm_child *)((char *)shm->hdr + shm->hdr->child_offset)
           + slot;
}

ph_shm_partition *ph_shm_partition_at(const ph_shm *shm, uint32_t mux,
                                      uint32_t env)
{
    const ph_shm_header *h = shm->hdr;

    assert(shm->magic == PH_SHM_MAP_MAGIC);
    assert(mux < h->mux_capacity && env < h->env_capacity);
    return (ph_shm_partition *)((char *)shm->hdr + h->partition_offset)
           + ((size_t)mux * h->env_capacity + env);
}

ph_shm_ticket *ph_shm_ticket_at(const ph_shm *shm, uint32_t mux,
                                uint32_t env, uint32_t index)
{
    const ph_shm_header *h = shm->hdr;

    assert(shm->magic == PH_SHM_MAP_MAGIC);
    assert(mux < h->mux_capacity && env < h->env_capacity
           && index < h->tickets_per_partition);
    return (ph_shm_ticket *)((char *)shm->hdr + h->ticket_offset)
           + (((size_t)mux * h->env_capacity + env)
              * h->tickets_per_partition + index);
}
