/*
 * lazy_lib.c -- open a library on first use and fill a table of its
 * functions (lazy_lib.h).
 */
#include <dlfcn.h>
#include <string.h>

#include "lazy_lib.h"

int ph_lazy_resolve(const char *soname, const ph_lazy_sym *syms, size_t n,
                    void *api, const char **why)
{
    void *lib, *fn;
    size_t i;

    (void)dlerror();
    if (!(lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL))) {
        *why = dlerror();
        return -1;
    }
    for (i = 0; i < n; i++) {
        (void)dlerror();
        if (!(fn = dlsym(lib, syms[i].name))) {
            const char *e = dlerror();

            *why = e ? e : syms[i].name;
            /* The handle stays open: another caller may hold it, and a
             * library without a symbol we need is not used anyway. */
            return -1;
        }
        /* POSIX: a data pointer from dlsym converts to the function
         * pointer stored at that offset (same size on every platform
         * that has dlsym). */
        memcpy((char *)api + syms[i].offset, &fn, sizeof(fn));
    }
    *why = NULL;
    return 0;
}
