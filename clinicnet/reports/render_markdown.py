"""The report as Markdown, for pasting into a support ticket.

Targets the common ground of GitHub, Redmine (CommonMark) and Backlog: headings,
pipe tables, bullet lists, code spans and fenced blocks, no raw HTML. Measured
strings are escaped so a hostile value cannot inject markup or links into the
ticket: evidence goes into code spans (which render nothing), other text has
Markdown and HTML metacharacters escaped. Probe values are left to the attached
JSON; the table here is a summary.
"""

from __future__ import annotations

import re

from clinicnet.model import JSONValue
from clinicnet.reports import i18n
from clinicnet.reports.report import Report
from clinicnet.reports.verdict import notes as verdict_notes
from clinicnet.reports.view import (
    FindingView,
    counts_line,
    finding_views,
    format_json,
    format_value,
    host_summary,
    probe_duration,
    probe_reason,
    probe_title,
    unmeasured_views,
)

_VERDICT_MARK = {"ready": "○", "ready_with_warnings": "△", "not_ready": "×", "inconclusive": "?"}

#: characters with a meaning anywhere in a line (``_`` is handled apart: only at word edges)
_MD_SPECIAL_RE = re.compile(r"([\\`*\[\]|~])")
#: what would start a heading, list or quote at the start of a line
_MD_LINE_START_RE = re.compile(r"^(?:(?P<mark>#|[-+](?=\s))|(?P<num>\d+)(?P<dot>[.)])(?=\s))")
#: ``_`` that could open or close emphasis (intraword ``IKE_SA_INIT`` cannot)
_MD_UNDERSCORE_RE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: inline code longer than this goes into a fenced block
_INLINE_MAX = 100


def esc(s: str) -> str:
    """Measured or translated text as inert Markdown on one line."""
    s = _CONTROL_RE.sub("?", s).replace("\r\n", " ").replace("\n", " ")
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = _MD_SPECIAL_RE.sub(r"\\\1", s)
    s = _MD_UNDERSCORE_RE.sub(r"\\_", s)
    return _MD_LINE_START_RE.sub(
        lambda m: "\\" + m.group("mark") if m.group("mark") else m.group("num") + "\\" + m.group("dot"), s
    )


def code(s: str, *, in_table: bool = False) -> str:
    """``s`` as a code span whatever backticks it contains (CommonMark rules)."""
    s = _CONTROL_RE.sub("?", s).replace("\r\n", " ").replace("\n", " ")
    if in_table:
        s = s.replace("|", "\\|")  # GFM splits cells on | even inside code spans
    longest = max((len(m) for m in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or not s.strip() else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def fenced(s: str, info: str = "") -> list[str]:
    """A fenced block that no content can close early."""
    s = _CONTROL_RE.sub("?", s)
    longest = max((len(m) for m in re.findall(r"`{3,}", s)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{info}", *s.split("\n"), fence]


def render(report: Report, lang: str) -> str:
    """The whole report as one Markdown document."""
    out: list[str] = []
    v = report.verdict
    out.append(f"# {esc(i18n.t('report.title', lang))}")
    out.append("")
    out.append(esc(i18n.t("report.subtitle", lang)))
    out.append("")
    out.append(
        f"## {esc(i18n.t('verdict.label', lang))}: {_VERDICT_MARK[v.value]} "
        f"{esc(i18n.verdict_label(v, lang))} ({code(v.value)})"
    )
    out.append("")
    out.append(f"**{esc(i18n.verdict_meaning(v, lang))}**")
    out.extend(f"\n{esc(line)}" for line in verdict_notes(v, report.probes, lang))
    out.append("")
    out.append(f"{esc(i18n.t('section.findings', lang))}: {esc(counts_line(report, lang))}")
    if report.redacted:
        out.append("")
        out.append(f"> {esc(i18n.t('notice.redacted', lang))}")
    out.append("")
    _findings(out, report, lang)
    _unmeasured(out, report, lang)
    _probes(out, report, lang)
    _footer(out, report, lang)
    return "\n".join(out).rstrip() + "\n"


def _findings(out: list[str], report: Report, lang: str) -> None:
    views = finding_views(report, lang)
    out.append(f"## {esc(i18n.t('section.findings', lang))}")
    out.append("")
    if not views:
        out.append(esc(i18n.t("findings.none", lang)))
        out.append("")
        return
    out.append(
        f"| {esc(i18n.t('finding.id', lang))} | {esc(i18n.t('severity.label', lang))} "
        f"| {esc(i18n.t('finding.title', lang))} |"
    )
    out.append("|---|---|---|")
    for f in views:
        out.append(f"| {code(f.id, in_table=True)} | {esc(f.severity_label)} | {esc(f.title)} |")
    out.append("")
    for f in views:
        _finding(out, f, lang)


def _finding(out: list[str], f: FindingView, lang: str) -> None:
    out.append(f"### [{esc(f.severity_label)}] {esc(f.title)} ({code(f.id)})")
    out.append("")
    out.append(esc(f.summary))
    out.append("")
    if f.technical:
        out.append(f"**{esc(i18n.t('finding.technical', lang))}**")
        out.append("")
        out.append(esc(f.technical))
        out.append("")
    if f.evidence:
        out.append(f"**{esc(i18n.t('finding.evidence', lang))}**")
        out.append("")
        for k, v in f.evidence:
            _evidence_item(out, k, v)
        out.append("")
    if f.next_step:
        out.append(f"**{esc(i18n.t('finding.next_step', lang))}**")
        out.append("")
        out.append(esc(f.next_step))
        out.append("")
    if f.g_refs:
        refs = "; ".join(f"{g} {esc(text)}" for g, text in f.g_refs)
        out.append(f"**{esc(i18n.t('finding.g_refs', lang))}:** {refs}")
        out.append("")


def _evidence_item(out: list[str], key: str, value: JSONValue) -> None:
    inline = format_value(value)
    if "\n" not in inline and len(inline) <= _INLINE_MAX:
        out.append(f"- {code(key)}: {code(inline)}")
        return
    out.append(f"- {code(key)}:")
    out.append("")
    body = value if isinstance(value, str) else format_json(value)
    out.extend("  " + line if line else "" for line in fenced(body, "" if isinstance(value, str) else "json"))


def _unmeasured(out: list[str], report: Report, lang: str) -> None:
    out.append(f"## {esc(i18n.t('section.unmeasured', lang))}")
    out.append("")
    if not report.unmeasured:
        out.append(esc(i18n.t("unmeasured.none", lang)))
        out.append("")
        return
    out.append(esc(i18n.t("unmeasured.note", lang)))
    out.append("")
    for u in unmeasured_views(report, lang):
        what = f"{esc(u.what)} ({code(u.name)})" if u.name else code(u.what)
        out.append(f"- {what}: {esc(u.why)}")
    out.append("")


def _probes(out: list[str], report: Report, lang: str) -> None:
    out.append(f"## {esc(i18n.t('section.probes', lang))}")
    out.append("")
    if not report.probes:
        out.append(esc(i18n.t("probe.none", lang)))
        out.append("")
        return
    out.append(
        f"| {esc(i18n.t('probe.label', lang))} | {esc(i18n.t('status.label', lang))} "
        f"| {esc(i18n.t('probe.duration', lang))} | {esc(i18n.t('probe.reason', lang))} |"
    )
    out.append("|---|---|---:|---|")
    for p in report.probes:
        label = probe_title(p.name, lang)
        name = esc(label) if label == p.name else f"{esc(label)} ({code(p.name, in_table=True)})"
        dur = probe_duration(p)
        out.append(f"| {name} | {esc(i18n.status_label(p.status, lang))} | {dur} | {esc(probe_reason(p, lang))} |")
    out.append("")


def _footer(out: list[str], report: Report, lang: str) -> None:
    out.append("---")
    out.append("")
    parts = [
        f"clinicnet {esc(report.clinicnet_version)}",
        f"{esc(i18n.t('footer.schema', lang))}: {code(report.schema)}",
        f"{esc(i18n.t('footer.created_at', lang))}: {esc(report.created_at)}",
        f"{esc(i18n.t('footer.host', lang))}: {esc(host_summary(report))}",
    ]
    out.append(" · ".join(parts))
    out.append("")
    out.append(esc(i18n.t("notice.redacted" if report.redacted else "notice.not_redacted", lang)))
