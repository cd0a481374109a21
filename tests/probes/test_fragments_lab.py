"""IP fragments and path MTU via the reflector, in the namespace lab."""

from __future__ import annotations

import pytest

from tests.lab import addresses as A
from tests.lab.reports import findings, probe_result
from tests.probes.reflector_lab import start_reflector
from tests.probes.typed import assert_declared

pytestmark = pytest.mark.lab
REFL = ["--reflector", A.REFLECTOR_V4]

#: lab-notes: fragments are only visible before defragmentation (priority below -400)
DROP_FRAGMENTS = """
table ip fragdrop {
  chain pre {
    type filter hook prerouting priority -450; policy accept;
    ip frag-off & 0x3fff != 0 drop
  }
}
"""

BLOCK_FRAG_NEEDED = """
table ip nofragneeded {
  chain out {
    type filter hook output priority 0; policy accept;
    icmp type destination-unreachable icmp code frag-needed drop
  }
}
"""


def test_fragments_pass_and_full_mtu(make_lab):
    lab = make_lab(nat_layers=1)
    start_reflector(lab)
    report = lab.diagnose(REFL, target=None)
    v = probe_result(report, "fragments")["values"]
    assert v["up"]["4000"]["arrived_fragmented"] is True  # the test really sent fragments
    assert v["down"]["4000"]["reply_fragmented"] is True
    assert v["fragments_up_pass"] is True and v["fragments_down_pass"] is True
    assert v["pmtu"]["path_mtu"] == 1500
    assert not {"fragments.dropped", "mtu.small"} & set(findings(report))


def test_router_dropping_fragments(make_lab):
    lab = make_lab(nat_layers=1)
    lab.nft("router", DROP_FRAGMENTS)
    start_reflector(lab)
    report = lab.diagnose(REFL, target=None)
    v = probe_result(report, "fragments")["values"]
    assert v["control"]["state"] == "answered"
    assert v["up_ok"] == {"2000": False, "4000": False}
    f = findings(report)["fragments.dropped"]
    assert f["severity"] == "warning"
    assert f["evidence"]["direction"] == "toward the reflector"


def test_fragments_dropped_only_on_the_way_back(make_lab):
    lab = make_lab(nat_layers=1)
    # only fragments coming from the internet side (wan0) are dropped
    lab.nft("router", DROP_FRAGMENTS.replace("ip frag-off", f'iifname "{A.WAN_IFACE}" ip frag-off'))
    start_reflector(lab)
    report = lab.diagnose(REFL, target=None)
    v = probe_result(report, "fragments")["values"]
    assert v["up_ok"] == {"2000": True, "4000": True}
    assert v["down_ok"] == {"2000": False, "4000": False}
    assert findings(report)["fragments.dropped"]["evidence"]["direction"] == "from the reflector"


def _small_mtu(lab, mtu: int = 1400) -> None:
    # the router's WAN link (both ends) carries at most ``mtu`` bytes, like PPPoE would
    lab.run("router", ["ip", "link", "set", A.WAN_IFACE, "mtu", str(mtu)])
    lab.run("isp", ["ip", "link", "set", A.ISP_CLINIC_IFACE, "mtu", str(mtu)])


def test_small_mtu_reported_by_icmp(make_lab):
    lab = make_lab(nat_layers=1)
    _small_mtu(lab)
    start_reflector(lab)
    report = lab.diagnose(REFL, target=None)
    pmtu = probe_result(report, "fragments")["values"]["pmtu"]
    assert pmtu["path_mtu"] == 1400
    assert pmtu["black_hole"] is False
    assert pmtu["icmp_frag_needed"][0]["from"] == A.ROUTER_LAN_V4
    f = findings(report)["mtu.small"]
    assert f["severity"] == "warning" and f["evidence"]["path_mtu"] == 1400
    # a NAT router reassembles and re-fragments: non-DF fragments still pass
    assert "fragments.dropped" not in findings(report)
    assert_declared(report)
    assert probe_result(report, "fragments")["reason_code"] == "mtu_small"


def test_small_mtu_with_frag_needed_blocked_is_a_black_hole(make_lab):
    lab = make_lab(nat_layers=1)
    _small_mtu(lab)
    lab.nft("router", BLOCK_FRAG_NEEDED)
    start_reflector(lab)
    report = lab.diagnose(REFL, target=None)
    pmtu = probe_result(report, "fragments")["values"]["pmtu"]
    assert pmtu["black_hole"] is True
    assert pmtu["largest_answered"] == 1400
    assert probe_result(report, "fragments")["reason_code"] == "black_hole"
    assert pmtu["icmp_frag_needed"] == []
    f = findings(report)["mtu.small"]
    assert f["evidence"]["black_hole"] is True
