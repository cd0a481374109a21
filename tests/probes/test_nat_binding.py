"""The NAT binding probe without a NAT: its planning and analysis as pure functions, and a run
against a reflector on loopback (every delay answered: bounded below). The NAT itself is in
test_nat_binding_lab.py."""

from __future__ import annotations

import selectors
import socket
import threading
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


# --- a NAT that forgets, on loopback --------------------------------------------------------


class ForgetfulNat:
    """A user-space NAT on loopback in front of the reflector: one outside socket per inside
    source (its mapping), forgotten after ``timeout`` seconds without a packet either way, as
    Linux conntrack does. ``drop`` decides per answer whether to lose it (loss, not expiry)."""

    def __init__(self, reflector_ports: dict[int, int], timeout: float, drop=lambda mapping, data: False):
        self.timeout = timeout
        self.drop = drop
        self.sel = selectors.DefaultSelector()
        self.inside: dict[int, socket.socket] = {}
        self.ports: dict[int, int] = {}  # public port -> inside listening port
        self.mappings: dict[tuple[int, tuple[str, int]], dict] = {}
        self.expired = 0
        for target in reflector_ports.values():
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            s.setblocking(False)
            self.sel.register(s, selectors.EVENT_READ, ("in", target))
            self.inside[target] = s
            self.ports[target] = s.getsockname()[1]
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def port_for(self, reflector_port: int) -> int:
        return self.ports[reflector_port]

    def _serve(self) -> None:
        while not self._stop:
            now = time.monotonic()
            for key in [k for k, m in self.mappings.items() if now - m["last"] > self.timeout]:
                m = self.mappings.pop(key)
                self.sel.unregister(m["out"])
                m["out"].close()
                self.expired += 1
            for key, _ in self.sel.select(timeout=0.02):
                kind, target = key.data
                sock = key.fileobj
                try:
                    data, addr = sock.recvfrom(65535)
                except OSError:
                    continue
                if kind == "in":
                    m = self.mappings.get((target, addr))
                    if m is None:
                        out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                        out.bind(("127.0.0.1", 0))
                        out.setblocking(False)
                        m = {"out": out, "sent": 0, "last": now, "client": addr, "target": target}
                        self.mappings[(target, addr)] = m
                        self.sel.register(out, selectors.EVENT_READ, ("out", (target, addr)))
                    m["last"], m["sent"] = now, m["sent"] + 1
                    m["out"].sendto(data, ("127.0.0.1", target))
                else:
                    m = self.mappings.get(target)
                    if m is None or self.drop(m, data):
                        continue
                    m["last"] = now
                    self.inside[m["target"]].sendto(data, m["client"])

    def close(self) -> None:
        self._stop = True
        self.thread.join(5)
        for m in self.mappings.values():
            m["out"].close()
        for s in self.inside.values():
            s.close()
        self.sel.close()


WAVE = (0.4, 0.8, 1.6, 2.4, 3.2)
WAVE_WIDE = (0.5, 1.6, 2.4, 3.2)  # wide enough for a refining wave (steps of 0.25 s at least)


def _through_nat(reflector, monkeypatch, timeout: float, drop=lambda m, d: False, wave=WAVE):
    monkeypatch.setattr(nb, "REFRESH_S", 0.25)  # the kept-alive socket must outpace a 1-s NAT
    ike, natt = reflector.endpoints[0].port, reflector.endpoints[1].port
    nat = ForgetfulNat({0: ike, 1: natt}, timeout, drop)
    try:
        t0 = time.monotonic()
        r = nb.probe(_ctx(30), max_delay=3.2, wave=wave, ike_port=nat.port_for(ike), natt_port=nat.port_for(natt))
        return r, time.monotonic() - t0, nat
    finally:
        nat.close()


def test_a_nat_that_forgets_after_1_s_is_measured(reflector, monkeypatch):
    r, took, nat = _through_nat(reflector, monkeypatch, 1.0, wave=WAVE_WIDE)
    assert r.status is Status.OK and r.reason_code == "measured", r.reason
    for p in r.values["ports"]:
        states = {d["delay_s"]: d["state"] for d in p["delays"]}
        assert states[0.5] == "answered" and states[1.6] == "expired" and states[2.4] == "expired", p
        assert all(d["control"] for d in p["delays"] if d["state"] != "pending"), "the twins were kept alive"
        assert 0.75 <= p["estimate_s"] <= 1.5 and p["confidence"] == "high", p
        assert any(d["wave"] == 2 for d in p["delays"]), p
    assert nat.expired > 0
    assert took < 3.2 + 4, "it stops once two expiries are sure, without waiting for the longest delay"


def test_a_lost_answer_is_not_taken_for_expiry(reflector, monkeypatch):
    """The 0.8-s answer of the idle sockets is lost; the 1.6-s one arrives: the NAT did not
    forget at 0.8 s, the datagram was lost, and the confidence says so."""
    from clinicnet.wire import reflector as wire

    def drop(m, data):
        rep = wire.parse_reply(data, port4500=data[:4] == bytes(4)) or wire.parse_reply(data)
        return rep is not None and rep.delay_ms == 800 and m["sent"] <= 2  # an idle socket sends twice

    r, _, _ = _through_nat(reflector, monkeypatch, 2.0, drop)
    assert r.status is Status.OK, r.reason
    for p in r.values["ports"]:
        states = {d["delay_s"]: d["state"] for d in p["delays"]}
        assert states[0.8] == "lost" and states[1.6] == "answered", p
        assert p["lost"] == 1 and p["confidence"] in ("medium", "low"), p
        assert 1.6 <= (p["estimate_s"] or p["lower_s"]) <= 2.4 + 0.1, p


def test_every_reason_reads_in_both_languages():
    params = {"port": 4500, "lifetime": 10.6, "lower": 10.0, "upper": 11.25, "confidence": "high"}
    for code, text in nb.SPEC.reasons.items():
        assert text.ja.format(**params) and text.en.format(**params), code
        assert text.ja != text.en, code
