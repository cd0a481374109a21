"""NAT mapping and NAT layers (trace, UPnP, NAT-PMP) in the namespace lab."""

from __future__ import annotations

import pytest

from tests.lab import addresses as A
from tests.lab.reports import findings, probe_result
from tests.probes.reflector_lab import start_reflector, start_upnp
from tests.probes.typed import assert_declared

pytestmark = pytest.mark.lab
REFL = ["--reflector", A.REFLECTOR_V4]


def test_single_nat_keeps_ports_and_is_not_double(make_lab):
    lab = make_lab(nat_layers=1)
    start_reflector(lab)
    report = lab.diagnose(REFL, target=None)
    m = probe_result(report, "nat_mapping")["values"]
    assert m["nat_present"] is True
    assert m["public_address"] == A.PUBLIC_V4
    assert m["port_preserved"] == {"500": True, "4500": True, "ephemeral": True}
    assert m["endpoint_independent"] is True
    layers = probe_result(report, "nat_layers")["values"]
    assert layers["private_layers"] == 1
    assert [h["address"] for h in layers["trace"]["hops"]][:2] == [A.ROUTER_LAN_V4, A.ISP_PUBLIC_V4]
    found = findings(report)
    assert not {"nat.double", "nat.cgn", "nat.port_not_preserved"} & set(found)


def test_double_nat_behind_a_routing_cable_modem(make_lab):
    lab = make_lab(nat_layers=2)
    start_reflector(lab)
    report = lab.diagnose(REFL, target=None)
    f = findings(report)["nat.double"]
    assert f["severity"] == "warning"
    ev = f["evidence"]
    assert ev["private_layers"] == 2
    assert [x["address"] for x in ev["layers"]] == [A.ROUTER_LAN_V4, A.MODEM_LAN_V4]
    assert ev["cable_modem"]["address"] == A.MODEM_LAN_V4


def test_double_nat_is_found_without_a_reflector_too(make_lab):
    # the trace goes toward the VPN gateway when no reflector is given
    lab = make_lab(nat_layers=2)
    report = lab.diagnose([])
    assert "nat.double" in findings(report)


def test_cgn_upstream(make_lab):
    lab = make_lab(nat_layers=1, cgn=True)
    start_reflector(lab)
    report = lab.diagnose(REFL, target=None)
    found = findings(report)
    assert found["nat.cgn"]["severity"] == "info"
    assert A.CGN_INSIDE_V4 in found["nat.cgn"]["evidence"]["shared_addresses"]
    assert "nat.double" not in found


def test_pc_directly_on_cgn(make_lab):
    lab = make_lab(nat_layers=0, cgn=True)
    start_reflector(lab)
    report = lab.diagnose(REFL, target=None)
    assert "nat.cgn" in findings(report)


def test_random_ports_mean_port_not_preserved(make_lab):
    lab = make_lab(nat_layers=1, nat_random_ports=True)
    start_reflector(lab)
    report = lab.diagnose(REFL, target=None)
    m = probe_result(report, "nat_mapping")["values"]
    assert m["port_preserved"]["500"] is False
    f = findings(report)["nat.port_not_preserved"]
    assert f["severity"] == "info"
    assert f["evidence"]["source_port"] == "500"


def test_no_nat_no_findings(make_lab):
    lab = make_lab(nat_layers=0)
    start_reflector(lab)
    report = lab.diagnose(REFL, target=None)
    m = probe_result(report, "nat_mapping")["values"]
    assert m["nat_present"] is False
    assert m["public_address"] == A.PC_PUBLIC_V4
    assert probe_result(report, "nat_layers")["values"]["private_layers"] == 0
    assert not {"nat.double", "nat.cgn", "nat.port_not_preserved", "esp.blocked"} & set(findings(report))


def test_upnp_router_with_a_private_wan_address_means_double_nat(make_lab):
    lab = make_lab(nat_layers=1)
    start_reflector(lab)
    start_upnp(lab, wan_ip="192.168.0.2")
    report = lab.diagnose(REFL, target=None)
    layers = probe_result(report, "nat_layers")["values"]
    assert layers["upnp"]["state"] == "ok", layers["upnp"]
    assert layers["upnp"]["external_ip"] == "192.168.0.2"
    assert layers["upnp"]["device"]["model_name"] == "LAB-R1"
    assert layers["natpmp"]["external_ip"] == "192.168.0.2"
    f = findings(report)["nat.double"]
    assert f["evidence"]["gateway_wan"] == "192.168.0.2"
    assert f["evidence"]["gateway_device"]["friendly_name"] == "Lab Clinic Router"
    assert_declared(report)


def test_upnp_router_with_a_public_wan_address_is_single_nat(make_lab):
    lab = make_lab(nat_layers=1)
    start_upnp(lab, wan_ip=A.PUBLIC_V4)
    report = lab.diagnose([], target=None)
    layers = probe_result(report, "nat_layers")["values"]
    assert layers["gateway_wan"] == A.PUBLIC_V4
    assert "nat.double" not in findings(report)


def test_hostile_upnp_answer_is_refused_not_a_crash(make_lab):
    lab = make_lab(nat_layers=1)
    start_upnp(lab, wan_ip="192.168.0.2", hostile=True)
    report = lab.diagnose([], target=None)
    p = probe_result(report, "nat_layers")
    assert p["status"] == "ok"
    assert p["values"]["upnp"]["state"] == "refused"
    assert p["reason_code"] == "layers+hostile"
    assert "DTD" in p["values"]["upnp"]["detail"]


def test_ike_and_nat_mapping_take_turns_for_local_port_500(make_lab):
    """One owner per run of this PC's UDP 500/4500 (issue 9): run concurrently, round after
    round, neither probe ever sees its sibling as "an IKE daemon or VPN client"."""
    import json
    import sys

    from tests.lab.harness import REPO_ROOT

    lab = make_lab(nat_layers=1, gateway="strongswan", reflector=True)
    proc = lab.run("pc", [sys.executable, "-m", "tests.probes.ports_race", A.GATEWAY_V4, A.REFLECTOR_V4,
                          "--rounds", "12"], env={"PYTHONPATH": str(REPO_ROOT)}, cwd=REPO_ROOT, timeout=180)
    rounds = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert len(rounds) == 12
    for r in rounds:
        assert r["nat_bind"]["500"] == "ok" and r["nat_bind"]["4500"] == "ok", r
        assert r["ike_source_port_500"] == {"4": "ok"}, r
        assert r["ike_fixed"] and r["ike_fixed"][0][0] != "local_error", r
