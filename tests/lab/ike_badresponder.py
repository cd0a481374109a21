"""A broken IKE "gateway": answers every request on UDP 500/4500 with malformed datagrams.

Real networks produce these (a router ALG rewriting IKE, a half-implemented
gateway, a load balancer answering from a pool): the probe must report them and
carry on, never crash or call them an answer. Stdlib only; runs in a lab
namespace::

    python ike_badresponder.py --bind 192.0.2.10 [--mode all|truncated|wrong-spi|...]

Prints ``READY`` once both ports are bound. Each request gets one reply per
selected mode, built from the request's own header so only the defect differs.
"""

from __future__ import annotations

import argparse
import os
import selectors
import socket
import struct
import sys

MODES = ("truncated", "wrong-spi", "garbage", "oversized", "zero-length-payload", "message-id", "echo", "esp")


def _response(request_header: bytes, body_type: int = 41) -> bytes:
    """A header-valid IKEv2 (or IKEv1) reply carrying one status notify."""
    spi_i = request_header[:8]
    version = request_header[17]
    exchange = request_header[18]
    if version >> 4 == 1:
        body = struct.pack("!BBH", 0, 0, 12) + struct.pack("!IBBH", 1, 1, 0, 24578)
        return struct.pack("!8s8sBBBBII", spi_i, os.urandom(8), 11, version, exchange, 0, 0, 28 + len(body)) + body
    body = struct.pack("!BBH", 0, 0, 8) + struct.pack("!BBH", 0, 0, 16404)
    return struct.pack("!8s8sBBBBII", spi_i, os.urandom(8), body_type, 0x20, exchange, 0x20, 0, 28 + len(body)) + body


def replies(request: bytes, mode: str) -> bytes | None:
    """The defective reply for ``mode``; ``None`` where the defect does not apply."""
    good = _response(request)
    if mode == "truncated":
        return good[:30]
    if mode == "wrong-spi":
        return os.urandom(8) + good[8:]
    if mode == "garbage":
        return b"HTTP/1.1 400 Bad Request\r\n\r\n" + os.urandom(20)
    if mode == "oversized":
        return good + b"\x00" * 13
    if mode == "zero-length-payload":
        return good[:30] + b"\x00\x00" + good[32:]
    if mode == "message-id":
        if request[17] >> 4 == 1:
            return None  # IKEv1 informationals carry any message id: not a defect there
        return good[:20] + struct.pack("!I", 5) + good[24:]
    if mode == "echo":
        return request
    if mode == "esp":
        return b"\x00\x00\x12\x34" + os.urandom(40)
    raise ValueError(mode)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bind", required=True)
    parser.add_argument("--mode", default="all", choices=("all", *MODES))
    args = parser.parse_args()
    modes = MODES if args.mode == "all" else (args.mode,)
    sel = selectors.DefaultSelector()
    for port in (500, 4500):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((args.bind, port))
        sel.register(s, selectors.EVENT_READ, port)
    print("READY", flush=True)
    while True:
        for key, _ in sel.select():
            sock: socket.socket = key.fileobj  # type: ignore[assignment]
            data, peer = sock.recvfrom(65535)
            nat_t = key.data == 4500
            if nat_t:
                if data[:4] != b"\0\0\0\0":
                    continue
                data = data[4:]
            if len(data) < 28:
                continue
            for mode in modes:
                out = replies(data, mode)
                if out is None:
                    continue
                if nat_t and mode != "esp":
                    out = b"\0\0\0\0" + out
                sock.sendto(out, peer)
            sys.stdout.flush()


if __name__ == "__main__":
    raise SystemExit(main())
