"""Run a blocking call that cannot be cancelled (getaddrinfo) under a deadline.

The call runs in a daemon thread; if it overruns, it is abandoned (it finishes in
the background and its answer is dropped) so the probe can still report in time.
``resolve`` is the name lookup every probe uses.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    value: T | None = None
    error: BaseException | None = None
    timed_out: bool = False


def call_with_deadline(fn: Callable[[], T], timeout: float) -> Outcome[T]:
    box: list[Outcome[T]] = []

    def target() -> None:
        try:
            box.append(Outcome(value=fn()))
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller as data
            box.append(Outcome(error=exc))

    t = threading.Thread(target=target, daemon=True, name="clinicnet-deadline")
    t.start()
    t.join(max(0.0, timeout))
    if not box:
        return Outcome(timed_out=True)
    return box[0]


@dataclass(frozen=True)
class Resolution:
    """What the system resolver said about one name within its time."""

    #: in the resolver's order, duplicates removed (IPv6 keeps its ``%zone``)
    addresses: tuple[str, ...] = ()
    #: what getaddrinfo raised (``socket.gaierror``, ``UnicodeError`` for a bad name)
    error: BaseException | None = None
    timed_out: bool = False

    def why(self) -> str | None:
        """A short English cause when there is no address (raw evidence), else None."""
        if self.addresses:
            return None
        if self.timed_out:
            return "timeout"
        if self.error is not None:
            return str(self.error) or type(self.error).__name__
        return "no address"


def resolve(
    host: str,
    timeout: float,
    *,
    family: int = socket.AF_UNSPEC,
    port: int | None = None,
    socktype: int = socket.SOCK_STREAM,
) -> Resolution:
    """getaddrinfo under a deadline: the one way the probes resolve a name.

    The system resolver is used on purpose (it is what the VPN client uses), and
    it cannot be cancelled; a resolver that hangs costs ``timeout``, not the run.
    """
    out = call_with_deadline(lambda: socket.getaddrinfo(host, port, family, socktype), timeout)
    if out.timed_out:
        return Resolution(timed_out=True)
    if out.error is not None:
        return Resolution(error=out.error)
    return Resolution(tuple(dict.fromkeys(str(ai[4][0]) for ai in out.value or ())))
