"""Rules on the PC's own network: addresses, routes, VPN state, DNS, internet, link."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clinicnet.model import Finding, Severity
from clinicnet.reports.rules import ike
from clinicnet.reports.rules.interface import Evidence, finding, rule

#: G7: 100 Mbps class recommended
SLOW_LINK_MBPS = 100
#: certificate checks tolerate little; Kerberos-style 5 minutes is the usual limit
CLOCK_SKEW_LIMIT_S = 300


def physical_uplinks(ev: Evidence) -> list[Mapping[str, Any]]:
    """Interfaces that carry (or would carry, under a VPN) the PC's traffic.

    The default route's interface if it is physical; under a VPN the tunnel carries
    the default route, so fall back to the up, addressed, non-tunnel interfaces.
    """
    ifaces = {i["name"]: i for i in ev.values("interfaces").get("interfaces", [])}
    routes = ev.values("routes")
    names = [r["interface"] for r in routes.get("default_v4", []) + routes.get("default_v6", [])]
    picked = [ifaces[n] for n in dict.fromkeys(names) if n in ifaces and ifaces[n]["kind"] in ("wired", "wifi")]
    if picked:
        return picked[:1]
    return [
        i for i in ifaces.values() if i["up"] and i["kind"] in ("wired", "wifi") and (i["ipv4"] or i["ipv6"])
    ]


def ike_answered_any(ev: Evidence) -> bool:
    return any(t.get("udp500") == "answered" or t.get("udp4500") == "answered" for t in ike.targets(ev))


def vpn_up(ev: Evidence) -> bool:
    return bool(ev.values("vpn").get("vpn_up"))


@rule("ipv4.missing", "G8")
def ipv4_missing(ev: Evidence) -> Finding | None:
    if not ev.measured("interfaces"):
        return None
    ifs = ev.values("interfaces")
    routes = ev.values("routes")
    inet = ev.values("internet")
    no_addr = not ifs.get("has_ipv4")
    no_route = ev.measured("routes") and not routes.get("default_v4")
    v6_only_internet = bool(inet) and not inet.get("ipv4_ok") and inet.get("ipv6_ok")
    if no_addr or (no_route and routes.get("default_v6")) or v6_only_internet:
        return finding(
            "ipv4.missing",
            Severity.ERROR,
            has_ipv4_address=bool(ifs.get("has_ipv4")),
            ipv4_default_route=bool(routes.get("default_v4")),
            internet_ipv4=inet.get("ipv4_ok"),
            internet_ipv6=inet.get("ipv6_ok"),
        )
    return None


@rule("ipv6.present", "G8")
def ipv6_present(ev: Evidence) -> Finding | None:
    ifs = ev.values("interfaces")
    routes = ev.values("routes")
    if ifs.get("has_global_ipv6") or routes.get("default_v6"):
        addrs = [
            a["address"]
            for i in ifs.get("interfaces", [])
            for a in i.get("ipv6", [])
            if a.get("scope") in ("global", "ula")
        ]
        return finding(
            "ipv6.present",
            Severity.INFO,
            ipv6_addresses=addrs,
            ipv6_default_route=bool(routes.get("default_v6")),
            internet_ipv6=ev.values("internet").get("ipv6_ok"),
        )
    return None


@rule("vpn.up_internet_down", "G4")
def vpn_up_internet_down(ev: Evidence) -> Finding | None:
    inet = ev.values("internet")
    if vpn_up(ev) and ev.measured("internet") and not inet.get("any_ok"):
        v = ev.values("vpn")
        return finding(
            "vpn.up_internet_down",
            Severity.INFO,
            tunnel_interfaces=[t["name"] for t in v.get("tunnel_interfaces", []) if t.get("up")],
            default_via_tunnel=v.get("default_via_tunnel"),
            vpn_processes=[p["process"] for p in v.get("processes", [])],
            failed_checks=[c["url"] for c in inet.get("checks", [])],
        )
    return None


@rule("internet.down", "G6")
def internet_down(ev: Evidence) -> Finding | None:
    inet = ev.values("internet")
    if not ev.measured("internet") or not ev.measured("vpn") or inet.get("any_ok") or vpn_up(ev):
        return None
    if inet.get("only_dns_failures") and (ike_answered_any(ev)):
        return None  # IP works (the gateway answered): this is dns.failed, not a line fault
    return finding(
        "internet.down",
        Severity.ERROR,
        checks={
            c["url"]: {fam: c[fam].get("state") for fam in ("ipv4", "ipv6")} for c in inet.get("checks", [])
        },
        default_route=bool(ev.values("routes").get("default_v4") or ev.values("routes").get("default_v6")),
    )


@rule("dns.failed")
def dns_failed(ev: Evidence) -> Finding | None:
    dns = ev.values("dns")
    inet = ev.values("internet")
    if not ev.measured("dns") or dns.get("all_resolved"):
        return None
    if vpn_up(ev) and not inet.get("any_ok"):
        return None  # under a VPN the resolver is often behind the tunnel: by design (G4)
    ip_works = bool(inet.get("ip_literal_ok")) or ike_answered_any(ev)
    if not ip_works:
        return None  # cannot tell a DNS fault from a line fault: internet.down says it
    failed = [n for n in dns.get("names", []) if not n.get("resolved")]
    return finding(
        "dns.failed",
        Severity.ERROR,
        names={n["name"]: n["ipv4"].get("error") for n in failed},
        resolvers=dns.get("resolvers", []),
        ip_connectivity="IP-literal check answered" if inet.get("ip_literal_ok") else "VPN gateway answered IKE",
    )


@rule("link.slow", "G7")
def link_slow(ev: Evidence) -> Finding | None:
    slow = [
        {"interface": i["name"], "kind": i["kind"], "speed_mbps": i["speed_mbps"]}
        for i in physical_uplinks(ev)
        if i.get("speed_mbps") and i["speed_mbps"] < SLOW_LINK_MBPS
    ]
    if slow:
        return finding("link.slow", Severity.WARNING, links=slow, recommended_mbps=SLOW_LINK_MBPS)
    return None


@rule("wifi.client", "G9")
def wifi_client(ev: Evidence) -> Finding | None:
    wifi = [i["name"] for i in physical_uplinks(ev) if i["kind"] == "wifi"]
    if wifi:
        return finding("wifi.client", Severity.INFO, interfaces=wifi)
    return None


#: words in a probe's skip reason that mean "skipped for want of rights or raw sockets"
_RAW_SKIP_WORDS = ("privilege", "administrator", "raw socket", "raw-packet", "npcap")


@rule("privileges.limited")
def privileges_limited(ev: Evidence) -> Finding | None:
    p = ev.values("privileges")
    # Administrator without raw sockets counts too: on Windows the raw probes also
    # need Npcap, and the technician must learn which probes that cost.
    if p and (not p.get("admin") or p.get("raw_sockets") is False):
        skipped = [
            r.name for r in ev.all()
            if r.status.value == "skipped" and any(w in r.reason.lower() for w in _RAW_SKIP_WORDS)
        ]
        return finding(
            "privileges.limited",
            Severity.INFO,
            platform=p.get("platform"),
            raw_sockets=p.get("raw_sockets_reason"),
            skipped_probes=skipped,
        )
    return None


@rule("clock.skew", "G11")
def clock_skew(ev: Evidence) -> Finding | None:
    inet = ev.values("internet")
    skew = inet.get("clock_skew_s")
    if skew is None or abs(skew) <= CLOCK_SKEW_LIMIT_S:
        return None
    return finding(
        "clock.skew",
        Severity.WARNING,
        skew_seconds=skew,
        pc_clock="ahead" if skew > 0 else "behind",
        limit_seconds=CLOCK_SKEW_LIMIT_S,
        references=inet.get("clock_references", []),
    )
