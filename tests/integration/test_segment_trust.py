"""The shared-memory segment under zero trust (issue 8): each child maps
writable only what it writes, and what one environment scribbles into its
own region hurts only that environment, until a graceful restart heals it.

The segment is cut into regions by writer (shm/ph_shm_layout.h), one
file per writer: the main file holds MAIN [0, mux_offset), written by the
parent only, and the MUX region [mux_offset, region_offset); environment
`index` has its own file of region_stride bytes, at region_offset + index *
region_stride in every mapping.  shm_dump prints those offsets.
"""

import re
import struct

import phtest
from phtest import http_get, seg_env, seg_processors, segment, wait_for

from test_segment import MONITOR_GROUP, TWO_ENVS, phmon, start, wait_settled  # noqa: F401

MAPS_LINE = re.compile(
    r"^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) \S+ \d+\s+(.*)$")


def mapped_ranges(pid, path):
    """[(file_start, file_end, writable)] of `path` in pid's memory map."""
    out = []
    for line in (phtest._read(f"/proc/{pid}/maps", "r") or "").splitlines():
        m = MAPS_LINE.match(line)
        if not m or m.group(5) != str(path):
            continue
        lo, hi, perms, off = int(m[1], 16), int(m[2], 16), m[3], int(m[4], 16)
        out.append((off, off + hi - lo, perms[1] == "w"))
    return out


def writable_at(ranges, offset):
    """True/False for the mapping of file offset `offset`; None if unmapped."""
    for lo, hi, w in ranges:
        if lo <= offset < hi:
            return w
    return None


def regions(seg, path):
    """{name: (file, start, end)} of every region of the segment."""
    out = {"main": (path, 0, seg["mux_offset"]),
           "mux": (path, seg["mux_offset"], seg["region_offset"])}
    for e in seg["envs"]:
        out[e["name"]] = (phtest.segment_env_file(path, e["index"]), 0,
                          seg["region_stride"])
    return out


def check_writable(pid, path, seg, want):
    """Assert that, in pid's map, each region's first and last byte is
    mapped writable exactly when want[region] says so."""
    got = {}
    for name, (f, lo, hi) in regions(seg, path).items():
        ranges = mapped_ranges(pid, f)
        got[name] = (writable_at(ranges, lo), writable_at(ranges, hi - 1))
    expect = {name: (w, w) for name, w in want.items()}
    assert got == expect, f"pid {pid}: {ranges}"


def test_each_child_maps_writable_only_its_regions(servers, tree, shm_dump):
    """As root, read /proc/<pid>/maps: a processor of alice has alice's
    region writable, MAIN and the MUX region read-only, and bob's region
    not mapped at all (its factory maps no other environment's file: not
    the StatusEnvironment); a multiplexer has MAIN read-only and every
    other region writable."""
    srv = start(servers, TWO_ENVS, ["alice.test", "bob.test"])
    seg = wait_settled(srv, 2, ["alice", "bob"])
    path = phtest.segment_path(srv)
    assert seg["region_stride"] % seg["page_size"] == 0, seg
    for name, other in (("alice", "bob"), ("bob", "alice")):
        for child in seg_processors(seg, name):
            check_writable(child["pid"], path, seg,
                           {"main": False, "mux": False, name: True, other: None})
    muxes = [c for c in seg["children"] if c["type_name"] == "multiplexer"]
    assert len(muxes) == 2, seg["children"]
    for child in muxes:
        check_writable(child["pid"], path, seg,
                       {"main": False, "mux": True, "alice": True, "bob": True})


# ph_shm_env_stats, at the start of an environment's region
IN_FLIGHT, AVAIL = 48, 52


def scribble(srv, seg, name):
    """Write what a compromised processor of `name` could write into its
    own region: every handoff 'in flight', AVAIL 0."""
    path = phtest.segment_path(srv)
    with open(phtest.segment_env_file(path, seg_env(seg, name)["index"]),
              "r+b") as f:
        f.seek(IN_FLIGHT)
        f.write(struct.pack("<iI", 0x7fffffff, 0))


def test_corrupt_region_hurts_only_its_env_and_graceful_heals(servers, tree, shm_dump):
    """alice's region says every handoff is in flight and AVAIL is 0: alice
    gets 503s, bob is served as before; after a graceful restart the new
    generation's segment is fresh and alice is served again, with her
    request count carried forward."""
    srv = start(servers, TWO_ENVS, ["alice.test", "bob.test"])
    seg = wait_settled(srv, 2, ["alice", "bob"])
    for _ in range(3):
        assert http_get(srv.port, "alice.test", "/small.txt").status == 200
    seg = segment(srv)
    served = seg_env(seg, "alice")["requests"]
    assert served >= 3, seg_env(seg, "alice")

    scribble(srv, seg, "alice")
    statuses = [http_get(srv.port, "alice.test", "/small.txt", timeout=20).status
                for _ in range(3)]
    assert statuses == [503] * 3, statuses
    for _ in range(5):
        r = http_get(srv.port, "bob.test", "/small.txt")
        assert r.status == 200, r
    assert phtest.pid_alive(srv.parent_pid, srv.parent_start)

    gen0 = seg["generation"]
    res = srv.apache("-k", "graceful")
    assert res.returncode == 0, res.stderr

    def new_generation():
        try:
            return segment(srv)["generation"] > gen0
        except AssertionError:
            return False
    wait_for(new_generation, 30, what="a new generation in the segment")
    # the old generation's environment files are gone (its children may
    # still map them), the new one's are there
    path = phtest.segment_path(srv)
    new_files = [phtest.segment_env_file(path, e["index"])
                 for e in segment(srv)["envs"]]
    assert phtest.segment_files(path) == sorted(new_files), \
        (phtest.segment_files(path), new_files)
    wait_for(lambda: http_get(srv.port, "alice.test", "/small.txt",
                              timeout=20).status == 200,
             30, what="alice served again after the graceful restart")
    healed = seg_env(segment(srv), "alice")
    assert healed["avail"] == 100 or healed["in_flight"] < 1000, healed
    assert healed["requests"] >= served, (served, healed)


def test_environment_in_the_monitoring_group_refused(servers, tree, phmon):
    """The monitoring group reads the whole segment file: an environment
    whose Group is ExtendedScoreBoardGroup is refused at start-up."""
    conf = TWO_ENVS.replace("@@SEGMENT@@", f"ExtendedScoreBoardGroup {MONITOR_GROUP}")
    conf = conf.replace("<Processor bob>\n    User bob\n    Group bob",
                        f"<Processor bob>\n    User bob\n    Group {MONITOR_GROUP}")
    assert f"Group {MONITOR_GROUP}\n    MinProcessors" in conf, conf
    srv = servers(conf, values={"PORT": phtest.free_port(), "THREADS": 4})
    res = srv.apache("-t", timeout=30)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert "PH00003" in out and "Processor bob" in out and MONITOR_GROUP in out, out
