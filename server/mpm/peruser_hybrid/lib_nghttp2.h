/*
 * lib_nghttp2.h -- the HPACK inflater functions h2_preface.c calls, from
 * libnghttp2 opened on first use (lazy_lib.h): only the multiplexers
 * decode an h2c connection's first request, so only they (their factory,
 * before forking them) load it.
 */
#ifndef PH_LIB_NGHTTP2_H
#define PH_LIB_NGHTTP2_H

#include <nghttp2/nghttp2.h>

#define PH_NGHTTP2_SONAME "libnghttp2.so.14"

typedef struct ph_nghttp2_api {
    __typeof__(nghttp2_hd_inflate_new) *hd_inflate_new;
    __typeof__(nghttp2_hd_inflate_hd2) *hd_inflate_hd2;
    __typeof__(nghttp2_hd_inflate_end_headers) *hd_inflate_end_headers;
    __typeof__(nghttp2_hd_inflate_del) *hd_inflate_del;
} ph_nghttp2_api;

/* libnghttp2's functions, loaded on the first call (thread-safe), or NULL
 * if it cannot be opened; *why (may be NULL) then says why. */
const ph_nghttp2_api *ph_nghttp2(const char **why);

#endif /* PH_LIB_NGHTTP2_H */
