"""HTTP/2 over TLS (ALPN h2) and TLS in operation (issue 12, items 4 and 5).

Two environments' TLS vhosts share one address with `Protocols h2
http/1.1`: the multiplexer routes the ClientHello by SNI, the environment's
processor does the handshake and mod_ssl's ALPN picks h2 from the routed
vhost's Protocols; mod_http2 then serves the connection there.  A stream on
it for the other environment's vhost gets 421 on that stream only.  Each
case runs beside stock mpm_event on the same configuration.
"""

import pwd
import socket
import ssl
import time

import pytest

import phtest
from phtest import vhost

h2conn = pytest.importorskip("h2.connection")
h2config = pytest.importorskip("h2.config")
h2events = pytest.importorskip("h2.events")

CONF = phtest.server_head(threads=4) + """
LoadModule ssl_module @@MODDIR@@/mod_ssl.so
LoadModule socache_shmcb_module @@MODDIR@@/mod_socache_shmcb.so
LoadModule http2_module @@MODDIR@@/mod_http2.so
Listen 127.0.0.1:@@TLS@@ https
SSLSessionCache shmcb:@@TMP@@/run/ssl_scache(512000)
LogFormat "%v %H \\"%r\\" %>s %{SSL_TLS_SNI}x" protolog
ExtendedStatus On
""" + phtest.TWO_PROCESSORS + vhost("alice.test", "alice", "alice") \
    + vhost("bob.test", "bob", "bob") + "".join(
        vhost(f"{env}.test", env, env, "SSLEngine on", "Protocols h2 http/1.1",
              f"SSLCertificateFile @@CERTS@@/{env}.crt",
              f"SSLCertificateKeyFile @@CERTS@@/{env}.key",
              f"CustomLog @@TMP@@/{env}-tls-access.log protolog",
              port="@@TLS@@")
        for env in ("alice", "bob"))


@pytest.fixture(scope="module")
def pair(module_servers, module_tmp):
    certs = module_tmp / "certs"
    certs.mkdir(mode=0o755, exist_ok=True)
    for env in ("alice", "bob"):
        phtest.make_cert(certs, env, f"{env}.test")
    return phtest.start_event_and_ph(
        module_servers, CONF.replace("@@CERTS@@", str(certs)), ["alice.test", "bob.test"],
        extra_ports=["tls"])


def uid_of(name):
    return pwd.getpwnam(name).pw_uid


def tls_context(alpn):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(alpn)
    return ctx


class H2TlsClient:
    """One HTTP/2 connection over TLS (ALPN h2, python3-h2), requests one
    at a time, each read to its end."""

    def __init__(self, port, sni, timeout=15):
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock = tls_context(["h2", "http/1.1"]).wrap_socket(raw, server_hostname=sni)
        self.alpn = self.sock.selected_alpn_protocol()
        self.conn = h2conn.H2Connection(h2config.H2Configuration(client_side=True))
        self.conn.initiate_connection()
        self.sock.sendall(self.conn.data_to_send())
        self.closed_by_server = False
        self.timeout = timeout

    def get(self, authority, path="/cgi-bin/id.cgi"):
        sid = self.conn.get_next_available_stream_id()
        self.conn.send_headers(sid, [(":method", "GET"), (":scheme", "https"),
                                     (":authority", authority), (":path", path)],
                               end_stream=True)
        self.sock.sendall(self.conn.data_to_send())
        status, body, done = None, b"", False
        deadline = time.monotonic() + self.timeout
        while not done:
            if time.monotonic() > deadline:
                raise AssertionError(f"stream {sid} for {authority}: no answer")
            data = self.sock.recv(65536)
            if not data:
                self.closed_by_server = True
                break
            for ev in self.conn.receive_data(data):
                if isinstance(ev, h2events.ResponseReceived) and ev.stream_id == sid:
                    status = int(dict(ev.headers)[b":status"])
                elif isinstance(ev, h2events.DataReceived) and ev.stream_id == sid:
                    body += ev.data
                    self.conn.acknowledge_received_data(ev.flow_controlled_length, sid)
                elif isinstance(ev, (h2events.StreamEnded, h2events.StreamReset)) \
                        and ev.stream_id == sid:
                    done = True
                elif isinstance(ev, h2events.ConnectionTerminated):
                    self.closed_by_server = True
                    done = True
            out = self.conn.data_to_send()
            if out:
                self.sock.sendall(out)
        return status, body

    def close(self):
        self.sock.close()


def curl_h2(port, host, path="/cgi-bin/id.cgi"):
    """(status, http version, body) of curl --http2 over TLS."""
    res = phtest.run_tool(
        ["curl", "-sSk", "--http2", "--max-time", "15",
         "--resolve", f"{host}:{port}:127.0.0.1",
         "-w", "\n%{http_code} %{http_version}", f"https://{host}:{port}{path}"],
        timeout=30)
    body, _, tail = res.stdout.rpartition("\n")
    code, ver = (tail.split() + ["0", "?"])[:2]
    return int(code), ver, body


@pytest.mark.parametrize("env", ["alice", "bob"])
def test_curl_http2_each_environment_by_its_own_user(pair, env):
    for mpm in ("event", "ph"):
        code, ver, body = curl_h2(pair[mpm].tls, f"{env}.test")
        assert (code, ver) == (200, "2"), (mpm, code, ver, body)
    assert phtest.parse_id(body.encode())["uid"] == uid_of(env), body
    log = pair["ph"].tmp / f"{env}-tls-access.log"
    line = f'{env}.test HTTP/2.0 "GET /cgi-bin/id.cgi HTTP/2.0" 200 {env}.test'
    phtest.wait_for(lambda: log.exists() and line in log.read_text(), 10,
                    what=f"the HTTP/2.0 line in {env}'s TLS access log")


@pytest.mark.parametrize("first,other", [("alice", "bob"), ("bob", "alice")])
def test_second_stream_for_other_environment_gets_421(pair, first, other):
    # stock: mod_ssl refuses a stream whose host's TLS setup differs (421)
    got = {}
    for mpm in ("event", "ph"):
        c = H2TlsClient(pair[mpm].tls, f"{first}.test")
        try:
            assert c.alpn == "h2", (mpm, c.alpn)
            s1, b1 = c.get(f"{first}.test")
            s2, b2 = c.get(f"{other}.test")
            s3, b3 = c.get(f"{first}.test")
            got[mpm] = (s1, s2, s3, c.closed_by_server)
        finally:
            c.close()
        assert s1 == 200 and s3 == 200, (mpm, got)
        assert b"uid=" not in b2, (mpm, b2)
        if mpm == "ph":
            assert phtest.parse_id(b1)["uid"] == uid_of(first), b1
            assert phtest.parse_id(b3)["uid"] == uid_of(first), b3
    assert got["ph"] == (200, 421, 200, False), got
    assert got["ph"] == got["event"], got
