/*
 * lib_nghttp2.c -- libnghttp2 opened on first use (lib_nghttp2.h).
 */
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
static ph_lazy_lib nghttp2_lib =
    PH_LAZY_LIB(PH_NGHTTP2_SONAME, nghttp2_syms, nghttp2_api);

const ph_nghttp2_api *ph_nghttp2(const char **why)
{
    return ph_lazy_open(&nghttp2_lib, why);
}
