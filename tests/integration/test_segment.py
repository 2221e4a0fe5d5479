"""The shared-memory segment (issue 3), as a monitor and a client see it.

The segment is read with build/out/shm_dump (tests/tools/shm_dump.c, the
shm/ library's reader API) through phtest.segment().  Covered here: the file
itself (path, mode, owner, group, removal, not inherited by exec'd programs,
mapped by every child), counters against the traffic that caused them,
queued connections surviving kill -9 of all of an environment's processors,
admission under saturation (503 + Retry-After after ProcessorWaitTimeout,
AVAIL) and spawning on demand.
"""

import grp
import os
import re
import signal
import stat
import subprocess
import threading
import time

import pytest

import phtest
from phtest import (RawConn, http_get, parse_id, processor, seg_env, seg_processors, segment,
                    vhost, wait_for)

MONITOR_GROUP = "phmon"

HEAD = """
Listen 127.0.0.1:@@PORT@@
User www-data
Group www-data
ThreadsPerChild @@THREADS@@
ThreadLimit 64
ServerLimit 16
MinMultiplexers 2
Timeout 10
KeepAlive On
KeepAliveTimeout 30
MaxKeepAliveRequests 100
"""

# alice and bob (one processor each), a vhost without environment.
TWO_ENVS = HEAD + "@@SEGMENT@@\n" + phtest.TWO_PROCESSORS + (
    vhost("alice.test", "alice", "alice")
    + vhost("bob.test", "bob", "bob")
    + vhost("orphan.test", None, "main"))

# A CGI that lists its own open descriptors and its own memory map.
FD_MAPS_CGI = """\
#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
for f in /proc/$$/fd/*; do
    echo "fd $f -> $(readlink "$f")"
done
echo "maps:"
cat /proc/$$/maps
"""


@pytest.fixture(scope="session")
def phmon():
    """The monitoring group (created if missing); its gid."""
    try:
        return grp.getgrnam(MONITOR_GROUP).gr_gid
    except KeyError:
        subprocess.run(["groupadd", "--system", MONITOR_GROUP], check=True)
        return grp.getgrnam(MONITOR_GROUP).gr_gid


def start(servers, template, hosts, threads=4, segment_conf=""):
    port = phtest.free_port()
    srv = servers(template.replace("@@SEGMENT@@", segment_conf),
                  values={"PORT": port, "THREADS": threads})
    srv.start(ready_hosts=hosts, port=port)
    srv.port = port
    return srv


def wait_settled(srv, muxes, envs, timeout=20):
    """Poll the segment until it lists `muxes` ready multiplexers, at least
    one ready processor for each environment in `envs`, and every child of
    the parent.  Returns that segment.  (Processors beyond MinProcessors may
    exist: a request that arrives while they start raises demand.)"""
    def settled():
        seg = segment(srv)
        kids = seg["children"]
        if sum(c["type_name"] == "multiplexer" for c in kids) != muxes:
            return None
        if not all(seg_processors(seg, env) for env in envs):
            return None
        if any(c["status_name"] not in ("ready", "active") for c in kids):
            return None
        if {c["pid"] for c in kids} != set(srv.children()):
            return None
        return seg
    try:
        return wait_for(settled, timeout)
    except phtest.WaitTimeout:
        seg = segment(srv)
        raise AssertionError(
            f"after {timeout}s the segment does not list {muxes} ready multiplexers, "
            f"processors of {envs} and every child of the parent: children "
            f"{[(c['pid'], c['type_name'], c['env_index'], c['status_name']) for c in seg['children']]}"
            f", parent's children {sorted(srv.children())}") from None


def file_facts(path):
    st = os.stat(path)
    return stat.S_ISREG(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid


# --------------------------------------------------------------------------
# the file


def test_segment_file_mode_owner_group_readers_and_removal(servers, tree, phmon, shm_dump):
    """ExtendedScoreBoardFile + ExtendedScoreBoardGroup: the file is where
    the config says, 0640 root:phmon, readable by a phmon member and refused
    to others; it is gone once the server has stopped."""
    srv = start(servers, TWO_ENVS, ["alice.test", "bob.test"],
                segment_conf=f"ExtendedScoreBoardFile @@TMP@@/ph-seg.shm\n"
                        f"ExtendedScoreBoardGroup {MONITOR_GROUP}")
    path = srv.tmp / "ph-seg.shm"
    assert phtest.segment_path(srv) == path
    assert file_facts(path) == (True, 0o640, 0, phmon), file_facts(path)
    assert not (srv.run_dir / phtest.SEGMENT_NAME).exists(), \
        "segment also created at the default path"
    # one file per environment region beside it, the same facts
    env_files = phtest.segment_files(path)
    assert len(env_files) == 2, env_files
    for f in env_files:
        assert file_facts(f) == (True, 0o640, 0, phmon), (f, file_facts(f))

    seg = segment(srv)
    assert seg["creator_pid"] == srv.parent_pid, seg
    assert seg["env_count"] == 2, seg
    assert sorted(e["name"] for e in seg["envs"]) == ["alice", "bob"], seg["envs"]
    for env in ("alice", "bob"):
        rec = seg_env(seg, env)
        uid, gid = phtest.ensure_user(env)
        assert (rec["uid"], rec["gid"]) == (uid, gid), rec

    # what a monitoring user sees: a phmon member reads it, nobody else
    as_member = ["setpriv", "--reuid=nobody", "--regid=nogroup",
                 f"--groups={MONITOR_GROUP}", str(shm_dump), str(path)]
    as_other = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                str(shm_dump), str(path)]
    res = phtest.run_tool(as_member, timeout=10)
    assert res.returncode == 0, res.stderr
    assert '"alice"' in res.stdout
    res = phtest.run_tool(as_other, timeout=10)
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    assert "permission denied" in res.stderr.lower(), res.stderr

    srv.stop()
    assert not path.exists(), f"{path} still exists after stop"
    assert not phtest.segment_files(path), \
        f"environment files left after stop: {phtest.segment_files(path)}"
    res = phtest.run_tool([str(shm_dump), str(path)], timeout=10)
    assert res.returncode == 2 and res.stderr.strip(), (res.returncode, res.stderr)
    print(f"shm_dump after stop: {res.stderr.strip()}")


@pytest.fixture(scope="module")
def srv(module_servers, module_tmp, shm_dump):
    """alice, bob and orphan.test; segment at the default path."""
    cgi = module_tmp / "www" / "alice" / "cgi-bin" / "fdmaps.cgi"
    cgi.write_text(FD_MAPS_CGI)
    os.chmod(cgi, 0o755)
    return start(module_servers, TWO_ENVS, ["alice.test", "bob.test"])


def test_segment_default_path_without_group(srv):
    """No ExtendedScoreBoardFile/Group: DefaultRuntimeDir/peruser_hybrid.shm,
    0640 root:root."""
    path = srv.run_dir / phtest.SEGMENT_NAME
    assert phtest.segment_path(srv) == path
    assert file_facts(path) == (True, 0o640, 0, 0), file_facts(path)
    assert segment(srv)["creator_pid"] == srv.parent_pid


def test_every_child_maps_the_segment(srv):
    """Both multiplexers and both processors have the file mapped, and the
    segment lists exactly the parent's children."""
    path = str(phtest.segment_path(srv))
    seg = wait_settled(srv, 2, ["alice", "bob"])
    for child in seg["children"]:
        maps = phtest._read(f"/proc/{child['pid']}/maps", "r") or ""
        assert path in maps, f"{child['type_name']} pid {child['pid']} does not map {path}"
        assert f"{path} (deleted)" not in maps, child


def test_cgi_does_not_inherit_the_segment(srv):
    """A program exec'd by a processor (CGI) holds no descriptor for the
    segment and has it nowhere in its memory map."""
    path = str(phtest.segment_path(srv))
    r = http_get(srv.port, "alice.test", "/cgi-bin/fdmaps.cgi")
    assert r.status == 200, r
    text = r.body.decode("latin-1")
    fds, _, maps = text.partition("maps:\n")
    fd_lines = re.findall(r"^fd /proc/\d+/fd/(\d+) -> (.*)$", fds, re.M)
    # the listing is real: stdin, stdout and stderr at least, and a map
    assert {"0", "1", "2"} <= {n for n, _ in fd_lines}, text[:2000]
    assert "[stack]" in maps, text[:4000]
    leaked = [(n, target) for n, target in fd_lines if phtest.SEGMENT_NAME in target]
    assert not leaked, f"CGI inherited descriptors for the segment: {leaked}"
    assert path not in maps and phtest.SEGMENT_NAME not in maps, maps


# --------------------------------------------------------------------------
# counters


def test_counters_agree_with_traffic(srv):
    port = srv.port
    before = segment(srv)
    a0, b0 = seg_env(before, "alice"), seg_env(before, "bob")

    # 20 requests to alice: 10 connections of one request, 10 on one more
    for _ in range(10):
        r = http_get(port, "alice.test", "/small.txt")
        assert r.status == 200, r
    with RawConn(port) as c:
        for _ in range(10):
            r = c.request("alice.test", "/small.txt")
            assert r.status == 200, r
    seg = segment(srv)
    a1, b1 = seg_env(seg, "alice"), seg_env(seg, "bob")
    assert a1["requests"] - a0["requests"] == 20, (a0, a1)
    assert a1["connections"] - a0["connections"] == 11, (a0, a1)
    assert b1["requests"] == b0["requests"], (b0, b1)
    assert b1["connections"] == b0["connections"], (b0, b1)

    # a vhost without environment: every 503 counted server-wide
    noenv0 = seg["dropped_noenv"]
    for _ in range(5):
        r = http_get(port, "orphan.test", "/")
        assert r.status == 503, r
    seg2 = segment(srv)
    assert seg2["dropped_noenv"] - noenv0 == 5, (noenv0, seg2["dropped_noenv"])
    a2 = seg_env(seg2, "alice")
    assert (a2["requests"], a2["connections"]) == (a1["requests"], a1["connections"]), (a1, a2)
    assert seg_env(seg2, "bob")["requests"] == b0["requests"]

    # bob's vhost read on a connection alice serves: 421, counted by alice
    r1, r = phtest.pipelined(port, "alice.test", "bob.test")
    assert r1.status == 200, r1
    assert r.status == 421, r
    seg3 = segment(srv)
    a3, b3 = seg_env(seg3, "alice"), seg_env(seg3, "bob")
    assert a3["misdirected"] - a2["misdirected"] == 1, (a2, a3)
    assert a3["requests"] - a2["requests"] == 1, (a2, a3)
    assert b3["misdirected"] == b0["misdirected"] and b3["requests"] == b0["requests"], (b0, b3)


# --------------------------------------------------------------------------
# crash safety


# The parent delays the respawn of a child that dies within 2 s of its
# start (crash-loop back-off, PH00110: 0.5 s, doubling), whatever killed it.
# The crash-safety test kills only processors older than that, so what it
# measures is the hand-over, not the back-off.
YOUNG_DEATH_S = 2.0


def wait_older_than(srv, env, seconds, timeout=20):
    """Poll until env has processors and all are older than `seconds`
    (started_us, wall clock); return their pids."""
    def old_enough():
        procs = seg_processors(segment(srv), env)
        now_us = time.time() * 1e6
        if procs and all(now_us - c["started_us"] > seconds * 1e6 for c in procs):
            return sorted(c["pid"] for c in procs)
        return None
    return wait_for(old_enough, timeout, what=f"{env}'s processors older than {seconds}s")


# alice has exactly one processor (MaxProcessors 1: no second one started
# on demand to take over while the first is stopped).
ONE_ALICE_PROCESSOR = (HEAD
    + processor("alice", "alice", MinProcessors=1, MaxProcessors=1)
    + processor("bob", "bob", MinProcessors=1)
    + vhost("alice.test", "alice", "alice") + vhost("bob.test", "bob", "bob"))


def test_kill9_all_processors_queued_connections_served(servers, tree, env_users, shm_dump):
    """200 requests to alice, one after another.  Three times between two of
    them alice's processor is stopped (SIGSTOP), 5 connections are opened at once
    and wait for alice (4 handed to the channel, 1 held by a multiplexer, as
    the segment shows), and then the processor is SIGKILLed: those 5 and all
    the other requests get alice's page.  bob is served throughout.
    Afterwards no ticket is left in use."""
    srv = start(servers, ONE_ALICE_PROCESSOR, ["alice.test", "bob.test"])
    alice_uid = env_users["alice"][0]
    wait_settled(srv, 2, ["alice", "bob"])
    total, kill_at, burst = 200, (30, 80, 130), 5

    at_kill_point = threading.Event()
    resume = threading.Event()
    alice_done = threading.Event()
    results, bursts, bob_results, killed, queued = [], [], [], [], []

    def get(host, path):
        t0 = time.monotonic()
        try:
            r = http_get(srv.port, host, path, timeout=30)
        except Exception as exc:  # reported by the assertions below
            r = exc
        return r, time.monotonic() - t0

    def alice_client():
        try:
            for i in range(total - burst * len(kill_at)):
                if i in kill_at:
                    resume.clear()
                    at_kill_point.set()
                    if not resume.wait(60):
                        return
                results.append(get("alice.test", "/"))
        finally:
            alice_done.set()

    def bob_client():
        # about 200 requests a second until alice's client is done
        while len(bob_results) < 20000:
            bob_results.append(get("bob.test", "/"))
            if alice_done.wait(0.005):
                break

    def alice_processes():
        pids = set(wait_older_than(srv, "alice", YOUNG_DEATH_S + 0.5))
        pids |= {pid for pid, (uids, _g) in srv.children().items() if uids[1] == alice_uid}
        return sorted(pids)

    def waiting():
        rec = seg_env(segment(srv), "alice")
        n = rec["in_flight"] + rec["queue_depth"]
        return (rec["in_flight"], rec["queue_depth"]) if n == burst else None

    ta = threading.Thread(target=alice_client)
    tb = threading.Thread(target=bob_client)
    ta.start()
    tb.start()
    try:
        for _ in kill_at:
            assert at_kill_point.wait(60), "alice client never reached a kill point"
            at_kill_point.clear()
            victims = alice_processes()
            starts = {pid: phtest.proc_starttime(pid) for pid in victims}
            for pid in victims:
                os.kill(pid, signal.SIGSTOP)
            out = []
            ts = [threading.Thread(target=lambda: out.append(get("alice.test", "/")))
                  for _ in range(burst)]
            for t in ts:
                t.start()
            try:
                queued.append(wait_for(waiting, 10, what=f"{burst} connections waiting "
                                       "for alice (in_flight + queue_depth)"))
            finally:
                for pid in victims:
                    os.kill(pid, signal.SIGKILL)
            wait_for(lambda: not [p for p in victims if phtest.pid_alive(p, starts[p])], 10,
                     what="killed processors to be gone")
            killed.append(victims)
            for t in ts:
                t.join(60)
            bursts.append(out)
            results.extend(out)
            resume.set()
    finally:
        resume.set()
        ta.join(120)
        alice_done.set()
        tb.join(60)
    assert not ta.is_alive() and not tb.is_alive()

    def bad(rs, body):
        return [(r, round(t, 3)) for r, t in rs
                if not (isinstance(r, phtest.RawResponse) and r.status == 200
                        and body in r.body)]

    print(f"kill -9: {len(killed)} rounds, processors killed {[len(v) for v in killed]}, "
          f"waiting at the kill (in_flight, queue_depth) {queued}; "
          f"alice {len(results)} requests, slowest {max(t for _, t in results):.3f}s, "
          f"waiting ones answered after {[sorted(round(t, 3) for _, t in b) for b in bursts]}s; "
          f"bob {len(bob_results)} requests, slowest {max(t for _, t in bob_results):.3f}s")
    assert len(killed) == len(kill_at) and all(killed), killed
    assert len(results) == total
    assert not bad(results, b"hello from alice"), bad(results, b"hello from alice")[:5]
    assert bob_results and not bad(bob_results, b"hello from bob"), \
        bad(bob_results, b"hello from bob")[:5]

    def quiet():
        seg = segment(srv)
        for rec in seg["envs"]:
            if rec["tickets_busy"] or rec["in_flight"] or rec["queue_depth"]:
                return None
        return seg
    try:
        seg = wait_for(quiet, 5, what="every ticket FREE, nothing in flight or queued")
    except phtest.WaitTimeout:
        raise AssertionError(f"tickets left in use: {segment(srv)['envs']}") from None
    now = {c["pid"] for c in seg_processors(seg, "alice")}
    assert now and not now & {p for v in killed for p in v}, (now, killed)
    assert phtest.pid_alive(srv.parent_pid, srv.parent_start)


# lazy: processors on demand only.  No spares either: with the default
# MinSpareProcessors (2) an environment in use keeps two, and a kill of
# both is seen by the parent one reap at a time -- the first dead one is
# replaced as a spare while its sibling, killed in the same instant, still
# counts -- so lazy would never be left without a processor.
ON_DEMAND_ONLY = (HEAD
    + processor("lazy", "bob", MinProcessors=0, MinSpareProcessors=0)
    + vhost("lazy.test", "lazy", "bob"))


def first_lazy_request(srv):
    """Serve lazy.test once (starting its processor); a setup step of the
    tests below, so failing it is a plain failure, not the expected one."""
    r = http_get(srv.port, "lazy.test", "/", timeout=30)
    if r.status != 200:
        pytest.fail(f"setup: the first request to lazy.test got {r.status}")


# Expected to fail until fixed; raises= keeps any other failure a failure.
def test_min0_connection_in_channel_survives_processor_death(servers, tree, shm_dump):
    """lazy (MinProcessors 0) has one processor, stopped (SIGSTOP) so that a
    connection is handed to it and stays in the channel; then it is
    SIGKILLed.  The connection is served by a replacement."""
    srv = start(servers, ON_DEMAND_ONLY, [])
    first_lazy_request(srv)
    victims = wait_older_than(srv, "lazy", YOUNG_DEATH_S + 0.5)
    for pid in victims:
        os.kill(pid, signal.SIGSTOP)
    with RawConn(srv.port, timeout=10) as c:
        c.send("GET / HTTP/1.1\r\nHost: lazy.test\r\nConnection: close\r\n\r\n")
        try:
            wait_for(lambda: seg_env(segment(srv), "lazy")["in_flight"] == 1, 10,
                     what="the connection handed to lazy's stopped processor")
        finally:
            for pid in victims:
                os.kill(pid, signal.SIGKILL)
        r = c.read_response()       # TimeoutError after 10 s while the bug lasts
    assert r.status == 200 and b"hello from bob" in r.body, r


def test_min0_request_after_young_processor_death_is_served(servers, tree, shm_dump):
    srv = start(servers, ON_DEMAND_ONLY, [])
    first_lazy_request(srv)
    victims = [c["pid"] for c in seg_processors(segment(srv), "lazy")]
    if not victims:
        pytest.fail("setup: lazy has no processor after its first request")
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    # reaped: its record cleared (a request before that would be handed to
    # the dead processor's channel, test_min0_connection_in_channel_...)
    left = []

    def none_left():
        left[:] = [c["pid"] for c in seg_processors(segment(srv), "lazy")]
        return not left
    try:
        wait_for(none_left, 10)
    except phtest.WaitTimeout:
        pytest.fail(f"setup: lazy still has processor(s) {left} 10 s after "
                    f"{victims} were killed")
    t0 = time.monotonic()
    r = http_get(srv.port, "lazy.test", "/", timeout=30)
    print(f"request after the young processor's death: {r.status} "
          f"in {time.monotonic() - t0:.3f}s")
    assert r.status == 200, r


# --------------------------------------------------------------------------
# admission


SATURATION = (HEAD + """
ProcessorWaitTimeout 1
"""
    + processor("slow", "alice", MinProcessors=1, MaxProcessors=1)
    + processor("bob", "bob", MinProcessors=1)
    + vhost("slow.test", "slow", "alice") + vhost("bob.test", "bob", "bob"))


def test_saturated_environment_refuses_excess_after_wait(servers, tree, shm_dump):
    """slow: one processor (MaxProcessors 1) of 2 threads, both held by a
    CGI.  3 more requests each get 503 with Retry-After after about
    ProcessorWaitTimeout (1 s), counted in dropped_timeout; AVAIL falls one
    level (10) per drop; slow's httpd answers them (PH00362, its answer
    thread), not the multiplexer.  bob answers meanwhile, each in well
    under 1 s."""
    srv = start(servers, SATURATION, ["slow.test", "bob.test"], threads=2)
    cgi, gate = phtest.gated_cgi(tree["alice"])
    seg0 = wait_settled(srv, 2, ["slow", "bob"])
    # A start-up probe may have waited for the processor and been refused,
    # costing a level: each request that finds capacity at once gives one
    # back (at most 10 levels).
    for _ in range(10):
        if seg_env(seg0, "slow")["avail"] == 100:
            break
        r = http_get(srv.port, "slow.test", "/")
        assert r.status == 200, r
        seg0 = segment(srv)
    s0 = seg_env(seg0, "slow")
    assert s0["avail"] == 100 and s0["wait_timeout_ms"] == 1000, s0

    held, extra, bob_times = [], [], []
    lock = threading.Lock()
    bob_stop = threading.Event()

    def timed(host, path, out, timeout=40):
        t0 = time.monotonic()
        try:
            r = http_get(srv.port, host, path, timeout=timeout)
        except Exception as exc:  # reported below
            r = exc
        with lock:
            out.append((r, time.monotonic() - t0))

    def bob_client():
        while not bob_stop.is_set() and len(bob_times) < 5000:
            timed("bob.test", "/", bob_times, timeout=10)

    holders = [threading.Thread(target=timed, args=("slow.test", "/cgi-bin/gated.cgi", held))
               for _ in range(2)]
    for t in holders:
        t.start()
    tb = threading.Thread(target=bob_client)
    try:
        wait_for(lambda: len(phtest.pids_with_cmdline(str(cgi))) >= 2, 20,
                 what="2 gated CGIs running (both of slow's workers busy)")
        tb.start()
        extras = [threading.Thread(target=timed, args=("slow.test", "/", extra, 10))
                  for _ in range(3)]
        for t in extras:
            t.start()
        for t in extras:
            t.join(20)
        seg1 = segment(srv)
        bob_stop.set()
        tb.join(20)
    finally:
        bob_stop.set()
        gate.unlink()
        for t in holders:
            t.join(60)

    times = sorted(round(t, 3) for _, t in extra)
    bob_max = max((t for _, t in bob_times), default=None)
    print(f"saturation: excess 503 after {times} s; bob {len(bob_times)} requests "
          f"meanwhile, slowest {bob_max:.3f}s")
    assert len(extra) == 3
    for r, t in extra:
        assert isinstance(r, phtest.RawResponse) and r.status == 503, r
        assert re.fullmatch(r"\d+", r.header("retry-after", "")), r.headers
        assert 0.8 <= t <= 2.5, f"503 after {t:.3f}s, expected about 1 s"
    for r, _t in held:
        assert isinstance(r, phtest.RawResponse) and r.status == 200, r
        assert b"gated done" in r.body, r.body
    assert bob_times, "no bob request ran during the saturation"
    bad = [r for r, _ in bob_times if not (isinstance(r, phtest.RawResponse) and r.status == 200)]
    assert not bad, bad[:5]
    assert bob_max < 0.5, f"bob's slowest request took {bob_max:.3f}s while slow was saturated"

    s1 = seg_env(seg1, "slow")
    assert s1["dropped_timeout"] - s0["dropped_timeout"] == 3, (s0, s1)
    assert s1["avail"] < 100, s1
    assert s1["avail"] == 100 - 3 * 10, f"AVAIL {s1['avail']} after 3 drops at 10 levels"
    assert len(seg_processors(seg1, "slow")) == 1, seg1["children"]
    assert seg_env(seg1, "bob")["dropped_timeout"] == 0
    # slow's own httpd answered them (its answer thread): one PH00362 line
    # each, in the vhost's error log (the main one here), none of the
    # multiplexer's last-resort PH00361
    wait_for(lambda: len(srv.log_lines(r"\[client 127\.0\.0\.1:\d+\] PH00362: no worker of "
                                       r"environment slow")) == 3, 10,
             what="three PH00362 lines from slow's processor")
    assert not srv.log_lines(r"PH00361"), srv.log_text()[-3000:]
    assert not srv.log_lines(r"PH00362: no worker of environment bob")


WAIT_FOR_WORKER = SATURATION.replace("ProcessorWaitTimeout 1", "ProcessorWaitTimeout 5")


def test_waiting_connection_is_served_when_a_worker_frees(servers, tree, shm_dump):
    """slow's two workers are held by a CGI and one more connection waits in
    a multiplexer (queue_depth 1); when the CGIs end, that connection is
    served (200), well before ProcessorWaitTimeout (5 s) would answer 503.
    Six rounds: which multiplexer holds the waiting connection varies."""
    srv = start(servers, WAIT_FOR_WORKER, ["slow.test"], threads=2)
    cgi, gate = phtest.gated_cgi(tree["alice"])
    wait_settled(srv, 2, ["slow"])
    took = []
    def both_idle():
        procs = seg_processors(segment(srv), "slow")
        return len(procs) == 1 and procs[0]["idle_threads"] == 2

    for rnd in range(6):
        wait_for(both_idle, 10, what="slow's two workers idle")
        gate.write_text("")
        held, waiting = [], []
        holders = [threading.Thread(target=lambda: held.append(
            http_get(srv.port, "slow.test", "/cgi-bin/gated.cgi", timeout=40)))
            for _ in range(2)]
        for t in holders:
            t.start()
        try:
            def holding():
                if held:
                    raise AssertionError(f"round {rnd}: a holding request ended: {held}")
                return len(phtest.pids_with_cmdline(str(cgi))) >= 2
            wait_for(holding, 20, what="2 gated CGIs running (both of slow's workers busy)")
            t0 = time.monotonic()
            waiter = threading.Thread(target=lambda: waiting.append(
                http_get(srv.port, "slow.test", "/", timeout=30)))
            waiter.start()
            wait_for(lambda: seg_env(segment(srv), "slow")["queue_depth"] == 1, 4,
                     what="the third connection waiting in a multiplexer")
        finally:
            released = time.monotonic()
            gate.unlink()
            for t in holders:
                t.join(60)
        waiter.join(30)
        took.append(round(time.monotonic() - released, 3))
        assert [r.status for r in held] == [200, 200], held
        assert len(waiting) == 1, f"round {rnd}: the waiting request did not finish"
        assert waiting[0].status == 200, (
            f"round {rnd}: the waiting connection got {waiting[0].status} "
            f"{time.monotonic() - t0:.3f}s after it arrived, though slow's workers "
            f"were freed {took[-1]}s before; answered after release: {took}")
    print(f"waiting connection answered after its workers were freed: {took} s")


# --------------------------------------------------------------------------
# spawning on demand


# lazy keeps no spares: with the default MinSpareProcessors (2) its first
# request is followed at once by spares (as fast as its factory forks),
# and the test counts exactly the one the request started.
ON_DEMAND = (HEAD
    + processor("alice", "alice", MinProcessors=1)
    + processor("lazy", "bob", MinProcessors=0, MinSpareProcessors=0)
    + vhost("alice.test", "alice", "alice") + vhost("lazy.test", "lazy", "bob"))


def test_first_request_spawns_a_processor(servers, tree, env_users, shm_dump):
    srv = start(servers, ON_DEMAND, ["alice.test"])
    bob_uid = env_users["bob"][0]
    seg = wait_settled(srv, 2, ["alice"])
    lazy = seg_env(seg, "lazy")
    assert lazy["processors"] == 0 and lazy["min_processors"] == 0, lazy
    assert not [p for p, (uids, _g) in srv.children().items() if bob_uid in uids], \
        "a process runs as bob before any request for lazy.test"

    t0 = time.monotonic()
    r = http_get(srv.port, "lazy.test", "/cgi-bin/id.cgi", timeout=30)
    took = time.monotonic() - t0
    print(f"first request to a MinProcessors 0 environment: {took * 1000:.1f} ms")
    assert r.status == 200, r
    assert parse_id(r.body).get("uid") == bob_uid, r.body

    seg = segment(srv)
    procs = seg_processors(seg, "lazy")
    assert len(procs) == 1, seg["children"]
    pid = procs[0]["pid"]
    assert phtest.pid_alive(pid) and phtest.proc_uids(pid)[0][1] == bob_uid, procs
    assert seg_env(seg, "lazy")["processors"] == 1, seg_env(seg, "lazy")
