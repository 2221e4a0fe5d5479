"""A hostile tenant (issue 8): code inside alice's processor attacks.

tests/hostile/mod_ph_hostile.c, built by `make hostile` (the hostile_module
fixture) and loaded by these servers only, runs an attack from inside
alice's processor when asked through /attack on alice's vhost (see the
top of that file for the modes).  After each attack, as a user would see
it:

  - bob keeps answering 200 as bob, also from processors started after the
    attack (its old ones are SIGKILLed, so the root parent must reap and
    spawn through whatever the attacker wrote);
  - every child of the parent runs as www-data, alice or bob, with their
    own groups, never uid or gid 0;
  - the parent's copies of every environment's uid and gid (read as root
    through /proc/<parent>/mem, at the addresses the module reports for
    the memory it was forked with) are unchanged;
  - the parent and the multiplexers are the same processes, and no process
    but alice's died of a signal;
  - a graceful restart heals alice: she answers 200 as herself again.

The report of each attack is printed (pytest shows it on failure).
"""

import grp
import os
import pwd
import re
import signal
import struct
import threading

import pytest

import phtest
from phtest import http_get, parse_id, vhost, wait_for

CONF = """
Listen 127.0.0.1:@@PORT@@
User www-data
Group www-data
ThreadsPerChild 4
ThreadLimit 64
ServerLimit 16
MinMultiplexers 2
Timeout 10
KeepAlive On
KeepAliveTimeout 5
ProcessorImage @@IMAGE@@
LoadModule ph_hostile_module @@HOSTILE@@
PhHostileSegmentPrefix @@TMP@@/run/peruser_hybrid
""" + phtest.TWO_PROCESSORS + (
    vhost("alice.test", "alice", "alice",
          "<Location /attack>", "    SetHandler ph-hostile", "</Location>")
    + vhost("bob.test", "bob", "bob"))

# How many requests bob must answer before, and after, his processors are
# replaced.
BOB_REQUESTS = 5

# Attack modes (query strings of /attack on alice.test).
ATTACKS = {
    "segment-own": "mode=segment&scope=own&own=alice",
    "segment-all-pattern": "mode=segment&scope=all&fill=pattern&own=alice",
    "segment-all-random": "mode=segment&scope=all&fill=random&own=alice",
    "layout": "mode=layout&own=alice",
    "aim-parent-ids": "mode=aim&own=alice",
    "scoreboard": "mode=scoreboard",
}

CRASH_RE = re.compile(r"child pid (\d+) exit signal ([A-Za-z ]+)")


def parse_report(body):
    out = {}
    for line in body.decode("latin-1").splitlines():
        k, sep, v = line.partition("=")
        if sep:
            out[k] = v
    return out


def read_u32(pid, addr):
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as f:
        f.seek(addr)
        return struct.unpack("<I", f.read(4))[0]


class Census:
    """Every child of the server seen so far: pid -> effective uid."""

    def __init__(self, srv):
        self.srv = srv
        self.seen = {}

    def take(self):
        kids = {}
        for pid, (uids, gids) in self.srv.children().items():
            if phtest.proc_ppid(pid) == self.srv.parent_pid:
                kids[pid] = (uids, gids)
                self.seen.setdefault(pid, uids[1])
        return kids


@pytest.fixture(scope="session")
def hostile_module():
    res = phtest.run_tool(["make", "-s", "-C", str(phtest.REPO), "hostile"], timeout=300)
    path = phtest.REPO / "build" / "out" / "mod_ph_hostile.so"
    if res.returncode != 0 or not path.exists():
        pytest.fail(f"`make hostile` failed (rc={res.returncode}):\n"
                    f"{res.stdout[-2000:]}{res.stderr[-4000:]}", pytrace=False)
    return path


def start(servers, hostile_module, image="exec", conf=CONF):
    port = phtest.free_port()
    srv = servers(conf, values={"PORT": port, "HOSTILE": hostile_module,
                                "IMAGE": image})
    srv.start(ready_hosts=["alice.test", "bob.test"], port=port)
    srv.port = port
    return srv


def processors_of(census, uid):
    return sorted(pid for pid, (uids, _g) in census.take().items() if uids[1] == uid)


def wait_processor(census, uid, what):
    return wait_for(lambda: processors_of(census, uid), 30, what=what)


def assert_answers_as(srv, env, env_users, n=1):
    uid, gid = env_users[env]
    for i in range(n):
        r = http_get(srv.port, f"{env}.test", "/cgi-bin/id.cgi")
        assert r.status == 200, f"{env}, request {i + 1} of {n}: {r}"
        ids = parse_id(r.body)
        assert (ids.get("uid"), ids.get("gid")) == (uid, gid), \
            f"{env}'s CGI ran as {r.body!r}, expected uid={uid} gid={gid}"


def origin_of_alice(srv, image):
    """The process alice's processors are forked from, whose memory they
    start as a copy of: the parent (ProcessorImage fork) or alice's
    factory (exec)."""
    if image == "fork":
        return srv.parent_pid
    return wait_for(lambda: srv.factory_of("alice"), 30, what="alice's factory")


def parent_ids(srv, image):
    """{env: (uid_addr, gid_addr)} of the copies in the process alice's
    processor was forked from (so at the same addresses), as the module
    reports them.  With ProcessorImage exec that is alice's factory, whose
    file holds no other environment's <Processor> block (issue 13): no
    copy of bob's account is there at all."""
    r = http_get(srv.port, "alice.test", "/attack?mode=whereis")
    assert r.status == 200, r
    rep = parse_report(r.body)
    out = {}
    for env in phtest.ENV_USERS if image == "fork" else ("alice",):
        assert f"env.{env}.uid_addr" in rep, f"whereis report: {r.body!r}"
        out[env] = (int(rep[f"env.{env}.uid_addr"], 16), int(rep[f"env.{env}.gid_addr"], 16))
    if image == "exec":
        assert not [k for k in rep if k.startswith("env.") and not k.startswith("env.alice.")], \
            f"alice's factory knows another environment: {r.body!r}"
    return out


def read_parent_ids(pid, where):
    return {env: (read_u32(pid, u), read_u32(pid, g))
            for env, (u, g) in where.items()}


def assert_children_accounts(census, env_users, www):
    allowed = {www: www_gid(), **{u: g for u, g in env_users.values()}}
    for pid, (uids, gids) in census.take().items():
        assert len(set(uids)) == 1 and uids[0] in allowed, f"child {pid} uids {uids}"
        assert set(gids) == {allowed[uids[0]]}, f"child {pid} uid {uids[0]} gids {gids}"


def www_gid():
    return grp.getgrnam("www-data").gr_gid


def www_uid():
    return pwd.getpwnam("www-data").pw_uid


class Checks:
    """Soft assertions: every check of a test runs, and the failure lists
    all that broke (an attack usually breaks several things at once)."""

    def __init__(self):
        self.failed = []

    def check(self, what, fn, *args):
        try:
            fn(*args)
        except (AssertionError, OSError, phtest.ConnectionClosed, ValueError) as exc:
            self.failed.append(f"{what}: {exc}")

    def done(self):
        assert not self.failed, "\n".join(self.failed)


def bob_under_load(srv, census, tree, env_users, old_bob):
    """6 requests held by bob's gated CGI: 4 fill his 4-thread processor,
    then 2 more need a second processor (a new slot); every request
    answers 200 as bob once the gate opens.  The 2 are sent only once the
    4 CGIs run: sent together, all 6 may be handed to the first processor
    while it still counts idle workers (AsyncRequestWorkerFactor), as
    stock event's listener would take them, and no second one is needed."""
    bob_uid = env_users["bob"][0]
    cgi, gate = phtest.gated_cgi(tree["bob"])
    results = []
    lock = threading.Lock()

    def one():
        try:
            r = http_get(srv.port, "bob.test", "/cgi-bin/gated.cgi", timeout=60)
        except Exception as exc:  # reported below
            r = exc
        with lock:
            results.append(r)

    threads = [threading.Thread(target=one) for _ in range(6)]
    try:
        for t in threads[:4]:
            t.start()
        wait_for(lambda: len(phtest.pids_with_cmdline(str(cgi))) >= 4, 30,
                 what="4 of bob's CGIs running (his processor's 4 workers busy)")
        for t in threads[4:]:
            t.start()
        wait_for(lambda: len([p for p in processors_of(census, bob_uid)
                              if p not in old_bob]) >= 1
                 and len(processors_of(census, bob_uid)) >= 2, 30,
                 what="a second processor of bob for 6 held requests")
    finally:
        gate.unlink()
        for t in threads:
            if t.is_alive() or t.ident is not None:
                t.join(90)
    bad = [r for r in results if not (isinstance(r, phtest.RawResponse) and r.status == 200
                                      and f"uid={bob_uid}".encode() in r.body)]
    assert len(results) == 6 and not bad, f"bob's held requests: {results}"


@pytest.mark.parametrize("image", ["exec", "fork"])
@pytest.mark.parametrize("attack", list(ATTACKS))
def test_attack_from_alice_leaves_bob_parent_and_muxes_intact(
        servers, tree, env_users, hostile_module, attack, image):
    srv = start(servers, hostile_module, image)
    census = Census(srv)
    www = www_uid()
    alice_uid, bob_uid = env_users["alice"][0], env_users["bob"][0]
    muxes = wait_for(lambda: len(processors_of(census, www)) == 2
                     and processors_of(census, www), 30, what="2 multiplexers")
    mux_start = {pid: phtest.proc_starttime(pid) for pid in muxes}
    wait_processor(census, bob_uid, "a processor of bob")

    # The canary: the own copies of every environment's uid/gid of the
    # root process alice's processor was forked from (the parent, or with
    # ProcessorImage exec alice's factory).
    origin = origin_of_alice(srv, image)
    where = parent_ids(srv, image)
    expected = {env: env_users[env] for env in where}
    assert read_parent_ids(origin, where) == expected, \
        "harness: the addresses whereis reported do not hold the uids/gids in the parent"

    # The attack, from inside alice's processor.
    try:
        r = http_get(srv.port, "alice.test", "/attack?" + ATTACKS[attack], timeout=60)
        print(f"attack {attack}: {r.status}\n{r.body.decode('latin-1')}")
        report = parse_report(r.body) if r.status == 200 else {}
    except (OSError, phtest.ConnectionClosed) as exc:
        print(f"attack {attack}: no answer ({exc!r})")
        report = {}
    # An attack that could not be made must not pass as one that failed
    # (no answer at all is fine: the attacker may have died of it).
    errors = {k: v for k, v in report.items() if k.endswith("error")}
    assert not errors, f"the hostile module could not attack: {errors}"
    if report and attack != "scoreboard":
        assert int(report.get("mappings", 0)) > 0, \
            f"no mapping of the segment matched PhHostileSegmentPrefix: {report}"
    if attack == "segment-own":
        # The control: it must have run to the end.
        assert report.get("done") == "1", report
    alice_pids = {p for p, u in census.seen.items() if u == alice_uid}
    # a crash of alice's own processes under a sanitizer is the attack's
    srv.sanitizer_ignore_pids |= alice_pids

    def canary():
        got = read_parent_ids(origin, where)
        assert got == expected, f"the parent's uid/gid copies are now {got}, not {expected}"

    c = Checks()
    if report and attack.startswith("segment-all"):
        # mremap growth of every mapping of the segment: a longer copy of
        # a writable mapping must reach only past the end of its file
        # (each writer's unit is its own file), never another writer's
        # bytes.
        def no_growth_written():
            tried = [k for k in report if k.endswith(".mremap")]
            assert tried, f"the module tried no mremap growth: {report}"
            grown = {k: v for k, v in report.items()
                     if k.endswith(".mremap_pages_written") and v != "0"}
            assert not grown, ("alice wrote through an mremap-grown mapping "
                               f"of the segment: {grown}")
        c.check("mremap growth", no_growth_written)
    # bob answers as bob from the processors he had ...
    c.check("bob after the attack", assert_answers_as, srv, "bob", env_users, BOB_REQUESTS)
    c.check("parent memory, soon after the attack", canary)
    # ... from one more, which needs a free slot and a spawn ...
    old_bob = {p for p, u in census.seen.items() if u == bob_uid}
    c.check("bob under load", bob_under_load, srv, census, tree, env_users, old_bob)
    # ... and from new ones after the parent reaped both tenants'
    # processors (through what the attacker wrote) and spawned again.
    old = {p for p, u in census.seen.items() if u in (alice_uid, bob_uid)}
    for pid in old:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    c.check("bob after his processors were killed", assert_answers_as, srv, "bob",
            env_users, BOB_REQUESTS)
    c.check("a new processor of bob", wait_for,
            lambda: [p for p in processors_of(census, bob_uid) if p not in old], 30)
    c.check("children's accounts", assert_children_accounts, census, env_users, www)

    # The parent's memory: still unchanged, after all it did since.
    c.check("parent memory", canary)

    # Nothing but alice's own processes crashed; parent and muxes live on.
    def alive():
        assert phtest.pid_alive(srv.parent_pid, srv.parent_start), "the parent died"
        dead = [pid for pid, st in mux_start.items() if not phtest.pid_alive(pid, st)]
        assert not dead, f"multiplexers {dead} died"
    c.check("parent and multiplexers", alive)

    def no_foreign_crash():
        alice_pids.update(p for p, u in census.seen.items() if u == alice_uid)
        crashes = [(int(pid), sig) for pid, sig in CRASH_RE.findall(srv.log_text())
                   if sig.strip() != "Killed"]
        foreign = [(pid, sig) for pid, sig in crashes if pid not in alice_pids]
        assert not foreign, f"processes other than alice's died of a signal: {foreign}"
    c.check("crashes", no_foreign_crash)

    # A graceful restart heals alice.
    def healed():
        res = srv.apache("-k", "graceful")
        assert res.returncode == 0, res.stderr

        def alice_served():
            try:
                r = http_get(srv.port, "alice.test", "/cgi-bin/id.cgi", timeout=5)
            except (OSError, phtest.ConnectionClosed):
                return None
            return r.status == 200 and parse_id(r.body).get("uid") == alice_uid
        wait_for(alice_served, 60, what="alice to answer 200 as alice after a graceful restart")
        assert_answers_as(srv, "alice", env_users, 3)
        assert_answers_as(srv, "bob", env_users, 3)
    if phtest.pid_alive(srv.parent_pid, srv.parent_start):
        c.check("graceful restart", healed)
    def parent_alive():
        # (the restart replaces the multiplexers: only the parent stays)
        assert phtest.pid_alive(srv.parent_pid, srv.parent_start), "the parent died"
    c.check("parent after the restart", parent_alive)
    srv.sanitizer_ignore_pids |= {p for p, u in census.seen.items() if u == alice_uid}
    c.done()


def test_alice_hands_back_her_own_connection_from_an_unlisted_client(
        servers, tree, env_users, hostile_module):
    """HandBackFrom none: alice's processor hands back the connection of
    the request it is answering -- a real connection the listeners
    accepted, as a processor that stopped reading in the middle of what
    its client sent would (handback_from.h) -- on every doorbell.  Every
    multiplexer that reads it refuses it (PH00311: its client is not a
    HandBackFrom address) and routes nothing from it; alice's answer still
    arrives, and bob is served as before."""
    srv = start(servers, hostile_module,
                conf=CONF.replace("KeepAliveTimeout 5\n",
                                  "KeepAliveTimeout 5\nHandBackFrom none\n"))
    r = http_get(srv.port, "alice.test", "/attack?mode=handself")
    assert r.status == 200, r
    rep = parse_report(r.body)
    print(r.body.decode("latin-1"))
    assert int(rep.get("handself.sent", 0)) >= 1, rep
    refused = wait_for(lambda: srv.log_lines(r"PH00311: \d+ descriptor\(s\) a processor "
                                             r"handed back were not .* HandBackFrom")
                       or None, 15, what="a multiplexer's PH00311")
    print("\n".join(refused))
    assert_answers_as(srv, "bob", env_users, n=2)
    assert_answers_as(srv, "alice", env_users, n=1)


def test_alice_cannot_signal_server_or_bob(servers, tree, env_users, hostile_module):
    """Report-only modes: from alice's processor, kill(pid, 0) reaches no
    process of the server but alice's own, and it holds no listening
    socket; the descriptors it holds are printed for the record."""
    srv = start(servers, hostile_module)
    census = Census(srv)
    alice_uid = env_users["alice"][0]
    wait_processor(census, env_users["bob"][0], "a processor of bob")

    r = http_get(srv.port, "alice.test", "/attack?mode=fds")
    assert r.status == 200, r
    print(r.body.decode("latin-1"))
    fds = {k: v for k, v in parse_report(r.body).items() if re.fullmatch(r"fd\.\d+", k)}
    assert fds, f"the module listed no descriptor: {r.body!r}"
    listeners = {k: v for k, v in fds.items() if v.startswith("listener ")}
    assert not listeners, f"alice's processor holds listening sockets: {listeners}"

    r = http_get(srv.port, "alice.test", "/attack?mode=signals")
    assert r.status == 200, r
    print(r.body.decode("latin-1"))
    rep = parse_report(r.body)
    census.take()
    reached = [int(k[4:]) for k, v in rep.items()
               if re.fullmatch(r"sig\.\d+", k) and v == "ok"]
    assert srv.parent_pid in [int(k[4:]) for k in rep if re.fullmatch(r"sig\.\d+", k)], \
        f"the module did not find the parent: {rep}"
    wrong = [pid for pid in reached
             if pid == srv.parent_pid or census.seen.get(pid, alice_uid) != alice_uid]
    assert not wrong, f"alice's processor can signal {wrong} (parent {srv.parent_pid})"


@pytest.mark.parametrize("image", ["exec", "fork"])
def test_alice_hands_back_what_is_not_a_connection(servers, tree, env_users,
                                                  hostile_module, image):
    """alice's processor sends, on every doorbell it holds, a hand-back
    (doorbell.h) of what it can make: the client end of a connection it
    opened to the server's own listener, a socketpair end, a UDP socket,
    a message with two descriptors, and messages of no byte with a socket
    each.  The multiplexers refuse each (PH00311 for the single ones),
    close every descriptor that came (their descriptor counts come back),
    stay up, and everyone is served as before.  (The connection alice opened is an ordinary loopback client
    of the server, served as such: no more than she could do anyway.)
    She can read none of the doorbells (a ring end reads end-of-file):
    what another tenant's processor hands back is not hers to take, with
    processors forked from the parent (ProcessorImage fork) too."""
    srv = start(servers, hostile_module, image)
    census = Census(srv)
    www = pwd.getpwnam("www-data").pw_uid
    muxes = wait_processor(census, www, "the multiplexers")
    mux_start = {pid: phtest.proc_starttime(pid) for pid in muxes}
    mux_fds = {pid: len(os.listdir(f"/proc/{pid}/fd")) for pid in muxes}
    r = http_get(srv.port, "alice.test",
                 f"/attack?mode=handback&port={srv.port}&host=bob.test")
    assert r.status == 200, r
    rep = parse_report(r.body)
    print(r.body.decode("latin-1"))
    assert int(rep.get("handback.sockets", 0)) >= 1, rep    # the doorbells
    assert int(rep.get("handback.sent", 0)) >= 3, rep
    # what she can read: her own environment's channel and answer channel
    # (receive ends, one-way SEQPACKET sockets as the doorbells); any
    # more would be a doorbell's watch end
    assert 0 <= int(rep.get("handback.readable", -1)) <= 2, rep
    assert int(rep.get("handback.empty_sent", 0)) >= 40, rep
    refused = wait_for(lambda: srv.log_lines(r"PH00311: \d+ descriptor\(s\) a processor "
                                             r"handed back were not") or None,
                       15, what="the multiplexers' PH00311 lines")
    print("\n".join(refused))
    # said at most once per multiplexer (per 10 s), however many came
    assert len(refused) <= len(mux_start), refused
    assert_answers_as(srv, "bob", env_users, n=3)
    assert_answers_as(srv, "alice", env_users, n=3)
    dead = [pid for pid, st in mux_start.items() if not phtest.pid_alive(pid, st)]
    assert not dead, f"multiplexers went: {dead}"

    def fds_back():
        grown = {pid: len(os.listdir(f"/proc/{pid}/fd")) - n
                 for pid, n in mux_fds.items()}
        return grown if all(g < 10 for g in grown.values()) else None
    wait_for(fds_back, 15, interval=0.2,
             what="the multiplexers' descriptor counts back (nothing kept of what came)")
    assert phtest.pid_alive(srv.parent_pid, srv.parent_start)
