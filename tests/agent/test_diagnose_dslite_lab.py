"""DS-Lite (RFC 6333, e.g. transix) end to end: ``ipv4.over_ipv6`` from the clinic PC.

The lab's ``dslite=True`` makes the clinic router a B4 with an IPv6-only WAN and an IPv4-in-IPv6
softwire (192.0.0.2 / 192.0.0.1, MTU 1460) to an AFTR that does NAT44 and drops ESP.  The PC's
TTL trace sees the AFTR answer time-exceeded from 192.0.0.1.
"""

from __future__ import annotations

import json

import pytest

from tests.lab import addresses as A
from tests.lab.reports import findings, probe_result
from tests.lab.strongswan import start_charon
from tests.probes.reflector_lab import start_reflector_beside_gateway

pytestmark = pytest.mark.lab


def test_softwire_carries_ipv4_and_the_aftr_drops_esp(make_lab):
    lab = make_lab(dslite=True)
    assert lab.roles() == ["pc", "router", "aftr", "isp", "dc"]
    wan = lab.run("router", ["ip", "-4", "-o", "addr", "show", "dev", A.WAN_IFACE]).stdout
    assert wan.strip() == ""  # the B4's WAN has no IPv4
    tunnel = lab.run("router", ["ip", "-o", "link", "show", "dev", A.DSLITE_IFACE]).stdout
    assert f"mtu {A.DSLITE_MTU}" in tunnel
    who = lab.probe("pc", ["http", f"http://{A.WEB_V4}/whoami"])
    assert who["status"] == 200 and json.loads(who["body"])["address"] == A.PUBLIC_V4 == lab.public_ipv4
    ping = lab.run("pc", ["ping", "-c1", "-W2", "-M", "do", "-s", "1433", A.GATEWAY_V4], check=False)
    assert "mtu = 1460" in ping.stdout  # 1461-byte datagram: frag needed at the B4


def test_dslite_reports_ipv4_over_ipv6_and_ike_works(make_lab):
    lab = make_lab(dslite=True)
    start_charon(lab, lab.tmpdir, A.GATEWAY_V4)
    report = lab.diagnose()
    found = findings(report)
    f = found["ipv4.over_ipv6"]
    assert f["severity"] == "warning"
    assert f["evidence"]["mechanism"] == "DS-Lite"
    assert f["evidence"]["trace_hops"] == [A.DSLITE_AFTR_V4]
    assert f["evidence"]["esp_passes"] is None  # no reflector: ESP not measured
    target = probe_result(report, "ike")["values"]["targets"][0]
    assert target["udp500"] == "answered" and target["udp4500"] == "answered"
    assert target["nat"]["local_behind_nat"] is True
    assert "nat.present" in found
    assert not {"nat.double", "nat.cgn", "ike.udp500.blocked", "ike.udp4500.blocked", "ike.unreachable"} & set(found)
    assert report["verdict"] == "ready_with_warnings", report["findings"]
    assert lab.last_diagnose.returncode == 1


def test_dslite_with_reflector_esp_blocked_is_info(make_lab):
    lab = make_lab(dslite=True)
    start_charon(lab, lab.tmpdir, A.GATEWAY_V4)
    start_reflector_beside_gateway(lab)
    report = lab.diagnose(["--reflector", A.REFLECTOR_V4])
    found = findings(report)
    assert found["esp.blocked"]["severity"] == "info"
    over = found["ipv4.over_ipv6"]["evidence"]
    assert over["esp_passes"] is False and over["esp_in_udp_passes"] is True
    nat = probe_result(report, "nat_layers")["values"]
    assert nat["private_layers"] == 1 and nat["ipv4_over_ipv6"]["detected"] is True
    kinds = [(h["address"], h["kind"]) for h in nat["trace"]["hops"]]
    assert kinds[:3] == [(A.ROUTER_LAN_V4, "private"), (A.DSLITE_AFTR_V4, "dslite"), (A.ISP_PUBLIC_V4, "public")]
    drops = lab.run("aftr", ["nft", "list", "table", "inet", "clinicnet_aftr"]).stdout
    assert "packets 0 " not in drops  # the ESP really died at the AFTR
    assert "nat.double" not in found
    # the softwire's 1460 MTU is real and reported; nothing is an error
    assert report["verdict"] == "ready_with_warnings", report["findings"]
    assert all(f["severity"] != "error" for f in report["findings"])
