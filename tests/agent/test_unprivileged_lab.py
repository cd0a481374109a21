"""A technician without administrator rights: what needs raw sockets is skipped and said.

Root without CAP_NET_RAW (``setpriv --bounding-set -net_raw``) stands in for a
Windows user without admin rights: the probes that need raw sockets are skipped
with the reason, everything else still runs, and ``privileges.limited`` says how
to enable the rest.
"""

from __future__ import annotations

import json
import sys

import pytest

from tests.lab import REPO_ROOT
from tests.lab import addresses as A
from tests.lab.strongswan import start_charon
from tests.probes.reflector_lab import start_reflector_beside_gateway

pytestmark = pytest.mark.lab


def test_without_raw_socket_rights(make_lab):
    lab = make_lab(nat_layers=1)
    start_charon(lab, lab.tmpdir, A.GATEWAY_V4)
    start_reflector_beside_gateway(lab)
    argv = ["setpriv", "--bounding-set", "-net_raw", sys.executable, "-m", "clinicnet",
            *lab.diagnose_argv(["--reflector", A.REFLECTOR_V4])]
    proc = lab.run("pc", argv, check=False, timeout=90, env={"PYTHONPATH": str(REPO_ROOT)})
    assert proc.returncode in (0, 1, 3, 4), proc.stderr
    report = json.loads(proc.stdout)
    probes = {p["name"]: p for p in report["probes"]}
    assert probes["privileges"]["values"]["admin"] is False
    found = {f["id"]: f for f in report["findings"]}
    limited = found["privileges.limited"]
    assert limited["severity"] == "info"
    assert "esp" in limited["evidence"]["skipped_probes"]
    # what needs no raw socket still ran: IKE, NAT mapping, ESP-in-UDP inside the esp probe
    assert probes["ike"]["status"] == "ok"
    assert probes["nat_mapping"]["status"] == "ok"
    assert probes["esp"]["status"] == "skipped" and "privileges" in probes["esp"]["reason"]
    assert probes["esp"]["values"]["esp_in_udp_passes"] is True
    assert "esp.blocked" not in found  # not measured is not blocked
    assert report["verdict"] == "ready"


def test_without_raw_socket_rights_and_without_nat_the_verdict_is_not_a_plain_ready(make_lab):
    """No NAT: the VPN's data would travel as plain ESP, which needs the rights this run lacks.

    ESP decides the VPN on this path and was not measured, so the verdict is at best
    ready_with_warnings and says how to measure it (issue 9's blocked-ESP-gives-ready case)."""
    lab = make_lab(nat_layers=0)
    start_charon(lab, lab.tmpdir, A.GATEWAY_V4)
    start_reflector_beside_gateway(lab)
    argv = ["setpriv", "--bounding-set", "-net_raw", sys.executable, "-m", "clinicnet",
            *lab.diagnose_argv(["--reflector", A.REFLECTOR_V4])]
    proc = lab.run("pc", argv, check=False, timeout=90, env={"PYTHONPATH": str(REPO_ROOT)})
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    probes = {p["name"]: p for p in report["probes"]}
    assert probes["esp"]["status"] == "skipped"
    assert probes["nat_mapping"]["values"]["nat_present"] is False
    assert probes["esp"]["values"]["nat_present"] is False
    assert {f["id"] for f in report["findings"]} == {"privileges.limited"}
    assert report["verdict"] == "ready_with_warnings"
    why = {u["what"]: u["why"] for u in report["unmeasured"]}
    assert "this line has no NAT" in why["esp"] and "as administrator" in why["esp"]
    # the text report says it on the verdict line, before the findings
    text = lab.run("pc", [sys.executable, "-m", "clinicnet", "report", "-", "--lang", "en"], check=False,
                   timeout=60, input=proc.stdout, env={"PYTHONPATH": str(REPO_ROOT)})
    head = " ".join(text.stdout.split("Findings")[0].split())
    assert "ESP was not measured, and this line has no NAT" in head, text.stdout + text.stderr
