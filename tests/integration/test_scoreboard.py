"""httpd's scoreboard is informational (issue 8, item 3).

Every child maps httpd's scoreboard read-write: processors must write their
worker slots for mod_status.  So a tenant can write anything there.  These
tests write it directly, as root from outside (the config puts the
scoreboard in a file with ScoreBoardFile, which APR keeps under /dev/shm;
its path is read from the parent's /proc/PID/maps), the way a tenant's code
inside a processor would from its own mapping:

  - every free slot's pid set to 1: the parent must still start processors
    for environments that need one (it used to take a non-zero pid in the
    scoreboard as "slot in use": nobody got a processor until a restart);
  - every slot's pid zeroed while a processor is busy: `apache2 -k stop`
    must still end every child (httpd's reclaim loop used to look for
    children in the scoreboard: it found none and left the busy one
    running).

Helper h4's hostile module attacks the same fields from inside a processor.
"""

import mmap
import os
import re
import struct

import phtest
from phtest import http_get, parse_id, vhost, wait_for

# A named APR shm starts with its mapped size (an apr_size_t, 8 bytes).  Then
# httpd 2.4's scoreboard on x86_64 Linux (include/scoreboard.h): a
# global_score of 56 bytes (server_limit and thread_limit first), then
# ServerLimit process_score records of 40 bytes, pid first.
APR_SHM_HEADER = 8
GLOBAL_SIZE = 56
PROCESS_SIZE = 40

SERVER_LIMIT = 8

CONF = """
Listen 127.0.0.1:@@PORT@@
User www-data
Group www-data
ThreadsPerChild 2
ThreadLimit 2
ServerLimit %d
MinMultiplexers 1
MaxMultiplexers 1
ScoreBoardFile @@TMP@@/run/scoreboard
""" % SERVER_LIMIT + phtest.processor("alice", "alice", MinProcessors=0,
                                      MinSpareProcessors=0) \
    + phtest.processor("bob", "bob", MinProcessors=0, MinSpareProcessors=0) \
    + vhost("alice.test", "alice", "alice") + vhost("bob.test", "bob", "bob")


class Scoreboard:
    """httpd's scoreboard of a running server, mapped read-write."""

    def __init__(self, srv):
        maps = phtest._read(f"/proc/{srv.parent_pid}/maps", "r") or ""
        paths = sorted(set(re.findall(r"\s(/dev/shm/\S+)$", maps, re.M)))
        assert len(paths) == 1, f"scoreboard mapping of the parent: {paths}\n{maps}"
        self.fd = os.open(paths[0], os.O_RDWR)
        self.map = mmap.mmap(self.fd, os.fstat(self.fd).st_size)
        size, server_limit, thread_limit = struct.unpack_from("Qii", self.map, 0)
        assert (size, server_limit, thread_limit) \
            == (len(self.map), SERVER_LIMIT, 2), "not the scoreboard layout this test knows"

    @staticmethod
    def offset(slot):
        return APR_SHM_HEADER + GLOBAL_SIZE + slot * PROCESS_SIZE

    def pid(self, slot):
        return struct.unpack_from("i", self.map, self.offset(slot))[0]

    def set_pid(self, slot, pid):
        struct.pack_into("i", self.map, self.offset(slot), pid)

    def close(self):
        self.map.close()
        os.close(self.fd)


def start(servers, tree):
    port = phtest.free_port()
    srv = servers(CONF, values={"PORT": port})
    srv.start()
    srv.port = port
    return srv


def serves_as(srv, host, uid):
    res = http_get(srv.port, host, "/cgi-bin/id.cgi", timeout=30)
    return res.status == 200 and parse_id(res.body).get("uid") == uid


def test_free_slots_marked_taken_in_scoreboard(servers, tree, env_users):
    """pid 1 in every free scoreboard slot: alice and bob (MinProcessors 0,
    so each needs a new processor) are still served, as their own users."""
    srv = start(servers, tree)
    sb = Scoreboard(srv)
    try:
        wait_for(lambda: sum(sb.pid(i) != 0 for i in range(SERVER_LIMIT)) >= 1,
                 10, what="the multiplexer in the scoreboard")
        forged = [i for i in range(SERVER_LIMIT) if sb.pid(i) == 0]
        for i in forged:
            sb.set_pid(i, 1)
        assert len(forged) == SERVER_LIMIT - 1, forged
        assert serves_as(srv, "alice.test", env_users["alice"][0])
        for i in range(SERVER_LIMIT):          # again, over what the parent wrote
            if sb.pid(i) == 0:
                sb.set_pid(i, 1)
        assert serves_as(srv, "bob.test", env_users["bob"][0])
        assert not srv.log_lines("PH00101"), srv.log_text()[-3000:]
    finally:
        sb.close()


def test_stop_ends_children_the_scoreboard_hides(servers, tree, env_users):
    """Every scoreboard pid zeroed while alice's processor is busy on a
    CGI: `apache2 -k stop` still ends the multiplexer and the processor
    well before the CGI would finish."""
    srv = start(servers, tree)
    _cgi, gate = phtest.gated_cgi(tree["alice"])
    conn = phtest.RawConn(srv.port, timeout=30)
    sb = Scoreboard(srv)
    try:
        conn.send("GET /cgi-bin/gated.cgi HTTP/1.1\r\nHost: alice.test\r\n"
                  "Connection: close\r\n\r\n")
        alice = env_users["alice"][0]
        wait_for(lambda: any(ids[0][1] == alice for ids in srv.children().values()),
                 15, what="a processor of alice")
        children = {pid: phtest.proc_starttime(pid)
                    for pid in phtest.all_pids()
                    if phtest.proc_ppid(pid) == srv.parent_pid}
        # the multiplexer, alice's processor (and alice's processor
        # factory, and the blank factories the cold starts left waiting,
        # which must end too)
        serving = (set(children) - set(srv.factories()) - set(srv.mux_factories())
                   - set(srv.blanks()))
        assert len(serving) == 2, children
        srv.record_processes()
        for i in range(SERVER_LIMIT):
            sb.set_pid(i, 0)
        srv.apache("-k", "stop")

        # the gated CGI holds its worker for up to 20 s; the parent's
        # reclaim takes 10 s at worst (SIGTERM, then SIGKILL)
        def children_gone():
            return not [p for p, st in children.items() if phtest.pid_alive(p, st)]
        wait_for(children_gone, 16, what="the parent's children to exit after -k stop")
    finally:
        sb.close()
        conn.close()
        if gate.exists():
            gate.unlink()
