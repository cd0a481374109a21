"""ike.unreachable: the target answers nothing at all (no route, down, everything filtered)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clinicnet.model import Finding, Severity, Text
from clinicnet.reports.findings._evidence import answers_otherwise, attempt_summary, ike_targets
from clinicnet.reports.findings.interface import Evidence, FindingSpec, finding

FINDING = FindingSpec(
    id="ike.unreachable",
    severity=Severity.ERROR,
    g_refs=("G1",),
    title=Text(
        ja="VPNの接続先から何も応答がありません",
        en="The VPN server does not answer at all",
    ),
    summary=Text(
        ja=(
            "VPNの接続先に対していくつかの方法で通信を試みましたが、"
            "どれにも応答がありませんでした。接続先の指定の誤り、院内ネットワークの設定、"
            "または接続先側の停止が考えられます。"
        ),
        en=(
            "Several kinds of traffic were sent to the VPN server and none got an answer. The "
            "address may be wrong, the clinic network may block it, or the server side may be "
            "down."
        ),
    ),
    technical=Text(
        ja=(
            "対象の接続先は IKE（UDP 500/4500）、ICMP、TCP のいずれにも応答しませんでした。"
            "経路が無い、対象が停止している、またはすべてが遮断されている状態です。VPN "
            "の接続先には ICMP や TCP に応答しないものもあるため、"
            "まず診断に指定した接続先（アドレス・名前）が正しいかを確認する必要があります。"
            "IPsec+IKE で接続先と通信できない限り、システムは動作しません（G1）。"
        ),
        en=(
            "The target answered neither IKE (UDP 500/4500) nor ICMP nor TCP: there is no "
            "route, the target is down, or everything is filtered. Some VPN gateways never "
            "answer ICMP or TCP, so first make sure the target given to the diagnosis "
            "(address or name) is right. The systems cannot work without an IPsec+IKE "
            "exchange with the target (G1)."
        ),
    ),
    next_step=Text(
        ja=(
            "診断で指定した接続先が正しいかを、機器納入元または VPN サービス提供事業者（MIND "
            "SecureMinder、FENICS など）に確認してください。正しい場合は、"
            "院内ルータの設定を機器納入元に、"
            "接続先の稼働状況をサービス提供事業者に確認してください。"
        ),
        en=(
            "Check with the equipment vendor (機器納入元) or the VPN service provider (MIND "
            "SecureMinder, FENICS, etc.) that the target given to the diagnosis is right. If "
            "it is, have the equipment vendor check the clinic router's settings and ask the "
            "service provider whether the target is up."
        ),
    ),
)


def _unreachable(t: Mapping[str, Any]) -> bool:
    return t.get("udp500") != "answered" and t.get("udp4500") != "answered" and not answers_otherwise(t, 500)


def check(ev: Evidence) -> Finding | None:
    bad = [t for t in ike_targets(ev) if _unreachable(t)]
    if not bad:
        return None
    return finding(
        FINDING,
        targets=[
            {
                "target": t.get("target"),
                "address": t.get("address"),
                "resolve_error": t.get("resolve_error"),
                "icmp": t.get("icmp"),
                "udp500": t.get("udp500"),
                "udp4500": t.get("udp4500"),
                "attempts": attempt_summary(t, 500) + attempt_summary(t, 4500),
            }
            for t in bad
        ],
    )
