"""A finding is one module: dropping one into the package is all it takes, and a broken
one costs the report only itself."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from clinicnet.model import Severity
from clinicnet.reports import findings
from clinicnet.reports.catalogue import CATALOGUE
from tests.reports import evidence as e

PACKAGE = "clinicnet.reports.findings"

NEW_FINDING = '''
"""test.new_finding: a finding written by a test, to prove discovery."""

from __future__ import annotations

from clinicnet.model import Finding, Severity, Text
from clinicnet.reports.findings.interface import Evidence, FindingSpec, finding

FINDING = FindingSpec(
    id="test.new_finding",
    severity=Severity.WARNING,
    g_refs=("G7",),
    title=Text(ja="テスト用の検出事項です", en="A finding written by a test"),
    summary=Text(ja="テストです。", en="A test."),
    technical=Text(ja="テストです。", en="A test."),
    next_step=Text(ja="対応は不要です。", en="Nothing to do."),
)


def check(ev: Evidence) -> Finding | None:
    if ev.values("privileges").get("admin"):
        return finding(FINDING, seen_admin=True)
    return None
'''


@pytest.fixture
def extra_dir(tmp_path, monkeypatch):
    """A second directory of the package, as a finding module dropped into it would be;
    the modules imported from it leave ``sys.modules`` with the test."""
    monkeypatch.setattr(findings, "__path__", [*findings.__path__, str(tmp_path)])
    monkeypatch.setattr(findings, "_cache", None)
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith(PACKAGE + "."):
            del sys.modules[name]


def test_a_new_module_is_discovered_evaluated_and_catalogued(extra_dir: Path) -> None:
    (extra_dir / "test_new_finding.py").write_text(NEW_FINDING, encoding="utf-8")
    found, broken = findings.discover()
    assert broken == []
    new = next(r for r in found if r.id == "test.new_finding")
    assert new.spec.module == f"{PACKAGE}.test_new_finding"
    assert new.spec.path == "clinicnet/reports/findings/test_new_finding.py"
    assert {r.id for r in found} == {*CATALOGUE, "test.new_finding"}
    got, broken = findings.evaluate(e.healthy())
    assert broken == []
    assert [(f.id, f.severity, dict(f.evidence)) for f in got] == [
        ("test.new_finding", Severity.WARNING, {"seen_admin": True})]


@pytest.mark.parametrize("source,why", [
    ("def check(ev):\n    return None\n", "AttributeError"),
    ("raise RuntimeError('import-time bug')\n", "RuntimeError: import-time bug"),
    ("FINDING = 1\n\ndef check(ev):\n    return None\n", "TypeError"),
    (NEW_FINDING.replace('id="test.new_finding"', 'id="test.other_name"'), "must be named test_other_name.py"),
    (NEW_FINDING.replace('id="test.new_finding"', 'id="nat.present"'), "must be named nat_present.py"),
])
def test_a_broken_module_is_unmeasured_not_a_lost_report(extra_dir: Path, source: str, why: str) -> None:
    (extra_dir / "test_new_finding.py").write_text(source, encoding="utf-8")
    found, broken = findings.discover()
    assert {r.id for r in found} == set(CATALOGUE)
    assert [u.what for u in broken] == [f"finding module {PACKAGE}.test_new_finding"]
    assert why in broken[0].why
    got, unmeasured = findings.evaluate(e.healthy())
    assert got == [] and unmeasured == broken


def test_private_modules_and_the_interface_are_not_findings() -> None:
    found, broken = findings.discover()
    assert broken == []
    modules = {r.spec.module.rsplit(".", 1)[1] for r in found}
    assert "interface" not in modules and not any(m.startswith("_") for m in modules)
    assert len(found) == len(CATALOGUE) >= 20


def test_evaluation_order_is_the_module_names() -> None:
    """Deterministic whatever order the file system lists the directory in."""
    modules = [r.spec.module for r in findings.rules()]
    assert modules == sorted(modules)


def test_no_finding_module_is_imported_at_cli_start_up() -> None:
    code = textwrap.dedent("""
        import sys
        from clinicnet.agent import cli
        cli.build_parser()
        print(sorted(m for m in sys.modules if m.startswith("clinicnet.reports")))
    """)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]"
