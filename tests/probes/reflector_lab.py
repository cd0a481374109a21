"""Starting the reflector (and the UPnP responder) inside lab namespaces, for the lab tests."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.lab import addresses as A
from tests.lab.harness import REPO_ROOT, Lab

HERE = Path(__file__).resolve().parent


def start_reflector(lab: Lab, *args: str, bind: str = A.REFLECTOR_V4, name: str = "reflector") -> tuple[
        subprocess.Popen[Any], Path]:
    """``clinicnet reflector --bind BIND`` in ``dc``; returns once its "start" line is logged."""
    log = lab.tmpdir / f"{name}.jsonl"
    argv = [sys.executable, "-m", "clinicnet", "reflector", "--log", str(log)]
    if bind:
        argv += ["--bind", bind]
    proc = lab.spawn("dc", [*argv, *args], log_name=f"{name}.out", cwd=str(REPO_ROOT),
                     env={"PYTHONPATH": str(REPO_ROOT)})
    wait_event(log, "start", proc)
    return proc, log


#: packaging/REFLECTOR.md: beside a gateway that binds the wildcard address (not ``redirect``:
#: that rewrites to the interface's first address, the gateway's)
BESIDE_GATEWAY_NFT = f"""
table ip reflector {{
  chain pre {{
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr {A.REFLECTOR_V4} udp dport 500 dnat to {A.REFLECTOR_V4}:10500
    ip daddr {A.REFLECTOR_V4} udp dport 4500 dnat to {A.REFLECTOR_V4}:14500
  }}
}}
"""


def start_reflector_beside_gateway(lab: Lab, name: str = "reflector") -> tuple[subprocess.Popen[Any], Path]:
    """The documented set-up beside strongSwan on the same host: other ports plus a DNAT."""
    lab.nft("dc", BESIDE_GATEWAY_NFT)
    return start_reflector(lab, "--ports", "10500,14500", name=name)


def events(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    out = []
    for line in log.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


def wait_event(log: Path, event: str, proc: subprocess.Popen[Any] | None = None, timeout: float = 10.0,
               after: int = 0) -> dict[str, Any]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        evs = [e for e in events(log)[after:] if e.get("event") == event]
        if evs:
            return evs[-1]
        if proc is not None and proc.poll() is not None and event != "stop":
            raise AssertionError(f"reflector exited {proc.returncode}: {events(log)}")
        time.sleep(0.05)
    raise AssertionError(f"no {event!r} event in {log}: {events(log)}")


def start_upnp(lab: Lab, wan_ip: str, *, hostile: bool = False) -> subprocess.Popen[Any]:
    argv = [sys.executable, str(HERE / "upnp_responder.py"), "--lan-ip", A.ROUTER_LAN_V4, "--wan-ip", wan_ip]
    if hostile:
        argv.append("--hostile")
    proc = lab.spawn("router", argv, stdout=subprocess.PIPE, text=True, log_name="upnp.log")
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "ready", line
    return proc


