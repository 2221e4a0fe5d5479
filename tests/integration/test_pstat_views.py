"""pstat's views on a real server with two environments (issue 15, part B):
the interactive view at 80x24 under load (tmux), the per-tenant figures
(CPU, memory, bytes, 4xx/5xx, user) in -1's varnishstat form, the
Prometheus exposition checked with promtool, a server killed with SIGKILL
shown as dead, and the permission error of a user outside the monitoring
group.

Load is bounded (a request count and a deadline); every wait polls.
"""

import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import phtest
from phtest import RawConn, http_get, wait_for
from test_monitoring import TWO_ENVS, Tmux, start, wait_settled

PSTAT = phtest.REPO / "build" / "out" / "pstat"

FAIL_CGI = """\
#!/bin/sh
# no header: mod_cgi answers 500
exit 1
"""

BURN_CGI = """\
#!/bin/sh
# some CPU in the processor's CGI, bounded
i=0
while [ $i -lt 3000 ]; do i=$((i+1)); done
printf 'Content-Type: text/plain\\r\\n\\r\\n'
echo burned
"""


def pstat(srv, *args, check=True, timeout=30):
    res = phtest.run_tool([str(PSTAT), "--shm", str(phtest.segment_path(srv)), *args],
                          timeout)
    if check:
        assert res.returncode == 0, (res.returncode, res.stdout, res.stderr)
    return res


def fields(srv, *globs):
    """-1 as {name: (value, rate or None)}, read over 0.5 s."""
    args = ["-1", "-d", "0.5"]
    for g in globs:
        args += ["-f", g]
    out = {}
    for line in pstat(srv, *args).stdout.splitlines():
        name, value, rate, _desc = line.split(None, 3)
        out[name] = (float(value), None if rate == "." else float(rate))
    return out


def install_cgis(tree):
    for name, text in (("fail.cgi", FAIL_CGI), ("burn.cgi", BURN_CGI)):
        path = tree["alice"] / "cgi-bin" / name
        path.write_text(text)
        os.chmod(path, 0o755)


class Load:
    """Requests in a thread until stopped (at most `limit`, or `seconds`):
    alice gets pages, 404s, 500s and a CPU-burning CGI; bob pages."""

    def __init__(self, port, limit=4000, seconds=60):
        self.port, self.limit, self.deadline = port, limit, time.monotonic() + seconds
        self.stop = threading.Event()
        self.done = 0
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        paths = [("alice.test", "/"), ("alice.test", "/missing"), ("alice.test", "/cgi-bin/burn.cgi"),
                 ("alice.test", "/cgi-bin/fail.cgi"), ("bob.test", "/"), ("bob.test", "/nope")]
        while not self.stop.is_set() and self.done < self.limit and time.monotonic() < self.deadline:
            host, path = paths[self.done % len(paths)]
            try:
                http_get(self.port, host, path, timeout=10)
            except Exception:  # the figures below say whether load arrived
                pass
            self.done += 1

    def finish(self):
        self.stop.set()
        self.thread.join(30)


def cells(screen, first):
    """The cells of the row whose first cell is `first`, by column title;
    None if there is no such row (yet)."""
    lines = screen.splitlines()
    head = next((i for i, ln in enumerate(lines)
                 if ln.split()[:1] in (["ENVIRONMENT"], ["SLOT"])), None)
    if head is None:
        return None                 # not drawn yet
    titles = (lines[head].replace("CHILD A/I/MAX", "CHILD_A/I/MAX")
              .replace("OUT B/S", "OUT_B/S").replace("LAST USED", "LAST_USED").split())
    for ln in lines[head + 1:]:
        parts = ln.split()
        if parts[:1] == [first]:
            return dict(zip(titles, parts))
    return None


def test_interactive_view_at_80x24_under_load(servers, tree, shm_dump):
    """At 80x24, with alice and bob under load: every line fits, the rows
    show requests/s; scrolled right, CPU%, RSS, 4XX/S, 5XX/S and USER are
    there (alice's 404s and 500s as rates, each environment's user); the
    child view shows each processor with its user and its environment; a
    sort key can be chosen."""
    install_cgis(tree)
    srv = start(servers, TWO_ENVS, ["alice.test", "bob.test"])
    wait_settled(srv, {"alice": 2, "bob": 1})
    load = Load(srv.port)
    tm = Tmux(f"phviews-{os.getpid()}")
    try:
        tm.tmux("new-session", "-d", "-s", "pstat", "-x", "80", "-y", "24",
                f"{PSTAT} --shm {phtest.segment_path(srv)} -d 0.5")

        def busy(s):
            a, b = cells(s, "alice"), cells(s, "bob")
            return a and b and a["REQ/S"] not in ("-", "0.0") and b["REQ/S"] not in ("-", "0.0")
        scr = tm.wait_screen(busy, "alice and bob with requests/s")
        assert all(len(ln) <= 80 for ln in scr.splitlines()), scr
        assert "cols 2-" in scr and "/19>" in scr, scr

        # scroll until USER shows; the first column stays
        tm.tmux("send-keys", "-t", "pstat", *["Right"] * 6)
        scr = tm.wait_screen(lambda s: "USER" in s and cells(s, "alice") and cells(s, "bob")
                             and cells(s, "alice").get("4XX/S") not in (None, "-", "0.0")
                             and cells(s, "alice").get("5XX/S") not in (None, "-", "0.0")
                             and cells(s, "alice").get("USER") == "alice"
                             and cells(s, "bob").get("USER") == "bob",
                             "USER, CPU% and alice's 4xx/5xx rates")
        print("scrolled right:\n" + scr)
        a, b = cells(scr, "alice"), cells(scr, "bob")
        assert a["USER"] == "alice" and b["USER"] == "bob", scr
        assert re.fullmatch(r"\d+(\.\d)?", a["CPU%"]), scr
        assert re.fullmatch(r"\d+(\.\d)?[KMG]?", a["RSS"]) and a["RSS"] != "0", scr
        assert a["PSS"] != "-", scr              # root reads smaps_rollup
        assert all(len(ln) <= 80 for ln in scr.splitlines()), scr

        # sort by another key: s steps to the next column
        tm.tmux("send-keys", "-t", "pstat", "s")
        tm.wait_screen(lambda s: "sort: CONN/S descending" in s, "sorted by CONN/S")

        # the children: processors with their environment's user
        tm.tmux("send-keys", "-t", "pstat", "v")
        scr = tm.wait_screen(lambda s: "view: children" in s and "PROCESSOR" in s, "child view")
        rows = [ln.split() for ln in scr.splitlines() if " PROCESSOR " in ln]
        assert len(rows) == 3, scr
        tm.tmux("send-keys", "-t", "pstat", *["Right"] * 10)
        scr = tm.wait_screen(lambda s: "USER" in s and "CPU%" in s and "OUT B/S" in s,
                             "children's OUT B/S to USER columns")
        assert all(len(ln) <= 80 for ln in scr.splitlines()), scr
        print("children:\n" + scr)
        users = {}
        for ln in scr.splitlines():
            parts = ln.split()
            if len(parts) > 2 and parts[0].isdigit():
                users[int(parts[0])] = parts[-1]
        seg = phtest.segment(srv)
        for c in seg["children"]:
            want = "www-data" if c["type_name"] == "multiplexer" else \
                {0: "alice", 1: "bob"}.get(c["env_index"])
            if want:
                assert users.get(c["slot"]) == want, (c, users, scr)
        tm.tmux("send-keys", "-t", "pstat", "q")
    finally:
        tm.kill()
        load.finish()
    assert load.done > 0


def test_fields_count_bytes_and_status_classes(servers, tree, shm_dump):
    """Known traffic, read back from -1: 4 404s and 2 500s for alice, 3
    pages of known size for bob; the rates are per second; PSS and RSS of
    each environment are there; the same figures in --prometheus, which
    promtool accepts."""
    install_cgis(tree)
    srv = start(servers, TWO_ENVS, ["alice.test", "bob.test"])
    wait_settled(srv, {"alice": 2, "bob": 1})
    before = fields(srv, "ENV.*")
    body = len((tree["bob"] / "index.html").read_bytes())
    for _ in range(4):
        assert http_get(srv.port, "alice.test", "/missing").status == 404
    for _ in range(2):
        assert http_get(srv.port, "alice.test", "/cgi-bin/fail.cgi").status == 500
    with RawConn(srv.port) as c:
        for _ in range(3):
            assert c.request("bob.test", "/").status == 200

    def delta(name):
        return fields(srv, "ENV.*")[name][0] - before[name][0]
    wait_for(lambda: delta("ENV.alice.responses_4xx") == 4 and delta("ENV.alice.responses_5xx") == 2
             and delta("ENV.bob.bytes_sent") == 3 * body, 10, what="the answers counted")
    now = fields(srv, "ENV.*")
    assert delta("ENV.bob.responses_4xx") == 0 and delta("ENV.bob.responses_5xx") == 0
    for env in ("alice", "bob"):
        assert now[f"ENV.{env}.rss_bytes"][0] > 1 << 20, now
        assert now[f"ENV.{env}.pss_bytes"][0] > 0, now
        assert now[f"ENV.{env}.requests"][1] is not None        # a counter has a rate
    assert now["ENV.alice.uid"][0] == pwd.getpwnam("alice").pw_uid

    prom = pstat(srv, "--prometheus", "-d", "0").stdout
    r = subprocess.run(["promtool", "check", "metrics"], input=prom, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = prom.splitlines()
    want_4xx = int(before["ENV.alice.responses_4xx"][0]) + 4
    assert f'peruser_responses_total{{environment="alice",class="4xx"}} {want_4xx}' in lines, prom
    assert any(ln.startswith('peruser_requests_total{environment="bob"} ') for ln in lines)
    assert "peruser_up 1" in lines
    assert 'peruser_processors{environment="alice"} 2' in lines
    assert 'peruser_dropped_no_environment_total 0' in lines


def test_dead_server_after_sigkill(servers, tree, shm_dump):
    """SIGKILL the parent: its segment stays behind, and pstat says the
    server is dead (exit 2, one sentence) instead of showing frozen
    figures; --prometheus says peruser_up 0."""
    srv = start(servers, TWO_ENVS, ["alice.test", "bob.test"])
    wait_settled(srv, {"alice": 2, "bob": 1})
    assert fields(srv, "MAIN.up")["MAIN.up"][0] == 1
    srv.record_processes()
    parent = srv.parent_pid
    try:
        os.kill(parent, signal.SIGKILL)
        wait_for(lambda: not phtest.pid_alive(parent) or phtest.proc_state(parent) == "Z", 10,
                 what="the parent to die")
        assert phtest.segment_path(srv).exists()
        r = pstat(srv, "-1", "-d", "0", check=False)
        assert r.returncode == 2 and r.stdout == "", r
        assert "server is dead" in r.stderr and str(parent) in r.stderr, r.stderr
        r = pstat(srv, "--prometheus", "-d", "0", check=False)
        assert r.returncode == 2 and "peruser_up 0" in r.stdout.splitlines(), r
    finally:
        srv.kill_leftovers()
        srv.stopped = True
        srv.parent_pid = None


def test_permission_error_names_the_directive(servers, tree, shm_dump):
    """A user outside the monitoring group is told which directive decides
    who may read the segment."""
    srv = start(servers, TWO_ENVS, ["alice.test", "bob.test"])
    bindir = tempfile.mkdtemp(prefix="ph-pstat-bin.")
    try:
        os.chmod(bindir, 0o755)
        binary = os.path.join(bindir, "pstat")
        shutil.copy(PSTAT, binary)
        os.chmod(binary, 0o755)
        r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                            binary, "-1", "--shm", str(phtest.segment_path(srv))],
                           capture_output=True, text=True, timeout=30)
    finally:
        shutil.rmtree(bindir, ignore_errors=True)
    assert r.returncode == 2, r
    assert "permission denied" in r.stderr and "ExtendedScoreBoardGroup" in r.stderr, r.stderr
