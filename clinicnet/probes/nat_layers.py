"""How many NAT layers sit between the PC and the internet, and is one of them
carrier-grade NAT (100.64.0.0/10)?

The guide (G9) warns about a clinic router behind a Wi-Fi cable modem that also
routes; this probe finds such set-ups without a reflector:

* a TTL-limited UDP trace toward the reflector (or the VPN gateway): each hop's
  ICMP time-exceeded arrives on an unprivileged UDP socket's error queue
  (``IP_RECVERR``) naming the router, so private (RFC 1918) hops before the
  first public one are the NAT layers, and a 100.64.0.0/10 hop is a CGN;
* the LAN gateway's own view of its WAN side via UPnP IGD (SSDP M-SEARCH to the
  default gateway, unicast and on the LAN's multicast group, answers accepted
  from the gateway only, then GetExternalIPAddress) and NAT-PMP (RFC 6886): a
  WAN address that is itself private means another NAT in front.

DS-Lite (RFC 6333, e.g. transix) shows itself by its well-known softwire
addresses in 192.0.0.0/29: the AFTR (192.0.0.1) answering a trace hop with
time-exceeded, or the router (the B4) reporting 192.0.0.2 as its WAN address.
Such hops are kind ``dslite``: neither a private NAT layer nor the public side;
the AFTR's NAT44 counts as one NAT layer, and ``ipv4_over_ipv6`` says what was
seen.  MAP-E has no well-known addresses and is not detected here.

Only the default gateway is asked on the LAN, and only the hosts the user named
are traced. Whatever the LAN sends back is treated as hostile (``wire.upnp``).
"""

from __future__ import annotations

import contextlib
import functools
import select
import socket
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypedDict, cast

from clinicnet import system
from clinicnet.model import ProbeResult, Status, Text
from clinicnet.probes._lazy import lazy
from clinicnet.probes.interface import ProbeContext, ProbeSpec, Stopwatch, combined_reasons
from clinicnet.system import icmp

if TYPE_CHECKING:
    from pathlib import Path

    from clinicnet.probes import _exchange as R
    from clinicnet.probes._deadline import Outcome
    from clinicnet.wire import upnp
else:  # imported when the probe runs, not when the registry lists it
    R = lazy("clinicnet.probes._exchange")
    upnp = lazy("clinicnet.wire.upnp")

MAX_TTL = 8
TRACE_PORT = 500


class Hop(TypedDict, total=False):
    ttl: int
    #: the router that answered time-exceeded (None: silent)
    address: str | None
    #: ``netaddr.address_kind``: private, cgn, dslite, public, ...; or silent
    kind: str
    #: this hop is the traced host itself
    destination: bool
    #: the hop did not answer and its address is known otherwise (why, in English)
    inferred: str


class Trace(TypedDict, total=False):
    destination: str | None
    #: ``icmp_echo`` where the trace was made with echo requests (Windows), absent for UDP
    method: str
    hops: list[Hop]
    reached_at: int | None
    #: why no trace was made (English, raw evidence)
    skipped: str
    error: str | None


class GatewayAnswer(TypedDict, total=False):
    """What the default gateway said over UPnP IGD or NAT-PMP."""

    #: ok, answered, silent, closed, refused, malformed, error, skipped
    state: str
    detail: str
    server: str
    device: dict[str, str]
    external_ip: str
    external_kind: str
    malformed_ssdp: int
    ignored_other_hosts: int


class Layer(TypedDict, total=False):
    layer: int
    address: str | None
    #: trace, upnp/nat-pmp, or a sentence on the gateway's WAN address
    evidence: str
    wan: str
    device: dict[str, str]


class Modem(TypedDict):
    layer: int
    address: str | None
    basis: str


class DsliteEvidence(TypedDict, total=False):
    #: trace or gateway_wan
    source: str
    ttl: int | None
    address: str | None
    meaning: str


class OverIpv6(TypedDict):
    detected: bool
    mechanism: str | None
    evidence: list[DsliteEvidence]


class Layers(TypedDict):
    layers: list[Layer]
    private_layers: int
    cgn: bool
    cgn_addresses: list[str]
    #: where a routing Wi-Fi cable modem sits (G9), when there are two private layers
    modem_layer: Modem | None
    nat_layers: int
    count_is_lower_bound: bool
    silent_hops: list[int]
    ipv4_over_ipv6: OverIpv6


class Values(Layers, total=False):
    gateway: str | None
    trace: Trace
    upnp: GatewayAnswer
    natpmp: GatewayAnswer
    gateway_wan: str | None
    gateway_wan_kind: str | None


#: parts of the reason after the layer count, in this order; the code is
#: ``layers`` followed by the parts that apply, e.g. ``layers+cgn+lower_bound``
_REASON_PARTS = {
    "cgn": Text(ja="、上流にキャリアグレード NAT", en=", carrier-grade NAT upstream"),
    "dslite": Text(ja="、IPv4 over IPv6（上流の DS-Lite AFTR で NAT44）", en=", IPv4 over IPv6 (DS-Lite AFTR NAT44 upstream)"),
    "lower_bound": Text(
        ja="（ホップ {hops} が応答しなかったため、実際はこれより多い可能性があります）",
        en=" at least (hop {hops} did not answer the trace)",
    ),
    "hostile": Text(
        ja="。ゲートウェイからの不審な {hostile} 応答は無視しました",
        en="; ignored a suspicious {hostile} answer from the gateway",
    ),
}


_LAYERS = {"layers": Text(ja="プライベート NAT {private} 段", en="{private} private NAT layer(s)")}


SPEC = ProbeSpec(
    name="nat_layers",
    order=110,
    title=Text(ja="NAT の段数", en="NAT layers"),
    values=Values,
    options=("reflectors", "targets"),
    reasons={
        "nothing_to_ask": Text(
            ja="IPv4 のデフォルトゲートウェイも、経路を調べる相手（リフレクタ・VPN 装置）もありません",
            en="no IPv4 default gateway and no reflector or target to trace toward",
        ),
        "silent": Text(
            ja="経路上のどのホップも応答せず、ゲートウェイも WAN 側の情報を返しませんでした",
            en="no hop answered and the gateway said nothing about its WAN side",
        ),
        **{
            code: text
            for code, text in combined_reasons(
                (_LAYERS, *({k: t} for k, t in _REASON_PARTS.items())), sep=Text(ja="", en="")
            ).items()
            if code.startswith("layers")
        },
    },
)


def default_gateway() -> str | None:
    try:
        for r in system.default_routes():
            if r.family == 4 and r.gateway:
                return r.gateway
    except Exception:  # noqa: BLE001 - a platform seam failing must not lose the probe
        return None
    return None


# ---------------------------------------------------------------------------
# TTL trace
# ---------------------------------------------------------------------------


def trace(address: str, ctx: ProbeContext, budget: float, first_hop: str | None = None) -> Trace:
    """One socket per TTL, all sent at once, so the trace costs one wait, not eight.

    ``first_hop`` is the default gateway when the traced host is off-link: the first hop
    of a default-routed path is the gateway by definition, so when hop 1 stays silent
    (its ICMP rate limit spent by a run just before: a burst of 6, then 1/s) the answer
    is known without waiting for it, and the hop says it was inferred.
    """
    socks: list[socket.socket] = []
    pend: dict[int, R.Pending] = {}
    try:
        for ttl in range(1, MAX_TTL + 1):
            s = R.udp_socket()
            socks.append(s)
            s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
            with contextlib.suppress(OSError):
                s.connect((address, TRACE_PORT))
            pend[ttl] = R.ike_pending(s, address, TRACE_PORT, natt=False, label=f"ttl{ttl}")
        # Stop as soon as every TTL got *something* (an ICMP error or the reflector's answer).
        R.exchange(list(pend.values()), time.monotonic() + budget, resend=0.6, max_sends=2,
                   done=_heard, stop=_TraceStop(known_first_hop=first_hop is not None))
    finally:
        R.close_all(socks)
    answers: dict[int, tuple[str | None, bool]] = {}
    for ttl, p in pend.items():
        te = next((e for e in p.icmp if e.time_exceeded), None)
        reached = p.reply is not None or any(e.port_unreachable for e in p.icmp)
        answers[ttl] = (te.offender if te is not None else None, reached)
    hops, reached_at = hops_from(address, answers, first_hop)
    return {"destination": address, "hops": hops, "reached_at": reached_at}


def hops_from(
    address: str, answers: dict[int, tuple[str | None, bool]], first_hop: str | None = None
) -> tuple[list[Hop], int | None]:
    """The hops of a trace from what each TTL drew: (the router whose time-exceeded came back,
    whether the destination itself answered); and the TTL at which the destination answered.
    ``first_hop``: the default gateway, taken for a silent hop 1 (see ``trace``)."""
    hops: list[Hop] = []
    reached_at: int | None = None
    for ttl in range(1, MAX_TTL + 1):
        router, reached = answers.get(ttl, (None, False))
        if router:
            hops.append({"ttl": ttl, "address": router, "kind": R.address_kind(router)})
        elif reached:
            reached_at = ttl
            hops.append({"ttl": ttl, "address": address, "kind": R.address_kind(address), "destination": True})
            break
        elif ttl == 1 and first_hop is not None:
            hops.append({"ttl": 1, "address": first_hop, "kind": R.address_kind(first_hop),
                         "inferred": "the default gateway (hop 1 did not answer: ICMP rate limit)"})
        else:
            hops.append({"ttl": ttl, "address": None, "kind": "silent"})
    # Hops past the first public one were not waited for (see _TraceStop).
    first_public = next((i for i, h in enumerate(hops) if h["kind"] == "public"), None)
    if first_public is not None and reached_at is None:
        hops = hops[: first_public + 1]
    return hops, reached_at


def on_link(address: str) -> bool:
    """Whether ``address`` is on a subnet of this PC's own (then hop 1 is the host itself)."""
    import ipaddress

    import psutil

    try:
        dest = ipaddress.IPv4Address(address)
        for addrs in psutil.net_if_addrs().values():
            for a in addrs:
                if a.family == socket.AF_INET and a.netmask:
                    if dest in ipaddress.IPv4Network(f"{a.address}/{a.netmask}", strict=False):
                        return True
    except (ValueError, OSError):
        return True  # unknown: do not infer
    return False


#: after the first public hop answers, how long a silent hop below it is still waited for
_SILENT_HOP_GRACE_S = 0.8


def _public_hop(p: R.Pending) -> bool:
    return any(e.time_exceeded and e.offender and R.address_kind(e.offender) == "public" for e in p.icmp)


def _heard(p: R.Pending) -> bool:
    return bool(p.icmp) or p.reply is not None


class _TraceStop:
    """When later hops cannot change the answer any more.

    Once the destination answered with every hop below it heard, or the first
    public hop answered with every hop below it heard (NATs sit before the first
    public hop), stop. A silent hop below that public hop (routers rate-limit ICMP:
    Linux allows a burst of 6 per peer, then 1/s) gets ``_SILENT_HOP_GRACE_S``, no more;
    hop 1 is not waited for when it is known to be the default gateway.
    """

    def __init__(self, known_first_hop: bool = False) -> None:
        self.public_heard_at: float | None = None
        self.known_first_hop = known_first_hop

    def _heard(self, i: int, p: R.Pending) -> bool:
        return _heard(p) or (i == 0 and self.known_first_hop)

    def __call__(self, pend: Sequence[R.Pending]) -> bool:
        reached = next((i for i, p in enumerate(pend) if p.reply is not None), None)
        if reached is not None and all(self._heard(i, p) for i, p in enumerate(pend[:reached])):
            return True
        public = next((i for i, p in enumerate(pend) if _public_hop(p)), None)
        if public is None:
            return False
        if all(self._heard(i, p) for i, p in enumerate(pend[:public])):
            return True
        self.public_heard_at = self.public_heard_at or time.monotonic()
        return time.monotonic() - self.public_heard_at > _SILENT_HOP_GRACE_S


def trace_echo(address: str, budget: float) -> Trace:
    """The trace where the OS tells a UDP socket nothing about ICMP (Windows): ICMP echo requests
    with a TTL through ``system.netpath.trace_hop`` (IcmpSendEcho2: no administrator, no Npcap).

    IcmpSendEcho2 waits synchronously, so each TTL gets its own thread and the whole trace costs
    one wait, as the UDP trace does; hops still silent below the first public one are asked once
    more while the budget lasts (routers rate-limit ICMP). A local failure of the API is the
    trace's ``error``, never a silent network.
    """
    from clinicnet.probes._deadline import run_all
    from clinicnet.system import netpath

    end = time.monotonic() + budget
    answers: dict[int, netpath.Echo] = {}
    local_error: str | None = None

    def ask(ttl: int) -> netpath.Echo | None:
        left = end - time.monotonic()
        if left < 0.1:
            return None
        try:
            return netpath.trace_hop(address, ttl, timeout=min(1.0, left))
        except (OSError, ValueError) as exc:
            return netpath.Echo(kind="error", ip_status=getattr(exc, "errno", None) or 0,
                                responder=f"{type(exc).__name__}: {str(exc)[:120]}")

    def reached(e: netpath.Echo | None) -> bool:
        return e is not None and (e.kind == "reply" or (e.kind == "unreachable" and e.responder == address))

    todo = list(range(1, MAX_TTL + 1))
    for _ in range(2):
        # daemon threads, not a pool: nothing may keep the process alive past the run
        outs = run_all([functools.partial(ask, ttl) for ttl in todo], end + 0.2, name="trace-echo")
        for ttl, got in zip(todo, outs, strict=True):
            if got.value is not None:
                answers[ttl] = got.value
        stop = next((t for t in sorted(answers) if reached(answers[t]) or (
            answers[t].kind == "ttl_expired" and answers[t].responder
            and R.address_kind(str(answers[t].responder)) == "public")), MAX_TTL + 1)
        todo = [t for t in range(1, stop) if answers.get(t) is None or answers[t].kind == "timeout"]
        if not todo or end - time.monotonic() < 0.3:
            break
    errors = [e for e in answers.values() if e.kind == "error"]
    if errors and len(errors) == len(answers):
        local_error = f"IcmpSendEcho2 failed on this PC: {errors[0].responder or errors[0].ip_status}"
    hops, reached_at = hops_from(address, {
        ttl: (e.responder if e.kind == "ttl_expired" else None, reached(e)) for ttl, e in answers.items()})
    out: Trace = {"destination": address, "method": "icmp_echo", "hops": [] if local_error else hops,
                  "reached_at": reached_at}
    if local_error:
        out["error"] = local_error
    return out


# ---------------------------------------------------------------------------
# UPnP IGD and NAT-PMP, asked of the default gateway only
# ---------------------------------------------------------------------------


class HttpError(Exception):
    """The gateway's HTTP answer was unusable (not HTTP, too large, cut short)."""


def _http(url: str, until: float, method: str = "GET", body: bytes | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """One request to the gateway, everything by ``until``: connect, send and every read.

    A gateway that sends its description one byte every half second gets until ``until``
    and no longer (``http.client`` restarts its timeout with every byte that arrives)."""
    from urllib.parse import urlsplit

    from clinicnet.probes._deadline import read_until
    from clinicnet.wire import http

    u = urlsplit(url)
    host, port = u.hostname or "", u.port or 80
    path = (u.path or "/") + (f"?{u.query}" if u.query else "")
    fields = {"Host": f"{host}:{port}", "Connection": "close", **(headers or {})}
    if body is not None:
        fields["Content-Length"] = str(len(body))
    req = (f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n")
    with socket.create_connection((host, port), timeout=max(0.01, until - time.monotonic())) as sock:
        sock.settimeout(max(0.01, until - time.monotonic()))
        sock.sendall(req.encode("latin-1", "replace") + (body or b""))
        data, ended = read_until(sock, until, upnp.MAX_XML + http.MAX_HEAD, http.complete)
    parts = http.split(data)
    head = http.parse_head(parts[0]) if parts else None
    if head is None or parts is None:
        raise TimeoutError("no complete answer in time") if ended == "deadline" else HttpError("not an HTTP answer")
    if ended == "deadline" and not http.complete(data):
        raise TimeoutError("the answer was cut short at the deadline")
    payload = http.body(head, parts[1])
    if len(payload) > upnp.MAX_XML or (ended == "limit" and not http.complete(data)):
        raise HttpError("answer too large")
    return head.status, payload


def _ssdp_search(gateway: str, until: float, out: GatewayAnswer, wait: float = 1.2) -> upnp.SsdpResponse | None:
    """M-SEARCH the gateway (unicast, then multicast on the LAN); its answer or None.

    The unicast search goes out on a connected socket so that a gateway without
    UPnP, which answers ICMP port-unreachable, ends the wait at once.
    """
    deadline = min(until, time.monotonic() + wait)
    sends = [(gateway, 0.0), (upnp.SSDP_ADDR, 0.0), (gateway, 0.4)]
    start = time.monotonic()
    ignored = 0
    with contextlib.ExitStack() as stack:
        multi = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
        uni = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
        for sock in (multi, uni):
            sock.setblocking(False)
        with contextlib.suppress(OSError):
            multi.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        with contextlib.suppress(OSError):
            uni.connect((gateway, upnp.SSDP_PORT))
        while (now := time.monotonic()) < deadline:
            while sends and now - start >= sends[0][1]:
                dest, _ = sends.pop(0)
                with contextlib.suppress(OSError):
                    if dest == gateway:
                        uni.send(upnp.msearch(dest))
                    else:
                        multi.sendto(upnp.msearch(dest), (dest, upnp.SSDP_PORT))
            wake = min(deadline, start + sends[0][1]) if sends else deadline
            ready, _, _ = select.select([multi, uni], [], [], max(0.0, wake - now))
            if uni in ready:
                try:
                    data = uni.recv(upnp.MAX_SSDP + 1)
                except (ConnectionRefusedError, ConnectionResetError):  # Windows: WSAECONNRESET on UDP
                    out["state"] = "closed"
                    break
                except OSError:
                    data = b""
                if data:
                    resp = upnp.parse_ssdp(data)
                    if resp is not None:
                        return resp
                    out["malformed_ssdp"] = out.get("malformed_ssdp", 0) + 1
            if multi not in ready:
                continue
            for _ in range(16):
                try:
                    data, addr = multi.recvfrom(upnp.MAX_SSDP + 1)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    continue
                if addr[0] != gateway:
                    ignored += 1  # only the default gateway's view counts
                    continue
                resp = upnp.parse_ssdp(data)
                if resp is not None:
                    return resp
                out["malformed_ssdp"] = out.get("malformed_ssdp", 0) + 1
    if ignored:
        out["ignored_other_hosts"] = ignored
    return None


def upnp_query(gateway: str, until: float, closed_before: float | None = None) -> GatewayAnswer:
    out: GatewayAnswer = {"state": "silent"}
    found = _ssdp_search(gateway, until, out, 1.2 if closed_before is None else _RECALLED_WAIT_S)
    if found is None:
        if out["state"] == "silent" and closed_before is not None:
            out["detail"] = _recalled(closed_before)
        return out
    out["state"] = "answered"
    out["server"] = found.server[:128]
    location = upnp.url_on_host(found.location, gateway)
    if location is None:
        out.update({"state": "refused", "detail": "LOCATION is not plain http on the gateway's address"})
        return out
    try:
        status, body = _http(location, until)
        if status != 200:
            out.update({"state": "error", "detail": f"description: HTTP {status}"})
            return out
        desc = upnp.parse_description(body, location)
        out["device"] = desc.device()
        if desc.error:
            out.update({"state": "error" if not desc.error.startswith("refused") else "refused", "detail": desc.error})
            return out
        control = upnp.url_on_host(desc.control_url, gateway)
        if control is None:
            out.update({"state": "refused", "detail": "control URL is not on the gateway's address"})
            return out
        status, body = _http(control, until, "POST", upnp.soap_request(desc.service_type), {
            "Content-Type": 'text/xml; charset="utf-8"',
            "SOAPAction": f'"{desc.service_type}#GetExternalIPAddress"',
        })
        ext = upnp.parse_external_ip(body)
        if ext.address is None:
            out.update({"state": "error" if not (ext.error or "").startswith("refused") else "refused", "detail": f"GetExternalIPAddress: HTTP {status}, {ext.error}"})
            return out
        out.update({"state": "ok", "external_ip": ext.address, "external_kind": R.address_kind(ext.address)})
    except (OSError, HttpError, ValueError) as exc:
        out.update({"state": "error", "detail": f"{type(exc).__name__}: {str(exc)[:120]}"})
    return out


def natpmp_query(gateway: str, until: float, closed_before: float | None = None) -> GatewayAnswer:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect((gateway, upnp.NATPMP_PORT))
        wait = 0.25  # RFC 6886 §3.1: 250 ms, doubling
        end = min(until, time.monotonic() + (1.0 if closed_before is None else _RECALLED_WAIT_S))
        while time.monotonic() < end:
            try:
                s.send(upnp.NATPMP_REQUEST)
            except OSError as exc:
                return {"state": "error", "detail": exc.strerror or str(exc)}
            s.settimeout(max(0.01, min(wait, end - time.monotonic())))
            try:
                data = s.recv(1200)
            except TimeoutError:
                wait *= 2
                continue
            except (ConnectionRefusedError, ConnectionResetError):  # Windows says WSAECONNRESET
                return {"state": "closed"}  # ICMP port unreachable: no NAT-PMP there
            except OSError as exc:
                return {"state": "error", "detail": exc.strerror or str(exc)}
            resp = upnp.parse_natpmp(data)
            if resp is None:
                return {"state": "malformed"}
            if resp.address is None:
                return {"state": "error", "detail": f"result code {resp.result}"}
            return {"state": "ok", "external_ip": resp.address, "external_kind": R.address_kind(resp.address)}
        if closed_before is not None:
            return {"state": "silent", "detail": _recalled(closed_before)}
        return {"state": "silent"}
    except OSError as exc:
        return {"state": "error", "detail": exc.strerror or str(exc)}
    finally:
        s.close()


# ---------------------------------------------------------------------------
# What the gateway said a moment ago
# ---------------------------------------------------------------------------

#: A gateway without UPnP or NAT-PMP says so with ICMP port unreachable, which routers
#: rate-limit (Linux: a burst of 6 per peer, then 1/s). A run started right after another
#: finds them spent and would wait out the silence (1.2 s). Such a "closed" is remembered
#: this long, for this gateway on this network only, and a run that recalls it listens
#: only as long as a live gateway needs to answer (``_RECALLED_WAIT_S``): a real answer
#: still wins, and silence is still reported as silence, with what was heard before.
_MEMORY_S = 30.0
_RECALLED_WAIT_S = 0.1


def _recalled(when: float) -> str:
    return (f"no answer now; {max(0.0, time.time() - when):.0f} s ago the gateway answered port unreachable "
            "(its ICMP rate limit is likely spent by the run before)")


def _memory_file() -> Path | None:
    import os
    import sys
    from pathlib import Path

    base = os.environ.get("LOCALAPPDATA") if sys.platform == "win32" else (
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"))
    return Path(base, "clinicnet", "gateway-memory.json") if base else None


def _memory_key(gateway: str) -> str | None:
    """This gateway on this network: its address, the PC's address toward it and (Linux) the
    network namespace, hashed: the file holds no address."""
    import hashlib
    import os

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect((gateway, upnp.NATPMP_PORT))
            local = s.getsockname()[0]
    except OSError:
        return None
    try:
        netns = str(os.stat("/proc/self/ns/net").st_ino)
    except OSError:
        netns = ""
    return hashlib.sha256(f"{gateway}|{local}|{netns}".encode()).hexdigest()[:32]


def recall(gateway: str) -> dict[str, float]:
    """When (``time.time()``) UPnP and NAT-PMP last answered "closed" here, within ``_MEMORY_S``."""
    import json

    path, key = _memory_file(), _memory_key(gateway)
    if path is None or key is None:
        return {}
    try:
        entry = json.loads(path.read_text(encoding="utf-8")).get(key, {})
        now = time.time()
        return {k: float(v) for k, v in entry.items()
                if k in ("upnp", "natpmp") and isinstance(v, (int, float)) and 0 <= now - v <= _MEMORY_S}
    except (OSError, ValueError, AttributeError, TypeError):
        return {}


def remember(gateway: str, closed: Sequence[str]) -> None:
    """Note that ``closed`` (``upnp``, ``natpmp``) answered port unreachable just now."""
    import json
    import os
    import tempfile

    path, key = _memory_file(), _memory_key(gateway)
    if path is None or key is None or not closed:
        return
    try:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                data = {}
        except (OSError, ValueError):
            data = {}
        now = time.time()
        data = {k: v for k, v in data.items() if isinstance(v, dict)
                and any(isinstance(t, (int, float)) and now - t <= _MEMORY_S for t in v.values())}
        data[key] = {**data.get(key, {}), **{c: now for c in closed}}
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".gateway-memory-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)
    except OSError:
        pass  # a cache, never a reason to fail


def _why(out: Outcome[object]) -> str:
    return "no answer in time" if out.timed_out else f"{type(out.error).__name__}: {out.error}"[:160]


def _answer(out: Outcome[object] | None) -> GatewayAnswer:
    if out is None:
        return {"state": "skipped"}
    if out.value is not None:
        return cast(GatewayAnswer, out.value)
    return {"state": "silent" if out.timed_out else "error", "detail": _why(out)}


# ---------------------------------------------------------------------------
# Putting the evidence together
# ---------------------------------------------------------------------------


def layers_from(hops: list[Hop], gateway: str | None, wan: str | None,
                device: dict[str, str] | None) -> Layers:
    """NAT layers from the hops before the first public one and the gateway's WAN address."""
    layers: list[Layer] = []
    cgn: list[str] = []
    dslite: list[DsliteEvidence] = []
    for h in hops:
        kind = h.get("kind")
        if kind == "public" or h.get("destination"):
            break
        if kind == "private" and h["address"] not in [x["address"] for x in layers]:
            layers.append({"layer": len(layers) + 1, "address": h["address"], "evidence": "trace"})
        elif kind == "cgn" and h.get("address"):
            cgn.append(str(h["address"]))
        elif kind == "dslite":
            dslite.append({"source": "trace", "ttl": h.get("ttl"), "address": h["address"],
                           "meaning": "DS-Lite AFTR (softwire end) answered time-exceeded"})
    if gateway and device and layers and layers[0]["address"] == gateway:
        layers[0]["device"] = device
    if wan is not None:
        kind = R.address_kind(wan)
        if not layers and gateway:
            layers.append({"layer": 1, "address": gateway, "evidence": "upnp/nat-pmp", "wan": wan})
        elif layers:
            layers[0]["wan"] = wan
        if kind == "private" and len(layers) < 2:
            layers.append({"layer": 2, "address": None, "evidence": f"gateway WAN address {wan} is private"})
        elif kind == "cgn" and wan not in cgn:
            cgn.append(wan)
        elif kind == "dslite":
            dslite.append({"source": "gateway_wan", "address": wan,
                           "meaning": "the router's WAN IPv4 is a DS-Lite softwire address (B4)"})
    modem: Modem | None = None
    if len(layers) >= 2:
        outer = layers[-1]
        modem = {
            "layer": outer["layer"],
            "address": outer["address"],
            "basis": "the outermost private NAT layer, where a routing Wi-Fi cable modem sits in the usual set-up",
        }
    # Hops that stayed silent before the first public one may hide a NAT layer
    # (ICMP rate limits, routers that never answer): the count is then a lower bound.
    first_public = next((i for i, h in enumerate(hops) if h.get("kind") == "public" or h.get("destination")), len(hops))
    silent = [h["ttl"] for h in hops[:first_public] if h.get("kind") == "silent"]
    over_v6: OverIpv6 = {"detected": bool(dslite), "mechanism": "DS-Lite" if dslite else None, "evidence": dslite}
    return {"layers": layers, "private_layers": len(layers), "cgn": bool(cgn), "cgn_addresses": cgn,
            "modem_layer": modem, "nat_layers": len(layers) + (1 if cgn else 0) + (1 if dslite else 0),
            "count_is_lower_bound": bool(silent), "silent_hops": silent, "ipv4_over_ipv6": over_v6}


def probe(ctx: ProbeContext) -> ProbeResult:
    sw = Stopwatch(SPEC)
    gateway = default_gateway()
    dest_host = (ctx.reflectors or ctx.targets or (None,))[0]
    if gateway is None and dest_host is None:
        return sw.result(Status.SKIPPED, "nothing_to_ask")
    until = R.until(ctx, 2.5)
    # The trace and the gateway questions are independent: run them side by side, in
    # daemon threads (a thread pool's workers are joined at exit, after the report).
    from clinicnet.probes._deadline import run_all

    tr: Trace = {"destination": None, "hops": [], "skipped": "no reflector or target given"}
    calls: dict[str, Callable[[], object]] = {}
    from clinicnet.system import netpath

    if dest_host is not None and not icmp.errors_on_udp_socket and not netpath.echo_available:
        tr = {"destination": dest_host, "hops": [],
              "skipped": "this OS reports neither ICMP on UDP sockets nor TTL-limited echoes"}
    elif dest_host is not None:
        res = R.resolve(dest_host, ctx)
        if res.address is not None and not icmp.errors_on_udp_socket:  # Windows: ICMP echo (IcmpSendEcho2)
            calls["trace"] = functools.partial(trace_echo, res.address, max(0.0, until - time.monotonic()))
        elif res.address is not None:
            first = gateway if gateway and res.address != gateway and not on_link(res.address) else None
            calls["trace"] = functools.partial(trace, res.address, ctx, max(0.0, until - time.monotonic()), first)
        else:
            tr = {"destination": dest_host, "error": res.error, "hops": []}
    before = recall(gateway) if gateway else {}
    if gateway:
        calls["upnp"] = functools.partial(upnp_query, gateway, until, before.get("upnp"))
        calls["natpmp"] = functools.partial(natpmp_query, gateway, until, before.get("natpmp"))
    outs = dict(zip(calls, run_all(list(calls.values()), until + 0.1, name="nat-layers"), strict=True))
    if "trace" in outs:
        tr = cast(Trace, outs["trace"].value) if outs["trace"].value is not None else {
            "destination": dest_host, "hops": [], "error": _why(outs["trace"])}
    igd = _answer(outs.get("upnp"))
    pmp = _answer(outs.get("natpmp"))
    if gateway:
        remember(gateway, [k for k, a in (("upnp", igd), ("natpmp", pmp)) if a.get("state") == "closed"])
    wan = igd.get("external_ip") or pmp.get("external_ip")
    hops = tr.get("hops", [])
    values: Values = {
        "gateway": gateway,
        "trace": tr,
        "upnp": igd,
        "natpmp": pmp,
        "gateway_wan": wan,
        "gateway_wan_kind": R.address_kind(wan) if wan else None,
        **layers_from(hops, gateway, wan, igd.get("device")),
    }
    heard = any(h.get("address") for h in hops) or wan is not None
    if not heard:
        return sw.result(Status.ERROR, "silent", values)
    hostile = [k for k, a in (("upnp", igd), ("natpmp", pmp)) if a.get("state") in ("refused", "malformed")]
    flags = {
        "cgn": values["cgn"],
        "dslite": values["ipv4_over_ipv6"]["detected"],
        "lower_bound": values["count_is_lower_bound"],
        "hostile": bool(hostile),
    }
    code = "+".join(["layers", *(k for k in _REASON_PARTS if flags[k])])
    return sw.result(
        Status.OK, code, values,
        private=values["private_layers"],
        hops=", ".join(str(t) for t in values["silent_hops"]),
        hostile="/".join(hostile),
    )
