"""Programs a processor forks and execs (a CGI under mod_cgi, a filter
under mod_ext_filter) get their pipes, however many Listen lines there are.

A processor closes the listening sockets it inherits.  It used to close
them behind APR's back, leaving their pool cleanups registered; APR runs
those cleanups in every child it forks before exec, so they closed
whatever held those descriptor numbers by then -- with a dozen Listen
lines, the very pipes meant to become the child's stdin and stdout: CGIs
answered 500, filters returned nothing (httpd-tests t/modules/ext_filter.t).
"""

import pwd

import pytest

import phtest
from phtest import http_get, vhost

LISTENS = 12

CONF = """
Listen 127.0.0.1:@@PORT@@
@@LISTENS@@
User www-data
Group www-data
ThreadsPerChild 8
ThreadLimit 64
ServerLimit 16
MinMultiplexers 1
Timeout 10
LoadModule ext_filter_module @@MODDIR@@/mod_ext_filter.so
ExtFilterDefine upper mode=output cmd="/bin/sed s,hello,HELLO,g"
<Location /index.html>
    SetOutputFilter upper
</Location>
""" + vhost("alice.test", None, "alice")


@pytest.fixture(scope="module")
def server(module_servers):
    port = phtest.free_port()
    listens = "\n".join(f"Listen 127.0.0.1:{phtest.free_port()}" for _ in range(LISTENS))
    srv = module_servers(CONF, values={"PORT": port, "LISTENS": listens}, name="ph")
    srv.start(ready_hosts=["alice.test"], port=port)
    srv.port = port
    return srv


@pytest.mark.parametrize("round_no", range(3))
def test_cgi_gets_its_pipes(server, round_no):
    r = http_get(server.port, "alice.test", "/cgi-bin/id.cgi")
    assert r.status == 200, r.body[:300]
    assert phtest.parse_id(r.body)["uid"] == pwd.getpwnam("www-data").pw_uid, r.body


@pytest.mark.parametrize("round_no", range(3))
def test_ext_filter_gets_its_pipes(server, round_no):
    r = http_get(server.port, "alice.test", "/index.html")
    assert r.status == 200
    assert r.body == b"<html><body>HELLO from alice</body></html>\n"
