/*
 * shm_seqlock.c -- the sequence counter over a record's identity fields.
 *
 * One writer per record at a time (see "WHO WRITES WHAT" in
 * ph_shm_layout.h); any number of readers, which never write and never
 * block the writer.  A reader copies the record between read_begin and
 * read_retry and starts again while the counter was odd (a write in
 * progress) or moved (a write happened meanwhile).
 *
 *   writer                               reader
 *   seq = odd        (release store)     s1 = seq         (acquire load)
 *   fence(release)                       ... copy fields ...
 *   ... write fields ...                 fence(acquire)
 *   seq = even       (release store)     s2 = seq; retry if s1 odd or
 *                                             s1 != s2
 *
 * The release fence after the odd store keeps the field stores from
 * becoming visible before it: a reader that copied a half-written field
 * therefore also sees the odd (or a later) counter on its second load,
 * which the acquire fence keeps after its copies.  The even store
 * releases the fields to a reader whose first load sees it.
 *
 * A writer can die between begin and end (a child killed mid-update), so
 * begin does not assume the counter is even: the next writer (the parent,
 * repairing the record after the reap) moves it to another odd value and
 * its end makes it even again.  Readers meanwhile only see "busy".
 */
#include "ph_shm.h"

void ph_shm_seq_write_begin(_Atomic uint32_t *seq)
{
    uint32_t s = atomic_load_explicit(seq, memory_order_relaxed);

    /* even -> next odd; odd (abandoned write) -> a different odd value,
     * so a reader that began during the dead write retries. */
    s += (s & 1u) ? 2u : 1u;
    atomic_store_explicit(seq, s, memory_order_release);
    atomic_thread_fence(memory_order_release);
}

void ph_shm_seq_write_end(_Atomic uint32_t *seq)
{
    uint32_t s = atomic_load_explicit(seq, memory_order_relaxed);

    /* the next even value, whether or not begin was called */
    atomic_store_explicit(seq, (s | 1u) + 1u, memory_order_release);
}

uint32_t ph_shm_seq_read_begin(const _Atomic uint32_t *seq)
{
    return atomic_load_explicit(seq, memory_order_acquire);
}

int ph_shm_seq_read_retry(const _Atomic uint32_t *seq, uint32_t start)
{
    atomic_thread_fence(memory_order_acquire);
    return (start & 1u) != 0
           || atomic_load_explicit(seq, memory_order_relaxed) != start;
}
