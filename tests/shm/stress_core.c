/*
 * stress_core.c -- the producer and consumer loops of the ticket stress
 * test, its world (segment, ledger, channels) and the final check.  See
 * stress_core.h for the picture.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "stress_core.h"

typedef struct st_msg {
    uint64_t id, gen, serial;
} st_msg;

int64_t st_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double st_now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t slot_of(uint32_t mux, uint32_t env, uint32_t index)
{
    return (mux * ST_ENVS + env) * ST_TICKETS + index;
}

#define ADD(field) atomic_fetch_add_explicit(&(field), 1, memory_order_relaxed)

int st_world_open(st_world *w, uint64_t total, int64_t lost_after_ms,
                  uint32_t work_ns)
{
    ph_shm_geometry g = { ST_ENVS, ST_WORKERS, ST_MUXES, ST_TICKETS };
    int e, sv[2];

    memset(w, 0, sizeof(*w));
    for (e = 0; e < ST_ENVS; e++) {
        w->send_fd[e] = w->recv_fd[e] = -1;
    }
    snprintf(w->dir, sizeof(w->dir), "/dev/shm/ph_shm_stress.XXXXXX");
    if (mkdtemp(w->dir) == NULL) {
        perror("stress: mkdtemp");
        return -1;
    }
    snprintf(w->path, sizeof(w->path), "%s/segment", w->dir);
    if ((errno = ph_shm_create(&w->shm, w->path, &g, (gid_t)-1)) != 0) {
        perror("stress: ph_shm_create");
        return -1;
    }
    w->led_size = sizeof(st_ledger)
                  + (size_t)((total + 63) / 64) * sizeof(uint64_t);
    w->led = mmap(NULL, w->led_size, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (w->led == MAP_FAILED) {
        perror("stress: mmap ledger");
        w->led = NULL;
        return -1;
    }
    w->led->total = total;
    w->led->lost_after_ms = lost_after_ms;
    w->led->work_ns = work_ns;
    /* Like the real channel: one message per send, kept whole, and the
     * receive end survives any one consumer (the parent holds it). */
    for (e = 0; e < ST_ENVS; e++) {
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
            perror("stress: socketpair");
            return -1;
        }
        w->send_fd[e] = sv[0];
        w->recv_fd[e] = sv[1];
    }
    return 0;
}

void st_close_sends(st_world *w)
{
    int e;

    for (e = 0; e < ST_ENVS; e++) {
        if (w->send_fd[e] >= 0) {
            close(w->send_fd[e]);
            w->send_fd[e] = -1;
        }
    }
}

void st_world_close(st_world *w)
{
    int e;

    st_close_sends(w);
    for (e = 0; e < ST_ENVS; e++) {
        if (w->recv_fd[e] >= 0) {
            close(w->recv_fd[e]);
        }
    }
    if (w->led != NULL) {
        munmap(w->led, w->led_size);
    }
    ph_shm_unlink_env_files(&w->shm);
    ph_shm_unmap(&w->shm);
    unlink(w->path);
    rmdir(w->dir);
}

/* ---- producer ----------------------------------------------------------- */

typedef struct producer {
    st_world *w;
    uint32_t mux;
    pid_t pid;
    st_stats *stats;
    st_msg batch[ST_ENVS][ST_BATCH];
    int n[ST_ENVS];
    int waiting[ST_ENVS];
} producer;

static void send_batch(producer *p, uint32_t e)
{
    size_t len = (size_t)p->n[e] * sizeof(st_msg);
    ssize_t sent;

    if (p->n[e] == 0) {
        return;
    }
    do {
        sent = send(p->w->send_fd[e], p->batch[e], len, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    if (sent != (ssize_t)len) {
        ADD(p->stats->errors);
    }
    p->n[e] = 0;
}

static void send_all(producer *p)
{
    uint32_t e;

    for (e = 0; e < ST_ENVS; e++) {
        send_batch(p, e);
    }
}

/* A connection for env e waits in this multiplexer: the figures a monitor
 * shows, kept as the MPM keeps them (and the sweep repairs them). */
static void wait_begin(producer *p, uint32_t e)
{
    ph_shm_partition *part = ph_shm_partition_at(&p->w->shm, p->mux, e);

    if (p->waiting[e]) {
        return;
    }
    p->waiting[e] = 1;
    atomic_fetch_add(&part->pending, 1);
    atomic_fetch_add(&ph_shm_env_stats_at(&p->w->shm, e)->queue_depth, 1);
    atomic_store(&part->oldest_wait_since_ms, st_now_ms());
}

static void wait_end(producer *p, uint32_t e)
{
    ph_shm_partition *part = ph_shm_partition_at(&p->w->shm, p->mux, e);

    if (!p->waiting[e]) {
        return;
    }
    p->waiting[e] = 0;
    atomic_store(&part->oldest_wait_since_ms, 0);
    atomic_fetch_sub(&ph_shm_env_stats_at(&p->w->shm, e)->queue_depth, 1);
    atomic_fetch_sub(&part->pending, 1);
}

/*
 * Take back READY tickets nobody claimed for lost_after_ms: their message
 * went to a consumer that was killed before its claim (the MPM's
 * multiplexers do the same, after 60 s).  Returns the tickets of this
 * producer that are not FREE.
 */
static unsigned reclaim_lost(producer *p)
{
    int64_t cutoff = st_now_ms() - p->w->led->lost_after_ms;
    unsigned busy = 0;
    ph_shm_ticket *tk;
    ph_ticket_ref t;
    uint32_t e, i;
    uint64_t word;

    for (e = 0; e < ST_ENVS; e++) {
        for (i = 0; i < ST_TICKETS; i++) {
            tk = ph_shm_ticket_at(&p->w->shm, p->mux, e, i);
            word = atomic_load(&tk->word);
            if (PH_TICKET_STATE(word) == PH_TICKET_FREE) {
                continue;
            }
            busy++;
            if (p->w->led->lost_after_ms == 0
                || PH_TICKET_STATE(word) != PH_TICKET_READY
                || atomic_load(&tk->ready_at_ms) > cutoff) {
                continue;
            }
            t.mux = p->mux;
            t.env = e;
            t.index = i;
            t.gen = PH_TICKET_GEN(word);
            if (ph_ticket_retract(&p->w->shm, &t) == 0) {
                ADD(p->stats->retracted_lost);
                busy--;
            }
        }
    }
    return busy;
}

void st_producer(st_world *w, uint32_t mux, pid_t pid)
{
    st_ledger *led = w->led;
    producer p;
    ph_ticket_ref t;
    uint64_t serial;
    uint32_t e = 0, u, slot;

    memset(&p, 0, sizeof(p));
    p.w = w;
    p.mux = mux;
    p.pid = pid;
    p.stats = &led->stats[mux];
    for (u = 0; u < ST_ENVS; u++) {
        atomic_store(&ph_shm_partition_at(&w->shm, mux, u)->mux_pid,
                     (uint32_t)pid);
    }
    for (;;) {
        e = (e + 1) % ST_ENVS;      /* never stuck on one environment */
        if (ph_ticket_alloc(&w->shm, mux, e, pid, &t) != 0) {
            /* All of this partition's tickets are out: hand over what
             * is batched, then give the consumers the CPU. */
            send_all(&p);
            wait_begin(&p, e);
            ADD(p.stats->full_waits);
            reclaim_lost(&p);
            sched_yield();
            continue;
        }
        wait_end(&p, e);
        serial = atomic_fetch_add(&led->next_serial, 1);
        if (serial >= led->total) {
            if (ph_ticket_retract(&w->shm, &t) != 0) {
                ADD(p.stats->errors);
            }
            ADD(p.stats->retracted_end);
            break;
        }
        slot = slot_of(mux, e, t.index);
        led->payload[slot] = serial;    /* published by the release CAS */
        if (ph_ticket_publish(&w->shm, &t, st_now_ms()) != 0) {
            ADD(p.stats->errors);
            break;
        }
        ADD(p.stats->published);
        p.batch[e][p.n[e]].id = ph_ticket_id(&t);
        p.batch[e][p.n[e]].gen = t.gen;
        p.batch[e][p.n[e]].serial = serial;
        if (++p.n[e] == ST_BATCH) {
            send_batch(&p, e);
        }
    }
    send_all(&p);
    for (u = 0; u < ST_ENVS; u++) {
        wait_end(&p, u);
    }
    /* A clean exit: wait until every ticket handed out came back. */
    while (reclaim_lost(&p) != 0) {
        usleep(200);
    }
    for (u = 0; u < ST_ENVS; u++) {
        uint32_t owner = (uint32_t)pid;

        atomic_compare_exchange_strong(
            &ph_shm_partition_at(&w->shm, mux, u)->mux_pid, &owner, 0);
    }
}

/* ---- consumer ----------------------------------------------------------- */

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Work while holding the claim: a backlog builds up in the channels, so a
 * producer killed meanwhile leaves messages whose tickets its sweep frees
 * (stale claims), and a consumer killed meanwhile holds a CLAIMED ticket
 * for the sweep. */
static void work(uint32_t ns)
{
    double until;

    if (ns == 0) {
        return;
    }
    until = now_ns() + ns;
    while (now_ns() < until) {
    }
}

/* Everything the ledger can say about one claimed ticket. */
static void check_claimed(st_world *w, st_stats *s, const ph_ticket_ref *t,
                          const st_msg *m, int32_t tag)
{
    st_ledger *led = w->led;
    uint32_t slot = slot_of(t->mux, t->env, t->index);
    uint64_t bit, old;
    int32_t expect = 0;

    if (!atomic_compare_exchange_strong(&led->holder[slot], &expect, tag)) {
        ADD(s->owner_clash);
    }
    if (led->payload[slot] != m->serial) {
        ADD(s->payload_bad);
    }
    if (m->serial >= led->total) {
        ADD(s->errors);
    }
    else {
        bit = (uint64_t)1 << (m->serial % 64);
        old = atomic_fetch_or(&led->claimed_bits[m->serial / 64], bit);
        if (old & bit) {
            ADD(s->double_claims);
        }
    }
    ADD(s->claimed);
    expect = tag;
    if (!atomic_compare_exchange_strong(&led->holder[slot], &expect, 0)) {
        ADD(s->owner_clash);
    }
}

void st_consumer(st_world *w, uint32_t env, int wslot, pid_t pid,
                 int32_t tag)
{
    st_stats *s = &w->led->stats[wslot];
    st_msg buf[ST_BATCH];
    ph_ticket_ref t;
    ssize_t got;
    size_t i, n;

    for (;;) {
        got = recv(w->recv_fd[env], buf, sizeof(buf), 0);
        if (got == 0) {
            return;                     /* every producer has gone */
        }
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            ADD(s->errors);
            return;
        }
        if (got % (ssize_t)sizeof(st_msg) != 0) {
            ADD(s->errors);
            continue;
        }
        n = (size_t)got / sizeof(st_msg);
        for (i = 0; i < n; i++) {
            /* our own environment, not the message's word for it */
            ph_ticket_from_id(buf[i].id, buf[i].gen, env, &t);
            if (ph_ticket_claim(&w->shm, &t, pid) != 0) {
                ADD(s->stale);
                continue;
            }
            if (t.mux >= ST_MUXES || t.index >= ST_TICKETS) {
                ADD(s->errors);         /* claim accepted a bad ref */
                continue;
            }
            check_claimed(w, s, &t, &buf[i], tag);
            work(w->led->work_ns);
            if (ph_ticket_release(&w->shm, &t) != 0) {
                ADD(s->release_failed);
            }
            else {
                ADD(s->released);
            }
        }
    }
}

void st_forget_holder(st_world *w, int32_t tag)
{
    uint32_t i;
    int32_t expect;

    for (i = 0; i < ST_SLOTS; i++) {
        expect = tag;
        atomic_compare_exchange_strong(&w->led->holder[i], &expect, 0);
    }
}

/* ---- the final check ------------------------------------------------------ */

void st_totals_get(const st_world *w, st_totals *t)
{
    const st_stats *s;
    int i;

    memset(t, 0, sizeof(*t));
    for (i = 0; i < ST_WORKERS; i++) {
        s = &w->led->stats[i];
        t->published += atomic_load(&s->published);
        t->claimed += atomic_load(&s->claimed);
        t->stale += atomic_load(&s->stale);
        t->released += atomic_load(&s->released);
        t->release_failed += atomic_load(&s->release_failed);
        t->retracted_lost += atomic_load(&s->retracted_lost);
        t->retracted_end += atomic_load(&s->retracted_end);
        t->double_claims += atomic_load(&s->double_claims);
        t->payload_bad += atomic_load(&s->payload_bad);
        t->owner_clash += atomic_load(&s->owner_clash);
        t->full_waits += atomic_load(&s->full_waits);
        t->errors += atomic_load(&s->errors);
    }
}

#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(out, "  CHECK FAILED: " __VA_ARGS__);                   \
            fputc('\n', out);                                               \
            failed++;                                                       \
        }                                                                   \
    } while (0)

static int64_t abs64(int64_t v)
{
    return v < 0 ? -v : v;
}

int st_verify(st_world *w, const st_expect *x, FILE *out)
{
    uint64_t not_free = 0, gen_sum = 0, bits = 0, counted, word, i;
    uint32_t m, e, k;
    ph_shm_partition *part;
    int64_t drift = (int64_t)x->kills;
    st_totals t;
    int failed = 0;

    st_totals_get(w, &t);
    for (m = 0; m < ST_MUXES; m++) {
        for (e = 0; e < ST_ENVS; e++) {
            for (k = 0; k < ST_TICKETS; k++) {
                word = atomic_load(&ph_shm_ticket_at(&w->shm, m, e, k)->word);
                not_free += PH_TICKET_STATE(word) != PH_TICKET_FREE;
                gen_sum += PH_TICKET_GEN(word) - PH_TICKET_GEN_FIRST;
            }
            part = ph_shm_partition_at(&w->shm, m, e);
            CHECK(atomic_load(&part->pending) == 0,
                  "partition (%u, %u) pending %d", m, e,
                  atomic_load(&part->pending));
            CHECK(atomic_load(&part->mux_pid) == 0,
                  "partition (%u, %u) still owned by %u", m, e,
                  atomic_load(&part->mux_pid));
        }
    }
    for (i = 0; i < (w->led->total + 63) / 64; i++) {
        bits += (uint64_t)__builtin_popcountll(
            atomic_load(&w->led->claimed_bits[i]));
    }
    counted = t.released + t.retracted_lost + t.retracted_end + x->swept;

    /* never, whatever was killed */
    CHECK(not_free == 0, "%llu tickets not FREE at the end",
          (unsigned long long)not_free);
    CHECK(t.double_claims == 0, "%llu tickets claimed twice",
          (unsigned long long)t.double_claims);
    CHECK(t.owner_clash == 0, "%llu slots with two owners at once",
          (unsigned long long)t.owner_clash);
    CHECK(t.payload_bad == 0, "%llu claims saw another ticket's payload",
          (unsigned long long)t.payload_bad);
    CHECK(t.release_failed == 0, "%llu releases of claimed tickets failed",
          (unsigned long long)t.release_failed);
    CHECK(t.errors == 0, "%llu errors", (unsigned long long)t.errors);
    /* every return to FREE added one generation; a killed participant
     * may have made its last transition without counting it */
    CHECK(gen_sum >= counted && gen_sum <= counted + x->kills,
          "generations advanced %llu times, transitions to FREE counted "
          "%llu", (unsigned long long)gen_sum, (unsigned long long)counted);
    CHECK(bits >= t.claimed && bits <= t.claimed + x->kills,
          "%llu serials claimed, %llu claims counted",
          (unsigned long long)bits, (unsigned long long)t.claimed);
    for (e = 0; e < ST_ENVS; e++) {
        ph_shm_env_stats *env = ph_shm_env_stats_at(&w->shm, e);

        /* in_flight and queue_depth are updated beside the CAS, so a kill
         * between the two can leave each off by one */
        CHECK(abs64(atomic_load(&env->in_flight)) <= drift,
              "env %u in_flight %d", e, atomic_load(&env->in_flight));
        CHECK(abs64(atomic_load(&env->queue_depth)) <= drift,
              "env %u queue_depth %d", e, atomic_load(&env->queue_depth));
    }
    if (x->exact) {
        CHECK(t.published == w->led->total && t.claimed == w->led->total
              && t.released == w->led->total && bits == w->led->total,
              "total %llu: published %llu, claimed %llu, released %llu, "
              "distinct serials claimed %llu",
              (unsigned long long)w->led->total,
              (unsigned long long)t.published,
              (unsigned long long)t.claimed, (unsigned long long)t.released,
              (unsigned long long)bits);
        CHECK(t.stale == 0 && t.retracted_lost == 0 && x->swept == 0,
              "stale claims %llu, lost tickets %llu, swept %llu without a "
              "kill", (unsigned long long)t.stale,
              (unsigned long long)t.retracted_lost,
              (unsigned long long)x->swept);
    }
    else {
        CHECK(t.published <= w->led->total && t.claimed <= t.published,
              "published %llu, claimed %llu of %llu",
              (unsigned long long)t.published,
              (unsigned long long)t.claimed,
              (unsigned long long)w->led->total);
    }
    return failed;
}
