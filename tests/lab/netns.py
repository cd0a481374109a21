"""Low-level namespace bookkeeping: unique names, cleanup, leak detection.

Separate from the topology code because cleanup must work without a ``Lab`` object: from
finalisers, at interpreter exit, from the pytest leak check, and for labs left behind by a run that
was SIGKILLed (whose owner process no longer exists).

Ownership is recorded in ``/run/clinicnet-lab/<base>.json`` (owner pid + start time + namespace
names).  Nothing is written into ``/etc/netns/NS/`` besides ``resolv.conf``, because ``ip netns
exec`` bind-mounts every file found there over ``/etc``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

NETNS_DIR = Path("/run/netns")
ETC_NETNS_DIR = Path("/etc/netns")
REGISTRY_DIR = Path("/run/clinicnet-lab")

_RUN_ENV = "_CLINICNET_LAB_RUN"


def _init_run_prefix() -> str:
    """A per-process prefix ("cn" + 4 hex digits) shared by every lab of this process.

    Kept in the environment tagged with our pid: if the lab package gets imported twice under
    different module names (pytest's rootdir-relative imports can do that), both copies agree on
    the prefix, while child processes (pytest-xdist workers) pick their own, so one worker's leak
    check never sees another worker's live labs.
    """
    value = os.environ.get(_RUN_ENV, "")
    pid, _, prefix = value.partition(":")
    if pid == str(os.getpid()) and prefix:
        return prefix
    prefix = "cn" + secrets.token_hex(2)
    os.environ[_RUN_ENV] = f"{os.getpid()}:{prefix}"
    return prefix


#: every namespace created by this process starts with this
RUN_PREFIX = _init_run_prefix()

#: namespace names created by this process and not yet deleted (leak check input)
_created: set[str] = set()
_counter = 0


def next_base() -> str:
    """A fresh lab base name ``RUN_PREFIX + hex counter``, e.g. ``cn3fa901``.

    With the longest role ("router") and a two-digit counter the namespace names stay within 15
    characters, so they would even be valid interface names.
    """
    global _counter
    while True:
        base = f"{RUN_PREFIX}{_counter:02x}"
        _counter += 1
        if not any(p.name.startswith(base + "-") for p in _listdir(NETNS_DIR)):
            return base


def _listdir(path: Path) -> list[Path]:
    try:
        return list(path.iterdir())
    except FileNotFoundError:
        return []


def list_namespaces(prefix: str = "") -> list[str]:
    """Names of existing network namespaces starting with ``prefix``."""
    return sorted(p.name for p in _listdir(NETNS_DIR) if p.name.startswith(prefix))


def remember(names: Iterable[str]) -> None:
    _created.update(names)


def remembered() -> set[str]:
    return set(_created)


def _proc_start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # field 22 (starttime); the command name in field 2 may contain spaces, skip past ')'
    return stat.rsplit(")", 1)[1].split()[19]


def write_registry(base: str, namespaces: list[str], tmpdir: Path) -> None:
    """Record that this process owns ``namespaces`` (so a later run can sweep them if we die)."""
    REGISTRY_DIR.mkdir(parents=True, exist_ok=True)
    record = {
        "pid": os.getpid(),
        "start": _proc_start_time(os.getpid()),
        "namespaces": namespaces,
        "tmpdir": str(tmpdir),
    }
    (REGISTRY_DIR / f"{base}.json").write_text(json.dumps(record))


def drop_registry(base: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        (REGISTRY_DIR / f"{base}.json").unlink()


def pids_in(namespaces: Iterable[str]) -> dict[str, list[int]]:
    """Processes whose network namespace is one of ``namespaces`` (like ``ip netns pids``).

    One scan of /proc for all namespaces instead of one ``ip`` process per namespace.
    """
    wanted: dict[tuple[int, int], str] = {}
    for name in namespaces:
        try:
            st = os.stat(NETNS_DIR / name)
        except OSError:
            continue
        wanted[(st.st_dev, st.st_ino)] = name
    found: dict[str, list[int]] = {name: [] for name in wanted.values()}
    if not wanted:
        return found
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            st = os.stat(f"/proc/{entry.name}/ns/net")
        except OSError:
            continue  # gone, or a zombie (no namespaces any more)
        owner = wanted.get((st.st_dev, st.st_ino))
        if owner is not None:
            found[owner].append(int(entry.name))
    return found


def kill_namespace_processes(namespaces: Iterable[str], timeout: float = 2.0) -> list[int]:
    """SIGKILL every process still inside ``namespaces`` and wait until they are gone.

    A namespace is only really destroyed when its last process exits; ``ip netns del`` alone
    would just unmount the name and leave the network (and listeners) alive.
    """
    names = list(namespaces)
    killed: list[int] = []
    deadline = time.monotonic() + timeout
    while True:
        pids = [pid for group in pids_in(names).values() for pid in group if pid != os.getpid()]
        if not pids or time.monotonic() > deadline:
            return killed
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        time.sleep(0.01)


def delete_namespaces(namespaces: Iterable[str]) -> None:
    """Kill what runs inside, delete the namespaces and their /etc/netns directories.

    Never raises: it runs from finalisers and teardown paths that must not mask the real error.
    """
    names = [n for n in namespaces if n]
    if not names:
        return
    kill_namespace_processes(names)
    existing = [n for n in names if (NETNS_DIR / n).exists()]
    if existing:
        script = "".join(f"netns del {n}\n" for n in existing)
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(
                ["ip", "-force", "-batch", "-"],
                input=script,
                text=True,
                capture_output=True,
                timeout=10,
                check=False,
            )
    for name in names:
        shutil.rmtree(ETC_NETNS_DIR / name, ignore_errors=True)
    _created.difference_update(names)


def sweep_stale() -> list[str]:
    """Delete labs whose owner process is dead (left behind by a SIGKILLed run).

    Only namespaces listed in a registry record are touched, and only when the recorded owner
    pid no longer runs with the recorded start time, so concurrent runs are safe.
    """
    swept: list[str] = []
    for record_path in _listdir(REGISTRY_DIR):
        if record_path.suffix != ".json":
            continue
        try:
            record = json.loads(record_path.read_text())
            pid = int(record["pid"])
            namespaces = [str(n) for n in record["namespaces"]]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if _proc_start_time(pid) is not None and _proc_start_time(pid) == record.get("start"):
            continue  # owner alive
        delete_namespaces(namespaces)
        tmpdir = record.get("tmpdir")
        if tmpdir and os.environ.get("CLINICNET_LAB_KEEP") != "1":
            shutil.rmtree(tmpdir, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            record_path.unlink()
        swept.extend(namespaces)
    return swept


_availability: tuple[bool, str] | None = None


def lab_available() -> tuple[bool, str]:
    """Whether labs can be built here, and why not (cached per process).

    Checks what a lab actually needs instead of guessing from the platform: root, the tools, and
    that creating a namespace really works (it does not in unprivileged containers).
    """
    global _availability
    if _availability is not None:
        return _availability
    result: tuple[bool, str] = (True, "")
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        result = (False, "lab tests need root (network namespaces, nftables)")
    else:
        missing = [t for t in ("ip", "nft", "dnsmasq") if shutil.which(t) is None]
        if missing:
            result = (False, f"lab tests need {', '.join(missing)} on PATH")
        else:
            probe = f"{RUN_PREFIX}probe"
            try:
                proc = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True, timeout=10)
            except (OSError, subprocess.SubprocessError) as exc:
                result = (False, f"`ip netns add` failed: {exc}")
            else:
                if proc.returncode != 0:
                    result = (False, f"`ip netns add` failed: {proc.stderr.strip()}")
                subprocess.run(["ip", "netns", "del", probe], capture_output=True, timeout=10)
            if result[0] and not Path("/dev/net/tun").exists():
                result = (False, "/dev/net/tun is missing (needed for vpn_up labs)")
    _availability = result
    return result
