"""Two environments (alice, bob): who serves what, as a client sees it."""

import hashlib
import http.client
import os
import pwd
import re
import signal
import threading
import time

import pytest

import phtest
from phtest import RawConn, http_get, parse_id, vhost, wait_for

TWO_ENVS = """
Listen 127.0.0.1:@@PORT@@
User www-data
Group www-data
ThreadsPerChild 25
ThreadLimit 64
ServerLimit 16
MinMultiplexers 2
Timeout 10
KeepAlive On
KeepAliveTimeout 30
MaxKeepAliveRequests 100
""" + phtest.TWO_PROCESSORS + (
    vhost("alice.test", "alice", "alice")
    # a second vhost of alice's, for switching vhosts on one connection
    + vhost("alice2.test", "alice", "main")
    # bob's vhost maps a URL onto alice's private file
    + vhost("bob.test", "bob", "bob", "Alias /stolen.txt @@WWW@@/alice/secret.txt")
    # a vhost that no environment serves
    + vhost("orphan.test", None, "main"))


@pytest.fixture
def two_envs(servers, tree):
    port = phtest.free_port()
    srv = servers(TWO_ENVS, values={"PORT": port})
    srv.start(ready_hosts=["alice.test", "bob.test"], port=port)
    srv.port = port
    return srv


@pytest.mark.parametrize("env", ["alice", "bob"])
def test_cgi_runs_as_environment_user(two_envs, env_users, env):
    uid, gid = env_users[env]
    r = http_get(two_envs.port, f"{env}.test", "/cgi-bin/id.cgi")
    assert r.status == 200, r
    ids = parse_id(r.body)
    assert ids.get("uid") == uid and ids.get("ruid") == uid, r.body
    assert ids.get("gid") == gid and ids.get("rgid") == gid, r.body
    assert 0 not in ids.get("groups", [0]), f"root group among supplementary groups: {r.body!r}"


def test_lua_handler_runs_as_environment_user(two_envs, env_users):
    uid, gid = env_users["alice"]
    r = http_get(two_envs.port, "alice.test", "/id.lua")
    assert r.status == 200, r
    assert f"lua uid={uid} gid={gid}" in r.body.decode(), r.body


def test_server_status_auto_from_environment_vhost(two_envs):
    r = http_get(two_envs.port, "alice.test", "/server-status?auto")
    assert r.status == 200, r
    text = r.body.decode("latin-1")
    assert re.search(r"^ServerMPM: peruser_hybrid$", text, re.M), text[:2000]
    assert re.search(r"^Total Accesses: \d+", text, re.M), text[:2000]


def test_no_child_keeps_root_and_users_are_right(two_envs, env_users):
    """Children: exactly MinMultiplexers (2) as www-data, processors as alice
    and bob; no child holds uid 0 or gid 0 in any slot (real, effective,
    saved, fs) nor group 0 among its supplementary groups."""
    www = pwd.getpwnam("www-data").pw_uid
    alice, bob = env_users["alice"][0], env_users["bob"][0]

    def settled():
        kids = two_envs.children()
        by_uid = {}
        for pid, (uids, _gids) in kids.items():
            by_uid.setdefault(uids[1], []).append(pid)
        if len(by_uid.get(www, [])) == 2 and by_uid.get(alice) and by_uid.get(bob):
            return kids
        return None

    kids = wait_for(settled, 20, what="2 www-data multiplexers and alice/bob processors")
    for pid, (uids, gids) in kids.items():
        assert set(uids) in ({www}, {alice}, {bob}), f"pid {pid} uids {uids}"
        assert 0 not in gids, f"pid {pid} gids {gids}"
        groups = phtest.proc_groups(pid)
        assert groups is not None and 0 not in groups, f"pid {pid} supplementary groups {groups}"
        if uids[0] == alice:
            assert set(gids) == {env_users["alice"][1]}, f"pid {pid} gids {gids}"
        if uids[0] == bob:
            assert set(gids) == {env_users["bob"][1]}, f"pid {pid} gids {gids}"


def test_private_file_served_to_owner_refused_to_other(two_envs, tree, env_users):
    secret = tree["alice"] / "secret.txt"
    secret.write_text("alice's secret 7f3a\n")
    os.chown(secret, *env_users["alice"])
    os.chmod(secret, 0o600)

    r = http_get(two_envs.port, "alice.test", "/secret.txt")
    assert r.status == 200, r
    assert r.body == b"alice's secret 7f3a\n"

    r = http_get(two_envs.port, "bob.test", "/stolen.txt")
    assert r.status == 403, r
    assert b"7f3a" not in r.body


def test_ten_requests_on_one_keepalive_connection(two_envs, env_users):
    uid = env_users["alice"][0]
    conn = http.client.HTTPConnection("127.0.0.1", two_envs.port, timeout=phtest.IO_TIMEOUT)
    paths = ["/", "/small.txt", "/cgi-bin/id.cgi", "/id.lua", "/index.html"] * 2
    first_sock = None
    try:
        for i, path in enumerate(paths):
            conn.request("GET", path, headers={"Host": "alice.test"})
            resp = conn.getresponse()
            body = resp.read()
            assert resp.status == 200, (i, path, resp.status, body[:200])
            if path == "/cgi-bin/id.cgi":
                assert parse_id(body)["uid"] == uid, body
            if i == 0:
                first_sock = conn.sock
            assert conn.sock is not None and conn.sock is first_sock, \
                f"server closed the keep-alive connection after request {i + 1} ({path})"
    finally:
        conn.close()


def test_other_vhost_of_same_environment_on_keepalive_is_served(two_envs):
    with RawConn(two_envs.port) as c:
        r1 = c.request("alice.test", "/")
        r2 = c.request("alice2.test", "/")
        r3 = c.request("alice.test", "/")
    assert (r1.status, r2.status, r3.status) == (200, 200, 200)
    assert b"hello from alice" in r1.body and b"hello from alice" in r3.body
    assert b"hello from main" in r2.body


@pytest.mark.parametrize("first,second", [("alice", "bob"), ("bob", "alice")])
def test_other_environment_on_keepalive_is_handed_back(two_envs, env_users, first, second):
    """A kept-alive connection's request for another environment's vhost is
    not read by the processor that holds the connection: it goes back to a
    multiplexer, unread, and is served by that environment's own user on
    the same client connection, as stock serves it; and so back again."""
    with RawConn(two_envs.port) as c:
        r1 = c.request(f"{first}.test", "/")
        r2 = c.request(f"{second}.test", "/cgi-bin/id.cgi")
        r3 = c.request(f"{first}.test", "/cgi-bin/id.cgi")
    assert r1.status == 200 and f"hello from {first}".encode() in r1.body, r1
    assert r2.status == 200 and parse_id(r2.body)["uid"] == env_users[second][0], r2
    assert r3.status == 200 and parse_id(r3.body)["uid"] == env_users[first][0], r3


def test_vhost_without_environment_gets_503_and_rate_limited_lines(two_envs):
    """Nobody may answer for a vhost without environment: 503 from the
    multiplexer.  PH00301 says so once at start; PH00366 says who asks for
    it -- the vhost, the Host as sent and the client -- at most once per
    multiplexer per 10 s, whatever the number of requests."""
    for i in range(5):
        r = http_get(two_envs.port, "orphan.test", "/", extra=f"X-N: {i}\r\n")
        assert r.status == 503, r
        assert b"hello from main" not in r.body
    # other environments keep working
    assert http_get(two_envs.port, "alice.test", "/").status == 200
    start = two_envs.log_lines(r"PH00301: .*orphan\.test")
    assert len(start) == 1, start
    notes = wait_for(lambda: two_envs.log_lines(r"PH00366: "), 10, what="PH00366")
    assert re.search(r"PH00366: 1 connection\(s\) refused .* virtual host orphan\.test, "
                     r'Host "orphan\.test", client 127\.0\.0\.1$', notes[0]), notes
    muxes = len([c for c in two_envs.children()
                 if phtest.proc_uids(c) and phtest.proc_uids(c)[0][1] ==
                 pwd.getpwnam("www-data").pw_uid])
    assert 1 <= len(two_envs.log_lines(r"PH00366: ")) <= max(muxes, 1), notes
    lines = two_envs.log_lines(r"orphan\.test")
    assert len(lines) == len(start) + len(two_envs.log_lines(r"PH00366: ")), lines


def _ab(port, host, extra):
    args = ["ab", "-q", "-r", "-s", "30", "-n", "2000", "-c", "200", *extra,
            "-H", f"Host: {host}", f"http://127.0.0.1:{port}/small.txt"]
    res = phtest.run_tool(args, timeout=180)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert re.search(r"^Complete requests:\s+2000$", out, re.M), out
    assert re.search(r"^Failed requests:\s+0$", out, re.M), out
    assert "Non-2xx responses" not in out, out
    return out


@pytest.mark.parametrize("keepalive", [True, False], ids=["keepalive", "close"])
def test_200_concurrent_clients_ab(two_envs, keepalive):
    out = _ab(two_envs.port, "alice.test", ["-k"] if keepalive else [])
    if keepalive:
        m = re.search(r"^Keep-Alive requests:\s+(\d+)$", out, re.M)
        assert m and int(m.group(1)) > 0, out


def test_200_concurrent_clients_wrk_both_envs(two_envs):
    procs = []
    for host in ("alice.test", "bob.test"):
        args = ["wrk", "-t1", "-c100", "-d3s", "--timeout", "10s", "-H", f"Host: {host}",
                f"http://127.0.0.1:{two_envs.port}/small.txt"]
        procs.append(phtest.run_tool_async(args))
    for p in procs:
        out = phtest.finish_tool(p, timeout=60)
        assert p.returncode == 0, out
        assert "Socket errors" not in out, out
        assert "Non-2xx or 3xx responses" not in out, out
        m = re.search(r"(\d+) requests in", out)
        assert m and int(m.group(1)) > 100, out


def test_pipelined_request_for_other_environment_gets_421(two_envs):
    """alice's request and bob's request in one write: alice's is served,
    bob's is never served by alice's processor."""
    data = (b"GET / HTTP/1.1\r\nHost: alice.test\r\n\r\n"
            b"GET /cgi-bin/id.cgi HTTP/1.1\r\nHost: bob.test\r\n\r\n")
    with RawConn(two_envs.port) as c:
        c.send(data)
        r1 = c.read_response()
        r2 = c.read_response()
        c.wait_closed(5)
    assert r1.status == 200 and b"hello from alice" in r1.body, r1
    assert r2.status == 421, r2
    assert b"uid=" not in r2.body


@pytest.mark.parametrize("expect", [False, True], ids=["plain", "expect-100"])
def test_post_body_reaches_cgi_intact(two_envs, env_users, expect):
    body = os.urandom(300_000)
    want = hashlib.md5(body).hexdigest()
    head = (f"POST /cgi-bin/md5.cgi HTTP/1.1\r\nHost: bob.test\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {len(body)}\r\n")
    with RawConn(two_envs.port) as c:
        if expect:
            c.send(head + "Expect: 100-continue\r\n\r\n")
            interim = c.read_response(head_only=True)
            assert interim.status == 100, interim
        else:
            c.send(head + "\r\n")
        c.send(body)
        r = c.read_response()
        # and the connection is still usable afterwards
        r2 = c.request("bob.test", "/small.txt")
    assert r.status == 200, r
    text = r.body.decode()
    assert f"md5={want}" in text and f"uid={env_users['bob'][0]}" in text, text
    assert r2.status == 200 and r2.body == b"x" * 99 + b"\n"


def test_large_file_then_more_requests_on_keepalive(two_envs, tree):
    data = os.urandom(5 * 1024 * 1024)
    big = tree["alice"] / "big.bin"
    big.write_bytes(data)
    big.chmod(0o644)
    with RawConn(two_envs.port, timeout=30) as c:
        for _ in range(3):
            r = c.request("alice.test", "/big.bin")
            assert r.status == 200, r
            assert hashlib.md5(r.body).hexdigest() == hashlib.md5(data).hexdigest()
        assert c.request("alice.test", "/small.txt").status == 200


def test_killed_processors_are_replaced(two_envs, env_users):
    alice, bob = env_users["alice"][0], env_users["bob"][0]

    def alice_pids():
        return [pid for pid, (uids, _g) in two_envs.children().items() if uids[1] == alice]

    victims = wait_for(alice_pids, 10, what="alice's processors")
    victim_st = {pid: phtest.proc_starttime(pid) for pid in victims}
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not [p for p in victims if phtest.pid_alive(p, victim_st[p])], 10,
             what="killed processors to be gone")
    # bob is not affected meanwhile
    t0 = time.monotonic()
    r = http_get(two_envs.port, "bob.test", "/cgi-bin/id.cgi")
    assert r.status == 200 and parse_id(r.body)["uid"] == bob, r
    assert time.monotonic() - t0 < 2

    def alice_served():
        try:
            r = http_get(two_envs.port, "alice.test", "/cgi-bin/id.cgi", timeout=10)
        except (OSError, phtest.ConnectionClosed):
            return None
        return r if r.status == 200 else None

    r = wait_for(alice_served, 30, what="alice.test to be served again")
    assert parse_id(r.body)["uid"] == alice, r.body
    assert not set(alice_pids()) & set(victims)
    assert phtest.pid_alive(two_envs.parent_pid, two_envs.parent_start)


@pytest.mark.parametrize("second", [
    b"GET http://bob.test/cgi-bin/id.cgi HTTP/1.1\r\nHost: alice.test\r\n\r\n",
    b"GET /cgi-bin/id.cgi HTTP/1.1\r\nHost: BOB.TEST.\r\n\r\n",
    b"GET /cgi-bin/id.cgi HTTP/1.1\r\nHost: bob.test:@@PORT@@\r\n\r\n",
], ids=["absolute-uri", "host-case-dot", "host-port"])
def test_other_environment_in_disguise_is_bobs(two_envs, env_users, second):
    """Spellings of bob's vhost that httpd resolves to bob, on a connection
    alice's environment serves: alice's processor sees them for bob's (it
    hands the connection back) and bob's own user serves them."""
    with RawConn(two_envs.port) as c:
        assert c.request("alice.test", "/").status == 200
        c.send(second.replace(b"@@PORT@@", str(two_envs.port).encode()))
        r = c.read_response()
    assert r.status == 200 and parse_id(r.body)["uid"] == env_users["bob"][0], r


def test_vhost_without_environment_on_keepalive_is_not_served(two_envs):
    """orphan.test (no environment) asked on a connection alice serves: it
    must not be served by alice's processor (421 or 503, never its page)."""
    with RawConn(two_envs.port) as c:
        assert c.request("alice.test", "/").status == 200
        r = c.request("orphan.test", "/")
    assert r.status in (421, 503), r
    assert b"hello from main" not in r.body


def test_saturated_environment_does_not_delay_another(two_envs, tree, env_users):
    """30 requests hold all 25 of alice's workers (5 more wait); bob is
    still served at once; once released, every alice request succeeds."""
    cgi, gate = phtest.gated_cgi(tree["alice"])
    results = []
    lock = threading.Lock()

    def client():
        try:
            r = http_get(two_envs.port, "alice.test", "/cgi-bin/gated.cgi", timeout=40)
        except Exception as exc:  # reported below
            r = exc
        with lock:
            results.append(r)

    threads = [threading.Thread(target=client) for _ in range(30)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: len(phtest.pids_with_cmdline(str(cgi))) >= 25, 20,
                 what="25 gated CGIs running (all of alice's workers busy)")
        for _ in range(3):
            t0 = time.monotonic()
            r = http_get(two_envs.port, "bob.test", "/cgi-bin/id.cgi", timeout=10)
            took = time.monotonic() - t0
            assert r.status == 200 and parse_id(r.body)["uid"] == env_users["bob"][0], r
            assert took < 1.0, f"bob.test took {took:.2f}s while alice is saturated"
    finally:
        gate.unlink()
        for t in threads:
            t.join(60)
    assert not any(t.is_alive() for t in threads)
    bad = [r for r in results if not (isinstance(r, phtest.RawResponse) and r.status == 200)]
    assert not bad, bad[:5]
    assert len(results) == 30
