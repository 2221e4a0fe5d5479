/*
 * stress_tickets.c -- the ticket handoff between processes, as in the
 * MPM: 2 producer ("multiplexer") processes, each owning its partition of
 * 2 environments, hand tickets over SOCK_SEQPACKET channels to 4 consumer
 * ("processor") processes, 2 per environment, which claim and release
 * them.  The parent forks them, holds both ends of every channel (as the
 * MPM's parent holds each channel's receive end), reaps, and sweeps every
 * reaped pid.
 *
 *   plain  1,000,000 tickets, nobody dies: every figure must balance.
 *   kill   SIGKILL to producers and consumers at points spread over the
 *          run (victims and timing from a fixed seed); the parent reaps,
 *          sweeps the pid and starts a replacement.  At the end every slot
 *          must be FREE and no ticket claimed twice; claims that fail as
 *          stale are counted, not errors.
 *
 * A hard timeout (SIGALRM) kills everything and fails the run.
 *
 *   shm_stress [--tickets N] [--kill-tickets N] [--kills N] [--seed N]
 *              [--timeout S] [--only plain|kill]
 *
 * Exit status 0 if every check of every variant run passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stress_core.h"

typedef enum { ROLE_PRODUCER, ROLE_CONSUMER } role;

/* One participant: worker slot w is producer w (w < ST_MUXES) or consumer
 * w - ST_MUXES of environment (w - ST_MUXES) / ST_PER_ENV. */
typedef struct worker {
    pid_t pid;              /* 0: not running */
    int finished;           /* ended by itself, successfully */
    unsigned kills;
} worker;

typedef struct run_state {
    st_world w;
    worker workers[ST_WORKERS];
    uint64_t sweeps, swept, kills, kills_producer, kills_consumer;
    uint64_t restarts, bad_exits;
    int draining;           /* producers done, send ends closed */
} run_state;

typedef struct options {
    uint64_t tickets, kill_tickets;
    unsigned kills, seed, timeout_s;
    const char *only;
} options;

/* For the SIGALRM handler: the pids to kill. */
static volatile pid_t timeout_pids[ST_WORKERS];
static const char *timeout_variant = "";

static void on_timeout(int sig)
{
    static const char msg[] = "\nshm_stress: HARD TIMEOUT, killing the "
                              "participants; FAILED\n";
    int i;

    (void)sig;
    for (i = 0; i < ST_WORKERS; i++) {
        if (timeout_pids[i] > 0) {
            kill(timeout_pids[i], SIGKILL);
        }
    }
    if (write(2, msg, sizeof(msg) - 1) < 0) {
        /* nothing left to tell */
    }
    if (write(2, timeout_variant, strlen(timeout_variant)) < 0) {
        /* idem */
    }
    _exit(3);
}

static role role_of(int slot)
{
    return slot < ST_MUXES ? ROLE_PRODUCER : ROLE_CONSUMER;
}

static uint32_t env_of(int slot)
{
    return (uint32_t)(slot - ST_MUXES) / ST_PER_ENV;
}

static void spawn(run_state *rs, int slot)
{
    st_world *w = &rs->w;
    pid_t pid;

    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        perror("shm_stress: fork");
        exit(2);
    }
    if (pid == 0) {
        if (role_of(slot) == ROLE_PRODUCER) {
            st_producer(w, (uint32_t)slot, getpid());
        }
        else {
            /* a consumer must not hold a send end, or it would never see
             * the end of the stream */
            st_close_sends(w);
            st_consumer(w, env_of(slot), slot, getpid(), (int32_t)getpid());
        }
        _exit(0);
    }
    rs->workers[slot].pid = pid;
    timeout_pids[slot] = pid;
}

static int slot_of_pid(const run_state *rs, pid_t pid)
{
    int i;

    for (i = 0; i < ST_WORKERS; i++) {
        if (rs->workers[i].pid == pid) {
            return i;
        }
    }
    return -1;
}

/*
 * A participant ended: forget its ledger holds, sweep its pid as the MPM's
 * parent does for every reaped child, and start a replacement if it was
 * killed.  Returns its slot, or -1 for a pid that is not ours.
 */
static int reaped(run_state *rs, pid_t pid, int status)
{
    int slot = slot_of_pid(rs, pid);
    worker *wk;
    uint32_t e;

    if (slot < 0) {
        return -1;
    }
    wk = &rs->workers[slot];
    wk->pid = 0;
    timeout_pids[slot] = 0;
    st_forget_holder(&rs->w, (int32_t)pid);
    /* as the parent does for a dead multiplexer: every env region (a
     * worker here may have played both roles) */
    for (e = 0; e < rs->w.shm.geom.envs; e++) {
        rs->swept += ph_ticket_sweep_env(&rs->w.shm, e, pid);
    }
    rs->sweeps++;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        wk->finished = 1;
        return slot;
    }
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
        fprintf(stderr, "shm_stress: worker %d (pid %ld) ended badly "
                "(status 0x%x)\n", slot, (long)pid, (unsigned)status);
        rs->bad_exits++;
        return slot;
    }
    /* killed: replaced, unless it was a producer and the producers are
     * all done (cannot happen: we stop killing before) */
    if (role_of(slot) == ROLE_CONSUMER || !rs->draining) {
        rs->restarts++;
        spawn(rs, slot);
    }
    return slot;
}

static int producers_done(const run_state *rs)
{
    int i;

    for (i = 0; i < ST_MUXES; i++) {
        if (!rs->workers[i].finished) {
            return 0;
        }
    }
    return 1;
}

static int all_done(const run_state *rs)
{
    int i;

    for (i = 0; i < ST_WORKERS; i++) {
        if (rs->workers[i].pid != 0) {
            return 0;
        }
    }
    return 1;
}

/* A running, unfinished participant picked by the seeded generator. */
static int pick_victim(run_state *rs, unsigned *seed)
{
    int tries, slot;

    for (tries = 0; tries < 64; tries++) {
        slot = (int)(rand_r(seed) % ST_WORKERS);
        if (rs->workers[slot].pid != 0 && !rs->workers[slot].finished) {
            return slot;
        }
    }
    return -1;
}

static void print_totals(const run_state *rs, const char *variant,
                         double secs)
{
    st_totals t;

    st_totals_get(&rs->w, &t);
    printf("%s: %llu tickets moved (claimed) of %llu published in %.2f s: "
           "%.0f tickets/s\n", variant, (unsigned long long)t.claimed,
           (unsigned long long)t.published, secs, (double)t.claimed / secs);
    printf("%s: kills %llu (producers %llu, consumers %llu), restarts %llu,"
           " sweeps %llu freeing %llu tickets, stale claims %llu, "
           "lost tickets retracted %llu, partition-full waits %llu\n",
           variant, (unsigned long long)rs->kills,
           (unsigned long long)rs->kills_producer,
           (unsigned long long)rs->kills_consumer,
           (unsigned long long)rs->restarts,
           (unsigned long long)rs->sweeps, (unsigned long long)rs->swept,
           (unsigned long long)t.stale,
           (unsigned long long)t.retracted_lost,
           (unsigned long long)t.full_waits);
}

/*
 * One variant.  kills == 0: plain.  Kill i happens when the producers have
 * taken the i-th of kills + 1 equal shares of the serials (plus a seeded
 * jitter), so every kill lands while tickets are moving whatever the
 * machine's speed.
 */
static int run_variant(const char *variant, uint64_t tickets,
                       unsigned kills, unsigned seed, unsigned timeout_s)
{
    run_state rs;
    st_expect x;
    double t0;
    uint64_t next_kill_at = UINT64_MAX, progress;
    int i, status, failed;
    pid_t pid;

    memset(&rs, 0, sizeof(rs));
    /* lost READY tickets (their consumer was killed holding the message)
     * are taken back after 300 ms, and consumers work 4 us a ticket so
     * that channels hold a backlog when someone is killed; neither in the
     * plain run */
    if (st_world_open(&rs.w, tickets, kills ? 300 : 0, kills ? 4000 : 0)
        != 0) {
        return 1;
    }
    timeout_variant = variant;
    signal(SIGALRM, on_timeout);
    alarm(timeout_s);
    t0 = st_now_s();
    for (i = 0; i < ST_WORKERS; i++) {
        spawn(&rs, i);
    }
    if (kills) {
        next_kill_at = tickets / (kills + 1);
    }
    while (!all_done(&rs)) {
        pid = waitpid(-1, &status, kills ? WNOHANG : 0);
        if (pid < 0 && errno != EINTR) {
            perror("shm_stress: waitpid");
            break;
        }
        if (pid > 0) {
            reaped(&rs, pid, status);
        }
        if (!rs.draining && producers_done(&rs)) {
            /* the end of the stream for the consumers */
            st_close_sends(&rs.w);
            rs.draining = 1;
        }
        if (pid > 0 || !kills) {
            continue;
        }
        progress = atomic_load(&rs.w.led->next_serial);
        if (rs.kills < kills && progress >= next_kill_at) {
            int slot = pick_victim(&rs, &seed);

            if (slot >= 0) {
                pid_t victim = rs.workers[slot].pid;

                /* reaped and swept at once, as the MPM's parent does on
                 * SIGCHLD: the victim's tickets are freed while the
                 * consumers still hold its messages */
                kill(victim, SIGKILL);
                while (waitpid(victim, &status, 0) < 0 && errno == EINTR) {
                }
                reaped(&rs, victim, status);
                rs.kills++;
                rs.workers[slot].kills++;
                if (role_of(slot) == ROLE_PRODUCER) {
                    rs.kills_producer++;
                }
                else {
                    rs.kills_consumer++;
                }
            }
            next_kill_at = tickets / (kills + 1) * (rs.kills + 1)
                           + rand_r(&seed) % (tickets / (kills + 1) / 4 + 1);
        }
        usleep(200);
    }
    alarm(0);
    print_totals(&rs, variant, st_now_s() - t0);
    x.exact = kills == 0;
    x.kills = rs.kills;
    x.swept = rs.swept;
    failed = st_verify(&rs.w, &x, stdout);
    if (rs.bad_exits) {
        printf("  CHECK FAILED: %llu participants ended badly\n",
               (unsigned long long)rs.bad_exits);
        failed++;
    }
    if (kills && rs.kills < kills) {
        printf("  CHECK FAILED: only %llu of %u kills happened\n",
               (unsigned long long)rs.kills, kills);
        failed++;
    }
    printf("%s: %s\n", variant, failed ? "FAILED" : "passed");
    st_world_close(&rs.w);
    return failed != 0;
}

static int parse(int argc, char **argv, options *o)
{
    int i;

    o->tickets = 1000000;
    o->kill_tickets = 400000;
    o->kills = 60;
    o->seed = 20261122;
    o->timeout_s = 120;
    o->only = NULL;
    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--tickets") == 0) {
            o->tickets = strtoull(argv[i + 1], NULL, 10);
        }
        else if (strcmp(argv[i], "--kill-tickets") == 0) {
            o->kill_tickets = strtoull(argv[i + 1], NULL, 10);
        }
        else if (strcmp(argv[i], "--kills") == 0) {
            o->kills = (unsigned)strtoul(argv[i + 1], NULL, 10);
        }
        else if (strcmp(argv[i], "--seed") == 0) {
            o->seed = (unsigned)strtoul(argv[i + 1], NULL, 10);
        }
        else if (strcmp(argv[i], "--timeout") == 0) {
            o->timeout_s = (unsigned)strtoul(argv[i + 1], NULL, 10);
        }
        else if (strcmp(argv[i], "--only") == 0) {
            o->only = argv[i + 1];
        }
        else {
            return -1;
        }
    }
    if (i != argc || o->tickets == 0 || o->kill_tickets == 0
        || o->kills == 0 || o->timeout_s == 0) {
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    options o;
    int failed = 0;

    if (parse(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: %s [--tickets N] [--kill-tickets N] "
                "[--kills N] [--seed N] [--timeout S] "
                "[--only plain|kill]\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("shm_stress: %d producer and %d consumer processes, %d "
           "environments, %d tickets a partition, seed %u\n", ST_MUXES,
           ST_CONSUMERS, ST_ENVS, ST_TICKETS, o.seed);
    if (o.only == NULL || strcmp(o.only, "plain") == 0) {
        failed += run_variant("plain", o.tickets, 0, o.seed, o.timeout_s);
    }
    if (o.only == NULL || strcmp(o.only, "kill") == 0) {
        failed += run_variant("kill", o.kill_tickets, o.kills, o.seed,
                              o.timeout_s);
    }
    return failed ? 1 : 0;
}
