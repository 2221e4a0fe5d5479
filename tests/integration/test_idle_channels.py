"""An environment's channels are closed again once nothing can use them
(issue 13): the parent's descriptors follow the environments in use, not
every environment asked once in a generation.

Seen from outside: /proc/PID/fd of the parent.  Six environments are
asked (each answers from its own user), their processors and factories
retire (IdleTimeout 1), and the parent's descriptors come back to what
they were before; the same six asked again are all answered, by the right
users, although the multiplexer still held the send ends of the closed
channels (its handoff fails with EPIPE and it asks for the new ones).
Before, the parent kept four descriptors per environment ever asked until
the next graceful restart.
"""

import os

import pytest

import phtest
from phtest import http_get, parse_id, vhost, wait_for

ENVS = 6


def conf(image):
    parts = [phtest.server_head(threads=2, server_limit=32, muxes=1),
             f"IdleTimeout 1\nProcessorImage {image}\n"]
    for i in range(1, ENVS + 1):
        user = phtest.ENV_USERS[i % 2]
        parts.append(phtest.processor(f"t{i}", user, MinProcessors=0,
                                      MinSpareProcessors=0))
        parts.append(vhost(f"t{i}.test", f"t{i}", user))
    parts.append(vhost("probe.test", None, "main"))
    return "".join(parts)


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def ask_all(srv, env_users):
    for i in range(1, ENVS + 1):
        r = http_get(srv.port, f"t{i}.test", "/cgi-bin/id.cgi", timeout=60)
        assert r.status == 200, (i, r)
        want = env_users[phtest.ENV_USERS[i % 2]][0]
        assert parse_id(r.body)["uid"] == want, (i, r.body)


@pytest.mark.parametrize("image", ["exec", "fork"])
def test_unused_channels_are_closed_and_made_again(servers, tree, env_users, image):
    port = phtest.free_port()
    srv = servers(conf(image), values={"PORT": port}, loglevel="warn")
    srv.start(ready_hosts=["probe.test"], port=port)
    srv.port = port
    parent = srv.parent_pid
    before = fd_count(parent)

    ask_all(srv, env_users)
    used = fd_count(parent)
    # two channels of two ends each, per environment asked
    assert used >= before + 4 * ENVS, (before, used)

    # processors, then factories, retire after IdleTimeout; then the
    # channels go (10 s after the last user: parent_channels.c)
    wait_for(lambda: fd_count(parent) <= before + 2, 120, interval=0.5,
             what=f"the parent back to about {before} descriptors "
                  f"(had {used}; now {fd_count(parent)})")

    # the multiplexer still holds the old send ends: every environment
    # is served again all the same, by its own user
    ask_all(srv, env_users)
    assert fd_count(parent) >= before + 4 * ENVS
    assert srv.parent_pid == parent and phtest.pid_alive(parent)
