"""The IKE scenarios end to end: findings and verdict from ``diagnose``'s JSON report.

The probe's classification is tested in tests/probes/test_ike_lab.py; here the
whole chain (probe -> rules -> verdict -> exit code) runs against strongSwan.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.lab import addresses as A
from tests.lab.reports import findings, probe_result
from tests.lab.strongswan import start_charon
from tests.probes.reflector_lab import start_reflector_beside_gateway

pytestmark = pytest.mark.lab

IKE_IDS = {"ike.udp500.blocked", "ike.udp4500.blocked", "ike.unreachable", "nat.present", "nat.double"}

SCENARIOS: list[tuple[str, dict[str, Any], set[str], str, dict[str, str]]] = [
    # name, lab options, IKE/NAT findings expected (exactly), verdict, severities that matter
    # no NAT and no reflector: plain ESP carries the data here and was not measured (verdict.gaps)
    ("direct", {"nat_layers": 0}, set(), "ready_with_warnings", {}),
    ("single-nat", {"nat_layers": 1}, {"nat.present"}, "ready", {}),
    ("double-nat", {"nat_layers": 2}, {"nat.present", "nat.double"}, "ready_with_warnings", {}),
    ("udp500-blocked", {"blocks": ("udp dport 500",)}, {"ike.udp500.blocked", "nat.present"}, "not_ready",
     {"ike.udp500.blocked": "error"}),
    ("udp4500-blocked-nat", {"blocks": ("udp dport 4500",)}, {"ike.udp4500.blocked", "nat.present"}, "not_ready",
     {"ike.udp4500.blocked": "error"}),
    ("udp4500-blocked-no-nat", {"nat_layers": 0, "blocks": ("udp dport 4500",)}, {"ike.udp4500.blocked"},
     "ready_with_warnings", {"ike.udp4500.blocked": "warning"}),
    # the gateway unreachable: IKE tells nothing of NAT, the trace still sees the clinic router's
    ("all-dropped", {"blocks": (f"ip daddr {A.GATEWAY_V4}",)}, {"ike.unreachable", "nat.present"}, "not_ready", {}),
    ("host-unreachable", {"rejects": ((f"ip daddr {A.GATEWAY_V4}", "reject with icmp type host-unreachable"),)},
     {"ike.unreachable", "nat.present"}, "not_ready", {}),
    ("port-unreachable-on-the-way",
     {"rejects": ((f"ip daddr {A.GATEWAY_V4}", "reject with icmp type port-unreachable"),)},
     {"ike.unreachable", "nat.present"}, "not_ready", {}),
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


def unmeasured(report: dict[str, Any]) -> dict[str, str]:
    return {u["what"]: u["why"] for u in report["unmeasured"]}


def test_direct_without_reflector_says_what_esp_decides_and_how_to_measure_it(make_lab):
    lab = make_lab(nat_layers=0)
    start_charon(lab, lab.tmpdir, A.GATEWAY_V4)
    report = lab.diagnose()
    assert report["findings"] == [] and report["verdict"] == "ready_with_warnings"
    assert probe_result(report, "ike")["values"]["targets"][0]["nat"]["local_behind_nat"] is False
    why = unmeasured(report)["esp"]
    assert "this line has no NAT" in why and "--reflector HOST" in why and "administrator" in why
    assert lab.last_diagnose.returncode == 1


def test_direct_with_esp_measured_is_ready(make_lab):
    lab = make_lab(nat_layers=0)
    start_charon(lab, lab.tmpdir, A.GATEWAY_V4)
    start_reflector_beside_gateway(lab)
    report = lab.diagnose(["--reflector", A.REFLECTOR_V4])
    assert probe_result(report, "esp")["values"]["esp_passes"] is True
    assert probe_result(report, "nat_mapping")["values"]["nat_present"] is False
    assert "esp" not in unmeasured(report)
    assert report["verdict"] == "ready", report["findings"]


#: IKEv2 proposals the probe never offers: the gateway answers IKEv2 with NO_PROPOSAL_CHOSEN
#: (no NAT detection there) and accepts IKEv1 Main Mode, like an IKEv1-only gateway
IKEV1_ONLY = "aes192-sha512-modp3072"
#: IKEv2 requests (IKE header version byte 0x20, after the UDP header and on 4500 the non-ESP
#: marker) dropped on the way: to the PC, a gateway that ignores IKEv2 and answers only IKEv1
IGNORES_IKEV2 = (f"ip daddr {A.GATEWAY_V4} udp dport 500 @th,200,8 0x20",
                 f"ip daddr {A.GATEWAY_V4} udp dport 4500 @th,232,8 0x20")


def ikev1_only_gateway(make_lab, kind: str, **options: Any):  # type: ignore[no-untyped-def]
    """A lab whose gateway gives no IKEv2 NAT detection: ``no-proposal`` or ``ignores-ikev2``."""
    if kind == "ignores-ikev2":
        options["blocks"] = (*options.get("blocks", ()), *IGNORES_IKEV2)
    lab = make_lab(**options)
    if kind == "no-proposal":
        start_charon(lab, lab.tmpdir, A.GATEWAY_V4, ikev2_proposals=IKEV1_ONLY)
    else:
        start_charon(lab, lab.tmpdir, A.GATEWAY_V4)
    return lab


def assert_ikev2_gave_no_nat_detection(report: dict[str, Any], kind: str) -> None:
    attempts = probe_result(report, "ike")["values"]["targets"][0]["attempts"]
    v2 = [a for a in attempts if a["ike_version"] == 2]
    assert not any(a["outcome"] == "response" for a in v2), attempts
    if kind == "no-proposal":
        assert any(a["outcome"] == "no_proposal_chosen" for a in v2), attempts
    else:
        assert not any(a["answered"] for a in v2), attempts
        assert any(a["answered"] for a in attempts if a["ike_version"] == 1), attempts


GATEWAYS = ["no-proposal", "ignores-ikev2"]


@pytest.mark.parametrize("kind", GATEWAYS)
@pytest.mark.parametrize("with_reflector", [True, False], ids=["reflector", "trace-only"])
def test_ikev1_only_gateway_behind_nat_is_still_seen_as_nat(make_lab, with_reflector, kind):
    """Issue 10 section 1: nat.present from the reflector and the trace, whatever IKE could tell."""
    lab = ikev1_only_gateway(make_lab, kind, nat_layers=1, blocks=("udp dport 4500",))
    extra: list[str] = []
    if with_reflector:
        start_reflector_beside_gateway(lab)
        extra = ["--reflector", A.REFLECTOR_V4]
    report = lab.diagnose(extra)
    found = findings(report)
    assert_ikev2_gave_no_nat_detection(report, kind)
    nat = found["nat.present"]["evidence"]
    assert "nat_layers" in nat["seen_by"]
    assert nat["sources"]["nat_layers"]["layers"][0]["address"] == A.ROUTER_LAN_V4
    if with_reflector:
        assert "reflector" in nat["seen_by"]
        assert {o["observed_address"] for o in nat["sources"]["reflector"]["observations"]} == {A.PUBLIC_V4}
    # 4500 blocked behind NAT: NAT-T cannot work, whichever source saw the NAT
    assert found["ike.udp4500.blocked"]["severity"] == "error"
    assert found["ike.udp4500.blocked"]["evidence"]["nat_present"] is True
    assert report["verdict"] == "not_ready"


@pytest.mark.parametrize("kind", GATEWAYS)
def test_ikev1_only_gateway_without_nat_and_without_reflector_is_not_a_plain_ready(make_lab, kind):
    lab = ikev1_only_gateway(make_lab, kind, nat_layers=0)
    report = lab.diagnose()
    assert_ikev2_gave_no_nat_detection(report, kind)
    assert "nat.present" not in findings(report)
    assert report["verdict"] == "ready_with_warnings", report["findings"]
    why = unmeasured(report)
    # NAT unknown (IKE without NAT detection) or, once IKEv1 NAT-D measures it, no NAT: either
    # way plain ESP decides the VPN here and was not measured
    assert "decides the VPN" in why["esp"] and "--reflector HOST" in why["esp"]
    t = probe_result(report, "ike")["values"]["targets"][0]
    if not t["nat"]["measured"]:
        assert "whether this line has NAT" in why["nat"]


@pytest.mark.parametrize("kind", GATEWAYS)
def test_ikev1_only_gateway_without_nat_with_a_reflector_is_ready(make_lab, kind):
    lab = ikev1_only_gateway(make_lab, kind, nat_layers=0)
    start_reflector_beside_gateway(lab)
    report = lab.diagnose(["--reflector", A.REFLECTOR_V4])
    assert "nat.present" not in findings(report)
    assert probe_result(report, "nat_mapping")["values"]["nat_present"] is False
    assert report["verdict"] == "ready", (report["findings"], report["unmeasured"])


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
