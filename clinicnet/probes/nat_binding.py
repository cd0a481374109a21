"""NAT binding lifetime: how long the path's NAT keeps an idle UDP mapping to ports 4500 and 500.

"The VPN connects, then drops after a while" is often a router that forgets an
idle UDP mapping sooner than the IPsec client refreshes it with NAT-T keepalives
(RFC 3948; 20 s is the common default). Nothing in a five-second diagnosis can
see it, so this probe runs only when asked (``diagnose --long``; always in watch
mode) and takes minutes, with a deadline of its own.

How: the reflector (protocol version 2) answers a request *after a delay*, from
the port the request came to. A mapping refreshed by any outgoing packet is no
longer idle, so every delay has its own socket, i.e. its own source port and its
own mapping: the request is sent (twice, 0.2 s apart, against loss; the reflector
answers it once), then that socket stays silent until the answer is due. An
answer that arrives proves the mapping lived that long; one that does not may be
an expired mapping or a lost datagram, and the probe tells them apart with
controls:

* a *kept-alive* twin of every delay, sent from one socket per port that sends
  an ordinary request every 2 s (what a VPN client's keepalives do): when the
  twin is answered and the idle one is not, the idle mapping expired; when both
  are missing, the delay is "unknown" (loss, or a reflector that cannot wait that
  long), never "expired";
* those 2-s requests are answered at once: their losses estimate the path's loss;
* an idle delay missing below one that was answered is counted as lost.

All delays are in flight at once (first wave 5, 10, 15, 20, 30, 45, 60, 90, 120,
180 s, capped by the option and by what the reflector grants), so the probe takes
about as long as the longest delay it still needs, not their sum: once the first
idle delay has expired for sure, one refining wave splits the interval between
the last answered and that delay in four, and the probe stops waiting once two
idle delays above the last answered have expired with their twins answered.

The result per port is an interval: ``lower_s`` (an answered delay: the mapping
lived at least that long) and ``upper_s`` (an expired one), with the estimate
in the middle and a confidence (high: two expirations confirmed and nothing
lost; medium: one, or some loss; low: more loss than that).
"""

from __future__ import annotations

import functools
import selectors
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypedDict

from clinicnet.model import ProbeResult, Status, Text
from clinicnet.probes import _deadline
from clinicnet.probes._lazy import lazy
from clinicnet.probes.interface import ProbeContext, ProbeSpec, Stopwatch

if TYPE_CHECKING:
    from clinicnet.probes import _exchange as R
    from clinicnet.wire import reflector as wire
else:  # imported when the probe runs, not when the registry lists it
    R = lazy("clinicnet.probes._exchange")
    wire = lazy("clinicnet.wire.reflector")

#: the NAT-T keepalive interval the mapping must outlive (RFC 3948's common default)
KEEPALIVE_S = 20.0
#: the longest delay asked for (the protocol's cap)
MAX_DELAY_S = 180.0
FIRST_WAVE: tuple[float, ...] = (5, 10, 15, 20, 30, 45, 60, 90, 120, 180)
#: how often the kept-alive control socket sends (its mapping must never idle out)
REFRESH_S = 2.0
#: the second copy of each delayed request follows the first after this long
RESEND_GAP_S = 0.2
#: points of the refining wave between the last answered and the first expired delay
REFINE_POINTS = 3
#: expired idle delays (twins answered) above the last answered one before the probe stops waiting
CONFIRMATIONS = 2
IKE_PORT = 500
NATT_PORT = 4500


def budget(max_delay: float) -> float:
    """The probe's own deadline in seconds: the longest delay, time for a refining wave
    below 60 s (lifetimes above that are far from any keepalive), and the set-up."""
    return max_delay + min(max_delay, 60.0) + 15.0


class DelayResult(TypedDict):
    delay_s: float
    #: 1 = first wave, 2 = refining wave
    wave: int
    #: answered; expired (twin answered, idle one not); lost (missing below an answered
    #: delay); unknown (missing and the twin too); pending (not due when the probe ended)
    state: str
    #: the kept-alive twin: True answered, False missing, None not due
    control: bool | None


class PortResult(TypedDict, total=False):
    port: int
    delays: list[DelayResult]
    #: the mapping lived at least this long (the longest answered delay)
    lower_s: float | None
    #: the mapping was gone after this long (the shortest confirmed expiry)
    upper_s: float | None
    estimate_s: float | None
    #: both, below (only a lower bound: the longest delay answered), above (only an upper bound)
    bounded: str | None
    #: high, medium, low; none when nothing could be concluded
    confidence: str
    lost: int
    #: the kept-alive socket's immediate requests (sent, answered): the path's loss
    refresh_sent: int
    refresh_answered: int


class Values(TypedDict, total=False):
    reflector: str
    address: str | None
    error: str | None
    #: protocol version of the reflector's reply (1 cannot hold delayed answers)
    reflector_version: int | None
    #: the longest delay the reflector grants (seconds)
    reflector_max_delay_s: float | None
    max_delay_s: float
    keepalive_s: float
    rtt_ms: float | None
    ports: list[PortResult]
    #: the port the headline numbers are from: 4500 when measured, else 500
    port: int | None
    lifetime_s: float | None
    lower_s: float | None
    upper_s: float | None
    confidence: str | None


SPEC = ProbeSpec(
    name="nat_binding",
    order=120,
    long=True,
    title=Text(ja="NAT の変換保持時間（最長数分かかります）", en="NAT binding lifetime (takes minutes)"),
    values=Values,
    options=("reflectors",),
    reasons={
        "silent": Text(
            ja="リフレクタから応答がないため、変換保持時間を測定できません",
            en="the reflector did not answer: the binding lifetime cannot be measured",
        ),
        "old_reflector": Text(
            ja="リフレクタが古い版（プロトコル 1）のため、遅延応答による測定ができません",
            en="the reflector speaks protocol version 1 only: it cannot hold delayed answers (update it)",
        ),
        "measured": Text(
            ja="UDP {port}: 無通信の変換を約 {lifetime} 秒保持します（{lower}〜{upper} 秒）",
            en="UDP {port}: the NAT keeps an idle mapping about {lifetime} s ({lower}-{upper} s, "
               "confidence {confidence})",
        ),
        "at_least": Text(
            ja="UDP {port}: 無通信の変換を少なくとも {lower} 秒保持します（試した最長の待ち時間）",
            en="UDP {port}: the NAT keeps an idle mapping at least {lower} s (the longest delay tried)",
        ),
        "below": Text(
            ja="UDP {port}: 無通信の変換は {upper} 秒以内に消えます（試した最短の待ち時間）",
            en="UDP {port}: the NAT forgets an idle mapping within {upper} s (the shortest delay tried)",
        ),
        "inconclusive": Text(
            ja="通信を続けた対照の遅延応答も届かないため、NAT によるものか損失かを判断できません",
            en="delayed answers were missing even with the mapping kept alive: loss or the reflector, "
               "not the NAT, so nothing is concluded",
        ),
    },
)


# ---------------------------------------------------------------------------
# Planning and analysis: pure, unit-tested on their own
# ---------------------------------------------------------------------------


def first_wave(cap: float, base: Sequence[float] = FIRST_WAVE) -> list[float]:
    """The first wave's delays: ``base`` below ``cap``, and ``cap`` itself last."""
    out = [float(d) for d in base if d < cap - 0.5]
    return [*out, float(cap)] if cap >= 1.0 else out


def refine(lower: float | None, upper: float, taken: Sequence[float] = ()) -> list[float]:
    """The refining wave: ``REFINE_POINTS`` delays splitting (lower, upper) evenly, minus
    delays already asked (or too close to them to tell apart)."""
    lo = lower or 0.0
    step = (upper - lo) / (REFINE_POINTS + 1)
    if step < 0.25:
        return []
    out = [round(lo + step * k, 2) for k in range(1, REFINE_POINTS + 1)]
    return [d for d in out if d >= 0.5 and all(abs(d - t) >= 0.25 for t in taken)]


def analyse(idle: Sequence[tuple[float, int, bool | None]], controls: Sequence[tuple[float, bool | None]],
            refresh: tuple[int, int] = (0, 0)) -> PortResult:
    """Bounds and confidence from what came back.

    ``idle``: (delay, wave, answered: True/False, None while not due); ``controls``:
    the kept-alive twins (delay, answered). A missing idle delay counts as expired
    only when a twin at that delay or a longer one was answered (the reflector and
    the path did carry an answer that late), as lost when a longer idle delay was
    answered (a mapping does not come back), and as unknown otherwise.
    """
    answered = [d for d, _, ok in idle if ok]
    lower = max(answered) if answered else None
    twin_ok = [d for d, ok in controls if ok]
    longest_twin = max(twin_ok) if twin_ok else None
    delays: list[DelayResult] = []
    expired: list[float] = []
    lost = 0
    for d, wave, ok in sorted(idle):
        twin = next((c for cd, c in controls if abs(cd - d) < 1e-6), None)
        if ok is None:
            state = "pending"
        elif ok:
            state = "answered"
        elif lower is not None and d < lower:
            state = "lost"
            lost += 1
        elif longest_twin is not None and longest_twin >= d - 1e-6:
            state = "expired"
            expired.append(d)
        else:
            state = "unknown"
        delays.append({"delay_s": d, "wave": wave, "state": state, "control": twin})
    upper = min(expired) if expired else None
    estimate: float | None
    if lower is not None and upper is not None:
        estimate, bounded = round((lower + upper) / 2, 1), "both"
    elif lower is not None:
        estimate, bounded = None, "below"
    elif upper is not None:
        estimate, bounded = None, "above"
    else:
        estimate, bounded = None, None
    sent, got = refresh
    refresh_lost = max(0, sent - got)
    twins_lost = sum(1 for d, ok in controls if ok is False and longest_twin is not None and d < longest_twin)
    losses = lost + twins_lost + (1 if refresh_lost > max(1, sent // 10) else 0)
    if bounded is None:
        confidence = "none"
    elif losses >= 2:
        confidence = "low"
    elif bounded == "below":
        confidence = "high" if losses == 0 else "medium"  # an answer is proof; nothing to confirm
    elif len(expired) >= CONFIRMATIONS and losses == 0:
        confidence = "high"
    else:
        confidence = "medium"
    return {
        "delays": delays,
        "lower_s": lower,
        "upper_s": upper,
        "estimate_s": estimate,
        "bounded": bounded,
        "confidence": confidence,
        "lost": lost,
        "refresh_sent": sent,
        "refresh_answered": got,
    }


def headline(ports: Sequence[PortResult]) -> PortResult | None:
    """The port whose numbers the report leads with: 4500 (NAT-T) when it concluded, else 500."""
    concluded = [p for p in ports if p.get("bounded")]
    return next((p for p in concluded if p.get("port") == NATT_PORT), concluded[0] if concluded else None)


# ---------------------------------------------------------------------------
# The measurement
# ---------------------------------------------------------------------------


@dataclass
class _Ask:
    """One request in flight: a delayed one (idle or its kept-alive twin) or a refresh."""

    sock: socket.socket
    port: int  # reflector port
    natt: bool
    token: bytes
    payload: bytes
    delay: float  # 0 for a refresh
    kind: str  # idle, control, refresh
    wave: int = 1
    sent: list[float] = field(default_factory=list)
    reply: wire.Reply | None = None
    answered_at: float | None = None

    @property
    def due(self) -> float | None:
        return self.sent[0] + self.delay if self.sent else None

    def outcome(self, now: float, grace: float) -> bool | None:
        """True answered, False missing (due and the grace passed), None not yet known."""
        if self.reply is not None:
            return True
        due = self.due
        if due is None or now < due + grace:
            return None
        return False


class _Port:
    """The state of one reflector port: its idle sockets, its kept-alive socket, its waves."""

    def __init__(self, port: int, natt: bool, control: socket.socket) -> None:
        self.port = port
        self.natt = natt
        self.control = control
        self.asks: list[_Ask] = []
        self.refined = False
        self.done = False
        self.next_refresh = 0.0

    def idle(self) -> list[_Ask]:
        return [a for a in self.asks if a.kind == "idle"]

    def twins(self) -> list[_Ask]:
        return [a for a in self.asks if a.kind == "control"]

    def refreshes(self) -> list[_Ask]:
        return [a for a in self.asks if a.kind == "refresh"]

    def result(self, now: float, grace: float) -> PortResult:
        idle = [(a.delay, a.wave, a.outcome(now, grace)) for a in self.idle()]
        twins = [(a.delay, a.outcome(now, grace)) for a in self.twins()]
        refresh = self.refreshes()
        got = sum(1 for a in refresh if a.reply is not None)
        done = sum(1 for a in refresh if a.outcome(now, grace) is not None)
        out = analyse(idle, twins, (done, got))
        out["port"] = self.port
        return out


class _Session:
    """All sockets of one run, a selector over them, and the schedule of what is sent when."""

    def __init__(self, address: str, ports: Sequence[tuple[int, bool]], grace: float) -> None:
        self.address = address
        self.grace = grace
        self.sel = selectors.DefaultSelector()
        self.socks: list[socket.socket] = []
        self.by_fd: dict[int, list[_Ask]] = {}
        self.ports = [_Port(p, natt, self._socket()) for p, natt in ports]

    def _socket(self) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind(("0.0.0.0", 0))
            s.setblocking(False)
            self.sel.register(s, selectors.EVENT_READ)
        except OSError:
            s.close()
            raise
        self.socks.append(s)
        self.by_fd[s.fileno()] = []
        return s

    def close(self) -> None:
        self.sel.close()
        R.close_all(self.socks)

    def ask(self, port: _Port, kind: str, delay: float, wave: int = 1) -> _Ask:
        sock = self._socket() if kind == "idle" else port.control
        token = R.new_token()
        payload = wire.build_request(token, port4500=port.natt, delay_ms=int(round(delay * 1000)))
        a = _Ask(sock, port.port, port.natt, token, payload, delay, kind, wave)
        port.asks.append(a)
        self.by_fd[sock.fileno()].append(a)
        self._send(a)
        return a

    def _send(self, a: _Ask) -> None:
        try:
            a.sock.sendto(a.payload, (self.address, a.port))
        except OSError:
            return  # counted as missing in time; a send error on this PC is rare and local
        a.sent.append(time.monotonic())

    def resend_young(self, now: float) -> None:
        """The second copy of every delayed request, RESEND_GAP_S after the first."""
        for p in self.ports:
            for a in p.asks:
                if a.kind != "refresh" and len(a.sent) == 1 and now - a.sent[0] >= RESEND_GAP_S:
                    self._send(a)

    def drain(self, timeout: float) -> None:
        for key, _ in _deadline.select(self.sel, max(0.0, timeout)):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            asks = self.by_fd.get(sock.fileno(), [])
            for _ in range(64):
                try:
                    data = sock.recv(65535)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    continue  # a queued ICMP error: nothing to read
                for a in asks:
                    if a.reply is not None:
                        continue
                    reply = wire.parse_reply(data, port4500=a.natt)
                    if reply is not None and reply.token == a.token:
                        a.reply = reply
                        a.answered_at = time.monotonic()
                        break


def _capability(address: str, ports: Sequence[tuple[int, bool]], ctx: ProbeContext,
                ) -> tuple[wire.Reply | None, bool, float | None]:
    """One immediate version-2 request per port and a version-1 one: does the reflector
    answer, does it speak version 2, how long may it wait, what is the round trip."""
    s = R.udp_socket(0)
    try:
        pend = []
        for port, natt in ports:
            token = R.new_token()
            payload = wire.build_request(token, port4500=natt, delay_ms=0)
            parse = functools.partial(wire.parse_reply, port4500=natt)
            pend.append(R.Pending(s, payload, token, (address, port), parse, "v2"))
        v1 = R.ike_pending(s, address, ports[-1][0], natt=ports[-1][1], label="v1")
        R.exchange([*pend, v1], R.until(ctx, 3.0), resend=0.5, max_sends=4)
    finally:
        R.close_all([s])
    v2 = next((p for p in pend if p.reply is not None), None)
    rtts = [p.rtt_ms for p in (*pend, v1) if p.rtt_ms is not None]
    rtt = min(rtts) if rtts else None
    return (v2.reply if v2 else None), v1.reply is not None, rtt


def probe(ctx: ProbeContext, *, max_delay: float = MAX_DELAY_S, wave: Sequence[float] | None = None,
          ike_port: int = IKE_PORT, natt_port: int = NATT_PORT) -> ProbeResult:
    """Measure; ``max_delay`` caps the delays (a quicker run: 30 s answers "below 20 s?"),
    ``wave`` replaces the first wave, the ports are the reflector's (tests on loopback)."""
    sw = Stopwatch(SPEC)
    if not ctx.reflectors:
        return sw.result(Status.SKIPPED, "no_reflector")
    host = ctx.reflectors[0]
    res = R.resolve(host, ctx)
    values: Values = {"reflector": host, "address": res.address, "error": res.error,
                      "keepalive_s": KEEPALIVE_S, "max_delay_s": max_delay}
    if res.address is None:
        return sw.result(Status.ERROR, "unresolved", values)
    address = str(res.address)
    ports = ((natt_port, True), (ike_port, False))
    v2, v1_answered, rtt = _capability(address, ports, ctx)
    values["rtt_ms"] = rtt
    values["reflector_version"] = v2.version if v2 is not None else (1 if v1_answered else None)
    if v2 is None:
        return sw.result(Status.ERROR, "old_reflector" if v1_answered else "silent", values)
    granted = v2.max_delay_ms / 1000.0 if v2.max_delay_ms else MAX_DELAY_S
    values["reflector_max_delay_s"] = granted
    cap = min(max_delay, granted, MAX_DELAY_S)
    delays = [float(d) for d in wave if d <= cap] if wave is not None else first_wave(cap)
    grace = 1.5 + 2 * (rtt or 0.0) / 1000.0
    end = min(ctx.deadline - 0.5, time.monotonic() + budget(cap))
    session = _Session(address, ports, grace)
    try:
        _run(session, delays, grace, end)
        now = time.monotonic()
        port_results = [p.result(now, grace) for p in session.ports]
    finally:
        session.close()
    values["ports"] = port_results
    head = headline(port_results)
    if head is None:
        values.update({"port": None, "lifetime_s": None, "lower_s": None, "upper_s": None, "confidence": None})
        return sw.result(Status.ERROR, "inconclusive", values)
    values.update({"port": head.get("port"), "lifetime_s": head.get("estimate_s"), "lower_s": head.get("lower_s"),
                   "upper_s": head.get("upper_s"), "confidence": head.get("confidence")})
    port, lower, upper = head.get("port"), head.get("lower_s"), head.get("upper_s")
    if head.get("bounded") == "both":
        return sw.result(Status.OK, "measured", values, port=port, lower=lower, upper=upper,
                         lifetime=head.get("estimate_s"), confidence=head.get("confidence"))
    if head.get("bounded") == "below":
        return sw.result(Status.OK, "at_least", values, port=port, lower=lower)
    return sw.result(Status.OK, "below", values, port=port, upper=upper)


def _run(session: _Session, delays: Sequence[float], grace: float, end: float) -> None:
    """Send the first wave, keep the controls alive, refine once, stop when every port is done."""
    for p in session.ports:
        for d in delays:
            session.ask(p, "idle", d)
            session.ask(p, "control", d)
        p.next_refresh = time.monotonic() + REFRESH_S
    while True:
        now = time.monotonic()
        if now >= end or all(p.done for p in session.ports):
            return
        session.resend_young(now)
        for p in session.ports:
            if p.done:
                continue
            if now >= p.next_refresh:
                session.ask(p, "refresh", 0.0)
                p.next_refresh = now + REFRESH_S
            _step(session, p, now, grace, end)
        session.drain(min(0.2, max(0.0, end - now)))


def _step(session: _Session, p: _Port, now: float, grace: float, end: float) -> None:
    """Start the refining wave when the first expiry is sure; mark the port done when nothing
    it still waits for can change the answer."""
    res = p.result(now, grace)
    delays = res["delays"]
    expired = [d["delay_s"] for d in delays if d["state"] == "expired"]
    pending = [d["delay_s"] for d in delays if d["state"] == "pending"]
    if not p.refined and expired:
        upper = min(expired)
        lower = res.get("lower_s")
        if not [d for d in pending if d < upper]:  # everything below is known
            p.refined = True
            taken = [d["delay_s"] for d in delays]
            points = [d for d in refine(lower, upper, taken) if now + d + grace + RESEND_GAP_S < end]
            for d in points:
                session.ask(p, "idle", d, wave=2)
                session.ask(p, "control", d, wave=2)
            return
    if not pending:
        p.done = True
        return
    if p.refined and len(expired) >= CONFIRMATIONS and not [d for d in pending if d < max(expired)]:
        if not any(a.wave == 2 and a.outcome(now, grace) is None for a in p.idle() + p.twins()):
            p.done = True  # the rest is longer than two sure expiries: waiting would change nothing
