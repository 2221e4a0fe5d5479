/*
 * lazy_lib.h -- a shared library that only some of the server's processes
 * need, loaded by the first of them that does (issue 13).
 *
 * The module is loaded into every process that reads the configuration:
 * the root parent (twice: both configuration passes), the multiplexers'
 * factory and every environment's factory (twice each, on every cold
 * start).  What it links, the dynamic linker loads, relocates and, between
 * the two passes, unloads again with it.  libhwloc (and the libudev it
 * links) is needed only where a child is placed on a NUMA node, libnghttp2
 * only where a multiplexer routes an h2c connection: ~0.45 ms and
 * ~0.15 ms per load, ~1.2 ms of each cold start's ~15 ms.  So neither is
 * linked; each is opened by its soname on first use and never closed.
 *
 * A library that cannot be opened, or lacks a symbol, is not used at all:
 * the caller hears so (NULL) and says what it does instead.
 */
#ifndef PH_LAZY_LIB_H
#define PH_LAZY_LIB_H

#include <stddef.h>

/* One symbol of a library: its name and where in the caller's table of
 * function pointers it goes (offsetof). */
typedef struct ph_lazy_sym {
    const char *name;
    size_t offset;
} ph_lazy_sym;

/*
 * Open soname (RTLD_NOW | RTLD_LOCAL) and store each of syms[0 .. n) at
 * its offset in api.  0, or -1 with *why saying what failed (dlerror's
 * text, static storage); api is then not to be used.  Not thread-safe:
 * callers run it once (pthread_once).
 */
int ph_lazy_resolve(const char *soname, const ph_lazy_sym *syms, size_t n,
                    void *api, const char **why);

#endif /* PH_LAZY_LIB_H */
