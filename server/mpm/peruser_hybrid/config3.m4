dnl peruser_hybrid MPM: build description.
dnl
dnl The object list is not maintained by hand: it is computed when configure
dnl runs, from every *.c file present in this directory (foo.c -> foo.lo).
dnl build/intree-build.sh copies the project's shm/*.c library sources into
dnl this directory (prefixed shm_ where a name would clash), so the same
dnl glob picks those up too.  Re-run configure after adding a source file.
dnl
dnl Extra link libraries for the MPM go in MOD_MPM_PERUSER_HYBRID_LDADD:
dnl libjemalloc when built in (below).  libnghttp2 (whose HPACK inflater
dnl h2_preface.c uses to route h2c connections) and libhwloc (whose
dnl topology placement_topo.c and numa_bind.c read to place children on
dnl NUMA nodes) are not linked: the processes that need them open them
dnl on first use (lazy_lib.h); only their headers are needed here
dnl (Debian: libnghttp2-dev, libhwloc-dev), and the libraries at run time.

AC_CHECK_HEADER([nghttp2/nghttp2.h], [],
    [AC_MSG_ERROR([peruser_hybrid needs nghttp2/nghttp2.h (libnghttp2-dev)])])
AC_CHECK_HEADER([hwloc.h], [],
    [AC_MSG_ERROR([peruser_hybrid needs hwloc.h (libhwloc-dev)])])
MOD_MPM_PERUSER_HYBRID_LDADD=""

dnl jemalloc (Debian: libjemalloc-dev), linked when the MPM is built into
dnl httpd: it is then the malloc of the whole server, from its first
dnl allocation.  A shared MPM is loaded after the C library's malloc is in
dnl use, so it never links jemalloc (preload libjemalloc.so.2 instead, see
dnl the README).  --without-ph-jemalloc keeps glibc's malloc;
dnl --with-ph-jemalloc requires jemalloc.  alloc_stats.c finds mallctl()
dnl at run time either way.
AC_ARG_WITH([ph-jemalloc],
    APACHE_HELP_STRING([--without-ph-jemalloc],
                       [peruser_hybrid built in: do not link jemalloc]),
    [ph_jemalloc=$withval], [ph_jemalloc=auto])
if test "$ph_jemalloc" != no && test "$enable_mpm_peruser_hybrid" != shared; then
    AC_CHECK_LIB([jemalloc], [mallctl],
        [MOD_MPM_PERUSER_HYBRID_LDADD="$MOD_MPM_PERUSER_HYBRID_LDADD -ljemalloc"],
        [if test "$ph_jemalloc" = yes; then
             AC_MSG_ERROR([--with-ph-jemalloc: no libjemalloc (libjemalloc-dev)])
         fi])
fi
APACHE_SUBST(MOD_MPM_PERUSER_HYBRID_LDADD)

ph_mpm_objects=""
for ph_mpm_src in $srcdir/server/mpm/peruser_hybrid/*.c; do
    test -f "$ph_mpm_src" || continue
    ph_mpm_objects="$ph_mpm_objects `basename $ph_mpm_src .c`.lo"
done
if ap_mpm_is_enabled peruser_hybrid; then
    if test -z "$ph_mpm_objects"; then
        AC_MSG_ERROR([peruser_hybrid MPM selected but server/mpm/peruser_hybrid contains no .c files])
    fi
    AC_MSG_NOTICE([peruser_hybrid MPM objects:$ph_mpm_objects])
fi

APACHE_MPM_MODULE(peruser_hybrid, $enable_mpm_peruser_hybrid, $ph_mpm_objects, , ,
                  [\$(MOD_MPM_PERUSER_HYBRID_LDADD)])
