/*
 * pstat_text.c -- pstat's words: the cells of a row, the summary lines,
 * the plain-text snapshot (-1) and the JSON document (-j).
 *
 * The interactive view prints the same cells and lines, so a column reads
 * the same in all three modes.  The JSON keys are an interface (scripts
 * and monitoring read them): they are documented in README.md, and a
 * change of meaning or a removal bumps PSTAT_VERSION; additions do not.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ph_escape.h"
#include "pstat.h"

const pstat_column pstat_env_columns[PSTAT_ECOL_COUNT] = {
    [PSTAT_ECOL_NAME]        = { "ENVIRONMENT", 20, 1 },
    [PSTAT_ECOL_CHILDREN]    = { "CHILD A/I/MAX", 13, 0 },
    [PSTAT_ECOL_BUSY]        = { "BUSY", 5, 0 },
    [PSTAT_ECOL_IDLE]        = { "IDLE", 5, 0 },
    [PSTAT_ECOL_REQ_RATE]    = { "REQ/S", 9, 0 },
    [PSTAT_ECOL_CONN_RATE]   = { "CONN/S", 9, 0 },
    [PSTAT_ECOL_DROPPED]     = { "DROPPED", 8, 0 },
    [PSTAT_ECOL_DROP_DETAIL] = { "TMOUT/CHAN", 11, 0 },
    [PSTAT_ECOL_AVAIL]       = { "AVAIL", 6, 0 },
    [PSTAT_ECOL_QUEUE]       = { "QUEUE", 6, 0 },
    [PSTAT_ECOL_OLDEST]      = { "OLDEST", 8, 0 },
};

const pstat_column pstat_child_columns[PSTAT_CCOL_COUNT] = {
    [PSTAT_CCOL_SLOT]      = { "SLOT", 5, 0 },
    [PSTAT_CCOL_PID]       = { "PID", 8, 0 },
    [PSTAT_CCOL_TYPE]      = { "TYPE", 11, 1 },
    [PSTAT_CCOL_STATUS]    = { "STATUS", 8, 1 },
    [PSTAT_CCOL_ENV]       = { "ENVIRONMENT", 20, 1 },
    [PSTAT_CCOL_NODE]      = { "NODE", 5, 0 },
    [PSTAT_CCOL_BUSY]      = { "BUSY", 5, 0 },
    [PSTAT_CCOL_IDLE]      = { "IDLE", 5, 0 },
    [PSTAT_CCOL_REQUESTS]  = { "REQUESTS", 10, 0 },
    [PSTAT_CCOL_REQ_RATE]  = { "REQ/S", 9, 0 },
    [PSTAT_CCOL_LAST_USED] = { "LAST USED", 10, 0 },
};

static void format_rate(char *buf, size_t len, double rate)
{
    if (rate < 0.0) {
        snprintf(buf, len, "-");
    }
    else {
        snprintf(buf, len, "%.1f", rate);
    }
}

/* A duration in ms, short: "850ms", "12.5s", "7m03s". */
static void format_ms(char *buf, size_t len, int64_t ms)
{
    if (ms < 1000) {
        snprintf(buf, len, "%" PRId64 "ms", ms);
    }
    else if (ms < 60000) {
        snprintf(buf, len, "%.1fs", (double)ms / 1000.0);
    }
    else {
        snprintf(buf, len, "%" PRId64 "m%02" PRId64 "s", ms / 60000,
                 (ms / 1000) % 60);
    }
}

void pstat_format_uptime(char *buf, size_t len, int64_t s)
{
    if (s < 0) {
        s = 0;
    }
    snprintf(buf, len, "%" PRId64 "d %02d:%02d:%02d", s / 86400,
             (int)(s / 3600 % 24), (int)(s / 60 % 60), (int)(s % 60));
}

void pstat_env_cells(const pstat_env_row *r,
                     char cells[PSTAT_ECOL_COUNT][PSTAT_CELL_MAX])
{
    const ph_shm_env_snapshot *e = &r->e;

    /* names come from the segment: escaped for the terminal (the text
     * snapshot and the curses view both print these cells) */
    ph_escape_term(cells[PSTAT_ECOL_NAME], PSTAT_CELL_MAX, e->name,
                   sizeof(e->name));
    snprintf(cells[PSTAT_ECOL_CHILDREN], PSTAT_CELL_MAX, "%u/%u/%u",
             r->children_alive, r->children_idle, e->max_processors);
    snprintf(cells[PSTAT_ECOL_BUSY], PSTAT_CELL_MAX, "%" PRId64,
             r->busy_threads);
    snprintf(cells[PSTAT_ECOL_IDLE], PSTAT_CELL_MAX, "%" PRId64,
             r->idle_threads);
    format_rate(cells[PSTAT_ECOL_REQ_RATE], PSTAT_CELL_MAX,
                r->requests_per_s);
    format_rate(cells[PSTAT_ECOL_CONN_RATE], PSTAT_CELL_MAX,
                r->connections_per_s);
    snprintf(cells[PSTAT_ECOL_DROPPED], PSTAT_CELL_MAX, "%" PRIu64,
             r->dropped);
    snprintf(cells[PSTAT_ECOL_DROP_DETAIL], PSTAT_CELL_MAX,
             "%" PRIu64 "/%" PRIu64, e->dropped_timeout, e->dropped_channel);
    snprintf(cells[PSTAT_ECOL_AVAIL], PSTAT_CELL_MAX, "%u%%", e->avail);
    snprintf(cells[PSTAT_ECOL_QUEUE], PSTAT_CELL_MAX, "%d", e->queue_depth);
    if (e->oldest_wait_ms > 0) {
        format_ms(cells[PSTAT_ECOL_OLDEST], PSTAT_CELL_MAX, e->oldest_wait_ms);
    }
    else {
        snprintf(cells[PSTAT_ECOL_OLDEST], PSTAT_CELL_MAX, "-");
    }
}

void pstat_child_cells(const pstat_child_row *r,
                       char cells[PSTAT_CCOL_COUNT][PSTAT_CELL_MAX])
{
    const ph_shm_child_snapshot *c = &r->c;

    snprintf(cells[PSTAT_CCOL_SLOT], PSTAT_CELL_MAX, "%u", c->slot);
    snprintf(cells[PSTAT_CCOL_PID], PSTAT_CELL_MAX, "%d", c->pid);
    snprintf(cells[PSTAT_CCOL_TYPE], PSTAT_CELL_MAX, "%s",
             pstat_type_name(c->type));
    snprintf(cells[PSTAT_CCOL_STATUS], PSTAT_CELL_MAX, "%s",
             pstat_status_name(c->status));
    ph_escape_term(cells[PSTAT_CCOL_ENV], PSTAT_CELL_MAX,
                   r->env_name[0] ? r->env_name : "-", sizeof(r->env_name));
    /* NUMA node ("-": not bound; "!" after it: a binding failed) */
    if (c->numa_node >= 0) {
        snprintf(cells[PSTAT_CCOL_NODE], PSTAT_CELL_MAX, "%d%s", c->numa_node,
                 c->numa_failed ? "!" : "");
    }
    else {
        snprintf(cells[PSTAT_CCOL_NODE], PSTAT_CELL_MAX, "-");
    }
    snprintf(cells[PSTAT_CCOL_BUSY], PSTAT_CELL_MAX, "%d", c->busy_threads);
    snprintf(cells[PSTAT_CCOL_IDLE], PSTAT_CELL_MAX, "%d", c->idle_threads);
    snprintf(cells[PSTAT_CCOL_REQUESTS], PSTAT_CELL_MAX, "%" PRIu64,
             c->requests);
    format_rate(cells[PSTAT_CCOL_REQ_RATE], PSTAT_CELL_MAX,
                r->requests_per_s);
    if (r->idle_ms >= 0) {
        format_ms(cells[PSTAT_CCOL_LAST_USED], PSTAT_CELL_MAX, r->idle_ms);
    }
    else {
        snprintf(cells[PSTAT_CCOL_LAST_USED], PSTAT_CELL_MAX, "never");
    }
}

void pstat_join_cells(char *buf, size_t len, const pstat_column *cols,
                      int ncols, char cells[][PSTAT_CELL_MAX])
{
    size_t used = 0;
    int i, n;

    buf[0] = '\0';
    for (i = 0; i < ncols && used < len; i++) {
        const char *text = cells ? cells[i] : cols[i].title;

        /* A cell wider than its column is cut, so the columns after it
         * stay where their titles are. */
        n = snprintf(buf + used, len - used, cols[i].left ? "%s%-*.*s"
                                                          : "%s%*.*s",
                     i ? " " : "", cols[i].width, cols[i].width, text);
        if (n < 0) {
            break;
        }
        used += (size_t)n;
    }
    /* Left-aligned last columns leave trailing blanks. */
    used = strlen(buf);
    while (used > 0 && buf[used - 1] == ' ') {
        buf[--used] = '\0';
    }
}

void pstat_format_server(char *buf, size_t len, const pstat_model *m)
{
    char up[32];

    pstat_format_uptime(up, sizeof(up), m->uptime_s);
    snprintf(buf, len, "server pid %" PRId64 "  up %s  generation %" PRIu64
             "  layout %u.%u", m->server_pid, up, m->generation,
             m->layout_major, m->layout_minor);
}

void pstat_format_totals(char *buf, size_t len, const pstat_model *m)
{
    const pstat_totals *t = &m->totals;
    char req[32], conn[32];

    format_rate(req, sizeof(req), t->requests_per_s);
    format_rate(conn, sizeof(conn), t->connections_per_s);
    snprintf(buf, len, "environments %u  children %u (processors %u, "
             "multiplexers %u)  threads busy %" PRId64 " idle %" PRId64
             "  req/s %s  conn/s %s  dropped %" PRIu64 " (timeout %" PRIu64
             ", channel %" PRIu64 ")  dropped_noenv %" PRIu64,
             t->environments, t->children, t->processors, t->multiplexers,
             t->busy_threads, t->idle_threads, req, conn, t->dropped,
             t->dropped_timeout, t->dropped_channel, t->dropped_noenv);
}

static int finish(FILE *out)
{
    return fflush(out) != 0 || ferror(out) ? 2 : 0;
}

int pstat_print_text(FILE *out, const pstat_model *m, const char *path)
{
    char line[512];
    char ecells[PSTAT_ECOL_COUNT][PSTAT_CELL_MAX];
    char ccells[PSTAT_CCOL_COUNT][PSTAT_CELL_MAX];
    uint32_t i;

    fprintf(out, "pstat %s\n", path);
    pstat_format_server(line, sizeof(line), m);
    if (m->rates) {
        fprintf(out, "%s  rates over %.2f s\n", line, m->interval_s);
    }
    else {
        fprintf(out, "%s  rates unknown (one sample)\n", line);
    }
    pstat_format_totals(line, sizeof(line), m);
    fprintf(out, "%s\n", line);
    if (m->busy_records) {
        fprintf(out, "note: %u records were being written and are left "
                "out\n", m->busy_records);
    }

    pstat_join_cells(line, sizeof(line), pstat_env_columns, PSTAT_ECOL_COUNT,
                     NULL);
    fprintf(out, "\n%s\n", line);
    for (i = 0; i < m->n_env_shown; i++) {
        pstat_env_cells(&m->envs[m->env_shown[i]], ecells);
        pstat_join_cells(line, sizeof(line), pstat_env_columns,
                         PSTAT_ECOL_COUNT, ecells);
        fprintf(out, "%s\n", line);
    }

    pstat_join_cells(line, sizeof(line), pstat_child_columns,
                     PSTAT_CCOL_COUNT, NULL);
    fprintf(out, "\n%s\n", line);
    for (i = 0; i < m->n_child_shown; i++) {
        pstat_child_cells(&m->children[m->child_shown[i]], ccells);
        pstat_join_cells(line, sizeof(line), pstat_child_columns,
                         PSTAT_CCOL_COUNT, ccells);
        fprintf(out, "%s\n", line);
    }
    return finish(out);
}

/* A JSON string from s (at most max bytes, stops at NUL).  A writer may
 * have put any byte in a name: ph_escape_json makes it valid ASCII JSON.
 * Escaped a chunk at a time, so a long path needs no big buffer. */
static void json_str(FILE *out, const char *s, size_t max)
{
    enum { CHUNK = 64 };
    char buf[PH_ESCAPE_SIZE(CHUNK)];
    size_t i, n;

    fputc('"', out);
    for (i = 0; i < max && s[i]; i += n) {
        n = max - i < CHUNK ? max - i : CHUNK;
        ph_escape_json(buf, sizeof(buf), s + i, n);
        fputs(buf, out);
        n = strnlen(s + i, n);
    }
    fputc('"', out);
}

/* A rate, or null when it is unknown (so that 0 always means "none"). */
static void json_rate(FILE *out, const char *key, double rate)
{
    if (rate < 0.0) {
        fprintf(out, ", \"%s\": null", key);
    }
    else {
        fprintf(out, ", \"%s\": %.3f", key, rate);
    }
}

static void json_env(FILE *out, const pstat_env_row *r)
{
    const ph_shm_env_snapshot *e = &r->e;

    fprintf(out, "    {\"index\": %u, \"name\": ", e->index);
    json_str(out, e->name, sizeof(e->name));
    fprintf(out, ", \"uid\": %u, \"gid\": %u, \"children_alive\": %u"
            ", \"children_idle\": %u, \"children_max\": %u"
            ", \"children_min\": %u, \"threads_per_child\": %u"
            ", \"busy_threads\": %" PRId64 ", \"idle_threads\": %" PRId64
            ", \"requests\": %" PRIu64 ", \"connections\": %" PRIu64,
            e->uid, e->gid, r->children_alive, r->children_idle,
            e->max_processors, e->min_processors, e->threads_per_child,
            r->busy_threads, r->idle_threads, e->requests, e->connections);
    json_rate(out, "requests_per_s", r->requests_per_s);
    json_rate(out, "connections_per_s", r->connections_per_s);
    fprintf(out, ", \"dropped\": %" PRIu64 ", \"dropped_timeout\": %" PRIu64
            ", \"dropped_channel\": %" PRIu64 ", \"misdirected\": %" PRIu64
            ", \"avail\": %u, \"queue_depth\": %d, \"oldest_wait_ms\": %"
            PRId64 ", \"in_flight\": %d, \"idle_workers\": %d"
            ", \"demand\": %u, \"processors\": %u, \"wait_timeout_ms\": %u"
            ", \"numa_bind_failures\": %u, \"cgroup_join_failures\": %u}",
            r->dropped, e->dropped_timeout, e->dropped_channel,
            e->misdirected, e->avail, e->queue_depth, e->oldest_wait_ms,
            e->in_flight, e->idle_workers, e->demand, e->processors,
            e->wait_timeout_ms, e->numa_failures, e->cgroup_failures);
}

static void json_bytes(FILE *out, const char *key, uint64_t v)
{
    if (v) {
        fprintf(out, ", \"%s\": %" PRIu64, key, v);
    }
    else {
        fprintf(out, ", \"%s\": null", key);
    }
}

static void json_child(FILE *out, const pstat_child_row *r)
{
    const ph_shm_child_snapshot *c = &r->c;

    fprintf(out, "    {\"slot\": %u, \"pid\": %d, \"type\": \"%s\""
            ", \"status\": \"%s\", \"generation\": %u, \"env_index\": %d"
            ", \"env\": ", c->slot, c->pid, pstat_type_name(c->type),
            pstat_status_name(c->status), c->generation, c->env_index);
    if (r->env_name[0]) {
        json_str(out, r->env_name, sizeof(r->env_name));
    }
    else {
        fputs("null", out);
    }
    fprintf(out, ", \"threads\": %u, \"busy_threads\": %d"
            ", \"idle_threads\": %d, \"requests\": %" PRIu64
            ", \"connections\": %" PRIu64, c->threads, c->busy_threads,
            c->idle_threads, c->requests, c->connections);
    json_rate(out, "requests_per_s", r->requests_per_s);
    fprintf(out, ", \"last_used_ms\": %" PRId64 ", \"last_used_ago_ms\": ",
            c->last_used_ms);
    if (r->idle_ms < 0) {
        fputs("null", out);
    }
    else {
        fprintf(out, "%" PRId64, r->idle_ms);
    }
    fprintf(out, ", \"started_us\": %" PRId64 ", \"numa_node\": %d"
            ", \"numa_cpu_failed\": %s, \"numa_mem_failed\": %s"
            ", \"cgroup_failed\": %s",
            c->started_us, c->numa_node,
            c->numa_failed & PH_NUMA_FAILED_CPU ? "true" : "false",
            c->numa_failed & PH_NUMA_FAILED_MEM ? "true" : "false",
            c->cgroup_failed ? "true" : "false");
    /* the child's own figures (jemalloc), null when it reports none */
    json_bytes(out, "alloc_allocated", c->alloc_allocated);
    json_bytes(out, "alloc_resident", c->alloc_resident);
    fputs("}", out);
}

int pstat_print_json(FILE *out, const pstat_model *m, const char *path)
{
    const pstat_totals *t = &m->totals;
    uint32_t i;

    fprintf(out, "{\n  \"pstat_version\": %d,\n  \"layout\": \"%u.%u\",\n"
            "  \"path\": ", PSTAT_VERSION, m->layout_major, m->layout_minor);
    json_str(out, path, strlen(path));
    fprintf(out, ",\n  \"time_us\": %" PRId64 ",\n  \"interval_s\": %.3f"
            ",\n  \"busy_records\": %u,\n", m->wall_us, m->interval_s,
            m->busy_records);
    fprintf(out, "  \"server\": {\"pid\": %" PRId64 ", \"birth_time_us\": %"
            PRId64 ", \"uptime_s\": %" PRId64 ", \"generation\": %" PRIu64
            ", \"env_count\": %u, \"env_capacity\": %u, \"child_capacity\": "
            "%u, \"mux_capacity\": %u},\n", m->server_pid, m->birth_time_us,
            m->uptime_s, m->generation, m->env_count, m->env_capacity,
            m->child_capacity, m->mux_capacity);
    fprintf(out, "  \"totals\": {\"environments\": %u, \"children\": %u"
            ", \"processors\": %u, \"multiplexers\": %u"
            ", \"busy_threads\": %" PRId64 ", \"idle_threads\": %" PRId64
            ", \"requests\": %" PRIu64 ", \"connections\": %" PRIu64,
            t->environments, t->children, t->processors, t->multiplexers,
            t->busy_threads, t->idle_threads, t->requests, t->connections);
    json_rate(out, "requests_per_s", t->requests_per_s);
    json_rate(out, "connections_per_s", t->connections_per_s);
    fprintf(out, ", \"dropped\": %" PRIu64 ", \"dropped_timeout\": %" PRIu64
            ", \"dropped_channel\": %" PRIu64 ", \"dropped_noenv\": %" PRIu64
            "},\n", t->dropped, t->dropped_timeout, t->dropped_channel,
            t->dropped_noenv);

    fputs("  \"environments\": [", out);
    for (i = 0; i < m->n_env_shown; i++) {
        fputs(i ? ",\n" : "\n", out);
        json_env(out, &m->envs[m->env_shown[i]]);
    }
    fputs(m->n_env_shown ? "\n  ],\n" : "],\n", out);
    fputs("  \"children\": [", out);
    for (i = 0; i < m->n_child_shown; i++) {
        fputs(i ? ",\n" : "\n", out);
        json_child(out, &m->children[m->child_shown[i]]);
    }
    fputs(m->n_child_shown ? "\n  ]\n}\n" : "]\n}\n", out);
    return finish(out);
}
