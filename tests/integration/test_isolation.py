"""NiceLevel and Chroot: a processor's nice value, and a processor shut in a
prepared directory tree.

NiceLevel: the processor, and a CGI it runs, show the configured value in
the nice field of /proc/PID/stat; a negative one too (set as root, before
the processor drops privileges); the multiplexers keep the server's.

Chroot: a minimal tree (dash and the two libraries it needs, copied in)
holds the environment's documents and a CGI; the paths in the
configuration (/jailwww) exist only inside it, so a 200 with the tree's
bytes comes from inside.  A Chroot that is missing fails `apache2 -t`.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import phtest
from phtest import http_get, processor, seg_processors, segment, vhost, wait_for

HEAD = phtest.server_head(threads=4, server_limit=16, muxes=1)

NICE_CGI = """\
#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
# the fields after "pid (comm) ": nice is the 17th of them (19th in all)
echo "nice=$(sed -E 's/^.*\\) //' /proc/self/stat | cut -d' ' -f17) uid=$(id -u)"
"""


def nice_of(pid):
    """The nice field of /proc/PID/stat (comm may hold spaces: after ')')."""
    text = open(f"/proc/{pid}/stat").read()
    return int(text[text.rindex(")") + 2:].split()[16])


def settled(srv, envs, muxes=1):
    def ready():
        seg = segment(srv)
        kids = seg["children"]
        if sum(c["type_name"] == "multiplexer" for c in kids) != muxes:
            return None
        if any(len(seg_processors(seg, e)) != 1 for e in envs):
            return None
        if any(c["status_name"] not in ("ready", "active") for c in kids):
            return None
        return seg
    return wait_for(ready, 30, what=f"one processor each for {envs}")


@pytest.mark.parametrize("image", ["exec", "fork"])
def test_nice_level(servers, tree, shm_dump, image):
    """NiceLevel 7 for alice, -5 for bob (needs root: set before setuid):
    their processors and the CGIs they run have those nice values; the
    multiplexer and the parent keep 0.  With processors from a factory
    (ProcessorImage exec) and from the parent (fork)."""
    for name in ("alice", "bob"):
        p = tree[name] / "cgi-bin" / "nice.cgi"
        p.write_text(NICE_CGI)
        os.chmod(p, 0o755)
    conf = (HEAD + f"ProcessorImage {image}\n"
            + processor("alice", "alice", MinProcessors=1, MaxProcessors=1,
                        MinSpareProcessors=0, NiceLevel=7)
            + processor("bob", "bob", MinProcessors=1, MaxProcessors=1,
                        MinSpareProcessors=0, NiceLevel=-5)
            + vhost("alice.test", "alice", "alice") + vhost("bob.test", "bob", "bob"))
    port = phtest.free_port()
    srv = servers(conf, values={"PORT": port})
    srv.start(ready_hosts=["alice.test", "bob.test"], port=port)
    seg = settled(srv, ("alice", "bob"))
    for env, want in (("alice", 7), ("bob", -5)):
        pid = seg_processors(seg, env)[0]["pid"]
        assert nice_of(pid) == want, (env, pid)
        r = http_get(port, f"{env}.test", "/cgi-bin/nice.cgi")
        assert r.status == 200, r
        body = r.body.decode()
        assert f"nice={want} " in body, body
        assert f"uid={phtest.proc_uids(pid)[0][1]}" in body, body
    for c in seg["children"]:
        if c["type_name"] == "multiplexer":
            assert nice_of(c["pid"]) == 0
    assert nice_of(srv.parent_pid) == 0


def test_nice_level_out_of_range(servers, tree):
    for value in ("20", "-21", "low"):
        conf = (HEAD + processor("alice", "alice", NiceLevel=value)
                + vhost("alice.test", "alice", "alice"))
        srv = servers(conf, values={"PORT": phtest.free_port()})
        res = srv.apache("-t")
        assert res.returncode != 0, (value, res)
        assert "NiceLevel" in res.stderr and "-20" in res.stderr, res.stderr


JAIL_CGI = """\
#!/bin/sh
read secret < /data/secret.txt
printf 'Content-Type: text/plain\\r\\n\\r\\n'
echo "from inside: $secret"
"""


def make_jail(root):
    """A tree to chroot into: /bin/sh (dash) with its libraries, /data with
    a file only the tree has, /jailwww with a page and a CGI."""
    root = Path(root)
    dash = Path(os.path.realpath("/bin/sh"))
    libs = re.findall(r"(/\S+) \(0x", subprocess.run(["ldd", str(dash)], capture_output=True,
                                                     text=True, check=True).stdout)
    assert libs, "ldd found no libraries for /bin/sh"
    for path in [str(dash), *libs]:
        dest = root / path.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(os.path.realpath(path), dest)
    (root / "bin").mkdir(exist_ok=True)
    if not (root / "bin" / "sh").exists():
        os.symlink(str(dash), root / "bin" / "sh")   # absolute: inside the tree
    (root / "data").mkdir()
    (root / "data" / "secret.txt").write_text("jail-only-bytes\n")
    www = root / "jailwww"
    (www / "cgi-bin").mkdir(parents=True)
    (www / "index.html").write_text("page inside the jail\n")
    cgi = www / "cgi-bin" / "in.cgi"
    cgi.write_text(JAIL_CGI)
    os.chmod(cgi, 0o755)
    for dirpath, dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o755)
    return root


def jail_conf(chroot):
    return (HEAD
            + processor("alice", "alice", MinProcessors=1, MaxProcessors=1,
                        MinSpareProcessors=0, Chroot=chroot)
            + processor("bob", "bob", MinProcessors=1, MaxProcessors=1, MinSpareProcessors=0)
            + vhost("alice.test", "alice", "alice", "DocumentRoot /jailwww",
                    "<Directory /jailwww>", "    Options +ExecCGI",
                    "    AddHandler cgi-script .cgi", "    Require all granted",
                    "</Directory>")
            + vhost("bob.test", "bob", "bob"))


def test_chroot_serves_file_and_cgi_from_inside(servers, tree, tmp, shm_dump):
    """alice's processor is chrooted to a prepared tree: it serves the
    tree's page and runs the tree's CGI (its /bin/sh, reading a file only
    the tree has); its root directory is the tree; bob is unaffected."""
    jail = make_jail(Path(tmp) / "jail")
    assert not Path("/jailwww").exists() and not Path("/data/secret.txt").exists()
    port = phtest.free_port()
    srv = servers(jail_conf(str(jail)), values={"PORT": port})
    srv.start(ready_hosts=["bob.test"], port=port)
    r = wait_for(lambda: (lambda x: x if x.status == 200 else None)(
        http_get(port, "alice.test", "/index.html")), 30, what="alice's page")
    assert r.body == b"page inside the jail\n"
    r = http_get(port, "alice.test", "/cgi-bin/in.cgi")
    assert r.status == 200, r
    assert r.body == b"from inside: jail-only-bytes\n", r.body
    seg = settled(srv, ("alice", "bob"))
    pid = seg_processors(seg, "alice")[0]["pid"]
    assert os.readlink(f"/proc/{pid}/root") == str(jail)
    assert phtest.proc_uids(pid)[0][1] == phtest.ensure_user("alice")[0]
    bob = seg_processors(seg, "bob")[0]["pid"]
    assert os.readlink(f"/proc/{bob}/root") == "/"
    r = http_get(port, "bob.test", "/index.html")
    assert r.status == 200 and b"hello from bob" in r.body, r


def test_chroot_missing_directory_fails_config_test(servers, tree, tmp):
    """A Chroot that does not exist, or is a file, fails apache2 -t with a
    message naming the environment and the path."""
    missing = Path(tmp) / "no-such-jail"
    afile = Path(tmp) / "a-file"
    afile.write_text("")
    for path in (missing, afile):
        srv = servers(jail_conf(str(path)), values={"PORT": phtest.free_port()})
        res = srv.apache("-t")
        assert res.returncode != 0, res
        assert f"<Processor alice>" in res.stderr, res.stderr
        assert f"Chroot {path} is not a directory" in res.stderr, res.stderr
