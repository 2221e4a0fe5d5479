/*
 * env_accounts.c -- accounts an environment must not share with the rest
 * of the server, checked at startup (check_config, so `apache2 -t` says it
 * too).
 *
 * Threat: the kernel's boundary between processes is the account.  Code in
 * an environment (a CGI, mod_lua, a native module) runs as the
 * environment's User and Group:
 *   - with the server's User it may signal or ptrace the multiplexers
 *     (SIGSTOP on them left every other tenant unanswered); with the
 *     server's Group (primary or supplementary) it reaches what the
 *     multiplexers' group may reach.  Refused.
 *   - mod_cgid runs CGIs from one daemon as the server's User, never as
 *     the environment's: with environments every CGI would either run as
 *     the wrong user or (today) fail with 503.  Refused, naming mod_cgi.
 *   - two environments with one User are one tenant to the kernel: each
 *     can signal the other's processes and write its files.  Allowed (an
 *     environment is a unit of limits, a tenant may have several), said
 *     once as a notice.
 * A configuration without <Processor> runs everything as the server's
 * User, as stock httpd does: it has one tenant and is not checked.
 */
#include <grp.h>
#include <stdlib.h>
#include <sys/types.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "apr_hash.h"
#include "apr_strings.h"
#include "unixd.h"

#include "ph_env.h"
#include "ph_factory.h"
#include "ph_log.h"
#include "ph_module.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

/* 1 if user (primary group gid) is also a member of group `group`. */
static int user_in_group(const ph_env *env, gid_t group)
{
    gid_t small[64], *groups = small;
    int n = (int)(sizeof(small) / sizeof(small[0])), i, found = 0;

    if (getgrouplist(env->user_name, env->gid, groups, &n) < 0) {
        if (n <= 0 || !(groups = malloc(sizeof(gid_t) * (size_t)n))) {
            return 0;
        }
        if (getgrouplist(env->user_name, env->gid, groups, &n) < 0) {
            n = 0;
        }
    }
    for (i = 0; i < n && !found; i++) {
        found = groups[i] == group;
    }
    if (groups != small) {
        free(groups);
    }
    return found;
}

/* user_in_group, asked once per (user, primary group): getgrouplist
 * reads the whole group database, and a thousand environments of a few
 * accounts asked it a thousand times (in every factory's start too). */
static int user_in_group_memo(apr_hash_t *memo, const ph_env *env,
                              gid_t group)
{
    apr_pool_t *p = apr_hash_pool_get(memo);
    const char *key = apr_psprintf(p, "%s:%ld", env->user_name,
                                   (long)env->gid);
    int *in = apr_hash_get(memo, key, APR_HASH_KEY_STRING);

    if (!in) {
        in = apr_palloc(p, sizeof(*in));
        *in = user_in_group(env, group);
        apr_hash_set(memo, key, APR_HASH_KEY_STRING, in);
    }
    return *in;
}

static int refuse_server_account(apr_pool_t *p, apr_hash_t *memo,
                                 const ph_env *env)
{
    uid_t server_uid = ap_unixd_config.user_id;
    gid_t server_gid = ap_unixd_config.group_id;
    const char *what = NULL;

    if (env->uid == server_uid) {
        what = apr_psprintf(p, "User %s is the server's User "
                            "(%s, uid %ld)", env->user_name,
                            ap_unixd_config.user_name, (long)server_uid);
    }
    else if (env->gid == server_gid) {
        what = apr_psprintf(p, "Group %s is the server's "
                            "Group (gid %ld)", env->group_name,
                            (long)server_gid);
    }
    else if (user_in_group_memo(memo, env, server_gid)) {
        what = apr_psprintf(p, "User %s is a member of the "
                            "server's Group (gid %ld)", env->user_name,
                            (long)server_gid);
    }
    if (!what) {
        return 0;
    }
    ap_log_error(APLOG_MARK, APLOG_CRIT | APLOG_STARTUP, 0, NULL,
                 PHLOGNO(00060) "<Processor %s> (%s:%u): %s, which the "
                 "multiplexers run as: code in this environment could signal "
                 "or trace them and stall every other environment.  Give "
                 "the environment a User and Group of its own", env->name,
                 env->defn_file, env->defn_line, what);
    return 1;
}

/* The environment at position i of ph_envs (its index only in the
 * parent: a processor factory's file holds some blocks, ph_env.h). */
static const ph_env *env_at(int i)
{
    return APR_ARRAY_IDX(ph_envs, i, const ph_env *);
}

/* One notice per account that several environments share (not one per
 * pair: a thousand environments of one test account would print half a
 * million lines), naming the first environment, the next one, and how
 * many more. */
static void note_shared_user(int index)
{
    const ph_env *env = env_at(index), *second = NULL;
    int i, more = 0;

    for (i = 0; i < index; i++) {
        if (env_at(i)->uid == env->uid) {
            return;             /* noted with the first one */
        }
    }
    for (i = index + 1; i < ph_envs->nelts; i++) {
        if (env_at(i)->uid == env->uid) {
            if (!second) {
                second = env_at(i);
            }
            else {
                more++;
            }
        }
    }
    if (!second) {
        return;
    }
    if (!more) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE | APLOG_STARTUP, 0, NULL,
                     PHLOGNO(00066) "<Processor %s> and <Processor %s> both "
                     "run as user %s: to the kernel they are one tenant "
                     "(each can signal the other's processes and write its "
                     "files)", env->name, second->name, env->user_name);
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_NOTICE | APLOG_STARTUP, 0, NULL,
                 PHLOGNO(00066) "<Processor %s>, <Processor %s> and %d more "
                 "environments all run as user %s: to the kernel they are "
                 "one tenant (each can signal the others' processes and "
                 "write their files)", env->name, second->name, more,
                 env->user_name);
}

int ph_env_check_accounts(apr_pool_t *p)
{
    apr_hash_t *memo;
    int i, refused = 0;

    if (!ph_envs || ph_envs->nelts == 0 || env_at(0)->implicit) {
        return 0;
    }
    if (ap_find_linked_module("mod_cgid.c")) {
        ap_log_error(APLOG_MARK, APLOG_CRIT | APLOG_STARTUP, 0, NULL,
                     PHLOGNO(00061) "mod_cgid is loaded, but with <Processor> "
                     "environments CGIs must run as the environment's user, "
                     "which mod_cgid's single daemon cannot do (its CGIs would "
                     "all fail): load mod_cgi instead (a2dismod cgid, then "
                     "LoadModule cgi_module /usr/lib/apache2/modules/"
                     "mod_cgi.so: Debian's a2enmod cgi picks mod_cgid for "
                     "threaded MPMs)");
        refused = 1;
    }
    memo = apr_hash_make(p);
    if (ph_factory_is_me()) {
        /* The parent checked every environment and said which share an
         * account.  A factory forks one environment's processors: that
         * one is checked again, against the accounts as they are when it
         * starts; the multiplexers' factory forks none.  (Every
         * environment's getgrouplist, through nsswitch, in each pass of
         * each factory's start, was a tenth of a factory's CPU at N = 10,
         * and grows with the number of accounts.) */
        const ph_env *mine = ph_factory_env();

        /* Once, in the pass the factory runs on: the first reads the
         * same file, minutes or microseconds earlier. */
        if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
            return refused;
        }
        return refused | (mine ? refuse_server_account(p, memo, mine) : 0);
    }
    for (i = 0; i < ph_envs->nelts; i++) {
        refused |= refuse_server_account(p, memo, env_at(i));
        note_shared_user(i);
    }
    return refused;
}
