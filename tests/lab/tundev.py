"""A TUN device for the lab's helper processes (``tunholder.py``, ``softwire.py``, ``delayrelay.py``).

Those run as scripts inside a namespace (``python tests/lab/X.py``), so they import this
module by its plain name from their own directory.  A non-persistent TUN lives exactly as long
as the descriptor that created it: when the helper exits, the interface is gone.
"""

from __future__ import annotations

import fcntl
import os
import signal
import struct
from types import FrameType

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def exit_on_signals() -> None:
    """SIGTERM/SIGINT end the helper with exit code 0 (``finally`` blocks still run)."""
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)


def open_tun(name: str) -> int:
    """Create TUN ``name`` (raw IP packets, no packet-info header); returns its descriptor."""
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd
