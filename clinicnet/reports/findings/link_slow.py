"""link.slow: the PC's link speed is below the recommended 100 Mbps."""

from __future__ import annotations

from clinicnet.model import Finding, Severity, Text
from clinicnet.reports.findings._evidence import physical_uplinks
from clinicnet.reports.findings.interface import Evidence, FindingSpec, finding

#: G7: 100 Mbps class recommended
SLOW_LINK_MBPS = 100

FINDING = FindingSpec(
    id="link.slow",
    severity=Severity.WARNING,
    g_refs=("G7",),
    title=Text(
        ja="パソコンの接続速度が推奨（100Mbps）を下回っています",
        en="The PC's link speed is below the recommended 100 Mbps",
    ),
    summary=Text(
        ja=(
            "このパソコンとネットワーク機器の間の接続速度が、推奨される速さ（100Mbps）"
            "より遅くなっています。VPNは動作する可能性がありますが、"
            "データの送受信に時間がかかることがあります。"
        ),
        en=(
            "The connection between this PC and the network equipment is slower than the "
            "recommended 100 Mbps. The VPN may work, but sending and receiving data can take "
            "longer."
        ),
    ),
    technical=Text(
        ja=(
            "PC のネットワークインターフェースのリンク速度が 100 Mbps 未満でした（根拠を参照）"
            "。ガイドでは通信速度の面から、ケーブルモデムでは 120 Mbps 級、光では 100 Mbps "
            "以上のサービスが勧められています（G7）。ここで測ったのは PC のリンク速度で、"
            "回線の実効速度ではありません。10 Mbps でのリンク、古い・傷んだケーブルやハブ、"
            "Wi-Fi の低い接続速度などが原因として考えられます。"
        ),
        en=(
            "The link speed of the PC's network interface is below 100 Mbps (see the "
            "evidence). For speed the guide recommends 120 Mbps class service on cable modems "
            "and 100 Mbps or more on fibre (G7). This measures the PC's link, not the line's "
            "throughput. Likely causes: a 10 Mbps link, an old or damaged cable or hub, or a "
            "low Wi-Fi rate."
        ),
    ),
    next_step=Text(
        ja=(
            "LANケーブル（カテゴリ5e以上）やハブの交換、"
            "Wi-Fiの場合は有線接続への変更を検討してください。"
            "判断が難しい場合は機器納入元に相談してください。"
        ),
        en=(
            "Consider replacing the LAN cable (category 5e or better) or the hub, or, on "
            "Wi-Fi, connecting by cable. If unsure, consult the equipment vendor (機器納入元)."
        ),
    ),
)


def check(ev: Evidence) -> Finding | None:
    slow = [
        {"interface": i["name"], "kind": i["kind"], "speed_mbps": speed}
        for i in physical_uplinks(ev)
        if (speed := i.get("speed_mbps")) and speed < SLOW_LINK_MBPS
    ]
    if slow:
        return finding(FINDING, links=slow, recommended_mbps=SLOW_LINK_MBPS)
    return None
