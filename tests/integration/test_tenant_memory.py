"""Each environment's processes hold only that environment (issue 10).

Measured from outside, as root, the way an attacker inside alice's
processor could look at its own process (/proc/self/mem, /proc/self/fd):

1. memory: no other environment's private key (a prime of bob's RSA key, in
   the byte orders OpenSSL's BIGNUMs and DER use) and no other
   environment's SetEnv value; the same scan finds alice's own (so a scan
   that finds nothing proves something);
2. descriptors: none of bob's logs, files or piped logger's pipe;
3. httpd's scoreboard (alice's /server-status): alice's workers only, not
   bob's request in flight.

With `ProcessorImage fork` (processors forked from the parent, the
documented trade-off) the same scans find bob's secrets: the controls that
show each scan can see a leak when there is one.
"""

import os
import re
import secrets
import socket
import ssl
import subprocess
import threading

import pytest

import phtest
from phtest import http_get, vhost, wait_for

CONF = phtest.server_head() + """
LoadModule env_module @@MODDIR@@/mod_env.so
LoadModule ssl_module @@MODDIR@@/mod_ssl.so
Listen 127.0.0.1:@@TLSPORT@@
ExtendedStatus On
ProcessorImage @@IMAGE@@
""" + phtest.TWO_PROCESSORS + "".join(
    vhost(f"{env}.test", env, env,
          f"SetEnv {env.upper()}_DB_PASSWORD @@SECRET_{env.upper()}@@",
          f"ErrorLog @@TMP@@/{env}-error.log",
          f"CustomLog @@TMP@@/{env}-access.log common",
          f'CustomLog "|$/bin/cat >> @@TMP@@/{env}-piped.log" common')
    + vhost(f"{env}-tls.test", env, env,
            "SSLEngine on",
            f"SSLCertificateFile @@TMP@@/{env}.crt",
            f"SSLCertificateKeyFile @@TMP@@/{env}.key",
            port="@@TLSPORT@@")
    for env in ("alice", "bob"))


def make_key(tmp, env):
    """A self-signed certificate for env; returns its first prime (int)."""
    key, _crt = phtest.make_cert(tmp, env, f"{env}-tls.test")
    text = subprocess.run(["openssl", "rsa", "-in", key, "-noout", "-text"],
                          check=True, capture_output=True, text=True, timeout=30).stdout
    m = re.search(r"prime1:\s*\n((?:\s+[0-9a-f:]+\n)+)", text)
    assert m, text
    return int(re.sub(r"[\s:]", "", m.group(1)), 16)


def prime_needles(p):
    """24 bytes from the middle of prime p, big-endian (DER, PEM decoded)
    and little-endian (OpenSSL BIGNUM limbs on x86-64)."""
    be = p.to_bytes((p.bit_length() + 7) // 8, "big")
    mid = len(be) // 2
    return [be[mid:mid + 24], be[::-1][mid:mid + 24]]


def readable_memory(pid):
    """Every readable mapping of pid, as (name, bytes)."""
    out = []
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            fields = line.split()
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            name = fields[5] if len(fields) > 5 else "[anon]"
            if fields[1][0] != "r" or name in ("[vvar]", "[vsyscall]"):
                continue
            try:
                mem.seek(lo)
                out.append((name, mem.read(hi - lo)))
            except OSError:
                continue
    return out


def found(memory, needles):
    """Names of the mappings holding any of needles."""
    return sorted({name for name, data in memory for n in needles if n in data})


def start(servers, tree, image):
    port, tlsport = phtest.free_port(), phtest.free_port()
    while tlsport == port:
        tlsport = phtest.free_port()
    values = {"PORT": port, "TLSPORT": tlsport, "IMAGE": image,
              "SECRET_ALICE": "alice-" + secrets.token_hex(12),
              "SECRET_BOB": "bob-" + secrets.token_hex(12)}
    srv = servers(CONF, values=values)
    primes = {env: make_key(srv.tmp, env) for env in ("alice", "bob")}
    srv.start(ready_hosts=["alice.test", "bob.test"], port=port)
    srv.port, srv.tlsport = port, tlsport
    srv.secrets = {env: values[f"SECRET_{env.upper()}"].encode() for env in ("alice", "bob")}
    srv.primes = primes
    return srv


def processor_of(srv, env_users, env):
    uid = env_users[env][0]
    return wait_for(lambda: next((p for p, (u, _g) in srv.children().items()
                                  if u[1] == uid and phtest.proc_ppid(p) == srv.parent_pid),
                                 None), 20, what=f"a processor of {env}")


@pytest.mark.parametrize("image", ["exec", "fork"])
def test_processor_memory_holds_no_other_tenant_secret(servers, tree, env_users, image):
    srv = start(servers, tree, image)
    # a request served first: the processor has done real work
    assert http_get(srv.port, "alice.test", "/cgi-bin/id.cgi").status == 200
    pid = processor_of(srv, env_users, "alice")
    memory = readable_memory(pid)
    own_secret = found(memory, [srv.secrets["alice"]])
    own_prime = found(memory, prime_needles(srv.primes["alice"]))
    bob_secret = found(memory, [srv.secrets["bob"]])
    bob_prime = found(memory, prime_needles(srv.primes["bob"]))
    print(f"{image}: alice's processor {pid}: own secret in {own_secret}, own prime in "
          f"{own_prime}; bob's secret in {bob_secret}, bob's prime in {bob_prime}")
    # the scan works: alice's own secrets are there
    assert own_secret, "alice's own SetEnv value not found: the scan is blind"
    assert own_prime, "alice's own private-key prime not found: the scan is blind"
    if image == "exec":
        assert not bob_secret, f"bob's SetEnv value in alice's processor: {bob_secret}"
        assert not bob_prime, f"bob's private-key prime in alice's processor: {bob_prime}"
        # nor in the process alice's processors are forked from
        factory = srv.factory_of("alice")
        assert factory, "alice's processor factory not found"
        fmem = readable_memory(factory)
        assert not found(fmem, [srv.secrets["bob"]] + prime_needles(srv.primes["bob"]))
        assert found(fmem, [srv.secrets["alice"]])
    else:
        # the trade-off ProcessorImage fork documents, seen by the same scan
        assert bob_secret and bob_prime, "fork image: bob's secrets expected in memory"


def tls_get(port, sni, path="/"):
    """(status, body) of GET path over TLS with SNI and Host sni, the
    handshake done with whatever key the server shows."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=20) as raw:
        with ctx.wrap_socket(raw, server_hostname=sni) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: {sni}\r\nConnection: close\r\n\r\n"
                      .encode())
            data = b""
            while chunk := s.recv(65536):
                data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


def multiplexers(srv):
    return [p for p, (u, _g) in srv.children().items()
            if u[1] == 33 and phtest.proc_ppid(p) == srv.parent_pid]


def primes_in(srv, pid):
    """{env: mappings holding env's private-key prime} in pid's memory."""
    memory = readable_memory(pid)
    return {env: found(memory, prime_needles(srv.primes[env])) for env in ("alice", "bob")}


@pytest.mark.parametrize("image", ["exec", "fork"])
def test_tls_keys_only_in_their_environments_processes(servers, tree, env_users, image):
    """Issue 12's key rule: after TLS handshakes to both environments' vhosts
    (routed by SNI through the multiplexer), each environment's processor
    and factory hold that environment's private key and not the other's.
    ProcessorImage fork, the control: the other's key is there."""
    srv = start(servers, tree, image)
    for env in ("alice", "bob"):
        status, body = tls_get(srv.tlsport, f"{env}-tls.test")
        assert status == 200 and f"hello from {env}".encode() in body, (env, status, body)
    report = {}
    for env in ("alice", "bob"):
        other = "bob" if env == "alice" else "alice"
        for role, pid in (("processor", processor_of(srv, env_users, env)),
                          ("factory", srv.factory_of(env) if image == "exec" else -1)):
            if pid == -1:
                continue        # fork: no factory
            assert pid, f"{env}'s {role} not found"
            held = report[f"{env}'s {role} {pid}"] = primes_in(srv, pid)
            assert held[env], f"{env}'s own prime not in its {role}: the scan is blind"
            if image == "exec":
                assert not held[other], f"{other}'s private key in {env}'s {role}: {held[other]}"
            else:
                assert held[other], "fork image: every tenant's key expected in memory"
    for role, held in report.items():
        print(f"{role}: alice's prime in {held['alice']}, bob's in {held['bob']}")


def test_tls_keys_not_in_parent_nor_multiplexers(servers, tree, env_users):
    """The multiplexers route TLS by SNI and never handshake: they need no
    key, and come from an image that never read one (the multiplexers'
    factory, on stubs).  The parent serves nothing with ProcessorImage
    exec: mod_ssl there is told SSLEngine off and loads none."""
    srv = start(servers, tree, "exec")
    for env in ("alice", "bob"):
        assert tls_get(srv.tlsport, f"{env}-tls.test")[0] == 200
    muxes = multiplexers(srv)
    assert muxes, "no multiplexer found"
    factories = srv.mux_factories()
    assert factories, "no multiplexers' factory found"
    held = {f"parent {srv.parent_pid}": primes_in(srv, srv.parent_pid)}
    held.update({f"multiplexer {pid}": primes_in(srv, pid) for pid in muxes})
    held.update({f"multiplexers' factory {pid}": primes_in(srv, pid)
                 for pid in factories})
    print(held)
    assert not any(h["alice"] or h["bob"] for h in held.values()), held


def test_tenant_configuration_not_in_multiplexers(servers, tree, env_users):
    """A multiplexer (www-data, parsing raw client bytes) needs each vhost's
    names, addresses and head-reading settings, never a tenant's SetEnv
    values: it is forked by a factory exec'd on the multiplexers' file,
    where every vhost is a stub."""
    srv = start(servers, tree, "exec")
    assert http_get(srv.port, "alice.test", "/").status == 200
    muxes = multiplexers(srv)
    assert muxes, "no multiplexer found"
    held = {pid: found(readable_memory(pid), list(srv.secrets.values()))
            for pid in muxes + srv.mux_factories()}
    print(held)
    assert not any(held.values()), held


def fd_targets(pid):
    out = {}
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return out
    for fd in names:
        try:
            out[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            pass
    return out


def piped_logger_pipes(srv, env):
    """The pipes env's piped loggers read (their stdin), e.g. 'pipe:[123]':
    one per httpd that read env's CustomLog (the parent, and with
    ProcessorImage exec env's factory)."""
    log = f"{srv.tmp}/{env}-piped.log"

    def look():
        # the logger writes the file on its stdout ("cat >> file", whether
        # the shell is still there or exec'd cat) and reads a pipe
        pipes = set()
        for pid in phtest.all_pids():
            fds = fd_targets(pid)
            if fds.get(1) == log and fds.get(0, "").startswith("pipe:"):
                pipes.add(fds[0])
        return pipes or None
    return wait_for(look, 20, what=f"{env}'s piped logger")


@pytest.mark.parametrize("image", ["exec", "fork"])
def test_processor_holds_no_other_tenant_descriptor(servers, tree, env_users, image):
    srv = start(servers, tree, image)
    assert http_get(srv.port, "alice.test", "/cgi-bin/id.cgi").status == 200
    assert http_get(srv.port, "bob.test", "/cgi-bin/id.cgi").status == 200
    pid = processor_of(srv, env_users, "alice")
    fds = fd_targets(pid)
    print(f"{image}: alice's processor {pid} descriptors:")
    for fd, target in sorted(fds.items()):
        print(f"  {fd} -> {target}")
    bob_files = {f"{srv.tmp}/bob-error.log", f"{srv.tmp}/bob-access.log",
                 f"{srv.tmp}/bob.key", f"{srv.tmp}/bob.crt"}
    bob_pipes = piped_logger_pipes(srv, "bob")
    alice_pipes = piped_logger_pipes(srv, "alice")
    foreign = {fd: t for fd, t in fds.items() if t in bob_files or t in bob_pipes}
    # alice's own: her access log and piped logger (the control:
    # descriptors are seen)
    assert f"{srv.tmp}/alice-access.log" in fds.values(), fds
    assert alice_pipes & set(fds.values()), (alice_pipes, fds)
    if image == "exec":
        assert not foreign, f"alice's processor holds bob's: {foreign}"
    else:
        # ProcessorImage fork: bob's piped logger's pipe is inherited
        # (counted, left open: proc_foreign_logs.c), the trade-off
        assert bob_pipes & set(fds.values()), fds


@pytest.mark.parametrize("image", ["exec", "fork"])
def test_server_status_shows_own_environment_only(servers, tree, env_users, image):
    srv = start(servers, tree, image)
    _cgi, gate = phtest.gated_cgi(tree["bob"])
    marker = "bobquery" + secrets.token_hex(6)
    held = []

    def hold():
        try:
            held.append(http_get(srv.port, "bob.test", f"/cgi-bin/gated.cgi?{marker}",
                                 timeout=30))
        except Exception as exc:  # reported below
            held.append(exc)
    t = threading.Thread(target=hold)
    t.start()
    try:
        # bob's own status page shows his request in flight (the control)
        wait_for(lambda: marker in http_get(srv.port, "bob.test", "/server-status")
                 .body.decode("latin-1"), 20, what="bob's request in bob's /server-status")
        page = http_get(srv.port, "alice.test", "/server-status").body.decode("latin-1")
        assert "alice.test" in page, "alice's own status request not shown"
        if image == "exec":
            assert marker not in page and "bob.test" not in page, \
                "alice's /server-status shows bob's request"
        else:
            assert marker in page, "fork image: one scoreboard shared by all"
    finally:
        gate.unlink(missing_ok=True)
        t.join(40)
    assert held and getattr(held[0], "status", None) == 200, held


def test_status_pages_show_own_environment_only_by_default(servers, tree, env_users):
    """No StatusEnvironment: alice's ?auto, ?peruser_stats and peruser
    child table name alice and her processors only -- neither bob nor the
    multiplexers (the server's); bob's show bob only."""
    srv = start(servers, tree, "exec")
    assert http_get(srv.port, "bob.test", "/cgi-bin/id.cgi").status == 200
    bob_pid = processor_of(srv, env_users, "bob")
    alice_pid = processor_of(srv, env_users, "alice")
    for me, other, other_pid, my_pid in (("alice", "bob", bob_pid, alice_pid),
                                         ("bob", "alice", alice_pid, bob_pid)):
        auto = http_get(srv.port, f"{me}.test", "/server-status?auto").body.decode("latin-1")
        assert f"Peruser.{me}.Requests:" in auto, auto
        assert f"Peruser.{other}." not in auto, auto
        assert "PeruserEnvironments: 1" in auto and "PeruserMultiplexers" not in auto, auto
        page = http_get(srv.port, f"{me}.test",
                        "/server-status?peruser_stats").body.decode("latin-1")
        assert f"<td>{me}</td>" in page, page
        assert f"<td>{other}</td>" not in page and "Multiplexer" not in page, page
        assert f"<td>{my_pid}</td>" in page and f"<td>{other_pid}</td>" not in page, page


def test_status_environment_sees_other_environments_requests(servers, tree, env_users):
    """StatusEnvironment alice: alice's /server-status lists bob's request in
    flight (read from bob's scoreboard file, root:alice 0640 in a 0710
    directory); bob's own page shows nothing of alice's; bob cannot open
    the file; alice's own scoreboard is no file at all."""
    port, tlsport = phtest.free_port(), phtest.free_port()
    while tlsport == port:
        tlsport = phtest.free_port()
    values = {"PORT": port, "TLSPORT": tlsport, "IMAGE": "exec",
              "SECRET_ALICE": "a", "SECRET_BOB": "b"}
    srv = servers(CONF + "StatusEnvironment alice\n", values=values)
    for env in ("alice", "bob"):
        make_key(srv.tmp, env)
    srv.start(ready_hosts=["alice.test", "bob.test"], port=port)
    srv.port = port
    _cgi, gate = phtest.gated_cgi(tree["bob"])
    marker = "bobquery" + secrets.token_hex(6)
    held = []
    t = threading.Thread(target=lambda: held.append(
        http_get(port, "bob.test", f"/cgi-bin/gated.cgi?{marker}", timeout=30)))
    t.start()
    try:
        wait_for(lambda: marker in http_get(port, "bob.test", "/server-status")
                 .body.decode("latin-1"), 20, what="bob's request in bob's /server-status")
        page = http_get(port, "alice.test", "/server-status").body.decode("latin-1")
        others = page.partition("<h2>Other environments' requests</h2>")[2]
        assert others, "no table of other environments' requests on alice's page"
        assert marker in others and "bob.test" in others, others[:2000]
        bob_page = http_get(port, "bob.test", "/server-status").body.decode("latin-1")
        assert "Other environments" not in bob_page and "alice.test" not in bob_page
        status_dir = f"{srv.tmp}/run/peruser_hybrid-status"
        st = os.stat(status_dir)
        assert (st.st_mode & 0o777, st.st_uid, st.st_gid) == \
            (0o710, 0, env_users["alice"][1]), oct(st.st_mode)
        files = sorted(os.listdir(status_dir))
        assert files == ["sb.bob.0"], files
        st = os.stat(f"{status_dir}/sb.bob.0")
        assert (st.st_mode & 0o777, st.st_uid, st.st_gid) == \
            (0o640, 0, env_users["alice"][1]), oct(st.st_mode)
        res = subprocess.run(["runuser", "-u", "bob", "--", "cat", f"{status_dir}/sb.bob.0"],
                             capture_output=True, timeout=10)
        assert res.returncode != 0, "bob can read his scoreboard file by path"
    finally:
        gate.unlink(missing_ok=True)
        t.join(40)
    assert held and getattr(held[0], "status", None) == 200, held
