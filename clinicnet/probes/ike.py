"""Probe: does the VPN gateway answer IKE on UDP 500 and 4500 from this network, and is there NAT?

The question a clinic needs answered is whether *this* network carries the
IPsec+IKE VPN (guide G1), so the probe speaks IKE itself, as a real client
would, instead of pinging: a firewall or a broken router ALG that passes ping
but eats UDP 500 is exactly what must be found. Every target gets:

* IKEv2 IKE_SA_INIT on UDP 500 and on UDP 4500 (with the non-ESP marker), from
  an ephemeral source port, and with administrator rights also from source
  port 500 (some firewalls and NATs treat 500->500 specially);
* IKEv1 Main Mode on the ports where IKEv2 got no answer within
  :data:`IKEV1_DELAY` (a gateway that speaks only IKEv1 stays silent to IKEv2).
  IKEv1 is not sent when IKEv2 already answered, because every request leaves a
  half-open SA on the gateway and strongSwan's defaults answer the 4th half-open
  SA per address with COOKIE and silently drop the 6th: a probe that floods its
  target would measure its own rate limit and call it a blocked network.
  For the same reason only the primary attempt (IKEv2, UDP 500, ephemeral
  port) answers INVALID_KE or COOKIE with a second request; for the others the
  stateless error reply already proves the two-way path.

Sockets are plain connected UDP sockets (no raw sockets, no privileges), so
ICMP errors reach us; on Linux ``IP_RECVERR`` says which ICMP and from whom
(:mod:`clinicnet.system.icmp`). An ICMP error ends an attempt at once.
Replies go through the defensive parsers in :mod:`clinicnet.wire`; anything that
is not a valid answer to our request is ignored but reported.

NAT is measured from the gateway's own NAT_DETECTION notifies (RFC 7296
§2.23): what the gateway saw as our source is compared with what we used.
"""

from __future__ import annotations

import errno as errno_mod
import ipaddress
import selectors
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from clinicnet.model import ProbeResult, Status
from clinicnet.probes.interface import ProbeContext, Stopwatch
from clinicnet.system import icmp as icmp_errors
from clinicnet.wire import dh, ikev1, ikev2
from clinicnet.wire.ike import (
    NatDetection,
    ParsedReply,
    ReplyKind,
    VendorId,
    nat_detection,
    natd_hash,
    parse_reply,
)

NAME = "ike"
IKE_PORT = 500
NAT_T_PORT = 4500
#: RFC 7296 §2.1 style retransmission: first after 0.5 s, then doubling
FIRST_RETRANSMIT = 0.5
#: IKEv1 goes out on a port only if IKEv2 has no answer there after this long
IKEV1_DELAY = 1.0
#: keep this much of the deadline to assemble the result
DEADLINE_MARGIN = 0.05
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

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
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
            "vendor_ids": [v.to_json() for v in self.vendor_ids],
            "ignored": list(self.ignored),
            "retries": list(self.retries),
            "local_address": self.local_address,
        }
        if self.nat is not None:
            out["nat"] = self.nat.to_json()
        if self.icmp is not None:
            out["icmp"] = self.icmp.to_json()
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


# --- public API ----------------------------------------------------------------------------


def probe(ctx: ProbeContext) -> ProbeResult:
    """Probe every ``ctx.targets`` entry concurrently, all within ``ctx.deadline``."""
    return run(ctx)


def quick_check(target: str, timeout: float = 5.0, privileged: bool = False, ikev1_always: bool = False) -> ProbeResult:
    """``clinicnet ike HOST``: the same probe for one target, with its own deadline.

    ``ikev1_always`` also sends IKEv1 where IKEv2 answered, to show whether the
    gateway speaks both (costs two more half-open SAs on the gateway).
    """
    ctx = ProbeContext(targets=(target,), timeout=timeout, privileged=privileged, deadline=time.monotonic() + timeout)
    return run(ctx, ikev1_always=ikev1_always)


def run(ctx: ProbeContext, *, ikev1_always: bool = False) -> ProbeResult:
    watch = Stopwatch(NAME)
    if not ctx.targets:
        return watch.result(Status.SKIPPED, "no VPN gateway given (targets), nothing to probe", {"targets": []})
    deadline = ctx.deadline - DEADLINE_MARGIN
    resolved = _resolve_all(ctx.targets, deadline)
    sport500 = _source_port_500(ctx.privileged, {fam for _a, fam, _e in resolved if fam})
    engine = _Engine(deadline, ikev1_always)
    for index, (address, family, _err) in enumerate(resolved):
        if address is None or family is None:
            continue
        engine.plan(index, address, family, sport500.get(family))
    engine.loop()
    targets = [
        _target_values(name, res, engine.results_for(i), engine.notes_for(i))
        for i, (name, res) in enumerate(zip(ctx.targets, resolved, strict=True))
    ]
    values = {"targets": targets, "source_port_500": {str(k): v for k, v in sport500.items()}}
    silent = [t["target"] for t in targets if not _answered_any(t)]
    if silent:
        return watch.result(Status.FAILED, f"no IKE answer on UDP 500 or 4500 from: {', '.join(silent)}", values)
    return watch.result(Status.OK, "every target answered IKE", values)


def port_preserved(attempt: dict[str, Any], public_address: str) -> bool | None:
    """Did the NAT keep our source port? Needs the public address from elsewhere (reflector).

    The gateway's NAT_DETECTION_DESTINATION_IP hashes the address *and port* it
    saw; with the public address known, matching the hash with our own source
    port answers the question. ``None`` when the attempt has no NAT detection data.
    """
    natd = attempt.get("natd")
    if not natd or attempt.get("source_port") is None:
        return None
    try:
        got = natd_hash(
            bytes.fromhex(natd["spi_i"]), bytes.fromhex(natd["spi_r"]), public_address, attempt["source_port"]
        )
    except (ValueError, KeyError, TypeError):
        return None
    return got.hex() == natd.get("destination_hash")


# --- resolution ----------------------------------------------------------------------------


def _resolve_all(targets: tuple[str, ...], deadline: float) -> list[tuple[str | None, int | None, str | None]]:
    """Resolve names concurrently, IPv4 first (the VPN runs over IPv4, guide G8).

    Resolution may use at most half the remaining time, so a dead resolver still
    leaves time to probe the targets given as addresses.
    """
    results: list[tuple[str | None, int | None, str | None] | None] = [None] * len(targets)
    threads = []
    for i, name in enumerate(targets):
        literal = _literal(name)
        if literal is not None:
            results[i] = literal
            continue
        t = threading.Thread(target=_resolve_one, args=(name, results, i), daemon=True, name="clinicnet-ike-dns")
        t.start()
        threads.append(t)
    budget_end = time.monotonic() + max(0.0, (deadline - time.monotonic()) / 2)
    for t in threads:
        t.join(max(0.0, budget_end - time.monotonic()))
    return [r if r is not None else (None, None, "DNS timeout") for r in results]


def _literal(name: str) -> tuple[str, int, None] | None:
    try:
        ip = ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return None
    return str(ip), ip.version, None


def _resolve_one(name: str, out: list[tuple[str | None, int | None, str | None] | None], i: int) -> None:
    errors = []
    for family, version in ((socket.AF_INET, 4), (socket.AF_INET6, 6)):
        try:
            infos = socket.getaddrinfo(name, None, family, socket.SOCK_DGRAM)
        except (OSError, UnicodeError) as exc:
            errors.append(str(exc))
            continue
        if infos:
            out[i] = (str(infos[0][4][0]), version, None)
            return
    out[i] = (None, None, errors[0] if errors else "no address")


def _source_port_500(privileged: bool, families: set[int]) -> dict[int, str]:
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


class _Engine:
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


# --- assembling the values -----------------------------------------------------------------

_RANK = {"answered": 3, "icmp": 2, "silent": 1, "error": 0}


def _port_state(attempts: list[AttemptResult], port: int) -> str:
    best = "error"
    for a in attempts:
        if a.port != port:
            continue
        if a.answered:
            state = "answered"
        elif a.outcome in ICMP_OUTCOMES:
            state = "icmp"
        elif a.outcome in ("timeout", "malformed"):
            state = "silent"
        else:
            state = "error"
        if _RANK[state] > _RANK[best]:
            best = state
    return best


def _target_values(
    name: str,
    resolved: tuple[str | None, int | None, str | None],
    attempts: list[AttemptResult],
    notes: list[str],
) -> dict[str, Any]:
    address, family, error = resolved
    order = {(2, IKE_PORT, False): 0, (2, NAT_T_PORT, False): 1, (2, IKE_PORT, True): 2, (1, IKE_PORT, False): 3}
    attempts = sorted(attempts, key=lambda a: order.get((a.ike_version, a.port, a.fixed_source_port), 4))
    icmp = next((a.outcome for a in attempts if a.outcome in ICMP_OUTCOMES), None)
    icmp_from = next((a.icmp.offender for a in attempts if a.icmp is not None and a.icmp.offender), None)
    measured = [a.nat for a in attempts if a.nat is not None and a.nat.measured]
    nat: dict[str, Any] = {
        "measured": bool(measured),
        "local_behind_nat": any(n.local_behind_nat for n in measured) if measured else None,
        "remote_behind_nat": any(n.remote_behind_nat for n in measured) if measured else None,
        "method": "ikev2-natd",
    }
    vids: dict[str, VendorId] = {}
    for a in attempts:
        for v in a.vendor_ids:
            vids.setdefault(v.hex, v)
    rtts = [a.rtt_ms for a in attempts if a.rtt_ms is not None]
    answered_any = any(a.answered for a in attempts)
    notes = list(notes)
    if answered_any and any(a.outcome == "timeout" and a.sent for a in attempts):
        notes.append(
            "some attempts got no answer while others did: the gateway may limit half-open IKE SAs "
            "per address (rate limit), or a filter treats these ports/versions differently"
        )
    return {
        "target": name,
        "address": address,
        "family": family,
        "resolve_error": error,
        "attempts": [a.to_json() for a in attempts],
        "udp500": _port_state(attempts, IKE_PORT) if attempts else "error",
        "udp4500": _port_state(attempts, NAT_T_PORT) if attempts else "error",
        "icmp": icmp,
        "icmp_from": icmp_from,
        "nat": nat,
        "vendor_ids": [v.to_json() for v in vids.values()],
        "rtt_ms": min(rtts) if rtts else None,
        "ike_versions": sorted({a.ike_version for a in attempts if a.answered}),
        # full responses leave a half-open SA on the gateway until it times out (strongSwan:
        # 30 s); gateways limit them per address, so re-runs within that time can be refused
        "half_open_created": sum(a.outcome in ("response", "ikev1_response") for a in attempts),
        "notes": notes,
    }


def _answered_any(target: dict[str, Any]) -> bool:
    return target["udp500"] == "answered" or target["udp4500"] == "answered"


# --- text for ``clinicnet ike HOST`` -------------------------------------------------------

_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "answered": "answered",
        "icmp": "refused (ICMP)",
        "silent": "no answer",
        "error": "not tested",
        "nat": "NAT",
        "vendor": "Vendor IDs",
        "rtt": "RTT",
        "none": "none",
        "resolve": "cannot resolve",
        "local_nat": "this PC is behind NAT (NAT-T on UDP 4500 will be used)",
        "no_nat": "no NAT between this PC and the gateway",
        "remote_nat": "the gateway is behind NAT",
        "unknown": "not measured (no IKEv2 response with NAT detection)",
        "timeout": "no answer to {sent} transmission(s)",
        "malformed": "only malformed replies ({n} ignored)",
        "icmp_port_unreachable": "ICMP port unreachable",
        "icmp_host_unreachable": "ICMP host unreachable",
        "icmp_net_unreachable": "ICMP network unreachable",
        "icmp_admin_prohibited": "ICMP administratively prohibited (a firewall rejects it)",
        "icmp_other": "ICMP error",
        "from": "from",
        "retried": "after retry",
    },
    "ja": {
        "answered": "応答あり",
        "icmp": "拒否 (ICMP)",
        "silent": "応答なし",
        "error": "未測定",
        "nat": "NAT",
        "vendor": "ベンダーID",
        "rtt": "応答時間",
        "none": "なし",
        "resolve": "名前解決できません",
        "local_nat": "このPCはNATの内側です (UDP 4500 の NAT-T を使用)",
        "no_nat": "このPCとVPN装置の間にNATはありません",
        "remote_nat": "VPN装置がNATの内側にあります",
        "unknown": "測定できず (NAT検出付きの IKEv2 応答なし)",
        "timeout": "{sent} 回送信して応答なし",
        "malformed": "不正な応答のみ ({n} 件を無視)",
        "icmp_port_unreachable": "ICMP ポート到達不能",
        "icmp_host_unreachable": "ICMP ホスト到達不能",
        "icmp_net_unreachable": "ICMP ネットワーク到達不能",
        "icmp_admin_prohibited": "ICMP 管理上の禁止 (ファイアウォールが拒否)",
        "icmp_other": "ICMP エラー",
        "from": "送信元",
        "retried": "再試行後",
    },
}


def format_quick(result: ProbeResult, lang: str = "en") -> str:
    """Compact text for ``clinicnet ike HOST``: what answered on 500 and 4500, NAT, RTT, vendor IDs."""
    from clinicnet.reports.textwidth import pad
    from clinicnet.reports.textwidth import width as text_width

    tx = _TEXT["ja" if lang == "ja" else "en"]
    targets = result.values.get("targets") or []
    if not targets:
        return result.reason
    labels = ["UDP 500", "UDP 4500", tx["nat"], tx["rtt"], tx["vendor"]]
    width = max(text_width(x) for x in labels) + 1
    lines: list[str] = []

    def row(label: str, text: str) -> None:
        lines.append(f"  {pad(label, width)}: {text}")

    for t in targets:
        head = f"IKE {t.get('target')}"
        if t.get("address") and t.get("address") != t.get("target"):
            head += f" ({t['address']})"
        lines.append(head)
        if t.get("resolve_error"):
            row(tx["resolve"], str(t["resolve_error"]))
            continue
        for port, key in ((IKE_PORT, "udp500"), (NAT_T_PORT, "udp4500")):
            state = str(t.get(key, "error"))
            row(f"UDP {port}", f"{tx.get(state, state)} - {_attempt_text(_best_attempt(t, port), tx)}")
        nat = t.get("nat") or {}
        if nat.get("measured"):
            parts = [tx["local_nat"] if nat.get("local_behind_nat") else tx["no_nat"]]
            if nat.get("remote_behind_nat"):
                parts.append(tx["remote_nat"])
            row(tx["nat"], "; ".join(parts))
        else:
            row(tx["nat"], tx["unknown"])
        if t.get("rtt_ms") is not None:
            row(tx["rtt"], f"{t['rtt_ms']:.1f} ms")
        names = [str(v.get("name") or v.get("hex")) for v in t.get("vendor_ids") or []]
        row(tx["vendor"], ", ".join(names) if names else tx["none"])
    return "\n".join(lines)


def _attempt_text(a: dict[str, Any] | None, tx: dict[str, str]) -> str:
    if a is None:
        return "-"
    if a.get("answered"):
        text = f"IKEv{a['ike_version']} {a['outcome']}"
        if a.get("rtt_ms") is not None:
            text += f", {a['rtt_ms']:.1f} ms"
        prop = a.get("chosen_proposal") or {}
        algs = [str(prop[k]) for k in ("encr", "key_bits", "prf", "integ", "hash", "dh") if prop.get(k)]
        if algs:
            text += " [" + "/".join(algs) + "]"
        if a.get("retries"):
            text += f" ({tx['retried']}: " + ", ".join(r.split(":")[0] for r in a["retries"]) + ")"
        return text
    outcome = str(a.get("outcome"))
    if outcome == "timeout":
        return tx["timeout"].format(sent=a.get("sent", 0))
    if outcome == "malformed":
        return tx["malformed"].format(n=len(a.get("ignored") or []))
    if outcome in ICMP_OUTCOMES:
        text = tx[outcome]
        icmp = a.get("icmp") or {}
        if icmp.get("from"):
            text += f" ({tx['from']} {icmp['from']})"
        return text
    return str(a.get("detail") or outcome)


def _best_attempt(target: dict[str, Any], port: int) -> dict[str, Any] | None:
    candidates = [a for a in target.get("attempts") or [] if a.get("port") == port]
    for a in candidates:
        if a.get("answered"):
            return a
    return candidates[0] if candidates else None


def _main(argv: list[str] | None = None) -> int:
    """``python -m clinicnet.probes.ike HOST...``: the probe alone (lab tests, debugging)."""
    import argparse
    import json
    import sys

    parser = argparse.ArgumentParser(prog="python -m clinicnet.probes.ike")
    parser.add_argument("targets", nargs="+")
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--privileged", action="store_true", help="also probe from source port 500")
    parser.add_argument("--ikev1-always", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--lang", default="en")
    args = parser.parse_args(argv)
    ctx = ProbeContext(
        targets=tuple(args.targets),
        timeout=args.timeout,
        privileged=args.privileged,
        deadline=time.monotonic() + args.timeout,
    )
    result = run(ctx, ikev1_always=args.ikev1_always)
    if args.json:
        json.dump(result.to_json(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print(format_quick(result, args.lang))
    return 0 if result.status is Status.OK else 1


if __name__ == "__main__":
    raise SystemExit(_main())
