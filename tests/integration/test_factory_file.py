"""An environment's factory file holds no other environment's <Processor>
block (issue 13: at N environments those were most of the file the parent
writes on every cold start and the factory reads twice).

t1..t4, one vhost each on one address, t1's first (the address's
default); the main server's environment is t2 (t2.test has no
ServerEnvironment of its own and inherits it), and t4 is the
StatusEnvironment.

- t3's file holds its own block, the main server's environment's (a
  ServerEnvironment at server level must find it) and the
  StatusEnvironment's, each with its index in the whole configuration; no
  other block and no other environment's name in a ServerEnvironment:
  the other vhosts are stubs marked as another's.  t4's (the
  StatusEnvironment lists every environment) holds every block.
- What a client sees is what it saw with every block there: each tenant
  is served as its own user; on a kept-alive connection t3 serves, a
  request for another tenant's name, or for a name no vhost has (which
  falls to the address's default, t1's stub), is 421; a name no vhost
  has, on a new connection, is served by the default vhost, t1.
"""
import pwd
import re

import phtest
from phtest import vhost

USERS = {"t1": "alice", "t2": "bob", "t3": "bob", "t4": "alice"}


def conf():
    text = phtest.server_head(threads=4, server_limit=24)
    text += "ServerEnvironment t2\nStatusEnvironment t4\n"
    for env, user in USERS.items():
        text += phtest.processor(env, user, MinProcessors=0, MinSpareProcessors=0)
    for env, user in USERS.items():
        text += vhost(f"{env}.test", None if env == "t2" else env, user)
    return text


def env_file(srv, env):
    files = list((srv.run_dir / "peruser_hybrid").glob(f"env-{env}.*.conf"))
    assert len(files) == 1, files
    return files[0].read_text()


def uid_of(resp):
    assert resp.status == 200, (resp.status, resp.body[:200])
    return phtest.parse_id(resp.body)["uid"]


def test_factory_file_holds_only_the_blocks_it_needs(servers, tree):
    port = phtest.free_port()
    srv = servers(conf(), values={"PORT": port}, loglevel="debug")
    srv.start(ready_hosts=["t1.test"], port=port)
    for env, user in USERS.items():
        got = uid_of(phtest.http_get(port, f"{env}.test", "/cgi-bin/id.cgi"))
        assert got == pwd.getpwnam(user).pw_uid, (env, got)

    text = env_file(srv, "t3")
    blocks = re.findall(r"(?m)^<Processor (\S+)>\nProcessorIndex (\d+)$", text)
    assert blocks == [("t2", "1"), ("t3", "2"), ("t4", "3")], text
    assert "<Processor t1>" not in text, text
    assert re.findall(r"(?m)^ServerEnvironment (\S+)$", text) == ["t2", "t3"], text
    # the three others' vhosts: stubs (t1's and t2's one run), each marked
    # as another's
    stubs = re.findall(r"(?m)^StubStandsFor (\d+)$", text)
    assert sorted(stubs) == ["1", "2"], text
    viewer = env_file(srv, "t4")
    assert re.findall(r"(?m)^<Processor (\S+)>$", viewer) == ["t1", "t2", "t3", "t4"], viewer

    # on a connection t3 serves: its own name, then every other name read
    # with it (an unknown one falls to the address's default: t1's stub),
    # 421
    bob = pwd.getpwnam("bob").pw_uid
    for other in ("t1.test", "t2.test", "t4.test", "nobody.test"):
        own, resp = phtest.pipelined(port, "t3.test", other, "/cgi-bin/id.cgi")
        assert uid_of(own) == bob
        assert resp.status == 421, (other, resp.status, resp.body[:200])
    # the log says it was another environment's, not that it had none
    assert srv.log_lines(r"PH00430: request for virtual host t4\.test "
                         r"\(environment another\)")
    # a name no vhost has, on a connection of its own: the default, t1
    got = uid_of(phtest.http_get(port, "nobody.test", "/cgi-bin/id.cgi"))
    assert got == pwd.getpwnam("alice").pw_uid
