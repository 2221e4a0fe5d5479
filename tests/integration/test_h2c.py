"""h2c with prior knowledge (issue 11, "Front ends"): a client that opens
with the HTTP/2 preface (curl --http2-prior-knowledge, a front proxy
speaking cleartext HTTP/2 to its backend) is routed on its first request's
:authority, served by mod_http2 in that environment's processor, and a
later stream for another environment's vhost gets 421 on that stream only.

Before, the multiplexer parsed the preface as an HTTP/1 head and answered
an HTTP/1.1 400.  Each case runs beside stock mpm_event on the same
configuration.
"""

import pwd
import socket
import time

import pytest

import phtest
from phtest import vhost

pytest.importorskip("h2.connection")
import h2.config  # noqa: E402  (after the skip check)
import h2.connection  # noqa: E402
from h2client import H2Client  # noqa: E402

H2C = "Protocols h2c http/1.1"

CONF = """
Listen 127.0.0.1:@@PORT@@
Listen 127.0.0.1:@@NOH2@@
Listen 127.0.0.1:@@H2SET@@
User www-data
Group www-data
ThreadsPerChild 8
ThreadLimit 64
ServerLimit 16
MinMultiplexers 1
Timeout 10
LoadModule http2_module @@MODDIR@@/mod_http2.so
LogFormat "%v %H \\"%r\\" %>s" protolog
""" + phtest.TWO_PROCESSORS + (
    vhost("alice.test", "alice", "alice", H2C,
          "CustomLog @@TMP@@/alice_access.log protolog")
    + vhost("bob.test", "bob", "bob", H2C,
            "CustomLog @@TMP@@/bob_access.log protolog")
    # an address whose default server does not allow h2c
    + vhost("alice.test", "alice", "alice", port="@@NOH2@@")
    + vhost("bob.test", "bob", "bob", port="@@NOH2@@")
    # an address whose default server (alice's) and bob's vhost set the
    # session's HTTP/2 settings differently
    + vhost("alice.test", "alice", "alice", H2C, "H2MaxSessionStreams 7",
            "H2WindowSize 40000", port="@@H2SET@@")
    + vhost("bob.test", "bob", "bob", H2C, "H2MaxSessionStreams 13",
            "H2WindowSize 50000", port="@@H2SET@@"))

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


@pytest.fixture(scope="module")
def pair(module_servers):
    return phtest.start_event_and_ph(module_servers, CONF, ["alice.test"],
                                     extra_ports=["noh2", "h2set"])


def uid_of(name):
    return pwd.getpwnam(name).pw_uid


def curl_h2(port, host, path="/cgi-bin/id.cgi"):
    """(status, http version, body) of curl --http2-prior-knowledge."""
    res = phtest.run_tool(
        ["curl", "-sS", "--http2-prior-knowledge", "--max-time", "15",
         "--resolve", f"{host}:{port}:127.0.0.1",
         "-w", "\n%{http_code} %{http_version}", f"http://{host}:{port}{path}"],
        timeout=30)
    body, _, tail = res.stdout.rpartition("\n")
    code, ver = tail.split()
    return int(code), ver, body


def test_curl_prior_knowledge_each_environment(pair):
    for name in ("alice", "bob"):
        for mpm in ("event", "ph"):
            code, ver, body = curl_h2(pair[mpm].port, f"{name}.test")
            assert (code, ver) == (200, "2"), (mpm, name, code, ver, body)
        assert phtest.parse_id(body.encode())["uid"] == uid_of(name), body
    # mod_http2 served it (the processor's access log says HTTP/2.0; the
    # line is written after the response, so poll for it)
    log = pair["ph"].tmp / "bob_access.log"
    line = 'bob.test HTTP/2.0 "GET /cgi-bin/id.cgi HTTP/2.0" 200'
    phtest.wait_for(lambda: log.exists() and line in log.read_text(), 10,
                    what="the HTTP/2.0 line in bob's access log")


@pytest.mark.parametrize("first,other", [("alice", "bob"), ("bob", "alice")])
def test_second_stream_for_other_environment_gets_421(pair, first, other):
    # stock: every stream is served
    c = H2Client.h2c(pair["event"].port)
    try:
        assert c.get(f"{first}.test")[0] == 200
        assert c.get(f"{other}.test")[0] == 200
    finally:
        c.close()
    c = H2Client.h2c(pair["ph"].port)
    try:
        status, body = c.get(f"{first}.test")
        assert status == 200 and phtest.parse_id(body)["uid"] == uid_of(first), body
        status, body = c.get(f"{other}.test")
        assert status == 421, (status, body)
        assert b"uid=" not in body
        # the connection and its other streams go on
        assert not c.closed_by_server
        status, body = c.get(f"{first}.test")
        assert status == 200 and phtest.parse_id(body)["uid"] == uid_of(first), body
    finally:
        c.close()


def test_session_settings_are_the_default_vhosts(pair):
    """mod_http2 sets an h2c session up on the connection's base server,
    the address's default vhost (alice's here), whatever vhost the
    requests name: a client asking bob.test sees alice's
    SETTINGS_MAX_CONCURRENT_STREAMS and INITIAL_WINDOW_SIZE under stock
    event, and so under ph, served by bob's environment all the same."""
    seen = {}
    for mpm in ("event", "ph"):
        c = H2Client.h2c(pair[mpm].h2set)
        try:
            status, body = c.get("bob.test")
            assert status == 200, (mpm, status, body)
            if mpm == "ph":
                assert phtest.parse_id(body)["uid"] == uid_of("bob"), body
            rs = c.conn.remote_settings
            seen[mpm] = (rs.max_concurrent_streams, rs.initial_window_size)
        finally:
            c.close()
    assert seen["event"] == (7, 40000), seen
    assert seen["ph"] == seen["event"], seen


# -- what stock answers, side by side ----------------------------------------

def h2_request_bytes(authority, extra=()):
    """Preface, SETTINGS and one GET's HEADERS (+ CONTINUATION) as a real
    client sends them."""
    c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    c.initiate_connection()
    c.send_headers(1, [(":method", "GET"), (":scheme", "http"),
                       (":authority", authority), (":path", "/index.html"),
                       *extra], end_stream=True)
    return c.data_to_send()


def frames_of(data):
    """[(type, flags, stream, payload)] of the whole frames in data."""
    out, pos = [], 0
    while len(data) - pos >= 9:
        n = int.from_bytes(data[pos:pos + 3], "big")
        if len(data) - pos - 9 < n:
            break
        out.append((data[pos + 3], data[pos + 4],
                    int.from_bytes(data[pos + 5:pos + 9], "big") & 0x7fffffff,
                    data[pos + 9:pos + 9 + n]))
        pos += 9 + n
    return out


def outcome(data):
    """What a client sees: 'closed', 'http/1 <status>', or the HTTP/2
    answer: the :status of stream 1 and the GOAWAY error code."""
    if not data:
        return "closed"
    if data.startswith(b"HTTP/1."):
        return "http/1 " + data.split(b" ", 2)[1].decode()
    status, goaway, reset = None, None, None
    dec = None
    for ftype, flags, sid, payload in frames_of(data):
        if ftype == 7:
            goaway = int.from_bytes(payload[4:8], "big")
        elif ftype == 3 and sid == 1:
            reset = int.from_bytes(payload[:4], "big")
        elif ftype == 1 and sid == 1:
            import hpack
            dec = dec or hpack.Decoder()
            block = payload
            if flags & 0x8:
                block = block[1:len(block) - block[0]]
            if flags & 0x20:
                block = block[5:]
            status = dict(dec.decode(block)).get(":status")
    return f"h2 status={status} reset={reset} goaway={goaway}"


def done(data):
    if data.startswith(b"HTTP/1."):
        return False        # read to the close
    for ftype, flags, sid, _ in frames_of(data):
        if ftype == 7 or (ftype == 3 and sid == 1) \
                or (sid == 1 and ftype in (0, 1) and flags & 0x1):
            return True
    return False


def exchange(port, data, fin=False, limit=20):
    """Send data (then FIN if asked), read until the answer is complete or
    the server closes: (outcome, seconds)."""
    t0 = time.monotonic()
    got = b""
    with socket.create_connection(("127.0.0.1", port), timeout=limit) as s:
        try:
            s.sendall(data)
            if fin:
                s.shutdown(socket.SHUT_WR)
            while not done(got):
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        except (ConnectionResetError, BrokenPipeError):
            pass
        except socket.timeout:
            raise AssertionError(f"no end within {limit}s: {got[:200]!r}")
    return outcome(got), time.monotonic() - t0


BIG = [("x-big", "v" * 100000)]

CASES = {
    # (bytes, FIN after them, port name)
    "alice": (h2_request_bytes("alice.test"), False, "port"),
    "no-h2c-address": (h2_request_bytes("bob.test"), False, "noh2"),
    "no-h2c-preface-only": (PREFACE, True, "noh2"),
    "truncated-preface": (PREFACE[:16], True, "port"),
    "preface-then-fin": (PREFACE, True, "port"),
    "bad-preface": (b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n", True, "port"),
    "data-before-settings": (PREFACE + b"\x00\x00\x04\x00\x00\x00\x00\x00\x01abcd",
                             False, "port"),
    "oversized-frame": (PREFACE + b"\xff\xff\xff\x04\x00\x00\x00\x00\x00", False, "port"),
    "garbage-hpack": (PREFACE + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
                      + b"\x00\x00\x03\x01\x05\x00\x00\x00\x01\xff\xff\xff",
                      False, "port"),
    "huge-headers-alice": (h2_request_bytes("alice.test", BIG), False, "port"),
    "huge-headers-bob": (h2_request_bytes("bob.test", BIG), False, "port"),
}


def multiplexers(server):
    www = pwd.getpwnam("www-data").pw_uid
    return {pid for pid, ids in server.children().items() if ids[0][1] == www}


@pytest.mark.parametrize("name", sorted(CASES))
def test_preface_answered_as_stock(pair, name):
    data, fin, port = CASES[name]
    muxes = multiplexers(pair["ph"])
    want, _ = exchange(getattr(pair["event"], port), data, fin)
    got, secs = exchange(getattr(pair["ph"], port), data, fin)
    assert got == want, (name, got, want)
    assert secs < 15, (name, secs)
    # no multiplexer crashed on it
    assert muxes and multiplexers(pair["ph"]) == muxes

