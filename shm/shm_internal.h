/*
 * shm_internal.h -- what the files of shm/ share and nobody else uses.
 *
 * The segment can be written by every child, so no function that walks it
 * trusts the header's counts and offsets as they stand: it copies them
 * once into a ph_shm_geom, checks that copy against the size of its own
 * mapping (which no other process can change) and then uses only the
 * copy.  A header scribbled on by a compromised environment therefore
 * makes a call fail, never read or write outside the mapping.
 */
#ifndef PH_SHM_INTERNAL_H
#define PH_SHM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ph_shm.h"

/* A private copy of the header fields that describe the layout. */
typedef struct ph_shm_geom {
    uint32_t magic;
    uint16_t major, minor;
    uint32_t header_size, env_size, child_size, partition_size;
    uint32_t ticket_size;
    uint32_t envs, children, muxes, tickets;    /* tickets per partition */
    uint64_t env_off, child_off, partition_off, ticket_off, total;
} ph_shm_geom;

/*
 * Copy the header of shm into g and check it against shm->size.  Returns
 * 0, or -1 if the header does not describe a layout this code can use
 * inside this mapping.
 */
int ph_shm_geom_read(const ph_shm *shm, ph_shm_geom *g);

/* Addresses of records, from a checked geometry (indices unchecked). */
static inline ph_shm_env *ph_shm_geom_env(const ph_shm *shm,
                                          const ph_shm_geom *g,
                                          uint32_t env)
{
    return (ph_shm_env *)((char *)shm->hdr + g->env_off) + env;
}

static inline ph_shm_child *ph_shm_geom_child(const ph_shm *shm,
                                              const ph_shm_geom *g,
                                              uint32_t slot)
{
    return (ph_shm_child *)((char *)shm->hdr + g->child_off) + slot;
}

static inline ph_shm_partition *ph_shm_geom_partition(const ph_shm *shm,
                                                      const ph_shm_geom *g,
                                                      uint32_t mux,
                                                      uint32_t env)
{
    return (ph_shm_partition *)((char *)shm->hdr + g->partition_off)
           + ((size_t)mux * g->envs + env);
}

static inline ph_shm_ticket *ph_shm_geom_ticket(const ph_shm *shm,
                                                const ph_shm_geom *g,
                                                uint32_t mux, uint32_t env,
                                                uint32_t index)
{
    return (ph_shm_ticket *)((char *)shm->hdr + g->ticket_off)
           + (((size_t)mux * g->envs + env) * g->tickets + index);
}

#endif /* PH_SHM_INTERNAL_H */
