"""The send/collect engine the reflector probes share: resolve the reflector, send a
batch of requests, collect the answers and the ICMP errors they caused.

Requests go out all at once and are waited for once (with a few resends for
loss), not one after another, so a probe with a dozen sizes costs one round
trip plus the resend interval, and stays well inside a 5 s deadline.

ICMP errors (time exceeded, fragmentation needed, port unreachable) come from
:mod:`clinicnet.system.icmp`, and fragment sizes and the don't-fragment policy
from :mod:`clinicnet.system.udp`: this module asks what can be measured and
never knows a platform or an option number.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import selectors
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from clinicnet.netaddr import address_kind  # noqa: F401  (the probes use it as R.address_kind)
from clinicnet.probes import _deadline
from clinicnet.probes._deadline import resolve as resolve_within
from clinicnet.probes.interface import ProbeContext
from clinicnet.system import icmp, udp
from clinicnet.system.icmp import IcmpError
from clinicnet.wire import reflector as wire

IPPROTO_ESP = wire.IPPROTO_ESP
#: don't-fragment policies for :func:`udp_socket`
DF_OFF = udp.FRAGMENT
DF_PROBE = udp.PROBE

#: IPv4 + UDP header: sizes in probes are IP datagram sizes, payload = size - this
UDP_OVERHEAD = 28

class LocalIkePorts:
    """This PC's UDP 500 and 4500 have one owner at a time within a run (issue 9).

    The IKE probe's source-port-500 attempt and the NAT-mapping probe both bind
    them and run at the same moment; with two owners the loser saw EADDRINUSE and
    blamed "an IKE daemon or VPN client" for clinicnet itself (7 of 13 runs). They
    take turns here instead: each holds the ports only for its own exchange (under
    3 s), so the other still fits in a 5 s run, and one that cannot get them in
    time says so as a local matter, never as someone else's port.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: the probe holding the ports now ("" when free), for the other's message
        self.holder = ""

    def take(self, who: str, wait: float) -> bool:
        got = self._lock.acquire(timeout=wait) if wait > 0 else self._lock.acquire(blocking=False)
        if got:
            self.holder = who
        return got

    def release(self) -> None:
        self.holder = ""
        self._lock.release()


#: the one owner of local UDP 500/4500 in this process
LOCAL_IKE_PORTS = LocalIkePorts()

#: a transmission with no answer this long (or 3 round trips, if longer) is counted as lost
LOSS_GRACE = 1.0


def new_token() -> bytes:
    while True:
        t = os.urandom(8)
        if t != bytes(8):
            return t


def new_spi() -> int:
    return wire.MIN_SPI + int.from_bytes(os.urandom(4), "big") % (0xFFFFFFFF - wire.MIN_SPI)


@dataclass(frozen=True)
class Resolved:
    host: str
    address: str | None
    error: str | None = None


def resolve(host: str, ctx: ProbeContext) -> Resolved:
    """IPv4 address of the reflector (the VPN runs over IPv4, G8), under the deadline."""
    try:
        ip = ipaddress.ip_address(host)
        return Resolved(host, str(ip)) if ip.version == 4 else Resolved(host, None, "not an IPv4 address")
    except ValueError:
        pass
    out = resolve_within(host, min(3.0, ctx.remaining()), family=socket.AF_INET, socktype=socket.SOCK_DGRAM)
    if out.timed_out:
        return Resolved(host, None, "name resolution timed out")
    if not out.addresses:
        return Resolved(host, None, f"cannot resolve: {out.why()}")
    return Resolved(host, out.addresses[0])


def attribute(errors: Sequence[IcmpError], pendings: Sequence[Pending]) -> None:
    """Hand each error to the unanswered requests whose datagrams caused it."""
    for e in errors:
        for p in pendings:
            if not p.answered and e.concerns(p.dest):
                p.icmp.append(e)


def udp_socket(bind_port: int | None = None, *, pmtudisc: str | None = DF_OFF,
               recv_frag: bool = True) -> socket.socket:
    """An IPv4 UDP socket with ICMP errors reported where the OS can, bound to ``bind_port`` when
    given (0 = any port, chosen now so the caller knows it); raises OSError if the port cannot be
    bound. ``pmtudisc`` is :data:`DF_OFF` or :data:`DF_PROBE` (None: the OS default)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        if bind_port is not None:
            udp.bind_exclusive(s, ("0.0.0.0", bind_port))  # Windows: SO_EXCLUSIVEADDRUSE
        icmp.enable(s)
        if pmtudisc is not None:
            udp.fragment_policy(s, pmtudisc)
        if recv_frag:
            udp.report_fragments(s)
        s.setblocking(False)
    except OSError:
        s.close()
        raise
    return s


@dataclass
class Transmission:
    """One datagram of a request: its own token, so its answer is timed from it."""

    token: bytes
    sent_at: float
    answered_at: float | None = None


class Pending:
    """One request in flight and what came back for it (working state, not a result).

    With ``renew`` (a function giving a fresh ``(payload, token)``) every transmission
    carries its own token, so a reply is matched to the datagram it answers and its
    round trip is exact even when it arrives after a resend. A ``meter`` keeps
    sending after its first answer, up to its send limit: a control that counts
    how many of its transmissions come back (the path's loss rate).
    """

    def __init__(self, sock: socket.socket, payload: bytes, token: bytes, dest: tuple[str, int],
                 parse: Callable[[bytes], wire.Reply | None], label: str = "", *,
                 renew: Callable[[], tuple[bytes, bytes]] | None = None,
                 max_sends: int | None = None, interval: float | None = None, meter: bool = False) -> None:
        self.sock = sock
        self.payload = payload
        self.token = token
        self.dest = dest
        self.parse = parse
        self.label = label
        self.renew = renew
        self.max_sends = max_sends
        self.interval = interval
        self.meter = meter
        self.sends = 0
        self.first_sent: float | None = None
        self.next_send = 0.0
        self.transmissions: list[Transmission] = []
        self.reply: wire.Reply | None = None
        self.rtt_ms: float | None = None
        self.reply_fragment = 0  # IP_RECVFRAGSIZE of the reply as it reached us
        self.send_error: str | None = None
        self.icmp: list[IcmpError] = []

    @property
    def answered(self) -> bool:
        return self.reply is not None

    @property
    def done(self) -> bool:
        """Answered, failed to send, or refused by ICMP: nothing more will come."""
        if self.meter:
            return self.send_error is not None or self._meter_done()
        return self.answered or self.send_error is not None or any(e.unreachable for e in self.icmp)

    def _meter_done(self) -> bool:
        if self.max_sends is None or self.sends < self.max_sends:
            return False
        last = self.transmissions[-1].sent_at if self.transmissions else 0.0
        waiting = [t for t in self.transmissions if t.answered_at is None]
        return not waiting or time.monotonic() - last > self.grace()

    def settled(self, now: float | None = None) -> bool:
        """Every transmission so far answered or given up (older than the grace)."""
        now = time.monotonic() if now is None else now
        grace = self.grace()
        return all(t.answered_at is not None or now - t.sent_at > grace for t in self.transmissions)

    def grace(self) -> float:
        """How long an unanswered transmission may still be on its way."""
        rtts = [t.answered_at - t.sent_at for t in self.transmissions if t.answered_at is not None]
        return max(LOSS_GRACE, 3 * max(rtts, default=0.0))

    def delivery(self, now: float | None = None) -> tuple[int, int]:
        """(transmissions whose fate is known, of them answered): a loss sample.

        Answered transmissions count; an unanswered one counts as lost only when it
        was sent before the first answered one (replies are not reordered by a whole
        resend interval) or, for a meter or an unanswered request, longer than the
        grace ago; later ones may still be on their way, and are left out.
        """
        now = time.monotonic() if now is None else now
        answered = [t for t in self.transmissions if t.answered_at is not None]
        if not self.meter and answered:
            first = min(t.sent_at for t in answered)
            lost = sum(1 for t in self.transmissions if t.answered_at is None and t.sent_at < first)
            return len(answered) + lost, len(answered)
        grace = self.grace()
        lost = sum(1 for t in self.transmissions if t.answered_at is None and now - t.sent_at > grace)
        return len(answered) + lost, len(answered)

    @property
    def state(self) -> str:
        if self.reply is not None:
            return "answered"
        if self.send_error is not None:
            return "send_error"
        if any(e.frag_needed for e in self.icmp):
            return "frag_needed"
        if self.icmp:
            return "icmp"
        return "silent"

    def take(self, reply: wire.Reply, fragment: int, now: float) -> bool:
        """Record ``reply`` if it answers one of this request's transmissions."""
        for t in self.transmissions:
            if t.token == reply.token:
                if t.answered_at is not None:
                    return True  # a duplicate
                t.answered_at = now
                if self.reply is None:
                    self.reply = reply
                    self.reply_fragment = fragment
                    self.rtt_ms = round((now - t.sent_at) * 1000, 2)
                return True
        return False


#: errors a sendto() on an unconnected socket reports for an *earlier* datagram
_ASYNC_ERRNOS = {errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH}


def _send(p: Pending, siblings: Sequence[Pending]) -> None:
    if p.sends and p.renew is not None:
        p.payload, p.token = p.renew()
    for attempt in (0, 1):
        # stamped before the send: a scheduler delay after it must not shorten the round trip
        now = time.monotonic()
        try:
            p.sock.sendto(p.payload, p.dest)
        except OSError as exc:
            queued = icmp.read(p.sock)
            attribute(queued, siblings)
            if attempt == 0 and queued and exc.errno in _ASYNC_ERRNOS:
                continue  # the socket's pending error belonged to what went before: send again
            if p.sends == 0:
                p.send_error = exc.strerror or type(exc).__name__
            if exc.errno == errno.EMSGSIZE:  # the kernel knows the path MTU is smaller
                p.send_error = "message too long for the known path MTU"
            return
        p.sends += 1
        p.transmissions.append(Transmission(p.token, now))
        if p.first_sent is None:
            p.first_sent = now
        return


def exchange(
    pendings: Sequence[Pending],
    until: float,
    *,
    resend: float = 0.4,
    max_sends: int = 3,
    done: Callable[[Pending], bool] = lambda p: p.done,
    stop: Callable[[Sequence[Pending]], bool] | None = None,
) -> None:
    """Send every request, resend the unanswered, collect replies until each is done or ``until``.

    Replies are matched by token *and* socket, so two probes sharing a reflector
    never take each other's answers; ICMP errors by the destination of the
    datagram that caused them, so a closed port ends only its own requests, at once.
    A request's own ``max_sends``/``interval`` override ``max_sends``/``resend``.
    ``done`` says when a request needs nothing more (a trace counts any ICMP error);
    ``stop`` may end the whole exchange early (checked at least every 0.2 s).
    """
    by_sock: dict[int, list[Pending]] = {}
    for p in pendings:
        by_sock.setdefault(p.sock.fileno(), []).append(p)
        if p.max_sends is None:
            p.max_sends = max_sends
        if p.interval is None:
            p.interval = resend
    socks = {p.sock.fileno(): p.sock for p in pendings}
    sel = selectors.DefaultSelector()
    try:
        for fd, s in socks.items():
            sel.register(s, selectors.EVENT_READ, fd)
        start = time.monotonic()
        for p in pendings:
            _send(p, by_sock[p.sock.fileno()])
            p.next_send = start + (p.interval or resend)
        while True:
            now = time.monotonic()
            open_ = [p for p in pendings if not done(p)]
            if not open_ or now >= until or (stop is not None and stop(pendings)):
                break
            sending = [p for p in open_ if p.sends < (p.max_sends or max_sends)
                       and (p.meter or not p.answered)]
            for p in sending:
                if now >= p.next_send:
                    _send(p, by_sock[p.sock.fileno()])
                    p.next_send = now + (p.interval or resend)
            wake = min([until, *(p.next_send for p in sending)])
            if stop is not None or any(p.meter for p in open_):
                wake = min(wake, now + 0.2)  # a meter's grace ends without any event
            for key, _ in _deadline.select(sel, max(0.0, wake - time.monotonic())):
                fd = key.data
                _drain(socks[fd], by_sock[fd])
    finally:
        sel.close()


def _drain(sock: socket.socket, pendings: list[Pending]) -> None:
    attribute(icmp.read(sock), pendings)
    raw_ipv4 = sock.type == socket.SOCK_RAW
    for _ in range(64):
        try:
            data, arrival = udp.receive(sock, 65535)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            # The pending error of a connected socket: where the OS queues ICMP (Linux) it was
            # read above; where it does not (Windows), a port unreachable surfaces here as
            # WSAECONNRESET and is that ICMP, for the request it answers.
            if not icmp.errors_on_udp_socket and (err := icmp.after_error(sock, exc)) is not None:
                attribute([err], pendings)
            continue
        now = time.monotonic()
        frag = arrival.fragment
        if raw_ipv4:
            parsed = wire.ipv4_payload(data)
            if parsed is None:
                continue  # not an IPv4 datagram we can read: hostile or truncated, dropped
            data = parsed[2]
        for p in pendings:
            reply = p.parse(data)
            if reply is not None and p.take(reply, frag, now):
                break


def loss_sample(pendings: Sequence[Pending], now: float | None = None) -> tuple[int, int]:
    """(transmissions whose fate is known, answered) over ``pendings`` (see ``Pending.delivery``)."""
    known = answered = 0
    for p in pendings:
        k, a = p.delivery(now)
        known += k
        answered += a
    return known, answered


def wilson(successes: int, trials: int, z: float = 1.645) -> tuple[float, float]:
    """One-sided 95 % Wilson bounds (low, high) of a proportion: honest with few samples and
    with 0 or all successes, where the plain ratio claims a certainty it does not have."""
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    z2 = z * z
    centre = p + z2 / (2 * trials)
    spread = z * ((p * (1 - p) + z2 / (4 * trials)) / trials) ** 0.5
    denom = 1 + z2 / trials
    return max(0.0, (centre - spread) / denom), min(1.0, (centre + spread) / denom)


def local_address_towards(address: str) -> str | None:
    """The source address the kernel would pick for ``address`` (no packet is sent)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect((address, 9))
        return str(s.getsockname()[0])
    except OSError:
        return None
    finally:
        s.close()


def close_all(socks: Sequence[socket.socket]) -> None:
    for s in socks:
        with contextlib.suppress(OSError):
            s.close()


def until(ctx: ProbeContext, cap: float, margin: float = 0.25) -> float:
    """Absolute time to stop waiting: at most ``cap`` seconds, and ``margin`` before the deadline
    so the probe still has time to write its result."""
    return time.monotonic() + max(0.0, min(cap, ctx.remaining() - margin))


def ike_pending(sock: socket.socket, address: str, port: int, *, natt: bool, size: int = 0,
                reply_size: int = 0, label: str = "", **options: Any) -> Pending:
    """An IKE-shaped reflector request; ``size``/``reply_size`` are IP datagram sizes (0 = minimal).
    Every transmission gets a fresh token (exact round trips); ``options`` go to :class:`Pending`."""

    def build() -> tuple[bytes, bytes]:
        token = new_token()
        payload = wire.build_request(
            token,
            size=max(0, size - UDP_OVERHEAD),
            reply_size=max(0, reply_size - UDP_OVERHEAD),
            port4500=natt,
        )
        return payload, token

    payload, token = build()
    return Pending(sock, payload, token, (address, port), lambda d: wire.parse_reply(d, port4500=natt), label,
                   renew=build, **options)


def observed(p: Pending) -> dict[str, object] | None:
    if p.reply is None:
        return None
    o = p.reply.observation
    return {"address": o.address, "port": o.port, "received": o.received_len, "ttl": o.ttl,
            "fragmented": o.fragmented, "max_fragment": o.max_fragment}
