/*
 * parent_scoreboard.c -- what the parent writes into httpd's scoreboard.
 *
 * Threat: every child maps httpd's scoreboard read-write (processors must
 * write their worker slots for mod_status), so a tenant's code in any
 * processor can write any byte of it: another slot's pid, generation or
 * quiescing flag, the global generation, worker strings.  Hence the
 * scoreboard is informational only:
 *   - the parent WRITES it (here, and nowhere else) and never reads it:
 *     which slots are free, which pid to signal or wait for, generations
 *     and counts all come from the parent's own slot table (ph_parent.h);
 *   - when a slot is given to a new child its entries are written afresh,
 *     so nothing a previous occupant (or a tenant) left there is shown as
 *     the new child's;
 *   - entries are reached through httpd's accessors, which check the
 *     indexes against httpd's private copy of the geometry, never against
 *     the shared global_score.
 * The multiplexers and processors write only their own slot, through
 * httpd's API; what they read back from it is for display.
 */
#include <string.h>

#include "httpd.h"
#include "ap_mpm.h"
#include "scoreboard.h"

#include "ph_config.h"
#include "ph_parent.h"

/* Counters mod_status adds up over all slots ("Total Accesses", "Total
 * Traffic") are per slot and survive a change of occupant, as with
 * httpd's own MPMs; everything else describes the occupant. */
static void worker_reset(worker_score *ws, int slot, int thread)
{
    unsigned long access_count = ws->access_count;
    apr_off_t bytes_served = ws->bytes_served;

    memset(ws, 0, sizeof(*ws));
    ws->status = SERVER_DEAD;
    ws->thread_num = slot * (int)ph_conf.thread_limit + thread;
    ws->access_count = access_count;
    ws->bytes_served = bytes_served;
}

void ph_scoreboard_slot_prepare(int slot, ap_generation_t gen)
{
    worker_score *ws;
    int t;

    ph_scoreboard_slot_prepare_process(slot, gen);
    for (t = 0; (ws = ap_get_scoreboard_worker_from_indexes(slot, t)); t++) {
        worker_reset(ws, slot, t);
    }
}

/* The process row only: for a child whose workers write another image
 * (one a factory made), the parent's worker rows of the slot are
 * nobody's.  Writing them anyway made every slot ever used resident in
 * the parent: 21 kB a slot at ThreadLimit 64, the whole 5.4 MB once
 * cold tenants had gone through every slot of ServerLimit 256. */
void ph_scoreboard_slot_prepare_process(int slot, ap_generation_t gen)
{
    process_score *ps = ap_get_scoreboard_process(slot);

    if (!ps) {
        return;
    }
    memset(ps, 0, sizeof(*ps));
    ps->generation = gen;
}

void ph_scoreboard_slot_started(int slot, pid_t pid, ap_generation_t gen)
{
    process_score *ps = ap_get_scoreboard_process(slot);

    if (ps) {
        ps->pid = pid;
        ps->generation = gen;
        ps->quiescing = 0;
        ps->not_accepting = 0;
    }
}

void ph_scoreboard_slot_quiescing(int slot)
{
    process_score *ps = ap_get_scoreboard_process(slot);

    if (ps) {
        ps->quiescing = 1;
    }
}

void ph_scoreboard_slot_free(int slot)
{
    process_score *ps = ap_get_scoreboard_process(slot);

    if (ps) {
        ps->pid = 0;
        ps->quiescing = 0;
    }
}

void ph_scoreboard_set_generation(ap_generation_t gen)
{
    global_score *g = ap_get_scoreboard_global();

    if (g) {
        g->running_generation = gen;
    }
}
