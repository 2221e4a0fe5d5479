/*
 * parent_spawn.c -- the parent's slot table: forking children into slots
 * and forgetting them when they are reaped.
 */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "httpd.h"
#include "ap_mpm.h"
#include "http_main.h"
#include "http_log.h"
#include "mpm_common.h"

#include "doorbell.h"
#include "ph_config.h"
#include "ph_factory.h"
#include "ph_log.h"
#include "ph_numa.h"
#include "ph_parent.h"
#include "ph_segment.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

ph_retained *ph_retained_state;

static const char *const retained_key = "mpm_peruser_hybrid_retained";

void ph_retained_init(void)
{
    ph_retained *r = ap_retained_data_get(retained_key);

    if (!r) {
        r = ap_retained_data_create(retained_key, sizeof(*r));
        r->mpm = ap_unixd_mpm_get_retained_data();
    }
    r->mpm->mpm_state = AP_MPMQ_STARTING;
    if (r->mpm->baton != r) {
        r->mpm->was_graceful = 0;
        r->mpm->baton = r;
    }
    ++r->mpm->module_loads;
    ph_retained_state = r;
}

int ph_slot_of_pid(pid_t pid)
{
    ph_retained *r = ph_retained_state;
    int i;

    for (i = 0; i < r->max_slot_used; i++) {
        if (r->slots[i].pid == pid) {
            return i;
        }
    }
    return -1;
}

void ph_slot_release(int slot)
{
    ph_retained *r = ph_retained_state;

    ph_segment_child_reaped(slot, r->slots[slot].pid);
    r->slots[slot].pid = 0;
    r->slots[slot].type = PH_CHILD_NONE;
    ph_scoreboard_slot_free(slot);
}

/* Only the slot table says which slots are free: the scoreboard's pids are
 * child-writable (a tenant that filled them in starved every environment
 * of processors). */
static int find_free_slot(void)
{
    ph_retained *r = ph_retained_state;
    int i;

    for (i = 0; i < r->nslots; i++) {
        if (r->slots[i].pid == 0) {
            return i;
        }
    }
    return -1;
}

/* The lowest multiplexer index no live multiplexer (of any generation)
 * holds: its ticket partitions are free for a new one. */
static int find_free_mux_index(void)
{
    ph_retained *r = ph_retained_state;
    int idx, i;

    for (idx = 0; idx < ph_conf.max_multiplexers; idx++) {
        for (i = 0; i < r->max_slot_used; i++) {
            if (r->slots[i].pid && r->slots[i].type == PH_CHILD_MUX
                && r->slots[i].mux_index == idx) {
                break;
            }
        }
        if (i == r->max_slot_used) {
            return idx;
        }
    }
    return -1;
}

/* No free slot: said once per FULL_LOG_INTERVAL at most, with how many
 * more were refused meanwhile (the main loop asks several times a
 * second). */
#define FULL_LOG_INTERVAL apr_time_from_sec(60)

static void full_slots(ph_child_type type, const ph_env *env)
{
    static apr_time_t logged_at;
    static unsigned long refused;
    apr_time_t now = apr_time_now();

    if (logged_at && now - logged_at < FULL_LOG_INTERVAL) {
        refused++;
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, ap_server_conf, PHLOGNO(00101)
                 "cannot start a %s%s: all %d slots of ServerLimit are in "
                 "use (%lu more refused since this was last said)",
                 type == PH_CHILD_MUX ? "multiplexer"
                 : "processor for environment ", env ? env->name : "",
                 ph_retained_state->nslots, refused);
    logged_at = now;
    refused = 0;
}

int ph_spawn_child(ph_child_type type, ph_env *env)
{
    ph_retained *r = ph_retained_state;
    int slot = find_free_slot();
    int mux_index = -1;
    pid_t pid;

    if (type == PH_CHILD_MUX && (mux_index = find_free_mux_index()) < 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ap_server_conf,
                     PHLOGNO(00107) "cannot start a multiplexer: all %ld "
                     "of MaxMultiplexers are alive (older generations "
                     "still finishing?)", ph_conf.max_multiplexers);
        return -1;
    }

    if (slot < 0) {
        full_slots(type, env);
        return -1;
    }
    if (type == PH_CHILD_PROC && ph_channels_open(env) != 0) {
        return -1;              /* logged */
    }

    if (ph_segment_child_prepare(slot, type, env) != 0) {
        return -1;              /* logged */
    }
    ph_numa_place(slot, type, env);
    if (ph_factory_in_use()) {
        /* Both kinds come from a factory, whose image their workers
         * write (factory_main.c prepares the rows there) */
        ph_scoreboard_slot_prepare_process(slot, r->mpm->my_generation);
    }
    else {
        ph_scoreboard_slot_prepare(slot, r->mpm->my_generation);
    }
    if (type == PH_CHILD_PROC && ph_factory_in_use()) {
        /* From the environment's own image (ProcessorImage exec) */
        if ((pid = ph_factory_fork_processor(env, slot)) < 0) {
            return -1;          /* logged */
        }
    }
    else if (type == PH_CHILD_MUX && ph_factory_in_use()) {
        /* From an image that never read a tenant's configuration */
        if ((pid = ph_factory_fork_multiplexer(slot, mux_index)) < 0) {
            return -1;          /* logged */
        }
    }
    else if ((pid = fork()) < 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, errno, ap_server_conf,
                     PHLOGNO(00102) "fork() failed for slot %d", slot);
        return -1;
    }
    else if (pid == 0) {
        ph_child_main(slot, type, env, mux_index);     /* no return */
    }

    ph_segment_child_forked(slot, pid);
    if (type == PH_CHILD_PROC) {
        /* Multiplexers count a processor's idle workers only once its pid
         * is in the segment.  Its workers may have counted themselves
         * idle and rung the doorbell before that (a factory's answer takes
         * a round trip): ring once more now that they count, or
         * connections waiting for this environment would wait for a
         * doorbell that already rang. */
        ph_doorbells_ring(env->index, 0);
    }
    r->slots[slot].pid = pid;
    r->slots[slot].type = type;
    r->slots[slot].env_index = env ? env->index : -1;
    r->slots[slot].mux_index = mux_index;
    r->slots[slot].retiring = 0;
    r->slots[slot].gen = r->mpm->my_generation;
    r->slots[slot].started = apr_time_now();
    if (slot + 1 > r->max_slot_used) {
        r->max_slot_used = slot + 1;
    }
    ph_scoreboard_slot_started(slot, pid, r->mpm->my_generation);
    ap_run_child_status(ap_server_conf, pid, r->mpm->my_generation, slot,
                        MPM_CHILD_STARTED);
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf, PHLOGNO(00103)
                 "started %s%s%s in slot %d, pid %" APR_PID_T_FMT ", gen %d",
                 type == PH_CHILD_MUX ? "multiplexer" : "processor of env ",
                 env ? env->name : "", "", slot, pid,
                 (int)r->mpm->my_generation);
    return slot;
}
