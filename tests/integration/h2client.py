"""One HTTP/2 client connection for the tests (python3-h2): h2c with prior
knowledge or h2 over TLS, requests one at a time, each read to its end.
Shared by test_h2c.py and test_h2_tls.py."""

import socket
import time

import h2.config
import h2.connection
import h2.events


class H2Client:
    """sock: a connected socket (plain for h2c, TLS with ALPN h2 for h2);
    scheme: the :scheme the requests carry."""

    def __init__(self, sock, scheme, timeout=15):
        self.sock = sock
        self.scheme = scheme
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.conn.initiate_connection()
        self.sock.sendall(self.conn.data_to_send())
        self.closed_by_server = False
        self.deadline_s = timeout

    @classmethod
    def h2c(cls, port, timeout=15):
        return cls(socket.create_connection(("127.0.0.1", port), timeout=timeout), "http",
                   timeout)

    def get(self, authority, path="/cgi-bin/id.cgi", extra=()):
        """(status or None, body) of one GET on a new stream."""
        sid = self.conn.get_next_available_stream_id()
        self.conn.send_headers(sid, [(":method", "GET"), (":scheme", self.scheme),
                                     (":authority", authority), (":path", path),
                                     *extra], end_stream=True)
        self.sock.sendall(self.conn.data_to_send())
        status, body, done = None, b"", False
        deadline = time.monotonic() + self.deadline_s
        while not done:
            if time.monotonic() > deadline:
                raise AssertionError(f"stream {sid} for {authority}: no answer")
            data = self.sock.recv(65536)
            if not data:
                self.closed_by_server = True
                break
            for ev in self.conn.receive_data(data):
                if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == sid:
                    status = int(dict(ev.headers)[b":status"])
                elif isinstance(ev, h2.events.DataReceived) and ev.stream_id == sid:
                    body += ev.data
                    self.conn.acknowledge_received_data(ev.flow_controlled_length, sid)
                elif isinstance(ev, (h2.events.StreamEnded, h2.events.StreamReset)) \
                        and ev.stream_id == sid:
                    done = True
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    self.closed_by_server = True
                    done = True
            out = self.conn.data_to_send()
            if out:
                self.sock.sendall(out)
        return status, body

    def close(self):
        self.sock.close()
