/*
 * env_scoreboard.c -- httpd's scoreboard of an environment, in a file the
 * operator's environment (StatusEnvironment) may read.
 *
 * With processor factories each environment has its own httpd scoreboard
 * (its workers, their request lines and clients); no tenant sees another's.
 * The operator's environment should see them all.  So, when a
 * StatusEnvironment is named, each other environment's factory makes its
 * scoreboard a shared file mapping instead of anonymous memory:
 *
 *   <DefaultRuntimeDir>/peruser_hybrid-status/        root:<its group> 0710
 *       sb.<environment>.<generation>                  root:<its group> 0640
 *
 * and the StatusEnvironment's processors map each file read-only when a
 * status page is asked for (status_others.c).  Nobody else can open them:
 * other tenants are neither root nor in that group.
 *
 * Trust: the file is written by that environment's processors (they map it
 * read-write, as every httpd child maps its scoreboard): a reader takes
 * its geometry from its own configuration, never from the file, checks the
 * file's size against it, and treats every field as untrusted.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "httpd.h"
#include "apr_strings.h"
#include "http_log.h"
#include "http_main.h"
#include "scoreboard.h"

#include "ph_config.h"
#include "ph_env.h"
#include "ph_env_scoreboard.h"
#include "ph_log.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

#define STATUS_DIR "peruser_hybrid-status"

const ph_env *ph_env_scoreboard_viewer(void)
{
    int i;

    if (!ph_conf.status_env || !ph_envs) {
        return NULL;
    }
    for (i = 0; i < ph_envs->nelts; i++) {
        const ph_env *env = APR_ARRAY_IDX(ph_envs, i, ph_env *);
        if (!strcmp(env->name, ph_conf.status_env)) {
            return env;
        }
    }
    return NULL;
}

const char *ph_env_scoreboard_path(apr_pool_t *p, const char *env_name,
                                   ap_generation_t gen)
{
    return ap_runtime_dir_relative(p, apr_psprintf(p, STATUS_DIR "/sb.%s.%d",
                                                   env_name, (int)gen));
}

apr_size_t ph_env_scoreboard_size(int server_limit, int thread_limit)
{
    return APR_ALIGN_DEFAULT(sizeof(global_score))
           + (apr_size_t)server_limit
               * (APR_ALIGN_DEFAULT(sizeof(process_score))
                  + (apr_size_t)thread_limit
                      * APR_ALIGN_DEFAULT(sizeof(worker_score)));
}

int ph_env_scoreboard_dir(apr_pool_t *p)
{
    const ph_env *viewer = ph_env_scoreboard_viewer();
    const char *dir;
    struct stat st;

    if (!viewer || geteuid() != 0) {
        return 0;
    }
    dir = ap_runtime_dir_relative(p, STATUS_DIR);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        return errno;
    }
    /* Ours, a directory, not a link; then its group and mode. */
    if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0
        || chown(dir, 0, viewer->gid) != 0 || chmod(dir, 0710) != 0) {
        return errno ? errno : EPERM;
    }
    return 0;
}

static apr_status_t unlink_cleanup(void *path)
{
    unlink(path);
    return APR_SUCCESS;
}

int ph_env_scoreboard_create(apr_pool_t *pconf, const ph_env *env,
                             ap_generation_t gen)
{
    const ph_env *viewer = ph_env_scoreboard_viewer();
    apr_size_t size = ap_calc_scoreboard_size();
    const char *path;
    void *mem;
    int fd, rv;

    if (!viewer || viewer == env || geteuid() != 0) {
        return 0;               /* anonymous memory, as httpd makes it */
    }
    if (size != ph_env_scoreboard_size((int)ph_conf.server_limit,
                                       (int)ph_conf.thread_limit)) {
        return EINVAL;          /* this httpd lays it out otherwise */
    }
    path = ph_env_scoreboard_path(pconf, env->name, gen);
    unlink(path);               /* a factory of ours that was killed */
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              0600);
    if (fd < 0) {
        return errno;
    }
    if (fchown(fd, 0, viewer->gid) != 0 || fchmod(fd, 0640) != 0
        || ftruncate(fd, (off_t)size) != 0) {
        rv = errno;
        close(fd);
        unlink(path);
        return rv;
    }
    mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    rv = errno;
    close(fd);
    if (mem == MAP_FAILED) {
        unlink(path);
        return rv;
    }
    apr_pool_cleanup_register(pconf, apr_pstrdup(pconf, path),
                              unlink_cleanup, apr_pool_cleanup_null);
    /* A new file of holes reads as zeros: laid out, not cleared
     * (factory_scoreboard.c runs no ap_create_scoreboard). */
    ap_init_scoreboard(mem);
    return 0;
}
