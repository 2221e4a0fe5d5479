/*
 * idle_stack.h -- a processor's idle workers, the one that went idle last
 * woken first.
 *
 * Why: a processor usually holds one or two connections (one tenant's
 * browsers), and each request of a keep-alive connection is handed to a
 * worker anew.  Waiting on one shared condition variable, the worker
 * waiting longest is woken (glibc wakes waiters in the order they came),
 * so the requests went to each of ThreadsPerChild threads in turn, each
 * with a stack and allocator memory the caches had long dropped.  The
 * stack hands the next request to the thread that just finished the last
 * one; the others stay asleep (Varnish's worker pool keeps its idle
 * threads the same way, for the same reason).
 *
 * Each worker waits on its own condition variable.  Every call is made
 * with the caller's mutex held (the processor's work_lock), the one the
 * waits release.  No httpd header: tests/unit/test_idle_stack.c runs it
 * with threads.
 */
#ifndef PH_IDLE_STACK_H
#define PH_IDLE_STACK_H

#include <pthread.h>

#define PH_IDLE_STACK_MAGIC 0x49444c53u     /* "IDLS" */

typedef struct ph_idle_stack {
    unsigned magic;
    int nworkers;
    int n;                  /* workers on the stack */
    int *order;             /* [n]: worker indexes, the top last */
    char *on;               /* [nworkers]: is on the stack */
    pthread_cond_t *cv;     /* [nworkers]: each one's own */
} ph_idle_stack;

/* For nworkers workers (0 .. nworkers - 1), in the caller's memory:
 * order and cv of nworkers entries, on of nworkers bytes, zeroed. */
void ph_idle_stack_init(ph_idle_stack *st, int nworkers, int *order,
                        char *on, pthread_cond_t *cv);

/* Worker w waits once (on top of the stack, unless it is on it already):
 * the caller loops while it has nothing to do, as around
 * pthread_cond_wait. */
void ph_idle_stack_wait(ph_idle_stack *st, int w, pthread_mutex_t *held);

/* Worker w has work (or leaves): off the stack if it is still on it. */
void ph_idle_stack_leave(ph_idle_stack *st, int w);

/* Wake the worker on top, taking it off.  Returns its index, or -1 if
 * none is idle (the first to finish finds the work). */
int ph_idle_stack_wake_top(ph_idle_stack *st);

/* Wake every worker (they are to exit). */
void ph_idle_stack_wake_all(ph_idle_stack *st);

#endif /* PH_IDLE_STACK_H */
