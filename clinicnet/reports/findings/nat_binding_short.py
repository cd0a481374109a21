"""nat.binding_short: the NAT forgets an idle UDP mapping sooner than NAT-T keepalives refresh it
(binding lifetime measured via the reflector, ``diagnose --long``): idle tunnels drop.
"""

from __future__ import annotations

from clinicnet.model import Finding, Severity, Text
from clinicnet.probes import nat_binding
from clinicnet.reports.findings.interface import Evidence, FindingSpec, finding

FINDING = FindingSpec(
    id="nat.binding_short",
    severity=Severity.WARNING,
    g_refs=("G9",),
    title=Text(
        ja="ルータが無通信の VPN 通信をすぐに忘れます",
        en="The router forgets an idle VPN connection too soon",
    ),
    summary=Text(
        ja=(
            "ルータ（または Wi-Fi 機能付きのケーブルモデム）が、しばらく通信のない接続の情報を"
            "短い時間で消しています。VPN はつながっても、操作をしない時間が続くと切れることがあります。"
            "「しばらくすると切れる」という症状の原因になります。"
        ),
        en=(
            "The router (or a cable modem with built-in Wi-Fi) forgets a connection that has been "
            "quiet for a short while. The VPN may connect, then drop when nothing is sent for a "
            "while: a typical cause of \"it connects, then drops after a while\"."
        ),
    ),
    technical=Text(
        ja=(
            "リフレクタの遅延応答を使い、NAT が無通信の UDP マッピング（UDP 4500 の NAT-T、"
            "測れない場合は UDP 500）を保持する時間を測定しました。その時間は、IPsec の NAT-T "
            "キープアライブの一般的な間隔である 20 秒（RFC 3948）より短いため、次のキープアライブが"
            "届く前にマッピングが消え、無通信のトンネルが切れます。ガイドが注意を促している"
            "無線 LAN 内蔵ケーブルモデムなどの家庭用機器に多い動作です（G9）。"
            "測定した保持時間、その上限と下限、確度は証拠欄にあります。"
        ),
        en=(
            "Using delayed answers from the reflector, the time the NAT keeps an idle UDP mapping "
            "to port 4500 (NAT-T; port 500 where 4500 could not be measured) was measured; it is shorter than the common NAT-T keepalive "
            "interval of 20 s (RFC 3948), so the mapping is gone before the next keepalive and "
            "an idle tunnel drops. This is typical of consumer equipment such as the cable modem "
            "with built-in Wi-Fi the guide warns about (G9). The evidence gives the lifetime "
            "measured, its bounds and the confidence."
        ),
    ),
    next_step=Text(
        ja=(
            "機器納入元に、この結果（保持時間とキープアライブ間隔）を伝えて相談してください。"
            "VPN の接続ソフトまたはルータ側で NAT-T キープアライブの間隔を保持時間の半分程度"
            "（根拠欄の recommended_keepalive_s）に短くするか、ルータの UDP セッション保持時間を"
            "延ばすか、別のルータに交換することで解消します。"
        ),
        en=(
            "Consult the equipment vendor (機器納入元) with this result (the lifetime and the "
            "keepalive interval). A NAT-T keepalive of about half the lifetime "
            "(recommended_keepalive_s in the evidence) on the VPN client or router, a longer UDP "
            "session timeout on the router, or another router solves it."
        ),
    ),
)


def check(ev: Evidence) -> Finding | None:
    v = ev.of(nat_binding.SPEC)
    if not v.get("ports"):
        return None
    head = nat_binding.headline(v["ports"])
    if head is None:
        return None
    keepalive = float(v.get("keepalive_s") or nat_binding.KEEPALIVE_S)
    estimate, upper = head.get("estimate_s"), head.get("upper_s")
    short = (estimate is not None and estimate < keepalive) or (
        estimate is None and upper is not None and upper <= keepalive
    )
    if not short:
        return None
    return finding(
        FINDING,
        port=head.get("port"),
        lifetime_s=estimate,
        lower_s=head.get("lower_s"),
        upper_s=upper,
        confidence=head.get("confidence"),
        keepalive_s=keepalive,
        recommended_keepalive_s=max(1, int((head.get("lower_s") or upper or keepalive) // 2)),
        ports=[{k: p.get(k) for k in ("port", "lower_s", "upper_s", "estimate_s", "confidence")}
               for p in v["ports"]],
    )
