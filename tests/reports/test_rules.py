"""Every rule, on probe results shaped like the real probes'."""

from __future__ import annotations

from dataclasses import replace

import pytest

from clinicnet.model import ProbeResult, Severity, Status, Verdict
from clinicnet.reports import verdict
from clinicnet.reports.findings import evaluate
from tests.reports import evidence as e
from tests.reports.evidence import ids


def decide(results):
    findings, _ = evaluate(results)
    return verdict.decide(findings, results)


#: plain ESP measured and passing, on this no-NAT path: nothing deciding is left unmeasured
ESP_PASSES = e.esp(passes=True, nat=False)


def test_healthy_run_is_ready_with_no_findings():
    assert ids(e.healthy(esp=ESP_PASSES)) == {}
    assert decide(e.healthy(esp=ESP_PASSES)) is Verdict.READY


def test_healthy_run_without_nat_and_without_esp_is_not_a_plain_ready():
    """No NAT: the data would travel as plain ESP, which was not measured (verdict.gaps)."""
    assert ids(e.healthy()) == {}
    assert decide(e.healthy()) is Verdict.READY_WITH_WARNINGS


def test_ipv4_missing_on_ipv6_only_pc():
    res = e.healthy(
        interfaces=e.interfaces(e.iface(v4=False, v6="2001:db8:10::10")),
        routes=e.routes(v4=None, v6="eth0"),
        internet=e.internet(ipv4_ok=False, ipv6_ok=True),
    )
    found = ids(res)
    assert found["ipv4.missing"].severity is Severity.ERROR
    assert "ipv6.present" in found
    assert decide(res) is Verdict.NOT_READY


def test_ipv4_missing_when_only_ipv6_reaches_the_internet():
    res = e.healthy(internet=e.internet(ipv4_ok=False, ipv6_ok=True), routes=e.routes(v6="eth0"))
    assert "ipv4.missing" in ids(res)


def test_ipv6_present_is_info_only():
    res = e.healthy(interfaces=e.interfaces(e.iface(v6="2001:db8:10::10")), routes=e.routes(v6="eth0"),
                    esp=ESP_PASSES)
    found = ids(res)
    assert found["ipv6.present"].severity is Severity.INFO
    assert found["ipv6.present"].evidence["ipv6_addresses"] == ["2001:db8:10::10"]
    assert decide(res) is Verdict.READY


def test_vpn_up_with_internet_down_is_by_design():
    res = e.healthy(vpn=e.vpn(up=True), internet=e.internet(ipv4_ok=False), dns=e.dns(ok=False),
                    routes=e.routes(v4="tun0", gw4=None), esp=ESP_PASSES)
    found = ids(res)
    assert set(found) == {"vpn.up_internet_down"}
    assert found["vpn.up_internet_down"].severity is Severity.INFO
    assert decide(res) is Verdict.READY


def test_internet_down_without_vpn_is_a_line_fault():
    res = e.healthy(internet=e.internet(ipv4_ok=False), dns=e.dns(ok=False),
                    ike=e.ike(e.ike_target(udp500="silent", udp4500="silent")))
    found = ids(res)
    assert found["internet.down"].severity is Severity.ERROR
    assert "dns.failed" not in found  # cannot tell DNS from the line when nothing answers
    assert "ike.unreachable" in found
    assert decide(res) is Verdict.NOT_READY


def test_dns_failed_when_ip_literal_check_answers():
    res = e.healthy(dns=e.dns(ok=False), internet=e.internet(ipv4_ok=True, literal_ok=True))
    found = ids(res)
    assert set(found) == {"dns.failed"}
    assert found["dns.failed"].evidence["names"] == {"web.example": "no_response"}


def test_dns_failed_when_only_the_gateway_proves_ip_works():
    res = e.healthy(dns=e.dns(ok=False), internet=e.internet(ipv4_ok=False, literal_ok=False, only_dns=True))
    found = ids(res)
    assert "dns.failed" in found
    assert "internet.down" not in found


def test_link_slow_on_the_default_route_interface_only():
    res = e.healthy(interfaces=e.interfaces(e.iface(speed=10), e.iface(name="eth1", speed=10, up=False)))
    found = ids(res)
    assert found["link.slow"].evidence["links"] == [{"interface": "eth0", "kind": "wired", "speed_mbps": 10}]
    assert decide(res) is Verdict.READY_WITH_WARNINGS


def test_unknown_link_speed_is_not_called_slow():
    assert "link.slow" not in ids(e.healthy(interfaces=e.interfaces(e.iface(speed=None))))


def test_wifi_client():
    res = e.healthy(interfaces=e.interfaces(e.iface(name="wlan0", kind="wifi", speed=None)), routes=e.routes("wlan0"))
    assert ids(res)["wifi.client"].evidence["interfaces"] == ["wlan0"]


def test_wifi_uplink_found_under_vpn():
    res = e.healthy(interfaces=e.interfaces(e.iface(name="wlan0", kind="wifi"), e.iface(name="tun0", kind="tunnel")),
                    routes=e.routes("tun0", gw4=None), vpn=e.vpn(up=True))
    assert "wifi.client" in ids(res)


def test_privileges_limited():
    res = e.healthy(privileges=e.privileges(admin=False))
    assert ids(res)["privileges.limited"].severity is Severity.INFO


def _skip(name: str, reason: str, code: str = "") -> ProbeResult:
    return ProbeResult(name, Status.SKIPPED, reason, reason_code=code)


def test_privileges_limited_lists_skips_by_their_cause_not_their_words():
    """The probes' reason codes decide; the English wording may change or be translated."""
    res = e.healthy(
        privileges=e.privileges(admin=False),
        esp=_skip("esp", "要管理者権限", "no_raw_sockets"),
        fragments=_skip("fragments", "needs raw sockets", "no_privileges"),
        capture=_skip("capture", "Npcap missing", "no_npcap"),
        nat_layers=_skip("nat_layers", "no --reflector given, and no privilege to trace", "no_reflector"),
        nat_mapping=_skip("nat_mapping", "raw socket needs administrator"),
    )
    assert ids(res)["privileges.limited"].evidence["skipped_probes"] == ["esp", "fragments", "capture"]


def test_privileges_limited_reads_the_words_of_a_result_file_without_reason_codes():
    """A clinicnet 0.1 result (no reason_code anywhere) read back by ``clinicnet report``."""
    res = e.healthy(
        privileges=e.privileges(admin=False),
        esp=_skip("esp", "needs administrator privileges (raw sockets)"),
        fragments=_skip("fragments", "Npcap is not installed"),
        nat_layers=_skip("nat_layers", "no --reflector given"),
    )
    assert ids(res)["privileges.limited"].evidence["skipped_probes"] == ["esp", "fragments"]


def test_ike_udp500_blocked_when_4500_answers():
    res = e.healthy(ike=e.ike(e.ike_target(udp500="silent")))
    found = ids(res)
    assert set(found) == {"ike.udp500.blocked"}
    assert decide(res) is Verdict.NOT_READY


def test_ike_udp500_blocked_when_port_unreachable():
    res = e.healthy(ike=e.ike(e.ike_target(udp500="icmp", udp4500="silent", icmp="icmp_port_unreachable")))
    found = ids(res)
    assert "ike.udp500.blocked" in found
    assert "ike.unreachable" not in found


@pytest.mark.parametrize("nat,severity,verdict_", [(True, Severity.ERROR, Verdict.NOT_READY),
                                                   (False, Severity.WARNING, Verdict.READY_WITH_WARNINGS)])
def test_ike_udp4500_blocked_severity_depends_on_nat(nat, severity, verdict_):
    res = e.healthy(ike=e.ike(e.ike_target(udp4500="silent", nat=nat)))
    found = ids(res)
    assert found["ike.udp4500.blocked"].severity is severity
    assert decide(res) is verdict_


@pytest.mark.parametrize("icmp", [None, "icmp_host_unreachable", "icmp_admin_prohibited"])
def test_ike_unreachable(icmp):
    state = "icmp" if icmp else "silent"
    res = e.healthy(ike=e.ike(e.ike_target(udp500=state, udp4500=state, icmp=icmp)))
    found = ids(res)
    assert set(found) == {"ike.unreachable"}
    assert found["ike.unreachable"].evidence["targets"][0]["icmp"] == icmp


def test_nat_present():
    found = ids(e.healthy(ike=e.ike(e.ike_target(nat=True))))
    assert found["nat.present"].severity is Severity.INFO


def test_no_target_is_inconclusive():
    res = e.healthy(ike=e.pr("ike", Status.SKIPPED, targets=[]))
    assert decide(res) is Verdict.INCONCLUSIVE


def test_probe_error_is_inconclusive_not_guessed():
    res = e.healthy(internet=e.pr("internet", Status.ERROR), esp=ESP_PASSES)
    assert ids(res) == {}
    assert decide(res) is Verdict.INCONCLUSIVE
    assert [u.what for u in verdict.unmeasured_from(res)] == ["internet"]


def test_errors_win_over_unmeasured():
    res = e.healthy(ike=e.pr("ike", Status.ERROR), dns=e.dns(ok=False))
    assert "dns.failed" in ids(res)
    assert decide(res) is Verdict.NOT_READY


def test_a_crashing_rule_is_reported_not_raised(monkeypatch):
    from clinicnet.reports import findings as package
    from clinicnet.reports.findings.interface import Rule

    def boom(ev):
        raise RuntimeError("bug")

    loaded = package.rules()
    spec = replace(loaded[0].spec, id="x.test")
    monkeypatch.setattr(package, "_cache", ((*loaded, Rule(spec, boom)), ()))
    findings, broken = evaluate(e.healthy())
    assert [u.what for u in broken] == ["rule x.test"]
    assert "RuntimeError: bug" in broken[0].why


def test_a_rule_returning_another_findings_id_is_reported(monkeypatch):
    from clinicnet.model import Finding
    from clinicnet.reports import findings as package

    loaded = package.rules()
    impostor = replace(loaded[0], check=lambda ev: Finding("nat.cgn", Severity.INFO, {}))
    monkeypatch.setattr(package, "_cache", ((impostor,), ()))
    found, broken = evaluate(e.healthy())
    assert found == []
    assert [(u.what, u.why) for u in broken] == [(f"rule {impostor.id}", "rule failed: returned a finding 'nat.cgn'")]


def test_port_unreachable_from_a_router_on_the_way_is_not_the_gateway_answering():
    t = e.ike_target(udp500="icmp", udp4500="icmp", icmp="icmp_port_unreachable")
    for a in t["attempts"]:
        a["icmp"] = {"outcome": "icmp_port_unreachable", "from": "198.51.100.1"}
    assert set(ids(e.healthy(ike=e.ike(t)))) == {"ike.unreachable"}
    for a in t["attempts"]:
        a["icmp"]["from"] = t["address"]
    assert set(ids(e.healthy(ike=e.ike(t)))) == {"ike.udp500.blocked", "ike.udp4500.blocked"}


@pytest.mark.parametrize("skew,found", [(None, False), (120.0, False), (-299.0, False), (3600.0, True), (-900.0, True)])
def test_clock_skew(skew, found):
    inet = e.internet()
    inet = e.pr("internet", **{**inet.values, "clock_skew_s": skew, "clock_references": ["http://web.example/"]})
    got = ids(e.healthy(internet=inet))
    assert ("clock.skew" in got) is found
    if found:
        assert got["clock.skew"].severity is Severity.WARNING
        assert got["clock.skew"].evidence["pc_clock"] == ("ahead" if skew > 0 else "behind")


def test_clock_skew_prefers_ntp_and_shows_both_sources():
    inet = e.internet()
    inet = e.pr("internet", **{**inet.values, "clock_skew_s": 1.0, "clock_references": ["http://web.example/"]})
    ntp = e.pr("ntp", clock_offset_s=-601.25, clock_references=["ntp://ntp.example"])
    got = ids(e.healthy(internet=inet, ntp=ntp))
    f = got["clock.skew"]
    assert f.evidence["skew_seconds"] == -601.25 and f.evidence["source"] == "ntp"
    assert f.evidence["pc_clock"] == "behind" and f.evidence["http_date_skew_seconds"] == 1.0
    assert f.evidence["references"] == ["ntp://ntp.example"]
    # an NTP offset within the limit wins over a Date header that says otherwise (a proxy's clock)
    inet_off = e.pr("internet", **{**inet.values, "clock_skew_s": 3600.0})
    assert "clock.skew" not in ids(e.healthy(internet=inet_off, ntp=e.pr("ntp", clock_offset_s=0.02)))
    # NTP not measured (skipped): the Date header decides as before
    skipped = e.pr("ntp", Status.SKIPPED)
    assert ids(e.healthy(internet=inet_off, ntp=skipped))["clock.skew"].evidence["source"] == "http-date"


def test_dns_silence_on_a_lossy_path_is_not_dns_failed_but_an_answer_that_says_no_is():
    names = [{"name": "gw.example", "resolved": False, "ipv4": {"addresses": [], "error": "timeout"},
              "ipv6": {"addresses": [], "error": "no_answer"}}]
    dns = e.pr("dns", Status.FAILED, names=names, all_resolved=False, resolvers=["192.0.2.53"])
    inet = e.pr("internet", **{**e.internet().values, "ip_literal_ok": True})
    lossy = e.pr("fragments", loss={"samples": 40, "lost": 14, "round_trip": 0.35, "one_way": 0.19})
    clean = e.pr("fragments", loss={"samples": 40, "lost": 0, "round_trip": 0.0, "one_way": 0.0})
    assert "dns.failed" in ids(e.healthy(dns=dns, internet=inet, fragments=clean))
    got = ids(e.healthy(dns=dns, internet=inet, fragments=lossy))
    assert "dns.failed" not in got and "path.lossy" in got
    nxdomain = [{**names[0], "ipv4": {"addresses": [], "error": "no_answer"}}]
    said_no = e.pr("dns", Status.FAILED, names=nxdomain, all_resolved=False, resolvers=["192.0.2.53"])
    assert "dns.failed" in ids(e.healthy(dns=said_no, internet=inet, fragments=lossy))
