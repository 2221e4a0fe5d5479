/*
 * pstat_source.c -- the segment pstat watches: map it read-only, notice
 * that the server restarted or stopped, and read it into a sample.
 *
 * Everything goes through the shm/ reader API: ph_shm_open_readonly
 * validates the header against the file, the snapshot functions copy
 * records consistently, ph_shm_replaced compares the file's identity.
 * The header is read directly only for fields that describe the server
 * (pid, birth time, generation), never to find records.
 *
 * A server that stops or restarts unlinks or replaces the file; our
 * mapping of the old one stays valid until we unmap it, so reading it
 * never faults.  We notice the change at the next refresh and remap.
 */
#include <errno.h>
#include <grp.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "pstat.h"

int64_t pstat_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t wall_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void pstat_sleep_us(int64_t us)
{
    struct timespec ts;

    if (us <= 0) {
        return;
    }
    ts.tv_sec = us / 1000000;
    ts.tv_nsec = (us % 1000000) * 1000;
    /* A signal shortens the wait; the caller measures the real interval
     * anyway, so the rates stay right. */
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

void pstat_source_init(pstat_source *src, const char *path)
{
    memset(src, 0, sizeof(*src));
    src->path = path;
}

/*
 * Who may read the segment is decided by one directive: say which, and
 * the group it names here (the group of the file), so that the operator
 * knows what to change.
 */
static void permission_sentence(pstat_source *src)
{
    struct stat st;
    struct group *g;
    char group[64];

    snprintf(group, sizeof(group), "?");
    if (stat(src->path, &st) == 0) {
        g = getgrgid(st.st_gid);
        if (g != NULL && g->gr_name != NULL) {
            snprintf(group, sizeof(group), "%s", g->gr_name);
        }
        else {
            snprintf(group, sizeof(group), "%u", (unsigned)st.st_gid);
        }
    }
    snprintf(src->err, sizeof(src->err), "permission denied: cannot read "
             "%s (group %s): run pstat as root or as a member of the group "
             "that the server's ExtendedScoreBoardGroup names (the monitoring "
             "group)", src->path, group);
}

int pstat_source_open(pstat_source *src)
{
    int rv;

    if (src->mapped) {
        ph_shm_unmap(&src->shm);
        src->mapped = 0;
    }
    rv = ph_shm_open_readonly(&src->shm, src->path, src->err,
                              sizeof(src->err));
    src->error = rv;
    if (rv == EACCES || rv == EPERM) {
        permission_sentence(src);
        return rv;
    }
    if (rv != 0) {
        if (src->err[0] == '\0') {
            snprintf(src->err, sizeof(src->err), "cannot read %s: %s",
                     src->path, strerror(rv));
        }
        return rv;
    }
    src->err[0] = '\0';
    src->mapped = 1;
    return 0;
}

int pstat_source_follow(pstat_source *src)
{
    if (src->mapped && !ph_shm_replaced(&src->shm, src->path)) {
        return PSTAT_SOURCE_SAME;
    }
    return pstat_source_open(src) == 0 ? PSTAT_SOURCE_OPENED
                                       : PSTAT_SOURCE_GONE;
}

void pstat_source_close(pstat_source *src)
{
    if (src->mapped) {
        ph_shm_unmap(&src->shm);
        src->mapped = 0;
    }
}

int pstat_source_sample(pstat_source *src, pstat_sample *s)
{
    ph_shm_header *h = src->shm.hdr;
    uint32_t envs, children, i;
    int64_t now_ms;

    /* The geometry was checked against the file by open and is kept in
     * our own memory: nothing the server's children write (they cannot
     * write the header anyway) changes how far we walk. */
    envs = src->shm.geom.envs;
    children = src->shm.geom.children;
    if (pstat_sample_reserve(s, envs, children) != 0) {
        return ENOMEM;
    }
    s->taken_us = pstat_mono_us();
    s->wall_us = wall_us();
    now_ms = s->taken_us / 1000;
    s->server_pid = h->creator_pid;
    s->birth_time_us = h->birth_time_us;
    s->generation = atomic_load_explicit(&h->generation,
                                         memory_order_relaxed);
    s->env_count = atomic_load_explicit(&h->env_count, memory_order_relaxed);
    s->layout_major = h->layout_major;
    s->layout_minor = h->layout_minor;
    s->env_capacity = envs;
    s->child_capacity = children;
    s->mux_capacity = src->shm.geom.muxes;
    s->dropped_noenv = ph_shm_dropped_noenv(&src->shm);
    s->busy_records = 0;

    s->n_envs = 0;
    for (i = 0; i < envs; i++) {
        ph_shm_env_snapshot *e = &s->envs[s->n_envs];

        /* A record a writer keeps busy is left out of this reading and
         * counted, rather than waited for: a monitor must not hang. */
        if (ph_shm_env_snapshot_get(&src->shm, i, now_ms, e) != 0) {
            s->busy_records++;
            continue;
        }
        if (e->in_use) {
            s->n_envs++;
        }
    }
    s->n_children = 0;
    for (i = 0; i < children; i++) {
        ph_shm_child_snapshot *c = &s->children[s->n_children];

        if (ph_shm_child_snapshot_get(&src->shm, i, c) != 0) {
            s->busy_records++;
            continue;
        }
        if (c->pid != 0) {
            s->n_children++;
        }
    }
    /* The kernel's figures of each child, read after the segment's: a
     * child that exits in between reads as unknown, never as another. */
    s->hz = pstat_proc_hz();
    for (i = 0; i < s->n_children; i++) {
        pstat_proc_read(s->children[i].pid, &s->procs[i]);
    }
    s->alive = pstat_server_alive(s->server_pid, s->birth_time_us);
    return 0;
}
