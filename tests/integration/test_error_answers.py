"""Answers to requests that never route are httpd's own (issue 11).

A head httpd refuses (400, 414), a client too slow for its head (408, or a
logged close when not even the request line came) and a client that stops
sending inside its head are answered by httpd on the default server of the
connection's address: with that server's ErrorDocument, in its access log
and its error log, with httpd's message ids (AH00565, AH01382, ...).  An
operator's fail2ban rules and 4xx monitoring depend on those lines.

Before this, the multiplexer answered these itself: a fixed page, no log
line anywhere.  Now it hands such a connection to the environment of the
address's default vhost (alice here), whose httpd reads the head and
answers.  Each case runs on stock mpm_event and peruser_hybrid with the
same configuration, in the same test, and compares what a client and an
operator see.  The error page is also served by a CGI, which must report
the default vhost's environment user, never another's.
"""

import pwd
import re
import socket
import time

import pytest

import phtest
from phtest import RawConn, vhost

FMT = '"%>s \\"%r\\" %v"'
CONF = phtest.server_head(timeout=30) + """
LoadModule reqtimeout_module @@MODDIR@@/mod_reqtimeout.so
RequestReadTimeout header=2-4,MinRate=20
AcceptFilter http none
""" + phtest.TWO_PROCESSORS + vhost(
    "alice.test", "alice", "alice",
    "ErrorDocument 400 /errors/400.html",
    "ErrorDocument 408 /errors/408.html",
    "ErrorDocument 414 /errors/414.html",
    f"CustomLog @@TMP@@/alice_access.log {FMT}",
    "ErrorLog @@TMP@@/alice_error.log",
) + vhost(
    "bob.test", "bob", "bob",
    "ErrorDocument 400 /errors/bob400.html",
    f"CustomLog @@TMP@@/bob_access.log {FMT}",
    "ErrorLog @@TMP@@/bob_error.log",
) + "Listen 127.0.0.1:@@PORT2@@\n" + vhost(
    # the second address: alice's vhost first (its default), logging to
    # the main error log
    "alice2.test", "alice", "alice", port="@@PORT2@@",
) + vhost("bob2.test", "bob", "bob", port="@@PORT2@@")


def _error_pages(www):
    """The error pages, in the doc roots both servers share."""
    for name, text in (("alice", "alice says 400"), ("bob", "bob says 400")):
        d = www / name / "errors"
        d.mkdir(mode=0o755, exist_ok=True)
        (d / ("400.html" if name == "alice" else "bob400.html")).write_text(text + "\n")
        if name == "alice":
            (d / "408.html").write_text("alice says 408\n")
            (d / "414.html").write_text("alice says 414\n")


@pytest.fixture(scope="module")
def pair(module_servers):
    servers = phtest.start_event_and_ph(module_servers, CONF, ["alice.test", "bob.test"],
                                        extra_ports=["port2"])
    _error_pages(servers["ph"].tmp.parent / "www")
    return servers


class LogMark:
    """What a server's alice/bob logs gained since the mark."""

    def __init__(self, srv):
        self.srv = srv
        self.at = {f: self._size(f) for f in self.FILES}

    FILES = ("alice_access.log", "alice_error.log", "bob_access.log", "bob_error.log")

    def _size(self, f):
        p = self.srv.tmp / f
        return p.stat().st_size if p.exists() else 0

    def new(self, f):
        p = self.srv.tmp / f
        if not p.exists():
            return ""
        with open(p, "rb") as fh:
            fh.seek(self.at[f])
            return fh.read().decode("utf-8", "replace")

    def wait_access_line(self, timeout=10):
        """The new alice access-log line (logs are written after the answer)."""
        phtest.wait_for(lambda: self.new("alice_access.log").strip(), timeout,
                        what=f"{self.srv.name}: an alice access-log line")
        return self.new("alice_access.log").strip()

    def ah_ids(self):
        return sorted(set(re.findall(r"AH\d{5}", self.new("alice_error.log"))))


def exchange(port, data, wait=15, slow=0.0):
    """Send data (byte by byte every `slow` s when set), read to the close:
    (status or None, body, seconds)."""
    t0 = time.monotonic()
    with RawConn(port, timeout=wait) as c:
        try:
            if slow:
                for i in range(len(data)):
                    c.send(data[i:i + 1])
                    time.sleep(slow)
            else:
                c.send(data)
        except OSError:
            pass
        got = c.wait_closed(wait)
    took = time.monotonic() - t0
    head, _, body = got.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.1 (\d{3})", head)
    return (int(m.group(1)) if m else None), body, took


CASES = {
    # name: (bytes, send one byte every s (0: at once), what stock gives)
    "bad-request-line": (b"GET / HTTP/1.1 junk\r\nHost: bob.test\r\n\r\n", 0, 400),
    "uri-too-long": (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: bob.test\r\n\r\n", 0, 414),
    "bad-host": (b"GET / HTTP/1.1\r\nHost: bo b.test\r\n\r\n", 0, 400),
    "no-host-http11": (b"GET / HTTP/1.1\r\n\r\n", 0, 400),
    # the head never ends: header=2-4 (MinRate 20 bytes/s) is over
    "head-stalls": (b"GET / HTTP/1.1\r\nHost: bob.test\r\nX-A: b\r\n", 0, 408),
    # not even the request line: httpd logs a 408 and closes, no answer
    "request-line-stalls": (b"GET / HT", 0, None),
    "nothing-sent": (b"", 0, None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_refused_head_answered_and_logged_as_stock(pair, case):
    data, _slow, stock_status = CASES[case]
    seen = {}
    for name in ("event", "ph"):
        srv = pair[name]
        mark = LogMark(srv)
        status, body, took = exchange(srv.port, data)
        line = mark.wait_access_line()
        # the AH ids come with or before the access line; bob's logs stay empty
        seen[name] = {
            "status": status,
            "body": body.decode("latin-1").strip() if status else "",
            "access": re.sub(r"a{50,}", "a...", line),
            "ah": mark.ah_ids(),
            "bob": (mark.new("bob_access.log"), mark.new("bob_error.log")),
            "took": took,
        }
    print(case, seen)
    assert seen["event"]["status"] == stock_status, seen
    for key in ("status", "body", "access", "ah", "bob"):
        assert seen["ph"][key] == seen["event"][key], (key, seen)
    # the same time to the answer (the head-read policy's), well before Timeout
    assert abs(seen["ph"]["took"] - seen["event"]["took"]) <= 1.5, seen


def test_refusal_written_by_default_vhost_user(pair):
    """The process that answers and logs a refused request runs as the user
    of the default vhost's environment: the Host names bob's vhost, yet
    httpd refuses the overlong request line on the address's default
    server (alice's), so alice's processor writes the AH00565 line and
    bob's user has no part in it."""
    alice = pwd.getpwnam("alice").pw_uid
    ph, event = pair["ph"], pair["event"]
    data = b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: bob2.test\r\n\r\n"
    before = len(ph.log_lines(r"AH00565"))
    status_e, _, _ = exchange(event.port2, data)
    status_p, _, _ = exchange(ph.port2, data)
    assert status_p == status_e == 414
    phtest.wait_for(lambda: len(ph.log_lines(r"AH00565")) > before, 10,
                    what="the AH00565 line in the main error log (alice2 has no ErrorLog)")
    line = ph.log_lines(r"AH00565")[-1]
    pid = int(re.search(r"\[pid (\d+)", line).group(1))
    ids = phtest.proc_uids(pid)
    assert ids is not None, f"the answering process {pid} is gone: {line}"
    assert ids[0] == (alice,) * 4, (line, ids)


def test_no_environment_left_holding_the_connection(pair):
    """After the cases, both environments still serve and the multiplexer
    kept no connection: a fresh request to each answers at once."""
    for host in ("alice.test", "bob.test"):
        r = phtest.http_get(pair["ph"].port, host, "/")
        assert r.status == 200 and host.split(".")[0].encode() in r.body
    crashes = pair["ph"].log_lines(r"exit signal|Segmentation|Aborted|assert")
    assert not crashes, crashes
