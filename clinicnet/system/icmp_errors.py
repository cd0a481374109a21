"""What an ICMP error said about a UDP datagram we sent (the probe's "fail fast" seam).

A connected UDP socket learns about ICMP errors, but plain ``errno`` loses the
detail that matters for a clinic: "port unreachable" (the gateway is there but
nothing listens), "host/net unreachable" (routing) and "administratively
prohibited" (a firewall rejects) need different advice, and Linux maps
admin-prohibited to the same ``EHOSTUNREACH`` as host-unreachable. Linux
therefore uses ``IP_RECVERR``: the kernel queues the ICMP type/code and the
address of the router that sent it, read back with ``recvmsg(MSG_ERRQUEUE)``.
Elsewhere (and if the queue is empty) the errno is mapped as well as it can be;
on Windows a port unreachable surfaces as ``WSAECONNRESET`` on the next receive.

Only the probe's own sockets are touched; nothing here sends anything.
"""

from __future__ import annotations

import errno as errno_mod
import ipaddress
import socket
import struct
import sys
from dataclasses import dataclass

PORT = "icmp_port_unreachable"
HOST = "icmp_host_unreachable"
NET = "icmp_net_unreachable"
ADMIN = "icmp_admin_prohibited"
OTHER = "icmp_other"
#: not ICMP at all: the local stack refused (e.g. EMSGSIZE), reported as a send error
LOCAL = "local_error"
OUTCOMES = (PORT, HOST, NET, ADMIN, OTHER)

# Linux constants; Python's socket module lacks some of them
_SOL_IP = 0
_SOL_IPV6 = 41
_IP_RECVERR = getattr(socket, "IP_RECVERR", 11)
_IPV6_RECVERR = getattr(socket, "IPV6_RECVERR", 25)
_MSG_ERRQUEUE = getattr(socket, "MSG_ERRQUEUE", 0x2000)
_SO_EE_ORIGIN_LOCAL = 1
_SO_EE_ORIGIN_ICMP = 2
_SO_EE_ORIGIN_ICMP6 = 3
_EXTENDED_ERR = struct.Struct("=IBBBBII")  # struct sock_extended_err

_WSAECONNRESET = 10054
_WSAENETRESET = 10052
_WSAEHOSTUNREACH = 10065
_WSAENETUNREACH = 10051

_IS_LINUX = sys.platform.startswith("linux")


@dataclass(frozen=True)
class IcmpError:
    """One ICMP error (or the errno standing in for it) on a probe socket."""

    outcome: str
    errno: int | None = None
    icmp_type: int | None = None
    icmp_code: int | None = None
    #: the router or host that sent the ICMP; not necessarily the target
    offender: str | None = None
    #: ``errqueue`` when read from IP_RECVERR, ``errno`` for the portable fallback
    source: str = "errno"

    def describe(self) -> str:
        parts = [self.outcome.replace("icmp_", "ICMP ").replace("_", " ")]
        if self.icmp_type is not None:
            parts.append(f"type {self.icmp_type} code {self.icmp_code}")
        if self.offender:
            parts.append(f"from {self.offender}")
        if self.errno is not None:
            parts.append(f"({errno_mod.errorcode.get(self.errno, self.errno)})")
        return " ".join(parts)

    def to_json(self) -> dict[str, object]:
        return {
            "outcome": self.outcome,
            "type": self.icmp_type,
            "code": self.icmp_code,
            "from": self.offender,
            "errno": errno_mod.errorcode.get(self.errno, self.errno) if self.errno is not None else None,
            "source": self.source,
        }


def enable(sock: socket.socket) -> bool:
    """Ask the kernel to queue ICMP details for ``sock``; False where unsupported."""
    if not _IS_LINUX:
        return False
    try:
        if sock.family == socket.AF_INET6:
            sock.setsockopt(_SOL_IPV6, _IPV6_RECVERR, 1)
        else:
            sock.setsockopt(_SOL_IP, _IP_RECVERR, 1)
    except OSError:
        return False
    return True


def classify(family: int, icmp_type: int, icmp_code: int) -> str:
    """Map an ICMP (v4 or v6) type/code to one of :data:`OUTCOMES`."""
    if family == socket.AF_INET6:
        if icmp_type == 1:  # destination unreachable
            return {0: NET, 1: ADMIN, 3: HOST, 4: PORT, 5: ADMIN, 6: ADMIN}.get(icmp_code, OTHER)
        return OTHER
    if icmp_type == 3:
        if icmp_code == 3:
            return PORT
        if icmp_code in (0, 6, 11):
            return NET
        if icmp_code in (1, 5, 7, 12):
            return HOST
        if icmp_code in (9, 10, 13):
            return ADMIN
    return OTHER


def from_errno(err: int | None) -> IcmpError | None:
    """Portable fallback: what an errno on a connected UDP socket most likely means."""
    if err is None:
        return None
    if err in (errno_mod.ECONNREFUSED, _WSAECONNRESET):
        return IcmpError(PORT, err)
    if err in (errno_mod.EHOSTUNREACH, _WSAEHOSTUNREACH):
        return IcmpError(HOST, err)
    if err in (errno_mod.ENETUNREACH, _WSAENETUNREACH):
        return IcmpError(NET, err)
    if err in (errno_mod.EACCES, errno_mod.EPERM):
        return IcmpError(ADMIN, err)
    if err in (errno_mod.EHOSTDOWN, errno_mod.ECONNRESET, _WSAENETRESET, errno_mod.EPROTO):
        return IcmpError(OTHER, err)
    return None


def parse_extended_err(data: bytes, offender: bytes, family: int) -> IcmpError | None:
    """Decode ``struct sock_extended_err`` plus the offender sockaddr that follows it."""
    if len(data) < _EXTENDED_ERR.size:
        return None
    ee_errno, origin, ee_type, ee_code, _pad, _info, _data = _EXTENDED_ERR.unpack_from(data, 0)
    if origin == _SO_EE_ORIGIN_LOCAL:
        return IcmpError(LOCAL, ee_errno, source="errqueue")
    if origin not in (_SO_EE_ORIGIN_ICMP, _SO_EE_ORIGIN_ICMP6):
        return None
    fam = socket.AF_INET6 if origin == _SO_EE_ORIGIN_ICMP6 else socket.AF_INET
    return IcmpError(classify(fam, ee_type, ee_code), ee_errno, ee_type, ee_code, _offender(offender), "errqueue")


def _offender(raw: bytes) -> str | None:
    try:
        if len(raw) >= 8 and struct.unpack_from("=H", raw)[0] == socket.AF_INET:
            return str(ipaddress.IPv4Address(raw[4:8]))
        if len(raw) >= 24 and struct.unpack_from("=H", raw)[0] == socket.AF_INET6:
            return str(ipaddress.IPv6Address(raw[8:24]))
    except ValueError:
        return None
    return None


def read_queue(sock: socket.socket) -> IcmpError | None:
    """Pop one entry of the socket's error queue (Linux), or ``None`` if empty.

    Non-blocking; the queue is drained one entry per call so every ICMP the
    probe received can be counted.
    """
    if not _IS_LINUX:
        return None
    try:
        _data, ancdata, _flags, _addr = sock.recvmsg(512, 512, _MSG_ERRQUEUE | socket.MSG_DONTWAIT)
    except (BlockingIOError, InterruptedError):
        return None
    except OSError:
        return None
    for level, ctype, cdata in ancdata:
        if (level, ctype) in ((_SOL_IP, _IP_RECVERR), (_SOL_IPV6, _IPV6_RECVERR)):
            return parse_extended_err(cdata, cdata[_EXTENDED_ERR.size :], sock.family)
    return None


def after_error(sock: socket.socket, err: OSError) -> IcmpError | None:
    """The ICMP behind an ``OSError`` from send/recv: error queue first, then errno."""
    queued = read_queue(sock)
    if queued is not None:
        return queued
    return from_errno(err.errno if err.errno is not None else getattr(err, "winerror", None))
