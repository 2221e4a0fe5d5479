"""What the error log tells an operator (issue 11, "operator-facing noise"):

- PH00301 warns that the main server has no ServerEnvironment only where a
  request can reach the main server: a Listen address that no
  <VirtualHost> names.  With every address covered it says nothing.
- After graceful restarts, a hard restart and a stop, no AH00546 ("no
  record of generation N of exiting child"): every child the MPM reports
  as exited was reported as started in the same generation, as stock
  event's are.
"""

import phtest
from phtest import http_get, vhost

ENVS = phtest.TWO_PROCESSORS + vhost("alice.test", "alice", "alice") \
    + vhost("bob.test", "bob", "bob")

COVERED = phtest.server_head() + ENVS

# a second Listen that no vhost names: its requests reach the main server
UNCOVERED = phtest.server_head() + "Listen 127.0.0.1:@@PORT2@@\n" + ENVS


def start(servers, template):
    port, port2 = phtest.free_port(), phtest.free_port()
    while port2 == port:
        port2 = phtest.free_port()
    srv = servers(template, values={"PORT": port, "PORT2": port2})
    srv.start(ready_hosts=["alice.test", "bob.test"], port=port)
    srv.port, srv.port2 = port, port2
    return srv


def test_main_server_warning_only_where_it_can_be_reached(servers, tree):
    srv = start(servers, COVERED)
    assert not srv.log_lines(r"PH00301: the main server"), srv.log_text()[-2000:]
    srv.stop()
    srv = start(servers, UNCOVERED)
    assert srv.log_lines(r"PH00301: the main server"), srv.log_text()[-2000:]
    # and indeed it answers there (503: no environment)
    assert http_get(srv.port2, "anything.test", "/").status == 503


def test_no_unrecorded_generation_after_restarts_and_stop(servers, tree, env_users):
    srv = start(servers, COVERED)
    for how in ("graceful", "graceful", "restart"):
        assert srv.apache("-k", how).returncode == 0
        srv.wait_ready(srv.port, "alice.test", 20)
        assert http_get(srv.port, "bob.test", "/cgi-bin/id.cgi").status == 200
    text_before_stop = srv.log_text()
    srv.stop()
    text = srv.log_text()
    assert "AH00546" not in text, [ln for ln in text.splitlines() if "AH00546" in ln][:5]
    assert len(text) >= len(text_before_stop)
