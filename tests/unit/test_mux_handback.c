/*
 * test_mux_handback.c -- CUnit suite for
 * server/mpm/peruser_hybrid/mux_handback.c on real sockets: a connection
 * one of our listeners accepted passes (with its peer, made blocking);
 * the client's own end of such a connection, the listener itself, a UDP
 * socket, an AF_UNIX socket and a connection accepted on the same address
 * and port in another network namespace (what a tenant can make with an
 * unprivileged user namespace) are refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "channel.h"
#include "mux_handback.h"
#include "unit_suites.h"

/* A listener on 127.0.0.1 (port 0: any), or on the wildcard address
 * with port. */
static int listener(int wildcard, int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = wildcard ? htonl(INADDR_ANY) : htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0
        || listen(fd, 8) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    return fd;
}

static int port_of(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);

    getsockname(fd, (struct sockaddr *)&a, &len);
    return ntohs(a.sin_port);
}

/* Connect to 127.0.0.1:port; *served: the accepted end. */
static int connect_pair(int lfd, int *served)
{
    struct sockaddr_in a;
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port_of(lfd));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) != 0) {
        *served = -1;
        return -1;
    }
    *served = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    return c;
}

static void test_accepted_connection_passes(void)
{
    int l = listener(0, 0), c, s, flags;
    struct sockaddr_storage peer, mine;
    socklen_t peer_len, mine_len = sizeof(mine);

    CU_ASSERT_FATAL(l >= 0);
    c = connect_pair(l, &s);
    CU_ASSERT_FATAL(c >= 0 && s >= 0);
    fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);  /* as APR leaves it */
    CU_ASSERT_EQUAL(ph_mux_handback_check(s, &l, 1, &peer, &peer_len), 0);
    getsockname(c, (struct sockaddr *)&mine, &mine_len);
    CU_ASSERT_EQUAL(peer_len, mine_len);
    CU_ASSERT(memcmp(&peer, &mine, mine_len) == 0);     /* the client */
    flags = fcntl(s, F_GETFL);
    CU_ASSERT(flags >= 0 && !(flags & O_NONBLOCK));
    close(c);
    close(s);
    close(l);
}

static void test_wildcard_listener(void)
{
    int l = listener(1, 0), c, s;
    struct sockaddr_storage peer;
    socklen_t peer_len;

    CU_ASSERT_FATAL(l >= 0);
    c = connect_pair(l, &s);
    CU_ASSERT_FATAL(c >= 0 && s >= 0);
    CU_ASSERT_EQUAL(ph_mux_handback_check(s, &l, 1, &peer, &peer_len), 0);
    close(c);
    close(s);
    close(l);
}

static void test_not_accepted_refused(void)
{
    int l = listener(0, 0), other = listener(0, 0), c, s, u, sv[2];
    struct sockaddr_storage peer;
    socklen_t peer_len;

    CU_ASSERT_FATAL(l >= 0 && other >= 0);
    c = connect_pair(l, &s);
    CU_ASSERT_FATAL(c >= 0 && s >= 0);
    /* the client's own end: its local address is an ephemeral port */
    CU_ASSERT_EQUAL(ph_mux_handback_check(c, &l, 1, &peer, &peer_len),
                    EADDRNOTAVAIL);
    /* accepted, but by a listener that is not one of ours */
    CU_ASSERT_EQUAL(ph_mux_handback_check(s, &other, 1, &peer, &peer_len),
                    EADDRNOTAVAIL);
    /* the listener itself */
    CU_ASSERT_EQUAL(ph_mux_handback_check(l, &l, 1, &peer, &peer_len),
                    EPROTOTYPE);
    u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    CU_ASSERT_EQUAL(ph_mux_handback_check(u, &l, 1, &peer, &peer_len),
                    EPROTOTYPE);
    CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CU_ASSERT_EQUAL(ph_mux_handback_check(sv[0], &l, 1, &peer, &peer_len),
                    EAFNOSUPPORT);
    close(sv[0]);
    close(sv[1]);
    close(u);
    close(c);
    close(s);
    close(other);
    close(l);
}

/* Child in a new user and network namespace: bring up loopback, listen on
 * 127.0.0.1:port (which our listener holds in ours), accept a connection
 * from itself and send the accepted end over to. */
static void forged_in_netns(int to, int port)
{
    struct ifreq ifr;
    int s, l, c, ok = 0;

    if (unshare(getuid() == 0 ? CLONE_NEWNET
                              : CLONE_NEWUSER | CLONE_NEWNET) == 0
        && (s = socket(AF_INET, SOCK_DGRAM, 0)) >= 0) {
        memset(&ifr, 0, sizeof(ifr));
        strcpy(ifr.ifr_name, "lo");
        if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
            ifr.ifr_flags |= IFF_UP;
            ok = ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
        }
        close(s);
    }
    if (ok && (l = listener(0, port)) >= 0 && (c = connect_pair(l, &s)) >= 0
        && s >= 0) {
        _exit(ph_send_with_fd(to, "F", 1, s) == 0 ? 0 : 3);
    }
    _exit(2);
}

static void test_other_network_namespace_refused(void)
{
    int l = listener(0, 0), sv[2], fd = -1, status = 0;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    char byte;
    size_t got;
    pid_t pid;

    CU_ASSERT_FATAL(l >= 0);
    CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        close(sv[0]);
        forged_in_netns(sv[1], port_of(l));
    }
    close(sv[1]);
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        /* Without a namespace of its own nothing can be forged this way;
         * as root (CI) making one must work. */
        fprintf(stderr, "\n  no network namespace could be made (status %d)",
                status);
        CU_ASSERT(geteuid() != 0);
        close(sv[0]);
        close(l);
        return;
    }
    CU_ASSERT_FATAL(ph_recv_with_fd(sv[0], &byte, 1, &got, &fd) == 0
                    && got == 1 && fd >= 0);
    /* same address and port as our listener, accepted there: refused */
    CU_ASSERT_EQUAL(ph_mux_handback_check(fd, &l, 1, &peer, &peer_len),
                    EADDRNOTAVAIL);
    close(fd);
    close(sv[0]);
    close(l);
}

static const ph_unit_test tests[] = {
    { "a connection our listener accepted passes",
      test_accepted_connection_passes },
    { "accepted on a wildcard listener", test_wildcard_listener },
    { "client ends, other listeners, UDP, AF_UNIX refused",
      test_not_accepted_refused },
    { "accepted in another network namespace refused",
      test_other_network_namespace_refused },
};

int ph_unit_register_mux_handback(void)
{
    return ph_unit_add_suite("mux_handback", NULL, tests,
                             sizeof(tests) / sizeof(tests[0]));
}
