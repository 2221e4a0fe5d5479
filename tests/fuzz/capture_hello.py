#!/usr/bin/env python3
"""capture_hello.py -- record the first bytes a TLS client sends.

Listens on loopback, accepts one connection, reads until the client has
been quiet for 0.5 s (it waits for a ServerHello that never comes), writes
what it got to OUTFILE and closes.  Used to make the seed corpus of
tests/fuzz/corpus/tls_hello/ and the arrays of tests/unit/tls_hello_samples.h:

    python3 tests/fuzz/capture_hello.py OUT -- openssl s_client \\
        -connect 127.0.0.1:{port} -servername x.example
    python3 tests/fuzz/capture_hello.py OUT -- curl -k https://a.example:{port}/ \\
        --resolve a.example:{port}:127.0.0.1

"{port}" in the command is replaced by the listening port.
"""
import socket
import subprocess
import sys


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit(__doc__)
    out, cmd = sys.argv[1], sys.argv[3:]
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    cmd = [a.replace("{port}", str(port)) for a in cmd]
    client = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    srv.settimeout(10)
    conn, _ = srv.accept()
    conn.settimeout(0.5)
    data = b""
    try:
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pass
    conn.close()
    srv.close()
    client.kill()
    client.wait()
    with open(out, "wb") as f:
        f.write(data)
    print(f"{out}: {len(data)} bytes")


if __name__ == "__main__":
    main()
