/*
 * mux_handback.h -- what a multiplexer believes of a socket a processor
 * handed back on its doorbell (doorbell.h; mux_handback.c says why each
 * check).  Pure of httpd: tests/unit/test_mux_handback.c runs it on real
 * sockets, one of them accepted in another network namespace.
 */
#ifndef PH_MUX_HANDBACK_H
#define PH_MUX_HANDBACK_H

#include <sys/socket.h>

/* Whether fd is a client connection one of the listeners
 * listen_fds[0..nlisten) accepted, in their network namespace: then its
 * peer in *peer / *peer_len, fd made blocking as accept() gives it, and
 * 0; else an errno value (EPROTOTYPE: not a connected stream;
 * EAFNOSUPPORT: not IPv4/IPv6; EADDRNOTAVAIL: not accepted by one of
 * those listeners, or in another namespace; ENOPROTOOPT: the kernel
 * cannot tell the namespace; ENOTCONN: the client is gone). */
int ph_mux_handback_check(int fd, const int *listen_fds, int nlisten,
                          struct sockaddr_storage *peer, socklen_t *peer_len);

#endif /* PH_MUX_HANDBACK_H */
