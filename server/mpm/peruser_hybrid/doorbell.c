/*
 * doorbell.c -- one doorbell per multiplexer index and the hand-back
 * doorbell (doorbell.h draws the design and the trust argument).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpd.h"

#include "channel.h"
#include "doorbell.h"
#include "ph_segment.h"

/* The generation's doorbells in this process: the ring (send) end and the
 * watch (receive) end of each, -1 when not held; n - 1 is the hand-back
 * doorbell, 0 .. n - 2 the multiplexers'.  Written by the parent at
 * the start of a generation (or a factory once, at start), before any
 * child is forked; a child only closes entries, in its first steps. */
typedef struct bells {
    int n;
    int *ring;
    int *watch;
} bells;

static bells here = { 0, NULL, NULL };

static void close_entry(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

static apr_status_t bells_cleanup(void *data)
{
    int i;

    (void)data;
    for (i = 0; i < here.n; i++) {
        close_entry(&here.ring[i]);
        close_entry(&here.watch[i]);
    }
    here.n = 0;
    here.ring = here.watch = NULL;
    return APR_SUCCESS;
}

/* One doorbell: a SEQPACKET socketpair made one-way, so that a holder of
 * the ring end can neither read rings nor swallow them, and a holder of
 * the watch end cannot ring. */
static int bell_make(int *ring, int *watch)
{
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
                   sv) != 0) {
        return errno;
    }
    if (shutdown(sv[0], SHUT_RD) != 0 || shutdown(sv[1], SHUT_WR) != 0) {
        int rv = errno;
        close(sv[0]);
        close(sv[1]);
        return rv;
    }
    *ring = sv[0];
    *watch = sv[1];
    return 0;
}

/* The hand-back doorbell's index, -1 when none is held. */
static int handback_index(void)
{
    return here.n - 1;
}

int ph_doorbells_create(apr_pool_t *pconf, int muxes)
{
    int n = muxes + 1;
    apr_size_t size = sizeof(int) * (apr_size_t)n;
    int i, rv;

    ap_assert(muxes >= 0);

    here.ring = apr_palloc(pconf, size);
    here.watch = apr_palloc(pconf, size);
    here.n = 0;
    apr_pool_cleanup_register(pconf, NULL, bells_cleanup,
                              apr_pool_cleanup_null);
    for (i = 0; i < n; i++) {
        if ((rv = bell_make(&here.ring[i], &here.watch[i])) != 0) {
            return rv;
        }
        here.n = i + 1;
    }
    return 0;
}

void ph_doorbells_adopt(int first, int n, int watch_ends)
{
    int i;

    /* A factory's memory: allocated once for its life. */
    here.ring = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    here.watch = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    here.n = here.ring && here.watch ? n : 0;
    for (i = 0; i < here.n; i++) {
        here.ring[i] = watch_ends ? -1 : first + i;
        here.watch[i] = watch_ends ? first + i : -1;
    }
}

int ph_doorbells_count(void)
{
    return here.n;
}

int ph_doorbell_ring_fd(int k)
{
    return k >= 0 && k < here.n ? here.ring[k] : -1;
}

int ph_doorbell_watch_fd(int k)
{
    return k >= 0 && k < here.n ? here.watch[k] : -1;
}

int ph_doorbell_handback_watch_fd(void)
{
    return ph_doorbell_watch_fd(handback_index());
}

void ph_doorbells_keep_only(int mux_index)
{
    int i;

    for (i = 0; i < here.n; i++) {
        close_entry(&here.ring[i]);
        if (mux_index < 0
            || (i != mux_index && i != handback_index())) {
            close_entry(&here.watch[i]);
        }
    }
}

void ph_doorbells_keep_ring_ends(void)
{
    int i;

    for (i = 0; i < here.n; i++) {
        close_entry(&here.watch[i]);
    }
}

void ph_doorbells_close_all(void)
{
    ph_doorbells_keep_only(-1);
}

static void ring(int fd)
{
    char r = PH_DOORBELL_RING;
    ssize_t ignored;

    /* A full doorbell has rings waiting already: nothing is lost. */
    ignored = send(fd, &r, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)ignored;
}

void ph_doorbells_ring(int env_index, int all)
{
    int k, env_slot = ph_segment_env_slot(env_index);

    for (k = 0; k < handback_index(); k++) {
        ph_shm_partition *part;

        if (here.ring[k] < 0) {
            continue;
        }
        /* A multiplexer writes its partition's pending count; a wrong
         * figure only rings a doorbell in vain or not at all, and a
         * multiplexer looks at its waiting connections once a second
         * anyway (mux_main.c, expire). */
        part = all || env_slot < 0 ? NULL
               : ph_shm_partition_at(ph_segment, (uint32_t)k,
                                     (uint32_t)env_slot);
        if (!part || atomic_load(&part->pending) > 0) {
            ring(here.ring[k]);
        }
    }
}

int ph_doorbell_hand_back(int fd)
{
    char h = PH_DOORBELL_HAND_BACK;
    int k = handback_index();

    if (k < 0 || here.ring[k] < 0) {
        return EBADF;
    }
    return ph_send_with_fd(here.ring[k], &h, 1, fd);
}

int ph_doorbell_drain(int fd, void (*taken)(void *baton, int fd),
                      void *baton)
{
    int i;

    for (i = 0; i < PH_DOORBELL_DRAIN_MAX; i++) {
        char byte = 0;
        size_t n;
        int carried;

        if (ph_recv_with_fd(fd, &byte, 1, &n, &carried) != 0) {
            return 0;   /* drained (EAGAIN), or every ring end closed */
        }
        /* Taken only if it is exactly one socket of a HAND_BACK: with
         * any other message it is closed here, and a message with more
         * than one descriptor has them all closed by ph_recv_with_fd. */
        if (carried >= 0) {
            if (n == 1 && byte == PH_DOORBELL_HAND_BACK && taken) {
                taken(baton, carried);
            }
            else {
                close(carried);
            }
        }
    }
    return 1;
}
