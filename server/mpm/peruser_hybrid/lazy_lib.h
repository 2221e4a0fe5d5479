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

#include <pthread.h>
#include <stddef.h>

/* One symbol of a library: its name and where in the caller's table of
 * function pointers it goes (offsetof). */
typedef struct ph_lazy_sym {
    const char *name;
    size_t offset;
} ph_lazy_sym;

/* A library opened on first use: what to open and fill (set by
 * PH_LAZY_LIB), then whether that worked. */
typedef struct ph_lazy_lib {
    const char *soname;
    const ph_lazy_sym *syms;
    size_t nsyms;
    void *api;                  /* the table syms fill */
    pthread_mutex_t lock;
    int tried;                  /* read without the lock once set */
    int ok;
    const char *why;            /* dlerror's text when !ok */
} ph_lazy_lib;

#define PH_LAZY_LIB(soname, syms, api) \
    { (soname), (syms), sizeof(syms) / sizeof((syms)[0]), &(api), \
      PTHREAD_MUTEX_INITIALIZER, 0, 0, NULL }

/*
 * lib's table of functions, the library opened (RTLD_NOW | RTLD_LOCAL)
 * and every symbol stored at its offset by the first call; NULL if that
 * failed, with *why (if why is not NULL; may be NULL) saying what failed.
 * Thread-safe.  Not across fork() while another thread is inside: the
 * processes that call it first fork only while single-threaded.
 */
const void *ph_lazy_open(ph_lazy_lib *lib, const char **why);

#endif /* PH_LAZY_LIB_H */
