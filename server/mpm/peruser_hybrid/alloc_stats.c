/*
 * alloc_stats.c -- jemalloc in the children, when present (ph_alloc.h).
 */
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "httpd.h"
#include "http_log.h"
#include "http_main.h"

#include "ph_alloc.h"
#include "ph_clock.h"
#include "ph_log.h"
#include "ph_segment.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

#define PUBLISH_EVERY_MS 1000

typedef int (*mallctl_fn)(const char *name, void *oldp, size_t *oldlenp,
                          void *newp, size_t newlen);

/* Per process (each child has its own copy after fork): set by
 * ph_alloc_child_init, then used by the child's event-loop thread only. */
typedef struct alloc_state {
    mallctl_fn mallctl;         /* NULL: not jemalloc */
    int slot;                   /* -1: not a child */
    long long next_ms;          /* next refresh (monotonic ms) */
} alloc_state;

static alloc_state alloc = { NULL, -1, 0 };

static mallctl_fn find_mallctl(void)
{
    return (mallctl_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "mallctl");
}

static int read_bool(mallctl_fn ctl, const char *name, bool *out)
{
    size_t len = sizeof(*out);

    return ctl(name, out, &len, NULL, 0);
}

void ph_alloc_note(void)
{
    mallctl_fn ctl = find_mallctl();
    const char *version = "?";
    size_t len = sizeof(version);
    bool bg = false;

    if (!ctl) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, ap_server_conf,
                     PHLOGNO(00617) "allocator: the C library's malloc "
                     "(jemalloc is not loaded)");
        return;
    }
    ctl("version", &version, &len, NULL, 0);
    read_bool(ctl, "opt.background_thread", &bg);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, ap_server_conf,
                 PHLOGNO(00618) "allocator: jemalloc %s, background "
                 "threads %s", version, bg ? "on" : "off");
}

void ph_alloc_child_init(int slot, const char *what)
{
    bool want = false, running = false, on = true;
    int rv;

    alloc.mallctl = find_mallctl();
    alloc.slot = slot;
    alloc.next_ms = 0;
    if (!alloc.mallctl) {
        return;
    }
    /* jemalloc turns its background threads off in a forked child;
     * configured on, they are turned on again here. */
    if (read_bool(alloc.mallctl, "opt.background_thread", &want) == 0
        && want
        && read_bool(alloc.mallctl, "background_thread", &running) == 0
        && !running) {
        rv = alloc.mallctl("background_thread", NULL, NULL, &on, sizeof(on));
        ap_log_error(APLOG_MARK, rv ? APLOG_WARNING : APLOG_DEBUG, rv,
                     ap_server_conf, PHLOGNO(00619) "%s in slot %d: "
                     "jemalloc background threads %s", what, slot,
                     rv ? "could not be restarted" : "restarted");
    }
    ph_alloc_publish();
}

void ph_alloc_publish(void)
{
    ph_shm_child_stats *st;
    uint64_t epoch = 1;
    size_t allocated = 0, resident = 0, len;
    long long now;

    if (!alloc.mallctl || alloc.slot < 0) {
        return;
    }
    now = ph_now_ms();
    if (now < alloc.next_ms) {
        return;
    }
    alloc.next_ms = now + PUBLISH_EVERY_MS;
    if (!(st = ph_segment_child_stats(alloc.slot))) {
        return;
    }
    /* the statistics are a snapshot taken when the epoch advances */
    len = sizeof(epoch);
    alloc.mallctl("epoch", &epoch, &len, &epoch, sizeof(epoch));
    len = sizeof(allocated);
    if (alloc.mallctl("stats.allocated", &allocated, &len, NULL, 0) != 0) {
        return;     /* a jemalloc built without statistics */
    }
    len = sizeof(resident);
    alloc.mallctl("stats.resident", &resident, &len, NULL, 0);
    atomic_store_explicit(&st->alloc_allocated, (uint64_t)allocated,
                          memory_order_relaxed);
    atomic_store_explicit(&st->alloc_resident, (uint64_t)resident,
                          memory_order_relaxed);
}
