"""From findings and what could not be measured to one verdict.

Order matters: a measured error makes the network not ready whatever else is
missing; otherwise a missing essential measurement makes the answer
inconclusive (never a guessed "ready"); then a measurement that decides the VPN
on *this* path but was not made (``gaps``) makes it at best "ready, with
warnings"; then warnings; then ready.

Why a gap caps at ``ready_with_warnings`` and not ``inconclusive``: the README
keeps "inconclusive" for the essentials (internet reachability and the IKE path
to the gateway), which every run can measure. Plain ESP needs a reflector and
raw sockets (administrator, and Npcap on Windows), which most runs lack; on a
line without NAT it decides whether data flows once IKE connects. So the
answer is "the VPN should work, with one thing not yet known", said on the
verdict line and in "not measured" with how to measure it, never a plain
"ready".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from clinicnet.model import Finding, ProbeResult, Severity, Status, Text, Unmeasured, Verdict
from clinicnet.reports.findings._evidence import nat_view
from clinicnet.reports.findings.interface import Evidence

#: probes without which "can this network carry the VPN" has no answer
ESSENTIAL = ("internet", "ike")


@dataclass(frozen=True)
class Gap:
    """A measurement that decides the VPN on this path and was not made."""

    #: what was not measured, as the "not measured" list names it (a probe name, or ``nat``)
    what: str
    #: for the "not measured" list (English, like the probes' reasons): why it matters and how to measure it
    why: str
    #: for the verdict line, in the report's language (one line per cause, so not every gap has one)
    line: Text | None = None


def gaps(results: Iterable[ProbeResult]) -> list[Gap]:
    """Deciding measurements not made: plain ESP on a path without NAT, or with NAT unknown.

    With NAT (any source, ``_evidence.nat_view``) ESP rides in UDP 4500 and plain
    ESP does not matter, so there is no gap.
    """
    ev = Evidence(results)
    esp = ev.result("esp")
    if ev.measured("esp") and ev.values("esp").get("esp_passes") is not None:
        return []
    nat = nat_view(ev)
    if nat.present:
        return []
    how = _HOW[_esp_cause(esp)]
    if nat.present is False:
        return [Gap("esp", f"{_NO_NAT.en} {how.en} {_CAPPED}", _joined(_NO_NAT, how))]
    unknown = "; ".join(_SILENT[s.said].format(source=s.source) for s in nat.sources if s.said in _SILENT)
    return [
        Gap("nat", f"no source told whether this line has NAT ({unknown}), and that decides whether plain ESP "
                   f"must pass. {_HOW_NAT} {_CAPPED}"),
        Gap("esp", f"{_ESP_IF_NO_NAT} {how.en} {_CAPPED}", _joined(_NAT_UNKNOWN, how)),
    ]


def notes(verdict: Verdict, results: Iterable[ProbeResult], lang: str) -> list[str]:
    """Lines the verdict line adds when a gap held it below "ready" (for the renderers).

    ``clinicnet report`` renders saved files, which are input: probe values of the wrong
    shape there cost the note, never the report.
    """
    if verdict is not Verdict.READY_WITH_WARNINGS:
        return []
    try:
        found = gaps(results)
    except (AttributeError, KeyError, TypeError, ValueError):
        return []
    return [g.line.get(lang) for g in found if g.line is not None]


def unmeasured_from(results: Iterable[ProbeResult]) -> list[Unmeasured]:
    """Skipped and errored probes with their reasons, and the gaps with why they matter."""
    results = list(results)
    found = {g.what: g for g in gaps(results)}
    out: list[Unmeasured] = []
    for r in results:
        if r.status in (Status.SKIPPED, Status.ERROR):
            why = r.reason or r.status.value
            gap = found.pop(r.name, None)
            out.append(Unmeasured(what=r.name, why=f"{why}; {gap.why}" if gap else why))
        elif r.name in found:  # e.g. esp "ok" without a verdict on plain ESP (not expected, but said)
            out.append(Unmeasured(what=r.name, why=found.pop(r.name).why))
    out.extend(Unmeasured(what=g.what, why=g.why) for g in found.values())
    return out


def decide(findings: Sequence[Finding], results: Sequence[ProbeResult]) -> Verdict:
    if any(f.severity is Severity.ERROR for f in findings):
        return Verdict.NOT_READY
    by_name = {r.name: r for r in results}
    for name in ESSENTIAL:
        r = by_name.get(name)
        if r is None or r.status in (Status.SKIPPED, Status.ERROR):
            return Verdict.INCONCLUSIVE
    if gaps(results) or any(f.severity is Severity.WARNING for f in findings):
        return Verdict.READY_WITH_WARNINGS
    return Verdict.READY


# --- the gaps' texts ----------------------------------------------------------------------


def _joined(*texts: Text) -> Text:
    return Text(ja="".join(t.ja for t in texts), en=" ".join(t.en for t in texts))


def _esp_cause(esp: ProbeResult | None) -> str:
    """Why plain ESP was not measured, from reason codes where the probe sets them, else its values."""
    if esp is None:
        return "not_run"
    code = esp.reason_code
    if code == "no_reflector" or (esp.status is Status.SKIPPED and not esp.values.get("reflectors")):
        return "no_reflector"
    if code == "no_privileges" or esp.values.get("privileged") is False:
        return "no_privileges"
    if code in ("no_raw_sockets", "no_npcap") or esp.status is Status.SKIPPED:
        return "no_raw_sockets"
    return "error"


_NO_NAT = Text(
    ja=(
        "このネットワークにはアドレス変換（NAT）が無いため、VPN のデータは ESP（IP プロトコル 50）"
        "のまま流れます。ESP が通るかどうかは VPN を使えるかを左右しますが、測定できませんでした。"
    ),
    en=(
        "ESP was not measured, and this line has no NAT: the VPN's data travels as plain ESP "
        "(IP protocol 50) here, so whether ESP passes decides the VPN."
    ),
)
_NAT_UNKNOWN = Text(
    ja=(
        "アドレス変換（NAT）の有無も、ESP（IP プロトコル 50）が通るかどうかも測定できませんでした。"
        "NAT が無い場合、VPN のデータは ESP のまま流れるため、ESP が通ることが必要です。"
    ),
    en=(
        "Neither whether this line has NAT nor whether ESP passes was measured: without NAT the "
        "VPN's data travels as plain ESP (IP protocol 50), which must then pass."
    ),
)
#: what each NAT source said when it could not tell (``_evidence.NatSource.said``)
_SILENT = {
    "not_measured": "{source}: NAT not measured",
    "no_nat_seen": "{source}: no private NAT layer seen, which does not prove there is none",
}
#: the gaps' entries in "not measured": each says that it limits the verdict and how to measure it
_CAPPED = "Until it is measured the verdict is at most ready_with_warnings."
_HOW_NAT = "To measure it: run again with a reflector (--reflector HOST)."
_ESP_IF_NO_NAT = (
    "if this line has no NAT, the VPN's data travels as plain ESP (IP protocol 50), so whether ESP "
    "passes decides the VPN."
)
_HOW = {
    "no_reflector": Text(
        ja="測定するには、リフレクタを指定して（--reflector ホスト名）管理者として実行してください"
        "（Windows では Npcap も必要です）。",
        en="To measure it: run again with a reflector (--reflector HOST), as administrator "
        "(on Windows with Npcap installed).",
    ),
    "no_privileges": Text(
        ja="測定するには、管理者として実行してください（Windows では Npcap も必要です）。",
        en="To measure it: run again as administrator (root on Linux; on Windows Npcap is needed too).",
    ),
    "no_raw_sockets": Text(
        ja="測定するには、ESP の送受信に必要な Npcap をインストールし（Windows）、管理者として実行してください。",
        en="To measure it: plain ESP needs raw sockets; on Windows install Npcap and run again as administrator.",
    ),
    "error": Text(
        ja="測定するには、応答するリフレクタを指定して（--reflector ホスト名）管理者として実行してください"
        "（Windows では Npcap も必要です）。",
        en="To measure it: run again with a reflector that answers (--reflector HOST), as administrator "
        "(on Windows with Npcap installed).",
    ),
}
_HOW["not_run"] = _HOW["error"]
