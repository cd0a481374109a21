"""ike.udp4500.blocked: no IKE answer on UDP 4500.

The severity follows the combined NAT view (``_evidence.nat_view``: IKE, the reflector
or the trace): error when any of them saw a NAT, warning when none did or NAT is
unknown; ``nat_present`` says which, and ``nat`` shows each source's evidence.
"""

from __future__ import annotations

from clinicnet.model import Finding, Severity, Text
from clinicnet.reports.findings._evidence import answers_otherwise, attempt_summary, ike_targets, nat_view
from clinicnet.reports.findings.interface import Evidence, FindingSpec, finding

FINDING = FindingSpec(
    id="ike.udp4500.blocked",
    severity=Severity.ERROR,
    g_refs=("G1", "G7"),
    title=Text(
        ja="NAT越えに使う通信（UDP 4500番）に応答がありません",
        en="NAT traversal traffic (UDP port 4500) gets no answer",
    ),
    summary=Text(
        ja=(
            "院内からインターネットへ出るときは、ルータがアドレスを変換（NAT）"
            "しているのが一般的です。その場合、VPNは「UDP 4500番」という通信を使います。"
            "この通信に接続先から応答がありませんでした。"
            "ルータがアドレス変換をしている環境では、"
            "このままではVPNを接続できない可能性が高い状態です。"
        ),
        en=(
            "Clinic networks usually reach the internet through a router that translates "
            "addresses (NAT). Behind such a router the VPN uses UDP port 4500. The VPN server "
            "did not answer on this port. Where the router translates addresses, the VPN will "
            "most likely not connect as things stand."
        ),
    ),
    technical=Text(
        ja=(
            "接続先の UDP 4500 番（NAT-T: IKE と ESP の UDP カプセル化）に IKE "
            "の要求を送りましたが、応答がありませんでした。NAT 配下では IKE は NAT 検出の後に "
            "UDP 4500 番へ移り、ESP も UDP 4500 にカプセル化されるため、4500 "
            "番が通らないと認証（IKE_AUTH）以降もデータ通信も成立しません（IPsec+IKE "
            "以外の方式はありません, G1）。グローバル IP "
            "アドレスは不要ですが（G7）、その代わりに NAT-T が前提になります。NAT "
            "が無い環境では UDP 500 と ESP で接続できる可能性があるため、"
            "重要度を「注意」としています。"
        ),
        en=(
            "An IKE request sent to the target's UDP 4500 (NAT-T: UDP encapsulation of IKE "
            "and ESP) got no answer. Behind NAT, IKE moves to UDP 4500 after NAT detection "
            "and ESP is encapsulated in UDP 4500, so without 4500 neither authentication "
            "(IKE_AUTH) nor any data can pass, and there is no alternative to IPsec+IKE (G1). "
            "No global IP address is needed (G7), but NAT-T "
            "is then required. Without NAT, UDP 500 plus plain ESP may still work, so the "
            "severity is lowered to warning there."
        ),
    ),
    next_step=Text(
        ja=(
            "機器納入元に、院内のルータ・ファイアウォール・PC のセキュリティソフトで UDP 4500 "
            "番（送信とその応答）が許可されているか確認を依頼してください。ルータが 2 "
            "台以上ある構成では、すべての機器を確認します。院内の設定に問題が無い場合は、VPN "
            "サービス提供事業者（MIND SecureMinder、FENICS など）に確認してください。"
        ),
        en=(
            "Ask the equipment vendor (機器納入元) to check that the clinic's router, "
            "firewall and the PC's security software allow UDP port 4500 (outgoing and the "
            "replies). Where there are two or more routers, check every one of them. If the "
            "clinic's equipment is fine, ask the VPN service provider (MIND SecureMinder, "
            "FENICS, etc.)."
        ),
    ),
    severity_note="error when NAT is present (NAT-T needs UDP 4500), otherwise warning",
)


def check(ev: Evidence) -> Finding | None:
    bad = [t for t in ike_targets(ev) if t.get("udp4500") != "answered" and answers_otherwise(t, 4500)]
    if not bad:
        return None
    nat = nat_view(ev)
    return finding(
        FINDING,
        Severity.ERROR if nat.present else Severity.WARNING,
        nat_present=nat.present,
        nat=nat.evidence(),
        targets=[
            {"target": t.get("target"), "address": t.get("address"), "udp500": t.get("udp500"),
             "udp4500": t.get("udp4500"), "attempts": attempt_summary(t, 4500)}
            for t in bad
        ],
    )
