/*
 * shm_dump -- print the shared-memory segment as JSON (for the tests).
 *
 *   shm_dump PATH
 *
 * Uses only the shm/ library's reader side: ph_shm_open_readonly, the
 * snapshot functions, ph_shm_dropped_noenv, and ph_shm_ticket_at to count
 * tickets that are not FREE (a plain atomic load of each ticket's word; the
 * mapping is read-only, nothing is written).  No httpd headers.
 *
 * Output (one JSON object on stdout):
 *   path, layout ("major.minor"), generation, env_count, creator_pid,
 *   env_capacity, child_capacity, mux_capacity, tickets_per_partition,
 *   dropped_noenv,
 *   envs:     every record in use: all ph_shm_env_snapshot fields, plus
 *             tickets_busy (non-FREE tickets of that environment over all
 *             multiplexer partitions) and tickets_filling/_ready/_claimed
 *   children: every child slot whose pid != 0: all ph_shm_child_snapshot
 *             fields, type and status also as words
 *
 * Exit status: 0; 2 with the library's sentence (or ours) on stderr when
 * the segment cannot be opened or a record cannot be read consistently.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ph_shm.h"

static void die(const char *msg)
{
    fprintf(stderr, "shm_dump: %s\n", msg);
    exit(2);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A JSON string from at most max bytes of s (stops at NUL).  Bytes that
 * are not printable ASCII are written as \u00XX (latin-1), so the output
 * is always valid JSON whatever a writer put in the segment. */
static void json_str(const char *s, size_t max)
{
    size_t i;

    putchar('"');
    for (i = 0; i < max && s[i]; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            printf("\\%c", ch);
        }
        else if (ch < 0x20 || ch >= 0x7f) {
            printf("\\u%04x", ch);
        }
        else {
            putchar(ch);
        }
    }
    putchar('"');
}

static const char *type_word(uint32_t type)
{
    switch (type) {
    case PH_CHILD_TYPE_NONE:        return "none";
    case PH_CHILD_TYPE_MULTIPLEXER: return "multiplexer";
    case PH_CHILD_TYPE_PROCESSOR:   return "processor";
    default:                        return "unknown";
    }
}

static const char *status_word(uint32_t status)
{
    switch (status) {
    case PH_CHILD_STANDBY:  return "standby";
    case PH_CHILD_STARTING: return "starting";
    case PH_CHILD_READY:    return "ready";
    case PH_CHILD_ACTIVE:   return "active";
    default:                return "unknown";
    }
}

/* Tickets of environment record env that are not FREE, by state. */
static void count_tickets(const ph_shm *shm, uint32_t env, uint32_t muxes,
                          uint32_t per, uint64_t by_state[4])
{
    uint32_t m, i;

    memset(by_state, 0, 4 * sizeof(by_state[0]));
    for (m = 0; m < muxes; m++) {
        for (i = 0; i < per; i++) {
            ph_shm_ticket *t = ph_shm_ticket_at(shm, m, env, i);
            if (t) {
                uint64_t w = atomic_load_explicit(&t->word,
                                                  memory_order_acquire);
                by_state[PH_TICKET_STATE(w) & 3u]++;
            }
        }
    }
}

static void print_env(const ph_shm_env_snapshot *e, const uint64_t tk[4])
{
    printf("    {\"index\": %u, \"name\": ", e->index);
    json_str(e->name, sizeof(e->name));
    printf(", \"uid\": %u, \"gid\": %u"
           ", \"min_processors\": %u, \"max_processors\": %u"
           ", \"threads_per_child\": %u"
           ", \"wait_timeout_ms\": %u, \"wait_levels\": %u"
           ", \"connections\": %llu, \"requests\": %llu"
           ", \"dropped_timeout\": %llu, \"dropped_channel\": %llu"
           ", \"misdirected\": %llu"
           ", \"queue_depth\": %d, \"idle_workers\": %d, \"in_flight\": %d"
           ", \"avail\": %u, \"demand\": %u, \"processors\": %u"
           ", \"numa_failures\": %u, \"cgroup_failures\": %u"
           ", \"oldest_wait_ms\": %lld"
           ", \"tickets_busy\": %llu, \"tickets_filling\": %llu"
           ", \"tickets_ready\": %llu, \"tickets_claimed\": %llu}",
           e->uid, e->gid, e->min_processors, e->max_processors,
           e->threads_per_child, e->wait_timeout_ms, e->wait_levels,
           (unsigned long long)e->connections,
           (unsigned long long)e->requests,
           (unsigned long long)e->dropped_timeout,
           (unsigned long long)e->dropped_channel,
           (unsigned long long)e->misdirected,
           e->queue_depth, e->idle_workers, e->in_flight,
           e->avail, e->demand, e->processors, e->numa_failures,
           e->cgroup_failures,
           (long long)e->oldest_wait_ms,
           (unsigned long long)(tk[PH_TICKET_FILLING] + tk[PH_TICKET_READY]
                                + tk[PH_TICKET_CLAIMED]),
           (unsigned long long)tk[PH_TICKET_FILLING],
           (unsigned long long)tk[PH_TICKET_READY],
           (unsigned long long)tk[PH_TICKET_CLAIMED]);
}

static void print_child(const ph_shm_child_snapshot *c)
{
    printf("    {\"slot\": %u, \"pid\": %d, \"type\": %u, \"type_name\": "
           "\"%s\", \"status\": %u, \"status_name\": \"%s\""
           ", \"generation\": %u, \"threads\": %u, \"env_index\": %d"
           ", \"numa_node\": %d, \"numa_failed\": %u, \"cgroup_failed\": %u"
           ", \"busy_threads\": %d, \"idle_threads\": %d, \"room\": %d"
           ", \"requests\": %llu, \"connections\": %llu"
           ", \"last_used_ms\": %lld, \"started_us\": %lld}",
           c->slot, c->pid, c->type, type_word(c->type), c->status,
           status_word(c->status), c->generation, c->threads, c->env_index,
           c->numa_node, c->numa_failed, c->cgroup_failed, c->busy_threads, c->idle_threads,
           c->room,
           (unsigned long long)c->requests,
           (unsigned long long)c->connections,
           (long long)c->last_used_ms, (long long)c->started_us);
}

int main(int argc, char **argv)
{
    char err[512];
    char msg[600];
    ph_shm shm;
    const ph_shm_header *h;
    uint32_t envs, children, muxes, per, i;
    int first;
    int64_t now;

    if (argc != 2) {
        fprintf(stderr, "usage: shm_dump PATH\n");
        return 2;
    }
    err[0] = '\0';
    if (ph_shm_open_readonly(&shm, argv[1], err, sizeof(err)) != 0) {
        die(err[0] ? err : "cannot open the segment");
    }
    h = shm.hdr;
    /* The geometry open checked and keeps privately. */
    envs = shm.geom.envs;
    children = shm.geom.children;
    muxes = shm.geom.muxes;
    per = shm.geom.tickets;
    now = now_ms();

    printf("{\n  \"path\": ");
    json_str(argv[1], strlen(argv[1]));
    printf(",\n  \"layout\": \"%u.%u\"", (unsigned)h->layout_major,
           (unsigned)h->layout_minor);
    printf(",\n  \"generation\": %llu",
           (unsigned long long)atomic_load(&((ph_shm_header *)h)->generation));
    printf(",\n  \"env_count\": %u",
           (unsigned)atomic_load(&((ph_shm_header *)h)->env_count));
    printf(",\n  \"creator_pid\": %lld", (long long)h->creator_pid);
    printf(",\n  \"env_capacity\": %u, \"child_capacity\": %u"
           ", \"mux_capacity\": %u, \"tickets_per_partition\": %u",
           envs, children, muxes, per);
    /* the regions by writer (ph_shm_layout.h): MAIN is [0, mux_offset),
     * MUX [mux_offset, region_offset), env region i at region_offset +
     * i * region_stride */
    printf(",\n  \"page_size\": %u, \"mux_offset\": %llu"
           ", \"region_offset\": %llu, \"region_stride\": %llu"
           ", \"total_size\": %llu", shm.geom.page,
           (unsigned long long)shm.geom.mux_off,
           (unsigned long long)shm.geom.region_off,
           (unsigned long long)shm.geom.region_stride,
           (unsigned long long)shm.geom.total);
    printf(",\n  \"dropped_noenv\": %llu",
           (unsigned long long)ph_shm_dropped_noenv(&shm));

    printf(",\n  \"envs\": [");
    for (i = 0, first = 1; i < envs; i++) {
        ph_shm_env_snapshot e;
        uint64_t tk[4];

        if (ph_shm_env_snapshot_get(&shm, i, now, &e) != 0) {
            snprintf(msg, sizeof(msg), "environment record %u stayed busy "
                     "(seqlock); no consistent copy", i);
            die(msg);
        }
        if (!e.in_use) {
            continue;
        }
        count_tickets(&shm, i, muxes, per, tk);
        printf("%s\n", first ? "" : ",");
        first = 0;
        print_env(&e, tk);
    }
    printf("%s]", first ? "" : "\n  ");

    printf(",\n  \"children\": [");
    for (i = 0, first = 1; i < children; i++) {
        ph_shm_child_snapshot c;

        if (ph_shm_child_snapshot_get(&shm, i, &c) != 0) {
            snprintf(msg, sizeof(msg), "child record %u stayed busy "
                     "(seqlock); no consistent copy", i);
            die(msg);
        }
        if (c.pid == 0) {
            continue;
        }
        printf("%s\n", first ? "" : ",");
        first = 0;
        print_child(&c);
    }
    printf("%s]\n}\n", first ? "" : "\n  ");

    ph_shm_unmap(&shm);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        return 2;
    }
    return 0;
}
