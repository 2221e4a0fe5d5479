"""Monitoring as a user sees it: mod_status (the "Peruser status" child
table, ?peruser_stats, ?auto) and pstat (-1, -j, the interactive view in
tmux), checked against traffic of a known size and against the segment
(build/out/shm_dump).

Request accounting: an environment counts a request when one of its
processors reads it, so a server-status request is counted by the
environment whose vhost serves it before the page is generated.  A 421
(another environment's vhost on a kept-alive connection) is counted as
misdirected, not as a request.
"""

import json
import os
import re
import subprocess
import threading
import time

import phtest
from phtest import (RawConn, http_get, processor, seg_env, seg_processors, segment,
                    vhost, wait_for)

PSTAT = phtest.REPO / "build" / "out" / "pstat"
SERVER_LIMIT = 16

STATUS_LOCATION = ("<Location /server-status>", "    SetHandler server-status",
                   "</Location>")

HEAD = f"""
Listen 127.0.0.1:@@PORT@@
User www-data
Group www-data
ThreadsPerChild @@THREADS@@
ThreadLimit 64
ServerLimit {SERVER_LIMIT}
MinMultiplexers 2
Timeout 10
KeepAlive On
KeepAliveTimeout 30
MaxKeepAliveRequests 0
ExtendedStatus On
"""

# alice: 2 processors, bob: 1 (so ?peruser_stats lists alice first), a
# vhost without environment (503).  MaxProcessors = MinProcessors: a
# start-up probe that arrives while a processor starts raises demand, which
# could otherwise leave bob with a second processor.
TWO_ENVS = (HEAD + "StatusEnvironment alice\n"
    + processor("alice", "alice", MinProcessors=2, MaxProcessors=2, MinSpareProcessors=0)
    + processor("bob", "bob", MinProcessors=1, MaxProcessors=1, MinSpareProcessors=0)
    + (vhost("alice.test", "alice", "alice", *STATUS_LOCATION)
       + vhost("bob.test", "bob", "bob", *STATUS_LOCATION)
       + vhost("orphan.test", None, "main")))

# slow: one processor of one thread; a connection may wait 1 s for it.
SATURATION = (HEAD + """
ProcessorWaitTimeout 1
StatusEnvironment bob
"""
    + processor("slow", "alice", MinProcessors=1, MaxProcessors=1, MinSpareProcessors=0)
    + processor("bob", "bob", MinProcessors=1, MaxProcessors=1, MinSpareProcessors=0)
    + (vhost("slow.test", "slow", "alice", *STATUS_LOCATION)
       + vhost("bob.test", "bob", "bob", *STATUS_LOCATION)))

SLEEP_CGI = """\
#!/bin/sh
sleep 3
printf 'Content-Type: text/plain\\r\\n\\r\\n'
echo "slept"
"""

AUTO_FIGURES = ("ChildrenAlive", "ChildrenIdle", "ChildrenMax", "Connections",
                "Requests", "DroppedTimeout", "DroppedChannel", "Misdirected",
                "Avail", "QueueDepth", "OldestWaitMs", "BusyThreads", "IdleThreads",
                "NumaBindFailures", "CgroupJoinFailures")


# --------------------------------------------------------------------------
# helpers


def start(servers, template, hosts, threads=25):
    port = phtest.free_port()
    srv = servers(template, values={"PORT": port, "THREADS": threads})
    srv.start(ready_hosts=hosts, port=port)
    srv.port = port
    return srv


def wait_settled(srv, want, muxes=2, timeout=20):
    """Poll the segment until every environment in `want` ({name: n}) has
    exactly n processors alive, `muxes` multiplexers run, every child is
    ready and the segment lists exactly the parent's children."""
    def settled():
        seg = segment(srv)
        kids = seg["children"]
        if sum(c["type_name"] == "multiplexer" for c in kids) != muxes:
            return None
        if any(len(seg_processors(seg, env)) != n for env, n in want.items()):
            return None
        if any(c["status_name"] not in ("ready", "active") for c in kids):
            return None
        if {c["pid"] for c in kids} != set(srv.children()):
            return None
        return seg
    try:
        return wait_for(settled, timeout, what=f"processors {want} and {muxes} multiplexers")
    except phtest.WaitTimeout:
        seg = segment(srv)
        raise AssertionError(
            f"segment never settled to {want}: children "
            f"{[(c['pid'], c['type_name'], c['env_index'], c['status_name']) for c in seg['children']]}"
            f", parent's children {sorted(srv.children())}") from None


def get_status(port, host, query=""):
    r = http_get(port, host, "/server-status" + (f"?{query}" if query else ""))
    assert r.status == 200, r
    return r.body.decode("utf-8", "replace")


def status_auto(port, host):
    """?auto as {key: value} (values as text)."""
    out = {}
    for line in get_status(port, host, "auto").splitlines():
        key, sep, value = line.partition(": ")
        if sep:
            out[key] = value.strip()
    assert "PeruserEnvironments" in out, f"no Peruser lines in ?auto: {out}"
    return out


def peruser_auto(auto):
    """The Peruser lines of a status_auto() dict: top-level figures as ints
    and {env: {figure: int}}."""
    # the server-wide lines only for the StatusEnvironment
    top = {k: int(auto[k]) for k in ("PeruserEnvironments", "PeruserMultiplexers",
                                     "PeruserDroppedNoEnvironment") if k in auto}
    envs = {}
    for k, v in auto.items():
        m = re.fullmatch(r"Peruser\.(.+)\.(\w+)", k)
        if m:
            envs.setdefault(m.group(1), {})[m.group(2)] = int(v)
    for name, figs in envs.items():
        assert set(figs) == set(AUTO_FIGURES), (name, sorted(figs))
    assert top["PeruserEnvironments"] == len(envs), (top, sorted(envs))
    return top, envs


def html_table(page, title):
    """Rows (lists of cell texts) of the table under <h2>title</h2>."""
    m = re.search(rf"<h2>{re.escape(title)}</h2>\s*<table[^>]*>(.*?)</table>", page, re.S)
    assert m, f"no {title!r} table in the status page:\n{page[-3000:]}"
    rows = []
    for tr in re.findall(r"<tr>(.*?)</tr>", m.group(1), re.S):
        cells = re.findall(r"<t[dh]>(.*?)</t[dh]>", tr, re.S)
        rows.append(cells)
    return rows


def child_rows(page):
    rows = html_table(page, "Peruser status")
    assert rows[0] == ["ID", "PID", "STATUS", "SB STATUS", "Type", "Processor",
                       "Pss", "AVAIL", "Node", "Allocated/resident"], rows[0]
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def pstat(srv, *args, timeout=20):
    res = phtest.run_tool([str(PSTAT), "--shm", str(phtest.segment_path(srv)), *args],
                          timeout)
    assert res.returncode == 0, (res.returncode, res.stdout, res.stderr)
    return res.stdout


def pstat_json(srv):
    return json.loads(pstat(srv, "-j", "-d", "0"))


def pstat_envs(doc):
    return {e["name"]: e for e in doc["environments"]}


def keepalive_requests(port, host, n, per_conn=25, path="/small.txt"):
    """n GETs to host over keep-alive connections of per_conn requests."""
    done = 0
    while done < n:
        with RawConn(port) as c:
            for _ in range(min(per_conn, n - done)):
                r = c.request(host, path)
                assert r.status == 200, (host, r)
                done += 1


# --------------------------------------------------------------------------
# mod_status


def test_status_figures_match_traffic(servers, tree, shm_dump):
    """137 requests to alice, 59 to bob, 3 to a vhost without environment
    (503), one 421: ?auto, the child table and ?peruser_stats show exactly
    that, and bob's vhost serves the same figures as alice's."""
    srv = start(servers, TWO_ENVS, ["alice.test", "bob.test"])
    port = srv.port
    seg0 = wait_settled(srv, {"alice": 2, "bob": 1})
    # the start-up probes (GET / per vhost) were counted already
    a0, b0 = seg_env(seg0, "alice")["requests"], seg_env(seg0, "bob")["requests"]
    c0 = seg_env(seg0, "alice")["connections"], seg_env(seg0, "bob")["connections"]
    assert seg0["dropped_noenv"] == 0, seg0
    assert seg_env(seg0, "alice")["misdirected"] == 0

    keepalive_requests(port, "alice.test", 136)
    # the 137th, then bob's vhost read with it: 421
    r1, r = phtest.pipelined(port, "alice.test", "bob.test", "/small.txt")
    assert r1.status == 200, r1
    assert r.status == 421, r
    keepalive_requests(port, "bob.test", 59)
    noenv = 0
    for _ in range(3):
        r = http_get(port, "orphan.test", "/")
        assert r.status == 503, r
        noenv += 1
    via_alice = via_bob = 0  # status requests made through each vhost

    # ?auto through alice's vhost
    auto = status_auto(port, "alice.test")
    via_alice += 1
    top, envs = peruser_auto(auto)
    print("?auto via alice:", top, envs)
    assert sorted(envs) == ["alice", "bob"], envs
    assert top["PeruserEnvironments"] == 2
    assert top["PeruserMultiplexers"] == 2, top
    assert top["PeruserDroppedNoEnvironment"] == noenv, top
    assert envs["alice"]["Requests"] == a0 + 137 + via_alice, (a0, envs["alice"])
    assert envs["bob"]["Requests"] == b0 + 59 + via_bob, (b0, envs["bob"])
    assert envs["alice"]["Misdirected"] == 1, envs["alice"]
    assert envs["bob"]["Misdirected"] == 0, envs["bob"]
    assert (envs["alice"]["ChildrenAlive"], envs["bob"]["ChildrenAlive"]) == (2, 1), envs
    assert (envs["alice"]["ChildrenMax"], envs["bob"]["ChildrenMax"]) == (2, 1), envs
    for name in ("alice", "bob"):
        e = envs[name]
        assert e["DroppedTimeout"] == e["DroppedChannel"] == 0, (name, e)
        assert e["Avail"] == 100 and e["QueueDepth"] == 0, (name, e)
    # the status request itself keeps a thread of alice busy while the page
    # is made (another may still be closing an earlier connection)
    assert envs["alice"]["BusyThreads"] >= 1, envs["alice"]
    for name, threads in (("alice", 2 * 25), ("bob", 25)):
        e = envs[name]
        assert e["BusyThreads"] + e["IdleThreads"] == threads, (name, e)

    # the same page through bob's vhost (not the StatusEnvironment): bob's
    # figures only, the same from the segment; only bob's own status
    # request (a request, a busy thread and -- once the multiplexer has
    # counted the hand-off, which it does after sending it -- a connection)
    # differs.  Nothing of alice's, nor the server-wide lines.
    auto_b = status_auto(port, "bob.test")
    via_bob += 1
    top_b, envs_b = peruser_auto(auto_b)
    assert top_b == {"PeruserEnvironments": 1}, top_b
    assert sorted(envs_b) == ["bob"], envs_b
    assert envs_b["bob"]["Requests"] == b0 + 59 + via_bob, envs_b["bob"]
    steady = ("ChildrenAlive", "ChildrenMax", "DroppedTimeout", "DroppedChannel",
              "Misdirected", "Avail", "QueueDepth")
    for fig in steady:
        assert envs_b["bob"][fig] == envs["bob"][fig], (fig, envs["bob"], envs_b["bob"])
    assert envs_b["bob"]["Connections"] - envs["bob"]["Connections"] in (0, 1), (envs, envs_b)
    assert envs_b["bob"]["BusyThreads"] >= 1, envs_b["bob"]

    # the child table: one row per slot, agreeing with the segment
    seg = segment(srv)
    assert seg["child_capacity"] == SERVER_LIMIT, seg["child_capacity"]
    page = get_status(port, "alice.test")
    via_alice += 1
    rows = child_rows(page)
    assert [int(r["ID"]) for r in rows] == list(range(SERVER_LIMIT)), [r["ID"] for r in rows]
    seg_kids = {c["slot"]: c for c in seg["children"]}
    for r in rows:
        slot, pid = int(r["ID"]), int(r["PID"])
        kid = seg_kids.get(slot)
        if kid is None:
            assert (pid, r["STATUS"], r["Type"], r["SB STATUS"]) == \
                (0, "STANDBY", "UNKNOWN", "DEAD"), r
        else:
            assert pid == kid["pid"], (r, kid)
            assert r["Type"] == kid["type_name"].upper(), (r, kid)
    assert sum(int(r["PID"]) == 0 for r in rows) == SERVER_LIMIT - len(seg_kids) > 0
    for env, n in (("alice", 2), ("bob", 1)):
        html_pids = sorted(int(r["PID"]) for r in rows
                           if r["Type"] == "PROCESSOR" and r["Processor"] == env)
        seg_pids = sorted(c["pid"] for c in seg_processors(seg, env))
        assert len(seg_pids) == n and html_pids == seg_pids, (env, html_pids, seg_pids)
        for r in rows:
            if r["Processor"] == env:
                assert re.fullmatch(rf"{n}/\d+/{n}", r["Pss"]), r
                assert r["AVAIL"] == "100%", r
                assert r["STATUS"] in ("READY", "ACTIVE"), r
    muxes = [r for r in rows if r["Type"] == "MULTIPLEXER"]
    assert len(muxes) == 2 and all(r["Processor"] == "Multiplexer" for r in muxes), muxes

    # the same table through bob's vhost: bob's processors only, with the
    # slots and pids alice's (the StatusEnvironment's) table gives them
    rows_b = child_rows(get_status(port, "bob.test"))
    via_bob += 1
    ident = lambda rs: [(r["ID"], r["PID"], r["Type"], r["Processor"]) for r in rs]  # noqa: E731
    assert ident(rows_b) == ident([r for r in rows if r["Processor"] == "bob"]), rows_b

    # ?peruser_stats: alice (2 children alive) before bob (1)
    def stats_order(host):
        page = get_status(port, host, "peruser_stats")
        rows = html_table(page, "Peruser statistics")
        assert rows[0][0] == "Processor", rows[0]
        server_wide = f"Dropped for virtual hosts without environment: {noenv}" in page
        assert server_wide == (host == "alice.test"), page
        return [(r[0], r[1].split("/")[0]) for r in rows[1:]]
    assert stats_order("alice.test") == [("alice", "2"), ("bob", "1")]
    via_alice += 1
    # ... still when bob has served more requests than alice
    keepalive_requests(port, "bob.test", 150)
    auto = peruser_auto(status_auto(port, "alice.test"))[1]
    via_alice += 1
    assert auto["bob"]["Requests"] > auto["alice"]["Requests"], auto
    assert auto["alice"]["Requests"] == a0 + 137 + via_alice, (a0, via_alice, auto)
    assert auto["bob"]["Requests"] == b0 + 59 + 150 + via_bob, (b0, via_bob, auto)
    assert stats_order("bob.test") == [("bob", "1")]
    via_bob += 1

    # connections, once every hand-off has been counted: alice had 6 of 25
    # requests and one with the 421, bob 3 + 6; plus one per status request
    def connections():
        seg = segment(srv)
        return (seg_env(seg, "alice")["connections"] - c0[0],
                seg_env(seg, "bob")["connections"] - c0[1])
    want = (6 + 1 + via_alice, 3 + 6 + via_bob)
    try:
        wait_for(lambda: connections() == want, 5, what=f"connections {want}")
    except phtest.WaitTimeout:
        raise AssertionError(f"connections (alice, bob) {connections()}, expected {want}") from None


def test_pstat_agrees_with_status_auto(servers, tree, shm_dump):
    """pstat -t lists both environments; pstat -j's per-environment
    requests, drops and 421s equal ?auto's, read after the traffic."""
    srv = start(servers, TWO_ENVS, ["alice.test", "bob.test"])
    port = srv.port
    wait_settled(srv, {"alice": 2, "bob": 1})
    keepalive_requests(port, "alice.test", 40)
    keepalive_requests(port, "bob.test", 23)
    r1, r2 = phtest.pipelined(port, "bob.test", "alice.test")
    assert (r1.status, r2.status) == (200, 421), (r1, r2)
    assert http_get(port, "orphan.test", "/").status == 503

    top, envs = peruser_auto(status_auto(port, "alice.test"))
    doc = pstat_json(srv)
    penvs = pstat_envs(doc)
    assert sorted(penvs) == ["alice", "bob"], sorted(penvs)
    assert doc["server"]["pid"] == srv.parent_pid, doc["server"]
    for name in ("alice", "bob"):
        p, a = penvs[name], envs[name]
        assert (p["requests"], p["misdirected"], p["dropped_timeout"],
                p["dropped_channel"], p["avail"], p["children_alive"], p["children_max"]) == \
            (a["Requests"], a["Misdirected"], a["DroppedTimeout"],
             a["DroppedChannel"], a["Avail"], a["ChildrenAlive"], a["ChildrenMax"]), (name, p, a)
    # the multiplexer counts a hand-off after sending it: the status page may
    # not yet include its own connection, pstat (later) does
    assert penvs["alice"]["connections"] - envs["alice"]["Connections"] in (0, 1), (penvs, envs)
    assert penvs["bob"]["connections"] == envs["bob"]["Connections"], (penvs, envs)
    assert penvs["bob"]["misdirected"] == 1 and penvs["alice"]["misdirected"] == 0
    assert doc["totals"]["dropped_noenv"] == top["PeruserDroppedNoEnvironment"] == 1
    assert doc["totals"]["requests"] == envs["alice"]["Requests"] + envs["bob"]["Requests"]

    text = pstat(srv, "-t", "-d", "0")
    names = [ln.split()[0] for ln in text.splitlines() if ln.split()]
    assert "alice" in names and "bob" in names, text
    for pid in (c["pid"] for c in doc["children"]):
        assert re.search(rf"\b{pid}\b", text), (pid, text)


def test_dropped_request_shows_as_dropped(servers, tree, shm_dump):
    """slow: one processor of one thread, ProcessorWaitTimeout 1.  Two
    concurrent 3-second CGI requests: the second gets 503; ?auto shows one
    DroppedTimeout and AVAIL below 100, and pstat -j the same."""
    srv = start(servers, SATURATION, ["slow.test", "bob.test"], threads=1)
    port = srv.port
    cgi = tree["alice"] / "cgi-bin" / "sleep.cgi"
    cgi.write_text(SLEEP_CGI)
    os.chmod(cgi, 0o755)
    seg0 = wait_settled(srv, {"slow": 1, "bob": 1})
    # a start-up probe may have waited and been refused, costing a level;
    # each request that finds the worker at once gives one back
    for _ in range(10):
        if seg_env(seg0, "slow")["avail"] == 100:
            break
        assert http_get(port, "slow.test", "/").status == 200
        seg0 = segment(srv)
    assert seg_env(seg0, "slow")["avail"] == 100, seg_env(seg0, "slow")
    before = peruser_auto(status_auto(port, "bob.test"))[1]
    assert before["slow"]["Avail"] == 100, before

    results = {}

    def get(name):
        t0 = time.monotonic()
        try:
            results[name] = (http_get(port, "slow.test", "/cgi-bin/sleep.cgi", timeout=20),
                             time.monotonic() - t0)
        except Exception as exc:  # reported by the asserts below
            results[name] = (exc, time.monotonic() - t0)

    first = threading.Thread(target=get, args=("first",))
    first.start()
    try:
        wait_for(lambda: phtest.pids_with_cmdline(str(cgi)), 10,
                 what="the first CGI to run (slow's only worker busy)")
        second = threading.Thread(target=get, args=("second",))
        second.start()
        second.join(20)
    finally:
        first.join(30)
    r1, t1 = results["first"]
    r2, t2 = results["second"]
    print(f"first {r1!r} after {t1:.2f}s; second {r2!r} after {t2:.2f}s")
    assert isinstance(r1, phtest.RawResponse) and r1.status == 200 and b"slept" in r1.body, r1
    assert isinstance(r2, phtest.RawResponse) and r2.status == 503, r2
    assert t2 < 2.9, f"the 503 came after {t2:.2f}s, expected about 1 s"

    top, envs = peruser_auto(status_auto(port, "bob.test"))
    print("?auto after the drop:", envs)
    assert envs["slow"]["DroppedTimeout"] - before["slow"]["DroppedTimeout"] == 1, (before, envs)
    assert envs["slow"]["DroppedChannel"] == 0, envs
    assert envs["slow"]["Avail"] < 100, envs["slow"]
    assert envs["bob"]["DroppedTimeout"] == 0 and envs["bob"]["Avail"] == 100, envs["bob"]

    doc = pstat_json(srv)
    penvs = pstat_envs(doc)
    assert sorted(penvs) == ["bob", "slow"], sorted(penvs)
    for name in ("slow", "bob"):
        p, a = penvs[name], envs[name]
        assert (p["dropped_timeout"], p["dropped_channel"], p["dropped"], p["requests"],
                p["avail"]) == (a["DroppedTimeout"], a["DroppedChannel"],
                                a["DroppedTimeout"] + a["DroppedChannel"], a["Requests"],
                                a["Avail"]), (name, p, a)
    assert doc["totals"]["dropped_timeout"] == envs["slow"]["DroppedTimeout"]


# --------------------------------------------------------------------------
# the interactive pstat across restarts


class Tmux:
    def __init__(self, name):
        self.name = name

    def tmux(self, *args, check=True):
        return subprocess.run(["tmux", "-L", self.name, *args], capture_output=True,
                              text=True, timeout=10, check=check)

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "pstat").stdout

    def wait_screen(self, cond, what, timeout=20):
        try:
            def shown():
                # Two captures alike, or pstat was caught mid-redraw (CI
                # saw a header already scrolled over rows not yet redrawn,
                # so every cell was read under the wrong title).
                scr = self.screen()
                if scr != self.screen():
                    return None
                return scr if cond(scr) else None
            return wait_for(shown, timeout, what=what)
        except phtest.WaitTimeout:
            raise AssertionError(f"pstat never showed {what}; screen:\n{self.screen()}") from None

    def kill(self):
        self.tmux("kill-server", check=False)


def env_rows(screen):
    """Environment names of the table rows on a pstat screen."""
    lines = screen.splitlines()
    for i, ln in enumerate(lines):
        if ln.startswith("ENVIRONMENT"):
            return [l.split()[0] for l in lines[i + 1:] if l.split()]  # noqa: E741
    return []


def header(screen):
    m = re.search(r"server pid (\d+) .*generation (\d+)", screen)
    return (int(m.group(1)), int(m.group(2))) if m else None


def test_pstat_follows_server_restarts(servers, tree, shm_dump):
    """The interactive pstat on a running server shows alice and bob; after
    apache2 -k restart it shows them again for the next generation; after
    stop it says no server is running; after a new start it shows the new
    server; q quits."""
    srv = start(servers, TWO_ENVS, ["alice.test", "bob.test"])
    wait_settled(srv, {"alice": 2, "bob": 1})
    path = phtest.segment_path(srv)
    tm = Tmux(f"phmon-{os.getpid()}")
    try:
        tm.tmux("new-session", "-d", "-s", "pstat", "-x", "160", "-y", "40",
                f"{PSTAT} --shm {path} -d 0.2; sleep 30")
        both = lambda s: {"alice", "bob"} <= set(env_rows(s))  # noqa: E731
        scr = tm.wait_screen(lambda s: both(s) and header(s), "alice and bob rows")
        pid0, gen0 = header(scr)
        assert pid0 == srv.parent_pid, scr

        res = srv.apache("-k", "restart")
        assert res.returncode == 0, res
        def new_generation():
            try:
                return segment(srv)["generation"] > gen0
            except AssertionError:  # between the old segment and the new one
                return False
        wait_for(new_generation, 30, what="a new generation in the segment")
        srv.wait_ready(srv.port, "alice.test")
        scr = tm.wait_screen(lambda s: both(s) and header(s) and header(s)[1] > gen0,
                             "alice and bob rows of the next generation")
        print("after restart:\n" + scr)

        srv.stop()
        tm.wait_screen(lambda s: "no server running" in s, "'no server running'")
        srv.stopped = False
        srv.start(ready_hosts=["alice.test"], port=srv.port)
        assert srv.parent_pid != pid0
        scr = tm.wait_screen(lambda s: both(s) and header(s)
                             and header(s)[0] == srv.parent_pid,
                             f"the new server (pid {srv.parent_pid}) with alice and bob")
        print("after stop + start:\n" + scr)

        tm.tmux("send-keys", "-t", "pstat", "q")
        # pstat has quit when the shell's `sleep 30` is what runs in the pane
        wait_for(lambda: tm.tmux("display-message", "-p", "-t", "pstat",
                                 "#{pane_current_command}").stdout.strip() == "sleep",
                 10, what="pstat to quit on q")
    finally:
        tm.kill()
