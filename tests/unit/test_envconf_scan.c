/*
 * test_envconf_scan.c -- CUnit suite for
 * server/mpm/peruser_hybrid/envconf_scan.c.
 *
 * Every test writes real files into a fresh temp directory (the "server
 * root" of the test's resolve_path) and scans them with table-driven
 * callbacks: ${VAR}s from a fixed list, and a verdict per (file, line,
 * site) from the test's own table.  Each call of vhost_source is recorded,
 * so tests can assert the exact line numbers httpd would give.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "apr_general.h"
#include "apr_strings.h"

#include "envconf_scan.h"
#include "unit_suites.h"

#define MAX_RULES 16
#define MAX_CALLS 32

/* The verdict for a site at file (relative to root) and line. */
typedef struct {
    const char *file;
    unsigned line;
    ph_envconf_site site;
    ph_envconf_verdict verdict;
    const char *text;
} rule;

/* A call of vhost_source, as the scanner made it. */
typedef struct {
    char file[512];
    unsigned line;
    ph_envconf_site site;
} call;

typedef struct {
    char root[256];
    int memo_misses;            /* calls that found *memo NULL */
    rule rules[MAX_RULES];
    int nrules;
    call calls[MAX_CALLS];
    int ncalls;
} fixture;

static apr_pool_t *pool;
static fixture fx;
static const char *out;
static apr_size_t out_len;

/* Calls of resolve_vars: httpd warns about each undefined variable it
 * meets, so the scanner should resolve no more than it needs. */
static int resolutions;

static const char *resolve_vars(void *ctx, apr_pool_t *p, const char *text)
{
    static const char *const vars[][2] = {
        { "${CONFDIR}", "conf.d" },
        { "${SITE}", "site.conf" },
        { "${INC}", "IncludeOptional" },
    };
    const char *s = text;
    size_t i;

    (void)ctx;
    resolutions++;
    for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        const char *hit;

        while ((hit = strstr(s, vars[i][0])) != NULL) {
            s = apr_pstrcat(p, apr_pstrmemdup(p, s, hit - s), vars[i][1],
                            hit + strlen(vars[i][0]), NULL);
        }
    }
    return s;
}

static const char *resolve_path(void *ctx, apr_pool_t *p, const char *path)
{
    fixture *f = ctx;

    if (path[0] == '/') {
        return path;
    }
    return apr_pstrcat(p, f->root, "/", path, NULL);
}

static ph_envconf_verdict vhost_source(void *ctx, apr_pool_t *p,
                                       ph_envconf_site site, const char *file,
                                       unsigned line, void **memo,
                                       const char **text)
{
    fixture *f = ctx;
    size_t rl = strlen(f->root);
    const char *rel = strncmp(file, f->root, rl) == 0 && file[rl] == '/'
                      ? file + rl + 1 : file;
    int i;

    (void)p;
    if (*memo == NULL) {
        f->memo_misses++;
        *memo = f;
    }
    if (f->ncalls < MAX_CALLS) {
        call *c = &f->calls[f->ncalls++];
        snprintf(c->file, sizeof(c->file), "%s", rel);
        c->line = line;
        c->site = site;
    }
    for (i = 0; i < f->nrules; i++) {
        rule *r = &f->rules[i];
        if (r->line == line && r->site == site && !strcmp(r->file, rel)) {
            *text = r->text;
            return r->verdict;
        }
    }
    return site == PH_ENVCONF_AT_USE ? PH_ENVCONF_NOT_VHOST
                                     : PH_ENVCONF_INACTIVE;
}

static const ph_envconf_callbacks callbacks = {
    &fx, resolve_vars, resolve_path, vhost_source, NULL, NULL
};

/* rewrite_line for the test below: tags lines starting with "Tag", refuses
 * one starting with "Refuse". */
static const char *rewrite_tag(void *ctx, apr_pool_t *p, const char *env,
                               const char *line, const char **why)
{
    (void)ctx;
    if (!strncmp(line, "Refuse", 6)) {
        *why = "refused by the test";
        return NULL;
    }
    return strncmp(line, "Tag", 3) ? line
                                    : apr_pstrcat(p, line, ".", env, NULL);
}

static void rm_tree(const char *path)
{
    struct stat st;

    if (lstat(path, &st) != 0) {
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;

        while (d && (e = readdir(d)) != NULL) {
            char sub[1024];
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) {
                continue;
            }
            snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
            rm_tree(sub);
        }
        if (d) {
            closedir(d);
        }
        rmdir(path);
    }
    else {
        unlink(path);
    }
}

/* A fresh fixture: temp root, no rules, a new pool. */
static void setup(void)
{
    static int apr_ready;

    if (!apr_ready) {
        apr_initialize();
        apr_ready = 1;
    }
    if (pool) {
        apr_pool_destroy(pool);
    }
    apr_pool_create(&pool, NULL);
    if (fx.root[0]) {
        rm_tree(fx.root);
    }
    memset(&fx, 0, sizeof(fx));
    snprintf(fx.root, sizeof(fx.root), "/tmp/ph-envconf-unit-XXXXXX");
    CU_ASSERT_FATAL(mkdtemp(fx.root) != NULL);
    out = NULL;
    out_len = 0;
    resolutions = 0;
}

static int suite_cleanup(void)
{
    if (fx.root[0]) {
        rm_tree(fx.root);
        fx.root[0] = '\0';
    }
    if (pool) {
        apr_pool_destroy(pool);
        pool = NULL;
    }
    return 0;
}

/* Write root/rel (making its directories) with the given text. */
static void put(const char *rel, const char *text)
{
    char path[1024];
    char *c;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", fx.root, rel);
    for (c = path + strlen(fx.root) + 1; (c = strchr(c, '/')) != NULL; c++) {
        *c = '\0';
        mkdir(path, 0700);
        *c = '/';
    }
    f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs(text, f);
    fclose(f);
}

static void add_rule(const char *file, unsigned line, ph_envconf_site site,
                     ph_envconf_verdict v, const char *text)
{
    rule *r = &fx.rules[fx.nrules++];

    r->file = file;
    r->line = line;
    r->site = site;
    r->verdict = v;
    r->text = text;
}

/* Scan root/main.conf: NULL or the error. */
static const char *scan_main(void)
{
    const char *conf = apr_pstrcat(pool, fx.root, "/main.conf", NULL);

    out = NULL;
    return ph_envconf_scan(pool, conf, "alice", &callbacks, &out, &out_len);
}

/* The output without its two header lines. */
static const char *body(void)
{
    const char *s = out;
    int i;

    for (i = 0; s && i < 2; i++) {
        s = strchr(s, '\n');
        s = s ? s + 1 : NULL;
    }
    return s ? s : "";
}

static int has(const char *needle)
{
    return out && strstr(out, needle) != NULL;
}

/* needles appear in out in this order (NULL-terminated list). */
static int in_order(const char *first, ...)
{
    va_list ap;
    const char *s = out, *n = first;
    int ok = 1;

    va_start(ap, first);
    while (n) {
        const char *hit = s ? strstr(s, n) : NULL;
        if (!hit) {
            ok = 0;
            break;
        }
        s = hit + strlen(n);
        n = va_arg(ap, const char *);
    }
    va_end(ap);
    return ok;
}

static void test_header_and_comments(void)
{
    setup();
    put("main.conf", "# a comment\n\n   Listen 80   \nServerName x\n");
    CU_ASSERT_PTR_NULL(scan_main());
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    CU_ASSERT(strncmp(out, "# Generated by peruser_hybrid for environment "
                      "'alice' from ", 46) == 0);
    CU_ASSERT(has("main.conf"));
    CU_ASSERT(has("Do not edit"));
    CU_ASSERT_STRING_EQUAL(body(), "Listen 80\nServerName x\n");
    CU_ASSERT_EQUAL(out_len, strlen(out));
}

static void test_include_file_relative(void)
{
    setup();
    put("main.conf", "A 1\nInclude sub.conf\nB 2\n");
    put("sub.conf", "S 1\nS 2\n");
    CU_ASSERT_PTR_NULL(scan_main());
    CU_ASSERT_STRING_EQUAL(body(), "A 1\nS 1\nS 2\nB 2\n");
}

static void test_include_quoted_case_and_absolute(void)
{
    setup();
    put("sub.conf", "S 1\n");
    put("main.conf", apr_psprintf(pool, "include \"%s/sub.conf\"\n"
                                  "INCLUDEOPTIONAL 'sub.conf'\n", fx.root));
    CU_ASSERT_PTR_NULL(scan_main());
    CU_ASSERT_STRING_EQUAL(body(), "S 1\nS 1\n");
}

static void test_include_glob_sorted(void)
{
    setup();
    put("main.conf", "Include conf.d/*.conf\n");
    put("conf.d/b.conf", "B\n");
    put("conf.d/a.conf", "A\n");
    put("conf.d/c.txt", "C\n");
    put("conf.d/.hidden.conf", "H\n");
    CU_ASSERT_PTR_NULL(scan_main());
    CU_ASSERT_STRING_EQUAL(body(), "A\nB\n");
}

static void test_include_glob_in_directory(void)
{
    setup();
    put("main.conf", "Include sites/*/vh.conf\n");
    put("sites/two/vh.conf", "TWO\n");
    put("sites/one/vh.conf", "ONE\n");
    put("sites/file", "not a directory\n");
    CU_ASSERT_PTR_NULL(scan_main());
    CU_ASSERT_STRING_EQUAL(body(), "ONE\nTWO\n");
    /* A matching directory without the file: httpd fails Include (so
     * this is a skipped section), IncludeOptional takes the others. */
    put("sites/three/other.conf", "THREE\n");
    CU_ASSERT_PTR_NULL(scan_main());
    CU_ASSERT(strncmp(body(), "Error \"peruser_hybrid: Include of ", 34)
              == 0);
    CU_ASSERT(!has("ONE"));
    put("main.conf", "IncludeOptional sites/*/vh.conf\n");
    CU_ASSERT_PTR_NULL(scan_main());
    CU_ASSERT_STRING_EQUAL(body(), "ONE\nTWO\n");
}

static void test_include_directory_recursive(void)
{
    setup();
    put("main.conf", "Include dir\nIncludeOptional dir/\n");
    put("dir/b", "B\n");
    put("dir/a/y", "AY\n");
    put("dir/a/x", "AX\n");
    CU_ASSERT_PTR_NULL(scan_main());
    CU_ASSERT_STRING_EQUAL(body(), "AX\nAY\nB\nAX\nAY\nB\n");
}

static void test_include_optional_missing(void)
{
    setup();
    put("main.conf", "A\nIncludeOptional nothere.conf\n"
        "IncludeOptional conf.d/*.conf\nIncludeOptional nodir/*.conf\nB\n");
    mkdir(apr_pstrcat(pool, fx.root, "/conf.d", NULL), 0700);
    CU_ASSERT_PTR_NULL(scan_main());
    CU_ASSERT_STRING_EQUAL(body(), "A\nB\n");
}

/* httpd would refuse these where it reads them: so they are in sections
 * it skips, and become inert Error lines, never a later unfiltered read. */
static void test_include_missing_becomes_error(void)
{
    setup();
    put("main.conf", "<IfDefine NOPE>\nInclude nothere.conf\n"
        "Include conf.d/*.conf\n</IfDefine>\n");
    put("conf.d/x.txt", "X\n");
    CU_ASSERT_PTR_NULL(scan_main());
    CU_ASSERT(in_order("<IfDefine NOPE>\nError \"peruser_hybrid: Include of ",
                       "nothere.conf (line 2 of ", "matched nothing",
                       "\nError \"", "conf.d/*.conf (line 3 of ",
                       "\n</IfDefine>\n", NULL));
    CU_ASSERT(!has("Include nothere"));
    CU_ASSERT(!has("X\n"));
}

static void test_include_vars(void)
{
    setup();
    put("main.conf", "Include ${CONFDIR}/${SITE}\n"
        "${INC} ${CONFDIR}/${SITE}\n"
        "SetEnv X ${SITE}\n");
    put("conf.d/site.conf", "SITE\n");
    CU_ASSERT_PTR_NULL(scan_main());
    CU_ASSERT_STRING_EQUAL(body(), "SITE\nSITE\nSetEnv X ${SITE}\n");
    /* Only what names the directive or an Include's path is resolved. */
    CU_ASSERT_EQUAL(resolutions, 2);
}

/* Copied text keeps its ${VAR}s: the environment's httpd resolves them. */
static void test_vars_copied_unresolved(void)
{
    setup();
    put("main.conf", "DocumentRoot ${CONFDIR}/www\n");
    CU_ASSERT_PTR_NULL(scan_main());
    CU_ASSERT_STRING_EQUAL(body(), "DocumentRoot ${CONFDIR}/www\n");
}

static void test_include_depth_limit(void)
{
    setup();
    put("main.conf", "Include loop.conf\n");
    put("loop.conf", "X\nInclude loop.conf\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(scan_main());
    CU_ASSERT(strstr(scan_main(), "nested deeper than 128 files") != NULL);
}

static void test_include_depth_128_allowed(void)
{
    int i;

    setup();
    put("main.conf", "Include f1.conf\n");
    for (i = 1; i <= PH_ENVCONF_MAX_DEPTH; i++) {
        put(apr_psprintf(pool, "f%d.conf", i),
            i < PH_ENVCONF_MAX_DEPTH
            ? apr_psprintf(pool, "Include f%d.conf\n", i + 1) : "DEEP\n");
    }
    CU_ASSERT_PTR_NULL(scan_main());
    CU_ASSERT_STRING_EQUAL(body(), "DEEP\n");
}

/* httpd numbers a logical line by its last physical line. */
static void test_continuation_line_numbers(void)
{
    setup();
    put("main.conf",
        "Listen \\\n"                   /* 1 */
        "   80\n"                       /* 2 */
        "<VirtualHost \\\r\n"           /* 3 */
        "*:80>\n"                       /* 4: the vhost's line */
        "ServerName a\n"                /* 5 */
        "</VirtualHost>\n"              /* 6 */
        "# comment \\\n"                /* 7 */
        "Hidden by the comment\n"       /* 8 */
        "<VirtualHost *:80>\n"          /* 9 */
        "</VirtualHost>\n");
    add_rule("main.conf", 4, PH_ENVCONF_AT_VHOST, PH_ENVCONF_MINE, NULL);
    CU_ASSERT_PTR_NULL(scan_main());
    CU_ASSERT_EQUAL_FATAL(fx.ncalls, 2);
    CU_ASSERT_EQUAL(fx.calls[0].line, 4);
    CU_ASSERT_EQUAL(fx.calls[1].line, 9);
    put("main.conf",
        "Listen \\\n"                   /* 1 */
        "   80\n"                       /* 2 */
        "<VirtualHost \\\r\n"           /* 3 */
        "*:80>\n"                       /* 4 */
        "ServerName a\n"                /* 5 */
        "</VirtualHost>\n"              /* 6 */
        "# comment \\\n"                /* 7 */
        "Hidden by the comment\n");     /* 8 */
    fx.ncalls = 0;
    CU_ASSERT_PTR_NULL(scan_main());
    CU_ASSERT_STRING_EQUAL(body(), "Listen    80\n<VirtualHost *:80>\n"
                           "ServerName a\n</VirtualHost>\n");
}

/* A continuation at the very end counts one line more, as httpd does. */
static void test_continuation_at_end_of_file(void)
{
    setup();
    put("main.conf", "A\n<VirtualHost *:80> \\\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(scan_main());
    CU_ASSERT(strstr(scan_main(), "<VirtualHost> on line 3 of ") != NULL);
}

static const char *const three_vhosts =
    "Listen 80\n"                                   /* 1 */
    "<VirtualHost *:80>\n"                          /* 2 alice */
    "  ServerName alice.test\n"
    "</VirtualHost>\n"
    "<virtualhost *:80>\n"                          /* 5 bob */
    "  ServerName bob.test\n"
    "  SetEnv BOB_SECRET s3cr3t\n"
    "  <Directory /srv/bob>\n"
    "    Require all granted\n"
    "  </Directory>\n"
    "</VIRTUALHOST>\n"
    "<IfDefine NEVER>\n"                            /* 12 */
    "<VirtualHost *:80>\n"                          /* 13 inactive */
    "  ServerName ghost.test\n"
    "  SetEnv GHOST boo\n"
    "</VirtualHost>\n"
    "</IfDefine>\n"
    "ServerAdmin root@localhost\n";

static void test_vhost_verdicts(void)
{
    setup();
    put("main.conf", three_vhosts);
    add_rule("main.conf", 2, PH_ENVCONF_AT_VHOST, PH_ENVCONF_MINE, NULL);
    add_rule("main.conf", 5, PH_ENVCONF_AT_VHOST, PH_ENVCONF_FOREIGN,
             "<VirtualHost *:80>\nServerName bob.test\n"
             "ServerEnvironment bob\n</VirtualHost>");
    CU_ASSERT_PTR_NULL(scan_main());
    CU_ASSERT_STRING_EQUAL(body(),
        "Listen 80\n"
        "<VirtualHost *:80>\nServerName alice.test\n</VirtualHost>\n"
        "<VirtualHost *:80>\nServerName bob.test\n"
        "ServerEnvironment bob\n</VirtualHost>\n"
        "<IfDefine NEVER>\n</IfDefine>\n"
        "ServerAdmin root@localhost\n");
    CU_ASSERT(!has("s3cr3t"));
    CU_ASSERT(!has("BOB_SECRET"));
    CU_ASSERT(!has("/srv/bob"));
    CU_ASSERT(!has("ghost"));
    CU_ASSERT_EQUAL(fx.ncalls, 3);
}

/* The includes of a foreign section are not copied (nor is an Error line
 * for one that matched nothing). */
static void test_foreign_includes_not_read(void)
{
    setup();
    put("main.conf", "<VirtualHost *:80>\nInclude bob-secret.conf\n"
        "Include nothere.conf\n</VirtualHost>\n"
        "<VirtualHost *:80>\nInclude alice.conf\n</VirtualHost>\n");
    put("bob-secret.conf", "SetEnv BOB_SECRET s3cr3t\n");
    put("alice.conf", "SetEnv ALICE mine\n");
    add_rule("main.conf", 1, PH_ENVCONF_AT_VHOST, PH_ENVCONF_FOREIGN, "STUB");
    add_rule("main.conf", 5, PH_ENVCONF_AT_VHOST, PH_ENVCONF_MINE, NULL);
    CU_ASSERT_PTR_NULL(scan_main());
    CU_ASSERT_STRING_EQUAL(body(), "STUB\n<VirtualHost *:80>\n"
                           "SetEnv ALICE mine\n</VirtualHost>\n");
}

static void test_vhost_in_included_file(void)
{
    setup();
    put("main.conf", "A\nInclude sites/*.conf\nB\n");
    put("sites/bob.conf", "# bob's site\n\n<VirtualHost *:80>\n"
        "SetEnv BOB_SECRET s3cr3t\n</VirtualHost>\n");
    add_rule("sites/bob.conf", 3, PH_ENVCONF_AT_VHOST, PH_ENVCONF_FOREIGN,
             "STUB-BOB\n");
    CU_ASSERT_PTR_NULL(scan_main());
    CU_ASSERT_EQUAL_FATAL(fx.ncalls, 1);
    CU_ASSERT_STRING_EQUAL(fx.calls[0].file, "sites/bob.conf");
    CU_ASSERT_EQUAL(fx.calls[0].line, 3);
    CU_ASSERT_STRING_EQUAL(body(), "A\nSTUB-BOB\nB\n");
}

static void test_vhost_unterminated(void)
{
    const char *msg;

    setup();
    put("main.conf", "A\n<VirtualHost *:80>\nServerName a\n");
    add_rule("main.conf", 2, PH_ENVCONF_AT_VHOST, PH_ENVCONF_MINE, NULL);
    msg = scan_main();
    CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
    CU_ASSERT(strstr(msg, "<VirtualHost> on line 2 of ") != NULL);
    CU_ASSERT(strstr(msg, "not closed") != NULL);
    /* A foreign one that never ends must not swallow the rest silently. */
    put("main.conf", "<VirtualHost *:80>\nSetEnv BOB_SECRET s3cr3t\n");
    fx.rules[0].verdict = PH_ENVCONF_FOREIGN;
    fx.rules[0].line = 1;
    CU_ASSERT_PTR_NOT_NULL(scan_main());
}

static void test_macro_copied_verbatim(void)
{
    setup();
    put("main.conf",
        "<Macro VHost $name $env>\n"                    /* 1 */
        "<VirtualHost *:80>\n"
        "\n"
        "  ServerName $name\n"
        "  Include not-expanded.conf\n"
        "  <Macro Inner>\n"
        "  </Macro>\n"
        "  ServerEnvironment $env\n"
        "</VirtualHost>\n"
        "</Macro>\n"                                    /* 10 */
        "After\n");
    CU_ASSERT_PTR_NULL(scan_main());
    CU_ASSERT_EQUAL(fx.ncalls, 0);
    CU_ASSERT_STRING_EQUAL(body(),
        "<Macro VHost $name $env>\n<VirtualHost *:80>\n\n"
        "ServerName $name\nInclude not-expanded.conf\n<Macro Inner>\n"
        "</Macro>\nServerEnvironment $env\n</VirtualHost>\n</Macro>\n"
        "After\n");
    put("main.conf", "<Macro X>\nA\n");
    CU_ASSERT_PTR_NOT_NULL(scan_main());
}

static void test_use_lines(void)
{
    const char *msg;

    setup();
    put("main.conf",
        "<Macro V $n>\n<VirtualHost *:80>\nServerName $n\n</VirtualHost>\n"
        "</Macro>\n"
        "Use V alice.test\n"            /* 6: mine */
        "Use V bob.test\n"              /* 7: foreign */
        "Use Dirs\n"                    /* 8: makes no vhost */
        "<IfDefine NEVER>\nUse V ghost.test\n</IfDefine>\n");  /* 10 */
    add_rule("main.conf", 6, PH_ENVCONF_AT_USE, PH_ENVCONF_MINE, NULL);
    add_rule("main.conf", 7, PH_ENVCONF_AT_USE, PH_ENVCONF_FOREIGN,
             "STUB-BOB");
    add_rule("main.conf", 10, PH_ENVCONF_AT_USE, PH_ENVCONF_INACTIVE, NULL);
    CU_ASSERT_PTR_NULL(scan_main());
    CU_ASSERT(in_order("</Macro>\nUse V alice.test\nSTUB-BOB\nUse Dirs\n"
                       "<IfDefine NEVER>\n</IfDefine>\n", NULL));
    CU_ASSERT(!has("bob.test"));
    CU_ASSERT(!has("ghost"));
    CU_ASSERT_EQUAL(fx.ncalls, 4);
    add_rule("main.conf", 8, PH_ENVCONF_AT_USE, PH_ENVCONF_REFUSE,
             "Use on line 8 makes vhosts of alice and bob");
    msg = scan_main();
    CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
    CU_ASSERT_STRING_EQUAL(msg, "Use on line 8 makes vhosts of alice and bob");
}

/* Parsed once, emitted per environment: the verdicts differ, the files
 * are not read again, and each line's memo is kept between emits. */
static void test_parse_once_emit_many(void)
{
    ph_envconf_doc *doc = NULL;
    const char *conf, *text;
    apr_size_t len;

    setup();
    put("main.conf", "<VirtualHost *:80>\nSetEnv A_SECRET a\n</VirtualHost>\n"
        "Include site.conf\n");
    put("site.conf", "<VirtualHost *:80>\nSetEnv B_SECRET b\n</VirtualHost>\n");
    add_rule("main.conf", 1, PH_ENVCONF_AT_VHOST, PH_ENVCONF_MINE, NULL);
    add_rule("site.conf", 1, PH_ENVCONF_AT_VHOST, PH_ENVCONF_FOREIGN, "STUB-B");
    conf = apr_pstrcat(pool, fx.root, "/main.conf", NULL);
    CU_ASSERT_PTR_NULL_FATAL(ph_envconf_parse(pool, conf, &callbacks, &doc));
    CU_ASSERT_EQUAL(fx.ncalls, 0);
    unlink(apr_pstrcat(pool, fx.root, "/site.conf", NULL));
    CU_ASSERT_PTR_NULL(ph_envconf_emit(pool, doc, "a", &callbacks, &text, &len));
    out = text;
    CU_ASSERT(in_order("environment 'a'", "SetEnv A_SECRET a\n</VirtualHost>\n"
                       "STUB-B\n", NULL));
    CU_ASSERT(!has("B_SECRET"));
    fx.rules[0].verdict = PH_ENVCONF_FOREIGN;
    fx.rules[0].text = "STUB-A";
    fx.rules[1].verdict = PH_ENVCONF_MINE;
    CU_ASSERT_PTR_NULL(ph_envconf_emit(pool, doc, "b", &callbacks, &text, &len));
    out = text;
    CU_ASSERT(in_order("environment 'b'", "STUB-A\n<VirtualHost *:80>\n"
                       "SetEnv B_SECRET b\n</VirtualHost>\n", NULL));
    CU_ASSERT(!has("A_SECRET"));
    CU_ASSERT_EQUAL(len, strlen(out));
    CU_ASSERT_EQUAL(fx.ncalls, 4);
    CU_ASSERT_EQUAL(fx.memo_misses, 2);
}

/* Parse root/main.conf with cb and emit it for env into out. */
static void parse_and_emit(const ph_envconf_callbacks *cb, const char *env)
{
    const char *conf = apr_pstrcat(pool, fx.root, "/main.conf", NULL);
    ph_envconf_doc *doc = NULL;
    const char *text = NULL;
    apr_size_t len;

    CU_ASSERT_PTR_NULL_FATAL(ph_envconf_parse(pool, conf, cb, &doc));
    CU_ASSERT_PTR_NULL(ph_envconf_emit(pool, doc, env, cb, &text, &len));
    out = text;
}

/* rewrite_line is asked about every copied line, the environment's own
 * vhosts' included, never about a stub; a refusal names the line. */
static void test_rewrite_line(void)
{
    ph_envconf_callbacks cb = callbacks;
    ph_envconf_doc *doc = NULL;
    const char *conf, *text, *msg;
    apr_size_t len;

    cb.rewrite_line = rewrite_tag;
    setup();
    put("main.conf", "Tag top\n<VirtualHost *:80>\nTag mine\n</VirtualHost>\n"
        "<VirtualHost *:81>\nTag theirs\n</VirtualHost>\n");
    add_rule("main.conf", 2, PH_ENVCONF_AT_VHOST, PH_ENVCONF_MINE, NULL);
    add_rule("main.conf", 5, PH_ENVCONF_AT_VHOST, PH_ENVCONF_FOREIGN,
             "Tag stub");
    parse_and_emit(&cb, "a");
    CU_ASSERT(in_order("Tag top.a\n<VirtualHost *:80>\nTag mine.a\n"
                       "</VirtualHost>\nTag stub\n", NULL));
    CU_ASSERT(!has("theirs"));
    setup();
    put("main.conf", "Listen 80\nRefuse this\n");
    conf = apr_pstrcat(pool, fx.root, "/main.conf", NULL);
    CU_ASSERT_PTR_NULL_FATAL(ph_envconf_parse(pool, conf, &cb, &doc));
    msg = ph_envconf_emit(pool, doc, "a", &cb, &text, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "line 2 of "));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "refused by the test"));
}

/* processor_block for the test below: keeps "own" (with a line after its
 * opening one) and "main", drops the others; counts its calls. */
static int processor_calls;

static const char *keep_own(void *ctx, apr_pool_t *p, const char *name)
{
    (void)ctx;
    (void)p;
    processor_calls++;
    if (!strcmp(name, "own")) {
        return "ProcessorIndex 7\n";
    }
    return !strcmp(name, "main") ? "" : NULL;
}

/* Issue 13: an environment's file holds its own <Processor> block, not
 * the others' -- not their users, nor anything of them; a block's name is
 * read as the module reads it (quoted, ${VAR}s, '>' joined to it); a
 * <Processor> in a <Macro> body is the body's text; without the callback
 * every block is copied. */
static void test_processor_blocks(void)
{
    ph_envconf_callbacks cb = callbacks;

    cb.processor_block = keep_own;
    setup();
    processor_calls = 0;
    put("main.conf", "Listen 80\n<Processor other1>\nUser alice\n"
        "Group alice\n</Processor>\n<Processor \"own\">\nUser bob\n"
        "</Processor>\nInclude conf.d/*.conf\n<Macro M>\n<Processor x>\n"
        "</Processor>\n</Macro>\nServerName top\n");
    put("conf.d/a.conf", "<processor ${CONFDIR}>\nUser carol\n"
        "</processor>\n<Processor main>\nUser dave\n</Processor>\n"
        "<Processor other2>\nUser erin\n</Processor>\n");
    parse_and_emit(&cb, "own");
    CU_ASSERT(in_order("Listen 80\n<Processor \"own\">\nProcessorIndex 7\n"
                       "User bob\n</Processor>\n<Processor main>\n"
                       "User dave\n</Processor>\n<Macro M>\n<Processor x>\n"
                       "</Processor>\n</Macro>\nServerName top\n", NULL));
    CU_ASSERT(!has("alice"));
    CU_ASSERT(!has("carol"));
    CU_ASSERT(!has("erin"));
    CU_ASSERT(!has("other1"));
    CU_ASSERT(!has("other2"));
    CU_ASSERT_EQUAL(processor_calls, 5);
    /* no callback: every block, as written */
    parse_and_emit(&callbacks, "own");
    CU_ASSERT(in_order("<Processor other1>\nUser alice\n", "User carol\n",
                       "User erin\n", NULL));
    CU_ASSERT(!has("ProcessorIndex"));
    /* an unclosed block is refused, as httpd refuses it */
    setup();
    put("main.conf", "<Processor a>\nUser alice\n");
    CU_ASSERT_PTR_NOT_NULL(scan_main());
}

static void test_store_mode_and_replace(void)
{
    const char *dir;
    struct stat st;
    char buf[64];
    FILE *f;
    size_t n;
    DIR *d;
    struct dirent *e;
    int entries = 0;

    setup();
    dir = apr_pstrcat(pool, fx.root, "/out", NULL);
    CU_ASSERT_FATAL(mkdir(dir, 0700) == 0);
    umask(022);
    CU_ASSERT_PTR_NULL(ph_envconf_store(pool, dir, "env.conf", "old\n", 4));
    CU_ASSERT_PTR_NULL(ph_envconf_store(pool, dir, "env.conf", "new\n", 4));
    CU_ASSERT_FATAL(lstat(apr_pstrcat(pool, dir, "/env.conf", NULL), &st)
                    == 0);
    CU_ASSERT(S_ISREG(st.st_mode));
    CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
    f = fopen(apr_pstrcat(pool, dir, "/env.conf", NULL), "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    CU_ASSERT_EQUAL(n, 4);
    CU_ASSERT(memcmp(buf, "new\n", 4) == 0);
    d = opendir(dir);
    while (d && (e = readdir(d)) != NULL) {
        entries += e->d_name[0] != '.';
        CU_ASSERT(strstr(e->d_name, ".tmp") == NULL);
    }
    if (d) {
        closedir(d);
    }
    CU_ASSERT_EQUAL(entries, 1);
    CU_ASSERT_PTR_NOT_NULL(ph_envconf_store(pool, "/nonexistent-ph-dir",
                                            "env.conf", "x", 1));
}

int ph_unit_register_envconf_scan(void)
{
    static const ph_unit_test tests[] = {
        { "header, comments and blank lines", test_header_and_comments },
        { "Include of a file, relative to the root",
          test_include_file_relative },
        { "include: any case, quoted, absolute",
          test_include_quoted_case_and_absolute },
        { "Include of a glob, sorted, no dot files",
          test_include_glob_sorted },
        { "Include with a wildcard directory", test_include_glob_in_directory },
        { "Include of a directory: recursive, sorted",
          test_include_directory_recursive },
        { "IncludeOptional of nothing: nothing", test_include_optional_missing },
        { "Include of nothing: an inert Error line",
          test_include_missing_becomes_error },
        { "Include with ${VAR}s", test_include_vars },
        { "copied lines keep their ${VAR}s", test_vars_copied_unresolved },
        { "Include depth limit", test_include_depth_limit },
        { "Include 128 files deep is allowed", test_include_depth_128_allowed },
        { "continuation lines: httpd's line numbers",
          test_continuation_line_numbers },
        { "continuation at the end of a file",
          test_continuation_at_end_of_file },
        { "MINE, FOREIGN and INACTIVE vhosts", test_vhost_verdicts },
        { "a foreign vhost's includes are not copied",
          test_foreign_includes_not_read },
        { "vhost in an included file", test_vhost_in_included_file },
        { "unterminated <VirtualHost>", test_vhost_unterminated },
        { "<Macro> copied verbatim", test_macro_copied_verbatim },
        { "Use lines mapped", test_use_lines },
        { "parsed once, emitted per environment", test_parse_once_emit_many },
    { "rewrite_line: copied lines, not stubs", test_rewrite_line },
        { "<Processor> blocks kept or left out", test_processor_blocks },
        { "store: mode 0600, replaced whole", test_store_mode_and_replace },
    };

    return ph_unit_add_suite("envconf_scan", suite_cleanup, tests,
                             sizeof(tests) / sizeof(tests[0]));
}
