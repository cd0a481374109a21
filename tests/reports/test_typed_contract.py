"""mypy checks what rules read from probes: a key a probe does not declare is a type error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

RULE = '''
from clinicnet.probes import routes as routes_probe
from clinicnet.reports.findings.interface import Evidence


def check(ev: Evidence) -> object:
    v = ev.of(routes_probe.SPEC)
    return (v.get("default_v4"), v.get("{key}"))
'''


@pytest.mark.parametrize("key,ok", [("default_v6", True), ("default_v5", False)])
def test_an_undeclared_probe_value_key_fails_type_checking(tmp_path: Path, key: str, ok: bool) -> None:
    rule = tmp_path / "some_rule.py"
    rule.write_text(RULE.replace("{key}", key), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir",
         str(tmp_path / "cache"), str(rule)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    if ok:
        assert proc.returncode == 0, proc.stdout
    else:
        assert proc.returncode == 1 and 'has no key "default_v5"' in proc.stdout, proc.stdout
