"""The reflector as deployed: in the ``dc`` namespace on 192.0.2.20, beside a real
strongSwan gateway on 192.0.2.10, probed by ``clinicnet diagnose`` from the clinic PC."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import pytest

from tests.lab import addresses as A
from tests.lab.harness import REPO_ROOT
from tests.lab.reports import probe_result
from tests.probes.reflector_lab import (
    events,
    start_reflector,
    start_reflector_beside_gateway,
    wait_event,
)

pytestmark = pytest.mark.lab
REFL = ["--reflector", A.REFLECTOR_V4]


def start_reflector_expect_failure(lab):
    log = lab.tmpdir / "reflector-fail.jsonl"
    proc = lab.spawn("dc", [sys.executable, "-m", "clinicnet", "reflector", "--bind", A.REFLECTOR_V4,
                            "--log", str(log)], cwd=str(REPO_ROOT), env={"PYTHONPATH": str(REPO_ROOT)})
    assert proc.wait(10) == 1
    return proc, log


def _uid(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Uid:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def test_beside_strongswan_both_answer(make_lab):
    from tests.lab.strongswan import start_charon

    lab = make_lab(nat_layers=1)
    charon = start_charon(lab, lab.tmpdir)
    try:
        # charon holds 0.0.0.0:500/4500 (no SO_REUSEADDR): binding 192.0.2.20:500 must fail with a hint
        proc, log = start_reflector_expect_failure(lab)
        assert "packaging/REFLECTOR.md" in events(log)[-1]["message"]
        # the documented way: other ports plus a DNAT for the reflector's address only
        proc, log = start_reflector_beside_gateway(lab, name="reflector2")
        start = events(log)[-1]
        assert start["bound"] == [f"udp {A.REFLECTOR_V4}:10500", f"udp {A.REFLECTOR_V4}:14500 (NAT-T)",
                                  f"esp {A.REFLECTOR_V4}"]
        assert _uid(proc.pid)  # ip netns exec execs the command: same pid == 65534  # root dropped after binding
        report = lab.diagnose(REFL)  # target: the strongSwan gateway
        ike = probe_result(report, "ike")["values"]["targets"][0]
        assert ike["udp500"] == "answered" and ike["udp4500"] == "answered"
        for name in ("esp", "nat_mapping", "fragments"):
            assert probe_result(report, name)["status"] == "ok", probe_result(report, name)
        assert "IKE_SA_INIT" in charon.log_text()
        # the reflector's ESP socket only sees its own address: the gateway's traffic is not counted
        proc.send_signal(signal.SIGUSR1)
        stats = wait_event(log, "stats", proc)
        assert stats["malformed"] == 0
        assert stats["max_amplification"] <= 1.0
        assert stats["answered"]["esp"] >= 1 and stats["answered"]["esp_udp"] >= 1
    finally:
        charon.stop()


def test_default_bind_answers_from_the_address_asked(make_lab):
    lab = make_lab(nat_layers=1)
    # all addresses (0.0.0.0 and ::): replies must leave from 192.0.2.20, or the NAT drops them
    proc, log = start_reflector(lab, bind="")
    assert any("0.0.0.0:500" in b for b in events(log)[-1]["bound"])
    report = lab.diagnose(REFL, target=None)
    assert probe_result(report, "nat_mapping")["status"] == "ok"
    assert probe_result(report, "esp")["values"]["esp_passes"] is True


def test_sigterm_stops_cleanly_with_stats(make_lab):
    lab = make_lab(nat_layers=1)
    proc, log = start_reflector(lab)
    lab.diagnose(REFL, target=None)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(5) == 0
    stop = wait_event(log, "stop")
    assert sum(stop["answered"].values()) > 20
    assert stop["max_amplification"] <= 1.0
    assert stop["bytes_out"] <= stop["bytes_in"]


def test_a_flood_from_one_source_is_rate_limited(make_lab):
    lab = make_lab(nat_layers=1)
    proc, log = start_reflector(lab, "--rate", "50", "--burst", "100")
    code = (
        f"import socket,sys,time; sys.path.insert(0, {str(REPO_ROOT)!r})\n"
        "from clinicnet.wire import reflector as w\n"
        "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.setblocking(False)\n"
        "req=w.build_request(b'floodflo'); got=0\n"
        "for i in range(2000):\n"
        f"    try: s.sendto(req,({A.REFLECTOR_V4!r},500))\n"
        "    except BlockingIOError: pass\n"
        "    if i % 100 == 0: time.sleep(0.005)\n"
        "end=time.time()+0.5\n"
        "while time.time()<end:\n"
        "    try: s.recv(2000); got+=1\n"
        "    except BlockingIOError: time.sleep(0.01)\n"
        "print(got)\n"
    )
    got = int(lab.run("pc", [sys.executable, "-c", code], timeout=30).stdout)
    assert 0 < got < 400  # burst 100 + 50/s over well under a few seconds
    proc.send_signal(signal.SIGUSR1)
    stats = wait_event(log, "stats", proc)
    assert stats["rate_limited"] > 1000
    assert stats["sources_tracked"] == 1


def test_garbage_is_counted_and_dropped(make_lab):
    lab = make_lab(nat_layers=0)
    proc, log = start_reflector(lab)
    code = (
        "import socket,os\n"
        "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
        "for p in (500,4500):\n"
        f"    for n in (0,1,28,72,400): s.sendto(os.urandom(n) if n else b'', ({A.REFLECTOR_V4!r},p))\n"
        "r=socket.socket(socket.AF_INET,socket.SOCK_RAW,50)\n"
        f"for n in (0,8,60): r.sendto(os.urandom(n), ({A.REFLECTOR_V4!r},0))\n"
    )
    lab.run("pc", [sys.executable, "-c", code])
    import time

    time.sleep(0.3)
    proc.send_signal(signal.SIGUSR1)
    stats = wait_event(log, "stats", proc)
    assert stats["malformed"] >= 10
    assert sum(stats["answered"].values()) == 0
    report = json.dumps(stats)
    assert "error" not in [e["event"] for e in events(log)], report
