"""The NAT binding lifetime in the lab: the clinic router's conntrack UDP timeout (per network
namespace) set low is found, and ``nat.binding_short`` raised; the default (30 s) is not short.

Both are real ``clinicnet diagnose --long SECONDS`` runs on the PC; SECONDS caps the delays so the
two runs take about a minute each. The first puts the reflector behind a DNAT (the set-up beside a
gateway, packaging/REFLECTOR.md), whose own conntrack entry forgets an unanswered request after
30 s: the reflector must say so (its longest delay below that) instead of letting the probe blame
the clinic's router.
"""

from __future__ import annotations

import pytest

from tests.lab import addresses as A
from tests.lab.reports import findings, probe_result
from tests.probes.reflector_lab import events, start_reflector, start_reflector_beside_gateway

pytestmark = pytest.mark.lab
REFL = ["--reflector", A.REFLECTOR_V4]


def _router_forgets_after(lab, seconds: int) -> None:
    lab.run("router", ["sysctl", "-q", "-w", f"net.netfilter.nf_conntrack_udp_timeout={seconds}",
                       f"net.netfilter.nf_conntrack_udp_timeout_stream={seconds}"])


def test_a_router_that_forgets_after_10_s_is_found(make_lab):
    lab = make_lab(nat_layers=1)
    _router_forgets_after(lab, 10)
    _, log = start_reflector_beside_gateway(lab)
    warning = next(e for e in events(log) if e.get("event") == "warning")
    assert "nf_conntrack_udp_timeout" in warning["message"]
    report = lab.diagnose([*REFL, "--long", "20"], target=None, run_timeout=150)
    r = probe_result(report, "nat_binding")
    v = r["values"]
    assert r["status"] == "ok" and r["reason_code"] == "measured", (r, lab.last_diagnose.stderr)
    assert v["reflector_max_delay_s"] == 28.0  # the DNAT's 30 s, said by the reflector
    assert v["port"] == 4500
    assert 7.5 <= v["lifetime_s"] <= 12.5, v
    assert v["confidence"] in ("high", "medium"), v
    for port in v["ports"]:
        states = {d["delay_s"]: d["state"] for d in port["delays"]}
        assert states[5.0] == "answered" and states[20.0] == "expired", port
        assert any(d["wave"] == 2 for d in port["delays"]), "a refining wave between the bounds"
    assert r["duration_s"] < 45, "delays in flight together, not one after another"
    f = findings(report)["nat.binding_short"]
    assert f["severity"] == "warning"
    assert f["evidence"]["port"] == 4500 and f["evidence"]["keepalive_s"] == 20.0
    assert f["evidence"]["lifetime_s"] == v["lifetime_s"]


def test_the_default_30_s_is_not_short(make_lab):
    lab = make_lab(nat_layers=1)
    start_reflector(lab)
    report = lab.diagnose([*REFL, "--long", "30"], target=None, run_timeout=150)
    r = probe_result(report, "nat_binding")
    v = r["values"]
    assert r["status"] == "ok", (r, lab.last_diagnose.stderr)
    assert v["reflector_max_delay_s"] == 180.0  # bound to 500/4500 itself: no DNAT, no cap
    if r["reason_code"] == "measured":
        assert 22.5 <= v["lifetime_s"] <= 37.5, v
    else:
        assert r["reason_code"] == "at_least" and v["lower_s"] >= 22.5, v
    assert "nat.binding_short" not in findings(report)


def test_without_long_it_does_not_run(make_lab):
    lab = make_lab(nat_layers=1)
    report = lab.diagnose(REFL, target=None)
    assert "nat_binding" not in {p["name"] for p in report["probes"]}
