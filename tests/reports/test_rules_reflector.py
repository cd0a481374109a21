"""The reflector rules (esp.blocked, nat.double, nat.cgn, nat.port_not_preserved,
fragments.dropped, mtu.small) on results shaped like the real probes'."""

from __future__ import annotations

from typing import Any

from clinicnet.model import ProbeResult, Severity, Status
from clinicnet.probes import fragments as fragments_probe
from tests.reports import evidence as e
from tests.reports.evidence import esp, ids
from tests.reports.evidence import nat_layers as layers
from tests.reports.evidence import nat_mapping as mapping

REFLECTOR_IDS = {"esp.blocked", "nat.double", "nat.cgn", "nat.port_not_preserved", "fragments.dropped", "mtu.small"}


def frags(up: bool = True, down: bool | None = True, ladder: dict[int, str] | None = None,
          frag_needed: tuple[int, str] | None = None) -> ProbeResult:
    rows = []
    for size in fragments_probe.LADDER:
        state = (ladder or {}).get(size, "answered")
        row: dict[str, Any] = {"size": size, "state": state}
        if frag_needed and state == "frag_needed":
            row["frag_needed"] = {"mtu": frag_needed[0], "from": frag_needed[1]}
        rows.append(row)
    pmtu = fragments_probe.analyse_ladder(rows, 1500)
    st = Status.OK if up and down is not False and not pmtu["black_hole"] and pmtu["path_mtu"] == 1500 else Status.FAILED
    return e.pr("fragments", st, reflector="192.0.2.20", up_ok={"2000": up, "4000": up},
                down_ok={"2000": down, "4000": down}, fragments_up_pass=up, fragments_down_pass=down,
                pmtu={**pmtu, "ladder": rows})


def test_healthy_reflector_run_has_no_reflector_findings():
    res = e.healthy(esp=esp(), nat_mapping=mapping(), fragments=frags(),
                    nat_layers=layers([("192.168.10.1", "private"), ("198.51.100.1", "public")]))
    assert set(ids(res)) & REFLECTOR_IDS == set()


def test_esp_blocked_is_error_without_nat():
    res = e.healthy(esp=esp(passes=False, nat=False), nat_mapping=mapping(nat=False))
    f = ids(res)["esp.blocked"]
    assert f.severity is Severity.ERROR
    assert f.evidence["nat_present"] is False


def test_esp_blocked_is_info_behind_nat():
    res = e.healthy(esp=esp(passes=False, nat=True), nat_mapping=mapping(nat=True))
    assert ids(res)["esp.blocked"].severity is Severity.INFO


def test_esp_blocked_uses_nat_seen_by_the_trace_too():
    res = e.healthy(esp=esp(passes=False, nat=None),
                    nat_layers=layers([("192.168.10.1", "private"), ("198.51.100.1", "public")]))
    assert ids(res)["esp.blocked"].severity is Severity.INFO


def test_esp_not_judged_when_skipped_or_errored():
    assert "esp.blocked" not in ids(e.healthy(esp=esp(passes=None, status=Status.SKIPPED)))
    assert "esp.blocked" not in ids(e.healthy(esp=esp(passes=False, status=Status.ERROR)))


def test_nat_double_from_two_private_hops_names_the_modem_layer():
    res = e.healthy(nat_layers=layers([("192.168.10.1", "private"), ("192.168.0.1", "private"),
                                       ("198.51.100.1", "public")]))
    f = ids(res)["nat.double"]
    assert f.severity is Severity.WARNING
    assert f.evidence["private_layers"] == 2
    assert f.evidence["cable_modem"]["address"] == "192.168.0.1"
    assert f.evidence["cable_modem"]["layer"] == 2


def test_nat_double_from_a_private_upnp_wan_address():
    dev = {"friendly_name": "Clinic Router", "manufacturer": "X", "model_name": "R1", "model_description": ""}
    res = e.healthy(nat_layers=layers([("192.168.10.1", "private"), ("198.51.100.1", "public")],
                                      wan="192.168.0.2", device=dev))
    f = ids(res)["nat.double"]
    assert f.evidence["gateway_wan"] == "192.168.0.2"
    assert f.evidence["gateway_device"] == dev


def test_single_nat_is_not_double():
    res = e.healthy(nat_layers=layers([("192.168.10.1", "private"), ("198.51.100.1", "public")], wan="198.51.100.2"))
    assert "nat.double" not in ids(res)


def test_nat_cgn_from_a_shared_address_hop():
    res = e.healthy(nat_layers=layers([("192.168.10.1", "private"), ("100.64.0.1", "cgn"),
                                       ("198.51.100.1", "public")]))
    found = ids(res)
    assert found["nat.cgn"].severity is Severity.INFO
    assert found["nat.cgn"].evidence["shared_addresses"] == ["100.64.0.1"]
    assert "nat.double" not in found


def test_nat_cgn_from_the_pcs_own_address():
    res = e.healthy(nat_mapping=mapping(local="100.64.0.10"))
    assert ids(res)["nat.cgn"].evidence["shared_addresses"] == ["100.64.0.10"]


def test_nat_cgn_from_upnp_wan_address():
    res = e.healthy(nat_layers=layers([("192.168.10.1", "private")], wan="100.64.0.2"))
    assert "100.64.0.2" in ids(res)["nat.cgn"].evidence["shared_addresses"]


def test_port_not_preserved_prefers_port_500():
    found = ids(e.healthy(nat_mapping=mapping(p500=False, eph=True)))
    assert found["nat.port_not_preserved"].evidence["source_port"] == "500"
    assert "nat.port_not_preserved" not in ids(e.healthy(nat_mapping=mapping(p500=True, eph=False)))


def test_port_not_preserved_falls_back_to_ephemeral_without_privileges():
    found = ids(e.healthy(nat_mapping=mapping(p500=None, p4500=None, eph=False)))
    assert found["nat.port_not_preserved"].evidence["source_port"] == "ephemeral"
    assert found["nat.port_not_preserved"].severity is Severity.INFO


def test_port_rewriting_without_nat_is_not_reported():
    assert "nat.port_not_preserved" not in ids(e.healthy(nat_mapping=mapping(nat=False, p500=False)))


def test_fragments_dropped_up_and_down():
    up = ids(e.healthy(fragments=frags(up=False, down=None)))["fragments.dropped"]
    assert up.severity is Severity.WARNING and up.evidence["direction"] == "toward the reflector"
    down = ids(e.healthy(fragments=frags(up=True, down=False)))["fragments.dropped"]
    assert down.evidence["direction"] == "from the reflector"


def test_mtu_small_from_icmp_frag_needed():
    ladder = {s: "frag_needed" for s in fragments_probe.LADDER if s > 1454}
    f = ids(e.healthy(fragments=frags(ladder=ladder, frag_needed=(1454, "192.168.10.1"))))["mtu.small"]
    assert f.evidence["path_mtu"] == 1454
    assert f.evidence["black_hole"] is False


def test_mtu_small_from_a_black_hole():
    ladder = {s: "silent" for s in fragments_probe.LADDER if s > 1400}
    f = ids(e.healthy(fragments=frags(ladder=ladder)))["mtu.small"]
    assert f.evidence["black_hole"] is True
    assert f.evidence["largest_answered"] == 1400


def test_full_mtu_is_fine():
    assert "mtu.small" not in ids(e.healthy(fragments=frags()))


def test_analyse_ladder_ignores_sizes_above_the_local_mtu():
    rows = [{"size": s, "state": "send_error" if s > 1400 else "answered"} for s in fragments_probe.LADDER]
    out = fragments_probe.analyse_ladder(rows, 1400)
    assert out["path_mtu"] == 1400 and out["black_hole"] is False


def test_analyse_ladder_nothing_answered():
    rows = [{"size": s, "state": "silent"} for s in fragments_probe.LADDER]
    out = fragments_probe.analyse_ladder(rows, 1500)
    assert out["path_mtu"] is None and out["black_hole"] is False


DSLITE_HOPS = [("192.168.10.1", "private"), ("192.0.0.1", "dslite"), ("198.51.100.1", "public")]


def test_ipv4_over_ipv6_from_the_aftr_hop_with_esp_blocked():
    res = e.healthy(nat_layers=layers(DSLITE_HOPS), esp=esp(passes=False, nat=None))
    found = ids(res)
    f = found["ipv4.over_ipv6"]
    assert f.severity is Severity.WARNING
    assert f.evidence["mechanism"] == "DS-Lite"
    assert f.evidence["trace_hops"] == ["192.0.0.1"] and f.evidence["gateway_wan"] is None
    assert f.evidence["esp_passes"] is False
    # the AFTR's NAT44 is NAT: blocked plain ESP is only info, and no double NAT is claimed
    assert found["esp.blocked"].severity is Severity.INFO
    assert "nat.double" not in found and "nat.cgn" not in found


def test_ipv4_over_ipv6_from_the_b4_wan_address_without_esp_probe():
    res = e.healthy(nat_layers=layers([("192.168.10.1", "private"), ("198.51.100.1", "public")], wan="192.0.0.2"))
    f = ids(res)["ipv4.over_ipv6"]
    assert f.evidence["gateway_wan"] == "192.0.0.2" and f.evidence["trace_hops"] == []
    assert f.evidence["esp_passes"] is None  # not measured: not guessed
    assert "nat.double" not in ids(res)


def test_no_ipv4_over_ipv6_on_a_plain_line():
    res = e.healthy(nat_layers=layers([("192.168.10.1", "private"), ("198.51.100.1", "public")], wan="198.51.100.2"))
    assert "ipv4.over_ipv6" not in ids(res)
    assert "ipv4.over_ipv6" not in ids(e.healthy())
