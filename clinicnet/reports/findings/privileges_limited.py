"""privileges.limited: run without administrator rights: the probes that need raw sockets were
skipped.
"""

from __future__ import annotations

from clinicnet.model import Finding, ProbeResult, Severity, Status, Text
from clinicnet.probes import privileges as privileges_probe
from clinicnet.reports.findings.interface import Evidence, FindingSpec, finding

#: the probes' machine-readable causes (``ProbeResult.reason_code``) of "skipped for
#: want of rights, raw sockets or Npcap"
RAW_SKIP_CODES = frozenset({"no_privileges", "no_raw_sockets", "no_npcap"})
#: words that said the same in the English reasons of results written before
#: reason codes existed (clinicnet 0.1 files read back by ``clinicnet report``)
_RAW_SKIP_WORDS = ("privilege", "administrator", "raw socket", "raw-packet", "npcap")

FINDING = FindingSpec(
    id="privileges.limited",
    severity=Severity.INFO,
    g_refs=(),
    title=Text(
        ja="管理者権限なしで実行したため、一部の確認を省略しました",
        en="Run without administrator rights: some checks were skipped",
    ),
    summary=Text(
        ja=(
            "この診断は管理者権限なしで実行されたため、"
            "一部の詳しい確認（暗号化データの通信や、分割された通信の確認など）"
            "を行っていません。省略した項目は「測定できなかった項目」に記載しています。"
            "より正確に診断するには、管理者として実行してください。"
        ),
        en=(
            "This diagnosis ran without administrator rights, so some detailed checks (such "
            "as encrypted VPN data and fragmented packets) were not done. The skipped items "
            'are listed under "Not measured". For a complete diagnosis, run it as '
            "administrator."
        ),
    ),
    technical=Text(
        ja=(
            "raw ソケットを必要とするプローブ（ESP、IP フラグメント、一部の ICMP・経路 MTU "
            "の測定など）をスキップしました。"
            "スキップした項目は「測定できなかった項目」に記載しており、"
            "問題が無いことを意味するものではありません。"
        ),
        en=(
            "Probes that need raw sockets (ESP, IP fragments, some ICMP and path-MTU "
            'measurements) were skipped. They are listed under "Not measured"; a skipped '
            "probe does not mean there is no problem."
        ),
    ),
    next_step=Text(
        ja=(
            "可能であれば、管理者として実行して（Windows "
            "では右クリックして「管理者として実行」）もう一度診断してください。"
            "管理者のパスワードが分からない場合は、機器納入元に相談してください。"
        ),
        en=(
            "If possible, run the diagnosis again as administrator (on Windows: right-click, "
            '"Run as administrator"). If you do not have the administrator password, '
            "consult the equipment vendor (機器納入元)."
        ),
    ),
)


def check(ev: Evidence) -> Finding | None:
    p = ev.of(privileges_probe.SPEC)
    # Administrator without raw sockets counts too: on Windows the raw probes also
    # need Npcap, and the technician must learn which probes that cost.
    if p and (not p.get("admin") or p.get("raw_sockets") is False):
        results = ev.all()
        coded = any(r.reason_code for r in results)
        skipped = [r.name for r in results if r.status is Status.SKIPPED and _for_want_of_rights(r, coded)]
        return finding(
            FINDING,
            platform=p.get("platform"),
            raw_sockets=p.get("raw_sockets_reason"),
            skipped_probes=skipped,
        )
    return None


def _for_want_of_rights(r: ProbeResult, coded: bool) -> bool:
    """Match the cause, not the wording: reasons are prose that may be reworded or
    translated. Only a result file with no reason code at all (written before they
    existed) falls back to the words its English reasons used."""
    if coded:
        return r.reason_code in RAW_SKIP_CODES
    reason = r.reason.lower()
    return any(w in reason for w in _RAW_SKIP_WORDS)
