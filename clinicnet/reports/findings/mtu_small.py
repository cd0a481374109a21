"""mtu.small: path MTU below 1500 (PPPoE etc.), or a PMTU black hole."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clinicnet.model import Finding, Severity, Text
from clinicnet.probes import fragments as fragments_probe
from clinicnet.reports.findings.interface import Evidence, FindingSpec, finding

#: Ethernet's MTU: anything smaller on the path costs IPsec its headroom
FULL_MTU = 1500

FINDING = FindingSpec(
    id="mtu.small",
    severity=Severity.WARNING,
    g_refs=(),
    title=Text(
        ja="一度に送れるデータの大きさ（MTU）が小さい経路です",
        en="The path MTU is small",
    ),
    summary=Text(
        ja=(
            "インターネットまでの経路で、一度に送れるデータの大きさが通常（1500バイト）"
            "より小さくなっています。PPPoE接続などでよくあることで通常は自動で調整されますが、"
            "VPNで大きなデータを送るときに通信が止まることがあります。"
        ),
        en=(
            "On the way to the internet, the largest packet that can be sent in one piece is "
            "smaller than usual (1500 bytes). This is common with PPPoE and is normally "
            "adjusted automatically, but large transfers over the VPN can stall."
        ),
    ),
    technical=Text(
        ja=(
            "経路 MTU が 1500 未満でした（PPPoE の 1492、1454 など）、または PMTU "
            "ブラックホール（DF 付きの大きなパケットが捨てられ、ICMP Fragmentation Needed / "
            "Packet Too Big が返らない）を検出しました。IPsec は ESP・NAT-T "
            "のヘッダでさらに数十バイトを使うため、トンネル内の TCP が止まる、証明書を含む "
            "IKE メッセージが届かない、といった症状の原因になります。"
        ),
        en=(
            "The path MTU is below 1500 (e.g. 1492 or 1454 with PPPoE), or a PMTU black hole "
            "was detected (large packets with DF set vanish and no ICMP Fragmentation Needed "
            "/ Packet Too Big comes back). IPsec adds tens of bytes of ESP and NAT-T headers "
            "on top, so TCP inside the tunnel can stall and IKE messages with certificates "
            "can fail to arrive."
        ),
    ),
    next_step=Text(
        ja=(
            "機器納入元に、VPN 機器・ルータでの MTU や TCP MSS の調整（トンネル内の MSS "
            "クランプなど）と、ICMP（Fragmentation Needed / Packet Too Big）"
            "を遮断する設定が無いかの確認を依頼してください。"
        ),
        en=(
            "Ask the equipment vendor (機器納入元) to adjust the MTU or TCP MSS on the VPN "
            "equipment and router (e.g. MSS clamping inside the tunnel) and to check that "
            "ICMP Fragmentation Needed / Packet Too Big is not blocked."
        ),
    ),
)


def check(ev: Evidence) -> Finding | None:
    pmtu: Mapping[str, Any] = ev.of(fragments_probe.SPEC).get("pmtu") or {}
    path_mtu = pmtu.get("path_mtu")
    black_hole = bool(pmtu.get("black_hole"))
    if not black_hole and not (isinstance(path_mtu, int) and path_mtu < FULL_MTU):
        return None
    return finding(
        FINDING,
        path_mtu=path_mtu,
        black_hole=black_hole,
        largest_answered=pmtu.get("largest_answered"),
        icmp_frag_needed=pmtu.get("icmp_frag_needed", []),
        local_mtu=pmtu.get("local_mtu"),
    )
