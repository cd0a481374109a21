"""A fixed one-way delay for everything the isp forwards to or from the clinic (no netem here).

The lab's kernel has no ``sch_netem`` and no qdisc that delays by time (only ``htb``, ``tbf``,
``ingress`` and ``fifo``: ``tbf`` delays by *rate*, so its delay depends on packet size).  So
the isp routes every packet that crosses it between the clinic and the rest of the lab into a
TUN device held by this process, which writes it back into the same TUN after ``--delay-ms``;
the kernel then routes it on as if it had just arrived (policy rules in ``harness.py``).  A
packet crosses the relay once per direction, so the round trip grows by twice the delay.

Why it is accurate enough: packets are released from a heap in arrival order against
``time.monotonic()``; the error is the scheduling latency of one Python process (well under
a millisecond when idle, a few ms on a loaded 2-core machine), measured by the harness
self-test.  The IPv4 TTL / IPv6 hop limit is raised by one so the detour through the TUN does
not show up as an extra hop in a traceroute.

Usage: ``python delayrelay.py --name delay0 --delay-ms 200``; prints ``READY`` once the TUN
exists, exits 0 on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import os
import select
import struct
import sys
import time

from tundev import exit_on_signals, open_tun  # this directory: the helpers run as scripts

#: packets held at most (a flood would otherwise grow the heap without bound)
MAX_QUEUED = 10_000


def _checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def one_hop_back(packet: bytes) -> bytes:
    """The packet with TTL / hop limit + 1 (and the IPv4 header checksum redone)."""
    if not packet:
        return packet
    version = packet[0] >> 4
    if version == 4 and len(packet) >= 20:
        ihl = (packet[0] & 0x0F) * 4
        if ihl < 20 or len(packet) < ihl or packet[8] == 255:
            return packet
        header = bytearray(packet[:ihl])
        header[8] += 1
        header[10:12] = b"\0\0"
        header[10:12] = struct.pack("!H", _checksum(bytes(header)))
        return bytes(header) + packet[ihl:]
    if version == 6 and len(packet) >= 40 and packet[7] < 255:
        return packet[:7] + bytes([packet[7] + 1]) + packet[8:]
    return packet


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", default="delay0")
    parser.add_argument("--delay-ms", type=float, required=True, help="one-way delay added per crossing")
    args = parser.parse_args(argv)
    delay = args.delay_ms / 1000.0

    exit_on_signals()
    fd = open_tun(args.name)
    os.set_blocking(fd, False)
    queue: list[tuple[float, int, bytes]] = []
    order = itertools.count()
    print("READY", flush=True)
    try:
        while True:
            now = time.monotonic()
            while queue and queue[0][0] <= now:
                _, _, packet = heapq.heappop(queue)
                try:
                    os.write(fd, packet)
                except OSError:
                    pass  # e.g. the interface went down at teardown
            wait = max(0.0, queue[0][0] - now) if queue else None
            ready, _, _ = select.select([fd], [], [], wait)
            if not ready:
                continue
            arrived = time.monotonic()
            while True:  # drain everything that is there: one timestamp per wake-up is enough
                try:
                    packet = os.read(fd, 65536)
                except BlockingIOError:
                    break
                if not packet:
                    return 0
                if len(queue) < MAX_QUEUED:
                    heapq.heappush(queue, (arrived + delay, next(order), one_hop_back(packet)))
    finally:
        os.close(fd)


if __name__ == "__main__":
    sys.exit(main())
