"""nat.double: two or more NAT layers, e.g. a clinic router behind a Wi-Fi cable modem that also
routes.

Only the trace and the router's UPnP/NAT-PMP answer count layers (``nat_layers``); the
evidence carries the combined NAT view (``_evidence.nat_view``) beside them, so a source
that saw no NAT at all (IKE's NAT detection, the reflector) shows up as a disagreement.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clinicnet.model import Finding, Severity, Text
from clinicnet.probes import nat_layers as nat_layers_probe
from clinicnet.probes import nat_mapping as nat_mapping_probe
from clinicnet.reports.findings._evidence import nat_view
from clinicnet.reports.findings.interface import Evidence, FindingSpec, finding

FINDING = FindingSpec(
    id="nat.double",
    severity=Severity.WARNING,
    g_refs=("G9",),
    title=Text(
        ja="ルータが二重になっています（二重NAT）",
        en="Two routers in a row translate addresses (double NAT)",
    ),
    summary=Text(
        ja=(
            "インターネットまでの間に、アドレス変換をする機器が2台以上あります。たとえば、"
            "Wi-Fi機能付きのケーブルモデムの後ろに、"
            "さらに院内のルータがつながっている構成です。"
            "この構成でもVPNは接続できることが多いですが、"
            "すべての機器で動作が確認されているわけではありません。問題が起きた場合は、"
            "機器の構成の見直しが必要になることがあります。"
        ),
        en=(
            "There are two or more address-translating devices between this PC and the "
            "internet, for example the clinic's router plugged into a cable modem with "
            "built-in Wi-Fi that also acts as a router. The VPN often works like this, but "
            "not every combination of devices has been verified. If problems occur, the "
            "set-up of the devices may have to change."
        ),
    ),
    technical=Text(
        ja=(
            "NAT 層が 2 つ以上検出されました（経路上のプライベート/CGN アドレスのホップ、UPnP "
            "で得た WAN 側アドレス、リフレクタが見たアドレスの比較による）。ガイドでは、"
            "ルータ型の接続を無線 LAN 内蔵ケーブルモデムの LAN ポートに接続しても VPN "
            "接続自体は可能だが、全機器での動作検証はしていない、とされています（G9）。二重 "
            "NAT では UDP マッピングのタイムアウトが短くなる、IPsec "
            "パススルーが干渉するなどの問題が起きやすくなります。"
        ),
        en=(
            "Two or more NAT layers were detected (private/CGN hops on the path, the WAN "
            "address reported by UPnP, and the address seen by the reflector). The guide says "
            "a router-type connection on the LAN port of a cable modem with built-in Wi-Fi "
            "can carry the VPN but has not been verified with every device (G9). Double NAT "
            "makes short UDP mapping timeouts and interfering IPsec pass-through features "
            "more likely."
        ),
    ),
    next_step=Text(
        ja=(
            "現在VPNが問題なく使えていれば、そのまま使って構いません。"
            "接続できない・不安定などの問題がある場合は、機器納入元に相談してください。"
            "ガイドでは、問題が起きた場合に該当機器の撤去や交換、"
            "Wi-Fiなしのサービスへの変更が必要になる場合があるとされています。"
        ),
        en=(
            "If the VPN works without problems, it can stay as it is. If it does not connect "
            "or is unstable, consult the equipment vendor (機器納入元). The guide says that "
            "on trouble the devices may have to be removed or exchanged, or the clinic may "
            "have to move to a service without Wi-Fi."
        ),
    ),
)


def check(ev: Evidence) -> Finding | None:
    v = ev.of(nat_layers_probe.SPEC)
    if (v.get("private_layers") or 0) < 2:
        return None
    upnp: Mapping[str, Any] = v.get("upnp") or {}
    nat = nat_view(ev)
    return finding(
        FINDING,
        private_layers=v.get("private_layers"),
        layers=v.get("layers", []),
        cable_modem=v.get("modem_layer"),
        gateway=v.get("gateway"),
        gateway_wan=v.get("gateway_wan"),
        gateway_device=upnp.get("device"),
        public_address=_public_address(ev),
        nat=nat.evidence(),
    )


def _public_address(ev: Evidence) -> str | None:
    """The outermost address as the reflector saw it, from ``nat_mapping`` or else ``esp``."""
    seen = ev.of(nat_mapping_probe.SPEC).get("public_address")
    if seen:
        return str(seen)
    esp = ev.result("esp")
    for r in (esp.values.get("reflectors") or []) if esp is not None else []:
        if r.get("observed_address"):
            return str(r["observed_address"])
    return None
