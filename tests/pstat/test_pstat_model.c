/*
 * test_pstat_model.c -- CUnit tests of pstat's model (rates, totals,
 * sorting, filtering, restarts), of following a segment that is replaced
 * or removed (pstat_source.c, on a real segment in a temporary
 * directory) and of the JSON output's shape (pstat_text.c).
 *
 * The model is fed hand-made samples: what a test expects is written next
 * to what it feeds.  Runs in a forked child under an alarm, so a hang or a
 * crash is a reported failure, not a stuck `make`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

#include "pstat.h"
#include "pstat_model.h"

/* ---- helpers --------------------------------------------------------- */

static void sample_make(pstat_sample *s, int64_t taken_us, uint32_t envs,
                        uint32_t children)
{
    pstat_sample_init(s);
    CU_ASSERT_FATAL(pstat_sample_reserve(s, envs, children) == 0);
    memset(s->envs, 0, envs * sizeof(*s->envs));
    memset(s->children, 0, children * sizeof(*s->children));
    memset(s->procs, 0, children * sizeof(*s->procs));
    s->taken_us = taken_us;
    s->alive = 1;
    s->hz = 100;
    s->wall_us = 1000000000000LL + taken_us;
    s->server_pid = 42;
    s->birth_time_us = 1000000000000LL;
    s->generation = 1;
    s->env_capacity = envs;
    s->child_capacity = children;
    s->n_envs = envs;
    s->n_children = children;
}

static void env_set(pstat_sample *s, uint32_t row, uint32_t index,
                    const char *name, uint64_t requests, uint64_t conns)
{
    ph_shm_env_snapshot *e = &s->envs[row];

    e->index = index;
    e->in_use = 1;
    snprintf(e->name, sizeof(e->name), "%s", name);
    e->requests = requests;
    e->connections = conns;
    e->max_processors = 4;
    e->avail = 100;
}

static void child_set(pstat_sample *s, uint32_t row, uint32_t slot,
                      int32_t pid, uint32_t type, int32_t env,
                      int32_t busy, int32_t idle, uint64_t requests)
{
    ph_shm_child_snapshot *c = &s->children[row];

    c->slot = slot;
    c->pid = pid;
    c->type = type;
    c->env_index = env;
    c->status = PH_CHILD_READY;
    c->busy_threads = busy;
    c->idle_threads = idle;
    c->requests = requests;
}

/* Two readings 2 s apart: alice (index 0) and bob (index 2), one
 * multiplexer and three processors. */
static void two_samples(pstat_sample *a, pstat_sample *b)
{
    sample_make(a, 10000000, 2, 4);
    env_set(a, 0, 0, "alice", 100, 50);
    env_set(a, 1, 2, "bob", 1000, 10);
    child_set(a, 0, 0, 7, PH_CHILD_TYPE_MULTIPLEXER, -1, 0, 0, 0);
    child_set(a, 1, 1, 11, PH_CHILD_TYPE_PROCESSOR, 0, 0, 8, 60);
    child_set(a, 2, 3, 13, PH_CHILD_TYPE_PROCESSOR, 2, 3, 5, 400);
    child_set(a, 3, 4, 14, PH_CHILD_TYPE_PROCESSOR, 2, 1, 7, 600);

    sample_make(b, 12000000, 2, 4);
    env_set(b, 0, 0, "alice", 300, 90);
    env_set(b, 1, 2, "bob", 1010, 14);
    child_set(b, 0, 0, 7, PH_CHILD_TYPE_MULTIPLEXER, -1, 0, 0, 0);
    child_set(b, 1, 1, 11, PH_CHILD_TYPE_PROCESSOR, 0, 0, 8, 260);
    child_set(b, 2, 3, 13, PH_CHILD_TYPE_PROCESSOR, 2, 3, 5, 404);
    child_set(b, 3, 4, 14, PH_CHILD_TYPE_PROCESSOR, 2, 1, 7, 606);
}

static void free_all(pstat_sample *a, pstat_sample *b, pstat_model *m)
{
    pstat_sample_free(a);
    pstat_sample_free(b);
    pstat_model_free(m);
}

#define CU_ASSERT_NEAR(a, b) CU_ASSERT_DOUBLE_EQUAL((a), (b), 1e-9)

/* ---- rates and totals ------------------------------------------------ */

static void test_rates(void)
{
    pstat_sample a, b;
    pstat_model m;

    two_samples(&a, &b);
    pstat_model_init(&m);
    CU_ASSERT_FATAL(pstat_model_build(&m, &a, &b) == 0);
    CU_ASSERT_EQUAL(m.rates, 1);
    CU_ASSERT_NEAR(m.interval_s, 2.0);
    CU_ASSERT_NEAR(m.envs[0].requests_per_s, 100.0);
    CU_ASSERT_NEAR(m.envs[0].connections_per_s, 20.0);
    CU_ASSERT_NEAR(m.envs[1].requests_per_s, 5.0);
    CU_ASSERT_NEAR(m.envs[1].connections_per_s, 2.0);
    CU_ASSERT_NEAR(m.totals.requests_per_s, 105.0);
    CU_ASSERT_NEAR(m.totals.connections_per_s, 22.0);
    CU_ASSERT_NEAR(m.children[1].requests_per_s, 100.0);
    CU_ASSERT_NEAR(m.children[3].requests_per_s, 3.0);
    free_all(&a, &b, &m);
}

static void test_one_sample_has_no_rates(void)
{
    pstat_sample a, b;
    pstat_model m;

    two_samples(&a, &b);
    pstat_model_init(&m);
    CU_ASSERT_FATAL(pstat_model_build(&m, NULL, &b) == 0);
    CU_ASSERT_EQUAL(m.rates, 0);
    CU_ASSERT_NEAR(m.interval_s, 0.0);
    CU_ASSERT(m.envs[0].requests_per_s < 0.0);
    CU_ASSERT(m.children[1].requests_per_s < 0.0);
    CU_ASSERT(m.totals.requests_per_s < 0.0);
    CU_ASSERT(m.totals.connections_per_s < 0.0);
    free_all(&a, &b, &m);
}

static void test_children_per_env(void)
{
    pstat_sample a, b;
    pstat_model m;

    two_samples(&a, &b);
    /* A processor claiming an environment that is not in use is shown
     * but counted nowhere. */
    child_set(&b, 0, 0, 7, PH_CHILD_TYPE_PROCESSOR, 1, 2, 2, 0);
    pstat_model_init(&m);
    CU_ASSERT_FATAL(pstat_model_build(&m, &a, &b) == 0);
    CU_ASSERT_EQUAL(m.envs[0].children_alive, 1);
    CU_ASSERT_EQUAL(m.envs[0].children_idle, 1);
    CU_ASSERT_EQUAL(m.envs[0].busy_threads, 0);
    CU_ASSERT_EQUAL(m.envs[0].idle_threads, 8);
    CU_ASSERT_EQUAL(m.envs[1].children_alive, 2);
    CU_ASSERT_EQUAL(m.envs[1].children_idle, 0);
    CU_ASSERT_EQUAL(m.envs[1].busy_threads, 4);
    CU_ASSERT_EQUAL(m.envs[1].idle_threads, 12);
    CU_ASSERT_STRING_EQUAL(m.children[2].env_name, "bob");
    CU_ASSERT_STRING_EQUAL(m.children[0].env_name, "");
    CU_ASSERT_EQUAL(m.totals.children, 4);
    CU_ASSERT_EQUAL(m.totals.processors, 4);
    CU_ASSERT_EQUAL(m.totals.multiplexers, 0);
    CU_ASSERT_EQUAL(m.totals.busy_threads, 4);
    free_all(&a, &b, &m);
}

static void test_dropped(void)
{
    pstat_sample a, b;
    pstat_model m;

    two_samples(&a, &b);
    b.envs[0].dropped_timeout = 3;
    b.envs[0].dropped_channel = 4;
    b.envs[1].dropped_channel = 1;
    b.dropped_noenv = 9;
    pstat_model_init(&m);
    CU_ASSERT_FATAL(pstat_model_build(&m, &a, &b) == 0);
    CU_ASSERT_EQUAL(m.envs[0].dropped, 7);
    CU_ASSERT_EQUAL(m.totals.dropped, 8);
    CU_ASSERT_EQUAL(m.totals.dropped_timeout, 3);
    CU_ASSERT_EQUAL(m.totals.dropped_channel, 5);
    CU_ASSERT_EQUAL(m.totals.dropped_noenv, 9);
    free_all(&a, &b, &m);
}

/* ---- restarts and reused records --------------------------------------- */

static void test_restart_gives_no_rates(void)
{
    pstat_sample a, b;
    pstat_model m;

    two_samples(&a, &b);
    b.birth_time_us += 5000000;     /* another server instance */
    pstat_model_init(&m);
    CU_ASSERT_FATAL(pstat_model_build(&m, &a, &b) == 0);
    CU_ASSERT_EQUAL(m.rates, 0);
    CU_ASSERT(m.envs[0].requests_per_s < 0.0);
    CU_ASSERT(m.children[1].requests_per_s < 0.0);
    free_all(&a, &b, &m);

    two_samples(&a, &b);
    b.server_pid = 43;
    pstat_model_init(&m);
    CU_ASSERT_FATAL(pstat_model_build(&m, &a, &b) == 0);
    CU_ASSERT_EQUAL(m.rates, 0);
    free_all(&a, &b, &m);
}

static void test_reused_records(void)
{
    pstat_sample a, b;
    pstat_model m;

    two_samples(&a, &b);
    /* Record 2 now holds another environment; slot 4 another child; a
     * counter of slot 3 went backwards (reset). */
    snprintf(b.envs[1].name, sizeof(b.envs[1].name), "carol");
    b.children[3].pid = 99;
    b.children[2].requests = 1;
    pstat_model_init(&m);
    CU_ASSERT_FATAL(pstat_model_build(&m, &a, &b) == 0);
    CU_ASSERT_EQUAL(m.rates, 1);
    CU_ASSERT_NEAR(m.envs[0].requests_per_s, 100.0);
    CU_ASSERT(m.envs[1].requests_per_s < 0.0);
    CU_ASSERT(m.envs[1].connections_per_s < 0.0);
    CU_ASSERT(m.children[2].requests_per_s < 0.0);
    CU_ASSERT(m.children[3].requests_per_s < 0.0);
    /* The total counts what is known. */
    CU_ASSERT_NEAR(m.totals.requests_per_s, 100.0);
    free_all(&a, &b, &m);
}

static void test_counter_backwards(void)
{
    pstat_sample a, b;
    pstat_model m;

    two_samples(&a, &b);
    b.envs[0].requests = 50;
    pstat_model_init(&m);
    CU_ASSERT_FATAL(pstat_model_build(&m, &a, &b) == 0);
    CU_ASSERT(m.envs[0].requests_per_s < 0.0);
    CU_ASSERT_NEAR(m.envs[0].connections_per_s, 20.0);
    free_all(&a, &b, &m);
}

static void test_new_env_and_missing_prev(void)
{
    pstat_sample a, b;
    pstat_model m;

    two_samples(&a, &b);
    a.n_envs = 1;                   /* bob did not exist before */
    pstat_model_init(&m);
    CU_ASSERT_FATAL(pstat_model_build(&m, &a, &b) == 0);
    CU_ASSERT_NEAR(m.envs[0].requests_per_s, 100.0);
    CU_ASSERT(m.envs[1].requests_per_s < 0.0);
    free_all(&a, &b, &m);
}

/* ---- sorting and filtering --------------------------------------------- */

static void test_sort_envs(void)
{
    pstat_sample a, b;
    pstat_model m;
    pstat_order o;

    two_samples(&a, &b);
    pstat_model_init(&m);
    CU_ASSERT_FATAL(pstat_model_build(&m, &a, &b) == 0);
    pstat_order_init(&o);
    CU_ASSERT_EQUAL(o.env_col, PSTAT_ECOL_REQ_RATE);
    pstat_model_arrange(&m, &o);
    CU_ASSERT_EQUAL(m.n_env_shown, 2);
    CU_ASSERT_STRING_EQUAL(m.envs[m.env_shown[0]].e.name, "alice");
    o.env_reverse = 1;
    pstat_model_arrange(&m, &o);
    CU_ASSERT_STRING_EQUAL(m.envs[m.env_shown[0]].e.name, "bob");
    o.env_reverse = 0;
    o.env_col = PSTAT_ECOL_CHILDREN;
    pstat_model_arrange(&m, &o);
    CU_ASSERT_STRING_EQUAL(m.envs[m.env_shown[0]].e.name, "bob");
    o.env_col = PSTAT_ECOL_NAME;
    pstat_model_arrange(&m, &o);
    CU_ASSERT_STRING_EQUAL(m.envs[m.env_shown[0]].e.name, "alice");
    CU_ASSERT_STRING_EQUAL(m.envs[m.env_shown[1]].e.name, "bob");
    /* Equal keys: record order, in either direction. */
    o.env_col = PSTAT_ECOL_AVAIL;
    pstat_model_arrange(&m, &o);
    CU_ASSERT_EQUAL(m.env_shown[0], 0);
    o.env_reverse = 1;
    pstat_model_arrange(&m, &o);
    CU_ASSERT_EQUAL(m.env_shown[0], 0);
    free_all(&a, &b, &m);
}

static void test_sort_children(void)
{
    pstat_sample a, b;
    pstat_model m;
    pstat_order o;

    two_samples(&a, &b);
    b.taken_us = 100000000;
    b.children[1].last_used_ms = 99000;     /* 1 s ago */
    b.children[2].last_used_ms = 90000;     /* 10 s ago */
    /* children 0 and 3 never used */
    pstat_model_init(&m);
    CU_ASSERT_FATAL(pstat_model_build(&m, &a, &b) == 0);
    CU_ASSERT_EQUAL(m.children[1].idle_ms, 1000);
    CU_ASSERT_EQUAL(m.children[0].idle_ms, -1);
    pstat_order_init(&o);
    pstat_model_arrange(&m, &o);
    CU_ASSERT_EQUAL(m.children[m.child_shown[0]].c.slot, 0);
    CU_ASSERT_EQUAL(m.children[m.child_shown[3]].c.slot, 4);
    o.child_col = PSTAT_CCOL_LAST_USED;
    pstat_model_arrange(&m, &o);
    CU_ASSERT_EQUAL(m.children[m.child_shown[0]].c.slot, 1);
    CU_ASSERT_EQUAL(m.children[m.child_shown[1]].c.slot, 3);
    CU_ASSERT_EQUAL(m.children[m.child_shown[2]].c.slot, 0);
    o.child_col = PSTAT_CCOL_REQUESTS;
    pstat_model_arrange(&m, &o);
    CU_ASSERT_EQUAL(m.children[m.child_shown[0]].c.slot, 4);
    free_all(&a, &b, &m);
}

static void test_filter(void)
{
    pstat_sample a, b;
    pstat_model m;
    pstat_order o;

    two_samples(&a, &b);
    pstat_model_init(&m);
    CU_ASSERT_FATAL(pstat_model_build(&m, &a, &b) == 0);
    pstat_order_init(&o);
    snprintf(o.filter, sizeof(o.filter), "OB");
    pstat_model_arrange(&m, &o);
    CU_ASSERT_EQUAL(m.n_env_shown, 1);
    CU_ASSERT_STRING_EQUAL(m.envs[m.env_shown[0]].e.name, "bob");
    /* bob's two processors; the multiplexer belongs to no environment */
    CU_ASSERT_EQUAL(m.n_child_shown, 2);
    CU_ASSERT_EQUAL(m.children[m.child_shown[0]].c.slot, 3);
    snprintf(o.filter, sizeof(o.filter), "nobody");
    pstat_model_arrange(&m, &o);
    CU_ASSERT_EQUAL(m.n_env_shown, 0);
    CU_ASSERT_EQUAL(m.n_child_shown, 0);
    o.filter[0] = '\0';
    pstat_model_arrange(&m, &o);
    CU_ASSERT_EQUAL(m.n_env_shown, 2);
    CU_ASSERT_EQUAL(m.n_child_shown, 4);
    CU_ASSERT(pstat_filter_match("", "x"));
    CU_ASSERT(pstat_filter_match("LiC", "alice"));
    CU_ASSERT(!pstat_filter_match("alicex", "alice"));
    free_all(&a, &b, &m);
}

/* ---- following a real segment ------------------------------------------ */

static void test_source_follows_restart(void)
{
    char dir[] = "/tmp/pstat_unit.XXXXXX";
    char path[128];
    ph_shm_geometry g = { 4, 8, 1, 2 };
    ph_shm writer;
    pstat_source src;
    pstat_sample s;
    ph_shm_env *e;

    CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/seg.shm", dir);
    pstat_source_init(&src, path);
    CU_ASSERT_EQUAL(pstat_source_open(&src), ENOENT);
    CU_ASSERT(strstr(src.err, "no server running") != NULL);
    CU_ASSERT_EQUAL(pstat_source_follow(&src), PSTAT_SOURCE_GONE);

    CU_ASSERT_FATAL(ph_shm_create(&writer, path, &g, (gid_t)-1) == 0);
    e = ph_shm_env_at(&writer, 1);
    ph_shm_seq_write_begin(&e->seq);
    e->in_use = 1;
    snprintf(e->name, sizeof(e->name), "alice");
    ph_shm_seq_write_end(&e->seq);
    atomic_store(&ph_shm_env_stats_at(&writer, 1)->requests, 5);
    ph_shm_child_at(&writer, 2)->pid = 1234;

    CU_ASSERT_EQUAL(pstat_source_follow(&src), PSTAT_SOURCE_OPENED);
    CU_ASSERT_EQUAL(pstat_source_follow(&src), PSTAT_SOURCE_SAME);
    pstat_sample_init(&s);
    CU_ASSERT_FATAL(pstat_source_sample(&src, &s) == 0);
    CU_ASSERT_EQUAL(s.n_envs, 1);
    CU_ASSERT_EQUAL(s.envs[0].index, 1);
    CU_ASSERT_STRING_EQUAL(s.envs[0].name, "alice");
    CU_ASSERT_EQUAL(s.envs[0].requests, 5);
    CU_ASSERT_EQUAL(s.n_children, 1);
    CU_ASSERT_EQUAL(s.children[0].slot, 2);
    CU_ASSERT_EQUAL(s.env_capacity, 4);

    /* Restart: a new file at the same path. */
    ph_shm_unlink_env_files(&writer);
    ph_shm_unmap(&writer);
    CU_ASSERT_FATAL(ph_shm_create(&writer, path, &g, (gid_t)-1) == 0);
    CU_ASSERT_EQUAL(pstat_source_follow(&src), PSTAT_SOURCE_OPENED);
    CU_ASSERT_FATAL(pstat_source_sample(&src, &s) == 0);
    CU_ASSERT_EQUAL(s.n_envs, 0);

    /* Stop: the file goes; the old mapping is still readable. */
    unlink(path);
    CU_ASSERT_FATAL(pstat_source_sample(&src, &s) == 0);
    CU_ASSERT_EQUAL(pstat_source_follow(&src), PSTAT_SOURCE_GONE);
    CU_ASSERT(strstr(src.err, "no server running") != NULL);

    ph_shm_unlink_env_files(&writer);
    ph_shm_unmap(&writer);
    pstat_source_close(&src);
    pstat_sample_free(&s);
    rmdir(dir);
}

/* ---- output -------------------------------------------------------------- */

static const pstat_fieldset none_filtered = { .n = 0 };

static void test_json_shape(void)
{
    pstat_sample a, b;
    pstat_model m;
    char *doc = NULL;
    size_t len = 0;
    FILE *f;

    two_samples(&a, &b);
    snprintf(b.envs[1].name, sizeof(b.envs[1].name), "b\"o\\b\x01");
    pstat_model_init(&m);
    CU_ASSERT_FATAL(pstat_model_build(&m, &a, &b) == 0);
    f = open_memstream(&doc, &len);
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_EQUAL(pstat_print_json(f, &m, "/x", &none_filtered), 0);
    fclose(f);
    CU_ASSERT(strstr(doc, "\"pstat_version\": 1") != NULL);
    CU_ASSERT(strstr(doc, "\"requests_per_s\": 100.000") != NULL);
    /* record 2 changed name: its rate is unknown, written null */
    CU_ASSERT(strstr(doc, "\"name\": \"b\\\"o\\\\b\\u0001\"") != NULL);
    CU_ASSERT(strstr(doc, "\"connections_per_s\": null") != NULL);
    CU_ASSERT(strstr(doc, "\"env\": null") != NULL);
    free(doc);
    free_all(&a, &b, &m);
}

/* ---- the kernel's figures, answers, fields, Prometheus ------------------- */

static void proc_set(pstat_sample *s, uint32_t row, uint64_t ticks,
                     int64_t rss, int64_t pss)
{
    pstat_proc *p = &s->procs[row];

    p->pid = s->children[row].pid;
    p->ok = 1;
    p->cpu_ticks = ticks;
    p->start_ticks = 5;
    p->rss_bytes = rss;
    p->pss_bytes = pss;
    p->uid = 1000;
}

/* bob's two processors: 14 used 1 s of CPU in 2 s (50%), 13 used 0.2 s
 * (10%); 13's Pss unreadable, so bob's PSS is unknown, not a part. */
static void test_cpu_memory_answers(void)
{
    pstat_sample a, b;
    pstat_model m;

    two_samples(&a, &b);
    proc_set(&a, 1, 1000, 4096, 2048);
    proc_set(&a, 2, 50, 8192, -1);
    proc_set(&a, 3, 100, 8192, 4096);
    proc_set(&b, 1, 1000, 4096, 2048);
    proc_set(&b, 2, 70, 8192, -1);
    proc_set(&b, 3, 200, 16384, 4096);
    b.envs[1].bytes_sent = 3000;
    b.envs[1].responses_4xx = 10;
    b.envs[1].responses_5xx = 4;
    a.children[3].bytes_sent = 100;
    b.children[3].bytes_sent = 2100;
    b.children[3].responses_5xx = 2;
    pstat_model_init(&m);
    CU_ASSERT_FATAL(pstat_model_build(&m, &a, &b) == 0);
    CU_ASSERT_NEAR(m.children[2].cpu_pct, 10.0);
    CU_ASSERT_NEAR(m.children[3].cpu_pct, 50.0);
    CU_ASSERT_NEAR(m.envs[1].cpu_pct, 60.0);
    CU_ASSERT_NEAR(m.envs[0].cpu_pct, 0.0);
    CU_ASSERT_EQUAL(m.envs[1].rss_bytes, 8192 + 16384);
    CU_ASSERT_EQUAL(m.envs[1].pss_bytes, -1);
    CU_ASSERT_EQUAL(m.envs[0].pss_bytes, 2048);
    CU_ASSERT_NEAR(m.envs[1].bytes_per_s, 1500.0);
    CU_ASSERT_NEAR(m.envs[1].r4xx_per_s, 5.0);
    CU_ASSERT_NEAR(m.envs[1].r5xx_per_s, 2.0);
    CU_ASSERT_NEAR(m.children[3].bytes_per_s, 1000.0);
    CU_ASSERT_NEAR(m.children[3].r5xx_per_s, 1.0);
    CU_ASSERT_NEAR(m.totals.bytes_per_s, 1500.0);
    /* another process in the same pid (a new start time): no CPU rate */
    b.procs[3].start_ticks = 6;
    CU_ASSERT_FATAL(pstat_model_build(&m, &a, &b) == 0);
    CU_ASSERT(m.children[3].cpu_pct < 0.0);
    free_all(&a, &b, &m);
}

static void test_fit_number(void)
{
    char buf[32];

    pstat_fit_number(buf, sizeof(buf), 6, 123, 0, 0);
    CU_ASSERT_STRING_EQUAL(buf, "123");
    pstat_fit_number(buf, sizeof(buf), 6, 12.25, 0, 1);
    CU_ASSERT_STRING_EQUAL(buf, "12.2");
    pstat_fit_number(buf, sizeof(buf), 6, 1234567, 0, 1);
    CU_ASSERT_STRING_EQUAL(buf, "1.2M");
    pstat_fit_number(buf, sizeof(buf), 5, 999999, 0, 0);
    CU_ASSERT_STRING_EQUAL(buf, "1.0M");
    pstat_fit_number(buf, sizeof(buf), 6, 10.0 * 1024 * 1024, 1, 0);
    CU_ASSERT_STRING_EQUAL(buf, "10.0M");
    pstat_fit_number(buf, sizeof(buf), 4, 123456789, 0, 0);
    CU_ASSERT_STRING_EQUAL(buf, "123M");
    pstat_fit_number(buf, sizeof(buf), 2, 12345, 0, 0);
    CU_ASSERT_STRING_EQUAL(buf, "++");
}

static void test_field_globs(void)
{
    pstat_fieldset f = { .n = 0 };

    CU_ASSERT(pstat_field_shown(&f, "ENV.alice.requests"));
    CU_ASSERT_EQUAL(pstat_filter_add(&f, "ENV.*"), 0);
    CU_ASSERT(pstat_field_shown(&f, "ENV.alice.requests"));
    CU_ASSERT(!pstat_field_shown(&f, "MAIN.uptime"));
    CU_ASSERT_EQUAL(pstat_filter_add(&f, "^*.bob.*"), 0);
    CU_ASSERT(!pstat_field_shown(&f, "ENV.bob.requests"));
    CU_ASSERT(pstat_field_shown(&f, "ENV.alice.requests"));
    f.n = 0;
    CU_ASSERT_EQUAL(pstat_filter_add(&f, "^MAIN.*"), 0);
    CU_ASSERT(pstat_field_shown(&f, "CHILD.3.pid"));
    CU_ASSERT(!pstat_field_shown(&f, "MAIN.up"));
    CU_ASSERT_EQUAL(pstat_filter_add(&f, "^"), -1);
    CU_ASSERT_EQUAL(pstat_filter_add(&f, ""), -1);
}

static char *render(int (*fn)(FILE *, const pstat_model *,
                              const pstat_fieldset *),
                    const pstat_model *m, const pstat_fieldset *set)
{
    char *doc = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&doc, &len);

    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_EQUAL(fn(f, m, set), 0);
    fclose(f);
    return doc;
}

static void test_fields_and_prometheus(void)
{
    pstat_fieldset set = { .n = 0 };
    pstat_sample a, b;
    pstat_model m;
    char *doc;

    two_samples(&a, &b);
    snprintf(a.envs[1].name, sizeof(a.envs[1].name), "b\"o\\b\x01\n");
    snprintf(b.envs[1].name, sizeof(b.envs[1].name), "b\"o\\b\x01\n");
    b.envs[0].responses_4xx = 7;
    b.envs[0].dropped_timeout = 3;
    pstat_model_init(&m);
    CU_ASSERT_FATAL(pstat_model_build(&m, &a, &b) == 0);

    doc = render(pstat_print_fields, &m, &set);
    /* name value rate description, one a line */
    CU_ASSERT(strstr(doc, "\nENV.alice.requests ") != NULL);
    CU_ASSERT(strstr(doc, " 300       100.00 Requests served by its "
                     "processors\n") != NULL);
    CU_ASSERT(strstr(doc, "ENV.b%22o%5cb%01%0a.requests ") != NULL);
    CU_ASSERT(strncmp(doc, "MAIN.up ", 8) == 0);
    CU_ASSERT(strstr(doc, "\x01") == NULL && strstr(doc, "\n\n") == NULL);
    free(doc);

    CU_ASSERT_EQUAL(pstat_filter_add(&set, "ENV.alice.*"), 0);
    CU_ASSERT_EQUAL(pstat_filter_add(&set, "^*.cpu_pct"), 0);
    doc = render(pstat_print_fields, &m, &set);
    CU_ASSERT(strstr(doc, "ENV.alice.requests") != NULL);
    CU_ASSERT(strstr(doc, "MAIN.") == NULL && strstr(doc, "ENV.b") == NULL);
    CU_ASSERT(strstr(doc, "cpu_pct") == NULL);
    free(doc);
    set.n = 0;

    doc = render(pstat_print_prometheus, &m, &set);
    CU_ASSERT(strstr(doc, "# TYPE peruser_requests_total counter\n"
                     "peruser_requests_total{environment=\"alice\"} 300\n")
              != NULL);
    CU_ASSERT(strstr(doc, "peruser_requests_total{environment="
                     "\"b\\\"o\\\\b%01\\n\"} 1010\n") != NULL);
    CU_ASSERT(strstr(doc, "peruser_responses_total{environment=\"alice\","
                     "class=\"4xx\"} 7\n") != NULL);
    CU_ASSERT(strstr(doc, "peruser_dropped_total{environment=\"alice\","
                     "reason=\"timeout\"} 3\n") != NULL);
    /* one HELP and one TYPE per family, label variants included */
    CU_ASSERT(strstr(strstr(doc, "# TYPE peruser_responses_total") + 1,
                     "# TYPE peruser_responses_total") == NULL);
    CU_ASSERT(strstr(doc, "peruser_up 1\n") != NULL);
    CU_ASSERT(strstr(doc, "peruser_avail_ratio{environment=\"alice\"} 1\n")
              != NULL);
    free(doc);

    /* a dead server: "up 0" and nothing else as if it were current */
    m.alive = 0;
    doc = render(pstat_print_prometheus, &m, &set);
    CU_ASSERT(strstr(doc, "peruser_up 0\n") != NULL);
    CU_ASSERT(strstr(doc, "peruser_requests_total") == NULL);
    free(doc);
    free_all(&a, &b, &m);
}

/* ---- runner ------------------------------------------------------------- */

static const struct {
    const char *name;
    CU_TestFunc fn;
} tests[] = {
    { "rates over the interval", test_rates },
    { "one sample: rates unknown", test_one_sample_has_no_rates },
    { "children counted per environment", test_children_per_env },
    { "dropped sums", test_dropped },
    { "restart: no rates across servers", test_restart_gives_no_rates },
    { "reused records: no rates", test_reused_records },
    { "counter backwards: no rate", test_counter_backwards },
    { "new environment: no rate", test_new_env_and_missing_prev },
    { "sort environments", test_sort_envs },
    { "sort children", test_sort_children },
    { "filter by environment", test_filter },
    { "source follows restart and stop", test_source_follows_restart },
    { "JSON shape and escaping", test_json_shape },
    { "CPU, memory, bytes and 4xx/5xx rates", test_cpu_memory_answers },
    { "numbers fit their columns", test_fit_number },
    { "-f globs", test_field_globs },
    { "-1 fields and Prometheus", test_fields_and_prometheus },
};

static int run_tests(void)
{
    CU_pSuite suite;
    unsigned failed;
    size_t i;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 2;
    }
    suite = CU_add_suite("pstat_model", NULL, NULL);
    for (i = 0; suite && i < sizeof(tests) / sizeof(tests[0]); i++) {
        if (CU_add_test(suite, tests[i].name, tests[i].fn) == NULL) {
            suite = NULL;
        }
    }
    if (suite == NULL) {
        CU_cleanup_registry();
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}

int main(void)
{
    pid_t pid;
    int status;

    /* A crash or a hang in the child is a failure we report. */
    pid = fork();
    if (pid < 0) {
        perror("pstat_tests: fork");
        return 2;
    }
    if (pid == 0) {
        alarm(60);
        _exit(run_tests());
    }
    if (waitpid(pid, &status, 0) != pid) {
        perror("pstat_tests: waitpid");
        return 2;
    }
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "pstat_tests: the tests died of signal %d\n",
                WTERMSIG(status));
        return 1;
    }
    return WEXITSTATUS(status);
}
