"""pstat against a fake server (tests/pstat/fake_server.c), without httpd.

The fake server fills a real segment through the shm/ library by fixed
rules (see the comment at the top of fake_server.c) and keeps its request
counters moving at known rates, so every figure pstat prints can be
predicted here.  Covered: -t, -1 (varnishstat's form) and -f, -j (values,
rates, field descriptions), --prometheus (checked with promtool),
--version, errors (no segment, no permission, usage, a dead server), and
the interactive view in a real terminal (tmux: rows, sorting, reverse,
filter, child view, interval, resize, 80x24 with columns scrolled, following
a restart, a stop and a server killed, quitting).

Run:  /usr/bin/python3 -m pytest -q tests/pstat
The binaries are built by a session fixture (make).  Waits poll for a
condition with a deadline; nothing sleeps a fixed time to let something
happen.
"""

import json
import re
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _layout_major():
    """The segment layout this tree's pstat reads (shm/ph_shm_layout.h)."""
    with open(os.path.join(ROOT, "shm", "ph_shm_layout.h")) as f:
        return int(re.search(r"#define PH_SHM_LAYOUT_MAJOR\s+(\d+)u", f.read()).group(1))


LAYOUT_MAJOR = _layout_major()
OUT = os.path.join(ROOT, "build", "out")
PSTAT = os.path.join(OUT, "pstat")
FAKE = os.path.join(OUT, "pstat_fake_server")
UNIT = os.path.join(OUT, "pstat_tests")

# Names whose order by name, by rate and by index all differ: index 0 has
# the lowest request rate (base * 1), index 2 the highest.
NAMES = ["zed", "alice", "mike"]


def wait_for(cond, timeout=10.0, step=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(step)


@pytest.fixture(scope="session", autouse=True)
def built():
    """make the pstat targets: through the root Makefile once it includes
    tools/pstat/pstat.mk, else by naming both makefiles."""
    with open(os.path.join(ROOT, "Makefile")) as f:
        included = "tools/pstat/pstat.mk" in f.read()
    cmd = ["make", "-s", "-C", ROOT]
    if not included:
        cmd += ["-f", "Makefile", "-f", "tools/pstat/pstat.mk"]
    subprocess.run(cmd + ["pstat-tools"], check=True, timeout=300)


class FakeServer:
    def __init__(self, path, names=NAMES, envs=None, children=16, base=200.0):
        self.path = path
        args = [FAKE, path, "--children", str(children), "--base", str(base)]
        if names:
            args += ["--names", ",".join(names)]
        args += ["--envs", str(envs if envs is not None else len(names))]
        self.base = base
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE)
        self.generation = self.read_ready()

    def read_ready(self, timeout=10.0):
        """The 'ready N' line it prints once its segment is filled."""
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        assert ready, "fake server did not get ready"
        line = self.proc.stdout.readline().decode().split()
        assert line and line[0] == "ready", line
        return int(line[1])

    def restart(self):
        self.proc.send_signal(signal.SIGHUP)
        self.generation = self.read_ready()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@pytest.fixture
def segdir():
    # World-traversable, so that the permission test can run as nobody.
    d = tempfile.mkdtemp(prefix="pstat-test.")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def fake(segdir):
    servers = []

    def start(**kw):
        s = FakeServer(os.path.join(segdir, "ph.shm"), **kw)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()


def pstat(*args, timeout=20):
    return subprocess.run([PSTAT] + list(args), capture_output=True, text=True,
                          timeout=timeout)


def test_unit_tests_pass():
    r = subprocess.run([UNIT], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


# ---- -1 and -j ----------------------------------------------------------


def test_table_text(fake):
    s = fake()
    r = pstat("-t", "--shm", s.path, "-d", "0.3")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "pstat " + s.path
    assert "generation 1" in lines[1] and "rates over 0.3" in lines[1]
    assert "environments 3" in lines[2] and "dropped_noenv 7" in lines[2]
    assert "children 7 (processors 6, multiplexers 1)" in lines[2]
    rows = {l.split()[0]: l.split() for l in lines if l.split() and l.split()[0] in NAMES}
    assert set(rows) == set(NAMES)
    # mike: index 2, 3 processors (1 idle), max 6, dropped 2 + 4
    assert rows["mike"][1] == "3/1/6"
    assert rows["mike"][14] == "6" and rows["mike"][15] == "2/4"
    assert sum(1 for l in lines if " PROCESSOR " in l) == 6
    assert sum(1 for l in lines if " MULTIPLEXER " in l) == 1


# A name a tenant's code could write into its record: a terminal escape
# (clear screen), a newline and a whole forged ?auto line, an OSC title,
# BEL, U+009B (a C1 CSI, bytes c2 9b) and DEL.
HOSTILE = "\x1b[2Jx\nPeruser.bob.Requests: 9\x1b]0;owned\x07\u009b\x7f"


def terminal_lines(*args):
    """pstat's output lines, checked free of any byte a terminal acts on."""
    r = subprocess.run([PSTAT] + list(args), capture_output=True, timeout=20)
    assert r.returncode == 0, r.stderr
    raw = [b for b in r.stdout if (b < 0x20 and b != 0x0a) or b >= 0x7f]
    assert raw == [], f"raw control bytes reached the terminal: {raw}"
    return r.stdout.decode("ascii").splitlines()


def test_hostile_name_escaped(fake):
    s = fake(names=["alice", HOSTILE])
    lines = terminal_lines("-1", "--shm", s.path, "-d", "0.2")
    assert not [l for l in lines if not l.startswith(("MAIN.", "ENV.", "CHILD."))], lines
    assert "ENV.%1b%5b2Jx%0aPeruser.bob.Requests%3a%209%1b%5d0%3bowned%07%c2%9b%7f.requests" \
        in [l.split()[0] for l in lines]

    lines = terminal_lines("-t", "--shm", s.path, "-d", "0.2")
    assert not [l for l in lines if l.startswith("Peruser.")], lines
    # the name is one cell of one row (cut to its column, '>' says so), escaped
    assert sum(1 for l in lines if l.startswith("\\x1b[2Jx\\x0aPeruser> ")) == 1, lines

    js = subprocess.run([PSTAT, "-j", "--shm", s.path, "-d", "0.2"],
                        capture_output=True, timeout=20)
    assert js.returncode == 0, js.stderr
    raw = [b for b in js.stdout if (b < 0x20 and b != 0x0a) or b >= 0x7f]
    assert raw == [], f"raw control bytes in the JSON: {raw}"
    doc = json.loads(js.stdout)
    names = sorted(e["name"] for e in doc["environments"])
    # each byte of the record comes back as the code point of that value
    assert names == sorted(["alice", HOSTILE.encode().decode("latin-1")]), names


def test_json_values_and_rates(fake):
    s = fake(base=200.0)
    # Rates and ages hold only if the fake's 10 ms loop ran on time around
    # pstat's two samples: on a loaded machine a stall of it lags every
    # counter (CI saw 142 requests/s for 200).  A wrong computation fails
    # every attempt; a stall, the attempt it fell in.
    last = None
    for _ in range(5):
        r = pstat("-j", "--shm", s.path, "--interval", "0.5")
        assert r.returncode == 0, r.stderr
        try:
            check_json_values_and_rates(json.loads(r.stdout), s)
            return
        except AssertionError as exc:
            last = exc
    raise last


def check_json_values_and_rates(doc, s):
    assert doc["pstat_version"] == 1
    assert doc["layout"].startswith(f"{LAYOUT_MAJOR}.")
    assert doc["path"] == s.path
    assert 0.45 <= doc["interval_s"] <= 1.0
    srv = doc["server"]
    assert srv["pid"] == s.proc.pid and srv["generation"] == 1
    assert srv["uptime_s"] >= 0 and srv["birth_time_us"] > 0
    assert srv["env_capacity"] == 5 and srv["child_capacity"] == 16

    t = doc["totals"]
    assert (t["environments"], t["children"], t["processors"], t["multiplexers"]) == (3, 7, 6, 1)
    assert t["dropped_noenv"] == 7
    assert (t["dropped_timeout"], t["dropped_channel"], t["dropped"]) == (3, 6, 9)

    # Counters are floor(rate * t), sampled by a loop every 10 ms: allow
    # one tick and one count at each end of the interval.
    def near(measured, rate):
        slack = rate * 0.03 + 2.0 / doc["interval_s"] + rate * 0.02 / doc["interval_s"]
        return abs(measured - rate) <= slack

    envs = doc["environments"]
    assert [e["name"] for e in envs] == NAMES
    for i, e in enumerate(envs):
        n = 1 + i % 3
        assert e["index"] == i and e["uid"] == 1000 + i and e["gid"] == 1000 + i
        assert e["children_alive"] == n and e["children_idle"] == 1
        assert e["children_max"] == 4 + i % 4 and e["children_min"] == 1
        assert e["busy_threads"] == sum(range(n))
        assert e["idle_threads"] == sum(8 - j for j in range(n))
        assert (e["dropped_timeout"], e["dropped_channel"], e["dropped"]) == (i, 2 * i, 3 * i)
        assert e["avail"] == 100 - 10 * (i % 10) and e["queue_depth"] == i % 5
        if i == 0:
            assert e["oldest_wait_ms"] == 0
        else:
            assert 1500 * i <= e["oldest_wait_ms"] <= 1500 * i + 300
        assert near(e["requests_per_s"], 200.0 * (i + 1)), e
        assert near(e["connections_per_s"], 100.0 * (i + 1)), e
    assert near(t["requests_per_s"], 200.0 * 6)

    kids = doc["children"]
    assert [c["slot"] for c in kids] == list(range(7))
    assert kids[0]["type"] == "MULTIPLEXER" and kids[0]["env"] is None
    assert kids[0]["pid"] == s.proc.pid
    for c in kids[1:]:
        assert c["type"] == "PROCESSOR" and c["pid"] == 100000 + c["slot"]
        assert c["status"] == ("ACTIVE" if c["busy_threads"] else "READY")
        assert c["env"] == NAMES[c["env_index"]]
    # The first processor of mike (slot 4) serves all of mike's requests.
    assert kids[4]["env"] == "mike" and near(kids[4]["requests_per_s"], 600.0)
    assert kids[4]["last_used_ago_ms"] <= 200
    assert kids[5]["requests_per_s"] == 0.0
    assert 10000 <= kids[5]["last_used_ago_ms"] <= 15000
    assert kids[0]["last_used_ago_ms"] is None


def test_json_single_sample_has_null_rates(fake):
    s = fake()
    r = pstat("-j", "--shm", s.path, "--interval", "0")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["interval_s"] == 0
    assert doc["totals"]["requests_per_s"] is None
    assert all(e["requests_per_s"] is None for e in doc["environments"])
    assert all(c["requests_per_s"] is None for c in doc["children"])


def test_pstat_shm_environment_variable(fake):
    s = fake()
    env = dict(os.environ, PSTAT_SHM=s.path)
    r = subprocess.run([PSTAT, "-j", "-d", "0"], capture_output=True, text=True,
                       env=env, timeout=20)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["path"] == s.path


def test_json_after_restart(fake):
    s = fake()
    first = json.loads(pstat("-j", "--shm", s.path, "-d", "0").stdout)
    s.restart()
    second = json.loads(pstat("-j", "--shm", s.path, "-d", "0").stdout)
    assert second["server"]["generation"] == 2
    assert second["server"]["birth_time_us"] > first["server"]["birth_time_us"]


def fields_of(text):
    """-1's lines as {name: (value, rate, description)}; varnishstat's form:
    name, value, rate ('.' for none), then the description."""
    out = {}
    for line in text.splitlines():
        name, value, rate, desc = line.split(None, 3)
        out[name] = (float(value), None if rate == "." else float(rate), desc)
    return out


def test_once_fields_varnishstat_form(fake):
    s = fake(base=200.0)
    r = pstat("-1", "--shm", s.path, "-d", "0.5")
    assert r.returncode == 0, r.stderr
    f = fields_of(r.stdout)
    # mike is index 2: 600 requests/s, dropped 2 + 4, 3 processors, max 6
    value, rate, desc = f["ENV.mike.requests"]
    assert value > 0 and 600 * 0.8 <= rate <= 600 * 1.2, f["ENV.mike.requests"]
    assert desc == "Requests served by its processors"
    assert f["ENV.mike.dropped_timeout"][:2] == (2, None)
    assert f["ENV.mike.dropped_channel"][0] == 4
    assert f["ENV.mike.processors"][0] == 3 and f["ENV.mike.processors_max"][0] == 6
    assert f["MAIN.dropped_noenv"][0] == 7 and f["MAIN.up"][0] == 1
    assert f["CHILD.0.type"][0] == 1 and f["CHILD.0.pid"][0] == s.proc.pid
    # every field has a description
    assert all(d for _, _, d in f.values())


def test_field_filter(fake):
    s = fake()
    r = pstat("-1", "--shm", s.path, "-d", "0", "-f", "ENV.mike.*", "-f", "MAIN.up",
              "-f", "^*.processors*")
    assert r.returncode == 0, r.stderr
    names = set(fields_of(r.stdout))
    assert "MAIN.up" in names and "ENV.mike.requests" in names
    assert not [n for n in names if n.startswith(("ENV.alice", "ENV.zed", "CHILD."))], names
    assert not [n for n in names if ".processors" in n], names
    assert [n for n in names if n.startswith("MAIN.")] == ["MAIN.up"]
    # the same globs choose the JSON's fields
    doc = json.loads(pstat("-j", "--shm", s.path, "-d", "0", "-f", "ENV.zed.*").stdout)
    assert doc["fields"] and all(k.startswith("ENV.zed.") for k in doc["fields"])
    r = pstat("-1", "--shm", s.path, "-f", "^")
    assert r.returncode == 1 and r.stderr.startswith("pstat: -f")


def test_json_fields_have_descriptions(fake):
    s = fake()
    doc = json.loads(pstat("-j", "--shm", s.path, "-d", "0.3").stdout)
    fields = doc["fields"]
    assert fields["ENV.alice.requests"]["type"] == "counter"
    assert fields["ENV.alice.avail"]["type"] == "gauge"
    assert fields["ENV.alice.requests"]["rate"] > 0
    for name, f in fields.items():
        assert set(f) == {"type", "value", "rate", "description"}, name
        assert f["description"], name
    assert doc["server"]["alive"] is True


def test_version():
    r = pstat("--version")
    assert r.returncode == 0 and r.stdout.startswith("pstat ")
    assert f"layout {LAYOUT_MAJOR}.x" in r.stdout and "JSON output version 1" in r.stdout


def promtool_check(text):
    assert shutil.which("promtool"), "promtool missing: apt-get install prometheus"
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def test_prometheus_exposition(fake):
    s = fake(names=["alice", 'b"o\\b\nx', "mike"])
    r = pstat("--prometheus", "--shm", s.path, "-d", "0")
    assert r.returncode == 0, r.stderr
    promtool_check(r.stdout)
    lines = r.stdout.splitlines()
    assert "# TYPE peruser_requests_total counter" in lines
    assert lines.count("# TYPE peruser_responses_total counter") == 1
    # dropped_timeout of index 2 is 2, dropped_channel 4; the label escaped
    assert 'peruser_dropped_total{environment="mike",reason="timeout"} 2' in lines
    assert 'peruser_dropped_total{environment="mike",reason="channel"} 4' in lines
    assert 'peruser_avail_ratio{environment="mike"} 0.8' in lines
    assert [l for l in lines if l.startswith('peruser_requests_total{environment="b\\"o\\\\b\\nx"} ')]
    assert "peruser_up 1" in lines and "peruser_dropped_no_environment_total 7" in lines


def test_dead_server(fake, tmux_pstat):
    """The server's parent killed with SIGKILL leaves its segment behind:
    pstat says the server is dead instead of showing its frozen figures."""
    s = fake()
    t = tmux_pstat(s, "-d", "0.2")
    t.wait_screen(lambda l: len(rows(l)) == 3, "rows of the live server")
    s.proc.kill()
    s.proc.wait(timeout=10)
    assert os.path.exists(s.path)
    t.wait_screen(lambda l: "server dead" in l[3] and rows(l) == [], "dead noticed")
    for mode in ("-1", "-j", "-t"):
        r = pstat(mode, "--shm", s.path, "-d", "0")
        assert r.returncode == 2 and r.stdout == "", (mode, r)
        assert "server is dead" in r.stderr and str(s.proc.pid) in r.stderr
    r = pstat("--prometheus", "--shm", s.path, "-d", "0")
    assert r.returncode == 2 and "peruser_up 0" in r.stdout.splitlines()
    assert "peruser_requests_total" not in r.stdout
    promtool_check(r.stdout)
    # a new server at the same path is followed
    fake(names=["solo"])
    t.wait_screen(lambda l: rows(l) == ["solo"], "new server followed")


# ---- errors --------------------------------------------------------------


def test_no_server_running(segdir):
    path = os.path.join(segdir, "none.shm")
    for mode in ("-1", "-j"):
        r = pstat(mode, "--shm", path)
        assert r.returncode == 2
        assert r.stdout == ""
        assert r.stderr.count("\n") == 1
        assert "no server running" in r.stderr and path in r.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to nobody")
def test_permission_denied(fake, segdir):
    s = fake()
    # The segment is root's, mode 0640: nobody may not read it.
    assert os.stat(s.path).st_mode & 0o777 == 0o640
    binary = os.path.join(segdir, "pstat")
    shutil.copy(PSTAT, binary)
    os.chmod(binary, 0o755)
    r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                        binary, "-j", "--shm", s.path],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 2, r
    assert "permission denied" in r.stderr and "ExtendedScoreBoardGroup" in r.stderr
    assert r.stderr.count("\n") == 1


def test_usage_errors(segdir):
    for args in (["--bogus"], ["-d", "abc"], ["-d", "-1"], ["--shm"], ["extra"]):
        r = pstat(*args)
        assert r.returncode == 1, args
        assert r.stderr.startswith("pstat: "), args
    r = pstat("--help")
    assert r.returncode == 0 and "usage: pstat" in r.stdout


def test_interactive_needs_a_terminal(fake):
    s = fake()
    r = subprocess.run([PSTAT, "--shm", s.path], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=20)
    assert r.returncode == 1 and "terminal" in r.stderr


# ---- interactive, in tmux ------------------------------------------------


class Tmux:
    """A detached tmux server of our own (its own socket), so that the
    test never touches anyone else's sessions."""

    def __init__(self, command, width=160, height=40):
        self.sock = "pstat-test-%d" % os.getpid()
        self.run("new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height), command)

    def run(self, *args, check=True):
        return subprocess.run(["tmux", "-L", self.sock] + list(args), capture_output=True,
                              text=True, timeout=20, check=check)

    def keys(self, *keys):
        self.run("send-keys", "-t", "t", *keys)

    def screen(self):
        r = self.run("capture-pane", "-p", "-t", "t", check=False)
        return r.stdout.splitlines() if r.returncode == 0 else []

    def alive(self):
        return self.run("has-session", "-t", "t", check=False).returncode == 0

    def wait_screen(self, pred, what, timeout=10.0):
        def ok():
            lines = self.screen()
            return lines if lines and pred(lines) else None
        return wait_for(ok, timeout=timeout, what=what + "\n" + "\n".join(self.screen()))

    def kill(self):
        self.run("kill-server", check=False)


def rows(lines):
    """First words of the rows under the column titles (line 4)."""
    out = []
    for l in lines[5:]:
        if not l.strip():
            break
        out.append(l.split()[0])
    return out


@pytest.fixture
def tmux_pstat(fake):
    sessions = []

    def start(server, *args, **kw):
        t = Tmux(" ".join([PSTAT, "--shm", server.path] + list(args)), **kw)
        sessions.append(t)
        return t

    yield start
    for t in sessions:
        t.kill()


def test_tui_rows_sort_filter_view_quit(fake, tmux_pstat):
    s = fake()
    t = tmux_pstat(s)
    # Default: requests/s, largest first (mike 600/s, alice 400, zed 200),
    # once the second reading gave rates.
    t.wait_screen(lambda l: "sort: REQ/S descending" in l[2]
                  and rows(l) == ["mike", "alice", "zed"]
                  and l[5].split()[4] != "-", "rows by rate")
    lines = t.screen()
    assert "generation 1" in lines[0] and "refresh 1.0s" in lines[0]
    assert "envs 3" in lines[1]
    assert lines[4].split()[0] == "ENVIRONMENT"

    t.keys("r")
    t.wait_screen(lambda l: "REQ/S ascending" in l[2] and rows(l) == ["zed", "alice", "mike"],
                  "reversed")
    t.keys("r")
    # S steps back through the columns: REQ/S -> IDLE -> BUSY -> CHILD -> name
    t.keys("S", "S", "S", "S")
    t.wait_screen(lambda l: "sort: ENVIRONMENT ascending" in l[2]
                  and rows(l) == ["alice", "mike", "zed"], "sorted by name")
    t.keys(">")
    t.wait_screen(lambda l: "sort: CHILD A/I/MAX descending" in l[2]
                  and rows(l) == ["mike", "alice", "zed"], "sorted by children")

    t.keys("f")
    t.wait_screen(lambda l: "filter environments" in l[3], "filter prompt")
    t.keys("LI", "Enter")
    t.wait_screen(lambda l: "filter: LI" in l[2] and rows(l) == ["alice"], "filtered")

    t.keys("v")
    t.wait_screen(lambda l: l[4].split()[0] == "SLOT" and rows(l) == ["2", "3"],
                  "alice's children")
    lines = t.screen()
    assert all(" alice " in l and " PROCESSOR " in l for l in lines[5:7])

    t.keys("f", "Enter")
    t.wait_screen(lambda l: "filter" not in l[2] and rows(l) == [str(i) for i in range(7)],
                  "all children")
    assert "MULTIPLEXER" in t.screen()[5]
    t.keys("Tab")
    t.wait_screen(lambda l: l[4].split()[0] == "ENVIRONMENT"
                  and rows(l) == ["mike", "alice", "zed"], "back to environments")

    t.keys("+")
    t.wait_screen(lambda l: "refresh 2.0s" in l[0], "slower refresh")
    t.keys("h")
    t.wait_screen(lambda l: any("q quit" in x for x in l), "help line", timeout=5)

    t.keys("q")
    wait_for(lambda: not t.alive(), what="pstat to quit")


def test_tui_resize(fake, tmux_pstat):
    s = fake()
    t = tmux_pstat(s)
    t.wait_screen(lambda l: len(rows(l)) == 3, "rows")
    t.run("resize-window", "-t", "t", "-x", "70", "-y", "7")
    t.wait_screen(lambda l: len(l) == 7 and max(len(x) for x in l) <= 70
                  and l[4].startswith("ENVIRONMENT") and len(rows(l)) == 2,
                  "redrawn for 70x7")
    t.run("resize-window", "-t", "t", "-x", "160", "-y", "40")
    t.wait_screen(lambda l: len(rows(l)) == 3, "redrawn for 160x40")
    assert t.alive()


def test_tui_80x24_scrolls_columns(fake, tmux_pstat):
    """At 80x24 nothing is wider than the terminal, a name longer than its
    column ends in '>', and the columns that do not fit are reached with
    the arrow keys, the first column staying put."""
    long_name = "a-very-long-environment-name"
    s = fake(names=["alice", long_name, "mike"], base=2e7)
    t = tmux_pstat(s, width=80, height=24)
    lines = t.wait_screen(lambda l: len(rows(l)) == 3 and l[5].split()[4] != "-", "rows")
    assert len(lines) == 24 and max(len(x) for x in lines) <= 80, lines
    assert "cols 2-8/19>" in lines[2], lines[2]
    assert "a-very-long-environ>" in rows(lines), rows(lines)
    # 2e7 * 3 requests/s: 8 digits, scaled to fit its 7 columns, never cut
    assert re.fullmatch(r"[56][0-9]\.[0-9]M", lines[5].split()[4]), lines[5]
    assert "USER" not in lines[4]
    t.keys("Right", "Right", "Right", "Right", "Right", "Right", "Right")
    lines = t.wait_screen(lambda l: "cols <9-" in l[2], "scrolled right")
    assert lines[4].split()[0] == "ENVIRONMENT" and "USER" in lines[4] and "CPU%" in lines[4]
    assert max(len(x) for x in lines) <= 80
    t.keys("Left", "Left", "Left", "Left", "Left", "Left", "Left", "Left")
    t.wait_screen(lambda l: "cols 2-8/19>" in l[2] and "REQ/S" in l[4], "back to the left")


def test_tui_follows_restart_and_stop(fake, tmux_pstat):
    s = fake()
    t = tmux_pstat(s, "-d", "0.2")
    t.wait_screen(lambda l: "generation 1" in l[0] and len(rows(l)) == 3, "first server")
    s.restart()
    t.wait_screen(lambda l: "server restarted" in l[3] and "generation 2" in l[0],
                  "restart noticed")
    t.wait_screen(lambda l: len(rows(l)) == 3 and l[5].split()[4] != "-",
                  "rates of the new server")

    s.stop()                    # unlinks the segment
    t.wait_screen(lambda l: "no server running" in l[3] and rows(l) == [],
                  "stop noticed")
    assert t.alive()

    s2 = fake(names=["solo"])
    t.wait_screen(lambda l: rows(l) == ["solo"] and "server restarted" in l[3],
                  "new server followed")
    assert s2.proc.pid != s.proc.pid
    t.keys("q")
    wait_for(lambda: not t.alive(), what="pstat to quit")


def test_tui_waits_for_a_server(segdir, tmux_pstat, fake):
    class NoServer:
        path = os.path.join(segdir, "ph.shm")
    t = tmux_pstat(NoServer, "-d", "0.2")
    t.wait_screen(lambda l: "no server running" in l[3], "waiting screen")
    fake()
    t.wait_screen(lambda l: len(rows(l)) == 3, "server found")
