"""Linux side of ``netpath``: what Linux answers without raw sockets or the probes' error queue.

The TTL trace and the don't-fragment echo are not here: on Linux the probes read ICMP answers to
their own UDP datagrams from the socket's error queue (``system.icmp``), which needs no helper
API; ``netpath`` raises ``NotOnThisPlatform`` for them instead of a second implementation.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from clinicnet.system._common import TUNNEL_NAME

# IP_MTU_DISCOVER with IP_PMTUDISC_DO sets DF and never fragments locally; socket option
# numbers exist only in ``_linux``
from clinicnet.system._linux import IP_MTU_DISCOVER, IP_PMTUDISC_DO

#: linux/if_arp.h device types that are tunnels (ARPHRD_NONE is a TUN device)
_TUNNEL_ARPHRD = {768: "ipip", 769: "ip6ip6", 776: "sit", 778: "gre", 823: "ip6gre", 65534: "tun"}
SYS_NET = Path("/sys/class/net")


def set_dont_fragment(sock: socket.socket) -> None:
    sock.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)


def _sys_int(name: str, attr: str, root: Path = SYS_NET) -> int | None:
    try:
        return int((root / name / attr).read_text().strip())
    except (OSError, ValueError):
        return None


def local_mtu(name: str) -> int | None:
    return _sys_int(name, "mtu")


def tunnel_reason(name: str, arphrd: int | None) -> str | None:
    """``if_type`` for a tunnel device type (TUN, GRE, SIT ...), ``name`` for a VPN-ish name."""
    if arphrd in _TUNNEL_ARPHRD:
        return "if_type"
    if TUNNEL_NAME.match(name):
        return "name"
    return None


def adapters() -> list[dict[str, Any]]:
    try:
        names = sorted(p.name for p in SYS_NET.iterdir())
    except OSError:
        names = []
    out = []
    for name in names:
        arphrd = _sys_int(name, "type")
        state = (SYS_NET / name / "operstate")
        try:
            up = state.read_text().strip() in ("up", "unknown")
        except OSError:
            up = False
        out.append({"index": _sys_int(name, "ifindex") or 0, "name": name, "description": "",
                    "if_type": arphrd or 0, "tunnel_type": _TUNNEL_ARPHRD.get(arphrd or -1, "none"),
                    "mtu": local_mtu(name) or 0, "up": up, "tunnel": tunnel_reason(name, arphrd)})
    return out


def best_interface_index(target: str) -> int:
    """The interface the kernel's routing picks for ``target``: a connected UDP socket's source
    address (connect() sends nothing) matched to the interface that holds it."""
    import psutil

    family = socket.AF_INET6 if ":" in target else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.connect((target, 9))
        source = s.getsockname()[0]
    for name, addrs in psutil.net_if_addrs().items():
        if any(a.address.split("%")[0] == source for a in addrs):
            return _sys_int(name, "ifindex") or 0
    raise OSError(f"no interface holds the source address {source}")
