"""The Markdown report: tables that survive ticket systems, nothing injectable."""

from __future__ import annotations

import re

import pytest

from clinicnet.model import Finding, ProbeResult, Severity, Status, Verdict
from clinicnet.reports import i18n, render_markdown
from clinicnet.reports.render_markdown import code, esc
from tests.reports import factories as fx

LANGS = ("ja", "en")


def cells(row: str) -> list[str]:
    """Split a pipe-table row on unescaped pipes."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


@pytest.mark.parametrize("lang", LANGS)
def test_verdict_heading(lang: str) -> None:
    out = render_markdown.render(fx.sample_report(), lang)
    heading = next(line for line in out.splitlines() if line.startswith("## "))
    assert i18n.verdict_label(Verdict.NOT_READY, lang) in heading
    assert "`not_ready`" in heading


@pytest.mark.parametrize("lang", LANGS)
def test_findings_table_has_a_row_per_finding(lang: str) -> None:
    report = fx.sample_report()
    out = render_markdown.render(report, lang)
    rows = [line for line in out.splitlines() if line.startswith("| `")]
    finding_rows = [r for r in rows if cells(r)[0].strip("`") in {f.id for f in report.findings}]
    assert [cells(r)[0].strip("`") for r in finding_rows] == [f.id for f in report.findings_by_severity()]
    for r in finding_rows:
        assert len(cells(r)) == 3
    for f in report.findings:
        assert f"(`{f.id}`)" in out, "each finding has its own section"


@pytest.mark.parametrize("lang", LANGS)
def test_probe_table_has_a_row_per_probe(lang: str) -> None:
    report = fx.sample_report()
    out = render_markdown.render(report, lang)
    lines = out.splitlines()
    start = lines.index(next(line for line in lines if line.startswith(f"| {esc(i18n.t('probe.label', lang))} |")))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(line)
    assert len(rows) == len(report.probes)
    assert all(len(cells(r)) == 4 for r in rows)


@pytest.mark.parametrize("lang", LANGS)
def test_footer(lang: str) -> None:
    report = fx.sample_report()
    out = render_markdown.render(report, lang)
    tail = out.rstrip().split("\n---\n")[-1]
    assert report.clinicnet_version in tail and report.schema in tail and report.created_at in tail


def test_hostile_values_stay_inert() -> None:
    report = fx.sample_report(
        findings=(Finding("nat.double", Severity.WARNING, {"note": fx.SCRIPT, "weird`key": "a ``` b | c"}),),
        probes=(ProbeResult("dns", Status.FAILED, reason="<img src=x onerror=alert(1)> [click](http://evil) | *x*"),),
    )
    out = render_markdown.render(report, "en")
    # outside code spans there is no raw HTML, no link syntax, no extra table cell
    without_code = re.sub(r"(`+).*?\1", "", out)
    assert "<" not in without_code.replace("&lt;", "")
    assert not re.search(r"(?<!\\)\]\(http", without_code)
    row = next(line for line in out.splitlines() if "onerror" in line)
    assert len(cells(row)) == 4
    assert "`<script>alert(1)</script>`" in out


def test_escape_helpers() -> None:
    assert esc("a|b *c* _d_ IKE_SA_INIT <x>") == "a\\|b \\*c\\* \\_d\\_ IKE_SA_INIT &lt;x&gt;"
    assert esc("# not a heading") == "\\# not a heading"
    assert esc("1. not a list") == "1\\. not a list"
    assert code("a`b") == "``a`b``"
    assert code("a|b", in_table=True) == "`a\\|b`"


def test_long_evidence_goes_into_a_fenced_block() -> None:
    big = {"checks": {f"http://host{i}.example/": {"ipv4": "timeout", "ipv6": "n/a"} for i in range(5)}}
    report = fx.sample_report(findings=(Finding("internet.down", Severity.ERROR, big),))
    out = render_markdown.render(report, "ja")
    assert "  ```json" in out


def test_empty_and_unknown() -> None:
    assert i18n.t("findings.none", "ja") in render_markdown.render(fx.empty_report(), "ja")
    out = render_markdown.render(fx.unknown_finding_report(), "en")
    assert "`ike.future_thing`" in out and i18n.t("finding.unknown", "en") in out


def test_redacted_notice() -> None:
    from clinicnet.reports.redact import redact

    notice = esc(i18n.t("notice.redacted", "ja"))
    assert notice in render_markdown.render(redact(fx.sample_report()), "ja")
    assert notice not in render_markdown.render(fx.sample_report(), "ja")
