/*
 * mux_handback.c -- what a multiplexer believes of a socket a processor
 * handed back on its doorbell (doorbell.h): nothing, until the socket is
 * shown to be a client connection one of this multiplexer's own listeners
 * accepted, in this multiplexer's own network namespace.
 *
 * Why each check.  A processor runs a tenant's code, so the descriptor may
 * be anything it can make.  Stream and not listening: a connection, not a
 * listener or a datagram socket.  Local address equal to one of our
 * listeners' (address and port, or the port of a wildcard listener, same
 * family): the kernel gives that address only to connections accepted on
 * such a socket, and a tenant cannot bind a port a root listener holds.
 * Same network namespace as our listeners (SO_NETNS_COOKIE): in a network
 * namespace of its own (unprivileged user namespaces allow one) a tenant
 * could bind our address and port and accept a connection from any peer
 * address it likes, and a request routed on that connection would carry a
 * forged client address into another environment's access rules.  A
 * kernel that cannot tell the namespace refuses every hand-back.
 *
 * What passes is no more than what the tenant could do as a client of the
 * server over loopback: the request on it is routed and judged as any
 * other.  Blocking mode is restored as accept() gave it (the flag belongs
 * to the open file, which the processor may have set non-blocking).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "mux_handback.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

static int sock_int(int fd, int opt, int *out)
{
    socklen_t len = sizeof(*out);

    return getsockopt(fd, SOL_SOCKET, opt, out, &len) == 0
           && len == sizeof(*out) ? 0 : -1;
}

static int netns_cookie(int fd, uint64_t *out)
{
    socklen_t len = sizeof(*out);

    return getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, out, &len) == 0
           && len == sizeof(*out) ? 0 : -1;
}

/* Whether a (a connection's local address) is one listener l accepts
 * on: same family and port, and l's address is a's or the wildcard. */
static int accepted_by(const struct sockaddr_storage *a,
                       const struct sockaddr_storage *l)
{
    if (a->ss_family != l->ss_family) {
        return 0;
    }
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)a;
        const struct sockaddr_in *y = (const struct sockaddr_in *)l;
        return x->sin_port == y->sin_port
               && (y->sin_addr.s_addr == htonl(INADDR_ANY)
                   || y->sin_addr.s_addr == x->sin_addr.s_addr);
    }
    if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
        const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)l;
        return x->sin6_port == y->sin6_port
               && (IN6_IS_ADDR_UNSPECIFIED(&y->sin6_addr)
                   || IN6_ARE_ADDR_EQUAL(&y->sin6_addr, &x->sin6_addr));
    }
    return 0;
}

int ph_mux_handback_check(int fd, const int *listen_fds, int nlisten,
                          struct sockaddr_storage *peer, socklen_t *peer_len)
{
    struct sockaddr_storage local, lst;
    socklen_t len;
    uint64_t cookie, lcookie;
    int type, listening, flags, i, ours = 0;

    if (sock_int(fd, SO_TYPE, &type) != 0 || type != SOCK_STREAM
        || sock_int(fd, SO_ACCEPTCONN, &listening) != 0 || listening) {
        return EPROTOTYPE;
    }
    len = sizeof(local);
    if (getsockname(fd, (struct sockaddr *)&local, &len) != 0
        || (local.ss_family != AF_INET && local.ss_family != AF_INET6)) {
        return EAFNOSUPPORT;
    }
    if (netns_cookie(fd, &cookie) != 0) {
        return ENOPROTOOPT;
    }
    for (i = 0; i < nlisten && !ours; i++) {
        len = sizeof(lst);
        ours = getsockname(listen_fds[i], (struct sockaddr *)&lst, &len) == 0
               && netns_cookie(listen_fds[i], &lcookie) == 0
               && lcookie == cookie && accepted_by(&local, &lst);
    }
    if (!ours) {
        return EADDRNOTAVAIL;
    }
    *peer_len = sizeof(*peer);
    if (getpeername(fd, (struct sockaddr *)peer, peer_len) != 0) {
        return errno;       /* ENOTCONN: the client is gone */
    }
    if ((flags = fcntl(fd, F_GETFL)) < 0
        || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
        return errno;
    }
    return 0;
}
