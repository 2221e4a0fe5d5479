/*
 * shm_internal.h -- what the files of shm/ share and nobody else uses.
 *
 * Every record is found through the process's private geometry
 * (ph_shm.geom), never through the mapped header: the geometry was
 * computed by the creator from its configuration or, by a reader, from a
 * header checked field by field (shm_segment.c), and the mapping is at
 * least geom.total bytes long.  The unchecked helpers below take indices
 * the caller has already checked against that geometry.
 */
#ifndef PH_SHM_INTERNAL_H
#define PH_SHM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ph_shm.h"

/* Compute the layout of capacities g with regions aligned to page bytes.
 * Returns 0, or -1 for a zero count, a bad page size or an overflow. */
int ph_shm_geom_compute(const ph_shm_geometry *g, uint32_t page,
                        ph_shm_geom *out);

static inline char *ph_shm_base(const ph_shm *shm)
{
    return (char *)shm->hdr;
}

static inline char *ph_shm_region(const ph_shm *shm, uint32_t env)
{
    return ph_shm_base(shm) + shm->geom.region_off
           + (uint64_t)env * shm->geom.region_stride;
}

/* Whether env's region is mapped here: everywhere but in a processor
 * attached without views (ph_shm_attach_processor), which maps its own.
 * Every way into a region checks it (the record accessors, the env
 * snapshot, the ticket locator): a new one must too. */
static inline int ph_shm_region_mapped(const ph_shm *shm, uint32_t env)
{
    return !shm->own_only || env == shm->own_env;
}

static inline ph_shm_env_stats *ph_shm_geom_env_stats(const ph_shm *shm,
                                                      uint32_t env)
{
    return (ph_shm_env_stats *)ph_shm_region(shm, env);
}

static inline ph_shm_partition *ph_shm_geom_partition(const ph_shm *shm,
                                                      uint32_t mux,
                                                      uint32_t env)
{
    return (ph_shm_partition *)(ph_shm_region(shm, env)
                                + shm->geom.r_partition_off)
           + mux;
}

static inline ph_shm_ticket *ph_shm_geom_ticket(const ph_shm *shm,
                                                uint32_t mux, uint32_t env,
                                                uint32_t index)
{
    return (ph_shm_ticket *)(ph_shm_region(shm, env)
                             + shm->geom.r_ticket_off)
           + ((size_t)mux * shm->geom.tickets + index);
}

/* Word w (< geom.demand_words) of a bit array of the MUX region at
 * offset off (mux_demand_off or mux_used_off): bit b of it stands for
 * environment 64 * w + b.  Written by multiplexers and the parent. */
static inline _Atomic uint64_t *ph_shm_mux_bits(const ph_shm *shm,
                                                uint64_t off, uint32_t w)
{
    return (_Atomic uint64_t *)(ph_shm_base(shm) + shm->geom.mux_off + off)
           + w;
}

#endif /* PH_SHM_INTERNAL_H */
