"""Reason codes: every code a probe can give has both languages and gets its fields,
and a Japanese report says every probe's reason in Japanese.

The first half reads the probes' source (``sw.result(Status.X, "code", values,
field=...)``), so a code used on a path no other test reaches is still checked;
the second renders a report holding every code of every probe.
"""

from __future__ import annotations

import ast
import re
import string
from collections.abc import Iterator
from pathlib import Path

import pytest

from clinicnet.model import ProbeResult, Status, Text, Unmeasured, Verdict
from clinicnet.probes import registry
from clinicnet.probes.interface import COMMON_REASONS, RIGHTS_CODES, ProbeSpec, reason_texts
from clinicnet.reports import render_html, render_markdown, render_text, view
from clinicnet.reports.redact import redact
from clinicnet.reports.report import Report

PROBES_DIR = Path(registry.__file__).parent
SPECS = registry.specs()


def fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def sources(spec: ProbeSpec) -> list[Path]:
    """The probe's module, or every module of its package."""
    single = PROBES_DIR / f"{spec.name}.py"
    return [single] if single.exists() else sorted((PROBES_DIR / spec.name).glob("*.py"))


def result_calls(path: Path) -> Iterator[ast.Call]:
    """``<stopwatch>.result(status, code, ...)`` calls."""
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "result"
            and len(node.args) >= 2
            and isinstance(node.args[0], ast.Attribute)
            and isinstance(node.args[0].value, ast.Name)
            and node.args[0].value.id == "Status"
        ):
            yield node


def literal_codes(expr: ast.expr) -> set[str] | None:
    """The codes an expression can give when they are written out (``"a"``, ``"a" if x else "b"``)."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return {expr.value}
    if isinstance(expr, ast.IfExp):
        a, b = literal_codes(expr.body), literal_codes(expr.orelse)
        return a | b if a is not None and b is not None else None
    return None


def test_every_probe_has_a_spec_with_titles_and_reasons() -> None:
    names = [s.name for s in SPECS]
    assert names == [s.name for s in sorted(SPECS, key=lambda s: (s.order, s.name))]
    assert len(set(names)) == len(names) and len({s.order for s in SPECS}) == len(SPECS)
    assert {"privileges", "interfaces", "routes", "vpn", "dns", "internet", "ike", "esp",
            "nat_mapping", "fragments", "nat_layers"} <= set(names)
    for s in SPECS:
        assert s.title.ja.strip() and s.title.en.strip() and s.reasons, s.name
        assert s.values.__total__ is False or s.values.__annotations__, s.name  # a TypedDict


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_every_reason_has_both_languages(spec: ProbeSpec) -> None:
    for code, text in reason_texts(spec).items():
        assert text.ja.strip() and text.en.strip(), (spec.name, code)
        # the Japanese text never needs a field the English one does not give a reader
        assert fields(text.ja) <= fields(text.en), (spec.name, code)
        text.ja.encode("cp932")  # a Japanese Windows console can show it


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_every_code_used_exists_and_gets_its_fields(spec: ProbeSpec) -> None:
    texts = reason_texts(spec)
    calls = [c for p in sources(spec) for c in result_calls(p)]
    assert calls, f"no sw.result(...) call found for {spec.name}"
    written = {code for c in calls for code in literal_codes(c.args[1]) or ()}
    # a code chosen at run time (routes' families, fragments' and nat_layers' combined
    # problems) is one of the probe's own codes that no call writes out
    computed = set(spec.reasons) - written
    for call in calls:
        codes = literal_codes(call.args[1])
        assert not any(k.arg is None for k in call.keywords), "pass reason fields by name"
        given = {k.arg for k in call.keywords if k.arg}
        for code in codes if codes is not None else computed:
            assert code in texts, f"{spec.name}: unknown reason code {code!r}"
            missing = (fields(texts[code].en) | fields(texts[code].ja)) - given
            assert not missing, f"{spec.name}:{call.lineno}: {code!r} needs {sorted(missing)}"
    unused = set(spec.reasons) - written - (computed if any(literal_codes(c.args[1]) is None for c in calls) else set())
    assert not unused, f"{spec.name}: reasons nobody gives: {sorted(unused)}"


def test_common_reasons_cover_the_skips_the_findings_match() -> None:
    needed = {"no_target", "no_reflector", "no_privileges", "no_raw_sockets", "no_npcap",
              "unsupported_platform", "deadline", "crashed"}
    assert needed <= set(COMMON_REASONS)
    assert set(RIGHTS_CODES) == {"no_privileges", "no_raw_sockets", "no_npcap"}


# --- rendering ------------------------------------------------------------------------------

#: English words that only a sentence has (a value such as "IPv4 over IPv6" or a host has none)
_ENGLISH = re.compile(r"\b(?:the|not|did|does|was|were|is|are|from|with|to|of|and|no|cannot|could)\b", re.I)


def _sample(field: str) -> str | int:
    return 3 if field in ("count", "total", "failed", "private", "largest", "path_mtu") else f"<{field}>"


def every_reason_results() -> list[ProbeResult]:
    """One result per reason code of every probe, as the probe would write it."""
    out = []
    for spec in SPECS:
        for code, text in reason_texts(spec).items():
            params = {f: _sample(f) for f in fields(text.en)}
            out.append(
                ProbeResult(
                    name=spec.name,
                    status=Status.SKIPPED if code.startswith("no_") else Status.OK,
                    reason=text.en.format(**params),
                    reason_code=code,
                    reason_params=params,
                )
            )
    return out


def full_report(results: list[ProbeResult]) -> Report:
    return Report(
        created_at="2026-12-02T09:00:00+0900",
        host={"hostname": "UKETSUKE-PC", "os": "Windows 11"},
        settings={"targets": ["192.0.2.10"]},
        verdict=Verdict.INCONCLUSIVE,
        findings=(),
        unmeasured=tuple(Unmeasured(r.name, r.reason) for r in results if r.status is Status.SKIPPED),
        probes=tuple(results),
    )


def _without_params(text: str, r: ProbeResult) -> str:
    for v in r.reason_params.values():
        text = text.replace(str(v), "")
    return text


def test_a_japanese_report_has_no_english_reason_sentence() -> None:
    results = every_reason_results()
    report = full_report(results)
    outputs = {
        "text": render_text.render(report, "ja", width=1000),
        "markdown": render_markdown.render(report, "ja"),
        "html": render_html.render(report, "ja"),
    }
    for r in results:
        ja = view.probe_reason(r, "ja")
        assert not _ENGLISH.search(_without_params(ja, r)), (r.name, r.reason_code, ja)
        assert ja.split("<")[0].strip() in outputs["text"], (r.name, r.reason_code)
        for fmt, out in outputs.items():
            assert r.reason not in out, f"{fmt}: English reason of {r.name}/{r.reason_code} in a Japanese report"
    en = render_text.render(report, "en", width=1000)
    assert all(r.reason in en for r in results)


def test_a_lab_like_run_renders_in_japanese() -> None:
    """The probes' own results on a run with nothing to probe (no target, no reflector):
    every skip reason, and the runner's deadline and crash, in Japanese."""
    from clinicnet.agent.runner import run_probes
    from clinicnet.probes.interface import ProbeContext

    runnable = [s for s in SPECS if s.name in ("ike", "esp", "nat_mapping", "fragments", "dns", "privileges")]

    def loader(spec: ProbeSpec):
        real = registry.load(spec)
        return real

    results = run_probes(runnable, ProbeContext(), timeout=2.0, loader=loader)
    hang = ProbeSpec("hang", 999, Text("止まる", "hangs"), dict)
    crash = ProbeSpec("crash", 998, Text("落ちる", "crashes"), dict)

    def bad(spec: ProbeSpec):
        def run(ctx):
            if spec.name == "crash":
                raise RuntimeError("boom")
            import time

            time.sleep(5)
        return run

    results += run_probes([crash, hang], ProbeContext(), timeout=0.3, loader=bad)
    report = full_report(results)
    out = render_text.render(report, "ja", width=1000)
    for r in results:
        assert r.reason_code, r
        ja = view.probe_reason(r, "ja")
        assert ja != r.reason and ja in out and r.reason not in out, (r.name, ja)
        assert not _ENGLISH.search(_without_params(ja, r)), (r.name, ja)


def test_an_unknown_code_falls_back_to_the_stored_english() -> None:
    newer = ProbeResult("ike", Status.FAILED, reason="a reason from a newer clinicnet", reason_code="future_code")
    assert view.probe_reason(newer, "ja") == "a reason from a newer clinicnet"
    unknown_probe = ProbeResult("future_probe", Status.OK, reason="fine", reason_code="ok")
    assert view.probe_reason(unknown_probe, "ja") == "fine"
    missing_field = ProbeResult("dns", Status.FAILED, reason="stored", reason_code="failed", reason_params={})
    assert view.probe_reason(missing_field, "ja") == "stored"
    old = ProbeResult("dns", Status.OK, reason="all 2 name(s) resolved")  # written before reason codes
    assert view.probe_reason(old, "ja") == "all 2 name(s) resolved"


def test_redaction_masks_the_reason_params_too() -> None:
    r = ProbeResult("nat_mapping", Status.OK, reason="behind NAT: the reflector sees 198.51.100.77",
                    reason_code="nat", reason_params={"public": "198.51.100.77"})
    report = redact(full_report([r]))
    for lang in ("ja", "en"):
        assert "198.51.100.77" not in render_text.render(report, lang)
    assert "198.51.100.77" not in report.dumps()


# --- values match their TypedDicts ------------------------------------------------------------


@pytest.mark.parametrize("name", ["privileges", "interfaces", "routes", "vpn"])
def test_local_probes_write_what_they_declare(name: str) -> None:
    """These read only this machine's own state (no packet leaves it)."""
    from clinicnet.probes.interface import ProbeContext
    from tests.probes.typed import problems

    spec = registry.get(name)
    assert spec is not None
    result = registry.load(spec)(ProbeContext())
    assert result.reason_code in reason_texts(spec)
    assert problems(dict(result.values), spec.values) == []


def test_the_checker_catches_an_undeclared_key() -> None:
    from tests.probes.typed import problems

    spec = registry.get("routes")
    assert spec is not None
    bad = {"default_v4": [{"interface": "eth0", "gateway": None, "metric": 0, "via": "x"}], "extra": 1}
    found = problems(bad, spec.values)
    assert any("extra" in p for p in found) and any("via" in p for p in found)
    assert any("metric" in p for p in problems({"default_v4": [{"interface": "e", "gateway": None}]}, spec.values))
