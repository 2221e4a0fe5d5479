/*
 * placement_topo.h -- the placement summary (placement.h) of an hwloc
 * topology, through libhwloc's table (lib_hwloc.h).  No httpd here: the
 * unit tests build synthetic topologies.
 */
#ifndef PH_PLACEMENT_TOPO_H
#define PH_PLACEMENT_TOPO_H

#include "lib_hwloc.h"
#include "placement.h"

/* Fill *out from topo: every NUMA node (up to PH_PLACE_MAX_NODES) in
 * logical order, with the number of its CPUs in the topology's allowed
 * cpuset (the cgroup's or the process's affinity, as hwloc found it, or
 * as hwloc_topology_allow set it). */
void ph_place_topo_summarize(const ph_hwloc_api *h, hwloc_topology_t topo,
                             ph_place_topo *out);

/* The CPUs a child placed on the node whose number is os_index is bound
 * to (the node's allowed CPUs), into set; 0, or -1 if no such node or it
 * has no allowed CPU. */
int ph_place_topo_cpuset(const ph_hwloc_api *h, hwloc_topology_t topo,
                         int os_index, hwloc_bitmap_t set);

#endif /* PH_PLACEMENT_TOPO_H */
