"""Each environment's configuration file (issue 10): the parent writes, for
every environment, the operator's configuration with the other
environments' <VirtualHost> sections replaced by stubs, into a root-only
directory under DefaultRuntimeDir, and rewrites it at each restart.

bob's vhost sits in an Include'd file and holds a password in SetEnv;
alice's file must hold bob's stub (his names, marked as another
environment's) but none of his section's directives, nor his <Processor>
block (issue 13), bob's file must hold them, both must hold every line of
the global part but the other's <Processor> block, and apache2 -t must
accept each file as the environment's factory reads it.
"""

import os
import re
import secrets
import stat
import subprocess

import phtest
from phtest import vhost, wait_for

CONF = phtest.server_head(threads=5) + """
LoadModule env_module @@MODDIR@@/mod_env.so
""" + phtest.TWO_PROCESSORS + vhost("alice.test", "alice", "alice") + """
Include @@SITES@@/*.conf
""" + vhost("alice2.test", "alice", "main", "ServerAlias *.alice2.test")

BOB_SITE = vhost("bob.test", "bob", "bob",
                 "ServerAlias www.bob.test *.bob.test",
                 "SetEnv BOB_DB_PASSWORD @@SECRET@@",
                 "Alias /bob-only @@WWW@@/bob",
                 port="@@PORT@@")


def global_lines(text, own=None, blocks=True):
    """The lines of a configuration outside every <VirtualHost> section
    (no comments, no blank lines), stripped; with own, without the
    <Processor> blocks of other environments; without blocks, without
    any <Processor> block."""
    out, inside, other = [], False, False
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"(?i)<Processor\s+(\S+)>", line)
        if m and ((own and m.group(1) != own) or not blocks):
            other = True
        if other:
            other = not re.match(r"(?i)</Processor>", line)
            continue
        if re.match(r"(?i)<VirtualHost[\s>]", line):
            inside = True
        elif re.match(r"(?i)</VirtualHost>", line):
            inside = False
        elif not inside and not line.lower().startswith("include "):
            out.append(line)
    return out


def factory_env(srv, index, name):
    """The environment a processor factory of env `name` reads its file
    in (its index in the whole configuration)."""
    return dict(srv.env, PH_FACTORY_SPEC=f"env={index} name={name} gen=1 "
                "ino=0 bells=1")


def vhost_order(srv, conf_path):
    """apache2 -S of a configuration: its vhosts as httpd orders them per
    address, (address, name) pairs, file and line left out.  An
    environment's file is read without the lines only its factory takes
    (StubStandsFor, ProcessorIndex), from a copy."""
    text = conf_path.read_text()
    plain = re.sub(r"(?m)^(StubStandsFor|ProcessorIndex) .*\n", "", text)
    if plain != text:
        conf_path = conf_path.with_name(conf_path.name + ".plain")
        conf_path.write_text(plain)
    res = subprocess.run([phtest.APACHE, "-S", "-f", str(conf_path)],
                         capture_output=True, text=True, timeout=60, env=srv.env)
    assert res.returncode == 0, (conf_path, res.stdout, res.stderr)
    out, addr = [], None
    for line in res.stdout.splitlines():
        m = re.match(r"^(\S+:\d+|\*:\d+)\s+is a NameVirtualHost", line)
        if m:
            addr = m.group(1)
        m = re.match(r"^\s+(default server|port \d+ namevhost) (\S+) \(", line)
        if m:
            out.append((addr, m.group(1).split()[0], m.group(2)))
    assert out, res.stdout
    return out


def env_file(run_dir, env):
    files = sorted((run_dir / "peruser_hybrid").glob(f"env-{env}.*.conf"))
    return files[0] if len(files) == 1 else None


def test_environment_files_hold_only_their_environment(servers, tree, tmp):
    port = phtest.free_port()
    secret = "pw-" + secrets.token_hex(16)
    sites = tmp / "sites"
    sites.mkdir()
    (sites / "bob.conf").write_text(phtest.fill(BOB_SITE, {
        "PORT": port, "SECRET": secret, "WWW": tmp / "www"}))
    srv = servers(CONF, values={"PORT": port, "SITES": sites}, loglevel="debug")
    srv.start(ready_hosts=["alice.test", "bob.test"], port=port)

    confdir = srv.run_dir / "peruser_hybrid"
    st = os.lstat(confdir)
    assert stat.S_ISDIR(st.st_mode) and st.st_uid == 0, st
    assert stat.S_IMODE(st.st_mode) == 0o700, oct(st.st_mode)
    alice_path = env_file(srv.run_dir, "alice")
    bob_path = env_file(srv.run_dir, "bob")
    assert alice_path and bob_path, sorted(os.listdir(confdir))
    for path in (alice_path, bob_path):
        st = os.lstat(path)
        assert stat.S_ISREG(st.st_mode) and st.st_uid == 0, (path, st)
        assert stat.S_IMODE(st.st_mode) == 0o600, (path, oct(st.st_mode))
    alice, bob = alice_path.read_text(), bob_path.read_text()

    # alice's: bob's stub, none of bob's section, nor his <Processor>
    # block: the stub says only that it is another environment's
    assert "ServerEnvironment bob" not in alice
    assert "<Processor bob>" not in alice and "User bob" not in alice
    assert re.search(r'ServerName "bob.test"\n.*\nStubStandsFor 1\n</VirtualHost>',
                     alice), alice
    assert "<Processor alice>\nProcessorIndex 0\nUser alice\n" in alice
    assert "<Processor alice>" not in bob and "User alice" not in bob
    assert "<Processor bob>\nProcessorIndex 1\nUser bob\n" in bob
    assert '"www.bob.test" "*.bob.test"' in alice
    assert secret not in alice
    assert "BOB_DB_PASSWORD" not in alice
    assert "/bob-only" not in alice
    assert f"DocumentRoot {tmp}/www/bob" not in alice
    assert f"DocumentRoot {tmp}/www/alice" in alice
    # bob's: his own section whole, alice's as stubs
    assert f"SetEnv BOB_DB_PASSWORD {secret}" in bob
    assert f"Alias /bob-only {tmp}/www/bob" in bob
    assert f"DocumentRoot {tmp}/www/alice" not in bob
    assert 'ServerAlias "*.alice2.test"' in bob
    # the vhost order is kept: alice, bob (from the Include), alice2
    for text in (alice, bob):
        names = re.findall(r'(?m)^ServerName "?([a-z0-9.]+)"?$', text)
        assert names == ["localhost", "alice.test", "bob.test", "alice2.test"], names
    # the global part, every line of it but the other's block, in both
    for name, text in (("alice", alice), ("bob", bob)):
        for line in global_lines(srv.conf_text, own=name):
            assert line in text.splitlines(), f"{name}'s file lacks {line!r}"
    assert "generated by peruser_hybrid".lower() in alice.lower()
    assert srv.log_lines(r"PH00501: wrote environment alice's configuration")

    # each file is a configuration httpd accepts as the environment's
    # factory reads it, with the vhosts in the order of the whole
    # configuration (the first of an address is its default); and nowhere
    # else (StubStandsFor and ProcessorIndex are the server's)
    for index, name, path in ((0, "alice", alice_path), (1, "bob", bob_path)):
        env = factory_env(srv, index, name)
        res = subprocess.run([phtest.APACHE, "-t", "-D", "PH_FACTORY", "-f", str(path)],
                             capture_output=True, text=True, timeout=60, env=env)
        assert res.returncode == 0 and "Syntax OK" in res.stderr, (path, res.stderr)
        assert vhost_order(srv, path) == vhost_order(srv, srv.conf_path)
        res = subprocess.run([phtest.APACHE, "-t", "-f", str(path)],
                             capture_output=True, text=True, timeout=60, env=srv.env)
        assert res.returncode != 0 and "is written by the server" in res.stderr, \
            res.stderr

    # the multiplexers' file: every vhost a stub, no tenant's section text
    mux_paths = sorted(confdir.glob("multiplexers.*.conf"))
    assert len(mux_paths) == 1, sorted(os.listdir(confdir))
    st = os.lstat(mux_paths[0])
    assert st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
    mux = mux_paths[0].read_text()
    assert secret not in mux and "BOB_DB_PASSWORD" not in mux
    assert "/bob-only" not in mux and "DocumentRoot" not in mux
    # the three vhosts share their address: one run (issue 13), which
    # names each member's environment and names, in order
    assert "ServerEnvironment alice" in mux and "ServerEnvironment bob" not in mux
    names = re.findall(r'(?m)^ServerName "?([a-z0-9.]+)"?$', mux)
    assert names == ["localhost", "alice.test"], names
    members = re.findall(r'(?m)^StubMember (\d) (\w+) "([a-z0-9.]+)"', mux)
    assert members == [("0", "alice", "alice.test"), ("1", "bob", "bob.test"),
                       ("2", "alice", "alice2.test")], mux
    # one MultiplexerFacts per stub, and the main server's at the end
    assert len(re.findall(r"(?m)^MultiplexerFacts ", mux)) == 2, mux
    for line in global_lines(srv.conf_text, blocks=False):
        assert line in mux.splitlines(), f"the multiplexers' file lacks {line!r}"
    # no <Processor> block (no account, no limits): every environment's
    # name, in the parent's order, is all the multiplexers route to
    assert "<Processor" not in mux and "User alice" not in mux, mux
    assert re.findall(r"(?m)^MultiplexerEnvironments (.*)$", mux) == ["alice bob"], mux
    assert srv.log_lines(r"PH00504: wrote the multiplexers' configuration")
    # httpd accepts it as the multiplexers' factory reads it, and nowhere
    # else (MultiplexerFacts, StubStandsFor, StubMember and
    # MultiplexerEnvironments are refused in any other configuration)
    spec_env = dict(srv.env, PH_FACTORY_SPEC="multiplexers gen=1 ino=0 envs=2 listeners=1 bells=10")
    res = subprocess.run([phtest.APACHE, "-t", "-D", "PH_FACTORY", "-f", str(mux_paths[0])],
                         capture_output=True, text=True, timeout=60, env=spec_env)
    assert res.returncode == 0 and "Syntax OK" in res.stderr, res.stderr
    res = subprocess.run([phtest.APACHE, "-t", "-f", str(mux_paths[0])],
                         capture_output=True, text=True, timeout=60, env=srv.env)
    assert res.returncode != 0 and "is written by the server" in res.stderr, \
        res.stderr


def test_graceful_restart_replaces_the_files(servers, tree, tmp):
    port = phtest.free_port()
    sites = tmp / "sites"
    sites.mkdir()
    (sites / "bob.conf").write_text(phtest.fill(BOB_SITE, {
        "PORT": port, "SECRET": "first", "WWW": tmp / "www"}))
    srv = servers(CONF, values={"PORT": port, "SITES": sites})
    srv.start(ready_hosts=["alice.test", "bob.test"], port=port)
    old = env_file(srv.run_dir, "bob")
    assert old and "SetEnv BOB_DB_PASSWORD first" in old.read_text()

    (sites / "bob.conf").write_text(phtest.fill(BOB_SITE, {
        "PORT": port, "SECRET": "second", "WWW": tmp / "www"}))
    res = srv.apache("-k", "graceful")
    assert res.returncode == 0, res.stderr

    def replaced():
        new = env_file(srv.run_dir, "bob")
        return new if new and new != old else None
    new = wait_for(replaced, 30, what="bob's file of the next generation")
    assert "SetEnv BOB_DB_PASSWORD second" in new.read_text()

    # The parent removes the earlier files once every new one is written:
    # bob's new file can be seen a moment before alice's old one goes.
    def settled():
        names = sorted(os.listdir(srv.run_dir / "peruser_hybrid"))
        kinds = [re.sub(r"\.\d+\.conf$", "", n) for n in names]
        return names if kinds == ["blank", "env-alice", "env-bob", "multiplexers"] else None
    names = wait_for(settled, 30, what="only the new generation's files")
    assert not old.exists()
    assert len({re.search(r"\.(\d+)\.conf$", n).group(1) for n in names}) == 1, names
    assert phtest.http_get(port, "bob.test").status == 200


def test_no_files_without_environments(servers, tree):
    port = phtest.free_port()
    srv = servers("""
Listen 127.0.0.1:@@PORT@@
User www-data
Group www-data
""" + vhost("main.test", None, "main"), values={"PORT": port})
    srv.start(ready_hosts=["main.test"], port=port)
    assert not (srv.run_dir / "peruser_hybrid").exists()


MACRO_CONF = phtest.server_head(threads=5) + """
LoadModule env_module @@MODDIR@@/mod_env.so
LoadModule macro_module @@MODDIR@@/mod_macro.so
""" + phtest.TWO_PROCESSORS + """
<Macro Site $name $env>
<VirtualHost 127.0.0.1:@@PORT@@>
    ServerName $name
    ServerEnvironment $env
    DocumentRoot @@WWW@@/$env
    SetEnv SITE_SECRET secret-of-$name
</VirtualHost>
</Macro>
<Macro Twice $a $b $env>
Use Site $a $env
Use Site $b $env
</Macro>
<Macro Dirs $path>
<Directory $path>
    Require all granted
</Directory>
</Macro>
Use Site alice.test alice
Use Site bob.test bob
Use Twice b1.test b2.test bob
Use Dirs @@WWW@@/main
<IfDefine NEVER_DEFINED>
Use Site ghost.test bob
<VirtualHost 127.0.0.1:@@PORT@@>
    ServerName ghost2.test
    SetEnv GHOST_SECRET boo
</VirtualHost>
</IfDefine>
Use Site a2.test alice
"""


def test_macro_uses_become_stubs(servers, tree):
    """Vhosts made by mod_macro's Use (nested Use too) are judged by their
    Use line: another environment's become stubs, a Use that makes no vhost
    is copied, text in a false <IfDefine> is dropped."""
    port = phtest.free_port()
    srv = servers(MACRO_CONF, values={"PORT": port})
    srv.start(ready_hosts=["alice.test", "bob.test", "b2.test"], port=port)
    alice = env_file(srv.run_dir, "alice")
    bob = env_file(srv.run_dir, "bob")
    assert alice and bob
    a_text, b_text = alice.read_text(), bob.read_text()
    for line in ("Use Site alice.test alice", "Use Site a2.test alice",
                 "Use Dirs " + str(srv.tmp.parent / "www" / "main"),
                 "SetEnv SITE_SECRET secret-of-$name"):
        assert line in a_text.splitlines(), line
    for name in ("bob.test", "b1.test", "b2.test"):
        assert f'ServerName "{name}"' in a_text
    assert "Use Site bob.test" not in a_text and "Use Twice" not in a_text
    # a <VirtualHost> httpd skipped is dropped; a Use it skipped makes no
    # vhost and stays, as inert as it was
    assert "ghost2" not in a_text and "GHOST_SECRET" not in a_text
    assert "<IfDefine NEVER_DEFINED>\nUse Site ghost.test bob\n</IfDefine>" in a_text
    assert "Use Twice b1.test b2.test bob" in b_text.splitlines()
    assert 'ServerName "alice.test"' in b_text and 'ServerName "a2.test"' in b_text
    for path in (alice, bob):
        assert vhost_order(srv, path) == vhost_order(srv, srv.conf_path)


def test_use_of_two_environments_is_refused(servers, tree):
    """Refused by the configuration check, so apache2 -t says so too."""
    port = phtest.free_port()
    srv = servers(MACRO_CONF + "Use Twice x.test y.test alice\n"
                  "<Macro Both $a $b>\nUse Site $a alice\nUse Site $b bob\n</Macro>\n"
                  "Use Both c.test d.test\n", values={"PORT": port})
    want = re.compile(r"PH00503: the Use on line (\d+) of (\S+) makes virtual "
                      r"hosts of environments alice and bob")
    for args in (("-t",), ("-k", "start")):
        res = srv.apache(*args)
        assert res.returncode != 0, (args, res.stderr)
        m = want.search(res.stderr)
        assert m, (args, res.stderr)
        assert m.group(2) == str(srv.conf_path)
        lines = srv.conf_text.splitlines()
        assert lines[int(m.group(1)) - 1] == "Use Both c.test d.test"
    assert not srv.leftovers()


MACRO_PROCESSOR_CONF = phtest.server_head(threads=5) + """
LoadModule macro_module @@MODDIR@@/mod_macro.so
<Macro Proc $name>
<Processor $name>
    User $name
    Group $name
    MinProcessors 1
    MinSpareProcessors 0
</Processor>
</Macro>
""" + phtest.TWO_PROCESSORS.split("<Processor bob>")[0] + """\
Use Proc bob
""" + vhost("alice.test", "alice", "alice") + vhost("bob.test", "bob", "bob")


def test_processor_block_from_a_macro_is_refused(servers, tree):
    """Each environment's file and the multiplexers' are written from the
    configuration's text, where the parent finds every <Processor> block:
    one a macro's Use makes is not there (its factory numbered it wrong,
    and bob was answered 503).  Refused by the configuration check, naming
    it, so apache2 -t says so too."""
    port = phtest.free_port()
    srv = servers(MACRO_PROCESSOR_CONF, values={"PORT": port})
    want = re.compile(r"PH00503: <Processor bob> \(macro 'proc'.*\) is not a "
                      r"block of the configuration's text")
    for args in (("-t",), ("-k", "start")):
        res = srv.apache(*args)
        assert res.returncode != 0, (args, res.stderr)
        assert want.search(res.stderr), (args, res.stderr)
    assert not srv.leftovers()


def test_environment_list_only_in_the_multiplexers_factory(servers, tree, tmp):
    """MultiplexerEnvironments (what the multiplexers' file holds of the
    <Processor> blocks) in an operator's configuration: refused."""
    (tmp / "sites").mkdir()
    (tmp / "sites" / "none.conf").write_text("# nothing here\n")
    srv = servers(CONF.replace("LoadModule env_module",
                               "MultiplexerEnvironments carol\nLoadModule env_module", 1),
                  values={"PORT": phtest.free_port(), "SITES": tmp / "sites"})
    res = srv.apache("-t")
    assert res.returncode != 0, res.stderr
    assert "MultiplexerEnvironments is written by the server" in res.stderr, res.stderr


def test_vhost_outside_the_text_is_refused(servers, tree, tmp):
    """A vhost of another environment that the configuration text never
    shows (here: Include'd by -C on the command line) could only reach an
    environment's file whole: refused, naming it.  The same vhost in the
    only environment there is stubs nobody's file: accepted."""
    port = phtest.free_port()
    extra = tmp / "extra.conf"
    extra.write_text(phtest.fill(BOB_SITE, {"PORT": port, "SECRET": "x",
                                            "WWW": tmp / "www"}))
    (tmp / "sites").mkdir()
    (tmp / "sites" / "none.conf").write_text("# nothing here\n")
    srv = servers(CONF, values={"PORT": port, "SITES": tmp / "sites"})
    res = srv.apache("-t", "-C", f"Include {extra}")
    assert res.returncode != 0, res.stderr
    assert re.search(r"PH00503: virtual host bob\.test of environment bob \(defined on "
                     rf"line 1 of {re.escape(str(extra))}\) was not found in the "
                     r"configuration text: made by a module, or by an Include inside "
                     r"a <Macro>\? The configuration of the other environments cannot "
                     r"be written without it", res.stderr), res.stderr
    assert "Syntax OK" in srv.apache("-t").stderr

    one = servers(CONF.replace(phtest.TWO_PROCESSORS, phtest.processor("bob", "bob"))
                  .replace("ServerEnvironment alice", "ServerEnvironment bob"),
                  values={"PORT": port, "SITES": tmp / "sites"})
    res = one.apache("-t", "-C", f"Include {extra}")
    assert res.returncode == 0 and "Syntax OK" in res.stderr, res.stderr
