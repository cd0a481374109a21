"""Self-tests of the lab harness, with real packets (no mocks).

Other lab tests trust that "nat_layers=2" really is two NATs and that a "block" really drops, so
each variant is checked here by observation: what the web server saw as source address, whether a
datagram got an answer, a timeout or an ICMP error (and from whom).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from clinicnet import SCHEMA
from tests.lab import Lab, LabOptions, make_plan, netns, topology_roles
from tests.lab import addresses as A
from tests.lab.harness import dnsmasq_argv, reject_statement
from tests.lab.pytest_plugin import LabFactory

WEB_WHOAMI = f"http://{A.WEB_NAME}/whoami"


def whoami(lab: Lab, url: str = WEB_WHOAMI, **kw: str) -> str:
    """The client address the web server saw (after every NAT on the way)."""
    args = ["http", url, *[x for k, v in kw.items() for x in (f"--{k.replace('_', '-')}", v)]]
    result = lab.probe("pc", args)
    assert result.get("status") == 200, result
    import json

    seen: dict[str, object] = json.loads(result["body"])
    return str(seen["address"])


def ping(lab: Lab, role: str, address: str) -> bool:
    return lab.run(role, ["ping", "-n", "-c1", "-W1", address], check=False).returncode == 0


def ifaddrs(lab: Lab, role: str, family: str = "-4") -> str:
    return lab.run(role, ["ip", family, "-o", "addr", "show"]).stdout


# -- pure checks (no root needed) ----------------------------------------------------------


def test_plan_roles_and_validation() -> None:
    assert topology_roles(LabOptions()) == ["pc", "router", "isp", "dc"]
    assert topology_roles(LabOptions(nat_layers=2, cgn=True)) == ["pc", "router", "modem", "cgn", "isp", "dc"]
    assert topology_roles(LabOptions(nat_layers=0)) == ["pc", "isp", "dc"]
    assert LabOptions(ipv4=False).ipv6 is True
    with pytest.raises(ValueError):
        LabOptions(nat_layers=3)
    with pytest.raises(ValueError):
        LabOptions(dns="flaky")
    with pytest.raises(ValueError):
        LabOptions(blocks_at="modem")  # no modem with one NAT layer
    with pytest.raises(ValueError):
        LabOptions(nat_layers=0, nat_random_ports=True)
    assert reject_statement("port-unreachable") == "reject with icmpx type port-unreachable"
    assert reject_statement("reject with icmp type host-unreachable") == "reject with icmp type host-unreachable"
    plan = make_plan(LabOptions(nat_layers=2, cgn=True, ipv6=True, nat_random_ports=True))
    assert "masquerade random,fully-random" in plan.nft["router"]
    assert "random" not in plan.nft["modem"]
    # IPv6 is routed, so the isp needs the way back to the PC's network
    assert f"route add {A.LAN_V6_NET} via {A.CGN_INSIDE_V6.replace('::1', '::2')}" not in plan.ip_batch["isp"]
    assert any(line.startswith(f"route add {A.LAN_V6_NET} via {A.PUBLIC_V6}") for line in plan.ip_batch["isp"])
    assert plan.resolv_conf.startswith(f"nameserver {A.DNS_V4}\nnameserver {A.DNS_V6}\n")
    assert make_plan(LabOptions(ipv4=False)).resolv_conf.splitlines()[0] == f"nameserver {A.DNS_V6}"
    assert dnsmasq_argv(LabOptions(dns="down"), Path("/x")) == []
    assert len(dnsmasq_argv(LabOptions(dns="servfail"), Path("/x"))) == 2


def test_dslite_plan() -> None:
    opts = LabOptions(dslite=True)
    assert topology_roles(opts) == ["pc", "router", "aftr", "isp", "dc"]
    plan = make_plan(opts)
    # the B4's WAN is IPv6 only (even with ipv6=False) and its IPv4 default is set on the softwire
    assert not any(line.startswith("addr add") and "/" in line and ":" not in line and "wan0" in line
                   for line in plan.ip_batch["router"])
    assert f"addr add {A.DSLITE_B4_V6}/64 dev {A.WAN_IFACE} nodad" in plan.ip_batch["router"]
    assert not any(line.startswith("route add default") for line in plan.ip_batch["router"])
    assert f'oifname "{A.DSLITE_IFACE}" masquerade' in plan.nft["router"]
    assert f'oifname "{A.WAN_IFACE}" masquerade' in plan.nft["aftr"]
    assert "meta l4proto esp counter drop" in plan.nft["aftr"]
    assert "isp" not in plan.nft  # nothing changes upstream of the AFTR
    assert topology_roles(LabOptions(dslite=True, blocks_at="aftr")) == topology_roles(opts)
    for bad in ({"nat_layers": 2}, {"nat_layers": 0}, {"cgn": True}):
        with pytest.raises(ValueError):
            LabOptions(dslite=True, **bad)  # type: ignore[arg-type]


def test_addresses_helpers() -> None:
    assert A.public_ipv4(LabOptions()) == A.PUBLIC_V4
    assert A.public_ipv4(LabOptions(nat_layers=0)) == A.PC_PUBLIC_V4
    assert A.pc_ipv4(LabOptions(nat_layers=0, cgn=True)) == A.PC_CGN_V4
    assert A.pc_ipv4(LabOptions(ipv4=False)) is None


# -- topologies ----------------------------------------------------------------------------


@pytest.mark.lab
def test_single_nat(make_lab: LabFactory) -> None:
    lab = make_lab(LabOptions())
    assert lab.build_seconds is not None and lab.build_seconds < 1.0
    assert (lab.pc_ipv4, lab.public_ipv4) == (A.PC_V4, A.PUBLIC_V4)
    assert f"{A.PC_V4}/24" in ifaddrs(lab, "pc")
    assert f"{A.PUBLIC_V4}/24" in ifaddrs(lab, "router")
    assert whoami(lab) == A.PUBLIC_V4
    assert lab.probe("pc", ["http", f"http://{A.WEB_V4}/generate_204"])["status"] == 204
    connect = lab.probe("pc", ["http", "http://www.msftconnecttest.com/connecttest.txt"])
    assert (connect["status"], connect["body"]) == (200, A.CONNECTTEST_BODY)
    root = lab.probe("pc", ["http", "http://connectivitycheck.gstatic.com/"])
    assert (root["status"], root["body"]) == (200, A.ROOT_BODY)
    assert ping(lab, "pc", A.GATEWAY_V4) and ping(lab, "pc", A.REFLECTOR_V4)
    # every namespace resolves through the lab's DNS only
    for role in lab.roles():
        assert lab.run(role, ["cat", "/etc/resolv.conf"]).stdout.startswith(f"nameserver {A.DNS_V4}\n")
    # no IPv6 globals unless asked for
    assert "2001:db8" not in ifaddrs(lab, "pc", "-6")


@pytest.mark.lab
def test_double_nat(make_lab: LabFactory) -> None:
    lab = make_lab(nat_layers=2)
    assert lab.roles() == ["pc", "router", "modem", "isp", "dc"]
    assert f"{A.ROUTER_WAN_V4}/24" in ifaddrs(lab, "router")
    assert f"{A.PUBLIC_V4}/24" in ifaddrs(lab, "modem")
    assert whoami(lab) == A.PUBLIC_V4
    # the modem sees the clinic router's WAN address, not the PC: two NATs in a row
    lab.udp_echo("modem", A.MODEM_LAN_V4, 9999)
    echo = lab.probe("pc", ["udp", A.MODEM_LAN_V4, "9999"])
    assert echo["result"] == "reply" and A.ROUTER_WAN_V4 in echo["reply"], echo


@pytest.mark.lab
def test_cgn(make_lab: LabFactory) -> None:
    lab = make_lab(cgn=True)
    assert lab.roles() == ["pc", "router", "cgn", "isp", "dc"]
    assert f"{A.CGN_CUSTOMER_V4}/10" in ifaddrs(lab, "router")
    assert whoami(lab) == A.PUBLIC_V4  # the CGN's public address
    assert f"{A.PUBLIC_V4}/24" in ifaddrs(lab, "cgn")


@pytest.mark.lab
def test_no_nat(make_lab: LabFactory) -> None:
    lab = make_lab(nat_layers=0)
    assert lab.roles() == ["pc", "isp", "dc"]
    assert f"{A.PC_PUBLIC_V4}/24" in ifaddrs(lab, "pc")
    assert whoami(lab) == A.PC_PUBLIC_V4


@pytest.mark.lab
def test_ipv6_only_pc(make_lab: LabFactory) -> None:
    lab = make_lab(ipv4=False)
    v4 = [line.split()[1:4] for line in ifaddrs(lab, "pc").splitlines()]
    assert v4 == [["lo", "inet", "127.0.0.1/8"]]  # lo only
    assert lab.run("pc", ["ip", "-4", "route"]).stdout.strip() == ""
    assert lab.run("pc", ["cat", "/etc/resolv.conf"]).stdout.startswith(f"nameserver {A.DNS_V6}\n")
    # AAAA over IPv6 transport, then HTTP over IPv6 without NAT
    assert lab.probe("pc", ["resolve", A.WEB_NAME, "--family", "6"])["addresses"] == [A.WEB_V6]
    assert lab.probe("pc", ["dns", A.WEB_NAME, "--type", "AAAA", "--server", A.DNS_V6])["answers"] == 1
    assert whoami(lab) == A.PC_V6
    assert whoami(lab, f"http://[{A.WEB_V6}]/whoami") == A.PC_V6
    assert lab.probe("pc", ["http", f"http://{A.WEB_V4}/", "--timeout", "0.3"]).get("error"), "IPv4 must not work"


@pytest.mark.lab
def test_dslite_dual_stack(make_lab: LabFactory) -> None:
    lab = make_lab(dslite=True, ipv6=True, blocks=("udp dport 500",), blocks_at="aftr")
    assert whoami(lab, f"http://{A.WEB_V4}/whoami") == A.PUBLIC_V4  # NAT44 at the AFTR
    assert whoami(lab, f"http://[{A.WEB_V6}]/whoami") == A.PC_V6  # IPv6 routed natively
    assert ping(lab, "pc", A.GATEWAY_V4) and ping(lab, "pc", A.GATEWAY_V6)
    assert lab.probe("pc", ["udp", A.GATEWAY_V4, "500"])["result"] == "timeout"  # blocks_at="aftr"


@pytest.mark.lab
def test_dual_stack_through_every_hop(make_lab: LabFactory) -> None:
    lab = make_lab(nat_layers=2, cgn=True, ipv6=True)
    assert whoami(lab) in (A.PC_V6, A.PUBLIC_V4)  # getaddrinfo order decides the family
    assert whoami(lab, f"http://{A.WEB_V4}/whoami") == A.PUBLIC_V4
    assert whoami(lab, f"http://[{A.WEB_V6}]/whoami") == A.PC_V6  # routed, not NATed
    assert ping(lab, "pc", A.GATEWAY_V6)
    assert f"{A.PC_V6}/64" in ifaddrs(lab, "pc", "-6")


@pytest.mark.lab
def test_first_packets_pass_at_once(make_lab: LabFactory) -> None:
    # regression: equal veth ifindexes delayed carrier by ~1 s, and tentative link-locals
    # (DAD) kept routers from resolving IPv6 neighbours for as long
    lab = make_lab(nat_layers=2, ipv6=True)
    for target in (A.ISP_DC_V4, A.ISP_DC_V6):  # closed port on the isp: ICMP answer expected
        result = lab.probe("pc", ["udp", target, "9", "--timeout", "0.3"])
        assert result["result"] == "icmp" and result["errno"] == "ECONNREFUSED", result


@pytest.mark.lab
def test_nat_random_ports(make_lab: LabFactory) -> None:
    plain = make_lab()
    random_ = make_lab(nat_random_ports=True)
    ports: dict[str, set[int]] = {}
    import json

    for name, lab in (("plain", plain), ("random", random_)):
        seen = set()
        for sport in ("40001", "40002"):
            body = lab.probe("pc", ["http", WEB_WHOAMI, "--source-port", sport])["body"]
            seen.add(int(json.loads(body)["port"]))
        ports[name] = seen
    assert ports["plain"] == {40001, 40002}  # Linux masquerade keeps the port when it can
    assert not ports["random"] & {40001, 40002}


# -- DNS -----------------------------------------------------------------------------------


@pytest.mark.lab
@pytest.mark.parametrize("mode", ["ok", "down", "servfail", "refused", "timeout"])
def test_dns_modes(make_lab: LabFactory, mode: str) -> None:
    lab = make_lab(dns=mode)
    resolved = lab.probe("pc", ["resolve", A.WEB_NAME])
    raw = lab.probe("pc", ["dns", A.WEB_NAME, "--timeout", "0.3"])
    if mode == "ok":
        # the AAAA exists even in an IPv4-only lab, like on the real internet
        assert set(resolved["addresses"]) == {A.WEB_V4, A.WEB_V6}
        assert raw == {**raw, "rcode": 0, "answers": 1}
        assert lab.probe("pc", ["resolve", A.GATEWAY_NAME, "--family", "4"])["addresses"] == [A.GATEWAY_V4]
        assert lab.probe("pc", ["resolve", A.REFLECTOR_NAME, "--family", "4"])["addresses"] == [A.REFLECTOR_V4]
        assert lab.probe("pc", ["resolve", "ipv6.msftconnecttest.com", "--family", "6"])["addresses"] == [A.WEB_V6]
        # unknown names: NXDOMAIN (a real "no such name"), not a server failure
        assert lab.probe("pc", ["dns", "nothing.example"])["rcode"] == 3
        assert lab.probe("pc", ["resolve", "nothing.example"])["error"] == "EAI_NONAME"
        return
    # names do not resolve, and getaddrinfo says "temporary failure" in every failure mode
    assert resolved["error"] == "EAI_AGAIN", resolved
    if mode == "down":
        assert raw["error"] == "ECONNREFUSED" and resolved["seconds"] < 0.5
    elif mode == "servfail":
        assert raw["rcode"] == 2 and resolved["seconds"] < 0.5
    elif mode == "refused":
        assert raw["rcode"] == 5 and resolved["seconds"] < 0.5
    else:
        assert raw["error"] == "timeout" and resolved["seconds"] >= 0.9
    # IP connectivity itself is fine
    assert whoami(lab, f"http://{A.WEB_V4}/whoami") == A.PUBLIC_V4


@pytest.mark.lab
def test_dns_aaaa_with_ipv6(make_lab: LabFactory) -> None:
    lab = make_lab(ipv6=True)
    assert sorted(lab.probe("pc", ["resolve", A.WEB_NAME])["addresses"]) == sorted([A.WEB_V4, A.WEB_V6])
    assert lab.probe("pc", ["resolve", A.GATEWAY_NAME, "--family", "6"])["addresses"] == [A.GATEWAY_V6]


# -- faults and VPN ------------------------------------------------------------------------


@pytest.mark.lab
def test_internet_down(make_lab: LabFactory) -> None:
    lab = make_lab(internet_down=True)
    web = lab.probe("pc", ["http", f"http://{A.WEB_V4}/", "--timeout", "0.3"])
    assert web.get("error") == "TimeoutError", web  # silence, not a refusal: no ICMP back
    assert lab.probe("pc", ["resolve", A.WEB_NAME])["error"] == "EAI_AGAIN"
    assert lab.probe("pc", ["udp", A.GATEWAY_V4, "500", "--timeout", "0.3"])["result"] == "timeout"
    # a closed port on the ISP itself would answer port-unreachable: silence proves no ICMP back
    assert lab.probe("pc", ["udp", A.ISP_PUBLIC_V4, "9", "--timeout", "0.3"])["result"] == "timeout"
    assert ping(lab, "pc", A.ROUTER_LAN_V4)  # the LAN itself is fine


@pytest.mark.lab
def test_vpn_up(make_lab: LabFactory) -> None:
    lab = make_lab(vpn_up=True)
    link = lab.run("pc", ["ip", "-o", "link", "show", A.TUN_IFACE]).stdout
    assert "UP" in link
    assert lab.run("pc", ["ip", "route", "show", "default"]).stdout.split()[:3] == ["default", "dev", A.TUN_IFACE]
    route = lab.run("pc", ["ip", "route", "get", A.GATEWAY_V4]).stdout
    assert f"via {A.ROUTER_LAN_V4} dev {A.PC_IFACE}" in route
    assert f"{A.TUN_V4}/24" in ifaddrs(lab, "pc")
    assert ping(lab, "pc", A.GATEWAY_V4)
    web = lab.probe("pc", ["http", f"http://{A.WEB_V4}/", "--timeout", "0.3"])
    assert web.get("error") == "TimeoutError", web


@pytest.mark.lab
def test_vpn_up_ipv6(make_lab: LabFactory) -> None:
    lab = make_lab(vpn_up=True, ipv6=True)
    assert ping(lab, "pc", A.GATEWAY_V6)
    assert lab.probe("pc", ["http", f"http://[{A.WEB_V6}]/", "--timeout", "0.3"]).get("error") == "TimeoutError"


# -- blocks and rejects ---------------------------------------------------------------------


def _udp_to_gateway(lab: Lab) -> dict[str, object]:
    lab.udp_echo("dc", A.GATEWAY_V4, 500)
    return lab.probe("pc", ["udp", A.GATEWAY_V4, "500", "--timeout", "0.3"])


@pytest.mark.lab
def test_udp_baseline_sees_nat(make_lab: LabFactory) -> None:
    lab = make_lab()
    result = _udp_to_gateway(lab)
    assert result["result"] == "reply" and A.PUBLIC_V4 in str(result["reply"]), result


@pytest.mark.lab
@pytest.mark.parametrize("where", ["isp", "router", "edge"])
def test_block_drops_silently(make_lab: LabFactory, where: str) -> None:
    lab = make_lab(blocks=("udp dport 500",), blocks_at=where)
    assert _udp_to_gateway(lab)["result"] == "timeout"
    # other traffic passes
    assert lab.probe("pc", ["udp", A.GATEWAY_V4, "4500", "--timeout", "0.3"])["result"] == "icmp"  # closed port


@pytest.mark.lab
def test_block_address_and_esp(make_lab: LabFactory) -> None:
    lab = make_lab(blocks=(f"ip daddr {A.GATEWAY_V4}", "meta l4proto esp"))
    assert lab.probe("pc", ["udp", A.GATEWAY_V4, "4500", "--timeout", "0.3"])["result"] == "timeout"
    assert ping(lab, "pc", A.REFLECTOR_V4)
    assert "meta l4proto esp" in lab.run("isp", ["nft", "list", "ruleset"]).stdout


@pytest.mark.lab
@pytest.mark.parametrize(
    ("spec", "errno_name", "icmp_code"),
    [
        ("port-unreachable", "ECONNREFUSED", 3),
        ("reject with icmp type host-unreachable", "EHOSTUNREACH", 1),
        ("admin-prohibited", "EHOSTUNREACH", 13),
    ],
)
def test_reject_answers_with_icmp_from_upstream(
    make_lab: LabFactory, spec: str, errno_name: str, icmp_code: int
) -> None:
    lab = make_lab(rejects=(("udp dport 500", spec),))
    result = _udp_to_gateway(lab)
    assert result["result"] == "icmp", result
    assert (result["errno"], result["icmp_type"], result["icmp_code"]) == (errno_name, 3, icmp_code)
    assert result["offender"] == A.ISP_PUBLIC_V4  # the ISP said no, not the gateway


@pytest.mark.lab
def test_reject_at_router(make_lab: LabFactory) -> None:
    lab = make_lab(rejects=((f"ip daddr {A.GATEWAY_V4}", "admin-prohibited"),), rejects_at="router")
    result = _udp_to_gateway(lab)
    assert (result["result"], result["offender"]) == ("icmp", A.ROUTER_LAN_V4), result


# -- field conditions: loss, delay, ICMP filtering, IKEv1-only gateways ----------------------

ECHO_PORT = 9999


def burst(lab: Lab, count: int, interval: float, target: str = A.REFLECTOR_V4, timeout: float = 1.0) -> dict:
    """Numbered UDP round trips from the PC to an echo server in the data centre."""
    return lab.probe("pc", ["udp-burst", target, str(ECHO_PORT), "--count", str(count),
                            "--interval", str(interval), "--timeout", str(timeout)], timeout=120)


def link_counters(lab: Lab) -> dict[str, tuple[int, int]]:
    """(packets seen, packets dropped at random) per direction of the clinic link."""
    import json

    ruleset = json.loads(lab.run("isp", ["nft", "-j", "list", "table", "netdev", "clinicnet_link"]).stdout)
    out: dict[str, list[int]] = {}
    for item in ruleset["nftables"]:
        rule = item.get("rule")
        if not rule:
            continue
        packets = next((e["counter"]["packets"] for e in rule["expr"] if "counter" in e), None)
        if packets is None:
            continue
        kind = "drop" if any("drop" in e for e in rule["expr"]) and "numgen" in json.dumps(rule) else "seen"
        if kind == "seen" and rule.get("comment") != "seen":
            continue
        out.setdefault(rule["chain"], [0, 0])[kind == "drop"] = packets
    return {chain: (v[0], v[1]) for chain, v in out.items()}


def test_field_options_plan() -> None:
    for bad in ({"loss_percent": 101}, {"loss_percent": -1}, {"delay_ms": -5}, {"gateway": "cisco"}):
        with pytest.raises(ValueError):
            LabOptions(**bad)  # type: ignore[arg-type]
    plan = make_plan(LabOptions(loss_percent=20, icmp_filtered=True, gateway="ikev2-ignored"))
    isp = plan.nft["isp"]
    assert 'hook ingress device "clinic0"' in isp and 'hook egress device "clinic0"' in isp
    assert isp.count("numgen random mod 100 < 20 counter drop") == 2  # each way
    assert isp.count("ip protocol icmp counter drop") == 2
    assert "@th,200,8 0x20 counter drop" in plan.nft["dc"]
    assert "clinicnet_link" not in make_plan(LabOptions()).nft.get("isp", "")
    assert "dc" not in make_plan(LabOptions(gateway="ikev1-only")).nft


@pytest.mark.lab
def test_loss_each_way(make_lab: LabFactory) -> None:
    # 20 % per direction: a round trip survives with 0.8 * 0.8 = 64 %; with 600 round trips a
    # band of +-8 points is about 4 standard deviations, so a correct lab fails ~1 run in 10^4
    lab = make_lab(loss_percent=20)
    lab.udp_echo("dc", A.REFLECTOR_V4, ECHO_PORT)
    result = burst(lab, 600, 0.002)
    assert 0.56 <= result["received"] / result["sent"] <= 0.72, result["received"]
    counters = link_counters(lab)
    assert set(counters) == {"from_clinic", "to_clinic"}, counters
    for chain, (seen, dropped) in counters.items():
        assert seen >= 400, counters  # the requests (600) resp. the echoes (~480) passed here
        assert 0.14 <= dropped / seen <= 0.26, (chain, counters)
    # TCP copes (retransmits), as on a real lossy line; a connection still fails now and then
    # (all four SYN round trips within 5 s lost: 0.36^3 = 5 %), so one of three must succeed
    url = f"http://{A.WEB_V4}/generate_204"
    assert any(lab.probe("pc", ["http", url, "--timeout", "5"]).get("status") == 204 for _ in range(3))


@pytest.mark.lab
def test_delay_adds_the_round_trip(make_lab: LabFactory) -> None:
    lab = make_lab(delay_ms=400, ipv6=True)
    lab.udp_echo("dc", A.REFLECTOR_V4, ECHO_PORT)
    result = burst(lab, 20, 0.05)
    rtts = sorted(result["rtt_ms"])
    assert result["received"] == 20, result
    assert rtts[0] >= 400 and rtts[len(rtts) // 2] <= 425, rtts  # measured: 400.5-402 ms idle
    # neighbours forget (after ~30 s idle): the isp must stay reachable from both sides when
    # they ask again, although its ARP answers depend on routes the detour redirects
    for role, isp_address in (("router", A.ISP_PUBLIC_V4), ("dc", A.ISP_DC_V4)):
        lab.run(role, ["ip", "neigh", "flush", "all"])
        assert ping(lab, role, isp_address), role
    # every kind of traffic takes the detour, both families, and no extra hop shows
    for target in (A.GATEWAY_V4, A.GATEWAY_V6, A.ISP_PUBLIC_V4):
        out = lab.run("pc", ["ping", "-n", "-c1", "-W3", target], check=False).stdout
        assert "time=4" in out, out
    assert "ttl=62" in lab.run("pc", ["ping", "-n", "-c1", "-W3", A.GATEWAY_V4]).stdout  # isp + router
    web = lab.probe("pc", ["http", f"http://{A.WEB_NAME}/generate_204", "--timeout", "5"])
    assert web["status"] == 204 and web["seconds"] >= 1.15, web  # DNS + SYN + request: 3 round trips
    assert lab.probe("pc", ["udp", A.ROUTER_LAN_V4, "9", "--timeout", "1"])["seconds"] < 0.1  # LAN untouched


@pytest.mark.lab
def test_icmp_filtered(make_lab: LabFactory) -> None:
    lab = make_lab(icmp_filtered=True, ipv6=True)
    lab.udp_echo("dc", A.REFLECTOR_V4, ECHO_PORT)
    assert not ping(lab, "pc", A.GATEWAY_V4) and not ping(lab, "pc", A.GATEWAY_V6)
    assert not ping(lab, "pc", A.ISP_PUBLIC_V4)
    # a closed port upstream answers port-unreachable, which never arrives
    assert lab.probe("pc", ["udp", A.ISP_PUBLIC_V4, "9", "--timeout", "0.5"])["result"] == "timeout"
    assert lab.probe("pc", ["udp", A.GATEWAY_V4, "9", "--timeout", "0.5"])["result"] == "timeout"
    # ICMP inside the clinic and everything that is not ICMP still work
    assert ping(lab, "pc", A.ROUTER_LAN_V4)
    assert burst(lab, 5, 0.01)["received"] == 5
    assert whoami(lab, f"http://[{A.WEB_V6}]/whoami") == A.PC_V6  # neighbour discovery spared


def ike(lab: Lab, *args: str) -> dict:
    import json

    out = lab.run("pc", [sys.executable, str(Path(__file__).with_name("ike_exchange.py")), *args])
    result: dict = json.loads(out.stdout)
    return result


@pytest.mark.lab
def test_ikev1_only_gateway(make_lab: LabFactory) -> None:
    lab = make_lab(gateway="ikev1-only")
    assert lab.charon is not None
    for port in ("500", "4500"):
        assert ike(lab, "sa-init", A.GATEWAY_V4, "--port", port)["result"] == "no_proposal_chosen"
        assert ike(lab, "main-mode", A.GATEWAY_V4, "--port", port)["mm2"] == "ikev1_response"
    assert lab.charon.wait_for_log("no IKE config found")  # strongSwan's reason for the notify


@pytest.mark.lab
def test_gateway_that_ignores_ikev2(make_lab: LabFactory) -> None:
    lab = make_lab(gateway="ikev2-ignored")
    for port in ("500", "4500"):
        assert ike(lab, "sa-init", A.GATEWAY_V4, "--port", port, "--timeout", "0.5")["result"] == "timeout"
        assert ike(lab, "main-mode", A.GATEWAY_V4, "--port", port)["mm2"] == "ikev1_response"
    assert lab.charon is not None and "IKE_SA_INIT" not in lab.charon.log_text()  # never reached charon
    dropped = lab.run("dc", ["nft", "list", "table", "inet", "clinicnet_ignore_ikev2"]).stdout
    assert dropped.count("packets 1 ") == 2, dropped  # one IKE_SA_INIT dropped per port
    assert dropped.count("packets 0 ") == 2, dropped  # the IPv6 rules saw nothing


# -- lifecycle -----------------------------------------------------------------------------


def _gone(names: list[str]) -> bool:
    return not set(names) & set(netns.list_namespaces()) and not any((netns.ETC_NETNS_DIR / n).exists() for n in names)


@pytest.mark.lab
def test_teardown_when_body_raises() -> None:
    with pytest.raises(RuntimeError, match="boom"), Lab(LabOptions(vpn_up=True)) as lab:
        names = [lab.ns(r) for r in lab.roles()]
        tmpdir = lab.tmpdir
        # a stray background process that the harness did not spawn itself
        lab.run("dc", ["sh", "-c", "sleep 600 >/dev/null 2>&1 & echo $!"])
        pids = [pid for group in netns.pids_in(names).values() for pid in group]
        assert len(pids) >= 4  # dnsmasq, webserver, tunholder, sleep
        raise RuntimeError("boom")
    assert _gone(names)
    assert not tmpdir.exists()
    time.sleep(0.05)
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    assert not lab.is_up


@pytest.mark.lab
def test_failed_build_cleans_up_and_explains() -> None:
    lab = Lab(LabOptions(blocks=("no such nft expression",)))
    names = [lab.ns(r) for r in lab.roles()]
    try:
        with pytest.raises(Exception, match="no such nft expression|syntax error"):
            lab.build()
        assert _gone(names) and not lab.is_up
    finally:
        lab.close()  # a build that unexpectedly worked must not outlive the test


@pytest.mark.lab
def test_cleanups_run_in_reverse_before_processes_stop(make_lab: LabFactory) -> None:
    lab = make_lab()
    order: list[str] = []
    web_alive: list[bool] = []
    lab.add_cleanup(lambda: order.append("first"))

    def second() -> None:  # cleanups may still use the lab: nothing is stopped yet
        order.append("second")
        web_alive.append(ping(lab, "pc", A.WEB_V4))

    lab.add_cleanup(second)
    lab.close()
    assert order == ["second", "first"]
    assert web_alive == [True]
    assert lab.close() == []  # idempotent


@pytest.mark.lab
def test_labs_side_by_side(make_lab: LabFactory) -> None:
    one, two = make_lab(), make_lab(nat_layers=0)
    assert not {one.ns(r) for r in one.roles()} & {two.ns(r) for r in two.roles()}
    assert all(len(one.ns(r)) <= 15 for r in one.roles())
    assert whoami(one) == A.PUBLIC_V4 and whoami(two) == A.PC_PUBLIC_V4


@pytest.mark.lab
def test_diagnose_runs_the_cli(make_lab: LabFactory) -> None:
    lab = make_lab()
    argv = lab.diagnose_argv(["--lang", "en"])
    assert argv[:4] == ["diagnose", "--json", "-", "--quiet"] and argv[-2:] == ["--lang", "en"]
    assert argv[argv.index("--target") + 1] == A.GATEWAY_V4
    help_run = lab.clinicnet(["diagnose", "--help"], timeout=30)
    assert help_run.returncode == 0, help_run.stderr
    report = lab.diagnose()
    assert report["schema"] == SCHEMA


# -- the pytest plugin itself --------------------------------------------------------------


def _inner_pytest(tmp_path: Path, body: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(
        textwrap.dedent(
            f"""
            import sys
            sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
            from tests.conftest import *  # noqa: F401,F403
            """
        )
    )
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(body))
    try:
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", str(tmp_path)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **env},
        )
    finally:
        # an inner run killed on timeout cannot clean up, and its labs have another run
        # prefix than this session's leak check looks for: sweep what dead runs left
        netns.sweep_stale()


@pytest.mark.lab
def test_leak_check_fails_the_session_and_cleans_up(tmp_path: Path) -> None:
    proc = _inner_pytest(
        tmp_path,
        """
        from tests.lab import Lab, RUN_PREFIX
        KEEP = []
        def test_leaks():
            lab = Lab(); lab.build(); KEEP.append(lab)
            open("PREFIX_FILE", "w").write(RUN_PREFIX)
        """.replace("PREFIX_FILE", str(tmp_path / "prefix")),
        {},
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "lab leak check" in out and "1 passed" in out
    inner = (tmp_path / "prefix").read_text()
    assert inner.startswith("cn") and not netns.list_namespaces(inner), out


@pytest.mark.lab
@pytest.mark.parametrize(("required", "outcome"), [("", "1 skipped"), ("1", "1 error")])
def test_unavailable_lab_skips_unless_required(tmp_path: Path, required: str, outcome: str) -> None:
    proc = _inner_pytest(
        tmp_path,
        """
        from tests.lab import netns
        netns._availability = (False, "pretend: no namespaces here")
        def test_needs_lab(make_lab):
            make_lab()
        """,
        {"CLINICNET_LAB_REQUIRED": required},
    )
    out = proc.stdout + proc.stderr
    assert outcome in out, out
    assert "pretend: no namespaces here" in out or required == "", out


@pytest.mark.lab
def test_sigterm_still_deletes_namespaces(tmp_path: Path) -> None:
    proc = _inner_pytest(
        tmp_path,
        """
        import os, signal
        from tests.lab import RUN_PREFIX
        def test_killed(make_lab):
            lab = make_lab(vpn_up=True)
            open("PREFIX_FILE", "w").write(RUN_PREFIX)
            os.kill(os.getpid(), signal.SIGTERM)  # what a CI timeout does
        """.replace("PREFIX_FILE", str(tmp_path / "prefix")),
        {},
    )
    out = proc.stdout + proc.stderr
    assert "KeyboardInterrupt" in out and "torn down after the interruption" in out, out
    inner = (tmp_path / "prefix").read_text()
    assert inner.startswith("cn") and not netns.list_namespaces(inner), out


@pytest.mark.lab
def test_sweep_stale_removes_labs_of_dead_runs() -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    name = f"{netns.RUN_PREFIX}zz-pc"
    record = netns.REGISTRY_DIR / f"{netns.RUN_PREFIX}zz.json"
    import json

    try:
        subprocess.run(["ip", "netns", "add", name], check=True)
        (netns.ETC_NETNS_DIR / name).mkdir(parents=True, exist_ok=True)
        netns.REGISTRY_DIR.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps({"pid": dead.pid, "start": "0", "namespaces": [name], "tmpdir": ""}))
        assert name in netns.sweep_stale()
        assert _gone([name]) and not record.exists()
    finally:
        netns.delete_namespaces([name])
        record.unlink(missing_ok=True)
