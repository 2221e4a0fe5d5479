"""Bad directive values and contradictions are refused by `apache2 -t`.

The numeric directives and their bounds are read from README.md's generated
table (between the directives markers), so a row added to config_rows.h
(and thus to the README) is covered here too.  Each case writes a config
from phtest's templates and checks what an admin sees: a non-zero exit and
a message naming the directive, the value and the allowed range.
"""

import grp
import re
import subprocess

import pytest

import phtest
from phtest import vhost

README = phtest.REPO / "README.md"

BASE = """
Listen 127.0.0.1:@@PORT@@
User www-data
Group www-data
ServerLimit 16
MinMultiplexers 2
@@GLOBAL@@
<Processor alice>
    User alice
    Group alice
@@INENV@@
</Processor>
<Processor bob>
    User bob
    Group bob
</Processor>
""" + vhost("alice.test", "alice", "alice") + vhost("bob.test", "bob", "bob")


def readme_rows():
    """[(name, contexts, min, max, default)] from the generated table."""
    text = README.read_text()
    m = re.search(r"<!-- directives:begin.*?-->\n(.*?)<!-- directives:end -->", text, re.S)
    assert m, "README.md has no directives:begin/end markers"
    rows = []
    # | `Name n` | context | default | MIN to MAX unit | meaning |  -- the
    # numeric rows; the module's other directives and httpd core's have no
    # numeric range in the "Allowed" column.
    for line in m.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 5 or not cells[0].startswith("`"):
            continue
        rng = re.match(r"(-?\d+) to (-?\d+)\b", cells[3])
        name = re.fullmatch(r"`(\w+) n`", cells[0])
        if not rng or not name:
            continue
        lo, hi = rng.groups()
        rows.append((name.group(1), cells[1], int(lo), int(hi), int(cells[2])))
    return rows


ROWS = readme_rows()


def test_readme_table_parsed():
    names = [r[0] for r in ROWS]
    # the table must have been found and parsed, or the tests below are empty
    for expected in ("ThreadsPerChild", "MinProcessors", "MaxSpareProcessors",
                     "IdleTimeout", "ExpireTimeout"):
        assert expected in names, names
    assert len(ROWS) >= 11


def run_t(servers, glob="", inenv=""):
    port = phtest.free_port()
    srv = servers(BASE, values={"PORT": port, "GLOBAL": glob, "INENV": inenv})
    res = srv.apache("-t", timeout=30)
    return res.returncode, res.stdout + res.stderr


def cases():
    out = []
    for name, ctx, lo, hi, _default in ROWS:
        contexts = ["server"] + (["processor"] if "<Processor>" in ctx else [])
        for where in contexts:
            for value, kind in ((str(hi + 1), "range"), (str(lo - 1), "range"),
                                ("abc", "number"), ("12x", "number")):
                out.append(pytest.param(name, lo, hi, where, value, kind,
                                        id=f"{name}-{where}-{value}"))
    return out


@pytest.mark.parametrize("name,lo,hi,where,value,kind", cases())
def test_bad_value_refused(servers, name, lo, hi, where, value, kind):
    line = f"{name} {value}"
    rc, out = run_t(servers, **({"glob": line} if where == "server"
                                else {"inenv": "    " + line}))
    assert rc != 0, f"apache2 -t accepted `{line}` ({where}): {out}"
    if kind == "range":
        want = f"{name}: {value} is out of range (allowed: {lo} to {hi})"
    else:
        want = f"{name}: '{value}' is not a whole number (allowed: {lo} to {hi})"
    assert want in out, f"expected {want!r} in:\n{out}"


@pytest.mark.parametrize("name,ctx,default", [(r[0], r[1], r[4]) for r in ROWS],
                         ids=[r[0] for r in ROWS])
def test_default_value_accepted(servers, name, ctx, default):
    # control: the same config with the row's default passes -t, so the
    # refusals above are about the value, not a broken template
    inenv = f"    {name} {default}" if "<Processor>" in ctx else ""
    rc, out = run_t(servers, glob=f"{name} {default}", inenv=inenv)
    assert rc == 0, out


def test_base_config_is_valid(servers):
    rc, out = run_t(servers)
    assert rc == 0, out
    assert "Syntax OK" in out


# The directives outside the table.
@pytest.mark.parametrize("line,want", [
    ("AsyncRequestWorkerFactor 1001",
     "AsyncRequestWorkerFactor: 1001 is out of range (allowed: 0 to 1000)"),
    ("AsyncRequestWorkerFactor -0.5",
     "AsyncRequestWorkerFactor: -0.5 is out of range (allowed: 0 to 1000)"),
    ("AsyncRequestWorkerFactor abc",
     "AsyncRequestWorkerFactor: 'abc' is not a decimal number (allowed: 0 to 1000)"),
    ("ProcessorWaitTimeout 3601",
     "ProcessorWaitTimeout: 3601 is out of range (allowed: 0 to 3600)"),
    ("ProcessorWaitTimeout x5",
     "ProcessorWaitTimeout: 'x5' is not a whole number (allowed: 0 to 3600)"),
    ("ProcessorWaitTimeout 5 0",
     "ProcessorWaitTimeout levels: 0 is out of range (allowed: 1 to 100)"),
    ("ProcessorWaitTimeout 5 101",
     "ProcessorWaitTimeout levels: 101 is out of range (allowed: 1 to 100)"),
], ids=lambda v: v if isinstance(v, str) and " " in v and ":" not in v else "")
def test_other_numeric_directives_refused(servers, line, want):
    rc, out = run_t(servers, glob=line)
    assert rc != 0, f"apache2 -t accepted `{line}`: {out}"
    assert want in out, f"expected {want!r} in:\n{out}"


# The word and name directives: a wrong value is refused by apache2 -t with
# a message naming the directive.
@pytest.mark.parametrize("line,want", [
    ("ProcessorImage copy", "ProcessorImage: 'copy' is not exec or fork"),
    ("StatusEnvironment carol", "StatusEnvironment carol: no <Processor carol> is declared"),
])
def test_word_directives_refused(servers, line, want):
    rc, out = run_t(servers, glob=line)
    assert rc != 0, f"apache2 -t accepted `{line}`: {out}"
    assert want in out, f"expected {want!r} in:\n{out}"


# What cannot work at run time fails apache2 -t (issue 11): a ServerLimit
# below what is kept running, a segment in a directory that does not exist.
@pytest.mark.parametrize("glob,inenv,want", [
    ("ServerLimit 4\nMinMultiplexers 2\nMinProcessors 2", "MinProcessors 1",
     "ServerLimit 4 cannot hold the 5 children kept running"),
    ("ExtendedScoreBoardFile /nonexistent-ph-dir/seg.shm", "",
     "ExtendedScoreBoardFile /nonexistent-ph-dir/seg.shm: the directory "
     "/nonexistent-ph-dir/ does not exist"),
], ids=["serverlimit-below-kept", "segment-dir-missing"])
def test_unworkable_configuration_refused(servers, glob, inenv, want):
    rc, out = run_t(servers, glob=glob, inenv=inenv)
    assert rc != 0, f"apache2 -t accepted it: {out}"
    assert want in out, f"expected {want!r} in:\n{out}"


def test_serverlimit_holding_what_is_kept_accepted(servers):
    rc, out = run_t(servers, glob="ServerLimit 5\nMinMultiplexers 2\nMinProcessors 2",
                    inenv="MinProcessors 1")
    assert rc == 0, out


@pytest.mark.parametrize("line", ["ProcessorImage exec", "ProcessorImage FORK",
                                  "StatusEnvironment bob"])
def test_word_directives_accepted(servers, line):
    rc, out = run_t(servers, glob=line)
    assert rc == 0, f"`{line}` refused: {out}"


@pytest.mark.parametrize("line", ["AsyncRequestWorkerFactor 0.5",
                                  "AsyncRequestWorkerFactor 1000",
                                  "ProcessorWaitTimeout 0 1",
                                  "ProcessorWaitTimeout 3600 100"])
def test_other_numeric_directives_bounds_accepted(servers, line):
    rc, out = run_t(servers, glob=line)
    assert rc == 0, f"`{line}` refused: {out}"


CONTRADICTIONS = [
    ("global ThreadsPerChild > ThreadLimit", "ThreadLimit 16\nThreadsPerChild 17", "",
     ("ThreadsPerChild", "ThreadLimit")),
    ("global MinProcessors > MaxProcessors", "MinProcessors 5\nMaxProcessors 4", "",
     ("MinProcessors", "MaxProcessors")),
    ("env MinProcessors > MaxProcessors", "", "MinProcessors 3\nMaxProcessors 2",
     ("MinProcessors", "MaxProcessors")),
    ("MinMultiplexers > MaxMultiplexers", "MinMultiplexers 5\nMaxMultiplexers 4", "",
     ("MinMultiplexers", "MaxMultiplexers")),
    ("global MinSpare > MaxSpare", "MinSpareProcessors 3\nMaxSpareProcessors 2", "",
     ("MinSpareProcessors", "MaxSpareProcessors")),
    ("env MinSpare > MaxSpare", "", "MinSpareProcessors 3\nMaxSpareProcessors 2",
     ("MinSpareProcessors", "MaxSpareProcessors")),
    ("env MaxProcessors > global", "MaxProcessors 4", "MaxProcessors 5",
     ("MaxProcessors", "<Processor alice>")),
]


@pytest.mark.parametrize("what,glob,inenv,names", CONTRADICTIONS,
                         ids=[c[0] for c in CONTRADICTIONS])
def test_contradiction_refused(servers, what, glob, inenv, names):
    # MinMultiplexers is in BASE too; a later line wins in httpd, so the
    # contradiction's own lines come after it.
    rc, out = run_t(servers, glob=glob, inenv=inenv)
    assert rc != 0, f"apache2 -t accepted {what}: {out}"
    for n in names:
        assert n in out, f"{what}: {n!r} not named in:\n{out}"


@pytest.mark.parametrize("what,glob,inenv", [
    ("MaxSpare 0 means no limit", "MinSpareProcessors 5\nMaxSpareProcessors 0", ""),
    ("equal Min/Max processors", "MinProcessors 4\nMaxProcessors 4", ""),
    ("env MaxProcessors equal to global", "MaxProcessors 4", "MaxProcessors 4"),
    ("ThreadsPerChild == ThreadLimit", "ThreadLimit 16\nThreadsPerChild 16", ""),
])
def test_non_contradiction_accepted(servers, what, glob, inenv):
    rc, out = run_t(servers, glob=glob, inenv=inenv)
    assert rc == 0, f"{what} refused: {out}"


# Accounts an environment must not share (issue 8, item 4).

ACCOUNTS = """
Listen 127.0.0.1:@@PORT@@
User www-data
Group www-data
@@GLOBAL@@
<Processor alice>
    User @@ALICE_USER@@
    Group @@ALICE_GROUP@@
</Processor>
<Processor bob>
    User bob
    Group bob
</Processor>
""" + vhost("alice.test", "alice", "alice") + vhost("bob.test", "bob", "bob")

NO_PROCESSOR = """
Listen 127.0.0.1:@@PORT@@
User www-data
Group www-data
@@GLOBAL@@
""" + vhost("alice.test", None, "alice")

CGID = f"LoadModule cgid_module {phtest.MODDIR}/mod_cgid.so"


def run_accounts_t(servers, user="alice", group="alice", glob="", template=ACCOUNTS):
    srv = servers(template, values={"PORT": phtest.free_port(), "GLOBAL": glob,
                                    "ALICE_USER": user, "ALICE_GROUP": group})
    res = srv.apache("-t", timeout=30)
    return res.returncode, res.stdout + res.stderr


@pytest.mark.parametrize("user,group,what", [
    ("www-data", "alice", "User www-data is the server's User"),
    ("alice", "www-data", "Group www-data is the server's Group"),
    ("www-data", "www-data", "User www-data is the server's User"),
])
def test_environment_with_server_account_refused(servers, env_users, user, group, what):
    rc, out = run_accounts_t(servers, user=user, group=group)
    assert rc != 0, f"apache2 -t accepted alice as {user}:{group}: {out}"
    assert "PH00060" in out and "<Processor alice>" in out and what in out, out
    assert "multiplexers" in out, out


def test_environment_user_in_server_group_refused(servers, env_users):
    # mallory's own group is mallory, but initgroups() would also give its
    # processors www-data, the multiplexers' group
    phtest.ensure_user("mallory")
    if "mallory" not in grp.getgrnam("www-data").gr_mem:
        subprocess.run(["usermod", "--append", "--groups", "www-data", "mallory"],
                       check=True)
    rc, out = run_accounts_t(servers, user="mallory", group="mallory")
    assert rc != 0, f"apache2 -t accepted a User in the server's Group: {out}"
    assert "PH00060" in out and "<Processor alice>" in out, out
    assert "User mallory is a member of the server's Group" in out, out


def test_account_changed_after_start_stops_only_its_environment(servers, tree, env_users):
    """An account changed after the start (eve added to the server's Group,
    which her processors' initgroups() would give them): the factory of
    her environment, started later on a cold request, refuses to start
    (PH00060), and her site is not served; alice's environment, started
    after the change too, is served.  Before, every factory checked every
    environment's account, so one tenant's account made every environment
    not yet started unavailable."""
    phtest.ensure_user("eve")
    subprocess.run(["gpasswd", "--delete", "eve", "www-data"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert "eve" not in grp.getgrnam("www-data").gr_mem
    port = phtest.free_port()
    conf = (phtest.server_head(threads=2)
            + "ProcessorWaitTimeout 2\n"
            + phtest.processor("alice", "alice", MinProcessors=0)
            + phtest.processor("eve", "eve", MinProcessors=0)
            + vhost("alice.test", "alice", "alice")
            + vhost("eve.test", "eve", "main")
            + vhost("probe.test", None, "main"))
    srv = servers(conf, values={"PORT": port}, loglevel="warn")
    try:
        srv.start(ready_hosts=["probe.test"], port=port)
        subprocess.run(["usermod", "--append", "--groups", "www-data", "eve"],
                       check=True)
        r = phtest.http_get(port, "alice.test", "/index.html", timeout=30)
        assert r.status == 200, r
        r = phtest.http_get(port, "eve.test", "/index.html", timeout=30)
        assert r.status != 200, r
        log = (srv.tmp / "error.log").read_text(errors="replace")
        refusals = [line for line in log.splitlines() if "PH00060" in line]
        assert refusals and all("<Processor eve>" in line for line in refusals), log[-3000:]
    finally:
        # before the stop: `apache2 -k stop` checks the configuration too
        subprocess.run(["gpasswd", "--delete", "eve", "www-data"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        srv.stop()


def test_no_processor_runs_as_server_user(servers):
    # one implicit environment, as stock httpd: allowed
    rc, out = run_accounts_t(servers, template=NO_PROCESSOR)
    assert rc == 0 and "Syntax OK" in out, out


def test_mod_cgid_with_environments_refused(servers, env_users):
    rc, out = run_accounts_t(servers, glob=CGID)
    assert rc != 0, f"apache2 -t accepted mod_cgid beside <Processor>: {out}"
    assert "PH00061" in out, out
    assert "environment's user" in out and "load mod_cgi instead" in out, out


def test_mod_cgid_without_environments_accepted(servers):
    rc, out = run_accounts_t(servers, glob=CGID, template=NO_PROCESSOR)
    assert rc == 0 and "Syntax OK" in out, out


def test_environments_sharing_a_user_accepted_with_notice(servers, env_users):
    rc, out = run_accounts_t(servers, user="bob", group="bob")
    assert rc == 0 and "Syntax OK" in out, out
    assert re.search(r"PH00066: <Processor alice> and <Processor bob> both run as user bob",
                     out), out
