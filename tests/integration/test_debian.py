"""Debian integration (issue 15): `make install` (DESTDIR), `make uninstall`,
and Debian's own tools on a copy of Debian's stock /etc/apache2:

  a2dismod mpm_event && a2enmod mpm_peruser_hybrid && apache2ctl configtest
  && apache2ctl graceful

after which 000-default answers with Debian's index page, served by the
default environment's account (phdefault), and `apache2ctl -S` says which
environment and user serve each vhost.

The real /etc/apache2 is only read (copied); everything is written under the
test's temp dir: APACHE_CONFDIR, the envvars' run, lock and log dirs,
a2enmod's state dir (APACHE_STATE_DIRECTORY) and the DESTDIR of `make
install`.  The one change to the machine is the system account phdefault
(`make install-account`, what a real `make install` creates), as the other
tests create alice and bob.
"""

import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
from pathlib import Path

import json
import pytest

import phtest
from phtest import wait_for

DEFAULT_USER = "phdefault"
STOCK = Path("/etc/apache2")
LIBEXEC = "/usr/lib/apache2/modules"
SO = "mod_mpm_peruser_hybrid.so"
ROWS = phtest.REPO / "server" / "mpm" / "peruser_hybrid" / "config_rows.h"


def make(*args, timeout=300):
    res = subprocess.run(["make", "-s", *args], cwd=phtest.REPO, capture_output=True,
                         text=True, timeout=timeout)
    return res


def make_ok(*args):
    res = make(*args)
    assert res.returncode == 0, f"make {' '.join(args)}: rc={res.returncode}\n" \
        f"{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res


def files_under(root):
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*")
                  if p.is_file() or p.is_symlink())


def table_directives():
    """(name, processor_only) of every row of the module's directive table."""
    text = ROWS.read_text()
    out = []
    for m in re.finditer(r"^PH_ROW(_CUSTOM)?\((\w+),(.*?)\)$", text, re.M | re.S):
        out.append((m.group(2), "PROCESSOR," in m.group(3).replace(" ", "")))
    return out


# --------------------------------------------------------------------------
# make install / make uninstall with DESTDIR


def test_make_install_destdir_and_uninstall(tmp):
    dest = tmp / "root"
    make_ok("install", f"DESTDIR={dest}")
    avail = dest / "etc/apache2/mods-available"
    so = dest / LIBEXEC.lstrip("/") / SO
    expected = sorted([
        f"{LIBEXEC.lstrip('/')}/{SO}",
        "etc/apache2/mods-available/mpm_peruser_hybrid.load",
        "etc/apache2/mods-available/mpm_peruser_hybrid.conf",
        "usr/bin/pstat",
        "usr/share/man/man1/pstat.1",
    ])
    assert files_under(dest) == expected
    assert so.read_bytes() == (phtest.REPO / "build/out" / SO).read_bytes()
    assert stat.S_IMODE((dest / "usr/bin/pstat").stat().st_mode) == 0o755

    # .load: Debian's "# Conflicts:" line naming the other MPMs, the module
    # where it is installed (not under DESTDIR).
    load = (avail / "mpm_peruser_hybrid.load").read_text()
    conflicts = re.search(r"^# Conflicts:\s+(.*)$", load, re.M)
    assert conflicts and set(conflicts.group(1).split()) == \
        {"mpm_event", "mpm_worker", "mpm_prefork"}, load
    assert f"LoadModule mpm_peruser_hybrid_module {LIBEXEC}/{SO}" in load

    # .conf: the default environment, and every directive of the table
    # commented with its default.
    conf = (avail / "mpm_peruser_hybrid.conf").read_text()
    assert re.search(rf"^<Processor {DEFAULT_USER}>\n\s+User {DEFAULT_USER}\n"
                     rf"\s+Group {DEFAULT_USER}\n</Processor>\nServerEnvironment "
                     rf"{DEFAULT_USER}$", conf, re.M), conf[:3000]
    rows = table_directives()
    assert len(rows) > 30
    for name, _ in rows:
        assert re.search(rf"^#\s?<?{name}\b", conf, re.M), f"{name} not in the .conf"
    assert "#ThreadsPerChild 25\n" in conf and "#ProcessorImage exec\n" in conf
    # Every commented-out default is a value the module takes: uncommented,
    # the file passes apache2 -t.
    live = re.sub(r"^#([A-Z][A-Za-z]+ \S.*)$", r"\1", conf, flags=re.M)
    assert live.count("\nThreadsPerChild 25\n") == 1
    live = live.replace(f"User {DEFAULT_USER}\n    Group {DEFAULT_USER}",
                        "User alice\n    Group alice")
    check = tmp / "check.conf"
    check.write_text(f"""ServerRoot {tmp}
LoadModule mpm_peruser_hybrid_module {so}
LoadModule authz_core_module {phtest.MODDIR}/mod_authz_core.so
Listen 127.0.0.1:{phtest.free_port()}
User www-data
Group www-data
PidFile {tmp}/check.pid
ErrorLog {tmp}/check.log
DefaultRuntimeDir {tmp}
{live}
""")
    phtest.ensure_env_users()
    res = subprocess.run([phtest.APACHE, "-t", "-f", str(check)], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stderr + res.stdout

    # pstat runs; its man page renders without a warning.
    res = subprocess.run([str(dest / "usr/bin/pstat"), "--help"], capture_output=True,
                         text=True, timeout=30)
    assert res.returncode == 0 and "usage: pstat" in res.stdout
    res = subprocess.run(["man", "--warnings", "-l", str(dest / "usr/share/man/man1/pstat.1")],
                         capture_output=True, text=True, timeout=30,
                         env={**os.environ, "MANWIDTH": "80", "MANPAGER": "cat", "PAGER": "cat"})
    assert res.returncode == 0 and "pstat - top-like monitor" in res.stdout, res.stderr
    assert res.stderr.strip() == "", res.stderr

    # Enabled (a2enmod's link): uninstall refuses and removes nothing.
    enabled = dest / "etc/apache2/mods-enabled"
    enabled.mkdir()
    (enabled / "mpm_peruser_hybrid.load").symlink_to(
        "../mods-available/mpm_peruser_hybrid.load")
    res = make("uninstall", f"DESTDIR={dest}")
    assert res.returncode != 0 and "a2dismod mpm_peruser_hybrid" in res.stderr
    (enabled / "mpm_peruser_hybrid.load").unlink()
    enabled.rmdir()
    assert files_under(dest) == expected

    # An operator's change to the .conf survives a new install and the
    # uninstall; everything else goes.
    (avail / "mpm_peruser_hybrid.conf").write_text(conf + "#mine\n")
    out = make_ok("install", f"DESTDIR={dest}").stdout
    assert "mpm_peruser_hybrid.conf.dist" in out
    assert (avail / "mpm_peruser_hybrid.conf").read_text().endswith("#mine\n")
    assert (avail / "mpm_peruser_hybrid.conf.dist").read_text() == conf
    out = make_ok("uninstall", f"DESTDIR={dest}").stdout
    assert "was changed: kept" in out
    assert files_under(dest) == ["etc/apache2/mods-available/mpm_peruser_hybrid.conf"]
    (avail / "mpm_peruser_hybrid.conf").unlink()

    # A second install and uninstall: nothing left at all.
    make_ok("install", f"DESTDIR={dest}")
    make_ok("uninstall", f"DESTDIR={dest}")
    assert files_under(dest) == []


# --------------------------------------------------------------------------
# Debian's tools on a copy of the stock /etc/apache2


class DebianCopy:
    """A copy of /etc/apache2 under tmp, driven by Debian's own a2enmod,
    a2dismod and apache2ctl through APACHE_CONFDIR."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.confdir = tmp / "apache2"
        self.run_dir = tmp / "run"
        self.log_dir = tmp / "log"
        self.port = phtest.free_port()
        self.known = {}
        shutil.copytree(STOCK, self.confdir, symlinks=True)
        for d in (self.log_dir, tmp / "state"):
            d.mkdir()
        # The copy's own run, lock, log and pid paths (envvars is what
        # apache2ctl and a2enmod read), and a free port instead of 80.
        with open(self.confdir / "envvars", "a") as f:
            f.write(f"\nexport APACHE_PID_FILE={self.run_dir}/apache2.pid\n"
                    f"export APACHE_RUN_DIR={self.run_dir}\n"
                    f"export APACHE_LOCK_DIR={tmp}/lock\n"
                    f"export APACHE_LOG_DIR={self.log_dir}\n")
        ports = self.confdir / "ports.conf"
        text = ports.read_text()
        assert re.search(r"^Listen 80$", text, re.M), text
        ports.write_text(re.sub(r"^Listen 80$", f"Listen 127.0.0.1:{self.port}", text,
                                flags=re.M))
        site = self.confdir / "sites-available" / "000-default.conf"
        text = site.read_text()
        assert "<VirtualHost *:80>" in text
        site.write_text(text.replace("<VirtualHost *:80>", f"<VirtualHost *:{self.port}>"))
        self.env = {**os.environ, "APACHE_CONFDIR": str(self.confdir),
                    "APACHE_STATE_DIRECTORY": str(tmp / "state"),
                    # apache2ctl start: run apache2 itself, not systemctl
                    "APACHE_STARTED_BY_SYSTEMD": "1"}
        self.env.pop("APACHE_ENVVARS", None)

    def install_module(self):
        """`make install DESTDIR=`, then its two mods-available files into
        the copy, their LoadModule pointing at the DESTDIR's module."""
        dest = self.tmp / "root"
        make_ok("install", f"DESTDIR={dest}", "PH_CREATE_USER=no")
        so = dest / LIBEXEC.lstrip("/") / SO
        avail = dest / "etc/apache2/mods-available"
        load = (avail / "mpm_peruser_hybrid.load").read_text()
        assert f"{LIBEXEC}/{SO}" in load
        (self.confdir / "mods-available" / "mpm_peruser_hybrid.load").write_text(
            load.replace(f"{LIBEXEC}/{SO}", str(so)))
        shutil.copy(avail / "mpm_peruser_hybrid.conf", self.confdir / "mods-available")
        make_ok("install-account")

    def tool(self, *args, timeout=120):
        return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout,
                              env=self.env, cwd=self.tmp, stdin=subprocess.DEVNULL)

    def parent(self):
        text = phtest._read(self.run_dir / "apache2.pid", "r")
        if text and text.strip().isdigit() and phtest.pid_alive(int(text)):
            return int(text)
        return None

    def record(self):
        pids = set(phtest.pids_with_cmdline(str(self.confdir)))
        parent = self.parent()
        if parent:
            pids.add(parent)
            pids.update(phtest.descendants(parent))
        for pid in pids:
            st = phtest.proc_starttime(pid)
            if st is not None:
                self.known.setdefault(pid, st)

    def leftovers(self):
        live = set(phtest.pids_with_cmdline(str(self.confdir)))
        live.update(p for p, st in self.known.items() if phtest.pid_alive(p, st))
        return sorted(live)

    def stop(self):
        self.record()
        self.tool("apache2ctl", "stop")
        try:
            wait_for(lambda: not self.leftovers(), phtest.STOP_TIMEOUT,
                     what="the Debian copy's server to stop")
        finally:
            for pid in self.leftovers():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def log_text(self):
        data = phtest._read(self.log_dir / "error.log")
        return data.decode("utf-8", "replace") if data else ""

    def pstat(self):
        res = subprocess.run([str(phtest.REPO / "build/out/pstat"), "-j", "-d", "0", "--shm",
                              str(self.run_dir / "peruser_hybrid.shm")],
                             capture_output=True, text=True, timeout=30)
        assert res.returncode == 0, res.stderr
        return json.loads(res.stdout)


@pytest.fixture
def debian(tmp, env_users):
    copy = DebianCopy(tmp)
    yield copy
    copy.stop()


def test_debian_stock_config_a2enmod_serves_000_default(debian):
    debian.install_module()
    index = Path("/var/www/html/index.html").read_bytes()
    assert b"Apache2 Debian Default Page" in index

    # a2enmod honours the .load's Conflicts line: not beside mpm_event.
    res = debian.tool("a2enmod", "mpm_peruser_hybrid")
    assert res.returncode != 0 and "mpm_event is enabled" in res.stderr, res
    # The commands, verbatim.
    res = debian.tool("sh", "-c", "a2dismod mpm_event && a2enmod mpm_peruser_hybrid && "
                      "apache2ctl configtest && apache2ctl graceful")
    assert res.returncode == 0, f"{res.stdout}\n{res.stderr}\n{debian.log_text()[-3000:]}"
    enabled = debian.confdir / "mods-enabled"
    assert (enabled / "mpm_peruser_hybrid.load").is_symlink()
    assert (enabled / "mpm_peruser_hybrid.conf").is_symlink()
    assert not (enabled / "mpm_event.load").exists()
    parent = wait_for(debian.parent, phtest.START_TIMEOUT, what="the server's pid file")
    debian.record()

    # Debian's 000-default, unchanged but for its port: Debian's index page.
    resp = wait_for(lambda: phtest.http_get(debian.port, "localhost", "/", timeout=5),
                    phtest.START_TIMEOUT, what="000-default to answer")
    assert resp.status == 200, (resp, debian.log_text()[-3000:])
    assert resp.body == index
    resp = phtest.http_get(debian.port, "www.example.org", "/")
    assert resp.status == 200 and resp.body == index

    # ... served by the default environment's account, not www-data.
    uid = pwd.getpwnam(DEFAULT_USER).pw_uid
    snap = debian.pstat()
    envs = {e["name"]: e for e in snap["environments"]}
    assert list(envs) == [DEFAULT_USER], envs
    assert envs[DEFAULT_USER]["uid"] == uid and envs[DEFAULT_USER]["requests"] >= 2
    procs = [c["pid"] for c in snap["children"]
             if c["type"] == "PROCESSOR" and c["env"] == DEFAULT_USER]
    assert procs and all(phtest.proc_uids(p)[0] == (uid,) * 4 for p in procs), procs
    debian.record()
    www = pwd.getpwnam("www-data").pw_uid
    for pid in phtest.descendants(parent):
        ids = phtest.proc_uids(pid)
        assert not ids or ids[0][0] in (0, uid, www), (pid, ids)

    # apache2ctl -S: which environment and user serve each vhost.
    res = debian.tool("apache2ctl", "-S")
    assert res.returncode == 0, res.stderr
    assert re.search(r"000-default\.conf:1\)\n\s+-> environment phdefault, user phdefault, "
                     r"group phdefault$", res.stdout, re.M), res.stdout
    assert re.search(r"^\s+main server .*\n\s+-> environment phdefault, user phdefault",
                     res.stdout, re.M), res.stdout

    # `make install` again, over the module the running server maps: a new
    # file (renamed over it), the server goes on.
    so = debian.tmp / "root" / LIBEXEC.lstrip("/") / SO
    inode = so.stat().st_ino
    make_ok("install", f"DESTDIR={debian.tmp / 'root'}", "PH_CREATE_USER=no")
    assert so.stat().st_ino != inode
    resp = phtest.http_get(debian.port, "localhost", "/")
    assert resp.status == 200 and resp.body == index
    assert phtest.pid_alive(parent) and "AH00060" not in debian.log_text()

    # A graceful restart of the running server: it goes on answering, a new
    # generation, the same parent.
    gen = snap["server"]["generation"]
    res = debian.tool("apache2ctl", "graceful")
    assert res.returncode == 0, res.stderr

    def next_generation():
        s = debian.pstat()
        return s["server"]["generation"] > gen and s
    wait_for(next_generation, phtest.START_TIMEOUT, what="a new generation")
    assert debian.parent() == parent
    resp = phtest.http_get(debian.port, "localhost", "/")
    assert resp.status == 200 and resp.body == index
    assert "AH00060" not in debian.log_text()


# --------------------------------------------------------------------------
# apache2 -S / -t -D DUMP_ENVIRONMENTS on the test configurations


DUMP_CONF = phtest.server_head() + phtest.TWO_PROCESSORS + \
    phtest.vhost("alice.test", "alice", "alice") + \
    phtest.vhost("bob.test", "bob", "bob") + \
    phtest.vhost("nobody.test", None, "main")


def test_dump_shows_environment_and_user_of_each_vhost(servers, tree):
    port = phtest.free_port()
    srv = servers(DUMP_CONF, values={"PORT": port})
    for args in (("-S",), ("-t", "-D", "DUMP_ENVIRONMENTS")):
        res = srv.apache(*args)
        assert res.returncode == 0, res.stderr
        out = res.stdout
        assert re.search(r"^\s+alice\s+user alice \(\d+\) group alice", out, re.M), out
        for name, env in (("alice.test", "alice"), ("bob.test", "bob")):
            assert re.search(rf"^\s+127\.0\.0\.1:{port} {name} \(.*:\d+\)\n"
                             rf"\s+-> environment {env}, user {env}, group {env}$",
                             out, re.M), out
        assert re.search(rf"127\.0\.0\.1:{port} nobody\.test .*\n\s+-> NO ENVIRONMENT "
                         r"\(answered 503", out), out
    # Not without the define: -t alone prints nothing of it.
    assert "peruser_hybrid" not in srv.apache("-t").stdout


def test_dump_implicit_environment(servers, tree):
    port = phtest.free_port()
    srv = servers(phtest.server_head() + phtest.vhost("main.test", None, "main"),
                  values={"PORT": port})
    res = srv.apache("-S")
    assert res.returncode == 0, res.stderr
    assert re.search(r"main\.test .*\n\s+-> environment default \(implicit: no "
                     r"<Processor>\), user www-data", res.stdout), res.stdout


# --------------------------------------------------------------------------
# build/demo.sh takes a port, and removes what it made


def test_demo_takes_a_port_and_removes_what_it_made(tmp, env_users):
    demo = tmp / "demo"
    port = phtest.free_port()
    env = {**os.environ, "PORT": str(port), "DEMO_DIR": str(demo)}
    script = str(phtest.REPO / "build" / "demo.sh")
    try:
        res = subprocess.run(["bash", script], capture_output=True, text=True, timeout=300,
                             env=env, stdin=subprocess.DEVNULL)
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
        assert f"http://127.0.0.1:{port}/cgi-bin/whoami" in res.stdout
        assert f"DEMO_DIR={demo} bash {script} --remove" in res.stdout, res.stdout
        # alice and bob existed: the demo created no user, and says so.
        assert (demo / "created-users").read_text().strip() == ""
        body = phtest.http_get(port, "bob.test", "/cgi-bin/whoami").body.decode()
        assert f"uid={env_users['bob'][0]} " in body, body
        assert phtest.pids_with_cmdline(str(demo))
    finally:
        res = subprocess.run(["bash", script, "--remove"], capture_output=True, text=True,
                             timeout=120, env=env, stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res.stdout + res.stderr
    assert not demo.exists()
    wait_for(lambda: not phtest.pids_with_cmdline(str(demo)), phtest.STOP_TIMEOUT,
             what="the demo's processes to go")
    for name in env_users:
        pwd.getpwnam(name)      # still there
