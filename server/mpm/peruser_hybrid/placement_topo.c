/*
 * placement_topo.c -- an hwloc topology summarized for placement.c.
 */
#include <string.h>

#include "placement_topo.h"

void ph_place_topo_summarize(const ph_hwloc_api *h, hwloc_topology_t topo,
                             ph_place_topo *out)
{
    hwloc_const_cpuset_t allowed = h->topology_get_allowed_cpuset(topo);
    hwloc_bitmap_t mine = h->bitmap_alloc();
    unsigned n = ph_hwloc_numanodes(h, topo), i;

    memset(out, 0, sizeof(*out));
    for (i = 0; i < n && out->nnodes < PH_PLACE_MAX_NODES; i++) {
        hwloc_obj_t node = ph_hwloc_numanode(h, topo, i);
        ph_place_node *pn = &out->node[out->nnodes];
        int w = 0;

        if (!node) {
            break;
        }
        if (mine && node->cpuset) {
            h->bitmap_and(mine, node->cpuset, allowed);
            w = h->bitmap_weight(mine);
        }
        pn->os_index = (int)node->os_index;
        pn->cpus = w > 0 ? (unsigned)w : 0;
        out->nnodes++;
    }
    h->bitmap_free(mine);
}

int ph_place_topo_cpuset(const ph_hwloc_api *h, hwloc_topology_t topo,
                         int os_index, hwloc_bitmap_t set)
{
    hwloc_obj_t node;

    if (os_index < 0
        || !(node = ph_hwloc_numanode_by_os_index(h, topo,
                                                  (unsigned)os_index))
        || !node->cpuset) {
        return -1;
    }
    h->bitmap_and(set, node->cpuset, h->topology_get_allowed_cpuset(topo));
    return h->bitmap_iszero(set) ? -1 : 0;
}
