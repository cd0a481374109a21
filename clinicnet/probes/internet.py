"""General internet reachability: HTTP (or plain TCP) to connectivity-check endpoints,
IPv4 and IPv6 separately.

The defaults are the endpoints Windows (NCSI) and Android themselves use, so the
answer agrees with what the PC's own network indicator shows. An IP-literal check
(``http://203.0.113.80/`` or ``tcp://203.0.113.80:443``) proves IP connectivity
without DNS, which is how a DNS fault is told apart from a line fault.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypedDict
from urllib.parse import urlsplit

from clinicnet import __version__
from clinicnet.model import ProbeResult, Status, Text
from clinicnet.netaddr import valid_hostname
from clinicnet.probes._deadline import Outcome, read_until, resolve, run_all
from clinicnet.probes.interface import ProbeContext, ProbeSpec, Stopwatch


class FamilyCheck(TypedDict, total=False):
    #: reachable, refused, timeout, unreachable, bad_response, dns_failed, not_applicable,
    #: error (the check itself failed on this PC)
    state: str
    #: English detail from the OS or the exchange (raw evidence)
    detail: str
    ms: float
    address: str
    connect_ms: float
    http_status: int | None
    #: local clock minus the server's Date header
    clock_skew_s: float
    #: connection attempts made (a new one every ``RETRY_EVERY_S`` while none answered)
    attempts: int
    captive_portal_suspected: bool


class Check(TypedDict):
    url: str
    ip_literal: bool
    ipv4: FamilyCheck
    ipv6: FamilyCheck


class Clock(TypedDict):
    #: median over every server that sent a Date header; None without one
    clock_skew_s: float | None
    clock_references: list[str]


class Values(Clock, total=False):
    checks: list[Check]
    ipv4_ok: bool
    ipv6_ok: bool
    any_ok: bool
    #: a check given as an IP literal answered: IP works without DNS
    ip_literal_ok: bool
    only_dns_failures: bool
    captive_portal_suspected: bool


SPEC = ProbeSpec(
    name="internet",
    order=60,
    title=Text(ja="インターネット接続", en="Internet reachability"),
    values=Values,
    options=("internet_checks",),
    reasons={
        "reachable_ipv4": Text(ja="インターネットに接続できます（IPv4）", en="internet reachable over IPv4"),
        "reachable_ipv6": Text(ja="インターネットに接続できます（IPv6）", en="internet reachable over IPv6"),
        "reachable_both": Text(
            ja="インターネットに接続できます（IPv4・IPv6）", en="internet reachable over IPv4 and IPv6"
        ),
        "dns_only": Text(
            ja="インターネットに接続できません: 確認先の名前を解決できませんでした",
            en="internet not reachable: names of the checks did not resolve",
        ),
        "unreachable": Text(
            ja="インターネットに接続できません: どの確認先からも応答がありませんでした",
            en="internet not reachable: no check endpoint answered",
        ),
    },
)

DEFAULT_CHECKS: tuple[str, ...] = (
    "http://www.msftconnecttest.com/connecttest.txt",  # Windows NCSI (IPv4)
    "http://ipv6.msftconnecttest.com/connecttest.txt",  # Windows NCSI (IPv6)
    "http://connectivitycheck.gstatic.com/generate_204",  # Android
)

#: what the well-known endpoints answer when no captive portal is in the way
_EXPECTED: dict[str, tuple[int, bytes | None]] = {
    "/connecttest.txt": (200, b"Microsoft Connect Test"),
    "/generate_204": (204, None),
}

_MAX_RESPONSE = 16384


@dataclass(frozen=True)
class CheckSpec:
    url: str
    scheme: str  # http, https or tcp
    host: str
    port: int
    path: str
    #: 4 or 6 when ``host`` is an IP literal, else None
    literal_family: int | None


def parse_check(url: str) -> CheckSpec:
    """Validate a check URL; ValueError with a human message when it is unusable."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https", "tcp"):
        raise ValueError(f"unsupported check URL {url!r}: use http://, https:// or tcp://HOST:PORT")
    host = parts.hostname
    if not host:
        raise ValueError(f"check URL {url!r} has no host")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"check URL {url!r} has an invalid port") from None
    if port is None:
        if scheme == "tcp":
            raise ValueError(f"check URL {url!r} needs a port (tcp://HOST:PORT)")
        port = 443 if scheme == "https" else 80
    literal: int | None = None
    try:
        literal = ipaddress.ip_address(host).version
    except ValueError:
        if not valid_hostname(host):
            raise ValueError(f"check URL {url!r} has an invalid host name {host!r}") from None
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return CheckSpec(url, scheme, host, port, path, literal)


def _resolve(spec: CheckSpec, family: int, timeout: float) -> tuple[list[str], str | None]:
    if spec.literal_family is not None:
        return ([spec.host], None) if spec.literal_family == (4 if family == socket.AF_INET else 6) else ([], "n/a")
    out = resolve(spec.host, timeout, family=family, port=spec.port)
    if out.timed_out:
        return [], "dns timeout"
    return list(out.addresses), None if out.addresses else f"dns: {out.why()}"


def _http_exchange(sock: socket.socket, spec: CheckSpec, deadline: float) -> FamilyCheck:
    """One GET under the absolute ``deadline``: a server that drips a byte at a time gets
    until the deadline, not a fresh timeout per byte; what arrived by then is judged."""
    from clinicnet.wire import http

    host_header = f"[{spec.host}]" if spec.literal_family == 6 else spec.host
    req = (
        f"GET {spec.path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: clinicnet/{__version__}\r\n"
        "Accept: */*\r\nConnection: close\r\n\r\n"
    ).encode("ascii", "replace")
    sock.settimeout(max(0.01, deadline - time.monotonic()))
    sock.sendall(req)
    data, ended = read_until(sock, deadline, _MAX_RESPONSE, http.complete)
    return judge_response(data, spec, received_at=time.time(), cut_short=ended == "deadline")


def judge_response(data: bytes, spec: CheckSpec, *, received_at: float, cut_short: bool = False) -> FamilyCheck:
    """What an answer to a check's GET says: status, clock, captive portal. Total: any bytes
    give a result (``http_status`` None for an answer that is not HTTP), never an exception."""
    from clinicnet.wire import http

    if not data and cut_short:
        raise TimeoutError  # nothing at all before the deadline: the check timed out
    parts = http.split(data)
    head = http.parse_head(parts[0] if parts else data)
    if head is None:
        first = data.split(b"\n", 1)[0][:60].decode("latin-1")
        return {"http_status": None, "detail": f"not an HTTP response: {first!r}"}
    result: FamilyCheck = {"http_status": head.status}
    if parts is None or cut_short:
        result["detail"] = "the answer was cut short at the deadline"
    server = http.date(head)
    if server is not None:
        skew = round(received_at - server, 1)
        if abs(skew) < 1e10:  # a Date of the year 9999 is not a clock reference either
            result["clock_skew_s"] = skew
    expected = _EXPECTED.get(spec.path)
    if expected is not None and parts is not None:
        exp_status, exp_body = expected
        body = http.body(head, parts[1])
        result["captive_portal_suspected"] = head.status != exp_status or (
            exp_body is not None and not body.startswith(exp_body)
        )
    return result


def _attempt(spec: CheckSpec, family: int, address: str, deadline: float) -> FamilyCheck:
    """One connection and (for http/https) one GET, all of it by ``deadline``."""
    res: FamilyCheck = {"address": address}
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            t_conn = time.monotonic()
            sock.connect((address, spec.port))
            res["connect_ms"] = round((time.monotonic() - t_conn) * 1000, 1)
            if spec.scheme == "tcp":
                res["state"] = "reachable"
            else:
                stream: socket.socket = sock
                if spec.scheme == "https":
                    import ssl  # lazily: ~10 ms, and only https checks need it

                    tls = ssl.create_default_context()
                    try:
                        # the handshake's timeout is one deadline for the whole handshake
                        sock.settimeout(max(0.01, deadline - time.monotonic()))
                        stream = tls.wrap_socket(sock, server_hostname=spec.host)
                    except ssl.SSLCertVerificationError as exc:
                        # A TLS answer at all proves reachability; a bad certificate
                        # usually means interception (captive portal, proxy).
                        res.update({"state": "reachable", "detail": f"TLS certificate not trusted: {exc.verify_message}"})
                        res["captive_portal_suspected"] = True
                        return res
                res.update(_http_exchange(stream, spec, deadline))
                res["state"] = "reachable" if res.get("http_status") else "bad_response"
    except TimeoutError:
        res.update({"state": "timeout", "detail": f"no answer from {address} port {spec.port}"})
    except ConnectionRefusedError:
        # A refusal (TCP RST) comes from the host or a firewall near it: the path works.
        res.update({"state": "refused", "detail": f"{address} port {spec.port} refused the connection"})
    except OSError as exc:
        res.update({"state": "unreachable", "detail": f"{exc.strerror or exc}"})
    return res


#: a new connection attempt starts this long after the previous one while none has
#: answered (TCP resends a lost SYN only after 1 s, then 3 s: on a lossy line a fresh
#: attempt beside the pending one is the quicker second chance)
RETRY_EVERY_S = 1.0
#: an attempt started later than this before the deadline could not finish anyway
_MIN_ATTEMPT_S = 0.3
#: how long before its check's deadline an attempt stops, to hand in its answer
_COLLECT_S = 0.05


def check_family(spec: CheckSpec, family: int, deadline: float) -> FamilyCheck:
    """The check over one family: attempts every ``RETRY_EVERY_S`` until one gets an answer
    (reachable, refused, a bad answer, an ICMP error); it times out only if all of them do."""
    import queue
    import threading

    t0 = time.monotonic()
    addrs, err = _resolve(spec, family, deadline - t0)
    if err == "n/a":
        return {"state": "not_applicable"}
    if err is not None:
        return {"state": "dns_failed", "detail": err, "ms": round((time.monotonic() - t0) * 1000, 1)}
    address = addrs[0]
    answers: queue.Queue[FamilyCheck] = queue.Queue()

    def attempt() -> None:
        # ends a little before the family's deadline, so its answer is still collected
        answers.put(_attempt(spec, family, address, deadline - _COLLECT_S))

    started = 0
    done = 0
    last: FamilyCheck = {"address": address, "state": "timeout", "detail": f"no answer from {address} port {spec.port}"}
    next_at = time.monotonic()
    while True:
        now = time.monotonic()
        if now >= next_at and deadline - now >= _MIN_ATTEMPT_S:
            threading.Thread(target=attempt, daemon=True, name="clinicnet-internet").start()
            started += 1
            next_at = now + RETRY_EVERY_S
        if done == started and (deadline - now < _MIN_ATTEMPT_S):
            break
        wake = min(deadline, next_at) if deadline - next_at >= _MIN_ATTEMPT_S else deadline
        try:
            res = answers.get(timeout=max(0.0, wake - time.monotonic()))
        except queue.Empty:
            if time.monotonic() >= deadline:
                break
            continue
        done += 1
        last = res
        if res.get("state") != "timeout":
            break
    last["attempts"] = started
    last["ms"] = round((time.monotonic() - t0) * 1000, 1)
    return last


def run_check(spec: CheckSpec, deadline: float) -> Check:
    r4, r6 = run_all([functools.partial(check_family, spec, socket.AF_INET, deadline),
                      functools.partial(check_family, spec, socket.AF_INET6, deadline)], deadline + 0.05,
                     name="clinicnet-internet")
    return {"url": spec.url, "ip_literal": spec.literal_family is not None,
            "ipv4": _family_outcome(r4, spec), "ipv6": _family_outcome(r6, spec)}


def _family_outcome(out: Outcome[FamilyCheck], spec: CheckSpec) -> FamilyCheck:
    if out.value is not None:
        return out.value
    if out.timed_out:
        return {"state": "timeout", "detail": f"no answer from {spec.host} port {spec.port} in time"}
    # A bug in the check of one family is that family's result, not the whole probe's.
    return {"state": "error", "detail": f"{type(out.error).__name__}: {out.error}"[:200]}


def _clock(checks: list[Check]) -> Clock:
    """The median skew over every server that sent a Date header: one wrong server
    clock (or an intercepting proxy) does not make the PC's clock look wrong."""
    samples = sorted(
        (c[f]["clock_skew_s"], c["url"]) for c in checks for f in ("ipv4", "ipv6") if "clock_skew_s" in c[f]
    )
    if not samples:
        return {"clock_skew_s": None, "clock_references": []}
    skew, _ = samples[len(samples) // 2]
    return {"clock_skew_s": skew, "clock_references": sorted({u for _, u in samples})}


def _reached(fam: FamilyCheck) -> bool:
    return fam.get("state") in ("reachable", "refused")


def _unfinished(spec: CheckSpec) -> Check:
    fam: FamilyCheck = {"state": "timeout", "detail": "the check did not finish in time"}
    return {"url": spec.url, "ip_literal": spec.literal_family is not None, "ipv4": fam, "ipv6": dict(fam)}  # type: ignore[typeddict-item]


def probe(ctx: ProbeContext) -> ProbeResult:
    sw = Stopwatch(SPEC)
    urls = list(dict.fromkeys(ctx.internet_checks or DEFAULT_CHECKS))
    specs = [parse_check(u) for u in urls]
    deadline = ctx.deadline - 0.1
    calls: list[Callable[[], Check]] = [functools.partial(run_check, s, deadline) for s in specs]
    outs = run_all(calls, deadline + 0.1, name="clinicnet-internet")
    checks = [o.value if o.value is not None else _unfinished(s) for o, s in zip(outs, specs, strict=True)]
    ipv4_ok = any(_reached(c["ipv4"]) for c in checks)
    ipv6_ok = any(_reached(c["ipv6"]) for c in checks)
    literal_ok = any(c["ip_literal"] and (_reached(c["ipv4"]) or _reached(c["ipv6"])) for c in checks)
    only_dns = all(
        c["ipv4"].get("state") in ("dns_failed", "not_applicable")
        and c["ipv6"].get("state") in ("dns_failed", "not_applicable")
        for c in checks
    )
    values: Values = {
        "checks": checks,
        "ipv4_ok": ipv4_ok,
        "ipv6_ok": ipv6_ok,
        "any_ok": ipv4_ok or ipv6_ok,
        "ip_literal_ok": literal_ok,
        "only_dns_failures": only_dns,
        "captive_portal_suspected": any(
            c[f].get("captive_portal_suspected") for c in checks for f in ("ipv4", "ipv6")
        ),
        **_clock(checks),
    }
    if ipv4_ok or ipv6_ok:
        code = "reachable_both" if ipv4_ok and ipv6_ok else ("reachable_ipv4" if ipv4_ok else "reachable_ipv6")
        return sw.result(Status.OK, code, values)
    return sw.result(Status.FAILED, "dns_only" if only_dns else "unreachable", values)
