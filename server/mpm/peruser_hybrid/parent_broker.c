/*
 * parent_broker.c -- the parent's side of the send-end broker (broker.h
 * draws the protocol and the trust argument).
 *
 * One record per generation whose multiplexers may still ask: the current
 * one, and older ones kept in ph_retained (this module is reloaded on a
 * restart; the records are malloc'd) until their last multiplexer is
 * reaped.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpd.h"
#include "http_log.h"
#include "http_main.h"

#include "broker.h"
#include "ph_env.h"
#include "ph_log.h"
#include "ph_magic.h"
#include "ph_parent.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

#define BROKER_GEN_MAGIC 0x50484247u    /* "PHBG" */

typedef struct ph_broker_gen {
    unsigned magic;
    ap_generation_t gen;
    int n;                      /* sockets: one per multiplexer index */
    int *ask;                   /* our ends, n */
    int *mux_end;               /* theirs, n (-1 once given away) */
    int nenvs;
    int *ends;                  /* 2 per environment: channel send end,
                                 * answer channel send end; NULL while
                                 * current (then in ph_envs) */
    struct ph_broker_gen *next;
} ph_broker_gen;

static ph_broker_gen *current;  /* this generation's, in this process */

static void close_all(int *fds, int n)
{
    int i;

    for (i = 0; fds && i < n; i++) {
        if (fds[i] >= 0) {
            close(fds[i]);
            fds[i] = -1;
        }
    }
}

static void gen_free(ph_broker_gen *g)
{
    PH_CHECK_MAGIC(g, BROKER_GEN_MAGIC);
    close_all(g->ask, g->n);
    close_all(g->mux_end, g->n);
    close_all(g->ends, 2 * g->nenvs);
    free(g->ask);
    free(g->mux_end);
    free(g->ends);
    g->magic = 0;
    free(g);
}

static ph_broker_gen *gen_new(int n)
{
    ph_broker_gen *g = calloc(1, sizeof(*g));
    int k;

    if (!g) {
        return NULL;
    }
    g->magic = BROKER_GEN_MAGIC;
    g->ask = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    g->mux_end = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    if (!g->ask || !g->mux_end) {
        gen_free(g);
        return NULL;
    }
    for (k = 0; k < n; k++) {
        g->ask[k] = g->mux_end[k] = -1;
    }
    g->n = n;
    return g;
}

int ph_broker_generation_start(int n)
{
    ph_retained *r = ph_retained_state;
    int k, sv[2];

    if (current) {
        gen_free(current);      /* a generation that never ran */
    }
    if (!(current = gen_new(n))) {
        return ENOMEM;
    }
    current->gen = r->mpm->my_generation;
    current->nenvs = ph_envs->nelts;
    for (k = 0; k < n; k++) {
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC
                       | SOCK_NONBLOCK, 0, sv) != 0) {
            return errno;
        }
        current->ask[k] = sv[0];
        current->mux_end[k] = sv[1];
    }
    return 0;
}

int ph_broker_count(void)
{
    return current ? current->n : 0;
}

int ph_broker_mux_fd(int k)
{
    return current && k >= 0 && k < current->n ? current->mux_end[k] : -1;
}

void ph_broker_generation_end(void)
{
    ph_retained *r = ph_retained_state;
    ph_broker_gen *g = current;
    int i;

    if (!g) {
        return;
    }
    current = NULL;
    /* No multiplexer of this generation is started any more. */
    close_all(g->mux_end, g->n);
    g->ends = malloc(sizeof(int) * (size_t)(2 * g->nenvs + 1));
    if (!g->ends) {
        gen_free(g);            /* its multiplexers get EOF: they answer
                                 * what they cannot hand off */
        return;
    }
    for (i = 0; i < g->nenvs; i++) {
        ph_env *env = APR_ARRAY_IDX(ph_envs, i, ph_env *);
        g->ends[2 * i] = env->chan[0];
        g->ends[2 * i + 1] = env->answer[0];
        env->chan[0] = env->answer[0] = -1;
    }
    g->next = r->old_brokers;
    r->old_brokers = g;
}

static int gen_has_multiplexer(ap_generation_t gen)
{
    ph_retained *r = ph_retained_state;
    int i;

    for (i = 0; i < r->max_slot_used; i++) {
        if (r->slots[i].pid && r->slots[i].type == PH_CHILD_MUX
            && r->slots[i].gen == gen) {
            return 1;
        }
    }
    return 0;
}

void ph_broker_tidy(void)
{
    ph_retained *r = ph_retained_state;
    ph_broker_gen **pp = (ph_broker_gen **)&r->old_brokers;

    while (*pp) {
        ph_broker_gen *g = *pp;
        if (gen_has_multiplexer(g->gen)) {
            pp = &g->next;
            continue;
        }
        *pp = g->next;
        gen_free(g);
    }
}

/* The two send ends of environment i of generation g, or -1s. */
static void ends_of(const ph_broker_gen *g, int i, int *chan, int *answer)
{
    *chan = *answer = -1;
    if (i < 0 || i >= g->nenvs) {
        return;
    }
    if (g->ends) {
        *chan = g->ends[2 * i];
        *answer = g->ends[2 * i + 1];
        return;
    }
    if (i < ph_envs->nelts) {
        ph_env *env = APR_ARRAY_IDX(ph_envs, i, ph_env *);
        /* Made now if nobody needed them before (logged if it fails:
         * then ENOENT, and the multiplexer answers 503 itself) */
        ph_channels_open(env);
        *chan = env->chan[0];
        *answer = env->answer[0];
    }
}

static void answer(int fd, int env_index, int chan, int ans)
{
    ph_broker_msg m;
    int fds[2] = { chan, ans }, rv;

    memset(&m, 0, sizeof(m));
    m.magic = PH_BROKER_MAGIC;
    m.kind = PH_BROKER_ENDS;
    m.env_index = env_index;
    m.status = chan >= 0 && ans >= 0 ? 0 : ENOENT;
    /* Never blocks: an answer that does not fit is dropped, and the
     * multiplexer asks again (broker.h). */
    rv = ph_broker_send(fd, &m, fds, m.status == 0 ? 2 : 0);
    if (rv != 0 && rv != EAGAIN && rv != EPIPE && rv != ECONNRESET) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, rv, ap_server_conf,
                     PHLOGNO(00170) "cannot answer a multiplexer's request "
                     "for the send ends of environment %d", env_index);
    }
}

/* Serve what multiplexer k of generation g asked, PH_BROKER_BATCH at most. */
static void serve(ph_broker_gen *g, int k)
{
    int i;

    PH_CHECK_MAGIC(g, BROKER_GEN_MAGIC);
    for (i = 0; i < PH_BROKER_BATCH; i++) {
        ph_broker_msg m;
        int chan, ans, fds[PH_BROKER_MAX_FDS], nfds, j;
        int rv = ph_broker_recv(g->ask[k], &m, fds, &nfds);

        if (rv == EAGAIN) {
            return;     /* nothing more */
        }
        if (rv != 0 && rv != EPROTO) {
            /* No multiplexer holds the other end any more (an older
             * generation's: this process closed its copy): polling it
             * would report the hang-up on every wait. */
            close(g->ask[k]);
            g->ask[k] = -1;
            return;
        }
        for (j = 0; j < nfds; j++) {
            close(fds[j]);      /* a request carries none */
        }
        if (rv != 0 || nfds || m.magic != PH_BROKER_MAGIC
            || m.kind != PH_BROKER_ASK) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ap_server_conf,
                         PHLOGNO(00171) "multiplexer %d of generation %d "
                         "sent a malformed request; ignored", k,
                         (int)g->gen);
            continue;
        }
        ends_of(g, m.env_index, &chan, &ans);
        answer(g->ask[k], m.env_index, chan, ans);
    }
}

#define BROKER_MAX_POLL 2048    /* 2 generations of MaxMultiplexers */

int ph_broker_wait(int extra_fd, int timeout_ms)
{
    ph_retained *r = ph_retained_state;
    struct pollfd pfd[BROKER_MAX_POLL];
    ph_broker_gen *owner[BROKER_MAX_POLL];
    int index[BROKER_MAX_POLL];
    ph_broker_gen *g;
    int n = 0, i, k, extra = 0;

    pfd[n].fd = extra_fd;
    pfd[n].events = POLLIN;
    pfd[n].revents = 0;
    owner[n] = NULL;
    index[n++] = -1;
    for (g = current ? current : r->old_brokers; g;
         g = g == current ? r->old_brokers : g->next) {
        for (k = 0; k < g->n && n < BROKER_MAX_POLL; k++) {
            if (g->ask[k] < 0) {
                continue;
            }
            pfd[n].fd = g->ask[k];
            pfd[n].events = POLLIN;
            pfd[n].revents = 0;
            owner[n] = g;
            index[n++] = k;
        }
    }
    if (poll(pfd, (nfds_t)n, timeout_ms) <= 0) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!pfd[i].revents) {
            continue;
        }
        if (!owner[i]) {
            extra = 1;
        }
        else {
            serve(owner[i], index[i]);
        }
    }
    return extra;
}

void ph_broker_close_in_child(int mux_index)
{
    ph_retained *r = ph_retained_state;
    ph_broker_gen *g;
    int k;

    for (g = r->old_brokers; g; g = g->next) {
        close_all(g->ask, g->n);
        close_all(g->mux_end, g->n);
        close_all(g->ends, 2 * g->nenvs);
    }
    if (!current) {
        return;
    }
    close_all(current->ask, current->n);
    for (k = 0; k < current->n; k++) {
        if (k != mux_index && current->mux_end[k] >= 0) {
            close(current->mux_end[k]);
            current->mux_end[k] = -1;
        }
    }
}

void ph_broker_adopt(int first, int n)
{
    int k;

    if (current || !(current = gen_new(n))) {
        return;
    }
    for (k = 0; k < n; k++) {
        current->mux_end[k] = first + k;
    }
}
