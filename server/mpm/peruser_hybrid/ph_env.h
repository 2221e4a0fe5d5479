/*
 * ph_env.h -- server environments (<Processor name> blocks) and the mapping
 * from virtual hosts to environments (ServerEnvironment).
 *
 * Built by the parent while reading the configuration (a new table every
 * generation, allocated from pconf); children inherit it through fork()
 * and never change it.  This in-process copy -- never shared memory -- is
 * what decides who serves a virtual host as whom.
 */
#ifndef PH_ENV_H
#define PH_ENV_H

#include <stdint.h>
#include <sys/types.h>

#include "httpd.h"
#include "http_config.h"

#include "ph_config.h"

#define PH_ENV_MAGIC 0x50484556u     /* "PHEV" */
#define PH_IMPLICIT_ENV_NAME "default"
#define PH_NICE_UNSET 100            /* outside -20..19 */

typedef struct ph_env {
    unsigned magic;
    int index;                  /* position in the parent's ph_envs */
    const char *name;
    const char *user_name;      /* as configured */
    const char *group_name;
    uid_t uid;                  /* resolved in post_config */
    gid_t gid;
    ph_env_limits limits;
    const char *chroot_dir;     /* Chroot: NULL = none */
    apr_array_header_t *cgroups;/* Cgroup: directories (const char *);
                                 * NULL: none */
    /* The groups made for it under each CgroupRoot (dir/name; const char
     * *), computed at check_config by the parent and a factory alike;
     * created by the parent only (cgroup_groups.c).  NULL: none. */
    apr_array_header_t *cgroup_groups;
    int cgroup_required;        /* CgroupRequired on */
    int numa_node;              /* NUMANode: PH_NUMA_UNSET = the global */
    int nice_level;             /* NiceLevel: PH_NICE_UNSET = unchanged */
    const char *defn_file;      /* where the <Processor> block is */
    unsigned defn_line;
    int implicit;               /* created because no <Processor> exists */
    int routing_only;           /* the multiplexers' image: a name and an
                                 * index, no account or limits (they route
                                 * to it, never run it) */
    /* The environment's channel, created by the parent each generation
     * when first needed (parent_channels.c): [0] is the send end
     * (multiplexers, which get it from the parent's broker, broker.h),
     * [1] the receive end (processors of this environment only).  -1 when
     * not open in this process. */
    int chan[2];
    /* Its answer channel, made the same way: connections that waited
     * ProcessorWaitTimeout for a worker in vain, for the processors'
     * answer thread to refuse with httpd's 503 (proc_answer.c).  Its send
     * buffer is small, which bounds how many wait there.  -1 when not
     * open in this process. */
    int answer[2];
    /* Its record and region in the shared-memory segment: the segment is
     * new every generation, so this is its index; its figures are carried
     * forward from the last generation by name.  -1 until set up. */
    int shm_index;
} ph_env;

/* All environments of this generation (ph_env *), in definition order;
 * in a processor factory, those of its file (ph_env_by_index). */
extern apr_array_header_t *ph_envs;

/* Per-server module config: which environment serves this vhost. */
typedef struct ph_server_conf {
    const char *env_name;       /* ServerEnvironment, NULL if unset */
    const char *env_set_in;     /* for messages */
    ph_env *env;                /* resolved in post_config; NULL = none */
    int vhost_id;               /* position in the server list */
    int stands_for;             /* a processor factory's merged stub: the
                                 * number of vhosts it stands for
                                 * (PH_STUB_WEIGHT_DIRECTIVE); 0: one */
} ph_server_conf;

/* PH_STUB_WEIGHT_DIRECTIVE (envconf_stub.h): written by the parent into
 * every stub of an environment's file: the number of consecutive virtual
 * hosts of other environments it stands for, so that vhost ids stay those
 * of the whole configuration, which the multiplexers send
 * (ph_env_server_by_id).  A vhost that has it belongs to no environment
 * of this process (ph_env_of_server: NULL), which the guard answers 421
 * (proc_guard.c).  Also in the multiplexers' file, for a run whose
 * members it lists (ph_front.h): there the stub is bound to its first
 * member's environment.  Refused anywhere but in a factory's
 * <VirtualHost>. */
const char *ph_env_set_stub_weight(cmd_parms *cmd, void *dummy,
                                   const char *arg);

/* The number of virtual hosts of the whole configuration s stands for:
 * more than 1 only for a merged stub in a factory's image. */
int ph_env_stub_weight(const server_rec *s);

/* Whether s is a stub of an environment's file: another environment's
 * vhost(s), bound to none here (ph_env_of_server: NULL). */
int ph_env_is_stub(const server_rec *s);

void ph_env_reset(apr_pool_t *pconf);

/* The <Processor> container and ServerEnvironment directive handlers. */
const char *ph_env_processor_section(cmd_parms *cmd, void *dummy,
                                     const char *arg);
const char *ph_env_set_server_env(cmd_parms *cmd, void *dummy,
                                  const char *arg);

void *ph_env_create_server_conf(apr_pool_t *p, server_rec *s);
void *ph_env_merge_server_conf(apr_pool_t *p, void *base, void *add);

/*
 * post_config: resolve users and groups, refuse root and unknown ones,
 * bind every vhost to its environment, create the implicit environment
 * when there is no <Processor>.  Returns NULL or a message (pool p) that
 * names the offending block or vhost.
 */
const char *ph_env_resolve(apr_pool_t *p, server_rec *main_server);

/*
 * check_config, after ph_env_resolve: refuse environments that share the
 * server's (multiplexers') User or Group, and mod_cgid beside
 * environments; note environments that share a User (env_accounts.c).
 * Logs each problem with its own id; returns nonzero if any was refused.
 */
int ph_env_check_accounts(apr_pool_t *p);

/* The environment serving virtual host s, or NULL. */
ph_env *ph_env_of_server(const server_rec *s);

/* The vhost id of s (its position in the whole configuration's server
 * list: a merged stub counts for the vhosts it stands for). */
int ph_env_vhost_id(const server_rec *s);

/* The server whose vhost id is vhost_id in this process's list, or NULL
 * (an id past its end). */
server_rec *ph_env_server_by_id(uint32_t vhost_id);

/* The environment of index `index` in the parent's numbering, or NULL.
 * In a processor factory's file (envconf_write.c) only some blocks are
 * there, each with PH_ENV_INDEX_DIRECTIVE. */
ph_env *ph_env_by_index(int index);

/* Written by the parent into each <Processor> block of an environment's
 * file that holds only some of them: the block's index in the whole
 * configuration (the segment's records, the channel messages and the
 * factory's spec use it).  Refused but in a processor factory. */
#define PH_ENV_INDEX_DIRECTIVE "ProcessorIndex"

/* Written by the parent into the multiplexers' file in place of the
 * <Processor> blocks: every environment's name, in the parent's index
 * order (the multiplexers route to environments, never run one).
 * Refused but in the multiplexers' factory. */
#define PH_ENV_LIST_DIRECTIVE "MultiplexerEnvironments"

/* Its handler (config_table.c). */
const char *ph_env_list_cmd(cmd_parms *cmd, void *dummy, const char *arg);

/* The environment of <Processor name>, or NULL. */
ph_env *ph_env_named(const char *name);

/* test_config (env_dump.c): with -D DUMP_VHOSTS (apache2ctl -S) or
 * -D DUMP_ENVIRONMENTS, prints every environment and which environment and
 * user serve each virtual host, to stdout. */
void ph_env_dump(apr_pool_t *p, server_rec *main_server);

/* True when the server runs as root and so can switch users. */
int ph_env_can_switch_users(void);

#endif /* PH_ENV_H */
