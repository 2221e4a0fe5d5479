"""NUMANode: processors and multiplexers bound to NUMA nodes with hwloc.

This machine has one NUMA node, so most tests give the server a synthetic
topology of two nodes through hwloc's own variables (HWLOC_SYNTHETIC,
with HWLOC_THISSYSTEM=1 so that hwloc binds the real processes to it):
node 0 holds CPU 0, node 1 CPU 1.  The kernel then shows the CPU binding
of a child, and of a CGI it runs, in /proc/PID/status Cpus_allowed_list.
The memory binding shows in /proc/PID/numa_maps (the policy column names
the node); the kernel has no node 1, so binding memory there fails: that
is the failure path (logged once per environment, counted in status).
"""

import json
import os
import re

import pytest

import phtest
from phtest import http_get, processor, seg_env, seg_processors, segment, vhost, wait_for

PSTAT = phtest.REPO / "build" / "out" / "pstat"

TWO_NODES = {"HWLOC_SYNTHETIC": "pack:1 numa:2 core:1 pu:1", "HWLOC_THISSYSTEM": "1"}

CPUS_CGI = """\
#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
grep -E '^(Cpus_allowed_list|Mems_allowed_list)' /proc/self/status
echo "policy=$(head -n 1 /proc/self/numa_maps | sed -E 's/^[^ ]+ //; s/ [A-Za-z0-9_]+=.*//')"
"""

HEAD = phtest.server_head(threads=4, server_limit=16, muxes=2) + "ExtendedStatus On\n"


def conf(global_numa=None, alice=None, bob=None, alice_processors=1):
    lines = HEAD
    if global_numa is not None:
        lines += f"NUMANode {global_numa}\n"
    a = {"MinProcessors": alice_processors, "MaxProcessors": alice_processors,
         "MinSpareProcessors": 0}
    b = {"MinProcessors": 1, "MaxProcessors": 1, "MinSpareProcessors": 0}
    if alice is not None:
        a["NUMANode"] = alice
    if bob is not None:
        b["NUMANode"] = bob
    return (lines + "StatusEnvironment alice\n"
            + processor("alice", "alice", **a) + processor("bob", "bob", **b)
            + vhost("alice.test", "alice", "alice") + vhost("bob.test", "bob", "bob"))


def install_cgi(tree):
    for name in ("alice", "bob"):
        p = tree[name] / "cgi-bin" / "cpus.cgi"
        p.write_text(CPUS_CGI)
        os.chmod(p, 0o755)


def start(servers, tree, template, env=None):
    install_cgi(tree)
    port = phtest.free_port()
    srv = servers(template, values={"PORT": port}, env=env, loglevel="debug")
    srv.start(ready_hosts=["alice.test", "bob.test"], port=port)
    srv.port = port
    return srv


def status_field(pid, field):
    text = open(f"/proc/{pid}/status").read()
    m = re.search(rf"^{field}:\s*(\S+)", text, re.M)
    assert m, (pid, field)
    return m.group(1)


def policy(pid):
    """The memory policy of the first mapping of pid's numa_maps ("default",
    "bind:0", "prefer (many):0" ...: what precedes the key=value fields)."""
    with open(f"/proc/{pid}/numa_maps") as f:
        line = f.readline().rstrip("\n")
    return re.match(r"^\S+ (.+?)(?: [A-Za-z0-9_]+=.*)?$", line).group(1)


def settled(srv, muxes=2, alice=1):
    """The segment once alice has `alice` processors, bob one, and the
    multiplexers run, all ready."""
    def ready():
        seg = segment(srv)
        kids = seg["children"]
        if sum(c["type_name"] == "multiplexer" for c in kids) != muxes:
            return None
        if (len(seg_processors(seg, "alice")) != alice
                or len(seg_processors(seg, "bob")) != 1):
            return None
        if any(c["status_name"] not in ("ready", "active") for c in kids):
            return None
        return seg
    return wait_for(ready, 30, what="two processors and the multiplexers ready")


def cgi(srv, host):
    r = http_get(srv.port, host, "/cgi-bin/cpus.cgi")
    assert r.status == 200, r
    body = r.body.decode()
    return {k: v.strip() for k, v in re.findall(r"^(\w+)[:=]\s*(.+)$", body, re.M)}


def pstat_children(srv):
    res = phtest.run_tool([str(PSTAT), "--shm", str(phtest.segment_path(srv)), "-j",
                           "-d", "0"], 20)
    assert res.returncode == 0, res
    doc = json.loads(res.stdout)
    return {c["pid"]: c for c in doc["children"]}, {e["name"]: e for e in doc["environments"]}


def status_auto(srv):
    r = http_get(srv.port, "alice.test", "/server-status?auto")
    assert r.status == 200, r
    return dict(line.split(": ", 1) for line in r.body.decode().splitlines() if ": " in line)


def test_auto_spreads_environments_and_multiplexers(servers, tree, shm_dump):
    """Two synthetic nodes, NUMANode auto (the default): alice's and bob's
    processors go to different nodes, the two multiplexers too; each child
    runs on its node's CPU only, and so does a CGI it runs.  The segment,
    pstat and ?peruser_stats show the nodes; binding memory to node 1 (which
    the kernel does not have) fails, is logged once and counted."""
    srv = start(servers, tree, conf(), env=TWO_NODES)
    seg = settled(srv)
    procs = {e: seg_processors(seg, e)[0] for e in ("alice", "bob")}
    muxes = [c for c in seg["children"] if c["type_name"] == "multiplexer"]
    assert sorted(c["numa_node"] for c in muxes) == [0, 1], muxes
    assert sorted(p["numa_node"] for p in procs.values()) == [0, 1], procs
    for child in muxes + list(procs.values()):
        assert status_field(child["pid"], "Cpus_allowed_list") == str(child["numa_node"]), child
    for env, p in procs.items():
        seen = cgi(srv, f"{env}.test")
        assert seen["Cpus_allowed_list"] == str(p["numa_node"]), (env, seen)
        if p["numa_node"] == 0:
            # memory bound to node 0: the policy names it, in the CGI too
            assert re.search(r":0$", policy(p["pid"])), policy(p["pid"])
            assert re.search(r":0$", seen["policy"]), seen
            assert p["numa_failed"] == 0, p
        else:
            assert p["numa_failed"] == 2, p     # PH_NUMA_FAILED_MEM
    on1 = next(e for e, p in procs.items() if p["numa_node"] == 1)
    on0 = next(e for e, p in procs.items() if p["numa_node"] == 0)
    assert seg_env(seg, on1)["numa_failures"] == 1
    assert seg_env(seg, on0)["numa_failures"] == 0
    # pstat -j and mod_status show the same
    children, envs = pstat_children(srv)
    for p in procs.values():
        assert children[p["pid"]]["numa_node"] == p["numa_node"]
        assert children[p["pid"]]["numa_mem_failed"] == (p["numa_node"] == 1)
    assert envs[on1]["numa_bind_failures"] == 1
    auto = status_auto(srv)
    assert auto[f"Peruser.{on1}.NumaBindFailures"] == "1", auto
    assert auto[f"Peruser.{on0}.NumaBindFailures"] == "0", auto
    r = http_get(srv.port, "alice.test", "/server-status")
    page = r.body.decode()
    for p in procs.values():
        # the peruser table's row (httpd's own table has the pid too)
        row = re.search(rf"<tr><td>\d+</td><td>{p['pid']}</td><td>[A-Z]+</td>.*?</tr>", page)
        assert row, page[-3000:]
        want = "1 (unbound)" if p["numa_node"] == 1 else "0"
        # the Node cell, then Allocated/resident ("-": glibc's malloc)
        assert row.group(0).endswith(f"<td>{want}</td><td>-</td></tr>"), row.group(0)
    # said once, for the environment on node 1, with its own id; the
    # multiplexer on node 1 says it for itself
    lines = srv.log_lines(r"PH00605")
    warned = [ln for ln in lines if "[mpm_peruser_hybrid:warn]" in ln]
    assert len([ln for ln in warned if "processor of environment" in ln]) == 1, lines
    assert any(f"processor of environment {on1}" in ln for ln in warned), lines
    assert len([ln for ln in warned if "multiplexer" in ln]) == 1, lines
    mux1 = next(c for c in muxes if c["numa_node"] == 1)
    assert mux1["numa_failed"] == 2, mux1


def test_auto_keeps_an_environment_together(servers, tree, shm_dump):
    """alice has two processors, bob one, on two synthetic nodes of one CPU
    (a node is full at 4 children): alice's two share a node, bob is on
    the other."""
    srv = start(servers, tree, conf(alice_processors=2), env=TWO_NODES)
    seg = settled(srv, alice=2)
    alice = {p["numa_node"] for p in seg_processors(seg, "alice")}
    bob = {p["numa_node"] for p in seg_processors(seg, "bob")}
    assert len(alice) == 1 and len(bob) == 1, (alice, bob)
    assert alice != bob and alice | bob == {0, 1}, (alice, bob)
    for p in seg_processors(seg, "alice"):
        assert status_field(p["pid"], "Cpus_allowed_list") == str(p["numa_node"])


@pytest.mark.parametrize("image", ["exec", "fork"])
def test_explicit_node_and_none(servers, tree, shm_dump, image):
    """NUMANode 1 in <Processor alice>, none in bob's: alice runs on CPU 1
    whatever auto would do, bob is not bound at all; NUMANode none at
    server level leaves the multiplexers unbound.  Processors from a
    factory (ProcessorImage exec) and from the parent (fork)."""
    template = conf(global_numa="none", alice=1, bob="none")
    template = template.replace("StatusEnvironment alice\n",
                                f"StatusEnvironment alice\nProcessorImage {image}\n")
    srv = start(servers, tree, template, env=TWO_NODES)
    seg = settled(srv)
    alice = seg_processors(seg, "alice")[0]
    bob = seg_processors(seg, "bob")[0]
    assert alice["numa_node"] == 1
    assert status_field(alice["pid"], "Cpus_allowed_list") == "1"
    assert cgi(srv, "alice.test")["Cpus_allowed_list"] == "1"
    machine = status_field(os.getpid(), "Cpus_allowed_list")
    assert bob["numa_node"] == -1
    assert status_field(bob["pid"], "Cpus_allowed_list") == machine
    for c in seg["children"]:
        if c["type_name"] == "multiplexer":
            assert c["numa_node"] == -1, c
            assert status_field(c["pid"], "Cpus_allowed_list") == machine


def test_one_node_auto_does_nothing_node_0_binds(servers, tree, shm_dump):
    """The real machine (one node): auto binds nobody; NUMANode 0 binds
    alice's processor, memory included (the policy names node 0), with no
    failure."""
    srv = start(servers, tree, conf(bob=0))
    seg = settled(srv)
    alice = seg_processors(seg, "alice")[0]
    bob = seg_processors(seg, "bob")[0]
    assert alice["numa_node"] == -1
    assert policy(alice["pid"]) == "default"
    assert bob["numa_node"] == 0 and bob["numa_failed"] == 0, bob
    assert re.search(r":0$", policy(bob["pid"])), policy(bob["pid"])
    assert re.search(r":0$", cgi(srv, "bob.test")["policy"])
    assert not srv.log_lines(r"PH00605")
    # hwloc's plugins (and libX11, libOpenCL ... they pull in) were never
    # loaded into the server: not in the parent, not in its children.
    # libhwloc itself only where a topology was read: the parent, and
    # bob's processor (its factory placed it); alice's factory and
    # processor never opened it (lib_hwloc.c, issue 13).
    for pid, has_hwloc in [(srv.parent_pid, True), (bob["pid"], True),
                           (alice["pid"], False)]:
        maps = open(f"/proc/{pid}/maps").read()
        assert ("libhwloc" in maps) == has_hwloc, (pid, has_hwloc)
        for lib in ("/hwloc/hwloc_", "libOpenCL", "libX11", "libxml2"):
            assert lib not in maps, (pid, lib)


def _online_nodes():
    try:
        text = open("/sys/devices/system/node/online").read().strip()
    except OSError:
        return None
    n = 0
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        n += int(hi or lo) - int(lo) + 1
    return n


@pytest.mark.skipif(_online_nodes() != 1, reason="the kernel lists more than one NUMA node")
def test_one_node_without_numanode_reads_no_topology(servers, tree, shm_dump):
    """The real machine (one node), NUMANode auto everywhere and no hwloc
    variable: the parent reads no topology (issue 13, start-up: hwloc and
    libudev loaded and the machine's files read in each configuration
    pass, for an auto that does nothing on one node), so libhwloc is in no
    process of the server, and nobody is bound."""
    srv = start(servers, tree, conf())
    seg = settled(srv)
    pids = [srv.parent_pid] + sorted(phtest.descendants(srv.parent_pid))
    for pid in pids:
        try:
            maps = open(f"/proc/{pid}/maps").read()
        except OSError:
            continue        # a child that exited meanwhile
        assert "libhwloc" not in maps, pid
    for c in seg["children"]:
        assert c["numa_node"] == -1, c


def test_config_errors(servers, tree):
    """apache2 -t refuses a node the machine does not have and a value that
    is no node, naming the directive."""
    for value, want in (("7", "NUMANode 7: no such NUMA node"),
                        ("lots", "NUMANode 'lots' is not auto, none or a node number")):
        for template in (conf(global_numa=value), conf(alice=value)):
            srv = servers(template, values={"PORT": phtest.free_port()})
            res = srv.apache("-t")
            assert res.returncode != 0, res
            assert want in res.stderr, res.stderr
