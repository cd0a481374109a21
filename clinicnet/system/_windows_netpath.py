"""Windows path measurements through documented Win32 APIs (ctypes, no administrator, no Npcap).

Linux reads a router's ICMP answer to a UDP datagram from the socket's error queue; Windows has
no such queue for an unprivileged program (and delivers no ICMP error to a UDP socket except as
``WSAECONNRESET``). What Windows does offer any user is the ICMP helper API in iphlpapi:

- ``IcmpSendEcho2`` sends an echo request with ``IP_OPTION_INFORMATION`` (TTL, ``IP_FLAG_DF``)
  and returns ``ICMP_ECHO_REPLY`` records whose ``Address`` is whoever answered: the router
  whose TTL ran out (``IP_TTL_EXPIRED_TRANSIT``), the router that needed to fragment
  (``IP_PACKET_TOO_BIG``) or the target (``IP_SUCCESS``). That is a TTL trace and a
  don't-fragment size test without raw sockets.
- ``setsockopt(IPPROTO_IP, IP_DONTFRAGMENT)`` (14) sets DF on a UDP socket, so an oversized
  datagram fails instead of leaving fragmented.
- ``GetBestInterfaceEx`` names the interface Windows would use to reach a target: the route
  that really carries the VPN's traffic, split default routes included.
- ``GetAdaptersAddresses`` (``IP_ADAPTER_ADDRESSES_LH``) gives each adapter's ``IfIndex``,
  ``Mtu``, ``IfType`` and ``TunnelType``; the head of that structure is parsed in ``_windows``,
  the tail read here.

Every byte layout is the 64-bit Windows one, declared with fixed-width ctypes so that the parsers
run (and are tested, on recorded bytes) on Linux as well. The reply is read in the native 64-bit
layout (``ICMP_ECHO_REPLY`` with 8-byte pointers), as Windows fills it for a 64-bit process;
the request options carry no option data, so their pointer member is NULL in either layout.
"""

from __future__ import annotations

import ctypes
import re
import socket
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypedDict

from clinicnet.system import _windows

# ipexport.h
IP_FLAG_DF = 0x02
IP_SUCCESS = 0
IP_BUF_TOO_SMALL = 11001
IP_DEST_NET_UNREACHABLE = 11002
IP_DEST_HOST_UNREACHABLE = 11003
IP_DEST_PROT_UNREACHABLE = 11004
IP_DEST_PORT_UNREACHABLE = 11005
IP_NO_RESOURCES = 11006
IP_PACKET_TOO_BIG = 11009
IP_REQ_TIMED_OUT = 11010
IP_BAD_ROUTE = 11012
IP_TTL_EXPIRED_TRANSIT = 11013
IP_TTL_EXPIRED_REASSEM = 11014
IP_GENERAL_FAILURE = 11050
#: ws2ipdef.h: IP_DONTFRAGMENT at level IPPROTO_IP
IP_DONTFRAGMENT = 14
#: IPv4 header (20) + ICMP echo header (8): the part of a packet that is not echo data
ECHO_OVERHEAD = 28
#: TUNNEL_TYPE (ifdef.h)
TUNNEL_TYPES = {0: "none", 1: "other", 2: "direct", 11: "6to4", 13: "isatap", 14: "teredo", 15: "iphttps"}
#: IP_STATUS -> what it says about the path ("error" is this PC's, never the network's)
_STATUS_KIND = {
    IP_SUCCESS: "reply",
    IP_TTL_EXPIRED_TRANSIT: "ttl_expired",
    IP_TTL_EXPIRED_REASSEM: "ttl_expired",
    IP_PACKET_TOO_BIG: "too_big",
    IP_DEST_NET_UNREACHABLE: "unreachable",
    IP_DEST_HOST_UNREACHABLE: "unreachable",
    IP_DEST_PROT_UNREACHABLE: "unreachable",
    IP_DEST_PORT_UNREACHABLE: "unreachable",
    IP_BAD_ROUTE: "unreachable",
    IP_REQ_TIMED_OUT: "timeout",
}
#: names of VPN adapters that present themselves as Ethernet, beyond ``_windows``' patterns
_MORE_VPN_NAMES = re.compile(r"\b(ike(v[12])?|yamaha|rtx\d+)\b", re.IGNORECASE)


class EchoDict(TypedDict):
    kind: str  # reply, ttl_expired, too_big, unreachable, timeout, error
    ip_status: int
    responder: str | None
    rtt_ms: int | None
    reply_ttl: int | None


class IP_OPTION_INFORMATION(ctypes.Structure):  # noqa: N801 - the Windows type name
    _fields_ = [
        ("Ttl", ctypes.c_ubyte), ("Tos", ctypes.c_ubyte), ("Flags", ctypes.c_ubyte),
        ("OptionsSize", ctypes.c_ubyte), ("OptionsData", ctypes.c_uint64),
    ]


class ICMP_ECHO_REPLY(ctypes.Structure):  # noqa: N801
    """ipexport.h, 64-bit: Address, Status, RoundTripTime, DataSize, Reserved, Data, Options."""

    _fields_ = [
        ("Address", ctypes.c_uint32), ("Status", ctypes.c_uint32), ("RoundTripTime", ctypes.c_uint32),
        ("DataSize", ctypes.c_uint16), ("Reserved", ctypes.c_uint16),
        ("Data", ctypes.c_uint64), ("Options", IP_OPTION_INFORMATION),
    ]


class IP_ADAPTER_ADDRESSES_LH(_windows.IP_ADAPTER_ADDRESSES):  # noqa: N801
    """The fields after ``Ipv6Metric`` (iptypes.h), appended to the head ``_windows`` reads."""

    _fields_ = [
        ("Luid", ctypes.c_uint64),
        ("Dhcpv4Server", _windows.SOCKET_ADDRESS),
        ("CompartmentId", ctypes.c_uint32),
        ("NetworkGuid", ctypes.c_ubyte * 16),
        ("ConnectionType", ctypes.c_uint32),
        ("TunnelType", ctypes.c_uint32),
    ]


# --------------------------------------------------------------------------------------
# pure helpers (recorded bytes in, plain data out)
# --------------------------------------------------------------------------------------


def ipaddr(address: str) -> int:
    """An IPv4 address as Windows' ``IPAddr``: the network-order bytes read as a little-endian DWORD."""
    return int.from_bytes(socket.inet_aton(address), "little")


def ipaddr_text(value: int) -> str:
    return socket.inet_ntoa(int(value).to_bytes(4, "little"))


def request_options(ttl: int, dont_fragment: bool) -> IP_OPTION_INFORMATION:
    if not 1 <= ttl <= 255:
        raise ValueError(f"ttl must be 1..255, not {ttl}")
    return IP_OPTION_INFORMATION(Ttl=ttl, Tos=0, Flags=IP_FLAG_DF if dont_fragment else 0, OptionsSize=0, OptionsData=0)


def reply_buffer_size(payload: int) -> int:
    """MS: room for one ICMP_ECHO_REPLY, the request's data and 8 more bytes (an ICMP error)."""
    return ctypes.sizeof(ICMP_ECHO_REPLY) + payload + 8 + 64


def status_kind(ip_status: int) -> str:
    return _STATUS_KIND.get(ip_status, "error")


def parse_echo(buffer: bytes, count: int, last_error: int) -> EchoDict:
    """The answer IcmpSendEcho2 gave: ``count`` replies in ``buffer``, or none and ``last_error``.

    No reply means ``last_error`` is the IP_STATUS (``IP_REQ_TIMED_OUT`` when nothing came back)
    or a Win32 error of this PC; a reply carries its own status and who sent it.
    """
    if count <= 0 or len(buffer) < ctypes.sizeof(ICMP_ECHO_REPLY):
        return {"kind": status_kind(last_error) if last_error else "error", "ip_status": last_error,
                "responder": None, "rtt_ms": None, "reply_ttl": None}
    rep = ICMP_ECHO_REPLY.from_buffer_copy(buffer[:ctypes.sizeof(ICMP_ECHO_REPLY)])
    kind = status_kind(int(rep.Status))
    responder = ipaddr_text(rep.Address) if rep.Address else None
    return {"kind": kind, "ip_status": int(rep.Status), "responder": responder,
            "rtt_ms": int(rep.RoundTripTime) if kind != "error" else None,
            "reply_ttl": int(rep.Options.Ttl) if kind == "reply" else None}


def windows_sockaddr(address: str) -> bytes:
    """SOCKADDR_IN / SOCKADDR_IN6 as Windows lays them out (AF_INET 2, AF_INET6 23), port 0."""
    if ":" in address:
        text, _, scope = address.partition("%")
        return (_windows.WIN_AF_INET6.to_bytes(2, "little") + b"\0\0" + b"\0" * 4
                + socket.inet_pton(socket.AF_INET6, text) + int(scope or 0).to_bytes(4, "little"))
    return _windows.WIN_AF_INET.to_bytes(2, "little") + b"\0\0" + socket.inet_aton(address) + b"\0" * 8


class AdapterLink(TypedDict):
    if_index: int
    ipv6_if_index: int
    friendly_name: str
    description: str
    if_type: int
    tunnel_type: int
    mtu: int
    oper_up: bool


def walk_adapter_links(first: int) -> list[AdapterLink]:
    """Index, MTU and tunnel facts of every adapter in a GetAdaptersAddresses list at ``first``."""
    out: list[AdapterLink] = []
    node: int | None = first
    while node and len(out) < 256:
        a = IP_ADAPTER_ADDRESSES_LH.from_address(node)
        out.append({
            "if_index": int(a.IfIndex), "ipv6_if_index": int(a.Ipv6IfIndex),
            "friendly_name": _windows.wide_string(a.FriendlyName),
            "description": _windows.wide_string(a.Description),
            "if_type": int(a.IfType), "tunnel_type": int(a.TunnelType),
            "mtu": int(a.Mtu) if a.Mtu != 2**32 - 1 else 0,
            "oper_up": int(a.OperStatus) == _windows.OPER_UP,
        })
        node = a.Next
    return out


def tunnel_reason(link: Mapping[str, Any]) -> str | None:
    """Why an adapter is a tunnel (``if_type``, ``tunnel_type`` or ``name``), or None.

    IfType 131 (tunnel), 23 (PPP: built-in L2TP/IKEv2 VPN connections) and 53 (proprietary
    virtual: Wintun, WireGuard) are tunnels whatever they are called; a TunnelType other than
    none is one by definition (6to4, Teredo, IP-HTTPS ...). Clients whose adapter claims to
    be Ethernet (TAP-Windows, AnyConnect, FortiClient, most IPsec clients) are found by name.
    """
    if int(link.get("if_type", 0)) in _windows._TUNNEL_IFTYPES:
        return "if_type"
    if int(link.get("tunnel_type", 0)) != 0:
        return "tunnel_type"
    text = f"{link.get('friendly_name', '')} {link.get('description', '')}"
    if (_windows._TUNNEL.search(text) or _MORE_VPN_NAMES.search(text)
            or _windows._TUNNEL_DEVICE.match(str(link.get("friendly_name", "")))):
        return "name"
    return None


def find_link(links: Iterable[AdapterLink], if_index: int) -> AdapterLink | None:
    for link in links:
        if if_index in (link["if_index"], link["ipv6_if_index"]):
            return link
    return None


# --------------------------------------------------------------------------------------
# the calls (Windows only)
# --------------------------------------------------------------------------------------


def _iphlpapi() -> Any:
    return ctypes.WinDLL("iphlpapi", use_last_error=True)  # type: ignore[attr-defined]


def echo(target: str, *, ttl: int = 128, packet_size: int = 64, dont_fragment: bool = False,
         timeout: float = 1.0) -> EchoDict:
    """One ICMP echo to an IPv4 ``target`` through IcmpSendEcho2 (synchronous, no event/APC)."""
    payload = max(0, packet_size - ECHO_OVERHEAD)
    opts = request_options(ttl, dont_fragment)
    api = _iphlpapi()
    api.IcmpCreateFile.restype = ctypes.c_void_p
    api.IcmpSendEcho2.restype = ctypes.c_uint32
    api.IcmpSendEcho2.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                  ctypes.c_uint32, ctypes.c_void_p, ctypes.c_uint16, ctypes.c_void_p,
                                  ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32]
    api.IcmpCloseHandle.argtypes = [ctypes.c_void_p]
    handle = api.IcmpCreateFile()
    if not handle or handle == ctypes.c_void_p(-1).value:
        err = ctypes.get_last_error()  # type: ignore[attr-defined]
        raise OSError(err, f"IcmpCreateFile failed with error {err}")
    try:
        data = ctypes.create_string_buffer(bytes(i & 0xFF for i in range(payload)), max(payload, 1))
        size = reply_buffer_size(payload)
        reply = ctypes.create_string_buffer(size)
        count = api.IcmpSendEcho2(handle, None, None, None, ipaddr(target), data, payload,
                                  ctypes.byref(opts), reply, size, max(1, int(timeout * 1000)))
        last_error = 0 if count else ctypes.get_last_error()  # type: ignore[attr-defined]
        return parse_echo(reply.raw, int(count), int(last_error))
    finally:
        api.IcmpCloseHandle(handle)


def set_dont_fragment(sock: socket.socket) -> None:
    sock.setsockopt(socket.IPPROTO_IP, IP_DONTFRAGMENT, 1)


def adapter_links(api: _windows.GetAdaptersAddresses | None = None) -> list[AdapterLink]:
    """Every adapter's index/MTU/tunnel facts, through ``_windows.adapters``' documented call.

    The call (and its retry on ERROR_BUFFER_OVERFLOW) is ``_windows``'; the buffer it filled is
    kept here to read the structure's tail, which that module does not declare.
    """
    real = api if api is not None else _iphlpapi().GetAdaptersAddresses
    buffers: list[Any] = []

    def keep(family: int, flags: int, reserved: Any, buf: Any, size: Any) -> int:
        rc = int(real(family, flags, reserved, buf, size))
        if rc == _windows.ERROR_SUCCESS:
            buffers.append(buf)
        return rc

    _windows.adapters(keep)
    return walk_adapter_links(ctypes.addressof(buffers[-1])) if buffers else []


def best_interface_index(target: str, api: Callable[[Any, Any], int] | None = None) -> int:
    """GetBestInterfaceEx: the index of the interface that carries traffic to ``target``."""
    if api is None:
        api = _iphlpapi().GetBestInterfaceEx
    raw = windows_sockaddr(target)
    sa = ctypes.create_string_buffer(raw, len(raw))
    index = ctypes.c_uint32(0)
    rc = int(api(sa, ctypes.byref(index)))
    if rc != 0:
        raise OSError(rc, f"GetBestInterfaceEx failed with error {rc}")
    return int(index.value)
