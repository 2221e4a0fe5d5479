"""Strings read from the segment are untrusted in mod_status (issue 8).

An environment's name in the segment can be rewritten by a tenant's code.
Here the test rewrites it as root, in the parent's own shared mapping
(found through /proc/PID/maps, written through /proc/PID/mem, so the test
needs no knowledge of the segment's layout): the record of environment
"zzvictim" gets a name with a newline and a whole forged ?auto line for
bob, terminal escapes and HTML.  mod_status, served by bob's vhost, must
keep every ?auto line one key with one value (no forged bob line) and show
the name escaped in its HTML tables.
"""

import re

import phtest
from phtest import http_get, processor, vhost, wait_for

VICTIM = b"zzvictim"
FORGED = b"zz\nPeruser.bob.Requests: 999\n<b>\x1b[2J"

CONF = """
Listen 127.0.0.1:@@PORT@@
User www-data
Group www-data
ThreadsPerChild 2
ServerLimit 8
MinMultiplexers 1
ExtendedStatus On
StatusEnvironment bob
""" + processor("bob", "bob", MinProcessors=1, MinSpareProcessors=0) \
    + processor(VICTIM.decode(), "alice", MinProcessors=1, MinSpareProcessors=0) \
    + vhost("bob.test", "bob", "bob", "<Location /server-status>",
            "    SetHandler server-status", "</Location>") \
    + vhost("victim.test", VICTIM.decode(), "alice")


def shared_mappings(pid):
    """(start, end) of every writable shared mapping of pid."""
    out = []
    for line in (phtest._read(f"/proc/{pid}/maps", "r") or "").splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[1].startswith("rw") and fields[1][3] == "s":
            start, end = (int(x, 16) for x in fields[0].split("-"))
            out.append((start, end))
    return out


def rename_in_parent(pid, old, new):
    """Overwrite the NUL-terminated name `old` with `new` (NUL-padded to
    the same length + 1) wherever it appears in pid's shared mappings.
    Returns how many copies were rewritten."""
    needle = old + b"\0"
    assert len(new) <= 63, "a name field holds 63 bytes and a NUL"
    count = 0
    with open(f"/proc/{pid}/mem", "r+b", buffering=0) as mem:
        for start, end in shared_mappings(pid):
            mem.seek(start)
            data = mem.read(end - start)
            for m in re.finditer(re.escape(needle), data):
                mem.seek(start + m.start())
                mem.write(new + b"\0" * (max(len(needle), len(new) + 1) - len(new)))
                count += 1
    return count


def test_forged_name_cannot_forge_auto_lines(servers, tree, env_users, shm_dump):
    port = phtest.free_port()
    srv = servers(CONF, values={"PORT": port})
    srv.start(ready_hosts=["bob.test", "victim.test"], port=port)
    names = {e["name"] for e in phtest.segment(srv)["envs"]}
    assert names == {"bob", VICTIM.decode()}, names

    assert rename_in_parent(srv.parent_pid, VICTIM, FORGED) >= 1
    wait_for(lambda: FORGED.decode("latin-1") in
             {e["name"] for e in phtest.segment(srv)["envs"]},
             5, what="the forged name in the segment")

    r = http_get(port, "bob.test", "/server-status?auto")
    assert r.status == 200, r
    lines = r.body.decode("latin-1").splitlines()
    peruser = [ln for ln in lines if ln.startswith("Peruser")]
    # every Peruser line is "key: value" with a key of printable,
    # space-free characters
    bad = [ln for ln in peruser
           if not re.fullmatch(r"Peruser[A-Za-z0-9_.%-]*: -?\d+", ln)]
    assert bad == [], f"malformed ?auto lines: {bad}"
    bob_requests = [ln for ln in peruser if ln.startswith("Peruser.bob.Requests:")]
    assert len(bob_requests) == 1 and bob_requests[0] != "Peruser.bob.Requests: 999", \
        bob_requests
    assert "Peruser.zz%0aPeruser.bob.Requests%3a%20999%0a%3cb%3e%1b%5b2J.Requests" \
        in "\n".join(peruser), peruser
    raw = [b for b in r.body if (b < 0x20 and b not in (0x0a, 0x09)) or b == 0x7f]
    assert raw == [], f"raw control bytes in ?auto: {raw}"

    page = http_get(port, "bob.test", "/server-status?peruser_stats")
    assert page.status == 200, page
    html = page.body.decode("latin-1")
    assert "zz\\x0aPeruser.bob.Requests: 999\\x0a&lt;b&gt;\\x1b[2J" in html, html[-3000:]
    assert "\x1b" not in html
