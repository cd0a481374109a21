"""clock.skew: the PC clock is off by more than a few minutes: certificate checks in IKE and in the
applications can fail.
"""

from __future__ import annotations

from clinicnet.model import Finding, Severity, Text
from clinicnet.probes import internet as internet_probe
from clinicnet.probes import ntp as ntp_probe
from clinicnet.reports.findings.interface import Evidence, FindingSpec, finding

#: certificate checks tolerate little; Kerberos-style 5 minutes is the usual limit
CLOCK_SKEW_LIMIT_S = 300

FINDING = FindingSpec(
    id="clock.skew",
    severity=Severity.WARNING,
    g_refs=("G11",),
    title=Text(
        ja="パソコンの時計がずれています",
        en="The PC's clock is off",
    ),
    summary=Text(
        ja=(
            "このパソコンの時計が、正しい時刻から数分以上ずれています。"
            "VPNの接続には電子証明書を使うため、時計がずれていると、"
            "VPNの接続や各システムの利用に失敗することがあります。"
        ),
        en=(
            "This PC's clock is off by several minutes or more. The VPN uses electronic "
            "certificates, so a wrong clock can make the VPN or the applications fail."
        ),
    ),
    technical=Text(
        ja=(
            "PC の時計と外部の時刻源（HTTP の Date ヘッダや NTP）"
            "との差が許容値を超えていました（根拠を参照）。"
            "このシステムは電子証明書を併用しているため（G11）、IKE "
            "の証明書認証やアプリケーションの TLS で、"
            "証明書の有効期間の確認に失敗することがあります。"
        ),
        en=(
            "The difference between the PC clock and an external time source (HTTP Date "
            "header or NTP) exceeds the tolerance (see the evidence). The system relies on "
            "electronic certificates (G11), so certificate validity checks in IKE "
            "authentication and in the applications' TLS can fail."
        ),
    ),
    next_step=Text(
        ja=(
            "Windowsの「日付と時刻」の設定で「時刻を自動的に設定する」を有効にし、"
            "「今すぐ同期」を実行してください。改善しない場合は、"
            "機器納入元に相談してください。"
        ),
        en=(
            'In Windows "Date & time" settings, turn on "Set time automatically" and '
            'click "Sync now". If that does not help, consult the equipment vendor '
            "(機器納入元)."
        ),
    ),
)


def check(ev: Evidence) -> Finding | None:
    """NTP first (milliseconds, round trip taken out), else the web servers' Date headers (seconds).

    Both sources are shown when both measured, so a technician sees whether they agree.
    """
    ntp = ev.of(ntp_probe.SPEC)
    inet = ev.of(internet_probe.SPEC)
    ntp_offset = ntp.get("clock_offset_s")
    http_skew = inet.get("clock_skew_s")
    skew = ntp_offset if ntp_offset is not None else http_skew
    if skew is None or abs(skew) <= CLOCK_SKEW_LIMIT_S:
        return None
    return finding(
        FINDING,
        skew_seconds=skew,
        pc_clock="ahead" if skew > 0 else "behind",
        limit_seconds=CLOCK_SKEW_LIMIT_S,
        source="ntp" if ntp_offset is not None else "http-date",
        references=ntp.get("clock_references", []) if ntp_offset is not None else inet.get("clock_references", []),
        **({"http_date_skew_seconds": http_skew} if ntp_offset is not None and http_skew is not None else {}),
    )
