"""tls_hello.c beside OpenSSL on the same bytes.

Each case is a ClientHello crafted from a real one (curl's, captured in
tests/fuzz/corpus/tls_hello/curl_h2) with one defect or one oddity.  It is
sent to `openssl s_server` (the OpenSSL that mod_ssl uses on this system)
and given to the parser (build/out/tls_hello_probe), and both answers are
checked against the table below:

  * "ok": OpenSSL answers with a ServerHello, the parser says OK;
  * an alert number: OpenSSL sends that fatal alert, the parser says
    MALFORMED with that alert (0: OpenSSL closes without an alert);
  * ("ok", alert): the parser says OK and leaves the judgement to the
    environment's OpenSSL, which sends that alert (a defect in a part of
    the hello that routing does not read).

So a refusal by the parser is always a refusal by OpenSSL with the same
alert -- routing a MALFORMED hello by address makes the environment's
OpenSSL answer exactly as stock -- and an OpenSSL-accepted hello is never
refused for routing.  Run by `make tls-hello-vs-openssl` (build/test.sh).
"""
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PROBE = os.path.join(ROOT, "build", "out", "tls_hello_probe")
CAPTURE = os.path.join(ROOT, "tests", "fuzz", "corpus", "tls_hello",
                       "curl_h2")


# ---- building hellos ------------------------------------------------------

def record(body, typ=22, ver=b"\x03\x01"):
    return bytes([typ]) + ver + struct.pack(">H", len(body)) + body


def split_hello(msg):
    """(fields before the extensions, [(type, data)]) of a ClientHello."""
    b = msg[4:]
    p = 2 + 32
    p += 1 + b[p]
    p += 2 + struct.unpack(">H", b[p:p + 2])[0]
    p += 1 + b[p]
    total = struct.unpack(">H", b[p:p + 2])[0]
    ext, pre = b[p + 2:p + 2 + total], b[:p]
    out, q = [], 0
    while q < len(ext):
        t, n = struct.unpack(">HH", ext[q:q + 4])
        out.append((t, ext[q + 4:q + 4 + n]))
        q += 4 + n
    return pre, out


def build(pre, exts):
    e = b"".join(struct.pack(">HH", t, len(d)) + d for t, d in exts)
    body = pre + struct.pack(">H", len(e)) + e
    return b"\x01" + struct.pack(">I", len(body))[1:] + body


def sni(name):
    return (struct.pack(">H", len(name) + 3) + b"\x00"
            + struct.pack(">H", len(name)) + name)


def alpn(names):
    lst = b"".join(bytes([len(n)]) + n for n in names)
    return struct.pack(">H", len(lst)) + lst


def head(pre, sid=None, suites=None, comp=None):
    p = 34
    sid0 = pre[p + 1:p + 1 + pre[p]]
    p += 1 + pre[p]
    n = struct.unpack(">H", pre[p:p + 2])[0]
    suites0 = pre[p + 2:p + 2 + n]
    p += 2 + n
    comp0 = pre[p + 1:p + 1 + pre[p]]
    sid = sid0 if sid is None else sid
    suites = suites0 if suites is None else suites
    comp = comp0 if comp is None else comp
    return (pre[:34] + bytes([len(sid)]) + sid + struct.pack(">H", len(suites))
            + suites + bytes([len(comp)]) + comp)


def cases():
    wire = open(CAPTURE, "rb").read()
    msg = wire[5:]
    pre, exts = split_hello(msg)
    others = [(t, d) for t, d in exts if t not in (0, 16)]
    alpn0 = [(t, d) for t, d in exts if t == 16]

    def with_sni(data, dup=False):
        return build(pre, [(0, data)] + ([(0, data)] if dup else [])
                     + alpn0 + others)

    def with_alpn(data, dup=False):
        return build(pre, [(0, sni(b"a.example"))] + others + [(16, data)]
                     + ([(16, data)] if dup else []))

    def frag(m, size, ver=b"\x03\x01"):
        return b"".join(record(m[i:i + size], ver=ver)
                        for i in range(0, len(m), size))

    unpadded = [(t, d) for t, d in exts if t != 21]   # curl pads (21)

    def pad_to(total):
        fill = total - len(build(pre, unpadded)) - 4
        return build(pre, unpadded + [(21, b"\x00" * fill)])

    return {
        # accepted, and routed by the server name
        "as captured": (wire, "ok"),
        "one-byte records": (frag(msg, 1), "ok"),
        "7-byte records, TLS 1.2 record version": (frag(msg, 7, b"\x03\x03"),
                                                   "ok"),
        "32 empty records first": (record(b"") * 32 + wire, "ok"),
        "record version 3.0": (record(msg, ver=b"\x03\x00"), "ok"),
        "record version 3.5": (record(msg, ver=b"\x03\x05"), "ok"),
        "record of 2^14 bytes": (record(pad_to(16384)), "ok"),
        "server_name of 255 bytes": (record(with_sni(sni(b"a" * 255))), "ok"),
        "server_name with a space (no SNI)":
            (record(with_sni(sni(b"a b.example"))), "ok"),
        "empty server_name (no SNI)": (record(with_sni(sni(b""))), "ok"),
        "GREASE ALPN name": (record(with_alpn(alpn([b"\x0a\x0a", b"h2"]))),
                             "ok"),
        "two unknown extensions of one type":
            (record(build(pre, exts + [(0x1a1a, b""), (0x1a1a, b"")])), "ok"),
        # refused at the record layer
        "33 empty records first": (record(b"") * 33 + wire, 10),
        "record of 2^14 + 1 bytes": (record(pad_to(16385)), 22),
        "record version 2.1": (record(msg, ver=b"\x02\x01"), 0),
        "alert record inside the hello":
            (record(msg[:10]) + record(b"\x01\x00", typ=21)
             + record(msg[10:]), 10),
        "ChangeCipherSpec inside the hello":
            (record(msg[:10]) + record(b"\x01", typ=20) + record(msg[10:]),
             10),
        "ServerHello instead": (record(b"\x02" + msg[1:]), 10),
        "a byte after the hello in its record": (record(msg + b"\x00"), 10),
        # refused in the ClientHello
        "session id of 33 bytes": (record(build(head(pre, sid=b"s" * 33),
                                                exts)), 50),
        "odd cipher suites": (record(build(head(pre, suites=b"\x13\x01\x13"),
                                           exts)), 50),
        "no cipher suites": (record(build(head(pre, suites=b""), exts)), 47),
        "no compression methods": (record(build(head(pre, comp=b""), exts)),
                                   50),
        "no null compression": (record(build(head(pre, comp=b"\x01"), exts)),
                                50),
        "message one byte short":
            (record(msg[:1] + struct.pack(">I", len(msg) - 5)[1:]
                    + msg[4:-1]), 50),
        "two server_name extensions":
            (record(with_sni(sni(b"a.example"), dup=True)), 47),
        "two server_name entries":
            (record(with_sni(struct.pack(">H", 24)
                             + (b"\x00\x00\x09a.example") * 2)), 50),
        "server_name of 256 bytes": (record(with_sni(sni(b"a" * 256))), 112),
        "server_name with a NUL": (record(with_sni(sni(b"a.ex\x00ample"))),
                                   112),
        "ALPN with an empty name": (record(with_alpn(alpn([b"h2", b""]))),
                                    50),
        "ALPN with an empty list": (record(with_alpn(b"\x00\x00")), 50),
        "two ALPN extensions": (record(with_alpn(alpn([b"h2"]), dup=True)),
                                47),
        # accepted for routing, refused by the environment's OpenSSL
        "two padding extensions":
            (record(build(pre, unpadded + [(21, b"\x00"), (21, b"\x00")])),
             ("ok", 47)),
    }


# ---- running both ---------------------------------------------------------

@pytest.fixture(scope="module")
def s_server():
    subprocess.run(["make", "-s", "tls-hello-probe"], cwd=ROOT, check=True)
    tmp = tempfile.mkdtemp(prefix="tls_hello_openssl.")
    key, cert = os.path.join(tmp, "k.pem"), os.path.join(tmp, "c.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                    "-subj", "/CN=a.example"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    srv = subprocess.Popen(["openssl", "s_server", "-quiet", "-accept",
                            f"127.0.0.1:{port}", "-cert", cert, "-key", key],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or srv.poll() is not None:
                srv.kill()
                pytest.fail("openssl s_server did not start")
            time.sleep(0.1)
    yield port
    srv.terminate()
    srv.wait(timeout=10)
    shutil.rmtree(tmp)


def openssl_answer(port, data):
    """"ok" (a ServerHello came), the alert number, or 0 (closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        got = b""
        deadline = time.monotonic() + 10
        while len(got) < 7 and time.monotonic() < deadline:
            try:
                chunk = s.recv(4096)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            got += chunk
    if got[:1] == b"\x16" and got[5:6] == b"\x02":
        return "ok"
    if got[:1] == b"\x15" and len(got) >= 7:
        return got[6]
    assert got == b"", f"unexpected answer {got[:16].hex()}"
    return 0


def probe(data, tmp_path):
    path = tmp_path / "hello"
    path.write_bytes(data)
    out = subprocess.run([PROBE, str(path)], check=True, capture_output=True,
                         text=True).stdout.split()
    return out[1], int(out[2])


@pytest.mark.parametrize("name", list(cases()))
def test_parser_refuses_as_openssl(name, s_server, tmp_path):
    data, want = cases()[name]
    verdict, alert = probe(data, tmp_path)
    got = openssl_answer(s_server, data)
    if want == "ok":
        assert (verdict, got) == ("OK", "ok")
    elif isinstance(want, tuple):
        assert (verdict, got) == ("OK", want[1])
    else:
        assert (verdict, alert, got) == ("MALFORMED", want, want)
