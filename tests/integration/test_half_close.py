"""A client that stops sending inside the request head (shutdown(SHUT_WR)
or close after a partial head) gets what stock httpd gives it, at once.

httpd reads to the end of what was sent and answers 400 when the request
line was complete, or closes without an answer when it was not.  The
multiplexer only peeks at the head: it used to wait for Timeout before
answering 408, and its close, with the peeked bytes still unread, reset
the connection (httpd-tests t/apache/http_strict.t died on the reset).
Each case here must give event's status (None = closed without an
answer), end in a clean EOF rather than a reset, and come well before
Timeout.
"""

import pytest

import phtest
from phtest import vhost

TIMEOUT = 30        # the server's Timeout; answers must come long before
CLIENT_WAIT = 10    # seconds a client waits for the answer and the EOF

CONF = f"""
Listen 127.0.0.1:@@PORT@@
User www-data
Group www-data
ThreadsPerChild 8
ThreadLimit 64
ServerLimit 16
MinMultiplexers 1
Timeout {TIMEOUT}
""" + vhost("alice.test", None, "alice")

CASES = {
    "cr-cr-no-line-end": b"GET / HTTP/1.0\r\r",
    "request-line-only-no-end": b"GET /",
    "request-line-then-eof": b"GET / HTTP/1.0\r\n",
    "field-then-eof": b"GET / HTTP/1.0\r\nFoo: bar\r\n",
    "host-then-eof": b"GET / HTTP/1.1\r\nHost: alice.test\r\n",
    "bad-host-then-cr": b"GET / HTTP/1.0\r\nHost: localhost:80 x\r\n\r",
    # refused by the multiplexer itself: its 400 must end in EOF, not reset
    "bad-request-line": b"G ET / HTTP/1.0\r\n\r\n",
    "complete-head": b"GET / HTTP/1.0\r\nHost: alice.test\r\n\r\n",
    "http09": b"GET /\r\n",
}


@pytest.fixture(scope="module")
def pair(module_servers):
    return phtest.start_event_and_ph(module_servers, CONF, ["alice.test"])


def half_close_exchange(port, data):
    """Send data, shut down our sending side, read to EOF.

    Returns (status or None, 'eof' or 'reset', seconds it took)."""
    r = phtest.script_exchange(port, [data, "FIN"], CLIENT_WAIT)
    assert r.end != "open", r
    status = None
    if r.data.startswith(b"HTTP/1."):
        status = int(r.data.split(b" ", 2)[1])
    elif r.data:
        status = "0.9-body"
    return status, r.end, r.t_close


@pytest.mark.parametrize("name", sorted(CASES))
def test_half_closed_head_answered_like_event(pair, name):
    data = CASES[name]
    want = half_close_exchange(pair["event"].port, data)
    got = half_close_exchange(pair["ph"].port, data)
    assert want[1] == "eof", f"event itself reset: {want}"
    assert got[:2] == want[:2], f"ph {got} vs event {want}"
    assert got[2] < TIMEOUT / 2, f"ph took {got[2]:.1f}s"
