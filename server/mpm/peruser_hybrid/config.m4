dnl peruser_hybrid MPM: platform support check.
dnl
dnl Included (via build/config-stubs) after server/mpm/config.m4, which sets
dnl forking_mpms_supported, have_threaded_sig_graceful and
dnl ac_cv_define_APR_HAS_THREADS.  The MPM uses raw Linux interfaces --
dnl epoll, accept4, SOCK_SEQPACKET socketpairs with SCM_RIGHTS -- and
dnl pthreads, so it is offered only on Linux hosts with a threaded APR.

AC_CHECK_FUNCS(epoll_create1 accept4)

AC_MSG_CHECKING(if peruser_hybrid MPM supports this platform)
case $host in
    *-linux*)
        ph_linux_host=yes
        ;;
    *)
        ph_linux_host=no
        ;;
esac
if test "$ph_linux_host" != yes; then
    AC_MSG_RESULT([no - needs Linux: epoll, accept4 and SCM_RIGHTS])
elif test "$forking_mpms_supported" != yes; then
    AC_MSG_RESULT(no - This is not a forking platform)
elif test "$ac_cv_define_APR_HAS_THREADS" != yes; then
    AC_MSG_RESULT(no - APR does not support threads)
elif test "$have_threaded_sig_graceful" != yes; then
    AC_MSG_RESULT(no - SIG_GRACEFUL cannot be used with a threaded MPM)
elif test "$ac_cv_func_epoll_create1" != yes; then
    AC_MSG_RESULT(no - epoll_create1() is not available)
elif test "$ac_cv_func_accept4" != yes; then
    AC_MSG_RESULT(no - accept4() is not available)
else
    AC_MSG_RESULT(yes)
    APACHE_MPM_SUPPORTED(peruser_hybrid, yes, yes)
fi
