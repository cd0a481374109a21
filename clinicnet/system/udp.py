"""What the OS lets a datagram socket measure and control besides its bytes.

The probes need the size of the largest IP fragment a reply arrived in, the
don't-fragment policy of a request and the kernel's path MTU; the reflector
server needs the local address, TTL and fragment size of every request and to
answer from the address that was asked. Each is a question here with a plain
answer ("not measurable" is ``False``/``None``/``0``), answered by the platform
module chosen in :mod:`clinicnet.system`; no caller knows an option number.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable

from clinicnet.system import _impl
from clinicnet.system._common import ANCILLARY_SPACE, Arrival

__all__ = ["ANCILLARY_SPACE", "Arrival", "answer_from", "arrival", "bind_exclusive", "fragment_policy", "path_mtu",
           "receive", "report_arrival", "report_fragments"]

#: don't-fragment off: a datagram larger than the path leaves in IP fragments
FRAGMENT = "fragment"
#: don't-fragment on and the cached path MTU ignored: each size is really tried
PROBE = "probe"


def fragment_policy(sock: socket.socket, policy: str) -> bool:
    """Set :data:`FRAGMENT` or :data:`PROBE` on ``sock``; False where the OS does not allow it."""
    return _impl.udp_fragment_policy(sock, policy)


def bind_exclusive(sock: socket.socket, address: tuple[str, int]) -> None:
    """Bind ``sock`` so the port is ours alone (Windows: SO_EXCLUSIVEADDRUSE); raises OSError
    (EADDRINUSE / WSAEADDRINUSE) where another socket holds it. For ports that must be ours,
    such as the IKE source ports 500/4500."""
    _impl.udp_bind_exclusive(sock, address)


def report_fragments(sock: socket.socket) -> bool:
    """Have each received datagram say whether (and in what pieces) it was fragmented."""
    return _impl.udp_report_fragments(sock)


def path_mtu(sock: socket.socket) -> int | None:
    """The OS's path MTU toward a connected socket's peer; None where unknown."""
    return _impl.udp_path_mtu(sock)


def receive(sock: socket.socket, bufsize: int) -> tuple[bytes, Arrival]:
    """One datagram from a non-blocking socket and what the OS said about it; raises like ``recv``."""
    return _impl.udp_receive(sock, bufsize)


def report_arrival(sock: socket.socket, *, ttl: bool = True, fragments: bool = True) -> None:
    """Have every received datagram carry its local address (and TTL, fragment size); raises OSError."""
    _impl.udp_report_arrival(sock, ttl=ttl, fragments=fragments)


def arrival(ancillary: Iterable[tuple[int, int, bytes]]) -> Arrival:
    """What the ancillary data of one ``recvmsg`` says (fields the OS did not give stay 0/None)."""
    return _impl.udp_arrival(ancillary)


def answer_from(family: int, local: str) -> list[tuple[int, int, bytes]]:
    """Ancillary data for ``sendmsg`` that sends from ``local`` ([] where the OS picks by itself)."""
    return _impl.udp_answer_from(family, local)
