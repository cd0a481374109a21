"""The terminal report: what the clinic sees right after a run.

Plain text with optional ANSI colour (only when asked, i.e. on a TTY), because it
is also pasted into e-mails and chat. The verdict comes first so a receptionist
reading only the first lines already has the answer. Widths are counted with
East Asian width so Japanese tables line up, and only characters every Japanese
Windows code page has are used in aligned places.
"""

from __future__ import annotations

import re

from clinicnet.model import Severity, Status, Verdict
from clinicnet.reports import i18n
from clinicnet.reports.report import Report
from clinicnet.reports.textwidth import pad, wrap
from clinicnet.reports.textwidth import width as dwidth
from clinicnet.reports.verdict import notes as verdict_notes
from clinicnet.reports.view import (
    FindingView,
    counts_line,
    finding_views,
    format_value,
    host_summary,
    probe_duration,
    probe_reason,
    probe_title,
    unmeasured_views,
)

_RESET = "\x1b[0m"
_BOLD = "\x1b[1m"
_VERDICT_COLOR = {
    Verdict.READY: "\x1b[1;97;42m",
    Verdict.READY_WITH_WARNINGS: "\x1b[1;30;43m",
    Verdict.NOT_READY: "\x1b[1;97;41m",
    Verdict.INCONCLUSIVE: "\x1b[1;97;45m",
}
_SEVERITY_COLOR = {
    Severity.ERROR: "\x1b[1;31m",
    Severity.WARNING: "\x1b[1;33m",
    Severity.INFO: "\x1b[1;36m",
}
_STATUS_COLOR = {
    Status.OK: "\x1b[32m",
    Status.FAILED: "\x1b[31m",
    Status.SKIPPED: "\x1b[2m",
    Status.ERROR: "\x1b[35m",
}
#: verdict marks a Japanese reader knows (○△×); all exist in cp932
_VERDICT_MARK = {
    Verdict.READY: "○",
    Verdict.READY_WITH_WARNINGS: "△",
    Verdict.NOT_READY: "×",
    Verdict.INCONCLUSIVE: "?",
}

INDENT = "    "

#: control characters in measured strings (an ESC from a hostile DNS answer or
#: router name) must not reach the terminal
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _clean(s: str) -> str:
    return _CONTROL_RE.sub("?", s)


class _Out:
    """Collects lines; colours are applied only when enabled."""

    def __init__(self, color: bool, w: int) -> None:
        self.color = color
        self.w = w
        self.lines: list[str] = []

    def c(self, code: str, s: str) -> str:
        return f"{code}{s}{_RESET}" if self.color and code else s

    def add(self, s: str = "") -> None:
        self.lines.append(s)

    def para(self, text: str, indent: str = INDENT, first: str | None = None) -> None:
        """A wrapped paragraph; ``first`` replaces the indent on the first line (a label)."""
        lead = first if first is not None else indent
        avail = self.w - max(dwidth(lead), dwidth(indent))
        for i, line in enumerate(wrap(text, avail)):
            self.lines.append((lead if i == 0 else indent) + line)

    def heading(self, text: str) -> None:
        self.add()
        self.add(self.c(_BOLD, f"■ {text}"))
        self.add()


def render(report: Report, lang: str, color: bool = False, width: int = 80) -> str:
    """The report as terminal text; ``color`` adds ANSI colours (for a TTY only).

    ``width`` is the terminal width in columns (at least 60: the probe table needs it).
    """
    out = _Out(color, max(width, 60))
    _verdict(out, report, lang)
    _path(out, report, lang)
    _findings(out, report, lang)
    _unmeasured(out, report, lang)
    _probes(out, report, lang)
    _footer(out, report, lang)
    return "\n".join(out.lines).rstrip() + "\n"


def _verdict(out: _Out, report: Report, lang: str) -> None:
    v = report.verdict
    rule = "=" * out.w
    label = f" {i18n.t('verdict.label', lang)}: {_VERDICT_MARK[v]} {i18n.verdict_label(v, lang)}  [{v.value}] "
    out.add(rule)
    for line in wrap(label.strip(), out.w - 2):
        out.add(out.c(_VERDICT_COLOR[v], f" {line} "))
    for line in (i18n.verdict_meaning(v, lang), *verdict_notes(v, report.probes, lang)):
        out.para(line, indent=" ")
    out.add(rule)
    out.para(_clean(f"{i18n.t('report.title', lang)}  {report.created_at}  {host_summary(report)}"), indent="")
    if report.redacted:
        out.para(i18n.t("notice.redacted", lang), indent="")


def _path(out: _Out, report: Report, lang: str) -> None:
    from clinicnet.reports import path

    out.para(_clean(f"{path.section_title(lang)}: {path.render_text(path.build(report), lang)}"), indent="")


def _findings(out: _Out, report: Report, lang: str) -> None:
    views = finding_views(report, lang)
    out.heading(f"{i18n.t('section.findings', lang)} ({counts_line(report, lang)})")
    if not views:
        out.para(i18n.t("findings.none", lang), indent="  ")
        return
    for i, f in enumerate(views):
        if i:
            out.add()
        _finding(out, f, lang)


def _finding(out: _Out, f: FindingView, lang: str) -> None:
    tag = out.c(_SEVERITY_COLOR[f.severity], f"[{f.severity_label}]")
    out.add(f"{tag} {out.c(_BOLD, _clean(f.id))}")
    out.para(f.title, indent="  ")
    labels = [
        ("finding.summary", f.summary),
        ("finding.technical", f.technical),
    ]
    for key, text in labels:
        if text:
            out.add(f"  {i18n.t(key, lang)}:")
            out.para(text)
    if f.evidence:
        out.add(f"  {i18n.t('finding.evidence', lang)}:")
        for k, v in f.evidence:
            out.para(_clean(format_value(v)), indent=INDENT + "  ", first=f"{INDENT}{_clean(k)}: ")
    if f.next_step:
        out.add(f"  {out.c(_BOLD, i18n.t('finding.next_step', lang))}:")
        out.para(f.next_step)
    if f.g_refs:
        out.add(f"  {i18n.t('finding.g_refs', lang)}:")
        for g, text in f.g_refs:
            out.para(text, indent=INDENT + " " * (len(g) + 1), first=f"{INDENT}{g} ")


def _unmeasured(out: _Out, report: Report, lang: str) -> None:
    out.heading(i18n.t("section.unmeasured", lang))
    if not report.unmeasured:
        out.para(i18n.t("unmeasured.none", lang), indent="  ")
        return
    out.para(i18n.t("unmeasured.note", lang), indent="  ")
    for u in unmeasured_views(report, lang):
        out.para(_clean(u.why), indent="    ", first=f"  - {_clean(u.what)}: ")


def _probes(out: _Out, report: Report, lang: str) -> None:
    out.heading(i18n.t("section.probes", lang))
    if not report.probes:
        out.para(i18n.t("probe.none", lang), indent="  ")
        return
    rows = [
        (
            _clean(probe_title(p.name, lang)),
            p.status,
            i18n.status_label(p.status, lang),
            probe_duration(p),
            _clean(probe_reason(p, lang)),
        )
        for p in report.probes
    ]
    head = (i18n.t("probe.label", lang), i18n.t("status.label", lang), i18n.t("probe.duration", lang))
    w_name = max(dwidth(head[0]), *(dwidth(r[0]) for r in rows))
    w_status = max(dwidth(head[1]), *(dwidth(r[2]) for r in rows))
    w_dur = max(dwidth(head[2]), *(dwidth(r[3]) for r in rows))
    prefix_w = 2 + w_name + 2 + w_status + 2 + w_dur + 2
    reason_w = out.w - prefix_w
    out.add(
        (
            "  "
            + pad(head[0], w_name)
            + "  "
            + pad(head[1], w_status)
            + "  "
            + pad(head[2], w_dur, right=True)
            + "  "
            + (i18n.t("probe.reason", lang) if reason_w >= 20 else "")  # else it goes underneath
        ).rstrip()
    )
    out.add("  " + "-" * (out.w - 2))
    for name, status, status_text, dur, reason in rows:
        left = (
            "  "
            + pad(name, w_name)
            + "  "
            + out.c(_STATUS_COLOR[status], pad(status_text, w_status))
            + "  "
            + pad(dur, w_dur, right=True)
            + "  "
        )
        if reason_w >= 20:
            lines = wrap(reason, reason_w) if reason else [""]
            out.add((left + lines[0]).rstrip())
            for line in lines[1:]:
                out.add(" " * prefix_w + line)
        else:  # too narrow for a reason column: put it underneath
            out.add(left.rstrip())
            if reason:
                out.para(reason, indent=INDENT + "  ")


def _footer(out: _Out, report: Report, lang: str) -> None:
    out.add()
    out.add("-" * out.w)
    out.para(
        _clean(
            f"clinicnet {report.clinicnet_version}  {i18n.t('footer.schema', lang)}: {report.schema}  "
            f"{i18n.t('footer.created_at', lang)}: {report.created_at}"
        ),
        indent="",
    )
