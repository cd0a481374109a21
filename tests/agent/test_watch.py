"""Watch mode: rounds on a schedule, append-only state, resume after a crash, Ctrl-C still reports."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from clinicnet.agent import watch as W
from clinicnet.errors import UsageError
from clinicnet.model import ProbeResult, Status


def _results(ike4500: str = "answered", addr: str = "192.168.10.10", inet: bool = True) -> list[ProbeResult]:
    return [
        ProbeResult("ike", Status.OK, "", {"targets": [{"target": "gw", "udp500": "answered", "udp4500": ike4500}]}),
        ProbeResult("internet", Status.OK, "", {"any_ok": inet}),
        ProbeResult("dns", Status.SKIPPED, "no names to resolve were configured", {}),
        ProbeResult("interfaces", Status.OK, "", {"interfaces": [
            {"name": "lo", "kind": "loopback", "ipv4": [{"address": "127.0.0.1"}]},
            {"name": "eth0", "kind": "wired", "ipv4": [{"address": addr}]}]}),
        ProbeResult("routes", Status.OK, "", {"default_v4": [{"gateway": "192.168.10.1"}]}),
        ProbeResult("nat_mapping", Status.ERROR, "deadline", {}),
    ]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.now += s


def test_signals_of_one_round() -> None:
    sig = W.signals(_results(ike4500="silent"))
    assert sig == {"ike500@gw": "up", "ike4500@gw": "down", "internet": "up", "dns": None,
                   "pc_addresses": "192.168.10.10", "default_route": "192.168.10.1"}


def test_rounds_on_schedule_outage_and_address_change(tmp_path: Path) -> None:
    clock = FakeClock()
    plan = iter([_results(), _results("silent"), _results("silent"), _results(), _results(addr="192.168.10.11")])

    def measure(timeout: float) -> list[ProbeResult]:
        assert 0.5 <= timeout <= 8.0
        clock.now += 0.4  # a round takes time; the schedule does not drift by it
        return next(plan)

    out = io.StringIO()
    res = W.watch(measure, W.StateFile(tmp_path / "s.jsonl"), every=10, duration=50, settings={},
                  progress=out, lang="en", clock=clock, sleep=clock.sleep)
    tl = res.timeline
    assert tl.rounds == 5 and [r.t - 1_000_000.0 for r in res.rounds] == [0, 10, 20, 30, 40]
    (o,) = tl.outages
    assert o.signal == "ike4500@gw" and o.first_down == 1_000_010.0 and o.back_up == 1_000_030.0
    (c,) = tl.changes
    assert c.signal == "pc_addresses" and c.after == "192.168.10.11"
    assert res.exit_code() == 1 and not res.interrupted
    assert out.getvalue().count("\n") == 5 and "IKE (UDP 4500) gw ×" in out.getvalue()
    data = res.to_json()
    assert data["schema"] == W.SCHEMA and data["intermittent"][0]["signal"] == "ike4500@gw"
    json.dumps(data)  # JSON-able


def test_a_crash_loses_at_most_the_round_being_written_and_the_run_resumes(tmp_path: Path) -> None:
    clock = FakeClock()
    state = W.StateFile(tmp_path / "s.jsonl")
    calls = 0

    def crashing(timeout: float) -> list[ProbeResult]:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise SystemExit("power loss")
        return _results()

    with pytest.raises(SystemExit):
        W.watch(crashing, state, every=10, duration=60, settings={}, progress=None, clock=clock, sleep=clock.sleep)
    with open(state.path, "a", encoding="utf-8") as f:
        f.write('{"t": 1000020.0, "sig')  # torn line of the round in progress
    clock.now += 100  # the PC was off for a while; --for still counts from the first start
    res = W.watch(lambda t: _results(), state, every=10, duration=160, settings={}, progress=None,
                  clock=clock, sleep=clock.sleep)
    ts = [r.t - 1_000_000.0 for r in res.rounds]
    assert ts[:2] == [0, 10] and ts[2] == 120 and ts[-1] == 150
    header, rounds = state.load()
    assert header is not None and header["started_at"] == 1_000_000.0 and len(rounds) == len(ts)


def test_ctrl_c_ends_the_run_and_still_reports(tmp_path: Path) -> None:
    clock = FakeClock()

    def measure(timeout: float) -> list[ProbeResult]:
        if clock.now >= 1_000_020.0:
            raise KeyboardInterrupt
        return _results()

    res = W.watch(measure, W.StateFile(tmp_path / "s.jsonl"), every=10, duration=3600, settings={},
                  progress=None, clock=clock, sleep=clock.sleep)
    assert res.interrupted and res.timeline.rounds == 2 and res.exit_code() == 0


def test_a_foreign_state_file_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "x.jsonl"
    p.write_text('{"schema": "something/else"}\n', encoding="utf-8")
    with pytest.raises(UsageError, match="not a clinicnet watch state file"):
        W.StateFile(p).load()


@pytest.mark.parametrize("text,seconds", [("90", 90), ("90s", 90), ("30m", 1800), ("8h", 28800), ("1.5h", 5400)])
def test_durations(text: str, seconds: float) -> None:
    assert W.parse_duration(text, "--for") == seconds


@pytest.mark.parametrize("text", ["", "abc", "0", "-5m", "nan", "inf", "5y", "400d"])
def test_bad_durations_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError):
        W.parse_duration(text, "--for")


def _binding(lifetime: float) -> ProbeResult:
    port = {"port": 4500, "bounded": True, "lower_s": lifetime - 1, "upper_s": lifetime + 1,
            "estimate_s": lifetime, "confidence": "high"}
    return ProbeResult("nat_binding", Status.OK, "measured", {"ports": [port], "keepalive_s": 20},
                       reason_code="measured", reason_params={"port": 4500, "lower": lifetime - 1,
                                                              "upper": lifetime + 1})


def test_the_binding_lifetime_runs_beside_the_rounds_and_gives_its_finding(tmp_path: Path) -> None:
    import time as _t

    clock = FakeClock()
    state = W.StateFile(tmp_path / "s.jsonl")

    def measure(timeout: float) -> list[ProbeResult]:
        # the long probe runs in its own thread: let it be recorded before the rounds end
        for _ in range(250):
            if state.long_results():
                break
            _t.sleep(0.02)
        return _results()

    res = W.watch(measure, state, every=10, duration=30, settings={}, progress=None, clock=clock,
                  sleep=clock.sleep, long=lambda: [_binding(10.0)], long_every=3600)
    got = res.long
    assert [r.name for r in got] == ["nat_binding"]
    assert [r.name for r in state.long_results()] == ["nat_binding"]  # recorded in the state file
    data = W.WatchResult(res.header, res.rounds, res.interrupted, got).to_json()
    assert [f["id"] for f in data["findings"]] == ["nat.binding_short"]
    from clinicnet.reports import render_watch

    text = render_watch.render_text(data, "en")
    assert "nat.binding_short" in text and "NAT binding lifetime" in text
    # a lifetime above the keepalive: measured, no finding
    ok = W.WatchResult(res.header, res.rounds, False, (_binding(40.0),)).to_json()
    assert ok["findings"] == [] and ok["long"][0]["name"] == "nat_binding"
