"""The single-file executable, built from the checked-in spec, behaves like ``python -m clinicnet``.

What clinics run is the frozen binary, not the source tree: a module PyInstaller
did not see (clinicnet imports its probes and renderers by name) only fails
there, at the clinic. So the test builds the executable once per session with
``packaging/clinicnet.spec``, then runs the same lab scenario through both and
compares what matters for a ticket: verdict, finding ids, probe names and
statuses. Build facts (size, seconds, cold start) go to tests/artifacts/.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from clinicnet import SCHEMA, __version__
from tests.lab import addresses as A
from tests.lab.strongswan import start_charon

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"

pytestmark = pytest.mark.lab


def _require_pyinstaller() -> None:
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        msg = "PyInstaller is not installed (pip install pyinstaller; dev/install adds it)"
        if os.environ.get("CLINICNET_LAB_REQUIRED") == "1":
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.fixture(scope="session")
def exe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dist/clinicnet built once per session into a temp dir (PyInstaller onefile, ~15-60 s)."""
    _require_pyinstaller()
    base = tmp_path_factory.mktemp("exe")
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
         "--distpath", str(base / "dist"), "--workpath", str(base / "build"), str(ROOT / "packaging" / "clinicnet.spec")],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    seconds = time.monotonic() - t0
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    path = base / "dist" / ("clinicnet.exe" if sys.platform == "win32" else "clinicnet")
    assert path.is_file()
    t1 = time.monotonic()
    subprocess.run([str(path), "--version"], capture_output=True, timeout=60, check=True)
    cold = time.monotonic() - t1
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "exe-build.json").write_text(json.dumps({
        "bytes": path.stat().st_size, "build_seconds": round(seconds, 1), "first_version_run_seconds": round(cold, 3),
    }, indent=2) + "\n")
    return path


def test_version_says_frozen(exe: Path) -> None:
    p = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert __version__ in p.stdout and SCHEMA in p.stdout and "frozen executable" in p.stdout


def test_licenses_are_bundled(exe: Path) -> None:
    p = subprocess.run([str(exe), "--licenses"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "GNU GENERAL PUBLIC LICENSE" in out and "Version 2, June 1991" in out
    for dist in ("psutil", "rich", "cryptography", "netifaces-plus", "Python", "PyInstaller"):
        assert f"\n{dist} " in out, dist
    assert "missing from this build" not in out


def test_catalogue_commands_work_frozen(exe: Path) -> None:
    p = subprocess.run([str(exe), "findings", "--json"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and len(json.loads(p.stdout)) >= 20
    p = subprocess.run([str(exe), "explain", "nat.double", "--lang", "ja"], capture_output=True, timeout=60)
    assert p.returncode == 0 and "nat.double" in p.stdout.decode("utf-8")


def summary(report: dict[str, Any]) -> dict[str, Any]:
    return {
        "verdict": report["verdict"],
        "findings": sorted(f["id"] for f in report["findings"]),
        "probes": [(p["name"], p["status"]) for p in report["probes"]],
    }


@pytest.mark.parametrize("options", [
    {"nat_layers": 1},
    {"nat_layers": 2, "blocks": ("udp dport 500",)},
], ids=["single-nat", "double-nat-udp500-blocked"])
def test_frozen_diagnose_matches_python(exe: Path, make_lab, tmp_path: Path, options: dict[str, Any]) -> None:
    lab = make_lab(**options)
    start_charon(lab, lab.tmpdir, A.GATEWAY_V4)
    from_python = lab.diagnose()
    bundle_path = tmp_path / "frozen-bundle.zip"
    argv = lab.diagnose_argv(["--bundle", str(bundle_path), "--capture", "--redact"])
    proc = lab.run("pc", [str(exe), *argv], timeout=120, check=False, env={"PYTHONIOENCODING": "utf-8"})
    assert proc.returncode in (0, 1, 3, 4), proc.stderr
    frozen = json.loads(proc.stdout)
    assert summary(frozen) == summary(from_python)
    assert frozen["schema"] == from_python["schema"] == SCHEMA
    assert frozen["redacted"] is True
    # the bundle works from the executable too (renderers, pcap redaction, capture tool)
    with zipfile.ZipFile(bundle_path) as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read("manifest.json"))
    assert {"report.html", "result.json", "summary-ja.txt", "probes.log", "manifest.json"} <= set(names)
    if shutil.which("tcpdump"):
        assert "capture.pcap" in names, manifest["capture"]
