/*
 * directives_conf.c -- prints the directive reference part of Debian's
 * mods-available/mpm_peruser_hybrid.conf: every directive of the module's
 * table (server/mpm/peruser_hybrid/config_rows.h) as a comment with its
 * meaning and its default, so the shipped file cannot drift from what the
 * module parses (as directives_md.c does for the README).  Built and run by
 * build/debian-files.sh; the file's live lines (the default environment)
 * come from that script.
 *
 * A default that is a value of the directive (a number, or one of the
 * alternatives its syntax lists) is written as a commented-out line,
 * "#Name value", that an operator can uncomment; any other default ("none",
 * "required", "the main server's") is said in words.
 */
#include <stdio.h>
#include <string.h>

#include "mpm_default.h"

#define PH_CTX_SERVER    0x1
#define PH_CTX_PROCESSOR 0x2

/* Writes text as "# " comment lines of at most 76 columns. */
static void comment(const char *text)
{
    const char *p = text;

    while (*p) {
        size_t len = strlen(p), cut = len;

        if (len > 74) {
            cut = 74;
            while (cut > 0 && p[cut] != ' ') {
                cut--;
            }
            if (cut == 0) {
                cut = 74;
            }
        }
        printf("# %.*s\n", (int)cut, p);
        p += cut;
        while (*p == ' ') {
            p++;
        }
    }
}

/* True when def is a value the directive takes: it starts with a digit,
 * or it is one of the '|' alternatives of the syntax's argument. */
static int is_value(const char *syntax, const char *def)
{
    const char *args = strchr(syntax, ' ');
    size_t n = strlen(def);

    if (def[0] >= '0' && def[0] <= '9') {
        return 1;
    }
    if (!args || strchr(def, ' ')) {
        return 0;
    }
    for (const char *p = args + 1; (p = strstr(p, def)) != NULL; p += n) {
        int starts = p[-1] == ' ' || p[-1] == '|';
        int ends = p[n] == '\0' || p[n] == '|' || p[n] == ' ';

        if (starts && ends) {
            return 1;
        }
    }
    return 0;
}

static void custom_row(const char *name, const char *ctx, const char *syntax,
                       const char *def, int processor_only, const char *help)
{
    char line[1024];

    printf("\n");
    snprintf(line, sizeof(line), "%s (%s): %s.", syntax, ctx, help);
    comment(line);
    if (processor_only) {
        snprintf(line, sizeof(line), "Only inside <Processor>; default: %s.",
                 def);
        comment(line);
    }
    else if (is_value(syntax, def)) {
        printf("#%s %s\n", name, def);
    }
    else {
        snprintf(line, sizeof(line), "Default: %s.", def);
        comment(line);
    }
}

static void numeric_row(const char *name, unsigned ctx, long min, long max,
                        long def, const char *unit, const char *help)
{
    char line[1024];

    printf("\n");
    snprintf(line, sizeof(line), "%s n (%s; %ld to %ld %s): %s.", name,
             ctx == (PH_CTX_SERVER | PH_CTX_PROCESSOR)
                 ? "server config and <Processor>" : "server config",
             min, max, unit, help);
    comment(line);
    printf("#%s %ld\n", name, def);
}

int main(void)
{
    printf("# ---- Every directive of peruser_hybrid, with its default ----\n"
           "# (generated from the module's directive table, config_rows.h)\n");
#define PH_ROW_CUSTOM(name, ctx, syntax, def, kind, handler, help)          \
    custom_row(#name, ctx, syntax, def,                                     \
               !strcmp(#kind, "PROCESSOR"), help);
#define PH_ROW(name, ctx, min, max, def, unit, field, envfield, help)       \
    numeric_row(#name, ctx, (long)(min), (long)(max), (long)(def), unit,   \
                help);
#include "config_rows.h"
#undef PH_ROW_CUSTOM
#undef PH_ROW
    printf("\n# httpd's own directives that this MPM honours (httpd's "
           "defaults):\n");
#define PH_ROW_CORE(name, syntax, help) printf("#   %s -- %s\n", syntax, help);
#include "config_rows.h"
#undef PH_ROW_CORE
    return 0;
}
