/*
 * doorbell.c -- one doorbell per multiplexer index (doorbell.h draws the
 * design and the trust argument).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "httpd.h"

#include "doorbell.h"
#include "ph_segment.h"

/* The generation's doorbells in this process.  Written by the parent at
 * the start of a generation (or a factory once, at start), before any
 * child is forked; a child only closes entries, in its first steps. */
typedef struct bells {
    int n;
    int *fd;                    /* n entries, -1 when not held */
} bells;

static bells here = { 0, NULL };

static apr_status_t bells_cleanup(void *data)
{
    int i;

    (void)data;
    for (i = 0; i < here.n; i++) {
        if (here.fd[i] >= 0) {
            close(here.fd[i]);
        }
    }
    here.n = 0;
    here.fd = NULL;
    return APR_SUCCESS;
}

int ph_doorbells_create(apr_pool_t *pconf, int n)
{
    int i;

    here.fd = apr_palloc(pconf, sizeof(int) * (apr_size_t)(n > 0 ? n : 1));
    here.n = 0;
    apr_pool_cleanup_register(pconf, NULL, bells_cleanup,
                              apr_pool_cleanup_null);
    for (i = 0; i < n; i++) {
        if ((here.fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
            return errno;
        }
        here.n = i + 1;
    }
    return 0;
}

void ph_doorbells_adopt(int first, int n)
{
    int i;

    /* A factory's memory: allocated once for its life. */
    here.fd = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    here.n = here.fd ? n : 0;
    for (i = 0; i < here.n; i++) {
        here.fd[i] = first + i;
    }
}

int ph_doorbells_count(void)
{
    return here.n;
}

int ph_doorbell_fd(int k)
{
    return k >= 0 && k < here.n ? here.fd[k] : -1;
}

void ph_doorbells_keep_only(int mux_index)
{
    int i;

    for (i = 0; i < here.n; i++) {
        if (i != mux_index && here.fd[i] >= 0) {
            close(here.fd[i]);
            here.fd[i] = -1;
        }
    }
}

void ph_doorbells_close_all(void)
{
    ph_doorbells_keep_only(-1);
}

static void ring(int fd)
{
    uint64_t one = 1;
    ssize_t ignored = write(fd, &one, sizeof(one));
    (void)ignored;
}

void ph_doorbells_ring(int env_index, int all)
{
    int k, env_slot = ph_segment_env_slot(env_index);

    for (k = 0; k < here.n; k++) {
        ph_shm_partition *part;

        if (here.fd[k] < 0) {
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
            ring(here.fd[k]);
        }
    }
}

void ph_doorbell_reset(int fd)
{
    uint64_t count;

    while (read(fd, &count, sizeof(count)) < 0 && errno == EINTR) {
        ;
    }
}
