"""``clinicnet watch`` in the lab: an outage of UDP 4500 and a change of the PC's address, with times.

The whole command runs on the lab PC against strongSwan while the test changes the
network under it: UDP 4500 is dropped at the ISP for a few seconds, then the PC moves
to another address. The report must show both, at the times they happened (within a
round), and nothing else.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import pytest

from tests.lab import addresses as A
from tests.lab.harness import REPO_ROOT
from tests.lab.strongswan import start_charon

pytestmark = pytest.mark.lab

NEW_PC_V4 = "192.168.10.77"


def _wait_rounds(state: Any, n: int, limit: float) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if state.exists() and state.read_text(encoding="utf-8").count("\n") >= n + 1:  # + header
            return
        time.sleep(0.1)
    raise AssertionError(f"watch did not record {n} rounds in {limit} s")


def test_watch_reports_an_outage_and_an_address_change(make_lab: Any) -> None:
    lab = make_lab(nat_layers=1)
    start_charon(lab, lab.tmpdir, A.GATEWAY_V4)
    state = lab.tmpdir / "watch.jsonl"
    out = lab.tmpdir / "watch.json"
    html = lab.tmpdir / "watch.html"
    argv = [sys.executable, "-m", "clinicnet", "watch", "--every", "1", "--for", "16s", "--timeout", "0.8",
            "--target", A.GATEWAY_V4, "--internet-check", f"http://{A.WEB_V4}/generate_204",
            "--state", str(state), "--json", str(out), "--html", str(html), "--lang", "en"]
    proc = lab.spawn("pc", argv, cwd=str(REPO_ROOT), env={"PYTHONPATH": str(REPO_ROOT)},
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_rounds(state, 3, 15)
    t_block = time.time()
    lab.nft("isp", "table inet watchtest {\n chain forward {\n  type filter hook forward priority -10; "
                   "policy accept;\n  udp dport 4500 drop\n }\n}\n")
    time.sleep(4)
    lab.nft("isp", "delete table inet watchtest\n")
    t_unblock = time.time()
    _wait_rounds(state, 10, 15)
    t_move = time.time()
    lab.run("pc", ["sysctl", "-qw", "net.ipv4.conf.eth0.promote_secondaries=1"])
    lab.run("pc", ["ip", "addr", "add", f"{NEW_PC_V4}/{A.LAN_V4_PREFIX}", "dev", "eth0"])
    lab.run("pc", ["ip", "addr", "del", f"{A.PC_V4}/{A.LAN_V4_PREFIX}", "dev", "eth0"])
    lab.run("pc", ["ip", "route", "replace", "default", "via", A.ROUTER_LAN_V4])
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 1, (proc.returncode, stdout, stderr)
    data = json.loads(out.read_text(encoding="utf-8"))
    tl = data["timeline"]
    outages = [o for o in tl["outages"] if o["signal"] == f"ike4500@{A.GATEWAY_V4}"]
    assert len(outages) == 1, tl
    o = outages[0]
    # the outage is seen within a round (1 s) plus one probe timeout of when it happened
    assert t_block - 0.2 <= o["first_down"] <= t_block + 2.5
    assert o["back_up"] is not None and t_unblock - 0.2 <= o["back_up"] <= t_unblock + 2.5
    assert not [x for x in tl["outages"] if x["signal"] != f"ike4500@{A.GATEWAY_V4}"], tl["outages"]
    (change,) = [c for c in tl["changes"] if c["signal"] == "pc_addresses"]
    assert change["before"] == A.PC_V4 and change["after"] == NEW_PC_V4
    assert t_move - 0.2 <= change["at"] <= t_move + 2.5
    assert data["intermittent"][0]["signal"] == f"ike4500@{A.GATEWAY_V4}"
    assert "IKE (UDP 4500)" in stdout and f"{A.PC_V4} → {NEW_PC_V4}" in stdout
    page = html.read_text(encoding="utf-8")
    assert 'class="timeline"' in page and f'data-signal="ike4500@{A.GATEWAY_V4}"' in page
