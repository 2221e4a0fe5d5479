"""jemalloc: the server on Debian's libjemalloc2 (preloaded, as the README
documents for the out-of-tree module), its children's allocator figures
in pstat -j, and jemalloc's background threads turned on again in the
children after fork when configured (MALLOC_CONF=background_thread:true).
"""

import json
from pathlib import Path

import pytest

import phtest
from phtest import http_get, processor, seg_processors, segment, vhost, wait_for

PSTAT = phtest.REPO / "build" / "out" / "pstat"
JEMALLOC = Path("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2")
HEAD = phtest.server_head(threads=4, server_limit=16, muxes=1) + "ExtendedStatus On\n"
CONF = (HEAD + "StatusEnvironment alice\n"
        + processor("alice", "alice", MinProcessors=1, MinSpareProcessors=0)
        + processor("bob", "bob", MinProcessors=1, MinSpareProcessors=0)
        + vhost("alice.test", "alice", "alice") + vhost("bob.test", "bob", "bob"))

pytestmark = pytest.mark.skipif(bool(phtest.SANITIZER),
                                reason="a sanitizer runtime and jemalloc cannot both be malloc")


def start(servers, env, image="exec"):
    port = phtest.free_port()
    srv = servers(CONF.replace("ExtendedStatus On\n",
                               f"ExtendedStatus On\nProcessorImage {image}\n"),
                  values={"PORT": port}, loglevel="debug", env=env)
    srv.start(ready_hosts=["alice.test", "bob.test"], port=port)
    srv.port = port
    return srv


def pstat_children(srv):
    res = phtest.run_tool([str(PSTAT), "--shm", str(phtest.segment_path(srv)), "-j",
                           "-d", "0"], 20)
    assert res.returncode == 0, res
    return json.loads(res.stdout)["children"]


def thread_names(pid):
    names = []
    for t in Path(f"/proc/{pid}/task").iterdir():
        try:
            names.append((t / "comm").read_text().strip())
        except OSError:
            pass
    return names


@pytest.mark.parametrize("image", ["exec", "fork"])
def test_jemalloc_preloaded_children_report(servers, tree, shm_dump, image):
    """Preloaded jemalloc: requests are served; every child (multiplexer
    and processors, from a factory or from the parent) has jemalloc
    mapped, reports its allocated and resident bytes in pstat -j, and runs
    jemalloc's background thread again after fork."""
    assert JEMALLOC.exists(), "libjemalloc2 is not installed (build/test.sh installs it)"
    srv = start(servers, {"LD_PRELOAD": str(JEMALLOC),
                          "MALLOC_CONF": "background_thread:true"}, image)
    for host in ("alice.test", "bob.test"):
        for _ in range(5):
            r = http_get(srv.port, host, "/")
            assert r.status == 200, r
    seg = segment(srv)
    pids = [p["pid"] for e in ("alice", "bob") for p in seg_processors(seg, e)]
    pids += [c["pid"] for c in seg["children"] if c["type_name"] == "multiplexer"]
    assert len(pids) >= 3, seg

    def reported():
        kids = {c["pid"]: c for c in pstat_children(srv)}
        if all((kids.get(p) or {}).get("alloc_allocated") for p in pids):
            return kids
        return None
    kids = wait_for(reported, 15, what="allocator figures of every child")
    for pid in pids:
        c = kids[pid]
        assert 0 < c["alloc_allocated"] < (1 << 34), c
        assert c["alloc_resident"] and c["alloc_resident"] > 0, c
        maps = Path(f"/proc/{pid}/maps").read_text()
        assert "libjemalloc.so.2" in maps, pid
        assert "jemalloc_bg_thd" in thread_names(pid), (pid, thread_names(pid))
    assert srv.log_lines(r"PH00618.*allocator: jemalloc 5\.")
    assert srv.log_lines(r"PH00619.*background threads restarted")
    assert not srv.log_lines(r"PH00619.*could not")
    # mod_status shows the same figures, as display values
    r = http_get(srv.port, "alice.test", "/server-status")
    assert r.status == 200 and b"Allocated/resident" in r.body, r


def test_glibc_malloc_reports_nothing(servers, tree, shm_dump):
    """Without jemalloc the children report no allocator figures (null in
    pstat -j) and the parent says which allocator it runs on."""
    srv = start(servers, None)
    r = http_get(srv.port, "alice.test", "/")
    assert r.status == 200, r
    seg = segment(srv)
    pids = [p["pid"] for e in ("alice", "bob") for p in seg_processors(seg, e)]
    kids = {c["pid"]: c for c in pstat_children(srv)}
    for pid in pids:
        assert kids[pid]["alloc_allocated"] is None, kids[pid]
        assert kids[pid]["alloc_resident"] is None, kids[pid]
    assert srv.log_lines(r"PH00617.*jemalloc is not loaded")
