"""What every renderer shows, computed once: findings joined with their catalogue texts.

The renderers differ only in markup. Putting the joining (catalogue lookup,
fallback for ids this version does not know, G-reference texts, value
formatting) here keeps the text, Markdown and HTML reports saying the same thing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from clinicnet.model import Finding, JSONValue, ProbeResult, Severity, Status, Unmeasured
from clinicnet.probes import registry
from clinicnet.reports import catalogue, i18n
from clinicnet.reports.report import Report


@dataclass(frozen=True)
class FindingView:
    """One finding as a reader sees it, in one language."""

    id: str
    #: the severity in this situation (may differ from the catalogue's default)
    severity: Severity
    severity_label: str
    #: False for an id this clinicnet does not know (a result from a newer version)
    known: bool
    title: str
    summary: str
    technical: str
    next_step: str
    #: (``G4``, its one-line meaning)
    g_refs: tuple[tuple[str, str], ...]
    #: raw evidence, in the order the rule gave it
    evidence: tuple[tuple[str, JSONValue], ...]


def finding_view(f: Finding, lang: str) -> FindingView:
    e = catalogue.get(f.id)
    evidence = tuple((str(k), v) for k, v in f.evidence.items())
    if e is None:
        return FindingView(
            id=f.id,
            severity=f.severity,
            severity_label=i18n.severity_label(f.severity, lang),
            known=False,
            title=f.id,
            summary=i18n.t("finding.unknown", lang),
            technical="",
            next_step="",
            g_refs=(),
            evidence=evidence,
        )
    return FindingView(
        id=f.id,
        severity=f.severity,
        severity_label=i18n.severity_label(f.severity, lang),
        known=True,
        title=e.title.get(i18n.norm_lang(lang)),
        summary=e.summary.get(i18n.norm_lang(lang)),
        technical=e.technical.get(i18n.norm_lang(lang)),
        next_step=e.next_step.get(i18n.norm_lang(lang)),
        g_refs=tuple((g, i18n.g_ref_text(g, lang)) for g in e.g_refs),
        evidence=evidence,
    )


def finding_views(report: Report, lang: str) -> list[FindingView]:
    """Most severe first, then by id: the order every renderer uses."""
    return [finding_view(f, lang) for f in report.findings_by_severity()]


def probe_title(name: str, lang: str) -> str:
    """The probe's SPEC title (the progress line's words); a probe this version does not
    know (a result from a newer clinicnet) shows its raw name."""
    return registry.title(name, i18n.norm_lang(lang))


def probe_reason(p: ProbeResult, lang: str) -> str:
    """The probe's one-line reason in ``lang``, from its code; the stored English
    sentence when this version cannot render the code."""
    return registry.reason(p, i18n.norm_lang(lang))


@dataclass(frozen=True)
class UnmeasuredView:
    #: the probe's title, or the entry as written
    what: str
    why: str
    #: the probe's raw name when ``what`` is its title, else None
    name: str | None = None


def unmeasured_views(report: Report, lang: str) -> list[UnmeasuredView]:
    """What was not measured, with a probe's title and its reason in ``lang``.

    An entry made from a skipped or failed probe (``verdict.unmeasured_from``:
    what = probe name, why = its reason) is rendered from that probe's reason
    code; anything else (a broken rule) is shown as written.
    """
    out: list[UnmeasuredView] = []
    for u in report.unmeasured:
        p = next((p for p in report.probes if p.name == u.what and _made_from(u, p)), None)
        if p is not None:
            why = probe_reason(p, lang) if p.reason else i18n.status_label(p.status, lang)
            title = probe_title(p.name, lang)
            out.append(UnmeasuredView(title, why, p.name if title != p.name else None))
        else:
            out.append(UnmeasuredView(u.what, u.why))
    return out


def _made_from(u: Unmeasured, p: ProbeResult) -> bool:
    return u.why in (p.reason, p.status.value)


def severity_counts(report: Report) -> dict[Severity, int]:
    counts = {s: 0 for s in (Severity.ERROR, Severity.WARNING, Severity.INFO)}
    for f in report.findings:
        counts[f.severity] += 1
    return counts


def counts_line(report: Report, lang: str) -> str:
    """``エラー 1 / 注意 2 / 情報 0``: the findings at a glance."""
    return " / ".join(f"{i18n.severity_label(s, lang)} {n}" for s, n in severity_counts(report).items())


def format_value(v: JSONValue) -> str:
    """One value on one line: strings as they are, everything else as compact JSON.

    JSON rather than a translated "はい/いいえ" because evidence is read by the
    technician and must match the JSON result exactly.
    """
    if isinstance(v, str):
        return v
    try:
        return json.dumps(v, ensure_ascii=False, separators=(", ", ": "), default=str)
    except (TypeError, ValueError):
        return repr(v)


def format_json(v: JSONValue) -> str:
    """Indented JSON for a ``<pre>`` or a code block."""
    try:
        return json.dumps(v, ensure_ascii=False, indent=2, default=str)
    except (TypeError, ValueError):
        return repr(v)


def format_duration(seconds: float) -> str:
    if seconds < 0.001:
        return "0 ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s"


def probe_duration(p: ProbeResult) -> str:
    """A probe's duration for the tables; ``-`` for one skipped before it started."""
    return "-" if p.status is Status.SKIPPED and not p.duration_s else format_duration(p.duration_s)


def host_summary(report: Report) -> str:
    """``RECEPTION-PC (Windows 10)``: which PC the report comes from."""
    name = report.host.get("hostname")
    os_name = report.host.get("os")
    parts = [str(name)] if name else []
    if os_name:
        parts.append(f"({os_name})" if parts else str(os_name))
    return " ".join(parts) or "-"
