/*
 * handback_from.h -- HandBackFrom: the clients whose kept-alive
 * connections a processor may hand back to a multiplexer (proc_handback.c,
 * doorbell.h).
 *
 * Why a list.  A processor hands a connection back where its next request
 * begins; but a processor is its tenant's code, and a hostile one could
 * read part of what the client sent (a request's head) and hand back the
 * rest (a body the tenant had the client's browser send), which the
 * multiplexer would then route to another environment as a request from
 * the client's address.  A multiplexer cannot tell where a processor
 * stopped reading.  So the client address of a handed-back connection is
 * one the operator listed: a front proxy's (the only client that sends
 * several hosts on one HTTP/1.1 connection; behind it every request has
 * the proxy's address anyway), or loopback by default (any tenant's code
 * runs on this host and can already connect from there with any bytes).
 * A browser never sends another host's request on a connection: from any
 * other address the processor answers 421 as before, and a multiplexer
 * refuses (closes) a connection handed back from such an address.
 *
 * Pure (libc and APR pools only): CUnit suite tests/unit/test_handback_from.c.
 */
#ifndef PH_HANDBACK_FROM_H
#define PH_HANDBACK_FROM_H

#include <sys/socket.h>

#include "apr_pools.h"

typedef struct ph_handback_from ph_handback_from;

/* Add one HandBackFrom argument to *list (made in p on first use):
 * "all", "none" (each only alone), an IPv4 or IPv6 address, or one with a
 * prefix length ("10.0.0.0/8", "fd00::/8").  NULL, or why not (from p). */
const char *ph_handback_from_add(apr_pool_t *p, ph_handback_from **list,
                                 const char *arg);

/* The default: 127.0.0.0/8 and ::1. */
const ph_handback_from *ph_handback_from_loopback(void);

/* Whether a connection whose client is sa (AF_INET or AF_INET6; an
 * IPv4-mapped IPv6 address is matched as its IPv4 address) may be handed
 * back under list.  Anything else: 0. */
int ph_handback_from_allows(const ph_handback_from *list,
                            const struct sockaddr *sa);

#endif /* PH_HANDBACK_FROM_H */
