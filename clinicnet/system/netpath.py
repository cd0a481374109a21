"""Path measurements the probes need on Windows: TTL trace hop, don't-fragment, MTU, best route.

One public API here, one private module per platform (``_windows_netpath``, ``_linux_netpath``),
as in ``clinicnet.system``. Windows gets everything through documented iphlpapi/winsock calls
that need no administrator and no Npcap. On Linux the probes already read ICMP answers from the
socket error queue, so ``trace_hop`` and ``echo_dont_fragment`` raise ``NotOnThisPlatform``
there; the rest answers on both.

Used by ``nat_layers`` (the TTL trace where no ICMP reaches a UDP socket), ``system.udp``
(don't-fragment, the local MTU), ``vpn`` (tunnels, the route that carries a target's traffic).
"""

from __future__ import annotations

import socket
import sys
from dataclasses import dataclass

if sys.platform == "win32":  # pragma: no cover - run under Wine by tests/windows
    from clinicnet.system import _windows_netpath as _impl
else:
    from clinicnet.system import _linux_netpath as _impl

#: whether :func:`trace_hop` and :func:`echo_dont_fragment` work here (Windows' ICMP helper API)
echo_available: bool = sys.platform == "win32"

#: ``Echo.kind`` values: the first four are the network's answers; ``error`` is this PC's
KINDS = ("reply", "ttl_expired", "too_big", "unreachable", "timeout", "error")


class NotOnThisPlatform(RuntimeError):
    """The measurement is made another way on this platform (see the module docstring)."""


@dataclass(frozen=True)
class Echo:
    """What one ICMP echo brought back.

    ``kind``: ``reply`` (the target answered), ``ttl_expired`` (``responder`` is the router at
    that TTL), ``too_big`` (DF set and a link on the way is smaller; ``responder`` says where),
    ``unreachable``, ``timeout`` (nothing came back), ``error`` (this PC could not send it:
    ``ip_status`` is the Windows error, never a fact about the network).
    """

    kind: str
    ip_status: int
    responder: str | None = None
    rtt_ms: int | None = None
    reply_ttl: int | None = None


@dataclass(frozen=True)
class Adapter:
    """A network adapter with the facts that route and tunnel decisions need."""

    index: int
    name: str
    description: str
    if_type: int  # IANA ifType on Windows, ARPHRD type on Linux
    tunnel_type: str  # Windows TUNNEL_TYPE name ("none", "teredo" ...) / Linux tunnel kind
    mtu: int
    up: bool
    tunnel: str | None  # why it is a tunnel: "if_type", "tunnel_type", "name"; None if not


def trace_hop(target: str, ttl: int, timeout: float = 1.0) -> Echo:
    """An echo to IPv4 ``target`` with this TTL: who answered (Windows: IcmpSendEcho2)."""
    if sys.platform != "win32":
        raise NotOnThisPlatform("Linux traces through the UDP socket error queue (probes)")
    return Echo(**_impl.echo(target, ttl=ttl, timeout=timeout))


def echo_dont_fragment(target: str, packet_size: int, timeout: float = 1.0) -> Echo:
    """An echo of ``packet_size`` IPv4 bytes (header included) with DF set (Windows: IcmpSendEcho2)."""
    if sys.platform != "win32":
        raise NotOnThisPlatform("Linux sizes the path with IP_PMTUDISC_DO on the probe's UDP socket")
    return Echo(**_impl.echo(target, packet_size=packet_size, dont_fragment=True, timeout=timeout))


def set_dont_fragment(sock: socket.socket) -> None:
    """DF on an IPv4 UDP socket: IP_DONTFRAGMENT (Windows), IP_PMTUDISC_DO (Linux). OSError if refused."""
    _impl.set_dont_fragment(sock)


def adapters() -> list[Adapter]:
    """Every adapter, with index, MTU, type and tunnel facts."""
    if sys.platform == "win32":
        return [Adapter(
            index=a["if_index"], name=a["friendly_name"], description=a["description"], if_type=a["if_type"],
            tunnel_type=_impl.TUNNEL_TYPES.get(a["tunnel_type"], str(a["tunnel_type"])), mtu=a["mtu"],
            up=a["oper_up"], tunnel=_impl.tunnel_reason(a),
        ) for a in _impl.adapter_links()]
    return [Adapter(**a) for a in _impl.adapters()]  # type: ignore[attr-defined]


def local_mtu(interface: str) -> int | None:
    """The MTU of an adapter by name (Windows friendly name or Linux device name), or None."""
    for a in adapters():
        if a.name == interface:
            return a.mtu or None
    return None


def best_interface(target: str) -> Adapter | None:
    """The adapter this PC would send traffic for ``target`` through (GetBestInterfaceEx on
    Windows: split default routes and VPN host routes included), or None if unknown."""
    index = _impl.best_interface_index(target)
    found = adapters()
    for a in found:
        if a.index == index:
            return a
    if sys.platform == "win32":  # an IPv6 route reports the IPv6 index
        link = _impl.find_link(_impl.adapter_links(), index)
        if link is not None:
            return next((a for a in found if a.index == link["if_index"]), None)
    return None


def tunnel_adapters() -> list[Adapter]:
    """Adapters that are tunnels (VPN clients, 6to4/Teredo, PPP): by type first, then by name."""
    return [a for a in adapters() if a.tunnel is not None]
