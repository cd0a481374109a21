"""The terminal report: verdict first, findings by severity, aligned Japanese columns."""

from __future__ import annotations

import re

import pytest

from clinicnet.model import ProbeResult, Status, Verdict
from clinicnet.reports import i18n, render_text
from clinicnet.reports.textwidth import pad, truncate, width, wrap
from clinicnet.reports.view import probe_duration, probe_title
from tests.reports import factories as fx

LANGS = ("ja", "en")


@pytest.mark.parametrize("lang", LANGS)
def test_verdict_comes_first(lang: str) -> None:
    out = render_text.render(fx.sample_report(), lang)
    first_text = [line for line in out.splitlines() if line.strip("= ")][0]
    assert i18n.verdict_label(Verdict.NOT_READY, lang) in first_text
    assert "not_ready" in first_text


@pytest.mark.parametrize("lang", LANGS)
def test_findings_in_severity_order_with_their_parts(lang: str) -> None:
    report = fx.sample_report()
    out = render_text.render(report, lang)
    positions = [out.index(f.id) for f in report.findings_by_severity()]
    assert positions == sorted(positions)
    for label in ("finding.summary", "finding.evidence", "finding.next_step", "finding.g_refs"):
        assert i18n.t(label, lang) in out
    assert "G9" in out and "udp500: silent" in out


@pytest.mark.parametrize("lang", LANGS)
def test_unmeasured_and_probes(lang: str) -> None:
    report = fx.sample_report()
    out = render_text.render(report, lang)
    assert i18n.t("section.unmeasured", lang) in out
    for u in report.unmeasured:
        assert u.what in out
    for p in report.probes:
        assert probe_title(p.name, lang) in out
    for status in Status:
        assert i18n.status_label(status, lang) in out
    assert "future_probe" in out


def test_colour_only_when_asked() -> None:
    report = fx.sample_report()
    assert "\x1b" not in render_text.render(report, "ja")
    coloured = render_text.render(report, "ja", color=True)
    assert "\x1b[" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == render_text.render(report, "ja")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("cols", [60, 80, 120])
def test_no_line_wider_than_the_terminal(lang: str, cols: int) -> None:
    out = render_text.render(fx.sample_report(), lang, width=cols)
    too_wide = [line for line in out.splitlines() if width(line) > cols]
    assert not too_wide


@pytest.mark.parametrize("lang", LANGS)
def test_probe_table_columns_line_up_in_display_columns(lang: str) -> None:
    report = fx.sample_report()
    out = render_text.render(report, lang).splitlines()
    ends = set()
    for p in report.probes:
        label = probe_title(p.name, lang)
        row = next(line for line in out if line.startswith("  " + label + " "))
        dur = probe_duration(p)
        status = i18n.status_label(p.status, lang)
        # the status column starts at the same column, the duration column ends at the same column
        ends.add(("status", width(row[: row.index(status, len(label) + 2)])))
        ends.add(("duration", width(row[: row.index(dur, row.index(status) + len(status)) + len(dur)])))
    assert len(ends) == 2, ends


def test_control_characters_do_not_reach_the_terminal() -> None:
    evil = ProbeResult("dns", Status.FAILED, reason="name \x1b[2J\x1b]0;pwned\x07 failed")
    out = render_text.render(fx.sample_report(probes=(evil,)), "en")
    assert "\x1b" not in out and "\x07" not in out


def test_empty_report() -> None:
    out = render_text.render(fx.empty_report(), "ja")
    assert i18n.t("findings.none", "ja") in out
    assert i18n.t("unmeasured.none", "ja") in out
    assert i18n.t("probe.none", "ja") in out


def test_unknown_finding_id_still_renders() -> None:
    out = render_text.render(fx.unknown_finding_report(), "en")
    assert "ike.future_thing" in out
    assert i18n.t("finding.unknown", "en") in out


def test_redacted_notice() -> None:
    from clinicnet.reports.redact import redact

    assert i18n.t("notice.redacted", "en")[:30] in render_text.render(redact(fx.sample_report()), "en", width=200)
    assert i18n.t("notice.redacted", "en")[:30] not in render_text.render(fx.sample_report(), "en", width=200)


def test_output_module_dispatch() -> None:
    from clinicnet.agent import output

    report = fx.sample_report()
    assert output.render(report, "text", "ja") == render_text.render(report, "ja")


# --- textwidth -----------------------------------------------------------------------------


def test_width_counts_wide_characters_twice() -> None:
    assert width("abc") == 3
    assert width("日本語") == 6
    assert width("ＶＰＮ") == 6  # full-width letters
    assert width("ｶﾀｶﾅ") == 4  # half-width katakana
    assert width("\x1b[31mエラー\x1b[0m") == 6
    assert width("e\u0301") == 1  # combining accent


def test_pad_and_truncate() -> None:
    assert pad("日本", 6) == "日本  "
    assert pad("日本", 6, right=True) == "  日本"
    assert truncate("日本語のテキスト", 9) == "日本語..."
    assert width(truncate("日本語のテキスト", 9)) <= 9
    assert truncate("short", 9) == "short"


@pytest.mark.parametrize("w", [10, 17, 31, 60])
def test_wrap_respects_width_and_kinsoku(w: int) -> None:
    text = (
        fx.sample_report().findings[0].id
        + " "
        + "接続先へ UDP 500 番で IKE の要求を送りましたが、応答がありませんでした。" * 3
    )
    lines = wrap(text, w)
    assert all(width(line) <= w for line in lines)
    assert not any(line.startswith(("、", "。", "」", "）")) for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


def test_wrap_keeps_ascii_words_whole() -> None:
    lines = wrap("the quick brown fox jumps over the lazy dog", 10)
    assert lines == ["the quick", "brown fox", "jumps over", "the lazy", "dog"]


def test_wrap_cuts_overlong_words() -> None:
    lines = wrap("http://192.168.11.1:2869/upnphost/udhisapi.dll", 12)
    assert all(width(line) <= 12 for line in lines)
    assert "".join(lines) == "http://192.168.11.1:2869/upnphost/udhisapi.dll"


@pytest.mark.parametrize("lang", LANGS)
def test_encodable_on_a_japanese_windows_console(lang: str) -> None:
    """Redirected output on Japanese Windows is cp932: every character we write must exist there."""
    render_text.render(fx.sample_report(), lang).encode("cp932")
    render_text.render(fx.empty_report(Verdict.READY_WITH_WARNINGS), lang).encode("cp932")
    render_text.render(fx.empty_report(Verdict.INCONCLUSIVE), lang).encode("cp932")
    render_text.render(fx.empty_report(Verdict.READY), lang).encode("cp932")
