"""ESP pass-through via the reflector, in the namespace lab."""

from __future__ import annotations

import json
import sys

import pytest

from tests.lab import addresses as A
from tests.lab.harness import REPO_ROOT
from tests.lab.reports import findings, probe_result
from tests.probes.reflector_lab import start_reflector
from tests.probes.typed import assert_declared

pytestmark = pytest.mark.lab
REFL = ["--reflector", A.REFLECTOR_V4]


def test_esp_passes_a_plain_linux_nat(make_lab):
    lab = make_lab(nat_layers=1)
    start_reflector(lab)
    report = lab.diagnose(REFL, target=None)
    esp = probe_result(report, "esp")
    assert esp["status"] == "ok", esp
    r = esp["values"]["reflectors"][0]
    assert r["esp"]["state"] == "answered"
    assert r["esp_in_udp"]["state"] == "answered"
    assert r["observed_address"] == A.PUBLIC_V4
    assert esp["values"]["nat_present"] is True
    assert "esp.blocked" not in findings(report)
    assert_declared(report)


def test_esp_dropped_without_nat_is_an_error(make_lab):
    lab = make_lab(nat_layers=0, blocks=("meta l4proto esp",))
    start_reflector(lab)
    report = lab.diagnose(REFL, target=None)
    esp = probe_result(report, "esp")
    assert esp["status"] == "failed", esp
    assert esp["values"]["nat_present"] is False
    assert esp["values"]["esp_in_udp_passes"] is True  # the reflector is alive: only ESP is lost
    f = findings(report)["esp.blocked"]
    assert f["severity"] == "error"
    assert report["verdict"] == "not_ready"


def test_esp_dropped_behind_nat_is_info(make_lab):
    lab = make_lab(nat_layers=1, blocks=("meta l4proto esp",))
    start_reflector(lab)
    report = lab.diagnose(REFL, target=None)
    assert findings(report)["esp.blocked"]["severity"] == "info"


def test_esp_without_privileges_is_skipped_with_privileges_in_the_reason(make_lab):
    lab = make_lab(nat_layers=1)
    start_reflector(lab)
    code = (
        "import json, time; from clinicnet.probes import esp; from clinicnet.probes.interface import ProbeContext; "
        f"ctx = ProbeContext(reflectors=('{A.REFLECTOR_V4}',), privileged=False, deadline=time.monotonic() + 3); "
        "print(json.dumps(esp.probe(ctx).to_json()))"
    )
    proc = lab.run("pc", [sys.executable, "-c", code], env={"PYTHONPATH": str(REPO_ROOT)}, cwd=REPO_ROOT)
    esp = json.loads(proc.stdout)
    assert esp["status"] == "skipped"
    assert "privileges" in esp["reason"]
    assert esp["values"]["esp_in_udp_passes"] is True  # the unprivileged half still ran
    assert esp["values"]["reflectors"][0]["esp"]["state"] == "skipped"


def test_no_reflector_means_skipped(make_lab):
    lab = make_lab(nat_layers=1)
    report = lab.diagnose([], target=None)
    for name in ("esp", "nat_mapping", "fragments"):
        p = probe_result(report, name)
        assert p["status"] == "skipped" and "reflector" in p["reason"]

