/*
 * envconf_blank.h -- the text of a blank factory's file (issue 13, cold
 * start; ph_factory.h draws what a blank is).  Pure: APR only, no httpd
 * header, CUnit-tested (tests/unit/test_envconf_blank.c).
 */
#ifndef PH_ENVCONF_BLANK_H
#define PH_ENVCONF_BLANK_H

#include "apr_pools.h"

/*
 * The blank file made from the multiplexers' file (front: the same
 * server-level text an environment's file has, every vhost a stub): its
 * top-level LoadModule and LoadFile lines, in order, each passed through
 * resolve (ctx; NULL: as they are), then the line `directive`, then tail
 * (the neutral lines only a blank's first pass reads; ends in a newline),
 * then front's top-level TypesConfig and MIMEMagicFile lines (files a
 * module's first pass opens; their defaults may not exist).  Nothing
 * else of front is copied: no vhost, no name, no <Processor>.
 * Returns the text (from p), or NULL and *why: a LoadModule or LoadFile
 * inside a section, or continued on the next line, which a blank cannot
 * load ahead of the sections an environment's file would read first.
 */
const char *ph_envconf_blank_text(apr_pool_t *p, const char *front,
                                  const char *directive, const char *tail,
                                  const char *(*resolve)(void *ctx,
                                                         apr_pool_t *p,
                                                         const char *line),
                                  void *ctx, const char **why);

#endif /* PH_ENVCONF_BLANK_H */
