"""The command line without probing: version, usage errors, report re-rendering."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from clinicnet import SCHEMA, __version__
from clinicnet.agent.cli import main


def run(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "clinicnet", *args], capture_output=True, text=True,
                          input=input, timeout=60)


def test_version():
    p = run("--version")
    assert p.returncode == 0
    assert __version__ in p.stdout and SCHEMA in p.stdout


def test_help_lists_exit_codes():
    p = run("diagnose", "--help")
    assert p.returncode == 0
    for code in ("0  ready", "1  ready_with_warnings", "2  usage error", "3  not_ready", "4  inconclusive"):
        assert code in p.stdout


@pytest.mark.parametrize("args,message", [
    (["diagnose", "--target", "bad host"], "not a host name"),
    (["diagnose", "--internet-check", "gopher://x/"], "unsupported check URL"),
    (["diagnose", "--timeout", "0"], "timeout must be"),
    (["diagnose", "--config", "/nonexistent/c.toml"], "cannot read config"),
    (["report", "/nonexistent.json"], "cannot read"),
    (["explain", "no.such.id"], "unknown finding id"),
])
def test_usage_errors_are_one_line_exit_2(args, message):
    p = run(*args)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in p.stderr


def test_unknown_option_is_exit_2():
    assert run("diagnose", "--bogus").returncode == 2


def test_report_refuses_newer_schema_and_garbage(tmp_path):
    newer = tmp_path / "n.json"
    newer.write_text(json.dumps({"schema": "clinicnet.report/99", "created_at": "x", "verdict": "ready"}))
    p = run("report", str(newer))
    assert p.returncode == 2 and "newer" in p.stderr and "Traceback" not in p.stderr
    garbage = tmp_path / "g.json"
    garbage.write_text("{not json")
    p = run("report", str(garbage))
    assert p.returncode == 2 and "not JSON" in p.stderr
    other = tmp_path / "o.json"
    other.write_text('{"hello": 1}')
    assert "not a clinicnet result" in run("report", str(other)).stderr


def test_report_round_trip_keeps_verdict_and_exit_code(tmp_path, capsys):
    from clinicnet.agent.diagnose import build_report
    from tests.reports import evidence as e

    rep = build_report(e.healthy(ike=e.ike(e.ike_target(udp4500="silent"))), {"targets": ["192.0.2.10"]},
                       created_at="2026-11-25T00:00:00+0900", host={"hostname": "pc1"})
    src = tmp_path / "r.json"
    src.write_text(rep.dumps(), encoding="utf-8")
    out = tmp_path / "again.json"
    code = main(["report", str(src), "--json", str(out), "--quiet"])
    assert code == 1  # ready_with_warnings
    again = json.loads(out.read_text(encoding="utf-8"))
    assert again["verdict"] == "ready_with_warnings"
    assert again["findings"] == json.loads(rep.dumps())["findings"]
