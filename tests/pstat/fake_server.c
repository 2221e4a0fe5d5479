/*
 * fake_server.c -- a segment that looks like a running peruser_hybrid,
 * for pstat's tests and benchmark, without httpd.
 *
 *   pstat_fake_server PATH [--envs N] [--children N] [--names a,b,...]
 *                          [--base R]
 *
 * Creates the segment with ph_shm_create at PATH, fills it by the rules
 * below, prints "ready GENERATION" on stdout (flushed) and then keeps its
 * counters moving every 10 ms until a signal:
 *   SIGHUP          restart: a new file (new inode, new birth time),
 *                   generation + 1, counters from 0, "ready N" again
 *   SIGTERM/SIGINT  stop: unlink PATH and exit 0
 *
 * The rules, so that a test can compute what pstat must show (t = seconds
 * since the segment was created; environment i counts from 0; slot 0 is
 * the multiplexer, then each environment's processors in turn):
 *   environment i  name names[i] or "env%03d"; uid = gid = 1000 + i;
 *                  min 1, max 4 + i % 4 processors, 8 threads each;
 *                  requests = floor(R * (i+1) * t), connections = half
 *                  that rate (R = --base, default 20); dropped_timeout i,
 *                  dropped_channel 2i; queue_depth i % 5;
 *                  avail 100 - 10 * (i % 10); oldest wait 1500 * i ms
 *   processors     1 + i % 3 per environment (while slots last); the j-th
 *                  has pid 100000 + slot, j busy and 8 - j idle threads;
 *                  j = 0 serves all of the environment's requests (last
 *                  used: now), the others 100 * j, last used 10 j s ago
 *   header         dropped_noenv 7; env_capacity envs + 2 (two records
 *                  never in use); 2 multiplexer partitions
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ph_shm.h"

#define THREADS     8
#define MAX_NAMES   64

typedef struct fake {
    const char *path;
    uint32_t envs, children;
    double base;
    char *names[MAX_NAMES];
    uint32_t n_names;
    ph_shm shm;
    uint64_t generation;
    int64_t start_us;
    int32_t *first_slot;            /* per env: slot of processor j = 0 */
} fake;

static volatile sig_atomic_t got_hup, got_term;

static void on_signal(int sig)
{
    if (sig == SIGHUP) {
        got_hup = 1;
    }
    else {
        got_term = 1;
    }
}

static int64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void fill_env(fake *f, uint32_t i)
{
    ph_shm_env *e = ph_shm_env_at(&f->shm, i);
    ph_shm_env_stats *es = ph_shm_env_stats_at(&f->shm, i);

    ph_shm_seq_write_begin(&e->seq);
    e->in_use = 1;
    if (i < f->n_names) {
        snprintf(e->name, sizeof(e->name), "%s", f->names[i]);
    }
    else {
        snprintf(e->name, sizeof(e->name), "env%03u", i);
    }
    e->uid = e->gid = 1000 + i;
    e->min_processors = 1;
    e->max_processors = 4 + i % 4;
    e->threads_per_child = THREADS;
    e->wait_timeout_ms = 5000;
    e->wait_levels = 3;
    ph_shm_seq_write_end(&e->seq);
    atomic_store(&es->dropped_timeout, i);
    atomic_store(&es->dropped_channel, 2 * i);
    atomic_store(&es->queue_depth, (int32_t)(i % 5));
    atomic_store(&es->unavail, 10 * (i % 10));
}

static void fill_child(fake *f, uint32_t slot, uint32_t type, int32_t env,
                       uint32_t j, int64_t now_ms)
{
    ph_shm_child *c = ph_shm_child_at(&f->shm, slot);
    ph_shm_child_stats *st;

    ph_shm_seq_write_begin(&c->seq);
    c->type = type;
    c->pid = type == PH_CHILD_TYPE_MULTIPLEXER ? (int32_t)getpid()
                                               : (int32_t)(100000 + slot);
    c->generation = (uint32_t)f->generation;
    c->env_index = env;
    c->numa_node = -1;
    c->started_us = 0;
    ph_shm_seq_write_end(&c->seq);
    /* the figures, in the region of the child's writer */
    st = ph_shm_child_stats_of(&f->shm, slot);
    atomic_store(&st->threads, type == PH_CHILD_TYPE_PROCESSOR ? THREADS : 0);
    atomic_store(&st->status, PH_CHILD_READY);
    if (type == PH_CHILD_TYPE_PROCESSOR) {
        atomic_store(&st->busy_threads, (int32_t)j);
        atomic_store(&st->idle_threads, (int32_t)(THREADS - j));
        atomic_store(&st->requests, 100u * j);
        atomic_store(&st->last_used_ms, now_ms - 10000 * (int64_t)j);
    }
}

static int create(fake *f)
{
    ph_shm_geometry g = { f->envs + 2, f->children, 2, 4 };
    int64_t now_ms;
    uint32_t i, j, slot = 0;
    int rv;

    rv = ph_shm_create(&f->shm, f->path, &g, (gid_t)-1);
    if (rv != 0) {
        fprintf(stderr, "fake_server: cannot create %s: %s\n", f->path,
                strerror(rv));
        return -1;
    }
    f->start_us = mono_us();
    now_ms = f->start_us / 1000;
    atomic_store(&f->shm.hdr->generation, f->generation);
    atomic_store(&f->shm.hdr->env_count, f->envs);
    atomic_store(&ph_shm_mux_area_at(&f->shm)->dropped_noenv, 7);
    fill_child(f, slot++, PH_CHILD_TYPE_MULTIPLEXER, -1, 0, now_ms);
    for (i = 0; i < f->envs; i++) {
        fill_env(f, i);
        f->first_slot[i] = -1;
        for (j = 0; j < 1 + i % 3 && slot < f->children; j++) {
            if (j == 0) {
                f->first_slot[i] = (int32_t)slot;
            }
            fill_child(f, slot++, PH_CHILD_TYPE_PROCESSOR, (int32_t)i, j,
                       now_ms);
        }
        atomic_store(&ph_shm_env_at(&f->shm, i)->processors, j);
    }
    printf("ready %llu\n", (unsigned long long)f->generation);
    fflush(stdout);
    return 0;
}

/* Counters as functions of time: the rates pstat measures are exact
 * whatever this loop's jitter. */
static void tick(fake *f)
{
    int64_t now_us = mono_us();
    double t = (double)(now_us - f->start_us) / 1e6;
    uint32_t i;

    for (i = 0; i < f->envs; i++) {
        ph_shm_env_stats *e = ph_shm_env_stats_at(&f->shm, i);
        uint64_t req = (uint64_t)floor(f->base * (i + 1) * t);
        ph_shm_partition *p = ph_shm_partition_at(&f->shm, 0, i);

        atomic_store(&e->requests, req);
        atomic_store(&e->connections,
                     (uint64_t)floor(f->base * (i + 1) / 2.0 * t));
        atomic_store(&p->oldest_wait_since_ms,
                     i ? now_us / 1000 - 1500 * (int64_t)i : 0);
        if (f->first_slot[i] >= 0) {
            ph_shm_child_stats *c = ph_shm_child_stats_of(
                &f->shm, (uint32_t)f->first_slot[i]);
            atomic_store(&c->requests, req);
            atomic_store(&c->last_used_ms, now_us / 1000);
        }
    }
}

static void parse_names(fake *f, char *list)
{
    char *save = NULL, *tok;

    for (tok = strtok_r(list, ",", &save); tok && f->n_names < MAX_NAMES;
         tok = strtok_r(NULL, ",", &save)) {
        f->names[f->n_names++] = tok;
    }
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    struct timespec ts = { 0, 10 * 1000 * 1000 };
    fake f;
    int i;

    memset(&f, 0, sizeof(f));
    f.envs = 3;
    f.children = 16;
    f.base = 20.0;
    f.generation = 1;
    if (argc < 2) {
        fprintf(stderr, "usage: pstat_fake_server PATH [--envs N] "
                "[--children N] [--names a,b] [--base R]\n");
        return 1;
    }
    f.path = argv[1];
    for (i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--envs") == 0) {
            f.envs = (uint32_t)strtoul(argv[i + 1], NULL, 10);
        }
        else if (strcmp(argv[i], "--children") == 0) {
            f.children = (uint32_t)strtoul(argv[i + 1], NULL, 10);
        }
        else if (strcmp(argv[i], "--names") == 0) {
            parse_names(&f, argv[i + 1]);
        }
        else if (strcmp(argv[i], "--base") == 0) {
            f.base = strtod(argv[i + 1], NULL);
        }
        else {
            fprintf(stderr, "fake_server: unknown option %s\n", argv[i]);
            return 1;
        }
    }
    if (f.envs == 0 || f.children == 0) {
        fprintf(stderr, "fake_server: --envs and --children must be > 0\n");
        return 1;
    }
    f.first_slot = calloc(f.envs, sizeof(*f.first_slot));
    if (f.first_slot == NULL) {
        return 1;
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    if (create(&f) != 0) {
        return 1;
    }
    while (!got_term) {
        if (got_hup) {
            got_hup = 0;
            ph_shm_unlink_env_files(&f.shm);
            ph_shm_unmap(&f.shm);
            f.generation++;
            if (create(&f) != 0) {
                return 1;
            }
        }
        tick(&f);
        nanosleep(&ts, NULL);
    }
    unlink(f.path);
    ph_shm_unlink_env_files(&f.shm);
    ph_shm_unmap(&f.shm);
    free(f.first_slot);
    return 0;
}
