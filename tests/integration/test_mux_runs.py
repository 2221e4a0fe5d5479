"""Runs of stubs in the multiplexers' file (issue 13): consecutive vhosts
of the same addresses, head-reading lines and MultiplexerFacts are one
<VirtualHost> there, which lists each member's environment and names
(StubMember); a multiplexer routes a request to the member httpd would
have picked among them as separate vhosts (front_runs.h).

- Several tenants on one address, each its own environment, some with
  ServerAlias exact names and a wildcard (met before a later tenant's
  exact name), one with an upper-case alias: each name is served by its
  own tenant as its own user over plain HTTP, h2c with prior knowledge and
  TLS with SNI; an unknown Host or SNI goes to the address's default
  vhost's tenant.  Stock mpm_event on the same configuration is the
  reference.
- The multiplexers' file holds one stub per run; the multiplexers'
  factory's anonymous memory no longer grows by a server_rec per tenant.
"""
import pwd
import re
import subprocess

import pytest

import phtest
from phtest import vhost

# tenant: (user, aliases), in definition order; t1 is the address's default
TENANTS = {
    "t1": ("alice", ()),
    "t2": ("bob", ("*.wild.test",)),
    "t3": ("alice", ("x.wild.test", "www.t3.test", "t2.test")),
    "t4": ("bob", ("Upper.T4.Test",)),
    "t5": ("alice", ("www.t5.test",)),
    "t6": ("bob", ()),
}
TLS_TENANTS = ("t1", "t2", "t3", "t4")

# host -> the tenant httpd serves it with (stock event decides; these are
# what it says, kept to check the uid too)
HOSTS = {
    "t1.test": "t1", "t2.test": "t2", "t3.test": "t3", "t4.test": "t4",
    "t5.test": "t5", "t6.test": "t6",
    "www.t3.test": "t3", "www.t5.test": "t5",
    "x.wild.test": "t2",        # t2's wildcard comes before t3's exact name
    "y.wild.test": "t2",
    "upper.t4.test": "t4", "UPPER.T4.TEST": "t4",
    "nobody.test": "t1",        # no name: the address's default
}


def tenant_vhost(name, port, *extra):
    user, aliases = TENANTS[name]
    lines = [f"ServerAlias {' '.join(aliases)}"] if aliases else []
    return vhost(f"{name}.test", name, name, *lines, *extra, port=port)


def conf():
    text = phtest.server_head(threads=4, server_limit=32) + phtest.TLS_HEAD
    text += "LoadModule http2_module @@MODDIR@@/mod_http2.so\n"
    text += "Protocols h2c http/1.1\n"
    for name, (user, _) in TENANTS.items():
        text += phtest.processor(name, user, MinProcessors=0, MinSpareProcessors=0)
    for name in TENANTS:
        text += tenant_vhost(name, "@@PORT@@")
    for name in TLS_TENANTS:
        text += tenant_vhost(name, "@@TLS@@", "SSLEngine on",
                             f"SSLCertificateFile @@CERTS@@/{name}.crt",
                             f"SSLCertificateKeyFile @@CERTS@@/{name}.key")
    return text


@pytest.fixture(scope="module")
def pair(module_servers, module_tmp):
    phtest.make_tree(module_tmp, users=tuple(TENANTS))
    certs = phtest.make_tls_certs(module_tmp, envs=TLS_TENANTS)
    return phtest.start_event_and_ph(module_servers,
                                     conf().replace("@@CERTS@@", str(certs)),
                                     ["t1.test", "t6.test"], extra_ports=["tls"],
                                     loglevel="debug")


def uid_of(tenant):
    return pwd.getpwnam(TENANTS[tenant][0]).pw_uid


def hello(tenant):
    return f"hello from {tenant}".encode()


def mux_file(srv):
    files = list((srv.run_dir / "peruser_hybrid").glob("multiplexers.*.conf"))
    assert len(files) == 1, files
    return files[0].read_text()


def test_the_multiplexers_file_has_one_stub_per_run(pair):
    text = mux_file(pair["ph"])
    # a run for the plain address, one for the TLS one; before, a stub each
    assert len(re.findall(r"(?m)^<VirtualHost ", text)) == 2, text
    assert re.search(rf"(?m)^StubStandsFor {len(TENANTS)}$", text), text
    assert re.search(rf"(?m)^StubStandsFor {len(TLS_TENANTS)}$", text), text
    members = re.findall(r'(?m)^StubMember (\d+) (\S+)(.*)$', text)
    assert [(int(i), env) for i, env, _ in members] == \
        [(i, n) for i, n in enumerate(TENANTS)] + \
        [(i, n) for i, n in enumerate(TLS_TENANTS)], members
    assert members[2][2] == ' "t3.test" "x.wild.test" "www.t3.test" "t2.test"', members
    # bound to the first member's environment, facts said once per run
    assert len(re.findall(r"(?m)^ServerEnvironment t1$", text)) == 2, text
    assert len(re.findall(r"(?m)^MultiplexerFacts ", text)) == 3, text   # + main
    assert pair["ph"].log_lines(r"PH00504: wrote the multiplexers' configuration "
                                r".* \(10 of them in runs, as 2\)")


@pytest.mark.parametrize("host", sorted(HOSTS))
def test_each_name_is_its_tenants_over_http(pair, host):
    tenant = HOSTS[host]
    got = {mpm: phtest.http_get(pair[mpm].port, host) for mpm in ("event", "ph")}
    assert got["event"].status == 200 and hello(tenant) in got["event"].body, \
        (host, got["event"].body[:200])
    assert (got["ph"].status, got["ph"].body) == (200, got["event"].body), \
        (host, got["ph"].status, got["ph"].body[:200])
    res = phtest.http_get(pair["ph"].port, host, "/cgi-bin/id.cgi")
    assert res.status == 200, (host, res.status, res.body[:200])
    assert phtest.parse_id(res.body)["uid"] == uid_of(tenant), (host, res.body)


def test_no_host_goes_to_the_default(pair):
    for mpm in ("event", "ph"):
        res, raw = phtest.raw_exchange(pair[mpm].port, b"GET / HTTP/1.0\r\n\r\n")
        assert res and res.status == 200 and hello("t1") in res.body, (mpm, raw[:300])


def curl_h2(port, host, path):
    res = phtest.run_tool(
        ["curl", "-sS", "--http2-prior-knowledge", "--max-time", "15",
         "-H", f"Host: {host}", "-w", "\n%{http_code} %{http_version}",
         f"http://127.0.0.1:{port}{path}"], timeout=30)
    body, _, tail = res.stdout.rpartition("\n")
    code, ver = tail.split()
    return int(code), ver, body


@pytest.mark.parametrize("host", ["t2.test", "x.wild.test", "www.t5.test", "t6.test",
                                  "nobody.test"])
def test_each_name_is_its_tenants_over_h2c(pair, host):
    tenant = HOSTS[host]
    status, ver, body = curl_h2(pair["event"].port, host, "/")
    assert (status, ver) == (200, "2") and f"hello from {tenant}" in body, (status, ver, body)
    assert curl_h2(pair["ph"].port, host, "/") == (status, ver, body)
    status, ver, body = curl_h2(pair["ph"].port, host, "/cgi-bin/id.cgi")
    assert (status, ver) == (200, "2"), (host, status, ver, body[:200])
    assert phtest.parse_id(body)["uid"] == uid_of(tenant), (host, body)


@pytest.mark.parametrize("sni", ["t2.test", "t3.test", "x.wild.test", "t4.test",
                                 "upper.t4.test", "nobody.test"])
def test_each_name_is_its_tenants_over_tls(pair, sni):
    tenant = HOSTS[sni]
    host = sni if sni != "nobody.test" else "t1.test"
    for mpm in ("event", "ph"):
        status, body, der = phtest.https_request(pair[mpm].tls, sni, host, "/")
        assert status == 200 and hello(tenant) in body, (mpm, sni, status, body[:200])
        assert f"{tenant}.test".encode() in der, (mpm, sni)     # its certificate
    status, body, _ = phtest.https_request(pair["ph"].tls, sni, host)
    assert status == 200, (sni, status, body[:200])
    assert phtest.parse_id(body)["uid"] == uid_of(tenant), (sni, body)


def many_conf(n):
    text = phtest.server_head(threads=2, server_limit=n + 8)
    for i in range(n):
        text += phtest.processor(f"m{i}", "alice" if i % 2 else "bob",
                                 MinProcessors=0, MinSpareProcessors=0)
    text += vhost("main.test", None, "main")
    for i in range(n):
        text += vhost(f"m{i}.test", f"m{i}", "alice" if i % 2 else "bob")
    return text


def test_mux_factory_memory_does_not_grow_per_tenant(servers, tree):
    """Anonymous memory of the multiplexers' factory at 300 tenants
    against 30.
    Before: about 4 kB per tenant (a full server_rec each); with one run
    it is the members' names and environments only."""
    rss = {}
    for n in (30, 300):
        port = phtest.free_port()
        srv = servers(many_conf(n), values={"PORT": port}, name=f"many{n}")
        srv.start(ready_hosts=["main.test"], port=port)
        assert phtest.http_get(port, f"m{n - 1}.test").status == 200
        res = phtest.http_get(port, f"m{n - 2}.test", "/cgi-bin/id.cgi")
        assert phtest.parse_id(res.body)["uid"] == pwd.getpwnam(
            "alice" if (n - 2) % 2 else "bob").pw_uid
        assert re.search(rf"(?m)^StubStandsFor {n}$", mux_file(srv))
        factories = srv.mux_factories()
        assert len(factories) == 1, factories
        rss[n] = phtest.anon_kb(factories[0])
        srv.stop()
    grow = rss[300] - rss[30]
    print(f"multiplexers' factory anonymous memory: 30 tenants {rss[30]} kB, "
          f"300 tenants {rss[300]} kB, +{grow} kB")
    # before: ~4.3 kB per vhost, +1,150 kB or more for 270 more tenants;
    # with the run ~1.5 kB (most of it their <Processor> blocks)
    assert grow < 270 * 2.5, rss


def test_member_lines_only_in_the_multiplexers_factory(pair, module_tmp):
    """StubMember (and StubStandsFor) in an operator's configuration: refused.
    (The multiplexers' factory's first pass reads no vhost,
    factory_first_pass.c, so `-t` on its file says nothing of its runs:
    the members are checked in its second pass, front_members.c.)"""
    srv = pair["ph"]
    plain = module_tmp / "plain.conf"
    for line in ('StubMember 0 t2 "t2.test"', "StubStandsFor 2"):
        plain.write_text(srv.conf_text.replace(
            "ServerEnvironment t2\n", f"ServerEnvironment t2\n    {line}\n", 1))
        res = subprocess.run([phtest.APACHE, "-t", "-f", str(plain)],
                             capture_output=True, text=True, timeout=60, env=srv.env)
        assert res.returncode != 0 and "is written by the server" in res.stderr, \
            res.stderr
