"""Platform seams: one public API here, one private module per platform.

Like psutil, the implementation is chosen once at import; callers never test
``sys.platform`` themselves. Each function answers one question a probe needs
and returns plain data, so Windows-shaped answers can be unit-tested on Linux
with recorded data by calling the private module's pure helpers directly.

Narrower questions live in submodules built the same way (the answers come from
the same ``_linux`` / ``_windows`` module): :mod:`~clinicnet.system.icmp` (what
an ICMP error said about a probe's datagram), :mod:`~clinicnet.system.udp` (what
a datagram socket can measure: fragments, don't-fragment, path MTU, the local
address) and :mod:`~clinicnet.system.capture` (the packet capture tool, its
interfaces and how to stop it). Socket option numbers exist only in ``_linux``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

if sys.platform == "win32":  # pragma: no cover - exercised by Windows unit tests via helpers
    from clinicnet.system import _windows as _impl
else:
    from clinicnet.system import _linux as _impl


@dataclass(frozen=True)
class DefaultRoute:
    family: int  # 4 or 6
    interface: str
    gateway: str | None  # None for a device route such as ``default dev tun0``
    metric: int = 0
    #: ``0.0.0.0/1`` + ``128.0.0.0/1`` (IPv6: ``::/1`` + ``8000::/1``) on one interface, as VPN
    #: clients install them: more specific than any ``/0``, so they carry the traffic
    split: bool = False


def is_admin() -> bool:
    """Administrator (Windows) or root/CAP_NET_RAW (Linux): raw-socket probes need it."""
    return _impl.is_admin()


def interface_kind(name: str) -> str:
    """``wired``, ``wifi``, ``tunnel``, ``loopback``, ``virtual`` or ``unknown`` (Wi-Fi matters, G9)."""
    return _impl.interface_kind(name)


def default_routes() -> list[DefaultRoute]:
    """Default routes for IPv4 and IPv6, best first per family: device routes without a gateway
    and split default routes included (Windows: GetIpForwardTable2; Linux: /proc/net)."""
    return [DefaultRoute(**r) for r in _impl.default_routes()]


def resolvers() -> list[str]:
    """DNS server addresses the system resolver uses (best effort; may be empty)."""
    return _impl.resolvers()


def ui_language() -> str:
    """``ja`` on a Japanese system, else ``en``."""
    return _impl.ui_language()


def raw_sockets_available() -> tuple[bool, str]:
    """Whether raw IP sockets can be opened, and if not, why (for skip reasons)."""
    return _impl.raw_sockets_available()


def owns_console() -> bool:
    """True when this process is alone on a console window that was opened for it.

    That is how a double-clicked .exe runs on Windows: the window closes the
    moment the program exits, taking the verdict with it, so the CLI waits for
    Enter. From a terminal (or anywhere on Linux) the answer is False.
    """
    return _impl.owns_console()
