/*
 * bench_handoff.c -- what a ticket handoff costs, beside the obvious
 * alternative: a queue behind a process-shared pthread mutex.
 *
 *   1. one process: ns per alloc + publish + claim + release (and per
 *      push + pop through the mutex queue);
 *   2. two processes, producer -> consumer, both busy-polling:
 *        tickets: the producer allocs and publishes a ticket and puts its
 *                 reference in a single-producer/single-consumer ring (the
 *                 notification; it exists only in this benchmark); the
 *                 consumer takes it from the ring, claims and releases it;
 *        mutex:   the producer locks, pushes the same reference, counts it
 *                 in flight, unlocks; the consumer locks, pops, uncounts,
 *                 unlocks;
 *      and their ratio;
 *   3. two processes, tickets with a pipe as the notification (the
 *      consumer sleeps in read), closer to the MPM's channel.
 *
 * Both two-process variants bound what is in flight to 64, the tickets of
 * a partition.  Figures, not a test: it fails only if a handoff is lost.
 *
 *   shm_bench [handoffs]     default 2,000,000 per two-process variant
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ph_shm.h"

#define DEPTH     64            /* in flight: a partition's tickets */
#define MUX_PID   1             /* the pids only go into tickets */
#define PROC_PID  2

typedef struct item {
    uint64_t id, gen;
} item;

/* The benchmark's notification: a single-producer ring of references. */
typedef struct spsc_ring {
    _Atomic uint64_t head __attribute__((aligned(64)));    /* producer */
    _Atomic uint64_t tail __attribute__((aligned(64)));    /* consumer */
    item items[DEPTH] __attribute__((aligned(64)));
} spsc_ring;

/* The alternative: a bounded queue behind a process-shared mutex. */
typedef struct mutex_queue {
    pthread_mutex_t mu;
    uint32_t head, tail, count;
    int32_t in_flight;
    item items[DEPTH];
} mutex_queue;

/* What both processes of a run share besides the segment. */
typedef struct shared {
    _Atomic int go;
    _Atomic uint64_t consumed;
    _Atomic uint64_t failed;
    spsc_ring ring;
    mutex_queue q;
} shared;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void die(const char *what)
{
    perror(what);
    exit(2);
}

/* ---- the mutex queue --------------------------------------------------- */

static void queue_init(mutex_queue *q)
{
    pthread_mutexattr_t a;

    memset(q, 0, sizeof(*q));
    if (pthread_mutexattr_init(&a) != 0
        || pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED) != 0
        || pthread_mutex_init(&q->mu, &a) != 0) {
        die("shm_bench: process-shared mutex");
    }
    pthread_mutexattr_destroy(&a);
}

static int queue_push(mutex_queue *q, const item *it)
{
    int ok = 0;

    pthread_mutex_lock(&q->mu);
    if (q->count < DEPTH) {
        q->items[q->tail] = *it;
        q->tail = (q->tail + 1) % DEPTH;
        q->count++;
        q->in_flight++;
        ok = 1;
    }
    pthread_mutex_unlock(&q->mu);
    return ok;
}

static int queue_pop(mutex_queue *q, item *it)
{
    int ok = 0;

    pthread_mutex_lock(&q->mu);
    if (q->count > 0) {
        *it = q->items[q->head];
        q->head = (q->head + 1) % DEPTH;
        q->count--;
        q->in_flight--;
        ok = 1;
    }
    pthread_mutex_unlock(&q->mu);
    return ok;
}

/* ---- 1. one process ----------------------------------------------------- */

static double one_process_tickets(ph_shm *shm, uint64_t n)
{
    ph_ticket_ref t;
    uint64_t i, bad = 0;
    double t0 = now_s();

    for (i = 0; i < n; i++) {
        bad += ph_ticket_alloc(shm, 0, 0, MUX_PID, &t) != 0
               || ph_ticket_publish(shm, &t, 1) != 0
               || ph_ticket_claim(shm, &t, PROC_PID) != 0
               || ph_ticket_release(shm, &t) != 0;
    }
    if (bad) {
        fprintf(stderr, "shm_bench: %llu cycles failed\n",
                (unsigned long long)bad);
        exit(1);
    }
    return (now_s() - t0) * 1e9 / (double)n;
}

static double one_process_queue(mutex_queue *q, uint64_t n)
{
    item it = { 1, 1 }, out;
    uint64_t i, bad = 0;
    double t0 = now_s();

    for (i = 0; i < n; i++) {
        bad += !queue_push(q, &it) || !queue_pop(q, &out);
    }
    if (bad) {
        exit(1);
    }
    return (now_s() - t0) * 1e9 / (double)n;
}

/* ---- 2. and 3. two processes -------------------------------------------- */

typedef enum { VIA_RING, VIA_MUTEX, VIA_PIPE } via;

static void consume(ph_shm *shm, shared *sh, via how, int rfd, uint64_t n)
{
    ph_ticket_ref t;
    item it[DEPTH];
    uint64_t done = 0, h, tail;
    size_t k, got;
    ssize_t r;

    while (!atomic_load(&sh->go)) {
        cpu_relax();
    }
    while (done < n) {
        got = 0;
        if (how == VIA_RING) {
            tail = atomic_load_explicit(&sh->ring.tail, memory_order_relaxed);
            h = atomic_load_explicit(&sh->ring.head, memory_order_acquire);
            for (; tail < h && got < DEPTH; tail++) {
                it[got++] = sh->ring.items[tail % DEPTH];
            }
            atomic_store_explicit(&sh->ring.tail, tail, memory_order_release);
        }
        else if (how == VIA_MUTEX) {
            got = (size_t)queue_pop(&sh->q, &it[0]);
        }
        else {
            r = read(rfd, it, sizeof(it));
            if (r <= 0 && errno != EINTR) {
                break;
            }
            got = r > 0 ? (size_t)r / sizeof(item) : 0;
        }
        if (got == 0) {
            cpu_relax();
            continue;
        }
        for (k = 0; k < got; k++) {
            if (how != VIA_MUTEX) {
                ph_ticket_from_id(it[k].id, it[k].gen, 0, &t);
                if (ph_ticket_claim(shm, &t, PROC_PID) != 0
                    || ph_ticket_release(shm, &t) != 0) {
                    atomic_fetch_add(&sh->failed, 1);
                }
            }
        }
        done += got;
    }
    atomic_store(&sh->consumed, done);
}

static void produce(ph_shm *shm, shared *sh, via how, int wfd, uint64_t n)
{
    ph_ticket_ref t;
    item it;
    uint64_t i, head;

    for (i = 0; i < n; i++) {
        if (how == VIA_MUTEX) {
            it.id = i;
            it.gen = 1;
            while (!queue_push(&sh->q, &it)) {
                cpu_relax();
            }
            continue;
        }
        /* at most DEPTH in flight: the partition's tickets */
        while (ph_ticket_alloc(shm, 0, 0, MUX_PID, &t) != 0) {
            cpu_relax();
        }
        if (ph_ticket_publish(shm, &t, 1) != 0) {
            atomic_fetch_add(&sh->failed, 1);
        }
        it.id = ph_ticket_id(&t);
        it.gen = t.gen;
        if (how == VIA_PIPE) {
            if (write(wfd, &it, sizeof(it)) != (ssize_t)sizeof(it)) {
                die("shm_bench: write");
            }
            continue;
        }
        /* the ring has DEPTH places, as many as tickets: never full */
        head = atomic_load_explicit(&sh->ring.head, memory_order_relaxed);
        sh->ring.items[head % DEPTH] = it;
        atomic_store_explicit(&sh->ring.head, head + 1, memory_order_release);
    }
}

/* Handoffs per second from this process to a forked consumer. */
static double two_processes(ph_shm *shm, shared *sh, via how, uint64_t n)
{
    int fds[2] = { -1, -1 }, status;
    double t0, secs;
    pid_t pid;

    memset(&sh->ring, 0, sizeof(sh->ring));
    queue_init(&sh->q);
    atomic_store(&sh->go, 0);
    atomic_store(&sh->consumed, 0);
    if (how == VIA_PIPE && pipe(fds) != 0) {
        die("shm_bench: pipe");
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        die("shm_bench: fork");
    }
    if (pid == 0) {
        if (fds[1] >= 0) {
            close(fds[1]);
        }
        consume(shm, sh, how, fds[0], n);
        _exit(0);
    }
    if (fds[0] >= 0) {
        close(fds[0]);
    }
    t0 = now_s();
    atomic_store(&sh->go, 1);
    produce(shm, sh, how, fds[1], n);
    if (fds[1] >= 0) {
        close(fds[1]);
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    secs = now_s() - t0;
    pthread_mutex_destroy(&sh->q.mu);
    if (atomic_load(&sh->consumed) != n || atomic_load(&sh->failed) != 0) {
        fprintf(stderr, "shm_bench: %llu of %llu handed off, %llu failed\n",
                (unsigned long long)atomic_load(&sh->consumed),
                (unsigned long long)n,
                (unsigned long long)atomic_load(&sh->failed));
        exit(1);
    }
    return (double)n / secs;
}

int main(int argc, char **argv)
{
    ph_shm_geometry g = { 1, 1, 1, DEPTH };
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
    char dir[] = "/dev/shm/ph_shm_bench.XXXXXX", path[64];
    double ns_ticket, ns_queue, ring, mutex, piped;
    shared *sh;
    ph_shm shm;

    if (n == 0 || mkdtemp(dir) == NULL) {
        fprintf(stderr, "usage: %s [handoffs]\n", argv[0]);
        return 2;
    }
    snprintf(path, sizeof(path), "%s/segment", dir);
    if ((errno = ph_shm_create(&shm, path, &g, (gid_t)-1)) != 0) {
        die("shm_bench: ph_shm_create");
    }
    sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) {
        die("shm_bench: mmap");
    }
    queue_init(&sh->q);

    setvbuf(stdout, NULL, _IOLBF, 0);
    ns_ticket = one_process_tickets(&shm, 5 * n);
    ns_queue = one_process_queue(&sh->q, 5 * n);
    pthread_mutex_destroy(&sh->q.mu);
    printf("one process:   %6.1f ns per alloc+publish+claim+release "
           "(mutex queue push+pop: %.1f ns)\n", ns_ticket, ns_queue);

    ring = two_processes(&shm, sh, VIA_RING, n);
    mutex = two_processes(&shm, sh, VIA_MUTEX, n);
    piped = two_processes(&shm, sh, VIA_PIPE, n);
    printf("two processes: %10.0f handoffs/s  ticket + busy-polled ring\n",
           ring);
    printf("two processes: %10.0f handoffs/s  process-shared mutex queue "
           "(busy-polled)\n", mutex);
    printf("ratio ticket/mutex: %.2fx\n", ring / mutex);
    printf("two processes: %10.0f handoffs/s  ticket + pipe (consumer "
           "sleeps in read)\n", piped);

    ph_shm_unlink_env_files(&shm);
    ph_shm_unmap(&shm);
    munmap(sh, sizeof(*sh));
    unlink(path);
    rmdir(dir);
    return 0;
}
