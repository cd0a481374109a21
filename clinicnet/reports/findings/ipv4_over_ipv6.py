"""ipv4.over_ipv6: IPv4 reaches the internet through IPv4-over-IPv6 (MAP-E such as v6プラス, or DS-
Lite such as transix): shared address and a restricted port set; ESP cannot pass, only NAT-T on
UDP 4500 can, and some routers break IPsec there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clinicnet.model import Finding, Severity, Text
from clinicnet.probes import esp as esp_probe
from clinicnet.probes import nat_layers as nat_layers_probe
from clinicnet.reports.findings.interface import Evidence, FindingSpec, finding

FINDING = FindingSpec(
    id="ipv4.over_ipv6",
    severity=Severity.WARNING,
    g_refs=("G8",),
    title=Text(
        ja="IPv4がIPv6の上で運ばれる方式（v6プラス、transixなど）です",
        en="IPv4 is carried over IPv6 (MAP-E such as v6プラス, DS-Lite such as transix)",
    ),
    summary=Text(
        ja=(
            "この回線では、従来のIPv4の通信がIPv6の仕組みの上で運ばれています（v6プラスやtrans"
            "ixなどの方式）。この方式ではアドレスを他のお客様と共有し、"
            "使える通信に制限があるため、VPNが接続できない、または不安定になることがあります。"
        ),
        en=(
            "On this line, classic IPv4 traffic is carried over IPv6 (services such as "
            "v6プラス or transix). The address is shared with other customers and the usable "
            "traffic is restricted, so the VPN may fail to connect or be unstable."
        ),
    ),
    technical=Text(
        ja=(
            "IPv4 の外部アドレスや経路から、MAP-E（v6プラスなど）または DS-Lite（transix "
            "など）による IPv4 over IPv6 と判定しました。IPv4 アドレスは共有され、MAP-E "
            "では使えるポートの範囲も制限されます。生の ESP はこれらの方式を通れず、"
            "通る可能性があるのは NAT-T（UDP 4500）だけです。この方式で IPsec "
            "を正しく扱えないルータもあります。VPN に IPv6 は不要です（G8）。"
        ),
        en=(
            "The external IPv4 address and routes show IPv4 over IPv6: MAP-E (e.g. v6プラス) "
            "or DS-Lite (e.g. transix). The IPv4 address is shared and MAP-E also restricts "
            "the usable port set. Plain ESP cannot pass these mechanisms; only NAT-T (UDP "
            "4500) can, and some routers break IPsec in this mode. The VPN does not need IPv6 "
            "(G8)."
        ),
    ),
    next_step=Text(
        ja=(
            "機器納入元に本レポートを渡し、この接続方式で VPN（NAT トラバーサル）"
            "が動作するか確認を依頼してください。動作しない場合は、IPv4 over IPv6 を使わない "
            "IPv4 の接続方式（PPPoE など）に変更できるか、"
            "回線事業者・プロバイダに相談してください。"
        ),
        en=(
            "Give this report to the equipment vendor (機器納入元) and ask them to check that "
            "the VPN (with NAT traversal) works with this connection type. If it does not, "
            "ask the ISP or provider whether an IPv4 connection without IPv4-over-IPv6 (such "
            "as PPPoE) is available."
        ),
    ),
)


def check(ev: Evidence) -> Finding | None:
    """DS-Lite (RFC 6333) seen by ``nat_layers``: a trace hop or the router's WAN address in
    192.0.0.0/29, the softwire's well-known AFTR (192.0.0.1) and B4 (192.0.0.2) addresses.

    MAP-E (v6プラス etc.) is not detected: it is stateless at the CE (the router translates
    into its own shared address and port set, then encapsulates) and has no well-known
    addresses; telling it apart would need the ISP's MAP rules (BMR/FMR) or the CE's own view.
    """
    over: Mapping[str, Any] = ev.of(nat_layers_probe.SPEC).get("ipv4_over_ipv6") or {}
    if not over.get("detected"):
        return None
    evidence = list(over.get("evidence") or [])
    esp = ev.of(esp_probe.SPEC)
    return finding(
        FINDING,
        mechanism=over.get("mechanism"),
        trace_hops=[e.get("address") for e in evidence if e.get("source") == "trace"],
        gateway_wan=next((e.get("address") for e in evidence if e.get("source") == "gateway_wan"), None),
        evidence=evidence,
        esp_passes=esp.get("esp_passes") if ev.measured("esp") else None,
        esp_in_udp_passes=esp.get("esp_in_udp_passes") if ev.measured("esp") else None,
    )
