/*
 * ph_sock.h -- an APR socket for a client's TCP socket handed over by
 * descriptor, whose client may already have reset the connection.
 */
#ifndef PH_SOCK_H
#define PH_SOCK_H

#include "apr_network_io.h"

#include "chan_msg.h"

/*
 * Wrap *fd (a connected TCP socket) in an APR socket from pool p, with
 * its local and remote addresses known to APR.
 *
 * A client that resets the connection (RST) leaves what it sent in the
 * kernel, readable, but getpeername() then fails (ENOTCONN), and APR asks
 * getpeername() for a wrapped socket's remote address whatever it was
 * given.  Where carried (the address accept() gave the multiplexer) names
 * one, it becomes the socket's remote address instead; *fd keeps its
 * number and still is the client's socket on return.  carried may be
 * NULL.  Returns APR_SUCCESS, or an error (the client is gone and nothing
 * names it; *sock is not set).
 */
apr_status_t ph_sock_wrap(apr_socket_t **sock, int *fd,
                          const ph_chan_peer *carried, apr_pool_t *p);

#endif /* PH_SOCK_H */
