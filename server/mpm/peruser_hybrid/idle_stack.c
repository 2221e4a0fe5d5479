/*
 * idle_stack.c -- a processor's idle workers, the one that went idle last
 * woken first (idle_stack.h says why).
 */
#include <assert.h>
#include <pthread.h>

#include "idle_stack.h"

void ph_idle_stack_init(ph_idle_stack *st, int nworkers, int *order,
                        char *on, pthread_cond_t *cv)
{
    int i;

    assert(st && nworkers >= 0 && (nworkers == 0 || (order && on && cv)));
    st->magic = PH_IDLE_STACK_MAGIC;
    st->nworkers = nworkers;
    st->n = 0;
    st->order = order;
    st->on = on;
    st->cv = cv;
    for (i = 0; i < nworkers; i++) {
        on[i] = 0;
        pthread_cond_init(&cv[i], NULL);
    }
}

void ph_idle_stack_wait(ph_idle_stack *st, int w, pthread_mutex_t *held)
{
    assert(st && st->magic == PH_IDLE_STACK_MAGIC);
    assert(w >= 0 && w < st->nworkers);
    if (!st->on[w]) {
        /* first time, or woken for work another worker took first: back
         * on top, as the one idle last */
        assert(st->n < st->nworkers);
        st->order[st->n++] = w;
        st->on[w] = 1;
    }
    pthread_cond_wait(&st->cv[w], held);
}

void ph_idle_stack_leave(ph_idle_stack *st, int w)
{
    int i;

    assert(st && st->magic == PH_IDLE_STACK_MAGIC);
    assert(w >= 0 && w < st->nworkers);
    if (!st->on[w]) {
        return;     /* taken off by the wake-up that brought it here */
    }
    /* found work without being woken for it (it was there when it woke
     * spuriously), or leaving: out of the middle */
    for (i = st->n - 1; i >= 0 && st->order[i] != w; i--) {
        ;
    }
    assert(i >= 0);
    for (; i + 1 < st->n; i++) {
        st->order[i] = st->order[i + 1];
    }
    st->n--;
    st->on[w] = 0;
}

int ph_idle_stack_wake_top(ph_idle_stack *st)
{
    int w;

    assert(st && st->magic == PH_IDLE_STACK_MAGIC);
    if (st->n == 0) {
        return -1;
    }
    w = st->order[--st->n];
    st->on[w] = 0;
    pthread_cond_signal(&st->cv[w]);
    return w;
}

void ph_idle_stack_wake_all(ph_idle_stack *st)
{
    int i;

    assert(st && st->magic == PH_IDLE_STACK_MAGIC);
    for (i = 0; i < st->nworkers; i++) {
        pthread_cond_signal(&st->cv[i]);
    }
}
