/*
 * placement_topo.c -- an hwloc topology summarized for placement.c.
 */
#include <string.h>

#include <hwloc.h>

#include "placement_topo.h"

void ph_place_topo_summarize(hwloc_topology_t topo, ph_place_topo *out)
{
    hwloc_const_cpuset_t allowed = hwloc_topology_get_allowed_cpuset(topo);
    hwloc_bitmap_t mine = hwloc_bitmap_alloc();
    int n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE), i;

    memset(out, 0, sizeof(*out));
    for (i = 0; i < n && out->nnodes < PH_PLACE_MAX_NODES; i++) {
        hwloc_obj_t node = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE,
                                                 (unsigned)i);
        ph_place_node *pn = &out->node[out->nnodes];
        int w = 0;

        if (!node) {
            break;
        }
        if (mine && node->cpuset) {
            hwloc_bitmap_and(mine, node->cpuset, allowed);
            w = hwloc_bitmap_weight(mine);
        }
        pn->os_index = (int)node->os_index;
        pn->cpus = w > 0 ? (unsigned)w : 0;
        out->nnodes++;
    }
    hwloc_bitmap_free(mine);
}

int ph_place_topo_cpuset(hwloc_topology_t topo, int os_index,
                         hwloc_bitmap_t set)
{
    hwloc_obj_t node;

    if (os_index < 0
        || !(node = hwloc_get_numanode_obj_by_os_index(topo,
                                                       (unsigned)os_index))
        || !node->cpuset) {
        return -1;
    }
    hwloc_bitmap_and(set, node->cpuset,
                     hwloc_topology_get_allowed_cpuset(topo));
    return hwloc_bitmap_iszero(set) ? -1 : 0;
}
