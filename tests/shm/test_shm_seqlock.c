/*
 * test_shm_seqlock.c -- shm_seqlock.c: the counter's values through a
 * write, the reader's retry decision, a writer that died mid-write, and a
 * writer process racing a reader on two CPUs without the reader ever
 * keeping a torn copy.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shm_tests.h"

#define RACE_MS 400

static void test_write_makes_odd_then_even(void)
{
    _Atomic uint32_t seq = 0;

    ph_shm_seq_write_begin(&seq);
    CU_ASSERT_EQUAL(atomic_load(&seq), 1u);
    ph_shm_seq_write_end(&seq);
    CU_ASSERT_EQUAL(atomic_load(&seq), 2u);
    ph_shm_seq_write_begin(&seq);
    ph_shm_seq_write_end(&seq);
    CU_ASSERT_EQUAL(atomic_load(&seq), 4u);
}

static void test_read_retry(void)
{
    _Atomic uint32_t seq = 6;
    uint32_t start;

    start = ph_shm_seq_read_begin(&seq);
    CU_ASSERT_EQUAL(start, 6u);
    CU_ASSERT_EQUAL(ph_shm_seq_read_retry(&seq, start), 0);   /* quiet */

    ph_shm_seq_write_begin(&seq);
    CU_ASSERT_EQUAL(ph_shm_seq_read_retry(&seq, start), 1);   /* writing */
    ph_shm_seq_write_end(&seq);
    CU_ASSERT_EQUAL(ph_shm_seq_read_retry(&seq, start), 1);   /* written */

    /* a read that began during a write is retried even if the counter
     * did not move since */
    ph_shm_seq_write_begin(&seq);
    start = ph_shm_seq_read_begin(&seq);
    CU_ASSERT_EQUAL(start % 2, 1u);
    CU_ASSERT_EQUAL(ph_shm_seq_read_retry(&seq, start), 1);
    ph_shm_seq_write_end(&seq);
}

static void test_writer_died_mid_write(void)
{
    _Atomic uint32_t seq = 8;
    uint32_t during;

    ph_shm_seq_write_begin(&seq);           /* ... and the writer dies */
    during = ph_shm_seq_read_begin(&seq);
    CU_ASSERT_EQUAL(during, 9u);
    /* the parent takes the record over: still odd, but another value, so
     * a reader that began during the dead write cannot mistake it */
    ph_shm_seq_write_begin(&seq);
    CU_ASSERT_EQUAL(atomic_load(&seq) % 2, 1u);
    CU_ASSERT_NOT_EQUAL(atomic_load(&seq), during);
    ph_shm_seq_write_end(&seq);
    CU_ASSERT_EQUAL(atomic_load(&seq) % 2, 0u);
    CU_ASSERT_EQUAL(ph_shm_seq_read_retry(&seq, during), 1);

    /* an end without a begin still leaves an even, newer value */
    seq = 10;
    ph_shm_seq_write_end(&seq);
    CU_ASSERT_EQUAL(atomic_load(&seq), 12u);
}

/* A record of four words a writer keeps equal, and a stop flag. */
typedef struct {
    _Atomic uint32_t seq;
    _Atomic int stop;
    uint64_t a, b, c, d;
} race_record;

static void writer_loop(race_record *r) __attribute__((noreturn));

static void writer_loop(race_record *r)
{
    uint64_t k = 0;

    while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
        k++;
        ph_shm_seq_write_begin(&r->seq);
        r->a = k;
        r->b = k;
        r->c = k;
        r->d = k;
        ph_shm_seq_write_end(&r->seq);
    }
    _exit(0);
}

static void test_reader_never_keeps_a_torn_copy(void)
{
    race_record *r = ph_shm_fx_shared_page(sizeof(*r));
    uint64_t reads = 0, retries = 0, torn = 0, raw_torn = 0, a, b, c, d;
    int64_t until;
    uint32_t start;
    int status;
    pid_t pid;

    fflush(NULL);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        writer_loop(r);
    }
    until = ph_shm_fx_now_ms() + RACE_MS;
    while (ph_shm_fx_now_ms() < until) {
        do {
            start = ph_shm_seq_read_begin(&r->seq);
            a = r->a;
            b = r->b;
            c = r->c;
            d = r->d;
            /* what a reader without the counter would have kept */
            raw_torn += a != b || b != c || c != d;
        } while (ph_shm_seq_read_retry(&r->seq, start) && ++retries);
        torn += a != b || b != c || c != d;
        reads++;
    }
    atomic_store(&r->stop, 1);
    CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    printf("(%llu reads, %llu retries, %llu torn copies caught) ",
           (unsigned long long)reads, (unsigned long long)retries,
           (unsigned long long)raw_torn);
    CU_ASSERT(reads > 0);
    CU_ASSERT(r->a > 0);                   /* the writer did write */
    CU_ASSERT_EQUAL(torn, 0u);
}

int ph_shm_test_register_seqlock(void)
{
    static const ph_shm_test tests[] = {
        { "write: odd, then even", test_write_makes_odd_then_even },
        { "read retry decision", test_read_retry },
        { "writer died mid-write", test_writer_died_mid_write },
        { "racing writer process: no torn copy kept",
          test_reader_never_keeps_a_torn_copy },
    };

    return ph_shm_test_add_suite("shm_seqlock", tests,
                                 sizeof(tests) / sizeof(tests[0]));
}
