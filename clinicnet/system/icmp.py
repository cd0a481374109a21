"""What an ICMP error said about a datagram a probe sent: the one ICMP seam.

A UDP probe learns about ICMP errors in whatever way the OS allows, and the
detail matters for a clinic: "port unreachable" (the gateway is there but
nothing listens), "host/net unreachable" (routing), "administratively
prohibited" (a firewall rejects), "time exceeded" (a trace hop) and
"fragmentation needed" (the path MTU) need different advice. Linux queues the
ICMP type/code and the router that sent it on an ordinary unprivileged UDP
socket (``IP_RECVERR``, read with ``recvmsg(MSG_ERRQUEUE)``); Windows tells an
UDP socket only ``WSAECONNRESET`` for a port unreachable (IcmpSendEcho2 is its
way to learn more). So callers ask what can be measured
(:data:`errors_on_udp_socket`), switch it on (:func:`enable`) and read what came
(:func:`read`, :func:`read_queue`, :func:`after_error`); the platform module
chosen in :mod:`clinicnet.system` does the rest. Nothing here sends anything.
"""

from __future__ import annotations

import errno as errno_mod
import socket

from clinicnet.system import _impl
from clinicnet.system._common import (
    ADMIN,
    HOST,
    LOCAL,
    NET,
    OTHER,
    OUTCOMES,
    PORT,
    IcmpError,
    classify_icmp,
)

__all__ = ["ADMIN", "HOST", "LOCAL", "NET", "OTHER", "OUTCOMES", "PORT", "IcmpError", "after_error", "classify",
           "enable", "errors_on_udp_socket", "from_errno", "read", "read_queue"]

#: whether an ordinary UDP socket is told which ICMP error came back and who sent it
#: (True on Linux; on Windows only "port unreachable" shows, as an errno)
errors_on_udp_socket: bool = _impl.ICMP_ERRORS_ON_UDP_SOCKET

_WSAECONNRESET = 10054
_WSAENETRESET = 10052
_WSAEHOSTUNREACH = 10065
_WSAENETUNREACH = 10051


def enable(sock: socket.socket) -> bool:
    """Ask the OS to keep ICMP details for ``sock``; False where it cannot."""
    return _impl.icmp_enable(sock)


def read(sock: socket.socket, limit: int = 16) -> list[IcmpError]:
    """Every ICMP error queued for ``sock`` (up to ``limit``), without blocking; [] where none can be."""
    return _impl.icmp_read(sock, limit)


def read_queue(sock: socket.socket) -> IcmpError | None:
    """One queued ICMP error, or None: one per call, so every error the probe got can be counted."""
    got = _impl.icmp_read(sock, 1)
    return got[0] if got else None


def classify(family: int, icmp_type: int, icmp_code: int) -> str:
    """Map an ICMP (``AF_INET``) or ICMPv6 (``AF_INET6``) type/code to one of :data:`OUTCOMES`."""
    return classify_icmp(family == socket.AF_INET6, icmp_type, icmp_code)


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


def after_error(sock: socket.socket, err: OSError) -> IcmpError | None:
    """The ICMP behind an ``OSError`` from send/recv: the OS's record first, then what the
    platform knows an errno to be (Windows: WSAECONNRESET *is* an ICMP port unreachable, type 3
    code 3, so ``port_unreachable`` and ``unreachable`` hold for it), then the portable guess."""
    queued = read_queue(sock)
    if queued is not None:
        return queued
    code = getattr(err, "winerror", None) or err.errno
    return _impl.icmp_from_errno(code) or from_errno(err.errno if err.errno is not None else code)
