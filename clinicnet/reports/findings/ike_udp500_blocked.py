"""ike.udp500.blocked: no IKE answer on UDP 500 from a target that answers otherwise (4500, ICMP,
TCP) or from any target.

"Answers otherwise" is read as an IKE answer on UDP 4500 or an ICMP port-unreachable
from the target itself (``_evidence.answers_otherwise``); a target that answers nothing
at all is ``ike.unreachable``.

Loss is not a block (issue 10): where the reflector measured the line's loss, a silence
that loss alone explains with 1 % or more (every one of the port's transmissions lost by
chance) is not called a block; ``path.lossy`` says what the line does instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clinicnet.model import Finding, Severity, Text
from clinicnet.probes import fragments as fragments_probe
from clinicnet.reports.findings._evidence import answers_otherwise, attempt_summary, ike_targets
from clinicnet.reports.findings.interface import Evidence, FindingSpec, finding

FINDING = FindingSpec(
    id="ike.udp500.blocked",
    severity=Severity.ERROR,
    g_refs=("G1",),
    title=Text(
        ja="VPNの接続開始に使う通信（IKE・UDP 500番）に応答がありません",
        en="The VPN's opening exchange (IKE on UDP port 500) gets no answer",
    ),
    summary=Text(
        ja=(
            "オンライン請求・オンライン資格確認のVPNは、"
            "最初に「IKE」という手順で接続先とやり取りをして接続を始めます。この通信（UDP "
            "500番）に接続先から応答がありませんでした。"
            "このままではVPNを接続できない可能性が高い状態です。"
            "院内のルータやセキュリティ機器の設定で止められていることが多く、"
            "設定の変更で解決できる場合があります。"
        ),
        en=(
            "The VPN for online billing and online eligibility confirmation starts every "
            "connection with an exchange called IKE. The VPN server did not answer this "
            "exchange (UDP port 500). As things stand the VPN will most likely not connect. "
            "The cause is often a setting in the clinic's router or security equipment, which "
            "can usually be changed."
        ),
    ),
    technical=Text(
        ja=(
            "接続先へ UDP 500 番で IKE の要求（IKE_SA_INIT 等）を送りましたが、"
            "応答がありませんでした。同じ接続先が他の方法（UDP 4500、ICMP、TCP のいずれか）"
            "には応答している、またはどの接続先からも UDP 500 の応答が無いため、経路上で UDP "
            "500 が遮断されていると考えられます（ルータ・UTM のフィルタ、IPsec "
            "パススルー機能の不具合、PC のセキュリティソフト等）。IPsec+IKE "
            "方式では接続の開始に UDP 500 の往復が必須で、この方式以外では動作しません（G1）。"
        ),
        en=(
            "An IKE request (IKE_SA_INIT or equivalent) sent to the target on UDP 500 got no "
            "answer, while the same target answered otherwise (UDP 4500, ICMP or TCP), or no "
            "target answered on UDP 500 at all. UDP 500 is therefore most likely filtered on "
            "the path: a router/UTM filter, a broken IPsec pass-through feature, or security "
            "software on the PC. IPsec+IKE needs a UDP 500 round trip to start, and the "
            "systems work only over IPsec+IKE (G1)."
        ),
    ),
    next_step=Text(
        ja=(
            "機器納入元に本レポートを渡し、院内のルータ・ファイアウォール・PC "
            "のセキュリティソフトで UDP 500 番（送信とその応答）"
            "が許可されているか確認を依頼してください。ルータに「IPsec "
            "パススルー」などの設定がある場合は、その設定も確認します。"
            "院内の設定に問題が無い場合は、VPN サービス提供事業者（MIND SecureMinder、FENICS "
            "など）に接続先の状態を確認してください。回線側での遮断が疑われる場合は、"
            "機器納入元から回線事業者へ問い合わせてください。"
        ),
        en=(
            "Give this report to the equipment vendor (機器納入元) and ask them to check that "
            "the clinic's router, firewall and the PC's security software allow UDP port 500 "
            '(outgoing and the replies). If the router has an "IPsec pass-through" or '
            "similar setting, check it too. If the clinic's equipment is fine, ask the VPN "
            "service provider (MIND SecureMinder, FENICS, etc.) about the state of the "
            "target. If the line itself is suspected, the equipment vendor can raise a "
            "technical question with the ISP."
        ),
    ),
)


#: a silence more likely than this by chance alone is no block
ALPHA = 0.01


def silence_by_chance(ev: Evidence, t: Mapping[str, Any], port: int) -> float | None:
    """Chance that every transmission to ``port`` was lost on a line with the measured loss
    (the round-trip loss's 95 % upper bound from the fragments probe's meter); None unmeasured."""
    loss: Mapping[str, Any] = ev.of(fragments_probe.SPEC).get("loss") or {}
    if not loss.get("samples"):
        return None
    sent = sum(int(a.get("sent") or 0) for a in t.get("attempts", []) if a.get("port") == port)
    return float(loss.get("round_trip_high", 1.0)) ** sent


def check(ev: Evidence) -> Finding | None:
    # "error": UDP 500 could not be tested from this PC (a local failure), which says nothing of the network
    bad = [t for t in ike_targets(ev) if t.get("udp500") not in ("answered", "error") and answers_otherwise(t, 500)
           and (silence_by_chance(ev, t, 500) or 0.0) < ALPHA]
    if not bad:
        return None
    return finding(
        FINDING,
        targets=[
            {"target": t.get("target"), "address": t.get("address"), "udp500": t.get("udp500"),
             "udp4500": t.get("udp4500"), "attempts": attempt_summary(t, 500)}
            for t in bad
        ],
    )
