/*
 * ph_config_tree.h -- reading the configuration as httpd parsed it
 * (ap_conftree) for what a module's own configuration does not export.
 * Parent and children read their copy; nothing here is written.
 */
#ifndef PH_CONFIG_TREE_H
#define PH_CONFIG_TREE_H

#include "httpd.h"
#include "http_config.h"

/* The directives of s's own section: a <VirtualHost> block found by where
 * it was defined, or the top level for the main server (*top set).
 * (<IfModule>, <IfDefine> and Include are already spliced in.)  NULL if
 * the block is not found. */
const ap_directive_t *ph_config_section_of(const server_rec *s, int *top);

/* The header-read policy mod_reqtimeout applies on s (RequestReadTimeout
 * header=...), or httpd's Timeout when the module is not loaded or the
 * stage is off: wait initial_ms for the head, extended by 1 s per
 * min_rate bytes received (0: never) up to max_ms after the start (0: no
 * maximum). */
typedef struct ph_read_policy {
    long long initial_ms;
    long long max_ms;
    long min_rate;
    int per_read;       /* Timeout, not mod_reqtimeout: initial_ms bounds
                         * each wait for bytes, not the whole head */
} ph_read_policy;

void ph_config_read_policy(const server_rec *s, ph_read_policy *rp);

/* The arguments of the last `name` directive in s's own section, else in
 * the main server's (outside <VirtualHost>), or NULL: how a server-level
 * setting a module keeps private merges into a vhost that does not set
 * it. */
const char *ph_config_server_args(const server_rec *s, const char *name);

/* 1 if mod_ssl is loaded and serves s with TLS (`SSLEngine on` in its
 * own section, else in the main server's): a connection whose base server
 * this is starts with a TLS ClientHello. */
int ph_config_ssl_engine(const server_rec *s);

#endif /* PH_CONFIG_TREE_H */
