"""Hand-built Reports for renderer and redaction tests.

``sample_report()`` looks like a real run on a clinic PC behind a double NAT with
UDP 500 filtered: several findings of each severity, probes of every status,
Japanese text in values, and planted identifying data (``PLANTED``) that
redaction must remove. One evidence value carries ``<script>`` to prove escaping.
"""

from __future__ import annotations

from typing import Any

from clinicnet.model import Finding, ProbeResult, Severity, Status, Unmeasured, Verdict
from clinicnet.reports.report import Report

HOSTNAME = "UKETSUKE-PC01"
MAC_PC = "3C-52-82-1A-2B-3C"
MAC_ROUTER = "a4:12:42:9f:00:11"
V4_PC = "192.168.11.23"
V4_ROUTER = "192.168.11.1"
V4_WAN = "10.10.0.2"
V4_CGN = "100.72.14.9"
V4_PUBLIC = "198.51.100.77"
V4_TARGET = "203.0.113.45"
V6_GLOBAL = "2001:db8:4a2:100::23"
V6_ULA = "fd12:3456:789a::23"
V6_LL = "fe80::3e52:82ff:fe1a:2b3c"
TARGET_NAME = "vpn-gw.iryo-provider.jp"
REFLECTOR_NAME = "reflector.clinicnet-test.net"
CLINIC_DOMAIN = "tanaka-clinic.local"
VENDOR_ID = "4048b7d56ebce88525e7de7f00d6c2d3"
SPI = "0xc3a1f00d"
SCRIPT = "<script>alert(1)</script>"

#: everything that must not survive redaction
PLANTED = (
    HOSTNAME,
    MAC_PC,
    MAC_ROUTER,
    MAC_PC.lower().replace("-", ":"),
    V4_PC,
    V4_ROUTER,
    V4_WAN,
    V4_CGN,
    V4_PUBLIC,
    V4_TARGET,
    V6_GLOBAL,
    V6_ULA,
    V6_LL,
    TARGET_NAME,
    REFLECTOR_NAME,
    CLINIC_DOMAIN,
)


def probe(name: str, status: Status, reason: str, duration: float = 0.05, **values: Any) -> ProbeResult:
    return ProbeResult(
        name=name,
        status=status,
        reason=reason,
        values=values,
        duration_s=duration,
        started_at="2026-11-25T09:12:03+0900",
    )


def sample_probes() -> tuple[ProbeResult, ...]:
    return (
        probe("privileges", Status.OK, "running as administrator", 0.001, admin=True, platform="Windows"),
        probe(
            "interfaces",
            Status.OK,
            f"1 wired interface up with IPv4 {V4_PC}",
            0.02,
            interfaces=[
                {
                    "name": "イーサネット",
                    "kind": "wired",
                    "up": True,
                    "speed_mbps": 10,
                    "mtu": 1500,
                    "mac": MAC_PC,
                    "ipv4": [{"address": V4_PC, "netmask": "255.255.255.0"}],
                    "ipv6": [
                        {"address": V6_GLOBAL, "scope": "global"},
                        {"address": V6_ULA, "scope": "ula"},
                        {"address": f"{V6_LL}%12", "scope": "link"},
                    ],
                }
            ],
            has_ipv4=True,
            has_global_ipv6=True,
            dns_suffix=CLINIC_DOMAIN,
        ),
        probe(
            "routes",
            Status.OK,
            f"default route via {V4_ROUTER}",
            0.01,
            default_v4=[{"interface": "イーサネット", "gateway": V4_ROUTER, "metric": 25}],
            default_v6=[{"interface": "イーサネット", "gateway": "fe80::1%12", "metric": 256}],
        ),
        probe("vpn", Status.OK, "no VPN connected", 0.03, vpn_up=False, tunnel_interfaces=[]),
        probe(
            "dns",
            Status.OK,
            "all names resolved",
            0.12,
            resolvers=[V4_ROUTER, "8.8.8.8"],
            names=[{"name": TARGET_NAME, "resolved": True, "ipv4": {"addresses": [V4_TARGET]}}],
        ),
        probe(
            "internet",
            Status.OK,
            "http://www.msftconnecttest.com/connecttest.txt answered over IPv4",
            0.31,
            checks=[{"url": "http://www.msftconnecttest.com/connecttest.txt", "ipv4": {"state": "reachable"}}],
            any_ok=True,
        ),
        probe(
            "ike",
            Status.FAILED,
            f"{TARGET_NAME} ({V4_TARGET}): no answer on UDP 500; UDP 4500 answered",
            5.01,
            targets=[
                {
                    "target": TARGET_NAME,
                    "address": V4_TARGET,
                    "udp500": "silent",
                    "udp4500": "answered",
                    "vendor_ids": [VENDOR_ID],
                    "responder_spi": SPI,
                    "nat": {"local_behind_nat": True, "method": "ikev2-natd"},
                    "detail": f"IKE_SA_INIT from {V4_PC}:500 to {V4_TARGET}:500 at 09:12:04",
                }
            ],
        ),
        probe(
            "esp",
            Status.SKIPPED,
            "raw sockets need administrator rights",
            0.0,
        ),
        probe(
            "nat_layers",
            Status.OK,
            "2 NAT layers",
            1.2,
            layers=2,
            hops=[V4_ROUTER, V4_WAN, V4_CGN],
            seen_by_reflector=V4_PUBLIC,
            reflector=f"{REFLECTOR_NAME}:7000",
        ),
        probe(
            "upnp",
            Status.ERROR,
            f"deadline exceeded talking to http://{V4_ROUTER}:2869/desc.xml",
            5.0,
            router_mac=MAC_ROUTER,
            friendly_name="Buffalo WXR-1750DHP2 ルーター",
        ),
        probe("clock", Status.OK, "clock within 3 s of HTTP Date", 0.2, offset_s=2.8, ntp_version="4.2.8"),
        probe("future_probe", Status.OK, "a probe this version has no display name for", 0.0),
    )


def sample_findings() -> tuple[Finding, ...]:
    return (
        Finding(
            "ike.udp500.blocked",
            Severity.ERROR,
            {"target": TARGET_NAME, "address": V4_TARGET, "udp500": "silent", "udp4500": "answered"},
        ),
        Finding("nat.double", Severity.WARNING, {"layers": 2, "hops": [V4_ROUTER, V4_WAN], "note": SCRIPT}),
        Finding("link.slow", Severity.WARNING, {"links": [{"interface": "イーサネット", "speed_mbps": 10}]}),
        Finding("nat.cgn", Severity.INFO, {"cgn_address": V4_CGN}),
        Finding("ipv6.present", Severity.INFO, {"ipv6_addresses": [V6_GLOBAL, V6_ULA]}),
        Finding("nat.present", Severity.INFO, {"method": "ikev2-natd", "seen_by_reflector": V4_PUBLIC}),
    )


def sample_report(**override: Any) -> Report:
    fields: dict[str, Any] = dict(
        created_at="2026-11-25T09:12:03+0900",
        host={"hostname": HOSTNAME, "os": "Windows 10", "os_version": "10.0.19045", "python": "3.11.7"},
        settings={
            "targets": [TARGET_NAME],
            "reflectors": [f"{REFLECTOR_NAME}:7000"],
            "internet_checks": ["http://www.msftconnecttest.com/connecttest.txt", f"tcp://{V4_TARGET}:443"],
            "dns_names": [TARGET_NAME, "www.msftconnecttest.com"],
            "timeout": 5.0,
            "lang": "ja",
        },
        verdict=Verdict.NOT_READY,
        findings=sample_findings(),
        unmeasured=(
            Unmeasured("esp", "管理者権限がないため ESP を送信できませんでした"),
            Unmeasured("upnp", f"probe error: deadline exceeded ({V4_ROUTER})"),
        ),
        probes=sample_probes(),
        extra={"wall_s": 5.4, "note": f"run on {HOSTNAME}.{CLINIC_DOMAIN}"},
    )
    fields.update(override)
    return Report(**fields)


def empty_report(verdict: Verdict = Verdict.READY) -> Report:
    """No findings, nothing unmeasured, no probes: the renderers' edge case."""
    return Report(
        created_at="2026-11-25T09:00:00+0900",
        host={},
        settings={},
        verdict=verdict,
        findings=(),
        unmeasured=(),
        probes=(),
    )


def unknown_finding_report() -> Report:
    """A result from a newer clinicnet with an id this version does not know."""
    return sample_report(findings=(Finding("ike.future_thing", Severity.WARNING, {"x": 1}),))
