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
/* Cells (or titles when cells is NULL) joined into a line of columns. */
void pstat_join_cells(char *buf, size_t len, const pstat_column *cols,
                      int ncols, char cells[][PSTAT_CELL_MAX]);

/* "3d 04:05:06" */
void pstat_format_uptime(char *buf, size_t len, int64_t seconds);
/* The two summary lines: server, then totals. */
void pstat_format_server(char *buf, size_t len, const pstat_model *m);
void pstat_format_totals(char *buf, size_t len, const pstat_model *m);

/* -1 and -j: 0, or 2 when stdout cannot be written. */
int pstat_print_text(FILE *out, const pstat_model *m, const char *path);
int pstat_print_json(FILE *out, const pstat_model *m, const char *path);

/* ---- interactive (pstat_tui.c) ----------------------------------------- */

/* Runs until q: 0, or 2 if the terminal cannot be used. */
int pstat_tui_run(pstat_source *src, double interval_s);

#endif /* PSTAT_H */
