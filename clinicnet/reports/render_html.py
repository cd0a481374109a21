"""The report as one self-contained HTML file: what clinics attach to tickets.

Built with the standard library, not jinja2: jinja2 is not a runtime dependency
of clinicnet (the PC build should stay small), and the page is simple enough that
a tiny element builder is clearer than a template. Escaping works like a
template engine's autoescape: every string is escaped by :func:`esc` unless it is
a :class:`Markup` produced by the builder itself, so measured values (router
names, DNS answers, reasons) can never become markup. A Content-Security-Policy
with hashes of the page's own style and script is a second line: even markup
that slipped through could load nothing and run nothing.

The page needs no network and no JavaScript (the only script, optional, opens
collapsed sections before printing). It prints on A4 without background colours:
the verdict is said in words and marked by a border, never by colour alone.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Iterable, Mapping

from clinicnet.model import JSONValue, ProbeResult, Status, Verdict
from clinicnet.reports import i18n
from clinicnet.reports.report import Report
from clinicnet.reports.verdict import notes as verdict_notes
from clinicnet.reports.view import (
    FindingView,
    counts_line,
    finding_views,
    format_json,
    host_summary,
    probe_duration,
    probe_reason,
    probe_title,
    unmeasured_views,
)

#: nesting depth up to which values become nested tables; deeper ones are shown as JSON
_MAX_TABLE_DEPTH = 4

_VERDICT_MARK = {
    Verdict.READY: "○",
    Verdict.READY_WITH_WARNINGS: "△",
    Verdict.NOT_READY: "×",
    Verdict.INCONCLUSIVE: "?",
}


class Markup(str):
    """A string that is already HTML; everything else gets escaped."""

    __slots__ = ()


def esc(value: object) -> Markup:
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(str(value), quote=True))


def _attrs(attrs: Mapping[str, object]) -> str:
    out = []
    for k, v in attrs.items():
        if v is None or v is False:
            continue
        name = k.rstrip("_").replace("_", "-")
        out.append(f" {name}" if v is True else f' {name}="{html.escape(str(v), quote=True)}"')
    return "".join(out)


def el(tag: str, *children: object, **attrs: object) -> Markup:
    """``<tag attrs>children</tag>`` with every plain-string child and attribute escaped.

    Attribute names come from this module only; ``class_`` gives ``class`` and
    ``data_finding_id`` gives ``data-finding-id``.
    """
    inner = "".join(esc(c) for c in _flatten(children))
    return Markup(f"<{tag}{_attrs(attrs)}>{inner}</{tag}>")


def _flatten(children: Iterable[object]) -> Iterable[object]:
    for c in children:
        if c is None:
            continue
        if isinstance(c, (list, tuple)):
            yield from _flatten(c)
        else:
            yield c


def join(parts: Iterable[object], sep: str = "") -> Markup:
    return Markup(esc(sep).join(esc(p) for p in parts))


_CSS = """
:root{--ok:#1b7f3b;--warn:#a86400;--err:#b3261e;--info:#1d5fa8;--unk:#6b3fa0;--line:#d0d4da;--muted:#5b6270;
--bg-ok:#e6f4ea;--bg-warn:#fff4e0;--bg-err:#fdecea;--bg-info:#e8f0fb;--bg-unk:#f1ebf8}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{font-family:"Yu Gothic UI","Yu Gothic","YuGothic","Meiryo","Hiragino Sans","Hiragino Kaku Gothic ProN",
"Noto Sans CJK JP","Noto Sans JP",sans-serif;color:#1f232a;background:#fff;line-height:1.7;margin:0 auto;
max-width:62rem;padding:1.5rem 1.25rem 3rem;font-size:16px}
code,pre,.mono{font-family:Consolas,"BIZ UDGothic","MS Gothic","Noto Sans Mono CJK JP",monospace;font-size:.9em}
h1,h2,h3,h4{line-height:1.35}
h2{margin:2.2rem 0 .8rem;padding-bottom:.3rem;border-bottom:2px solid var(--line);font-size:1.35rem}
h3{margin:0 0 .5rem;font-size:1.15rem}
h4{margin:1rem 0 .3rem;font-size:.95rem;color:var(--muted)}
p{margin:.4rem 0}
.top .title{font-weight:bold;margin:0;color:var(--muted)}
svg.path,svg.timeline{max-width:100%;height:auto;display:block}
.path-text{font-size:.85rem;color:var(--muted)}
.top .subtitle{margin:0 0 1rem;color:var(--muted);font-size:.9rem}
.verdict{border:2px solid var(--c);border-left-width:14px;border-radius:6px;padding:1rem 1.25rem;
margin:0 0 1rem;background:var(--bg)}
.verdict .kicker{margin:0;font-size:.85rem;color:var(--muted)}
.verdict h1{margin:.1rem 0 .4rem;font-size:1.8rem;color:var(--c)}
.verdict .meaning{font-size:1.05rem}
.verdict .code{font-size:.85rem;color:var(--muted)}
.verdict-ready{--c:var(--ok);--bg:var(--bg-ok)}
.verdict-ready_with_warnings{--c:var(--warn);--bg:var(--bg-warn)}
.verdict-not_ready{--c:var(--err);--bg:var(--bg-err)}
.verdict-inconclusive{--c:var(--unk);--bg:var(--bg-unk)}
.notice{border:1px dashed var(--line);padding:.4rem .75rem;border-radius:4px;font-size:.9rem}
.badge{display:inline-block;padding:0 .55em;border-radius:3px;font-size:.8rem;font-weight:bold;
color:#fff;background:var(--c);border:1px solid var(--c);vertical-align:.1em;white-space:nowrap}
.sev-error{--c:var(--err);--bg:var(--bg-err)}
.sev-warning{--c:var(--warn);--bg:var(--bg-warn)}
.sev-info{--c:var(--info);--bg:var(--bg-info)}
.st-ok{--c:var(--ok)}.st-failed{--c:var(--err)}.st-skipped{--c:var(--muted)}.st-error{--c:var(--unk)}
.finding{border:1px solid var(--line);border-left:8px solid var(--c);border-radius:6px;padding:1rem 1.25rem;
margin:0 0 1.2rem}
.finding .fid{font-size:.85rem;color:var(--muted);margin-left:.3rem;font-weight:normal}
.finding .summary{font-size:1.05rem;background:var(--bg);padding:.6rem .8rem;border-radius:4px}
.finding .next{border:2px solid var(--c);border-radius:4px;padding:.5rem .8rem}
.finding .next h4{margin-top:0;color:inherit}
.finding .refs{font-size:.9rem;color:var(--muted)}
.finding .refs ul{margin:.2rem 0;padding-left:1.2rem}
table{border-collapse:collapse;width:100%;margin:.4rem 0}
th,td{border:1px solid var(--line);padding:.3rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
thead th{background:#f3f5f7}
td.num{text-align:right;white-space:nowrap}
table.probes td:first-child,table.probes td:nth-child(2),table.findings-index td:first-child{white-space:nowrap}
table.kv{width:auto;min-width:50%}
table.kv th{font-weight:normal;color:var(--muted);white-space:nowrap;background:#fafbfc}
table.kv table.kv{margin:0}
dl.evidence{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .8rem;margin:.3rem 0}
dl.evidence dt{color:var(--muted)}
dl.evidence dd{margin:0;overflow-wrap:anywhere}
ul.inline{list-style:none;margin:0;padding:0}
ul.inline li{display:inline}
ul.inline li+li:before{content:", "}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f8fa;border:1px solid var(--line);padding:.5rem;
border-radius:4px;margin:.3rem 0}
details.probe{border:1px solid var(--line);border-radius:4px;margin:.4rem 0;padding:.2rem .75rem}
details.probe>summary{cursor:pointer;padding:.2rem 0}
details.probe[open]>summary{border-bottom:1px solid var(--line);margin-bottom:.4rem}
.muted{color:var(--muted)}
footer{margin-top:3rem;padding-top:.8rem;border-top:1px solid var(--line);font-size:.85rem;color:var(--muted)}
@media print{
body{max-width:none;padding:0;font-size:10.5pt;color:#000;background:none}
.verdict,.finding .summary,thead th,table.kv th,pre{background:none!important}
.verdict h1{color:#000}
.badge{background:none!important;color:#000;border-color:#000}
.finding,.verdict,details.probe,tr{break-inside:avoid;page-break-inside:avoid}
h2,h3,h4{break-after:avoid;page-break-after:avoid}
a{color:inherit;text-decoration:none}
details.probe>summary{list-style:none}
}
@page{size:A4;margin:14mm 12mm}
""".strip()

# Optional: collapsed <details> do not print, so open them all for printing.
_JS = (
    'window.addEventListener("beforeprint",function(){document.querySelectorAll("details").forEach('
    'function(d){if(!d.open){d.open=true;d.setAttribute("data-print-opened","")}})});'
    'window.addEventListener("afterprint",function(){document.querySelectorAll("details[data-print-opened]")'
    '.forEach(function(d){d.open=false;d.removeAttribute("data-print-opened")})});'
)


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


_CSP = (
    f"default-src 'none'; style-src {_csp_hash(_CSS)}; script-src {_csp_hash(_JS)}; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)


def render(report: Report, lang: str) -> str:
    """The report as a complete HTML document (UTF-8, no external references)."""
    lang = i18n.norm_lang(lang)
    v = report.verdict
    title = f"clinicnet: {i18n.verdict_label(v, lang)} ({host_summary(report)}, {report.created_at})"
    body = join(
        [
            el(
                "header",
                el("p", i18n.t("report.title", lang), class_="title"),
                el("p", i18n.t("report.subtitle", lang), class_="subtitle"),
                class_="top",
            ),
            _verdict(report, lang),
            el(
                "main",
                _path(report, lang),
                _findings(report, lang),
                _unmeasured(report, lang),
                _probes(report, lang),
                _environment(report, lang),
            ),
            _footer(report, lang),
            Markup(f"<script>{_JS}</script>"),
        ]
    )
    return document(title, body, lang, generator=report.clinicnet_version)


def document(title: str, body: Markup, lang: str, *, generator: str | None = None) -> str:
    """One complete, self-contained HTML page (the report, the watch report): the same head,
    style sheet and Content-Security-Policy for every page clinicnet writes."""
    gen = f'<meta name="generator" content="clinicnet {esc(generator)}">' if generator else ""
    head = Markup(
        '<meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(_CSP)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light">'
        f"{gen}<title>{esc(title)}</title>"
        f"<style>{_CSS}</style>"
    )
    return f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>{head}</head>\n<body>\n{body}\n</body>\n</html>\n'


def _verdict(report: Report, lang: str) -> Markup:
    v = report.verdict
    parts = [
        el("p", i18n.t("verdict.label", lang), class_="kicker"),
        el("h1", el("span", _VERDICT_MARK[v], class_="mark", aria_hidden="true"), " ", i18n.verdict_label(v, lang)),
        el("p", i18n.verdict_meaning(v, lang), class_="meaning"),
        *(el("p", line, class_="meaning") for line in verdict_notes(v, report.probes, lang)),
        el(
            "p",
            el("code", v.value),
            " · ",
            f"{i18n.t('section.findings', lang)}: {counts_line(report, lang)}",
            class_="code",
        ),
    ]
    out = [
        el("section", *parts, id="verdict", class_=f"verdict verdict-{v.value}", data_verdict=v.value, role="status")
    ]
    if report.redacted:
        out.append(el("p", i18n.t("notice.redacted", lang), class_="notice redacted-notice"))
    return join(out)


def _path(report: Report, lang: str) -> Markup:
    """The path picture: what the findings say, drawn (inline SVG, nothing fetched)."""
    from clinicnet.reports import path

    model = path.build(report)
    return el("section", el("h2", path.section_title(lang)), Markup(path.render_svg(model, lang)),
              el("p", path.render_text(model, lang), class_="path-text"), id="path")


def _findings(report: Report, lang: str) -> Markup:
    views = finding_views(report, lang)
    parts: list[object] = [el("h2", i18n.t("section.findings", lang))]
    if not views:
        parts.append(el("p", i18n.t("findings.none", lang), class_="none"))
        return el("section", *parts, id="findings")
    rows = [
        el(
            "tr",
            el("td", el("a", el("code", f.id), href=f"#finding-{i}")),
            el("td", el("span", f.severity_label, class_=f"badge sev-{f.severity.value}")),
            el("td", f.title),
        )
        for i, f in enumerate(views, 1)
    ]
    parts.append(_table(("finding.id", "severity.label", "finding.title"), rows, lang, "findings-index"))
    parts.extend(_finding(f, i, lang) for i, f in enumerate(views, 1))
    return el("section", *parts, id="findings")


def _table(header_keys: tuple[str, ...], rows: list[Markup], lang: str, class_: str) -> Markup:
    """A table with one header row of UI strings (``i18n`` keys) over ``rows``."""
    head = el("thead", el("tr", [el("th", i18n.t(k, lang), scope="col") for k in header_keys]))
    return el("table", head, el("tbody", rows), class_=class_)


def _finding(f: FindingView, index: int, lang: str) -> Markup:
    sev = f.severity.value
    parts: list[object] = [
        el(
            "h3",
            el("span", f.severity_label, class_=f"badge sev-{sev}"),
            " ",
            f.title,
            " ",
            el("code", f.id, class_="fid"),
        ),
        el("p", f.summary, class_="summary"),
    ]
    if f.technical:
        parts += [el("h4", i18n.t("finding.technical", lang)), el("p", f.technical, class_="technical")]
    if f.evidence:
        items = [Markup(el("dt", el("code", k)) + el("dd", _value(v, 0))) for k, v in f.evidence]
        parts += [el("h4", i18n.t("finding.evidence", lang)), el("dl", items, class_="evidence")]
    if f.next_step:
        parts.append(el("div", el("h4", i18n.t("finding.next_step", lang)), el("p", f.next_step), class_="next"))
    if f.g_refs:
        parts.append(
            el(
                "div",
                el("h4", i18n.t("finding.g_refs", lang)),
                el("ul", [el("li", el("strong", g), " ", text) for g, text in f.g_refs]),
                class_="refs",
            )
        )
    return el(
        "article",
        *parts,
        id=f"finding-{index}",
        class_=f"finding sev-{sev}",
        data_finding_id=f.id,
        data_severity=sev,
    )


def _value(v: JSONValue, depth: int) -> Markup:
    """A measured value as nested tables/lists; beyond a depth, as JSON text."""
    if isinstance(v, Mapping):
        if not v:
            return el("span", "{}", class_="muted")
        if depth >= _MAX_TABLE_DEPTH:
            return el("pre", format_json(v))
        rows = [el("tr", el("th", str(k), scope="row"), el("td", _value(x, depth + 1))) for k, x in v.items()]
        return el("table", el("tbody", rows), class_="kv")
    if isinstance(v, (list, tuple)):
        if not v:
            return el("span", "[]", class_="muted")
        if all(not isinstance(x, (Mapping, list, tuple)) for x in v):
            return el("ul", [el("li", _value(x, depth + 1)) for x in v], class_="inline")
        if depth >= _MAX_TABLE_DEPTH:
            return el("pre", format_json(list(v)))
        return el("ol", [el("li", _value(x, depth + 1)) for x in v], class_="items")
    if isinstance(v, str):
        return el("span", v, class_="mono") if v else el("span", '""', class_="muted")
    if v is None:
        return el("span", "null", class_="muted")
    return el("code", format_json(v))


def _unmeasured(report: Report, lang: str) -> Markup:
    parts: list[object] = [el("h2", i18n.t("section.unmeasured", lang))]
    if not report.unmeasured:
        parts.append(el("p", i18n.t("unmeasured.none", lang), class_="none"))
    else:
        parts.append(el("p", i18n.t("unmeasured.note", lang)))
        rows = [
            el("tr", el("td", u.what, " ", el("code", u.name, class_="muted")) if u.name else el("td", el("code", u.what)),
               el("td", u.why))
            for u in unmeasured_views(report, lang)
        ]
        parts.append(_table(("unmeasured.what", "unmeasured.why"), rows, lang, "unmeasured"))
    return el("section", *parts, id="unmeasured")


def _probes(report: Report, lang: str) -> Markup:
    parts: list[object] = [el("h2", i18n.t("section.probes", lang))]
    if not report.probes:
        parts.append(el("p", i18n.t("probe.none", lang), class_="none"))
        return el("section", *parts, id="probes")
    rows = [
        el(
            "tr",
            el("td", el("a", probe_title(p.name, lang), href=f"#probe-{i}")),
            el("td", el("span", i18n.status_label(p.status, lang), class_=f"badge st-{p.status.value}")),
            el("td", probe_duration(p), class_="num"),
            el("td", probe_reason(p, lang)),
            data_probe=p.name,
            data_status=p.status.value,
        )
        for i, p in enumerate(report.probes, 1)
    ]
    parts.append(_table(("probe.label", "status.label", "probe.duration", "probe.reason"), rows, lang, "probes"))
    parts.extend(_probe_details(p, i, lang) for i, p in enumerate(report.probes, 1))
    return el("section", *parts, id="probes")


def _probe_details(p: ProbeResult, index: int, lang: str) -> Markup:
    summary = el(
        "summary",
        el("span", i18n.status_label(p.status, lang), class_=f"badge st-{p.status.value}"),
        " ",
        el("strong", probe_title(p.name, lang)),
        " ",
        el("code", p.name, class_="muted"),
        " · ",
        probe_duration(p),
    )
    body: list[object] = [el("p", probe_reason(p, lang), class_="reason")] if p.reason else []
    if p.started_at:
        body.append(el("p", f"{i18n.t('probe.started_at', lang)}: {p.started_at}", class_="muted"))
    body.append(_value(dict(p.values), 0) if p.values else el("p", i18n.t("probe.no_values", lang), class_="muted"))
    return el(
        "details",
        summary,
        *body,
        id=f"probe-{index}",
        class_=f"probe st-{p.status.value}",
        data_probe=p.name,
        # a problem is what the technician looks for: show those open
        open=p.status in (Status.FAILED, Status.ERROR),
    )


def _environment(report: Report, lang: str) -> Markup:
    parts: list[object] = [el("h2", i18n.t("section.environment", lang))]
    parts += [el("h3", i18n.t("footer.host", lang)), _value(dict(report.host), 0)]
    parts += [el("h3", i18n.t("footer.settings", lang)), _value(dict(report.settings), 0)]
    return el("section", *parts, id="environment")


def _footer(report: Report, lang: str) -> Markup:
    facts = [
        f"clinicnet {report.clinicnet_version}",
        f"{i18n.t('footer.schema', lang)}: {report.schema}",
        f"{i18n.t('footer.created_at', lang)}: {report.created_at}",
        f"{i18n.t('footer.host', lang)}: {host_summary(report)}",
    ]
    notice = i18n.t("notice.redacted" if report.redacted else "notice.not_redacted", lang)
    return el(
        "footer",
        el("p", join(facts, " · ")),
        el("p", notice, class_="redacted-notice" if report.redacted else "not-redacted-notice"),
    )
