"""esp.blocked: ESP (IP protocol 50) does not reach the reflector.

The severity follows the combined NAT view (``_evidence.nat_view``: IKE, the reflector
or the trace): info when any of them saw a NAT, error when none did or NAT is unknown
(plain ESP must then be assumed to carry the data); ``nat`` shows each source's evidence.
"""

from __future__ import annotations

from clinicnet.model import Finding, Severity, Text
from clinicnet.probes import esp as esp_probe
from clinicnet.reports.findings._evidence import nat_view
from clinicnet.reports.findings.interface import Evidence, FindingSpec, finding

FINDING = FindingSpec(
    id="esp.blocked",
    severity=Severity.ERROR,
    g_refs=("G1",),
    title=Text(
        ja="暗号化したデータを運ぶ通信（ESP）が通りません",
        en="Encrypted VPN data (ESP) does not get through",
    ),
    summary=Text(
        ja=(
            "VPNで実際のデータを運ぶ「ESP」という種類の通信が、"
            "確認用の相手先まで届きませんでした。院内のルータがアドレス変換（NAT）"
            "をしている場合は、VPNがこのデータを別の形（UDP 4500番）"
            "に包んで運ぶため問題になりません。ルータがアドレス変換をしていない場合は、"
            "このままではVPNで通信できません。"
        ),
        en=(
            "The kind of traffic that carries the VPN's actual data (ESP) did not reach the "
            "test server. If the clinic's router translates addresses (NAT), the VPN wraps "
            "this data in UDP port 4500 instead and this does not matter. Without address "
            "translation, the VPN cannot carry data as things stand."
        ),
    ),
    technical=Text(
        ja=(
            "IP プロトコル 50（ESP）のパケットがリフレクタに届きませんでした。NAT が無い場合、"
            "IPsec のデータは ESP のまま流れるため、ESP "
            "が通ることが必須です（G1、重要度「エラー」）。NAT がある場合は NAT-T により ESP が "
            "UDP 4500 にカプセル化されるため、生の ESP "
            "が遮断されていても影響はありません（重要度「情報」）。TCP/UDP "
            "以外のプロトコルを通さない、または ESP を 1 "
            "セッションしか通さない小規模ルータもあります。"
        ),
        en=(
            "Packets of IP protocol 50 (ESP) did not reach the reflector. Without NAT, IPsec "
            "data travels as plain ESP, so ESP must pass (G1; severity error). With NAT, NAT-T "
            "encapsulates ESP in UDP 4500 and blocked plain ESP does no harm (severity info). "
            "Some small routers pass nothing but TCP and UDP, or pass only one ESP session."
        ),
    ),
    next_step=Text(
        ja=(
            "ルータがアドレス変換をしている構成では、対応は不要です（UDP 4500 "
            "番の結果を確認してください）。アドレス変換をしていない構成では、機器納入元に、"
            "ファイアウォールで IP プロトコル 50（ESP）を許可するか、NAT トラバーサル（UDP "
            "4500）で接続する設定にできるか相談してください。"
        ),
        en=(
            "Behind NAT nothing needs to be done (check the UDP 4500 result instead). Without "
            "NAT, ask the equipment vendor (機器納入元) to allow IP protocol 50 (ESP) in the "
            "firewall, or whether the VPN can be set up to use NAT traversal (UDP 4500)."
        ),
    ),
    severity_note="error when there is no NAT (plain ESP must pass); info when NAT is present (NAT-T "
        "carries ESP inside UDP 4500)",
)


def check(ev: Evidence) -> Finding | None:
    v = ev.of(esp_probe.SPEC)
    if v.get("esp_passes") is not False:
        return None
    nat = nat_view(ev)
    return finding(
        FINDING,
        Severity.INFO if nat.present else Severity.ERROR,
        nat_present=nat.present,
        nat=nat.evidence(),
        esp_in_udp_passes=v.get("esp_in_udp_passes"),
        reflectors=[
            {"reflector": r.get("reflector"), "address": r.get("address"),
             "esp": (r.get("esp") or {}).get("state"), "esp_in_udp": (r.get("esp_in_udp") or {}).get("state"),
             "reflector_answered": r.get("reflector_answered")}
            for r in v.get("reflectors", [])
        ],
    )
