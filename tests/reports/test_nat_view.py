"""One NAT view for every NAT-dependent rule, and a verdict that does not say "ready" over
plain ESP left unmeasured where it decides the VPN (issue 10 sections 1 and 3, issue 9).

The sources are IKE's NAT detection, the reflector (``nat_mapping``, ``esp``) and the
trace (``nat_layers``); a NAT any of them saw is a NAT.
"""

from __future__ import annotations

from dataclasses import replace
from html import escape
from typing import Any

import pytest

from clinicnet.agent.diagnose import build_report
from clinicnet.model import ProbeResult, Severity, Status, Verdict
from clinicnet.reports import i18n, render_html, render_markdown, render_text, verdict
from clinicnet.reports.findings import evaluate
from clinicnet.reports.findings._evidence import nat_view
from clinicnet.reports.findings.interface import Evidence
from tests.reports import evidence as e
from tests.reports.evidence import ids

PRIVATE_HOP = [("192.168.10.1", "private"), ("198.51.100.1", "public")]
PUBLIC_HOP = [("198.51.100.1", "public")]
#: a gateway that gives no NAT detection: IKEv1 Main Mode 1/2 only, or NO_PROPOSAL_CHOSEN
NO_NATD = e.ike(e.ike_target(nat=None))


def view(**probes: ProbeResult):  # type: ignore[no-untyped-def]
    return nat_view(Evidence(e.healthy(**probes)))


def said(v: Any) -> dict[str, str]:
    return {s.source: s.said for s in v.sources}


def decide(results: list[ProbeResult]) -> Verdict:
    findings, broken = evaluate(results)
    assert broken == []
    return verdict.decide(findings, results)


# --- the view ---------------------------------------------------------------------------


def test_ike_nat_detection_alone():
    v = view(ike=e.ike(e.ike_target(nat=True)))
    assert v.present is True and v.seen_by == ["ike"] and v.disagreement is None
    assert said(v) == {"ike": "nat", "reflector": "not_measured", "nat_layers": "not_measured"}
    assert v.evidence()["sources"]["ike"]["targets"][0]["method"] == "ikev2-natd"


def test_reflector_alone_behind_a_gateway_without_nat_detection():
    """Issue 10: IKEv1-only gateway, IKE NAT check unmeasured, the reflector saw the NAT."""
    v = view(ike=NO_NATD, nat_mapping=e.nat_mapping(nat=True), esp=e.esp_unmeasured("no_privileges", nat=True))
    assert v.present is True and v.seen_by == ["reflector"]
    assert said(v)["ike"] == "not_measured"
    obs = v.evidence()["sources"]["reflector"]["observations"]
    assert {(o["probe"], o["observed_address"]) for o in obs} == {("nat_mapping", "198.51.100.2"),
                                                                 ("esp", "198.51.100.2")}


def test_trace_alone():
    v = view(ike=NO_NATD, nat_layers=e.nat_layers(PRIVATE_HOP))
    assert v.present is True and v.seen_by == ["nat_layers"]
    assert v.evidence()["sources"]["nat_layers"]["layers"][0]["address"] == "192.168.10.1"


def test_a_trace_without_private_hops_proves_nothing():
    v = view(ike=NO_NATD, nat_layers=e.nat_layers(PUBLIC_HOP))
    assert v.present is None
    assert said(v)["nat_layers"] == "no_nat_seen"


def test_disagreement_is_settled_as_nat_and_shown():
    v = view(ike=e.ike(e.ike_target(nat=False)), nat_mapping=e.nat_mapping(nat=True))
    assert v.present is True
    assert v.seen_by == ["reflector"] and v.denied_by == ["ike"]
    assert v.disagreement is not None and "reflector saw a NAT, ike saw none" in v.disagreement
    assert v.evidence()["disagreement"] == v.disagreement


def test_no_nat_needs_a_source_that_measured_it():
    v = view(ike=e.ike(e.ike_target(nat=False)), nat_mapping=e.nat_mapping(nat=False),
             nat_layers=e.nat_layers(PUBLIC_HOP))
    assert v.present is False and v.denied_by == ["ike", "reflector"]
    assert view(ike=NO_NATD).present is None


def test_an_errored_esp_probe_still_reports_what_the_reflector_saw():
    assert view(ike=NO_NATD, esp=e.esp_unmeasured("error", nat=True)).present is True
    assert view(ike=NO_NATD, esp=e.esp_unmeasured("no_reflector")).present is None


# --- the rules that depend on it ----------------------------------------------------------

#: name -> (probes, NAT present, the sources that saw it)
CASES: dict[str, tuple[dict[str, ProbeResult], bool | None, list[str]]] = {
    "ikev2-nat-only": ({"ike": e.ike(e.ike_target(nat=True))}, True, ["ike"]),
    "reflector-nat-only": ({"ike": NO_NATD, "nat_mapping": e.nat_mapping(nat=True)}, True, ["reflector"]),
    "trace-nat-only": ({"ike": NO_NATD, "nat_layers": e.nat_layers(PRIVATE_HOP)}, True, ["nat_layers"]),
    "disagreement": ({"ike": e.ike(e.ike_target(nat=False)), "nat_mapping": e.nat_mapping(nat=True)}, True,
                     ["reflector"]),
    "none": ({"ike": e.ike(e.ike_target(nat=False)), "nat_mapping": e.nat_mapping(nat=False)}, False, []),
    "unknown": ({"ike": NO_NATD}, None, []),
}


@pytest.mark.parametrize("name", list(CASES))
def test_nat_present(name):
    probes, present, seen_by = CASES[name]
    found = ids(e.healthy(**probes))
    if not present:
        assert "nat.present" not in found
        return
    f = found["nat.present"]
    assert f.severity is Severity.INFO
    assert f.evidence["present"] is True and f.evidence["seen_by"] == seen_by
    assert set(f.evidence["sources"]) == {"ike", "reflector", "nat_layers"}  # each source, also the silent ones
    assert ("disagreement" in f.evidence) is (name == "disagreement")


@pytest.mark.parametrize("name", list(CASES))
def test_udp4500_blocked_is_an_error_only_with_nat(name):
    probes, present, _ = CASES[name]
    target = dict(probes["ike"].values["targets"][0], udp4500="silent")
    target["attempts"] = [dict(a, outcome="timeout", answered=False) if a["port"] == 4500 else a
                          for a in target["attempts"]]
    f = ids(e.healthy(**{**probes, "ike": e.ike(target)}))["ike.udp4500.blocked"]
    assert f.severity is (Severity.ERROR if present else Severity.WARNING)
    assert f.evidence["nat_present"] is present
    assert f.evidence["nat"]["present"] is present


@pytest.mark.parametrize("name", list(CASES))
def test_esp_blocked_is_info_only_with_nat(name):
    probes, present, seen_by = CASES[name]
    # the esp probe's own view of our address agrees with the reflector's nat_mapping
    esp_nat = probes["nat_mapping"].values["nat_present"] if "nat_mapping" in probes else None
    f = ids(e.healthy(**probes, esp=e.esp(passes=False, nat=esp_nat)))["esp.blocked"]
    assert f.severity is (Severity.INFO if present else Severity.ERROR)
    assert f.evidence["nat_present"] is present and f.evidence["nat"]["seen_by"] == seen_by


def test_nat_double_shows_the_view_and_a_disagreeing_reflector():
    hops = [("192.168.10.1", "private"), ("192.168.0.1", "private"), ("198.51.100.1", "public")]
    f = ids(e.healthy(nat_layers=e.nat_layers(hops), nat_mapping=e.nat_mapping(nat=False)))["nat.double"]
    assert f.evidence["nat"]["seen_by"] == ["nat_layers"]
    assert "reflector" in f.evidence["nat"]["disagreement"] and "ike" in f.evidence["nat"]["disagreement"]
    assert f.evidence["public_address"] == "198.51.100.2"


def test_nat_double_takes_the_public_address_from_esp_without_nat_mapping():
    hops = [("192.168.10.1", "private"), ("192.168.0.1", "private"), ("198.51.100.1", "public")]
    f = ids(e.healthy(ike=NO_NATD, nat_layers=e.nat_layers(hops),
                      esp=e.esp_unmeasured("no_privileges", nat=True)))["nat.double"]
    assert f.evidence["public_address"] == "198.51.100.2"
    assert f.evidence["nat"]["seen_by"] == ["reflector", "nat_layers"]


# --- the verdict over unmeasured plain ESP ------------------------------------------------

HOW = {"no_reflector": "--reflector HOST", "no_privileges": "as administrator", "no_raw_sockets": "Npcap",
       "error": "a reflector that answers"}


@pytest.mark.parametrize("cause", list(HOW))
def test_esp_unmeasured_without_nat_is_at_best_ready_with_warnings(cause):
    res = e.healthy(esp=e.esp_unmeasured(cause, nat=None if cause == "no_reflector" else False))
    assert ids(res) == {}
    assert decide(res) is Verdict.READY_WITH_WARNINGS
    (u,) = [u for u in verdict.unmeasured_from(res) if u.what == "esp"]
    assert "decides the VPN" in u.why and HOW[cause] in u.why
    assert u.why.startswith(res[-1].reason)  # the probe's own reason first
    assert [u.what for u in verdict.unmeasured_from(res)] == ["esp"]
    en, ja = (verdict.notes(Verdict.READY_WITH_WARNINGS, res, lang) for lang in ("en", "ja"))
    assert len(en) == 1 and "has no NAT" in en[0] and HOW[cause] in en[0]
    assert len(ja) == 1 and "ESP" in ja[0] and "測定するには" in ja[0]


def test_esp_missing_from_the_results_counts_as_unmeasured():
    res = e.healthy()  # no esp result at all
    assert decide(res) is Verdict.READY_WITH_WARNINGS
    assert [u.what for u in verdict.unmeasured_from(res)] == ["esp"]


@pytest.mark.parametrize("nat_source", ["ike", "reflector", "nat_layers"])
def test_esp_unmeasured_behind_nat_does_not_matter(nat_source):
    probes = {"ike": e.ike(e.ike_target(nat=True))} if nat_source == "ike" else {"ike": NO_NATD}
    if nat_source == "reflector":
        probes["nat_mapping"] = e.nat_mapping(nat=True)
    if nat_source == "nat_layers":
        probes["nat_layers"] = e.nat_layers(PRIVATE_HOP)
    res = e.healthy(**probes, esp=e.esp_unmeasured("no_reflector"))
    assert decide(res) is Verdict.READY
    assert verdict.gaps(res) == []
    (u,) = verdict.unmeasured_from(res)
    assert u.what == "esp" and "decides" not in u.why


def test_esp_unmeasured_with_nat_unknown_says_so():
    res = e.healthy(ike=NO_NATD, esp=e.esp_unmeasured("no_reflector"))
    assert decide(res) is Verdict.READY_WITH_WARNINGS
    why = {u.what: u.why for u in verdict.unmeasured_from(res)}
    assert set(why) == {"esp", "nat"}
    assert "whether this line has NAT" in why["nat"] and "--reflector HOST" in why["nat"]
    assert "if this line has no NAT" in why["esp"]
    (en,) = verdict.notes(Verdict.READY_WITH_WARNINGS, res, "en")
    assert "Neither whether this line has NAT nor whether ESP passes was measured" in en
    (ja,) = verdict.notes(Verdict.READY_WITH_WARNINGS, res, "ja")
    assert "NAT）の有無" in ja


def test_measured_esp_on_a_path_without_nat_is_ready():
    res = e.healthy(esp=e.esp(passes=True, nat=False), nat_mapping=e.nat_mapping(nat=False))
    assert decide(res) is Verdict.READY
    assert verdict.gaps(res) == [] and verdict.unmeasured_from(res) == []


def test_errors_and_missing_essentials_still_come_first():
    blocked = e.ike(e.ike_target(udp500="silent"))
    assert decide(e.healthy(ike=blocked)) is Verdict.NOT_READY
    assert decide(e.healthy(internet=e.pr("internet", Status.ERROR))) is Verdict.INCONCLUSIVE


def test_notes_only_on_the_verdict_they_explain():
    res = e.healthy()
    assert verdict.notes(Verdict.NOT_READY, res, "en") == []
    assert verdict.notes(Verdict.INCONCLUSIVE, res, "en") == []
    assert verdict.notes(Verdict.READY_WITH_WARNINGS, e.healthy(esp=e.esp(passes=True, nat=False)), "en") == []


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_every_report_format_says_it_on_the_verdict_line(lang):
    res = e.healthy(esp=e.esp_unmeasured("no_raw_sockets", nat=False))
    report = build_report(res, {}, created_at="2026-01-01T00:00:00+0900", host={})
    assert report.verdict is Verdict.READY_WITH_WARNINGS
    (note,) = verdict.notes(report.verdict, report.probes, lang)
    assert "Npcap" in note
    squeeze = "".join(note.split())
    text = render_text.render(report, lang)
    assert squeeze in "".join(text.split(i18n.t("section.findings", lang))[0].split())  # the verdict block
    markdown = render_markdown.render(report, lang)
    assert note in markdown.split(f"## {i18n.t('section.findings', lang)}")[0]
    html = render_html.render(report, lang)
    assert escape(note) in html.split('id="verdict"')[1].split("</section>")[0]
    assert "Npcap" in {u.what: u.why for u in report.unmeasured}["esp"]


def test_a_saved_result_of_the_wrong_shape_still_renders():
    bad = ProbeResult("esp", Status.SKIPPED, "x", values={"nat_present": True, "reflectors": "garbage"})
    nat_layers = ProbeResult("nat_layers", Status.OK, "x", values={"layers": [1, 2]})
    report = build_report(e.healthy(), {}, created_at="x", host={})
    report = replace(report, probes=(*report.probes, bad, nat_layers))
    assert verdict.notes(Verdict.READY_WITH_WARNINGS, report.probes, "en") == []
    assert "Verdict" in render_text.render(report, "en")
