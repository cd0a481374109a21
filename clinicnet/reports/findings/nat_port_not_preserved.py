"""nat.port_not_preserved: NAT rewrites the source port (port 500 not kept): NAT-T is mandatory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clinicnet.model import Finding, Severity, Text
from clinicnet.probes import nat_mapping as nat_mapping_probe
from clinicnet.reports.findings.interface import Evidence, FindingSpec, finding

FINDING = FindingSpec(
    id="nat.port_not_preserved",
    severity=Severity.INFO,
    g_refs=("G7",),
    title=Text(
        ja="ルータが通信のポート番号を書き換えています",
        en="The router rewrites the source port",
    ),
    summary=Text(
        ja=(
            "ルータがアドレス変換の際に、通信の番号（ポート番号）も書き換えています。"
            "よくある動作で、VPNはこれに対応する方式（NATトラバーサル）で接続するため、"
            "通常は問題ありません。"
        ),
        en=(
            "When translating addresses, the router also changes the connection's port "
            "number. This is common, and the VPN handles it by using NAT traversal, so it is "
            "normally fine."
        ),
    ),
    technical=Text(
        ja=(
            "送信元ポート 500 で送った IKE パケットが、NAT "
            "の外側では別の送信元ポートになっていました（ポート非保存型 NAT）。この場合も IKE "
            "は NAT 検出により UDP 4500 の NAT-T に切り替わるため、NAT-T "
            "が必須になります（G7）。NAT-T を使えない機器・設定や、送信元ポート 500 "
            "を前提とするフィルタでは接続に失敗します。"
        ),
        en=(
            "An IKE packet sent from source port 500 left the NAT with a different source "
            "port (a NAT that does not preserve ports). IKE then switches to NAT-T on UDP "
            "4500 after NAT detection, so NAT-T is mandatory (G7). Equipment or "
            "configurations without NAT-T, and filters that expect source port 500, will fail."
        ),
    ),
    next_step=Text(
        ja=(
            "対応は不要です。UDP 4500 番が通ること、VPN の設定で NAT "
            "トラバーサルが有効になっていることを機器納入元に確認してもらうと確実です。"
        ),
        en=(
            "Nothing to do. To be sure, ask the equipment vendor (機器納入元) to confirm that "
            "UDP 4500 passes and that NAT traversal is enabled in the VPN configuration."
        ),
    ),
)


def check(ev: Evidence) -> Finding | None:
    v = ev.of(nat_mapping_probe.SPEC)
    if not v.get("nat_present"):
        return None
    preserved: Mapping[str, Any] = v.get("port_preserved") or {}
    # Port 500 is what IKE starts from; the others stand in when it could not be bound.
    which = next((p for p in ("500", "4500", "ephemeral") if preserved.get(p) is not None), None)
    if which is None or preserved[which]:
        return None
    return finding(
        FINDING,
        source_port=which,
        mappings=[
            {k: m.get(k) for k in ("source", "local_port", "destination", "observed_address", "observed_port")}
            for m in v.get("mappings", [])
            if m.get("state") == "answered"
        ],
        endpoint_independent=v.get("endpoint_independent"),
    )
