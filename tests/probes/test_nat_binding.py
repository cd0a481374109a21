"""The NAT binding probe without a NAT: its planning and analysis as pure functions, and a run
against a reflector on loopback (every delay answered: bounded below). The NAT itself is in
test_nat_binding_lab.py."""

from __future__ import annotations

import time

import pytest

from clinicnet.model import Status
from clinicnet.probes import nat_binding as nb
from clinicnet.probes.interface import ProbeContext
from clinicnet.reflector.core import Limits
from clinicnet.wire import reflector as w
from tests.reflector.loopback import loopback_reflector


def test_first_wave_is_capped_and_ends_at_the_cap():
    assert nb.first_wave(180) == [5, 10, 15, 20, 30, 45, 60, 90, 120, 180]
    assert nb.first_wave(20) == [5, 10, 15, 20]
    assert nb.first_wave(36) == [5, 10, 15, 20, 30, 36]
    assert nb.first_wave(3) == [3]


def test_refine_splits_the_interval_and_skips_what_was_asked():
    assert nb.refine(10, 15) == [11.25, 12.5, 13.75]
    assert nb.refine(None, 5) == [1.25, 2.5, 3.75]
    assert nb.refine(10, 15, taken=[12.5]) == [11.25, 13.75]
    assert nb.refine(10, 10.5) == []


def _idle(pairs, wave=1):
    return [(float(d), wave, ok) for d, ok in pairs]


def test_analyse_expiry_confirmed_by_the_kept_alive_twins():
    idle = _idle([(5, True), (10, True), (15, False), (20, False), (30, None)])
    twins = [(5.0, True), (10.0, True), (15.0, True), (20.0, True), (30.0, None)]
    r = nb.analyse(idle, twins, (10, 10))
    assert (r["lower_s"], r["upper_s"], r["estimate_s"], r["bounded"]) == (10, 15, 12.5, "both")
    assert [d["state"] for d in r["delays"]] == ["answered", "answered", "expired", "expired", "pending"]
    assert r["confidence"] == "high"


def test_analyse_missing_twins_mean_unknown_not_expired():
    """Silence even with the mapping kept alive is loss or the reflector, never the NAT."""
    idle = _idle([(5, True), (10, False), (15, False)])
    twins = [(5.0, True), (10.0, False), (15.0, False)]
    r = nb.analyse(idle, twins)
    assert [d["state"] for d in r["delays"]] == ["answered", "unknown", "unknown"]
    assert (r["lower_s"], r["upper_s"], r["bounded"], r["confidence"]) == (5, None, "below", "high")
    r = nb.analyse(_idle([(5, False)]), [(5.0, False)])
    assert r["bounded"] is None and r["confidence"] == "none"


def test_analyse_a_hole_below_an_answer_is_loss():
    idle = _idle([(5, True), (10, False), (15, True), (20, False), (30, False)])
    twins = [(5.0, True), (10.0, True), (15.0, True), (20.0, True), (30.0, True)]
    r = nb.analyse(idle, twins)
    assert [d["state"] for d in r["delays"]] == ["answered", "lost", "answered", "expired", "expired"]
    assert (r["lower_s"], r["upper_s"], r["lost"], r["confidence"]) == (15, 20, 1, "medium")
    # one expiry only: medium; two losses: low
    r = nb.analyse(_idle([(5, True), (10, False)]), [(5.0, True), (10.0, True)])
    assert r["confidence"] == "medium"
    r = nb.analyse(_idle([(5, False), (10, False), (15, True), (20, False)]), [(20.0, True)])
    assert r["confidence"] == "low"


def test_analyse_nothing_answered_bounds_above():
    r = nb.analyse(_idle([(5, False), (10, False)]), [(5.0, True), (10.0, True)])
    assert (r["lower_s"], r["upper_s"], r["bounded"]) == (None, 5, "above")


def test_headline_prefers_natt():
    a: nb.PortResult = {"port": 500, "bounded": "both"}
    b: nb.PortResult = {"port": 4500, "bounded": "below"}
    assert nb.headline([a, b]) is b
    assert nb.headline([a, {"port": 4500, "bounded": None}]) is a
    assert nb.headline([{"port": 4500, "bounded": None}]) is None


def test_no_reflector_is_skipped_with_its_cause():
    r = nb.probe(ProbeContext())
    assert r.status is Status.SKIPPED and r.reason_code == "no_reflector"


@pytest.fixture
def reflector():
    with loopback_reflector() as srv:
        yield srv


def _ctx(seconds: float) -> ProbeContext:
    return ProbeContext(reflectors=("127.0.0.1",), timeout=seconds, deadline=time.monotonic() + seconds)


def test_without_a_nat_every_delay_comes_back(reflector):
    ike, natt = reflector.endpoints[0].port, reflector.endpoints[1].port
    t0 = time.monotonic()
    r = nb.probe(_ctx(20), max_delay=1.5, wave=(0.5, 1.0, 1.5), ike_port=ike, natt_port=natt)
    took = time.monotonic() - t0
    assert r.status is Status.OK and r.reason_code == "at_least", r.reason
    v = r.values
    assert v["reflector_version"] == 2 and v["reflector_max_delay_s"] == 180.0
    assert [p["port"] for p in v["ports"]] == [natt, ike]
    for p in v["ports"]:
        assert [d["state"] for d in p["delays"]] == ["answered"] * 3
        assert p["lower_s"] == 1.5 and p["bounded"] == "below" and p["confidence"] == "high"
    assert v["port"] == natt and v["lower_s"] == 1.5 and v["lifetime_s"] is None
    assert took < 1.5 + 2.5  # the delays run side by side: about the longest, not the sum (3 s)
    assert reflector.core.stats.delayed["sent"] >= 12 and reflector.core.stats.max_amplification <= 1.0


def test_a_version_1_reflector_is_named(reflector):
    """A reflector that drops version-2 requests (as a version-1 one does) is reported as old."""
    real = reflector.core.udp

    def v1_only(data, natt, obs, route=None):
        req = w.parse_request(data, port4500=natt)
        return None if req is not None and req.version != 1 else real(data, natt, obs, route)

    reflector.core.udp = v1_only
    ike, natt = reflector.endpoints[0].port, reflector.endpoints[1].port
    r = nb.probe(_ctx(10), max_delay=1.0, ike_port=ike, natt_port=natt)
    assert r.status is Status.ERROR and r.reason_code == "old_reflector"
    assert r.values["reflector_version"] == 1


def test_the_reflector_cap_bounds_the_waves(reflector):
    reflector.core.limits = Limits(max_sources=64, max_delay_s=1.0)
    ike, natt = reflector.endpoints[0].port, reflector.endpoints[1].port
    r = nb.probe(_ctx(20), max_delay=60, wave=(0.5, 1.0, 30.0), ike_port=ike, natt_port=natt)
    assert r.values["reflector_max_delay_s"] == 1.0
    assert [d["delay_s"] for d in r.values["ports"][0]["delays"]] == [0.5, 1.0]


# --- the finding -----------------------------------------------------------------------------


def _binding_result(*ports: nb.PortResult) -> list:
    from clinicnet.model import ProbeResult

    values = {"keepalive_s": 20.0, "ports": list(ports)}
    return [ProbeResult("nat_binding", Status.OK, "", values)]


def _check(*ports: nb.PortResult):
    from clinicnet.reports.findings import nat_binding_short
    from clinicnet.reports.findings.interface import Evidence

    return nat_binding_short.check(Evidence(_binding_result(*ports)))


def test_finding_raised_only_below_the_keepalive():
    short: nb.PortResult = {"port": 4500, "bounded": "both", "lower_s": 10, "upper_s": 15, "estimate_s": 12.5,
                            "confidence": "high"}
    f = _check(short, {"port": 500, "bounded": "below", "lower_s": 30})
    assert f is not None and f.id == "nat.binding_short"
    assert f.evidence["port"] == 4500 and f.evidence["lifetime_s"] == 12.5 and f.evidence["keepalive_s"] == 20.0
    assert f.evidence["recommended_keepalive_s"] == 5
    assert _check({"port": 4500, "bounded": "both", "lower_s": 20, "upper_s": 30, "estimate_s": 25}) is None
    assert _check({"port": 4500, "bounded": "below", "lower_s": 15}) is None  # not shown to be short
    assert _check({"port": 4500, "bounded": "above", "upper_s": 5, "estimate_s": None}) is not None
    # 4500 is what NAT-T keepalives refresh: its answer wins over 500's
    assert _check({"port": 500, "bounded": "both", "estimate_s": 8, "upper_s": 10},
                  {"port": 4500, "bounded": "below", "lower_s": 30}) is None
    assert _check({"port": 4500, "bounded": None}) is None
    assert _check() is None


def test_long_option_and_setting():
    from clinicnet.agent import cli, config
    from clinicnet.errors import UsageError

    parse = cli.build_parser().parse_args
    assert parse(["diagnose"]).long is None
    assert parse(["diagnose", "--long"]).long == 180.0
    assert parse(["diagnose", "--long", "30", "--json", "-"]).long == 30.0
    assert config.build({"long": 30.0}).long == 30.0
    assert config.build({}).long == 0.0
    for bad in (200.0, -1.0, float("nan")):
        with pytest.raises(UsageError):
            config.build({"long": bad})
    # its own deadline, in minutes at most, and what --long's longest wait costs
    assert nb.budget(180) == 255 and nb.budget(20) == 55
