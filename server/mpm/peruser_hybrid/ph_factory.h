/*
 * ph_factory.h -- an environment's processor factory (ProcessorImage exec).
 *
 * The parent holds every tenant's configuration; a processor forked from
 * it would hold them all too.  Instead, for each environment X in use,
 * the parent starts a factory: httpd itself, exec'd on X's configuration
 * (envconf_write.c: every other environment's virtual hosts reduced to
 * stubs), so other tenants' keys, passwords and log descriptors are never
 * read into its memory.  The factory stays root (it chroots, joins
 * cgroups and drops privileges for each processor it forks, as the
 * parent did), runs no request and listens on nothing.
 *
 *   parent                          factory of X (root, X's config only)
 *     | posix_spawn apache2 -f X.conf -D PH_FACTORY, descriptors 3-5
 *     |  <------------------------- READY  (configuration read, logs open)
 *     |  SPAWN slot ----------------> fork; the child forks the processor
 *     |                              and exits at once, so the processor
 *     |                              is re-parented to the parent (a
 *     |                              child subreaper): the parent waits
 *     |                              for it, signals it, owns its slot
 *     |  <------------------------- SPAWNED slot pid  (or FAILED)
 *     | close the control socket ---> EOF: the factory exits
 *
 * Trust: the factory is as trusted as the parent (root, the operator's
 * modules and configuration, no tenant code runs in it before a
 * processor drops privileges).  Still, the parent believes a pid only
 * once the kernel says it is the parent's own child (waitpid), never a
 * pid it already owns.
 */
#ifndef PH_FACTORY_H
#define PH_FACTORY_H

#include <stdint.h>
#include <sys/types.h>

#include "httpd.h"
#include "scoreboard.h"

#include "ph_env.h"

#define PH_FACTORY_MSG_MAGIC 0x50484643u   /* "PHFC" */

/* The define that marks an exec'd factory on its command line, and the
 * environment variable that carries what it needs to know (ph_factory_spec
 * in text: "env=<index> name=<name> gen=<generation> ino=<segment inode>
 * bells=<m>").  Both must be present: a stray define alone starts a
 * normal server. */
#define PH_FACTORY_DEFINE "PH_FACTORY"
#define PH_FACTORY_ENVVAR "PH_FACTORY_SPEC"

/* The descriptors a factory is exec'd with: the control socket, X's
 * channel and answer channel (receive ends), then the m doorbells
 * (doorbell.h: the multiplexers' and, last, the hand-back doorbell) from
 * PH_FACTORY_FD_BELLS on. */
#define PH_FACTORY_FD_CONTROL   3   /* SOCK_SEQPACKET to the parent */
#define PH_FACTORY_FD_CHANNEL   4   /* X's channel, receive end */
#define PH_FACTORY_FD_ANSWER    5   /* X's answer channel, receive end */
#define PH_FACTORY_FD_BELLS     6   /* the first of m doorbells */

/*
 * The multiplexers' factory (ProcessorImage exec): the same protocol, its
 * children are multiplexers (SPAWN's value: the multiplexer's index).  It
 * is exec'd on the multiplexers' configuration (envconf_write.c: every
 * virtual host a stub, with MultiplexerFacts, ph_front.h), so no tenant's
 * keys or settings are ever in a multiplexer's memory.  Spec:
 * "multiplexers gen=<g> ino=<segment inode> envs=<n> listeners=<l>
 * bells=<m>"; ino=0 when it is exec'd before the segment is made (the
 * parent creates the segment while the factory reads its configuration):
 * its first message is then SEGMENT, with the inode.  Descriptors: the control socket (3), the generation's
 * lifeline read end (4) and wake pipe write end (5), the m doorbells
 * (6 .. 5 + m: MaxMultiplexers' and, last, the hand-back doorbell,
 * doorbell.h), the m - 1 broker sockets' multiplexer ends (6 + m ..
 * 4 + 2m, broker.h), then the l listening sockets: nothing per
 * environment.
 */
#define PH_FACTORY_FD_LIFELINE  4
#define PH_FACTORY_FD_WAKE      5

typedef enum ph_factory_kind {
    PH_FACTORY_READY = 1,           /* factory -> parent: serving spawns */
    PH_FACTORY_SPAWN,               /* parent -> factory: fork for slot */
    PH_FACTORY_SPAWNED,             /* factory -> parent: slot, pid */
    PH_FACTORY_FAILED,              /* factory -> parent: slot, errno */
    PH_FACTORY_WAITING,             /* blank -> parent: waiting for ASSIGN */
    PH_FACTORY_ASSIGN,              /* parent -> blank: ph_factory_assign */
    PH_FACTORY_SEGMENT              /* parent -> multiplexers' factory
                                     * exec'd with ino=0: the segment's
                                     * inode (ph_factory_msg_ino) */
} ph_factory_kind;

typedef struct ph_factory_msg {
    uint32_t magic;                 /* PH_FACTORY_MSG_MAGIC */
    uint32_t kind;                  /* ph_factory_kind */
    int32_t slot;
    int32_t value;                  /* SPAWNED: pid; FAILED: errno */
} ph_factory_msg;

/* A SEGMENT message's inode, 64 bits in the two 32-bit fields: the high
 * half in slot, the low half in value.  Written by the parent, read by
 * the multiplexers' factory. */
static inline void ph_factory_msg_set_ino(ph_factory_msg *m, uint64_t ino)
{
    m->slot = (int32_t)(uint32_t)(ino >> 32);
    m->value = (int32_t)(uint32_t)(ino & 0xffffffffu);
}

static inline uint64_t ph_factory_msg_ino(const ph_factory_msg *m)
{
    return ((uint64_t)(uint32_t)m->slot << 32) | (uint32_t)m->value;
}

/*
 * Blank factories (issue 13, cold start; parent_blank.c, factory_blank.c).
 * A blank is exec'd exactly as a factory is (the same binary, -d, -D, -C,
 * -c, PH_FACTORY) but on the generation's blank file (envconf_blank.c:
 * the server's LoadModule lines, PH_BLANK_DIRECTIVE, then neutral
 * server-level lines that only its first pass reads), holding the control
 * socket at 3 and /dev/null at 4 .. 5 + m (where an environment's
 * descriptors will go), with the spec "blank gen=<g> bells=<m>" padded
 * with spaces to PH_BLANK_SPEC_ROOM.  In its second pass PH_BLANK_DIRECTIVE
 * says WAITING and blocks until the parent sends ASSIGN: the spec an
 * exec'd factory of X would have (written over the padded one, so
 * /proc/PID/environ shows it), X's file, and by SCM_RIGHTS X's channel,
 * answer channel and the m doorbells, which pre_config moves to 4, 5, 6..
 * X's file is then read in place of the rest of the blank file; from
 * there the blank is X's factory for good (READY, SPAWN, ...).
 *
 *   parent                              blank (root, no environment)
 *     | posix_spawn apache2 -f blank.G.conf, spec "blank ..."
 *     |  <----------------------------- WAITING (pass 2, modules loaded)
 *     |  ASSIGN spec, X.conf + fds ---> reads X.conf, pre_config adopts
 *     |  <----------------------------- READY, then as any factory
 */
#define PH_BLANK_DIRECTIVE  "PHFactoryBlankAwait"
#define PH_BLANK_SPEC_ROOM  480     /* bytes of the padded spec */
#define PH_BLANK_MAX_FDS    253     /* SCM_MAX_FD: channel, answer, bells */

typedef struct ph_factory_assign {
    uint32_t magic;                 /* PH_FACTORY_MSG_MAGIC */
    uint32_t kind;                  /* PH_FACTORY_ASSIGN */
    int32_t nfds;                   /* descriptors sent with it */
    int32_t reserved;
    char spec[PH_BLANK_SPEC_ROOM];  /* NUL-terminated, "env=..." */
    char path[1024];                /* X's file, NUL-terminated, absolute */
} ph_factory_assign;

/* ---- parent (parent_factory.c) ---------------------------------------- */

/* Whether this generation's processors come from factories: ProcessorImage
 * exec and at least one <Processor>. */
int ph_factory_in_use(void);

/* Start of a generation (parent, root): remember what a factory is exec'd
 * with (the binary, ServerRoot, the command line's -D/-C/-c) and become a
 * child subreaper so that processors forked by factories are ours.
 * Returns 0 or an errno value (logged). */
int ph_factory_generation_start(apr_pool_t *pconf);

/* Exec the multiplexers' factory now, before the generation's segment
 * exists (spec ino=0), so that it reads its configuration while the
 * parent makes the segment: on two cores that time is no longer spent one
 * after the other (issue 13, start-up).  ph_factory_segment_made then
 * tells it the segment's inode.  Nothing is done if factories are not in
 * use; a failure is left to the first multiplexer's fork, which launches
 * it the usual way. */
void ph_factory_launch_multiplexers_early(void);

/* The generation's segment is made (ino): tell an early multiplexers'
 * factory.  If it cannot be told, it is let go and the first
 * multiplexer's fork launches another. */
void ph_factory_segment_made(unsigned long ino);

/* Fork a processor of env for slot through env's factory (started first
 * if needed, waiting for it to be ready).  Returns the processor's pid,
 * a child of this process, or -1 (logged). */
pid_t ph_factory_fork_processor(ph_env *env, int slot);

/* Fork a multiplexer for slot (mux_index: its ticket partitions) through
 * the multiplexers' factory, as ph_factory_fork_processor does. */
pid_t ph_factory_fork_multiplexer(int slot, int mux_index);

/* A reaped pid: 1 if it was a factory (forgotten; the next spawn starts
 * another), 0 if not. */
int ph_factory_reaped(pid_t pid, int status);

/* Whether environment env_index of this generation has a factory (started
 * or starting); 0 when processors are not made by factories. */
int ph_factory_running(int env_index);

/* End of a generation: its factories are kept, with their piped loggers,
 * while processors of theirs live; each is told to exit (its control
 * socket closed) once none does.  Their processors are unaffected. */
void ph_factory_generation_end(void);

/* Let go of older generations' factories whose processors are all gone
 * (the main loop, after reaping). */
void ph_factory_tidy(void);

/* In a child forked from the parent (a multiplexer, or a processor with
 * ProcessorImage fork), first thing: close every factory's control socket.
 * Only the parent may ask a root factory for anything; a copy in a child
 * would also keep an old factory from seeing EOF when the parent lets it
 * go. */
void ph_factory_close_in_child(void);

/* ---- the factory itself (factory_main.c) ------------------------------ */

/* In pre_config: is this process an exec'd factory?  (Both the define and
 * the variable.) */
int ph_factory_is_me(void);

/* The MPM's run hook in a factory: attach, announce READY, fork
 * processors on request until the control socket closes.  Returns DONE. */
int ph_factory_run(apr_pool_t *pconf, server_rec *s);

/* In a factory, after check_config: the environment it was started for
 * (PH_FACTORY_SPEC), or NULL (not a factory, or a spec naming none). */
ph_env *ph_factory_env(void);

/* A factory, in place of httpd's pre_mpm: its scoreboard mapped (or, with
 * a StatusEnvironment, in env's file) and laid out by httpd without a
 * page written, then every other pre_mpm hook run (factory_scoreboard.c).
 * OK, or pre_mpm's failure. */
int ph_factory_scoreboard(server_rec *s, apr_pool_t *pconf,
                          const ph_env *env, ap_generation_t gen);

/* pre_config in a factory: every descriptor the parent gave it made
 * close-on-exec again (exec cleared it), before any module can start a
 * program (a piped logger in open_logs, a CGI in a processor) that would
 * otherwise inherit channels or listeners. */
void ph_factory_inherited_cloexec(void);

/* Whether this process is the multiplexers' factory. */
int ph_factory_makes_multiplexers(void);

/* open_logs in the multiplexers' factory, instead of ap_setup_listeners:
 * every configured Listen gets the inherited socket bound to its address.
 * OK, or !OK (logged) when they do not match one to one. */
int ph_factory_adopt_listeners(apr_pool_t *pconf, server_rec *s);

/*
 * factory_owner.c, around the factory's post_config: what its modules
 * make at start-up is made for its environment (httpd's User is the
 * environment's, the umask 077).  adopt runs first, restore last.
 */
int ph_factory_owner_adopt(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp, server_rec *s);
int ph_factory_owner_restore(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp, server_rec *s);

/* Launch env's factory now if it is not running, without waiting for
 * it: the parent launches the factories of every environment it is about
 * to give a first processor, so that they read their configurations side
 * by side (the fork that follows waits for each READY in turn). */
void ph_factory_prestart(ph_env *env);

/* The arguments a factory (or blank) is exec'd with, from p: the
 * parent's own, -f conf, and a PidFile of its own named after label; and
 * the spawn itself (fds[i] at 3 + i, PH_FACTORY_ENVVAR=spec). */
char *const *ph_factory_argv(apr_pool_t *p, const char *conf,
                             const char *label);
int ph_factory_spawn(apr_pool_t *p, const apr_array_header_t *fds,
                     char *const argv[], const char *spec, pid_t *pid);

/* ---- blank factories, the parent's side (parent_blank.c) -------------- */

/* Start of a generation: no blank yet (those of the last one are gone). */
void ph_blank_generation_start(void);

/* Take a live blank of this generation for env: ASSIGN sent with spec,
 * path and fds.  0 and *pid, *ctl (the blank is then env's factory and
 * no longer in the reserve), or -1: none, or it failed (killed). */
int ph_blank_take(const char *spec, const char *path,
                  const apr_array_header_t *fds, pid_t *pid, int *ctl);

/* After a cold start: start blanks up to FactoryReserve. */
void ph_blank_top_up(void);

/* The main loop: a blank unused for a while, or one that never said
 * WAITING, is stopped. */
void ph_blank_tidy(void);

/* A reaped pid: 1 if it was a blank of the reserve (forgotten), else 0. */
int ph_blank_reaped(pid_t pid, int status);

/* End of a generation, and in a child forked from the parent: every blank
 * stopped (killed) and its control socket closed. */
void ph_blank_generation_end(void);
void ph_blank_close_in_child(void);

/* ---- a blank, in itself (factory_blank.c) ----------------------------- */

/* PH_BLANK_DIRECTIVE (EXEC_ON_READ): nothing in the first pass; in the
 * second, WAITING, ASSIGN, and the environment's file read in place of
 * the rest of this one. */
const char *ph_factory_blank_cmd(cmd_parms *cmd, void *mconfig);

/* Whether this process is a blank not yet assigned. */
int ph_factory_is_blank(void);

/* pre_config of the pass after ASSIGN: the descriptors it brought moved
 * to 4, 5, 6 ..  OK, or !OK (logged: the blank exits, its environment's
 * factory is exec'd instead). */
int ph_factory_blank_adopt(void);

/* pre_config, in a factory's first configuration pass only: unlink the
 * <VirtualHost> sections from the tree (factory_first_pass.c). */
void ph_factory_first_pass_prune(void);

#endif /* PH_FACTORY_H */
