/*
 * pstat_fields.c -- the figures as a flat list of named fields, as
 * varnishstat shows its counters: `-1` (name value rate description, one
 * a line), the "fields" of `-j` (each with its description), `-f` globs
 * choosing among them, and `--prometheus` (the per-environment figures in
 * Prometheus's text exposition format).
 *
 * Names: MAIN.<key> for the server, ENV.<environment>.<key>, and
 * CHILD.<slot>.<key>.  An environment's name is written with
 * ph_escape_key (names the configuration accepts come out unchanged), so
 * a name from the segment can neither break a line nor fake another
 * field.  One table per kind of row says, for each key, its type, its
 * description and its Prometheus metric: the three outputs cannot
 * disagree on what a figure means.
 */
#define _GNU_SOURCE
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ph_escape.h"
#include "pstat.h"

/* ---- the filter (-f) --------------------------------------------------- */

int pstat_filter_add(pstat_fieldset *f, const char *glob)
{
    if (f->n == PSTAT_MAX_GLOBS || glob[0] == '\0'
        || (glob[0] == '^' && glob[1] == '\0')) {
        return -1;
    }
    f->globs[f->n++] = glob;
    return 0;
}

/* As varnishstat: a field matching an exclusion (^glob) is left out;
 * otherwise it is shown if there is no inclusion glob or one matches. */
int pstat_field_shown(const pstat_fieldset *f, const char *name)
{
    int i, includes = 0;

    for (i = 0; i < f->n; i++) {
        if (f->globs[i][0] == '^' && fnmatch(f->globs[i] + 1, name, 0) == 0) {
            return 0;
        }
    }
    for (i = 0; i < f->n; i++) {
        if (f->globs[i][0] != '^') {
            includes++;
            if (fnmatch(f->globs[i], name, 0) == 0) {
                return 1;
            }
        }
    }
    return includes == 0;
}

/* ---- the tables ---------------------------------------------------------- */

typedef struct key_def {
    int id;
    const char *key;
    int counter;                    /* else a gauge */
    const char *desc;
    const char *prom;               /* metric; NULL: not exported */
    const char *prom_label;         /* an extra label="value", or NULL */
    const char *prom_help;          /* the family's HELP (first of it) */
    double prom_scale;              /* value in the metric's unit */
} key_def;

enum {
    M_UP, M_UPTIME, M_START, M_GENERATION, M_ENVS, M_CHILDREN, M_PROCS,
    M_MUXES, M_BUSY, M_IDLE, M_REQ, M_CONN, M_BYTES, M_4XX, M_5XX,
    M_DROP_T, M_DROP_C, M_DROP_N, M_421
};

static const key_def main_keys[] = {
    { M_UP, "up", 0, "1 while the server that wrote the segment runs",
      "peruser_up", NULL, "Whether the server's parent process runs (1) "
      "or the segment is stale (0).", 1 },
    { M_UPTIME, "uptime", 0, "Seconds since the segment was created",
      NULL, NULL, NULL, 1 },
    { M_START, "start_time", 0, "When the segment was created (Unix time)",
      "peruser_start_time_seconds", NULL, "When the server's segment was "
      "created, in seconds since the epoch.", 1 },
    { M_GENERATION, "generation", 0, "Restarts of the server (httpd "
      "generation)", "peruser_generation", NULL, "httpd generation: graceful "
      "or hard restarts so far.", 1 },
    { M_ENVS, "environments", 0, "Environments this generation",
      "peruser_environments", NULL, "Environments (<Processor>) this "
      "generation.", 1 },
    { M_CHILDREN, "children", 0, "Child processes", NULL, NULL, NULL, 1 },
    { M_PROCS, "processors", 0, "Processor children", NULL, NULL, NULL, 1 },
    { M_MUXES, "multiplexers", 0, "Multiplexer children",
      "peruser_multiplexers", NULL, "Multiplexer processes.", 1 },
    { M_BUSY, "busy_workers", 0, "Processors' threads serving a request",
      NULL, NULL, NULL, 1 },
    { M_IDLE, "idle_workers", 0, "Processors' idle threads", NULL, NULL,
      NULL, 1 },
    { M_REQ, "requests", 1, "Requests served", NULL, NULL, NULL, 1 },
    { M_CONN, "connections", 1, "Connections handed to environments",
      NULL, NULL, NULL, 1 },
    { M_BYTES, "bytes_sent", 1, "Response body bytes sent", NULL, NULL,
      NULL, 1 },
    { M_4XX, "responses_4xx", 1, "Responses with a 4xx status", NULL,
      NULL, NULL, 1 },
    { M_5XX, "responses_5xx", 1, "Responses with a 5xx status", NULL,
      NULL, NULL, 1 },
    { M_DROP_T, "dropped_timeout", 1, "503: no worker free in time", NULL,
      NULL, NULL, 1 },
    { M_DROP_C, "dropped_channel", 1, "503: the hand-off failed", NULL,
      NULL, NULL, 1 },
    { M_DROP_N, "dropped_noenv", 1, "503: virtual host without environment",
      "peruser_dropped_no_environment_total", NULL, "Connections answered "
      "503 because their virtual host has no environment.", 1 },
    { M_421, "misdirected", 1, "421: request for another environment's "
      "virtual host", NULL, NULL, NULL, 1 },
};

enum {
    E_REQ, E_CONN, E_BYTES, E_4XX, E_5XX, E_DROP_T, E_DROP_C, E_421,
    E_AVAIL, E_QUEUE, E_OLDEST, E_INFLIGHT, E_BUSY, E_IDLE, E_PROCS,
    E_PROCS_IDLE, E_PROCS_MAX, E_PROCS_MIN, E_CPU, E_RSS, E_PSS, E_UID,
    E_NUMA_FAIL
};

/* One HELP for the label variants of a family. */
#define HELP_RESPONSES  "Responses of the environment's processors by " \
                        "status class (4xx, 5xx)."
#define HELP_DROPPED    "Connections the multiplexers answered 503, by " \
                        "reason: no worker free in time (timeout), the " \
                        "hand-off failed (channel)."

static const key_def env_keys[] = {
    { E_REQ, "requests", 1, "Requests served by its processors",
      "peruser_requests_total", NULL, "Requests served by the "
      "environment's processors.", 1 },
    { E_CONN, "connections", 1, "Connections handed to it",
      "peruser_connections_total", NULL, "Connections the multiplexers "
      "handed to the environment.", 1 },
    { E_BYTES, "bytes_sent", 1, "Response body bytes its processors sent",
      "peruser_sent_bytes_total", NULL, "Response body bytes the "
      "environment's processors sent.", 1 },
    { E_4XX, "responses_4xx", 1, "Responses with a 4xx status",
      "peruser_responses_total", "class=\"4xx\"", HELP_RESPONSES, 1 },
    { E_5XX, "responses_5xx", 1, "Responses with a 5xx status",
      "peruser_responses_total", "class=\"5xx\"", HELP_RESPONSES, 1 },
    { E_DROP_T, "dropped_timeout", 1, "503: no worker free in time",
      "peruser_dropped_total", "reason=\"timeout\"", HELP_DROPPED, 1 },
    { E_DROP_C, "dropped_channel", 1, "503: the hand-off failed",
      "peruser_dropped_total", "reason=\"channel\"", HELP_DROPPED, 1 },
    { E_421, "misdirected", 1, "421: request for another environment's "
      "virtual host on its connection", "peruser_misdirected_total", NULL,
      "Requests answered 421 Misdirected Request (a virtual host of another "
      "environment on this environment's connection).", 1 },
    { E_AVAIL, "avail", 0, "AVAIL: % of the allowed wait left (admission)",
      "peruser_avail_ratio", NULL, "AVAIL, the share of "
      "ProcessorWaitTimeout a connection may still wait (1 = all).", 0.01 },
    { E_QUEUE, "queue_depth", 0, "Connections waiting in multiplexers",
      "peruser_queued_connections", NULL, "Connections waiting in the "
      "multiplexers for a worker of the environment.", 1 },
    { E_OLDEST, "oldest_wait_ms", 0, "Age of the oldest waiting connection "
      "(ms)", "peruser_oldest_wait_seconds", NULL, "Age of the oldest "
      "connection waiting for the environment.", 0.001 },
    { E_INFLIGHT, "in_flight", 0, "Hand-offs sent, not yet taken",
      "peruser_handoffs_in_flight", NULL, "Connections handed off and not "
      "yet taken by a processor.", 1 },
    { E_BUSY, "busy_workers", 0, "Its processors' threads serving a "
      "request", "peruser_busy_workers", NULL, "Threads of the "
      "environment's processors serving a request.", 1 },
    { E_IDLE, "idle_workers", 0, "Its processors' idle threads",
      "peruser_idle_workers", NULL, "Idle threads of the environment's "
      "processors.", 1 },
    { E_PROCS, "processors", 0, "Its processor processes",
      "peruser_processors", NULL, "Processor processes of the "
      "environment.", 1 },
    { E_PROCS_IDLE, "processors_idle", 0, "... of which none is busy",
      "peruser_idle_processors", NULL, "Processors of the environment with "
      "no busy thread.", 1 },
    { E_PROCS_MAX, "processors_max", 0, "MaxProcessors",
      "peruser_processors_max", NULL, "MaxProcessors of the environment.",
      1 },
    { E_PROCS_MIN, "processors_min", 0, "MinProcessors", NULL, NULL, NULL,
      1 },
    { E_CPU, "cpu_pct", 0, "CPU of its processors over the interval "
      "(% of one CPU)", NULL, NULL, NULL, 1 },
    { E_RSS, "rss_bytes", 0, "Resident memory of its processors (bytes)",
      "peruser_resident_memory_bytes", NULL, "Resident memory (RSS) of the "
      "environment's processors.", 1 },
    { E_PSS, "pss_bytes", 0, "Proportional memory of its processors "
      "(bytes; root only)", "peruser_proportional_memory_bytes", NULL,
      "Proportional set size (PSS) of the environment's processors.", 1 },
    { E_UID, "uid", 0, "The user it runs as", NULL, NULL, NULL, 1 },
    { E_NUMA_FAIL, "numa_bind_failures", 1, "Processors that could not "
      "bind to their NUMA node", "peruser_numa_bind_failures_total", NULL,
      "Processors that could not bind to their NUMA node, this "
      "generation.", 1 },
};

enum {
    C_PID, C_TYPE, C_ENV, C_REQ, C_CONN, C_BYTES, C_4XX, C_5XX, C_BUSY,
    C_IDLE, C_CPU, C_RSS, C_PSS, C_UID, C_NODE
};

static const key_def child_keys[] = {
    { C_PID, "pid", 0, "Process id", NULL, NULL, NULL, 1 },
    { C_TYPE, "type", 0, "1 multiplexer, 2 processor", NULL, NULL, NULL, 1 },
    { C_ENV, "env_index", 0, "Its environment's record (-1: none)", NULL,
      NULL, NULL, 1 },
    { C_REQ, "requests", 1, "Requests it served", NULL, NULL, NULL, 1 },
    { C_CONN, "connections", 1, "Connections it took", NULL, NULL, NULL,
      1 },
    { C_BYTES, "bytes_sent", 1, "Response body bytes it sent", NULL, NULL,
      NULL, 1 },
    { C_4XX, "responses_4xx", 1, "Its responses with a 4xx status", NULL,
      NULL, NULL, 1 },
    { C_5XX, "responses_5xx", 1, "Its responses with a 5xx status", NULL,
      NULL, NULL, 1 },
    { C_BUSY, "busy_workers", 0, "Threads serving a request", NULL, NULL,
      NULL, 1 },
    { C_IDLE, "idle_workers", 0, "Idle threads", NULL, NULL, NULL, 1 },
    { C_CPU, "cpu_pct", 0, "CPU over the interval (% of one CPU)", NULL,
      NULL, NULL, 1 },
    { C_RSS, "rss_bytes", 0, "Resident memory (bytes)", NULL, NULL, NULL,
      1 },
    { C_PSS, "pss_bytes", 0, "Proportional memory (bytes; root only)",
      NULL, NULL, NULL, 1 },
    { C_UID, "uid", 0, "Effective user id", NULL, NULL, NULL, 1 },
    { C_NODE, "numa_node", 0, "NUMA node it is bound to (-1: none)", NULL,
      NULL, NULL, 1 },
};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* A value; *rate: per second over the interval when pstat measured one,
 * else unknown.  Returns 0, or -1 when the value itself is unknown (the
 * field is then left out). */
static int main_value(const pstat_model *m, int id, double *v, double *rate)
{
    const pstat_totals *t = &m->totals;

    *rate = PSTAT_RATE_UNKNOWN;
    switch (id) {
    case M_UP:          *v = m->alive ? 1 : 0; break;
    case M_UPTIME:      *v = (double)m->uptime_s; break;
    case M_START:       *v = (double)m->birth_time_us / 1e6; break;
    case M_GENERATION:  *v = (double)m->generation; break;
    case M_ENVS:        *v = t->environments; break;
    case M_CHILDREN:    *v = t->children; break;
    case M_PROCS:       *v = t->processors; break;
    case M_MUXES:       *v = t->multiplexers; break;
    case M_BUSY:        *v = (double)t->busy_threads; break;
    case M_IDLE:        *v = (double)t->idle_threads; break;
    case M_REQ:         *v = (double)t->requests;
                        *rate = t->requests_per_s; break;
    case M_CONN:        *v = (double)t->connections;
                        *rate = t->connections_per_s; break;
    case M_BYTES:       *v = (double)t->bytes_sent;
                        *rate = t->bytes_per_s; break;
    case M_4XX:         *v = (double)t->responses_4xx;
                        *rate = t->r4xx_per_s; break;
    case M_5XX:         *v = (double)t->responses_5xx;
                        *rate = t->r5xx_per_s; break;
    case M_DROP_T:      *v = (double)t->dropped_timeout; break;
    case M_DROP_C:      *v = (double)t->dropped_channel; break;
    case M_DROP_N:      *v = (double)t->dropped_noenv; break;
    case M_421:         *v = (double)t->misdirected; break;
    default:            return -1;
    }
    return 0;
}

static int env_value(const pstat_env_row *r, int id, double *v, double *rate)
{
    const ph_shm_env_snapshot *e = &r->e;

    *rate = PSTAT_RATE_UNKNOWN;
    switch (id) {
    case E_REQ:         *v = (double)e->requests;
                        *rate = r->requests_per_s; break;
    case E_CONN:        *v = (double)e->connections;
                        *rate = r->connections_per_s; break;
    case E_BYTES:       *v = (double)e->bytes_sent;
                        *rate = r->bytes_per_s; break;
    case E_4XX:         *v = (double)e->responses_4xx;
                        *rate = r->r4xx_per_s; break;
    case E_5XX:         *v = (double)e->responses_5xx;
                        *rate = r->r5xx_per_s; break;
    case E_DROP_T:      *v = (double)e->dropped_timeout; break;
    case E_DROP_C:      *v = (double)e->dropped_channel; break;
    case E_421:         *v = (double)e->misdirected; break;
    case E_AVAIL:       *v = e->avail; break;
    case E_QUEUE:       *v = e->queue_depth > 0 ? e->queue_depth : 0; break;
    case E_OLDEST:      *v = (double)e->oldest_wait_ms; break;
    case E_INFLIGHT:    *v = e->in_flight > 0 ? e->in_flight : 0; break;
    case E_BUSY:        *v = (double)r->busy_threads; break;
    case E_IDLE:        *v = (double)r->idle_threads; break;
    case E_PROCS:       *v = r->children_alive; break;
    case E_PROCS_IDLE:  *v = r->children_idle; break;
    case E_PROCS_MAX:   *v = e->max_processors; break;
    case E_PROCS_MIN:   *v = e->min_processors; break;
    case E_CPU:         *v = r->cpu_pct; break;
    case E_RSS:         *v = (double)r->rss_bytes; break;
    case E_PSS:         *v = (double)r->pss_bytes; break;
    case E_UID:         *v = e->uid; break;
    case E_NUMA_FAIL:   *v = e->numa_failures; break;
    default:            return -1;
    }
    return *v < 0.0 ? -1 : 0;
}

static int child_value(const pstat_child_row *r, int id, double *v,
                       double *rate)
{
    const ph_shm_child_snapshot *c = &r->c;

    *rate = PSTAT_RATE_UNKNOWN;
    switch (id) {
    case C_PID:         *v = c->pid; return 0;
    case C_TYPE:        *v = c->type; return 0;
    case C_ENV:         *v = c->env_index; return 0;
    case C_NODE:        *v = c->numa_node; return 0;
    case C_REQ:         *v = (double)c->requests;
                        *rate = r->requests_per_s; break;
    case C_CONN:        *v = (double)c->connections; break;
    case C_BYTES:       *v = (double)c->bytes_sent;
                        *rate = r->bytes_per_s; break;
    case C_4XX:         *v = (double)c->responses_4xx;
                        *rate = r->r4xx_per_s; break;
    case C_5XX:         *v = (double)c->responses_5xx;
                        *rate = r->r5xx_per_s; break;
    case C_BUSY:        *v = c->busy_threads > 0 ? c->busy_threads : 0;
                        break;
    case C_IDLE:        *v = c->idle_threads > 0 ? c->idle_threads : 0;
                        break;
    case C_CPU:         *v = r->cpu_pct; break;
    case C_RSS:         *v = (double)r->rss_bytes; break;
    case C_PSS:         *v = (double)r->pss_bytes; break;
    case C_UID:         *v = (double)r->uid; break;
    default:            return -1;
    }
    return *v < 0.0 ? -1 : 0;
}

/* ---- the walk ------------------------------------------------------------ */

typedef void (*field_fn)(const pstat_field *f, void *arg);

static void emit(const pstat_fieldset *set, const char *prefix,
                 const key_def *k, double v, double rate, field_fn fn,
                 void *arg)
{
    pstat_field f;

    snprintf(f.name, sizeof(f.name), "%s.%s", prefix, k->key);
    if (!pstat_field_shown(set, f.name)) {
        return;
    }
    f.counter = k->counter;
    f.value = v;
    f.rate = k->counter ? rate : PSTAT_RATE_UNKNOWN;
    f.description = k->desc;
    fn(&f, arg);
}

/* Every field in -1's order: MAIN, then each environment shown, then each
 * child shown. */
static void walk(const pstat_model *m, const pstat_fieldset *set,
                 field_fn fn, void *arg)
{
    char prefix[PSTAT_FIELD_NAME_MAX], name[PH_ESCAPE_SIZE(PH_SHM_NAME_MAX)];
    double v, rate;
    uint32_t i;
    int k;

    for (k = 0; k < COUNT(main_keys); k++) {
        if (main_value(m, main_keys[k].id, &v, &rate) == 0) {
            emit(set, "MAIN", &main_keys[k], v, rate, fn, arg);
        }
    }
    for (i = 0; i < m->n_env_shown; i++) {
        const pstat_env_row *r = &m->envs[m->env_shown[i]];

        ph_escape_key(name, sizeof(name), r->e.name, sizeof(r->e.name));
        snprintf(prefix, sizeof(prefix), "ENV.%s", name);
        for (k = 0; k < COUNT(env_keys); k++) {
            if (env_value(r, env_keys[k].id, &v, &rate) == 0) {
                emit(set, prefix, &env_keys[k], v, rate, fn, arg);
            }
        }
    }
    for (i = 0; i < m->n_child_shown; i++) {
        const pstat_child_row *r = &m->children[m->child_shown[i]];

        snprintf(prefix, sizeof(prefix), "CHILD.%u", r->c.slot);
        for (k = 0; k < COUNT(child_keys); k++) {
            if (child_value(r, child_keys[k].id, &v, &rate) == 0) {
                emit(set, prefix, &child_keys[k], v, rate, fn, arg);
            }
        }
    }
}

/* ---- -1 ------------------------------------------------------------------ */

/* Decimals to print v with: none for a whole number (a counter), else
 * `frac` (CPU %, seconds).  Compared within int64's range only. */
static int decimals_of(double v, int frac)
{
    return v > -9e18 && v < 9e18 && v == (double)(int64_t)v ? 0 : frac;
}

static void print_line(const pstat_field *f, void *arg)
{
    FILE *out = arg;

    /* varnishstat -1: name, value, rate ("." when none), description */
    if (f->rate >= 0.0) {
        fprintf(out, "%-40s %14.*f %12.2f %s\n", f->name,
                decimals_of(f->value, 2), f->value, f->rate, f->description);
    }
    else {
        fprintf(out, "%-40s %14.*f %12s %s\n", f->name,
                decimals_of(f->value, 2), f->value, ".", f->description);
    }
}

int pstat_print_fields(FILE *out, const pstat_model *m,
                       const pstat_fieldset *set)
{
    walk(m, set, print_line, out);
    return fflush(out) != 0 || ferror(out) ? 2 : 0;
}

/* ---- -j's "fields" --------------------------------------------------------- */

typedef struct json_ctx {
    FILE *out;
    int n;
} json_ctx;

static void json_field(const pstat_field *f, void *arg)
{
    json_ctx *x = arg;

    /* names are ph_escape_key output: [A-Za-z0-9_.%-], no escaping */
    fprintf(x->out, "%s\n    \"%s\": {\"type\": \"%s\", \"value\": %.*f"
            ", \"rate\": ", x->n++ ? "," : "", f->name,
            f->counter ? "counter" : "gauge", decimals_of(f->value, 3),
            f->value);
    if (f->rate >= 0.0) {
        fprintf(x->out, "%.3f", f->rate);
    }
    else {
        fputs("null", x->out);
    }
    fprintf(x->out, ", \"description\": \"%s\"}", f->description);
}

void pstat_json_fields(FILE *out, const pstat_model *m,
                       const pstat_fieldset *set)
{
    json_ctx x = { out, 0 };

    fputs("  \"fields\": {", out);
    walk(m, set, json_field, &x);
    fputs(x.n ? "\n  }" : "}", out);
}

/* ---- --prometheus ---------------------------------------------------------- */

/*
 * A label value: '\', '"' and a newline escaped as the exposition format
 * says; every other byte outside printable ASCII as %XX (the format wants
 * UTF-8, and a name from the segment need not be), '%' too, so that two
 * names never give one value.
 */
size_t pstat_prom_escape(char *out, size_t size, const char *in,
                         size_t in_max)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0, i, need;
    unsigned char c;
    char piece[4];

    for (i = 0; i < in_max && in[i] != '\0'; i++) {
        c = (unsigned char)in[i];
        if (c == '\\' || c == '"') {
            piece[0] = '\\';
            piece[1] = (char)c;
            need = 2;
        }
        else if (c == '\n') {
            piece[0] = '\\';
            piece[1] = 'n';
            need = 2;
        }
        else if (c < 0x20 || c > 0x7e || c == '%') {
            piece[0] = '%';
            piece[1] = hex[c >> 4];
            piece[2] = hex[c & 15];
            need = 3;
        }
        else {
            piece[0] = (char)c;
            need = 1;
        }
        if (o + need >= size) {
            break;
        }
        memcpy(out + o, piece, need);
        o += need;
    }
    if (size > 0) {
        out[o] = '\0';
    }
    return o;
}

static void prom_family(FILE *out, const key_def *k, const key_def *prev)
{
    if (prev != NULL && prev->prom != NULL
        && strcmp(prev->prom, k->prom) == 0) {
        return;                 /* one family, another label value */
    }
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", k->prom, k->prom_help,
            k->prom, k->counter ? "counter" : "gauge");
}

static void prom_sample(FILE *out, const char *metric, const char *labels,
                        double v)
{
    /* whole numbers in full, others to 15 significant digits (0.9, not
     * 0.90000000000000002) */
    fprintf(out, decimals_of(v, 1) == 0 ? "%s%s%s%s %.0f\n"
                                        : "%s%s%s%s %.15g\n",
            metric, labels[0] ? "{" : "", labels, labels[0] ? "}" : "", v);
}

int pstat_print_prometheus(FILE *out, const pstat_model *m,
                           const pstat_fieldset *set)
{
    char name[PH_ESCAPE_SIZE(PH_SHM_NAME_MAX)];
    char field[PSTAT_FIELD_NAME_MAX], labels[PSTAT_FIELD_NAME_MAX * 2];
    char key[PH_ESCAPE_SIZE(PH_SHM_NAME_MAX)];
    const key_def *prev = NULL;
    double v, rate;
    uint32_t i;
    int k;

    for (k = 0; k < COUNT(main_keys); k++) {
        const key_def *d = &main_keys[k];

        snprintf(field, sizeof(field), "MAIN.%s", d->key);
        if (d->prom == NULL || !pstat_field_shown(set, field)
            || main_value(m, d->id, &v, &rate) != 0) {
            continue;
        }
        prom_family(out, d, NULL);
        prom_sample(out, d->prom, "", v * d->prom_scale);
        if (d->id == M_UP && !m->alive) {
            /* a dead server's figures are not current: only "up 0" */
            return fflush(out) != 0 || ferror(out) ? 2 : 0;
        }
    }
    /* Each family whole, then the next: the format wants a metric's
     * samples together. */
    for (k = 0; k < COUNT(env_keys); k++) {
        const key_def *d = &env_keys[k];
        int first = 1;

        if (d->prom == NULL) {
            continue;
        }
        for (i = 0; i < m->n_env_shown; i++) {
            const pstat_env_row *r = &m->envs[m->env_shown[i]];

            ph_escape_key(key, sizeof(key), r->e.name, sizeof(r->e.name));
            snprintf(field, sizeof(field), "ENV.%s.%s", key, d->key);
            if (!pstat_field_shown(set, field)
                || env_value(r, d->id, &v, &rate) != 0) {
                continue;
            }
            if (first) {
                prom_family(out, d, prev);
                first = 0;
            }
            pstat_prom_escape(name, sizeof(name), r->e.name,
                              sizeof(r->e.name));
            snprintf(labels, sizeof(labels), "environment=\"%s\"%s%s", name,
                     d->prom_label ? "," : "",
                     d->prom_label ? d->prom_label : "");
            prom_sample(out, d->prom, labels, v * d->prom_scale);
        }
        /* a variant with no sample printed no HELP: the next one must */
        prev = first ? NULL : d;
    }
    return fflush(out) != 0 || ferror(out) ? 2 : 0;
}
