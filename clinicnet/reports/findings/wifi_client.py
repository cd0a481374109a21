"""wifi.client: the PC itself is on Wi-Fi."""

from __future__ import annotations

from clinicnet.model import Finding, Severity, Text
from clinicnet.reports.findings._evidence import physical_uplinks
from clinicnet.reports.findings.interface import Evidence, FindingSpec, finding

FINDING = FindingSpec(
    id="wifi.client",
    severity=Severity.INFO,
    g_refs=("G9",),
    title=Text(
        ja="このパソコンはWi-Fi（無線LAN）で接続しています",
        en="This PC is connected over Wi-Fi",
    ),
    summary=Text(
        ja=(
            "このパソコンは無線（Wi-Fi）でネットワークに接続しています。"
            "VPNは使えることが多いですが、電波の状態によって通信が不安定になることがあります。"
            "問題がある場合は、有線（LANケーブル）での接続をお勧めします。"
        ),
        en=(
            "This PC is connected to the network wirelessly (Wi-Fi). The VPN usually works, "
            "but the connection can become unstable depending on the radio conditions. If "
            "there are problems, a wired connection (LAN cable) is recommended."
        ),
    ),
    technical=Text(
        ja=(
            "既定経路のインターフェースが無線 LAN でした。Wi-Fi "
            "はリンク速度・遅延・パケット損失が変動しやすく、IKE の再送や DPD "
            "によるトンネル切断の原因になることがあります。ガイドは Wi-Fi 付きの機器（無線 "
            "LAN 内蔵ケーブルモデム、レンタル Wi-Fi ルータ）について、"
            "全機器での動作検証はしていないとしています（G9）。"
        ),
        en=(
            "The default-route interface is wireless. Wi-Fi link speed, latency and loss "
            "vary, which can cause IKE retransmissions and tunnel drops by DPD. The guide "
            "says equipment with Wi-Fi (cable modems with built-in Wi-Fi, rented Wi-Fi "
            "routers) has not been verified with every device (G9)."
        ),
    ),
    next_step=Text(
        ja=(
            "VPNが安定して使えていれば、対応は不要です。接続が切れるなどの問題がある場合は "
            "LAN ケーブルでの接続を試し、改善しなければ機器納入元に相談してください。"
        ),
        en=(
            "If the VPN is stable, nothing to do. If it drops or misbehaves, try a LAN cable; "
            "if that does not help, consult the equipment vendor (機器納入元)."
        ),
    ),
)


def check(ev: Evidence) -> Finding | None:
    wifi = [i["name"] for i in physical_uplinks(ev) if i["kind"] == "wifi"]
    if wifi:
        return finding(FINDING, interfaces=wifi)
    return None
