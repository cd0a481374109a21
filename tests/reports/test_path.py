"""The path picture: nodes from what was measured, lines that stop where the protocol stops."""

from __future__ import annotations

import re
from typing import Any

from clinicnet.model import Finding, Severity, Status, Verdict
from clinicnet.reports import path
from clinicnet.reports.redact import redact
from clinicnet.reports.report import Report
from tests.reports.factories import empty_report, probe, sample_report

GW, REF, PC = "192.0.2.10", "192.0.2.20", "192.168.10.10"


def _ike(udp500: str = "answered", udp4500: str = "answered", icmp_from: str | None = None) -> Any:
    return probe("ike", Status.OK, "", targets=[{
        "target": GW, "address": GW, "udp500": udp500, "udp4500": udp4500, "icmp_from": icmp_from,
        "nat": {"measured": True, "local_behind_nat": True},
        "attempts": [{"port": 500, "local_address": PC, "answered": udp500 == "answered"}],
    }])


def _layers(*addrs: str, modem: int | None = None, cgn: tuple[str, ...] = ()) -> Any:
    return probe("nat_layers", Status.OK, "", layers=[
        {"layer": i + 1, "address": a, "evidence": "trace"} for i, a in enumerate(addrs)
    ], modem_layer={"layer": modem} if modem else None, cgn_addresses=list(cgn))


def _report(*probes: Any, findings: tuple[Finding, ...] = (), reflector: bool = True) -> Report:
    settings: dict[str, Any] = {"targets": [GW]}
    if reflector:
        settings["reflectors"] = [REF]
    return Report(created_at="x", host={}, settings=settings, verdict=Verdict.READY, findings=findings,
                  unmeasured=(), probes=tuple(probes))


def _esp(passes: bool | None, status: Status = Status.OK) -> Any:
    return probe("esp", status, "", esp_passes=passes, nat_present=True, observed_address="198.51.100.2")


def test_double_nat_is_two_layers_with_the_modem_named() -> None:
    m = path.build(_report(_ike(), _layers("192.168.10.1", "192.168.0.1", modem=2), _esp(True)))
    kinds = [(n.kind, n.label, n.address) for n in m.nodes]
    assert kinds[:3] == [("pc", "pc", PC), ("nat", "router", "192.168.10.1"), ("nat", "modem", "192.168.0.1")]
    assert kinds[3] == ("internet", "internet", "198.51.100.2")
    assert [n.kind for n in m.nodes[4:]] == ["gateway", "reflector"]
    text = path.render_text(m, "en")
    assert text.startswith("This PC 192.168.10.10 → Clinic router (NAT) 192.168.10.1 → Cable modem (NAT) 192.168.0.1")
    assert "VPN gateway 192.0.2.10: 500 ○ 4500 ○" in text
    assert "ケーブルモデム" in path.render_text(m, "ja")


def test_cgn_is_drawn_after_the_clinic_layers() -> None:
    m = path.build(_report(_ike(), _layers("192.168.10.1", cgn=("100.64.0.1",))))
    assert [n.label for n in m.nodes if n.kind == "nat"] == ["router", "cgn"]


def test_a_silent_block_stops_after_the_clinic_edge_in_the_findings_colour() -> None:
    f = (Finding("ike.udp4500.blocked", Severity.ERROR, {}),)
    m = path.build(_report(_ike(udp4500="silent"), _layers("192.168.10.1"), findings=f))
    l500, l4500 = m.lines[0], m.lines[1]
    assert (l500.state, l500.reaches) == ("pass", m.index("gateway"))
    assert l4500.state == "blocked" and l4500.severity is Severity.ERROR
    assert l4500.reaches == 1  # the clinic router: the block sits beyond it
    svg = path.render_svg(m, "en")
    assert re.search(r'data-protocol="IKE 4500" data-reaches="1"', svg)
    assert "#cf222e" in svg and "500 ○ 4500 ×" in path.render_text(m, "en")


def test_an_icmp_error_stops_the_line_at_the_node_that_sent_it() -> None:
    m = path.build(_report(_ike(udp500="icmp", icmp_from="192.168.0.1"), _layers("192.168.10.1", "192.168.0.1")))
    assert m.lines[0].state == "blocked" and m.lines[0].reaches == 2 and m.lines[0].stopped_by == "192.168.0.1"


def test_unmeasured_is_said_not_guessed() -> None:
    m = path.build(_report(_ike(), _esp(None, Status.SKIPPED)))
    esp = next(ln for ln in m.lines if ln.protocol == "ESP")
    frag = next(ln for ln in m.lines if ln.protocol == "fragments")
    assert esp.state == frag.state == "unmeasured"
    svg = path.render_svg(m, "ja")
    assert 'stroke-dasharray' in svg and "未測定" in svg
    # NAT seen by IKE only: one node whose layer count is unknown
    assert [n.label for n in m.nodes if n.kind == "nat"] == ["nat_unknown"]


def test_without_a_reflector_or_target_only_what_exists_is_drawn() -> None:
    m = path.build(empty_report())
    assert [n.kind for n in m.nodes] == ["pc", "internet"] and m.lines == ()
    assert path.render_text(m, "en") == "This PC → Internet"


def test_a_redacted_report_draws_masks_and_no_address() -> None:
    rep = redact(sample_report())
    svg = path.render_svg(path.build(rep), "en") + path.render_text(path.build(rep), "ja")
    assert "<public-v4#1>" in svg.replace("&lt;", "<") and "<host#" in svg.replace("&lt;", "<")
    assert not re.search(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b", svg)


def test_svg_is_self_contained_and_escaped() -> None:
    rep = _report(_ike(), _layers("<script>"))
    svg = path.render_svg(path.build(rep), "en")
    assert svg.startswith("<svg xmlns=") and "<script>" not in svg and "href" not in svg


def test_values_of_the_wrong_shape_draw_less_and_never_raise() -> None:
    bad = [probe("nat_layers", Status.OK, "", layers=2, modem_layer="x", cgn_addresses={"a": 1}),
           probe("ike", Status.OK, "", targets=[3, {"attempts": 5, "udp500": ["x"]}]),
           probe("esp", Status.OK, "", esp_passes="yes", observed_address=[1]),
           probe("fragments", Status.OK, "", fragments_up_pass=[])]
    m = path.build(_report(*bad))
    assert path.render_svg(m, "ja") and path.render_text(m, "en")
