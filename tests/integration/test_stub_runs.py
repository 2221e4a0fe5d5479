"""Runs of stubs (issue 13): in an environment's configuration file,
consecutive vhosts of other environments on the same addresses are one
stub with all their names (envconf_stub.h), so a factory's httpd makes one
server_rec for them instead of one each.

- The file holds one <VirtualHost> per run, yet every name of the run is
  still another environment's: on a connection the environment serves, a
  request for any of them is 421 -- even where the environment's own vhost
  is the address's default, which would serve a name that was lost.
- vhost ids stay those of the whole configuration (the merged stub says
  how many vhosts it stands for): a TLS connection routed by SNI to a
  vhost that comes after a run, on an address whose default vhost is
  another environment's, is handshaken and served by that vhost.
"""
import pwd
import re
import subprocess

import phtest
from phtest import vhost

TENANTS = 8


def user_of(i):
    return "alice" if i % 2 else "bob"


def runs_conf():
    """t1..t8 (one vhost each, t1 first: the address's default), then
    main.test (no environment: the readiness probe)."""
    conf = phtest.server_head(threads=4, server_limit=16 + TENANTS)
    for i in range(1, TENANTS + 1):
        conf += phtest.processor(f"t{i}", user_of(i), MinProcessors=0,
                                 MinSpareProcessors=0)
        conf += vhost(f"t{i}.test", f"t{i}", user_of(i))
    return conf + vhost("main.test", None, "main")


def env_file(srv, env):
    files = list((srv.run_dir / "peruser_hybrid").glob(f"env-{env}.*.conf"))
    assert len(files) == 1, files
    return files[0].read_text()


def sections(text):
    return re.findall(r"(?m)^<VirtualHost .*>$", text)


def test_a_run_is_one_stub_and_each_of_its_names_is_421(servers, tree):
    port = phtest.free_port()
    srv = servers(runs_conf(), values={"PORT": port}, loglevel="debug")
    srv.start(ready_hosts=["main.test"], port=port)
    assert phtest.http_get(port, "t1.test").status == 200
    assert phtest.http_get(port, "t4.test").status == 200

    # t1's file: its own vhost, one stub for t2..t8, main.test's (no
    # environment: a stub of its own).  Before: one stub per vhost.  No
    # other environment's <Processor> block (issue 13).
    text = env_file(srv, "t1")
    assert re.findall(r"(?m)^<Processor (\S+)>$", text) == ["t1"], text
    assert len(sections(text)) == 3, sections(text)
    assert re.search(r"(?m)^StubStandsFor 7$", text), text
    # t4's: t1..t3, own, t5..t8, main.test
    assert len(sections(env_file(srv, "t4"))) == 4, sections(env_file(srv, "t4"))
    for secret in ("DocumentRoot",):
        assert len(re.findall(secret, text)) == 1, text    # only its own
    assert srv.log_lines(r"PH00501: wrote environment t1's .* as stubs "
                         r"\(7 of them in runs, as 1\)")

    # httpd reads the file as t1's factory does, and StubStandsFor is
    # refused anywhere else (an operator cannot give a vhost a weight)
    path = next((srv.run_dir / "peruser_hybrid").glob("env-t1.*.conf"))
    factory = dict(srv.env, PH_FACTORY_SPEC="env=0 name=t1 gen=1 ino=0 bells=1")
    res = subprocess.run([phtest.APACHE, "-t", "-D", "PH_FACTORY", "-f", str(path)],
                         capture_output=True, text=True, timeout=60, env=factory)
    assert res.returncode == 0 and "Syntax OK" in res.stderr, res.stderr
    res = subprocess.run([phtest.APACHE, "-t", "-f", str(path)],
                         capture_output=True, text=True, timeout=60, env=srv.env)
    assert res.returncode != 0 and "is written by the server" in res.stderr, \
        res.stderr

    # On a connection served by t1 (the default vhost of the address), a
    # request for any other tenant's name that t1's processor reads is
    # refused, never served (pipelined: read with t1's own).
    for i in range(2, TENANTS + 1):
        first, other = phtest.pipelined(port, "t1.test", f"t{i}.test", "/cgi-bin/id.cgi")
        assert first.status == 200
        assert phtest.parse_id(first.body)["uid"] == pwd.getpwnam("alice").pw_uid
        assert other.status == 421, (i, other.status, other.body[:200])
    assert srv.log_lines(r"PH00430: request for virtual host t5\.test")


TLS_ENVS = ("alice", "bob", "c1", "c2", "c3")


def tls_conf():
    """Five environments' TLS vhosts on one address, alice's first (the
    default): in bob's file, alice's stub, bob's own vhost, then one stub
    for c1..c3; in c2's, one stub for alice and bob."""
    conf = phtest.server_head(threads=4, server_limit=24) + phtest.TLS_HEAD
    conf += vhost("main.test", None, "main")
    for i, env in enumerate(TLS_ENVS):
        user = "alice" if i % 2 == 0 else "bob"
        conf += phtest.processor(env, user, MinProcessors=0, MinSpareProcessors=0)
        conf += vhost(f"{env}.test", env, user, "SSLEngine on",
                      f"SSLCertificateFile @@CERTS@@/{env}.crt",
                      f"SSLCertificateKeyFile @@CERTS@@/{env}.key", port="@@TLS@@")
    return conf


def https(port, sni, host):
    """(status, body, the certificate's name) of GET /cgi-bin/id.cgi."""
    status, body, der = phtest.https_request(port, sni, host)
    cn = re.search(rb"([a-z0-9]+\.test)", der)
    return status, body, cn.group(1).decode() if cn else None


def test_sni_after_a_run_reaches_its_vhost(servers, tree, tmp):
    certs = phtest.make_tls_certs(tmp, envs=TLS_ENVS)
    port, tls = phtest.free_port(), phtest.free_port()
    srv = servers(tls_conf().replace("@@CERTS@@", str(certs)),
                  values={"PORT": port, "TLS": tls}, loglevel="debug")
    srv.start(ready_hosts=["main.test"], port=port)
    for i, env in enumerate(TLS_ENVS):
        user = "alice" if i % 2 == 0 else "bob"
        status, body, cn = https(tls, f"{env}.test", f"{env}.test")
        assert (status, cn) == (200, f"{env}.test"), (env, status, cn, body[:300])
        assert phtest.parse_id(body)["uid"] == pwd.getpwnam(user).pw_uid, body
    # the runs were there: bob's file stubs c1..c3 as one
    text = env_file(srv, "bob")
    assert re.search(r"(?m)^StubStandsFor 3$", text), text
    assert len(sections(text)) == 4, sections(text)      # main, alice, own, run
    # SNI and Host of another environment: still 421
    status, body, _ = https(tls, "bob.test", "c2.test")
    assert status == 421, body[:200]
