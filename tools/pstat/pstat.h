/*
 * pstat.h -- what the files of pstat share: the segment being watched
 * (pstat_source.c), the text and JSON output (pstat_text.c) and the
 * interactive view (pstat_tui.c).  The rows themselves are in
 * pstat_model.h.
 */
#ifndef PSTAT_H
#define PSTAT_H

#include <stdint.h>
#include <stdio.h>

#include "ph_escape.h"
#include "ph_shm.h"
#include "pstat_model.h"

#define PSTAT_VERSION       1           /* of the JSON output */
#define PSTAT_DEFAULT_SHM   "/var/run/apache2/peruser_hybrid.shm"

/* ---- the segment (pstat_source.c) ------------------------------------ */

typedef struct pstat_source {
    const char *path;
    ph_shm shm;
    int mapped;
    int error;                  /* errno value of the last failed open */
    char err[512];              /* its sentence */
} pstat_source;

/* What pstat_source_follow() found. */
enum {
    PSTAT_SOURCE_SAME,          /* still the segment mapped */
    PSTAT_SOURCE_OPENED,        /* a (new) segment was mapped */
    PSTAT_SOURCE_GONE           /* none can be mapped: see err */
};

void pstat_source_init(pstat_source *src, const char *path);
/* Map the segment: 0 or an errno value with a sentence in src->err. */
int pstat_source_open(pstat_source *src);
/* Notice a restart or a stop, and remap: PSTAT_SOURCE_*. */
int pstat_source_follow(pstat_source *src);
/* Read every record into s: 0, or ENOMEM. */
int pstat_source_sample(pstat_source *src, pstat_sample *s);
void pstat_source_close(pstat_source *src);

/* ---- the kernel's view (pstat_proc.c) ----------------------------------- */

/* /proc figures of pid: 0, or -1 (gone; out->ok is 0). */
int pstat_proc_read(int32_t pid, pstat_proc *out);
long pstat_proc_hz(void);
/* 1 if the process that created the segment (pid, born at
 * birth_time_us) still runs; 0 if the pid is gone or was reused. */
int pstat_server_alive(int64_t pid, int64_t birth_time_us);

int64_t pstat_mono_us(void);
void pstat_sleep_us(int64_t us);

/* ---- output (pstat_text.c) --------------------------------------------- */

#define PSTAT_CELL_MAX  PH_SHM_NAME_MAX  /* a whole name fits */

typedef struct pstat_column {
    const char *title;
    int width;
    int left;                   /* left-aligned (text), else right */
} pstat_column;

extern const pstat_column pstat_env_columns[PSTAT_ECOL_COUNT];
extern const pstat_column pstat_child_columns[PSTAT_CCOL_COUNT];

/* The cells of a row, as both the plain text and the interactive view
 * print them. */
void pstat_env_cells(const pstat_env_row *r,
                     char cells[PSTAT_ECOL_COUNT][PSTAT_CELL_MAX]);
void pstat_child_cells(const pstat_child_row *r,
                       char cells[PSTAT_CCOL_COUNT][PSTAT_CELL_MAX]);
/* Cells (or titles when cells is NULL) joined into a line of columns;
 * a cell wider than its column is cut with '>' as its last character. */
void pstat_join_cells(char *buf, size_t len, const pstat_column *cols,
                      int ncols, char cells[][PSTAT_CELL_MAX]);
/* The same for the columns which[0 .. n_which-1] only (all when which is
 * NULL), in that order. */
void pstat_join_some(char *buf, size_t len, const pstat_column *cols,
                     const int *which, int n_which,
                     char cells[][PSTAT_CELL_MAX]);
/* v in at most width characters: as is, else with a k/M/G... suffix
 * (powers of 1024 and K/M/G... when bytes), else '+' characters. */
void pstat_fit_number(char *buf, size_t len, int width, double v,
                      int bytes, int decimals);
/* A user's name from its uid (escaped for a terminal), its number when
 * it has none, "-" for -1. */
void pstat_user_name(char *buf, size_t len, int64_t uid);

/* "3d 04:05:06" */
void pstat_format_uptime(char *buf, size_t len, int64_t seconds);
/* The two summary lines: server, then totals. */
void pstat_format_server(char *buf, size_t len, const pstat_model *m);
void pstat_format_totals(char *buf, size_t len, const pstat_model *m);

/* -1 and -j: 0, or 2 when stdout cannot be written. */
int pstat_print_text(FILE *out, const pstat_model *m, const char *path);
struct pstat_fieldset;
int pstat_print_json(FILE *out, const pstat_model *m, const char *path,
                     const struct pstat_fieldset *set);
/* The summary line of the interactive view, short enough for 80 columns. */
void pstat_format_totals_short(char *buf, size_t len, const pstat_model *m);

/* ---- fields: -1, -j's "fields", -f, --prometheus (pstat_fields.c) ------ */

#define PSTAT_FIELD_NAME_MAX    (PH_ESCAPE_SIZE(PH_SHM_NAME_MAX) + 64)
#define PSTAT_MAX_GLOBS         64

/* The -f globs, as given ("^glob" excludes); pointers into argv. */
typedef struct pstat_fieldset {
    const char *globs[PSTAT_MAX_GLOBS];
    int n;
} pstat_fieldset;

typedef struct pstat_field {
    char name[PSTAT_FIELD_NAME_MAX];    /* "ENV.alice.requests" */
    int counter;                        /* else a gauge */
    double value;
    double rate;                        /* per second; < 0: none */
    const char *description;
} pstat_field;

/* 0, or -1 (too many, or empty). */
int pstat_filter_add(pstat_fieldset *f, const char *glob);
/* 1 if the field called name passes the globs, as varnishstat's -f. */
int pstat_field_shown(const pstat_fieldset *f, const char *name);
/* -1: one field a line.  0, or 2 when out cannot be written. */
int pstat_print_fields(FILE *out, const pstat_model *m,
                       const pstat_fieldset *set);
/* The "fields" member of -j's document (no comma after it). */
void pstat_json_fields(FILE *out, const pstat_model *m,
                       const pstat_fieldset *set);
/* The per-environment figures in Prometheus's text format. */
int pstat_print_prometheus(FILE *out, const pstat_model *m,
                           const pstat_fieldset *set);
/* A Prometheus label value of in (see pstat_fields.c). */
size_t pstat_prom_escape(char *out, size_t size, const char *in,
                         size_t in_max);

/* ---- interactive (pstat_tui.c) ----------------------------------------- */

/* Runs until q: 0, or 2 if the terminal cannot be used. */
int pstat_tui_run(pstat_source *src, double interval_s);

#endif /* PSTAT_H */
