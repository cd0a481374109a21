"""Run a blocking call that cannot be cancelled (getaddrinfo) under a deadline.

The call runs in a daemon thread; if it overruns, it is abandoned (it finishes in
the background and its answer is dropped) so the probe can still report in time.
``resolve`` is the name lookup every probe uses: inside a run it is the run's one
shared lookup of a name (``Lookups``), resent on Windows' schedule while unanswered.
``run_all`` runs calls side by side without a thread pool the interpreter would join
at exit; ``read_until`` reads a stream under an absolute deadline.
"""

from __future__ import annotations

import ipaddress
import selectors
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    value: T | None = None
    error: BaseException | None = None
    timed_out: bool = False


@dataclass(frozen=True)
class Resolution:
    """What the system resolver said about one name within its time."""

    #: in the resolver's order, duplicates removed (IPv6 keeps its ``%zone``)
    addresses: tuple[str, ...] = ()
    #: what getaddrinfo raised (``socket.gaierror``, ``UnicodeError`` for a bad name)
    error: BaseException | None = None
    timed_out: bool = False
    #: queries sent (getaddrinfo calls started, see ``RETRY_AT_S``)
    attempts: int = 0
    #: from the first query to the answer (None: no answer)
    seconds: float | None = None

    def why(self) -> str | None:
        """A short English cause when there is no address (raw evidence), else None."""
        if self.addresses:
            return None
        if self.timed_out:
            return "timeout"
        if self.error is not None:
            return str(self.error) or type(self.error).__name__
        return "no address"


#: When a lookup is asked again while no answer came: Windows' own DNS client with one
#: server queries at 0, 1, 2, 4 and 8 s and gives up at 10 s; a negative answer ends it
#: at once (Microsoft, "DNS client resolution timeouts", KB 2834226). getaddrinfo cannot
#: be told to resend, so each resend is a fresh getaddrinfo call beside the pending ones:
#: one lost datagram costs a second, not the system resolver's own timeout (glibc: 5 s).
RETRY_AT_S: tuple[float, ...] = (0.0, 1.0, 2.0, 4.0, 8.0)
GIVE_UP_S = 10.0


class Lookup:
    """One name in one address family, asked on ``RETRY_AT_S`` until an answer or ``until``.

    The first answer wins, whatever it says: an address list, or an error the resolver
    returned (no such name, server failure, its own timeout). Only silence is retried.
    Every thread is a daemon: an unanswered lookup never holds the process at exit.
    """

    def __init__(self, host: str, family: int, until: float) -> None:
        self.host = host
        self.family = family
        self.started = time.monotonic()
        self.until = min(until, self.started + GIVE_UP_S)
        self.attempts = 0
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._result: Resolution | None = None
        threading.Thread(target=self._schedule, daemon=True, name="clinicnet-dns").start()

    def _attempt(self) -> None:
        try:
            infos = socket.getaddrinfo(self.host, None, self.family, socket.SOCK_STREAM)
            res = Resolution(tuple(dict.fromkeys(str(ai[4][0]) for ai in infos)))
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller as data
            res = Resolution(error=exc)
        with self._lock:
            if self._result is None:
                self._result = replace(res, attempts=self.attempts,
                                       seconds=round(time.monotonic() - self.started, 3))
                self._done.set()

    def _schedule(self) -> None:
        for at in RETRY_AT_S:
            if self._done.wait(max(0.0, self.started + at - time.monotonic())):
                return
            if at > 0 and time.monotonic() >= self.until:
                return  # the first query always goes out; resends only within the run's time
            with self._lock:
                self.attempts += 1
            threading.Thread(target=self._attempt, daemon=True, name="clinicnet-dns-query").start()

    def done(self) -> bool:
        return self._done.is_set()

    def result(self, deadline: float) -> Resolution:
        """The answer, waiting for it until ``deadline`` (absolute ``time.monotonic()``)."""
        if self._done.wait(max(0.0, deadline - time.monotonic())) and self._result is not None:
            return self._result
        return Resolution(timed_out=True, attempts=self.attempts)


class Lookups:
    """The lookups of one run: each (name, family) asked once, shared by every probe and the
    capture filter, so a dead resolver is waited for once, concurrently, inside the budget."""

    def __init__(self, until: float | None = None) -> None:
        self.started = time.monotonic()
        self.until = until if until is not None else self.started + GIVE_UP_S
        self._lock = threading.Lock()
        self._lookups: dict[tuple[str, int], Lookup] = {}

    def start(self, host: str, family: int = socket.AF_UNSPEC) -> Lookup:
        key = (host.lower(), family)
        with self._lock:
            found = self._lookups.get(key)
            if found is None:
                found = self._lookups[key] = Lookup(host, family, self.until)
            return found

    def start_all(self, hosts: Iterable[str], families: Iterable[int] = (socket.AF_INET, socket.AF_INET6)) -> None:
        fams = tuple(families)
        for h in hosts:
            if not _literal(h):
                for f in fams:
                    self.start(h, f)

    def resolve(self, host: str, family: int, deadline: float) -> Resolution:
        lit = _literal(host)
        if lit:
            want = {int(socket.AF_INET): 4, int(socket.AF_INET6): 6}.get(int(family))
            if want is None or ipaddress.ip_address(lit.split("%", 1)[0]).version == want:
                return Resolution((lit,), seconds=0.0)
            return Resolution(error=socket.gaierror(getattr(socket, "EAI_ADDRFAMILY", -9),
                                                    "Address family for hostname not supported"))
        return self.start(host, family).result(deadline)


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.split("%", 1)[0])) + (
            "%" + host.split("%", 1)[1] if "%" in host else "")
    except ValueError:
        return None


_current: Lookups | None = None
_current_lock = threading.Lock()
#: a run's lookups are adopted by a later ``run_lookups()`` only this soon after they began
#: (the target pre-check and the capture's start come seconds before the probes at most);
#: older ones belong to another run, which must not shorten this run's time
_RUN_MAX_AGE_S = 5.0


def run_lookups(until: float | None = None) -> Lookups:
    """The current run's lookups, started now if there is none (or it is stale)."""
    global _current
    with _current_lock:
        if _current is None or time.monotonic() - _current.started > _RUN_MAX_AGE_S:
            _current = Lookups(until)
        elif until is not None and until > _current.until:
            _current.until = until
        return _current


def end_run() -> None:
    """Forget the run's lookups (the next run resolves afresh)."""
    global _current
    with _current_lock:
        _current = None


def resolve(
    host: str,
    timeout: float,
    *,
    family: int = socket.AF_UNSPEC,
    port: int | None = None,
    socktype: int = socket.SOCK_STREAM,
) -> Resolution:
    """The system resolver under a deadline: the one way the probes resolve a name.

    The system resolver is used on purpose (it is what the VPN client uses), and
    it cannot be cancelled; a resolver that hangs costs ``timeout``, not the run.
    Inside a run (``run_lookups``) the answer is the run's shared lookup of that name
    and family; ``port`` and ``socktype`` do not change the addresses and are ignored.
    """
    del port, socktype
    deadline = time.monotonic() + max(0.0, timeout)
    with _current_lock:
        run = _current
    if run is None:
        return Lookups(deadline).resolve(host, family, deadline)
    return run.resolve(host, family, deadline)


def run_all(calls: Sequence[Callable[[], T]], deadline: float, name: str = "clinicnet-call") -> list[Outcome[T]]:
    """Run ``calls`` side by side in daemon threads; what has not returned by ``deadline`` is
    ``timed_out`` and abandoned. Unlike a ``ThreadPoolExecutor``, whose workers the
    interpreter joins at exit, nothing here can keep the process alive after the run."""
    boxes: list[list[Outcome[T]]] = [[] for _ in calls]
    threads = []
    for fn, box in zip(calls, boxes, strict=True):
        def target(fn: Callable[[], T] = fn, box: list[Outcome[T]] = box) -> None:
            try:
                box.append(Outcome(value=fn()))
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller as data
                box.append(Outcome(error=exc))

        t = threading.Thread(target=target, daemon=True, name=name)
        t.start()
        threads.append(t)
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    return [box[0] if box else Outcome(timed_out=True) for box in boxes]


def read_until(sock: socket.socket, deadline: float, limit: int,
               enough: Callable[[bytes], bool] | None = None) -> tuple[bytes, str]:
    """Read from a stream socket until the peer closes, ``enough(data)``, ``limit`` bytes or
    ``deadline``; returns the data and which of ``closed``, ``enough``, ``limit``,
    ``deadline`` ended it. The deadline is absolute: a peer that drips one byte at a time
    cannot stretch it (a per-read timeout would restart with every byte)."""
    data = bytearray()
    while len(data) < limit:
        left = deadline - time.monotonic()
        if left <= 0:
            return bytes(data), "deadline"
        sock.settimeout(left)
        try:
            chunk = sock.recv(min(65536, limit - len(data)))
        except TimeoutError:
            return bytes(data), "deadline"
        if not chunk:
            return bytes(data), "closed"
        data += chunk
        if enough is not None and enough(bytes(data)):
            return bytes(data), "enough"
    return bytes(data), "limit"


def select(sel: selectors.BaseSelector, timeout: float) -> list[tuple[selectors.SelectorKey, int]]:
    """``sel.select(timeout)`` that also works with nothing registered.

    Windows' select() refuses three empty sets (WSAEINVAL, 10022) where POSIX just
    waits; an exchange whose sockets have all finished, or whose next socket is not
    open yet, must wait the same way on both.
    """
    if not sel.get_map():
        time.sleep(max(0.0, timeout))
        return []
    return sel.select(timeout)
