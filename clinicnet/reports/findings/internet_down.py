"""internet.down: no VPN and no general internet: a real line fault."""

from __future__ import annotations

from clinicnet.model import Finding, Severity, Text
from clinicnet.probes import internet as internet_probe
from clinicnet.probes import routes as routes_probe
from clinicnet.reports.findings._evidence import ike_answered_any, vpn_up
from clinicnet.reports.findings.interface import Evidence, FindingSpec, finding

FINDING = FindingSpec(
    id="internet.down",
    severity=Severity.ERROR,
    g_refs=("G6",),
    title=Text(
        ja="インターネットに接続できません",
        en="The internet cannot be reached",
    ),
    summary=Text(
        ja=(
            "VPNが接続されていない状態で、インターネットにも接続できませんでした。"
            "回線・ルータ・ケーブルなどのどこかに問題がある可能性があります。"
            "VPNを利用するには、まずインターネット回線が正常に使えることが必要です。"
        ),
        en=(
            "The VPN is not connected, and the internet cannot be reached either. Something "
            "may be wrong with the line, the router or a cable. The VPN needs a working "
            "internet line first."
        ),
    ),
    technical=Text(
        ja=(
            "VPN 接続が無い状態で、一般のインターネット確認先にいずれも到達できませんでした（"
            "根拠を参照）。IPsec+IKE を利用する前提として、"
            "開通済みの正常な回線が必要です（G6）。VPN による仕様上の制限（G4）ではなく、"
            "回線または院内機器の障害と考えられます。"
        ),
        en=(
            "With no VPN connected, none of the general internet check targets could be "
            "reached (see the evidence). IPsec+IKE presupposes a working, activated line "
            "(G6). This is not the VPN's by-design restriction (G4) but a fault of the line "
            "or of the clinic's equipment."
        ),
    ),
    next_step=Text(
        ja=(
            "ルータやモデムの電源とランプ、LANケーブルを確認し、"
            "改善しなければルータとモデムを再起動してください（他の機器の業務への影響に注意し"
            "てください）。それでも改善しない場合は、"
            "回線事業者（インターネットサービスの契約先）"
            "に回線の障害として問い合わせてください。院内機器の設定が原因と思われる場合は、"
            "機器納入元に相談してください。"
        ),
        en=(
            "Check the power and lamps of the router and the modem and the LAN cables; if "
            "that does not help, restart the router and the modem (mind other equipment that "
            "is in use). If the internet is still down, report a line fault to the ISP (the "
            "internet service you have a contract with). If the clinic's equipment settings "
            "seem to be the cause, consult the equipment vendor (機器納入元)."
        ),
    ),
)


def check(ev: Evidence) -> Finding | None:
    inet = ev.of(internet_probe.SPEC)
    if not ev.measured("internet") or not ev.measured("vpn") or inet.get("any_ok") or vpn_up(ev):
        return None
    if inet.get("only_dns_failures") and ike_answered_any(ev):
        return None  # IP works (the gateway answered): this is dns.failed, not a line fault
    return finding(
        FINDING,
        checks={
            c["url"]: {fam: c[fam].get("state") for fam in ("ipv4", "ipv6")} for c in inet.get("checks", [])
        },
        default_route=bool(ev.of(routes_probe.SPEC).get("default_v4") or ev.of(routes_probe.SPEC).get("default_v6")),
    )
