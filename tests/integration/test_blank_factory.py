"""Blank factories (issue 13, cold start): FactoryReserve.

A blank is httpd exec'd by the parent exactly as an environment's factory
is, on a file with the server's modules and no environment; it starts,
then waits.  A cold environment takes one (the parent sends it the
environment's file and descriptors) instead of exec'ing its own factory.

- A cold environment started from a blank is served as its own user; its
  factory (pstat/ps: comm apache2-factory, PH_FACTORY_SPEC naming it)
  holds its own secret and no other environment's.
- A blank holds no environment's name, ServerName or secret before it is
  taken.
- Blanks are started only after a cold start (none at rest), and a blank
  unused for a while exits.
- A graceful restart stops the waiting blanks: none of the old generation
  is assigned, none is left behind.
- A blank killed (SIGKILL) or stopped (SIGSTOP: it never answers): the
  cold request is still served, by an exec'd factory.
"""
import os
import re
import secrets
import signal

import phtest
from phtest import http_get, vhost, wait_for
from test_tenant_memory import found, readable_memory

ENVS = {"kestrel": "alice", "osprey": "bob", "heron": "alice", "plover": "bob"}


def conf(reserve=None, extra="", before_env=""):
    text = (phtest.server_head(server_limit=24) + before_env
            + "LoadModule env_module @@MODDIR@@/mod_env.so\n")
    text += "ProcessorWaitTimeout 20\n" + extra
    if reserve is not None:
        text += f"FactoryReserve {reserve}\n"
    text += vhost("main.test", None, "main")
    for env, user in ENVS.items():
        text += phtest.processor(env, user, MinProcessors=0, MinSpareProcessors=0)
        text += vhost(f"{env}-site.test", env, user,
                      f"SetEnv {env.upper()}_PASSWORD @@SECRET_{env.upper()}@@")
    return text


def start(servers, reserve=None, extra="", before_env=""):
    port = phtest.free_port()
    values = {"PORT": port}
    values.update({f"SECRET_{e.upper()}": f"{e}-{secrets.token_hex(12)}" for e in ENVS})
    srv = servers(conf(reserve, extra, before_env), values=values, loglevel="debug")
    srv.start(ready_hosts=["main.test"], port=port)
    srv.port = port
    srv.secrets = {e: values[f"SECRET_{e.upper()}"].encode() for e in ENVS}
    return srv


def uid_of(srv, env):
    r = http_get(srv.port, f"{env}-site.test", "/cgi-bin/id.cgi", timeout=40)
    assert r.status == 200, (env, r.status, r.body[:300])
    return phtest.parse_id(r.body)["uid"]


def warm_up(srv, env_users, n=2):
    """A first cold start (kestrel, exec'd as before), after which the
    parent starts n blanks; returns their pids."""
    assert uid_of(srv, "kestrel") == env_users["alice"][0]
    return wait_for(lambda: (b := srv.blanks()) and len(b) >= n and b, 30,
                    what=f"{n} blank factories")


def fd_kinds(pid):
    """(number, what it is) of each descriptor of pid, numbers in names
    blurred (a socket's inode, a file named by pid)."""
    out = []
    for fd in sorted(os.listdir(f"/proc/{pid}/fd"), key=int):
        try:
            out.append((int(fd), re.sub(r"\d+", "N", os.readlink(f"/proc/{pid}/fd/{fd}"))))
        except OSError:
            continue
    return out


def taken(srv, env):
    return srv.log_lines(rf"PH00666: env=\d+ name={env} .*the blank factory pid (\d+)")


def test_cold_environment_served_from_a_blank(servers, tree, env_users):
    srv = start(servers)
    assert not srv.blanks(), "no blank before any cold start"
    blanks = warm_up(srv, env_users)
    assert uid_of(srv, "osprey") == env_users["bob"][0]
    lines = taken(srv, "osprey")
    assert lines, srv.log_text()[-3000:]
    pid = int(re.search(r"blank factory pid (\d+)", lines[-1]).group(1))
    assert pid in blanks
    # it is osprey's factory now, as ps and the tests see factories
    assert srv.factory_of("osprey") == pid
    assert phtest.is_factory(pid)
    assert b"blank." in phtest._read(f"/proc/{pid}/cmdline")
    # osprey's own secret is there (the scan can see), nobody else's
    memory = readable_memory(pid)
    assert found(memory, [srv.secrets["osprey"]]), "the scan finds osprey's own"
    others = [srv.secrets[e] for e in ENVS if e != "osprey"]
    assert found(memory, others) == []
    # the same descriptors, at the same numbers, as kestrel's exec'd factory
    assert fd_kinds(pid) == fd_kinds(srv.factory_of("kestrel"))
    # a second request, and another cold one from the next blank
    assert uid_of(srv, "osprey") == env_users["bob"][0]
    assert uid_of(srv, "heron") == env_users["alice"][0]
    assert taken(srv, "heron")


def test_blank_holds_no_environment(servers, tree, env_users):
    srv = start(servers)
    blanks = warm_up(srv, env_users)
    needles = [n.encode() for e in ENVS for n in (e, f"{e}-site.test")]
    needles += list(srv.secrets.values())
    for pid in blanks:
        if not phtest.is_blank(pid):
            continue
        assert found(readable_memory(pid), needles) == [], pid
        environ = phtest._read(f"/proc/{pid}/environ") or b""
        assert b"PH_FACTORY_SPEC=blank gen=" in environ


def test_no_blank_at_rest_and_idle_ones_exit(servers, tree, env_users):
    srv = start(servers)
    assert not srv.blanks()
    warm_up(srv, env_users)
    # unused for 10 s, they go (polled; the main loop ticks each second)
    wait_for(lambda: not srv.blanks() or None, 40, what="idle blanks to exit")
    assert srv.log_lines(r"PH00668: ")


def test_graceful_restart_assigns_no_old_blank(servers, tree, env_users):
    srv = start(servers)
    old = set(warm_up(srv, env_users))
    res = srv.apache("-k", "graceful")
    assert res.returncode == 0, res.stderr
    wait_for(lambda: not (old & set(phtest.all_pids())) or None, 30,
             what="the old generation's blanks to go")
    assert uid_of(srv, "osprey") == env_users["bob"][0]
    assert srv.factory_of("osprey") not in old
    for line in srv.log_lines(r"PH00666: "):
        assert int(re.search(r"pid (\d+)", line).group(1)) not in old
    # no more blanks than the reserve, whatever the restarts did
    assert len(srv.blanks()) <= 2


def test_killed_blank_request_still_served(servers, tree, env_users):
    """A blank that dies unused: the operator reads that it died (PH00669,
    with its pid) once the parent has waited for it, and the next cold
    environment is exec'd as before."""
    srv = start(servers, reserve=1)
    (blank,) = warm_up(srv, env_users, n=1)
    os.kill(blank, signal.SIGKILL)
    wait_for(lambda: not phtest.pid_alive(blank) or None, 30, what="the killed blank reaped")
    wait_for(lambda: srv.log_lines(rf"PH00669: the blank factory pid {blank} exited"), 30,
             what="PH00669 for the killed blank")
    assert uid_of(srv, "osprey") == env_users["bob"][0]
    assert srv.factory_of("osprey") != blank


def test_stopped_blank_request_still_served(servers, tree, env_users):
    """A blank that never answers its ASSIGN: after a bound, killed, and
    the environment's factory exec'd (PH00662)."""
    srv = start(servers, reserve=1)
    (blank,) = warm_up(srv, env_users, n=1)
    os.kill(blank, signal.SIGSTOP)
    try:
        assert uid_of(srv, "osprey") == env_users["bob"][0]
    finally:
        try:
            os.kill(blank, signal.SIGCONT)
        except ProcessLookupError:
            pass
    assert srv.log_lines(r"PH00662: .*osprey.*blank factory it took did not get ready")
    assert srv.factory_of("osprey") != blank
    wait_for(lambda: not phtest.pid_alive(blank) or None, 20, what="the stopped blank to go")


def test_reserve_off(servers, tree, env_users):
    srv = start(servers, reserve=0)
    assert uid_of(srv, "kestrel") == env_users["alice"][0]
    assert uid_of(srv, "osprey") == env_users["bob"][0]
    assert not srv.blanks()
    assert not srv.log_lines(r"PH0066[46]: ")


def test_ifmodule_before_its_loadmodule_falls_back_to_exec(servers, tree, env_users):
    """An <IfModule> read before its module's LoadModule: an exec'd factory
    reads it with the module not loaded yet, a blank has loaded every
    module first.  The blank refuses the file and exits; the environment's
    factory is exec'd (PH00662) and the request served as before."""
    srv = start(servers, before_env="<IfModule mod_env.c>\nSetEnv BEFORE_LOAD yes\n</IfModule>\n")
    blanks = warm_up(srv, env_users)
    assert uid_of(srv, "osprey") == env_users["bob"][0]
    assert srv.log_lines(r"PH00662: .*osprey.*blank factory it took did not get ready")
    assert srv.log_lines(r"an <IfModule> section comes before LoadModule env_module")
    assert srv.factory_of("osprey") not in blanks
