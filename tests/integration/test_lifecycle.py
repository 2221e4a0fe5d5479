"""Start-up, -V, refusals at start-up, stop / graceful-stop / graceful."""

import os
import pwd
import re
import socket
import threading

import pytest

import phtest
from phtest import http_get, parse_id, vhost, wait_for

BASE = """
Listen 127.0.0.1:@@PORT@@
User www-data
Group www-data
ThreadsPerChild 8
ThreadLimit 64
ServerLimit 16
MinMultiplexers 2
Timeout 10
"""

TWO_ENVS = (BASE + phtest.TWO_PROCESSORS
            + vhost("alice.test", "alice", "alice")
            + vhost("bob.test", "bob", "bob"))

# No <Processor> and no ServerEnvironment at all.
NO_PROCESSOR = (BASE
                + vhost("alice.test", None, "alice")
                + vhost("bob.test", None, "bob"))

BAD_ENV = BASE + """
<Processor good>
    User alice
    Group alice
</Processor>
<Processor @@ENV@@>
    User @@USER@@
    Group @@GROUP@@
</Processor>
""" + (vhost("alice.test", "good", "alice")
       + vhost("bad.test", "@@ENV@@", "bob"))

def start_two_envs(servers):
    port = phtest.free_port()
    srv = servers(TWO_ENVS, values={"PORT": port})
    srv.start(ready_hosts=["alice.test", "bob.test"], port=port)
    srv.port = port
    return srv


def port_closed(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return False
    except OSError:
        return True


def test_dash_V_reports_mpm(servers, tree):
    srv = servers(TWO_ENVS, values={"PORT": phtest.free_port()})
    res = srv.apache("-V")
    assert res.returncode == 0, res.stderr
    assert re.search(r"^Server MPM:\s+peruser_hybrid\s*$", res.stdout, re.M), res.stdout
    assert re.search(r"^\s*threaded:\s+yes", res.stdout, re.M), res.stdout


def test_config_test_accepts_config(servers, tree):
    srv = servers(TWO_ENVS, values={"PORT": phtest.free_port()})
    res = srv.apache("-t")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Syntax OK" in res.stdout + res.stderr


@pytest.mark.parametrize("how", ["stop", "graceful-stop"])
def test_stop_leaves_no_process(servers, tree, how):
    srv = start_two_envs(servers)
    assert http_get(srv.port, "alice.test", "/cgi-bin/id.cgi").status == 200
    pids = srv.record_processes()
    assert len(pids) >= 5, f"expected parent + 2 multiplexers + 2 processors, saw {pids}"
    srv.stop(how)  # raises (after SIGKILLing) if any process remains
    assert not phtest.pid_alive(srv.parent_pid, srv.parent_start)
    wait_for(lambda: port_closed(srv.port), 10, what="the port to stop accepting")


def test_graceful_stop_finishes_request_in_flight(servers, tree, env_users):
    cgi, gate = phtest.gated_cgi(tree["alice"])
    srv = start_two_envs(servers)
    result = {}

    def client():
        try:
            result["r"] = http_get(srv.port, "alice.test", "/cgi-bin/gated.cgi", timeout=30)
        except Exception as exc:  # reported below
            result["exc"] = exc

    t = threading.Thread(target=client)
    t.start()
    try:
        # the request is in flight once gated.cgi runs
        wait_for(lambda: phtest.pids_with_cmdline(str(cgi)), 10, what="gated.cgi to run")
        srv.record_processes()
        res = srv.apache("-k", "graceful-stop")
        assert res.returncode == 0, res.stderr
        # new connections stop being accepted while the request is in flight
        wait_for(lambda: port_closed(srv.port), 10, what="listener to close on graceful-stop")
        gate.unlink()
    finally:
        if gate.exists():
            gate.unlink()
        t.join(40)
    assert not t.is_alive()
    assert "exc" not in result, result.get("exc")
    r = result["r"]
    assert r.status == 200, r
    assert f"gated done uid={env_users['alice'][0]}".encode() in r.body
    assert srv.wait_gone(), f"processes left after graceful-stop: {srv.leftovers()}"
    srv.stopped = True


def test_no_processor_block_serves_as_server_user(servers, tree):
    port = phtest.free_port()
    srv = servers(NO_PROCESSOR, values={"PORT": port})
    srv.start(ready_hosts=["alice.test", "bob.test"], port=port)
    www = pwd.getpwnam("www-data")
    for host in ("alice.test", "bob.test"):
        r = http_get(port, host, "/cgi-bin/id.cgi")
        assert r.status == 200, r
        ids = parse_id(r.body)
        assert (ids["uid"], ids["gid"]) == (www.pw_uid, www.pw_gid), r.body
    r = http_get(port, "bob.test", "/")
    assert r.status == 200 and b"hello from bob" in r.body, r


@pytest.mark.parametrize("user,group", [
    ("root", "root"),
    ("ph_no_such_user", "alice"),
    ("alice", "ph_no_such_group"),
], ids=["root", "unknown-user", "unknown-group"])
def test_bad_environment_refused_at_startup(servers, tree, user, group):
    port = phtest.free_port()
    srv = servers(BAD_ENV, values={"PORT": port, "ENV": "badenv", "USER": user, "GROUP": group})
    res = srv.apache("-k", "start")
    # Whatever was started must go away by itself.
    gone = srv.wait_gone()
    text = res.stdout + res.stderr + srv.log_text()
    assert res.returncode != 0, f"apache2 -k start accepted it (rc 0):\n{text}"
    assert gone, f"processes remain: {srv.leftovers()}"
    lines = [ln for ln in text.splitlines() if "<Processor" in ln and "badenv" in ln]
    assert lines, f"no message naming <Processor badenv>:\n{text}"
    assert port_closed(port)


@pytest.mark.parametrize("how", ["stop", "graceful-stop"])
def test_stop_with_idle_and_silent_connections_open(servers, tree, how):
    """Idle keep-alive connections (after a request) and connections that
    never sent anything must not keep the server from stopping; the idle
    keep-alive connections are closed.  (A silent connection may still sit
    in the kernel's TCP_DEFER_ACCEPT queue, never accepted: stock httpd
    leaves those to the kernel too, so they are only held open here.)"""
    srv = start_two_envs(servers)
    idle, silent = [], []
    try:
        for i in range(20):
            c = phtest.RawConn(srv.port)
            if i % 4:
                idle.append(c)
                host = "alice.test" if i % 2 else "bob.test"
                assert c.request(host, "/small.txt").status == 200
            else:
                silent.append(c)
        srv.stop(how, timeout=20)  # raises if anything remains after 20 s
        for c in idle:
            c.wait_closed(5)
    finally:
        for c in idle + silent:
            c.close()


def assert_envs_served(srv, env_users):
    """Both environments answer, each CGI as its own user."""
    for env in ("alice", "bob"):
        srv.wait_ready(srv.port, f"{env}.test")
        r = http_get(srv.port, f"{env}.test", "/cgi-bin/id.cgi")
        assert r.status == 200 and parse_id(r.body)["uid"] == env_users[env][0], r


def _settled_generation(srv, env_users):
    """Children once the old generation is gone: 2 multiplexers, 1 processor
    per environment (MinProcessors 1)."""
    www = pwd.getpwnam("www-data").pw_uid
    want = sorted([www, www, env_users["alice"][0], env_users["bob"][0]])

    def settled():
        kids = srv.children()
        # and one processor factory per environment: the old generation's
        # go once their last processor has (the parent then closes their
        # control sockets)
        if len(srv.factories()) != 2:
            return None
        return kids if sorted(u[1] for u, _g in kids.values()) == want else None
    return wait_for(settled, 30, what=f"children with euids {want} and 2 factories")


def test_graceful_restarts_replace_children_and_leak_nothing(servers, tree, env_users):
    srv = start_two_envs(servers)
    fd_dir = f"/proc/{srv.parent_pid}/fd"

    def graceful():
        before = _settled_generation(srv, env_users)
        res = srv.apache("-k", "graceful")
        assert res.returncode == 0, res.stderr
        wait_for(lambda: not set(srv.children()) & set(before), 30,
                 what="old generation to exit")
        assert phtest.pid_alive(srv.parent_pid, srv.parent_start)
        assert_envs_served(srv, env_users)
        _settled_generation(srv, env_users)

    def run_files():
        # the segment's environment files are named after the main file's
        # inode, new every generation: compare them by count
        return sorted(re.sub(r"\.i\d+\.e(\d+)$", r".i*.e\1", name)
                      for name in os.listdir(srv.run_dir))

    graceful()
    fds = sorted(os.listdir(fd_dir))
    files_before = run_files()
    for _ in range(4):
        graceful()
    fds_after = sorted(os.listdir(fd_dir))
    assert len(fds_after) == len(fds), \
        f"parent fds grew over 4 graceful restarts: {len(fds)} -> {len(fds_after)}"
    assert run_files() == files_before
    assert phtest.pid_alive(srv.parent_pid, srv.parent_start)


def test_hard_restart_keeps_serving(servers, tree, env_users):
    srv = start_two_envs(servers)
    before = _settled_generation(srv, env_users)
    res = srv.apache("-k", "restart")
    assert res.returncode == 0, res.stderr
    wait_for(lambda: not set(srv.children()) & set(before), 30, what="old children to exit")
    assert phtest.pid_alive(srv.parent_pid, srv.parent_start)
    assert_envs_served(srv, env_users)
    _settled_generation(srv, env_users)
