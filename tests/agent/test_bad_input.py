"""Hostile and mistaken input: one clear line on stderr and exit code 2, never a traceback (issue 11).

Each case here was a traceback (RecursionError, OSError, AttributeError,
BrokenPipeError) or a silently wrong value before. Nothing here probes a network:
the commands used (``report``, ``explain``, ``findings``, ``--help``) do not send a
packet, and ``diagnose`` refuses its bad outputs before probing; the one run that
probes is in the namespace lab (last test).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reports import factories as fx

LONG = "x" * 300


def run(*args: str, stdout: int | None = subprocess.PIPE, cwd: Path | None = None,
        close_stdout: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clinicnet", *args], stdout=stdout, stderr=subprocess.PIPE, text=True,
        timeout=60, cwd=cwd, preexec_fn=(lambda: os.close(1)) if close_stdout else None,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )


def assert_one_line(p: subprocess.CompletedProcess[str], *words: str) -> None:
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert "Traceback" not in p.stderr and "Exception ignored" not in p.stderr, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("clinicnet: error: "), p.stderr
    for w in words:
        assert w in lines[0], lines[0]


@pytest.fixture()
def result(tmp_path: Path) -> Path:
    path = tmp_path / "r.json"
    path.write_text(fx.sample_report().dumps(), encoding="utf-8")
    return path


# --- nesting -----------------------------------------------------------------------------


def test_deeply_nested_json_result(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    assert_one_line(run("report", str(deep)), "nested")


def test_nested_result_that_json_reads_but_redaction_and_rendering_would_not(tmp_path: Path) -> None:
    """600 levels: under json's limit, over what the redaction's and renderers' recursion takes."""
    data = fx.sample_report().to_json()
    nest: object = "leaf"
    for _ in range(600):
        nest = {"k": nest}
    data["extra"] = {"nest": nest}
    deep = tmp_path / "deep.json"
    deep.write_text(json.dumps(data))
    assert_one_line(run("report", str(deep), "--redact", "--html", str(tmp_path / "r.html")), "nested")
    assert not (tmp_path / "r.html").exists()


def test_an_ordinary_result_is_not_too_deep(result: Path) -> None:
    p = run("report", str(result), "--json", "-")
    assert p.returncode == 3, p.stderr
    assert json.loads(p.stdout)["verdict"] == "not_ready"


def test_deeply_nested_toml_config(tmp_path: Path) -> None:
    deep = tmp_path / "deep.toml"
    deep.write_text("targets = " + "[" * 100_000 + "]" * 100_000 + "\n")
    # refused while the settings are read, before any probe
    assert_one_line(run("diagnose", "--config", str(deep)), "nested")


@pytest.mark.parametrize("schema", ["clinicnet.report/-1", "clinicnet.report/0", "clinicnet.report/ 1",
                                    "clinicnet.report/1_0", "clinicnet.report/\u0661"])
def test_impossible_schema_versions_are_refused(tmp_path: Path, schema: str) -> None:
    bad = tmp_path / "s.json"
    bad.write_text(json.dumps({"schema": schema, "created_at": "x", "verdict": "ready"}), encoding="utf-8")
    assert_one_line(run("report", str(bad)), "unknown schema")


@pytest.mark.parametrize("flag", ["no", "false", 0, None])
def test_a_redacted_flag_that_is_not_a_boolean_is_refused(tmp_path: Path, flag: object) -> None:
    """``"redacted": "no"`` must not read as True (nor 0 as False): the flag tells a reader what they may see."""
    bad = tmp_path / "r.json"
    bad.write_text(json.dumps({"schema": "clinicnet.report/1", "created_at": "x", "verdict": "ready",
                               "redacted": flag}), encoding="utf-8")
    assert_one_line(run("report", str(bad)), "redacted")


# --- file names ----------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["--json", "--html", "--markdown"])
def test_a_300_character_output_name_from_report(result: Path, option: str) -> None:
    assert_one_line(run("report", str(result), option, LONG), "cannot write", "too long")


@pytest.mark.parametrize("option", ["--json", "--html", "--markdown", "--bundle", "--output-dir"])
def test_a_300_character_output_name_is_refused_before_probing(monkeypatch, capsys, option: str) -> None:  # type: ignore[no-untyped-def]
    from clinicnet.agent import cli
    from clinicnet.agent import diagnose as D

    # in-process with probing replaced: a regression fails here instead of probing
    monkeypatch.setattr(D, "diagnose", lambda *a, **k: pytest.fail("diagnose probed despite a bad output name"))
    code = cli.main(["diagnose", "--target", "127.0.0.1", "--internet-check", "tcp://127.0.0.1:9", option, LONG])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "too long" in err, err


@pytest.mark.parametrize("option,value,words", [
    ("--json", "/proc/clinicnet.json", "cannot write"),  # a folder no file can be made in
    ("--bundle", "/proc/clinicnet.zip", "cannot write"),
    ("--output-dir", __file__, "is not a folder"),
    ("--html", str(Path(__file__).parent), "is a directory"),
])
def test_an_unwritable_output_is_refused_before_probing(monkeypatch, capsys, option, value, words):  # type: ignore[no-untyped-def]
    from clinicnet.agent import cli
    from clinicnet.agent import diagnose as D

    if not os.path.isdir("/proc/self") and value.startswith("/proc"):
        pytest.skip("no /proc")
    monkeypatch.setattr(D, "diagnose", lambda *a, **k: pytest.fail("diagnose probed despite an unwritable output"))
    code = cli.main(["diagnose", "--target", "127.0.0.1", "--internet-check", "tcp://127.0.0.1:9", option, value])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and words in err, err


def test_a_300_character_result_name(tmp_path: Path) -> None:
    assert_one_line(run("report", str(tmp_path / LONG)), "cannot read", "too long")


def test_an_unknown_option_is_one_line() -> None:
    assert_one_line(run("diagnose", "--bogus"), "unrecognized arguments: --bogus")
    assert_one_line(run("report"), "RESULT.json")
    assert_one_line(run("ike", "192.0.2.1", "--timeout", "soon"), "invalid float value")


# --- standard output that fails --------------------------------------------------------------


@pytest.mark.parametrize("args", [["--json", "-"], [], ["--lang", "ja"]], ids=["json", "text", "text-ja"])
@pytest.mark.parametrize("how", ["closed", "full", "broken-pipe"])
def test_report_to_a_stdout_that_fails(result: Path, args: list[str], how: str) -> None:
    if how == "closed":
        p = run("report", str(result), *args, stdout=None, close_stdout=True)
        assert_one_line(p, "standard output", "closed")
        return
    if how == "full":
        if not os.path.exists("/dev/full"):
            pytest.skip("no /dev/full")
        with open("/dev/full", "wb") as full:
            p = run("report", str(result), *args, stdout=full.fileno())
        assert_one_line(p, "standard output", "No space left")
        return
    r, w = os.pipe()
    os.close(r)  # the reader has left before the first byte
    try:
        p = run("report", str(result), *args, stdout=w)
    finally:
        os.close(w)
    assert_one_line(p, "standard output", "closed the pipe")


@pytest.mark.parametrize("args", [["explain", "nat.double"], ["findings"], ["--help"], ["diagnose", "--help"],
                                  ["--version"], ["--licenses"]])
def test_every_command_into_a_full_disk(args: list[str]) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    with open("/dev/full", "wb") as full:
        assert_one_line(run(*args, stdout=full.fileno()), "standard output")


@pytest.mark.parametrize("redirect", ["full", "closed"])
def test_a_stderr_that_fails_still_gives_exit_2(tmp_path: Path, redirect: str) -> None:
    """The error line has nowhere to go; the exit code still says what happened."""
    if redirect == "full" and not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    target = "/dev/full" if redirect == "full" else "&-"
    p = subprocess.run(["sh", "-c", f'exec "$@" 2>{target}', "sh", sys.executable, "-m", "clinicnet", "report",
                        str(tmp_path / "missing.json")], capture_output=False, timeout=60,
                       env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert p.returncode == 2


def test_files_are_written_before_a_failing_stdout(result: Path, tmp_path: Path) -> None:
    html, md = tmp_path / "r.html", tmp_path / "r.md"
    with open("/dev/full", "wb") as full:
        p = run("report", str(result), "--json", "-", "--html", str(html), "--markdown", str(md),
                stdout=full.fileno())
    assert_one_line(p, "standard output")
    assert html.stat().st_size > 1000 and md.stat().st_size > 100
    assert html.stat().st_mode & 0o044 == 0o044, "a report is an ordinary file, readable as umask allows"


# --- the probing run: files survive a stdout that fails ------------------------------------------


@pytest.mark.lab
def test_diagnose_keeps_its_report_files_when_stdout_fails(make_lab) -> None:  # type: ignore[no-untyped-def]
    from tests.lab import addresses as A
    from tests.lab.strongswan import start_charon

    lab = make_lab(nat_layers=1)
    start_charon(lab, lab.tmpdir, A.GATEWAY_V4)
    html, md = lab.tmpdir / "d.html", lab.tmpdir / "d.md"
    argv = lab.diagnose_argv(["--html", str(html), "--markdown", str(md)], timeout=2)
    root = Path(__file__).resolve().parents[2]
    script = 'exec "$@" >/dev/full'
    proc = lab.run("pc", ["sh", "-c", script, "sh", sys.executable, "-m", "clinicnet", *argv], check=False,
                   timeout=90, env={"PYTHONPATH": str(root)}, cwd=root)
    assert_one_line(proc, "standard output", "No space left")
    assert "<html" in html.read_text(encoding="utf-8").lower()
    assert md.read_text(encoding="utf-8").strip()
    # progress goes to stderr: a stderr that fails must not take the run down
    js = lab.tmpdir / "d.json"
    argv = [a for a in lab.diagnose_argv(timeout=2) if a != "--quiet"]
    argv[argv.index("--json") + 1] = str(js)
    for redirect in ("2>/dev/full", "2>&-"):
        proc = lab.run("pc", ["sh", "-c", f'exec "$@" >/dev/null {redirect}', "sh", sys.executable, "-m",
                              "clinicnet", *argv], check=False, timeout=90, env={"PYTHONPATH": str(root)}, cwd=root)
        assert proc.returncode in (0, 1, 3, 4), (redirect, proc.returncode)
        assert json.loads(js.read_text(encoding="utf-8"))["verdict"] == "ready"
        js.unlink()


# --- special files ----------------------------------------------------------------------------


def test_an_endless_result_or_config_file_is_refused() -> None:
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    assert_one_line(run("report", "/dev/zero"), "larger than")
    assert_one_line(run("diagnose", "--config", "/dev/zero"), "larger than")


def test_a_fifo_is_written_into_not_replaced(result: Path, tmp_path: Path) -> None:
    """The same rule keeps root's ``--json /dev/null`` from replacing /dev/null with a file."""
    import stat
    import threading

    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    p = run("report", str(result), "--json", str(fifo), "--quiet")
    reader.join(30)
    assert p.returncode == 3, p.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert json.loads(got[0].decode("utf-8"))["verdict"] == "not_ready"


def test_a_symlink_stays_a_link_and_an_existing_file_keeps_its_mode(result: Path, tmp_path: Path) -> None:
    real = tmp_path / "real.md"
    real.write_text("old", encoding="utf-8")
    real.chmod(0o640)
    link = tmp_path / "link.md"
    link.symlink_to(real)
    p = run("report", str(result), "--markdown", str(link), "--quiet")
    assert p.returncode == 3, p.stderr
    assert link.is_symlink() and real.read_text(encoding="utf-8") != "old"
    assert real.stat().st_mode & 0o777 == 0o640
    assert [f.name for f in tmp_path.iterdir() if f.name.startswith(".clinicnet-")] == []


def test_a_result_from_a_closed_stdin(result: Path) -> None:
    p = subprocess.run(["sh", "-c", 'exec "$@" <&-', "sh", sys.executable, "-m", "clinicnet", "report", "-"],
                       capture_output=True, text=True, timeout=60,
                       env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert_one_line(p, "standard input")
    p = subprocess.run([sys.executable, "-m", "clinicnet", "report", "-", "--json", "-"], input=result.read_text(),
                       capture_output=True, text=True, timeout=60,
                       env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert p.returncode == 3 and json.loads(p.stdout)["verdict"] == "not_ready"
