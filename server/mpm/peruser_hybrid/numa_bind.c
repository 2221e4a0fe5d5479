/*
 * numa_bind.c -- NUMANode: the machine's topology, the parent's census
 * and choice before a fork, and the child's binding (ph_numa.h).  The
 * rules themselves are placement.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "httpd.h"
#include "apr_strings.h"
#include "http_log.h"
#include "http_main.h"

#include "ph_config.h"
#include "ph_factory.h"
#include "ph_log.h"
#include "ph_magic.h"
#include "ph_numa.h"
#include "ph_parent.h"
#include "ph_segment.h"
#include "lib_hwloc.h"
#include "placement.h"
#include "placement_topo.h"

APLOG_USE_MODULE(mpm_peruser_hybrid);

/* This generation's view of the machine.  Written by check_config in the
 * parent (and in a factory), read-only afterwards; children inherit it
 * through fork(). */
typedef struct numa_state {
    const ph_hwloc_api *h;      /* libhwloc, once a topology was asked for */
    hwloc_topology_t topo;      /* NULL: hwloc could not load one (or, in
                                 * a factory, has not been asked to);
                                 * else h is set */
    ph_place_topo summary;
    int factory_tried;          /* a factory: topology_load was called */
} numa_state;

static numa_state numa;

const char *ph_numa_parse(apr_pool_t *p, const char *arg, int *out)
{
    char *end;
    long n;

    if (!strcasecmp(arg, "auto")) {
        *out = PH_NUMA_AUTO;
        return NULL;
    }
    if (!strcasecmp(arg, "none")) {
        *out = PH_NUMA_NONE;
        return NULL;
    }
    errno = 0;
    n = strtol(arg, &end, 10);
    if (errno || end == arg || *end || arg[0] == '-' || arg[0] == '+'
        || n > 4095) {
        return apr_psprintf(p, "NUMANode '%s' is not auto, none or a node "
                            "number (0 to 4095)", arg);
    }
    *out = (int)n;
    return NULL;
}

int ph_numa_want(const ph_env *env)
{
    if (env && env->numa_node != PH_NUMA_UNSET) {
        return env->numa_node;
    }
    return ph_conf.numa_node;
}

static apr_status_t topology_free(void *data)
{
    numa_state *st = data;

    if (st->topo) {
        st->h->topology_destroy(st->topo);
        st->topo = NULL;
    }
    memset(&st->summary, 0, sizeof(st->summary));
    return APR_SUCCESS;
}

/*
 * hwloc loads its plugins (Debian: GL, OpenCL, PCI, libxml2) at its first
 * topology_init, and with them libX11, libOpenCL, libstdc++, ICU ...: into
 * the root parent, and through fork into every child, for a topology of
 * NUMA nodes and CPUs that the built-in Linux, synthetic and XML
 * components read alone.  So no plugin is loaded, unless the operator's
 * environment names a plugin path itself.
 */
#define PH_HWLOC_PLUGINS_VAR "HWLOC_PLUGINS_PATH"

static void topology_load(apr_pool_t *pconf)
{
    const ph_hwloc_api *h;
    hwloc_topology_t topo;
    const char *why = NULL;

    topology_free(&numa);
    if (!(h = ph_hwloc(&why))) {
        ap_log_error(APLOG_MARK, APLOG_WARNING | APLOG_STARTUP, 0, NULL,
                     PHLOGNO(00608) "cannot load hwloc (%s: %s): NUMANode "
                     "is ignored", PH_HWLOC_SONAME, why ? why : "?");
        return;
    }
    setenv(PH_HWLOC_PLUGINS_VAR, "", 0);
    if (h->topology_init(&topo) < 0) {
        goto failed;
    }
    if (h->topology_load(topo) < 0) {
        h->topology_destroy(topo);
        goto failed;
    }
    numa.h = h;
    numa.topo = topo;
    ph_place_topo_summarize(h, topo, &numa.summary);
    apr_pool_cleanup_register(pconf, &numa, topology_free,
                              apr_pool_cleanup_null);
    return;
failed:
    ap_log_error(APLOG_MARK, APLOG_WARNING | APLOG_STARTUP, errno, NULL,
                 PHLOGNO(00600) "hwloc cannot read this machine's "
                 "topology: NUMANode is ignored");
}

static const char *check_node(apr_pool_t *p, const char *where, int want)
{
    int i;

    if (want < 0) {
        return NULL;
    }
    if (!numa.topo) {
        return apr_psprintf(p, "%sNUMANode %d: hwloc cannot read this "
                            "machine's topology", where, want);
    }
    i = ph_place_index_of(&numa.summary, want);
    if (i < 0) {
        return apr_psprintf(p, "%sNUMANode %d: no such NUMA node (this "
                            "machine has %u)", where, want,
                            numa.summary.nnodes);
    }
    if (numa.summary.node[i].cpus == 0) {
        return apr_psprintf(p, "%sNUMANode %d: the node has no CPU this "
                            "server may use (cpuset)", where, want);
    }
    return NULL;
}

/* The machine's online NUMA nodes, as the kernel lists them. */
#define SYSFS_ONLINE_NODES "/sys/devices/system/node/online"

/* hwloc's own variables that make it read a topology other than this
 * machine's (an operator's XML, the tests' synthetic nodes). */
static const char *const hwloc_topology_vars[] = {
    "HWLOC_SYNTHETIC", "HWLOC_XMLFILE", "HWLOC_FSROOT", "HWLOC_CPUID_PATH",
    NULL
};

/* How many NUMA nodes the kernel has online, or -1 (unknown). */
static int online_nodes(void)
{
    char buf[256];
    apr_size_t n = 0;
    int fd = open(SYSFS_ONLINE_NODES, O_RDONLY | O_CLOEXEC);
    ssize_t got;

    if (fd < 0) {
        return -1;
    }
    while (n < sizeof(buf) - 1
           && (got = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0) {
        n += (apr_size_t)got;
    }
    close(fd);
    buf[n] = '\0';
    return ph_place_node_list_count(buf);
}

/* Whether the parent reads the topology this generation: a NUMANode
 * names a node (checked against it), hwloc is told to read another
 * topology, or the machine has more than one node (or cannot tell).  On
 * one node NUMANode auto does nothing, and reading the topology loaded
 * hwloc and libudev and read the machine's files in each configuration
 * pass: ~4 ms of the first, ~2.5 ms of the second (issue 13, start-up).
 * *nodes: the kernel's count, or -1. */
static int topology_wanted(int *nodes)
{
    int i;

    *nodes = -1;
    if (ph_conf.numa_node >= 0) {
        return 1;
    }
    for (i = 0; i < ph_envs->nelts; i++) {
        if (APR_ARRAY_IDX(ph_envs, i, const ph_env *)->numa_node >= 0) {
            return 1;
        }
    }
    for (i = 0; hwloc_topology_vars[i]; i++) {
        if (getenv(hwloc_topology_vars[i])) {
            return 1;
        }
    }
    *nodes = online_nodes();
    return *nodes != 1;
}

const char *ph_numa_check_config(apr_pool_t *pconf)
{
    const char *msg;
    char where[512];
    int i, nodes;

    if (ph_factory_is_me()) {
        /* The parent checked this configuration against this machine, in
         * this generation; a factory loads the topology only for a child
         * the parent placed on a node (ph_numa_factory_prepare). */
        topology_free(&numa);
        numa.factory_tried = 0;
        return NULL;
    }
    if (!topology_wanted(&nodes)) {
        topology_free(&numa);
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf,
                     PHLOGNO(00601) "NUMA: %d node (%s); NUMANode auto does "
                     "nothing, no topology read", nodes, SYSFS_ONLINE_NODES);
        return NULL;
    }
    topology_load(pconf);
    if ((msg = check_node(pconf, "", ph_conf.numa_node))) {
        return msg;
    }
    for (i = 0; i < ph_envs->nelts; i++) {
        const ph_env *env = APR_ARRAY_IDX(ph_envs, i, ph_env *);
        apr_snprintf(where, sizeof(where), "<Processor %s> (%s:%u): ",
                     env->name, env->defn_file, env->defn_line);
        if ((msg = check_node(pconf, where, env->numa_node))) {
            return msg;
        }
    }
    if (numa.topo) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf,
                     PHLOGNO(00601) "NUMA: %u node(s); NUMANode auto %s",
                     numa.summary.nnodes,
                     ph_place_auto_applies(&numa.summary)
                     ? "spreads children over them" : "does nothing");
    }
    return NULL;
}

/* The parent's live children per node, from the segment's MAIN records
 * (which only the parent writes). */
static void gather_census(ph_child_type type, const ph_env *env,
                          ph_place_census *c)
{
    ph_retained *r = ph_retained_state;
    int i;

    memset(c, 0, sizeof(*c));
    for (i = 0; i < r->max_slot_used; i++) {
        const ph_slot *sl = &r->slots[i];
        const ph_shm_child *rec;
        int n;

        if (!sl->pid || !(rec = ph_segment_child(i))
            || (n = ph_place_index_of(&numa.summary, rec->numa_node)) < 0) {
            continue;
        }
        c->children[n]++;
        if (type == PH_CHILD_MUX ? sl->type == PH_CHILD_MUX
                                 : sl->type == PH_CHILD_PROC && env
                                   && sl->gen == r->mpm->my_generation
                                   && sl->env_index == env->index) {
            c->mine[n]++;
        }
    }
}

/* An explicit node that has no allowed CPU any more: said once a minute
 * at most. */
static void explicit_node_unusable(const ph_env *env, int want)
{
    static apr_time_t logged_at;
    apr_time_t now = apr_time_now();

    if (logged_at && now - logged_at < apr_time_from_sec(60)) {
        return;
    }
    logged_at = now;
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ap_server_conf,
                 PHLOGNO(00602) "NUMANode %d of %s%s: the node has no CPU "
                 "this server may use; the child is not bound", want,
                 env ? "environment " : "the multiplexers",
                 env ? env->name : "");
}

void ph_numa_place(int slot, ph_child_type type, const ph_env *env)
{
    int want = ph_numa_want(type == PH_CHILD_PROC ? env : NULL);
    ph_place_census census;
    int i, node = -1;

    if (!ph_segment || !numa.topo || want == PH_NUMA_NONE) {
        return;
    }
    gather_census(type, env, &census);
    i = ph_place_choose(&numa.summary, want,
                        type == PH_CHILD_MUX ? PH_PLACE_MULTIPLEXER
                                             : PH_PLACE_PROCESSOR,
                        &census);
    if (i >= 0) {
        node = numa.summary.node[i].os_index;
    }
    else if (want >= 0) {
        explicit_node_unusable(type == PH_CHILD_PROC ? env : NULL, want);
    }
    ph_shm_child_placed(ph_segment, (uint32_t)slot, node);
    if (node >= 0) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf,
                     PHLOGNO(00603) "%s%s in slot %d goes to NUMA node %d",
                     type == PH_CHILD_MUX ? "multiplexer"
                                          : "processor of environment ",
                     type == PH_CHILD_MUX ? "" : env->name, slot, node);
    }
}

void ph_numa_factory_prepare(apr_pool_t *pconf, int slot)
{
    const ph_shm_child *rec = ph_segment_child(slot);

    if (numa.factory_tried || !rec || rec->numa_node < 0) {
        return;
    }
    numa.factory_tried = 1;
    topology_load(pconf);
}

/* Bind this process (every thread it has; threads it starts inherit the
 * binding) to node's allowed CPUs, and its memory to node.  The memory
 * policy is per thread in Linux: set here, before any thread starts, it
 * is every later thread's (and every CGI's) too.  Returns the
 * PH_NUMA_FAILED_* bits, and the first errno in *err. */
static unsigned bind_to(int node, int *err)
{
    const ph_hwloc_api *h = numa.h;
    hwloc_bitmap_t cpus;
    hwloc_obj_t obj;
    unsigned failed = 0;

    ap_assert(h && numa.topo);
    cpus = h->bitmap_alloc();
    *err = 0;
    if (!cpus || ph_place_topo_cpuset(h, numa.topo, node, cpus) < 0) {
        failed |= PH_NUMA_FAILED_CPU;
        *err = EINVAL;
    }
    else if (h->set_cpubind(numa.topo, cpus, HWLOC_CPUBIND_PROCESS) < 0) {
        failed |= PH_NUMA_FAILED_CPU;
        *err = errno;
    }
    obj = ph_hwloc_numanode_by_os_index(h, numa.topo, (unsigned)node);
    if (!obj || !obj->nodeset
        || h->set_membind(numa.topo, obj->nodeset, HWLOC_MEMBIND_BIND,
                          HWLOC_MEMBIND_THREAD
                          | HWLOC_MEMBIND_BYNODESET) < 0) {
        failed |= PH_NUMA_FAILED_MEM;
        if (!*err) {
            *err = obj ? errno : EINVAL;
        }
    }
    h->bitmap_free(cpus);
    return failed;
}

void ph_numa_bind_self(int slot, ph_child_type type, const ph_env *env,
                       const char *what)
{
    const ph_shm_child *rec = ph_segment_child(slot);
    ph_shm_child_stats *st;
    ph_shm_env_stats *es;
    unsigned failed;
    int node, err, first = 1;

    if (!rec || !numa.topo || (node = rec->numa_node) < 0) {
        return;
    }
    failed = bind_to(node, &err);
    if (!failed) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf,
                     PHLOGNO(00604) "%s in slot %d bound to NUMA node %d",
                     what, slot, node);
        return;
    }
    if ((st = ph_segment_child_stats(slot))) {
        atomic_store(&st->numa_failed, failed);
    }
    /* Every processor of an environment fails the same way: the first
     * one of the generation says it, the others count. */
    if (type == PH_CHILD_PROC && env
        && (es = ph_segment_env_stats(env->index))) {
        first = atomic_fetch_add(&es->numa_failures, 1) == 0;
    }
    ap_log_error(APLOG_MARK, first ? APLOG_WARNING : APLOG_DEBUG, err,
                 ap_server_conf, PHLOGNO(00605) "%s in slot %d cannot bind "
                 "its %s to NUMA node %d; it runs without that binding%s", what,
                 slot, failed == (PH_NUMA_FAILED_CPU | PH_NUMA_FAILED_MEM)
                       ? "CPUs and memory"
                       : failed == PH_NUMA_FAILED_CPU ? "CPUs" : "memory",
                 node, first && type == PH_CHILD_PROC
                       ? " (said once per environment; status counts "
                         "the others)" : "");
}
