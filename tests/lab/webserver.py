"""Tiny HTTP server for the lab's "internet" (runs inside the isp namespace).

It plays the connectivity-check endpoints that clinicnet (and Windows/Android) use, plus
``/whoami`` so tests can see the source address after NAT.  Stdlib only, because it runs with the
same interpreter as the tests and must start in a few tens of milliseconds.

Usage: ``python webserver.py --bind 203.0.113.80 --bind 2001:db8:203::80 [--port 80]``;
``--drip 0.03`` makes it a hostile server that answers one byte every 30 ms.
Prints ``READY`` on stdout once every listener is bound; request logs go to stderr.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import signal
import socket
import socketserver
import sys
import threading
import time
from types import FrameType

CONNECTTEST_BODY = "Microsoft Connect Test"
NCSI_BODY = "Microsoft NCSI"
ROOT_BODY = "clinicnet lab"
#: how long a dripping answer goes on at most
_DRIP_FOR_S = 120.0


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves fixed bodies; ``/whoami`` answers with the peer address as JSON."""

    server_version = "clinicnet-lab/1"
    protocol_version = "HTTP/1.1"
    #: seconds added to the Date header: a server whose clock differs from the PC's
    clock_offset = 0.0
    #: > 0: a hostile server that sends its answer one byte every ``drip_s`` seconds, for
    #: up to ``_DRIP_FOR_S`` (a per-read timeout never fires against it)
    drip_s = 0.0

    def date_time_string(self, timestamp: float | None = None) -> str:
        return super().date_time_string((time.time() if timestamp is None else timestamp) + self.clock_offset)

    def _reply(self, status: int, body: str = "", content_type: str = "text/plain") -> None:
        data = body.encode()
        self.send_response(status)
        if status != 204:
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if self.command != "HEAD" and status != 204:
            self.wfile.write(data)

    def _drip(self) -> None:
        """A valid-looking status line, then header lines that never end, one byte at a time."""
        data = b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-Drip-%d: %s\r\n" % (i, b"." * 40) for i in range(4000))
        end = time.monotonic() + _DRIP_FOR_S
        self.close_connection = True
        try:
            for i in range(len(data)):
                if time.monotonic() > end:
                    return
                self.wfile.write(data[i:i + 1])
                self.wfile.flush()
                time.sleep(self.drip_s)
        except OSError:
            return  # the client gave up: what a client with a deadline does

    def do_GET(self) -> None:  # noqa: N802 - name fixed by BaseHTTPRequestHandler
        if self.drip_s > 0:
            self._drip()
            return
        path = self.path.split("?", 1)[0]
        if path == "/connecttest.txt":
            self._reply(200, CONNECTTEST_BODY)
        elif path == "/ncsi.txt":
            self._reply(200, NCSI_BODY)
        elif path == "/generate_204":
            self._reply(204)
        elif path == "/whoami":
            host, port = self.client_address[:2]
            body = json.dumps({"address": host, "port": port, "host": self.headers.get("Host")})
            self._reply(200, body, "application/json")
        elif path == "/":
            self._reply(200, ROOT_BODY)
        else:
            self._reply(404, "not found")

    do_HEAD = do_GET  # noqa: N815 - same routing, _reply skips the body

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        sys.stderr.write(f"{self.client_address[0]} {format % args}\n")
        sys.stderr.flush()


class _Server(http.server.ThreadingHTTPServer):
    """HTTPServer whose bind skips ``socket.getfqdn``.

    ``HTTPServer.server_bind`` resolves its own address; inside a namespace whose DNS is down
    (dns="down" labs) that stalls for seconds, and the lab must build in well under a second.
    """

    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self) -> None:
        if self.address_family == socket.AF_INET6:
            # v6 listener only: the v4 address has its own listener
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)


class _Server6(_Server):
    address_family = socket.AF_INET6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bind", action="append", required=True, help="address to listen on")
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--clock-offset", type=float, default=0.0, help="seconds added to the Date header")
    parser.add_argument("--drip", type=float, default=0.0, metavar="SECONDS",
                        help="hostile: send every answer one byte per SECONDS (slow-drip server)")
    args = parser.parse_args(argv)
    _Handler.clock_offset = args.clock_offset
    _Handler.drip_s = args.drip

    servers: list[_Server] = []
    for addr in args.bind:
        cls = _Server6 if ":" in addr else _Server
        servers.append(cls((addr, args.port), _Handler))
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        # no graceful shutdown(): it polls every 0.5 s per listener and teardown must be fast;
        # the kernel closes the sockets
        os._exit(0)

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    print("READY", flush=True)
    while True:
        signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
