"""No output path raises UnicodeEncodeError or UnicodeDecodeError (issue 9, encodings).

On Windows a pipe or a redirected file gets the ANSI code page (cp1252, cp932);
here ``PYTHONIOENCODING`` gives a Linux process the same stream encodings. Files and
pipes must come out as UTF-8 whatever that encoding (``--json -`` always), and a
console that cannot show a character gets a replacement, not a traceback. (The
Windows console itself is tested under Wine in tests/windows/.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from clinicnet.model import Status
from tests.reports import factories as fx

ROOT = Path(__file__).resolve().parents[2]
CODE_PAGES = ["cp1252", "cp932"]
#: cp932 has no em dash (U+2014) nor these; cp1252 has no Japanese at all
AWKWARD = "応答なし \u2014 \u2460 \U0001f600 caf\u00e9"


def env(encoding: str) -> dict[str, str]:
    return {**os.environ, "PYTHONIOENCODING": encoding, "PYTHONPATH": str(ROOT)}


@pytest.fixture()
def awkward_result(tmp_path: Path) -> Path:
    """A result whose texts no single code page can encode: Japanese, an em dash, an emoji."""
    rep = fx.sample_report()
    probes = (replace(rep.probes[0], status=Status.ERROR, reason=AWKWARD, values={"note": AWKWARD}),
              *rep.probes[1:])
    path = tmp_path / "awkward.json"
    path.write_text(replace(rep, probes=probes).dumps(), encoding="utf-8")
    return path


def commands(result: Path) -> list[list[str]]:
    return [
        ["explain", "nat.double", "--lang", "ja"],
        ["explain", "nat.double", "--lang", "en"],
        ["findings", "--lang", "ja"],
        ["--help"],
        ["diagnose", "--help"],
        ["report", str(result), "--lang", "ja"],
        ["report", str(result), "--lang", "en"],
        ["report", str(result), "--json", "-"],
        ["--licenses"],
    ]


def check(p: subprocess.CompletedProcess[bytes], out: bytes) -> str:
    err = p.stderr.decode("utf-8")
    assert "Traceback" not in err and "UnicodeEncodeError" not in err, err
    assert p.returncode in (0, 3), (p.returncode, err)
    text = out.decode("utf-8")  # strict: UTF-8 whatever the code page
    assert not text.startswith("\ufeff"), "no BOM on a stream: it would corrupt --json - for a program"
    return text


@pytest.mark.parametrize("encoding", CODE_PAGES)
def test_every_command_through_a_code_page_pipe(encoding: str, awkward_result: Path) -> None:
    for args in commands(awkward_result):
        p = subprocess.run([sys.executable, "-m", "clinicnet", *args], capture_output=True, timeout=60,
                           env=env(encoding))
        text = check(p, p.stdout)
        if args[:1] == ["explain"] and args[-1] == "ja":
            assert "二重" in text
        if args[:1] == ["report"] and "--json" not in args:
            assert AWKWARD in text
        if "--json" in args:
            assert json.loads(text)["probes"][0]["reason"] == AWKWARD


@pytest.mark.parametrize("encoding", CODE_PAGES)
def test_every_command_into_a_redirected_file(encoding: str, awkward_result: Path, tmp_path: Path) -> None:
    for i, args in enumerate(commands(awkward_result)):
        out = tmp_path / f"out{i}.txt"
        with out.open("wb") as fh:
            p = subprocess.run([sys.executable, "-m", "clinicnet", *args], stdout=fh, stderr=subprocess.PIPE,
                               timeout=60, env=env(encoding))
        check(p, out.read_bytes())


@pytest.mark.parametrize("encoding", CODE_PAGES)
def test_stderr_through_a_code_page_pipe_is_utf8(encoding: str, tmp_path: Path) -> None:
    missing = tmp_path / "結果\u2014.json"
    p = subprocess.run([sys.executable, "-m", "clinicnet", "report", str(missing)], capture_output=True,
                       timeout=60, env=env(encoding))
    assert p.returncode == 2
    assert "結果\u2014.json" in p.stderr.decode("utf-8")


@pytest.mark.parametrize("encoding", CODE_PAGES)
def test_report_files_are_utf8(encoding: str, awkward_result: Path, tmp_path: Path) -> None:
    outs = {fmt: tmp_path / f"r.{fmt}" for fmt in ("json", "html", "markdown")}
    p = subprocess.run([sys.executable, "-m", "clinicnet", "report", str(awkward_result), "--quiet",
                        *[a for fmt, path in outs.items() for a in (f"--{fmt}", str(path))]],
                       capture_output=True, timeout=60, env=env(encoding))
    assert p.returncode == 3, p.stderr
    for path in outs.values():
        assert AWKWARD in path.read_bytes().decode("utf-8")


def test_a_lone_surrogate_in_a_result_survives_every_output(tmp_path: Path) -> None:
    """A result file may carry ``"\\udcff"`` (JSON allows it; UTF-8 cannot encode it)."""
    data = fx.sample_report().to_json()
    data["probes"][0]["reason"] = "bad \udcff byte"
    src = tmp_path / "s.json"
    src.write_text(json.dumps(data), encoding="ascii")  # ensure_ascii: the escape, as a file would hold it
    again, html = tmp_path / "again.json", tmp_path / "r.html"
    p = subprocess.run([sys.executable, "-m", "clinicnet", "report", str(src), "--json", str(again),
                        "--html", str(html)], capture_output=True, timeout=60, env=env("utf-8"))
    assert p.returncode == 3, p.stderr
    check(p, p.stdout)
    assert json.loads(again.read_bytes().decode("utf-8"))["probes"][0]["reason"] == "bad \udcff byte"
    html.read_bytes().decode("utf-8")
    p = subprocess.run([sys.executable, "-m", "clinicnet", "report", str(src), "--json", "-"],
                       capture_output=True, timeout=60, env=env("utf-8"))
    assert json.loads(check(p, p.stdout))["probes"][0]["reason"] == "bad \udcff byte"


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal is POSIX; Wine tests the console")
@pytest.mark.parametrize("encoding", CODE_PAGES)
def test_a_console_that_cannot_show_a_character_gets_a_replacement(encoding: str) -> None:
    import pty

    main, sub = pty.openpty()
    try:
        p = subprocess.run([sys.executable, "-m", "clinicnet", "explain", "nat.double", "--lang", "ja"],
                           stdout=sub, stderr=subprocess.PIPE, timeout=60, env=env(encoding))
        os.close(sub)
        sub = -1
        chunks = []
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the terminal's other side is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(main)
        if sub >= 0:
            os.close(sub)
    assert p.returncode == 0 and b"Traceback" not in p.stderr, p.stderr
    shown = b"".join(chunks).decode(encoding, "replace")
    assert "nat.double" in shown
    if encoding == "cp1252":
        assert "?" in shown  # Japanese replaced, not a crash
    else:
        assert "二重" in shown  # cp932 shows Japanese as it is
