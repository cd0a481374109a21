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
import os
import sys

from tundev import exit_on_signals, open_tun  # this directory: the helpers run as scripts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", default="tun0")
    args = parser.parse_args(argv)

    exit_on_signals()
    fd = open_tun(args.name)
    print("READY", flush=True)
    try:
        while True:
            if not os.read(fd, 65536):
                return 0
    finally:
        os.close(fd)


if __name__ == "__main__":
    sys.exit(main())
