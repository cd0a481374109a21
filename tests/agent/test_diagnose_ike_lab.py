"""The IKE scenarios end to end: findings and verdict from ``diagnose``'s JSON report.

The probe's classification is tested in tests/probes/test_ike_lab.py; here the
whole chain (probe -> rules -> verdict -> exit code) runs against strongSwan.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.lab import addresses as A
from tests.lab.strongswan import start_charon

pytestmark = pytest.mark.lab

IKE_IDS = {"ike.udp500.blocked", "ike.udp4500.blocked", "ike.unreachable", "nat.present", "nat.double"}

SCENARIOS: list[tuple[str, dict[str, Any], set[str], str, dict[str, str]]] = [
    # name, lab options, IKE/NAT findings expected (exactly), verdict, severities that matter
    ("direct", {"nat_layers": 0}, set(), "ready", {}),
    ("single-nat", {"nat_layers": 1}, {"nat.present"}, "ready", {}),
    ("double-nat", {"nat_layers": 2}, {"nat.present", "nat.double"}, "ready_with_warnings", {}),
    ("udp500-blocked", {"blocks": ("udp dport 500",)}, {"ike.udp500.blocked", "nat.present"}, "not_ready",
     {"ike.udp500.blocked": "error"}),
    ("udp4500-blocked-nat", {"blocks": ("udp dport 4500",)}, {"ike.udp4500.blocked", "nat.present"}, "not_ready",
     {"ike.udp4500.blocked": "error"}),
    ("udp4500-blocked-no-nat", {"nat_layers": 0, "blocks": ("udp dport 4500",)}, {"ike.udp4500.blocked"},
     "ready_with_warnings", {"ike.udp4500.blocked": "warning"}),
    ("all-dropped", {"blocks": (f"ip daddr {A.GATEWAY_V4}",)}, {"ike.unreachable"}, "not_ready", {}),
    ("host-unreachable", {"rejects": ((f"ip daddr {A.GATEWAY_V4}", "reject with icmp type host-unreachable"),)},
     {"ike.unreachable"}, "not_ready", {}),
    ("port-unreachable-on-the-way",
     {"rejects": ((f"ip daddr {A.GATEWAY_V4}", "reject with icmp type port-unreachable"),)},
     {"ike.unreachable"}, "not_ready", {}),
]


@pytest.mark.parametrize("name,options,expected,verdict,severities", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_ike_scenario(make_lab, name, options, expected, verdict, severities):
    lab = make_lab(**options)
    start_charon(lab, lab.tmpdir, A.GATEWAY_V4)
    report = lab.diagnose()
    found = {f["id"]: f for f in report["findings"]}
    assert set(found) & IKE_IDS == expected, report["findings"]
    assert report["verdict"] == verdict, report["findings"]
    for fid, sev in severities.items():
        assert found[fid]["severity"] == sev
    assert lab.last_diagnose.returncode == {"ready": 0, "ready_with_warnings": 1, "not_ready": 3}[verdict]


def test_gateway_without_ike_daemon_answers_port_unreachable(make_lab):
    lab = make_lab(nat_layers=1)  # no charon: the gateway host itself says "port unreachable"
    report = lab.diagnose()
    ids = {f["id"] for f in report["findings"]}
    assert {"ike.udp500.blocked", "ike.udp4500.blocked"} <= ids
    assert "ike.unreachable" not in ids
    assert report["verdict"] == "not_ready"


def test_unknown_target_name_is_a_usage_error(make_lab):
    lab = make_lab(nat_layers=1)
    proc = lab.clinicnet(["diagnose", "--quiet", "--json", "-", "--target", "nosuch.lab.test"])
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["clinicnet: error: unknown host 'nosuch.lab.test' (the resolver has no such name)"]
