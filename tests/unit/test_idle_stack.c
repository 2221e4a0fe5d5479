/*
 * test_idle_stack.c -- idle_stack.c with real threads: the worker that
 * went idle last is the one woken, a worker that finds work without being
 * woken leaves the stack from wherever it is, and everyone wakes to exit.
 *
 * Each worker thread does what a processor's worker does: under the lock,
 * wait while it has nothing to do, leave the stack, take the work.  The
 * test plays the listener: it gives a piece of work and wakes the top.
 */
#include <pthread.h>
#include <time.h>

#include "idle_stack.h"
#include "unit_suites.h"

#define NW 4

typedef struct bench {
    pthread_mutex_t lock;
    ph_idle_stack st;
    int order[NW];
    char on[NW];
    pthread_cond_t cv[NW];
    int work;               /* pieces of work waiting */
    int exit;
    int took[NW];           /* pieces each worker took */
    int last_taker;
    pthread_t th[NW];
} bench;

typedef struct worker {
    bench *b;
    int w;
} worker;

static void *worker_main(void *data)
{
    worker *wk = data;
    bench *b = wk->b;

    pthread_mutex_lock(&b->lock);
    for (;;) {
        while (!b->work && !b->exit) {
            ph_idle_stack_wait(&b->st, wk->w, &b->lock);
        }
        ph_idle_stack_leave(&b->st, wk->w);
        if (!b->work) {
            break;
        }
        b->work--;
        b->took[wk->w]++;
        b->last_taker = wk->w;
    }
    pthread_mutex_unlock(&b->lock);
    return NULL;
}

static worker workers[NW];

/* Poll (bounded: 10 s) until cond holds under the lock. */
static int until(bench *b, int (*cond)(bench *, int), int arg)
{
    struct timespec pause = { 0, 1000000 };
    int i, ok = 0;

    for (i = 0; i < 10000 && !ok; i++) {
        pthread_mutex_lock(&b->lock);
        ok = cond(b, arg);
        pthread_mutex_unlock(&b->lock);
        if (!ok) {
            nanosleep(&pause, NULL);
        }
    }
    return ok;
}

static int idle_count_is(bench *b, int n)
{
    return b->st.n == n;
}

static int taken_total_is(bench *b, int n)
{
    int i, t = 0;

    for (i = 0; i < NW; i++) {
        t += b->took[i];
    }
    return t == n && b->st.n == NW;     /* and back on the stack */
}

/* Start the workers one after another, each idle before the next starts:
 * the stack is 0, 1, 2, 3 with 3 on top. */
static void bench_start(bench *b)
{
    int i;

    pthread_mutex_init(&b->lock, NULL);
    ph_idle_stack_init(&b->st, NW, b->order, b->on, b->cv);
    for (i = 0; i < NW; i++) {
        workers[i].b = b;
        workers[i].w = i;
        CU_ASSERT_FATAL(pthread_create(&b->th[i], NULL, worker_main,
                                       &workers[i]) == 0);
        CU_ASSERT_FATAL(until(b, idle_count_is, i + 1));
    }
}

static void bench_stop(bench *b)
{
    int i;

    pthread_mutex_lock(&b->lock);
    b->exit = 1;
    ph_idle_stack_wake_all(&b->st);
    pthread_mutex_unlock(&b->lock);
    for (i = 0; i < NW; i++) {
        pthread_join(b->th[i], NULL);
    }
    CU_ASSERT_EQUAL(b->st.n, 0);
}

/* The listener's part: one piece of work, the top worker woken. */
static int give(bench *b)
{
    int w;

    pthread_mutex_lock(&b->lock);
    b->work++;
    w = ph_idle_stack_wake_top(&b->st);
    pthread_mutex_unlock(&b->lock);
    return w;
}

static void test_last_idle_woken_first(void)
{
    static bench b;
    int i;

    bench_start(&b);
    CU_ASSERT_EQUAL(b.order[NW - 1], NW - 1);
    /* one keep-alive connection's requests, one after another: the same
     * worker every time, the one that went idle last */
    for (i = 0; i < 20; i++) {
        CU_ASSERT_EQUAL(give(&b), NW - 1);
        CU_ASSERT_FATAL(until(&b, taken_total_is, i + 1));
        CU_ASSERT_EQUAL(b.last_taker, NW - 1);
    }
    CU_ASSERT_EQUAL(b.took[NW - 1], 20);
    CU_ASSERT_EQUAL(b.took[0] + b.took[1] + b.took[2], 0);
    bench_stop(&b);
}

static void test_work_found_without_wake_up(void)
{
    static bench b;

    bench_start(&b);
    /* work appears and worker 1, in the middle, wakes without being
     * chosen (as a spurious wake-up would): it takes it and leaves the
     * stack from the middle, the others keep their order */
    pthread_mutex_lock(&b.lock);
    b.work++;
    pthread_cond_signal(&b.cv[1]);
    pthread_mutex_unlock(&b.lock);
    /* having taken it, it went idle again: on top now */
    CU_ASSERT_FATAL(until(&b, taken_total_is, 1));
    CU_ASSERT_EQUAL(b.took[1], 1);
    CU_ASSERT_EQUAL(b.order[0], 0);
    CU_ASSERT_EQUAL(b.order[1], 2);
    CU_ASSERT_EQUAL(b.order[2], 3);
    CU_ASSERT_EQUAL(b.order[3], 1);
    CU_ASSERT_EQUAL(give(&b), 1);
    CU_ASSERT_FATAL(until(&b, taken_total_is, 2));
    CU_ASSERT_EQUAL(b.took[1], 2);
    bench_stop(&b);
}

static void test_woken_for_work_taken_by_another(void)
{
    static bench b;
    int w;

    bench_start(&b);
    /* the listener wakes the top (3) for a piece of work, but before 3
     * runs, worker 0 wakes too and takes it: 3 finds nothing and goes
     * back on top */
    pthread_mutex_lock(&b.lock);
    b.work++;
    w = ph_idle_stack_wake_top(&b.st);
    CU_ASSERT_EQUAL(w, 3);
    pthread_cond_signal(&b.cv[0]);
    pthread_mutex_unlock(&b.lock);
    CU_ASSERT_FATAL(until(&b, taken_total_is, 1));
    CU_ASSERT_EQUAL(b.took[0] + b.took[3], 1);
    /* whoever took it, every worker is on the stack exactly once */
    pthread_mutex_lock(&b.lock);
    {
        int seen[NW] = { 0 }, i, ok = b.st.n == NW;
        for (i = 0; i < b.st.n; i++) {
            ok &= b.order[i] >= 0 && b.order[i] < NW
                  && !seen[b.order[i]]++ && b.on[b.order[i]];
        }
        CU_ASSERT(ok);
    }
    pthread_mutex_unlock(&b.lock);
    bench_stop(&b);
}

static void test_none_idle(void)
{
    static bench b;
    int i;

    pthread_mutex_init(&b.lock, NULL);
    ph_idle_stack_init(&b.st, NW, b.order, b.on, b.cv);
    pthread_mutex_lock(&b.lock);
    CU_ASSERT_EQUAL(ph_idle_stack_wake_top(&b.st), -1);
    for (i = 0; i < NW; i++) {
        ph_idle_stack_leave(&b.st, i);      /* not on it: nothing */
    }
    CU_ASSERT_EQUAL(b.st.n, 0);
    pthread_mutex_unlock(&b.lock);
}

static const ph_unit_test tests[] = {
    { "the last idle worker is woken first", test_last_idle_woken_first },
    { "work found without a wake-up", test_work_found_without_wake_up },
    { "woken for work another took", test_woken_for_work_taken_by_another },
    { "nobody idle", test_none_idle },
};

int ph_unit_register_idle_stack(void)
{
    return ph_unit_add_suite("idle_stack", NULL, tests,
                             sizeof(tests) / sizeof(tests[0]));
}
