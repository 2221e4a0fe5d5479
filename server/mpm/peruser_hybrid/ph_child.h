/*
 * ph_child.h -- what every child process gets from the parent, and the
 * entry points of the two kinds of children.
 *
 * Children are forked from the parent and inherit its memory: the
 * configuration (ph_conf, ph_envs, httpd's server_recs), the listeners and
 * every channel.  The first thing a child does is close what it must not
 * hold (ph_child_main), the second is drop privileges (child_privs.c).
 */
#ifndef PH_CHILD_H
#define PH_CHILD_H

#include <sys/resource.h>

#include "httpd.h"
#include "scoreboard.h"

#include "ph_env.h"

typedef enum {
    PH_CHILD_NONE = 0,
    PH_CHILD_MUX,           /* multiplexer: accepts and routes */
    PH_CHILD_PROC           /* processor: serves one environment */
} ph_child_type;

/* Exit codes: an environment-specific failure (its user cannot be set up)
 * must not take the whole server down, so it is not APEXIT_CHILDFATAL. */
#define PH_EXIT_ENV_SETUP  APEXIT_CHILDSICK

/* Inherited from the parent for one generation. */
typedef struct ph_heritage {
    int lifeline_fd;            /* read end; EOF means "finish and exit" */
    int lifeline_wr;            /* write end, parent only (-1 in children) */
    int wake_rd, wake_wr;       /* parent's self-pipe; multiplexers keep
                                 * wake_wr to ask for processors, other
                                 * children close both */
    ap_generation_t generation;
} ph_heritage;

extern ph_heritage ph_heritage_now;

/* Runs in the freshly forked child; never returns. */
void ph_child_main(int slot, ph_child_type type, ph_env *env, int mux_index)
    __attribute__((noreturn));

/* The soft limit on descriptors raised to the hard one, the hard one
 * first to `need` if it is lower (root only; 0: left as it is) --
 * child_setup.c.  The parent at start, before spawning a factory, and
 * every child. */
void ph_raise_fd_limit(rlim_t need);

/* The two kinds of children; each returns the process exit code. */
int ph_mux_main(int slot, int mux_index, apr_pool_t *pchild);
int ph_proc_main(int slot, ph_env *env, apr_pool_t *pchild);

/*
 * Switch to uid/gid (with user_name's supplementary groups) for good,
 * inside chroot_dir if not NULL (entered after initgroups, which reads
 * the group database, and before setuid), and make the process
 * non-dumpable.  Does nothing when not running as root.
 * Returns 0, or -1 after logging why (the child must then exit).
 */
int ph_privs_drop(const char *what, const char *user_name, uid_t uid,
                  gid_t gid, const char *chroot_dir);

/* NiceLevel: set this process's nice value to level (PH_NICE_UNSET:
 * leave it), as root before dropping privileges; threads and programs it
 * starts inherit it.  A failure is logged; the child runs on. */
void ph_nice_apply(const char *what, int level);

/* Close every listening socket this process inherited. */
void ph_child_close_listeners(void);

#endif /* PH_CHILD_H */
