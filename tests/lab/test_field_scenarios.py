"""The field-scenario table itself (no lab): rows are consistent and ``check`` reads reports right."""

from __future__ import annotations

import dataclasses
from typing import Any

from tests.lab.field_scenarios import BLOCKED, BY_NAME, SCENARIOS, VERDICTS, ike_rtts, reflector_rtts


def _report(ids: set[str], verdict: str, ike_rtt: float | None = None) -> dict[str, Any]:
    attempts = [] if ike_rtt is None else [{"answered": True, "rtt_ms": ike_rtt}, {"answered": False, "rtt_ms": None}]
    return {
        "verdict": verdict,
        "findings": [{"id": i} for i in sorted(ids)],
        "probes": [
            {"name": "ike", "values": {"targets": [{"attempts": attempts}]}},
            {"name": "esp", "values": {"reflectors": [{"esp": {"state": "answered", "rtt_ms": 3.0},
                                                       "ike500": {"state": "timeout", "rtt_ms": None}}]}},
        ],
    }


def test_rows_are_consistent() -> None:
    assert len(BY_NAME) == len(SCENARIOS)
    for s in SCENARIOS:
        assert s.verdict in VERDICTS and s.why
        assert not s.must & s.must_not, s.name
        assert BLOCKED <= s.must_not, s.name  # nothing on these lines is blocked
        assert s.options.gateway != "none" and s.options.reflector
    assert {"ikev1-only-nat", "ikev1-only-direct", "ikev2-ignored-nat", "lossy-20", "slow-400ms",
            "icmp-filtered"} <= set(BY_NAME)
    assert BY_NAME["lossy-20"].options.loss_percent == 20 and BY_NAME["slow-400ms"].options.delay_ms == 400


def test_check_names_every_problem() -> None:
    lossy = BY_NAME["lossy-20"]
    assert lossy.check(_report({"nat.present", "path.lossy"}, "ready_with_warnings")) == []
    assert lossy.check(_report({"nat.present", "fragments.dropped", "internet.down"}, "not_ready")) == [
        "missing path.lossy",
        "false alarm fragments.dropped",
        "false alarm internet.down",
        "verdict not_ready (expected ready_with_warnings)",
    ]
    slow = BY_NAME["slow-400ms"]
    rtt_ok = dataclasses.replace(slow, reflector_rtt_ms=(0.0, 10.0))  # the fake report's reflector said 3 ms
    assert rtt_ok.check(_report({"nat.present"}, "ready", ike_rtt=401.0)) == []
    assert rtt_ok.check(_report({"nat.present"}, "ready", ike_rtt=268.0)) == ["IKE RTT 268 ms outside 400-550"]
    assert rtt_ok.check(_report({"nat.present"}, "ready")) == ["no IKE round trip reported"]
    assert slow.check(_report({"nat.present"}, "ready", ike_rtt=401.0)) == ["reflector RTT 3 ms outside 400-450"]
    assert ike_rtts(_report(set(), "ready", ike_rtt=5.0)) == [5.0]
    assert reflector_rtts(_report(set(), "ready")) == [3.0]
