/*
 * test_sock_wrap.c -- CUnit suite for server/mpm/peruser_hybrid/
 * sock_wrap.c: a client socket whose client reset the connection is
 * still wrapped for APR, with the address accept() gave, and still reads
 * what the client sent.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "apr_network_io.h"
#include "apr_pools.h"

#include "ph_sock.h"
#include "unit_suites.h"

static const char sent[] = "GET / HTTP/1.1\r\nHost: bob.test\r\n";

/* A loopback connection: *server as accept() returned it (close-on-exec),
 * *client's address in *peer.  reset: the client sends `sent`, then
 * resets, and this waits until the server's socket has forgotten its
 * peer.  Returns 0 or -1. */
static int loopback(int *server, int *client, struct sockaddr_in *peer,
                    int reset)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof(addr);
    int lfd, i;

    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0
        || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0
        || listen(lfd, 1) < 0
        || getsockname(lfd, (struct sockaddr *)&addr, &len) < 0
        || (*client = socket(AF_INET, SOCK_STREAM, 0)) < 0
        || connect(*client, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        return -1;
    }
    len = sizeof(*peer);
    *server = accept4(lfd, (struct sockaddr *)peer, &len, SOCK_CLOEXEC);
    close(lfd);
    if (*server < 0) {
        return -1;
    }
    if (!reset) {
        return 0;
    }
    {
        struct linger lg = { 1, 0 };
        struct pollfd pf = { *server, POLLIN, 0 };

        if (send(*client, sent, sizeof(sent) - 1, 0) < 0
            || poll(&pf, 1, 2000) != 1
            || setsockopt(*client, SOL_SOCKET, SO_LINGER, &lg,
                          sizeof(lg)) < 0) {
            return -1;
        }
        close(*client);         /* an RST */
        *client = -1;
    }
    for (i = 0; i < 200; i++) {
        struct sockaddr_in gone;
        struct timespec ms = { 0, 10 * 1000 * 1000 };

        len = sizeof(gone);
        if (getpeername(*server, (struct sockaddr *)&gone, &len) < 0
            && errno == ENOTCONN) {
            return 0;
        }
        nanosleep(&ms, NULL);
    }
    return -1;
}

static void test_reset_client_read_with_carried_address(void)
{
    struct sockaddr_in peer;
    ph_chan_peer carried;
    apr_socket_t *sock = NULL;
    apr_sockaddr_t *remote;
    char buf[128], *ip;
    apr_size_t n;
    int server, client, fd;

    CU_ASSERT_FATAL(loopback(&server, &client, &peer, 1) == 0);
    ph_chan_peer_set(&carried, (struct sockaddr *)&peer, sizeof(peer));

    /* Nothing carried: the client is gone, and nobody says who it was. */
    fd = server;
    CU_ASSERT_NOT_EQUAL(ph_sock_wrap(&sock, &fd, NULL, ph_unit_pool()),
                        APR_SUCCESS);
    CU_ASSERT_PTR_NULL(sock);

    CU_ASSERT_EQUAL_FATAL(ph_sock_wrap(&sock, &fd, &carried, ph_unit_pool()),
                          APR_SUCCESS);
    /* the same descriptor, still the client's socket, still close-on-exec */
    CU_ASSERT_EQUAL(fd, server);
    CU_ASSERT(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    CU_ASSERT_EQUAL(apr_socket_addr_get(&remote, APR_REMOTE, sock),
                    APR_SUCCESS);
    CU_ASSERT_EQUAL(remote->port, ntohs(peer.sin_port));
    CU_ASSERT_EQUAL(apr_sockaddr_ip_get(&ip, remote), APR_SUCCESS);
    CU_ASSERT_STRING_EQUAL(ip, "127.0.0.1");
    /* what the client sent before its reset, then the reset */
    n = sizeof(buf);
    CU_ASSERT_EQUAL(apr_socket_recv(sock, buf, &n), APR_SUCCESS);
    CU_ASSERT_EQUAL(n, sizeof(sent) - 1);
    CU_ASSERT_EQUAL(memcmp(buf, sent, sizeof(sent) - 1), 0);
    n = sizeof(buf);
    CU_ASSERT_EQUAL(apr_socket_recv(sock, buf, &n), ECONNRESET);
    close(server);
}

static void test_connected_client_keeps_its_own_address(void)
{
    struct sockaddr_in peer, wrong;
    ph_chan_peer carried;
    apr_socket_t *sock = NULL;
    apr_sockaddr_t *remote;
    int server, client, fd;

    CU_ASSERT_FATAL(loopback(&server, &client, &peer, 0) == 0);
    /* a carried address is only a stand-in for a forgotten one */
    wrong = peer;
    wrong.sin_port = htons((uint16_t)(ntohs(peer.sin_port) ^ 1));
    ph_chan_peer_set(&carried, (struct sockaddr *)&wrong, sizeof(wrong));
    fd = server;
    CU_ASSERT_EQUAL_FATAL(ph_sock_wrap(&sock, &fd, &carried, ph_unit_pool()),
                          APR_SUCCESS);
    CU_ASSERT_EQUAL(fd, server);
    CU_ASSERT_EQUAL(apr_socket_addr_get(&remote, APR_REMOTE, sock),
                    APR_SUCCESS);
    CU_ASSERT_EQUAL(remote->port, ntohs(peer.sin_port));
    close(server);
    close(client);
}

static const ph_unit_test tests[] = {
    { "a reset client: read, with the carried address",
      test_reset_client_read_with_carried_address },
    { "a connected client: its own address",
      test_connected_client_keeps_its_own_address },
};

int ph_unit_register_sock_wrap(void)
{
    return ph_unit_add_suite("sock_wrap", ph_unit_pool_cleanup, tests,
                             sizeof(tests) / sizeof(tests[0]));
}
