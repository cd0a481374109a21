"""fragments.dropped: IP fragments do not pass: large IKE messages with certificates can fail; ask
for IKE fragmentation.
"""

from __future__ import annotations

from clinicnet.model import Finding, Severity, Text
from clinicnet.probes import fragments as fragments_probe
from clinicnet.reports.findings.interface import Evidence, FindingSpec, finding

FINDING = FindingSpec(
    id="fragments.dropped",
    severity=Severity.WARNING,
    g_refs=("G11",),
    title=Text(
        ja="大きなデータを分割した通信（IPフラグメント）が通りません",
        en="Fragmented IP packets do not get through",
    ),
    summary=Text(
        ja=(
            "大きなデータを分割して送る通信が、途中で捨てられています。"
            "VPNの接続時には電子証明書を含む大きなデータをやり取りするため、"
            "接続に失敗することがあります。VPN機器やソフトウェアの設定で回避できる場合がありま"
            "す。"
        ),
        en=(
            "Large data sent in pieces is being dropped on the way. When the VPN connects it "
            "exchanges large messages containing electronic certificates, so connecting can "
            "fail. A setting in the VPN equipment or software can often avoid this."
        ),
    ),
    technical=Text(
        ja=(
            "断片化された IP データグラム（フラグメント）がリフレクタに届きませんでした。"
            "このシステムは IPsec+IKE と電子証明書を併用しており（G11）、証明書を含む IKE "
            "メッセージ（IKEv2 の IKE_AUTH など）は MTU を超えて IP 断片化されやすく、"
            "フラグメントが捨てられると認証の段階でタイムアウトします。IKEv2 "
            "のフラグメンテーション（RFC 7383）や IKEv1 "
            "のベンダー拡張のフラグメンテーションを有効にすると、IP 断片化を避けられます。"
        ),
        en=(
            "Fragmented IP datagrams did not reach the reflector. The system combines "
            "IPsec+IKE with electronic certificates (G11); IKE messages carrying certificates "
            "(such as IKEv2 IKE_AUTH) easily exceed the MTU and are IP-fragmented, so dropped "
            "fragments make authentication time out. IKEv2 fragmentation (RFC 7383) or the "
            "IKEv1 vendor-extension fragmentation avoids IP fragmentation."
        ),
    ),
    next_step=Text(
        ja=(
            "機器納入元または VPN サービス提供事業者（MIND SecureMinder、FENICS など）に、VPN "
            "機器・ソフトウェアで「IKE フラグメンテーション」を有効にできるか相談してください"
            "。あわせて、院内のルータやセキュリティ機器に IP "
            "フラグメントを捨てる設定が無いか、機器納入元に確認を依頼してください。"
        ),
        en=(
            "Ask the equipment vendor (機器納入元) or the VPN service provider (MIND "
            "SecureMinder, FENICS, etc.) whether IKE fragmentation can be enabled in the VPN "
            "equipment or software. Also ask the equipment vendor to check that the clinic's "
            "router and security appliances do not drop IP fragments."
        ),
    ),
)


def check(ev: Evidence) -> Finding | None:
    v = ev.of(fragments_probe.SPEC)
    up = v.get("fragments_up_pass")
    down = v.get("fragments_down_pass")
    if up is not False and down is not False:
        return None
    return finding(
        FINDING,
        direction="toward the reflector" if up is False else "from the reflector",
        up_ok=v.get("up_ok"),
        down_ok=v.get("down_ok"),
        reflector=v.get("reflector"),
    )
