"""The finding catalogue is product surface: ticket systems key on its ids.

Every id a rule can emit must be explainable from the command line in both
languages, and `findings --json` must be parseable by a vendor's tooling. Both
say which file a finding lives in, so a technician's question leads to the code.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import clinicnet
from clinicnet.reports import findings, i18n
from clinicnet.reports.catalogue import CATALOGUE

#: the directory the shown paths are relative to
ROOT = Path(clinicnet.__file__).parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "clinicnet", *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONIOENCODING": "utf-8"})


def test_every_rule_id_is_in_the_catalogue():
    missing = sorted({r.id for r in findings.rules()} - set(CATALOGUE))
    assert not missing, f"rules without catalogue entries: {missing}"


def test_every_catalogue_entry_has_both_languages():
    for e in CATALOGUE.values():
        for field in ("title", "summary", "technical", "next_step"):
            text = getattr(e, field)
            assert text.ja.strip() and text.en.strip(), f"{e.id}.{field} lacks a language"
            # the Japanese text is really Japanese (not an English copy)
            assert any(ord(c) > 0x3000 for c in text.ja), f"{e.id}.{field}.ja has no Japanese"


def test_findings_json_lists_every_entry():
    p = run("findings", "--json")
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert [d["id"] for d in data] == list(CATALOGUE)
    for d in data:
        assert d["severity"] in ("info", "warning", "error")
        assert d["title"]["ja"] and d["title"]["en"]
        assert isinstance(d["g_refs"], list)
        assert d["path"] == f"clinicnet/reports/findings/{d['id'].replace('.', '_')}.py"
        assert (ROOT / d["path"]).is_file()


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_findings_text_one_line_per_entry(lang):
    p = run("findings", "--lang", lang)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.strip().splitlines()
    assert len(lines) == len(CATALOGUE)
    for line, e in zip(lines, CATALOGUE.values(), strict=True):
        assert line.startswith(e.id) and e.title.get(lang) in line
        assert f" {e.path} " in line


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("finding_id", sorted(CATALOGUE))
def test_explain_every_id(finding_id, lang):
    from clinicnet.agent.cli import main

    # in-process: 40 subprocesses would cost seconds for nothing
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["explain", finding_id, "--lang", lang]) == 0
    text = out.getvalue()
    e = CATALOGUE[finding_id]
    assert text.startswith(f"{finding_id} [")
    assert e.title.get(lang) in text and e.next_step.get(lang) in text
    assert e.summary.get(lang) in text and e.technical.get(lang) in text
    for g in e.g_refs:
        assert f"{g} {i18n.g_ref_text(g, lang)}" in text
    path = text.rstrip().splitlines()[-1].split(": ", 1)[1]
    assert path == e.path and (ROOT / path).is_file()


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_explain_uses_the_reports_headings(lang):
    """The technician meets the same words in ``explain`` as in the report."""
    from clinicnet.agent.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["explain", "ike.udp4500.blocked", "--lang", lang]) == 0
    headings = [line[:-1] for line in out.getvalue().splitlines() if line.endswith(":")]
    assert headings == [i18n.t(k, lang) for k in ("finding.summary", "finding.technical", "finding.next_step",
                                                   "finding.g_refs")]
    assert "次にすること" not in out.getvalue()


def test_explain_unknown_id_is_a_usage_error():
    p = run("explain", "no.such.finding")
    assert p.returncode == 2 and "unknown finding id" in p.stderr and "Traceback" not in p.stderr
