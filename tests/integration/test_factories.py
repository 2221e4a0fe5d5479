"""Processor factories (ProcessorImage exec, issue 10): an environment's
processors come from httpd exec'd on that environment's configuration.

What an operator would check with ps and /proc: a factory exists only
while its environment is in use, it listens on nothing and holds only its
control socket, channel and doorbell besides its own logs, processors are
the parent's children, a factory that dies is replaced, and an idle
environment's factory goes after IdleTimeout.
"""

import os
import signal

import phtest
from phtest import http_get, parse_id, vhost, wait_for

CONF = phtest.server_head(keepalive="Off") + """IdleTimeout 2
<Processor alice>
    User alice
    Group alice
    MinProcessors 0
    MinSpareProcessors 0
</Processor>
<Processor bob>
    User bob
    Group bob
    MinProcessors 0
    MinSpareProcessors 0
</Processor>
""" + vhost("alice.test", "alice", "alice") + vhost("bob.test", "bob", "bob")


def start(servers):
    port = phtest.free_port()
    srv = servers(CONF, values={"PORT": port})
    srv.start(ready_hosts=[], port=port)
    srv.port = port
    return srv


def serves_as(srv, env, env_users):
    r = http_get(srv.port, f"{env}.test", "/cgi-bin/id.cgi", timeout=15)
    assert r.status == 200, r
    assert parse_id(r.body).get("uid") == env_users[env][0], r.body


def listening_inodes():
    """Socket inodes in LISTEN state (TCP, IPv4 and IPv6)."""
    out = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(name) as f:
            next(f)
            for line in f:
                fields = line.split()
                if fields[3] == "0A":
                    out.add(fields[9])
    return out


def test_factory_on_demand_listens_on_nothing_and_processors_are_the_parents(
        servers, tree, env_users):
    srv = start(servers)
    # MinProcessors 0: nothing asked for, no factory
    assert srv.factories() == [], srv.factories()
    serves_as(srv, "alice", env_users)
    alice_factory = srv.factory_of("alice")
    assert alice_factory, "no factory for alice after her first request"
    assert srv.factory_of("bob") is None, "bob's factory started without a request"
    # root, the parent's child, no listening socket, no other descriptor
    # than its control socket (3), channel (4), answer channel (5), the
    # multiplexers' doorbells (6 on), the logs
    uids, _gids = phtest.proc_uids(alice_factory)
    assert set(uids) == {0}, uids
    assert phtest.proc_ppid(alice_factory) == srv.parent_pid
    listen = listening_inodes()
    fds = {}
    for fd in os.listdir(f"/proc/{alice_factory}/fd"):
        try:
            fds[int(fd)] = os.readlink(f"/proc/{alice_factory}/fd/{fd}")
        except OSError:
            pass
    print("alice's factory descriptors:", fds)
    held = {t[len("socket:["):-1] for t in fds.values() if t.startswith("socket:[")}
    assert not held & listen, f"the factory holds a listening socket: {fds}"
    # then one doorbell per multiplexer index (MaxMultiplexers): the ring
    # end of a socketpair (doorbell.h)
    assert all(fds[i].startswith("socket:") for i in (3, 4, 5, 6)), fds
    # alice's processor: the parent's child, as alice
    procs = [p for p, (u, _g) in srv.children().items()
             if u[1] == env_users["alice"][0]]
    assert procs and all(phtest.proc_ppid(p) == srv.parent_pid for p in procs), procs


FD_CGI = """\
#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
for f in /proc/$$/fd/*; do echo "$f $(readlink "$f")"; done
"""


def test_what_a_processor_execs_inherits_no_channel(servers, tree, env_users):
    """A factory's processor holds its environment's channel, doorbell and
    answer channel at fixed numbers (4, 5, 6, put there by dup2, which
    clears close-on-exec); a CGI it runs inherits none of them: it could
    take its environment's connections off the channel behind httpd's
    back, or ring the doorbell."""
    cgi = tree["alice"] / "cgi-bin" / "fds.cgi"
    cgi.write_text(FD_CGI)
    os.chmod(cgi, 0o755)
    srv = start(servers)
    serves_as(srv, "alice", env_users)
    assert srv.factory_of("alice"), "alice's processor is not a factory's"
    r = http_get(srv.port, "alice.test", "/cgi-bin/fds.cgi", timeout=15)
    assert r.status == 200, r
    held = [ln for ln in r.body.decode().splitlines() if "socket:" in ln or "eventfd" in ln]
    assert not held, r.body.decode()


def test_killed_factory_is_replaced(servers, tree, env_users):
    srv = start(servers)
    serves_as(srv, "alice", env_users)
    first = srv.factory_of("alice")
    assert first
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: not phtest.pid_alive(first), 10, what="the killed factory to go")
    # alice's running processor still serves; once it retires (IdleTimeout
    # 2) the next request needs, and gets, a new factory
    serves_as(srv, "alice", env_users)
    wait_for(lambda: not [p for p, (u, _g) in srv.children().items()
                          if u[1] == env_users["alice"][0]], 30,
             what="alice's processor to retire (IdleTimeout 2)")
    serves_as(srv, "alice", env_users)
    second = srv.factory_of("alice")
    assert second and second != first, (first, second)
    assert srv.log_lines("PH00528"), "the factory's death was not logged"


def test_idle_environment_lets_its_factory_go(servers, tree, env_users):
    srv = start(servers)
    serves_as(srv, "bob", env_users)
    assert srv.factory_of("bob")
    # IdleTimeout 2: the processor retires, then the factory
    wait_for(lambda: srv.factory_of("bob") is None, 30,
             what="bob's factory to go after IdleTimeout without a processor")
    assert not srv.log_lines("PH00528"), "a retired factory was reported as dead"
    serves_as(srv, "bob", env_users)
    assert srv.factory_of("bob")


def multiplexer_pids(srv):
    """Live multiplexers: the parent's children running as the server's
    User (www-data)."""
    return sorted(p for p, (u, _g) in srv.children().items()
                  if u[1] == 33 and phtest.proc_ppid(p) == srv.parent_pid)


def test_killed_multiplexers_factory_and_multiplexer_are_replaced(servers, tree, env_users):
    """The multiplexers' factory killed: the running multiplexers go on
    serving; a multiplexer killed afterwards is replaced through a new
    factory (its death said, PH00528), and the server serves on."""
    srv = start(servers)
    serves_as(srv, "alice", env_users)
    [factory] = srv.mux_factories()
    muxes = multiplexer_pids(srv)
    assert muxes, "no multiplexer"
    os.kill(factory, signal.SIGKILL)
    wait_for(lambda: not phtest.pid_alive(factory), 10, what="the killed factory to go")
    serves_as(srv, "bob", env_users)
    assert multiplexer_pids(srv) == muxes, "a multiplexer went with its factory"

    os.kill(muxes[0], signal.SIGKILL)

    def replaced():
        now = multiplexer_pids(srv)
        return now if len(now) == len(muxes) and muxes[0] not in now else None
    wait_for(replaced, 30, what="a new multiplexer in place of the killed one")
    new_factory = srv.mux_factories()
    assert new_factory and new_factory[0] != factory, (factory, new_factory)
    assert srv.log_lines("PH00528"), "the factory's death was not logged"
    for _ in range(5):
        serves_as(srv, "alice", env_users)
        serves_as(srv, "bob", env_users)


def test_factories_do_not_inherit_the_service_managers_notify_socket(
        servers, tree, env_users):
    """Under systemd (Type=notify) the server's environment has
    NOTIFY_SOCKET.  A factory runs every module's pre_mpm hook, and
    mod_systemd's would tell systemd that the factory is the server's main
    process: the parent alone speaks for the server, so no factory (nor
    what it forks) sees the variable; the parent keeps it."""
    port = phtest.free_port()
    sock = "/run/ph-test-notify-not-listened"
    srv = servers(CONF, values={"PORT": port}, env={"NOTIFY_SOCKET": sock})
    srv.start(ready_hosts=[], port=port)
    srv.port = port
    serves_as(srv, "alice", env_users)
    seen = {}
    for pid in [srv.parent_pid] + srv.factories() + srv.mux_factories():
        environ = (open(f"/proc/{pid}/environ", "rb").read()).split(b"\0")
        seen[pid] = b"NOTIFY_SOCKET=" + sock.encode() in environ
    assert seen.pop(srv.parent_pid), "the parent lost NOTIFY_SOCKET"
    assert len(seen) >= 2 and not any(seen.values()), seen
