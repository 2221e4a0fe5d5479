/*
 * lazy_lib.c -- open a library on first use and fill a table of its
 * functions (lazy_lib.h).
 */
#include <dlfcn.h>
#include <string.h>

#include "lazy_lib.h"

/* Open lib and fill its table; 0, or -1 with lib->why set. */
static int resolve(ph_lazy_lib *lib)
{
    void *handle, *fn;
    size_t i;

    (void)dlerror();
    if (!(handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL))) {
        lib->why = dlerror();
        return -1;
    }
    for (i = 0; i < lib->nsyms; i++) {
        (void)dlerror();
        if (!(fn = dlsym(handle, lib->syms[i].name))) {
            const char *e = dlerror();

            /* The handle stays open: a library without a function we
             * call is not used, and unloading buys nothing. */
            lib->why = e ? e : lib->syms[i].name;
            return -1;
        }
        /* POSIX: the object pointer dlsym returns converts to the
         * function pointer stored at that offset. */
        memcpy((char *)lib->api + lib->syms[i].offset, &fn, sizeof(fn));
    }
    return 0;
}

const void *ph_lazy_open(ph_lazy_lib *lib, const char **why)
{
    if (!__atomic_load_n(&lib->tried, __ATOMIC_ACQUIRE)) {
        pthread_mutex_lock(&lib->lock);
        if (!lib->tried) {
            lib->ok = resolve(lib) == 0;
            __atomic_store_n(&lib->tried, 1, __ATOMIC_RELEASE);
        }
        pthread_mutex_unlock(&lib->lock);
    }
    if (why) {
        *why = lib->ok ? NULL : lib->why;
    }
    return lib->ok ? lib->api : NULL;
}
