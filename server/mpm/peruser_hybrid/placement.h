/*
 * placement.h -- which NUMA node a new child goes to (NUMANode).
 *
 * A pure function of three things: a summary of the machine (its NUMA
 * nodes, each with the number of CPUs this process may use on it), what
 * the configuration asks for (auto, none or a node), and the census of
 * the children already placed (how many on each node, and how many of
 * them are "mine": the environment's processors when placing a processor,
 * the multiplexers when placing a multiplexer).  No hwloc and no httpd
 * here: placement_topo.c builds the summary from an hwloc topology,
 * numa_bind.c gathers the census in the parent and binds the child.
 *
 * The rules (doc/decisions.md, "NUMA placement"):
 *   - none, or a machine with fewer than two nodes: -1 (do not bind);
 *   - a node without allowed CPUs (the cgroup's or the affinity's cpuset
 *     leaves none on it) is never chosen;
 *   - NUMANode N: node N if it has allowed CPUs, even when full (the
 *     operator asked for it); else -1;
 *   - auto, processor: the node where most of its environment's
 *     processors already are, while that node is not full; else the
 *     least loaded node that is not full (children per allowed CPU); when
 *     every node is full, the least loaded one;
 *   - auto, multiplexer: the node with the fewest multiplexers, preferring
 *     nodes that are not full, then the least loaded.
 * A node is full when it holds PH_PLACE_CHILDREN_PER_CPU children per
 * allowed CPU.  Ties go to the node listed first.
 */
#ifndef PH_PLACEMENT_H
#define PH_PLACEMENT_H

#define PH_PLACE_MAX_NODES 64

/* NUMANode's two words; a node number is >= 0. */
#define PH_NUMA_AUTO (-1)
#define PH_NUMA_NONE (-2)
/* Not set (a <Processor> without NUMANode takes the global value). */
#define PH_NUMA_UNSET (-3)

/* Children a node holds per allowed CPU before it counts as full. */
#define PH_PLACE_CHILDREN_PER_CPU 4

typedef struct ph_place_node {
    int os_index;           /* the node's number, as NUMANode N and the
                             * kernel name it */
    unsigned cpus;          /* CPUs of the node this process may use */
} ph_place_node;

typedef struct ph_place_topo {
    unsigned nnodes;        /* 0..PH_PLACE_MAX_NODES */
    ph_place_node node[PH_PLACE_MAX_NODES];
} ph_place_topo;

/* Indexed like ph_place_topo.node. */
typedef struct ph_place_census {
    unsigned children[PH_PLACE_MAX_NODES];  /* every child bound there */
    unsigned mine[PH_PLACE_MAX_NODES];      /* of them: see above */
} ph_place_census;

typedef enum ph_place_kind {
    PH_PLACE_PROCESSOR,
    PH_PLACE_MULTIPLEXER
} ph_place_kind;

/* The index in t->node of the node for the new child, or -1: do not bind.
 * want is PH_NUMA_AUTO, PH_NUMA_NONE or a node's os_index. */
int ph_place_choose(const ph_place_topo *t, int want, ph_place_kind kind,
                    const ph_place_census *c);

/* The index in t->node of the node whose os_index is os_index, or -1. */
int ph_place_index_of(const ph_place_topo *t, int os_index);

/* Whether auto does anything on this machine: two nodes or more. */
int ph_place_auto_applies(const ph_place_topo *t);

/* How many nodes a kernel node list names ("0", "0-3", "0,2-5", as
 * /sys/devices/system/node/online reads, a newline at the end allowed):
 * 1 or more, or -1 when text is not such a list (empty, a range that runs
 * backwards, a number past PH_PLACE_LIST_MAX). */
#define PH_PLACE_LIST_MAX 65535
int ph_place_node_list_count(const char *text);

#endif /* PH_PLACEMENT_H */
