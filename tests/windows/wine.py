"""Running clinicnet's Windows build under Wine inside lab namespaces.

Wine, not a Windows VM, because CI is one Debian machine: Wine runs the official Windows
CPython and the PyInstaller-built ``clinicnet.exe`` unchanged, so the code that only runs on
Windows (``sys.platform == "win32"`` branches, ctypes over iphlpapi, winsock semantics) runs for
real against real packets. ``dev/install-windows`` puts the interpreter, its wheels and a
wineboot-initialised prefix template under ``WINDOWS_HOME``.

Three Wine facts shape this module (docs/windows.md, tests/lab/README.md's lab notes):

* Wine creates sockets in the wineserver, so a Wine program sends from the network namespace
  in which its prefix's wineserver started: each namespace gets its own prefix (a hard-linked
  copy of the template, registry files copied, so no test pays ``wineboot``) and its own
  wineserver, started inside the namespace and stopped (``wineserver -k``) on every path.
* Wine 8 needs all three standard streams to be pipes (a file or /dev/null gives "Invalid
  handle"): every run here gives stdin, stdout and stderr pipes. The product is not changed for
  it.
* Windows paths: Wine maps ``Z:`` to ``/``; the interpreter is given ``Z:\\...`` paths.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import selectors
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.lab.harness import DIAGNOSE_OK_CODES, REPO_ROOT, Lab, _clean_env

WINDOWS_HOME = Path(os.environ.get("CLINICNET_WINDOWS_HOME", "/var/cache/clinicnet-windows"))
WINDOWS_PYTHON = WINDOWS_HOME / "python" / "python.exe"
PREFIX_TEMPLATE = WINDOWS_HOME / "prefix-template"
EXE_CACHE = WINDOWS_HOME / "exe"
WINE = Path("/usr/lib/wine/wine64")
WINESERVER = Path("/usr/lib/wine/wineserver")
REQUIRED_ENV = "CLINICNET_WINDOWS_REQUIRED"
MARKER_DOC = (
    "windows: runs the Windows build under Wine (dev/install-windows); skipped when Wine or the "
    f"Windows Python is missing unless {REQUIRED_ENV}=1"
)
ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
#: what the exe is built from: a change to any of these rebuilds it
_BUILD_INPUTS = ("clinicnet", "packaging/clinicnet.spec", "packaging/entry.py", "packaging/notices.py",
                 "LICENSE", "pyproject.toml")
_BASE_ENV = {
    "WINEDEBUG": "-all",
    # no Mono/Gecko download prompts (nothing may be fetched, and nothing here needs them)
    "WINEDLLOVERRIDES": "mscoree,mshtml=",
    "PYTHONIOENCODING": "utf-8",
    "PYTHONDONTWRITEBYTECODE": "1",
}


@functools.cache
def windows_available() -> tuple[bool, str]:
    """Whether the Wine test bed is installed here, and if not, what is missing."""
    for path, what in ((WINE, "wine64 (apt)"), (WINESERVER, "wineserver (apt wine64)"),
                       (WINDOWS_PYTHON, "the Windows CPython"), (PREFIX_TEMPLATE / "system.reg", "the Wine prefix template")):
        if not path.exists():
            return False, f"{what} missing at {path}: run dev/install-windows as root"
    wine_version = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "wine64"], capture_output=True,
                                  text=True, check=False).stdout.strip()
    stamp = (WINDOWS_HOME / "stamp").read_text() if (WINDOWS_HOME / "stamp").exists() else ""
    if wine_version and f"wine={wine_version} " not in stamp:
        # the prefix template was made by another Wine: a copy would update its DLLs in place,
        # through the hard links, so the template must be rebuilt first
        return False, f"the Wine prefix template predates wine64 {wine_version}: run dev/install-windows as root"
    return True, ""


def require_windows() -> None:
    """Skip (or fail under ``CLINICNET_WINDOWS_REQUIRED=1``, as in CI) without the test bed."""
    ok, why = windows_available()
    if ok:
        return
    if os.environ.get(REQUIRED_ENV) == "1":
        pytest.fail(f"{REQUIRED_ENV}=1 but the Windows test bed is missing: {why}", pytrace=False)
    pytest.skip(why)


def winpath(path: str | os.PathLike[str]) -> str:
    """A Linux path as the Windows program sees it (Wine's ``Z:`` drive is ``/``)."""
    return "Z:" + str(Path(path).resolve()).replace("/", "\\")


def copy_prefix(dest: Path) -> Path:
    """A private Wine prefix from the template: hard links (the 700 MB of system DLLs are never
    written after wineboot), real copies of the registry files wineserver rewrites."""
    linked = subprocess.run(["cp", "-al", str(PREFIX_TEMPLATE), str(dest)], capture_output=True)
    if linked.returncode != 0:  # another file system (a tmpfs /tmp): a real copy, slower
        shutil.rmtree(dest, ignore_errors=True)
        subprocess.run(["cp", "-a", "--reflink=auto", str(PREFIX_TEMPLATE), str(dest)], check=True, capture_output=True)
    for reg in dest.glob("*.reg"):
        reg.unlink()
        shutil.copy2(PREFIX_TEMPLATE / reg.name, reg)
    return dest


@dataclass
class WineResult:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    argv: list[str]
    raw_stdout: bytes = b""

    def detail(self) -> str:
        return (f"{' '.join(self.argv)} exited {self.returncode} after {self.seconds:.1f}s\n"
                f"--- stdout ---\n{self.stdout[-4000:]}\n--- stderr ---\n{self.stderr[-4000:]}")


class Wine:
    """One Wine prefix and its wineserver, in one namespace (``netns``; None: the host's)."""

    def __init__(self, prefix: Path, netns: str | None = None) -> None:
        self.prefix = prefix
        self.netns = netns
        self.env = {**_BASE_ENV, "WINEPREFIX": str(prefix)}
        self._started = False

    def _wrap(self, argv: Sequence[str]) -> list[str]:
        cmd = [str(a) for a in argv]
        return ["ip", "netns", "exec", self.netns, *cmd] if self.netns else cmd

    def start(self) -> None:
        """Start the persistent wineserver in the namespace, so every socket lives there."""
        # it forks into the background, inheriting stdout/stderr: a file, not a pipe to wait on
        log = self.prefix.parent / f"{self.prefix.name}-wineserver.log"
        with open(log, "wb") as fh:
            proc = subprocess.run(self._wrap([WINESERVER, "-p"]), env=_clean_env(self.env),
                                  stdin=subprocess.DEVNULL, stdout=fh, stderr=fh, timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(f"wineserver -p failed ({proc.returncode}): {log.read_text(errors='replace')}")
        self._started = True

    def stop(self) -> None:
        """``wineserver -k`` and wait for it: safe to call more than once, and without start."""
        if not self.prefix.exists():
            return
        env = _clean_env(self.env)
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run([str(WINESERVER), "-k"], env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=20)
            subprocess.run([str(WINESERVER), "-w"], env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=20)
        self._started = False

    def run(self, argv: Sequence[str], *, timeout: float = 120, env: Mapping[str, str] | None = None,
            cwd: str | os.PathLike[str] | None = None, input: str = "") -> WineResult:
        """Run a Windows program with all three standard streams as pipes (Wine 8 needs it).

        The output is read until the program exits, not until end of file: the Wine services it
        starts (winedevice.exe for the network driver) inherit the pipes and outlive it.
        """
        cmd = self._wrap([WINE, *argv])
        t0 = time.monotonic()
        deadline = t0 + timeout
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=_clean_env({**self.env, **(env or {})}), cwd=cwd)
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        fd_out, fd_err = proc.stdout.fileno(), proc.stderr.fileno()
        out: dict[int, bytearray] = {fd_out: bytearray(), fd_err: bytearray()}
        try:
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.write(input.encode("utf-8"))
            proc.stdin.close()
            with selectors.DefaultSelector() as sel:
                for fd in out:
                    sel.register(fd, selectors.EVENT_READ)
                exited_at: float | None = None
                while sel.get_map():
                    now = time.monotonic()
                    if now > deadline:
                        raise subprocess.TimeoutExpired(cmd, timeout, bytes(out[fd_out]), bytes(out[fd_err]))
                    if exited_at is None and proc.poll() is not None:
                        exited_at = now
                    if exited_at is not None and now - exited_at > 0.3:
                        break  # exited, and what it wrote has been drained
                    for key, _ in sel.select(0.05):
                        chunk = os.read(key.fd, 65536)
                        if chunk:
                            out[key.fd] += chunk
                        else:
                            sel.unregister(key.fd)
            returncode = proc.wait(max(0.1, deadline - time.monotonic()))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()
        return WineResult(returncode, out[fd_out].decode("utf-8", "replace"), out[fd_err].decode("utf-8", "replace"),
                          time.monotonic() - t0, [str(a) for a in argv], bytes(out[fd_out]))


@contextlib.contextmanager
def wine_session(base: Path, netns: str | None = None) -> Iterator[Wine]:
    """A fresh prefix under ``base`` with its wineserver; stopped and removed on every path."""
    prefix = base / "wineprefix"
    wine = Wine(prefix, netns)
    try:
        copy_prefix(prefix)
        wine.start()
        yield wine
    finally:
        wine.stop()
        shutil.rmtree(prefix, ignore_errors=True)


def wine_in_lab(lab: Lab, role: str = "pc") -> Wine:
    """A Wine prefix for ``role`` of a built lab, its wineserver inside that namespace; stopped
    by the lab's teardown (before the namespace's processes are killed), pass or fail."""
    prefix = lab.tmpdir / f"wine-{role}"
    wine = Wine(prefix, lab.ns(role))
    lab.add_cleanup(wine.stop)  # registered first: a failing copy or start is cleaned up too
    copy_prefix(prefix)
    wine.start()
    return wine


# --------------------------------------------------------------------------------------------
# the two Windows builds: source tree under Windows CPython, and clinicnet.exe
# --------------------------------------------------------------------------------------------


def python_argv(*args: str) -> list[str]:
    return [str(WINDOWS_PYTHON), *args]


def source_env() -> dict[str, str]:
    """Windows CPython runs the working tree (like ``python -m clinicnet`` on Linux)."""
    return {"PYTHONPATH": winpath(REPO_ROOT)}


def source_hash() -> str:
    """What the exe is built from, hashed (file names and bytes), plus the installed bed."""
    h = hashlib.sha256()
    for item in _BUILD_INPUTS:
        path = REPO_ROOT / item
        files = sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts) \
            if path.is_dir() else [path]
        for f in files:
            h.update(str(f.relative_to(REPO_ROOT)).encode() + b"\0" + f.read_bytes() + b"\0")
    stamp = WINDOWS_HOME / "stamp"
    h.update(stamp.read_bytes() if stamp.exists() else b"")
    return h.hexdigest()[:16]


def build_exe(workdir: Path) -> tuple[Path, dict[str, Any]]:
    """``clinicnet.exe`` built by PyInstaller under Wine from packaging/clinicnet.spec, cached
    in ``WINDOWS_HOME/exe/<source hash>/`` (a rebuild costs about a minute)."""
    key = source_hash()
    cached = EXE_CACHE / key / "clinicnet.exe"
    facts_file = EXE_CACHE / key / "build.json"
    if cached.is_file() and facts_file.is_file():
        return cached, {**json.loads(facts_file.read_text()), "cached": True}
    build = workdir / "exe-build"
    build.mkdir(parents=True, exist_ok=True)
    with wine_session(build) as wine:
        res = wine.run(python_argv("-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
                                   "--distpath", winpath(build / "dist"), "--workpath", winpath(build / "work"),
                                   winpath(REPO_ROOT / "packaging" / "clinicnet.spec")),
                       timeout=900, cwd=REPO_ROOT)
    exe = build / "dist" / "clinicnet.exe"
    if res.returncode != 0 or not exe.is_file():
        raise AssertionError("PyInstaller under Wine failed\n" + res.detail())
    facts = {"bytes": exe.stat().st_size, "build_seconds": round(res.seconds, 1), "source_hash": key}
    tmp = EXE_CACHE / f".{key}.{os.getpid()}"
    tmp.mkdir(parents=True, exist_ok=True)
    shutil.copy2(exe, tmp / "clinicnet.exe")
    (tmp / "build.json").write_text(json.dumps(facts) + "\n")
    with contextlib.suppress(OSError):  # a parallel session may have won the race: same bytes
        tmp.rename(EXE_CACHE / key)
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(build, ignore_errors=True)
    _prune_exe_cache(keep=key)
    return cached, {**facts, "cached": False}


def _prune_exe_cache(keep: str, newest: int = 3) -> None:
    """Each source change builds a 12 MB exe: keep the few newest (other worktrees share the cache)."""
    builds = sorted((p for p in EXE_CACHE.iterdir() if p.is_dir() and not p.name.startswith(".")),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    for old in builds[newest:]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)


def diagnose_windows(wine: Wine, lab: Lab, program: Sequence[str], extra: Sequence[str] = (), *,
                     env: Mapping[str, str] | None = None, timeout: float = 180) -> tuple[dict[str, Any], WineResult]:
    """``clinicnet diagnose`` (the lab's usual arguments) by a Windows build on the lab's PC."""
    res = wine.run([*program, *lab.diagnose_argv(extra)], env=env, cwd=REPO_ROOT, timeout=timeout)
    if res.returncode not in DIAGNOSE_OK_CODES:
        raise AssertionError("Windows clinicnet diagnose failed\n" + res.detail())
    try:
        report = json.loads(res.stdout)
    except ValueError as exc:
        raise AssertionError(f"Windows clinicnet diagnose printed no JSON ({exc})\n" + res.detail()) from None
    return report, res


def record_artifact(name: str, data: Mapping[str, Any]) -> None:
    """Merge figures into tests/artifacts/windows.json (for the docs and the lead's note)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "windows.json"
    try:
        current = json.loads(path.read_text())
    except (OSError, ValueError):
        current = {}
    current[name] = data
    path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")


def save_reports(name: str, **reports: Mapping[str, Any]) -> None:
    """Keep the full reports of a comparison in tests/artifacts/windows/ (for the diff's cause)."""
    folder = ARTIFACTS / "windows"
    folder.mkdir(parents=True, exist_ok=True)
    for build, report in reports.items():
        (folder / f"{name}.{build}.json").write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
