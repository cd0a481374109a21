"""One end of a DS-Lite softwire (RFC 6333): IPv4 packets carried in IPv6, next header 4 (IPv4-in-IPv6).

The lab's kernel has no ``ip6tnl`` (``CONFIG_IPV6_TUNNEL`` is unset), so this process plays the
tunnel device: it holds a TUN interface (IPv4 side) and a raw IPv6 socket for protocol 4.  What
the kernel routes into the TUN goes to the peer as the payload of an IPv6 packet with next header
4, exactly what ``ip -6 tunnel add ... mode ipip6`` would send; IPv6 packets with next header 4
from the peer come out of the TUN.  Packets from any other IPv6 source are dropped (a real AFTR
keys its state by the softwire's IPv6 address; the lab has one B4).

Usage: ``python softwire.py --name dslite0 --local 2001:db8:4::2 --remote 2001:db8:4::1``.
Prints ``READY`` once both the interface and the socket exist; exits 0 on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import select
import socket
import sys

from tundev import exit_on_signals, open_tun  # this directory: the helpers run as scripts

IPPROTO_IPIP = 4


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", default="dslite0")
    parser.add_argument("--local", required=True, help="this end's IPv6 address")
    parser.add_argument("--remote", required=True, help="the peer's IPv6 address")
    args = parser.parse_args(argv)
    remote = ipaddress.IPv6Address(args.remote)

    exit_on_signals()
    fd = open_tun(args.name)
    raw = socket.socket(socket.AF_INET6, socket.SOCK_RAW, IPPROTO_IPIP)
    raw.bind((args.local, 0))
    print("READY", flush=True)
    try:
        while True:
            ready, _, _ = select.select([fd, raw], [], [])
            if fd in ready:
                packet = os.read(fd, 65536)
                if not packet:
                    return 0
                if packet[0] >> 4 == 4:  # IPv4 only: the softwire carries nothing else
                    try:
                        raw.sendto(packet, (args.remote, 0))
                    except OSError:
                        pass  # e.g. EMSGSIZE; a real tunnel drops too
            if raw in ready:
                data, addr = raw.recvfrom(65536)
                try:
                    source = ipaddress.IPv6Address(addr[0].split("%", 1)[0])
                except ValueError:
                    continue
                if source == remote and data and data[0] >> 4 == 4:
                    try:
                        os.write(fd, data)
                    except OSError:
                        pass
    finally:
        raw.close()
        os.close(fd)


if __name__ == "__main__":
    sys.exit(main())
