/*
 * test_envconf_stub.c -- CUnit suite for server/mpm/peruser_hybrid/
 * envconf_stub.c: a stub's text, alone and standing for a run, and which
 * stubs may share one.
 */
#include <string.h>

#include <CUnit/CUnit.h>

#include "apr_pools.h"
#include "apr_strings.h"
#include "apr_tables.h"

#include "envconf_stub.h"
#include "unit_suites.h"

static apr_array_header_t *names(apr_pool_t *p, const char *const *list)
{
    apr_array_header_t *a = apr_array_make(p, 2, sizeof(const char *));

    for (; list && *list; list++) {
        APR_ARRAY_PUSH(a, const char *) = *list;
    }
    return a;
}

static void test_one_stub(void)
{
    apr_pool_t *p = ph_unit_pool();
    static const char *const al[] = { "www.a.test", "*.a.test", NULL };
    ph_stub_parts a = { "127.0.0.1:80 [::1]:80", "a.test", 8080, NULL, "t1",
                        "Protocols h2c http/1.1\n" };
    const ph_stub_parts *one = &a;

    a.aliases = names(p, al);
    CU_ASSERT_STRING_EQUAL(ph_stub_text(p, &one, 1, PH_STUB_NAMES_ENV),
                           "<VirtualHost 127.0.0.1:80 [::1]:80>\n"
                           "ServerName \"a.test:8080\"\n"
                           "ServerAlias \"www.a.test\" \"*.a.test\"\n"
                           "ServerEnvironment t1\n"
                           "Protocols h2c http/1.1\n"
                           "</VirtualHost>\n");
    /* no port, no alias, no environment, no head lines */
    a.port = 0;
    a.aliases = NULL;
    a.env = NULL;
    a.head = "";
    CU_ASSERT_STRING_EQUAL(ph_stub_text(p, &one, 1, PH_STUB_NAMES_ENV),
                           "<VirtualHost 127.0.0.1:80 [::1]:80>\n"
                           "ServerName \"a.test\"\n"
                           "</VirtualHost>\n");
}

/* In an environment's own file: no other environment's name (its block
 * is not there), a weight even for one vhost (the processor's mark of a
 * stub, env_registry.c). */
static void test_one_foreign_stub(void)
{
    apr_pool_t *p = ph_unit_pool();
    ph_stub_parts a = { "*:80", "a.test", 0, NULL, "t1", "" };
    const ph_stub_parts *one = &a;

    CU_ASSERT_STRING_EQUAL(ph_stub_text(p, &one, 1, PH_STUB_FOREIGN),
                           "<VirtualHost *:80>\n"
                           "ServerName \"a.test\"\n"
                           PH_STUB_WEIGHT_DIRECTIVE " 1\n"
                           "</VirtualHost>\n");
    a.env = NULL;       /* a vhost of no environment: the same */
    CU_ASSERT_STRING_EQUAL(ph_stub_text(p, &one, 1, PH_STUB_FOREIGN),
                           "<VirtualHost *:80>\n"
                           "ServerName \"a.test\"\n"
                           PH_STUB_WEIGHT_DIRECTIVE " 1\n"
                           "</VirtualHost>\n");
}

static void test_run_of_three(void)
{
    apr_pool_t *p = ph_unit_pool();
    static const char *const al2[] = { "www.b.test", NULL };
    ph_stub_parts a = { "*:80", "a.test", 81, NULL, "t1", "Timeout 5\n" };
    ph_stub_parts b = { "*:80", "b.test", 82, NULL, "t2", "Timeout 5\n" };
    ph_stub_parts c = { "*:80", "c.test", 0, NULL, "t3", "Timeout 5\n" };
    const ph_stub_parts *run[3] = { &a, &b, &c };

    b.aliases = names(p, al2);
    /* the first's ServerName (with its port); the others' names as
     * aliases (a host matches a name without its port); no environment */
    CU_ASSERT_STRING_EQUAL(ph_stub_text(p, run, 3, PH_STUB_FOREIGN),
                           "<VirtualHost *:80>\n"
                           "ServerName \"a.test:81\"\n"
                           "ServerAlias \"b.test\" \"www.b.test\" \"c.test\"\n"
                           PH_STUB_WEIGHT_DIRECTIVE " 3\n"
                           "Timeout 5\n"
                           "</VirtualHost>\n");
}

static void test_mergeable(void)
{
    ph_stub_parts a = { "*:80", "a", 0, NULL, "t1", "" };
    ph_stub_parts b = { "*:80", "b", 0, NULL, "t2", "" };

    CU_ASSERT_TRUE(ph_stub_mergeable(&a, &b));
    b.env = "t1";       /* the same environment: as well */
    CU_ASSERT_TRUE(ph_stub_mergeable(&a, &b));
    b.env = NULL;       /* no environment: never */
    CU_ASSERT_FALSE(ph_stub_mergeable(&a, &b));
    CU_ASSERT_FALSE(ph_stub_mergeable(&b, &a));
    b.env = "t2";
    b.addrs = "*:81";   /* other addresses */
    CU_ASSERT_FALSE(ph_stub_mergeable(&a, &b));
    b.addrs = "*:80 *:81";
    CU_ASSERT_FALSE(ph_stub_mergeable(&a, &b));
    b.addrs = "*:80";
    b.head = "KeepAliveTimeout 3\n";    /* other head-reading lines */
    CU_ASSERT_FALSE(ph_stub_mergeable(&a, &b));
    a.head = "KeepAliveTimeout 3\n";
    CU_ASSERT_TRUE(ph_stub_mergeable(&a, &b));
    /* a ServerName with a wildcard character: it would become a wildcard
     * ServerAlias in the run, which httpd matches otherwise */
    b.server_name = "*.b";
    CU_ASSERT_FALSE(ph_stub_mergeable(&a, &b));
    b.server_name = "b?";
    CU_ASSERT_FALSE(ph_stub_mergeable(&a, &b));
    CU_ASSERT_FALSE(ph_stub_mergeable(&b, &a));
    b.server_name = NULL;
    CU_ASSERT_TRUE(ph_stub_mergeable(&a, &b));
}

/* The multiplexers' member lines: one per member, in order, its
 * ServerName first; a member without names still has its line. */
static void test_member_lines(void)
{
    apr_pool_t *p = ph_unit_pool();
    static const char *const al[] = { "www.a.test", "*.a.test", NULL };
    ph_stub_parts a = { "*:80", "a.test", 8080, NULL, "t1", "" };
    ph_stub_parts b = { "*:80", NULL, 0, NULL, "t2", "" };
    ph_stub_parts c = { "*:80", "c.test", 0, NULL, "t1", "" };
    const ph_stub_parts *run[] = { &a, &b, &c };

    a.aliases = names(p, al);
    CU_ASSERT_STRING_EQUAL(ph_stub_members_text(p, run, 3),
                           PH_STUB_MEMBER_DIRECTIVE " 0 t1 \"a.test\" "
                           "\"www.a.test\" \"*.a.test\"\n"
                           PH_STUB_MEMBER_DIRECTIVE " 1 t2\n"
                           PH_STUB_MEMBER_DIRECTIVE " 2 t1 \"c.test\"\n");
}

/* A member with many names: its lines stay under httpd's line limit,
 * each naming the member again. */
static void test_member_lines_wrap(void)
{
    apr_pool_t *p = ph_unit_pool();
    apr_array_header_t *many = apr_array_make(p, 500, sizeof(const char *));
    ph_stub_parts a = { "*:80", "a.test", 0, NULL, "t1", "" };
    ph_stub_parts b = { "*:80", "b.test", 0, NULL, "t2", "" };
    const ph_stub_parts *run[] = { &a, &b };
    const char *text, *line, *end;
    int i, lines = 0, ok = 1;

    for (i = 0; i < 500; i++) {
        APR_ARRAY_PUSH(many, const char *) =
            apr_psprintf(p, "alias-%03d.a.test", i);
    }
    a.aliases = many;
    text = ph_stub_members_text(p, run, 2);
    for (line = text; *line; line = end + 1) {
        end = strchr(line, '\n');
        CU_ASSERT_FATAL(end != NULL);
        ok &= (end - line) < PH_STUB_ALIAS_LINE_MAX + 64;
        lines++;
        ok &= !strncmp(line, PH_STUB_MEMBER_DIRECTIVE " 0 t1 \"", 17)
              || !strncmp(line, PH_STUB_MEMBER_DIRECTIVE " 1 t2 \"b.test\"\n",
                          22);
    }
    CU_ASSERT(ok);
    CU_ASSERT(lines > 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"alias-499.a.test\"\n"
                                  PH_STUB_MEMBER_DIRECTIVE " 1 t2"));
}

/* A thousand names: ServerAlias lines stay under httpd's line limit, and
 * every name is there once. */
static void test_long_run_wraps(void)
{
    apr_pool_t *p = ph_unit_pool();
    ph_stub_parts *parts = apr_pcalloc(p, 1000 * sizeof(*parts));
    const ph_stub_parts **run = apr_palloc(p, 1000 * sizeof(*run));
    const char *text, *line, *end;
    int i, lines = 0, ok = 1;
    char *found;

    for (i = 0; i < 1000; i++) {
        parts[i].addrs = "127.0.0.1:8080";
        parts[i].server_name = apr_psprintf(p, "tenant-%04d.example.test", i);
        parts[i].env = apr_psprintf(p, "t%d", i);
        parts[i].head = "";
        run[i] = &parts[i];
    }
    text = ph_stub_text(p, run, 1000, PH_STUB_FOREIGN);
    for (line = text; *line; line = end + 1) {
        end = strchr(line, '\n');
        CU_ASSERT_PTR_NOT_NULL_FATAL(end);
        ok &= (end - line) < PH_STUB_ALIAS_LINE_MAX + 64;
        lines += !strncmp(line, "ServerAlias ", 12);
    }
    CU_ASSERT(ok);
    CU_ASSERT(lines > 1);
    for (i = 1; i < 1000; i++) {
        found = strstr(text, apr_psprintf(p, "\"tenant-%04d.example.test\"",
                                          i));
        ok &= found != NULL && !strstr(found + 1, apr_psprintf(
                  p, "\"tenant-%04d.example.test\"", i));
    }
    CU_ASSERT(ok);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "ServerName \"tenant-0000.example.test\"\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\n" PH_STUB_WEIGHT_DIRECTIVE " 1000\n"));
    CU_ASSERT_PTR_NULL(strstr(text, "ServerEnvironment"));
}

static const ph_unit_test tests[] = {
    { "one stub", test_one_stub },
    { "one stub in an environment's file", test_one_foreign_stub },
    { "a run of three", test_run_of_three },
    { "which stubs may share one", test_mergeable },
    { "a run of a thousand wraps its aliases", test_long_run_wraps },
    { "the multiplexers' member lines", test_member_lines },
    { "member lines wrap", test_member_lines_wrap },
};

int ph_unit_register_envconf_stub(void)
{
    return ph_unit_add_suite("envconf_stub", ph_unit_pool_cleanup, tests,
                             sizeof(tests) / sizeof(tests[0]));
}
