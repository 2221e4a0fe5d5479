/*
 * lib_hwloc.h -- the hwloc functions this module calls, from libhwloc
 * opened on first use (lazy_lib.h): only a process that places a child on
 * a NUMA node (the parent at start-up, a factory before forking a placed
 * child) pays for loading it.
 *
 * hwloc.h's inline helpers (hwloc_get_nbobjs_by_type, ...) would call the
 * library directly; the few this module needs are here, over the table.
 */
#ifndef PH_LIB_HWLOC_H
#define PH_LIB_HWLOC_H

#include <hwloc.h>

#if HWLOC_API_VERSION < 0x00020000 || HWLOC_API_VERSION >= 0x00030000
#error "peruser_hybrid is written for hwloc 2.x (soname libhwloc.so.15)"
#endif
#define PH_HWLOC_SONAME "libhwloc.so.15"

typedef struct ph_hwloc_api {
    __typeof__(hwloc_topology_init) *topology_init;
    __typeof__(hwloc_topology_load) *topology_load;
    __typeof__(hwloc_topology_destroy) *topology_destroy;
    __typeof__(hwloc_topology_get_allowed_cpuset) *topology_get_allowed_cpuset;
    __typeof__(hwloc_get_type_depth) *get_type_depth;
    __typeof__(hwloc_get_nbobjs_by_depth) *get_nbobjs_by_depth;
    __typeof__(hwloc_get_obj_by_depth) *get_obj_by_depth;
    __typeof__(hwloc_bitmap_alloc) *bitmap_alloc;
    __typeof__(hwloc_bitmap_free) *bitmap_free;
    __typeof__(hwloc_bitmap_and) *bitmap_and;
    __typeof__(hwloc_bitmap_weight) *bitmap_weight;
    __typeof__(hwloc_bitmap_iszero) *bitmap_iszero;
    __typeof__(hwloc_set_cpubind) *set_cpubind;
    __typeof__(hwloc_set_membind) *set_membind;
} ph_hwloc_api;

/* libhwloc's functions, loaded on the first call (thread-safe), or NULL
 * if it cannot be opened; *why (may be NULL) then says why. */
const ph_hwloc_api *ph_hwloc(const char **why);

/* The topology's NUMA nodes: how many (0 if none or unknown), the i-th,
 * the one with OS index os_index (NULL if none). */
unsigned ph_hwloc_numanodes(const ph_hwloc_api *h, hwloc_topology_t topo);
hwloc_obj_t ph_hwloc_numanode(const ph_hwloc_api *h, hwloc_topology_t topo,
                              unsigned i);
hwloc_obj_t ph_hwloc_numanode_by_os_index(const ph_hwloc_api *h,
                                          hwloc_topology_t topo,
                                          unsigned os_index);

#endif /* PH_LIB_HWLOC_H */
