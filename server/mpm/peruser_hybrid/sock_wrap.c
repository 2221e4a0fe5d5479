/*
 * sock_wrap.c -- an APR socket for a client socket received by
 * descriptor (multiplexer: accepted; processor: from the channel), whose
 * client may have reset the connection in the meantime.  See ph_sock.h.
 *
 * Why: stock httpd accepts and reads at once, so a client that sends a
 * request line and then resets is read and logged (400).  Here the bytes
 * wait in the kernel, which keeps them after the reset, but the socket no
 * longer knows its peer: getpeername() fails, and with it APR's remote
 * address, httpd's conn_rec (core_create_conn) and so the connection.
 * APR learns a remote address only from getpeername() (apr_os_sock_make
 * does not take the one it is given), and keeps it once learnt.  So it
 * is taught on a stand-in: a UDP socket connect()ed to the carried
 * address (which sends nothing) sits at the descriptor's number while
 * APR asks, then the client's socket is put back at that number (dup3,
 * atomic: no other thread can get the number in between).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "apr_portable.h"

#include "ph_sock.h"

static apr_status_t make(apr_socket_t **sock, int *fd,
                         struct sockaddr_storage *local,
                         struct sockaddr_storage *remote, apr_pool_t *p)
{
    apr_os_sock_info_t info;

    memset(&info, 0, sizeof(info));
    info.os_sock = fd;
    info.local = (struct sockaddr *)local;
    info.remote = (struct sockaddr *)remote;
    info.family = local->ss_family;
    info.type = SOCK_STREAM;
    return apr_os_sock_make(sock, &info, p);
}

/* The reset case: APR learns `remote` from a stand-in at *fd's number. */
static apr_status_t make_taught(apr_socket_t **sock, int *fd,
                                struct sockaddr_storage *local,
                                struct sockaddr_storage *remote,
                                size_t remote_len, apr_pool_t *p)
{
    apr_socket_t *s = NULL;
    apr_sockaddr_t *learnt;
    apr_status_t rv;
    int keep, stand_in;

    stand_in = socket(remote->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (stand_in < 0) {
        return errno;
    }
    if (connect(stand_in, (struct sockaddr *)remote,
                (socklen_t)remote_len) < 0) {
        rv = errno;
        goto close_stand_in;
    }
    if ((keep = fcntl(*fd, F_DUPFD_CLOEXEC, 0)) < 0) {
        rv = errno;
        goto close_stand_in;
    }
    if (dup3(stand_in, *fd, O_CLOEXEC) < 0) {
        rv = errno;
        goto close_keep;
    }
    rv = make(&s, fd, local, remote, p);
    if (rv == APR_SUCCESS) {
        rv = apr_socket_addr_get(&learnt, APR_REMOTE, s);
    }
    /* The client's socket back at its number, whatever happened. */
    if (dup3(keep, *fd, O_CLOEXEC) < 0 && rv == APR_SUCCESS) {
        rv = errno;
    }
    if (rv == APR_SUCCESS) {
        *sock = s;
    }
    else if (s) {
        apr_os_sock_t none = -1;
        apr_os_sock_put(&s, &none, p);      /* the caller closes *fd */
    }
close_keep:
    close(keep);
close_stand_in:
    close(stand_in);
    return rv;
}

apr_status_t ph_sock_wrap(apr_socket_t **sock, int *fd,
                          const ph_chan_peer *carried, apr_pool_t *p)
{
    struct sockaddr_storage local, remote;
    socklen_t llen = sizeof(local), rlen = sizeof(remote);
    size_t carried_len;

    if (getsockname(*fd, (struct sockaddr *)&local, &llen) < 0) {
        return errno;
    }
    if (getpeername(*fd, (struct sockaddr *)&remote, &rlen) == 0) {
        return make(sock, fd, &local, &remote, p);
    }
    if (errno != ENOTCONN) {
        return errno;
    }
    if (!carried || ph_chan_peer_get(carried, &remote, &carried_len) != 0
        || remote.ss_family != local.ss_family) {
        return ENOTCONN;        /* gone, and nobody says who it was */
    }
    return make_taught(sock, fd, &local, &remote, carried_len, p);
}
