/*
 * scoreboard_trim.c -- httpd's scoreboard resident only where it is used.
 *
 * httpd's ap_create_scoreboard (the pre_mpm hook) zeroes the whole image
 * with memset: ServerLimit x ThreadLimit worker records, 5.4 MB at this
 * MPM's default geometry (256 x 64), every page of it made resident in
 * the process that created it -- the parent (a factory makes its image
 * without zeroing it: factory_scoreboard.c) -- although an idle server
 * writes a handful of rows.  Right after pre_mpm made the image (and only then:
 * a fresh image, or one httpd has just zeroed at a hard restart, with
 * no child left to write it), the pages past the global record are
 * given back: MADV_REMOVE frees shared memory pages (MADV_DONTNEED only
 * unmaps them from this process; shmem keeps them) and punches a hole in
 * a file (a ScoreBoardFile, where the file system has holes).  A page
 * reads as zeros afterwards, as the memset left it, and is allocated
 * again at its first write, by the child that writes its slot's rows.
 *
 * Nothing is trusted here: the range is this process's own image, its
 * size httpd's own calculation.  A failure (a scoreboard file on a file
 * system without holes) only leaves the pages resident, as before.
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "httpd.h"
#include "http_log.h"
#include "http_main.h"
#include "scoreboard.h"

#include "ph_log.h"
#include "ph_parent.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

void ph_scoreboard_trim(void)
{
    global_score *g = ap_get_scoreboard_global();
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t from, to;

    if (!g || !page) {
        return;
    }
    /* The image is [g, g + size): the global record, then the rows. */
    from = ((uintptr_t)(g + 1) + page - 1) & ~(page - 1);
    to = ((uintptr_t)g + (uintptr_t)ap_calc_scoreboard_size()) & ~(page - 1);
    if (to <= from) {
        return;
    }
    if (madvise((void *)from, to - from, MADV_REMOVE) != 0) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, errno, ap_server_conf,
                     PHLOGNO(00625) "httpd's scoreboard: its %lu kB of "
                     "zeroed rows stay resident", (unsigned long)((to - from)
                                                                  >> 10));
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf, PHLOGNO(00624)
                 "httpd's scoreboard: %lu kB of zeroed rows given back",
                 (unsigned long)((to - from) >> 10));
}
