/*
 * factory_scoreboard.c -- a factory's httpd scoreboard (and the parent's at
 * its first start), made without writing a page of it.
 *
 * httpd makes its scoreboard in the pre_mpm hook (core's
 * ap_create_scoreboard): a shared anonymous mapping of ServerLimit x
 * ThreadLimit worker records (5.4 MB at 256 x 64), which it then zeroes
 * whole with memset, or, when an image exists already (the
 * StatusEnvironment's file, env_scoreboard.c), clears row by row.  In a
 * factory that memset was about a fifth of the CPU of its start: every
 * page faulted in, allocated and cleared by the kernel, written again,
 * and given back at once by scoreboard_trim.c (MADV_REMOVE), since only
 * the rows of the slots its children use are ever written.  A factory is
 * a fresh exec, and its image is new: a fresh shared anonymous mapping,
 * or a file it has just created and sized, both read as zeros already.
 * So here the factory maps the image itself, lets httpd lay it out
 * (ap_init_scoreboard: the same geometry, from the same
 * AP_MPMQ_HARD_LIMIT_* answers, as every reader in this process tree
 * uses), writes the global record, and runs every other pre_mpm hook in
 * httpd's order, skipping only core's creation.  Pages are allocated by
 * their first write, the rows of the slots X's processors use, as after
 * the trim; nothing is made resident to be given back.
 *
 * The parent does the same at its first start, when the image is new
 * (ph_parent_scoreboard_make; 10 ms of a start at the default geometry,
 * issue 13), unless a ScoreBoardFile names it: then, and at a hard
 * restart (httpd clears the image its children shared, which must be
 * zeroed), it runs httpd's own pre_mpm and trims (scoreboard_trim.c).
 *
 * Trust: the factory is root and reads nothing a processor writes; the
 * image is this process's own mapping, its size httpd's own calculation,
 * as before.  Its processors inherit it through fork, as before.
 */
#include <errno.h>
#include <sys/mman.h>

#include "httpd.h"
#include "apr_hooks.h"
#include "apr_strings.h"
#include "http_log.h"
#include "http_main.h"
#include "scoreboard.h"

#include "ph_config.h"
#include "ph_env.h"
#include "ph_env_scoreboard.h"
#include "ph_factory.h"
#include "ph_log.h"
#include "ph_parent.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

/* httpd's pre_mpm hooks but core's scoreboard creation, in their order,
 * with RUN_ALL's rule: the first answer other than OK and DECLINED ends
 * the run and is the result. */
static int run_other_pre_mpm(apr_pool_t *p)
{
    apr_array_header_t *hooks = ap_hook_get_pre_mpm();
    ap_LINK_pre_mpm_t *link;
    int i, rv;

    if (!hooks) {
        return OK;
    }
    link = (ap_LINK_pre_mpm_t *)hooks->elts;
    for (i = 0; i < hooks->nelts; i++) {
        if (link[i].pFunc == ap_create_scoreboard) {
            continue;
        }
        rv = link[i].pFunc(p, SB_SHARED);
        if (rv != OK && rv != DECLINED) {
            return rv;
        }
    }
    return OK;
}

/* A fresh image if there is none yet (mapped for the life of the
 * process: it makes one, its children inherit it), laid out by httpd;
 * then the global record and every other pre_mpm hook.  who: for
 * messages. */
static int make_on_use(server_rec *s, const char *who, ap_generation_t gen)
{
    apr_size_t size;
    global_score *g;
    void *mem;

    if (!ap_scoreboard_image) {
        size = (apr_size_t)ap_calc_scoreboard_size();
        mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, errno, s, PHLOGNO(00640)
                         "%s: cannot map httpd's scoreboard (%lu kB)", who,
                         (unsigned long)(size >> 10));
            return !OK;
        }
        ap_init_scoreboard(mem);
    }
    g = ap_get_scoreboard_global();
    ap_assert(g != NULL);
    g->running_generation = gen;
    g->restart_time = apr_time_now();
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, PHLOGNO(00641)
                 "%s: httpd's scoreboard of %d x %d records made on use "
                 "(no page zeroed)", who, g->server_limit, g->thread_limit);
    return run_other_pre_mpm(s->process->pool);
}

int ph_parent_scoreboard_make(server_rec *s, ap_generation_t gen)
{
    int rv;

    if (!ap_scoreboard_image && !ap_scoreboard_fname) {
        return make_on_use(s, "the parent", gen);
    }
    if ((rv = ap_run_pre_mpm(s->process->pool, SB_SHARED)) == OK) {
        ph_scoreboard_trim();
    }
    return rv;
}

int ph_factory_scoreboard(server_rec *s, apr_pool_t *pconf,
                          const ph_env *env, ap_generation_t gen)
{
    int rv;

    /* With a StatusEnvironment, X's image is a file only it may read,
     * created here, sized with ftruncate: all holes. */
    if (env && (rv = ph_env_scoreboard_create(pconf, env, gen)) != 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, PHLOGNO(00534)
                     "processor factory of environment %s: cannot put its "
                     "scoreboard where StatusEnvironment %s reads it; "
                     "anonymous memory instead", env->name,
                     ph_conf.status_env);
    }
    return make_on_use(s, env ? apr_psprintf(pconf, "processor factory "
                                             "of environment %s", env->name)
                              : "the multiplexers' factory", gen);
}
