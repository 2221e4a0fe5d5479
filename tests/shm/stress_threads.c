/*
 * stress_threads.c -- the ticket handoff of stress_tickets.c with threads
 * instead of processes, so that ThreadSanitizer can watch it: the same
 * producer and consumer loops (stress_core.c), the same real segment and
 * SOCK_SEQPACKET channels, the same final checks, nobody killed.
 *
 * What TSan checks here is the memory order of the ticket protocol: the
 * ledger's payload is a plain array written by a producer before publish
 * and read by a consumer after claim, then overwritten by the next
 * producer after the consumer's release.  The channel orders the first
 * step for TSan (it models send -> recv), but nothing but the ticket's
 * release CAS and the next alloc's acquire orders the second: a missing
 * release or acquire there is a reported data race.
 *
 * Then the processors' index (shm_index.c): this thread, as the parent,
 * starts and reaps processors in slots 2.. of either environment while
 * reader threads, as multiplexers, copy environment 0's chain: TSan
 * watches the seqlock that orders them, and every consistent copy must
 * hold slots 0 and 1 (linked all along) once each, nothing beyond the
 * geometry.
 *
 *   shm_stress_threads [--tickets N] [--timeout S]
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stress_core.h"

typedef struct thread_arg {
    st_world *w;
    int slot;
    pthread_t tid;
} thread_arg;

static void on_timeout(int sig)
{
    static const char msg[] = "\nshm_stress_threads: HARD TIMEOUT; "
                              "FAILED\n";

    (void)sig;
    if (write(2, msg, sizeof(msg) - 1) < 0) {
        /* nothing left to tell */
    }
    _exit(3);
}

static void *producer_main(void *p)
{
    thread_arg *a = p;

    st_producer(a->w, (uint32_t)a->slot, getpid());
    return NULL;
}

static void *consumer_main(void *p)
{
    thread_arg *a = p;
    uint32_t env = (uint32_t)(a->slot - ST_MUXES) / ST_PER_ENV;

    /* all threads share the pid the tickets record; the ledger's holder
     * tells them apart */
    st_consumer(a->w, env, a->slot, getpid(), a->slot + 1);
    return NULL;
}

#define INDEX_STEPS   200000
#define INDEX_READERS 2

typedef struct index_arg {
    st_world *w;
    _Atomic int *stop;
    unsigned long reads, torn, bad;
    pthread_t tid;
} index_arg;

static void *index_reader_main(void *p)
{
    index_arg *a = p;
    uint32_t slots[ST_WORKERS];

    while (!atomic_load(a->stop)) {
        int i, n = ph_shm_index_read(&a->w->shm, 0, slots, ST_WORKERS);
        unsigned seen = 0;

        if (n < 0) {
            a->torn++;          /* the caller would look at every slot */
            continue;
        }
        a->reads++;
        for (i = 0; i < n; i++) {
            if (slots[i] >= ST_WORKERS || (seen & (1u << slots[i]))) {
                a->bad++;
            }
            seen |= 1u << (slots[i] % ST_WORKERS);
        }
        a->bad += (seen & 3u) != 3u;
    }
    return NULL;
}

/* Returns the number of failures. */
static int index_stress(st_world *w)
{
    index_arg args[INDEX_READERS];
    _Atomic int stop = 0;
    unsigned seed = 1;
    unsigned long reads = 0, torn = 0, bad = 0;
    uint32_t s;
    int i, step;

    for (s = 0; s < ST_WORKERS; s++) {
        ph_shm_child_prepare(&w->shm, s, s < 2 ? PH_CHILD_TYPE_PROCESSOR
                                               : PH_CHILD_TYPE_NONE,
                             0, 1, 0);
    }
    for (i = 0; i < INDEX_READERS; i++) {
        args[i] = (index_arg){ w, &stop, 0, 0, 0, 0 };
        if (pthread_create(&args[i].tid, NULL, index_reader_main,
                           &args[i]) != 0) {
            perror("shm_stress_threads: pthread_create");
            return 1;
        }
    }
    for (step = 0; step < INDEX_STEPS; step++) {
        s = 2 + (uint32_t)rand_r(&seed) % (ST_WORKERS - 2);
        if (ph_shm_child_at(&w->shm, s)->type == PH_CHILD_TYPE_PROCESSOR) {
            ph_shm_child_reaped(&w->shm, s, 1, 1);
        }
        else {
            ph_shm_child_prepare(&w->shm, s, PH_CHILD_TYPE_PROCESSOR,
                                 (int32_t)(rand_r(&seed) % ST_ENVS), 1, 0);
        }
    }
    atomic_store(&stop, 1);
    for (i = 0; i < INDEX_READERS; i++) {
        pthread_join(args[i].tid, NULL);
        reads += args[i].reads;
        torn += args[i].torn;
        bad += args[i].bad;
    }
    printf("index: %d starts and reaps, %lu consistent reads, %lu given "
           "up, %lu wrong\n", INDEX_STEPS, reads, torn, bad);
    return bad != 0 || reads == 0;
}

int main(int argc, char **argv)
{
    thread_arg args[ST_WORKERS];
    uint64_t tickets = 1000000;
    unsigned timeout_s = 120;
    st_expect x = { 1, 0, 0 };
    st_totals t;
    st_world w;
    double t0, secs;
    int i, failed;

    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--tickets") == 0) {
            tickets = strtoull(argv[i + 1], NULL, 10);
        }
        else if (strcmp(argv[i], "--timeout") == 0) {
            timeout_s = (unsigned)strtoul(argv[i + 1], NULL, 10);
        }
        else {
            break;
        }
    }
    if (i != argc || tickets == 0 || timeout_s == 0) {
        fprintf(stderr, "usage: %s [--tickets N] [--timeout S]\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (st_world_open(&w, tickets, 0, 0) != 0) {
        return 2;
    }
    signal(SIGALRM, on_timeout);
    alarm(timeout_s);
    printf("shm_stress_threads: %d producer and %d consumer threads, %d "
           "environments, %d tickets a partition\n", ST_MUXES, ST_CONSUMERS,
           ST_ENVS, ST_TICKETS);
    t0 = st_now_s();
    for (i = 0; i < ST_WORKERS; i++) {
        args[i].w = &w;
        args[i].slot = i;
        if (pthread_create(&args[i].tid, NULL,
                           i < ST_MUXES ? producer_main : consumer_main,
                           &args[i]) != 0) {
            perror("shm_stress_threads: pthread_create");
            return 2;
        }
    }
    for (i = 0; i < ST_MUXES; i++) {
        pthread_join(args[i].tid, NULL);
    }
    st_close_sends(&w);                 /* the end of the stream */
    for (i = ST_MUXES; i < ST_WORKERS; i++) {
        pthread_join(args[i].tid, NULL);
    }
    secs = st_now_s() - t0;
    alarm(0);

    st_totals_get(&w, &t);
    printf("threads: %llu tickets moved in %.2f s: %.0f tickets/s; "
           "partition-full waits %llu\n", (unsigned long long)t.claimed,
           secs, (double)t.claimed / secs,
           (unsigned long long)t.full_waits);
    failed = st_verify(&w, &x, stdout);
    failed |= index_stress(&w);
    printf("threads: %s\n", failed ? "FAILED" : "passed");
    st_world_close(&w);
    return failed ? 1 : 0;
}
