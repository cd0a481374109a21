"""Linux route/resolver parsing on recorded /proc text."""

from __future__ import annotations

from clinicnet.system import _linux

PROC_ROUTE = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010AA8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t000AA8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0
tun0\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0
garbage line
"""

PROC_IPV6_ROUTE = (
    "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
    "fe800000000000000000000000000001 00000400 00000001 00000000 00000003 eth0\n"
    "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 ffffffff 00000001 00000000 00200200 lo\n"
    "20010db8000a00000000000000000000 40 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0\n"
)


def test_ipv4_default_routes_with_and_without_gateway():
    routes = _linux.parse_proc_route(PROC_ROUTE)
    assert routes == [  # best first: by metric
        {"family": 4, "interface": "tun0", "gateway": None, "metric": 0},
        {"family": 4, "interface": "eth0", "gateway": "192.168.10.1", "metric": 100},
    ]


#: an OpenVPN-style client: 0.0.0.0/1 and 128.0.0.0/1 via tun0, the LAN default kept
PROC_ROUTE_SPLIT = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010AA8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
tun0\t00000000\t0100080A\t0003\t0\t0\t500\t00000080\t0\t0\t0
tun0\t00000080\t0100080A\t0003\t0\t0\t500\t00000080\t0\t0\t0
tun1\t00000080\t00000000\t0001\t0\t0\t0\t00000080\t0\t0\t0
"""


def test_split_default_route_wins_over_the_lan_default_whatever_the_metric():
    routes = _linux.parse_proc_route(PROC_ROUTE_SPLIT)
    assert routes == [
        {"family": 4, "interface": "tun0", "gateway": "10.8.0.1", "metric": 500, "split": True},
        {"family": 4, "interface": "eth0", "gateway": "192.168.10.1", "metric": 100},
    ]  # tun1 holds only one half: not a default route


def test_ipv6_split_default_route():
    text = (
        "00000000000000000000000000000000 01 00000000000000000000000000000000 00 "
        "00000000000000000000000000000000 00000400 00000001 00000000 00000001 wg0\n"
        "80000000000000000000000000000000 01 00000000000000000000000000000000 00 "
        "00000000000000000000000000000000 00000400 00000001 00000000 00000001 wg0\n"
    )
    assert _linux.parse_proc_ipv6_route(PROC_IPV6_ROUTE + text) == [
        {"family": 6, "interface": "wg0", "gateway": None, "metric": 1024, "split": True},
        {"family": 6, "interface": "eth0", "gateway": "fe80::1", "metric": 1024},
    ]


def test_ipv6_default_route_skips_lo_reject_route():
    assert _linux.parse_proc_ipv6_route(PROC_IPV6_ROUTE) == [
        {"family": 6, "interface": "eth0", "gateway": "fe80::1", "metric": 1024}
    ]


def test_resolv_conf():
    text = "# comment\nnameserver 203.0.113.53\nnameserver 2001:db8::53\noptions timeout:1\nsearch lab\n"
    assert _linux.parse_resolv_conf(text) == ["203.0.113.53", "2001:db8::53"]
