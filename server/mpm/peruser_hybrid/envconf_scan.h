/*
 * envconf_scan.h -- the operator's configuration text, filtered for one
 * environment: every other environment's <VirtualHost> replaced by a stub.
 *
 * Pure: no httpd headers, no globals (APR only), so the CUnit suite
 * (tests/unit/test_envconf_scan.c) drives it with real files in a temp
 * directory.  The production glue is envconf_write.c.
 *
 * Why text: httpd executes EXEC_ON_READ directives (LoadModule, Define,
 * <IfModule>, <IfDefine>, Include, mod_macro's Use, third-party ones) while
 * it builds ap_conftree and leaves them out of it, so a dump of the tree
 * is lossy; the operator's own text, filtered, is not.
 *
 * What the scanner interprets, as httpd reads it:
 *   - logical lines: a trailing backslash joins the next physical line;
 *     a line's number is the number of its LAST physical line (httpd's
 *     ap_cfg_getline), which is what server_rec->defn_line_number holds;
 *   - Include / IncludeOptional, expanded in place everywhere except in
 *     the bodies of <Macro> and of sections it drops: ${VAR}s resolved,
 *     relative to ServerRoot, wildcards in any path component, a directory
 *     means every file under it, alphabetical order, 128 levels at most;
 *   - <Macro> ... </Macro> (nested ones counted): copied verbatim, not
 *     interpreted (a <VirtualHost> inside is a template);
 *   - <VirtualHost ...> ... </VirtualHost> and mod_macro's `Use` lines:
 *     the caller's vhost_source() says what each one is;
 *   - <Processor name> ... </Processor> (outside <VirtualHost> and
 *     <Macro>): the caller's processor_block() says whether it is copied
 *     (issue 13: an environment's file holds its own block, not the
 *     others').
 * Everything else is copied; comments and blank lines are dropped.
 */
#ifndef PH_ENVCONF_SCAN_H
#define PH_ENVCONF_SCAN_H

#include "apr_pools.h"

/* httpd's AP_MAX_INCLUDE_DEPTH: Include nested this deep at most. */
#define PH_ENVCONF_MAX_DEPTH 128

/* Where the scanner asks vhost_source(). */
typedef enum {
    PH_ENVCONF_AT_VHOST,        /* a <VirtualHost ...> line */
    PH_ENVCONF_AT_USE           /* a mod_macro `Use ...` line */
} ph_envconf_site;

/* What the text at a <VirtualHost> or `Use` line is, for this output. */
typedef enum {
    PH_ENVCONF_NOT_VHOST,   /* a Use that makes no vhost: copy the line */
    PH_ENVCONF_MINE,        /* the environment's own: copy verbatim */
    PH_ENVCONF_FOREIGN,     /* another's: replace by *text (the stub) */
    PH_ENVCONF_INACTIVE,    /* httpd made no such vhost: drop it */
    PH_ENVCONF_REFUSE       /* cannot be split: *text says why */
} ph_envconf_verdict;

typedef struct ph_envconf_callbacks {
    void *ctx;
    /* ${VAR} substitution of a whole line (production: ap_resolve_env). */
    const char *(*resolve_vars)(void *ctx, apr_pool_t *p, const char *text);
    /* path made absolute against ServerRoot (ap_server_root_relative);
     * NULL if it is not a valid path. */
    const char *(*resolve_path)(void *ctx, apr_pool_t *p, const char *path);
    /* The vhost(s) whose definition is at `line` of `file`.  FOREIGN and
     * REFUSE set *text (allocated from p or longer-lived).  *memo starts
     * NULL and keeps what the callback stores there for this same line
     * across every emit of one parsed document (e.g. its lookup). */
    ph_envconf_verdict (*vhost_source)(void *ctx, apr_pool_t *p,
                                       ph_envconf_site site,
                                       const char *file, unsigned line,
                                       void **memo, const char **text);
    /* Optional (NULL: lines are copied as they are): the text to write
     * for a line copied into env_name's output (outside stubs), or NULL
     * with *why set (from p) to refuse the output. */
    const char *(*rewrite_line)(void *ctx, apr_pool_t *p,
                                const char *env_name, const char *line,
                                const char **why);
    /* Optional (NULL: every <Processor> block is copied as it is): for
     * the <Processor> block of environment `name` (its opening line's
     * argument, ${VAR}s resolved), NULL to leave the whole block out of
     * this output, or text (from p or longer-lived; "" for none) to write
     * after its opening line. */
    const char *(*processor_block)(void *ctx, apr_pool_t *p,
                                   const char *name);
} ph_envconf_callbacks;

/* The configuration, read and expanded once (resolve_vars and
 * resolve_path are used), then emitted once per environment. */
typedef struct ph_envconf_doc ph_envconf_doc;

/*
 * Read conf_file (absolute) and everything it includes into *doc (from p).
 * Returns NULL, or a message (from p) naming the file and line at fault.
 */
const char *ph_envconf_parse(apr_pool_t *p, const char *conf_file,
                             const ph_envconf_callbacks *cb,
                             ph_envconf_doc **doc);

/*
 * The filtered configuration for environment env_name, into *text / *len
 * (NUL-terminated, from p), starting with a comment that says it is
 * generated, for whom, from what; vhost_source is asked about each
 * <VirtualHost> and Use met, in order (not about those inside a section
 * it dropped).  Returns NULL, or the REFUSE message, or another from p.
 */
const char *ph_envconf_emit(apr_pool_t *p, ph_envconf_doc *doc,
                            const char *env_name,
                            const ph_envconf_callbacks *cb,
                            const char **text, apr_size_t *len);

/* ph_envconf_parse, then ph_envconf_emit. */
const char *ph_envconf_scan(apr_pool_t *p, const char *conf_file,
                            const char *env_name,
                            const ph_envconf_callbacks *cb,
                            const char **text, apr_size_t *len);

/*
 * Store len bytes of text as dir/name: written to a new file created in
 * dir with O_EXCL|O_NOFOLLOW, mode 0600, then renamed over name,
 * so a reader sees the old file or the new one, never a part.  dir must
 * already exist (the caller vouches for its owner and mode).  Returns
 * NULL or a message from p.
 */
const char *ph_envconf_store(apr_pool_t *p, const char *dir,
                             const char *name, const char *text,
                             apr_size_t len);

#endif /* PH_ENVCONF_SCAN_H */
