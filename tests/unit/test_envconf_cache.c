/*
 * test_envconf_cache.c -- CUnit suite for server/mpm/peruser_hybrid/
 * envconf_cache.c: which SSLSessionCache / SSLStaplingCache lines get an
 * environment's own place, and how they read afterwards.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "apr_pools.h"

#include "envconf_cache.h"
#include "unit_suites.h"

typedef struct {
    const char *line;
    const char *env;
    ph_cache_line_kind kind;
    const char *out;            /* NULL: the line itself (or, REFUSE: any) */
} cache_case;

static const cache_case cases[] = {
    /* shmcb: the path, before (size), gets the suffix */
    { "SSLSessionCache shmcb:/run/apache2/ssl_scache(512000)", "alice",
      PH_CACHE_LINE_PLACED,
      "SSLSessionCache shmcb:/run/apache2/ssl_scache.alice(512000)" },
    { "SSLSessionCache shmcb:/run/x", "bob", PH_CACHE_LINE_PLACED,
      "SSLSessionCache shmcb:/run/x.bob" },
    { "sslsessioncache   shmcb:logs/c(5)", "a", PH_CACHE_LINE_PLACED,
      "sslsessioncache   shmcb:logs/c.a(5)" },
    { "SSLSessionCache \"shmcb:/with space/c(5)\"", "a",
      PH_CACHE_LINE_PLACED, "SSLSessionCache \"shmcb:/with space/c.a(5)\"" },
    { "SSLSessionCache 'shmcb:/q/c'", "a", PH_CACHE_LINE_PLACED,
      "SSLSessionCache 'shmcb:/q/c.a'" },
    { "SSLSessionCache shmcb:/a(b)/c(5)", "a", PH_CACHE_LINE_PLACED,
      "SSLSessionCache shmcb:/a(b)/c.a(5)" },
    { "SSLSessionCache default:/d/c(5)", "a", PH_CACHE_LINE_PLACED,
      "SSLSessionCache default:/d/c.a(5)" },
    /* a name outside [A-Za-z0-9_-] is escaped as the conf file's is */
    { "SSLSessionCache shmcb:/c(5)", "web.1", PH_CACHE_LINE_PLACED,
      "SSLSessionCache shmcb:/c.web%2E1(5)" },
    /* dbm: the whole argument is the path, parentheses included */
    { "SSLSessionCache dbm:/var/cache/ssl(x)", "alice", PH_CACHE_LINE_PLACED,
      "SSLSessionCache dbm:/var/cache/ssl(x).alice" },
    { "SSLStaplingCache dbm:/run/stapling", "bob", PH_CACHE_LINE_PLACED,
      "SSLStaplingCache dbm:/run/stapling.bob" },
    { "SSLStaplingCache shmcb:/run/ocsp(32768)", "bob", PH_CACHE_LINE_PLACED,
      "SSLStaplingCache shmcb:/run/ocsp.bob(32768)" },
    /* dbm without a path: its default file, named in the runtime dir */
    { "SSLSessionCache dbm", "alice", PH_CACHE_LINE_PLACED,
      "SSLSessionCache \"dbm:/run/rt/socache-dbm-mod_ssl-sess.alice\"" },
    { "SSLStaplingCache dbm:", "bob", PH_CACHE_LINE_PLACED,
      "SSLStaplingCache \"dbm:/run/rt/socache-dbm-mod_ssl-staple.bob\"" },
    /* no place of its own: anonymous memory, or no cache */
    { "SSLSessionCache shmcb", "a", PH_CACHE_LINE_NONE, NULL },
    { "SSLSessionCache shmcb:", "a", PH_CACHE_LINE_NONE, NULL },
    { "SSLSessionCache shmcb:(512000)", "a", PH_CACHE_LINE_NONE, NULL },
    { "SSLSessionCache none", "a", PH_CACHE_LINE_NONE, NULL },
    { "SSLSessionCache nonenotnull", "a", PH_CACHE_LINE_NONE, NULL },
    /* outside this machine's files: kept, said */
    { "SSLSessionCache memcache:cache.example:11211", "a",
      PH_CACHE_LINE_OUTSIDE, NULL },
    { "SSLSessionCache redis:127.0.0.1:6379", "a", PH_CACHE_LINE_OUTSIDE,
      NULL },
    { "SSLStaplingCache dc:UNIX:/run/dc", "a", PH_CACHE_LINE_OUTSIDE, NULL },
    /* provider names are exact, as ap_lookup_provider compares them */
    { "SSLSessionCache SHMCB:/c(5)", "a", PH_CACHE_LINE_OUTSIDE, NULL },
    /* cannot be placed safely */
    { "SSLSessionCache \"shmcb:/c(5)", "a", PH_CACHE_LINE_REFUSE, NULL },
    { "SSLSessionCache \"shmcb:/a\\\"b(5)\"", "a", PH_CACHE_LINE_REFUSE,
      NULL },
    /* other lines */
    { "SSLSessionCacheTimeout 300", "a", PH_CACHE_LINE_OTHER, NULL },
    { "SSLCertificateFile shmcb:/c", "a", PH_CACHE_LINE_OTHER, NULL },
    { "", "a", PH_CACHE_LINE_OTHER, NULL },
    { "# SSLSessionCache shmcb:/c(5)", "a", PH_CACHE_LINE_OTHER, NULL },
};

static void test_cases(void)
{
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const cache_case *c = &cases[i];
        const char *out = NULL, *dir = "unset";
        ph_cache_line_kind k = ph_envconf_cache_line(ph_unit_pool(), c->line,
                                                     c->env, "/run/rt", &out,
                                                     &dir);

        if (k != c->kind) {
            fprintf(stderr, "\ncase %zu <%s>: kind %d, expected %d\n", i,
                    c->line, (int)k, (int)c->kind);
        }
        CU_ASSERT_EQUAL(k, c->kind);
        CU_ASSERT_PTR_NOT_NULL(out);
        if (c->kind == PH_CACHE_LINE_PLACED) {
            if (!out || strcmp(out, c->out)) {
                fprintf(stderr, "\ncase %zu <%s>: got <%s>\n", i, c->line,
                        out ? out : "(null)");
            }
            CU_ASSERT_STRING_EQUAL(out, c->out);
        }
        else if (c->kind != PH_CACHE_LINE_REFUSE) {
            CU_ASSERT_PTR_EQUAL(out, c->line);
        }
        if (c->kind == PH_CACHE_LINE_OTHER) {
            CU_ASSERT_STRING_EQUAL(dir, "unset");
        }
        else {
            CU_ASSERT(!strcmp(dir, "SSLSessionCache")
                      || !strcmp(dir, "SSLStaplingCache"));
        }
    }
}

static void test_dbm_default_without_runtime_dir(void)
{
    const char *out = NULL;

    CU_ASSERT_EQUAL(ph_envconf_cache_line(ph_unit_pool(), "SSLSessionCache dbm",
                                          "a", NULL, &out, NULL),
                    PH_CACHE_LINE_REFUSE);
    CU_ASSERT_EQUAL(ph_envconf_cache_line(ph_unit_pool(), "SSLSessionCache dbm",
                                          "a", "/r\"x", &out, NULL),
                    PH_CACHE_LINE_REFUSE);
}

static void test_two_environments_two_places(void)
{
    const char *a, *b, *line = "SSLSessionCache dbm:/run/c";

    ph_envconf_cache_line(ph_unit_pool(), line, "alice", NULL, &a, NULL);
    ph_envconf_cache_line(ph_unit_pool(), line, "bob", NULL, &b, NULL);
    CU_ASSERT_STRING_NOT_EQUAL(a, b);
    /* names that escape alike cannot meet: "a.b" is a%2Eb, not a.b */
    ph_envconf_cache_line(ph_unit_pool(), line, "a.b", NULL, &a, NULL);
    ph_envconf_cache_line(ph_unit_pool(), line, "a%2Eb", NULL, &b, NULL);
    CU_ASSERT_STRING_NOT_EQUAL(a, b);
}

static const ph_unit_test tests[] = {
    { "cache lines, case table", test_cases },
    { "dbm default needs a runtime dir", test_dbm_default_without_runtime_dir },
    { "two environments, two places", test_two_environments_two_places },
};

int ph_unit_register_envconf_cache(void)
{
    return ph_unit_add_suite("envconf_cache", ph_unit_pool_cleanup, tests,
                             sizeof(tests) / sizeof(tests[0]));
}
