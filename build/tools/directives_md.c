/*
 * directives_md.c -- prints the README's directive reference as one
 * Markdown table, straight from server/mpm/peruser_hybrid/config_rows.h
 * (numeric rows with their bounds, the module's other directives, and the
 * httpd core directives the MPM honours), so the documentation cannot
 * drift from what the module parses.  Built and run by
 * build/directives.sh.
 */
#include <stdio.h>

#include "mpm_default.h"

#define PH_CTX_SERVER    0x1
#define PH_CTX_PROCESSOR 0x2

static const char *context_name(unsigned ctx)
{
    if (ctx == (PH_CTX_SERVER | PH_CTX_PROCESSOR)) {
        return "server config, `<Processor>`";
    }
    return ctx == PH_CTX_PROCESSOR ? "`<Processor>`" : "server config";
}

/* A table cell: a '|' would end it, so it is written "\|" (which
 * Markdown shows as '|', inside code spans too). */
static const char *cell(const char *text)
{
    static char buf[4][1024];
    static int next;
    char *out = buf[next++ % 4];
    size_t n = 0;

    for (; *text && n + 3 < sizeof(buf[0]); text++) {
        if (*text == '|') {
            out[n++] = '\\';
        }
        out[n++] = *text;
    }
    out[n] = '\0';
    return out;
}

int main(void)
{
    printf("| Directive | Context | Default | Allowed | Meaning |\n");
    printf("|---|---|---|---|---|\n");
#define PH_ROW_CUSTOM(name, ctx, syntax, def, kind, handler, help)          \
    printf("| `%s` | %s | %s | see syntax | %s |\n", cell(syntax), ctx, \
           cell(def), cell(help));
#define PH_ROW(name, ctx, min, max, def, unit, field, envfield, help)       \
    printf("| `%s n` | %s | %ld | %ld to %ld %s | %s |\n", #name,           \
           context_name(ctx), (long)(def), (long)(min), (long)(max), unit,  \
           cell(help));
#define PH_ROW_CORE(name, syntax, help)                                     \
    printf("| `%s` | server config (httpd core) | httpd's | httpd's | %s |\n", \
           cell(syntax), cell(help));
#include "config_rows.h"
#undef PH_ROW_CUSTOM
#undef PH_ROW
#undef PH_ROW_CORE
    return 0;
}
