"""Readings of the probe results that several findings share.

IKE: "answers otherwise" (findings.md) means an IKE answer on the other port or
an ICMP port-unreachable sent by the target itself: both prove the path to the
host works and only the IKE port is in trouble. Host/net unreachable,
admin-prohibited and silence on both ports mean the target is not reachable at all.

NAT presence is taken from every probe that can see it (the reflector's view of
the source address in ``esp`` and ``nat_mapping``, IKE's NAT detection, the
private hops of ``nat_layers``), because severities change with it: with NAT,
NAT-T carries IKE and ESP inside UDP 4500.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clinicnet.reports.findings.interface import Evidence

# --- IKE ------------------------------------------------------------------------------


def ike_targets(ev: Evidence) -> list[Mapping[str, Any]]:
    return list(ev.values("ike").get("targets", []))


def answers_otherwise(t: Mapping[str, Any], port: int) -> bool:
    """The target answered IKE on the other port, or itself refused ``port``."""
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


def attempt_summary(t: Mapping[str, Any], port: int) -> list[dict[str, Any]]:
    """The IKE attempts on ``port``, reduced to what a technician reads as evidence."""
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


def ike_answered_any(ev: Evidence) -> bool:
    """Some VPN gateway answered IKE: IP to the outside works whatever DNS says."""
    return any(t.get("udp500") == "answered" or t.get("udp4500") == "answered" for t in ike_targets(ev))


def ike_nat_seen(ev: Evidence) -> bool | None:
    """IKE's NAT detection alone: True/False when some target measured it, None when none did."""
    seen: bool | None = None
    for t in ike_targets(ev):
        nat = t.get("nat") or {}
        if nat.get("measured"):
            if nat.get("local_behind_nat"):
                return True
            seen = False
    return seen


# --- NAT from every probe ---------------------------------------------------------------


def nat_seen(ev: Evidence) -> bool | None:
    """True if any probe saw NAT, False if some measured and none did, None if none measured."""
    seen: list[bool] = []
    mapping = ev.values("nat_mapping").get("nat_present")
    if mapping is not None:
        seen.append(bool(mapping))
    # esp is "skipped" without privileges, yet its ESP-in-UDP half still saw the NAT
    esp = ev.result("esp")
    if esp is not None and esp.status.value != "error" and esp.values.get("nat_present") is not None:
        seen.append(bool(esp.values["nat_present"]))
    via_ike = ike_nat_seen(ev)
    if via_ike is not None:
        seen.append(via_ike)
    layers = ev.values("nat_layers")
    if layers.get("private_layers") or layers.get("cgn") or (layers.get("ipv4_over_ipv6") or {}).get("detected"):
        seen.append(True)  # a DS-Lite AFTR always does NAT44
    if not seen:
        return None
    return any(seen)


# --- the PC itself ----------------------------------------------------------------------


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


def vpn_up(ev: Evidence) -> bool:
    return bool(ev.values("vpn").get("vpn_up"))
