/*
 * pstat_main.c -- pstat's command line: options, and the two one-shot
 * modes (-1 plain text, -j JSON); the interactive view is pstat_tui.c.
 *
 *   pstat [--shm PATH] [-d SECS]        interactive, top-like
 *   pstat -1 [-f GLOB]... [--shm PATH]  every field: name value rate
 *                                       description (as varnishstat -1)
 *   pstat -j [-f GLOB]...               one JSON snapshot
 *   pstat -t                            the two tables, as plain text
 *   pstat --prometheus [-f GLOB]...     Prometheus text exposition
 *   pstat --version
 *
 * Exit status: 0 ok, 1 usage, 2 the segment cannot be read (one sentence
 * on stderr saying why: no server running, permission, layout ...) or
 * its server is dead (its figures are frozen: nothing is shown as live).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pstat.h"

#define EXIT_USAGE      1
#define EXIT_SEGMENT    2

/* Rates of a one-shot snapshot are measured over this long by default: a
 * short wait, yet long enough for a few requests to show. */
#define ONCE_INTERVAL_S 0.5
#define TUI_INTERVAL_S  1.0
#define MIN_TUI_S       0.1
#define MAX_INTERVAL_S  3600.0

/* The project's release (CHANGES), and what this pstat reads. */
#define PSTAT_RELEASE   "2.4-peruser_hybrid"

typedef enum {
    MODE_TUI, MODE_TABLE, MODE_FIELDS, MODE_JSON, MODE_PROMETHEUS
} pstat_mode;

typedef struct pstat_options {
    pstat_mode mode;
    const char *path;
    double interval_s;              /* < 0: the mode's default */
    pstat_fieldset fields;          /* -f */
} pstat_options;

static void usage(FILE *out)
{
    fprintf(out,
        "usage: pstat [-1 | -j | -t | --prometheus] [-f GLOB]... "
        "[--shm PATH] [-d SECONDS]\n"
        "  (no mode)        interactive, top-like; h inside for keys\n"
        "  -1, --once       every field, one a line: name value rate "
        "description\n"
        "  -j, --json       one JSON snapshot (see tools/pstat/README.md)\n"
        "  -t, --table      the environment and child tables, plain text\n"
        "  --prometheus     per-environment metrics, Prometheus text "
        "format\n"
        "  -f GLOB          only fields matching GLOB (repeatable); ^GLOB\n"
        "                   leaves matching fields out (-1, -j, "
        "--prometheus)\n"
        "  -V, --version    pstat's version and the layouts it reads\n"
        "  --shm PATH       the segment file (default: $PSTAT_SHM, else\n"
        "                   " PSTAT_DEFAULT_SHM ")\n"
        "  -d, -i, --interval SECONDS\n"
        "                   refresh interval (interactive, default %.1f),\n"
        "                   or the interval rates are measured over\n"
        "                   (-1/-j, default %.1f; 0 = one sample, no rates)\n"
        "  -h, --help       this text\n",
        TUI_INTERVAL_S, ONCE_INTERVAL_S);
}

static int parse_seconds(const char *s, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < 0.0
        || v > MAX_INTERVAL_S) {
        return -1;
    }
    *out = v;
    return 0;
}

/* 0, or EXIT_USAGE after saying why. */
static int parse_options(int argc, char **argv, pstat_options *o)
{
    static const struct option longs[] = {
        { "once", no_argument, NULL, '1' },
        { "json", no_argument, NULL, 'j' },
        { "table", no_argument, NULL, 't' },
        { "prometheus", no_argument, NULL, 'P' },
        { "version", no_argument, NULL, 'V' },
        { "shm", required_argument, NULL, 'S' },
        { "interval", required_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *env;
    int ch;

    o->mode = MODE_TUI;
    o->path = NULL;
    o->interval_s = -1.0;
    o->fields.n = 0;
    opterr = 0;                 /* our own message, in our own words */
    while ((ch = getopt_long(argc, argv, ":1jtVf:d:i:h", longs, NULL))
           != -1) {
        switch (ch) {
        case '1':
            o->mode = MODE_FIELDS;
            break;
        case 'j':
            o->mode = MODE_JSON;
            break;
        case 't':
            o->mode = MODE_TABLE;
            break;
        case 'P':
            o->mode = MODE_PROMETHEUS;
            break;
        case 'f':
            if (pstat_filter_add(&o->fields, optarg) != 0) {
                fprintf(stderr, "pstat: -f wants a glob (at most %d), not "
                        "'%s'\n", PSTAT_MAX_GLOBS, optarg);
                return EXIT_USAGE;
            }
            break;
        case 'V':
            printf("pstat %s: JSON output version %d, reads segment "
                   "layout %u.x\n", PSTAT_RELEASE, PSTAT_VERSION,
                   PH_SHM_LAYOUT_MAJOR);
            exit(0);
        case 'S':
            o->path = optarg;
            break;
        case 'd':
        case 'i':
            if (parse_seconds(optarg, &o->interval_s) != 0) {
                fprintf(stderr, "pstat: the interval must be a number of "
                        "seconds from 0 to %.0f, not '%s'\n",
                        MAX_INTERVAL_S, optarg);
                return EXIT_USAGE;
            }
            break;
        case 'h':
            usage(stdout);
            exit(0);
        case ':':
            fprintf(stderr, "pstat: %s needs a value\n", argv[optind - 1]);
            return EXIT_USAGE;
        default:
            fprintf(stderr, "pstat: unknown option '%s'\n",
                    argv[optind - 1]);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "pstat: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return EXIT_USAGE;
    }
    if (o->path == NULL) {
        env = getenv("PSTAT_SHM");
        o->path = env != NULL && env[0] != '\0' ? env : PSTAT_DEFAULT_SHM;
    }
    if (o->interval_s < 0.0) {
        o->interval_s = o->mode == MODE_TUI ? TUI_INTERVAL_S
                                            : ONCE_INTERVAL_S;
    }
    if (o->mode == MODE_TUI && o->interval_s < MIN_TUI_S) {
        fprintf(stderr, "pstat: the refresh interval must be at least "
                "%.1f s\n", MIN_TUI_S);
        return EXIT_USAGE;
    }
    return 0;
}

/*
 * -1 and -j: one reading, and a second one interval_s later for the rates.
 * A server that restarts between the two is read again from its new
 * segment, without rates (they would compare two servers' counters).
 */
static int run_once(pstat_source *src, const pstat_options *o)
{
    pstat_sample first, second;
    pstat_sample *cur = &first, *prev = NULL;
    pstat_model m;
    int rv = EXIT_SEGMENT;

    pstat_sample_init(&first);
    pstat_sample_init(&second);
    pstat_model_init(&m);
    if (pstat_source_sample(src, &first) != 0) {
        fprintf(stderr, "pstat: out of memory\n");
        goto cleanup;
    }
    if (o->interval_s > 0.0) {
        pstat_sleep_us((int64_t)(o->interval_s * 1e6));
        if (pstat_source_follow(src) == PSTAT_SOURCE_GONE) {
            fprintf(stderr, "pstat: %s\n", src->err);
            goto cleanup;
        }
        prev = &first;
        cur = &second;
        if (pstat_source_sample(src, &second) != 0) {
            fprintf(stderr, "pstat: out of memory\n");
            goto cleanup;
        }
    }
    if (pstat_model_build(&m, prev, cur) != 0) {
        fprintf(stderr, "pstat: out of memory\n");
        goto cleanup;
    }
    if (!m.alive) {
        /* Frozen figures are not shown as live.  Prometheus gets its
         * "up 0", so that a scrape says what happened. */
        fprintf(stderr, "pstat: the server is dead: its parent (pid %"
                PRId64 ") is gone, and %s holds its last figures, frozen\n",
                m.server_pid, src->path);
        if (o->mode == MODE_PROMETHEUS) {
            pstat_print_prometheus(stdout, &m, &o->fields);
        }
        goto cleanup;
    }
    switch (o->mode) {
    case MODE_JSON:
        rv = pstat_print_json(stdout, &m, src->path, &o->fields);
        break;
    case MODE_FIELDS:
        rv = pstat_print_fields(stdout, &m, &o->fields);
        break;
    case MODE_PROMETHEUS:
        rv = pstat_print_prometheus(stdout, &m, &o->fields);
        break;
    default:
        rv = pstat_print_text(stdout, &m, src->path);
        break;
    }
    if (rv != 0) {
        fprintf(stderr, "pstat: cannot write the output: %s\n",
                strerror(errno));
    }

cleanup:
    pstat_model_free(&m);
    pstat_sample_free(&first);
    pstat_sample_free(&second);
    return rv;
}

int main(int argc, char **argv)
{
    pstat_options o;
    pstat_source src;
    int rv;

    rv = parse_options(argc, argv, &o);
    if (rv != 0) {
        return rv;
    }
    pstat_source_init(&src, o.path);

    if (o.mode == MODE_TUI) {
        if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
            fprintf(stderr, "pstat: the interactive view needs a terminal; "
                    "use -1 or -j for a snapshot\n");
            return EXIT_USAGE;
        }
        /* A server that is not running yet is waited for on screen; a
         * segment we may not read never will be readable: say so now. */
        if (pstat_source_open(&src) != 0 && src.error != ENOENT
            && src.error != EAGAIN) {
            fprintf(stderr, "pstat: %s\n", src.err);
            return EXIT_SEGMENT;
        }
        rv = pstat_tui_run(&src, o.interval_s);
        pstat_source_close(&src);
        return rv;
    }

    if (pstat_source_open(&src) != 0) {
        fprintf(stderr, "pstat: %s\n", src.err);
        return EXIT_SEGMENT;
    }
    rv = run_once(&src, &o);
    pstat_source_close(&src);
    return rv;
}
