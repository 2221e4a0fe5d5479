/*
 * lib_nghttp2.c -- libnghttp2 opened on first use (lib_nghttp2.h).
 */
#include <pthread.h>
#include <stddef.h>

#include "lazy_lib.h"
#include "lib_nghttp2.h"

#define SYM(field, name) { name, offsetof(ph_nghttp2_api, field) }

static const ph_lazy_sym nghttp2_syms[] = {
    SYM(hd_inflate_new, "nghttp2_hd_inflate_new"),
    SYM(hd_inflate_hd2, "nghttp2_hd_inflate_hd2"),
    SYM(hd_inflate_end_headers, "nghttp2_hd_inflate_end_headers"),
    SYM(hd_inflate_del, "nghttp2_hd_inflate_del"),
};

static ph_nghttp2_api nghttp2_api;
static const char *nghttp2_why;
static int nghttp2_ok;
static pthread_once_t nghttp2_once = PTHREAD_ONCE_INIT;

static void nghttp2_open(void)
{
    nghttp2_ok = ph_lazy_resolve(PH_NGHTTP2_SONAME, nghttp2_syms,
                                 sizeof(nghttp2_syms)
                                 / sizeof(nghttp2_syms[0]),
                                 &nghttp2_api, &nghttp2_why) == 0;
}

const ph_nghttp2_api *ph_nghttp2(const char **why)
{
    pthread_once(&nghttp2_once, nghttp2_open);
    if (why) {
        *why = nghttp2_why;
    }
    return nghttp2_ok ? &nghttp2_api : NULL;
}
