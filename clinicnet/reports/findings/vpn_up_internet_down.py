"""vpn.up_internet_down: a VPN is connected and general internet is unreachable: by design, not a
fault.
"""

from __future__ import annotations

from clinicnet.model import Finding, Severity, Text
from clinicnet.probes import internet as internet_probe
from clinicnet.probes import vpn as vpn_probe
from clinicnet.reports.findings._evidence import vpn_up
from clinicnet.reports.findings.interface import Evidence, FindingSpec, finding

FINDING = FindingSpec(
    id="vpn.up_internet_down",
    severity=Severity.INFO,
    g_refs=("G4",),
    title=Text(
        ja="VPN接続中のため、一般のインターネットは使えません（仕様です）",
        en="While the VPN is connected, general internet is unavailable (by design)",
    ),
    summary=Text(
        ja=(
            "現在VPNが接続されています。VPNの接続中は、"
            "一般のホームページやメールなどのインターネットは使えません。"
            "これはVPNの仕様によるもので、回線の故障ではありません。"
            "インターネットを使うときは、機器納入元から案内された方法（VPNを切断するなど）"
            "に従ってください。"
        ),
        en=(
            "The VPN is connected right now. While it is connected, ordinary websites, e-mail "
            "and other internet services cannot be used. This is how the VPN is designed; the "
            "line is not broken. To use the internet, follow the procedure the equipment "
            "vendor gave you (for example, disconnect the VPN first)."
        ),
    ),
    technical=Text(
        ja=(
            "VPN のインターフェースまたは経路が有効な状態で、"
            "一般のインターネット確認先に到達できませんでした。ガイドによれば、このシステムで "
            "VPN 接続を行っている間は一般のインターネットアクセスはできず、これは VPN "
            "ネットワークの仕様で接続障害ではありません（G4）。"
            "この状態で測定したインターネット関連の結果（DNS、到達性）は、"
            "回線の評価には使えません。"
        ),
        en=(
            "A VPN interface or route is active and the general internet check targets could "
            "not be reached. The guide says that while the VPN of these systems is connected, "
            "general internet access is impossible, and that this is the VPN's specification, "
            "not a line fault (G4). Internet-related results measured in this state (DNS, "
            "reachability) say nothing about the line."
        ),
    ),
    next_step=Text(
        ja=(
            "対応は不要です。回線やインターネットの状態を診断したい場合は、VPNを切断してから、"
            "もう一度この診断を実行してください。"
        ),
        en=(
            "Nothing to do. To diagnose the line and the internet connection, disconnect the "
            "VPN and run this diagnosis again."
        ),
    ),
)


def check(ev: Evidence) -> Finding | None:
    inet = ev.of(internet_probe.SPEC)
    if vpn_up(ev) and ev.measured("internet") and not inet.get("any_ok"):
        v = ev.of(vpn_probe.SPEC)
        return finding(
            FINDING,
            tunnel_interfaces=[t["name"] for t in v.get("tunnel_interfaces", []) if t.get("up")],
            default_via_tunnel=v.get("default_via_tunnel"),
            vpn_processes=[p["process"] for p in v.get("processes", [])],
            failed_checks=[c["url"] for c in inet.get("checks", [])],
        )
    return None
