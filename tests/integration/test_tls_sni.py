"""HTTPS: TLS routed by SNI before the handshake, the handshake done by the
environment (issue 12, items 1-3).

Two environments' name-based TLS vhosts share one address: the multiplexer
peeks at the ClientHello, picks the vhost by its server name as mod_ssl
does, and hands the untouched socket to that vhost's environment, whose
mod_ssl does the handshake with that environment's own certificate and key.
Each case runs on stock mpm_event and peruser_hybrid, same configuration,
same test, where stock is the reference.
"""

import pwd
import re
import socket
import subprocess

import pytest

import phtest
from phtest import vhost

CONF = phtest.server_head() + phtest.TLS_HEAD + phtest.TWO_PROCESSORS \
    + vhost("alice.test", "alice", "alice") + vhost("bob.test", "bob", "bob") + "".join(
        phtest.tls_vhost(env,
                         f"CustomLog @@TMP@@/{env}-tls-access.log \"%>s %{{SSL_TLS_SNI}}x %v\"",
                         *(["ServerAlias *.bob.test"] if env == "bob" else []))
        for env in ("alice", "bob"))


@pytest.fixture(scope="module")
def pair(module_servers, module_tmp):
    certs = phtest.make_tls_certs(module_tmp)
    return phtest.start_event_and_ph(module_servers, CONF.replace("@@CERTS@@", str(certs)),
                                     ["alice.test", "bob.test"], extra_ports=["tls"])


def peer_cn(port, sni):
    """The subject CN of the certificate the server shows for sni (None:
    no SNI sent)."""
    args = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-brief"]
    args += ["-servername", sni] if sni else ["-noservername"]
    r = subprocess.run(args, input="", capture_output=True, text=True, timeout=20)
    m = re.search(r"Peer certificate: .*CN\s*=\s*([\w.-]+)", r.stdout + r.stderr)
    return m.group(1) if m else (r.stdout + r.stderr)[-400:]


def https(port, sni, host, path="/cgi-bin/id.cgi"):
    """(status, body) of GET path with Host host over TLS with SNI sni."""
    return phtest.https_request(port, sni, host, path)[:2]


@pytest.mark.parametrize("sni", ["alice.test", "bob.test", "www.bob.test", "BOB.TEST",
                                 "bob.test.", "nobody.test"])
def test_certificate_is_the_sni_vhosts(pair, sni):
    """The certificate shown is the one of the vhost mod_ssl picks for the
    name: ServerAlias wildcards and case as stock, a trailing dot or an
    unknown name get the default vhost's."""
    got = {mpm: peer_cn(pair[mpm].tls, sni) for mpm in ("event", "ph")}
    assert got["ph"] == got["event"], got
    if sni.lower().rstrip(".") in ("bob.test", "www.bob.test") and not sni.endswith("."):
        assert got["ph"] == "bob.test", got


def test_no_sni_gets_the_default_vhost(pair):
    for mpm in ("event", "ph"):
        assert peer_cn(pair[mpm].tls, None) == "alice.test", mpm


@pytest.mark.parametrize("env", ["alice", "bob"])
def test_each_tls_vhost_served_by_its_own_user(pair, env):
    uid = pwd.getpwnam(env).pw_uid
    status, body = https(pair["ph"].tls, f"{env}.test", f"{env}.test")
    assert status == 200, body
    assert phtest.parse_id(body)["uid"] == uid, body
    # curl, as an operator would check it
    r = subprocess.run(["curl", "-sk", "--max-time", "15", "--resolve",
                        f"{env}.test:{pair['ph'].tls}:127.0.0.1",
                        f"https://{env}.test:{pair['ph'].tls}/cgi-bin/id.cgi"],
                       capture_output=True, timeout=30)
    assert phtest.parse_id(r.stdout).get("uid") == uid, r


def test_sni_and_host_of_two_environments_is_421(pair):
    """SNI for bob, Host for alice: stock mod_ssl answers 421 (their TLS
    setups differ); so do we, and nothing of alice's is served by bob."""
    for mpm in ("event", "ph"):
        status, body = https(pair[mpm].tls, "bob.test", "alice.test", "/")
        assert status == 421, (mpm, body[:200])
        assert b"hello from alice" not in body


def test_no_sni_and_host_of_another_environment_is_421(pair):
    """No SNI: the handshake is the default vhost's (alice's environment),
    so a request for bob's vhost there is 421 -- never served by alice's
    user.  (Stock serves it with alice's certificate, a documented
    difference: doc/decisions.md.)"""
    status, body = https(pair["ph"].tls, None, "bob.test", "/")
    assert status == 421, body[:200]


def test_plain_http_on_the_tls_port_as_stock(pair):
    got = {}
    for mpm in ("event", "ph"):
        resp, raw = phtest.raw_exchange(pair[mpm].tls,
                                        b"GET / HTTP/1.1\r\nHost: bob.test\r\n\r\n", timeout=15)
        got[mpm] = (resp.status if resp else None, b"plain HTTP" in (resp.body if resp else raw))
    assert got["ph"] == got["event"], got
    assert got["event"][0] == 400, got


@pytest.mark.parametrize("data", [
    b"\x16\x03\x01\x00\x05\x02\x00\x00\x01\x00",          # not a ClientHello
    b"\x16\x03\x01\x40\x01" + b"\x01" * 64,               # record over 2^14
    b"\x16\x02\x00\x00\x05hello",                          # not TLS 1.x
], ids=["server-hello", "record-overflow", "bad-version"])
def test_malformed_hello_answered_as_stock(pair, data):
    """What a broken ClientHello gets (an alert, or a close) is OpenSSL's in
    the default vhost's environment, byte for byte as stock."""
    got = {}
    for mpm in ("event", "ph"):
        with socket.create_connection(("127.0.0.1", pair[mpm].tls), timeout=15) as s:
            s.sendall(data)
            buf = b""
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    buf += chunk
            except OSError:
                pass
        got[mpm] = buf
    assert got["ph"] == got["event"], got


def test_each_environment_logs_its_own_tls_requests(pair):
    ph = pair["ph"]
    for env in ("alice", "bob"):
        assert https(ph.tls, f"{env}.test", f"{env}.test", "/")[0] == 200
    for env in ("alice", "bob"):
        log = ph.tmp / f"{env}-tls-access.log"
        phtest.wait_for(lambda: log.exists() and f"200 {env}.test {env}.test"
                        in log.read_text(), 10, what=f"{env}'s TLS access-log line")


def test_sslengine_implied_by_an_https_listen_is_routed_by_sni(servers, tree, tmp):
    """No SSLEngine line: on a `Listen ... https` address mod_ssl turns TLS
    on for a vhost with a certificate.  The multiplexer knows it too, and
    routes by SNI (before, it read only an explicit `SSLEngine on` and sent
    every hello to the default vhost's environment)."""
    certs = phtest.make_tls_certs(tmp)
    conf = re.sub(r"(?m)^\s*SSLEngine on\s*\n", "", CONF).replace("@@CERTS@@", str(certs))
    assert "SSLEngine" not in conf
    pair = phtest.start_event_and_ph(servers, conf, ["alice.test", "bob.test"],
                                     extra_ports=["tls"])
    got = {mpm: peer_cn(pair[mpm].tls, "bob.test") for mpm in ("event", "ph")}
    assert got == {"event": "bob.test", "ph": "bob.test"}, got
    status, body = https(pair["ph"].tls, "bob.test", "bob.test")
    assert status == 200, body
    assert phtest.parse_id(body)["uid"] == pwd.getpwnam("bob").pw_uid, body
