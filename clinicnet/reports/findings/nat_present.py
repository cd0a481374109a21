"""nat.present: IKE NAT detection (IKEv2, or IKEv1 NAT-D in Main Mode 3/4), the reflector or the
trace sees a NAT: fine, no global IP needed, NAT-T on 4500 will be used.

The rule is the combined NAT view (``_evidence.nat_view``) that also sets the severities
of ``ike.udp4500.blocked`` and ``esp.blocked``: behind a gateway that gives no NAT
detection (IKEv1 only, or NO_PROPOSAL_CHOSEN) the reflector or the trace still decides.
The evidence lists what each source said; where they disagree, a NAT any source saw
is a NAT, and the evidence says so.
"""

from __future__ import annotations

from clinicnet.model import Finding, Severity, Text
from clinicnet.reports.findings._evidence import nat_view
from clinicnet.reports.findings.interface import Evidence, FindingSpec, finding

FINDING = FindingSpec(
    id="nat.present",
    severity=Severity.INFO,
    g_refs=("G7",),
    title=Text(
        ja="ルータによるアドレス変換（NAT）があります（問題ありません）",
        en="A router translates addresses (NAT): this is fine",
    ),
    summary=Text(
        ja=(
            "このパソコンは、ルータのアドレス変換（NAT）"
            "を通してインターネットに接続しています。一般的な構成で、"
            "これ自体はVPNの利用の妨げにはなりません。"
            "グローバルIPアドレスの契約も必要ありません。"
        ),
        en=(
            "This PC reaches the internet through a router that translates addresses (NAT). "
            "This is the usual set-up and does not in itself stand in the way of the VPN. No "
            "global IP address needs to be ordered."
        ),
    ),
    technical=Text(
        ja=(
            "IKE の NAT 検出（IKEv2 の NAT_DETECTION_SOURCE_IP/DESTINATION_IP、IKEv1 の NAT-D）、"
            "リフレクタが見た送信元アドレス、または経路調査（プライベートアドレスのホップ）"
            "のいずれかで、経路上に NAT があると判定しました。NAT "
            "配下では IKE は UDP 4500 に移り、ESP は UDP 4500 にカプセル化されます（NAT-T）。"
            "ガイドのとおりグローバル IP アドレスは不要ですが（G7）、UDP 4500 "
            "が通ることが前提になります。"
        ),
        en=(
            "IKE NAT detection (IKEv2 NAT_DETECTION_SOURCE_IP/DESTINATION_IP, IKEv1 NAT-D), the "
            "source address seen by the reflector or the trace (private hops) shows a NAT on "
            "the path. Behind NAT, IKE moves to UDP 4500 "
            "and ESP is encapsulated in UDP 4500 (NAT-T). As the guide says, no global IP "
            "address is needed (G7), but UDP 4500 must pass."
        ),
    ),
    next_step=Text(
        ja="対応は不要です。UDP 4500 番の結果もあわせてご確認ください。",
        en="Nothing to do. Check the UDP 4500 result as well.",
    ),
)


def check(ev: Evidence) -> Finding | None:
    view = nat_view(ev)
    if not view.present:
        return None
    return finding(FINDING, **view.evidence())
