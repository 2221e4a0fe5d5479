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
    printf("threads: %s\n", failed ? "FAILED" : "passed");
    st_world_close(&w);
    return failed ? 1 : 0;
}
