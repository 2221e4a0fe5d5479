"""mod_ssl's session and stapling caches, one per environment (issue 12,
item 6).

A session cache holds the master secrets of the TLS sessions it keeps:
whoever reads it can decrypt those sessions' traffic, whoever writes it can
plant sessions.  With `ProcessorImage exec` each environment's factory
makes its own caches -- shmcb in anonymous memory only its processors
inherit, dbm in a file of its own (the path with ".<environment>"), owned
by the environment's user, mode 0600 -- and the parent's copy (it loads
mod_ssl too) is mapped by no processor.  Seen from outside, as a user
would: TLS resumption works within each environment (openssl s_client
-sess_out / -sess_in: "Reused"), a session of one environment is never
resumed on another's vhost, each environment's processors map only their
own cache, and another environment's user cannot open a cache file.

With `ProcessorImage fork` every processor inherits the parent's one cache
(the documented trade-off, warned at start-up as PH00381): the same scan
sees that sharing, which shows it could see a leak.
"""

import os
import re
import stat
import subprocess

import pytest

import phtest
from phtest import vhost

ENVS = ("alice", "bob")

# session cache, stapling cache: one server each way round, so that shmcb
# and dbm are each tried for both
CACHES = {
    "shm": ("shmcb:@@TMP@@/run/ssl_scache(512000)", "dbm:@@TMP@@/run/ssl_stapling"),
    "dbm": ("dbm:@@TMP@@/run/ssl_scache", "shmcb:@@TMP@@/run/ssl_stapling(32768)"),
}


def conf(session, stapling, image):
    return phtest.server_head() + f"""
LoadModule ssl_module @@MODDIR@@/mod_ssl.so
LoadModule socache_shmcb_module @@MODDIR@@/mod_socache_shmcb.so
LoadModule socache_dbm_module @@MODDIR@@/mod_socache_dbm.so
Listen 127.0.0.1:@@TLS@@ https
ProcessorImage {image}
SSLSessionCache {session}
SSLStaplingCache {stapling}
# resumption through the session cache, not through tickets
SSLSessionTickets off
""" + phtest.TWO_PROCESSORS + "".join(
        vhost(f"{env}.test", env, env) for env in ENVS) + "".join(
        vhost(f"{env}.test", env, env, "SSLEngine on", "SSLUseStapling on",
              f"SSLCertificateFile @@TMP@@/{env}.crt",
              f"SSLCertificateKeyFile @@TMP@@/{env}.key", port="@@TLS@@")
        for env in ENVS)


@pytest.fixture(scope="module")
def servers3(module_servers):
    out = {}
    for name, image in (("shm", "exec"), ("dbm", "exec"), ("fork", "fork")):
        session, stapling = CACHES["dbm" if name == "dbm" else "shm"]
        port, tls = phtest.free_port(), phtest.free_port()
        srv = module_servers(conf(session, stapling, image), name=name,
                             values={"PORT": port, "TLS": tls})
        for env in ENVS:
            phtest.make_cert(srv.tmp, env, f"{env}.test")
        srv.start(ready_hosts=[f"{env}.test" for env in ENVS], port=port)
        srv.port, srv.tls = port, tls
        out[name] = srv
    return out


def s_client(port, sni, sess_in=None, sess_out=None):
    """(reused?, certificate CN) of one TLS 1.2 handshake with SNI sni,
    offering the session in file sess_in, saving it to sess_out."""
    args = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", sni,
            "-tls1_2", "-no_ticket"]
    args += ["-sess_in", sess_in] if sess_in else []
    args += ["-sess_out", sess_out] if sess_out else []
    r = subprocess.run(args, input="", capture_output=True, text=True, timeout=30)
    out = r.stdout + r.stderr
    m = re.search(r"subject=.*CN\s*=\s*([\w.-]+)", out)
    assert re.search(r"^(New|Reused), ", out, re.M), out[-1500:]
    return bool(re.search(r"^Reused, ", out, re.M)), m.group(1) if m else None


@pytest.mark.parametrize("name", ["shm", "dbm"])
@pytest.mark.parametrize("env", ENVS)
def test_session_resumed_within_the_environment(servers3, name, env):
    srv = servers3[name]
    sess = f"{srv.tmp}/{env}-{name}.sess"
    reused, cn = s_client(srv.tls, f"{env}.test", sess_out=sess)
    assert (reused, cn) == (False, f"{env}.test")
    for _ in range(3):
        reused, cn = s_client(srv.tls, f"{env}.test", sess_in=sess)
        assert (reused, cn) == (True, f"{env}.test"), \
            f"{name}: {env}'s session not resumed by {env}'s processors"


@pytest.mark.parametrize("name", ["shm", "dbm", "fork"])
def test_session_of_one_environment_not_resumed_on_another(servers3, name):
    srv = servers3[name]
    sess = f"{srv.tmp}/alice-cross-{name}.sess"
    assert s_client(srv.tls, "alice.test", sess_out=sess) == (False, "alice.test")
    assert s_client(srv.tls, "alice.test", sess_in=sess) == (True, "alice.test")
    assert s_client(srv.tls, "bob.test", sess_in=sess) == (False, "bob.test")


def shared_anon_maps(pid):
    """{inode: size} of pid's shared anonymous mappings (MAP_SHARED|
    MAP_ANONYMOUS shows as /dev/zero (deleted), one inode per mapping)."""
    out = {}
    with open(f"/proc/{pid}/maps") as maps:
        for line in maps:
            f = line.split(None, 5)
            if len(f) == 6 and f[5].strip() == "/dev/zero (deleted)" and f[1][3] == "s":
                lo, hi = (int(x, 16) for x in f[0].split("-"))
                out[int(f[4])] = out.get(int(f[4]), 0) + hi - lo
    return out


def roles(srv, env_users):
    """{role: [pids]}: the parent, the multiplexers, each environment's
    factory and processors (after a TLS request to each)."""
    for env in ENVS:
        s_client(srv.tls, f"{env}.test")
    out = {"parent": [srv.parent_pid], "mux": []}
    uid_env = {env_users[env][0]: env for env in ENVS}

    def look():
        found = {env: [] for env in ENVS}
        for pid, (uids, _g) in srv.children().items():
            if phtest.proc_ppid(pid) != srv.parent_pid:
                continue
            if uids[1] in uid_env:
                found[uid_env[uids[1]]].append(pid)
        return found if all(found.values()) else None
    procs = phtest.wait_for(look, 20, what="a processor of each environment")
    for pid, (uids, _g) in srv.children().items():
        if uids[1] == 33 and phtest.proc_ppid(pid) == srv.parent_pid:
            out["mux"].append(pid)
    assert out["mux"], "no multiplexer found"
    for env in ENVS:
        out[env] = procs[env]
        if srv.factory_of(env):
            out[f"{env}-factory"] = [srv.factory_of(env)]
    return out


def maps_of(pids):
    inodes = {}
    for pid in pids:
        inodes.update(shared_anon_maps(pid))
    return inodes


def test_each_environments_processors_map_their_own_cache_only(servers3, env_users):
    """shmcb session cache: the 512000-byte segment alice's processors map
    is her factory's and no one else's; likewise bob's; the parent's (and
    so the multiplexers') is mapped by no processor."""
    srv = servers3["shm"]
    r = roles(srv, env_users)
    maps = {role: maps_of(pids) for role, pids in r.items()}
    for env in ENVS:
        caches = {i for i, size in maps[env].items() if size >= 512000}
        assert caches, f"{env}'s processor maps no session cache: {maps[env]}"
        assert caches <= set(maps[f"{env}-factory"]), "not the factory's own"
        other = "bob" if env == "alice" else "alice"
        for role in (other, f"{other}-factory", "parent", "mux"):
            assert not set(maps[env]) & set(maps[role]), \
                f"{env}'s processor shares anonymous memory with {role}: " \
                f"{set(maps[env]) & set(maps[role])}"


def test_fork_image_shares_the_parents_cache_and_says_so(servers3, env_users):
    """The control: with ProcessorImage fork, alice's and bob's processors
    map the same session cache, the parent's -- and start-up said so."""
    srv = servers3["fork"]
    r = roles(srv, env_users)
    alice, bob, parent = (maps_of(r[k]) for k in ("alice", "bob", "parent"))
    shared = {i for i in set(alice) & set(bob) & set(parent) if alice[i] >= 512000}
    assert shared, (alice, bob)
    assert srv.log_lines(r"PH00381.*SSLSessionCache .*ProcessorImage fork"), \
        srv.log_text()[-3000:]
    assert srv.log_lines(r"PH00381.*SSLStaplingCache")
    for name in ("shm", "dbm"):
        assert not servers3[name].log_lines("PH00381"), name


@pytest.mark.parametrize("name,base", [("dbm", "ssl_scache"), ("shm", "ssl_stapling")])
def test_cache_files_are_each_environments_own(servers3, env_users, name, base):
    """dbm caches (a session cache, a stapling cache): one file per
    environment, its user's, mode 0600; the other environment's user and
    the multiplexers' user cannot open it."""
    srv = servers3[name]
    run = srv.tmp / "run"
    for env in ENVS:
        path = run / f"{base}.{env}"
        st = os.stat(path)
        assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (env_users[env][0], 0o600), \
            (path, st.st_uid, oct(st.st_mode))
        other = "bob" if env == "alice" else "alice"
        for user in (other, "www-data"):
            res = subprocess.run(["runuser", "-u", user, "--", "head", "-c1", str(path)],
                                 capture_output=True, timeout=10)
            assert res.returncode != 0, f"{user} can read {path}"
        res = subprocess.run(["runuser", "-u", env, "--", "head", "-c1", str(path)],
                             capture_output=True, timeout=10)
        assert res.returncode == 0, res.stderr   # the control: its owner can


def test_a_cache_line_that_cannot_be_placed_is_refused(servers, tree):
    """A cache path the rewrite cannot read safely (a backslash) is refused
    by `apache2 -t` rather than shared by every environment."""
    session = '"shmcb:@@TMP@@/run/odd\\\\name(512000)"'
    srv = servers(conf(session, "shmcb:@@TMP@@/run/st(32768)", "exec"),
                  values={"PORT": phtest.free_port(), "TLS": phtest.free_port()})
    for env in ENVS:
        phtest.make_cert(srv.tmp, env, f"{env}.test")
    res = srv.apache("-t")
    assert res.returncode != 0, res
    assert re.search(r"PH00503.*SSLSessionCache cannot be given a place", res.stderr), res.stderr
