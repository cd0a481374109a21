"""Readings of the probe results that several findings share.

IKE: "answers otherwise" (findings.md) means an IKE answer on the other port or
an ICMP port-unreachable sent by the target itself: both prove the path to the
host works and only the IKE port is in trouble. Host/net unreachable,
admin-prohibited and silence on both ports mean the target is not reachable at all.

NAT: one combined view (``nat_view``) for every rule that depends on NAT, as
findings.md defines ``nat.present``: IKE's NAT detection, the reflector (``esp``,
``nat_mapping``) or the trace (``nat_layers``) seeing a NAT. Severities change with
it (with NAT, NAT-T carries IKE and ESP inside UDP 4500), so the NAT-dependent rules
and the verdict read the same view and show the same per-source evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from clinicnet.probes import ike as ike_probe
from clinicnet.probes import interfaces as interfaces_probe
from clinicnet.probes import nat_layers as nat_layers_probe
from clinicnet.probes import nat_mapping as nat_mapping_probe
from clinicnet.probes import routes as routes_probe
from clinicnet.probes import vpn as vpn_probe
from clinicnet.reports.findings.interface import Evidence

# --- IKE ------------------------------------------------------------------------------


def ike_targets(ev: Evidence) -> list[Mapping[str, Any]]:
    return list(ev.of(ike_probe.SPEC).get("targets", []))


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


# --- NAT: one view from every probe ----------------------------------------------------

#: how disagreeing sources are settled, said in the evidence of every rule that uses the view
NAT_RULE = (
    "a NAT any source saw is a NAT: a NAT may translate only some traffic (e.g. toward the reflector "
    "but not toward the gateway), and a gateway may fake NAT detection (strongSwan's kernel-libipsec "
    "forces UDP encapsulation); either way IKE and ESP then need NAT-T on UDP 4500"
)


@dataclass(frozen=True)
class NatSource:
    """What one kind of measurement said about NAT between this PC and the internet."""

    #: ``ike`` (NAT detection in IKE), ``reflector`` (the address the reflector saw, from the
    #: ``nat_mapping`` and ``esp`` probes) or ``nat_layers`` (the trace and the router's UPnP/NAT-PMP)
    source: str
    #: True: a NAT; False: measured and no NAT; None: not measured, or nothing to say either way
    nat: bool | None
    #: ``nat``, ``no_nat``, ``not_measured``, or ``no_nat_seen`` (the trace: private hops prove a
    #: NAT, their absence proves nothing, a router may not answer or may answer from its WAN side)
    said: str
    evidence: Mapping[str, Any] = field(default_factory=dict)

    def as_evidence(self) -> dict[str, Any]:
        return {"said": self.said, **self.evidence}


@dataclass(frozen=True)
class NatView:
    """NAT on the path as every source saw it, settled by ``NAT_RULE``."""

    #: True: some source saw a NAT; False: some source measured none and none saw one; None: unknown
    present: bool | None
    sources: tuple[NatSource, ...]

    @property
    def seen_by(self) -> list[str]:
        return [s.source for s in self.sources if s.nat is True]

    @property
    def denied_by(self) -> list[str]:
        return [s.source for s in self.sources if s.nat is False]

    @property
    def disagreement(self) -> str | None:
        """One sentence when sources disagree, else None: a technician must see both sides."""
        if not (self.seen_by and self.denied_by):
            return None
        return (f"{' and '.join(self.seen_by)} saw a NAT, {' and '.join(self.denied_by)} saw none; "
                f"taken as NAT ({NAT_RULE})")

    def evidence(self) -> dict[str, Any]:
        """The view as finding evidence: the result, who saw what, and how a disagreement was settled."""
        out: dict[str, Any] = {"present": self.present, "seen_by": self.seen_by,
                               "sources": {s.source: s.as_evidence() for s in self.sources}}
        if self.disagreement:
            out["disagreement"] = self.disagreement
        return out


def nat_view(ev: Evidence) -> NatView:
    """The one NAT view: IKE, the reflector and the trace, each with its evidence.

    A NAT any source saw is a NAT (``NAT_RULE``); "no NAT" needs a source that measured
    the translation itself (IKE's NAT detection or the reflector's view of the source
    address) and none that saw one; otherwise NAT is unknown (None), and rules and the
    verdict must say so rather than assume either.
    """
    sources = (_nat_by_ike(ev), _nat_by_reflector(ev), _nat_by_trace(ev))
    said = [s.nat for s in sources if s.nat is not None]
    return NatView(present=any(said) if said else None, sources=sources)


def _said(nat: bool | None) -> str:
    return {True: "nat", False: "no_nat", None: "not_measured"}[nat]


def _nat_by_ike(ev: Evidence) -> NatSource:
    """NAT detection in IKE (IKEv2 NAT_DETECTION notifies, IKEv1 NAT-D in Main Mode 3/4).

    A gateway that answers without them (NO_PROPOSAL_CHOSEN, IKEv1 Main Mode 1/2
    only) leaves the target "not measured", never "no NAT".
    """
    rows: list[dict[str, Any]] = []
    verdicts: list[bool] = []
    for t in ike_targets(ev):
        nat = t.get("nat") or {}
        measured = bool(nat.get("measured"))
        rows.append({"target": t.get("target"), "address": t.get("address"), "measured": measured,
                     "method": nat.get("method"), "local_behind_nat": nat.get("local_behind_nat"),
                     "remote_behind_nat": nat.get("remote_behind_nat")})
        if measured and nat.get("local_behind_nat") is not None:
            verdicts.append(bool(nat["local_behind_nat"]))
    result = any(verdicts) if verdicts else None
    return NatSource("ike", result, _said(result), {"targets": rows} if rows else {})


def _nat_by_reflector(ev: Evidence) -> NatSource:
    """The reflector's view of this PC's source address against the PC's own.

    ``esp`` is "skipped" without raw-socket rights (or "error" when raw ESP could
    not be sent), yet its IKE-shaped and ESP-in-UDP exchanges still showed the
    reflector our address: its ``nat_present`` counts whenever the probe set it.
    """
    rows: list[dict[str, Any]] = []
    verdicts: list[bool] = []
    mapping = ev.of(nat_mapping_probe.SPEC)
    if mapping.get("nat_present") is not None:
        verdicts.append(bool(mapping["nat_present"]))
        rows.append({"probe": "nat_mapping", "nat": bool(mapping["nat_present"]),
                     "local_address": mapping.get("local_address"),
                     "observed_address": mapping.get("public_address")})
    esp = ev.result("esp")
    if esp is not None and esp.values.get("nat_present") is not None:
        verdicts.append(bool(esp.values["nat_present"]))
        for r in esp.values.get("reflectors") or []:
            if r.get("nat") is not None:
                rows.append({"probe": "esp", "nat": bool(r["nat"]), "local_address": r.get("local_address"),
                             "observed_address": r.get("observed_address")})
    result = any(verdicts) if verdicts else None
    return NatSource("reflector", result, _said(result), {"observations": rows} if rows else {})


def _nat_by_trace(ev: Evidence) -> NatSource:
    """Private NAT layers, carrier-grade NAT or a DS-Lite AFTR on the way out (``nat_layers``).

    Only positive: a private hop (or the router's private WAN address) is a NAT layer,
    but seeing none proves nothing (``no_nat_seen``).
    """
    layers = ev.of(nat_layers_probe.SPEC)
    if not layers:
        return NatSource("nat_layers", None, "not_measured")
    dslite = bool((layers.get("ipv4_over_ipv6") or {}).get("detected"))  # a DS-Lite AFTR always does NAT44
    evidence = {"private_layers": layers.get("private_layers") or 0, "cgn": bool(layers.get("cgn")),
                "ipv4_over_ipv6": dslite,
                "layers": [{"layer": x.get("layer"), "address": x.get("address"), "evidence": x.get("evidence")}
                           for x in layers.get("layers") or []]}
    if layers.get("count_is_lower_bound"):
        evidence["silent_hops"] = layers.get("silent_hops")
    if evidence["private_layers"] or evidence["cgn"] or dslite:
        return NatSource("nat_layers", True, "nat", evidence)
    return NatSource("nat_layers", None, "no_nat_seen", evidence)


# --- the PC itself ----------------------------------------------------------------------


def physical_uplinks(ev: Evidence) -> list[interfaces_probe.Interface]:
    """Interfaces that carry (or would carry, under a VPN) the PC's traffic.

    The default route's interface if it is physical; under a VPN the tunnel carries
    the default route, so fall back to the up, addressed, non-tunnel interfaces.
    """
    ifaces = {i["name"]: i for i in ev.of(interfaces_probe.SPEC).get("interfaces", [])}
    routes = ev.of(routes_probe.SPEC)
    names = [r["interface"] for r in routes.get("default_v4", []) + routes.get("default_v6", [])]
    picked = [ifaces[n] for n in dict.fromkeys(names) if n in ifaces and ifaces[n]["kind"] in ("wired", "wifi")]
    if picked:
        return picked[:1]
    return [
        i for i in ifaces.values() if i["up"] and i["kind"] in ("wired", "wifi") and (i["ipv4"] or i["ipv6"])
    ]


def vpn_up(ev: Evidence) -> bool:
    return bool(ev.of(vpn_probe.SPEC).get("vpn_up"))
