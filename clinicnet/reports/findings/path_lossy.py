"""path.lossy: the path loses packets at a rate that explains slow or failing tunnels
(measured loss rate given); nothing is blocked.

The rate comes from the fragments probe's loss meter: small, unfragmented
reflector round trips, each with its own token, counted whatever comes back
(``values["loss"]``). Loss is reported instead of being mistaken for a block:
the probes call a port or a size blocked only when loss cannot explain its
silence, so on such a line this warning is what stays.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clinicnet.model import Finding, Severity, Text
from clinicnet.probes import fragments as fragments_probe
from clinicnet.reports.findings.interface import Evidence, FindingSpec, finding

#: a round-trip loss rate worth a warning: a wired clinic line loses well under 1 %
LOSSY_ROUND_TRIP = 0.05
#: and the measurement must show it with confidence (one-sided 95 % lower bound above this)
LOSSY_LOWER_BOUND = 0.02
#: fewer round trips than this say too little either way
MIN_SAMPLES = 10

FINDING = FindingSpec(
    id="path.lossy",
    severity=Severity.WARNING,
    g_refs=(),
    title=Text(
        ja="回線で通信の一部が失われています",
        en="The line loses part of the traffic",
    ),
    summary=Text(
        ja=(
            "インターネットへの回線で、送ったデータの一部が届かずに失われています。"
            "VPN は再送で補うため接続できることが多いですが、接続に時間がかかったり、"
            "途中で切れたりする原因になります。"
        ),
        en=(
            "On the line to the internet, part of the data sent is lost on the way. The VPN "
            "makes up for it by resending and often still connects, but it can make connecting "
            "slow or make the tunnel drop."
        ),
    ),
    technical=Text(
        ja=(
            "リフレクタとの小さな UDP の往復（断片化なし）のうち、根拠に示す割合が失われました"
            "（片方向あたりの推定損失率も示します）。遮断ではなくランダムな損失で、IKE "
            "の再送で多くは補えますが、証明書を含む大きな IKE メッセージは複数のフラグメントの"
            "どれか一つが失われても届かないため、損失の影響を強く受けます。Wi-Fi "
            "の電波状況、傷んだケーブルや古い配線、混雑した回線などが原因として考えられます。"
        ),
        en=(
            "Of the small, unfragmented UDP round trips to the reflector, the share shown in "
            "the evidence was lost (with the estimated loss per packet and direction). This is "
            "random loss, not a block: IKE retransmissions cope with most of it, but large IKE "
            "messages carrying certificates are lost whenever any one of their fragments is, so "
            "they suffer most. Likely causes: poor Wi-Fi reception, damaged or old cabling, or a "
            "congested line."
        ),
    ),
    next_step=Text(
        ja=(
            "Wi-Fi の場合は有線接続で改善するか確かめてください。改善しない場合は、院内の配線や"
            "機器の確認を機器納入元に依頼し、それでも続く場合は回線事業者に回線品質の確認を"
            "依頼してください。"
        ),
        en=(
            "On Wi-Fi, check whether a cable connection helps. If not, ask the equipment vendor "
            "(機器納入元) to check the clinic's cabling and devices, and if the loss remains, ask "
            "the line provider (回線事業者) to check the line's quality."
        ),
    ),
)


def lossy(loss: Mapping[str, Any]) -> bool:
    """Enough round trips, a loss rate worth a warning, and shown with confidence."""
    from clinicnet.probes._exchange import wilson

    samples = int(loss.get("samples") or 0)
    lost = int(loss.get("lost") or 0)
    if samples < MIN_SAMPLES or lost / samples < LOSSY_ROUND_TRIP:
        return False
    low, _high = wilson(lost, samples)
    return low >= LOSSY_LOWER_BOUND


def check(ev: Evidence) -> Finding | None:
    loss: Mapping[str, Any] = ev.of(fragments_probe.SPEC).get("loss") or {}
    if not lossy(loss):
        return None
    return finding(
        FINDING,
        round_trip_loss_percent=round(100 * float(loss.get("round_trip", 0.0)), 1),
        one_way_loss_percent=round(100 * float(loss.get("one_way", 0.0)), 1),
        round_trips=loss.get("samples"),
        lost=loss.get("lost"),
        measured_from=loss.get("source"),
        reflector=ev.of(fragments_probe.SPEC).get("reflector"),
    )
