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
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "ph_escape.h"
#include "pstat.h"

const pstat_column pstat_env_columns[PSTAT_ECOL_COUNT] = {
    [PSTAT_ECOL_NAME]        = { "ENVIRONMENT", 20, 1 },
    [PSTAT_ECOL_CHILDREN]    = { "CHILD A/I/MAX", 13, 0 },
    [PSTAT_ECOL_BUSY]        = { "BUSY", 5, 0 },
    [PSTAT_ECOL_IDLE]        = { "IDLE", 5, 0 },
    [PSTAT_ECOL_REQ_RATE]    = { "REQ/S", 7, 0 },
    [PSTAT_ECOL_CONN_RATE]   = { "CONN/S", 7, 0 },
    [PSTAT_ECOL_BYTE_RATE]   = { "OUT B/S", 7, 0 },
    [PSTAT_ECOL_4XX_RATE]    = { "4XX/S", 6, 0 },
    [PSTAT_ECOL_5XX_RATE]    = { "5XX/S", 6, 0 },
    [PSTAT_ECOL_CPU]         = { "CPU%", 6, 0 },
    [PSTAT_ECOL_RSS]         = { "RSS", 6, 0 },
    [PSTAT_ECOL_PSS]         = { "PSS", 6, 0 },
    [PSTAT_ECOL_USER]        = { "USER", 10, 1 },
    [PSTAT_ECOL_NODE]        = { "NODE", 4, 0 },
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
    [PSTAT_CCOL_BYTE_RATE] = { "OUT B/S", 7, 0 },
    [PSTAT_CCOL_4XX_RATE]  = { "4XX/S", 6, 0 },
    [PSTAT_CCOL_5XX_RATE]  = { "5XX/S", 6, 0 },
    [PSTAT_CCOL_CPU]       = { "CPU%", 6, 0 },
    [PSTAT_CCOL_RSS]       = { "RSS", 6, 0 },
    [PSTAT_CCOL_PSS]       = { "PSS", 6, 0 },
    [PSTAT_CCOL_USER]      = { "USER", 10, 1 },
};

/*
 * A number in at most width characters, never cut: as it is when it fits,
 * else scaled with a suffix (k M G T P E: powers of 1000, or of 1024 for
 * bytes), with one decimal while there is room.  A number that fits in no
 * way is written as '+' characters, which no number is mistaken for.
 */
void pstat_fit_number(char *buf, size_t len, int width, double v,
                      int bytes, int decimals)
{
    const char *suffix = bytes ? "KMGTPE" : "kMGTPE";
    double base = bytes ? 1024.0 : 1000.0;
    double x = v;
    int i, n;

    if (width <= 0 || len == 0) {
        if (len) {
            buf[0] = '\0';
        }
        return;
    }
    if (width >= (int)len) {
        width = (int)len - 1;
    }
    if (decimals > 0) {
        n = snprintf(buf, len, "%.*f", decimals, v);
        if (n > 0 && n <= width) {
            return;
        }
    }
    /* bytes read better as K/M/G beside each other, whatever fits */
    n = snprintf(buf, len, "%.0f", v);
    if (n > 0 && n <= width && (!bytes || v < base)) {
        return;
    }
    for (i = 0; suffix[i] != '\0'; i++) {
        x /= base;
        if (x < 0.95) {
            break;              /* "0M" would hide the number */
        }
        /* "%.1f" of 999.96 is "1000.0": that is the next suffix's */
        n = snprintf(buf, len, "%.1f%c", x, suffix[i]);
        if (n > 0 && n <= width && x < 999.95) {
            return;
        }
        n = snprintf(buf, len, "%.0f%c", x, suffix[i]);
        if (n > 0 && n <= width && x < 999.5) {
            return;
        }
    }
    memset(buf, '+', (size_t)width);
    buf[width] = '\0';
}

static void format_rate(char *buf, size_t len, double rate)
{
    if (rate < 0.0) {
        snprintf(buf, len, "-");
    }
    else {
        snprintf(buf, len, "%.1f", rate);
    }
}

/* A cell of a numeric column: fitted to the column, "-" when unknown. */
static void fit_cell(char *buf, const pstat_column *col, double v, int bytes,
                     int decimals)
{
    if (v < 0.0) {
        snprintf(buf, PSTAT_CELL_MAX, "-");
    }
    else {
        pstat_fit_number(buf, PSTAT_CELL_MAX, col->width, v, bytes,
                         decimals);
    }
}

/* A user's name, or the number when it has none (a few remembered: the
 * same handful of uids is looked up every refresh). */
void pstat_user_name(char *buf, size_t len, int64_t uid)
{
    enum { CACHED = 256 };
    static struct { int64_t uid; char name[32]; } cache[CACHED];
    static unsigned used, next;
    struct passwd *pw;
    unsigned i;

    if (uid < 0) {
        snprintf(buf, len, "-");
        return;
    }
    for (i = 0; i < used; i++) {
        if (cache[i].uid == uid) {
            snprintf(buf, len, "%s", cache[i].name);
            return;
        }
    }
    pw = getpwuid((uid_t)uid);
    i = used < CACHED ? used++ : next++ % CACHED;
    cache[i].uid = uid;
    if (pw != NULL && pw->pw_name != NULL) {
        ph_escape_term(cache[i].name, sizeof(cache[i].name), pw->pw_name,
                       strlen(pw->pw_name));
    }
    else {
        snprintf(cache[i].name, sizeof(cache[i].name), "%" PRId64, uid);
    }
    snprintf(buf, len, "%s", cache[i].name);
}

static void node_cell(char *buf, int32_t node, int failed)
{
    /* NUMA node ("-": not bound; "!" after it: a binding failed;
     * "mix": an environment's processors on several) */
    if (node >= 0) {
        snprintf(buf, PSTAT_CELL_MAX, "%d%s", node, failed ? "!" : "");
    }
    else if (node == PSTAT_NODE_MIXED) {
        snprintf(buf, PSTAT_CELL_MAX, "mix");
    }
    else {
        snprintf(buf, PSTAT_CELL_MAX, "-");
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

/* The seven columns environments and children share, in this order from
 * `first` on in both tables: bytes/s, 4xx/s, 5xx/s, CPU %, RSS, PSS, user. */
static void tenant_cells(char cells[][PSTAT_CELL_MAX],
                         const pstat_column *cols, int first, double bytes_s,
                         double r4xx_s, double r5xx_s, double cpu,
                         int64_t rss, int64_t pss, int64_t uid)
{
    fit_cell(cells[first], &cols[first], bytes_s, 1, 0);
    fit_cell(cells[first + 1], &cols[first + 1], r4xx_s, 0, 1);
    fit_cell(cells[first + 2], &cols[first + 2], r5xx_s, 0, 1);
    fit_cell(cells[first + 3], &cols[first + 3], cpu, 0, 1);
    fit_cell(cells[first + 4], &cols[first + 4], (double)rss, 1, 0);
    fit_cell(cells[first + 5], &cols[first + 5], (double)pss, 1, 0);
    pstat_user_name(cells[first + 6], PSTAT_CELL_MAX, uid);
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
#define ECOL(c) &pstat_env_columns[c]
    fit_cell(cells[PSTAT_ECOL_BUSY], ECOL(PSTAT_ECOL_BUSY),
             (double)r->busy_threads, 0, 0);
    fit_cell(cells[PSTAT_ECOL_IDLE], ECOL(PSTAT_ECOL_IDLE),
             (double)r->idle_threads, 0, 0);
    fit_cell(cells[PSTAT_ECOL_REQ_RATE], ECOL(PSTAT_ECOL_REQ_RATE),
             r->requests_per_s, 0, 1);
    fit_cell(cells[PSTAT_ECOL_CONN_RATE], ECOL(PSTAT_ECOL_CONN_RATE),
             r->connections_per_s, 0, 1);
    tenant_cells(cells, pstat_env_columns, PSTAT_ECOL_BYTE_RATE,
                 r->bytes_per_s, r->r4xx_per_s, r->r5xx_per_s, r->cpu_pct,
                 r->rss_bytes, r->pss_bytes, e->uid);
    node_cell(cells[PSTAT_ECOL_NODE], r->numa_node, 0);
    fit_cell(cells[PSTAT_ECOL_DROPPED], ECOL(PSTAT_ECOL_DROPPED),
             (double)r->dropped, 0, 0);
    snprintf(cells[PSTAT_ECOL_DROP_DETAIL], PSTAT_CELL_MAX,
             "%" PRIu64 "/%" PRIu64, e->dropped_timeout, e->dropped_channel);
    snprintf(cells[PSTAT_ECOL_AVAIL], PSTAT_CELL_MAX, "%u%%", e->avail);
    fit_cell(cells[PSTAT_ECOL_QUEUE], ECOL(PSTAT_ECOL_QUEUE),
             (double)(e->queue_depth > 0 ? e->queue_depth : 0), 0, 0);
#undef ECOL
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
#define CCOL(c) &pstat_child_columns[c]
    node_cell(cells[PSTAT_CCOL_NODE], c->numa_node < 0 ? -1 : c->numa_node,
              c->numa_failed != 0);
    fit_cell(cells[PSTAT_CCOL_BUSY], CCOL(PSTAT_CCOL_BUSY),
             (double)(c->busy_threads > 0 ? c->busy_threads : 0), 0, 0);
    fit_cell(cells[PSTAT_CCOL_IDLE], CCOL(PSTAT_CCOL_IDLE),
             (double)(c->idle_threads > 0 ? c->idle_threads : 0), 0, 0);
    fit_cell(cells[PSTAT_CCOL_REQUESTS], CCOL(PSTAT_CCOL_REQUESTS),
             (double)c->requests, 0, 0);
    fit_cell(cells[PSTAT_CCOL_REQ_RATE], CCOL(PSTAT_CCOL_REQ_RATE),
             r->requests_per_s, 0, 1);
    tenant_cells(cells, pstat_child_columns, PSTAT_CCOL_BYTE_RATE,
                 r->bytes_per_s, r->r4xx_per_s, r->r5xx_per_s, r->cpu_pct,
                 r->rss_bytes, r->pss_bytes, r->uid);
#undef CCOL
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
    pstat_join_some(buf, len, cols, NULL, ncols, cells);
}

void pstat_join_some(char *buf, size_t len, const pstat_column *cols,
                     const int *which, int n_which,
                     char cells[][PSTAT_CELL_MAX])
{
    char cut[PSTAT_CELL_MAX];
    size_t used = 0;
    int i, k, n;

    buf[0] = '\0';
    for (k = 0; k < n_which && used < len; k++) {
        const char *text;

        i = which ? which[k] : k;
        text = cells ? cells[i] : cols[i].title;
        /* A cell wider than its column (a long name) is cut, so the
         * columns after it stay where their titles are, and its last
         * character becomes '>' to say so: nothing is cut silently. */
        if ((int)strlen(text) > cols[i].width && cols[i].width > 0
            && cols[i].width < (int)sizeof(cut)) {
            memcpy(cut, text, (size_t)cols[i].width - 1);
            cut[cols[i].width - 1] = '>';
            cut[cols[i].width] = '\0';
            text = cut;
        }
        n = snprintf(buf + used, len - used, cols[i].left ? "%s%-*.*s"
                                                          : "%s%*.*s",
                     k ? " " : "", cols[i].width, cols[i].width, text);
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

/* The interactive view's summary line: the figures of the long one that
 * matter most, in under 80 columns for a handful of environments. */
void pstat_format_totals_short(char *buf, size_t len, const pstat_model *m)
{
    const pstat_totals *t = &m->totals;
    char req[16], out[16], err[16];

    if (t->requests_per_s < 0.0) {
        snprintf(req, sizeof(req), "-");
        snprintf(out, sizeof(out), "-");
        snprintf(err, sizeof(err), "-");
    }
    else {
        pstat_fit_number(req, sizeof(req), 6, t->requests_per_s, 0, 1);
        pstat_fit_number(out, sizeof(out), 5, t->bytes_per_s, 1, 0);
        pstat_fit_number(err, sizeof(err), 6, t->r5xx_per_s, 0, 1);
    }
    snprintf(buf, len, "envs %u  procs %u  mux %u  busy %" PRId64
             "/%" PRId64 "  req/s %s  out %s/s  5xx/s %s  503 %" PRIu64,
             t->environments, t->processors, t->multiplexers,
             t->busy_threads, t->busy_threads + t->idle_threads, req, out,
             err, t->dropped + t->dropped_noenv);
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

/* A figure, or null when unknown (< 0). */
static void json_opt(FILE *out, const char *key, int64_t v)
{
    if (v < 0) {
        fprintf(out, ", \"%s\": null", key);
    }
    else {
        fprintf(out, ", \"%s\": %" PRId64, key, v);
    }
}

/* What environments and children share: answers, rates, the kernel's
 * figures and the user. */
static void json_more(FILE *out, uint64_t bytes, uint64_t r4xx,
                      uint64_t r5xx, double bytes_s, double r4xx_s,
                      double r5xx_s, double cpu, int64_t rss, int64_t pss,
                      int64_t uid)
{
    char user[64], esc[PH_ESCAPE_SIZE(64)];

    fprintf(out, ", \"bytes_sent\": %" PRIu64 ", \"responses_4xx\": %"
            PRIu64 ", \"responses_5xx\": %" PRIu64, bytes, r4xx, r5xx);
    json_rate(out, "bytes_per_s", bytes_s);
    json_rate(out, "responses_4xx_per_s", r4xx_s);
    json_rate(out, "responses_5xx_per_s", r5xx_s);
    json_rate(out, "cpu_pct", cpu);
    json_opt(out, "rss_bytes", rss);
    json_opt(out, "pss_bytes", pss);
    if (uid < 0) {
        fputs(", \"user\": null", out);
        return;
    }
    pstat_user_name(user, sizeof(user), uid);
    ph_escape_json(esc, sizeof(esc), user, sizeof(user));
    fprintf(out, ", \"user\": \"%s\"", esc);
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
    json_more(out, e->bytes_sent, e->responses_4xx, e->responses_5xx,
              r->bytes_per_s, r->r4xx_per_s, r->r5xx_per_s, r->cpu_pct,
              r->rss_bytes, r->pss_bytes, (int64_t)e->uid);
    fprintf(out, ", \"numa_node\": %d", r->numa_node);
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
    json_more(out, c->bytes_sent, c->responses_4xx, c->responses_5xx,
              r->bytes_per_s, r->r4xx_per_s, r->r5xx_per_s, r->cpu_pct,
              r->rss_bytes, r->pss_bytes, r->uid);
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

int pstat_print_json(FILE *out, const pstat_model *m, const char *path,
                     const pstat_fieldset *set)
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
            "%u, \"mux_capacity\": %u, \"alive\": %s},\n", m->server_pid,
            m->birth_time_us, m->uptime_s, m->generation, m->env_count,
            m->env_capacity, m->child_capacity, m->mux_capacity,
            m->alive ? "true" : "false");
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
    fputs(m->n_child_shown ? "\n  ],\n" : "],\n", out);
    pstat_json_fields(out, m, set);
    fputs("\n}\n", out);
    return finish(out);
}
