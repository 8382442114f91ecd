#!/usr/bin/env python3
"""netfront's two queues: a TCP echo server on the host's loopback, which the
guest reaches through slirp as 10.0.2.2, and net_multiqueue's flows to it.

usage: mq_test.py ATOLL IMAGE"""

import socket
import socketserver
import subprocess
import sys
import threading


class Echo(socketserver.StreamRequestHandler):
    def handle(self):
        line = self.rfile.readline()
        self.wfile.write(line)


def main():
    atoll, image = sys.argv[1:3]
    socketserver.ThreadingTCPServer.daemon_threads = True
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Echo) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.server_address[1]
        r = subprocess.run([atoll, "run", image, "--net", "user", "--", str(port)], capture_output=True,
                           text=True, timeout=50)
        server.shutdown()
    sys.stdout.write(r.stdout + r.stderr)
    return 0 if r.returncode == 0 and "net_multiqueue: PASSED" in r.stdout else 1


if __name__ == "__main__":
    sys.exit(main())
