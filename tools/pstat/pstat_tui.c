/*
 * pstat_tui.c -- the interactive, top-like view (curses).
 *
 *   line 0   server: pid, uptime, generation, refresh interval
 *   line 1   totals
 *   line 2   view, rows shown, sort column and direction, filter
 *   line 3   a message: a problem (no server running ...), a passing
 *            event (server restarted), the help line, or a prompt
 *   line 4   column titles, the sort column underlined
 *   5 ...    one row per environment, or per child
 *
 * The first column (the environment's name, the child's slot) stays put;
 * the others scroll left and right (arrow keys) when they do not fit the
 * terminal, and line 2 says which are shown.  Cells fit their columns
 * (numbers scaled with k/M/G, a cut name ends in '>'), so nothing is cut
 * silently.  A server whose parent is gone is said to be dead, and its
 * frozen figures are not shown.
 *
 * One loop: wait for a key or the next refresh, whichever comes first,
 * then draw everything again (curses sends only what changed).  A
 * refresh first asks whether the segment file is still the one mapped:
 * a restarted server is followed by remapping, a stopped one is waited
 * for, and the old mapping stays valid until it is unmapped, so nothing
 * read from it can fault.
 */
#define _GNU_SOURCE
#include <curses.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pstat.h"

#define ROW_FIRST       5
#define FLASH_US        3000000     /* how long an event stays shown */
#define FIRST_RATES_US  300000      /* the second reading, for rates */
#define MAX_WAIT_MS     250         /* keeps flashes and signals timely */
#define MIN_INTERVAL_US 100000
#define MAX_INTERVAL_US 3600000000LL

enum { VIEW_ENVS, VIEW_CHILDREN };

typedef struct tui {
    pstat_source *src;
    pstat_sample prev, cur;
    int have_prev;              /* prev is a reading of the mapped server */
    int connected;              /* the model shows a live segment */
    int ever_connected;
    pstat_model model;
    pstat_order order;
    int view;
    int help;
    uint32_t scroll;            /* first row shown */
    int hscroll[2];             /* per view: first scrolled column (>= 1) */
    int64_t interval_us;
    int64_t next_us;            /* next refresh, monotonic */
    char problem[600];          /* stays until it is solved */
    char flash[200];            /* an event, until flash_until */
    int64_t flash_until;
} tui;

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void announce(tui *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void announce(tui *t, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(t->flash, sizeof(t->flash), fmt, ap);
    va_end(ap);
    t->flash_until = pstat_mono_us() + FLASH_US;
}

/* Read the segment again (following a restart), rebuild the rows. */
static void refresh_data(tui *t)
{
    int found = pstat_source_follow(t->src);
    uint64_t old_generation = t->prev.generation;

    if (found == PSTAT_SOURCE_GONE) {
        snprintf(t->problem, sizeof(t->problem), "%s (retrying every "
                 "refresh)", t->src->err);
        t->connected = 0;
        t->have_prev = 0;
        pstat_model_free(&t->model);
        return;
    }
    t->problem[0] = '\0';
    if (found == PSTAT_SOURCE_OPENED) {
        if (t->ever_connected) {
            announce(t, "server restarted: following its new segment");
        }
        t->have_prev = 0;
    }
    if (pstat_source_sample(t->src, &t->cur) != 0) {
        snprintf(t->problem, sizeof(t->problem), "out of memory");
        return;
    }
    if (!t->cur.alive) {
        snprintf(t->problem, sizeof(t->problem), "server dead: its parent "
                 "(pid %lld) is gone; its figures are frozen, not shown "
                 "(waiting for a new server)", (long long)t->cur.server_pid);
        t->connected = 0;
        t->have_prev = 0;
        pstat_model_free(&t->model);
        return;
    }
    if (pstat_model_build(&t->model, t->have_prev ? &t->prev : NULL,
                          &t->cur) != 0) {
        snprintf(t->problem, sizeof(t->problem), "out of memory");
        return;
    }
    if (t->have_prev && t->cur.generation != old_generation) {
        announce(t, "server restarted gracefully: generation %llu",
              (unsigned long long)t->cur.generation);
    }
    pstat_model_arrange(&t->model, &t->order);
    pstat_sample_swap(&t->prev, &t->cur);
    t->have_prev = 1;
    t->connected = 1;
    t->ever_connected = 1;
}

static void schedule_refresh(tui *t)
{
    int64_t wait = t->interval_us;

    /* Rates need two readings: the first screen should not wait a whole
     * (maybe long) interval for them. */
    if (t->connected && !t->model.rates && wait > FIRST_RATES_US) {
        wait = FIRST_RATES_US;
    }
    t->next_us = pstat_mono_us() + wait;
}

/* ---- drawing ------------------------------------------------------- */

/* A line, cut to the terminal's width with '>' in its last column when
 * longer: nothing is cut silently. */
static void put_line(int y, const char *text, attr_t attr)
{
    int cut;

    if (y >= LINES || COLS <= 0) {
        return;
    }
    cut = (int)strlen(text) > COLS;
    move(y, 0);
    clrtoeol();
    attron(attr);
    addnstr(text, cut ? COLS - 1 : COLS);
    if (cut) {
        addch('>');
    }
    attroff(attr);
}

/* The columns shown: the first, then from the view's scroll position as
 * many as fit in COLS.  Returns how many are in which. */
static int visible_columns(tui *t, int which[], int *last)
{
    const pstat_column *cols = t->view == VIEW_ENVS ? pstat_env_columns
                                                    : pstat_child_columns;
    int ncols = t->view == VIEW_ENVS ? PSTAT_ECOL_COUNT : PSTAT_CCOL_COUNT;
    int *h = &t->hscroll[t->view];
    int n = 0, width, i;

    if (*h < 1) {
        *h = 1;
    }
    if (*h > ncols - 1) {
        *h = ncols - 1;
    }
    which[n++] = 0;
    width = cols[0].width;
    for (i = *h; i < ncols; i++) {
        if (width + 1 + cols[i].width > COLS && n > 1) {
            break;
        }
        which[n++] = i;
        width += 1 + cols[i].width;
    }
    *last = which[n - 1];
    return n;
}

static void draw_header(tui *t)
{
    char line[600], part[400], cols_note[64];
    const pstat_column *cols;
    int ncols, col, x, i, descending, which[PSTAT_ECOL_COUNT
                                            + PSTAT_CCOL_COUNT];
    int nwhich, last;

    if (t->connected) {
        /* -t's server line without the layout, to fit 80 columns */
        pstat_format_uptime(part, sizeof(part), t->model.uptime_s);
        snprintf(line, sizeof(line), "pstat  server pid %lld  up %s  "
                 "generation %llu  refresh %.1fs",
                 (long long)t->model.server_pid, part,
                 (unsigned long long)t->model.generation,
                 (double)t->interval_us / 1e6);
    }
    else {
        snprintf(line, sizeof(line), "pstat  %s  refresh %.1fs",
                 t->src->path, (double)t->interval_us / 1e6);
    }
    put_line(0, line, A_BOLD);
    if (t->connected) {
        pstat_format_totals_short(line, sizeof(line), &t->model);
        put_line(1, line, A_NORMAL);
    }

    cols = t->view == VIEW_ENVS ? pstat_env_columns : pstat_child_columns;
    ncols = t->view == VIEW_ENVS ? PSTAT_ECOL_COUNT : PSTAT_CCOL_COUNT;
    col = t->view == VIEW_ENVS ? t->order.env_col : t->order.child_col;
    descending = t->view == VIEW_ENVS
                 ? pstat_env_col_descends(col) != (t->order.env_reverse != 0)
                 : pstat_child_col_descends(col)
                   != (t->order.child_reverse != 0);
    nwhich = visible_columns(t, which, &last);
    cols_note[0] = '\0';
    if (t->hscroll[t->view] > 1 || last < ncols - 1) {
        snprintf(cols_note, sizeof(cols_note), "  cols %s%d-%d/%d%s",
                 t->hscroll[t->view] > 1 ? "<" : "", t->hscroll[t->view] + 1,
                 last + 1, ncols, last < ncols - 1 ? ">" : "");
    }
    snprintf(line, sizeof(line), "view: %s (%u shown)  sort: %s %s%s%s%s",
             t->view == VIEW_ENVS ? "environments" : "children",
             t->view == VIEW_ENVS ? t->model.n_env_shown
                                  : t->model.n_child_shown,
             cols[col].title, descending ? "descending" : "ascending",
             cols_note, t->order.filter[0] ? "  filter: " : "",
             t->order.filter);
    put_line(2, line, A_NORMAL);

    if (t->problem[0]) {
        put_line(3, t->problem, A_BOLD | A_REVERSE);
    }
    else if (t->flash_until > pstat_mono_us()) {
        put_line(3, t->flash, A_BOLD);
    }
    else if (t->help) {
        put_line(3, "q quit  v view  s/S sort  r reverse  f filter  "
                 "left/right columns  up/down rows  +/- d interval",
                 A_NORMAL);
    }
    else {
        put_line(3, "h or ? for keys", A_DIM);
    }

    pstat_join_some(line, sizeof(line), cols, which, nwhich, NULL);
    put_line(4, line, A_REVERSE);
    /* The sort column's title, underlined where it stands (if shown). */
    for (i = 0, x = 0; i < nwhich && which[i] != col; i++) {
        x += cols[which[i]].width + 1;
    }
    if (i < nwhich && x < COLS && LINES > 4) {
        mvchgat(4, x, cols[col].width, A_REVERSE | A_UNDERLINE | A_BOLD, 0,
                NULL);
    }
}

static void draw_rows(tui *t)
{
    char line[600];
    char ecells[PSTAT_ECOL_COUNT][PSTAT_CELL_MAX];
    char ccells[PSTAT_CCOL_COUNT][PSTAT_CELL_MAX];
    uint32_t n = t->view == VIEW_ENVS ? t->model.n_env_shown
                                      : t->model.n_child_shown;
    uint32_t room = LINES > ROW_FIRST ? (uint32_t)(LINES - ROW_FIRST) : 0;
    uint32_t i;
    int y, which[PSTAT_ECOL_COUNT + PSTAT_CCOL_COUNT], nwhich, last;

    nwhich = visible_columns(t, which, &last);
    if (t->scroll + room > n) {
        t->scroll = n > room ? n - room : 0;
    }
    for (i = t->scroll, y = ROW_FIRST; i < n && y < LINES; i++, y++) {
        if (t->view == VIEW_ENVS) {
            pstat_env_cells(&t->model.envs[t->model.env_shown[i]], ecells);
            pstat_join_some(line, sizeof(line), pstat_env_columns, which,
                            nwhich, ecells);
        }
        else {
            pstat_child_cells(&t->model.children[t->model.child_shown[i]],
                              ccells);
            pstat_join_some(line, sizeof(line), pstat_child_columns, which,
                            nwhich, ccells);
        }
        put_line(y, line, A_NORMAL);
    }
}

static void draw(tui *t)
{
    erase();
    draw_header(t);
    draw_rows(t);
    refresh();
}

/* ---- keys ---------------------------------------------------------- */

/* Ask on the message line; 0 and the answer in buf, or -1. */
static int ask(const char *question, char *buf, int len)
{
    int rv;

    move(3, 0);
    clrtoeol();
    attron(A_BOLD);
    addnstr(question, COLS);
    attroff(A_BOLD);
    echo();
    curs_set(1);
    timeout(-1);
    rv = getnstr(buf, len - 1);
    noecho();
    curs_set(0);
    return rv == OK ? 0 : -1;
}

static void cycle_sort(tui *t, int step)
{
    int *col = t->view == VIEW_ENVS ? &t->order.env_col
                                    : &t->order.child_col;
    int n = t->view == VIEW_ENVS ? PSTAT_ECOL_COUNT : PSTAT_CCOL_COUNT;

    *col = (*col + step + n) % n;
}

static void set_interval(tui *t, int64_t us)
{
    if (us < MIN_INTERVAL_US) {
        us = MIN_INTERVAL_US;
    }
    if (us > MAX_INTERVAL_US) {
        us = MAX_INTERVAL_US;
    }
    t->interval_us = us;
    schedule_refresh(t);
    announce(t, "refresh every %.1f s", (double)us / 1e6);
}

static void ask_interval(tui *t)
{
    char buf[32], *end;
    double s;

    if (ask("refresh interval in seconds: ", buf, sizeof(buf)) != 0
        || buf[0] == '\0') {
        return;
    }
    s = strtod(buf, &end);
    if (end == buf || *end != '\0' || !(s > 0.0)) {
        announce(t, "not a number of seconds: %s", buf);
        return;
    }
    set_interval(t, (int64_t)(s * 1e6));
}

/* 0 to go on, 1 to quit. */
static int handle_key(tui *t, int ch)
{
    uint32_t page = LINES > ROW_FIRST + 1 ? (uint32_t)(LINES - ROW_FIRST - 1)
                                          : 1;

    switch (ch) {
    case 'q':
    case 'Q':
        return 1;
    case 'v':
    case '\t':
        t->view = t->view == VIEW_ENVS ? VIEW_CHILDREN : VIEW_ENVS;
        t->scroll = 0;
        break;
    case 's':
    case '>':
        cycle_sort(t, 1);
        break;
    case 'S':
    case '<':
        cycle_sort(t, -1);
        break;
    case 'r':
        if (t->view == VIEW_ENVS) {
            t->order.env_reverse = !t->order.env_reverse;
        }
        else {
            t->order.child_reverse = !t->order.child_reverse;
        }
        break;
    case 'f':
        if (ask("filter environments by name (empty clears): ",
                t->order.filter, sizeof(t->order.filter)) != 0) {
            t->order.filter[0] = '\0';
        }
        t->scroll = 0;
        break;
    case 'd':
        ask_interval(t);
        break;
    case '+':
        set_interval(t, t->interval_us * 2);
        break;
    case '-':
        set_interval(t, t->interval_us / 2);
        break;
    case 'h':
    case '?':
        t->help = !t->help;
        break;
    case ' ':
        t->next_us = 0;
        break;
    case KEY_UP:
        t->scroll = t->scroll > 0 ? t->scroll - 1 : 0;
        break;
    case KEY_DOWN:
        t->scroll++;                /* draw_rows clamps it */
        break;
    case KEY_PPAGE:
        t->scroll = t->scroll > page ? t->scroll - page : 0;
        break;
    case KEY_NPAGE:
        t->scroll += page;
        break;
    case KEY_HOME:
        t->scroll = 0;
        break;
    case KEY_RIGHT:
    case 'l':
        t->hscroll[t->view]++;      /* visible_columns clamps it */
        break;
    case KEY_LEFT:
    case 'H':
        t->hscroll[t->view]--;
        break;
    default:
        break;                      /* KEY_RESIZE too: just redraw */
    }
    pstat_model_arrange(&t->model, &t->order);
    return 0;
}

int pstat_tui_run(pstat_source *src, double interval_s)
{
    struct sigaction sa;
    tui t;
    int64_t now, wait_ms;
    int ch;

    memset(&t, 0, sizeof(t));
    t.src = src;
    t.interval_us = (int64_t)(interval_s * 1e6);
    pstat_order_init(&t.order);
    pstat_sample_init(&t.prev);
    pstat_sample_init(&t.cur);
    pstat_model_init(&t.model);

    /* Quit cleanly on ^C or a kill, so the terminal is restored: the
     * handler only sets a flag that the loop sees within MAX_WAIT_MS. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    setlocale(LC_CTYPE, "");
    if (initscr() == NULL) {
        fprintf(stderr, "pstat: cannot use this terminal\n");
        return 2;
    }
    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    curs_set(0);

    refresh_data(&t);
    schedule_refresh(&t);
    while (!stop_requested) {
        draw(&t);
        now = pstat_mono_us();
        wait_ms = t.next_us > now ? (t.next_us - now + 999) / 1000 : 0;
        timeout((int)(wait_ms < MAX_WAIT_MS ? wait_ms : MAX_WAIT_MS));
        ch = getch();
        if (ch != ERR && handle_key(&t, ch)) {
            break;
        }
        if (pstat_mono_us() >= t.next_us) {
            refresh_data(&t);
            schedule_refresh(&t);
        }
    }
    endwin();

    pstat_model_free(&t.model);
    pstat_sample_free(&t.prev);
    pstat_sample_free(&t.cur);
    return 0;
}
