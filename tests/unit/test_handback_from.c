/*
 * test_handback_from.c -- HandBackFrom's list (handback_from.c): what it
 * accepts and refuses as configuration, and which client addresses it
 * lets a connection be handed back from.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "handback_from.h"
#include "unit_suites.h"

static struct sockaddr_storage ss;

/* A client address as accept() would give it. */
static const struct sockaddr *client(const char *text)
{
    memset(&ss, 0, sizeof(ss));
    if (strchr(text, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

        s6->sin6_family = AF_INET6;
        CU_ASSERT_FATAL(inet_pton(AF_INET6, text, &s6->sin6_addr) == 1);
    }
    else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

        s4->sin_family = AF_INET;
        CU_ASSERT_FATAL(inet_pton(AF_INET, text, &s4->sin_addr) == 1);
    }
    return (const struct sockaddr *)&ss;
}

/* The list made of args (NULL-terminated); every one must be taken. */
static ph_handback_from *list_of(const char *const *args)
{
    ph_handback_from *l = NULL;

    for (; *args; args++) {
        const char *msg = ph_handback_from_add(ph_unit_pool(), &l, *args);

        CU_ASSERT_PTR_NULL(msg);
    }
    return l;
}

static void test_loopback_by_default(void)
{
    const ph_handback_from *l = ph_handback_from_loopback();

    CU_ASSERT_TRUE(ph_handback_from_allows(l, client("127.0.0.1")));
    CU_ASSERT_TRUE(ph_handback_from_allows(l, client("127.255.0.9")));
    CU_ASSERT_TRUE(ph_handback_from_allows(l, client("::1")));
    CU_ASSERT_TRUE(ph_handback_from_allows(l, client("::ffff:127.0.0.2")));
    CU_ASSERT_FALSE(ph_handback_from_allows(l, client("128.0.0.1")));
    CU_ASSERT_FALSE(ph_handback_from_allows(l, client("10.1.2.3")));
    CU_ASSERT_FALSE(ph_handback_from_allows(l, client("::2")));
    CU_ASSERT_FALSE(ph_handback_from_allows(l, client("::ffff:10.0.0.1")));
    CU_ASSERT_FALSE(ph_handback_from_allows(l, NULL));
    CU_ASSERT_FALSE(ph_handback_from_allows(NULL, client("127.0.0.1")));
}

static void test_prefixes(void)
{
    static const char *const args[] = {
        "10.0.0.0/8", "192.168.1.7", "fd00::/8", "2001:db8::/126",
        "172.16.0.0/12", NULL
    };
    ph_handback_from *l = list_of(args);

    CU_ASSERT_TRUE(ph_handback_from_allows(l, client("10.255.255.255")));
    CU_ASSERT_FALSE(ph_handback_from_allows(l, client("11.0.0.0")));
    CU_ASSERT_TRUE(ph_handback_from_allows(l, client("192.168.1.7")));
    CU_ASSERT_FALSE(ph_handback_from_allows(l, client("192.168.1.8")));
    CU_ASSERT_TRUE(ph_handback_from_allows(l, client("::ffff:192.168.1.7")));
    CU_ASSERT_TRUE(ph_handback_from_allows(l, client("fdab::1")));
    CU_ASSERT_FALSE(ph_handback_from_allows(l, client("fe00::1")));
    CU_ASSERT_TRUE(ph_handback_from_allows(l, client("2001:db8::3")));
    CU_ASSERT_FALSE(ph_handback_from_allows(l, client("2001:db8::4")));
    /* /12: 172.16.0.0 - 172.31.255.255, a prefix that ends inside a byte */
    CU_ASSERT_TRUE(ph_handback_from_allows(l, client("172.31.255.255")));
    CU_ASSERT_FALSE(ph_handback_from_allows(l, client("172.32.0.0")));
    CU_ASSERT_FALSE(ph_handback_from_allows(l, client("172.15.255.255")));
    /* loopback is not in it unless listed */
    CU_ASSERT_FALSE(ph_handback_from_allows(l, client("127.0.0.1")));
}

static void test_all_and_none(void)
{
    static const char *const all[] = { "all", NULL };
    static const char *const none[] = { "None", NULL };
    static const char *const zero[] = { "0.0.0.0/0", "::/0", NULL };

    CU_ASSERT_TRUE(ph_handback_from_allows(list_of(all), client("8.8.8.8")));
    CU_ASSERT_TRUE(ph_handback_from_allows(list_of(all), client("2001::1")));
    CU_ASSERT_FALSE(ph_handback_from_allows(list_of(none), client("127.0.0.1")));
    CU_ASSERT_FALSE(ph_handback_from_allows(list_of(none), client("::1")));
    CU_ASSERT_TRUE(ph_handback_from_allows(list_of(zero), client("8.8.8.8")));
    CU_ASSERT_TRUE(ph_handback_from_allows(list_of(zero), client("2001::1")));
}

static void test_refused_values(void)
{
    static const char *const bad[] = {
        "", "localhost", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1",
        "10.0.0.0/+8", "10.0.0.0/8x", "::1/129", "1.2.3", "10.0.0.0 /8",
        "/8", NULL
    };
    const char *const *b;

    for (b = bad; *b; b++) {
        ph_handback_from *l = NULL;
        const char *msg = ph_handback_from_add(ph_unit_pool(), &l, *b);

        CU_ASSERT_PTR_NOT_NULL(msg);
        if (!msg) {
            fprintf(stderr, "HandBackFrom took '%s'\n", *b);
        }
    }
    {
        /* 'all' and 'none' stand alone */
        ph_handback_from *l = NULL;

        CU_ASSERT_PTR_NULL(ph_handback_from_add(ph_unit_pool(), &l, "10.0.0.1"));
        CU_ASSERT_PTR_NOT_NULL(ph_handback_from_add(ph_unit_pool(), &l, "all"));
        l = NULL;
        CU_ASSERT_PTR_NULL(ph_handback_from_add(ph_unit_pool(), &l, "none"));
        CU_ASSERT_PTR_NOT_NULL(ph_handback_from_add(ph_unit_pool(), &l, "::1"));
    }
}

static void test_bounded(void)
{
    ph_handback_from *l = NULL;
    int i, refused = 0;

    for (i = 0; i < 100; i++) {
        refused += ph_handback_from_add(ph_unit_pool(), &l, "10.0.0.1") != NULL;
    }
    CU_ASSERT_TRUE(refused > 0 && refused < 100);
    CU_ASSERT_TRUE(ph_handback_from_allows(l, client("10.0.0.1")));
}

static const ph_unit_test tests[] = {
    { "loopback by default", test_loopback_by_default },
    { "addresses and prefixes", test_prefixes },
    { "all and none", test_all_and_none },
    { "refused values", test_refused_values },
    { "a bounded list", test_bounded },
};

int ph_unit_register_handback_from(void)
{
    return ph_unit_add_suite("handback_from", NULL, tests,
                             sizeof(tests) / sizeof(tests[0]));
}
