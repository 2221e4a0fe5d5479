/*
 * ph_magic.h -- checking the magic number at the head of a struct.
 *
 * Structs handed between the threads of one process (proc_state,
 * proc_conn, mux_conn) or built by the parent and inherited through fork
 * (ph_env) start with `unsigned magic`; functions that receive one check
 * it on entry, and freeing zeroes it, so a stale or foreign pointer fails
 * loudly at the first use (httpd's ap_assert: logged, then abort).
 *
 * Only for memory this process alone writes: never for anything in the
 * shared segment or otherwise writable by another process.
 */
#ifndef PH_MAGIC_H
#define PH_MAGIC_H

#include "httpd.h"

#define PH_CHECK_MAGIC(p, m) ap_assert((p) != NULL && (p)->magic == (m))

#endif /* PH_MAGIC_H */
