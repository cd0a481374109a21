"""Rules on the IKE probes: can IKE reach the VPN gateway on UDP 500 and 4500?

"Answers otherwise" (findings.md) means an IKE answer on the other port or an ICMP
port-unreachable sent by the target itself: both prove the path to the host works
and only the IKE port is in trouble. Host/net unreachable, admin-prohibited and silence on
both ports mean the target is not reachable at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clinicnet.model import Finding, Severity
from clinicnet.reports.rules.interface import Evidence, finding, rule


def targets(ev: Evidence) -> list[Mapping[str, Any]]:
    return list(ev.values("ike").get("targets", []))


def _answers_otherwise(t: Mapping[str, Any], port: int) -> bool:
    other = "udp4500" if port == 500 else "udp500"
    if t.get(other) == "answered":
        return True
    return any(_port_unreachable_from_target(t, a) for a in t.get("attempts", []))


def _port_unreachable_from_target(t: Mapping[str, Any], a: Mapping[str, Any]) -> bool:
    """Port-unreachable proves the host is up only when the host itself sent it.

    A router or firewall on the way that rejects with port-unreachable says nothing
    about the gateway. Where the sender is unknown (Windows reports only an errno),
    it is taken to be the target, as it nearly always is.
    """
    if a.get("outcome") != "icmp_port_unreachable":
        return False
    sender = (a.get("icmp") or {}).get("from")
    return sender is None or sender == t.get("address")


def _unreachable(t: Mapping[str, Any]) -> bool:
    return t.get("udp500") != "answered" and t.get("udp4500") != "answered" and not _answers_otherwise(t, 500)


def _attempt_summary(t: Mapping[str, Any], port: int) -> list[dict[str, Any]]:
    return [
        {
            "ike_version": a.get("ike_version"),
            "source_port": a.get("source_port"),
            "outcome": a.get("outcome"),
            "sent": a.get("sent"),
            "detail": a.get("detail"),
        }
        for a in t.get("attempts", [])
        if a.get("port") == port
    ]


def nat_present(ev: Evidence) -> bool | None:
    """True/False when some measurement says so, None when nothing measured NAT."""
    seen: bool | None = None
    for t in targets(ev):
        nat = t.get("nat") or {}
        if nat.get("measured"):
            if nat.get("local_behind_nat"):
                return True
            seen = False
    return seen


@rule("ike.unreachable", "G1")
def ike_unreachable(ev: Evidence) -> Finding | None:
    bad = [t for t in targets(ev) if _unreachable(t)]
    if not bad:
        return None
    return finding(
        "ike.unreachable",
        Severity.ERROR,
        targets=[
            {
                "target": t.get("target"),
                "address": t.get("address"),
                "resolve_error": t.get("resolve_error"),
                "icmp": t.get("icmp"),
                "udp500": t.get("udp500"),
                "udp4500": t.get("udp4500"),
                "attempts": _attempt_summary(t, 500) + _attempt_summary(t, 4500),
            }
            for t in bad
        ],
    )


@rule("ike.udp500.blocked", "G1")
def ike_udp500_blocked(ev: Evidence) -> Finding | None:
    bad = [t for t in targets(ev) if t.get("udp500") != "answered" and _answers_otherwise(t, 500)]
    if not bad:
        return None
    return finding(
        "ike.udp500.blocked",
        Severity.ERROR,
        targets=[
            {"target": t.get("target"), "address": t.get("address"), "udp500": t.get("udp500"),
             "udp4500": t.get("udp4500"), "attempts": _attempt_summary(t, 500)}
            for t in bad
        ],
    )


@rule("ike.udp4500.blocked", "G1", "G7")
def ike_udp4500_blocked(ev: Evidence) -> Finding | None:
    bad = [t for t in targets(ev) if t.get("udp4500") != "answered" and _answers_otherwise(t, 4500)]
    if not bad:
        return None
    nat = nat_present(ev)
    return finding(
        "ike.udp4500.blocked",
        Severity.ERROR if nat else Severity.WARNING,
        nat_present=nat,
        targets=[
            {"target": t.get("target"), "address": t.get("address"), "udp500": t.get("udp500"),
             "udp4500": t.get("udp4500"), "attempts": _attempt_summary(t, 4500)}
            for t in bad
        ],
    )


@rule("nat.present", "G7")
def nat_present_rule(ev: Evidence) -> Finding | None:
    hits = [t for t in targets(ev) if (t.get("nat") or {}).get("local_behind_nat")]
    if not hits:
        return None
    return finding(
        "nat.present",
        Severity.INFO,
        method="IKEv2 NAT_DETECTION payloads",
        targets=[
            {"target": t.get("target"), "address": t.get("address"), "nat": t.get("nat")} for t in hits
        ],
    )
