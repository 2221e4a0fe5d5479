/*
 * child_privs.c -- giving up root for good in a child.
 */
#include <errno.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "httpd.h"
#include "http_log.h"
#include "http_main.h"
#include "mpm_common.h"

#include "ph_child.h"
#include "ph_env.h"
#include "ph_log.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

void ph_nice_apply(const char *what, int level)
{
    if (level == PH_NICE_UNSET) {
        return;
    }
    /* PRIO_PROCESS with 0 is this thread on Linux: called before any
     * thread starts, every later one inherits it. */
    if (setpriority(PRIO_PROCESS, 0, level) < 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, errno, ap_server_conf,
                     PHLOGNO(00606) "%s: cannot set NiceLevel %d", what,
                     level);
    }
}

int ph_privs_drop(const char *what, const char *user_name, uid_t uid,
                  gid_t gid, const char *chroot_dir)
{
    if (geteuid() != 0) {
        return 0;   /* cannot switch; the parent said so once at startup */
    }
    if (setgid(gid) < 0) {
        ap_log_error(APLOG_MARK, APLOG_ALERT, errno, ap_server_conf,
                     PHLOGNO(00201) "%s: setgid(%ld) failed", what,
                     (long)gid);
        return -1;
    }
    if (initgroups(user_name, gid) < 0) {
        ap_log_error(APLOG_MARK, APLOG_ALERT, errno, ap_server_conf,
                     PHLOGNO(00202) "%s: initgroups(%s, %ld) failed", what,
                     user_name, (long)gid);
        return -1;
    }
    if (chroot_dir && (chroot(chroot_dir) < 0 || chdir("/") < 0)) {
        ap_log_error(APLOG_MARK, APLOG_ALERT, errno, ap_server_conf,
                     PHLOGNO(00207) "%s: cannot chroot to %s", what,
                     chroot_dir);
        return -1;
    }
    if (setuid(uid) < 0) {
        ap_log_error(APLOG_MARK, APLOG_ALERT, errno, ap_server_conf,
                     PHLOGNO(00203) "%s: setuid(%ld) failed", what,
                     (long)uid);
        return -1;
    }
    /* Belt and braces: root must be gone for good. */
    if (getuid() != uid || geteuid() != uid || getgid() != gid
        || getegid() != gid || setuid(0) == 0) {
        ap_log_error(APLOG_MARK, APLOG_ALERT, 0, ap_server_conf,
                     PHLOGNO(00204) "%s: still able to regain root after "
                     "dropping privileges; refusing to continue", what);
        return -1;
    }
    /* No core dumps or ptrace by the same user unless the admin asked for
     * core dumps (CoreDumpDirectory). */
    if (!ap_coredumpdir_configured && prctl(PR_SET_DUMPABLE, 0) < 0) {
        ap_log_error(APLOG_MARK, APLOG_ALERT, errno, ap_server_conf,
                     PHLOGNO(00205) "%s: prctl(PR_SET_DUMPABLE) failed",
                     what);
        return -1;
    }
    return 0;
}
