"""The multiplexer logs about a request it routes without dying.

To route, a multiplexer runs httpd's vhost functions on a scratch request
built from the peeked head.  Those functions log through the request at
debug level ("Replacing host header ...", a malformed or numeric Host),
and logging hands the request to every module's generate_log_id and
error_log hooks.  mod_unique_id's reads r->subprocess_env: a scratch
request without it killed the multiplexer (SIGSEGV), and with it every
connection it held, on a single request (issue 9: httpd-tests
t/apache/server_name_port.t, which runs with LogLevel debug and
mod_unique_id).  Each request here must get the status stock event gives,
and no child may die of a signal.
"""

import pytest

import phtest
from phtest import raw_exchange, vhost

CONF = """
Listen 127.0.0.1:@@PORT@@
User www-data
Group www-data
ThreadsPerChild 8
ThreadLimit 64
ServerLimit 16
MinMultiplexers 1
MaxMultiplexers 1
Timeout 10
LoadModule unique_id_module @@MODDIR@@/mod_unique_id.so
""" + vhost("alice.test", None, "alice") + vhost("bob.test", None, "bob")

CASES = {
    # absolute-form with a Host that differs: "Replacing host header"
    "absolute-uri-other-host": b"GET http://bob.test/ HTTP/1.1\r\nHost: alice.test\r\n"
                               b"Connection: close\r\n\r\n",
    "absolute-uri-same-host": b"GET http://alice.test/ HTTP/1.1\r\nHost: alice.test\r\n"
                              b"Connection: close\r\n\r\n",
    # strict host checks log before refusing
    "numeric-host": b"GET / HTTP/1.1\r\nHost: 12345\r\nConnection: close\r\n\r\n",
    "malformed-host": b"GET / HTTP/1.1\r\nHost: a b..c\r\nConnection: close\r\n\r\n",
    "ipv6-host": b"GET / HTTP/1.1\r\nHost: [::1]:123\r\nConnection: close\r\n\r\n",
}


@pytest.fixture(scope="module")
def pair(module_servers):
    return phtest.start_event_and_ph(module_servers, CONF, ["alice.test", "bob.test"],
                                     loglevel="debug")


def _outcome(srv, data):
    resp, raw = raw_exchange(srv.port, data)
    if resp is None:
        return None, raw[:200]
    return resp.status, resp.body


@pytest.mark.parametrize("name", sorted(CASES))
def test_mux_logs_on_scratch_request_and_answers_like_event(pair, name):
    data = CASES[name]
    want_status, want_body = _outcome(pair["event"], data)
    got_status, got_body = _outcome(pair["ph"], data)
    crashes = pair["ph"].log_lines(r"exit signal|[Ss]egmentation fault")
    assert not crashes, "\n".join(crashes)
    assert got_status == want_status, (got_status, got_body[:200])
    if want_status == 200:
        assert got_body == want_body
