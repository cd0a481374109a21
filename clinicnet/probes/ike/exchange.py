"""The IKE attempts of every target in one selector loop: sockets, retransmission, replies.

Each target gets IKEv2 IKE_SA_INIT on UDP 500 and 4500 (and from source port 500
with administrator rights), and IKEv1 Main Mode where IKEv2 stays silent; the
reasons for that plan, and for retrying only the primary attempt, are in the
package docstring. Everything here is working state; :mod:`.assemble` turns the
finished attempts into the probe's values.
"""

from __future__ import annotations

import errno as errno_mod
import selectors
import socket
import time
from dataclasses import dataclass, field
from typing import Any, cast

from clinicnet.probes.ike import IKE_PORT, NAT_T_PORT, Attempt, AttemptNat, Icmp, VendorIdJson
from clinicnet.system import icmp as icmp_errors
from clinicnet.wire import dh, ikev1, ikev2
from clinicnet.wire.ike import (
    NatDetection,
    ParsedReply,
    ReplyKind,
    VendorId,
    nat_detection,
    parse_reply,
)

#: RFC 7296 §2.1 style retransmission: first after 0.5 s, then doubling
FIRST_RETRANSMIT = 0.5
#: IKEv1 goes out on a port only if IKEv2 has no answer there after this long
IKEV1_DELAY = 1.0
MAX_IGNORED = 10
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
    request: ikev2.SaInitRequest | ikev1.MainModeRequest | None = None
    spi: bytes = b""
    earlier_spis: list[bytes] = field(default_factory=list)
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


def source_port_500(privileged: bool, families: set[int]) -> dict[int, str]:
    """Whether source port 500 can be used, per family: "ok" or why not.

    The check binds without SO_REUSEADDR, so an IKE daemon or VPN client that
    owns port 500 on this PC is detected and never disturbed.
    """
    if not privileged:
        return {}
    out: dict[int, str] = {}
    for version in families:
        fam = socket.AF_INET6 if version == 6 else socket.AF_INET
        try:
            with socket.socket(fam, socket.SOCK_DGRAM) as s:
                if fam == socket.AF_INET6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", IKE_PORT))
            out[version] = "ok"
        except OSError as exc:
            if exc.errno == errno_mod.EADDRINUSE:
                out[version] = "in use on this PC (an IKE daemon or VPN client?)"
            elif exc.errno in (errno_mod.EACCES, errno_mod.EPERM):
                out[version] = "not permitted (needs administrator rights)"
            else:
                out[version] = f"bind failed: {exc.strerror or exc}"
    return out


# --- the event loop ------------------------------------------------------------------------


class Engine:
    """All attempts of all targets in one selector loop: no thread per socket."""

    def __init__(self, deadline: float, ikev1_always: bool) -> None:
        self.deadline = deadline
        self.ikev1_always = ikev1_always
        self.attempts: list[_Attempt] = []
        self.notes: dict[int, list[str]] = {}
        self.sel = selectors.DefaultSelector()

    def plan(self, target: int, address: str, version: int, sport500: str | None) -> None:
        family = socket.AF_INET6 if version == 6 else socket.AF_INET
        now = time.monotonic()
        for port in (IKE_PORT, NAT_T_PORT):
            self.attempts.append(_Attempt(target, address, family, port, 2, False, now, self.deadline))
        if sport500 is not None:
            a = _Attempt(target, address, family, IKE_PORT, 2, True, now, self.deadline)
            if sport500 != "ok":
                self._finish(a, "send_error", f"source port 500 {sport500}")
            self.attempts.append(a)
        for port in (IKE_PORT, NAT_T_PORT):
            start = now if self.ikev1_always else now + IKEV1_DELAY
            self.attempts.append(_Attempt(target, address, family, port, 1, False, start, self.deadline))

    def results_for(self, target: int) -> list[AttemptResult]:
        return [a.result for a in self.attempts if a.target == target and a.result is not None]

    def notes_for(self, target: int) -> list[str]:
        return self.notes.get(target, [])

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
                wake = [a.next_send if a.started else a.start_at for a in self.attempts if not a.done]
                if not wake:
                    return
                timeout = max(0.0, min(min(wake), self.deadline) - time.monotonic())
                for key, _events in self.sel.select(timeout):
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
        a.started = True
        try:
            sock = socket.socket(a.family, socket.SOCK_DGRAM)
        except OSError as exc:
            self._finish(a, "send_error", f"cannot open a UDP socket: {exc}")
            return
        a.sock = sock
        sock.setblocking(False)
        icmp_errors.enable(sock)
        try:
            if a.fixed_sport:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(("::" if a.family == socket.AF_INET6 else "0.0.0.0", IKE_PORT))
            sock.connect((a.address, a.port))
            host, port = sock.getsockname()[:2]
            a.local = (str(host), int(port))
        except OSError as exc:
            self._finish(a, "send_error", _local_error_text(exc, "connect"))
            return
        try:
            a.request = self._build(a)
        except (dh.UnsupportedGroup, ValueError, ImportError) as exc:
            self._finish(a, "send_error", f"cannot build the IKE request: {exc}")
            return
        a.spi = a.request.spi_i if isinstance(a.request, ikev2.SaInitRequest) else a.request.cookie_i
        self.sel.register(sock, selectors.EVENT_READ, a)
        self._send(a, now)

    def _ikev1_needed(self, a: _Attempt, now: float) -> bool | None:
        """IKEv1 on a port only when IKEv2 got nothing there: True/False, or None to wait."""
        v2 = [b for b in self.attempts if b.target == a.target and b.version == 2 and b.port == a.port]
        results = [b.result for b in v2 if b.result is not None]
        if any(r.answered or r.icmp is not None for r in results):
            return False  # IKEv2 answered, or ICMP already said the port is closed
        if v2 and len(results) == len(v2) and all(r.outcome == "send_error" for r in results):
            return False  # this PC could not send at all; IKEv1 would fail the same way
        if now < a.start_at:
            return None
        if self.deadline - now < FIRST_RETRANSMIT:
            self.notes.setdefault(a.target, []).append(f"IKEv1 on UDP {a.port} not tried: no time left")
            return False
        self.notes.setdefault(a.target, []).append(
            f"IKEv1 tried on UDP {a.port}: IKEv2 got no answer there within {IKEV1_DELAY:g} s"
        )
        return True

    def _build(self, a: _Attempt) -> ikev2.SaInitRequest | ikev1.MainModeRequest:
        assert a.local is not None
        if a.version == 2:
            return ikev2.build_sa_init(local=a.local, remote=(a.address, a.port), nat_t=a.nat_t)
        return ikev1.build_main_mode_1(nat_t=a.nat_t)

    def _send(self, a: _Attempt, now: float, *, fresh: bool = False) -> None:
        assert a.sock is not None and a.request is not None
        if fresh:
            a.interval = FIRST_RETRANSMIT
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
        a.last_send = now
        a.next_send = now + a.interval
        a.interval *= 2

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
            reply = parse_reply(data, spi_i=a.spi, nat_t=a.nat_t, earlier_spis=a.earlier_spis)
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
        if a.rtt_ms is None:
            a.rtt_ms = round((now - a.last_send) * 1000, 3)
        a.last_answer = reply
        assert a.local is not None and a.request is not None
        if isinstance(a.request, ikev2.SaInitRequest) and self._may_retry(a):
            if reply.kind is ReplyKind.INVALID_KE and reply.invalid_ke_group is not None:
                group = reply.invalid_ke_group
                if not a.ke_retried and group in dh.SUPPORTED_GROUPS:
                    a.ke_retried = True
                    a.retries.append(f"invalid_ke: gateway wants {_group_name(group)}, retried")
                    a.earlier_spis.append(a.spi)
                    a.request = ikev2.with_group(a.request, group, a.local, (a.address, a.port))
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
                    self._send(a, now, fresh=True)
                    return
        self._answered(a, reply)

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

    def _answered(self, a: _Attempt, reply: ParsedReply, suffix: str = "") -> None:
        nat: NatDetection | None = None
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
        if a.last_answer is not None:
            # the gateway did answer (COOKIE or INVALID_KE); only the retry went unanswered,
            # typically its per-address limit of half-open SAs
            self._answered(a, a.last_answer, suffix="; the retry got no answer (gateway rate limit?)")
        elif a.malformed:
            self._finish(a, "malformed", f"{a.malformed} datagram(s) came back, none a valid IKE answer")
        elif a.sent:
            self._finish(a, "timeout", f"no answer to {a.sent} transmission(s)")
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


def _local_error_text(exc: OSError, what: str) -> str:
    name = errno_mod.errorcode.get(exc.errno or 0, str(exc.errno))
    if exc.errno == errno_mod.ENETUNREACH:
        return f"{what}: no route to the target from this PC ({name})"
    if exc.errno in (errno_mod.EPERM, errno_mod.EACCES):
        return f"{what}: refused by this PC (local firewall or policy, {name})"
    return f"{what}: {exc.strerror or exc} ({name})"
