/*
 * front_facts.c -- MultiplexerFacts: worked out by the parent, written
 * into the multiplexers' configuration, read back there (ph_front.h).
 */
#include <string.h>
#include <strings.h>

#include "httpd.h"
#include "apr_hash.h"
#include "apr_strings.h"
#include "http_config.h"

#include "mux.h"
#include "ph_config_tree.h"
#include "ph_factory.h"
#include "ph_front.h"
#include "ph_proto.h"

static const struct {
    const char *word;
    unsigned bit;
} fact_words[] = {
    { "tls", PH_FACT_TLS },
    { "h2c", PH_FACT_H2C },
    { "by-address", PH_FACT_BY_ADDRESS },
    { NULL, 0 }
};

/* server_rec * -> unsigned, this generation's (pconf) */
static apr_hash_t *stated;

unsigned ph_front_facts_compute(server_rec *s)
{
    unsigned f = 0;

    if (ph_config_ssl_engine(s)) {
        f |= PH_FACT_TLS;
    }
    if (ph_mux_h2c_direct(s)) {
        f |= PH_FACT_H2C;
    }
    if (ph_proto_server_by_address(s)) {
        f |= PH_FACT_BY_ADDRESS;
    }
    return f;
}

const char *ph_front_facts_line(apr_pool_t *p, unsigned facts)
{
    const char *line = PH_FRONT_FACTS_DIRECTIVE;
    int i;

    for (i = 0; fact_words[i].word; i++) {
        if (facts & fact_words[i].bit) {
            line = apr_pstrcat(p, line, " ", fact_words[i].word, NULL);
        }
    }
    return apr_pstrcat(p, line, facts ? "\n" : " none\n", NULL);
}

static apr_status_t forget_stated(void *unused)
{
    (void)unused;
    stated = NULL;
    return APR_SUCCESS;
}

const char *ph_front_facts_cmd(cmd_parms *cmd, void *dummy, const char *args)
{
    const server_rec **key;
    unsigned *facts;
    const char *word;

    (void)dummy;
    if (!ph_factory_makes_multiplexers()) {
        return PH_FRONT_FACTS_DIRECTIVE " is written by the server into the "
               "multiplexers' own configuration; it has no use elsewhere";
    }
    facts = apr_pcalloc(cmd->pool, sizeof(*facts));
    while (*(word = ap_getword_conf(cmd->temp_pool, &args))) {
        int i;

        for (i = 0; fact_words[i].word; i++) {
            if (!strcasecmp(word, fact_words[i].word)) {
                *facts |= fact_words[i].bit;
                break;
            }
        }
        if (!fact_words[i].word && strcasecmp(word, "none")) {
            return apr_pstrcat(cmd->pool, PH_FRONT_FACTS_DIRECTIVE
                               ": unknown fact ", word, NULL);
        }
    }
    if (!stated) {
        stated = apr_hash_make(cmd->pool);
        apr_pool_cleanup_register(cmd->pool, NULL, forget_stated,
                                  apr_pool_cleanup_null);
    }
    key = apr_palloc(cmd->pool, sizeof(*key));
    *key = cmd->server;
    apr_hash_set(stated, key, sizeof(*key), facts);
    return NULL;
}

int ph_front_facts_of(const server_rec *s, unsigned *facts)
{
    const unsigned *f;

    if (!stated || !(f = apr_hash_get(stated, &s, sizeof(s)))) {
        return 0;
    }
    *facts = *f;
    return 1;
}
