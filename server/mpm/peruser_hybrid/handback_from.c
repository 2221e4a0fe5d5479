/*
 * handback_from.c -- HandBackFrom's list and its test (handback_from.h
 * says why hand-backs are limited to listed clients).
 */
#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apr_strings.h"

#include "handback_from.h"

#define HANDBACK_FROM_MAGIC 0x50484246u   /* "PHBF" */
#define MAX_ENTRIES 64

typedef struct {
    int family;                 /* AF_INET or AF_INET6 */
    unsigned char addr[16];     /* network order, 4 or 16 bytes used */
    int bits;                   /* prefix length */
} subnet;

struct ph_handback_from {
    unsigned magic;
    enum { LIST, ALL, NONE } kind;
    int n;
    subnet e[MAX_ENTRIES];
};

static ph_handback_from *list_new(apr_pool_t *p)
{
    ph_handback_from *l = apr_pcalloc(p, sizeof(*l));

    l->magic = HANDBACK_FROM_MAGIC;
    l->kind = LIST;
    return l;
}

/* "addr" or "addr/bits" into sn; 0 when it is neither. */
static int parse_subnet(const char *arg, subnet *sn)
{
    char host[INET6_ADDRSTRLEN + 1], *end;
    const char *slash = strchr(arg, '/');
    size_t len = slash ? (size_t)(slash - arg) : strlen(arg);
    long bits;

    if (len == 0 || len >= sizeof(host)) {
        return 0;
    }
    memcpy(host, arg, len);
    host[len] = '\0';
    memset(sn, 0, sizeof(*sn));
    if (inet_pton(AF_INET, host, sn->addr) == 1) {
        sn->family = AF_INET;
        sn->bits = 32;
    }
    else if (inet_pton(AF_INET6, host, sn->addr) == 1) {
        sn->family = AF_INET6;
        sn->bits = 128;
    }
    else {
        return 0;
    }
    if (slash) {
        if (!slash[1] || slash[1] == '-' || slash[1] == '+') {
            return 0;
        }
        bits = strtol(slash + 1, &end, 10);
        if (*end || bits < 0 || bits > sn->bits) {
            return 0;
        }
        sn->bits = (int)bits;
    }
    return 1;
}

const char *ph_handback_from_add(apr_pool_t *p, ph_handback_from **list,
                                 const char *arg)
{
    ph_handback_from *l = *list;
    int all = !strcasecmp(arg, "all"), none = !strcasecmp(arg, "none");

    if (l && (l->kind != LIST || all || none)) {
        return "HandBackFrom: 'all' and 'none' stand alone (one "
               "HandBackFrom line with that word only)";
    }
    if (!l) {
        l = *list = list_new(p);
    }
    assert(l->magic == HANDBACK_FROM_MAGIC);
    if (all || none) {
        l->kind = all ? ALL : NONE;
        return NULL;
    }
    if (l->n == MAX_ENTRIES) {
        return apr_psprintf(p, "HandBackFrom: at most %d addresses",
                            MAX_ENTRIES);
    }
    if (!parse_subnet(arg, &l->e[l->n])) {
        return apr_psprintf(p, "HandBackFrom: '%s' is not an IP address, "
                            "an address/prefix length, 'all' or 'none'",
                            arg);
    }
    l->n++;
    return NULL;
}

const ph_handback_from *ph_handback_from_loopback(void)
{
    static const ph_handback_from loopback = {
        HANDBACK_FROM_MAGIC, LIST, 2, {
            { AF_INET, { 127 }, 8 },
            { AF_INET6, { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 },
              128 },
        }
    };

    return &loopback;
}

static int prefix_matches(const unsigned char *a, const unsigned char *b,
                          int bits)
{
    int whole = bits / 8, rest = bits % 8;

    if (memcmp(a, b, (size_t)whole) != 0) {
        return 0;
    }
    return !rest || ((a[whole] ^ b[whole]) & (0xff << (8 - rest)) & 0xff) == 0;
}

int ph_handback_from_allows(const ph_handback_from *l,
                            const struct sockaddr *sa)
{
    static const unsigned char v4_mapped[12] =
        { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    const unsigned char *addr;
    int family, i;

    if (!l || !sa) {
        return 0;
    }
    assert(l->magic == HANDBACK_FROM_MAGIC);
    if (sa->sa_family == AF_INET) {
        family = AF_INET;
        addr = (const unsigned char *)
               &((const struct sockaddr_in *)sa)->sin_addr;
    }
    else if (sa->sa_family == AF_INET6) {
        addr = (const unsigned char *)
               &((const struct sockaddr_in6 *)sa)->sin6_addr;
        family = AF_INET6;
        if (!memcmp(addr, v4_mapped, sizeof(v4_mapped))) {
            family = AF_INET;
            addr += sizeof(v4_mapped);
        }
    }
    else {
        return 0;
    }
    if (l->kind != LIST) {
        return l->kind == ALL;
    }
    for (i = 0; i < l->n; i++) {
        if (l->e[i].family == family
            && prefix_matches(l->e[i].addr, addr, l->e[i].bits)) {
            return 1;
        }
    }
    return 0;
}
