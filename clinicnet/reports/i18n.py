"""UI strings of the readable reports, in Japanese and English.

Japanese is the primary language (clinic staff read the report); English is for
vendor technicians and for us. Every key must exist in both languages, which a
test checks, so a renderer never shows a raw key to a receptionist. Finding
texts are not here: they live with their ids in ``reports.catalogue``; probe
titles and reasons live in each probe's ``SPEC`` (``clinicnet.probes``).
"""

from __future__ import annotations

from typing import Final, Literal

from clinicnet.model import Severity, Status, Verdict

Lang = Literal["ja", "en"]

#: the languages every key must have
LANGS: Final[tuple[Lang, ...]] = ("ja", "en")


def norm_lang(lang: str | None) -> Lang:
    """Map what a user or the OS says (``ja_JP.UTF-8``, ``ja-JP``, ``EN``) to ``ja``/``en``.

    Anything not Japanese falls back to English: a technician abroad can read it,
    and a Japanese clinic PC reports ``ja`` anyway.
    """
    if lang and lang.strip().lower().replace("-", "_").split("_")[0].split(".")[0] == "ja":
        return "ja"
    return "en"


_S: Final[dict[str, dict[str, str]]] = {
    # --- the report as a whole -------------------------------------------------------
    "report.title": {
        "ja": "clinicnet ネットワーク診断レポート",
        "en": "clinicnet network diagnostic report",
    },
    "report.subtitle": {
        "ja": "オンライン請求・オンライン資格確認（IPsec+IKE VPN）を利用できるかの診断結果です。",
        "en": "Can this network carry the IPsec+IKE VPN for online billing and online eligibility confirmation?",
    },
    # --- verdicts -------------------------------------------------------------------------
    "verdict.label": {"ja": "判定", "en": "Verdict"},
    "verdict.ready": {"ja": "VPN を利用できる見込みです", "en": "Ready"},
    "verdict.ready.meaning": {
        "ja": "測定した範囲では、VPN の利用を妨げる問題は見つかりませんでした。",
        "en": "Nothing that was measured stands in the way of the VPN.",
    },
    "verdict.ready_with_warnings": {
        "ja": "VPN を利用できる見込みです（注意点があります）",
        "en": "Ready, with warnings",
    },
    "verdict.ready_with_warnings.meaning": {
        "ja": "VPN は利用できる見込みですが、接続が不安定になるなどの原因になり得る点があります。",
        "en": "The VPN should work, but something found here can make it unreliable.",
    },
    "verdict.not_ready": {
        "ja": "このままでは VPN を利用できません",
        "en": "Not ready",
    },
    "verdict.not_ready.meaning": {
        "ja": "VPN の接続を妨げる問題が見つかりました。各項目の「次の対応」をご確認ください。",
        "en": "Something found here prevents the VPN; see each finding's next step.",
    },
    "verdict.inconclusive": {"ja": "判定できませんでした", "en": "Inconclusive"},
    "verdict.inconclusive.meaning": {
        "ja": "必要な測定ができなかったため、VPN を利用できるかどうかを判断できませんでした。"
        "「測定できなかった項目」をご確認ください。",
        "en": "Measurements needed for a verdict could not be made; see what was not measured.",
    },
    # --- severities -------------------------------------------------------------------
    "severity.label": {"ja": "重要度", "en": "Severity"},
    "severity.error": {"ja": "エラー", "en": "Error"},
    "severity.warning": {"ja": "注意", "en": "Warning"},
    "severity.info": {"ja": "情報", "en": "Info"},
    # --- probe statuses ---------------------------------------------------------------
    "status.label": {"ja": "状態", "en": "Status"},
    "status.ok": {"ja": "正常", "en": "OK"},
    "status.failed": {"ja": "問題あり", "en": "Failed"},
    "status.skipped": {"ja": "省略", "en": "Skipped"},
    "status.error": {"ja": "測定エラー", "en": "Error"},
    # --- section headings -------------------------------------------------------------
    "section.findings": {"ja": "検出事項", "en": "Findings"},
    "section.unmeasured": {"ja": "測定できなかった項目", "en": "Not measured"},
    "section.probes": {"ja": "測定の詳細", "en": "Probe results"},
    "section.environment": {"ja": "実行環境", "en": "Environment"},
    # --- labels inside a finding --------------------------------------------------------
    "finding.id": {"ja": "ID", "en": "ID"},
    "finding.title": {"ja": "内容", "en": "Title"},
    "finding.summary": {"ja": "概要", "en": "Summary"},
    "finding.technical": {"ja": "技術的な説明（技術者向け）", "en": "Technical details"},
    "finding.evidence": {"ja": "根拠（測定値）", "en": "Evidence"},
    "finding.next_step": {"ja": "次の対応", "en": "Next step"},
    "finding.g_refs": {"ja": "ガイドの該当箇所", "en": "Guide references"},
    "finding.unknown": {
        "ja": "この版の clinicnet には説明が登録されていない検出事項です。",
        "en": "This version of clinicnet has no description for this finding.",
    },
    "findings.none": {
        "ja": "問題は見つかりませんでした。",
        "en": "No findings.",
    },
    # --- unmeasured -------------------------------------------------------------------
    "unmeasured.what": {"ja": "項目", "en": "What"},
    "unmeasured.why": {"ja": "理由", "en": "Why"},
    "unmeasured.none": {
        "ja": "すべての項目を測定しました。",
        "en": "Everything was measured.",
    },
    "unmeasured.note": {
        "ja": "以下は測定できなかった項目です（問題が無いという意味ではありません）。"
        "判定を制限する項目には、その理由と測定する方法を記載しています。",
        "en": "These could not be measured (which does not mean they are fine); where one limits the verdict, "
        "its entry says so and how to measure it.",
    },
    # --- probe table ------------------------------------------------------------------
    "probe.label": {"ja": "項目", "en": "Probe"},
    "probe.duration": {"ja": "所要時間", "en": "Duration"},
    "probe.reason": {"ja": "説明", "en": "Reason"},
    "probe.values": {"ja": "測定値", "en": "Values"},
    "probe.started_at": {"ja": "開始時刻", "en": "Started"},
    "probe.no_values": {"ja": "（測定値なし）", "en": "(no values)"},
    "probe.none": {"ja": "測定結果がありません。", "en": "No probe results."},
    # --- footer / environment -----------------------------------------------------------
    "footer.version": {"ja": "clinicnet バージョン", "en": "clinicnet version"},
    "footer.schema": {"ja": "形式", "en": "Schema"},
    "footer.created_at": {"ja": "作成日時", "en": "Created"},
    "footer.host": {"ja": "パソコン", "en": "Host"},
    "footer.settings": {"ja": "診断の設定", "en": "Settings"},
    "notice.redacted": {
        "ja": "このレポートでは IP アドレス・MAC アドレス・ホスト名を伏せ字にしています"
        "（同じ値には同じ伏せ字を使っています）。",
        "en": "IP addresses, MAC addresses and host names in this report are masked "
        "(the same value always gets the same mask).",
    },
    "notice.not_redacted": {
        "ja": "このレポートには IP アドレスやホスト名がそのまま含まれています。",
        "en": "This report contains IP addresses and host names as measured.",
    },
    # --- the guide's facts, short (findings.md G1-G11) ----------------------------------
    "g.G1": {
        "ja": "IPsec+IKE 方式でなければ動作しません",
        "en": "The systems work only over IPsec+IKE",
    },
    "g.G2": {
        "ja": "IPsec+IKE にはサービス提供事業者との別途契約が必要です",
        "en": "IPsec+IKE needs a separate contract with a service provider",
    },
    "g.G3": {
        "ja": "回線事業者はこのシステムのサポートをしません（機器納入元へ）",
        "en": "The ISP does not support the systems: contact the equipment vendor",
    },
    "g.G4": {
        "ja": "VPN 接続中は一般のインターネットは使えません（仕様であり障害ではありません）",
        "en": "While the VPN is connected there is no general internet (by design, not a fault)",
    },
    "g.G5": {
        "ja": "オンライン請求とオンライン資格確認は同じ VPN・同じ接続先です",
        "en": "Online billing and eligibility confirmation use the same VPN and destination",
    },
    "g.G6": {
        "ja": "開通済みの回線・IPsec+IKE の契約・利用申請が必要です",
        "en": "Needed: a working line, the IPsec+IKE contract and the application",
    },
    "g.G7": {
        "ja": "グローバル IP アドレスは不要、推奨速度は 100〜120 Mbps 級です",
        "en": "No global IP needed; 100-120 Mbps class service recommended",
    },
    "g.G8": {
        "ja": "IPv6 アドレスは不要で、IPv6 に切り替える必要もありません",
        "en": "No IPv6 address needed, and no need to switch to IPv6",
    },
    "g.G9": {
        "ja": "Wi-Fi 付きモデムの後ろのルータは動作しますが全機器で検証済みではありません",
        "en": "A router behind a Wi-Fi cable modem works but is not verified for every device",
    },
    "g.G10": {
        "ja": "ルータ型は LAN 内の複数台で、PC キー型はその PC だけで使えます",
        "en": "Router type serves the whole LAN; PC-key type serves only its one PC",
    },
    "g.G11": {
        "ja": "IPsec+IKE と電子証明書を併用するシステムです",
        "en": "The system combines IPsec+IKE with electronic certificates",
    },
}


def keys() -> tuple[str, ...]:
    """All keys, for the test that checks both languages exist."""
    return tuple(_S)


def t(key: str, lang: str) -> str:
    """The UI string for ``key``; a KeyError is a bug in a renderer (tests catch it)."""
    return _S[key][norm_lang(lang)]


def verdict_label(verdict: Verdict, lang: str) -> str:
    return t(f"verdict.{verdict.value}", lang)


def verdict_meaning(verdict: Verdict, lang: str) -> str:
    return t(f"verdict.{verdict.value}.meaning", lang)


def severity_label(severity: Severity, lang: str) -> str:
    return t(f"severity.{severity.value}", lang)


def status_label(status: Status, lang: str) -> str:
    return t(f"status.{status.value}", lang)


def g_ref_text(ref: str, lang: str) -> str:
    """``G4`` -> its one-line meaning; unknown refs are shown as they are."""
    s = _S.get(f"g.{ref}")
    return s[norm_lang(lang)] if s else ""
