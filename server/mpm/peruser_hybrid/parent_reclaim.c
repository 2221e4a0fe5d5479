/*
 * parent_reclaim.c -- ending every child at a stop or a hard restart.
 *
 * httpd's ap_reclaim_child_processes() finds the children to wait for and
 * signal in the scoreboard, which every child can write: a tenant that
 * zeroed the pids there kept its processes running past `apache2 -k stop`,
 * and one that wrote a pid into a live child's slot had that slot forgotten
 * while its child still ran.  This loop takes the children from the
 * parent's own slot table instead; a pid there is one the parent forked and
 * has not reaped, so signalling it can only reach that child.
 */
#include <errno.h>
#include <signal.h>

#include "httpd.h"
#include "apr_thread_proc.h"
#include "http_log.h"
#include "http_main.h"
#include "mpm_common.h"

#include "ph_log.h"
#include "ph_parent.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

typedef enum reclaim_action {
    RECLAIM_WAIT,               /* only reap what has exited */
    RECLAIM_TERM_QUIET,         /* SIGTERM, the first time */
    RECLAIM_TERM,               /* SIGTERM again, logged */
    RECLAIM_KILL,               /* SIGKILL, logged */
    RECLAIM_GIVE_UP             /* log what is left and return */
} reclaim_action;

/* When (seconds after the start) to escalate; httpd's own schedule. */
static const struct {
    reclaim_action action;
    int at_s;
} schedule[] = {
    { RECLAIM_TERM_QUIET, 0 },
    { RECLAIM_TERM, 3 },
    { RECLAIM_TERM, 5 },
    { RECLAIM_TERM, 7 },
    { RECLAIM_KILL, 9 },
    { RECLAIM_GIVE_UP, 10 },
};

#define SCHEDULE_LEN ((int)(sizeof(schedule) / sizeof(schedule[0])))

/* Reap slot's child if it has exited (1), else act on it (0). */
static int reclaim_slot(int slot, reclaim_action action,
                        ph_reclaim_fn *stopped)
{
    ph_slot *sl = &ph_retained_state->slots[slot];
    apr_proc_t proc = { 0 };
    apr_exit_why_e why;
    apr_status_t rv;
    int status;

    proc.pid = sl->pid;
    rv = apr_proc_wait(&proc, &status, &why, APR_NOWAIT);
    if (rv == APR_CHILD_DONE) {
        ap_process_child_status(&proc, why, status);
        stopped(slot, proc.pid, sl->gen);
        return 1;
    }
    if (rv != APR_CHILD_NOTDONE) {
        /* Not our child any more (reaped elsewhere): nothing to wait for,
         * and its pid must not be signalled. */
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, ap_server_conf,
                     PHLOGNO(00062) "slot %d: pid %" APR_PID_T_FMT " cannot "
                     "be waited for; forgetting it", slot, sl->pid);
        stopped(slot, proc.pid, sl->gen);
        return 1;
    }
    switch (action) {
    case RECLAIM_TERM:
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ap_server_conf,
                     PHLOGNO(00063) "child %" APR_PID_T_FMT " (slot %d) "
                     "still did not exit, sending a SIGTERM", sl->pid, slot);
        /* fall through */
    case RECLAIM_TERM_QUIET:
        kill(sl->pid, SIGTERM);
        break;
    case RECLAIM_KILL:
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, ap_server_conf,
                     PHLOGNO(00064) "child %" APR_PID_T_FMT " (slot %d) "
                     "still did not exit, sending a SIGKILL", sl->pid, slot);
        kill(sl->pid, SIGKILL);
        break;
    case RECLAIM_GIVE_UP:
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, ap_server_conf,
                     PHLOGNO(00065) "could not make child %" APR_PID_T_FMT
                     " (slot %d) exit, attempting to continue anyway",
                     sl->pid, slot);
        break;
    case RECLAIM_WAIT:
        break;
    }
    return 0;
}

void ph_reclaim_children(ph_reclaim_fn *stopped)
{
    ph_retained *r = ph_retained_state;
    apr_time_t start = apr_time_now(), nap = apr_time_from_msec(16);
    reclaim_action action;
    int next = 0, left, i;

    do {
        if (next < SCHEDULE_LEN && schedule[next].at_s > 0) {
            apr_sleep(nap);
            nap = nap * 4 > apr_time_from_sec(1) ? apr_time_from_sec(1)
                                                  : nap * 4;
        }
        action = RECLAIM_WAIT;
        if (next < SCHEDULE_LEN && apr_time_now() - start
                                   >= apr_time_from_sec(schedule[next].at_s)) {
            action = schedule[next++].action;
        }
        left = 0;
        for (i = 0; i < r->max_slot_used; i++) {
            if (r->slots[i].pid && !reclaim_slot(i, action, stopped)) {
                left++;
            }
        }
        apr_proc_other_child_refresh_all(APR_OC_REASON_RESTART);
    } while (left > 0 && action != RECLAIM_GIVE_UP);
}
