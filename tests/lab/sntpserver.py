"""A small SNTP server for the lab (RFC 4330 server side), with a clock offset and misbehaviours.

Run in a lab namespace: ``sntpserver.py --bind 203.0.113.123 --offset 600`` answers every
client request with its own time plus ``offset`` seconds (a server whose clock differs from
the PC's is how a test makes the PC clock look wrong). ``--mode kod`` answers with a
kiss-o'-death (stratum 0, "RATE"), ``--mode garbage`` with bytes that are not NTP,
``--mode unsync`` with leap indicator 3.
"""

from __future__ import annotations

import argparse
import socket
import struct
import time

NTP_UNIX_DELTA = 2_208_988_800
PACKET = struct.Struct("!BBbb4s4s4sQQQQ")


def ntp(t: float) -> int:
    return int((t + NTP_UNIX_DELTA) * (1 << 32)) & 0xFFFF_FFFF_FFFF_FFFF


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", default="0.0.0.0")
    ap.add_argument("--port", type=int, default=123)
    ap.add_argument("--offset", type=float, default=0.0)
    ap.add_argument("--mode", choices=("ok", "kod", "garbage", "unsync"), default="ok")
    a = ap.parse_args()
    fam = socket.AF_INET6 if ":" in a.bind else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((a.bind, a.port))
    print("ready", flush=True)
    while True:
        data, peer = s.recvfrom(512)
        now = time.time() + a.offset
        if len(data) < PACKET.size:
            continue
        xmt = PACKET.unpack_from(data)[-1]
        if a.mode == "garbage":
            s.sendto(b"\x17" * 48, peer)
            continue
        leap = 3 if a.mode == "unsync" else 0
        stratum = 0 if a.mode == "kod" else 2
        refid = b"RATE" if a.mode == "kod" else bytes([203, 0, 113, 1])
        reply = PACKET.pack((leap << 6) | (4 << 3) | 4, stratum, 6, -20, b"\0" * 4, b"\0" * 4, refid,
                            ntp(now - 30), xmt, ntp(now), ntp(time.time() + a.offset))
        s.sendto(reply, peer)


if __name__ == "__main__":
    main()
