"""Hold a TUN interface open, like a connected VPN client does (runs inside the pc namespace).

A non-persistent TUN device lives exactly as long as the file descriptor that created it, so the
"VPN is up" lab state is this process: while it runs, ``tun0`` exists and carries the default
route; packets routed into it are read and dropped (the far end of this fake tunnel is nowhere),
which is what makes general internet unreachable while the gateway stays reachable (G4).

Usage: ``python tunholder.py [--name tun0]``.  Prints ``READY`` once the interface exists;
exits 0 on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import signal
import struct
import sys
from types import FrameType

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", default="tun0")
    args = parser.parse_args(argv)

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    fd = os.open("/dev/net/tun", os.O_RDWR)
    ifreq = struct.pack("16sH22x", args.name.encode(), IFF_TUN | IFF_NO_PI)
    fcntl.ioctl(fd, TUNSETIFF, ifreq)
    print("READY", flush=True)
    try:
        while True:
            if not os.read(fd, 65536):
                return 0
    finally:
        os.close(fd)


if __name__ == "__main__":
    sys.exit(main())
