/*
 * envconf_blank_write.c -- the root parent writes the blank factories'
 * file once per generation, beside the multiplexers' file and from its
 * text (ph_envconf.h; the text is envconf_blank.c's, the blank itself
 * factory_blank.c).
 *
 * What a blank reads before it is given an environment must hold nothing
 * of any environment: the server's LoadModule/LoadFile lines (module
 * paths), the directive it waits at, and neutral lines for its first
 * pass only -- the main server's ErrorLog (where the blank's own start-up
 * errors go, as a factory's do), httpd's DefaultRuntimeDir, User and
 * Group (the multiplexers' account: the accounts check of a first pass),
 * and ServerName localhost (no resolver call for the host's name).  No
 * virtual host, no <Processor>, no tenant's name, path or secret.
 */
#include <string.h>

#include "httpd.h"
#include "apr_strings.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "unixd.h"

#include "envconf_blank.h"
#include "envconf_scan.h"
#include "ph_envconf.h"
#include "ph_factory.h"
#include "ph_log.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

static const char *blank_path;

void ph_envconf_blank_forget(void)
{
    blank_path = NULL;
}

const char *ph_envconf_blank_path(void)
{
    return blank_path;
}

static const char *resolve(void *ctx, apr_pool_t *p, const char *line)
{
    (void)ctx;
    return ap_resolve_env(p, line);
}

/* value in double quotes, or NULL if it cannot be written so plainly */
static const char *quoted(apr_pool_t *p, const char *value)
{
    return value && !strpbrk(value, "\"\\\r\n")
           ? apr_pstrcat(p, "\"", value, "\"", NULL) : NULL;
}

const char *ph_envconf_blank_write(apr_pool_t *p, apr_pool_t *ptemp,
                                   server_rec *s, const char *dir, int gen,
                                   const char *front_text)
{
    const char *err_log = quoted(ptemp, s->error_fname);
    const char *run = quoted(ptemp, ap_runtime_dir_relative(ptemp, ""));
    const char *tail, *text = NULL, *why = NULL, *name, *msg;

    if (!err_log || !run) {
        why = "the ErrorLog or DefaultRuntimeDir cannot be written plainly";
    }
    else {
        tail = apr_psprintf(ptemp,
                            "# Read by a blank's first pass only:\n"
                            "ErrorLog %s\n"
                            "DefaultRuntimeDir %s\n"
                            "User #%ld\n"
                            "Group #%ld\n"
                            "ServerName localhost\n", err_log, run,
                            (long)ap_unixd_config.user_id,
                            (long)ap_unixd_config.group_id);
        text = ph_envconf_blank_text(ptemp, front_text, PH_BLANK_DIRECTIVE,
                                     tail, resolve, NULL, &why);
    }
    name = apr_psprintf(p, PH_ENVCONF_BLANK_PREFIX "%d.conf", gen);
    if (!why && (msg = ph_envconf_store(ptemp, dir, name, text,
                                        strlen(text)))) {
        why = msg;
    }
    if (why) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, PHLOGNO(00661)
                     "no blank factories this generation (FactoryReserve "
                     "is not used): %s", why);
        return NULL;
    }
    blank_path = apr_pstrcat(p, dir, "/", name, NULL);
    return name;
}
