"""nat.cgn: carrier-grade NAT (100.64.0.0/10) upstream."""

from __future__ import annotations

from clinicnet.model import Finding, Severity, Text
from clinicnet.netaddr import address_kind
from clinicnet.probes import nat_layers as nat_layers_probe
from clinicnet.probes import nat_mapping as nat_mapping_probe
from clinicnet.reports.findings.interface import Evidence, FindingSpec, finding

FINDING = FindingSpec(
    id="nat.cgn",
    severity=Severity.INFO,
    g_refs=("G7",),
    title=Text(
        ja="通信事業者の共有アドレス（CGN）を経由しています",
        en="The connection goes through the carrier's shared addresses (CGN)",
    ),
    summary=Text(
        ja=(
            "インターネットへの接続に、通信事業者が複数のお客様で共有するアドレスが使われてい"
            "ます。VPNの利用にグローバルIPアドレスは必要ないため、通常は問題ありません。"
        ),
        en=(
            "The internet connection uses addresses that the carrier shares among several "
            "customers. The VPN does not need a global IP address, so this is normally fine."
        ),
    ),
    technical=Text(
        ja=(
            "経路上または WAN 側に 100.64.0.0/10（RFC 6598 の共有アドレス空間）"
            "のアドレスがあり、キャリアグレード NAT の配下と判定しました。IPsec は NAT-T（UDP "
            "4500）で NAT を越えるため、原則として動作します（G7: グローバル IP は不要）。CGN "
            "の UDP マッピングのタイムアウトが短い場合、"
            "通信の無い時間が続くとトンネルが切れることがあります。"
        ),
        en=(
            "An address from 100.64.0.0/10 (RFC 6598 shared address space) was seen on the "
            "path or on the WAN side: the connection is behind carrier-grade NAT. IPsec "
            "crosses NAT with NAT-T (UDP 4500), so this normally works (G7: no global IP "
            "needed). If the CGN's UDP mapping timeout is short, idle tunnels can drop."
        ),
    ),
    next_step=Text(
        ja=(
            "対応は不要です。しばらく使わないとVPNが切れる症状がある場合は、機器納入元に "
            "NAT-T キープアライブの間隔を確認してもらってください。"
        ),
        en=(
            "Nothing to do. If the VPN drops after a while without traffic, ask the equipment "
            "vendor (機器納入元) to check the NAT-T keep-alive interval."
        ),
    ),
)


def check(ev: Evidence) -> Finding | None:
    v = ev.of(nat_layers_probe.SPEC)
    addresses = list(v.get("cgn_addresses") or [])
    local = ev.of(nat_mapping_probe.SPEC).get("local_address")
    if isinstance(local, str) and address_kind(local) == "cgn":
        addresses.append(local)
    if not (v.get("cgn") or addresses):
        return None
    return finding(
        FINDING,
        shared_addresses=sorted(set(addresses)),
        gateway_wan=v.get("gateway_wan"),
        public_address=ev.of(nat_mapping_probe.SPEC).get("public_address"),
    )
