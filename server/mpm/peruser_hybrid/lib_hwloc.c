/*
 * lib_hwloc.c -- libhwloc opened on first use (lib_hwloc.h).
 */
#include <stddef.h>

#include "lazy_lib.h"
#include "lib_hwloc.h"

#define SYM(field, name) { name, offsetof(ph_hwloc_api, field) }

static const ph_lazy_sym hwloc_syms[] = {
    SYM(topology_init, "hwloc_topology_init"),
    SYM(topology_load, "hwloc_topology_load"),
    SYM(topology_destroy, "hwloc_topology_destroy"),
    SYM(topology_get_allowed_cpuset, "hwloc_topology_get_allowed_cpuset"),
    SYM(get_type_depth, "hwloc_get_type_depth"),
    SYM(get_nbobjs_by_depth, "hwloc_get_nbobjs_by_depth"),
    SYM(get_obj_by_depth, "hwloc_get_obj_by_depth"),
    SYM(bitmap_alloc, "hwloc_bitmap_alloc"),
    SYM(bitmap_free, "hwloc_bitmap_free"),
    SYM(bitmap_and, "hwloc_bitmap_and"),
    SYM(bitmap_weight, "hwloc_bitmap_weight"),
    SYM(bitmap_iszero, "hwloc_bitmap_iszero"),
    SYM(set_cpubind, "hwloc_set_cpubind"),
    SYM(set_membind, "hwloc_set_membind"),
};

static ph_hwloc_api hwloc_api;
static ph_lazy_lib hwloc_lib =
    PH_LAZY_LIB(PH_HWLOC_SONAME, hwloc_syms, hwloc_api);

const ph_hwloc_api *ph_hwloc(const char **why)
{
    return ph_lazy_open(&hwloc_lib, why);
}

unsigned ph_hwloc_numanodes(const ph_hwloc_api *h, hwloc_topology_t topo)
{
    int depth = h->get_type_depth(topo, HWLOC_OBJ_NUMANODE);

    return depth == HWLOC_TYPE_DEPTH_UNKNOWN
           || depth == HWLOC_TYPE_DEPTH_MULTIPLE
           ? 0 : h->get_nbobjs_by_depth(topo, depth);
}

hwloc_obj_t ph_hwloc_numanode(const ph_hwloc_api *h, hwloc_topology_t topo,
                              unsigned i)
{
    int depth = h->get_type_depth(topo, HWLOC_OBJ_NUMANODE);

    return depth == HWLOC_TYPE_DEPTH_UNKNOWN
           || depth == HWLOC_TYPE_DEPTH_MULTIPLE
           ? NULL : h->get_obj_by_depth(topo, depth, i);
}

hwloc_obj_t ph_hwloc_numanode_by_os_index(const ph_hwloc_api *h,
                                          hwloc_topology_t topo,
                                          unsigned os_index)
{
    unsigned i, n = ph_hwloc_numanodes(h, topo);
    hwloc_obj_t node;

    for (i = 0; i < n; i++) {
        if ((node = ph_hwloc_numanode(h, topo, i))
            && node->os_index == os_index) {
            return node;
        }
    }
    return NULL;
}
