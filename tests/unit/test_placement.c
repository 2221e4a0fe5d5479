/*
 * test_placement.c -- placement.c's rules (NUMANode) on synthetic hwloc
 * topologies summarized by placement_topo.c: one node; two packages of
 * two nodes ("pack:2 numa:2 core:4 pu:2"); four nodes; asymmetric nodes;
 * a node whose CPUs are all outside the allowed cpuset; full nodes.
 */
#include <string.h>

#include <CUnit/CUnit.h>
#include <hwloc.h>

#include "lib_hwloc.h"
#include "placement.h"
#include "placement_topo.h"
#include "unit_suites.h"

/* libhwloc as the module opens it (lib_hwloc.c): the same library this
 * test links, so its topologies are the module's. */
static const ph_hwloc_api *hwloc_api(void)
{
    const ph_hwloc_api *h = ph_hwloc(NULL);

    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    return h;
}

/* Load a synthetic topology; if allowed_cpus is not NULL, restrict the
 * allowed cpuset to it (as a cgroup's cpuset would); if restrict_cpus is
 * not NULL, cut the topology down to those CPUs (asymmetric nodes). */
static int summarize(const char *desc, const char *allowed_cpus,
                     const char *restrict_cpus, ph_place_topo *out)
{
    hwloc_topology_t topo;
    hwloc_bitmap_t set = NULL;
    int rc = -1;

    if (hwloc_topology_init(&topo) < 0) {
        return -1;
    }
    if (hwloc_topology_set_synthetic(topo, desc) < 0
        || (allowed_cpus
            && hwloc_topology_set_flags(
                   topo, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED) < 0)
        || hwloc_topology_load(topo) < 0) {
        goto destroy;
    }
    if (allowed_cpus || restrict_cpus) {
        set = hwloc_bitmap_alloc();
        if (!set || hwloc_bitmap_list_sscanf(set, allowed_cpus ? allowed_cpus
                                                  : restrict_cpus) < 0) {
            goto destroy;
        }
    }
    if (allowed_cpus
        && hwloc_topology_allow(topo, set, NULL,
                                HWLOC_ALLOW_FLAG_CUSTOM) < 0) {
        goto destroy;
    }
    if (restrict_cpus && hwloc_topology_restrict(topo, set, 0) < 0) {
        goto destroy;
    }
    ph_place_topo_summarize(hwloc_api(), topo, out);
    rc = 0;
destroy:
    hwloc_bitmap_free(set);
    hwloc_topology_destroy(topo);
    return rc;
}

static ph_place_census census;

static int proc(const ph_place_topo *t, int want)
{
    return ph_place_choose(t, want, PH_PLACE_PROCESSOR, &census);
}

/* Place a processor with auto and count it, as the parent would. */
static int place_env(const ph_place_topo *t, ph_place_census *env_census)
{
    int i;

    memcpy(census.mine, env_census->mine, sizeof(census.mine));
    i = ph_place_choose(t, PH_NUMA_AUTO, PH_PLACE_PROCESSOR, &census);
    if (i >= 0) {
        census.children[i]++;
        env_census->mine[i]++;
    }
    return i;
}

static void test_one_node(void)
{
    ph_place_topo t;

    CU_ASSERT_EQUAL_FATAL(summarize("numa:1 core:2 pu:1", NULL, NULL, &t), 0);
    CU_ASSERT_EQUAL(t.nnodes, 1);
    CU_ASSERT_EQUAL(t.node[0].cpus, 2);
    CU_ASSERT_FALSE(ph_place_auto_applies(&t));
    memset(&census, 0, sizeof(census));
    /* auto does nothing on one node; NUMANode 0 binds; a node that does
     * not exist, or none, does not */
    CU_ASSERT_EQUAL(proc(&t, PH_NUMA_AUTO), -1);
    CU_ASSERT_EQUAL(proc(&t, PH_NUMA_NONE), -1);
    CU_ASSERT_EQUAL(proc(&t, 0), 0);
    CU_ASSERT_EQUAL(proc(&t, 1), -1);
    CU_ASSERT_EQUAL(ph_place_choose(&t, PH_NUMA_AUTO, PH_PLACE_MULTIPLEXER,
                                    &census), -1);
}

/* Two packages of two nodes: environments spread over the four nodes,
 * each keeps its processors on its node. */
static void test_two_packages(void)
{
    ph_place_census a, b, c, d, e;
    ph_place_topo t;
    unsigned i;

    CU_ASSERT_EQUAL_FATAL(summarize("pack:2 numa:2 core:4 pu:2", NULL, NULL,
                                    &t), 0);
    CU_ASSERT_EQUAL_FATAL(t.nnodes, 4);
    for (i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(t.node[i].os_index, (int)i);
        CU_ASSERT_EQUAL(t.node[i].cpus, 8);
    }
    CU_ASSERT_TRUE(ph_place_auto_applies(&t));
    memset(&census, 0, sizeof(census));
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    memset(&c, 0, sizeof(c));
    memset(&d, 0, sizeof(d));
    memset(&e, 0, sizeof(e));
    CU_ASSERT_EQUAL(place_env(&t, &a), 0);
    CU_ASSERT_EQUAL(place_env(&t, &b), 1);
    CU_ASSERT_EQUAL(place_env(&t, &a), 0);   /* with its first */
    CU_ASSERT_EQUAL(place_env(&t, &c), 2);
    CU_ASSERT_EQUAL(place_env(&t, &d), 3);
    CU_ASSERT_EQUAL(place_env(&t, &b), 1);
    /* the least loaded node for a new environment: 2 and 3 hold one
     * each, 0 and 1 two each */
    CU_ASSERT_EQUAL(place_env(&t, &e), 2);
    /* an explicit node wins over auto */
    CU_ASSERT_EQUAL(proc(&t, 3), 3);
}

/* Four nodes of two CPUs: a node is full at 8 children; an environment
 * whose node is full moves on to the least loaded node. */
static void test_four_nodes_full(void)
{
    ph_place_census a, b;
    ph_place_topo t;
    int i;

    CU_ASSERT_EQUAL_FATAL(summarize("numa:4 core:2 pu:1", NULL, NULL, &t), 0);
    CU_ASSERT_EQUAL_FATAL(t.nnodes, 4);
    CU_ASSERT_EQUAL(t.node[3].cpus, 2);
    memset(&census, 0, sizeof(census));
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    for (i = 0; i < 8; i++) {
        CU_ASSERT_EQUAL(place_env(&t, &a), 0);
    }
    census.children[1] = 3;     /* other environments' */
    census.children[2] = 1;
    census.children[3] = 2;
    CU_ASSERT_EQUAL(place_env(&t, &a), 2);   /* node 0 full */
    /* node 0 still holds most of them but is full: 2 and 3 hold two
     * each now, the first listed */
    CU_ASSERT_EQUAL(place_env(&t, &a), 2);
    /* another environment goes to the least loaded: 3 */
    CU_ASSERT_EQUAL(place_env(&t, &b), 3);
}

static void test_all_full(void)
{
    ph_place_topo t;

    CU_ASSERT_EQUAL_FATAL(summarize("numa:2 core:1 pu:1", NULL, NULL, &t), 0);
    memset(&census, 0, sizeof(census));
    census.children[0] = 9;
    census.children[1] = 5;
    census.mine[0] = 9;
    /* both nodes full (4 per CPU): the least loaded */
    CU_ASSERT_EQUAL(proc(&t, PH_NUMA_AUTO), 1);
    census.children[1] = 12;
    CU_ASSERT_EQUAL(proc(&t, PH_NUMA_AUTO), 0);
    /* an explicit node even when full */
    CU_ASSERT_EQUAL(proc(&t, 1), 1);
}

/* Asymmetric nodes (4 CPUs and 1): load is counted per CPU. */
static void test_asymmetric(void)
{
    ph_place_topo t;

    CU_ASSERT_EQUAL_FATAL(summarize("numa:2 core:4 pu:1", NULL, "0-4", &t),
                          0);
    CU_ASSERT_EQUAL_FATAL(t.nnodes, 2);
    CU_ASSERT_EQUAL(t.node[0].cpus, 4);
    CU_ASSERT_EQUAL(t.node[1].cpus, 1);
    memset(&census, 0, sizeof(census));
    census.children[0] = 3;     /* 0.75 per CPU */
    census.children[1] = 1;     /* 1 per CPU */
    CU_ASSERT_EQUAL(proc(&t, PH_NUMA_AUTO), 0);
    census.children[0] = 5;     /* 1.25 per CPU */
    CU_ASSERT_EQUAL(proc(&t, PH_NUMA_AUTO), 1);
    /* the small node is full at 4, the big one at 16 */
    census.children[1] = 4;
    census.mine[1] = 4;
    CU_ASSERT_EQUAL(proc(&t, PH_NUMA_AUTO), 0);
}

/* The allowed cpuset (a cgroup's) leaves node 1 without CPUs: auto never
 * chooses it, NUMANode 1 binds nothing, placement_topo gives no CPU set
 * for it. */
static void test_cpuless_node(void)
{
    hwloc_topology_t topo;
    hwloc_bitmap_t set;
    ph_place_topo t;

    CU_ASSERT_EQUAL_FATAL(summarize("numa:3 core:2 pu:1", "0-1,4-5", NULL,
                                    &t), 0);
    CU_ASSERT_EQUAL_FATAL(t.nnodes, 3);
    CU_ASSERT_EQUAL(t.node[0].cpus, 2);
    CU_ASSERT_EQUAL(t.node[1].cpus, 0);
    CU_ASSERT_EQUAL(t.node[2].cpus, 2);
    memset(&census, 0, sizeof(census));
    census.children[0] = 3;
    census.children[2] = 2;
    CU_ASSERT_EQUAL(proc(&t, PH_NUMA_AUTO), 2);
    census.mine[1] = 2;         /* stale: it cannot be its home */
    CU_ASSERT_EQUAL(proc(&t, PH_NUMA_AUTO), 2);
    CU_ASSERT_EQUAL(proc(&t, 1), -1);
    CU_ASSERT_EQUAL(ph_place_choose(&t, PH_NUMA_AUTO, PH_PLACE_MULTIPLEXER,
                                    &census), 2);

    /* no node with CPUs at all: nothing */
    t.node[0].cpus = t.node[2].cpus = 0;
    CU_ASSERT_EQUAL(proc(&t, PH_NUMA_AUTO), -1);

    /* the CPU set a child is bound to: the node's allowed CPUs */
    CU_ASSERT_EQUAL_FATAL(hwloc_topology_init(&topo), 0);
    CU_ASSERT_EQUAL_FATAL(hwloc_topology_set_synthetic(topo, "numa:2 core:2 "
                                                       "pu:1"), 0);
    CU_ASSERT_EQUAL_FATAL(hwloc_topology_load(topo), 0);
    set = hwloc_bitmap_alloc();
    CU_ASSERT_EQUAL(ph_place_topo_cpuset(hwloc_api(), topo, 1, set), 0);
    CU_ASSERT_EQUAL(hwloc_bitmap_first(set), 2);
    CU_ASSERT_EQUAL(hwloc_bitmap_last(set), 3);
    CU_ASSERT_EQUAL(ph_place_topo_cpuset(hwloc_api(), topo, 2, set), -1);
    CU_ASSERT_EQUAL(ph_place_topo_cpuset(hwloc_api(), topo, -1, set), -1);
    hwloc_bitmap_free(set);
    hwloc_topology_destroy(topo);
}

/* Multiplexers spread over the nodes, one each before a second. */
static void test_multiplexers_spread(void)
{
    ph_place_topo t;
    int i, seen[4] = { 0, 0, 0, 0 };

    CU_ASSERT_EQUAL_FATAL(summarize("numa:4 core:2 pu:1", NULL, NULL, &t), 0);
    memset(&census, 0, sizeof(census));
    census.children[0] = 5;     /* processors */
    for (i = 0; i < 8; i++) {
        int n = ph_place_choose(&t, PH_NUMA_AUTO, PH_PLACE_MULTIPLEXER,
                                &census);
        CU_ASSERT_FATAL(n >= 0 && n < 4);
        if (i == 0) {
            CU_ASSERT_EQUAL(n, 1);      /* not the busy node 0 */
        }
        seen[n]++;
        census.mine[n]++;
        census.children[n]++;
    }
    for (i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(seen[i], 2);
    }
    /* a full node gets none while another is not full */
    memset(&census, 0, sizeof(census));
    census.children[0] = 8;
    census.children[1] = census.children[2] = census.children[3] = 1;
    census.mine[1] = census.mine[2] = census.mine[3] = 1;
    CU_ASSERT_EQUAL(ph_place_choose(&t, PH_NUMA_AUTO, PH_PLACE_MULTIPLEXER,
                                    &census), 1);
}

static void test_os_index(void)
{
    ph_place_topo t;

    memset(&t, 0, sizeof(t));
    t.nnodes = 2;
    t.node[0].os_index = 4;     /* logical order is not the OS's */
    t.node[0].cpus = 1;
    t.node[1].os_index = 0;
    t.node[1].cpus = 1;
    memset(&census, 0, sizeof(census));
    CU_ASSERT_EQUAL(ph_place_index_of(&t, 0), 1);
    CU_ASSERT_EQUAL(ph_place_index_of(&t, 4), 0);
    CU_ASSERT_EQUAL(ph_place_index_of(&t, 1), -1);
    CU_ASSERT_EQUAL(proc(&t, 4), 0);
    CU_ASSERT_EQUAL(proc(&t, 0), 1);
}

static void test_node_list(void)
{
    static const struct {
        const char *text;
        int count;
    } cases[] = {
        { "0", 1 }, { "0\n", 1 }, { "0-1\n", 2 }, { "0,2-5", 5 },
        { "1,3,5-6\n", 4 }, { "65535", 1 },
        { "", -1 }, { "\n", -1 }, { "1-0", -1 }, { "0-", -1 },
        { "-1", -1 }, { "0,", -1 }, { "0 1", -1 }, { "a", -1 },
        { "0\n\n", -1 }, { "65536", -1 }, { "0-65535", -1 },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CU_ASSERT_EQUAL(ph_place_node_list_count(cases[i].text),
                        cases[i].count);
    }
    CU_ASSERT_EQUAL(ph_place_node_list_count(NULL), -1);
}

int ph_unit_register_placement(void)
{
    static const ph_unit_test tests[] = {
        { "one node: auto does nothing", test_one_node },
        { "pack:2 numa:2: environments spread, stay together",
          test_two_packages },
        { "four nodes: a full node sends the next elsewhere",
          test_four_nodes_full },
        { "every node full: the least loaded", test_all_full },
        { "asymmetric nodes: load per CPU", test_asymmetric },
        { "a node without allowed CPUs is never chosen", test_cpuless_node },
        { "multiplexers spread over nodes", test_multiplexers_spread },
        { "nodes are named by their OS number", test_os_index },
        { "a kernel node list counted, a malformed one refused",
          test_node_list },
    };
    return ph_unit_add_suite("placement", NULL, tests,
                             sizeof(tests) / sizeof(tests[0]));
}
