"""Cgroups per environment: CgroupRoot, the limits the MPM writes
(ProcessorMemoryMax, ProcessorPidsMax, ProcessorCpuWeight, ProcessorCpuMax),
joining (Cgroup, CgroupRequired) and what status shows.

This machine mounts cgroup v1 hierarchies (memory, pids, cpu ...) and a
cgroup2 hierarchy without controllers, so the limits are tested for real
on v1: each test makes its own CgroupRoot directories below this process's
own groups and removes them at the end.  What v2 writes is unit-tested
(tests/unit/test_cgroup_limits.c); joining a v2 group is tested here.
"""

import json
import os
import re
import signal
import threading
import uuid
from pathlib import Path

import pytest

import phtest
from phtest import http_get, processor, seg_env, seg_processors, segment, vhost, wait_for

PSTAT = phtest.REPO / "build" / "out" / "pstat"
CG = Path("/sys/fs/cgroup")
V1 = ("memory", "pids", "cpu")

HEAD = phtest.server_head(threads=4, server_limit=16, muxes=1) + "ExtendedStatus On\n"

CG_CGI = """\
#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
cat /proc/self/cgroup
for f in @@FILES@@; do
    if echo 999999 > "$f" 2>/dev/null; then echo "wrote $f"; else echo "refused $f"; fi
done
if echo $$ > "@@ESCAPE@@" 2>/dev/null; then echo "escaped"; else echo "stayed"; fi
"""

HOG_CGI = """\
#!/usr/bin/python3
import sys
sys.stdout.write("Content-Type: text/plain\\r\\n\\r\\n")
sys.stdout.flush()
chunks = []
for i in range(64):                 # 64 x 8 MiB = 512 MiB, touched
    chunks.append(b"x" * (8 << 20))
print("survived", len(chunks))
"""

BOMB_CGI = """\
#!/usr/bin/python3
import os, sys, time
sys.stdout.write("Content-Type: text/plain\\r\\n\\r\\n")
sys.stdout.flush()
pids = []
for i in range(200):                # bounded: at most 200 children
    try:
        pid = os.fork()
    except OSError as e:
        print("fork failed", e.errno)
        break
    if pid == 0:
        for fd in (0, 1, 2):
            os.close(fd)
        time.sleep(120)
        os._exit(0)
    pids.append(pid)
print("forked", len(pids))
print("pids", " ".join(map(str, pids)))
"""


def own_group(controller):
    """This process's directory in v1 hierarchy `controller`."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, ctrls, path = line.split(":", 2)
        if controller in ctrls.split(","):
            return CG / controller / path.lstrip("/")
    raise AssertionError(f"no v1 {controller} hierarchy")


@pytest.fixture
def roots():
    """A fresh CgroupRoot directory in each of the memory, pids and cpu
    hierarchies; removed at the end (with whatever is left in them,
    killed by pid).  A test names it before `servers`, so that its
    servers are stopped before it is torn down."""
    name = f"ph-it-{uuid.uuid4().hex[:8]}"
    made = {}
    for c in V1:
        d = own_group(c) / name
        d.mkdir()
        made[c] = d
    yield made
    for d in made.values():
        remove_group(d)


def remove_group(d):
    """Remove group d and the groups in it, killing (by pid) what is left
    in them; raise if it cannot be removed."""
    for sub in [p for p in d.iterdir() if p.is_dir()]:
        remove_group(sub)
    kill_group(d)

    def gone():
        try:
            d.rmdir()
        except FileNotFoundError:
            return True
        except OSError:
            return False
        return True
    wait_for(gone, 10, what=f"{d} removed")


def kill_group(d, timeout=10):
    """SIGKILL every process in group d, by pid; wait until it is empty."""
    def empty():
        left = [int(p) for p in (d / "cgroup.procs").read_text().split()]
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return not left
    try:
        wait_for(empty, timeout, what=f"{d} empty")
    except FileNotFoundError:
        pass


def conf(roots, alice_limits=None, bob_limits=None, alice_extra=None, global_lines=""):
    a = {"MinProcessors": 1, "MaxProcessors": 1, "MinSpareProcessors": 0}
    b = {"MinProcessors": 1, "MaxProcessors": 1, "MinSpareProcessors": 0}
    a.update(alice_extra or {})
    a.update(alice_limits or {})
    b.update(bob_limits or {})
    root_line = ("CgroupRoot " + " ".join(str(roots[c]) for c in V1) + "\n") if roots else ""
    return (HEAD + root_line + global_lines + "StatusEnvironment alice\n"
            + processor("alice", "alice", **a) + processor("bob", "bob", **b)
            + vhost("alice.test", "alice", "alice") + vhost("bob.test", "bob", "bob"))


def start(servers, template, **kw):
    port = phtest.free_port()
    srv = servers(template, values={"PORT": port}, loglevel="debug", **kw)
    srv.start(ready_hosts=["bob.test"], port=port)
    srv.port = port
    return srv


def install(tree, name, text, env="alice"):
    p = tree[env] / "cgi-bin" / name
    p.write_text(text)
    os.chmod(p, 0o755)


def ready_processors(srv, env, n=1):
    def ready():
        seg = segment(srv)
        procs = [p for p in seg_processors(seg, env)
                 if p["status_name"] in ("ready", "active")]
        return procs if len(procs) >= n else None
    return wait_for(ready, 30, what=f"{n} ready processor(s) of {env}")


def groups_of(pid):
    """{controller: path} of a process, from /proc/PID/cgroup."""
    out = {}
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, ctrls, path = line.split(":", 2)
        for c in ctrls.split(","):
            out[c] = path
    return out


def pstat_doc(srv):
    res = phtest.run_tool([str(PSTAT), "--shm", str(phtest.segment_path(srv)), "-j",
                           "-d", "0"], 20)
    assert res.returncode == 0, res
    return json.loads(res.stdout)


def status_auto(srv):
    r = http_get(srv.port, "alice.test", "/server-status?auto")
    assert r.status == 200, r
    return dict(line.split(": ", 1) for line in r.body.decode().splitlines() if ": " in line)


def test_limits_written_root_owned_and_removed_at_stop(roots, servers, tree, shm_dump):
    """Each environment gets its own group under every CgroupRoot, with its
    limits written by the MPM; its processor and the CGIs it runs are in
    it; the files are root's: the CGI (as alice) can neither raise its
    limits nor move itself out.  At stop the groups are removed."""
    limits = {"ProcessorMemoryMax": 300, "ProcessorPidsMax": 60,
              "ProcessorCpuWeight": 200, "ProcessorCpuMax": 150}
    files = " ".join(str(roots[c] / "alice" / f) for c, f in
                     (("memory", "memory.limit_in_bytes"), ("pids", "pids.max"),
                      ("cpu", "cpu.cfs_quota_us")))
    install(tree, "cg.cgi", CG_CGI.replace("@@FILES@@", files)
            .replace("@@ESCAPE@@", str(roots["pids"] / "cgroup.procs")))
    srv = start(servers, conf(roots, alice_limits=limits))
    alice = ready_processors(srv, "alice")[0]
    bob = ready_processors(srv, "bob")[0]
    rel = {c: "/" + str(roots[c].relative_to(CG / c)) for c in V1}
    for env, proc in (("alice", alice), ("bob", bob)):
        seen = groups_of(proc["pid"])
        for c in V1:
            assert seen[c] == f"{rel[c]}/{env}", (env, c, seen)
    a = {c: roots[c] / "alice" for c in V1}
    assert (a["memory"] / "memory.limit_in_bytes").read_text().strip() == str(300 << 20)
    assert (a["pids"] / "pids.max").read_text().strip() == "60"
    assert (a["cpu"] / "cpu.shares").read_text().strip() == "2048"
    assert (a["cpu"] / "cpu.cfs_quota_us").read_text().strip() == "150000"
    assert (a["cpu"] / "cpu.cfs_period_us").read_text().strip() == "100000"
    # bob has no limits: the kernel's "none"
    assert (roots["pids"] / "bob" / "pids.max").read_text().strip() == "max"
    assert (roots["cpu"] / "bob" / "cpu.cfs_quota_us").read_text().strip() == "-1"
    for c in V1:
        st = os.stat(a[c])
        assert (st.st_uid, st.st_mode & 0o777) == (0, 0o755), (c, st)
        assert os.stat(a[c] / "cgroup.procs").st_uid == 0
    r = http_get(srv.port, "alice.test", "/cgi-bin/cg.cgi")
    assert r.status == 200, r
    body = r.body.decode()
    for c in V1:
        assert re.search(rf"^\d+:[a-z,]*\b{c}\b[a-z,]*:{re.escape(rel[c])}/alice$", body, re.M), body
    assert "wrote" not in body and body.count("refused") == 3, body
    assert "stayed" in body and "escaped" not in body, body
    assert (a["pids"] / "pids.max").read_text().strip() == "60"
    srv.stop()
    for c in V1:
        assert not (roots[c] / "alice").exists(), c
        assert not (roots[c] / "bob").exists(), c


def test_memory_hog_killed_other_environment_serves(roots, servers, tree, shm_dump):
    """alice's CGI allocates past ProcessorMemoryMax: the kernel kills it
    (alice's answer is not the CGI's), bob serves meanwhile, alice's
    static pages are served afterwards."""
    install(tree, "hog.cgi", HOG_CGI)
    srv = start(servers, conf(roots, alice_limits={"ProcessorMemoryMax": 96}))
    ready_processors(srv, "alice")
    r = http_get(srv.port, "alice.test", "/cgi-bin/hog.cgi", timeout=60)
    assert b"survived" not in r.body, r
    oom = (roots["memory"] / "alice" / "memory.oom_control").read_text()
    m = re.search(r"^oom_kill (\d+)$", oom, re.M)
    assert m and int(m.group(1)) >= 1, oom
    r = http_get(srv.port, "bob.test", "/")
    assert r.status == 200 and b"hello from bob" in r.body, r
    # bob's group has no limit and nothing was killed there
    bob_oom = (roots["memory"] / "bob" / "memory.oom_control").read_text()
    assert re.search(r"^oom_kill 0$", bob_oom, re.M), bob_oom

    def alice_serves():
        try:
            r = http_get(srv.port, "alice.test", "/", timeout=5)
        except (OSError, phtest.ConnectionClosed):
            return None
        return r if r.status == 200 and b"hello from alice" in r.body else None
    wait_for(alice_serves, 30, what="alice serving again")


def test_fork_bomb_stops_at_pids_max(roots, servers, tree, shm_dump):
    """A CGI forks until it cannot: it stops at ProcessorPidsMax (the
    environment's processor and its threads count too), bob serves, and
    what the bomb left is killed at stop (its pids checked gone)."""
    install(tree, "bomb.cgi", BOMB_CGI)
    srv = start(servers, conf(roots, alice_limits={"ProcessorPidsMax": 40}))
    ready_processors(srv, "alice")
    pids_dir = roots["pids"] / "alice"
    bombs = []
    try:
        r = http_get(srv.port, "alice.test", "/cgi-bin/bomb.cgi", timeout=60)
        assert r.status == 200, r
        body = r.body.decode()
        m = re.search(r"^forked (\d+)$", body, re.M)
        assert m and 0 < int(m.group(1)) < 40, body
        assert "fork failed 11" in body, body    # EAGAIN
        bombs = [int(p) for p in re.search(r"^pids ?(.*)$", body, re.M).group(1).split()]
        assert int((pids_dir / "pids.current").read_text()) <= 40
        events = (pids_dir / "pids.events").read_text()
        assert re.search(r"^max [1-9]", events, re.M), events
        r = http_get(srv.port, "bob.test", "/")
        assert r.status == 200 and b"hello from bob" in r.body, r
        alive = [p for p in bombs if phtest.pid_alive(p)]
        assert alive, "the bomb's children should still be sleeping"
        srv.stop()
        assert not pids_dir.exists()
        assert not [p for p in bombs if phtest.pid_alive(p)], bombs
        assert srv.log_lines(r"PH00615.*environment alice: killed \d+ process")
    finally:
        for p in bombs:
            if phtest.pid_alive(p):
                os.kill(p, signal.SIGKILL)


@pytest.fixture
def cpuset_group():
    """A v1 cpuset group with no CPUs and no memory nodes: joining it fails
    (ENOSPC), although it has cgroup.procs."""
    d = own_group("cpuset") / f"ph-it-{uuid.uuid4().hex[:8]}"
    d.mkdir()
    yield d
    remove_group(d)


def test_join_failure_counted_once_logged(cpuset_group, servers, tree, shm_dump):
    """alice's Cgroup cannot be joined: her two processors serve anyway; the
    first logs it, both are counted (segment, pstat -j, ?auto) and marked."""
    srv = start(servers, conf(None, alice_extra={
        "MinProcessors": 2, "MaxProcessors": 2, "Cgroup": cpuset_group}))
    procs = ready_processors(srv, "alice", 2)
    r = http_get(srv.port, "alice.test", "/")
    assert r.status == 200 and b"hello from alice" in r.body, r
    seg = segment(srv)
    assert seg_env(seg, "alice")["cgroup_failures"] == 2
    assert seg_env(seg, "bob")["cgroup_failures"] == 0
    assert all(p["cgroup_failed"] == 1 for p in procs), procs
    doc = pstat_doc(srv)
    envs = {e["name"]: e for e in doc["environments"]}
    assert envs["alice"]["cgroup_join_failures"] == 2
    kids = {c["pid"]: c for c in doc["children"]}
    assert all(kids[p["pid"]]["cgroup_failed"] is True for p in procs)
    auto = status_auto(srv)
    assert auto["Peruser.alice.CgroupJoinFailures"] == "2", auto
    assert auto["Peruser.bob.CgroupJoinFailures"] == "0", auto
    errs = [ln for ln in srv.log_lines(r"PH00206") if ":error]" in ln]
    assert len(errs) == 1 and "serves without it" in errs[0], errs


def test_join_failure_fatal_with_cgroup_required(cpuset_group, servers, tree, shm_dump):
    """CgroupRequired on: alice's processors exit instead of serving
    unconfined; the parent backs off (a few attempts, not a hot loop);
    bob serves; alice's requests get 503."""
    srv = start(servers, conf(None, alice_extra={"Cgroup": cpuset_group,
                                                 "CgroupRequired": "on"},
                              global_lines="ProcessorWaitTimeout 1\n"))
    wait_for(lambda: len(srv.log_lines(r"PH00110.*processor of env alice")) >= 3, 30,
             what="three backed-off attempts of alice")
    r = http_get(srv.port, "alice.test", "/")
    assert r.status == 503, r
    r = http_get(srv.port, "bob.test", "/")
    assert r.status == 200 and b"hello from bob" in r.body, r
    exits = srv.log_lines(r"PH00206.*it exits \(CgroupRequired on\)")
    # 0.5 + 1 + 2 s of back-off: a hot loop would have made hundreds
    assert 3 <= len(exits) <= 6, exits
    assert not seg_processors(segment(srv), "alice") or all(
        p["status_name"] not in ("ready", "active") for p in seg_processors(segment(srv), "alice"))


def test_cgroup_v2_group_joined(servers, tree, shm_dump):
    """Cgroup naming a group in the v2 hierarchy: the processor is in it."""
    v2 = CG / "unified"
    if not (v2 / "cgroup.procs").exists():
        pytest.fail("no cgroup2 hierarchy at /sys/fs/cgroup/unified")
    d = v2 / f"ph-it-{uuid.uuid4().hex[:8]}"
    d.mkdir()
    try:
        srv = start(servers, conf(None, alice_extra={"Cgroup": d}))
        alice = ready_processors(srv, "alice")[0]
        assert groups_of(alice["pid"])[""] == "/" + d.name
        srv.stop()
    finally:
        remove_group(d)


def test_config_errors(roots, servers, tree):
    """-t refuses a limit without CgroupRoot, a limit no root can enforce,
    a CgroupRoot that is not a cgroup and out-of-range values."""
    def refused(template, needle):
        srv = servers(template, values={"PORT": phtest.free_port()})
        res = srv.apache("-t")
        assert res.returncode != 0, res
        assert needle in res.stderr, res.stderr
    refused(conf(None, alice_limits={"ProcessorPidsMax": 10}),
            "ProcessorPidsMax needs CgroupRoot (not set)")
    only_memory = f"CgroupRoot {roots['memory']}\n"
    refused(conf(None, alice_limits={"ProcessorPidsMax": 10}, global_lines=only_memory),
            "ProcessorPidsMax needs a CgroupRoot with the pids controller")
    refused(conf(None, global_lines="CgroupRoot /tmp\n"), "CgroupRoot /tmp is not a cgroup")
    refused(conf(roots, alice_limits={"ProcessorCpuWeight": 10001}), "ProcessorCpuWeight")
    refused(conf(roots, alice_limits={"CgroupRequired": "maybe"}), "CgroupRequired takes on or off")


ORPHAN_CGI = """\
#!/usr/bin/python3
import os, sys, time
sys.stdout.write("Content-Type: text/plain\\r\\n\\r\\n")
sys.stdout.flush()
pid = os.fork()
if pid == 0:                        # outlives its processor: an orphan
    os.setsid()
    for fd in (0, 1, 2):
        os.close(fd)
    time.sleep(300)
    os._exit(0)
print("orphan", pid)
"""


def without_env(text, env):
    """The configuration text without <Processor env> and env.test's vhost."""
    text = re.sub(rf"<Processor {env}>\n.*?</Processor>\n", "", text, flags=re.S)
    return re.sub(rf"<VirtualHost [^>]*>\n    ServerName {env}\.test\n.*?</VirtualHost>\n",
                  "", text, flags=re.S)


def graceful(srv, text):
    """Rewrite the configuration and restart gracefully; wait until alice
    is served by the next generation."""
    srv.conf_path.write_text(text)
    res = srv.apache("-k", "graceful")
    assert res.returncode == 0, res.stderr
    wait_for(lambda: srv.log_lines(r"PH00122"), 30, what="the graceful restart")

    def alice_serves():
        try:
            r = http_get(srv.port, "alice.test", "/", timeout=5)
        except (OSError, phtest.ConnectionClosed):
            return None
        return r.status == 200 and b"hello from alice" in r.body
    wait_for(alice_serves, 30, what="alice served after the restart")


def test_removed_environment_groups_go_at_graceful_restart(roots, servers, tree, shm_dump):
    """A graceful restart that removes bob: once bob's old processor is
    gone, what it left in its groups (an orphaned CGI) is killed and the
    groups are removed, without waiting for the server to stop; alice's
    groups stay, with her processor in them."""
    install(tree, "orphan.cgi", ORPHAN_CGI, env="bob")
    srv = start(servers, conf(roots))
    ready_processors(srv, "alice")
    r = http_get(srv.port, "bob.test", "/cgi-bin/orphan.cgi", timeout=30)
    assert r.status == 200, r
    orphan = int(re.search(rb"^orphan (\d+)$", r.body, re.M).group(1))
    try:
        assert phtest.pid_alive(orphan)
        assert str(orphan) in (roots["pids"] / "bob" / "cgroup.procs").read_text().split()
        graceful(srv, without_env(srv.conf_path.read_text(), "bob"))
        wait_for(lambda: not any((roots[c] / "bob").exists() for c in V1), 30,
                 what="bob's groups removed after the graceful restart")
        wait_for(lambda: not phtest.pid_alive(orphan), 10, what="the orphan killed")
        assert srv.log_lines(r"PH00622.*environment bob: killed 1 process")
        alice = ready_processors(srv, "alice")[0]
        rel = {c: "/" + str(roots[c].relative_to(CG / c)) for c in V1}
        for c in V1:
            assert (roots[c] / "alice").is_dir(), c
            assert groups_of(alice["pid"])[c] == f"{rel[c]}/alice", c
        srv.stop()
        for c in V1:
            assert not (roots[c] / "alice").exists(), c
    finally:
        if phtest.pid_alive(orphan):
            os.kill(orphan, signal.SIGKILL)


def test_groups_follow_cgroup_root_at_graceful_restart(roots, servers, tree, shm_dump):
    """CgroupRoot changed by a graceful restart: the environments' groups
    under the old roots are removed once the old processors are gone;
    the new processors are in groups under the new roots."""
    srv = start(servers, conf(roots))
    ready_processors(srv, "alice")
    name = f"ph-it-{uuid.uuid4().hex[:8]}"
    new = {c: own_group(c) / name for c in V1}
    for d in new.values():
        d.mkdir()
    try:
        text = srv.conf_path.read_text()
        old_line = "CgroupRoot " + " ".join(str(roots[c]) for c in V1)
        assert old_line in text
        graceful(srv, text.replace(old_line, "CgroupRoot " + " ".join(str(new[c]) for c in V1)))
        wait_for(lambda: not any((roots[c] / e).exists() for c in V1 for e in ("alice", "bob")),
                 30, what="the groups under the old CgroupRoot removed")
        rel = {c: "/" + str(new[c].relative_to(CG / c)) for c in V1}

        def in_new_groups():
            procs = ready_processors(srv, "alice")
            return all(groups_of(p["pid"])[c] == f"{rel[c]}/alice" for p in procs for c in V1)
        wait_for(in_new_groups, 30, what="alice's processors in the new groups")
        r = http_get(srv.port, "bob.test", "/")
        assert r.status == 200 and b"hello from bob" in r.body, r
        srv.stop()
        assert not any((new[c] / e).exists() for c in V1 for e in ("alice", "bob"))
    finally:
        for d in new.values():
            remove_group(d)


def test_removed_environment_group_killed_after_graceful_timeout(roots, servers, tree, shm_dump):
    """With GracefulShutdownTimeout, a removed environment's old processor
    still serving a request keeps its groups until that timeout; then what
    is in them, the processor and its CGI included, is killed by pid and
    the groups go (the request ends unanswered)."""
    _, gate = phtest.gated_cgi(tree["bob"])
    srv = start(servers, conf(roots, global_lines="GracefulShutdownTimeout 4\n"))
    ready_processors(srv, "bob")
    result = {}

    def client():
        try:
            result["r"] = http_get(srv.port, "bob.test", "/cgi-bin/gated.cgi", timeout=60)
        except Exception as exc:  # the connection is cut: reported below
            result["exc"] = exc
    t = threading.Thread(target=client)
    t.start()
    try:
        wait_for(lambda: len((roots["pids"] / "bob" / "cgroup.procs").read_text().split()) >= 2,
                 30, what="bob's CGI running in his group")
        srv.conf_path.write_text(without_env(srv.conf_path.read_text(), "bob"))
        res = srv.apache("-k", "graceful")
        assert res.returncode == 0, res.stderr
        wait_for(lambda: srv.log_lines(r"PH00122"), 30, what="the graceful restart")
        # still serving: the groups stay (4 s of timeout, checked at once)
        assert all((roots[c] / "bob").exists() for c in V1)
        wait_for(lambda: not any((roots[c] / "bob").exists() for c in V1), 30,
                 what="bob's groups removed after GracefulShutdownTimeout")
        assert srv.log_lines(r"PH00622.*environment bob: killed \d+ process")
        t.join(30)
        assert not t.is_alive()
        assert "exc" in result or b"gated done" not in result["r"].body, result
        r = http_get(srv.port, "alice.test", "/")
        assert r.status == 200 and b"hello from alice" in r.body, r
    finally:
        if gate.exists():
            gate.unlink()
        t.join(30)
