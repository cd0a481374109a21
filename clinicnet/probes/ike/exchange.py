"""The IKE attempts of every target in one selector loop: sockets, retransmission, replies.

Each target gets IKEv2 IKE_SA_INIT on UDP 500 and 4500 (and from source port 500
with administrator rights), and IKEv1 Main Mode where IKEv2 stays silent; the
reasons for that plan, and for retrying only the primary attempt, are in the
package docstring. Everything here is working state; :mod:`.assemble` turns the
finished attempts into the probe's values.

Exact round trips: every transmission of a first message (IKE_SA_INIT, Main Mode 1)
carries a fresh initiator SPI (IKEv1: cookie), so each reply names the packet it
answers and its round trip is timed from that packet, never from a resend (on a
400 ms path a reply to the first send arriving just after the 0.5 s resend used to
read as a few milliseconds). The cost is one half-open SA on the gateway per
transmission that *reached* it and whose answer was lost or late; on a clean path
that is the same count as before (one transmission each). Retransmissions after a
COOKIE keep their SPI (the cookie is bound to it), and Main Mode 3 is resent as is.

Loss: retransmission starts at :data:`FIRST_RETRANSMIT` and doubles up to
:data:`MAX_RETRANSMIT`, so a 5 s probe sends each attempt about six times: on a path
losing 20 % each way (a round trip succeeds 64 % of the time) a silent attempt then
has a 0.36**6 = 0.2 % chance of being loss alone, and a port is tried by two or
three attempts; ``ike.udp500.blocked`` weighs a silence against the loss the reflector measured.

Local failures (issue 9): a socket that cannot be created or bound, or a request
this PC cannot build, ends an attempt as ``local_error``, never as a network
outcome; IKEv2 falls back to MODP2048 (pure Python) when cryptography's native
module will not load, and IKEv1 (no cryptography needed) still runs.
"""

from __future__ import annotations

import errno as errno_mod
import selectors
import socket
import time
from dataclasses import dataclass, field
from typing import Any, cast

from clinicnet.probes import _deadline
from clinicnet.probes._exchange import LOCAL_IKE_PORTS
from clinicnet.probes.ike import IKE_PORT, NAT_T_PORT, Attempt, AttemptNat, Icmp, VendorIdJson
from clinicnet.system import icmp as icmp_errors
from clinicnet.system import udp
from clinicnet.wire import dh, ikev1, ikev2
from clinicnet.wire.ike import (
    NatDetection,
    ParsedReply,
    ReplyKind,
    VendorId,
    nat_detection,
    parse_reply,
)

#: RFC 7296 §2.1 style retransmission: first after 0.5 s, then doubling up to MAX_RETRANSMIT
FIRST_RETRANSMIT = 0.5
#: capped so a lossy path still gets ~6 independent transmissions within a 5 s probe
MAX_RETRANSMIT = 1.0
#: the outcome of an attempt that failed on this PC (socket, bind, building the request):
#: nothing was learnt about the network (issue 9)
LOCAL_ERROR = "local_error"
#: IKEv2 answers that refuse without NAT detection: IKEv1 Main Mode on UDP 500 may still
#: tell NAT (RFC 3947) from a gateway that speaks only IKEv1
_V2_REFUSAL_NAMES = frozenset({ReplyKind.NO_PROPOSAL_CHOSEN.value, ReplyKind.NOTIFY.value,
                               ReplyKind.INVALID_SYNTAX.value})
#: IKEv1 goes out on a port only if IKEv2 has no answer there after this long
IKEV1_DELAY = 1.0
MAX_IGNORED = 10
#: how often a source-port-500 attempt looks whether the run's local UDP 500 is free
PORT_POLL = 0.1
#: below this much time left, the source-port-500 attempt stops waiting for the port
PORT_WAIT_FLOOR = 1.5
#: the source-port-500 attempt gives local UDP 500 back after this long, answered or not
PORT_HOLD = 2.5
#: outcomes that are ICMP errors (the target or a router refused)
ICMP_OUTCOMES = icmp_errors.OUTCOMES


@dataclass(frozen=True)
class AttemptResult:
    """One IKE exchange attempt, as it goes into ``values["targets"][i]["attempts"]``."""

    port: int
    ike_version: int
    source_port: int | None
    fixed_source_port: bool
    outcome: str
    answered: bool
    rtt_ms: float | None
    sent: int
    retransmissions: int
    detail: str
    chosen_proposal: dict[str, Any] | None = None
    vendor_ids: tuple[VendorId, ...] = ()
    ignored: tuple[str, ...] = ()
    retries: tuple[str, ...] = ()
    local_address: str | None = None
    nat: NatDetection | None = None
    icmp: icmp_errors.IcmpError | None = None
    #: public NAT detection inputs, so a later step that knows the public address
    #: can tell whether the NAT kept source port 500 (:func:`port_preserved`)
    natd: dict[str, Any] | None = None
    reply: dict[str, Any] | None = None

    def to_json(self) -> Attempt:
        out: Attempt = {
            "port": self.port,
            "ike_version": self.ike_version,
            "source_port": self.source_port,
            "fixed_source_port": self.fixed_source_port,
            "outcome": self.outcome,
            "answered": self.answered,
            "rtt_ms": self.rtt_ms,
            "sent": self.sent,
            "retransmissions": self.retransmissions,
            "detail": self.detail,
            "chosen_proposal": self.chosen_proposal,
            "vendor_ids": [cast(VendorIdJson, v.to_json()) for v in self.vendor_ids],
            "ignored": list(self.ignored),
            "retries": list(self.retries),
            "local_address": self.local_address,
        }
        if self.nat is not None:
            out["nat"] = cast(AttemptNat, self.nat.to_json())
        if self.icmp is not None:
            out["icmp"] = cast(Icmp, self.icmp.to_json())
        if self.natd is not None:
            out["natd"] = self.natd
        if self.reply is not None:
            out["reply"] = self.reply
        return out


@dataclass
class _Attempt:
    """Mutable state of one exchange while the event loop runs (internal)."""

    target: int
    address: str
    family: int
    port: int
    version: int
    fixed_sport: bool
    start_at: float
    deadline: float
    sock: socket.socket | None = None
    local: tuple[str, int] | None = None
    request: ikev2.SaInitRequest | ikev1.MainModeRequest | ikev1.KeyExchangeRequest | None = None
    spi: bytes = b""
    earlier_spis: list[bytes] = field(default_factory=list)
    #: SPI (IKEv1: initiator cookie) of each first-message transmission still unanswered ->
    #: (when it was sent, the request it was): a reply is timed from the packet it answers
    in_flight: dict[bytes, tuple[float, ikev2.SaInitRequest | ikev1.MainModeRequest]] = field(default_factory=dict)
    #: IKEv1: the Main Mode message 2 that chose a proposal, and message 3 in flight after it
    mm2: ParsedReply | None = None
    mm3: ikev1.KeyExchangeRequest | None = None
    #: this attempt holds the run's local UDP 500 (source-port-500 attempts)
    holds_port: bool = False
    sent: int = 0
    retransmissions: int = 0
    last_send: float = 0.0
    next_send: float = 0.0
    interval: float = FIRST_RETRANSMIT
    rtt_ms: float | None = None
    retries: list[str] = field(default_factory=list)
    used_cookie: bytes | None = None
    ke_retried: bool = False
    #: the last IKE answer that was followed by a retry (COOKIE, INVALID_KE)
    last_answer: ParsedReply | None = None
    ignored: list[str] = field(default_factory=list)
    ignored_total: int = 0
    malformed: int = 0
    done: bool = False
    started: bool = False
    result: AttemptResult | None = None

    @property
    def nat_t(self) -> bool:
        return self.port == NAT_T_PORT


def source_port_500_free(family: int) -> str:
    """Whether this PC's UDP 500 is free for ``family``: "ok" or why not.

    The check binds without SO_REUSEADDR, so an IKE daemon or VPN client that
    owns port 500 on this PC is detected and never disturbed. It runs only while
    this run holds :data:`clinicnet.probes._exchange.LOCAL_IKE_PORTS`, so "in use"
    is never clinicnet's own NAT-mapping probe.
    """
    fam = socket.AF_INET6 if family == 6 else socket.AF_INET
    try:
        with socket.socket(fam, socket.SOCK_DGRAM) as s:
            if fam == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            udp.bind_exclusive(s, ("::" if fam == socket.AF_INET6 else "0.0.0.0", IKE_PORT))
        return "ok"
    except OSError as exc:
        if exc.errno == errno_mod.EADDRINUSE:
            return "in use on this PC (an IKE daemon or VPN client?)"
        if exc.errno in (errno_mod.EACCES, errno_mod.EPERM):
            return "not permitted (needs administrator rights)"
        return f"bind failed: {exc.strerror or exc}"


# --- the event loop ------------------------------------------------------------------------


class Engine:
    """All attempts of all targets in one selector loop: no thread per socket."""

    def __init__(self, deadline: float, ikev1_always: bool) -> None:
        self.deadline = deadline
        self.ikev1_always = ikev1_always
        self.attempts: list[_Attempt] = []
        self.notes: dict[int, list[str]] = {}
        #: per IP version: "ok" or why source port 500 could not be used
        self.sport500: dict[int, str] = {}
        self.sel = selectors.DefaultSelector()

    def plan(self, target: int, address: str, version: int, privileged: bool) -> None:
        family = socket.AF_INET6 if version == 6 else socket.AF_INET
        now = time.monotonic()
        for port in (IKE_PORT, NAT_T_PORT):
            self.attempts.append(_Attempt(target, address, family, port, 2, False, now, self.deadline))
        if privileged:
            self.attempts.append(_Attempt(target, address, family, IKE_PORT, 2, True, now, self.deadline))
        for port in (IKE_PORT, NAT_T_PORT):
            start = now if self.ikev1_always else now + IKEV1_DELAY
            self.attempts.append(_Attempt(target, address, family, port, 1, False, start, self.deadline))

    def results_for(self, target: int) -> list[AttemptResult]:
        return [a.result for a in self.attempts if a.target == target and a.result is not None]

    def notes_for(self, target: int) -> list[str]:
        return self.notes.get(target, [])

    def _note(self, target: int, text: str) -> None:
        notes = self.notes.setdefault(target, [])
        if text not in notes:
            notes.append(text)

    def loop(self) -> None:
        try:
            while True:
                now = time.monotonic()
                pending = [a for a in self.attempts if not a.done]
                if not pending:
                    return
                for a in pending:
                    if not a.started:
                        self._maybe_start(a, now)
                    elif not a.done:
                        self._tick(a, now)
                wake = [self._wake(a, now) for a in self.attempts if not a.done]
                if not wake:
                    return
                timeout = max(0.0, min(min(wake), self.deadline) - time.monotonic())
                for key, _events in _deadline.select(self.sel, timeout):
                    attempt: _Attempt = key.data
                    if not attempt.done:
                        self._readable(attempt)
                if time.monotonic() >= self.deadline:
                    for a in self.attempts:
                        if not a.done:
                            self._expire(a)
        finally:
            for a in self.attempts:
                self._close(a)
            self.sel.close()

    @staticmethod
    def _wake(a: _Attempt, now: float) -> float:
        if a.started:
            return a.next_send
        if a.fixed_sport and now >= a.start_at:
            return now + PORT_POLL  # waiting for the run's local UDP 500
        return a.start_at

    # -- per attempt -------------------------------------------------------------------

    def _maybe_start(self, a: _Attempt, now: float) -> None:
        if a.version == 1 and not self.ikev1_always:
            need = self._ikev1_needed(a, now)
            if need is None:
                return  # decide later
            if not need:
                a.done = True
                return
        elif now < a.start_at:
            return
        if a.fixed_sport and not self._take_port(a, now):
            return
        a.started = True
        try:
            sock = socket.socket(a.family, socket.SOCK_DGRAM)
        except OSError as exc:
            self._finish(a, LOCAL_ERROR, _local_error_text(exc, "cannot open a UDP socket on this PC"))
            return
        a.sock = sock
        try:
            sock.setblocking(False)
            icmp_errors.enable(sock)
            if a.fixed_sport:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                udp.bind_exclusive(sock, ("::" if a.family == socket.AF_INET6 else "0.0.0.0", IKE_PORT))
        except OSError as exc:
            self._finish(a, LOCAL_ERROR, _local_error_text(exc, "cannot bind the UDP socket on this PC"))
            return
        try:
            sock.connect((a.address, a.port))
            host, port = sock.getsockname()[:2]
            a.local = (str(host), int(port))
        except OSError as exc:
            self._finish(a, "send_error", _local_error_text(exc, "connect"))
            return
        try:
            a.request = self._build(a)
        except (dh.UnsupportedGroup, ValueError, ImportError) as exc:
            self._finish(a, LOCAL_ERROR, f"cannot build the IKE request on this PC: {exc}")
            return
        a.spi = a.request.spi_i if isinstance(a.request, ikev2.SaInitRequest) else a.request.cookie_i
        self.sel.register(sock, selectors.EVENT_READ, a)
        self._send(a, now)

    def _take_port(self, a: _Attempt, now: float) -> bool:
        """The source-port-500 attempt waits its turn for the run's local UDP 500/4500
        (the NAT-mapping probe binds them too); it gives up, as a local matter, when
        too little time is left for an exchange."""
        version = 6 if a.family == socket.AF_INET6 else 4
        if not a.holds_port:
            if not LOCAL_IKE_PORTS.take("ike", 0.0):
                if self.deadline - now < PORT_WAIT_FLOOR:
                    why = f"busy with clinicnet's {LOCAL_IKE_PORTS.holder or 'other'} probe for the whole run"
                    self.sport500[version] = why
                    self._finish(a, LOCAL_ERROR, f"source port 500 {why}; not tried")
                return False
            a.holds_port = True
            a.deadline = min(a.deadline, now + PORT_HOLD)  # leave the NAT-mapping probe its turn
        if version not in self.sport500:
            self.sport500[version] = source_port_500_free(version)
        state = self.sport500[version]
        if state != "ok":
            self._finish(a, LOCAL_ERROR, f"source port 500 {state}")
            return False
        return True

    def _ikev1_needed(self, a: _Attempt, now: float) -> bool | None:
        """IKEv1 on a port when IKEv2 got nothing there, and on UDP 500 when IKEv2's only
        answers refused without NAT detection (an IKEv1-only gateway: Main Mode 3/4 can
        still tell NAT): True/False, or None to wait."""
        v2 = [b for b in self.attempts if b.target == a.target and b.version == 2 and b.port == a.port]
        results = [b.result for b in v2 if b.result is not None]
        refused = a.port == IKE_PORT and self._v2_refused_without_nat(a.target)
        if any(r.answered or r.icmp is not None for r in results) and not refused:
            return False  # IKEv2 answered, or ICMP already said the port is closed
        if v2 and len(results) == len(v2) and all(r.outcome == "send_error" for r in results):
            return False  # this PC could not reach the target at all; IKEv1 would fail the same way
        if now < a.start_at and not refused:
            return None
        if self.deadline - now < FIRST_RETRANSMIT:
            self._note(a.target, f"IKEv1 on UDP {a.port} not tried: no time left")
            return False
        if refused:
            self._note(a.target, "IKEv1 tried on UDP 500: IKEv2 was refused, without NAT detection")
        else:
            self._note(a.target, f"IKEv1 tried on UDP {a.port}: IKEv2 got no answer there within {IKEV1_DELAY:g} s")
        return True

    def _v2_refused_without_nat(self, target: int) -> bool:
        """IKEv2 answered ``target`` only with refusals (NO_PROPOSAL_CHOSEN, ...), which carry
        no NAT detection: an IKEv1-only gateway, whose Main Mode 3/4 can still tell NAT."""
        kinds = [b.result.outcome for b in self.attempts
                 if b.target == target and b.version == 2 and b.result is not None and b.result.answered]
        return bool(kinds) and all(k in _V2_REFUSAL_NAMES for k in kinds)

    def _build(self, a: _Attempt) -> ikev2.SaInitRequest | ikev1.MainModeRequest:
        assert a.local is not None
        if a.version == 1:
            return ikev1.build_main_mode_1(nat_t=a.nat_t)
        remote = (a.address, a.port)
        try:
            return ikev2.build_sa_init(local=a.local, remote=remote, nat_t=a.nat_t)
        except BaseException as exc:  # noqa: BLE001 - a native module that will not load raises anything
            if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
                raise
            self._note(
                a.target,
                f"ECP key exchange unavailable on this PC ({type(exc).__name__}: {exc}); "
                "IKEv2 offered MODP2048 (computed without cryptography)",
            )
        return ikev2.build_sa_init(local=a.local, remote=remote, dh_group=14, groups=(14, 19, 31), nat_t=a.nat_t)

    def _renew(self, a: _Attempt) -> None:
        """A fresh SPI (IKEv1: cookie) for the next transmission of the first message."""
        assert a.local is not None and a.request is not None
        if isinstance(a.request, ikev2.SaInitRequest):
            r = a.request
            a.request = ikev2.build_sa_init(
                local=a.local, remote=(a.address, a.port), dh_group=r.dh_group, groups=r.groups,
                nat_t=r.nat_t, nonce=r.nonce, ke_data=r.ke_data,
            )
            a.spi = a.request.spi_i
        elif isinstance(a.request, ikev1.MainModeRequest):
            a.request = ikev1.build_main_mode_1(nat_t=a.nat_t)
            a.spi = a.request.cookie_i

    def _send(self, a: _Attempt, now: float, *, fresh: bool = False) -> None:
        assert a.sock is not None and a.request is not None
        if fresh:
            a.interval = FIRST_RETRANSMIT
        elif a.sent and a.mm3 is None and a.used_cookie is None:
            self._renew(a)
        sent_at = time.monotonic()  # before the send: a scheduler delay must not shorten the RTT
        try:
            a.sock.send(a.request.packet)
        except OSError as exc:
            icmp = icmp_errors.after_error(a.sock, exc)
            if (
                icmp is not None
                and icmp.outcome != icmp_errors.LOCAL
                and exc.errno not in (errno_mod.EPERM, errno_mod.EACCES)
            ):
                self._icmp(a, icmp)
            else:
                self._finish(a, "send_error", _local_error_text(exc, "send"))
            return
        if a.sent and not fresh:
            a.retransmissions += 1
        a.sent += 1
        if a.mm3 is None and not isinstance(a.request, ikev1.KeyExchangeRequest):
            a.in_flight.setdefault(a.spi, (sent_at, a.request))
        a.last_send = sent_at
        a.next_send = now + a.interval
        a.interval = min(a.interval * 2, MAX_RETRANSMIT)

    def _tick(self, a: _Attempt, now: float) -> None:
        if now >= a.deadline:
            self._expire(a)
        elif now >= a.next_send:
            self._send(a, now)

    def _readable(self, a: _Attempt) -> None:
        assert a.sock is not None
        for _ in range(64):  # bounded: a flood cannot starve the other attempts
            queued = icmp_errors.read_queue(a.sock)
            if queued is not None and queued.outcome != icmp_errors.LOCAL:
                self._icmp(a, queued)
                return
            try:
                data, peer = a.sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                icmp = icmp_errors.after_error(a.sock, exc)
                if icmp is not None and icmp.outcome != icmp_errors.LOCAL:
                    self._icmp(a, icmp)
                    return
                self._ignore(a, f"receive error: {exc}")
                continue
            now = time.monotonic()
            if str(peer[0]) != a.address or int(peer[1]) != a.port:
                self._ignore(a, f"datagram from {peer[0]}:{peer[1]}, not the target")
                continue
            spi = _reply_spi(data, a.nat_t)
            spi = spi if spi in a.in_flight else a.spi
            others = [s for s in a.in_flight if s != spi]
            reply = parse_reply(data, spi_i=spi, nat_t=a.nat_t, earlier_spis=a.earlier_spis + others)
            self._reply(a, reply, now)
            if a.done:
                return

    def _reply(self, a: _Attempt, reply: ParsedReply, now: float) -> None:
        if not reply.is_answer:
            late = reply.kind is ReplyKind.WRONG_SPI and "earlier" in reply.detail
            if not late:
                a.malformed += 1
            self._ignore(a, f"{reply.kind.value}: {reply.detail}")
            return
        if a.mm3 is not None:
            self._mm4(a, reply)
            return
        sent_at, request = a.in_flight.get(reply.spi_i, (a.last_send, None))
        if request is not None:
            # the reply names its transmission: time it from there, and keep answering that SPI
            a.request, a.spi = request, reply.spi_i
            a.earlier_spis += [s for s in a.in_flight if s != reply.spi_i]
            a.in_flight = {reply.spi_i: (sent_at, request)}
        if a.rtt_ms is None:
            a.rtt_ms = round((now - sent_at) * 1000, 3)
        a.last_answer = reply
        assert a.local is not None and a.request is not None
        if isinstance(a.request, ikev2.SaInitRequest) and self._may_retry(a):
            if reply.kind is ReplyKind.INVALID_KE and reply.invalid_ke_group is not None:
                group = reply.invalid_ke_group
                if not a.ke_retried and group in dh.SUPPORTED_GROUPS:
                    a.ke_retried = True
                    try:
                        retry = ikev2.with_group(a.request, group, a.local, (a.address, a.port))
                    except BaseException as exc:  # noqa: BLE001 - cryptography missing on this PC
                        if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
                            raise
                        a.retries.append(f"invalid_ke: gateway wants {_group_name(group)}, "
                                         f"which this PC cannot compute ({type(exc).__name__})")
                        self._answered(a, reply)
                        return
                    a.retries.append(f"invalid_ke: gateway wants {_group_name(group)}, retried")
                    a.earlier_spis += list(a.in_flight)
                    a.in_flight = {}
                    a.request = retry
                    a.spi = a.request.spi_i
                    a.used_cookie = None
                    self._send(a, now, fresh=True)
                    return
            if reply.kind is ReplyKind.COOKIE and reply.cookie is not None:
                if reply.cookie == a.used_cookie:
                    self._ignore(a, "duplicate COOKIE (answer to a retransmission)")
                    return
                if a.used_cookie is None:  # once per SPI: a second, different COOKIE is final
                    a.retries.append("cookie: gateway asked for a COOKIE round trip, retried")
                    a.used_cookie = reply.cookie
                    a.request = ikev2.with_cookie(a.request, reply.cookie, a.local, (a.address, a.port))
                    a.in_flight = {a.spi: (now, a.request)}
                    self._send(a, now, fresh=True)
                    return
        if reply.kind is ReplyKind.IKEV1_RESPONSE and a.version == 1:
            self._main_mode_3(a, reply, now)
            return
        self._answered(a, reply)

    # -- IKEv1 NAT detection (RFC 3947): Main Mode 3 and 4, never 5 ---------------------------

    def _main_mode_3(self, a: _Attempt, mm2: ParsedReply, now: float) -> None:
        """After a Main Mode answer that chose a proposal, send message 3 (KE, nonce, NAT-D)
        and read the gateway's NAT-D from message 4. Unauthenticated and before any identity;
        the SA stays half-open on the gateway as message 1 already left it, and message 5
        (identity, authentication) is never sent."""
        assert a.local is not None
        try:
            mm3 = ikev1.build_main_mode_3(mm2, local=a.local, remote=(a.address, a.port), nat_t=a.nat_t)
        except ikev1.CannotContinue as exc:
            self._answered(a, mm2, nat=NatDetection(False, detail=f"no Main Mode 3: {exc}", method="ikev1-natd"))
            return
        except BaseException as exc:  # noqa: BLE001 - the group's key exchange failed on this PC
            if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
                raise
            self._answered(a, mm2, nat=NatDetection(
                False, detail=f"cannot compute Main Mode 3 on this PC: {type(exc).__name__}: {exc}",
                method="ikev1-natd"))
            return
        if self.deadline - now < FIRST_RETRANSMIT:
            self._answered(a, mm2, nat=NatDetection(False, detail="no time left for Main Mode 3",
                                                    method="ikev1-natd"))
            return
        a.mm2, a.mm3 = mm2, mm3
        a.request = mm3
        a.in_flight = {}
        self._send(a, now, fresh=True)

    def _mm4(self, a: _Attempt, reply: ParsedReply) -> None:
        assert a.mm2 is not None and a.mm3 is not None and a.local is not None
        if reply.kind is ReplyKind.IKEV1_RESPONSE:
            self._ignore(a, "Main Mode 2 again (answer to a retransmission of message 1)")
            return
        if reply.kind is not ReplyKind.IKEV1_KEY_EXCHANGE:
            nat = NatDetection(False, detail=f"Main Mode 3 answered with {reply.kind.value}: {reply.detail}",
                               method="ikev1-natd")
        else:
            nat = nat_detection(
                reply, local_address=a.local[0], local_port=a.local[1], remote_address=a.address,
                remote_port=a.port, algorithm=a.mm3.natd_algorithm,
            )
        self._answered(a, a.mm2, suffix="; Main Mode 3/4 for NAT detection: " + nat.detail, nat=nat)

    def _may_retry(self, a: _Attempt) -> bool:
        """Whether an INVALID_KE or COOKIE answer is worth a second request.

        Both answers are stateless on the gateway and already prove the two-way
        path; a retry creates a half-open SA there. Only the primary attempt
        (IKEv2, UDP 500, ephemeral port) retries, to get the full response with
        NAT detection, unless it has no answer yet: then the others may be the
        only way to get one (UDP 500 filtered, say).
        """
        if a.version == 2 and a.port == IKE_PORT and not a.fixed_sport:
            return True
        primary = next(
            (
                b
                for b in self.attempts
                if b.target == a.target and b.version == 2 and b.port == IKE_PORT and not b.fixed_sport
            ),
            None,
        )
        return primary is None or primary.rtt_ms is None

    def _answered(self, a: _Attempt, reply: ParsedReply, suffix: str = "",
                  nat: NatDetection | None = None) -> None:
        natd: dict[str, Any] | None = None
        if reply.kind is ReplyKind.IKEV2_SA_INIT and a.local is not None:
            nat = nat_detection(
                reply, local_address=a.local[0], local_port=a.local[1], remote_address=a.address, remote_port=a.port
            )
            if reply.natd_destination:
                natd = {
                    "spi_i": reply.spi_i.hex(),
                    "spi_r": reply.spi_r.hex(),
                    "destination_hash": reply.natd_destination[0].hex(),
                    "source_hashes": [h.hex() for h in reply.natd_source],
                }
        detail = reply.detail
        if a.retries:
            detail += " (after " + "; ".join(a.retries) + ")"
        detail += suffix
        self._finish(
            a,
            reply.kind.value,
            detail,
            answered=True,
            proposal=reply.proposal.to_json() if reply.proposal is not None else None,
            vids=reply.vendor_ids,
            nat=nat,
            natd=natd,
            reply=reply.to_json(),
        )

    def _icmp(self, a: _Attempt, icmp: icmp_errors.IcmpError) -> None:
        self._finish(a, icmp.outcome, icmp.describe(), icmp=icmp)

    def _ignore(self, a: _Attempt, text: str) -> None:
        a.ignored_total += 1
        if len(a.ignored) < MAX_IGNORED:
            a.ignored.append(text)

    def _expire(self, a: _Attempt) -> None:
        if a.mm2 is not None:
            self._answered(a, a.mm2, nat=NatDetection(
                False, detail="Main Mode 3 sent, no message 4 before the deadline", method="ikev1-natd"))
        elif a.last_answer is not None:
            # the gateway did answer (COOKIE or INVALID_KE); only the retry went unanswered,
            # typically its per-address limit of half-open SAs
            self._answered(a, a.last_answer, suffix="; the retry got no answer (gateway rate limit?)")
        elif a.malformed:
            self._finish(a, "malformed", f"{a.malformed} datagram(s) came back, none a valid IKE answer")
        elif a.sent:
            self._finish(a, "timeout", f"no answer to {a.sent} transmission(s)")
        elif a.fixed_sport and not a.started:
            self._finish(a, LOCAL_ERROR, "source port 500 not free in time; not tried")
        else:
            self._finish(a, "timeout", "not sent before the deadline")

    def _finish(
        self,
        a: _Attempt,
        outcome: str,
        detail: str,
        *,
        answered: bool = False,
        proposal: dict[str, Any] | None = None,
        vids: tuple[VendorId, ...] = (),
        nat: NatDetection | None = None,
        natd: dict[str, Any] | None = None,
        icmp: icmp_errors.IcmpError | None = None,
        reply: dict[str, Any] | None = None,
    ) -> None:
        if a.done:
            return
        a.done = True
        ignored = tuple(a.ignored)
        if a.ignored_total > len(a.ignored):
            ignored += (f"... and {a.ignored_total - len(a.ignored)} more",)
        a.result = AttemptResult(
            port=a.port,
            ike_version=a.version,
            source_port=a.local[1] if a.local else (IKE_PORT if a.fixed_sport else None),
            fixed_source_port=a.fixed_sport,
            outcome=outcome,
            answered=answered,
            rtt_ms=a.rtt_ms if answered else None,
            sent=a.sent,
            retransmissions=a.retransmissions,
            detail=detail,
            chosen_proposal=proposal,
            vendor_ids=vids,
            ignored=ignored,
            retries=tuple(a.retries),
            local_address=a.local[0] if a.local else None,
            nat=nat,
            icmp=icmp,
            natd=natd,
            reply=reply,
        )
        self._close(a)

    def _close(self, a: _Attempt) -> None:
        if a.holds_port:
            a.holds_port = False
            LOCAL_IKE_PORTS.release()
        if a.sock is not None:
            try:
                self.sel.unregister(a.sock)
            except (KeyError, ValueError):
                pass
            a.sock.close()
            a.sock = None


def _group_name(group: int) -> str:
    from clinicnet.wire.ike import DH_NAMES, name_of

    return name_of(DH_NAMES, group)


def _reply_spi(data: bytes, nat_t: bool) -> bytes:
    """The initiator SPI (IKEv1: cookie) a datagram names, to find the transmission it answers."""
    start = 4 if nat_t else 0
    return bytes(data[start:start + 8])


def _local_error_text(exc: OSError, what: str) -> str:
    name = errno_mod.errorcode.get(exc.errno or 0, str(exc.errno))
    if exc.errno == errno_mod.ENETUNREACH:
        return f"{what}: no route to the target from this PC ({name})"
    if exc.errno in (errno_mod.EPERM, errno_mod.EACCES):
        return f"{what}: refused by this PC (local firewall or policy, {name})"
    return f"{what}: {exc.strerror or exc} ({name})"
