"""IKE probe pieces that need no network: skip rule, per-port summary, text, port preservation."""

from __future__ import annotations

import time
from typing import Any

from clinicnet.model import ProbeResult, Status
from clinicnet.probes import ike
from clinicnet.probes.ike import assemble
from clinicnet.probes.ike.exchange import AttemptResult
from clinicnet.probes.interface import ProbeContext
from clinicnet.reports import render_ike
from clinicnet.system import icmp as icmp_errors
from clinicnet.wire.ike import natd_hash
from tests.probes.typed import problems
from tests.reports.evidence import ike_target


def test_no_targets_is_skipped() -> None:
    result = ike.probe(ProbeContext(targets=(), deadline=time.monotonic() + 1))
    assert result.status is Status.SKIPPED and result.values["targets"] == []
    assert result.reason_code == "no_target"
    assert render_ike.render(result) == result.reason
    assert "VPN 装置" in render_ike.render(result, "ja")


def _attempt(port: int, outcome: str, *, answered: bool = False, fixed: bool = False) -> AttemptResult:
    return AttemptResult(port, 2, 40000, fixed, outcome, answered, 1.0 if answered else None, 1, 0, "")


def test_port_state_is_the_best_attempt() -> None:
    attempts = [
        _attempt(500, "timeout"),
        _attempt(500, "response", answered=True, fixed=True),
        _attempt(4500, "icmp_port_unreachable"),
        _attempt(4500, "timeout"),
    ]
    assert assemble.port_state(attempts, 500) == "answered"
    assert assemble.port_state(attempts, 4500) == "icmp"
    assert assemble.port_state([_attempt(500, "malformed")], 500) == "silent"
    assert assemble.port_state([_attempt(500, "send_error")], 500) == "error"


def test_target_values_keep_the_schema() -> None:
    values = assemble.target_values("gw", ("192.0.2.10", 4, None), [_attempt(500, "response", answered=True)], [])
    expected = set(ike_target().keys())  # the shape the rules' tests use
    assert expected <= set(values)
    assert values["udp500"] == "answered" and values["udp4500"] == "error"
    attempt_keys = set(ike_target()["attempts"][0])
    assert attempt_keys <= set(values["attempts"][0])
    assert problems(values, ike.Target) == []  # exactly what SPEC.values declares


def test_resolution_failure_shape() -> None:
    values = assemble.target_values("nowhere.example", (None, None, "Name or service not known"), [], [])
    assert values["address"] is None and values["resolve_error"] and values["udp500"] == "error"


def test_ike_text_both_languages() -> None:
    t = ike_target(udp500="answered", udp4500="silent", nat=True)
    t["attempts"][0]["chosen_proposal"] = {"encr": "AES_CBC", "key_bits": 128, "dh": "ECP_256"}
    t["vendor_ids"] = [{"hex": "882fe56d6fd20dbc2251613b2ebe5beb", "name": "strongSwan"}]
    result = ProbeResult("ike", Status.OK, values={"targets": [t]})
    en = render_ike.render(result, "en")
    assert "UDP 500" in en and "answered" in en and "AES_CBC/128/ECP_256" in en
    assert "no answer" in en and "behind NAT" in en and "strongSwan" in en
    ja = render_ike.render(result, "ja")
    assert "応答あり" in ja and "応答なし" in ja and "NAT の内側" in ja


def test_ike_text_icmp() -> None:
    t = ike_target(udp500="icmp", udp4500="icmp", nat=None, icmp="icmp_admin_prohibited")
    t["attempts"][0]["icmp"] = {"from": "198.51.100.1"}
    text = render_ike.render(ProbeResult("ike", Status.FAILED, values={"targets": [t]}), "en")
    assert "administratively prohibited" in text and "198.51.100.1" in text and "not measured" in text


def test_port_preserved() -> None:
    spi_i, spi_r = b"\x01" * 8, b"\x02" * 8
    attempt: dict[str, Any] = {
        "source_port": 500,
        "natd": {
            "spi_i": spi_i.hex(),
            "spi_r": spi_r.hex(),
            "destination_hash": natd_hash(spi_i, spi_r, "198.51.100.2", 500).hex(),
        },
    }
    assert assemble.port_preserved(attempt, "198.51.100.2") is True
    attempt["natd"]["destination_hash"] = natd_hash(spi_i, spi_r, "198.51.100.2", 1024).hex()
    assert assemble.port_preserved(attempt, "198.51.100.2") is False
    assert assemble.port_preserved({"source_port": 500}, "198.51.100.2") is None


def test_render_ike_texts_in_both_languages() -> None:
    for key in render_ike.keys():
        assert render_ike._T[key].ja.strip() and render_ike._T[key].en.strip(), key
    assert set(icmp_errors.OUTCOMES) <= set(render_ike.keys()), "every ICMP outcome has a text"
