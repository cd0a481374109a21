"""Rules on what the reflector and the NAT-layer probe measured: ESP, NAT mapping,
NAT layers, fragments and path MTU.

NAT presence is taken from every probe that can see it (the reflector's view of
the source address in ``esp`` and ``nat_mapping``, IKE's NAT detection, the
private hops of ``nat_layers``), because ``esp.blocked`` changes severity with
it: with NAT, NAT-T carries ESP inside UDP 4500 and blocked plain ESP is harmless.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clinicnet.model import Finding, Severity
from clinicnet.netaddr import address_kind
from clinicnet.reports.rules import ike
from clinicnet.reports.rules.interface import Evidence, finding, rule

FULL_MTU = 1500
def nat_present(ev: Evidence) -> bool | None:
    """True if any probe saw NAT, False if some measured and none did, None if none measured."""
    seen: list[bool] = []
    mapping = ev.values("nat_mapping").get("nat_present")
    if mapping is not None:
        seen.append(bool(mapping))
    # esp is "skipped" without privileges, yet its ESP-in-UDP half still saw the NAT
    esp = ev.result("esp")
    if esp is not None and esp.status.value != "error" and esp.values.get("nat_present") is not None:
        seen.append(bool(esp.values["nat_present"]))
    via_ike = ike.nat_present(ev)
    if via_ike is not None:
        seen.append(via_ike)
    layers = ev.values("nat_layers")
    if layers.get("private_layers") or layers.get("cgn") or (layers.get("ipv4_over_ipv6") or {}).get("detected"):
        seen.append(True)  # a DS-Lite AFTR always does NAT44
    if not seen:
        return None
    return any(seen)


@rule("esp.blocked", "G1")
def esp_blocked(ev: Evidence) -> Finding | None:
    v = ev.values("esp")
    if v.get("esp_passes") is not False:
        return None
    nat = nat_present(ev)
    return finding(
        "esp.blocked",
        Severity.INFO if nat else Severity.ERROR,
        nat_present=nat,
        esp_in_udp_passes=v.get("esp_in_udp_passes"),
        reflectors=[
            {"reflector": r.get("reflector"), "address": r.get("address"),
             "esp": (r.get("esp") or {}).get("state"), "esp_in_udp": (r.get("esp_in_udp") or {}).get("state"),
             "reflector_answered": r.get("reflector_answered")}
            for r in v.get("reflectors", [])
        ],
    )


@rule("nat.double", "G9")
def nat_double(ev: Evidence) -> Finding | None:
    v = ev.values("nat_layers")
    if (v.get("private_layers") or 0) < 2:
        return None
    upnp: Mapping[str, Any] = v.get("upnp") or {}
    return finding(
        "nat.double",
        Severity.WARNING,
        private_layers=v.get("private_layers"),
        layers=v.get("layers", []),
        cable_modem=v.get("modem_layer"),
        gateway=v.get("gateway"),
        gateway_wan=v.get("gateway_wan"),
        gateway_device=upnp.get("device"),
        public_address=ev.values("nat_mapping").get("public_address"),
    )


@rule("nat.cgn", "G7")
def nat_cgn(ev: Evidence) -> Finding | None:
    v = ev.values("nat_layers")
    addresses = list(v.get("cgn_addresses") or [])
    local = ev.values("nat_mapping").get("local_address")
    if isinstance(local, str) and address_kind(local) == "cgn":
        addresses.append(local)
    if not (v.get("cgn") or addresses):
        return None
    return finding(
        "nat.cgn",
        Severity.INFO,
        shared_addresses=sorted(set(addresses)),
        gateway_wan=v.get("gateway_wan"),
        public_address=ev.values("nat_mapping").get("public_address"),
    )


@rule("ipv4.over_ipv6", "G8")
def ipv4_over_ipv6(ev: Evidence) -> Finding | None:
    """DS-Lite (RFC 6333) seen by ``nat_layers``: a trace hop or the router's WAN address in
    192.0.0.0/29, the softwire's well-known AFTR (192.0.0.1) and B4 (192.0.0.2) addresses.

    MAP-E (v6プラス etc.) is not detected: it is stateless at the CE (the router translates
    into its own shared address and port set, then encapsulates) and has no well-known
    addresses; telling it apart would need the ISP's MAP rules (BMR/FMR) or the CE's own view.
    """
    over: Mapping[str, Any] = ev.values("nat_layers").get("ipv4_over_ipv6") or {}
    if not over.get("detected"):
        return None
    evidence = list(over.get("evidence") or [])
    esp = ev.values("esp")
    return finding(
        "ipv4.over_ipv6",
        Severity.WARNING,
        mechanism=over.get("mechanism"),
        trace_hops=[e.get("address") for e in evidence if e.get("source") == "trace"],
        gateway_wan=next((e.get("address") for e in evidence if e.get("source") == "gateway_wan"), None),
        evidence=evidence,
        esp_passes=esp.get("esp_passes") if ev.measured("esp") else None,
        esp_in_udp_passes=esp.get("esp_in_udp_passes") if ev.measured("esp") else None,
    )


@rule("nat.port_not_preserved", "G7")
def nat_port_not_preserved(ev: Evidence) -> Finding | None:
    v = ev.values("nat_mapping")
    if not v.get("nat_present"):
        return None
    preserved: Mapping[str, Any] = v.get("port_preserved") or {}
    # Port 500 is what IKE starts from; the others stand in when it could not be bound.
    which = next((p for p in ("500", "4500", "ephemeral") if preserved.get(p) is not None), None)
    if which is None or preserved[which]:
        return None
    return finding(
        "nat.port_not_preserved",
        Severity.INFO,
        source_port=which,
        mappings=[
            {k: m.get(k) for k in ("source", "local_port", "destination", "observed_address", "observed_port")}
            for m in v.get("mappings", [])
            if m.get("state") == "answered"
        ],
        endpoint_independent=v.get("endpoint_independent"),
    )


@rule("fragments.dropped", "G11")
def fragments_dropped(ev: Evidence) -> Finding | None:
    v = ev.values("fragments")
    up = v.get("fragments_up_pass")
    down = v.get("fragments_down_pass")
    if up is not False and down is not False:
        return None
    return finding(
        "fragments.dropped",
        Severity.WARNING,
        direction="toward the reflector" if up is False else "from the reflector",
        up_ok=v.get("up_ok"),
        down_ok=v.get("down_ok"),
        reflector=v.get("reflector"),
    )


@rule("mtu.small")
def mtu_small(ev: Evidence) -> Finding | None:
    pmtu: Mapping[str, Any] = ev.values("fragments").get("pmtu") or {}
    path_mtu = pmtu.get("path_mtu")
    black_hole = bool(pmtu.get("black_hole"))
    if not black_hole and not (isinstance(path_mtu, int) and path_mtu < FULL_MTU):
        return None
    return finding(
        "mtu.small",
        Severity.WARNING,
        path_mtu=path_mtu,
        black_hole=black_hole,
        largest_answered=pmtu.get("largest_answered"),
        icmp_frag_needed=pmtu.get("icmp_frag_needed", []),
        local_mtu=pmtu.get("local_mtu"),
    )
