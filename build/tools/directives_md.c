/*
 * directives_md.c -- prints the README's directive reference as a
 * Markdown table, straight from server/mpm/peruser_hybrid/config_rows.h,
 * so the documentation cannot drift from what the module parses.
 * Built and run by build/directives.sh.
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

int main(void)
{
    printf("| Directive | Context | Default | Allowed | Unit | Meaning |\n");
    printf("|---|---|---|---|---|---|\n");
#define PH_ROW(name, ctx, min, max, def, unit, field, envfield, help)       \
    printf("| `%s` | %s | %ld | %ld to %ld | %s | %s |\n", #name,          \
           context_name(ctx), (long)(def), (long)(min), (long)(max), unit, \
           help);
#include "config_rows.h"
#undef PH_ROW
    return 0;
}
