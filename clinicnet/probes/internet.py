"""General internet reachability: HTTP (or plain TCP) to connectivity-check endpoints,
IPv4 and IPv6 separately.

The defaults are the endpoints Windows (NCSI) and Android themselves use, so the
answer agrees with what the PC's own network indicator shows. An IP-literal check
(``http://203.0.113.80/`` or ``tcp://203.0.113.80:443``) proves IP connectivity
without DNS, which is how a DNS fault is told apart from a line fault.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from typing import TypedDict
from urllib.parse import urlsplit

from clinicnet import __version__
from clinicnet.model import ProbeResult, Status, Text
from clinicnet.netaddr import valid_hostname
from clinicnet.probes._deadline import resolve
from clinicnet.probes.interface import ProbeContext, ProbeSpec, Stopwatch


class FamilyCheck(TypedDict, total=False):
    #: reachable, refused, timeout, unreachable, bad_response, dns_failed, not_applicable
    state: str
    #: English detail from the OS or the exchange (raw evidence)
    detail: str
    ms: float
    address: str
    connect_ms: float
    http_status: int | None
    #: local clock minus the server's Date header
    clock_skew_s: float
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
    host_header = f"[{spec.host}]" if spec.literal_family == 6 else spec.host
    req = (
        f"GET {spec.path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: clinicnet/{__version__}\r\n"
        "Accept: */*\r\nConnection: close\r\n\r\n"
    ).encode("ascii", "replace")
    sock.sendall(req)
    data = b""
    while len(data) < _MAX_RESPONSE:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1", "replace")
    fields = status_line.split()
    if len(fields) < 2 or not fields[0].startswith("HTTP/") or not fields[1].isdigit():
        return {"http_status": None, "detail": f"not an HTTP response: {status_line[:60]!r}"}
    status = int(fields[1])
    result: FamilyCheck = {"http_status": status}
    skew = _clock_skew(head, received_at=time.time())
    if skew is not None:
        result["clock_skew_s"] = skew
    expected = _EXPECTED.get(spec.path)
    if expected is not None:
        exp_status, exp_body = expected
        result["captive_portal_suspected"] = status != exp_status or (
            exp_body is not None and not body.startswith(exp_body)
        )
    return result


def _clock_skew(head: bytes, received_at: float) -> float | None:
    """Local clock minus the server's ``Date`` header, in seconds (None without one).

    IKE with certificates (G11) fails when the PC's clock is far off; a web server's
    Date header is a clock reference that needs no extra protocol. Its resolution is
    one second, so only large offsets mean anything.
    """
    from email.utils import parsedate_to_datetime

    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() != b"date":
            continue
        try:
            server = parsedate_to_datetime(value.decode("latin-1").strip())
        except (TypeError, ValueError, IndexError):
            return None
        if server.tzinfo is None:
            return None
        return round(received_at - server.timestamp(), 1)
    return None


def check_family(spec: CheckSpec, family: int, deadline: float) -> FamilyCheck:
    t0 = time.monotonic()
    addrs, err = _resolve(spec, family, deadline - t0)
    if err == "n/a":
        return {"state": "not_applicable"}
    if err is not None:
        return {"state": "dns_failed", "detail": err, "ms": round((time.monotonic() - t0) * 1000, 1)}
    address = addrs[0]
    res: FamilyCheck = {"address": address}
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(max(0.05, deadline - time.monotonic()))
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
    res["ms"] = round((time.monotonic() - t0) * 1000, 1)
    return res


def run_check(spec: CheckSpec, deadline: float) -> Check:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        f4 = pool.submit(check_family, spec, socket.AF_INET, deadline)
        f6 = pool.submit(check_family, spec, socket.AF_INET6, deadline)
        r4, r6 = f4.result(), f6.result()
    return {"url": spec.url, "ip_literal": spec.literal_family is not None, "ipv4": r4, "ipv6": r6}


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


def probe(ctx: ProbeContext) -> ProbeResult:
    from concurrent.futures import ThreadPoolExecutor

    sw = Stopwatch(SPEC)
    urls = list(dict.fromkeys(ctx.internet_checks or DEFAULT_CHECKS))
    specs = [parse_check(u) for u in urls]
    deadline = ctx.deadline - 0.1
    with ThreadPoolExecutor(max_workers=min(8, len(specs))) as pool:
        checks = list(pool.map(lambda s: run_check(s, deadline), specs))
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
